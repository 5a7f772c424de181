/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* corral.c: the supervisor object: its loop, its live backends, spawning, stop-all, orphan reaping. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "corral-private.h"
#include "creds.h"
#include "notify.h"
#include "strv.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "safepath.h"
#include "syscall.h"

extern char **environ;

/* A private notify directory is ours: it goes once its backends are gone (their sockets with them). */
static void corral_notify_dir_done(corral *c) {
        c->notify_dir_fd = safe_close(c->notify_dir_fd);
        if (c->notify_dir_private && c->notify_dir)
                (void) rmdir(c->notify_dir);
        c->notify_dir = mfree(c->notify_dir);
        c->notify_dir_private = false;
}

/* A directory of our own for notify sockets, where none was set: root's under /run, another
 * user's in its runtime directory, else under /tmp; mkdtemp, so that nobody can have made it. */
static int corral_notify_dir_private(corral *c) {
        const char *base = geteuid() == 0 ? "/run" : secure_getenv("XDG_RUNTIME_DIR") ?: "/tmp";
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/corral-notify.XXXXXX", base) < 0)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return negative_errno();
        if (chmod(dir, 0711) < 0) { /* backends of other users reach their sockets, list nothing */
                int r = negative_errno();
                (void) rmdir(dir);
                return r;
        }
        c->notify_dir = TAKE_PTR(dir);
        c->notify_dir_private = true;
        return 0;
}

int corral_set_notify_directory(corral *c, const char *dir) {
        _cleanup_free_ char *problem = NULL;
        char *copy;
        int fd;

        if (!c || !dir || dir[0] != '/')
                return -EINVAL;
        fd = safepath_open_dir(dir, 0711, &problem);
        if (fd < 0) {
                corral_log(c, CORRAL_LEVEL_ERROR, "notify directory %s refused: %s", dir,
                           problem ?: strerror(-fd));
                return fd;
        }
        copy = strdup(dir);
        if (!copy) {
                safe_close(fd);
                return -ENOMEM;
        }
        corral_notify_dir_done(c);
        c->notify_dir = copy;
        c->notify_dir_fd = fd;
        return 0;
}

int corral_notify_dir(corral *c) {
        int r;

        if (c->notify_dir_fd >= 0)
                return c->notify_dir_fd;
        if (!c->notify_dir && (r = corral_notify_dir_private(c)) < 0)
                return r;
        c->notify_dir_fd = open(c->notify_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return c->notify_dir_fd >= 0 ? c->notify_dir_fd : negative_errno();
}

static int corral_describe_fallbacks(const corral_features *f, char **ret) {
        char *s = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&s, &size);

        if (!m)
                return -ENOMEM;
        if (!f->clone_into_cgroup)
                fputs("no CLONE_INTO_CGROUP (5.7): the child joins its cgroup itself before exec; ", m);
        if (!f->cgroup.kill_file)
                fputs("no cgroup.kill (5.14): killing each process of a frozen cgroup; ", m);
        if (!f->cgroup.pidfd_info)
                fputs("no PIDFD_GET_INFO (6.13): checking a process's cgroup in /proc; ", m);
        if (!f->vfork_clone)
                fputs("no vfork-style clone3 on this architecture: fork-style spawns; ", m);
        if (!f->spawn_window)
                fputs("no spawn window: each child gets a copy of every fd, closed at exec; ", m);
        if (fclose(m) != 0)
                return -ENOMEM;
        if (size >= 2)
                s[size - 2] = '\0'; /* the last "; " */
        else
                s = mfree(s);
        *ret = s;
        return 0;
}

/* $CORRAL_DISABLE (comma-separated: clone-into-cgroup, cgroup-kill, pidfd-get-info, cgroup-v1,
 * spawn-window)
 * turns features off, so that every fallback can be tested on a kernel that has it all. */
static void corral_disable_features(corral_features *f, const char *list) {
        if (!list)
                return;
        if (strstr(list, "cgroup-v1"))
                f->cgroup_v1 = false;
        if (strstr(list, "clone-into-cgroup"))
                f->clone_into_cgroup = false;
        if (strstr(list, "cgroup-kill"))
                f->cgroup.kill_file = false;
        if (strstr(list, "pidfd-get-info"))
                f->cgroup.pidfd_info = false;
        if (strstr(list, "spawn-window"))
                f->spawn_window = false;
}

/* Probe what we rely on; refuse what we cannot do without. */
static int corral_probe(corral *c) {
        corral_features *f = &c->features;
        int r;

        if (!syscall_probe_pidfd() || !syscall_probe_clone3())
                return -EOPNOTSUPP; /* pidfds and clone3 (5.4) are the point of corral */
        r = cgroup_probe_kill(&c->root);
        if (r < 0)
                return r;
        *f = (corral_features){
                .clone_into_cgroup = syscall_probe_clone_into_cgroup(),
                .cgroup = { .kill_file = r > 0, .pidfd_info = syscall_probe_pidfd_get_info() },
                .vfork_clone = syscall_clone3_vfork_supported(),
                /* the child's close_range(CLOSE_RANGE_CLOEXEC) needs 5.11 anyway */
                .spawn_window = syscall_clone3_vfork_supported(),
                .cgroup_v1 = true,
        };
        corral_disable_features(f, secure_getenv("CORRAL_DISABLE"));
        c->limits_host.v1_disabled = !f->cgroup_v1;
        return corral_describe_fallbacks(f, &c->fallbacks);
}

static int corral_on_sigchld(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_,
                             void *userdata) {
        corral_reap_orphans(userdata);
        return 0;
}

/* Orphans of the backends come to us; SIGCHLD tells when one of them (or a backend) died, so
 * their zombies never pile up while a backend runs. */
static int corral_become_subreaper(corral *c) {
        sigset_t mask;

        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return negative_errno();
        c->subreaper = true;
        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGCHLD);
        if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
                return -EINVAL;
        return sd_event_add_signal(c->event, NULL, SIGCHLD, corral_on_sigchld, c);
}

/* As far as /proc/sys/fs/nr_open (capped at 512 Ki, as systemd does) where we may raise the hard
 * limit, else to the hard limit. The old limit is the backends'. */
static void corral_raise_nofile(corral *c) {
        struct rlimit now, want;
        char buf[32];
        unsigned long long max = 524288;

        if (getrlimit(RLIMIT_NOFILE, &now) < 0)
                return;
        if (read_small_at(AT_FDCWD, "/proc/sys/fs/nr_open", buf, sizeof(buf)) > 0 &&
            strtoull(buf, NULL, 10) < max)
                max = strtoull(buf, NULL, 10);
        want = (struct rlimit){ .rlim_cur = max, .rlim_max = max };
        if (now.rlim_max >= max || setrlimit(RLIMIT_NOFILE, &want) < 0)
                want = (struct rlimit){ .rlim_cur = now.rlim_max, .rlim_max = now.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
                c->nofile = now;
                c->nofile_raised = true;
        }
}

/* Every backend's cgroup.events (and memory.events) through one inotify fd, as systemd does: one
 * fd and one loop source however many backends there are. */
static int corral_on_inotify(sd_event_source *s _unused_, int fd, uint32_t revents _unused_,
                             void *userdata) {
        corral *c = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        corral_backend *b =
                                e->mask & IN_MODIFY ? hashmap_get(&c->watches, INT_TO_PTR(e->wd)) : NULL;
                        p += sizeof(*e) + e->len;
                        if (!b)
                                continue;
                        corral_backend_ref(b);
                        backend_on_watch(b, e->wd);
                        corral_backend_unref(b);
                }
        return 0;
}

static int corral_inotify(corral *c) {
        c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (c->inotify_fd < 0)
                return negative_errno();
        return sd_event_add_io(c->event, &c->inotify_source, c->inotify_fd, EPOLLIN, corral_on_inotify, c);
}

int corral_new(corral **ret, const char *root_path, uint64_t flags) {
        corral *c;
        int r;

        if (!ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->root.fd = -EBADF;
        c->notify_dir_fd = -EBADF;
        c->inotify_fd = -EBADF;
        c->state_dir_fd = -EBADF;
        c->watches = HASHMAP_INIT(&hashmap_int_ops);
        (void) sigemptyset(&c->signals);
        r = cgroup_root_open(root_path, &c->root);
        if (r >= 0 && (flags & CORRAL_NEW_OWN_LEAF))
                r = cgroup_join_leaf(&c->root, "supervisor");
        if (r >= 0)
                r = corral_probe(c);
        if (r >= 0 && c->features.spawn_window) /* early: its fds are the lowest free ones */
                r = spawn_window_init(&c->window);
        if (r >= 0)
                r = sd_event_new(&c->event);
        if (r >= 0)
                r = corral_inotify(c);
        if (r >= 0 && (flags & CORRAL_NEW_SUBREAPER))
                r = corral_become_subreaper(c);
        c->persist = flags & CORRAL_NEW_PERSIST;
        if (r >= 0 && (flags & CORRAL_NEW_RAISE_NOFILE))
                corral_raise_nofile(c);
        if (r < 0) {
                corral_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

corral *corral_free(corral *c) {
        if (!c)
                return NULL;
        while (c->live) {
                corral_backend *b = c->live;
                backend_kill_sync(b);
                corral_unlink(c, b);
        }
        corral_reap_orphans(c);
        spawn_stack_done(&c->stack);
        spawn_window_done(&c->window);
        corral_notify_dir_done(c);
        c->inotify_source = sd_event_source_disable_unref(c->inotify_source);
        c->inotify_fd = safe_close(c->inotify_fd);
        c->state_dir_fd = safe_close(c->state_dir_fd);
        hashmap_done(&c->watches);
        free(c->fallbacks);
        cgroup_limits_host_done(&c->limits_host, &c->root);
        for (size_t i = 0; i < c->n_given; i++) /* given for an adoption that never came */
                safe_close(c->given[i].fd);
        free(c->given);
        cgroup_root_done(&c->root);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

const char *corral_get_fallbacks(corral *c) {
        return c->fallbacks;
}

void corral_set_event_handler(corral *c, corral_event_handler_t handler, void *userdata) {
        c->handler = handler;
        c->userdata = userdata;
}

const char *corral_get_cgroup_root(corral *c) {
        return c->root.path;
}

sd_event *corral_get_event(corral *c) {
        return c->event;
}

int corral_get_fd(corral *c) {
        return sd_event_get_fd(c->event);
}

int corral_dispatch(corral *c) {
        int r = sd_event_run(c->event, 0);
        return r < 0 ? r : 0;
}

int corral_run(corral *c) {
        return sd_event_loop(c->event);
}

static void signal_never_runs(int sig) {
        (void) sig;
}

int corral_add_signals(corral *c, const int *sigs, size_t n, sd_event_signal_handler_t handler,
                       void *userdata) {
        sigset_t mask;
        int r;

        (void) sigemptyset(&mask);
        for (size_t i = 0; i < n; i++)
                (void) sigaddset(&mask, sigs[i]);
        if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                sd_event_source *s = NULL;
                (void) sigaction(sigs[i], &(struct sigaction){ .sa_handler = signal_never_runs }, NULL);
                r = sd_event_add_signal(c->event, &s, sigs[i], handler, userdata);
                if (r >= 0)
                        r = sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
                if (r >= 0)
                        r = sd_event_source_set_floating(s, true); /* the loop owns it, as before */
                sd_event_source_unref(s);
                if (r < 0)
                        return r;
                (void) sigaddset(&c->signals, sigs[i]); /* only once the loop reads it */
        }
        return 0;
}

bool corral_signal_pending(corral *c) {
        sigset_t pending;

        if (sigisemptyset(&c->signals) || sigpending(&pending) < 0)
                return false;
        (void) sigandset(&pending, &pending, &c->signals);
        return !sigisemptyset(&pending);
}

int corral_exit(corral *c, int code) {
        return sd_event_exit(c->event, code);
}

unsigned corral_count(corral *c) {
        return c->n_live;
}

void corral_set_log_handler(corral *c, corral_log_handler_t handler, void *userdata) {
        c->log_handler = handler;
        c->log_userdata = userdata;
}

void corral_log(corral *c, corral_level level, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        int n;

        if (!c || !c->log_handler)
                return;
        va_start(ap, fmt);
        n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n >= 0)
                c->log_handler(c, level, line, c->log_userdata);
        else
                line = NULL;
}

void corral_emit(corral *c, const corral_event *ev) {
        if (c->handler)
                c->handler(c, ev, c->userdata);
}

void corral_link(corral *c, corral_backend *b) {
        b->linked = true;
        b->next = c->live;
        if (c->live)
                c->live->prev = b;
        c->live = b;
        c->n_live++;
}

void corral_unlink(corral *c, corral_backend *b) {
        if (b->prev)
                b->prev->next = b->next;
        else
                c->live = b->next;
        if (b->next)
                b->next->prev = b->prev;
        b->prev = b->next = NULL;
        b->corral = NULL;
        b->linked = false;
        c->n_live--;
        corral_backend_unref(b);
}

static corral_backend *corral_find_unreaped(corral *c, pid_t pid) {
        for (corral_backend *b = c->live; b; b = b->next)
                if (b->pid == pid && !b->reaped)
                        return b;
        return NULL;
}

/* As subreaper, orphans of every backend come to us. Their zombies are reaped here, each through
 * a pidfd; a zombie that is a backend's main process goes to its record, so no exit status is
 * ever lost. Peeking with WNOWAIT reaps nothing by itself. */
void corral_reap_orphans(corral *c) {
        if (!c->subreaper || c->sweeping)
                return;
        c->sweeping = true;
        for (;;) {
                siginfo_t si = { 0 };
                corral_backend *b;
                int pidfd, r;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        break;
                b = corral_find_unreaped(c, si.si_pid);
                if (b) {
                        corral_backend_ref(b);
                        r = backend_on_exit(b);
                        corral_backend_unref(b);
                        if (r <= 0) /* left for after a pending signal of ours: its pidfd brings it back */
                                break;
                        continue;
                }
                /* A zombie child's pid cannot be reused until it is reaped. */
                pidfd = syscall_pidfd_open(si.si_pid);
                if (pidfd < 0 || syscall_waitid_pidfd(pidfd, WEXITED | WNOHANG, &si) < 0) {
                        safe_close(pidfd);
                        break;
                }
                safe_close(pidfd);
        }
        c->sweeping = false;
}

void corral_emit_start_failed(corral_backend *b, const char *what, int err) {
        char msg[512];

        (void) snprintf(msg, sizeof(msg), "backend failed to start: %s: %s", what, strerror(err));
        backend_emit(b, CORRAL_EVENT_START_FAILED, CORRAL_LEVEL_ERROR, msg, err);
}

/* Create the leaf and start the process in it. On an exec failure the leaf is removed. */
/* What a launch needs that the supervisor works out first: the executable, who it runs as, its
 * environment. */
typedef struct launch_prep {
        char *path;
        spawn_creds creds;
        bool have_creds;
        char **merged_env; /* for env_extend */
        spawn_rlimit rlimits[17];
        size_t n_rlimits;
} launch_prep;

static void launch_prep_done(launch_prep *l) {
        free(l->path);
        creds_done(&l->creds);
        strv_free(l->merged_env);
        *l = (launch_prep){ 0 };
}

/* The leaf's limits; on failure *ret_what says why, and nothing of them is left. */
static int corral_spawn_limits(corral *c, const corral_spec *s, corral_backend *b, int leaf,
                               char **ret_what) {
        int r;

        if (!cgroup_limits_any(&s->limits))
                return 0;
        r = cgroup_limits_apply(&c->limits_host, &c->root, leaf, b->cgroup, &s->limits, &b->v1, ret_what);
        if (r < 0)
                cgroup_v1_leaf_done(&b->v1);
        return r;
}

static int corral_spawn_notify(corral_backend *b, launch_prep *l, char **ret_what);

static int corral_spawn_in_leaf(corral *c, const corral_spec *s, launch_prep *l, corral_backend *b,
                                const char **ret_step, char **ret_what) {
        _cleanup_close_ int leaf = -EBADF, out_wr = -EBADF, err_wr = -EBADF;
        spawn_params p = { .path = l->path,
                           .argv = s->argv,
                           .envp = l->merged_env ?: s->envp ?: environ,
                           .cwd = s->cwd,
                           .into_cgroup = c->features.clone_into_cgroup,
                           .creds = l->have_creds ? &l->creds : NULL,
                           .umask = s->umask,
                           .no_new_privs = s->no_new_privs,
                           .rlimits = l->rlimits,
                           .n_rlimits = l->n_rlimits,
                           .v1_procs_fds = b->v1.procs_fd,
                           .n_v1_procs_fds = ELEMENTSOF(b->v1.procs_fd),
                           .stdout_fd = -1,
                           .stderr_fd = -1,
                           .window = c->window.end > 0 ? &c->window : NULL };
        int r, pidfd = -EBADF;
        pid_t pid = 0;

        leaf = cgroup_leaf_create(&c->root, s->name, b->launch);
        if (leaf < 0) {
                b->launch[0] = '\0';
                return leaf;
        }
        if (asprintf(&b->cgroup, "%s/%s.%s", c->root.path + strlen(c->root.mount), s->name, b->launch) < 0)
                b->cgroup = NULL;
        r = adopt_save_spec(b, leaf); /* before there is a process: a leaf never runs unrecorded */
        if (r < 0) {
                *ret_what = strdup(
                        r == -E2BIG ? "backend definition too large to keep on its cgroup (64 KiB)"
                                : r == -EILSEQ
                                ? "backend definition is not valid UTF-8: cannot keep it on its cgroup"
                                : "cannot keep the backend's definition on its cgroup");
                backend_remove_leaf(c, s->name, b->launch);
                return r;
        }
        p.cgroup_fd = leaf;
        r = !b->cgroup ? -ENOMEM : corral_spawn_limits(c, s, b, leaf, ret_what);
        if (r >= 0 && corral_spec_wants_notify(s)) {
                r = corral_spawn_notify(b, l, ret_what);
                p.envp = l->merged_env;
        }
        if (r >= 0 && s->output == CORRAL_OUTPUT_CAPTURE && !output_wanted(s))
                p.stdout_fd = p.stderr_fd = SPAWN_FD_NULL; /* kept nowhere: no pipes to read */
        else if (r >= 0 && s->output == CORRAL_OUTPUT_CAPTURE) {
                r = output_open_launch(b, &out_wr, &err_wr);
                p.stdout_fd = out_wr;
                p.stderr_fd = err_wr;
                if (r < 0)
                        *ret_what = strdup("output pipes");
        }
        if (r >= 0)
                r = spawn_start(&p, &c->stack, &pid, &pidfd, ret_step);
        out_wr = safe_close(out_wr); /* the child has its own: EOF comes when the last writer is gone */
        err_wr = safe_close(err_wr);
        if (r < 0) {
                output_drain(b);
                backend_notify_close(b);
                backend_remove_leaf(c, s->name, b->launch);
                cgroup_v1_leaf_done(&b->v1);
                return r;
        }
        if (!b->linked)
                corral_link(c, b); /* from here the record owns the process: a failure kills it */
        r = backend_attach(b, pid, pidfd, TAKE_FD(leaf));
        return r < 0 ? r : output_attach(b);
}

static int corral_spec_check(const corral_spec *s) {
        if (!s || !s->argv || !s->argv[0] || !name_is_valid(s->name))
                return -EINVAL;
        return 0;
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

/* The environment of a backend that reports readiness: its own, and NOTIFY_SOCKET. */
static int corral_env_with_notify(const corral_spec *s, const char *socket, char ***ret) {
        _cleanup_free_ char *var = NULL, *wd = NULL;
        char **extra = NULL;
        int r;

        if (asprintf(&var, "NOTIFY_SOCKET=%s", socket) < 0)
                return -ENOMEM;
        if (s->watchdog_usec > 0 && asprintf(&wd, "WATCHDOG_USEC=%" PRIu64, s->watchdog_usec) < 0)
                return -ENOMEM;
        r = env_merge(s->env_extend ? s->envp : NULL, (char *[]){ var, wd, NULL }, &extra);
        if (r < 0)
                return r;
        r = env_merge(s->envp && !s->env_extend ? s->envp : environ, extra, ret);
        strv_free(extra);
        return r;
}

/* The spec's limits, and the file limit the supervisor had before it raised its own. */
static void corral_spawn_rlimits(corral *c, const corral_spec *s, launch_prep *l) {
        bool nofile = false;

        for (size_t i = 0; i < s->n_rlimits; i++) {
                l->rlimits[l->n_rlimits++] = s->rlimits[i];
                nofile |= s->rlimits[i].resource == RLIMIT_NOFILE;
        }
        if (c->nofile_raised && !nofile)
                l->rlimits[l->n_rlimits++] = (spawn_rlimit){ .resource = RLIMIT_NOFILE, .limit = c->nofile };
}

/* Who it runs as, resolved now (a user added or removed since the last launch counts). */
static int corral_spawn_creds(const corral_spec *s, launch_prep *l, char **ret_what) {
        int r;

        if (!s->user && !s->group)
                return 0;
        r = creds_resolve(s->user, s->group, &l->creds);
        if (r == -ESRCH || r == -ENXIO) {
                if (asprintf(ret_what, "unknown %s '%s'", r == -ESRCH ? "user" : "group",
                             r == -ESRCH ? s->user : s->group) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (r < 0)
                return asprintf(ret_what, "looking up user or group") < 0 ? -ENOMEM : r;
        l->have_creds = true;
        return 0;
}

/* The paths it names, reached with its user's rights, not ours: the executable, the working
 * directory, the log file (a root supervisor would otherwise find, enter and open what its user
 * may not). */
static int corral_spawn_paths(corral_backend *b, launch_prep *l, char **ret_what) {
        const corral_spec *s = b->spec;
        const spawn_creds *creds = l->have_creds ? &l->creds : NULL;
        creds_fs_saved saved;
        int r = creds_fs_enter(creds, &saved);

        if (r < 0)
                return asprintf(ret_what, "acting as user %s", s->user ?: s->group) < 0 ? -ENOMEM : r;
        r = spawn_resolve(s->argv[0], &l->path);
        if (r < 0 && asprintf(ret_what, "%s", s->argv[0]) < 0)
                r = -ENOMEM;
        if (r >= 0 && s->cwd && (r = spawn_check_directory(s->cwd)) < 0 &&
            asprintf(ret_what, "working directory %s", s->cwd) < 0)
                r = -ENOMEM;
        creds_fs_leave(&saved);
        if (r >= 0 && s->output == CORRAL_OUTPUT_CAPTURE)
                r = output_open_file(b, creds, ret_what);
        return r;
}

static int corral_spawn_prepare(corral *c, corral_backend *b, launch_prep *l, char **ret_what) {
        const corral_spec *s = b->spec;
        int r = corral_spawn_creds(s, l, ret_what);

        if (r >= 0)
                r = corral_spawn_paths(b, l, ret_what);
        if (r < 0)
                return r;
        corral_spawn_rlimits(c, s, l);
        if (s->env_extend && !corral_spec_wants_notify(s)) /* with a notify socket: once it is made */
                r = env_merge(environ, s->envp, &l->merged_env);
        if (r < 0)
                return asprintf(ret_what, "environment") < 0 ? -ENOMEM : r;
        return 0;
}

/* Its own notify socket, for the launch its leaf is made for, and the environment that names it. */
static int corral_spawn_notify(corral_backend *b, launch_prep *l, char **ret_what) {
        _cleanup_free_ char *path = NULL;
        int r = backend_notify_open(b, l->have_creds ? l->creds.uid : geteuid(), &path);

        if (r >= 0)
                r = corral_env_with_notify(b->spec, path, &l->merged_env);
        if (r < 0 &&
            asprintf(ret_what, "notify socket in %s", b->corral->notify_dir ?: "a private directory") < 0)
                *ret_what = NULL;
        return r;
}

/* Words for the step of the child that failed. */
static char *step_what(const corral_spec *s, const char *step) {
        char *w = NULL;

        if (!step || strcmp(step, "execve") == 0)
                return strdup(s->argv[0]);
        if (strcmp(step, "chdir") == 0 && asprintf(&w, "working directory %s", s->cwd) >= 0)
                return w;
        return strdup(step);
}

int corral_spawn_launch(corral *c, corral_backend *b, char **ret_what) {
        launch_prep l = { 0 };
        const char *step = NULL;
        char *what = NULL;
        int r;

        b->launch[0] = '\0';
        b->cgroup = mfree(b->cgroup);
        b->pid = 0;
        r = corral_spawn_prepare(c, b, &l, &what);
        if (r >= 0)
                r = corral_spawn_in_leaf(c, b->spec, &l, b, &step, &what);
        launch_prep_done(&l);
        if (r < 0 && b->pid != 0) /* started but not watchable: never left running unsupervised */
                backend_kill_sync(b);
        else if (r < 0 && !what && step)
                what = step_what(b->spec, step);
        else if (r < 0 && !what && !b->launch[0] &&
                 asprintf(&what, "cannot create a cgroup in %s", c->root.path) < 0)
                what = NULL;
        if (r < 0) {
                *ret_what = what ?: strdup(b->spec->argv[0]);
                return r;
        }
        free(what);
        adopt_save_state(b);
        backend_emit(b, CORRAL_EVENT_STARTED, CORRAL_LEVEL_INFO, "backend started", 0);
        return 0;
}

int corral_spawn(corral *c, const corral_spec *s, corral_backend **ret) {
        _cleanup_free_ char *what = NULL;
        corral_backend *b;
        int r;

        if (!c || corral_spec_check(s) < 0)
                return -EINVAL;
        r = backend_new(c, s, &b);
        if (r < 0)
                return r;
        r = corral_spawn_launch(c, b, &what);
        if (r < 0) { /* the first start is the caller's to retry: no restart policy here */
                b->state = CORRAL_STATE_GONE;
                corral_emit_start_failed(b, what ?: s->argv[0], -r);
                if (b->linked)
                        corral_unlink(c, b);
                corral_backend_unref(b);
                return r;
        }
        if (ret)
                *ret = corral_backend_ref(b);
        return 0;
}

int corral_stop_all(corral *c, uint64_t grace_usec) {
        return corral_stop_all_by(c, grace_usec, (uid_t) -1, 0);
}

int corral_stop_all_by(corral *c, uint64_t grace_usec, uid_t uid, pid_t pid) {
        uint64_t base = now_usec(CLOCK_MONOTONIC);
        corral_backend **v;
        unsigned n = 0;
        int started = 0;

        if (c->n_live == 0)
                return 0;
        /* A stop may finish any backend at once; hold them all first. */
        v = calloc(c->n_live, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (corral_backend *b = c->live; b; b = b->next)
                v[n++] = corral_backend_ref(b);
        for (unsigned i = 0; i < n; i++) {
                if (backend_stop(v[i], grace_usec, base, uid, pid) == CORRAL_STOP_STARTED)
                        started++;
                corral_backend_unref(v[i]);
        }
        free(v);
        return started;
}
