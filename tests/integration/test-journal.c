/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-journal.c: events reach journald as native fields: a stand-in journald socket in a private mount
 * namespace. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "evlog.h"

/* In a child with its own mount namespace and a tmpfs on /run, listen where journald would,
 * send the event, and pass the datagram back through a pipe. */
static int journal_child(const corral_event *ev, int out) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        char buf[8192];
        ssize_t n;
        int fd;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
                return 10;
        if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0)
                return 11;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 12;
        if (evlog_write(ev, EVLOG_TARGET_JOURNAL, EVLOG_FORMAT_TEXT) < 0)
                return 13;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
                return 14;
        return write(out, buf, (size_t) n) == n ? 0 : 15;
}

static void test_event_as_journal_fields(void **state) {
        corral_event ev = { .type = CORRAL_EVENT_EXITED,
                            .level = CORRAL_LEVEL_WARNING,
                            .ts_usec = 1,
                            .backend = "db",
                            .launch = "0123456789ab",
                            .pid = 77,
                            .cgroup = "/x/db.0123456789ab",
                            .how = CORRAL_HOW_EXITED,
                            .exit_code = 3,
                            .leftover = 1,
                            .escalated = true,
                            .runtime_usec = 5000,
                            .message = "backend exited unexpectedly" };
        char got[8192] = "";
        int p[2], status;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(journal_child(&ev, p[1]));
        close(p[1]);
        assert_true(read(p[0], got, sizeof(got) - 1) > 0);
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid); /* the test's own child */
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        const char *want[] = { "MESSAGE=db: backend exited unexpectedly\n",
                               "PRIORITY=4\n",
                               "MESSAGE_ID=10ae2da566d5474daab60f76885ebbf0\n",
                               "CORRAL_EVENT=exited\n",
                               "CORRAL_LEVEL=warning\n",
                               "CORRAL_BACKEND=db\n",
                               "CORRAL_LAUNCH=0123456789ab\n",
                               "CORRAL_PID=77\n",
                               "CORRAL_CGROUP=/x/db.0123456789ab\n",
                               "CORRAL_INTENTIONAL=false\n",
                               "CORRAL_HOW=exited\n",
                               "CORRAL_EXIT_CODE=3\n",
                               "CORRAL_CORE_DUMPED=false\n",
                               "CORRAL_ESCALATED=true\n",
                               "CORRAL_OOM_KILLED=false\n",
                               "CORRAL_LEFTOVER=1\n",
                               "CORRAL_RUNTIME_MS=5\n",
                               "CORRAL_MESSAGE=backend exited unexpectedly\n" };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                if (!strstr(got, want[i]))
                        fail_msg("journal entry lacks %s in:\n%s", want[i], got);
        assert_null(strstr(got, "CORRAL_SIGNAL=")); /* null fields are left out */
        assert_null(strstr(got, "CORRAL_TS="));     /* journald stamps entries itself */
}

/* In a private mount namespace, listen where journald takes output streams, run a captured
 * backend under `corral run`, and pass back what came in on the stream. */
static int stream_child(const char *root, int out) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/stdout" };
        const char *argv[] = { getenv("CORRAL_BIN"),
                               "run",
                               "--name",
                               "streamer",
                               "--type",
                               "task",
                               "--log-buffer",
                               "4K",
                               "--cgroup-root",
                               root,
                               "--",
                               "/bin/sh",
                               "-c",
                               "echo hello-journal; echo oops >&2",
                               NULL };
        char buf[8192];
        size_t len = 0;
        int l, fd, status;
        pid_t pid;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
                return 10;
        if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0)
                return 11;
        l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0 || bind(l, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
                return 12;
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        struct pollfd p = { .fd = l, .events = POLLIN };
        if (pid < 0 || poll(&p, 1, 30000) != 1) /* hang guard */
                return 13;
        fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        p = (struct pollfd){ .fd = fd, .events = POLLIN };
        while (fd >= 0 && len < sizeof(buf) && poll(&p, 1, 30000) == 1) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return 14;
        return write(out, buf, len) == (ssize_t) len ? WEXITSTATUS(status) : 15;
}

/* Captured output goes to journald as a stream of its own, named after the backend. */
static void test_output_as_journal_stream(void **state) {
        char root[512], got[8192] = "";
        int p[2], status;
        pid_t pid;

        if (harness_make_root(root, sizeof(root)) < 0)
                skip();
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(stream_child(root, p[1]));
        close(p[1]);
        for (size_t len = 0;;) {
                ssize_t n = read(p[0], got + len, sizeof(got) - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid); /* the test's own child */
        harness_assert_no_leftovers(root);
        harness_remove_root(root);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0); /* corral run: the task finished */
        /* sd_journal_stream_fd's header: identifier, unit, priority, level prefix, forwards */
        if (strncmp(got, "streamer\n\n6\n0\n", strlen("streamer\n\n6\n0\n")) != 0)
                fail_msg("stream header: %s", got);
        assert_non_null(strstr(got, "hello-journal\n"));
        assert_non_null(strstr(got, "oops\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_event_as_journal_fields),
                cmocka_unit_test(test_output_as_journal_stream),
        };

        if (geteuid() != 0) {
                fprintf(stderr, "skipped: needs root for a private mount namespace\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
