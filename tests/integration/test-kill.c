/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-kill.c: KillMode=mixed (the stop signal to the main process alone, what it leaves killed with
 * cgroup.kill) with real processes in real cgroups. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define LONG_GRACE (3600 * 1000000ULL) /* never reached: the test is over long before */

static corral_backend *spawn_mode(harness *h, const char *name, corral_kill_mode mode, uint64_t grace_usec,
                                  const char *helper_mode, const char *extra) {
        char *argv[] = { (char *) harness_helper(), (char *) helper_mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_grace(s, grace_usec), 0);
        assert_int_equal(corral_spec_set_kill_mode(s, mode), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        assert_non_null(b);
        return b;
}

static void test_kill_mode_names(void **state) {
        corral_spec *s = NULL;

        (void) state;
        assert_int_equal(corral_kill_mode_from_string("control-group"), CORRAL_KILL_CONTROL_GROUP);
        assert_int_equal(corral_kill_mode_from_string("mixed"), CORRAL_KILL_MIXED);
        assert_int_equal(corral_kill_mode_from_string("process"), -EINVAL);
        assert_int_equal(corral_kill_mode_from_string("none"), -EINVAL);
        assert_string_equal(corral_kill_mode_to_string(CORRAL_KILL_MIXED), "mixed");
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_kill_mode(s, (corral_kill_mode) 7), -EINVAL);
        corral_spec_free(s);
}

/* A server that stops its workers itself: only the main process gets SIGTERM, its worker finishes
 * when told to (and never saw SIGTERM), and the stop is stopped at info. */
static void test_mixed_main_stops_its_worker(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_mode(h, "pg", CORRAL_KILL_MIXED, LONG_GRACE, "child-waits", NULL);
        const recorded_event *e;

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        assert_true(e->ev.intentional);
        assert_false(e->ev.escalated);
        assert_int_equal(e->ev.how, CORRAL_HOW_EXITED);
        assert_int_equal(e->ev.exit_code, 0);
        assert_int_equal(e->ev.leftover, 0);
        harness_wait_said(h, 'C', 1); /* the worker was told by the main process, not by a signal */
        assert_false(harness_fifo_has(h, 'X'));
        corral_backend_unref(b);
}

/* The main process exits at SIGTERM and leaves a worker that never got it: killed at once with
 * cgroup.kill, nothing left, long before the deadline. */
static void test_mixed_leftover_killed_when_main_exits(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_mode(h, "gunicorn", CORRAL_KILL_MIXED, LONG_GRACE, "child-stays", NULL);
        const recorded_event *e;
        int worker = harness_wait_ready(h, true);

        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_NOTICE); /* cgroup.kill was needed */
        assert_true(e->ev.escalated);
        assert_int_equal(e->ev.leftover, 1);
        assert_int_equal(e->ev.how, CORRAL_HOW_EXITED);
        assert_int_equal(e->ev.exit_code, 0);
        assert_true(harness_pidfd_exited(worker)); /* the verdict comes once the leaf is empty */
        assert_false(harness_fifo_has(h, 'X'));    /* it never got SIGTERM */
        close(worker);
        corral_backend_unref(b);
}

/* A main process that ignores the stop signal: at the deadline the whole cgroup is killed, the
 * verdict as with control-group; the worker never got SIGTERM. */
static void test_mixed_deadline(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_mode(h, "stubborn", CORRAL_KILL_MIXED, 200000, "child-stays", "ignore");
        const recorded_event *e;
        int worker = harness_wait_ready(h, true);

        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_NOTICE);
        assert_true(e->ev.escalated);
        assert_true(e->ev.intentional);
        assert_int_equal(e->ev.how, CORRAL_HOW_KILLED);
        assert_int_equal(e->ev.signal, SIGKILL);
        assert_int_equal(e->ev.leftover, 1);
        assert_true(harness_pidfd_exited(worker));
        assert_false(harness_fifo_has(h, 'X'));
        close(worker);
        corral_backend_unref(b);
}

/* The default is unchanged: every process gets the stop signal (the worker says so). */
static void test_control_group_signals_every_process(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_mode(h, "web", CORRAL_KILL_CONTROL_GROUP, LONG_GRACE, "child-stays", NULL);
        const recorded_event *e;
        int worker = harness_wait_ready(h, true);

        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_false(e->ev.escalated);
        harness_wait_said(h, 'X', 1);
        close(worker);
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kill_mode_names),
                cmocka_unit_test_setup_teardown(test_mixed_main_stops_its_worker, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_mixed_leftover_killed_when_main_exits, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_mixed_deadline, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_control_group_signals_every_process, harness_setup,
                                                harness_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
