/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-daemon.c: the real corrald on a socket of the test's own, driven by raw varlink and the real client.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon-fixture.h"

extern char **environ;

static void test_start_list_status_stop(void **state) {
        daemon_fixture *d = *state;
        json_t *r, *b, *v;

        start_ready(d, "web", "pause", 10000000);
        r = call(d, IFACE "List", NULL);
        assert_int_equal(json_array_size(param(r, "backends")), 1);
        b = json_array_get(param(r, "backends"), 0);
        assert_string_equal(json_string_value(json_object_get(b, "name")), "web");
        assert_true(json_integer_value(json_object_get(b, "pid")) > 0);
        json_decref(r);

        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "web"));
        b = param(r, "backend");
        assert_string_equal(json_string_value(json_object_get(b, "state")), "running");
        assert_true(json_is_integer(json_object_get(b, "cpuUsageUSec")));
        assert_non_null(json_object_get(b, "memoryCurrent")); /* null without the memory controller */
        json_decref(r);

        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "web"));
        v = param(r, "verdict");
        assert_string_equal(json_string_value(json_object_get(v, "event")), "stopped");
        assert_string_equal(json_string_value(json_object_get(v, "level")), "info");
        assert_true(json_is_true(json_object_get(v, "intentional")));
        assert_int_equal(json_integer_value(json_object_get(v, "stop_uid")), getuid());
        assert_int_equal(json_integer_value(json_object_get(v, "stop_pid")), getpid());
        assert_true(json_is_false(param(r, "alreadyStopped")));
        json_decref(r);

        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "web"));
        assert_true(json_is_true(param(r, "alreadyStopped")));
        assert_string_equal(json_string_value(json_object_get(param(r, "verdict"), "event")), "stopped");
        json_decref(r);

        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "web"));
        b = param(r, "backend");
        assert_string_equal(json_string_value(json_object_get(b, "state")), "gone");
        assert_string_equal(json_string_value(json_object_get(json_object_get(b, "lastVerdict"), "event")),
                            "stopped");
        json_decref(r);
}

static void send_call(varlink_conn *c, const char *method, json_t *params, bool more) {
        json_t *m = varlink_call_new(method, params, more);

        assert_int_equal(varlink_conn_queue(c, m), 0);
        json_decref(m);
        assert_int_equal(varlink_conn_flush(c), 0);
}

static void test_two_concurrent_stops_get_the_same_verdict(void **state) {
        daemon_fixture *d = *state;
        varlink_conn a, b;
        json_t *ra = NULL, *rb = NULL;

        start_ready(d, "slow", "term-ignore", 300000);
        conn_open(d, &a);
        conn_open(d, &b);
        send_call(&a, IFACE "Stop", json_pack("{s:s}", "name", "slow"), false);
        send_call(&b, IFACE "Stop", json_pack("{s:s}", "name", "slow"), false);
        assert_int_equal(varlink_next_reply(&a, &ra), 0);
        assert_int_equal(varlink_next_reply(&b, &rb), 0);
        assert_true(json_equal(param(ra, "verdict"), param(rb, "verdict")));
        assert_string_equal(json_string_value(json_object_get(param(ra, "verdict"), "level")), "notice");
        assert_true(json_is_false(param(ra, "alreadyStopped")));
        assert_true(json_is_false(param(rb, "alreadyStopped")));
        json_decref(ra);
        json_decref(rb);
        varlink_conn_done(&a);
        varlink_conn_done(&b);
}

static const char *event_name(json_t *reply) {
        return json_string_value(json_object_get(param(reply, "event"), "event"));
}

static void test_watch_streams_every_event(void **state) {
        daemon_fixture *d = *state;
        const char *want[] = { "started", "stopping", "stopped" };
        varlink_conn w;
        json_t *r = NULL;

        conn_open(d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0);
        assert_true(json_is_true(json_object_get(r, "continues")));
        assert_true(json_is_array(param(r, "backends"))); /* the state first */
        json_decref(r);
        start_ready(d, "watched", "pause", 10000000);
        json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", "watched")));
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(varlink_next_reply(&w, &r), 0);
                assert_true(json_is_true(json_object_get(r, "continues")));
                assert_string_equal(event_name(r), want[i]);
                assert_string_equal(json_string_value(json_object_get(param(r, "event"), "backend")),
                                    "watched");
                json_decref(r);
        }
        varlink_conn_done(&w);

        r = call(d, IFACE "Watch", NULL); /* without "more" */
        assert_error(r, "org.varlink.service.ExpectedMore", NULL, NULL);
}

/* A client that setuid()s to nobody may look but not touch, and is logged. */
static void test_unprivileged_caller_is_refused(void **state) {
        daemon_fixture *d = *state;
        char out[8192];

        start_ready(d, "guarded", "pause", 10000000);
        assert_int_equal(chmod(d->h->tmpdir, 0755), 0); /* so that nobody can reach the socket */
        assert_int_equal(
                nobody_call(d, IFACE "Stop", json_pack("{s:s}", "name", "guarded"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"error\":\"org.varlink.service.PermissionDenied\""));
        assert_int_equal(nobody_call(d, IFACE "List", NULL, out, sizeof(out)), 0);
        assert_null(strstr(out, "\"error\""));
        assert_int_equal(nobody_call(d, IFACE "Start", start_params(d, "x", "pause", 1), out, sizeof(out)),
                         0);
        assert_non_null(strstr(out, "\"error\":\"org.varlink.service.PermissionDenied\""));
        assert_non_null(strstr(read_log(d), "refused io.corral.Supervisor.Stop from uid=65534"));
        json_t *r = call(d, IFACE "Status", json_pack("{s:s}", "name", "guarded"));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        json_decref(r);
}

static void assert_still_serving(daemon_fixture *d) {
        json_t *r = call(d, IFACE "List", NULL);

        assert_null(error_of(r));
        json_decref(r);
}

/* Send raw bytes; return the reply, or NULL if the daemon closed the connection. */
static json_t *raw(daemon_fixture *d, const char *bytes, size_t len) {
        varlink_conn c;
        json_t *r = NULL;
        int k;

        conn_open(d, &c);
        assert_int_equal(send(c.fd, bytes, len, MSG_NOSIGNAL), (ssize_t) len);
        k = varlink_next_reply(&c, &r);
        varlink_conn_done(&c);
        return k < 0 ? NULL : r;
}

#define RAW(s) raw(d, s, sizeof(s))

static void test_bad_input_is_answered_and_the_daemon_goes_on(void **state) {
        daemon_fixture *d = *state;
        char *big;

        assert_null(RAW("{not json")); /* malformed: closed */
        assert_still_serving(d);
        assert_null(RAW("[1,2,3]")); /* not an object: closed */
        assert_error(RAW("{\"parameters\":{}}"), "org.varlink.service.InvalidParameter", "parameter",
                     "method");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Frob\"}"), "org.varlink.service.MethodNotFound",
                     "method", "io.corral.Supervisor.Frob");
        assert_error(RAW("{\"method\":\"com.example.X.Y\"}"), "org.varlink.service.InterfaceNotFound",
                     "interface", "com.example.X");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":{}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "name");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":{\"name\":7}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "name");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":{\"name\":\"x\","
                         "\"bogus\":1}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "bogus");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":{\"name\":\"../x\"}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "name");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":{\"name\":\"x\","
                         "\"timeoutUSec\":-5}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "timeoutUSec");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[1]}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "command");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[]}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "command");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"stopSignal\":\"SIGNOPE\"}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "stopSignal");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"environment\":[\"NOEQUALS\"]}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "environment");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.List\",\"parameters\":[]}"),
                     "org.varlink.service.InvalidParameter", "parameter", "parameters");

        /* Larger than the limit, never terminated: an error, then the connection is closed. */
        big = malloc(300 * 1024);
        memset(big, ' ', 300 * 1024);
        json_t *r = raw(d, big, 300 * 1024);
        free(big);
        assert_non_null(r);
        assert_error(r, "io.corral.Supervisor.MessageTooLarge", NULL, NULL);

        /* Half a message, then gone. */
        varlink_conn c;
        conn_open(d, &c);
        assert_int_equal(send(c.fd, "{\"method\":\"io.cor", 17, MSG_NOSIGNAL), 17);
        varlink_conn_done(&c);
        assert_still_serving(d);
        assert_int_equal(waitid(P_PIDFD, (id_t) d->pidfd, &(siginfo_t){ 0 }, WEXITED | WNOHANG), 0);
}

static void assert_product(json_t *r) {
        assert_null(error_of(r));
        assert_string_equal(json_string_value(param(r, "product")), "corrald");
        json_decref(r);
}

/* What the varlink specification allows in a call's envelope (method: string, parameters:
 * ?object, oneway: ?bool, more: ?bool, upgrade: ?bool, vendor extensions) is taken; what corrald
 * cannot do (upgrade) is refused by name. */
static void test_envelope_as_the_specification_allows(void **state) {
        daemon_fixture *d = *state;
        json_t *r;

        /* What github.com/varlink/go sends for a call without parameters. */
        assert_product(RAW("{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":null}"));
        assert_product(RAW("{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":null,\"more\":null,"
                           "\"oneway\":null,\"upgrade\":null,\"org.example.vendor\":{\"x\":1}}"));
        assert_product(RAW("{\"method\":\"org.varlink.service.GetInfo\",\"more\":false,\"oneway\":false,"
                           "\"upgrade\":false}"));
        r = RAW("{\"method\":\"io.corral.Supervisor.List\",\"parameters\":null}");
        assert_true(json_is_array(param(r, "backends")));
        json_decref(r);
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.List\",\"upgrade\":true}"),
                     "org.varlink.service.InvalidParameter", "parameter", "upgrade");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.List\",\"upgrade\":1}"),
                     "org.varlink.service.InvalidParameter", "parameter", "upgrade");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.List\",\"oneway\":\"yes\"}"),
                     "org.varlink.service.InvalidParameter", "parameter", "oneway");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Stop\",\"parameters\":null}"),
                     "org.varlink.service.InvalidParameter", "parameter", "name");
        /* oneway: no reply, not even an error; the next reply is the next call's. */
        assert_product(RAW("{\"method\":\"io.corral.Supervisor.Status\",\"oneway\":true,"
                           "\"parameters\":{\"name\":\"none\"}}\0"
                           "{\"method\":\"io.corral.Supervisor.Watch\",\"oneway\":true,\"more\":true}\0"
                           "{\"method\":\"org.varlink.service.GetInfo\"}"));
        /* more on a method that gives one reply: that reply, without continues. */
        r = RAW("{\"method\":\"org.varlink.service.GetInfo\",\"more\":true}");
        assert_product(json_incref(r));
        assert_null(json_object_get(r, "continues"));
        json_decref(r);
        assert_still_serving(d);
}

static void test_errors_name_what_was_wrong(void **state) {
        daemon_fixture *d = *state;
        json_t *r;

        start_ready(d, "one", "pause", 10000000);
        assert_error(call(d, IFACE "Start", start_params(d, "one", "pause", 1)), IFACE "BackendExists",
                     "name", "one");
        assert_error(call(d, IFACE "Stop", json_pack("{s:s}", "name", "none")), IFACE "NoSuchBackend",
                     "name", "none");
        assert_error(call(d, IFACE "Status", json_pack("{s:s}", "name", "none")), IFACE "NoSuchBackend",
                     "name", "none");
        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s]}", "name", "missing", "command", "/nonexistent/binary"));
        assert_non_null(strstr(json_string_value(param(r, "message")), "No such file or directory"));
        assert_error(r, IFACE "StartFailed", "name", "missing");

        r = call(d, "org.varlink.service.GetInfo", NULL);
        assert_string_equal(json_string_value(param(r, "product")), "corrald");
        json_decref(r);
        r = call(d, "org.varlink.service.GetInterfaceDescription",
                 json_pack("{s:s}", "interface", "io.corral.Supervisor"));
        assert_non_null(
                strstr(json_string_value(param(r, "description")), "interface io.corral.Supervisor"));
        json_decref(r);
        assert_error(call(d, "org.varlink.service.GetInterfaceDescription",
                          json_pack("{s:s}", "interface", "x.y")),
                     "org.varlink.service.InterfaceNotFound", "interface", "x.y");
}

static void test_restart_gives_a_new_launch(void **state) {
        daemon_fixture *d = *state;
        json_t *r;
        char first[32];

        start_ready(d, "again", "pause", 10000000);
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "again"));
        snprintf(first, sizeof(first), "%s",
                 json_string_value(json_object_get(param(r, "backend"), "launch")));
        json_decref(r);
        r = call(d, IFACE "Restart", json_pack("{s:s}", "name", "again"));
        assert_null(error_of(r));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        assert_string_not_equal(json_string_value(json_object_get(param(r, "backend"), "launch")), first);
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(param(r, "backend"), "lastVerdict"), "event")),
                            "stopped");
        json_decref(r);
        harness_wait_ready(d->h, false);
}

/* A watcher that never reads cannot make corrald hold its replies without end: past the
 * client buffer it is dropped, and everyone else is served as before. */
static void test_slow_watcher_is_dropped(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--max-client-buffer", "65536", NULL };
        varlink_conn w;
        json_t *r = NULL;
        int k = 0, i;

        daemon_start(d, extra);
        conn_open(d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0); /* then never read */
        json_decref(r);
        /* Each start and stop makes three events of ~500 bytes; the socket buffers take ~200 KiB
         * before corrald has to hold any. Stop as soon as it has dropped the watcher. */
        for (i = 0; i < 2000 && (i % 25 != 0 || !strstr(read_log(d), "dropping client")); i++) {
                json_decref(call(d, IFACE "Start",
                                 json_pack("{s:s, s:[s, s]}", "name", "flood", "command", "sleep", "1000")));
                json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", "flood")));
        }
        assert_non_null(strstr(read_log(d), "dropping client"));
        assert_non_null(strstr(read_log(d), "65536 bytes of replies unread"));
        /* What was written before the drop can still be read; then the connection ends. */
        while ((k = varlink_next_reply(&w, &r)) == 0)
                json_decref(r);
        assert_int_equal(k, -ECONNRESET);
        varlink_conn_done(&w);
        assert_still_serving(d);
}

/* An absurd grace period saturates instead of wrapping around to "now". */
static void test_absurd_timeout_is_no_deadline(void **state) {
        daemon_fixture *d = *state;
        json_t *r;

        start_ready(d, "patient", "term-exit", INT64_MAX);
        r = call(d, IFACE "Stop",
                 json_pack("{s:s, s:I}", "name", "patient", "timeoutUSec", (json_int_t) INT64_MAX));
        assert_string_equal(json_string_value(json_object_get(param(r, "verdict"), "level")), "info");
        assert_true(json_is_false(json_object_get(param(r, "verdict"), "escalated")));
        json_decref(r);
}

static json_t *watch_until(varlink_conn *w, const char *event) {
        json_t *r = NULL;

        for (;;) {
                assert_int_equal(varlink_next_reply(w, &r), 0);
                if (param(r, "event") && strcmp(event_name(r), event) == 0)
                        return r;
                json_decref(r);
        }
}

/* Over varlink: a crash loop ends failed; ResetFailed and Restart bring it back; a Stop while it
 * waits to be restarted answers at once. */
static void test_restart_policy_over_varlink(void **state) {
        daemon_fixture *d = *state;
        varlink_conn w;
        json_t *r, *p;

        conn_open(d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
        p = json_pack("{s:s, s:[s, s, s, s], s:s, s:I, s:s}", "name", "loop", "command", harness_helper(),
                      "exit-after", d->h->fifo, "0:2", "restart", "on-failure", "restartDelayUSec",
                      (json_int_t) 5000, "restartLimit", "2/1min");
        r = call(d, IFACE "Start", p);
        assert_null(error_of(r));
        json_decref(r);
        json_decref(watch_until(&w, "restarting"));
        json_decref(watch_until(&w, "restarting"));
        r = watch_until(&w, "failed");
        assert_string_equal(json_string_value(json_object_get(param(r, "event"), "level")), "error");
        json_decref(r);
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "loop"));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "failed");
        assert_string_equal(/* the last verdict is the exit, not what followed it */
                            json_string_value(json_object_get(
                                    json_object_get(param(r, "backend"), "lastVerdict"), "event")),
                            "exited");
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "restart")),
                            "on-failure");
        json_decref(r);
        r = call(d, IFACE "ResetFailed", json_pack("{s:s}", "name", "loop"));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "gone");
        json_decref(r);

        /* Long delays now: Stop while it waits. */
        p = json_pack("{s:s, s:[s, s, s, s], s:s, s:I}", "name", "slowloop", "command", harness_helper(),
                      "exit-after", d->h->fifo, "0:2", "restart", "always", "restartDelayUSec",
                      (json_int_t) 60000000);
        json_decref(call(d, IFACE "Start", p));
        json_decref(watch_until(&w, "restarting"));
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "slowloop"));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "restarting");
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(param(r, "backend"), "lastVerdict"), "event")),
                            "exited");
        assert_true(json_is_integer(json_object_get(param(r, "backend"), "nextRestart")));
        json_decref(r);
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "slowloop"));
        assert_string_equal(json_string_value(json_object_get(param(r, "verdict"), "message")),
                            "backend stopped (restart cancelled)");
        json_decref(r);
        varlink_conn_done(&w);
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"restart\":\"sometimes\"}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "restart");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"restartLimit\":\"5\"}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "restartLimit");
}

/* The privileges of Start, through the real client: the backend runs as nobody, as asked. */
static void test_start_as_another_user(void **state) {
        daemon_fixture *d = *state;
        struct passwd *pw = getpwnam("nobody");
        char out[4096], want[64];

        assert_non_null(pw);
        assert_int_equal(chmod(d->h->tmpdir, 0755), 0);
        assert_int_equal(chmod(d->h->fifo, 0666), 0);
        assert_int_equal(client(d,
                                ARGS("start", "who", "--type", "task", "--user", "nobody", "--umask", "027",
                                     "--rlimit", "nofile=321:4096", "--no-new-privileges", "--",
                                     harness_helper(), "ids", d->h->fifo),
                                out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);
        snprintf(want, sizeof(want), "I%u:%u:", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid);
        assert_non_null(strstr(d->h->ready_buf, want));
        assert_non_null(strstr(d->h->ready_buf, ":027:321:1\n"));
        /* corrald raised its own file limit; a backend gets the one corrald was started with */
        struct rlimit mine;
        char nofile[64];
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &mine), 0);
        snprintf(nofile, sizeof(nofile), ":%llu:0\n", (unsigned long long) mine.rlim_cur);
        assert_int_equal(
                client(d, ARGS("start", "who2", "--type", "task", "--", harness_helper(), "ids", d->h->fifo),
                       out, sizeof(out)),
                0);
        harness_wait_ready(d->h, false);
        assert_non_null(strstr(d->h->ready_buf, nofile));
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"rlimits\":[\"nofile=lots\"]}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "rlimits");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"umask\":4095}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "umask");
        json_t *r = call(d, IFACE "Start",
                         json_pack("{s:s, s:[s], s:s}", "name", "ghost", "command", "true", "user",
                                   "no-such-user-here"));
        assert_non_null(strstr(json_string_value(param(r, "message")), "no such user 'no-such-user-here'"));
        assert_null(strstr(json_string_value(param(r, "message")), "Invalid argument"));
        assert_error(r, IFACE "StartFailed", "name", "ghost");
}

static void test_ready_over_varlink(void **state) {
        daemon_fixture *d = *state;
        varlink_conn w;
        json_t *r;

        conn_open(d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s, s, s], s:s}", "name", "model", "command", harness_helper(),
                           "notify-ready", d->h->fifo, "ready", "notify"));
        assert_null(error_of(r));
        json_decref(r);
        json_decref(watch_until(&w, "ready"));
        varlink_conn_done(&w);
        r = call(d, IFACE "Status", json_pack("{s:s}", "name", "model"));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "statusText")),
                            "loading model");
        json_decref(r);
        harness_wait_ready(d->h, false);

        /* waitReady: the answer comes at ready; or, never ready, as StartFailed. */
        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s, s, s], s:s, s:b}", "name", "model2", "command", harness_helper(),
                           "notify-ready", d->h->fifo, "ready", "notify", "waitReady", 1));
        assert_null(error_of(r));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        json_decref(r);
        harness_wait_ready(d->h, false);
        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s, s, s], s:s, s:b, s:I}", "name", "never", "command", harness_helper(),
                           "notify-never", d->h->fifo, "ready", "notify", "waitReady", 1, "startTimeoutUSec",
                           (json_int_t) 200000));
        assert_string_equal(json_string_value(param(r, "message")),
                            "backend failed to start: not ready within 200 ms");
        assert_error(r, IFACE "StartFailed", "name", "never");
        assert_error(RAW("{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"x\","
                         "\"command\":[\"true\"],"
                         "\"ready\":\"tcp\"}}"),
                     "org.varlink.service.InvalidParameter", "parameter", "ready");
}

/* Closed by the daemon before or while we wrote. */
static bool refused(int k) {
        return k == -ECONNRESET || k == -EPIPE;
}

static void test_connection_limit(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--max-connections", "2", NULL };
        varlink_conn c[2];
        json_t *r = NULL;

        daemon_start(d, extra);
        conn_open(d, &c[0]);
        conn_open(d, &c[1]);
        assert_int_equal(varlink_call(&c[0], IFACE "List", NULL, false, &r), 0); /* both are served */
        json_decref(r);
        assert_int_equal(varlink_call(&c[1], IFACE "List", NULL, false, &r), 0);
        json_decref(r);
        varlink_conn c3;
        conn_open(d, &c3);
        assert_true(refused(varlink_call(&c3, IFACE "List", NULL, false, &r))); /* the third is not */
        varlink_conn_done(&c3);
        varlink_conn_done(&c[0]);
        varlink_conn_done(&c[1]);
        /* Once the daemon has seen the two hang up, it serves again: each refused try is one
         * more turn of its loop, so this ends within a few tries. */
        int k = -ECONNRESET;
        for (int i = 0; i < 1000 && refused(k); i++) {
                conn_open(d, &c3);
                k = varlink_call(&c3, IFACE "List", NULL, false, &r);
                varlink_conn_done(&c3);
        }
        assert_int_equal(k, 0);
        json_decref(r);
}

static void test_sigterm_stops_every_backend_at_info(void **state) {
        daemon_fixture *d = *state;
        char *log;

        start_ready(d, "a", "term-exit", 10000000);
        start_ready(d, "b", "pause", 10000000);
        start_ready(d, "c", "grandchild", 200000);
        assert_int_equal(daemon_stop(d), 0);
        log = read_log(d);
        assert_non_null(strstr(log, "\"level\":\"info\",\"event\":\"stopped\",\"backend\":\"a\""));
        assert_non_null(strstr(log, "\"level\":\"info\",\"event\":\"stopped\",\"backend\":\"b\""));
        assert_non_null(strstr(log, "\"level\":\"notice\",\"event\":\"stopped\",\"backend\":\"c\""));
        assert_null(strstr(log, "\"level\":\"warning\""));
        harness_assert_no_leftovers(d->h->root); /* and teardown checks again */
}

static void test_client_verbs_and_exit_codes(void **state) {
        daemon_fixture *d = *state;
        char out[8192];

        assert_int_equal(client(d, ARGS("start", "cli", "--", harness_helper(), "pause", d->h->fifo), out,
                                sizeof(out)),
                         0);
        assert_non_null(strstr(out, "cli: started, pid "));
        harness_wait_ready(d->h, false);
        assert_int_equal(client(d, ARGS("list"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "NAME"));
        assert_non_null(strstr(out, "cli "));
        assert_non_null(strstr(out, "running"));
        assert_int_equal(client(d, ARGS("status", "cli"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "state      running"));
        assert_int_equal(client(d, ARGS("status", "cli", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"name\":\"cli\""));
        assert_int_equal(client(d, ARGS("start", "cli", "--", "true"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "a backend named cli is already running"));
        assert_int_equal(client(d, ARGS("stop", "cli"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "cli: stopped (info): backend stopped, signal SIGTERM"));
        assert_int_equal(client(d, ARGS("stop", "nothing"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "no backend named nothing"));
        assert_int_equal(client(d, ARGS("stop"), out, sizeof(out)), 2);
        assert_int_equal(client(d, ARGS("start", "x", "--grace", "soon", "--", "true"), out, sizeof(out)),
                         2);
        assert_non_null(strstr(out, "--grace 'soon'"));
        assert_int_equal(client(d, ARGS("stop", "--all"), out, sizeof(out)), 0);
        assert_int_equal(
                client(d,
                       ARGS("start", "policy", "--restart", "on-failure", "--restart-delay", "1s",
                            "--restart-limit", "3/1min", "--", harness_helper(), "pause", d->h->fifo),
                       out, sizeof(out)),
                0);
        harness_wait_ready(d->h, false);
        assert_int_equal(client(d, ARGS("status", "policy", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"restart\":\"on-failure\""));
        assert_int_equal(client(d, ARGS("reset-failed", "policy"), out, sizeof(out)), 0);
        assert_int_equal(
                client(d, ARGS("start", "x", "--restart", "sometimes", "--", "true"), out, sizeof(out)), 2);
        assert_int_equal(client(d, ARGS("stop", "policy"), out, sizeof(out)), 0);

        const char *saved = getenv("CORRAL_BIN");
        (void) saved;
        snprintf(d->sock, sizeof(d->sock), "%s/no-such.sock", d->h->tmpdir); /* and back below */
        assert_int_equal(client(d, ARGS("list"), out, sizeof(out)), 3);
        assert_non_null(strstr(out, "cannot reach corrald at "));
        assert_non_null(strstr(out, "no-such.sock"));
        snprintf(d->sock, sizeof(d->sock), "%s/sock", d->h->tmpdir);
}

/* Global options before the verb as after it; --version of both programs; restart --wait-ready
 * answers at the new launch's readiness. */
static void test_options_before_the_verb(void **state) {
        daemon_fixture *d = *state;
        char out[8192], addr[320];

        assert_int_equal(client_raw(d,
                                    ARGS("--address", d->sock, "start", "model", "--ready", "notify", "--",
                                         harness_helper(), "notify-ready", d->h->fifo),
                                    out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);
        assert_int_equal(client_raw(d, ARGS("--address", d->sock, "list"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "model "));
        snprintf(addr, sizeof(addr), "--address=%s", d->sock);
        assert_int_equal(client_raw(d, ARGS("--json", addr, "status", "model"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"name\":\"model\""));
        assert_int_equal(client_raw(d,
                                    ARGS("--json", "--address", d->sock, "restart", "model", "--wait-ready"),
                                    out, sizeof(out)),
                         0);
        assert_non_null(strstr(out, "\"state\":\"running\""));
        harness_wait_ready(d->h, false);
        /* after the verb, as before */
        assert_int_equal(client_raw(d, ARGS("restart", "model", "--wait-ready", "--address", d->sock), out,
                                    sizeof(out)),
                         0);
        assert_non_null(strstr(out, "model: restarted, pid "));
        harness_wait_ready(d->h, false);
        assert_int_equal(client_raw(d, ARGS("--address", d->sock, "stop", "model"), out, sizeof(out)), 0);

        assert_int_equal(client_raw(d, ARGS("--frob", "list"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "unknown option '--frob' before the verb"));
        assert_int_equal(client_raw(d, ARGS("--address"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "--address needs a PATH"));
        assert_int_equal(client_raw(d, ARGS("--json", "run", "--", "true"), out, sizeof(out)), 2);
        assert_int_equal(client_raw(d, ARGS("--version"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "corral " CORRAL_VERSION "\n"));
        const char *version[] = { getenv("CORRAL_DAEMON_BIN"), "--version", NULL };
        assert_int_equal(run_capture(d, version, out, sizeof(out)), 0);
        assert_string_equal(out, "corrald " CORRAL_VERSION "\n");
}

/* The line of `corral status` that starts with key, its value copied to buf. */
static const char *status_line(const char *out, const char *key, char *buf, size_t size) {
        char want[32];
        const char *p;

        snprintf(want, sizeof(want), "\n%-10s ", key);
        p = strstr(out, want);
        assert_non_null(p);
        p += strlen(want);
        snprintf(buf, size, "%.*s", (int) strcspn(p, "\n"), p);
        return buf;
}

/* What status and list say: readiness, STATUS=, restarts, processes, the start time (also after
 * a re-adoption), no pid once gone; a failed start --wait-ready says how it ended and what it
 * said last on stderr. */
/* Status says what its health checks say (null without HealthCheck=). */
static void test_status_says_health(void **state) {
        daemon_fixture *d = *state;
        char out[8192];

        assert_int_equal(
                client(d,
                       ARGS("start", "checked", "--health-check", "exec:true", "--health-check-interval-sec",
                            "50ms", "--", harness_helper(), "pause", d->h->fifo),
                       out, sizeof(out)),
                0);
        assert_int_equal(client(d, ARGS("start", "plain", "--", harness_helper(), "pause", d->h->fifo), out,
                                sizeof(out)),
                         0);
        if (!harness_wait_until(client(d, ARGS("status", "checked", "--json"), out, sizeof(out)) == 0 &&
                                strstr(out, "\"health\":\"healthy\"")))
                fail_msg("Status never said healthy (hang guard): %s", out);
        assert_non_null(strstr(out, "\"healthFailures\":0"));
        /* the event says it as a field too, not only in its message */
        if (!harness_wait_until(strstr(read_log(d), "\"event\":\"health\"") &&
                                strstr(read_log(d), "\"health\":\"healthy\",\"how\"")))
                fail_msg("no health event with health=healthy (hang guard): %s", read_log(d));
        assert_int_equal(client(d, ARGS("status", "plain", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"health\":null"));
        assert_int_equal(client(d, ARGS("stop", "checked"), out, sizeof(out)), 0);
        assert_int_equal(client(d, ARGS("stop", "plain"), out, sizeof(out)), 0);
}

static void test_status_and_list_say_what_runs(void **state) {
        daemon_fixture *d = *state;
        char out[8192], v[256], started[64];

        assert_int_equal(client(d,
                                ARGS("start", "web", "--ready", "notify", "--wait-ready", "--",
                                     harness_helper(), "notify-ready", d->h->fifo),
                                out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);
        assert_int_equal(client(d, ARGS("status", "web"), out, sizeof(out)), 0);
        assert_string_equal(status_line(out, "ready", v, sizeof(v)), "yes");
        assert_string_equal(status_line(out, "status", v, sizeof(v)), "loading model");
        assert_string_equal(status_line(out, "restarts", v, sizeof(v)), "0 (Restart=no)");
        assert_string_equal(status_line(out, "processes", v, sizeof(v)), "1");
        assert_string_equal(status_line(out, "file", v, sizeof(v)), "-"); /* started over varlink */
        status_line(out, "started", started, sizeof(started));
        assert_int_equal(strlen(started), 19); /* YYYY-MM-DD HH:MM:SS */
        assert_int_equal(client(d, ARGS("list"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "STARTED"));
        assert_non_null(strstr(out, "RESTARTS"));
        assert_non_null(strstr(out, "READY"));
        assert_non_null(strstr(out, started));

        /* corrald killed and back: the start time is the launch's, from its record */
        daemon_kill9(d);
        daemon_start(d, NULL);
        assert_int_equal(client(d, ARGS("status", "web"), out, sizeof(out)), 0);
        assert_string_equal(status_line(out, "started", v, sizeof(v)), started);
        assert_string_equal(status_line(out, "ready", v, sizeof(v)), "yes");
        assert_int_equal(client(d, ARGS("status", "web", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"processes\":1"));
        assert_non_null(strstr(out, "\"ready\":true"));

        /* gone: no pid 0, no start time */
        assert_int_equal(client(d, ARGS("stop", "web"), out, sizeof(out)), 0);
        assert_int_equal(client(d, ARGS("status", "web"), out, sizeof(out)), 0);
        assert_string_equal(status_line(out, "pid", v, sizeof(v)), "-");
        assert_string_equal(status_line(out, "started", v, sizeof(v)), "-");
        assert_string_equal(status_line(out, "ready", v, sizeof(v)), "-");
        assert_int_equal(client(d, ARGS("status", "web", "--json"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"pid\":null"));
        daemon_baseline(d); /* the corrald that took web back held its fds from its start */

        /* ended before it was ready: how (exit code 3), and its stderr's last lines */
        assert_int_equal(client(d,
                                ARGS("start", "early", "--ready", "notify", "--wait-ready", "--",
                                     harness_helper(), "exit", d->h->fifo, "3"),
                                out, sizeof(out)),
                         1);
        assert_non_null(strstr(
                out,
                "corral: early: backend failed to start: it ended before it was ready (exit code 3)\n"));
        assert_non_null(strstr(out, "\n  err 6\n  err 7\n"));
        harness_wait_ready(d->h, false);
}

/* Output over varlink and through `corral logs`; limits through `corral start`; Logs is as
 * privileged as Start; the output of a backend that is gone is still there. */
static void test_logs_and_limits_through_the_client(void **state) {
        daemon_fixture *d = *state;
        char out[8192];
        json_t *r;

        assert_int_equal(client(d,
                                ARGS("start", "talker", "--pids-max", "32", "--cpu-weight", "200",
                                     "--log-buffer", "4K", "--", harness_helper(), "print", d->h->fifo),
                                out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);
        /* corrald reads the pipes in its own time: until all is there (hang guard) */
        (void) harness_wait_until(client(d, ARGS("logs", "talker", "-n", "0"), out, sizeof(out)) == 0 &&
                                  strstr(out, "out 3\n") && strstr(out, "err 1\n"));
        assert_non_null(strstr(out, "out 1\nout 2\nout 3\n"));
        assert_int_equal(client(d, ARGS("logs", "talker", "-n", "1"), out, sizeof(out)), 0);
        assert_int_equal(strchr(out, '\n') - out + 1, (long) strlen(out));
        r = call(d, IFACE "Logs", json_pack("{s:s, s:i}", "name", "talker", "lines", 2));
        assert_null(error_of(r));
        assert_int_equal(json_string_length(param(r, "data")), 12); /* two lines of 6 bytes */
        json_decref(r);
        assert_error(call(d, IFACE "Logs", json_pack("{s:s}", "name", "nobody")), IFACE "NoSuchBackend",
                     "name", "nobody");
        assert_int_equal(client(d, ARGS("stop", "talker"), out, sizeof(out)), 0);
        assert_int_equal(client(d, ARGS("logs", "talker", "-n", "0"), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "err 1\n"));
        assert_int_equal(
                client(d, ARGS("start", "x", "--memory-max", "lots", "--", "true"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "--memory-max 'lots'"));
        assert_int_equal(client(d, ARGS("start", "x", "--cpu-max", "50", "--", "true"), out, sizeof(out)),
                         2);
        assert_non_null(strstr(out, "--cpu-max '50'"));
        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s], s:i}", "name", "x", "command", "true", "cpuWeight", 0));
        assert_error(r, "org.varlink.service.InvalidParameter", "parameter", "cpuWeight");
}

/* The client does not resolve capability and system call names (it loads neither libcap nor
 * libseccomp): corrald does, and the client says its refusal as the usage error it names, exit 2,
 * for the option as it was given; nothing is started. */
static void test_names_only_corrald_resolves(void **state) {
        daemon_fixture *d = *state;
        char out[8192];

        assert_int_equal(client(d, ARGS("start", "x", "--capability-bounding-set", "CAP_FLY", "--", "true"),
                                out, sizeof(out)),
                         2);
        assert_non_null(strstr(out,
                               "corral: invalid --capability-bounding-set 'CAP_FLY': expected capability "
                               "names such as CAP_NET_BIND_SERVICE"));
        assert_int_equal(client(d, ARGS("start", "x", "-p", "AmbientCapabilities=cap_fly", "--", "true"),
                                out, sizeof(out)),
                         2);
        assert_non_null(strstr(out,
                               "corral: invalid -p AmbientCapabilities value 'cap_fly': expected "
                               "capability names"));
        assert_int_equal(client(d,
                                ARGS("start", "x", "--system-call-filter", "~not_a_syscall", "--", "true"),
                                out, sizeof(out)),
                         2);
        assert_non_null(strstr(out,
                               "corral: invalid --system-call-filter '~not_a_syscall': expected system "
                               "call names and @groups"));
        assert_int_equal(client(d, ARGS("start", "x", "--system-call-filter", "@nope", "--", "true"), out,
                                sizeof(out)),
                         2);
        assert_non_null(strstr(out, "--system-call-filter '@nope'"));
        assert_int_equal(client(d, ARGS("status", "x"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "no backend named x"));
        assert_int_equal(
                client(d,
                       ARGS("start", "x", "--capability-bounding-set", "~CAP_SYS_ADMIN",
                            "--system-call-filter", "~ptrace", "--", harness_helper(), "pause", d->h->fifo),
                       out, sizeof(out)),
                0);
        harness_wait_ready(d->h, false);
        assert_int_equal(client(d, ARGS("stop", "x"), out, sizeof(out)), 0);
}

/* Whether a connection to the socket goes through (and is closed at once). */
static bool connects(const char *path) {
        int fd = varlink_connect(path);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* Socket activation: the listening socket comes from sd_listen_fds(). systemd-socket-activate
 * listens, and on the first connection execs corrald in its place with LISTEN_FDS set. */
static void test_socket_activation(void **state) {
        daemon_fixture *d = *state;
        const char *activate = "/usr/bin/systemd-socket-activate";
        char listen_arg[320];
        json_t *r;

        if (access(activate, X_OK) < 0)
                skip(); /* Debian's systemd package has it */
        snprintf(listen_arg, sizeof(listen_arg), "--listen=%s", d->sock);
        const char *argv[] = { activate,        listen_arg, getenv("CORRAL_DAEMON_BIN"),
                               "--cgroup-root", d->h->root, "--log-format",
                               "json",          NULL };
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        assert_int_equal(posix_spawn(&d->pid, activate, &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        d->pidfd = (int) syscall(SYS_pidfd_open, d->pid, 0);
        assert_true(d->pidfd >= 0);

        /* Until it listens, connecting fails: until a connection goes through (hang guard). This
         * first connection already makes it exec corrald. */
        (void) harness_wait_until(connects(d->sock));
        r = call(d, IFACE "List", NULL); /* the first connection makes it exec corrald */
        assert_null(error_of(r));
        json_decref(r);
        start_ready(d, "activated", "pause", 10000000);
        assert_int_equal(daemon_stop(d), 0);
        assert_int_equal(access(d->sock, F_OK), 0); /* systemd's socket, not corrald's to remove */
        assert_non_null(strstr(read_log(d), "listening on the socket systemd passed"));
        assert_non_null(
                strstr(read_log(d), "\"level\":\"info\",\"event\":\"stopped\",\"backend\":\"activated\""));
}

/* The names List gives, in its order, joined by spaces. */
static void list_names(daemon_fixture *d, char *buf, size_t size) {
        json_t *r = call(d, IFACE "List", NULL), *b;
        size_t i, n = 0;

        buf[0] = '\0';
        json_array_foreach(param(r, "backends"), i, b) n += (size_t) snprintf(
                buf + n, size - n, "%s%s", n ? " " : "", json_string_value(json_object_get(b, "name")));
        json_decref(r);
}

static void stop_now(daemon_fixture *d, const char *name) {
        json_t *r = call(d, IFACE "Stop", json_pack("{s:s}", "name", name));

        assert_non_null(param(r, "verdict"));
        json_decref(r);
}

/* The socket file goes at a clean shutdown and stays after a crash (the next corrald replaces
 * it); a --definitions directory that is not there is an error naming it, at the start and at a
 * reload. */
static void test_socket_file_and_definition_dirs(void **state) {
        daemon_fixture *d = *state;
        char defs[320], out[4096], other[320];
        const char *extra[] = { "--definitions", defs, NULL };

        assert_int_equal(access(d->sock, F_OK), 0);
        assert_int_equal(daemon_stop(d), 0);
        assert_int_equal(access(d->sock, F_OK), -1); /* a clean end: gone */
        daemon_start(d, NULL);
        daemon_kill9(d);
        assert_int_equal(access(d->sock, F_OK), 0); /* a crash leaves it... */
        daemon_reap_orphans(d);
        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        daemon_start(d, extra); /* ... and the next corrald replaces it */

        /* the directory goes: a reload says so, naming it */
        assert_int_equal(rmdir(defs), 0);
        assert_int_equal(client(d, ARGS("daemon-reload"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "/defs: cannot read the directory: No such file or directory"));

        /* at the start: a usage error, before anything else (not even the cgroup root is looked at) */
        snprintf(other, sizeof(other), "%s/other.sock", d->h->tmpdir);
        const char *missing[] = { getenv("CORRAL_DAEMON_BIN"), "--address", other, "--cgroup-root", "/nonexistent",
                                  "--definitions", defs, NULL };
        assert_int_equal(run_capture(d, missing, out, sizeof(out)), 2);
        assert_non_null(strstr(out, "corrald: --definitions "));
        assert_non_null(strstr(out, "/defs: No such file or directory"));
        char plain[330], said[400]; /* a file of the test's own: the VM test's /etc has few */
        int fd;
        snprintf(plain, sizeof(plain), "%s/plain", d->h->tmpdir);
        fd = open(plain, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        const char *file[] = { getenv("CORRAL_DAEMON_BIN"), "--address", other, "--cgroup-root", "/nonexistent",
                               "--definitions", plain, NULL };
        assert_int_equal(run_capture(d, file, out, sizeof(out)), 2);
        snprintf(said, sizeof(said), "corrald: --definitions %s: not a directory", plain);
        assert_non_null(strstr(out, said));
        assert_int_equal(unlink(plain), 0);
}

/* Gone backends are remembered up to --keep-gone, the longest gone forgotten first, never a
 * declared one; Remove forgets one at once and refuses one that runs or is declared. */
static void test_gone_backends_are_forgotten(void **state) {
        daemon_fixture *d = *state;
        char defs[320], path[400], names[256], out[4096];
        const char *extra[] = { "--keep-gone", "2", "--definitions", defs, NULL };
        json_t *r;
        FILE *f;

        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        snprintf(path, sizeof(path), "%s/decl.backend", defs);
        assert_non_null(f = fopen(path, "we"));
        fputs("[Backend]\nType=oneshot\nExecStart=true\n", f);
        fclose(f);
        daemon_start(d, extra);
        stop_now(d, "decl"); /* finished by now, or stopped: gone either way */
        daemon_baseline(d);  /* the one taken at READY=1 had decl's pidfd and pipes */

        const char *gone[] = { "a", "b", "c" };
        for (size_t i = 0; i < 3; i++) {
                start_ready(d, gone[i], "pause", 5000000);
                stop_now(d, gone[i]);
        }
        list_names(d, names, sizeof(names));
        assert_string_equal(names, "decl b c"); /* a went first; decl is declared */
        assert_error(call(d, IFACE "Status", json_pack("{s:s}", "name", "a")), IFACE "NoSuchBackend", "name",
                     "a");
        assert_error(call(d, IFACE "Logs", json_pack("{s:s}", "name", "a")), IFACE "NoSuchBackend", "name",
                     "a");

        r = call(d, IFACE "Remove", json_pack("{s:s}", "name", "b"));
        assert_null(error_of(r));
        json_decref(r);
        assert_error(call(d, IFACE "Remove", json_pack("{s:s}", "name", "b")), IFACE "NoSuchBackend", "name",
                     "b");
        assert_error(call(d, IFACE "Remove", json_pack("{s:s}", "name", "decl")), IFACE "BackendDeclared",
                     "definition", path);
        start_ready(d, "r", "pause", 5000000);
        assert_error(call(d, IFACE "Remove", json_pack("{s:s}", "name", "r")), IFACE "BackendRunning",
                     "state", "running");
        assert_int_equal(client(d, ARGS("remove", "r"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "corral: r is running: stop it first"));
        assert_int_equal(client(d, ARGS("remove", "decl"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "decl is declared in "));
        stop_now(d, "r");
        list_names(d, names, sizeof(names));
        assert_string_equal(names, "decl c r");

        /* A forgotten name starts afresh; c is now the longest gone. */
        start_ready(d, "a", "pause", 5000000);
        stop_now(d, "a");
        list_names(d, names, sizeof(names));
        assert_string_equal(names, "decl r a");
        assert_int_equal(client(d, ARGS("remove", "a"), out, sizeof(out)), 0);
        assert_int_equal(client(d, ARGS("remove", "a"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "no backend named a"));
        list_names(d, names, sizeof(names));
        assert_string_equal(names, "decl r");

        const char *bad[] = { getenv("CORRAL_DAEMON_BIN"), "--keep-gone", "lots", NULL };
        assert_int_equal(run_capture(d, bad, out, sizeof(out)), 2);
        assert_non_null(strstr(out, "invalid --keep-gone 'lots': expected 0 to 1000000"));
}

/* `corral reload NAME...` (ReloadBackend) waits for each reload and says how it went; every name
 * is checked first; one with no way to reload is ReloadNotSupported; `corral reload` alone points
 * to daemon-reload; the old Reload method is DaemonReload's alias. */
static void test_reload_backends(void **state) {
        daemon_fixture *d = *state;
        char out[4096];

        assert_int_equal(client(d,
                                ARGS("start", "rl-sig", "--reload-signal", "SIGUSR1", "--", harness_helper(),
                                     "ticker", d->h->fifo),
                                out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);
        assert_int_equal(
                client(d,
                       ARGS("start", "rl-bad", "--exec-reload", "/bin/sh -c 'echo nope >&2; exit 3'", "--",
                            harness_helper(), "pause", d->h->fifo),
                       out, sizeof(out)),
                0);
        harness_wait_ready(d->h, false);
        assert_int_equal(client(d, ARGS("start", "rl-none", "--", harness_helper(), "pause", d->h->fifo),
                                out, sizeof(out)),
                         0);
        harness_wait_ready(d->h, false);

        assert_int_equal(client(d, ARGS("reload", "rl-sig"), out, sizeof(out)), 0);
        assert_non_null(
                strstr(out, "rl-sig: reloaded: backend reloaded (SIGUSR1 delivered to its main process)"));
        harness_wait_said(d->h, 'T', 1);
        /* its event names who asked, as a Kill's does: here, this process (answered after the event
         * is logged) */
        json_t *rr = call(d, IFACE "ReloadBackend", json_pack("{s:[s]}", "names", "rl-sig"));
        char asked[96];
        assert_null(error_of(rr));
        json_decref(rr);
        harness_wait_said(d->h, 'T', 1);
        snprintf(asked, sizeof(asked), "\"reload_uid\":%u,\"reload_pid\":%d,", (unsigned) getuid(),
                 (int) getpid());
        assert_non_null(strstr(read_log(d), asked));
        assert_int_equal(client(d, ARGS("reload", "rl-sig", "rl-bad"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "rl-sig: reloaded"));
        assert_non_null(strstr(out, "rl-bad: failed: reload failed: ExecReload=/bin/sh -c"));
        assert_non_null(strstr(out, "exited with status 3: nope"));
        /* checked first: nothing is reloaded when one cannot be */
        assert_int_equal(client(d, ARGS("reload", "rl-sig", "rl-none"), out, sizeof(out)), 1);
        assert_non_null(strstr(out, "rl-none"));
        assert_error(call(d, IFACE "ReloadBackend", json_pack("{s:[s,s]}", "names", "rl-sig", "rl-none")),
                     IFACE "ReloadNotSupported", "name", "rl-none");
        assert_error(call(d, IFACE "ReloadBackend", json_pack("{s:[s]}", "names", "nosuch")),
                     IFACE "NoSuchBackend", "name", "nosuch");
        assert_error(call(d, IFACE "ReloadBackend", json_pack("{s:[]}", "names")),
                     "org.varlink.service.InvalidParameter", "parameter", "names");
        assert_int_equal(client(d, ARGS("reload"), out, sizeof(out)), 2);
        assert_non_null(strstr(out, "daemon-reload"));
        json_t *r = call(d, IFACE "Reload", NULL); /* DaemonReload by its old name */
        assert_null(error_of(r));
        assert_non_null(param(r, "unchanged"));
        json_decref(r);
        r = call(d, IFACE "DaemonReload", NULL);
        assert_null(error_of(r));
        json_decref(r);
        assert_int_equal(client(d, ARGS("daemon-reload"), out, sizeof(out)), 0);
        for (const char *const *n = (const char *const[]){ "rl-sig", "rl-bad", "rl-none", NULL }; *n; n++)
                json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", *n)));
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup_started, fixture_teardown)
                T(test_start_list_status_stop),
                T(test_two_concurrent_stops_get_the_same_verdict),
                T(test_watch_streams_every_event),
                T(test_unprivileged_caller_is_refused),
                T(test_bad_input_is_answered_and_the_daemon_goes_on),
                T(test_errors_name_what_was_wrong),
                T(test_envelope_as_the_specification_allows),
                T(test_restart_gives_a_new_launch),
                T(test_sigterm_stops_every_backend_at_info),
                T(test_client_verbs_and_exit_codes),
                T(test_options_before_the_verb),
                T(test_reload_backends),
                T(test_status_and_list_say_what_runs),
                T(test_status_says_health),
                T(test_logs_and_limits_through_the_client),
                T(test_names_only_corrald_resolves),
                cmocka_unit_test_setup_teardown(test_connection_limit, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_socket_activation, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_slow_watcher_is_dropped, fixture_setup,
                                                fixture_teardown),
                T(test_absurd_timeout_is_no_deadline),
                T(test_restart_policy_over_varlink),
                T(test_start_as_another_user),
                T(test_ready_over_varlink),
                T(test_socket_file_and_definition_dirs),
                cmocka_unit_test_setup_teardown(test_gone_backends_are_forgotten, fixture_setup,
                                                fixture_teardown),
        };

        harness_require_root_cgroup2();
        if (!getenv("CORRAL_DAEMON_BIN")) {
                fprintf(stderr, "skipped: CORRAL_DAEMON_BIN is not set (run through meson test)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
