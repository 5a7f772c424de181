/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-systemd.c: corrald beside systemd, its strongest peer, in the same systemd (the one
 * tools/bench-systemd boots in namespaces, with corrald as its socket-activated service), with the
 * same static backends (bench-stamp, bench-pause): start until running, a waiting stop, the start
 * and stop with a typical server sandbox, crash-to-respawn with no delay, N units at once and
 * PID 1's memory per unit against corrald's per backend. systemd is called over D-Bus with sd-bus
 * (its private socket, /run/systemd/private, as systemctl does as root), corrald over varlink
 * with corral's client code, each on one connection kept open: the clients' own start-up is not
 * in the figures, except in the `cli` section, which times the commands users type.
 * Prints markdown tables; exits non-zero only if it could not measure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "varlink.h"

extern char **environ;

#define IFACE             "io.corral.Supervisor."
#define SD_DEST           "org.freedesktop.systemd1"
#define SD_PATH           "/org/freedesktop/systemd1"
#define SD_MANAGER        "org.freedesktop.systemd1.Manager"
#define CALL_TIMEOUT_USEC (600ULL * 1000000ULL)
#define WAIT_NS           (600ULL * 1000000000ULL) /* a hang guard only: a loaded machine may take long */

static char self[4096], stamp_bin[4200], pause_bin[4200], corral_bin[4200];
static const char *address = "/run/corral/io.corral.Supervisor", *dir = "/run/bench-systemd";

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

typedef struct stats {
        double median, p99;
} stats;

/* Median and p99 in µs of n samples in ns (sorted in place). */
static stats summarize(uint64_t *v, int n) {
        if (n <= 0)
                return (stats){ 0, 0 };
        qsort(v, (size_t) n, sizeof(*v), cmp_u64);
        return (stats){ v[n / 2] / 1000.0, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0 };
}

static void print_load(const char *when) {
        char buf[128] = "?";
        FILE *f = fopen("/proc/loadavg", "re");
        if (f && fgets(buf, sizeof(buf), f))
                buf[strcspn(buf, "\n")] = '\0';
        if (f)
                fclose(f);
        printf("\n(load average %s: %s)\n", when, buf);
}

/* What the tmpfs /run holds, in KiB: systemd writes each transient unit's file and drop-ins there. */
static long run_used_kib(void) {
        struct statvfs v;
        if (statvfs("/run", &v) < 0)
                return -1;
        return (long) ((v.f_blocks - v.f_bfree) * v.f_frsize / 1024);
}

static long proc_rss_kib(pid_t pid) {
        char path[64], line[256];
        long v = -1;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        v = atol(line + 6);
        if (f)
                fclose(f);
        return v;
}

/* The first instant (S) bench-stamp wrote to file, waited for up to 10 s; 0 if none. */
static uint64_t read_stamp(const char *file) {
        for (int i = 0; i < 50000; i++) {
                FILE *f = fopen(file, "re");
                char tag;
                uint64_t t;
                int k = f ? fscanf(f, " %c %" SCNu64, &tag, &t) : 0;
                if (f)
                        fclose(f);
                if (k == 2 && tag == 'S')
                        return t;
                usleep(200);
        }
        return 0;
}

static int count_lines(const char *file) {
        FILE *f = fopen(file, "re");
        int n = 0, c;
        while (f && (c = fgetc(f)) != EOF)
                n += c == '\n';
        if (f)
                fclose(f);
        return n;
}

/* The gaps from each E (last act) to the next S (first act) in a stamp file. */
static int respawn_gaps(const char *file, uint64_t *gaps, int max) {
        FILE *f = fopen(file, "re");
        char tag;
        uint64_t t, last_e = 0;
        int n = 0;
        while (f && n < max && fscanf(f, " %c %" SCNu64, &tag, &t) == 2) {
                if (tag == 'E')
                        last_e = t;
                else if (tag == 'S' && last_e && t > last_e) {
                        gaps[n++] = t - last_e;
                        last_e = 0;
                }
        }
        if (f)
                fclose(f);
        return n;
}

/* --- systemd, over D-Bus --- */

enum {
        UNIT_SANDBOX = 1u << 0, /* ProtectSystem=strict, PrivateTmp, PrivateDevices, @system-service */
        UNIT_RESTART = 1u << 1, /* Restart=always, RestartSec=0, no start limit */
};

static sd_bus *bus;
static char watch[128]; /* the unit (or, with watch_prefix, the prefix) whose jobs are counted */
static bool watch_prefix;
static int jobs_done, jobs_failed, calls_failed;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *path, *unit, *result;
        uint32_t id;
        (void) userdata, (void) error;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (watch_prefix ? strncmp(unit, watch, strlen(watch)) != 0 : strcmp(unit, watch) != 0)
                return 0;
        jobs_done++;
        if (strcmp(result, "done") != 0 && jobs_failed++ == 0)
                fprintf(stderr, "bench-systemd: job of %s: %s\n", unit, result);
        return 0;
}

static void watch_set(const char *what, bool prefix) {
        snprintf(watch, sizeof(watch), "%s", what);
        watch_prefix = prefix;
        jobs_done = jobs_failed = calls_failed = 0;
}

/* Until n watched jobs are removed (or calls failed in their place). 0, or -errno. */
static int wait_jobs(int n) {
        uint64_t end = now_ns() + WAIT_NS;
        while (jobs_done + calls_failed < n) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (now_ns() > end)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, 1000000);
                if (r < 0 && r != -EINTR)
                        return r;
        }
        return jobs_failed || calls_failed ? -EIO : 0;
}

static int bus_open(void) {
        int r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                        on_job_removed, NULL);
        if (r >= 0)
                r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL);
        return r;
}

static int append_exec_start(sd_bus_message *m, const char *const *argv) {
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStart");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        for (int i = 0; i < 4 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_props(sd_bus_message *m, const char *const *argv, unsigned flags) {
        int r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Type", "s", "exec");
        if (r >= 0)
                r = append_exec_start(m, argv);
        if (r >= 0 && (flags & UNIT_RESTART))
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Restart", "s", "always", "RestartUSec", "t",
                                          (uint64_t) 0, "StartLimitIntervalUSec", "t", (uint64_t) 0);
        if (r >= 0 && (flags & UNIT_SANDBOX))
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "ProtectSystem", "s", "strict",
                                          "PrivateTmp", "b", 1, "PrivateDevices", "b", 1, "SystemCallFilter",
                                          "(bas)", 1, 1, "@system-service", "ReadWritePaths", "as", 1, dir);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        return r;
}

static int sd_new_start(const char *unit, const char *const *argv, unsigned flags, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = append_props(m, argv, flags);
        if (r < 0)
                return sd_bus_message_unref(m), r;
        *ret = m;
        return 0;
}

static int sd_call_wait(sd_bus_message *m, const char *unit) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;
        watch_set(unit, false);
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, NULL);
        if (r < 0)
                fprintf(stderr, "bench-systemd: %s: %s\n", unit, e.message ? e.message : strerror(-r));
        sd_bus_error_free(&e);
        return r < 0 ? r : wait_jobs(1);
}

/* StartTransientUnit, and its job awaited (Type=exec: done once the execve succeeded). */
static int sd_start(const char *unit, const char *const *argv, unsigned flags) {
        sd_bus_message *m = NULL;
        int r = sd_new_start(unit, argv, flags, &m);
        if (r >= 0)
                r = sd_call_wait(m, unit);
        sd_bus_message_unref(m);
        return r;
}

/* StopUnit, and its job awaited (done once the unit is inactive: its cgroup empty). */
static int sd_stop(const char *unit) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "replace");
        if (r >= 0)
                r = sd_call_wait(m, unit);
        sd_bus_message_unref(m);
        return r;
}

static pid_t corrald_pid(void) {
        uint32_t pid = 0;
        (void) sd_bus_get_property_trivial(bus, SD_DEST, "/org/freedesktop/systemd1/unit/corrald_2eservice",
                                           "org.freedesktop.systemd1.Service", "MainPID", NULL, 'u', &pid);
        return (pid_t) pid;
}

/* --- corrald, over varlink --- */

static varlink_conn vc;

static json_t *corral_params(const char *name, const char *const *argv, unsigned flags) {
        json_t *p = json_pack("{s:s, s:[]}", "name", name, "command");
        for (; *argv; argv++)
                json_array_append_new(json_object_get(p, "command"), json_string(*argv));
        if (flags & UNIT_RESTART) {
                json_object_set_new(p, "restart", json_string("always"));
                json_object_set_new(p, "restartDelayUSec", json_integer(0));
                json_object_set_new(p, "restartLimit", json_string("0/0"));
        }
        if (flags & UNIT_SANDBOX) {
                json_object_set_new(p, "protectSystem", json_string("strict"));
                json_object_set_new(p, "privateTmp", json_true());
                json_object_set_new(p, "privateDevices", json_true());
                json_object_set_new(p, "systemCallFilter", json_string("@system-service"));
                json_object_set_new(p, "readWritePaths", json_pack("[s]", dir));
        }
        return p;
}

/* A reply's error, reported; 0 or -EIO. */
static int reply_check(json_t *reply, const char *what) {
        json_t *e = json_object_get(reply, "error");
        if (!e)
                return 0;
        char *s = json_dumps(json_object_get(reply, "parameters"), JSON_COMPACT);
        fprintf(stderr, "bench-systemd: %s: %s %s\n", what, json_string_value(e), s ? s : "");
        free(s);
        return -EIO;
}

static int corral_call(const char *method, json_t *params, const char *what) {
        json_t *reply = NULL;
        int r = varlink_call(&vc, method, params, false, &reply);
        if (r >= 0)
                r = reply_check(reply, what);
        json_decref(reply);
        return r;
}

static int corral_start(const char *name, const char *const *argv, unsigned flags) {
        return corral_call(IFACE "Start", corral_params(name, argv, flags), name);
}

static int corral_stop(const char *name) {
        return corral_call(IFACE "Stop", json_pack("{s:s}", "name", name), name);
}

static int corral_open(void) {
        int fd = varlink_connect(address);
        if (fd < 0)
                return fd;
        varlink_conn_init(&vc, fd, 0, 0);
        return corral_call(IFACE "List", NULL, "List"); /* activates corrald through its socket */
}

/* --- start and stop, one at a time --- */

typedef struct series {
        const char *name;
        bool corral;
        unsigned flags;
        uint64_t *up, *first, *stop; /* call to running, call to first instruction, waiting stop */
        int n;
} series;

static void one_round(series *s, int i) {
        char unit[128], file[400];
        const char *argv[] = { stamp_bin, file, NULL };
        uint64_t t0, t1, t2, ts;
        int r;

        snprintf(unit, sizeof(unit), "bsd-%s%s-%d%s", s->corral ? "c" : "s",
                 s->flags & UNIT_SANDBOX ? "x" : "", i, s->corral ? "" : ".service");
        snprintf(file, sizeof(file), "%s/%s", dir, unit);
        (void) unlink(file);
        t0 = now_ns();
        r = s->corral ? corral_start(unit, argv, s->flags) : sd_start(unit, argv, s->flags);
        t1 = now_ns();
        if (r < 0)
                return;
        ts = read_stamp(file);
        usleep(20000); /* it pauses */
        t2 = now_ns();
        r = s->corral ? corral_stop(unit) : sd_stop(unit);
        if (r < 0 || ts == 0)
                return;
        s->stop[s->n] = now_ns() - t2;
        s->up[s->n] = t1 - t0;
        s->first[s->n] = ts > t0 ? ts - t0 : 0;
        s->n++;
        (void) unlink(file);
}

static void bench_start(int rounds) {
        series all[] = {
                { "systemd (StartTransientUnit, StopUnit, jobs awaited)", false, 0, NULL, NULL, NULL, 0 },
                { "corral (varlink Start, Stop)", true, 0, NULL, NULL, NULL, 0 },
                { "systemd, sandboxed", false, UNIT_SANDBOX, NULL, NULL, NULL, 0 },
                { "corral, sandboxed", true, UNIT_SANDBOX, NULL, NULL, NULL, 0 },
        };
        const int k = (int) (sizeof(all) / sizeof(all[0]));

        for (int j = 0; j < k; j++) {
                all[j].up = calloc((size_t) rounds, sizeof(uint64_t));
                all[j].first = calloc((size_t) rounds, sizeof(uint64_t));
                all[j].stop = calloc((size_t) rounds, sizeof(uint64_t));
                if (!all[j].up || !all[j].first || !all[j].stop)
                        return;
        }
        print_load("before start/stop");
        for (int i = 0; i < rounds; i++) /* interleaved: the same load for each */
                for (int j = 0; j < k; j++)
                        one_round(&all[j], i);
        printf("\n### Start until running, and a waiting stop (from C: sd-bus vs varlink)\n\n"
               "bench-stamp (static; pauses). Sandbox: ProtectSystem=strict, PrivateTmp=yes, "
               "PrivateDevices=yes, SystemCallFilter=@system-service, ReadWritePaths=%s.\n\n"
               "| supervisor | runs | call to running: median / p99 µs | call to first instruction: median "
               "/ "
               "p99 µs | waiting stop: median / p99 µs |\n|---|---|---|---|---|\n",
               dir);
        for (int j = 0; j < k; j++) {
                stats u = summarize(all[j].up, all[j].n), f = summarize(all[j].first, all[j].n),
                      s = summarize(all[j].stop, all[j].n);
                if (all[j].n == 0)
                        printf("| %s | 0 | not measured (see stderr) | | |\n", all[j].name);
                else
                        printf("| %s | %d | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f |\n", all[j].name,
                               all[j].n, u.median, u.p99, f.median, f.p99, s.median, s.p99);
                free(all[j].up), free(all[j].first), free(all[j].stop);
        }
        print_load("after start/stop");
}

/* --- the same through the command line tools --- */

static uint64_t time_cmd(const char *const *argv) {
        posix_spawn_file_actions_t fa;
        uint64_t t0 = now_ns();
        int status;
        pid_t pid;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0 || waitpid(pid, &status, 0) != pid) /* our own child */
                return 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-systemd: %s %s failed\n", argv[0], argv[1]);
                return 0;
        }
        return now_ns() - t0;
}

static void bench_cli(int rounds) {
        uint64_t *v[4];
        int n[4] = { 0 };
        static const char *const names[] = { "systemd-run --service-type=exec", "corral start",
                                             "systemctl stop", "corral stop" };

        for (int j = 0; j < 4; j++)
                if (!(v[j] = calloc((size_t) rounds, sizeof(uint64_t))))
                        return;
        print_load("before cli");
        for (int i = 0; i < rounds; i++) {
                char unit[80], name[64], file[400], opt[96];
                snprintf(name, sizeof(name), "bsd-cli-%d", i);
                snprintf(unit, sizeof(unit), "%s.service", name);
                snprintf(opt, sizeof(opt), "--unit=%s", unit);
                snprintf(file, sizeof(file), "%s/%s", dir, name);
                const char *run[] = { "/usr/bin/systemd-run",
                                      "--quiet",
                                      "--service-type=exec",
                                      opt,
                                      "--",
                                      stamp_bin,
                                      file,
                                      NULL };
                const char *stop[] = { "/usr/bin/systemctl", "stop", unit, NULL };
                const char *cstart[] = { corral_bin, "start",   name, "--address", address,
                                         "--",       stamp_bin, file, NULL };
                const char *cstop[] = { corral_bin, "stop", name, "--address", address, NULL };
                const char *const *cmds[] = { run, cstart, stop, cstop };
                for (int j = 0; j < 4; j += 2) { /* systemd, then corral: start, then stop */
                        uint64_t t;
                        for (int c = 0; c < 2; c++) {
                                int idx = j / 2 + 2 * c;
                                (void) unlink(file);
                                if (c == 1)
                                        usleep(20000);
                                if ((t = time_cmd(cmds[idx])) != 0)
                                        v[idx][n[idx]++] = t;
                                else
                                        break;
                                if (c == 0)
                                        (void) read_stamp(file);
                        }
                }
                (void) unlink(file);
        }
        printf("\n### The same through the command line tools (their start-up included)\n\n"
               "| command | runs | median µs | p99 µs |\n|---|---|---|---|\n");
        for (int j = 0; j < 4; j++) {
                stats s = summarize(v[j], n[j]);
                printf("| `%s` | %d | %.0f | %.0f |\n", names[j], n[j], s.median, s.p99);
                free(v[j]);
        }
        print_load("after cli");
}

/* --- crash-to-respawn --- */

/* The gaps of n respawns of bench-stamp crash (exit 1 right after its first stamp). */
static int respawn_one(bool corral, int n, uint64_t *gaps) {
        char file[400];
        const char *unit = corral ? "bsd-respawn" : "bsd-respawn.service";
        const char *argv[] = { stamp_bin, file, "crash", NULL };
        int r, got;

        snprintf(file, sizeof(file), "%s/%s", dir, unit);
        (void) unlink(file);
        r = corral ? corral_start(unit, argv, UNIT_RESTART) : sd_start(unit, argv, UNIT_RESTART);
        /* systemd's start job may end "failed" when the process exits before the job is done (it
         * exits at once): Restart=always starts it again all the same. */
        if (r < 0 && !(r == -EIO && !corral))
                return r;
        for (uint64_t end = now_ns() + 120ULL * 1000000000ULL;
             count_lines(file) < 2 * (n + 1) && now_ns() < end;)
                usleep(10000);
        r = corral ? corral_stop(unit) : sd_stop(unit);
        int before = count_lines(file);
        usleep(300000);
        if (count_lines(file) != before) /* it would take the CPUs from what is measured next */
                fprintf(stderr, "bench-systemd: %s still respawns after its stop\n", unit);
        got = respawn_gaps(file, gaps, n);
        (void) unlink(file);
        return r < 0 && got == 0 ? r : got;
}

static void bench_respawn(int n) {
        uint64_t *gaps = calloc((size_t) n, sizeof(uint64_t));
        double base = 0;

        if (!gaps)
                return;
        print_load("before respawn");
        printf("\n### Crash-to-respawn, no delay (Restart=always, RestartSec=0, no start limit)\n\n"
               "bench-stamp crash: its first act, then its last, exit 1; from the last act to the next "
               "first act.\n\n| supervisor | respawns | median µs | p99 µs | vs corral "
               "|\n|---|---|---|---|---|\n");
        for (int k = 0; k < 2; k++) {
                bool corral = k == 0;
                int got = respawn_one(corral, n, gaps);
                const char *who = corral
                        ? "corral (restart always, restartDelayUSec 0, restartLimit 0/0)"
                        : "systemd (Restart=always, RestartUSec=0, StartLimitIntervalUSec=0)";
                if (got <= 0) {
                        printf("| %s | 0 | not measured (%s) | | |\n", who, strerror(-got));
                        continue;
                }
                stats s = summarize(gaps, got);
                if (corral)
                        base = s.median;
                printf("| %s | %d | %.0f | %.0f | %.2fx |\n", who, got, s.median, s.p99,
                       base > 0 ? s.median / base : 0);
        }
        free(gaps);
        print_load("after respawn");
}

/* --- N at once --- */

static int on_async_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        (void) userdata, (void) error;
        if (sd_bus_message_is_method_error(m, NULL) && calls_failed++ == 0)
                fprintf(stderr, "bench-systemd: %s\n", sd_bus_message_get_error(m)->message);
        return 0;
}

/* n StopUnit or StartTransientUnit calls in flight at once, then every job awaited. */
static int sd_many(int n, bool start, const char *const *argv) {
        watch_set("bsd-scale-", true);
        for (int i = 0; i < n; i++) {
                sd_bus_message *m = NULL;
                char unit[64];
                int r;
                snprintf(unit, sizeof(unit), "bsd-scale-%d.service", i);
                if (start)
                        r = sd_new_start(unit, argv, 0, &m);
                else {
                        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                                           "StopUnit");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "ss", unit, "replace");
                }
                if (r >= 0)
                        r = sd_bus_call_async(bus, NULL, m, on_async_reply, NULL, CALL_TIMEOUT_USEC);
                sd_bus_message_unref(m);
                if (r < 0)
                        return r;
        }
        return wait_jobs(n);
}

/* n Start or Stop calls pipelined on the one connection, then every reply read. */
static int corral_many(int n, bool start, const char *const *argv) {
        int bad = 0;
        for (int i = 0; i < n; i++) {
                char name[64];
                snprintf(name, sizeof(name), "bsd-scale-%d", i);
                json_t *p = start ? corral_params(name, argv, 0) : json_pack("{s:s}", "name", name);
                if (start)
                        json_object_set_new(p, "logBuffer", json_integer(0));
                json_t *m = varlink_call_new(start ? IFACE "Start" : IFACE "Stop", p, false);
                (void) varlink_conn_queue(&vc, m);
                json_decref(m);
                if (i % 64 == 63 || i == n - 1)
                        while (varlink_conn_flush(&vc) == -EAGAIN) { /* wait: a spin would take a CPU */
                                struct pollfd pfd = { .fd = vc.fd, .events = POLLOUT };
                                (void) poll(&pfd, 1, -1);
                        }
        }
        for (int i = 0; i < n; i++) {
                json_t *reply = NULL;
                int r = varlink_next_reply(&vc, &reply);
                if (r < 0)
                        return r;
                bad += reply_check(reply, "scale") < 0;
                json_decref(reply);
        }
        return bad ? -EIO : 0;
}

static void bench_scale(int n) {
        const char *argv[] = { pause_bin, NULL };
        print_load("before scale");
        printf("\n### %d at once (bench-pause; calls in flight on one connection)\n\n"
               "| supervisor | start all (s) | stop all (s) | RSS before / all running / after stop (KiB) | "
               "RSS per unit running (bytes) | /run (tmpfs) per unit running (bytes) "
               "|\n|---|---|---|---|---|---|\n",
               n);
        for (int k = 0; k < 2; k++) {
                bool corral = k == 1;
                pid_t pid = corral ? corrald_pid() : 1;
                long rss0 = proc_rss_kib(pid), rss1, rss2, run0 = run_used_kib(), run1;
                uint64_t t0 = now_ns(), t_start, t_stop;
                int r = corral ? corral_many(n, true, argv) : sd_many(n, true, argv);
                t_start = now_ns() - t0;
                rss1 = proc_rss_kib(pid);
                run1 = run_used_kib();
                sleep(1);
                t0 = now_ns();
                int r2 = corral ? corral_many(n, false, argv) : sd_many(n, false, argv);
                t_stop = now_ns() - t0;
                sleep(1);
                rss2 = proc_rss_kib(pid);
                printf("| %s%s | %.2f | %.2f | %ld / %ld / %ld | %.0f | %.0f |\n",
                       corral ? "corrald (Start, Stop)" : "systemd PID 1 (StartTransientUnit, StopUnit)",
                       r < 0 || r2 < 0 ? " (some failed: see stderr)" : "", t_start / 1e9, t_stop / 1e9,
                       rss0, rss1, rss2, (rss1 - rss0) * 1024.0 / n, (run1 - run0) * 1024.0 / n);
        }
        print_load("after scale");
}

/* --- main --- */

static const char *const section_names[] = { "start", "cli", "respawn", "scale" };

static void help(void) {
        printf("Usage: bench-systemd [OPTIONS] [SECTION...]\n\n"
               "corrald beside systemd, inside a systemd that runs corrald.service (tools/bench-systemd "
               "boots one in\nnamespaces and runs this there). As root.\n"
               "Sections (default: all, in this order):\n"
               "  start     start until running and a waiting stop, from C (sd-bus vs varlink), "
               "without and with\n"
               "            a sandbox (ProtectSystem=strict, PrivateTmp, PrivateDevices, "
               "@system-service)\n"
               "  cli       the same through systemd-run/systemctl and corral start/stop\n"
               "  respawn   crash-to-respawn with no delay\n"
               "  scale     N units started and stopped at once, PID 1's and corrald's RSS per unit\n\n"
               "Options:\n"
               "  --rounds N     start/stop rounds of each kind (default 100)\n"
               "  --cli-rounds N rounds of the cli section (default 30)\n"
               "  --respawns N   respawns measured (default 200)\n"
               "  --units N      the scale section's N (default 1000)\n"
               "  --quick        20 rounds, 10 cli rounds, 20 respawns, 100 units\n"
               "Environment: CORRAL_ADDRESS (default /run/corral/io.corral.Supervisor), CORRAL_BIN, "
               "CORRAL_BENCH_STAMP,\nCORRAL_BENCH_PAUSE (default: this build's), BENCH_SYSTEMD_DIR (the "
               "stamps; default /run/bench-systemd).\n");
}

static void find_bin(const char *env, const char *rel, char *buf, size_t size) {
        const char *e = getenv(env);
        char d[4096];
        if (e) {
                snprintf(buf, size, "%s", e);
                return;
        }
        snprintf(d, sizeof(d), "%s", self);
        char *s = strrchr(d, '/');
        if (s)
                *s = '\0';
        snprintf(buf, size, "%s/%s", d, rel);
}

static bool parse_int(int argc, char **argv, int *i, const char *opt, int *ret) {
        if (strcmp(argv[*i], opt) != 0 || *i + 1 >= argc || atoi(argv[*i + 1]) <= 0)
                return false;
        *ret = atoi(argv[++*i]);
        return true;
}

int main(int argc, char **argv) {
        int rounds = 100, cli_rounds = 30, respawns = 200, units = 1000;
        unsigned only = 0;
        char exe[4096];
        struct utsname u;
        const char *version = NULL;

        for (int i = 1; i < argc; i++) {
                int k = -1;
                for (int j = 0; j < (int) (sizeof(section_names) / sizeof(section_names[0])); j++)
                        if (strcmp(argv[i], section_names[j]) == 0)
                                k = j;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return help(), 0;
                if (k >= 0)
                        only |= 1u << k;
                else if (strcmp(argv[i], "--quick") == 0)
                        rounds = 20, cli_rounds = 10, respawns = 20, units = 100;
                else if (!parse_int(argc, argv, &i, "--rounds", &rounds) &&
                         !parse_int(argc, argv, &i, "--cli-rounds", &cli_rounds) &&
                         !parse_int(argc, argv, &i, "--respawns", &respawns) &&
                         !parse_int(argc, argv, &i, "--units", &units))
                        return fprintf(stderr,
                                       "bench-systemd: unknown or incomplete argument '%s' (see --help)\n",
                                       argv[i]),
                               2;
        }
        if (!only)
                only = ~0u;
        if (!realpath("/proc/self/exe", exe))
                return 1;
        snprintf(self, sizeof(self), "%s", exe);
        find_bin("CORRAL_BENCH_STAMP", "bench-stamp", stamp_bin, sizeof(stamp_bin));
        find_bin("CORRAL_BENCH_PAUSE", "bench-pause", pause_bin, sizeof(pause_bin));
        find_bin("CORRAL_BIN", "../../src/cli/corral", corral_bin, sizeof(corral_bin));
        if (getenv("CORRAL_ADDRESS"))
                address = getenv("CORRAL_ADDRESS");
        if (getenv("BENCH_SYSTEMD_DIR"))
                dir = getenv("BENCH_SYSTEMD_DIR");
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return fprintf(stderr, "bench-systemd: cannot make %s: %m\n", dir), 1;
        int r = bus_open();
        if (r < 0)
                return fprintf(stderr, "bench-systemd: cannot reach systemd at /run/systemd/private: %s\n",
                               strerror(-r)),
                       1;
        if ((r = corral_open()) < 0)
                return fprintf(stderr, "bench-systemd: cannot reach corrald at %s: %s\n", address,
                               strerror(-r)),
                       1;
        (void) sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", NULL,
                                          (char **) &version);
        (void) uname(&u);
        printf("systemd %s (PID 1 of the namespaces), corrald pid %d at %s, kernel %s, %ld CPUs online\n",
               version ? version : "?", (int) corrald_pid(), address, u.release,
               sysconf(_SC_NPROCESSORS_ONLN));
        free((char *) version);
        if (only & 1u << 0)
                bench_start(rounds);
        if (only & 1u << 1)
                bench_cli(cli_rounds);
        if (only & 1u << 2)
                bench_respawn(respawns);
        if (only & 1u << 3)
                bench_scale(units);
        varlink_conn_done(&vc);
        sd_bus_flush_close_unref(bus);
        return 0;
}
