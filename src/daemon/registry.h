/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.h: corrald's backends by name: their specs, last verdicts, and the calls waiting on them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "corral.h"
#include "evlog.h"

typedef struct conn conn;
typedef struct server server;
typedef struct registry registry;

typedef struct registry_start {
        const char *name;
        char **command;
        char **environment; /* NULL: corrald's */
        const char *working_directory;
        corral_type type;
        int stop_signal;
        uint64_t grace_usec;
        corral_restart restart;
        uint64_t restart_delay_usec, restart_max_delay_usec, restart_reset_usec, restart_window_usec;
        unsigned restart_burst;
        const char *user, *group;
        int umask; /* -1: corrald's */
        bool no_new_privs, clear_environment;
        char **rlimits;    /* "nofile=1024:4096", checked */
        const char *ready; /* "none", "notify", "tcp:HOST:PORT"; NULL: none */
        uint64_t start_timeout_usec;
        bool wait_ready; /* answer Start only once it is ready */
        uint64_t watchdog_usec;
} registry_start;

int registry_new(corral *c, evlog_target target, evlog_format format, registry **ret);
registry *registry_free(registry *r);
void registry_set_server(registry *r, server *s);

/* The methods: each answers c (now, or later for those that wait for a backend). */
void registry_start_backend(registry *r, conn *c, const registry_start *p);
void registry_stop(registry *r, conn *c, const char *name, uint64_t grace_usec);
void registry_stop_all(registry *r, conn *c, uint64_t grace_usec);
void registry_restart(registry *r, conn *c, const char *name);
void registry_list(registry *r, conn *c);
/* The first reply of a Watch: the backends as they are, with more to come. */
void registry_list_continues(registry *r, conn *c);
void registry_status(registry *r, conn *c, const char *name);
/* A backend that failed (crash-loop limit) is marked gone again: no start, a state change only. */
void registry_reset_failed(registry *r, conn *c, const char *name);

/* Shutdown: stop every backend on purpose, by this caller; calls done() once none is left. */
void registry_shutdown(registry *r, uid_t uid, pid_t pid, void (*done)(void *userdata), void *userdata);
bool registry_shutting_down(registry *r);
unsigned registry_count_running(registry *r);
