/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* creds.h: users and groups by name or number, resolved by the supervisor before a spawn, and
 * file system access done as them. */
#pragma once

#include <stdbool.h>

#include "spawn-clone3.h"

/* user and group: names or numbers, either may be NULL (group NULL: the user's own). With a user
 * name, its supplementary groups come along. Returns 0, -ESRCH (user unknown), -ENXIO (group
 * unknown) or -errno. */
int creds_resolve(const char *user, const char *group, spawn_creds *ret);
void creds_done(spawn_creds *c);

/* A copy of c (its groups too). 0 or -ENOMEM. */
int creds_copy(const spawn_creds *c, spawn_creds *ret);

/* What the calling thread's file system credentials were before creds_fs_enter(). */
typedef struct creds_fs_saved {
        bool active;
        uid_t fsuid;
        gid_t fsgid;
        gid_t *groups;
        int n_groups;
} creds_fs_saved;

/*
 * Open, create and rename files with c's rights instead of ours, in the calling thread only: its
 * fsuid, fsgid and supplementary groups become c's (raw syscalls: per thread, never the
 * process-wide ones glibc broadcasts), so that a path a backend's user chose is reached with
 * that user's permissions, and a root supervisor's capabilities over files (CAP_DAC_OVERRIDE,
 * CAP_FOWNER, ...) are off until creds_fs_leave(). A no-op for NULL c or c of our own uid and
 * groups. -EPERM if we may not become c (an unprivileged supervisor), or -errno.
 */
int creds_fs_enter(const spawn_creds *c, creds_fs_saved *ret_saved);
void creds_fs_leave(creds_fs_saved *saved);
