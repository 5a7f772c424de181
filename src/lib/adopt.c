/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* adopt.c: a backend's spec and state kept on its leaf, and the backends of an earlier supervisor
 * (one that crashed or was killed) taken back from its cgroup root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral-private.h"
#include "creds.h"
#include "fileio.h"
#include "macro.h"
#include "safepath.h"
#include "parse.h"
#include "spec-json.h"
#include "syscall.h"

#define ATTR_SPEC  "trusted.corral.spec"
#define ATTR_STATE "trusted.corral.state"

static json_t *state_to_json(const corral_backend *b);

int corral_set_state_directory(corral *c, const char *dir) {
        _cleanup_free_ char *problem = NULL;
        int fd;

        if (!c || !dir || dir[0] != '/')
                return -EINVAL;
        fd = safepath_open_dir(dir, 0700, &problem);
        if (fd < 0) {
                corral_log(c, CORRAL_LEVEL_ERROR, "state directory %s refused: %s", dir,
                           problem ?: strerror(-fd));
                return fd;
        }
        safe_close(c->state_dir_fd);
        c->state_dir_fd = fd;
        return 0;
}

/* The record as a file: written to a temporary one, synced, and renamed over the old, so that a
 * crash leaves the old record or the new one, never half of one. */
static void adopt_write_record(corral_backend *b) {
        corral *c = b->corral;
        char name[128], tmp[140];
        json_t *spec = NULL, *j;
        char *s = NULL;
        int fd;

        if (!c || c->state_dir_fd < 0 || !b->launch[0] || spec_to_json(b->spec, &spec) < 0)
                return;
        j = json_pack("{s:o, s:o}", "spec", spec, "state", state_to_json(b));
        s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        (void) snprintf(name, sizeof(name), "%s.%s.json", b->name, b->launch);
        (void) snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
        fd = s ? openat(c->state_dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)
               : -1;
        if (fd >= 0 && write(fd, s, strlen(s)) == (ssize_t) strlen(s) && fsync(fd) == 0)
                (void) renameat(c->state_dir_fd, tmp, c->state_dir_fd, name);
        else if (fd >= 0)
                (void) unlinkat(c->state_dir_fd, tmp, 0);
        safe_close(fd);
        free(s);
}

void adopt_forget(corral *c, const char *name, const char *launch) {
        char file[128];

        if (!c || c->state_dir_fd < 0 || !launch || !launch[0])
                return;
        (void) snprintf(file, sizeof(file), "%s.%s.json", name, launch);
        (void) unlinkat(c->state_dir_fd, file, 0);
}

int adopt_save_spec(corral_backend *b, int leaf_fd) {
        json_t *j = NULL;
        char *s;
        int r;

        if (!b->corral->persist)
                return 0;
        r = spec_to_json(b->spec, &j);
        if (r < 0)
                return r;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        r = cgroup_leaf_set_attr(leaf_fd, ATTR_SPEC, s); /* -E2BIG past 64 KiB */
        free(s);
        if (r >= 0)
                adopt_write_record(b);
        return r;
}

static json_t *state_to_json(const corral_backend *b) {
        json_t *times = json_array();
        unsigned n = b->n_restart_times < RESTART_HISTORY ? b->n_restart_times : RESTART_HISTORY;

        for (unsigned i = 0; times && i < n; i++)
                json_array_append_new(times, json_integer((json_int_t) b->restart_times[i]));
        return json_pack("{s:i, s:I, s:I, s:b, s:b, s:b, s:i, s:i, s:I, s:b, s:I, s:i, s:o, s:i, s:I, s:I}",
                         "pid", (int) b->pid, "starttime", (json_int_t) b->pid_starttime, "start",
                         (json_int_t) b->start_usec, "readyPending", b->ready_pending, "selfStopping",
                         b->self_stopping, "stop", b->intent.stop, "stopUid", (int) b->intent.by_uid,
                         "stopPid", (int) b->intent.by_pid, "stopAt", (json_int_t) b->intent.at_usec,
                         "stopSignalled", b->stop_signalled, "stopDeadline",
                         (json_int_t) b->stop_deadline_usec, "attempt", (int) b->attempt, "restartTimes",
                         times, "restartCount", (int) b->n_restart_times, "nextRestart",
                         (json_int_t) b->next_restart_usec, "oomSeen", (json_int_t) b->oom_seen);
}

void adopt_save_state(corral_backend *b) {
        _cleanup_close_ int fd = -EBADF;
        json_t *j;
        char *s;

        if (!b->corral || !b->corral->persist || !b->launch[0])
                return;
        fd = cgroup_leaf_open(&b->corral->root, b->name, b->launch); /* also between launches */
        j = fd >= 0 ? state_to_json(b) : NULL;
        s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
                (void) cgroup_leaf_set_attr(fd, ATTR_STATE, s);
        json_decref(j);
        free(s);
        adopt_write_record(b);
}

static uint64_t ju64(json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

static void state_from_json(corral_backend *b, json_t *o) {
        json_t *times = json_object_get(o, "restartTimes"), *t;
        size_t i;

        b->pid = (pid_t) json_integer_value(json_object_get(o, "pid"));
        b->pid_starttime = ju64(o, "starttime");
        b->start_usec = ju64(o, "start");
        b->ready_pending = json_is_true(json_object_get(o, "readyPending"));
        b->self_stopping = json_is_true(json_object_get(o, "selfStopping"));
        b->intent = (backend_intent){ .stop = json_is_true(json_object_get(o, "stop")),
                                      .by_uid = (uid_t) json_integer_value(json_object_get(o, "stopUid")),
                                      .by_pid = (pid_t) json_integer_value(json_object_get(o, "stopPid")),
                                      .at_usec = ju64(o, "stopAt") };
        b->stop_signalled = json_is_true(json_object_get(o, "stopSignalled"));
        b->stop_deadline_usec = ju64(o, "stopDeadline");
        b->attempt = (unsigned) ju64(o, "attempt");
        json_array_foreach(times, i, t) if (i < RESTART_HISTORY) b->restart_times[i] =
                (uint64_t) json_integer_value(t);
        b->n_restart_times = (unsigned) ju64(o, "restartCount");
        b->next_restart_usec = ju64(o, "nextRestart");
        b->oom_seen = ju64(o, "oomSeen");
}

/* "<name>.<12 hex digits>": a leaf of ours by its name; what it holds says the rest. */
static bool leaf_name_split(const char *d, char *name, size_t size, char launch[static 13]) {
        const char *dot = strrchr(d, '.');

        if (!dot || strlen(dot + 1) != 12 || strspn(dot + 1, "0123456789abcdef") != 12 ||
            (size_t) (dot - d) >= size)
                return false;
        memcpy(name, d, (size_t) (dot - d));
        name[dot - d] = '\0';
        memcpy(launch, dot + 1, 13);
        return name_is_valid(name);
}

static bool adopt_is_live(corral *c, const char *name, const char *launch) {
        for (corral_backend *b = c->live; b; b = b->next)
                if (strcmp(b->name, name) == 0 && strcmp(b->launch, launch) == 0)
                        return true;
        return false;
}

/* The record of one leaf, from what it holds: NULL if it is not a backend of a supervisor that
 * kept its state (then it is left alone: never touch a cgroup that is not ours). */
static corral_backend *adopt_record(corral *c, int leaf_fd, const char *name, const char *launch) {
        _cleanup_free_ char *spec_text = NULL, *state_text = NULL;
        corral_spec *spec = NULL;
        corral_backend *b = NULL;
        json_t *j;

        if (cgroup_leaf_get_attr(leaf_fd, ATTR_SPEC, &spec_text) < 0)
                return NULL;
        j = json_loads(spec_text, 0, NULL);
        if (spec_from_json(j, &spec) < 0 || strcmp(corral_spec_get_name(spec), name) != 0 ||
            backend_new(c, spec, &b) < 0) {
                json_decref(j);
                corral_spec_free(spec);
                return NULL;
        }
        json_decref(j);
        corral_spec_free(spec);
        memcpy(b->launch, launch, 13);
        if (asprintf(&b->cgroup, "%s/%s.%s", c->root.path + strlen(c->root.mount), name, launch) < 0) {
                b->cgroup = NULL;
                return corral_backend_unref(b);
        }
        (void) cgroup_limits_reopen(&c->limits_host, &c->root, b->cgroup, &b->spec->limits, &b->v1);
        if (cgroup_leaf_get_attr(leaf_fd, ATTR_STATE, &state_text) >= 0 &&
            (j = json_loads(state_text, 0, NULL))) {
                state_from_json(b, j);
                json_decref(j);
        }
        return b;
}

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
static int adopt_take_given(corral *c, const char *name, const char *launch, int kind) {
        char leaf[96];

        (void) snprintf(leaf, sizeof(leaf), "%s.%s", name, launch);
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
        *ret_pidfd = b ? b->pidfd : -EBADF;
        *ret_stdout = b ? b->out.pipe_fd[0] : -EBADF;
        *ret_stderr = b ? b->out.pipe_fd[1] : -EBADF;
}

/* Its main process, if it still runs: a pidfd of the pid it had, which must still be in the
 * leaf and have started when it did (a recycled pid has another start time). One kept for us
 * (systemd's fd store) is its own whatever became of it: it tells its exit even after a reap. */
static int adopt_main_pidfd(corral_backend *b) {
        uint64_t st;
        int fd = adopt_take_given(b->corral, b->name, b->launch, 0);

        if (fd >= 0)
                return fd;
        if (b->pid <= 0)
                return -ESRCH;
        fd = syscall_pidfd_open(b->pid);
        if (fd < 0)
                return fd;
        if (syscall_pid_starttime(b->pid, &st) < 0 || st != b->pid_starttime ||
            !cgroup_pid_in(b->pid, b->cgroup)) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

/* Its main process is gone (it ended while no supervisor watched): no exit status can be had.
 * Leftovers are killed; the verdict comes once the leaf is empty. */
static int adopt_ended(corral_backend *b, int leaf_fd) {
        b->reaped = true;
        b->exit_si = (siginfo_t){ .si_code = 0 };
        b->exit_usec = now_usec(CLOCK_MONOTONIC);
        b->state = CORRAL_STATE_EXITED;
        b->adopted = true;
        return backend_attach_ended(b, leaf_fd);
}

/* A leaf of our naming with no spec on it and nothing in it: a supervisor was killed between
 * making it and recording the spec, which comes before any process; no process ever ran there.
 * It goes, or it would stay for ever. One with a process in it is not ours to judge: left alone. */
static void adopt_sweep_unrecorded(corral *c, int leaf_fd, const char *name, const char *launch) {
        _cleanup_free_ char *spec_text = NULL;

        if (!c->persist || cgroup_leaf_get_attr(leaf_fd, ATTR_SPEC, &spec_text) != -ENODATA ||
            cgroup_is_populated(leaf_fd) != 0)
                return;
        if (cgroup_leaf_remove(&c->root, name, launch) >= 0)
                corral_log(c, CORRAL_LEVEL_NOTICE,
                           "removed the empty leaf %s.%s: made, never used, by a supervisor that died", name,
                           launch);
}

/* What a running backend had open in the supervisor before: its log file and its notify socket
 * (at the same address: its $NOTIFY_SOCKET names it), with its user's rights as at its launch.
 * A failure costs that much only: it is said, and the backend is supervised all the same. */
static void adopt_reopen(corral_backend *b) {
        _cleanup_free_ char *what = NULL, *path = NULL;
        spawn_creds creds = {};
        bool as_user = b->spec->user || b->spec->group;
        int r = as_user ? creds_resolve(b->spec->user, b->spec->group, &creds) : 0;

        if (r < 0) {
                corral_log(b->corral, CORRAL_LEVEL_WARNING,
                           "%s taken back without its log file and notify socket: its user: %s", b->name,
                           strerror(-r));
                return;
        }
        if (b->spec->output == CORRAL_OUTPUT_CAPTURE &&
            (r = output_open_file(b, as_user ? &creds : NULL, &what)) < 0)
                corral_log(b->corral, CORRAL_LEVEL_WARNING, "%s taken back without its %s: %s", b->name,
                           what ?: "log file", strerror(-r));
        if (corral_spec_wants_notify(b->spec) &&
            (r = backend_notify_open(b, as_user ? creds.uid : geteuid(), &path)) < 0)
                corral_log(b->corral, CORRAL_LEVEL_WARNING, "%s taken back without its notify socket: %s",
                           b->name, strerror(-r));
        creds_done(&creds);
}

/* One leaf: its backend supervised again, waiting for its restart, or concluded. */
static int adopt_leaf(corral *c, const char *dir, corral_backend **ret) {
        char name[80], launch[13];
        _cleanup_close_ int leaf = -EBADF;
        corral_backend *b;
        int pidfd, r;

        if (!leaf_name_split(dir, name, sizeof(name), launch) || adopt_is_live(c, name, launch))
                return 0;
        leaf = cgroup_leaf_open(&c->root, name, launch);
        if (leaf < 0)
                return 0;
        b = adopt_record(c, leaf, name, launch);
        if (!b) {
                adopt_sweep_unrecorded(c, leaf, name, launch);
                return 0;
        }
        corral_link(c, b);
        if (b->next_restart_usec > 0) { /* between launches: its leaf is the record */
                b->state = CORRAL_STATE_RESTARTING;
                r = backend_arm_restart(b);
        } else {
                pidfd = adopt_main_pidfd(b);
                if (pidfd >= 0) {
                        b->out.pipe_fd[0] = adopt_take_given(c, name, launch, 1);
                        b->out.pipe_fd[1] = adopt_take_given(c, name, launch, 2);
                        output_prepare(b);
                        r = backend_attach_adopted(b, b->pid, pidfd, TAKE_FD(leaf));
                        if (r >= 0)
                                r = output_attach(b);
                        if (r >= 0)
                                adopt_reopen(b);
                } else
                        r = adopt_ended(b, TAKE_FD(leaf));
        }
        if (r < 0) {
                backend_kill_sync(b);
                corral_unlink(c, b);
                corral_backend_unref(b);
                return r;
        }
        if (b->state != CORRAL_STATE_EXITED) /* one that ended meanwhile has its verdict to come */
                backend_emit(b, CORRAL_EVENT_ADOPTED, CORRAL_LEVEL_INFO,
                             b->state == CORRAL_STATE_RESTARTING
                                     ? "backend taken back, waiting to be restarted"
                                     : "backend taken back: supervised again",
                             0);
        *ret = b;
        return 1;
}

/* A record of the state directory, if it may be believed: a regular file of ours that nobody
 * else can have written (a record says what to run, as whom). NULL if not, and the log says why;
 * it is left where it is for the administrator to look at. */
static json_t *adopt_read_record(corral *c, const char *file) {
        _cleanup_free_ char *problem = NULL;
        _cleanup_close_ int fd =
                openat(c->state_dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        char buf[65536 + 4096];
        json_error_t err;
        ssize_t n;
        json_t *j;
        int r = fd < 0 ? negative_errno() : safepath_check_own_file(fd, file, &problem);

        if (r < 0) {
                corral_log(c, CORRAL_LEVEL_ERROR, "state record %s refused: %s", file,
                           problem ?: strerror(-r));
                return NULL;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        j = json_loads(buf, 0, &err);
        if (!j)
                corral_log(c, CORRAL_LEVEL_WARNING, "state record %s is not JSON: %s", file, err.text);
        return j;
}

/* A record in the state directory whose leaf is gone: the backend ended while no supervisor ran
 * (its leaf was empty, and someone removed it). Its verdict is given from the record. */
static int adopt_lost(corral *c, const char *file, corral_backend **ret) {
        char name[80], launch[13], leafname[100];
        json_t *j = NULL, *spec_j, *state_j;
        corral_spec *spec = NULL;
        corral_backend *b = NULL;
        size_t len = strlen(file);
        int fd, r;

        if (len < 6 || strcmp(file + len - 5, ".json") != 0 || len - 5 >= sizeof(leafname))
                return 0;
        memcpy(leafname, file, len - 5);
        leafname[len - 5] = '\0';
        if (!leaf_name_split(leafname, name, sizeof(name), launch) || adopt_is_live(c, name, launch))
                return 0;
        fd = cgroup_leaf_open(&c->root, name, launch);
        if (fd >= 0) { /* its leaf is there: taken back (or left alone) by the scan of the root */
                safe_close(fd);
                return 0;
        }
        j = adopt_read_record(c, file);
        if (!j)
                return 0; /* refused, and said why: never acted on */
        spec_j = json_object_get(j, "spec");
        state_j = json_object_get(j, "state");
        if (spec_from_json(spec_j, &spec) < 0 || strcmp(corral_spec_get_name(spec), name) != 0 ||
            backend_new(c, spec, &b) < 0) {
                json_decref(j);
                corral_spec_free(spec);
                corral_log(c, CORRAL_LEVEL_WARNING, "state record %s is not a backend's record: removed",
                           file);
                (void) unlinkat(c->state_dir_fd, file, 0); /* ours, but nothing to tell of it */
                return 0;
        }
        corral_spec_free(spec);
        memcpy(b->launch, launch, 13);
        if (asprintf(&b->cgroup, "%s/%s.%s", c->root.path + strlen(c->root.mount), name, launch) < 0)
                b->cgroup = NULL;
        if (state_j)
                state_from_json(b, state_j);
        json_decref(j);
        corral_link(c, b);
        if (b->next_restart_usec > 0) { /* its placeholder leaf went, its restart did not */
                b->state = CORRAL_STATE_RESTARTING;
                r = backend_arm_restart(b);
        } else {
                int pidfd = adopt_take_given(c, name, launch, 0); /* systemd's store may have it */
                b->exit_si = (siginfo_t){ .si_code = 0 };
                if (pidfd >= 0 && syscall_pidfd_exit_info(pidfd, b->pid, &b->exit_si) < 0)
                        b->exit_si = (siginfo_t){ .si_code = 0 };
                safe_close(pidfd);
                r = backend_attach_lost(b);
        }
        if (r < 0) {
                corral_unlink(c, b);
                corral_backend_unref(b);
                return r;
        }
        *ret = b;
        return 1;
}

static int adopt_push(corral_backend ***v, size_t *n, corral_backend *b) {
        corral_backend **t = realloc(*v, (*n + 1) * sizeof(**v));

        if (!t)
                return -ENOMEM;
        *v = t;
        t[(*n)++] = corral_backend_ref(b);
        return 0;
}

/* The records of the state directory whose leaves are gone. */
static int adopt_scan_state_dir(corral *c, corral_backend ***v, size_t *n) {
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        if (c->state_dir_fd < 0)
                return 0;
        fd = openat(c->state_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
                        (void) unlinkat(c->state_dir_fd, de->d_name, 0); /* a write cut short */
                        continue;
                }
                if (adopt_lost(c, de->d_name, &b) > 0)
                        r = adopt_push(v, n, b);
        }
        closedir(d);
        return r;
}

int corral_adopt(corral *c, corral_backend ***ret, size_t *ret_n) {
        _cleanup_free_ corral_backend **v = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        if (!c || !ret || !ret_n)
                return -EINVAL;
        fd = openat(c->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while (r >= 0 && (de = readdir(d))) {
                corral_backend *b = NULL, **t;
                if (de->d_type != DT_DIR || adopt_leaf(c, de->d_name, &b) <= 0)
                        continue;
                t = realloc(v, (n + 1) * sizeof(*v));
                if (!t) {
                        r = -ENOMEM;
                        break;
                }
                v = t;
                v[n++] = corral_backend_ref(b);
        }
        closedir(d);
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
