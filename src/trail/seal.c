/* Sealed output: Ed25519 keys and the sealer (see include/kumomori/seal.h for the format). */
#include "kumomori/json.h"
#include "kumomori/seal.h"
#include "kumomori/trail.h"
#include "trail/seal_int.h"
#include "trail/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct km_seal_key {
    EVP_PKEY *pkey;
    int has_private;
    char id[65];
};

static int set_id(km_seal_key *k) {
    unsigned char raw[32];
    size_t n = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1 || n != 32) return -1;
    return km_sha256_hex(raw, 32, k->id);
}

const char *km_seal_key_id(const km_seal_key *k) { return k ? k->id : ""; }

void km_seal_key_free(km_seal_key *k) {
    if (!k) return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

static km_seal_key *load(const char *path, int want_private, km_error *err) {
    size_t len = 0;
    char *text = km_read_file(path, 1 << 20, &len, err);
    if (!text) return NULL;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pk = NULL;
    int priv = 0;
    if (bio) {
        if (strstr(text, "PRIVATE KEY")) {
            pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            priv = 1;
        } else if (!want_private) {
            pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        }
        BIO_free(bio);
    }
    /* the private key text is wiped before it is released */
    OPENSSL_cleanse(text, len);
    free(text);
    if (!pk) {
        km_error_set(err, KM_ERR, (size_t)-1, "%s: not a PEM %s key (make one with `kumomori keygen`)",
                     path, want_private ? "Ed25519 private" : "Ed25519 public");
        return NULL;
    }
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pk);
        km_error_set(err, KM_ERR, (size_t)-1, "%s: not an Ed25519 key (make one with `kumomori keygen`)", path);
        return NULL;
    }
    km_seal_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pk);
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    k->pkey = pk;
    k->has_private = priv;
    if (set_id(k)) {
        km_seal_key_free(k);
        km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot read the public key", path);
        return NULL;
    }
    return k;
}

km_seal_key *km_seal_key_load_private(const char *path, km_error *err) { return load(path, 1, err); }
km_seal_key *km_seal_key_load_public(const char *path, km_error *err) { return load(path, 0, err); }

static int write_new(const char *path, mode_t mode, BIO *mem, km_error *err) {
    char *data = NULL;
    long n = BIO_get_mem_data(mem, &data);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot create: %s%s", path, strerror(errno),
                            errno == EEXIST ? " (an existing key is never overwritten)" : "");
    ssize_t w = n > 0 ? write(fd, data, (size_t)n) : 0;
    int bad = w != n;
    if (close(fd) != 0) bad = 1;
    if (bad) {
        unlink(path);
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: write failed", path);
    }
    return KM_OK;
}

int km_seal_keygen(const char *priv_path, const char *pub_path, char id_out[65], km_error *err) {
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!pc || EVP_PKEY_keygen_init(pc) != 1 || EVP_PKEY_keygen(pc, &pk) != 1) {
        EVP_PKEY_CTX_free(pc);
        return km_error_set(err, KM_ERR, (size_t)-1, "Ed25519 key generation failed");
    }
    EVP_PKEY_CTX_free(pc);
    BIO *priv = BIO_new(BIO_s_secmem()), *pub = BIO_new(BIO_s_mem());
    int rc = KM_OK;
    if (!priv || !pub || PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pub, pk) != 1)
        rc = km_error_set(err, KM_ERR, (size_t)-1, "cannot encode the key");
    if (rc == KM_OK) rc = write_new(priv_path, 0600, priv, err);
    if (rc == KM_OK) {
        rc = write_new(pub_path, 0644, pub, err);
        if (rc != KM_OK) unlink(priv_path);
    }
    if (rc == KM_OK && id_out) {
        km_seal_key k = {pk, 1, {0}};
        if (set_id(&k)) id_out[0] = 0;
        else memcpy(id_out, k.id, 65);
    }
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pk);
    return rc;
}

/* ---- shared with the verifier ------------------------------------------------------------ */

int km_seal_link0(const char *header, size_t len, unsigned char out[32]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const char tag[] = "kumomori-seal-v1 header\n";
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, tag, sizeof tag - 1) == 1 && EVP_DigestUpdate(md, header, len) == 1 &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int km_seal_link(const unsigned char prev[32], uint64_t seq, const char *rec, size_t len,
                 unsigned char out[32]) {
    static const char tag[] = "kumomori-seal-v1 record\n";
    unsigned char be[8];
    for (int i = 0; i < 8; i++) be[i] = (unsigned char)(seq >> (56 - 8 * i));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, tag, sizeof tag - 1) == 1 && EVP_DigestUpdate(md, prev, 32) == 1 &&
             EVP_DigestUpdate(md, be, 8) == 1 && EVP_DigestUpdate(md, rec, len) == 1 &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int km_seal_sig_message(km_buf *b, const char *stream, uint64_t seq, const char *link_hex,
                        const char *time, int final) {
    return km_buf_printf(b, "kumomori-seal-v1 signature\n%s\n%llu\n%s\n%s\n%s", stream,
                         (unsigned long long)seq, link_hex, time, final ? "final" : "checkpoint");
}

int km_seal_key_verify(const km_seal_key *k, const void *msg, size_t len, const unsigned char sig[64]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int key_sign(const km_seal_key *k, const void *msg, size_t len, unsigned char sig[64]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sl = 64;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &sl, msg, len) == 1 && sl == 64;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* ---- the sealer -------------------------------------------------------------------------- */

struct km_sealer {
    const km_seal_key *key;
    km_seal_write_fn write;
    void *ctx;
    unsigned every_records, every_seconds;
    char stream[33];
    unsigned char link[32];
    uint64_t seq, signed_seq;
    time_t last_sign;
    int finished, failed;
    km_buf line;
};

int km_seal_write_file(void *ctx, const char *data, size_t len) {
    FILE *f = ctx;
    if (fwrite(data, 1, len, f) != len) return -1;
    return fflush(f) == 0 ? 0 : -1;
}

static void now_str(char out[32]) { km_trail_format_time((int64_t)time(NULL), out); }

static int emit(km_sealer *s, km_error *err) {
    if (s->line.failed || km_buf_putc(&s->line, '\n'))
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "sealed output: line too long or out of memory");
    if (s->write(s->ctx, s->line.data, s->line.len)) {
        s->failed = 1;
        return km_error_set(err, KM_ERR, (size_t)-1, "sealed output: write failed");
    }
    return KM_OK;
}

static km_sealer *sealer_alloc(const km_seal_key *key, km_seal_write_fn write, void *ctx,
                               const km_seal_opts *opts, km_error *err) {
    if (!key || !key->has_private) {
        km_error_set(err, KM_ERR, (size_t)-1, "sealing needs a private key (kumomori keygen)");
        return NULL;
    }
    km_sealer *s = calloc(1, sizeof *s);
    if (!s) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    s->key = key;
    s->write = write;
    s->ctx = ctx;
    s->every_records = opts && opts->every_records ? opts->every_records : 100;
    s->every_seconds = opts && opts->every_seconds ? opts->every_seconds : 60;
    km_buf_init(&s->line, 256u << 20);
    s->last_sign = time(NULL);
    return s;
}

km_sealer *km_sealer_new(const km_seal_key *key, km_seal_write_fn write, void *ctx,
                         const km_seal_opts *opts, km_error *err) {
    km_sealer *s = sealer_alloc(key, write, ctx, opts, err);
    if (!s) return NULL;
    unsigned char id[16];
    if (RAND_bytes(id, sizeof id) != 1) {
        km_error_set(err, KM_ERR, (size_t)-1, "no random bytes for the stream id");
        km_sealer_free(s);
        return NULL;
    }
    km_hex_encode(id, sizeof id, s->stream);
    char now[32];
    now_str(now);
    const char *producer = opts && opts->producer ? opts->producer : "kumomori";
    km_buf_printf(&s->line, "{\"kumomori_seal_stream\":{\"version\":1,\"stream\":\"%s\",\"key\":\"%s\","
                  "\"created\":\"%s\",\"producer\":", s->stream, key->id, now);
    km_buf_json_str(&s->line, producer, strlen(producer));
    km_buf_puts(&s->line, "}}");
    if (s->line.failed || km_seal_link0(s->line.data, s->line.len, s->link) || emit(s, err)) {
        if (err && err->code == KM_OK) km_error_set(err, KM_ERR, (size_t)-1, "cannot start the sealed stream");
        km_sealer_free(s);
        return NULL;
    }
    s->last_sign = time(NULL);
    return s;
}

static int sign_line(km_sealer *s, int final, km_error *err) {
    char now[32], lh[65], sh[129];
    now_str(now);
    km_hex_encode(s->link, 32, lh);
    km_buf msg = KM_BUF_INIT;
    km_seal_sig_message(&msg, s->stream, s->seq, lh, now, final);
    unsigned char sig[64];
    int nomem = msg.failed != 0, bad = nomem || key_sign(s->key, msg.data, msg.len, sig);
    km_buf_free(&msg);
    if (bad)
        return km_error_set(err, nomem ? KM_ENOMEM : KM_ERR, (size_t)-1, "sealed output: signing failed%s",
                            nomem ? ": out of memory" : "");
    km_hex_encode(sig, 64, sh);
    km_buf_reset(&s->line);
    km_buf_printf(&s->line, "{\"kumomori_seal_signature\":{\"seq\":%llu,\"link\":\"%s\",\"time\":\"%s\","
                  "\"final\":%s,\"sig\":\"%s\"}}", (unsigned long long)s->seq, lh, now,
                  final ? "true" : "false", sh);
    int rc = emit(s, err);
    if (rc == KM_OK) {
        s->signed_seq = s->seq;
        s->last_sign = time(NULL);
    }
    return rc;
}

int km_sealer_record(km_sealer *s, const char *json, size_t len, km_error *err) {
    if (s->finished) return km_error_set(err, KM_ERR, (size_t)-1, "sealed output: record after the end");
    if (s->failed) return km_error_set(err, KM_ERR, (size_t)-1, "sealed output: an earlier write failed");
    size_t a = 0;
    while (a < len && (json[a] == ' ' || json[a] == '\t')) a++;
    while (len > a && (json[len - 1] == '\n' || json[len - 1] == '\r' || json[len - 1] == ' ' ||
                       json[len - 1] == '\t'))
        len--;
    if (a != 0 || len < 2 || json[0] != '{' || json[len - 1] != '}')
        return km_error_set(err, KM_ERR, 0, "sealed output: a record must be a JSON object on one line");
    if (memchr(json, '\n', len) || memchr(json, '\r', len))
        return km_error_set(err, KM_ERR, 0, "sealed output: a record must be on one line");
    /* The verifier tells a stream header or a signature line from a record by these first bytes;
     * a record starting with them would be read as one and the whole stream fail to verify
     * (found by fuzz/fuzz_seal). */
    static const char *const reserved[] = {"{\"kumomori_seal_stream\":", "{\"kumomori_seal_signature\":"};
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++) {
        size_t rl = strlen(reserved[k]);
        if (len >= rl && memcmp(json, reserved[k], rl) == 0)
            return km_error_set(err, KM_ERR, 0, "sealed output: a record may not begin with the member \"%.*s\" "
                                "(it would read as a seal line)", (int)(rl - 4), reserved[k] + 2);
    }
    unsigned char next[32];
    if (km_seal_link(s->link, s->seq + 1, json, len, next))
        return km_error_set(err, KM_ERR, (size_t)-1, "sealed output: SHA-256 failed");
    /* an empty object gets the seal as its only member */
    size_t body = len - 1;
    while (body > 1 && (json[body - 1] == ' ' || json[body - 1] == '\t')) body--;
    int empty = body == 1;
    char lh[65];
    km_hex_encode(next, 32, lh);
    km_buf_reset(&s->line);
    km_buf_append(&s->line, json, len - 1);
    km_buf_printf(&s->line, "%s\"kumomori_seal\":{\"seq\":%llu,\"link\":\"%s\"}}", empty ? "" : ",",
                  (unsigned long long)s->seq + 1, lh);
    if (s->line.failed)
        return km_error_set(err, KM_ELIMIT, (size_t)-1, "sealed output: record too large");
    int rc = emit(s, err);
    if (rc) return rc;
    s->seq++;
    memcpy(s->link, next, 32);
    if (s->seq - s->signed_seq >= s->every_records ||
        (time(NULL) - s->last_sign >= (time_t)s->every_seconds))
        return sign_line(s, 0, err);
    return KM_OK;
}

int km_sealer_position(const km_sealer *s, char out[KM_SEAL_POSITION_MAX]) {
    char lh[65];
    km_hex_encode(s->link, 32, lh);
    int n = snprintf(out, KM_SEAL_POSITION_MAX, "v1:%s:%s:%llu:%s%s", s->stream, s->key->id,
                     (unsigned long long)s->seq, lh, s->finished ? ":final" : "");
    return n > 0 && n < KM_SEAL_POSITION_MAX ? 0 : -1;
}

km_sealer *km_sealer_resume(const km_seal_key *key, km_seal_write_fn write, void *ctx,
                            const km_seal_opts *opts, const char *position, km_error *err) {
    if (!position || !*position) return km_sealer_new(key, write, ctx, opts, err);
    /* v1:STREAM(32):KEYID(64):SEQ:LINK(64)[:final] */
    const char *p = position;
    char stream[33], keyid[65], link[65];
    unsigned long long seq = 0;
    int ok = strncmp(p, "v1:", 3) == 0;
    p += 3;
    if (ok && strlen(p) > 32 && p[32] == ':') { memcpy(stream, p, 32); stream[32] = 0; p += 33; } else ok = 0;
    if (ok && strlen(p) > 64 && p[64] == ':') { memcpy(keyid, p, 64); keyid[64] = 0; p += 65; } else ok = 0;
    char *end = NULL;
    if (ok) {
        seq = strtoull(p, &end, 10);
        ok = end && end != p && *end == ':';
        p = ok ? end + 1 : p;
    }
    if (ok && strlen(p) >= 64) { memcpy(link, p, 64); link[64] = 0; p += 64; } else ok = 0;
    int final = ok && strcmp(p, ":final") == 0;
    if (ok && *p && !final) ok = 0;
    unsigned char lraw[32], sraw[16];
    if (ok && (km_hex_decode(link, 64, lraw, 32, NULL) != 32 || km_hex_decode(stream, 32, sraw, 16, NULL) != 16)) ok = 0;
    if (!ok) {
        km_error_set(err, KM_ERR, (size_t)-1, "sealed output: unreadable stream position '%.80s'", position);
        return NULL;
    }
    if (final || strcmp(keyid, key ? key->id : "") != 0) return km_sealer_new(key, write, ctx, opts, err);
    km_sealer *s = sealer_alloc(key, write, ctx, opts, err);
    if (!s) return NULL;
    memcpy(s->stream, stream, 33);
    memcpy(s->link, lraw, 32);
    s->seq = s->signed_seq = seq; /* what follows is signed at the next interval */
    return s;
}

int km_sealer_checkpoint(km_sealer *s, km_error *err) {
    if (s->finished || s->seq == s->signed_seq) return KM_OK;
    return sign_line(s, 0, err);
}

int km_sealer_tick(km_sealer *s, km_error *err) {
    if (s->finished || s->seq == s->signed_seq) return 0;
    if (time(NULL) - s->last_sign < (time_t)s->every_seconds) return 0;
    int rc = sign_line(s, 0, err);
    return rc == KM_OK ? 1 : rc;
}

int km_sealer_finish(km_sealer *s, km_error *err) {
    if (s->finished) return KM_OK;
    int rc = sign_line(s, 1, err);
    s->finished = 1;
    return rc;
}

uint64_t km_sealer_count(const km_sealer *s) { return s ? s->seq : 0; }

void km_sealer_free(km_sealer *s) {
    if (!s) return;
    km_buf_free(&s->line);
    free(s);
}

/* ---- sealing through a FILE * ------------------------------------------------------------ */

struct km_seal_file {
    km_sealer *s;
    FILE *fp;
    km_buf line;     /* the unterminated tail of what was written */
    km_error err;    /* the first sealing error */
    int failed;
};

static int seal_lines(km_seal_file *sf) {
    size_t start = 0;
    for (size_t i = 0; i < sf->line.len; i++) {
        if (sf->line.data[i] != '\n') continue;
        size_t n = i - start;
        const char *p = sf->line.data + start;
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n && !sf->failed && km_sealer_record(sf->s, p, n, &sf->err)) sf->failed = 1;
        start = i + 1;
    }
    if (start) {
        memmove(sf->line.data, sf->line.data + start, sf->line.len - start);
        sf->line.len -= start;
        sf->line.data[sf->line.len] = 0;
    }
    return sf->failed ? -1 : 0;
}

static ssize_t cookie_write(void *c, const char *buf, size_t size) {
    km_seal_file *sf = c;
    if (sf->failed) return -1;
    if (km_buf_append(&sf->line, buf, size)) {
        km_error_set(&sf->err, KM_ELIMIT, (size_t)-1, "sealed output: a line longer than the limit");
        sf->failed = 1;
        return -1;
    }
    return seal_lines(sf) ? -1 : (ssize_t)size;
}

static int cookie_close(void *c) {
    (void)c; /* km_seal_file_close does the work, so that it can report errors */
    return 0;
}

km_seal_file *km_seal_file_open(const km_seal_key *key, FILE *out, const km_seal_opts *opts,
                                km_error *err) {
    return km_seal_file_resume(key, out, opts, NULL, err);
}

km_seal_file *km_seal_file_resume(const km_seal_key *key, FILE *out, const km_seal_opts *opts,
                                  const char *position, km_error *err) {
    km_seal_file *sf = calloc(1, sizeof *sf);
    if (!sf) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    km_buf_init(&sf->line, 256u << 20);
    km_error_clear(&sf->err);
    sf->s = km_sealer_resume(key, km_seal_write_file, out, opts, position, err);
    cookie_io_functions_t io = {NULL, cookie_write, NULL, cookie_close};
    if (sf->s) sf->fp = fopencookie(sf, "w", io);
    if (!sf->fp) {
        if (sf->s) km_error_set(err, KM_ERR, (size_t)-1, "cannot open the sealed stream");
        km_sealer_free(sf->s);
        km_buf_free(&sf->line);
        free(sf);
        return NULL;
    }
    return sf;
}

FILE *km_seal_file_stream(km_seal_file *sf) { return sf ? sf->fp : NULL; }

int km_seal_file_tick(km_seal_file *sf, km_error *err) {
    if (fflush(sf->fp) || sf->failed) {
        if (err) *err = sf->err;
        return KM_ERR;
    }
    return km_sealer_tick(sf->s, err);
}

int km_seal_file_position(km_seal_file *sf, char out[KM_SEAL_POSITION_MAX]) {
    if (fflush(sf->fp) || sf->failed) return -1;
    return km_sealer_position(sf->s, out);
}

int km_seal_file_finish(km_seal_file *sf, km_error *err) {
    fflush(sf->fp);
    if (!sf->failed && sf->line.len) { /* a last line without its newline */
        if (km_buf_putc(&sf->line, '\n') == 0) seal_lines(sf);
    }
    if (sf->failed) {
        if (err) *err = sf->err;
        return sf->err.code ? sf->err.code : KM_ERR;
    }
    return km_sealer_finish(sf->s, err);
}

int km_seal_file_close(km_seal_file *sf, km_error *err) {
    if (!sf) return KM_OK;
    int rc = km_seal_file_finish(sf, err);
    fclose(sf->fp);
    km_sealer_free(sf->s);
    km_buf_free(&sf->line);
    free(sf);
    return rc;
}

void km_seal_file_abort(km_seal_file *sf) {
    if (!sf) return;
    sf->failed = 1; /* nothing more is sealed */
    fclose(sf->fp);
    km_sealer_free(sf->s);
    km_buf_free(&sf->line);
    free(sf);
}
