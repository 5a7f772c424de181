/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.c: readiness and health checks as text and back: tcp:HOST:PORT, http://HOST:PORT/PATH, exec:CMD. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int check_addr(const char *host, unsigned port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

        if (!host || port == 0 || port > 65535)
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        if (strcmp(host, "localhost") == 0)
                host = "127.0.0.1";
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                *ret_len = sizeof(*in);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof(*in6);
        } else
                return -EINVAL;
        return 0;
}

/* "HOST:PORT" or "[V6]:PORT" of len bytes (a missing port is dflt, if it is not 0). */
static int check_host_port(const char *s, size_t len, unsigned dflt, spec_check *c) {
        char host[64], *end;
        const char *colon = NULL;
        unsigned long port = dflt;

        for (size_t i = len; i > 0; i--)
                if (s[i - 1] == ':' || s[i - 1] == ']') {
                        colon = s[i - 1] == ':' ? s + i - 1 : NULL;
                        break;
                }
        if (colon) {
                if (colon + 1 == s + len || colon[1] < '0' || colon[1] > '9')
                        return -EINVAL;
                errno = 0;
                port = strtoul(colon + 1, &end, 10);
                if (errno != 0 || end != s + len || port > 65535)
                        return -EINVAL;
                len = (size_t) (colon - s);
        }
        if (len >= 2 && s[0] == '[' && s[len - 1] == ']') { /* [::1] */
                s++;
                len -= 2;
        }
        if (len == 0 || len >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, len);
        host[len] = '\0';
        return check_addr(host, (unsigned) port, &c->addr, &c->addr_len);
}

/* An HTTP request target: a path, printable ASCII without spaces. */
static bool http_target_ok(const char *p) {
        if (*p != '/')
                return false;
        for (; *p; p++)
                if (*p <= ' ' || *p >= 127)
                        return false;
        return true;
}

static int check_parse_http(const char *text, spec_check *c) {
        const char *hp = text + strlen("http://"), *path = strchr(hp, '/');
        size_t len = path ? (size_t) (path - hp) : strlen(hp);
        int r = check_host_port(hp, len, 80, c);

        if (r < 0 || (path && !http_target_ok(path)))
                return -EINVAL;
        c->kind = CHECK_HTTP;
        c->host_at = (size_t) (hp - text);
        c->host_len = len;
        c->arg_at = path ? (size_t) (path - text) : strlen(text); /* "" is sent as "/" */
        return 0;
}

int check_parse(const char *text, spec_check *ret) {
        spec_check c = { 0 };
        int r = -EINVAL;

        if (!text || strlen(text) > CHECK_TEXT_MAX)
                return -EINVAL;
        if (strncmp(text, "tcp:", 4) == 0) {
                r = check_host_port(text + 4, strlen(text + 4), 0, &c);
                c.kind = CHECK_TCP;
        } else if (strncmp(text, "http://", 7) == 0)
                r = check_parse_http(text, &c);
        else if (strncmp(text, "exec:", 5) == 0 && text[5 + strspn(text + 5, " \t")] != '\0') {
                c.kind = CHECK_EXEC;
                c.arg_at = 5;
                r = 0;
        }
        if (r < 0)
                return r;
        c.text = strdup(text);
        if (!c.text)
                return -ENOMEM;
        *ret = c;
        return 0;
}

void check_done(spec_check *c) {
        free(c->text);
        *c = (spec_check){ 0 };
}

int check_copy(const spec_check *c, spec_check *ret) {
        spec_check n = *c;

        if (c->text && !(n.text = strdup(c->text)))
                return -ENOMEM;
        *ret = n;
        return 0;
}

int check_format_addr(const spec_check *c, char *buf, size_t size) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) &c->addr;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &c->addr;
        char host[INET6_ADDRSTRLEN] = "?";

        if (c->addr.ss_family == AF_INET6) {
                (void) inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                return snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
        }
        (void) inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        return snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
}
