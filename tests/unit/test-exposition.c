/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-exposition.c: the Prometheus and OpenMetrics writer (escaping, families, suffixes), the HTTP
 * request parser of --metrics-listen, and corrald's exposition over a registry on a fake supervisor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake-supervisor.h"
#include "http.h"
#include "metrics.h"
#include "prom.h"
#include "registry.h"

static char *render(prom_format fmt, void (*fill)(prom *p)) {
        char *s = NULL;
        size_t n = 0;
        prom p;

        assert_int_equal(prom_begin(&p, fmt), 0);
        fill(&p);
        assert_int_equal(prom_end(&p, &s, &n), 0);
        assert_int_equal(strlen(s), n);
        return s;
}

static void fill_counter(prom *p) {
        prom_family(p, "x_restarts", PROM_COUNTER, "Restarts \\ of\nx \"quoted\".");
        prom_sample(p, 3, (const char *const[]){ "backend", "a\"b\\c\nd", "level", "info", NULL });
        prom_sample(p, 0, NULL);
        prom_family(p, "x_build", PROM_INFO, "Version.");
        prom_sample(p, 1, (const char *const[]){ "version", "1.0", NULL });
        prom_family(p, "x_seconds", PROM_GAUGE, "Time.");
        prom_sample_usec(p, 1795920507000042ULL, NULL);
        prom_sample_int(p, -1, (const char *const[]){ "k", "v", NULL });
}

static void test_text_format(void **state) {
        char *s = render(PROM_FORMAT_TEXT, fill_counter);

        assert_string_equal(s,
                            "# HELP x_restarts_total Restarts \\\\ of\\nx \"quoted\".\n"
                            "# TYPE x_restarts_total counter\n"
                            "x_restarts_total{backend=\"a\\\"b\\\\c\\nd\",level=\"info\"} 3\n"
                            "x_restarts_total 0\n"
                            "# HELP x_build_info Version.\n"
                            "# TYPE x_build_info gauge\n"
                            "x_build_info{version=\"1.0\"} 1\n"
                            "# HELP x_seconds Time.\n"
                            "# TYPE x_seconds gauge\n"
                            "x_seconds 1795920507.000042\n"
                            "x_seconds{k=\"v\"} -1\n");
        free(s);
}

static void test_openmetrics_format(void **state) {
        char *s = render(PROM_FORMAT_OPENMETRICS, fill_counter);

        assert_string_equal(s,
                            "# HELP x_restarts Restarts \\\\ of\\nx \\\"quoted\\\".\n"
                            "# TYPE x_restarts counter\n"
                            "x_restarts_total{backend=\"a\\\"b\\\\c\\nd\",level=\"info\"} 3\n"
                            "x_restarts_total 0\n"
                            "# HELP x_build Version.\n"
                            "# TYPE x_build info\n"
                            "x_build_info{version=\"1.0\"} 1\n"
                            "# HELP x_seconds Time.\n"
                            "# TYPE x_seconds gauge\n"
                            "x_seconds 1795920507.000042\n"
                            "x_seconds{k=\"v\"} -1\n"
                            "# EOF\n");
        free(s);
}

static void test_accept(void **state) {
        assert_int_equal(prom_format_from_accept(NULL), PROM_FORMAT_TEXT);
        assert_int_equal(prom_format_from_accept("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                         PROM_FORMAT_TEXT);
        assert_int_equal(
                prom_format_from_accept("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
                PROM_FORMAT_OPENMETRICS);
}

static int parse(const char *req, const char **accept, bool *head) {
        static char buf[1024];

        (void) snprintf(buf, sizeof(buf), "%s", req);
        return http_parse_request(buf, strlen(buf), accept, head);
}

static void test_http_requests(void **state) {
        const char *accept;
        bool head;

        assert_int_equal(
                parse("GET /metrics HTTP/1.1\r\nHost: x\r\naccept: application/openmetrics-text\r\n\r\n",
                      &accept, &head),
                200);
        assert_string_equal(accept, "application/openmetrics-text");
        assert_false(head);
        assert_int_equal(parse("GET /metrics?x=1 HTTP/1.0\n\n", &accept, &head), 200);
        assert_null(accept);
        assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\n\r\n", &accept, &head), 200);
        assert_true(head);
        assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &accept, &head), 405);
        assert_int_equal(parse("DELETE /metrics HTTP/1.1\r\n\r\n", &accept, &head), 405);
        assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &accept, &head), 404);
        assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &accept, &head), 404);
        assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &accept, &head), 505);
        assert_int_equal(parse("GET /metrics\r\n\r\n", &accept, &head), 400);
        assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &accept, &head), 400);
        assert_int_equal(parse("garbage\r\n\r\n", &accept, &head), 400);
}

/* --- corrald's exposition over the registry --- */

typedef struct fixture {
        fake_supervisor fake;
        sd_event *event;
        registry *registry;
        metrics m;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        fake_init(&f->fake);
        assert_int_equal(sd_event_new(&f->event), 0);
        f->fake.stop_at_once = true;
        assert_int_equal(registry_new(f->event, &fake_ops, &f->fake, &f->registry), 0);
        f->m = METRICS_INIT;
        assert_int_equal(metrics_attach(&f->m, f->event, f->registry, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        metrics_done(&f->m);
        registry_free(f->registry);
        fake_done(&f->fake);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void ignore(const registry_result *res, void *userdata) {
}

static void start(fixture *f, const char *name) {
        corral_spec *s;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, name), 0);
        assert_int_equal(corral_spec_set_argv(s, (char *[]){ "true", NULL }), 0);
        assert_null(registry_start(f->registry, s, false, ignore, NULL));
}

static void test_exposition(void **state) {
        fixture *f = *state;
        registry_caller who = { .uid = 0, .pid = 1 };
        char *s = NULL;
        size_t n;

        start(f, "web");
        start(f, "db.x@1");
        for (int i = 0; i < 3; i++)
                assert_null(registry_restart(f->registry, &who, "web", false, ignore, NULL));
        assert_null(registry_stop(f->registry, &who, "db.x@1", 0, ignore, NULL));
        assert_int_equal(metrics_render(&f->m, PROM_FORMAT_TEXT, true, &s, &n), 0);
        assert_non_null(strstr(s, "\ncorral_backends 2\n"));
        assert_non_null(strstr(s, "\ncorral_backend_restarts_total{backend=\"web\"} 3\n"));
        assert_non_null(strstr(s, "\ncorral_backend_restarts_total{backend=\"db.x@1\"} 0\n"));
        assert_non_null(strstr(s, "\ncorral_backend_state{backend=\"web\",state=\"running\"} 1\n"));
        assert_non_null(strstr(s, "\ncorral_backend_state{backend=\"db.x@1\",state=\"gone\"} 1\n"));
        assert_non_null(strstr(s, "\ncorral_backend_up{backend=\"db.x@1\"} 0\n"));
        assert_non_null(strstr(s, "\ncorral_backend_ready{backend=\"web\"} 1\n"));
        assert_non_null(strstr(s, "\ncorral_events_total{event=\"started\"} 5\n"));
        assert_non_null(strstr(s, "\ncorral_events_total{event=\"stopped\"} 4\n"));
        assert_non_null(strstr(s, "\ncorral_backend_processes{backend=\"web\"} 1\n"));
        assert_null(strstr(s, "corral_backend_processes{backend=\"db"));
        assert_non_null(strstr(s, "corral_build_info{version=\"" CORRAL_VERSION "\"} 1\n"));
        free(s);
        /* Without usage (the textfile): no series read from cgroupfs. */
        assert_int_equal(metrics_render(&f->m, PROM_FORMAT_OPENMETRICS, false, &s, &n), 0);
        assert_null(strstr(s, "corral_backend_processes"));
        assert_null(strstr(s, "corral_backend_memory_bytes"));
        assert_non_null(strstr(s, "# TYPE corral_backend_restarts counter\n"));
        assert_int_equal(strcmp(s + n - 6, "# EOF\n"), 0);
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_format),
                cmocka_unit_test(test_openmetrics_format),
                cmocka_unit_test(test_accept),
                cmocka_unit_test(test_http_requests),
                cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
