/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.c: the varlink control socket: connections, their credentials, limits and replies. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-log.h"
#include "macro.h"
#include "methods.h"
#include "server.h"

static void conn_close(conn *c);
static void conn_process(conn *c);

conn *conn_ref(conn *c) {
        if (c)
                c->n_ref++;
        return c;
}

conn *conn_unref(conn *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        varlink_conn_done(&c->vc);
        free(c->following);
        free(c);
        return NULL;
}

/* Read when idle, write when something waits to go out. */
static void conn_update_events(conn *c) {
        uint32_t ev = c->busy ? 0 : EPOLLIN;

        if (varlink_conn_pending_out(&c->vc))
                ev |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, ev);
}

static void conn_send(conn *c, json_t *msg) {
        int r;

        if (c->closed || !msg || c->oneway) {
                json_decref(msg);
                return;
        }
        r = varlink_conn_queue(&c->vc, msg);
        json_decref(msg);
        if (r == -ENOBUFS) { /* a watcher that does not read: it may not hold us up */
                daemon_log(LOG_WARNING, "dropping client uid=%u pid=%d: %zu bytes of replies unread",
                           (unsigned) c->cred.uid, (int) c->cred.pid, c->server->opt.max_output);
                return conn_close(c);
        }
        r = varlink_conn_flush(&c->vc);
        if (r < 0 && r != -EAGAIN)
                return conn_close(c);
        conn_update_events(c);
}

/* The current call is answered: take the next one, unless we are inside conn_process already. */
static void conn_call_done(conn *c) {
        c->oneway = false;
        if (!c->busy)
                return;
        c->busy = false;
        if (!c->processing)
                conn_process(c);
}

void server_reply(conn *c, json_t *params, bool continues) {
        conn_send(c, varlink_reply_new(params, continues));
        if (!continues)
                conn_call_done(c);
}

void server_error(conn *c, const char *error, json_t *params) {
        conn_send(c, varlink_error_new(error, params));
        conn_call_done(c);
}

void server_invalid_parameter(conn *c, const char *parameter) {
        server_error(c, VARLINK_SERVICE ".InvalidParameter", json_pack("{s:s}", "parameter", parameter));
}

void server_broadcast(server *s, json_t *params) {
        for (conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->watching)
                        conn_send(c, varlink_reply_new(json_incref(params), true));
        }
        json_decref(params);
}

void server_broadcast_output(server *s, const char *name, json_t *params) {
        for (conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->following && strcmp(c->following, name) == 0)
                        conn_send(c, varlink_reply_new(json_incref(params), true));
        }
        json_decref(params);
}

static void conn_close(conn *c) {
        server *s = c->server;

        if (c->closed)
                return;
        c->closed = true;
        c->watching = false;
        c->following = mfree(c->following);
        c->io = sd_event_source_disable_unref(c->io);
        c->vc.fd = safe_close(c->vc.fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        conn_unref(c);
}

/* Take buffered calls one at a time while no call waits for its reply. */
static void conn_process(conn *c) {
        conn_ref(c);
        c->processing = true;
        while (!c->closed && !c->busy) {
                json_t *m = NULL;
                int r = varlink_conn_next(&c->vc, &m);
                if (r == 0)
                        break;
                if (r < 0) { /* not JSON, or not an object: the stream cannot be trusted */
                        daemon_log(LOG_NOTICE, "closing client uid=%u pid=%d: malformed message",
                                   (unsigned) c->cred.uid, (int) c->cred.pid);
                        conn_close(c);
                        break;
                }
                c->busy = true;
                methods_dispatch(c->server, c, m);
                json_decref(m);
        }
        c->processing = false;
        if (!c->closed)
                conn_update_events(c);
        conn_unref(c);
}

static void conn_read(conn *c) {
        int r;

        while ((r = varlink_conn_read(&c->vc)) > 0)
                ;
        if (r == -EMSGSIZE) {
                daemon_log(LOG_WARNING, "closing client uid=%u pid=%d: message larger than %zu bytes",
                           (unsigned) c->cred.uid, (int) c->cred.pid, c->server->opt.max_message);
                conn_send(c,
                          varlink_error_new(
                                  "io.corral.Supervisor.MessageTooLarge",
                                  json_pack("{s:I}", "limit", (json_int_t) c->server->opt.max_message)));
                return conn_close(c);
        }
        conn_process(c);
        if (r == 0 || (r < 0 && r != -EAGAIN)) /* hung up, maybe mid-message: nothing to answer */
                conn_close(c);
}

static int conn_on_io(sd_event_source *s _unused_, int fd _unused_, uint32_t revents, void *userdata) {
        conn *c = conn_ref(userdata);

        if (revents & EPOLLOUT) {
                int r = varlink_conn_flush(&c->vc);
                if (r < 0 && r != -EAGAIN)
                        conn_close(c);
        }
        if (!c->closed && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                conn_read(c);
        if (!c->closed)
                conn_update_events(c);
        conn_unref(c);
        return 0;
}

static bool peer_in_group(int fd, gid_t gid, gid_t primary) {
        gid_t groups[256];
        socklen_t len = sizeof(groups);

        if (gid == (gid_t) -1)
                return false;
        if (primary == gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false;
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

void server_add_connection(server *s, int fd) {
        socklen_t len = sizeof(struct ucred);
        conn *c;

        if (s->n_conns >= s->opt.max_connections) {
                daemon_log(LOG_WARNING, "refusing a connection: %u clients already connected", s->n_conns);
                safe_close(fd);
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                free(c);
                safe_close(fd);
                return;
        }
        c->n_ref = 1;
        c->server = s;
        c->privileged = c->cred.uid == 0 || peer_in_group(fd, s->opt.allow_gid, c->cred.gid);
        varlink_conn_init(&c->vc, fd, s->opt.max_message, s->opt.max_output);
        if (sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_on_io, c) < 0) {
                conn_unref(c);
                return;
        }
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
}

static int server_on_listen(sd_event_source *es _unused_, int fd, uint32_t revents _unused_,
                            void *userdata) {
        server *s = userdata;

        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                daemon_log(LOG_WARNING, "accept failed: %s", strerror(errno));
                        break;
                }
                server_add_connection(s, cfd);
        }
        return 0;
}

int server_new(sd_event *e, registry *reg, const server_options *opt, int listen_fd, server **ret) {
        server *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        *s = (server){ .event = e, .registry = reg, .opt = *opt, .listen_fd = listen_fd };
        if (listen_fd < 0) { /* connections come only through server_add_connection() */
                *ret = s;
                return 0;
        }
        if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
                r = negative_errno();
                server_free(s);
                return r;
        }
        r = sd_event_add_io(e, &s->listen_source, listen_fd, EPOLLIN, server_on_listen, s);
        if (r < 0) {
                server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

server *server_free(server *s) {
        if (!s)
                return NULL;
        while (s->conns)
                conn_close(s->conns);
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        safe_close(s->listen_fd);
        free(s);
        return NULL;
}
