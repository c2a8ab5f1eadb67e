/* Byte sources for detection: a file, standard input or memory, transparently gunzipped when the
 * data starts with the gzip magic bytes (whatever the file's name). Reading is streaming: only a
 * fixed 128 KiB of compressed input is held at a time. */
#ifndef KM_DETECT_INPUT_H
#define KM_DETECT_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"

typedef struct km_input km_input;

/* Open path for reading ("-" is standard input, which is not closed afterwards). NULL with err
 * naming the file when it cannot be opened or is a folder. The caller frees with km_input_close. */
km_input *km_input_open(const char *path, km_error *err);
/* Close the file in (not standard input) and open path in its place, keeping the buffers and the
 * decompressor's memory (for many small files). On failure in stays valid, at its end, and may be
 * reopened again. Only for sources made by km_input_open. */
int km_input_reopen(km_input *in, const char *path, km_error *err);
/* A source over len bytes at data; the bytes are not copied and must outlive the source. */
km_input *km_input_mem(const void *data, size_t len);
/* Closes the file (not standard input) and frees the source. Takes NULL. */
void km_input_close(km_input *in);

/* Read up to n bytes of (decompressed) data into buf. Returns the number of bytes (> 0), 0 at the
 * clean end of the data, or -1 with err saying what went wrong and where: a read error, corrupt
 * or truncated gzip data (compressed and decompressed byte offsets). After -1 the source is done
 * and every later call returns 0. */
long km_input_read(km_input *in, char *buf, size_t n, km_error *err);

/* Whether the data turned out to be gzip (known after the first read). */
int km_input_is_gzip(const km_input *in);
/* Raw (compressed) bytes read from the file so far. */
uint64_t km_input_raw_bytes(const km_input *in);

#endif
