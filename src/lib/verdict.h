/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.h: the verdict contract: intent and type decide the event and its level, never the exit code. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "corral.h"

/* Every fact a verdict is made of, plain: how the main process ended, and how its launch went. */
typedef struct verdict_input {
        bool intent_stop; /* a stop was asked for before the main process exited */
        corral_type type;
        int si_code;        /* CLD_EXITED, CLD_KILLED, CLD_DUMPED, or 0 when unknown */
        int status;         /* si_status: the exit code or the signal */
        bool escalated;     /* cgroup.kill was needed */
        bool deadline_kill; /* that kill came at a stop's deadline (not at once, nor of leftovers) */
        unsigned leftover;  /* processes besides the main one left in the cgroup at its end */
        bool oom_killed;    /* the cgroup's oom_kill counter grew */
        /* It never ran: exec or the child's setup failed (or the leaf, the pipes...). */
        int start_error;        /* the positive errno, 0 if it started */
        const char *start_what; /* what failed ("/usr/bin/x", "working directory /srv"), or NULL */
        bool start_what_is_why; /* start_what is the whole reason ("no such user 'x'"): no errno */
        /* An ExecStartPre= command that failed, and how ("ExecStartPre=/usr/sbin/nginx -t: exited
         * with status 1"): the main command never ran. NULL if none did. */
        const char *pre_failed;
        bool pre_stopped; /* a stop came while its ExecStartPre= commands ran */
        /* How the launch went. */
        bool ready_pending; /* it was to report readiness and had not */
        bool start_timed_out;
        uint64_t start_timeout_usec;
        const char *not_ready_why; /* what its readiness check last found, or NULL */
        bool self_stopping; /* it said STOPPING=1 */
        bool watchdog_fired;
        uint64_t watchdog_usec;
        bool unhealthy; /* killed for failing its health checks */
        unsigned health_failures;
        const char *health_why; /* what the last check found */
        /* The last signal corral_backend_kill() sent (0: none), and who asked ((uid_t) -1: the
         * library's caller). A death by it says so. */
        int kill_signal;
        uid_t kill_uid;
        pid_t kill_pid;
        bool syscall_filter; /* it ran under a system call filter that kills (SIGSYS) */
} verdict_input;

typedef struct verdict {
        corral_event_type type;
        corral_level level;
        char message[512];
} verdict;

/* The verdict table of docs/events.md, every rule of it: one pure function. */
verdict verdict_decide(const verdict_input *in);

/* How the main process ended, from waitid's si_code. */
corral_how verdict_how(int si_code);
