/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli.c: how the corral command and corral-run report errors: one line with the cause. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *cli_strerror(int r) {
        switch (r) {
        case -ENOMEDIUM:
                return "no cgroup2 file system is mounted";
        case -EMEDIUMTYPE:
                return "not a directory of the cgroup2 file system";
        default:
                return strerror(-r);
        }
}

int cli_usage(const char *fmt, ...) {
        va_list ap;

        fputs("corral: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see corral --help)\n", stderr);
        return -EINVAL;
}

int cli_error(int r, const char *fmt, ...) {
        va_list ap;

        fputs("corral: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", cli_strerror(r));
        return CLI_EXIT_FAILURE;
}
