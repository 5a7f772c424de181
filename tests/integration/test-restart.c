/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-restart.c: restart policies with real processes: backoff sequence, crash-loop limit, reset, stops. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MSEC 1000ULL
#define SEC  1000000ULL

static corral_backend *spawn_policy(harness *h, const char *name, corral_type type, corral_restart policy,
                                    uint64_t initial, uint64_t max, uint64_t reset, unsigned burst,
                                    const char *mode, const char *extra) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, type), 0);
        assert_int_equal(corral_spec_set_restart(s, policy, initial, 2, max, reset), 0);
        assert_int_equal(corral_spec_set_restart_limit(s, burst, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

/* The delay of the n-th restart in a row, as the events report it: 10, 20, 40, 40 ms, +-10%. */
static void assert_delay(const recorded_event *r, unsigned attempt, uint64_t expect_usec) {
        assert_int_equal(r->ev.attempt, attempt);
        if (r->ev.restart_delay_usec < expect_usec / 10 * 9 ||
            r->ev.restart_delay_usec > expect_usec / 10 * 11 + 1)
                fail_msg("attempt %u: delay %llu us, expected %llu +-10%%", attempt,
                         (unsigned long long) r->ev.restart_delay_usec, (unsigned long long) expect_usec);
}

static void test_on_failure_backs_off_then_fails(void **state) {
        harness *h = *state;
        const uint64_t expect[] = { 10 * MSEC, 20 * MSEC, 40 * MSEC, 40 * MSEC };
        corral_backend *b = spawn_policy(h, "flaky", CORRAL_TYPE_SERVICE, CORRAL_RESTART_ON_FAILURE,
                                         10 * MSEC, 40 * MSEC, 60 * SEC, 4, "exit-after", "0:3");

        for (unsigned i = 1; i <= 4; i++) {
                const recorded_event *r = harness_wait_events(h, "flaky", CORRAL_EVENT_RESTARTING, i);
                assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
                assert_delay(r, i, expect[i - 1]);
        }
        /* The fifth exit within the minute is one too many. */
        const recorded_event *f = harness_wait_events(h, "flaky", CORRAL_EVENT_FAILED, 1);
        assert_int_equal(f->ev.level, CORRAL_LEVEL_ERROR);
        assert_int_equal(harness_count(h, CORRAL_EVENT_EXITED), 5);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STARTED), 5);
        for (unsigned i = 1; i <= 5; i++) { /* each exit was a warning with its code */
                const recorded_event *e = harness_wait_events(h, "flaky", CORRAL_EVENT_EXITED, i);
                assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
                assert_int_equal(e->ev.exit_code, 3);
        }
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_FAILED);
        assert_int_equal(corral_count(h->c), 0);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_ALREADY);
        corral_backend_unref(b);
}

static void test_on_failure_does_not_restart_a_finished_task(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "job", CORRAL_TYPE_TASK, CORRAL_RESTART_ON_FAILURE, 10 * MSEC,
                                         40 * MSEC, 60 * SEC, 4, "exit-after", "0:0");

        harness_wait_events(h, "job", CORRAL_EVENT_FINISHED, 1);
        assert_int_equal(harness_count(h, CORRAL_EVENT_RESTARTING), 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        corral_backend_unref(b);
}

static void test_always_restarts_a_finished_task(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "cron", CORRAL_TYPE_TASK, CORRAL_RESTART_ALWAYS, 10 * MSEC,
                                         40 * MSEC, 60 * SEC, 2, "exit-after", "0:0");

        harness_wait_events(h, "cron", CORRAL_EVENT_FINISHED, 1);
        harness_wait_events(h, "cron", CORRAL_EVENT_RESTARTING, 1);
        harness_wait_events(h, "cron", CORRAL_EVENT_FINISHED, 2);
        harness_wait_events(h, "cron", CORRAL_EVENT_FAILED, 1);
        corral_backend_unref(b);
}

/* Never after a stop that was asked for, whatever the policy. */
static void test_no_restart_after_a_stop(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "keep", CORRAL_TYPE_SERVICE, CORRAL_RESTART_ALWAYS, 10 * MSEC,
                                         40 * MSEC, 60 * SEC, 4, "pause", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_events(h, "keep", CORRAL_EVENT_STOPPED, 1);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        assert_int_equal(harness_count(h, CORRAL_EVENT_RESTARTING), 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        corral_backend_unref(b);
}

/* A stop while it waits to be restarted cancels the restart at once. */
static void test_stop_while_waiting_to_restart(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "later", CORRAL_TYPE_SERVICE, CORRAL_RESTART_ON_FAILURE,
                                         30 * SEC, 60 * SEC, 60 * SEC, 4, "exit-after", "0:1");

        harness_wait_events(h, "later", CORRAL_EVENT_RESTARTING, 1);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RESTARTING);
        assert_true(corral_backend_get_next_restart(b) > 0);
        assert_int_equal(corral_count(h->c), 1);
        assert_int_equal(corral_stop_by(b, CORRAL_GRACE_DEFAULT, 0, 77), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_events(h, "later", CORRAL_EVENT_STOPPED, 1);
        assert_true(r->ev.intentional);
        assert_int_equal(r->ev.stop_pid, 77);
        assert_int_equal(r->ev.how, CORRAL_HOW_NONE);
        assert_string_equal(r->message, "backend stopped (restart cancelled)");
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        assert_int_equal(corral_count(h->c), 0);
        corral_backend_unref(b);
}

/* A stop that comes after the backend exited on its own, before that exit was seen (a backend in
 * a tight restart loop is mostly there): the exit is unexpected, as it was not ours, but no restart
 * may follow it, or the stop is lost and whoever waits for its verdict (corrald's Stop, StopAll)
 * waits for ever. */
static void test_stop_after_an_unseen_exit_ends_the_restarts(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "racer", CORRAL_TYPE_SERVICE, CORRAL_RESTART_ALWAYS, 1 * MSEC,
                                         1 * MSEC, 60 * SEC, 0, "exit-after", "0:3");
        int pidfd = (int) syscall(SYS_pidfd_open, corral_backend_get_pid(b), 0);

        assert_true(pidfd >= 0);
        harness_pidfd_wait(pidfd); /* it has exited; corral's loop has not run since */
        close(pidfd);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_PENDING);
        const recorded_event *r = harness_wait_events(h, "racer", CORRAL_EVENT_EXITED, 1);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_false(r->ev.intentional);
        assert_int_equal(r->ev.exit_code, 3);
        assert_int_equal(harness_count(h, CORRAL_EVENT_RESTARTING), 0);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STARTED), 1);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        assert_int_equal(corral_count(h->c), 0);
        corral_backend_unref(b);
}

/* A run longer than the reset time starts the backoff over: every delay is the first one. */
static void test_long_enough_run_resets_the_backoff(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_policy(h, "steady", CORRAL_TYPE_SERVICE, CORRAL_RESTART_ON_FAILURE,
                                         10 * MSEC, 1 * SEC, 20 * MSEC, 3, "exit-after", "50:1");

        for (unsigned i = 1; i <= 3; i++)
                assert_delay(harness_wait_events(h, "steady", CORRAL_EVENT_RESTARTING, i), 1, 10 * MSEC);
        harness_wait_events(h, "steady", CORRAL_EVENT_FAILED, 1);
        corral_backend_unref(b);
}

/* A restart that cannot exec counts as a failure too, and the limit ends it. */
static void test_start_failure_on_restart_counts(void **state) {
        harness *h = *state;
        char path[512];
        char *argv[] = { path, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;
        FILE *f;

        /* A copy of sh that deletes itself: the first run works, the restart cannot exec. */
        snprintf(path, sizeof(path), "%s/selfdelete", h->tmpdir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("#!/bin/sh\nrm -f \"$0\"\nexit 1\n", f);
        fclose(f);
        assert_int_equal(chmod(path, 0755), 0);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "gone"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(
                corral_spec_set_restart(s, CORRAL_RESTART_ON_FAILURE, 5 * MSEC, 2, 20 * MSEC, 60 * SEC), 0);
        assert_int_equal(corral_spec_set_restart_limit(s, 2, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        harness_wait_events(h, "gone", CORRAL_EVENT_EXITED, 1);
        const recorded_event *r = harness_wait_events(h, "gone", CORRAL_EVENT_START_FAILED, 1);
        assert_int_equal(r->ev.error, ENOENT);
        harness_wait_events(h, "gone", CORRAL_EVENT_START_FAILED, 2);
        harness_wait_events(h, "gone", CORRAL_EVENT_FAILED, 1);
        assert_int_equal(corral_count(h->c), 0);
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
                T(test_on_failure_backs_off_then_fails),
                T(test_on_failure_does_not_restart_a_finished_task),
                T(test_always_restarts_a_finished_task),
                T(test_no_restart_after_a_stop),
                T(test_stop_while_waiting_to_restart),
                T(test_stop_after_an_unseen_exit_ends_the_restarts),
                T(test_long_enough_run_resets_the_backoff),
                T(test_start_failure_on_restart_counts),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
