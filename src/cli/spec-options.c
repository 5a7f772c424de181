/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-options.c: the backend options on the command line of `corral run` and `corral start`: the
 * long options of the table (src/shared/options.h) and -p KEY=VALUE, a bad value a usage error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spec-options.h"

bool spec_option_is(int opt) {
        return opt == 'p' || options_from_getopt(opt);
}

/* -p KEY=VALUE: any key of the definition files, as systemd-run's -p. */
static int spec_property(option_ctx *x, const char *v) {
        int r = options_apply_property(x, v);
        const char *eq = strchr(v, '=');
        int key_len = eq ? (int) (eq - v) : 0;

        if (r == -ENOMEM)
                return cli_error(r, "cannot parse -p %s", v), -ENOMEM;
        if (r == -ENOENT)
                return cli_usage("unknown property '%.*s' in -p %s: expected a key of corral.backend(5)",
                                 key_len, v, v);
        if (r < 0 && !x->bad)
                return cli_usage("invalid -p '%s': expected KEY=VALUE, as TimeoutStopSec=5s", v);
        if (r < 0 && x->problem)
                return cli_usage("invalid -p %.*s '%s': %s", key_len, v, x->bad_value, x->problem);
        if (r < 0)
                return cli_usage("invalid -p %.*s %s '%s': expected %s", key_len, v, options_noun(x->bad),
                                 x->bad_value, x->bad_expected);
        return 0;
}

int spec_option_parse(option_ctx *x, int opt, const char *name, const char *v) {
        const option_def *o = options_from_getopt(opt);
        int r;

        if (opt == 'p')
                return spec_property(x, v);
        if (!o)
                return cli_usage("unknown option");
        r = options_apply_text(x, o, NULL, v ?: "yes", OPTION_FORM_CLI);
        if (r == -ENOMEM)
                return cli_error(r, "cannot parse --%s", name ?: o->cli), -ENOMEM;
        if (r < 0)
                return cli_usage("invalid --%s '%s': expected %s", name ?: o->cli, x->bad_value,
                                 x->bad_expected);
        return 0;
}

void spec_option_note(spec_given *given, int opt, const char *name, const char *v) {
        const char *eq = opt == 'p' && v ? strchr(v, '=') : NULL;
        const option_def *o = eq ? NULL : options_from_getopt(opt);
        _cleanup_free_ char *key = eq ? strndup(v, (size_t) (eq - v)) : NULL;

        if (eq && key)
                o = options_find_key(key);
        if (!o)
                return;
        if (eq)
                given[options_index(o)] =
                        (spec_given){ .key = v, .key_len = (int) (eq - v), .value = eq + 1 };
        else
                given[options_index(o)] = (spec_given){ .cli = name ?: o->cli, .value = v ?: "yes" };
}

int spec_option_refused(const spec_given *given, const char *varlink) {
        const option_def *o = varlink ? options_find_varlink(varlink) : NULL;
        const spec_given *g = o ? &given[options_index(o)] : NULL;

        if (!g || !g->value || o->kind == OPTION_LIST || o->family_ok)
                return 0; /* an item of a list is quoted, not the whole: corrald's own words then */
        /* as options.c's refuse() quotes it: cut to 255 bytes */
        if (g->cli)
                return cli_usage("invalid --%s '%.255s': expected %s", g->cli, g->value,
                                 options_expected(o));
        return cli_usage("invalid -p %.*s %s '%.255s': expected %s", g->key_len, g->key, options_noun(o),
                         g->value, options_expected(o));
}
