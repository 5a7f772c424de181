/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.c: whether a backend answers for itself: a listener of its own, an HTTP answer from it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "probe.h"
#include "sockdiag.h"

#define PROBE_INODES_MAX 64

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

int probe_listener(const struct sockaddr *to, int leaf_fd, const char *leaf_path) {
        listener_scan s = { .to = to };
        _cleanup_close_ int fd = -EBADF;
        uint16_t port;
        int r;

        if (to->sa_family == AF_INET)
                port = ntohs(((const struct sockaddr_in *) to)->sin_port);
        else
                port = ntohs(((const struct sockaddr_in6 *) to)->sin6_port);
        r = cgroup_id(leaf_fd, &s.cgroup_id);
        if (r < 0)
                return r;
        fd = sockdiag_open();
        if (fd < 0)
                return fd;
        r = sockdiag_listeners(fd, to->sa_family, port, listener_scan_one, &s);
        if (r >= 0 && to->sa_family == AF_INET && !s.own) { /* a dual-stack IPv6 listener takes it too */
                fd = safe_close(fd);
                fd = sockdiag_open();
                r = fd < 0 ? fd : sockdiag_listeners(fd, AF_INET6, port, listener_scan_one, &s);
        }
        if (r < 0)
                return r;
        if (s.own || leaf_holds(leaf_fd, leaf_path, &s))
                return PROBE_LISTENER_OWN;
        return s.n_inodes > 0 || s.other ? PROBE_LISTENER_FOREIGN : PROBE_LISTENER_NONE;
}
