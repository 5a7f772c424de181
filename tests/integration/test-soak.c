/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-soak.c: corrald driven at random (starts, stops, restarts, crashes, stubborn and forking
 * backends, misbehaving clients, all at once) for $CORRAL_SOAK_SECONDS; then every verdict is
 * checked against what the driver did, and nothing may be left behind. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon-fixture.h"

#define N_NAMES    12
#define MAX_LAUNCH 200000
#define GRACE_USEC 100000

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

static const char *const mode_names[_M_MAX] = { "pause",  "term-exit",  "term-ignore", "grandchild",
                                                "forker", "exit-after", "segv-after" };

static bool self_exiting(mode m) {
        return m == M_EXIT_AFTER || m == M_SEGV_AFTER;
}

typedef struct launch_rec {
        char launch[16];
        mode m;
        bool stop_asked, verdict_seen, intentional;
        char event[24], level[16];
} launch_rec;

typedef struct name_state {
        char name[8];
        mode m;
        char current[16]; /* the launch we believe runs, "" if none */
        bool busy;        /* a call about it is in flight */
        varlink_conn call;
        int call_kind; /* 0 none, 1 start, 2 stop, 3 restart */
} name_state;

typedef struct soak {
        daemon_fixture *d;
        varlink_conn watch;
        name_state names[N_NAMES];
        launch_rec *launches;
        unsigned n_launches;
        unsigned starts, stops, restarts, bad_clients, lists, events;
} soak;

static launch_rec *launch_get(soak *s, const char *launch, mode m) {
        for (unsigned i = s->n_launches; i-- > 0;)
                if (strcmp(s->launches[i].launch, launch) == 0)
                        return &s->launches[i];
        assert_true(s->n_launches < MAX_LAUNCH);
        launch_rec *r = &s->launches[s->n_launches++];
        *r = (launch_rec){ .m = m };
        snprintf(r->launch, sizeof(r->launch), "%s", launch);
        return r;
}

static name_state *name_by(soak *s, const char *name) {
        for (int i = 0; i < N_NAMES; i++)
                if (strcmp(s->names[i].name, name) == 0)
                        return &s->names[i];
        return NULL;
}

static bool is_verdict(const char *event) {
        return strcmp(event, "started") != 0 && strcmp(event, "stopping") != 0 &&
                strcmp(event, "restarting") != 0 && strcmp(event, "failed") != 0 &&
                strcmp(event, "ready") != 0;
}

static void on_event(soak *s, json_t *ev) {
        const char *event = json_string_value(json_object_get(ev, "event"));
        const char *launch = json_string_value(json_object_get(ev, "launch"));
        name_state *n = name_by(s, json_string_value(json_object_get(ev, "backend")));
        launch_rec *r;

        s->events++;
        if (!event || !launch || !n || !is_verdict(event))
                return;
        r = launch_get(s, launch, n->m);
        if (r->verdict_seen)
                fail_msg("launch %s got a second verdict (%s after %s)", launch, event, r->event);
        r->verdict_seen = true;
        r->intentional = json_is_true(json_object_get(ev, "intentional"));
        snprintf(r->event, sizeof(r->event), "%s", event);
        snprintf(r->level, sizeof(r->level), "%s", json_string_value(json_object_get(ev, "level")));
        if (strcmp(n->current, launch) == 0)
                n->current[0] = '\0';
}

static void drain_watch(soak *s) {
        json_t *m = NULL;
        int r;

        while ((r = varlink_conn_read(&s->watch)) > 0)
                ;
        if (r != -EAGAIN)
                fail_msg("the watch connection ended: %d", r);
        while (varlink_conn_next(&s->watch, &m) > 0) {
                json_t *ev = param(m, "event");
                if (ev)
                        on_event(s, ev);
                json_decref(m);
        }
}

static void conn_open_nonblock(daemon_fixture *d, varlink_conn *c) {
        conn_open(d, c);
        assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
}

static void send_async(soak *s, name_state *n, int kind, const char *method, json_t *params) {
        json_t *msg = varlink_call_new(method, params, false);

        conn_open_nonblock(s->d, &n->call);
        assert_int_equal(varlink_conn_queue(&n->call, msg), 0);
        assert_int_equal(varlink_conn_flush(&n->call), 0);
        json_decref(msg);
        n->busy = true;
        n->call_kind = kind;
}

static void on_reply(soak *s, name_state *n, json_t *reply) {
        const char *error = error_of(reply);
        json_t *b = param(reply, "backend");

        if (error && strcmp(error, IFACE "BackendExists") != 0 && strcmp(error, IFACE "NoSuchBackend") != 0)
                fail_msg("%s: call %d failed: %s", n->name, n->call_kind, error);
        if (b && json_is_string(json_object_get(b, "launch"))) { /* Start, Restart: the new launch */
                const char *l = json_string_value(json_object_get(b, "launch"));
                launch_rec *r = launch_get(s, l, n->m);
                if (!r->verdict_seen)
                        snprintf(n->current, sizeof(n->current), "%s", l);
        }
}

/* Take the replies that have come; a Stop's reply comes once the backend is gone. */
static void poll_calls(soak *s) {
        for (int i = 0; i < N_NAMES; i++) {
                name_state *n = &s->names[i];
                json_t *reply = NULL;
                int r;

                if (!n->busy)
                        continue;
                while ((r = varlink_conn_read(&n->call)) > 0)
                        ;
                if (varlink_conn_next(&n->call, &reply) <= 0) {
                        assert_true(r == -EAGAIN);
                        continue;
                }
                drain_watch(s); /* the events that led to this reply first */
                on_reply(s, n, reply);
                json_decref(reply);
                varlink_conn_done(&n->call);
                n->busy = false;
        }
}

static void act_on_name(soak *s, name_state *n, bool restart) {
        if (n->current[0] == '\0' && !restart) {
                n->m = (mode) (rand() % _M_MAX);
                json_t *p = start_params(s->d, n->name, mode_names[n->m], GRACE_USEC);
                if (self_exiting(n->m)) {
                        char arg[32];
                        snprintf(arg, sizeof(arg), "%d:%d", rand() % 300, 1 + rand() % 100);
                        json_array_append_new(json_object_get(p, "command"), json_string(arg));
                }
                send_async(s, n, 1, IFACE "Start", p);
                s->starts++;
                return;
        }
        if (n->current[0] == '\0')
                return;
        launch_get(s, n->current, n->m)->stop_asked = true;
        if (restart) {
                send_async(s, n, 3, IFACE "Restart", json_pack("{s:s}", "name", n->name));
                s->restarts++;
        } else {
                send_async(s, n, 2, IFACE "Stop", json_pack("{s:s}", "name", n->name));
                s->stops++;
        }
}

static void bad_client(soak *s) {
        static const char *const garbage[] = {
                "{not json", "\x01\x02\x03", "[1]", "{\"method\":7}",
                "{\"method\":\"io.corral.Supervisor.Start\",\"parameters\":{\"name\":\"..\"}}"
        };
        varlink_conn c;
        int k = rand() % 4;

        conn_open(s->d, &c);
        if (k == 0) {
                const char *g = garbage[rand() % 5];
                (void) send(c.fd, g, strlen(g) + 1, MSG_NOSIGNAL);
        } else if (k == 1) {
                char *big = malloc(300 * 1024);
                memset(big, 'x', 300 * 1024);
                (void) send(c.fd, big, 300 * 1024, MSG_NOSIGNAL | MSG_DONTWAIT);
                free(big);
        } else if (k == 2)
                (void) send(c.fd, "{\"method\":\"io.co", 16, MSG_NOSIGNAL);
        varlink_conn_done(&c); /* k == 3: connect and hang up at once */
        s->bad_clients++;
}

static void step(soak *s) {
        int dice = rand() % 100;
        name_state *n = &s->names[rand() % N_NAMES];
        struct pollfd p[N_NAMES + 1];
        int np = 0;

        if (dice < 60 && !n->busy)
                act_on_name(s, n, false);
        else if (dice < 70 && !n->busy)
                act_on_name(s, n, true);
        else if (dice < 80)
                bad_client(s);
        else if (dice < 83) {
                json_t *r = call(s->d, IFACE "List", NULL);
                assert_null(error_of(r));
                json_decref(r);
                s->lists++;
        }
        p[np++] = (struct pollfd){ .fd = s->watch.fd, .events = POLLIN };
        for (int i = 0; i < N_NAMES; i++)
                if (s->names[i].busy)
                        p[np++] = (struct pollfd){ .fd = s->names[i].call.fd, .events = POLLIN };
        (void) poll(p, (nfds_t) np, 2);
        drain_watch(s);
        poll_calls(s);
        char fifo[4096];
        while (read(s->d->h->fifo_fd, fifo, sizeof(fifo)) > 0) /* the helpers' "ready"s */
                ;
}

static bool any_busy(soak *s) {
        for (int i = 0; i < N_NAMES; i++)
                if (s->names[i].busy)
                        return true;
        return false;
}

static bool all_judged(soak *s) {
        for (unsigned i = 0; i < s->n_launches; i++)
                if (!s->launches[i].verdict_seen)
                        return false;
        return true;
}

/* Wait for what is in flight (up to the hang guard), then stop what is left. */
static void finish(soak *s) {
        uint64_t deadline = harness_now_usec() + harness_hang_guard_usec();
        json_t *r;

        while (any_busy(s) && harness_now_usec() < deadline) {
                struct pollfd p = { .fd = s->watch.fd, .events = POLLIN };
                (void) poll(&p, 1, 1);
                drain_watch(s);
                poll_calls(s);
        }
        for (int i = 0; i < N_NAMES; i++) {
                assert_false(s->names[i].busy);
                if (s->names[i].current[0])
                        launch_get(s, s->names[i].current, s->names[i].m)->stop_asked = true;
        }
        r = call(s->d, IFACE "StopAll", NULL);
        assert_null(error_of(r));
        json_decref(r);
        deadline = harness_now_usec() + harness_hang_guard_usec();
        while (!all_judged(s) && harness_now_usec() < deadline) {
                struct pollfd p = { .fd = s->watch.fd, .events = POLLIN };
                (void) poll(&p, 1, 1);
                drain_watch(s);
        }
}

static void check(soak *s) {
        unsigned by_event[8] = { 0 }, unexpected = 0;
        const char *const kinds[] = { "stopped", "finished",   "exited",      "killed",
                                      "crashed", "oom-killed", "start-failed" };

        for (unsigned i = 0; i < s->n_launches; i++) {
                launch_rec *r = &s->launches[i];
                if (!r->verdict_seen)
                        fail_msg("launch %s (%s) never got a verdict", r->launch, mode_names[r->m]);
                if (r->intentional && !r->stop_asked)
                        fail_msg("launch %s: %s marked intentional, but nobody asked", r->launch, r->event);
                if (r->intentional && strcmp(r->level, "info") != 0 && strcmp(r->level, "notice") != 0)
                        fail_msg("launch %s (%s): an intentional stop logged at %s (%s)", r->launch,
                                 mode_names[r->m], r->level, r->event);
                if (!r->intentional && strcmp(r->level, "warning") != 0)
                        fail_msg("launch %s (%s): an exit nobody asked for logged at %s (%s)", r->launch,
                                 mode_names[r->m], r->level, r->event);
                if (!self_exiting(r->m) && (!r->intentional || strcmp(r->event, "stopped") != 0))
                        fail_msg("launch %s (%s) never exits by itself, yet: %s, intentional=%d", r->launch,
                                 mode_names[r->m], r->event, r->intentional);
                unexpected += !r->intentional;
                for (int k = 0; k < 7; k++)
                        by_event[k] += strcmp(r->event, kinds[k]) == 0;
        }
        printf("soak: %u launches (%u starts, %u stops, %u restarts), %u events, %u misbehaving clients, %u "
               "lists\n",
               s->n_launches, s->starts, s->stops, s->restarts, s->events, s->bad_clients, s->lists);
        printf("soak: verdicts: %u stopped, %u exited, %u killed, %u crashed; %u unasked exits, all "
               "warnings\n",
               by_event[0], by_event[2], by_event[3], by_event[4], unexpected);
}

static void test_soak(void **state) {
        daemon_fixture *d = *state;
        const char *env = getenv("CORRAL_SOAK_SECONDS"), *seed_env = getenv("CORRAL_SOAK_SEED");
        int seconds = env ? atoi(env) : 10;
        unsigned seed = seed_env ? (unsigned) strtoul(seed_env, NULL, 10) : (unsigned) time(NULL);
        soak s = { .d = d };
        json_t *r = NULL;
        time_t end;

        s.launches = calloc(MAX_LAUNCH, sizeof(launch_rec));
        assert_non_null(s.launches);
        for (int i = 0; i < N_NAMES; i++)
                snprintf(s.names[i].name, sizeof(s.names[i].name), "s%d", i);
        conn_open(d, &s.watch);
        assert_int_equal(varlink_call(&s.watch, IFACE "Watch", NULL, true, &r), 0);
        json_decref(r);
        assert_int_equal(fcntl(s.watch.fd, F_SETFL, O_NONBLOCK), 0);
        printf("soak: seed %u (CORRAL_SOAK_SEED), %d s\n", seed, seconds);
        srand(seed);
        end = time(NULL) + seconds;
        while (time(NULL) < end)
                step(&s);
        finish(&s);
        check(&s);
        varlink_conn_done(&s.watch);
        free(s.launches);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_soak, fixture_setup_started, fixture_teardown),
        };

        harness_require_root_cgroup2();
        if (!getenv("CORRAL_DAEMON_BIN"))
                return fprintf(stderr, "skipped: CORRAL_DAEMON_BIN is not set\n"), 77;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
