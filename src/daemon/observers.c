/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* observers.c: what follows the backends besides the registry: the event log, Watch, the fd
 * store, systemd's status line, and the output Logs follows. */
#include <errno.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"
#include "methods.h"
#include "observers.h"
#include "supervisor.h"

/* One line (or journal entry) per event; where the journal refuses it, stderr still has it. */
static void log_event(const corral_event *ev, json_t *json, void *userdata) {
        observers *o = userdata;

        if (evlog_write(ev, o->target, o->format) < 0 && o->target == EVLOG_TARGET_JOURNAL)
                (void) evlog_write(ev, EVLOG_TARGET_STDERR, o->format);
}

static void watch_event(const corral_event *ev, json_t *json, void *userdata) {
        observers *o = userdata;

        if (json)
                methods_broadcast_event(o->server, json);
}

/* A launch's fds are kept from its start (or adoption) until its verdict. */
static void fdstore_launch(registry_backend *b, void *userdata) {
        fdstore_keep(supervisor_backend(b));
}

/* Logs that follow the backend are told that a new launch's output comes next. */
static void follow_launch(registry_backend *rb, void *userdata) {
        observers *o = userdata;
        corral_backend *b = supervisor_backend(rb);

        methods_broadcast_launch(o->server, corral_backend_get_name(b), corral_backend_get_launch(b),
                                 corral_backend_get_pid(b));
}

static void fdstore_event(const corral_event *ev, json_t *json, void *userdata) {
        if (corral_event_is_verdict(ev->type))
                fdstore_drop(ev->backend, ev->launch);
}

static void notify_status(unsigned running, bool shutting_down, void *userdata) {
        observers *o = userdata;
        bool stopping = shutting_down && !o->stopping;

        o->stopping = o->stopping || shutting_down;
        (void) sd_notifyf(0, "%sSTATUS=%u backend(s) running%s", stopping ? "STOPPING=1\n" : "", running,
                          shutting_down ? ", shutting down" : "");
}

static void follow_output(corral *c, corral_backend *b, corral_stream stream, uint64_t ts_usec,
                          const char *data, size_t size, void *userdata) {
        observers *o = userdata;

        methods_broadcast_output(o->server, corral_backend_get_name(b), stream, ts_usec, data, size);
}

int observers_attach(observers *o, registry *r, corral *c) {
        const registry_observer v[] = {
                { .event = log_event, .userdata = o },
                { .event = watch_event, .userdata = o },
                { .event = fdstore_event, .launch = fdstore_launch, .userdata = o },
                { .launch = follow_launch, .userdata = o },
                { .status = notify_status, .userdata = o },
        };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (registry_observe(r, &v[i]) < 0)
                        return -ENOMEM;
        corral_set_output_handler(c, follow_output, o);
        return 0;
}
