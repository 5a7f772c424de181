/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* command.c: an auxiliary command of a backend, run in a sub-group of its leaf, watched from the loop
 * through its pidfd until its group is empty and removed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "corral-private.h"
#include "launch.h"
#include "macro.h"
#include "sandbox.h"
#include "syscall.h"

struct command {
        corral *corral; /* NULL once detached (command_kill_all()) */
        command *prev, *next;
        char name[24]; /* "cmd.N" in the leaf */
        char *path;    /* the group below the cgroup2 mount */
        int leaf_fd, group_fd;
        pid_t pid;
        int pidfd;     /* -1 once reaped */
        int stderr_fd; /* read end; -1 at EOF */
        int events_fd; /* the group's cgroup.events while leftovers die; -1 */
        sd_event_source *pidfd_source, *stderr_source, *events_source, *timer;
        siginfo_t si;
        bool reaped, timed_out, ended;
        char tail[OUTPUT_TAIL_SIZE]; /* the last bytes of its stderr */
        size_t tail_len;
        command_done_t done;
        void *userdata;
};

pid_t command_get_pid(const command *cmd) {
        return cmd && !cmd->reaped ? cmd->pid : 0;
}

static void command_link(corral *c, command *cmd) {
        cmd->corral = c;
        cmd->next = c->commands;
        if (c->commands)
                c->commands->prev = cmd;
        c->commands = cmd;
}

static void command_unlink(command *cmd) {
        corral *c = cmd->corral;

        if (!c)
                return;
        *(cmd->prev ? &cmd->prev->next : &c->commands) = cmd->next;
        if (cmd->next)
                cmd->next->prev = cmd->prev;
        cmd->prev = cmd->next = NULL;
        cmd->corral = NULL;
}

static void command_sources_done(command *cmd) {
        cmd->pidfd_source = sd_event_source_disable_unref(cmd->pidfd_source);
        cmd->stderr_source = sd_event_source_disable_unref(cmd->stderr_source);
        cmd->events_source = sd_event_source_disable_unref(cmd->events_source);
        cmd->timer = sd_event_source_disable_unref(cmd->timer);
}

/* Everything but the memory: its group must be empty by now. */
static void command_close(command *cmd) {
        command_sources_done(cmd);
        cmd->pidfd = safe_close(cmd->pidfd);
        cmd->stderr_fd = safe_close(cmd->stderr_fd);
        cmd->events_fd = safe_close(cmd->events_fd);
        cmd->group_fd = safe_close(cmd->group_fd);
        if (cmd->leaf_fd >= 0 && cmd->name[0])
                (void) unlinkat(cmd->leaf_fd, cmd->name, AT_REMOVEDIR);
        cmd->name[0] = '\0';
        cmd->leaf_fd = safe_close(cmd->leaf_fd);
}

static void command_free_memory(command *cmd) {
        free(cmd->path);
        free(cmd);
}

/* What it wrote to stderr: only the last OUTPUT_TAIL_SIZE bytes are kept. */
static void command_read_stderr(command *cmd) {
        char buf[4096];
        ssize_t n;

        while (cmd->stderr_fd >= 0) {
                n = read(cmd->stderr_fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        cmd->stderr_source = sd_event_source_disable_unref(cmd->stderr_source);
                        cmd->stderr_fd = safe_close(cmd->stderr_fd);
                        return;
                }
                if ((size_t) n >= sizeof(cmd->tail)) {
                        memcpy(cmd->tail, buf + n - sizeof(cmd->tail), sizeof(cmd->tail));
                        cmd->tail_len = sizeof(cmd->tail);
                        continue;
                }
                if (cmd->tail_len + (size_t) n > sizeof(cmd->tail)) {
                        size_t drop = cmd->tail_len + (size_t) n - sizeof(cmd->tail);
                        memmove(cmd->tail, cmd->tail + drop, cmd->tail_len - drop);
                        cmd->tail_len -= drop;
                }
                memcpy(cmd->tail + cmd->tail_len, buf, (size_t) n);
                cmd->tail_len += (size_t) n;
        }
}

static int command_on_stderr(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                             void *userdata) {
        command_read_stderr(userdata);
        return 0;
}

static int command_kill_group(command *cmd) {
        cgroup_leaf g = { .fd = cmd->group_fd, .path = cmd->path };
        static const cgroup_caps none = { 0 };

        return cgroup_kill(&g, cmd->corral ? &cmd->corral->features.cgroup : &none);
}

/* Ended, its group empty: the group goes, and its caller hears how it went. */
static void command_end(command *cmd) {
        char tail[OUTPUT_TAIL_SIZE + 1];
        command_result res;

        command_read_stderr(cmd); /* every writer is gone: what is left in the pipe is its last word */
        output_tail_lines(cmd->tail, cmd->tail_len, tail, sizeof(tail));
        res = (command_result){ .si_code = cmd->si.si_code,
                                .status = cmd->si.si_status,
                                .timed_out = cmd->timed_out,
                                .stderr_tail = tail };
        cmd->ended = true;
        command_close(cmd);
        command_unlink(cmd);
        if (cmd->done)
                cmd->done(cmd, &res, cmd->userdata);
        command_free_memory(cmd);
}

static void command_check_empty(command *cmd);

static int command_on_events(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                             void *userdata) {
        command_check_empty(userdata);
        return 0;
}

/* Its first process is reaped: whatever it left in its group is killed, and the end is told once
 * the group is empty (cgroup.events, EPOLLPRI: no polling). */
static void command_check_empty(command *cmd) {
        int r = cgroup_is_populated(cmd->group_fd);

        if (r == 0 || (r < 0 && r != -EINTR))
                return command_end(cmd);
        if (cmd->events_source)
                return;
        (void) command_kill_group(cmd);
        cmd->events_fd = cgroup_events_open(cmd->group_fd);
        if (cmd->events_fd < 0 ||
            sd_event_add_io(cmd->corral->event, &cmd->events_source, cmd->events_fd, EPOLLPRI,
                            command_on_events, cmd) < 0) {
                command_kill_group(cmd); /* cannot watch it: wait here, SIGKILL ends everything */
                while (cgroup_is_populated(cmd->group_fd) > 0 && cmd->events_fd >= 0) {
                        struct pollfd p = { .fd = cmd->events_fd, .events = POLLPRI };
                        (void) poll(&p, 1, -1);
                }
                return command_end(cmd);
        }
        command_check_empty(cmd); /* emptied before the watch was there */
}

/* Its exit status through its pidfd: 1 once it has one, 0 while it runs. */
static int command_wait(command *cmd, int options) {
        siginfo_t si = { 0 };
        int k;

        if (cmd->reaped)
                return 1;
        k = syscall_waitid_pidfd(cmd->pidfd, WEXITED | options, &si);
        if (k == -ECHILD && syscall_pidfd_exit_info(cmd->pidfd, cmd->pid, &si) < 0)
                si = (siginfo_t){ .si_code = 0 }; /* reaped by someone else: how it ended is unknown */
        else if (k < 0 && k != -ECHILD)
                return k;
        else if (k >= 0 && si.si_pid == 0)
                return 0;
        cmd->si = si;
        cmd->reaped = true;
        return 1;
}

/* Its pidfd stays readable once it is reaped, also by a sweep (command_reap()). */
static int command_on_pidfd(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                            void *userdata) {
        command *cmd = userdata;

        if (command_wait(cmd, WNOHANG) <= 0)
                return 0;
        cmd->pidfd_source = sd_event_source_disable_unref(cmd->pidfd_source);
        cmd->pidfd = safe_close(cmd->pidfd);
        cmd->timer = sd_event_source_disable_unref(cmd->timer);
        command_check_empty(cmd);
        return 0;
}

bool command_reap(corral *c, pid_t pid) {
        for (command *cmd = c->commands; cmd; cmd = cmd->next)
                if (!cmd->reaped && cmd->pid == pid) {
                        /* Only reaped here, inside a sweep: its end is told from the loop. */
                        return command_wait(cmd, WNOHANG) > 0;
                }
        return false;
}

static int command_on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        command *cmd = userdata;

        cmd->timer = sd_event_source_disable_unref(cmd->timer);
        cmd->timed_out = true;
        (void) command_kill_group(cmd);
        return 0;
}

/* Its group "cmd.N" in the leaf, unused before. */
static int command_make_group(command *cmd, int leaf_fd, const char *leaf_path) {
        static unsigned seq;

        for (unsigned i = 0; i < 1000; i++) {
                (void) snprintf(cmd->name, sizeof(cmd->name), "cmd.%u", ++seq);
                if (mkdirat(leaf_fd, cmd->name, 0755) == 0)
                        break;
                if (errno != EEXIST || i == 999) {
                        cmd->name[0] = '\0';
                        return negative_errno();
                }
        }
        if (asprintf(&cmd->path, "%s/%s", leaf_path, cmd->name) < 0) {
                cmd->path = NULL;
                return -ENOMEM;
        }
        cmd->group_fd = openat(leaf_fd, cmd->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return cmd->group_fd < 0 ? negative_errno() : 0;
}

static char *command_step_what(const corral_spec *s, const command_params *p, const char *step, int err) {
        char *w = sandbox_step_what(step, err);

        if (w)
                return w;
        if (!step || strcmp(step, "execve") == 0)
                return strdup(p->argv[0]);
        if (strcmp(step, "chdir") == 0 && asprintf(&w, "working directory %s", s->cwd) >= 0)
                return w;
        return strdup(step);
}

static int command_spawn(corral *c, const corral_spec *s, const command_params *p, const launch_prep *prep,
                         command *cmd, char **ret_what) {
        int wr = -1, r = output_pipe(&cmd->stderr_fd, &wr);
        const char *step = NULL;

        if (r < 0)
                return (*ret_what = strdup("stderr pipe")), r;
        spawn_params sp = { .path = prep->path,
                            .argv = p->argv,
                            .envp = prep->env,
                            .cwd = s->cwd,
                            .cgroup_fd = cmd->group_fd,
                            .into_cgroup = c->features.clone_into_cgroup,
                            .creds = launch_prep_creds(prep),
                            .umask = s->umask,
                            .no_new_privs = s->no_new_privs,
                            .rlimits = prep->rlimits,
                            .n_rlimits = prep->n_rlimits,
                            .v1_procs_fds = p->v1_procs_fds,
                            .n_v1_procs_fds = p->v1_procs_fds ? p->n_v1_procs_fds : 0,
                            .stdout_fd = SPAWN_FD_NULL,
                            .stderr_fd = wr,
                            .window = c->window.end > 0 ? &c->window : NULL };
        sandbox_plan plan;

        if (sandbox_settings_any(&s->sandbox)) { /* the main process's sandbox, the same */
                r = sandbox_plan_make(&s->sandbox, prep->have_creds ? prep->creds.uid == 0 : geteuid() == 0,
                                      &c->filters, &plan, ret_what);
                if (r < 0) {
                        safe_close(wr);
                        return *ret_what || (*ret_what = strdup("the sandbox")) ? r : -ENOMEM;
                }
                sp.sandbox = &plan.sb;
        }
        r = spawn_start(&sp, &c->stack, &cmd->pid, &cmd->pidfd, &step);
        safe_close(wr);
        if (r < 0)
                *ret_what = command_step_what(s, p, step, -r);
        if (sp.sandbox)
                sandbox_plan_done(&plan);
        return r;
}

static int command_watch(corral *c, command *cmd, uint64_t timeout_usec) {
        int r = sd_event_add_io(c->event, &cmd->pidfd_source, cmd->pidfd, EPOLLIN, command_on_pidfd, cmd);

        if (r >= 0)
                r = sd_event_add_io(c->event, &cmd->stderr_source, cmd->stderr_fd, EPOLLIN,
                                    command_on_stderr, cmd);
        if (r >= 0 && timeout_usec > 0)
                r = sd_event_add_time_relative(c->event, &cmd->timer, CLOCK_MONOTONIC, timeout_usec, 1000,
                                               command_on_timer, cmd);
        return r;
}

int command_start(corral *c, const corral_spec *s, int leaf_fd, const char *leaf_path,
                  const command_params *p, command_done_t done, void *userdata, command **ret,
                  char **ret_what) {
        launch_prep prep = { 0 };
        command *cmd;
        int r;

        *ret_what = NULL;
        if (!c || !s || leaf_fd < 0 || !leaf_path || !p || !p->argv || !p->argv[0])
                return -EINVAL;
        cmd = calloc(1, sizeof(*cmd));
        if (!cmd)
                return -ENOMEM;
        *cmd = (command){ .leaf_fd = -1,
                          .group_fd = -1,
                          .pidfd = -1,
                          .stderr_fd = -1,
                          .events_fd = -1,
                          .done = done,
                          .userdata = userdata };
        r = launch_prepare_command(c, s, p->argv[0], p->extra_env, &prep, ret_what);
        if (r >= 0 && (cmd->leaf_fd = fcntl(leaf_fd, F_DUPFD_CLOEXEC, 3)) < 0)
                r = negative_errno();
        if (r >= 0 && (r = command_make_group(cmd, cmd->leaf_fd, leaf_path)) < 0)
                *ret_what = strdup("cgroup for the command");
        if (r >= 0)
                r = command_spawn(c, s, p, &prep, cmd, ret_what);
        launch_prep_done(&prep);
        if (r < 0) { /* no process: the group is empty */
                command_close(cmd);
                command_free_memory(cmd);
                return r;
        }
        command_link(c, cmd);
        r = command_watch(c, cmd, p->timeout_usec);
        if (r < 0) {
                free(*ret_what);
                *ret_what = strdup("watching it");
                command_free(cmd);
                return r;
        }
        *ret = cmd;
        return 0;
}

/* SIGKILL to the group, and a wait (no timeout: SIGKILL ends every process that can be ended). */
static void command_kill_wait(command *cmd) {
        struct pollfd p;

        if (cmd->group_fd < 0)
                return;
        (void) command_kill_group(cmd);
        if (!cmd->reaped && cmd->pidfd >= 0)
                (void) command_wait(cmd, 0);
        if (cgroup_is_populated(cmd->group_fd) <= 0)
                return;
        if (cmd->events_fd < 0)
                cmd->events_fd = cgroup_events_open(cmd->group_fd);
        p = (struct pollfd){ .fd = cmd->events_fd, .events = POLLPRI };
        while (cmd->events_fd >= 0 && cgroup_is_populated(cmd->group_fd) > 0)
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        break;
}

command *command_free(command *cmd) {
        if (!cmd)
                return NULL;
        command_sources_done(cmd);
        command_kill_wait(cmd);
        command_close(cmd);
        command_unlink(cmd);
        command_free_memory(cmd);
        return NULL;
}

void command_kill_all(corral *c) {
        while (c->commands) {
                command *cmd = c->commands;
                command_sources_done(cmd);
                command_kill_wait(cmd);
                command_close(cmd);
                command_unlink(cmd);
                cmd->done = NULL;
        }
}
