/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.c: the verdict contract: intent and type decide the event and its level, never the exit code. */
#include <signal.h>

#include "verdict.h"

#define V(t, l, m) ((verdict){ .type = CORRAL_EVENT_##t, .level = CORRAL_LEVEL_##l, .message = (m) })

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

static verdict verdict_stop(const verdict_input *in) {
        if (in->oom_killed)
                return V(OOM_KILLED, WARNING, "backend crashed while stopping (OOM killer)");
        if (in->si_code == CLD_DUMPED)
                return V(CRASHED, WARNING, "backend crashed while stopping");
        if (in->escalated)
                return V(STOPPED, NOTICE, "backend stopped");
        return V(STOPPED, INFO, "backend stopped");
}

static verdict verdict_unasked(const verdict_input *in) {
        if (in->oom_killed)
                return V(OOM_KILLED, WARNING, "backend killed by the OOM killer");
        switch (in->si_code) {
        case CLD_DUMPED:
                return V(CRASHED, WARNING, "backend crashed (core dumped)");
        case CLD_KILLED:
                return V(KILLED, WARNING, "backend killed by signal");
        case CLD_EXITED:
                if (in->type == CORRAL_TYPE_TASK && in->status == 0)
                        return V(FINISHED, INFO, "backend finished");
                return V(EXITED, WARNING, "backend exited unexpectedly");
        default:
                return V(EXITED, WARNING, "backend exited unexpectedly (status unknown)");
        }
}

verdict verdict_decide(const verdict_input *in) {
        if (in->start_failed)
                return V(START_FAILED, ERROR, "backend failed to start");
        return in->intent_stop ? verdict_stop(in) : verdict_unasked(in);
}
