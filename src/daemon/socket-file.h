/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket-file.h: corrald's control socket on disk: made where no other user can swap it, removed at a clean
 * exit. */
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

/* The socket file made by socket_file_listen(), to remove it at exit if it is still ours. */
typedef struct socket_file {
        char *path;
        dev_t dev;
        ino_t ino;
} socket_file;

/*
 * Bind and listen on a unix socket at @address. Its directory is made (0755) if missing and must
 * be ours to change alone (safepath_open_dir(): no symlink on the way, owned by root or us, not
 * writable by others): the socket file is then made with @mode (through the umask, never chmod
 * by path) and its group set to @gid without following a symlink. A stale socket (nobody
 * listening) is replaced, a live one (another corrald) refused with -EADDRINUSE, anything else
 * at the path refused with -EEXIST. Returns the listening fd, or -errno (the cause logged).
 */
int socket_file_listen(const char *address, mode_t mode, gid_t gid, socket_file *ret);

/* Remove the socket file if it is still the one we made; free what ret held. */
void socket_file_remove(socket_file *f);
