/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-cli.c: the corral binary: `corral run` exit statuses, its own signals as a stop, usage errors. */
#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "options.h"

extern char **environ;

typedef struct cli_run {
        int pidfd;
        pid_t pid;
        char log[300];
} cli_run;

/* Start `corral ARGS...` with the test's cgroup root in the environment and stderr to a file. */
static void cli_start(harness *h, cli_run *run, const char *const *args) {
        const char *argv[32] = { getenv("CORRAL_BIN") };
        posix_spawn_file_actions_t fa;
        size_t n = 1;

        for (; args[n - 1]; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        snprintf(run->log, sizeof(run->log), "%s/stderr", h->tmpdir);
        assert_int_equal(setenv("CORRAL_CGROUP_ROOT", h->root, 1), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, run->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(posix_spawn(&run->pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        run->pidfd = (int) syscall(SYS_pidfd_open, run->pid, 0);
        assert_true(run->pidfd >= 0);
}

static int cli_wait(cli_run *run) {
        siginfo_t si = { 0 };

        harness_pidfd_wait(run->pidfd);
        assert_int_equal(waitid((idtype_t) 3 /* P_PIDFD */, (id_t) run->pidfd, &si, WEXITED), 0);
        close(run->pidfd);
        assert_int_equal(si.si_code, CLD_EXITED);
        return si.si_status;
}

static char *cli_log(cli_run *run) {
        static char buf[16384];
        FILE *f = fopen(run->log, "re");
        size_t n;

        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static int cli(harness *h, const char *const *args, char **ret_log) {
        cli_run run;
        int status;

        cli_start(h, &run, args);
        status = cli_wait(&run);
        *ret_log = cli_log(&run);
        return status;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* `corral security`: stdout into out (a file of the test's). */
static int cli_stdout(harness *h, const char *const *args, char *out, size_t size) {
        const char *argv[8] = { getenv("CORRAL_BIN") };
        posix_spawn_file_actions_t fa;
        char path[300];
        cli_run run;
        size_t n = 1;
        FILE *f;

        for (; args[n - 1]; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        snprintf(path, sizeof(path), "%s/stdout", h->tmpdir);
        snprintf(run.log, sizeof(run.log), "%s/stderr", h->tmpdir);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, run.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(posix_spawn(&run.pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        run.pidfd = (int) syscall(SYS_pidfd_open, run.pid, 0);
        assert_true(run.pidfd >= 0);
        int status = cli_wait(&run);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(out, 1, size - 1, f);
        out[n] = '\0';
        fclose(f);
        return status;
}

/* corral VERB --help (and -h): exits 0 and prints that verb's usage, "Usage: corral VERB ...", and
 * its own options; run and start every backend option of the table. */
static void assert_verb_help(harness *h, const char *verb, const char *const *opts) {
        static char out[65536];
        const char *flags[] = { "--help", "-h" };
        char usage[64];

        snprintf(usage, sizeof(usage), "Usage: corral %s", verb);
        for (size_t f = 0; f < 2; f++) {
                int status = cli_stdout(h, ARGS(verb, flags[f]), out, sizeof(out));
                if (status != 0 || strncmp(out, usage, strlen(usage)) != 0 ||
                    !strchr(" \n", out[strlen(usage)]))
                        fail_msg("corral %s %s: exit %d, not the verb's usage:\n%s", verb, flags[f], status,
                                 out);
                for (size_t i = 0; opts[i]; i++)
                        if (!strstr(out, opts[i]))
                                fail_msg("corral %s %s does not name %s:\n%s", verb, flags[f], opts[i], out);
        }
}

static void assert_help_names_every_backend_option(harness *h, const char *verb) {
        static char out[65536];
        char want[96];

        assert_int_equal(cli_stdout(h, ARGS(verb, "--help"), out, sizeof(out)), 0);
        for (size_t i = 0; i < options_table_n; i++) {
                snprintf(want, sizeof(want), "--%s ", options_table[i].cli);
                if (!strstr(out, want)) {
                        snprintf(want, sizeof(want), "--%s[=BOOL]", options_table[i].cli);
                        if (!strstr(out, want))
                                fail_msg("corral %s --help does not name --%s", verb, options_table[i].cli);
                }
        }
        assert_non_null(strstr(out, "-p, --property KEY=VALUE"));
}

static void test_each_verb_has_its_help(void **state) {
        harness *h = *state;
        static const char *const client[] = { "--address PATH", "--json", "Exit status:", NULL };
        static const struct {
                const char *verb;
                const char *const opts[6];
        } verbs[] = {
                { "run",
                  { "--name NAME", "--cgroup-root DIR", "--log-format", "--log-target", "--memory-max" } },
                { "verify", { "FILE..." } },
                { "start", { "--wait-ready", "--timeout-stop-sec", "--memory-max", "-p, --property" } },
                { "stop", { "--all", "--timeout-stop-sec DURATION", "--grace" } },
                { "restart", { "--wait-ready" } },
                { "kill", { "--signal SIG", "--whom main|all" } },
                { "reset-failed", { "NAME" } },
                { "remove", { "NAME" } },
                { "list", { "--json" } },
                { "status", { "NAME" } },
                { "security", { "FILE|NAME" } },
                { "logs", { "--lines LINES", "--follow" } },
                { "watch", { "--json" } },
                { "metrics", { "--openmetrics" } },
                { "reload", { "NAME..." } },
                { "daemon-reload", { "--address" } },
        };

        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                assert_verb_help(h, verbs[i].verb, verbs[i].opts);
                if (strcmp(verbs[i].verb, "run") != 0 && strcmp(verbs[i].verb, "verify") != 0)
                        assert_verb_help(h, verbs[i].verb, client);
        }
        assert_help_names_every_backend_option(h, "run");
        assert_help_names_every_backend_option(h, "start");
}

/* corral security FILE: each setting on or off, and the exposure: 10 for none, low for the
 * recommended server sandbox; --json carries the same. */
static void test_security_report(void **state) {
        harness *h = *state;
        char plain[300], boxed[300], out[8192];
        FILE *f;

        snprintf(plain, sizeof(plain), "%s/plain.backend", h->tmpdir);
        snprintf(boxed, sizeof(boxed), "%s/boxed.backend", h->tmpdir);
        f = fopen(plain, "we");
        assert_non_null(f);
        fputs("[Backend]\nExecStart=/bin/true\n", f);
        fclose(f);
        f = fopen(boxed, "we");
        assert_non_null(f);
        fputs("[Backend]\nExecStart=/bin/true\nUser=nobody\nNoNewPrivileges=yes\nCapabilityBoundingSet=\n"
              "SystemCallFilter=@system-service\nSystemCallArchitectures=native\nProtectSystem=strict\n"
              "ProtectHome=yes\nPrivateTmp=yes\nPrivateDevices=yes\nProtectKernelTunables=yes\n"
              "ProtectKernelModules=yes\nProtectControlGroups=yes\nRestrictAddressFamilies=AF_INET AF_UNIX\n"
              "RestrictNamespaces=yes\nLockPersonality=yes\nMemoryDenyWriteExecute=yes\n",
              f);
        fclose(f);
        assert_int_equal(cli_stdout(h, ARGS("security", plain), out, sizeof(out)), 0);
        assert_non_null(strstr(out, "exposure"));
        assert_non_null(strstr(out, ": 10.0 "));
        assert_non_null(strstr(out, "ProtectSystem"));
        assert_int_equal(cli_stdout(h, ARGS("security", "--json", boxed), out, sizeof(out)), 0);
        json_t *j = json_loads(out, 0, NULL);
        assert_non_null(j);
        double e = json_real_value(json_object_get(j, "exposure"));
        assert_true(e > 0 && e < 1); /* all on but PrivateNetwork */
        assert_int_equal(json_array_size(json_object_get(j, "settings")), 17);
        json_decref(j);
}

static void assert_usage_error(harness *h, const char *const *args, const char *mentions) {
        char *log;

        assert_int_equal(cli(h, args, &log), 2);
        if (!strstr(log, mentions))
                fail_msg("usage error does not name '%s': %s", mentions, log);
        assert_null(strchr(strchr(log, '\n') + 1, '\n')); /* one line */
}

static void test_usage_errors_exit_2_and_name_the_problem(void **state) {
        harness *h = *state;

        assert_usage_error(h, ARGS("run", "--grace", "soon", "--", "true"), "--grace 'soon'");
        assert_usage_error(h, ARGS("run", "--grace", "-1s", "--", "true"), "--grace");
        assert_usage_error(h, ARGS("run", "--stop-signal", "SIGNOPE", "--", "true"),
                           "--stop-signal 'SIGNOPE'");
        assert_usage_error(h, ARGS("run", "--name", "../x", "--", "true"), "--name '../x'");
        assert_usage_error(h, ARGS("run", "--name", "..", "--", "true"), "--name");
        assert_usage_error(h, ARGS("run", "--type", "daemon", "--", "true"), "--type 'daemon'");
        assert_usage_error(h, ARGS("run", "--log-format", "xml", "--", "true"), "--log-format 'xml'");
        assert_usage_error(h, ARGS("run", "--frobnicate", "--", "true"), "--frobnicate");
        assert_usage_error(h, ARGS("run"), "missing COMMAND");
        assert_usage_error(h, ARGS("run", "--rlimit", "nofile=lots", "--", "true"),
                           "--rlimit 'nofile=lots'");
        assert_usage_error(h, ARGS("run", "--umask", "999", "--", "true"), "--umask '999'");
        assert_usage_error(h, ARGS("run", "--env", "NOVALUE", "--", "true"), "--env 'NOVALUE'");
        assert_usage_error(h, ARGS("run", "--workdir", "relative", "--", "true"), "--workdir 'relative'");
        assert_usage_error(h, ARGS("run", "--restart", "sometimes", "--", "true"), "--restart 'sometimes'");
        assert_usage_error(h, ARGS("run", "--restart-limit", "5", "--", "true"), "--restart-limit '5'");
        assert_usage_error(h, ARGS("run", "--restart-delay", "fast", "--", "true"),
                           "--restart-delay 'fast'");
        assert_usage_error(h, ARGS("launch"), "unknown verb 'launch'");
}

static void test_exit_code_is_passed_through(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(
                cli(h, ARGS("run", "--name", "three", "--", harness_helper(), "exit", h->fifo, "3"), &log),
                3);
        assert_non_null(strstr(log, "\"event\":\"exited\""));
        assert_non_null(strstr(log, "\"level\":\"warning\""));
        assert_non_null(strstr(log, "\"exit_code\":3"));
        assert_non_null(strstr(log, "\"backend\":\"three\""));
}

static void test_task_exit_zero_exits_zero(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(
                cli(h, ARGS("run", "--type", "task", "--", harness_helper(), "exit", h->fifo, "0"), &log),
                0);
        assert_non_null(strstr(log, "\"level\":\"info\",\"event\":\"finished\""));
}

static void stop_by_signal(harness *h, int sig) {
        cli_run run;
        char *log;

        cli_start(h, &run, ARGS("run", "--grace", "10s", "--", harness_helper(), "pause", h->fifo));
        harness_wait_ready(h, false);
        assert_int_equal(syscall(SYS_pidfd_send_signal, run.pidfd, sig, NULL, 0), 0);
        assert_int_equal(cli_wait(&run), 0);
        log = cli_log(&run);
        assert_non_null(strstr(log, "\"event\":\"stopping\""));
        assert_non_null(strstr(log, "\"level\":\"info\",\"event\":\"stopped\""));
        assert_non_null(strstr(log, "\"intentional\":true"));
        char by[64]; /* the sender of the signal is who asked */
        snprintf(by, sizeof(by), "\"stop_uid\":%u,\"stop_pid\":%d", (unsigned) getuid(), (int) getpid());
        assert_non_null(strstr(log, by));
        assert_non_null(strstr(log, "\"signal\":\"SIGTERM\""));
        assert_null(strstr(log, "warning"));
}

static void test_sigterm_sigint_sighup_stop_cleanly(void **state) {
        harness *h = *state;

        stop_by_signal(h, SIGTERM);
        stop_by_signal(h, SIGINT);
        stop_by_signal(h, SIGHUP);
}

/* With a restart policy, corral run lives through the restarts and exits with the last one. */
static void test_restart_until_the_limit(void **state) {
        harness *h = *state;
        char *log, *p;
        int restarting = 0;

        assert_int_equal(cli(h,
                             ARGS("run", "--restart", "on-failure", "--restart-delay", "5ms",
                                  "--restart-limit", "2/1min", "--", harness_helper(), "exit", h->fifo, "4"),
                             &log),
                         4);
        for (p = log; (p = strstr(p, "\"event\":\"restarting\"")); p++)
                restarting++;
        assert_int_equal(restarting, 2);
        assert_non_null(strstr(log, "\"level\":\"error\",\"event\":\"failed\""));
}

static void test_privileges_options(void **state) {
        harness *h = *state;
        struct passwd *pw = getpwnam("nobody");
        char *log, want[64];

        assert_non_null(pw);
        assert_int_equal(chmod(h->tmpdir, 0755), 0);
        assert_int_equal(chmod(h->fifo, 0666), 0);
        assert_int_equal(
                cli(h,
                    ARGS("run", "--type", "task", "--user", "nobody", "--umask", "027", "--rlimit",
                         "nofile=321:4096", "--no-new-privileges", "--", harness_helper(), "ids", h->fifo),
                    &log),
                0);
        harness_wait_ready(h, false);
        snprintf(want, sizeof(want), "I%u:%u:", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid);
        assert_non_null(strstr(h->ready_buf, want));
        assert_non_null(strstr(h->ready_buf, ":027:321:1\n"));
        assert_int_equal(cli(h, ARGS("run", "--user", "no-such-user-here", "--", "true"), &log), 126);
        assert_non_null(strstr(log, "no such user 'no-such-user-here'"));
        assert_null(strstr(log, "Invalid argument"));
}

/* None of these helpers is waited for: each may be killed (at its start timeout, by its
 * watchdog) before it has even run, on a busy machine, and the verdict is the same either way. */
static void test_ready_and_start_timeout(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(cli(h,
                             ARGS("run", "--ready", "notify", "--start-timeout", "200ms", "--",
                                  harness_helper(), "notify-never", h->fifo),
                             &log),
                         126);
        assert_non_null(strstr(log, "not ready within 200 ms"));
        assert_null(strstr(log, "\"event\":\"ready\""));
        assert_usage_error(h, ARGS("run", "--ready", "tcp", "--", "true"), "--ready 'tcp'");
        assert_usage_error(h, ARGS("run", "--ready", "tcp:example.com:80", "--", "true"),
                           "--ready 'tcp:example.com:80'");
        /* Port 1 on loopback: nobody listens there. */
        assert_int_equal(cli(h,
                             ARGS("run", "--ready", "tcp:[::1]:1", "--start-timeout", "200ms", "--",
                                  harness_helper(), "pause", h->fifo),
                             &log),
                         126);
        assert_non_null(strstr(log, "not ready within 200 ms"));
        assert_int_equal(cli(h,
                             ARGS("run", "--ready", "notify", "--watchdog", "120ms", "--", harness_helper(),
                                  "notify-watchdog", h->fifo),
                             &log),
                         128 + SIGKILL);
        assert_non_null(strstr(log, "\"level\":\"warning\",\"event\":\"watchdog\""));
}

static void test_text_log_format(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(cli(h,
                             ARGS("run", "--log-format", "text", "--log-buffer", "64K", "--name", "t", "--",
                                  harness_helper(), "exit", h->fifo, "4"),
                             &log),
                         4);
        /* One short line a person reads, with the stderr tail indented under it; no colour when
         * stderr is no terminal. */
        assert_non_null(strstr(log, " t started (info): pid "));
        assert_non_null(strstr(log, " t exited (warning): exit code 4, after "));
        assert_non_null(strstr(log, "\n    err 7\n"));
        assert_null(strchr(log, '\033'));
        assert_int_equal(cli(h,
                             ARGS("run", "--log-format", "logfmt", "--name", "t", "--", harness_helper(),
                                  "exit", h->fifo, "4"),
                             &log),
                         4);
        assert_non_null(strstr(log, "level=warning event=exited backend=t "));
        assert_non_null(strstr(log, " how=exited exit_code=4 core_dumped=false "));
        assert_non_null(strstr(log, "message=\"backend exited unexpectedly\""));
        assert_null(strstr(log, "signal=")); /* null: left out */
}

static void test_crash_exits_128_plus_signal(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(cli(h, ARGS("run", "--", harness_helper(), "segv", h->fifo, h->tmpdir), &log),
                         128 + SIGSEGV);
        assert_non_null(strstr(log, "\"event\":\"crashed\""));
}

static void test_missing_binary_exits_127(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(cli(h, ARGS("run", "--", "/nonexistent/backend"), &log), 127);
        assert_non_null(strstr(log, "\"event\":\"start-failed\""));
        assert_non_null(strstr(log, "No such file or directory"));
}

static void test_bad_cgroup_root_is_one_clear_error(void **state) {
        harness *h = *state;
        char *log;

        assert_int_equal(cli(h, ARGS("run", "--cgroup-root", h->tmpdir, "--", "true"), &log), 1);
        assert_non_null(strstr(log, h->tmpdir));
        assert_non_null(strstr(log, "not a directory of the cgroup2 file system"));
        assert_int_equal(cli(h, ARGS("run", "--cgroup-root", "/nonexistent/root", "--", "true"), &log), 1);
        assert_non_null(strstr(log, "/nonexistent/root: No such file or directory"));
}

static long ctxt_switches(pid_t pid) {
        char path[64], line[256];
        long n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (strstr(line, "ctxt_switches:"))
                        n += atol(strchr(line, ':') + 1);
        fclose(f);
        return n;
}

/* Whether the process is blocked in epoll_wait (the number of the system call it is in, first in
 * /proc/PID/syscall, or "running"). */
static bool in_epoll_wait(pid_t pid) {
        static const long waits[] = {
#ifdef SYS_epoll_wait
                SYS_epoll_wait,
#endif
                SYS_epoll_pwait,
#ifdef SYS_epoll_pwait2
                SYS_epoll_pwait2,
#endif
        };
        char path[64], line[256] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/syscall", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        if (!fgets(line, sizeof(line), f))
                line[0] = '\0';
        fclose(f);
        for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
                if (line[0] >= '0' && line[0] <= '9' && atol(line) == waits[i])
                        return true;
        return false;
}

/* No polling, no periodic timer: a supervisor with nothing to do is never woken up; with health
 * check settings but no HealthCheck= (checks off), neither. */
static void assert_never_wakes(harness *h, const char *const *args) {
        cli_run run;
        long before;

        cli_start(h, &run, args);
        harness_wait_ready(h, false);
        /* Once it has logged "started" and settled into its loop, however long that takes here;
         * then two seconds of watching it sleep. */
        if (!harness_wait_until(in_epoll_wait(run.pid)))
                fail_msg("corral run never went to sleep in epoll_wait (hang guard)");
        before = ctxt_switches(run.pid);
        sleep(2);
        assert_int_equal(ctxt_switches(run.pid), before);
        assert_int_equal(syscall(SYS_pidfd_send_signal, run.pidfd, SIGTERM, NULL, 0), 0);
        assert_int_equal(cli_wait(&run), 0);
}

static void test_idle_supervisor_never_wakes(void **state) {
        harness *h = *state;

        assert_never_wakes(h, ARGS("run", "--", harness_helper(), "pause", h->fifo));
        assert_never_wakes(h,
                           ARGS("run", "--health-check", "none", "--health-check-interval-sec", "100ms",
                                "-p", "HealthCheckFailures=1", "--", harness_helper(), "pause", h->fifo));
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
                T(test_security_report),
                T(test_each_verb_has_its_help),
                T(test_usage_errors_exit_2_and_name_the_problem),
                T(test_exit_code_is_passed_through),
                T(test_task_exit_zero_exits_zero),
                T(test_sigterm_sigint_sighup_stop_cleanly),
                T(test_text_log_format),
                T(test_restart_until_the_limit),
                T(test_privileges_options),
                T(test_ready_and_start_timeout),
                T(test_crash_exits_128_plus_signal),
                T(test_missing_binary_exits_127),
                T(test_bad_cgroup_root_is_one_clear_error),
                T(test_idle_supervisor_never_wakes),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
