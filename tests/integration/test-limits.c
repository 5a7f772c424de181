/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-limits.c: resource limits, enforced for real: a fork bomb stopped by pids max, CPU quota
 * throttling, CPU weight, memory max and OOM kills where the host has a v2 memory controller,
 * and a limit the host cannot enforce refused at start. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SEC 1000000ULL

static corral_backend *spawn_limited(harness *h, const char *name, const char *mode, const char *extra,
                                     void (*limit)(corral_spec *s)) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        /* they all die on SIGTERM: a grace no busy machine overruns, and never waited for */
        assert_int_equal(corral_spec_set_grace(s, 60 * SEC), 0);
        limit(s);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

static bool v2_has(harness *h, const char *ctl);

/* The file of a controller for a backend: the leaf's own where v2 offers the controller, else
 * its mirror in the controller's v1 hierarchy. NULL if it does not exist. */
static char *limit_file(harness *h, corral_backend *b, const char *ctl, const char *v2_file,
                        const char *v1_file) {
        static char path[1024];
        const char *cg = corral_backend_get_cgroup(b), *slash = strrchr(h->root, '/');

        if (v2_has(h, ctl))
                snprintf(path, sizeof(path), "%.*s%s/%s", (int) (slash - h->root), h->root, cg, v2_file);
        else
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/%s", ctl, cg, v1_file);
        return access(path, F_OK) == 0 ? path : NULL;
}

static uint64_t read_keyed(const char *path, const char *key) {
        char buf[4096], *p;
        FILE *f = fopen(path, "re");
        size_t n;

        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (!key)
                return strtoull(buf, NULL, 10);
        p = strstr(buf, key);
        assert_non_null(p);
        return strtoull(p + strlen(key) + 1, NULL, 10);
}

static void pids_16(corral_spec *s) {
        assert_int_equal(corral_spec_set_pids_max(s, 16), 0);
}

/* A fork bomb stops at the limit: fork() fails with EAGAIN, and the stop ends all of it. */
static void test_pids_max_stops_a_fork_bomb(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_limited(h, "bomb", "forkbomb", NULL, pids_16);
        int children, err;

        harness_wait_ready(h, false);
        assert_int_equal(sscanf(strchr(h->ready_buf, 'F') + 1, "%d:%d", &children, &err), 2);
        assert_int_equal(err, EAGAIN);
        assert_int_equal(children, 15); /* 16 with the main process */
        assert_non_null(limit_file(h, b, "pids", "pids.max", "pids.max"));
        assert_int_equal(read_keyed(limit_file(h, b, "pids", "pids.max", "pids.max"), NULL), 16);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

static void cpu_10_percent(corral_spec *s) {
        assert_int_equal(corral_spec_set_cpu_max(s, 10000, 100000), 0);
        assert_int_equal(corral_spec_set_cpu_weight(s, 50), 0);
}

/* A spinning backend with a 10% quota is throttled by the kernel (counted in cpu.stat). */
static void test_cpu_max_throttles(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_limited(h, "spin", "spin", NULL, cpu_10_percent);
        const char *stat;
        uint64_t throttled = 0;

        harness_wait_ready(h, false);
        stat = limit_file(h, b, "cpu", "cpu.stat", "cpu.stat");
        assert_non_null(stat);
        /* throttling shows within a few 100 ms periods of its running (hang guard only) */
        (void) harness_wait_until((throttled = read_keyed(stat, "nr_throttled")) > 0);
        assert_true(throttled > 0);
        if (v2_has(h, "cpu")) {
                assert_int_equal(read_keyed(limit_file(h, b, "cpu", "cpu.weight", "-"), NULL), 50);
        } else {
                assert_int_equal(read_keyed(limit_file(h, b, "cpu", "-", "cpu.cfs_quota_us"), NULL), 10000);
                assert_int_equal(read_keyed(limit_file(h, b, "cpu", "-", "cpu.shares"), NULL), 512);
        }
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

static bool v2_has(harness *h, const char *ctl) {
        char path[600], buf[512] = "";
        FILE *f;

        snprintf(path, sizeof(path), "%s/cgroup.controllers", h->root);
        f = fopen(path, "re");
        if (f) {
                (void) !fgets(buf, sizeof(buf), f);
                fclose(f);
        }
        return strstr(buf, ctl) != NULL;
}

static void memory_32m(corral_spec *s) {
        assert_int_equal(corral_spec_set_memory_max(s, 32 << 20), 0);
}

/* An allocating backend over its memory max is killed by the kernel: oom-killed, a warning.
 * Only where cgroup v2 has the memory controller (the pure-v2 VM of the system tests): on the
 * hybrid build machines the v1 memory hierarchy holds the machine's own accounting. */
static void test_memory_max_oom_kill(void **state) {
        harness *h = *state;

        if (!v2_has(h, "memory")) {
                printf("# skipped: no memory controller on cgroup v2 here (tested in the pure-v2 VM)\n");
                skip();
        }
        corral_backend *b = spawn_limited(h, "hog", "alloc", NULL, memory_32m);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_OOM_KILLED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_true(r->ev.oom_killed);
        assert_false(r->ev.intentional);
        assert_int_equal(r->ev.signal, 9);
        /* Counted in its record (corral_backend_oom_kills_total, _verdicts_total). */
        corral_counters n;
        assert_int_equal(corral_backend_get_counters(b, &n), 0);
        assert_true(n.oom_kills >= 1);
        assert_int_equal(n.last_exit, 128 + 9);
        assert_int_equal(corral_backend_get_verdicts(b, CORRAL_EVENT_OOM_KILLED, CORRAL_LEVEL_WARNING), 1);
        corral_backend_unref(b);
}

/* A helper killed by the OOM killer while the main process lives: an oom event, a warning, and
 * the backend runs on; its stop later is a plain stop. Pure-v2 VM only, as above. */
static void test_helper_oom_is_an_event(void **state) {
        harness *h = *state;

        if (!v2_has(h, "memory")) {
                printf("# skipped: no memory controller on cgroup v2 here (tested in the pure-v2 VM)\n");
                skip();
        }
        corral_backend *b = spawn_limited(h, "family", "alloc-child", NULL, memory_32m);
        harness_wait_ready(h, false);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_OOM);
        corral_counters n;
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_RUNNING);
        assert_int_equal(corral_backend_get_counters(b, &n), 0);
        assert_true(n.oom_kills >= 1);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

/* Without v1 hierarchies (CORRAL_DISABLE=cgroup-v1: as on a pure-v2 host whose root is not
 * offered the controller), a limit cannot be enforced: start-failed, naming it; nothing left. */
static void test_unenforceable_limit_is_refused(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "pause", h->fifo, NULL };
        corral_spec *s = NULL;
        corral *c = NULL;

        if (v2_has(h, "pids")) {
                printf("# skipped: the pids controller is on cgroup v2 here\n");
                skip();
        }
        assert_int_equal(setenv("CORRAL_DISABLE", "cgroup-v1", 1), 0);
        assert_int_equal(corral_new(&c, h->root, 0), 0);
        assert_int_equal(unsetenv("CORRAL_DISABLE"), 0);
        corral_set_event_handler(c, NULL, NULL);
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "limited"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_pids_max(s, 10), 0);
        assert_int_equal(corral_spawn(c, s, NULL), -EOPNOTSUPP);
        assert_int_equal(corral_count(c), 0);
        corral_spec_free(s);
        corral_free(c);
}

static void test_limit_setters_refuse_nonsense(void **state) {
        corral_spec *s = NULL;

        (void) state;
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_memory_max(s, 0), -EINVAL);
        assert_int_equal(corral_spec_set_pids_max(s, 0), -EINVAL);
        assert_int_equal(corral_spec_set_cpu_weight(s, 0), -ERANGE);
        assert_int_equal(corral_spec_set_cpu_weight(s, 10001), -ERANGE);
        assert_int_equal(corral_spec_set_cpu_max(s, 10, 100000), -ERANGE);
        assert_int_equal(corral_spec_set_cpu_max(s, 50000, 2000000), -ERANGE);
        assert_int_equal(corral_spec_set_cpu_max(s, CORRAL_LIMIT_NONE, 100000), 0);
        corral_spec_free(s);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
        const struct CMUnitTest tests[] = {
                T(test_pids_max_stops_a_fork_bomb),
                T(test_cpu_max_throttles),
                T(test_memory_max_oom_kill),
                T(test_helper_oom_is_an_event),
                T(test_unenforceable_limit_is_refused),
                T(test_limit_setters_refuse_nonsense),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
