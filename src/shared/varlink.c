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
        const char *nul = memrchr(c->in, '\0', c->in_len);
        return nul ? c->in_len - (size_t) (nul - c->in) - 1 : c->in_len;
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
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 1;
}

int varlink_conn_queue(varlink_conn *c, json_t *msg) {
        char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
        size_t len;
        int r;

        if (!s)
                return -ENOMEM;
        len = strlen(s) + 1; /* with the NUL that ends it */
        if (c->out_len - c->out_off + len > c->max_out) {
                free(s);
                return -ENOBUFS;
        }
        if (c->out_off == c->out_len) /* all sent: start the buffer afresh */
                c->out_off = c->out_len = 0;
        r = grow(&c->out, &c->out_cap, c->out_len + len);
        if (r >= 0) {
                memcpy(c->out + c->out_len, s, len);
                c->out_len += len;
        }
        free(s);
        return r;
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
