/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify.c: the sd_notify sockets backends report readiness on, one each, and who really sent each message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "notify.h"
#include "safepath.h"

int notify_dir_set(notify_dir *d, const char *path, char **ret_problem) {
        char *copy;
        int fd = safepath_open_dir(path, 0711, ret_problem);

        if (fd < 0)
                return fd;
        copy = strdup(path);
        if (!copy) {
                safe_close(fd);
                return -ENOMEM;
        }
        notify_dir_done(d);
        *d = (notify_dir){ .path = copy, .fd = fd };
        return 0;
}

/* mkdtemp: nobody can have made it before us; 0711: backends of other users reach their own
 * sockets in it (they are 0600, theirs), and nobody lists it. */
static int notify_dir_make_private(notify_dir *d) {
        const char *base = geteuid() == 0 ? "/run" : secure_getenv("XDG_RUNTIME_DIR") ?: "/tmp";
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/corral-notify.XXXXXX", base) < 0)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return negative_errno();
        if (chmod(dir, 0711) < 0) {
                int r = negative_errno();
                (void) rmdir(dir);
                return r;
        }
        d->path = TAKE_PTR(dir);
        d->private = true;
        return 0;
}

int notify_dir_get(notify_dir *d) {
        int r;

        if (d->fd >= 0)
                return d->fd;
        if (!d->path && (r = notify_dir_make_private(d)) < 0)
                return r;
        d->fd = open(d->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return d->fd >= 0 ? d->fd : negative_errno();
}

void notify_dir_done(notify_dir *d) {
        d->fd = safe_close(d->fd);
        if (d->private && d->path)
                (void) rmdir(d->path);
        free(d->path);
        *d = NOTIFY_DIR_INIT;
}

int notify_bind(int dir_fd, const char *dir_path, const char *name, uid_t uid, char **ret_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int one = 1, n;

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir_path, name);
        if (n < 0 || (size_t) n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return negative_errno();
        (void) unlinkat(dir_fd, name, 0); /* a launch of that id is over: its socket is stale */
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        /* In a directory nobody else may change: no one can have swapped the file meanwhile. */
        if ((uid != geteuid() && fchownat(dir_fd, name, uid, (gid_t) -1, AT_SYMLINK_NOFOLLOW) < 0) ||
            fchmodat(dir_fd, name, 0600, 0) < 0) {
                int r = negative_errno();
                (void) unlinkat(dir_fd, name, 0);
                return r;
        }
        *ret_path = strdup(sa.sun_path);
        if (!*ret_path) {
                (void) unlinkat(dir_fd, name, 0);
                return -ENOMEM;
        }
        return TAKE_FD(fd);
}

void notify_unbind(int dir_fd, const char *name) {
        if (dir_fd >= 0 && name && *name)
                (void) unlinkat(dir_fd, name, 0);
}

int notify_receive(int fd, char *buf, size_t size, pid_t *ret_pid) {
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)
        };
        const struct ucred *cred = NULL;
        ssize_t n;

        for (;;) {
                n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0)
                        return errno == EAGAIN   ? 0
                                : errno == EINTR ? notify_receive(fd, buf, size, ret_pid)
                                                 : negative_errno();
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                                cred = (const struct ucred *) CMSG_DATA(c);
                if (cred && (size_t) n < size && !(mh.msg_flags & MSG_CTRUNC))
                        break;
                cred = NULL; /* no credentials, or truncated: not to be believed */
                mh.msg_controllen = sizeof(control);
        }
        buf[n] = '\0';
        *ret_pid = cred->pid;
        return 1;
}

/* A decimal number of len (< 21) bytes at t, into *ret if it is one. */
static void notify_number(const char *t, size_t len, unsigned long long *ret) {
        char num[24], *end;
        unsigned long long v;

        memcpy(num, t, len);
        num[len] = '\0';
        errno = 0;
        v = strtoull(num, &end, 10);
        if (*end == '\0' && num[0] >= '0' && num[0] <= '9' && errno == 0)
                *ret = v;
}

void notify_parse(const char *text, notify_message *ret) {
        notify_message m = { 0 };

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t len = strcspn(l, "\n");
                if (len == 7 && strncmp(l, "READY=1", 7) == 0)
                        m.ready = true;
                else if (len == 10 && strncmp(l, "STOPPING=1", 10) == 0)
                        m.stopping = true;
                else if (len == 10 && strncmp(l, "WATCHDOG=1", 10) == 0)
                        m.watchdog = true;
                else if (len == 11 && strncmp(l, "RELOADING=1", 11) == 0)
                        m.reloading = true;
                else if (len > 14 && len < 14 + 21 && strncmp(l, "WATCHDOG_USEC=", 14) == 0)
                        notify_number(l + 14, len - 14, &m.watchdog_usec);
                else if (len > 15 && len < 15 + 21 && strncmp(l, "MONOTONIC_USEC=", 15) == 0)
                        notify_number(l + 15, len - 15, &m.monotonic_usec);
                else if (len >= 7 && strncmp(l, "STATUS=", 7) == 0) {
                        m.status = l + 7;
                        m.status_len = len - 7;
                }
        }
        *ret = m;
}
