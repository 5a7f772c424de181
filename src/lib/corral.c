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

int corral_set_notify_directory(corral *c, const char *dir) {
        _cleanup_free_ char *problem = NULL;
        int r;

        if (!c || !dir || dir[0] != '/')
                return -EINVAL;
        r = notify_dir_set(&c->notify, dir, &problem);
        if (r < 0)
                corral_log(c, CORRAL_LEVEL_ERROR, "notify directory %s refused: %s", dir, problem ?: strerror(-r));
        return r;
}

int corral_set_state_directory(corral *c, const char *dir) {
        _cleanup_free_ char *problem = NULL;
        int r;

        if (!c || !dir || dir[0] != '/')
                return -EINVAL;
        r = record_store_set_directory(&c->records, dir, &problem);
        if (r < 0)
                corral_log(c, CORRAL_LEVEL_ERROR, "state directory %s refused: %s", dir, problem ?: strerror(-r));
        return r;
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
        if (!f->sock_diag)
                fputs("no sock_diag: Ready=tcp reads /proc/net/tcp; ", m);
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
 * spawn-window, sock-diag), read once here, turns features off, so that every fallback can be
 * tested on a kernel that has it all. */
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
        if (strstr(list, "sock-diag"))
                f->sock_diag = false;
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
                .sock_diag = true, /* a module: probed at each use, /proc/net where it is missing */
        };
        corral_disable_features(f, secure_getenv("CORRAL_DISABLE"));
        c->limits_host.v1_disabled = !f->cgroup_v1;
        return corral_describe_fallbacks(f, &c->fallbacks);
}

static int corral_on_sigchld(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_,
                             void *userdata) {
        backend_reap_orphans_later(userdata);
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
        c->notify = NOTIFY_DIR_INIT;
        c->inotify_fd = -EBADF;
        c->records = (record_store){ .root = &c->root, .dir_fd = -EBADF };
        c->watches = HASHMAP_INIT(&hashmap_int_ops);
        c->by_pid = HASHMAP_INIT(&hashmap_int_ops);
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
        c->records.persist = flags & CORRAL_NEW_PERSIST;
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
        while (c->live)
                backend_kill_sync(c->live); /* and unlinked */
        command_kill_all(c);
        backend_reap_orphans(c);
        spawn_stack_done(&c->stack);
        spawn_window_done(&c->window);
        sandbox_cache_done(&c->filters);
        notify_dir_done(&c->notify);
        c->inotify_source = sd_event_source_disable_unref(c->inotify_source);
        c->inotify_fd = safe_close(c->inotify_fd);
        record_store_done(&c->records);
        hashmap_done(&c->watches);
        hashmap_done(&c->by_pid);
        c->sweep_source = sd_event_source_disable_unref(c->sweep_source);
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

corral *corral_leave(corral *c) {
        if (!c)
                return NULL;
        while (c->live)
                backend_unlink(c->live); /* its leaf, its record and its processes stay */
        return corral_free(c);
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
        int r = sd_event_run(c->event, 0), on = SD_EVENT_OFF;

        /* The sweep waits for the loop's next turn, which the caller's poll of our fd does not see. */
        if (c->sweep_source && sd_event_source_get_enabled(c->sweep_source, &on) >= 0 &&
            on != SD_EVENT_OFF) {
                (void) sd_event_source_set_enabled(c->sweep_source, SD_EVENT_OFF);
                backend_reap_orphans(c);
        }
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

int corral_spawn(corral *c, const corral_spec *s, corral_backend **ret) {
        return corral_spawn_after(c, s, NULL, false, ret);
}

int corral_spawn_after(corral *c, const corral_spec *s, corral_backend *prev, bool restart,
                       corral_backend **ret) {
        corral_backend *b;
        int r;

        if (!c || !s || !s->argv || !s->argv[0] || !name_is_valid(s->name))
                return -EINVAL;
        r = backend_new(c, s, &b);
        if (r < 0)
                return r;
        b->restarts_total = restart;
        if (prev && backend_counters_add(b, prev) < 0) {
                corral_backend_unref(b);
                return -ENOMEM;
        }
        r = backend_launch(b); /* a start that fails is start-failed, and gone */
        if (r >= 0 && ret)
                *ret = corral_backend_ref(b);
        else if (r < 0 && prev) /* prev is what the caller keeps: it gets what this start counted */
                (void) backend_counters_set(prev, b);
        corral_backend_unref(b);
        return r;
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
