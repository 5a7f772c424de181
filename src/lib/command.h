/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* command.h: an auxiliary command of a backend (ExecStartPre=, ExecStopPost=, ExecReload=, an exec probe)
 * run in a sub-group of its leaf as its main process would run, tracked by a pidfd in the loop, with a
 * deadline and the tail of its stderr; nothing of it outlives it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct corral corral;
typedef struct corral_spec corral_spec;
typedef struct command command;

/*
 * How a command went. error < 0: it never ran (what names the step: "/usr/sbin/nginx", "setuid",
 * "working directory /srv", "cgroup", ...). Else si_code is CLD_EXITED (status: its exit code),
 * CLD_KILLED or CLD_DUMPED (status: the signal); timed_out says the signal was ours, at its
 * deadline. stderr_tail: the last lines (at most 5, 1 KiB) it wrote to stderr, valid UTF-8, ""
 * if none. Everything is valid during the callback only.
 */
typedef struct command_result {
        int error;
        const char *what;
        int si_code;
        int status;
        bool timed_out;
        const char *stderr_tail;
} command_result;

/* Whether it ran and exited 0. */
static inline bool command_result_ok(const command_result *r) {
        return r->error >= 0 && r->si_code == 1 /* CLD_EXITED */ && r->status == 0;
}

/* Called once, from the loop, when the command has ended and its group is empty and removed (or
 * it could not start): the command is freed right after it returns, so the caller forgets its
 * pointer here. Never called after command_free(). */
typedef void (*command_done_t)(command *cmd, const command_result *res, void *userdata);

typedef struct command_params {
        char *const *argv;       /* argv[0] is looked up in $PATH as the backend's user would */
        char *const *extra_env;  /* added over the spec's environment (MAINPID=..., ...); may be NULL */
        uint64_t timeout_usec;   /* killed (SIGKILL to its whole group) after this; 0: no deadline */
        const int *v1_procs_fds; /* the backend's cgroup v1 groups to join (cgroup_v1_leaf), -1 to skip */
        size_t n_v1_procs_fds;
} command_params;

/*
 * Run p->argv as spec s's main process runs (its user and groups, umask, rlimits, no_new_privs,
 * working directory, environment; stdin and stdout on /dev/null, stderr captured), in a new
 * sub-group "cmd.N" of the leaf (leaf_fd, at leaf_path below the cgroup2 mount): its limits count
 * against the backend's, its processes are not the backend's (no leftovers, no notify messages),
 * and the whole group is killed when it ends or is cancelled. c's loop watches it through a
 * pidfd. Returns 0 with *ret (owned by the caller until done is called), or -errno with
 * *ret_what (malloc'ed, may be NULL) saying what failed; then done is never called.
 */
int command_start(corral *c, const corral_spec *s, int leaf_fd, const char *leaf_path,
                  const command_params *p, command_done_t done, void *userdata, command **ret,
                  char **ret_what);

/* Cancel: its whole group is killed, and waited for (SIGKILL ends every process), the group
 * removed; done is not called. NULL is fine. Returns NULL. */
command *command_free(command *cmd);

/* The pid of its first process (0 once reaped): only for messages and tests. */
pid_t command_get_pid(const command *cmd);

/* --- For the supervisor (corral.c, backend.c). --- */

/* A zombie child of ours with this pid is one of our commands: reaped through its pidfd, its end
 * handled. true if it was one. */
bool command_reap(corral *c, pid_t pid);

/* corral_free(): every command still running is killed and waited for, and detached from c (its
 * owner may still command_free() it; done is never called). */
void command_kill_all(corral *c);
