/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.c: whether a backend answers for itself: a listener of its own, an HTTP answer from it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "probe.h"
#include "sockdiag.h"
#include "syscall.h"

#define PROBE_INODES_MAX 64

int probe_socket(int netns_pidfd, int domain, int type, int protocol) {
        _cleanup_close_ int self = -EBADF;
        int fd, k;

        if (netns_pidfd < 0) {
                fd = socket(domain, type, protocol);
                return fd < 0 ? -errno : fd;
        }
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (setns(netns_pidfd, CLONE_NEWNET) < 0) /* 5.8: a pidfd names its namespaces */
                return -errno;
        fd = socket(domain, type, protocol);
        k = fd < 0 ? -errno : fd;
        /* Back to ours, from where we were a moment ago: as root (who alone could leave) this does
         * not fail; if it did, no socket made here after could be trusted to be ours. */
        if (setns(self, CLONE_NEWNET) < 0) {
                safe_close(fd);
                return -errno;
        }
        return k;
}

typedef struct listener_scan {
        const struct sockaddr *to;
        uint64_t cgroup_id;
        bool own, other;
        uint32_t inodes[PROBE_INODES_MAX]; /* listeners made elsewhere: one of ours may hold them */
        size_t n_inodes;
} listener_scan;

static int listener_scan_one(const sockdiag_listener *l, void *userdata) {
        listener_scan *s = userdata;

        if (!sockdiag_accepts(l, s->to))
                return 0;
        if (l->have_cgroup_id && l->cgroup_id == s->cgroup_id)
                s->own = true;
        else if (s->n_inodes < PROBE_INODES_MAX)
                s->inodes[s->n_inodes++] = l->inode;
        else
                s->other = true;
        return 0;
}

static bool inode_listed(const listener_scan *s, uint32_t inode) {
        for (size_t i = 0; i < s->n_inodes; i++)
                if (s->inodes[i] == inode)
                        return true;
        return false;
}

/* Whether process pid has one of the sockets open. */
static bool pid_holds(pid_t pid, const listener_scan *s) {
        char path[64], link[64];
        _cleanup_close_ int dfd = -EBADF;
        struct dirent *de;
        unsigned inode;
        bool found = false;
        DIR *d;

        (void) snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || !(d = fdopendir(dfd)))
                return false;
        dfd = -EBADF; /* the DIR's now */
        while (!found && (de = readdir(d))) {
                ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
                if (n <= 0)
                        continue;
                link[n] = '\0';
                found = sscanf(link, "socket:[%u]", &inode) == 1 && inode_listed(s, inode);
        }
        closedir(d);
        return found;
}

/* A listener made outside, held by a process of the leaf; read from /proc, so the process is
 * checked to be in the leaf still after its fds were (its pid cannot have been reused then). */
static bool leaf_holds(int leaf_fd, const char *leaf_path, const listener_scan *s) {
        _cleanup_free_ pid_t *pids = NULL;

        if (s->n_inodes == 0 || cgroup_read_procs(leaf_fd, &pids) < 0)
                return false;
        for (pid_t *p = pids; *p; p++)
                if (pid_holds(*p, s) && (!leaf_path || cgroup_pid_in(*p, leaf_path)))
                        return true;
        return false;
}

/* A NETLINK_SOCK_DIAG socket in the namespace, or -1 for the /proc/net fallback. */
static int probe_diag_socket(int netns_pidfd, bool sock_diag) {
        return sock_diag
                ? probe_socket(netns_pidfd, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
                : -1;
}

/* /proc/PID/net, which shows PID's network namespace: from a procfs, following no symlink (nor
 * /proc/net's "self/net"). Whether PID is still the process meant is for the caller to check
 * after reading it. */
static int probe_net_dir(pid_t pid) {
        _cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct statfs sfs;
        char path[32];

        if (proc < 0)
                return -errno;
        if (fstatfs(proc, &sfs) < 0)
                return -errno;
        if (sfs.f_type != PROC_SUPER_MAGIC)
                return -ENOTDIR;
        (void) snprintf(path, sizeof(path), "%d/net", (int) pid);
        return syscall_openat2(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Whether the process of @pidfd has not exited yet: then its pid named it all along. */
static bool probe_pidfd_alive(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        return poll(&p, 1, 0) == 0;
}

static int probe_listeners(int netns_pidfd, int net_dir, int family, uint16_t port, bool sock_diag,
                           listener_scan *s) {
        _cleanup_close_ int fd = probe_diag_socket(netns_pidfd, sock_diag);

        if (fd < 0 && sock_diag)
                return fd;
        return sockdiag_listeners(fd, net_dir, family, port, listener_scan_one, s);
}

int probe_listener(const struct sockaddr *to, int leaf_fd, const char *leaf_path, int netns_pidfd,
                   pid_t netns_pid, bool sock_diag) {
        listener_scan s = { .to = to };
        _cleanup_close_ int net_dir = -EBADF;
        uint16_t port;
        int r;

        if (to->sa_family == AF_INET)
                port = ntohs(((const struct sockaddr_in *) to)->sin_port);
        else
                port = ntohs(((const struct sockaddr_in6 *) to)->sin6_port);
        r = cgroup_id(leaf_fd, &s.cgroup_id);
        if (r < 0)
                return r;
        if (netns_pidfd >= 0) { /* for a kernel without inet_diag: its namespace's /proc/net */
                net_dir = probe_net_dir(netns_pid);
                if (net_dir < 0)
                        return net_dir;
        }
        r = probe_listeners(netns_pidfd, net_dir, to->sa_family, port, sock_diag, &s);
        if (r >= 0 && to->sa_family == AF_INET && !s.own) /* a dual-stack IPv6 listener takes it too */
                r = probe_listeners(netns_pidfd, net_dir, AF_INET6, port, sock_diag, &s);
        if (r >= 0 && netns_pidfd >= 0 && !probe_pidfd_alive(netns_pidfd))
                r = -ESRCH; /* its pid may have named another process by the time it was read */
        if (r < 0)
                return r;
        if (s.own || leaf_holds(leaf_fd, leaf_path, &s))
                return PROBE_LISTENER_OWN;
        return s.n_inodes > 0 || s.other ? PROBE_LISTENER_FOREIGN : PROBE_LISTENER_NONE;
}

/* --- An HTTP GET on the loop. --- */

#define PROBE_HTTP_ANSWER_MAX 1024

struct probe_http {
        int fd;
        sd_event_source *io, *timer;
        char *request;
        size_t request_len, sent;
        char answer[PROBE_HTTP_ANSWER_MAX + 1];
        size_t got;
        uint64_t timeout_usec;
        probe_done_fn done;
        void *userdata;
};

probe_http *probe_http_free(probe_http *p) {
        if (!p)
                return NULL;
        p->io = sd_event_source_disable_unref(p->io);
        p->timer = sd_event_source_disable_unref(p->timer);
        safe_close(p->fd);
        free(p->request);
        free(p);
        return NULL;
}

/* The end: nothing of it runs any more, then the caller is told (and may free it). */
static void probe_http_end(probe_http *p, bool ok, const char *why) {
        p->io = sd_event_source_disable_unref(p->io);
        p->timer = sd_event_source_disable_unref(p->timer);
        p->fd = safe_close(p->fd);
        p->done(p->userdata, ok, why);
}

/* "HTTP/1.1 204 No Content": 1 for 2xx, 0 for another status, -EBADMSG for no status line. */
static int probe_http_status(const char *line, int *ret_status) {
        int status;

        if (strncmp(line, "HTTP/1.", 7) != 0 || !(line[7] >= '0' && line[7] <= '9') || line[8] != ' ' ||
            sscanf(line + 9, "%3d", &status) != 1 || status < 100 || status > 999)
                return -EBADMSG;
        *ret_status = status;
        return status >= 200 && status <= 299;
}

static void probe_http_read(probe_http *p) {
        char why[64];
        ssize_t n = read(p->fd, p->answer + p->got, PROBE_HTTP_ANSWER_MAX - p->got);
        int status, k;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                (void) snprintf(why, sizeof(why), "reading its answer: %s", strerror(errno));
                return probe_http_end(p, false, why);
        }
        p->got += (size_t) n;
        p->answer[p->got] = '\0';
        if (!strchr(p->answer, '\n') && n > 0 && p->got < PROBE_HTTP_ANSWER_MAX)
                return; /* the status line is not all here yet */
        k = probe_http_status(p->answer, &status);
        if (k < 0)
                return probe_http_end(p, false,
                                      p->got == 0 ? "connection closed without an answer"
                                                  : "not an HTTP answer");
        (void) snprintf(why, sizeof(why), "HTTP %d", status);
        probe_http_end(p, k > 0, why);
}

static void probe_http_write(probe_http *p) {
        char why[96];
        int err = 0;
        socklen_t len = sizeof(err);
        ssize_t n;

        if (p->sent == 0 && (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)) {
                (void) snprintf(why, sizeof(why), "connecting: %s", strerror(err ?: errno));
                return probe_http_end(p, false, why);
        }
        n = send(p->fd, p->request + p->sent, p->request_len - p->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                (void) snprintf(why, sizeof(why), "sending the request: %s", strerror(errno));
                return probe_http_end(p, false, why);
        }
        p->sent += (size_t) n;
        if (p->sent == p->request_len && sd_event_source_set_io_events(p->io, EPOLLIN) < 0)
                probe_http_end(p, false, "sending the request: out of memory");
}

static int probe_http_on_io(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                            void *userdata) {
        probe_http *p = userdata;

        if (p->sent < p->request_len)
                probe_http_write(p);
        else
                probe_http_read(p);
        return 0;
}

static int probe_http_on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        probe_http *p = userdata;
        char why[64];

        (void) snprintf(why, sizeof(why), "no answer within %llu ms",
                        (unsigned long long) (p->timeout_usec / 1000));
        probe_http_end(p, false, why);
        return 0;
}

/* Bind the client's end to the address it connects to, port 0: only an address of this host can be,
 * so a check never sends a request off the host (root's corrald, a member's HealthCheck=). */
static int probe_bind_local(int fd, const struct sockaddr *to, socklen_t to_len) {
        struct sockaddr_storage a;

        memcpy(&a, to, to_len);
        if (a.ss_family == AF_INET6)
                ((struct sockaddr_in6 *) &a)->sin6_port = 0;
        else
                ((struct sockaddr_in *) &a)->sin_port = 0;
        return bind(fd, (struct sockaddr *) &a, to_len);
}

int probe_http_start(sd_event *e, const struct sockaddr *to, socklen_t to_len, const char *host,
                     size_t host_len, const char *target, int netns_pidfd, uint64_t timeout_usec,
                     probe_done_fn done, void *userdata, probe_http **ret) {
        probe_http *p = calloc(1, sizeof(*p));
        int k;

        if (!p)
                return -ENOMEM;
        *p = (probe_http){ .fd = -EBADF, .timeout_usec = timeout_usec, .done = done, .userdata = userdata };
        k = asprintf(&p->request,
                     "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: corral-check\r\nAccept: */*\r\n"
                     "Connection: close\r\n\r\n",
                     *target ? target : "/", (int) host_len, host);
        if (k < 0) {
                p->request = NULL;
                return probe_http_free(p), -ENOMEM;
        }
        p->request_len = (size_t) k;
        p->fd = probe_socket(netns_pidfd, to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        k = p->fd < 0 ? p->fd : 0;
        if (k >= 0 && probe_bind_local(p->fd, to, to_len) < 0) /* never a request to another host */
                k = -errno;
        if (k >= 0 && connect(p->fd, to, to_len) < 0 && errno != EINPROGRESS)
                k = -errno;
        if (k >= 0) /* a connection made at once polls writable too */
                k = sd_event_add_io(e, &p->io, p->fd, EPOLLOUT, probe_http_on_io, p);
        if (k >= 0)
                k = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, timeout_usec, 1000,
                                               probe_http_on_timer, p);
        if (k < 0)
                return probe_http_free(p), k;
        *ret = p;
        return 0;
}
