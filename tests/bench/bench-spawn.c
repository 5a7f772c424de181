/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-spawn.c: spawn cost of corral (fresh leaf cgroup, vfork-style clone3) against posix_spawn
 * and fork+exec, from the request to the backend's first instruction after exec (it writes a
 * timestamp), with the supervisor small and holding 512 MiB of touched memory; and exit
 * detection, from the backend's last instruction to corral's event. And the same spawn with a
 * typical server sandbox (ProtectSystem=strict, PrivateTmp, PrivateDevices, a system call filter).
 *
 * Usage (root): bench-spawn [ROUNDS]   Prints tables; exits non-zero only if it could not measure. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

extern char **environ;
static char stamp_bin[1200], stamp_dir[128], stamp_file[256];
static char *child_argv[] = { stamp_bin, stamp_file, "exit", NULL };

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

typedef struct stats {
        double median_us, p99_us;
} stats;

static stats summarize(uint64_t *v, int n) {
        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        return (stats){ v[n / 2] / 1000.0, v[(n * 99) / 100] / 1000.0 };
}

/* The stamp of that tag the backend wrote, waiting for it (a bounded wait). */
static uint64_t read_stamp(char tag) {
        for (int i = 0; i < 100000; i++) {
                FILE *f = fopen(stamp_file, "re");
                unsigned long long t;
                char c;
                while (f && fscanf(f, " %c %llu", &c, &t) == 2)
                        if (c == tag) {
                                fclose(f);
                                return t;
                        }
                if (f)
                        fclose(f);
                usleep(50);
        }
        return 0;
}

static void stamp_reset(void) {
        (void) unlink(stamp_file);
}

/* The bench's own children, reaped by pid: it measures, it does not supervise. */
static uint64_t one_posix_spawn(void) {
        pid_t pid;
        uint64_t t;

        stamp_reset();
        t = now_ns();
        if (posix_spawn(&pid, child_argv[0], NULL, NULL, child_argv, environ) != 0)
                return 0;
        waitpid(pid, NULL, 0);
        uint64_t s = read_stamp('S');
        return s > t ? s - t : 0;
}

static uint64_t one_fork_exec(void) {
        uint64_t t;

        stamp_reset();
        t = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
                execve(child_argv[0], child_argv, environ);
                _exit(127);
        }
        waitpid(pid, NULL, 0);
        uint64_t s = read_stamp('S');
        return s > t ? s - t : 0;
}

typedef struct bench_state {
        int gone;
        uint64_t verdict_ns;
} bench_state;

static void on_event(corral *c, const corral_event *ev, void *userdata) {
        bench_state *st = userdata;
        (void) c;
        if (corral_event_is_verdict(ev->type)) {
                st->verdict_ns = now_ns();
                st->gone++;
        }
}

/* From the request to the first instruction, and from the last instruction to the verdict. */
static uint64_t one_corral(corral *c, corral_spec *s, bench_state *st, uint64_t *ret_exit_ns) {
        int before = st->gone;
        uint64_t t;

        stamp_reset();
        t = now_ns();
        if (corral_spawn(c, s, NULL) < 0)
                return 0;
        while (st->gone == before)
                if (sd_event_run(corral_get_event(c), UINT64_MAX) < 0)
                        return 0;
        uint64_t first = read_stamp('S'), last = read_stamp('E');
        if (ret_exit_ns)
                *ret_exit_ns = st->verdict_ns > last ? st->verdict_ns - last : 0;
        return first > t ? first - t : 0;
}

/* bench-stamp copied into dir (the same program, where a private /tmp cannot hide it). */
static int copy_stamp(const char *from, const char *dir) {
        char to[256], buf[65536];
        int in, out, r = 0;
        ssize_t n;

        snprintf(to, sizeof(to), "%s/bench-stamp", dir);
        in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -1;
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
        if (out < 0) {
                close(in);
                return -1;
        }
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t) n) != n) {
                        r = -1;
                        break;
                }
        if (n < 0)
                r = -1;
        close(in);
        if (close(out) < 0)
                r = -1;
        if (r < 0)
                (void) unlink(to);
        return r;
}

/* The row's corral_spawn with sbx (a sandboxed spec) too, if there is one. */
static int run_row(corral *c, corral_spec *s, corral_spec *sbx, bench_state *st, int rounds, const char *mem,
                   uint64_t *exits) {
        uint64_t *v[4];
        const char *names[] = { "corral_spawn (new leaf cgroup)", "posix_spawn (no cgroup)",
                                "fork+exec (no cgroup)",
                                "corral_spawn, sandboxed (ProtectSystem=strict, PrivateTmp, PrivateDevices, "
                                "SystemCallFilter=@system-service)" };
        int kinds = sbx ? 4 : 3;

        for (int k = 0; k < kinds; k++) {
                v[k] = calloc((size_t) rounds, sizeof(uint64_t));
                for (int i = 0; i < rounds; i++) {
                        v[k][i] = k == 0 ? one_corral(c, s, st, exits ? &exits[i] : NULL)
                                : k == 1 ? one_posix_spawn()
                                : k == 2 ? one_fork_exec()
                                         : one_corral(c, sbx, st, NULL);
                        if (v[k][i] == 0) {
                                fprintf(stderr, "bench-spawn: %s failed: %s\n", names[k], strerror(errno));
                                return 1;
                        }
                }
        }
        stats base = summarize(v[1], rounds);
        for (int k = 0; k < kinds; k++) {
                stats sv = k == 1 ? base : summarize(v[k], rounds);
                printf("| %s | %s | %.0f | %.0f | %.2fx |\n", names[k], mem, sv.median_us, sv.p99_us,
                       sv.median_us / base.median_us);
                free(v[k]);
        }
        return 0;
}

/* The rows again with n more fds of ours open (pipes, O_CLOEXEC, as a supervisor's pidfds and
 * pipes are); the file limit is raised to the hard limit for them. */
static int run_row_with_fds(corral *c, corral_spec *s, bench_state *st, int rounds, int n) {
        struct rlimit rl;
        int *fds = calloc((size_t) n, sizeof(int)), r = 0, opened = 0;
        char label[64];

        if (!fds || getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -1;
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
        for (; opened + 1 < n && pipe2(&fds[opened], O_CLOEXEC) == 0; opened += 2)
                ;
        snprintf(label, sizeof(label), "%d more fds open%s", opened,
                 getenv("CORRAL_DISABLE") && strstr(getenv("CORRAL_DISABLE"), "spawn-window")
                         ? " (CORRAL_DISABLE=spawn-window)"
                         : "");
        r = run_row(c, s, NULL, st, rounds, label, NULL) ? -1 : 0;
        for (int i = 0; i < opened; i++)
                close(fds[i]);
        free(fds);
        return r;
}

static void help(void) {
        printf("Usage: bench-spawn [ROUNDS]\n\n"
               "libcorral's spawn, request to the first instruction of bench-stamp, against posix_spawn,\n"
               "and its exit detection, ROUNDS times each (default 300); as root with cgroup2.\n");
}

int main(int argc, char **argv) {
        int rounds = 300, r;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
                return help(), 0;
        if (argc > 2 || (argc == 2 && (rounds = atoi(argv[1])) < 2)) {
                fprintf(stderr, "bench-spawn: expected ROUNDS, a number of at least 2 (see --help)\n");
                return 2;
        }
        bench_state st = { 0 };
        uint64_t *exits = calloc((size_t) rounds, sizeof(uint64_t));
        char exe[4096], *slash;
        char root[256];
        corral *c = NULL;
        corral_spec *s = NULL, *sbx = NULL;
        const char *mnt = "/sys/fs/cgroup/unified";

        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                mnt = "/sys/fs/cgroup";
        snprintf(root, sizeof(root), "%s/corral-bench.%d", mnt, (int) getpid());
        if (!exits || !realpath("/proc/self/exe", exe) || !(slash = strrchr(exe, '/')))
                return 1;
        *slash = '\0';
        /* not in /tmp: the sandboxed backend has its own (the stamp, and bench-stamp itself: a build
         * under /tmp, as CI's clone is, would be hidden from it) */
        snprintf(stamp_dir, sizeof(stamp_dir), "/run/corral-bench.%d", (int) getpid());
        snprintf(stamp_file, sizeof(stamp_file), "%s/stamp", stamp_dir);
        if (mkdir(stamp_dir, 0700) < 0) {
                fprintf(stderr, "bench-spawn: cannot create %s: %s\n", stamp_dir, strerror(errno));
                return 1;
        }
        snprintf(stamp_bin, sizeof(stamp_bin), "%.1000s/bench-stamp", exe);
        if (copy_stamp(stamp_bin, stamp_dir) < 0) {
                fprintf(stderr, "bench-spawn: cannot copy %s to %s: %s\n", stamp_bin, stamp_dir, strerror(errno));
                rmdir(stamp_dir);
                return 1;
        }
        snprintf(stamp_bin, sizeof(stamp_bin), "%s/bench-stamp", stamp_dir);
        if (mkdir(root, 0755) < 0) {
                fprintf(stderr, "bench-spawn: cannot create %s: %s\n", root, strerror(errno));
                return 1;
        }
        r = corral_new(&c, root, CORRAL_NEW_SUBREAPER);
        if (r >= 0) {
                corral_set_event_handler(c, on_event, &st);
                corral_spec_new(&s);
                corral_spec_set_name(s, "bench");
                corral_spec_set_argv(s, child_argv);
                corral_spec_set_type(s, CORRAL_TYPE_TASK);
                corral_spec_set_output(s, CORRAL_OUTPUT_INHERIT);
                if (corral_spec_dup(s, &sbx) < 0 || corral_spec_set_protect_system(sbx, "strict") < 0 ||
                    corral_spec_add_read_write_path(sbx, stamp_dir) < 0 ||
                    corral_spec_set_private_tmp(sbx, true) < 0 ||
                    corral_spec_set_private_devices(sbx, true) < 0 ||
                    corral_spec_set_system_call_filter(sbx, "@system-service") < 0)
                        r = -1;
                printf("| request to first instruction of bench-stamp (static) | supervisor memory | median "
                       "µs | "
                       "p99 µs | vs posix_spawn |\n");
                printf("|---|---|---|---|---|\n");
                if (r >= 0)
                        r = run_row(c, s, sbx, &st, rounds, "small", exits) ? -1 : 0;
        }
        if (r >= 0) {
                size_t big = 512UL << 20;
                char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        r = -1;
                else {
                        memset(m, 1, big); /* touched: every page is mapped */
                        r = run_row(c, s, NULL, &st, rounds, "512 MiB touched", NULL) ? -1 : 0;
                        munmap(m, big);
                }
        }
        if (r >= 0) /* as corrald with 10,000 backends: one pidfd each */
                r = run_row_with_fds(c, s, &st, rounds, 10000);
        if (r >= 0) {
                stats e = summarize(exits, rounds);
                printf("\n| exit detection: the backend's last instruction to corral's verdict event | runs "
                       "| median µs "
                       "| p99 µs |\n|---|---|---|---|\n| corral (pidfd, then cgroup.events: empty) | %d | "
                       "%.0f | %.0f |\n",
                       rounds, e.median_us, e.p99_us);
        }
        free(exits);
        stamp_reset();
        corral_spec_free(s);
        corral_spec_free(sbx);
        corral_free(c);
        rmdir(root);
        (void) unlink(stamp_bin);
        rmdir(stamp_dir);
        return r < 0 ? 1 : 0;
}
