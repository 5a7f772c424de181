/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: the corral command: picks the verb and reports errors in one line with their cause. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "spec-options.h"

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

static void help(void) {
        printf("Usage: corral [--address PATH] [--json] VERB [OPTIONS]\n"
               "       corral --version\n\n"
               "Without a daemon:\n"
               "  run [OPTIONS] -- COMMAND [ARG...]     run one backend in the foreground (corral run "
               "--help)\n"
               "  verify FILE...                        check backend definitions (NAME.backend)\n\n"
               "Driving corrald:\n"
               "  start NAME [OPTIONS] -- COMMAND [ARG...]   [--wait-ready] and the backend options below\n"
               "  stop NAME|--all [--grace DURATION]    stop on purpose, wait, print the verdict\n"
               "  restart NAME [--wait-ready]\n"
               "  kill NAME [--signal SIG] [--whom main|all]   send a signal (default SIGTERM) to its main\n"
               "                                        process or every process; not a stop\n"
               "  reset-failed NAME                     a failed backend (crash loop) is gone again\n"
               "  remove NAME                           forget a gone backend: its verdict and output\n"
               "  list\n"
               "  status NAME\n"
               "  security FILE|NAME [--json]          how exposed a backend is: each sandbox setting, on "
               "or\n"
               "                                        off, what it protects, an overall exposure (0-10)\n"
               "  logs NAME [-n LINES] [-f]             its last output (10 lines; 0: all kept), -f "
               "follows\n"
               "    [--since DURATION] [--timestamps]   only lines read within DURATION; each after when it "
               "was read,\n"
               "    [--streams]                         and after its stream (stdout, stderr)\n"
               "  watch                                 follow every event\n"
               "  metrics [--openmetrics]               the metrics, as Prometheus scrapes them\n"
               "  reload NAME...                        reload each as its definition says (ExecReload=,\n"
               "                                        ReloadSignal=); waits, says how each went\n"
               "  daemon-reload                         read the definition files again, apply what "
               "changed\n\n"
               "Each verb's usage and options: corral VERB --help.\n\n"
               "Before or after the verb:\n"
               "  --address PATH   corrald's socket (default $CORRAL_ADDRESS, else\n"
               "                   /run/corral/io.corral.Supervisor)\n"
               "  --json           machine-readable output\n\n"
               "Exit status: 0 success, 1 corrald reported a failure, 2 usage error, 3 corrald not "
               "reachable.\n\n"
               "Backend options of run and start, the keys of corral.backend(5) (-p KEY=VALUE sets any):\n");
        options_help(stdout);
}

/* The options of every verb that drives corrald, given before the verb: "--address X",
 * "--address=X", "--json". Returns how many words they took, or -EINVAL (printed). */
static int parse_globals(int argc, char **argv, cli_globals *g) {
        int i;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *o = argv[i];
                if (strcmp(o, "--json") == 0)
                        g->json = true;
                else if (strncmp(o, "--address=", 10) == 0)
                        g->address = o + 10;
                else if (strcmp(o, "--address") == 0 && i + 1 < argc)
                        g->address = argv[++i];
                else if (strcmp(o, "--address") == 0)
                        return cli_usage("--address needs a PATH");
                else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0 || strcmp(o, "--version") == 0)
                        break; /* answered by main() */
                else
                        return cli_usage("unknown option '%s' before the verb", o);
                if (g->address && !*g->address)
                        return cli_usage("--address needs a PATH");
        }
        return i - 1;
}

static bool is_client_verb(const char *verb) {
        static const char *const client_verbs[] = { "start",    "stop",         "restart",      "list",
                                                    "status",   "watch",        "reset-failed", "logs",
                                                    "reload",   "remove",       "metrics",      "kill",
                                                    "security", "daemon-reload" };
        for (size_t i = 0; i < ELEMENTSOF(client_verbs); i++)
                if (strcmp(verb, client_verbs[i]) == 0)
                        return true;
        return false;
}

int main(int argc, char **argv) {
        cli_globals g = {};
        int n = parse_globals(argc, argv, &g);

        if (n < 0)
                return CLI_EXIT_USAGE;
        argc -= n;
        argv += n; /* argv[1] is the verb, argv[0] the last global option (or the program) */
        if (argc < 2) {
                help();
                return CLI_EXIT_USAGE;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                help();
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("corral %s\n", CORRAL_VERSION);
                return 0;
        }
        if (is_client_verb(argv[1]))
                return verb_client(argc - 1, argv + 1, &g);
        if (n > 0 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "verify") == 0)) {
                cli_usage("--address and --json are options of the verbs that drive corrald, not of %s",
                          argv[1]);
                return CLI_EXIT_USAGE;
        }
        if (strcmp(argv[1], "run") == 0)
                return verb_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "verify") == 0)
                return verb_verify(argc - 1, argv + 1);
        fprintf(stderr, "corral: unknown verb '%s' (see corral --help)\n", argv[1]);
        return CLI_EXIT_USAGE;
}
