/* Terminal helpers: colour only on a terminal and never when NO_COLOR is set
 * (https://no-color.org), TERM=dumb, or --no-color was given. */
#ifndef KM_TERM_H
#define KM_TERM_H
#include <stdio.h>

/* Force colour off (e.g. --no-color) or back to automatic (-1) / on (1). */
void km_term_set_color(int mode);
/* Whether colour escapes should be written to f. */
int km_term_color(FILE *f);
/* The escape for a colour name ("red", "yellow", "green", "bold", "dim", "reset", ...), or "" when
 * colour is off for f. */
const char *km_term_esc(FILE *f, const char *name);

/* harden helper: text written for people may carry attacker-chosen strings (CloudTrail fields,
 * snapshot names, policy text). These neutralise what a terminal would act on: C0 controls
 * (newline and tab included: one value stays one line), DEL, the C1 controls U+0080..U+009F and
 * bytes that are not UTF-8 each become '?'; other UTF-8 passes unchanged. */
/* Append the cleaned s[0..len) to b. */
struct km_buf;
void km_term_clean_buf(struct km_buf *b, const char *s, size_t len);
/* s itself when it needs no cleaning, else a cleaned copy that *tofree owns (the caller frees it;
 * without memory the constant "(unprintable)"). s NULL gives "". */
const char *km_term_clean(const char *s, char **tofree);
#endif
