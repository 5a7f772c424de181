/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-registry.c: corrald's registry driven through a fake supervisor: no root, sockets or
 * processes. Its results, its waits and their cancellation, its bookkeeping, its observers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-log.h"
#include "fake-supervisor.h"
#include "registry.h"

/* What one call was completed with. */
typedef struct outcome {
        unsigned calls;
        registry_error error;
        char name[80];
        char message[200];
        json_t *verdict;
        bool already_stopped;
        json_t *value;
} outcome;

typedef struct fixture {
        fake_supervisor fake;
        sd_event *event;
        registry *registry;
        /* What the observer heard. */
        char events[64][24];
        size_t n_events;
        unsigned launches;
        unsigned running;
        bool shutting_down;
        unsigned shutdowns_done;
} fixture;

static void outcome_done(outcome *o) {
        json_decref(o->verdict);
        json_decref(o->value);
        *o = (outcome){};
}

static void on_done(const registry_result *res, void *userdata) {
        outcome *o = userdata;

        outcome_done(o); /* a second completion would still count */
        o->calls = 1;
        o->error = res->error;
        (void) snprintf(o->name, sizeof(o->name), "%s", res->name ?: "");
        (void) snprintf(o->message, sizeof(o->message), "%s", res->message ?: "");
        o->verdict = json_incref(res->verdict);
        o->already_stopped = res->already_stopped;
        o->value = json_incref(res->value);
}

/* on_done() counts, for the completion that must not come twice. */
static void on_done_counted(const registry_result *res, void *userdata) {
        outcome *o = userdata;
        unsigned calls = o->calls;

        on_done(res, userdata);
        o->calls = calls + 1;
}

static void observe_event(const corral_event *ev, json_t *json, void *userdata) {
        fixture *f = userdata;

        assert_non_null(json);
        if (f->n_events < 64)
                (void) snprintf(f->events[f->n_events++], sizeof(f->events[0]), "%s:%s", ev->backend,
                                corral_event_type_to_string(ev->type));
}

static void observe_launch(registry_backend *b, void *userdata) {
        fixture *f = userdata;

        assert_true(b->live);
        f->launches++;
}

static void observe_status(unsigned running, bool shutting_down, void *userdata) {
        fixture *f = userdata;

        f->running = running;
        f->shutting_down = shutting_down;
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        registry_observer o = {
                .event = observe_event, .launch = observe_launch, .status = observe_status, .userdata = f
        };

        assert_non_null(f);
        daemon_log_set_max_priority(-1);
        fake_init(&f->fake);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(registry_new(f->event, &fake_ops, &f->fake, &f->registry), 0);
        assert_int_equal(registry_observe(f->registry, &o), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        registry_free(f->registry);
        fake_done(&f->fake);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static corral_spec *spec(const char *name) {
        char *argv[] = { "sleep", "1000", NULL };
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, argv), 0);
        return s;
}

static const registry_caller who = { .uid = 1000, .pid = 4242 };

static const char *jstr(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Start name, completed at once with the backend running. */
static void start(fixture *f, const char *name) {
        outcome o = {};

        assert_null(registry_start(f->registry, spec(name), false, on_done, &o));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_string_equal(jstr(o.value, "name"), name);
        outcome_done(&o);
}

/* Run the loop until nothing is pending. */
static void settle(fixture *f) {
        for (int i = 0; i < 100 && sd_event_run(f->event, 0) > 0; i++)
                ;
}

static void test_start_then_start_again_exists(void **state) {
        fixture *f = *state;
        outcome o = {};

        assert_null(registry_start(f->registry, spec("web"), false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_OK);
        assert_string_equal(jstr(o.value, "state"), "running");
        assert_string_equal(jstr(o.value, "launch"), "1");
        assert_true(json_is_null(json_object_get(o.value, "lastVerdict")));
        assert_null(registry_start(f->registry, spec("web"), false, on_done, &o));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_BACKEND_EXISTS);
        assert_string_equal(o.name, "web");
        assert_int_equal(f->fake.spawns, 1); /* the second never reached the supervisor */
        outcome_done(&o);
}

static void test_stop_waits_for_the_verdict(void **state) {
        fixture *f = *state;
        registry_backend *b;
        outcome o = {};

        start(f, "web");
        b = fake_find(&f->fake, "web");
        assert_non_null(registry_stop(f->registry, &who, "web", 5, on_done, &o));
        assert_int_equal(o.calls, 0);
        assert_true(b->stopping);
        assert_int_equal(b->stop_uid, 1000); /* who asked is recorded with the stop */
        assert_int_equal(b->stop_pid, 4242);
        fake_end(&f->fake, b, CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_false(o.already_stopped);
        assert_string_equal(jstr(o.verdict, "event"), "stopped");
        assert_true(json_is_true(json_object_get(o.verdict, "intentional")));
        assert_int_equal(json_integer_value(json_object_get(o.verdict, "stop_uid")), 1000);

        /* Once gone: at once, with the same verdict. */
        assert_null(registry_stop(f->registry, &who, "web", 5, on_done, &o));
        assert_int_equal(o.error, REGISTRY_OK);
        assert_true(o.already_stopped);
        assert_string_equal(jstr(o.verdict, "event"), "stopped");
        assert_null(registry_stop(f->registry, &who, "none", 5, on_done, &o));
        assert_int_equal(o.error, REGISTRY_NO_SUCH_BACKEND);
        assert_string_equal(o.name, "none");
        outcome_done(&o);
}

/* A Kill goes to the supervisor with who asked; it is no stop. One without a process is refused
 * with its state. */
static void test_kill(void **state) {
        fixture *f = *state;
        registry_backend *b;
        registry_result res;

        start(f, "web");
        b = fake_find(&f->fake, "web");
        assert_int_equal(registry_kill(f->registry, &who, "web", SIGHUP, CORRAL_KILL_ALL, &res),
                         REGISTRY_OK);
        assert_int_equal(json_integer_value(json_object_get(res.value, "processes")), 2);
        registry_result_done(&res);
        assert_int_equal(b->kills, 1);
        assert_int_equal(b->kill_sig, SIGHUP);
        assert_int_equal(b->kill_whom, CORRAL_KILL_ALL);
        assert_int_equal(b->kill_uid, 1000);
        assert_int_equal(b->kill_pid, 4242);
        assert_false(b->stopping);
        assert_int_equal(f->fake.stops, 0);
        assert_int_equal(registry_kill(f->registry, &who, "none", SIGHUP, CORRAL_KILL_MAIN, &res),
                         REGISTRY_NO_SUCH_BACKEND);
        registry_result_done(&res);
        fake_end(&f->fake, b, CORRAL_EVENT_EXITED);
        assert_int_equal(registry_kill(f->registry, &who, "web", SIGHUP, CORRAL_KILL_MAIN, &res),
                         REGISTRY_BACKEND_NOT_RUNNING);
        assert_string_equal(res.name, "web");
        assert_string_equal(res.state, "gone");
        registry_result_done(&res);
}

static void start_spec(fixture *f, corral_spec *sp) {
        outcome o = {};

        assert_null(registry_start(f->registry, sp, false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_OK);
        outcome_done(&o);
}

/* ReloadBackend: every name checked first; completed once each reload has ended, in the order
 * named; one under way is joined; a launch that ends first ends its reload. */
static void test_reload_backends(void **state) {
        fixture *f = *state;
        corral_spec *a = spec("a"), *c = spec("c");
        registry_backend *ba, *bc;
        outcome o = {};
        json_t *v;

        assert_int_equal(corral_spec_set_reload_signal(a, SIGHUP), 0);
        assert_int_equal(corral_spec_add_exec_reload(c, "/bin/kill -HUP $MAINPID"), 0);
        start_spec(f, a);
        start(f, "b"); /* no way to reload it */
        start_spec(f, c);
        ba = fake_find(&f->fake, "a");
        bc = fake_find(&f->fake, "c");

        assert_null(registry_reload_backends(f->registry, &who, (char *[]){ "a", "b" }, 2, on_done, &o));
        assert_int_equal(o.error, REGISTRY_RELOAD_NOT_SUPPORTED);
        assert_string_equal(o.name, "b");
        assert_int_equal(ba->reloads, 0); /* nothing begun */
        assert_null(registry_reload_backends(f->registry, &who, (char *[]){ "zz" }, 1, on_done, &o));
        assert_int_equal(o.error, REGISTRY_NO_SUCH_BACKEND);

        o = (outcome){};
        assert_non_null(
                registry_reload_backends(f->registry, &who, (char *[]){ "c", "a", "a" }, 3, on_done, &o));
        assert_int_equal(ba->reloads, 2); /* the second joined the first (-EBUSY) */
        assert_int_equal(ba->reload_uid, who.uid); /* the caller, for its events */
        assert_int_equal(ba->reload_pid, who.pid);
        fake_reload_end(&f->fake, ba, true, 0);
        assert_int_equal(o.calls, 0); /* c's is not done */
        fake_reload_end(&f->fake, bc, false, ETIMEDOUT);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_int_equal(json_array_size(o.value), 3);
        v = json_array_get(o.value, 0);
        assert_string_equal(jstr(v, "name"), "c");
        assert_string_equal(jstr(v, "result"), "timed-out");
        assert_string_equal(jstr(v, "message"), "reload failed: faked");
        assert_string_equal(jstr(json_array_get(o.value, 1), "result"), "ok");
        assert_string_equal(jstr(json_array_get(o.value, 2), "result"), "ok");
        outcome_done(&o);

        /* the launch ends before its reload does */
        assert_non_null(registry_reload_backends(f->registry, &who, (char *[]){ "a" }, 1, on_done, &o));
        fake_end(&f->fake, ba, CORRAL_EVENT_EXITED);
        assert_int_equal(o.calls, 1);
        assert_string_equal(jstr(json_array_get(o.value, 0), "result"), "failed");
        outcome_done(&o);
        assert_null(registry_reload_backends(f->registry, &who, (char *[]){ "a" }, 1, on_done, &o));
        assert_int_equal(o.error, REGISTRY_BACKEND_NOT_RUNNING);
        assert_string_equal(o.name, "a");
        outcome_done(&o);
}

static void test_two_stops_share_one_verdict(void **state) {
        fixture *f = *state;
        outcome a = {}, b = {};

        start(f, "slow");
        assert_non_null(registry_stop(f->registry, &who, "slow", 5, on_done, &a));
        assert_non_null(registry_stop(f->registry, &who, "slow", 5, on_done, &b));
        assert_int_equal(fake_find(&f->fake, "slow")->stops, 2); /* the second is a no-op of corral's */
        fake_end(&f->fake, fake_find(&f->fake, "slow"), CORRAL_EVENT_STOPPED);
        assert_int_equal(a.calls, 1);
        assert_int_equal(b.calls, 1);
        assert_true(json_equal(a.verdict, b.verdict));
        assert_false(b.already_stopped);
        outcome_done(&a);
        outcome_done(&b);
}

/* A verdict that comes from inside the stop (the backend had ended already) completes the Stop
 * before it returns. */
static void test_verdict_from_inside_the_stop(void **state) {
        fixture *f = *state;
        outcome o = {};

        start(f, "quick");
        f->fake.stop_at_once = true;
        assert_null(registry_stop(f->registry, &who, "quick", 5, on_done, &o));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_false(o.already_stopped);
        assert_string_equal(jstr(o.verdict, "event"), "stopped");
        outcome_done(&o);
}

static void test_stop_all_completes_when_all_are_gone(void **state) {
        fixture *f = *state;
        const char *names[] = { "a", "b", "c" };
        outcome o = {};

        for (size_t i = 0; i < 3; i++)
                start(f, names[i]);
        assert_non_null(registry_stop_all(f->registry, &who, 5, on_done, &o));
        assert_int_equal(f->fake.stop_alls, 1);
        fake_end(&f->fake, fake_find(&f->fake, "b"), CORRAL_EVENT_STOPPED);
        fake_end(&f->fake, fake_find(&f->fake, "a"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 0);
        fake_end(&f->fake, fake_find(&f->fake, "c"), CORRAL_EVENT_KILLED);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_int_equal(json_array_size(o.value), 3);
        outcome_done(&o);

        /* Nothing runs: at once, no verdicts. */
        assert_null(registry_stop_all(f->registry, &who, 5, on_done, &o));
        assert_int_equal(json_array_size(o.value), 0);
        outcome_done(&o);
}

static void test_remove_of_a_running_one_is_refused(void **state) {
        fixture *f = *state;
        registry_result res;
        outcome o = {};

        start(f, "r");
        assert_int_equal(registry_remove(f->registry, "r", &res), REGISTRY_BACKEND_RUNNING);
        assert_string_equal(res.name, "r");
        assert_string_equal(res.state, "running");
        registry_result_done(&res);
        assert_non_null(registry_stop(f->registry, &who, "r", 5, on_done, &o));
        assert_int_equal(registry_remove(f->registry, "r", &res), REGISTRY_BACKEND_RUNNING);
        assert_string_equal(res.state, "stopping");
        registry_result_done(&res);
        fake_end(&f->fake, fake_find(&f->fake, "r"), CORRAL_EVENT_STOPPED);
        assert_int_equal(registry_remove(f->registry, "r", &res), REGISTRY_OK);
        registry_result_done(&res);
        assert_int_equal(registry_status(f->registry, "r", &res), REGISTRY_NO_SUCH_BACKEND);
        registry_result_done(&res);
        assert_int_equal(registry_remove(f->registry, "r", &res), REGISTRY_NO_SUCH_BACKEND);
        registry_result_done(&res);
        outcome_done(&o);
}

static void test_keep_gone_forgets_the_oldest(void **state) {
        fixture *f = *state;
        const char *names[] = { "first", "second", "third" };
        registry_result res;

        registry_set_keep_gone(f->registry, 2);
        for (size_t i = 0; i < 3; i++) {
                start(f, names[i]);
                fake_end(&f->fake, fake_find(&f->fake, names[i]), CORRAL_EVENT_EXITED);
        }
        /* Forgotten from the loop, never under the caller. */
        assert_int_equal(registry_status(f->registry, "first", &res), REGISTRY_OK);
        registry_result_done(&res);
        settle(f);
        assert_int_equal(registry_status(f->registry, "first", &res), REGISTRY_NO_SUCH_BACKEND);
        registry_result_done(&res);
        for (size_t i = 1; i < 3; i++) {
                assert_int_equal(registry_status(f->registry, names[i], &res), REGISTRY_OK);
                assert_string_equal(jstr(res.value, "state"), "gone");
                assert_string_equal(jstr(json_object_get(res.value, "lastVerdict"), "event"), "exited");
                registry_result_done(&res);
        }
        assert_int_equal(registry_list(f->registry, &res), REGISTRY_OK);
        assert_int_equal(json_array_size(res.value), 2);
        registry_result_done(&res);
}

static void test_cancelled_wait_is_never_completed(void **state) {
        fixture *f = *state;
        registry_result res;
        outcome o = {};

        start(f, "s");
        registry_wait_cancel(registry_stop(f->registry, &who, "s", 5, on_done_counted, &o));
        fake_end(&f->fake, fake_find(&f->fake, "s"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 0);
        assert_int_equal(registry_status(f->registry, "s", &res), REGISTRY_OK); /* it stopped all the same */
        assert_string_equal(jstr(res.value, "state"), "gone");
        registry_result_done(&res);

        /* A Restart whose caller went away still starts it again. */
        start(f, "r");
        registry_wait_cancel(registry_restart(f->registry, &who, "r", false, on_done_counted, &o));
        fake_end(&f->fake, fake_find(&f->fake, "r"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 0);
        assert_non_null(fake_find(&f->fake, "r"));
        assert_string_equal(fake_find(&f->fake, "r")->launch, "3");

        /* One of StopAll's: the others' verdicts change nothing for it. */
        start(f, "t");
        registry_wait_cancel(registry_stop_all(f->registry, &who, 5, on_done_counted, &o));
        fake_end(&f->fake, fake_find(&f->fake, "t"), CORRAL_EVENT_STOPPED);
        fake_end(&f->fake, fake_find(&f->fake, "r"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 0);
        assert_int_equal(f->fake.live == NULL, true);
}

static void test_restart_completes_with_the_new_launch(void **state) {
        fixture *f = *state;
        outcome o = {};

        start(f, "again");
        assert_non_null(registry_restart(f->registry, &who, "again", false, on_done, &o));
        assert_int_equal(o.calls, 0);
        fake_end(&f->fake, fake_find(&f->fake, "again"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_string_equal(jstr(o.value, "launch"), "2");
        assert_string_equal(jstr(json_object_get(o.value, "lastVerdict"), "event"), "stopped");
        outcome_done(&o);
        assert_null(registry_restart(f->registry, &who, "nothing", false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_NO_SUCH_BACKEND);
        outcome_done(&o);
}

static void test_wait_ready(void **state) {
        fixture *f = *state;
        outcome o = {};

        f->fake.start_state = CORRAL_STATE_STARTING;
        assert_non_null(registry_start(f->registry, spec("model"), true, on_done, &o));
        assert_int_equal(o.calls, 0);
        fake_ready(&f->fake, fake_find(&f->fake, "model"));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_string_equal(jstr(o.value, "state"), "running");
        outcome_done(&o);

        /* Never ready: StartFailed with its verdict. */
        assert_non_null(registry_start(f->registry, spec("never"), true, on_done, &o));
        fake_end(&f->fake, fake_find(&f->fake, "never"), CORRAL_EVENT_START_FAILED);
        assert_int_equal(o.error, REGISTRY_START_FAILED);
        assert_string_equal(o.name, "never");
        assert_string_equal(jstr(o.verdict, "event"), "start-failed");
        assert_string_equal(o.message, "backend exited unexpectedly");
        outcome_done(&o);

        /* Without wait_ready: at once, starting. */
        assert_null(registry_start(f->registry, spec("eager"), false, on_done, &o));
        assert_string_equal(jstr(o.value, "state"), "starting");
        outcome_done(&o);
}

/* Restart with wait_ready completes as Start does with it: at the new launch's readiness, or with
 * its verdict if it never is; a restart of one not running waits the same way. */
static void test_restart_waits_for_ready(void **state) {
        fixture *f = *state;
        outcome o = {};

        f->fake.start_state = CORRAL_STATE_STARTING;
        start(f, "model");
        assert_non_null(registry_restart(f->registry, &who, "model", true, on_done, &o));
        fake_end(&f->fake, fake_find(&f->fake, "model"), CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 0); /* started again, not yet ready */
        assert_non_null(fake_find(&f->fake, "model"));
        fake_ready(&f->fake, fake_find(&f->fake, "model"));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        assert_string_equal(jstr(o.value, "state"), "running");
        assert_string_equal(jstr(o.value, "launch"), "2");
        outcome_done(&o);

        assert_non_null(registry_restart(f->registry, &who, "model", true, on_done, &o));
        fake_end(&f->fake, fake_find(&f->fake, "model"), CORRAL_EVENT_STOPPED);
        fake_end(&f->fake, fake_find(&f->fake, "model"), CORRAL_EVENT_START_FAILED);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_START_FAILED);
        assert_string_equal(jstr(o.verdict, "event"), "start-failed");
        outcome_done(&o);

        /* Gone: started again, and waited for all the same. */
        assert_non_null(registry_restart(f->registry, &who, "model", true, on_done, &o));
        assert_int_equal(o.calls, 0);
        fake_ready(&f->fake, fake_find(&f->fake, "model"));
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        outcome_done(&o);
}

static void test_failed_starts_say_why(void **state) {
        fixture *f = *state;
        outcome o = {};

        f->fake.spawn_error = -ENOENT; /* the command is not there: a start-failed verdict */
        f->fake.spawn_verdict = true;
        assert_null(registry_start(f->registry, spec("missing"), false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_START_FAILED);
        assert_string_equal(o.message, "backend failed to start: faked");
        assert_string_equal(jstr(o.verdict, "event"), "start-failed");

        f->fake.spawn_error = -ENOMEM; /* no verdict: out of memory, said as such */
        f->fake.spawn_verdict = false;
        assert_null(registry_start(f->registry, spec("missing"), false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_NO_MEMORY);

        f->fake.spawn_error = -EPERM; /* no verdict of its own: not the last launch's either */
        assert_null(registry_start(f->registry, spec("missing"), false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_START_FAILED);
        assert_string_equal(o.message, strerror(EPERM));
        assert_null(o.verdict);
        outcome_done(&o);
}

static void test_observers_hear_events_launches_and_status(void **state) {
        fixture *f = *state;
        const char *want[] = { "w:started", "w:exited",   "w:restarting",
                               "w:started", "w:stopping", "w:stopped" };

        start(f, "w");
        assert_int_equal(f->launches, 1); /* the first launch: told by the registry after spawn() */
        assert_int_equal(f->running, 1);
        fake_restart(&f->fake, fake_find(&f->fake, "w"));
        assert_int_equal(f->launches, 2); /* a restart's: from its started event */
        registry_wait_cancel(registry_stop(f->registry, &who, "w", 5, on_done, &(outcome){}));
        fake_end(&f->fake, fake_find(&f->fake, "w"), CORRAL_EVENT_STOPPED);
        assert_int_equal(f->n_events, 6);
        for (size_t i = 0; i < 6; i++)
                assert_string_equal(f->events[i], want[i]);
        assert_int_equal(f->running, 0);

        fake_add_adoptable(&f->fake, "old");
        assert_int_equal(registry_adopt(f->registry), 1);
        assert_int_equal(f->launches, 3); /* an adopted one's */
        assert_int_equal(f->running, 1);
}

static void shutdown_done(void *userdata) {
        fixture *f = userdata;
        f->shutdowns_done++;
}

static void test_shutdown_ends_once_all_are_gone(void **state) {
        fixture *f = *state;
        outcome o = {};

        start(f, "a");
        start(f, "b");
        registry_shutdown(f->registry, &who, shutdown_done, f);
        assert_true(f->shutting_down);
        assert_true(registry_shutting_down(f->registry));
        assert_int_equal(f->fake.stop_alls, 1);
        assert_null(registry_start(f->registry, spec("late"), false, on_done, &o));
        assert_int_equal(o.error, REGISTRY_SHUTTING_DOWN);
        outcome_done(&o);
        fake_end(&f->fake, fake_find(&f->fake, "a"), CORRAL_EVENT_STOPPED);
        assert_int_equal(f->shutdowns_done, 0);
        fake_end(&f->fake, fake_find(&f->fake, "b"), CORRAL_EVENT_STOPPED);
        assert_int_equal(f->shutdowns_done, 1);
        assert_int_equal(registry_count_running(f->registry), 0);
}

/* Declared backends with After= and Requires=, from files: starts wait for readiness, a stop goes
 * to what requires it first, a death stops it after, a restart brings it back. */
static void write_definition(const char *dir, const char *name, const char *extra) {
        char path[512];
        FILE *fp;

        (void) snprintf(path, sizeof(path), "%s/%s.backend", dir, name);
        fp = fopen(path, "we");
        assert_non_null(fp);
        fprintf(fp, "[Backend]\nExecStart=/bin/sleep 1000\n%s", extra);
        fclose(fp);
}

static void test_dependencies(void **state) {
        fixture *f = *state;
        char dir[] = "/tmp/test-registry-deps.XXXXXX", *dirs[] = { dir, NULL };
        registry_backend *a, *b, *c;
        registry_result res;
        outcome o = {};

        assert_non_null(mkdtemp(dir));
        write_definition(dir, "a", "");
        write_definition(dir, "b", "Requires=a\n");
        write_definition(dir, "c", "After=b\nEnabled=no\n");
        f->fake.start_state = CORRAL_STATE_STARTING;
        assert_int_equal(registry_set_definition_dirs(f->registry, dirs), 0);
        assert_int_equal(registry_reload(f->registry, &res), REGISTRY_OK);
        registry_result_done(&res);
        a = fake_find(&f->fake, "a");
        assert_non_null(a);
        assert_null(fake_find(&f->fake, "b")); /* not before a is ready */
        fake_ready(&f->fake, a);
        b = fake_find(&f->fake, "b");
        assert_non_null(b);

        /* c (Enabled=no) by name: after b, which is not ready yet; with waitReady */
        assert_non_null(registry_start_declared(f->registry, "c", true, on_done, &o));
        assert_null(fake_find(&f->fake, "c"));
        fake_ready(&f->fake, b);
        c = fake_find(&f->fake, "c");
        assert_non_null(c);
        assert_int_equal(o.calls, 0);
        fake_ready(&f->fake, c);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_OK);
        outcome_done(&o);

        /* a stopped on purpose: b first (with the cause), a once b is gone; c (After= only) stays */
        assert_non_null(registry_stop(f->registry, &who, "a", CORRAL_GRACE_DEFAULT, on_done, &o));
        assert_true(b->stopping);
        assert_string_equal(b->stop_cause, "a stopped");
        assert_int_equal(b->stop_uid, who.uid);
        assert_false(a->stopping);
        fake_end(&f->fake, b, CORRAL_EVENT_STOPPED);
        assert_true(a->stopping);
        assert_false(c->stopping);
        fake_end(&f->fake, a, CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 1);
        outcome_done(&o);

        /* b by name: a first; a fails to start: b does not start, and says why */
        assert_non_null(registry_start_declared(f->registry, "b", false, on_done, &o));
        a = fake_find(&f->fake, "a");
        assert_non_null(a);
        assert_null(fake_find(&f->fake, "b"));
        fake_end(&f->fake, a, CORRAL_EVENT_START_FAILED);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, REGISTRY_START_FAILED);
        assert_non_null(strstr(o.message, "it requires a, which did not start"));
        assert_null(fake_find(&f->fake, "b"));
        outcome_done(&o);

        /* a restarts by its policy: b is stopped after it, and started again once a is ready */
        assert_non_null(registry_start_declared(f->registry, "b", false, on_done, &o));
        fake_ready(&f->fake, fake_find(&f->fake, "a"));
        b = fake_find(&f->fake, "b");
        assert_non_null(b);
        outcome_done(&o);
        a = fake_find(&f->fake, "a");
        fake_restart(&f->fake, a);
        assert_true(b->stopping);
        assert_string_equal(b->stop_cause, "a exited");
        assert_int_equal(b->stop_uid, getuid());
        fake_end(&f->fake, b, CORRAL_EVENT_STOPPED);
        assert_null(fake_find(&f->fake, "b"));
        fake_ready(&f->fake, fake_find(&f->fake, "a"));
        assert_non_null(fake_find(&f->fake, "b"));

        /* StopAll: the reverse order */
        assert_non_null(registry_stop_all(f->registry, &who, CORRAL_GRACE_DEFAULT, on_done, &o));
        b = fake_find(&f->fake, "b");
        a = fake_find(&f->fake, "a");
        assert_true(c->stopping);
        assert_false(b->stopping);
        fake_end(&f->fake, c, CORRAL_EVENT_STOPPED);
        assert_true(b->stopping);
        assert_false(a->stopping);
        fake_end(&f->fake, b, CORRAL_EVENT_STOPPED);
        assert_true(a->stopping);
        fake_end(&f->fake, a, CORRAL_EVENT_STOPPED);
        assert_int_equal(o.calls, 1);
        outcome_done(&o);
        for (const char *const *n = (const char *const[]){ "a", "b", "c", NULL }; *n; n++) {
                char path[512];
                (void) snprintf(path, sizeof(path), "%s/%s.backend", dir, *n);
                assert_int_equal(unlink(path), 0);
        }
        assert_int_equal(rmdir(dir), 0);
}

static void test_logs_and_reset_failed(void **state) {
        fixture *f = *state;
        registry_result res;

        start(f, "talker");
        assert_int_equal(registry_logs(f->registry, "talker", 10, 0, &res), REGISTRY_OK);
        assert_int_equal(res.n_lines, 1);
        assert_memory_equal(res.lines[0].data, "out 1", 5);
        registry_result_done(&res);
        assert_int_equal(registry_logs(f->registry, "talker", 10, 2000000, &res), REGISTRY_OK);
        assert_int_equal(res.n_lines, 0);
        registry_result_done(&res);
        assert_int_equal(registry_logs(f->registry, "quiet", 10, 0, &res), REGISTRY_NO_SUCH_BACKEND);
        registry_result_done(&res);
        assert_int_equal(registry_reset_failed(f->registry, "talker", &res), REGISTRY_OK);
        assert_string_equal(jstr(res.value, "name"), "talker");
        registry_result_done(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_start_then_start_again_exists, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_waits_for_the_verdict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_stops_share_one_verdict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reload_backends, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verdict_from_inside_the_stop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_all_completes_when_all_are_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_of_a_running_one_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keep_gone_forgets_the_oldest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancelled_wait_is_never_completed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_completes_with_the_new_launch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wait_ready, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_waits_for_ready, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_starts_say_why, setup, teardown),
                cmocka_unit_test_setup_teardown(test_observers_hear_events_launches_and_status, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_shutdown_ends_once_all_are_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_logs_and_reset_failed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dependencies, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
