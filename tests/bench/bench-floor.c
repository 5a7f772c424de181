/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-floor.c: the floors corral's figures are held against, measured without corral: a parent's
 * kill and waitid of its own child (a waiting stop's), one fork+exec+wait of /bin/true (a client's
 * start-up at its least), and exit detection by a parent blocked in waitid() or in epoll_wait() on
 * the child's pidfd (bench-stamp's last instruction to the parent's return). Prints median and p99
 * in µs. */

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

/* The "E <ns>" line bench-stamp wrote last; 0 if none. */
static uint64_t stamp_exit(const char *file) {
        char buf[256] = "";
        unsigned long long ns = 0;
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        char *e = n > 0 ? strstr(buf, "E ") : NULL;

        if (fd >= 0)
                close(fd);
        if (e)
                (void) sscanf(e, "E %llu", &ns);
        return ns;
}

/* bench-stamp FILE exit, the parent blocked in waitid() (@epoll false) or in epoll_wait() on the
 * pidfd: from its last instruction to the parent's return. */
static int floor_exit(const char *stamp_bin, const char *file, bool epoll, int n, uint64_t *v) {
        char *argv[] = { (char *) stamp_bin, (char *) file, (char *) "exit", NULL };
        for (int i = 0; i < n; i++) {
                pid_t pid;
                siginfo_t si;
                struct epoll_event ev = { .events = EPOLLIN };
                (void) unlink(file);
                if (posix_spawn(&pid, stamp_bin, NULL, NULL, argv, environ) != 0)
                        return -1;
                int pidfd = (int) syscall(SYS_pidfd_open, pid, 0),
                    ep = epoll ? epoll_create1(EPOLL_CLOEXEC) : -1;
                if (pidfd < 0 || (epoll && (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &ev) < 0)))
                        return -1;
                if (epoll && epoll_wait(ep, &ev, 1, -1) != 1)
                        return -1;
                uint64_t t = now_ns();
                if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                        return -1;
                if (!epoll)
                        t = now_ns();
                uint64_t e = stamp_exit(file);
                v[i] = e && t > e ? t - e : 0;
                close(pidfd);
                if (ep >= 0)
                        close(ep);
        }
        return 0;
}

static void help(void) {
        printf("Usage: bench-floor [--rounds N] [stop|exec|exit]...\n\n"
               "The floors without corral, median and p99 in µs (default: all, 200 rounds):\n"
               "  stop   SIGTERM by pidfd and waitid() of a child /bin/sleep 1000 (a waiting stop's floor)\n"
               "  exec   posix_spawn and waitpid() of /bin/true (a client's start-up at its least)\n"
               "  exit   bench-stamp's last instruction to a parent blocked in waitid(), and in "
               "epoll_wait()\n"
               "         on its pidfd (exit detection's floor; bench-stamp beside bench-floor)\n");
}

int main(int argc, char **argv) {
        int rounds = 200, i = 1;
        bool stop = false, exec = false, exits = false;

        for (; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return help(), 0;
                if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
                        rounds = atoi(argv[++i]);
                else if (strcmp(argv[i], "stop") == 0)
                        stop = true;
                else if (strcmp(argv[i], "exec") == 0)
                        exec = true;
                else if (strcmp(argv[i], "exit") == 0)
                        exits = true;
                else
                        return fprintf(stderr, "bench-floor: unknown argument '%s' (see --help)\n", argv[i]),
                               2;
        }
        if (!stop && !exec && !exits)
                stop = exec = exits = true;
        uint64_t *v = calloc((size_t) rounds, sizeof(uint64_t));
        char *sleep_argv[] = { (char *) "/bin/sleep", (char *) "1000", NULL };
        if (!v)
                return 1;
        printf("| floor | rounds | median µs | p99 µs |\n|---|---|---|---|\n");
        if (stop && floor_stop(sleep_argv, rounds, v) == 0)
                report("kill + waitid of /bin/sleep (pidfd)", v, rounds);
        if (exec && floor_exec(rounds, v) == 0)
                report("posix_spawn + waitpid of /bin/true", v, rounds);
        if (exits) {
                char self[4096], stamp_bin[4200], dir[] = "/tmp/bench-floor.XXXXXX", file[64];
                ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
                char *slash = k > 0 ? (self[k] = '\0', strrchr(self, '/')) : NULL;
                if (!slash || !mkdtemp(dir))
                        return free(v), 1;
                *slash = '\0';
                snprintf(stamp_bin, sizeof(stamp_bin), "%s/bench-stamp", self);
                snprintf(file, sizeof(file), "%s/stamp", dir);
                if (floor_exit(stamp_bin, file, false, rounds, v) == 0)
                        report("exit: last instruction to waitid() returning", v, rounds);
                if (floor_exit(stamp_bin, file, true, rounds, v) == 0)
                        report("exit: last instruction to epoll_wait() on the pidfd returning", v, rounds);
                (void) unlink(file);
                (void) rmdir(dir);
        }
        free(v);
        return 0;
}
