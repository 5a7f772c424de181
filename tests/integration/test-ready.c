/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ready.c: readiness by sd_notify: believed only from the backend's own cgroup; a start timeout. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define MSEC 1000ULL
#define SEC  1000000ULL

/* Each read of $CORRAL_DISABLE by the library (linked in statically: this definition is the one
 * it calls), counted: it is read once, at corral_new(), never at each Ready=tcp probe. */
static unsigned disable_reads;

char *secure_getenv(const char *name) {
        if (strcmp(name, "CORRAL_DISABLE") == 0)
                disable_reads++;
        return getenv(name);
}

static corral_backend *spawn_ready(harness *h, const char *name, const char *mode, uint64_t timeout) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready(s, CORRAL_READY_NOTIFY, timeout), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

static void test_ready_from_the_main_process(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ready(h, "model", "notify-ready", 30 * SEC);

        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STARTING);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_string_equal(corral_backend_get_status_text(b), "loading model");
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_STOPPED)->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

/* READY=1 from a process outside the backend's cgroup (this test) is not believed. The helper is
 * then asked (SIGUSR1) to send a STATUS= of its own to the same socket: once corral has that,
 * it has read the forged one before it, so the test knows without waiting for a time. */
static void test_forged_ready_is_refused(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ready(h, "waiting", "notify-never", 60 * SEC);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *name;
        int fd;

        harness_wait_ready(h, false);
        name = strchr(h->ready_buf, 'N');
        assert_non_null(name);
        name++;
        size_t len = strcspn(name, "\n");
        assert_true(len > 1 && name[0] == '/' && len < sizeof(sa.sun_path)); /* a socket of its own */
        memcpy(sa.sun_path, name, len);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        /* root may send to any socket: only the cgroup check stands between it and READY=1 */
        assert_int_equal(sendto(fd, "READY=1", 7, 0, (struct sockaddr *) &sa, sizeof(sa)), 7);
        close(fd);
        fd = (int) syscall(SYS_pidfd_open, corral_backend_get_pid(b), 0);
        assert_true(fd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0), 0);
        close(fd);
        if (!harness_run_until(h,
                               corral_backend_get_status_text(b) &&
                                       strcmp(corral_backend_get_status_text(b), "still starting") == 0))
                fail_msg("the helper's own STATUS= never came (hang guard)");
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STARTING);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_STOPPED)->ev.level, CORRAL_LEVEL_INFO);
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        corral_backend_unref(b);
}

/* Never ready: the start timeout makes it start-failed, its cgroup killed. The helper is not
 * waited for: on a busy machine the timeout may come before it has run at all, to the same end. */
static void test_start_timeout_kills_what_is_never_ready(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ready(h, "waiting", "notify-never", 300 * MSEC);

        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_ERROR);
        assert_string_equal(r->message, "backend failed to start: not ready within 300 ms");
        assert_true(r->ev.escalated);
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        corral_backend_unref(b);
}

/* Dies before it is ready: its own verdict at once, not a timeout. */
static void test_death_before_ready_fails_fast(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "exit", h->fifo, "5", NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "early"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready(s, CORRAL_READY_NOTIFY, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_ERROR);
        assert_int_equal(r->ev.how, CORRAL_HOW_EXITED);
        assert_int_equal(r->ev.exit_code, 5);
        assert_string_equal(r->message, "backend failed to start: it ended before it was ready");
        /* the last five lines of what it said on stderr, which is where the reason usually is */
        assert_string_equal(r->stderr_tail, "err 3\nerr 4\nerr 5\nerr 6\nerr 7");
        harness_wait_ready(h, false);
        corral_backend_unref(b);
}

/* STOPPING=1: it says it is shutting down; it is stopping, and its clean exit is finished (info),
 * not an unexpected exit, yet not a stop anyone asked for. */
static void test_stopping_announced_then_clean_exit(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ready(h, "selfstop", "notify-stopping", 30 * SEC);

        harness_wait_event(h, b, CORRAL_EVENT_READY);
        const recorded_event *s = harness_wait_event(h, b, CORRAL_EVENT_STOPPING);
        assert_int_equal(s->ev.level, CORRAL_LEVEL_INFO);
        assert_false(s->ev.intentional);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_FINISHED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        assert_false(r->ev.intentional);
        assert_int_equal(r->ev.exit_code, 0);
        assert_int_equal(harness_count(h, CORRAL_EVENT_EXITED), 0);
        harness_wait_ready(h, false);
        corral_backend_unref(b);
}

/* A stop while it starts is a stop like any other. */
static void test_stop_while_starting(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_ready(h, "slowstart", "notify-never", 60 * SEC);

        harness_wait_ready(h, false);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STARTING);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

static corral_backend *spawn_dog(harness *h, uint64_t period) {
        char ms[32];
        char *argv[] = { (char *) harness_helper(), "notify-watchdog", h->fifo, ms, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        snprintf(ms, sizeof(ms), "%llu", (unsigned long long) (period / MSEC));
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "dog"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready(s, CORRAL_READY_NOTIFY, 60 * SEC), 0);
        /* Long enough for any start; the helper then makes its period the one tried (WATCHDOG_USEC=). */
        assert_int_equal(corral_spec_set_watchdog(s, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

/* Pings keep it alive; silence past the period kills it, with its own verdict. The helper pings
 * every quarter period for two periods and only then says R: alive to say it only if each ping
 * put the deadline off. A machine too busy to let it ping within a period kills it before R, to
 * no conclusion: the period is doubled and it tries again, so no time is assumed, yet pings
 * that never count fail the test. */
static void test_missed_watchdog(void **state) {
        harness *h = *state;
        char want[64];

        for (uint64_t period = 100 * MSEC;; period *= 2) {
                corral_backend *b = spawn_dog(h, period);
                const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_WATCHDOG);
                assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
                assert_false(r->ev.intentional);
                assert_true(r->ev.escalated);
                snprintf(want, sizeof(want), "backend missed its watchdog (%llu ms)",
                         (unsigned long long) (period / MSEC));
                assert_string_equal(r->message, want);
                harness_wait_event(h, b, CORRAL_EVENT_READY);
                corral_backend_unref(b);
                if (harness_fifo_has(h, 'R')) /* it is gone: all it said is in the fifo */
                        break;
                if (period >= 6400 * MSEC)
                        fail_msg("WATCHDOG=1 never kept the helper alive, up to a period of %llu ms",
                                 (unsigned long long) (period / MSEC));
                printf("# no ping within %llu ms on this machine: again with twice the period\n",
                       (unsigned long long) (period / MSEC));
        }
}

static corral_backend *spawn_tcp(harness *h, const char *name, unsigned port, const char *arg,
                                 uint64_t timeout) {
        char *argv[] = { (char *) harness_helper(), "listen-after", h->fifo, (char *) arg, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "127.0.0.1", port, timeout), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

/* Ready once something accepts connections on the address, however long it takes to bind; the
 * probes until then never read the environment again. */
static void test_tcp_ready(void **state) {
        harness *h = *state;
        unsigned port = harness_free_port();
        unsigned reads = disable_reads;
        char arg[32];

        snprintf(arg, sizeof(arg), "150:%u", port);
        corral_backend *b = spawn_tcp(h, "web", port, arg, 30 * SEC);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STARTING);
        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(disable_reads, reads);
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

static void test_tcp_never_listening_times_out(void **state) {
        harness *h = *state;
        unsigned port = harness_free_port();
        corral_backend *b = spawn_tcp(h, "deaf", port, "100000:1", 300 * MSEC);
        corral_spec *s = NULL;

        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(r->message, "backend failed to start: not ready within 300 ms");
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        corral_backend_unref(b);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "example.com", 80, 0),
                         -EINVAL); /* no DNS in the loop */
        assert_int_equal(corral_spec_set_ready_tcp(s, "::1", 0, 0), -EINVAL);
        assert_int_equal(corral_spec_set_ready_tcp(s, "::1", 8080, 0), 0);
        corral_spec_free(s);
}

/* A socket of the test's own listening on 127.0.0.1:port (a process outside any backend). */
static int listen_outside(unsigned *ret_port) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        *ret_port = ntohs(sin.sin_port);
        return fd;
}

/* Another process already listens on the port (a first nginx, say): connections succeed, yet
 * not to this backend, which will fail to bind. It is never ready: its start times out, and the
 * verdict says why. */
static void test_tcp_port_held_outside_is_not_ready(void **state) {
        harness *h = *state;
        unsigned port;
        int fd = listen_outside(&port);
        char arg[32], want[160];

        snprintf(arg, sizeof(arg), "100000:%u", port); /* it would bind only much later */
        corral_backend *b = spawn_tcp(h, "second", port, arg, 2 * SEC);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        snprintf(want, sizeof(want),
                 "backend failed to start: not ready within 2000 ms (port 127.0.0.1:%u held by a process "
                 "outside the backend)",
                 port);
        assert_string_equal(r->message, want);
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        close(fd);
        corral_backend_unref(b);
}

/* PrivateNetwork=: its listener is in a network namespace of its own, where readiness looks, with
 * inet_diag or from /proc/PID/net/tcp of its process without it (test-ready-no-sockdiag). The same
 * port in ours, held by the test, neither makes a backend that never listens ready nor stops one
 * that does from being ready. */
static void test_tcp_private_network(void **state) {
        harness *h = *state;
        unsigned port;
        int fd = listen_outside(&port);
        char arg[32];
        corral_backend *b = NULL;
        corral_spec *s = NULL;
        char *argv[] = { (char *) harness_helper(), "listen-after", h->fifo, arg, NULL };

        snprintf(arg, sizeof(arg), "100000:%u", port); /* it would bind only much later */
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "deaf"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_private_network(s, true), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "127.0.0.1", port, 2 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(r->message, "backend failed to start: not ready within 2000 ms");
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        corral_backend_unref(b);

        snprintf(arg, sizeof(arg), "150:%u", port);
        assert_int_equal(corral_spec_set_name(s, "isolated"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "127.0.0.1", port, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
        close(fd);
}

/* The same, as it happens with nginx: the second server tries to bind for a while, fails and
 * exits; it was never ready (it used to be, at the first look, connecting to the first one). */
static void test_tcp_bind_failure_is_start_failed(void **state) {
        harness *h = *state;
        unsigned port;
        int fd = listen_outside(&port);
        char arg[32];

        snprintf(arg, sizeof(arg), "300:%u", port);
        corral_backend *b = spawn_tcp(h, "second", port, arg, 60 * SEC);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(r->message, "backend failed to start: it ended before it was ready");
        assert_int_equal(r->ev.exit_code, 96);
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        close(fd);
        corral_backend_unref(b);
}

/* A listener made by a grandchild in a session of its own (the main process's child exited) is
 * still the backend's: it is in its cgroup. */
static void test_tcp_grandchild_listener_counts(void **state) {
        harness *h = *state;
        unsigned port = harness_free_port();
        char *argv[] = { (char *) harness_helper(), "listen-grandchild", h->fifo, NULL, NULL };
        char arg[16];
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        snprintf(arg, sizeof(arg), "%u", port);
        argv[3] = arg;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "forking"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_ready_tcp(s, "127.0.0.1", port, 60 * SEC), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
                T(test_ready_from_the_main_process),
                T(test_forged_ready_is_refused),
                T(test_start_timeout_kills_what_is_never_ready),
                T(test_death_before_ready_fails_fast),
                T(test_stop_while_starting),
                T(test_stopping_announced_then_clean_exit),
                T(test_missed_watchdog),
                T(test_tcp_ready),
                T(test_tcp_never_listening_times_out),
                T(test_tcp_port_held_outside_is_not_ready),
                T(test_tcp_bind_failure_is_start_failed),
                T(test_tcp_grandchild_listener_counts),
                T(test_tcp_private_network),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
