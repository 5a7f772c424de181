/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd-job.c: the job systemd has queued for corrald's own unit, asked of PID 1 on the loop. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "macro.h"
#include "systemd-job.h"

#define SD_DEST "org.freedesktop.systemd1"

struct systemd_job {
        sd_bus *bus;
        sd_bus_slot *call;
        sd_event_source *timer;
        char *unit;
        systemd_job_fn done;
        void *userdata;
};

systemd_job *systemd_job_free(systemd_job *j) {
        if (!j)
                return NULL;
        j->call = sd_bus_slot_unref(j->call);
        j->timer = sd_event_source_disable_unref(j->timer);
        if (j->bus)
                (void) sd_bus_detach_event(j->bus);
        sd_bus_close_unref(j->bus); /* no flush: a hung peer must not hang us */
        free(j->unit);
        free(j);
        return NULL;
}

/* Once: the call and the timer are gone before the caller hears (it may free j). */
static void systemd_job_end(systemd_job *j, int r) {
        j->call = sd_bus_slot_unref(j->call);
        j->timer = sd_event_source_disable_unref(j->timer);
        j->done(r, j->userdata);
}

/* A started connection to @address, or PID 1's private socket, or else the system bus. Starting
 * only connects (a local socket: at once); the authentication goes on on the loop. */
static int systemd_job_bus(const char *address, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);

        if (r >= 0)
                r = sd_bus_set_address(bus, address ?: "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0 && !address) { /* not root, or an old manager: the system bus, if there is one */
                bus = sd_bus_unref(bus);
                r = sd_bus_open_system(&bus);
        }
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* A restart job stays "restart" while it stops the unit (then becomes a start job). */
static bool systemd_job_type_restarts(const char *type) {
        return strcmp(type, "restart") == 0 || strcmp(type, "try-restart") == 0 ||
                strcmp(type, "reload-or-restart") == 0 || strcmp(type, "reload-or-try-restart") == 0;
}

/* ListJobs' a(usssoo): id, unit, type, state, job path, unit path. 1 if @unit's is a restart. */
static int systemd_job_read(sd_bus_message *m, const char *unit) {
        const char *u, *type, *state, *job_path, *unit_path;
        uint32_t id;
        int r = sd_bus_message_enter_container(m, 'a', "(usssoo)"), restarting = 0;

        while (r >= 0 &&
               (r = sd_bus_message_read(m, "(usssoo)", &id, &u, &type, &state, &job_path, &unit_path)) > 0)
                if (strcmp(u, unit) == 0)
                        restarting = systemd_job_type_restarts(type);
        return r < 0 ? r : restarting;
}

static int systemd_job_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        systemd_job *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r = e ? -sd_bus_error_get_errno(e) : systemd_job_read(m, j->unit);

        systemd_job_end(j, e && r == 0 ? -EIO : r);
        return 0;
}

static int systemd_job_on_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        systemd_job_end(userdata, -ETIMEDOUT);
        return 0;
}

static int systemd_job_call(systemd_job *j, sd_event *e, uint64_t timeout_usec) {
        sd_bus_message *m = NULL;
        int r = sd_bus_attach_event(j->bus, e, SD_EVENT_PRIORITY_NORMAL);

        if (r >= 0) /* its own timer: the bus's call timeout does not count its authentication */
                r = sd_event_add_time_relative(e, &j->timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                               systemd_job_on_timeout, j);
        if (r >= 0)
                r = sd_bus_message_new_method_call(j->bus, &m, SD_DEST, "/org/freedesktop/systemd1",
                                                   SD_DEST ".Manager", "ListJobs");
        if (r >= 0)
                r = sd_bus_call_async(j->bus, &j->call, m, systemd_job_on_reply, j, timeout_usec);
        sd_bus_message_unref(m);
        return r;
}

int systemd_job_ask(sd_event *e, const char *address, const char *unit, uint64_t timeout_usec,
                    systemd_job_fn done, void *userdata, systemd_job **ret) {
        systemd_job *j = calloc(1, sizeof(*j));
        int r;

        if (!j)
                return -ENOMEM;
        *j = (systemd_job){ .unit = strdup(unit), .done = done, .userdata = userdata };
        r = j->unit ? systemd_job_bus(address, &j->bus) : -ENOMEM;
        if (r >= 0)
                r = systemd_job_call(j, e, timeout_usec);
        if (r < 0) {
                systemd_job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

int systemd_restarting_ask(sd_event *e, systemd_job_fn done, void *userdata, systemd_job **ret) {
        _cleanup_free_ char *unit = NULL;
        int r;

        if (!getenv("INVOCATION_ID")) {
                *ret = NULL;
                return 0; /* not a systemd service */
        }
        r = sd_pid_get_unit(0, &unit);
        if (r >= 0)
                r = systemd_job_ask(e, NULL, unit, SYSTEMD_JOB_ASK_USEC, done, userdata, ret);
        return r < 0 ? r : 1;
}
