/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-metrics.c: corrald's metrics scraped over HTTP (--metrics-listen), read from the textfile
 * (--metrics-textfile) and through Metrics, checked against what was done; promtool where it is;
 * hostile HTTP clients bounded; an idle corrald with both never wakes. And what a person reads:
 * corral watch's lines, Logs following a backend across its restarts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-fixture.h"
#include "macro.h"

extern char **environ;

typedef struct metrics_fixture {
        char listen[64];
        char textfile[400];
        int port;
} metrics_fixture;

static void start_with_metrics(daemon_fixture *d, metrics_fixture *m, const char *const *more) {
        const char *argv[16] = { "--metrics-listen", m->listen,           "--metrics-textfile",
                                 m->textfile,        "--request-timeout", "1s" };
        size_t n = 6;

        for (; more && *more; more++)
                argv[n++] = *more;
        daemon_start(d, argv);
}

static void metrics_init(daemon_fixture *d, metrics_fixture *m) {
        char dir[350];

        m->port = harness_free_port();
        snprintf(m->listen, sizeof(m->listen), "127.0.0.1:%d", m->port);
        snprintf(dir, sizeof(dir), "%s/textfile", d->h->tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(m->textfile, sizeof(m->textfile), "%s/corral.prom", dir);
}

static int http_connect(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* Everything until the server closes (or the hang guard), malloc'ed. */
static char *read_all(int fd) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        size_t len = 0, cap = 65536;
        char *buf = malloc(cap);

        assert_non_null(buf);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (harness_now_usec() > deadline)
                        fail_msg("the metrics server neither answered nor closed (hang guard)");
                if (poll(&p, 1, 100) <= 0)
                        continue;
                if (len + 4096 > cap)
                        assert_non_null(buf = realloc(buf, cap *= 2));
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return buf;
}

/* One request, the whole response. */
static char *http(int port, const char *request) {
        int fd = http_connect(port);
        char *r;

        assert_int_equal(write(fd, request, strlen(request)), (ssize_t) strlen(request));
        r = read_all(fd);
        close(fd);
        return r;
}

static char *scrape(metrics_fixture *m) {
        char *r = http(m->port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");

        assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
        assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
        return r;
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &size, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

/* The textfile is written after a change, from the loop: it holds line once corrald got there. */
static bool textfile_has(metrics_fixture *m, const char *line) {
        char *t = read_text(m->textfile);
        bool found = t && strstr(t, line);

        free(t);
        return found;
}

static void assert_textfile_has(metrics_fixture *m, const char *line) {
        if (!harness_wait_until(textfile_has(m, line))) {
                char *t = read_text(m->textfile);
                fail_msg("the textfile never had '%s' (hang guard); it has:\n%s", line, t ?: "(no file)");
        }
}

static void assert_has(const char *text, const char *line) {
        if (!text || !strstr(text, line))
                fail_msg("no '%s' in:\n%s", line, text ?: "(nothing)");
}

/* promtool check metrics on text, where promtool is ($PROMTOOL, else in $PATH). */
static void promtool_check(daemon_fixture *d, const char *what, const char *text) {
        const char *tool = getenv("PROMTOOL") ?: "promtool";
        char in[400], cmd[1200];
        FILE *f;
        int r;

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
        if (system(cmd) != 0) {
                printf("# promtool not found (Debian package prometheus; or set $PROMTOOL): %s not checked "
                       "with it\n",
                       what);
                return;
        }
        snprintf(in, sizeof(in), "%s/promtool-in", d->h->tmpdir);
        assert_non_null(f = fopen(in, "we"));
        fputs(text, f);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "%s check metrics < %s", tool, in);
        r = system(cmd);
        if (r != 0)
                fail_msg("promtool check metrics failed on %s:\n%s", what, text);
        printf("# promtool check metrics: %s passes\n", what);
}

static void start_helper(daemon_fixture *d, json_t *params) {
        json_t *r = call(d, IFACE "Start", params);

        assert_null(error_of(r));
        json_decref(r);
}

static json_t *watch_until(varlink_conn *w, const char *event) {
        json_t *r = NULL;

        for (;;) {
                assert_int_equal(varlink_next_reply(w, &r), 0);
                json_t *ev = param(r, "event");
                if (ev && strcmp(json_string_value(json_object_get(ev, "event")), event) == 0)
                        return r;
                json_decref(r);
        }
}

/* A backend restarted 3 times has restarts_total 3; a crash loop's verdicts and state are counted;
 * both in the HTTP scrape, the textfile and Metrics, and they survive a crash of corrald. */
static void test_counters_scraped_and_in_the_textfile(void **state) {
        daemon_fixture *d = *state;
        metrics_fixture m;
        varlink_conn w;
        json_t *r;
        char *s;

        metrics_init(d, &m);
        start_with_metrics(d, &m, NULL);
        start_ready(d, "web", "pause", 10000000);
        for (int i = 0; i < 3; i++) {
                r = call(d, IFACE "Restart", json_pack("{s:s}", "name", "web"));
                assert_null(error_of(r));
                json_decref(r);
                harness_wait_ready(d->h, false);
        }
        conn_open(d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
        start_helper(d,
                     json_pack("{s:s, s:[s, s, s, s], s:s, s:I, s:s}", "name", "loop", "command",
                               harness_helper(), "exit-after", d->h->fifo, "0:3", "restart", "on-failure",
                               "restartDelayUSec", (json_int_t) 5000, "restartLimit", "2/1min"));
        json_decref(watch_until(&w, "failed"));
        varlink_conn_done(&w);

        s = scrape(&m);
        assert_has(s, "\ncorral_backend_restarts_total{backend=\"web\"} 3\n");
        assert_has(
                s,
                "\ncorral_backend_verdicts_total{backend=\"web\",verdict=\"stopped\",level=\"info\"} 3\n");
        assert_has(s, "\ncorral_backend_state{backend=\"web\",state=\"running\"} 1\n");
        assert_has(s, "\ncorral_backend_up{backend=\"web\"} 1\n");
        assert_has(s, "\ncorral_backend_ready{backend=\"web\"} 1\n");
        assert_has(s, "\ncorral_backend_last_exit_code{backend=\"web\"} 143\n"); /* its SIGTERM */
        assert_has(s, "\ncorral_backend_processes{backend=\"web\"} 1\n");
        assert_has(s, "\ncorral_backend_cpu_seconds_total{backend=\"web\"} ");
        assert_has(s, "\ncorral_backend_start_time_seconds{backend=\"web\"} ");
        assert_has(s, "\ncorral_backend_restarts_total{backend=\"loop\"} 2\n");
        assert_has(s,
                   "\ncorral_backend_verdicts_total{backend=\"loop\",verdict=\"exited\",level=\"warning\"} "
                   "3\n");
        assert_has(s, "\ncorral_backend_state{backend=\"loop\",state=\"failed\"} 1\n");
        assert_has(s, "\ncorral_backend_up{backend=\"loop\"} 0\n");
        assert_has(s, "\ncorral_backend_last_exit_code{backend=\"loop\"} 3\n");
        assert_has(s, "\ncorral_backends 2\n");
        assert_has(s, "\ncorral_events_total{event=\"failed\"} 1\n");
        assert_has(s, "\ncorral_build_info{version=\"");
        promtool_check(d, "the HTTP scrape", strstr(s, "\r\n\r\n") + 4);
        free(s);

        assert_textfile_has(&m, "\ncorral_backend_state{backend=\"loop\",state=\"failed\"} 1\n");
        assert_textfile_has(&m, "\ncorral_backend_restarts_total{backend=\"web\"} 3\n");
        assert_textfile_has(&m,
                            "\ncorral_backend_verdicts_total{backend=\"loop\",verdict=\"exited\",level="
                            "\"warning\"} 3\n");
        s = read_text(m.textfile);
        assert_null(strstr(s, "corral_backend_memory_bytes")); /* they change with no event: not there */
        assert_null(strstr(s, "corral_clients"));
        promtool_check(d, "the textfile", s);
        free(s);

        /* Metrics over varlink: the same text; OpenMetrics on request. */
        r = call(d, IFACE "Metrics", json_pack("{s:b}", "openMetrics", true));
        assert_null(error_of(r));
        s = strdup(json_string_value(param(r, "text")));
        json_decref(r);
        assert_has(s, "\n# TYPE corral_backend_restarts counter\n");
        assert_has(s, "\ncorral_backend_restarts_total{backend=\"web\"} 3\n");
        assert_int_equal(strcmp(s + strlen(s) - 6, "# EOF\n"), 0);
        free(s);

        /* corrald is killed and another takes web back: its counters go on from its record. */
        daemon_kill9(d);
        start_with_metrics(d, &m, NULL);
        s = scrape(&m);
        assert_has(s, "\ncorral_backend_restarts_total{backend=\"web\"} 3\n");
        assert_has(
                s,
                "\ncorral_backend_verdicts_total{backend=\"web\",verdict=\"stopped\",level=\"info\"} 3\n");
        assert_has(s, "\ncorral_events_total{event=\"adopted\"} 1\n");
        free(s);
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "web"));
        json_decref(r);
        assert_textfile_has(
                &m,
                "\ncorral_backend_verdicts_total{backend=\"web\",verdict=\"stopped\",level=\"info\"} 4\n");
        assert_textfile_has(&m, "\ncorral_backend_state{backend=\"web\",state=\"gone\"} 1\n");
        daemon_baseline(d); /* its baseline held what it took back, now stopped */
        /* A clean end: the last stops are in the textfile, though the loop ended before its turn. */
        start_ready(d, "last", "pause", 10000000);
        assert_textfile_has(&m, "\ncorral_backend_state{backend=\"last\",state=\"running\"} 1\n");
        assert_int_equal(daemon_stop(d), 0);
        assert_textfile_has(&m, "\ncorral_backend_state{backend=\"last\",state=\"gone\"} 1\n");
}

/* OpenMetrics when the scraper asks for it; 404 and 405 for anything but GET /metrics. */
static void test_http_formats_and_errors(void **state) {
        daemon_fixture *d = *state;
        metrics_fixture m;
        char *s;

        metrics_init(d, &m);
        start_with_metrics(d, &m, NULL);
        s = http(m.port,
                 "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; version=1.0.0,"
                 "text/plain;version=0.0.4;q=0.5\r\n\r\n");
        assert_has(s, "Content-Type: application/openmetrics-text; version=1.0.0");
        assert_has(s, "# TYPE corral_build info\ncorral_build_info{version=");
        assert_int_equal(strcmp(s + strlen(s) - 6, "# EOF\n"), 0);
        free(s);
        s = http(m.port, "HEAD /metrics HTTP/1.0\r\n\r\n");
        assert_true(strncmp(s, "HTTP/1.1 200 OK\r\n", 17) == 0);
        assert_null(strstr(s, "corral_backends"));
        free(s);
        s = http(m.port, "GET /other HTTP/1.1\r\n\r\n");
        assert_true(strncmp(s, "HTTP/1.1 404 ", 13) == 0);
        free(s);
        s = http(m.port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_true(strncmp(s, "HTTP/1.1 405 ", 13) == 0);
        assert_has(s, "Allow: GET, HEAD\r\n");
        free(s);
}

/* A header past the size limit is refused; a request that never ends is dropped at the request
 * time-out; many connections that send nothing do not keep a scraper out; corrald is back to its
 * fds after. */
static void test_hostile_http_clients_are_bounded(void **state) {
        daemon_fixture *d = *state;
        metrics_fixture m;
        int idle[40], slow;
        char big[12000];
        char *s;

        metrics_init(d, &m);
        start_with_metrics(d, &m, NULL);
        memset(big, 'a', sizeof(big));
        memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
        big[sizeof(big) - 1] = '\0';
        s = http(m.port, big);
        assert_true(strncmp(s, "HTTP/1.1 431 ", 13) == 0);
        free(s);

        slow = http_connect(m.port);
        assert_int_equal(write(slow, "GET /metr", 9), 9);
        s = read_all(slow); /* closed at --request-timeout (1 s here), unanswered */
        assert_string_equal(s, "");
        free(s);
        close(slow);

        for (size_t i = 0; i < ELEMENTSOF(idle); i++)
                idle[i] = http_connect(m.port);
        s = scrape(&m); /* its turn comes: the idle ones make room */
        assert_has(s, "corral_backends 0\n");
        free(s);
        /* corrald holds at most 16 of them. */
        assert_true(harness_wait_until(daemon_fds(d) <= d->fds_at_start + 16));
        for (size_t i = 0; i < ELEMENTSOF(idle); i++)
                close(idle[i]);
        assert_true(harness_wait_until(daemon_fds(d) == d->fds_at_start));
        assert_has(read_log(d), "metrics: over 16 connections");
}

/* A listen address that is not loopback needs --metrics-allow-remote; a bad one is named. */
static void test_listen_address_checked(void **state) {
        daemon_fixture *d = *state;
        const struct {
                const char *addr, *says;
        } cases[] = { { "0.0.0.0:9", "not a loopback address" }, { "localhost:9", "numeric ADDRESS:PORT" } };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *argv[] = {
                        getenv("CORRAL_DAEMON_BIN"), "--address",   d->sock, "--cgroup-root", d->h->root,
                        "--metrics-listen",          cases[i].addr, NULL
                };
                posix_spawn_file_actions_t fa;
                int status;
                pid_t pid;

                posix_spawn_file_actions_init(&fa);
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, d->log, O_WRONLY | O_CREAT | O_TRUNC,
                                                 0600);
                assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
                posix_spawn_file_actions_destroy(&fa);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
                assert_has(read_log(d), cases[i].says);
        }
}

/* corral_clients, as Metrics on c says it. */
static int clients(varlink_conn *c) {
        json_t *r = NULL;
        const char *t, *at;
        int n = -1;

        assert_int_equal(varlink_call(c, IFACE "Metrics", NULL, false, &r), 0);
        t = json_string_value(json_object_get(json_object_get(r, "parameters"), "text"));
        at = t ? strstr(t, "\ncorral_clients ") : NULL;
        if (at)
                n = atoi(at + strlen("\ncorral_clients "));
        json_decref(r);
        return n;
}

/* corral watch writes each event as corrald's text log does: one line, the stderr tail indented
 * under it, with its control characters escaped. */
static void test_watch_prints_the_text_line(void **state) {
        daemon_fixture *d = *state;
        char out[400], *text = NULL;
        const char *argv[] = { getenv("CORRAL_BIN"), "watch", "--address", d->sock, NULL };
        posix_spawn_file_actions_t fa;
        varlink_conn c;
        pid_t pid;
        int status;
        bool ok;

        daemon_start(d, NULL);
        snprintf(out, sizeof(out), "%s/watch.out", d->h->tmpdir);
        conn_open(d, &c);
        /* Once only this connection is left of ours, then once the watch is there too, the backend
         * starts and ends: the watch sees every event of it. */
        if (!harness_wait_until(clients(&c) == 1))
                fail_msg("corrald never saw the test's earlier connections close (hang guard)");
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        ok = harness_wait_until(clients(&c) == 2);
        varlink_conn_done(&c);
        if (!ok) {
                kill(pid, SIGTERM);
                waitpid(pid, &status, 0);
                fail_msg("corral watch never connected (hang guard)");
        }
        /* It ends and comes back six times (the crash-loop limit): a watch that began during the
         * first launch still sees a whole one. */
        start_helper(d,
                     json_pack("{s:s, s:[s, s, s, s], s:s, s:I}", "name", "talker", "command",
                               harness_helper(), "exit", d->h->fifo, "4", "restart", "on-failure",
                               "restartDelayUSec", (json_int_t) 50000));
        ok = harness_wait_until(({
                free(text);
                text = read_text(out);
                text &&strstr(text, " talker failed (error): ");
        }));
        assert_int_equal(kill(pid, SIGTERM), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!ok)
                fail_msg("corral watch never printed the verdict with its stderr; it "
                         "printed:\n%s\ncorrald's log:\n%s",
                         text ?: "", read_log(d));
        assert_has(text, " talker started (info): pid ");
        assert_has(text, " talker exited (warning): exit code 4, after ");
        assert_has(text, "\n    err 3\n    err 4\n");
        assert_null(strchr(text, '\033'));
        free(text);
}

/* Logs with more follows a backend across its restarts and says when each new launch begins,
 * before that launch's output. */
static void test_logs_follow_across_restarts(void **state) {
        daemon_fixture *d = *state;
        varlink_conn c;
        json_t *r = NULL;
        char launch[32] = "";
        bool output_after = false;

        daemon_start(d, NULL);
        start_helper(d,
                     json_pack("{s:s, s:[s, s, s, s], s:s, s:I}", "name", "talker", "command",
                               harness_helper(), "exit", d->h->fifo, "4", "restart", "on-failure",
                               "restartDelayUSec", (json_int_t) 50000));
        conn_open(d, &c);
        struct timeval tv = { .tv_sec = (time_t) (harness_hang_guard_usec() / 1000000) };
        assert_int_equal(setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0); /* hang guard */
        assert_int_equal(varlink_call(&c, IFACE "Logs",
                                      json_pack("{s:s, s:i}", "name", "talker", "lines", 0), true, &r),
                         0);
        assert_null(error_of(r));
        json_decref(r);
        /* Until a launch is announced and output follows it (it ends six times: the crash-loop
         * limit, well within the hang guard). */
        while (!output_after) {
                if (varlink_next_reply(&c, &r) < 0)
                        fail_msg("Logs never said that a launch began, with its output after it (hang "
                                 "guard)");
                json_t *p = json_object_get(r, "parameters");
                const char *l = json_string_value(json_object_get(p, "launch"));
                if (l) {
                        assert_string_equal(json_string_value(json_object_get(p, "data")), "");
                        assert_true(json_integer_value(json_object_get(p, "pid")) > 0);
                        snprintf(launch, sizeof(launch), "%s", l);
                } else if (launch[0] && strstr(json_string_value(json_object_get(p, "data")) ?: "", "err "))
                        output_after = true;
                json_decref(r);
        }
        varlink_conn_done(&c);
        assert_int_equal(strlen(launch), 12);
}

static long ctxt_switches(pid_t pid) {
        char path[64], line[256];
        long n = 0, v;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        assert_non_null(f = fopen(path, "re"));
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                        n += v;
        fclose(f);
        return n;
}

static bool in_epoll_wait(pid_t pid) {
        char path[64], line[256] = "";
        long nr;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/syscall", (int) pid);
        if (!(f = fopen(path, "re")))
                return false;
        if (!fgets(line, sizeof(line), f))
                line[0] = '\0';
        fclose(f);
        nr = atol(line);
        return (line[0] >= '0' && line[0] <= '9') &&
                (nr == SYS_epoll_wait || nr == SYS_epoll_pwait
#ifdef SYS_epoll_pwait2
                 || nr == SYS_epoll_pwait2
#endif
                );
}

/* With the HTTP endpoint and the textfile, an idle corrald still never wakes: the textfile is
 * written after a change, never on a timer. */
static void test_idle_corrald_with_metrics_never_wakes(void **state) {
        daemon_fixture *d = *state;
        metrics_fixture m;
        long before;

        metrics_init(d, &m);
        start_with_metrics(d, &m, NULL);
        start_ready(d, "idle", "pause", 10000000);
        assert_textfile_has(&m, "\ncorral_backend_state{backend=\"idle\",state=\"running\"} 1\n");
        free(scrape(&m));
        json_decref(call(d, IFACE "List", NULL));
        /* Its clients' hang-ups are seen in its own time: of three windows of two seconds once it
         * sleeps, one is quiet (a timer would wake it in each). */
        for (int i = 0; i < 3; i++) {
                if (!harness_wait_until(in_epoll_wait(d->pid)))
                        fail_msg("corrald never went to sleep in epoll_wait (hang guard)");
                before = ctxt_switches(d->pid);
                sleep(2);
                if (ctxt_switches(d->pid) == before)
                        return;
        }
        fail_msg("corrald woke up in each of three idle windows of 2 s");
}

int main(void) {
        harness_require_root_cgroup2();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_counters_scraped_and_in_the_textfile, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_http_formats_and_errors, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_hostile_http_clients_are_bounded, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_listen_address_checked, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_idle_corrald_with_metrics_never_wakes, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_watch_prints_the_text_line, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_logs_follow_across_restarts, fixture_setup,
                                                fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
