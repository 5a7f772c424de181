/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.c: the verdict contract: intent and type decide the event and its level, never the exit code. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "verdict.h"

static verdict V(corral_event_type t, corral_level l, const char *m) {
        verdict v = { .type = t, .level = l };

        (void) snprintf(v.message, sizeof(v.message), "%s", m);
        return v;
}

#define E(t) CORRAL_EVENT_##t
#define L(l) CORRAL_LEVEL_##l

corral_how verdict_how(int si_code) {
        switch (si_code) {
        case CLD_EXITED:
                return CORRAL_HOW_EXITED;
        case CLD_KILLED:
                return CORRAL_HOW_KILLED;
        case CLD_DUMPED:
                return CORRAL_HOW_DUMPED;
        default:
                return CORRAL_HOW_UNKNOWN;
        }
}

/* A stop was asked for: any end is stopped, unless it crashed or the OOM killer had it. */
static verdict verdict_stop(const verdict_input *in) {
        if (in->oom_killed)
                return V(E(OOM_KILLED), L(WARNING), "backend crashed while stopping (OOM killer)");
        if (in->si_code == CLD_DUMPED)
                return V(E(CRASHED), L(WARNING), "backend crashed while stopping");
        if (in->escalated)
                return V(E(STOPPED), L(NOTICE), "backend stopped");
        return V(E(STOPPED), L(INFO), "backend stopped");
}

/* A death by the signal of a Kill: not a stop, but the verdict says whose signal it was. */
static verdict verdict_of_kill(const verdict_input *in) {
        verdict v = { .type = in->si_code == CLD_DUMPED ? E(CRASHED) : E(KILLED), .level = L(WARNING) };
        const char *name = signal_to_name(in->kill_signal) ?: "a signal";
        const char *what = in->si_code == CLD_DUMPED ? "crashed (core dumped)" : "killed";

        if (in->kill_uid == (uid_t) -1)
                (void) snprintf(v.message, sizeof(v.message),
                                "backend %s by %s, sent by a Kill from the library (corral_backend_kill())",
                                what, name);
        else
                (void) snprintf(v.message, sizeof(v.message),
                                "backend %s by %s, sent by a Kill from uid %u (pid %d)", what, name,
                                (unsigned) in->kill_uid, (int) in->kill_pid);
        return v;
}

/* Nobody asked: only a task's exit 0 is not a warning. */
static verdict verdict_unasked(const verdict_input *in) {
        if (in->oom_killed)
                return V(E(OOM_KILLED), L(WARNING), "backend killed by the OOM killer");
        if (in->kill_signal > 0 && in->status == in->kill_signal &&
            (in->si_code == CLD_KILLED || in->si_code == CLD_DUMPED))
                return verdict_of_kill(in);
        switch (in->si_code) {
        case CLD_DUMPED:
                if (in->syscall_filter && in->status == SIGSYS)
                        return V(E(KILLED), L(WARNING),
                                 "backend killed by its system call filter (SIGSYS): it made a system call "
                                 "SystemCallFilter= does not allow");
                return V(E(CRASHED), L(WARNING), "backend crashed (core dumped)");
        case CLD_KILLED:
                if (in->syscall_filter && in->status == SIGSYS)
                        return V(E(KILLED), L(WARNING),
                                 "backend killed by its system call filter (SIGSYS): it made a system call "
                                 "SystemCallFilter= does not allow");
                return V(E(KILLED), L(WARNING), "backend killed by signal");
        case CLD_EXITED:
                if (in->type == CORRAL_TYPE_TASK && in->status == 0)
                        return V(E(FINISHED), L(INFO), "backend finished");
                return V(E(EXITED), L(WARNING), "backend exited unexpectedly");
        default:
                return V(E(EXITED), L(WARNING), "backend exited unexpectedly (status unknown)");
        }
}

/* The kill of its cgroup, said as what it was: at a stop's deadline, at once (a stop without
 * grace), or of what an end nobody asked for left behind. Never a deadline that was not there. */
static verdict verdict_note_kill(const verdict_input *in, verdict v) {
        size_t n = strlen(v.message);

        if (!in->escalated)
                return v;
        if (in->intent_stop && v.type == E(STOPPED))
                (void) snprintf(v.message + n, sizeof(v.message) - n, "%s",
                                in->deadline_kill ? " (cgroup killed at the deadline)" : " (cgroup killed)");
        else if (in->leftover > 0)
                (void) snprintf(v.message + n, sizeof(v.message) - n,
                                "; %u leftover process%s killed with its cgroup", in->leftover,
                                in->leftover == 1 ? "" : "es");
        return v;
}

/* How the launch went overrides how the process ended, in this order: a start that failed or
 * timed out, a watchdog missed, health checks failed, a death before readiness, a clean exit announced by
 * STOPPING=1. */
static verdict verdict_launch(const verdict_input *in, verdict v) {
        verdict o = { .level = L(ERROR), .type = E(START_FAILED) };

        if (in->start_timed_out) { /* killed for it: whatever its end, it never started */
                (void) snprintf(o.message, sizeof(o.message),
                                "backend failed to start: not ready within %" PRIu64 " ms%s%s%s",
                                in->start_timeout_usec / 1000, in->not_ready_why ? " (" : "",
                                in->not_ready_why ?: "", in->not_ready_why ? ")" : "");
                return o;
        }
        if (in->intent_stop)
                return v;
        if (in->watchdog_fired) {
                o = (verdict){ .type = E(WATCHDOG), .level = L(WARNING) };
                (void) snprintf(o.message, sizeof(o.message), "backend missed its watchdog (%" PRIu64 " ms)",
                                in->watchdog_usec / 1000);
                return o;
        }
        if (in->unhealthy) {
                o = (verdict){ .type = E(UNHEALTHY), .level = L(WARNING) };
                (void) snprintf(o.message, sizeof(o.message),
                                "backend unhealthy: %u health checks failed in a row%s%s%s",
                                in->health_failures, in->health_why ? " (last: " : "", in->health_why ?: "",
                                in->health_why ? ")" : "");
                return o;
        }
        if (in->ready_pending && v.type != E(OOM_KILLED)) /* it died before it was ready: never started */
                return V(E(START_FAILED), L(ERROR), "backend failed to start: it ended before it was ready");
        if (in->self_stopping && v.type == E(EXITED) && in->status == 0)
                return V(E(FINISHED), L(INFO), "backend stopped on its own (it said STOPPING=1)");
        return v;
}

verdict verdict_decide(const verdict_input *in) {
        verdict v;

        if (in->pre_stopped && in->intent_stop)
                return V(E(STOPPED), L(INFO), "backend stopped (while its ExecStartPre= commands ran)");
        if (in->pre_failed) {
                v = (verdict){ .type = E(START_FAILED), .level = L(ERROR) };
                (void) snprintf(v.message, sizeof(v.message), "backend failed to start: %s", in->pre_failed);
                return v;
        }
        if (in->start_error > 0) {
                v = (verdict){ .type = E(START_FAILED), .level = L(ERROR) };
                if (in->start_what && in->start_what_is_why)
                        (void) snprintf(v.message, sizeof(v.message), "backend failed to start: %s",
                                        in->start_what);
                else if (in->start_what)
                        (void) snprintf(v.message, sizeof(v.message), "backend failed to start: %s: %s",
                                        in->start_what, strerror(in->start_error));
                else
                        (void) snprintf(v.message, sizeof(v.message), "backend failed to start: %s",
                                        strerror(in->start_error));
                return v;
        }
        v = in->intent_stop ? verdict_stop(in) : verdict_unasked(in);
        return verdict_launch(in, verdict_note_kill(in, v));
}
