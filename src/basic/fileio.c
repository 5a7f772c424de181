/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fileio.c: whole small files read and written through a directory fd, and clock helpers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        int src = dirfd;

        if (size == 0)
                return -EINVAL;
        if (path) {
                fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return negative_errno();
                src = fd;
        }
        n = pread(src, buf, size - 1, 0);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return n;
}

int write_string_at(int dirfd, const char *path, const char *s) {
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        size_t len = strlen(s);
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        n = write(fd, s, len);
        if (n < 0)
                return negative_errno();
        return (size_t) n == len ? 0 : -EIO;
}

int keyed_file_get(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                char *end;
                unsigned long long v;

                if (strncmp(l, key, klen) != 0 || l[klen] != ' ')
                        continue;
                errno = 0;
                v = strtoull(l + klen + 1, &end, 10);
                if (errno != 0 || end == l + klen + 1 || (*end != '\n' && *end != '\0'))
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        return -ENOENT;
}

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}
