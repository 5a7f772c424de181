/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-clone3.h: the library's only place that forks: vfork-style clone3 straight into a leaf cgroup, with
 * a pidfd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Who the child becomes, resolved by the parent (creds.c). */
typedef struct spawn_creds {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary */
        size_t n_groups;
} spawn_creds;

typedef struct spawn_rlimit {
        int resource;
        struct rlimit limit;
} spawn_rlimit;

#define SPAWN_FD_NULL (-2) /* /dev/null */

/* A few low fd numbers kept for spawning. The child shares our fd table (CLONE_FILES) and makes
 * its own copy of the fds below the window's end only (close_range(CLOSE_RANGE_UNSHARE)), the
 * fds it needs having been put in the window: without it, clone copies every fd we hold and exec
 * closes them one by one, which with 10,000 backends' pidfds and pipes costs milliseconds. */
#define SPAWN_WINDOW_SLOTS 8
typedef struct spawn_window {
        int slots[SPAWN_WINDOW_SLOTS]; /* on /dev/null when idle; slots[0] is the child's /dev/null */
        unsigned end;                  /* one past the highest slot; 0: no window */
} spawn_window;

/* Take the lowest free fds from 3 up (best done early, while they are low). 0 or -errno. */
int spawn_window_init(spawn_window *w);
void spawn_window_done(spawn_window *w);

/* One step of a sandbox's mount namespace, in order (sandbox.c makes them). */
typedef enum spawn_mount_op {
        SPAWN_MOUNT_READ_ONLY,  /* bind the tree on itself, read-only (recursively) */
        SPAWN_MOUNT_READ_WRITE, /* bind the tree on itself, writable again */
        SPAWN_MOUNT_HIDE,  /* a directory: an empty mode 000 read-only tmpfs; a file: /dev/null, nodev */
        SPAWN_MOUNT_TMPFS, /* a new tmpfs, data its options */
        SPAWN_MOUNT_DEV,   /* a new /dev with null, zero, full, random, urandom, tty, shm, pts */
} spawn_mount_op;

typedef struct spawn_mount {
        spawn_mount_op op;
        const char *path;
        const char *data;    /* tmpfs: its options */
        unsigned long flags; /* tmpfs: MS_* */
        bool optional;       /* a path that does not exist is skipped */
        const char *what;    /* its words in a failure: "ReadOnlyPaths=/srv" */
} spawn_mount;

#define SPAWN_FILTERS_MAX 6
struct sock_fprog;

/* The step of the child that makes the user namespace, as spawn_start() names it. */
#define SPAWN_STEP_USER_NS "the sandbox's user namespace"

/* What a sandboxed child does besides, prepared by the parent: syscalls only in the child. */
typedef struct spawn_sandbox {
        bool active;
        /* A supervisor that is not root: a user namespace first, where only our own uid and gid
         * exist (setgroups denied), for the namespaces below; every capability it gave is dropped
         * (bounding set included) before exec. */
        bool user_ns;
        const char *uid_map, *gid_map; /* "65534 65534 1\n" */
        bool drop_bounding; /* drop every capability up to last_cap not in keep */
        uint64_t keep;
        unsigned last_cap;
        uint64_t ambient; /* raised as ambient capabilities, after the uid changed */
        bool mount_ns;
        const spawn_mount *mounts;
        size_t n_mounts;
        bool net_ns;       /* its own network namespace, lo up */
        bool no_new_privs; /* implied by a filter that an unprivileged process could not load */
        const struct sock_fprog *filters; /* loaded in order, last of all */
        size_t n_filters;
} spawn_sandbox;

typedef struct spawn_params {
        const char *path; /* executable, already resolved (spawn_resolve()) */
        char *const *argv;
        char *const *envp;
        const char *cwd;          /* NULL: the supervisor's */
        int cgroup_fd;            /* the leaf, O_DIRECTORY */
        bool into_cgroup;         /* CLONE_INTO_CGROUP works (5.7); else the child joins the leaf itself */
        const spawn_creds *creds; /* NULL: stay who we are */
        int umask;                /* -1: inherit */
        bool no_new_privs;
        const spawn_rlimit *rlimits;
        size_t n_rlimits;
        const int *v1_procs_fds; /* cgroup v1 groups to join (their cgroup.procs), -1 to skip */
        size_t n_v1_procs_fds;
        int stdout_fd, stderr_fd; /* where its output goes; -1: the supervisor's own; SPAWN_FD_NULL */
        spawn_window *window;     /* NULL: the child gets a copy of every fd (then closed at exec) */
        const spawn_sandbox *sandbox; /* NULL: none (no work at all for it) */
} spawn_params;

/* The child's stack for vfork-style clone3, with a guard page; reused across spawns. */
typedef struct spawn_stack {
        void *base;
        size_t size;
} spawn_stack;

void spawn_stack_done(spawn_stack *s);

/* 0 if path is a directory we may enter, else -errno (-ENOENT, -ENOTDIR, -EACCES). */
int spawn_check_directory(const char *path);

/* Look cmd up in $PATH as execvp() would (no lookup if it has a '/').
 * Returns 0 and a malloc'ed path, -ENOENT or -EACCES. */
int spawn_resolve(const char *cmd, char **ret_path);

/* Start p->path in the leaf as a new session, default signal mask and dispositions, stdin on
 * /dev/null, no fds but 0, 1, 2, with the rlimits, umask, no_new_privs and credentials asked for.
 * Returns 0 with the pid and an O_CLOEXEC pidfd, or -errno; a failure in the child is returned as
 * its errno, with *ret_step naming the step ("execve", "setuid", ...), after it has been reaped. */
int spawn_start(const spawn_params *p, spawn_stack *stack, pid_t *ret_pid, int *ret_pidfd,
                const char **ret_step);
