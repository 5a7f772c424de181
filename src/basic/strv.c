/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.c: NULL-terminated arrays of strings. */
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
