/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fdholder.h: where there is no systemd fd store, a small process of corrald's own holds each
 * backend's pidfd and the read ends of its output pipes, so that they outlive a corrald that
 * crashes: the backends' writes do not meet a closed pipe (SIGPIPE), and the next corrald takes
 * them back from it. It listens on <state dir>/fdholder.sock and lives until a corrald that shuts
 * down cleanly tells it to go. */
#pragma once

#include "corral.h"

/* Connect to the holder of the state directory, or start one. Returns a connected socket or -errno. */
int fdholder_open(const char *state_dir);

/* Hold fd under name (a copy: the caller keeps its own). 0 or -errno. */
int fdholder_keep(int sock, const char *name, int fd);

/* Let go of every fd whose name starts with prefix. 0 or -errno. */
int fdholder_drop(int sock, const char *prefix);

/* Every fd held, each given to f (which takes it); the holder keeps its own copies. Returns how
 * many or -errno. */
int fdholder_take(int sock, void (*f)(const char *name, int fd, void *userdata), void *userdata);

/* The holder ends, closing what it holds: corrald shuts down cleanly. */
void fdholder_exit(int sock);
