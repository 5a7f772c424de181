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

/* --- The holder's side, one message at a time (its loop, and the fuzzer, call this). --- */

#define FDHOLDER_NAME_MAX 192 /* with its NUL; a message is its type and the name */

typedef struct fdholder_held {
        char name[FDHOLDER_NAME_MAX]; /* NUL-terminated */
        int fd;
} fdholder_held;

/* What the holder holds; the empty store is all zeros. */
typedef struct fdholder_store {
        fdholder_held *v;
        size_t n, cap;
} fdholder_store;

#define FDHOLDER_SERVED 1 /* fdholder_serve_one(): a message was read and acted on */
#define FDHOLDER_END    2 /* ... it was "X": the holder is to end */

/* Read one message from the connected client c and act on it: keep the fd that came with a "K",
 * let go of what a "D" names, answer an "L". Every fd that came with the message is either kept
 * in s or closed. Returns FDHOLDER_SERVED, FDHOLDER_END, 0 when the client is gone (an empty
 * message is taken as that too), or -errno (a message too long for a name: -EBADMSG), after
 * which the conversation is over. */
int fdholder_serve_one(fdholder_store *s, int c);

/* Close everything s holds and free it; s is empty again. */
void fdholder_store_done(fdholder_store *s);
