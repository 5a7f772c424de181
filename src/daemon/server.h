/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.h: the varlink control socket: connections, their credentials, limits and replies. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "varlink.h"

typedef struct server server;
typedef struct conn conn;
typedef struct registry registry;

/* One client connection. Calls on it are answered in order: while one waits for a backend
 * (Stop, Restart, StopAll), the next is not read. */
struct conn {
        unsigned n_ref;
        server *server;
        conn *prev, *next;
        varlink_conn vc;
        sd_event_source *io;
        struct ucred cred;
        bool privileged;    /* root or in the allowed group */
        bool closed;        /* hung up or dropped: replies to it go nowhere */
        bool watching;      /* a Watch() is streaming to it */
        char *following;    /* a Logs() with more is streaming this backend's output to it */
        bool busy;          /* a call is waiting for its reply */
        bool oneway;        /* the current call wants no reply */
        bool processing;    /* inside conn_process(): do not re-enter it */
        const char *method; /* the call being answered, for logs */
};

typedef struct server_options {
        unsigned max_connections;
        size_t max_message;
        size_t max_output;
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
};

/* Listen on fd (already bound and listening; taken), or on nothing if it is negative. */
int server_new(sd_event *e, registry *reg, const server_options *opt, int listen_fd, server **ret);
server *server_free(server *s);

/* Serve a connected, non-blocking socket (taken): its peer's credentials decide what it may do.
 * Past max_connections it is closed at once. */
void server_add_connection(server *s, int fd);

/* Answer the current call of c. Both steal params; a reply with continues keeps the call open.
 * Finishing a call lets the connection read its next one. */
void server_reply(conn *c, json_t *params, bool continues);
void server_error(conn *c, const char *error, json_t *params);
void server_invalid_parameter(conn *c, const char *parameter);

/* Send an event to every connection that is watching. */
void server_broadcast(server *s, json_t *params);

/* Send a chunk of a backend's output to every connection following it. */
void server_broadcast_output(server *s, const char *name, json_t *params);

conn *conn_ref(conn *c);
conn *conn_unref(conn *c);
