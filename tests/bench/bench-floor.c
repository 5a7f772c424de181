/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-floor.c: the floors corral's figures are held against, measured without corral: a parent's
 * kill and waitid of its own child (a waiting stop's), and one fork+exec+wait of /bin/true (a
 * client's start-up at its least). Prints median and p99 in µs. */

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, int n) {
        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        printf("| %s | %d | %.0f | %.0f |\n", what, n, v[n / 2] / 1e3,
               v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3);
}

/* The program started, given time to be running, then SIGTERM through its pidfd and waitid on it. */
static int floor_stop(char *const argv[], int n, uint64_t *v) {
        for (int i = 0; i < n; i++) {
                pid_t pid;
                siginfo_t si;
                if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
                        return -1;
                int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (pidfd < 0)
                        return -1;
                usleep(20000); /* running and blocked in its sleep, as a backend being stopped */
                uint64_t t0 = now_ns();
                if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0 ||
                    waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                        return -1;
                v[i] = now_ns() - t0;
                close(pidfd);
        }
        return 0;
}

/* fork+exec+wait of /bin/true: what any client costs before its first own instruction. */
static int floor_exec(int n, uint64_t *v) {
        char *argv[] = { (char *) "/bin/true", NULL };
        for (int i = 0; i < n; i++) {
                pid_t pid;
                int st;
                uint64_t t0 = now_ns();
                if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) < 0)
                        return -1;
                v[i] = now_ns() - t0;
        }
        return 0;
}

static void help(void) {
        printf("Usage: bench-floor [--rounds N] [stop|exec]...\n\n"
               "The floors without corral, median and p99 in µs (default: both, 200 rounds):\n"
               "  stop   SIGTERM by pidfd and waitid() of a child /bin/sleep 1000 (a waiting stop's floor)\n"
               "  exec   posix_spawn and waitpid() of /bin/true (a client's start-up at its least)\n");
}

int main(int argc, char **argv) {
        int rounds = 200, i = 1;
        bool stop = false, exec = false;

        for (; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return help(), 0;
                if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
                        rounds = atoi(argv[++i]);
                else if (strcmp(argv[i], "stop") == 0)
                        stop = true;
                else if (strcmp(argv[i], "exec") == 0)
                        exec = true;
                else
                        return fprintf(stderr, "bench-floor: unknown argument '%s' (see --help)\n", argv[i]),
                               2;
        }
        if (!stop && !exec)
                stop = exec = true;
        uint64_t *v = calloc((size_t) rounds, sizeof(uint64_t));
        char *sleep_argv[] = { (char *) "/bin/sleep", (char *) "1000", NULL };
        if (!v)
                return 1;
        printf("| floor | rounds | median µs | p99 µs |\n|---|---|---|---|\n");
        if (stop && floor_stop(sleep_argv, rounds, v) == 0)
                report("kill + waitid of /bin/sleep (pidfd)", v, rounds);
        if (exec && floor_exec(rounds, v) == 0)
                report("posix_spawn + waitpid of /bin/true", v, rounds);
        free(v);
        return 0;
}
