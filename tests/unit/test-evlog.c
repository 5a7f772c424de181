/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-evlog.c: the text and JSON forms of an event carry the same fields, with the right types. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "evlog.h"

static const char *const fields[] = { "ts",       "level",       "event",     "backend",
                                      "launch",   "pid",         "cgroup",    "intentional",
                                      "stop_uid", "stop_pid",    "how",       "exit_code",
                                      "signal",   "core_dumped", "escalated", "oom_killed",
                                      "leftover", "runtime_ms",  "attempt",   "restart_delay_ms",
                                      "message",  "stderr",      "cause" };

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

static void test_text_is_logfmt_with_every_field(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &s), 0);
        assert_string_equal(
                s,
                "ts=2026-11-29T02:48:27.123456Z level=info event=stopped backend=db "
                "launch=0123456789ab pid=4242 cgroup=/corral/db.0123456789ab intentional=true stop_uid=0 "
                "stop_pid=1234 "
                "how=killed exit_code= signal=SIGTERM core_dumped=false escalated=false "
                "oom_killed=false leftover=0 runtime_ms=1234 attempt= restart_delay_ms= message=\"backend "
                "stopped\" stderr= cause=");
        free(s);
}

/* A stop asked for because of another backend says so; the cause of no stop is never shown. */
static void test_cause(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        ev.cause = "redis stopped";
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &s), 0);
        assert_non_null(strstr(s, " cause=\"redis stopped\""));
        free(s);
        ev.intentional = false;
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_JSON, &s), 0);
        assert_non_null(strstr(s, "\"cause\":null"));
        free(s);
}

static void test_text_quotes_and_escapes(void **state) {
        corral_event ev = stopped();
        char *s = NULL;

        ev.message = "say \"hi\"\nnew=line\\";
        assert_int_equal(evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &s), 0);
        assert_non_null(strstr(s, "message=\"say \\\"hi\\\"\\nnew=line\\\\\""));
        assert_null(strchr(s, '\n'));
        free(s);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_fields_and_types),
                cmocka_unit_test(test_json_exit_code_and_nulls),
                cmocka_unit_test(test_text_is_logfmt_with_every_field),
                cmocka_unit_test(test_text_quotes_and_escapes),
                cmocka_unit_test(test_cause),
                cmocka_unit_test(test_priorities_and_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
