/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-reload.c: corral_backend_reload() with real processes: ReloadSignal= delivered through the pidfd,
 * ExecReload= (with $MAINPID) whose exit status decides, systemd's notify-reload (RELOADING=1, then
 * READY=1: the reload waits for READY=1), its deadline, and a backend that says no way to reload. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MSEC 1000ULL
#define SEC  1000000ULL

typedef struct how {
        int sig;
        const char *exec[3];
        bool notify;
        uint64_t timeout;
} how;

static corral_backend *spawn_how(harness *h, const char *name, char **argv, const how *w) {
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_grace(s, 10 * SEC), 0);
        if (w->sig)
                assert_int_equal(corral_spec_set_reload_signal(s, w->sig), 0);
        for (int i = 0; i < 3 && w->exec[i]; i++)
                assert_int_equal(corral_spec_add_exec_reload(s, w->exec[i]), 0);
        if (w->notify)
                assert_int_equal(corral_spec_set_ready(s, CORRAL_READY_NOTIFY, w->timeout ?: 60 * SEC), 0);
        else if (w->timeout)
                assert_int_equal(corral_spec_set_ready(s, CORRAL_READY_NONE, w->timeout), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

static corral_backend *spawn_ticker(harness *h, const char *name, const how *w) {
        char *argv[] = { (char *) harness_helper(), "ticker", h->fifo, NULL };
        corral_backend *b = spawn_how(h, name, argv, w);

        harness_wait_ready(h, false);
        return b;
}

static void stop(harness *h, corral_backend *b) {
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

/* ReloadSignal=: delivered to the main process (the helper says T at each SIGUSR1); done then. */
static void test_reload_signal(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ticker(h, "rl-signal", &(how){ .sig = SIGUSR1 });
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOADED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        assert_string_equal(e->ev.message, "backend reloaded (SIGUSR1 delivered to its main process)");
        assert_int_equal(e->ev.reload_uid, (uid_t) -1); /* the library's caller: nobody named */
        assert_int_equal(e->ev.reload_pid, 0);
        harness_wait_said(h, 'T', 1);
        assert_int_equal(corral_backend_reload_by(b, 1000, 4242), 0);
        e = harness_wait_events(h, "rl-signal", CORRAL_EVENT_RELOADED, 2);
        assert_int_equal(e->ev.reload_uid, 1000);
        assert_int_equal(e->ev.reload_pid, 4242);
        harness_wait_said(h, 'T', 1);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        stop(h, b);
}

/* ExecReload=: run with $MAINPID; its exit 0 is the reload's success. */
static void test_exec_reload_mainpid(void **state) {
        harness *h = *state;
        corral_backend *b =
                spawn_ticker(h, "rl-exec", &(how){ .exec = { "/bin/sh -c 'kill -USR1 $MAINPID'" } });
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOADED);
        assert_string_equal(e->ev.message, "backend reloaded (ExecReload= done)");
        harness_wait_said(h, 'T', 1);
        stop(h, b);
}

/* ExecReload= that fails: reload-failed, naming it, with its stderr; the backend runs on. */
static void test_exec_reload_fails(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ticker(
                h, "rl-fail",
                &(how){ .exec = { "-/bin/false", "/bin/sh -c 'echo config broken >&2; exit 2'" } });
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOAD_FAILED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
        assert_non_null(strstr(e->ev.message, "reload failed: ExecReload=/bin/sh -c"));
        assert_non_null(strstr(e->ev.message, "exited with status 2: config broken"));
        assert_int_equal(e->ev.error, 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        stop(h, b);
}

/* Neither ExecReload= nor ReloadSignal=: nothing says how. */
static void test_not_supported(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ticker(h, "rl-none", &(how){ 0 });

        assert_int_equal(corral_backend_reload(b), -EOPNOTSUPP);
        stop(h, b);
}

/* A backend speaking systemd's notify-reload: READY=1 at start; at SIGHUP, RELOADING=1 with
 * MONOTONIC_USEC=, a pause, a file written, then READY=1 (unless told never to). */
static const char notify_script[] = "import os, signal, socket, sys, time\n"
                                    "def send(m):\n"
                                    "    a = os.environ['NOTIFY_SOCKET']\n"
                                    "    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                                    "    s.connect(a)\n"
                                    "    s.send(m.encode())\n"
                                    "    s.close()\n"
                                    "def hup(n, f):\n"
                                    "    send('RELOADING=1\\nMONOTONIC_USEC=%d' % "
                                    "(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000))\n"
                                    "    if sys.argv[2] == 'never':\n"
                                    "        return\n"
                                    "    time.sleep(0.3)\n"
                                    "    open(sys.argv[1], 'w').write('done')\n"
                                    "    send('READY=1')\n"
                                    "signal.signal(signal.SIGHUP, hup)\n"
                                    "send('READY=1')\n"
                                    "while True:\n"
                                    "    signal.pause()\n";

static corral_backend *spawn_notify(harness *h, const char *name, const char *mode, char *marker,
                                    size_t size, uint64_t timeout) {
        char script[400];
        char *argv[] = { "/usr/bin/python3", script, marker, (char *) mode, NULL };
        FILE *f;

        (void) snprintf(script, sizeof(script), "%s/notify.py", h->tmpdir);
        (void) snprintf(marker, size, "%s/reloaded", h->tmpdir);
        f = fopen(script, "we");
        assert_non_null(f);
        fputs(notify_script, f);
        fclose(f);
        if (access(argv[0], X_OK) != 0)
                skip();
        corral_backend *b =
                spawn_how(h, name, argv, &(how){ .sig = SIGHUP, .notify = true, .timeout = timeout });
        (void) harness_wait_event(h, b, CORRAL_EVENT_READY);
        return b;
}

/* notify-reload: the reload is done at READY=1 after RELOADING=1, not when the signal is out. */
static void test_notify_reload_waits_for_ready(void **state) {
        harness *h = *state;
        char marker[400];
        corral_backend *b = spawn_notify(h, "rl-notify", "ok", marker, sizeof(marker), 0);
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        assert_int_equal(corral_backend_reload(b), -EBUSY); /* one at a time: its event tells */
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOADED);
        assert_string_equal(e->ev.message, "backend reloaded (RELOADING=1, then READY=1)");
        assert_int_equal(access(marker, F_OK), 0); /* READY=1 came after the file: it waited */
        assert_int_equal(harness_count(h, CORRAL_EVENT_RELOADED), 1);
        stop(h, b);
}

/* RELOADING=1 and never READY=1: timed out at TimeoutStartSec=; the backend runs on. */
static void test_reload_timeout(void **state) {
        harness *h = *state;
        char marker[400];
        corral_backend *b = spawn_notify(h, "rl-timeout", "never", marker, sizeof(marker), 500 * MSEC);
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOAD_FAILED);
        assert_int_equal(e->ev.error, ETIMEDOUT);
        assert_string_equal(e->ev.message, "reload timed out: not done within 500 ms (no READY=1)");
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        stop(h, b);
}

/* A stop during an ExecReload=: the reload fails, nothing of it is left. */
static void test_stop_during_reload(void **state) {
        harness *h = *state;
        corral_backend *b =
                spawn_ticker(h, "rl-stop", &(how){ .exec = { "/bin/sh -c 'sleep 1000 & sleep 1000'" } });
        const recorded_event *e;

        assert_int_equal(corral_backend_reload(b), 0);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_RELOAD_FAILED);
        assert_non_null(strstr(e->ev.message, "reload failed"));
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_reload_signal, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_exec_reload_mainpid, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_exec_reload_fails, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_not_supported, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_notify_reload_waits_for_ready, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_reload_timeout, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_stop_during_reload, harness_setup, harness_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
