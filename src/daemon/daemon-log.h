/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-log.h: corrald's own messages (not backend events): to the journal or to stderr. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>
#include <systemd/sd-event.h>

#include "macro.h"

void daemon_log_set_journal(bool journal);

/* Drop messages less important than prio (LOG_INFO keeps info and above; -1 drops all). */
void daemon_log_set_max_priority(int prio);

/* One line, "corrald: ..." on stderr, or a journal entry with PRIORITY=prio. Returns -1 for
 * LOG_ERR and worse, else 0, so that errors can be logged and returned in one line. */
int daemon_log(int prio, const char *fmt, ...) _printf_(2, 3);

/* Messages a client can cause at will (refusals, drops, time-outs), logged at a bounded rate: at
 * most burst in each interval, the rest counted by reason and summarized in one line when the
 * interval ends, by a one-shot timer that exists only while something is being suppressed. */
typedef struct daemon_log_limit {
        sd_event *event;
        uint64_t interval_usec;
        unsigned burst;   /* 0: no limit */
        const char *what; /* "refusals": names them in the summary */
        uint64_t window_start;
        unsigned n_logged;
        unsigned n_suppressed;
        int suppressed_prio; /* the most important one suppressed */
        struct {
                const char *reason; /* static strings */
                unsigned n;
        } reasons[12];
        sd_event_source *timer;
} daemon_log_limit;

void daemon_log_limit_init(daemon_log_limit *l, sd_event *e, unsigned burst, uint64_t interval_usec,
                           const char *what);
/* Logs the summary of what is still suppressed, and frees the timer. */
void daemon_log_limit_done(daemon_log_limit *l);

/* As daemon_log(), within l's rate; reason (a static string such as "permission denied") is
 * what the summary counts it as. */
int daemon_log_limitedv(daemon_log_limit *l, const char *reason, int prio, const char *fmt, va_list ap)
        _printf_(4, 0);
