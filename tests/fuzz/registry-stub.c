/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry-stub.c: a registry that starts nothing, so that fuzzing the request path never runs a
 * command a mutated message names. Every call is answered at once, as the real one may be. */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

void registry_result_done(registry_result *res) {
        json_decref(res->verdict);
        json_decref(res->value);
        free(res->data);
        *res = (registry_result){};
}

registry_wait *registry_wait_cancel(registry_wait *w) {
        return NULL;
}

static registry_wait *complete(registry_done_t done, void *userdata, registry_result res) {
        done(&res, userdata);
        registry_result_done(&res);
        return NULL;
}

registry_wait *registry_start(registry *r, corral_spec *spec, bool wait_ready, registry_done_t done,
                              void *userdata) {
        json_t *cmd = json_array();

        for (char *const *a = corral_spec_get_argv(spec); a && *a; a++)
                json_array_append_new(cmd, json_string(*a));
        (void) complete(done, userdata,
                        (registry_result){ .value = json_pack("{s:s, s:o, s:b}", "name", corral_spec_get_name(spec),
                                                              "command", cmd, "waitReady", wait_ready) });
        corral_spec_free(spec);
        return NULL;
}

registry_wait *registry_stop(registry *r, const registry_caller *who, const char *name, uint64_t grace_usec,
                             registry_done_t done, void *userdata) {
        return complete(done, userdata, (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name });
}

registry_wait *registry_stop_all(registry *r, const registry_caller *who, uint64_t grace_usec,
                                 registry_done_t done, void *userdata) {
        return complete(done, userdata, (registry_result){ .value = json_array() });
}

registry_wait *registry_restart(registry *r, const registry_caller *who, const char *name, registry_done_t done,
                                void *userdata) {
        return complete(done, userdata, (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name });
}

registry_error registry_list(registry *r, registry_result *ret) {
        *ret = (registry_result){ .value = json_array() };
        return REGISTRY_OK;
}

static registry_error no_such(const char *name, registry_result *ret) {
        *ret = (registry_result){ .error = REGISTRY_NO_SUCH_BACKEND, .name = name };
        return ret->error;
}

registry_error registry_status(registry *r, const char *name, registry_result *ret) {
        return no_such(name, ret);
}

registry_error registry_remove(registry *r, const char *name, registry_result *ret) {
        return no_such(name, ret);
}

registry_error registry_reset_failed(registry *r, const char *name, registry_result *ret) {
        return no_such(name, ret);
}

registry_error registry_logs(registry *r, const char *name, unsigned lines, registry_result *ret) {
        *ret = (registry_result){ .data = strdup("out 1\n"), .size = 6 };
        return REGISTRY_OK;
}

registry_error registry_reload(registry *r, registry_result *ret) {
        *ret = (registry_result){ .value = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "started", "stopped",
                                                     "restarted", "unchanged", "problems") };
        return REGISTRY_OK;
}
