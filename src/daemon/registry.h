/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.h: corrald's backends by name: their specs, last verdicts, and the calls waiting on them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "corral.h"

typedef struct registry registry;

/* A backend as the registry holds it: what its supervisor made of a spec. In corrald it is a
 * corral_backend (supervisor.c); in the tests, a fake's. */
typedef struct registry_backend registry_backend;

/* What a backend is now. The strings are borrowed from it. */
typedef struct registry_backend_info {
        const char *launch;
        const char *cgroup; /* its leaf, below the cgroup2 mount */
        corral_state state;
        pid_t pid;
        unsigned restarts;          /* in a row, since the last reset */
        uint64_t next_restart_usec; /* CLOCK_REALTIME; 0: none due */
        const char *status_text;    /* its last STATUS=, or NULL */
        uint64_t start_usec;        /* CLOCK_REALTIME of its launch's start; 0: none */
        int ready;                  /* 1 ready, 0 not yet, -1 no readiness to report (or no launch) */
        corral_health health;       /* what its health checks say */
        unsigned health_failures;   /* in a row */
} registry_backend_info;

#define REGISTRY_LEVELS (CORRAL_LEVEL_ERROR + 1)

/* What a backend counted over its launches, and kept in its record. */
typedef struct registry_counters {
        corral_counters c;
        uint64_t verdicts[_CORRAL_EVENT_MAX][REGISTRY_LEVELS];
} registry_counters;

/* What the registry asks of the supervisor (sup): in corrald, libcorral (supervisor.c), where
 * each does and returns what the corral_* function of its name does; in the tests, a fake that
 * records the calls and makes the events. */
typedef struct registry_ops {
        /* Where the events of every backend go (the handler ignores its corral * argument). */
        void (*set_event_handler)(void *sup, corral_event_handler_t handler, void *userdata);
        /* prev: the backend's latest launch before (NULL: none), whose counters go on; restart:
         * this start is a restart (corral_spawn_after()). */
        int (*spawn)(void *sup, const corral_spec *spec, registry_backend *prev, bool restart,
                     registry_backend **ret);
        /* cause: why, when another backend's end is the reason (corral_stop_because()), or NULL */
        int (*stop)(registry_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid, const char *cause);
        int (*stop_all)(void *sup, uint64_t grace_usec, uid_t uid, pid_t pid);
        /* corral_backend_kill_by(): the number of processes signalled, -ESRCH if it does not run */
        int (*kill)(registry_backend *b, int sig, corral_kill_whom whom, uid_t uid, pid_t pid);
        int (*adopt)(void *sup, registry_backend ***ret, size_t *ret_n);
        unsigned (*count)(void *sup); /* backends not yet gone */
        registry_backend *(*ref)(registry_backend *b);
        registry_backend *(*unref)(registry_backend *b);
        const corral_spec *(*spec)(registry_backend *b);
        void (*info)(registry_backend *b, registry_backend_info *ret);
        int (*usage)(registry_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec);
        int (*read_output)(registry_backend *b, unsigned lines, uint64_t since_usec,
                           corral_output_line **ret, size_t *ret_n);
        /* What it counted (corral_backend_get_counters(), _get_verdicts()) into *ret. */
        void (*counters)(registry_backend *b, registry_counters *ret);
        int (*processes)(registry_backend *b); /* -ESTALE once gone */
        /* corral_backend_reload_by(): 0 under way (its end is a reloaded or reload-failed event,
         * naming who asked), -EBUSY (one is already), -EOPNOTSUPP, -ESTALE */
        int (*reload)(registry_backend *b, uid_t uid, pid_t pid);
} registry_ops;

/* A backend as the metrics show it: plain facts. */
typedef struct registry_backend_metrics {
        const char *name;
        const char *definition; /* its file, or NULL */
        corral_state state;     /* as List says it: failed where the crash-loop limit ended it */
        bool counted;           /* it has a record, and counters: */
        registry_counters counters;
        /* with usage, where it runs: UINT64_MAX or < 0 where unknown */
        uint64_t memory_bytes, cpu_usec;
        int processes;
} registry_backend_metrics;

/*
 * The registry knows backends, not connections. A call names who asks (recorded in a stop's
 * verdict) as plain data, and its outcome is a registry_result: REGISTRY_OK with what the call
 * gives back, or a domain error with what it is about. The calls that may wait for a backend
 * (Start with wait_ready, Stop, StopAll, Restart) complete through a callback instead, and return
 * a handle to cancel the wait with.
 */

typedef struct registry_caller {
        uid_t uid;
        pid_t pid;
} registry_caller;

typedef enum registry_error {
        REGISTRY_OK,
        REGISTRY_NO_SUCH_BACKEND,  /* name */
        REGISTRY_BACKEND_EXISTS,   /* name: it runs */
        REGISTRY_BACKEND_RUNNING,  /* name, state: it runs, and may not be removed */
        REGISTRY_BACKEND_DECLARED, /* name, definition: its file says what it runs */
        REGISTRY_BACKEND_NOT_RUNNING, /* name, state: it has no process to signal */
        REGISTRY_START_FAILED,     /* name, message, verdict (NULL if it never got as far as one) */
        REGISTRY_RELOAD_NOT_SUPPORTED, /* name: neither ExecReload= nor ReloadSignal= */
        REGISTRY_SHUTTING_DOWN,
        REGISTRY_NO_MEMORY,
} registry_error;

typedef struct registry_result {
        registry_error error;
        /* Borrowed: valid while the result is (in a completion, for the callback's duration). */
        const char *name;
        const char *state;
        const char *definition;
        const char *message; /* START_FAILED: why */
        char *message_buf;   /* the result's own message, when it is not a verdict's */
        /* The result's own, freed by registry_result_done(): */
        json_t *verdict;      /* Stop: its verdict (NULL: none known); START_FAILED: see above */
        bool already_stopped; /* Stop: it was gone before the call */
        json_t *value;        /* REGISTRY_OK: a backend (Start, Restart, Status, ResetFailed), the
                               * backends (List), the verdicts (StopAll), the report (Reload) */
        corral_output_line *lines; /* Logs: its lines (one block), n_lines of them */
        size_t n_lines;
} registry_result;

void registry_result_done(registry_result *res);

/* A call that waits completes through this, exactly once unless it is cancelled; possibly before
 * the call returns (which then returns NULL). */
typedef void (*registry_done_t)(const registry_result *res, void *userdata);
typedef struct registry_wait registry_wait;

/* Its callback is never called: the caller went away. What the call set in motion goes on (a
 * Restart still starts the backend again once it is gone). Returns NULL. */
registry_wait *registry_wait_cancel(registry_wait *w);

/* A registry of the backends of sup, on the loop e (where it forgets what is gone beyond the
 * bound). It takes sup's events. */
int registry_new(sd_event *e, const registry_ops *ops, void *sup, registry **ret);
/* At most this many backends that are gone (and not declared) are remembered, with their last
 * verdict and output; beyond it the longest gone is forgotten. */
#define REGISTRY_KEEP_GONE_DEFAULT 100
void registry_set_keep_gone(registry *r, size_t n);
/* Waits still pending are dropped without their callbacks: cancel them first. */
registry *registry_free(registry *r);

/* Who else hears of what happens to the backends (corrald's are in observers.c): told in the
 * order they were added. Any function may be NULL. */
typedef struct registry_observer {
        /* Every event of every backend, with its JSON form (NULL if out of memory), before the
         * registry acts on it. */
        void (*event)(const corral_event *ev, json_t *json, void *userdata);
        /* A launch of b began, and the registry keeps b: at a start, a restart, an adoption. */
        void (*launch)(registry_backend *b, void *userdata);
        /* How many backends are not yet gone, and whether corrald is shutting down: after every
         * event, and whatever else may change them. */
        void (*status)(unsigned running, bool shutting_down, void *userdata);
        void *userdata;
} registry_observer;

/* Add an observer (copied). 0 or -ENOMEM. */
int registry_observe(registry *r, const registry_observer *o);

/* Start a backend from spec (taken). With wait_ready, one that reports readiness completes once
 * it is ready, or with START_FAILED and the verdict if it never is. */
registry_wait *registry_start(registry *r, corral_spec *spec, bool wait_ready, registry_done_t done,
                              void *userdata);
/* Start a declared backend by its name, as its definition says, and first what it requires
 * (Requires=); each starts once what it is ordered after (After=) is ready. Completes once it is
 * launched (with wait_ready: ready), or with START_FAILED naming what kept it from starting. One
 * that runs already completes with itself. NO_SUCH_BACKEND if no definition declares name. */
registry_wait *registry_start_declared(registry *r, const char *name, bool wait_ready, registry_done_t done,
                                       void *userdata);
/* Stop it on purpose and complete with its verdict once it is gone; a second Stop shares the
 * first one's verdict; one already gone completes at once, already_stopped. What requires it
 * (Requires=) is stopped first, with the cause "NAME stopped". */
registry_wait *registry_stop(registry *r, const registry_caller *who, const char *name, uint64_t grace_usec,
                             registry_done_t done, void *userdata);
/* Stop every backend under one deadline (with After= among them: each once what is ordered after
 * it is gone); completes with their verdicts once all are gone. */
registry_wait *registry_stop_all(registry *r, const registry_caller *who, uint64_t grace_usec,
                                 registry_done_t done, void *userdata);
/* Stop it (if it runs) and start it again from its spec, once it is gone; with wait_ready, complete
 * as registry_start() does with it. */
registry_wait *registry_restart(registry *r, const registry_caller *who, const char *name, bool wait_ready,
                                registry_done_t done, void *userdata);
/* Reload each of the n backends named (as its spec says: corral_backend_reload()), all of them
 * checked first: NO_SUCH_BACKEND, BACKEND_NOT_RUNNING or RELOAD_NOT_SUPPORTED for the first that
 * cannot be, and nothing done. Completes once each reload has ended, the value an array in the
 * order named of {name, result: "ok", "failed" or "timed-out", message}. A reload under way
 * already is waited for, not begun again. */
registry_wait *registry_reload_backends(registry *r, const registry_caller *who, char *const *names,
                                        size_t n, registry_done_t done, void *userdata);

/* The calls answered at once: each fills *ret (registry_result_done() it) and returns ret->error. */
/* Send sig to its main process or to every process of its cgroup, recording who asked (a kill is no
 * stop: a death by it is a warning that names them). The value is {processes: how many}. */
registry_error registry_kill(registry *r, const registry_caller *who, const char *name, int sig,
                             corral_kill_whom whom, registry_result *ret);
registry_error registry_list(registry *r, registry_result *ret);
registry_error registry_status(registry *r, const char *name, registry_result *ret);
/* Forget a backend that is gone (not running, not declared): its last verdict and output. */
registry_error registry_remove(registry *r, const char *name, registry_result *ret);
/* A backend that failed (crash-loop limit) is marked gone again: no start, a state change only. */
registry_error registry_reset_failed(registry *r, const char *name, registry_result *ret);
/* The last lines (0: all) of its output kept in memory (the current or last launch, across
 * restarts) read at or after since_usec (CLOCK_REALTIME; 0: any time); none if it has none. */
registry_error registry_logs(registry *r, const char *name, unsigned lines, uint64_t since_usec,
                             registry_result *ret);

/* Each backend (in the order they were first started), for the metrics; with usage, what its
 * cgroup uses now too (read from cgroupfs). */
void registry_foreach_metrics(registry *r, bool usage,
                              void (*f)(const registry_backend_metrics *m, void *userdata), void *userdata);
/* How many backends it knows, gone ones too. */
unsigned registry_count(registry *r);

/* Take back what a supervisor before us left running (corral_adopt()): each backend gets its
 * entry again. Returns how many, or -errno. */
int registry_adopt(registry *r);

/* Declared backends: the directories of their definition files, in order. */
int registry_set_definition_dirs(registry *r, char *const *dirs);
/* Read the definitions again and apply the difference: new ones start, removed or disabled ones
 * stop, changed ones restart, others are left alone; a broken one keeps what runs on its old
 * definition. The value is the report ({started, stopped, restarted, unchanged, problems}). */
registry_error registry_reload(registry *r, registry_result *ret);

/* Shutdown: stop every backend on purpose, by who; calls done() once none is left. */
void registry_shutdown(registry *r, const registry_caller *who, void (*done)(void *userdata),
                       void *userdata);
bool registry_shutting_down(registry *r);
unsigned registry_count_running(registry *r);
