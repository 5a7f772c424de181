/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-envfile.c: environment files (EnvironmentFile=) from untrusted bytes: every assignment kept is a
 * valid one, and parsing never reads past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "parse.h"
#include "strv.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *copy = malloc(size ? size : 1), **v = NULL;
        unsigned skipped = 0;

        if (!copy)
                return 0;
        if (size)
                memcpy(copy, data, size); /* exactly size bytes: no NUL after them */
        if (envfile_parse(copy, size, &v, &skipped) >= 0) {
                for (char **a = v; *a; a++) {
                        const char *eq = strchr(*a, '=');
                        if (!eq || eq == *a || !utf8_is_valid(*a, strlen(*a)))
                                abort();
                        for (const char *k = *a; k < eq; k++)
                                if (!(*k == '_' || (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
                                      (k > *a && *k >= '0' && *k <= '9')))
                                        abort();
                }
                strv_free(v);
        }
        free(copy);
        return 0;
}
