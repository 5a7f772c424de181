/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify.c: the sd_notify socket backends report readiness on, and who really sent each message. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "notify.h"

int notify_open(char *ret_name, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        uint64_t rnd = 0;
        int one = 1, n;

        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = (uint64_t) fd ^
                        (uint64_t) getpid() << 32; /* unique enough with the pid: it is bound */
        n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "corral/notify/%d/%016llx", (int) getpid(),
                     (unsigned long long) rnd);
        if (n < 0 || (size_t) n + 2 > size)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa,
                 (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n)) < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return negative_errno();
        (void) snprintf(ret_name, size, "@%s", sa.sun_path + 1);
        return TAKE_FD(fd);
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
                else if (len > 14 && len < 14 + 21 && strncmp(l, "WATCHDOG_USEC=", 14) == 0) {
                        char num[24], *end;
                        memcpy(num, l + 14, len - 14);
                        num[len - 14] = '\0';
                        unsigned long long v = strtoull(num, &end, 10);
                        if (*end == '\0' && num[0] >= '0' && num[0] <= '9')
                                m.watchdog_usec = v;
                } else if (len >= 7 && strncmp(l, "STATUS=", 7) == 0) {
                        m.status = l + 7;
                        m.status_len = len - 7;
                }
        }
        *ret = m;
}
