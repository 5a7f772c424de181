/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* harness.h: integration test fixture: a cgroup root of the test's own, events recorded, leaks checked. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "corral.h"

#define HARNESS_MAX_EVENTS 64

typedef struct recorded_event {
        corral_event ev; /* its strings point into the buffers below */
        char backend[80], launch[16], cgroup[512], message[512], stderr_tail[1100];
} recorded_event;

typedef struct harness {
        corral *c;
        char root[512];   /* the test's own cgroup root, removed at teardown */
        char tmpdir[256]; /* fifo and core files */
        char fifo[300];
        int fifo_fd;
        int fds_before;
        recorded_event events[HARNESS_MAX_EVENTS];
        unsigned n_events;
        char ready_buf[256];
} harness;

/* Tests wait for events, never for a time: what they wait for has a hang guard, the longest a
 * wait may take on a machine however busy before the test fails (60 s by default,
 * $CORRAL_TEST_HANG_GUARD_SEC), and no test asserts how long anything took. */
uint64_t harness_now_usec(void);
uint64_t harness_hang_guard_usec(void);
/* One pause of a poll: 1 ms, doubling each time up to 50 ms. */
void harness_backoff(unsigned *step);

/* Evaluate cond until it holds or the hang guard has passed; whether it held. */
#define harness_wait_until(cond)                                                                            \
        ({                                                                                                  \
                uint64_t _deadline_ = harness_now_usec() + harness_hang_guard_usec();                       \
                unsigned _step_ = 0;                                                                        \
                bool _ok_;                                                                                  \
                while (!(_ok_ = (cond)) && harness_now_usec() < _deadline_)                                 \
                        harness_backoff(&_step_);                                                           \
                _ok_;                                                                                       \
        })

/* Run corral's loop until cond holds or the hang guard has passed; whether it held. */
#define harness_run_until(h, cond)                                                                          \
        ({                                                                                                  \
                uint64_t _deadline_ = harness_now_usec() + harness_hang_guard_usec();                       \
                bool _ok_;                                                                                  \
                while (!(_ok_ = (cond)) && harness_now_usec() < _deadline_)                                 \
                        harness_run_once((h), _deadline_);                                                  \
                _ok_;                                                                                       \
        })

/* Exit 77 (skipped), saying why, unless we are root on a machine with cgroup2. */
void harness_require_root_cgroup2(void);

/* cmocka setup/teardown: a fresh harness (and corral, as subreaper) per test; teardown checks
 * that no leaf cgroup, fd, zombie or process is left. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* The helper backend binary ($CORRAL_TEST_HELPER). */
const char *harness_helper(void);

/* Make the root directory for a test (under the cgroup2 mount) and remove it. */
int harness_make_root(char *buf, size_t size);
void harness_remove_root(const char *root);
int harness_count_fds(void);
void harness_assert_no_leftovers(const char *root);

/* One turn of corral's loop, for at most a second and never past deadline. */
void harness_run_once(harness *h, uint64_t deadline);

/* Start the helper in the given mode; extra is its optional third argument. */
corral_backend *harness_spawn(harness *h, const char *name, corral_type type, uint64_t grace_usec,
                              const char *mode, const char *extra);

/* Wait until the helper said ready ("R"), and if want_grandchild, returns a pidfd of the
 * grandchild it reported ("G<pid>"); else returns -1. Only for a helper that lives until it has
 * said it: one that may be killed first (at a start timeout, say) never does. */
int harness_wait_ready(harness *h, bool want_grandchild);

/* Wait until helpers have said c n times on the fifo (what else they said is dropped). */
void harness_wait_said(harness *h, char c, int n);

/* poll() one fd for POLLIN until deadline (a harness_now_usec() time); poll's result. */
int harness_poll_until(int fd, uint64_t deadline);

/* What the helpers have said on the fifo since the last wait (read now, without waiting) is in
 * ready_buf; whether c is in it. */
bool harness_fifo_has(harness *h, char c);

/* Run the loop until an event of this type for this backend has arrived; fails the test at the
 * hang guard. */
const recorded_event *harness_wait_event(harness *h, corral_backend *b, corral_event_type type);

/* How many events of this type were recorded. */
unsigned harness_count(harness *h, corral_event_type type);

/* A TCP port on 127.0.0.1 nobody listens on right now: the kernel's pick (bound, then closed). */
unsigned harness_free_port(void);

/* Whether a pidfd's process has exited (its pidfd polls readable). */
bool harness_pidfd_exited(int pidfd);

/* Block until a pidfd's process has exited; fails the test at the hang guard. A verdict comes once
 * the leaf is empty, and a process leaves its cgroup while it exits, before it is a zombie and its
 * pidfd readable (6.1; measured with tests/system/test-vm): after a verdict, a leftover is waited
 * for, not expected to have ended already. */
void harness_pidfd_wait(int pidfd);

/* Run the loop until n events of this type have come for backends of this name (fails the
 * test at the hang guard). Returns the n-th. */
const recorded_event *harness_wait_events(harness *h, const char *name, corral_event_type type, unsigned n);
