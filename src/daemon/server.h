/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.h: the varlink control socket: connections, their credentials, limits and replies. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct server server;
typedef struct conn conn; /* one client connection, private to server.c */

/* Counts are what they say (0: none); sizes and times of 0 mean no limit. */
typedef struct server_options {
        unsigned max_connections;
        unsigned max_unprivileged; /* of them, callers neither root nor in the group */
        unsigned max_per_uid;      /* of those, one uid's */
        size_t max_message;
        size_t max_output;             /* replies waiting for one client */
        size_t max_total_output;       /* output buffers of all clients together */
        uint64_t request_timeout_usec; /* a message must be whole this long after it began */
        uint64_t idle_timeout_usec;    /* an unprivileged client with no call, watch or follow */
        unsigned log_burst;            /* refusals logged per log_interval_usec; 0: all */
        uint64_t log_interval_usec;
        gid_t allow_gid; /* (gid_t) -1: root only; root and this group are privileged */
} server_options;

/* One call read from c: its method's name and its parameters (an object, borrowed for the call),
 * and whether the caller wants more than one reply. Answer it on c with server_reply() or
 * server_error(), now or later; the next call on c is not read before. The envelope is checked
 * already: a call without a method, with a "more" or "oneway" that is no boolean, or with
 * parameters that are no object, is answered by the server. */
typedef void (*server_dispatch_t)(conn *c, const char *method, json_t *params, bool more, void *userdata);

/* Listen on fd (already bound and listening; taken), or on nothing if it is negative. */
int server_new(sd_event *e, const server_options *opt, int listen_fd, server_dispatch_t dispatch,
               void *userdata, server **ret);
server *server_free(server *s);

/* Serve a connected, non-blocking socket (taken): its peer's credentials decide what it may do.
 * Past max_connections (or, unprivileged, past its share) it is closed at once. */
void server_add_connection(server *s, int fd);

/* How many connections are open. */
unsigned server_count_connections(server *s);

/* Answer the current call of c. Both steal params; a reply with continues keeps the call open.
 * Finishing a call lets the connection read its next one. */
void server_reply(conn *c, json_t *params, bool continues);
void server_error(conn *c, const char *error, json_t *params);
void server_invalid_parameter(conn *c, const char *parameter);

/* The caller on c, from SO_PEERCRED when it connected. */
const struct ucred *server_conn_cred(conn *c);
/* Root, or in the allowed group: it may change things and see stderr tails. */
bool server_conn_privileged(conn *c);
server *server_conn_server(conn *c);
/* From now on c gets every event (Watch) / every chunk of this backend's output (Logs with more),
 * as more replies to its current call. */
void server_conn_watch(conn *c);
int server_conn_follow(conn *c, const char *name);
/* The current call of c waits for something: if c closes before the call is answered,
 * cancel(userdata) is called, once; answering the call forgets it. */
void server_conn_on_close(conn *c, void (*cancel)(void *userdata), void *userdata);

/* Log something a client made happen at will (a refusal, a drop, a time-out) within the rate
 * allowed; reason is what the summary of the suppressed ones counts it as. */
int server_log_refusal(server *s, const char *reason, int prio, const char *fmt, ...) _printf_(4, 5);

/* Send an event to every connection that is watching. What goes to an unprivileged connection,
 * here as in every reply, has no "stderr" (a backend's stderr, like its output, may hold
 * secrets). */
void server_broadcast(server *s, json_t *params);

/* Send a chunk of a backend's output to every connection following it. */
void server_broadcast_output(server *s, const char *name, json_t *params);
