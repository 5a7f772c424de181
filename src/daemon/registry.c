/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.c: corrald's backends by name: their specs, last verdicts, and the calls waiting on them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-log.h"
#include "definition.h"
#include "evlog.h"
#include "fileio.h"
#include "hashmap.h"
#include "macro.h"
#include "registry.h"
#include "strv.h"

/* What ends a link between a call and an entry: the launch's verdict (all but WAIT_READY), or
 * its readiness (WAIT_READY, else the verdict too). */
typedef enum wait_kind {
        WAIT_STOP,
        WAIT_RESTART,       /* started again once gone, then completed */
        WAIT_RESTART_READY, /* started again once gone, then as WAIT_READY */
        WAIT_GROUP,         /* StopAll: one of its backends; the call completes once all are gone */
        WAIT_READY,  /* Start with wait_ready: completed at ready, or with the verdict if it never is */
        WAIT_RELOAD, /* a reload changed its definition: started again, on the new one, once gone */
        WAIT_BACKEND_RELOAD, /* ReloadBackend: its reload's end (or the launch's, which ends it) */
        WAIT_SPAWN,  /* a declared Start queued behind its dependencies: completed once launched */
} wait_kind;

/* A call that waits: completed once the last of its links is resolved and the call itself has
 * returned (its own hold). */
struct registry_wait {
        registry_done_t done; /* NULL once cancelled */
        void *userdata;
        unsigned pending; /* links not yet resolved, and the hold */
        registry_result result;
};

typedef struct waiter {
        wait_kind kind;
        registry_wait *wait; /* NULL for WAIT_RELOAD: nobody waits */
        json_t *slot;        /* WAIT_BACKEND_RELOAD: its object in the call's value, filled at the end */
        struct waiter *next;
} waiter;

typedef struct entry {
        struct entry *prev, *next;           /* every entry, in the order they were first started */
        struct entry *gone_prev, *gone_next; /* undeclared and gone, the longest gone first */
        bool in_gone;
        char *name;
        corral_spec *spec;         /* what Start asked for: every launch and restart is made from it */
        bool failed;               /* the crash-loop limit ended it */
        registry_backend *backend; /* while it runs or waits to be restarted */
        registry_backend *last;    /* the latest launch's record, kept for its output (Logs) */
        char *definition;          /* the file it is declared in, or NULL: started over varlink */
        corral_spec *next_spec;    /* a reload's new definition, for when it is gone */
        uint64_t since_usec;       /* CLOCK_REALTIME of its last event */
        json_t *last_verdict;
        unsigned n_verdicts; /* how many it had: did a start fail with a verdict of its own? */
        waiter *waiters;
        /* Declared dependencies: After= (Requires= names are in it too) and Requires=. */
        char **after, **requires;
        bool start_queued; /* its start waits until what it is ordered after is ready */
        bool resume;      /* stopped as what it requires went to restart: started again once that is ready */
        bool stop_queued; /* its stop waits until what is ordered after it, and stops too, is gone */
        uint64_t stop_grace;
        registry_caller stop_by;
        char *stop_cause;
        unsigned walk; /* the last entry_stop_tree() that went through it */
} entry;

struct registry {
        const registry_ops *ops;
        void *sup;
        registry_observer *observers;
        size_t n_observers;
        hashmap by_name;
        entry *entries, *entries_tail;
        entry *gone_head, *gone_tail; /* what Remove, or the keep-gone bound, may forget */
        size_t n_gone, keep_gone;
        sd_event_source *collect; /* forgets the oldest gone beyond keep_gone, when enabled */
        bool shutting_down;
        void (*done)(void *userdata);
        void *done_userdata;
        char **definition_dirs;
        definition **defs; /* the definitions last read, to start a declared backend by name */
        size_t n_defs;
        unsigned n_deps;   /* entries with After= or Requires=: none, and dependencies cost nothing */
        unsigned n_queued; /* entries with a start or a stop queued */
        bool kicking, kick_again;
        unsigned walk;
};

void registry_result_done(registry_result *res) {
        free(res->message_buf);
        json_decref(res->verdict);
        json_decref(res->value);
        free(res->lines);
        *res = (registry_result){};
}

/* --- Waits: a call's completion, and its links to the entries it waits on. --- */

static registry_wait *wait_new(registry_done_t done, void *userdata) {
        registry_wait *w = calloc(1, sizeof(*w));

        if (w)
                *w = (registry_wait){ .done = done, .userdata = userdata, .pending = 1 };
        return w;
}

/* One link or the hold less: the last one completes it. Returns w while it still waits. */
static registry_wait *wait_release(registry_wait *w) {
        if (--w->pending > 0)
                return w;
        if (w->done)
                w->done(&w->result, w->userdata);
        registry_result_done(&w->result);
        free(w);
        return NULL;
}

static registry_wait *wait_fail(registry_wait *w, registry_error error, const char *name) {
        w->result.error = error;
        w->result.name = name;
        return wait_release(w);
}

/* Out of memory before there is a wait to complete: at once. */
static registry_wait *wait_none(registry_done_t done, void *userdata, const char *name) {
        registry_result res = { .error = REGISTRY_NO_MEMORY, .name = name };

        done(&res, userdata);
        return NULL;
}

registry_wait *registry_wait_cancel(registry_wait *w) {
        if (w)
                w->done = NULL;
        return NULL;
}

static int entry_wait(entry *e, wait_kind kind, registry_wait *w) {
        waiter *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        *x = (waiter){ .kind = kind, .wait = w, .next = e->waiters };
        e->waiters = x;
        if (w)
                w->pending++;
        return 0;
}

static void entry_drop_waiters(entry *e) {
        while (e->waiters) {
                waiter *x = e->waiters;
                e->waiters = x->next;
                if (x->wait && --x->wait->pending == 0) { /* registry_free(): nobody is told */
                        registry_result_done(&x->wait->result);
                        free(x->wait);
                }
                free(x);
        }
}

/* --- Entries --- */

static entry *entry_free(registry *r, entry *e) {
        entry_drop_waiters(e);
        strv_free(e->after);
        strv_free(e->requires);
        free(e->stop_cause);
        free(e->name);
        corral_spec_free(e->spec);
        if (e->backend)
                r->ops->unref(e->backend);
        if (e->last)
                r->ops->unref(e->last);
        free(e->definition);
        corral_spec_free(e->next_spec);
        json_decref(e->last_verdict);
        free(e);
        return NULL;
}

static entry *registry_find(registry *r, const char *name) {
        return hashmap_get(&r->by_name, name);
}

static void gone_unlink(registry *r, entry *e) {
        if (!e->in_gone)
                return;
        *(e->gone_prev ? &e->gone_prev->gone_next : &r->gone_head) = e->gone_next;
        *(e->gone_next ? &e->gone_next->gone_prev : &r->gone_tail) = e->gone_prev;
        e->gone_prev = e->gone_next = NULL;
        e->in_gone = false;
        r->n_gone--;
}

/* It is gone (no launch, nothing waiting): once more than keep_gone are, the longest gone is
 * forgotten, from the loop's next turn (never under the caller, who may still hold it). A
 * declared backend is never forgotten: its file says it exists. */
static void gone_push(registry *r, entry *e) {
        if (e->in_gone || e->definition || e->backend)
                return;
        e->gone_prev = r->gone_tail;
        *(r->gone_tail ? &r->gone_tail->gone_next : &r->gone_head) = e;
        r->gone_tail = e;
        e->in_gone = true;
        r->n_gone++;
        if (r->n_gone > r->keep_gone && r->collect)
                (void) sd_event_source_set_enabled(r->collect, SD_EVENT_ONESHOT);
}

static void registry_forget(registry *r, entry *e) {
        gone_unlink(r, e);
        (void) hashmap_remove(&r->by_name, e->name);
        *(e->prev ? &e->prev->next : &r->entries) = e->next;
        *(e->next ? &e->next->prev : &r->entries_tail) = e->prev;
        entry_free(r, e);
}

static int registry_collect(sd_event_source *s, void *userdata) {
        registry *r = userdata;

        while (r->n_gone > r->keep_gone) {
                entry *e = r->gone_head;
                if (e->backend || e->waiters || e->definition)
                        gone_unlink(r, e); /* not gone after all: never forgotten from here */
                else
                        registry_forget(r, e);
        }
        return 0;
}

static entry *registry_add(registry *r, const char *name) {
        entry *e = calloc(1, sizeof(*e));

        if (!e || !(e->name = strdup(name)) || hashmap_put(&r->by_name, e->name, e) < 0) {
                if (e)
                        free(e->name);
                free(e);
                return NULL;
        }
        e->prev = r->entries_tail;
        *(r->entries_tail ? &r->entries_tail->next : &r->entries) = e;
        r->entries_tail = e;
        return e;
}

unsigned registry_count_running(registry *r) {
        return r->ops->count(r->sup);
}

bool registry_shutting_down(registry *r) {
        return r->shutting_down;
}

static json_t *json_strv(char *const *v) {
        json_t *a = json_array();

        for (char *const *p = v; a && p && *p; p++)
                json_array_append_new(a, json_string(*p));
        return a;
}

static json_t *json_u64_or_null(uint64_t v) {
        return v == UINT64_MAX ? json_null() : json_integer((json_int_t) v);
}

/* What Status adds to a backend: what its cgroup uses and holds now. */
static void entry_json_usage(registry *r, entry *e, json_t *o) {
        uint64_t mem = UINT64_MAX, cpu = UINT64_MAX;
        int n = -1;

        if (e->backend) {
                (void) r->ops->usage(e->backend, &mem, &cpu);
                n = r->ops->processes ? r->ops->processes(e->backend) : -EOPNOTSUPP;
        }
        json_object_set_new(o, "memoryCurrent", json_u64_or_null(mem));
        json_object_set_new(o, "cpuUsageUSec", json_u64_or_null(cpu));
        json_object_set_new(o, "processes", n >= 0 ? json_integer(n) : json_null());
}

static bool entry_is_ready(registry *r, entry *e);
static bool entry_is_coming(registry *r, entry *e);

/* While its start is queued: what it waits for (ordered after, being started, not ready yet);
 * null when its start is not queued. */
static json_t *entry_json_waiting(registry *r, entry *e) {
        json_t *a;

        if (!e->start_queued || !(a = json_array()))
                return json_null();
        STRV_FOREACH(n, e->after) {
                entry *d = registry_find(r, *n);
                if (d && entry_is_coming(r, d) && !entry_is_ready(r, d))
                        json_array_append_new(a, json_string(*n));
        }
        return a;
}

/* Its After= (with what Requires= implies) and Requires=, and what its queued start waits for. */
static void entry_json_deps(registry *r, entry *e, json_t *o) {
        json_object_set_new(o, "after", e->after ? json_strv(e->after) : json_null());
        json_object_set_new(o, "requires", e->requires ? json_strv(e->requires) : json_null());
        json_object_set_new(o, "waitingFor", entry_json_waiting(r, e));
}

/* A backend as List, Status and Watch show it (the interface's Backend). */
static json_t *entry_json(registry *r, entry *e, bool usage) {
        registry_backend *b = e->backend;
        registry_backend_info i = { .state = CORRAL_STATE_GONE, .ready = -1 };
        json_t *o;

        if (b)
                r->ops->info(b, &i);
        o = json_pack("{s:s, s:s?, s:s, s:o, s:s?, s:s, s:o, s:I, s:O}", "name", e->name, "launch", i.launch,
                      "state", !b && e->failed ? "failed" : corral_state_to_string(i.state), "pid",
                      b && i.pid > 0 ? json_integer(i.pid) : json_null(), "cgroup", i.cgroup, "type",
                      corral_spec_get_type(e->spec) == CORRAL_TYPE_TASK ? "task" : "service", "command",
                      json_strv(corral_spec_get_argv(e->spec)), "since", (json_int_t) e->since_usec,
                      "lastVerdict", e->last_verdict ?: json_null());
        if (o) {
                json_object_set_new(o, "restart",
                                    json_string(corral_restart_to_string(corral_spec_get_restart(e->spec))));
                json_object_set_new(o, "restarts", json_integer(i.restarts));
                json_object_set_new(o, "nextRestart",
                                    i.next_restart_usec ? json_integer((json_int_t) i.next_restart_usec)
                                                        : json_null());
                json_object_set_new(o, "definition",
                                    e->definition ? json_string(e->definition) : json_null());
                json_object_set_new(o, "statusText",
                                    i.status_text ? json_string(i.status_text) : json_null());
                json_object_set_new(o, "health",
                                    corral_spec_get_health_check(e->spec)
                                            ? json_string(corral_health_to_string(i.health))
                                            : json_null());
                json_object_set_new(o, "healthFailures",
                                    corral_spec_get_health_check(e->spec) ? json_integer(i.health_failures)
                                                                          : json_null());
                json_object_set_new(o, "started",
                                    i.start_usec ? json_integer((json_int_t) i.start_usec) : json_null());
                json_object_set_new(o, "ready", i.ready >= 0 ? json_boolean(i.ready) : json_null());
                entry_json_deps(r, e, o);
        }
        if (o && usage)
                entry_json_usage(r, e, o);
        return o;
}

/* What the supervisor says of b now. */
static registry_backend_info backend_info(registry *r, registry_backend *b) {
        registry_backend_info i = {};

        r->ops->info(b, &i);
        return i;
}

/* Whether the launch of this event is the one e tracks. */
static bool entry_has_launch(registry *r, entry *e, const char *launch) {
        return e->backend && strcmp(backend_info(r, e->backend).launch, launch) == 0;
}

/* REGISTRY_OK with the backend as it is now. */
static registry_error result_backend(registry *r, registry_result *res, entry *e, bool usage) {
        res->value = entry_json(r, e, usage);
        res->error = res->value ? REGISTRY_OK : REGISTRY_NO_MEMORY;
        res->name = e->name;
        return res->error;
}

/* --- Observers --- */

int registry_observe(registry *r, const registry_observer *o) {
        registry_observer *v = reallocarray(r->observers, r->n_observers + 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        r->observers = v;
        r->observers[r->n_observers++] = *o;
        return 0;
}

static void registry_notify_event(registry *r, const corral_event *ev, json_t *j) {
        for (registry_observer *o = r->observers; o < r->observers + r->n_observers; o++)
                if (o->event)
                        o->event(ev, j, o->userdata);
}

static void registry_notify_launch(registry *r, registry_backend *b) {
        for (registry_observer *o = r->observers; o < r->observers + r->n_observers; o++)
                if (o->launch)
                        o->launch(b, o->userdata);
}

static void registry_notify_status(registry *r) {
        unsigned running = r->ops->count(r->sup);

        for (registry_observer *o = r->observers; o < r->observers + r->n_observers; o++)
                if (o->status)
                        o->status(running, r->shutting_down, o->userdata);
}

/* Start a launch of e from its spec; restart: as a restart (counted). Its counters go on from
 * its last launch's. */
static int registry_spawn(registry *r, entry *e, bool restart) {
        int k;

        e->failed = false;
        e->resume = false;
        gone_unlink(r, e);
        /* An entry never changes its spec (a new one replaces it): the backend shares it, not copies it. */
        k = r->ops->spawn(r->sup, corral_spec_freeze(e->spec), e->last, restart, &e->backend);
        if (k >= 0) {
                if (e->last)
                        r->ops->unref(e->last);
                e->last = r->ops->ref(e->backend);
                registry_notify_launch(r, e->backend);
        } else
                gone_push(r, e);
        return k;
}

/* Spawn e, and say how that went: REGISTRY_OK with the backend, or why it did not start (its
 * start-failed verdict if the start got as far as one). */
static registry_error result_spawn(registry *r, entry *e, bool restart, registry_result *res) {
        unsigned n = e->n_verdicts;
        int k = registry_spawn(r, e, restart);

        if (k >= 0)
                return result_backend(r, res, e, false);
        res->name = e->name;
        if (k == -ENOMEM && e->n_verdicts == n)
                return res->error = REGISTRY_NO_MEMORY;
        res->error = REGISTRY_START_FAILED;
        if (e->n_verdicts != n) {
                res->verdict = json_incref(e->last_verdict);
                res->message = json_string_value(json_object_get(res->verdict, "message"));
        } else
                res->message = strerror(-k);
        return res->error;
}

/* Spawn e and complete w with how that went; with wait_ready, one that is starting completes w
 * only at its readiness (or with its verdict if it never is). */
static void spawn_for(registry *r, entry *e, registry_wait *w, bool restart, bool wait_ready) {
        if (result_spawn(r, e, restart, &w->result) == REGISTRY_OK && wait_ready && e->backend &&
            backend_info(r, e->backend).state == CORRAL_STATE_STARTING && entry_wait(e, WAIT_READY, w) >= 0)
                registry_result_done(&w->result); /* completed at ready, or with its verdict */
}

/* A backend's line of a ReloadBackend's answer. */
static void reload_slot_fill(json_t *slot, const char *result, const char *message) {
        json_object_set_new(slot, "result", json_string(result));
        json_object_set_new(slot, "message", json_string(message ?: ""));
}

/* Its reload ended (a reloaded or reload-failed event): what waited for it is told how. */
static void registry_resolve_reload(registry *r, entry *e, const corral_event *ev) {
        const char *result = ev->type == CORRAL_EVENT_RELOADED ? "ok"
                : ev->error == ETIMEDOUT                       ? "timed-out"
                                                               : "failed";

        for (waiter **p = &e->waiters; *p;) {
                waiter *x = *p;
                if (x->kind != WAIT_BACKEND_RELOAD) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                reload_slot_fill(x->slot, result, ev->message);
                (void) wait_release(x->wait);
                free(x);
        }
}

/* The launch a call waited on is gone (verdict, possibly NULL), or for WAIT_READY, ready
 * (verdict NULL and ready). */
static void waiter_resolve(registry *r, entry *e, waiter *x, json_t *verdict, bool ready) {
        registry_wait *w = x->wait;

        switch (x->kind) {
        case WAIT_STOP:
                w->result.verdict = json_incref(verdict);
                break;
        case WAIT_RESTART:
        case WAIT_RESTART_READY:
                spawn_for(r, e, w, true, x->kind == WAIT_RESTART_READY);
                break;
        case WAIT_SPAWN:
        case WAIT_READY:
                if (ready) {
                        (void) result_backend(r, &w->result, e, false);
                        break;
                }
                w->result = (registry_result){ .error = REGISTRY_START_FAILED,
                                               .name = e->name,
                                               .verdict = json_incref(verdict) };
                w->result.message = json_string_value(json_object_get(verdict, "message"));
                break;
        case WAIT_RELOAD:
                if (e->next_spec) {
                        corral_spec_free(e->spec);
                        e->spec = e->next_spec;
                        e->next_spec = NULL;
                }
                if (registry_spawn(r, e, true) < 0)
                        daemon_log(LOG_ERR, "reload: %s did not start again on its new definition", e->name);
                break;
        case WAIT_GROUP:
                if (verdict)
                        json_array_append(w->result.value, verdict);
                break;
        case WAIT_BACKEND_RELOAD: /* its launch ended before its reload did (a reload's end comes first) */
                reload_slot_fill(x->slot, "failed", "the backend ended during its reload");
                break;
        }
        if (w)
                (void) wait_release(w);
}

/* Its launch is gone: every call waiting on it is resolved. */
static void registry_resolve(registry *r, entry *e) {
        waiter *x = e->waiters;

        e->waiters = NULL;
        while (x) {
                waiter *next = x->next;
                waiter_resolve(r, e, x, e->last_verdict, false);
                free(x);
                x = next;
        }
}

/* It is ready: complete the Starts that waited for that, and keep every other waiter. */
static void registry_resolve_ready(registry *r, entry *e) {
        for (waiter **p = &e->waiters; *p;) {
                waiter *x = *p;
                if (x->kind != WAIT_READY) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                waiter_resolve(r, e, x, NULL, true);
                free(x);
        }
}

/* --- Dependencies among declared backends (After=, Requires=): starts and stops queued until
 * what they are ordered after allows them, moved on by the events (deps_kick()), never by a timer. */

static bool strv_has(char *const *v, const char *s) {
        STRV_FOREACH(p, v)
        if (strcmp(*p, s) == 0)
                return true;
        return false;
}

static corral_state entry_state(registry *r, entry *e) {
        return e->backend ? backend_info(r, e->backend).state : CORRAL_STATE_GONE;
}

static bool entry_is_ready(registry *r, entry *e) {
        return entry_state(r, e) == CORRAL_STATE_RUNNING;
}

/* Being started: queued, waiting for readiness, or for its restart. */
static bool entry_is_coming(registry *r, entry *e) {
        corral_state st = entry_state(r, e);
        return e->start_queued || st == CORRAL_STATE_STARTING || st == CORRAL_STATE_RESTARTING;
}

/* Being stopped: queued, or under way. */
static bool entry_is_going(registry *r, entry *e) {
        corral_state st = entry_state(r, e);
        return e->stop_queued || st == CORRAL_STATE_STOPPING || st == CORRAL_STATE_EXITED;
}

static void entry_set_queued(registry *r, entry *e, bool *flag, bool on) {
        if (*flag == on)
                return;
        *flag = on;
        if (on)
                r->n_queued++;
        else
                r->n_queued--;
}

/* Its dependencies as its definition says (d NULL: none). */
static void entry_set_deps(registry *r, entry *e, const definition *d) {
        char **after = NULL, **requires = NULL;

        for (size_t i = 0; d && i < d->n_deps; i++) {
                const char *n = d->deps[i].name;
                if (!strv_has(after, n) && strv_push(&after, strdup(n)) < 0)
                        break;
                if (d->deps[i].requires && !strv_has(requires, n) && strv_push(&requires, strdup(n)) < 0)
                        break;
        }
        if (e->after)
                r->n_deps--;
        strv_free(e->after);
        strv_free(e->requires);
        e->after = after;
        e->requires = requires;
        if (e->after)
                r->n_deps++;
}

static const definition *registry_definition(registry *r, const char *name) {
        for (size_t i = 0; i < r->n_defs; i++)
                if (strcmp(r->defs[i]->name, name) == 0)
                        return r->defs[i];
        return NULL;
}

/* The entry of a declared backend (made from its definition if it has none yet, say Enabled=no),
 * or NULL: no definition declares it (or it has problems), or a backend of that name started
 * over varlink holds the name. */
static entry *entry_declared(registry *r, const char *name) {
        entry *e = registry_find(r, name);
        const definition *d;

        if (e)
                return e->definition ? e : NULL;
        d = registry_definition(r, name);
        if (!d || !d->spec || !(e = registry_add(r, name)))
                return NULL;
        if (corral_spec_dup(d->spec, &e->spec) < 0 || !(e->definition = strdup(d->path))) {
                registry_forget(r, e);
                return NULL;
        }
        entry_set_deps(r, e, d);
        return e;
}

/* Queue the start of e, and first of what it requires. 0, or -errno with why. */
static int entry_start_deps(registry *r, entry *e, unsigned depth, char *why, size_t size) {
        if (e->backend || e->start_queued)
                return 0;
        if (depth > 64) {
                (void) snprintf(why, size, "dependencies nested deeper than 64 at %s", e->name);
                return -ELOOP;
        }
        STRV_FOREACH(n, e->requires) {
                entry *d = entry_declared(r, *n);
                if (!d) {
                        (void) snprintf(why, size, "%s requires %s, which is not a declared backend",
                                        e->name, *n);
                        return -ENOENT;
                }
                int k = entry_start_deps(r, d, depth + 1, why, size);
                if (k < 0)
                        return k;
        }
        e->resume = false;
        entry_set_queued(r, e, &e->start_queued, true);
        return 0;
}

/* Answer the Starts waiting on e's launch: with START_FAILED and why, or (why NULL) with the
 * backend, those that wait for readiness only if it is ready already. */
static void entry_answer_starts(registry *r, entry *e, const char *why) {
        bool ready = e->backend && entry_state(r, e) != CORRAL_STATE_STARTING;

        for (waiter **p = &e->waiters; *p;) {
                waiter *x = *p;
                registry_wait *w = x->wait;
                if (!(x->kind == WAIT_SPAWN || (x->kind == WAIT_READY && (why || ready)))) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                free(x);
                registry_result_done(&w->result);
                if (why) {
                        w->result = (registry_result){ .error = REGISTRY_START_FAILED, .name = e->name };
                        w->result.message = w->result.message_buf = strdup(why);
                } else
                        (void) result_backend(r, &w->result, e, false);
                (void) wait_release(w);
        }
}

/* A queued start that cannot go ahead. */
static void entry_start_cancel(registry *r, entry *e, const char *why) {
        entry_set_queued(r, e, &e->start_queued, false);
        daemon_log(LOG_WARNING, "%s not started: %s", e->name, why);
        entry_answer_starts(r, e, why);
}

/* Whether e's start waits (1), may go (0), or cannot (-1, why says what). */
static int deps_start_wait(registry *r, entry *e, char *why, size_t size) {
        STRV_FOREACH(n, e->after) {
                entry *d = registry_find(r, *n);
                bool req = strv_has(e->requires, *n);
                const char *msg;
                if (d && entry_is_ready(r, d))
                        continue;
                if (d && entry_is_coming(r, d) && !entry_is_going(r, d))
                        return 1;
                if (!req) /* ordering only: what is not being started is not waited for */
                        continue;
                msg = d ? json_string_value(json_object_get(d->last_verdict, "message")) : NULL;
                if (d && entry_is_going(r, d))
                        (void) snprintf(why, size, "it requires %s, which is stopping", *n);
                else if (msg)
                        (void) snprintf(why, size, "it requires %s, which did not start: %s", *n, msg);
                else
                        (void) snprintf(why, size, "it requires %s, which is not running", *n);
                return -1;
        }
        return 0;
}

static void entry_try_start(registry *r, entry *e) {
        char why[512];
        int k = r->shutting_down ? -1 : deps_start_wait(r, e, why, sizeof(why));

        if (k > 0)
                return;
        if (k < 0)
                return entry_start_cancel(r, e, r->shutting_down ? "corrald is shutting down" : why);
        entry_set_queued(r, e, &e->start_queued, false);
        if (registry_spawn(r, e, false) >= 0)
                return entry_answer_starts(r, e, NULL);
        /* its start-failed verdict answered the Starts; out of memory, they are answered here */
        entry_answer_starts(r, e, "out of memory");
}

/* Whether what is ordered after e and is stopping too is not gone yet. */
static bool deps_stop_waits(registry *r, entry *e) {
        for (entry *x = r->entries; x; x = x->next)
                if (x != e && x->backend && strv_has(x->after, e->name) && entry_is_going(r, x))
                        return true;
        return false;
}

static void entry_try_stop(registry *r, entry *e) {
        if (e->backend && deps_stop_waits(r, e))
                return;
        entry_set_queued(r, e, &e->stop_queued, false);
        if (e->backend)
                (void) r->ops->stop(e->backend, e->stop_grace, e->stop_by.uid, e->stop_by.pid,
                                    e->stop_cause);
        e->stop_cause = mfree(e->stop_cause);
}

/* Stopped as what it requires went to restart: started again once all of that is ready. */
static void entry_try_resume(registry *r, entry *e) {
        char why[512];

        STRV_FOREACH(n, e->requires) {
                entry *d = registry_find(r, *n);
                if (!d || !entry_is_ready(r, d))
                        return;
        }
        if (entry_start_deps(r, e, 0, why, sizeof(why)) < 0)
                daemon_log(LOG_WARNING, "%s not started again: %s", e->name, why);
        e->resume = false;
        r->kick_again = true;
}

/* Move every queued start and stop on as far as it may go now: after each event. */
static void deps_kick(registry *r) {
        if (r->n_deps == 0 && r->n_queued == 0)
                return;
        if (r->kicking) { /* an event from inside a start or a stop: the loop below goes round again */
                r->kick_again = true;
                return;
        }
        r->kicking = true;
        do {
                r->kick_again = false;
                for (entry *e = r->entries; e; e = e->next)
                        if (e->start_queued)
                                entry_try_start(r, e);
                        else if (e->stop_queued)
                                entry_try_stop(r, e);
                        else if (e->resume && !e->backend && !r->shutting_down)
                                entry_try_resume(r, e);
        } while (r->kick_again);
        r->kicking = false;
}

/* Stop e on purpose (cause: why, or NULL), and before it what requires it, with the cause
 * "E <verb>"; with resume, those come back once e is ready again. Each stop goes once what is
 * ordered after it and stops too is gone (deps_kick()). */
static void entry_stop_tree(registry *r, entry *e, uint64_t grace, const registry_caller *who,
                            const char *cause, const char *verb, bool resume, unsigned depth) {
        char because[128];

        if (depth == 0)
                r->walk++;
        if (depth > 64 || e->walk == r->walk) /* each once: a diamond is not walked twice */
                return;
        e->walk = r->walk;
        if (e->start_queued)
                entry_start_cancel(r, e, cause ?: "it was stopped before it started");
        if (depth > 0)
                e->resume = resume && !r->shutting_down;
        if (e->backend && !entry_is_going(r, e)) {
                entry_set_queued(r, e, &e->stop_queued, true);
                e->stop_grace = grace;
                e->stop_by = *who;
                free(e->stop_cause);
                e->stop_cause = cause ? strdup(cause) : NULL;
        }
        (void) snprintf(because, sizeof(because), "%s %s", e->name, verb);
        for (entry *x = r->entries; x; x = x->next)
                if (strv_has(x->requires, e->name))
                        entry_stop_tree(r, x, grace, who, because, verb, resume, depth + 1);
}

/* What requires e no longer runs without it. */
static void deps_clear_resume(registry *r, entry *e, unsigned depth) {
        for (entry *x = r->entries; depth < 64 && x; x = x->next)
                if (strv_has(x->requires, e->name) && x->resume) {
                        x->resume = false;
                        deps_clear_resume(r, x, depth + 1);
                }
}

/* A launch of e ended (its verdict, ev): what requires it and runs is stopped on purpose, after
 * it; if e comes back (a restart), so do they, once it is ready. */
static void deps_on_end(registry *r, entry *e, const corral_event *ev) {
        registry_caller self = { .uid = getuid(), .pid = getpid() };
        bool back = e->backend || e->start_queued;
        char cause[128];

        if (r->n_deps == 0)
                return;
        (void) snprintf(cause, sizeof(cause), "%s %s", e->name, corral_event_type_to_string(ev->type));
        if (!back)
                deps_clear_resume(r, e, 0);
        for (entry *x = r->entries; x; x = x->next)
                if (strv_has(x->requires, e->name) && x->backend && !entry_is_going(r, x)) {
                        entry_stop_tree(r, x, CORRAL_GRACE_DEFAULT, &self, cause, "stopped", back, 0);
                        x->resume = back && !r->shutting_down;
                }
}

/* Every backend stops, each once what is ordered after it is gone; nothing queued starts. */
static void deps_stop_every(registry *r, uint64_t grace, const registry_caller *who) {
        for (entry *e = r->entries; e; e = e->next) {
                e->resume = false;
                if (e->start_queued)
                        entry_start_cancel(r, e, "every backend was stopped");
                if (e->backend && !entry_is_going(r, e))
                        entry_stop_tree(r, e, grace, who, NULL, "stopped", false, 0);
        }
        deps_kick(r);
}

/* A verdict of the launch e tracks (start-failed comes before there is one): kept as its last;
 * unless a restart follows, it is gone and what waited on it is resolved. */
static void entry_on_verdict(registry *r, entry *e, const corral_event *ev, json_t *j) {
        corral_state st;

        if (ev->type != CORRAL_EVENT_START_FAILED && !entry_has_launch(r, e, ev->launch))
                return;
        st = e->backend ? backend_info(r, e->backend).state : CORRAL_STATE_GONE;
        json_decref(e->last_verdict);
        e->last_verdict = json_incref(j);
        e->n_verdicts++;
        if (st == CORRAL_STATE_RESTARTING) /* it comes back, under the same entry */
                return deps_on_end(r, e, ev);
        e->failed = st == CORRAL_STATE_FAILED;
        if (e->backend)
                e->backend = r->ops->unref(e->backend);
        registry_resolve(r, e);
        gone_push(r, e);
        deps_on_end(r, e, ev);
}

/* A shutdown is over once no backend is left: its caller is told, once. */
static void registry_shutdown_done(registry *r) {
        void (*done)(void *userdata) = r->done;

        if (!r->shutting_down || !done || r->ops->count(r->sup) > 0)
                return;
        r->done = NULL;
        done(r->done_userdata);
}

/* The observers hear of it first (the log line is written before anyone is answered); then the
 * registry keeps its own books: when it was, readiness, a restart's launch, a verdict. */
static void registry_on_event(corral *c, const corral_event *ev, void *userdata) {
        registry *r = userdata;
        json_t *j = evlog_event_to_json(ev);
        entry *e = registry_find(r, ev->backend);

        registry_notify_event(r, ev, j);
        if (e)
                e->since_usec = ev->ts_usec;
        if (e && ev->type == CORRAL_EVENT_READY)
                registry_resolve_ready(r, e);
        if (e && (ev->type == CORRAL_EVENT_RELOADED || ev->type == CORRAL_EVENT_RELOAD_FAILED) &&
            entry_has_launch(r, e, ev->launch))
                registry_resolve_reload(r, e, ev);
        if (e && ev->type == CORRAL_EVENT_STARTED && entry_has_launch(r, e, ev->launch))
                registry_notify_launch(r, e->backend); /* a restart: the first is registry_spawn()'s */
        if (e && j && corral_event_is_verdict(ev->type))
                entry_on_verdict(r, e, ev, j);
        json_decref(j);
        deps_kick(r);
        registry_notify_status(r);
        registry_shutdown_done(r);
}

int registry_new(sd_event *e, const registry_ops *ops, void *sup, registry **ret) {
        registry *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        *r = (registry){ .ops = ops,
                         .sup = sup,
                         .by_name = HASHMAP_INIT(&hashmap_string_ops),
                         .keep_gone = REGISTRY_KEEP_GONE_DEFAULT };
        k = sd_event_add_defer(e, &r->collect, registry_collect, r);
        if (k >= 0) /* before anything else that is pending: a client's next call sees it done */
                k = sd_event_source_set_priority(r->collect, SD_EVENT_PRIORITY_IMPORTANT);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->collect, SD_EVENT_OFF);
        if (k < 0) {
                sd_event_source_unref(r->collect);
                free(r);
                return k;
        }
        ops->set_event_handler(sup, registry_on_event, r);
        *ret = r;
        return 0;
}

registry *registry_free(registry *r) {
        if (!r)
                return NULL;
        while (r->entries) {
                entry *e = r->entries;
                r->entries = e->next;
                entry_free(r, e);
        }
        r->ops->set_event_handler(r->sup, NULL, NULL);
        hashmap_done(&r->by_name);
        free(r->observers);
        sd_event_source_disable_unref(r->collect);
        strv_free(r->definition_dirs);
        definitions_free(r->defs, r->n_defs);
        free(r);
        return NULL;
}

void registry_set_keep_gone(registry *r, size_t n) {
        r->keep_gone = n;
}

/* --- The calls --- */

/* Why a Start of e (NULL: a name not known yet) may not go ahead, or REGISTRY_OK. */
static registry_error start_refused(registry *r, entry *e, registry_result *res) {
        if (r->shutting_down)
                return res->error = REGISTRY_SHUTTING_DOWN;
        if (e && e->backend)
                return res->error = REGISTRY_BACKEND_EXISTS;
        if (e && e->definition) { /* its file says what it runs: a request may not replace that */
                res->definition = e->definition;
                return res->error = REGISTRY_BACKEND_DECLARED;
        }
        return REGISTRY_OK;
}

registry_wait *registry_start(registry *r, corral_spec *spec, bool wait_ready, registry_done_t done,
                              void *userdata) {
        const char *name = corral_spec_get_name(spec);
        registry_wait *w = wait_new(done, userdata);
        entry *e = registry_find(r, name);

        if (!w) {
                (void) wait_none(done, userdata, name);
                corral_spec_free(spec);
                return NULL;
        }
        w->result.name = name;
        if (start_refused(r, e, &w->result) == REGISTRY_OK && !e && !(e = registry_add(r, name)))
                w->result.error = REGISTRY_NO_MEMORY;
        if (w->result.error != REGISTRY_OK) {
                w = wait_release(w); /* completed, while name is still valid */
                corral_spec_free(spec);
                return w;
        }
        corral_spec_free(e->spec);
        e->spec = spec;
        spawn_for(r, e, w, false, wait_ready);
        return wait_release(w);
}

registry_wait *registry_start_declared(registry *r, const char *name, bool wait_ready, registry_done_t done,
                                       void *userdata) {
        registry_wait *w = wait_new(done, userdata);
        entry *e;
        char why[512];

        if (!w)
                return wait_none(done, userdata, name);
        if (r->shutting_down)
                return wait_fail(w, REGISTRY_SHUTTING_DOWN, name);
        if (!(e = entry_declared(r, name)))
                return wait_fail(w, REGISTRY_NO_SUCH_BACKEND, name);
        w->result.name = e->name;
        if (entry_start_deps(r, e, 0, why, sizeof(why)) < 0) {
                w->result.error = REGISTRY_START_FAILED;
                w->result.message = w->result.message_buf = strdup(why);
                return wait_release(w);
        }
        if (!e->start_queued && !(wait_ready && entry_state(r, e) == CORRAL_STATE_STARTING)) {
                (void) result_backend(r, &w->result, e, false); /* it runs already */
                return wait_release(w);
        }
        if (entry_wait(e, wait_ready ? WAIT_READY : WAIT_SPAWN, w) < 0)
                return wait_fail(w, REGISTRY_NO_MEMORY, name);
        deps_kick(r);
        return wait_release(w);
}

registry_wait *registry_stop(registry *r, const registry_caller *who, const char *name, uint64_t grace_usec,
                             registry_done_t done, void *userdata) {
        registry_wait *w = wait_new(done, userdata);
        entry *e = registry_find(r, name);

        if (!w)
                return wait_none(done, userdata, name);
        if (!e)
                return wait_fail(w, REGISTRY_NO_SUCH_BACKEND, name);
        if (!e->backend) {
                if (e->start_queued || e->resume) /* what requires it and waits gives up too */
                        entry_stop_tree(r, e, grace_usec, who, NULL, "stopped", false, 0);
                e->resume = false;
                deps_kick(r);
                w->result.verdict = json_incref(e->last_verdict);
                w->result.already_stopped = true;
                return wait_release(w);
        }
        /* Waiting first: the verdict may come at once, from inside the stop. A second Stop of the
         * same backend just waits for the same verdict. */
        if (entry_wait(e, WAIT_STOP, w) < 0)
                return wait_fail(w, REGISTRY_NO_MEMORY, name);
        if (r->n_deps == 0)
                (void) r->ops->stop(e->backend, grace_usec, who->uid, who->pid, NULL);
        else { /* what requires it first */
                entry_stop_tree(r, e, grace_usec, who, NULL, "stopped", false, 0);
                deps_kick(r);
        }
        return wait_release(w);
}

/* Why e cannot be reloaded now (REGISTRY_OK: it can), in res. */
static registry_error reload_check(registry *r, entry *e, const char *name, registry_result *res) {
        registry_backend_info i = { .state = CORRAL_STATE_GONE };

        res->name = e ? e->name : name;
        if (!e)
                return res->error = REGISTRY_NO_SUCH_BACKEND;
        if (e->backend)
                r->ops->info(e->backend, &i);
        if (i.state != CORRAL_STATE_STARTING && i.state != CORRAL_STATE_RUNNING) {
                res->state = !e->backend && e->failed ? "failed" : corral_state_to_string(i.state);
                return res->error = REGISTRY_BACKEND_NOT_RUNNING;
        }
        if (!corral_spec_can_reload(e->spec))
                return res->error = REGISTRY_RELOAD_NOT_SUPPORTED;
        return REGISTRY_OK;
}

/* One of them: its reload begun (or joined), the call waiting for its end. */
static void reload_one(registry *r, const registry_caller *who, entry *e, registry_wait *w) {
        json_t *slot = json_pack("{s:s, s:n, s:n}", "name", e->name, "result", "message");
        waiter *x;
        int k;

        if (!slot || json_array_append_new(w->result.value, slot) < 0 ||
            entry_wait(e, WAIT_BACKEND_RELOAD, w) < 0)
                return reload_slot_fill(slot, "failed", strerror(ENOMEM));
        x = e->waiters; /* the one just added */
        x->slot = slot;
        k = r->ops->reload(e->backend, who->uid,
                           who->pid); /* its end may come from inside: the waiter is there first */
        if (k >= 0 || k == -EBUSY || e->waiters != x)
                return;
        e->waiters = x->next; /* it did not begin: said at once */
        reload_slot_fill(slot, "failed", strerror(-k));
        w->pending--;
        free(x);
}

registry_wait *registry_reload_backends(registry *r, const registry_caller *who, char *const *names,
                                        size_t n, registry_done_t done, void *userdata) {
        registry_wait *w = wait_new(done, userdata);

        if (!w)
                return wait_none(done, userdata, n ? names[0] : NULL);
        if (r->shutting_down)
                return wait_fail(w, REGISTRY_SHUTTING_DOWN, NULL);
        for (size_t i = 0; i < n; i++)
                if (reload_check(r, registry_find(r, names[i]), names[i], &w->result) != REGISTRY_OK)
                        return wait_release(w);
        if (!(w->result.value = json_array()))
                return wait_fail(w, REGISTRY_NO_MEMORY, NULL);
        for (size_t i = 0; i < n; i++)
                reload_one(r, who, registry_find(r, names[i]), w);
        return wait_release(w);
}

registry_wait *registry_restart(registry *r, const registry_caller *who, const char *name, bool wait_ready,
                                registry_done_t done, void *userdata) {
        registry_wait *w = wait_new(done, userdata);
        entry *e = registry_find(r, name);

        if (!w)
                return wait_none(done, userdata, name);
        if (r->shutting_down)
                return wait_fail(w, REGISTRY_SHUTTING_DOWN, name);
        if (!e)
                return wait_fail(w, REGISTRY_NO_SUCH_BACKEND, name);
        if (!e->backend) { /* not running: just start it again */
                spawn_for(r, e, w, true, wait_ready);
                return wait_release(w);
        }
        if (entry_wait(e, wait_ready ? WAIT_RESTART_READY : WAIT_RESTART, w) < 0)
                return wait_fail(w, REGISTRY_NO_MEMORY, name);
        if (r->n_deps == 0)
                (void) r->ops->stop(e->backend, CORRAL_GRACE_DEFAULT, who->uid, who->pid, NULL);
        else { /* what requires it stops first, and comes back once it is ready again */
                entry_stop_tree(r, e, CORRAL_GRACE_DEFAULT, who, NULL, "restarting", true, 0);
                deps_kick(r);
        }
        return wait_release(w);
}

registry_wait *registry_stop_all(registry *r, const registry_caller *who, uint64_t grace_usec,
                                 registry_done_t done, void *userdata) {
        registry_wait *w = wait_new(done, userdata);

        if (!w)
                return wait_none(done, userdata, NULL);
        if (!(w->result.value = json_array()))
                return wait_fail(w, REGISTRY_NO_MEMORY, NULL);
        for (entry *e = r->entries; e; e = e->next)
                if (e->backend)
                        (void) entry_wait(e, WAIT_GROUP, w); /* without memory for it: not waited for */
        if (r->n_deps == 0 && r->n_queued == 0)
                (void) r->ops->stop_all(r->sup, grace_usec, who->uid, who->pid);
        else
                deps_stop_every(r, grace_usec, who);
        return wait_release(w);
}

unsigned registry_count(registry *r) {
        unsigned n = 0;

        for (entry *e = r->entries; e; e = e->next)
                n++;
        return n;
}

static void entry_metrics(registry *r, entry *e, bool usage, registry_backend_metrics *m) {
        *m = (registry_backend_metrics){ .name = e->name,
                                         .definition = e->definition,
                                         .state = e->backend ? backend_info(r, e->backend).state
                                                 : e->failed ? CORRAL_STATE_FAILED
                                                             : CORRAL_STATE_GONE,
                                         .memory_bytes = UINT64_MAX,
                                         .cpu_usec = UINT64_MAX,
                                         .processes = -1 };
        if (e->last && r->ops->counters) {
                m->counted = true;
                r->ops->counters(e->last, &m->counters);
        }
        if (!usage || !e->backend)
                return;
        (void) r->ops->usage(e->backend, &m->memory_bytes, &m->cpu_usec);
        if (r->ops->processes)
                m->processes = r->ops->processes(e->backend);
}

void registry_foreach_metrics(registry *r, bool usage,
                              void (*f)(const registry_backend_metrics *m, void *userdata), void *userdata) {
        registry_backend_metrics m;

        for (entry *e = r->entries; e; e = e->next) {
                entry_metrics(r, e, usage, &m);
                f(&m, userdata);
        }
}

registry_error registry_list(registry *r, registry_result *ret) {
        json_t *a = json_array();

        *ret = (registry_result){ .error = a ? REGISTRY_OK : REGISTRY_NO_MEMORY, .value = a };
        for (entry *e = r->entries; a && e; e = e->next)
                json_array_append_new(a, entry_json(r, e, false));
        return ret->error;
}

registry_error registry_status(registry *r, const char *name, registry_result *ret) {
        entry *e = registry_find(r, name);

        *ret = (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name };
        return e ? result_backend(r, ret, e, true) : ret->error;
}

registry_error registry_kill(registry *r, const registry_caller *who, const char *name, int sig,
                             corral_kill_whom whom, registry_result *ret) {
        entry *e = registry_find(r, name);
        int n;

        *ret = (registry_result){ .name = name };
        if (!e)
                return ret->error = REGISTRY_NO_SUCH_BACKEND;
        n = e->backend ? r->ops->kill(e->backend, sig, whom, who->uid, who->pid) : -ESRCH;
        if (n < 0 && n != -ENOMEM) { /* as root, only a process that is not there refuses a signal */
                ret->state = e->backend ? corral_state_to_string(backend_info(r, e->backend).state)
                        : e->failed     ? "failed"
                                        : "gone";
                return ret->error = REGISTRY_BACKEND_NOT_RUNNING;
        }
        if (n < 0 || !(ret->value = json_pack("{s:i}", "processes", n)))
                return ret->error = REGISTRY_NO_MEMORY;
        return REGISTRY_OK;
}

registry_error registry_remove(registry *r, const char *name, registry_result *ret) {
        entry *e = registry_find(r, name);

        *ret = (registry_result){ .name = name };
        if (!e)
                return ret->error = REGISTRY_NO_SUCH_BACKEND;
        if (e->backend) {
                ret->state = corral_state_to_string(backend_info(r, e->backend).state);
                return ret->error = REGISTRY_BACKEND_RUNNING;
        }
        if (e->definition) {
                ret->definition = e->definition;
                return ret->error = REGISTRY_BACKEND_DECLARED;
        }
        registry_forget(r, e); /* nothing waits on a gone backend: Stop completes at once */
        return REGISTRY_OK;
}

registry_error registry_reset_failed(registry *r, const char *name, registry_result *ret) {
        entry *e = registry_find(r, name);

        *ret = (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name };
        if (!e)
                return ret->error;
        e->failed = false;
        return result_backend(r, ret, e, false);
}

registry_error registry_logs(registry *r, const char *name, unsigned lines, uint64_t since_usec,
                             registry_result *ret) {
        entry *e = registry_find(r, name);

        *ret = (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name };
        if (!e)
                return ret->error;
        if (e->last && r->ops->read_output(e->last, lines, since_usec, &ret->lines, &ret->n_lines) < 0)
                ret->n_lines = 0; /* out of memory: nothing now, what comes next if following */
        return ret->error = REGISTRY_OK;
}

void registry_shutdown(registry *r, const registry_caller *who, void (*done)(void *userdata),
                       void *userdata) {
        r->done = done;
        r->done_userdata = userdata;
        if (r->shutting_down)
                return;
        r->shutting_down = true;
        registry_notify_status(r);
        if (r->n_deps == 0 && r->n_queued == 0)
                (void) r->ops->stop_all(r->sup, CORRAL_GRACE_DEFAULT, who->uid, who->pid);
        else
                deps_stop_every(r, CORRAL_GRACE_DEFAULT, who);
        registry_shutdown_done(r);
}

int registry_adopt(registry *r) {
        registry_backend **v = NULL;
        size_t n = 0;
        int k = r->ops->adopt(r->sup, &v, &n);

        for (size_t i = 0; i < n; i++) {
                registry_backend *b = v[i];
                const char *name = corral_spec_get_name(r->ops->spec(b));
                entry *e = registry_find(r, name) ?: registry_add(r, name);
                if (!e || e->backend || corral_spec_dup(r->ops->spec(b), &e->spec) < 0) {
                        daemon_log(LOG_ERR, "cannot keep track of re-adopted backend %s: killing it", name);
                        (void) r->ops->stop(b, 0, (uid_t) -1, 0, NULL);
                        r->ops->unref(b);
                        continue;
                }
                e->backend = b; /* the "adopted" event has told of it */
                e->since_usec = now_usec(CLOCK_REALTIME);
                e->last = r->ops->ref(b);
                registry_notify_launch(r, b);
        }
        free(v);
        registry_notify_status(r);
        return k;
}

/* --- Declared backends: definition files, applied at start and at each reload. --- */

int registry_set_definition_dirs(registry *r, char *const *dirs) {
        char **v = NULL;
        int k = strv_copy(dirs, &v);

        if (k < 0)
                return k;
        strv_free(r->definition_dirs);
        r->definition_dirs = v;
        return 0;
}

static const definition *defs_find(definition **v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i]->name, name) == 0)
                        return v[i];
        return NULL;
}

static void report_add(json_t *report, const char *key, const char *name) {
        json_array_append_new(json_object_get(report, key), json_string(name));
}

/* An entry declared before: stopped if its definition went (or is disabled), restarted on a
 * changed one, kept on the old one if the new one is broken, else left alone. */
static void apply_to_declared(registry *r, entry *e, const definition *d, json_t *report) {
        if (!d || !d->enabled) {
                free(e->definition);
                e->definition = NULL;
                entry_set_deps(r, e, NULL);
                if (e->start_queued)
                        entry_start_cancel(r, e, "its definition went");
                if (e->backend) {
                        (void) r->ops->stop(e->backend, CORRAL_GRACE_DEFAULT, getuid(), getpid(), NULL);
                        report_add(report, "stopped", e->name);
                } else
                        gone_push(r, e); /* no longer declared: forgotten like any gone one */
                return;
        }
        if (!d->spec) {
                daemon_log(LOG_WARNING, "reload: %s keeps its old definition: %s has problems", e->name,
                           d->path);
                report_add(report, "unchanged", e->name);
                return;
        }
        free(e->definition);
        e->definition = strdup(d->path);
        entry_set_deps(r, e,
                       d); /* the order of what runs changes nothing now: only later starts and stops */
        if (corral_spec_equal(e->spec, d->spec)) {
                report_add(report, "unchanged", e->name);
                return;
        }
        report_add(report, "restarted", e->name);
        if (!e->backend) { /* not running (it failed): the new definition is for its next start */
                corral_spec_free(e->spec);
                (void) corral_spec_dup(d->spec, &e->spec);
                return;
        }
        corral_spec_free(e->next_spec);
        if (corral_spec_dup(d->spec, &e->next_spec) < 0 || entry_wait(e, WAIT_RELOAD, NULL) < 0)
                return;
        (void) r->ops->stop(e->backend, CORRAL_GRACE_DEFAULT, getuid(), getpid(), NULL);
}

/* A definition no entry was declared by: start it, unless a backend of that name was started
 * over varlink and runs (then it is left as it is), or one taken back at our start runs on it. */
static void apply_new(registry *r, const definition *d, json_t *report) {
        entry *e = registry_find(r, d->name);
        char msg[512];

        if (!d->enabled || !d->spec)
                return;
        if (e && e->backend) {
                if (corral_spec_equal(e->spec, d->spec)) { /* re-adopted after a restart of corrald */
                        e->definition = strdup(d->path);
                        entry_set_deps(r, e, d);
                        report_add(report, "unchanged", e->name);
                        return;
                }
                (void) snprintf(msg, sizeof(msg), "%s: a backend %s started over varlink runs: not replaced",
                                d->path, d->name);
                daemon_log(LOG_WARNING, "reload: %s", msg);
                json_array_append_new(json_object_get(report, "problems"), json_string(msg));
                return;
        }
        if (e && e->start_queued) /* queued already, as what another one requires */
                return report_add(report, "started", e->name);
        if (!e && !(e = registry_add(r, d->name)))
                return;
        corral_spec_free(e->spec);
        if (corral_spec_dup(d->spec, &e->spec) < 0)
                return;
        free(e->definition);
        e->definition = strdup(d->path);
        entry_set_deps(r, e, d);
        report_add(report, "started", e->name);
        if (!e->after && registry_spawn(r, e, false) < 0)
                daemon_log(LOG_ERR, "%s (declared in %s) failed to start", e->name, d->path);
        else if (e->after && entry_start_deps(r, e, 0, msg, sizeof(msg)) < 0)
                daemon_log(LOG_ERR, "%s (declared in %s) not started: %s", e->name, d->path, msg);
}

registry_error registry_reload(registry *r, registry_result *ret) {
        definition_problems p = { 0 };
        definition **v = NULL;
        size_t n = 0;
        json_t *report;

        *ret = (registry_result){ .error = REGISTRY_SHUTTING_DOWN };
        if (r->shutting_down)
                return ret->error;
        report = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "started", "stopped", "restarted", "unchanged",
                           "problems");
        if (!report || definition_load_dirs(r->definition_dirs, &p, &v, &n) < 0) {
                json_decref(report);
                definition_problems_done(&p);
                return ret->error = REGISTRY_NO_MEMORY; /* the only way it fails */
        }
        for (size_t i = 0; i < p.n; i++) {
                char *line = NULL;
                if (p.v[i].line > 0
                            ? asprintf(&line, "%s:%u: %s", p.v[i].file, p.v[i].line, p.v[i].message) < 0
                            : asprintf(&line, "%s: %s", p.v[i].file, p.v[i].message) < 0)
                        continue;
                daemon_log(LOG_WARNING, "definition problem: %s", line);
                json_array_append_new(json_object_get(report, "problems"), json_string(line));
                free(line);
        }
        definitions_free(r->defs, r->n_defs); /* kept: a declared backend may be started by name */
        r->defs = v;
        r->n_defs = n;
        r->kicking = true; /* every start is queued before any goes: then After= sees them all */
        for (entry *e = r->entries; e; e = e->next)
                if (e->definition)
                        apply_to_declared(r, e, defs_find(v, n, e->name), report);
        for (size_t i = 0; i < n; i++) {
                entry *e = registry_find(r, v[i]->name);
                if (!e || !e->definition || e->start_queued)
                        apply_new(r, v[i], report);
        }
        r->kicking = false;
        deps_kick(r);
        daemon_log(LOG_INFO,
                   "definitions: %zu started, %zu stopped, %zu restarted, %zu unchanged, %zu problem(s)",
                   json_array_size(json_object_get(report, "started")),
                   json_array_size(json_object_get(report, "stopped")),
                   json_array_size(json_object_get(report, "restarted")),
                   json_array_size(json_object_get(report, "unchanged")),
                   json_array_size(json_object_get(report, "problems")));
        definition_problems_done(&p);
        registry_notify_status(r);
        ret->value = report;
        return ret->error = REGISTRY_OK;
}
