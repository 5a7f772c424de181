/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.h: the verdict contract: intent and type decide the event and its level, never the exit code. */
#pragma once

#include <stdbool.h>

#include "corral.h"

typedef struct verdict_input {
        bool intent_stop; /* corral_stop() was asked before the main process exited */
        corral_type type;
        int si_code;       /* CLD_EXITED, CLD_KILLED, CLD_DUMPED, or 0 when unknown */
        int status;        /* si_status: the exit code or the signal */
        bool escalated;    /* cgroup.kill was needed */
        bool oom_killed;   /* the cgroup's oom_kill counter grew */
        bool start_failed; /* exec or child setup failed */
} verdict_input;

typedef struct verdict {
        corral_event_type type;
        corral_level level;
        const char *message;
} verdict;

/* The table of DESIGN.md, row by row. */
verdict verdict_decide(const verdict_input *in);

/* How the main process ended, from waitid's si_code. */
corral_how verdict_how(int si_code);
