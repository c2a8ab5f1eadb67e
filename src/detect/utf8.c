/* UTF-8 validation of each record before it is matched. Written here because it is a dozen lines
 * on the hot path (an 8-byte ASCII fast path covers nearly all of a CloudTrail record) and none
 * of the linked libraries offers one. */
#include "detect/detect.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t km_utf8_check(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
#ifdef __SSE2__
        if (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            if (!_mm_movemask_epi8(v)) { i += 16; continue; }
        }
#endif
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) { i += 8; continue; }
        }
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c == 0xe0) { len = 3; lo = 0xa0; }
        else if (c >= 0xe1 && c <= 0xec) len = 3;
        else if (c == 0xed) { len = 3; hi = 0x9f; } /* no UTF-16 surrogates */
        else if (c >= 0xee && c <= 0xef) len = 3;
        else if (c == 0xf0) { len = 4; lo = 0x90; }
        else if (c >= 0xf1 && c <= 0xf3) len = 4;
        else if (c == 0xf4) { len = 4; hi = 0x8f; } /* nothing above U+10FFFF */
        else return i;
        if (i + len > n) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80) return i;
        i += len;
    }
    return n;
}
