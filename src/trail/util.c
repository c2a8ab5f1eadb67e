/* Hex, base64 and SHA-256 helpers. Base64 is decoded by hand rather than with OpenSSL's
 * EVP_DecodeBlock because a bad key file must be reported with the offset of the bad character
 * (EVP_DecodeBlock only says "failed") and white space inside the value must be accepted. */
#include "trail/util.h"
#include <openssl/evp.h>
#include <string.h>

void km_hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long km_hex_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad) {
    if (len % 2) {
        if (bad) *bad = len;
        return -1;
    }
    if (len / 2 > cap) {
        if (bad) *bad = cap * 2;
        return -1;
    }
    for (size_t i = 0; i < len; i += 2) {
        int h = hexval((unsigned char)s[i]), l = hexval((unsigned char)s[i + 1]);
        if (h < 0 || l < 0) {
            if (bad) *bad = h < 0 ? i : i + 1;
            return -1;
        }
        out[i / 2] = (unsigned char)(h << 4 | l);
    }
    return (long)(len / 2);
}

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long km_trail_base64_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad) {
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    int padding = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            padding++;
            if (padding > 2) { if (bad) *bad = i; return -1; }
            continue;
        }
        int v = b64val(c);
        if (v < 0 || padding) {
            if (bad) *bad = i;
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap) { if (bad) *bad = i; return -1; }
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* 6 leftover bits cannot come from whole bytes: the text was cut short. */
    if (bits >= 6) {
        if (bad) *bad = len;
        return -1;
    }
    return (long)n;
}

int km_sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        out[0] = 0;
        return -1;
    }
    km_hex_encode(md, 32, out);
    return 0;
}

int km_hex_equal(const char *a, const char *b) {
    if (!a || !b) return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return 0;
    for (size_t i = 0; i < la; i++) {
        int x = hexval((unsigned char)a[i]), y = hexval((unsigned char)b[i]);
        if (x < 0 || x != y) return 0;
    }
    return 1;
}
