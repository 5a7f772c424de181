/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* record.c: a backend's record where a supervisor after us finds it: on its leaf (trusted.* xattrs, user.* when not
 * root) and as
 * a file in the state directory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "record.h"
#include "safepath.h"
#include "spec-json.h"

/* trusted.* as root, user.* otherwise (cgroup_leaf_set_attr()). */
#define ATTR_SPEC  "corral.spec"
#define ATTR_STATE "corral.state"

int record_store_set_directory(record_store *st, const char *dir, char **ret_problem) {
        int fd = safepath_open_dir(dir, 0700, ret_problem);

        if (fd < 0)
                return fd;
        safe_close(st->dir_fd);
        st->dir_fd = fd;
        return 0;
}

void record_store_done(record_store *st) {
        st->dir_fd = safe_close(st->dir_fd);
}

static uint64_t ju64(json_t *o, const char *key) {
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

static json_t *verdict_to_json(const record_state *s) {
        if (!s->concluded)
                return json_null();
        return json_pack("{s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:I}", "event", s->verdict_event, "level",
                         s->verdict_level, "next", s->verdict_next, "message", s->verdict_message, "code",
                         s->exit_code, "status", s->exit_status, "leftover", (int) s->leftover, "runtime",
                         (json_int_t) s->runtime_usec);
}

static void verdict_from_json(json_t *o, record_state *s) {
        const char *m = json_string_value(json_object_get(o, "message"));

        if (!json_is_object(o) || !m)
                return;
        s->concluded = true;
        s->verdict_event = (int) json_integer_value(json_object_get(o, "event"));
        s->verdict_level = (int) json_integer_value(json_object_get(o, "level"));
        s->verdict_next = (int) json_integer_value(json_object_get(o, "next"));
        (void) snprintf(s->verdict_message, sizeof(s->verdict_message), "%s", m);
        s->exit_code = (int) json_integer_value(json_object_get(o, "code"));
        s->exit_status = (int) json_integer_value(json_object_get(o, "status"));
        s->leftover = (unsigned) json_integer_value(json_object_get(o, "leftover"));
        s->runtime_usec = ju64(o, "runtime");
}

/* Sparse: [[event, level, count], ...] for the counts that are not 0. */
static json_t *counters_to_json(const record_counters *c) {
        json_t *v = json_array();

        for (int t = 0; v && t < _CORRAL_EVENT_MAX; t++)
                for (int l = 0; l < RECORD_LEVELS; l++)
                        if (c->verdicts[t][l])
                                json_array_append_new(
                                        v, json_pack("[i, i, I]", t, l, (json_int_t) c->verdicts[t][l]));
        return json_pack("{s:i, s:i, s:i, s:o}", "restarts", (int) c->restarts, "oomKills",
                         (int) c->oom_kills, "lastExit", c->last_exit, "verdicts", v);
}

static void counters_from_json(json_t *o, record_counters *c) {
        json_t *v = json_object_get(o, "verdicts"), *e;
        json_t *last = json_object_get(o, "lastExit");
        size_t i;

        *c = (record_counters){ .restarts = (unsigned) ju64(o, "restarts"),
                                .oom_kills = (unsigned) ju64(o, "oomKills"),
                                .last_exit = json_is_integer(last) ? (int) json_integer_value(last) : -1 };
        json_array_foreach(v, i, e) {
                json_int_t t = json_integer_value(json_array_get(e, 0)),
                           l = json_integer_value(json_array_get(e, 1));
                if (t >= 0 && t < _CORRAL_EVENT_MAX && l >= 0 && l < RECORD_LEVELS)
                        c->verdicts[t][l] = (uint32_t) json_integer_value(json_array_get(e, 2));
        }
}

static json_t *state_to_json(const record_state *s) {
        json_t *times = json_array(), *o;
        unsigned n = s->n_restart_times < RECORD_RESTART_HISTORY ? s->n_restart_times : RECORD_RESTART_HISTORY;

        for (unsigned i = 0; times && i < n; i++)
                json_array_append_new(times, json_integer((json_int_t) s->restart_times[i]));
        o = json_pack("{s:i, s:I, s:I, s:b, s:b, s:b, s:i, s:i, s:I, s:b, s:I, s:b, s:b, s:i, s:o, s:i, s:I, "
                         "s:I, s:o, s:o}",
                         "pid", (int) s->pid, "starttime", (json_int_t) s->pid_starttime, "start",
                         (json_int_t) s->start_usec, "readyPending", s->ready_pending, "selfStopping",
                         s->self_stopping, "stop", s->stop, "stopUid", (int) s->stop_uid, "stopPid",
                         (int) s->stop_pid, "stopAt", (json_int_t) s->stop_at_usec, "stopSignalled",
                         s->stop_signalled, "stopDeadline", (json_int_t) s->stop_deadline_usec, "escalated",
                         s->escalated, "deadlineKill", s->deadline_kill, "attempt", (int) s->attempt,
                         "restartTimes", times, "restartCount", (int) s->n_restart_times, "nextRestart",
                         (json_int_t) s->next_restart_usec, "oomSeen", (json_int_t) s->oom_seen, "verdict",
                         verdict_to_json(s), "counters", counters_to_json(&s->counters));
        if (o && s->kill_signal > 0 &&
            json_object_set_new(o, "kill",
                                json_pack("{s:i, s:b, s:i, s:i}", "signal", s->kill_signal, "all",
                                          s->kill_all, "uid", (int) s->kill_uid, "pid", (int) s->kill_pid)) <
                    0)
                o = (json_decref(o), NULL);
        if (o && s->unhealthy && json_object_set_new(o, "unhealthy", json_true()) < 0)
                o = (json_decref(o), NULL);
        return o;
}

static void kill_from_json(json_t *o, record_state *s) {
        json_int_t sig = json_integer_value(json_object_get(o, "signal"));

        if (!json_is_object(o) || sig <= 0 || sig >= NSIG)
                return;
        s->kill_signal = (int) sig;
        s->kill_all = json_is_true(json_object_get(o, "all"));
        s->kill_uid = (uid_t) json_integer_value(json_object_get(o, "uid"));
        s->kill_pid = (pid_t) json_integer_value(json_object_get(o, "pid"));
}

static void state_from_json(json_t *o, record_state *s) {
        json_t *times = json_object_get(o, "restartTimes"), *t;
        size_t i;

        *s = (record_state){
                .pid = (pid_t) json_integer_value(json_object_get(o, "pid")),
                .pid_starttime = ju64(o, "starttime"),
                .start_usec = ju64(o, "start"),
                .ready_pending = json_is_true(json_object_get(o, "readyPending")),
                .self_stopping = json_is_true(json_object_get(o, "selfStopping")),
                .stop = json_is_true(json_object_get(o, "stop")),
                .stop_uid = (uid_t) json_integer_value(json_object_get(o, "stopUid")),
                .stop_pid = (pid_t) json_integer_value(json_object_get(o, "stopPid")),
                .stop_at_usec = ju64(o, "stopAt"),
                .stop_signalled = json_is_true(json_object_get(o, "stopSignalled")),
                .stop_deadline_usec = ju64(o, "stopDeadline"),
                .escalated = json_is_true(json_object_get(o, "escalated")),
                .unhealthy = json_is_true(json_object_get(o, "unhealthy")),
                .deadline_kill = json_is_true(json_object_get(o, "deadlineKill")),
                .oom_seen = ju64(o, "oomSeen"),
                .attempt = (unsigned) ju64(o, "attempt"),
                .n_restart_times = (unsigned) ju64(o, "restartCount"),
                .next_restart_usec = ju64(o, "nextRestart"),
        };
        json_array_foreach(times, i, t) if (i < RECORD_RESTART_HISTORY) s->restart_times[i] =
                (uint64_t) json_integer_value(t);
        verdict_from_json(json_object_get(o, "verdict"), s);
        kill_from_json(json_object_get(o, "kill"), s);
        counters_from_json(json_object_get(o, "counters"), &s->counters);
}

/* The record as a file: written to a temporary one, synced, and renamed over the old, so that a
 * crash leaves the old record or the new one, never half of one. */
static void record_write_file(const record_store *st, const char *name, const char *launch, json_t *spec,
                              json_t *state) {
        char file[128], tmp[140];
        json_t *j = json_pack("{s:O, s:O}", "spec", spec, "state", state);
        _cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        _cleanup_close_ int fd = -EBADF;

        json_decref(j);
        if (!s)
                return;
        (void) snprintf(file, sizeof(file), "%s.%s.json", name, launch);
        (void) snprintf(tmp, sizeof(tmp), ".%s.tmp", file);
        fd = openat(st->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 && write(fd, s, strlen(s)) == (ssize_t) strlen(s) && fsync(fd) == 0)
                (void) renameat(st->dir_fd, tmp, st->dir_fd, file);
        else if (fd >= 0)
                (void) unlinkat(st->dir_fd, tmp, 0);
}

static int json_set_attr(int leaf_fd, const char *key, json_t *j) {
        _cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

        return s ? cgroup_leaf_set_attr(leaf_fd, key, s) : -ENOMEM; /* -E2BIG past 64 KiB */
}

int record_save_spec(const record_store *st, int leaf_fd, const corral_spec *spec) {
        json_t *j = NULL;
        int r;

        if (!st->persist)
                return 0;
        r = spec_to_json(spec, &j);
        if (r >= 0)
                r = json_set_attr(leaf_fd, ATTR_SPEC, j);
        json_decref(j);
        return r;
}

void record_save(const record_store *st, const char *name, const char *launch, const corral_spec *spec,
                 const record_state *state) {
        _cleanup_close_ int leaf = -EBADF;
        json_t *js = NULL, *jst;

        if (!st->persist || !launch || !launch[0])
                return;
        jst = state_to_json(state);
        leaf = cgroup_leaf_open(st->root, name, launch); /* also between launches: the placeholder */
        if (leaf >= 0)
                (void) json_set_attr(leaf, ATTR_STATE, jst);
        if (st->dir_fd >= 0 && spec_to_json(spec, &js) >= 0)
                record_write_file(st, name, launch, js, jst);
        json_decref(js);
        json_decref(jst);
}

void record_forget(const record_store *st, const char *name, const char *launch) {
        char file[128];

        if (st->dir_fd < 0 || !launch || !launch[0])
                return;
        (void) snprintf(file, sizeof(file), "%s.%s.json", name, launch);
        (void) unlinkat(st->dir_fd, file, 0);
}

/* The spec and state of a record's JSON, the spec's name checked against the one expected. */
static int record_from_json(json_t *spec_j, json_t *state_j, const char *name, corral_spec **ret_spec,
                            record_state *ret_state) {
        corral_spec *spec = NULL;
        int r = spec_from_json(spec_j, &spec);

        if (r < 0)
                return -EINVAL;
        if (strcmp(corral_spec_get_name(spec), name) != 0) {
                corral_spec_free(spec);
                return -EINVAL;
        }
        *ret_state = (record_state){ .counters.last_exit = -1 };
        if (json_is_object(state_j))
                state_from_json(state_j, ret_state);
        *ret_spec = spec;
        return 0;
}

int record_read_leaf(int leaf_fd, const char *name, corral_spec **ret_spec, record_state *ret_state) {
        _cleanup_free_ char *spec_text = NULL, *state_text = NULL;
        json_t *spec_j, *state_j = NULL;
        int r = cgroup_leaf_get_attr(leaf_fd, ATTR_SPEC, &spec_text);

        if (r < 0)
                return r;
        spec_j = json_loads(spec_text, 0, NULL);
        if (cgroup_leaf_get_attr(leaf_fd, ATTR_STATE, &state_text) >= 0)
                state_j = json_loads(state_text, 0, NULL);
        r = record_from_json(spec_j, state_j, name, ret_spec, ret_state);
        json_decref(spec_j);
        json_decref(state_j);
        return r;
}

int record_read_file(const record_store *st, const char *file, const char *name, corral_spec **ret_spec,
                     record_state *ret_state, char **ret_problem) {
        _cleanup_close_ int fd = openat(st->dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        char buf[65536 + 4096];
        json_error_t err;
        ssize_t n;
        json_t *j;
        int r = fd < 0 ? negative_errno() : safepath_check_own_file(fd, file, ret_problem);

        if (r < 0)
                return r == -EPERM || r == -ELOOP ? -EPERM : r;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        j = json_loads(buf, 0, &err);
        if (!j) {
                if (asprintf(ret_problem, "not JSON: %s", err.text) < 0)
                        *ret_problem = NULL;
                return -EINVAL;
        }
        r = record_from_json(json_object_get(j, "spec"), json_object_get(j, "state"), name, ret_spec,
                             ret_state);
        json_decref(j);
        return r;
}

bool record_leaf_name_split(const char *leaf, char *name, size_t size, char launch[static 13]) {
        const char *dot = strrchr(leaf, '.');

        if (!dot || strlen(dot + 1) != 12 || strspn(dot + 1, "0123456789abcdef") != 12 ||
            (size_t) (dot - leaf) >= size)
                return false;
        memcpy(name, leaf, (size_t) (dot - leaf));
        name[dot - leaf] = '\0';
        memcpy(launch, dot + 1, 13);
        return name_is_valid(name);
}
