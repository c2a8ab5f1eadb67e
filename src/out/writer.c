/* Writer registry: one file per format (out/text.c, out/jsonl.c, out/sarif.c), listed here. */
#include "out/alert.h"

#include <stdlib.h>
#include <string.h>

extern const km_writer_ops km_writer_text_ops;
extern const km_writer_ops km_writer_jsonl_ops;
extern const km_writer_ops km_writer_sarif_ops;

static const km_writer_ops *const formats[] = {
    &km_writer_text_ops,
    &km_writer_jsonl_ops,
    &km_writer_sarif_ops,
};

const char *km_writer_formats(void) { return "text, jsonl, sarif"; }

km_writer *km_writer_new(const char *format, const km_writer_opts *opts, km_error *err) {
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i]->name, format) != 0) continue;
        km_writer *w = calloc(1, sizeof *w);
        if (!w) {
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            return NULL;
        }
        w->ops = formats[i];
        w->opts = *opts;
        if (!w->opts.examples_per_rule) w->opts.examples_per_rule = 10;
        return w;
    }
    km_error_set(err, KM_ERR, (size_t)-1, "unknown output format '%s' (formats: %s)", format, km_writer_formats());
    return NULL;
}

void km_writer_free(km_writer *w) {
    if (!w) return;
    if (w->ops->destroy) w->ops->destroy(w);
    free(w);
}

int km_writer_begin(km_writer *w) { return w->ops->begin ? w->ops->begin(w) : 0; }
int km_writer_alert(km_writer *w, const km_alert *a) { return w->ops->alert(w, a); }
void km_writer_note(km_writer *w, const km_note *n) {
    if (w->ops->note) w->ops->note(w, n);
}
int km_writer_end(km_writer *w, const km_run_stats *st) { return w->ops->end ? w->ops->end(w, st) : 0; }
