/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* methods.c: each varlink call checked (method, parameters, caller) and handed to the registry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-log.h"
#include "interface-io.corral.Supervisor.h"
#include "json-strv.h"
#include "macro.h"
#include "methods.h"
#include "options.h"
#include "parse.h"
#include "policy.h"
#include "registry.h"
#include "server.h"

#define IFACE "io.corral.Supervisor"

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
        void (*call)(server *s, conn *c, json_t *params, bool more);
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

static void m_start(server *s, conn *c, json_t *params, bool more) {
        _cleanup_free_ char *why = NULL;
        corral_spec *spec = NULL;
        int r;
        const char *bad = s->opt.policy ? policy_check_start(s->opt.policy, &c->cred, params, &why) : NULL;

        if (bad) {
                server_log_refusal(s, "starts not permitted", LOG_NOTICE,
                                   "refused Start of %s from uid=%u pid=%d: %s", get_str(params, "name"),
                                   (unsigned) c->cred.uid, (int) c->cred.pid, why ?: bad);
                return server_error(c, IFACE ".NotPermitted",
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
                return server_error(c, "io.corral.Supervisor.StartFailed",
                                    json_pack("{s:s, s:s}", "name", get_str(params, "name"), "message",
                                              "out of memory"));
        }
        registry_start_backend(s->registry, c, spec, json_is_true(json_object_get(params, "waitReady")));
}

static void m_stop(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        registry_stop(s->registry, c, name, get_usec(params, "timeoutUSec", CORRAL_GRACE_DEFAULT));
}

static void m_stop_all(server *s, conn *c, json_t *params, bool more) {
        registry_stop_all(s->registry, c, get_usec(params, "timeoutUSec", CORRAL_GRACE_DEFAULT));
}

static void m_restart(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        registry_restart(s->registry, c, name);
}

static void m_reset_failed(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        registry_reset_failed(s->registry, c, name);
}

static void m_remove(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        registry_remove(s->registry, c, name);
}

static void m_list(server *s, conn *c, json_t *params, bool more) {
        registry_list(s->registry, c);
}

static void m_status(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        registry_status(s->registry, c, name);
}

static void m_logs(server *s, conn *c, json_t *params, bool more) {
        const char *name = get_str(params, "name");
        json_t *lines = json_object_get(params, "lines");

        if (!name_is_valid(name))
                return server_invalid_parameter(c, "name");
        if (json_is_integer(lines) && json_integer_value(lines) > 1000000)
                return server_invalid_parameter(c, "lines");
        registry_logs(s->registry, c, name,
                      json_is_integer(lines) ? (unsigned) json_integer_value(lines) : 10, more);
}

static void m_reload(server *s, conn *c, json_t *params, bool more) {
        registry_reload_call(s->registry, c);
}

static void m_watch(server *s, conn *c, json_t *params, bool more) {
        if (!more)
                return server_error(c, VARLINK_SERVICE ".ExpectedMore", NULL);
        c->watching = true;
        registry_list_continues(s->registry, c);
}

static void m_get_info(server *s, conn *c, json_t *params, bool more) {
        server_reply(c,
                     json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "corral", "product", "corrald",
                               "version", CORRAL_VERSION, "url", "https://varlink.org", "interfaces",
                               VARLINK_SERVICE, IFACE),
                     false);
}

static const char varlink_service_description[] =
        "# The Varlink Service Interface is provided by every varlink service.\n"
        "interface org.varlink.service\n\n"
        "method GetInfo() -> (vendor: string, product: string, version: string, url: string, "
        "interfaces: []string)\n\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n\n"
        "error InterfaceNotFound (interface: string)\n"
        "error MethodNotFound (method: string)\n"
        "error MethodNotImplemented (method: string)\n"
        "error InvalidParameter (parameter: string)\n"
        "error PermissionDenied ()\n"
        "error ExpectedMore ()\n";

static void m_get_description(server *s, conn *c, json_t *params, bool more) {
        const char *iface = get_str(params, "interface");

        if (strcmp(iface, IFACE) == 0)
                return server_reply(c, json_pack("{s:s}", "description", interface_io_corral_Supervisor),
                                    false);
        if (strcmp(iface, VARLINK_SERVICE) == 0)
                return server_reply(c, json_pack("{s:s}", "description", varlink_service_description),
                                    false);
        server_error(c, VARLINK_SERVICE ".InterfaceNotFound", json_pack("{s:s}", "interface", iface));
}

/* Start's own parameters, then the backend options of the table. */
static const param p_start[] = {
        { "name", P_STRING, false },
        { "command", P_STRV, false },
        { "waitReady", P_BOOL, true },
        { .type = P_BACKEND_OPTIONS },
};
static const param p_stop[] = { { "name", P_STRING, false }, { "timeoutUSec", P_UINT, true }, {} };
static const param p_timeout[] = { { "timeoutUSec", P_UINT, true }, {} };
static const param p_name[] = { { "name", P_STRING, false }, {} };
static const param p_logs[] = { { "name", P_STRING, false }, { "lines", P_UINT, true }, {} };
static const param p_none[] = { {} };
static const param p_interface[] = { { "interface", P_STRING, false }, {} };

static const method methods[] = {
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
        { VARLINK_SERVICE ".GetInfo", m_get_info, p_none, false },
        { VARLINK_SERVICE ".GetInterfaceDescription", m_get_description, p_interface, false },
};

static const method *method_find(const char *name) {
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strcmp(methods[i].name, name) == 0)
                        return &methods[i];
        return NULL;
}

static void method_not_found(conn *c, const char *name) {
        const char *dot = strrchr(name, '.');
        size_t len = dot ? (size_t) (dot - name) : 0;

        if ((len == strlen(IFACE) && strncmp(name, IFACE, len) == 0) ||
            (len == strlen(VARLINK_SERVICE) && strncmp(name, VARLINK_SERVICE, len) == 0))
                return server_error(c, VARLINK_SERVICE ".MethodNotFound",
                                    json_pack("{s:s}", "method", name));
        server_error(c, VARLINK_SERVICE ".InterfaceNotFound",
                     json_pack("{s:s%}", "interface", name, len ? len : strlen(name)));
}

static bool flag(json_t *msg, const char *key, bool *ret) {
        json_t *v = json_object_get(msg, key);

        *ret = json_is_true(v);
        return !v || json_is_boolean(v);
}

void methods_dispatch(server *s, conn *c, json_t *msg) {
        const char *name = json_string_value(json_object_get(msg, "method")), *bad;
        json_t *params = json_object_get(msg, "parameters");
        const method *m;
        bool more, oneway;

        if (!name)
                return server_invalid_parameter(c, "method");
        if (!flag(msg, "more", &more) || !flag(msg, "oneway", &oneway))
                return server_invalid_parameter(c, json_object_get(msg, "more") ? "more" : "oneway");
        if (params && !json_is_object(params))
                return server_invalid_parameter(c, "parameters");
        c->oneway = oneway;
        c->method = name;
        m = method_find(name);
        if (!m)
                return method_not_found(c, name);
        if (m->privileged && !c->privileged) {
                server_log_refusal(s, "calls denied", LOG_WARNING,
                                   "refused %s from uid=%u pid=%d: not root and not in group %s", name,
                                   (unsigned) c->cred.uid, (int) c->cred.pid,
                                   s->opt.allow_group ?: "(none)");
                return server_error(c, VARLINK_SERVICE ".PermissionDenied", NULL);
        }
        json_t *empty = params ? NULL : json_object();
        bad = params_check(params ?: empty, m->params);
        if (bad)
                server_invalid_parameter(c, bad);
        else
                m->call(s, c, params ?: empty, more);
        json_decref(empty);
}
