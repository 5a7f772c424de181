/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* run.c: `corral run`: one backend in the foreground, no daemon; our own signals are a stop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "corral.h"
#include "evlog.h"
#include "macro.h"
#include "parse.h"

typedef struct run_args {
        const char *name;
        const char *cgroup_root;
        uint64_t grace_usec;
        int stop_signal;
        corral_type type;
        evlog_format format;
        evlog_target target;
        char **argv;
        corral_restart restart;
        uint64_t restart_delay, restart_max_delay, restart_reset, restart_window;
        unsigned restart_burst;
        const char *user, *group, *workdir;
        int umask;
        bool clear_env, no_new_privs;
        char *env[64];
        size_t n_env;
        const char *rlimits[16];
        size_t n_rlimits;
        const char *ready;
        uint64_t start_timeout, watchdog;
} run_args;

typedef struct run_state {
        const run_args *args;
        corral_backend *backend;
        int exit_status;
        bool start_failed;
} run_state;

static void run_help(void) {
        printf("Usage: corral run [OPTIONS] -- COMMAND [ARG...]\n\n"
               "Run COMMAND as one backend in a new cgroup, in the foreground. SIGINT, SIGTERM and\n"
               "SIGHUP stop it on purpose. Exits 0 after stopped or finished, else the backend's exit\n"
               "code, or 128+N if it died by signal N.\n\n"
               "  --name NAME            backend name (default: the command's base name)\n"
               "  --type service|task    service: any exit not asked for is unexpected (default);\n"
               "                         task: exit 0 is success\n"
               "  --stop-signal SIGNAL   signal that asks it to stop (default SIGTERM)\n"
               "  --grace DURATION       time before the cgroup is killed (default 15s)\n"
               "  --cgroup-root DIR      where leaf cgroups are made (default $CORRAL_CGROUP_ROOT,\n"
               "                         else our own cgroup)\n"
               "  --restart no|on-failure|always  start it again after an exit not asked for\n"
               "                         (on-failure: not after finished; default no)\n"
               "  --restart-delay D      first delay, doubled each time (default 100ms)\n"
               "  --restart-max-delay D  (default 5min)\n"
               "  --restart-reset D      a run this long starts the delays over (default 10s)\n"
               "  --restart-limit N/W    failed after N restarts within W (default 5/1min; 0/0: none)\n"
               "  --ready notify|tcp:HOST:PORT|none  notify: starting until it sends READY=1 on\n"
               "                         $NOTIFY_SOCKET; tcp: until a connection to HOST:PORT succeeds\n"
               "  --start-timeout D      not ready by then: start-failed, killed (default 90s; 0: none)\n"
               "  --watchdog D           it must send WATCHDOG=1 at least this often, or be killed\n"
               "  --user USER, --group GROUP  run as them (names or numbers; the user's groups too)\n"
               "  --umask MODE           octal, as 027\n"
               "  --workdir DIR          working directory (absolute)\n"
               "  --env KEY=VALUE        added to our environment (repeatable)\n"
               "  --clear-env            start from an empty environment, then --env\n"
               "  --rlimit NAME=SOFT[:HARD]  nofile, core, nproc, ... (repeatable; infinity)\n"
               "  --no-new-privileges    set no_new_privs: no setuid binary can gain privileges\n"
               "  --log-format text|json (default: text on a terminal, else json)\n"
               "  --log-target auto|stderr|journal (default auto: the journal if stderr goes there)\n"
               "  -h, --help\n");
}

static int run_parse_value(int opt, const char *v, run_args *a) {
        int r;

        switch (opt) {
        case 'n':
                if (!name_is_valid(v))
                        return cli_usage("invalid --name '%s': use 1-64 of A-Z a-z 0-9 _ . @ -, not . or ..",
                                         v);
                a->name = v;
                return 0;
        case 'g':
                r = parse_duration(v, &a->grace_usec);
                if (r < 0)
                        return cli_usage(
                                "invalid --grace '%s': expected a duration such as 500ms, 15s or 2min", v);
                return 0;
        case 's':
                a->stop_signal = parse_signal(v);
                if (a->stop_signal < 0)
                        return cli_usage(
                                "invalid --stop-signal '%s': expected a signal such as SIGTERM or 15", v);
                return 0;
        case 't':
                if (strcmp(v, "service") != 0 && strcmp(v, "task") != 0)
                        return cli_usage("invalid --type '%s': expected service or task", v);
                a->type = strcmp(v, "task") == 0 ? CORRAL_TYPE_TASK : CORRAL_TYPE_SERVICE;
                return 0;
        }
        return cli_usage("unknown option");
}

static int run_parse_restart(int opt, const char *v, run_args *a) {
        uint64_t *d = opt == 'D' ? &a->restart_delay
                : opt == 'M'     ? &a->restart_max_delay
                                 : &a->restart_reset;
        int r;

        switch (opt) {
        case 'R':
                r = corral_restart_from_string(v);
                if (r < 0)
                        return cli_usage("invalid --restart '%s': expected no, on-failure or always", v);
                a->restart = (corral_restart) r;
                return 0;
        case 'L':
                if (parse_restart_limit(v, &a->restart_burst, &a->restart_window) < 0)
                        return cli_usage(
                                "invalid --restart-limit '%s': expected N/WINDOW such as 5/1min, N up to 64",
                                v);
                return 0;
        }
        if (parse_duration(v, d) < 0)
                return cli_usage("invalid --restart-%s '%s': expected a duration such as 100ms or 5min",
                                 opt == 'D'           ? "delay"
                                         : opt == 'M' ? "max-delay"
                                                      : "reset",
                                 v);
        return 0;
}

static int run_parse_privileges(int opt, const char *v, run_args *a) {
        int res;
        uint64_t soft, hard;
        char *end;
        unsigned long m;

        switch (opt) {
        case 'u':
                a->user = v;
                return *v ? 0 : cli_usage("invalid --user '': expected a name or a number");
        case 'G':
                a->group = v;
                return *v ? 0 : cli_usage("invalid --group '': expected a name or a number");
        case 'w':
                a->workdir = v;
                return *v == '/' ? 0 : cli_usage("invalid --workdir '%s': expected an absolute path", v);
        case 'k':
                m = strtoul(v, &end, 8);
                if (!*v || *end || m > 0777)
                        return cli_usage("invalid --umask '%s': expected octal, such as 027", v);
                a->umask = (int) m;
                return 0;
        case 'e':
                if (!strchr(v, '=') || *v == '=')
                        return cli_usage("invalid --env '%s': expected KEY=VALUE", v);
                if (a->n_env >= ELEMENTSOF(a->env) - 1)
                        return cli_usage("too many --env: at most %zu", ELEMENTSOF(a->env) - 1);
                a->env[a->n_env++] = (char *) v;
                return 0;
        case 'l':
                if (parse_rlimit(v, &res, &soft, &hard) < 0)
                        return cli_usage(
                                "invalid --rlimit '%s': expected NAME=SOFT[:HARD] such as nofile=1024:4096",
                                v);
                if (a->n_rlimits >= ELEMENTSOF(a->rlimits))
                        return cli_usage("too many --rlimit: at most %zu", ELEMENTSOF(a->rlimits));
                a->rlimits[a->n_rlimits++] = v;
                return 0;
        case 'C':
                a->clear_env = true;
                return 0;
        case 'r': {
                corral_spec *t = NULL; /* checked now, applied in run_spec */
                int k = corral_spec_new(&t);
                if (k >= 0)
                        k = corral_spec_set_ready_string(t, v, 0);
                corral_spec_free(t);
                if (k < 0)
                        return cli_usage("invalid --ready '%s': expected none, notify or tcp:HOST:PORT "
                                         "(a numeric address or localhost)",
                                         v);
                a->ready = v;
                return 0;
        }
        case 'W':
                if (parse_duration(v, &a->watchdog) < 0)
                        return cli_usage("invalid --watchdog '%s': expected a duration such as 30s", v);
                return 0;
        case 'S':
                if (parse_duration(v, &a->start_timeout) < 0)
                        return cli_usage("invalid --start-timeout '%s': expected a duration such as 90s", v);
                return 0;
        case 'N':
                a->no_new_privs = true;
                return 0;
        }
        return cli_usage("unknown option");
}

static int run_parse_log(int opt, const char *v, run_args *a) {
        if (opt == 'f') {
                if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
                        return cli_usage("invalid --log-format '%s': expected text or json", v);
                a->format = strcmp(v, "json") == 0 ? EVLOG_FORMAT_JSON : EVLOG_FORMAT_TEXT;
                return 0;
        }
        if (strcmp(v, "auto") == 0)
                a->target = evlog_fd_is_journal(STDERR_FILENO) ? EVLOG_TARGET_JOURNAL : EVLOG_TARGET_STDERR;
        else if (strcmp(v, "stderr") == 0)
                a->target = EVLOG_TARGET_STDERR;
        else if (strcmp(v, "journal") == 0)
                a->target = EVLOG_TARGET_JOURNAL;
        else
                return cli_usage("invalid --log-target '%s': expected auto, stderr or journal", v);
        return 0;
}

static int run_parse(int argc, char **argv, run_args *a) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },
                { "grace", required_argument, NULL, 'g' },
                { "stop-signal", required_argument, NULL, 's' },
                { "type", required_argument, NULL, 't' },
                { "restart", required_argument, NULL, 'R' },
                { "restart-delay", required_argument, NULL, 'D' },
                { "restart-max-delay", required_argument, NULL, 'M' },
                { "restart-reset", required_argument, NULL, 'E' },
                { "restart-limit", required_argument, NULL, 'L' },
                { "user", required_argument, NULL, 'u' },
                { "group", required_argument, NULL, 'G' },
                { "workdir", required_argument, NULL, 'w' },
                { "umask", required_argument, NULL, 'k' },
                { "env", required_argument, NULL, 'e' },
                { "rlimit", required_argument, NULL, 'l' },
                { "clear-env", no_argument, NULL, 'C' },
                { "no-new-privileges", no_argument, NULL, 'N' },
                { "ready", required_argument, NULL, 'r' },
                { "start-timeout", required_argument, NULL, 'S' },
                { "watchdog", required_argument, NULL, 'W' },
                { "cgroup-root", required_argument, NULL, 'c' },
                { "log-format", required_argument, NULL, 'f' },
                { "log-target", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int opt, r = 0;

        *a = (run_args){ .grace_usec = 15 * USEC_PER_SEC,
                         .stop_signal = SIGTERM,
                         .restart_delay = 100 * USEC_PER_MSEC,
                         .restart_max_delay = 300 * USEC_PER_SEC,
                         .restart_reset = 10 * USEC_PER_SEC,
                         .restart_burst = 5,
                         .restart_window = 60 * USEC_PER_SEC,
                         .umask = -1,
                         .start_timeout = 90 * USEC_PER_SEC,
                         .format = isatty(STDERR_FILENO) ? EVLOG_FORMAT_TEXT : EVLOG_FORMAT_JSON,
                         .target = evlog_fd_is_journal(STDERR_FILENO) ? EVLOG_TARGET_JOURNAL
                                                                      : EVLOG_TARGET_STDERR };
        optind = 1;
        opterr = 0;
        while (r >= 0 && (opt = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                if (opt == 'h') {
                        run_help();
                        return 1;
                } else if (opt == 'c')
                        a->cgroup_root = optarg;
                else if (opt == 'f' || opt == 'T')
                        r = run_parse_log(opt, optarg, a);
                else if (strchr("RDMEL", opt))
                        r = run_parse_restart(opt, optarg, a);
                else if (strchr("uGwkelCNrSW", opt))
                        r = run_parse_privileges(opt, optarg, a);
                else if (opt == '?' || opt == ':')
                        r = cli_usage("unknown or incomplete option '%s'", argv[optind - 1]);
                else
                        r = run_parse_value(opt, optarg, a);
        }
        if (r < 0)
                return r;
        if (optind >= argc)
                return cli_usage("missing COMMAND: corral run [OPTIONS] -- COMMAND [ARG...]");
        a->argv = argv + optind;
        return 0;
}

/* What corral run exits with, from the verdict: 0 if it ended as asked or as a task should. */
static int run_exit_status(const corral_event *ev) {
        if (ev->type == CORRAL_EVENT_STOPPED || ev->type == CORRAL_EVENT_FINISHED)
                return 0;
        if (ev->type == CORRAL_EVENT_START_FAILED)
                return ev->error == ENOENT ? 127 : 126;
        if (ev->how == CORRAL_HOW_EXITED)
                return ev->exit_code;
        if (ev->signal > 0)
                return 128 + ev->signal;
        return 1;
}

static void run_on_event(corral *c, const corral_event *ev, void *userdata) {
        run_state *st = userdata;
        int r = evlog_write(ev, st->args->target, st->args->format);

        if (r < 0 && st->args->target == EVLOG_TARGET_JOURNAL)
                (void) evlog_write(ev, EVLOG_TARGET_STDERR, st->args->format);
        if (!corral_event_is_verdict(ev->type))
                return;
        st->exit_status = run_exit_status(ev);
        st->start_failed = ev->type == CORRAL_EVENT_START_FAILED;
        /* Done once it is neither running nor about to run again (the verdict of a restart's
         * exec failure comes while the first spawn is long over: backend is set then). */
        corral_state state = st->backend ? corral_backend_get_state(st->backend) : CORRAL_STATE_GONE;
        if (state == CORRAL_STATE_GONE || state == CORRAL_STATE_FAILED)
                (void) corral_exit(c, 0);
}

/* Whoever sent the signal asked for the stop: the verdict event names them. */
static int run_on_signal(sd_event_source *s _unused_, const struct signalfd_siginfo *si, void *userdata) {
        run_state *st = userdata;

        (void) corral_stop_by(st->backend, CORRAL_GRACE_DEFAULT, (uid_t) si->ssi_uid, (pid_t) si->ssi_pid);
        return 0;
}

static int run_spec_privileges(const run_args *a, corral_spec *s) {
        int r = corral_spec_set_user(s, a->user);

        if (r >= 0)
                r = corral_spec_set_group(s, a->group);
        if (r >= 0)
                r = corral_spec_set_working_directory(s, a->workdir);
        if (r >= 0)
                r = corral_spec_set_umask(s, a->umask);
        if (r >= 0)
                r = corral_spec_set_no_new_privileges(s, a->no_new_privs);
        if (r >= 0)
                r = corral_spec_set_ready_string(s, a->ready ?: "none", a->start_timeout);
        if (r >= 0)
                r = corral_spec_set_watchdog(s, a->watchdog);
        if (r >= 0 && (a->clear_env || a->n_env > 0))
                r = a->clear_env ? corral_spec_set_environment(s, (char *const *) a->env)
                                 : corral_spec_add_environment(s, (char *const *) a->env);
        for (size_t i = 0; r >= 0 && i < a->n_rlimits; i++) {
                int res;
                uint64_t soft, hard;
                r = parse_rlimit(a->rlimits[i], &res, &soft, &hard);
                if (r >= 0)
                        r = corral_spec_set_rlimit(s, res, soft, hard);
        }
        return r;
}

static int run_spec(const run_args *a, corral_spec **ret) {
        corral_spec *s = NULL;
        char buf[80];
        const char *base = strrchr(a->argv[0], '/');
        int r = corral_spec_new(&s);

        if (r >= 0)
                r = corral_spec_set_name(
                        s, a->name ?: name_from_string(base ? base + 1 : a->argv[0], buf, sizeof(buf)));
        if (r >= 0)
                r = corral_spec_set_argv(s, a->argv);
        if (r >= 0)
                r = corral_spec_set_type(s, a->type);
        if (r >= 0)
                r = corral_spec_set_stop_signal(s, a->stop_signal);
        if (r >= 0)
                r = corral_spec_set_grace(s, a->grace_usec);
        if (r >= 0)
                r = corral_spec_set_restart(s, a->restart, a->restart_delay, 2, a->restart_max_delay,
                                            a->restart_reset);
        if (r >= 0)
                r = corral_spec_set_restart_limit(s, a->restart_burst, a->restart_window);
        if (r >= 0)
                r = run_spec_privileges(a, s);
        if (r < 0) {
                corral_spec_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static int run_signals(corral *c, run_state *st) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        return corral_add_signals(c, sigs, ELEMENTSOF(sigs), run_on_signal, st);
}

static int run_main_loop(const run_args *a, corral *c) {
        _cleanup_(corral_spec_freep) corral_spec *spec = NULL;
        run_state st = { .args = a, .exit_status = 1 };
        int r;

        corral_set_event_handler(c, run_on_event, &st);
        r = run_signals(c, &st);
        if (r < 0)
                return cli_error(r, "failed to set up signal handling");
        r = run_spec(a, &spec);
        if (r < 0)
                return cli_error(r, "invalid backend definition");
        r = corral_spawn(c, spec, &st.backend);
        if (r < 0)
                return st.start_failed ? st.exit_status : cli_error(r, "failed to start %s", a->argv[0]);
        r = corral_run(c);
        corral_backend_unref(st.backend);
        if (r < 0)
                return cli_error(r, "event loop failed");
        return st.exit_status;
}

int verb_run(int argc, char **argv) {
        corral *c = NULL;
        run_args a;
        int r = run_parse(argc, argv, &a);

        if (r != 0)
                return r < 0 ? CLI_EXIT_USAGE : 0;
        r = corral_new(&c, a.cgroup_root, CORRAL_NEW_SUBREAPER);
        if (r < 0)
                return cli_error(r, "cannot use cgroup root %s",
                                 a.cgroup_root ?: getenv("CORRAL_CGROUP_ROOT") ?: "(own cgroup)");
        if (corral_get_fallbacks(c))
                fprintf(stderr, "corral: kernel fallbacks in use: %s\n", corral_get_fallbacks(c));
        r = run_main_loop(&a, c);
        corral_free(c);
        return r;
}
