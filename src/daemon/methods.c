/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* methods.c: each varlink call checked (method, parameters, caller) and handed to the registry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-log.h"
#include "interface-io.corral.Supervisor.h"
#include "interface-org.varlink.service.h"
#include "macro.h"
#include "methods.h"
#include "parse.h"
#include "policy.h"
#include "registry.h"
#include "server.h"
#include "utf8.h"
#include "varlink-names.h"

#define IFACE   VARLINK_IO_CORRAL_SUPERVISOR
#define SERVICE VARLINK_ORG_VARLINK_SERVICE

typedef enum param_type {
        P_BOOL,
        P_STRING,
        P_UINT,
        P_STRV,
} param_type;

typedef struct param {
        const char *name;
        param_type type;
        bool optional;
} param;

typedef struct method {
        const char *name;
        void (*call)(methods *m, conn *c, json_t *params, bool more);
        const param *params;
        bool privileged; /* changes things: root or the allowed group only */
} method;

static bool param_type_ok(json_t *v, param_type t) {
        size_t i;
        json_t *e;

        switch (t) {
        case P_BOOL:
                return json_is_boolean(v);
        case P_STRING:
                return json_is_string(v);
        case P_UINT:
                return json_is_integer(v) && json_integer_value(v) >= 0;
        case P_STRV:
                if (!json_is_array(v))
                        return false;
                json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
                return true;
        }
        return false;
}

/* NULL if params fit the table exactly, else the name of the first parameter that does not:
 * unknown, of the wrong type, or missing. null counts as absent for optional ones. */
static const char *params_check(json_t *params, const param *table) {
        const char *key;
        json_t *v;

        json_object_foreach(params, key, v) {
                const param *p = table;
                while (p && p->name && strcmp(p->name, key) != 0)
                        p++;
                if (!p || !p->name || (!(p->optional && json_is_null(v)) && !param_type_ok(v, p->type)))
                        return key;
        }
        for (const param *p = table; p && p->name; p++)
                if (!p->optional && !json_object_get(params, p->name))
                        return p->name;
        return NULL;
}

static const char *get_str(json_t *params, const char *key) {
        return json_string_value(json_object_get(params, key));
}

static uint64_t get_usec(json_t *params, const char *key, uint64_t dflt) {
        json_t *v = json_object_get(params, key);
        return json_is_integer(v) ? (uint64_t) json_integer_value(v) : dflt;
}

/* A NULL-terminated array borrowing the JSON strings (free() the array only). */
static char **get_strv(json_t *params, const char *key) {
        json_t *a = json_object_get(params, key), *e;
        char **v;
        size_t i;

        if (!json_is_array(a))
                return NULL;
        v = calloc(json_array_size(a) + 1, sizeof(char *));
        json_array_foreach(a, i, e) if (v) v[i] = (char *) json_string_value(e);
        return v;
}

#define CHECK(expr, param)                                                                                  \
        do {                                                                                                \
                if ((expr) < 0)                                                                             \
                        return (param);                                                                     \
        } while (0)

/* Each group of Start parameters goes straight into the spec; the setter that refuses a value
 * names the parameter. Returns the bad parameter's name, or NULL. */
static const char *start_basics(json_t *params, corral_spec *s) {
        _cleanup_free_ char **command = get_strv(params, "command"), **env = get_strv(params, "environment");
        const char *type = get_str(params, "type"), *sig = get_str(params, "stopSignal");

        CHECK(corral_spec_set_name(s, get_str(params, "name")), "name");
        CHECK(command ? corral_spec_set_argv(s, command) : -EINVAL, "command");
        if (json_is_true(json_object_get(params, "clearEnvironment")))
                CHECK(corral_spec_set_environment(s, env ?: (char *[]){ NULL }), "environment");
        else if (env)
                CHECK(corral_spec_add_environment(s, env), "environment");
        CHECK(corral_spec_set_working_directory(s, get_str(params, "workingDirectory")), "workingDirectory");
        if (type && strcmp(type, "service") != 0 && strcmp(type, "task") != 0)
                return "type";
        CHECK(corral_spec_set_type(
                      s, type && strcmp(type, "task") == 0 ? CORRAL_TYPE_TASK : CORRAL_TYPE_SERVICE),
              "type");
        CHECK(corral_spec_set_stop_signal(s, sig ? parse_signal(sig) : SIGTERM), "stopSignal");
        CHECK(corral_spec_set_grace(s, get_usec(params, "stopTimeoutUSec", 15 * USEC_PER_SEC)),
              "stopTimeoutUSec");
        return NULL;
}

static const char *start_restart(json_t *params, corral_spec *s) {
        const char *restart = get_str(params, "restart"), *limit = get_str(params, "restartLimit");
        int mode = restart ? corral_restart_from_string(restart) : CORRAL_RESTART_NO;
        uint64_t delay = get_usec(params, "restartDelayUSec", 100 * USEC_PER_MSEC),
                 max = get_usec(params, "restartMaxDelayUSec", 300 * USEC_PER_SEC),
                 window = 60 * USEC_PER_SEC;
        unsigned burst = 5;

        if (mode < 0)
                return "restart";
        CHECK(corral_spec_set_restart(s, (corral_restart) mode, delay, 2, max,
                                      get_usec(params, "restartResetUSec", 10 * USEC_PER_SEC)),
              "restartMaxDelayUSec");
        CHECK(limit ? parse_restart_limit(limit, &burst, &window) : 0, "restartLimit");
        CHECK(corral_spec_set_restart_limit(s, burst, window), "restartLimit");
        return NULL;
}

static const char *start_privileges(json_t *params, corral_spec *s) {
        _cleanup_free_ char **rlimits = get_strv(params, "rlimits");
        const char *user = get_str(params, "user"), *group = get_str(params, "group");
        json_t *um = json_object_get(params, "umask");

        CHECK(user && strlen(user) > 64 ? -EINVAL : corral_spec_set_user(s, user), "user");
        CHECK(group && strlen(group) > 64 ? -EINVAL : corral_spec_set_group(s, group), "group");
        if (json_is_integer(um) && json_integer_value(um) > 0777)
                return "umask";
        CHECK(corral_spec_set_umask(s, json_is_integer(um) ? (int) json_integer_value(um) : -1), "umask");
        CHECK(corral_spec_set_no_new_privileges(s, json_is_true(json_object_get(params, "noNewPrivileges"))),
              "noNewPrivileges");
        for (char **l = rlimits; l && *l; l++) {
                int res;
                uint64_t soft, hard;
                CHECK(parse_rlimit(*l, &res, &soft, &hard), "rlimits");
                CHECK(corral_spec_set_rlimit(s, res, soft, hard), "rlimits");
        }
        return NULL;
}

static const char *start_readiness(json_t *params, corral_spec *s) {
        const char *ready = get_str(params, "ready");

        CHECK(corral_spec_set_ready_string(s, ready ?: "none",
                                           get_usec(params, "startTimeoutUSec", 90 * USEC_PER_SEC)),
              "ready");
        CHECK(corral_spec_set_watchdog(s, get_usec(params, "watchdogUSec", 0)), "watchdogUSec");
        return NULL;
}

/* Limits and output. A limit this host cannot enforce is refused when it is started. */
static const char *start_resources(json_t *params, corral_spec *s) {
        const char *cpu = get_str(params, "cpuMax"), *file = get_str(params, "logFile");
        uint64_t quota, period;

        if (json_object_get(params, "memoryMax"))
                CHECK(corral_spec_set_memory_max(s, get_usec(params, "memoryMax", 0)), "memoryMax");
        if (json_object_get(params, "pidsMax"))
                CHECK(corral_spec_set_pids_max(s, get_usec(params, "pidsMax", 0)), "pidsMax");
        if (json_object_get(params, "cpuWeight"))
                CHECK(corral_spec_set_cpu_weight(s, get_usec(params, "cpuWeight", 0)), "cpuWeight");
        if (cpu) {
                CHECK(parse_cpu_quota(cpu, &quota, &period), "cpuMax");
                CHECK(corral_spec_set_cpu_max(s, quota, period), "cpuMax");
        }
        if (json_object_get(params, "logBuffer"))
                CHECK(corral_spec_set_log_buffer(s, get_usec(params, "logBuffer", 0)), "logBuffer");
        CHECK(file && strlen(file) > 4000 ? -EINVAL : corral_spec_set_log_file(s, file, 0), "logFile");
        return NULL;
}

/* --- The registry's answers as varlink's: each domain error is one error of the interface. --- */

static void reply_error(conn *c, const registry_result *res) {
        switch (res->error) {
        case REGISTRY_OK: /* not an error: never here */
                break;
        case REGISTRY_NO_SUCH_BACKEND:
                return server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", res->name));
        case REGISTRY_BACKEND_EXISTS:
                return server_error(c, VARLINK_ERROR_BACKEND_EXISTS, json_pack("{s:s}", "name", res->name));
        case REGISTRY_BACKEND_RUNNING:
                return server_error(c, VARLINK_ERROR_BACKEND_RUNNING,
                                    json_pack("{s:s, s:s}", "name", res->name, "state", res->state));
        case REGISTRY_BACKEND_DECLARED:
                return server_error(
                        c, VARLINK_ERROR_BACKEND_DECLARED,
                        json_pack("{s:s, s:s}", "name", res->name, "definition", res->definition));
        case REGISTRY_START_FAILED:
                return server_error(c, VARLINK_ERROR_START_FAILED,
                                    json_pack("{s:s, s:s?, s:O?}", "name", res->name, "message",
                                              res->message, "verdict", res->verdict));
        case REGISTRY_SHUTTING_DOWN:
                return server_error(c, VARLINK_ERROR_SHUTTING_DOWN, NULL);
        case REGISTRY_NO_MEMORY:
                return server_error(c, VARLINK_ERROR_OUT_OF_MEMORY, NULL);
        }
        server_error(c, VARLINK_ERROR_OUT_OF_MEMORY, NULL);
}

/* Each answer is a registry_done_t, for the calls that may wait, and is called with the result of
 * those that do not. */
static void answer_backend(const registry_result *res, void *userdata) {
        if (res->error != REGISTRY_OK)
                return reply_error(userdata, res);
        server_reply(userdata, json_pack("{s:O}", "backend", res->value), false);
}

static void answer_stop(const registry_result *res, void *userdata) {
        if (res->error != REGISTRY_OK)
                return reply_error(userdata, res);
        server_reply(
                userdata,
                json_pack("{s:O?, s:b}", "verdict", res->verdict, "alreadyStopped", res->already_stopped),
                false);
}

static void answer_stop_all(const registry_result *res, void *userdata) {
        if (res->error != REGISTRY_OK)
                return reply_error(userdata, res);
        server_reply(userdata, json_pack("{s:O}", "verdicts", res->value), false);
}

static void answer_now(conn *c, void (*answer)(const registry_result *res, void *userdata),
                       registry_result *res) {
        answer(res, c);
        registry_result_done(res);
}

static void wait_cancel(void *w) {
        registry_wait_cancel(w);
}

/* The call waits for a backend (unless it was answered already): if c goes, nobody is answered. */
static void answer_later(conn *c, registry_wait *w) {
        if (w)
                server_conn_on_close(c, wait_cancel, w);
}

static registry_caller caller_of(conn *c) {
        const struct ucred *cred = server_conn_cred(c);
        return (registry_caller){ .uid = cred->uid, .pid = cred->pid };
}

static void m_start(methods *m, conn *c, json_t *params, bool more) {
        const char *(*const groups[])(json_t *, corral_spec *) = { start_basics, start_restart,
                                                                   start_privileges, start_readiness,
                                                                   start_resources };
        const struct ucred *cred = server_conn_cred(c);
        _cleanup_free_ char *why = NULL;
        corral_spec *spec = NULL;
        bool wait_ready;
        const char *bad = m->policy ? policy_check_start(m->policy, cred, params, &why) : NULL;

        if (bad) {
                server_log_refusal(server_conn_server(c), "starts not permitted", LOG_NOTICE,
                                   "refused Start of %s from uid=%u pid=%d: %s", get_str(params, "name"),
                                   (unsigned) cred->uid, (int) cred->pid, why ?: bad);
                return server_error(c, VARLINK_ERROR_NOT_PERMITTED,
                                    json_pack("{s:s, s:s}", "parameter", bad, "message", why ?: bad));
        }
        if (corral_spec_new(&spec) < 0)
                return server_error(c, VARLINK_ERROR_OUT_OF_MEMORY, NULL);
        for (size_t i = 0; !bad && i < sizeof(groups) / sizeof(groups[0]); i++)
                bad = groups[i](params, spec);
        if (bad) {
                corral_spec_free(spec);
                return server_invalid_parameter(c, bad);
        }
        wait_ready = json_is_true(json_object_get(params, "waitReady"));
        answer_later(c, registry_start(m->registry, spec, wait_ready, answer_backend, c));
}

static void m_stop(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        uint64_t grace = get_usec(params, "timeoutUSec", CORRAL_GRACE_DEFAULT);
        registry_caller who = caller_of(c);

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        answer_later(c, registry_stop(m->registry, &who, name, grace, answer_stop, c));
}

static void m_stop_all(methods *m, conn *c, json_t *params, bool more) {
        uint64_t grace = get_usec(params, "timeoutUSec", CORRAL_GRACE_DEFAULT);
        registry_caller who = caller_of(c);

        answer_later(c, registry_stop_all(m->registry, &who, grace, answer_stop_all, c));
}

static void m_restart(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        registry_caller who = caller_of(c);

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        answer_later(c, registry_restart(m->registry, &who, name, answer_backend, c));
}

static void m_reset_failed(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        (void) registry_reset_failed(m->registry, name, &res);
        answer_now(c, answer_backend, &res);
}

static void m_remove(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        if (registry_remove(m->registry, name, &res) != REGISTRY_OK)
                reply_error(c, &res);
        else
                server_reply(c, json_object(), false);
        registry_result_done(&res);
}

/* List, and the first reply of a Watch: the backends as they are (then, watching, every event). */
static void reply_list(methods *m, conn *c, bool watch) {
        registry_result res;

        if (registry_list(m->registry, &res) != REGISTRY_OK)
                reply_error(c, &res);
        else {
                if (watch)
                        server_conn_watch(c);
                server_reply(c, json_pack("{s:O}", "backends", res.value), watch);
        }
        registry_result_done(&res);
}

static void m_list(methods *m, conn *c, json_t *params, bool more) {
        reply_list(m, c, false);
}

static void m_status(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        (void) registry_status(m->registry, name, &res);
        answer_now(c, answer_backend, &res);
}

/* Output may be any bytes: JSON strings carry valid UTF-8 only. data is changed to fit. */
static json_t *output_json(char *data, size_t size) {
        utf8_sanitize(data, size);
        return json_pack("{s:s%}", "data", data, size);
}

static void m_logs(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        json_t *lines = json_object_get(params, "lines");
        unsigned n = json_is_integer(lines) ? (unsigned) json_integer_value(lines) : 10;
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        if (json_is_integer(lines) && json_integer_value(lines) > 1000000)
                return server_invalid_parameter(c, "lines");
        if (registry_logs(m->registry, name, n, &res) != REGISTRY_OK) {
                reply_error(c, &res);
                return registry_result_done(&res);
        }
        if (more)
                (void) server_conn_follow(c, name);
        server_reply(c, res.data ? output_json(res.data, res.size) : json_pack("{s:s}", "data", ""), more);
        registry_result_done(&res);
}

static void m_reload(methods *m, conn *c, json_t *params, bool more) {
        registry_result res;

        if (registry_reload(m->registry, &res) != REGISTRY_OK)
                reply_error(c, &res);
        else
                server_reply(c, json_incref(res.value), false);
        registry_result_done(&res);
}

static void m_watch(methods *m, conn *c, json_t *params, bool more) {
        if (!more)
                return server_error(c, VARLINK_ERROR_EXPECTED_MORE, NULL);
        reply_list(m, c, true);
}

void methods_broadcast_event(server *s, json_t *event) {
        server_broadcast(s, json_pack("{s:O}", "event", event));
}

void methods_broadcast_output(server *s, const char *name, const char *data, size_t size) {
        char *copy = malloc(size + 1);

        if (!copy)
                return;
        memcpy(copy, data, size);
        server_broadcast_output(s, name, output_json(copy, size));
        free(copy);
}

static void m_get_info(methods *m, conn *c, json_t *params, bool more) {
        server_reply(c,
                     json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "corral", "product", "corrald",
                               "version", CORRAL_VERSION, "url", "https://varlink.org", "interfaces",
                               SERVICE, IFACE),
                     false);
}

static void m_get_description(methods *m, conn *c, json_t *params, bool more) {
        const char *iface = get_str(params, "interface");

        if (strcmp(iface, IFACE) == 0)
                return server_reply(c, json_pack("{s:s}", "description", interface_io_corral_Supervisor),
                                    false);
        if (strcmp(iface, SERVICE) == 0)
                return server_reply(c, json_pack("{s:s}", "description", interface_org_varlink_service),
                                    false);
        server_error(c, VARLINK_ERROR_INTERFACE_NOT_FOUND, json_pack("{s:s}", "interface", iface));
}

static const param p_start[] = {
        { "name", P_STRING, false },
        { "command", P_STRV, false },
        { "environment", P_STRV, true },
        { "workingDirectory", P_STRING, true },
        { "type", P_STRING, true },
        { "stopSignal", P_STRING, true },
        { "stopTimeoutUSec", P_UINT, true },
        { "restart", P_STRING, true },
        { "restartDelayUSec", P_UINT, true },
        { "restartMaxDelayUSec", P_UINT, true },
        { "restartResetUSec", P_UINT, true },
        { "restartLimit", P_STRING, true },
        { "user", P_STRING, true },
        { "group", P_STRING, true },
        { "umask", P_UINT, true },
        { "noNewPrivileges", P_BOOL, true },
        { "clearEnvironment", P_BOOL, true },
        { "rlimits", P_STRV, true },
        { "ready", P_STRING, true },
        { "startTimeoutUSec", P_UINT, true },
        { "waitReady", P_BOOL, true },
        { "watchdogUSec", P_UINT, true },
        { "memoryMax", P_UINT, true },
        { "pidsMax", P_UINT, true },
        { "cpuMax", P_STRING, true },
        { "cpuWeight", P_UINT, true },
        { "logFile", P_STRING, true },
        { "logBuffer", P_UINT, true },
        {},
};
static const param p_stop[] = { { "name", P_STRING, false }, { "timeoutUSec", P_UINT, true }, {} };
static const param p_timeout[] = { { "timeoutUSec", P_UINT, true }, {} };
static const param p_name[] = { { "name", P_STRING, false }, {} };
static const param p_logs[] = { { "name", P_STRING, false }, { "lines", P_UINT, true }, {} };
static const param p_none[] = { {} };
static const param p_interface[] = { { "interface", P_STRING, false }, {} };

static const method method_table[] = {
        { IFACE ".Start", m_start, p_start, true },
        { IFACE ".Stop", m_stop, p_stop, true },
        { IFACE ".StopAll", m_stop_all, p_timeout, true },
        { IFACE ".Restart", m_restart, p_name, true },
        { IFACE ".ResetFailed", m_reset_failed, p_name, true },
        { IFACE ".Remove", m_remove, p_name, true },
        { IFACE ".List", m_list, p_none, false },
        { IFACE ".Status", m_status, p_name, false },
        { IFACE ".Watch", m_watch, p_none, false },
        { IFACE ".Logs", m_logs, p_logs, true },
        { IFACE ".Reload", m_reload, p_none, true }, /* output may hold secrets: as privileged as Start */
        { SERVICE ".GetInfo", m_get_info, p_none, false },
        { SERVICE ".GetInterfaceDescription", m_get_description, p_interface, false },
};

static const method *method_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(method_table); i++)
                if (strcmp(method_table[i].name, name) == 0)
                        return &method_table[i];
        return NULL;
}

static void method_not_found(conn *c, const char *name) {
        const char *dot = strrchr(name, '.');
        size_t len = dot ? (size_t) (dot - name) : 0;

        if ((len == strlen(IFACE) && strncmp(name, IFACE, len) == 0) ||
            (len == strlen(SERVICE) && strncmp(name, SERVICE, len) == 0))
                return server_error(c, VARLINK_ERROR_METHOD_NOT_FOUND, json_pack("{s:s}", "method", name));
        server_error(c, VARLINK_ERROR_INTERFACE_NOT_FOUND,
                     json_pack("{s:s%}", "interface", name, len ? len : strlen(name)));
}

void methods_dispatch(conn *c, const char *name, json_t *params, bool more, void *userdata) {
        methods *ms = userdata;
        const struct ucred *cred = server_conn_cred(c);
        const method *m = method_find(name);
        const char *bad;

        if (!m)
                return method_not_found(c, name);
        if (m->privileged && !server_conn_privileged(c)) {
                server_log_refusal(server_conn_server(c), "calls denied", LOG_WARNING,
                                   "refused %s from uid=%u pid=%d: not root and not in group %s", name,
                                   (unsigned) cred->uid, (int) cred->pid, ms->allow_group ?: "(none)");
                return server_error(c, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        }
        bad = params_check(params, m->params);
        if (bad)
                return server_invalid_parameter(c, bad);
        m->call(ms, c, params, more);
}
