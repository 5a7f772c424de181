/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-strv.c: NULL-terminated arrays of strings as JSON arrays and back, for the binaries (the
 * one such conversion above libcorral; its spec-json.c keeps its own, being below). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-strv.h"
#include "utf8.h"

const char *json_cstring(json_t *v) {
        const char *s = json_string_value(v);

        return s && strlen(s) == json_string_length(v) ? s : NULL;
}

json_t *json_strv_new(char *const *v) {
        json_t *a = json_array();

        for (; a && v && *v; v++)
                if (json_array_append_new(a, json_string(*v)) < 0)
                        return json_decref(a), NULL;
        return a;
}

int json_strv_get(json_t *a, char ***ret) {
        char **v;
        json_t *e;
        size_t i;

        if (!json_is_array(a))
                return -EINVAL;
        v = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        json_array_foreach(a, i, e) {
                v[i] = (char *) json_cstring(e);
                if (!v[i]) {
                        free(v);
                        return -EINVAL;
                }
        }
        *ret = v;
        return 0;
}

int json_strv_append(json_t *o, const char *key, const char *s) {
        json_t *a = json_object_get(o, key), *e;

        if (!s || !utf8_is_valid(s, strlen(s)))
                return -EINVAL;
        e = json_string(s);
        if (!e)
                return -ENOMEM;
        if (!a) {
                a = json_array();
                if (!a || json_object_set_new(o, key, a) < 0) {
                        json_decref(e);
                        return -ENOMEM;
                }
        }
        if (!json_is_array(a)) {
                json_decref(e);
                return -EINVAL;
        }
        return json_array_append_new(a, e) < 0 ? -ENOMEM : 0;
}
