/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics.h: corrald's metrics (the backends' and its own) as a Prometheus exposition, and the
 * textfile kept for node_exporter. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "corral.h"
#include "prom.h"
#include "registry.h"
#include "server.h"

typedef struct metrics {
        registry *registry;
        server *server; /* its connections: corral_clients */
        sd_event *event;
        uint64_t events[_CORRAL_EVENT_MAX]; /* corral_events_total, by type */
        /* --metrics-textfile: written from a deferred source after a change, never on a timer */
        int textfile_dir_fd; /* -1: none */
        char *textfile_name;
        sd_event_source *textfile_defer;
} metrics;

#define METRICS_INIT ((metrics){ .textfile_dir_fd = -1 })

/* Count r's events, and keep the textfile (if any) in step with them. m must outlive r's
 * observers. 0 or -ENOMEM. */
int metrics_attach(metrics *m, sd_event *e, registry *r, server *s);
/* Writes the textfile if a change is still to be written (the loop has ended), and frees. The
 * registry must still be there. */
void metrics_done(metrics *m);

/* The exposition of every series; with usage, also what changes with no event: what each backend's
 * cgroup uses now (cpu, memory, processes: read from cgroupfs at the call) and corral_clients.
 * Malloc'ed; 0 or -ENOMEM. */
int metrics_render(metrics *m, prom_format format, bool usage, char **ret, size_t *ret_size);

/* Keep the exposition (without the usage series and corral_clients, which change with no event) at path, an
 * absolute path in a directory that is ours and writable by nobody else (checked, no symlink on
 * the way): replaced atomically (a temporary file renamed over it) after each change, and once
 * now. 0, or -errno with *ret_problem saying why (malloc'ed, or NULL). */
int metrics_set_textfile(metrics *m, const char *path, char **ret_problem);
