/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fdholder.c: a process of corrald's own that holds the backends' fds where no systemd fd store
 * does. Messages on a SOCK_SEQPACKET socket: "K<name>" with one fd (hold it), "D<prefix>" (let
 * go), "L" (answered with one "E<name>" and its fd each, then "Z"), "X" (end). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-log.h"
#include "fdholder.h"
#include "macro.h"

#define NAME_MAX_LEN FDHOLDER_NAME_MAX

static int send_one(int sock, char type, const char *name, int fd) {
        char buf[NAME_MAX_LEN + 1], cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
        size_t len = name ? strnlen(name, NAME_MAX_LEN - 1) : 0;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        buf[0] = type;
        if (len)
                memcpy(buf + 1, name, len);
        iov = (struct iovec){ .iov_base = buf, .iov_len = len + 1 };
        if (fd >= 0) {
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                *cm = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)),
                                        .cmsg_level = SOL_SOCKET,
                                        .cmsg_type = SCM_RIGHTS };
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

/* One message: its type, its name (NUL-terminated) and its fd (or -1). 0 at EOF, 1, or -errno. */
static int recv_one(int sock, char *ret_type, char name[NAME_MAX_LEN], int *ret_fd) {
        char buf[NAME_MAX_LEN + 1], cbuf[CMSG_SPACE(sizeof(int) * 4)];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
        };
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

        *ret_fd = -1;
        if (n < 0)
                return negative_errno();
        /* An empty message (which is what EOF looks like, too) may still carry fds. */
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                                if (*ret_fd < 0)
                                        *ret_fd = fd;
                                else
                                        close(fd); /* one fd a message: more is not ours to keep */
                        }
        if (n == 0) {
                *ret_fd = safe_close(*ret_fd);
                return 0;
        }
        if ((size_t) n > NAME_MAX_LEN || (mh.msg_flags & MSG_TRUNC)) {
                *ret_fd = safe_close(*ret_fd);
                return -EBADMSG;
        }
        *ret_type = buf[0];
        memcpy(name, buf + 1, (size_t) n - 1);
        name[n - 1] = '\0';
        return 1;
}

/* --- The holder's side: a loop in a forked copy of corrald, which does nothing else. --- */

static void holder_keep(fdholder_store *s, const char *name, int fd) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i].name, name) == 0) {
                        safe_close(s->v[i].fd);
                        s->v[i].fd = fd;
                        return;
                }
        if (s->n == s->cap) {
                fdholder_held *nv = realloc(s->v, (s->cap ? s->cap * 2 : 64) * sizeof(*s->v));
                if (!nv) {
                        safe_close(fd); /* that backend's output then dies with corrald, as before */
                        return;
                }
                s->v = nv;
                s->cap = s->cap ? s->cap * 2 : 64;
        }
        s->v[s->n] = (fdholder_held){ .fd = fd };
        memcpy(s->v[s->n++].name, name, strlen(name) + 1);
}

static void holder_drop(fdholder_store *s, const char *prefix) {
        size_t len = strlen(prefix);

        for (size_t i = 0; i < s->n;)
                if (strncmp(s->v[i].name, prefix, len) == 0) {
                        safe_close(s->v[i].fd);
                        s->v[i] = s->v[--s->n];
                } else
                        i++;
}

int fdholder_serve_one(fdholder_store *s, int c) {
        char type = 0, name[NAME_MAX_LEN];
        int fd, r = recv_one(c, &type, name, &fd);

        if (r <= 0)
                return r;
        if (type == 'K' && fd >= 0 && name[0]) {
                holder_keep(s, name, fd);
                fd = -1; /* ours now */
        } else if (type == 'D' && name[0])
                holder_drop(s, name);
        else if (type == 'L') {
                for (size_t i = 0; i < s->n; i++)
                        (void) send_one(c, 'E', s->v[i].name, s->v[i].fd);
                (void) send_one(c, 'Z', NULL, -1);
        }
        safe_close(fd);
        return type == 'X' ? FDHOLDER_END : FDHOLDER_SERVED;
}

void fdholder_store_done(fdholder_store *s) {
        for (size_t i = 0; i < s->n; i++)
                safe_close(s->v[i].fd);
        free(s->v);
        *s = (fdholder_store){ 0 };
}

static fdholder_store store;

/* One client's messages until it hangs up; true if it asked us to end. */
static bool holder_serve(int c) {
        for (;;) {
                int r = fdholder_serve_one(&store, c);

                if (r == FDHOLDER_END)
                        return true;
                if (r <= 0)
                        return false; /* corrald went away: what we hold is for the next one */
        }
}

/* Asked to end: nothing left to hold, and no socket left for a next corrald to find. */
static void holder_end(void) __attribute__((noreturn));
static void holder_end(void) {
        struct sockaddr_un sa;
        socklen_t len = sizeof(sa);

        if (getsockname(3, (struct sockaddr *) &sa, &len) == 0 &&
            len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] == '/')
                (void) unlink(sa.sun_path);
        _exit(0);
}

static bool is_pidfd(const fdholder_held *h) {
        size_t len = strlen(h->name);
        return len > 6 && strcmp(h->name + len - 6, ".pidfd") == 0;
}

/* No corrald is connected (the last one crashed): wait for the next one, or for every backend we
 * hold a pidfd of to end; then what we hold is of no use to anyone, and we end too. Each pidfd
 * is watched once (EPOLLONESHOT): an ended one stays readable, and its exit status is kept for
 * the next corrald. */
static void holder_orphaned(void) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX }, evs[64];
        int ep = epoll_create1(EPOLL_CLOEXEC);
        size_t live = 0;

        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 3, &ev) < 0) {
                safe_close(ep);
                return; /* wait for a corrald as before: holding on is the safe side */
        }
        for (size_t i = 0; i < store.n; i++) {
                struct epoll_event pe = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = i };
                if (is_pidfd(&store.v[i]) && epoll_ctl(ep, EPOLL_CTL_ADD, store.v[i].fd, &pe) == 0)
                        live++;
        }
        while (live > 0) {
                int n = epoll_wait(ep, evs, 64, -1);
                for (int i = 0; i < n; i++) {
                        if (evs[i].data.u64 == UINT64_MAX) { /* a corrald connects */
                                safe_close(ep);
                                return;
                        }
                        live--;
                }
        }
        safe_close(ep);
        holder_end();
}

static void holder_main(int listen_fd) __attribute__((noreturn));
static void holder_main(int listen_fd) {
        sigset_t none;

        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        (void) signal(SIGPIPE, SIG_IGN);
        (void) setsid(); /* not in corrald's session: a terminal's signals are not for us */
        (void) prctl(PR_SET_NAME, "corrald-fdhold");
        if (dup2(listen_fd, 3) < 0)
                _exit(1);
        /* Not corrald's stdio either: a log pipe or a terminal must not be held open by us. */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; null >= 0 && fd <= 2; fd++)
                (void) dup2(null, fd);
        (void) close_range(4, ~0U, 0); /* nothing of corrald's: its loop, its sockets, its backends */
        for (;;) {
                struct ucred cred;
                socklen_t len = sizeof(cred);
                int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);

                if (c < 0 && (errno == EINTR || errno == ECONNABORTED))
                        continue;
                if (c < 0) /* no fd or memory left for a corrald to talk to us: no use holding on */
                        holder_end();
                /* Only a corrald of our own user: the socket's directory is corrald's alone, too. */
                if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == getuid() &&
                    holder_serve(c))
                        holder_end();
                close(c);
                holder_orphaned();
        }
}

/* --- corrald's side. --- */

static int fdholder_path(const char *state_dir, struct sockaddr_un *sa, socklen_t *ret_len) {
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        if ((size_t) snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/fdholder.sock", state_dir) >=
            sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1);
        return 0;
}

/* Connected to a holder of our own user only: it is given every backend's pidfd and output. A
 * socket there of anyone else's is refused with -EPERM (the state directory is ours alone, so
 * only a process of ours could have made one). */
static int fdholder_connect(const struct sockaddr_un *sa, socklen_t len) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        struct ucred cred;
        socklen_t cl = sizeof(cred);

        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *) sa, len) < 0)
                return negative_errno();
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
                return negative_errno();
        if (cred.uid != geteuid()) {
                daemon_log(LOG_ERR, "the fd holder at %s runs as uid %u, not as corrald's uid %u: not used",
                           sa->sun_path, (unsigned) cred.uid, (unsigned) geteuid());
                return -EPERM;
        }
        return TAKE_FD(fd);
}

static int fdholder_start(const struct sockaddr_un *sa, socklen_t len) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        pid_t pid;

        if (fd < 0)
                return negative_errno();
        (void) unlink(sa->sun_path); /* a holder that is gone left it */
        if (bind(fd, (const struct sockaddr *) sa, len) < 0 || listen(fd, 4) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        pid = fork(); /* corrald is single-threaded: the copy may run on as it is */
        if (pid == 0)
                holder_main(fd);
        safe_close(fd);
        return pid < 0 ? negative_errno() : 0;
}

int fdholder_open(const char *state_dir) {
        struct sockaddr_un sa;
        socklen_t len;
        int r = fdholder_path(state_dir, &sa, &len), fd;

        if (r < 0)
                return r;
        fd = fdholder_connect(&sa, len);
        if (fd >= 0 || fd == -EPERM)
                return fd; /* the holder of a corrald before us, or an impostor */
        r = fdholder_start(&sa, len);
        return r < 0 ? r : fdholder_connect(&sa, len);
}

int fdholder_keep(int sock, const char *name, int fd) {
        return strlen(name) >= NAME_MAX_LEN - 1 ? -ENAMETOOLONG : send_one(sock, 'K', name, fd);
}

int fdholder_drop(int sock, const char *prefix) {
        return send_one(sock, 'D', prefix, -1);
}

int fdholder_take(int sock, void (*f)(const char *name, int fd, void *userdata), void *userdata) {
        int r = send_one(sock, 'L', NULL, -1), n = 0;

        while (r >= 0) {
                char type = 0, name[NAME_MAX_LEN];
                int fd;
                r = recv_one(sock, &type, name, &fd);
                if (r <= 0)
                        return r < 0 ? r : -ECONNRESET;
                if (type == 'Z')
                        return n;
                if (type == 'E' && fd >= 0) {
                        f(name, fd, userdata);
                        n++;
                } else
                        safe_close(fd);
        }
        return r;
}

void fdholder_exit(int sock) {
        (void) send_one(sock, 'X', NULL, -1);
}
