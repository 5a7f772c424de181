/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry-stub.c: a registry that starts nothing, so that fuzzing the request path never runs a
 * command a mutated message names. Every call is answered at once, as the real one may be. */
#include "registry.h"
#include "server.h"
#include "varlink-names.h"

void registry_start_backend(registry *r, conn *c, corral_spec *spec, bool wait_ready) {
        json_t *cmd = json_array();

        for (char *const *a = corral_spec_get_argv(spec); a && *a; a++)
                json_array_append_new(cmd, json_string(*a));
        server_reply(c,
                     json_pack("{s:{s:s, s:o, s:b}}", "backend", "name", corral_spec_get_name(spec),
                               "command", cmd, "waitReady", wait_ready),
                     false);
        corral_spec_free(spec);
}

void registry_stop(registry *r, conn *c, const char *name, uint64_t grace_usec) {
        server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", name));
}

void registry_stop_all(registry *r, conn *c, uint64_t grace_usec) {
        server_reply(c, json_pack("{s:[]}", "verdicts"), false);
}

void registry_restart(registry *r, conn *c, const char *name) {
        server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", name));
}

void registry_list(registry *r, conn *c) {
        server_reply(c, json_pack("{s:[]}", "backends"), false);
}

void registry_list_continues(registry *r, conn *c) {
        server_reply(c, json_pack("{s:[]}", "backends"), true);
}

void registry_status(registry *r, conn *c, const char *name) {
        server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", name));
}

void registry_remove(registry *r, conn *c, const char *name) {
        server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", name));
}

void registry_reset_failed(registry *r, conn *c, const char *name) {
        server_error(c, VARLINK_ERROR_NO_SUCH_BACKEND, json_pack("{s:s}", "name", name));
}

void registry_logs(registry *r, conn *c, const char *name, unsigned lines, bool follow) {
        server_reply(c, json_pack("{s:s}", "data", "out 1\n"), follow);
}

void registry_reload_call(registry *r, conn *c) {
        server_reply(c,
                     json_pack("{s:[], s:[], s:[], s:[], s:[]}", "started", "stopped", "restarted",
                               "unchanged", "problems"),
                     false);
}
