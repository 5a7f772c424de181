/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockdiag.h: the only door to NETLINK_SOCK_DIAG: the TCP sockets listening on a port, and who made them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* One listening socket, as the kernel describes it. */
typedef struct sockdiag_listener {
        int family;          /* AF_INET or AF_INET6 */
        uint8_t addr[16];    /* its local address (4 bytes for AF_INET) */
        uint32_t inode;      /* the socket's inode: /proc/PID/fd/N links to "socket:[inode]" */
        uint64_t cgroup_id;  /* the cgroup v2 id of the process that made it (INET_DIAG_CGROUP_ID, 5.7) */
        bool have_cgroup_id; /* false on kernels without it (or without CONFIG_SOCK_CGROUP_DATA) */
        bool v6only;         /* an AF_INET6 socket with IPV6_V6ONLY: no IPv4 connections */
} sockdiag_listener;

/* Called for each socket; a negative return stops the walk and is returned. */
typedef int (*sockdiag_listener_fn)(const sockdiag_listener *l, void *userdata);

/*
 * sockdiag_listeners() - every TCP socket of @family in LISTEN state on local @port, in the network
 * namespace of @diag_fd (a NETLINK_SOCK_DIAG socket). Without inet_diag (or for @diag_fd -1), from
 * tcp{,6} in @net_dir_fd instead: a /proc/PID/net directory, which shows PID's network namespace
 * (the caller makes sure PID was the process it meant all along); -1 for /proc/net/tcp{,6}, ours.
 * The kernel answers at once (a dump of its own tables): nothing here waits on anyone. Return: 0,
 * or -errno (-EPROTONOSUPPORT without inet_diag).
 */
int sockdiag_listeners(int diag_fd, int net_dir_fd, int family, uint16_t port, sockdiag_listener_fn fn,
                       void *userdata);

/*
 * sockdiag_addr_accepts() - whether a listener bound to (@family, @addr) takes connections to
 * @to: the same address, a wildcard of the same family, or (for an IPv4 @to, unless IPV6_V6ONLY)
 * IPv6's wildcard or @to mapped into IPv6.
 */
bool sockdiag_accepts(const sockdiag_listener *l, const struct sockaddr *to);
