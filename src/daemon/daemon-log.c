/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-log.c: corrald's own messages (not backend events): to the journal or to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "daemon-log.h"

static bool use_journal;
static int max_priority = LOG_DEBUG;

void daemon_log_set_max_priority(int prio) {
        max_priority = prio;
}

void daemon_log_set_journal(bool journal) {
        use_journal = journal;
}

int daemon_log(int prio, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (prio > max_priority)
                return prio <= LOG_ERR ? -1 : 0;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (!use_journal || sd_journal_print(prio, "%s", buf) < 0)
                fprintf(stderr, "corrald: %s\n", buf);
        return prio <= LOG_ERR ? -1 : 0;
}
