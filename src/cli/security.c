/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* security.c: `corral security FILE|NAME`: how exposed a backend is, in the spirit of
 * `systemd-analyze security`: each sandbox setting of its definition, on or off, what it
 * protects, and an overall exposure from 0 (all on) to 10 (none). The settings are read through
 * the option table, as a definition file's are. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "strv.h"

/* One setting: on when its value is not one of the "off" values; partial credit for a weaker one. */
static const struct check {
        const char *key;
        unsigned weight;
        const char *protects;
} checks[] = {
        { "User", 10, "runs as a user other than root" },
        { "NoNewPrivileges", 5, "no setuid program or file capability gains it privileges" },
        { "CapabilityBoundingSet", 8, "capabilities it can never have" },
        { "SystemCallFilter", 8, "the kernel's interface it may use (mount, ptrace, module loading...)" },
        { "SystemCallArchitectures", 3, "no i386 or x32 system calls around the filters" },
        { "ProtectSystem", 8, "the OS's files are read-only to it (strict: all of them)" },
        { "ProtectHome", 5, "users' homes are out of its sight" },
        { "PrivateTmp", 4, "no shared /tmp: no symlink races, nothing of others seen" },
        { "PrivateDevices", 5, "no device nodes but null, zero, random and the like" },
        { "PrivateNetwork", 5, "no network but loopback (only for what needs none)" },
        { "ProtectKernelTunables", 4, "/proc/sys and /sys are read-only" },
        { "ProtectKernelModules", 4, "no module loading" },
        { "ProtectControlGroups", 3, "the cgroup tree is read-only" },
        { "RestrictAddressFamilies", 4, "no raw, packet or netlink sockets" },
        { "RestrictNamespaces", 4, "no new namespaces (user namespaces widen the kernel's surface)" },
        { "LockPersonality", 1, "no change of execution domain" },
        { "MemoryDenyWriteExecute", 3, "no writable and executable memory (code injection)" },
};

/* The [Backend] Key=Value lines of a definition, each through its table row into Start's
 * parameters (varlink names), as the definition file parser reads them. */
static int read_settings(const char *path, json_t **ret) {
        FILE *f = fopen(path, "re");
        option_ctx x = { 0 };
        char line[4096];
        bool backend = false;
        int r = 0;

        if (!f)
                return -errno;
        if (corral_spec_new(&x.spec) < 0 || !(x.params = json_object())) {
                fclose(f);
                corral_spec_free(x.spec);
                return -ENOMEM;
        }
        while (fgets(line, sizeof(line), f)) {
                char *eq, *v;
                const option_def *o;
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '[')
                        backend = strcmp(line, "[Backend]") == 0;
                if (!backend || line[0] == '#' || line[0] == ';' || !(eq = strchr(line, '=')))
                        continue;
                *eq = '\0';
                v = eq + 1;
                if ((o = options_find_key(line)))
                        (void) options_apply_text(&x, o, line, v,
                                                  OPTION_FORM_KEY); /* corral verify says what is wrong */
        }
        fclose(f);
        corral_spec_free(x.spec);
        *ret = x.params;
        return r;
}

/* 1: fully on, 0: off, or a part (ProtectSystem=yes is a third of strict). */
static double check_score(const struct check *c, json_t *v) {
        const char *s = json_string_value(v);

        if (!v || json_is_null(v) || json_is_false(v) || (json_is_array(v) && json_array_size(v) == 0))
                return 0;
        if (strcmp(c->key, "User") == 0)
                return s && strcmp(s, "root") != 0 && strcmp(s, "0") != 0;
        if (strcmp(c->key, "ProtectSystem") == 0)
                return !s                          ? 0
                        : strcmp(s, "strict") == 0 ? 1
                        : strcmp(s, "full") == 0   ? 0.66
                        : strcmp(s, "yes") == 0    ? 0.33
                                                   : 0;
        if (strcmp(c->key, "ProtectHome") == 0 || strcmp(c->key, "RestrictNamespaces") == 0)
                return s && strcmp(s, "no") != 0 && strcmp(s, "false") != 0 ? 1 : 0;
        if (strcmp(c->key, "SystemCallFilter") == 0 || strcmp(c->key, "RestrictAddressFamilies") == 0)
                return s && *s ? 1 : 0;
        if (strcmp(c->key, "CapabilityBoundingSet") == 0) /* "~CAP_SYS_ADMIN" takes one away: a part */
                return !s ? 0 : s[0] == '~' ? 0.5 : 1;
        return json_is_true(v) || (s && *s);
}

static int report(const char *what, json_t *params, bool as_json) {
        double total = 0, exposed = 0;
        json_t *items = json_array(), *out;
        json_t *ambient = json_object_get(params, "ambientCapabilities");

        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                const option_def *o = options_find_key(checks[i].key);
                json_t *v = o ? json_object_get(params, o->varlink) : NULL;
                double score = check_score(&checks[i], v);
                char *shown = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

                total += checks[i].weight;
                exposed += checks[i].weight * (1 - score);
                if (as_json)
                        json_array_append_new(items,
                                              json_pack("{s:s, s:b, s:f, s:s?, s:s, s:i}", "setting",
                                                        checks[i].key, "on", score > 0, "score", score,
                                                        "value", shown, "protects", checks[i].protects,
                                                        "weight", checks[i].weight));
                else
                        printf("%s %-24s %-28.28s %s\n",
                               score >= 1          ? "✓"
                                       : score > 0 ? "~"
                                                   : "✗",
                               checks[i].key, shown ?: "(not set)", checks[i].protects);
                free(shown);
        }
        double exposure = total > 0 ? 10.0 * exposed / total : 10;
        if (as_json) {
                out = json_pack("{s:s, s:f, s:o, s:O?}", "backend", what, "exposure", exposure, "settings",
                                items, "ambientCapabilities", ambient);
                char *s = json_dumps(out, JSON_COMPACT);
                printf("%s\n", s ?: "{}");
                free(s);
                json_decref(out);
        } else {
                json_decref(items);
                if (ambient)
                        printf("! AmbientCapabilities=%s: capabilities it keeps as its user\n",
                               json_string_value(ambient) ?: "");
                printf("\nOverall exposure of %s: %.1f (0: every setting on, 10: none) %s\n", what, exposure,
                       exposure <= 2           ? "OK"
                               : exposure <= 5 ? "MEDIUM"
                               : exposure <= 8 ? "EXPOSED"
                                               : "UNSAFE");
        }
        return 0;
}

int security_report_file(const char *path, const char *what, bool as_json) {
        json_t *params = NULL;
        int r = read_settings(path, &params);

        if (r < 0)
                return cli_error(r, "cannot read %s", path);
        r = report(what ?: path, params, as_json);
        json_decref(params);
        return r;
}
