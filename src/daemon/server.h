/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.h: the varlink control socket: connections, their credentials, limits and replies. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "daemon-log.h"
#include "hashmap.h"
#include "varlink.h"

typedef struct server server;
typedef struct conn conn;
typedef struct registry registry;

/* What a connection's timer waits for; it has one only while this is not CONN_WAIT_NONE. */
typedef enum conn_wait {
        CONN_WAIT_NONE,
        CONN_WAIT_REQUEST, /* the rest of a message it has begun: a half-sent message times out */
        CONN_WAIT_IDLE,    /* an unprivileged client's next call: one that holds a slot idle times out */
} conn_wait;

/* One client connection. Calls on it are answered in order: while one waits for a backend
 * (Stop, Restart, StopAll), the next is not read. */
struct conn {
        unsigned n_ref;
        server *server;
        conn *prev, *next;
        varlink_conn vc;
        sd_event_source *io;
        sd_event_source *defer; /* takes the next buffered call on the loop's next turn */
        sd_event_source *timer; /* exists only while wait is not CONN_WAIT_NONE */
        conn_wait wait;
        struct ucred cred;
        size_t out_held;    /* its output buffer, as counted in server->out_held */
        bool privileged;    /* root or in the allowed group */
        bool closed;        /* hung up or dropped: replies to it go nowhere */
        bool watching;      /* a Watch() is streaming to it */
        char *following;    /* a Logs() with more is streaming this backend's output to it */
        bool busy;          /* a call is waiting for its reply */
        bool oneway;        /* the current call wants no reply */
        bool processing;    /* inside conn_process(): do not re-enter it */
        const char *method; /* the call being answered, for logs */
};

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
        gid_t allow_gid; /* (gid_t) -1: root only */
        const char *allow_group;
        const struct policy *policy; /* what a caller who is not root may ask of Start */
} server_options;

struct server {
        sd_event *event;
        registry *registry;
        server_options opt;
        int listen_fd;
        sd_event_source *listen_source;
        conn *conns;
        unsigned n_conns;
        unsigned n_unprivileged;
        hashmap per_uid; /* uid -> its unprivileged connections */
        size_t out_held; /* the output buffers of all connections */
        daemon_log_limit refusals;
};

/* Listen on fd (already bound and listening; taken), or on nothing if it is negative. */
int server_new(sd_event *e, registry *reg, const server_options *opt, int listen_fd, server **ret);
server *server_free(server *s);

/* Serve a connected, non-blocking socket (taken): its peer's credentials decide what it may do.
 * Past max_connections (or, unprivileged, past its share) it is closed at once. */
void server_add_connection(server *s, int fd);

/* Answer the current call of c. Both steal params; a reply with continues keeps the call open.
 * Finishing a call lets the connection read its next one. */
void server_reply(conn *c, json_t *params, bool continues);
void server_error(conn *c, const char *error, json_t *params);
void server_invalid_parameter(conn *c, const char *parameter);

/* Log something a client made happen at will (a refusal, a drop, a time-out) within the rate
 * allowed; reason is what the summary of the suppressed ones counts it as. */
#define server_log_refusal(s, reason, prio, ...)                                                            \
        daemon_log_limited(&(s)->refusals, reason, prio, __VA_ARGS__)

/* Send an event to every connection that is watching. What goes to an unprivileged connection,
 * here as in every reply, has no "stderr" (a backend's stderr, like its output, may hold
 * secrets). */
void server_broadcast(server *s, json_t *params);

/* Send a chunk of a backend's output to every connection following it. */
void server_broadcast_output(server *s, const char *name, json_t *params);

conn *conn_ref(conn *c);
conn *conn_unref(conn *c);
