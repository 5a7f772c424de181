/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* launch.h: one launch of a spec: a fresh leaf, its limits, its output pipes, log file and notify socket,
 * and its process; a result, or nothing left behind. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-limits.h"
#include "output.h"
#include "spawn-clone3.h"

typedef struct corral corral;
typedef struct corral_spec corral_spec;

/* What a launch made, for the backend's record to take over. */
typedef struct launch {
        char id[13];      /* the leaf is <root>/<name>.<id> */
        char *cgroup;     /* its path below the cgroup2 mount */
        pid_t pid;
        int pidfd;
        cgroup_v1_leaf v1; /* its groups in v1 hierarchies, where a limit needs one */
        int out_fd[2];     /* read ends of its stdout and stderr pipes; -1 where not captured */
        int notify_fd;     /* its own $NOTIFY_SOCKET; -1 if it reports nothing */
        output_file log;   /* its log file, open; unset if none */
} launch;

#define LAUNCH_INIT                                                                                         \
        ((launch){ .pidfd = -1,                                                                             \
                   .v1 = CGROUP_V1_LEAF_INIT,                                                               \
                   .out_fd = { -1, -1 },                                                                    \
                   .notify_fd = -1,                                                                         \
                   .log = OUTPUT_FILE_INIT })

/* What the supervisor works out before anything is made: the executable, who it runs as, its
 * limits, its environment. */
typedef struct launch_prep {
        char *path;
        spawn_creds creds;
        bool have_creds;
        char **env;      /* NULL: the spec's own, or the supervisor's */
        char **file_env; /* what its EnvironmentFile= files assign, read now; NULL if none */
        spawn_rlimit rlimits[17];
        size_t n_rlimits;
} launch_prep;

void launch_prep_done(launch_prep *p);
/* Its credentials, or NULL: it runs as the supervisor does. */
const spawn_creds *launch_prep_creds(const launch_prep *p);

/*
 * What a command run beside s's main process gets (command.c): the same user, groups, rlimits and
 * environment (the spec's, with extra_env over it, never the notify socket), its executable argv0
 * looked up with that user's rights, and the working directory checked the same way. 0 with *ret,
 * or -errno with *ret_what (malloc'ed, may be NULL) saying what failed.
 */
int launch_prepare_command(const corral *c, const corral_spec *s, const char *argv0, char *const *extra_env,
                           launch_prep *ret, char **ret_what);

/*
 * Only the leaf of a launch of s, with the spec on it and its limits, for commands to run in
 * before its process (ExecStartPre=): *ret holds its id, path and v1 groups, for launch_start()
 * to start the process in. 0, or -errno with *ret_what (malloc'ed, may be NULL): nothing left.
 */
int launch_leaf_make(corral *c, const corral_spec *s, launch *ret, char **ret_what);

/*
 * Start s in a fresh leaf of c's root (or, where *ret holds one of launch_leaf_make(), in it; else
 * *ret must be LAUNCH_INIT), its spec recorded on the leaf before there is a process in
 * it. What its user names (command, working directory, log file) is reached with that user's
 * rights. Returns 0 with *ret, or -errno with *ret_what saying what failed ("/usr/bin/x",
 * "working directory /srv", "log file ...", malloc'ed, may be NULL): then nothing is left, no
 * leaf, no process, no fd. -ESRCH: its user or group does not exist, and *ret_what is the whole
 * reason ("no such user 'x'"), with no errno to add.
 */
int launch_start(corral *c, const corral_spec *s, launch *ret, char **ret_what);

/* The notify socket of a launch of s that runs already (taken back after a restart of the
 * supervisor): bound again at the address its $NOTIFY_SOCKET names. The fd or -errno. */
int launch_notify_rebind(corral *c, const corral_spec *s, const char *id);

/* The log file of a launch of s that runs already, opened again. 0 or -errno (*ret_what). */
int launch_log_reopen(const corral_spec *s, output_file *f, char **ret_what);
