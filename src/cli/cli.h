/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli.h: what the verbs of the corral command share: error reporting and exit codes. */
#pragma once

#include "corral.h"
#include "macro.h"

#define CLI_EXIT_FAILURE     1
#define CLI_EXIT_USAGE       2
#define CLI_EXIT_UNREACHABLE 3 /* corrald could not be reached */

/* Print "corral: <message>" and return -EINVAL; the verb then exits CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...) _printf_(1, 2);

/* Print "corral: <message>: <cause of r>" and return CLI_EXIT_FAILURE. */
int cli_error(int r, const char *fmt, ...) _printf_(2, 3);

int verb_run(int argc, char **argv);

/* verify FILE...: definitions checked, problems printed, exit 1 if any. */
int verb_verify(int argc, char **argv);

/* The options of the client verbs given before the verb (corral --address X list); the same
 * options after it win. NULL or false: not given. */
typedef struct cli_globals {
        const char *address;
        bool json;
} cli_globals;

/* start, stop, restart, list, status, watch, ...: argv[0] is the verb. */
int verb_client(int argc, char **argv, const cli_globals *g);

/* The exposure report of a definition file (security.c); @what names it, NULL: the path. */
int security_report_file(const char *path, const char *what, bool as_json);
