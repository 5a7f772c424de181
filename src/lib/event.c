/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event.c: the names of events, levels, exit kinds and states as they appear in logs. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "corral.h"
#include "macro.h"

static const char *const event_names[_CORRAL_EVENT_MAX] = {
        [CORRAL_EVENT_STARTED] = "started",
        [CORRAL_EVENT_STOPPING] = "stopping",
        [CORRAL_EVENT_STOPPED] = "stopped",
        [CORRAL_EVENT_FINISHED] = "finished",
        [CORRAL_EVENT_EXITED] = "exited",
        [CORRAL_EVENT_KILLED] = "killed",
        [CORRAL_EVENT_CRASHED] = "crashed",
        [CORRAL_EVENT_OOM_KILLED] = "oom-killed",
        [CORRAL_EVENT_START_FAILED] = "start-failed",
        [CORRAL_EVENT_RESTARTING] = "restarting",
        [CORRAL_EVENT_FAILED] = "failed",
        [CORRAL_EVENT_READY] = "ready",
        [CORRAL_EVENT_WATCHDOG] = "watchdog",
        [CORRAL_EVENT_OOM] = "oom",
        [CORRAL_EVENT_ADOPTED] = "adopted",
        [CORRAL_EVENT_RELOADED] = "reloaded",
        [CORRAL_EVENT_RELOAD_FAILED] = "reload-failed",
        [CORRAL_EVENT_UNHEALTHY] = "unhealthy",
        [CORRAL_EVENT_HEALTH] = "health",
};

static const char *const health_names[] = {
        [CORRAL_HEALTH_UNKNOWN] = "unknown",
        [CORRAL_HEALTH_HEALTHY] = "healthy",
        [CORRAL_HEALTH_UNHEALTHY] = "unhealthy",
};

static const char *const level_names[] = {
        [CORRAL_LEVEL_DEBUG] = "debug",     [CORRAL_LEVEL_INFO] = "info",   [CORRAL_LEVEL_NOTICE] = "notice",
        [CORRAL_LEVEL_WARNING] = "warning", [CORRAL_LEVEL_ERROR] = "error",
};

static const char *const how_names[] = {
        [CORRAL_HOW_NONE] = NULL,       [CORRAL_HOW_EXITED] = "exited",   [CORRAL_HOW_KILLED] = "killed",
        [CORRAL_HOW_DUMPED] = "dumped", [CORRAL_HOW_UNKNOWN] = "unknown",
};

static const char *const state_names[] = {
        [CORRAL_STATE_STARTING] = "starting", [CORRAL_STATE_RUNNING] = "running",
        [CORRAL_STATE_STOPPING] = "stopping", [CORRAL_STATE_EXITED] = "exited",
        [CORRAL_STATE_GONE] = "gone",         [CORRAL_STATE_RESTARTING] = "restarting",
        [CORRAL_STATE_FAILED] = "failed",
};

static const char *const restart_names[] = {
        [CORRAL_RESTART_NO] = "no",
        [CORRAL_RESTART_ON_FAILURE] = "on-failure",
        [CORRAL_RESTART_ALWAYS] = "always",
};

#define LOOKUP(table, i) ((unsigned) (i) < ELEMENTSOF(table) ? (table)[i] : NULL)

const char *corral_event_type_to_string(corral_event_type t) {
        return LOOKUP(event_names, t);
}

bool corral_event_is_verdict(corral_event_type t) {
        switch (t) {
        case CORRAL_EVENT_STARTED:
        case CORRAL_EVENT_READY:
        case CORRAL_EVENT_STOPPING:
        case CORRAL_EVENT_RESTARTING:
        case CORRAL_EVENT_FAILED:
        case CORRAL_EVENT_OOM:
        case CORRAL_EVENT_ADOPTED:
        case CORRAL_EVENT_RELOADED:
        case CORRAL_EVENT_RELOAD_FAILED:
        case CORRAL_EVENT_HEALTH:
                return false;
        default:
                return (unsigned) t < _CORRAL_EVENT_MAX;
        }
}

const char *corral_level_to_string(corral_level l) {
        return LOOKUP(level_names, l);
}

const char *corral_how_to_string(corral_how h) {
        return LOOKUP(how_names, h);
}

const char *corral_state_to_string(corral_state s) {
        return LOOKUP(state_names, s);
}

const char *corral_health_to_string(corral_health h) {
        return LOOKUP(health_names, h);
}

const char *corral_restart_to_string(corral_restart r) {
        return LOOKUP(restart_names, r);
}

int corral_restart_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(restart_names); i++)
                if (strcmp(restart_names[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

static const char *const kill_mode_names[] = {
        [CORRAL_KILL_CONTROL_GROUP] = "control-group",
        [CORRAL_KILL_MIXED] = "mixed",
};

const char *corral_kill_mode_to_string(corral_kill_mode m) {
        return LOOKUP(kill_mode_names, m);
}

int corral_kill_mode_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(kill_mode_names); i++)
                if (strcmp(kill_mode_names[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}
