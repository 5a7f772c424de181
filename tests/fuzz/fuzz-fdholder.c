/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-fdholder.c: messages to corrald's fd holder, as any process of corrald's user could send
 * them: bytes and fds (SCM_RIGHTS) on a SOCK_SEQPACKET socket, into the holder's own handling of
 * one message (fdholder_serve_one()), in process, against a model of what it should hold.
 *
 * The input is a series of messages, each a header byte (its low 3 bits: how many fds go with
 * it, each the read end of a pipe of its own), a length byte and that many bytes. A message
 * that ends a conversation (a hang-up, an empty or too long message) is followed by a new
 * connection to the same holder, as the next corrald would make; "X" ends it all. Checked after
 * each message: the holder holds exactly the names the model does, each with the fd that came
 * with its last "K" (by inode), each name NUL-terminated; it answered nothing but an "L", and
 * an "L" with one "E<name>" and its fd for each name held, then "Z". At the end, with what it
 * held closed, no fd of ours is left open that was not before. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdholder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 64
#define MAX_FDS      7

typedef struct model_entry {
        char name[FDHOLDER_NAME_MAX];
        dev_t dev;
        ino_t ino;
} model_entry;

typedef struct model {
        model_entry e[MAX_MESSAGES];
        size_t n;
} model;

#define check(cond, ...)                                                                                    \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "fuzz-fdholder: " __VA_ARGS__);                                     \
                        fputc('\n', stderr);                                                                \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        check(d, "cannot open /proc/self/fd");
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void model_keep(model *m, const char *name, const struct stat *st) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->e[i].name, name) == 0) {
                        m->e[i].dev = st->st_dev;
                        m->e[i].ino = st->st_ino;
                        return;
                }
        check(m->n < MAX_MESSAGES, "more names than messages");
        snprintf(m->e[m->n].name, sizeof(m->e[m->n].name), "%s", name);
        m->e[m->n].dev = st->st_dev;
        m->e[m->n++].ino = st->st_ino;
}

static void model_drop(model *m, const char *prefix) {
        for (size_t i = 0; i < m->n;)
                if (strncmp(m->e[i].name, prefix, strlen(prefix)) == 0)
                        m->e[i] = m->e[--m->n];
                else
                        i++;
}

static const model_entry *model_find(const model *m, const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->e[i].name, name) == 0)
                        return &m->e[i];
        return NULL;
}

static bool same_file(int fd, const model_entry *e) {
        struct stat st;

        return fstat(fd, &st) == 0 && st.st_dev == e->dev && st.st_ino == e->ino;
}

/* The store holds what the model does, no more, no less, and nothing odd. */
static void check_store(const fdholder_store *s, const model *m) {
        check(s->n == m->n, "holds %zu fds, %zu were asked for", s->n, m->n);
        check(s->n <= s->cap, "holds %zu in room for %zu", s->n, s->cap);
        for (size_t i = 0; i < s->n; i++) {
                check(memchr(s->v[i].name, '\0', sizeof(s->v[i].name)), "a name without its NUL");
                const model_entry *e = model_find(m, s->v[i].name);
                check(e, "holds '%s', which nobody asked it to", s->v[i].name);
                check(same_file(s->v[i].fd, e), "holds '%s' with another fd than the one sent", e->name);
                for (size_t k = 0; k < i; k++)
                        check(strcmp(s->v[k].name, s->v[i].name) != 0, "holds '%s' twice", e->name);
        }
}

/* One message as the holder answers it: its type, its name and its fds (all closed but the
 * first, which is returned). -1 if there is none to read. */
static int read_reply(int c, char *ret_type, char name[FDHOLDER_NAME_MAX + 8], int *ret_fd, int *ret_nfds) {
        char buf[FDHOLDER_NAME_MAX + 8], cbuf[CMSG_SPACE(sizeof(int) * 8)];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
        };
        ssize_t n = recvmsg(c, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        *ret_fd = -1;
        *ret_nfds = 0;
        if (n < 0) {
                check(errno == EAGAIN, "reading the holder's answer: %s", strerror(errno));
                return -1;
        }
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                for (size_t i = 0;
                     cm->cmsg_type == SCM_RIGHTS && i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                     i++, (*ret_nfds)++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (*ret_fd < 0)
                                *ret_fd = fd;
                        else
                                close(fd);
                }
        check(n >= 1 && (size_t) n <= FDHOLDER_NAME_MAX, "an answer of %zd bytes", n);
        check(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)), "a truncated answer");
        *ret_type = buf[0];
        memcpy(name, buf + 1, (size_t) n - 1);
        name[n - 1] = '\0';
        return 0;
}

/* After an "L": an "E<name>" with its fd for each name held, each once, then "Z"; after
 * anything else: nothing. */
static void check_answers(int c, const model *m, bool listed) {
        bool seen[MAX_MESSAGES] = { false };
        char type = 0, name[FDHOLDER_NAME_MAX + 8] = "";
        size_t n = 0;
        int fd, nfds;

        while (listed && read_reply(c, &type, name, &fd, &nfds) == 0 && type == 'E') {
                const model_entry *e = model_find(m, name);
                check(nfds == 1, "'E%s' came with %d fds", name, nfds);
                check(e, "listed '%s', which it should not hold", name);
                check(!seen[e - m->e], "listed '%s' twice", name);
                check(same_file(fd, e), "listed '%s' with another fd", name);
                seen[e - m->e] = true;
                n++;
                close(fd);
        }
        if (listed) {
                check(type == 'Z' && nfds == 0 && name[0] == '\0', "the list did not end with Z");
                check(n == m->n, "listed %zu of %zu", n, m->n);
        }
        check(read_reply(c, &type, name, &fd, &nfds) < 0, "an answer nobody asked for ('%c')", type);
}

/* Send one message with nfds fresh fds (the read ends of pipes); their (dev, ino) in st. */
static void send_message(int c, const uint8_t *p, size_t len, int nfds, struct stat st[MAX_FDS]) {
        int fds[MAX_FDS], pipefd[2];
        char cbuf[CMSG_SPACE(sizeof(fds))] = { 0 };
        struct iovec iov = { .iov_base = (void *) p, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        for (int i = 0; i < nfds; i++) {
                check(pipe2(pipefd, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
                close(pipefd[1]);
                fds[i] = pipefd[0];
                check(fstat(fds[i], &st[i]) == 0, "fstat");
        }
        if (nfds > 0) {
                mh.msg_control = cbuf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t) nfds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t) nfds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t) nfds);
        }
        check(sendmsg(c, &mh, MSG_NOSIGNAL) == (ssize_t) len, "sendmsg: %s", strerror(errno));
        for (int i = 0; i < nfds; i++) /* in flight: the holder's to keep or close */
                close(fds[i]);
}

/* What the holder must make of the message, in the model; whether the conversation goes on. */
static bool model_apply(model *m, const uint8_t *p, size_t len, int nfds, const struct stat st[MAX_FDS],
                        int r) {
        char name[FDHOLDER_NAME_MAX];

        if (len == 0) {
                check(r == 0, "an empty message is a hang-up, got %d", r);
                return false;
        }
        if (len > FDHOLDER_NAME_MAX) {
                check(r == -EBADMSG, "a message of %zu bytes was taken (%d)", len, r);
                return false;
        }
        memcpy(name, p + 1, len - 1);
        name[len - 1] = '\0'; /* an inner NUL ends it */
        if (p[0] == 'K' && nfds > 0 && name[0])
                model_keep(m, name, &st[0]);
        else if (p[0] == 'D' && name[0])
                model_drop(m, name);
        check(r == (p[0] == 'X' ? FDHOLDER_END : FDHOLDER_SERVED), "'%c' answered %d", p[0], r);
        return true;
}

static void connect_pair(int pair[2]) {
        check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0, "socketpair: %s",
              strerror(errno));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fdholder_store s = { 0 };
        model m = { .n = 0 };
        int before = count_fds(), pair[2]; /* pair[0] corrald's end, pair[1] the holder's */
        size_t off = 0;

        connect_pair(pair);
        for (int k = 0; k < MAX_MESSAGES && off + 2 <= size; k++) {
                int nfds = data[off] & MAX_FDS;
                size_t len = data[off + 1];
                const uint8_t *p = data + off + 2;
                struct stat st[MAX_FDS];

                if (len > size - off - 2)
                        len = size - off - 2;
                off += 2 + len;
                send_message(pair[0], p, len, nfds, st);
                int r = fdholder_serve_one(&s, pair[1]);
                bool goes_on = model_apply(&m, p, len, nfds, st, r);
                check_store(&s, &m);
                check_answers(pair[0], &m, goes_on && p[0] == 'L');
                if (r == FDHOLDER_END)
                        break;
                if (!goes_on) { /* the holder closes it; the next corrald connects */
                        close(pair[0]);
                        close(pair[1]);
                        connect_pair(pair);
                }
        }
        close(pair[0]);
        close(pair[1]);
        fdholder_store_done(&s);
        check(s.n == 0 && !s.v, "the store is not empty after fdholder_store_done()");
        check(count_fds() == before, "%d fds open, %d before: the holder leaked", count_fds(), before);
        return 0;
}
