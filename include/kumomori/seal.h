/* Tamper-evident ("sealed") output for kumomori's own findings and alerts.
 *
 * A sealed stream is JSON lines:
 *   {"kumomori_seal_stream":{"version":1,"stream":ID,"key":KEYID,"created":T,"producer":P}}
 *   {...the record's own members...,"kumomori_seal":{"seq":1,"link":HEX}}
 *   ...
 *   {"kumomori_seal_signature":{"seq":N,"link":HEX,"time":T,"final":false,"sig":HEX}}
 *   ...
 *   {"kumomori_seal_signature":{"seq":N,"link":HEX,"time":T,"final":true,"sig":HEX}}
 * Each record keeps its members (so jq and SIEMs read it as before) and gains a last member
 * "kumomori_seal" with its sequence number and chain link:
 *   link[0] = SHA-256("kumomori-seal-v1 header\n" || header line)
 *   link[n] = SHA-256("kumomori-seal-v1 record\n" || link[n-1] || uint64_be(n) || record bytes)
 * where the record bytes are the record exactly as the writer gave it. At intervals and at the
 * end, an Ed25519 signature over (stream id, seq, link, time, final|checkpoint) is written, so
 * an edited, deleted, reordered, inserted or appended record, or a stream cut short, shows.
 * Details and limits: docs/integrity.md.
 *
 * Ownership: objects returned here belong to the caller and are freed with the matching
 * *_free function, which accepts NULL. A sealer borrows its key: the key must outlive it.
 * Thread-safety: one sealer per thread (or the caller serialises calls). */
#ifndef KUMOMORI_SEAL_H
#define KUMOMORI_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kumomori/error.h"
#include "kumomori/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct km_seal_key km_seal_key;

/* Make an Ed25519 key pair: the private key (PEM PKCS#8, mode 0600) at priv_path and the public
 * key (PEM SubjectPublicKeyInfo) at pub_path. Existing files are never overwritten. id_out (may
 * be NULL) receives the key id. */
int km_seal_keygen(const char *priv_path, const char *pub_path, char id_out[65], km_error *err);
/* Load a private key (for sealing) or a public key (for verifying; a private key file is also
 * accepted and only its public half used). NULL with err set on failure. */
km_seal_key *km_seal_key_load_private(const char *path, km_error *err);
km_seal_key *km_seal_key_load_public(const char *path, km_error *err);
void km_seal_key_free(km_seal_key *k); /* takes NULL */
/* The key id: hex SHA-256 of the 32-byte Ed25519 public key. Valid while k lives. */
const char *km_seal_key_id(const km_seal_key *k);

/* ---- sealing ---------------------------------------------------------------------------- */

/* Where sealed lines go. Returns 0, or -1 on a write error. */
typedef int (*km_seal_write_fn)(void *ctx, const char *data, size_t len);
/* A km_seal_write_fn for a FILE * (ctx): writes and flushes, so a crash loses nothing sealed. */
int km_seal_write_file(void *ctx, const char *data, size_t len);

typedef struct km_seal_opts {
    unsigned every_records;  /* a checkpoint signature after this many records; 0 = 100 */
    unsigned every_seconds;  /* ... or when this many seconds passed (checked on each record and
                                on km_sealer_tick); 0 = 60 */
    const char *producer;    /* e.g. "kumomori detect 0.1.0"; NULL = "kumomori" */
} km_seal_opts;

typedef struct km_sealer km_sealer;

/* Start a stream: writes the header line. key must hold a private key. opts may be NULL. */
km_sealer *km_sealer_new(const km_seal_key *key, km_seal_write_fn write, void *ctx,
                         const km_seal_opts *opts, km_error *err);
/* Seal and write one record: a JSON object on one line (a trailing newline is allowed). The
 * bytes are hashed as given (after the trailing white space is removed). */
int km_sealer_record(km_sealer *s, const char *json, size_t len, km_error *err);
/* Write a checkpoint signature now (nothing is written when no record came since the last). */
int km_sealer_checkpoint(km_sealer *s, km_error *err);
/* For long-running writers (watch): a checkpoint if every_seconds passed with records pending. */
int km_sealer_tick(km_sealer *s, km_error *err);
/* Write the final signature. After it, only km_sealer_free may be called. */
int km_sealer_finish(km_sealer *s, km_error *err);
/* Free the sealer. Without km_sealer_finish the stream has no final signature and verifies as
 * truncated, which is what a crash should look like. Takes NULL. */
void km_sealer_free(km_sealer *s);
/* Records sealed so far. */
uint64_t km_sealer_count(const km_sealer *s);

/* Where a stream stands, as text for a state file, so that a writer that restarts after cutting
 * its output back to a saved length (watch) continues the same stream instead of leaving it
 * unfinished: "v1:STREAM:KEYID:SEQ:LINK", with ":final" once the final signature is written. */
#define KM_SEAL_POSITION_MAX 192
int km_sealer_position(const km_sealer *s, char out[KM_SEAL_POSITION_MAX]);
/* Continue the stream at position (no header is written; the next record is SEQ+1). When
 * position is NULL or empty, final, or made with another key, a new stream starts instead
 * (header written). A malformed position is an error. */
km_sealer *km_sealer_resume(const km_seal_key *key, km_seal_write_fn write, void *ctx,
                            const km_seal_opts *opts, const char *position, km_error *err);

/* ---- sealing through a FILE * ----------------------------------------------------------- */

/* For writers that write JSON lines to a FILE * (detect's jsonl writer, audit, watch): every
 * complete line written to km_seal_file_stream(sf) is sealed as one record and the sealed stream
 * goes to out. Blank lines are dropped; a line that is not a JSON object makes the write fail
 * (the FILE's error flag is set) and km_seal_file_close report it. The key and out are borrowed
 * and must outlive sf. Uses GNU fopencookie. */
typedef struct km_seal_file km_seal_file;
km_seal_file *km_seal_file_open(const km_seal_key *key, FILE *out, const km_seal_opts *opts,
                                km_error *err);
FILE *km_seal_file_stream(km_seal_file *sf);
/* As km_seal_file_open, continuing the stream at position (see km_sealer_resume). */
km_seal_file *km_seal_file_resume(const km_seal_key *key, FILE *out, const km_seal_opts *opts,
                                  const char *position, km_error *err);
/* Flush what was written and give the position (for the state file saved with the output's
 * length). */
int km_seal_file_position(km_seal_file *sf, char out[KM_SEAL_POSITION_MAX]);
/* Flush, seal a last unterminated line and write the final signature; sf stays open for
 * km_seal_file_position (which then ends in ":final") and must still be closed. */
int km_seal_file_finish(km_seal_file *sf, km_error *err);
/* Long-running writers: flush and sign pending records if every_seconds passed. Returns 1 when
 * a signature line was written, 0 when none was due, or an error. */
int km_seal_file_tick(km_seal_file *sf, km_error *err);
/* Flush, seal a last unterminated line, write the final signature, close the stream and free sf
 * (not out). Returns the first error met while sealing, if any. Takes NULL. */
int km_seal_file_close(km_seal_file *sf, km_error *err);
/* Give up (an error path): close and free without the final signature, so the stream verifies
 * as truncated, which it is. Takes NULL. */
void km_seal_file_abort(km_seal_file *sf);

/* ---- verifying -------------------------------------------------------------------------- */

typedef enum {
    KM_SEAL_EDITED,        /* a record's bytes no longer match its chain link */
    KM_SEAL_DELETED,       /* sequence numbers missing */
    KM_SEAL_REORDERED,     /* a record stands after a record with a higher number */
    KM_SEAL_INSERTED,      /* a line without a seal, or a second record with the same number */
    KM_SEAL_APPENDED,      /* records or lines after the final signature */
    KM_SEAL_TRUNCATED,     /* no final signature */
    KM_SEAL_BAD_SIGNATURE, /* a signature line that does not verify */
    KM_SEAL_RELINKED,      /* a valid signature whose link the records no longer reach */
    KM_SEAL_WRONG_KEY,     /* sealed with another key */
    KM_SEAL_MALFORMED      /* a seal line that cannot be read */
} km_seal_kind;

const char *km_seal_kind_name(km_seal_kind k); /* "edited", "deleted", ... */

typedef struct km_seal_problem {
    km_seal_kind kind;
    size_t line;             /* 1-based line in the file, 0 when none applies */
    size_t line_last;        /* the last line of a run of lines with the same problem (consecutive
                              * unsealed lines are one problem); line when it is one line */
    uint64_t seq, seq_last;  /* the records concerned (0 when none) */
    char *message;
} km_seal_problem;

/* A report lists at most KM_SEAL_MAX_PROBLEMS problems and KM_SEAL_MAX_STREAMS streams; the ones
 * past them are counted (unlisted_problems, unlisted_streams) and still decide the verdict. A file
 * of short bad lines cannot make the report many times the file's size (docs/security.md). */
#define KM_SEAL_MAX_PROBLEMS 5000
#define KM_SEAL_MAX_STREAMS 1000

typedef struct km_seal_stream {
    char id[33];
    char key[65];
    char created[40];
    char *producer;
    size_t first_line, last_line;
    uint64_t records;
    size_t signatures;       /* valid signature lines */
    int final;               /* a valid final signature was found */
    km_seal_problem *problems;
    size_t nproblems;
} km_seal_stream;

typedef struct km_seal_report {
    km_seal_stream *streams;
    size_t nstreams;
    km_seal_problem *orphans; /* problems outside any stream (lines before the first header) */
    size_t norphans;
    uint64_t records;         /* in every stream, listed or not */
    size_t unlisted_problems; /* found past KM_SEAL_MAX_PROBLEMS, or in a stream not listed */
    size_t unlisted_streams;  /* streams past KM_SEAL_MAX_STREAMS: verified, counted, not listed */
} km_seal_report;

/* Verify a sealed file's text against a public key. Returns KM_OK with *out set whenever the
 * text could be examined (tampering is reported in *out); an error only for out of memory. */
int km_seal_verify(const char *text, size_t len, const km_seal_key *pub, km_seal_report **out,
                   km_error *err);
void km_seal_report_free(km_seal_report *r); /* takes NULL */
/* 1 when there is at least one stream and no problem at all (listed or not). */
int km_seal_report_ok(const km_seal_report *r);
void km_seal_report_text(const km_seal_report *r, const char *name, FILE *f);
int km_seal_report_json(const km_seal_report *r, km_buf *out);

#ifdef __cplusplus
}
#endif
#endif
