/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-definitions.c: backends declared in files: corrald starts them, and a reload (corral
 * reload, SIGHUP) applies exactly the difference: a backend whose definition did not change keeps
 * its pid, a broken file stops nothing, and backends started over varlink are left alone. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-fixture.h"

extern char **environ;

static char defs[400];

static void write_def(daemon_fixture *d, const char *name, const char *extra) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s.backend", defs, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "# %s\n[Backend]\nExecStart=%s pause %s\nTimeoutStopSec=30s\n%s", name, harness_helper(),
                d->h->fifo, extra ?: "");
        fclose(f);
}

static void remove_def(const char *name) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s.backend", defs, name);
        assert_int_equal(unlink(path), 0);
}

static void wait_rs(daemon_fixture *d, int n) {
        harness_wait_said(d->h, 'R', n);
}

static void test_declared_backends_and_reload(void **state) {
        daemon_fixture *d = *state;
        const char *extra[] = { "--definitions", defs, NULL };
        char out[4096], path[512];
        json_int_t keep, breaks, change;
        json_t *b, *r;

        snprintf(defs, sizeof(defs), "%s/defs", d->h->tmpdir);
        assert_int_equal(mkdir(defs, 0755), 0);
        write_def(d, "keep", NULL);
        write_def(d, "change", NULL);
        write_def(d, "drop", NULL);
        write_def(d, "breaks", NULL);
        write_def(d, "off", "Enabled=no\n");
        snprintf(path, sizeof(path), "%s/bad.backend", defs);
        FILE *f = fopen(path, "we");
        fputs("[Backend]\nExecStart=/bin/true\nBogus=1\n", f);
        fclose(f);

        daemon_start(d, extra);
        wait_rs(d, 4);
        keep = pid_of(d, "keep");
        change = pid_of(d, "change");
        breaks = pid_of(d, "breaks");
        assert_true(keep > 0 && change > 0 && breaks > 0 && pid_of(d, "drop") > 0);
        b = status_of(d, "keep");
        assert_non_null(strstr(jstr(b, "definition"), "/defs/keep.backend"));
        json_decref(b);
        assert_error(call(d, IFACE "Status", json_pack("{s:s}", "name", "bad")), IFACE "NoSuchBackend",
                     "name", "bad");
        assert_error(call(d, IFACE "Status", json_pack("{s:s}", "name", "off")), IFACE "NoSuchBackend",
                     "name", "off");
        assert_non_null(strstr(read_log(d), "bad.backend:3: unknown key Bogus="));

        /* A backend started over varlink, beside them. */
        r = call(d, IFACE "Start", start_params(d, "adhoc", "pause", 30000000));
        assert_null(error_of(r));
        json_decref(r);
        wait_rs(d, 1);
        b = status_of(d, "adhoc");
        assert_true(json_is_null(json_object_get(b, "definition")));
        json_decref(b);

        /* The difference: changed, removed, broken, new; and one named like the varlink one. */
        write_def(d, "change", "Environment=X=1\n");
        remove_def("drop");
        write_def(d, "breaks", "Bogus=2\n");
        write_def(d, "fresh", NULL);
        write_def(d, "adhoc", "Environment=OTHER=1\n");
        assert_int_equal(client(d, ARGS("daemon-reload"), out, sizeof(out)),
                         1); /* there are problems to see */
        assert_non_null(strstr(out, "started: fresh\n"));
        assert_non_null(strstr(out, "stopped: drop\n"));
        assert_non_null(strstr(out, "restarted: change\n"));
        assert_non_null(strstr(out, "breaks.backend:5: unknown key Bogus="));
        assert_non_null(strstr(out, "bad.backend:3: unknown key Bogus="));
        assert_non_null(strstr(out, "a backend adhoc started over varlink runs: not replaced"));
        wait_rs(d, 2); /* fresh, and change on its new definition */
        (void) harness_wait_until(pid_of(d, "change") != 0);
        assert_int_equal(pid_of(d, "keep"), keep);     /* unchanged: not touched */
        assert_int_equal(pid_of(d, "breaks"), breaks); /* broken: runs on its old definition */
        assert_true(pid_of(d, "change") > 0 && pid_of(d, "change") != change);
        assert_true(pid_of(d, "fresh") > 0);
        assert_true(pid_of(d, "adhoc") > 0);
        /* the reload asked for drop's stop; its verdict comes when drop is gone, under load later */
        if (!harness_wait_until(state_is(d, "drop", "gone")))
                fail_msg("drop was never gone after the reload stopped it (hang guard)");
        b = status_of(d, "drop");
        assert_string_equal(jstr(json_object_get(b, "lastVerdict"), "event"), "stopped");
        assert_string_equal(jstr(json_object_get(b, "lastVerdict"), "level"), "info");
        json_decref(b);

        /* SIGHUP with nothing changed: nothing is touched. */
        json_int_t fresh = pid_of(d, "fresh");
        remove_def("adhoc");
        write_def(d, "breaks", NULL); /* fixed: the same as what runs, so left alone */
        assert_int_equal(syscall(SYS_pidfd_send_signal, d->pidfd, SIGHUP, NULL, 0), 0);
        (void) harness_wait_until(strstr(read_log(d), "definitions: 0 started, 0 stopped, 0 restarted"));
        assert_non_null(strstr(read_log(d), "definitions: 0 started, 0 stopped, 0 restarted, 4 unchanged"));
        assert_int_equal(pid_of(d, "keep"), keep);
        assert_int_equal(pid_of(d, "breaks"), breaks);
        assert_int_equal(pid_of(d, "fresh"), fresh);
        const char *names[] = { "keep", "change", "breaks", "off", "fresh" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                remove_def(names[i]);
        unlink(path);
        rmdir(defs);
        /* A corrald with nothing declared, so that the fixture's fd baseline is its own again. */
        json_decref(call(d, IFACE "StopAll", NULL));
        assert_int_equal(daemon_stop(d), 0);
        daemon_start(d, NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_declared_backends_and_reload, fixture_setup,
                                                fixture_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
