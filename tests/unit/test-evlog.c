/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-evlog.c: the text and JSON forms of an event carry the same fields, with the right types. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "evlog.h"

static const char *const fields[] = { "ts",          "level",
                                      "event",       "backend",
                                      "launch",      "pid",
                                      "cgroup",      "intentional",
                                      "stop_uid",    "stop_pid",
                                      "kill_signal", "kill_uid",
                                      "kill_pid",    "reload_uid",
                                      "reload_pid",  "health",
                                      "how",         "exit_code",
                                      "signal",      "core_dumped",
                                      "escalated",   "oom_killed",
                                      "leftover",    "runtime_ms",
                                      "attempt",     "restart_delay_ms",
                                      "message",     "stderr",
                                      "cause" };

static corral_event stopped(void) {
        return (corral_event){ .type = CORRAL_EVENT_STOPPED,
                               .level = CORRAL_LEVEL_INFO,
                               .ts_usec = 1795920507123456ULL,
                               .backend = "db",
                               .launch = "0123456789ab",
                               .pid = 4242,
                               .cgroup = "/corral/db.0123456789ab",
                               .intentional = true,
                               .stop_uid = 0,
                               .stop_pid = 1234,
                               .how = CORRAL_HOW_KILLED,
                               .exit_code = -1,
                               .signal = SIGTERM,
                               .runtime_usec = 1234567,
                               .message = "backend stopped" };
}

static void test_json_fields_and_types(void **state) {
        corral_event ev = stopped();
        char *s = NULL;
        json_error_t err;
        json_t *o;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        o = json_loads(s, 0, &err);
        assert_non_null(o);
        assert_int_equal(json_object_size(o), sizeof(fields) / sizeof(fields[0]));
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                assert_non_null(json_object_get(o, fields[i]));
        assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-29T02:48:27.123456Z");
        assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
        assert_string_equal(json_string_value(json_object_get(o, "event")), "stopped");
        assert_int_equal(json_integer_value(json_object_get(o, "pid")), 4242);
        assert_true(json_is_true(json_object_get(o, "intentional")));
        assert_int_equal(json_integer_value(json_object_get(o, "stop_uid")), 0);
        assert_int_equal(json_integer_value(json_object_get(o, "stop_pid")), 1234);
        assert_string_equal(json_string_value(json_object_get(o, "how")), "killed");
        assert_true(json_is_null(json_object_get(o, "exit_code")));
        assert_string_equal(json_string_value(json_object_get(o, "signal")), "SIGTERM");
        assert_true(json_is_false(json_object_get(o, "core_dumped")));
        assert_int_equal(json_integer_value(json_object_get(o, "leftover")), 0);
        assert_int_equal(json_integer_value(json_object_get(o, "runtime_ms")), 1234);
        assert_null(strchr(s, '\n'));
        json_decref(o);
        free(s);
}

static void test_json_exit_code_and_nulls(void **state) {
        corral_event ev = { .type = CORRAL_EVENT_EXITED,
                            .level = CORRAL_LEVEL_WARNING,
                            .backend = "x",
                            .how = CORRAL_HOW_EXITED,
                            .exit_code = 0,
                            .message = "m" };
        char *s = NULL;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"exit_code\":0,"));
        assert_non_null(strstr(s, "\"signal\":null"));
        assert_non_null(strstr(s, "\"pid\":null"));
        assert_non_null(strstr(s, "\"stop_uid\":null,\"stop_pid\":null"));
        assert_non_null(strstr(s, "\"launch\":null"));
        free(s);
}

static void test_logfmt_leaves_out_nulls(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_string_equal(s,
                            "ts=2026-11-29T02:48:27.123456Z level=info event=stopped backend=db "
                            "launch=0123456789ab pid=4242 cgroup=/corral/db.0123456789ab intentional=true "
                            "stop_uid=0 stop_pid=1234 how=killed signal=SIGTERM core_dumped=false "
                            "escalated=false oom_killed=false leftover=0 runtime_ms=1234 "
                            "message=\"backend stopped\"");
        free(s);
}

/* A stop asked for because of another backend says so; the cause of no stop is never shown. */
static void test_cause(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        ev.cause = "redis stopped";
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_non_null(strstr(s, " cause=\"redis stopped\""));
        free(s);
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &s), 0);
        assert_non_null(strstr(s, "because redis stopped"));
        free(s);
        ev.intentional = false;
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"cause\":null"));
        free(s);
}

/* A death by the signal of a Kill names it and who asked; the library's own Kill has no uid. */
static void test_kill_fields(void **state) {
        corral_event ev = { .type = CORRAL_EVENT_KILLED,
                            .level = CORRAL_LEVEL_WARNING,
                            .backend = "x",
                            .how = CORRAL_HOW_KILLED,
                            .signal = SIGUSR1,
                            .kill_signal = SIGUSR1,
                            .kill_uid = 1000,
                            .kill_pid = 4242,
                            .message = "m" };
        char *s = NULL;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"kill_signal\":\"SIGUSR1\",\"kill_uid\":1000,\"kill_pid\":4242"));
        free(s);
        ev.kill_uid = (uid_t) -1;
        ev.kill_pid = 0;
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_non_null(strstr(s, " kill_signal=SIGUSR1 "));
        assert_null(strstr(s, "kill_uid")); /* null: left out */
        free(s);
        ev.kill_signal = 0;
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"kill_signal\":null,\"kill_uid\":null,\"kill_pid\":null"));
        free(s);
}

static void test_text_quotes_and_escapes(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        ev.message = "say \"hi\"\nnew=line\\";
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_non_null(strstr(s, "message=\"say \\\"hi\\\"\\nnew=line\\\\\""));
        assert_null(strchr(s, '\n'));
        free(s);
}

/* The text a person reads: the exact line of every event type. */
static corral_event base(corral_event_type t, corral_level l, const char *message) {
        return (corral_event){ .type = t,
                               .level = l,
                               .ts_usec = 1795920507123456ULL,
                               .backend = "model-server",
                               .launch = "0123456789ab",
                               .pid = 2301,
                               .cgroup = "/corral/model-server.0123456789ab",
                               .stop_uid = (uid_t) -1,
                               .reload_uid = (uid_t) -1,
                               .exit_code = -1,
                               .message = message };
}

static corral_event reload_by(corral_event_type t, corral_level l, const char *message, uid_t uid,
                              pid_t pid) {
        corral_event ev = base(t, l, message);

        ev.reload_uid = uid;
        ev.reload_pid = pid;
        return ev;
}

static corral_event health(corral_event ev, corral_health h) {
        ev.health = h;
        return ev;
}

static corral_event ended(corral_event_type t, corral_level l, const char *message, corral_how how, int code,
                          uint64_t runtime_usec) {
        corral_event ev = base(t, l, message);

        ev.how = how;
        if (how == CORRAL_HOW_EXITED)
                ev.exit_code = code;
        else
                ev.signal = code;
        ev.core_dumped = how == CORRAL_HOW_DUMPED;
        ev.runtime_usec = runtime_usec;
        return ev;
}

/* A reload's end names who asked for it (the library's own reload: nobody); health and unhealthy
 * carry the health as a field, in every form. */
static void test_reload_and_health_fields(void **state) {
        corral_event ev =
                reload_by(CORRAL_EVENT_RELOADED, CORRAL_LEVEL_INFO, "backend reloaded (x)", 1000, 4242);
        char *s = NULL, bufs[EVLOG_JOURNAL_FIELDS][EVLOG_JOURNAL_FIELD_MAX];
        int n;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(
                strstr(s, "\"kill_pid\":null,\"reload_uid\":1000,\"reload_pid\":4242,\"health\":null"));
        free(s);
        ev.reload_uid = (uid_t) -1;
        ev.reload_pid = 0;
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_null(strstr(s, "reload_uid")); /* null: left out */
        free(s);
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &s), 0);
        assert_null(strstr(s, "asked by"));
        free(s);
        ev = health(base(CORRAL_EVENT_HEALTH, CORRAL_LEVEL_INFO, "backend healthy"), CORRAL_HEALTH_HEALTHY);
        ev.reload_uid = 0; /* only a reload's end says who asked for it */
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"reload_uid\":null,\"reload_pid\":null,\"health\":\"healthy\""));
        free(s);
        ev = health(base(CORRAL_EVENT_UNHEALTHY, CORRAL_LEVEL_WARNING, "backend unhealthy"),
                    CORRAL_HEALTH_UNHEALTHY);
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_non_null(strstr(s, " health=unhealthy "));
        free(s);
        n = evlog_journal_fields(&ev, bufs, EVLOG_JOURNAL_FIELDS);
        assert_true(n > 0);
        bool found = false;
        for (int i = 0; i < n; i++)
                found = found || strcmp(bufs[i], "CORRAL_HEALTH=unhealthy") == 0;
        assert_true(found);
}

static void assert_text(const corral_event *ev, const char *want) {
        char *s = NULL;

        assert_int_equal(evlog_format_event(ev, EVLOG_FORMAT_TEXT, &s), 0);
        if (strcmp(s, want) != 0)
                fail_msg("got  '%s'\nwant '%s'", s, want);
        free(s);
}

static void test_text_line_of_every_event(void **state) {
        corral_event ev;
        unsigned seen = 0;

#define T(e, line)                                                                                          \
        do {                                                                                                \
                corral_event _e = (e);                                                                      \
                assert_text(&_e, line);                                                                     \
                seen |= 1u << _e.type;                                                                      \
        } while (0)
        T(base(CORRAL_EVENT_STARTED, CORRAL_LEVEL_INFO, "backend started"),
          "02:48:27.123 model-server started (info): pid 2301");
        ev = base(CORRAL_EVENT_READY, CORRAL_LEVEL_INFO, "backend ready");
        ev.runtime_usec = 1840000;
        T(ev, "02:48:27.123 model-server ready (info): after 1840 ms");
        ev = base(CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "stopping backend");
        ev.intentional = true;
        T(ev, "02:48:27.123 model-server stopping (info)");
        ev.stop_uid = 1000;
        ev.stop_pid = 77;
        T(ev, "02:48:27.123 model-server stopping (info): asked by uid 1000 (pid 77)");
        T(base(CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "backend is stopping on its own (STOPPING=1)"),
          "02:48:27.123 model-server stopping (info): is stopping on its own (STOPPING=1)");
        ev = ended(CORRAL_EVENT_STOPPED, CORRAL_LEVEL_INFO, "backend stopped", CORRAL_HOW_KILLED, SIGTERM,
                   498000);
        ev.intentional = true;
        ev.stop_uid = 0;
        ev.stop_pid = 2271;
        T(ev,
          "02:48:27.123 model-server stopped (info): killed by SIGTERM, asked by uid 0 (pid 2271), "
          "after 498 ms");
        ev.level = CORRAL_LEVEL_NOTICE;
        ev.escalated = true;
        ev.leftover = 2;
        ev.how = CORRAL_HOW_KILLED;
        ev.signal = SIGKILL;
        ev.runtime_usec = 15002000;
        T(ev,
          "02:48:27.123 model-server stopped (notice): killed by SIGKILL, asked by uid 0 (pid 2271), "
          "cgroup killed, 2 other process(es) left, after 15.0 s");
        T(ended(CORRAL_EVENT_FINISHED, CORRAL_LEVEL_INFO, "backend finished", CORRAL_HOW_EXITED, 0,
                125000000),
          "02:48:27.123 model-server finished (info): exit code 0, after 2 min 5 s");
        ev = ended(CORRAL_EVENT_EXITED, CORRAL_LEVEL_WARNING, "backend exited unexpectedly",
                   CORRAL_HOW_EXITED, 3, 7322000000ULL);
        ev.stderr_tail = "loading weights\nout of \033[31mmemory\r\n";
        T(ev,
          "02:48:27.123 model-server exited (warning): exit code 3, after 2 h 2 min\n"
          "    loading weights\n"
          "    out of \\x1b[31mmemory\\x0d");
        T(ended(CORRAL_EVENT_KILLED, CORRAL_LEVEL_WARNING, "backend killed by signal", CORRAL_HOW_KILLED,
                SIGKILL, 20000),
          "02:48:27.123 model-server killed (warning): killed by SIGKILL, after 20 ms");
        T(ended(CORRAL_EVENT_CRASHED, CORRAL_LEVEL_WARNING, "backend crashed (core dumped)",
                CORRAL_HOW_DUMPED, SIGSEGV, 204000),
          "02:48:27.123 model-server crashed (warning): SIGSEGV, core dumped, after 204 ms");
        ev = ended(CORRAL_EVENT_OOM_KILLED, CORRAL_LEVEL_WARNING, "backend killed by the OOM killer",
                   CORRAL_HOW_KILLED, SIGKILL, 3100000);
        ev.oom_killed = true;
        T(ev, "02:48:27.123 model-server oom-killed (warning): killed by SIGKILL, after 3100 ms");
        ev = base(CORRAL_EVENT_START_FAILED, CORRAL_LEVEL_ERROR,
                  "backend failed to start: /usr/bin/llama-server: No such file or directory");
        ev.pid = 0;
        T(ev,
          "02:48:27.123 model-server start-failed (error): /usr/bin/llama-server: No such file or "
          "directory");
        ev = base(CORRAL_EVENT_RESTARTING, CORRAL_LEVEL_INFO, "restarting backend (attempt 2)");
        ev.attempt = 2;
        ev.restart_delay_usec = 200000;
        T(ev, "02:48:27.123 model-server restarting (info): attempt 2 in 200 ms");
        T(base(CORRAL_EVENT_FAILED, CORRAL_LEVEL_ERROR, "backend failed: 5 restarts within 60 s"),
          "02:48:27.123 model-server failed (error): 5 restarts within 60 s");
        T(ended(CORRAL_EVENT_WATCHDOG, CORRAL_LEVEL_WARNING, "backend missed its watchdog (120 ms)",
                CORRAL_HOW_KILLED, SIGKILL, 650000),
          "02:48:27.123 model-server watchdog (warning): missed its watchdog (120 ms), killed by SIGKILL, "
          "after 650 ms");
        T(base(CORRAL_EVENT_OOM, CORRAL_LEVEL_WARNING,
               "the OOM killer killed 1 process(es) of the backend; its main process lives on"),
          "02:48:27.123 model-server oom (warning): the OOM killer killed 1 process(es) of the backend; its "
          "main process lives on");
        T(base(CORRAL_EVENT_ADOPTED, CORRAL_LEVEL_INFO, "backend taken back: supervised again"),
          "02:48:27.123 model-server adopted (info): taken back: supervised again, pid 2301");
        T(reload_by(CORRAL_EVENT_RELOADED, CORRAL_LEVEL_INFO,
                    "backend reloaded (SIGHUP delivered to its main process)", 0, 2271),
          "02:48:27.123 model-server reloaded (info): reloaded (SIGHUP delivered to its main process), "
          "asked "
          "by uid 0 (pid 2271)");
        T(reload_by(CORRAL_EVENT_RELOAD_FAILED, CORRAL_LEVEL_WARNING,
                    "reload failed: ExecReload=/usr/sbin/nginx -s reload: exited with status 1", 1000, 77),
          "02:48:27.123 model-server reload-failed (warning): reload failed: ExecReload=/usr/sbin/nginx -s "
          "reload: exited with status 1, asked by uid 1000 (pid 77)");
        T(health(ended(CORRAL_EVENT_UNHEALTHY, CORRAL_LEVEL_WARNING,
                       "backend unhealthy: 3 health checks failed in a row (last: HTTP 503)",
                       CORRAL_HOW_KILLED, SIGKILL, 650000),
                 CORRAL_HEALTH_UNHEALTHY),
          "02:48:27.123 model-server unhealthy (warning): unhealthy: 3 health checks failed in a row (last: "
          "HTTP "
          "503), killed by SIGKILL, after 650 ms");
        T(health(base(CORRAL_EVENT_HEALTH, CORRAL_LEVEL_WARNING,
                      "health check failed (1 of 3 in a row): HTTP 503"),
                 CORRAL_HEALTH_UNHEALTHY),
          "02:48:27.123 model-server health (warning): health check failed (1 of 3 in a row): HTTP 503");
#undef T
        assert_int_equal(seen, (1u << _CORRAL_EVENT_MAX) - 1); /* every type has its line here */
}

static void test_text_colour_and_logfmt(void **state) {
        corral_event ev = ended(CORRAL_EVENT_KILLED, CORRAL_LEVEL_WARNING, "backend killed by signal",
                                CORRAL_HOW_KILLED, SIGKILL, 20000);
        char *s = NULL;

        assert_int_equal(evlog_format_event_colour(&ev, EVLOG_FORMAT_TEXT, true, &s), 0);
        assert_string_equal(
                s,
                "02:48:27.123 model-server \033[1;33mkilled (warning)\033[0m: killed by SIGKILL, "
                "after 20 ms");
        free(s);
        ev.level = CORRAL_LEVEL_INFO; /* info is not coloured */
        assert_int_equal(evlog_format_event_colour(&ev, EVLOG_FORMAT_TEXT, true, &s), 0);
        assert_null(strchr(s, '\033'));
        free(s);
        /* logfmt leaves out what is null. */
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_LOGFMT, &s), 0);
        assert_string_equal(
                s,
                "ts=2026-11-29T02:48:27.123456Z level=info event=killed backend=model-server "
                "launch=0123456789ab pid=2301 cgroup=/corral/model-server.0123456789ab "
                "intentional=false how=killed signal=SIGKILL core_dumped=false escalated=false "
                "oom_killed=false leftover=0 runtime_ms=20 message=\"backend killed by signal\"");
        free(s);
        setenv("NO_COLOR", "1", 1);
        assert_false(evlog_colour_for(STDERR_FILENO));
        unsetenv("NO_COLOR");
}

/* corral watch gets events as JSON: read back, they make the same line. */
static void test_text_from_json(void **state) {
        corral_event ev = ended(CORRAL_EVENT_STOPPED, CORRAL_LEVEL_INFO, "backend stopped",
                                CORRAL_HOW_KILLED, SIGTERM, 498000),
                     back;
        char *a = NULL, *b = NULL;
        json_t *j;

        ev.intentional = true;
        ev.stop_uid = 0;
        ev.stop_pid = 2271;
        ev.stderr_tail = "x\ny";
        j = evlog_event_to_json(&ev);
        assert_int_equal(evlog_event_from_json(j, &back), 0);
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &a), 0);
        assert_int_equal(evlog_format_event(&back, EVLOG_FORMAT_TEXT, &b), 0);
        assert_string_equal(a, b);
        free(a);
        free(b);
        json_object_set_new(j, "event", json_string("from-the-future"));
        assert_int_equal(evlog_event_from_json(j, &back), -EINVAL);
        json_decref(j);

        /* and every fact the line shows: a cause, who asked for a reload, a Kill, the health */
        ev.cause = "redis killed";
        j = evlog_event_to_json(&ev);
        assert_int_equal(evlog_event_from_json(j, &back), 0);
        assert_string_equal(back.cause, "redis killed");
        json_decref(j);
        ev = health(reload_by(CORRAL_EVENT_RELOADED, CORRAL_LEVEL_INFO, "backend reloaded (x)", 1000, 77),
                    CORRAL_HEALTH_HEALTHY);
        ev.kill_signal = SIGUSR1;
        ev.kill_uid = 0;
        ev.kill_pid = 9;
        j = evlog_event_to_json(&ev);
        assert_int_equal(evlog_event_from_json(j, &back), 0);
        assert_int_equal(back.reload_uid, 1000);
        assert_int_equal(back.reload_pid, 77);
        assert_int_equal(back.health, CORRAL_HEALTH_HEALTHY);
        assert_int_equal(back.kill_signal, SIGUSR1);
        assert_int_equal(back.kill_uid, 0);
        assert_int_equal(back.kill_pid, 9);
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &a), 0);
        assert_int_equal(evlog_format_event(&back, EVLOG_FORMAT_TEXT, &b), 0);
        assert_string_equal(a, b);
        free(a);
        free(b);
        json_decref(j);
}

static void test_priorities_and_ids(void **state) {
        assert_int_equal(evlog_priority(CORRAL_LEVEL_INFO), 6);
        assert_int_equal(evlog_priority(CORRAL_LEVEL_NOTICE), 5);
        assert_int_equal(evlog_priority(CORRAL_LEVEL_WARNING), 4);
        assert_int_equal(evlog_priority(CORRAL_LEVEL_ERROR), 3);
        for (int i = 0; i < _CORRAL_EVENT_MAX; i++) {
                assert_int_equal(strlen(evlog_message_id(i)), 32);
                assert_non_null(corral_event_type_to_string(i));
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(evlog_message_id(i), evlog_message_id(j));
        }
        assert_null(evlog_message_id(_CORRAL_EVENT_MAX));
        assert_true(corral_event_is_verdict(CORRAL_EVENT_STOPPED));
        assert_true(corral_event_is_verdict(CORRAL_EVENT_WATCHDOG));
        assert_true(corral_event_is_verdict(CORRAL_EVENT_START_FAILED));
        assert_false(corral_event_is_verdict(CORRAL_EVENT_STARTED));
        assert_false(corral_event_is_verdict(CORRAL_EVENT_RESTARTING));
        assert_false(corral_event_is_verdict(_CORRAL_EVENT_MAX));
        assert_null(corral_event_type_to_string(_CORRAL_EVENT_MAX));
}

/* docs/events.md's journal table: a row "| <event> | <MESSAGE_ID> |" for each event type, the id
 * the journal writer sends, and no other row. */
static void test_message_ids_documented(void **state) {
        const char *root = getenv("CORRAL_SOURCE_ROOT");
        char path[4096], line[256], want[128];
        bool in_table = false, seen[_CORRAL_EVENT_MAX] = { false };
        unsigned rows = 0;
        FILE *f;

        if (!root)
                fail_msg("CORRAL_SOURCE_ROOT is not set (meson test sets it)");
        snprintf(path, sizeof(path), "%s/docs/events.md", root);
        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot read %s", path);
        while (fgets(line, sizeof(line), f)) {
                if (strcmp(line, "| event | MESSAGE_ID |\n") == 0) {
                        in_table = true;
                        continue;
                }
                if (!in_table || strncmp(line, "|---", 4) == 0)
                        continue;
                if (line[0] != '|')
                        break;
                rows++;
                for (int i = 0; i < _CORRAL_EVENT_MAX; i++) {
                        snprintf(want, sizeof(want), "| %s | %s |\n", corral_event_type_to_string(i),
                                 evlog_message_id(i));
                        if (strcmp(line, want) == 0)
                                seen[i] = true;
                }
        }
        fclose(f);
        assert_true(in_table);
        for (int i = 0; i < _CORRAL_EVENT_MAX; i++)
                if (!seen[i])
                        fail_msg("docs/events.md has no row '| %s | %s |'", corral_event_type_to_string(i),
                                 evlog_message_id(i));
        assert_int_equal(rows, _CORRAL_EVENT_MAX);
}

int main(void) {
        setenv("TZ", "UTC", 1); /* the text line's time is local time */
        tzset();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_fields_and_types),
                cmocka_unit_test(test_json_exit_code_and_nulls),
                cmocka_unit_test(test_logfmt_leaves_out_nulls),
                cmocka_unit_test(test_text_line_of_every_event),
                cmocka_unit_test(test_text_colour_and_logfmt),
                cmocka_unit_test(test_text_from_json),
                cmocka_unit_test(test_text_quotes_and_escapes),
                cmocka_unit_test(test_cause),
                cmocka_unit_test(test_kill_fields),
                cmocka_unit_test(test_reload_and_health_fields),
                cmocka_unit_test(test_priorities_and_ids),
                cmocka_unit_test(test_message_ids_documented),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
