/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-parse.c: durations, signal names and backend names from untrusted strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1), name[80];
        uint64_t usec;
        int sig;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (parse_duration(s, &usec) >= 0 && usec == UINT64_MAX)
                abort(); /* reserved for "infinity", never a parse result */
        sig = parse_signal(s);
        if (sig >= 0 && (!signal_to_name(sig) || parse_signal(signal_to_name(sig)) != sig))
                abort(); /* every signal accepted has a name that parses back to it */
        if (name_is_valid(s) && strlen(s) > 64)
                abort();
        if (!name_is_valid(name_from_string(s, name, sizeof(name))))
                abort(); /* what name_from_string makes is always valid */
        free(s);
        return 0;
}
