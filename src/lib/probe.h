/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.h: whether a backend answers for itself: a listener of its own, an HTTP answer from it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a look at the listeners found. */
typedef enum probe_listener_result {
        PROBE_LISTENER_NONE,    /* nothing listens that takes connections to the address */
        PROBE_LISTENER_FOREIGN, /* something does, but no process of the backend's cgroup */
        PROBE_LISTENER_OWN,     /* one of the backend's own */
} probe_listener_result;
#define PROBE_MISS_ERROR 3 /* the kernel could not be asked */

/*
 * probe_listener() - whether a TCP socket in LISTEN state that takes connections to @to belongs
 * to the backend whose leaf is @leaf_fd: it was made by a process of the leaf (its cgroup id, as
 * sock_diag tells it, 5.7+), or a process of the leaf holds it open (its inode among their fds:
 * the fallback, and a socket handed in from outside). Asked of the kernel (NETLINK_SOCK_DIAG) in
 * the caller's network namespace; never connects, never blocks. @leaf_path: the leaf below the
 * cgroup2 mount. Return: a probe_listener_result,
 * or -errno (-EPROTONOSUPPORT: no inet_diag).
 */
int probe_listener(const struct sockaddr *to, int leaf_fd, const char *leaf_path);
