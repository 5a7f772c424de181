/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.c: the varlink control socket: connections, their credentials, limits and replies. */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-log.h"
#include "hashmap.h"
#include "macro.h"
#include "server.h"
#include "varlink-names.h"
#include "varlink.h"

#define READ_BUDGET        (64 * 1024) /* bytes read from one connection per turn of the loop */
#define CALLS_PER_WAKEUP   16          /* calls taken from one connection per turn of the loop */
#define ACCEPTS_PER_WAKEUP 64          /* connections accepted per turn of the loop */
#define ACCEPT_RETRY_USEC (1000 * 1000ULL) /* out of fds: listening again after at most this */

/* What the summary of suppressed refusals counts each kind as. */
#define R_TOTAL     "connections over --max-connections"
#define R_SHARE     "unprivileged connections over their share"
#define R_PER_UID   "connections of one user over --max-connections-per-user"
#define R_MALFORMED "malformed messages"
#define R_TOO_LARGE "messages too large"
#define R_SLOW      "slow clients dropped"
#define R_REQUEST   "half-sent messages timed out"
#define R_IDLE      "idle connections closed"

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
        size_t out_held;                /* its output buffer, as counted in server->out_held */
        bool privileged;                /* root or in the allowed group */
        bool closed;                    /* hung up or dropped: replies to it go nowhere */
        bool watching;                  /* a Watch() is streaming to it */
        char *following;                /* a Logs() with more is streaming this backend's output to it */
        bool busy;                      /* a call is waiting for its reply */
        bool oneway;                    /* the current call wants no reply */
        bool processing;                /* inside conn_process(): do not re-enter it */
        void (*cancel)(void *userdata); /* the current call waits: told if c closes first */
        void *cancel_userdata;
};

struct server {
        sd_event *event;
        server_options opt;
        server_dispatch_t dispatch;
        void *userdata;
        int listen_fd;
        sd_event_source *listen_source;
        sd_event_source *accept_retry; /* out of fds: when to listen again (off otherwise) */
        bool accept_paused;
        conn *conns;
        unsigned n_conns;
        unsigned n_unprivileged;
        hashmap per_uid; /* uid -> its unprivileged connections */
        size_t out_held; /* the output buffers of all connections */
        daemon_log_limit refusals;
};

static void conn_close(conn *c);
static void conn_process(conn *c, unsigned limit);
static void conn_update(conn *c);
static void server_resume_accepting(server *s);

int server_log_refusal(server *s, const char *reason, int prio, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = daemon_log_limitedv(&s->refusals, reason, prio, fmt, ap);
        va_end(ap);
        return r;
}

static conn *conn_ref(conn *c) {
        if (c)
                c->n_ref++;
        return c;
}

static conn *conn_unref(conn *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        varlink_conn_done(&c->vc);
        free(c->following);
        free(c);
        return NULL;
}

static size_t conn_pending_out(const conn *c) {
        return c->vc.out_len - c->vc.out_off;
}

/* Keep the server's count of output memory in step with c's buffer. */
static void conn_account(conn *c) {
        c->server->out_held = c->server->out_held - c->out_held + c->vc.out_cap;
        c->out_held = c->vc.out_cap;
}

static void conn_flush(conn *c) {
        int r = varlink_conn_flush(&c->vc);

        conn_account(c);
        if (r < 0 && r != -EAGAIN)
                conn_close(c);
}

/* The client to drop to make room for len more bytes for c: the unprivileged one with the most
 * output waiting; only if no unprivileged client holds any, the privileged one with the most. c
 * counts with what it is about to queue, so there always is one. */
static conn *server_pick_victim(server *s, conn *c, size_t len) {
        conn *best = NULL;
        size_t best_n = 0;

        for (conn *x = s->conns; x; x = x->next) {
                size_t n = conn_pending_out(x) + (x == c ? len : 0);
                if (n == 0)
                        continue;
                if (!best || (best->privileged && !x->privileged) ||
                    (best->privileged == x->privileged && n > best_n)) {
                        best = x;
                        best_n = n;
                }
        }
        return best;
}

/* Bound the memory all slow clients hold together: drop clients until c's buffer may grow for
 * len more bytes. Returns false if c itself was dropped. */
static bool server_make_room(server *s, conn *c, size_t len) {
        while (s->opt.max_total_output &&
               s->out_held + varlink_conn_out_growth(&c->vc, len) > s->opt.max_total_output) {
                conn *x = server_pick_victim(s, c, len);
                server_log_refusal(s, R_SLOW, LOG_WARNING,
                                   "dropping client uid=%u pid=%d: %zu bytes of replies unread, %zu held "
                                   "for all clients (limit %zu)",
                                   (unsigned) x->cred.uid, (int) x->cred.pid, conn_pending_out(x),
                                   s->out_held, s->opt.max_total_output);
                conn_close(x);
                if (x == c)
                        return false;
        }
        return true;
}

/* Queue one serialized message for c and write what the socket takes. */
static void conn_queue(conn *c, const char *data, size_t len) {
        server *s = c->server;

        if (c->closed)
                return;
        /* A client that does not read may not hold us up. */
        if (s->opt.max_output && conn_pending_out(c) + len > s->opt.max_output) {
                server_log_refusal(s, R_SLOW, LOG_WARNING,
                                   "dropping client uid=%u pid=%d: %zu bytes of replies unread",
                                   (unsigned) c->cred.uid, (int) c->cred.pid, s->opt.max_output);
                return conn_close(c);
        }
        if (!server_make_room(s, c, len))
                return;
        if (varlink_conn_queue_bytes(&c->vc, data, len) < 0)
                return conn_close(c);
        conn_account(c);
        conn_flush(c);
        conn_update(c);
}

/* A "stderr" anywhere in it? It is the key of a backend's stderr tail in verdicts and events. */
static bool json_has_secret(json_t *j) {
        const char *key;
        json_t *v;
        size_t i;

        if (json_is_array(j))
                json_array_foreach(j, i, v) {
                        if (json_has_secret(v))
                                return true;
                }
        if (json_is_object(j))
                json_object_foreach(j, key, v) {
                        if (strcmp(key, "stderr") == 0 || json_has_secret(v))
                                return true;
                }
        return false;
}

static void json_strip_secrets(json_t *j) {
        const char *key;
        json_t *v;
        size_t i;

        if (json_is_array(j))
                json_array_foreach(j, i, v) {
                        json_strip_secrets(v);
                }
        if (json_is_object(j)) {
                (void) json_object_del(j, "stderr");
                json_object_foreach(j, key, v) {
                        json_strip_secrets(v);
                }
        }
}

/* The message as it goes out to a caller of this privilege, serialized with its ending NUL:
 * output and stderr tails may hold secrets, so only root and the allowed group see stderr. */
static char *message_dump(json_t *msg, bool privileged, size_t *ret_len) {
        json_t *copy = NULL;
        char *data;

        if (!privileged && json_has_secret(msg)) {
                copy = json_deep_copy(msg);
                if (!copy)
                        return NULL;
                json_strip_secrets(copy);
        }
        data = json_dumps(copy ?: msg, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(copy);
        if (data)
                *ret_len = strlen(data) + 1;
        return data;
}

static void conn_send(conn *c, json_t *msg) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        if (c->closed || !msg || c->oneway) {
                json_decref(msg);
                return;
        }
        data = message_dump(msg, c->privileged, &len);
        json_decref(msg);
        if (!data)
                return conn_close(c); /* out of memory: this client cannot be answered */
        conn_queue(c, data, len);
}

/* The current call is answered: the next one is taken on the loop's next turn, not from inside
 * whatever answered this one. */
static void conn_call_done(conn *c) {
        c->oneway = false;
        c->cancel = NULL;
        c->cancel_userdata = NULL;
        if (!c->busy)
                return;
        c->busy = false;
        if (!c->processing)
                conn_update(c);
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
        server_error(c, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", parameter));
}

/* Send msg (taken) to every connection for which wants() is true. It is serialized once for the
 * privileged and once, without secrets, for the others; the connections are held while it goes
 * out, since making room for one may drop another. */
static void server_send_all(server *s, json_t *msg, bool (*wants)(conn *c, const void *arg),
                            const void *arg) {
        _cleanup_free_ conn **to = NULL;
        char *data[2] = {};
        size_t len[2] = {}, n = 0;

        for (conn *c = s->conns; c; c = c->next)
                n += wants(c, arg);
        if (n > 0 && msg)
                to = calloc(n, sizeof(conn *));
        n = 0;
        for (conn *c = s->conns; to && c; c = c->next)
                if (wants(c, arg))
                        to[n++] = conn_ref(c);
        for (size_t i = 0; i < n; i++) {
                conn *c = to[i];
                if (!c->closed && !data[c->privileged])
                        data[c->privileged] = message_dump(msg, c->privileged, &len[c->privileged]);
                if (!c->closed && data[c->privileged])
                        conn_queue(c, data[c->privileged], len[c->privileged]);
                conn_unref(c);
        }
        free(data[0]);
        free(data[1]);
        json_decref(msg);
}

static bool conn_is_watching(conn *c, const void *arg _unused_) {
        return c->watching;
}

static bool conn_is_following(conn *c, const void *name) {
        return c->following && strcmp(c->following, name) == 0;
}

void server_broadcast(server *s, json_t *params) {
        server_send_all(s, varlink_reply_new(params, true), conn_is_watching, NULL);
}

void server_broadcast_output(server *s, const char *name, json_t *params) {
        server_send_all(s, varlink_reply_new(params, true), conn_is_following, name);
}

static unsigned uid_count(server *s, uid_t uid) {
        return (unsigned) (uintptr_t) hashmap_get(&s->per_uid, INT_TO_PTR(uid));
}

/* Count c among the unprivileged connections, in all and of its uid (add is +1 or -1). */
static int server_count_unprivileged(server *s, const conn *c, int add) {
        unsigned n;

        if (c->privileged)
                return 0;
        n = uid_count(s, c->cred.uid) + (unsigned) add;
        if (n == 0)
                (void) hashmap_remove(&s->per_uid, INT_TO_PTR(c->cred.uid));
        else if (hashmap_put(&s->per_uid, INT_TO_PTR(c->cred.uid), (void *) (uintptr_t) n) < 0)
                return -ENOMEM;
        s->n_unprivileged += (unsigned) add;
        return 0;
}

static void conn_close(conn *c) {
        server *s = c->server;

        if (c->closed)
                return;
        c->closed = true;
        if (c->cancel) { /* what its call waits for will not be answered: nobody would read it */
                void (*cancel)(void *userdata) = c->cancel;
                c->cancel = NULL;
                cancel(c->cancel_userdata);
        }
        c->watching = false;
        c->following = mfree(c->following);
        c->io = sd_event_source_disable_unref(c->io);
        c->defer = sd_event_source_disable_unref(c->defer);
        c->timer = sd_event_source_disable_unref(c->timer);
        varlink_conn_done(&c->vc); /* the fd and both buffers: nobody reads or writes them now */
        conn_account(c);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        (void) server_count_unprivileged(s, c, -1);
        conn_unref(c);
        server_resume_accepting(s); /* an fd came free */
}

static int conn_on_timer(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        conn *c = userdata;
        server *s = c->server;

        if (c->wait == CONN_WAIT_REQUEST)
                server_log_refusal(s, R_REQUEST, LOG_NOTICE,
                                   "closing client uid=%u pid=%d: %zu bytes of a message, not ended within "
                                   "%" PRIu64 " ms",
                                   (unsigned) c->cred.uid, (int) c->cred.pid, varlink_conn_partial(&c->vc),
                                   s->opt.request_timeout_usec / 1000);
        else
                server_log_refusal(s, R_IDLE, LOG_INFO,
                                   "closing client uid=%u pid=%d: unprivileged, no call for %" PRIu64 " ms",
                                   (unsigned) c->cred.uid, (int) c->cred.pid,
                                   s->opt.idle_timeout_usec / 1000);
        conn_close(c);
        return 0;
}

/* What c's timer should wait for now. Not while a call is answered: then we do not read. */
static conn_wait conn_wait_now(conn *c) {
        if (c->closed || c->busy)
                return CONN_WAIT_NONE;
        if (varlink_conn_partial(&c->vc) > 0)
                return c->server->opt.request_timeout_usec ? CONN_WAIT_REQUEST : CONN_WAIT_NONE;
        if (varlink_conn_has_message(&c->vc) || c->privileged || c->watching || c->following)
                return CONN_WAIT_NONE;
        return c->server->opt.idle_timeout_usec ? CONN_WAIT_IDLE : CONN_WAIT_NONE;
}

/* A timer from the moment c enters a state that times out, and none otherwise: an idle corrald
 * with idle privileged clients wakes for nothing. */
static void conn_set_wait(conn *c, conn_wait w) {
        server *s = c->server;
        uint64_t usec;
        int r;

        c->wait = w;
        c->timer = sd_event_source_disable_unref(c->timer);
        if (w == CONN_WAIT_NONE)
                return;
        usec = w == CONN_WAIT_REQUEST ? s->opt.request_timeout_usec : s->opt.idle_timeout_usec;
        r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, usec, 0, conn_on_timer, c);
        if (r < 0) /* no timer, no slot held without end */
                conn_close(c);
}

/* Not re-armed while c stays in the same state: a byte a second must not keep a half-sent
 * message alive. */
static void conn_update_timer(conn *c) {
        conn_wait w = conn_wait_now(c);

        if (w != c->wait)
                conn_set_wait(c, w);
}

static int conn_on_defer(sd_event_source *es _unused_, void *userdata) {
        conn_process(userdata, CALLS_PER_WAKEUP);
        return 0;
}

/* Read while no call is answered and no whole message waits (the socket, not our buffer, holds
 * what a client sends ahead); take a waiting message on the loop's next turn, after the other
 * connections had theirs; write while something waits to go out. */
static void conn_update(conn *c) {
        bool waiting = !c->busy && varlink_conn_has_message(&c->vc);
        uint32_t ev = c->busy || waiting ? 0 : EPOLLIN;

        if (c->closed)
                return;
        if (varlink_conn_pending_out(&c->vc))
                ev |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, ev);
        if (waiting && !c->defer && sd_event_add_defer(c->server->event, &c->defer, conn_on_defer, c) < 0)
                return conn_close(c);
        if (waiting)
                (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
        else if (c->defer)
                (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        conn_update_timer(c);
}

/* The envelope's flags are ?bool in the varlink specification: absent and null are false. */
static bool flag(json_t *msg, const char *key, bool *ret) {
        json_t *v = json_object_get(msg, key);

        *ret = json_is_true(v);
        return !v || json_is_null(v) || json_is_boolean(v);
}

/* The first key of the envelope that is not what the specification allows, or NULL. Keys it does
 * not define (vendor extensions) are ignored, as it asks. */
static const char *envelope_check(json_t *msg, bool *ret_more, bool *ret_oneway) {
        json_t *params = json_object_get(msg, "parameters");
        bool upgrade;

        if (!json_is_string(json_object_get(msg, "method")))
                return "method";
        if (!flag(msg, "more", ret_more))
                return "more";
        if (!flag(msg, "oneway", ret_oneway))
                return "oneway";
        if (!flag(msg, "upgrade", &upgrade))
                return "upgrade";
        if (params && !json_is_null(params) && !json_is_object(params))
                return "parameters";
        if (upgrade) /* no method of corrald takes the connection over */
                return "upgrade";
        if (*ret_more && *ret_oneway) /* a reply that may continue, and none at all */
                return "more";
        return NULL;
}

/* The envelope of a call is the protocol's: checked here, the call itself is the dispatcher's.
 * "parameters" absent or null is a call without parameters. */
static void conn_dispatch(conn *c, json_t *msg) {
        const char *name = json_string_value(json_object_get(msg, "method")), *bad;
        json_t *params = json_object_get(msg, "parameters"), *empty = NULL;
        bool more = false, oneway = false;

        bad = envelope_check(msg, &more, &oneway);
        c->oneway = oneway; /* from here on, not even an error is answered to a oneway call */
        if (bad)
                return server_invalid_parameter(c, bad);
        if (!json_is_object(params) && !(params = empty = json_object()))
                return conn_close(c); /* out of memory: this client cannot be answered */
        c->server->dispatch(c, name, params, more, c->server->userdata);
        json_decref(empty);
}

/* Take up to limit buffered calls, one at a time while no call waits for its reply. */
static void conn_process(conn *c, unsigned limit) {
        conn_ref(c);
        c->processing = true;
        for (unsigned n = 0; !c->closed && !c->busy && n < limit; n++) {
                json_t *m = NULL;
                int r = varlink_conn_next(&c->vc, &m);
                if (r == 0)
                        break;
                conn_set_wait(c, CONN_WAIT_NONE); /* a message ended: what follows has its own clock */
                if (r < 0) { /* not JSON, or not an object: the stream cannot be trusted */
                        server_log_refusal(c->server, R_MALFORMED, LOG_NOTICE,
                                           "closing client uid=%u pid=%d: malformed message",
                                           (unsigned) c->cred.uid, (int) c->cred.pid);
                        conn_close(c);
                        break;
                }
                c->busy = true;
                conn_dispatch(c, m);
                json_decref(m);
        }
        c->processing = false;
        conn_update(c);
        conn_unref(c);
}

/* Read at most READ_BUDGET bytes, and stop once a whole message is in; after a hang-up, read to
 * the end (what is left is what the peer wrote before it went). Returns > 0 if the peer may send
 * more, 0 at end of file, -EMSGSIZE, or -errno. */
static int conn_read(conn *c, bool to_end) {
        size_t budget = READ_BUDGET;

        while (to_end || (budget > 0 && !varlink_conn_has_message(&c->vc))) {
                int r = varlink_conn_read(&c->vc);
                if (r == -EAGAIN)
                        return 1;
                if (r <= 0)
                        return r;
                budget -= (size_t) r < budget ? (size_t) r : budget;
        }
        return 1;
}

static void conn_on_readable(conn *c, bool hangup) {
        server *s = c->server;
        int r = conn_read(c, hangup);

        if (r == -EMSGSIZE) {
                server_log_refusal(s, R_TOO_LARGE, LOG_WARNING,
                                   "closing client uid=%u pid=%d: message larger than %zu bytes",
                                   (unsigned) c->cred.uid, (int) c->cred.pid, s->opt.max_message);
                conn_send(c,
                          varlink_error_new(VARLINK_ERROR_MESSAGE_TOO_LARGE,
                                            json_pack("{s:I}", "limit", (json_int_t) s->opt.max_message)));
                return conn_close(c);
        }
        /* Hung up, maybe mid-message: answer what came whole (nobody may read it), then close. */
        conn_process(c, r > 0 ? CALLS_PER_WAKEUP : UINT_MAX);
        if (r <= 0)
                conn_close(c);
}

static int conn_on_io(sd_event_source *s _unused_, int fd _unused_, uint32_t revents, void *userdata) {
        conn *c = conn_ref(userdata);

        if (revents & EPOLLOUT)
                conn_flush(c);
        if (!c->closed && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                conn_on_readable(c, revents & (EPOLLHUP | EPOLLERR));
        conn_update(c);
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

/* Why a new connection is refused, or NULL. The total holds for all; callers neither root nor in
 * the group also have a share of it, so that the rest stays for the privileged, and each uid a
 * part of that share, so that one user cannot take all of it. */
static const char *server_refusal(server *s, const conn *c) {
        if (s->n_conns >= s->opt.max_connections)
                return R_TOTAL;
        if (c->privileged)
                return NULL;
        if (s->n_unprivileged >= s->opt.max_unprivileged)
                return R_SHARE;
        if (uid_count(s, c->cred.uid) >= s->opt.max_per_uid)
                return R_PER_UID;
        return NULL;
}

static int conn_new(server *s, int fd, conn **ret) {
        socklen_t len = sizeof(struct ucred);
        conn *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                int r = negative_errno();
                free(c);
                return r;
        }
        c->n_ref = 1;
        c->server = s;
        c->privileged = c->cred.uid == 0 || c->cred.uid == geteuid() || peer_in_group(fd, s->opt.allow_gid, c->cred.gid);
        varlink_conn_init(&c->vc, fd, s->opt.max_message, s->opt.max_output);
        *ret = c;
        return 0;
}

unsigned server_count_connections(server *s) {
        return s->n_conns;
}

const struct ucred *server_conn_cred(conn *c) {
        return &c->cred;
}

bool server_conn_privileged(conn *c) {
        return c->privileged;
}

server *server_conn_server(conn *c) {
        return c->server;
}

void server_conn_watch(conn *c) {
        c->watching = true;
}

int server_conn_follow(conn *c, const char *name) {
        char *n = strdup(name);

        if (!n)
                return -ENOMEM;
        free(c->following);
        c->following = n;
        return 0;
}

void server_conn_on_close(conn *c, void (*cancel)(void *userdata), void *userdata) {
        c->cancel = cancel;
        c->cancel_userdata = userdata;
}

/* Whether the client hung up with nothing for us to answer: no call under way, nothing read
 * and not yet handled, nothing waiting in the socket. Such a connection holds a slot for nothing
 * until the loop gets to its end. */
static bool conn_abandoned(conn *c) {
        struct pollfd p = { .fd = c->vc.fd, .events = POLLIN | POLLRDHUP };
        int unread = 0;

        if (c->closed || c->busy || c->watching || c->following || varlink_conn_partial(&c->vc) > 0)
                return false;
        if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
                return false;
        return ioctl(c->vc.fd, FIONREAD, &unread) == 0 && unread == 0;
}

/* At a limit: the connections whose clients are gone go first (a burst of short connections,
 * each closed before the loop saw it, must not take the slots of the next client). */
static void server_drop_abandoned(server *s) {
        for (conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (conn_abandoned(c))
                        conn_close(c);
        }
}

void server_add_connection(server *s, int fd) {
        const char *refusal;
        conn *c;

        if (conn_new(s, fd, &c) < 0) {
                safe_close(fd);
                return;
        }
        refusal = server_refusal(s, c);
        if (refusal) {
                server_drop_abandoned(s);
                refusal = server_refusal(s, c);
        }
        if (refusal) {
                server_log_refusal(s, refusal, LOG_WARNING,
                                   "refusing a connection from uid=%u pid=%d: %s (%u clients connected, %u "
                                   "unprivileged)",
                                   (unsigned) c->cred.uid, (int) c->cred.pid, refusal, s->n_conns,
                                   s->n_unprivileged);
                conn_unref(c);
                return;
        }
        if (sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_on_io, c) < 0) {
                conn_unref(c);
                return;
        }
        if (server_count_unprivileged(s, c, +1) < 0) {
                c->io = sd_event_source_disable_unref(c->io);
                conn_unref(c);
                return;
        }
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        conn_update_timer(c); /* an unprivileged client's idle clock starts now */
}

/* Accepting again, after a pause for want of fds. */
static void server_resume_accepting(server *s) {
        if (!s->accept_paused)
                return;
        s->accept_paused = false;
        (void) sd_event_source_set_enabled(s->accept_retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
}

static int server_on_accept_retry(sd_event_source *es _unused_, uint64_t usec _unused_, void *userdata) {
        server_resume_accepting(userdata);
        return 0;
}

/* Out of fds (or of kernel memory): the waiting connection keeps the listening socket readable, so
 * listening on would wake us at once, again and again. Stop listening until a connection closes,
 * or for a second at most, since a backend's fds coming free tell us nothing. The retry's source
 * was made with the server: making one now could need the very fd there is none of. */
static void server_pause_accepting(server *s) {
        if (s->accept_paused)
                return;
        if (sd_event_source_set_time_relative(s->accept_retry, ACCEPT_RETRY_USEC) < 0 ||
            sd_event_source_set_enabled(s->accept_retry, SD_EVENT_ONESHOT) < 0)
                return; /* no retry: keep listening, busy as that is, rather than never again */
        s->accept_paused = true;
        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
}

static int server_on_listen(sd_event_source *es _unused_, int fd, uint32_t revents _unused_,
                            void *userdata) {
        server *s = userdata;

        /* A bounded number per turn: a flood of connections waits in the backlog while the
         * connections already there are served. */
        for (unsigned n = 0; n < ACCEPTS_PER_WAKEUP; n++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                server_log_refusal(s, "failed accepts", LOG_WARNING, "accept failed: %s",
                                                   strerror(errno));
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                server_pause_accepting(s);
                        break;
                }
                server_add_connection(s, cfd);
        }
        return 0;
}

int server_new(sd_event *e, const server_options *opt, int listen_fd, server_dispatch_t dispatch,
               void *userdata, server **ret) {
        server *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        *s = (server){ .event = e,
                       .opt = *opt,
                       .dispatch = dispatch,
                       .userdata = userdata,
                       .listen_fd = listen_fd,
                       .per_uid = HASHMAP_INIT(&hashmap_int_ops) };
        daemon_log_limit_init(&s->refusals, e, opt->log_burst, opt->log_interval_usec, "refusals");
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
        if (r >= 0)
                r = sd_event_add_time_relative(e, &s->accept_retry, CLOCK_MONOTONIC, ACCEPT_RETRY_USEC, 0,
                                               server_on_accept_retry, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->accept_retry, SD_EVENT_OFF);
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
        s->accept_retry = sd_event_source_disable_unref(s->accept_retry);
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        safe_close(s->listen_fd);
        daemon_log_limit_done(&s->refusals); /* what was suppressed is still told */
        hashmap_done(&s->per_uid);
        free(s);
        return NULL;
}
