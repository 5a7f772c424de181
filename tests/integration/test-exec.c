/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-exec.c: the commands around the main one, with real processes: ExecStartPre= in order in the
 * backend's leaf before the main command, a failure start-failed with its stderr, the "-" prefix,
 * a stop while they run; ExecStopPost= after a stop and after a crash, before the verdict, its
 * failure never changing it. */
#include <errno.h>
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

typedef struct cmds {
        const char *pre[4];
        const char *post[4];
} cmds;

static corral_backend *spawn_with(harness *h, const char *name, const char *mode, const char *extra,
                                  const cmds *c) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_grace(s, 10 * SEC), 0);
        for (int i = 0; i < 4 && c->pre[i]; i++)
                assert_int_equal(corral_spec_add_exec_start_pre(s, c->pre[i]), 0);
        for (int i = 0; i < 4 && c->post[i]; i++)
                assert_int_equal(corral_spec_add_exec_stop_post(s, c->post[i]), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        assert_non_null(b);
        return b;
}

/* The file's content (at most 4 KiB), "" if it is missing. */
static const char *slurp(const char *path) {
        static char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

        if (f)
                fclose(f);
        buf[n] = '\0';
        return buf;
}

static char *line(char *buf, size_t size, const char *fmt, const char *path)
        __attribute__((format(printf, 3, 0)));
static char *line(char *buf, size_t size, const char *fmt, const char *path) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        (void) snprintf(buf, size, fmt, path);
#pragma GCC diagnostic pop
        return buf;
}

/* In order, each to its end, in a group of the backend's own leaf, before the main command. */
static void test_pre_in_order_in_leaf(void **state) {
        harness *h = *state;
        char path[400], l1[1000], l2[1000];
        const recorded_event *e;
        corral_backend *b;

        (void) snprintf(path, sizeof(path), "%s/pre.log", h->tmpdir);
        b = spawn_with(
                h, "pre-order", "pause", NULL,
                &(cmds){ .pre = { line(l1, sizeof(l1), "/bin/sh -c 'sleep 0.2; echo one >> %s'", path),
                                  line(l2, sizeof(l2),
                                       "/bin/sh -c \"echo two $(grep ^0:: /proc/self/cgroup | cut -d: -f3) "
                                       ">> %s\"",
                                       path) } });
        assert_int_equal(harness_count(h, CORRAL_EVENT_STARTED), 0); /* the main command waits for them */
        e = harness_wait_event(h, b, CORRAL_EVENT_STARTED);
        char want[600];
        (void) snprintf(want, sizeof(want), "one\ntwo %s/cmd.", e->ev.cgroup);
        assert_non_null(strstr(slurp(path), want));
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

/* A failure is start-failed, naming the command and how it ended, with its stderr; nothing after
 * it runs, the main command least of all. */
static void test_pre_failure_is_start_failed(void **state) {
        harness *h = *state;
        char path[400], l2[1000];
        const recorded_event *e;
        corral_backend *b;

        (void) snprintf(path, sizeof(path), "%s/never", h->tmpdir);
        b = spawn_with(
                h, "pre-fail", "pause", NULL,
                &(cmds){ .pre = { "/bin/sh -c 'echo checking >&2; echo \"config: bad line 3\" >&2; exit 4'",
                                  line(l2, sizeof(l2), "/bin/touch %s", path) } });
        e = harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_ERROR);
        assert_non_null(strstr(e->ev.message, "ExecStartPre=/bin/sh -c"));
        assert_non_null(strstr(e->ev.message, "exited with status 4"));
        assert_string_equal(e->ev.stderr_tail, "checking\nconfig: bad line 3");
        assert_int_equal(harness_count(h, CORRAL_EVENT_STARTED), 0);
        assert_int_not_equal(access(path, F_OK), 0);
        assert_int_equal(corral_backend_get_state(b), CORRAL_STATE_GONE);
        corral_backend_unref(b);
}

/* A command that cannot be found is a failure as well, named. */
static void test_pre_not_found(void **state) {
        harness *h = *state;
        char *argv[] = { (char *) harness_helper(), "pause", h->fifo, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;
        const recorded_event *e;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "pre-enoent"), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_add_exec_start_pre(s, "/nonexistent/check"), 0);
        /* failed before the call returned: told then, and an error, as an exec that fails */
        assert_true(corral_spawn(h->c, s, &b) < 0);
        corral_spec_free(s);
        assert_null(b);
        e = harness_wait_events(h, "pre-enoent", CORRAL_EVENT_START_FAILED, 1);

        assert_non_null(
                strstr(e->ev.message, "ExecStartPre=/nonexistent/check: /nonexistent/check: No such file"));
        corral_backend_unref(b);
}

/* "-": its failure (an exit status, a missing command) is ignored, the next one and the main one run. */
static void test_pre_dash_ignores_failure(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_with(h, "pre-dash", "pause", NULL,
                                       &(cmds){ .pre = { "-/bin/false", "-/nonexistent/x", "/bin/true" } });

        (void) harness_wait_event(h, b, CORRAL_EVENT_STARTED);
        harness_wait_ready(h, false);
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        (void) harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        corral_backend_unref(b);
}

/* A stop while they run kills them: stopped, at info, and the main command never runs. */
static void test_stop_during_pre(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_with(h, "pre-stop", "pause", NULL,
                                       &(cmds){ .pre = { "/bin/sh -c 'sleep 1000 & sleep 1000'" } });
        const recorded_event *e;

        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        assert_true(e->ev.intentional);
        assert_string_equal(e->ev.message, "backend stopped (while its ExecStartPre= commands ran)");
        assert_int_equal(harness_count(h, CORRAL_EVENT_STARTED), 0);
        corral_backend_unref(b);
}

/* After a stop: in the leaf, the main process gone, before the verdict; no $MAINPID. */
static void test_post_after_stop(void **state) {
        harness *h = *state;
        char path[400], l1[1000];
        const recorded_event *e;
        corral_backend *b;

        (void) snprintf(path, sizeof(path), "%s/post.log", h->tmpdir);
        b = spawn_with(
                h, "post-stop", "pause", NULL,
                &(cmds){ .post = { line(l1, sizeof(l1),
                                        "/bin/sh -c 'sleep 0.2; echo \"post [$MAINPID]\" >> %s'", path) } });
        harness_wait_ready(h, false);
        assert_string_equal(slurp(path), "");
        assert_int_equal(corral_stop(b, 10 * SEC), CORRAL_STOP_STARTED);
        e = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_string_equal(slurp(path), "post []\n"); /* done before the verdict was told */
        assert_int_equal(e->ev.level, CORRAL_LEVEL_INFO);
        corral_backend_unref(b);
}

/* After a crash too; its failure is not the verdict's business. */
static void test_post_after_crash(void **state) {
        harness *h = *state;
        char path[400], l1[1000];
        const recorded_event *e;
        corral_backend *b;

        (void) snprintf(path, sizeof(path), "%s/post.log", h->tmpdir);
        b = spawn_with(h, "post-crash", "exit", "3",
                       &(cmds){ .post = { line(l1, sizeof(l1), "/bin/sh -c 'echo cleaned >> %s'", path),
                                          "/bin/sh -c 'echo cleanup failed >&2; exit 1'" } });
        e = harness_wait_event(h, b, CORRAL_EVENT_EXITED);
        assert_int_equal(e->ev.level, CORRAL_LEVEL_WARNING);
        assert_int_equal(e->ev.exit_code, 3);
        assert_string_equal(slurp(path), "cleaned\n");
        assert_non_null(strstr(e->ev.stderr_tail, "err 7")); /* the main process's, not the command's */
        corral_backend_unref(b);
}

/* After a failed ExecStartPre= as well (its leaf was there). */
static void test_post_after_pre_failure(void **state) {
        harness *h = *state;
        char path[400], l1[1000];
        corral_backend *b;

        (void) snprintf(path, sizeof(path), "%s/post.log", h->tmpdir);
        b = spawn_with(h, "post-pre", "pause", NULL,
                       &(cmds){ .pre = { "/bin/false" },
                                .post = { line(l1, sizeof(l1), "/bin/sh -c 'echo post >> %s'", path) } });
        (void) harness_wait_event(h, b, CORRAL_EVENT_START_FAILED);
        assert_string_equal(slurp(path), "post\n");
        corral_backend_unref(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pre_in_order_in_leaf, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_pre_failure_is_start_failed, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_pre_not_found, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_pre_dash_ignores_failure, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_stop_during_pre, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_post_after_stop, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_post_after_crash, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_post_after_pre_failure, harness_setup,
                                                harness_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
