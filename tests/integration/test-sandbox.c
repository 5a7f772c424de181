/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-sandbox.c: backends that try what their sandbox forbids, and the kernel's answer: read-only
 * trees, hidden homes, a private /tmp, /dev and network, capabilities, system call filters; and
 * nothing of a sandbox's mount namespace left in the host's mount table. The options are given as
 * -p KEY=VALUE would give them, through the one table. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral-private.h"
#include "harness.h"
#include "options.h"

#define PY "/usr/bin/python3"

static corral_spec *sandbox_spec(const char *const *argv, const char *const *props) {
        corral_spec *s = NULL;
        option_ctx x = { 0 };

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "sbx"), 0);
        assert_int_equal(corral_spec_set_argv(s, (char *const *) argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        x.spec = s;
        for (; props && *props; props++)
                if (options_apply_property(&x, *props) < 0)
                        fail_msg("-p %s refused", *props);
        return s;
}

/* Run argv under props to its verdict (start-failed included), which is returned. */
static const recorded_event *run_argv(harness *h, const char *const *argv, const char *const *props) {
        corral_spec *s = sandbox_spec(argv, props);
        corral_backend *b = NULL;
        unsigned before = h->n_events;
        const recorded_event *v = NULL;
        int r = corral_spawn(h->c, s, &b);

        corral_spec_free(s);
        if (r >= 0) {
                for (unsigned i = before; !v && harness_run_until(h, h->n_events > i); i++)
                        if (corral_event_is_verdict(h->events[i].ev.type))
                                v = &h->events[i];
                corral_backend_unref(b);
        } else
                for (unsigned i = before; !v && i < h->n_events; i++)
                        if (h->events[i].ev.type == CORRAL_EVENT_START_FAILED)
                                v = &h->events[i];
        if (!v)
                fail_msg("no verdict for %s", argv[0]);
        return v;
}

/* A shell script that exits 0 when every breakout it tries was refused as expected. */
static void assert_script_passes(harness *h, const char *script, const char *const *props) {
        const char *argv[] = { "/bin/sh", "-c", script, NULL };
        const recorded_event *v = run_argv(h, argv, props);

        if (v->ev.type != CORRAL_EVENT_FINISHED)
                fail_msg("%s: %s (exit %d, signal %d): %s", script, corral_event_type_to_string(v->ev.type),
                         v->ev.exit_code, v->ev.signal, v->stderr_tail);
}

static void assert_script_fails(harness *h, const char *script, const char *const *props) {
        const char *argv[] = { "/bin/sh", "-c", script, NULL };
        const recorded_event *v = run_argv(h, argv, props);

        assert_int_equal(v->ev.type, CORRAL_EVENT_EXITED);
}

static char *read_all(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");
        char chunk[4096];
        size_t n;

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

/* ProtectSystem=strict: /usr and /etc refuse writes with EROFS; ReadWritePaths= and the API file
 * systems stay writable. Without it, the same write would be allowed (the control). */
static void test_protect_system_strict(void **state) {
        harness *h = *state;
        char rw[400], script[1200];
        const char *props[] = { "ProtectSystem=strict", rw, NULL };

        snprintf(rw, sizeof(rw), "ReadWritePaths=%s", h->tmpdir);
        snprintf(script, sizeof(script),
                 "{ : > /usr/.corral-sandbox-test; } 2>&1 | grep -q 'Read-only file system' || exit 1; "
                 "{ : > /etc/.corral-sandbox-test; } 2>&1 | grep -q 'Read-only file system' || exit 2; "
                 "test ! -e /usr/.corral-sandbox-test || exit 3; "
                 ": > %s/inside || exit 4; echo x > /dev/null || exit 5",
                 h->tmpdir);
        assert_script_passes(h, script, props);
        snprintf(script, sizeof(script), "%s/inside", h->tmpdir);
        assert_int_equal(unlink(script), 0);
        /* yes: /usr read-only, /etc not (the host's /etc: a name of this run's own, as another run of
         * this test, or of its -fallbacks variant, may be doing the same at the same time) */
        snprintf(script, sizeof(script),
                 "{ : > /usr/.corral-sandbox-test; } 2>&1 | grep -q 'Read-only file system' || exit 1; "
                 "mkdir /etc/.corral-sandbox-test.%d && rmdir /etc/.corral-sandbox-test.%d",
                 (int) getpid(), (int) getpid());
        assert_script_passes(h, script, (const char *[]){ "ProtectSystem=yes", NULL });
}

/* ProtectHome=yes: /root is empty and unwritable inside, whatever the host has there. */
static void test_protect_home(void **state) {
        harness *h = *state;
        char marker[128], script[512];
        int fd;

        snprintf(marker, sizeof(marker), "/root/.corral-sandbox-test.%d", (int) getpid());
        fd = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        snprintf(script, sizeof(script),
                 "test ! -e %s || exit 1; test -z \"$(ls -A /root)\" || exit 2; ! touch /root/x 2>/dev/null "
                 "|| exit 3",
                 marker);
        assert_script_passes(h, script, (const char *[]){ "ProtectHome=yes", NULL });
        assert_script_fails(h, script, NULL); /* the control: without it the marker is seen */
        /* read-only: seen, not writable */
        snprintf(script, sizeof(script), "test -e %s && ! touch %s 2>/dev/null", marker, marker);
        assert_script_passes(h, script, (const char *[]){ "ProtectHome=read-only", NULL });
        assert_int_equal(unlink(marker), 0);
}

/* PrivateTmp=yes: the host's /tmp is not seen, what is written there is gone with the launch. */
static void test_private_tmp(void **state) {
        harness *h = *state;
        char script[1024], inside[128];

        snprintf(inside, sizeof(inside), "/tmp/corral-sandbox-inside.%d", (int) getpid());
        snprintf(script, sizeof(script),
                 "test ! -e %s || exit 1; : > %s || exit 2; test -z \"$(ls -A /var/tmp)\" || exit 3",
                 h->fifo, inside);
        assert_script_passes(h, script, (const char *[]){ "PrivateTmp=yes", NULL });
        assert_int_equal(access(inside, F_OK), -1);
        assert_int_equal(errno, ENOENT);
}

/* Nothing of a sandbox's mount namespace shows in the host's mount table after it ended. */
static void test_no_mount_leaks_to_host(void **state) {
        harness *h = *state;
        char *before = read_all("/proc/self/mountinfo"), *after;
        const char *props[] = { "ProtectSystem=strict",
                                "ProtectHome=yes",
                                "PrivateTmp=yes",
                                "PrivateDevices=yes",
                                "ProtectKernelTunables=yes",
                                "ProtectControlGroups=yes",
                                "ProtectKernelModules=yes",
                                "InaccessiblePaths=-/srv",
                                "ReadOnlyPaths=/var",
                                "ReadWritePaths=-/var/lib",
                                NULL };

        assert_script_passes(h, "mount -t tmpfs none /tmp && : > /tmp/x", props);
        after = read_all("/proc/self/mountinfo");
        assert_string_equal(before, after);
        free(before);
        free(after);
}

/* A supervisor running as root makes no user namespace: the sandbox's namespaces are owned by
 * ours, the backend keeps its capabilities (no CapabilityBoundingSet= given) and no_new_privs
 * stays off (no filter asks for it), as before sandboxing without root existed. */
static void test_root_makes_no_user_namespace(void **state) {
        harness *h = *state;
        char script[512], ns[64];
        ssize_t n = readlink("/proc/self/ns/user", ns, sizeof(ns) - 1);

        assert_true(n > 0);
        ns[n] = '\0';
        snprintf(script, sizeof(script),
                 "test \"$(readlink /proc/self/ns/user)\" = '%s' || exit 1; "
                 "test \"$(readlink /proc/self/ns/mnt)\" != \"$(readlink /proc/$PPID/ns/mnt)\" || exit 2; "
                 "! grep -q '^CapEff:[[:space:]]*0*$' /proc/self/status || exit 3; "
                 "! grep -q '^CapBnd:[[:space:]]*0*$' /proc/self/status || exit 4; "
                 "grep -q '^NoNewPrivs:[[:space:]]*0$' /proc/self/status || exit 5",
                 ns);
        assert_script_passes(h, script,
                             (const char *[]){ "ProtectSystem=strict", "PrivateTmp=yes", "PrivateNetwork=yes", NULL });
}

/* PrivateDevices=yes: only the harmless nodes; no disk, no kmsg; CAP_MKNOD gone. The node that
 * must be hidden is one the host has and the private /dev lacks: /dev/kmsg, or /dev/console where
 * there is none (systemd-ns's minimal /dev, under test-systemd). */
static void test_private_devices(void **state) {
        harness *h = *state;
        const char *hidden = access("/dev/kmsg", F_OK) == 0 ? "/dev/kmsg" : "/dev/console";
        char script[512];

        assert_int_equal(access(hidden, F_OK), 0); /* the control */
        snprintf(script, sizeof(script),
                 "test ! -e %s || exit 1; echo x > /dev/null || exit 2; "
                 "head -c 4 /dev/urandom | wc -c | grep -q 4 || exit 3; "
                 "! mknod /dev/sbx c 1 3 2>/dev/null || exit 4; : > /dev/shm/x || exit 5",
                 hidden);
        assert_script_passes(h, script, (const char *[]){ "PrivateDevices=yes", NULL });
}

/* PrivateNetwork=yes: the only interface is lo, and it is up. */
static void test_private_network(void **state) {
        harness *h = *state;
        const char *script =
                "test \"$(tail -n +3 /proc/net/dev | wc -l)\" = 1 || exit 1; grep -q 'lo:' /proc/net/dev";

        assert_script_passes(h, script, (const char *[]){ "PrivateNetwork=yes", NULL });
        assert_script_fails(h, script, NULL); /* the control: the host has more than lo */
        assert_script_passes(
                h, PY " -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen()'",
                (const char *[]){ "PrivateNetwork=yes", NULL });
}

/* A plain user binds port 80 with AmbientCapabilities=CAP_NET_BIND_SERVICE and not without; root
 * cannot with it out of its bounding set. Port 80 of a network namespace of its own: no other
 * test's port can be in the way. */
static void test_bind_port_80(void **state) {
        harness *h = *state;
        const char *bind80 = PY " -c 'import socket; socket.socket().bind((\"127.0.0.1\", 80))' 2>/dev/null";
        char script[512];

        assert_script_fails(h, bind80, (const char *[]){ "User=nobody", "PrivateNetwork=yes", NULL });
        assert_script_passes(h, bind80,
                             (const char *[]){ "User=nobody", "PrivateNetwork=yes",
                                               "AmbientCapabilities=CAP_NET_BIND_SERVICE", NULL });
        /* and nothing more: only that capability, effective and ambient */
        snprintf(script, sizeof(script),
                 "grep -q '^CapEff:.*0000000000000400$' /proc/self/status && "
                 "grep -q '^CapAmb:.*0000000000000400$' /proc/self/status");
        assert_script_passes(
                h, script,
                (const char *[]){ "User=nobody", "AmbientCapabilities=CAP_NET_BIND_SERVICE", NULL });
        assert_script_passes(h, bind80,
                             (const char *[]){ "PrivateNetwork=yes", NULL }); /* root: the control */
        assert_script_fails(h, bind80,
                            (const char *[]){ "PrivateNetwork=yes",
                                              "CapabilityBoundingSet=~CAP_NET_BIND_SERVICE", NULL });
}

/* Ambient capabilities must be within the bounding set: refused at start, naming it. */
static void test_ambient_beyond_bounding_is_refused(void **state) {
        harness *h = *state;
        const char *argv[] = { "/bin/true", NULL };
        const recorded_event *v =
                run_argv(h, argv,
                         (const char *[]){ "User=nobody", "CapabilityBoundingSet=CAP_CHOWN",
                                           "AmbientCapabilities=CAP_NET_BIND_SERVICE", NULL });

        assert_int_equal(v->ev.type, CORRAL_EVENT_START_FAILED);
        assert_non_null(strstr(v->message, "AmbientCapabilities="));
}

/* SystemCallFilter=~@debug: ptrace(2) kills it, and the verdict says it was the filter. */
static void test_filter_kills_with_sigsys(void **state) {
        harness *h = *state;
        const char *argv[] = { PY, "-c", "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)", NULL };
        const recorded_event *v = run_argv(h, argv, (const char *[]){ "SystemCallFilter=~@debug", NULL });

        assert_int_equal(v->ev.type, CORRAL_EVENT_KILLED);
        assert_int_equal(v->ev.signal, SIGSYS);
        assert_non_null(strstr(v->message, "system call filter"));
        v = run_argv(h, argv, NULL); /* the control: PTRACE_TRACEME is allowed */
        assert_int_equal(v->ev.type, CORRAL_EVENT_FINISHED);
}

/* SystemCallErrorNumber=EPERM: mount(2) fails instead (in a namespace of its own, should it not). */
static void test_filter_errno(void **state) {
        harness *h = *state;
        const char *argv[] = { "/bin/sh", "-c", "true", NULL };
        const recorded_event *v;

        assert_script_passes(h, "mount -t tmpfs none /tmp 2>&1 | grep -qi 'permission denied'",
                             (const char *[]){ "PrivateTmp=yes", "SystemCallFilter=~@mount",
                                               "SystemCallErrorNumber=EPERM", NULL });
        assert_script_passes(h, "mount -t tmpfs none /tmp", (const char *[]){ "PrivateTmp=yes", NULL });
        /* an allow list: a shell runs under @system-service, not under @default alone */
        assert_script_passes(h, "echo hello > /dev/null",
                             (const char *[]){ "SystemCallFilter=@system-service", NULL });
        v = run_argv(h, argv, (const char *[]){ "SystemCallFilter=@default @basic-io", NULL });
        assert_int_equal(v->ev.type, CORRAL_EVENT_KILLED); /* a shell needs more than that */
        assert_int_equal(v->ev.signal, SIGSYS);
}

/* Whether we hold CAP_SYS_MODULE (bit 16 of CapEff): without it the kernel refuses a module load to
 * us whatever the sandbox, and the control below says nothing. */
static bool have_cap_sys_module(void) {
        char *status = read_all("/proc/self/status"), *eff = strstr(status, "CapEff:");
        unsigned long long caps = eff ? strtoull(eff + strlen("CapEff:"), NULL, 16) : 0;

        free(status);
        return caps & (1ULL << 16);
}

/* A module load is refused: ProtectKernelModules= takes CAP_SYS_MODULE, ~@module kills. The call
 * loads an empty image: with CAP_SYS_MODULE the kernel answers ENOEXEC (or ENOSYS without module
 * support), so EPERM can only be the sandbox's. python3 is the backend itself, not a child of a
 * shell: a shell may exec its last command (busybox's does) or fork it (dash does). */
static void test_module_load_refused(void **state) {
        harness *h = *state;
        const char *argv[] = { PY, "-c",
                               "import ctypes, sys; l = ctypes.CDLL(None, use_errno=True); "
                               "r = l.init_module(None, 0, b\"\"); sys.exit(ctypes.get_errno())",
                               NULL };
        const recorded_event *v;

        if (have_cap_sys_module()) { /* the control */
                v = run_argv(h, argv, NULL);
                assert_int_equal(v->ev.type, CORRAL_EVENT_EXITED);
                if (v->ev.exit_code != ENOEXEC && v->ev.exit_code != ENOSYS)
                        fail_msg("init_module without a sandbox: errno %d, not ENOEXEC or ENOSYS",
                                 v->ev.exit_code);
        } else
                printf("skipped the control: this test runs without CAP_SYS_MODULE\n");
        v = run_argv(h, argv, (const char *[]){ "ProtectKernelModules=yes", NULL });
        assert_int_equal(v->ev.type, CORRAL_EVENT_EXITED);
        assert_int_equal(v->ev.exit_code, EPERM);
        assert_script_passes(
                h, "! grep -qE '^CapBnd:.*(1|3|5|7|9|b|d|f)[0-9a-f]{4}$' /proc/self/status",
                (const char *[]){ "ProtectKernelModules=yes", NULL }); /* bit 16: CAP_SYS_MODULE */
        v = run_argv(h, argv, (const char *[]){ "SystemCallFilter=~@module", NULL });
        assert_int_equal(v->ev.type, CORRAL_EVENT_KILLED);
        assert_int_equal(v->ev.signal, SIGSYS);
}

/* RestrictAddressFamilies=AF_INET AF_UNIX: no netlink, no raw packet socket; inet still works. */
static void test_restrict_address_families(void **state) {
        harness *h = *state;
        const char *const props[] = { "RestrictAddressFamilies=AF_INET AF_UNIX", NULL };

        assert_script_passes(h,
                             PY " -c 'import socket, errno\n"
                                "for f in (socket.AF_NETLINK, socket.AF_PACKET, socket.AF_INET6):\n"
                                "  try: socket.socket(f, socket.SOCK_RAW); raise SystemExit(1)\n"
                                "  except OSError as e: assert e.errno == errno.EAFNOSUPPORT, e\n"
                                "socket.socket(socket.AF_INET); socket.socket(socket.AF_UNIX)'",
                             props);
}

/* RestrictNamespaces=yes: no user namespace; LockPersonality=, MemoryDenyWriteExecute=. */
static void test_restrict_namespaces_and_memory(void **state) {
        harness *h = *state;

        assert_script_passes(h, "unshare -U true", NULL); /* the control */
        assert_script_passes(h, "! unshare -U true 2>/dev/null && ! unshare -m true 2>/dev/null",
                             (const char *[]){ "RestrictNamespaces=yes", NULL });
        assert_script_passes(h, "unshare -m true && ! unshare -U true 2>/dev/null",
                             (const char *[]){ "RestrictNamespaces=mnt", NULL });
        assert_script_passes(
                h,
                PY " -c 'import mmap\ntry: mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC); "
                   "raise SystemExit(1)\nexcept PermissionError: pass'",
                (const char *[]){ "MemoryDenyWriteExecute=yes", NULL });
        assert_script_passes(h, "setarch i386 true", NULL); /* the control: setarch is there and works */
        assert_script_passes(h, "! setarch i386 true 2>/dev/null",
                             (const char *[]){ "LockPersonality=yes", NULL });
}

/* A sandbox that cannot be made is a start failure naming the option and the errno. */
static void test_setup_failure_is_start_failed(void **state) {
        harness *h = *state;
        const char *argv[] = { "/bin/true", NULL };
        const recorded_event *v =
                run_argv(h, argv, (const char *[]){ "ReadOnlyPaths=/nonexistent/corral", NULL });

        assert_int_equal(v->ev.type, CORRAL_EVENT_START_FAILED);
        assert_non_null(strstr(v->message, "ReadOnlyPaths=/nonexistent/corral"));
        assert_non_null(strstr(v->message, "No such file or directory"));
        /* "-": it may be missing */
        v = run_argv(h, argv, (const char *[]){ "ReadOnlyPaths=-/nonexistent/corral", NULL });
        assert_int_equal(v->ev.type, CORRAL_EVENT_FINISHED);
}

/* A supervisor that does not run as root plans the namespaces inside a user namespace that maps
 * only its own ids, with no capability left and no_new_privs; AmbientCapabilities= it refuses,
 * naming the key; the filters alone need no user namespace. (A child of ours drops to nobody and
 * plans as such a supervisor would.) */
static void test_unprivileged_supervisor_plans_a_user_namespace(void **state) {
        harness *h = *state;
        siginfo_t si = { 0 };
        pid_t pid = fork();
        int pidfd;

        (void) h;
        assert_true(pid >= 0);
        if (pid == 0) {
                corral_spec *s = sandbox_spec((const char *const[]){ "/bin/true", NULL },
                                              (const char *const[]){ "PrivateTmp=yes", NULL });
                sandbox_cache cache = { 0 };
                sandbox_plan plan;
                char *what = NULL;
                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(10);
                if (sandbox_plan_make(&s->sandbox, false, &cache, &plan, &what) != 0)
                        _exit(11);
                if (!plan.sb.user_ns || strcmp(plan.sb.uid_map, "65534 65534 1\n") != 0 ||
                    strcmp(plan.sb.gid_map, "65534 65534 1\n") != 0 || !plan.sb.mount_ns ||
                    !plan.sb.drop_bounding || plan.sb.keep != 0 || plan.sb.ambient != 0 ||
                    !plan.sb.no_new_privs)
                        _exit(12);
                sandbox_plan_done(&plan);
                s = sandbox_spec((const char *const[]){ "/bin/true", NULL },
                                 (const char *const[]){ "AmbientCapabilities=CAP_NET_BIND_SERVICE", NULL });
                if (sandbox_plan_make(&s->sandbox, false, &cache, &plan, &what) != -EPERM || !what ||
                    !strstr(what, "AmbientCapabilities= needs a supervisor running as root"))
                        _exit(13);
                free(what);
                what = NULL;
                s = sandbox_spec((const char *const[]){ "/bin/true", NULL },
                                 (const char *const[]){ "SystemCallFilter=~@mount", NULL });
                if (sandbox_plan_make(&s->sandbox, false, &cache, &plan, &what) != 0 ||
                    plan.sb.n_filters != 1 || !plan.sb.no_new_privs || plan.sb.user_ns)
                        _exit(14);
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

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
        const struct CMUnitTest tests[] = {
                T(test_protect_system_strict),
                T(test_protect_home),
                T(test_private_tmp),
                T(test_no_mount_leaks_to_host),
                T(test_private_devices),
                T(test_private_network),
                T(test_bind_port_80),
                T(test_ambient_beyond_bounding_is_refused),
                T(test_filter_kills_with_sigsys),
                T(test_filter_errno),
                T(test_module_load_refused),
                T(test_restrict_address_families),
                T(test_restrict_namespaces_and_memory),
                T(test_setup_failure_is_start_failed),
                T(test_root_makes_no_user_namespace),
                T(test_unprivileged_supervisor_plans_a_user_namespace),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
