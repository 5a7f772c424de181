/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-adopt.c: corrald killed with SIGKILL at several points (idle, during stops, during a start)
 * and started again takes every backend back: live ones supervised again with the same pid,
 * stops under way completed as intentional, crashes while it was down reported once as
 * unexpected, nothing left behind. CORRAL_ADOPT_CYCLES (default 3) kill-restart cycles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-fixture.h"
#include "macro.h"

#define N_LIVE    8
#define N_STOPPER 4
#define N_CRASHER 4

/* n helpers said c on the fifo. */
static void wait_chars(daemon_fixture *d, char c, int n) {
        harness_wait_said(d->h, c, n);
}

static void wait_rs(daemon_fixture *d, int n) {
        wait_chars(d, 'R', n);
}

static void start(daemon_fixture *d, const char *name, const char *mode, const char *arg, json_int_t grace) {
        json_t *p = json_pack("{s:s, s:[s, s, s], s:I}", "name", name, "command", harness_helper(), mode,
                              d->h->fifo, "stopTimeoutUSec", grace);
        json_t *r;

        if (arg)
                json_array_append_new(json_object_get(p, "command"), json_string(arg));
        r = call(d, IFACE "Start", p);
        if (error_of(r))
                fail_msg("Start %s: %s", name, error_of(r));
        json_decref(r);
}

/* status_of(), for a backend that must be there. */
static json_t *status(daemon_fixture *d, const char *name) {
        json_t *b = status_of(d, name);

        if (!b)
                fail_msg("no Status for %s", name);
        return b;
}

/* Lines of corrald's log (all its lives) that are events of this backend; the last in *ret. */
static unsigned find_events(daemon_fixture *d, const char *name, const char *event, char **ret) {
        char key_b[128], key_e[64];
        const char *log = read_log(d);
        unsigned n = 0;

        snprintf(key_b, sizeof(key_b), "\"backend\":\"%s\"", name);
        snprintf(key_e, sizeof(key_e), "\"event\":\"%s\"", event);
        for (const char *l = log; l && *l;) {
                const char *end = strchr(l, '\n');
                size_t len = end ? (size_t) (end - l) : strlen(l);
                char *line = strndup(l, len);
                if (strstr(line, key_b) && strstr(line, key_e)) {
                        n++;
                        if (ret) {
                                free(*ret);
                                *ret = TAKE_PTR(line);
                        }
                }
                free(line);
                l = end ? end + 1 : NULL;
        }
        return n;
}

static unsigned count_events(daemon_fixture *d, const char *name, const char *event) {
        return find_events(d, name, event, NULL);
}

static unsigned count_verdicts(daemon_fixture *d, const char *name) {
        static const char *const verdicts[] = { "stopped", "finished",   "exited",       "killed",
                                                "crashed", "oom-killed", "start-failed", "watchdog" };
        unsigned n = 0;

        for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
                n += count_events(d, name, verdicts[i]);
        return n;
}

static void wait_verdict(daemon_fixture *d, const char *name) {
        if (!harness_wait_until(count_verdicts(d, name) > 0))
                fail_msg("no verdict for %s (hang guard) in:\n%s", name, read_log(d));
}

/* Whether the backend's kept output has want in it (or, exact, is want). */
static bool logs_have(daemon_fixture *d, const char *name, const char *want, bool exact) {
        json_t *r = call(d, IFACE "Logs", json_pack("{s:s, s:i}", "name", name, "lines", 0));
        const char *data = json_string_value(param(r, "data")) ?: "";
        bool got = exact ? strcmp(data, want) == 0 : strstr(data, want) != NULL;

        json_decref(r);
        return got;
}

/* Send a call and do not wait for its answer (the daemon may be killed before it gives one). */
static void send_only(daemon_fixture *d, varlink_conn *c, const char *method, json_t *params) {
        json_t *m = varlink_call_new(method, params, false);

        conn_open(d, c);
        assert_int_equal(varlink_conn_queue(c, m), 0);
        json_decref(m);
        assert_int_equal(varlink_conn_flush(c), 0);
}

static bool has_state(daemon_fixture *d, const char *name, const char *state) {
        json_t *b = status(d, name);
        bool ok = strcmp(jstr(b, "state"), state) == 0;

        json_decref(b);
        return ok;
}

static void wait_state(daemon_fixture *d, const char *name, const char *state) {
        if (!harness_wait_until(has_state(d, name, state)))
                fail_msg("%s never became %s (hang guard)", name, state);
}

/* A pidfd of a backend's main process, from Status. */
static int pidfd_of(daemon_fixture *d, const char *name) {
        json_t *b = status(d, name);
        int fd = (int) syscall(SYS_pidfd_open, (pid_t) json_integer_value(json_object_get(b, "pid")), 0);

        json_decref(b);
        assert_true(fd >= 0);
        return fd;
}

/* Make the process end with sig, and wait until it has (it is not reaped: its exit status is
 * left for whoever reaps it). */
static void end_now(int pidfd, int sig) {
        assert_int_equal(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0), 0);
        harness_pidfd_wait(pidfd);
        close(pidfd);
}

/* No leaf left under root. A verdict is told (the log line, a Stop's reply) before its leaf and
 * record are removed, so that a corrald killed in between tells it again rather than never: the
 * leaf may still be there for a moment after the verdict is seen. */
static bool no_leaf(const char *root) {
        DIR *dir = opendir(root);
        struct dirent *de;
        bool none = dir != NULL;

        while (none && (de = readdir(dir)))
                none = !(de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 &&
                         strcmp(de->d_name, "..") != 0);
        if (dir)
                closedir(dir);
        return none;
}

/* harness_assert_no_leftovers(), once the last verdict's leaf had its moment to go. */
static void assert_no_leftovers(daemon_fixture *d) {
        if (!no_leaf(d->h->root)) {
                printf("# a leaf was still there after its verdict; waiting for it to go\n");
                (void) harness_wait_until(no_leaf(d->h->root));
        }
        harness_assert_no_leftovers(d->h->root);
}

/* Until corrald's log has a verdict for the backend (any of its lives). */
static void wait_verdict(daemon_fixture *d, const char *name);
static void assert_stopped_once(daemon_fixture *d, const char *name);

static void one_cycle(daemon_fixture *d, int cycle) {
        char name[64];
        json_int_t pids[N_LIVE];
        varlink_conn stops[N_STOPPER], late;
        int crashers[N_CRASHER];

        /* Live ones, ones that will be stopping (they ignore SIGTERM: killed at the deadline), and
         * ones that will crash (exit 3) while corrald is down, when we tell them to. */
        for (int i = 0; i < N_LIVE; i++) {
                snprintf(name, sizeof(name), "live%d-%d", cycle, i);
                start(d, name, "pause", NULL, 15000000);
        }
        for (int i = 0; i < N_STOPPER; i++) {
                snprintf(name, sizeof(name), "stopper%d-%d", cycle, i);
                start(d, name, "term-ignore", NULL, 1500000);
        }
        for (int i = 0; i < N_CRASHER; i++) {
                snprintf(name, sizeof(name), "crasher%d-%d", cycle, i);
                start(d, name, "exit-on-usr1", "3", 15000000);
        }
        wait_rs(d, N_LIVE + N_STOPPER + N_CRASHER);
        for (int i = 0; i < N_LIVE; i++) {
                snprintf(name, sizeof(name), "live%d-%d", cycle, i);
                json_t *b = status(d, name);
                pids[i] = json_integer_value(json_object_get(b, "pid"));
                json_decref(b);
        }
        for (int i = 0; i < N_CRASHER; i++) {
                snprintf(name, sizeof(name), "crasher%d-%d", cycle, i);
                crashers[i] = pidfd_of(d, name);
        }

        /* 1. Killed idle; the crashers crash while it is down. */
        daemon_kill9(d);
        for (int i = 0; i < N_CRASHER; i++)
                end_now(crashers[i], SIGUSR1);
        daemon_start(d, NULL);

        /* 2. Killed during the stops: each stopper has its intent and is in its grace period. */
        for (int i = 0; i < N_STOPPER; i++) {
                snprintf(name, sizeof(name), "stopper%d-%d", cycle, i);
                send_only(d, &stops[i], IFACE "Stop", json_pack("{s:s}", "name", name));
        }
        for (int i = 0; i < N_STOPPER; i++) {
                snprintf(name, sizeof(name), "stopper%d-%d", cycle, i);
                wait_state(d, name, "stopping");
        }
        daemon_kill9(d);
        for (int i = 0; i < N_STOPPER; i++)
                varlink_conn_done(&stops[i]);
        daemon_start(d, NULL);

        /* 3. Killed during a start. */
        snprintf(name, sizeof(name), "late%d", cycle);
        send_only(d, &late, IFACE "Start",
                  json_pack("{s:s, s:[s, s]}", "name", name, "command", harness_helper(), "fds"));
        daemon_kill9(d);
        varlink_conn_done(&late);
        daemon_start(d, NULL);

        /* Every stop completes, as intentional, never a warning; its verdict comes once. */
        for (int i = 0; i < N_STOPPER; i++) {
                snprintf(name, sizeof(name), "stopper%d-%d", cycle, i);
                json_t *r = call(d, IFACE "Stop", json_pack("{s:s}", "name", name));
                json_t *v = param(r, "verdict");
                /* Under load the corrald between the kills may live past its deadline: it killed
                 * it and told its verdict, and the one after it knows nothing of it (see
                 * test_stop_deadline_passed_while_down). The verdict must be there, once. */
                if (error_of(r) && strcmp(error_of(r), IFACE "NoSuchBackend") == 0 &&
                    count_verdicts(d, name) == 1) {
                        printf("# %s was stopped by the corrald between the kills\n", name);
                        assert_stopped_once(d, name);
                        json_decref(r);
                        continue;
                }
                if (error_of(r))
                        fail_msg("Stop %s after corrald was killed during its stop: %s", name,
                                 json_dumps(r, 0));
                assert_string_equal(jstr(v, "event"), "stopped");
                assert_true(strcmp(jstr(v, "level"), "info") == 0 ||
                            strcmp(jstr(v, "level"), "notice") == 0);
                assert_true(json_is_true(json_object_get(v, "intentional")));
                json_decref(r);
                assert_int_equal(count_verdicts(d, name), 1);
        }
        /* Every crash is reported once, as unexpected, with its exit status. */
        for (int i = 0; i < N_CRASHER; i++) {
                snprintf(name, sizeof(name), "crasher%d-%d", cycle, i);
                wait_verdict(d, name);
                char *line = NULL;
                assert_int_equal(count_verdicts(d, name), 1);
                assert_int_equal(find_events(d, name, "exited", &line), 1);
                json_t *v = json_loads(line, 0, NULL);
                assert_non_null(v);
                assert_string_equal(jstr(v, "level"), "warning");
                assert_false(json_is_true(json_object_get(v, "intentional")));
                assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 3);
                json_decref(v);
                free(line);
        }
        /* Every live one is supervised again: same pid, running, no verdict. */
        for (int i = 0; i < N_LIVE; i++) {
                snprintf(name, sizeof(name), "live%d-%d", cycle, i);
                json_t *b = status(d, name);
                assert_string_equal(jstr(b, "state"), "running");
                assert_int_equal(json_integer_value(json_object_get(b, "pid")), pids[i]);
                json_decref(b);
                assert_int_equal(count_verdicts(d, name), 0);
                char *line = NULL; /* taken back by each of the three corralds that followed */
                assert_int_equal(find_events(d, name, "adopted", &line), 3);
                json_t *v = json_loads(line, 0, NULL);
                assert_non_null(v);
                assert_string_equal(jstr(v, "level"), "info");
                assert_int_equal(json_integer_value(json_object_get(v, "pid")), pids[i]);
                assert_false(json_is_true(json_object_get(v, "intentional")));
                json_decref(v);
                free(line);
        }
        /* ... and stopped on purpose now, at info: it is ours again. */
        for (int i = 0; i < N_LIVE; i++) {
                snprintf(name, sizeof(name), "live%d-%d", cycle, i);
                json_t *r = call(d, IFACE "Stop", json_pack("{s:s}", "name", name));
                assert_string_equal(jstr(param(r, "verdict"), "level"), "info");
                json_decref(r);
        }
        json_decref(call(d, IFACE "StopAll", NULL));
        snprintf(name, sizeof(name), "late%d", cycle);
        assert_true(count_verdicts(d, name) <= 1);
        daemon_reap_orphans(d);
        assert_no_leftovers(d);
}

/* A corrald with nothing to take back, so that the fixture's fd baseline is its own again. */
static void fresh_daemon(daemon_fixture *d) {
        assert_int_equal(daemon_stop(d), 0);
        daemon_reap_orphans(d);
        daemon_start(d, NULL);
}

static void test_kill_and_restart_cycles(void **state) {
        daemon_fixture *d = *state;
        const char *env = getenv("CORRAL_ADOPT_CYCLES");
        int cycles = env ? atoi(env) : 3;

        for (int c = 0; c < cycles; c++)
                one_cycle(d, c);
        fresh_daemon(d);
}

/* Whether the process lives in namespaces of its own (mount and network) and under a filter. */
static bool sandboxed(pid_t pid) {
        const char *ns[] = { "mnt", "net" };
        char path[64], mine[64], its[64], line[256];
        bool filtered = false;
        FILE *f;

        for (size_t i = 0; i < 2; i++) {
                ssize_t a, b;
                snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
                a = readlink(path, mine, sizeof(mine) - 1);
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns[i]);
                b = readlink(path, its, sizeof(its) - 1);
                if (a <= 0 || b <= 0 || (a == b && memcmp(mine, its, (size_t) a) == 0))
                        return false;
        }
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                filtered |= strcmp(line, "Seccomp:\t2\n") == 0;
        if (f)
                fclose(f);
        return filtered;
}

/* A sandboxed backend taken back after corrald died keeps its sandbox, and so does its next
 * launch: the sandbox is in the definition kept on its cgroup. */
static void test_sandbox_survives_readoption(void **state) {
        daemon_fixture *d = *state;
        json_t *b, *r;
        pid_t pid;

        r = call(d, IFACE "Start",
                 json_pack("{s:s, s:[s, s, s], s:s, s:s, s:b, s:s}", "name", "boxed", "command",
                           harness_helper(), "pause", d->h->fifo, "protectSystem", "strict", "protectHome",
                           "yes", "privateNetwork", 1, "systemCallFilter", "~@mount @debug"));
        if (error_of(r))
                fail_msg("Start: %s", error_of(r));
        json_decref(r);
        wait_rs(d, 1);
        b = status(d, "boxed");
        pid = (pid_t) json_integer_value(json_object_get(b, "pid"));
        json_decref(b);
        assert_true(sandboxed(pid));

        daemon_kill9(d);
        daemon_start(d, NULL);
        b = status(d, "boxed");
        assert_int_equal(json_integer_value(json_object_get(b, "pid")), pid);
        assert_string_equal(jstr(b, "state"), "running");
        json_decref(b);
        assert_true(sandboxed(pid));

        r = call(d, IFACE "Restart", json_pack("{s:s}", "name", "boxed"));
        assert_null(error_of(r));
        json_decref(r);
        wait_rs(d, 1);
        b = status(d, "boxed");
        pid = (pid_t) json_integer_value(json_object_get(b, "pid"));
        json_decref(b);
        assert_true(sandboxed(pid)); /* its next launch, from the kept definition */
        json_decref(call(d, IFACE "StopAll", NULL));
        daemon_reap_orphans(d);
        fresh_daemon(d);
}

/* A backend waiting for its restart when corrald dies is restarted by the next one. */
/* The verdict of a stopper (its Stop's reply lost with the corrald that was killed during it). */
static void assert_stopped_once(daemon_fixture *d, const char *name) {
        char *line = NULL;
        json_t *v;

        assert_int_equal(count_verdicts(d, name), 1);
        assert_int_equal(find_events(d, name, "stopped", &line), 1);
        v = json_loads(line, 0, NULL);
        assert_non_null(v);
        assert_true(strcmp(jstr(v, "level"), "info") == 0 || strcmp(jstr(v, "level"), "notice") == 0);
        assert_true(json_is_true(json_object_get(v, "intentional")));
        json_decref(v);
        free(line);
}

/* A stop whose deadline passed while corrald was down: the next corrald kills it at once and
 * tells its verdict, once, intentional; a corrald after that one does not know the name any more
 * (nothing of it is kept once told: NoSuchBackend, see Stop in the varlink interface). This is
 * what test_kill_and_restart_cycles meets under load, when the corrald between its kills lives
 * past the stoppers' deadline. */
static void test_stop_deadline_passed_while_down(void **state) {
        daemon_fixture *d = *state;
        varlink_conn stop;
        int fd;

        start(d, "st", "term-ignore", NULL, 500000);
        wait_rs(d, 1);
        fd = pidfd_of(d, "st");
        send_only(d, &stop, IFACE "Stop", json_pack("{s:s}", "name", "st"));
        wait_state(d, "st", "stopping");
        daemon_kill9(d);
        varlink_conn_done(&stop);
        /* Its deadline passes while no corrald runs (it ignores SIGTERM: it is still there). */
        usleep(1000000);
        assert_int_equal(poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 0), 0);
        daemon_start(d, NULL);
        wait_verdict(d, "st");
        harness_pidfd_wait(fd);
        close(fd);
        assert_stopped_once(d, "st");
        daemon_kill9(d);
        daemon_start(d, NULL);
        json_t *r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "st"));
        assert_string_equal(error_of(r) ?: "(none)", "io.corral.Supervisor.NoSuchBackend");
        json_decref(r);
        assert_stopped_once(d, "st"); /* not told again */
        daemon_reap_orphans(d);
        assert_no_leftovers(d);
        fresh_daemon(d);
}

static void test_restart_pending_survives(void **state) {
        daemon_fixture *d = *state;
        const uint64_t delay = 1500000;
        json_t *p = json_pack("{s:s, s:[s, s, s, s], s:s, s:I}", "name", "phoenix", "command",
                              harness_helper(), "exit-after", d->h->fifo, "0:4", "restart", "on-failure",
                              "restartDelayUSec", (json_int_t) delay);
        uint64_t started = harness_now_usec(); /* the restart is due no earlier than delay from now */
        json_t *r = call(d, IFACE "Start", p);

        assert_null(error_of(r));
        json_decref(r);
        wait_rs(d, 1);
        wait_state(d, "phoenix", "restarting");
        daemon_kill9(d);
        daemon_start(d, NULL);
        json_t *b = status(d, "phoenix");
        /* Still waiting for its restart, if the new corrald answered before it was due; on a
         * machine busy enough that it was not, the new corrald may have restarted it already. */
        if (harness_now_usec() < started + delay)
                assert_string_equal(jstr(b, "state"), "restarting");
        else if (strcmp(jstr(b, "state"), "restarting") != 0)
                printf("# phoenix was due for its restart before corrald was back: %s\n", jstr(b, "state"));
        json_decref(b);
        wait_rs(d, 1); /* started again, by the new corrald, when the delay was over */
        json_decref(call(d, IFACE "StopAll", NULL));
        daemon_reap_orphans(d);
        assert_true(count_events(d, "phoenix", "restarting") >= 1);
        fresh_daemon(d);
}

/* Without a store, what ended and was reaped while corrald was down has no exit status: it is
 * reported once, unexpected, how unknown; what it left in its cgroup is killed. */
static void test_ended_while_down_without_status(void **state) {
        daemon_fixture *d = *state;
        char *line = NULL;
        json_t *v;

        start(d, "gone", "exit-on-usr1", "5", 15000000);
        start(d, "family", "grandchild", NULL, 15000000); /* its setsid grandchild ignores SIGTERM */
        wait_rs(d, 2);
        int gone = pidfd_of(d, "gone"), family = pidfd_of(d, "family");
        daemon_kill9(d);
        end_now(gone, SIGUSR1);
        end_now(family, SIGTERM); /* its main process only */
        daemon_reap_orphans(d);   /* as init would: their exit statuses are gone with it */
        daemon_start(d, NULL);
        wait_verdict(d, "gone");
        wait_verdict(d, "family");
        assert_int_equal(find_events(d, "gone", "exited", &line), 1);
        v = json_loads(line, 0, NULL);
        assert_string_equal(jstr(v, "how"), "unknown");
        assert_string_equal(jstr(v, "level"), "warning");
        assert_true(json_is_null(json_object_get(v, "exit_code")));
        json_decref(v);
        assert_int_equal(find_events(d, "family", "exited", &line), 1);
        v = json_loads(line, 0, NULL);
        assert_true(json_is_true(json_object_get(v, "escalated"))); /* its grandchild was killed */
        assert_int_equal(json_integer_value(json_object_get(v, "leftover")), 1);
        json_decref(v);
        free(line);
        daemon_reap_orphans(d);
        assert_no_leftovers(d);
        fresh_daemon(d);
}

/* A main process that died while corrald was down and that nobody reaped yet (a zombie of the
 * test, as subreaper, as init would hold one for a while): its verdict, once, with its exit code,
 * never an "adopted" first; its runtime is not counted through the downtime. */
static void test_zombie_gets_its_verdict_once(void **state) {
        daemon_fixture *d = *state;
        char *line = NULL;
        json_t *v;

        start(d, "zombie", "exit-on-usr1", "5", 15000000);
        wait_rs(d, 1);
        int fd = pidfd_of(d, "zombie");
        daemon_kill9(d);
        end_now(fd, SIGUSR1); /* exited, not reaped: a zombie until daemon_reap_orphans() */
        usleep(300000);       /* downtime a runtime must not count */
        daemon_start(d, NULL);
        wait_verdict(d, "zombie");
        assert_int_equal(find_events(d, "zombie", "adopted", NULL), 0);
        assert_int_equal(find_events(d, "zombie", "exited", &line), 1);
        v = json_loads(line, 0, NULL);
        assert_string_equal(jstr(v, "how"), "exited");
        assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 5);
        assert_string_equal(jstr(v, "level"), "warning");
        assert_true(json_is_null(json_object_get(v, "runtime_ms"))); /* when it died is not known */
        json_decref(v);
        free(line);
        assert_int_equal(count_verdicts(d, "zombie"), 1);
        daemon_reap_orphans(d);
        assert_no_leftovers(d);
        fresh_daemon(d);
}

/* Start a backend with a memory limit; the mirror of the test's root in the v1 memory hierarchy
 * (where the limit goes on a hybrid host) in mirror. */
static void start_limited(daemon_fixture *d, const char *name, char *mirror, size_t size) {
        json_t *r = call(d, IFACE "Start",
                         json_pack("{s:s, s:[s, s, s], s:I}", "name", name, "command", harness_helper(),
                                   "pause", d->h->fifo, "memoryMax", (json_int_t) 64 << 20));
        json_t *b;
        const char *cg;

        if (error_of(r))
                fail_msg("Start %s: %s", name, error_of(r));
        json_decref(r);
        wait_rs(d, 1);
        b = status(d, name);
        cg = jstr(b, "cgroup");
        if (!cg || !strrchr(cg, '/'))
                fail_msg("Status %s: no cgroup path", name);
        snprintf(mirror, size, "/sys/fs/cgroup/memory%.*s", (int) (strrchr(cg, '/') - cg), cg);
        json_decref(b);
}

static bool is_dir(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The v1 groups under the cgroup root (hybrid hosts) go with the last backend that used them and
 * at a clean shutdown, also when the corrald that made them was killed and another took its
 * backends back; a group corrald did not make is never removed. */
static void test_v1_groups_go_with_their_last_backend(void **state) {
        daemon_fixture *d = *state;
        char mirror[600];

        if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) < 0) {
                printf("# no cgroup v1 memory hierarchy: nothing to check\n");
                return;
        }
        start_limited(d, "mem", mirror, sizeof(mirror));
        if (!is_dir(mirror)) {
                printf("# memory is a cgroup v2 controller here: nothing to check\n");
                json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", "mem")));
                return;
        }
        daemon_kill9(d);
        daemon_start(d, NULL);
        assert_true(is_dir(mirror));
        json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", "mem")));
        assert_false(is_dir(mirror)); /* its last backend is gone */

        start_limited(d, "mem2", mirror, sizeof(mirror));
        daemon_kill9(d);
        daemon_start(d, NULL);
        assert_int_equal(daemon_stop(d), 0); /* a clean shutdown, of what it took back */
        assert_false(is_dir(mirror));
        daemon_reap_orphans(d);

        /* made by someone else: left alone */
        assert_int_equal(mkdir(mirror, 0755), 0);
        daemon_start(d, NULL);
        start_limited(d, "mem3", mirror, sizeof(mirror));
        json_decref(call(d, IFACE "Stop", json_pack("{s:s}", "name", "mem3")));
        assert_true(is_dir(mirror));
        assert_int_equal(daemon_stop(d), 0);
        assert_true(is_dir(mirror));
        assert_int_equal(rmdir(mirror), 0);
        daemon_reap_orphans(d);
        daemon_start(d, NULL);
}

/* Where an empty leaf does not outlive corrald (systemd removes the empty cgroups of a service it
 * restarts), the record in the state directory still tells of a backend that ended meanwhile. */
static void test_lost_leaf_reported_from_state_dir(void **state) {
        daemon_fixture *d = *state;
        char dir[400], leafs[2][600];
        /* no fd holder: as under systemd, where the records are what is left */
        const char *extra[] = { "--state-dir", dir, "--fd-holder", "no", NULL };
        /* a name may begin with '.': its record, ".dot.<launch>.json", is one like any other */
        const char *names[] = { "lost", ".dot" };
        char *line = NULL;
        json_t *b, *v;

        snprintf(dir, sizeof(dir), "%s/state", d->h->tmpdir);
        assert_int_equal(daemon_stop(d), 0);
        daemon_start(d, extra);
        int ends[2];
        for (int i = 0; i < 2; i++)
                start(d, names[i], "exit-on-usr1", "5", 15000000);
        wait_rs(d, 2);
        for (int i = 0; i < 2; i++) {
                b = status(d, names[i]);
                snprintf(leafs[i], sizeof(leafs[i]), "%s/%s.%s", d->h->root, names[i], jstr(b, "launch"));
                json_decref(b);
                ends[i] = pidfd_of(d, names[i]);
        }
        daemon_kill9(d);
        for (int i = 0; i < 2; i++)
                end_now(ends[i], SIGUSR1);
        daemon_reap_orphans(d);
        for (int i = 0; i < 2; i++)
                assert_int_equal(rmdir(leafs[i]), 0); /* as systemd would, the empty leaf goes */
        daemon_start(d, extra);
        for (int i = 0; i < 2; i++) {
                wait_verdict(d, names[i]);
                assert_int_equal(find_events(d, names[i], "exited", &line), 1);
                v = json_loads(line, 0, NULL);
                assert_string_equal(jstr(v, "level"), "warning");
                json_decref(v);
                line = mfree(line);
        }
        DIR *sd = opendir(dir); /* the records are gone with the verdicts */
        struct dirent *de;
        int files = 0;
        while (sd && (de = readdir(sd)))
                files += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        if (sd)
                closedir(sd);
        assert_int_equal(files, 0);
        fresh_daemon(d);
        rmdir(dir);
}

/* A stand-in for systemd's file descriptor store: the notify socket corrald talks to, the fds
 * it keeps there, and a restart that passes them back (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID). */
typedef struct fake_systemd {
        int notify_fd;
        char names[64][128];
        int fds[64];
        int n;
        bool ready;
} fake_systemd;

static void store_receive(fake_systemd *s) {
        for (;;) {
                char buf[1024], ctl[CMSG_SPACE(sizeof(int) * 4)];
                struct iovec iov = { buf, sizeof(buf) - 1 };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
                };
                ssize_t k = recvmsg(s->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                int fd = -1;
                const char *name;
                if (k < 0)
                        return;
                buf[k] = '\0';
                if (strstr(buf, "READY=1"))
                        s->ready = true;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                memcpy(&fd, CMSG_DATA(c), sizeof(int));
                name = strstr(buf, "FDNAME=");
                if (!name)
                        continue;
                name += 7;
                if (strstr(buf, "FDSTOREREMOVE=1")) {
                        for (int i = 0; i < s->n; i++)
                                if (s->fds[i] >= 0 && strcmp(s->names[i], name) == 0)
                                        s->fds[i] = (close(s->fds[i]), -1);
                } else if (strstr(buf, "FDSTORE=1") && fd >= 0 && s->n < 64) {
                        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
                        s->fds[s->n++] = fd;
                        fd = -1;
                }
                if (fd >= 0)
                        close(fd);
        }
}

static void store_done(fake_systemd *s) {
        for (int i = 0; i < s->n; i++)
                if (s->fds[i] >= 0)
                        close(s->fds[i]);
        close(s->notify_fd);
        s->n = 0;
}

/* corrald under the stand-in: NOTIFY_SOCKET stays ours, and what is stored comes back as
 * LISTEN_FDS through a shell that sets LISTEN_PID to its own pid before it execs corrald. */
static void daemon_start_stored(daemon_fixture *d, fake_systemd *s, bool first) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char env_fds[32], env_names[4096] = "LISTEN_FDNAMES=", *argv[32];
        const char *sh = "LISTEN_PID=$$ exec \"$0\" \"$@\"";
        posix_spawn_file_actions_t fa;
        char *envp[8] = { NULL };
        int n = 0, k = 0, high[64];

        if (first) {
                assert_true(strlen(d->notify) < sizeof(sa.sun_path));
                memcpy(sa.sun_path, d->notify, strlen(d->notify) + 1);
                s->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                assert_int_equal(bind(s->notify_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        }
        posix_spawn_file_actions_init(&fa);
        for (int i = 0; i < s->n; i++) {
                if (s->fds[i] < 0)
                        continue;
                high[n] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 200);
                posix_spawn_file_actions_adddup2(&fa, high[n], 3 + n);
                strncat(env_names, n ? ":" : "", sizeof(env_names) - strlen(env_names) - 1);
                strncat(env_names, s->names[i], sizeof(env_names) - strlen(env_names) - 1);
                n++;
        }
        snprintf(env_fds, sizeof(env_fds), "LISTEN_FDS=%d", n);
        char notify_env[400];
        snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", d->notify);
        envp[k++] = notify_env;
        envp[k++] = "PATH=/usr/bin:/bin";
        if (n > 0) {
                envp[k++] = env_fds;
                envp[k++] = env_names;
        }
        const char *args[] = { "/bin/sh",
                               "-c",
                               sh,
                               getenv("CORRAL_DAEMON_BIN"),
                               "--address",
                               d->sock,
                               "--cgroup-root",
                               d->h->root,
                               "--socket-mode",
                               "0666",
                               "--log-format",
                               "json",
                               "--log-target",
                               "stderr",
                               NULL };
        memcpy(argv, args, sizeof(args));
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        assert_int_equal(posix_spawn(&d->pid, argv[0], &fa, NULL, argv, envp), 0);
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < n; i++) /* the high copies made for the child */
                close(high[i]);
        d->pidfd = (int) syscall(SYS_pidfd_open, d->pid, 0);
        assert_true(d->pidfd >= 0);
        s->ready = false;
        for (uint64_t end = harness_now_usec() + harness_hang_guard_usec();
             !s->ready && harness_now_usec() < end;) { /* READY=1 comes after the adoption */
                struct pollfd p = { .fd = s->notify_fd, .events = POLLIN };
                (void) poll(&p, 1, 10);
                store_receive(s);
        }
        assert_true(s->ready);
}

/* PIDFD_INFO_EXIT (6.15): the exit status of a reaped process through a pidfd kept of it. */
static bool kernel_has_pidfd_info_exit(void) {
        struct {
                uint64_t mask, cgroupid;
                uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
                int32_t exit_code;
                uint32_t coredump_mask, spare1;
        } info = { .mask = 1ULL << 3 };
        pid_t pid = fork();
        int fd;

        if (pid == 0)
                _exit(0);
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        (void) waitpid(pid, NULL, 0); /* the test's own child */
        bool ok = fd >= 0 && ioctl(fd, _IOWR(0xFF, 11, info), &info) == 0 && (info.mask & (1ULL << 3));
        if (fd >= 0)
                close(fd);
        return ok;
}

/* Under systemd the store keeps each backend's pidfd and output pipes: a backend that ended and
 * was reaped while corrald was down still has its exit status, and one that writes output after
 * the restart finds its pipe read, not closed. */
static void test_fdstore_keeps_exit_status_and_output(void **state) {
        daemon_fixture *d = *state;
        fake_systemd s = { .notify_fd = -1 };
        json_t *b, *r;

        daemon_start_stored(d, &s, true);
        start(d, "dier", "exit-on-usr1", "7", 15000000);
        start(d, "ticker", "ticker", NULL, 15000000);
        wait_rs(d, 2);
        b = status(d, "ticker");
        pid_t ticker = (pid_t) json_integer_value(json_object_get(b, "pid"));
        json_decref(b);
        int dier = pidfd_of(d, "dier");
        store_receive(&s);
        daemon_kill9(d);
        end_now(dier, SIGUSR1);
        daemon_reap_orphans(d); /* the dier is reaped while no corrald runs: only the stored pidfd knows */
        daemon_start_stored(d, &s, false);

        char *line = NULL;
        (void) harness_wait_until(find_events(d, "dier", "exited", NULL) > 0);
        if (find_events(d, "dier", "exited", &line) != 1)
                fail_msg("dier: no single exited event in:\n%s", read_log(d));
        json_t *v = json_loads(line, 0, NULL);
        if (!kernel_has_pidfd_info_exit()) /* before 6.15 a reaped process's status is gone */
                assert_string_equal(jstr(v, "how"), "unknown");
        else if (json_integer_value(json_object_get(v, "exit_code")) != 7)
                fail_msg("dier: %s (stored: %d)", line, s.n);
        json_decref(v);
        free(line);

        int pfd = (int) syscall(SYS_pidfd_open, ticker, 0);
        assert_true(pfd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, SIGUSR1, NULL, 0), 0);
        close(pfd);
        wait_chars(d, 'T', 1); /* it wrote its line and lives: its stdout pipe is read */
        (void) harness_wait_until(logs_have(d, "ticker", "tick", false));
        r = call(d, IFACE "Logs", json_pack("{s:s, s:i}", "name", "ticker", "lines", 0));
        assert_non_null(strstr(json_string_value(param(r, "data")) ?: "", "tick"));
        json_decref(r);
        b = status(d, "ticker");
        assert_string_equal(jstr(b, "state"), "running");
        json_decref(b);
        json_decref(call(d, IFACE "StopAll", NULL));
        store_receive(&s);
        for (int i = 0; i < s.n; i++) /* every launch ended: the store let all of them go */
                assert_int_equal(s.fds[i], -1);
        store_done(&s);
        daemon_reap_orphans(d);
        unlink(d->notify);
        fresh_daemon(d);
}

static void signal_pid(pid_t pid, int sig) {
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);

        assert_true(pfd >= 0);
        assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0), 0);
        close(pfd);
}

/* Without systemd's store, with a state directory: corrald's own fd holder keeps the output
 * pipes across its SIGKILL, so a backend that writes while no corrald runs is not killed by
 * SIGPIPE, and what it wrote meanwhile is read by the next corrald. A clean stop ends the holder. */
static void test_fd_holder_keeps_output_across_a_crash(void **state) {
        daemon_fixture *d = *state;
        char dir[320];
        const char *extra[] = { "--state-dir", dir, "--fd-holder", "yes", NULL };
        json_t *b, *r;

        snprintf(dir, sizeof(dir), "%s/state", d->h->tmpdir);
        assert_int_equal(mkdir(dir, 0700), 0);
        daemon_start(d, extra);
        start(d, "ticker", "ticker", NULL, 15000000);
        wait_rs(d, 1);
        b = status(d, "ticker");
        pid_t ticker = (pid_t) json_integer_value(json_object_get(b, "pid"));
        json_decref(b);
        pid_t holder = daemon_holder_pid(d->pid);
        assert_true(holder > 0);
        int hfd = (int) syscall(SYS_pidfd_open, holder, 0);
        assert_true(hfd >= 0);

        daemon_kill9(d);
        signal_pid(ticker, SIGUSR1);
        wait_chars(d, 'T', 1); /* it wrote "tick" with no corrald: the holder keeps its pipe open */
        daemon_start(d, extra);
        assert_int_equal(daemon_holder_pid(d->pid), 0); /* the holder of the killed one was found again */
        assert_int_equal(syscall(SYS_pidfd_send_signal, hfd, 0, NULL, 0), 0); /* and it lives */
        b = status(d, "ticker");
        assert_string_equal(jstr(b, "state"), "running");
        assert_int_equal(json_integer_value(json_object_get(b, "pid")), ticker);
        json_decref(b);
        signal_pid(ticker, SIGUSR1);
        wait_chars(d, 'T', 1);
        /* both lines: the one written while corrald was down too */
        (void) harness_wait_until(logs_have(d, "ticker", "tick\ntick\n", true));
        r = call(d, IFACE "Logs", json_pack("{s:s, s:i}", "name", "ticker", "lines", 0));
        assert_string_equal(json_string_value(param(r, "data")) ?: "", "tick\ntick\n");
        json_decref(r);
        r = call(d, IFACE "Stop", json_pack("{s:s}", "name", "ticker"));
        assert_string_equal(jstr(param(r, "verdict"), "level"), "info");
        json_decref(r);

        assert_int_equal(daemon_stop(d), 0); /* clean: every backend stopped, the holder may go */
        harness_pidfd_wait(hfd);
        close(hfd);
        daemon_reap_orphans(d); /* it was the killed corrald's child: ours now, as init's would be */
        char sock[400];
        snprintf(sock, sizeof(sock), "%s/fdholder.sock", dir);
        assert_int_equal(access(sock, F_OK), -1); /* it took its socket with it */
        daemon_start(d, NULL);                    /* for the fixture's teardown */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_stop_deadline_passed_while_down, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_kill_and_restart_cycles, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_restart_pending_survives, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_sandbox_survives_readoption, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_fd_holder_keeps_output_across_a_crash, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_fdstore_keeps_exit_status_and_output, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_v1_groups_go_with_their_last_backend,
                                                fixture_setup_started, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_zombie_gets_its_verdict_once, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_ended_while_down_without_status, fixture_setup_started,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_lost_leaf_reported_from_state_dir,
                                                fixture_setup_started, fixture_teardown),
        };

        harness_require_root_cgroup2();
        /* CORRAL_TEST_FILTER: only the tests of that name (a glob), to loop one. */
        if (getenv("CORRAL_TEST_FILTER"))
                cmocka_set_test_filter(getenv("CORRAL_TEST_FILTER"));
        /* The backends of a killed corrald come to us, as they would to init. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
