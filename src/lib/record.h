/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* record.h: a backend's record where a supervisor after us finds it: on its leaf (trusted.* xattrs) and as
 * a file in the state directory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "corral.h"

#define RECORD_RESTART_HISTORY 64
#define RECORD_LEVELS          (CORRAL_LEVEL_ERROR + 1)

/* What a backend counted over its launches (metrics): part of its record, so that a supervisor
 * after us goes on counting from there. */
typedef struct record_counters {
        unsigned restarts;  /* launches made by the restart policy or asked as a restart */
        unsigned oom_kills; /* processes the OOM killer killed (memory.events oom_kill) */
        int last_exit;      /* the last known end: exit code, or 128+N for signal N; -1: none */
        uint32_t verdicts[_CORRAL_EVENT_MAX][RECORD_LEVELS];
} record_counters;

/* What a supervisor after us must know of a launch to go on with it: plain facts. */
typedef struct record_state {
        pid_t pid;
        uint64_t pid_starttime; /* with pid, names the main process for the life of the machine */
        uint64_t start_usec;    /* CLOCK_MONOTONIC, as every time here */
        bool ready_pending, self_stopping;
        bool stop; /* the intent of a stop, recorded before any signal */
        uid_t stop_uid;
        pid_t stop_pid;
        char stop_cause[160]; /* the intent's cause, "" if none */
        uint64_t stop_at_usec;
        bool stop_signalled;
        uint64_t stop_deadline_usec;
        bool escalated;     /* cgroup.kill was needed (a stop's verdict is notice, not info) */
        bool deadline_kill; /* at the stop's deadline */
        bool unhealthy;     /* killed for failing its health checks: recorded before the kill */
        int kill_signal;    /* the last corral_backend_kill(), recorded before it was sent; 0: none */
        bool kill_all;      /* to every process of the cgroup */
        uid_t kill_uid;
        pid_t kill_pid;
        uint64_t oom_seen;
        /* The restart policy's memory, which outlives a launch. */
        unsigned attempt;
        uint64_t restart_times[RECORD_RESTART_HISTORY];
        unsigned n_restart_times;
        uint64_t next_restart_usec; /* 0: no restart due */
        /* The launch's verdict, kept before it is emitted and until the launch is forgotten: a
         * supervisor killed in between reports the same one again, never another, never none. */
        bool concluded;
        int verdict_event, verdict_level; /* corral_event_type, corral_level */
        int verdict_next;                 /* the corral_state it leads to: gone, restarting, failed */
        char verdict_message[512];
        int exit_code, exit_status; /* waitid's si_code and si_status */
        unsigned leftover;
        uint64_t runtime_usec;
        record_counters counters;
} record_state;

/* Where records go: nowhere unless persist; the state directory too where dir_fd is one. */
typedef struct record_store {
        bool persist;
        const cgroup_root *root;
        int dir_fd; /* -1: leaves only */
} record_store;

/* The state directory, checked (safepath_open_dir()) and made 0700 if missing. 0, or -errno with
 * *ret_problem saying why (malloc'ed). */
int record_store_set_directory(record_store *st, const char *dir, char **ret_problem);
void record_store_done(record_store *st);

/* The spec, on the leaf before there is a process in it (a leaf never runs unrecorded). 0 (also
 * when not persisting), -E2BIG past 64 KiB, -EILSEQ for a spec that is not UTF-8, or -errno. */
int record_save_spec(const record_store *st, int leaf_fd, const corral_spec *spec);

/* The state of launch "<name>.<launch>": on its leaf, and the whole record (spec and state) as a
 * file replaced atomically. Best effort: what cannot be written was not there before either. */
void record_save(const record_store *st, const char *name, const char *launch, const corral_spec *spec,
                 const record_state *state);

/* The launch is over: its file goes (its leaf goes with its cgroup). */
void record_forget(const record_store *st, const char *name, const char *launch);

/* The record on a leaf: -ENODATA if it has no spec (not ours, or never used), -EINVAL if it is
 * not one, else 0 with the spec (the caller's) and the state (zeroed where none was kept). */
int record_read_leaf(int leaf_fd, const char *name, corral_spec **ret_spec, record_state *ret_state);

/* The record of a file of the state directory, if it may be believed: a regular file of ours with
 * one link that nobody else may write (a record says what to run, as whom). -EPERM with
 * *ret_problem for one that may not, -EINVAL for one that is not a record. */
int record_read_file(const record_store *st, const char *file, const char *name, corral_spec **ret_spec,
                     record_state *ret_state, char **ret_problem);

/* "<name>.<12 hex digits>": the leaf of a launch by its name. */
bool record_leaf_name_split(const char *leaf, char *name, size_t size, char launch[static 13]);
