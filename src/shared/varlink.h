/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* varlink.h: the varlink wire format: JSON objects ended by NUL on a stream socket, buffered both ways. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct varlink_conn {
        int fd;
        char *in;
        size_t in_len, in_cap;
        char *out;
        size_t out_len, out_off, out_cap;
        size_t max_in;  /* the largest message accepted */
        size_t max_out; /* the most that may wait to be written */
} varlink_conn;

/* Takes fd. Limits of 0 mean none. */
void varlink_conn_init(varlink_conn *c, int fd, size_t max_in, size_t max_out);
void varlink_conn_done(varlink_conn *c);

/* Read what the socket has. Returns bytes read (> 0), 0 at end of file, -EAGAIN when nothing is
 * there, -EMSGSIZE once an unterminated message is longer than max_in, or -errno. */
int varlink_conn_read(varlink_conn *c);

/* Take the next complete message. Returns 1 and a new reference, 0 if no complete message is
 * buffered, -EBADMSG if it is not a JSON object. */
int varlink_conn_next(varlink_conn *c, json_t **ret);

/* Queue a message (the reference stays the caller's). -ENOBUFS past max_out. */
int varlink_conn_queue(varlink_conn *c, json_t *msg);

/* Queue a message already serialized: len bytes, its ending NUL included. -ENOBUFS past max_out. */
int varlink_conn_queue_bytes(varlink_conn *c, const char *data, size_t len);

/* How many bytes the output buffer would grow by to queue len more (0 if they fit): what a
 * server bounding the memory of all its clients together checks before queuing. */
size_t varlink_conn_out_growth(const varlink_conn *c, size_t len);

/* Write what is queued. 0 when all is written, -EAGAIN if some remains, -errno. */
int varlink_conn_flush(varlink_conn *c);

static inline bool varlink_conn_pending_out(const varlink_conn *c) {
        return c->out_len > c->out_off;
}

/* Is a whole message buffered, waiting for varlink_conn_next()? */
bool varlink_conn_has_message(const varlink_conn *c);

/* Bytes of a message begun but not yet ended by its NUL. */
size_t varlink_conn_partial(const varlink_conn *c);

/* Messages. Each returns a new object or NULL on ENOMEM; params is stolen (may be NULL). */
json_t *varlink_call_new(const char *method, json_t *params, bool more);
json_t *varlink_reply_new(json_t *params, bool continues);
json_t *varlink_error_new(const char *error, json_t *params);

/* Connect to a unix socket path, blocking. Returns an fd or -errno. */
int varlink_connect(const char *address);

/* Blocking call on a connected fd: send, then wait for one reply. Returns 0 and the reply, or
 * -errno (-ECONNRESET if the server hung up). */
int varlink_call(varlink_conn *c, const char *method, json_t *params, bool more, json_t **ret_reply);

/* Blocking: the next reply of a call made with more. */
int varlink_next_reply(varlink_conn *c, json_t **ret_reply);
