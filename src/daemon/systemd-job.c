/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd-job.c: the job systemd has queued for corrald's own unit, over PID 1's private bus
 * socket (root, no dbus-daemon needed) or else the system bus. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "macro.h"
#include "systemd-job.h"

#define SD_DEST  "org.freedesktop.systemd1"
#define ASK_USEC (5 * 1000 * 1000ULL) /* PID 1 answers at once; a hung one must not hang a stop */

static int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);

        if (r >= 0)
                r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) { /* not root, or an old manager: the system bus, if there is one */
                bus = sd_bus_unref(bus);
                r = sd_bus_open_system(&bus);
        }
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, ASK_USEC);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int job_type(sd_bus *bus, const char *unit, char **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *path = NULL;
        const char *job_path;
        uint32_t id;
        int r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);

        if (r >= 0)
                r = sd_bus_get_property(bus, SD_DEST, path, SD_DEST ".Unit", "Job", &error, &reply, "(uo)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(uo)", &id, &job_path);
        if (r >= 0 && id == 0) {
                *ret = NULL; /* no job: a signal from someone else (systemctl kill, say) */
        } else if (r >= 0)
                r = sd_bus_get_property_string(bus, SD_DEST, job_path, SD_DEST ".Job", "JobType", &error,
                                               ret);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        free(path);
        return r;
}

int systemd_restarting(void) {
        sd_bus *bus = NULL;
        char *unit = NULL, *type = NULL;
        int r;

        if (!getenv("INVOCATION_ID"))
                return 0; /* not a systemd service */
        r = sd_pid_get_unit(0, &unit);
        if (r >= 0)
                r = bus_open(&bus);
        if (r >= 0)
                r = job_type(bus, unit, &type);
        /* A restart job stays "restart" while it stops the unit (then becomes a start job). */
        if (r >= 0)
                r = type &&
                        (strcmp(type, "restart") == 0 || strcmp(type, "try-restart") == 0 ||
                         strcmp(type, "reload-or-restart") == 0 ||
                         strcmp(type, "reload-or-try-restart") == 0);
        free(type);
        free(unit);
        sd_bus_flush_close_unref(bus);
        return r;
}
