/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend.c: one backend's record and its life: starting, running, stopping with intent, exited, gone
 * or restarting. Every change of state goes through backend_set_state(). */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>

#include "corral-private.h"
#include "fileio.h"
#include "launch.h"
#include "macro.h"
#include "notify.h"
#include "parse.h"
#include "probe.h"
#include "strv.h"
#include "syscall.h"
#include "verdict.h"

/* --- The record. --- */

int backend_new(corral *c, const corral_spec *s, corral_backend **ret) {
        corral_backend *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        *b = (corral_backend){
                .n_ref = 1,
                .corral = c,
                .state = CORRAL_STATE_STARTING,
                .run = BACKEND_RUN_INIT,
                .out = BACKEND_OUTPUT_INIT,
                .last_exit = -1,
        };
        b->name = strdup(s->name);
        if (!b->name || corral_spec_share(s, &b->spec) < 0) {
                free(b->name);
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

static void backend_unwatch(corral_backend *b, int *wd) {
        corral *c = b->corral;

        if (*wd >= 0 && c) {
                (void) hashmap_remove(&c->watches, INT_TO_PTR(*wd));
                cgroup_watch_remove(c->inotify_fd, *wd);
        }
        *wd = -1;
}

/* A watch on one of the leaf's files, mapped back to b. */
static int backend_watch_file(corral_backend *b, const char *file, int *ret_wd) {
        corral *c = b->corral;
        int wd = cgroup_watch_add(c->inotify_fd, &c->root, b->name, b->run.id, file);

        if (wd < 0)
                return wd;
        if (hashmap_put(&c->watches, INT_TO_PTR(wd), b) < 0) {
                cgroup_watch_remove(c->inotify_fd, wd);
                return -ENOMEM;
        }
        *ret_wd = wd;
        return 0;
}

/* The check under way, if any, no more. */
static void backend_check_cancel(backend_check *k) {
        k->http = probe_http_free(k->http);
        k->command = command_free(k->command);
}

/* Its readiness being tried: no more. */
static void backend_probe_done(backend_run *r) {
        r->probe_timer = sd_event_source_disable_unref(r->probe_timer);
        if (r->check && !r->check->for_health)
                backend_check_cancel(r->check);
}

/* Its health being checked: no more. */
static void backend_health_done(backend_run *r) {
        if (!r->check)
                return;
        r->check->health_timer = sd_event_source_disable_unref(r->check->health_timer);
        if (r->check->for_health)
                backend_check_cancel(r->check);
}

static void backend_notify_close(corral_backend *b) {
        backend_run *r = &b->run;

        r->notify_source = sd_event_source_disable_unref(r->notify_source);
        if (r->notify_fd >= 0 && b->corral)
                notify_unbind(b->corral->notify.fd, r->id);
        r->notify_fd = safe_close(r->notify_fd);
}

/* The sweep finds a backend by its main pid while its pidfd is open (a pid without one may be reused). */
static void backend_pid_index(corral_backend *b) {
        if (b->corral && b->run.pid > 0 && hashmap_put(&b->corral->by_pid, INT_TO_PTR(b->run.pid), b) < 0)
                b->corral->by_pid_partial = true; /* the sweep looks through the list instead */
}

static void backend_pid_unindex(corral_backend *b) {
        corral *c = b->corral;

        if (c && b->run.pid > 0 && hashmap_get(&c->by_pid, INT_TO_PTR(b->run.pid)) == b)
                (void) hashmap_remove(&c->by_pid, INT_TO_PTR(b->run.pid));
}

static void backend_pidfd_close(corral_backend *b) {
        backend_run *r = &b->run;

        backend_pid_unindex(b);
        r->pidfd_source = sd_event_source_disable_unref(r->pidfd_source);
        r->pidfd = safe_close(r->pidfd);
}

static void backend_reload_close(backend_run *r);
static void backend_reload_end(corral_backend *b, bool ok, int error, const char *message);

/* Every source and fd of the launch; its facts stay, for the verdict and for List. */
static void backend_run_close(corral_backend *b) {
        backend_run *r = &b->run;

        backend_notify_close(b);
        backend_pidfd_close(b);
        backend_unwatch(b, &r->events_wd);
        backend_unwatch(b, &r->memevents_wd);
        backend_probe_done(r);
        backend_health_done(r);
        r->stop_timer = sd_event_source_disable_unref(r->stop_timer);
        r->start_timer = sd_event_source_disable_unref(r->start_timer);
        r->watchdog_timer = sd_event_source_disable_unref(r->watchdog_timer);
        r->conclude_timer = sd_event_source_disable_unref(r->conclude_timer);
        r->cmd = command_free(r->cmd); /* killed and waited for: nothing of it outlives the launch */
        backend_reload_close(r);
        if (b->corral)
                cgroup_limits_release(&b->corral->limits_host, &b->corral->root, &r->v1);
        else
                cgroup_v1_leaf_done(&r->v1);
}

/* The launch is over for good: the next one starts from BACKEND_RUN_INIT. */
static void backend_run_done(corral_backend *b) {
        backend_run_close(b);
        free(b->run.cgroup);
        free(b->run.status_text);
        free(b->run.verdict);
        free(b->run.intent.cause);
        free(b->run.check);
        free(b->run.failed_tail);
        free(b->run.post_verdict);
        b->run = BACKEND_RUN_INIT;
}

corral_backend *corral_backend_ref(corral_backend *b) {
        if (b)
                b->n_ref++;
        return b;
}

corral_backend *corral_backend_unref(corral_backend *b) {
        if (!b || --b->n_ref > 0)
                return NULL;
        backend_run_done(b);
        b->restart_timer = sd_event_source_disable_unref(b->restart_timer);
        free(b->name);
        corral_spec_free(b->spec);
        output_done(&b->out);
        free(b->verdicts);
        free(b->restart_times);
        free(b);
        return NULL;
}

static void backend_link(corral_backend *b) {
        corral *c = b->corral;

        b->linked = true;
        b->next = c->live;
        if (c->live)
                c->live->prev = b;
        c->live = b;
        c->n_live++;
        corral_backend_ref(b);
}

/* Out of the supervisor's list of live backends (corral_count() no longer counts it), and no
 * longer the supervisor's: its reference goes. */
void backend_unlink(corral_backend *b) {
        corral *c = b->corral;

        if (!b->linked)
                return;
        backend_pid_unindex(b);
        *(b->prev ? &b->prev->next : &c->live) = b->next;
        if (b->next)
                b->next->prev = b->prev;
        b->prev = b->next = NULL;
        b->corral = NULL;
        b->linked = false;
        c->n_live--;
        corral_backend_unref(b);
}

/* --- What it counts (metrics): kept in its record. --- */

static int backend_verdicts_alloc(corral_backend *b) {
        if (!b->verdicts)
                b->verdicts = calloc(_CORRAL_EVENT_MAX, sizeof(*b->verdicts));
        return b->verdicts ? 0 : -ENOMEM;
}

int backend_counters_add(corral_backend *b, const corral_backend *prev) {
        b->restarts_total += prev->restarts_total;
        b->oom_kills += prev->oom_kills;
        if (b->last_exit < 0)
                b->last_exit = prev->last_exit;
        if (!prev->verdicts)
                return 0;
        if (backend_verdicts_alloc(b) < 0)
                return -ENOMEM;
        for (int t = 0; t < _CORRAL_EVENT_MAX; t++)
                for (int l = 0; l < RECORD_LEVELS; l++)
                        b->verdicts[t][l] += prev->verdicts[t][l];
        return 0;
}

int backend_counters_set(corral_backend *b, const corral_backend *from) {
        b->restarts_total = b->oom_kills = 0;
        b->last_exit = -1;
        if (b->verdicts)
                memset(b->verdicts, 0, _CORRAL_EVENT_MAX * sizeof(*b->verdicts));
        return backend_counters_add(b, from);
}

static void backend_counters_to_record(const corral_backend *b, record_counters *c) {
        c->restarts = b->restarts_total;
        c->oom_kills = b->oom_kills;
        c->last_exit = b->last_exit;
        if (b->verdicts)
                memcpy(c->verdicts, b->verdicts, sizeof(c->verdicts));
}

static void backend_counters_from_record(corral_backend *b, const record_counters *c) {
        static const record_counters none = {};

        b->restarts_total = c->restarts;
        b->oom_kills = c->oom_kills;
        b->last_exit = c->last_exit;
        if (memcmp(c->verdicts, none.verdicts, sizeof(none.verdicts)) != 0 && backend_verdicts_alloc(b) >= 0)
                memcpy(b->verdicts, c->verdicts, sizeof(c->verdicts));
}

/* A verdict decided now (not one told again after a taking back: it was counted then). */
static void backend_count_verdict(corral_backend *b, const verdict *v) {
        const siginfo_t *si = &b->run.exit_si;

        if ((unsigned) v->type < _CORRAL_EVENT_MAX && (unsigned) v->level < RECORD_LEVELS &&
            backend_verdicts_alloc(b) >= 0)
                b->verdicts[v->type][v->level]++;
        if (!b->run.reaped)
                return;
        if (si->si_code == CLD_EXITED)
                b->last_exit = si->si_status;
        else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
                b->last_exit = 128 + si->si_status;
}

/* --- Events. --- */

/* Its main process died of the signal a corral_backend_kill() sent, and no stop was asked for. */
static bool backend_died_of_kill(const backend_run *r) {
        int code = r->exit_si.si_code;

        return r->kill.sig > 0 && !r->intent.stop && r->reaped &&
                (code == CLD_KILLED || code == CLD_DUMPED) && r->exit_si.si_status == r->kill.sig;
}

/* A Kill sent SIGKILL to every process (cgroup.kill) and the main process died of it: the others
 * are dying of it too, and no further kill is needed for the leaf to empty. */
static bool backend_dying_of_kill_all(const backend_run *r) {
        return r->kill.all && r->kill.sig == SIGKILL && backend_died_of_kill(r);
}

static void backend_emit_in(corral *c, corral_backend *b, corral_event_type type, corral_level level,
                            const char *message, int error) {
        const backend_run *r = &b->run;
        const siginfo_t *si = &r->exit_si;
        corral_how how = r->reaped ? verdict_how(si->si_code) : CORRAL_HOW_NONE;
        uint64_t end = r->reaped ? r->exit_usec : now_usec(CLOCK_MONOTONIC);
        char tail[OUTPUT_TAIL_SIZE + 1];
        corral_event ev = {
                .type = type,
                .level = level,
                .ts_usec = now_usec(CLOCK_REALTIME),
                .backend = b->name,
                .launch = r->id,
                .pid = r->pid,
                .cgroup = r->cgroup,
                .intentional = r->intent.stop,
                .stop_uid = r->intent.stop ? r->intent.by_uid : (uid_t) -1,
                .stop_pid = r->intent.stop ? r->intent.by_pid : 0,
                .cause = r->intent.stop ? r->intent.cause : NULL,
                .how = how,
                .exit_code = how == CORRAL_HOW_EXITED ? si->si_status : -1,
                .signal = how == CORRAL_HOW_KILLED || how == CORRAL_HOW_DUMPED ? si->si_status : 0,
                .core_dumped = how == CORRAL_HOW_DUMPED,
                .escalated = r->escalated,
                .oom_killed = type == CORRAL_EVENT_OOM_KILLED,
                .leftover = r->leftover,
                .runtime_usec = r->end_unknown && r->reaped    ? CORRAL_RUNTIME_UNKNOWN
                        : r->start_usec && end > r->start_usec ? end - r->start_usec
                                                               : 0,
                .error = error,
                .attempt = b->attempt,
                .restart_delay_usec = b->restart_delay_usec,
                .message = message,
                .reload_uid = (uid_t) -1,
                .health = type == CORRAL_EVENT_UNHEALTHY          ? CORRAL_HEALTH_UNHEALTHY
                        : type == CORRAL_EVENT_HEALTH && r->check ? r->check->health
                                                                  : CORRAL_HEALTH_UNKNOWN,
        };

        if (type == CORRAL_EVENT_RELOADED || type == CORRAL_EVENT_RELOAD_FAILED) {
                ev.reload_uid = r->reload_uid;
                ev.reload_pid = r->reload_pid;
        }
        if (corral_event_is_verdict(type) && backend_died_of_kill(r)) {
                ev.kill_signal = r->kill.sig;
                ev.kill_uid = r->kill.by_uid;
                ev.kill_pid = r->kill.by_pid;
        }
        /* What it said last, for an end nobody asked for: why it died is often there (or what the
         * ExecStartPre= command that failed said). */
        if (corral_event_is_verdict(type) && r->failed_tail)
                ev.stderr_tail = r->failed_tail;
        else if (corral_event_is_verdict(type) && !r->intent.stop && type != CORRAL_EVENT_FINISHED &&
                 b->out.tail_len > 0) {
                output_stderr_tail(b, tail, sizeof(tail));
                ev.stderr_tail = tail;
        }
        corral_emit(c, &ev);
}

static void backend_emit(corral_backend *b, corral_event_type type, corral_level level, const char *message) {
        backend_emit_in(b->corral, b, type, level, message, 0);
}

void backend_emit_adopted(corral_backend *b) {
        backend_emit(b, CORRAL_EVENT_ADOPTED, CORRAL_LEVEL_INFO,
                     b->state == CORRAL_STATE_RESTARTING ? "backend taken back, waiting to be restarted"
                                                         : "backend taken back: supervised again");
}

/* --- Its leaf. --- */

/* Opened for each use: an fd held per backend would not scale to 10,000 under a file limit of 20,000. */
static int backend_leaf_open(corral_backend *b) {
        return b->corral && b->run.id[0] ? cgroup_leaf_open(&b->corral->root, b->name, b->run.id) : -EBADF;
}

static int backend_signal(corral_backend *b, int sig) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        cgroup_leaf leaf = { .fd = fd, .path = b->run.cgroup };
        return cgroup_signal_all(&leaf, sig, &b->corral->features.cgroup);
}

/* The stop signal (or SIGCONT after it) where the kill mode sends it: every process of the leaf, or
 * (mixed) the main process alone, through its pidfd. */
static int backend_signal_stop(corral_backend *b, int sig) {
        if (b->spec->kill_mode != CORRAL_KILL_MIXED)
                return backend_signal(b, sig);
        return b->run.pidfd >= 0 ? syscall_pidfd_send_signal(b->run.pidfd, sig) : -ESRCH;
}

static int backend_kill(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        cgroup_leaf leaf = { .fd = fd, .path = b->run.cgroup };
        return cgroup_kill(&leaf, &b->corral->features.cgroup);
}

/* Measured once, at the first of the main process's exit and cgroup.kill, so that processes
 * still dying from our own kill are never counted. */
static void backend_note_leftover(corral_backend *b) {
        _cleanup_close_ int fd = -EBADF;
        int n;

        if (b->run.leftover_known)
                return;
        fd = backend_leaf_open(b);
        n = cgroup_count_procs(fd, b->run.reaped ? 0 : b->run.pid);
        b->run.leftover = n > 0 ? (unsigned) n : 0;
        b->run.leftover_known = true;
}

static void backend_persist(corral_backend *b);

static void backend_escalate(corral_backend *b) {
        backend_note_leftover(b);
        b->run.escalated = true;
        if (b->run.intent.stop) /* a stop's verdict, notice now, is decided by its record alone */
                backend_persist(b);
        (void) backend_kill(b);
        b->run.stop_timer = sd_event_source_disable_unref(b->run.stop_timer);
}

/* The leaf, and its record, go: the launch is over, nothing waits for it. (c: b's supervisor,
 * which a backend just unlinked no longer names.) */
static void backend_remove_leaf_in(corral *c, corral_backend *b, const char *id) {
        if (!c || !id[0])
                return;
        (void) cgroup_leaf_remove(&c->root, b->name, id);
        record_forget(&c->records, b->name, id);
}

/* --- The lifecycle: one place for every change of state. --- */

static void backend_to_record(const corral_backend *b, record_state *st) {
        const backend_run *r = &b->run;

        *st = (record_state){ .pid = r->pid,
                              .pid_starttime = r->pid_starttime,
                              .start_usec = r->start_usec,
                              .ready_pending = r->ready_pending,
                              .self_stopping = r->self_stopping,
                              .stop = r->intent.stop,
                              .stop_uid = r->intent.by_uid,
                              .stop_pid = r->intent.by_pid,
                              .stop_at_usec = r->intent.at_usec,
                              .stop_signalled = r->stop_signalled,
                              .stop_deadline_usec = r->stop_deadline_usec,
                              .escalated = r->escalated,
                              .kill_signal = r->kill.sig,
                              .kill_all = r->kill.all,
                              .kill_uid = r->kill.by_uid,
                              .kill_pid = r->kill.by_pid,
                              .deadline_kill = r->deadline_kill,
                              .unhealthy = r->unhealthy,
                              .oom_seen = r->oom_seen,
                              .attempt = b->attempt,
                              .n_restart_times = b->n_restart_times,
                              .next_restart_usec = b->next_restart_usec };
        if (b->restart_times)
                memcpy(st->restart_times, b->restart_times, sizeof(st->restart_times));
        if (r->intent.cause)
                (void) snprintf(st->stop_cause, sizeof(st->stop_cause), "%s", r->intent.cause);
        backend_counters_to_record(b, &st->counters);
        if (r->verdict) {
                st->concluded = true;
                st->verdict_event = r->verdict->type;
                st->verdict_level = r->verdict->level;
                st->verdict_next = r->verdict_next;
                memcpy(st->verdict_message, r->verdict->message, sizeof(st->verdict_message));
                st->exit_code = r->exit_si.si_code;
                st->exit_status = r->exit_si.si_status;
                st->leftover = r->leftover;
                st->runtime_usec = r->exit_usec > r->start_usec ? r->exit_usec - r->start_usec : 0;
        }
}

/* What a supervisor after us must know, kept on the leaf and in the state directory. */
static void backend_persist_in(corral *c, corral_backend *b) {
        record_state st;

        if (!c || !c->records.persist)
                return;
        backend_to_record(b, &st);
        record_save(&c->records, b->name, b->run.id, b->spec, &st);
}

static void backend_persist(corral_backend *b) {
        backend_persist_in(b->corral, b);
}

static int backend_on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata);
static int backend_on_start_timer(sd_event_source *s, uint64_t usec, void *userdata);
static int backend_on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata);
static void backend_watchdog_arm(corral_backend *b);
static void backend_probe_later(corral_backend *b);
static void backend_health_later(corral_backend *b);
static bool backend_check_busy(const backend_check *k);

/* An absolute timer of one purpose, unless it is armed already. */
static void backend_arm(corral_backend *b, sd_event_source **src, uint64_t at, uint64_t accuracy,
                        sd_event_time_handler_t f) {
        if (!*src && sd_event_add_time(b->corral->event, src, CLOCK_MONOTONIC, at, accuracy, f, b) < 0)
                *src = NULL;
}

/* What a state must not hold goes. */
static void backend_release(corral_backend *b, corral_state s) {
        backend_run *r = &b->run;

        if (s != CORRAL_STATE_STARTING) {
                r->start_timer = sd_event_source_disable_unref(r->start_timer);
                backend_probe_done(r);
        }
        if (s != CORRAL_STATE_STARTING && s != CORRAL_STATE_RUNNING)
                r->watchdog_timer = sd_event_source_disable_unref(r->watchdog_timer);
        if (s != CORRAL_STATE_RUNNING) /* never checked while it starts or stops */
                backend_health_done(r);
        if (s == CORRAL_STATE_EXITED) { /* the main process is gone: nothing more to hear from it */
                backend_pidfd_close(b);
                backend_notify_close(b);
        }
        if (s != CORRAL_STATE_RESTARTING)
                b->restart_timer = sd_event_source_disable_unref(b->restart_timer);
        if (s == CORRAL_STATE_GONE || s == CORRAL_STATE_FAILED || s == CORRAL_STATE_RESTARTING)
                backend_run_close(b);
}

/* What a state needs is armed: the start timeout and the probe while starting, the watchdog while
 * it starts or runs, the stop's deadline, the restart's delay. Times are absolute, so that a
 * backend taken back by a supervisor after us keeps them. */
static void backend_hold(corral_backend *b, corral_state s) {
        const corral_spec *sp = b->spec;
        backend_run *r = &b->run;

        if (s == CORRAL_STATE_STARTING && sp->start_timeout_usec > 0)
                backend_arm(b, &r->start_timer, r->start_usec + sp->start_timeout_usec, 1000,
                            backend_on_start_timer);
        if (s == CORRAL_STATE_STARTING && sp->ready_check.kind != CHECK_NONE && r->check &&
            !r->probe_timer && !backend_check_busy(r->check))
                backend_probe_later(b);
        if (s == CORRAL_STATE_RUNNING && sp->health.kind != CHECK_NONE && r->check &&
            !r->check->health_timer && !backend_check_busy(r->check) && !r->unhealthy)
                backend_health_later(b);
        if ((s == CORRAL_STATE_STARTING || s == CORRAL_STATE_RUNNING) && !r->watchdog_timer)
                backend_watchdog_arm(b);
        if (s == CORRAL_STATE_STOPPING && r->intent.stop && r->stop_deadline_usec)
                backend_arm(b, &r->stop_timer, r->stop_deadline_usec, 1, backend_on_stop_timer);
        if (s == CORRAL_STATE_RESTARTING)
                backend_arm(b, &b->restart_timer, b->next_restart_usec, 1000, backend_on_restart_timer);
}

/*
 * The one place a backend's state changes (docs/lifecycle.md draws it): the sources the new state
 * must not hold are released, those it needs armed, and the record a supervisor after us reads is
 * written (or, once it is gone, removed with its leaf; a restart to come keeps its empty leaf as
 * its record).
 */
static void backend_record_state_in(corral *c, corral_backend *b) {
        corral_state s = b->state;

        if (s == CORRAL_STATE_GONE || s == CORRAL_STATE_FAILED ||
            (s == CORRAL_STATE_RESTARTING && !c->records.persist))
                backend_remove_leaf_in(c, b, b->run.id);
        else if (s != CORRAL_STATE_EXITED) /* an exit is known from the pid: nothing new to keep */
                backend_persist_in(c, b);
}

/* record_later: the verdict's transition, whose record is written (or removed) only after the
 * verdict is out (backend_record_state_in()): a supervisor killed in between reports it again
 * rather than never. */
static void backend_set_state_full(corral_backend *b, corral_state s, bool record_later) {
        b->state = s;
        backend_release(b, s);
        backend_hold(b, s);
        if (!record_later)
                backend_record_state_in(b->corral, b);
}

static void backend_set_state(corral_backend *b, corral_state s) {
        backend_set_state_full(b, s, false);
}

/* --- While it runs: readiness, the watchdog, notify messages. --- */

static void backend_ready(corral_backend *b) {
        backend_run *r = &b->run;

        if (!r->ready_pending)
                return;
        r->ready_pending = false;
        if (b->state != CORRAL_STATE_STARTING) /* a stop came first: too late to matter */
                return;
        backend_set_state(b, CORRAL_STATE_RUNNING);
        backend_emit(b, CORRAL_EVENT_READY, CORRAL_LEVEL_INFO, "backend ready");
}

/* --- Its checks: readiness (Ready=tcp, http, exec) and health (HealthCheck=). --- */

static bool backend_check_busy(const backend_check *k) {
        return k->http || k->command;
}

/* Where its listeners are: the network namespace of its main process (a pidfd) with
 * PrivateNetwork=, else ours (-1). */
static int backend_netns(const corral_backend *b) {
        return b->spec->sandbox.private_network ? b->run.pidfd : -1;
}

/* Whether a socket of its own listens on the check's address; if not, why (nothing listening is
 * said only if say_none: a start waits for it without a word). */
static bool backend_listens(corral_backend *b, const spec_check *c, bool say_none) {
        _cleanup_close_ int leaf = backend_leaf_open(b);
        char *why = b->run.check->why, where[80];
        size_t size = sizeof(b->run.check->why);
        int k = leaf < 0 ? leaf
                         : probe_listener((const struct sockaddr *) &c->addr, leaf, b->run.cgroup,
                                          backend_netns(b), b->run.pid, b->corral->features.sock_diag);

        (void) check_format_addr(c, where, sizeof(where));
        why[0] = '\0';
        if (k == PROBE_LISTENER_FOREIGN)
                (void) snprintf(why, size, "port %s held by a process outside the backend", where);
        else if (k == PROBE_LISTENER_NONE && say_none)
                (void) snprintf(why, size, "nothing listens on %s", where);
        else if (k < 0)
                (void) snprintf(why, size, "the listening sockets could not be listed: %s", strerror(-k));
        return k == PROBE_LISTENER_OWN;
}

static void backend_on_ready_check(void *userdata, bool ok, const char *why);
static void backend_on_health_check(void *userdata, bool ok, const char *why);

/* What an exec check's command came to, in a few words: "exit status 1: <its last stderr line>". */
static void command_result_why(const command_result *res, uint64_t timeout_usec, char *why, size_t size) {
        const char *tail = res->stderr_tail ? res->stderr_tail : "", *last = strrchr(tail, '\n');

        last = last ? last + 1 : tail;
        if (res->error < 0)
                (void) snprintf(why, size, "%s: %s", res->what ?: "the command", strerror(-res->error));
        else if (res->timed_out)
                (void) snprintf(why, size, "no answer within %" PRIu64 " ms",
                                (uint64_t) (timeout_usec / USEC_PER_MSEC));
        else if (res->si_code == CLD_EXITED)
                (void) snprintf(why, size, "exit status %d%s%s", res->status, *last ? ": " : "", last);
        else
                (void) snprintf(why, size, "killed by %s", signal_to_name(res->status) ?: "a signal");
}

static void backend_on_exec_done(command *cmd _unused_, const command_result *res, void *userdata) {
        corral_backend *b = userdata;
        backend_check *k = b->run.check;
        char why[sizeof(k->why)];

        k->command = NULL; /* freed once this returns */
        command_result_why(res, b->spec->health_timeout_usec, why, sizeof(why));
        if (k->for_health)
                backend_on_health_check(b, command_result_ok(res), why);
        else
                backend_on_ready_check(b, command_result_ok(res), why);
}

/* CMD with /bin/sh -c, in a sub-group of its leaf, as its user, within the check's timeout. */
static int backend_check_exec(corral_backend *b, const spec_check *c) {
        backend_check *k = b->run.check;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", c->text + c->arg_at, NULL };
        _cleanup_free_ char *what = NULL;
        int r = backend_run_command(b, argv, b->spec->health_timeout_usec, backend_on_exec_done, b,
                                    &k->command, &what);

        if (r < 0) {
                (void) snprintf(k->why, sizeof(k->why), "%s: %s", what ?: "running the command",
                                strerror(-r));
                return 0;
        }
        return 2;
}

/* Start the check c, for health or readiness: 1 if it passed at once, 0 if it failed (why is
 * kept), 2 if it is under way (done is called with its result). */
static int backend_check_start(corral_backend *b, const spec_check *c, bool for_health, probe_done_fn done) {
        backend_check *k = b->run.check;
        int r;

        k->for_health = for_health;
        if (c->kind == CHECK_EXEC)
                return backend_check_exec(b, c);
        if (!backend_listens(b, c, for_health))
                return 0;
        if (c->kind == CHECK_TCP)
                return 1;
        r = probe_http_start(b->corral->event, (const struct sockaddr *) &c->addr, c->addr_len,
                             c->text + c->host_at, c->host_len, c->text + c->arg_at, backend_netns(b),
                             b->spec->health_timeout_usec, done, b, &k->http);
        if (r == -EADDRNOTAVAIL)
                (void) snprintf(k->why, sizeof(k->why), "%.*s is not an address of this host",
                                (int) c->host_len, c->text + c->host_at);
        else if (r < 0)
                (void) snprintf(k->why, sizeof(k->why), "connecting to it: %s", strerror(-r));
        return r < 0 ? 0 : 2;
}

static int backend_on_probe_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata);

/* Not yet: try again a little later, 10 ms doubling up to 500 ms; only while it starts. */
static void backend_probe_later(corral_backend *b) {
        backend_run *r = &b->run;

        r->probe_timer = sd_event_source_disable_unref(r->probe_timer);
        r->probe_delay_usec = r->probe_delay_usec ? r->probe_delay_usec * 2 : 10 * USEC_PER_MSEC;
        if (r->probe_delay_usec > 500 * USEC_PER_MSEC)
                r->probe_delay_usec = 500 * USEC_PER_MSEC;
        (void) sd_event_add_time_relative(b->corral->event, &r->probe_timer, CLOCK_MONOTONIC, r->probe_delay_usec,
                                          1000, backend_on_probe_timer, b);
}

static void backend_on_ready_check(void *userdata, bool ok, const char *why) {
        corral_backend *b = userdata;
        backend_check *k = b->run.check;

        k->http = probe_http_free(k->http);
        (void) snprintf(k->why, sizeof(k->why), "%s", ok ? "" : why);
        if (ok)
                backend_ready(b);
        else if (b->state == CORRAL_STATE_STARTING)
                backend_probe_later(b);
}

/* Ready once it answers for itself: a socket of its own listens on the address (one that another
 * process holds, a server already running there whose port this one cannot get, never counts),
 * and for http, a GET of the path through it answers 2xx. */
static int backend_on_probe_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;
        backend_run *r = &b->run;
        int k;

        r->probe_timer = sd_event_source_disable_unref(r->probe_timer);
        if (b->state != CORRAL_STATE_STARTING || !r->check || backend_check_busy(r->check))
                return 0;
        k = backend_check_start(b, &b->spec->ready_check, false, backend_on_ready_check);
        if (k == 1)
                backend_ready(b);
        else if (k == 0)
                backend_probe_later(b);
        return 0;
}

static int backend_on_health_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata);

/* The next health check, an interval after the last one ended; only while it runs. */
static void backend_health_later(corral_backend *b) {
        backend_check *k = b->run.check;
        uint64_t every = b->spec->health_interval_usec;

        k->health_timer = sd_event_source_disable_unref(k->health_timer);
        (void) sd_event_add_time_relative(b->corral->event, &k->health_timer, CLOCK_MONOTONIC, every,
                                          every / 100 < USEC_PER_SEC ? every / 100 + 1 : USEC_PER_SEC,
                                          backend_on_health_timer, b);
}

/* Too many failures in a row: recorded (a supervisor after us tells the same verdict), then its
 * cgroup is killed; the verdict is unhealthy and the restart policy applies. */
static void backend_kill_unhealthy(corral_backend *b) {
        b->run.unhealthy = true;
        backend_persist(b);
        if (b->run.populated)
                backend_escalate(b);
}

static void backend_health_tell(corral_backend *b, corral_level level, const char *fmt, ...) _printf_(3, 4);
static void backend_health_tell(corral_backend *b, corral_level level, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        backend_emit(b, CORRAL_EVENT_HEALTH, level, msg);
}

static void backend_on_health_result(corral_backend *b, bool ok) {
        backend_check *k = b->run.check;
        corral_health was = k->health;

        if (ok) {
                k->why[0] = '\0';
                k->health = CORRAL_HEALTH_HEALTHY;
                if (was != CORRAL_HEALTH_HEALTHY)
                        backend_health_tell(b, CORRAL_LEVEL_INFO, "backend healthy%s",
                                            k->failures ? " again" : "");
                k->failures = 0;
        } else {
                k->failures++;
                k->health = CORRAL_HEALTH_UNHEALTHY;
                if (was != CORRAL_HEALTH_UNHEALTHY)
                        backend_health_tell(b, CORRAL_LEVEL_WARNING,
                                            "health check failed (%u of %u in a row): %s", k->failures,
                                            b->spec->health_failures, k->why);
                if (k->failures >= b->spec->health_failures)
                        return backend_kill_unhealthy(b);
        }
        if (b->state == CORRAL_STATE_RUNNING)
                backend_health_later(b);
}

static void backend_on_health_check(void *userdata, bool ok, const char *why) {
        corral_backend *b = corral_backend_ref(userdata);
        backend_check *k = b->run.check;

        k->http = probe_http_free(k->http);
        if (!ok)
                (void) snprintf(k->why, sizeof(k->why), "%s", why);
        backend_on_health_result(b, ok);
        corral_backend_unref(b);
}

static int backend_on_health_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        backend_check *k = b->run.check;
        int r;

        k->health_timer = sd_event_source_disable_unref(k->health_timer);
        if (b->state == CORRAL_STATE_RUNNING && !backend_check_busy(k) && !b->run.unhealthy) {
                r = backend_check_start(b, &b->spec->health, true, backend_on_health_check);
                if (r < 2)
                        backend_on_health_result(b, r == 1);
        }
        corral_backend_unref(b);
        return 0;
}

corral_health corral_backend_get_health(corral_backend *b, unsigned *ret_failures) {
        const backend_check *k = b ? b->run.check : NULL;

        if (ret_failures)
                *ret_failures = k ? k->failures : 0;
        return k ? k->health : CORRAL_HEALTH_UNKNOWN;
}

/* No WATCHDOG=1 in time: it is killed, and its verdict is watchdog. */
static int backend_on_watchdog(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->run.watchdog_timer = sd_event_source_disable_unref(b->run.watchdog_timer);
        b->run.watchdog_fired = true;
        if (b->run.populated)
                backend_escalate(b);
        return 0;
}

/* (Re)start the watchdog's countdown: at start, at a taking back, and at each WATCHDOG=1. */
static void backend_watchdog_arm(corral_backend *b) {
        backend_run *r = &b->run;

        r->watchdog_timer = sd_event_source_disable_unref(r->watchdog_timer);
        if (r->watchdog_usec > 0 && !r->self_stopping)
                (void) sd_event_add_time_relative(b->corral->event, &r->watchdog_timer, CLOCK_MONOTONIC,
                                                  r->watchdog_usec, 1000, backend_on_watchdog, b);
}

/* Never ready in time: it is killed, and its verdict is start-failed. */
static int backend_on_start_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->run.start_timer = sd_event_source_disable_unref(b->run.start_timer);
        b->run.start_timed_out = true;
        if (b->run.populated)
                backend_escalate(b);
        return 0;
}

/* STOPPING=1: it is shutting down on its own. It is stopping (no watchdog any more), and a clean
 * exit now is finished, not unexpected; a stop asked for still goes through. */
static void backend_on_stopping(corral_backend *b) {
        b->run.self_stopping = true;
        backend_set_state(b, CORRAL_STATE_STOPPING);
        backend_emit(b, CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "backend is stopping on its own (STOPPING=1)");
}

/* A message from inside the backend's cgroup: READY=1 ends its start; STATUS= is kept. */
static void backend_reload_notify(corral_backend *b, const notify_message *m);

static void backend_on_notify(corral_backend *b, const char *text) {
        backend_run *r = &b->run;
        notify_message m;

        notify_parse(text, &m);
        if (m.status) {
                char *t = strndup(m.status, m.status_len);
                if (t) {
                        free(r->status_text);
                        r->status_text = t;
                }
        }
        if (m.watchdog_usec > 0 && r->watchdog_usec > 0) /* it may change its own period */
                r->watchdog_usec = m.watchdog_usec;
        if ((m.watchdog || m.watchdog_usec > 0) && r->watchdog_timer)
                backend_watchdog_arm(b);
        if (m.ready && b->spec->ready == CORRAL_READY_NOTIFY)
                backend_ready(b);
        backend_reload_notify(b, &m);
        if (m.stopping && !r->self_stopping &&
            (b->state == CORRAL_STATE_STARTING || b->state == CORRAL_STATE_RUNNING))
                backend_on_stopping(b);
}

/* A few datagrams per wake-up: the loop comes back for the rest after the others' turn. Only a
 * process in its own cgroup is believed (its user may have processes elsewhere too). */
static int backend_on_notify_io(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        char buf[4096], where[4096];
        pid_t pid;

        for (int i = 0; i < 16 && b->run.notify_fd >= 0 && notify_receive(fd, buf, sizeof(buf), &pid) > 0; i++) {
                const char *cg = cgroup_pid_path(pid, where, sizeof(where));
                if (cg && b->run.cgroup && strcmp(cg, b->run.cgroup) == 0)
                        backend_on_notify(b, buf);
        }
        corral_backend_unref(b);
        return 0;
}

/* --- Its end: the main process, then the leaf. --- */

static void backend_finish(corral_backend *b);

/* Whether the leaf still holds a process; on error assume it does and wait for the next event. */
static void backend_check_populated(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        int r = cgroup_is_populated(fd);

        b->run.populated = r != 0;
        if (!b->run.populated && b->run.reaped)
                backend_finish(b);
}

static void backend_on_events(corral_backend *b) {
        corral_backend_ref(b);
        backend_check_populated(b);
        /* An empty leaf means the main process is gone too, even if its pidfd is not yet seen. */
        if (!b->run.populated && !b->run.reaped)
                (void) backend_on_exit(b);
        corral_backend_unref(b);
}

/* Its exit status: waitid() on our child, else (taken back: not our child) what its pidfd can
 * still say. 1 with *ret_si once it has exited, 0 while it runs, -errno. */
static int backend_exit_status(backend_run *r, siginfo_t *ret_si) {
        siginfo_t si = { 0 };
        int k = syscall_waitid_pidfd(r->pidfd, WEXITED | WNOHANG, &si);

        if (k == -ECHILD) { /* not our child (adopted), or someone else reaped it */
                struct pollfd p = { .fd = r->pidfd, .events = POLLIN };
                if (poll(&p, 1, 0) == 0)
                        return 0;
                if (syscall_pidfd_exit_info(r->pidfd, r->pid, &si) < 0)
                        si = (siginfo_t){ .si_pid = r->pid, .si_code = 0 };
        } else if (k < 0 || si.si_pid == 0)
                return k < 0 ? k : 0;
        *ret_si = si;
        return 1;
}

/* The pidfd is watched edge-triggered: it turns readable once, and a level-triggered pidfd would
 * be handed back by every epoll_wait() until its backend is finished (sd-event dispatches one
 * source per turn: 10,000 stopped at once made StopAll quadratic). An exit that cannot be judged
 * yet goes back to level-triggered, so that it is seen again. */
static void backend_pidfd_level(backend_run *r) {
        if (r->pidfd_source)
                (void) sd_event_source_set_io_events(r->pidfd_source, EPOLLIN);
}

int backend_on_exit(corral_backend *b) {
        backend_run *r = &b->run;
        siginfo_t si;
        int k;

        if (r->reaped)
                return 0;
        /* A signal of the supervisor's own that is pending may be the stop whose kill this exit
         * is (a service manager signals the supervisor before the rest of its cgroup): it is
         * handled first, and the exit judged after it, from its pidfd, which stays readable. */
        if (!r->intent.stop && b->corral && corral_signal_pending(b->corral))
                return backend_pidfd_level(r), 0;
        k = backend_exit_status(r, &si);
        if (k <= 0)
                return backend_pidfd_level(r), k;
        r->exit_si = si;
        r->reaped = true;
        r->pidfd_source = sd_event_source_disable_unref(r->pidfd_source); /* it stays readable */
        r->exit_usec = now_usec(CLOCK_MONOTONIC);
        backend_set_state(b, CORRAL_STATE_EXITED);
        if (r->reloading)
                backend_reload_end(b, false, 0, "reload failed: the backend ended during its reload");
        backend_note_leftover(b);
        /* Left behind by an unasked exit (a double-forked daemon, say): not ours to keep. A stop
         * under way gives them the rest of its grace period instead, unless its kill mode is mixed:
         * they never had the stop signal, and the main process's end is theirs. */
        if (r->leftover > 0 && (!r->intent.stop || b->spec->kill_mode == CORRAL_KILL_MIXED) &&
            !backend_dying_of_kill_all(r))
                backend_escalate(b);
        backend_check_populated(b);
        return 1;
}

static int backend_on_pidfd(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        (void) backend_on_exit(b);
        corral_backend_unref(b);
        return 0;
}

static int backend_on_stop_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->run.stop_timer = sd_event_source_disable_unref(b->run.stop_timer);
        if (b->run.populated) {
                b->run.deadline_kill = true; /* persisted by the escalation, with the intent */
                backend_escalate(b);
        }
        return 0;
}

/* memory.events changed: an OOM kill while the main process lives was of a helper (an event);
 * one that ended the main process is its verdict's to tell. */
static void backend_on_memory_events(corral_backend *b) {
        backend_run *r = &b->run;
        _cleanup_close_ int fd = backend_leaf_open(b);
        siginfo_t si = { 0 };
        uint64_t now;
        char msg[160];

        if (r->reaped || cgroup_limits_oom_kills(fd, &r->v1, &now) < 0 || now <= r->oom_seen)
                return;
        if (syscall_waitid_pidfd(r->pidfd, WEXITED | WNOHANG | WNOWAIT, &si) < 0 || si.si_pid != 0)
                return;
        if (syscall_pid_sigkill_pending(r->pid) != 0) /* the main process is the one being killed */
                return;
        (void) snprintf(msg, sizeof(msg),
                        "the OOM killer killed %" PRIu64 " process(es) of the backend; its main process lives on",
                        now - r->oom_seen);
        b->oom_kills += (unsigned) (now - r->oom_seen);
        r->oom_seen = now;
        backend_persist(b);
        backend_emit(b, CORRAL_EVENT_OOM, CORRAL_LEVEL_WARNING, msg);
}

void backend_on_watch(corral_backend *b, int wd) {
        if (wd == b->run.events_wd)
                backend_on_events(b);
        else if (wd == b->run.memevents_wd)
                backend_on_memory_events(b);
}

/* What a launch is watched through: its pidfd (when the main process lives), its notify socket,
 * its cgroup.events, and its memory.events (v2; v1 tells of OOM kills otherwise). */
static int backend_watch(corral_backend *b, int cgroup_fd) {
        corral *c = b->corral;
        backend_run *r = &b->run;
        uint64_t oom = 0;
        int k = 0;

        r->populated = true;
        r->have_oom = cgroup_limits_oom_kills(cgroup_fd, &r->v1, &oom) >= 0;
        safe_close(cgroup_fd); /* taken: reopened by path when needed */
        if (!r->adopted)
                r->oom_seen = oom;
        if (r->have_oom && r->v1.memory_fd < 0)
                (void) backend_watch_file(b, "memory.events", &r->memevents_wd); /* the verdict has the count */
        if (r->pidfd >= 0)
                k = sd_event_add_io(c->event, &r->pidfd_source, r->pidfd, EPOLLIN | EPOLLET,
                                    backend_on_pidfd, b);
        if (k >= 0 && r->notify_fd >= 0)
                k = sd_event_add_io(c->event, &r->notify_source, r->notify_fd, EPOLLIN, backend_on_notify_io, b);
        if (k >= 0) /* after the watch, a check: what changed before it was there is seen too */
                k = backend_watch_file(b, "cgroup.events", &r->events_wd);
        return k;
}

/* --- Its commands. --- */

int backend_run_command(corral_backend *b, char *const *argv, uint64_t timeout_usec, command_done_t done,
                        void *userdata, command **ret, char **ret_what) {
        _cleanup_close_ int leaf = backend_leaf_open(b);
        char mainpid[32] = "", *env[2] = { NULL, NULL };
        command_params p = { .argv = argv,
                             .extra_env = env,
                             .timeout_usec = timeout_usec,
                             .v1_procs_fds = b->run.v1.procs_fd,
                             .n_v1_procs_fds = ELEMENTSOF(b->run.v1.procs_fd) };

        *ret_what = NULL;
        if (leaf < 0 || !b->run.cgroup)
                return -ESTALE;
        if (b->run.pid > 0 && !b->run.reaped)
                (void) snprintf(mainpid, sizeof(mainpid), "MAINPID=%d", (int) b->run.pid), env[0] = mainpid;
        return command_start(b->corral, b->spec, leaf, b->run.cgroup, &p, done, userdata, ret, ret_what);
}

/* --- The verdict, and what follows it. --- */

/* OOM kills since the last one reported as a helper's: one of the main process is never taken for
 * a helper's (backend_on_memory_events checks that it is not dying). */
static uint64_t backend_oom_new(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        uint64_t now;

        if (!b->run.have_oom || cgroup_limits_oom_kills(fd, &b->run.v1, &now) < 0 || now <= b->run.oom_seen)
                return 0;
        return now - b->run.oom_seen;
}

static verdict_input backend_verdict_input(corral_backend *b, uint64_t oom_new) {
        const backend_run *r = &b->run;

        return (verdict_input){ .intent_stop = r->intent.stop,
                                .type = b->spec->type,
                                .si_code = r->exit_si.si_code,
                                .status = r->exit_si.si_status,
                                .escalated = r->escalated,
                                .deadline_kill = r->deadline_kill,
                                .leftover = r->leftover,
                                .oom_killed = oom_new > 0,
                                .ready_pending = r->ready_pending,
                                .start_timed_out = r->start_timed_out,
                                .start_timeout_usec = b->spec->start_timeout_usec,
                                .not_ready_why = r->start_timed_out && r->check && r->check->why[0]
                                        ? r->check->why
                                        : NULL,
                                .unhealthy = r->unhealthy,
                                .health_failures = r->check ? r->check->failures : 0,
                                .health_why = r->check && r->check->why[0] ? r->check->why : NULL,
                                .self_stopping = r->self_stopping,
                                .watchdog_fired = r->watchdog_fired,
                                .watchdog_usec = r->watchdog_usec,
                                .kill_signal = r->kill.sig,
                                .kill_uid = r->kill.by_uid,
                                .kill_pid = r->kill.by_pid,
                                .syscall_filter = b->spec->sandbox.native_only ||
                                        (b->spec->sandbox.syscalls && !b->spec->sandbox.syscall_errno) };
}

static bool restart_wanted(const corral_backend *b, corral_event_type outcome) {
        bool asked = b->run.intent.stop || b->run.no_restart;

        switch (b->spec->restart.policy) {
        case CORRAL_RESTART_ALWAYS:
                return !asked;
        case CORRAL_RESTART_ON_FAILURE:
                return !asked && outcome != CORRAL_EVENT_FINISHED && outcome != CORRAL_EVENT_STOPPED;
        default:
                return false;
        }
}

/* Record a restart at now, unless it would be one too many within the limit's interval. */
static bool restart_allowed(corral_backend *b, uint64_t now) {
        const restart_policy *p = &b->spec->restart;
        unsigned recent = 0,
                 n = b->n_restart_times < RECORD_RESTART_HISTORY ? b->n_restart_times : RECORD_RESTART_HISTORY;

        for (unsigned i = 0; p->limit_burst > 0 && i < n; i++)
                recent += now - b->restart_times[i] < p->limit_interval_usec;
        if (p->limit_burst > 0 && recent >= p->limit_burst)
                return false;
        if (!b->restart_times && !(b->restart_times = calloc(RECORD_RESTART_HISTORY, sizeof(uint64_t))))
                return true; /* without memory for the ring: this restart is not counted against the limit */
        b->restart_times[b->n_restart_times++ % RECORD_RESTART_HISTORY] = now;
        return true;
}

/* initial * factor^(attempt-1), capped, +-10% jitter; a long enough run starts over. */
static uint64_t restart_delay(corral_backend *b, uint64_t runtime) {
        const restart_policy *p = &b->spec->restart;
        uint64_t d = p->initial_usec;
        uint32_t rnd;

        if (runtime >= p->reset_usec)
                b->attempt = 0;
        b->attempt++;
        for (unsigned i = 1; i < b->attempt && d < p->max_usec; i++)
                d = d > p->max_usec / p->factor ? p->max_usec : d * p->factor;
        if (d > p->max_usec)
                d = p->max_usec;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = 0;
        return d / 10 * 9 + (d / 5 ? rnd % (d / 5 + 1) : 0);
}

/* After a verdict: to be started again after a delay, given up on (crash loop), or gone. */
static corral_state backend_next_state(corral_backend *b, corral_event_type outcome, uint64_t runtime) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!restart_wanted(b, outcome))
                return CORRAL_STATE_GONE;
        if (!restart_allowed(b, now))
                return CORRAL_STATE_FAILED;
        b->restart_delay_usec = restart_delay(b, runtime);
        b->next_restart_usec = now + b->restart_delay_usec;
        return CORRAL_STATE_RESTARTING;
}

/* Emit the verdict of a launch (decided: next is what follows it), then what follows: restarting,
 * failed, or nothing. The verdict is kept in the record before it goes out, and the record is
 * forgotten only after: a supervisor killed in between tells the same verdict again. */
static void backend_tell(corral_backend *b, const verdict *v, int error, corral_state next) {
        corral *c = b->corral;
        backend_run *r = &b->run;
        char msg[128];

        corral_backend_ref(b);
        r->verdict = mfree(r->verdict);
        r->verdict = malloc(sizeof(*v)); /* kept only while told: not in every record's memory */
        if (r->verdict)
                *r->verdict = *v;
        r->verdict_next = next;
        /* A stop's verdict follows from its record (the intent, the escalation) whatever else a
         * supervisor after us can learn: only another end needs the verdict kept before it is
         * told, and StopAll of thousands is spared a write each. */
        if (!r->intent.stop)
                backend_persist(b);
        backend_set_state_full(b, next, true);
        if (next != CORRAL_STATE_RESTARTING) /* unlinked first: corral_count() no longer counts it */
                backend_unlink(b);
        backend_emit_in(c, b, v->type, v->level, v->message, error);
        if (next == CORRAL_STATE_RESTARTING) {
                (void) snprintf(msg, sizeof(msg), "restarting backend (attempt %u)", b->attempt);
                backend_emit_in(c, b, CORRAL_EVENT_RESTARTING, CORRAL_LEVEL_INFO, msg, 0);
        } else if (next == CORRAL_STATE_FAILED) {
                (void) snprintf(msg, sizeof(msg), "backend failed: %u restarts within %" PRIu64 " s",
                                b->spec->restart.limit_burst,
                                (uint64_t) (b->spec->restart.limit_interval_usec / USEC_PER_SEC));
                backend_emit_in(c, b, CORRAL_EVENT_FAILED, CORRAL_LEVEL_ERROR, msg, 0);
        }
        r->verdict = mfree(r->verdict); /* told: a restart to come is all its record keeps */
        backend_record_state_in(c, b);
        corral_backend_unref(b);
}

static void backend_conclude_now(corral_backend *b, const verdict *v, int error, bool may_restart) {
        const backend_run *r = &b->run;
        uint64_t runtime = r->exit_usec > r->start_usec ? r->exit_usec - r->start_usec : 0;

        backend_count_verdict(b, v);
        backend_tell(b, v, error, may_restart ? backend_next_state(b, v->type, runtime) : CORRAL_STATE_GONE);
}

static bool backend_post_begin(corral_backend *b, const verdict *v, int error, bool may_restart);

static void backend_conclude(corral_backend *b, const verdict *v, int error, bool may_restart) {
        output_drain(b); /* every writer is gone: its last words are in before the verdict */
        if (!backend_post_begin(b, v, error, may_restart))
                backend_conclude_now(b, v, error, may_restart);
}

/* Reaped and the leaf empty: the verdict. Zombies its end left to us (a subreaper) go too. */
static void backend_finish(corral_backend *b) {
        corral *c = b->corral;
        uint64_t oom;
        verdict_input in;
        verdict v;

        if (!c || b->state == CORRAL_STATE_GONE || b->run.post_verdict) /* decided: ExecStopPost= runs */
                return;
        oom = backend_oom_new(b);
        b->oom_kills += (unsigned) oom;
        in = backend_verdict_input(b, oom);
        v = verdict_decide(&in);
        backend_conclude(b, &v, 0, true);
        backend_reap_orphans_later(c);
}

/* --- A launch: the first, and each restart. --- */

/* Its checks' state, for a spec with any. */
static int backend_check_new(corral_backend *b) {
        const corral_spec *sp = b->spec;

        if (sp->ready_check.kind == CHECK_NONE && sp->health.kind == CHECK_NONE)
                return 0;
        b->run.check = calloc(1, sizeof(backend_check));
        return b->run.check ? 0 : -ENOMEM;
}

/* A launch's result becomes the backend's current run; its output is read from the loop. */
static int backend_attach(corral_backend *b, launch *l) {
        backend_run *r = &b->run;
        int leaf, k;

        memcpy(r->id, l->id, sizeof(r->id));
        r->cgroup = TAKE_PTR(l->cgroup);
        r->pid = l->pid;
        r->pidfd = TAKE_FD(l->pidfd);
        backend_pid_index(b);
        r->v1 = l->v1;
        l->v1 = CGROUP_V1_LEAF_INIT;
        r->notify_fd = TAKE_FD(l->notify_fd);
        for (int i = 0; i < 2; i++)
                b->out.pipe_fd[i] = TAKE_FD(l->out_fd[i]);
        output_file_done(&b->out.file);
        b->out.file = l->log;
        l->log = OUTPUT_FILE_INIT;
        r->start_usec = now_usec(CLOCK_MONOTONIC);
        (void) syscall_pid_starttime(r->pid, &r->pid_starttime);
        r->watchdog_usec = b->spec->watchdog_usec;
        r->ready_pending = b->spec->ready != CORRAL_READY_NONE;
        k = backend_check_new(b);
        if (k < 0)
                return k;
        if (b->out.pipe_fd[0] >= 0)
                output_prepare(b);
        leaf = backend_leaf_open(b);
        k = leaf < 0 ? leaf : backend_watch(b, leaf);
        if (k >= 0)
                k = output_attach(b);
        return k;
}

static void backend_kill_wait(corral_backend *b);

/* The process of a launch (in the leaf *lp holds, if it holds one), attached: started (its event
 * emitted), or -errno with a start-failed verdict, and what follows from it decided (a restart,
 * where may_restart and the policy say so). */
static int backend_start_main(corral_backend *b, const launch *lp, bool may_restart) {
        _cleanup_free_ char *what = NULL;
        launch l = *lp;
        int r = launch_start(b->corral, b->spec, &l, &what);

        if (r >= 0 && (r = backend_attach(b, &l)) < 0) {
                backend_kill_wait(b); /* started but not watchable: never left running unsupervised */
                what = mfree(what);
                what = strdup("watching it");
        }
        if (r < 0) {
                verdict_input in = { .start_error = -r,
                                     .start_what = what,
                                     .start_what_is_why = r == -ESRCH };
                verdict v = verdict_decide(&in);
                backend_conclude(b, &v, -r, may_restart);
                return r;
        }
        backend_set_state(b, b->run.ready_pending ? CORRAL_STATE_STARTING : CORRAL_STATE_RUNNING);
        backend_emit(b, CORRAL_EVENT_STARTED, CORRAL_LEVEL_INFO, "backend started");
        return 0;
}

/* --- The commands around the main one: ExecStartPre=, ExecStopPost=. --- */

/* "ExecStartPre=/usr/sbin/nginx -t: exited with status 1" (malloc'ed, may be NULL). */
static char *backend_command_outcome(const char *key, const char *line, const command_result *res,
                                     uint64_t timeout_usec) {
        char *t = NULL;
        int k;

        if (res->error < 0)
                k = asprintf(&t, "%s%s: %s: %s", key, line, res->what ?: "starting it",
                             strerror(-res->error));
        else if (res->timed_out)
                k = asprintf(&t, "%s%s: not done within %" PRIu64 " ms (killed)", key, line,
                             (uint64_t) (timeout_usec / USEC_PER_MSEC));
        else if (res->si_code == CLD_EXITED)
                k = asprintf(&t, "%s%s: exited with status %d", key, line, res->status);
        else if (res->si_code == CLD_KILLED || res->si_code == CLD_DUMPED)
                k = asprintf(&t, "%s%s: killed by signal %s", key, line, signal_to_name(res->status) ?: "?");
        else
                k = asprintf(&t, "%s%s: ended, how is not known", key, line);
        return k < 0 ? NULL : t;
}

/* The command of a line of the spec, started in the leaf (1; done is told how it went), or one
 * that could not start: 0 with *ret_res saying why (*ret_what is what it points to). */
static int backend_command_line(corral_backend *b, const char *line, uint64_t timeout_usec,
                                command_done_t done, command_result *ret_res, char **ret_what) {
        char **argv = NULL, prefix[8];
        bool ignore = false;
        int k = parse_command_line(line, &argv, &ignore, prefix);

        *ret_what = NULL;
        if (k >= 0)
                k = backend_run_command(b, argv, timeout_usec, done, b, &b->run.cmd, ret_what);
        strv_free(argv);
        if (k >= 0)
                return 1;
        *ret_res = (command_result){ .error = k, .what = *ret_what ?: line, .stderr_tail = "" };
        return 0;
}

static void backend_pre_next(corral_backend *b);

/* An ExecStartPre= command failed: the launch is start-failed, the main command never runs. */
static void backend_pre_fail(corral_backend *b, const char *line, const command_result *res) {
        backend_run *r = &b->run;
        _cleanup_free_ char *why =
                backend_command_outcome("ExecStartPre=", line, res, b->spec->start_timeout_usec);
        verdict_input in = { .pre_failed = why ?: "ExecStartPre= failed" };
        verdict v = verdict_decide(&in);

        r->in_pre = false;
        free(r->failed_tail);
        r->failed_tail = res->stderr_tail && *res->stderr_tail ? strdup(res->stderr_tail) : NULL;
        backend_conclude(b, &v, 0, r->pre_may_restart);
}

/* One ended: the next, unless it failed and its failure counts (no "-" prefix). */
static void backend_pre_step(corral_backend *b, const command_result *res) {
        backend_run *r = &b->run;
        const char *line = b->spec->exec_start_pre[r->cmd_index];

        if (!command_result_ok(res) && line[0] != '-')
                return backend_pre_fail(b, line, res);
        r->cmd_index++;
        backend_pre_next(b);
}

static void backend_on_pre_done(command *cmd _unused_, const command_result *res, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->run.cmd = NULL; /* freed by the runner after this */
        backend_pre_step(b, res);
        corral_backend_unref(b);
}

static int backend_start_main(corral_backend *b, const launch *lp, bool may_restart);

static void backend_pre_next(corral_backend *b) {
        backend_run *r = &b->run;
        char **lines = b->spec->exec_start_pre;
        launch l = LAUNCH_INIT;
        _cleanup_free_ char *what = NULL;
        command_result res;

        if (lines && lines[r->cmd_index]) {
                if (backend_command_line(b, lines[r->cmd_index], b->spec->start_timeout_usec,
                                         backend_on_pre_done, &res, &what) == 0)
                        backend_pre_step(b, &res);
                return;
        }
        /* All done: the main process, in the same leaf. */
        r->in_pre = false;
        memcpy(l.id, r->id, sizeof(l.id));
        l.cgroup = TAKE_PTR(r->cgroup);
        l.v1 = r->v1;
        r->v1 = CGROUP_V1_LEAF_INIT;
        (void) backend_start_main(b, &l, r->pre_may_restart);
}

/* A launch with ExecStartPre=: its leaf first, the commands in it, then the main process (from the
 * loop). A failure before it returns is told then, and -errno returned, as without them. */
static int backend_start_pre(corral_backend *b, bool may_restart) {
        _cleanup_free_ char *what = NULL;
        backend_run *r = &b->run;
        launch l;
        int k = launch_leaf_make(b->corral, b->spec, &l, &what);

        if (k < 0) {
                verdict_input in = { .start_error = -k, .start_what = what };
                verdict v = verdict_decide(&in);
                backend_conclude(b, &v, -k, may_restart);
                return k;
        }
        memcpy(r->id, l.id, sizeof(r->id));
        r->cgroup = TAKE_PTR(l.cgroup);
        r->v1 = l.v1;
        r->start_usec = now_usec(CLOCK_MONOTONIC);
        r->in_pre = true;
        r->pre_may_restart = may_restart;
        r->cmd_index = 0;
        corral_backend_ref(b);
        backend_pre_next(b);
        k = b->linked && b->state != CORRAL_STATE_GONE && b->state != CORRAL_STATE_FAILED ? 0 : -ENOEXEC;
        corral_backend_unref(b);
        return k;
}

static int backend_start(corral_backend *b, bool may_restart) {
        launch l = LAUNCH_INIT;

        if (b->spec->exec_start_pre && b->spec->exec_start_pre[0])
                return backend_start_pre(b, may_restart);
        return backend_start_main(b, &l, may_restart);
}

/* A stop while ExecStartPre= commands run: they are killed, and that is the stop. */
static int backend_stop_pre(corral_backend *b, uint64_t base_usec, uid_t uid, pid_t pid) {
        backend_run *r = &b->run;
        verdict_input in = { .intent_stop = true, .pre_stopped = true };
        verdict v;

        r->cmd = command_free(r->cmd);
        r->in_pre = false;
        r->intent = (backend_intent){ .stop = true, .at_usec = base_usec, .by_uid = uid, .by_pid = pid };
        corral_backend_ref(b);
        backend_emit(b, CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "stopping backend");
        v = verdict_decide(&in);
        backend_conclude(b, &v, 0, false);
        corral_backend_unref(b);
        return CORRAL_STOP_STARTED;
}

static void backend_post_next(corral_backend *b);

/* One ended: its failure (without "-") is logged, and never changes the verdict. */
static void backend_post_step(corral_backend *b, const command_result *res) {
        backend_run *r = &b->run;
        const char *line = b->spec->exec_stop_post[r->cmd_index];
        _cleanup_free_ char *why = NULL;

        if (!command_result_ok(res) && line[0] != '-' &&
            (why = backend_command_outcome("ExecStopPost=", line, res, b->spec->grace_usec)))
                corral_log(b->corral, CORRAL_LEVEL_NOTICE, "%s: %s%s%s (the verdict stays)", b->name, why,
                           *res->stderr_tail ? ": " : "", res->stderr_tail);
        r->cmd_index++;
        backend_post_next(b);
}

static void backend_on_post_done(command *cmd _unused_, const command_result *res, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->run.cmd = NULL;
        backend_post_step(b, res);
        corral_backend_unref(b);
}

static void backend_post_next(corral_backend *b) {
        backend_run *r = &b->run;
        char **lines = b->spec->exec_stop_post;
        _cleanup_free_ char *what = NULL;
        command_result res;
        verdict v;

        if (lines[r->cmd_index]) {
                if (backend_command_line(b, lines[r->cmd_index], b->spec->grace_usec, backend_on_post_done,
                                         &res, &what) == 0)
                        backend_post_step(b, &res);
                return;
        }
        v = *r->post_verdict;
        r->post_verdict = mfree(r->post_verdict);
        backend_conclude_now(b, &v, r->post_error, r->post_may_restart);
}

/* The launch is over (its leaf empty, or its process never ran): ExecStopPost= runs in its leaf
 * before its verdict v is told. false if there is nothing to run, or no leaf to run it in. */
static bool backend_post_begin(corral_backend *b, const verdict *v, int error, bool may_restart) {
        backend_run *r = &b->run;
        _cleanup_close_ int leaf = -EBADF;

        if (!b->corral || !b->spec->exec_stop_post || !b->spec->exec_stop_post[0] || r->post_verdict)
                return false;
        leaf = backend_leaf_open(b);
        if (leaf < 0 || !(r->post_verdict = malloc(sizeof(*v))))
                return false;
        *r->post_verdict = *v;
        r->post_error = error;
        r->post_may_restart = may_restart;
        r->cmd_index = 0;
        corral_backend_ref(b);
        backend_post_next(b);
        corral_backend_unref(b);
        return true;
}

/* --- Reload: ExecReload=, ReloadSignal=, and systemd's notify-reload. --- */

static void backend_reload_close(backend_run *r) {
        r->reload_cmd = command_free(r->reload_cmd);
        r->reload_timer = sd_event_source_disable_unref(r->reload_timer);
        r->reloading = r->reload_seen = r->reload_ready = false;
}

/* Its end, told: one event. error: ETIMEDOUT when it was not done in time, else 0. */
static void backend_reload_end(corral_backend *b, bool ok, int error, const char *message) {
        backend_reload_close(&b->run);
        backend_emit_in(b->corral, b, ok ? CORRAL_EVENT_RELOADED : CORRAL_EVENT_RELOAD_FAILED,
                        ok ? CORRAL_LEVEL_INFO : CORRAL_LEVEL_WARNING, message, error);
}

/* What it waits for once its commands are done, or its signal delivered: READY=1 after a
 * RELOADING=1 (notify-reload), or nothing. */
static void backend_reload_settle(corral_backend *b, const char *done) {
        char msg[256];

        const backend_run *r = &b->run;

        /* With notify: it said RELOADING=1 and not yet READY=1, or it was signalled and has said
         * neither: backend_reload_notify() ends it. */
        if (b->spec->ready == CORRAL_READY_NOTIFY && !(r->reload_seen && r->reload_ready) &&
            (r->reload_seen || !b->spec->exec_reload))
                return;
        (void) snprintf(msg, sizeof(msg), "backend reloaded (%s)", done);
        backend_reload_end(b, true, 0, msg);
}

static void backend_reload_next(corral_backend *b);

static void backend_reload_step(corral_backend *b, const command_result *res) {
        backend_run *r = &b->run;
        const char *line = b->spec->exec_reload[r->reload_index];
        _cleanup_free_ char *why = NULL;
        char msg[512];

        if (!command_result_ok(res) && line[0] != '-') {
                why = backend_command_outcome("ExecReload=", line, res, 0);
                (void) snprintf(msg, sizeof(msg), "reload failed: %s%s%s", why ?: "ExecReload= failed",
                                *res->stderr_tail ? ": " : "", res->stderr_tail);
                return backend_reload_end(b, false, 0, msg);
        }
        r->reload_index++;
        backend_reload_next(b);
}

static void backend_on_reload_done(command *cmd _unused_, const command_result *res, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->run.reload_cmd = NULL;
        backend_reload_step(b, res);
        corral_backend_unref(b);
}

static void backend_reload_next(corral_backend *b) {
        backend_run *r = &b->run;
        const char *line = b->spec->exec_reload[r->reload_index];
        char **argv = NULL, prefix[8];
        _cleanup_free_ char *what = NULL;
        bool ignore = false;
        int k;

        if (!line)
                return backend_reload_settle(b, "ExecReload= done");
        k = parse_command_line(line, &argv, &ignore, prefix);
        if (k >= 0)
                k = backend_run_command(b, argv, 0, backend_on_reload_done, b, &r->reload_cmd, &what);
        strv_free(argv);
        if (k < 0)
                backend_reload_step(
                        b, &(command_result){ .error = k, .what = what ?: line, .stderr_tail = "" });
}

static int backend_on_reload_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        char msg[160];

        (void) snprintf(msg, sizeof(msg), "reload timed out: not done within %" PRIu64 " ms%s",
                        (uint64_t) (b->spec->start_timeout_usec / USEC_PER_MSEC),
                        b->run.reload_cmd            ? " (ExecReload= killed)"
                                : b->run.reload_seen ? " (no READY=1)"
                                                     : "");
        backend_reload_end(b, false, ETIMEDOUT, msg);
        corral_backend_unref(b);
        return 0;
}

/* A message during a reload: RELOADING=1 (since it began) holds it until READY=1. */
static void backend_reload_notify(corral_backend *b, const notify_message *m) {
        backend_run *r = &b->run;

        if (!r->reloading)
                return;
        if (m->reloading && (m->monotonic_usec == 0 || m->monotonic_usec >= r->reload_usec))
                r->reload_seen = true;
        else if (m->ready && r->reload_seen)
                r->reload_ready = true;
        /* its ExecReload= commands, if any, done too */
        if (r->reload_seen && r->reload_ready && !r->reload_cmd &&
            (!b->spec->exec_reload || !b->spec->exec_reload[r->reload_index]))
                backend_reload_end(b, true, 0, "backend reloaded (RELOADING=1, then READY=1)");
}

int corral_backend_reload(corral_backend *b) {
        return corral_backend_reload_by(b, (uid_t) -1, 0);
}

int corral_backend_reload_by(corral_backend *b, uid_t uid, pid_t pid) {
        backend_run *r = b ? &b->run : NULL;
        const corral_spec *sp = b ? b->spec : NULL;
        char done[96];
        int k;

        if (!b)
                return -EINVAL;
        if (!b->corral || (b->state != CORRAL_STATE_STARTING && b->state != CORRAL_STATE_RUNNING) ||
            r->in_pre || r->pidfd < 0)
                return -ESTALE;
        if (!(sp->exec_reload && sp->exec_reload[0]) && sp->reload_signal == 0)
                return -EOPNOTSUPP;
        if (r->reloading)
                return -EBUSY;
        r->reloading = true;
        r->reload_uid = uid;
        r->reload_pid = pid;
        r->reload_seen = r->reload_ready = false;
        r->reload_index = 0;
        r->reload_usec = now_usec(CLOCK_MONOTONIC);
        if (sp->start_timeout_usec > 0 &&
            sd_event_add_time_relative(b->corral->event, &r->reload_timer, CLOCK_MONOTONIC,
                                       sp->start_timeout_usec, 1000, backend_on_reload_timer, b) < 0) {
                r->reloading = false;
                return -ENOMEM;
        }
        corral_backend_ref(b);
        if (sp->exec_reload && sp->exec_reload[0])
                backend_reload_next(b);
        else if ((k = syscall_pidfd_send_signal(r->pidfd, sp->reload_signal)) < 0) {
                (void) snprintf(done, sizeof(done), "reload failed: %s to its main process: %s",
                                signal_to_name(sp->reload_signal) ?: "signal", strerror(-k));
                backend_reload_end(b, false, 0, done);
        } else {
                (void) snprintf(done, sizeof(done), "%s delivered to its main process",
                                signal_to_name(sp->reload_signal) ?: "signal");
                backend_reload_settle(b, done);
        }
        corral_backend_unref(b);
        return 0;
}

int backend_launch(corral_backend *b) {
        backend_link(b); /* from here the record owns what the launch makes */
        return backend_start(b, false); /* a first start that fails is the caller's to retry */
}

/* The restart's delay is over: a fresh launch of the same spec, with nothing of the last one but
 * the restart policy's memory. The last launch's empty leaf (its record) goes once the new one
 * has its own. */
static int backend_on_restart_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        corral *c = b->corral;
        char placeholder[13];

        memcpy(placeholder, b->run.id, sizeof(placeholder));
        b->restart_timer = sd_event_source_disable_unref(b->restart_timer);
        b->next_restart_usec = 0;
        b->restarts_total++;
        backend_run_done(b);
        (void) backend_start(b, true); /* restarting until the launch says what comes next */
        if (placeholder[0]) { /* also if the restart failed for good and b is unlinked now */
                (void) cgroup_leaf_remove(&c->root, b->name, placeholder);
                record_forget(&c->records, b->name, placeholder);
        }
        corral_backend_unref(b);
        return 0;
}

/* --- Taken back from an earlier supervisor. --- */

int backend_adopt(corral *c, const corral_spec *spec, const char *id, const record_state *st,
                  corral_backend **ret) {
        corral_backend *b;
        backend_run *r;
        int k = backend_new(c, spec, &b);

        if (k < 0)
                return k;
        r = &b->run;
        memcpy(r->id, id, sizeof(r->id));
        if (asprintf(&r->cgroup, "%s/%s.%s", c->root.path + strlen(c->root.mount), b->name, id) < 0) {
                r->cgroup = NULL;
                corral_backend_unref(b);
                return -ENOMEM;
        }
        r->adopted = true;
        r->pid = st->pid;
        r->pid_starttime = st->pid_starttime;
        r->start_usec = st->start_usec;
        r->ready_pending = st->ready_pending;
        r->self_stopping = st->self_stopping;
        r->intent = (backend_intent){ .stop = st->stop,
                                      .at_usec = st->stop_at_usec,
                                      .by_uid = st->stop_uid,
                                      .by_pid = st->stop_pid,
                                      .cause = st->stop_cause[0] ? strdup(st->stop_cause) : NULL };
        r->stop_signalled = st->stop_signalled;
        r->stop_deadline_usec = st->stop_deadline_usec;
        r->escalated = st->escalated;
        r->kill = (backend_kill_req){
                .sig = st->kill_signal, .all = st->kill_all, .by_uid = st->kill_uid, .by_pid = st->kill_pid
        };
        r->deadline_kill = st->deadline_kill;
        r->unhealthy = st->unhealthy;
        r->oom_seen = st->oom_seen;
        r->watchdog_usec = spec->watchdog_usec;
        if (st->concluded && (r->verdict = malloc(sizeof(verdict)))) {
                *r->verdict = (verdict){ .type = st->verdict_event, .level = st->verdict_level };
                memcpy(r->verdict->message, st->verdict_message, sizeof(r->verdict->message));
                r->verdict_next = st->verdict_next;
                r->exit_si = (siginfo_t){ .si_code = st->exit_code, .si_status = st->exit_status };
                r->leftover = st->leftover;
                r->leftover_known = true;
                r->exit_usec = now_usec(CLOCK_MONOTONIC);
                r->start_usec = r->exit_usec - st->runtime_usec;
        }
        b->attempt = st->attempt;
        if (st->n_restart_times > 0 && (b->restart_times = calloc(RECORD_RESTART_HISTORY, sizeof(uint64_t))))
                memcpy(b->restart_times, st->restart_times, sizeof(st->restart_times));
        b->n_restart_times = b->restart_times ? st->n_restart_times : 0;
        b->next_restart_usec = st->next_restart_usec;
        backend_counters_from_record(b, &st->counters);
        (void) cgroup_limits_reopen(&c->limits_host, &c->root, r->cgroup, &b->spec->limits, &r->v1);
        if (backend_check_new(b) < 0) {
                corral_backend_unref(b);
                return -ENOMEM;
        }
        backend_link(b);
        *ret = b;
        return 0;
}

int backend_adopt_restarting(corral_backend *b) {
        backend_set_state(b, CORRAL_STATE_RESTARTING);
        return b->restart_timer ? 0 : -ENOMEM;
}

/* Its main process lives: its state as it was kept, its timers where they were (the watchdog gets
 * a full period); a stop under way goes on, signalled now if it had not been. */
int backend_adopt_live(corral_backend *b, launch *l, int leaf_fd) {
        backend_run *r = &b->run;
        int k;

        r->pidfd = TAKE_FD(l->pidfd);
        backend_pid_index(b);
        r->notify_fd = TAKE_FD(l->notify_fd);
        for (int i = 0; i < 2; i++)
                b->out.pipe_fd[i] = TAKE_FD(l->out_fd[i]);
        output_file_done(&b->out.file);
        b->out.file = l->log;
        l->log = OUTPUT_FILE_INIT;
        output_prepare(b);
        k = backend_watch(b, leaf_fd);
        if (k >= 0)
                k = output_attach(b);
        if (k < 0)
                return k;
        backend_set_state(b, r->intent.stop || r->self_stopping ? CORRAL_STATE_STOPPING
                             : r->ready_pending                  ? CORRAL_STATE_STARTING
                                                                 : CORRAL_STATE_RUNNING);
        if (r->intent.stop && !r->stop_signalled && backend_signal_stop(b, b->spec->stop_signal) >= 0) {
                r->stop_signalled = true;
                backend_persist(b);
        }
        return 0;
}

static int backend_on_conclude_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->run.conclude_timer = sd_event_source_disable_unref(b->run.conclude_timer);
        if (b->run.events_wd >= 0)
                backend_check_populated(b); /* its leaf is there: the verdict once it is empty */
        else
                backend_finish(b); /* its leaf is gone too */
        corral_backend_unref(b);
        return 0;
}

/* From the loop, never from inside corral_adopt(): the caller has not even got it yet. */
static int backend_conclude_later(corral_backend *b) {
        return sd_event_add_time_relative(b->corral->event, &b->run.conclude_timer, CLOCK_MONOTONIC, 0, 0,
                                          backend_on_conclude_timer, b);
}

/* Its main process ended while no supervisor watched: no exit status can be had. Leftovers are
 * killed; the verdict comes once the leaf is empty. */
int backend_adopt_ended(corral_backend *b, int leaf_fd, const siginfo_t *exit_si) {
        backend_run *r = &b->run;
        int k;

        r->reaped = true;
        r->exit_si = exit_si ? *exit_si : (siginfo_t){ .si_code = 0 };
        r->exit_usec = now_usec(CLOCK_MONOTONIC);
        r->end_unknown = true; /* not now: some time while no supervisor ran */
        k = backend_watch(b, leaf_fd);
        if (k < 0)
                return k;
        backend_set_state(b, CORRAL_STATE_EXITED);
        backend_note_leftover(b);
        if (r->leftover > 0)
                backend_escalate(b);
        return backend_conclude_later(b);
}

/* Its leaf is gone too (removed by someone else while no supervisor ran): concluded from the loop
 * with what can be had. */
int backend_adopt_lost(corral_backend *b, const siginfo_t *exit_si) {
        backend_run *r = &b->run;

        r->reaped = true;
        r->populated = false;
        r->exit_si = *exit_si;
        r->exit_usec = now_usec(CLOCK_MONOTONIC);
        backend_set_state(b, CORRAL_STATE_EXITED);
        return backend_conclude_later(b);
}

/* --- The children a subreaper gets. --- */

static corral_backend *backend_find_unreaped(corral *c, pid_t pid) {
        corral_backend *b = hashmap_get(&c->by_pid, INT_TO_PTR(pid));

        if (b && b->run.pid == pid && !b->run.reaped)
                return b;
        if (!c->by_pid_partial)
                return NULL;
        for (b = c->live; b; b = b->next)
                if (b->run.pid == pid && !b->run.reaped)
                        return b;
        return NULL;
}

/* As subreaper, orphans of every backend come to us. Their zombies are reaped here, each through
 * a pidfd; a zombie that is a backend's main process goes to its record, so no exit status is
 * ever lost. Peeking with WNOWAIT reaps nothing by itself. An exit held back for a pending signal
 * of ours (backend_on_exit()) ends the sweep: the signal is handled first, and the pidfd brings
 * the exit back after it. */
void backend_reap_orphans(corral *c) {
        if (!c || !c->subreaper || c->sweeping)
                return;
        c->sweeping = true;
        for (;;) {
                siginfo_t si = { 0 };
                corral_backend *b;
                int pidfd;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        break;
                if (command_reap(c, si.si_pid))
                        continue;
                b = backend_find_unreaped(c, si.si_pid);
                if (b) {
                        corral_backend_ref(b);
                        int k = backend_on_exit(b);
                        corral_backend_unref(b);
                        if (k <= 0) /* left for after a pending signal of ours */
                                break;
                        continue;
                }
                /* A zombie child's pid cannot be reused until it is reaped. */
                pidfd = syscall_pidfd_open(si.si_pid);
                if (pidfd < 0 || syscall_waitid_pidfd(pidfd, WEXITED | WNOHANG, &si) < 0) {
                        safe_close(pidfd);
                        break;
                }
                safe_close(pidfd);
        }
        c->sweeping = false;
}

static int backend_on_sweep(sd_event_source *s _unused_, void *userdata) {
        backend_reap_orphans(userdata);
        return 0;
}

void backend_reap_orphans_later(corral *c) {
        if (!c || !c->subreaper)
                return;
        if (!c->sweep_source &&
            (sd_event_add_defer(c->event, &c->sweep_source, backend_on_sweep, c) < 0 ||
             sd_event_source_set_priority(c->sweep_source, SD_EVENT_PRIORITY_IDLE) < 0)) {
                c->sweep_source = sd_event_source_disable_unref(c->sweep_source);
                backend_reap_orphans(c); /* without the source: at once, as it always could be */
                return;
        }
        (void) sd_event_source_set_enabled(c->sweep_source, SD_EVENT_ONESHOT);
}

static int backend_on_told_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        verdict v = *b->run.verdict;

        b->run.conclude_timer = sd_event_source_disable_unref(b->run.conclude_timer);
        backend_tell(b, &v, 0, b->run.verdict_next);
        corral_backend_unref(b);
        return 0;
}

int backend_adopt_concluded(corral_backend *b) {
        backend_run *r = &b->run;

        r->reaped = true;
        r->populated = false;
        backend_set_state(b, CORRAL_STATE_EXITED);
        return sd_event_add_time_relative(b->corral->event, &r->conclude_timer, CLOCK_MONOTONIC, 0, 0,
                                          backend_on_told_timer, b);
}

/* --- Stop. --- */

/* base + grace, saturating below USEC_INFINITY: an absurd grace never wraps to "now". */
static uint64_t deadline_add(uint64_t base, uint64_t grace) {
        return grace >= UINT64_MAX - 1 - base ? UINT64_MAX - 1 : base + grace;
}

/* The main process (our child) has exited, though the loop has not judged it yet. */
static bool backend_exited_unjudged(corral_backend *b) {
        siginfo_t si = { 0 };

        return syscall_waitid_pidfd(b->run.pidfd, WEXITED | WNOHANG | WNOWAIT, &si) >= 0 && si.si_pid != 0;
}

/* A stop that finds the main process gone on its own, seen or not yet: that exit was not ours (no
 * intent, its verdict is unexpected), but the stop was asked for: no restart may follow it, or
 * the stop would be lost and its caller wait for ever. */
static int backend_stop_too_late(corral_backend *b) {
        b->run.no_restart = true;
        if (b->state != CORRAL_STATE_EXITED) {
                corral_backend_ref(b);
                (void) backend_on_exit(b);
                corral_backend_unref(b);
        }
        return CORRAL_STOP_PENDING;
}

/* Nothing runs: the restart to come is cancelled, and that is the stop. */
static int backend_stop_restarting(corral_backend *b, uint64_t base_usec, uid_t uid, pid_t pid,
                                   char *cause) {
        corral *c = b->corral;

        b->next_restart_usec = 0;
        free(b->run.intent.cause);
        b->run.intent = (backend_intent){
                .stop = true, .at_usec = base_usec, .by_uid = uid, .by_pid = pid, .cause = cause
        };
        b->run.reaped = false; /* no exit to report: how is null */
        backend_count_verdict(b, &(verdict){ .type = CORRAL_EVENT_STOPPED, .level = CORRAL_LEVEL_INFO });
        corral_backend_ref(b);
        backend_set_state(b, CORRAL_STATE_GONE);
        backend_unlink(b);
        backend_emit_in(c, b, CORRAL_EVENT_STOPPED, CORRAL_LEVEL_INFO, "backend stopped (restart cancelled)", 0);
        corral_backend_unref(b);
        return CORRAL_STOP_STARTED;
}

/* The intent first (kept where a supervisor after us reads it), then the stop signal to every
 * process of the cgroup, and cgroup.kill at the deadline. */
static int backend_stop_start(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid,
                              pid_t pid, char *cause) {
        backend_run *r = &b->run;

        if (grace_usec == CORRAL_GRACE_DEFAULT)
                grace_usec = b->spec->grace_usec;
        free(r->intent.cause);
        r->intent = (backend_intent){ .stop = true,
                                      .at_usec = now_usec(CLOCK_MONOTONIC),
                                      .by_uid = uid,
                                      .by_pid = pid,
                                      .cause = cause };
        r->stop_deadline_usec = grace_usec == 0 ? 0 : deadline_add(base_usec, grace_usec);
        backend_set_state(b, CORRAL_STATE_STOPPING);
        backend_emit(b, CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "stopping backend");
        if (backend_signal_stop(b, b->spec->stop_signal) < 0 || grace_usec == 0 || !r->stop_timer) {
                backend_escalate(b);
                return CORRAL_STOP_STARTED;
        }
        r->stop_signalled = true;
        backend_persist(b);
        /* A stopped (SIGSTOP) process must run to act on the stop signal. */
        if (b->spec->stop_signal != SIGKILL && b->spec->stop_signal != SIGCONT)
                (void) backend_signal_stop(b, SIGCONT);
        return CORRAL_STOP_STARTED;
}

/* claim_unjudged: an exit the loop has not judged yet is this stop's (see corral_stop_by_signal()):
 * the stop goes on as if the main process still ran, and its exit comes through its pidfd. */
/* cause: NULL, or why (another backend's end), which the intent takes if a stop starts here. */
static int backend_stop_full(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid,
                             pid_t pid, bool claim_unjudged, const char *cause) {
        char *why = NULL;

        if (!b)
                return -EINVAL;
        if (!b->corral || b->state == CORRAL_STATE_GONE || b->state == CORRAL_STATE_FAILED)
                return CORRAL_STOP_ALREADY;
        if (b->run.in_pre)
                return backend_stop_pre(b, base_usec, uid, pid);
        if (b->run.post_verdict) { /* decided: its verdict comes once ExecStopPost= is done */
                b->run.no_restart = true;
                return CORRAL_STOP_PENDING;
        }
        if (b->state == CORRAL_STATE_EXITED)
                return backend_stop_too_late(b);
        if (b->state == CORRAL_STATE_STOPPING && !(b->run.self_stopping && !b->run.intent.stop))
                return CORRAL_STOP_PENDING;
        if (cause && !(why = strdup(cause)))
                return -ENOMEM;
        if (b->state == CORRAL_STATE_RESTARTING)
                return backend_stop_restarting(b, base_usec, uid, pid, why);
        if (!claim_unjudged && backend_exited_unjudged(b)) {
                free(why);
                return backend_stop_too_late(b);
        }
        return backend_stop_start(b, grace_usec, base_usec, uid, pid, why);
}

int backend_stop(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid, pid_t pid) {
        return backend_stop_full(b, grace_usec, base_usec, uid, pid, false, NULL);
}

int corral_stop(corral_backend *b, uint64_t grace_usec) {
        return backend_stop(b, grace_usec, now_usec(CLOCK_MONOTONIC), (uid_t) -1, 0);
}

int corral_stop_by(corral_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid) {
        return backend_stop(b, grace_usec, now_usec(CLOCK_MONOTONIC), uid, pid);
}

int corral_stop_because(corral_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid, const char *cause) {
        return backend_stop_full(b, grace_usec, now_usec(CLOCK_MONOTONIC), uid, pid, false, cause);
}

int corral_stop_by_signal(corral_backend *b, uint64_t grace_usec, const struct signalfd_siginfo *si) {
        if (!si)
                return -EINVAL;
        return backend_stop_full(b, grace_usec, now_usec(CLOCK_MONOTONIC), (uid_t) si->ssi_uid,
                                 (pid_t) si->ssi_pid, true, NULL);
}

/* Wait for an fd to poll readable for the given events, without a timeout: used only after
 * SIGKILL, which ends every process that can be ended. */
static void wait_fd(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };

        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

/* cgroup.kill, and wait until the main process is reaped, the leaf is empty and every process that
 * was in it has ended. The leaf empties as its last process starts to exit, which on 6.1 is before
 * that process is a zombie: an orphan of ours could then become one only after corral_free()'s last
 * sweep, and be left unreaped. Their pidfds, opened before the kill, say when each has ended. */
static void backend_kill_wait(corral_backend *b) {
        backend_run *r = &b->run;
        _cleanup_free_ int *dying = NULL;
        int leaf = backend_leaf_open(b), events, n = 0;
        cgroup_leaf l = { .fd = leaf, .path = r->cgroup };
        siginfo_t si;

        if (leaf >= 0)
                n = cgroup_open_pidfds(&l, &b->corral->features.cgroup, &dying);
        (void) backend_kill(b);
        if (!r->reaped && r->pidfd >= 0)
                (void) syscall_waitid_pidfd(r->pidfd, WEXITED, &si);
        r->reaped = true;
        if (cgroup_is_populated(leaf) > 0) { /* the loop's watch cannot be waited on here */
                events = cgroup_events_open(leaf);
                while (events >= 0 && cgroup_is_populated(leaf) > 0)
                        wait_fd(events, POLLPRI);
                safe_close(events);
        }
        for (int i = 0; i < n; i++) {
                wait_fd(dying[i], POLLIN);
                safe_close(dying[i]);
        }
        safe_close(leaf);
        output_drain(b);
}

void backend_kill_sync(corral_backend *b) {
        if (b->state == CORRAL_STATE_GONE || !b->corral)
                return;
        backend_kill_wait(b);
        backend_set_state(b, CORRAL_STATE_GONE);
        backend_unlink(b);
}

/* --- Kill: a signal, not a stop. --- */

/* Its main process runs, as far as the loop knows: it may be signalled. */
static bool backend_main_runs(const corral_backend *b) {
        return b->corral && !b->run.reaped && b->run.pidfd >= 0 &&
                (b->state == CORRAL_STATE_STARTING || b->state == CORRAL_STATE_RUNNING ||
                 b->state == CORRAL_STATE_STOPPING);
}

/* SIGKILL to all is cgroup.kill: how many there were, then the kill. */
static int backend_kill_all(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        int n = cgroup_count_procs(fd, 0), k;

        if (n < 0)
                return n;
        k = backend_kill(b);
        return k < 0 ? k : n;
}

int corral_backend_kill_by(corral_backend *b, int sig, corral_kill_whom whom, uid_t uid, pid_t pid) {
        backend_run *r;
        int k;

        if (!b || !signal_to_name(sig) || (whom != CORRAL_KILL_MAIN && whom != CORRAL_KILL_ALL))
                return -EINVAL;
        if (!backend_main_runs(b))
                return -ESRCH;
        r = &b->run;
        /* Who asked is kept before the signal goes: a supervisor after us still knows whose it was. */
        r->kill = (backend_kill_req){
                .sig = sig, .all = whom == CORRAL_KILL_ALL, .by_uid = uid, .by_pid = pid
        };
        backend_persist(b);
        if (whom == CORRAL_KILL_MAIN) {
                k = syscall_pidfd_send_signal(r->pidfd, sig);
                return k < 0 ? k : 1;
        }
        return sig == SIGKILL ? backend_kill_all(b) : backend_signal(b, sig);
}

int corral_backend_kill(corral_backend *b, int sig, corral_kill_whom whom) {
        return corral_backend_kill_by(b, sig, whom, (uid_t) -1, 0);
}

/* --- What it is, for callers that show it. --- */

const char *corral_backend_get_name(corral_backend *b) {
        return b ? b->name : NULL;
}

const char *corral_backend_get_launch(corral_backend *b) {
        return b ? b->run.id : NULL;
}

const char *corral_backend_get_cgroup(corral_backend *b) {
        return b ? b->run.cgroup : NULL;
}

pid_t corral_backend_get_pid(corral_backend *b) {
        return b ? b->run.pid : 0;
}

const char *corral_backend_get_status_text(corral_backend *b) {
        return b ? b->run.status_text : NULL;
}

int corral_backend_get_usage(corral_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec) {
        uint64_t mem = UINT64_MAX, cpu = UINT64_MAX;
        _cleanup_close_ int fd = b && b->state != CORRAL_STATE_GONE ? backend_leaf_open(b) : -EBADF;

        if (fd < 0)
                return -ESTALE;
        if (cgroup_limits_memory_usage(fd, &b->run.v1, &mem) < 0)
                mem = UINT64_MAX;
        if (cgroup_cpu_usage(fd, &cpu) < 0)
                cpu = UINT64_MAX;
        *ret_memory_bytes = mem;
        *ret_cpu_usec = cpu;
        return 0;
}

static bool backend_has_launch(const corral_backend *b) {
        return b && b->state != CORRAL_STATE_GONE && b->state != CORRAL_STATE_RESTARTING &&
                b->state != CORRAL_STATE_FAILED && b->run.id[0];
}

uint64_t corral_backend_get_start_time(corral_backend *b) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), start;

        if (!backend_has_launch(b) || !b->run.start_usec)
                return 0;
        start = b->run.start_usec < now ? b->run.start_usec : now;
        return now_usec(CLOCK_REALTIME) - (now - start); /* monotonic in the record: the same boot */
}

int corral_backend_get_ready(corral_backend *b) {
        if (!backend_has_launch(b) || b->spec->ready == CORRAL_READY_NONE)
                return -ENODATA;
        return !b->run.ready_pending;
}

uint64_t corral_backend_get_next_restart(corral_backend *b) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!b || b->state != CORRAL_STATE_RESTARTING || !b->next_restart_usec)
                return 0;
        return now_usec(CLOCK_REALTIME) + (b->next_restart_usec > now ? b->next_restart_usec - now : 0);
}

unsigned corral_backend_get_restarts(corral_backend *b) {
        return b ? b->attempt : 0;
}

corral_state corral_backend_get_state(corral_backend *b) {
        return b ? b->state : CORRAL_STATE_GONE;
}

const corral_spec *corral_backend_get_spec(corral_backend *b) {
        return b ? b->spec : NULL;
}

int corral_backend_get_counters(corral_backend *b, corral_counters *ret) {
        uint64_t mono, real;

        if (!b || !ret)
                return -EINVAL;
        mono = now_usec(CLOCK_MONOTONIC);
        real = now_usec(CLOCK_REALTIME);
        *ret = (corral_counters){
                .restarts = b->restarts_total,
                .oom_kills = b->oom_kills,
                .last_exit = b->last_exit,
                /* Kept as CLOCK_MONOTONIC (a record outlives a change of the clock): told in real time. */
                .start_usec =
                        b->run.start_usec && b->run.start_usec <= mono && real > mono - b->run.start_usec
                        ? real - (mono - b->run.start_usec)
                        : 0,
        };
        return 0;
}

uint64_t corral_backend_get_verdicts(corral_backend *b, corral_event_type type, corral_level level) {
        if (!b || !b->verdicts || (unsigned) type >= _CORRAL_EVENT_MAX || (unsigned) level >= RECORD_LEVELS)
                return 0;
        return b->verdicts[type][level];
}

int corral_backend_get_processes(corral_backend *b) {
        _cleanup_close_ int fd = b && b->state != CORRAL_STATE_GONE ? backend_leaf_open(b) : -EBADF;

        return fd < 0 ? -ESTALE : cgroup_count_procs(fd, 0);
}
