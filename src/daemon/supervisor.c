/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* supervisor.c: the registry's supervisor in corrald: libcorral, as registry_ops on a corral. */
#include <errno.h>
#include <stdlib.h>

#include "supervisor.h"

#define B(b) supervisor_backend(b)

static void sv_set_event_handler(void *sup, corral_event_handler_t handler, void *userdata) {
        corral_set_event_handler(sup, handler, userdata);
}

static int sv_spawn(void *sup, const corral_spec *spec, registry_backend *prev, bool restart,
                    registry_backend **ret) {
        corral_backend *b;
        int r = corral_spawn_after(sup, spec, prev ? B(prev) : NULL, restart, &b);

        if (r >= 0)
                *ret = (registry_backend *) b;
        return r;
}

static int sv_reload(registry_backend *b, uid_t uid, pid_t pid) {
        return corral_backend_reload_by(B(b), uid, pid);
}

static int sv_stop(registry_backend *b, uint64_t grace_usec, uid_t uid, pid_t pid, const char *cause) {
        return corral_stop_because(B(b), grace_usec, uid, pid, cause);
}

static int sv_stop_all(void *sup, uint64_t grace_usec, uid_t uid, pid_t pid) {
        return corral_stop_all_by(sup, grace_usec, uid, pid);
}

static int sv_kill(registry_backend *b, int sig, corral_kill_whom whom, uid_t uid, pid_t pid) {
        return corral_backend_kill_by(B(b), sig, whom, uid, pid);
}

/* The array is copied, not cast: its elements are of another type. */
static int sv_adopt(void *sup, registry_backend ***ret, size_t *ret_n) {
        corral_backend **v = NULL;
        registry_backend **w;
        size_t n = 0;
        int r = corral_adopt(sup, &v, &n);

        if (r < 0)
                return r;
        w = calloc(n ?: 1, sizeof(*w));
        for (size_t i = 0; i < n; i++) {
                if (w) {
                        w[i] = (registry_backend *) v[i];
                        continue;
                }
                (void) corral_stop(v[i], 0); /* out of memory: killed, as one the registry cannot keep */
                corral_backend_unref(v[i]);
        }
        free(v);
        if (!w)
                return -ENOMEM;
        *ret = w;
        *ret_n = n;
        return r;
}

static unsigned sv_count(void *sup) {
        return corral_count(sup);
}

static registry_backend *sv_ref(registry_backend *b) {
        return (registry_backend *) corral_backend_ref(B(b));
}

static registry_backend *sv_unref(registry_backend *b) {
        return (registry_backend *) corral_backend_unref(B(b));
}

static const corral_spec *sv_spec(registry_backend *b) {
        return corral_backend_get_spec(B(b));
}

static void sv_info(registry_backend *b, registry_backend_info *ret) {
        unsigned failures;
        corral_health health = corral_backend_get_health(B(b), &failures);
        int ready = corral_backend_get_ready(B(b));

        *ret = (registry_backend_info){
                .launch = corral_backend_get_launch(B(b)),
                .cgroup = corral_backend_get_cgroup(B(b)),
                .state = corral_backend_get_state(B(b)),
                .pid = corral_backend_get_pid(B(b)),
                .restarts = corral_backend_get_restarts(B(b)),
                .next_restart_usec = corral_backend_get_next_restart(B(b)),
                .status_text = corral_backend_get_status_text(B(b)),
                .health = health,
                .health_failures = failures,
                .start_usec = corral_backend_get_start_time(B(b)),
                .ready = ready < 0 ? -1 : ready,
        };
}

static int sv_usage(registry_backend *b, uint64_t *ret_memory_bytes, uint64_t *ret_cpu_usec) {
        return corral_backend_get_usage(B(b), ret_memory_bytes, ret_cpu_usec);
}

static int sv_read_output(registry_backend *b, unsigned lines, uint64_t since_usec, corral_output_line **ret,
                          size_t *ret_n) {
        return corral_backend_read_output_lines(B(b), lines, since_usec, ret, ret_n);
}

static void sv_counters(registry_backend *b, registry_counters *ret) {
        *ret = (registry_counters){};
        (void) corral_backend_get_counters(B(b), &ret->c);
        for (int t = 0; t < _CORRAL_EVENT_MAX; t++)
                for (int l = 0; l < REGISTRY_LEVELS; l++)
                        ret->verdicts[t][l] = corral_backend_get_verdicts(B(b), t, l);
}

static int sv_processes(registry_backend *b) {
        return corral_backend_get_processes(B(b));
}

const registry_ops supervisor_ops = {
        .set_event_handler = sv_set_event_handler,
        .spawn = sv_spawn,
        .stop = sv_stop,
        .stop_all = sv_stop_all,
        .kill = sv_kill,
        .adopt = sv_adopt,
        .count = sv_count,
        .ref = sv_ref,
        .unref = sv_unref,
        .spec = sv_spec,
        .info = sv_info,
        .usage = sv_usage,
        .read_output = sv_read_output,
        .counters = sv_counters,
        .processes = sv_processes,
        .reload = sv_reload,
};
