/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-varlink.c: bytes from a client through corrald's whole request path: framing, JSON, method
 * and parameter checks, permissions, the registry, replies. Its supervisor is the fake of the
 * registry's unit test: a mutated Start runs nothing, and a Stop ends on the loop's next turn. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-log.h"
#include "fake-supervisor.h"
#include "methods.h"
#include "registry.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A server, a registry and its fake supervisor, made anew for each input: what one input did
 * (a backend started, a stop under way) cannot change what the next one does. */
typedef struct harness {
        sd_event *event;
        fake_supervisor fake;
        registry *registry;
        methods methods;
        server *server;
} harness;

static void watch_event(const corral_event *ev, json_t *json, void *userdata) {
        harness *h = userdata;

        if (json)
                methods_broadcast_event(h->server, json);
}

static void harness_init(harness *h) {
        server_options opt = { .max_connections = 4,
                               .max_unprivileged = 4,
                               .max_per_uid = 4,
                               .max_message = 4096,
                               .max_output = 65536,
                               .max_total_output = 4 * 65536,
                               .allow_gid = (gid_t) -1 };
        registry_observer watch = { .event = watch_event, .userdata = h };

        *h = (harness){};
        fake_init(&h->fake);
        if (sd_event_new(&h->event) < 0)
                abort();
        h->fake.event = h->event;
        if (registry_new(h->event, &fake_ops, &h->fake, &h->registry) < 0 ||
            registry_observe(h->registry, &watch) < 0)
                abort();
        h->methods = (methods){ .registry = h->registry }; /* no policy: any Start goes ahead */
        if (server_new(h->event, &opt, -1, methods_dispatch, &h->methods, &h->server) < 0)
                abort();
}

/* The server first: its connections cancel what they wait for in the registry. */
static void harness_done(harness *h) {
        h->server = server_free(h->server);
        h->registry = registry_free(h->registry);
        fake_done(&h->fake);
        h->event = sd_event_unref(h->event);
}

/* Run the loop until nothing is pending, reading and dropping whatever the server replied. */
static void pump(harness *h, int client) {
        char buf[65536];

        for (int i = 0; i < 100000; i++) {
                while (client >= 0 && read(client, buf, sizeof(buf)) > 0)
                        ;
                if (sd_event_run(h->event, 0) <= 0)
                        return;
        }
        abort(); /* the server never went idle */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        harness h;
        size_t off = 0;
        int fds[2];

        daemon_log_set_max_priority(-1); /* "closing client: malformed message", a million times */
        harness_init(&h);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
                abort();
        server_add_connection(h.server, fds[0]);
        while (off < size) {
                ssize_t n = write(fds[1], data + off, size - off);
                if (n < 0 && errno != EAGAIN)
                        break; /* the server closed it: too large, malformed */
                off += n > 0 ? (size_t) n : 0;
                pump(&h, fds[1]);
        }
        (void) shutdown(fds[1], SHUT_WR);
        pump(&h, fds[1]);
        close(fds[1]);
        pump(&h, -1);
        if (server_count_connections(h.server) != 0)
                abort(); /* a connection outlived its client */
        harness_done(&h);
        return 0;
}
