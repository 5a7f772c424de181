/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-health.c: readiness by HTTP, and health checks: a server that stops answering is killed as unhealthy
 * and restarted; one that answers is left alone; none runs while a backend starts or stops. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define MSEC 1000ULL
#define SEC  1000000ULL

/* The helper's HTTP server answering every request with status; ready (and, with health, checked)
 * by GET /healthz. */
static corral_spec *http_spec(harness *h, const char *name, int status, unsigned port, char *arg,
                              size_t size) {
        char *argv[] = { (char *) harness_helper(), "http", h->fifo, arg, NULL };
        char url[64];
        corral_spec *s = NULL;

        snprintf(arg, size, "%d:%u", status, port);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_readiness(s, url), 0);
        return s;
}

/* How often the helpers said c since the last look (read now, without waiting). */
static unsigned heard(harness *h, char c) {
        unsigned n = 0;

        (void) harness_fifo_has(h, c);
        for (const char *p = h->ready_buf; *p; p++)
                n += *p == c;
        return n;
}

/* Run corral's loop (which makes the requests) until the helper has answered n of them. */
static void wait_answers(harness *h, unsigned n) {
        unsigned got = 0;

        if (!harness_run_until(h, (got += heard(h, 'H')) >= n))
                fail_msg("the helper answered %u requests of %u (hang guard)", got, n);
}

static corral_backend *spawn(harness *h, corral_spec *s) {
        corral_backend *b = NULL;

        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

static void stop(harness *h, corral_backend *b) {
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        assert_int_equal(harness_wait_event(h, b, CORRAL_EVENT_STOPPED)->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

/* Ready once its own listener answers a GET with 2xx: the request was made (the server says H). */
static void test_http_ready(void **state) {
        harness *h = *state;
        char arg[32];
        corral_backend *b = spawn(h, http_spec(h, "web", 204, harness_free_port(), arg, sizeof(arg)));

        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        wait_answers(h, 1);
        stop(h, b);
}

/* A 500 is not ready: the start times out, saying what it last got. */
static void test_http_500_is_not_ready(void **state) {
        harness *h = *state;
        char arg[32];
        corral_spec *s = http_spec(h, "broken", 500, harness_free_port(), arg, sizeof(arg));

        assert_int_equal(corral_spec_set_start_timeout(s, 2 * SEC), 0);
        corral_backend *b = spawn(h, s);
        wait_answers(h, 1); /* it was asked at least once before the timeout */
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(r->message, "backend failed to start: not ready within 2000 ms (HTTP 500)");
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        corral_backend_unref(b);
}

/* A port another process holds answers 200 (the test's own server would), but never for it. */
static void test_http_port_held_outside_is_not_ready(void **state) {
        harness *h = *state;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char arg[32], want[160];

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        corral_spec *s = http_spec(h, "second", 200, ntohs(sin.sin_port), arg, sizeof(arg));
        assert_int_equal(corral_spec_set_start_timeout(s, 2 * SEC), 0);
        corral_backend *b = spawn(h, s);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        /* it may be judged as it ends (it cannot bind) or at the timeout: never ready either way */
        if (strstr(r->message, "not ready within")) {
                snprintf(want, sizeof(want),
                         "backend failed to start: not ready within 2000 ms (port 127.0.0.1:%u held by a "
                         "process outside the backend)",
                         ntohs(sin.sin_port));
                assert_string_equal(r->message, want);
        }
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        close(fd);
        corral_backend_unref(b);
}

static corral_spec *checked_spec(harness *h, const char *name, unsigned port, char *arg, size_t size,
                                 uint64_t interval, uint64_t timeout, unsigned failures) {
        corral_spec *s = http_spec(h, name, 200, port, arg, size);
        char url[64];

        snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
        assert_int_equal(corral_spec_set_health_check(s, url), 0);
        assert_int_equal(corral_spec_set_health_check_interval(s, interval), 0);
        assert_int_equal(corral_spec_set_health_check_timeout(s, timeout), 0);
        assert_int_equal(corral_spec_set_health_check_failures(s, failures), 0);
        return s;
}

/* A server that stops answering (SIGSTOP: it still listens) fails its checks: killed, unhealthy
 * at warning, and restarted by Restart=on-failure; the new launch is ready and healthy again. */
static void test_stopped_server_is_unhealthy_and_restarted(void **state) {
        harness *h = *state;
        char arg[32];
        corral_spec *s =
                checked_spec(h, "frozen", harness_free_port(), arg, sizeof(arg), 100 * MSEC, 1 * SEC, 2);
        unsigned failures = 99;
        int pidfd;

        assert_int_equal(corral_spec_set_restart_policy(s, CORRAL_RESTART_ON_FAILURE), 0);
        corral_backend *b = spawn(h, s);
        const recorded_event *e = harness_wait_event(h, b, CORRAL_EVENT_HEALTH);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        assert_string_equal(e->message, "backend healthy");
        assert_int_equal(e->ev.health, CORRAL_HEALTH_HEALTHY);
        assert_int_equal(corral_backend_get_health(b, &failures), CORRAL_HEALTH_HEALTHY);
        assert_int_equal(failures, 0);
        pidfd = (int) syscall(SYS_pidfd_open, corral_backend_get_pid(b), 0);
        assert_true(pidfd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, pidfd, SIGSTOP, NULL, 0), 0);
        close(pidfd);
        e = harness_wait_events(h, "frozen", CORRAL_EVENT_HEALTH, 2);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
        assert_string_equal(e->message, "health check failed (1 of 2 in a row): no answer within 1000 ms");
        assert_int_equal(e->ev.health, CORRAL_HEALTH_UNHEALTHY);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_UNHEALTHY);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(r->ev.health, CORRAL_HEALTH_UNHEALTHY);
        assert_false(r->ev.intentional);
        assert_true(r->ev.escalated);
        assert_int_equal(r->ev.signal, SIGKILL);
        assert_string_equal(
                r->message,
                "backend unhealthy: 2 health checks failed in a row (last: no answer within 1000 ms)");
        harness_wait_event(h, b, CORRAL_EVENT_RESTARTING);
        harness_wait_events(h, "frozen", CORRAL_EVENT_READY, 2);
        e = harness_wait_events(h, "frozen", CORRAL_EVENT_HEALTH, 3);
        assert_string_equal(e->message, "backend healthy");
        stop(h, b);
}

/* One that answers is checked again and again and left alone, even on a busy machine: the
 * timeout is generous, and a single slow answer would not be enough. */
static void test_healthy_server_stays(void **state) {
        harness *h = *state;
        char arg[32];
        unsigned failures = 99;
        corral_backend *b = spawn(
                h, checked_spec(h, "steady", harness_free_port(), arg, sizeof(arg), 20 * MSEC, 30 * SEC, 3));

        harness_wait_event(h, b, CORRAL_EVENT_READY);
        wait_answers(h, 20); /* the GET of its readiness, and health checks */
        assert_true(harness_run_until(h, corral_backend_get_health(b, &failures) == CORRAL_HEALTH_HEALTHY));
        assert_int_equal(failures, 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(harness_count(h, CORRAL_EVENT_HEALTH), 1); /* healthy, once */
        assert_int_equal(harness_count(h, CORRAL_EVENT_UNHEALTHY), 0);
        stop(h, b);
}

static corral_spec *exec_spec(harness *h, const char *name, const char *ready) {
        char *argv[] = { (char *) harness_helper(), "pause", h->fifo, NULL };
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_readiness(s, ready), 0);
        return s;
}

/* Ready=exec: the command runs in a sub-group of the backend's own leaf, and its exit 0 is ready. */
static void test_exec_ready_runs_in_the_backend(void **state) {
        harness *h = *state;
        corral_backend *b = spawn(
                h, exec_spec(h, "execd", "exec:grep -q '/execd\\.[0-9a-f]*/cmd\\.' /proc/self/cgroup"));

        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        stop(h, b);
}

/* A command that fails is not ready: the start times out, with its exit status and last words. */
static void test_exec_failing_is_not_ready(void **state) {
        harness *h = *state;
        corral_spec *s = exec_spec(h, "notyet", "exec:echo still loading >&2; exit 3");

        assert_int_equal(corral_spec_set_start_timeout(s, 2 * SEC), 0);
        corral_backend *b = spawn(h, s);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(
                r->message,
                "backend failed to start: not ready within 2000 ms (exit status 3: still loading)");
        assert_int_equal(harness_count(h, CORRAL_EVENT_READY), 0);
        corral_backend_unref(b);
}

/* HealthCheck=exec: passes while a file is missing; once the test makes it, the check fails and,
 * with HealthCheckFailures=1, the backend is unhealthy at once. */
static void test_exec_health_check(void **state) {
        harness *h = *state;
        char flag[400], check[500];
        corral_spec *s = exec_spec(h, "flagged", "none");
        int fd;

        snprintf(flag, sizeof(flag), "%s/sick", h->tmpdir);
        snprintf(check, sizeof(check), "exec:test ! -e '%s' || { echo sick >&2; exit 1; }", flag);
        assert_int_equal(corral_spec_set_health_check(s, check), 0);
        assert_int_equal(corral_spec_set_health_check_interval(s, 20 * MSEC), 0);
        assert_int_equal(corral_spec_set_health_check_failures(s, 1), 0);
        corral_backend *b = spawn(h, s);
        assert_string_equal(harness_wait_event(h, b, CORRAL_EVENT_HEALTH)->message, "backend healthy");
        fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_UNHEALTHY);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_string_equal(
                r->message,
                "backend unhealthy: 1 health checks failed in a row (last: exit status 1: sick)");
        unlink(flag);
        corral_backend_unref(b);
}

/* PrivateNetwork=: its listener is in a network namespace of its own, where its checks look (the
 * same port in ours is held by the test: that must not count). */
static void test_private_network_is_checked_inside(void **state) {
        harness *h = *state;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        unsigned failures = 99;
        char arg[32], url[64];

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        corral_spec *s = http_spec(h, "isolated", 200, ntohs(sin.sin_port), arg, sizeof(arg));
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", ntohs(sin.sin_port));
        assert_int_equal(corral_spec_set_private_network(s, true), 0);
        assert_int_equal(corral_spec_set_health_check(s, url), 0);
        assert_int_equal(corral_spec_set_health_check_interval(s, 20 * MSEC), 0);
        corral_backend *b = spawn(h, s);
        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_string_equal(harness_wait_event(h, b, CORRAL_EVENT_HEALTH)->message, "backend healthy");
        assert_int_equal(corral_backend_get_health(b, &failures), CORRAL_HEALTH_HEALTHY);
        close(fd);
        stop(h, b);
}

/* Lines in a file (0 if it is not there yet). */
static unsigned lines_in(const char *path) {
        FILE *f = fopen(path, "re");
        unsigned n = 0;
        int c;

        if (!f)
                return 0;
        while ((c = fgetc(f)) != EOF)
                n += c == '\n';
        fclose(f);
        return n;
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* Run the loop until the witness's health checks have run n more times: time enough for a check
 * of the other backend to have run too, had it been due. */
static void let_checks_run(harness *h, const char *witness, unsigned n) {
        unsigned from = lines_in(witness);

        if (!harness_run_until(h, lines_in(witness) >= from + n))
                fail_msg("the witness's health checks did not run (hang guard)");
}

/* Health checks run only while it runs: never while it starts (slow to be ready), never while it
 * stops (slow to stop). Each check of "subject" appends the phase the test is in to a file; a
 * "witness" checked as often all along shows that checks did run meanwhile, for a backend that
 * runs. The phase changes only where no check of the subject can be under way: before its start
 * is over, and after its stop began (a check under way then is cancelled, its command killed). */
static void test_no_health_check_while_starting_or_stopping(void **state) {
        harness *h = *state;
        char phase[400], runs[400], witness[400], flag[400], check[1300], ready[500];
        char *argv[] = { (char *) harness_helper(), "term-ignore", h->fifo, NULL };
        corral_spec *s = exec_spec(h, "witness", "none");
        corral_backend *w, *b;

        snprintf(phase, sizeof(phase), "%s/phase", h->tmpdir);
        snprintf(runs, sizeof(runs), "%s/runs", h->tmpdir);
        snprintf(witness, sizeof(witness), "%s/witness", h->tmpdir);
        snprintf(flag, sizeof(flag), "%s/loaded", h->tmpdir);
        snprintf(check, sizeof(check), "exec:echo x >> '%s'", witness);
        assert_int_equal(corral_spec_set_health_check(s, check), 0);
        assert_int_equal(corral_spec_set_health_check_interval(s, 20 * MSEC), 0);
        w = spawn(h, s);
        harness_wait_event(h, w, CORRAL_EVENT_HEALTH);

        write_file(phase, "starting\n");
        snprintf(ready, sizeof(ready), "exec:test -e '%s'", flag);
        snprintf(check, sizeof(check), "exec:cat '%s' >> '%s'", phase, runs);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "subject"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_readiness(s, ready), 0);
        assert_int_equal(corral_spec_set_start_timeout(s, 0), 0); /* as slow to load as it likes */
        assert_int_equal(corral_spec_set_health_check(s, check), 0);
        assert_int_equal(corral_spec_set_health_check_interval(s, 20 * MSEC), 0);
        assert_int_equal(corral_spec_set_health_check_failures(s, 1000), 0);
        assert_int_equal(corral_spec_set_grace(s, 300 * SEC), 0); /* it ignores SIGTERM: killed below */
        b = spawn(h, s);
        harness_wait_said(h, 'R', 2);
        let_checks_run(h, witness, 5);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STARTING);
        assert_int_equal(lines_in(runs), 0); /* none while it starts */

        write_file(phase, "running\n");
        write_file(flag, "");
        harness_wait_event(h, b, CORRAL_EVENT_READY);
        assert_true(harness_run_until(h, lines_in(runs) >= 2)); /* checked once it runs */

        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        write_file(phase, "stopping\n");
        let_checks_run(h, witness, 5);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_STOPPING);
        assert_true(corral_backend_kill(b, SIGKILL, CORRAL_KILL_ALL) > 0);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        let_checks_run(h, witness, 2);

        FILE *f = fopen(runs, "re");
        char line[64];
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (strcmp(line, "running\n") != 0)
                        fail_msg("a health check ran while it was %s", strtok(line, "\n"));
        fclose(f);
        corral_backend_unref(b);
        stop(h, w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
                T(test_http_ready),
                T(test_http_500_is_not_ready),
                T(test_http_port_held_outside_is_not_ready),
                T(test_stopped_server_is_unhealthy_and_restarted),
                T(test_healthy_server_stays),
                T(test_exec_ready_runs_in_the_backend),
                T(test_exec_failing_is_not_ready),
                T(test_exec_health_check),
                T(test_private_network_is_checked_inside),
                T(test_no_health_check_while_starting_or_stopping),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
