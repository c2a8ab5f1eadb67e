/* Fuzz target: the CloudTrail record splitter (src/detect/reader.c) on untrusted bytes (plain or
 * gzip, through src/detect/input.c). The first byte picks the read size and tight limits. The
 * reader runs twice, reading 1..64 bytes at a time and 256 KiB at a time; properties: both give
 * the same records and skips at the same offsets (chunk boundaries change nothing), each record
 * starts with '{' and is within the record limit, and offsets never go backwards.
 *
 * Readers are kept from one execution to the next (one per flags byte and read size) and given
 * each new input with km_reader_reset, as `kumomori detect` does from one file to the next: a new
 * reader allocates a 256 KiB buffer, which under ASan is a fresh mapping, poisoned and unmapped
 * every time, and two of them per input were half of this target's time. */
#include "fuzz.h"
#include "detect/input.h"
#include "detect/reader.h"
#include "kumomori/buf.h"

#include <stdlib.h>
#include <string.h>

/* Items are compared up to this offset of the decompressed data: gzip inputs can expand a
 * thousandfold, and reading megabytes a byte at a time would make each execution take seconds.
 * Both runs go on until an item lies past it, so they see the same items up to it. */
#define HORIZON ((uint64_t)64 << 10)

/* Every item the reader gives (up to HORIZON), as text, into out. Returns the number of items. */
static km_reader *kept[2][256];

static void cleanup(void) {
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 256; j++) km_reader_free(kept[i][j]);
}

/* The reader for these limits (slot: which of the two runs, flags byte), reset to read in. */
static km_reader *reader_for(int run, uint8_t flags, km_input *in, const km_reader_limits *lim) {
    static int registered;
    if (!registered) {
        atexit(cleanup);
        registered = 1;
    }
    km_reader **r = &kept[run][flags];
    if (!in) return NULL;
    if (*r) km_reader_reset(*r, in);
    else *r = km_reader_new(in, lim);
    return *r;
}

static size_t transcript(const uint8_t *d, size_t n, int run, uint8_t flags, const km_reader_limits *lim, km_buf *out) {
    km_input *in = km_input_mem(d, n);
    km_reader *r = reader_for(run, flags, in, lim);
    size_t items = 0;
    uint64_t last = 0;
    size_t max_record = lim->max_record ? lim->max_record : (8u << 20);
    while (r && items < 100000) {
        km_record rec;
        km_error err;
        int k = km_reader_next(r, &rec, &err);
        if (k == KM_READ_END) break;
        items++;
        if (rec.offset > HORIZON) break;
        KM_FUZZ_CHECK("reader", rec.offset >= last, "offset went back from %llu to %llu", (unsigned long long)last,
                      (unsigned long long)rec.offset);
        last = rec.offset;
        if (k == KM_READ_RECORD) {
            /* The reader counts nesting without telling brackets apart (reader.h: validation is
             * the matcher's), so a record may end in a mismatched ']'; it starts with '{'. */
            KM_FUZZ_CHECK("reader", rec.len >= 2 && rec.data[0] == '{' && (rec.data[rec.len - 1] == '}' ||
                                                                           rec.data[rec.len - 1] == ']'),
                          "record at %llu is not an object", (unsigned long long)rec.offset);
            KM_FUZZ_CHECK("reader", rec.len <= max_record, "record of %zu bytes over the limit", rec.len);
            km_buf_printf(out, "R%d@%llu:%zu:", (int)rec.kind, (unsigned long long)rec.offset, rec.len);
            km_buf_append(out, rec.data, rec.len);
            km_buf_putc(out, '\n');
        } else {
            KM_FUZZ_CHECK("reader", k == KM_READ_SKIP && rec.skip > KM_SKIP_NONE && rec.skip < KM_SKIP_REASONS,
                          "bad item %d (skip %d)", k, (int)rec.skip);
            KM_FUZZ_CHECK("reader", !km_skip_is_error(rec.skip) || err.msg[0], "error skip without a message");
            (void)km_skip_reason_phrase(rec.skip, items);
            km_buf_printf(out, "S%d@%llu\n", (int)rec.skip, (unsigned long long)rec.offset);
        }
    }
    if (r) (void)km_reader_bytes(r);
    km_input_close(in);
    return items;
}

KM_FUZZ_TARGET(reader) {
    km_fuzz_in fin = {data, size};
    uint8_t flags = km_fuzz_byte(&fin);
    km_reader_limits lim = {0, 0, 0};
    if (flags & 0x40) lim.max_record = 2 + (flags & 0x3f) * 8;
    if (flags & 0x80) lim.max_depth = 1 + (flags & 0x0f);
    km_buf a = KM_BUF_INIT, b = KM_BUF_INIT;
    lim.read_size = 1 + (flags & 0x3f);
    transcript(fin.p, fin.n, 0, flags, &lim, &a);
    lim.read_size = 0;
    transcript(fin.p, fin.n, 1, flags, &lim, &b);
    KM_FUZZ_CHECK("reader", a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len)),
                  "read size %d and 256 KiB give different records", 1 + (flags & 0x3f));
    km_buf_free(&a);
    km_buf_free(&b);
    return 0;
}
