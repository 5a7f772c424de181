/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* creds.c: users and groups by name or number, resolved by the supervisor before a spawn, and
 * file system access done as them. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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

/* getpwnam() and getgrnam() may leave any of these in errno for a name that is not there
 * (getpwnam(3)); anything else is a failure to look. */
static bool lookup_not_found(int e) {
        return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

static int resolve_user(const char *user, spawn_creds *c) {
        struct passwd *pw;
        unsigned id;

        errno = 0;
        pw = parse_id(user, &id) >= 0 ? getpwuid((uid_t) id) : getpwnam(user);
        if (!pw && parse_id(user, &id) < 0)
                return lookup_not_found(errno) ? -ESRCH : -errno;
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
                return lookup_not_found(errno) ? -ENXIO : -errno;
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

int creds_copy(const spawn_creds *c, spawn_creds *ret) {
        spawn_creds n = { .uid = c->uid, .gid = c->gid };

        if (c->n_groups > 0) {
                n.groups = malloc(c->n_groups * sizeof(gid_t));
                if (!n.groups)
                        return -ENOMEM;
                memcpy(n.groups, c->groups, c->n_groups * sizeof(gid_t));
                n.n_groups = c->n_groups;
        }
        *ret = n;
        return 0;
}

/* setfsuid(2) and setfsgid(2) say nothing of failure: the value is read back (-1 changes nothing). */
static int set_fs_ids(uid_t uid, gid_t gid) {
        (void) syscall(SYS_setfsgid, gid);
        (void) syscall(SYS_setfsuid, uid);
        if ((uid_t) syscall(SYS_setfsuid, (uid_t) -1) != uid ||
            (gid_t) syscall(SYS_setfsgid, (gid_t) -1) != gid)
                return -EPERM;
        return 0;
}

int creds_fs_enter(const spawn_creds *c, creds_fs_saved *ret_saved) {
        creds_fs_saved s = { .fsuid = (uid_t) syscall(SYS_setfsuid, (uid_t) -1),
                             .fsgid = (gid_t) syscall(SYS_setfsgid, (gid_t) -1) };
        int n;

        *ret_saved = (creds_fs_saved){ 0 };
        if (!c || (geteuid() != 0 && c->uid == s.fsuid && c->gid == s.fsgid)) /* already them */
                return 0;
        n = getgroups(0, NULL);
        s.groups = n > 0 ? malloc((size_t) n * sizeof(gid_t)) : NULL;
        if (n < 0 || (n > 0 && !s.groups) || (n > 0 && (n = getgroups(n, s.groups)) < 0)) {
                free(s.groups);
                return n < 0 ? negative_errno() : -ENOMEM;
        }
        s.n_groups = n;
        s.active = true;
        /* Groups first, while we still may; the thread's own, not the process's. */
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 || set_fs_ids(c->uid, c->gid) < 0) {
                creds_fs_leave(&s);
                return -EPERM;
        }
        *ret_saved = s;
        return 0;
}

void creds_fs_leave(creds_fs_saved *s) {
        if (!s->active)
                return;
        (void) set_fs_ids(s->fsuid, s->fsgid); /* fsuid 0 again: the file capabilities come back */
        (void) syscall(SYS_setgroups, (size_t) s->n_groups, s->groups);
        free(s->groups);
        *s = (creds_fs_saved){ 0 };
}
