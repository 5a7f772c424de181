/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy.c: what a caller who is not root may ask of Start: as whom its backend runs, with which limits. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "policy.h"
#include "strv.h"

int policy_init(policy *p, const char *switch_users) {
        *p = (policy){};
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if (getrlimit(i, &p->rlimits[i]) < 0)
                        p->rlimits[i] = (struct rlimit){ 0, 0 };
        for (const char *u = switch_users; u && *u;) {
                size_t n = strcspn(u, ",");
                char *one = n ? strndup(u, n) : NULL;
                if (n && (!one || strv_push(&p->switch_users, one) < 0))
                        return -ENOMEM;
                u += n + (u[n] == ',');
        }
        return 0;
}

void policy_done(policy *p) {
        strv_free(p->switch_users);
        p->switch_users = NULL;
}

/* A user by name or number: its uid, and its passwd entry if it has one. */
static int lookup_user(const char *user, uid_t *ret_uid, struct passwd **ret_pw) {
        char *end;
        unsigned long n;
        struct passwd *pw = NULL;

        if (user[0] >= '0' && user[0] <= '9') {
                errno = 0;
                n = strtoul(user, &end, 10);
                if (errno || *end || n >= (uid_t) -1)
                        return -EINVAL;
                pw = getpwuid((uid_t) n);
                *ret_uid = (uid_t) n;
        } else {
                pw = getpwnam(user);
                if (!pw)
                        return -ESRCH;
                *ret_uid = pw->pw_uid;
        }
        *ret_pw = pw;
        return 0;
}

static bool switch_allowed(const policy *p, uid_t uid, const struct passwd *pw) {
        char num[16];

        (void) snprintf(num, sizeof(num), "%u", (unsigned) uid);
        STRV_FOREACH(u, p->switch_users)
        if ((strcmp(*u, "*") == 0 && uid != 0) || strcmp(*u, num) == 0 ||
            (pw && strcmp(*u, pw->pw_name) == 0))
                return true;
        return false;
}

/* Whether the user (uid, entry pw) is in the group gid: its primary group or a listed one. */
static bool user_in_group(uid_t uid, const struct passwd *pw, gid_t gid, const struct ucred *cred) {
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (!pw) /* no entry: only the group it runs with now, if it is the caller */
                return uid == cred->uid && gid == cred->gid;
        if (pw->pw_gid == gid)
                return true;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

static int lookup_group(const char *group, gid_t *ret) {
        struct group *gr;
        char *end;
        unsigned long n;

        if (group[0] >= '0' && group[0] <= '9') {
                errno = 0;
                n = strtoul(group, &end, 10);
                if (errno || *end || n >= (gid_t) -1)
                        return -EINVAL;
                *ret = (gid_t) n;
                return 0;
        }
        gr = getgrnam(group);
        if (!gr)
                return -ENXIO;
        *ret = gr->gr_gid;
        return 0;
}

static const char *refuse(char **ret_message, const char *param, const char *fmt, ...) _printf_(3, 4);
static const char *refuse(char **ret_message, const char *param, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(ret_message, fmt, ap) < 0)
                *ret_message = NULL;
        va_end(ap);
        return param;
}

/* A corrald without root runs backends as its own user only, never as the caller. */
static const char *refuse_unprivileged(const struct ucred *cred, char **ret_message) {
        uid_t self = geteuid();
        const struct passwd *pw = getpwuid(self);
        char num[16];

        (void) snprintf(num, sizeof(num), "%u", (unsigned) self);
        return refuse(ret_message, "user",
                      "uid %u may start backends as itself only, and this corrald runs without root (as "
                      "uid %u): it runs backends only as itself (User=%s, if corrald --allow-user-switch "
                      "names it)",
                      (unsigned) cred->uid, (unsigned) self, pw ? pw->pw_name : num);
}

/* As whom: the caller itself unless a user is named and the policy lets it switch to that one. */
static const char *check_user(const policy *p, const struct ucred *cred, json_t *params,
                              char **ret_message) {
        const char *user = json_string_value(json_object_get(params, "user"));
        const char *group = json_string_value(json_object_get(params, "group"));
        struct passwd *pw = NULL;
        uid_t uid = cred->uid;
        gid_t gid;
        char num[16];

        if (!user && geteuid() != 0) /* corrald could not switch to the caller: say what it may ask */
                return refuse_unprivileged(cred, ret_message);
        if (!user) { /* its own backend runs as itself */
                (void) snprintf(num, sizeof(num), "%u", (unsigned) cred->uid);
                if (json_object_set_new(params, "user", json_string(num)) < 0)
                        return refuse(ret_message, "user", "out of memory");
                pw = getpwuid(cred->uid);
        } else if (lookup_user(user, &uid, &pw) < 0)
                return refuse(ret_message, "user", "no such user '%s'", user);
        else if (uid != cred->uid && !switch_allowed(p, uid, pw))
                return refuse(ret_message, "user",
                              "uid %u may start backends as itself only, not as '%s' (see corrald "
                              "--allow-user-switch)",
                              (unsigned) cred->uid, user);
        if (!group)
                return NULL;
        if (lookup_group(group, &gid) < 0)
                return refuse(ret_message, "group", "no such group '%s'", group);
        if (!user_in_group(uid, pw, gid, cred))
                return refuse(ret_message, "group", "the backend's user is not in group '%s'", group);
        return NULL;
}

/* No limit higher than a backend gets by default: a root supervisor sets them before it drops
 * to the backend's user, so this is the one place a member could raise its own. */
static const char *check_rlimits(const policy *p, json_t *params, char **ret_message) {
        json_t *a = json_object_get(params, "rlimits"), *e;
        size_t i;

        json_array_foreach(a, i, e) {
                const char *s = json_string_value(e);
                uint64_t soft, hard;
                int res;
                if (!s || parse_rlimit(s, &res, &soft, &hard) < 0 || res < 0 || res >= RLIM_NLIMITS)
                        return NULL; /* malformed: InvalidParameter from the Start itself */
                if (hard > (uint64_t) p->rlimits[res].rlim_max || soft > hard)
                        return refuse(ret_message, "rlimits",
                                      "'%s' is above what a backend gets by default (hard limit %llu)", s,
                                      (unsigned long long) p->rlimits[res].rlim_max);
        }
        return NULL;
}

/* Whether a sandbox parameter asks for something, read as loosely as its parsers could: what
 * might mean "yes" counts. */
static bool param_set(json_t *v) {
        const char *s = json_string_value(v);

        if (!v || json_is_null(v) || json_is_false(v))
                return false;
        if (json_is_array(v))
                return json_array_size(v) > 0;
        return !s ||
                (*s && strcmp(s, "no") != 0 && strcmp(s, "false") != 0 && strcmp(s, "off") != 0 &&
                 strcmp(s, "0") != 0);
}

/* The sandbox only takes away, but for two things. Ambient capabilities give a backend that runs
 * as the member capabilities the member does not have: root's alone to give. And a mount
 * namespace made by root could show a setuid program a file system it does not expect (a hidden
 * /etc/pam.d, say): a member's backend with one gets no_new_privs, so nothing it runs gains
 * privileges from a file. */
static const char *check_sandbox(json_t *params, char **ret_message) {
        static const char *const mount_keys[] = { "protectSystem",        "protectHome",
                                                  "readOnlyPaths",        "readWritePaths",
                                                  "inaccessiblePaths",    "privateTmp",
                                                  "privateDevices",       "protectKernelTunables",
                                                  "protectKernelModules", "protectControlGroups" };

        if (param_set(json_object_get(params, "ambientCapabilities")))
                return refuse(ret_message, "ambientCapabilities",
                              "only root may give a backend capabilities (AmbientCapabilities=)");
        for (size_t i = 0; i < ELEMENTSOF(mount_keys); i++)
                if (param_set(json_object_get(params, mount_keys[i]))) {
                        if (json_is_false(json_object_get(params, "noNewPrivileges")))
                                return refuse(ret_message, "noNewPrivileges",
                                              "a backend with a mount namespace (%s) runs with no_new_privs "
                                              "unless root starts it",
                                              mount_keys[i]);
                        if (json_object_set_new(params, "noNewPrivileges", json_true()) < 0)
                                return refuse(ret_message, mount_keys[i], "out of memory");
                        break;
                }
        return NULL;
}

const char *policy_check_start(const policy *p, const struct ucred *cred, json_t *params,
                               char **ret_message) {
        const char *bad;

        *ret_message = NULL;
        /* Root, and a corrald that is not root's own user: neither can ask more than corrald
         * itself may do, which the library checks (User=, namespaces, v1 limits need root). */
        if (cred->uid == 0 || cred->uid == geteuid())
                return NULL;
        bad = check_user(p, cred, params, ret_message);
        if (!bad)
                bad = check_rlimits(p, params, ret_message);
        return bad ?: check_sandbox(params, ret_message);
}
