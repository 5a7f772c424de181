/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy.h: what a caller who is not root may ask of Start: as whom its backend runs, with which limits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>

/*
 * Root may start anything. A member of the allowed group starts backends that run as itself
 * (the default user of its Start is its own uid), or as a user that --allow-user-switch names;
 * with a group that user is in; with resource limits no higher than what a backend gets by
 * default (corrald's own when it started). Everything else a Start names is reached with the
 * backend's user's rights (its command, working directory and log file): the group cannot gain
 * root through a Start.
 */
typedef struct policy {
        char **switch_users; /* users (names or numbers) besides the caller; "*": any but root */
        struct rlimit rlimits[RLIM_NLIMITS]; /* a backend's by default: the most a member may ask */
} policy;

/* @switch_users: a comma-separated list or NULL. Takes corrald's resource limits now: call it
 * before they are raised. 0 or -ENOMEM. */
int policy_init(policy *p, const char *switch_users);
void policy_done(policy *p);

/*
 * Check the parameters of a Start from @cred (a caller who may call Start at all) and fill in
 * what the policy decides for it (the user, for a caller who is not root and named none).
 * Returns NULL if allowed, else the parameter refused, with *ret_message saying why (malloc'ed).
 */
const char *policy_check_start(const policy *p, const struct ucred *cred, json_t *params,
                               char **ret_message);
