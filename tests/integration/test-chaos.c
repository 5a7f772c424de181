/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-chaos.c: corrald with a state directory and its fd holder, driven at random (starts,
 * stops, restarts of backends that obey SIGTERM, ignore it, leave setsid grandchildren, fork,
 * exit on their own or crash) and SIGKILLed $CORRAL_CHAOS_KILLS times (5) at random moments,
 * each time started again to take its backends back. Then, from the event logs of all its
 * lives: every launch has exactly one verdict; every stop corrald took in (its "stopping"
 * event, intentional) ends stopped at info or notice, whatever was killed in between; an end
 * nobody asked for is a warning, and only backends that end on their own have one; no launch
 * the driver was told of is without a verdict; and nothing is left: no leaf cgroup, v1 group,
 * process, zombie, fd holder, socket file or record. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "daemon-fixture.h"

#define N_PER_MODE  2
#define MAX_HOLDERS 1024
#define MAX_DRIVER  100000

typedef enum mode {
        M_PAUSE,
        M_TERM_EXIT,
        M_TERM_IGNORE,
        M_GRANDCHILD,
        M_FORKER,
        M_EXIT_AFTER,
        M_SEGV_AFTER,
        _M_MAX,
} mode;

#define N_NAMES (_M_MAX * N_PER_MODE)

static const char *const mode_names[_M_MAX] = { "pause",  "term-exit",  "term-ignore", "grandchild",
                                                "forker", "exit-after", "segv-after" };

static bool self_exiting(mode m) {
        return m == M_EXIT_AFTER || m == M_SEGV_AFTER;
}

typedef struct chaos_name {
        char name[32]; /* MODE-K: the mode of every launch of it is in its name */
        mode m;
        bool busy; /* a call about it is in flight */
        varlink_conn call;
        int kind; /* 1 Start, 2 Stop, 3 Restart */
} chaos_name;

typedef struct chaos {
        daemon_fixture *d;
        const char *const *extra;
        chaos_name names[N_NAMES];
        char (*told)[16]; /* launches the driver was told of (Start, Restart replies) */
        unsigned n_told;
        int holders[MAX_HOLDERS]; /* pidfds of every fd holder seen */
        unsigned n_holders;
        unsigned starts, stops, restarts, kills, interrupted, reaped_while_down;
        bool stop_asked[N_NAMES]; /* a Stop or Restart of it was sent */
        size_t log_at_stop_all;   /* what the log had when StopAll was sent */
} chaos;

static void told(chaos *s, json_t *reply) {
        const char *l = json_string_value(json_object_get(param(reply, "backend"), "launch"));

        if (!l || !*l) /* each reply tells of a launch of its own */
                return;
        assert_true(s->n_told < MAX_DRIVER);
        snprintf(s->told[s->n_told++], sizeof(s->told[0]), "%s", l);
}

static void send_async(chaos *s, chaos_name *n, int kind, const char *method, json_t *params) {
        json_t *msg = varlink_call_new(method, params, false);

        conn_open(s->d, &n->call);
        assert_int_equal(fcntl(n->call.fd, F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(varlink_conn_queue(&n->call, msg), 0);
        assert_int_equal(varlink_conn_flush(&n->call), 0);
        json_decref(msg);
        n->busy = true;
        n->kind = kind;
}

static void act(chaos *s, chaos_name *n) {
        int dice = rand() % 100;

        if (dice < 55) {
                json_t *p = start_params(s->d, n->name, mode_names[n->m], 50000 + rand() % 450000);
                if (self_exiting(n->m)) {
                        char arg[32];
                        snprintf(arg, sizeof(arg), "%d:%d", rand() % 600, 1 + rand() % 100);
                        json_array_append_new(json_object_get(p, "command"), json_string(arg));
                }
                send_async(s, n, 1, IFACE "Start", p);
                s->starts++;
        } else if (dice < 85) {
                s->stop_asked[n - s->names] = true;
                send_async(s, n, 2, IFACE "Stop", json_pack("{s:s}", "name", n->name));
                s->stops++;
        } else {
                s->stop_asked[n - s->names] = true;
                send_async(s, n, 3, IFACE "Restart", json_pack("{s:s}", "name", n->name));
                s->restarts++;
        }
}

/* The errors that churn brings: a name that runs, that is not there, a restart of what is gone. */
static bool expected_error(const char *e) {
        return !e || strcmp(e, IFACE "BackendExists") == 0 || strcmp(e, IFACE "NoSuchBackend") == 0 ||
                strcmp(e, IFACE "BackendRunning") == 0;
}

/* Take the replies that have come. */
static void poll_calls(chaos *s) {
        for (int i = 0; i < N_NAMES; i++) {
                chaos_name *n = &s->names[i];
                json_t *reply = NULL;
                int r;

                if (!n->busy)
                        continue;
                while ((r = varlink_conn_read(&n->call)) > 0)
                        ;
                if (varlink_conn_next(&n->call, &reply) <= 0) {
                        if (r != -EAGAIN)
                                fail_msg("%s: call %d: connection ended without a reply: %d", n->name,
                                         n->kind, r);
                        continue;
                }
                if (!expected_error(error_of(reply))) {
                        char *dump = json_dumps(reply, 0);
                        fail_msg("%s: call %d failed: %s", n->name, n->kind, dump);
                }
                told(s, reply);
                json_decref(reply);
                varlink_conn_done(&n->call);
                n->busy = false;
        }
}

/* Every fd holder this corrald has (it starts one, or found the one before it). */
static void note_holder(chaos *s) {
        pid_t pid = daemon_holder_pid(s->d->pid);

        if (pid <= 0)
                return;
        assert_true(s->n_holders < MAX_HOLDERS);
        s->holders[s->n_holders] = (int) syscall(SYS_pidfd_open, pid, 0);
        assert_true(s->holders[s->n_holders] >= 0);
        s->n_holders++;
}

#define KILL_MARK "chaos: SIGKILL\n"

static void append_log(daemon_fixture *d, const char *line) {
        int fd = open(d->log, O_WRONLY | O_APPEND | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, line, strlen(line)), (ssize_t) strlen(line));
        close(fd);
}

/* SIGKILL corrald in the middle of whatever it does; the calls in flight die with it. As init
 * would, sometimes the backends that ended meanwhile are reaped before it is back, so that only
 * what it kept (the fd holder's pidfds, the records) tells their ends. */
static void kill_and_restart(chaos *s) {
        daemon_kill9(s->d);
        s->kills++;
        append_log(s->d, KILL_MARK); /* where one life of corrald ends in its log */
        for (int i = 0; i < N_NAMES; i++)
                if (s->names[i].busy) {
                        varlink_conn_done(&s->names[i].call);
                        s->names[i].busy = false;
                        s->interrupted++;
                }
        if (rand() % 2) {
                daemon_reap_orphans(s->d);
                s->reaped_while_down++;
        }
        daemon_start(s->d, s->extra);
        note_holder(s);
}

static void churn(chaos *s, int kills) {
        uint64_t next_kill = harness_now_usec() + 200000 + (uint64_t) (rand() % 1300) * 1000;

        while (s->kills < (unsigned) kills) {
                chaos_name *n = &s->names[rand() % N_NAMES];
                struct pollfd p[N_NAMES];
                int np = 0;

                if (!n->busy)
                        act(s, n);
                for (int i = 0; i < N_NAMES; i++)
                        if (s->names[i].busy)
                                p[np++] = (struct pollfd){ .fd = s->names[i].call.fd, .events = POLLIN };
                (void) poll(p, (nfds_t) np, 2);
                poll_calls(s);
                char fifo[4096];
                while (read(s->d->h->fifo_fd, fifo, sizeof(fifo)) > 0) /* the helpers' "ready"s */
                        ;
                if (harness_now_usec() >= next_kill) {
                        kill_and_restart(s);
                        next_kill = harness_now_usec() + 200000 + (uint64_t) (rand() % 1300) * 1000;
                }
        }
        for (uint64_t end = harness_now_usec() + harness_hang_guard_usec(); harness_now_usec() < end;) {
                bool busy = false;
                for (int i = 0; i < N_NAMES; i++)
                        busy |= s->names[i].busy;
                if (!busy)
                        break;
                usleep(1000);
                poll_calls(s);
        }
        for (int i = 0; i < N_NAMES; i++)
                if (s->names[i].busy)
                        fail_msg("%s: call %d never answered (hang guard)", s->names[i].name,
                                 s->names[i].kind);
}

/* --- The verdicts, from the log of all of corrald's lives. --- */

typedef struct launch_rec {
        char launch[16], name[32];
        unsigned verdicts;
        bool stop_taken;     /* a "stopping" event, intentional: corrald took a stop in */
        bool after_stop_all; /* its verdict came after StopAll was sent */
        bool started;        /* a "started" event */
        unsigned last_life;  /* the life of corrald (0, 1, ...) its last event came from */
        bool pid_known;      /* its verdict has a pid */
        char how[16];
        char verdict[24], level[16];
        bool intentional;
        unsigned verdict_life; /* the life of corrald its first verdict came from */
        unsigned retold;       /* the same verdict told again by a later life (kept until told) */
} launch_rec;

static bool is_verdict(const char *e) {
        static const char *const v[] = { "stopped", "finished",   "exited",       "killed",
                                         "crashed", "oom-killed", "start-failed", "watchdog" };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (strcmp(e, v[i]) == 0)
                        return true;
        return false;
}

static launch_rec *launch_get(launch_rec *recs, unsigned *n, const char *launch, const char *name) {
        for (unsigned i = *n; i-- > 0;)
                if (strcmp(recs[i].launch, launch) == 0)
                        return &recs[i];
        assert_true(*n < MAX_DRIVER);
        launch_rec *r = &recs[(*n)++];
        *r = (launch_rec){ .verdicts = 0 };
        snprintf(r->launch, sizeof(r->launch), "%s", launch);
        snprintf(r->name, sizeof(r->name), "%s", name);
        return r;
}

static int name_index(const char *name) {
        char prefix[32];
        int k;

        for (int m = 0; m < _M_MAX; m++)
                for (k = 0; k < N_PER_MODE; k++) {
                        snprintf(prefix, sizeof(prefix), "%s-%d", mode_names[m], k);
                        if (strcmp(prefix, name) == 0)
                                return m * N_PER_MODE + k;
                }
        fail_msg("no such name %s", name);
        return 0;
}

static mode mode_of(const char *name) {
        for (int m = 0; m < _M_MAX; m++)
                if (strncmp(name, mode_names[m], strlen(mode_names[m])) == 0 &&
                    name[strlen(mode_names[m])] == '-')
                        return (mode) m;
        fail_msg("no mode in the name %s", name);
        return _M_MAX;
}

/* Every event line of the log, by launch. Returns how many launches. */
static unsigned read_events(daemon_fixture *d, size_t stop_all_at, launch_rec *recs, unsigned *n_events) {
        const char *log = read_log(d);
        unsigned n = 0;

        unsigned life = 0;

        *n_events = 0;
        for (const char *l = log; l && *l;) {
                life += strncmp(l, KILL_MARK, strlen(KILL_MARK)) == 0;
                const char *end = strchr(l, '\n');
                size_t len = end ? (size_t) (end - l) : strlen(l);
                json_t *ev = l[0] == '{' ? json_loadb(l, len, 0, NULL) : NULL;
                const char *event = json_string_value(json_object_get(ev, "event"));
                const char *launch = json_string_value(json_object_get(ev, "launch"));
                const char *name = json_string_value(json_object_get(ev, "backend"));

                /* A line cut short by the SIGKILL (a write that crosses a page is): the kill's
                 * mark follows it on the same line. Not told: the next corrald tells it. */
                if (l[0] == '{' && !ev && memmem(l, len, KILL_MARK, strlen(KILL_MARK))) {
                        life++;
                        l = end ? end + 1 : NULL;
                        continue;
                }
                if (l[0] == '{' && !ev)
                        fail_msg("a torn event line in corrald's log: %.*s", (int) len, l);
                if (event && launch && name && *launch) {
                        launch_rec *r = launch_get(recs, &n, launch, name);
                        bool intentional = json_is_true(json_object_get(ev, "intentional"));
                        (*n_events)++;
                        if (strcmp(event, "stopping") == 0 && intentional)
                                r->stop_taken = true;
                        if (strcmp(event, "started") == 0)
                                r->started = true;
                        r->last_life = life;
                        const char *level = json_string_value(json_object_get(ev, "level")) ?: "?";
                        /* Killed after it told a verdict and before it forgot the launch, corrald
                         * tells the same verdict again from its record: at least once, never
                         * another one. */
                        if (is_verdict(event) && r->verdicts > 0 && life != r->verdict_life &&
                            strcmp(event, r->verdict) == 0 && strcmp(level, r->level) == 0)
                                r->retold++;
                        if (is_verdict(event) && r->verdicts++ == 0) {
                                r->verdict_life = life;
                                snprintf(r->verdict, sizeof(r->verdict), "%s", event);
                                snprintf(r->level, sizeof(r->level), "%s",
                                         json_string_value(json_object_get(ev, "level")) ?: "?");
                                r->intentional = intentional;
                                r->after_stop_all = (size_t) (l - log) >= stop_all_at;
                                r->pid_known = json_is_integer(json_object_get(ev, "pid"));
                                snprintf(r->how, sizeof(r->how), "%s",
                                         json_string_value(json_object_get(ev, "how")) ?: "");
                        }
                }
                json_decref(ev);
                l = end ? end + 1 : NULL;
        }
        return n;
}

/* What is wrong with a launch's verdicts, counted by kind, the first few said. */
typedef struct faults {
        unsigned duplicate, lost, false_warning, false_intent, unasked_not_warning, never_ends_ended, retold;
        unsigned said;
} faults;

#define fault(f, counter, ...)                                                                              \
        do {                                                                                                \
                (f)->counter++;                                                                             \
                if ((f)->said++ < 20)                                                                       \
                        printf("# " __VA_ARGS__);                                                           \
        } while (0)

/* The log's lines about a launch, to show what went wrong with it. */
static void show_launch(daemon_fixture *d, const char *launch) {
        const char *log = read_log(d);
        char key[40];

        snprintf(key, sizeof(key), "\"launch\":\"%s\"", launch);
        for (const char *l = log; l && *l;) {
                const char *end = strchr(l, '\n');
                int len = end ? (int) (end - l) : (int) strlen(l);
                char *line = strndup(l, (size_t) len);
                if (strstr(line, key) || (l[0] != '{' && strstr(line, "corrald")))
                        printf("#   %s\n", line);
                free(line);
                l = end ? end + 1 : NULL;
        }
}

static void check_launch(const chaos *s, const launch_rec *r, faults *f) {
        mode m = mode_of(r->name);
        bool quiet_level = strcmp(r->level, "info") == 0 || strcmp(r->level, "notice") == 0;

        if (r->verdicts == 0) {
                fault(f, lost, "launch %s of %s: no verdict\n", r->launch, r->name);
                return;
        }
        f->retold += r->retold;
        if (r->verdicts - r->retold > 1)
                fault(f, duplicate, "launch %s of %s: %u verdicts\n", r->launch, r->name, r->verdicts);
        if (r->stop_taken && (!r->intentional || strcmp(r->verdict, "stopped") != 0 || !quiet_level))
                fault(f, false_warning,
                      "launch %s of %s: a stop was taken in, yet %s at %s (intentional %d)\n", r->launch,
                      r->name, r->verdict, r->level, r->intentional);
        /* corrald keeps a stop's intent before it says "stopping": killed in between, the next one
         * ends it as a stop without that event. But someone must have asked. */
        if (r->intentional && !r->stop_taken && !s->stop_asked[name_index(r->name)] && !r->after_stop_all)
                fault(f, false_intent, "launch %s of %s: %s marked intentional, but no stop was asked\n",
                      r->launch, r->name, r->verdict);
        if (!r->intentional && strcmp(r->level, "warning") != 0)
                fault(f, unasked_not_warning, "launch %s of %s: an end nobody asked for at %s (%s)\n",
                      r->launch, r->name, r->level, r->verdict);
        if (!r->intentional && !self_exiting(m))
                fault(f, never_ends_ended, "launch %s of %s never ends by itself, yet: %s at %s\n",
                      r->launch, r->name, r->verdict, r->level);
}

static void check_verdicts(chaos *s) {
        launch_rec *recs = calloc(MAX_DRIVER, sizeof(launch_rec));
        unsigned n_events, n, by[8] = { 0 }, unasked = 0;
        const char *const kinds[] = { "stopped", "finished",   "exited",       "killed",
                                      "crashed", "oom-killed", "start-failed", "watchdog" };
        faults f = { 0 };

        assert_non_null(recs);
        n = read_events(s->d, s->log_at_stop_all, recs, &n_events);
        for (unsigned i = 0; i < n; i++) {
                unsigned said = f.said;
                check_launch(s, &recs[i], &f);
                if (f.said != said && said < 20)
                        show_launch(s->d, recs[i].launch);
                unasked += recs[i].verdicts > 0 && !recs[i].intentional;
                for (int k = 0; k < 8; k++)
                        by[k] += strcmp(recs[i].verdict, kinds[k]) == 0;
        }
        for (unsigned i = 0; i < s->n_told; i++) { /* no launch the driver heard of is lost */
                bool found = false;
                for (unsigned k = 0; k < n && !found; k++)
                        found = strcmp(recs[k].launch, s->told[i]) == 0;
                if (!found)
                        fault(&f, lost, "launch %s, told to the driver, has no event at all\n", s->told[i]);
        }
        printf("chaos: %u SIGKILLs of corrald (%u calls cut off; %u times what had ended was reaped while "
               "it "
               "was down); %u starts, %u stops, %u restarts asked\n",
               s->kills, s->interrupted, s->reaped_while_down, s->starts, s->stops, s->restarts);
        printf("chaos: %u launches, %u events; verdicts: %u stopped, %u exited, %u killed, %u crashed, %u "
               "start-failed; %u unasked ends\n",
               n, n_events, by[0], by[2], by[3], by[4], by[6], unasked);
        printf("chaos: %u false warnings, %u lost verdicts, %u duplicate verdicts, %u false intents, %u "
               "unasked ends not at warning, %u ends of backends that never end by themselves\n",
               f.false_warning, f.lost, f.duplicate, f.false_intent, f.unasked_not_warning,
               f.never_ends_ended);
        printf("chaos: %u verdict(s) told again, the same, by the corrald after a kill that came between "
               "telling and forgetting\n",
               f.retold);
        free(recs);
        if (f.said > 0)
                fail_msg("chaos: %u launch(es) judged wrong (above)", f.said);
}

/* --- Nothing left. --- */

static void check_nothing_left(chaos *s, const char *state_dir) {
        char sock[400];
        struct dirent *de;
        DIR *dir;
        int files = 0;
        for (unsigned i = 0; i < s->n_holders; i++) { /* every holder ended with the last corrald */
                harness_pidfd_wait(s->holders[i]);
                close(s->holders[i]);
        }
        daemon_reap_orphans(s->d); /* the holders and whatever else came to us */
        snprintf(sock, sizeof(sock), "%s/fdholder.sock", state_dir);
        if (access(sock, F_OK) == 0)
                fail_msg("%s is left", sock);
        dir = opendir(state_dir);
        assert_non_null(dir);
        while ((de = readdir(dir)))
                if (de->d_name[0] != '.') {
                        printf("# left in the state directory: %s\n", de->d_name);
                        files++;
                }
        closedir(dir);
        assert_int_equal(files, 0);
        harness_assert_no_leftovers(s->d->h->root); /* leaves and processes; teardown checks again */
}

static void test_chaos(void **state) {
        daemon_fixture *d = *state;
        const char *env = getenv("CORRAL_CHAOS_KILLS"), *seed_env = getenv("CORRAL_CHAOS_SEED");
        int kills = env ? atoi(env) : 5;
        unsigned seed = seed_env ? (unsigned) strtoul(seed_env, NULL, 10) : (unsigned) time(NULL);
        char dir[320];
        const char *extra[] = { "--state-dir", dir, "--fd-holder", "yes", NULL };
        chaos s = { .d = d, .extra = extra };

        printf("chaos: seed %u (CORRAL_CHAOS_SEED), %d kills\n", seed, kills);
        srand(seed);
        s.told = calloc(MAX_DRIVER, sizeof(s.told[0]));
        assert_non_null(s.told);
        for (int m = 0, i = 0; m < _M_MAX; m++)
                for (int k = 0; k < N_PER_MODE; k++, i++) {
                        snprintf(s.names[i].name, sizeof(s.names[i].name), "%s-%d", mode_names[m], k);
                        s.names[i].m = (mode) m;
                }
        snprintf(dir, sizeof(dir), "%s/state", d->h->tmpdir);
        assert_int_equal(mkdir(dir, 0700), 0);
        daemon_start(d, extra);
        note_holder(&s);
        churn(&s, kills);

        s.log_at_stop_all = strlen(read_log(d));
        json_t *r = call(d, IFACE "StopAll", NULL);
        assert_null(error_of(r));
        json_decref(r);
        assert_int_equal(daemon_stop(d), 0); /* clean: every backend stopped, the holder told to go */
        if (getenv("CORRAL_CHAOS_LOG")) {    /* a copy of the log of all of corrald's lives */
                FILE *f = fopen(getenv("CORRAL_CHAOS_LOG"), "we");
                assert_non_null(f);
                fputs(read_log(d), f);
                fclose(f);
        }
        check_verdicts(&s);
        check_nothing_left(&s, dir);
        free(s.told);
        rmdir(dir);
        daemon_start(d, NULL); /* a corrald of no state for the fixture's teardown */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_chaos, fixture_setup, fixture_teardown),
        };

        harness_require_root_cgroup2();
        if (!getenv("CORRAL_DAEMON_BIN"))
                return fprintf(stderr, "skipped: CORRAL_DAEMON_BIN is not set\n"), 77;
        /* The backends of a killed corrald come to us, as they would to init. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
