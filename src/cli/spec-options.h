/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-options.h: the options that describe a backend, shared by `corral run` and `corral start`:
 * parsed and checked once, then made into a corral_spec (run) or Start parameters (start). */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "corral.h"

#define SPEC_UNSET UINT64_MAX

typedef struct spec_args {
        const char *type, *stop_signal, *restart, *restart_limit, *user, *group, *workdir, *ready, *cpu_max;
        const char *log_file;
        uint64_t grace, restart_delay, restart_max_delay, restart_reset, start_timeout, watchdog;
        uint64_t memory_max, pids_max, cpu_weight, log_buffer;
        int umask;
        bool clear_env, no_new_privs;
        char **env, **rlimits; /* NULL-terminated, borrowing argv's strings */
        size_t n_env, n_rlimits;
} spec_args;

#define SPEC_ARGS_INIT                                                                                      \
        ((spec_args){ .grace = SPEC_UNSET,                                                                  \
                      .restart_delay = SPEC_UNSET,                                                          \
                      .restart_max_delay = SPEC_UNSET,                                                      \
                      .restart_reset = SPEC_UNSET,                                                          \
                      .start_timeout = SPEC_UNSET,                                                          \
                      .watchdog = SPEC_UNSET,                                                               \
                      .memory_max = SPEC_UNSET,                                                             \
                      .pids_max = SPEC_UNSET,                                                               \
                      .cpu_weight = SPEC_UNSET,                                                             \
                      .log_buffer = SPEC_UNSET,                                                             \
                      .umask = -1 })

/* Option codes of the spec options are >= SPEC_OPT_FIRST, clear of any verb's own letters. */
#define SPEC_OPT_FIRST 0x100

/* The verb's own options followed by the spec options, for getopt_long. free() the result. */
struct option *spec_options_merge(const struct option *own);

/* Help text lines for the spec options. */
extern const char spec_options_help[];

/* 1 if opt is a spec option, 0 if not. */
bool spec_option_is(int opt);

/* Parse one spec option into a. 0, or -EINVAL after printing what is wrong (cli_usage). */
int spec_option_parse(int opt, const char *v, spec_args *a);

void spec_args_done(spec_args *a);

/* Into a spec, as `corral run` needs it. -errno from the setter that refused. */
int spec_args_to_spec(const spec_args *a, corral_spec *s);

/* Into Start's parameters (only those given), as `corral start` sends them. */
int spec_args_to_json(const spec_args *a, json_t *params);
