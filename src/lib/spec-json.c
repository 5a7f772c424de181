/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-json.c: a spec as JSON and back, to keep it with the backend's leaf (re-adoption). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "corral-private.h"
#include "macro.h"
#include "spec-json.h"
#include "strv.h"
#include "utf8.h"

typedef enum field_type {
        F_U64,
        F_INT,
        F_BOOL,
        F_UNSIGNED
} field_type;

/* The scalars, by offset; UINT64_MAX (no limit) is -1 in JSON, whose integers are signed. */
static const struct {
        const char *key;
        size_t offset;
        field_type type;
} scalars[] = {
        { "type", offsetof(corral_spec, type), F_INT },
        { "stopSignal", offsetof(corral_spec, stop_signal), F_INT },
        { "grace", offsetof(corral_spec, grace_usec), F_U64 },
        { "killMode", offsetof(corral_spec, kill_mode), F_INT },
        { "envExtend", offsetof(corral_spec, env_extend), F_BOOL },
        { "noNewPrivs", offsetof(corral_spec, no_new_privs), F_BOOL },
        { "umask", offsetof(corral_spec, umask), F_INT },
        { "restart", offsetof(corral_spec, restart.policy), F_INT },
        { "restartInitial", offsetof(corral_spec, restart.initial_usec), F_U64 },
        { "restartMax", offsetof(corral_spec, restart.max_usec), F_U64 },
        { "restartReset", offsetof(corral_spec, restart.reset_usec), F_U64 },
        { "restartFactor", offsetof(corral_spec, restart.factor), F_UNSIGNED },
        { "restartBurst", offsetof(corral_spec, restart.limit_burst), F_UNSIGNED },
        { "restartInterval", offsetof(corral_spec, restart.limit_interval_usec), F_U64 },
        { "ready", offsetof(corral_spec, ready), F_INT },
        { "startTimeout", offsetof(corral_spec, start_timeout_usec), F_U64 },
        { "watchdog", offsetof(corral_spec, watchdog_usec), F_U64 },
        { "healthInterval", offsetof(corral_spec, health_interval_usec), F_U64 },
        { "healthTimeout", offsetof(corral_spec, health_timeout_usec), F_U64 },
        { "healthFailures", offsetof(corral_spec, health_failures), F_UNSIGNED },
        { "memoryMax", offsetof(corral_spec, limits.memory_max), F_U64 },
        { "pidsMax", offsetof(corral_spec, limits.pids_max), F_U64 },
        { "cpuQuota", offsetof(corral_spec, limits.cpu_quota_usec), F_U64 },
        { "cpuPeriod", offsetof(corral_spec, limits.cpu_period_usec), F_U64 },
        { "cpuWeight", offsetof(corral_spec, limits.cpu_weight), F_U64 },
        { "output", offsetof(corral_spec, output), F_INT },
        { "logBuffer", offsetof(corral_spec, log_buffer), F_U64 },
        { "logFileMax", offsetof(corral_spec, log_file_max), F_U64 },
        { "logFileKeep", offsetof(corral_spec, log_file_keep), F_UNSIGNED },
        { "logJournal", offsetof(corral_spec, log_journal), F_BOOL },
        { "reloadSignal", offsetof(corral_spec, reload_signal), F_INT },
};

/* The lists of lines, by offset; absent or null: none. */
static const struct {
        const char *key;
        size_t offset;
} lists[] = {
        { "execStartPre", offsetof(corral_spec, exec_start_pre) },
        { "execStopPost", offsetof(corral_spec, exec_stop_post) },
        { "execReload", offsetof(corral_spec, exec_reload) },
        { "environmentFiles", offsetof(corral_spec, env_files) },
};

static char **const *list_at(const corral_spec *s, size_t i) {
        return (char **const *) ((const char *) s + lists[i].offset);
}

static json_t *scalar_to_json(const corral_spec *s, size_t i) {
        const char *p = (const char *) s + scalars[i].offset;
        uint64_t u;

        switch (scalars[i].type) {
        case F_U64:
                memcpy(&u, p, sizeof(u));
                return json_integer(u == UINT64_MAX ? -1 : (json_int_t) u);
        case F_INT:
                return json_integer(*(const int *) p);
        case F_UNSIGNED:
                return json_integer(*(const unsigned *) p);
        case F_BOOL:
                return json_boolean(*(const bool *) p);
        }
        return NULL;
}

static int scalar_from_json(corral_spec *s, size_t i, json_t *v) {
        char *p = (char *) s + scalars[i].offset;
        json_int_t n = json_integer_value(v);
        uint64_t u;

        if (scalars[i].type == F_BOOL) {
                if (!json_is_boolean(v))
                        return -EINVAL;
                *(bool *) p = json_is_true(v);
                return 0;
        }
        if (!json_is_integer(v))
                return -EINVAL;
        switch (scalars[i].type) {
        case F_U64:
                u = n == -1 ? UINT64_MAX : (uint64_t) n;
                memcpy(p, &u, sizeof(u));
                return 0;
        case F_INT:
                *(int *) p = (int) n;
                return 0;
        default:
                *(unsigned *) p = (unsigned) n;
                return 0;
        }
}

static json_t *strv_to_json(char *const *v) {
        json_t *a = json_array();

        for (; a && v && *v; v++)
                if (json_array_append_new(a, json_string(*v)) < 0)
                        return json_decref(a), NULL;
        return a;
}

/* A NULL-terminated array borrowing the JSON strings; free() it only. */
static char **strv_from_json(json_t *a) {
        char **v;
        json_t *e;
        size_t i;

        if (!json_is_array(a))
                return NULL;
        v = calloc(json_array_size(a) + 1, sizeof(char *));
        json_array_foreach(a, i, e) if (v) v[i] = (char *) json_string_value(e);
        for (i = 0; v && i < json_array_size(a); i++)
                if (!v[i])
                        return mfree(v);
        return v;
}

static json_t *ready_tcp_to_json(const corral_spec *s) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) &s->ready_check.addr;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &s->ready_check.addr;
        char host[INET6_ADDRSTRLEN];

        if (s->ready != CORRAL_READY_TCP)
                return json_null();
        if (in->sin_family == AF_INET && inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
                return json_pack("{s:s, s:i}", "host", host, "port", ntohs(in->sin_port));
        if (in6->sin6_family == AF_INET6 && inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
                return json_pack("{s:s, s:i}", "host", host, "port", ntohs(in6->sin6_port));
        return json_null();
}

static json_t *rlimits_to_json(const corral_spec *s) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->n_rlimits; i++) {
                const struct rlimit *l = &s->rlimits[i].limit;
                json_array_append_new(
                        a,
                        json_pack("[i, I, I]", s->rlimits[i].resource,
                                  l->rlim_cur == RLIM_INFINITY ? -1 : (json_int_t) l->rlim_cur,
                                  l->rlim_max == RLIM_INFINITY ? -1 : (json_int_t) l->rlim_max));
        }
        return a;
}

static json_t *json_str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

static bool str_ok(const char *s) {
        return !s || utf8_is_valid(s, strlen(s));
}

static bool strv_ok(char *const *v) {
        for (; v && *v; v++)
                if (!str_ok(*v))
                        return false;
        return true;
}

int spec_to_json(const corral_spec *s, json_t **ret) {
        json_t *o;

        /* JSON strings are UTF-8: a spec with other bytes cannot be kept this way. */
        if (!str_ok(s->name) || !strv_ok(s->argv) || !strv_ok(s->envp) || !str_ok(s->cwd) ||
            !str_ok(s->user) || !str_ok(s->group) || !str_ok(s->log_file) || !str_ok(s->ready_check.text) ||
            !str_ok(s->health.text))
                return -EILSEQ;
        o = json_pack("{s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", s->name, "argv",
                      strv_to_json(s->argv), "env", s->envp ? strv_to_json(s->envp) : json_null(), "cwd",
                      json_str_or_null(s->cwd), "user", json_str_or_null(s->user), "group",
                      json_str_or_null(s->group), "logFile", json_str_or_null(s->log_file), "readyTcp",
                      ready_tcp_to_json(s), "rlimits", rlimits_to_json(s));
        if (o && s->ready_check.text &&
            json_object_set_new(o, "readyCheck", json_string(s->ready_check.text)) < 0)
                o = (json_decref(o), NULL);
        if (o && s->health.text && json_object_set_new(o, "healthCheck", json_string(s->health.text)) < 0)
                o = (json_decref(o), NULL);
        if (o && (sandbox_settings_any(&s->sandbox) || s->sandbox.syscall_errno) &&
            json_object_set_new(o, "sandbox", sandbox_settings_to_json(&s->sandbox)) < 0)
                o = (json_decref(o), NULL); /* none: no key, the record stays as small as it was */

        for (size_t i = 0; o && i < ELEMENTSOF(scalars); i++)
                if (json_object_set_new(o, scalars[i].key, scalar_to_json(s, i)) < 0)
                        o = (json_decref(o), NULL);
        for (size_t i = 0; o && i < ELEMENTSOF(lists); i++)
                if (*list_at(s, i) &&
                    (!strv_ok(*list_at(s, i)) ||
                     json_object_set_new(o, lists[i].key, strv_to_json(*list_at(s, i))) < 0))
                        o = (json_decref(o), NULL);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static int spec_from_json_strings(corral_spec *s, json_t *o) {
        _cleanup_free_ char **argv = strv_from_json(json_object_get(o, "argv"));
        _cleanup_free_ char **env = strv_from_json(json_object_get(o, "env"));
        json_t *tcp = json_object_get(o, "readyTcp"), *check = json_object_get(o, "readyCheck");
        int r = corral_spec_set_name(s, json_string_value(json_object_get(o, "name")));

        if (r >= 0)
                r = argv ? corral_spec_set_argv(s, argv) : -EINVAL;
        if (r >= 0 && env)
                r = corral_spec_set_environment(s, env);
        if (r >= 0)
                r = corral_spec_set_working_directory(s, json_string_value(json_object_get(o, "cwd")));
        if (r >= 0)
                r = corral_spec_set_user(s, json_string_value(json_object_get(o, "user")));
        if (r >= 0)
                r = corral_spec_set_group(s, json_string_value(json_object_get(o, "group")));
        if (r >= 0)
                r = corral_spec_set_log_file(s, json_string_value(json_object_get(o, "logFile")), 0);
        if (r >= 0 && json_is_string(check))
                r = corral_spec_set_ready_string(s, json_string_value(check), 0);
        else if (r >= 0 && json_is_object(tcp)) /* a record of a corral before readyCheck */
                r = corral_spec_set_ready_tcp(s, json_string_value(json_object_get(tcp, "host")),
                                              (unsigned) json_integer_value(json_object_get(tcp, "port")),
                                              0);
        if (r >= 0 && json_is_string(json_object_get(o, "healthCheck")))
                r = corral_spec_set_health_check(s, json_string_value(json_object_get(o, "healthCheck")));
        return r;
}

static int spec_from_json_rlimits(corral_spec *s, json_t *a) {
        json_t *e;
        size_t i;

        json_array_foreach(a, i, e) {
                json_int_t soft = json_integer_value(json_array_get(e, 1)),
                           hard = json_integer_value(json_array_get(e, 2));
                int r = corral_spec_set_rlimit(s, (int) json_integer_value(json_array_get(e, 0)),
                                               soft < 0 ? RLIM_INFINITY : (uint64_t) soft,
                                               hard < 0 ? RLIM_INFINITY : (uint64_t) hard);
                if (r < 0)
                        return r;
        }
        return 0;
}

int spec_from_json(json_t *o, corral_spec **ret) {
        corral_spec *s = NULL;
        int r = json_is_object(o) ? corral_spec_new(&s) : -EINVAL;

        if (r >= 0)
                r = spec_from_json_strings(s, o);
        if (r >= 0)
                r = spec_from_json_rlimits(s, json_object_get(o, "rlimits"));
        if (r >= 0)
                r = sandbox_settings_from_json(&s->sandbox, json_object_get(o, "sandbox"));
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(lists); i++) {
                json_t *v = json_object_get(o, lists[i].key);
                _cleanup_free_ char **items = v && !json_is_null(v) ? strv_from_json(v) : NULL;
                char ***dst = (char ***) ((char *) s + lists[i].offset);
                if (v && !json_is_null(v) && !items)
                        r = -EINVAL;
                else if (items)
                        r = strv_copy(items, dst);
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(scalars); i++) {
                json_t *v = json_object_get(o, scalars[i].key);
                if (v)
                        r = scalar_from_json(s, i, v);
        }
        if (r < 0) {
                corral_spec_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Two specs are equal when their JSON forms are: every setting is in it. */
bool corral_spec_equal(const corral_spec *a, const corral_spec *b) {
        json_t *ja = NULL, *jb = NULL;
        bool eq;

        if (!a || !b)
                return a == b;
        eq = spec_to_json(a, &ja) >= 0 && spec_to_json(b, &jb) >= 0 && json_equal(ja, jb);
        json_decref(ja);
        json_decref(jb);
        return eq;
}
