/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify.h: the sd_notify socket backends report readiness on, and who really sent each message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A datagram socket in the abstract namespace, credentials passed. Writes the name for
 * NOTIFY_SOCKET ("@corral/notify/...") and returns the fd, or -errno. */
int notify_open(char *ret_name, size_t size);

/* Take one message: 1 with its text (NUL-terminated) and the sender's pid as the kernel vouches
 * for it, 0 if none is waiting, -errno. Messages without credentials or too long are dropped. */
int notify_receive(int fd, char *buf, size_t size, pid_t *ret_pid);

/* What one sd_notify message says, of what corral acts on. status points into the text. */
typedef struct notify_message {
        bool ready;         /* READY=1 */
        bool stopping;      /* STOPPING=1 */
        bool watchdog;      /* WATCHDOG=1 */
        const char *status; /* STATUS=, not NUL-terminated: status_len bytes */
        size_t status_len;
        unsigned long long watchdog_usec; /* WATCHDOG_USEC=, 0 if absent */
} notify_message;

/* Lines of "KEY=value"; unknown keys and malformed lines are ignored, as sd_notify(3) says. */
void notify_parse(const char *text, notify_message *ret);
