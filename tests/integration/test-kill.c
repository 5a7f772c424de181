/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-kill.c: KillMode=mixed (the stop signal to the main process alone, what it leaves killed with
 * cgroup.kill), and Kill (a signal that is not a stop: through libcorral, varlink and `corral kill`)
 * with real processes in real cgroups. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-fixture.h"

extern char **environ;

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
        harness_pidfd_wait(worker);             /* ended, if not yet a zombie (harness.h) */
        assert_false(harness_fifo_has(h, 'X')); /* it never got SIGTERM */
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
        harness_pidfd_wait(worker); /* ended, if not yet a zombie (harness.h) */
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

/* --- Kill through libcorral. --- */

static int pidfd_of_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        assert_true(fd >= 0);
        return fd;
}

/* A signal the backend handles: it keeps running, and says it got it. Not a stop: a later stop is
 * stopped at info, and its event names no Kill. */
static void test_kill_main_handled(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "ticker", CORRAL_TYPE_SERVICE, LONG_GRACE, "ticker", NULL);
        const recorded_event *e;

        harness_wait_ready(h, false);
        assert_int_equal(corral_backend_kill(b, SIGUSR1, CORRAL_KILL_MAIN), 1);
        harness_wait_said(h, 'T', 1);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STOPPING), 0);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        assert_int_equal(e->ev.kill_signal, 0);
        corral_backend_unref(b);
}

/* whom=all reaches a grandchild in a session of its own; the main process dies of it too, and its
 * verdict says the library's Kill sent it. */
static void test_kill_all_reaches_setsid_grandchild(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "family", CORRAL_TYPE_SERVICE, LONG_GRACE, "grandchild", NULL);
        const recorded_event *e;
        int grandchild = harness_wait_ready(h, true);

        assert_int_equal(corral_backend_kill(b, SIGHUP, CORRAL_KILL_ALL), 2);
        e = harness_wait_event(h, b, CORRAL_EVENT_KILLED);
        harness_pidfd_wait(grandchild); /* ended, if not yet a zombie (harness.h) */
        assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
        assert_false(e->ev.intentional);
        assert_int_equal(e->ev.signal, SIGHUP);
        assert_int_equal(e->ev.kill_signal, SIGHUP);
        assert_int_equal(e->ev.kill_uid, (uid_t) -1);
        /* (and, if the grandchild was still dying when the main process was reaped, "; 1 leftover
         * process killed with its cgroup") */
        assert_non_null(
                strstr(e->message,
                       "backend killed by SIGHUP, sent by a Kill from the library (corral_backend_kill())"));
        close(grandchild);
        corral_backend_unref(b);
}

/* A Kill that kills: killed at warning (a kill is not a stop), naming the signal and who asked. */
static void test_kill_that_kills_names_requester(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "victim", CORRAL_TYPE_SERVICE, LONG_GRACE, "pause", NULL);
        const recorded_event *e;

        harness_wait_ready(h, false);
        assert_int_equal(corral_backend_kill_by(b, SIGUSR1, CORRAL_KILL_MAIN, 1000, 4242), 1);
        e = harness_wait_event(h, b, CORRAL_EVENT_KILLED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
        assert_false(e->ev.intentional);
        assert_int_equal(e->ev.kill_signal, SIGUSR1);
        assert_int_equal(e->ev.kill_uid, 1000);
        assert_int_equal(e->ev.kill_pid, 4242);
        assert_string_equal(e->message,
                            "backend killed by SIGUSR1, sent by a Kill from uid 1000 (pid 4242)");
        corral_backend_unref(b);
}

/* SIGKILL to all is cgroup.kill: every process, and the verdict is the Kill's, not an escalation. */
static void test_kill_all_sigkill(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "forker", CORRAL_TYPE_SERVICE, LONG_GRACE, "forker", NULL);
        const recorded_event *e;

        harness_wait_ready(h, false);
        assert_int_equal(corral_backend_kill(b, SIGKILL, CORRAL_KILL_ALL), 6);
        e = harness_wait_event(h, b, CORRAL_EVENT_KILLED);
        assert_int_equal(e->ev.signal, SIGKILL);
        assert_int_equal(e->ev.kill_signal, SIGKILL);
        assert_false(e->ev.escalated); /* the others were dying of the Kill's cgroup.kill already */
        corral_backend_unref(b);
}

/* It handled the Kill's signal and died of another: the verdict says nothing of the Kill. */
static void test_death_by_another_signal(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "other", CORRAL_TYPE_SERVICE, LONG_GRACE, "ticker", NULL);
        const recorded_event *e;
        int main_fd;

        harness_wait_ready(h, false);
        assert_int_equal(corral_backend_kill(b, SIGUSR1, CORRAL_KILL_MAIN), 1);
        harness_wait_said(h, 'T', 1);
        main_fd = pidfd_of_pid(corral_backend_get_pid(b));
        assert_int_equal(syscall(SYS_pidfd_send_signal, main_fd, SIGTERM, NULL, 0), 0);
        e = harness_wait_event(h, b, CORRAL_EVENT_KILLED);
        assert_int_equal(e->ev.signal, SIGTERM);
        assert_int_equal(e->ev.kill_signal, 0);
        assert_string_equal(e->message, "backend killed by signal");
        close(main_fd);
        corral_backend_unref(b);
}

/* Nothing to signal once it has ended; a signal that is none, or whom that is neither, is refused. */
static void test_kill_refusals(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "brief", CORRAL_TYPE_TASK, LONG_GRACE, "exit", "0");

        assert_int_equal(corral_backend_kill(b, 0, CORRAL_KILL_MAIN), -EINVAL);
        assert_int_equal(corral_backend_kill(b, SIGTERM, (corral_kill_whom) 5), -EINVAL);
        (void) harness_wait_event(h, b, CORRAL_EVENT_FINISHED);
        assert_int_equal(corral_backend_kill(b, SIGTERM, CORRAL_KILL_MAIN), -ESRCH);
        assert_int_equal(corral_backend_kill(b, SIGTERM, CORRAL_KILL_ALL), -ESRCH);
        assert_int_equal(corral_backend_kill(NULL, SIGTERM, CORRAL_KILL_MAIN), -EINVAL);
        corral_backend_unref(b);
}

/* --- Kill through corrald and `corral kill`. --- */

/* corral kill: a handled signal reaches the main process; one that kills is a warning naming the
 * signal and the caller; then there is nothing to signal; bad signals are refused by name. */
static void test_corral_kill(void **state) {
        daemon_fixture *d = *state;
        char out[4096], want[160];
        json_t *r, *v;

        start_ready(d, "web", "ticker", 10000000);
        assert_int_equal(client(d, ARGS("kill", "web", "--signal", "USR1"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "web: sent SIGUSR1 to 1 process(es)"));
        harness_wait_said(d->h, 'T', 1);
        assert_int_equal(client(d, ARGS("kill", "web", "--signal", "SIGFOO"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "unknown signal 'SIGFOO'"));
        assert_int_equal(client(d, ARGS("kill", "web", "--whom", "some"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "invalid --whom 'some'"));
        assert_error(call(d, IFACE "Kill", json_pack("{s:s, s:s}", "name", "web", "signal", "SIGFOO")),
                     "org.varlink.service.InvalidParameter", "parameter", "signal");
        assert_error(call(d, IFACE "Kill", json_pack("{s:s, s:s}", "name", "web", "whom", "children")),
                     "org.varlink.service.InvalidParameter", "parameter", "whom");
        assert_error(call(d, IFACE "Kill", json_pack("{s:s}", "name", "nothing")),
                     "io.corral.Supervisor.NoSuchBackend", "name", "nothing");

        /* SIGTERM by default, to the main process: not a stop, so a warning naming who sent it */
        r = call(d, IFACE "Kill", json_pack("{s:s}", "name", "web"));
        assert_null(error_of(r));
        assert_int_equal(json_integer_value(param(r, "processes")), 1);
        json_decref(r);
        assert_true(harness_wait_until((v = last_verdict(d, "web")) != NULL));
        assert_string_equal(jstr(v, "event"), "killed");
        assert_string_equal(jstr(v, "level"), "warning");
        assert_true(json_is_false(json_object_get(v, "intentional")));
        assert_string_equal(jstr(v, "kill_signal"), "SIGTERM");
        assert_int_equal(json_integer_value(json_object_get(v, "kill_uid")), getuid());
        assert_int_equal(json_integer_value(json_object_get(v, "kill_pid")), getpid());
        snprintf(want, sizeof(want), "backend killed by SIGTERM, sent by a Kill from uid %u (pid %d)",
                 (unsigned) getuid(), (int) getpid());
        assert_string_equal(jstr(v, "message"), want);
        json_decref(v);

        assert_error(call(d, IFACE "Kill", json_pack("{s:s}", "name", "web")),
                     "io.corral.Supervisor.BackendNotRunning", "state", "gone");
        assert_int_equal(client(d, ARGS("kill", "web"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "web is not running (gone)"));
}

/* Kill is a change: a caller who is neither root nor in the allowed group is refused, and the
 * backend gets nothing. */
static void test_unprivileged_kill_is_refused(void **state) {
        daemon_fixture *d = *state;
        char out[4096];
        json_t *r;

        start_ready(d, "guarded", "ticker", 10000000);
        assert_int_equal(chmod(d->h->tmpdir, 0755), 0); /* so that nobody can reach the socket */
        assert_int_equal(nobody_call(d, IFACE "Kill",
                                     json_pack("{s:s, s:s, s:s}", "name", "guarded", "signal", "SIGUSR1",
                                               "whom", "all"),
                                     out, sizeof(out)),
                         0);
        assert_non_null(strstr(out, "\"error\":\"org.varlink.service.PermissionDenied\""));
        assert_non_null(strstr(read_log(d), "refused io.corral.Supervisor.Kill from uid=65534"));
        /* it got nothing: the next tick is the one we send now, and it is the only one */
        r = call(d, IFACE "Kill", json_pack("{s:s, s:s}", "name", "guarded", "signal", "USR1"));
        assert_null(error_of(r));
        json_decref(r);
        harness_wait_said(d->h, 'T', 1);
        assert_false(harness_fifo_has(d->h, 'T'));
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "guarded"));
        assert_string_equal(jstr(param(r, "backend"), "state"), "running");
        json_decref(r);
}

/* The Kill is kept with the backend before its signal goes: a corrald started after one killed
 * with SIGKILL still knows whose signal the backend died of. */
static void test_kill_survives_readoption(void **state) {
        daemon_fixture *d = *state;
        char want[160];
        json_t *r, *v = NULL;
        int main_fd;

        start_ready(d, "pending", "usr1-pending", 10000000);
        r = call(d, IFACE "Kill", json_pack("{s:s, s:s}", "name", "pending", "signal", "SIGUSR1"));
        assert_null(error_of(r));
        json_decref(r);
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "pending"));
        main_fd = pidfd_of_pid((pid_t) json_integer_value(json_object_get(param(r, "backend"), "pid")));
        json_decref(r);
        daemon_kill9(d);
        daemon_start(d, NULL);
        /* now it unblocks SIGUSR1, which is pending, and dies of it under the new corrald */
        assert_int_equal(syscall(SYS_pidfd_send_signal, main_fd, SIGUSR2, NULL, 0), 0);
        assert_true(harness_wait_until((v = last_verdict(d, "pending")) != NULL));
        assert_string_equal(jstr(v, "event"), "killed");
        assert_string_equal(jstr(v, "level"), "warning");
        assert_string_equal(jstr(v, "kill_signal"), "SIGUSR1");
        snprintf(want, sizeof(want), "backend killed by SIGUSR1, sent by a Kill from uid %u (pid %d)",
                 (unsigned) getuid(), (int) getpid());
        assert_string_equal(jstr(v, "message"), want);
        json_decref(v);
        close(main_fd);
        /* a fresh corrald for the fixture's checks: this one's fds at its start included what it took back
         */
        assert_int_equal(daemon_stop(d), 0);
        daemon_reap_orphans(d); /* it was the killed corrald's child: ours now, as init's would be */
        daemon_start(d, NULL);
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
                cmocka_unit_test_setup_teardown(test_kill_main_handled, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_kill_all_reaches_setsid_grandchild, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_kill_that_kills_names_requester, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_kill_all_sigkill, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_death_by_another_signal, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_kill_refusals, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_corral_kill, fixture_setup_started, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_unprivileged_kill_is_refused, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_kill_survives_readoption, fixture_setup_started,
                                                fixture_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
