/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fdstore.h: each backend's pidfd and output pipes kept in systemd's file descriptor store, so a
 * corrald restarted after a crash gets them back (its exit status, its output) from systemd. */
#pragma once

#include <stdbool.h>

#include "corral.h"

/* Under a systemd service manager ($NOTIFY_SOCKET): whether the store is used. */
bool fdstore_enabled(void);

/* Keep b's fds as "<name>.<launch>.pidfd", ".stdout", ".stderr". */
void fdstore_keep(corral_backend *b);

/* Its launch is over: the store lets them go. */
void fdstore_drop(const char *name, const char *launch);

/* Where no systemd store keeps them: our own fd holder for this state directory (fdholder.h),
 * started if none runs; what it holds for an earlier corrald goes to corral for corral_adopt().
 * Returns how many it held, or -errno (then there is none). */
int fdstore_use_holder(corral *c, const char *state_dir);

/* corrald ends: after a clean shutdown (no backend left) the holder ends too. */
void fdstore_done(bool clean);

/* The fds systemd passed (sd_listen_fds_with_names): the stored ones go to corral for
 * corral_adopt(); returns the listening socket among them, or -1 if there is none, or -errno. */
int fdstore_take(corral *c);
