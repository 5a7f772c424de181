/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.h: a readiness or health check as a spec holds it: tcp:HOST:PORT, http://HOST:PORT/PATH, exec:CMD.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef enum check_kind {
        CHECK_NONE,
        CHECK_TCP,  /* a socket of the backend's own listens on the address */
        CHECK_HTTP, /* that, and a GET of the path answers 2xx */
        CHECK_EXEC, /* a command run in the backend's cgroup exits 0 */
} check_kind;

typedef struct spec_check {
        check_kind kind;
        struct sockaddr_storage addr; /* tcp, http */
        socklen_t addr_len;
        char *text;               /* as given (the form it is kept and shown in); NULL for none */
        size_t host_at, host_len; /* http: HOST:PORT in text, for the Host: header */
        size_t arg_at;            /* http: the request target in text ("/health"); exec: the command */
} spec_check;

#define CHECK_TEXT_MAX 4096

/*
 * check_parse() - "tcp:HOST:PORT", "http://HOST:PORT/PATH" (PORT defaults to 80, PATH to /) or
 * "exec:CMD". HOST is a numeric IPv4 or IPv6 address ([::1]) or localhost: no name is looked up,
 * the loop never waits on DNS. Only ASCII without controls or spaces in an HTTP target; CMD
 * nonempty, at most CHECK_TEXT_MAX bytes. Return: 0 with *ret set (its text the caller's to
 * free with check_done()), or -EINVAL.
 */
int check_parse(const char *text, spec_check *ret);
void check_done(spec_check *c);
int check_copy(const spec_check *c, spec_check *ret);

/* Parse "HOST" (numeric, or localhost) and port into addr: 0 or -EINVAL. */
int check_addr(const char *host, unsigned port, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Its address as "127.0.0.1:8080" or "[::1]:8080"; snprintf's return. */
int check_format_addr(const spec_check *c, char *buf, size_t size);
