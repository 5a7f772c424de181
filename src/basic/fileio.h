/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fileio.h: whole small files read and written through a directory fd, and clock helpers. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Read up to size-1 bytes of dirfd/path (or of fd itself at offset 0 when path is NULL) into buf,
 * NUL-terminated. Returns the length or -errno. */
ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t size);

/* Write s to dirfd/path in one write(2). Returns 0 or -errno. */
int write_string_at(int dirfd, const char *path, const char *s);

/* Find "key value" in a flat-keyed file such as cgroup.events or memory.events.
 * Returns 0 and *ret, -ENOENT if the key is missing, -EINVAL if malformed. */
int keyed_file_get(const char *text, const char *key, uint64_t *ret);

/* Now, in microseconds, on the given clock. */
uint64_t now_usec(clockid_t clock);
