/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* help.c: `corral VERB --help`: each verb's usage, what it does and its own options; the backend
 * options come from their one table (src/shared/options.c), never from a copy. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "help.h"
#include "macro.h"
#include "options.h"

typedef struct verb_help {
        const char *verb;
        const char *usage; /* after "corral VERB" */
        const char *text;  /* what it does */
        const char *opts;  /* its own options, or "" */
        const char *row;   /* a backend option it takes (its definition key), or NULL */
        bool client;       /* drives corrald: --address, --json and the exit statuses */
        bool backend;      /* takes every backend option */
} verb_help;

static const verb_help verbs[] = {
        { "run", "[OPTIONS] -- COMMAND [ARG...]",
          "Run COMMAND as one backend in a new cgroup, in the foreground. SIGINT, SIGTERM and\n"
          "SIGHUP stop it on purpose. Exits 0 after stopped or finished, else the backend's exit\n"
          "code, or 128+N if it died by signal N. Its output is corral's own, unless --log-file\n"
          "or --log-buffer asks for it to be captured.\n",
          "  --name NAME              backend name (default: the command's base name)\n"
          "  --cgroup-root DIR        where leaf cgroups are made (default $CORRAL_CGROUP_ROOT,\n"
          "                           else our own cgroup)\n"
          "  --log-format text|logfmt|json\n"
          "                           (default: text on a terminal, coloured unless $NO_COLOR; else json)\n"
          "  --log-target auto|stderr|journal (default auto: the journal if stderr goes there)\n"
          "  -h, --help               this help\n",
          NULL, false, true },
        { "verify", "FILE...",
          "Check backend definitions (NAME.backend) without a daemon; print each problem as\n"
          "FILE:LINE: what is wrong. Exits 1 if there is any.\n",
          "  -h, --help               this help\n", NULL, false, false },
        { "start", "NAME [OPTIONS] -- COMMAND [ARG...] | NAME",
          "Start COMMAND as the backend NAME under corrald, in a cgroup of its own; print its pid\n"
          "and cgroup. A start that fails says why and what it wrote last on stderr. Without a\n"
          "command: the backend NAME.backend declares, as its file says, and first what it\n"
          "Requires= (each once what it is After= is ready).\n",
          "  --wait-ready             answer once it is ready (Ready=, Type=notify), not once started\n",
          NULL, true, true },
        { "stop", "NAME|--all [--grace DURATION]",
          "Stop NAME, or every backend, on purpose: its stop signal, then cgroup.kill after the\n"
          "grace period. Waits for it to end and prints the verdict; a second stop succeeds.\n",
          "  --all                    every backend at once, under one deadline\n", "TimeoutStopSec", true,
          false },
        { "restart", "NAME [--wait-ready]",
          "Stop NAME on purpose and start it again with the same settings; print its new pid.\n",
          "  --wait-ready             answer once it is ready again, not once started\n", NULL, true,
          false },
        { "kill", "NAME [--signal SIG] [--whom main|all]",
          "Send a signal to NAME's main process or to every process of its cgroup. Not a stop:\n"
          "an exit it causes is reported as unexpected.\n",
          "  -s, --signal SIG         SIGHUP, HUP or a number (default SIGTERM)\n"
          "  --whom main|all          its main process (default) or every process of its cgroup\n",
          NULL, true, false },
        { "reset-failed", "NAME",
          "Make a failed backend (one that hit its restart limit) gone again, so it may start.\n", "", NULL,
          true, false },
        { "remove", "NAME", "Forget a gone backend: its last verdict and its kept output.\n", "", NULL, true,
          false },
        { "list", "", "Every backend: state, pid, start time, restarts, readiness, last verdict, file.\n",
          "", NULL, true, false },
        { "status", "NAME",
          "NAME's state, pid, cgroup, command, readiness, restarts, processes, memory and CPU used,\n"
          "and its last verdict.\n",
          "", NULL, true, false },
        { "security", "FILE|NAME [--json]",
          "How exposed a backend is: each sandbox setting of its definition file, on or off, what\n"
          "it protects, and an overall exposure (0-10). NAME: a declared backend of corrald.\n",
          "", NULL, true, false },
        { "logs", "NAME [-n LINES] [--since DURATION] [-f] [--timestamps] [--streams]",
          "NAME's last output, as corrald keeps it (LogBuffer=), in the order it was read.\n",
          "  -n, --lines LINES        how many lines (default 10; 0: all that is kept)\n"
          "  --since DURATION         only the lines read within DURATION (10min, 1h 30min)\n"
          "  -f, --follow             then follow it, each new launch announced on stderr\n"
          "  --timestamps             each line after when corrald read it (RFC 3339, UTC, µs)\n"
          "  --streams                each line after its stream: stdout or stderr\n"
          "  --json                   one object a line: {ts, stream, line}\n",
          NULL, true, false },
        { "watch", "", "Follow every event of every backend, one line each (--json: one object each).\n", "",
          NULL, true, false },
        { "metrics", "[--openmetrics]",
          "The metrics of corrald and its backends, as Prometheus scrapes them.\n",
          "  --openmetrics            in the OpenMetrics format\n", NULL, true, false },
        { "reload", "NAME...",
          "Reload each NAME as its definition says (ExecReload=, ReloadSignal=); wait for each\n"
          "and say how it went. Exits 1 if any failed. To read the definition files again:\n"
          "corral daemon-reload.\n",
          "", NULL, true, false },
        { "daemon-reload", "",
          "Make corrald read its definition files again and apply what changed: start the new,\n"
          "stop the removed, restart the changed. Prints each, and the problems found.\n",
          "", NULL, true, false },
};

static void help_client(void) {
        printf("  --address PATH           corrald's socket (default $CORRAL_ADDRESS, else\n"
               "                           /run/corral/io.corral.Supervisor)\n"
               "  --json                   machine-readable output\n"
               "  -h, --help               this help\n\n"
               "Exit status: 0 success, 1 corrald reported a failure, 2 usage error, 3 corrald not "
               "reachable.\n");
}

int help_verb(const char *verb) {
        for (const verb_help *v = verbs; v < verbs + ELEMENTSOF(verbs); v++) {
                if (strcmp(v->verb, verb) != 0)
                        continue;
                printf("Usage: corral %s%s%s\n\n%s\n%s", v->verb, *v->usage ? " " : "", v->usage, v->text,
                       v->opts);
                if (v->row)
                        options_help_row(stdout, options_find_key(v->row));
                if (v->client)
                        help_client();
                if (v->backend) {
                        printf("\nBackend options, the keys of corral.backend(5) (-p KEY=VALUE sets "
                               "any):\n");
                        options_help(stdout);
                }
                return 0;
        }
        return -ENOENT;
}
