/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-parse.c: durations, signal names and backend names. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "parse.h"
#include "strv.h"

static uint64_t dur(const char *s) {
        uint64_t v = 0;
        assert_int_equal(parse_duration(s, &v), 0);
        return v;
}

static void test_durations(void **state) {
        assert_int_equal(dur("500ms"), 500 * USEC_PER_MSEC);
        assert_int_equal(dur("15s"), 15 * USEC_PER_SEC);
        assert_int_equal(dur("15"), 15 * USEC_PER_SEC);
        assert_int_equal(dur("2min"), 120 * USEC_PER_SEC);
        assert_int_equal(dur("1h 30min"), 5400 * USEC_PER_SEC);
        assert_int_equal(dur("1.5s"), 1500 * USEC_PER_MSEC);
        assert_int_equal(dur("0.25ms"), 250);
        assert_int_equal(dur("1.0000001s"), USEC_PER_SEC); /* below a microsecond is dropped */
        assert_int_equal(dur("2d"), 2 * 86400 * USEC_PER_SEC);
        assert_int_equal(dur("0"), 0);
        assert_int_equal(dur("10us"), 10);
        assert_int_equal(dur("1min30s"), 90 * USEC_PER_SEC);
}

static void test_bad_durations(void **state) {
        const char *bad[] = { "",    " ",   "soon", "-1s",  "1x",   "1.s",
                              ".5s", "1 s", "s",    "1e3s", "1,5s", "15s junk" };
        uint64_t v = 77;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (parse_duration(bad[i], &v) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
        }
        assert_int_equal(v, 77); /* untouched on failure */
        assert_int_equal(parse_duration(NULL, &v), -EINVAL);
        assert_int_equal(parse_duration("99999999999999999999s", &v), -ERANGE);
        assert_int_equal(parse_duration("999999999999999d", &v), -ERANGE);
        assert_int_equal(parse_duration("18446744073709551615us", &v), -ERANGE); /* reserved: infinity */
}

static void test_signals(void **state) {
        assert_int_equal(parse_signal("SIGTERM"), SIGTERM);
        assert_int_equal(parse_signal("TERM"), SIGTERM);
        assert_int_equal(parse_signal("sigint"), SIGINT);
        assert_int_equal(parse_signal("15"), SIGTERM);
        assert_int_equal(parse_signal("SIGUSR1"), SIGUSR1);
        assert_int_equal(parse_signal("KILL"), SIGKILL);
        assert_int_equal(parse_signal("SIGNOPE"), -EINVAL);
        assert_int_equal(parse_signal(""), -EINVAL);
        assert_int_equal(parse_signal(NULL), -EINVAL);
        assert_int_equal(parse_signal("0"), -EINVAL);
        assert_int_equal(parse_signal("65"), -EINVAL);
        assert_int_equal(parse_signal("15x"), -EINVAL);
        assert_int_equal(parse_signal("SIG"), -EINVAL);
        assert_string_equal(signal_to_name(SIGTERM), "SIGTERM");
        assert_string_equal(signal_to_name(SIGSEGV), "SIGSEGV");
        assert_null(signal_to_name(0));
        assert_null(signal_to_name(NSIG));
}

static void test_names(void **state) {
        const char *good[] = { "a",
                               "db",
                               "model-server_2",
                               "x@1",
                               "a.b",
                               "...",
                               "-",
                               "0123456789012345678901234567890123456789012345678901234567890123" };
        const char *bad[] = {
                "",      ".",   "..",
                "../x",  "a/b", "a b",
                "naïve", "x\n", "01234567890123456789012345678901234567890123456789012345678901234",
                "$x",    "a:b"
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                if (!name_is_valid(good[i]))
                        fail_msg("'%s' was refused", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (name_is_valid(bad[i]))
                        fail_msg("'%s' was accepted", bad[i]);
        assert_false(name_is_valid(NULL));
}

static void test_name_from_string(void **state) {
        char buf[80];

        assert_string_equal(name_from_string("python3", buf, sizeof(buf)), "python3");
        assert_string_equal(name_from_string("my server", buf, sizeof(buf)), "my_server");
        assert_string_equal(name_from_string("..", buf, sizeof(buf)), "backend");
        assert_string_equal(name_from_string("", buf, sizeof(buf)), "backend");
        memset(buf, 0, sizeof(buf));
        name_from_string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                         buf, sizeof(buf));
        assert_int_equal(strlen(buf), 64);
        assert_true(name_is_valid(buf));
}

static void test_restart_limit(void **state) {
        unsigned n = 99;
        uint64_t w = 99;

        assert_int_equal(parse_restart_limit("5/1min", &n, &w), 0);
        assert_int_equal(n, 5);
        assert_int_equal(w, 60 * USEC_PER_SEC);
        assert_int_equal(parse_restart_limit("0/0", &n, &w), 0);
        assert_int_equal(n, 0);
        const char *bad[] = { "", "5", "/1min", "5/", "x/1s", "5/soon", "-1/1s", "5 /1s", "3/0" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (parse_restart_limit(bad[i], &n, &w) >= 0)
                        fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(parse_restart_limit("65/1s", &n, &w), -ERANGE);
        assert_int_equal(parse_restart_limit(NULL, &n, &w), -EINVAL);
}

static void test_rlimits(void **state) {
        uint64_t soft, hard;
        int res;

        assert_int_equal(parse_rlimit("nofile=1024:4096", &res, &soft, &hard), 0);
        assert_int_equal(res, RLIMIT_NOFILE);
        assert_int_equal(soft, 1024);
        assert_int_equal(hard, 4096);
        assert_int_equal(parse_rlimit("CORE=infinity", &res, &soft, &hard), 0);
        assert_int_equal(res, RLIMIT_CORE);
        assert_true(soft == RLIM_INFINITY && hard == RLIM_INFINITY);
        assert_int_equal(parse_rlimit("nproc=0", &res, &soft, &hard), 0);
        const char *bad[] = { "",           "nofile",    "nofile=", "bogus=1",  "nofile=x",
                              "nofile=5:1", "nofile=1:", "=1",      "nofile=-1" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (parse_rlimit(bad[i], &res, &soft, &hard) >= 0)
                        fail_msg("'%s' was accepted", bad[i]);
}

static void test_sizes(void **state) {
        uint64_t v, q, per;

        assert_int_equal(parse_size("512M", &v), 0);
        assert_true(v == 512ULL << 20);
        assert_int_equal(parse_size("2g", &v), 0);
        assert_true(v == 2ULL << 30);
        assert_int_equal(parse_size("4096", &v), 0);
        assert_true(v == 4096);
        assert_int_equal(parse_size("1T", &v), 0);
        assert_true(v == 1ULL << 40);
        assert_int_equal(parse_size("infinity", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
        assert_int_equal(parse_size("17179869184T", &v), -ERANGE);
        const char *bad[] = { "", "M", "1MB", "1X", "-1", "1.5G", " 1", "1 ", "inf" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (parse_size(bad[i], &v) >= 0)
                        fail_msg("size '%s' was accepted", bad[i]);

        assert_int_equal(parse_count("64", &v), 0);
        assert_true(v == 64);
        assert_int_equal(parse_count("infinity", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_true(parse_count("6x", &v) < 0 && parse_count("", &v) < 0 && parse_count(NULL, &v) < 0);

        assert_int_equal(parse_cpu_quota("50%", &q, &per), 0);
        assert_true(q == 50000 && per == 100000);
        assert_int_equal(parse_cpu_quota("250%", &q, &per), 0);
        assert_true(q == 250000);
        const char *badq[] = { "", "%", "0%", "50", "50 %", "1.5%", "50%%", "-5%" };
        for (size_t i = 0; i < sizeof(badq) / sizeof(badq[0]); i++)
                if (parse_cpu_quota(badq[i], &q, &per) >= 0)
                        fail_msg("cpu quota '%s' was accepted", badq[i]);
        assert_int_equal(parse_cpu_quota("1000001%", &q, &per), -ERANGE);
}

static void test_booleans_and_umasks(void **state) {
        unsigned m = 1;

        assert_int_equal(parse_boolean("yes"), 1);
        assert_int_equal(parse_boolean("ON"), 1);
        assert_int_equal(parse_boolean("1"), 1);
        assert_int_equal(parse_boolean("False"), 0);
        assert_int_equal(parse_boolean("off"), 0);
        assert_int_equal(parse_boolean("maybe"), -EINVAL);
        assert_int_equal(parse_boolean(""), -EINVAL);
        assert_int_equal(parse_boolean(NULL), -EINVAL);
        assert_int_equal(parse_umask("0027", &m), 0);
        assert_int_equal(m, 027);
        assert_int_equal(parse_umask("777", &m), 0);
        assert_int_equal(m, 0777);
        assert_int_equal(parse_umask("0", &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(parse_umask("999", &m), -EINVAL);
        assert_int_equal(parse_umask("1000", &m), -EINVAL);
        assert_int_equal(parse_umask("-1", &m), -EINVAL);
        assert_int_equal(parse_umask(" 27", &m), -EINVAL);
        assert_int_equal(parse_umask("", &m), -EINVAL);
        assert_int_equal(parse_umask("0x1f", &m), -EINVAL);
}

static void test_command_lines(void **state) {
        char **argv = NULL, prefix[8];
        bool ignore = true;

        (void) state;
        assert_int_equal(parse_command_line("/usr/sbin/nginx -t -q", &argv, &ignore, prefix), 0);
        assert_false(ignore);
        assert_string_equal(argv[0], "/usr/sbin/nginx");
        assert_string_equal(argv[2], "-q");
        assert_null(argv[3]);
        strv_free(argv);
        assert_int_equal(parse_command_line("-/bin/sh -c 'exit 1'", &argv, &ignore, prefix), 0);
        assert_true(ignore);
        assert_string_equal(argv[0], "/bin/sh");
        assert_string_equal(argv[2], "exit 1");
        strv_free(argv);
        assert_int_equal(parse_command_line("@/bin/x y", &argv, &ignore, prefix), -EPROTONOSUPPORT);
        assert_string_equal(prefix, "@");
        assert_int_equal(parse_command_line("-+/bin/x", &argv, &ignore, prefix), -EPROTONOSUPPORT);
        assert_string_equal(prefix, "-+");
        assert_int_equal(parse_command_line("!!/bin/x", &argv, &ignore, prefix), -EPROTONOSUPPORT);
        assert_int_equal(parse_command_line(":/bin/x", &argv, &ignore, prefix), -EPROTONOSUPPORT);
        assert_int_equal(parse_command_line("", &argv, &ignore, prefix), -ENODATA);
        assert_int_equal(parse_command_line("-", &argv, &ignore, prefix), -ENODATA);
        assert_int_equal(parse_command_line("/bin/a 'x", &argv, &ignore, prefix), -EBADMSG);
        assert_int_equal(parse_command_line("/bin/a ; /bin/b", &argv, &ignore, prefix), -ENOTUNIQ);
        assert_int_equal(parse_command_line("/bin/a x;y", &argv, &ignore, prefix), 0);
        strv_free(argv);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_bad_durations),
                cmocka_unit_test(test_signals),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_name_from_string),
                cmocka_unit_test(test_restart_limit),
                cmocka_unit_test(test_rlimits),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_booleans_and_umasks),
                cmocka_unit_test(test_command_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
