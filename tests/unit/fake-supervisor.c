/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-supervisor.c: a supervisor for the registry that runs nothing, records what it is asked and
 * makes the events a real one would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-supervisor.h"

static pid_t backend_pid(registry_backend *b) {
        return 1000 + (pid_t) atoi(b->launch);
}

static void fake_emit(fake_supervisor *f, registry_backend *b, corral_event_type type, const char *message) {
        bool verdict = corral_event_is_verdict(type);
        corral_event ev = {
                .type = type,
                .level = verdict && !b->stopping ? CORRAL_LEVEL_WARNING : CORRAL_LEVEL_INFO,
                .ts_usec = ++f->clock,
                .backend = corral_spec_get_name(b->spec),
                .launch = b->launch,
                .pid = backend_pid(b),
                .cgroup = b->cgroup,
                .intentional = verdict && b->stopping,
                .stop_uid = b->stopping ? b->stop_uid : (uid_t) -1,
                .stop_pid = b->stopping ? b->stop_pid : 0,
                .how = verdict && type != CORRAL_EVENT_START_FAILED ? CORRAL_HOW_KILLED : CORRAL_HOW_NONE,
                .exit_code = -1,
                .signal = verdict && type != CORRAL_EVENT_START_FAILED ? 15 : 0,
                .message = message,
        };

        if (f->handler)
                f->handler(NULL, &ev, f->userdata);
}

static void fake_new_launch(fake_supervisor *f, registry_backend *b) {
        (void) snprintf(b->launch, sizeof(b->launch), "%u", ++f->launches);
        (void) snprintf(b->cgroup, sizeof(b->cgroup), "/fake/%s.%s", corral_spec_get_name(b->spec),
                        b->launch);
        b->state = f->start_state;
        b->stopping = false;
}

static registry_backend *backend_new(fake_supervisor *f, const corral_spec *spec) {
        registry_backend *b = calloc(1, sizeof(*b));

        if (!b || corral_spec_dup(spec, &b->spec) < 0) {
                free(b);
                return NULL;
        }
        b->n_ref = 1;
        b->fake = f;
        fake_new_launch(f, b);
        return b;
}

static registry_backend *fake_ref(registry_backend *b) {
        b->n_ref++;
        return b;
}

static registry_backend *fake_unref(registry_backend *b) {
        if (!b || --b->n_ref > 0)
                return NULL;
        sd_event_source_disable_unref(b->end);
        corral_spec_free(b->spec);
        free(b);
        return NULL;
}

/* Live: in the list, which holds a reference, as a corral holds its backends'. */
static void fake_link(fake_supervisor *f, registry_backend *b) {
        b->live = true;
        b->next = f->live;
        f->live = fake_ref(b);
}

static void fake_unlink(fake_supervisor *f, registry_backend *b) {
        for (registry_backend **p = &f->live; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        b->live = false;
                        b->end = sd_event_source_disable_unref(b->end);
                        fake_unref(b);
                        return;
                }
}

static void fake_set_event_handler(void *sup, corral_event_handler_t handler, void *userdata) {
        fake_supervisor *f = sup;

        f->handler = handler;
        f->userdata = userdata;
}

static int fake_spawn(void *sup, const corral_spec *spec, registry_backend *prev, bool restart,
                      registry_backend **ret) {
        fake_supervisor *f = sup;
        registry_backend *b;
        int r = f->spawn_error;
        unsigned restarts = (prev ? prev->restarts : 0) + restart;

        f->spawns++;
        f->spawn_error = 0;
        if (r < 0) {
                if (f->spawn_verdict && (b = backend_new(f, spec))) {
                        fake_emit(f, b, CORRAL_EVENT_START_FAILED, "backend failed to start: faked");
                        fake_unref(b);
                }
                if (prev)
                        prev->restarts = restarts;
                return r;
        }
        b = backend_new(f, spec);
        if (!b)
                return -ENOMEM;
        b->restarts = restarts;
        fake_link(f, b);
        fake_emit(f, b, CORRAL_EVENT_STARTED, "backend started");
        *ret = b;
        return 0;
}

static int fake_on_end(sd_event_source *s, void *userdata) {
        registry_backend *b = userdata;

        fake_end(b->fake, b, CORRAL_EVENT_STOPPED);
        return 0;
}

/* A stop of b, whether stop() or stop_all() asked for it. */
static int backend_stop(registry_backend *b, uid_t uid, pid_t pid) {
        fake_supervisor *f = b->fake;

        b->stops++;
        if (!b->live)
                return CORRAL_STOP_ALREADY;
        if (b->stopping)
                return CORRAL_STOP_PENDING;
        b->stopping = true;
        b->stop_uid = uid;
        b->stop_pid = pid;
        b->state = CORRAL_STATE_STOPPING;
        fake_emit(f, b, CORRAL_EVENT_STOPPING, "backend stopping");
        if (f->stop_at_once || (f->event && sd_event_add_defer(f->event, &b->end, fake_on_end, b) < 0))
                fake_end(f, b, CORRAL_EVENT_STOPPED);
        return CORRAL_STOP_STARTED;
}

static int fake_stop(registry_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid, const char *cause) {
        b->fake->stops++;
        if (b->live && !b->stopping)
                (void) snprintf(b->stop_cause, sizeof(b->stop_cause), "%s", cause ?: "");
        return backend_stop(b, uid, pid);
}

static int fake_stop_all(void *sup, uint64_t grace_usec, uid_t uid, pid_t pid) {
        fake_supervisor *f = sup;
        registry_backend *v[64];
        size_t n = 0;
        int started = 0;

        f->stop_alls++;
        for (registry_backend *b = f->live; b && n < 64; b = b->next)
                v[n++] = fake_ref(b); /* a stop may end one, and change the list */
        for (size_t i = 0; i < n; i++) {
                started += backend_stop(v[i], uid, pid) == CORRAL_STOP_STARTED;
                fake_unref(v[i]);
        }
        return started;
}

/* A kill is recorded and changes nothing: the fake's processes cannot die of it. */
static int fake_kill(registry_backend *b, int sig, corral_kill_whom whom, uid_t uid, pid_t pid) {
        if (!b->live ||
            (b->state != CORRAL_STATE_STARTING && b->state != CORRAL_STATE_RUNNING &&
             b->state != CORRAL_STATE_STOPPING))
                return -ESRCH;
        b->kills++;
        b->kill_sig = sig;
        b->kill_whom = whom;
        b->kill_uid = uid;
        b->kill_pid = pid;
        return whom == CORRAL_KILL_ALL ? 2 : 1;
}

static int fake_reload(registry_backend *b, uid_t uid, pid_t pid) {
        if (!b->live || (b->state != CORRAL_STATE_STARTING && b->state != CORRAL_STATE_RUNNING))
                return -ESTALE;
        if (!corral_spec_can_reload(b->spec))
                return -EOPNOTSUPP;
        b->reload_uid = uid;
        b->reload_pid = pid;
        return b->reloads++ > 0 ? -EBUSY : 0;
}

void fake_reload_end(fake_supervisor *f, registry_backend *b, bool ok, int error) {
        corral_event ev = { .type = ok ? CORRAL_EVENT_RELOADED : CORRAL_EVENT_RELOAD_FAILED,
                            .level = ok ? CORRAL_LEVEL_INFO : CORRAL_LEVEL_WARNING,
                            .ts_usec = ++f->clock,
                            .backend = corral_spec_get_name(b->spec),
                            .launch = b->launch,
                            .pid = backend_pid(b),
                            .cgroup = b->cgroup,
                            .exit_code = -1,
                            .error = error,
                            .message = ok ? "backend reloaded (faked)" : "reload failed: faked",
                            .reload_uid = b->reload_uid,
                            .reload_pid = b->reload_pid };

        b->reloads = 0;
        f->handler(NULL, &ev, f->userdata);
}

static int fake_adopt(void *sup, registry_backend ***ret, size_t *ret_n) {
        fake_supervisor *f = sup;
        size_t n = f->n_adoptable;

        *ret = f->adoptable;
        *ret_n = n;
        f->adoptable = NULL;
        f->n_adoptable = 0;
        return (int) n;
}

static unsigned fake_count(void *sup) {
        fake_supervisor *f = sup;
        unsigned n = 0;

        for (registry_backend *b = f->live; b; b = b->next)
                n++;
        return n;
}

static const corral_spec *fake_spec(registry_backend *b) {
        return b->spec;
}

static void fake_info(registry_backend *b, registry_backend_info *ret) {
        *ret = (registry_backend_info){
                .launch = b->launch,
                .cgroup = b->cgroup,
                .state = b->state,
                .pid = backend_pid(b),
                .restarts = 0,
                .next_restart_usec = 0,
                .status_text = NULL,
                .ready = -1,
        };
}

static int fake_usage(registry_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec) {
        *ret_memory_bytes = *ret_cpu_usec = UINT64_MAX;
        return b->live ? 0 : -ESTALE;
}

/* One line, "out 1" on stdout, read at 1 s past the epoch; none if since_usec is later. */
static int fake_read_output(registry_backend *b, unsigned lines, uint64_t since_usec,
                            corral_output_line **ret, size_t *ret_n) {
        corral_output_line *v = malloc(sizeof(*v) + 5);

        if (!v)
                return -ENOMEM;
        memcpy(v + 1, "out 1", 5);
        *v = (corral_output_line){
                .ts_usec = 1000000, .stream = CORRAL_STREAM_STDOUT, .data = (char *) (v + 1), .size = 5
        };
        *ret = v;
        *ret_n = since_usec <= v->ts_usec;
        return 0;
}

static void fake_counters(registry_backend *b, registry_counters *ret) {
        *ret = (registry_counters){ .c = { .restarts = b->restarts, .last_exit = -1 } };
}

static int fake_processes(registry_backend *b) {
        return b->live ? 1 : -ESTALE;
}

const registry_ops fake_ops = {
        .set_event_handler = fake_set_event_handler,
        .spawn = fake_spawn,
        .stop = fake_stop,
        .stop_all = fake_stop_all,
        .kill = fake_kill,
        .adopt = fake_adopt,
        .count = fake_count,
        .ref = fake_ref,
        .unref = fake_unref,
        .spec = fake_spec,
        .info = fake_info,
        .usage = fake_usage,
        .read_output = fake_read_output,
        .counters = fake_counters,
        .processes = fake_processes,
        .reload = fake_reload,
};

void fake_init(fake_supervisor *f) {
        *f = (fake_supervisor){ .start_state = CORRAL_STATE_RUNNING };
}

void fake_done(fake_supervisor *f) {
        while (f->live)
                fake_unlink(f, f->live);
        for (size_t i = 0; i < f->n_adoptable; i++)
                fake_unref(f->adoptable[i]);
        free(f->adoptable);
        *f = (fake_supervisor){};
}

registry_backend *fake_find(fake_supervisor *f, const char *name) {
        for (registry_backend *b = f->live; b; b = b->next)
                if (strcmp(corral_spec_get_name(b->spec), name) == 0)
                        return b;
        return NULL;
}

void fake_ready(fake_supervisor *f, registry_backend *b) {
        b->state = CORRAL_STATE_RUNNING;
        fake_emit(f, b, CORRAL_EVENT_READY, "backend is ready");
}

void fake_end(fake_supervisor *f, registry_backend *b, corral_event_type verdict) {
        fake_ref(b);
        b->state = CORRAL_STATE_GONE;
        fake_unlink(f, b); /* gone before its verdict is told, as corral does it */
        fake_emit(f, b, verdict, b->stopping ? "backend stopped" : "backend exited unexpectedly");
        fake_unref(b);
}

void fake_restart(fake_supervisor *f, registry_backend *b) {
        b->state = CORRAL_STATE_RESTARTING;
        fake_emit(f, b, CORRAL_EVENT_EXITED, "backend exited unexpectedly");
        fake_emit(f, b, CORRAL_EVENT_RESTARTING, "backend restarting");
        fake_new_launch(f, b);
        fake_emit(f, b, CORRAL_EVENT_STARTED, "backend started");
}

void fake_add_adoptable(fake_supervisor *f, const char *name) {
        registry_backend **v = reallocarray(f->adoptable, f->n_adoptable + 1, sizeof(*v));
        corral_spec *spec = NULL;
        char *argv[] = { "sleep", "1000", NULL };
        registry_backend *b = NULL;

        if (v)
                f->adoptable = v;
        if (!v || corral_spec_new(&spec) < 0 || corral_spec_set_name(spec, name) < 0 ||
            corral_spec_set_argv(spec, argv) < 0 || !(b = backend_new(f, spec)))
                abort();
        corral_spec_free(spec);
        fake_link(f, b);
        f->adoptable[f->n_adoptable++] = b;
}
