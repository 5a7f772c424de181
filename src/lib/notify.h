/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify.h: the sd_notify sockets backends report readiness on, one each, and who really sent each message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the backends' notify sockets are: a directory given (and checked) by the caller, else a
 * private one made at the first need and removed at the end. */
typedef struct notify_dir {
        char *path;
        int fd;       /* O_PATH; -1 until made or given */
        bool private; /* ours to remove */
} notify_dir;

#define NOTIFY_DIR_INIT ((notify_dir){ .fd = -1 })

/* Use path (made 0711 if missing, checked as safepath_open_dir() checks). 0, or -errno with
 * *ret_problem saying why. */
int notify_dir_set(notify_dir *d, const char *path, char **ret_problem);
/* Its fd, the private one made now if none was given (mkdtemp: under /run for root,
 * $XDG_RUNTIME_DIR or /tmp otherwise). Borrowed, or -errno. */
int notify_dir_get(notify_dir *d);
/* Closed, and a private one removed (its sockets are gone with their backends). */
void notify_dir_done(notify_dir *d);

/*
 * One backend's notify socket: a datagram socket bound at @dir_path/@name (@dir_fd is that
 * directory, ours alone), credentials passed, the file given to @uid with mode 0600: only that
 * user's processes (and root) may send to it, so nobody else can flood it or take its place in
 * the queue. A stale file of that name is replaced. Returns the fd (non-blocking) and the
 * address for $NOTIFY_SOCKET in *ret_path (malloc'ed), or -errno (-ENAMETOOLONG past 107 bytes).
 */
int notify_bind(int dir_fd, const char *dir_path, const char *name, uid_t uid, char **ret_path);

/* Its file goes (the socket's fd is the caller's to close). */
void notify_unbind(int dir_fd, const char *name);

/* Take one message: 1 with its text (NUL-terminated) and the sender's pid as the kernel vouches
 * for it, 0 if none is waiting, -errno. Messages without credentials or too long are dropped. */
int notify_receive(int fd, char *buf, size_t size, pid_t *ret_pid);

/* What one sd_notify message says, of what corral acts on. status points into the text. */
typedef struct notify_message {
        bool ready;         /* READY=1 */
        bool stopping;      /* STOPPING=1 */
        bool watchdog;      /* WATCHDOG=1 */
        const char *status; /* STATUS=, not NUL-terminated: status_len bytes */
        size_t status_len;
        unsigned long long watchdog_usec; /* WATCHDOG_USEC=, 0 if absent */
        bool reloading;                   /* RELOADING=1 */
        unsigned long long monotonic_usec; /* MONOTONIC_USEC= (with RELOADING=1), 0 if absent */
} notify_message;

/* Lines of "KEY=value"; unknown keys and malformed lines are ignored, as sd_notify(3) says. */
void notify_parse(const char *text, notify_message *ret);
