/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* corral.h: the public API of libcorral, a supervisor of backends in cgroups, tracked by pidfds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions: every function returns >= 0 on success and a negative errno on failure; outputs
 * are named ret_* and written only on success. Handles are opaque. Nothing here logs above debug
 * or prints: lifecycle transitions are delivered as corral_event records to the handler.
 */

typedef struct corral corral;
typedef struct corral_spec corral_spec;
typedef struct corral_backend corral_backend;

/* Use the stop signal or grace period of the backend's spec. */
#define CORRAL_GRACE_DEFAULT UINT64_MAX

typedef enum corral_type {
        CORRAL_TYPE_SERVICE, /* any exit it was not asked for is unexpected */
        CORRAL_TYPE_TASK,    /* exit 0 is success */
} corral_type;

typedef enum corral_restart {
        CORRAL_RESTART_NO,         /* never (the default) */
        CORRAL_RESTART_ON_FAILURE, /* after any verdict but stopped and finished */
        CORRAL_RESTART_ALWAYS,     /* also after finished; never after a stop that was asked for */
} corral_restart;

typedef enum corral_ready {
        CORRAL_READY_NONE,   /* running as soon as it is started (the default) */
        CORRAL_READY_NOTIFY, /* starting until it sends READY=1 (sd_notify) on $NOTIFY_SOCKET */
        CORRAL_READY_TCP,    /* starting until a socket of its own cgroup listens on an address */
        CORRAL_READY_HTTP,   /* that, and until a GET to it answers 2xx */
        CORRAL_READY_EXEC,   /* starting until a command run in its cgroup exits 0 */
} corral_ready;

/* What its health checks (corral_spec_set_health_check()) say while it runs. */
typedef enum corral_health {
        CORRAL_HEALTH_UNKNOWN,   /* no check, not running, or none has answered yet */
        CORRAL_HEALTH_HEALTHY,   /* the last check passed */
        CORRAL_HEALTH_UNHEALTHY, /* the last check failed (killed once enough have in a row) */
} corral_health;

/* How a stop reaches the processes of a backend's cgroup (KillMode=, as systemd names it). */
typedef enum corral_kill_mode {
        CORRAL_KILL_CONTROL_GROUP, /* the stop signal to every process of the cgroup (the default) */
        CORRAL_KILL_MIXED,         /* the stop signal to the main process only; what is left when it
                                    * exits, or at the deadline, is killed with cgroup.kill */
} corral_kill_mode;

typedef enum corral_state {
        CORRAL_STATE_STARTING,
        CORRAL_STATE_RUNNING,
        CORRAL_STATE_STOPPING,
        CORRAL_STATE_EXITED,     /* main process reaped; others may still be in the cgroup */
        CORRAL_STATE_GONE,       /* cgroup empty and removed, verdict emitted */
        CORRAL_STATE_RESTARTING, /* gone, and started again when its backoff delay is over */
        CORRAL_STATE_FAILED,     /* restarted too often: stays down until started again by hand */
} corral_state;

typedef enum corral_event_type {
        CORRAL_EVENT_STARTED,
        CORRAL_EVENT_STOPPING,
        CORRAL_EVENT_STOPPED,
        CORRAL_EVENT_FINISHED,
        CORRAL_EVENT_EXITED,
        CORRAL_EVENT_KILLED,
        CORRAL_EVENT_CRASHED,
        CORRAL_EVENT_OOM_KILLED,
        CORRAL_EVENT_START_FAILED,
        CORRAL_EVENT_RESTARTING, /* after a verdict: the restart policy starts it again after a delay */
        CORRAL_EVENT_FAILED,     /* after a verdict: the crash-loop limit was reached */
        CORRAL_EVENT_READY,      /* it said READY=1 on its NOTIFY_SOCKET */
        CORRAL_EVENT_WATCHDOG,   /* a verdict: it missed its watchdog and was killed */
        CORRAL_EVENT_OOM,        /* the OOM killer killed one of its processes; the main one lives */
        CORRAL_EVENT_ADOPTED,    /* corral_adopt() took it back from a supervisor that died */
        CORRAL_EVENT_RELOADED,   /* corral_backend_reload() is done: it reloaded */
        CORRAL_EVENT_RELOAD_FAILED, /* corral_backend_reload() failed (error ETIMEDOUT: in time) */
        CORRAL_EVENT_UNHEALTHY,  /* a verdict: its health checks failed too often in a row; it was killed */
        CORRAL_EVENT_HEALTH,     /* its health changed: a check passed after none or failures, or failed */
        _CORRAL_EVENT_MAX,
} corral_event_type;

/* Ordered from least to most severe; the numbers are not syslog priorities. */
typedef enum corral_level {
        CORRAL_LEVEL_DEBUG,
        CORRAL_LEVEL_INFO,
        CORRAL_LEVEL_NOTICE,
        CORRAL_LEVEL_WARNING,
        CORRAL_LEVEL_ERROR,
} corral_level;

typedef enum corral_how {
        CORRAL_HOW_NONE,   /* no exit yet (started, stopping) or never ran (start-failed) */
        CORRAL_HOW_EXITED, /* exit_code is set */
        CORRAL_HOW_KILLED, /* signal is set */
        CORRAL_HOW_DUMPED, /* signal is set, core dumped */
        CORRAL_HOW_UNKNOWN,
} corral_how;

/* An event's runtime_usec when the end is not known: it ended while no supervisor ran. */
#define CORRAL_RUNTIME_UNKNOWN UINT64_MAX

/*
 * One lifecycle transition. Valid only during the handler call. The raw facts (how, exit_code,
 * signal, core_dumped, escalated, leftover, runtime) never decide the verdict: intent does.
 */
typedef struct corral_event {
        corral_event_type type;
        corral_level level;
        uint64_t ts_usec; /* CLOCK_REALTIME */
        const char *backend;
        const char *launch;
        pid_t pid; /* 0 when no process was created */
        const char *cgroup;
        bool intentional; /* the exit was asked for by corral_stop() */
        uid_t stop_uid;   /* who asked for the stop: (uid_t) -1 if not known */
        pid_t stop_pid;   /* 0 if not known */
        const char *cause; /* a stop asked for because of another backend: why ("redis stopped"), or NULL */
        corral_how how;
        int exit_code; /* -1 unless how == CORRAL_HOW_EXITED */
        int signal;    /* 0 unless killed or dumped */
        bool core_dumped;
        bool escalated; /* cgroup.kill was needed */
        bool oom_killed;
        unsigned leftover; /* processes besides the main one that were still in the cgroup */
        uint64_t runtime_usec;       /* CORRAL_RUNTIME_UNKNOWN: it ended while no supervisor ran */
        int error;                   /* start-failed: the positive errno */
        unsigned attempt;            /* restarting: the restart's number since the last reset */
        uint64_t restart_delay_usec; /* restarting: the delay before it */
        const char *message;
        /* An unexpected verdict of a captured backend: the last lines of its stderr (at most 5 and
         * 1 KiB), or NULL. */
        const char *stderr_tail;
        /* A verdict of a death by the signal a corral_backend_kill() sent (and no stop asked for):
         * that signal, and who asked for it (kill_uid (uid_t) -1 and kill_pid 0: the library's
         * caller, corral_backend_kill()). kill_signal is 0 otherwise. */
        int kill_signal;
        uid_t kill_uid;
        pid_t kill_pid;
        /* reloaded and reload-failed: who asked for the reload (corral_backend_reload_by());
         * (uid_t) -1 and 0 for the library's caller (corral_backend_reload()) and other events. */
        uid_t reload_uid;
        pid_t reload_pid;
        /* health and unhealthy: what its health checks say now; CORRAL_HEALTH_UNKNOWN otherwise. */
        corral_health health;
} corral_event;

typedef void (*corral_event_handler_t)(corral *c, const corral_event *ev, void *userdata);

/* corral_new() flags */
enum {
        /* Become a child subreaper: orphans of a backend come to this process, so a pid read from
         * a backend's cgroup cannot be recycled before it is signalled, and corral reaps them when
         * SIGCHLD comes (it is blocked in the calling thread and read through the loop). Use
         * only when this process has no children of its own besides the backends. */
        CORRAL_NEW_SUBREAPER = 1 << 0,
        /* Move the calling process into the leaf "<root>/supervisor" first, so that the root is
         * free for the backends' leaves: what a service with Delegate=yes must do. */
        CORRAL_NEW_OWN_LEAF = 1 << 1,
        /* Keep each backend's spec and state (intent, readiness, restart counters) in extended
         * attributes of its leaf, so that a supervisor started after this one dies can take its
         * backends back with corral_adopt(): trusted.* as root, user.* otherwise (a subtree
         * delegated to this user; Linux >= 5.7). */
        CORRAL_NEW_PERSIST = 1 << 2,
        /* Raise this process's RLIMIT_NOFILE as far as it may go (each backend costs the
         * supervisor about 5 fds); backends still get the limit it had before, unless their spec
         * sets one. */
        CORRAL_NEW_RAISE_NOFILE = 1 << 3,
};

/**
 * corral_new() - create a supervisor.
 * @ret: the new supervisor, owned by the caller (corral_free()).
 * @cgroup_root: directory under which each backend gets a leaf cgroup, or NULL to use
 *               $CORRAL_CGROUP_ROOT or else the caller's own cgroup in the cgroup2 mount.
 * @flags: CORRAL_NEW_* flags.
 *
 * Return: 0, -ENOMEDIUM if there is no cgroup2 mount, -EOPNOTSUPP if the kernel lacks pidfds
 * or clone3, or another negative errno.
 */
int corral_new(corral **ret, const char *cgroup_root, uint64_t flags);

/**
 * corral_free() - destroy a supervisor. Backends still alive are killed with cgroup.kill and
 * waited for (no events are emitted), so no process, cgroup or fd is left behind.
 * Return: NULL.
 */
corral *corral_free(corral *c);

/**
 * corral_leave() - destroy a supervisor but leave its backends running, for the next supervisor
 * on the same cgroup root to take back (corral_adopt()): what a crash would leave, with nothing
 * half done. Nothing is signalled and no event is emitted; each backend's record (on its leaf
 * and in the state directory) stays as it is, its fds here are closed (keep them elsewhere first,
 * or its output pipes end). Auxiliary commands (ExecStartPre= and the like) are killed: the next
 * supervisor could not tell how they ended.
 * Return: NULL.
 */
corral *corral_leave(corral *c);

/**
 * corral_get_fallbacks() - what this kernel lacks and what corral does instead, as one line,
 * for the caller to log at start-up; NULL when no fallback is in use. Borrowed.
 */
const char *corral_get_fallbacks(corral *c);

/** corral_set_event_handler() - where lifecycle events go. */
void corral_set_event_handler(corral *c, corral_event_handler_t handler, void *userdata);

typedef void (*corral_log_handler_t)(corral *c, corral_level level, const char *message, void *userdata);
/**
 * corral_set_log_handler() - where corral's own problems go that are no backend's event: a state
 * directory or record refused, a log file that cannot be reopened for a backend taken back. One
 * line each, without a trailing newline; dropped while no handler is set.
 */
void corral_set_log_handler(corral *c, corral_log_handler_t handler, void *userdata);

/** corral_get_cgroup_root() - the directory the backends' leaves are made in. */
const char *corral_get_cgroup_root(corral *c);

/**
 * corral_get_event() - the sd-event loop corral runs on, to add sources of one's own
 * (signals, say). Borrowed: valid until corral_free().
 */
sd_event *corral_get_event(corral *c);

/** corral_get_fd() - an fd that polls readable when corral_dispatch() has work to do. */
int corral_get_fd(corral *c);

/** corral_dispatch() - do whatever is pending, without blocking. Return: 0 or -errno. */
int corral_dispatch(corral *c);

/** corral_run() - run the loop until corral_exit(). Return: the code passed to corral_exit(). */
int corral_run(corral *c);

/**
 * corral_add_signals() - read these signals from the loop: they are blocked in the calling
 * thread and given a handler that never runs (as PID 1 of a container, the kernel would drop a
 * signal whose disposition is the default), and @handler is called for each. They are handled
 * before any backend's events that are pending with them, and no backend's exit is judged while
 * one of them is pending: a stop asked for by a signal that reached the supervisor first is
 * recorded before a backend's death from the same kill is judged (systemd's
 * KillMode=control-group signals a service's main process first, then the rest; see
 * corral_stop_by_signal() for a death the stop then finds already there).
 */
int corral_add_signals(corral *c, const int *sigs, size_t n, sd_event_signal_handler_t handler,
                       void *userdata);

/** corral_exit() - make corral_run() return @code once the current dispatch is done. */
int corral_exit(corral *c, int code);

/* Backend specs: what to start and how to stop it. */
int corral_spec_new(corral_spec **ret);
/** corral_spec_free() - drop the caller's spec; a frozen one lives on in the backends spawned from it. */
corral_spec *corral_spec_free(corral_spec *s);
/**
 * corral_spec_freeze() - @s is not changed again: a backend spawned from it keeps a reference to it
 * rather than a copy of its own, so that a supervisor that keeps every spec for its restarts (as
 * corrald does) does not hold each twice. Every setter on @s fails with -EBUSY afterwards, and
 * @s is left as it was. Return: @s.
 */
corral_spec *corral_spec_freeze(corral_spec *s);
/** corral_spec_set_name() - 1-64 chars of [A-Za-z0-9_.@-], not "." or "..". -EINVAL otherwise. */
int corral_spec_set_name(corral_spec *s, const char *name);
/** corral_spec_set_argv() - the command; argv[0] is looked up in $PATH if it has no '/'. */
int corral_spec_set_argv(corral_spec *s, char *const *argv);
/** corral_spec_set_environment() - "KEY=value" strings; NULL (the default): the supervisor's. */
int corral_spec_set_environment(corral_spec *s, char *const *envp);
/** corral_spec_add_environment() - "KEY=value" strings added to (over) the supervisor's environment. */
int corral_spec_add_environment(corral_spec *s, char *const *envp);
/**
 * corral_spec_append_environment() - one "KEY=value" after those set so far (a later one of the
 * same KEY wins), over the supervisor's environment unless corral_spec_set_clear_environment()
 * says otherwise, before or after. -EINVAL if @assignment is not KEY=value.
 */
int corral_spec_append_environment(corral_spec *s, const char *assignment);
/**
 * corral_spec_set_clear_environment() - true: the backend's environment is the assignments of
 * the spec alone (none if there are none); false (the default): they go over the supervisor's.
 */
int corral_spec_set_clear_environment(corral_spec *s, bool clear);
/**
 * corral_spec_set_user() - run as this user (name or number), with its primary group and its
 * supplementary groups; NULL (default): as the supervisor. Resolved at each start.
 */
int corral_spec_set_user(corral_spec *s, const char *user);
/** corral_spec_set_group() - primary group (name or number) instead of the user's. */
int corral_spec_set_group(corral_spec *s, const char *group);
int corral_spec_set_no_new_privileges(corral_spec *s, bool enable);
/*
 * The sandbox: systemd's keys of the same names, with their syntax and semantics (see
 * corral.backend(5)). A list given several times adds up, "~" before it inverts it, an empty
 * value (or NULL) resets the setting. Each returns 0 or -EINVAL for a value it does not take.
 */
/**
 * corral_spec_set_capability_bounding_set() - "CAP_NET_BIND_SERVICE CAP_CHOWN" or "~CAP_SYS_ADMIN";
 * "" (as systemd): none at all; NULL: not set (all).
 */
int corral_spec_set_capability_bounding_set(corral_spec *s, const char *caps);
/** corral_spec_set_ambient_capabilities() - kept by a backend that runs as another user than root. */
int corral_spec_set_ambient_capabilities(corral_spec *s, const char *caps);
/** corral_spec_set_system_call_filter() - an allow list, or "~" a deny list, of names and @groups. */
int corral_spec_set_system_call_filter(corral_spec *s, const char *list);
/** corral_spec_set_system_call_error_number() - "EPERM", a number, or "kill" (the default: SIGSYS). */
int corral_spec_set_system_call_error_number(corral_spec *s, const char *errno_name);
/** corral_spec_set_system_call_architectures() - "native" or empty. */
int corral_spec_set_system_call_architectures(corral_spec *s, const char *arches);
/** corral_spec_set_protect_system() - no, yes, full or strict. */
int corral_spec_set_protect_system(corral_spec *s, const char *mode);
/** corral_spec_set_protect_home() - no, yes, read-only or tmpfs. */
int corral_spec_set_protect_home(corral_spec *s, const char *mode);
/** corral_spec_add_read_only_path() - an absolute path, "-" before it if it may be missing. */
int corral_spec_add_read_only_path(corral_spec *s, const char *path);
int corral_spec_add_read_write_path(corral_spec *s, const char *path);
int corral_spec_add_inaccessible_path(corral_spec *s, const char *path);
int corral_spec_set_private_tmp(corral_spec *s, bool enable);
int corral_spec_set_private_devices(corral_spec *s, bool enable);
int corral_spec_set_private_network(corral_spec *s, bool enable);
int corral_spec_set_protect_kernel_tunables(corral_spec *s, bool enable);
int corral_spec_set_protect_kernel_modules(corral_spec *s, bool enable);
int corral_spec_set_protect_control_groups(corral_spec *s, bool enable);
int corral_spec_set_lock_personality(corral_spec *s, bool enable);
int corral_spec_set_memory_deny_write_execute(corral_spec *s, bool enable);
/** corral_spec_set_restrict_address_families() - "AF_INET AF_INET6 AF_UNIX", "~AF_PACKET", "none". */
int corral_spec_set_restrict_address_families(corral_spec *s, const char *list);
/** corral_spec_set_restrict_namespaces() - yes, no, or a list (or "~" list) of cgroup ipc net mnt pid user
 * uts. */
int corral_spec_set_restrict_namespaces(corral_spec *s, const char *v);
/** corral_spec_set_umask() - 0 to 0777, or -1 (default) to inherit. */
int corral_spec_set_umask(corral_spec *s, int mask);
/** corral_spec_set_rlimit() - a resource limit (RLIMIT_NOFILE, ...); RLIM_INFINITY for none. */
int corral_spec_set_rlimit(corral_spec *s, int resource, uint64_t soft, uint64_t hard);
/** corral_spec_set_working_directory() - an absolute path; NULL (the default): the supervisor's. */
int corral_spec_set_working_directory(corral_spec *s, const char *path);
int corral_spec_set_type(corral_spec *s, corral_type type);
/** corral_spec_set_stop_signal() - default SIGTERM. */
int corral_spec_set_stop_signal(corral_spec *s, int sig);
/** corral_spec_set_grace() - time between the stop signal and cgroup.kill, default 15 s. */
int corral_spec_set_grace(corral_spec *s, uint64_t usec);
/**
 * corral_spec_set_kill_mode() - who gets the stop signal: CORRAL_KILL_CONTROL_GROUP (the
 * default) every process of the cgroup; CORRAL_KILL_MIXED the main process alone (through its
 * pidfd), and whatever is left in the cgroup when it exits, or at the deadline, is killed with
 * cgroup.kill (a server that stops its own workers gracefully: PostgreSQL, gunicorn). -EINVAL
 * for any other value: there is no mode that leaves a process behind.
 */
int corral_spec_set_kill_mode(corral_spec *s, corral_kill_mode mode);
/**
 * corral_spec_add_exec_start_pre() - a command run before the main one, in its leaf (a group of
 * its own there), as its user, with its environment; in the order added, each to its end; one
 * that fails (or is not done within the start timeout) is start-failed, with its stderr tail, and
 * the main command never runs. @line is a command line in systemd's syntax (words, quotes,
 * backslash escapes); a leading "-" ignores its failure. "" removes those added so far. -EINVAL
 * for an empty or unterminated line, a ";" word, or a prefix other than "-" (@, +, !, :).
 */
int corral_spec_add_exec_start_pre(corral_spec *s, const char *line);
/**
 * corral_spec_add_exec_stop_post() - a command run after every launch ends (its main process and
 * every other process of its leaf gone), whatever its verdict, before the verdict is told; within
 * the stop timeout (TimeoutStopSec=). Its failure is logged, never changes the verdict. As
 * corral_spec_add_exec_start_pre() for @line.
 */
int corral_spec_add_exec_stop_post(corral_spec *s, const char *line);
/**
 * corral_spec_add_exec_reload() - a command that reloads the backend (corral_backend_reload()),
 * run in its leaf with $MAINPID set, within the start timeout; its exit status decides. As
 * corral_spec_add_exec_start_pre() for @line.
 */
int corral_spec_add_exec_reload(corral_spec *s, const char *line);
/**
 * corral_spec_set_reload_signal() - the signal a reload sends the main process (through its
 * pidfd); 0 (the default): none.
 */
int corral_spec_set_reload_signal(corral_spec *s, int sig);
/**
 * corral_spec_add_environment_file() - a file of KEY=VALUE lines in systemd's syntax read at each
 * start, as the backend's user, following no symlink; its assignments come after the
 * environment of the supervisor and before corral_spec_append_environment()'s (which win, as in
 * systemd). An absolute path; a leading "-" makes it optional (a missing file is no error).
 * "" removes those added so far. -EINVAL for another path.
 */
int corral_spec_add_environment_file(corral_spec *s, const char *path);
/** corral_kill_mode_from_string() - "control-group" or "mixed"; -EINVAL otherwise. */
int corral_kill_mode_from_string(const char *s);
/** corral_kill_mode_to_string() - "control-group", "mixed"; NULL when out of range. */
const char *corral_kill_mode_to_string(corral_kill_mode m);

/**
 * corral_spec_set_restart() - the restart policy and its backoff at once: the n-th restart in a
 * row waits min(@initial_usec * @factor^(n-1), @max_usec), +-10% jitter; a run that stayed up for
 * @reset_usec starts the sequence again. Defaults: no, 100 ms, 2, 5 min, 10 s. What the four
 * setters below do, one value each, with the @factor besides; -EINVAL if @max_usec is below
 * @initial_usec or @factor is 0 (nothing is changed then). Kept for the callers it had before them.
 */
int corral_spec_set_restart(corral_spec *s, corral_restart policy, uint64_t initial_usec, unsigned factor,
                            uint64_t max_usec, uint64_t reset_usec);
/** corral_spec_set_restart_policy() - when it is started again after a verdict; default no. */
int corral_spec_set_restart_policy(corral_spec *s, corral_restart policy);
/**
 * corral_spec_set_restart_delay() - the first restart's delay; the n-th in a row waits twice the
 * one before, at most the max delay, +-10%. Default 100 ms.
 */
int corral_spec_set_restart_delay(corral_spec *s, uint64_t usec);
/**
 * corral_spec_set_restart_max_delay() - the longest delay between restarts, default 5 min. Below
 * the first delay, every restart waits this long.
 */
int corral_spec_set_restart_max_delay(corral_spec *s, uint64_t usec);
/** corral_spec_set_restart_reset() - a run that stays up this long starts the delays over; 10 s. */
int corral_spec_set_restart_reset(corral_spec *s, uint64_t usec);
/**
 * corral_spec_set_restart_limit() - the crash-loop limit: the @burst-th restart within
 * @interval_usec makes the backend failed instead (0 to disable). Default: 5 in 1 min. The two
 * setters below at once.
 */
int corral_spec_set_restart_limit(corral_spec *s, unsigned burst, uint64_t interval_usec);
/** corral_spec_set_restart_limit_burst() - the limit's count, 0 (none) to 64; -ERANGE above. */
int corral_spec_set_restart_limit_burst(corral_spec *s, unsigned burst);
/** corral_spec_set_restart_limit_interval() - the limit's window (0: no limit). */
int corral_spec_set_restart_limit_interval(corral_spec *s, uint64_t usec);

/**
 * corral_spec_set_ready() - how readiness is known. With CORRAL_READY_NOTIFY the backend gets
 * $NOTIFY_SOCKET, a socket of its own that only its user may send to; only a message from a
 * process inside its cgroup is believed. Not ready within
 * @start_timeout_usec (0: no limit; default 90 s): start-failed, and its cgroup is killed.
 */
int corral_spec_set_ready(corral_spec *s, corral_ready mode, uint64_t start_timeout_usec);

/**
 * corral_spec_set_ready_tcp() - ready once a TCP socket made by (or held open by) a process of
 * the backend's cgroup listens on @host (a numeric IPv4 or IPv6 address, or "localhost") and
 * @port, as the kernel's sock_diag tells; looked for again, 10 ms to 500 ms apart, until then. A
 * listener of another process never counts (the start times out, saying so).
 * -EINVAL for anything else: no name is looked up, the loop never blocks on DNS.
 */
int corral_spec_set_ready_tcp(corral_spec *s, const char *host, unsigned port, uint64_t start_timeout_usec);

/**
 * corral_spec_set_ready_string() - "none", "notify", "tcp:HOST:PORT" ("tcp:[::1]:8080"),
 * "http://HOST:PORT/PATH" (a socket of its own listens there, as for tcp:, and a GET of PATH
 * answers 2xx within the health check timeout) or "exec:CMD" (CMD, run with /bin/sh -c in the
 * backend's cgroup as its user, exits 0 within the health check timeout). Tried again, 10 ms to
 * 500 ms apart, until then. HOST is numeric or localhost.
 */
int corral_spec_set_ready_string(corral_spec *s, const char *ready, uint64_t start_timeout_usec);

/**
 * corral_spec_set_readiness() - corral_spec_set_ready_string() that leaves the start timeout as
 * it is: "none" (the default), "notify" or "tcp:HOST:PORT". -EINVAL for anything else.
 */
int corral_spec_set_readiness(corral_spec *s, const char *ready);

/**
 * corral_spec_set_health_check() - while it runs (ready, not stopping), check it every health
 * check interval (corral_spec_set_health_check_interval(), default 30 s) the way @check says,
 * as Ready= does: "tcp:HOST:PORT", "http://HOST:PORT/PATH" or "exec:CMD"; NULL or "none" for
 * no checks (the default: no timer at all). A check not passed within the timeout (default
 * 10 s) failed; after corral_spec_set_health_check_failures() (default 3) failures in a row
 * its cgroup is killed and the verdict is `unhealthy`; the restart policy applies.
 */
int corral_spec_set_health_check(corral_spec *s, const char *check);
/** corral_spec_set_health_check_interval() - between the end of a check and the next; > 0. */
int corral_spec_set_health_check_interval(corral_spec *s, uint64_t usec);
/** corral_spec_set_health_check_timeout() - how long a check (and a try of Ready=http, exec) may take; > 0.
 */
int corral_spec_set_health_check_timeout(corral_spec *s, uint64_t usec);
/** corral_spec_set_health_check_failures() - failures in a row that make it unhealthy: 1 to 1000. */
int corral_spec_set_health_check_failures(corral_spec *s, unsigned n);

/**
 * corral_spec_set_start_timeout() - not ready within @usec of its start: start-failed, and its
 * cgroup is killed. 0: no limit. Default 90 s.
 */
int corral_spec_set_start_timeout(corral_spec *s, uint64_t usec);

/**
 * corral_spec_set_watchdog() - the backend must send WATCHDOG=1 on $NOTIFY_SOCKET at least every
 * @usec (it gets $WATCHDOG_USEC; WATCHDOG_USEC= from it changes the period); if it does not, its
 * cgroup is killed and the verdict is `watchdog`. 0 (the default): no watchdog.
 */
int corral_spec_set_watchdog(corral_spec *s, uint64_t usec);

/*
 * Resource limits, enforced by the backend's cgroup: its leaf's own files where cgroup v2 offers
 * the controller, else a matching cgroup in the controller's cgroup v1 hierarchy (hybrid hosts),
 * joined before exec. CORRAL_LIMIT_NONE (the default) for none. A limit this host cannot enforce
 * makes corral_spawn() fail with -EOPNOTSUPP (start-failed, naming the controller).
 */
#define CORRAL_LIMIT_NONE UINT64_MAX
/** corral_spec_set_memory_max() - bytes (memory.max; v1 memory.limit_in_bytes). */
int corral_spec_set_memory_max(corral_spec *s, uint64_t bytes);
/** corral_spec_set_pids_max() - at most this many processes and threads at once (pids.max). */
int corral_spec_set_pids_max(corral_spec *s, uint64_t n);
/** corral_spec_set_cpu_max() - @quota_usec of CPU time per @period_usec (cpu.max; v1 cfs quota). */
int corral_spec_set_cpu_max(corral_spec *s, uint64_t quota_usec, uint64_t period_usec);
/** corral_spec_set_cpu_weight() - 1 to 10000, default 100 (cpu.weight; v1 cpu.shares = weight * 10.24). */
int corral_spec_set_cpu_weight(corral_spec *s, uint64_t weight);

typedef enum corral_output {
        /* The default: stdout and stderr are pipes read by the supervisor's loop, kept in a ring
         * buffer (corral_backend_read_output()), copied to a log file if one is set, and to the
         * journal as a stream of the backend's name when journald is there. */
        CORRAL_OUTPUT_CAPTURE,
        CORRAL_OUTPUT_INHERIT, /* the supervisor's own stdout and stderr */
} corral_output;
int corral_spec_set_output(corral_spec *s, corral_output output);
/** corral_spec_set_log_buffer() - bytes of output kept in memory, default 1 MiB, 0 for none;
 * at most 1 GiB. Allocated as output comes, never beyond this, however fast the backend writes. */
int corral_spec_set_log_buffer(corral_spec *s, uint64_t bytes);
/** corral_spec_set_log_file() - also append output to @path (absolute), rotated when it would
 * grow past @max_bytes (0: what corral_spec_set_log_file_max() set, 10 MiB by default) to path.1,
 * path.2, ... (corral_spec_set_log_file_keep()); NULL for none. */
int corral_spec_set_log_file(corral_spec *s, const char *path, uint64_t max_bytes);
/** corral_spec_set_log_file_max() - the log file's size at which it is rotated: 4 KiB to 1 TiB
 * (-ERANGE otherwise), default 10 MiB. */
int corral_spec_set_log_file_max(corral_spec *s, uint64_t bytes);
/** corral_spec_set_log_file_keep() - rotated files kept, path.1 (the newest) to path.N: 0 to 100
 * (-ERANGE above), default 3; 0: the file is emptied when it is full. */
int corral_spec_set_log_file_keep(corral_spec *s, unsigned n);
/** corral_spec_set_log_journal() - copy output to the journal when it is there (default true). */
int corral_spec_set_log_journal(corral_spec *s, bool enable);

/* What a spec holds, for callers that show it. Borrowed. */
const char *corral_spec_get_name(const corral_spec *s);
char *const *corral_spec_get_argv(const corral_spec *s);
corral_type corral_spec_get_type(const corral_spec *s);
corral_restart corral_spec_get_restart(const corral_spec *s);
/** corral_spec_get_health_check() - its HealthCheck= as given ("http://127.0.0.1:80/"), or NULL for none. */
const char *corral_spec_get_health_check(const corral_spec *s);

/**
 * corral_spawn() - start a backend in a new leaf cgroup.
 * @ret: optional; a new reference to the backend (corral_backend_unref()).
 *
 * Emits "started" before returning. If the command cannot be executed, emits "start-failed",
 * removes the leaf and returns the exec errno (-ENOENT, -EACCES, ...); -ESRCH if its user or
 * group does not exist (the event says "no such user 'x'").
 * With ExecStartPre= commands (corral_spec_add_exec_start_pre()), it returns once the first of
 * them runs, and "started" (or "start-failed") comes from the loop after them; one that cannot
 * even be started is start-failed before the call returns, which then returns -ENOEXEC.
 */
/**
 * corral_backend_reload() - reload a backend that is starting or running, as its spec says: its
 * ExecReload= commands in order (in its cgroup, with $MAINPID; each must exit 0, unless its line
 * has the "-" prefix), else its ReloadSignal= to the main process through its pidfd. With
 * Ready=notify, a RELOADING=1 it sends during the reload (after the signal: systemd's
 * notify-reload) makes the reload last until its next READY=1. All of it within the start timeout
 * (TimeoutStartSec=; none if that is infinity). Its end is one event: "reloaded" (info), or
 * "reload-failed" (warning, its message saying why; error ETIMEDOUT when it was not done in time;
 * also when the backend ends or is stopped meanwhile).
 * Returns 0 (under way), -EOPNOTSUPP (neither ExecReload= nor ReloadSignal=), -ESTALE (not
 * starting or running), -EBUSY (a reload is under way already: its event tells), -EINVAL.
 */
int corral_backend_reload(corral_backend *b);
/**
 * corral_backend_reload_by() - corral_backend_reload(), recording who asked (a uid and pid from
 * SO_PEERCRED, say): its reloaded or reload-failed event carries them as reload_uid and
 * reload_pid. A reload under way already (-EBUSY) keeps its own.
 */
int corral_backend_reload_by(corral_backend *b, uid_t uid, pid_t pid);
/** corral_spec_can_reload() - whether it says how to reload (ExecReload= or ReloadSignal=). */
bool corral_spec_can_reload(const corral_spec *s);

int corral_spawn(corral *c, const corral_spec *s, corral_backend **ret);

/* corral_stop() return values, besides a negative errno. */
enum {
        CORRAL_STOP_STARTED = 0, /* the intent is recorded and the stop signal sent */
        CORRAL_STOP_PENDING = 1, /* a stop was already under way, or the backend had already
                                  * exited on its own and is being cleaned up: nothing new sent,
                                  * and no restart follows (that exit's verdict is unexpected) */
        CORRAL_STOP_ALREADY = 2, /* the backend is gone: already stopped */
};

/**
 * corral_stop() - stop a backend on purpose. The intent is recorded before any signal; the stop
 * signal goes to every process of the backend's cgroup (with CORRAL_KILL_MIXED to its main
 * process alone, and what is left when it exits is killed at once), and after @grace_usec
 * (CORRAL_GRACE_DEFAULT: the spec's) the cgroup is killed. The verdict comes as an event once the
 * main process is reaped and the cgroup is empty. Never fails on a backend that already stopped.
 * Return: one of CORRAL_STOP_*, or a negative errno.
 */
int corral_stop(corral_backend *b, uint64_t grace_usec);

/**
 * corral_stop_by() - corral_stop(), recording who asked (a uid and pid from SO_PEERCRED, say);
 * the verdict event carries them as stop_uid and stop_pid.
 */
int corral_stop_by(corral_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid);

/**
 * corral_stop_because() - corral_stop_by() for a stop asked for because of something else (say,
 * a backend this one requires stopped): @cause (copied; NULL: none) says what, and the stop's
 * events carry it as cause. A stop already under way keeps its own cause.
 */
int corral_stop_because(corral_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid, const char *cause);

/**
 * corral_stop_by_signal() - corral_stop_by() for a stop asked for by a signal to the supervisor
 * (@si, as a corral_add_signals() handler gets it; its sender is who asked), whose sender may
 * have signalled the backend's processes too: systemd's default KillMode=control-group sends a
 * service's main process its stop signal first and every other process of its cgroup right
 * after. So an exit of the main process that the loop has not judged yet when this stop is
 * handled is this stop's: intentional, and stopped (unless it dumped core or was OOM-killed).
 * That is correct by construction for such a sender: its signal was pending before the backend
 * got its own, and no exit is judged while a signal of corral_add_signals() is pending. An exit
 * judged before (the verdict may still wait for the cgroup to empty) stays unexpected.
 */
int corral_stop_by_signal(corral_backend *b, uint64_t grace_usec, const struct signalfd_siginfo *si);

/* Who corral_backend_kill() signals. */
typedef enum corral_kill_whom {
        CORRAL_KILL_MAIN, /* the main process, through its pidfd */
        CORRAL_KILL_ALL,  /* every process of the backend's cgroup */
} corral_kill_whom;

/**
 * corral_backend_kill() - send @sig to a backend whose main process runs (starting, running or
 * stopping): to its main process through its pidfd, or to every process of its cgroup, each
 * through a pidfd checked to be in the leaf after it is opened (SIGKILL to all: cgroup.kill). A
 * kill is not a stop: no intent is recorded, and an end that follows is judged as any end nobody
 * asked for (a warning). But the signal, and who asked for it, are recorded with the backend
 * before it is sent (and kept for a supervisor after this one, as a stop's intent is): the verdict
 * of a death by that signal names both, in its message and in kill_signal, kill_uid, kill_pid.
 * Return: the number of processes signalled; -ESRCH if its main process does not run (it never
 * started, it exited, it is gone or waits for its restart); -EINVAL for a signal that is not one
 * or a @whom that is neither; or another negative errno.
 */
int corral_backend_kill(corral_backend *b, int sig, corral_kill_whom whom);

/**
 * corral_backend_kill_by() - corral_backend_kill(), recording who asked (a uid and pid from
 * SO_PEERCRED, say) instead of the library's caller.
 */
int corral_backend_kill_by(corral_backend *b, int sig, corral_kill_whom whom, uid_t uid, pid_t pid);

/**
 * corral_stop_all() - corral_stop() every live backend at once, under one deadline.
 * Return: the number of backends a stop was started for, or a negative errno.
 */
int corral_stop_all(corral *c, uint64_t grace_usec);
int corral_stop_all_by(corral *c, uint64_t grace_usec, uid_t uid, pid_t pid);

/**
 * corral_adopt() - take back the backends an earlier supervisor of the same root left running
 * (it crashed, or was killed): each leaf with a kept spec is supervised again. A live main
 * process (the same pid and start time, still in its leaf) is watched through a new pidfd; not
 * being our child, its exit status comes from PIDFD_INFO_EXIT (6.15) or its zombie's /proc
 * entry, else how is unknown. A stop under way goes on with its intent and deadline; a restart
 * being waited for is kept. A leaf whose main process is gone is killed and concluded (with how
 * unknown) from the loop. Leaves without a kept spec are not touched.
 * @ret: a malloc'ed array of new references to the backends taken back, @ret_n of them.
 * Return: the number taken back, or a negative errno.
 */
int corral_adopt(corral *c, corral_backend ***ret, size_t *ret_n);

/**
 * corral_adopt_give_fd() - before corral_adopt(): an fd kept for a backend of an earlier
 * supervisor, as systemd's file descriptor store gives them back. @kind: "pidfd" (its main
 * process: its exit status can be had even if it ended while no supervisor ran), "stdout" or
 * "stderr" (the read ends of its output pipes: its output goes on instead of hitting a closed
 * pipe). @leaf: "<name>.<launch>". Taken: corral_adopt() closes what no backend claims.
 */
int corral_adopt_give_fd(corral *c, const char *leaf, const char *kind, int fd);

/**
 * corral_backend_get_fds() - what to keep in a store such as systemd's while it runs: its pidfd
 * and its output pipes' read ends, -1 where there is none. Borrowed.
 */
void corral_backend_get_fds(corral_backend *b, int *ret_pidfd, int *ret_stdout, int *ret_stderr);

/**
 * corral_set_state_directory() - with CORRAL_NEW_PERSIST, also keep each backend's record as a
 * file in @dir (written atomically: a temporary file, fsync, rename), for hosts where an empty
 * leaf does not outlive the supervisor (systemd removes the empty cgroups of a service it
 * restarts): a backend that ended while no supervisor ran is then still reported. Made if
 * missing (0700). What is read back from it is trusted only as far as it is
 * ours: @dir must be owned by us and writable by nobody else, with no symlink on its path and
 * every directory above it owned by root or us and not writable by others (unless sticky), and a
 * record is read only if it is a regular file of ours that nobody else may write. Call before
 * corral_adopt(). Return: 0, -EPERM or -ELOOP for a directory that fails the check (the log
 * handler is told why), or -errno.
 */
int corral_set_state_directory(corral *c, const char *dir);

/**
 * corral_set_notify_directory() - where each backend that reports readiness or has a watchdog
 * gets its $NOTIFY_SOCKET: a socket of its own, "@dir/<launch>", owned by the backend's user
 * with mode 0600, so that no other user can send to it (or flood it). Made if missing (0711),
 * and checked as corral_set_state_directory() checks its directory. A supervisor that takes
 * backends back (corral_adopt()) finds their sockets where they were: set the same directory.
 * Without it, a private directory is made at the first backend that needs one (under /run for
 * root, $XDG_RUNTIME_DIR or /tmp otherwise) and removed by corral_free().
 * Return: 0, -EPERM or -ELOOP for a directory that fails the check (the log handler says why),
 * or -errno.
 */
int corral_set_notify_directory(corral *c, const char *dir);

/** corral_backend_get_spec() - the spec it is (re)started from. Borrowed. */
const corral_spec *corral_backend_get_spec(corral_backend *b);

/**
 * corral_spec_equal() - whether two specs would start the same backend: every setting the same.
 * (A reload of a definition restarts a backend only when it changed.)
 */
bool corral_spec_equal(const corral_spec *a, const corral_spec *b);

/** corral_spec_dup() - a copy of a spec, owned by the caller. */
int corral_spec_dup(const corral_spec *s, corral_spec **ret);

/** corral_count() - backends not yet gone. */
unsigned corral_count(corral *c);

corral_backend *corral_backend_ref(corral_backend *b);
corral_backend *corral_backend_unref(corral_backend *b);
const char *corral_backend_get_name(corral_backend *b);
const char *corral_backend_get_launch(corral_backend *b);
/** corral_backend_get_cgroup() - the leaf's path below the cgroup2 mount, e.g. "/corral/x.1f". */
const char *corral_backend_get_cgroup(corral_backend *b);
pid_t corral_backend_get_pid(corral_backend *b);
corral_state corral_backend_get_state(corral_backend *b);
/** corral_backend_get_next_restart() - CLOCK_REALTIME µs of the next attempt, or 0 if none is due. */
uint64_t corral_backend_get_next_restart(corral_backend *b);
/** corral_backend_get_restarts() - restarts since the last reset by a long enough run. */
unsigned corral_backend_get_restarts(corral_backend *b);
/**
 * corral_backend_get_health() - what its health checks say now (CORRAL_HEALTH_UNKNOWN without
 * any), and in @ret_failures (optional) how many failed in a row.
 */
corral_health corral_backend_get_health(corral_backend *b, unsigned *ret_failures);
/** corral_health_to_string() - "unknown", "healthy", "unhealthy"; NULL when out of range. */
const char *corral_health_to_string(corral_health h);
/** corral_backend_get_status_text() - the last STATUS= it sent, or NULL. Borrowed. */
const char *corral_backend_get_status_text(corral_backend *b);
/**
 * corral_backend_get_start_time() - CLOCK_REALTIME µs at which its current launch started (also
 * for a backend taken back from a supervisor before us: its record carries it), or 0 if it has no
 * launch (gone, or restarting).
 */
uint64_t corral_backend_get_start_time(corral_backend *b);
/**
 * corral_backend_get_ready() - whether its launch has reported readiness: 1 once it did, 0 while
 * it has not yet; -ENODATA if it is not to report any (Ready=none) or has no launch.
 */
int corral_backend_get_ready(corral_backend *b);
/**
 * corral_backend_get_usage() - the cgroup's memory.current (on hybrid hosts, where the backend has
 * a cgroup v1 memory group, its memory.usage_in_bytes) and cpu.stat usage_usec; each is
 * UINT64_MAX where the kernel does not account it. Return: 0, or -ESTALE once the backend is gone.
 */
int corral_backend_get_usage(corral_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec);

/**
 * corral_backend_get_processes() - how many processes its cgroup holds now (cgroup.procs: not
 * threads). Return: that number, or -ESTALE once the backend is gone, or -errno.
 */
int corral_backend_get_processes(corral_backend *b);

/* What a backend counted over its launches, kept in its record: a supervisor that takes it back
 * (corral_adopt()) goes on from there. */
typedef struct corral_counters {
        unsigned restarts;   /* launches made by its restart policy, or asked as a restart */
        unsigned oom_kills;  /* its processes the OOM killer killed (the cgroup's oom_kill count) */
        int last_exit;       /* how its last launch ended: exit code, 128+N for signal N; -1: none known */
        uint64_t start_usec; /* CLOCK_REALTIME start of its current or last launch; 0: none */
} corral_counters;

/** corral_backend_get_counters() - its counters, as of now. Return: 0, -EINVAL. */
int corral_backend_get_counters(corral_backend *b, corral_counters *ret);

/** corral_backend_get_verdicts() - how many verdicts of this type and level it had. */
uint64_t corral_backend_get_verdicts(corral_backend *b, corral_event_type type, corral_level level);

/**
 * corral_spawn_after() - corral_spawn() of a backend that ran before as @prev (NULL: none), which
 * is started again by hand: its counters (corral_backend_get_counters(), verdicts) go on from
 * @prev's, with one restart more if @restart, in its record from the start. A start that fails
 * is counted in @prev, which the caller keeps.
 */
int corral_spawn_after(corral *c, const corral_spec *s, corral_backend *prev, bool restart,
                       corral_backend **ret);

/**
 * corral_backend_read_output() - the last @lines lines (0: all) of the output kept in memory,
 * across its restarts, as corral_backend_read_output_lines() gives them, each followed by a
 * newline but for the last if it is partial. @ret is malloc'ed and NUL-terminated; output may
 * itself hold NULs, hence @ret_size.
 */
int corral_backend_read_output(corral_backend *b, unsigned lines, char **ret, size_t *ret_size);

typedef enum corral_stream {
        CORRAL_STREAM_STDOUT,
        CORRAL_STREAM_STDERR,
} corral_stream;

/* One line of captured output, as corral read it. */
typedef struct corral_output_line {
        uint64_t ts_usec;     /* CLOCK_REALTIME, µs: when corral read its end (for a partial line,
                               * its last part) */
        corral_stream stream; /* which of the backend's pipes it came from */
        bool partial;         /* not ended by a newline yet */
        const char *data;     /* without its newline; not NUL-terminated, may hold NULs */
        size_t size;
} corral_output_line;

/**
 * corral_backend_read_output_lines() - the output kept in memory (across restarts) as lines, in
 * the order corral read them: each stream is cut at its own newlines, so that a line written in
 * parts is whole even where the other stream's output came between; a line is placed where its
 * end was read. Only the lines read at or after @since_usec (CLOCK_REALTIME; 0: all), and of
 * those the last @lines (0: all). *@ret is one malloc'ed block (free() it) of *@ret_n lines.
 * 0 or -errno (-EINVAL, -ENOMEM).
 */
int corral_backend_read_output_lines(corral_backend *b, unsigned lines, uint64_t since_usec,
                                     corral_output_line **ret, size_t *ret_n);

typedef void (*corral_output_handler_t)(corral *c, corral_backend *b, corral_stream stream, uint64_t ts_usec,
                                        const char *data, size_t size, void *userdata);
/** corral_set_output_handler() - called with each chunk of captured output as it is read: from
 * which stream, when (CLOCK_REALTIME, µs, as in corral_output_line), its bytes. */
void corral_set_output_handler(corral *c, corral_output_handler_t handler, void *userdata);

/* Names, as they appear in logs: "stopped", "warning", "exited". NULL when out of range. */
const char *corral_event_type_to_string(corral_event_type t);
/**
 * corral_event_is_verdict() - whether the event ends a launch (stopped, exited, killed, ...);
 * not started, ready or stopping, nor restarting and failed, which follow a verdict.
 */
bool corral_event_is_verdict(corral_event_type t);
const char *corral_level_to_string(corral_level l);
const char *corral_how_to_string(corral_how h);
const char *corral_state_to_string(corral_state s);
const char *corral_restart_to_string(corral_restart r);
/** corral_restart_from_string() - "no", "on-failure", "always"; -EINVAL otherwise. */
int corral_restart_from_string(const char *s);

#ifdef __cplusplus
}
#endif
