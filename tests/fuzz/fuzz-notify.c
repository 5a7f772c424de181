/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-notify.c: sd_notify datagrams, as a backend (any process in its cgroup) may send them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        notify_message m;

        if (!s)
                return 0;
        memcpy(s, data, size); /* a datagram is read NUL-terminated: an inner NUL ends it */
        s[size] = '\0';
        notify_parse(s, &m);
        if (m.status && (m.status < s || m.status + m.status_len > s + strlen(s)))
                abort(); /* STATUS= always points inside the message */
        if (m.ready && !strstr(s, "READY=1"))
                abort();
        free(s);
        return 0;
}
