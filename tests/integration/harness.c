/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* harness.c: integration test fixture: a cgroup root of the test's own, events recorded, leaks checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

uint64_t harness_now_usec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t harness_hang_guard_usec(void) {
        const char *e = getenv("CORRAL_TEST_HANG_GUARD_SEC");
        long sec = e ? atol(e) : 0;

        return (uint64_t) (sec > 0 ? sec : 60) * 1000000;
}

void harness_backoff(unsigned *step) {
        usleep(*step < 6 ? 1000U << *step : 50000U);
        (*step)++;
}

/* What is left of the hang guard that ends at deadline, in ms for poll(), at least 1. */
static int ms_left(uint64_t deadline) {
        uint64_t now = harness_now_usec();

        return now >= deadline ? 0 : (int) ((deadline - now) / 1000 + 1);
}

int harness_poll_until(int fd, uint64_t deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ms = ms_left(deadline);

        return ms > 0 ? poll(&p, 1, ms) : 0;
}

static int cgroup2_mount(char *buf, size_t size) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char mnt[1024];
                unsigned maj, min;
                struct stat st;

                /* A mount hidden under a later one (systemd-ns mounts its own cgroup2 over the
                 * host's /sys/fs/cgroup, whose unified/ stays listed) is not where cgroups go. */
                if (strstr(line, " - cgroup2 ") &&
                    sscanf(line, "%*s %*s %u:%u %*s %1023s", &maj, &min, mnt) == 3 && stat(mnt, &st) == 0 &&
                    st.st_dev == makedev(maj, min)) {
                        snprintf(buf, size, "%s", mnt);
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

void harness_require_root_cgroup2(void) {
        char mnt[1024];

        if (geteuid() != 0) {
                fprintf(stderr, "skipped: needs root to create cgroups\n");
                exit(77);
        }
        if (cgroup2_mount(mnt, sizeof(mnt)) < 0) {
                fprintf(stderr, "skipped: no cgroup2 file system is mounted\n");
                exit(77);
        }
        if (!getenv("CORRAL_TEST_HELPER")) {
                fprintf(stderr, "skipped: CORRAL_TEST_HELPER is not set (run through meson test)\n");
                exit(77);
        }
}

const char *harness_helper(void) {
        return getenv("CORRAL_TEST_HELPER");
}

int harness_make_root(char *buf, size_t size) {
        static unsigned counter;
        char mnt[1024];
        int r = cgroup2_mount(mnt, sizeof(mnt));

        if (r < 0)
                return r;
        snprintf(buf, size, "%s/corral-test.%d.%u", mnt, (int) getpid(), counter++);
        return mkdir(buf, 0755) < 0 ? -errno : 0;
}

void harness_assert_no_leftovers(const char *root) {
        DIR *d = opendir(root);
        struct dirent *de;
        char path[1024], procs[64] = "";
        int fd;

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        fail_msg("leaf cgroup left behind: %s/%s", root, de->d_name);
        }
        closedir(d);
        snprintf(path, sizeof(path), "%s/cgroup.procs", root);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, procs, sizeof(procs) - 1), 0);
        close(fd);
}

void harness_remove_root(const char *root) {
        if (rmdir(root) < 0 && errno != ENOENT)
                fail_msg("cannot remove test cgroup root %s: %s", root, strerror(errno));
}

int harness_count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d)))
                n += de->d_name[0] != '.';
        if (d)
                closedir(d);
        return n - 1;
}

static void assert_no_zombie(void) {
        siginfo_t si = { 0 };

        /* Peek only: a zombie child left behind is a leak; ECHILD means no children at all. */
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
                fail_msg("zombie child left behind: pid %d", (int) si.si_pid);
}

static void record(corral *c, const corral_event *ev, void *userdata) {
        harness *h = userdata;
        recorded_event *r;

        (void) c;
        if (h->n_events >= HARNESS_MAX_EVENTS)
                fail_msg("too many events");
        r = &h->events[h->n_events++];
        r->ev = *ev;
        snprintf(r->backend, sizeof(r->backend), "%s", ev->backend ?: "");
        snprintf(r->launch, sizeof(r->launch), "%s", ev->launch ?: "");
        snprintf(r->cgroup, sizeof(r->cgroup), "%s", ev->cgroup ?: "");
        snprintf(r->message, sizeof(r->message), "%s", ev->message ?: "");
        snprintf(r->stderr_tail, sizeof(r->stderr_tail), "%s", ev->stderr_tail ?: "");
        r->ev.backend = r->backend;
        r->ev.launch = r->launch;
        r->ev.cgroup = r->cgroup;
        r->ev.message = r->message;
        r->ev.stderr_tail = ev->stderr_tail ? r->stderr_tail : NULL;
}

int harness_setup(void **state) {
        harness *h = calloc(1, sizeof(*h));

        assert_non_null(h);
        h->fifo_fd = -1;
        h->fds_before = harness_count_fds();
        assert_int_equal(harness_make_root(h->root, sizeof(h->root)), 0);
        snprintf(h->tmpdir, sizeof(h->tmpdir), "/tmp/corral-test.XXXXXX");
        assert_non_null(mkdtemp(h->tmpdir));
        snprintf(h->fifo, sizeof(h->fifo), "%s/ready", h->tmpdir);
        assert_int_equal(mkfifo(h->fifo, 0600), 0);
        /* Read-write: we are a writer too, so the fifo never polls as hung up between helpers. */
        h->fifo_fd = open(h->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        assert_true(h->fifo_fd >= 0);
        assert_int_equal(corral_new(&h->c, h->root, CORRAL_NEW_SUBREAPER), 0);
        corral_set_event_handler(h->c, record, h);
        *state = h;
        return 0;
}

/* The test's own directory and what its tests made in it (the fifo, core files, definition and
 * state directories), depth first; symbolic links are removed, never followed. */
static void remove_tmpdir(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[1024];

        while (d && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (de->d_type == DT_DIR)
                        remove_tmpdir(path);
                else
                        (void) unlink(path);
        }
        if (d)
                closedir(d);
        (void) rmdir(dir);
}

/* Kill and remove whatever leaf is left under root, so that a failed test leaves nothing behind
 * either. Returns how many there were. Only leaves of the test's own root are touched. */
static int sweep_root(const char *root) {
        DIR *d = opendir(root);
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d))) {
                char path[1024], events[1100];
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
                snprintf(events, sizeof(events), "%s/cgroup.kill", path);
                int fd = open(events, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) !write(fd, "1", 1);
                        close(fd);
                }
                /* a killed process takes a moment to leave: as long as it takes, up to the hang guard */
                (void) harness_wait_until(rmdir(path) == 0 || errno != EBUSY);
                n++;
        }
        if (d)
                closedir(d);
        return n;
}

/* The v1 groups corral made to mirror the root (resource limits on hybrid hosts): removed with
 * their leaves. Returns how many were left, after removing them. */
static int sweep_v1_mirrors(const char *root) {
        static const char *const ctls[] = { "pids", "cpu", "memory" };
        const char *base = strrchr(root, '/');
        int n = 0;

        for (size_t i = 0; base && i < sizeof(ctls) / sizeof(ctls[0]); i++) {
                char path[1024];
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s", ctls[i], base);
                if (access(path, F_OK) < 0)
                        continue;
                n++;
                (void) sweep_root(path);
                (void) rmdir(path);
        }
        return n;
}

int harness_teardown(void **state) {
        harness *h = *state;
        char root[sizeof(h->root)], tmpdir[sizeof(h->tmpdir)];
        int left, fds_before = h->fds_before;

        h->c = corral_free(h->c);
        close(h->fifo_fd);
        remove_tmpdir(h->tmpdir);
        snprintf(root, sizeof(root), "%s", h->root);
        snprintf(tmpdir, sizeof(tmpdir), "%s", h->tmpdir);
        free(h);
        /* Clean up first, then judge: a failed check must not leave a cgroup on the machine. */
        left = sweep_root(root);
        harness_remove_root(root);
        if (left > 0)
                fail_msg("%d leaf cgroup(s) left behind under %s", left, root);
        left = sweep_v1_mirrors(root);
        if (left > 0)
                fail_msg("%d cgroup v1 group(s) left behind for %s", left, root);
        if (access(tmpdir, F_OK) == 0)
                fail_msg("%s is left behind (something in it could not be removed)", tmpdir);
        assert_no_zombie();
        assert_int_equal(harness_count_fds(), fds_before);
        return 0;
}

corral_backend *harness_spawn(harness *h, const char *name, corral_type type, uint64_t grace_usec,
                              const char *mode, const char *extra) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, type), 0);
        assert_int_equal(corral_spec_set_grace(s, grace_usec), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        assert_non_null(b);
        return b;
}

static int pidfd_open_pid(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

int harness_wait_ready(harness *h, bool want_grandchild) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        size_t len = 0;
        char *g;

        memset(h->ready_buf, 0, sizeof(h->ready_buf));
        while (!strchr(h->ready_buf, 'R') || (want_grandchild && !strchr(h->ready_buf, 'G'))) {
                ssize_t n;
                if (harness_poll_until(h->fifo_fd, deadline) <= 0)
                        fail_msg("the helper never said ready (hang guard)");
                n = read(h->fifo_fd, h->ready_buf + len, sizeof(h->ready_buf) - 1 - len);
                if (n < 0 && errno != EAGAIN)
                        fail_msg("reading the fifo: %s", strerror(errno));
                len += n > 0 ? (size_t) n : 0;
        }
        if (!want_grandchild)
                return -1;
        g = strchr(h->ready_buf, 'G');
        int fd = pidfd_open_pid((pid_t) atoi(g + 1));
        assert_true(fd >= 0);
        return fd;
}

void harness_wait_said(harness *h, char c, int n) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        char buf[256];

        while (n > 0) {
                ssize_t k;
                if (harness_poll_until(h->fifo_fd, deadline) <= 0)
                        fail_msg("helpers never said '%c' (hang guard): %d missing", c, n);
                k = read(h->fifo_fd, buf, sizeof(buf));
                for (ssize_t i = 0; i < k; i++)
                        n -= buf[i] == c;
        }
}

bool harness_fifo_has(harness *h, char c) {
        size_t len = 0;
        ssize_t n;

        memset(h->ready_buf, 0, sizeof(h->ready_buf));
        while (len < sizeof(h->ready_buf) - 1 &&
               (n = read(h->fifo_fd, h->ready_buf + len, sizeof(h->ready_buf) - 1 - len)) > 0)
                len += (size_t) n;
        return strchr(h->ready_buf, c) != NULL;
}

void harness_run_once(harness *h, uint64_t deadline) {
        uint64_t now = harness_now_usec(), left = deadline > now ? deadline - now : 0;

        assert_true(sd_event_run(corral_get_event(h->c), left < 1000000 ? left : 1000000) >= 0);
}

static const recorded_event *find_event(harness *h, corral_backend *b, corral_event_type type) {
        for (unsigned i = 0; i < h->n_events; i++) {
                const recorded_event *r = &h->events[i];
                if (r->ev.type == type && strcmp(r->launch, corral_backend_get_launch(b)) == 0)
                        return r;
        }
        return NULL;
}

const recorded_event *harness_wait_event(harness *h, corral_backend *b, corral_event_type type) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        const recorded_event *r;

        while (!(r = find_event(h, b, type)) && harness_now_usec() < deadline)
                harness_run_once(h, deadline);
        if (!r)
                fail_msg("no %s event for %s (hang guard)", corral_event_type_to_string(type),
                         corral_backend_get_name(b));
        return r;
}

unsigned harness_count(harness *h, corral_event_type type) {
        unsigned n = 0;

        for (unsigned i = 0; i < h->n_events; i++)
                n += h->events[i].ev.type == type;
        return n;
}

bool harness_pidfd_exited(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        return poll(&p, 1, 0) == 1;
}

void harness_pidfd_wait(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        if (poll(&p, 1, ms_left(harness_now_usec() + harness_hang_guard_usec())) != 1)
                fail_msg("process did not exit (hang guard)");
}

static const recorded_event *nth_event(harness *h, const char *name, corral_event_type type, unsigned n) {
        for (unsigned i = 0, k = 0; i < h->n_events; i++)
                if (h->events[i].ev.type == type && strcmp(h->events[i].backend, name) == 0 && ++k == n)
                        return &h->events[i];
        return NULL;
}

const recorded_event *harness_wait_events(harness *h, const char *name, corral_event_type type, unsigned n) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        const recorded_event *r;

        while (!(r = nth_event(h, name, type, n)) && harness_now_usec() < deadline)
                harness_run_once(h, deadline);
        if (!r)
                fail_msg("fewer than %u %s events for %s (hang guard)", n, corral_event_type_to_string(type),
                         name);
        return r;
}

unsigned harness_free_port(void) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        close(fd);
        return ntohs(sin.sin_port);
}
