/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* varlink.c: the varlink wire format: JSON objects ended by NUL on a stream socket, buffered both ways. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "varlink.h"

#define READ_CHUNK 16384
#define IN_KEEP    (2 * READ_CHUNK) /* an emptied input buffer larger than this is freed */

void varlink_conn_init(varlink_conn *c, int fd, size_t max_in, size_t max_out) {
        *c = (varlink_conn){ .fd = fd, .max_in = max_in ?: SIZE_MAX, .max_out = max_out ?: SIZE_MAX };
}

void varlink_conn_done(varlink_conn *c) {
        c->fd = safe_close(c->fd);
        free(c->in);
        free(c->out);
        c->in = c->out = NULL;
        c->in_len = c->in_cap = c->out_len = c->out_off = c->out_cap = 0;
}

static int grow(char **buf, size_t *cap, size_t need) {
        size_t n = *cap ?: 4096;
        char *b;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        b = realloc(*buf, n);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *cap = n;
        return 0;
}

/* The unterminated tail of the input, which is what max_in limits. */
static size_t unterminated(const varlink_conn *c) {
        const char *nul = c->in_len ? memrchr(c->in, '\0', c->in_len) : NULL;
        return nul ? c->in_len - (size_t) (nul - c->in) - 1 : c->in_len;
}

size_t varlink_conn_partial(const varlink_conn *c) {
        return unterminated(c);
}

bool varlink_conn_has_message(const varlink_conn *c) {
        return c->in_len && memchr(c->in, '\0', c->in_len);
}

int varlink_conn_read(varlink_conn *c) {
        ssize_t n;
        int r = grow(&c->in, &c->in_cap, c->in_len + READ_CHUNK);

        if (r < 0)
                return r;
        n = read(c->fd, c->in + c->in_len, READ_CHUNK);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : negative_errno();
        c->in_len += (size_t) n;
        if (unterminated(c) > c->max_in)
                return -EMSGSIZE;
        return (int) n;
}

int varlink_conn_next(varlink_conn *c, json_t **ret) {
        char *nul = c->in_len ? memchr(c->in, '\0', c->in_len) : NULL;
        size_t len;
        json_t *j;

        if (!nul)
                return 0;
        len = (size_t) (nul - c->in);
        j = json_loadb(c->in, len, JSON_REJECT_DUPLICATES, NULL);
        memmove(c->in, nul + 1, c->in_len - len - 1);
        c->in_len -= len + 1;
        if (c->in_len == 0 && c->in_cap > IN_KEEP) { /* a large message is done: give its room back */
                c->in = mfree(c->in);
                c->in_cap = 0;
        }
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 1;
}

/* The capacity the output buffer needs for need bytes: doubled as it grows, for amortized
 * appends, but never beyond max_out (or need), so that one client holds at most that much. */
static size_t out_capacity(const varlink_conn *c, size_t need) {
        size_t n = c->out_cap ?: 4096;

        if (need <= c->out_cap)
                return c->out_cap;
        while (n < need)
                n *= 2;
        if (c->max_out != SIZE_MAX && n > c->max_out)
                n = c->max_out;
        return n < need ? need : n;
}

size_t varlink_conn_out_growth(const varlink_conn *c, size_t len) {
        size_t pending = c->out_len - c->out_off;

        return out_capacity(c, pending + len) - c->out_cap;
}

int varlink_conn_queue_bytes(varlink_conn *c, const char *data, size_t len) {
        size_t pending = c->out_len - c->out_off, cap;
        char *b;

        if (pending + len > c->max_out)
                return -ENOBUFS;
        /* What was sent goes first: a reader that never quite catches up must not grow the buffer
         * without end. */
        if (c->out_off > 0 && c->out_len + len > c->out_cap) {
                memmove(c->out, c->out + c->out_off, pending);
                c->out_off = 0;
                c->out_len = pending;
        }
        cap = out_capacity(c, c->out_len + len);
        if (cap > c->out_cap) {
                b = realloc(c->out, cap);
                if (!b)
                        return -ENOMEM;
                c->out = b;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        return 0;
}

int varlink_conn_queue(varlink_conn *c, json_t *msg) {
        _cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);

        if (!s)
                return -ENOMEM;
        return varlink_conn_queue_bytes(c, s, strlen(s) + 1); /* with the NUL that ends it */
}

int varlink_conn_flush(varlink_conn *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? -EAGAIN : negative_errno();
                c->out_off += (size_t) n;
        }
        c->out_off = c->out_len = 0;
        c->out = mfree(c->out); /* all written: a client that reads holds nothing */
        c->out_cap = 0;
        return 0;
}

static json_t *message_new(const char *key, const char *value, json_t *params, const char *flag) {
        json_t *m = json_object();

        if (!m || (key && json_object_set_new(m, key, json_string(value)) < 0) ||
            json_object_set_new(m, "parameters", params ?: json_object()) < 0 ||
            (flag && json_object_set_new(m, flag, json_true()) < 0)) {
                json_decref(m);
                return NULL;
        }
        return m;
}

json_t *varlink_call_new(const char *method, json_t *params, bool more) {
        return message_new("method", method, params, more ? "more" : NULL);
}

json_t *varlink_reply_new(json_t *params, bool continues) {
        return message_new(NULL, NULL, params, continues ? "continues" : NULL);
}

json_t *varlink_error_new(const char *error, json_t *params) {
        return message_new("error", error, params, NULL);
}

int varlink_connect(const char *address) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(address) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, address);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return fd;
}

static int wait_fd(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };
        int r;

        while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR)
                ;
        return r < 0 ? negative_errno() : 0;
}

int varlink_next_reply(varlink_conn *c, json_t **ret_reply) {
        for (;;) {
                int r = varlink_conn_next(c, ret_reply);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = varlink_conn_read(c);
                if (r == 0)
                        return -ECONNRESET;
                if (r == -EAGAIN)
                        r = wait_fd(c->fd, POLLIN);
                if (r < 0)
                        return r;
        }
}

int varlink_call(varlink_conn *c, const char *method, json_t *params, bool more, json_t **ret_reply) {
        json_t *m = varlink_call_new(method, params, more);
        int r;

        if (!m)
                return -ENOMEM;
        r = varlink_conn_queue(c, m);
        json_decref(m);
        while (r >= 0 && (r = varlink_conn_flush(c)) == -EAGAIN)
                r = wait_fd(c->fd, POLLOUT);
        if (r < 0)
                return r;
        return varlink_next_reply(c, ret_reply);
}
