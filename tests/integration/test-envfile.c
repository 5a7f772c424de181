/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-envfile.c: EnvironmentFile= with real processes: read at the start in systemd's syntax, under
 * Environment=, optional with "-", a missing one start-failed naming it, and read as the backend's
 * user: a root-only file, or a symlink its user planted to one, is refused. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void write_file(const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static const char *slurp(const char *path) {
        static char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

        if (f)
                fclose(f);
        buf[n] = '\0';
        return buf;
}

/* A task that writes $A|$B|$C|$D to out, with the files and Environment= given. */
static int spawn_env(harness *h, const char *name, const char *out, const char *const *files,
                     const char *env, const char *user, corral_backend **ret) {
        char script[600];
        char *argv[] = { "/bin/sh", "-c", script, NULL };
        corral_spec *s = NULL;
        int r;

        (void) snprintf(script, sizeof(script), "echo \"$A|$B|$C|$D\" > %s", out ? out : "/dev/null");
        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        assert_int_equal(corral_spec_set_type(s, CORRAL_TYPE_TASK), 0);
        for (; files && *files; files++)
                assert_int_equal(corral_spec_add_environment_file(s, *files), 0);
        if (env)
                assert_int_equal(corral_spec_append_environment(s, env), 0);
        if (user)
                assert_int_equal(corral_spec_set_user(s, user), 0);
        r = corral_spawn(h->c, s, ret);
        corral_spec_free(s);
        return r;
}

/* systemd's syntax, two files (the later wins), Environment= over both. */
static void test_read_and_precedence(void **state) {
        harness *h = *state;
        char f1[400], f2[400], out[400];
        corral_backend *b = NULL;

        (void) snprintf(f1, sizeof(f1), "%s/one.env", h->tmpdir);
        (void) snprintf(f2, sizeof(f2), "%s/two.env", h->tmpdir);
        (void) snprintf(out, sizeof(out), "%s/out", h->tmpdir);
        write_file(f1, "# defaults\nA=\"quoted  value\"\nB=from-one\n; more\nC=con\\\ntinued\n", 0644);
        write_file(f2, "B=from-two\nD=from-two\n", 0644);
        assert_int_equal(spawn_env(h, "env-read", out,
                                   (const char *[]){ f1, f2, "-/nonexistent/optional.env", NULL },
                                   "D=from-environment", NULL, &b),
                         0);
        (void) harness_wait_event(h, b, CORRAL_EVENT_FINISHED);
        assert_string_equal(slurp(out), "quoted  value|from-two|continued|from-environment\n");
        corral_backend_unref(b);
}

/* Read at each start: a change between two starts is seen. */
static void test_read_at_each_start(void **state) {
        harness *h = *state;
        char f1[400], out[400];
        corral_backend *b = NULL;

        (void) snprintf(f1, sizeof(f1), "%s/one.env", h->tmpdir);
        (void) snprintf(out, sizeof(out), "%s/out", h->tmpdir);
        write_file(f1, "A=first\n", 0644);
        assert_int_equal(spawn_env(h, "env-again", out, (const char *[]){ f1, NULL }, NULL, NULL, &b), 0);
        (void) harness_wait_event(h, b, CORRAL_EVENT_FINISHED);
        assert_string_equal(slurp(out), "first|||\n");
        corral_backend_unref(b);
        write_file(f1, "A=second\n", 0644);
        assert_int_equal(spawn_env(h, "env-again", out, (const char *[]){ f1, NULL }, NULL, NULL, &b), 0);
        (void) harness_wait_events(h, "env-again", CORRAL_EVENT_FINISHED, 2);
        assert_string_equal(slurp(out), "second|||\n");
        corral_backend_unref(b);
}

/* A missing file without "-": start-failed, naming it. */
static void test_missing_is_start_failed(void **state) {
        harness *h = *state;
        corral_backend *b = NULL;
        const recorded_event *e;

        assert_int_equal(spawn_env(h, "env-missing", NULL, (const char *[]){ "/nonexistent/app.env", NULL },
                                   NULL, NULL, &b),
                         -ENOENT);
        e = harness_wait_events(h, "env-missing", CORRAL_EVENT_START_FAILED, 1);
        assert_string_equal(
                e->ev.message,
                "backend failed to start: environment file /nonexistent/app.env: No such file or directory");
}

/* A directory of the backend's user's own, under one everybody may enter. */
static void user_dir(harness *h, char *dir, size_t size, const struct passwd *pw) {
        (void) snprintf(dir, size, "%s/user", h->tmpdir);
        assert_int_equal(chmod(h->tmpdir, 0755), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(chown(dir, pw->pw_uid, pw->pw_gid), 0);
}

/* Read as its user: a file only root may read is refused, not read by root for it. */
static void test_read_as_the_user(void **state) {
        harness *h = *state;
        struct passwd *pw = getpwnam("nobody");
        char dir[400], secret[500];
        corral_backend *b = NULL;
        const recorded_event *e;

        if (!pw)
                skip();
        user_dir(h, dir, sizeof(dir), pw);
        (void) snprintf(secret, sizeof(secret), "%s/secret.env", h->tmpdir);
        write_file(secret, "A=root only\n", 0600);
        assert_int_equal(
                spawn_env(h, "env-perm", NULL, (const char *[]){ secret, NULL }, NULL, "nobody", &b),
                -EACCES);
        e = harness_wait_events(h, "env-perm", CORRAL_EVENT_START_FAILED, 1);
        assert_non_null(strstr(e->ev.message, "environment file"));
        assert_non_null(strstr(e->ev.message, "Permission denied"));
}

/* A symlink its user planted (in a directory of its own) to a file only root may read: not followed. */
static void test_planted_symlink_refused(void **state) {
        harness *h = *state;
        struct passwd *pw = getpwnam("nobody");
        char dir[400], secret[500], link[500], linkdir[500], via[600];
        corral_backend *b = NULL;
        const recorded_event *e;

        if (!pw)
                skip();
        user_dir(h, dir, sizeof(dir), pw);
        (void) snprintf(secret, sizeof(secret), "%s/secret.env", h->tmpdir);
        write_file(secret, "A=root only\n", 0644); /* readable, even: the link itself is what is refused */
        (void) snprintf(link, sizeof(link), "%s/app.env", dir);
        assert_int_equal(symlink(secret, link), 0);
        assert_int_equal(lchown(link, pw->pw_uid, pw->pw_gid), 0);
        assert_int_equal(spawn_env(h, "env-link", NULL, (const char *[]){ link, NULL }, NULL, "nobody", &b),
                         -ELOOP);
        e = harness_wait_events(h, "env-link", CORRAL_EVENT_START_FAILED, 1);
        assert_non_null(strstr(e->ev.message, "a symbolic link on its path, not followed"));
        /* a link on the way (a directory), too */
        (void) snprintf(linkdir, sizeof(linkdir), "%s/dirlink", dir);
        assert_int_equal(symlink(h->tmpdir, linkdir), 0);
        (void) snprintf(via, sizeof(via), "%s/secret.env", linkdir);
        assert_int_equal(spawn_env(h, "env-link2", NULL, (const char *[]){ via, NULL }, NULL, "nobody", &b),
                         -ELOOP);
        unlink(link);
        unlink(linkdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_read_and_precedence, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_read_at_each_start, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_missing_is_start_failed, harness_setup,
                                                harness_teardown),
                cmocka_unit_test_setup_teardown(test_read_as_the_user, harness_setup, harness_teardown),
                cmocka_unit_test_setup_teardown(test_planted_symlink_refused, harness_setup,
                                                harness_teardown),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
