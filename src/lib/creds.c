/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* creds.c: users and groups by name or number, resolved by the supervisor before a spawn. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "macro.h"

static int parse_id(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v >= (unsigned long) (uid_t) -1)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* The user's supplementary groups, as /etc/group lists them. */
static int user_groups(const char *name, gid_t gid, spawn_creds *c) {
        int n = 32;

        for (int tries = 0; tries < 8; tries++) {
                gid_t *g = realloc(c->groups, (size_t) n * sizeof(gid_t));
                int k = n;
                if (!g)
                        return -ENOMEM;
                c->groups = g;
                if (getgrouplist(name, gid, g, &k) >= 0) {
                        c->n_groups = (size_t) k;
                        return 0;
                }
                n = k > n ? k : n * 2;
        }
        return -E2BIG;
}

static int resolve_user(const char *user, spawn_creds *c) {
        struct passwd *pw;
        unsigned id;

        errno = 0;
        pw = parse_id(user, &id) >= 0 ? getpwuid((uid_t) id) : getpwnam(user);
        if (!pw && parse_id(user, &id) < 0)
                return errno > 0 ? -errno : -ESRCH;
        c->uid = pw ? pw->pw_uid : (uid_t) id;
        c->gid = pw ? pw->pw_gid : (gid_t) id; /* a bare uid with no entry: its own number as group */
        return pw ? user_groups(pw->pw_name, pw->pw_gid, c) : 0;
}

static int resolve_group(const char *group, gid_t *ret) {
        struct group *gr;
        unsigned id;

        if (parse_id(group, &id) >= 0) {
                *ret = (gid_t) id;
                return 0;
        }
        errno = 0;
        gr = getgrnam(group);
        if (!gr)
                return errno > 0 ? -errno : -ENXIO;
        *ret = gr->gr_gid;
        return 0;
}

int creds_resolve(const char *user, const char *group, spawn_creds *ret) {
        spawn_creds c = { .uid = geteuid(), .gid = getegid() };
        int r;

        if (user && (r = resolve_user(user, &c)) < 0) {
                creds_done(&c);
                return r;
        }
        if (group && (r = resolve_group(group, &c.gid)) < 0) {
                creds_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void creds_done(spawn_creds *c) {
        free(c->groups);
        c->groups = NULL;
        c->n_groups = 0;
}
