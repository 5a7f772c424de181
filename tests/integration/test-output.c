/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-output.c: captured output: the ring keeps the newest bytes within its bound however much
 * a backend writes, the last lines are read back, the log file rotates, and the output survives
 * the backend's exit for whoever asks why it died. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-fixture.h"
#include "evlog.h"
#include "harness.h"

extern char **environ;

#define SEC 1000000ULL

typedef struct output_opts {
        uint64_t buffer;
        const char *file;
        uint64_t file_max;
        int keep; /* 0: the default (3); else keep - 1 rotations */
} output_opts;

static corral_backend *spawn_output(harness *h, const char *name, const char *mode, const char *extra,
                                    const output_opts *o) {
        char *argv[] = { (char *) harness_helper(), (char *) mode, h->fifo, (char *) extra, NULL };
        corral_backend *b = NULL;
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        if (o && o->buffer)
                assert_int_equal(corral_spec_set_log_buffer(s, o->buffer), 0);
        if (o && o->file)
                assert_int_equal(corral_spec_set_log_file(s, o->file, o->file_max), 0);
        if (o && o->keep)
                assert_int_equal(corral_spec_set_log_file_keep(s, (unsigned) o->keep - 1), 0);
        assert_int_equal(corral_spawn(h->c, s, &b), 0);
        corral_spec_free(s);
        return b;
}

static size_t output_size(corral_backend *b) {
        char *d = NULL;
        size_t size = 0;

        assert_int_equal(corral_backend_read_output(b, 0, &d, &size), 0);
        free(d);
        return size;
}

/* Run the loop until the backend's kept output has at least n bytes (hang guard). */
static void wait_output(harness *h, corral_backend *b, size_t n) {
        if (!harness_run_until(h, output_size(b) >= n))
                fail_msg("output of %s never reached %zu bytes (hang guard)", corral_backend_get_name(b), n);
}

static bool fifo_readable(harness *h) {
        struct pollfd p = { .fd = h->fifo_fd, .events = POLLIN };

        return poll(&p, 1, 0) > 0;
}

/* Run the loop (which drains the backend's pipes, or it would block writing) until the helper
 * has said R. */
static void run_until_ready(harness *h) {
        if (!harness_run_until(h, fifo_readable(h)))
                fail_msg("the helper never said it was ready (hang guard)");
        harness_wait_ready(h, false);
}

/* corral's end of the backend's stdout pipe: the fd of ours on the pipe its fd 1 is. */
static int stdout_read_end(corral_backend *b) {
        char path[64];
        struct stat want, st;
        struct dirent *de;
        int fd = -1;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd/1", (int) corral_backend_get_pid(b));
        assert_int_equal(stat(path, &want), 0);
        assert_true(S_ISFIFO(want.st_mode));
        d = opendir("/proc/self/fd");
        assert_non_null(d);
        while ((de = readdir(d)))
                if (atoi(de->d_name) != dirfd(d) && fstat(atoi(de->d_name), &st) == 0 &&
                    st.st_ino == want.st_ino && st.st_dev == want.st_dev)
                        fd = atoi(de->d_name);
        closedir(d);
        assert_true(fd >= 0);
        return fd;
}

/* Nothing is left in the pipe: corral has read (and kept) all that was written to it. */
static bool pipe_empty(int fd) {
        int n = -1;

        assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
        return n == 0;
}

static void stop_and_wait(harness *h, corral_backend *b) {
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
}

static void test_lines_are_kept_and_read_back(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_output(h, "talker", "print", NULL, NULL);
        char *d = NULL;
        size_t size;

        harness_wait_ready(h, false);
        wait_output(h, b, strlen("out 1\nout 2\nout 3\nerr 1\n"));
        assert_int_equal(corral_backend_read_output(b, 0, &d, &size), 0);
        assert_int_equal(size, strlen(d));
        assert_non_null(strstr(d, "out 1\nout 2\nout 3\n")); /* stderr may come before or after */
        assert_non_null(strstr(d, "err 1\n"));
        free(d);
        assert_int_equal(corral_backend_read_output(b, 1, &d, &size), 0);
        assert_int_equal(strchr(d, '\n') - d + 1, (long) size); /* exactly one line */
        free(d);
        stop_and_wait(h, b);
        /* kept after it is gone: what it said is what one asks for after a crash */
        assert_int_equal(corral_backend_read_output(b, 0, &d, &size), 0);
        assert_non_null(strstr(d, "err 1\n"));
        free(d);
        corral_backend_unref(b);
}

/* 8 MB written as fast as it can: the ring holds the newest 64 KiB, never more. */
static void test_flood_stays_within_its_bound(void **state) {
        harness *h = *state;
        output_opts o = { .buffer = 64 * 1024 };
        corral_backend *b = spawn_output(h, "flood", "flood", "8388600", &o);
        char *d = NULL;
        size_t size;

        run_until_ready(h); /* after its last write */
        wait_output(h, b, 64 * 1024);
        /* what is still in the pipe comes in: until none is left (hang guard) */
        int pipe_fd = stdout_read_end(b);
        assert_true(harness_run_until(h, pipe_empty(pipe_fd)));
        assert_int_equal(corral_backend_read_output(b, 0, &d, &size), 0);
        assert_int_equal(size, 64 * 1024);
        assert_int_equal(d[size - 1], '\n'); /* the newest bytes: it ends with a full line */
        free(d);
        assert_int_equal(corral_backend_read_output(b, 3, &d, &size), 0);
        assert_int_equal(size, 300);
        free(d);
        stop_and_wait(h, b);
        corral_backend_unref(b);
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void assert_line(const corral_output_line *l, corral_stream stream, const char *text) {
        assert_int_equal(l->stream, stream);
        assert_int_equal(l->size, strlen(text));
        assert_memory_equal(l->data, text, l->size);
}

/* stdout and stderr, each part written once the one before it was read: the lines come back in
 * the order they were ended, each whole (the stdout line begun before err 1 and ended after it),
 * each with its stream and the time it was read, within this test's own clock readings. */
static void test_streams_keep_their_order(void **state) {
        harness *h = *state;
        uint64_t before = realtime_usec(), after;
        corral_backend *b = spawn_output(h, "interleave", "interleave", NULL, NULL);
        corral_output_line *v = NULL;
        char *d = NULL;
        size_t n, size;

        run_until_ready(h);
        after = realtime_usec();
        assert_int_equal(corral_backend_read_output(b, 0, &d, &size), 0);
        assert_string_equal(d, "err 1\nfirst half\nerr 2\nout 3\n");
        free(d);
        assert_int_equal(corral_backend_read_output_lines(b, 0, 0, &v, &n), 0);
        assert_int_equal(n, 4);
        assert_line(&v[0], CORRAL_STREAM_STDERR, "err 1");
        assert_line(&v[1], CORRAL_STREAM_STDOUT, "first half");
        assert_line(&v[2], CORRAL_STREAM_STDERR, "err 2");
        assert_line(&v[3], CORRAL_STREAM_STDOUT, "out 3");
        for (size_t i = 0; i < n; i++) {
                assert_false(v[i].partial);
                assert_in_range(v[i].ts_usec, before, after);
                if (i > 0)
                        assert_true(v[i].ts_usec >= v[i - 1].ts_usec);
        }
        free(v);
        stop_and_wait(h, b);
        corral_backend_unref(b);
}

/* Only the lines read at or after a time, and of those the last n. */
static void test_since_and_lines(void **state) {
        harness *h = *state;
        uint64_t before = realtime_usec(), after, second;
        corral_backend *b = spawn_output(h, "since", "interleave", NULL, NULL);
        corral_output_line *v = NULL;
        size_t n;

        run_until_ready(h);
        after = realtime_usec();
        assert_int_equal(corral_backend_read_output_lines(b, 0, before, &v, &n), 0);
        assert_int_equal(n, 4);
        second = v[1].ts_usec;
        free(v);
        assert_int_equal(corral_backend_read_output_lines(b, 0, after + 1, &v, &n), 0);
        assert_int_equal(n, 0);
        free(v);
        assert_int_equal(corral_backend_read_output_lines(b, 0, second, &v, &n), 0);
        assert_true(n >= 3 && n <= 4); /* err 1 and first half may have been read in one µs */
        assert_line(&v[n - 3], CORRAL_STREAM_STDOUT, "first half");
        free(v);
        assert_int_equal(corral_backend_read_output_lines(b, 2, second, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_line(&v[0], CORRAL_STREAM_STDERR, "err 2");
        assert_line(&v[1], CORRAL_STREAM_STDOUT, "out 3");
        free(v);
        stop_and_wait(h, b);
        corral_backend_unref(b);
}

/* 3000 lines, each read on its own: a 64 KiB ring keeps a record per chunk, at most one per 64
 * bytes of its bound (1024), and the bytes they were: the newest, never more. */
static void test_chunks_stay_within_their_bound(void **state) {
        harness *h = *state;
        output_opts o = { .buffer = 64 * 1024 };
        corral_backend *b = spawn_output(h, "dribble", "dribble", "3000", &o);
        corral_output_line *v = NULL;
        size_t n;

        run_until_ready(h);
        assert_int_equal(corral_backend_read_output_lines(b, 0, 0, &v, &n), 0);
        assert_int_equal(n, 1024);
        assert_line(&v[0], CORRAL_STREAM_STDOUT, "line 1976");
        assert_line(&v[n - 1], CORRAL_STREAM_STDOUT, "line 2999");
        assert_true(output_size(b) < 64 * 1024);
        free(v);
        stop_and_wait(h, b);
        corral_backend_unref(b);
}

/* `corral ARGS... --address SOCK`: its exit status, its stdout in out. */
static int corral_client(daemon_fixture *d, const char *const *args, char *out, size_t size) {
        const char *argv[24] = { getenv("CORRAL_BIN"), "--address", d->sock };
        posix_spawn_file_actions_t fa;
        char path[320];
        size_t n = 3, k;
        int status;
        pid_t pid;
        FILE *f;

        while (*args)
                argv[n++] = *args++;
        argv[n] = NULL;
        snprintf(path, sizeof(path), "%s/client.out", d->h->tmpdir);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        assert_int_equal(waitpid(pid, &status, 0), pid); /* the test's own child */
        f = fopen(path, "re");
        assert_non_null(f);
        k = fread(out, 1, size - 1, f);
        out[k] = '\0';
        fclose(f);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_entry(json_t *e, const char *stream, const char *line, const char *before,
                         const char *after) {
        const char *ts = json_string_value(json_object_get(e, "ts"));

        assert_string_equal(json_string_value(json_object_get(e, "stream")), stream);
        assert_string_equal(json_string_value(json_object_get(e, "line")), line);
        assert_non_null(ts); /* RFC 3339 UTC with µs, as the clock readings around it are written */
        assert_int_equal(strlen(ts), strlen(before));
        assert_true(strcmp(ts, before) >= 0 && strcmp(ts, after) <= 0);
}

/* Through corrald: Logs with entries (time and stream of each line, in order), sinceUSec, and
 * `corral logs` with --streams, --timestamps, --json and --since with -n. */
static void test_logs_through_corrald(void **state) {
        daemon_fixture *d = *state;
        char before[32], after[32], out[4096], want[256];
        uint64_t t0 = realtime_usec(), t1;
        json_t *r, *v;

        start_ready(d, "inter", "interleave", 10 * (json_int_t) SEC);
        t1 = realtime_usec();
        evlog_format_ts(t0, before);
        evlog_format_ts(t1, after);
        r = call(d, IFACE "Logs",
                 json_pack("{s:s, s:i, s:b}", "name", "inter", "lines", 0, "entries", true));
        assert_null(error_of(r));
        v = param(r, "entries");
        assert_int_equal(json_array_size(v), 4);
        assert_entry(json_array_get(v, 0), "stderr", "err 1", before, after);
        assert_entry(json_array_get(v, 1), "stdout", "first half", before, after);
        assert_entry(json_array_get(v, 2), "stderr", "err 2", before, after);
        assert_entry(json_array_get(v, 3), "stdout", "out 3", before, after);
        for (size_t i = 1; i < 4; i++)
                assert_true(strcmp(json_string_value(json_object_get(json_array_get(v, i - 1), "ts")),
                                   json_string_value(json_object_get(json_array_get(v, i), "ts"))) <= 0);
        json_decref(r);
        r = call(d, IFACE "Logs", json_pack("{s:s, s:i}", "name", "inter", "lines", 0));
        assert_string_equal(json_string_value(param(r, "data")), "err 1\nfirst half\nerr 2\nout 3\n");
        json_decref(r);
        r = call(
                d, IFACE "Logs",
                json_pack("{s:s, s:i, s:I}", "name", "inter", "lines", 0, "sinceUSec", (json_int_t) t1 + 1));
        assert_string_equal(json_string_value(param(r, "data")), "");
        json_decref(r);

        assert_int_equal(corral_client(d, ARGS("logs", "inter", "-n", "0", "--streams"), out, sizeof(out)),
                         0);
        assert_string_equal(out, "stderr err 1\nstdout first half\nstderr err 2\nstdout out 3\n");
        assert_int_equal(corral_client(d, ARGS("logs", "inter", "-n", "2", "--since", "1h", "--streams"),
                                       out, sizeof(out)),
                         0);
        assert_string_equal(out, "stderr err 2\nstdout out 3\n");
        assert_int_equal(
                corral_client(d, ARGS("logs", "inter", "--since", "1h", "--timestamps"), out, sizeof(out)),
                0);
        assert_int_equal(strlen(out),
                         4 * (strlen(before) + 1) + strlen("err 1\nfirst half\nerr 2\nout 3\n"));
        assert_true(strncmp(out, before, strlen(before)) >= 0 && strncmp(out, after, strlen(after)) <= 0);
        assert_int_equal(corral_client(d, ARGS("logs", "inter", "-n", "1", "--json"), out, sizeof(out)), 0);
        v = json_loads(out, 0, NULL);
        assert_non_null(v);
        assert_entry(v, "stdout", "out 3", before, after);
        json_decref(v);
        assert_int_equal(
                corral_client(d, ARGS("logs", "inter", "--since", "10min", "--json"), out, sizeof(out)), 0);
        snprintf(want, sizeof(want), "\"stream\":\"stderr\",\"line\":\"err 1\"");
        assert_non_null(strstr(out, want));
        assert_int_equal(corral_client(d, ARGS("logs", "inter", "--since", "soon"), out, sizeof(out)), 2);
}

static off_t file_size(const char *dir, const char *name) {
        char p[512];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        return stat(p, &st) == 0 ? st.st_size : -1;
}

/* 50 KiB through a 10 KiB log file: out.log and three rotations, none above the limit. */
static void test_log_file_rotates(void **state) {
        harness *h = *state;
        char path[400];
        output_opts o = { .file = path, .file_max = 10 * 1024 };
        corral_backend *b;

        snprintf(path, sizeof(path), "%s/out.log", h->tmpdir);
        b = spawn_output(h, "filer", "flood", "51200", &o);
        run_until_ready(h);
        wait_output(h, b, 51200);
        stop_and_wait(h, b);
        const char *names[] = { "out.log", "out.log.1", "out.log.2", "out.log.3" };
        for (size_t i = 0; i < 4; i++) {
                off_t s = file_size(h->tmpdir, names[i]);
                assert_true(s > 0 && s <= 10 * 1024);
        }
        assert_int_equal(file_size(h->tmpdir, "out.log.4"), -1);
        for (size_t i = 0; i < 4; i++) { /* the tmpdir is removed by the harness as it was made */
                char p[512];
                snprintf(p, sizeof(p), "%s/%s", h->tmpdir, names[i]);
                assert_int_equal(unlink(p), 0);
        }
        corral_backend_unref(b);
}

/* LogFileMax= and LogFileKeep=: 50 KiB through a 8 KiB log file that keeps one rotation, and
 * through one that keeps none (emptied when full). */
static void test_log_file_max_and_keep(void **state) {
        harness *h = *state;
        char path[400], p[512], n[64];
        corral_backend *b;

        for (int keep = 1; keep >= 0; keep--) {
                output_opts o = { .file = path, .keep = keep + 1 };
                corral_spec *s;

                snprintf(path, sizeof(path), "%s/keep%d.log", h->tmpdir, keep);
                assert_int_equal(corral_spec_new(&s), 0); /* the setter's bounds */
                assert_int_equal(corral_spec_set_log_file_max(s, 1024), -ERANGE);
                assert_int_equal(corral_spec_set_log_file_keep(s, 101), -ERANGE);
                corral_spec_free(s);
                o.file_max = 8 * 1024;
                b = spawn_output(h, "keeper", "flood", "51200", &o);
                run_until_ready(h);
                wait_output(h, b, 51200);
                stop_and_wait(h, b);
                snprintf(n, sizeof(n), "keep%d.log", keep);
                off_t size = file_size(h->tmpdir, n);
                assert_true(size > 0 && size <= 8 * 1024);
                snprintf(n, sizeof(n), "keep%d.log.1", keep);
                size = file_size(h->tmpdir, n);
                assert_true(keep == 1 ? size > 0 && size <= 8 * 1024 : size == -1);
                snprintf(n, sizeof(n), "keep%d.log.2", keep);
                assert_int_equal(file_size(h->tmpdir, n), -1);
                for (int i = 0; i <= keep; i++) {
                        snprintf(p, sizeof(p), i ? "%s/keep%d.log.%d" : "%s/keep%d.log", h->tmpdir, keep, i);
                        assert_int_equal(unlink(p), 0);
                }
                corral_backend_unref(b);
        }
}

/* A crash says why on stderr: its last lines come with the warning. */
static void test_unexpected_exit_carries_stderr_tail(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_output(h, "crashy", "exit", "3", NULL);

        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_EXITED);
        assert_int_equal(r->ev.level, CORRAL_LEVEL_WARNING);
        assert_non_null(r->ev.stderr_tail);
        assert_string_equal(r->ev.stderr_tail, "err 3\nerr 4\nerr 5\nerr 6\nerr 7");
        harness_wait_ready(h, false);
        corral_backend_unref(b);
}

/* A stop asked for is not a failure: no stderr in its event. */
static void test_stop_has_no_stderr_tail(void **state) {
        harness *h = *state;
        corral_backend *b = spawn_output(h, "talker", "print", NULL, NULL);

        harness_wait_ready(h, false);
        wait_output(h, b, 1);
        assert_int_equal(corral_stop(b, CORRAL_GRACE_DEFAULT), CORRAL_STOP_STARTED);
        const recorded_event *r = harness_wait_event(h, b, CORRAL_EVENT_STOPPED);
        assert_null(r->ev.stderr_tail);
        corral_backend_unref(b);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
        const struct CMUnitTest tests[] = {
                T(test_lines_are_kept_and_read_back),
                T(test_flood_stays_within_its_bound),
                T(test_streams_keep_their_order),
                T(test_since_and_lines),
                T(test_chunks_stay_within_their_bound),
                T(test_log_file_rotates),
                cmocka_unit_test_setup_teardown(test_logs_through_corrald, fixture_setup_started,
                                                fixture_teardown),
                T(test_log_file_max_and_keep),
                T(test_unexpected_exit_carries_stderr_tail),
                T(test_stop_has_no_stderr_tail),
        };

        harness_require_root_cgroup2();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
