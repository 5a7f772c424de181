/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-verdict.c: every rule of the verdict table in docs/events.md. */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verdict.h"

#define STOP true
#define NONE false

static void check(bool intent, corral_type type, int code, int status, bool escalated, bool oom,
                  corral_event_type want, corral_level level, const char *message) {
        verdict_input in = { .intent_stop = intent,
                             .type = type,
                             .si_code = code,
                             .status = status,
                             .escalated = escalated,
                             .oom_killed = oom };
        verdict v = verdict_decide(&in);

        assert_int_equal(v.type, want);
        assert_int_equal(v.level, level);
        assert_string_equal(v.message, message);
}

/* stop | any exit code, any signal, no core, no OOM | stopped | info (notice if cgroup.kill) */
static void test_stop_any_exit_is_stopped(void **state) {
        const corral_type types[] = { CORRAL_TYPE_SERVICE, CORRAL_TYPE_TASK };
        for (int t = 0; t < 2; t++) {
                for (int code = 0; code < 256; code += 51)
                        check(STOP, types[t], CLD_EXITED, code, false, false, CORRAL_EVENT_STOPPED,
                              CORRAL_LEVEL_INFO, "backend stopped");
                check(STOP, types[t], CLD_KILLED, SIGTERM, false, false, CORRAL_EVENT_STOPPED,
                      CORRAL_LEVEL_INFO, "backend stopped");
                check(STOP, types[t], CLD_KILLED, SIGINT, false, false, CORRAL_EVENT_STOPPED,
                      CORRAL_LEVEL_INFO, "backend stopped");
                check(STOP, types[t], CLD_KILLED, SIGKILL, true, false, CORRAL_EVENT_STOPPED,
                      CORRAL_LEVEL_NOTICE, "backend stopped (cgroup killed)");
                check(STOP, types[t], CLD_EXITED, 143, true, false, CORRAL_EVENT_STOPPED,
                      CORRAL_LEVEL_NOTICE, "backend stopped (cgroup killed)");
                check(STOP, types[t], 0, 0, false, false, CORRAL_EVENT_STOPPED, CORRAL_LEVEL_INFO,
                      "backend stopped");
        }
}

/* stop | core dumped, or OOM-killed | crashed / oom-killed | warning */
static void test_stop_core_or_oom_is_warning(void **state) {
        check(STOP, CORRAL_TYPE_SERVICE, CLD_DUMPED, SIGABRT, false, false, CORRAL_EVENT_CRASHED,
              CORRAL_LEVEL_WARNING, "backend crashed while stopping");
        check(STOP, CORRAL_TYPE_SERVICE, CLD_DUMPED, SIGSEGV, true, false, CORRAL_EVENT_CRASHED,
              CORRAL_LEVEL_WARNING, "backend crashed while stopping");
        check(STOP, CORRAL_TYPE_TASK, CLD_KILLED, SIGKILL, false, true, CORRAL_EVENT_OOM_KILLED,
              CORRAL_LEVEL_WARNING, "backend crashed while stopping (OOM killer)");
}

/* none | task, exit 0 | finished | info */
static void test_task_exit_zero_is_finished(void **state) {
        check(NONE, CORRAL_TYPE_TASK, CLD_EXITED, 0, false, false, CORRAL_EVENT_FINISHED, CORRAL_LEVEL_INFO,
              "backend finished");
}

/* none | exit code (service: any; task: non-zero) | exited | warning */
static void test_unasked_exit_is_exited_warning(void **state) {
        check(NONE, CORRAL_TYPE_SERVICE, CLD_EXITED, 0, false, false, CORRAL_EVENT_EXITED,
              CORRAL_LEVEL_WARNING, "backend exited unexpectedly");
        check(NONE, CORRAL_TYPE_SERVICE, CLD_EXITED, 1, false, false, CORRAL_EVENT_EXITED,
              CORRAL_LEVEL_WARNING, "backend exited unexpectedly");
        check(NONE, CORRAL_TYPE_TASK, CLD_EXITED, 2, false, false, CORRAL_EVENT_EXITED, CORRAL_LEVEL_WARNING,
              "backend exited unexpectedly");
        /* leftovers were killed: still the main process's own exit that decides */
        check(NONE, CORRAL_TYPE_SERVICE, CLD_EXITED, 0, true, false, CORRAL_EVENT_EXITED,
              CORRAL_LEVEL_WARNING, "backend exited unexpectedly");
        check(NONE, CORRAL_TYPE_TASK, CLD_EXITED, 0, true, false, CORRAL_EVENT_FINISHED, CORRAL_LEVEL_INFO,
              "backend finished");
}

/* none | killed by a signal (anyone's but ours) | killed | warning; even SIGTERM */
static void test_unasked_signal_is_killed_warning(void **state) {
        const int sigs[] = { SIGTERM, SIGKILL, SIGINT, SIGHUP };
        for (int i = 0; i < 4; i++) {
                check(NONE, CORRAL_TYPE_SERVICE, CLD_KILLED, sigs[i], false, false, CORRAL_EVENT_KILLED,
                      CORRAL_LEVEL_WARNING, "backend killed by signal");
                check(NONE, CORRAL_TYPE_TASK, CLD_KILLED, sigs[i], false, false, CORRAL_EVENT_KILLED,
                      CORRAL_LEVEL_WARNING, "backend killed by signal");
        }
}

/* none | core dumped | crashed | warning */
static void test_unasked_core_is_crashed_warning(void **state) {
        check(NONE, CORRAL_TYPE_SERVICE, CLD_DUMPED, SIGSEGV, false, false, CORRAL_EVENT_CRASHED,
              CORRAL_LEVEL_WARNING, "backend crashed (core dumped)");
        check(NONE, CORRAL_TYPE_TASK, CLD_DUMPED, SIGABRT, false, false, CORRAL_EVENT_CRASHED,
              CORRAL_LEVEL_WARNING, "backend crashed (core dumped)");
}

/* none | killed by SIGSYS under a system call filter that kills | killed | warning, naming the
 * filter; a SIGSYS without one is any other signal. */
static void test_unasked_sigsys_under_a_filter_names_it(void **state) {
        const char *msg = "backend killed by its system call filter (SIGSYS): it made a system call "
                          "SystemCallFilter= does not allow";
        for (int code = CLD_KILLED; code <= CLD_DUMPED; code++) {
                verdict_input in = { .type = CORRAL_TYPE_SERVICE,
                                     .si_code = code,
                                     .status = SIGSYS,
                                     .syscall_filter = true };
                verdict v = verdict_decide(&in);

                assert_int_equal(v.type, CORRAL_EVENT_KILLED);
                assert_int_equal(v.level, CORRAL_LEVEL_WARNING);
                assert_string_equal(v.message, msg);
                in.intent_stop = true; /* asked to stop: stopped, whatever the filter did */
                assert_int_equal(verdict_decide(&in).type,
                                 code == CLD_DUMPED ? CORRAL_EVENT_CRASHED : CORRAL_EVENT_STOPPED);
        }
        check(NONE, CORRAL_TYPE_SERVICE, CLD_KILLED, SIGSYS, false, false, CORRAL_EVENT_KILLED,
              CORRAL_LEVEL_WARNING, "backend killed by signal");
}

/* none | oom_kill grew | oom-killed | warning: before any other reading of the status */
static void test_unasked_oom_is_oom_killed_warning(void **state) {
        check(NONE, CORRAL_TYPE_SERVICE, CLD_KILLED, SIGKILL, false, true, CORRAL_EVENT_OOM_KILLED,
              CORRAL_LEVEL_WARNING, "backend killed by the OOM killer");
        check(NONE, CORRAL_TYPE_TASK, CLD_EXITED, 0, false, true, CORRAL_EVENT_OOM_KILLED,
              CORRAL_LEVEL_WARNING, "backend killed by the OOM killer");
}

/* - | exec or setup failed | start-failed | error, naming what failed and the errno */
static void test_start_failed_is_error(void **state) {
        verdict_input in = { .start_error = ENOENT, .start_what = "/usr/bin/nope", .intent_stop = true };
        verdict v = verdict_decide(&in);

        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        assert_int_equal(v.level, CORRAL_LEVEL_ERROR);
        assert_string_equal(v.message, "backend failed to start: /usr/bin/nope: No such file or directory");
        in.intent_stop = false;
        in.start_what = NULL;
        v = verdict_decide(&in);
        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        assert_string_equal(v.message, "backend failed to start: No such file or directory");
        /* a name that resolves to nothing: the what says it all, no errno's words after it */
        in = (verdict_input){ .start_error = ESRCH,
                              .start_what = "no such user 'nosuchuser'",
                              .start_what_is_why = true };
        v = verdict_decide(&in);
        assert_string_equal(v.message, "backend failed to start: no such user 'nosuchuser'");
}

/* - | an ExecStartPre= command failed | start-failed | error, naming it and how it ended */
static void test_pre_failed_is_start_failed(void **state) {
        verdict_input in = { .pre_failed = "ExecStartPre=/usr/sbin/nginx -t: exited with status 1",
                             .start_error = ENOENT };
        verdict v = verdict_decide(&in);

        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        assert_int_equal(v.level, CORRAL_LEVEL_ERROR);
        assert_string_equal(
                v.message, "backend failed to start: ExecStartPre=/usr/sbin/nginx -t: exited with status 1");
        in = (verdict_input){ .pre_stopped = true, .intent_stop = true };
        v = verdict_decide(&in);
        assert_int_equal(v.type, CORRAL_EVENT_STOPPED);
        assert_int_equal(v.level, CORRAL_LEVEL_INFO);
        assert_string_equal(v.message, "backend stopped (while its ExecStartPre= commands ran)");
}

/* The rules of how a launch went, each over how the main process ended. */
static verdict launch(verdict_input in) {
        return verdict_decide(&in);
}

#define EXIT0 .si_code = CLD_EXITED, .status = 0
#define TERM  .si_code = CLD_KILLED, .status = SIGTERM

/* not ready within the start timeout: start-failed, whatever its end (it was killed for it) */
static void test_start_timeout_is_start_failed(void **state) {
        verdict v = launch((verdict_input){ TERM, .escalated = true, .ready_pending = true,
                                            .start_timed_out = true, .start_timeout_usec = 300000 });

        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        assert_int_equal(v.level, CORRAL_LEVEL_ERROR);
        assert_string_equal(v.message, "backend failed to start: not ready within 300 ms");
        v = launch((verdict_input){ TERM, .intent_stop = true, .start_timed_out = true,
                                    .start_timeout_usec = 1000 });
        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        /* what its readiness check found instead, where it found something */
        v = launch((verdict_input){
                TERM, .ready_pending = true, .start_timed_out = true, .start_timeout_usec = 2000000,
                .not_ready_why = "port 127.0.0.1:80 held by a process outside the backend" });
        assert_string_equal(v.message,
                            "backend failed to start: not ready within 2000 ms (port 127.0.0.1:80 held by "
                            "a process outside the backend)");
}

/* failed its health checks: killed, unhealthy at warning, whatever signal ended it; a stop asked
 * for meanwhile is a stop */
static void test_unhealthy(void **state) {
        verdict v = launch((verdict_input){ .si_code = CLD_KILLED,
                                            .status = SIGKILL,
                                            .escalated = true,
                                            .unhealthy = true,
                                            .health_failures = 3,
                                            .health_why = "HTTP 503" });

        assert_int_equal(v.type, CORRAL_EVENT_UNHEALTHY);
        assert_int_equal(v.level, CORRAL_LEVEL_WARNING);
        assert_string_equal(v.message,
                            "backend unhealthy: 3 health checks failed in a row (last: HTTP 503)");
        v = launch((verdict_input){ TERM, .intent_stop = true, .unhealthy = true, .health_failures = 3 });
        assert_int_equal(v.type, CORRAL_EVENT_STOPPED);
}

/* it ended before it said it was ready: start-failed, never a verdict of a running backend */
static void test_death_before_ready_is_start_failed(void **state) {
        verdict v = launch((verdict_input){ .si_code = CLD_EXITED, .status = 5, .ready_pending = true });

        assert_int_equal(v.type, CORRAL_EVENT_START_FAILED);
        assert_string_equal(v.message, "backend failed to start: it ended before it was ready");
        /* but a stop asked for is a stop, and an OOM kill is an OOM kill */
        assert_int_equal(launch((verdict_input){ TERM, .intent_stop = true, .ready_pending = true }).type,
                         CORRAL_EVENT_STOPPED);
        assert_int_equal(launch((verdict_input){ TERM, .oom_killed = true, .ready_pending = true }).type,
                         CORRAL_EVENT_OOM_KILLED);
}

/* STOPPING=1, then exit 0: it stopped on its own, finished at info; any other end is not clean */
static void test_stopping_then_exit_zero_is_finished(void **state) {
        verdict v = launch((verdict_input){ EXIT0, .self_stopping = true });

        assert_int_equal(v.type, CORRAL_EVENT_FINISHED);
        assert_int_equal(v.level, CORRAL_LEVEL_INFO);
        assert_string_equal(v.message, "backend stopped on its own (it said STOPPING=1)");
        assert_int_equal(
                launch((verdict_input){ .si_code = CLD_EXITED, .status = 1, .self_stopping = true }).type,
                CORRAL_EVENT_EXITED);
        assert_int_equal(launch((verdict_input){ TERM, .self_stopping = true }).type, CORRAL_EVENT_KILLED);
        assert_int_equal(launch((verdict_input){ TERM, .self_stopping = true, .intent_stop = true }).type,
                         CORRAL_EVENT_STOPPED);
}

/* it missed its watchdog: killed for it, the verdict is watchdog at warning, not killed */
static void test_missed_watchdog_is_watchdog(void **state) {
        verdict v = launch((verdict_input){ .si_code = CLD_KILLED,
                                            .status = SIGKILL,
                                            .escalated = true,
                                            .watchdog_fired = true,
                                            .watchdog_usec = 1000000 });

        assert_int_equal(v.type, CORRAL_EVENT_WATCHDOG);
        assert_int_equal(v.level, CORRAL_LEVEL_WARNING);
        assert_string_equal(v.message, "backend missed its watchdog (1000 ms)");
        /* before it was ready too; a stop asked for first is a stop */
        assert_int_equal(launch((verdict_input){ TERM, .watchdog_fired = true, .ready_pending = true }).type,
                         CORRAL_EVENT_WATCHDOG);
        assert_int_equal(launch((verdict_input){ TERM, .watchdog_fired = true, .intent_stop = true }).type,
                         CORRAL_EVENT_STOPPED);
}

/* A death by the signal of a Kill: killed at warning (a kill is not a stop), naming the signal
 * and who asked; another signal, another end or a stop says nothing of the Kill */
static void test_death_by_kill_names_it(void **state) {
        verdict_input in = { .si_code = CLD_KILLED,
                             .status = SIGUSR1,
                             .kill_signal = SIGUSR1,
                             .kill_uid = 1000,
                             .kill_pid = 4242 };
        verdict v = launch(in);

        assert_int_equal(v.type, CORRAL_EVENT_KILLED);
        assert_int_equal(v.level, CORRAL_LEVEL_WARNING);
        assert_string_equal(v.message, "backend killed by SIGUSR1, sent by a Kill from uid 1000 (pid 4242)");
        in.kill_uid = (uid_t) -1;
        in.kill_pid = 0;
        assert_string_equal(
                launch(in).message,
                "backend killed by SIGUSR1, sent by a Kill from the library (corral_backend_kill())");
        in.si_code = CLD_DUMPED;
        in.status = SIGQUIT;
        in.kill_signal = SIGQUIT;
        v = launch(in);
        assert_int_equal(v.type, CORRAL_EVENT_CRASHED);
        assert_string_equal(v.message,
                            "backend crashed (core dumped) by SIGQUIT, sent by a Kill from the library "
                            "(corral_backend_kill())");
        in = (verdict_input){
                .si_code = CLD_KILLED, .status = SIGTERM, .kill_signal = SIGUSR1, .kill_uid = 0
        };
        assert_string_equal(launch(in).message, "backend killed by signal");
        in = (verdict_input){
                .si_code = CLD_EXITED, .status = SIGUSR1, .kill_signal = SIGUSR1, .kill_uid = 0
        };
        assert_string_equal(launch(in).message, "backend exited unexpectedly");
        in = (verdict_input){
                .si_code = CLD_KILLED, .status = SIGUSR1, .kill_signal = SIGUSR1, .intent_stop = true
        };
        assert_string_equal(launch(in).message, "backend stopped");
}

/* The kill of the cgroup is said as what it was: a stop's deadline only where there was one; the
 * leftovers of an end nobody asked for were killed at once, with no deadline at all. */
static void test_cgroup_kill_is_said_as_what_it_was(void **state) {
        verdict v = launch((verdict_input){ .intent_stop = true,
                                            .si_code = CLD_KILLED,
                                            .status = SIGKILL,
                                            .escalated = true,
                                            .deadline_kill = true });

        assert_int_equal(v.level, CORRAL_LEVEL_NOTICE);
        assert_string_equal(v.message, "backend stopped (cgroup killed at the deadline)");
        v = launch((verdict_input){
                .si_code = CLD_KILLED, .status = SIGKILL, .escalated = true, .leftover = 2 });
        assert_int_equal(v.type, CORRAL_EVENT_KILLED);
        assert_string_equal(v.message,
                            "backend killed by signal; 2 leftover processes killed with its cgroup");
        assert_null(strstr(v.message, "deadline"));
        v = launch((verdict_input){ .si_code = CLD_EXITED, .status = 3, .escalated = true, .leftover = 1 });
        assert_string_equal(v.message,
                            "backend exited unexpectedly; 1 leftover process killed with its cgroup");
        /* a deadline that is not a stop's says nothing of one either */
        v = launch((verdict_input){ TERM, .escalated = true, .ready_pending = true, .start_timed_out = true,
                                    .start_timeout_usec = 300000, .leftover = 1 });
        assert_string_equal(v.message, "backend failed to start: not ready within 300 ms");
}

static void test_unknown_status(void **state) {
        check(NONE, CORRAL_TYPE_SERVICE, 0, 0, false, false, CORRAL_EVENT_EXITED, CORRAL_LEVEL_WARNING,
              "backend exited unexpectedly (status unknown)");
        assert_int_equal(verdict_how(0), CORRAL_HOW_UNKNOWN);
        assert_int_equal(verdict_how(CLD_EXITED), CORRAL_HOW_EXITED);
        assert_int_equal(verdict_how(CLD_KILLED), CORRAL_HOW_KILLED);
        assert_int_equal(verdict_how(CLD_DUMPED), CORRAL_HOW_DUMPED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stop_any_exit_is_stopped),
                cmocka_unit_test(test_stop_core_or_oom_is_warning),
                cmocka_unit_test(test_task_exit_zero_is_finished),
                cmocka_unit_test(test_unasked_exit_is_exited_warning),
                cmocka_unit_test(test_unasked_signal_is_killed_warning),
                cmocka_unit_test(test_unasked_sigsys_under_a_filter_names_it),
                cmocka_unit_test(test_unasked_core_is_crashed_warning),
                cmocka_unit_test(test_unasked_oom_is_oom_killed_warning),
                cmocka_unit_test(test_start_failed_is_error),
                cmocka_unit_test(test_pre_failed_is_start_failed),
                cmocka_unit_test(test_start_timeout_is_start_failed),
                cmocka_unit_test(test_unhealthy),
                cmocka_unit_test(test_cgroup_kill_is_said_as_what_it_was),
                cmocka_unit_test(test_death_before_ready_is_start_failed),
                cmocka_unit_test(test_stopping_then_exit_zero_is_finished),
                cmocka_unit_test(test_missed_watchdog_is_watchdog),
                cmocka_unit_test(test_death_by_kill_names_it),
                cmocka_unit_test(test_unknown_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
