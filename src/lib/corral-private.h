/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* corral-private.h: the supervisor and backend records, shared by corral.c and backend.c. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cgroup.h"
#include "cgroup-limits.h"
#include "hashmap.h"
#include "output.h"
#include "corral.h"
#include "spawn-clone3.h"

/* What the kernel offers, probed once at corral_new(). */
typedef struct corral_features {
        bool clone_into_cgroup; /* 5.7 */
        cgroup_caps cgroup;     /* cgroup.kill 5.14, PIDFD_GET_INFO 6.13 */
        bool vfork_clone;       /* our clone3 trampoline exists for this architecture */
        bool spawn_window;      /* with it: CLONE_FILES, close_range(CLOSE_RANGE_UNSHARE) (5.9) */
        bool cgroup_v1;         /* v1 hierarchies may enforce limits v2 does not offer */
} corral_features;

struct corral {
        sd_event *event;
        corral_features features;
        char *fallbacks; /* NULL when no fallback is in use */
        /* Where each backend that reports readiness gets a socket of its own: the caller's
         * (corral_set_notify_directory()), else a private one made at the first that wants one. */
        char *notify_dir;
        int notify_dir_fd;       /* -1 until made */
        bool notify_dir_private; /* ours to remove at corral_free() */
        cgroup_root root;
        cgroup_limits_host limits_host;
        spawn_stack stack;
        spawn_window window;
        corral_event_handler_t handler;
        void *userdata;
        corral_output_handler_t output_handler;
        void *output_userdata;
        corral_log_handler_t log_handler;
        void *log_userdata;
        corral_backend *live; /* backends not yet gone; each holds a reference from here */
        unsigned n_live;
        bool subreaper;
        bool sweeping;
        sigset_t signals; /* corral_add_signals(): read by the loop, handled before backends' exits */
        bool persist;     /* CORRAL_NEW_PERSIST: each backend's spec and state kept on its leaf */
        int state_dir_fd; /* a copy of each record, for where empty leaves do not last; -1 */
        int inotify_fd;   /* every backend's cgroup.events and memory.events: one fd for all */
        sd_event_source *inotify_source;
        hashmap watches; /* inotify watch -> backend */
        bool nofile_raised;
        struct rlimit nofile; /* what backends get, where we raised our own */
        struct given_fd {
                char leaf[96];
                int kind; /* 0 pidfd, 1 stdout, 2 stderr */
                int fd;
        } * given; /* corral_adopt_give_fd(), until corral_adopt() */
        size_t n_given;
};

#define RESTART_HISTORY 64

typedef struct restart_policy {
        corral_restart policy;
        uint64_t initial_usec, max_usec, reset_usec;
        unsigned factor;
        unsigned limit_burst; /* 0: no crash-loop limit */
        uint64_t limit_interval_usec;
} restart_policy;

/* A stop asked for: recorded before any signal is sent. */
typedef struct backend_intent {
        bool stop;
        uint64_t at_usec; /* CLOCK_MONOTONIC */
        uid_t by_uid;     /* who asked, (uid_t) -1 if not known */
        pid_t by_pid;     /* 0 if not known */
} backend_intent;

struct corral_backend {
        unsigned n_ref;
        corral *corral; /* NULL once gone or once the supervisor is freed */
        bool linked;    /* in the supervisor's list of live backends */
        corral_backend *prev, *next;

        char *name;
        char launch[13];
        char *cgroup; /* path below the cgroup2 mount */
        corral_type type;
        int stop_signal;
        uint64_t grace_usec;

        corral_state state;
        pid_t pid;
        int pidfd;
        int events_wd;     /* the inotify watch of its cgroup.events; -1 */
        cgroup_v1_leaf v1; /* its cgroups in v1 hierarchies, where a limit needs one */
        backend_output out;
        sd_event_source *pidfd_source, *timer_source, *start_timer;
        bool ready_pending;          /* starting until READY=1 */
        bool start_timed_out;        /* never ready: killed, and start-failed */
        bool watchdog_fired;         /* missed its watchdog: killed, and the verdict is watchdog */
        bool self_stopping;          /* it said STOPPING=1: an exit 0 now is its own clean stop */
        bool no_restart; /* a stop came after an exit of its own: that exit is unexpected, but no
                          * restart follows it */
        bool adopted;                /* started by an earlier supervisor: not our child, no waitid */
        bool stop_signalled;         /* the stop signal of the intent went out */
        uint64_t stop_deadline_usec; /* CLOCK_MONOTONIC: cgroup.kill then; 0 if none */
        uint64_t pid_starttime;      /* with pid, names the main process for re-adoption */
        uint64_t watchdog_usec;
        sd_event_source *watchdog_timer;
        int notify_fd; /* its own sd_notify socket, <notify dir>/<launch>, or -1 */
        sd_event_source *notify_source;
        int probe_fd; /* the TCP connection being tried, or -1 */
        sd_event_source *probe_source, *probe_timer;
        uint64_t probe_delay_usec;
        char *status_text;

        backend_intent intent;
        corral_spec *spec;                       /* a copy, to start it again */
        unsigned attempt;                        /* restarts in a row, since the last reset */
        uint64_t restart_times[RESTART_HISTORY]; /* CLOCK_MONOTONIC of recent restarts, a ring */
        unsigned n_restart_times;
        uint64_t next_restart_usec; /* CLOCK_MONOTONIC, 0 if none */
        uint64_t restart_delay_usec;
        siginfo_t exit_si;
        bool reaped, populated, escalated, leftover_known, have_oom;
        unsigned leftover;
        uint64_t oom_at_start;
        uint64_t oom_seen;              /* the counter when the last OOM kill of a helper was reported */
        int memevents_wd;               /* v2 memory.events, watched for OOM kills of helpers; -1 */
        uint64_t start_usec, exit_usec; /* CLOCK_MONOTONIC */
};

struct corral_spec {
        char *name;
        char **argv;
        char **envp;        /* NULL: the supervisor's environment */
        char *cwd;          /* NULL: the supervisor's working directory */
        bool env_extend;    /* envp is added to the supervisor's environment, not instead of it */
        char *user, *group; /* names or numbers; NULL: the supervisor's */
        bool no_new_privs;
        int umask; /* -1: inherit */
        spawn_rlimit rlimits[16];
        size_t n_rlimits;
        corral_type type;
        int stop_signal;
        uint64_t grace_usec;
        restart_policy restart;
        corral_ready ready;
        uint64_t start_timeout_usec;
        uint64_t watchdog_usec;
        struct sockaddr_storage ready_addr; /* CORRAL_READY_TCP */
        socklen_t ready_addr_len;
        cgroup_limits limits;
        corral_output output;
        uint64_t log_buffer; /* bytes of output kept in memory */
        char *log_file;      /* NULL: none */
        uint64_t log_file_max;
        bool log_journal; /* copy output to the journal when it is there */
};

int corral_spec_copy(const corral_spec *s, corral_spec **ret);

/* It reports readiness or has a watchdog: it gets a notify socket of its own. */
static inline bool corral_spec_wants_notify(const corral_spec *s) {
        return s->ready == CORRAL_READY_NOTIFY || s->watchdog_usec > 0;
}

/* backend.c */
int backend_new(corral *c, const corral_spec *s, corral_backend **ret);
int backend_stop(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid, pid_t pid);
int backend_attach(corral_backend *b, pid_t pid, int pidfd, int cgroup_fd);
int backend_attach_adopted(corral_backend *b, pid_t pid, int pidfd, int cgroup_fd);
int backend_attach_ended(corral_backend *b, int cgroup_fd);
void backend_finish(corral_backend *b);
/* An inotify watch of b fired: its cgroup.events or its memory.events changed. */
void backend_on_watch(corral_backend *b, int wd);
int backend_arm_restart(corral_backend *b);

/* adopt.c */
/* Keep the spec (before the process starts) and the state (at each change) on the leaf. A
 * no-op unless the supervisor persists. */
int adopt_save_spec(corral_backend *b, int leaf_fd);
void adopt_save_state(corral_backend *b);
/* The launch is over: its copy in the state directory goes. */
void adopt_forget(corral *c, const char *name, const char *launch);
/* Remove the leaf "<name>.<launch>" and forget its record. */
void backend_remove_leaf(corral *c, const char *name, const char *launch);
/* A record whose leaf is gone (removed by someone else while no supervisor ran): concluded from
 * the loop with what can be had. */
int backend_attach_lost(corral_backend *b);
int backend_on_exit(corral_backend *b);
void backend_kill_sync(corral_backend *b);
void backend_on_notify(corral_backend *b, const char *text);
/* Its notify socket (for the launch b->launch), watched from the loop; *ret_path is the address for
 * $NOTIFY_SOCKET. uid: who may send to it (the backend's user). 0 or -errno. */
int backend_notify_open(corral_backend *b, uid_t uid, char **ret_path);
void backend_notify_close(corral_backend *b);
/* corral.c: the directory of the notify sockets, made if need be; its fd (borrowed) or -errno. */
int corral_notify_dir(corral *c);
void backend_emit(corral_backend *b, corral_event_type type, corral_level level, const char *message,
                  int error);

int backend_respawn(corral_backend *b);

/* corral.c */
/* One launch of b (b->spec) in a fresh leaf; emits started. On failure nothing is left running,
 * and *ret_what says what failed, for the start-failed event, which is the caller's to emit. */
int corral_spawn_launch(corral *c, corral_backend *b, char **ret_what);
void corral_emit_start_failed(corral_backend *b, const char *what, int err);
void corral_emit(corral *c, const corral_event *ev);
/* One line to the caller's log handler, if it set one. */
void corral_log(corral *c, corral_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void corral_link(corral *c, corral_backend *b);
void corral_unlink(corral *c, corral_backend *b);
void corral_reap_orphans(corral *c);
/* Whether a signal of corral_add_signals() is pending: the loop will handle it before anything else. */
bool corral_signal_pending(corral *c);
