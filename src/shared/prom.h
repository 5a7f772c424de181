/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* prom.h: metrics written out in the Prometheus text exposition format (0.0.4) or in OpenMetrics. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum prom_format {
        PROM_FORMAT_TEXT,        /* text/plain; version=0.0.4 */
        PROM_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
} prom_format;

typedef enum prom_type {
        PROM_GAUGE,
        PROM_COUNTER, /* the family is named without _total; its samples with it */
        PROM_INFO,    /* a gauge of 1 in the text format; OpenMetrics' info: samples end in _info */
} prom_type;

/* A writer: families, each with its samples, into a memory buffer. */
typedef struct prom {
        FILE *f;
        char *buf;
        size_t size;
        prom_format format;
        prom_type type;
        const char *family;
} prom;

#define PROM_CONTENT_TYPE_TEXT        "text/plain; version=0.0.4; charset=utf-8"
#define PROM_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

int prom_begin(prom *p, prom_format format);
/* A family: its name (for a counter without _total, for an info without _info) and help line. */
void prom_family(prom *p, const char *name, prom_type type, const char *help);
/* A sample of the current family; labels are name, value pairs ended by NULL (values any bytes:
 * escaped). */
void prom_sample(prom *p, uint64_t value, const char *const *labels);
/* A sample in seconds, from microseconds, exact. */
void prom_sample_usec(prom *p, uint64_t usec, const char *const *labels);
void prom_sample_int(prom *p, int64_t value, const char *const *labels);
/* The exposition, malloc'ed and NUL-terminated (OpenMetrics ends with "# EOF"), or -ENOMEM. */
int prom_end(prom *p, char **ret, size_t *ret_size);
/* What a reader asked for in its Accept header: OpenMetrics if it names it. */
prom_format prom_format_from_accept(const char *accept);
