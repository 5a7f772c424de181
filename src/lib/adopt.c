/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* adopt.c: the backends of an earlier supervisor (one that crashed or was killed) taken back from its
 * cgroup root and its state directory, from the records it kept (record.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral-private.h"
#include "fileio.h"
#include "launch.h"
#include "macro.h"
#include "syscall.h"

/* --- fds kept for it elsewhere (systemd's fd store, corrald's fd holder), given back. --- */

static const char *const given_kinds[] = { "pidfd", "stdout", "stderr" };

int corral_adopt_give_fd(corral *c, const char *leaf, const char *kind, int fd) {
        struct given_fd *t;
        int k = -1;

        for (int i = 0; i < 3; i++)
                if (kind && strcmp(kind, given_kinds[i]) == 0)
                        k = i;
        if (!c || !leaf || strlen(leaf) >= sizeof(t->leaf) || k < 0 || fd < 0) {
                safe_close(fd);
                return -EINVAL;
        }
        t = realloc(c->given, (c->n_given + 1) * sizeof(*t));
        if (!t) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->given = t;
        t = &c->given[c->n_given++];
        (void) snprintf(t->leaf, sizeof(t->leaf), "%s", leaf);
        t->kind = k;
        t->fd = fd;
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        return 0;
}

/* The given fd of this kind for this leaf, taken (-1 if none). */
static int adopt_take_given(corral *c, const char *name, const char *id, int kind) {
        char leaf[96];

        (void) snprintf(leaf, sizeof(leaf), "%s.%s", name, id);
        for (size_t i = 0; i < c->n_given; i++)
                if (c->given[i].kind == kind && c->given[i].fd >= 0 && strcmp(c->given[i].leaf, leaf) == 0)
                        return TAKE_FD(c->given[i].fd);
        return -EBADF;
}

static void adopt_given_done(corral *c) {
        for (size_t i = 0; i < c->n_given; i++)
                safe_close(c->given[i].fd);
        c->given = mfree(c->given);
        c->n_given = 0;
}

void corral_backend_get_fds(corral_backend *b, int *ret_pidfd, int *ret_stdout, int *ret_stderr) {
        *ret_pidfd = b ? b->run.pidfd : -EBADF;
        *ret_stdout = b ? b->out.pipe_fd[0] : -EBADF;
        *ret_stderr = b ? b->out.pipe_fd[1] : -EBADF;
}

/* --- One leaf. --- */

static bool adopt_is_live(corral *c, const char *name, const char *id) {
        for (corral_backend *b = c->live; b; b = b->next)
                if (strcmp(b->name, name) == 0 && strcmp(b->run.id, id) == 0)
                        return true;
        return false;
}

/* Its main process, if it still runs: a pidfd of the pid it had, which must still be in the
 * leaf and have started when it did (a recycled pid has another start time). One kept for us
 * (systemd's fd store) is its own whatever became of it: it tells its exit even after a reap. */
static int adopt_main_pidfd(corral_backend *b) {
        const backend_run *r = &b->run;
        uint64_t st;
        int fd = adopt_take_given(b->corral, b->name, r->id, 0);

        if (fd >= 0)
                return fd;
        if (r->pid <= 0)
                return -ESRCH;
        fd = syscall_pidfd_open(r->pid);
        if (fd < 0)
                return fd;
        if (syscall_pid_starttime(r->pid, &st) < 0 || st != r->pid_starttime || !cgroup_pid_in(r->pid, r->cgroup)) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

/* A leaf of our naming with no spec on it and nothing in it: a supervisor was killed between
 * making it and recording the spec, which comes before any process; no process ever ran there.
 * It goes, or it would stay for ever. One with a process in it is not ours to judge: left alone. */
static void adopt_sweep_unrecorded(corral *c, int leaf_fd, const char *name, const char *id) {
        if (!c->records.persist || cgroup_is_populated(leaf_fd) != 0)
                return;
        if (cgroup_leaf_remove(&c->root, name, id) >= 0)
                corral_log(c, CORRAL_LEVEL_NOTICE,
                           "removed the empty leaf %s.%s: made, never used, by a supervisor that died", name, id);
}

/* What a running backend had open in the supervisor before: its output pipes (given back), its
 * log file and its notify socket (at the same address: its $NOTIFY_SOCKET names it), with its
 * user's rights as at its launch. A failure costs that much only: it is said, and the backend is
 * supervised all the same. */
static void adopt_reopen(corral_backend *b, launch *l) {
        _cleanup_free_ char *what = NULL;
        const corral_spec *s = b->spec;
        int r;

        for (int i = 0; i < 2; i++)
                l->out_fd[i] = adopt_take_given(b->corral, b->name, b->run.id, 1 + i);
        if (s->output == CORRAL_OUTPUT_CAPTURE && s->log_file && (r = launch_log_reopen(s, &l->log, &what)) < 0)
                corral_log(b->corral, CORRAL_LEVEL_WARNING, "%s taken back without its %s: %s", b->name,
                           what ?: "log file", strerror(-r));
        if (!corral_spec_wants_notify(s))
                return;
        r = launch_notify_rebind(b->corral, s, b->run.id);
        if (r < 0)
                corral_log(b->corral, CORRAL_LEVEL_WARNING, "%s taken back without its notify socket: %s", b->name,
                           strerror(-r));
        else
                l->notify_fd = r;
}

/* A supervisor killed between the spawn and the first record of the launch's state left a leaf
 * with its spec and a process, but no pid: the main process is the one that started first (the
 * one exec'd into the leaf; what it starts comes after), and its start is now as far as we know.
 * Taken back like any other, not killed for a stranger. */
static void adopt_unrecorded_start(corral_backend *b, int leaf) {
        backend_run *r = &b->run;

        if (r->pid > 0 || cgroup_first_proc(leaf, &r->pid, &r->pid_starttime) < 0)
                return;
        r->start_usec = now_usec(CLOCK_MONOTONIC);
        r->ready_pending = b->spec->ready != CORRAL_READY_NONE;
        corral_log(b->corral, CORRAL_LEVEL_NOTICE, "%s.%s has no recorded pid: its first process, %d, taken as its main one",
                   b->name, r->id, (int) r->pid);
}

/* Whether the main process behind pidfd has already ended (a zombie nobody reaped yet, or one
 * reaped whose pidfd we were kept): then *ret_si is its exit status, as far as it can be had. */
static bool adopt_main_ended(int pidfd, pid_t pid, siginfo_t *ret_si) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        if (poll(&p, 1, 0) <= 0)
                return false;
        if (syscall_pidfd_exit_info(pidfd, pid, ret_si) < 0)
                *ret_si = (siginfo_t){ .si_code = 0 };
        return true;
}

/* Supervised again, waiting for its restart, or concluded from the loop: 0, or 1 for a launch that
 * never started (its leaf and record are forgotten, said, and nothing is told of it). */
static int adopt_resume(corral_backend *b, int leaf) {
        launch l = LAUNCH_INIT;
        siginfo_t si;
        int pidfd;

        if (b->run.verdict) /* its verdict was decided, maybe not told */
                return safe_close(leaf), backend_adopt_concluded(b);
        if (b->next_restart_usec > 0) /* between launches: its empty leaf is the record */
                return safe_close(leaf), backend_adopt_restarting(b);
        adopt_unrecorded_start(b, leaf);
        if (b->run.pid <= 0) /* killed before its process ran: it never started, nothing to tell */
                return safe_close(leaf), 1;
        pidfd = adopt_main_pidfd(b);
        if (pidfd < 0)
                return backend_adopt_ended(b, leaf, NULL);
        /* Ended while no supervisor ran, and not yet reaped: its verdict, once; never taken back
         * as running first (an "adopted" then its end). */
        if (adopt_main_ended(pidfd, b->run.pid, &si)) {
                safe_close(pidfd);
                return backend_adopt_ended(b, leaf, &si);
        }
        l.pidfd = pidfd;
        adopt_reopen(b, &l);
        return backend_adopt_live(b, &l, leaf);
}

/* One leaf: its backend taken back (*ret, a reference), or 0 for a leaf that is not one of ours
 * (never touch a cgroup that is not ours), or -errno. */
static int adopt_leaf(corral *c, const char *dir, corral_backend **ret) {
        char name[80], id[13];
        _cleanup_close_ int leaf = -EBADF;
        corral_spec *spec = NULL;
        corral_backend *b;
        record_state st;
        int r;

        if (!record_leaf_name_split(dir, name, sizeof(name), id) || adopt_is_live(c, name, id))
                return 0;
        leaf = cgroup_leaf_open(&c->root, name, id);
        if (leaf < 0)
                return 0;
        r = record_read_leaf(leaf, name, &spec, &st);
        if (r == -ENODATA)
                adopt_sweep_unrecorded(c, leaf, name, id);
        if (r < 0)
                return 0;
        r = backend_adopt(c, spec, id, &st, &b);
        corral_spec_free(spec);
        if (r < 0)
                return r;
        r = adopt_resume(b, TAKE_FD(leaf));
        if (r != 0) {
                if (r > 0)
                        corral_log(c, CORRAL_LEVEL_NOTICE,
                                   "%s.%s never started (its supervisor was killed before its process ran): forgotten",
                                   name, id);
                backend_kill_sync(b); /* and unlinked, its leaf and record removed */
                corral_backend_unref(b);
                return r > 0 ? 0 : r;
        }
        if (b->state != CORRAL_STATE_EXITED) /* one that ended meanwhile has its verdict to come */
                backend_emit_adopted(b);
        *ret = b;
        return 1;
}

/* --- The state directory. --- */

/* A record in the state directory whose leaf is gone: the backend ended while no supervisor ran
 * (its leaf was empty, and someone removed it). Its verdict is given from the record; one that
 * may not be believed is refused, said, and left where it is, never acted on. */
static int adopt_lost(corral *c, const char *file, corral_backend **ret) {
        _cleanup_free_ char *problem = NULL;
        char name[80], id[13], leafname[100];
        corral_spec *spec = NULL;
        corral_backend *b;
        size_t len = strlen(file);
        siginfo_t si = { .si_code = 0 };
        record_state st;
        int fd, r;

        if (len < 6 || strcmp(file + len - 5, ".json") != 0 || len - 5 >= sizeof(leafname))
                return 0;
        memcpy(leafname, file, len - 5);
        leafname[len - 5] = '\0';
        if (!record_leaf_name_split(leafname, name, sizeof(name), id) || adopt_is_live(c, name, id))
                return 0;
        fd = cgroup_leaf_open(&c->root, name, id);
        if (fd >= 0) { /* its leaf is there: taken back (or left alone) by the scan of the root */
                safe_close(fd);
                return 0;
        }
        r = record_read_file(&c->records, file, name, &spec, &st, &problem);
        if (r == -EINVAL) {
                corral_log(c, CORRAL_LEVEL_WARNING, "state record %s is not a backend's record%s%s: removed", file,
                           problem ? ": " : "", problem ?: "");
                (void) unlinkat(c->records.dir_fd, file, 0); /* ours, but nothing to tell of it */
        } else if (r < 0)
                corral_log(c, CORRAL_LEVEL_ERROR, "state record %s refused: %s", file, problem ?: strerror(-r));
        if (r < 0)
                return 0;
        r = backend_adopt(c, spec, id, &st, &b);
        corral_spec_free(spec);
        if (r < 0)
                return r;
        if (b->run.verdict)
                r = backend_adopt_concluded(b);
        else if (b->next_restart_usec > 0) /* its placeholder leaf went, its restart did not */
                r = backend_adopt_restarting(b);
        else if (st.pid <= 0) { /* it never started: nothing to tell of it */
                corral_log(c, CORRAL_LEVEL_NOTICE, "%s.%s never started: its record forgotten", name, id);
                record_forget(&c->records, name, id);
                backend_unlink(b);
                corral_backend_unref(b);
                return 0;
        } else {
                int pidfd = adopt_take_given(c, name, id, 0); /* systemd's store may have it */
                if (pidfd >= 0 && syscall_pidfd_exit_info(pidfd, st.pid, &si) < 0)
                        si = (siginfo_t){ .si_code = 0 };
                safe_close(pidfd);
                r = backend_adopt_lost(b, &si);
        }
        if (r < 0) {
                backend_unlink(b);
                corral_backend_unref(b);
                return r;
        }
        *ret = b;
        return 1;
}

static int adopt_push(corral_backend ***v, size_t *n, corral_backend *b) {
        corral_backend **t = realloc(*v, (*n + 1) * sizeof(**v));

        if (!t) {
                corral_backend_unref(b);
                return -ENOMEM;
        }
        *v = t;
        t[(*n)++] = b;
        return 0;
}

/* The records of the state directory whose leaves are gone. */
static int adopt_scan_state_dir(corral *c, corral_backend ***v, size_t *n) {
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        if (c->records.dir_fd < 0)
                return 0;
        fd = openat(c->records.dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while (r >= 0 && (de = readdir(d))) {
                corral_backend *b = NULL;
                size_t len = strlen(de->d_name);
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0 && de->d_type == DT_REG) {
                        (void) unlinkat(c->records.dir_fd, de->d_name, 0); /* a write cut short */
                        continue;
                }
                if (adopt_lost(c, de->d_name, &b) > 0)
                        r = adopt_push(v, n, b);
        }
        closedir(d);
        return r;
}

/* The leaves of the root. */
static int adopt_scan_root(corral *c, corral_backend ***v, size_t *n) {
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = openat(c->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while (r >= 0 && (de = readdir(d))) {
                corral_backend *b = NULL;
                if (de->d_type == DT_DIR && adopt_leaf(c, de->d_name, &b) > 0)
                        r = adopt_push(v, n, b);
        }
        closedir(d);
        return r;
}

int corral_adopt(corral *c, corral_backend ***ret, size_t *ret_n) {
        _cleanup_free_ corral_backend **v = NULL;
        size_t n = 0;
        int r;

        if (!c || !ret || !ret_n)
                return -EINVAL;
        r = adopt_scan_root(c, &v, &n);
        if (r >= 0)
                r = adopt_scan_state_dir(c, &v, &n);
        adopt_given_done(c);
        if (r < 0) {
                while (n > 0)
                        corral_backend_unref(v[--n]);
                return r;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return (int) n;
}
