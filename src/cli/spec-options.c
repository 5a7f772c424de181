/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-options.c: the backend options on the command line of `corral run` and `corral start`: the
 * long options of the table (src/shared/options.h) and -p KEY=VALUE, a bad value a usage error. */
#include <errno.h>
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
