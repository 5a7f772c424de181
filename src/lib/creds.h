/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* creds.h: users and groups by name or number, resolved by the supervisor before a spawn. */
#pragma once

#include "spawn-clone3.h"

/* user and group: names or numbers, either may be NULL (group NULL: the user's own). With a user
 * name, its supplementary groups come along. Returns 0, -ESRCH (user unknown), -ENXIO (group
 * unknown) or -errno. */
int creds_resolve(const char *user, const char *group, spawn_creds *ret);
void creds_done(spawn_creds *c);
