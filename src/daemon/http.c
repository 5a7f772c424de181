/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* http.c: a minimal HTTP/1.1 server on corrald's loop for GET /metrics: one request per
 * connection, bounded in connections, request size and time. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-log.h"
#include "http.h"
#include "macro.h"

#define ACCEPTS_PER_WAKEUP 16

typedef struct http_conn {
        http_server *server;
        struct http_conn *prev, *next;
        int fd;
        sd_event_source *io, *timer; /* the timer: the whole exchange's deadline */
        char *in;                    /* max_request + 1 bytes */
        size_t in_len;
        char *out; /* the response, once there is one */
        size_t out_len, out_off;
} http_conn;

struct http_server {
        sd_event *event;
        http_options opt;
        http_render_t render;
        void *userdata;
        int listen_fd;
        sd_event_source *listen_source;
        http_conn *conns;
        unsigned n_conns;
        daemon_log_limit refusals;
};

static int http_refusal(http_server *h, const char *reason, const char *fmt, ...) _printf_(3, 4);
static int http_refusal(http_server *h, const char *reason, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = daemon_log_limitedv(&h->refusals, reason, LOG_NOTICE, fmt, ap);
        va_end(ap);
        return r;
}

static http_conn *http_conn_free(http_conn *c) {
        http_server *h;

        if (!c)
                return NULL;
        h = c->server;
        *(c->prev ? &c->prev->next : &h->conns) = c->next;
        if (c->next)
                c->next->prev = c->prev;
        h->n_conns--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
        return NULL;
}

static const char *status_text(int code) {
        switch (code) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 431:
                return "Request Header Fields Too Large";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return "Internal Server Error";
        }
}

/* Headers, then the body (not for HEAD); every connection closes after its one response. */
static int http_conn_respond(http_conn *c, int code, const char *type, const char *body, size_t size,
                             bool head) {
        FILE *f = open_memstream(&c->out, &c->out_len);

        if (!f)
                return -ENOMEM;
        fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n",
                code, status_text(code), type, size);
        if (code == 405)
                fputs("Allow: GET, HEAD\r\n", f);
        fputs("\r\n", f);
        if (!head && size > 0)
                fwrite(body, 1, size, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        c->out_off = 0;
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int http_conn_error(http_conn *c, int code) {
        char body[64];
        int n = snprintf(body, sizeof(body), "%d %s\n", code, status_text(code));

        return http_conn_respond(c, code, "text/plain; charset=utf-8", body, (size_t) n, false);
}

/* The value of a header, NUL-terminated in place, or NULL. */
static const char *header_value(char *headers, const char *name) {
        size_t n = strlen(name);

        for (char *line = headers; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                char *end = strchr(line, '\n'), *v;
                if (strncasecmp(line, name, n) != 0 || line[n] != ':')
                        continue;
                v = line + n + 1;
                v += strspn(v, " \t");
                if (end) {
                        *end = '\0';
                        if (end > v && end[-1] == '\r')
                                end[-1] = '\0';
                }
                return v;
        }
        return NULL;
}

int http_parse_request(char *buf, size_t len, const char **ret_accept, bool *ret_head) {
        char *eol = memchr(buf, '\n', len), *sp1, *sp2, *target;
        size_t tlen;

        *ret_accept = NULL;
        *ret_head = false;
        if (!eol || memchr(buf, '\0', len))
                return 400;
        *eol = '\0';
        if (eol > buf && eol[-1] == '\r')
                eol[-1] = '\0';
        sp1 = strchr(buf, ' ');
        sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
                return 400;
        *sp1 = *sp2 = '\0';
        if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
                return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
        target = sp1 + 1;
        tlen = strcspn(target, "?");
        if (tlen != strlen("/metrics") || strncmp(target, "/metrics", tlen) != 0)
                return target[0] == '/' || target[0] == '*' ? 404 : 400;
        *ret_head = strcmp(buf, "HEAD") == 0;
        if (strcmp(buf, "GET") != 0 && !*ret_head)
                return 405;
        *ret_accept = header_value(eol + 1, "Accept");
        return 200;
}

/* The headers are in: the response is made. */
static int http_conn_handle(http_conn *c) {
        http_server *h = c->server;
        const char *accept, *type = NULL;
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        bool head;
        int code = http_parse_request(c->in, c->in_len, &accept, &head);

        if (code != 200)
                return http_conn_error(c, code);
        if (h->render(accept, &body, &size, &type, h->userdata) < 0)
                return http_conn_error(c, 500);
        return http_conn_respond(c, 200, type, body, size, head);
}

static bool headers_complete(const http_conn *c) {
        return memmem(c->in, c->in_len, "\r\n\r\n", 4) || memmem(c->in, c->in_len, "\n\n", 2);
}

static void http_conn_read(http_conn *c) {
        http_server *h = c->server;
        ssize_t n = read(c->fd, c->in + c->in_len, h->opt.max_request - c->in_len);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) { /* gone before its request was whole */
                http_conn_free(c);
                return;
        }
        c->in_len += (size_t) n;
        c->in[c->in_len] = '\0';
        if (headers_complete(c)) {
                if (http_conn_handle(c) < 0)
                        http_conn_free(c);
        } else if (c->in_len >= h->opt.max_request) {
                (void) http_refusal(h, "requests too large", "metrics: request over %zu bytes refused",
                                    h->opt.max_request);
                if (http_conn_error(c, 431) < 0)
                        http_conn_free(c);
        }
}

static void http_conn_write(http_conn *c) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                http_conn_free(c);
                return;
        }
        c->out_off += (size_t) n;
        if (c->out_off == c->out_len) {
                (void) shutdown(c->fd, SHUT_WR);
                http_conn_free(c);
        }
}

static int http_conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        http_conn *c = userdata;

        if (c->out)
                http_conn_write(c);
        else if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                http_conn_read(c);
        return 0;
}

static int http_conn_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        http_conn *c = userdata;

        (void) http_refusal(c->server, "slow clients dropped",
                            "metrics: a client took over %llu ms: dropped",
                            (unsigned long long) (c->server->opt.request_timeout_usec / 1000));
        http_conn_free(c);
        return 0;
}

static void http_server_add(http_server *h, int fd) {
        http_conn *c = calloc(1, sizeof(*c));
        int r;

        if (!c || !(c->in = malloc(h->opt.max_request + 1))) {
                free(c);
                safe_close(fd);
                return;
        }
        c->server = h;
        c->fd = fd;
        c->next = h->conns;
        if (h->conns)
                h->conns->prev = c;
        h->conns = c;
        h->n_conns++;
        r = sd_event_add_io(h->event, &c->io, fd, EPOLLIN, http_conn_on_io, c);
        if (r >= 0 && h->opt.request_timeout_usec > 0)
                r = sd_event_add_time_relative(h->event, &c->timer, CLOCK_MONOTONIC,
                                               h->opt.request_timeout_usec, 0, http_conn_on_timer, c);
        if (r < 0)
                http_conn_free(c);
}

/* Full: the connection that has waited longest for its request makes room. A scraper sends its
 * request at once, so clients that hold connections open without one cannot keep it out. */
static bool http_server_evict(http_server *h) {
        http_conn *oldest = NULL;

        for (http_conn *c = h->conns; c; c = c->next) /* newest first */
                if (!c->out)
                        oldest = c;
        if (!oldest)
                return false;
        (void) http_refusal(h, "connections over the limit",
                            "metrics: over %u connections: the longest waiting for its request closed",
                            h->opt.max_connections);
        http_conn_free(oldest);
        return true;
}

static int http_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        http_server *h = userdata;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        break;
                if (h->n_conns >= h->opt.max_connections && !http_server_evict(h)) {
                        (void) http_refusal(h, "connections over the limit",
                                            "metrics: over %u connections, all answered: one closed",
                                            h->opt.max_connections);
                        safe_close(cfd);
                        continue;
                }
                http_server_add(h, cfd);
        }
        return 0;
}

int http_server_new(sd_event *e, const http_options *opt, int listen_fd, http_render_t render,
                    void *userdata, http_server **ret) {
        http_server *h = calloc(1, sizeof(*h));
        int r;

        if (!h) {
                safe_close(listen_fd);
                return -ENOMEM;
        }
        *h = (http_server){
                .event = e, .opt = *opt, .render = render, .userdata = userdata, .listen_fd = listen_fd
        };
        daemon_log_limit_init(&h->refusals, e, 10, 10 * 1000000ULL, "metrics refusals");
        r = sd_event_add_io(e, &h->listen_source, listen_fd, EPOLLIN, http_on_accept, h);
        if (r < 0) {
                http_server_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

http_server *http_server_free(http_server *h) {
        if (!h)
                return NULL;
        while (h->conns)
                http_conn_free(h->conns);
        sd_event_source_disable_unref(h->listen_source);
        safe_close(h->listen_fd);
        daemon_log_limit_done(&h->refusals);
        free(h);
        return NULL;
}

unsigned http_server_count_connections(http_server *h) {
        return h ? h->n_conns : 0;
}

static bool address_is_loopback(const struct sockaddr_storage *sa) {
        if (sa->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* "127.0.0.1:9464" or "[::1]:9464" as a socket address. */
static int address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *colon = strrchr(s, ':'), *h = s;
        size_t hlen;
        char *end;
        unsigned long port;

        if (!colon)
                return -EINVAL;
        hlen = (size_t) (colon - s);
        if (s[0] == '[') {
                if (hlen < 2 || s[hlen - 1] != ']')
                        return -EINVAL;
                h = s + 1;
                hlen -= 2;
        }
        if (hlen == 0 || hlen >= sizeof(host))
                return -EINVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || errno != 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
                return -EINVAL;
        *ret = (struct sockaddr_storage){};
        if (s[0] != '[' && inet_pton(AF_INET, host, &((struct sockaddr_in *) ret)->sin_addr) == 1) {
                ((struct sockaddr_in *) ret)->sin_family = AF_INET;
                ((struct sockaddr_in *) ret)->sin_port = htons((uint16_t) port);
                *ret_len = sizeof(struct sockaddr_in);
                return 0;
        }
        if (s[0] == '[' && inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) ret)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *) ret)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *) ret)->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof(struct sockaddr_in6);
                return 0;
        }
        return -EINVAL;
}

int http_listen(const char *address, bool allow_remote, char **ret_problem) {
        struct sockaddr_storage sa;
        socklen_t len;
        int fd, one = 1;

        *ret_problem = NULL;
        if (address_parse(address, &sa, &len) < 0) {
                *ret_problem =
                        strdup("expected a numeric ADDRESS:PORT such as 127.0.0.1:9464 or [::1]:9464");
                return -EINVAL;
        }
        if (!allow_remote && !address_is_loopback(&sa)) {
                *ret_problem = strdup("not a loopback address: other hosts could read the metrics (say "
                                      "--metrics-allow-remote to mean it)");
                return -EPERM;
        }
        fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &sa, len) < 0 || listen(fd, 64) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return fd;
}
