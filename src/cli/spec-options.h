/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-options.h: the backend options on the command line of `corral run` and `corral start`: the
 * long options of the table (src/shared/options.h) and -p KEY=VALUE, a bad value a usage error. */
#pragma once

#include <stdbool.h>

#include "options.h"

/* Whether getopt_long's @opt is a backend option, -p included. */
bool spec_option_is(int opt);

/*
 * Apply it to @x: into x->spec, and for `corral start` into x->params. @name: the long option
 * as it was given (getopt_long's longindex), NULL for -p; @v its argument (NULL: a bare --flag).
 * Returns 0, or -EINVAL after printing what is wrong (cli_usage), or -ENOMEM (printed too).
 */
int spec_option_parse(option_ctx *x, int opt, const char *name, const char *v);
