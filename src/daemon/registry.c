/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.c: corrald's backends by name: their specs, last verdicts, and the calls waiting on them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "daemon-log.h"
#include "definition.h"
#include "fdstore.h"
#include "fileio.h"
#include "hashmap.h"
#include "macro.h"
#include "registry.h"
#include "server.h"
#include "strv.h"
#include "utf8.h"
#include "varlink-names.h"

#define ERROR_EXISTS        VARLINK_ERROR_BACKEND_EXISTS
#define ERROR_NO_SUCH       VARLINK_ERROR_NO_SUCH_BACKEND
#define ERROR_START_FAILED  VARLINK_ERROR_START_FAILED
#define ERROR_SHUTTING_DOWN VARLINK_ERROR_SHUTTING_DOWN
#define ERROR_RUNNING       VARLINK_ERROR_BACKEND_RUNNING
#define ERROR_DECLARED      VARLINK_ERROR_BACKEND_DECLARED

/* StopAll: one reply once every backend it stopped is gone. */
typedef struct stop_group {
        conn *conn;
        json_t *verdicts;
        unsigned remaining;
} stop_group;

typedef enum wait_kind {
        WAIT_STOP,
        WAIT_RESTART,
        WAIT_GROUP,
        WAIT_READY,  /* Start with waitReady: answered at ready, or with the verdict if it never is */
        WAIT_RELOAD, /* a reload changed its definition: started again, on the new one, once gone */
} wait_kind;

typedef struct waiter {
        wait_kind kind;
        conn *conn; /* a reference; for WAIT_GROUP it is the group's */
        stop_group *group;
        struct waiter *next;
} waiter;

typedef struct entry {
        struct entry *prev, *next;           /* every entry, in the order they were first started */
        struct entry *gone_prev, *gone_next; /* undeclared and gone, the longest gone first */
        bool in_gone;
        char *name;
        corral_spec *spec;       /* what Start asked for: every launch and restart is made from it */
        bool failed;             /* the crash-loop limit ended it */
        corral_backend *backend; /* while it runs or waits to be restarted */
        corral_backend *last;    /* the latest launch's record, kept for its output (Logs) */
        char *definition;        /* the file it is declared in, or NULL: started over varlink */
        corral_spec *next_spec;  /* a reload's new definition, for when it is gone */
        uint64_t since_usec;     /* CLOCK_REALTIME of its last event */
        json_t *last_verdict;
        waiter *waiters;
} entry;

struct registry {
        corral *corral;
        server *server;
        evlog_target target;
        evlog_format format;
        hashmap by_name;
        entry *entries, *entries_tail;
        entry *gone_head, *gone_tail; /* what Remove, or the keep-gone bound, may forget */
        size_t n_gone, keep_gone;
        sd_event_source *collect; /* forgets the oldest gone beyond keep_gone, when enabled */
        bool shutting_down;
        void (*done)(void *userdata);
        void *done_userdata;
        char **definition_dirs;
};

static entry *entry_free(entry *e) {
        while (e->waiters) {
                waiter *w = e->waiters;
                e->waiters = w->next;
                server_conn_unref(w->conn);
                free(w);
        }
        free(e->name);
        corral_spec_free(e->spec);
        corral_backend_unref(e->backend);
        corral_backend_unref(e->last);
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
        entry_free(e);
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

unsigned registry_count_running(registry *r) {
        return corral_count(r->corral);
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

static json_t *entry_json(entry *e, bool usage) {
        corral_backend *b = e->backend;
        json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:s, s:o, s:I, s:O}", "name", e->name, "launch",
                              b ? json_string(corral_backend_get_launch(b)) : json_null(), "state",
                              b ? corral_state_to_string(corral_backend_get_state(b)) : "gone", "pid",
                              b ? json_integer(corral_backend_get_pid(b)) : json_null(), "cgroup",
                              b ? json_string(corral_backend_get_cgroup(b)) : json_null(), "type",
                              corral_spec_get_type(e->spec) == CORRAL_TYPE_TASK ? "task" : "service",
                              "command", json_strv(corral_spec_get_argv(e->spec)), "since",
                              (json_int_t) e->since_usec, "lastVerdict", e->last_verdict ?: json_null());
        uint64_t mem = UINT64_MAX, cpu = UINT64_MAX, next = b ? corral_backend_get_next_restart(b) : 0;

        if (o) {
                json_object_set_new(o, "restart",
                                    json_string(corral_restart_to_string(corral_spec_get_restart(e->spec))));
                json_object_set_new(o, "restarts", json_integer(b ? corral_backend_get_restarts(b) : 0));
                json_object_set_new(o, "nextRestart", next ? json_integer((json_int_t) next) : json_null());
                json_object_set_new(o, "definition",
                                    e->definition ? json_string(e->definition) : json_null());
                json_object_set_new(o, "statusText",
                                    b && corral_backend_get_status_text(b)
                                            ? json_string(corral_backend_get_status_text(b))
                                            : json_null());
                if (!b && e->failed)
                        json_object_set_new(o, "state", json_string("failed"));
        }
        if (o && usage) {
                if (b)
                        (void) corral_backend_get_usage(b, &mem, &cpu);
                json_object_set_new(o, "memoryCurrent", json_u64_or_null(mem));
                json_object_set_new(o, "cpuUsageUSec", json_u64_or_null(cpu));
        }
        return o;
}

static void registry_notify_status(registry *r) {
        (void) sd_notifyf(0, "STATUS=%u backend(s) running%s", corral_count(r->corral),
                          r->shutting_down ? ", shutting down" : "");
}

static int registry_spawn(registry *r, entry *e);
static int entry_wait(entry *e, wait_kind kind, conn *c, stop_group *g);
static json_t *entry_json(entry *e, bool usage);

static void waiter_resolve(registry *r, entry *e, waiter *w, json_t *verdict) {
        stop_group *g = w->group;

        switch (w->kind) {
        case WAIT_STOP:
                server_reply(w->conn, json_pack("{s:O, s:b}", "verdict", verdict, "alreadyStopped", 0),
                             false);
                break;
        case WAIT_RESTART:
                if (registry_spawn(r, e) >= 0)
                        server_reply(w->conn, json_pack("{s:o}", "backend", entry_json(e, false)), false);
                else
                        server_error(w->conn, ERROR_START_FAILED,
                                     json_pack("{s:s, s:O}", "name", e->name, "verdict",
                                               e->last_verdict ?: json_null()));
                break;
        case WAIT_READY:
                server_error(w->conn, ERROR_START_FAILED,
                             json_pack("{s:s, s:O, s:O}", "name", e->name, "message",
                                       json_object_get(verdict, "message") ?: json_null(), "verdict",
                                       verdict ?: json_null()));
                break;
        case WAIT_RELOAD:
                if (e->next_spec) {
                        corral_spec_free(e->spec);
                        e->spec = e->next_spec;
                        e->next_spec = NULL;
                }
                if (registry_spawn(r, e) < 0)
                        daemon_log(LOG_ERR, "reload: %s did not start again on its new definition", e->name);
                break;
        case WAIT_GROUP:
                if (verdict)
                        json_array_append(g->verdicts, verdict);
                if (--g->remaining == 0) {
                        server_reply(g->conn, json_pack("{s:O}", "verdicts", g->verdicts), false);
                        json_decref(g->verdicts);
                        server_conn_unref(g->conn);
                        free(g);
                }
                return; /* the group holds the connection */
        }
        server_conn_unref(w->conn);
}

static void registry_resolve(registry *r, entry *e) {
        waiter *w = e->waiters;

        e->waiters = NULL;
        while (w) {
                waiter *next = w->next;
                waiter_resolve(r, e, w, e->last_verdict);
                free(w);
                w = next;
        }
}

/* It is ready: answer the Starts that waited for that, and keep every other waiter. */
static void registry_resolve_ready(entry *e) {
        for (waiter **w = &e->waiters; *w;) {
                waiter *x = *w;
                if (x->kind != WAIT_READY) {
                        w = &x->next;
                        continue;
                }
                *w = x->next;
                server_reply(x->conn, json_pack("{s:o}", "backend", entry_json(e, false)), false);
                server_conn_unref(x->conn);
                free(x);
        }
}

static void registry_log(registry *r, const corral_event *ev) {
        if (evlog_write(ev, r->target, r->format) < 0 && r->target == EVLOG_TARGET_JOURNAL)
                (void) evlog_write(ev, EVLOG_TARGET_STDERR, r->format);
}

static void registry_on_event(corral *c, const corral_event *ev, void *userdata) {
        registry *r = userdata;
        json_t *j = evlog_event_to_json(ev);
        entry *e = registry_find(r, ev->backend);

        registry_log(r, ev);
        if (r->server && j)
                server_broadcast(r->server, json_pack("{s:O}", "event", j));
        if (e)
                e->since_usec = ev->ts_usec;
        if (e && ev->type == CORRAL_EVENT_READY)
                registry_resolve_ready(e);
        if (e && e->backend && ev->type == CORRAL_EVENT_STARTED &&
            strcmp(corral_backend_get_launch(e->backend), ev->launch) == 0)
                fdstore_keep(e->backend); /* a restart: the first start is kept by registry_spawn() */
        if (corral_event_is_verdict(ev->type))
                fdstore_drop(ev->backend, ev->launch);
        /* A verdict for the launch we track (start-failed comes before there is one). */
        if (e && j && corral_event_is_verdict(ev->type) &&
            (ev->type == CORRAL_EVENT_START_FAILED ||
             (e->backend && strcmp(corral_backend_get_launch(e->backend), ev->launch) == 0))) {
                corral_state st = e->backend ? corral_backend_get_state(e->backend) : CORRAL_STATE_GONE;
                json_decref(e->last_verdict);
                e->last_verdict = json_incref(j);
                if (st != CORRAL_STATE_RESTARTING) { /* else it comes back, under the same entry */
                        e->failed = st == CORRAL_STATE_FAILED;
                        e->backend = corral_backend_unref(e->backend);
                        registry_resolve(r, e);
                        gone_push(r, e);
                }
        }
        json_decref(j);
        registry_notify_status(r);
        if (r->shutting_down && corral_count(c) == 0 && r->done)
                r->done(r->done_userdata);
}

/* Output may be any bytes: JSON strings carry valid UTF-8 only. */
static json_t *output_json(char *data, size_t size) {
        utf8_sanitize(data, size);
        return json_pack("{s:s%}", "data", data, size);
}

static void registry_on_output(corral *c, corral_backend *b, const char *data, size_t size, void *userdata) {
        registry *r = userdata;
        char *copy;

        if (!r->server)
                return;
        copy = malloc(size + 1);
        if (!copy)
                return;
        memcpy(copy, data, size);
        server_broadcast_output(r->server, corral_backend_get_name(b), output_json(copy, size));
        free(copy);
}

void registry_logs(registry *r, conn *c, const char *name, unsigned lines, bool follow) {
        entry *e = registry_find(r, name);
        char *data = NULL;
        size_t size = 0;

        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        if (e->last && corral_backend_read_output(e->last, lines, &data, &size) < 0)
                data = NULL; /* out of memory: nothing now, what comes next if following */
        if (follow)
                (void) server_conn_follow(c, name);
        server_reply(c, data ? output_json(data, size) : json_pack("{s:s}", "data", ""), follow);
        free(data);
}

int registry_new(corral *c, evlog_target target, evlog_format format, registry **ret) {
        registry *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        *r = (registry){ .corral = c,
                         .target = target,
                         .format = format,
                         .by_name = HASHMAP_INIT(&hashmap_string_ops),
                         .keep_gone = REGISTRY_KEEP_GONE_DEFAULT };
        k = sd_event_add_defer(corral_get_event(c), &r->collect, registry_collect, r);
        if (k >= 0) /* before anything else that is pending: a client's next call sees it done */
                k = sd_event_source_set_priority(r->collect, SD_EVENT_PRIORITY_IMPORTANT);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->collect, SD_EVENT_OFF);
        if (k < 0) {
                sd_event_source_unref(r->collect);
                free(r);
                return k;
        }
        corral_set_event_handler(c, registry_on_event, r);
        corral_set_output_handler(c, registry_on_output, r);
        *ret = r;
        return 0;
}

registry *registry_free(registry *r) {
        if (!r)
                return NULL;
        while (r->entries) {
                entry *e = r->entries;
                r->entries = e->next;
                entry_free(e);
        }
        hashmap_done(&r->by_name);
        sd_event_source_disable_unref(r->collect);
        strv_free(r->definition_dirs);
        free(r);
        return NULL;
}

void registry_set_server(registry *r, server *s) {
        r->server = s;
}

void registry_set_keep_gone(registry *r, size_t n) {
        r->keep_gone = n;
}

static int registry_spawn(registry *r, entry *e) {
        int k;

        e->failed = false;
        gone_unlink(r, e);
        k = corral_spawn(r->corral, e->spec, &e->backend);
        if (k >= 0) {
                corral_backend_unref(e->last);
                e->last = corral_backend_ref(e->backend);
                fdstore_keep(e->backend);
        } else
                gone_push(r, e);
        return k;
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

void registry_start_backend(registry *r, conn *c, corral_spec *spec, bool wait_ready) {
        const char *name = corral_spec_get_name(spec);
        entry *e = registry_find(r, name);

        if (r->shutting_down || (e && e->backend)) {
                server_error(c, r->shutting_down ? ERROR_SHUTTING_DOWN : ERROR_EXISTS,
                             r->shutting_down ? NULL : json_pack("{s:s}", "name", name));
                corral_spec_free(spec);
                return;
        }
        if (e && e->definition) { /* its file says what it runs: a request may not replace that */
                server_error(c, ERROR_DECLARED,
                             json_pack("{s:s, s:s}", "name", name, "definition", e->definition));
                corral_spec_free(spec);
                return;
        }
        if (!e && !(e = registry_add(r, name))) {
                corral_spec_free(spec);
                return server_error(c, ERROR_START_FAILED,
                                    json_pack("{s:s, s:s}", "name", name, "message", "out of memory"));
        }
        corral_spec_free(e->spec);
        e->spec = spec;
        if (registry_spawn(r, e) < 0) {
                json_t *v = e->last_verdict;
                return server_error(
                        c, ERROR_START_FAILED,
                        json_pack("{s:s, s:s, s:O}", "name", e->name, "message",
                                  v ? json_string_value(json_object_get(v, "message")) : "out of memory",
                                  "verdict", v ?: json_null()));
        }
        if (wait_ready && corral_backend_get_state(e->backend) == CORRAL_STATE_STARTING &&
            entry_wait(e, WAIT_READY, c, NULL) >= 0)
                return; /* answered at ready, or with its verdict */
        server_reply(c, json_pack("{s:o}", "backend", entry_json(e, false)), false);
}

static int entry_wait(entry *e, wait_kind kind, conn *c, stop_group *g) {
        waiter *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        *w = (waiter){
                .kind = kind, .conn = kind == WAIT_GROUP ? NULL : server_conn_ref(c), .group = g, .next = e->waiters
        };
        e->waiters = w;
        return 0;
}

void registry_stop(registry *r, conn *c, const char *name, uint64_t grace_usec) {
        entry *e = registry_find(r, name);

        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        if (!e->backend)
                return server_reply(c,
                                    json_pack("{s:O, s:b}", "verdict", e->last_verdict ?: json_null(),
                                              "alreadyStopped", 1),
                                    false);
        /* Waiting first: the verdict may come at once, from inside the stop. A second Stop of the
         * same backend just waits for the same verdict. */
        if (entry_wait(e, WAIT_STOP, c, NULL) < 0)
                return server_error(c, VARLINK_ERROR_INVALID_PARAMETER, NULL);
        (void) corral_stop_by(e->backend, grace_usec, server_conn_cred(c)->uid, server_conn_cred(c)->pid);
}

void registry_restart(registry *r, conn *c, const char *name) {
        entry *e = registry_find(r, name);

        if (r->shutting_down)
                return server_error(c, ERROR_SHUTTING_DOWN, NULL);
        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        if (!e->backend) { /* not running: just start it again */
                if (registry_spawn(r, e) < 0)
                        return server_error(c, ERROR_START_FAILED,
                                            json_pack("{s:s, s:O}", "name", name, "verdict",
                                                      e->last_verdict ?: json_null()));
                return server_reply(c, json_pack("{s:o}", "backend", entry_json(e, false)), false);
        }
        if (entry_wait(e, WAIT_RESTART, c, NULL) < 0)
                return server_error(c, VARLINK_ERROR_INVALID_PARAMETER, NULL);
        (void) corral_stop_by(e->backend, CORRAL_GRACE_DEFAULT, server_conn_cred(c)->uid, server_conn_cred(c)->pid);
}

void registry_stop_all(registry *r, conn *c, uint64_t grace_usec) {
        stop_group *g = calloc(1, sizeof(*g));

        if (!g || !(g->verdicts = json_array())) {
                free(g);
                return server_error(c, VARLINK_ERROR_INVALID_PARAMETER, NULL);
        }
        g->conn = server_conn_ref(c);
        g->remaining = 1; /* held until every stop has been sent */
        for (entry *e = r->entries; e; e = e->next)
                if (e->backend && entry_wait(e, WAIT_GROUP, NULL, g) >= 0)
                        g->remaining++;
        (void) corral_stop_all_by(r->corral, grace_usec, server_conn_cred(c)->uid, server_conn_cred(c)->pid);
        waiter self = { .kind = WAIT_GROUP, .group = g };
        waiter_resolve(r, NULL, &self, NULL); /* drop the hold; replies if all are gone */
}

static void registry_reply_list(registry *r, conn *c, bool continues) {
        json_t *a = json_array();

        for (entry *e = r->entries; a && e; e = e->next)
                json_array_append_new(a, entry_json(e, false));
        server_reply(c, json_pack("{s:o}", "backends", a), continues);
}

void registry_list(registry *r, conn *c) {
        registry_reply_list(r, c, false);
}

void registry_list_continues(registry *r, conn *c) {
        registry_reply_list(r, c, true);
}

void registry_status(registry *r, conn *c, const char *name) {
        entry *e = registry_find(r, name);

        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        server_reply(c, json_pack("{s:o}", "backend", entry_json(e, true)), false);
}

void registry_remove(registry *r, conn *c, const char *name) {
        entry *e = registry_find(r, name);

        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        if (e->backend)
                return server_error(c, ERROR_RUNNING,
                                    json_pack("{s:s, s:s}", "name", name, "state",
                                              corral_state_to_string(corral_backend_get_state(e->backend))));
        if (e->definition)
                return server_error(c, ERROR_DECLARED,
                                    json_pack("{s:s, s:s}", "name", name, "definition", e->definition));
        registry_forget(r, e); /* nothing waits on a gone backend: Stop answers at once */
        server_reply(c, json_object(), false);
}

void registry_reset_failed(registry *r, conn *c, const char *name) {
        entry *e = registry_find(r, name);

        if (!e)
                return server_error(c, ERROR_NO_SUCH, json_pack("{s:s}", "name", name));
        e->failed = false;
        server_reply(c, json_pack("{s:o}", "backend", entry_json(e, false)), false);
}

void registry_shutdown(registry *r, uid_t uid, pid_t pid, void (*done)(void *userdata), void *userdata) {
        r->done = done;
        r->done_userdata = userdata;
        if (r->shutting_down)
                return;
        r->shutting_down = true;
        registry_notify_status(r);
        (void) corral_stop_all_by(r->corral, CORRAL_GRACE_DEFAULT, uid, pid);
        if (corral_count(r->corral) == 0)
                done(userdata);
}

int registry_adopt(registry *r) {
        corral_backend **v = NULL;
        size_t n = 0;
        int k = corral_adopt(r->corral, &v, &n);

        for (size_t i = 0; i < n; i++) {
                corral_backend *b = v[i];
                entry *e = registry_find(r, corral_backend_get_name(b))
                        ?: registry_add(r, corral_backend_get_name(b));
                if (!e || e->backend || corral_spec_dup(corral_backend_get_spec(b), &e->spec) < 0) {
                        daemon_log(LOG_ERR, "cannot keep track of re-adopted backend %s: killing it",
                                   corral_backend_get_name(b));
                        (void) corral_stop(b, 0);
                        corral_backend_unref(b);
                        continue;
                }
                e->backend = b; /* the "adopted" event has told of it */
                e->last = corral_backend_ref(b);
                fdstore_keep(b);
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
                if (e->backend) {
                        (void) corral_stop_by(e->backend, CORRAL_GRACE_DEFAULT, getuid(), getpid());
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
        if (corral_spec_dup(d->spec, &e->next_spec) < 0 || entry_wait(e, WAIT_RELOAD, NULL, NULL) < 0)
                return;
        (void) corral_stop_by(e->backend, CORRAL_GRACE_DEFAULT, getuid(), getpid());
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
                        report_add(report, "unchanged", e->name);
                        return;
                }
                (void) snprintf(msg, sizeof(msg), "%s: a backend %s started over varlink runs: not replaced",
                                d->path, d->name);
                daemon_log(LOG_WARNING, "reload: %s", msg);
                json_array_append_new(json_object_get(report, "problems"), json_string(msg));
                return;
        }
        if (!e && !(e = registry_add(r, d->name)))
                return;
        corral_spec_free(e->spec);
        if (corral_spec_dup(d->spec, &e->spec) < 0)
                return;
        free(e->definition);
        e->definition = strdup(d->path);
        report_add(report, "started", e->name);
        if (registry_spawn(r, e) < 0)
                daemon_log(LOG_ERR, "%s (declared in %s) failed to start", e->name, d->path);
}

json_t *registry_reload(registry *r) {
        definition_problems p = { 0 };
        definition **v = NULL;
        size_t n = 0;
        json_t *report = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "started", "stopped", "restarted",
                                   "unchanged", "problems");

        if (!report || definition_load_dirs(r->definition_dirs, &p, &v, &n) < 0) {
                json_decref(report);
                return NULL;
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
        for (entry *e = r->entries; e; e = e->next)
                if (e->definition)
                        apply_to_declared(r, e, defs_find(v, n, e->name), report);
        for (size_t i = 0; i < n; i++) {
                entry *e = registry_find(r, v[i]->name);
                if (!e || !e->definition)
                        apply_new(r, v[i], report);
        }
        daemon_log(LOG_INFO,
                   "definitions: %zu started, %zu stopped, %zu restarted, %zu unchanged, %zu problem(s)",
                   json_array_size(json_object_get(report, "started")),
                   json_array_size(json_object_get(report, "stopped")),
                   json_array_size(json_object_get(report, "restarted")),
                   json_array_size(json_object_get(report, "unchanged")),
                   json_array_size(json_object_get(report, "problems")));
        definitions_free(v, n);
        definition_problems_done(&p);
        registry_notify_status(r);
        return report;
}

void registry_reload_call(registry *r, conn *c) {
        json_t *report;

        if (r->shutting_down)
                return server_error(c, ERROR_SHUTTING_DOWN, NULL);
        report = registry_reload(r);
        if (!report)
                return server_error(c, VARLINK_ERROR_RELOAD_FAILED,
                                    json_pack("{s:s}", "message", "out of memory"));
        server_reply(c, report, false);
}
