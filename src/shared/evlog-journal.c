/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evlog-journal.c: lifecycle events sent out, to stderr or journald: the one user of libsystemd among
 * the event log's functions, in its own object so that what only formats events (the corral client)
 * does not load libsystemd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "evlog.h"
#include "macro.h"

int evlog_journal(const corral_event *ev) {
        char bufs[EVLOG_JOURNAL_FIELDS][EVLOG_JOURNAL_FIELD_MAX];
        struct iovec iov[EVLOG_JOURNAL_FIELDS];
        int n = evlog_journal_fields(ev, bufs, ELEMENTSOF(bufs));

        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = strlen(bufs[i]) };
        return sd_journal_sendv(iov, n);
}

int evlog_write(const corral_event *ev, evlog_target target, evlog_format fmt) {
        _cleanup_free_ char *line = NULL;
        int r;

        if (target == EVLOG_TARGET_JOURNAL)
                return evlog_journal(ev);
        r = evlog_format_event_colour(ev, fmt, fmt == EVLOG_FORMAT_TEXT && evlog_colour_for(STDERR_FILENO),
                                      &line);
        if (r < 0)
                return r;
        /* One write per line, so that lines from several writers do not interleave. */
        size_t len = strlen(line);
        line[len] = '\n';
        r = (int) fwrite(line, 1, len + 1, stderr) == (int) (len + 1) ? 0 : -EIO;
        line[len] = '\0';
        fflush(stderr);
        return r;
}
