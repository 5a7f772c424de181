/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-http.c: what hostile clients and backends reach of the metrics and the text log: an HTTP
 * request to --metrics-listen, a label value, and a message and stderr in the line a person reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "http.h"
#include "prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *data, size_t size) {
        char *buf = malloc(size + 1);
        const char *accept;
        bool head;
        int code;

        if (!buf)
                return;
        memcpy(buf, data, size);
        buf[size] = '\0'; /* as the server keeps its buffer */
        code = http_parse_request(buf, size, &accept, &head);
        if (code != 200 && code != 400 && code != 404 && code != 405 && code != 505)
                abort();
        if (accept && (accept < buf || accept > buf + size || code != 200))
                abort();
        free(buf);
}

/* A label value of any bytes stays in its sample's one line. */
static void check_label(const char *s) {
        char *out = NULL;
        size_t n = 0, lines = 0;
        prom p;

        if (prom_begin(&p, PROM_FORMAT_TEXT) < 0)
                return;
        prom_family(&p, "x", PROM_GAUGE, s);
        prom_sample(&p, 1, (const char *const[]){ "backend", s, NULL });
        if (prom_end(&p, &out, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                lines += out[i] == '\n';
        if (lines != 3)
                abort();
        free(out);
}

/* The text line: one line, and one more per line of stderr; no control character but those
 * newlines (no terminal escape) reaches the terminal. */
static void check_text(const char *s) {
        corral_event ev = { .type = CORRAL_EVENT_EXITED,
                            .level = CORRAL_LEVEL_WARNING,
                            .backend = "b",
                            .how = CORRAL_HOW_EXITED,
                            .message = s,
                            .stderr_tail = s };
        size_t want = 0, got = 0;
        char *out = NULL;

        for (const char *p = s; *p; p++) /* the tail's lines: split at each newline, a last one without */
                want += *p == '\n' && p[1];
        want += *s != '\0';
        if (evlog_format_event(&ev, EVLOG_FORMAT_TEXT, &out) < 0)
                return;
        for (const char *p = out; *p; p++) {
                if ((unsigned char) *p < ' ' && *p != '\n')
                        abort();
                if (*p == 0x7f)
                        abort();
                got += *p == '\n';
        }
        if (got != want)
                abort();
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        check_request(data, size);
        memcpy(s, data, size);
        s[size] = '\0';
        check_label(s);
        check_text(s);
        free(s);
        return 0;
}
