/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-daemon.c: corrald measured, and beside it the supervisors users would otherwise pick
 * (supervisord, s6, runit, from Debian), each driven by its own command line tool:
 * stop latency, crash-to-respawn latency, scale (1,000 and 10,000 backends), churn.
 * Prints markdown tables; exits non-zero only if it could not measure.
 *
 * Usage: bench-daemon [--quick] [--no-peers] [--churn-seconds N] [--scale N,N]
 * Also its own backend: bench-daemon --child MODE FILE (see child_main). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "varlink.h"

extern char **environ;

#define IFACE "io.corral.Supervisor."

static char self[1024], tmp[256], sock[320], root[512], corrald_bin[1200], corral_bin[1200];
static pid_t daemon_pid;

static uint64_t now_ns(int clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

typedef struct stats {
        double median, p99;
} stats;

static stats summarize(uint64_t *v, int n) {
        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        return (stats){ v[n / 2] / 1000.0, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0 };
}

/* --- the backend: bench-daemon --child MODE FILE --- */

/* Appends "<tag> <CLOCK_REALTIME ns>\n" to file, as its first and last act. */
static void stamp(const char *file, char tag) {
        uint64_t t = now_ns(CLOCK_REALTIME);
        char line[64];
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        int n = snprintf(line, sizeof(line), "%c %" PRIu64 "\n", tag, t);

        if (fd >= 0) {
                (void) !write(fd, line, (size_t) n);
                close(fd);
        }
}

static int child_main(const char *mode, const char *file) {
        if (strcmp(mode, "crash") == 0) { /* started, then crashes at once */
                stamp(file, 'S');
                stamp(file, 'E');
                _exit(1);
        }
        if (strcmp(mode, "ignore") == 0) /* a backend that ignores SIGTERM */
                signal(SIGTERM, SIG_IGN);
        for (;;)
                pause();
}

/* --- running things --- */

static int run(const char *const *argv, bool quiet) {
        posix_spawn_file_actions_t fa;
        int status;
        pid_t pid;

        posix_spawn_file_actions_init(&fa);
        if (quiet) {
                posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        }
        if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv, environ) != 0)
                return -1;
        posix_spawn_file_actions_destroy(&fa);
        if (waitpid(pid, &status, 0) != pid) /* our own child */
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static pid_t start_bg(const char *const *argv) {
        posix_spawn_file_actions_t fa;
        pid_t pid;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv, environ) != 0)
                pid = -1;
        posix_spawn_file_actions_destroy(&fa);
        return pid;
}

static void stop_bg(pid_t pid, int sig) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        if (fd >= 0) {
                (void) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
                close(fd);
        }
        (void) waitpid(pid, NULL, 0);
}

static uint64_t time_cmd(const char *const *argv) {
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        if (run(argv, true) != 0)
                return 0;
        return now_ns(CLOCK_MONOTONIC) - t0;
}

static void remove_tree(const char *dir) {
        const char *argv[] = { "rm", "-rf", dir, NULL };
        (void) run(argv, true);
}

static void write_file(const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "we");
        if (f) {
                fputs(text, f);
                fclose(f);
                chmod(path, mode);
        }
}

/* The gaps from each E (exit) to the next S (start) in a stamp file. */
static int respawn_gaps(const char *file, uint64_t *gaps, int max) {
        FILE *f = fopen(file, "re");
        char tag;
        uint64_t t, last_e = 0;
        int n = 0;

        while (f && n < max && fscanf(f, " %c %" SCNu64, &tag, &t) == 2) {
                if (tag == 'E')
                        last_e = t;
                else if (tag == 'S' && last_e && t > last_e) {
                        gaps[n++] = t - last_e;
                        last_e = 0;
                }
        }
        if (f)
                fclose(f);
        return n;
}

static int count_lines(const char *file) {
        FILE *f = fopen(file, "re");
        int n = 0, c;

        while (f && (c = fgetc(f)) != EOF)
                n += c == '\n';
        if (f)
                fclose(f);
        return n;
}

/* Wait until the stamp file has n starts (a bound of 'seconds'). */
static void wait_starts(const char *file, int n, int seconds) {
        for (int i = 0; i < seconds * 100 && count_lines(file) < 2 * n; i++)
                usleep(10000);
}

/* --- corrald --- */

static long proc_status(pid_t pid, const char *key) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0)
                        v = atol(line + strlen(key) + 1);
        if (f)
                fclose(f);
        return v;
}

static int daemon_start(void) {
        const char *argv[] = { corrald_bin, "--address",    sock,     "--cgroup-root", root, "--log-format",
                               "json",      "--log-target", "stderr", "--definitions", tmp,  NULL };
        daemon_pid = start_bg(argv);
        for (int i = 0; i < 500; i++) {
                int fd = varlink_connect(sock);
                if (fd >= 0) {
                        close(fd);
                        return 0;
                }
                usleep(10000);
        }
        return -1;
}

static json_t *call(const char *method, json_t *params) {
        varlink_conn c;
        json_t *reply = NULL;
        int fd = varlink_connect(sock);

        if (fd < 0)
                return NULL;
        varlink_conn_init(&c, fd, 0, 0);
        if (varlink_call(&c, method, params, false, &reply) < 0)
                reply = NULL;
        varlink_conn_done(&c);
        return reply;
}

static json_t *start_params(const char *name, const char *const *cmd, json_int_t grace) {
        json_t *p = json_pack("{s:s, s:[], s:I, s:i}", "name", name, "command", "stopTimeoutUSec", grace,
                              "logBuffer", 0);
        for (; *cmd; cmd++)
                json_array_append_new(json_object_get(p, "command"), json_string(*cmd));
        return p;
}

static int corral_start(const char *name, const char *const *cmd, json_int_t grace) {
        json_t *r = call(IFACE "Start", start_params(name, cmd, grace));
        int ok = r && !json_object_get(r, "error");
        json_decref(r);
        return ok ? 0 : -1;
}

static double rows_peer_ratio(double v, double base) {
        return base > 0 ? v / base : 0;
}

/* --- stop latency --- */

typedef struct peer {
        const char *name;
        int (*setup)(const char *mode, const char *file);
        uint64_t (*stop)(void); /* the time of its stop command, waiting for down; 0 on failure */
        int (*up)(void);
        void (*teardown)(void);
} peer;

static const char *child_cmd[5];

static void set_child(const char *mode, const char *file) {
        child_cmd[0] = self;
        child_cmd[1] = "--child";
        child_cmd[2] = mode;
        child_cmd[3] = file;
        child_cmd[4] = NULL;
}

/* corral, through its command line client, as users drive it. */
static int cpeer_setup(const char *mode, const char *file) {
        set_child(mode, file);
        return 0;
}
static int cpeer_up(void) {
        return corral_start("x", child_cmd, 100000);
}
static uint64_t cpeer_stop(void) {
        const char *argv[] = { corral_bin, "stop", "x", "--address", sock, NULL };
        return time_cmd(argv);
}
static void cpeer_teardown(void) {
        json_decref(call(IFACE "StopAll", NULL));
}

/* s6: s6-svscan on a scan directory; s6-svc -wd -d waits until the service is down. */
static pid_t s6_scan;
static char s6_dir[400], s6_svc[450];
static int s6_setup(const char *mode, const char *file) {
        char run_file[512], script[2048];

        snprintf(s6_dir, sizeof(s6_dir), "%s/s6", tmp);
        snprintf(s6_svc, sizeof(s6_svc), "%s/x", s6_dir);
        mkdir(s6_dir, 0755);
        mkdir(s6_svc, 0755);
        snprintf(run_file, sizeof(run_file), "%s/run", s6_svc);
        snprintf(script, sizeof(script), "#!/bin/sh\nexec %s --child %s %s\n", self, mode, file);
        write_file(run_file, script, 0755);
        snprintf(run_file, sizeof(run_file), "%s/down", s6_svc); /* not started until asked */
        write_file(run_file, "", 0644);
        const char *argv[] = { "s6-svscan", s6_dir, NULL };
        s6_scan = start_bg(argv);
        usleep(300000);
        return s6_scan > 0 ? 0 : -1;
}
static int s6_up(void) {
        const char *argv[] = { "s6-svc", "-wu", "-u", s6_svc, NULL };
        return run(argv, true);
}
static uint64_t s6_stop(void) {
        const char *argv[] = { "s6-svc", "-wd", "-d", s6_svc, NULL };
        return time_cmd(argv);
}
static void s6_teardown(void) {
        const char *argv[] = { "s6-svscanctl", "-t", s6_dir, NULL };
        (void) run(argv, true);
        (void) waitpid(s6_scan, NULL, 0);
        remove_tree(s6_dir);
}

/* runit: runsvdir on a service directory; sv -w 30 down waits until it is down. */
static pid_t runsvdir_pid;
static char rs_dir[400], rs_svc[450];
static int runit_setup(const char *mode, const char *file) {
        char run_file[512], script[2048];

        snprintf(rs_dir, sizeof(rs_dir), "%s/runit", tmp);
        snprintf(rs_svc, sizeof(rs_svc), "%s/x", rs_dir);
        mkdir(rs_dir, 0755);
        mkdir(rs_svc, 0755);
        snprintf(run_file, sizeof(run_file), "%s/run", rs_svc);
        snprintf(script, sizeof(script), "#!/bin/sh\nexec %s --child %s %s\n", self, mode, file);
        write_file(run_file, script, 0755);
        snprintf(run_file, sizeof(run_file), "%s/down", rs_svc);
        write_file(run_file, "", 0644);
        const char *argv[] = { "runsvdir", rs_dir, NULL };
        runsvdir_pid = start_bg(argv);
        for (int i = 0; i < 300; i++) { /* runsv makes supervise/ when it takes the service */
                char ok[512];
                snprintf(ok, sizeof(ok), "%s/supervise/ok", rs_svc);
                if (access(ok, F_OK) == 0)
                        return 0;
                usleep(10000);
        }
        return -1;
}
static int runit_up(void) {
        const char *argv[] = { "sv", "-w", "30", "up", rs_svc, NULL };
        return run(argv, true);
}
static uint64_t runit_stop(void) {
        const char *argv[] = { "sv", "-w", "30", "down", rs_svc, NULL };
        return time_cmd(argv);
}
static void runit_teardown(void) {
        const char *argv[] = { "sv", "-w", "30", "exit", rs_svc, NULL };
        (void) run(argv, true);
        stop_bg(runsvdir_pid, SIGHUP); /* runsvdir: SIGHUP ends it and its runsv's */
        remove_tree(rs_dir);
}

/* supervisord: a config of our own; supervisorctl stop waits until it is stopped. */
static pid_t supd;
static char sup_conf[400];
static int sup_setup(const char *mode, const char *file) {
        char conf[8192];

        snprintf(sup_conf, sizeof(sup_conf), "%s/supervisord.conf", tmp);
        snprintf(conf, sizeof(conf),
                 "[unix_http_server]\nfile=%s/supervisor.sock\n"
                 "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\n"
                 "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                 "supervisor.rpcinterface:make_main_rpcinterface\n"
                 "[supervisorctl]\nserverurl=unix://%s/supervisor.sock\n"
                 "[program:x]\ncommand=%s --child %s %s\nautostart=false\nautorestart=true\nstartsecs=0\n"
                 "startretries=1000\nstopwaitsecs=1\n",
                 tmp, tmp, tmp, tmp, self, mode, file);
        write_file(sup_conf, conf, 0644);
        const char *argv[] = { "supervisord", "-c", sup_conf, NULL };
        supd = start_bg(argv);
        for (int i = 0; i < 500; i++) {
                const char *st[] = { "supervisorctl", "-c", sup_conf, "status", NULL };
                if (run(st, true) >= 0 && run(st, true) != 4) /* 4: cannot connect */
                        return 0;
                usleep(20000);
        }
        return -1;
}
static int sup_up(void) {
        const char *argv[] = { "supervisorctl", "-c", sup_conf, "start", "x", NULL };
        return run(argv, true);
}
static uint64_t sup_stop(void) {
        const char *argv[] = { "supervisorctl", "-c", sup_conf, "stop", "x", NULL };
        return time_cmd(argv);
}
static void sup_teardown(void) {
        const char *argv[] = { "supervisorctl", "-c", sup_conf, "shutdown", NULL };
        (void) run(argv, true);
        (void) waitpid(supd, NULL, 0);
}

static const peer peers[] = {
        { "corral (corral stop)", cpeer_setup, cpeer_stop, cpeer_up, cpeer_teardown },
        { "s6 (s6-svc -wd -d)", s6_setup, s6_stop, s6_up, s6_teardown },
        { "runit (sv -w 30 down)", runit_setup, runit_stop, runit_up, runit_teardown },
        { "supervisord (supervisorctl stop)", sup_setup, sup_stop, sup_up, sup_teardown },
};

static bool have(const char *prog) {
        const char *argv[] = { "sh", "-c", NULL, NULL };
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null", prog);
        argv[2] = cmd;
        return run(argv, true) == 0;
}

static bool peer_available(const peer *p) {
        return p->setup == cpeer_setup || (p->setup == s6_setup && have("s6-svscan")) ||
                (p->setup == runit_setup && have("runsvdir")) ||
                (p->setup == sup_setup && have("supervisord"));
}

/* Stop latency: the time of the stop command until the service is down, for a backend that dies
 * of SIGTERM at once ("term") and, for corral, one that ignores it (grace 100 ms). */
static void bench_stop(int rounds, bool with_peers) {
        double base = 0;
        char file[400];

        snprintf(file, sizeof(file), "%s/stop.stamps", tmp);
        printf("\n### Stop latency (cooperative backend: it dies of SIGTERM)\n\n");
        printf("| supervisor, stop command | runs | median µs | p99 µs | vs corral "
               "|\n|---|---|---|---|---|\n");
        for (size_t k = 0; k < sizeof(peers) / sizeof(peers[0]); k++) {
                const peer *p = &peers[k];
                uint64_t *v = calloc((size_t) rounds, sizeof(uint64_t));
                int n = 0;
                if (!v || (k > 0 && (!with_peers || !peer_available(p))) || p->setup("term", file) < 0) {
                        printf("| %s | - | not measured | | |\n", p->name);
                        free(v);
                        continue;
                }
                for (int i = 0; i < rounds; i++) {
                        if (p->up() != 0)
                                continue;
                        usleep(20000);
                        uint64_t t = p->stop();
                        if (t)
                                v[n++] = t;
                }
                p->teardown();
                if (n > 0) {
                        stats s = summarize(v, n);
                        if (k == 0)
                                base = s.median;
                        printf("| %s | %d | %.0f | %.0f | %.2fx |\n", p->name, n, s.median, s.p99,
                               rows_peer_ratio(s.median, base));
                }
                free(v);
        }
}

/* For corral only: a backend that ignores SIGTERM, grace 100 ms: the time past the grace. */
static void bench_stop_grace(int rounds) {
        uint64_t *v = calloc((size_t) rounds, sizeof(uint64_t));
        int n = 0;

        set_child("ignore", "/dev/null");
        for (int i = 0; i < rounds && v; i++) {
                varlink_conn c;
                json_t *reply = NULL;
                if (corral_start("x", child_cmd, 100000) < 0)
                        continue;
                usleep(20000);
                int fd = varlink_connect(sock);
                if (fd < 0)
                        continue;
                varlink_conn_init(&c, fd, 0, 0);
                uint64_t t0 = now_ns(CLOCK_MONOTONIC);
                if (varlink_call(&c, IFACE "Stop", json_pack("{s:s}", "name", "x"), false, &reply) >= 0) {
                        uint64_t t = now_ns(CLOCK_MONOTONIC) - t0;
                        v[n++] = t > 100000000 ? t - 100000000 : 0;
                }
                json_decref(reply);
                varlink_conn_done(&c);
        }
        if (n > 0) {
                stats s = summarize(v, n);
                printf("\nSIGTERM-ignoring backend, grace 100 ms, Stop over varlink: the time past the "
                       "grace until "
                       "the verdict: median %.0f µs, p99 %.0f µs (%d runs).\n",
                       s.median, s.p99, n);
        }
        free(v);
}

/* The floor of crash-to-respawn: the same crashing child, a raw loop that waits for it by pidfd
 * (waitid) and at once clones the next into a fresh leaf cgroup (clone3 CLONE_INTO_CGROUP), the old
 * leaf removed after. Its stamps go to @file as corral's do. 0, or -errno. */
static int raw_respawn(int n, const char *file) {
        char leaf[600], old[600] = "";

        set_child("crash", file);
        for (int i = 0; i < n; i++) {
                int pidfd = -1;
                siginfo_t si;
                snprintf(leaf, sizeof(leaf), "%s/raw.%d", root, i);
                int cg = mkdir(leaf, 0755) < 0 ? -1 : open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* The fd table is shared, not copied (it holds a pidfd per child started), and the
                 * child unshares only 0-2 of it before its exec: one clone costs the same at n as at 1. */
                struct clone_args a = { .flags = CLONE_INTO_CGROUP | CLONE_PIDFD | CLONE_FILES,
                                        .pidfd = (uint64_t) (uintptr_t) &pidfd,
                                        .exit_signal = SIGCHLD,
                                        .cgroup = (uint64_t) cg };
                if (cg < 0)
                        return -errno;
                pid_t pid = (pid_t) syscall(SYS_clone3, &a, sizeof(a));
                if (pid == 0) {
                        execv(child_cmd[0], (char *const *) child_cmd);
                        _exit(127);
                }
                close(cg);
                if (pid < 0)
                        return -errno;
                if (old[0])
                        (void) rmdir(old);
                (void) waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED);
                close(pidfd);
                memcpy(old, leaf, sizeof(old));
        }
        if (old[0])
                (void) rmdir(old);
        return 0;
}

static void raw_respawn_row(int respawns, double base) {
        char file[400];
        uint64_t *gaps = calloc((size_t) respawns + 1, sizeof(uint64_t));
        int n;

        snprintf(file, sizeof(file), "%s/respawn-raw.stamps", tmp);
        unlink(file);
        if (!gaps || raw_respawn(respawns + 1, file) < 0 || (n = respawn_gaps(file, gaps, respawns)) <= 0) {
                printf("| floor: raw loop (waitid, clone3 into a fresh cgroup) | - | not measured | | |\n");
                free(gaps);
                return;
        }
        stats s = summarize(gaps, n);
        printf("| floor: raw loop (waitid, clone3 into a fresh cgroup) | %d | %.0f | %.0f | %.2fx |\n", n,
               s.median, s.p99, rows_peer_ratio(s.median, base));
        free(gaps);
}

/* Crash-to-respawn with no backoff: from the backend's last act before it exits to the first
 * act of the next one. */
static void bench_respawn(int respawns, bool with_peers) {
        double base = 0;

        printf("\n### Crash-to-respawn latency (no backoff)\n\n");
        printf("| supervisor | respawns | median µs | p99 µs | vs corral |\n|---|---|---|---|---|\n");
        for (size_t k = 0; k < sizeof(peers) / sizeof(peers[0]); k++) {
                const peer *p = &peers[k];
                char file[400];
                uint64_t *gaps = calloc((size_t) respawns + 1, sizeof(uint64_t));
                int n, want = k == 0 ? respawns : respawns / 5 + 2;

                snprintf(file, sizeof(file), "%s/respawn-%zu.stamps", tmp, k);
                unlink(file);
                if (!gaps || (k > 0 && (!with_peers || !peer_available(p)))) {
                        printf("| %s | - | not measured | | |\n", p->name);
                        free(gaps);
                        continue;
                }
                if (k == 0) {
                        set_child("crash", file);
                        json_t *sp = start_params("crasher", child_cmd, 100000);
                        json_object_set_new(sp, "restart", json_string("always"));
                        json_object_set_new(sp, "restartDelayUSec", json_integer(0));
                        json_object_set_new(sp, "restartLimit", json_string("0/0"));
                        json_decref(call(IFACE "Start", sp));
                        wait_starts(file, want + 1, 60);
                        json_decref(call(IFACE "StopAll", NULL));
                } else {
                        if (p->setup("crash", file) < 0 || p->up() < 0) {
                                p->teardown();
                                printf("| %s | - | not measured | | |\n", p->name);
                                free(gaps);
                                continue;
                        }
                        wait_starts(file, want + 1, 120);
                        p->teardown();
                }
                n = respawn_gaps(file, gaps, want);
                if (n > 0) {
                        stats s = summarize(gaps, n);
                        if (k == 0)
                                base = s.median;
                        char who[64];
                        snprintf(who, sizeof(who), "%.*s", (int) strcspn(p->name, " "), p->name);
                        printf("| %s | %d | %.0f | %.0f | %.1fx |\n", who, n, s.median, s.p99,
                               rows_peer_ratio(s.median, base));
                }
                free(gaps);
                if (k == 0)
                        raw_respawn_row(respawns, base);
        }
}

/* Scale: n sleeping backends in one corrald, started over one connection, pipelined. */
static char pause_bin[1200];

/* Whether a leaf still holds a process: 1, 0, or -1 on error (its cgroup.events, read again). */
static int raw_populated(int events_fd) {
        char buf[256];
        ssize_t k = pread(events_fd, buf, sizeof(buf) - 1, 0);

        if (k <= 0)
                return -1;
        buf[k] = '\0';
        return strstr(buf, "populated 1") ? 1 : 0;
}

/* The floor of the scale row: n bench-pause clone3'd into n fresh leaves (the leaf mkdir and the
 * clone per backend, nothing else; CLONE_FILES, as corral's spawn window), then a raw StopAll: cgroup.kill
 * written in each leaf, each waited for until cgroup.events says populated 0 (POLLPRI), reaped by pidfd and
 * removed. */
static void raw_scale(int n) {
        int *pidfds = calloc((size_t) n, sizeof(int)), started = 0;
        char leaf[600];
        uint64_t t0, t_start, t_stop;

        if (!pidfds)
                return;
        t0 = now_ns(CLOCK_MONOTONIC);
        for (; started < n; started++) {
                snprintf(leaf, sizeof(leaf), "%s/raw.%d", root, started);
                int cg = mkdir(leaf, 0755) < 0 ? -1 : open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* The fd table is shared, not copied (it holds a pidfd per child started), and the
                 * child unshares only 0-2 of it before its exec: one clone costs the same at n as at 1. */
                struct clone_args a = { .flags = CLONE_INTO_CGROUP | CLONE_PIDFD | CLONE_FILES,
                                        .pidfd = (uint64_t) (uintptr_t) &pidfds[started],
                                        .exit_signal = SIGCHLD,
                                        .cgroup = (uint64_t) cg };
                pid_t pid = cg < 0 ? -1 : (pid_t) syscall(SYS_clone3, &a, sizeof(a));
                if (pid == 0) {
                        (void) syscall(SYS_close_range, 3U, ~0U, 2U /* CLOSE_RANGE_UNSHARE */);
                        execl(pause_bin, pause_bin, (char *) NULL);
                        _exit(127);
                }
                if (cg >= 0)
                        close(cg);
                if (pid < 0) {
                        (void) rmdir(leaf);
                        break;
                }
        }
        t_start = now_ns(CLOCK_MONOTONIC) - t0;
        t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < started; i++) {
                snprintf(leaf, sizeof(leaf), "%s/raw.%d/cgroup.kill", root, i);
                int k = open(leaf, O_WRONLY | O_CLOEXEC);
                if (k >= 0) {
                        (void) !write(k, "1", 1);
                        close(k);
                }
        }
        for (int i = 0; i < started; i++) {
                siginfo_t si;
                snprintf(leaf, sizeof(leaf), "%s/raw.%d/cgroup.events", root, i);
                int ev = open(leaf, O_RDONLY | O_CLOEXEC);
                while (ev >= 0 && raw_populated(ev) == 1) {
                        struct pollfd p = { .fd = ev, .events = POLLPRI };
                        (void) poll(&p, 1, -1);
                }
                if (ev >= 0)
                        close(ev);
                (void) waitid(P_PIDFD, (id_t) pidfds[i], &si, WEXITED);
                close(pidfds[i]);
                snprintf(leaf, sizeof(leaf), "%s/raw.%d", root, i);
                (void) rmdir(leaf);
        }
        t_stop = now_ns(CLOCK_MONOTONIC) - t0;
        printf("| %d, floor: raw clone3 into fresh leaves, cgroup.kill loop | %d | - | %.2f | %.2f | - |\n",
               n, started, t_start / 1e9, t_stop / 1e9);
        free(pidfds);
}

static void bench_scale(int n) {
        const char *cmd[] = { pause_bin, NULL };
        long rss0 = proc_status(daemon_pid, "VmRSS:"), rss1, cs0, cs1;
        varlink_conn c;
        int fd = varlink_connect(sock), ok = 0;
        uint64_t t0, t_start, t_stop;
        json_t *reply = NULL;

        if (fd < 0)
                return;
        varlink_conn_init(&c, fd, 0, 0);
        t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < n; i++) {
                char name[32];
                snprintf(name, sizeof(name), "s%d", i);
                json_t *m = varlink_call_new(IFACE "Start", start_params(name, cmd, 1000000), false);
                (void) varlink_conn_queue(&c, m);
                json_decref(m);
                if (i % 64 == 63 || i == n - 1)
                        while (varlink_conn_flush(&c) == -EAGAIN) { /* wait: a spin would take a CPU */
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                (void) poll(&p, 1, -1);
                        }
        }
        for (int i = 0; i < n && varlink_next_reply(&c, &reply) >= 0; i++) {
                ok += !json_object_get(reply, "error");
                json_decref(reply);
        }
        t_start = now_ns(CLOCK_MONOTONIC) - t0;
        varlink_conn_done(&c);
        rss1 = proc_status(daemon_pid, "VmRSS:");
        sleep(1); /* kernfs notifies cgroup.events at most every 10 ms: the last ones come late */
        cs0 = proc_status(daemon_pid, "voluntary_ctxt_switches:") +
                proc_status(daemon_pid, "nonvoluntary_ctxt_switches:");
        sleep(10);
        cs1 = proc_status(daemon_pid, "voluntary_ctxt_switches:") +
                proc_status(daemon_pid, "nonvoluntary_ctxt_switches:");
        t0 = now_ns(CLOCK_MONOTONIC);
        reply = call(IFACE "StopAll", NULL);
        t_stop = now_ns(CLOCK_MONOTONIC) - t0;
        json_decref(reply);
        printf("| %d | %d | %.0f | %.2f | %.2f | %ld |\n", n, ok, (rss1 - rss0) * 1024.0 / (n ? n : 1),
               t_start / 1e9, t_stop / 1e9, cs1 - cs0);
}

static int count_dirs(const char *dir) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "find %s -mindepth 1 -maxdepth 1 -type d | wc -l", dir);
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (p) {
                if (fscanf(p, "%d", &n) != 1)
                        n = -1;
                pclose(p);
        }
        return n;
}

static int count_fds(pid_t pid) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int) pid);
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (p) {
                if (fscanf(p, "%d", &n) != 1)
                        n = -1;
                pclose(p);
        }
        return n;
}

/* How many backends corrald lists. */
static size_t list_size(varlink_conn *c) {
        json_t *r = NULL;
        size_t n = 0;

        if (varlink_call(c, IFACE "List", NULL, false, &r) >= 0)
                n = json_array_size(json_object_get(json_object_get(r, "parameters"), "backends"));
        json_decref(r);
        return n;
}

/* Churn: Start then Stop (which waits for the verdict) of one backend, as fast as it goes;
 * unique: each cycle a new name, as a node agent's jobs, which corrald must not pile up. */
static void bench_churn(int seconds, bool unique) {
        const char *cmd[] = { pause_bin, NULL };
        int fds0 = count_fds(daemon_pid), cycles = 0;
        long rss0 = proc_status(daemon_pid, "VmRSS:");
        uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t) seconds * 1000000000ULL,
                 t0 = now_ns(CLOCK_MONOTONIC);
        varlink_conn c;
        int fd = varlink_connect(sock);

        if (fd < 0)
                return;
        varlink_conn_init(&c, fd, 0, 0);
        while (now_ns(CLOCK_MONOTONIC) < end) {
                json_t *r1 = NULL, *r2 = NULL;
                char name[32] = "churn";
                if (unique)
                        snprintf(name, sizeof(name), "job-%d", cycles);
                if (varlink_call(&c, IFACE "Start", start_params(name, cmd, 1000000), false, &r1) < 0 ||
                    varlink_call(&c, IFACE "Stop", json_pack("{s:s}", "name", name), false, &r2) < 0)
                        break;
                cycles += !json_object_get(r1, "error") && !json_object_get(r2, "error");
                json_decref(r1);
                json_decref(r2);
        }
        double secs = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
        size_t listed = list_size(&c);
        varlink_conn_done(&c);
        usleep(200000);
        printf("\n### Churn%s\n\nStart+Stop of %s (bench-pause, its verdict awaited) for %.0f s: %d "
               "cycles, %.0f cycles/s. After: corrald fds %d (before %d), RSS %ld KiB (before %ld), "
               "backends listed %zu, leaf cgroups left %d.\n",
               unique ? ", a new name each time" : "",
               unique ? "a backend of a new name each time" : "one backend", secs, cycles, cycles / secs,
               count_fds(daemon_pid), fds0, proc_status(daemon_pid, "VmRSS:"), rss0, listed,
               count_dirs(root));
}

static const char *find_bin(const char *env, const char *rel, char *buf, size_t size) {
        const char *e = getenv(env);
        char dir[1024];

        if (e)
                return snprintf(buf, size, "%s", e), buf;
        snprintf(dir, sizeof(dir), "%s", self);
        char *s = strrchr(dir, '/');
        if (s)
                *s = '\0';
        snprintf(buf, size, "%s/%s", dir, rel);
        return buf;
}

/* The sections, each named on the command line to run it alone (several may be). */
static const char *const section_names[] = { "stop", "grace", "respawn", "scale", "churn" };
enum {
        SECTION_STOP = 1u << 0,
        SECTION_GRACE = 1u << 1,
        SECTION_RESPAWN = 1u << 2,
        SECTION_SCALE = 1u << 3,
        SECTION_CHURN = 1u << 4,
};

static int section_index(const char *s) {
        for (int i = 0; i < (int) (sizeof(section_names) / sizeof(section_names[0])); i++)
                if (strcmp(s, section_names[i]) == 0)
                        return i;
        return -1;
}

static void help(void) {
        printf("Usage: bench-daemon [OPTIONS] [SECTION...]\n\n"
               "corrald measured beside the peers installed (s6, runit, supervisord), as root with "
               "cgroup2.\n"
               "Sections (default: all, in this order):\n"
               "  stop      a waiting stop: corral stop vs the peers' own stop commands\n"
               "  grace     a stop whose backend ignores SIGTERM: the grace period kept\n"
               "  respawn   crash-to-respawn with zero backoff\n"
               "  scale     N backends started over one connection, RSS, StopAll, idle wake-ups\n"
               "  churn     start/stop cycles with fresh names, fds and RSS after\n\n"
               "Options:\n"
               "  --quick             fewer rounds, scales / 10, 5 s of churn\n"
               "  --no-peers          corral only\n"
               "  --scale N[,N[,N]]   the scale section's sizes (default 1000,10000)\n"
               "  --churn-seconds S   how long each churn row runs (default 60)\n"
               "Environment: CORRAL_DAEMON_BIN, CORRAL_BIN, CORRAL_BENCH_PAUSE (default: this build's).\n");
}

int main(int argc, char **argv) {
        bool quick = false, with_peers = true;
        unsigned only = 0;
        int churn_seconds = 60, scales[4] = { 1000, 10000 }, n_scales = 2;
        char mnt[64] = "/sys/fs/cgroup/unified";

        if (argc == 4 && strcmp(argv[1], "--child") == 0)
                return child_main(argv[2], argv[3]);
        for (int i = 1; i < argc; i++) {
                int k = section_index(argv[i]);
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return help(), 0;
                if (k >= 0)
                        only |= 1u << k;
                else if (strcmp(argv[i], "--quick") == 0)
                        quick = true;
                else if (strcmp(argv[i], "--no-peers") == 0)
                        with_peers = false;
                else if (strcmp(argv[i], "--churn-seconds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
                        churn_seconds = atoi(argv[++i]);
                else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc &&
                         (n_scales = sscanf(argv[i + 1], "%d,%d,%d", &scales[0], &scales[1], &scales[2])) >
                                 0)
                        i++;
                else
                        return fprintf(stderr,
                                       "bench-daemon: unknown or incomplete argument '%s' (see --help)\n",
                                       argv[i]),
                               2;
        }
        if (!only)
                only = ~0u;
        char exe[4096];
        if (!realpath("/proc/self/exe", exe) || strlen(exe) >= sizeof(self))
                return 1;
        memcpy(self, exe, strlen(exe) + 1);
        find_bin("CORRAL_DAEMON_BIN", "../../src/daemon/corrald", corrald_bin, sizeof(corrald_bin));
        find_bin("CORRAL_BIN", "../../src/cli/corral", corral_bin, sizeof(corral_bin));
        find_bin("CORRAL_BENCH_PAUSE", "bench-pause", pause_bin, sizeof(pause_bin));
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                snprintf(mnt, sizeof(mnt), "/sys/fs/cgroup");
        snprintf(tmp, sizeof(tmp), "/tmp/corral-bench.%d", (int) getpid());
        snprintf(sock, sizeof(sock), "%s/sock", tmp);
        snprintf(root, sizeof(root), "%s/corral-bench.%d", mnt, (int) getpid());
        if (mkdir(tmp, 0755) < 0 || mkdir(root, 0755) < 0 || daemon_start() < 0) {
                fprintf(stderr, "bench-daemon: cannot set up (root and cgroup2 needed): %s\n",
                        strerror(errno));
                return 1;
        }
        printf("corrald %s, cgroup root %s\n", corrald_bin, root);
        if (only & SECTION_STOP)
                bench_stop(quick ? 20 : 100, with_peers);
        if (only & SECTION_GRACE)
                bench_stop_grace(quick ? 10 : 50);
        if (only & SECTION_RESPAWN)
                bench_respawn(quick ? 20 : 200, with_peers);
        if (only & SECTION_SCALE) {
                printf("\n### Scale (one corrald, bench-pause backends: static, they pause)\n\n| backends | "
                       "started | corrald RSS per backend (bytes) | time to start all (s) | StopAll (s) | "
                       "corrald "
                       "wake-ups in 10 s idle |\n|---|---|---|---|---|---|\n");
                for (int i = 0; i < n_scales; i++) {
                        bench_scale(quick ? scales[i] / 10 : scales[i]);
                        raw_scale(quick ? scales[i] / 10 : scales[i]);
                }
        }
        if (only & SECTION_CHURN) {
                bench_churn(quick ? 5 : churn_seconds, false);
                bench_churn(quick ? 5 : churn_seconds, true);
        }
        stop_bg(daemon_pid, SIGTERM);
        rmdir(root);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        (void) !system(cmd);
        return 0;
}
