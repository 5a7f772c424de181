/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-deps.c: After= and Requires= among declared backends, on the real corrald: a backend starts
 * only once what it is ordered after is ready, stops before what it requires, goes down with it
 * (with the cause), comes up with it through `corral start`; cycles and unknown names are
 * FILE:LINE problems; daemon-reload changes the dependencies of what runs. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-fixture.h"

extern char **environ;

static char defs[400];

/* A backend that pauses (and says R), with extra lines for its [Backend]. */
static void write_def(daemon_fixture *d, const char *name, const char *mode, const char *extra) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s.backend", defs, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "[Backend]\nExecStart=%s %s %s\nTimeoutStopSec=30s\n%s", harness_helper(), mode,
                d->h->fifo, extra ?: "");
        fclose(f);
}

static char *state_of(daemon_fixture *d, const char *name, char *buf, size_t size) {
        json_t *b = status_of(d, name);

        snprintf(buf, size, "%s", b ? jstr(b, "state") : "none");
        json_decref(b);
        return buf;
}

/* Read the Watch w until event ev of backend; the event (the caller decrefs). */
static json_t *watch_until(varlink_conn *w, const char *ev, const char *backend) {
        for (;;) {
                json_t *r = NULL;
                assert_int_equal(varlink_next_reply(w, &r), 0);
                json_t *e = param(r, "event");
                if (e && strcmp(jstr(e, "event"), ev) == 0 && strcmp(jstr(e, "backend"), backend) == 0) {
                        json_incref(e);
                        json_decref(r);
                        return e;
                }
                json_decref(r);
        }
}

static void watch_open(daemon_fixture *d, varlink_conn *w) {
        json_t *r = NULL;

        conn_open(d, w);
        assert_int_equal(varlink_call(w, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
}

/* Where a log line with both needles begins, or -1. */
static long log_pos(const char *log, const char *a, const char *b) {
        for (const char *line = log; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char *l = strndup(line, len);
                bool hit = strstr(l, a) && strstr(l, b);
                free(l);
                if (hit)
                        return line - log;
                line = end ? end + 1 : NULL;
        }
        return -1;
}

static void assert_before(const char *log, const char *a1, const char *b1, const char *a2, const char *b2) {
        long p1 = log_pos(log, a1, b1), p2 = log_pos(log, a2, b2);

        if (p1 < 0 || p2 < 0 || p1 >= p2)
                fail_msg("expected '%s %s' (at %ld) before '%s %s' (at %ld) in:\n%s", a1, b1, p1, a2, b2, p2,
                         log);
}

/* A corrald with nothing declared, so that the fixture's fd baseline is its own again. */
static void daemon_restart_plain(daemon_fixture *d) {
        json_decref(call(d, IFACE "StopAll", NULL));
        assert_int_equal(daemon_stop(d), 0);
        daemon_start(d, NULL);
}

static void test_verify_cycles_and_unknown_names(void **state) {
        daemon_fixture *d = *state;
        char out[4096], a[512], b[512], c[512];

        snprintf(defs, sizeof(defs), "%s/verify", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        write_def(d, "a", "pause", "After=b\n");
        write_def(d, "b", "pause", "Requires=c\n");
        write_def(d, "c", "pause", "Requires=a nope\n");
        snprintf(a, sizeof(a), "%s/a.backend", defs);
        snprintf(b, sizeof(b), "%s/b.backend", defs);
        snprintf(c, sizeof(c), "%s/c.backend", defs);
        assert_int_equal(client_raw(d, ARGS("verify", a, b, c), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "/a.backend:4: After=: ordering cycle: a -> b -> c -> a"));
        assert_non_null(strstr(out, "/b.backend:4: Requires=: ordering cycle"));
        assert_non_null(strstr(out, "/c.backend:4: Requires=: ordering cycle"));
        assert_non_null(strstr(out, "/c.backend:4: Requires=: no backend 'nope' is declared"));
        /* one file alone: its directory says what the names are */
        assert_int_equal(client_raw(d, ARGS("verify", b), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "/b.backend:4: Requires=: ordering cycle"));
        assert_null(strstr(out, "nope"));
}

static void test_order_stop_cause_and_start(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--definitions", defs, NULL };
        char out[4096], ready[128], st[32], *log;
        json_t *r, *e, *b;
        varlink_conn w;
        int port = harness_free_port();

        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        /* redis is ready 1.5 s after it starts, when it listens; web requires it; cron runs after web */
        snprintf(ready, sizeof(ready), "Ready=tcp:127.0.0.1:%d\nRestart=on-failure\nRestartSec=100ms\n",
                 port);
        {
                char path[512];
                snprintf(path, sizeof(path), "%s/redis.backend", defs);
                FILE *f = fopen(path, "we");
                assert_non_null(f);
                fprintf(f, "[Backend]\nExecStart=%s listen-after %s 1500:%d\nTimeoutStopSec=30s\n%s",
                        harness_helper(), d->h->fifo, port, ready);
                fclose(f);
        }
        write_def(d, "web", "pause", "Requires=redis\n");
        write_def(d, "cron", "pause", "After=web\n");
        write_def(d, "cyc1", "pause", "After=cyc2\n");
        write_def(d, "cyc2", "pause", "After=cyc1\n");
        write_def(d, "lost", "pause", "Requires=nosuch\n");
        daemon_start(d, extra);
        harness_wait_said(d->h, 'R', 3);
        assert_true(pid_of(d, "redis") > 0 && pid_of(d, "web") > 0 && pid_of(d, "cron") > 0);
        log = read_log(d);
        assert_before(log, "\"event\":\"ready\"", "\"backend\":\"redis\"", "\"event\":\"started\"",
                      "\"backend\":\"web\"");
        assert_before(log, "\"event\":\"started\"", "\"backend\":\"web\"", "\"event\":\"started\"",
                      "\"backend\":\"cron\"");
        assert_non_null(strstr(log, "cyc1.backend:4: After=: ordering cycle: cyc1 -> cyc2 -> cyc1"));
        assert_non_null(strstr(log, "lost.backend:4: Requires=: no backend 'nosuch' is declared"));
        assert_string_equal(state_of(d, "cyc1", st, sizeof(st)), "none");

        /* redis stopped on purpose: web first (info, with the cause), cron (After= only) stays */
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "redis"));
        assert_null(error_of(r));
        assert_string_equal(jstr(param(r, "verdict"), "event"), "stopped");
        json_decref(r);
        b = status_of(d, "web");
        assert_string_equal(jstr(b, "state"), "gone");
        e = json_object_get(b, "lastVerdict");
        assert_string_equal(jstr(e, "event"), "stopped");
        assert_string_equal(jstr(e, "level"), "info");
        assert_true(json_is_true(json_object_get(e, "intentional")));
        assert_string_equal(jstr(e, "cause"), "redis stopped");
        json_decref(b);
        log = read_log(d);
        assert_before(log, "\"event\":\"stopped\"", "\"backend\":\"web\"", "\"event\":\"stopping\"",
                      "\"backend\":\"redis\"");
        assert_true(pid_of(d, "cron") > 0);

        /* corral start web: redis first, web once it is ready */
        assert_int_equal(client(d, ARGS("start", "web", "--wait-ready"), out, sizeof(out)), 0);
        assert_true(pid_of(d, "redis") > 0);
        assert_true(pid_of(d, "web") > 0);
        log = read_log(d);
        long ready2 = log_pos(log, "\"event\":\"ready\"", "\"backend\":\"redis\"");
        assert_true(ready2 >= 0);
        assert_before(log + ready2 + 1, "\"event\":\"ready\"", "\"backend\":\"redis\"",
                      "\"event\":\"started\"", "\"backend\":\"web\"");

        /* redis killed: web is stopped with intent, after it, and comes back when redis is ready again */
        watch_open(d, &w);
        json_int_t rp = pid_of(d, "redis");
        int pfd = (int) syscall(SYS_pidfd_open, (pid_t) rp, 0);
        assert_true(pfd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0), 0);
        close(pfd);
        json_decref(watch_until(&w, "killed", "redis"));
        e = watch_until(&w, "stopped", "web");
        assert_true(json_is_true(json_object_get(e, "intentional")));
        assert_string_equal(jstr(e, "cause"), "redis killed");
        assert_string_equal(jstr(e, "level"), "info");
        json_decref(e);
        json_decref(watch_until(&w, "ready", "redis"));
        json_decref(watch_until(&w, "started", "web"));
        varlink_conn_done(&w);

        /* StopAll: in the reverse order of After= */
        r = call(d, IFACE "StopAll", NULL);
        assert_null(error_of(r));
        json_decref(r);
        log = read_log(d);
        long from = log_pos(log, "\"event\":\"started\"",
                            "\"backend\":\"web\""); /* the last start of web, and on */
        for (long p; (p = log_pos(log + from + 1, "\"event\":\"started\"", "\"backend\":\"web\"")) >= 0;)
                from += p + 1;
        assert_before(log + from, "\"event\":\"stopped\"", "\"backend\":\"cron\"", "\"event\":\"stopping\"",
                      "\"backend\":\"web\"");
        assert_before(log + from, "\"event\":\"stopped\"", "\"backend\":\"web\"", "\"event\":\"stopping\"",
                      "\"backend\":\"redis\"");
        daemon_restart_plain(d);
}

static void test_reload_changes_dependencies(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--definitions", defs, NULL };
        char out[4096], st[32];
        json_t *r, *b;

        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        write_def(d, "db", "pause", NULL);
        write_def(d, "app", "pause", NULL);
        daemon_start(d, extra);
        harness_wait_said(d->h, 'R', 2);

        /* a dependency added: stopping db now stops app */
        write_def(d, "app", "pause", "Requires=db\n");
        r = call(d, IFACE "Reload", NULL); /* daemon-reload */
        assert_null(error_of(r));
        json_decref(r);
        assert_true(pid_of(d, "app") > 0); /* the order of what runs changes nothing now */
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "db"));
        assert_null(error_of(r));
        json_decref(r);
        b = status_of(d, "app");
        assert_string_equal(jstr(b, "state"), "gone");
        assert_string_equal(jstr(json_object_get(b, "lastVerdict"), "cause"), "db stopped");
        json_decref(b);

        /* and removed: app starts alone, and stays when db stops */
        write_def(d, "app", "pause", NULL);
        r = call(d, IFACE "Reload", NULL); /* daemon-reload */
        assert_null(error_of(r));
        json_decref(r);
        assert_int_equal(client(d, ARGS("start", "app"), out, sizeof(out)), 0);
        assert_string_equal(state_of(d, "db", st, sizeof(st)), "gone");
        assert_true(pid_of(d, "app") > 0);
        assert_int_equal(client(d, ARGS("start", "db"), out, sizeof(out)), 0);
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "db"));
        json_decref(r);
        assert_true(pid_of(d, "app") > 0);
        /* no definition: no start by name */
        assert_error(call(d, IFACE "Start", json_pack("{s:s}", "name", "nosuch")), IFACE "NoSuchBackend",
                     "name", "nosuch");
        daemon_restart_plain(d);
}

/* Whether the JSON array a holds exactly the names given (NULL-terminated). */
static bool names_are(json_t *a, const char *const *names) {
        size_t n = 0;

        for (; names[n]; n++)
                if (!json_is_string(json_array_get(a, n)) ||
                    strcmp(json_string_value(json_array_get(a, n)), names[n]) != 0)
                        return false;
        return json_is_array(a) && json_array_size(a) == n;
}

/* The line of `corral list` that begins with name. */
static const char *list_line(const char *out, const char *name, char *buf, size_t size) {
        for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, name, strlen(name)) == 0 && l[strlen(name)] == ' ') {
                        snprintf(buf, size, "%.*s", (int) strcspn(l, "\n"), l);
                        return buf;
                }
        fail_msg("no line for %s in:\n%s", name, out);
        return NULL;
}

/* A start queued behind what it is ordered after: Status, List, `corral status` and `corral list`
 * say it waits and for what, and show After= and Requires=; once it no longer waits, they say
 * nothing of it. */
static void test_status_says_what_a_start_waits_for(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--definitions", defs, NULL };
        char out[8192], line[512];
        json_t *b, *r;

        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        write_def(d, "slow", "notify-never", "Ready=notify\nTimeoutStartSec=infinity\n"); /* never ready */
        write_def(d, "app", "pause", "Requires=slow\n");
        write_def(d, "cron", "pause", "After=app\n");
        daemon_start(d, extra);

        b = status_of(d, "app");
        assert_true(names_are(json_object_get(b, "waitingFor"), (const char *[]){ "slow", NULL }));
        assert_true(names_are(json_object_get(b, "requires"), (const char *[]){ "slow", NULL }));
        assert_true(names_are(json_object_get(b, "after"), (const char *[]){ "slow", NULL }));
        json_decref(b);
        b = status_of(d, "cron");
        assert_true(names_are(json_object_get(b, "waitingFor"), (const char *[]){ "app", NULL }));
        assert_true(names_are(json_object_get(b, "after"), (const char *[]){ "app", NULL }));
        assert_true(json_is_null(json_object_get(b, "requires")));
        json_decref(b);
        b = status_of(d, "slow");
        assert_string_equal(jstr(b, "state"), "starting");
        assert_true(json_is_null(json_object_get(b, "waitingFor")));
        assert_true(json_is_null(json_object_get(b, "after")));
        json_decref(b);
        r = call(d, IFACE "List", NULL);
        json_t *v;
        size_t i, seen = 0;
        json_array_foreach(param(r, "backends"), i, v) if (strcmp(jstr(v, "name"), "app") == 0) {
                assert_true(names_are(json_object_get(v, "waitingFor"), (const char *[]){ "slow", NULL }));
                seen++;
        }
        assert_int_equal(seen, 1);
        json_decref(r);

        assert_int_equal(client(d, ARGS("status", "app"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\nafter      slow\n"));
        assert_non_null(strstr(out, "\nrequires   slow\n"));
        assert_non_null(strstr(out, "\nwaiting    to start once ready: slow\n"));
        assert_int_equal(client(d, ARGS("status", "cron"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\nrequires   -\n"));
        assert_non_null(strstr(out, "\nwaiting    to start once ready: app\n"));
        assert_int_equal(client(d, ARGS("status", "slow"), out, sizeof(out)), 0);
        assert_null(strstr(out, "waiting ")); /* no dependencies: no lines for them */
        assert_null(strstr(out, "\nafter "));
        assert_int_equal(client(d, ARGS("list"), out, sizeof(out)), 0);
        assert_non_null(strstr(list_line(out, "app", line, sizeof(line)), " waiting "));
        assert_non_null(strstr(list_line(out, "slow", line, sizeof(line)), " starting "));
        assert_int_equal(client(d, ARGS("list", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "waitingFor"));

        /* slow stopped: app's start cannot go (it requires slow), cron's may (After= only) */
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "slow"));
        assert_null(error_of(r));
        json_decref(r);
        harness_wait_said(d->h, 'R', 1); /* cron runs */
        b = status_of(d, "app");
        assert_true(json_is_null(json_object_get(b, "waitingFor")));
        assert_true(names_are(json_object_get(b, "requires"), (const char *[]){ "slow", NULL }));
        json_decref(b);
        b = status_of(d, "cron");
        assert_string_equal(jstr(b, "state"), "running");
        assert_true(json_is_null(json_object_get(b, "waitingFor")));
        json_decref(b);
        assert_int_equal(client(d, ARGS("status", "app"), out, sizeof(out)), 0);
        assert_null(strstr(out, "waiting "));
        daemon_restart_plain(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_verify_cycles_and_unknown_names, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_order_stop_cause_and_start, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reload_changes_dependencies, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_status_says_what_a_start_waits_for, fixture_setup,
                                                fixture_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
