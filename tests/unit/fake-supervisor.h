/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-supervisor.h: a supervisor for the registry that runs nothing: it records what it is asked
 * and makes the events a real one would (started at a spawn, stopping at a stop), and the others
 * (ready, a verdict, a restart) when the test says. The registry's unit test and fuzz-varlink
 * use it: no root, no processes, no cgroups, and a fuzzed Start never runs a command. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "registry.h"

typedef struct fake_supervisor fake_supervisor;

/* One launch at a time, as a corral_backend is: a restart gives it a new launch. */
struct registry_backend {
        unsigned n_ref;
        fake_supervisor *fake;
        corral_spec *spec;
        char launch[16];
        char cgroup[128];
        corral_state state;
        bool live;     /* not gone: counted, in the fake's list */
        bool stopping; /* a stop was asked for: its verdict is intentional */
        uid_t stop_uid;
        pid_t stop_pid;
        char stop_cause[64];  /* the last stop's cause, "" if none */
        unsigned stops;       /* stops asked of it */
        unsigned kills;       /* kills sent to it, and the last one's signal, whom and asker */
        int kill_sig;
        corral_kill_whom kill_whom;
        uid_t kill_uid;
        pid_t kill_pid;
        unsigned restarts;    /* spawns asked as restarts, over its launches (counters) */
        unsigned reloads;     /* reloads asked of it: each ends with fake_reload_end() */
        uid_t reload_uid;     /* and who asked for the last one */
        pid_t reload_pid;
        sd_event_source *end; /* with a loop: the stop's end, on its next turn */
        registry_backend *next;
};

/* The reload under way ends: a reloaded event, or reload-failed (error ETIMEDOUT: timed out). */
void fake_reload_end(fake_supervisor *f, registry_backend *b, bool ok, int error);

struct fake_supervisor {
        corral_event_handler_t handler;
        void *userdata;
        sd_event *event;   /* set: a stop ends (stopped) on the loop's next turn; else fake_end() */
        bool stop_at_once; /* a stop ends (stopped) from inside the stop, as one already exited */
        registry_backend *live;
        unsigned launches;            /* launch ids handed out */
        unsigned spawns;              /* spawn() calls, failed ones too */
        unsigned stops;               /* stop() calls */
        unsigned stop_alls;           /* stop_all() calls */
        uint64_t clock;               /* the events' ts_usec */
        corral_state start_state;     /* a spawned backend's: RUNNING (default) or STARTING */
        int spawn_error;              /* the next spawn fails with it (-errno) ... */
        bool spawn_verdict;           /* ... after a start-failed event, or without one */
        registry_backend **adoptable; /* what adopt() returns, taken */
        size_t n_adoptable;
};

extern const registry_ops fake_ops;

void fake_init(fake_supervisor *f);
/* Frees what the fake still holds; no event. */
void fake_done(fake_supervisor *f);

/* Its live backend of that name, or NULL. Borrowed. */
registry_backend *fake_find(fake_supervisor *f, const char *name);
/* READY=1: running. */
void fake_ready(fake_supervisor *f, registry_backend *b);
/* Its launch ends with this verdict (intentional if a stop was asked for), and it is gone. */
void fake_end(fake_supervisor *f, registry_backend *b, corral_event_type verdict);
/* Its launch ends (exited) and its restart policy starts it again: restarting, then a new launch
 * is started. */
void fake_restart(fake_supervisor *f, registry_backend *b);
/* A backend of an earlier supervisor, for the next adopt(). */
void fake_add_adoptable(fake_supervisor *f, const char *name);
