/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-backend-helper.c: a backend that misbehaves on demand, for the integration tests.
 *
 * Usage: test-backend-helper MODE FIFO [ARG]
 * It writes "R\n" to FIFO once its signal handling is in place, so a test never races it.
 * A grandchild, where there is one, writes "G<pid>\n" first.
 *
 *   pause         default dispositions: SIGTERM kills it
 *   term-exit     exits 0 on SIGTERM (a well-behaved server)
 *   term-ignore   ignores SIGTERM
 *   exit N        exits N right after saying ready, with 7 lines on stderr ("err 1" .. "err 7")
 *   flood BYTES   writes BYTES of output (lines of 99 x's) to stdout as fast as it can, says R, then waits
 *   print         writes "out 1" .. "out 3" to stdout and "err 1" to stderr, says R, waits
 *   interleave    writes, each part once the one before it is read from its pipe: "first " on
 *                 stdout, "err 1\n" on stderr, "half\n" on stdout, "err 2\n", "out 3\n"; says R, waits
 *   dribble N     writes "line 0\n" .. "line N-1\n" to stdout, each once the one before is read;
 *                 says R, waits
 *   forkbomb      forks (children wait) until fork fails, says "F<children>:<errno>", waits
 *   ticker        writes "tick" on stdout at each SIGUSR1 (and "T" on the fifo), else waits;
 *                 a closed stdout kills it (SIGPIPE, default)
 *   spin          says R and burns CPU until it is killed
 *   alloc-child   a child allocates without end (the OOM killer's choice), the main process
 *                 says R and waits
 *   alloc         says R and allocates and touches memory, 1 MiB at a time, without end
 *   segv DIR      dumps core (RLIMIT_CORE raised, cwd DIR) by SIGSEGV
 *   abort-on-term dumps core when asked to stop (a crash while stopping), cwd DIR
 *   grandchild    double-forks a grandchild in a new session that ignores SIGTERM; the main
 *                 process dies on SIGTERM
 *   daemonize     like grandchild, but the main process exits 0 on its own once it is ready
 *   orphan        leaves an orphan in a new session that says "G<pid>" and exits at once, then
 *                 runs on with default dispositions
 *   exit-after MS:CODE  exits CODE after MS milliseconds
 *   exit-on-usr1 CODE  exits CODE at SIGUSR1 (blocked before it says R: none is lost)
 *   segv-after MS dies of SIGSEGV after MS milliseconds (no core: RLIMIT_CORE as inherited)
 *   forker        starts 5 children with default dispositions that wait forever, then waits
 *   pinger        READY=1 on $NOTIFY_SOCKET, says R, then WATCHDOG=1 every 100 ms for ever
 *   ids           says "I<uid>:<gid>:<groups>:<umask>:<nofile soft>:<no_new_privs>" and exits 0
 *   notify-ready  sends STATUS=loading model, then READY=1 on $NOTIFY_SOCKET, then waits
 *   notify-watchdog [MS]  READY=1; with MS, WATCHDOG_USEC= to make MS its period, else the period
 *                 is $WATCHDOG_USEC; then WATCHDOG=1 every quarter period until it has pinged for
 *                 two periods, says R, and goes silent; exits 98 if $WATCHDOG_USEC is missing
 *   listen-after MS:PORT  listens on 127.0.0.1:PORT after MS milliseconds, then waits
 *   notify-stopping  READY=1, says R, then STOPPING=1 and exits 0 after 50 ms
 *   notify-never  says "N<$NOTIFY_SOCKET>" and waits, never ready; at each SIGUSR1 it sends
 *                 STATUS=still starting
 *   listen-grandchild PORT  a grandchild in a new session listens on 127.0.0.1:PORT (its parent
 *                 exits), then the main process says R and waits
 *   http STATUS:PORT  listens on 127.0.0.1:PORT, says R, and answers every HTTP request with
 *                 STATUS; says "H" on the fifo for each request answered
 *   fds           exits with the number of open fds above 2 (0 expected), and 100 + errno if
 *                 stdin is not /dev/null
 *   child-waits   a child (same session) that says "X" and exits at SIGTERM, else says "C" and
 *                 exits 0 when the main process closes a pipe to it; the main process, at
 *                 SIGTERM, closes it, waits for the child and exits 0 (a server that stops its
 *                 workers itself, as PostgreSQL and gunicorn do)
 *   usr1-pending  SIGUSR1 blocked (default disposition) before it says R; at SIGUSR2 it
 *                 unblocks SIGUSR1 and dies of one sent meanwhile (else exits 0)
 *   child-stays [ignore]  a child (same session) that says "G<pid>", says "X" and exits at
 *                 SIGTERM, else waits; the main process exits 0 at SIGTERM (ignores it with
 *                 "ignore"), leaving the child behind
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

static int fifo_fd = -1;

/* Write s to fd, then wait until the reader has taken all of it from the pipe. */
static void write_read(int fd, const char *s) {
        int n = 1;

        if (write(fd, s, strlen(s)) != (ssize_t) strlen(s))
                exit(93);
        while (ioctl(fd, FIONREAD, &n) == 0 && n > 0)
                usleep(200);
}

static void say(const char *s) {
        if (fifo_fd >= 0 && write(fifo_fd, s, strlen(s)) < 0)
                _exit(90);
}

/* sd_notify(3), the little of it a backend needs. */
static int notify(const char *msg) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len;
        int fd, r;

        if (!e || strlen(e) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, e);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(e));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        r = fd < 0 ? -1 : (int) sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &sa, len);
        if (fd >= 0)
                close(fd);
        return r < 0 ? -1 : 0;
}

static void on_term(int sig) {
        (void) sig;
        _exit(0);
}

/* "tick" on stdout at each SIGUSR1, and "T" on the fifo once it is written. */
static void on_usr1(int sig) {
        static const char line[] = "tick\n";
        (void) sig;
        if (write(STDOUT_FILENO, line, sizeof(line) - 1) == sizeof(line) - 1)
                say("T\n");
}

static volatile sig_atomic_t got_usr1;

static void on_usr1_flag(int sig) {
        (void) sig;
        got_usr1 = 1;
}

static long long now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* notify-never: never ready; each SIGUSR1 (blocked until sigsuspend(), so none is lost between
 * the check and the wait) sends a STATUS= from inside the cgroup, which a test uses to know
 * that corrald has read whatever was sent to the socket before it. */
static void status_on_usr1(sigset_t *unblocked) {
        for (;;) {
                sigsuspend(unblocked);
                if (got_usr1 && notify("STATUS=still starting") < 0)
                        _exit(97);
                got_usr1 = 0;
        }
}

/* WATCHDOG=1 every quarter period until it has pinged for two periods: alive at the end only if
 * each ping put the deadline off. */
static int ping_watchdog(const char *ms) {
        const char *e = getenv("WATCHDOG_USEC");
        long long period = e ? atoll(e) : 0, end;
        char msg[64];

        if (!e || notify("READY=1") < 0)
                return 98;
        if (ms) {
                period = atoll(ms) * 1000;
                snprintf(msg, sizeof(msg), "WATCHDOG_USEC=%lld", period);
                if (notify(msg) < 0)
                        return 97;
        }
        for (end = now_usec() + 2 * period; now_usec() < end; usleep((useconds_t) (period / 4)))
                if (notify("WATCHDOG=1") < 0)
                        return 97;
        return 0;
}

static void on_term_abort(int sig) {
        (void) sig;
        abort();
}

/* A TCP socket listening on 127.0.0.1:port, or exit 96. */
static int listen_on(unsigned port) {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                   .sin_port = htons((uint16_t) port) };
        int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        (void) setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (l < 0 || bind(l, (struct sockaddr *) &sin, sizeof(sin)) < 0 || listen(l, 16) < 0)
                _exit(96);
        return l;
}

/* A tiny HTTP server: each request (read up to its blank line) gets status and "ok". */
static void serve_http(int l, int status) {
        char req[4096], resp[160];

        for (;;) {
                size_t len = 0;
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                while (len < sizeof(req) - 1) {
                        ssize_t k = read(c, req + len, sizeof(req) - 1 - len);
                        if (k <= 0)
                                break;
                        len += (size_t) k;
                        req[len] = '\0';
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
                if (write(c, resp, strlen(resp)) < 0)
                        _exit(93);
                close(c);
                say("H");
        }
}

static void forever(void) {
        for (;;)
                pause();
}

/* Fork a grandchild in a new session (its parent exits at once, so it is an orphan) that says
 * "G<pid>" and then either lives on ignoring SIGTERM or exits at once. */
static void fork_orphan(bool live_on) {
        char buf[32];
        int ready[2];
        pid_t mid;

        /* The grandchild says when its SIGTERM disposition is in place, so that the main process
         * only then says "R": a test never signals a half-made grandchild. */
        if (pipe(ready) < 0)
                _exit(90);
        mid = fork();
        if (mid < 0)
                _exit(91);
        if (mid == 0) {
                (void) setsid();
                pid_t g = fork();
                if (g < 0)
                        _exit(92);
                if (g > 0)
                        _exit(0);
                if (live_on)
                        signal(SIGTERM, SIG_IGN);
                snprintf(buf, sizeof(buf), "G%d\n", (int) getpid());
                say(buf);
                if (write(ready[1], "g", 1) != 1)
                        _exit(94);
                close(ready[0]);
                close(ready[1]);
                if (live_on)
                        forever();
                _exit(0);
        }
        close(ready[1]);
        if (read(ready[0], buf, 1) != 1)
                _exit(95);
        close(ready[0]);
        if (waitpid(mid, NULL, 0) != mid) /* our own child, by its pid: the helper is not corral */
                _exit(93);
}

static volatile sig_atomic_t got_term;

static void on_term_flag(int sig) {
        (void) sig;
        got_term = 1;
}

static void on_term_say(int sig) {
        (void) sig;
        say("X\n");
        _exit(0);
}

/* child-waits and child-stays: a child in our session that tells whether it got SIGTERM; the
 * main process goes on only once the child's handler is in place. Returns the write end of the
 * pipe whose closing ends a child that waits. */
static int fork_worker(bool waits) {
        int ready[2], done[2];
        char buf[32];
        pid_t c;

        if (pipe(ready) < 0 || pipe(done) < 0)
                _exit(90);
        c = fork();
        if (c < 0)
                _exit(91);
        if (c == 0) {
                sigset_t term;
                sigemptyset(&term);
                sigaddset(&term, SIGTERM);
                sigprocmask(SIG_UNBLOCK, &term, NULL); /* child-waits' main process blocks it */
                signal(SIGTERM, on_term_say);
                close(done[1]);
                if (!waits) {
                        snprintf(buf, sizeof(buf), "G%d\n", (int) getpid());
                        say(buf);
                }
                if (write(ready[1], "w", 1) != 1)
                        _exit(94);
                if (!waits)
                        forever();
                while (read(done[0], buf, 1) < 0 && errno == EINTR)
                        ;
                say("C\n");
                _exit(0);
        }
        close(done[0]);
        close(ready[1]);
        if (read(ready[0], buf, 1) != 1)
                _exit(95);
        close(ready[0]);
        return done[1];
}

/* child-waits: at SIGTERM (blocked until sigsuspend(): none is lost), the worker is told to
 * finish, and waited for by its pid (our own child: the helper is not corral). */
static int stop_worker_on_term(int done_fd, sigset_t *unblocked) {
        while (!got_term)
                sigsuspend(unblocked);
        close(done_fd);
        return wait(NULL) > 0 ? 0 : 89;
}

static void dump_core_in(const char *dir) {
        struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

        if (!dir || chdir(dir) < 0)
                _exit(94);
        (void) setrlimit(RLIMIT_CORE, &rl);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return 99;
        while ((de = readdir(d)))
                n += atoi(de->d_name) > 2;
        closedir(d);
        return n - 1; /* the DIR's own fd */
}

static int check_stdio(void) {
        struct stat a, b;

        if (fstat(STDIN_FILENO, &a) < 0 || stat("/dev/null", &b) < 0)
                return 100 + errno;
        return a.st_rdev == b.st_rdev ? 0 : 100;
}

int main(int argc, char **argv) {
        const char *mode = argc > 1 ? argv[1] : "";

        if (strcmp(mode, "fds") == 0) {
                int r = check_stdio();
                return r ? r : count_fds();
        }
        if (argc < 3)
                return 95;
        fifo_fd = open(argv[2], O_WRONLY | O_CLOEXEC);
        if (fifo_fd < 0)
                return 96;
        if (strcmp(mode, "term-exit") == 0)
                signal(SIGTERM, on_term);
        else if (strcmp(mode, "term-ignore") == 0)
                signal(SIGTERM, SIG_IGN);
        else if (strcmp(mode, "grandchild") == 0 || strcmp(mode, "daemonize") == 0)
                fork_orphan(true);
        else if (strcmp(mode, "orphan") == 0)
                fork_orphan(false);
        else if (strcmp(mode, "segv") == 0 || strcmp(mode, "abort-on-term") == 0)
                dump_core_in(argc > 3 ? argv[3] : NULL);
        if (strcmp(mode, "abort-on-term") == 0)
                signal(SIGTERM, on_term_abort);
        if (strcmp(mode, "ticker") == 0)
                signal(SIGUSR1, on_usr1);
        if (strcmp(mode, "ids") == 0) {
                char buf[128], line[256];
                FILE *st = fopen("/proc/self/status", "re");
                int nnp = -1;
                struct rlimit rl;
                mode_t m = umask(0);
                while (st && fgets(line, sizeof(line), st))
                        if (strncmp(line, "NoNewPrivs:", 11) == 0)
                                nnp = atoi(line + 11);
                if (st)
                        fclose(st);
                getrlimit(RLIMIT_NOFILE, &rl);
                snprintf(buf, sizeof(buf), "I%u:%u:%d:%03o:%llu:%d\n", (unsigned) getuid(),
                         (unsigned) getgid(), getgroups(0, NULL), (unsigned) m,
                         (unsigned long long) rl.rlim_cur, nnp);
                say(buf);
                say("R\n");
                return 0;
        }
        if ((strcmp(mode, "notify-ready") == 0 || strcmp(mode, "notify-stopping") == 0) &&
            (notify("STATUS=loading model") < 0 || notify("READY=1") < 0))
                return 97;
        if (strcmp(mode, "notify-watchdog") == 0) {
                int r = ping_watchdog(argc > 3 ? argv[3] : NULL);
                if (r != 0)
                        return r;
        }
        if (strcmp(mode, "listen-after") == 0) {
                const char *arg = argc > 3 ? argv[3] : "0:0";
                struct sockaddr_in sin = { .sin_family = AF_INET,
                                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int one = 1, l;
                usleep((useconds_t) atoi(arg) * 1000);
                sin.sin_port = htons((uint16_t) atoi(strchr(arg, ':') ? strchr(arg, ':') + 1 : "0"));
                l = socket(AF_INET, SOCK_STREAM, 0);
                (void) setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (l < 0 || bind(l, (struct sockaddr *) &sin, sizeof(sin)) < 0 || listen(l, 16) < 0)
                        return 96;
        }
        if (strcmp(mode, "listen-grandchild") == 0) {
                pid_t mid = fork();
                if (mid == 0) {
                        (void) setsid();
                        if (fork() == 0) {
                                (void) listen_on((unsigned) atoi(argc > 3 ? argv[3] : "0"));
                                close(fifo_fd);
                                forever();
                        }
                        _exit(0);
                }
                if (mid < 0 || waitpid(mid, NULL, 0) != mid)
                        return 93;
        }
        if (strcmp(mode, "http") == 0) {
                const char *arg = argc > 3 ? argv[3] : "200:0";
                int l = listen_on((unsigned) atoi(strchr(arg, ':') ? strchr(arg, ':') + 1 : "0"));
                say("R\n");
                serve_http(l, atoi(arg));
        }
        if (strcmp(mode, "pinger") == 0) {
                if (notify("READY=1") < 0)
                        return 97;
                say("R\n");
                for (;;) {
                        usleep(100000);
                        (void) notify("WATCHDOG=1");
                }
        }
        if (strcmp(mode, "child-stays") == 0) {
                signal(SIGTERM, argc > 3 && strcmp(argv[3], "ignore") == 0 ? SIG_IGN : on_term);
                (void) fork_worker(false);
        }
        if (strcmp(mode, "child-waits") == 0) {
                sigset_t term, unblocked_term;
                int done_fd;
                sigemptyset(&term);
                sigaddset(&term, SIGTERM);
                signal(SIGTERM, on_term_flag);
                sigprocmask(SIG_BLOCK, &term, &unblocked_term);
                done_fd = fork_worker(true);
                say("R\n");
                return stop_worker_on_term(done_fd, &unblocked_term);
        }
        if (strcmp(mode, "usr1-pending") == 0) {
                sigset_t both;
                int sig;
                sigemptyset(&both);
                sigaddset(&both, SIGUSR1);
                sigaddset(&both, SIGUSR2);
                sigprocmask(SIG_BLOCK, &both, NULL);
                say("R\n");
                sigdelset(&both, SIGUSR1);
                if (sigwait(&both, &sig) != 0)
                        return 93;
                sigemptyset(&both);
                sigaddset(&both, SIGUSR1);
                sigprocmask(SIG_UNBLOCK, &both, NULL);
                return 0;
        }
        sigset_t usr1, unblocked;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        if (strcmp(mode, "exit-on-usr1") == 0)
                sigprocmask(SIG_BLOCK, &usr1, NULL);
        if (strcmp(mode, "notify-never") == 0) {
                char buf[200];
                signal(SIGUSR1, on_usr1_flag);
                sigprocmask(SIG_BLOCK, &usr1, &unblocked);
                snprintf(buf, sizeof(buf), "N%s\n", getenv("NOTIFY_SOCKET") ?: "");
                say(buf);
        }
        if (strcmp(mode, "flood") == 0) {
                static char chunk[65500]; /* whole lines of 100 bytes */
                long long left = argc > 3 ? atoll(argv[3]) : 0;
                memset(chunk, 'x', sizeof(chunk));
                for (size_t i = 99; i < sizeof(chunk); i += 100)
                        chunk[i] = '\n';
                while (left > 0) {
                        ssize_t k = write(STDOUT_FILENO, chunk,
                                          left < (long long) sizeof(chunk) ? (size_t) left : sizeof(chunk));
                        if (k <= 0)
                                return 94;
                        left -= k;
                }
        }
        if (strcmp(mode, "interleave") == 0) {
                write_read(STDOUT_FILENO, "first ");
                write_read(STDERR_FILENO, "err 1\n");
                write_read(STDOUT_FILENO, "half\n");
                write_read(STDERR_FILENO, "err 2\n");
                write_read(STDOUT_FILENO, "out 3\n");
        }
        if (strcmp(mode, "dribble") == 0) {
                long n = argc > 3 ? atol(argv[3]) : 0;
                char line[32];
                for (long i = 0; i < n; i++) {
                        snprintf(line, sizeof(line), "line %ld\n", i);
                        write_read(STDOUT_FILENO, line);
                }
        }
        if (strcmp(mode, "print") == 0) {
                printf("out 1\nout 2\nout 3\n");
                fflush(stdout);
                fprintf(stderr, "err 1\n");
        }
        if (strcmp(mode, "forkbomb") == 0) {
                char buf[64];
                int n = 0;
                pid_t p;
                while ((p = fork()) > 0)
                        n++;
                if (p == 0) {
                        close(fifo_fd);
                        forever();
                }
                snprintf(buf, sizeof(buf), "F%d:%d\n", n, errno);
                say(buf);
        }
        if (strcmp(mode, "forker") == 0)
                for (int i = 0; i < 5; i++)
                        if (fork() == 0) {
                                close(fifo_fd);
                                forever();
                        }
        say("R\n");
        if (strcmp(mode, "exit-on-usr1") == 0) {
                int sig;
                if (sigwait(&usr1, &sig) != 0)
                        return 93;
                return argc > 3 ? atoi(argv[3]) : 0;
        }
        if (strcmp(mode, "exit-after") == 0 || strcmp(mode, "segv-after") == 0) {
                const char *arg = argc > 3 ? argv[3] : "0";
                usleep((useconds_t) atoi(arg) * 1000);
                if (strcmp(mode, "segv-after") == 0)
                        raise(SIGSEGV);
                return strchr(arg, ':') ? atoi(strchr(arg, ':') + 1) : 0;
        }
        if (strcmp(mode, "notify-stopping") == 0) {
                if (notify("STOPPING=1") < 0)
                        return 97;
                usleep(50000);
                return 0;
        }
        if (strcmp(mode, "exit") == 0) {
                for (int i = 1; i <= 7; i++)
                        fprintf(stderr, "err %d\n", i);
                return argc > 3 ? atoi(argv[3]) : 0;
        }
        if (strcmp(mode, "alloc-child") == 0 && fork() == 0)
                for (;;) {
                        char *m = malloc(1 << 20);
                        if (m)
                                memset(m, 1, 1 << 20);
                }
        if (strcmp(mode, "alloc") == 0)
                for (;;) {
                        char *m = malloc(1 << 20);
                        if (m)
                                memset(m, 1, 1 << 20);
                }
        if (strcmp(mode, "spin") == 0)
                for (volatile unsigned long i = 0;; i++)
                        ;
        if (strcmp(mode, "daemonize") == 0)
                return 0;
        if (strcmp(mode, "segv") == 0)
                raise(SIGSEGV);
        if (strcmp(mode, "notify-never") == 0)
                status_on_usr1(&unblocked);
        forever();
}
