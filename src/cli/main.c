/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: the corral command: picks the verb; run and verify are corral-run's (runner.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "spec-options.h"

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

/*
 * run and verify embed libcorral (and through it libsystemd, libcgroup, libcap, libseccomp, libinih):
 * they live in corral-run, so that the verbs that only talk varlink to corrald load none of it. The
 * one beside this executable wins (the build tree); else the installed one. Returns only on failure.
 */
static int exec_runner(char **argv) {
        char self[PATH_MAX], beside[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n > 0) {
                self[n] = '\0';
                char *slash = strrchr(self, '/');
                if (slash &&
                    snprintf(beside, sizeof(beside), "%.*s/corral-run", (int) (slash - self), self) <
                            (int) sizeof(beside))
                        (void) execv(beside, argv);
        }
        (void) execv(CORRAL_RUNNER_PATH, argv);
        cli_error(-errno, "cannot execute %s", CORRAL_RUNNER_PATH);
        return CLI_EXIT_FAILURE;
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
        if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "verify") == 0)
                return exec_runner(argv);
        fprintf(stderr, "corral: unknown verb '%s' (see corral --help)\n", argv[1]);
        return CLI_EXIT_USAGE;
}
