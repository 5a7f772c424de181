/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-log.c: corrald's own messages (not backend events): to the journal or to stderr. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "daemon-log.h"

static bool use_journal;
static int max_priority = LOG_DEBUG;

void daemon_log_set_max_priority(int prio) {
        max_priority = prio;
}

void daemon_log_set_journal(bool journal) {
        use_journal = journal;
}

static int daemon_logv(int prio, const char *fmt, va_list ap) _printf_(2, 0);
static int daemon_logv(int prio, const char *fmt, va_list ap) {
        char buf[2048];

        if (prio > max_priority)
                return prio <= LOG_ERR ? -1 : 0;
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        if (!use_journal || sd_journal_print(prio, "%s", buf) < 0)
                fprintf(stderr, "corrald: %s\n", buf);
        return prio <= LOG_ERR ? -1 : 0;
}

int daemon_log(int prio, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = daemon_logv(prio, fmt, ap);
        va_end(ap);
        return r;
}

void daemon_log_limit_init(daemon_log_limit *l, sd_event *e, unsigned burst, uint64_t interval_usec,
                           const char *what) {
        *l = (daemon_log_limit){ .event = e, .burst = burst, .interval_usec = interval_usec, .what = what };
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* "10s", or "1500ms" where seconds would round. */
static const char *format_interval(uint64_t usec, char *buf, size_t size) {
        if (usec % 1000000 == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / 1000000);
        else
                snprintf(buf, size, "%" PRIu64 "ms", usec / 1000);
        return buf;
}

/* One line for all that was suppressed in the window, by reason; the timer goes with it. */
static void limit_summarize(daemon_log_limit *l) {
        char reasons[1024] = "", interval[32];
        size_t n = 0;

        l->timer = sd_event_source_disable_unref(l->timer);
        if (l->n_suppressed == 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(l->reasons) && l->reasons[i].reason && n < sizeof(reasons); i++)
                n += (size_t) snprintf(reasons + n, sizeof(reasons) - n, "%s%u %s", i ? ", " : "",
                                       l->reasons[i].n, l->reasons[i].reason);
        daemon_log(l->suppressed_prio, "%u more %s suppressed in the last %s: %s", l->n_suppressed, l->what,
                   format_interval(l->interval_usec, interval, sizeof(interval)), reasons);
        l->n_suppressed = 0;
        memset(l->reasons, 0, sizeof(l->reasons));
}

void daemon_log_limit_done(daemon_log_limit *l) {
        limit_summarize(l);
}

static int limit_on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        limit_summarize(userdata);
        return 0;
}

/* Count one more suppressed message; the first one arms the summary for the window's end. */
static void limit_suppress(daemon_log_limit *l, const char *reason, int prio) {
        size_t i = 0;

        while (i < ELEMENTSOF(l->reasons) - 1 && l->reasons[i].reason &&
               strcmp(l->reasons[i].reason, reason) != 0)
                i++;
        if (!l->reasons[i].reason)
                l->reasons[i].reason = reason;
        l->reasons[i].n++; /* with more reasons than slots, the last one counts the rest too */
        if (l->n_suppressed++ == 0 || prio < l->suppressed_prio)
                l->suppressed_prio = prio;
        if (!l->timer && l->event &&
            sd_event_add_time(l->event, &l->timer, CLOCK_MONOTONIC, l->window_start + l->interval_usec, 0,
                              limit_on_timer, l) < 0)
                l->timer = NULL; /* then the next message after the window summarizes instead */
}

int daemon_log_limitedv(daemon_log_limit *l, const char *reason, int prio, const char *fmt, va_list ap) {
        uint64_t now = now_usec();

        if (l->burst > 0 && now >= l->window_start + l->interval_usec) { /* a new window */
                limit_summarize(l);                                      /* if its timer has not run yet */
                l->window_start = now;
                l->n_logged = 0;
        }
        if (l->burst > 0 && l->n_logged >= l->burst) {
                limit_suppress(l, reason, prio);
                return prio <= LOG_ERR ? -1 : 0;
        }
        l->n_logged++;
        return daemon_logv(prio, fmt, ap);
}
