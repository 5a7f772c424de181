/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* prom.c: metrics written out in the Prometheus text exposition format (0.0.4) or in OpenMetrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

int prom_begin(prom *p, prom_format format) {
        *p = (prom){ .format = format };
        p->f = open_memstream(&p->buf, &p->size);
        return p->f ? 0 : -ENOMEM;
}

/* HELP text: \ and newline escaped (both formats); OpenMetrics escapes " as well. */
static void prom_help(prom *p, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", p->f);
                else if (*s == '\n')
                        fputs("\\n", p->f);
                else if (*s == '"' && p->format == PROM_FORMAT_OPENMETRICS)
                        fputs("\\\"", p->f);
                else
                        fputc(*s, p->f);
        }
}

static const char *prom_suffix(const prom *p) {
        if (p->type == PROM_COUNTER)
                return "_total";
        if (p->type == PROM_INFO)
                return "_info";
        return "";
}

void prom_family(prom *p, const char *name, prom_type type, const char *help) {
        static const char *const text_types[] = { "gauge", "counter", "gauge" };
        static const char *const om_types[] = { "gauge", "counter", "info" };
        bool om = p->format == PROM_FORMAT_OPENMETRICS;

        p->family = name;
        p->type = type;
        /* The text format names the family as its samples are named; OpenMetrics without the suffix. */
        fprintf(p->f, "# HELP %s%s ", name, om ? "" : prom_suffix(p));
        prom_help(p, help);
        fprintf(p->f, "\n# TYPE %s%s %s\n", name, om ? "" : prom_suffix(p),
                (om ? om_types : text_types)[type]);
}

/* A label value: \, " and newline escaped, as both formats say. */
static void prom_label_value(prom *p, const char *s) {
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(p->f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", p->f);
                else
                        fputc(*s, p->f);
        }
}

static void prom_name(prom *p, const char *const *labels) {
        fprintf(p->f, "%s%s", p->family, prom_suffix(p));
        if (!labels || !labels[0])
                return;
        fputc('{', p->f);
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
                fprintf(p->f, "%s%s=\"", i ? "," : "", labels[i]);
                prom_label_value(p, labels[i + 1]);
                fputc('"', p->f);
        }
        fputc('}', p->f);
}

void prom_sample(prom *p, uint64_t value, const char *const *labels) {
        prom_name(p, labels);
        fprintf(p->f, " %" PRIu64 "\n", value);
}

void prom_sample_int(prom *p, int64_t value, const char *const *labels) {
        prom_name(p, labels);
        fprintf(p->f, " %" PRId64 "\n", value);
}

void prom_sample_usec(prom *p, uint64_t usec, const char *const *labels) {
        prom_name(p, labels);
        fprintf(p->f, " %" PRIu64 ".%06" PRIu64 "\n", usec / 1000000, usec % 1000000);
}

int prom_end(prom *p, char **ret, size_t *ret_size) {
        if (p->format == PROM_FORMAT_OPENMETRICS)
                fputs("# EOF\n", p->f);
        if (fclose(p->f) != 0 || !p->buf) {
                free(p->buf);
                *p = (prom){};
                return -ENOMEM;
        }
        *ret = p->buf;
        *ret_size = p->size;
        *p = (prom){};
        return 0;
}

prom_format prom_format_from_accept(const char *accept) {
        return accept && strstr(accept, "application/openmetrics-text") ? PROM_FORMAT_OPENMETRICS
                                                                        : PROM_FORMAT_TEXT;
}
