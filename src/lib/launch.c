/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* launch.c: one launch of a spec: a fresh leaf, its limits, its output pipes, log file and notify socket,
 * and its process; a result, or nothing left behind. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "corral-private.h"
#include "creds.h"
#include "envfile.h"
#include "launch.h"
#include "macro.h"
#include "notify.h"
#include "safepath.h"
#include "sandbox.h"
#include "strv.h"

extern char **environ;

void launch_prep_done(launch_prep *p) {
        free(p->path);
        creds_done(&p->creds);
        strv_free(p->env);
        strv_free(p->file_env);
        *p = (launch_prep){ 0 };
}

const spawn_creds *launch_prep_creds(const launch_prep *p) {
        return p->have_creds ? &p->creds : NULL;
}

/* base with the entries of extra over it. */
static int env_merge(char *const *base, char *const *extra, char ***ret) {
        size_t n = 0, k = 0;
        char **v;

        for (char *const *e = base; e && *e; e++)
                n++;
        for (char *const *e = extra; e && *e; e++)
                n++;
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (char *const *e = base; e && *e; e++) {
                size_t key = strcspn(*e, "=");
                bool overridden = false;
                for (char *const *x = extra; x && *x && !overridden; x++)
                        overridden = strncmp(*x, *e, key + 1) == 0;
                if (!overridden && !(v[k++] = strdup(*e)))
                        return strv_free(v), -ENOMEM;
        }
        for (char *const *x = extra; x && *x; x++)
                if (!(v[k++] = strdup(*x)))
                        return strv_free(v), -ENOMEM;
        *ret = v;
        return 0;
}

/* Its environment, in layers, each over the one before as in systemd: the supervisor's (unless
 * ClearEnvironment=), its EnvironmentFile= files, the spec's Environment=, and NOTIFY_SOCKET and
 * WATCHDOG_USEC where it has a notify socket. NULL in *ret where that is just environ or the spec's. */
static int launch_env(const corral_spec *s, char *const *file_env, const char *notify_path, char ***ret) {
        _cleanup_free_ char *var = NULL, *wd = NULL;
        char *const *base = s->envp && !s->env_extend ? NULL : environ;
        char **a = NULL, **b = NULL;
        int r;

        *ret = NULL;
        if (!notify_path && !file_env)
                return s->env_extend ? env_merge(environ, s->envp, ret) : 0;
        if (notify_path && asprintf(&var, "NOTIFY_SOCKET=%s", notify_path) < 0)
                return -ENOMEM;
        if (notify_path && s->watchdog_usec > 0 &&
            asprintf(&wd, "WATCHDOG_USEC=%" PRIu64, s->watchdog_usec) < 0)
                return -ENOMEM;
        r = env_merge(base, file_env, &a);
        if (r >= 0)
                r = env_merge(a, s->envp, &b);
        if (r >= 0)
                r = env_merge(b, (char *[]){ var, wd, NULL }, ret);
        strv_free(a);
        strv_free(b);
        return r;
}

#define ENV_FILE_ASSIGNMENTS_MAX 4096

/* One file, read with the calling thread's (the backend's user's) rights, no symlink followed. */
static int launch_env_file_read(const char *path, char ***ret) {
        _cleanup_free_ char *base = NULL, *text = NULL;
        _cleanup_close_ int dir = safepath_open_parent(path, &base), fd = -EBADF;
        size_t len = 0;
        ssize_t n;

        if (dir < 0)
                return dir;
        fd = safepath_open_regular_at(dir, base, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
                return fd;
        text = malloc(ENVFILE_SIZE_MAX + 1);
        if (!text)
                return -ENOMEM;
        while (len <= ENVFILE_SIZE_MAX && (n = read(fd, text + len, ENVFILE_SIZE_MAX + 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                len += (size_t) n;
        }
        return envfile_parse(text, len, ret, NULL);
}

/* Its EnvironmentFile= files, read now (each start), as its user: a later assignment of a key wins. */
static int launch_env_files(const corral_spec *s, launch_prep *p, char **ret_what) {
        creds_fs_saved saved;
        int r = 0;

        if (!s->env_files || !s->env_files[0])
                return 0;
        r = creds_fs_enter(launch_prep_creds(p), &saved);
        if (r < 0)
                return asprintf(ret_what, "acting as user %s", s->user ?: s->group) < 0 ? -ENOMEM : r;
        for (char **f = s->env_files; r >= 0 && *f; f++) {
                const char *path = **f == '-' ? *f + 1 : *f;
                char **items = NULL, **merged = NULL;
                size_t n = 0;

                r = launch_env_file_read(path, &items);
                if (r == -ENOENT && **f == '-') {
                        r = 0;
                        continue;
                }
                for (char **i = items; i && *i; i++)
                        n++;
                if (r >= 0 && n > ENV_FILE_ASSIGNMENTS_MAX)
                        r = -E2BIG;
                for (char **i = items; r >= 0 && i && *i; i++) { /* in order: a later one of a key wins */
                        r = env_merge(p->file_env, (char *[]){ *i, NULL }, &merged);
                        if (r >= 0) {
                                strv_free(p->file_env);
                                p->file_env = TAKE_PTR(merged);
                        }
                }
                strv_free(items);
                if (r < 0 && r != -ENOMEM &&
                    asprintf(ret_what, "environment file %s%s", path,
                             r == -ELOOP            ? " (a symbolic link on its path, not followed)"
                                     : r == -E2BIG  ? " (more than 1 MiB or 4096 assignments)"
                                     : r == -EINVAL ? " (not a regular file)"
                                                    : "") < 0)
                        r = -ENOMEM;
        }
        creds_fs_leave(&saved);
        return r;
}

/* Who it runs as, resolved now (a user added or removed since the last launch counts). */
static int launch_creds(const corral_spec *s, launch_prep *p, char **ret_what) {
        int r;

        if (!s->user && !s->group)
                return 0;
        r = creds_resolve(s->user, s->group, &p->creds);
        if (r == -ESRCH || r == -ENXIO) {
                if (asprintf(ret_what, "no such %s '%s'", r == -ESRCH ? "user" : "group",
                             r == -ESRCH ? s->user : s->group) < 0)
                        return -ENOMEM;
                return -ESRCH; /* the what is the whole reason */
        }
        if (r < 0)
                return asprintf(ret_what, "looking up user or group") < 0 ? -ENOMEM : r;
        /* Said before anything is tried: the child would only fail with EPERM, less clearly. */
        if (geteuid() != 0 && (p->creds.uid != geteuid() || p->creds.gid != getegid())) {
                bool u = p->creds.uid != geteuid();
                r = asprintf(ret_what,
                             "%s=%s needs a supervisor running as root: this one runs as uid %u gid %u and "
                             "can only run backends as itself",
                             u ? "User" : "Group", u ? (s->user ?: "?") : (s->group ?: s->user ?: "?"),
                             (unsigned) geteuid(), (unsigned) getegid());
                creds_done(&p->creds);
                return r < 0 ? -ENOMEM : -EPERM;
        }
        if (geteuid() != 0) { /* its own user and group: nothing to switch (setgroups() would fail) */
                creds_done(&p->creds);
                return 0;
        }
        p->have_creds = true;
        return 0;
}

/* The paths it names, reached with its user's rights, not ours: the executable and the working
 * directory (a root supervisor would otherwise find and enter what its user may not). */
static int launch_paths(const corral_spec *s, const char *argv0, launch_prep *p, char **ret_what) {
        creds_fs_saved saved;
        int r = creds_fs_enter(launch_prep_creds(p), &saved);

        if (r < 0)
                return asprintf(ret_what, "acting as user %s", s->user ?: s->group) < 0 ? -ENOMEM : r;
        r = spawn_resolve(argv0, &p->path);
        if (r < 0 && asprintf(ret_what, "%s", argv0) < 0)
                r = -ENOMEM;
        if (r >= 0 && s->cwd && (r = spawn_check_directory(s->cwd)) < 0 &&
            asprintf(ret_what, "working directory %s", s->cwd) < 0)
                r = -ENOMEM;
        creds_fs_leave(&saved);
        return r;
}

/* The spec's limits, and the file limit the supervisor had before it raised its own. */
static void launch_rlimits(const corral *c, const corral_spec *s, launch_prep *p) {
        bool nofile = false;

        for (size_t i = 0; i < s->n_rlimits; i++) {
                p->rlimits[p->n_rlimits++] = s->rlimits[i];
                nofile |= s->rlimits[i].resource == RLIMIT_NOFILE;
        }
        if (c->nofile_raised && !nofile)
                p->rlimits[p->n_rlimits++] = (spawn_rlimit){ .resource = RLIMIT_NOFILE, .limit = c->nofile };
}

/* With PrivateNetwork= its listeners are looked for in its network namespace, which a supervisor
 * that is not root cannot enter (setns() to a network namespace takes CAP_SYS_ADMIN in our user
 * namespace too): said before anything is tried, else it would never be ready or healthy. */
static int launch_netns_checks(const corral_spec *s, char **ret_what) {
        const spec_check *k = NULL;

        if (geteuid() == 0 || !s->sandbox.private_network)
                return 0;
        if (s->ready_check.kind == CHECK_TCP || s->ready_check.kind == CHECK_HTTP)
                k = &s->ready_check;
        else if (s->health.kind == CHECK_TCP || s->health.kind == CHECK_HTTP)
                k = &s->health;
        if (!k)
                return 0;
        return asprintf(
                       ret_what,
                       "%s=%s with PrivateNetwork= needs a supervisor running as root (this one runs as uid "
                       "%u): the listener is looked for in the backend's network namespace, which only root "
                       "may enter",
                       k == &s->health ? "HealthCheck" : "Ready", k->text ?: "?", (unsigned) geteuid()) < 0
                ? -ENOMEM
                : -EPERM;
}

static int launch_prepare(const corral *c, const corral_spec *s, const char *argv0, launch_prep *p,
                          char **ret_what) {
        int r = launch_netns_checks(s, ret_what);

        if (r >= 0)
                r = launch_creds(s, p, ret_what);

        if (r >= 0)
                r = launch_paths(s, argv0, p, ret_what);
        if (r >= 0)
                r = launch_env_files(s, p, ret_what);
        if (r >= 0)
                launch_rlimits(c, s, p);
        return r;
}

int launch_prepare_command(const corral *c, const corral_spec *s, const char *argv0, char *const *extra_env,
                           launch_prep *ret, char **ret_what) {
        launch_prep p = { 0 };
        char **base = NULL;
        int r;

        *ret_what = NULL;
        r = launch_prepare(c, s, argv0, &p, ret_what);
        if (r >= 0)
                r = launch_env(s, p.file_env, NULL, &base);
        if (r >= 0)
                r = env_merge(base ?: s->envp ?: environ, extra_env, &p.env);
        strv_free(base);
        if (r < 0) {
                launch_prep_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* Its notify socket, owned by its user, and the environment that names it. */
static int launch_notify(corral *c, const corral_spec *s, launch_prep *p, launch *l, char **ret_what) {
        _cleanup_free_ char *path = NULL;
        int dir = notify_dir_get(&c->notify), r;

        r = dir < 0 ? dir
                    : notify_bind(dir, c->notify.path, l->id, p->have_creds ? p->creds.uid : geteuid(), &path);
        if (r >= 0)
                l->notify_fd = r;
        if (r >= 0)
                r = launch_env(s, p->file_env, path, &p->env);
        if (r < 0 && asprintf(ret_what, "notify socket in %s", c->notify.path ?: "a private directory") < 0)
                *ret_what = NULL;
        return r;
}

/* Where its output goes: pipes we read (and a log file, as its user), or nowhere. */
static int launch_output(const corral_spec *s, const launch_prep *p, launch *l, int wr[2], char **ret_what) {
        int r = 0;

        if (s->output != CORRAL_OUTPUT_CAPTURE)
                return 0;
        if (!output_wanted(s)) {
                wr[0] = wr[1] = SPAWN_FD_NULL; /* kept nowhere: no pipes to read */
                return 0;
        }
        if (s->log_file &&
            (r = output_file_open(&l->log, s->log_file, s->log_file_max, s->log_file_keep,
                                  launch_prep_creds(p), ret_what)) < 0)
                return r;
        for (int i = 0; r >= 0 && i < 2; i++)
                r = output_pipe(&l->out_fd[i], &wr[i]);
        if (r < 0 && !*ret_what)
                *ret_what = strdup("output pipes");
        return r;
}

/* A fresh leaf with the spec on it (before there is a process) and its limits: its fd. */
static int launch_leaf_new(corral *c, const corral_spec *s, launch *l, char **ret_what) {
        _cleanup_close_ int leaf = cgroup_leaf_create(&c->root, s->name, l->id);
        int r;

        if (leaf < 0) {
                l->id[0] = '\0';
                return asprintf(ret_what, "cannot create a cgroup in %s", c->root.path) < 0 ? -ENOMEM : leaf;
        }
        if (asprintf(&l->cgroup, "%s/%s.%s", c->root.path + strlen(c->root.mount), s->name, l->id) < 0) {
                l->cgroup = NULL;
                return -ENOMEM;
        }
        r = record_save_spec(&c->records, leaf, s); /* before there is a process */
        if (r < 0)
                return asprintf(ret_what, "%s",
                                r == -E2BIG ? "backend definition too large to keep on its cgroup (64 KiB)"
                                : r == -EILSEQ
                                        ? "backend definition is not valid UTF-8: cannot keep it on its cgroup"
                                        : "cannot keep the backend's definition on its cgroup") < 0
                        ? -ENOMEM
                        : r;
        if (cgroup_limits_any(&s->limits) &&
            (r = cgroup_limits_apply(&c->limits_host, &c->root, leaf, l->cgroup, &s->limits, &l->v1, ret_what)) < 0)
                return r;
        return TAKE_FD(leaf);
}

/* The leaf (fresh, or made before by launch_leaf_make()), and what is decided with it: the spec
 * on it, its limits, its output, its notify socket. *ret_leaf is its fd. */
static int launch_leaf(corral *c, const corral_spec *s, launch_prep *p, launch *l, int wr[2], int *ret_leaf,
                       char **ret_what) {
        _cleanup_close_ int leaf =
                l->id[0] ? cgroup_leaf_open(&c->root, s->name, l->id) : launch_leaf_new(c, s, l, ret_what);
        int r;

        if (leaf < 0)
                return *ret_what || asprintf(ret_what, "cgroup %s", l->cgroup ?: s->name) >= 0 ? leaf
                                                                                               : -ENOMEM;
        if (corral_spec_wants_notify(s) && (r = launch_notify(c, s, p, l, ret_what)) < 0)
                return r;
        if (!p->env && (r = launch_env(s, p->file_env, NULL, &p->env)) < 0)
                return r;
        r = launch_output(s, p, l, wr, ret_what);
        if (r >= 0)
                *ret_leaf = TAKE_FD(leaf);
        return r;
}

/* Words for the step of the child that failed. */
static char *step_what(const corral_spec *s, const char *step, int err) {
        char *w = sandbox_step_what(step, err);

        if (w)
                return w;
        if (!step || strcmp(step, "execve") == 0)
                return strdup(s->argv[0]);
        if (strcmp(step, "chdir") == 0 && asprintf(&w, "working directory %s", s->cwd) >= 0)
                return w;
        return strdup(step);
}

static int launch_spawn(corral *c, const corral_spec *s, const launch_prep *p, launch *l, int leaf, int wr[2],
                        char **ret_what) {
        spawn_params sp = { .path = p->path,
                            .argv = s->argv,
                            .envp = p->env ?: s->envp ?: environ,
                            .cwd = s->cwd,
                            .cgroup_fd = leaf,
                            .into_cgroup = c->features.clone_into_cgroup,
                            .creds = launch_prep_creds(p),
                            .umask = s->umask,
                            .no_new_privs = s->no_new_privs,
                            .rlimits = p->rlimits,
                            .n_rlimits = p->n_rlimits,
                            .v1_procs_fds = l->v1.procs_fd,
                            .n_v1_procs_fds = ELEMENTSOF(l->v1.procs_fd),
                            .stdout_fd = wr[0],
                            .stderr_fd = wr[1],
                            .window = c->window.end > 0 ? &c->window : NULL };
        const char *step = NULL;
        sandbox_plan plan;
        int r;

        if (sandbox_settings_any(&s->sandbox)) { /* else no work at all for it */
                r = sandbox_plan_make(&s->sandbox, p->have_creds ? p->creds.uid == 0 : geteuid() == 0,
                                      &c->filters, &plan, ret_what);
                if (r < 0)
                        return *ret_what || (*ret_what = strdup("the sandbox")) ? r : -ENOMEM;
                sp.sandbox = &plan.sb;
        }
        r = spawn_start(&sp, &c->stack, &l->pid, &l->pidfd, &step);
        if (r < 0)
                *ret_what = step_what(s, step, -r);
        if (sp.sandbox)
                sandbox_plan_done(&plan);
        return r;
}

/* A launch that failed before its process ran (or after spawn_start() reaped it): all of it goes. */
static void launch_undo(corral *c, const char *name, launch *l) {
        for (int i = 0; i < 2; i++)
                l->out_fd[i] = safe_close(l->out_fd[i]);
        if (l->notify_fd >= 0)
                notify_unbind(c->notify.fd, l->id);
        l->notify_fd = safe_close(l->notify_fd);
        l->pidfd = safe_close(l->pidfd);
        output_file_done(&l->log);
        cgroup_v1_leaf_done(&l->v1);
        if (l->id[0])
                (void) cgroup_leaf_remove(&c->root, name, l->id);
        free(l->cgroup);
        *l = LAUNCH_INIT;
}

int launch_leaf_make(corral *c, const corral_spec *s, launch *ret, char **ret_what) {
        launch l = LAUNCH_INIT;
        int leaf;

        *ret_what = NULL;
        leaf = launch_leaf_new(c, s, &l, ret_what);
        if (leaf < 0) {
                launch_undo(c, s->name, &l);
                return leaf;
        }
        safe_close(leaf);
        *ret = l;
        return 0;
}

int launch_start(corral *c, const corral_spec *s, launch *ret, char **ret_what) {
        launch_prep p = { 0 };
        launch l = *ret; /* LAUNCH_INIT, or a leaf of launch_leaf_make() */
        int wr[2] = { -1, -1 }, leaf = -EBADF, r;

        *ret_what = NULL;
        r = launch_prepare(c, s, s->argv[0], &p, ret_what);
        if (r >= 0)
                r = launch_leaf(c, s, &p, &l, wr, &leaf, ret_what);
        if (r >= 0)
                r = launch_spawn(c, s, &p, &l, leaf, wr, ret_what);
        for (int i = 0; i < 2; i++) /* the child has its own: EOF comes when its last writer is gone */
                if (wr[i] >= 0)
                        safe_close(wr[i]);
        safe_close(leaf);
        launch_prep_done(&p);
        if (r < 0) {
                launch_undo(c, s->name, &l);
                return r;
        }
        *ret = l;
        return 0;
}

/* Adopted: what it had open with us before, its user's rights resolved again. */
int launch_notify_rebind(corral *c, const corral_spec *s, const char *id) {
        _cleanup_free_ char *path = NULL, *what = NULL;
        launch_prep p = { 0 };
        int r = launch_creds(s, &p, &what), dir = r < 0 ? r : notify_dir_get(&c->notify);

        r = dir < 0 ? dir : notify_bind(dir, c->notify.path, id, p.have_creds ? p.creds.uid : geteuid(), &path);
        launch_prep_done(&p);
        return r;
}

int launch_log_reopen(const corral_spec *s, output_file *f, char **ret_what) {
        launch_prep p = { 0 };
        int r = launch_creds(s, &p, ret_what);

        if (r >= 0 && s->log_file)
                r = output_file_open(f, s->log_file, s->log_file_max, s->log_file_keep,
                                     launch_prep_creds(&p), ret_what);
        launch_prep_done(&p);
        return r;
}
