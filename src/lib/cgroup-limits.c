/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-limits.c: a leaf's resource limits: cgroup v2's own files, or on hybrid hosts a matching
 * cgroup in each v1 hierarchy that enforces one (made with libcgroup). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup-limits.h"
#include "fileio.h"
#include "macro.h"

static const char *const ctl_names[_CGROUP_CTL_MAX] = {
        [CGROUP_CTL_MEMORY] = "memory",
        [CGROUP_CTL_PIDS] = "pids",
        [CGROUP_CTL_CPU] = "cpu",
};

const char *cgroup_ctl_to_string(cgroup_ctl c) {
        return (unsigned) c < _CGROUP_CTL_MAX ? ctl_names[c] : NULL;
}

static bool limits_want(const cgroup_limits *l, cgroup_ctl c) {
        switch (c) {
        case CGROUP_CTL_MEMORY:
                return l->memory_max != CGROUP_LIMIT_NONE;
        case CGROUP_CTL_PIDS:
                return l->pids_max != CGROUP_LIMIT_NONE;
        case CGROUP_CTL_CPU:
                return l->cpu_quota_usec != CGROUP_LIMIT_NONE || l->cpu_weight != CGROUP_LIMIT_NONE;
        default:
                return false;
        }
}

bool cgroup_limits_any(const cgroup_limits *l) {
        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++)
                if (limits_want(l, c))
                        return true;
        return false;
}

/* Whether word is one of the space-separated words of list. */
static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

/* libcgroup reads the mount table once; later mounts are not seen, as with any supervisor. */
static int libcgroup_ready(void) {
        static int done = 0, rc;

        if (!done) {
                rc = cgroup_init();
                done = 1;
        }
        return rc == 0 ? 0 : -ENOMEDIUM;
}

static cgroup_where limits_locate(cgroup_limits_host *h, const cgroup_root *r, cgroup_ctl c) {
        char buf[512];
        char *mnt = NULL;

        if (h->where[c] != CGROUP_UNKNOWN)
                return h->where[c];
        h->where[c] = CGROUP_NOWHERE;
        if (read_small_at(r->fd, "cgroup.controllers", buf, sizeof(buf)) >= 0 && word_in(buf, ctl_names[c]))
                h->where[c] = CGROUP_V2;
        else if (!h->v1_disabled && libcgroup_ready() == 0 &&
                 cgroup_get_subsys_mount_point(ctl_names[c], &mnt) == 0 && mnt &&
                 strcmp(mnt, r->mount) != 0) { /* libcgroup also names the v2 mount for v2 ones */
                h->where[c] = CGROUP_V1;
                h->v1_mount[c] = TAKE_PTR(mnt);
        }
        free(mnt);
        return h->where[c];
}

/* The root's children get the controller: "+memory" in its cgroup.subtree_control. */
static int limits_enable_v2(const cgroup_root *r, cgroup_ctl c, char **ret_what) {
        char buf[512], op[16];
        int k;

        if (read_small_at(r->fd, "cgroup.subtree_control", buf, sizeof(buf)) >= 0 &&
            word_in(buf, ctl_names[c]))
                return 0;
        (void) snprintf(op, sizeof(op), "+%s", ctl_names[c]);
        k = write_string_at(r->fd, "cgroup.subtree_control", op);
        if (k < 0 &&
            asprintf(ret_what, "cannot enable the %s controller in %s/cgroup.subtree_control%s",
                     ctl_names[c], r->path,
                     k == -EBUSY ? " (the root holds processes: corrald --own-leaf moves itself aside)"
                                 : "") < 0)
                *ret_what = NULL;
        return k;
}

static int write_u64_or_max(int fd, const char *file, uint64_t v) {
        char buf[32];

        if (v == CGROUP_LIMIT_NONE)
                return write_string_at(fd, file, "max");
        (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return write_string_at(fd, file, buf);
}

static int limits_write_v2(int leaf_fd, const cgroup_limits *l, cgroup_ctl c, const char **ret_file) {
        char buf[64];
        int k = 0;

        switch (c) {
        case CGROUP_CTL_MEMORY:
                *ret_file = "memory.max";
                return write_u64_or_max(leaf_fd, "memory.max", l->memory_max);
        case CGROUP_CTL_PIDS:
                *ret_file = "pids.max";
                return write_u64_or_max(leaf_fd, "pids.max", l->pids_max);
        case CGROUP_CTL_CPU:
                if (l->cpu_quota_usec != CGROUP_LIMIT_NONE) {
                        *ret_file = "cpu.max";
                        (void) snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, l->cpu_quota_usec,
                                        l->cpu_period_usec);
                        k = write_string_at(leaf_fd, "cpu.max", buf);
                }
                if (k >= 0 && l->cpu_weight != CGROUP_LIMIT_NONE) {
                        *ret_file = "cpu.weight";
                        k = write_u64_or_max(leaf_fd, "cpu.weight", l->cpu_weight);
                }
                return k;
        default:
                return -EINVAL;
        }
}

/* One value, and its words in desc ("pids.max=64 ") for a message if the groups cannot be made. */
static void v1_add(struct cgroup_controller *cc, const char *key, uint64_t v, FILE *desc) {
        if (v == CGROUP_LIMIT_NONE)
                return;
        (void) cgroup_add_value_uint64(cc, key, v);
        if (desc)
                fprintf(desc, "%s%s=%" PRIu64, ftell(desc) > 0 ? " " : "", key, v);
}

/* The v1 files of the same limits; cpu.weight's 100 is cpu.shares' 1024, as systemd maps it. */
static int limits_add_v1(struct cgroup *cg, const cgroup_limits *l, cgroup_ctl c, FILE *desc) {
        struct cgroup_controller *cc = cgroup_add_controller(cg, ctl_names[c]);

        if (!cc)
                return -ENOMEM;
        switch (c) {
        case CGROUP_CTL_MEMORY:
                v1_add(cc, "memory.limit_in_bytes", l->memory_max, desc);
                break;
        case CGROUP_CTL_PIDS:
                v1_add(cc, "pids.max", l->pids_max, desc);
                break;
        case CGROUP_CTL_CPU:
                if (l->cpu_quota_usec != CGROUP_LIMIT_NONE) {
                        v1_add(cc, "cpu.cfs_period_us", l->cpu_period_usec, desc);
                        v1_add(cc, "cpu.cfs_quota_us", l->cpu_quota_usec, desc);
                }
                if (l->cpu_weight != CGROUP_LIMIT_NONE)
                        v1_add(cc, "cpu.shares",
                               l->cpu_weight * 1024 / 100 < 2 ? 2 : l->cpu_weight * 1024 / 100, desc);
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

/* That we made the root's mirror in the controller's v1 hierarchy is kept on the root itself (a
 * trusted.* xattr of the cgroup2 directory), where a supervisor after us finds it: a mirror we
 * made is removed once no backend uses it, even by another corrald than the one that made it;
 * one we did not make is never touched. */
static void limits_v1_root_key(cgroup_ctl c, char *buf, size_t size) {
        (void) snprintf(buf, size, "trusted.corral.v1root.%s", ctl_names[c]);
}

static bool limits_v1_root_marked(const cgroup_root *r, cgroup_ctl c) {
        char key[64];

        limits_v1_root_key(c, key, sizeof(key));
        return fgetxattr(r->fd, key, NULL, 0) >= 0;
}

static void limits_v1_root_mark(const cgroup_root *r, cgroup_ctl c, bool made) {
        char key[64];

        limits_v1_root_key(c, key, sizeof(key));
        if (made)
                (void) fsetxattr(r->fd, key, "1", 1, 0);
        else
                (void) fremovexattr(r->fd, key);
}

static char *limits_v1_root_path(const cgroup_limits_host *h, const cgroup_root *r, cgroup_ctl c) {
        char *p;

        return asprintf(&p, "%s%s", h->v1_mount[c], r->path + strlen(r->mount)) < 0 ? NULL : p;
}

/* Make the root's mirror in a v1 hierarchy if it is missing, remembering that we did. */
static int limits_v1_root(cgroup_limits_host *h, const cgroup_root *r, cgroup_ctl c) {
        _cleanup_free_ char *p = NULL;

        if (h->v1_root_made[c] || strcmp(r->path, r->mount) == 0)
                return 0;
        if (!(p = limits_v1_root_path(h, r, c)))
                return -ENOMEM;
        if (mkdir(p, 0755) == 0) {
                h->v1_root_made[c] = true;
                limits_v1_root_mark(r, c, true);
        } else if (errno != EEXIST)
                return negative_errno(); /* a root nested deeper than one missing level, say */
        else
                h->v1_root_made[c] = limits_v1_root_marked(r, c); /* made by a supervisor before us */
        return 0;
}

/* The root's mirror goes if we made it and no leaf is in it any more (rmdir fails while one is). */
static void limits_v1_root_release(cgroup_limits_host *h, const cgroup_root *r, cgroup_ctl c) {
        _cleanup_free_ char *p = NULL;

        if (!h->v1_root_made[c] || !h->v1_mount[c] || !(p = limits_v1_root_path(h, r, c)))
                return;
        if (rmdir(p) < 0 && errno != ENOENT)
                return;
        h->v1_root_made[c] = false;
        limits_v1_root_mark(r, c, false);
}

static int limits_v1_open(cgroup_limits_host *h, cgroup_v1_leaf *v, cgroup_ctl c) {
        _cleanup_free_ char *dir = NULL;
        int dfd;

        if (asprintf(&dir, "%s%s", h->v1_mount[c], v->path) < 0)
                return -ENOMEM;
        dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        v->procs_fd[c] = openat(dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (c == CGROUP_CTL_MEMORY)
                v->memory_fd = dfd;
        else
                safe_close(dfd);
        return v->procs_fd[c] < 0 ? negative_errno() : 0;
}

static struct cgroup *v1_cgroup_new(const char *path, unsigned mask) {
        struct cgroup *cg = cgroup_new_cgroup(path + 1); /* relative to each mount */

        for (cgroup_ctl c = 0; cg && c < _CGROUP_CTL_MAX; c++)
                if ((mask & (1u << c)) && !cgroup_add_controller(cg, ctl_names[c]))
                        cgroup_free(&cg);
        return cg;
}

/* The groups, made by libcgroup with their values. If that fails half way, what was made is
 * removed with the leaf (v->mask is set first), and *ret_what names the values, the errno being
 * said by the caller once. */
static int limits_apply_v1(cgroup_limits_host *h, const cgroup_root *r, const cgroup_limits *l,
                           unsigned mask, cgroup_v1_leaf *v, char **ret_what) {
        struct cgroup *cg = cgroup_new_cgroup(v->path + 1);
        _cleanup_free_ char *desc = NULL;
        size_t desc_size = 0;
        FILE *d = open_memstream(&desc, &desc_size);
        int k = cg && d ? 0 : -ENOMEM, rc;

        for (cgroup_ctl c = 0; k >= 0 && c < _CGROUP_CTL_MAX; c++)
                if (mask & (1u << c)) {
                        k = limits_v1_root(h, r, c);
                        if (k >= 0)
                                k = limits_add_v1(cg, l, c, d);
                }
        if (d && fclose(d) != 0 && k >= 0)
                k = -ENOMEM;
        v->mask = mask;
        if (k >= 0 && (rc = cgroup_create_cgroup(cg, 0)) != 0) {
                k = rc == ECGOTHER ? -cgroup_get_last_errno() : -EIO;
                if (asprintf(ret_what, "cannot set %s in the cgroup v1 group %s%s%s", desc ?: "the limits",
                             v->path, rc == ECGOTHER ? "" : ": ",
                             rc == ECGOTHER ? "" : cgroup_strerror(rc)) < 0)
                        *ret_what = NULL;
        }
        if (cg)
                cgroup_free(&cg);
        for (cgroup_ctl c = 0; k >= 0 && c < _CGROUP_CTL_MAX; c++)
                if (mask & (1u << c))
                        k = limits_v1_open(h, v, c);
        return k;
}

int cgroup_limits_apply(cgroup_limits_host *h, const cgroup_root *r, int leaf_fd, const char *leaf_path,
                        const cgroup_limits *l, cgroup_v1_leaf *ret_v1, char **ret_what) {
        unsigned v1_mask = 0;
        const char *file = NULL;
        int k;

        *ret_v1 = CGROUP_V1_LEAF_INIT;
        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++) {
                if (!limits_want(l, c))
                        continue;
                switch (limits_locate(h, r, c)) {
                case CGROUP_V2:
                        k = limits_enable_v2(r, c, ret_what);
                        if (k >= 0)
                                k = limits_write_v2(leaf_fd, l, c, &file);
                        if (k < 0 && !*ret_what &&
                            asprintf(ret_what, "cannot write %s in %s", file ?: ctl_names[c], leaf_path) < 0)
                                *ret_what = NULL;
                        if (k < 0)
                                return k;
                        break;
                case CGROUP_V1:
                        /* A v1 hierarchy is not part of a delegated v2 subtree: only root makes
                         * groups there. */
                        if (geteuid() != 0) {
                                if (asprintf(ret_what,
                                             "%s needs a supervisor running as root on this host: the %s "
                                             "controller is in a cgroup v1 hierarchy, not in the cgroup v2 "
                                             "subtree %s (this one runs as uid %u)",
                                             c == CGROUP_CTL_MEMORY ? "MemoryMax="
                                             : c == CGROUP_CTL_PIDS ? "TasksMax="
                                                                    : "CPUQuota=/CPUWeight=",
                                             ctl_names[c], r->path, (unsigned) geteuid()) < 0)
                                        *ret_what = NULL;
                                return -EPERM;
                        }
                        v1_mask |= 1u << c;
                        break;
                default:
                        if (asprintf(ret_what,
                                     "%s limit: this host has no %s controller for %s (not offered in its "
                                     "cgroup.controllers, nor mounted as cgroup v1)",
                                     ctl_names[c], ctl_names[c], r->path) < 0)
                                *ret_what = NULL;
                        return -EOPNOTSUPP;
                }
        }
        if (!v1_mask)
                return 0;
        ret_v1->path = strdup(leaf_path);
        if (!ret_v1->path)
                return -ENOMEM;
        k = limits_apply_v1(h, r, l, v1_mask, ret_v1, ret_what);
        if (k < 0 && !*ret_what &&
            asprintf(ret_what, "cannot set up the cgroup v1 groups %s", leaf_path) < 0)
                *ret_what = NULL;
        return k;
}

void cgroup_v1_leaf_done(cgroup_v1_leaf *v) {
        struct cgroup *cg;

        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++)
                v->procs_fd[c] = safe_close(v->procs_fd[c]);
        v->memory_fd = safe_close(v->memory_fd);
        if (v->mask && v->path && (cg = v1_cgroup_new(v->path, v->mask))) {
                (void) cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY);
                cgroup_free(&cg);
        }
        free(v->path);
        *v = CGROUP_V1_LEAF_INIT;
}

void cgroup_limits_release(cgroup_limits_host *h, const cgroup_root *r, cgroup_v1_leaf *v) {
        unsigned mask = v->mask;

        cgroup_v1_leaf_done(v);
        for (cgroup_ctl c = 0; h && r && c < _CGROUP_CTL_MAX; c++)
                if (mask & (1u << c))
                        limits_v1_root_release(h, r, c);
}

void cgroup_limits_host_done(cgroup_limits_host *h, const cgroup_root *r) {
        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++) {
                /* one a supervisor before us made, that no backend taken back used: ours too */
                if (!h->v1_root_made[c] && r && r->fd >= 0 && limits_v1_root_marked(r, c) &&
                    limits_locate(h, r, c) == CGROUP_V1)
                        h->v1_root_made[c] = true;
                if (r)
                        limits_v1_root_release(h, r, c);
                free(h->v1_mount[c]);
        }
        *h = (cgroup_limits_host){ 0 };
}

int cgroup_limits_oom_kills(int leaf_fd, const cgroup_v1_leaf *v, uint64_t *ret) {
        char buf[512];
        ssize_t n;

        if (!v || v->memory_fd < 0)
                return cgroup_oom_kills(leaf_fd, ret);
        n = read_small_at(v->memory_fd, "memory.oom_control", buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        return keyed_file_get(buf, "oom_kill", ret);
}

int cgroup_limits_memory_usage(int leaf_fd, const cgroup_v1_leaf *v, uint64_t *ret) {
        char buf[64], *end;
        unsigned long long n;
        ssize_t k;

        if (!v || v->memory_fd < 0)
                return cgroup_memory_current(leaf_fd, ret);
        k = read_small_at(v->memory_fd, "memory.usage_in_bytes", buf, sizeof(buf));
        if (k < 0)
                return (int) k;
        errno = 0;
        n = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf)
                return -EINVAL;
        *ret = n;
        return 0;
}

int cgroup_limits_reopen(cgroup_limits_host *h, const cgroup_root *r, const char *leaf_path,
                         const cgroup_limits *l, cgroup_v1_leaf *ret_v1) {
        _cleanup_free_ char *dir = NULL;

        *ret_v1 = CGROUP_V1_LEAF_INIT;
        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++)
                if (limits_want(l, c) && limits_locate(h, r, c) == CGROUP_V1)
                        ret_v1->mask |= 1u << c;
        if (!ret_v1->mask)
                return 0;
        for (cgroup_ctl c = 0; c < _CGROUP_CTL_MAX; c++)
                if ((ret_v1->mask & (1u << c)) && !h->v1_root_made[c])
                        h->v1_root_made[c] = limits_v1_root_marked(r, c);
        ret_v1->path = strdup(leaf_path);
        if (!ret_v1->path)
                return -ENOMEM;
        if ((ret_v1->mask & (1u << CGROUP_CTL_MEMORY)) &&
            asprintf(&dir, "%s%s", h->v1_mount[CGROUP_CTL_MEMORY], leaf_path) >= 0)
                ret_v1->memory_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        return 0;
}
