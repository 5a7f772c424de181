/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-spec-json.c: a spec kept on a leaf as JSON comes back the same, field for field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "corral.h"
#include "spec-json.h"

static char *dump(const corral_spec *s) {
        json_t *j = NULL;
        char *t;

        assert_int_equal(spec_to_json(s, &j), 0);
        t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(j);
        assert_non_null(t);
        return t;
}

static void test_every_field_round_trips(void **state) {
        char *argv[] = { "/usr/bin/model", "--port", "8080", NULL }, *env[] = { "A=1", "B=two words", NULL };
        corral_spec *s = NULL, *back = NULL;
        json_t *j = NULL;

        (void) state;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "model@gpu0"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_add_environment(s, env), 0);
        assert_int_equal(corral_spec_set_working_directory(s, "/srv"), 0);
        assert_int_equal(corral_spec_set_user(s, "nobody"), 0);
        assert_int_equal(corral_spec_set_group(s, "nogroup"), 0);
        assert_int_equal(corral_spec_set_umask(s, 027), 0);
        assert_int_equal(corral_spec_set_no_new_privileges(s, true), 0);
        assert_int_equal(corral_spec_set_rlimit(s, RLIMIT_NOFILE, 1024, 4096), 0);
        assert_int_equal(corral_spec_set_rlimit(s, RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spec_set_stop_signal(s, 2), 0);
        assert_int_equal(corral_spec_set_grace(s, 3000000), 0);
        assert_int_equal(corral_spec_set_restart(s, CORRAL_RESTART_ALWAYS, 200000, 3, 60000000, 5000000), 0);
        assert_int_equal(corral_spec_set_restart_limit(s, 7, 120000000), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "::1", 8080, 45000000), 0);
        assert_int_equal(corral_spec_set_watchdog(s, 20000000), 0);
        assert_int_equal(corral_spec_set_memory_max(s, 512ULL << 20), 0);
        assert_int_equal(corral_spec_set_pids_max(s, 64), 0);
        assert_int_equal(corral_spec_set_cpu_max(s, 150000, 100000), 0);
        assert_int_equal(corral_spec_set_cpu_weight(s, 300), 0);
        assert_int_equal(corral_spec_set_log_buffer(s, 65536), 0);
        assert_int_equal(corral_spec_set_log_file(s, "/var/log/model.log", 1 << 20), 0);
        assert_int_equal(corral_spec_set_log_journal(s, false), 0);

        char *first = dump(s);
        j = json_loads(first, 0, NULL);
        assert_int_equal(spec_from_json(j, &back), 0);
        json_decref(j);
        char *second = dump(back);
        assert_string_equal(first, second);
        assert_non_null(strstr(first, "\"host\":\"::1\""));
        assert_non_null(strstr(first, "\"memoryMax\":536870912"));
        free(first);
        free(second);
        corral_spec_free(s);
        corral_spec_free(back);
}

static void test_defaults_round_trip_and_no_limit_is_minus_one(void **state) {
        char *argv[] = { "sleep", "1", NULL };
        corral_spec *s = NULL, *back = NULL;
        json_t *j = NULL;

        (void) state;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "x"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        char *first = dump(s);
        assert_non_null(strstr(first, "\"memoryMax\":-1"));
        assert_non_null(strstr(first, "\"env\":null"));
        j = json_loads(first, 0, NULL);
        assert_int_equal(spec_from_json(j, &back), 0);
        json_decref(j);
        char *second = dump(back);
        assert_string_equal(first, second);
        free(first);
        free(second);
        corral_spec_free(s);
        corral_spec_free(back);
}

static void test_bad_json_is_refused(void **state) {
        const char *bad[] = { "[]",
                              "{}",
                              "{\"name\":\"x\"}",
                              "{\"name\":\"../x\",\"argv\":[\"a\"]}",
                              "{\"name\":\"x\",\"argv\":[1]}",
                              "{\"name\":\"x\",\"argv\":[\"a\"],\"grace\":\"soon\"}",
                              "{\"name\":\"x\",\"argv\":[\"a\"],\"cwd\":\"relative\"}" };
        corral_spec *s = NULL;

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *j = json_loads(bad[i], 0, NULL);
                if (spec_from_json(j, &s) >= 0)
                        fail_msg("accepted %s", bad[i]);
                json_decref(j);
        }
        assert_true(spec_from_json(NULL, &s) < 0);
}

/* A spec with no name yet (one being built) compares as any other: equal to its copy, and not to
 * one that differs. It cannot be kept (a record needs its name). */
static void test_unnamed_specs_compare(void **state) {
        corral_spec *a = NULL, *b = NULL;
        json_t *j = NULL;

        (void) state;
        assert_int_equal(corral_spec_new(&a), 0);
        assert_int_equal(corral_spec_new(&b), 0);
        assert_true(corral_spec_equal(a, b));
        assert_int_equal(corral_spec_set_grace(b, 1), 0);
        assert_false(corral_spec_equal(a, b));
        assert_int_equal(spec_to_json(a, &j), 0);
        corral_spec_free(b);
        b = NULL;
        assert_int_equal(spec_from_json(j, &b), -EINVAL);
        json_decref(j);
        corral_spec_free(a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_field_round_trips),
                cmocka_unit_test(test_defaults_round_trip_and_no_limit_is_minus_one),
                cmocka_unit_test(test_bad_json_is_refused),
                cmocka_unit_test(test_unnamed_specs_compare),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
