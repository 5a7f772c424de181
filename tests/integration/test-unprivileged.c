/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-unprivileged.c: corrald run as a user that is not root (nobody, uid 65534), in a cgroup subtree
 * delegated to it as systemd's Delegate= does (the root and its cgroup.procs, cgroup.subtree_control
 * and cgroup.threads chowned to it, corrald started in <root>/supervisor): what needs no root works
 * (backends, system call filters, v2 limits, re-adoption after a SIGKILL, the namespace sandbox in
 * a user namespace), what does refuses clearly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "daemon-fixture.h"
#include "fileio.h"
#include "macro.h"

#define NOBODY 65534

/* util-linux's, by its path: a shell with applets of its own (busybox's) would run its own setpriv,
 * which has no --reuid, for the bare name. */
static const char *setpriv = "/usr/bin/setpriv";

typedef struct unpriv {
        daemon_fixture *d;
        char dir[270]; /* its socket, notify socket, log and state directory: owned by it */
        char state[320];
        char defs[320];
        char procs[600];      /* <root>/supervisor/cgroup.procs: where the wrapper puts corrald */
        char supervisor[560]; /* <root>/supervisor: the fixture removes it once corrald is gone */
        const char *prefix[8];
        char self[PATH_MAX]; /* this test's binary, for --userns-off */
} unpriv;

static void chown_nobody(const char *dir, const char *file) {
        char path[700];

        snprintf(path, sizeof(path), "%s%s%s", dir, file ? "/" : "", file ?: "");
        if (chown(path, NOBODY, NOBODY) < 0)
                fail_msg("chown %s: %s", path, strerror(errno));
}

static int setup(void **state) {
        unpriv *u = calloc(1, sizeof(*u));
        daemon_fixture *d;

        assert_non_null(u);
        fixture_setup((void **) &u->d);
        d = u->d;
        /* What systemd does for User= with Delegate=yes. */
        chown_nobody(d->h->root, NULL);
        chown_nobody(d->h->root, "cgroup.procs");
        chown_nobody(d->h->root, "cgroup.subtree_control");
        chown_nobody(d->h->root, "cgroup.threads");
        snprintf(u->supervisor, sizeof(u->supervisor), "%s/supervisor", d->h->root);
        assert_int_equal(mkdir(u->supervisor, 0755), 0);
        chown_nobody(u->supervisor, NULL);
        chown_nobody(u->supervisor, "cgroup.procs");
        snprintf(u->procs, sizeof(u->procs), "%s/cgroup.procs", u->supervisor);
        snprintf(d->own_leaf, sizeof(d->own_leaf), "%s", u->supervisor);

        assert_int_equal(chmod(d->h->tmpdir, 0711), 0);
        snprintf(u->dir, sizeof(u->dir), "%s/nobody", d->h->tmpdir);
        assert_int_equal(mkdir(u->dir, 0755), 0);
        chown_nobody(u->dir, NULL);
        snprintf(u->state, sizeof(u->state), "%s/state", u->dir);
        snprintf(u->defs, sizeof(u->defs), "%s/defs", u->dir);
        assert_int_equal(mkdir(u->defs, 0755), 0);
        snprintf(d->sock, sizeof(d->sock), "%s/sock", u->dir);
        snprintf(d->notify, sizeof(d->notify), "%s/systemd-notify", u->dir);

        /* Into the delegated subtree as root (as systemd puts the service's process there), then
         * nobody from exec on. */
        u->prefix[0] = "/bin/sh";
        u->prefix[1] = "-c";
        u->prefix[2] = "echo $$ > \"$0\" && p=$1 && shift && exec \"$p\" --reuid=65534 --regid=65534 "
                       "--clear-groups -- \"$@\"";
        u->prefix[3] = u->procs;
        u->prefix[4] = setpriv;
        d->prefix = u->prefix;
        assert_true(readlink("/proc/self/exe", u->self, sizeof(u->self) - 1) > 0);
        *state = u;
        return 0;
}

static void start_daemon(unpriv *u) {
        const char *extra[] = {
                "--own-leaf", "yes", "--state-dir", u->state, "--definitions", u->defs, NULL
        };

        daemon_start(u->d, extra);
}

static int teardown(void **state) {
        unpriv *u = *state;

        *state = u->d;
        free(u);
        return fixture_teardown(state);
}

static json_t *start(unpriv *u, const char *name, json_t *extra) {
        json_t *p = json_pack("{s:s, s:[s, s]}", "name", name, "command", "/bin/sleep", "1000");

        if (extra)
                assert_int_equal(json_object_update(p, extra), 0);
        json_decref(extra);
        return call(u->d, IFACE "Start", p);
}

static void assert_started(json_t *r) {
        if (error_of(r)) {
                char *s = json_dumps(r, 0);
                fail_msg("Start failed: %s", s);
        }
        assert_string_equal(json_string_value(json_object_get(param(r, "backend"), "state")), "running");
        json_decref(r);
}

/* A StartFailed whose message names what needs root. */
static void assert_refused(json_t *r, const char *name, const char *says) {
        const char *m = json_string_value(param(r, "message"));

        if (!m || !strstr(m, says)) {
                char *s = json_dumps(r, 0);
                fail_msg("expected StartFailed saying '%s', got %s", says, s);
        }
        assert_error(r, IFACE "StartFailed", "name", name);
}

static pid_t backend_pid(unpriv *u, const char *name) {
        json_t *r = call(u->d, IFACE "Status", json_pack("{s:s}", "name", name));
        pid_t pid = (pid_t) json_integer_value(json_object_get(param(r, "backend"), "pid"));

        json_decref(r);
        return pid;
}

static uid_t pid_uid(pid_t pid) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        assert_int_equal(stat(path, &st), 0);
        return st.st_uid;
}

static void stop_info(unpriv *u, const char *name) {
        json_t *r = call(u->d, IFACE "Stop", json_pack("{s:s}", "name", name));

        assert_null(error_of(r));
        assert_string_equal(json_string_value(json_object_get(param(r, "verdict"), "event")), "stopped");
        assert_string_equal(json_string_value(json_object_get(param(r, "verdict"), "level")), "info");
        json_decref(r);
}

/* A backend starts, runs as corrald's user, and stops at info; its record is on its leaf in
 * user.corral.* (root's trusted.* is not for nobody). */
static void test_backend_starts_and_stops(void **state) {
        unpriv *u = *state;
        char leaf[700];
        pid_t pid;

        start_daemon(u);
        assert_started(start(u, "plain", NULL));
        pid = backend_pid(u, "plain");
        assert_true(pid > 0);
        assert_int_equal(pid_uid(pid), NOBODY);
        json_t *r = call(u->d, IFACE "Status", json_pack("{s:s}", "name", "plain"));
        const char *cg = json_string_value(json_object_get(param(r, "backend"), "cgroup"));
        assert_non_null(cg);
        snprintf(leaf, sizeof(leaf), "%s%s", "/sys/fs/cgroup", cg);
        if (access(leaf, F_OK) < 0) /* hybrid hosts: the cgroup2 mount is /sys/fs/cgroup/unified */
                snprintf(leaf, sizeof(leaf), "%s%s", "/sys/fs/cgroup/unified", cg);
        json_decref(r);
        assert_true(getxattr(leaf, "user.corral.spec", NULL, 0) > 0);
        stop_info(u, "plain");

        /* The system call filters need no root (with no_new_privs). */
        assert_started(start(u, "filtered", json_pack("{s:s}", "systemCallFilter", "@system-service")));
        stop_info(u, "filtered");
}

/* A limit: applied where the controller is in the delegated v2 subtree, else (a hybrid host, its
 * v1 hierarchies root's) refused, naming the option. */
static void test_limit(void **state) {
        unpriv *u = *state;
        char controllers[512] = "", path[700], value[64] = "";

        start_daemon(u);
        snprintf(path, sizeof(path), "%s/cgroup.controllers", u->d->h->root);
        (void) read_small_at(AT_FDCWD, path, controllers, sizeof(controllers));
        if (!strstr(controllers, "pids")) {
                assert_refused(start(u, "limited", json_pack("{s:I}", "pidsMax", (json_int_t) 7)), "limited",
                               "TasksMax= needs a supervisor running as root on this host");
                return;
        }
        assert_started(start(u, "limited", json_pack("{s:I}", "pidsMax", (json_int_t) 7)));
        json_t *r = call(u->d, IFACE "Status", json_pack("{s:s}", "name", "limited"));
        const char *cg = json_string_value(json_object_get(param(r, "backend"), "cgroup"));
        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/pids.max", cg);
        json_decref(r);
        assert_true(read_small_at(AT_FDCWD, path, value, sizeof(value)) >= 0);
        assert_string_equal(value, "7\n");
        stop_info(u, "limited");
}

/* Killed with SIGKILL and started again, corrald takes its backend back (from user.corral.*). */
static void test_readopt(void **state) {
        unpriv *u = *state;
        pid_t pid;

        start_daemon(u);
        assert_started(start(u, "kept", NULL));
        pid = backend_pid(u, "kept");
        assert_true(pid > 0);
        daemon_kill9(u->d);
        start_daemon(u);
        assert_int_equal(backend_pid(u, "kept"), pid);
        assert_non_null(strstr(read_log(u->d), "backend taken back"));
        stop_info(u, "kept");
        daemon_reap_orphans(u->d);
        daemon_baseline(u->d); /* it started holding the fds of the backend it took back */
}

/* What needs root is refused before anything is tried, naming the option and why. */
static void test_root_only_refused(void **state) {
        unpriv *u = *state;

        start_daemon(u);
        assert_refused(start(u, "asroot", json_pack("{s:s}", "user", "root")), "asroot",
                       "User=root needs a supervisor running as root: this one runs as uid 65534");
        assert_refused(
                start(u, "ambient", json_pack("{s:s}", "ambientCapabilities", "CAP_NET_BIND_SERVICE")),
                "ambient", "AmbientCapabilities= needs a supervisor running as root");
        /* Its listener would be in a network namespace that only root may enter. */
        assert_refused(
                start(u, "netready",
                      json_pack("{s:b, s:s}", "privateNetwork", 1, "ready", "tcp:127.0.0.1:1")),
                "netready",
                "Ready=tcp:127.0.0.1:1 with PrivateNetwork= needs a supervisor running as root (this one "
                "runs as uid 65534)");
        /* Nothing left of them: no leaf but the supervisor's. */
        assert_started(start(u, "after", NULL));
        stop_info(u, "after");
        /* Its own user, named: nothing to switch (setgroups(2) would need root). */
        assert_started(start(u, "named", json_pack("{s:s, s:s}", "user", "nobody", "group", "nogroup")));
        assert_int_equal(pid_uid(backend_pid(u, "named")), NOBODY);
        stop_info(u, "named");
}

/* The first verdict of backend name on the Watch w (the caller decrefs it). */
static json_t *watch_verdict(varlink_conn *w, const char *name) {
        static const char *const verdicts[] = { "finished", "exited",       "killed", "crashed",
                                                "stopped",  "start-failed", NULL };

        for (;;) {
                json_t *r = NULL;
                assert_int_equal(varlink_next_reply(w, &r), 0);
                json_t *e = param(r, "event");
                const char *ev = e ? json_string_value(json_object_get(e, "event")) : NULL;
                const char *b = e ? json_string_value(json_object_get(e, "backend")) : NULL;
                for (size_t i = 0; ev && b && strcmp(b, name) == 0 && verdicts[i]; i++)
                        if (strcmp(ev, verdicts[i]) == 0) {
                                json_incref(e);
                                json_decref(r);
                                return e;
                        }
                json_decref(r);
        }
}

/* Whether nobody may make a user namespace here (a child of ours tries); if not, the test is
 * skipped, saying so: the refusal itself is test_userns_refused_by_kernel's. */
static bool nobody_gets_user_namespaces(void) {
        siginfo_t si = { 0 };
        pid_t pid = fork();
        int pidfd;

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                      setresuid(NOBODY, NOBODY, NOBODY) < 0 || unshare(CLONE_NEWUSER) < 0);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        assert_true(pidfd >= 0);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) pidfd, &si, WEXITED), 0);
        close(pidfd);
        if (si.si_code == CLD_EXITED && si.si_status == 0)
                return true;
        printf("skipped: this kernel gives unprivileged users no user namespace\n");
        return false;
}

/* A task that tries its sandbox from inside, as nobody under a corrald that is nobody: /usr is
 * read-only (EROFS, not EACCES), /tmp is its own and empty, only lo, no capability in any set,
 * no_new_privs, no /dev/kmsg, an inaccessible file, no further user namespace, no way into corrald's
 * mount namespace through /proc/<corrald>/root (same uid, but another user namespace: the kernel
 * wants CAP_SYS_PTRACE in corrald's), no fd but 0, 1 and 2 (and ls's own). What it leaves in its
 * /tmp is gone once it ended. */
static void test_sandbox_in_user_namespace(void **state) {
        unpriv *u = *state;
        char mark[128], script[1600];
        varlink_conn w;
        json_t *r, *v;

        if (!nobody_gets_user_namespaces())
                skip();
        assert_int_equal(access("/etc/hostname", R_OK), 0); /* the control for InaccessiblePaths= */
        snprintf(mark, sizeof(mark), "/tmp/corral-userns-inside.%d", (int) getpid());
        snprintf(
                script, sizeof(script),
                "{ : > /usr/.corral-userns-test; } 2>&1 | grep -q 'Read-only file system' || exit 1; "
                "test -z \"$(ls -A /tmp)\" || exit 2; : > %s || exit 3; "
                "test \"$(tail -n +3 /proc/net/dev | wc -l)\" = 1 && grep -q 'lo:' /proc/net/dev || exit 4; "
                "test \"$(grep -c '^Cap...:[[:space:]]*0000000000000000$' /proc/self/status)\" = 5 || exit "
                "5; "
                "grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status || exit 6; "
                "test \"$(id -u)\" = 65534 || exit 7; test ! -e /root/. || test -z \"$(ls -A /root)\" || "
                "exit 8; "
                "test ! -e /dev/kmsg && echo x > /dev/null || exit 9; "
                "! cat /etc/hostname > /dev/null 2>&1 || exit 10; ! unshare -U true 2>/dev/null || exit 11; "
                "! ls /proc/$PPID/root/ > /dev/null 2>&1 || exit 12; "
                "test \"$(ls /proc/self/fd | tr '\\n' ' ')\" = '0 1 2 3 ' || exit 13",
                mark);
        start_daemon(u);
        conn_open(u->d, &w);
        assert_int_equal(varlink_call(&w, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
        r = call(u->d, IFACE "Start",
                 json_pack("{s:s, s:[s, s, s], s:s, s:s, s:b, s:b, s:b, s:s, s:b, s:b, s:b, s:[s], s:s}",
                           "name", "probe", "command", "/bin/sh", "-c", script, "type", "task",
                           "protectSystem", "strict", "privateTmp", 1, "privateNetwork", 1, "privateDevices",
                           1, "protectHome", "yes", "protectKernelTunables", 1, "protectKernelModules", 1,
                           "protectControlGroups", 1, "inaccessiblePaths", "/etc/hostname",
                           "restrictNamespaces", "yes"));
        if (error_of(r)) {
                char *t = json_dumps(r, 0);
                fail_msg("Start failed: %s", t);
        }
        json_decref(r);
        v = watch_verdict(&w, "probe");
        if (strcmp(json_string_value(json_object_get(v, "event")), "finished") != 0) {
                char *t = json_dumps(v, 0);
                fail_msg("the sandbox's probe did not pass: %s", t);
        }
        json_decref(v);
        varlink_conn_done(&w);
        assert_int_equal(access(mark, F_OK), -1); /* its /tmp was never the host's, and is gone */
        assert_int_equal(errno, ENOENT);
}

static char *read_all(const char *path) {
        char *buf = NULL;
        size_t size = 0, n;
        FILE *f = fopen(path, "re");
        char chunk[4096];

        assert_non_null(f);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
                buf = realloc(buf, size + n + 1);
                assert_non_null(buf);
                memcpy(buf + size, chunk, n);
                size += n;
        }
        fclose(f);
        if (buf)
                buf[size] = '\0';
        return buf;
}

/* The value of field (with its colon) in /proc/<pid>/status. */
static char *status_field(pid_t pid, const char *field, char *buf, size_t size) {
        char path[64], *all, *at;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        all = read_all(path);
        at = all ? strstr(all, field) : NULL;
        assert_non_null(at);
        at += strlen(field);
        at += strspn(at, " \t");
        snprintf(buf, size, "%.*s", (int) strcspn(at, "\n"), at);
        free(all);
        return buf;
}

static ino_t ns_ino(pid_t pid, const char *ns) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns);
        assert_int_equal(stat(path, &st), 0);
        return st.st_ino;
}

/* The sandbox of a running backend, seen from outside: in user, mount and network namespaces of
 * its own, no capability, /usr read-only in its tree (EROFS even for root), its /tmp not the
 * host's, only lo. */
static void assert_boxed(pid_t pid) {
        char path[128], buf[64];
        struct dirent *de;
        DIR *dir;
        int fd, n = 0;

        assert_int_not_equal(ns_ino(pid, "user"), ns_ino(getpid(), "user"));
        assert_int_not_equal(ns_ino(pid, "mnt"), ns_ino(getpid(), "mnt"));
        assert_int_not_equal(ns_ino(pid, "net"), ns_ino(getpid(), "net"));
        assert_string_equal(status_field(pid, "CapEff:", buf, sizeof(buf)), "0000000000000000");
        assert_string_equal(status_field(pid, "CapPrm:", buf, sizeof(buf)), "0000000000000000");
        assert_string_equal(status_field(pid, "CapInh:", buf, sizeof(buf)), "0000000000000000");
        assert_string_equal(status_field(pid, "CapBnd:", buf, sizeof(buf)), "0000000000000000");
        assert_string_equal(status_field(pid, "CapAmb:", buf, sizeof(buf)), "0000000000000000");
        assert_string_equal(status_field(pid, "NoNewPrivs:", buf, sizeof(buf)), "1");
        snprintf(path, sizeof(path), "/proc/%d/root/usr/.corral-userns-test.%d", (int) pid, (int) getpid());
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0) {
                close(fd);
                (void) unlink(path);
                fail_msg("%s could be created: /usr is writable in the backend's tree", path);
        }
        assert_int_equal(errno, EROFS);
        snprintf(path, sizeof(path), "/proc/%d/root/tmp", (int) pid);
        dir = opendir(path);
        assert_non_null(dir);
        while ((de = readdir(dir)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(dir);
        assert_int_equal(n, 0); /* the host's holds this test's directory */
        snprintf(path, sizeof(path), "/proc/%d/net/dev", (int) pid);
        char *dev = read_all(path);
        assert_non_null(strstr(dev, "lo:"));
        n = 0;
        for (char *l = dev; (l = strchr(l, '\n')); l++)
                n++;
        assert_int_equal(n, 3); /* two header lines and lo */
        free(dev);
}

/* A sandboxed backend of a corrald that is nobody, SIGKILLed and started again: taken back, still
 * in its namespaces, without capabilities; the host's mount table never changed. */
static void test_sandbox_kept_after_readopt(void **state) {
        unpriv *u = *state;
        char *before, *after;
        ino_t mnt;
        pid_t pid;

        if (!nobody_gets_user_namespaces())
                skip();
        before = read_all("/proc/self/mountinfo");
        start_daemon(u);
        assert_started(start(u, "boxed",
                             json_pack("{s:s, s:b, s:b}", "protectSystem", "strict", "privateTmp", 1,
                                       "privateNetwork", 1)));
        pid = backend_pid(u, "boxed");
        assert_true(pid > 0);
        assert_int_equal(pid_uid(pid), NOBODY);
        assert_boxed(pid);
        mnt = ns_ino(pid, "mnt");
        after = read_all("/proc/self/mountinfo");
        assert_string_equal(before, after);
        free(after);
        daemon_kill9(u->d);
        start_daemon(u);
        assert_int_equal(backend_pid(u, "boxed"), pid);
        assert_non_null(strstr(read_log(u->d), "backend taken back"));
        assert_boxed(pid);
        assert_int_equal(ns_ino(pid, "mnt"), mnt);
        stop_info(u, "boxed");
        daemon_reap_orphans(u->d);
        daemon_baseline(u->d);
        after = read_all("/proc/self/mountinfo");
        assert_string_equal(before, after);
        free(before);
        free(after);
}

/* The subdirectories of the harness's root other than corrald's own: the leaves left. */
static int leaves_left(unpriv *u) {
        DIR *dir = opendir(u->d->h->root);
        struct dirent *de;
        int n = 0;

        assert_non_null(dir);
        while ((de = readdir(dir)))
                n += de->d_type == DT_DIR && de->d_name[0] != '.' && strcmp(de->d_name, "supervisor") != 0;
        closedir(dir);
        return n;
}

/* A sandboxed start that fails inside its user namespace (a ReadOnlyPaths= that does not exist,
 * after the user, network and mount namespaces were made) is a StartFailed naming the key and the
 * errno, and leaves nothing: no leaf, no mount in the host's table, no process (the teardown's
 * leak checks); the next start works. */
static void test_sandbox_step_failure_leaves_nothing(void **state) {
        unpriv *u = *state;
        char *before, *after;

        if (!nobody_gets_user_namespaces())
                skip();
        before = read_all("/proc/self/mountinfo");
        start_daemon(u);
        assert_refused(start(u, "broken",
                             json_pack("{s:s, s:b, s:[s]}", "protectSystem", "strict", "privateNetwork", 1,
                                       "readOnlyPaths", "/nonexistent-corral-test")),
                       "broken", "ReadOnlyPaths=/nonexistent-corral-test: No such file or directory");
        assert_int_equal(leaves_left(u), 0);
        after = read_all("/proc/self/mountinfo");
        assert_string_equal(before, after);
        free(before);
        free(after);
        assert_started(start(u, "after", json_pack("{s:b}", "privateTmp", 1)));
        stop_info(u, "after");
}

/* The wrapper for test_userns_refused_by_kernel, run as root where corrald would be: into the
 * delegated leaf, then a user namespace of its own (identity-mapped by a helper child, as only a
 * writer outside it may map more than itself) whose user.max_user_namespaces is 0, then nobody,
 * then corrald. The host's sysctls are not touched: that limit is the namespace's own. */
static int userns_off_wrapper(char **argv, const char *max) {
        pid_t parent = getpid(), helper;
        siginfo_t si = { 0 };
        int go[2], pidfd, fd;
        char c = 0, path[64], line[16];

        if (!argv[2] || !argv[3] || pipe2(go, O_CLOEXEC) < 0)
                return 120;
        fd = open(argv[2], O_WRONLY | O_CLOEXEC);
        snprintf(line, sizeof(line), "%d", (int) parent);
        if (fd < 0 || write(fd, line, strlen(line)) < 0)
                return 121;
        close(fd);
        helper = fork();
        if (helper == 0) {
                static const char *const maps[] = { "uid_map", "gid_map" };
                if (read(go[0], &c, 1) != 1)
                        _exit(1);
                for (size_t i = 0; i < 2; i++) {
                        snprintf(path, sizeof(path), "/proc/%d/%s", (int) parent, maps[i]);
                        fd = open(path, O_WRONLY | O_CLOEXEC);
                        if (fd < 0 || write(fd, "0 0 4294967295\n", 15) != 15)
                                _exit(2);
                        close(fd);
                }
                _exit(0);
        }
        pidfd = helper < 0 ? -1 : (int) syscall(SYS_pidfd_open, helper, 0);
        if (pidfd < 0 || unshare(CLONE_NEWUSER) < 0 || write(go[1], "x", 1) != 1 ||
            waitid((idtype_t) 3 /* P_PIDFD */, (id_t) pidfd, &si, WEXITED) < 0 || si.si_code != CLD_EXITED ||
            si.si_status != 0)
                return 122;
        fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, max, strlen(max)) != (ssize_t) strlen(max))
                return 123;
        close(fd);
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
                return 124;
        execv(argv[3], argv + 3);
        return 125;
}

/* Where unprivileged users get no user namespace (here: corrald's own user namespace allows none
 * below it), a namespace key is refused at Start naming the sysctl; the rest still works. */
static void test_userns_refused_by_kernel(void **state) {
        unpriv *u = *state;

        u->prefix[0] = u->self;
        u->prefix[1] = "--userns-off";
        u->prefix[2] = u->procs;
        u->prefix[3] = NULL;
        start_daemon(u);
        assert_refused(start(u, "boxed", json_pack("{s:b}", "privateTmp", 1)), "boxed",
                       "PrivateTmp= needs a user namespace (this supervisor runs as uid 65534, not root), "
                       "and this kernel refuses them to unprivileged users: user.max_user_namespaces = 0");
        assert_started(start(u, "plain", NULL));
        stop_info(u, "plain");
        assert_started(start(u, "filtered", json_pack("{s:s}", "systemCallFilter", "@system-service")));
        stop_info(u, "filtered");
}

/* user.max_user_namespaces of corrald's own user namespace set to max, by a child of ours that
 * joins it (we made it: root owns it). */
static void set_userns_max(unpriv *u, const char *max) {
        siginfo_t si = { 0 };
        char path[64];
        pid_t pid;
        int pidfd;

        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) u->d->pid);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int ns = open(path, O_RDONLY | O_CLOEXEC), fd;
                if (ns < 0 || setns(ns, CLONE_NEWUSER) < 0)
                        _exit(10);
                fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
                _exit(fd < 0 || write(fd, max, strlen(max)) != (ssize_t) strlen(max) ? 11 : 0);
        }
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        assert_true(pidfd >= 0);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) pidfd, &si, WEXITED), 0);
        close(pidfd);
        assert_int_equal(si.si_code, CLD_EXITED);
        assert_int_equal(si.si_status, 0);
}

/* The kernel's limit is asked at each Start, not once: raised after a refusal, the next Start
 * makes its user namespace; reached (the check passes, unshare(2) says ENOSPC), the verdict names
 * the sysctl and its value rather than a bare errno; lowered to 0, refused again, naming it. */
static void test_userns_limit_changes(void **state) {
        unpriv *u = *state;

        if (!nobody_gets_user_namespaces())
                skip();
        u->prefix[0] = u->self;
        u->prefix[1] = "--userns-off";
        u->prefix[2] = u->procs;
        u->prefix[3] = NULL;
        start_daemon(u);
        assert_refused(start(u, "first", json_pack("{s:b}", "privateTmp", 1)), "first",
                       "this kernel refuses them to unprivileged users: user.max_user_namespaces = 0");
        set_userns_max(u, "1\n");
        assert_started(start(u, "one", json_pack("{s:b}", "privateTmp", 1)));
        assert_refused(start(u, "two", json_pack("{s:b}", "privateTmp", 1)), "two",
                       "user.max_user_namespaces = 1 reached");
        stop_info(u, "one");
        set_userns_max(u, "0\n");
        assert_refused(start(u, "three", json_pack("{s:b}", "privateTmp", 1)), "three",
                       "PrivateTmp= needs a user namespace (this supervisor runs as uid 65534, not root), "
                       "and this kernel refuses them to unprivileged users: user.max_user_namespaces = 0");
        assert_started(start(u, "plain", NULL));
        stop_info(u, "plain");
}

/* corrald's own user may Start and Stop, as root may of a root corrald: a client of uid 65534
 * that is not in the allowed group (the container has no group corral) starts a backend. */
static void test_own_user_is_privileged(void **state) {
        unpriv *u = *state;
        siginfo_t si = { 0 };
        pid_t pid;
        int pidfd;

        start_daemon(u);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                varlink_conn c;
                json_t *r = NULL;
                int fd;
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(10);
                fd = varlink_connect(u->d->sock);
                if (fd < 0)
                        _exit(11);
                varlink_conn_init(&c, fd, 0, 0);
                if (varlink_call(
                            &c, IFACE "Start",
                            json_pack("{s:s, s:[s, s]}", "name", "mine", "command", "/bin/sleep", "1000"),
                            false, &r) < 0)
                        _exit(12);
                if (error_of(r)) {
                        fprintf(stderr, "Start as uid 65534: %s\n", error_of(r));
                        _exit(13);
                }
                _exit(0);
        }
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        assert_true(pidfd >= 0);
        harness_pidfd_wait(pidfd);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) pidfd, &si, WEXITED), 0);
        close(pidfd);
        assert_int_equal(si.si_code, CLD_EXITED);
        assert_int_equal(si.si_status, 0);
        assert_int_equal(pid_uid(backend_pid(u, "mine")), NOBODY);
        stop_info(u, "mine");
}

/* A member of the allowed group (uid 1, in nogroup here) is not corrald's user: its own backend
 * would run as itself, which this corrald cannot do. Its Start is NotPermitted, saying what it may
 * ask, before anything is tried (no start-failed record of it). */
static void test_member_start_refused(void **state) {
        unpriv *u = *state;
        const char *extra[] = { "--own-leaf", "yes",      "--state-dir",   u->state,
                                "--definitions", u->defs, "--allow-group", "nogroup", NULL };
        siginfo_t si = { 0 };
        pid_t pid;
        int pidfd;

        daemon_start(u->d, extra);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                gid_t nogroup = NOBODY;
                varlink_conn c;
                json_t *r = NULL;
                const char *m;
                int fd;
                if (setgroups(1, &nogroup) < 0 || setresgid(1, 1, 1) < 0 || setresuid(1, 1, 1) < 0)
                        _exit(10);
                fd = varlink_connect(u->d->sock);
                if (fd < 0)
                        _exit(11);
                varlink_conn_init(&c, fd, 0, 0);
                if (varlink_call(
                            &c, IFACE "Start",
                            json_pack("{s:s, s:[s, s]}", "name", "theirs", "command", "/bin/sleep", "1000"),
                            false, &r) < 0)
                        _exit(12);
                m = json_string_value(param(r, "message"));
                if (!error_of(r) || !strstr(error_of(r), "NotPermitted") || !m ||
                    !strstr(m, "this corrald runs without root (as uid 65534): it runs backends only as "
                               "itself")) {
                        fprintf(stderr, "Start as a member: %s: %s\n", error_of(r) ?: "started", m ?: "");
                        _exit(13);
                }
                _exit(0);
        }
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        assert_true(pidfd >= 0);
        harness_pidfd_wait(pidfd);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) pidfd, &si, WEXITED), 0);
        close(pidfd);
        assert_int_equal(si.si_code, CLD_EXITED);
        assert_int_equal(si.si_status, 0);
}

int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "--userns-off") == 0)
                return userns_off_wrapper(argv, "0");
        if (argc > 1 && strncmp(argv[1], "--userns-max=", 13) == 0)
                return userns_off_wrapper(argv, argv[1] + 13);
        harness_require_root_cgroup2();
        if (access(setpriv, X_OK) < 0) {
                setpriv = "/bin/setpriv";
                if (access(setpriv, X_OK) < 0) {
                        printf("skipped: no setpriv (util-linux)\n");
                        return 77;
                }
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_backend_starts_and_stops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readopt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_only_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_own_user_is_privileged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sandbox_in_user_namespace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sandbox_kept_after_readopt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sandbox_step_failure_leaves_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_userns_refused_by_kernel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_userns_limit_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_member_start_refused, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
