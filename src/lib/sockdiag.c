/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockdiag.c: the TCP sockets listening on a port, and the cgroup of whoever made them, from
 * NETLINK_SOCK_DIAG. */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "safepath.h"
#include "sockdiag.h"

static int sockdiag_request(int fd, int family) {
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 req;
        } msg = {
                .nlh = { .nlmsg_len = sizeof(msg),
                         .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                         .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .req = { .sdiag_family = (uint8_t) family,
                         .sdiag_protocol = IPPROTO_TCP,
                         .idiag_states = 1U << TCP_LISTEN },
        };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

        if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
                return -errno;
        return 0;
}

/* One answer of the dump: the socket's facts, if it is on the port. */
static int sockdiag_one(const struct nlmsghdr *h, uint16_t port, sockdiag_listener_fn fn, void *userdata) {
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        sockdiag_listener l = { 0 };
        const struct rtattr *a;
        int len;

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || ntohs(m->id.idiag_sport) != port)
                return 0;
        l.family = m->idiag_family;
        memcpy(l.addr, m->id.idiag_src, l.family == AF_INET ? 4 : 16);
        l.inode = m->idiag_inode;
        len = (int) (h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
        for (a = (const struct rtattr *) (m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= (int) sizeof(uint64_t)) {
                        memcpy(&l.cgroup_id, RTA_DATA(a), sizeof(uint64_t));
                        l.have_cgroup_id = true;
                } else if (a->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(a) >= 1)
                        l.v6only = *(const uint8_t *) RTA_DATA(a) != 0;
        return fn(&l, userdata);
}

static int sockdiag_dump(int fd, int family, uint16_t port, sockdiag_listener_fn fn, void *userdata) {
        _Alignas(struct nlmsghdr) char buf[16384];
        int r = sockdiag_request(fd, family);

        while (r >= 0) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0)
                        return errno == EINTR ? 0 : -errno;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_DONE)
                                return r;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return e->error < 0 ? e->error : -EPROTO;
                        }
                        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && r >= 0)
                                r = sockdiag_one(h, port, fn, userdata);
                }
        }
        return r;
}

/* One line of /proc/net/tcp{,6}: "sl local rem st ... uid timeout inode". The addresses are the
 * kernel's 32-bit words printed as numbers in the host's byte order: read back the same way, their
 * bytes are the address's. */
static int proc_net_one(const char *line, int family, uint16_t port, sockdiag_listener_fn fn,
                        void *userdata) {
        char local[33 + 1], rem[64];
        unsigned lport, state;
        unsigned long inode;
        sockdiag_listener l = { .family = family };
        size_t words = family == AF_INET ? 1 : 4;

        if (sscanf(line, " %*u: %33[0-9A-Fa-f]:%x %63s %x %*s %*s %*s %*u %*u %lu", local, &lport, rem,
                   &state, &inode) != 5)
                return 0; /* the heading */
        if (state != 0x0A /* TCP_LISTEN */ || lport != port || strlen(local) != words * 8)
                return 0;
        for (size_t i = 0; i < words; i++) {
                char word[9];
                uint32_t w;

                memcpy(word, local + i * 8, 8);
                word[8] = '\0';
                w = (uint32_t) strtoul(word, NULL, 16);
                memcpy(l.addr + i * 4, &w, 4);
        }
        l.inode = (uint32_t) inode;
        return fn(&l, userdata);
}

/* /proc/net/tcp{,6} (ours), or tcp{,6} in @net_dir_fd (a /proc/PID/net: that process's network
 * namespace), neither following a symlink: a stream or -errno. */
static FILE *proc_net_open(int net_dir_fd, int family) {
        const char *name = family == AF_INET ? "tcp" : "tcp6";
        int fd = -EBADF;
        FILE *f;

        if (net_dir_fd >= 0)
                fd = safepath_open_regular_at(net_dir_fd, name, O_RDONLY | O_CLOEXEC, 0);
        else {
                fd = open(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", O_RDONLY | O_CLOEXEC);
                fd = fd < 0 ? -errno : fd;
        }
        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        f = fdopen(fd, "re");
        if (!f)
                safe_close(fd);
        return f;
}

/* The same from /proc/net/tcp{,6}, for kernels without inet_diag (a module: an initramfs or a
 * container may not load it). Neither the maker's cgroup nor IPV6_V6ONLY is there: the caller
 * matches inodes, and an IPv6 wildcard is taken to accept IPv4 too, as it does by default. */
static int proc_net_listeners(int net_dir_fd, int family, uint16_t port, sockdiag_listener_fn fn,
                              void *userdata) {
        FILE *f = proc_net_open(net_dir_fd, family);
        char line[512];
        int r = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno; /* no tcp6: no IPv6, no listener */
        while (r >= 0 && fgets(line, sizeof(line), f))
                r = proc_net_one(line, family, port, fn, userdata);
        fclose(f);
        return r;
}

int sockdiag_listeners(int fd, int net_dir_fd, int family, uint16_t port, sockdiag_listener_fn fn,
                       void *userdata) {
        int r = -EPROTONOSUPPORT;

        if (fd >= 0)
                r = sockdiag_dump(fd, family, port, fn, userdata);
        /* inet_diag missing: the kernel has no handler for the family (ENOENT once it failed to
         * load the module) */
        if (r == -ENOENT || r == -EPROTONOSUPPORT || r == -EOPNOTSUPP)
                r = proc_net_listeners(net_dir_fd, family, port, fn, userdata);
        return r;
}

bool sockdiag_accepts(const sockdiag_listener *l, const struct sockaddr *to) {
        const uint8_t *addr = l->addr;
        int family = l->family;
        static const uint8_t any[16] = { 0 };
        const struct sockaddr_in *in = (const struct sockaddr_in *) to;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) to;
        uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };

        if (to->sa_family == AF_INET6)
                return family == AF_INET6 &&
                        (memcmp(addr, any, 16) == 0 || memcmp(addr, &in6->sin6_addr, 16) == 0);
        if (family == AF_INET)
                return memcmp(addr, any, 4) == 0 || memcmp(addr, &in->sin_addr, 4) == 0;
        if (l->v6only)
                return false;
        memcpy(mapped + 12, &in->sin_addr, 4);
        return memcmp(addr, any, 16) == 0 || memcmp(addr, mapped, 16) == 0;
}
