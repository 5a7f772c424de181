/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-systemd-job.c: corrald asks whether systemd restarts it on the loop, of a fake manager: a
 * restart job, a stop job, another unit's job, and a manager that never answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "systemd-job.h"

#define UNIT "corrald.service"

typedef struct fake {
        sd_event *e;
        char dir[64], address[128];
        int listen_fd;
        sd_event_source *accept;
        sd_bus *server;                  /* the connection it accepted, if it answers */
        const char *job_unit, *job_type; /* the one job it lists (NULL: none) */
        bool answers;
        int answer;     /* what done got; 99 until then */
        unsigned ticks; /* a 1 ms timer's runs before the answer: the loop was not blocked */
        sd_event_source *tick;
} fake;

static int list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        fake *f = userdata;
        sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(m, &reply);

        assert_true(r >= 0);
        assert_true(sd_bus_message_open_container(reply, 'a', "(usssoo)") >= 0);
        if (f->job_unit)
                assert_true(sd_bus_message_append(reply, "(usssoo)", 42, f->job_unit, f->job_type, "running",
                                                  "/org/freedesktop/systemd1/job/42",
                                                  "/org/freedesktop/systemd1/unit/x") >= 0);
        assert_true(sd_bus_message_close_container(reply) >= 0);
        r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("ListJobs", "", "a(usssoo)", list_jobs, 0),
        SD_BUS_VTABLE_END,
};

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        fake *f = userdata;
        sd_id128_t id;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        assert_true(c >= 0);
        assert_null(f->server); /* one question, one connection */
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&f->server), 0);
        assert_int_equal(sd_bus_set_fd(f->server, c, c), 0);
        assert_int_equal(sd_bus_set_server(f->server, 1, id), 0);
        assert_int_equal(sd_bus_add_object_vtable(f->server, NULL, "/org/freedesktop/systemd1",
                                                  "org.freedesktop.systemd1.Manager", manager_vtable, f),
                         0);
        assert_int_equal(sd_bus_attach_event(f->server, f->e, 0), 0);
        assert_true(sd_bus_start(f->server) >= 0);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        fake *f = userdata;

        f->ticks++;
        return sd_event_source_set_time_relative(s, 1000);
}

static void fake_start(fake *f, bool answers) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        *f = (fake){ .answers = answers, .answer = 99 };
        assert_int_equal(sd_event_new(&f->e), 0);
        strcpy(f->dir, "/tmp/test-systemd-job.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/private", f->dir);
        snprintf(f->address, sizeof(f->address), "unix:path=%s", sa.sun_path);
        f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(f->listen_fd >= 0);
        assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(f->listen_fd, 4), 0);
        /* one that never answers never accepts: its connection waits in the backlog, unauthenticated */
        if (answers)
                assert_int_equal(sd_event_add_io(f->e, &f->accept, f->listen_fd, EPOLLIN, on_accept, f), 0);
        assert_int_equal(sd_event_add_time_relative(f->e, &f->tick, CLOCK_MONOTONIC, 1000, 0, on_tick, f),
                         0);
}

static void fake_stop(fake *f) {
        char path[128];

        f->tick = sd_event_source_disable_unref(f->tick);
        f->accept = sd_event_source_disable_unref(f->accept);
        if (f->server)
                (void) sd_bus_detach_event(f->server);
        f->server = sd_bus_close_unref(f->server);
        close(f->listen_fd);
        snprintf(path, sizeof(path), "%s/private", f->dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(f->dir), 0);
        f->e = sd_event_unref(f->e);
}

static systemd_job *asked;

static void on_answer(int restarting, void *userdata) {
        fake *f = userdata;

        assert_int_equal(f->answer, 99); /* once */
        f->answer = restarting;
        asked = systemd_job_free(asked); /* from within its own callback */
        (void) sd_event_exit(f->e, 0);
}

/* Ask, and run the loop until the answer (the question's own timeout ends it). */
static int ask(fake *f, uint64_t timeout_usec) {
        assert_int_equal(systemd_job_ask(f->e, f->address, UNIT, timeout_usec, on_answer, f, &asked), 0);
        assert_int_equal(f->answer, 99); /* never at once: from the loop */
        assert_int_equal(sd_event_loop(f->e), 0);
        assert_null(asked);
        return f->answer;
}

static void test_restart_job(void **state) {
        fake f;

        fake_start(&f, true);
        f.job_unit = UNIT;
        f.job_type = "restart";
        assert_int_equal(ask(&f, 60 * 1000000ULL), 1);
        fake_stop(&f);
        fake_start(&f, true);
        f.job_unit = UNIT;
        f.job_type = "try-restart";
        assert_int_equal(ask(&f, 60 * 1000000ULL), 1);
        fake_stop(&f);
}

static void test_stop_job_or_none(void **state) {
        fake f;

        fake_start(&f, true);
        f.job_unit = UNIT;
        f.job_type = "stop";
        assert_int_equal(ask(&f, 60 * 1000000ULL), 0);
        fake_stop(&f);
        fake_start(&f, true); /* `systemctl kill`: no job at all */
        assert_int_equal(ask(&f, 60 * 1000000ULL), 0);
        fake_stop(&f);
        fake_start(&f, true); /* another unit restarts, not ours */
        f.job_unit = "nginx.service";
        f.job_type = "restart";
        assert_int_equal(ask(&f, 60 * 1000000ULL), 0);
        fake_stop(&f);
}

/* A manager that never answers (not even the authentication): -ETIMEDOUT after the question's
 * own timeout, read by corrald as a stop; the loop ran other sources meanwhile. */
static void test_no_answer_times_out(void **state) {
        fake f;

        fake_start(&f, false);
        assert_int_equal(ask(&f, 300 * 1000ULL), -ETIMEDOUT);
        assert_true(f.ticks > 0);
        fake_stop(&f);
}

/* Nobody at the address: an error at once, and no answer follows. */
static void test_nobody_there(void **state) {
        systemd_job *j = NULL;
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(systemd_job_ask(e, "unix:path=/nonexistent/corral-test/private", UNIT, 1000000,
                                         on_answer, NULL, &j),
                         -ENOENT);
        assert_null(j);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_restart_job),
                cmocka_unit_test(test_stop_job_or_none),
                cmocka_unit_test(test_no_answer_times_out),
                cmocka_unit_test(test_nobody_there),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
