/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-fixture.c: the real corrald on a socket and a cgroup root of the test's own, and raw varlink calls
 * to it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-fixture.h"
#include "macro.h"

extern char **environ;

static int wait_ready(const char *notify_path, int notify_fd) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        char buf[512];

        (void) notify_path;
        for (;;) {
                ssize_t n;
                if (harness_poll_until(notify_fd, deadline) != 1)
                        return -ETIMEDOUT;
                n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
                if (n < 0)
                        return -errno;
                buf[n] = '\0';
                if (strstr(buf, "READY=1"))
                        return 0;
        }
}

/* Count corrald's fds whose link starts with prefix (all if NULL), but for the timerfds sd-event
 * makes at the first timer of each clock and keeps: one per clock, not a leak. */
static int daemon_fds_matching(daemon_fixture *d, const char *prefix, bool show) {
        char path[64], link[384], target[256];
        struct dirent *de;
        int n = 0;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) d->pid);
        dir = opendir(path);
        assert_non_null(dir);
        while ((de = readdir(dir))) {
                ssize_t k;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
                k = readlink(link, target, sizeof(target) - 1);
                target[k > 0 ? k : 0] = '\0';
                if (strcmp(target, "anon_inode:[timerfd]") == 0 ||
                    (prefix && strncmp(target, prefix, strlen(prefix)) != 0))
                        continue;
                if (show)
                        fprintf(stderr, "corrald fd %s -> %s\n", de->d_name, target);
                n++;
        }
        closedir(dir);
        return n;
}

int daemon_fds_list(daemon_fixture *d, bool show) {
        return daemon_fds_matching(d, NULL, show);
}

int daemon_fds(daemon_fixture *d) {
        return daemon_fds_list(d, false);
}

/* What it was doing, and the end of its log: for a corrald that never said READY=1. */
static void not_ready(daemon_fixture *d, int r) {
        char path[64], what[256] = "", how[64];
        const char *log = read_log(d);
        size_t len = strlen(log);
        siginfo_t si = { 0 };
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/syscall", (int) d->pid);
        if ((f = fopen(path, "re"))) {
                if (!fgets(what, sizeof(what), f))
                        what[0] = '\0';
                fclose(f);
        }
        bool exited = harness_pidfd_exited(d->pidfd);
        (void) syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0); /* nothing left running */
        (void) waitid((idtype_t) 3 /* P_PIDFD */, (id_t) d->pidfd, &si, WEXITED);
        d->pidfd = safe_close(d->pidfd);
        if (exited)
                snprintf(how, sizeof(how), "it had %s %d",
                         si.si_code == CLD_EXITED ? "exited" : "died of signal", si.si_status);
        else
                snprintf(how, sizeof(how), "it ran, in system call %.40s", what);
        fail_msg("corrald (pid %d) never said READY=1: %s; %s; the end of its log:\n%s", (int) d->pid,
                 strerror(-r), how, len > 6000 ? log + len - 6000 : log);
}

/* Start corrald with extra arguments and wait for READY=1 on a notify socket of our own. */
void daemon_start(daemon_fixture *d, const char *const *extra) {
        const char *argv[40], *base[] = { getenv("CORRAL_DAEMON_BIN"),
                                 "--address",
                                 d->sock,
                                 "--cgroup-root",
                                 d->h->root,
                                 "--socket-mode",
                                 "0666",
                                 "--log-format",
                                 "json",
                                 "--log-target",
                                 "stderr" };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        posix_spawn_file_actions_t fa;
        size_t n = 0;
        int nfd;

        for (const char *const *p = d->prefix; p && *p; p++)
                argv[n++] = *p;
        for (size_t i = 0; i < ELEMENTSOF(base); i++)
                argv[n++] = base[i];
        for (; extra && *extra; extra++)
                argv[n++] = *extra;
        argv[n] = NULL;
        assert_true(n < ELEMENTSOF(argv));
        assert_true(strlen(d->notify) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, d->notify, strlen(d->notify) + 1);
        nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(nfd >= 0);
        assert_int_equal(bind(nfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(chmod(d->notify, 0666), 0); /* a corrald that is not root may send too */
        assert_int_equal(setenv("NOTIFY_SOCKET", d->notify, 1), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        assert_int_equal(posix_spawn(&d->pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        unsetenv("NOTIFY_SOCKET");
        d->pidfd = (int) syscall(SYS_pidfd_open, d->pid, 0);
        assert_true(d->pidfd >= 0);
        int r = wait_ready(d->notify, nfd);
        if (r < 0)
                not_ready(d, r);
        close(nfd);
        unlink(d->notify);
        daemon_baseline(d);
}

void daemon_baseline(daemon_fixture *d) {
        varlink_conn c;
        json_t *r = NULL;

        /* Not a time to wait, but a call answered: by then corrald is in its loop, past
         * sd_notify() (whose socket it closed on its way there), and past the hang-ups of the
         * clients before us (seen before a later connection's call is read). While we hold the
         * connection it is one fd of corrald's more than its baseline. */
        conn_open(d, &c);
        assert_int_equal(varlink_call(&c, IFACE "List", NULL, false, &r), 0);
        json_decref(r);
        d->fds_at_start = daemon_fds(d) - 1;
        varlink_conn_done(&c);
}

/* SIGTERM through its pidfd; returns its exit status. */
/* SIGTERM, and SIGKILL if it has not exited at the hang guard; reaped either way, so that a
 * failed test leaves no corrald behind. Its exit status (128+N if killed by N; -1 if none runs). */
static int daemon_end(daemon_fixture *d, bool *ret_hung) {
        siginfo_t si = { 0 };

        *ret_hung = false;
        if (d->pidfd < 0)
                return -1;
        (void) syscall(SYS_pidfd_send_signal, d->pidfd, SIGTERM, NULL, 0);
        if (harness_poll_until(d->pidfd, harness_now_usec() + harness_hang_guard_usec()) != 1) {
                *ret_hung = true;
                (void) syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
        }
        (void) waitid((idtype_t) 3 /* P_PIDFD */, (id_t) d->pidfd, &si, WEXITED);
        d->pidfd = safe_close(d->pidfd);
        return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

int daemon_stop(daemon_fixture *d) {
        bool hung;
        int status = daemon_end(d, &hung);

        if (hung)
                fail_msg("corrald did not exit on SIGTERM (hang guard): killed");
        return status;
}

void daemon_kill9(daemon_fixture *d) {
        siginfo_t si = { 0 };

        assert_int_equal(syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0), 0);
        harness_pidfd_wait(d->pidfd);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) d->pidfd, &si, WEXITED), 0);
        assert_int_equal(si.si_code, CLD_KILLED);
        close(d->pidfd);
        d->pidfd = -1;
}

void daemon_reap_orphans(daemon_fixture *d) {
        for (;;) {
                siginfo_t si = { 0 };
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
                    si.si_pid == d->pid)
                        return;
                (void) waitid(P_PID, (id_t) si.si_pid, &si, WEXITED);
        }
}

pid_t daemon_holder_pid(pid_t parent) {
        char path[96], children[4096] = "", comm[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int) parent, (int) parent);
        if ((f = fopen(path, "re"))) {
                if (!fgets(children, sizeof(children), f))
                        children[0] = '\0';
                fclose(f);
        }
        for (char *p = strtok(children, " \n"); p; p = strtok(NULL, " \n")) {
                snprintf(path, sizeof(path), "/proc/%s/comm", p);
                if (!(f = fopen(path, "re")))
                        continue;
                bool is = fgets(comm, sizeof(comm), f) && strcmp(comm, "corrald-fdhold\n") == 0;
                fclose(f);
                if (is)
                        return (pid_t) atoi(p);
        }
        return 0;
}

int fixture_setup(void **state) {
        daemon_fixture *d = calloc(1, sizeof(*d));

        assert_non_null(d);
        harness_setup((void **) &d->h);
        snprintf(d->sock, sizeof(d->sock), "%s/sock", d->h->tmpdir);
        snprintf(d->log, sizeof(d->log), "%s/corrald.log", d->h->tmpdir);
        snprintf(d->notify, sizeof(d->notify), "%s/systemd-notify", d->h->tmpdir);
        d->pidfd = -1;
        *state = d;
        return 0;
}

/* With every backend stopped and every client gone, corrald holds the fds it started with.
 * Hang-ups are seen in corrald's own time, so this waits for them, up to the hang guard.
 * 0 if corrald's fds are back to what it started with, else how many it has (and lists them). */
static int daemon_fds_back(daemon_fixture *d) {
        json_decref(call(d, "io.corral.Supervisor.StopAll", NULL));
        (void) harness_wait_until(daemon_fds(d) == d->fds_at_start);
        return daemon_fds(d) == d->fds_at_start ? 0 : daemon_fds_list(d, true);
}

void assert_daemon_fds_back(daemon_fixture *d) {
        int n = daemon_fds_back(d);

        if (n != 0)
                fail_msg("corrald has %d fds, had %d at start", n, d->fds_at_start);
}

int fixture_teardown(void **state) {
        daemon_fixture *d = *state;
        int fds = 0, status = 0;
        bool hung = false;

        /* Stop corrald and clean up first, then judge: a failed check leaves nothing running. */
        if (d->pidfd >= 0 && d->fds_at_start > 0)
                fds = daemon_fds_back(d);
        if (d->pidfd >= 0)
                status = daemon_end(d, &hung);
        /* Its fd holder leaves after it: the leaf is busy until then. */
        if (d->own_leaf[0])
                (void) harness_wait_until(rmdir(d->own_leaf) == 0 || errno != EBUSY);
        int at_start = d->fds_at_start;
        harness_teardown((void **) &d->h);
        free(d);
        if (hung)
                fail_msg("corrald did not exit on SIGTERM (hang guard): killed");
        if (fds != 0)
                fail_msg("corrald had %d fds at the end, %d at start", fds, at_start);
        assert_int_equal(status, 0);
        return 0;
}

int fixture_setup_started(void **state) {
        fixture_setup(state);
        daemon_start(*state, NULL);
        return 0;
}

char *read_log(daemon_fixture *d) {
        static char *buf; /* the whole log, valid until the next call */
        size_t size = 0;
        FILE *f = fopen(d->log, "re");

        free(buf);
        buf = NULL;
        if (!f || getdelim(&buf, &size, '\0', f) < 0) { /* the log has no NUL: all of it */
                free(buf);
                buf = strdup("");
        }
        if (f)
                fclose(f);
        return buf;
}

void conn_open(daemon_fixture *d, varlink_conn *c) {
        int fd = varlink_connect(d->sock);

        if (fd < 0) /* corrald is gone or not listening: what it said last tells why */
                fail_msg("cannot connect to corrald at %s: %s\n--- corrald's log:\n%s", d->sock,
                         strerror(-fd), read_log(d));
        varlink_conn_init(c, fd, 0, 0);
}

/* One call on a fresh connection; returns the whole reply (caller decrefs). */
json_t *call(daemon_fixture *d, const char *method, json_t *params) {
        varlink_conn c;
        json_t *reply = NULL;

        int k;

        conn_open(d, &c);
        k = varlink_call(&c, method, params, false, &reply);
        if (k < 0) /* closed on us: corrald's log says why (a refusal, a limit) */
                fail_msg("%s failed: %s\n--- corrald's log:\n%s", method, strerror(-k), read_log(d));
        varlink_conn_done(&c);
        return reply;
}

const char *error_of(json_t *reply) {
        return json_string_value(json_object_get(reply, "error"));
}

json_t *param(json_t *reply, const char *key) {
        return json_object_get(json_object_get(reply, "parameters"), key);
}

void assert_error(json_t *reply, const char *error, const char *key, const char *value) {
        if (!error_of(reply) || strcmp(error_of(reply), error) != 0) {
                char *s = json_dumps(reply, 0);
                fail_msg("expected %s, got %s", error, s);
        }
        if (key)
                assert_string_equal(json_string_value(param(reply, key)), value);
        json_decref(reply);
}

json_t *status_of(daemon_fixture *d, const char *name) {
        json_t *r = call(d, IFACE "Status", json_pack("{s:s}", "name", name));
        json_t *b = json_incref(param(r, "backend"));

        json_decref(r);
        return b;
}

const char *jstr(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key)) ?: "";
}

json_int_t pid_of(daemon_fixture *d, const char *name) {
        json_t *b = status_of(d, name);
        json_int_t pid = b && strcmp(jstr(b, "state"), "running") == 0
                ? json_integer_value(json_object_get(b, "pid"))
                : 0;

        json_decref(b);
        return pid;
}

bool state_is(daemon_fixture *d, const char *name, const char *state) {
        json_t *b = status_of(d, name);
        bool is = b && strcmp(jstr(b, "state"), state) == 0;

        json_decref(b);
        return is;
}

json_t *last_verdict(daemon_fixture *d, const char *name) {
        json_t *b = status_of(d, name);
        json_t *v = json_object_get(b, "lastVerdict");

        v = json_is_object(v) ? json_incref(v) : NULL;
        json_decref(b);
        return v;
}

int nobody_call(daemon_fixture *d, const char *method, json_t *params, char *out, size_t size) {
        size_t len = 0;
        int p[2], status;
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                varlink_conn c;
                json_t *r = NULL;
                char *s;
                int fd;
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(120);
                if ((fd = varlink_connect(d->sock)) < 0)
                        _exit(11);
                varlink_conn_init(&c, fd, 0, 0);
                if (varlink_call(&c, method, params, false, &r) < 0)
                        _exit(12);
                s = json_dumps(r, JSON_COMPACT);
                if (!s || write(p[1], s, strlen(s)) != (ssize_t) strlen(s))
                        _exit(13);
                _exit(0);
        }
        json_decref(params);
        close(p[1]);
        while (len < size - 1 && (n = read(p[0], out + len, size - 1 - len)) > 0)
                len += (size_t) n;
        close(p[0]);
        out[len] = '\0';
        assert_int_equal(waitpid(pid, &status, 0), pid); /* the test's own child */
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_capture(daemon_fixture *d, const char *const *argv, char *out, size_t size) {
        posix_spawn_file_actions_t fa;
        char path[320];
        int status;
        pid_t pid;

        snprintf(path, sizeof(path), "%s/client.out", d->h->tmpdir);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        assert_int_equal(waitpid(pid, &status, 0), pid); /* the test's own child */
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t k = fread(out, 1, size - 1, f);
        out[k] = '\0';
        fclose(f);
        unlink(path);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int client(daemon_fixture *d, const char *const *args, char *out, size_t size) {
        const char *argv[24] = { getenv("CORRAL_BIN"), args[0], "--address", d->sock };
        size_t n;

        for (n = 4; *++args; n++) /* the verb first, then --address */
                argv[n] = *args;
        argv[n] = NULL;
        return run_capture(d, argv, out, size);
}

int client_raw(daemon_fixture *d, const char *const *args, char *out, size_t size) {
        const char *argv[24] = { getenv("CORRAL_BIN") };
        size_t n;

        for (n = 1; *args; n++)
                argv[n] = *args++;
        argv[n] = NULL;
        return run_capture(d, argv, out, size);
}

json_t *start_params(daemon_fixture *d, const char *name, const char *mode, json_int_t grace_usec) {
        return json_pack("{s:s, s:[s, s, s], s:I}", "name", name, "command", harness_helper(), mode,
                         d->h->fifo, "stopTimeoutUSec", grace_usec);
}

void start_ready(daemon_fixture *d, const char *name, const char *mode, json_int_t grace_usec) {
        json_t *r = call(d, IFACE "Start", start_params(d, name, mode, grace_usec));

        assert_null(error_of(r));
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        json_decref(r);
        harness_wait_ready(d->h, false);
}
