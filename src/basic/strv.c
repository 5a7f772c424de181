/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.c: NULL-terminated arrays of strings. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
        return NULL;
}

int strv_copy(char *const *v, char ***ret) {
        size_t n = 0;
        char **c;

        while (v && v[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return (int) n;
}

static int strv_push_word(char ***v, size_t *n, const char *w, size_t len) {
        char **t = realloc(*v, (*n + 2) * sizeof(char *));

        if (!t)
                return -ENOMEM;
        *v = t;
        t[*n] = strndup(w, len);
        if (!t[*n])
                return -ENOMEM;
        t[++*n] = NULL;
        return 0;
}

static char unescape(char c) {
        return c == 'n' ? '\n' : c == 't' ? '\t' : c;
}

/* One word from *p into buf (at least strlen(*p) + 1 bytes); advances *p past it. */
static int next_word(const char **p, char *buf, size_t *ret_len) {
        const char *s = *p;
        size_t len = 0;
        char quote = 0;

        for (; *s && (quote || !isspace((unsigned char) *s)); s++) {
                if (*s == '\\') {
                        if (!s[1])
                                return -EINVAL;
                        buf[len++] = unescape(*++s);
                } else if (quote && *s == quote)
                        quote = 0;
                else if (!quote && (*s == '"' || *s == '\''))
                        quote = *s;
                else
                        buf[len++] = *s;
        }
        if (quote)
                return -EINVAL;
        *p = s;
        *ret_len = len;
        return 0;
}

int strv_split_quoted(const char *s, char ***ret) {
        char **v, *buf;
        size_t n = 0, len;
        int r;

        if (!s)
                return -EINVAL;
        v = calloc(1, sizeof(char *));
        buf = malloc(strlen(s) + 1);
        r = v && buf ? 0 : -ENOMEM;

        while (r >= 0) {
                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                r = next_word(&s, buf, &len);
                if (r >= 0)
                        r = strv_push_word(&v, &n, buf, len);
        }
        free(buf);
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return (int) n;
}

int strv_push(char ***v, char *s) {
        size_t n = 0;
        char **t;

        while (*v && (*v)[n])
                n++;
        t = realloc(*v, (n + 2) * sizeof(char *));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[n] = s;
        t[n + 1] = NULL;
        *v = t;
        return 0;
}
