/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-command.c: the command runner (src/lib/command.h): a command of a backend runs in a sub-group of
 * its leaf as the backend's main process would, its exit status and stderr tail come back through
 * the loop, its deadline kills its whole group, and nothing of it outlives it (its end, a cancel, the
 * supervisor's end). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "corral-private.h"
#include "macro.h"
#include "harness.h"

#define SEC 1000000ULL

typedef struct outcome {
        bool done;
        command_result res;
        char tail[1100];
} outcome;

static void on_done(command *cmd, const command_result *res, void *userdata) {
        outcome *o = userdata;

        o->done = true;
        o->res = *res;
        (void) snprintf(o->tail, sizeof(o->tail), "%s", res->stderr_tail);
        o->res.stderr_tail = o->tail;
}

static command *run(corral_backend *b, const char *script, uint64_t timeout, outcome *o) {
        char *argv[] = { "/bin/sh", "-c", (char *) script, NULL };
        _cleanup_free_ char *what = NULL;
        command *cmd = NULL;

        *o = (outcome){ 0 };
        assert_int_equal(backend_run_command(b, argv, timeout, on_done, o, &cmd, &what), 0);
        assert_non_null(cmd);
        return cmd;
}

/* Its exit code, its stderr's last lines, its place (a group of its own in the leaf), $MAINPID. */
static void test_exit_status_and_tail(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-exit", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        char want[600];
        outcome o;

        harness_wait_ready(h, false);
        (void) run(b,
                   "for i in 1 2 3 4 5 6 7; do echo line $i >&2; done; "
                   "echo \"cg $(cut -d: -f3 /proc/self/cgroup | tail -n1) main $MAINPID\" >&2; exit 3",
                   0, &o);
        assert_true(harness_run_until(h, o.done));
        assert_int_equal(o.res.error, 0);
        assert_int_equal(o.res.si_code, CLD_EXITED);
        assert_int_equal(o.res.status, 3);
        assert_false(o.res.timed_out);
        assert_false(command_result_ok(&o.res));
        assert_null(strstr(o.tail, "line 3\n")); /* only the last 5 lines */
        assert_non_null(strstr(o.tail, "line 4\nline 5\nline 6\nline 7\n"));
        (void) snprintf(want, sizeof(want), "cg %s/cmd.", corral_backend_get_cgroup(b));
        assert_non_null(strstr(o.tail, want));
        (void) snprintf(want, sizeof(want), "main %d", (int) corral_backend_get_pid(b));
        assert_non_null(strstr(o.tail, want));
        /* the backend is not disturbed, and counts no leftover of the command's */
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        const recorded_event *e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.leftover, 0);
        corral_backend_unref(b);
}

/* What it started in the background is killed when it ends: its group is empty before done. */
static void test_leftovers_killed(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-left", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        outcome o;
        int pidfd;
        pid_t pid = 0;
        FILE *f;
        char path[600];

        harness_wait_ready(h, false);
        (void) snprintf(path, sizeof(path), "%s/left.pid", h->tmpdir);
        {
                char script[800];
                (void) snprintf(script, sizeof(script), "sleep 1000 & echo $! > %s; exit 0", path);
                (void) run(b, script, 0, &o);
        }
        assert_true(harness_run_until(h, o.done));
        assert_true(command_result_ok(&o.res));
        f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &pid), 1);
        fclose(f);
        unlink(path);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        /* gone already (ESRCH), or a zombie of ours the sweep reaps */
        if (pidfd >= 0) {
                harness_pidfd_wait(pidfd);
                close(pidfd);
        }
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

/* Its deadline: the whole group is killed, and it says it timed out. */
static void test_timeout(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-timeout", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        outcome o;

        harness_wait_ready(h, false);
        (void) run(b, "echo started >&2; sleep 1000 & sleep 1000", 200 * 1000, &o);
        assert_true(harness_run_until(h, o.done));
        assert_true(o.res.timed_out);
        assert_int_equal(o.res.si_code, CLD_KILLED);
        assert_int_equal(o.res.status, SIGKILL);
        assert_string_equal(o.tail, "started");
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

/* A command that cannot start says what failed, and leaves nothing. */
static void test_start_failure(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-enoent", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        char *argv[] = { "/nonexistent/command", NULL };
        _cleanup_free_ char *what = NULL;
        command *cmd = NULL;
        outcome o = { 0 };

        harness_wait_ready(h, false);
        assert_int_equal(backend_run_command(b, argv, 0, on_done, &o, &cmd, &what), -ENOENT);
        assert_null(cmd);
        assert_string_equal(what, "/nonexistent/command");
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_false(o.done);
        corral_backend_unref(b);
}

/* Cancelled: killed and waited for, done never called. */
static void test_cancel(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-cancel", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        outcome o;
        command *cmd;

        harness_wait_ready(h, false);
        cmd = run(b, "sleep 1000 & sleep 1000", 0, &o);
        assert_true(command_get_pid(cmd) > 0);
        command_free(cmd);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_false(o.done);
        corral_backend_unref(b);
}

/* The backend stopped while a command runs: the stop's kill ends the command too, whose leftover
 * group does not keep the leaf from going. */
static void test_backend_stopped_under_it(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-under", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        outcome o;

        harness_wait_ready(h, false);
        (void) run(b, "exec sleep 1000", 0, &o);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_true(harness_run_until(h, o.done));
        assert_int_equal(o.res.si_code, CLD_KILLED);
        corral_backend_unref(b);
}

/* The supervisor freed while a command runs: it is killed, nothing left (teardown checks). */
static void test_supervisor_freed(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "cmd-free", CORRAL_TYPE_SERVICE, SEC, "pause", NULL);
        outcome o;
        command *cmd;

        harness_wait_ready(h, false);
        cmd = run(b, "sleep 1000 & sleep 1000", 0, &o);
        h->c = corral_free(h->c);
        assert_int_equal(command_get_pid(cmd), 0);
        command_free(cmd); /* detached: only its memory is left */
        assert_false(o.done);
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exit_status_and_tail, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_leftovers_killed, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_timeout, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_start_failure, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_cancel, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_backend_stopped_under_it, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_supervisor_freed, harness_setup, harness_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
