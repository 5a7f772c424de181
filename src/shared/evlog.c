/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evlog.c: lifecycle events written out: logfmt text, JSON lines, or native journal fields. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "evlog.h"
#include "macro.h"
#include "parse.h"

static const char *const message_ids[_CORRAL_EVENT_MAX] = {
        [CORRAL_EVENT_STARTED] = "8cd6c7424fbc4281ac7ff1eef95f2231",
        [CORRAL_EVENT_STOPPING] = "f111b397480546b4ad09e7b9434b3194",
        [CORRAL_EVENT_STOPPED] = "9b5e1948df9b4b93af005023dbef4361",
        [CORRAL_EVENT_FINISHED] = "2bec71ea0aac49a5b7d38c046f0fcc51",
        [CORRAL_EVENT_EXITED] = "10ae2da566d5474daab60f76885ebbf0",
        [CORRAL_EVENT_KILLED] = "a5c0b3668bda4950ac636910636ff8c3",
        [CORRAL_EVENT_CRASHED] = "998692d15c054d0281bf3706cc287e06",
        [CORRAL_EVENT_OOM_KILLED] = "ce458019b3e449e99268f7ffe9e7d81b",
        [CORRAL_EVENT_START_FAILED] = "10de5cbe01a04162bfbbefb918427885",
        [CORRAL_EVENT_RESTARTING] = "d44c7474e49c426b81e018469a43e039",
        [CORRAL_EVENT_FAILED] = "aa9e4b5dab93430db402ac21799b7060",
        [CORRAL_EVENT_READY] = "23cc642961f94b828c4ce8cc5fc410e2",
        [CORRAL_EVENT_WATCHDOG] = "83c1285713a54a3daac166e8fe524a3b",
        [CORRAL_EVENT_OOM] = "7e907ad87bdb440a8356491f50425b31",
        [CORRAL_EVENT_ADOPTED] = "bb3f597a74604e1287cd7bfe6fe90be2",
};

const char *evlog_message_id(corral_event_type t) {
        return (unsigned) t < _CORRAL_EVENT_MAX ? message_ids[t] : NULL;
}

int evlog_priority(corral_level l) {
        static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR };
        return (unsigned) l < ELEMENTSOF(prio) ? prio[l] : LOG_ERR;
}

/* RFC 3339 in UTC with microseconds: 2026-11-24T02:48:27.123456Z */
static void format_ts(uint64_t usec, char buf[static 32]) {
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;

        (void) gmtime_r(&sec, &tm);
        size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        (void) snprintf(buf + n, 32 - n, ".%06" PRIu64 "Z", usec % 1000000);
}

enum {
        F_TS,
        F_LEVEL,
        F_EVENT,
        F_BACKEND,
        F_LAUNCH,
        F_PID,
        F_CGROUP,
        F_INTENTIONAL,
        F_STOP_UID,
        F_STOP_PID,
        F_HOW,
        F_EXIT_CODE,
        F_SIGNAL,
        F_CORE,
        F_ESCALATED,
        F_OOM,
        F_LEFTOVER,
        F_RUNTIME,
        F_ATTEMPT,
        F_DELAY,
        F_MESSAGE,
        F_STDERR,
        F_CAUSE,
        _F_MAX
};

/* The fields every form carries, in order; NULL value means null. */
typedef struct evlog_fields {
        char ts[32], pid[16], stop_uid[16], stop_pid[16], exit_code[16], leftover[16], runtime[24],
                attempt[16], delay[24];
        const char *str[_F_MAX];
} evlog_fields;

static const char *const field_names[_F_MAX] = {
        [F_TS] = "ts",
        [F_LEVEL] = "level",
        [F_EVENT] = "event",
        [F_BACKEND] = "backend",
        [F_LAUNCH] = "launch",
        [F_PID] = "pid",
        [F_CGROUP] = "cgroup",
        [F_INTENTIONAL] = "intentional",
        [F_STOP_UID] = "stop_uid",
        [F_STOP_PID] = "stop_pid",
        [F_HOW] = "how",
        [F_EXIT_CODE] = "exit_code",
        [F_SIGNAL] = "signal",
        [F_CORE] = "core_dumped",
        [F_ESCALATED] = "escalated",
        [F_OOM] = "oom_killed",
        [F_LEFTOVER] = "leftover",
        [F_RUNTIME] = "runtime_ms",
        [F_ATTEMPT] = "attempt",
        [F_DELAY] = "restart_delay_ms",
        [F_MESSAGE] = "message",
        [F_STDERR] = "stderr",
        [F_CAUSE] = "cause",
};

/* Which fields are JSON numbers or booleans rather than strings. */
static bool field_is_number(int f) {
        return f == F_PID || f == F_STOP_UID || f == F_STOP_PID || f == F_EXIT_CODE || f == F_LEFTOVER ||
                f == F_RUNTIME;
}
static bool field_is_bool(int f) {
        return f == F_INTENTIONAL || f == F_CORE || f == F_ESCALATED || f == F_OOM;
}

#define BOOLSTR(b)    ((b) ? "true" : "false")
#define EMPTY_NULL(s) ((s) && *(s) ? (s) : NULL)

static void evlog_fields_fill(const corral_event *ev, evlog_fields *f) {
        format_ts(ev->ts_usec, f->ts);
        (void) snprintf(f->pid, sizeof(f->pid), "%d", (int) ev->pid);
        (void) snprintf(f->stop_uid, sizeof(f->stop_uid), "%u", (unsigned) ev->stop_uid);
        (void) snprintf(f->stop_pid, sizeof(f->stop_pid), "%d", (int) ev->stop_pid);
        (void) snprintf(f->exit_code, sizeof(f->exit_code), "%d", ev->exit_code);
        (void) snprintf(f->leftover, sizeof(f->leftover), "%u", ev->leftover);
        (void) snprintf(f->runtime, sizeof(f->runtime), "%" PRIu64, ev->runtime_usec / 1000);
        (void) snprintf(f->attempt, sizeof(f->attempt), "%u", ev->attempt);
        (void) snprintf(f->delay, sizeof(f->delay), "%" PRIu64, ev->restart_delay_usec / 1000);
        const char *v[_F_MAX] = {
                [F_TS] = f->ts,
                [F_LEVEL] = corral_level_to_string(ev->level),
                [F_EVENT] = corral_event_type_to_string(ev->type),
                [F_BACKEND] = ev->backend,
                [F_LAUNCH] = EMPTY_NULL(ev->launch),
                [F_PID] = ev->pid > 0 ? f->pid : NULL,
                [F_CGROUP] = EMPTY_NULL(ev->cgroup),
                [F_INTENTIONAL] = BOOLSTR(ev->intentional),
                [F_STOP_UID] = ev->intentional && ev->stop_uid != (uid_t) -1 ? f->stop_uid : NULL,
                [F_STOP_PID] = ev->intentional && ev->stop_pid > 0 ? f->stop_pid : NULL,
                [F_HOW] = corral_how_to_string(ev->how),
                [F_EXIT_CODE] = ev->how == CORRAL_HOW_EXITED ? f->exit_code : NULL,
                [F_SIGNAL] = ev->signal > 0 ? signal_to_name(ev->signal) : NULL,
                [F_CORE] = BOOLSTR(ev->core_dumped),
                [F_ESCALATED] = BOOLSTR(ev->escalated),
                [F_OOM] = BOOLSTR(ev->oom_killed),
                [F_LEFTOVER] = f->leftover,
                [F_RUNTIME] = f->runtime,
                [F_ATTEMPT] = ev->type == CORRAL_EVENT_RESTARTING || ev->type == CORRAL_EVENT_FAILED
                        ? f->attempt
                        : NULL,
                [F_DELAY] = ev->type == CORRAL_EVENT_RESTARTING ? f->delay : NULL,
                [F_MESSAGE] = ev->message,
                [F_STDERR] = ev->stderr_tail,
                [F_CAUSE] = ev->intentional ? ev->cause : NULL,
        };
        memcpy(f->str, v, sizeof(v));
}

static bool logfmt_needs_quotes(const char *s) {
        if (!*s)
                return true;
        for (; *s; s++)
                if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
                        return true;
        return false;
}

static void logfmt_value(FILE *f, const char *s) {
        if (!s)
                return; /* null: "key=" */
        if (!logfmt_needs_quotes(s)) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if ((unsigned char) *s < ' ' || *s == 0x7f)
                        fprintf(f, "\\x%02x", (unsigned char) *s);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

static int evlog_format_text(const evlog_fields *fl, char **ret) {
        size_t size = 0;
        FILE *f = open_memstream(ret, &size);

        if (!f)
                return -ENOMEM;
        for (int i = 0; i < _F_MAX; i++) {
                fprintf(f, "%s%s=", i ? " " : "", field_names[i]);
                logfmt_value(f, fl->str[i]);
        }
        return fclose(f) == 0 ? 0 : -ENOMEM;
}

static json_t *json_field(int i, const char *v) {
        if (!v)
                return json_null();
        if (field_is_bool(i))
                return json_boolean(strcmp(v, "true") == 0);
        if (field_is_number(i))
                return json_integer(strtoll(v, NULL, 10));
        return json_string(v);
}

static json_t *evlog_fields_to_json(const evlog_fields *fl) {
        json_t *o = json_object();

        for (int i = 0; o && i < _F_MAX; i++)
                if (json_object_set_new(o, field_names[i], json_field(i, fl->str[i])) < 0)
                        o = (json_decref(o), NULL);
        return o;
}

json_t *evlog_event_to_json(const corral_event *ev) {
        evlog_fields fl;

        evlog_fields_fill(ev, &fl);
        return evlog_fields_to_json(&fl);
}

static int evlog_format_json(const evlog_fields *fl, char **ret) {
        json_t *o = evlog_fields_to_json(fl);
        char *s;

        if (!o)
                return -ENOMEM;
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int evlog_format_event(const corral_event *ev, evlog_format fmt, char **ret) {
        evlog_fields fl;

        evlog_fields_fill(ev, &fl);
        return fmt == EVLOG_FORMAT_JSON ? evlog_format_json(&fl, ret) : evlog_format_text(&fl, ret);
}

int evlog_journal(const corral_event *ev) {
        char bufs[_F_MAX + 3][1024 + 512]; /* a stderr tail is at most 1 KiB */
        struct iovec iov[_F_MAX + 3];
        evlog_fields fl;
        size_t n = 0;

        evlog_fields_fill(ev, &fl);
        (void) snprintf(bufs[n], sizeof(bufs[n]), "MESSAGE=%s: %s", ev->backend, ev->message);
        n++;
        (void) snprintf(bufs[n], sizeof(bufs[n]), "PRIORITY=%d", evlog_priority(ev->level));
        n++;
        (void) snprintf(bufs[n], sizeof(bufs[n]), "MESSAGE_ID=%s", evlog_message_id(ev->type));
        n++;
        for (int i = 1; i < _F_MAX; i++) { /* the journal stamps entries itself: no ts */
                if (!fl.str[i])
                        continue;
                int k = snprintf(bufs[n], sizeof(bufs[n]), "CORRAL_%s=%s", field_names[i], fl.str[i]);
                for (int j = 7; j < k && bufs[n][j] != '='; j++)
                        bufs[n][j] = (char) toupper((unsigned char) bufs[n][j]);
                n++;
        }
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = strlen(bufs[i]) };
        return sd_journal_sendv(iov, (int) n);
}

int evlog_write(const corral_event *ev, evlog_target target, evlog_format fmt) {
        _cleanup_free_ char *line = NULL;
        int r;

        if (target == EVLOG_TARGET_JOURNAL)
                return evlog_journal(ev);
        r = evlog_format_event(ev, fmt, &line);
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

bool evlog_fd_is_journal(int fd) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}
