/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safepath.c: directories and files another user may have tampered with: no symlink followed, owners
 * checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "safepath.h"
#include "syscall.h"

static int problem(char **ret, int err, const char *fmt, ...) _printf_(3, 4);
static int problem(char **ret, int err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (ret && vasprintf(ret, fmt, ap) < 0)
                *ret = NULL;
        va_end(ap);
        return err;
}

/* A directory on the way: no other user may rename or replace what is below it. */
static int check_ancestor(const struct stat *st, const char *path, char **ret_problem) {
        uid_t me = geteuid();

        if (st->st_uid != 0 && st->st_uid != me)
                return problem(ret_problem, -EPERM, "%s is owned by uid %u, neither root nor uid %u", path,
                               (unsigned) st->st_uid, (unsigned) me);
        if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX))
                return problem(ret_problem, -EPERM, "%s is writable by group or others (mode %04o)", path,
                               (unsigned) (st->st_mode & 07777));
        return 0;
}

/* The directory itself: ours alone to change. */
static int check_last(const struct stat *st, const char *path, char **ret_problem) {
        uid_t me = geteuid();

        if (st->st_uid != me)
                return problem(ret_problem, -EPERM, "%s is owned by uid %u, not by uid %u", path,
                               (unsigned) st->st_uid, (unsigned) me);
        if (st->st_mode & 022)
                return problem(ret_problem, -EPERM, "%s is writable by group or others (mode %04o)", path,
                               (unsigned) (st->st_mode & 07777));
        return 0;
}

/* One component below parent, not followed if it is a symlink; made if asked and missing. */
static int open_component(int parent, const char *name, bool last, mode_t create_mode, const char *path,
                          char **ret_problem) {
        int flags = (last ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        struct stat st;
        int fd = openat(parent, name, flags);

        if (fd < 0 && errno == ENOENT && last && create_mode != 0) {
                if (mkdirat(parent, name, create_mode) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = openat(parent, name, flags);
        }
        if (fd >= 0)
                return fd;
        if (errno == ENOTDIR && fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return problem(ret_problem, -ELOOP, "%s is a symlink", path);
        return negative_errno();
}

int safepath_open_dir(const char *path, mode_t create_mode, char **ret_problem) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *walked = NULL;
        size_t len, done = 0;
        struct stat st;
        int r;

        if (ret_problem)
                *ret_problem = NULL;
        if (!path || path[0] != '/' || path[strspn(path, "/")] == '\0')
                return -EINVAL; /* relative, or the root directory itself */
        len = strlen(path);
        walked = calloc(len + 2, 1);
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!walked || fd < 0)
                return walked ? negative_errno() : -ENOMEM;
        walked[0] = '/';
        for (const char *p = path;;) {
                size_t n;
                while (*p == '/')
                        p++;
                n = strcspn(p, "/");
                bool last = p[n + strspn(p + n, "/")] == '\0';
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                r = last && n == 0 ? check_last(&st, walked, ret_problem)
                                   : check_ancestor(&st, walked, ret_problem);
                if (r < 0 || n == 0)
                        return r < 0 ? r : TAKE_FD(fd);
                _cleanup_free_ char *name = strndup(p, n);
                if (!name)
                        return -ENOMEM;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        return problem(ret_problem, -EINVAL, "%s: '.' and '..' are not allowed", path);
                (void) snprintf(walked + done, len + 2 - done, "%s%s", done ? "/" : "", name);
                done = strlen(walked);
                int next = open_component(fd, name, last, create_mode, walked, ret_problem);
                if (next < 0)
                        return next;
                safe_close(fd);
                fd = next;
                if (last) {
                        if (fstat(fd, &st) < 0)
                                return negative_errno();
                        r = check_last(&st, walked, ret_problem);
                        return r < 0 ? r : TAKE_FD(fd);
                }
                p += n;
        }
}

int safepath_check_own_file(int fd, const char *name, char **ret_problem) {
        struct stat st;

        if (ret_problem)
                *ret_problem = NULL;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return problem(ret_problem, -EPERM, "%s is not a regular file", name);
        if (st.st_nlink != 1)
                return problem(ret_problem, -EPERM, "%s has %u links (a hard link made by someone else?)",
                               name, (unsigned) st.st_nlink);
        if (st.st_uid != geteuid())
                return problem(ret_problem, -EPERM, "%s is owned by uid %u, not by uid %u", name,
                               (unsigned) st.st_uid, (unsigned) geteuid());
        if (st.st_mode & 022)
                return problem(ret_problem, -EPERM, "%s is writable by group or others (mode %04o)", name,
                               (unsigned) (st.st_mode & 07777));
        return 0;
}

int safepath_open_parent(const char *path, char **ret_base) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = path ? strrchr(path, '/') : NULL;
        int fd;

        if (!path || path[0] != '/' || !slash || slash[1] == '\0' || strcmp(slash + 1, ".") == 0 ||
            strcmp(slash + 1, "..") == 0)
                return -EINVAL;
        dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        fd = syscall_openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, 0,
                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
                return fd;
        *ret_base = strdup(slash + 1);
        if (!*ret_base) {
                safe_close(fd);
                return -ENOMEM;
        }
        return fd;
}

int safepath_open_regular_at(int dirfd, const char *name, int flags, mode_t mode) {
        struct stat st;
        int fd;

        fd = syscall_openat2(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                             (flags & O_CREAT) ? mode : 0,
                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd == -ENXIO) /* a FIFO nobody reads, a device without its driver: not a file either way */
                return -EINVAL;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { /* a FIFO, a device, a directory */
                safe_close(fd);
                return -EINVAL;
        }
        if (!(flags & O_NONBLOCK))
                (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
}
