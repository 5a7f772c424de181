/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-spec.c: the setters that change one value of a spec: the same spec whatever their order,
 * and the same as the setters of several values at once that they replace. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corral.h"

static corral_spec *new_spec(void) {
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        return s;
}

/* corral_spec_set_restart() is the four one-value setters and the factor. */
static void test_restart_at_once_is_one_by_one(void **state) {
        corral_spec *a = new_spec(), *b = new_spec();

        (void) state;
        assert_int_equal(corral_spec_set_restart(a, CORRAL_RESTART_ALWAYS, 250000, 2, 60000000, 30000000),
                         0);
        assert_int_equal(corral_spec_set_restart_reset(b, 30000000), 0);
        assert_int_equal(corral_spec_set_restart_max_delay(b, 60000000), 0);
        assert_int_equal(corral_spec_set_restart_delay(b, 250000), 0);
        assert_false(corral_spec_equal(a, b));
        assert_int_equal(corral_spec_set_restart_policy(b, CORRAL_RESTART_ALWAYS), 0);
        assert_true(corral_spec_equal(a, b));
        assert_int_equal(corral_spec_get_restart(b), CORRAL_RESTART_ALWAYS);

        /* the old setter still refuses a max below the first delay, and changes nothing then */
        assert_int_equal(corral_spec_set_restart(a, CORRAL_RESTART_NO, 2000000, 2, 1000000, 0), -EINVAL);
        assert_true(corral_spec_equal(a, b));
        /* one value at a time, a max below the first delay is allowed: every delay is the max */
        assert_int_equal(corral_spec_set_restart_delay(b, 600000000), 0);
        assert_int_equal(corral_spec_set_restart_policy(b, (corral_restart) 7), -EINVAL);

        assert_int_equal(corral_spec_set_restart_limit(a, 7, 120000000), 0);
        assert_int_equal(corral_spec_set_restart_limit_interval(b, 120000000), 0);
        assert_int_equal(corral_spec_set_restart_limit_burst(b, 7), 0);
        assert_int_equal(corral_spec_set_restart_delay(b, 250000), 0);
        assert_true(corral_spec_equal(a, b));
        assert_int_equal(corral_spec_set_restart_limit_burst(b, 65), -ERANGE);
        assert_int_equal(corral_spec_set_restart_limit(b, 65, 0), -ERANGE);
        corral_spec_free(a);
        corral_spec_free(b);
}

/* corral_spec_set_ready_string() is corral_spec_set_readiness() and the start timeout. */
static void test_ready_at_once_is_one_by_one(void **state) {
        corral_spec *a = new_spec(), *b = new_spec(), *c = new_spec();

        (void) state;
        assert_int_equal(corral_spec_set_ready_string(a, "tcp:[::1]:8080", 5000000), 0);
        assert_int_equal(corral_spec_set_start_timeout(b, 5000000), 0);
        assert_int_equal(corral_spec_set_readiness(b, "tcp:[::1]:8080"), 0);
        assert_true(corral_spec_equal(a, b));
        assert_int_equal(corral_spec_set_readiness(c, "tcp:[::1]:8080"), 0);
        assert_int_equal(corral_spec_set_start_timeout(c, 5000000), 0);
        assert_true(corral_spec_equal(a, c));
        assert_int_equal(corral_spec_set_readiness(c, "tcp"), -EINVAL);
        assert_int_equal(corral_spec_set_readiness(c, NULL), -EINVAL);
        assert_true(corral_spec_equal(a, c));
        corral_spec_free(a);
        corral_spec_free(b);
        corral_spec_free(c);
}

/* Assignments one by one, and clearing before, after or not at all: the spec that the setters of
 * whole lists make. */
static void test_environment_one_by_one(void **state) {
        char *env[] = { "A=1", "B=two words", NULL }, *none[] = { NULL };
        corral_spec *added = new_spec(), *set = new_spec(), *empty = new_spec(), *fresh = new_spec();
        corral_spec *s;

        (void) state;
        assert_int_equal(corral_spec_add_environment(added, env), 0);
        assert_int_equal(corral_spec_set_environment(set, env), 0);
        assert_int_equal(corral_spec_set_environment(empty, none), 0);

        s = new_spec();
        assert_int_equal(corral_spec_append_environment(s, "A=1"), 0);
        assert_int_equal(corral_spec_append_environment(s, "B=two words"), 0);
        assert_true(corral_spec_equal(s, added));
        assert_int_equal(corral_spec_set_clear_environment(s, true), 0);
        assert_true(corral_spec_equal(s, set));
        assert_int_equal(corral_spec_set_clear_environment(s, false), 0);
        assert_true(corral_spec_equal(s, added));
        corral_spec_free(s);

        s = new_spec();
        assert_int_equal(corral_spec_set_clear_environment(s, true), 0);
        assert_true(corral_spec_equal(s, empty));
        assert_int_equal(corral_spec_append_environment(s, "A=1"), 0);
        assert_int_equal(corral_spec_append_environment(s, "B=two words"), 0);
        assert_true(corral_spec_equal(s, set));
        assert_int_equal(corral_spec_append_environment(s, "NOEQUALS"), -EINVAL);
        assert_int_equal(corral_spec_append_environment(s, "=1"), -EINVAL);
        assert_int_equal(corral_spec_append_environment(s, NULL), -EINVAL);
        assert_true(corral_spec_equal(s, set));
        corral_spec_free(s);

        s = new_spec();
        assert_int_equal(corral_spec_set_clear_environment(s, true), 0);
        assert_int_equal(corral_spec_set_clear_environment(s, false), 0);
        assert_true(corral_spec_equal(s, fresh));
        corral_spec_free(s);

        corral_spec_free(added);
        corral_spec_free(set);
        corral_spec_free(empty);
        corral_spec_free(fresh);
}

/* A frozen spec is shared by the backends spawned from it: every setter refuses it, unchanged. */
static void test_frozen_spec_refuses_setters(void **state) {
        corral_spec *s;
        char *const argv[] = {"/bin/true", NULL}, *const other[] = {"/bin/false", NULL};
        char *const env[] = {"A=1", NULL};
        char *const *got;

        (void) state;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_ptr_equal(corral_spec_freeze(s), s);
        assert_int_equal(corral_spec_set_argv(s, other), -EBUSY);
        assert_int_equal(corral_spec_set_name(s, "x"), -EBUSY);
        assert_int_equal(corral_spec_set_environment(s, env), -EBUSY);
        assert_int_equal(corral_spec_add_environment(s, env), -EBUSY);
        assert_int_equal(corral_spec_append_environment(s, "B=2"), -EBUSY);
        assert_int_equal(corral_spec_set_user(s, "nobody"), -EBUSY);
        assert_int_equal(corral_spec_set_restart_policy(s, CORRAL_RESTART_ALWAYS), -EBUSY);
        assert_int_equal(corral_spec_set_protect_system(s, "strict"), -EBUSY);
        got = corral_spec_get_argv(s);
        assert_non_null(got);
        assert_string_equal(got[0], "/bin/true");
        corral_spec_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_restart_at_once_is_one_by_one),
                cmocka_unit_test(test_ready_at_once_is_one_by_one),
                cmocka_unit_test(test_environment_one_by_one),
                cmocka_unit_test(test_frozen_spec_refuses_setters),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
