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
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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
        [CORRAL_EVENT_RELOADED] = "9d3b2c58582047a19b39e888f9aea080",
        [CORRAL_EVENT_RELOAD_FAILED] = "e3e47fdd567644459efe8555e1472c54",
        [CORRAL_EVENT_UNHEALTHY] = "46c2844e54c64988ba0efddda86dc4bb",
        [CORRAL_EVENT_HEALTH] = "2d2ba98621b14569b52c6f13e15409b5",
};

const char *evlog_message_id(corral_event_type t) {
        return (unsigned) t < _CORRAL_EVENT_MAX ? message_ids[t] : NULL;
}

int evlog_priority(corral_level l) {
        static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR };
        return (unsigned) l < ELEMENTSOF(prio) ? prio[l] : LOG_ERR;
}

/* RFC 3339 in UTC with microseconds: 2026-11-24T02:48:27.123456Z */
void evlog_format_ts(uint64_t usec, char buf[static 32]) {
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
        F_KILL_SIGNAL,
        F_KILL_UID,
        F_KILL_PID,
        F_RELOAD_UID,
        F_RELOAD_PID,
        F_HEALTH,
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
        char ts[32], pid[16], stop_uid[16], stop_pid[16], kill_uid[16], kill_pid[16], reload_uid[16],
                reload_pid[16], exit_code[16], leftover[16], runtime[24], attempt[16], delay[24];
        const char *str[_F_MAX];
} evlog_fields;

/* MESSAGE=, PRIORITY=, MESSAGE_ID= and a CORRAL_* field for each but ts */
_Static_assert(EVLOG_JOURNAL_FIELDS >= _F_MAX + 2, "EVLOG_JOURNAL_FIELDS too small");

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
        [F_KILL_SIGNAL] = "kill_signal",
        [F_KILL_UID] = "kill_uid",
        [F_KILL_PID] = "kill_pid",
        [F_RELOAD_UID] = "reload_uid",
        [F_RELOAD_PID] = "reload_pid",
        [F_HEALTH] = "health",
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
        return f == F_PID || f == F_STOP_UID || f == F_STOP_PID || f == F_KILL_UID || f == F_KILL_PID ||
                f == F_RELOAD_UID || f == F_RELOAD_PID || f == F_EXIT_CODE || f == F_LEFTOVER ||
                f == F_RUNTIME;
}
static bool field_is_bool(int f) {
        return f == F_INTENTIONAL || f == F_CORE || f == F_ESCALATED || f == F_OOM;
}

#define BOOLSTR(b)    ((b) ? "true" : "false")
#define EMPTY_NULL(s) ((s) && *(s) ? (s) : NULL)

static bool evlog_is_reload(const corral_event *ev) {
        return ev->type == CORRAL_EVENT_RELOADED || ev->type == CORRAL_EVENT_RELOAD_FAILED;
}

static void evlog_fields_fill(const corral_event *ev, evlog_fields *f) {
        evlog_format_ts(ev->ts_usec, f->ts);
        (void) snprintf(f->pid, sizeof(f->pid), "%d", (int) ev->pid);
        (void) snprintf(f->stop_uid, sizeof(f->stop_uid), "%u", (unsigned) ev->stop_uid);
        (void) snprintf(f->stop_pid, sizeof(f->stop_pid), "%d", (int) ev->stop_pid);
        (void) snprintf(f->kill_uid, sizeof(f->kill_uid), "%u", (unsigned) ev->kill_uid);
        (void) snprintf(f->kill_pid, sizeof(f->kill_pid), "%d", (int) ev->kill_pid);
        (void) snprintf(f->reload_uid, sizeof(f->reload_uid), "%u", (unsigned) ev->reload_uid);
        (void) snprintf(f->reload_pid, sizeof(f->reload_pid), "%d", (int) ev->reload_pid);
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
                [F_KILL_SIGNAL] = ev->kill_signal > 0 ? signal_to_name(ev->kill_signal) : NULL,
                [F_KILL_UID] = ev->kill_signal > 0 && ev->kill_uid != (uid_t) -1 ? f->kill_uid : NULL,
                [F_KILL_PID] = ev->kill_signal > 0 && ev->kill_pid > 0 ? f->kill_pid : NULL,
                [F_RELOAD_UID] = evlog_is_reload(ev) && ev->reload_uid != (uid_t) -1 ? f->reload_uid : NULL,
                [F_RELOAD_PID] = evlog_is_reload(ev) && ev->reload_pid > 0 ? f->reload_pid : NULL,
                [F_HEALTH] =
                        ev->health != CORRAL_HEALTH_UNKNOWN ? corral_health_to_string(ev->health) : NULL,
                [F_HOW] = corral_how_to_string(ev->how),
                [F_EXIT_CODE] = ev->how == CORRAL_HOW_EXITED ? f->exit_code : NULL,
                [F_SIGNAL] = ev->signal > 0 ? signal_to_name(ev->signal) : NULL,
                [F_CORE] = BOOLSTR(ev->core_dumped),
                [F_ESCALATED] = BOOLSTR(ev->escalated),
                [F_OOM] = BOOLSTR(ev->oom_killed),
                [F_LEFTOVER] = f->leftover,
                [F_RUNTIME] = ev->runtime_usec == CORRAL_RUNTIME_UNKNOWN ? NULL : f->runtime,
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

/* logfmt: every field that is not null, in order. */
static int evlog_format_logfmt(const evlog_fields *fl, char **ret) {
        size_t size = 0;
        FILE *f = open_memstream(ret, &size);
        bool first = true;

        if (!f)
                return -ENOMEM;
        for (int i = 0; i < _F_MAX; i++) {
                if (!fl->str[i])
                        continue;
                fprintf(f, "%s%s=", first ? "" : " ", field_names[i]);
                logfmt_value(f, fl->str[i]);
                first = false;
        }
        return fclose(f) == 0 ? 0 : -ENOMEM;
}

/* --- The text a person reads: one short line, only what says something. --- */

/* Text as it is, but control characters escaped: a message or a stderr line never breaks a line
 * or reaches the terminal as an escape sequence. */
static void text_escaped(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < ' ' || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
}

/* 498 ms, 12.3 s, 4 min 12 s, 2 h 3 min. */
static void text_duration(FILE *f, uint64_t usec) {
        uint64_t ms = usec / 1000, s = ms / 1000;

        if (ms < 10000)
                fprintf(f, "%" PRIu64 " ms", ms);
        else if (s < 120)
                fprintf(f, "%" PRIu64 ".%" PRIu64 " s", s, ms % 1000 / 100);
        else if (s < 7200)
                fprintf(f, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
        else
                fprintf(f, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s % 3600 / 60);
}

/* The message, where the facts do not say it all already: the table's usual sentence of the
 * event says nothing more than its name; a prefix that repeats the event is left out. */
static const char *text_message(const corral_event *ev) {
        static const char *const plain[] = {
                "backend started",
                "backend ready",
                "stopping backend",
                "backend stopped",
                "backend finished",
                "backend exited unexpectedly",
                "backend killed by signal",
                "backend crashed (core dumped)",
                "backend killed by the OOM killer",
        };
        static const char *const prefixes[] = { "backend failed to start: ", "backend failed: ",
                                                "backend " };
        const char *m = ev->message;

        if (!m || !*m || ev->type == CORRAL_EVENT_RESTARTING)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                if (strcmp(m, plain[i]) == 0)
                        return NULL;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(m, prefixes[i], strlen(prefixes[i])) == 0)
                        return m + strlen(prefixes[i]);
        return m;
}

typedef struct text_parts {
        FILE *f;
        bool any;
} text_parts;

static FILE *part(text_parts *p) {
        fputs(p->any ? ", " : ": ", p->f);
        p->any = true;
        return p->f;
}

/* How the main process ended. */
static void text_how(text_parts *p, const corral_event *ev) {
        const char *sig = ev->signal > 0 ? signal_to_name(ev->signal) : NULL;

        switch (ev->how) {
        case CORRAL_HOW_EXITED:
                fprintf(part(p), "exit code %d", ev->exit_code);
                break;
        case CORRAL_HOW_KILLED:
                fprintf(part(p), "killed by %s", sig ?: "a signal");
                break;
        case CORRAL_HOW_DUMPED:
                fprintf(part(p), "%s, core dumped", sig ?: "signal");
                break;
        case CORRAL_HOW_UNKNOWN:
                fputs("exit status unknown", part(p));
                break;
        default:
                break;
        }
}

static void text_facts(text_parts *p, const corral_event *ev) {
        const char *m = text_message(ev);
        bool verdict = corral_event_is_verdict(ev->type);

        if (m)
                text_escaped(part(p), m);
        if (ev->type == CORRAL_EVENT_STARTED || ev->type == CORRAL_EVENT_ADOPTED)
                fprintf(part(p), "pid %d", (int) ev->pid);
        if (ev->type == CORRAL_EVENT_RESTARTING) {
                fprintf(part(p), "attempt %u in ", ev->attempt);
                text_duration(p->f, ev->restart_delay_usec);
        }
        if (verdict)
                text_how(p, ev);
        if ((verdict || ev->type == CORRAL_EVENT_STOPPING) && ev->intentional &&
            ev->stop_uid != (uid_t) -1) {
                fprintf(part(p), "asked by uid %u", (unsigned) ev->stop_uid);
                if (ev->stop_pid > 0)
                        fprintf(p->f, " (pid %d)", (int) ev->stop_pid);
        }
        if (evlog_is_reload(ev) && ev->reload_uid != (uid_t) -1) {
                fprintf(part(p), "asked by uid %u", (unsigned) ev->reload_uid);
                if (ev->reload_pid > 0)
                        fprintf(p->f, " (pid %d)", (int) ev->reload_pid);
        }
        if ((verdict || ev->type == CORRAL_EVENT_STOPPING) && ev->intentional && ev->cause) {
                fputs("because ", part(p));
                text_escaped(p->f, ev->cause);
        }
        if (verdict && ev->escalated)
                fputs("cgroup killed", part(p));
        if (verdict && ev->leftover > 0)
                fprintf(part(p), "%u other process(es) left", ev->leftover);
        if ((verdict && ev->how != CORRAL_HOW_NONE) || ev->type == CORRAL_EVENT_READY) {
                fputs("after ", part(p));
                text_duration(p->f, ev->runtime_usec);
        }
}

/* The stderr tail: each line on its own, indented. */
static void text_stderr(FILE *f, const char *tail) {
        while (tail && *tail) {
                const char *nl = strchr(tail, '\n');
                size_t n = nl ? (size_t) (nl - tail) : strlen(tail);
                char *line = strndup(tail, n);
                fputs("\n    ", f);
                text_escaped(f, line ?: "");
                free(line);
                tail += n + (nl ? 1 : 0);
        }
}

static const char *level_colour(corral_level l) {
        switch (l) {
        case CORRAL_LEVEL_DEBUG:
                return "\033[2m";
        case CORRAL_LEVEL_NOTICE:
                return "\033[1m";
        case CORRAL_LEVEL_WARNING:
                return "\033[1;33m";
        case CORRAL_LEVEL_ERROR:
                return "\033[1;31m";
        default:
                return NULL;
        }
}

static int evlog_format_human(const corral_event *ev, bool colour, char **ret) {
        const char *c = colour ? level_colour(ev->level) : NULL;
        time_t sec = (time_t) (ev->ts_usec / 1000000);
        text_parts p = {};
        size_t size = 0;
        char when[16];
        struct tm tm;

        p.f = open_memstream(ret, &size);
        if (!p.f)
                return -ENOMEM;
        (void) localtime_r(&sec, &tm);
        (void) strftime(when, sizeof(when), "%H:%M:%S", &tm);
        fprintf(p.f, "%s.%03u ", when, (unsigned) (ev->ts_usec / 1000 % 1000));
        text_escaped(p.f, ev->backend);
        fprintf(p.f, " %s%s (%s)%s", c ?: "", corral_event_type_to_string(ev->type) ?: "?",
                corral_level_to_string(ev->level) ?: "?", c ? "\033[0m" : "");
        text_facts(&p, ev);
        text_stderr(p.f, ev->stderr_tail);
        return fclose(p.f) == 0 ? 0 : -ENOMEM;
}

int evlog_format_from_string(const char *s, evlog_format *ret) {
        static const char *const names[] = { "text", "logfmt", "json" };

        for (size_t i = 0; s && i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (evlog_format) i;
                        return 0;
                }
        return -EINVAL;
}

bool evlog_colour_for(int fd) {
        const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

        return isatty(fd) && !(no && *no) && !(term && strcmp(term, "dumb") == 0);
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

int evlog_format_event_colour(const corral_event *ev, evlog_format fmt, bool colour, char **ret) {
        evlog_fields fl;

        if (fmt == EVLOG_FORMAT_TEXT)
                return evlog_format_human(ev, colour, ret);
        evlog_fields_fill(ev, &fl);
        return fmt == EVLOG_FORMAT_JSON ? evlog_format_json(&fl, ret) : evlog_format_logfmt(&fl, ret);
}

int evlog_format_event(const corral_event *ev, evlog_format fmt, char **ret) {
        return evlog_format_event_colour(ev, fmt, false, ret);
}

static int enum_from_string(const char *s, const char *(*name)(int), int n, int *ret) {
        for (int i = 0; s && i < n; i++)
                if (name(i) && strcmp(s, name(i)) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

static const char *event_name(int i) {
        return corral_event_type_to_string((corral_event_type) i);
}
static const char *level_name(int i) {
        return corral_level_to_string((corral_level) i);
}
static const char *how_name(int i) {
        return corral_how_to_string((corral_how) i);
}
static const char *health_name(int i) {
        return corral_health_to_string((corral_health) i);
}

/* RFC 3339 in UTC, as format_ts() writes it. */
static uint64_t ts_from_string(const char *s) {
        struct tm tm = {};
        unsigned long us = 0;
        const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

        if (!rest)
                return 0;
        if (*rest == '.')
                us = strtoul(rest + 1, NULL, 10);
        return (uint64_t) timegm(&tm) * 1000000 + us;
}

static json_int_t jint(json_t *o, const char *key, json_int_t dflt) {
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int evlog_event_from_json(json_t *o, corral_event *ret) {
        const char *sig = json_string_value(json_object_get(o, "signal"));
        const char *kill_sig = json_string_value(json_object_get(o, "kill_signal"));
        int type, level, how = CORRAL_HOW_NONE, health = CORRAL_HEALTH_UNKNOWN;

        if (enum_from_string(json_string_value(json_object_get(o, "event")), event_name, _CORRAL_EVENT_MAX,
                             &type) < 0 ||
            enum_from_string(json_string_value(json_object_get(o, "level")), level_name,
                             CORRAL_LEVEL_ERROR + 1, &level) < 0 ||
            !json_is_string(json_object_get(o, "backend")))
                return -EINVAL;
        (void) enum_from_string(json_string_value(json_object_get(o, "how")), how_name,
                                CORRAL_HOW_UNKNOWN + 1, &how);
        (void) enum_from_string(json_string_value(json_object_get(o, "health")), health_name,
                                CORRAL_HEALTH_UNHEALTHY + 1, &health);
        *ret = (corral_event){
                .type = type,
                .level = level,
                .ts_usec = ts_from_string(json_string_value(json_object_get(o, "ts"))),
                .backend = json_string_value(json_object_get(o, "backend")),
                .launch = json_string_value(json_object_get(o, "launch")),
                .pid = (pid_t) jint(o, "pid", 0),
                .cgroup = json_string_value(json_object_get(o, "cgroup")),
                .intentional = json_is_true(json_object_get(o, "intentional")),
                .stop_uid = (uid_t) jint(o, "stop_uid", -1),
                .stop_pid = (pid_t) jint(o, "stop_pid", 0),
                .cause = json_string_value(json_object_get(o, "cause")),
                .how = how,
                .exit_code = (int) jint(o, "exit_code", -1),
                .signal = sig ? parse_signal(sig) : 0,
                .core_dumped = json_is_true(json_object_get(o, "core_dumped")),
                .escalated = json_is_true(json_object_get(o, "escalated")),
                .oom_killed = json_is_true(json_object_get(o, "oom_killed")),
                .leftover = (unsigned) jint(o, "leftover", 0),
                .runtime_usec = (uint64_t) jint(o, "runtime_ms", 0) * 1000,
                .attempt = (unsigned) jint(o, "attempt", 0),
                .restart_delay_usec = (uint64_t) jint(o, "restart_delay_ms", 0) * 1000,
                .message = json_string_value(json_object_get(o, "message")) ?: "",
                .stderr_tail = json_string_value(json_object_get(o, "stderr")),
                .kill_signal = kill_sig ? parse_signal(kill_sig) : 0,
                .kill_uid = (uid_t) jint(o, "kill_uid", -1),
                .kill_pid = (pid_t) jint(o, "kill_pid", 0),
                .reload_uid = (uid_t) jint(o, "reload_uid", -1),
                .reload_pid = (pid_t) jint(o, "reload_pid", 0),
                .health = health,
        };
        if (ret->signal < 0)
                ret->signal = 0;
        if (ret->kill_signal < 0)
                ret->kill_signal = 0;
        return 0;
}

int evlog_journal_fields(const corral_event *ev, char (*bufs)[EVLOG_JOURNAL_FIELD_MAX], size_t max) {
        evlog_fields fl;
        size_t n = 0;

        if (max < EVLOG_JOURNAL_FIELDS)
                return -ENOBUFS;
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
        return (int) n;
}

bool evlog_fd_is_journal(int fd) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}
