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

int registry_new(corral *c, evlog_target target, evlog_format format, registry **ret);
/* At most this many backends that are gone (and not declared) are remembered, with their last
 * verdict and output; beyond it the longest gone is forgotten. */
#define REGISTRY_KEEP_GONE_DEFAULT 100
void registry_set_keep_gone(registry *r, size_t n);
registry *registry_free(registry *r);
void registry_set_server(registry *r, server *s);

/* The methods: each answers c (now, or later for those that wait for a backend). */
/* Start a backend from spec (taken). With wait_ready, a backend that reports readiness is
 * answered for once it is ready. */
void registry_start_backend(registry *r, conn *c, corral_spec *spec, bool wait_ready);
void registry_stop(registry *r, conn *c, const char *name, uint64_t grace_usec);
void registry_stop_all(registry *r, conn *c, uint64_t grace_usec);
void registry_restart(registry *r, conn *c, const char *name);
void registry_list(registry *r, conn *c);
/* The first reply of a Watch: the backends as they are, with more to come. */
void registry_list_continues(registry *r, conn *c);
void registry_status(registry *r, conn *c, const char *name);
/* Forget a backend that is gone (not running, not declared): its last verdict and output. */
void registry_remove(registry *r, conn *c, const char *name);
/* A backend that failed (crash-loop limit) is marked gone again: no start, a state change only. */
void registry_reset_failed(registry *r, conn *c, const char *name);

/* Logs: the last lines of its output kept in memory (the current or last launch, across
 * restarts); with follow, every later chunk too, as more replies. */
void registry_logs(registry *r, conn *c, const char *name, unsigned lines, bool follow);

/* Take back what a corrald before us left under the root (corral_adopt()): each backend gets
 * its entry again. Returns how many, or -errno. */
int registry_adopt(registry *r);

/* Declared backends: the directories of their definition files, in order. */
int registry_set_definition_dirs(registry *r, char *const *dirs);
/* Read the definitions again and apply the difference: new ones start, removed or disabled ones
 * stop, changed ones restart, others are left alone; a broken one keeps what runs on its old
 * definition. Returns the report ({started, stopped, restarted, unchanged, problems}). */
json_t *registry_reload(registry *r);
/* The Reload method. */
void registry_reload_call(registry *r, conn *c);

/* Shutdown: stop every backend on purpose, by this caller; calls done() once none is left. */
void registry_shutdown(registry *r, uid_t uid, pid_t pid, void (*done)(void *userdata), void *userdata);
bool registry_shutting_down(registry *r);
unsigned registry_count_running(registry *r);
