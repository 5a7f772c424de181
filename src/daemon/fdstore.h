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

/* The fds systemd passed (sd_listen_fds_with_names): the stored ones go to corral for
 * corral_adopt(); returns the listening socket among them, or -1 if there is none, or -errno. */
int fdstore_take(corral *c);
