/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* http.h: a minimal HTTP/1.1 server on corrald's loop for GET /metrics: one request per
 * connection, bounded in connections, request size and time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct http_server http_server;

typedef struct http_options {
        unsigned max_connections;      /* at once; past it the one waiting longest for its request goes */
        size_t max_request;            /* the request line and headers, in bytes */
        uint64_t request_timeout_usec; /* from accept to the response's last byte */
} http_options;

#define HTTP_OPTIONS_DEFAULT                                                                                \
        ((http_options){                                                                                    \
                .max_connections = 16, .max_request = 8192, .request_timeout_usec = 10 * 1000000ULL })

/* The body of GET /metrics for a reader that sent this Accept header (NULL: none): malloc'ed, with
 * its content type (static). 0 or -errno (500). */
typedef int (*http_render_t)(const char *accept, char **ret_body, size_t *ret_size,
                             const char **ret_content_type, void *userdata);

/* Serve on fd (bound and listening, taken). */
int http_server_new(sd_event *e, const http_options *opt, int listen_fd, http_render_t render,
                    void *userdata, http_server **ret);
http_server *http_server_free(http_server *h);
unsigned http_server_count_connections(http_server *h);

/* A listening TCP socket for "ADDR:PORT" (IPv4 "127.0.0.1:9464", IPv6 "[::1]:9464"; numeric
 * only). An address that is not loopback is refused (-EPERM) unless allow_remote. -EINVAL for
 * what is no such address. Returns the fd or -errno, with *ret_problem in words (malloc'ed). */
int http_listen(const char *address, bool allow_remote, char **ret_problem);

/* The request's verdict, without the loop (tests): status code for the request in buf (headers
 * complete), and its Accept header's value (a pointer into buf, NUL-terminated there: buf is
 * changed) or NULL. */
int http_parse_request(char *buf, size_t len, const char **ret_accept, bool *ret_head);
