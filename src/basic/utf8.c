/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* utf8.c: making arbitrary bytes (a backend's output) safe for JSON strings and C strings. */
#include <stdint.h>

#include "utf8.h"

/* Length of the valid sequence at s (at most n bytes), or 0 if it is not one (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

void utf8_sanitize(char *s, size_t n) {
        unsigned char *p = (unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t k = utf8_seq(p + i, n - i);
                if (k == 0) {
                        p[i++] = '?';
                        continue;
                }
                i += k;
        }
}

bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t k = utf8_seq(p + i, n - i);
                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}
