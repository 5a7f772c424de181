/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics.c: corrald's metrics (the backends' and its own) as a Prometheus exposition, and the
 * textfile kept for node_exporter. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon-log.h"
#include "macro.h"
#include "metrics.h"
#include "safepath.h"

/* The labels of a backend: backend, and definition where a file declares it. */
typedef struct labels {
        const char *v[8];
} labels;

static labels labels_of(const registry_backend_metrics *b, const char *k, const char *v, const char *k2,
                        const char *v2) {
        labels l = { { "backend", b->name } };
        size_t n = 2;

        if (b->definition) {
                l.v[n++] = "definition";
                l.v[n++] = b->definition;
        }
        if (k) {
                l.v[n++] = k;
                l.v[n++] = v;
        }
        if (k2) {
                l.v[n++] = k2;
                l.v[n++] = v2;
        }
        return l;
}

#define L(b)                  (labels_of((b), NULL, NULL, NULL, NULL).v)
#define L1(b, k1, x1)         (labels_of((b), (k1), (x1), NULL, NULL).v)
#define L2(b, k1, x1, k2, x2) (labels_of((b), (k1), (x1), (k2), (x2)).v)

/* One family across every backend: the registry is walked once per family, as the format wants
 * each family's samples together. */
typedef struct family {
        prom *p;
        void (*sample)(prom *p, const registry_backend_metrics *b);
} family;

static void family_each(const registry_backend_metrics *b, void *userdata) {
        family *f = userdata;

        f->sample(f->p, b);
}

static bool state_up(corral_state s) {
        return s == CORRAL_STATE_STARTING || s == CORRAL_STATE_RUNNING || s == CORRAL_STATE_STOPPING;
}

static void s_up(prom *p, const registry_backend_metrics *b) {
        prom_sample(p, state_up(b->state), L(b));
}

static void s_state(prom *p, const registry_backend_metrics *b) {
        for (corral_state s = 0; corral_state_to_string(s); s++)
                prom_sample(p, b->state == s, L1(b, "state", corral_state_to_string(s)));
}

static void s_ready(prom *p, const registry_backend_metrics *b) {
        prom_sample(p, b->state == CORRAL_STATE_RUNNING, L(b));
}

static void s_restarts(prom *p, const registry_backend_metrics *b) {
        prom_sample(p, b->counters.c.restarts, L(b));
}

/* Only the (verdict, level) pairs it had: most never happen to most backends. */
static void s_verdicts(prom *p, const registry_backend_metrics *b) {
        for (int t = 0; t < _CORRAL_EVENT_MAX; t++)
                for (int l = 0; l < REGISTRY_LEVELS; l++)
                        if (b->counters.verdicts[t][l] > 0)
                                prom_sample(p, b->counters.verdicts[t][l],
                                            L2(b, "verdict", corral_event_type_to_string(t), "level",
                                               corral_level_to_string(l)));
}

static void s_oom(prom *p, const registry_backend_metrics *b) {
        prom_sample(p, b->counters.c.oom_kills, L(b));
}

static void s_start_time(prom *p, const registry_backend_metrics *b) {
        if (b->counters.c.start_usec > 0)
                prom_sample_usec(p, b->counters.c.start_usec, L(b));
}

static void s_last_exit(prom *p, const registry_backend_metrics *b) {
        if (b->counted && b->counters.c.last_exit >= 0)
                prom_sample_int(p, b->counters.c.last_exit, L(b));
}

static void s_cpu(prom *p, const registry_backend_metrics *b) {
        if (b->cpu_usec != UINT64_MAX)
                prom_sample_usec(p, b->cpu_usec, L(b));
}

static void s_memory(prom *p, const registry_backend_metrics *b) {
        if (b->memory_bytes != UINT64_MAX)
                prom_sample(p, b->memory_bytes, L(b));
}

static void s_processes(prom *p, const registry_backend_metrics *b) {
        if (b->processes >= 0)
                prom_sample(p, (uint64_t) b->processes, L(b));
}

typedef struct family_def {
        const char *name;
        prom_type type;
        bool usage; /* read from cgroupfs: not in the textfile */
        void (*sample)(prom *p, const registry_backend_metrics *b);
        const char *help;
} family_def;

static const family_def backend_families[] = {
        { "corral_backend_up", PROM_GAUGE, false, s_up,
          "Whether the backend's main process lives (starting, running or stopping)." },
        { "corral_backend_state", PROM_GAUGE, false, s_state,
          "The backend's state: 1 for the state it is in, 0 for the others." },
        { "corral_backend_ready", PROM_GAUGE, false, s_ready,
          "Whether the backend is ready (running: it reported readiness, or was asked none)." },
        { "corral_backend_restarts", PROM_COUNTER, false, s_restarts,
          "Launches of the backend made by its restart policy or asked as a restart." },
        { "corral_backend_verdicts", PROM_COUNTER, false, s_verdicts,
          "How the backend's launches ended, by verdict and level." },
        { "corral_backend_oom_kills", PROM_COUNTER, false, s_oom,
          "Processes of the backend the OOM killer killed." },
        { "corral_backend_start_time_seconds", PROM_GAUGE, false, s_start_time,
          "When the backend's current or last launch started, in seconds since the epoch." },
        { "corral_backend_last_exit_code", PROM_GAUGE, false, s_last_exit,
          "How the backend's last launch ended: its exit code, or 128+N if signal N killed it." },
        { "corral_backend_cpu_seconds", PROM_COUNTER, true, s_cpu,
          "CPU time used by the backend's cgroup in its current launch (cpu.stat usage_usec)." },
        { "corral_backend_memory_bytes", PROM_GAUGE, true, s_memory,
          "Memory used by the backend's cgroup (memory.current, or the v1 group's usage)." },
        { "corral_backend_processes", PROM_GAUGE, true, s_processes,
          "Processes in the backend's cgroup (cgroup.procs)." },
};

static void render_daemon(metrics *m, prom *p, bool usage) {
        prom_family(p, "corral_build", PROM_INFO, "corrald's version.");
        prom_sample(p, 1, (const char *const[]){ "version", CORRAL_VERSION, NULL });
        prom_family(p, "corral_backends", PROM_GAUGE, "Backends corrald knows, gone ones included.");
        prom_sample(p, registry_count(m->registry), NULL);
        if (usage) { /* changes with no event: not in the textfile */
                prom_family(p, "corral_clients", PROM_GAUGE,
                            "Connections open on corrald's control socket.");
                prom_sample(p, m->server ? server_count_connections(m->server) : 0, NULL);
        }
        prom_family(p, "corral_events", PROM_COUNTER, "Lifecycle events of every backend, by type.");
        for (int t = 0; t < _CORRAL_EVENT_MAX; t++)
                prom_sample(p, m->events[t],
                            (const char *const[]){ "event", corral_event_type_to_string(t), NULL });
}

int metrics_render(metrics *m, prom_format format, bool usage, char **ret, size_t *ret_size) {
        prom p;

        if (prom_begin(&p, format) < 0)
                return -ENOMEM;
        render_daemon(m, &p, usage);
        for (size_t i = 0; i < ELEMENTSOF(backend_families); i++) {
                const family_def *d = &backend_families[i];
                family f = { .p = &p, .sample = d->sample };
                if (d->usage && !usage)
                        continue;
                prom_family(&p, d->name, d->type, d->help);
                registry_foreach_metrics(m->registry, d->usage, family_each, &f);
        }
        return prom_end(&p, ret, ret_size);
}

/* --- The textfile: written after a change, from the loop, once however many changes came. --- */

static void textfile_write(metrics *m) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        ssize_t n;

        if (metrics_render(m, PROM_FORMAT_TEXT, false, &text, &size) < 0 ||
            asprintf(&tmp, ".%s.tmp", m->textfile_name) < 0) {
                daemon_log(LOG_WARNING, "metrics textfile %s: out of memory", m->textfile_name);
                return;
        }
        (void) unlinkat(m->textfile_dir_fd, tmp, 0);
        fd = openat(m->textfile_dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        n = fd < 0 ? -1 : write(fd, text, size);
        if (n != (ssize_t) size ||
            renameat(m->textfile_dir_fd, tmp, m->textfile_dir_fd, m->textfile_name) < 0) {
                daemon_log(LOG_WARNING, "cannot write metrics textfile %s: %m", m->textfile_name);
                if (fd >= 0)
                        (void) unlinkat(m->textfile_dir_fd, tmp, 0);
        }
}

static int textfile_on_defer(sd_event_source *s, void *userdata) {
        metrics *m = userdata;

        m->textfile_defer = sd_event_source_disable_unref(m->textfile_defer);
        textfile_write(m);
        return 0;
}

/* Something changed: the file is written on this turn of the loop's end, once. */
static void metrics_changed(metrics *m) {
        if (m->textfile_dir_fd < 0 || m->textfile_defer)
                return;
        if (sd_event_add_defer(m->event, &m->textfile_defer, textfile_on_defer, m) < 0)
                m->textfile_defer = NULL;
}

static void metrics_on_event(const corral_event *ev, json_t *json, void *userdata) {
        metrics *m = userdata;

        if ((unsigned) ev->type < _CORRAL_EVENT_MAX)
                m->events[ev->type]++;
        metrics_changed(m);
}

static void metrics_on_status(unsigned running, bool shutting_down, void *userdata) {
        metrics_changed(userdata);
}

int metrics_attach(metrics *m, sd_event *e, registry *r, server *s) {
        m->event = e;
        m->registry = r;
        m->server = s;
        return registry_observe(r,
                                &(registry_observer){ .event = metrics_on_event,
                                                      .status = metrics_on_status,
                                                      .userdata = m });
}

int metrics_set_textfile(metrics *m, const char *path, char **ret_problem) {
        _cleanup_free_ char *d = strdup(path ?: ""), *b = strdup(path ?: "");
        const char *base;
        int fd;

        *ret_problem = NULL;
        if (!d || !b)
                return -ENOMEM;
        base = basename(b);
        if (!path || path[0] != '/' || !base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
            strcmp(base, "/") == 0)
                return -EINVAL;
        fd = safepath_open_dir(dirname(d), 0, ret_problem);
        if (fd < 0)
                return fd;
        safe_close(m->textfile_dir_fd);
        m->textfile_dir_fd = fd;
        free(m->textfile_name);
        m->textfile_name = strdup(base);
        if (!m->textfile_name)
                return -ENOMEM;
        metrics_changed(m);
        return 0;
}

void metrics_done(metrics *m) {
        if (m->textfile_defer) /* a change the loop ended before writing (the last stops): written */
                textfile_write(m);
        m->textfile_defer = sd_event_source_disable_unref(m->textfile_defer);
        m->textfile_dir_fd = safe_close(m->textfile_dir_fd);
        m->textfile_name = mfree(m->textfile_name);
}
