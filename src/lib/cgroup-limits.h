/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-limits.h: a leaf's resource limits: cgroup v2's own files, or on hybrid hosts a matching
 * cgroup in each v1 hierarchy that enforces one (made with libcgroup). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"

#define CGROUP_LIMIT_NONE UINT64_MAX

typedef struct cgroup_limits {
        uint64_t memory_max; /* bytes */
        uint64_t pids_max;
        uint64_t cpu_quota_usec; /* per cpu_period_usec */
        uint64_t cpu_period_usec;
        uint64_t cpu_weight; /* 1..10000, as cgroup v2's cpu.weight */
} cgroup_limits;

#define CGROUP_LIMITS_NONE                                                                                  \
        ((cgroup_limits){ .memory_max = CGROUP_LIMIT_NONE,                                                  \
                          .pids_max = CGROUP_LIMIT_NONE,                                                    \
                          .cpu_quota_usec = CGROUP_LIMIT_NONE,                                              \
                          .cpu_period_usec = 100000,                                                        \
                          .cpu_weight = CGROUP_LIMIT_NONE })

typedef enum cgroup_ctl {
        CGROUP_CTL_MEMORY,
        CGROUP_CTL_PIDS,
        CGROUP_CTL_CPU,
        _CGROUP_CTL_MAX,
} cgroup_ctl;

/* Where a controller can be used for leaves under the root. */
typedef enum cgroup_where {
        CGROUP_UNKNOWN, /* not looked at yet */
        CGROUP_NOWHERE,
        CGROUP_V2, /* offered to the root by its parent (the root's cgroup.controllers) */
        CGROUP_V1, /* mounted as a cgroup v1 hierarchy of its own */
} cgroup_where;

/* Each controller's place, found once, and the v1 cgroups made to mirror the root. */
typedef struct cgroup_limits_host {
        cgroup_where where[_CGROUP_CTL_MAX];
        char *v1_mount[_CGROUP_CTL_MAX];
        bool v1_root_made[_CGROUP_CTL_MAX]; /* we made the root's mirror: removed at the end */
        bool v1_disabled;                   /* as on a pure cgroup v2 host (tests) */
} cgroup_limits_host;

/* A leaf's v1 cgroups: for each controller in use there, an fd of its cgroup.procs, which the
 * child writes "0" to before it execs; the memory one's directory, for its OOM counter. */
typedef struct cgroup_v1_leaf {
        char *path; /* below each v1 mount, the same as the v2 leaf's below the cgroup2 mount */
        int procs_fd[_CGROUP_CTL_MAX];
        int memory_fd;
        unsigned mask; /* 1 << cgroup_ctl made */
} cgroup_v1_leaf;

#define CGROUP_V1_LEAF_INIT ((cgroup_v1_leaf){ .procs_fd = { -1, -1, -1 }, .memory_fd = -1 })

bool cgroup_limits_any(const cgroup_limits *l);
const char *cgroup_ctl_to_string(cgroup_ctl c);

/* Apply the limits to a new, still empty leaf (leaf_path below the cgroup2 mount): v2 files, and
 * v1 cgroups where the host has the controller only there. -EOPNOTSUPP if a limit cannot be
 * enforced on this host; *ret_what then (and on any error) names the problem. */
int cgroup_limits_apply(cgroup_limits_host *h, const cgroup_root *r, int leaf_fd, const char *leaf_path,
                        const cgroup_limits *l, cgroup_v1_leaf *ret_v1, char **ret_what);

/* The v1 groups of a leaf made by an earlier supervisor (re-adoption): known again, to read the
 * OOM counter and to remove them with the leaf. */
int cgroup_limits_reopen(cgroup_limits_host *h, const cgroup_root *r, const char *leaf_path,
                         const cgroup_limits *l, cgroup_v1_leaf *ret_v1);

/* Remove a leaf's v1 cgroups (they are empty once the v2 leaf is) and close its fds. */
void cgroup_v1_leaf_done(cgroup_v1_leaf *v);

/* A leaf is gone: its v1 cgroups too (cgroup_v1_leaf_done()), and the root's mirrors of its
 * controllers where we (or a supervisor before us) made them and no other leaf is in them. */
void cgroup_limits_release(cgroup_limits_host *h, const cgroup_root *r, cgroup_v1_leaf *v);

/* Remove the root mirrors made in v1 hierarchies (by us or, as the root's xattrs say, by a
 * supervisor before us), if empty, and forget the host. */
void cgroup_limits_host_done(cgroup_limits_host *h, const cgroup_root *r);

/* The oom_kill counter: the v1 memory cgroup's memory.oom_control if the leaf has one, else the
 * v2 leaf's memory.events. -ENOENT where neither is there. */
int cgroup_limits_oom_kills(int leaf_fd, const cgroup_v1_leaf *v, uint64_t *ret);

/* Memory in use: the v1 memory cgroup's memory.usage_in_bytes if the leaf has one (hybrid hosts),
 * else the v2 leaf's memory.current. -ENOENT where neither is there. */
int cgroup_limits_memory_usage(int leaf_fd, const cgroup_v1_leaf *v, uint64_t *ret);
