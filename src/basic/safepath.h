/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safepath.h: directories and files another user may have tampered with: no symlink followed, owners
 * checked. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Open the directory at the absolute @path as a place to keep our own state (a state directory,
 * a socket's directory): no component may be a symlink, every directory on the way must be owned
 * by root or by us (geteuid()) and not writable by group or others unless it is sticky (/tmp),
 * and the last one must be owned by us and writable by nobody else. With @create_mode, a missing
 * last component is made with that mode (under the umask); 0 makes nothing.
 *
 * Returns an O_RDONLY|O_DIRECTORY|O_CLOEXEC fd, or -errno: -ELOOP (a symlink on the way), -EPERM
 * (an owner or mode that lets another user change it), -ENOTDIR, -ENOENT, ... With @ret_problem,
 * a failure's cause in words, naming the component ("/srv/x is owned by uid 65534, not 0"),
 * malloc'ed (NULL if there is nothing more to say than the errno).
 */
int safepath_open_dir(const char *path, mode_t create_mode, char **ret_problem);

/*
 * Whether the file behind @fd may be believed as ours: a regular file with one link, owned by us
 * and writable by nobody else. 0, or -EPERM with its cause in @ret_problem (malloc'ed).
 */
int safepath_check_own_file(int fd, const char *name, char **ret_problem);

/*
 * The directory of the file at the absolute @path, opened O_PATH following no symlink on the way
 * (openat2 RESOLVE_NO_SYMLINKS, 5.6), with the permissions of the caller's file system
 * credentials (see creds_fs_enter()); *ret_base is the file's name in it (malloc'ed). -EINVAL
 * for a relative path or one that ends in '/', -ELOOP for a symlink on the way, or -errno.
 */
int safepath_open_parent(const char *path, char **ret_base);

/*
 * Open @name in @dirfd with @flags, following no symlink (at its end either), O_NONBLOCK so that a
 * FIFO planted there cannot block us, and accept only a regular file: -EINVAL otherwise, -ELOOP
 * for a symlink. Returns the fd (blocking again unless @flags asked for O_NONBLOCK) or -errno.
 */
int safepath_open_regular_at(int dirfd, const char *name, int flags, mode_t mode);
