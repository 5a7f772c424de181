/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* envfile.c: systemd's environment files, parsed with its state machine: one character at a time, no
 * line length limit but the file's. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "macro.h"
#include "strv.h"
#include "utf8.h"

typedef enum envfile_state {
        PRE_KEY,
        KEY,
        PRE_VALUE,
        VALUE,
        VALUE_ESCAPE,
        SINGLE_QUOTE,
        DOUBLE_QUOTE,
        DOUBLE_QUOTE_ESCAPE,
        COMMENT,
        COMMENT_ESCAPE,
} envfile_state;

typedef struct envfile_buf {
        char *s;
        size_t len, cap;
} envfile_buf;

typedef struct envfile_ctx {
        envfile_buf key, value;
        size_t key_end;   /* the key's length without its trailing whitespace */
        size_t value_end; /* the unquoted value's length without its trailing whitespace */
        char **out;       /* NULL-terminated once there is one */
        size_t n_out, cap_out;
        unsigned skipped;
} envfile_ctx;

/* Appended in amortised constant time: a file of a million short lines costs no more than its size. */
static int envfile_out_add(envfile_ctx *x, char *a) {
        if (x->n_out + 2 > x->cap_out) {
                size_t cap = x->cap_out ? x->cap_out * 2 : 16;
                char **n = realloc(x->out, cap * sizeof(char *));
                if (!n) {
                        free(a);
                        return -ENOMEM;
                }
                x->out = n;
                x->cap_out = cap;
        }
        x->out[x->n_out++] = a;
        x->out[x->n_out] = NULL;
        return 0;
}

static int buf_add(envfile_buf *b, char c) {
        if (b->len + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                char *n = realloc(b->s, cap);
                if (!n)
                        return -ENOMEM;
                b->s = n;
                b->cap = cap;
        }
        b->s[b->len++] = c;
        b->s[b->len] = '\0';
        return 0;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static bool key_is_valid(const char *k, size_t n) {
        if (n == 0 || (k[0] >= '0' && k[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
                      (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return false;
        return true;
}

static bool value_is_valid(const char *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) v[i] < ' ' && v[i] != '\n' && v[i] != '\t')
                        return false;
        return utf8_is_valid(v, n);
}

/* The assignment read: kept if it is a valid one, else counted. */
static int envfile_push(envfile_ctx *x, size_t value_len) {
        char *a;
        int r = 0;

        if (key_is_valid(x->key.s, x->key_end) && value_is_valid(x->value.s ?: "", value_len)) {
                a = malloc(x->key_end + value_len + 2);
                if (!a)
                        return -ENOMEM;
                memcpy(a, x->key.s, x->key_end);
                a[x->key_end] = '=';
                if (value_len)
                        memcpy(a + x->key_end + 1, x->value.s, value_len);
                a[x->key_end + 1 + value_len] = '\0';
                r = envfile_out_add(x, a);
        } else
                x->skipped++;
        x->key.len = x->value.len = x->key_end = x->value_end = 0;
        return r;
}

static int step_key(envfile_ctx *x, envfile_state *st, char c) {
        if (c == '\n') { /* no "=": not an assignment */
                x->skipped++;
                x->key.len = x->key_end = 0;
                *st = PRE_KEY;
                return 0;
        }
        if (c == '=') {
                *st = PRE_VALUE;
                return 0;
        }
        if (!is_space(c))
                x->key_end = x->key.len + 1;
        return buf_add(&x->key, c);
}

static int step_value(envfile_ctx *x, envfile_state *st, char c) {
        if (c == '\n') {
                *st = PRE_KEY;
                return envfile_push(x, x->value_end);
        }
        if (c == '\\') {
                *st = VALUE_ESCAPE;
                return 0;
        }
        if (!is_space(c))
                x->value_end = x->value.len + 1;
        return buf_add(&x->value, c);
}

/* After a quote, or before the value: whitespace is skipped, what else comes is more value. */
static int step_pre_value(envfile_ctx *x, envfile_state *st, char c) {
        if (c == '\n') {
                *st = PRE_KEY;
                return envfile_push(x, x->value.len);
        }
        if (c == '\'' || c == '"') {
                *st = c == '\'' ? SINGLE_QUOTE : DOUBLE_QUOTE;
                return 0;
        }
        if (c == '\\') {
                *st = VALUE_ESCAPE;
                return 0;
        }
        if (is_space(c))
                return 0;
        *st = VALUE;
        x->value_end = x->value.len + 1;
        return buf_add(&x->value, c);
}

static int step_double_quote_escape(envfile_ctx *x, envfile_state *st, char c) {
        int r = 0;

        *st = DOUBLE_QUOTE;
        if (c == '\n') /* a continued line */
                return 0;
        if (!strchr("\"\\`$", c))
                r = buf_add(&x->value, '\\');
        return r < 0 ? r : buf_add(&x->value, c);
}

static int envfile_step(envfile_ctx *x, envfile_state *st, char c) {
        switch (*st) {
        case PRE_KEY:
                if (c == '#' || c == ';')
                        *st = COMMENT;
                else if (!is_space(c) && c != '\n') {
                        *st = KEY;
                        return step_key(x, st, c);
                }
                return 0;
        case KEY:
                return step_key(x, st, c);
        case PRE_VALUE:
                return step_pre_value(x, st, c);
        case VALUE:
                return step_value(x, st, c);
        case VALUE_ESCAPE:
                *st = VALUE;
                if (c == '\n') /* a continued line */
                        return 0;
                x->value_end = x->value.len + 1;
                return buf_add(&x->value, c);
        case SINGLE_QUOTE:
                if (c == '\'') {
                        *st = PRE_VALUE;
                        return 0;
                }
                return buf_add(&x->value, c);
        case DOUBLE_QUOTE:
                if (c == '"') {
                        *st = PRE_VALUE;
                        return 0;
                }
                if (c == '\\') {
                        *st = DOUBLE_QUOTE_ESCAPE;
                        return 0;
                }
                return buf_add(&x->value, c);
        case DOUBLE_QUOTE_ESCAPE:
                return step_double_quote_escape(x, st, c);
        case COMMENT:
                if (c == '\\')
                        *st = COMMENT_ESCAPE;
                else if (c == '\n')
                        *st = PRE_KEY;
                return 0;
        case COMMENT_ESCAPE:
                *st = COMMENT; /* a comment continued on the next line, as in systemd */
                return 0;
        }
        return 0;
}

/* The end of the file ends the last assignment as a newline would, within quotes too. */
static int envfile_finish(envfile_ctx *x, envfile_state st) {
        switch (st) {
        case KEY:
                if (x->key.len > 0)
                        x->skipped++;
                return 0;
        case VALUE:
        case VALUE_ESCAPE:
                return envfile_push(x, x->value_end);
        case PRE_VALUE:
        case SINGLE_QUOTE:
        case DOUBLE_QUOTE:
        case DOUBLE_QUOTE_ESCAPE:
                return envfile_push(x, x->value.len);
        default:
                return 0;
        }
}

int envfile_parse(const char *text, size_t size, char ***ret, unsigned *ret_skipped) {
        envfile_ctx x = { 0 };
        envfile_state st = PRE_KEY;
        int r = 0;

        if (size > ENVFILE_SIZE_MAX)
                return -E2BIG;
        for (size_t i = 0; r >= 0 && i < size; i++)
                r = envfile_step(&x, &st, text[i]);
        if (r >= 0)
                r = envfile_finish(&x, st);
        if (r >= 0 && !x.out && !(x.out = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        free(x.key.s);
        free(x.value.s);
        if (r < 0) {
                strv_free(x.out);
                return r;
        }
        if (ret_skipped)
                *ret_skipped = x.skipped;
        *ret = x.out;
        return 0;
}
