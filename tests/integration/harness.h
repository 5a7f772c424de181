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

/* Start the helper in the given mode; extra is its optional third argument. */
corral_backend *harness_spawn(harness *h, const char *name, corral_type type, uint64_t grace_usec,
                              const char *mode, const char *extra);

/* Wait until the helper said ready ("R"), and if want_grandchild, returns a pidfd of the
 * grandchild it reported ("G<pid>"); else returns -1. */
int harness_wait_ready(harness *h, bool want_grandchild);

/* Run the loop until an event of this type for this backend has arrived; fails the test after
 * 30 s (a hang guard, not a timing assertion). */
const recorded_event *harness_wait_event(harness *h, corral_backend *b, corral_event_type type);

/* How many events of this type were recorded. */
unsigned harness_count(harness *h, corral_event_type type);

/* Whether a pidfd's process has exited (its pidfd polls readable). */
bool harness_pidfd_exited(int pidfd);

/* Block until a pidfd's process has exited; fails the test after 30 s (hang guard). */
void harness_pidfd_wait(int pidfd);

/* Run the loop until n events of this type have come for backends of this name (hang guard:
 * 30 turns of the loop without any event). Returns the n-th. */
const recorded_event *harness_wait_events(harness *h, const char *name, corral_event_type type, unsigned n);
