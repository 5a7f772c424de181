/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.h: whether a backend answers for itself: a listener of its own, an HTTP answer from it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

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
 * the network namespace of @netns_pidfd's process (-1: the caller's); never connects, never blocks.
 * @leaf_path: the leaf below the cgroup2 mount. @sock_diag: false to read /proc/net/tcp{,6}
 * instead (the fallback, forced by $CORRAL_DISABLE=sock-diag; also taken without inet_diag): for
 * @netns_pidfd, /proc/@netns_pid/net/tcp{,6}, believed only if the process has not exited after
 * the read. Return: a probe_listener_result, or -errno (-EPROTONOSUPPORT: no inet_diag, -ESRCH:
 * @netns_pidfd's process exited).
 */
int probe_listener(const struct sockaddr *to, int leaf_fd, const char *leaf_path, int netns_pidfd,
                   pid_t netns_pid, bool sock_diag);

/* A socket in the network namespace of the process of @netns_pidfd (a backend with
 * PrivateNetwork=: setns() there and back, 5.8, root), or in ours for -1: an fd or -errno. */
int probe_socket(int netns_pidfd, int domain, int type, int protocol);

/* What a check found: passed or not, and if not, why ("HTTP 503", "connection refused"). */
typedef void (*probe_done_fn)(void *userdata, bool ok, const char *why);

typedef struct probe_http probe_http;

/*
 * probe_http_start() - GET @target from @to (HTTP/1.1, "Host: @host", "Connection: close") on
 * @e's loop, never blocking it: the connection, the request and the answer each wait for their
 * fd; from the network namespace of @netns_pidfd's process (-1: ours). Only the status line is read (at most
 * 1 KiB): a 2xx passes. Nothing in @timeout_usec fails. @done is called once, from the loop, unless the
 * probe is freed first; it may free it. Return: 0 with *ret, or -errno.
 */
int probe_http_start(sd_event *e, const struct sockaddr *to, socklen_t to_len, const char *host,
                     size_t host_len, const char *target, int netns_pidfd, uint64_t timeout_usec,
                     probe_done_fn done, void *userdata, probe_http **ret);
/* Stop it, if it is under way: no call of done follows. NULL. */
probe_http *probe_http_free(probe_http *p);
