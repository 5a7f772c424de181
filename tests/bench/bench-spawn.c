/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-spawn.c: spawn cost of corral (fresh leaf cgroup, vfork-style clone3) against posix_spawn
 * and fork+exec, with the supervisor small and holding 512 MiB of touched memory.
 *
 * Usage (root): bench-spawn [ROUNDS]   Prints a table; exits non-zero only if it could not measure. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

extern char **environ;
static char *const child_argv[] = { "/bin/true", NULL };

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

/* The bench's own children, reaped by pid: it measures, it does not supervise. */
static uint64_t one_posix_spawn(void) {
        pid_t pid;
        uint64_t t = now_ns();
        if (posix_spawn(&pid, child_argv[0], NULL, NULL, child_argv, environ) != 0)
                return 0;
        t = now_ns() - t;
        waitpid(pid, NULL, 0);
        return t;
}

static uint64_t one_fork_exec(void) {
        uint64_t t = now_ns();
        int p[2];
        char c;
        if (pipe2(p, O_CLOEXEC) < 0)
                return 0;
        pid_t pid = fork();
        if (pid == 0) {
                execve(child_argv[0], child_argv, environ);
                _exit(127);
        }
        close(p[1]);
        (void) !read(p[0], &c, 1); /* returns at exec, like posix_spawn and corral */
        t = now_ns() - t;
        close(p[0]);
        waitpid(pid, NULL, 0);
        return t;
}

static void on_event(corral *c, const corral_event *ev, void *userdata) {
        (void) c;
        if (ev->type != CORRAL_EVENT_STARTED && ev->type != CORRAL_EVENT_STOPPING)
                (*(int *) userdata)++;
}

static uint64_t one_corral(corral *c, corral_spec *s, int *gone) {
        int before = *gone;
        uint64_t t = now_ns();
        if (corral_spawn(c, s, NULL) < 0)
                return 0;
        t = now_ns() - t;
        while (*gone == before)
                if (sd_event_run(corral_get_event(c), UINT64_MAX) < 0)
                        return 0;
        return t;
}

static int run_row(const char *what, corral *c, corral_spec *s, int *gone, int rounds, const char *mem) {
        uint64_t *v[3];
        const char *names[] = { "corral_spawn (new leaf cgroup)", "posix_spawn (no cgroup)",
                                "fork+exec (no cgroup)" };

        for (int k = 0; k < 3; k++) {
                v[k] = calloc((size_t) rounds, sizeof(uint64_t));
                for (int i = 0; i < rounds; i++) {
                        v[k][i] = k == 0 ? one_corral(c, s, gone)
                                : k == 1 ? one_posix_spawn()
                                         : one_fork_exec();
                        if (v[k][i] == 0) {
                                fprintf(stderr, "bench-spawn: %s failed: %s\n", names[k], strerror(errno));
                                return 1;
                        }
                }
        }
        stats base = summarize(v[1], rounds);
        for (int k = 0; k < 3; k++) {
                stats st = k == 1 ? base : summarize(v[k], rounds);
                printf("| %s | %s | %.0f | %.0f | %.2fx |\n", names[k], mem, st.median_us, st.p99_us,
                       st.median_us / base.median_us);
                free(v[k]);
        }
        (void) what;
        return 0;
}

int main(int argc, char **argv) {
        int rounds = argc > 1 ? atoi(argv[1]) : 300, gone = 0, r;
        char root[256];
        corral *c = NULL;
        corral_spec *s = NULL;
        const char *mnt = "/sys/fs/cgroup/unified";

        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                mnt = "/sys/fs/cgroup";
        snprintf(root, sizeof(root), "%s/corral-bench.%d", mnt, (int) getpid());
        if (mkdir(root, 0755) < 0) {
                fprintf(stderr, "bench-spawn: cannot create %s: %s\n", root, strerror(errno));
                return 1;
        }
        r = corral_new(&c, root, CORRAL_NEW_SUBREAPER);
        if (r >= 0) {
                corral_set_event_handler(c, on_event, &gone);
                corral_spec_new(&s);
                corral_spec_set_name(s, "bench");
                corral_spec_set_argv(s, child_argv);
                corral_spec_set_type(s, CORRAL_TYPE_TASK);
                printf("| spawn of /bin/true | supervisor memory | median µs | p99 µs | vs posix_spawn |\n");
                printf("|---|---|---|---|---|\n");
                r = run_row("small", c, s, &gone, rounds, "small") ? -1 : 0;
        }
        if (r >= 0) {
                size_t big = 512UL << 20;
                char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        r = -1;
                else {
                        memset(m, 1, big); /* touched: every page is mapped */
                        r = run_row("512", c, s, &gone, rounds, "512 MiB touched") ? -1 : 0;
                        munmap(m, big);
                }
        }
        corral_spec_free(s);
        corral_free(c);
        rmdir(root);
        return r < 0 ? 1 : 0;
}
