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

/* How a backend option was last given on the command line (into argv), to say corrald's refusal of
 * its value as this command's own usage error: the names of capabilities and system calls are
 * resolved by corrald only (names-deferred.c). */
typedef struct spec_given {
        const char *cli; /* the --option as typed (without --); NULL: given as -p KEY=VALUE */
        const char *key; /* -p: the KEY, key_len bytes */
        int key_len;
        const char *value; /* what was refused, as given */
} spec_given;

/* Record in @given (OPTIONS_MAX rows, by options_index()) how option @opt was given (as
 * spec_option_parse() took it, after it accepted it). */
void spec_option_note(spec_given *given, int opt, const char *name, const char *v);

/* If @varlink (corrald's InvalidParameter) is a backend option recorded in @given, print the usage
 * error spec_option_parse() would have printed for its value and return -EINVAL; else 0. */
int spec_option_refused(const spec_given *given, const char *varlink);
