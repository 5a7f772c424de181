/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket-file.c: corrald's control socket on disk: made where no other user can swap it, removed at a clean
 * exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-log.h"
#include "macro.h"
#include "safepath.h"
#include "socket-file.h"
#include "syscall.h"

/* Is something listening at that path? Then it is another daemon's, and stays. Unless the process
 * that listened is gone: a child a killed corrald was starting holds a copy of its socket until
 * it execs, and the kernel still queues connections to it (SO_PEERCRED names who called listen()). */
static bool socket_is_live(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int pidfd;

        if (fd < 0 || connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0)
                return false;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
                return true;
        pidfd = syscall_pidfd_open(cred.pid); /* a recycled pid says live: the safe side */
        if (pidfd == -ESRCH)
                return false;
        safe_close(pidfd);
        return true;
}

/* The socket's directory, checked; *ret_base is the socket's name in it (points into address). */
static int socket_file_dir(const char *address, const char **ret_base) {
        _cleanup_free_ char *dir = NULL, *problem = NULL;
        const char *slash = strrchr(address, '/');
        int fd;

        if (address[0] != '/' || !slash || slash[1] == '\0')
                return -EINVAL;
        dir = slash == address ? strdup("/") : strndup(address, (size_t) (slash - address));
        if (!dir)
                return -ENOMEM;
        fd = safepath_open_dir(dir, 0755, &problem);
        if (fd < 0 && problem)
                daemon_log(LOG_ERR, "cannot listen on %s: %s (another user could replace the socket)",
                           address, problem);
        *ret_base = slash + 1;
        return fd;
}

/* Nothing there, or a socket nobody listens on any more (removed). */
static int socket_file_clear(int dirfd, const char *base, const struct sockaddr_un *sa) {
        struct stat st;

        if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        if (socket_is_live(sa))
                return -EADDRINUSE;
        return unlinkat(dirfd, base, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
}

static int socket_file_bind(int fd, int dirfd, const char *base, const struct sockaddr_un *sa, mode_t mode,
                            gid_t gid, socket_file *ret) {
        mode_t old = umask(~mode & 0777); /* the mode it is made with: no chmod by path after */
        struct stat st;
        int r = bind(fd, (const struct sockaddr *) sa, sizeof(*sa));

        (void) umask(old);
        if (r < 0)
                return negative_errno();
        if (gid != (gid_t) -1 && fchownat(dirfd, base, (uid_t) -1, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        ret->dev = st.st_dev;
        ret->ino = st.st_ino;
        return 0;
}

int socket_file_listen(const char *address, mode_t mode, gid_t gid, socket_file *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int dirfd = -EBADF, fd = -EBADF;
        socket_file f = {};
        const char *base;
        int r;

        if (strlen(address) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, address);
        dirfd = socket_file_dir(address, &base);
        if (dirfd < 0)
                return dirfd;
        r = socket_file_clear(dirfd, base, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        r = socket_file_bind(fd, dirfd, base, &sa, mode, gid, &f);
        if (r >= 0 && listen(fd, SOMAXCONN) < 0)
                r = negative_errno();
        if (r >= 0 && !(f.path = strdup(address)))
                r = -ENOMEM;
        if (r < 0) {
                (void) unlinkat(dirfd, base, 0);
                return r;
        }
        *ret = f;
        return TAKE_FD(fd);
}

void socket_file_remove(socket_file *f) {
        struct stat st;

        if (f->path && lstat(f->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == f->dev &&
            st.st_ino == f->ino)
                (void) unlink(f->path); /* its directory is ours alone: no one swapped it meanwhile */
        f->path = mfree(f->path);
}
