/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-backend.c: libcorral with real processes in real cgroups: spawn, stop, verdicts, leftovers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define MSEC 1000ULL
#define SEC  1000000ULL

static void assert_stopped(const recorded_event *r, corral_level level, bool escalated) {
        assert_int_equal(r->ev.type, CORRAL_EVENT_STOPPED);
        assert_int_equal(r->ev.level, level);
        assert_true(r->ev.intentional);
        assert_int_equal(r->ev.escalated, escalated);
        /* the kill of its cgroup, if there was one, is said in the message (how: the callers') */
        if (escalated)
                assert_true(strncmp(r->message, "backend stopped (cgroup killed", 30) == 0);
        else
                assert_string_equal(r->message, "backend stopped");
}

/* The classic false alarm: killed by our own SIGTERM, no exit code, yet a clean stop. */
static void test_stop_killed_by_sigterm_is_info(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "pause", CORRAL_TYPE_SERVICE, 10 * SEC, "pause", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_stopped(r, CORRAL_LEVEL_INFO, false);
        assert_int_equal(r->ev.how, CORRAL_HOW_KILLED);
        assert_int_equal(r->ev.signal, SIGTERM);
        assert_int_equal(r->ev.exit_code, -1);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STOPPING), 1);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        corral_backend_unref(b);
}

static void test_stop_clean_exit_is_info(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "srv", CORRAL_TYPE_SERVICE, 10 * SEC, "term-exit", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_stopped(r, CORRAL_LEVEL_INFO, false);
        assert_int_equal(r->ev.how, CORRAL_HOW_EXITED);
        assert_int_equal(r->ev.exit_code, 0);
        corral_backend_unref(b);
}

static void test_stop_ignoring_sigterm_is_killed_at_deadline_notice(void **state) {
        harness *h = *state;
        corral_backend *b =
                harness_spawn(h, "stubborn", CORRAL_TYPE_SERVICE, 200 * MSEC, "term-ignore", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_stopped(r, CORRAL_LEVEL_NOTICE, true);
        assert_string_equal(r->message, "backend stopped (cgroup killed at the deadline)");
        assert_int_equal(r->ev.how, CORRAL_HOW_KILLED);
        assert_int_equal(r->ev.signal, SIGKILL);
        assert_int_equal(r->ev.leftover, 0);
        assert_true(r->ev.runtime_usec >= 200 * MSEC); /* killed no earlier than the deadline */
        corral_backend_unref(b);
}

static void test_crash_without_stop_is_warning(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "crasher", CORRAL_TYPE_SERVICE, 10 * SEC, "segv", h->tmpdir);

        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_CRASHED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_false(r->ev.intentional);
        assert_int_equal(r->ev.how, CORRAL_HOW_DUMPED);
        assert_true(r->ev.core_dumped);
        assert_int_equal(r->ev.signal, SIGSEGV);
        assert_string_equal(r->message, "backend crashed (core dumped)");
        corral_backend_unref(b);
}

static void test_crash_while_stopping_is_warning(void **state) {
        harness *h = *state;
        corral_backend *b =
                harness_spawn(h, "abrt", CORRAL_TYPE_SERVICE, 10 * SEC, "abort-on-term", h->tmpdir);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_CRASHED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_true(r->ev.intentional);
        assert_int_equal(r->ev.signal, SIGABRT);
        corral_backend_unref(b);
}

static void test_double_stop_and_stop_after_gone(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "twice", CORRAL_TYPE_SERVICE, 10 * SEC, "term-exit", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_PENDING);
        assert_stopped(harness_wait_event(h, b, CORRAL_EVENT_STOPPED), CORRAL_LEVEL_INFO, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_ALREADY);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STOPPING), 1);
        assert_int_equal(harness_count(h, CORRAL_EVENT_STOPPED), 1);
        corral_backend_unref(b);
}

/* It exited on its own before the stop was asked for: that exit stays unexpected. */
static void test_stop_after_own_exit_stays_unexpected(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "quitter", CORRAL_TYPE_SERVICE, 10 * SEC, "exit", "3");
        int pidfd = (int) syscall(SYS_pidfd_open, corral_backend_get_pid(b), 0);

        assert_true(pidfd >= 0);
        harness_wait_ready(h, false);
        harness_pidfd_wait(pidfd); /* it has exited, but corral has not looked yet */
        close(pidfd);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_PENDING);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_EXITED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_false(r->ev.intentional);
        assert_int_equal(r->ev.exit_code, 3);
        assert_string_equal(r->message, "backend exited unexpectedly");
        assert_int_equal(harness_count(h, CORRAL_EVENT_STOPPING), 0);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_ALREADY);
        corral_backend_unref(b);
}

static void test_setsid_grandchild_does_not_survive_stop(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "forker", CORRAL_TYPE_SERVICE, 200 * MSEC, "grandchild", NULL);
        int gfd = harness_wait_ready(h, true);

        assert_false(harness_pidfd_exited(gfd));
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_stopped(r, CORRAL_LEVEL_NOTICE, true);
        assert_int_equal(r->ev.signal, SIGTERM); /* the main process obeyed */
        assert_int_equal(r->ev.leftover, 1);     /* the grandchild did not */
        harness_pidfd_wait(gfd);                 /* ended, if not yet a zombie (harness.h) */
        close(gfd);
        corral_backend_unref(b);
}

/* A double-forking daemon whose main process exits: the leftovers are killed and counted. */
static void test_leftovers_after_own_exit_are_killed(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "daemon", CORRAL_TYPE_SERVICE, 10 * SEC, "daemonize", NULL);
        int gfd = harness_wait_ready(h, true);

        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_EXITED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(r->ev.exit_code, 0);
        assert_int_equal(r->ev.leftover, 1);
        assert_true(r->ev.escalated);
        harness_pidfd_wait(gfd); /* ended, if not yet a zombie (harness.h) */
        close(gfd);
        corral_backend_unref(b);
}

static void test_task_exit_zero_is_finished(void **state) {
        harness *h = *state;
        corral_backend *t = harness_spawn(h, "job", CORRAL_TYPE_TASK, 10 * SEC, "exit", "0");
        const recorded_event *r = harness_wait_event(h, t, CORRAL_EVENT_FINISHED);

        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        assert_int_equal(r->ev.exit_code, 0);
        corral_backend_unref(t);
        harness_wait_ready(h, false);
}

static void test_task_exit_nonzero_and_service_exit_zero_are_unexpected(void **state) {
        harness *h = *state;
        corral_backend *t = harness_spawn(h, "job", CORRAL_TYPE_TASK, 10 * SEC, "exit", "1");
        const recorded_event *r = harness_wait_event(h, t, CORRAL_EVENT_EXITED);

        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(r->ev.exit_code, 1);
        corral_backend_unref(t);
        harness_wait_ready(h, false);

        corral_backend *s = harness_spawn(h, "svc", CORRAL_TYPE_SERVICE, 10 * SEC, "exit", "0");
        r = harness_wait_event(h, s, CORRAL_EVENT_EXITED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(r->ev.exit_code, 0);
        corral_backend_unref(s);
}

static void spawn_fails(harness *h, const char *cmd, int expect_errno) {
        char *argv[] = { (char *) cmd, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;
        unsigned before = h->n_events;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "broken"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), -expect_errno);
        corral_spec_free(s);
        assert_null(b);
        assert_int_equal(h->n_events, before + 1); /* reported synchronously */
        const recorded_event *r = &h->events[before];
        assert_int_equal(r->ev.type, CORRAL_EVENT_START_FAILED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_ERROR);
        assert_int_equal(r->ev.error, expect_errno);
        assert_non_null(strstr(r->message, strerror(expect_errno)));
        harness_assert_no_leftovers(h->root);
        assert_int_equal(corral_count(h->c), 0);
}

static void test_missing_or_unexecutable_binary_is_start_failed(void **state) {
        harness *h = *state;
        char noexec[512];
        FILE *f;

        spawn_fails(h, "/nonexistent/corral-test-binary", ENOENT);
        spawn_fails(h, "corral-test-no-such-command-in-path", ENOENT);
        snprintf(noexec, sizeof(noexec), "%s/noexec", h->tmpdir);
        f = fopen(noexec, "w");
        assert_non_null(f);
        fputs("#!/bin/sh\n", f);
        fclose(f);
        assert_int_equal(chmod(noexec, 0644), 0);
        spawn_fails(h, noexec, EACCES);
}

static void test_child_gets_clean_stdio_and_no_fds(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "fds", NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "fds"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0); /* the harness holds fifo and dirs open */
        corral_spec_free(s);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_FINISHED);
        assert_int_equal(r->ev.exit_code, 0);
        corral_backend_unref(b);
}

/* How many of our fds are the pipe, socket or file with this inode. */
static int fds_on_inode(ino_t ino) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        struct stat st;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (atoi(de->d_name) != dirfd(d) && fstat(atoi(de->d_name), &st) == 0 && st.st_ino == ino)
                        n++;
        closedir(d);
        return n;
}

/* With many fds of ours open (as corrald with thousands of backends), a child still gets none of
 * them, and no end of its output pipes stays with us but the read end: the fds it needs pass
 * through the spawn window and the window's slots go back on /dev/null. */
static void test_many_fds_of_ours_stay_ours(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "fds", NULL };
        char path[64];
        int extra[600];
        corral_backend *b = NULL;
        corral_spec *s = NULL;
        struct stat st;

        for (int i = 0; i < 600; i += 2)
                assert_int_equal(pipe2(&extra[i], O_CLOEXEC), 0);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "fds"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_FINISHED)->ev.exit_code, 0);
        corral_backend_unref(b);

        b = harness_spawn(h, "pipes", CORRAL_TYPE_SERVICE, 10 * SEC, "pause", NULL);
        harness_wait_ready(h, false);
        for (int fd = 1; fd <= 2; fd++) {
                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) corral_backend_get_pid(b), fd);
                assert_int_equal(stat(path, &st), 0);
                assert_true(S_ISFIFO(st.st_mode));
                assert_int_equal(fds_on_inode(st.st_ino), 1); /* our read end, no write end */
        }
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        assert_true(harness_wait_event(h, b, CORRAL_EVENT_STOPPED)->ev.intentional);
        corral_backend_unref(b);
        for (int i = 0; i < 600; i++)
                close(extra[i]);
}

/* StopAll signals every backend at once, under one deadline. Whether one that obeys SIGTERM is
 * gone before a deadline depends on how busy the machine is, so those are stopped under a grace
 * no machine overruns (and the one among them that does not obey is then ended by us); that
 * those that do not obey are killed at the deadline, at notice, is shown under a short one, which
 * only their not obeying makes them reach. */
static void test_stop_all_under_one_deadline(void **state) {
        harness *h = *state;
        const char *const modes[] = { "term-exit", "term-ignore", "pause", "term-ignore", "term-ignore" };
        corral_backend *b[5];
        const recorded_event *r;
        int pidfd;

        for (int i = 0; i < 3; i++) {
                char name[2] = { (char) ('a' + i), '\0' };
                b[i] = harness_spawn(h, name, CORRAL_TYPE_SERVICE, 10 * SEC, modes[i], NULL);
                harness_wait_ready(h, false);
        }
        assert_int_equal(corral_count(h->c), 3);
        assert_int_equal(corral_stop_all(h->c, 60 * SEC), 3);
        for (int i = 0; i < 3; i += 2) {
                r = harness_wait_event(h, b[i], CORRAL_EVENT_STOPPED);
                assert_true(r->ev.intentional);
                assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
                assert_false(r->ev.escalated);
        }
        pidfd = (int) syscall(SYS_pidfd_open, corral_backend_get_pid(b[1]), 0);
        assert_true(pidfd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), 0);
        close(pidfd);
        r = harness_wait_event(h, b[1], CORRAL_EVENT_STOPPED);
        assert_true(r->ev.intentional); /* it was being stopped: however it ended, that is a stop */
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);

        for (int i = 3; i < 5; i++) {
                char name[2] = { (char) ('a' + i), '\0' };
                b[i] = harness_spawn(h, name, CORRAL_TYPE_SERVICE, 10 * SEC, modes[i], NULL);
                harness_wait_ready(h, false);
        }
        assert_int_equal(corral_stop_all(h->c, 200 * MSEC), 2);
        for (int i = 3; i < 5; i++) {
                r = harness_wait_event(h, b[i], CORRAL_EVENT_STOPPED);
                assert_true(r->ev.intentional);
                assert_int_equal(r->ev.level, CORRAL_LEVEL_NOTICE);
                assert_true(r->ev.escalated);
                assert_int_equal(r->ev.signal, SIGKILL);
        }
        for (int i = 0; i < 5; i++)
                corral_backend_unref(b[i]);
        assert_int_equal(corral_count(h->c), 0);
}

/* corral_free() with backends still running leaves nothing behind (teardown checks): it returns
 * once every process of theirs has ended and is reaped, not only once their leaves are empty. */
static void test_free_kills_live_backends(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "left", CORRAL_TYPE_SERVICE, 10 * SEC, "grandchild", NULL);
        int gfd = harness_wait_ready(h, true);

        h->c = corral_free(h->c);
        assert_true(harness_pidfd_exited(gfd));
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_ALREADY);
        close(gfd);
        corral_backend_unref(b);
}

static void test_leaf_is_in_the_given_root(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "where", CORRAL_TYPE_SERVICE, 10 * SEC, "pause", NULL);
        char path[1024], procs[64] = "";
        FILE *f;

        harness_wait_ready(h, false);
        snprintf(path, sizeof(path), "%s/where.%s/cgroup.procs", h->root, corral_backend_get_launch(b));
        f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(fgets(procs, sizeof(procs), f));
        fclose(f);
        assert_int_equal(atoi(procs), corral_backend_get_pid(b));
        assert_non_null(strstr(path, corral_backend_get_cgroup(b)));
        assert_int_equal(corral_stop(b, 0), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_stopped(r, CORRAL_LEVEL_NOTICE, true);
        assert_string_equal(r->message, "backend stopped (cgroup killed)"); /* no grace: no deadline */
        corral_backend_unref(b);
}

static bool have_zombie(void) {
        siginfo_t si = { 0 };
        return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

/* As subreaper, corral reaps a backend's dead orphans while the backend runs on. */
static void test_orphans_are_reaped_while_backend_runs(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "parent", CORRAL_TYPE_SERVICE, 10 * SEC, "orphan", NULL);
        int gfd = harness_wait_ready(h, true);

        harness_pidfd_wait(gfd);
        close(gfd);
        assert_true(harness_run_until(h, !have_zombie()));
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        assert_stopped(harness_wait_event(h, b, CORRAL_EVENT_STOPPED), CORRAL_LEVEL_INFO, false);
        corral_backend_unref(b);
}

/* A spec of its rlimit (kept apart from the spec's fixed part): frozen, or copied by corral_spawn(). */
static corral_spec *spec_with_rlimit(bool frozen) {
        char *argv[] = { "/bin/sh", "-c", "test \"$(ulimit -n)\" = 77", NULL };
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, frozen ? "frozen" : "copied"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spec_set_rlimit(s, RLIMIT_NOFILE, 77, 77), 0);
        if (frozen)
                assert_ptr_equal(corral_spec_freeze(s), s);
        return s;
}

/* A frozen spec is shared by the backends spawned from it, not copied: it outlives its owner's
 * free, and what it says reaches each child, as a copied spec's does. */
static void test_frozen_spec_is_shared_and_outlives_its_owner(void **state) {
        harness *h = *state;
        corral_backend *b[3] = { NULL };
        corral_spec *frozen = spec_with_rlimit(true), *copied = spec_with_rlimit(false);

        assert_int_equal(corral_spawn(h->c, frozen, &b[0]), 0);
        assert_int_equal(corral_spawn(h->c, frozen, &b[1]), 0);
        assert_int_equal(corral_spawn(h->c, copied, &b[2]), 0);
        corral_spec_free(frozen); /* the backends keep it */
        corral_spec_free(copied);
        for (int i = 0; i < 3; i++) {
                const recorded_event *r = harness_wait_event(h, b[i], CORRAL_EVENT_FINISHED);
                assert_int_equal(r->ev.exit_code, 0);
                assert_string_equal(corral_backend_get_name(b[i]), i < 2 ? "frozen" : "copied");
                corral_backend_unref(b[i]);
        }
}

/* corral_free() returns once the processes it killed have ended and are reaped. On 6.1 a killed
 * orphan leaves its leaf before it is a zombie: before corral_free() waited for their pidfds, a
 * zombie was left after it in 33 of 600 rounds in tests/system/test-vm (0 of 600 since; never on
 * 6.18, where the leaf empties after). Rounds, as one is a race. */
static void test_free_leaves_no_zombie(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "grandchild", h->fifo, NULL };

        for (int i = 0; i < 50; i++) {
                corral *c = NULL;
                corral_spec *s = NULL;
                corral_backend *b = NULL;
                int gfd;

                assert_int_equal(corral_new(&c, h->root, CORRAL_NEW_SUBREAPER), 0);
                assert_int_equal(corral_spec_new(&s), 0);
                assert_int_equal(corral_spec_set_name(s, "round"), 0);
                assert_int_equal(corral_spec_set_argv(s, argv), 0);
                assert_int_equal(corral_spawn(c, s, &b), 0);
                corral_spec_free(s);
                gfd = harness_wait_ready(h, true);
                corral_backend_unref(b);
                corral_free(c);
                assert_true(harness_pidfd_exited(gfd));
                if (have_zombie())
                        fail_msg("a zombie is left after corral_free() (round %d)", i);
                close(gfd);
        }
}

static corral_backend *spawn_sh(harness *h, const char *script, char *const *envp, const char *cwd,
                                int expect) {
        char *argv[] = { "/bin/sh", "-c", (char *) script, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "sh"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spec_set_environment(s, envp), 0);
        assert_int_equal(corral_spec_set_working_directory(s, cwd), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), expect);
        corral_spec_free(s);
        return b;
}

static void test_environment_and_working_directory(void **state) {
        harness *h = *state;
        char *env[] = { "FOO=bar", "PATH=/usr/bin:/bin", NULL };
        char script[512];
        corral_backend *b;

        snprintf(script, sizeof(script), "test \"$FOO\" = bar && test \"$(pwd)\" = %s && test -z \"$HOME\"",
                 h->tmpdir);
        b = spawn_sh(h, script, env, h->tmpdir, 0);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_FINISHED)->ev.exit_code, 0);
        corral_backend_unref(b);

        /* Added to ours rather than instead of it: our PATH is there, and FOO. */
        corral_spec *x = NULL;
        char *add[] = { "FOO=added", NULL };
        char *argv[] = { "/bin/sh", "-c", "test \"$FOO\" = added && test -n \"$PATH\"", NULL };
        assert_int_equal(corral_spec_new(&x), 0);
        assert_int_equal(corral_spec_set_name(x, "extend"), 0);
        assert_int_equal(corral_spec_set_argv(x, argv), 0);
        assert_int_equal(corral_spec_set_type(x, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spec_add_environment(x, add), 0);
        assert_int_equal(corral_spawn(h->c, x, &b), 0);
        corral_spec_free(x);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_FINISHED)->ev.exit_code, 0);
        corral_backend_unref(b);

        char *bad[] = { "NOEQUALS", NULL };
        corral_spec *s = NULL;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_environment(s, bad), -EINVAL);
        assert_int_equal(corral_spec_set_working_directory(s, "relative/dir"), -EINVAL);
        corral_spec_free(s);

        unsigned before = h->n_events;
        assert_null(spawn_sh(h, "true", NULL, "/nonexistent/dir", -ENOENT));
        assert_int_equal(h->events[before].ev.type, CORRAL_EVENT_START_FAILED);
        assert_string_equal(
                h->events[before].message,
                "backend failed to start: working directory /nonexistent/dir: No such file or directory");
}

/* The stop records who asked; the verdict carries it. */
static void test_stop_by_records_the_requester(void **state) {
        harness *h = *state;
        corral_backend *b = harness_spawn(h, "asked", CORRAL_TYPE_SERVICE, 10 * SEC, "pause", NULL);

        harness_wait_ready(h, false);
        assert_int_equal(corral_stop_by(b, CORRAL_GRACE_DEFAULT, 1000, 4242), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(r->ev.stop_uid, 1000);
        assert_int_equal(r->ev.stop_pid, 4242);
        corral_backend_unref(b);
}

static corral_spec *ids_spec(harness *h, const char *user) {
        char *argv[] = { (char *) harness_helper(), "ids", h->fifo, NULL };
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "who"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        assert_int_equal(corral_spec_set_user(s, user), 0);
        return s;
}

/* A backend run as an unprivileged user really runs as it, with the limits asked for. */
static void test_runs_as_an_unprivileged_user(void **state) {
        harness *h = *state;
        corral_spec *s = ids_spec(h, "nobody");
        corral_backend *b = NULL;
        char want[64];

        assert_int_equal(chmod(h->tmpdir, 0755), 0); /* nobody must reach the fifo */
        assert_int_equal(chmod(h->fifo, 0666), 0);
        assert_int_equal(corral_spec_set_umask(s, 027), 0);
        assert_int_equal(corral_spec_set_no_new_privileges(s, true), 0);
        assert_int_equal(corral_spec_set_rlimit(s, RLIMIT_NOFILE, 321, 4096), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_FINISHED)->ev.exit_code, 0);
        harness_wait_ready(h, false);
        struct passwd *pw = getpwnam("nobody");
        assert_non_null(pw);
        snprintf(want, sizeof(want), "I%u:%u:", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid);
        assert_non_null(strstr(h->ready_buf, want));
        if (!strstr(h->ready_buf, ":027:321:1\n"))
                fail_msg("the helper said %s", h->ready_buf);
        corral_backend_unref(b);
}

static void test_bad_user_group_and_directory_are_start_failed(void **state) {
        harness *h = *state;
        corral_spec *s = ids_spec(h, "no-such-user-here");
        corral_backend *b = NULL;
        char dir[512];

        assert_int_equal(corral_spawn(h->c, s, &b), -ESRCH);
        assert_string_equal(h->events[h->n_events - 1].message,
                            "backend failed to start: no such user 'no-such-user-here'");
        assert_int_equal(corral_spec_set_user(s, NULL), 0);
        assert_int_equal(corral_spec_set_group(s, "no-such-group-here"), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), -ESRCH);
        assert_string_equal(h->events[h->n_events - 1].message,
                            "backend failed to start: no such group 'no-such-group-here'");
        /* A directory only root may enter: as nobody, the child's chdir fails, and says so. */
        snprintf(dir, sizeof(dir), "%s/private", h->tmpdir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(h->tmpdir, 0755), 0);
        assert_int_equal(corral_spec_set_group(s, NULL), 0);
        assert_int_equal(corral_spec_set_user(s, "nobody"), 0);
        assert_int_equal(corral_spec_set_working_directory(s, dir), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), -EACCES);
        assert_non_null(strstr(h->events[h->n_events - 1].message, "working directory"));
        assert_non_null(strstr(h->events[h->n_events - 1].message, "Permission denied"));
        assert_int_equal(corral_spec_set_rlimit(s, RLIMIT_NOFILE, 10, 5), -EINVAL);
        assert_int_equal(corral_spec_set_umask(s, 01000), -EINVAL);
        corral_spec_free(s);
        rmdir(dir);
        harness_assert_no_leftovers(h->root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
                T(test_stop_killed_by_sigterm_is_info),
                T(test_stop_clean_exit_is_info),
                T(test_stop_ignoring_sigterm_is_killed_at_deadline_notice),
                T(test_crash_without_stop_is_warning),
                T(test_crash_while_stopping_is_warning),
                T(test_double_stop_and_stop_after_gone),
                T(test_stop_after_own_exit_stays_unexpected),
                T(test_setsid_grandchild_does_not_survive_stop),
                T(test_leftovers_after_own_exit_are_killed),
                T(test_task_exit_zero_is_finished),
                T(test_task_exit_nonzero_and_service_exit_zero_are_unexpected),
                T(test_missing_or_unexecutable_binary_is_start_failed),
                T(test_child_gets_clean_stdio_and_no_fds),
                T(test_many_fds_of_ours_stay_ours),
                T(test_stop_all_under_one_deadline),
                T(test_free_kills_live_backends),
                T(test_leaf_is_in_the_given_root),
                T(test_orphans_are_reaped_while_backend_runs),
                T(test_frozen_spec_is_shared_and_outlives_its_owner),
                T(test_free_leaves_no_zombie),
                T(test_environment_and_working_directory),
                T(test_stop_by_records_the_requester),
                T(test_runs_as_an_unprivileged_user),
                T(test_bad_user_group_and_directory_are_start_failed),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
