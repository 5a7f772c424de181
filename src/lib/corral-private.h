/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* corral-private.h: the supervisor and backend records, and the little every part of libcorral needs of the
 * supervisor (its events, its log, its list of live backends). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cgroup.h"
#include "command.h"
#include "cgroup-limits.h"
#include "check.h"
#include "corral.h"
#include "hashmap.h"
#include "launch.h"
#include "notify.h"
#include "sandbox.h"
#include "output.h"
#include "probe.h"
#include "record.h"
#include "sandbox.h"
#include "spawn-clone3.h"
#include "verdict.h"

/* What the kernel offers, probed once at corral_new(). */
typedef struct corral_features {
        bool clone_into_cgroup; /* 5.7 */
        cgroup_caps cgroup;     /* cgroup.kill 5.14, PIDFD_GET_INFO 6.13 */
        bool vfork_clone;       /* our clone3 trampoline exists for this architecture */
        bool spawn_window;      /* with it: CLONE_FILES, close_range(CLOSE_RANGE_UNSHARE) (5.9) */
        bool cgroup_v1;         /* v1 hierarchies may enforce limits v2 does not offer */
        bool sock_diag;         /* Ready=tcp asks NETLINK_SOCK_DIAG (inet_diag), else reads /proc/net */
} corral_features;

struct corral {
        sd_event *event;
        corral_features features;
        char *fallbacks; /* NULL when no fallback is in use */
        cgroup_root root;
        cgroup_limits_host limits_host;
        spawn_stack stack;
        spawn_window window;
        sandbox_cache filters; /* compiled system call filters, by settings */
        notify_dir notify;    /* where each backend that reports readiness gets its socket */
        record_store records; /* where each backend's record is kept for a supervisor after us */
        corral_event_handler_t handler;
        void *userdata;
        corral_output_handler_t output_handler;
        void *output_userdata;
        corral_log_handler_t log_handler;
        void *log_userdata;
        corral_backend *live; /* backends not yet gone; each holds a reference from here */
        command *commands;    /* commands running (command.c); each owned by whoever started it */
        unsigned n_live;
        bool subreaper;
        bool sweeping;
        sigset_t signals; /* corral_add_signals(): read by the loop, handled before backends' exits */
        int inotify_fd;   /* every backend's cgroup.events and memory.events: one fd for all */
        sd_event_source *inotify_source;
        hashmap watches; /* inotify watch -> backend */
        hashmap by_pid;  /* main pid -> backend, while its pidfd is open: the sweep's lookup */
        bool by_pid_partial;           /* an index failed for want of memory: by_pid is not all */
        sd_event_source *sweep_source; /* the orphan sweep, once per turn of the loop */
        bool nofile_raised;
        struct rlimit nofile; /* what backends get, where we raised our own */
        struct given_fd {
                char leaf[96];
                int kind; /* 0 pidfd, 1 stdout, 2 stderr */
                int fd;
        } * given; /* corral_adopt_give_fd(), until corral_adopt() */
        size_t n_given;
};

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
        char *cause;      /* why, if asked for because of another backend (malloc'ed), or NULL */
} backend_intent;

/* A launch's readiness and health checks: allocated only for a spec that has any, so that a
 * backend without them costs nothing more. One check is under way at a time. */
typedef struct backend_check {
        probe_http *http;              /* an HTTP check under way */
        struct command *command;       /* an exec check under way */
        bool for_health;               /* the one under way is a health check (else readiness) */
        sd_event_source *health_timer; /* the next health check */
        unsigned failures;             /* health checks failed in a row */
        corral_health health;
        char why[160]; /* what the last failed check (or try of readiness) found; "" if none */
} backend_check;
/* A signal sent by corral_backend_kill(): recorded before it is sent, for the verdict of a death by
 * it. sig 0: none. */
typedef struct backend_kill_req {
        int sig;
        bool all;     /* to every process of the cgroup */
        uid_t by_uid; /* (uid_t) -1: the library's caller */
        pid_t by_pid;
} backend_kill_req;

/*
 * One launch of a backend: its facts and what watches it. All of it starts afresh, in one
 * assignment, when the backend is started again. Each event source has one purpose.
 */
typedef struct backend_run {
        char id[13];  /* the launch id: the leaf is <root>/<name>.<id>; "" before the leaf is made */
        char *cgroup; /* the leaf's path below the cgroup2 mount */
        pid_t pid;
        uint64_t pid_starttime; /* with pid, names the main process for the life of the machine */
        int pidfd;              /* -1 once reaped */
        cgroup_v1_leaf v1;      /* its groups in v1 hierarchies, where a limit needs one */
        uint64_t start_usec, exit_usec; /* CLOCK_MONOTONIC */
        siginfo_t exit_si;
        backend_intent intent;
        backend_kill_req kill;       /* the last corral_backend_kill() of the launch */
        uint64_t stop_deadline_usec; /* cgroup.kill then; 0 if none */
        uint64_t watchdog_usec;      /* WATCHDOG_USEC= may change the spec's */
        uint64_t oom_seen;           /* memory.events' oom_kill when an OOM kill was last reported */
        unsigned leftover;           /* processes besides the main one at its exit or the kill */
        bool reaped, populated, escalated, leftover_known, have_oom;
        bool ready_pending;   /* starting until READY=1 (or a TCP connection) */
        bool start_timed_out; /* never ready: killed, and start-failed */
        bool watchdog_fired;  /* missed its watchdog: killed, and the verdict is watchdog */
        bool self_stopping;   /* it said STOPPING=1: an exit 0 now is its own clean stop */
        bool no_restart;      /* a stop came after an exit of its own: no restart follows it */
        bool adopted;         /* started by an earlier supervisor: not our child */
        bool stop_signalled;  /* the stop signal of the intent went out */
        bool end_unknown;     /* it ended while no supervisor ran: when is not known */
        bool deadline_kill;   /* the cgroup was killed at the stop's deadline */
        char *status_text;    /* the last STATUS= */
        int events_wd, memevents_wd; /* inotify watches of cgroup.events and memory.events; -1 */
        int notify_fd;               /* its own notify socket, or -1 */
        sd_event_source *pidfd_source, *notify_source;
        sd_event_source *stop_timer;     /* the stop's deadline: cgroup.kill */
        sd_event_source *start_timer;    /* the start timeout */
        sd_event_source *watchdog_timer; /* WATCHDOG=1 is due */
        sd_event_source *conclude_timer; /* taken back ended: concluded from the loop, not from corral_adopt() */
        sd_event_source *probe_timer;    /* Ready=tcp, http, exec: the next try */
        uint64_t probe_delay_usec;
        struct backend_check *check; /* its checks' state, only for a spec with a check */
        bool unhealthy;              /* failed its health checks: killed, and the verdict is unhealthy */
        /* The commands around the main one (ExecStartPre=, ExecStopPost=): one at a time. */
        command *cmd;          /* the one running, or NULL */
        unsigned cmd_index;    /* its line in the spec's list */
        bool in_pre;           /* ExecStartPre= commands run: no main process yet */
        bool pre_may_restart;  /* what the start they precede was given */
        char *failed_tail;     /* the stderr tail of an ExecStartPre= that failed, for the verdict */
        /* A reload under way (corral_backend_reload()). */
        bool reloading;
        bool reload_seen;      /* it said RELOADING=1 since: its end waits for READY=1 */
        bool reload_ready;     /* and READY=1 after it */
        unsigned reload_index; /* the ExecReload= line running */
        command *reload_cmd;
        sd_event_source *reload_timer; /* its deadline (TimeoutStartSec=) */
        uint64_t reload_usec;          /* CLOCK_MONOTONIC, when it began */
        uid_t reload_uid;              /* who asked for it: (uid_t) -1 and 0 for the library's caller */
        pid_t reload_pid;
        verdict *post_verdict; /* decided, and waiting while ExecStopPost= commands run */
        int post_error;
        bool post_may_restart;
        verdict *verdict;          /* decided, while it is being told (or taken back to be told) */
        corral_state verdict_next; /* what follows it */
} backend_run;

#define BACKEND_RUN_INIT                                                                                    \
        ((backend_run){ .pidfd = -1,                                                                        \
                        .v1 = CGROUP_V1_LEAF_INIT,                                                          \
                        .events_wd = -1,                                                                    \
                        .memevents_wd = -1,                                                                 \
                        .notify_fd = -1 })

struct corral_backend {
        unsigned n_ref;
        corral *corral; /* NULL once gone or once the supervisor is freed */
        bool linked;    /* in the supervisor's list of live backends */
        corral_backend *prev, *next;
        char *name;
        corral_spec *spec;   /* a copy: every launch is made from it */
        corral_state state;  /* changed by backend_set_state() only */
        backend_run run;     /* the current launch, or the last one */
        backend_output out;  /* its output, kept across launches */
        /* The restart policy's memory, which outlives a launch. */
        unsigned attempt; /* restarts in a row, since the last reset */
        uint64_t *restart_times; /* CLOCK_MONOTONIC of recent restarts, a ring of RECORD_RESTART_HISTORY;
                                    from the first */
        unsigned n_restart_times;
        uint64_t next_restart_usec; /* CLOCK_MONOTONIC, 0 if none */
        uint64_t restart_delay_usec;
        sd_event_source *restart_timer;
        /* What it counted over its launches (part of its record); the verdicts' counts only
         * once it had one, as few backends have many. */
        unsigned restarts_total, oom_kills;
        int last_exit; /* exit code, or 128+N for signal N; -1: none known */
        uint32_t (*verdicts)[RECORD_LEVELS];
};

#define SPEC_RLIMITS_MAX 16

struct corral_spec {
        unsigned n_ref; /* the owner's, and each backend's that shares a frozen spec */
        bool frozen;    /* corral_spec_freeze(): shared by the backends spawned from it, not copied */
        char *name;
        char **argv;
        char **envp;        /* NULL: the supervisor's environment */
        char *cwd;          /* NULL: the supervisor's working directory */
        bool env_extend;    /* envp is added to the supervisor's environment, not instead of it */
        char *user, *group; /* names or numbers; NULL: the supervisor's */
        bool no_new_privs;
        int umask; /* -1: inherit */
        spawn_rlimit *rlimits; /* n_rlimits of them, at most SPEC_RLIMITS_MAX; NULL while none */
        size_t n_rlimits;
        corral_type type;
        int stop_signal;
        uint64_t grace_usec;
        corral_kill_mode kill_mode;
        restart_policy restart;
        corral_ready ready;
        uint64_t start_timeout_usec;
        uint64_t watchdog_usec;
        spec_check ready_check; /* CORRAL_READY_TCP, _HTTP, _EXEC */
        spec_check health;      /* HealthCheck=: CHECK_NONE for none */
        uint64_t health_interval_usec, health_timeout_usec;
        unsigned health_failures; /* in a row, that make it unhealthy: killed */
        cgroup_limits limits;
        corral_output output;
        uint64_t log_buffer; /* bytes of output kept in memory */
        char *log_file;      /* NULL: none */
        uint64_t log_file_max;
        unsigned log_file_keep; /* rotated files kept: path.1 .. path.N */
        bool log_journal; /* copy output to the journal when it is there */
        sandbox_settings sandbox;
        /* Command lines as given (systemd's syntax, a "-" prefix kept), checked when added. */
        char **exec_start_pre, **exec_stop_post, **exec_reload;
        char **env_files;  /* absolute paths, a "-" prefix kept */
        int reload_signal; /* 0: none */
};

int corral_spec_copy(const corral_spec *s, corral_spec **ret);
/* A reference to a frozen spec (corral_spec_freeze()), else a copy. 0 or -ENOMEM. */
int corral_spec_share(const corral_spec *s, corral_spec **ret);

/* It reports readiness or has a watchdog: it gets a notify socket of its own. */
static inline bool corral_spec_wants_notify(const corral_spec *s) {
        return s->ready == CORRAL_READY_NOTIFY || s->watchdog_usec > 0;
}

/* --- What every part needs of the supervisor: data, and these. --- */

static inline void corral_emit(corral *c, const corral_event *ev) {
        if (c && c->handler)
                c->handler(c, ev, c->userdata);
}

/* One line to the caller's log handler, if it set one. */
void corral_log(corral *c, corral_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether a signal of corral_add_signals() is pending: the loop handles it before anything else. */
static inline bool corral_signal_pending(const corral *c) {
        sigset_t pending;

        if (sigisemptyset(&c->signals) || sigpending(&pending) < 0)
                return false;
        (void) sigandset(&pending, &pending, &c->signals);
        return !sigisemptyset(&pending);
}

/* --- backend.c: the record and its life. --- */

int backend_new(corral *c, const corral_spec *s, corral_backend **ret);
/* Its counters (metrics) go on from prev's; 0 or -ENOMEM. */
int backend_counters_add(corral_backend *b, const corral_backend *prev);
/* Its counters become from's. */
int backend_counters_set(corral_backend *b, const corral_backend *from);
/* A first launch of a new backend: started, or start-failed (its event emitted) and gone. */
int backend_launch(corral_backend *b);
int backend_stop(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid, pid_t pid);
/* An inotify watch of b fired: its cgroup.events or its memory.events changed. */
void backend_on_watch(corral_backend *b, int wd);
/* Reap the main process if it has exited: 1 if now, 0 if not yet, -errno. */
int backend_on_exit(corral_backend *b);
/* The zombies of a subreaper's orphans, reaped (a backend's main process: its exit). */
void backend_reap_orphans(corral *c);
/* The same, once whatever else the loop has pending is done: one waitid(P_ALL) walk of every
 * child for a whole burst of exits, not one per exit. */
void backend_reap_orphans_later(corral *c);
/*
 * Run a command of b (command.h) in a sub-group of its current leaf, as its main process runs,
 * with $MAINPID set while the main process lives. timeout_usec 0: no deadline. 0 with *ret, or
 * -errno with *ret_what (malloc'ed, may be NULL); -ESTALE if b has no leaf now.
 */
int backend_run_command(corral_backend *b, char *const *argv, uint64_t timeout_usec, command_done_t done,
                        void *userdata, command **ret, char **ret_what);
/* Kill and wait, no events: corral_free(). */
void backend_kill_sync(corral_backend *b);
void backend_unlink(corral_backend *b);

/* Taken back by corral_adopt() from an earlier supervisor's record: a backend with the record's
 * facts, linked; then one of: waiting for its restart, its main process alive (what was had of
 * it again: its pidfd, output pipes, log file, notify socket, taken from *taken; and its leaf),
 * its main process gone (its leaf, and its exit status where one could be had: a zombie's), or
 * its leaf gone too (what exit status could be had). Each consumes the fds it is given. */
int backend_adopt(corral *c, const corral_spec *spec, const char *id, const record_state *st,
                  corral_backend **ret);
int backend_adopt_restarting(corral_backend *b);
int backend_adopt_live(corral_backend *b, launch *taken, int leaf_fd);
int backend_adopt_ended(corral_backend *b, int leaf_fd, const siginfo_t *exit_si);
int backend_adopt_lost(corral_backend *b, const siginfo_t *exit_si);
/* Its verdict was decided and kept, and maybe not told: told (again) from the loop, and what
 * followed it (gone, failed, or its restart) goes on. */
int backend_adopt_concluded(corral_backend *b);
void backend_emit_adopted(corral_backend *b);
