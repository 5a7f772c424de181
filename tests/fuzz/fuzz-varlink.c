/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-varlink.c: bytes from a client through corrald's whole request path: framing, JSON, method
 * and parameter checks, permissions, replies (with a registry that starts nothing). */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-log.h"
#include "methods.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sd_event *e;

static server *fuzz_server(void) {
        static server *s;
        server_options opt = { .max_connections = 4,
                               .max_unprivileged = 4,
                               .max_per_uid = 4,
                               .max_message = 4096,
                               .max_output = 65536,
                               .max_total_output = 4 * 65536,
                               .allow_gid = (gid_t) -1 };

        static methods m = {}; /* no policy: any Start goes to the stub */

        if (!s && (sd_event_new(&e) < 0 || server_new(e, &opt, -1, methods_dispatch, &m, &s) < 0))
                abort();
        daemon_log_set_max_priority(-1); /* "closing client: malformed message", a million times */
        return s;
}

/* Run the loop until nothing is pending, reading and dropping whatever the server replied. */
static void pump(server *s, int client) {
        char buf[65536];

        for (int i = 0; i < 100000; i++) {
                while (client >= 0 && read(client, buf, sizeof(buf)) > 0)
                        ;
                if (sd_event_run(e, 0) <= 0)
                        return;
        }
        abort(); /* the server never went idle */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        server *s = fuzz_server();
        size_t off = 0;
        int fds[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
                abort();
        server_add_connection(s, fds[0]);
        while (off < size) {
                ssize_t n = write(fds[1], data + off, size - off);
                if (n < 0 && errno != EAGAIN)
                        break; /* the server closed it: too large, malformed */
                off += n > 0 ? (size_t) n : 0;
                pump(s, fds[1]);
        }
        (void) shutdown(fds[1], SHUT_WR);
        pump(s, fds[1]);
        close(fds[1]);
        pump(s, -1);
        if (server_count_connections(s) != 0)
                abort(); /* a connection outlived its client */
        return 0;
}
