/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* methods.h: each varlink call checked (method, parameters, caller) and handed to the registry. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "corral.h"
#include "server.h"

typedef struct policy policy;
typedef struct registry registry;
typedef struct metrics metrics;

/* What the methods answer from: the server's dispatcher's userdata. */
typedef struct methods {
        registry *registry;
        const policy *policy;    /* what a caller who is not root may ask of Start; NULL: anything */
        const char *allow_group; /* named in the log when a call is refused; NULL: none */
        metrics *metrics;        /* Metrics */
} methods;

/* Answer one call on c, now or (for calls that wait on a backend) later: a server_dispatch_t. */
void methods_dispatch(conn *c, const char *method, json_t *params, bool more, void *userdata);

/* Watch: an event (its JSON form, borrowed) to every connection watching. */
void methods_broadcast_event(server *s, json_t *event);
/* Logs with more: a new launch of the backend begins (its output follows). */
void methods_broadcast_launch(server *s, const char *name, const char *launch, pid_t pid);
/* Logs with more: a chunk of a backend's output to every connection following it. */
void methods_broadcast_output(server *s, const char *name, corral_stream stream, uint64_t ts_usec,
                              const char *data, size_t size);
