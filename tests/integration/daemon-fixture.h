/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-fixture.h: the real corrald on a socket and a cgroup root of the test's own, and raw varlink calls
 * to it. */
#pragma once

#include <jansson.h>

#include "harness.h"
#include "varlink.h"

#define IFACE "io.corral.Supervisor."

typedef struct daemon_fixture {
        harness *h;
        char sock[300], log[300], notify[300]; /* notify: our stand-in for systemd's NOTIFY_SOCKET */
        int pidfd;
        pid_t pid;
        int fds_at_start; /* corrald's own, once it is ready */
        /* Put before corrald's argv (NULL-terminated, or NULL): a wrapper that execs the rest, as
         * one that starts it as another user in a cgroup of its own. */
        const char *const *prefix;
        /* A cgroup corrald runs in under the harness's root ("" if none): removed once it is gone. */
        char own_leaf[600];
} daemon_fixture;

/* cmocka setup/teardown: a harness and socket paths; _started also starts corrald. Teardown
 * stops every backend, checks corrald's fds are back to what it started with, SIGTERMs it (exit 0
 * expected) and runs the harness's leak checks. */
int fixture_setup(void **state);
int fixture_setup_started(void **state);
int fixture_teardown(void **state);

/* Start corrald (extra arguments, NULL-terminated, or NULL) and wait for READY=1. */
void daemon_start(daemon_fixture *d, const char *const *extra);
/* Take corrald's fds now as those it must be back to at the end (called by daemon_start()). */
void daemon_baseline(daemon_fixture *d);
/* SIGTERM through its pidfd; its exit status, 128+N if killed. */
int daemon_stop(daemon_fixture *d);
/* SIGKILL, as a crash would end it (no chance to stop anything); waits for it and reaps it. */
void daemon_kill9(daemon_fixture *d);
/* The test, as subreaper, is what the backends of a killed corrald come to, as init would be:
 * reap what has ended, but never corrald itself, which is reaped through its pidfd. */
void daemon_reap_orphans(daemon_fixture *d);
/* The fd holder: a child of parent (the corrald that started it) named corrald-fdhold; 0 if none. */
pid_t daemon_holder_pid(pid_t parent);
/* corrald's open fds, but for sd-event's timerfds (one per clock, kept). */
int daemon_fds(daemon_fixture *d);
int daemon_fds_list(daemon_fixture *d, bool show);
void assert_daemon_fds_back(daemon_fixture *d);
/* corrald's stderr so far. */
char *read_log(daemon_fixture *d);

void conn_open(daemon_fixture *d, varlink_conn *c);
/* One call on a fresh connection; the whole reply (the caller decrefs). */
json_t *call(daemon_fixture *d, const char *method, json_t *params);
const char *error_of(json_t *reply);
json_t *param(json_t *reply, const char *key);
/* Check the error and one of its string parameters; consumes reply. */
void assert_error(json_t *reply, const char *error, const char *key, const char *value);
/* Start parameters for the helper in a mode; start_ready also waits for it to say ready. */
json_t *start_params(daemon_fixture *d, const char *name, const char *mode, json_int_t grace_usec);
void start_ready(daemon_fixture *d, const char *name, const char *mode, json_int_t grace_usec);

/* A backend as Status shows it (the caller decrefs), or NULL if corrald has none of that name. */
json_t *status_of(daemon_fixture *d, const char *name);
/* Its main pid while it is running, else 0. */
json_int_t pid_of(daemon_fixture *d, const char *name);
/* Whether it is in that state now. */
bool state_is(daemon_fixture *d, const char *name, const char *state);
/* Its last verdict (the caller decrefs), or NULL if it has none. */
json_t *last_verdict(daemon_fixture *d, const char *name);
/* A string member of o, "" if there is none. */
const char *jstr(json_t *o, const char *key);

/* One call as uid 65534 (nobody, nogroup: a caller who may look but not touch), in a child of the
 * test, on a connection of its own: the whole reply as compact JSON in out ("" if none came).
 * Consumes params. 0, or the child's exit status: 11 no connection, 12 the call failed, 13 the
 * reply could not be passed on, 120 it could not become nobody. corrald's socket must be
 * reachable by nobody (the harness's tmpdir 0755). */
int nobody_call(daemon_fixture *d, const char *method, json_t *params, char *out, size_t size);

/* The arguments of a command, NULL-terminated. */
#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
/* Run argv to its end; its stdout and stderr in out, its exit status returned (-1 if killed). */
int run_capture(daemon_fixture *d, const char *const *argv, char *out, size_t size);
/* The real client against our corrald: the verb (args[0]), then --address, then the rest. */
int client(daemon_fixture *d, const char *const *args, char *out, size_t size);
/* The real client with args as given (no --address added). */
int client_raw(daemon_fixture *d, const char *const *args, char *out, size_t size);
