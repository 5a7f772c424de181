/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend.c: one backend's record and its life: running, stopping with intent, exited, gone. */
#include <errno.h>
#include <stdio.h>
#include <inttypes.h>
#include <sys/random.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corral-private.h"
#include "fileio.h"
#include "notify.h"
#include "parse.h"
#include "macro.h"
#include "syscall.h"
#include "verdict.h"

int backend_new(corral *c, const corral_spec *s, corral_backend **ret) {
        corral_backend *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        *b = (corral_backend){
                .n_ref = 1,
                .corral = c,
                .type = s->type,
                .stop_signal = s->stop_signal,
                .grace_usec = s->grace_usec,
                .state = CORRAL_STATE_STARTING,
                .pidfd = -EBADF,
                .events_wd = -1,
                .notify_fd = -EBADF,
                .probe_fd = -EBADF,
                .v1 = CGROUP_V1_LEAF_INIT,
                .out = BACKEND_OUTPUT_INIT,
                .memevents_wd = -1,
        };
        b->name = strdup(s->name);
        if (!b->name || corral_spec_copy(s, &b->spec) < 0) {
                free(b->name);
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

static void backend_probe_done(corral_backend *b) {
        b->probe_source = sd_event_source_disable_unref(b->probe_source);
        b->probe_timer = sd_event_source_disable_unref(b->probe_timer);
        b->probe_fd = safe_close(b->probe_fd);
}

static void backend_ready(corral_backend *b);
static int backend_probe(corral_backend *b);

static int backend_on_probe_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->probe_timer = sd_event_source_disable_unref(b->probe_timer);
        (void) backend_probe(b);
        return 0;
}

/* Not yet: try again a little later, 10 ms doubling up to 500 ms; only while it starts. */
static void backend_probe_later(corral_backend *b) {
        b->probe_source = sd_event_source_disable_unref(b->probe_source);
        b->probe_fd = safe_close(b->probe_fd);
        b->probe_delay_usec = b->probe_delay_usec ? b->probe_delay_usec * 2 : 10 * USEC_PER_MSEC;
        if (b->probe_delay_usec > 500 * USEC_PER_MSEC)
                b->probe_delay_usec = 500 * USEC_PER_MSEC;
        (void) sd_event_add_time_relative(b->corral->event, &b->probe_timer, CLOCK_MONOTONIC,
                                          b->probe_delay_usec, 1000, backend_on_probe_timer, b);
}

static int backend_on_probe_io(sd_event_source *s _unused_, int fd, uint32_t revents _unused_,
                               void *userdata) {
        corral_backend *b = userdata;
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
                backend_probe_later(b);
        else
                backend_ready(b);
        return 0;
}

static int backend_probe(corral_backend *b) {
        const corral_spec *s = b->spec;

        if (!b->ready_pending || b->intent.stop || b->reaped)
                return 0;
        b->probe_fd = socket(s->ready_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (b->probe_fd < 0) {
                backend_probe_later(b);
                return negative_errno();
        }
        if (connect(b->probe_fd, (const struct sockaddr *) &s->ready_addr, s->ready_addr_len) == 0) {
                backend_ready(b);
                return 0;
        }
        if (errno != EINPROGRESS ||
            sd_event_add_io(b->corral->event, &b->probe_source, b->probe_fd, EPOLLOUT, backend_on_probe_io,
                            b) < 0)
                backend_probe_later(b);
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
        int wd = cgroup_watch_add(c->inotify_fd, &c->root, b->name, b->launch, file);

        if (wd < 0)
                return wd;
        if (hashmap_put(&c->watches, INT_TO_PTR(wd), b) < 0) {
                cgroup_watch_remove(c->inotify_fd, wd);
                return -ENOMEM;
        }
        *ret_wd = wd;
        return 0;
}

/* Its notify socket and its file go: a launch that is over hears nothing more. */
void backend_notify_close(corral_backend *b) {
        b->notify_source = sd_event_source_disable_unref(b->notify_source);
        if (b->notify_fd >= 0 && b->corral)
                notify_unbind(b->corral->notify_dir_fd, b->launch);
        b->notify_fd = safe_close(b->notify_fd);
}

static void backend_close(corral_backend *b) {
        backend_notify_close(b);
        b->pidfd_source = sd_event_source_disable_unref(b->pidfd_source);
        backend_unwatch(b, &b->events_wd);
        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        b->start_timer = sd_event_source_disable_unref(b->start_timer);
        b->watchdog_timer = sd_event_source_disable_unref(b->watchdog_timer);
        backend_unwatch(b, &b->memevents_wd);
        backend_probe_done(b);
        b->pidfd = safe_close(b->pidfd);
}

corral_backend *corral_backend_ref(corral_backend *b) {
        if (b)
                b->n_ref++;
        return b;
}

corral_backend *corral_backend_unref(corral_backend *b) {
        if (!b || --b->n_ref > 0)
                return NULL;
        backend_close(b);
        free(b->name);
        free(b->cgroup);
        corral_spec_free(b->spec);
        cgroup_v1_leaf_done(&b->v1);
        output_done(&b->out);
        free(b->status_text);
        free(b);
        return NULL;
}

static void backend_emit_in(corral *c, corral_backend *b, corral_event_type type, corral_level level,
                            const char *message, int error) {
        const siginfo_t *si = &b->exit_si;
        corral_how how = b->reaped ? verdict_how(si->si_code) : CORRAL_HOW_NONE;
        uint64_t end = b->reaped ? b->exit_usec : now_usec(CLOCK_MONOTONIC);
        corral_event ev = {
                .type = type,
                .level = level,
                .ts_usec = now_usec(CLOCK_REALTIME),
                .backend = b->name,
                .launch = b->launch,
                .pid = b->pid,
                .cgroup = b->cgroup,
                .intentional = b->intent.stop,
                .stop_uid = b->intent.stop ? b->intent.by_uid : (uid_t) -1,
                .stop_pid = b->intent.stop ? b->intent.by_pid : 0,
                .how = how,
                .exit_code = how == CORRAL_HOW_EXITED ? si->si_status : -1,
                .signal = how == CORRAL_HOW_KILLED || how == CORRAL_HOW_DUMPED ? si->si_status : 0,
                .core_dumped = how == CORRAL_HOW_DUMPED,
                .escalated = b->escalated,
                .leftover = b->leftover,
                .runtime_usec = b->start_usec && end > b->start_usec ? end - b->start_usec : 0,
                .error = error,
                .attempt = b->attempt,
                .restart_delay_usec = b->restart_delay_usec,
                .message = message,
        };

        char tail[OUTPUT_TAIL_SIZE + 1];

        if (type == CORRAL_EVENT_OOM_KILLED)
                ev.oom_killed = true;
        /* What it said last, for an end nobody asked for: why it died is often there. */
        if (corral_event_is_verdict(type) && !b->intent.stop && type != CORRAL_EVENT_FINISHED &&
            b->out.tail_len > 0) {
                output_stderr_tail(b, tail, sizeof(tail));
                ev.stderr_tail = tail;
        }
        if (c)
                corral_emit(c, &ev);
}

void backend_emit(corral_backend *b, corral_event_type type, corral_level level, const char *message,
                  int error) {
        backend_emit_in(b->corral, b, type, level, message, error);
}

/* The leaf's directory, opened for each use: an fd held per backend would not scale to 10,000
 * backends under a file limit of 20,000. */
static int backend_leaf_open(corral_backend *b) {
        return b->corral && b->launch[0] ? cgroup_leaf_open(&b->corral->root, b->name, b->launch) : -EBADF;
}

static int backend_signal(corral_backend *b, int sig) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        cgroup_leaf leaf = { .fd = fd, .path = b->cgroup };
        return cgroup_signal_all(&leaf, sig, &b->corral->features.cgroup);
}

static int backend_kill(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        cgroup_leaf leaf = { .fd = fd, .path = b->cgroup };
        return cgroup_kill(&leaf, &b->corral->features.cgroup);
}

/* Measured once, at the first of the main process's exit and cgroup.kill, so that processes
 * still dying from our own kill are never counted. */
static void backend_note_leftover(corral_backend *b) {
        int n;

        if (b->leftover_known)
                return;
        _cleanup_close_ int fd = backend_leaf_open(b);
        n = cgroup_count_procs(fd, b->reaped ? 0 : b->pid);
        b->leftover = n > 0 ? (unsigned) n : 0;
        b->leftover_known = true;
}

static void backend_escalate(corral_backend *b) {
        backend_note_leftover(b);
        b->escalated = true;
        (void) backend_kill(b);
        b->timer_source = sd_event_source_disable_unref(b->timer_source);
}

static int backend_on_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        if (b->populated)
                backend_escalate(b);
        return 0;
}

/* Whether the leaf still holds a process; on error assume it does and wait for the next event. */
static void backend_check_populated(corral_backend *b) {
        _cleanup_close_ int fd = backend_leaf_open(b);
        int r = cgroup_is_populated(fd);

        b->populated = r != 0;
        if (!b->populated && b->reaped)
                backend_finish(b);
}

static void backend_on_events(corral_backend *b) {
        corral_backend_ref(b);
        backend_check_populated(b);
        /* An empty leaf means the main process is gone too, even if its pidfd is not yet seen. */
        if (!b->populated && !b->reaped)
                (void) backend_on_exit(b);
        corral_backend_unref(b);
}

/* Reap the main process if it has exited. Returns 1 if it was reaped now, 0 if still running. */
int backend_on_exit(corral_backend *b) {
        siginfo_t si;
        int r;

        if (b->reaped)
                return 0;
        /* A signal of the supervisor's own that is pending may be the stop whose kill this exit
         * is (a service manager signals the supervisor before the rest of its cgroup): it is
         * handled first, and the exit judged after it, from its pidfd, which stays readable. */
        if (!b->intent.stop && b->corral && corral_signal_pending(b->corral))
                return 0;
        r = syscall_waitid_pidfd(b->pidfd, WEXITED | WNOHANG, &si);
        if (r == -ECHILD) { /* not our child (adopted), or someone else reaped it */
                struct pollfd p = { .fd = b->pidfd, .events = POLLIN };
                if (poll(&p, 1, 0) == 0)
                        return 0; /* still running */
                if (syscall_pidfd_exit_info(b->pidfd, b->pid, &si) < 0)
                        si = (siginfo_t){ .si_pid = b->pid, .si_code = 0 };
        } else if (r < 0 || si.si_pid == 0)
                return r < 0 ? r : 0;
        b->exit_si = si;
        b->reaped = true;
        b->exit_usec = now_usec(CLOCK_MONOTONIC);
        b->pidfd_source = sd_event_source_disable_unref(b->pidfd_source);
        b->pidfd = safe_close(b->pidfd);
        b->state = CORRAL_STATE_EXITED;
        backend_note_leftover(b);
        /* Left behind by an unasked exit (a double-forked daemon, say): not ours to keep. A stop
         * under way gives them the rest of its grace period instead. */
        if (!b->intent.stop && b->leftover > 0)
                backend_escalate(b);
        backend_check_populated(b);
        return 1;
}

static int backend_on_pidfd(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_,
                            void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        (void) backend_on_exit(b);
        corral_backend_unref(b);
        return 0;
}

/* No WATCHDOG=1 in time: it is killed, and its verdict is watchdog. */
static int backend_on_watchdog(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->watchdog_timer = sd_event_source_disable_unref(b->watchdog_timer);
        if (b->intent.stop || b->reaped)
                return 0;
        b->watchdog_fired = true;
        if (b->populated)
                backend_escalate(b);
        return 0;
}

/* (Re)start the watchdog's countdown: at start, and at each WATCHDOG=1. */
static void backend_watchdog_arm(corral_backend *b) {
        b->watchdog_timer = sd_event_source_disable_unref(b->watchdog_timer);
        if (b->watchdog_usec > 0 && !b->intent.stop && !b->reaped)
                (void) sd_event_add_time_relative(b->corral->event, &b->watchdog_timer, CLOCK_MONOTONIC,
                                                  b->watchdog_usec, 1000, backend_on_watchdog, b);
}

/* Never ready in time: it is killed, and its verdict is start-failed. */
static int backend_on_start_timeout(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = userdata;

        b->start_timer = sd_event_source_disable_unref(b->start_timer);
        if (!b->ready_pending || b->intent.stop)
                return 0;
        b->start_timed_out = true;
        if (b->populated)
                backend_escalate(b);
        return 0;
}

/* memory.events changed: an OOM kill while the main process lives was of a helper (an event);
 * one that ended the main process is its verdict's to tell. */
static int backend_on_memory_events(corral_backend *b) {
        uint64_t now;
        siginfo_t si = { 0 };
        char msg[160];

        _cleanup_close_ int fd = backend_leaf_open(b);

        if (b->reaped || cgroup_limits_oom_kills(fd, &b->v1, &now) < 0 || now <= b->oom_seen)
                return 0;
        if (syscall_waitid_pidfd(b->pidfd, WEXITED | WNOHANG | WNOWAIT, &si) < 0 || si.si_pid != 0)
                return 0;
        if (syscall_pid_sigkill_pending(b->pid) != 0) /* the main process is the one being killed */
                return 0;
        (void) snprintf(msg, sizeof(msg),
                        "the OOM killer killed %" PRIu64
                        " process(es) of the backend; its main process lives on",
                        now - b->oom_seen);
        b->oom_seen = now;
        backend_emit(b, CORRAL_EVENT_OOM, CORRAL_LEVEL_WARNING, msg, 0);
        return 0;
}

static int backend_watch_memory(corral_backend *b) {
        if (!b->have_oom || b->v1.memory_fd >= 0) /* v1 signals OOM through cgroup.event_control */
                return 0;
        (void) backend_watch_file(b, "memory.events",
                                  &b->memevents_wd); /* the verdict has the count anyway */
        return 0;
}

void backend_on_watch(corral_backend *b, int wd) {
        if (wd == b->events_wd)
                backend_on_events(b);
        else if (wd == b->memevents_wd)
                (void) backend_on_memory_events(b);
}

/* What a launch is watched through: its pidfd (when the main process lives), its
 * cgroup.events, and its memory.events. */
static int backend_watch(corral_backend *b, pid_t pid, int pidfd, int cgroup_fd) {
        sd_event *e = b->corral->event;
        uint64_t oom = 0;
        int r;

        b->pid = pid;
        b->pidfd = pidfd;
        b->populated = true;
        b->have_oom = cgroup_limits_oom_kills(cgroup_fd, &b->v1, &oom) >= 0;
        safe_close(cgroup_fd); /* taken: reopened by path when needed */
        if (!b->adopted)
                b->oom_at_start = b->oom_seen = oom;
        r = backend_watch_memory(b);
        if (r >= 0 && pidfd >= 0)
                r = sd_event_add_io(e, &b->pidfd_source, pidfd, EPOLLIN, backend_on_pidfd, b);
        if (r >= 0) /* after the watch, a check: what changed before it was there is seen too */
                r = backend_watch_file(b, "cgroup.events", &b->events_wd);
        return r;
}

int backend_attach(corral_backend *b, pid_t pid, int pidfd, int cgroup_fd) {
        sd_event *e = b->corral->event;
        int r;

        b->start_usec = now_usec(CLOCK_MONOTONIC);
        r = backend_watch(b, pid, pidfd, cgroup_fd);
        if (r < 0)
                return r;
        (void) syscall_pid_starttime(pid, &b->pid_starttime);
        b->watchdog_usec = b->spec->watchdog_usec;
        backend_watchdog_arm(b);
        b->ready_pending = b->spec->ready != CORRAL_READY_NONE;
        b->probe_delay_usec = 0;
        if (b->spec->ready == CORRAL_READY_TCP)
                backend_probe_later(b); /* from the loop, after "started" */
        b->state = b->ready_pending ? CORRAL_STATE_STARTING : CORRAL_STATE_RUNNING;
        if (b->ready_pending && b->spec->start_timeout_usec > 0)
                return sd_event_add_time_relative(e, &b->start_timer, CLOCK_MONOTONIC,
                                                  b->spec->start_timeout_usec, 1000,
                                                  backend_on_start_timeout, b);
        return 0;
}

static int backend_on_recheck(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        backend_check_populated(b);
        corral_backend_unref(b);
        return 0;
}

/* Taken back from an earlier supervisor, main process gone: kill what is left, and let the loop
 * conclude once the leaf is empty (never from inside corral_adopt()). */
int backend_attach_ended(corral_backend *b, int cgroup_fd) {
        int r = backend_watch(b, b->pid, -EBADF, cgroup_fd);

        if (r < 0)
                return r;
        backend_note_leftover(b);
        if (b->leftover > 0)
                backend_escalate(b);
        return sd_event_add_time_relative(b->corral->event, &b->timer_source, CLOCK_MONOTONIC, 0, 0,
                                          backend_on_recheck, b);
}

static int backend_arm_timer(corral_backend *b, uint64_t deadline);

/* Taken back from an earlier supervisor with its main process alive: its state as it was kept,
 * its timers (start timeout, stop deadline) where they were; the watchdog gets a full period. */
int backend_attach_adopted(corral_backend *b, pid_t pid, int pidfd, int cgroup_fd) {
        sd_event *e = b->corral->event;
        int r;

        b->adopted = true;
        r = backend_watch(b, pid, pidfd, cgroup_fd);
        if (r < 0)
                return r;
        b->state = b->intent.stop || b->self_stopping ? CORRAL_STATE_STOPPING
                : b->ready_pending                    ? CORRAL_STATE_STARTING
                                                      : CORRAL_STATE_RUNNING;
        if (b->intent.stop) { /* the stop under way goes on: signal if it had not been, kill at its deadline
                               */
                if (!b->stop_signalled && backend_signal(b, b->stop_signal) >= 0)
                        b->stop_signalled = true;
                adopt_save_state(b);
                return b->stop_deadline_usec ? backend_arm_timer(b, b->stop_deadline_usec) : 0;
        }
        b->watchdog_usec = b->spec->watchdog_usec;
        if (!b->self_stopping)
                backend_watchdog_arm(b);
        if (b->ready_pending && b->spec->ready == CORRAL_READY_TCP)
                backend_probe_later(b);
        if (b->ready_pending && b->spec->start_timeout_usec > 0)
                return sd_event_add_time(e, &b->start_timer, CLOCK_MONOTONIC,
                                         b->start_usec + b->spec->start_timeout_usec, 1000,
                                         backend_on_start_timeout, b);
        return 0;
}

/* It is ready: running, and the start timeout and any probe are over. */
static void backend_ready(corral_backend *b) {
        if (!b->ready_pending)
                return;
        b->ready_pending = false;
        b->start_timer = sd_event_source_disable_unref(b->start_timer);
        backend_probe_done(b);
        if (b->intent.stop || b->reaped) /* too late to matter */
                return;
        if (b->state == CORRAL_STATE_STARTING)
                b->state = CORRAL_STATE_RUNNING;
        adopt_save_state(b);
        backend_emit(b, CORRAL_EVENT_READY, CORRAL_LEVEL_INFO, "backend ready", 0);
}

/* STOPPING=1: it is shutting down on its own. It is stopping (no watchdog any more), and a clean
 * exit now is finished, not unexpected; a stop asked for still goes through. */
static void backend_on_stopping(corral_backend *b) {
        b->self_stopping = true;
        b->watchdog_timer = sd_event_source_disable_unref(b->watchdog_timer);
        b->state = CORRAL_STATE_STOPPING;
        adopt_save_state(b);
        backend_emit(b, CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO,
                     "backend is stopping on its own (STOPPING=1)", 0);
}

/* A message from inside the backend's cgroup: READY=1 ends its start; STATUS= is kept. */
void backend_on_notify(corral_backend *b, const char *text) {
        notify_message m;

        notify_parse(text, &m);
        if (m.status) {
                char *t = strndup(m.status, m.status_len);
                if (t) {
                        free(b->status_text);
                        b->status_text = t;
                }
        }
        if (m.watchdog_usec > 0 && b->watchdog_usec > 0) /* it may change its own period */
                b->watchdog_usec = m.watchdog_usec;
        if (m.watchdog || m.watchdog_usec > 0)
                backend_watchdog_arm(b);
        if (m.ready && b->ready_pending && b->spec->ready == CORRAL_READY_NOTIFY)
                backend_ready(b);
        if (m.stopping && !b->self_stopping && !b->intent.stop && !b->reaped)
                backend_on_stopping(b);
}

/* A few datagrams per wake-up: the loop comes back for the rest after the others' turn. Only a
 * process in its own cgroup is believed (its user may have processes elsewhere too). */
static int backend_on_notify_io(sd_event_source *s _unused_, int fd, uint32_t revents _unused_,
                                void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);
        char buf[4096], where[4096];
        pid_t pid;

        for (int i = 0; i < 16 && b->notify_fd >= 0 && notify_receive(fd, buf, sizeof(buf), &pid) > 0; i++) {
                const char *cg = cgroup_pid_path(pid, where, sizeof(where));
                if (cg && b->cgroup && !b->reaped && strcmp(cg, b->cgroup) == 0)
                        backend_on_notify(b, buf);
        }
        corral_backend_unref(b);
        return 0;
}

int backend_notify_open(corral_backend *b, uid_t uid, char **ret_path) {
        corral *c = b->corral;
        int dir = corral_notify_dir(c), r;

        if (dir < 0)
                return dir;
        backend_notify_close(b);
        r = notify_bind(dir, c->notify_dir, b->launch, uid, ret_path);
        if (r < 0)
                return r;
        b->notify_fd = r;
        r = sd_event_add_io(c->event, &b->notify_source, b->notify_fd, EPOLLIN, backend_on_notify_io, b);
        if (r < 0) {
                free(*ret_path);
                *ret_path = NULL;
                backend_notify_close(b);
        }
        return r;
}

const char *corral_backend_get_status_text(corral_backend *b) {
        return b ? b->status_text : NULL;
}

static bool backend_oom_grew(corral_backend *b) {
        uint64_t now;

        _cleanup_close_ int fd = backend_leaf_open(b);

        /* Since the last OOM kill reported as a helper's: one of the main process is never taken for
         * a helper's (backend_on_memory_events checks that it is not dying). */
        return b->have_oom && cgroup_limits_oom_kills(fd, &b->v1, &now) >= 0 && now > b->oom_seen;
}

static bool restart_wanted(const corral_backend *b, corral_event_type outcome) {
        switch (b->spec->restart.policy) {
        case CORRAL_RESTART_ALWAYS:
                return !b->intent.stop && !b->no_restart;
        case CORRAL_RESTART_ON_FAILURE:
                return !b->intent.stop && !b->no_restart && outcome != CORRAL_EVENT_FINISHED &&
                        outcome != CORRAL_EVENT_STOPPED;
        default:
                return false;
        }
}

/* Record a restart at now, unless it would be one too many within the limit's interval. */
static bool restart_allowed(corral_backend *b, uint64_t now) {
        const restart_policy *p = &b->spec->restart;
        unsigned recent = 0, n = b->n_restart_times < RESTART_HISTORY ? b->n_restart_times : RESTART_HISTORY;

        for (unsigned i = 0; p->limit_burst > 0 && i < n; i++)
                recent += now - b->restart_times[i] < p->limit_interval_usec;
        if (p->limit_burst > 0 && recent >= p->limit_burst)
                return false;
        b->restart_times[b->n_restart_times++ % RESTART_HISTORY] = now;
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

static int backend_on_restart_timer(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        (void) backend_respawn(b);
        corral_backend_unref(b);
        return 0;
}

/* After a verdict: wait and start again, give up (crash loop), or be gone. Sets the state only. */
static corral_state backend_next_state(corral_backend *b, corral_event_type outcome, uint64_t runtime) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!restart_wanted(b, outcome))
                return CORRAL_STATE_GONE;
        if (!restart_allowed(b, now))
                return CORRAL_STATE_FAILED;
        b->restart_delay_usec = restart_delay(b, runtime);
        b->next_restart_usec = now + b->restart_delay_usec;
        if (backend_arm_restart(b) < 0)
                return CORRAL_STATE_FAILED;
        return CORRAL_STATE_RESTARTING;
}

int backend_arm_restart(corral_backend *b) {
        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        return sd_event_add_time(b->corral->event, &b->timer_source, CLOCK_MONOTONIC, b->next_restart_usec,
                                 1000, backend_on_restart_timer, b);
}

/* Emit the verdict of a launch, then what follows from it: restarting, failed, or nothing. */
static void backend_conclude(corral_backend *b, corral_event_type type, corral_level level,
                             const char *message, int error, uint64_t runtime) {
        corral *c = b->corral;
        char msg[128];

        corral_backend_ref(b);
        b->state = backend_next_state(b, type, runtime);
        /* A restart to come keeps the empty leaf, as the record a later supervisor finds. */
        if (b->state == CORRAL_STATE_RESTARTING && c->persist && b->launch[0])
                adopt_save_state(b);
        else if (b->launch[0])
                backend_remove_leaf(c, b->name, b->launch);
        /* Unlinked first, so that corral_count() no longer counts it when the verdict is read. */
        if (b->state != CORRAL_STATE_RESTARTING)
                corral_unlink(c, b);
        backend_emit_in(c, b, type, level, message, error);
        if (b->state == CORRAL_STATE_RESTARTING) {
                (void) snprintf(msg, sizeof(msg), "restarting backend (attempt %u)", b->attempt);
                backend_emit_in(c, b, CORRAL_EVENT_RESTARTING, CORRAL_LEVEL_INFO, msg, 0);
        } else if (b->state == CORRAL_STATE_FAILED) {
                (void) snprintf(msg, sizeof(msg), "backend failed: %u restarts within %" PRIu64 " s",
                                b->spec->restart.limit_burst,
                                (uint64_t) (b->spec->restart.limit_interval_usec / USEC_PER_SEC));
                backend_emit_in(c, b, CORRAL_EVENT_FAILED, CORRAL_LEVEL_ERROR, msg, 0);
        }
        corral_backend_unref(b);
}

void backend_finish(corral_backend *b) {
        corral *c = b->corral;
        verdict_input in;
        verdict v;
        char msg[128];

        if (b->state == CORRAL_STATE_GONE || !c)
                return;
        output_drain(b); /* every writer is gone: its last words are in before the verdict */
        in = (verdict_input){
                .intent_stop = b->intent.stop,
                .type = b->type,
                .si_code = b->exit_si.si_code,
                .status = b->exit_si.si_status,
                .escalated = b->escalated,
                .oom_killed = backend_oom_grew(b),
        };
        v = verdict_decide(&in);
        if (b->ready_pending && !b->intent.stop && !b->start_timed_out &&
            v.type != CORRAL_EVENT_OOM_KILLED) /* it died before it was ready: it never started */
                v = (verdict){ .type = CORRAL_EVENT_START_FAILED,
                               .level = CORRAL_LEVEL_ERROR,
                               .message = "backend failed to start: it ended before it was ready" };
        if (b->self_stopping && !b->intent.stop && v.type == CORRAL_EVENT_EXITED &&
            b->exit_si.si_status == 0)
                v = (verdict){ .type = CORRAL_EVENT_FINISHED,
                               .level = CORRAL_LEVEL_INFO,
                               .message = "backend stopped on its own (it said STOPPING=1)" };
        if (b->watchdog_fired && !b->intent.stop) {
                (void) snprintf(msg, sizeof(msg), "backend missed its watchdog (%" PRIu64 " ms)",
                                (uint64_t) (b->watchdog_usec / 1000));
                v = (verdict){ .type = CORRAL_EVENT_WATCHDOG,
                               .level = CORRAL_LEVEL_WARNING,
                               .message = msg };
        }
        if (b->start_timed_out) {
                (void) snprintf(msg, sizeof(msg), "backend failed to start: not ready within %" PRIu64 " ms",
                                (uint64_t) (b->spec->start_timeout_usec / 1000));
                v = (verdict){ .type = CORRAL_EVENT_START_FAILED,
                               .level = CORRAL_LEVEL_ERROR,
                               .message = msg };
        }
        backend_close(b);
        cgroup_v1_leaf_done(&b->v1);
        backend_conclude(b, v.type, v.level, v.message, 0,
                         b->exit_usec > b->start_usec ? b->exit_usec - b->start_usec : 0);
        corral_reap_orphans(c);
}

/* The restart timer fired: a fresh launch of the same spec, with nothing of the last one. */
int backend_respawn(corral_backend *b) {
        _cleanup_free_ char *what = NULL;
        corral *c = b->corral;
        char placeholder[13];
        int r;

        memcpy(placeholder, b->launch, sizeof(placeholder));
        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        b->reaped = b->populated = b->escalated = b->leftover_known = b->have_oom = false;
        b->ready_pending = b->start_timed_out = b->watchdog_fired = b->self_stopping = false;
        b->adopted = b->stop_signalled = false;
        b->stop_deadline_usec = 0;
        b->status_text = mfree(b->status_text);
        b->exit_si = (siginfo_t){ 0 };
        b->leftover = 0;
        b->intent = (backend_intent){ 0 };
        b->next_restart_usec = b->start_usec = b->exit_usec = 0;
        b->state = CORRAL_STATE_STARTING;
        r = corral_spawn_launch(c, b, &what);
        if (placeholder[0]) /* the last launch's record goes once the new one has its own */
                backend_remove_leaf(c, b->name, placeholder);
        if (r < 0) /* counts as a failure of the launch: the policy decides again */
                backend_conclude(b, CORRAL_EVENT_START_FAILED, CORRAL_LEVEL_ERROR, "backend failed to start",
                                 -r, 0);
        return r;
}

/* Wait for an fd to poll readable for the given events, without a timeout: used only after
 * SIGKILL, which ends every process that can be ended. */
static void wait_fd(int fd, short events) {
        struct pollfd p = { .fd = fd, .events = events };

        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

void backend_remove_leaf(corral *c, const char *name, const char *launch) {
        (void) cgroup_leaf_remove(&c->root, name, launch);
        adopt_forget(c, name, launch);
}

static int backend_on_lost(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        corral_backend *b = corral_backend_ref(userdata);

        b->timer_source = sd_event_source_disable_unref(b->timer_source);
        backend_finish(b);
        corral_backend_unref(b);
        return 0;
}

int backend_attach_lost(corral_backend *b) {
        b->reaped = true;
        b->populated = false;
        b->adopted = true;
        b->state = CORRAL_STATE_EXITED;
        b->exit_usec = now_usec(CLOCK_MONOTONIC);
        return sd_event_add_time_relative(b->corral->event, &b->timer_source, CLOCK_MONOTONIC, 0, 0,
                                          backend_on_lost, b);
}

void backend_kill_sync(corral_backend *b) {
        siginfo_t si;

        if (b->state == CORRAL_STATE_GONE)
                return;
        (void) backend_kill(b);
        if (!b->reaped)
                (void) syscall_waitid_pidfd(b->pidfd, WEXITED, &si);
        b->reaped = true;
        int leaf = backend_leaf_open(b);
        if (cgroup_is_populated(leaf) > 0) { /* the loop's watch cannot be waited on here */
                int events = cgroup_events_open(leaf);
                while (events >= 0 && cgroup_is_populated(leaf) > 0)
                        wait_fd(events, POLLPRI);
                safe_close(events);
        }
        safe_close(leaf);
        output_drain(b);
        backend_close(b);
        backend_remove_leaf(b->corral, b->name, b->launch);
        cgroup_v1_leaf_done(&b->v1);
        b->state = CORRAL_STATE_GONE;
}

static int backend_arm_timer(corral_backend *b, uint64_t deadline) {
        /* accuracy 1us: sd-event's default slack is 250ms */
        return sd_event_add_time(b->corral->event, &b->timer_source, CLOCK_MONOTONIC, deadline, 1,
                                 backend_on_timer, b);
}

/* base + grace, saturating below USEC_INFINITY: an absurd grace never wraps to "now". */
static uint64_t deadline_add(uint64_t base, uint64_t grace) {
        return grace >= UINT64_MAX - 1 - base ? UINT64_MAX - 1 : base + grace;
}

int corral_stop(corral_backend *b, uint64_t grace_usec) {
        return backend_stop(b, grace_usec, now_usec(CLOCK_MONOTONIC), (uid_t) -1, 0);
}

int corral_stop_by(corral_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid) {
        return backend_stop(b, grace_usec, now_usec(CLOCK_MONOTONIC), uid, pid);
}

/* The main process (our child) has exited, though the loop has not judged it yet. */
static bool backend_exited_unjudged(corral_backend *b) {
        siginfo_t si = { 0 };

        return syscall_waitid_pidfd(b->pidfd, WEXITED | WNOHANG | WNOWAIT, &si) >= 0 && si.si_pid != 0;
}

/* A stop that finds the main process gone on its own, seen or not yet: that exit was not ours (no
 * intent, its verdict is unexpected), but the stop was asked for: no restart may follow it, or
 * the stop would be lost and its caller wait for ever. */
static int backend_stop_too_late(corral_backend *b) {
        b->no_restart = true;
        if (b->state != CORRAL_STATE_EXITED) {
                corral_backend_ref(b);
                (void) backend_on_exit(b);
                corral_backend_unref(b);
        }
        return CORRAL_STOP_PENDING;
}

/* The intent first, then the stop signal to every process of the cgroup, cgroup.kill at the
 * deadline. */
static int backend_stop_start(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid,
                              pid_t pid) {
        b->intent = (backend_intent){
                .stop = true, .at_usec = now_usec(CLOCK_MONOTONIC), .by_uid = uid, .by_pid = pid
        };
        b->watchdog_timer = sd_event_source_disable_unref(b->watchdog_timer); /* stopping: no watchdog */
        b->state = CORRAL_STATE_STOPPING;
        if (grace_usec == CORRAL_GRACE_DEFAULT)
                grace_usec = b->grace_usec;
        b->stop_deadline_usec = deadline_add(base_usec, grace_usec);
        adopt_save_state(b); /* the intent outlives us: a supervisor after a crash still knows */
        backend_emit(b, CORRAL_EVENT_STOPPING, CORRAL_LEVEL_INFO, "stopping backend", 0);
        if (backend_signal(b, b->stop_signal) < 0 || grace_usec == 0 ||
            backend_arm_timer(b, b->stop_deadline_usec) < 0) {
                backend_escalate(b);
                return CORRAL_STOP_STARTED;
        }
        b->stop_signalled = true;
        adopt_save_state(b);
        /* A stopped (SIGSTOP) process must run to act on the stop signal. */
        if (b->stop_signal != SIGKILL && b->stop_signal != SIGCONT)
                (void) backend_signal(b, SIGCONT);
        return CORRAL_STOP_STARTED;
}

/* claim_unjudged: an exit the loop has not judged yet is this stop's (see corral_stop_by_signal()):
 * the stop goes on as if the main process still ran, and its exit comes through its pidfd. */
static int backend_stop_full(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid,
                             pid_t pid, bool claim_unjudged) {
        if (!b)
                return -EINVAL;
        if (!b->corral || b->state == CORRAL_STATE_GONE || b->state == CORRAL_STATE_FAILED)
                return CORRAL_STOP_ALREADY;
        if (b->state == CORRAL_STATE_RESTARTING) { /* nothing runs: the stop is done at once */
                corral *c = b->corral;
                b->timer_source = sd_event_source_disable_unref(b->timer_source);
                b->next_restart_usec = 0;
                backend_remove_leaf(c, b->name, b->launch); /* its record, if kept */
                b->intent =
                        (backend_intent){ .stop = true, .at_usec = base_usec, .by_uid = uid, .by_pid = pid };
                b->reaped = false; /* no exit to report: how is null */
                b->state = CORRAL_STATE_GONE;
                corral_backend_ref(b);
                corral_unlink(c, b);
                backend_emit_in(c, b, CORRAL_EVENT_STOPPED, CORRAL_LEVEL_INFO,
                                "backend stopped (restart cancelled)", 0);
                corral_backend_unref(b);
                return CORRAL_STOP_STARTED;
        }
        if (b->state == CORRAL_STATE_EXITED)
                return backend_stop_too_late(b);
        if (b->state != CORRAL_STATE_RUNNING && b->state != CORRAL_STATE_STARTING &&
            !(b->state == CORRAL_STATE_STOPPING && b->self_stopping && !b->intent.stop))
                return CORRAL_STOP_PENDING;
        if (!claim_unjudged && backend_exited_unjudged(b))
                return backend_stop_too_late(b);
        return backend_stop_start(b, grace_usec, base_usec, uid, pid);
}

int backend_stop(corral_backend *b, uint64_t grace_usec, uint64_t base_usec, uid_t uid, pid_t pid) {
        return backend_stop_full(b, grace_usec, base_usec, uid, pid, false);
}

int corral_stop_by_signal(corral_backend *b, uint64_t grace_usec, const struct signalfd_siginfo *si) {
        if (!si)
                return -EINVAL;
        return backend_stop_full(b, grace_usec, now_usec(CLOCK_MONOTONIC), (uid_t) si->ssi_uid,
                                 (pid_t) si->ssi_pid, true);
}

const char *corral_backend_get_name(corral_backend *b) {
        return b ? b->name : NULL;
}

const char *corral_backend_get_launch(corral_backend *b) {
        return b ? b->launch : NULL;
}

const char *corral_backend_get_cgroup(corral_backend *b) {
        return b ? b->cgroup : NULL;
}

pid_t corral_backend_get_pid(corral_backend *b) {
        return b ? b->pid : 0;
}

int corral_backend_get_usage(corral_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec) {
        uint64_t mem = UINT64_MAX, cpu = UINT64_MAX;
        _cleanup_close_ int fd = b && b->state != CORRAL_STATE_GONE ? backend_leaf_open(b) : -EBADF;

        if (fd < 0)
                return -ESTALE;
        if (cgroup_memory_current(fd, &mem) < 0)
                mem = UINT64_MAX;
        if (cgroup_cpu_usage(fd, &cpu) < 0)
                cpu = UINT64_MAX;
        *ret_memory_bytes = mem;
        *ret_cpu_usec = cpu;
        return 0;
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
