/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* methods.c: each varlink call checked (method, parameters, caller) and handed to the registry. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-log.h"
#include "evlog.h"
#include "interface-io.corral.Supervisor.h"
#include "json-strv.h"
#include "interface-org.varlink.service.h"
#include "macro.h"
#include "methods.h"
#include "metrics.h"
#include "options.h"
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
        P_BACKEND_OPTIONS, /* as a table's end: and the backend options (src/shared/options.c) */
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
        case P_BACKEND_OPTIONS:
                break;
        }
        return false;
}

/* NULL if params fit the table exactly, else the name of the first parameter that does not:
 * unknown, of the wrong type, or missing. null counts as absent for optional ones. */
static const char *params_check(json_t *params, const param *table) {
        const char *key;
        json_t *v;
        int k;

        json_object_foreach(params, key, v) {
                const param *p = table;
                while (p && p->name && strcmp(p->name, key) != 0)
                        p++;
                if (p && !p->name && p->type == P_BACKEND_OPTIONS && (k = options_json_check(key, v)) >= 0) {
                        if (k == 0)
                                return key;
                        continue;
                }
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

/* What runs: its name and command. How it runs is the table's (options_spec_from_json()). */
static const char *start_what(json_t *params, corral_spec *s) {
        _cleanup_free_ char **command = NULL;

        if (corral_spec_set_name(s, get_str(params, "name")) < 0)
                return "name";
        if (json_strv_get(json_object_get(params, "command"), &command) < 0 ||
            corral_spec_set_argv(s, command) < 0)
                return "command";
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
        case REGISTRY_BACKEND_NOT_RUNNING:
                return server_error(c, VARLINK_ERROR_BACKEND_NOT_RUNNING,
                                    json_pack("{s:s, s:s}", "name", res->name, "state", res->state));
        case REGISTRY_START_FAILED:
                return server_error(c, VARLINK_ERROR_START_FAILED,
                                    json_pack("{s:s, s:s?, s:O?}", "name", res->name, "message",
                                              res->message, "verdict", res->verdict));
        case REGISTRY_RELOAD_NOT_SUPPORTED:
                return server_error(c, VARLINK_ERROR_RELOAD_NOT_SUPPORTED,
                                    json_pack("{s:s}", "name", res->name));
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

/* Start with a name only: the declared backend of that name, as its file says (and as corrald
 * starts it at boot: the callers that may Start may start it; none may change what it runs). */
static void m_start_declared(methods *m, conn *c, json_t *params) {
        const char *name = get_str(params, "name"), *key;
        json_t *v;

        json_object_foreach(
                params, key,
                v) if (strcmp(key, "name") != 0 && strcmp(key, "waitReady") != 0 &&
                       strcmp(key, "command") != 0 &&
                       !json_is_null(v)) return server_invalid_parameter(c, key); /* a declared backend runs
                                                                                     as its file says */
        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        answer_later(c,
                     registry_start_declared(m->registry, name,
                                             json_is_true(json_object_get(params, "waitReady")),
                                             answer_backend, c));
}

static void m_start(methods *m, conn *c, json_t *params, bool more) {
        const struct ucred *cred = server_conn_cred(c);
        _cleanup_free_ char *why = NULL;
        corral_spec *spec = NULL;
        bool wait_ready;
        int r;
        const char *bad;

        if (json_is_null(json_object_get(params, "command")) || !json_object_get(params, "command"))
                return m_start_declared(m, c, params);
        bad = m->policy ? policy_check_start(m->policy, cred, params, &why) : NULL;

        if (bad) {
                server_log_refusal(server_conn_server(c), "starts not permitted", LOG_NOTICE,
                                   "refused Start of %s from uid=%u pid=%d: %s", get_str(params, "name"),
                                   (unsigned) cred->uid, (int) cred->pid, why ?: bad);
                return server_error(c, VARLINK_ERROR_NOT_PERMITTED,
                                    json_pack("{s:s, s:s}", "parameter", bad, "message", why ?: bad));
        }
        r = corral_spec_new(&spec);
        if (r >= 0 && (bad = start_what(params, spec)))
                r = -EINVAL;
        if (r >= 0)
                r = options_spec_from_json(params, spec, &bad);
        if (r == -EINVAL) {
                corral_spec_free(spec);
                return server_invalid_parameter(c, bad);
        }
        if (r < 0) {
                corral_spec_free(spec);
                return server_error(c, VARLINK_ERROR_OUT_OF_MEMORY, NULL);
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
        answer_later(c,
                     registry_restart(m->registry, &who, name,
                                      json_is_true(json_object_get(params, "waitReady")), answer_backend,
                                      c));
}

/* "main" (the default) or "all"; -EINVAL for anything else. */
static int kill_whom_from_string(const char *s) {
        if (!s || strcmp(s, "main") == 0)
                return CORRAL_KILL_MAIN;
        return strcmp(s, "all") == 0 ? CORRAL_KILL_ALL : -EINVAL;
}

static void m_kill(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name"), *signal = get_str(params, "signal");
        int sig = signal ? parse_signal(signal) : SIGTERM,
            whom = kill_whom_from_string(get_str(params, "whom"));
        registry_caller who = caller_of(c);
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        if (sig <= 0) /* signal 0 only asks whether a process exists: nothing to send */
                return server_invalid_parameter(c, "signal");
        if (whom < 0)
                return server_invalid_parameter(c, "whom");
        if (registry_kill(m->registry, &who, name, sig, (corral_kill_whom) whom, &res) != REGISTRY_OK)
                reply_error(c, &res);
        else {
                daemon_log(LOG_INFO, "sent %s to %s of %s for uid=%u pid=%d", signal_to_name(sig),
                           whom == CORRAL_KILL_ALL ? "every process" : "the main process", name,
                           (unsigned) who.uid, (int) who.pid);
                server_reply(c, json_incref(res.value), false);
        }
        registry_result_done(&res);
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

static const char *stream_name(corral_stream s) {
        return s == CORRAL_STREAM_STDERR ? "stderr" : "stdout";
}

/* Output may be any bytes: JSON strings carry valid UTF-8 only. data is changed to fit. */
static json_t *output_json(char *data, size_t size) {
        utf8_sanitize(data, size);
        return json_pack("{s:s%}", "data", data, size);
}

/* {ts, stream, line}: one line as it was read, in a JSON string (valid UTF-8; v's bytes change to fit). */
static json_t *output_line_json(corral_output_line *l) {
        char ts[32];

        evlog_format_ts(l->ts_usec, ts);
        utf8_sanitize((char *) l->data, l->size);
        return json_pack("{s:s, s:s, s:s%, s:b}", "ts", ts, "stream", stream_name(l->stream), "line",
                         l->data, l->size, "partial", l->partial);
}

/* {data} as the lines joined (each with its newline, but for the last if partial), or with
 * entries {entries: [{ts, stream, line, partial}]} and data "". NULL on ENOMEM. */
static json_t *logs_json(corral_output_line *v, size_t n, bool entries) {
        json_t *a = entries ? json_array() : NULL, *j;
        size_t size = 0;
        char *data;

        for (size_t i = 0; entries && a && i < n; i++)
                if (json_array_append_new(a, output_line_json(&v[i])) < 0)
                        a = (json_decref(a), NULL);
        if (entries)
                return a ? json_pack("{s:s, s:o}", "data", "", "entries", a) : NULL;
        for (size_t i = 0; i < n; i++)
                size += v[i].size + 1;
        data = malloc(size + 1);
        if (!data)
                return NULL;
        size = 0;
        for (size_t i = 0; i < n; i++) {
                memcpy(data + size, v[i].data, v[i].size);
                size += v[i].size;
                if (!v[i].partial || i + 1 < n)
                        data[size++] = '\n';
        }
        data[size] = '\0';
        j = output_json(data, size);
        free(data);
        return j;
}

static void m_logs(methods *m, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        json_t *lines = json_object_get(params, "lines"), *since = json_object_get(params, "sinceUSec");
        unsigned n = json_is_integer(lines) ? (unsigned) json_integer_value(lines) : 10;
        bool entries = json_is_true(json_object_get(params, "entries"));
        registry_result res;

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        if (json_is_integer(lines) && json_integer_value(lines) > 1000000)
                return server_invalid_parameter(c, "lines");
        if (registry_logs(m->registry, name, n,
                          json_is_integer(since) ? (uint64_t) json_integer_value(since) : 0,
                          &res) != REGISTRY_OK) {
                reply_error(c, &res);
                return registry_result_done(&res);
        }
        if (more)
                (void) server_conn_follow(c, name);
        server_reply(c, logs_json(res.lines, res.n_lines, entries) ?: json_pack("{s:s}", "data", ""), more);
        registry_result_done(&res);
}

static void answer_reload_backend(const registry_result *res, void *userdata) {
        if (res->error != REGISTRY_OK)
                return reply_error(userdata, res);
        server_reply(userdata, json_pack("{s:O}", "backends", res->value), false);
}

#define RELOAD_NAMES_MAX 1024

static void m_reload_backend(methods *m, conn *c, json_t *params, bool more) {
        json_t *a = json_object_get(params, "names"), *v;
        _cleanup_free_ char **names = NULL;
        registry_caller who = caller_of(c);
        size_t i, n = json_array_size(a);

        if (n == 0 || n > RELOAD_NAMES_MAX || !(names = calloc(n + 1, sizeof(char *))))
                return server_invalid_parameter(c, "names");
        json_array_foreach(a, i, v) {
                names[i] = (char *) json_string_value(v);
                if (!name_is_valid(names[i]))
                        return server_invalid_parameter(c, "names");
        }
        answer_later(c, registry_reload_backends(m->registry, &who, names, n, answer_reload_backend, c));
}

static void m_reload(methods *m, conn *c, json_t *params, bool more) {
        registry_result res;

        if (registry_reload(m->registry, &res) != REGISTRY_OK)
                reply_error(c, &res);
        else
                server_reply(c, json_incref(res.value), false);
        registry_result_done(&res);
}

static void m_metrics(methods *m, conn *c, json_t *params, bool more) {
        bool om = json_is_true(json_object_get(params, "openMetrics"));
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (!m->metrics ||
            metrics_render(m->metrics, om ? PROM_FORMAT_OPENMETRICS : PROM_FORMAT_TEXT, true, &text, &size) <
                    0)
                return server_error(c, VARLINK_ERROR_OUT_OF_MEMORY, NULL);
        server_reply(c, json_pack("{s:s%}", "text", text, size), false);
}

static void m_watch(methods *m, conn *c, json_t *params, bool more) {
        if (!more)
                return server_error(c, VARLINK_ERROR_EXPECTED_MORE, NULL);
        reply_list(m, c, true);
}

void methods_broadcast_event(server *s, json_t *event) {
        server_broadcast(s, json_pack("{s:O}", "event", event));
}

void methods_broadcast_launch(server *s, const char *name, const char *launch, pid_t pid) {
        server_broadcast_output(
                s, name, json_pack("{s:s, s:s, s:i}", "data", "", "launch", launch, "pid", (int) pid));
}

/* A chunk as it was read: its stream and when, for clients that print them or cut lines. */
void methods_broadcast_output(server *s, const char *name, corral_stream stream, uint64_t ts_usec,
                              const char *data, size_t size) {
        char *copy = malloc(size + 1), ts[32];
        json_t *j;

        if (!copy)
                return;
        memcpy(copy, data, size);
        evlog_format_ts(ts_usec, ts);
        j = output_json(copy, size);
        if (j &&
            (json_object_set_new(j, "stream", json_string(stream_name(stream))) < 0 ||
             json_object_set_new(j, "ts", json_string(ts)) < 0))
                j = (json_decref(j), NULL);
        if (j)
                server_broadcast_output(s, name, j);
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

/* Start's own parameters, then the backend options of the table. */
static const param p_start[] = {
        { "name", P_STRING, false },
        { "command", P_STRV, true }, /* none: the declared backend of that name */
        { "waitReady", P_BOOL, true },
        { .type = P_BACKEND_OPTIONS },
};
static const param p_stop[] = { { "name", P_STRING, false }, { "timeoutUSec", P_UINT, true }, {} };
static const param p_kill[] = {
        { "name", P_STRING, false }, { "signal", P_STRING, true }, { "whom", P_STRING, true }, {}
};
static const param p_timeout[] = { { "timeoutUSec", P_UINT, true }, {} };
static const param p_name[] = { { "name", P_STRING, false }, {} };
static const param p_restart[] = { { "name", P_STRING, false }, { "waitReady", P_BOOL, true }, {} };
static const param p_logs[] = { { "name", P_STRING, false },
                                { "lines", P_UINT, true },
                                { "sinceUSec", P_UINT, true },
                                { "entries", P_BOOL, true },
                                {} };
static const param p_none[] = { {} };
static const param p_names[] = { { "names", P_STRV, false }, {} };
static const param p_metrics[] = { { "openMetrics", P_BOOL, true }, {} };
static const param p_interface[] = { { "interface", P_STRING, false }, {} };

static const method method_table[] = {
        { IFACE ".Start", m_start, p_start, true },
        { IFACE ".Stop", m_stop, p_stop, true },
        { IFACE ".StopAll", m_stop_all, p_timeout, true },
        { IFACE ".Restart", m_restart, p_restart, true },
        { IFACE ".Kill", m_kill, p_kill, true }, /* a change, as Stop is */
        { IFACE ".ResetFailed", m_reset_failed, p_name, true },
        { IFACE ".Remove", m_remove, p_name, true },
        { IFACE ".List", m_list, p_none, false },
        { IFACE ".Status", m_status, p_name, false },
        { IFACE ".Watch", m_watch, p_none, false },
        { IFACE ".Logs", m_logs, p_logs, true },
        { IFACE ".Metrics", m_metrics, p_metrics, false },           /* what List and Status tell */
        { IFACE ".ReloadBackend", m_reload_backend, p_names, true }, /* a change, as Stop is */
        { IFACE ".DaemonReload", m_reload, p_none,
          true },                                    /* output may hold secrets: as privileged as Start */
        { IFACE ".Reload", m_reload, p_none, true }, /* DaemonReload's name before 0.2, kept for a release */
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
