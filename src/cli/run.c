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
#include "help.h"
#include "macro.h"
#include "parse.h"
#include "spec-options.h"

typedef struct run_args {
        const char *name;
        const char *cgroup_root;
        evlog_format format;
        evlog_target target;
        char **argv;
        option_ctx options; /* the backend options, straight into options.spec */
} run_args;

typedef struct run_state {
        const run_args *args;
        corral_backend *backend;
        int exit_status;
        bool start_failed;
} run_state;

static int run_parse_name(const char *v, run_args *a) {
        if (!name_is_valid(v))
                return cli_usage("invalid --name '%s': use 1-64 of A-Z a-z 0-9 _ . @ -, not . or ..", v);
        a->name = v;
        return 0;
}

static int run_parse_log(int opt, const char *v, run_args *a) {
        if (opt == 'f') {
                if (evlog_format_from_string(v, &a->format) < 0)
                        return cli_usage("invalid --log-format '%s': expected text, logfmt or json", v);
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
        static const struct option own[] = {
                { "name", required_argument, NULL, 'n' },
                { "cgroup-root", required_argument, NULL, 'c' },
                { "log-format", required_argument, NULL, 'f' },
                { "log-target", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ struct option *opts = options_getopt(own);
        int opt, r = 0, longindex = -1;

        *a = (run_args){ .format = isatty(STDERR_FILENO) ? EVLOG_FORMAT_TEXT : EVLOG_FORMAT_JSON,
                         .target = evlog_fd_is_journal(STDERR_FILENO) ? EVLOG_TARGET_JOURNAL
                                                                      : EVLOG_TARGET_STDERR };
        if (!opts || corral_spec_new(&a->options.spec) < 0)
                return cli_error(-ENOMEM, "cannot parse options"), -ENOMEM;
        optind = 1;
        opterr = 0;
        while (r >= 0 && (opt = getopt_long(argc, argv, "+hp:", opts, &longindex)) >= 0) {
                if (opt == 'h') {
                        help_verb("run");
                        return 1;
                } else if (opt == 'c')
                        a->cgroup_root = optarg;
                else if (opt == 'n')
                        r = run_parse_name(optarg, a);
                else if (opt == 'f' || opt == 'T')
                        r = run_parse_log(opt, optarg, a);
                else if (spec_option_is(opt))
                        r = spec_option_parse(&a->options, opt, longindex >= 0 ? opts[longindex].name : NULL,
                                              optarg);
                else
                        r = cli_usage("unknown or incomplete option '%s'", argv[optind - 1]);
                longindex = -1;
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
        /* Never ran, or killed by us for not being ready in time; one that died on its own
         * before it was ready says how, as any other. */
        if (ev->type == CORRAL_EVENT_START_FAILED && (ev->how == CORRAL_HOW_NONE || ev->escalated))
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

/* Whoever sent the signal asked for the stop: the verdict event names them. As the ExecStart= of
 * a service under the default KillMode=control-group, systemd signals us first and the backend
 * right after: a backend found dead already by its own copy of the kill is stopped, not killed. */
static int run_on_signal(sd_event_source *s _unused_, const struct signalfd_siginfo *si, void *userdata) {
        run_state *st = userdata;

        (void) corral_stop_by_signal(st->backend, CORRAL_GRACE_DEFAULT, si);
        return 0;
}

/* What the options left out: the name, the command, and where its output goes (its output is
 * ours unless a log file or buffer asks for it to be captured). */
static int run_spec(const run_args *a) {
        corral_spec *s = a->options.spec;
        char buf[80];
        const char *base = strrchr(a->argv[0], '/');
        bool capture = options_given(&a->options, "LogFile") || options_given(&a->options, "LogBuffer");
        int r = corral_spec_set_name(
                s, a->name ?: name_from_string(base ? base + 1 : a->argv[0], buf, sizeof(buf)));

        if (r >= 0)
                r = corral_spec_set_argv(s, a->argv);
        if (r >= 0)
                r = corral_spec_set_output(s, capture ? CORRAL_OUTPUT_CAPTURE : CORRAL_OUTPUT_INHERIT);
        return r;
}

static int run_signals(corral *c, run_state *st) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        return corral_add_signals(c, sigs, ELEMENTSOF(sigs), run_on_signal, st);
}

static int run_main_loop(const run_args *a, corral *c) {
        run_state st = { .args = a, .exit_status = 1 };
        int r;

        corral_set_event_handler(c, run_on_event, &st);
        r = run_signals(c, &st);
        if (r < 0)
                return cli_error(r, "failed to set up signal handling");
        r = run_spec(a);
        if (r < 0)
                return cli_error(r, "invalid backend definition");
        r = corral_spawn(c, a->options.spec, &st.backend);
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

        if (r != 0) {
                corral_spec_free(a.options.spec);
                return r == -ENOMEM ? CLI_EXIT_FAILURE : r < 0 ? CLI_EXIT_USAGE : 0;
        }
        r = corral_new(&c, a.cgroup_root, CORRAL_NEW_SUBREAPER);
        if (r < 0) {
                corral_spec_free(a.options.spec);
                return cli_error(r, "cannot use cgroup root %s",
                                 a.cgroup_root ?: getenv("CORRAL_CGROUP_ROOT") ?: "(own cgroup)");
        }
        if (corral_get_fallbacks(c))
                fprintf(stderr, "corral: kernel fallbacks in use: %s\n", corral_get_fallbacks(c));
        r = run_main_loop(&a, c);
        corral_free(c);
        corral_spec_free(a.options.spec);
        return r;
}
