/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fdstore.c: each backend's pidfd and output pipes kept in systemd's file descriptor store, so a
 * corrald restarted after a crash gets them back (its exit status, its output) from systemd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "daemon-log.h"
#include "fdholder.h"
#include "fdstore.h"
#include "macro.h"
#include "strv.h"

static const char *const kinds[] = { "pidfd", "stdout", "stderr" };
static int holder = -EBADF; /* our own fd holder's socket, where there is one */

bool fdstore_enabled(void) {
        return holder >= 0 || getenv("NOTIFY_SOCKET") != NULL;
}

/* The holder failed us (it was killed?): from now on the fds die with corrald, as without one. */
static void fdstore_holder_lost(int r) {
        daemon_log(LOG_WARNING, "the fd holder is gone (%s): output pipes now end with corrald",
                   strerror(-r));
        holder = safe_close(holder);
}

void fdstore_keep(corral_backend *b) {
        int fds[3], r;
        char msg[256];

        if (!fdstore_enabled())
                return;
        corral_backend_get_fds(b, &fds[0], &fds[1], &fds[2]);
        for (int i = 0; i < 3; i++) {
                if (fds[i] < 0)
                        continue;
                if (holder >= 0) {
                        (void) snprintf(msg, sizeof(msg), "%s.%s.%s", corral_backend_get_name(b),
                                        corral_backend_get_launch(b), kinds[i]);
                        if ((r = fdholder_keep(holder, msg, fds[i])) < 0)
                                fdstore_holder_lost(r);
                        continue;
                }
                (void) snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s.%s.%s", corral_backend_get_name(b),
                                corral_backend_get_launch(b), kinds[i]);
                /* Refused where FileDescriptorStoreMax= is 0: re-adoption then has no exit status
                 * for what ended meanwhile, which is all that is lost. */
                (void) sd_pid_notify_with_fds(0, 0, msg, &fds[i], 1);
        }
}

void fdstore_drop(const char *name, const char *launch) {
        char msg[256];

        if (!fdstore_enabled() || !launch || !*launch)
                return;
        if (holder >= 0) {
                int r;
                (void) snprintf(msg, sizeof(msg), "%s.%s.", name, launch);
                if ((r = fdholder_drop(holder, msg)) < 0)
                        fdstore_holder_lost(r);
                return;
        }
        for (int i = 0; i < 3; i++) {
                (void) snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s.%s.%s", name, launch,
                                kinds[i]);
                (void) sd_notify(0, msg);
        }
}

/* "<leaf>.<kind>" -> leaf and kind, for the names we gave. */
static bool split_name(const char *n, char *leaf, size_t size, const char **ret_kind) {
        const char *dot = strrchr(n, '.');

        if (!dot || (size_t) (dot - n) >= size)
                return false;
        for (int i = 0; i < 3; i++)
                if (strcmp(dot + 1, kinds[i]) == 0) {
                        memcpy(leaf, n, (size_t) (dot - n));
                        leaf[dot - n] = '\0';
                        *ret_kind = kinds[i];
                        return true;
                }
        return false;
}

int fdstore_take(corral *c) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names), listen_fd = -1, sockets = 0;

        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *kind;
                char leaf[128];
                if (names && names[i] && split_name(names[i], leaf, sizeof(leaf), &kind))
                        (void) corral_adopt_give_fd(c, leaf, kind, fd);
                else if (sockets++ == 0)
                        listen_fd = fd;
        }
        strv_free(names);
        if (sockets > 1)
                return daemon_log(LOG_ERR, "expected one socket from systemd, got %d", sockets), -EINVAL;
        return n < 0 ? n : listen_fd;
}

static void give(const char *name, int fd, void *userdata) {
        const char *kind;
        char leaf[128];

        if (split_name(name, leaf, sizeof(leaf), &kind))
                (void) corral_adopt_give_fd(userdata, leaf, kind, fd);
        else
                safe_close(fd);
}

int fdstore_use_holder(corral *c, const char *state_dir) {
        int r;

        holder = fdholder_open(state_dir);
        if (holder < 0)
                return holder;
        r = fdholder_take(holder, give, c);
        if (r < 0)
                holder = safe_close(holder);
        return r;
}

void fdstore_done(bool clean) {
        if (holder >= 0 && clean)
                fdholder_exit(holder);
        holder = safe_close(holder);
}
