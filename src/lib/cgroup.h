/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.h: the only door to cgroupfs: the root, leaf cgroups, their events, signals and kills. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the kernel lets us use, probed once (or turned off for tests, see corral_new()). */
typedef struct cgroup_caps {
        bool kill_file;  /* cgroup.kill, 5.14 */
        bool pidfd_info; /* PIDFD_GET_INFO with the cgroup id, 6.13 */
} cgroup_caps;

/* A leaf as signalling needs it: its directory fd and its path below the cgroup2 mount. */
typedef struct cgroup_leaf {
        int fd;
        const char *path;
} cgroup_leaf;

typedef struct cgroup_root {
        char *path;  /* absolute filesystem path, e.g. /sys/fs/cgroup/unified/corral */
        char *mount; /* the cgroup2 mount it lies in, e.g. /sys/fs/cgroup/unified */
        int fd;      /* O_DIRECTORY fd of path */
} cgroup_root;

/* Find the root: override, else $CORRAL_CGROUP_ROOT, else the caller's own cgroup in the cgroup2
 * mount. -ENOMEDIUM: no cgroup2 mount; -EMEDIUMTYPE: the override is not on cgroup2. */
int cgroup_root_open(const char *override, cgroup_root *ret);
void cgroup_root_done(cgroup_root *r);

/* Make a fresh leaf "<name>.<launch>" under the root, with a new random launch id.
 * Writes the launch id (13 bytes with NUL) and returns the leaf's O_DIRECTORY fd, or -errno. */
int cgroup_leaf_create(const cgroup_root *r, const char *name, char ret_launch[static 13]);

/* Remove the leaf directory "<name>.<launch>" (it must be empty). Returns 0 or -errno. */
int cgroup_leaf_remove(const cgroup_root *r, const char *name, const char *launch);

/* Open the leaf's cgroup.events for EPOLLPRI. Returns an fd or -errno. */
int cgroup_events_open(int leaf_fd);

/* 1 if the leaf (or a descendant) holds a live process, 0 if not, -errno: from its cgroup.events,
 * read through the leaf's directory fd. */
int cgroup_is_populated(int leaf_fd);

/* An inotify watch of one of the leaf's files (cgroup.events, memory.events): the kernel
 * notifies a change of them as a modification. Returns the watch or -errno. */
int cgroup_watch_add(int inotify_fd, const cgroup_root *r, const char *name, const char *launch,
                     const char *file);
/* Drop it (once the leaf is removed the kernel has already: then nothing happens). */
void cgroup_watch_remove(int inotify_fd, int wd);

/* Send sig to every process in the leaf, each through a pidfd verified to be in the leaf.
 * Returns the number of processes signalled or -errno. */
int cgroup_signal_all(const cgroup_leaf *leaf, int sig, const cgroup_caps *caps);

/* A pidfd of each process in the leaf and in its commands' groups, checked to be there, in *ret
 * (malloc'ed; the caller closes them): their number, or -errno. Opened before a kill, they tell when
 * each of those processes has ended, which an empty leaf does not: a process leaves its cgroup as
 * it exits, before it is a zombie (on 6.1; not on 6.18). */
int cgroup_open_pidfds(const cgroup_leaf *leaf, const cgroup_caps *caps, int **ret);
/* cgroup.procs of the leaf as a 0-terminated array of pids (malloc'ed): 0 or -errno. */
int cgroup_read_procs(int leaf_fd, pid_t **ret);
/* The leaf's cgroup id (what INET_DIAG_CGROUP_ID and bpf name it by): its inode on cgroup2. */
int cgroup_id(int leaf_fd, uint64_t *ret);

/* Number of processes in the leaf other than pid `except` (0 for none). */
int cgroup_count_procs(int leaf_fd, pid_t except);
/* The process of the leaf that started first, and its start time: -ESRCH if it is empty. */
int cgroup_first_proc(int leaf_fd, pid_t *ret_pid, uint64_t *ret_starttime);

/* SIGKILL every process in the leaf: cgroup.kill (5.14), else freeze, signal each, thaw. */
int cgroup_kill(const cgroup_leaf *leaf, const cgroup_caps *caps);

/* The leaf's memory.events, which polls EPOLLPRI when a counter changes; -ENOENT without the
 * memory controller on v2. */
int cgroup_memory_events_open(int leaf_fd);

/* The oom_kill counter of the leaf's memory.events; -ENOENT without the memory controller. */
int cgroup_oom_kills(int leaf_fd, uint64_t *ret);

/* 1 if cgroup.kill (5.14) exists for leaves under the root, 0 if not, -errno. Looks at the
 * root itself, or at a short-lived probe leaf where the root is the top of the hierarchy. */
int cgroup_probe_kill(const cgroup_root *r);

/* memory.current in bytes (-ENOENT without the memory controller) and cpu.stat's usage_usec. */
int cgroup_memory_current(int leaf_fd, uint64_t *ret);
int cgroup_cpu_usage(int leaf_fd, uint64_t *ret);

/* Move the calling process into the leaf <root>/<name> (made if missing), so that the root has
 * no process of its own (cgroup v2's no-internal-processes rule) and backends go beside it. */
int cgroup_join_leaf(const cgroup_root *r, const char *name);

/* What the supervisor keeps with a leaf, in its extended attributes "trusted.<key>" as root,
 * "user.<key>" when not (a delegated subtree; Linux >= 5.7), gone with the leaf: set replaces the
 * value; get returns a malloc'ed NUL-terminated copy, -ENODATA if there is none (root also reads
 * user.<key> on a leaf owned by root). */
int cgroup_leaf_set_attr(int leaf_fd, const char *key, const char *value);
int cgroup_leaf_get_attr(int leaf_fd, const char *key, char **ret);

/* Open the leaf "<name>.<launch>" under the root. Returns an O_DIRECTORY fd or -errno. */
int cgroup_leaf_open(const cgroup_root *r, const char *name, const char *launch);

/* Whether process pid is now in the cgroup at path (below the cgroup2 mount), per /proc. */
bool cgroup_pid_in(pid_t pid, const char *path);
/* pid's cgroup v2 path (relative to the mount, as in /proc/PID/cgroup), in buf; NULL if unknown. */
const char *cgroup_pid_path(pid_t pid, char *buf, size_t size);
