/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client.c: the corral verbs that drive corrald over varlink: start, stop, restart, list, status, watch. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "evlog.h"
#include "fileio.h"
#include "help.h"
#include "json-strv.h"
#include "macro.h"
#include "parse.h"
#include "spec-options.h"
#include "varlink.h"
#include "varlink-names.h"

#define DEFAULT_ADDRESS "/run/corral/io.corral.Supervisor"
#define IFACE           VARLINK_IO_CORRAL_SUPERVISOR "."

typedef struct client_args {
        const char *address;
        bool json;
        bool all;
        bool wait_ready;
        bool follow;
        bool openmetrics;
        unsigned lines; /* logs -n; 0: all that is kept */
        bool timestamps, streams; /* logs: each line after when it was read, its stream */
        uint64_t since_usec;      /* logs --since: CLOCK_REALTIME µs; 0: all */
        char *pending[2];         /* logs -f, by lines: each stream's line not ended yet */
        size_t pending_len[2];
        const char *signal, *whom; /* kill --signal, --whom */
        const char *name;
        char **names; /* reload: every NAME given (into argv), NULL-terminated; malloc'ed */
        size_t n_names;
        /* The backend options, as Start's parameters (options.params) for start, and its
         * stopTimeoutUSec (--grace) for stop; options.spec only checks them. */
        option_ctx options;
        spec_given given[OPTIONS_MAX]; /* how each backend option was given, for corrald's refusals */
        char **command;
} client_args;

/* Options of the verbs themselves; the spec options (spec-options.c) come after them. */
static const struct option client_options[] = {
        { "address", required_argument, NULL, 'a' }, { "json", no_argument, NULL, 'j' },
        { "all", no_argument, NULL, 'A' },           { "wait-ready", no_argument, NULL, 'W' },
        { "follow", no_argument, NULL, 'f' },        { "lines", required_argument, NULL, 'n' },
        { "timestamps", no_argument, NULL, 'T' },    { "streams", no_argument, NULL, 'S' },
        { "since", required_argument, NULL, 'I' },   { "openmetrics", no_argument, NULL, 'O' },
        { "signal", required_argument, NULL, 's' },  { "whom", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },          {},
};

/* --since DURATION: the lines read within the last DURATION, by corrald's clock (the same host's). */
static int logs_since(const char *v, client_args *a) {
        uint64_t d, now = now_usec(CLOCK_REALTIME);

        if (parse_duration(v, &d) < 0 || d == 0)
                return cli_usage("invalid --since '%s': expected a duration such as 10min or 1h 30min", v);
        a->since_usec = d < now ? now - d : 1;
        return 0;
}

static int client_option(int opt, const char *name, const char *v, client_args *a) {
        char *end;
        unsigned long n;

        switch (opt) {
        case 'a':
                a->address = v;
                return 0;
        case 'j':
                a->json = true;
                return 0;
        case 'A':
                a->all = true;
                return 0;
        case 'W':
                a->wait_ready = true;
                return 0;
        case 'f':
                a->follow = true;
                return 0;
        case 's':
                if (parse_signal(v) < 0)
                        return cli_usage(
                                "unknown signal '%s': expected a name such as SIGHUP or HUP, or a number",
                                v);
                a->signal = v;
                return 0;
        case 'w':
                if (strcmp(v, "main") != 0 && strcmp(v, "all") != 0)
                        return cli_usage("invalid --whom '%s': expected main or all", v);
                a->whom = v;
                return 0;
        case 'O':
                a->openmetrics = true;
                return 0;
        case 'T':
                a->timestamps = true;
                return 0;
        case 'S':
                a->streams = true;
                return 0;
        case 'I':
                return logs_since(v, a);
        case 'n':
                n = strtoul(v, &end, 10);
                if (!*v || *end || n > 1000000)
                        return cli_usage("invalid --lines '%s': expected a number of lines (0: all)", v);
                a->lines = (unsigned) n;
                return 0;
        }
        if (!spec_option_is(opt))
                return cli_usage("unknown option");
        int r = spec_option_parse(&a->options, opt, name, v);
        if (r >= 0)
                spec_option_note(a->given, opt, name, v);
        return r;
}

/* argv[0] is the verb. Options may come anywhere before "--"; the first other word is NAME; for
 * start, the command follows "--" (or is simply the rest after NAME). */
static int client_parse(int argc, char **argv, const cli_globals *g, client_args *a) {
        bool start = strcmp(argv[0], "start") == 0, multi = strcmp(argv[0], "reload") == 0;
        int opt, r = 0, longindex = -1;

        *a = (client_args){ .address = g->address ?: getenv("CORRAL_ADDRESS") ?: DEFAULT_ADDRESS,
                            .json = g->json,
                            .lines = 10 };
        _cleanup_free_ struct option *opts = options_getopt(client_options);
        if (!opts || corral_spec_new(&a->options.spec) < 0 || !(a->options.params = json_object()))
                return cli_usage("out of memory");
        optind = 1;
        opterr = 0;
        for (;;) {
                while (r >= 0 && (opt = getopt_long(argc, argv, "+hfn:p:s:", opts, &longindex)) >= 0) {
                        if (opt == 'h') {
                                help_verb(argv[0]);
                                return 1;
                        }
                        r = opt == '?' ? cli_usage("unknown or incomplete option '%s'", argv[optind - 1])
                                       : client_option(opt, longindex >= 0 ? opts[longindex].name : NULL,
                                                       optarg, a);
                        longindex = -1;
                }
                if (r < 0 || optind >= argc)
                        return r;
                if ((strcmp(argv[optind - 1], "--") == 0 || a->name) && start) {
                        a->command = argv + optind;
                        return 0;
                }
                if (multi && strcmp(argv[optind - 1], "--") != 0) { /* reload NAME... */
                        char **v = realloc(a->names, (a->n_names + 2) * sizeof(char *));
                        if (!v)
                                return cli_usage("out of memory");
                        a->names = v;
                        a->names[a->n_names++] = argv[optind];
                        a->names[a->n_names] = NULL;
                        a->name = argv[optind++];
                        continue;
                }
                if (a->name || strcmp(argv[optind - 1], "--") == 0)
                        return cli_usage("unexpected argument '%s'", argv[optind]);
                a->name = argv[optind++];
        }
}

static int client_connect(const client_args *a, varlink_conn *ret) {
        int fd = varlink_connect(a->address);

        if (fd < 0) {
                fprintf(stderr, "corral: cannot reach corrald at %s: %s\n", a->address, strerror(-fd));
                return CLI_EXIT_UNREACHABLE;
        }
        varlink_conn_init(ret, fd, 0, 0);
        return 0;
}

/* A start that failed: why, how it ended (exit code or signal) and what it said last on stderr. */
static void report_start_failed(const char *name, const char *msg, json_t *verdict) {
        json_t *code = json_object_get(verdict, "exit_code"), *sig = json_object_get(verdict, "signal");
        const char *tail = json_string_value(json_object_get(verdict, "stderr"));

        fprintf(stderr, "corral: %s: %s", name, msg ?: "failed to start");
        if (json_is_integer(code))
                fprintf(stderr, " (exit code %" JSON_INTEGER_FORMAT ")", json_integer_value(code));
        else if (json_is_string(sig))
                fprintf(stderr, " (signal %s)", json_string_value(sig));
        fputc('\n', stderr);
        if (!tail || !*tail)
                return;
        fprintf(stderr, "corral: %s: its last lines on stderr:\n", name);
        for (const char *p = tail; *p;) {
                size_t n = strcspn(p, "\n");
                fprintf(stderr, "  %.*s\n", (int) n, p);
                p += n + (p[n] == '\n');
        }
}

/* Print a daemon's error in words; returns CLI_EXIT_FAILURE. */
static int client_report_error(const client_args *a, const char *error, json_t *params) {
        const char *name = json_string_value(json_object_get(params, "name"));
        const char *msg = json_string_value(json_object_get(params, "message"));

        if (strcmp(error, VARLINK_ERROR_NO_SUCH_BACKEND) == 0)
                fprintf(stderr, "corral: no backend named %s\n", name);
        else if (strcmp(error, VARLINK_ERROR_BACKEND_EXISTS) == 0)
                fprintf(stderr, "corral: a backend named %s is already running\n", name);
        else if (strcmp(error, VARLINK_ERROR_BACKEND_RUNNING) == 0)
                fprintf(stderr, "corral: %s is %s: stop it first\n", name,
                        json_string_value(json_object_get(params, "state")));
        else if (strcmp(error, VARLINK_ERROR_BACKEND_NOT_RUNNING) == 0)
                fprintf(stderr, "corral: %s is not running (%s): no process to signal\n", name,
                        json_string_value(json_object_get(params, "state")));
        else if (strcmp(error, VARLINK_ERROR_BACKEND_DECLARED) == 0)
                fprintf(stderr,
                        "corral: %s is declared in %s: change or remove that file, then corral reload\n",
                        name, json_string_value(json_object_get(params, "definition")));
        else if (strcmp(error, VARLINK_ERROR_NOT_PERMITTED) == 0)
                fprintf(stderr, "corral: not permitted: %s\n", msg);
        else if (strcmp(error, VARLINK_ERROR_START_FAILED) == 0)
                report_start_failed(name, msg, json_object_get(params, "verdict"));
        else if (strcmp(error, VARLINK_ERROR_SHUTTING_DOWN) == 0)
                fprintf(stderr, "corral: corrald is shutting down\n");
        else if (strcmp(error, VARLINK_ERROR_OUT_OF_MEMORY) == 0)
                fprintf(stderr, "corral: corrald is out of memory\n");
        else if (strcmp(error, VARLINK_ERROR_PERMISSION_DENIED) == 0)
                fprintf(stderr,
                        "corral: permission denied: only root and members of corrald's group may do this\n");
        else if (strcmp(error, VARLINK_ERROR_INVALID_PARAMETER) == 0 &&
                 spec_option_refused(a->given, json_string_value(json_object_get(params, "parameter"))) < 0)
                return CLI_EXIT_USAGE; /* a name only corrald resolves (names-deferred.c) */
        else if (strcmp(error, VARLINK_ERROR_INVALID_PARAMETER) == 0)
                fprintf(stderr, "corral: corrald refused parameter %s\n",
                        json_string_value(json_object_get(params, "parameter")));
        else {
                char *p = json_dumps(params, JSON_COMPACT);
                fprintf(stderr, "corral: %s %s\n", error, p ?: "");
                free(p);
        }
        return CLI_EXIT_FAILURE;
}

/* One call, one reply: 0 with the reply's parameters, or the exit status to use. */
static int client_call(const client_args *a, const char *method, json_t *params, json_t **ret) {
        varlink_conn c;
        json_t *reply = NULL;
        int r = client_connect(a, &c);

        if (r != 0) {
                json_decref(params);
                return r;
        }
        r = varlink_call(&c, method, params, false, &reply);
        varlink_conn_done(&c);
        if (r < 0) {
                fprintf(stderr, "corral: corrald at %s did not answer: %s\n", a->address, strerror(-r));
                return CLI_EXIT_UNREACHABLE;
        }
        json_t *p = json_object_get(reply, "parameters");
        const char *error = json_string_value(json_object_get(reply, "error"));
        if (error) {
                r = client_report_error(a, error, p);
                json_decref(reply);
                return r;
        }
        *ret = json_incref(p);
        json_decref(reply);
        return 0;
}

static void print_json(json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", s ?: "null");
        free(s);
}

static const char *jstr(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ?: "-";
}

/* A CLOCK_REALTIME µs field as local time, or "-". */
static void format_time(json_t *o, const char *key, char *buf, size_t size) {
        time_t t = (time_t) (json_integer_value(json_object_get(o, key)) / 1000000);
        struct tm tm;

        if (t <= 0 || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
                snprintf(buf, size, "-");
}

/* An integer field, or "-" where it is null (a gone backend has no pid, not pid 0). */
static void format_int(json_t *o, const char *key, char *buf, size_t size) {
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v))
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
                snprintf(buf, size, "-");
}

/* Readiness (and health, where corrald reports it): "yes", "waiting", or "-" when it has none to
 * report. */
static void format_ready(json_t *b, char *buf, size_t size) {
        json_t *ready = json_object_get(b, "ready"), *health = json_object_get(b, "health");
        const char *r = json_is_true(ready) ? "yes" : json_is_false(ready) ? "waiting" : "-";

        if (json_is_string(health))
                snprintf(buf, size, "%s, %s", r, json_string_value(health));
        else
                snprintf(buf, size, "%s", r);
}

static void print_verdict(const char *name, json_t *v, bool already) {
        json_t *sig = json_object_get(v, "signal"), *code = json_object_get(v, "exit_code");

        if (!json_is_object(v)) {
                printf("%s: already stopped\n", name);
                return;
        }
        printf("%s: %s%s (%s): %s", name, already ? "already " : "", jstr(v, "event"), jstr(v, "level"),
               jstr(v, "message"));
        if (json_is_string(sig))
                printf(", signal %s", json_string_value(sig));
        if (json_is_integer(code))
                printf(", exit code %" JSON_INTEGER_FORMAT, json_integer_value(code));
        printf("\n"); /* how its cgroup was killed, if it was, is the verdict's message to say */
}

static int verb_start(client_args *a) {
        json_t *p, *out = NULL;
        int r;

        if (!a->name || (a->command && !a->command[0]))
                return cli_usage("usage: corral start NAME [OPTIONS] -- COMMAND [ARG...], or corral start NAME"),
                       CLI_EXIT_USAGE;
        if (!name_is_valid(a->name))
                return cli_usage("invalid NAME '%s': use 1-64 of A-Z a-z 0-9 _ . @ -, not . or ..", a->name),
                       CLI_EXIT_USAGE;
        p = TAKE_PTR(a->options.params); /* Start's parameters, the backend options in them */
        if (json_object_set_new(p, "name", json_string(a->name)) < 0 ||
            (a->command && json_object_set_new(p, "command", json_strv_new(a->command)) < 0) ||
            (a->wait_ready && json_object_set_new(p, "waitReady", json_true()) < 0)) {
                json_decref(p);
                return cli_usage("invalid NAME or COMMAND: not UTF-8"), CLI_EXIT_USAGE;
        }
        r = client_call(a, IFACE "Start", p, &out);
        if (r == 0) {
                json_t *b = json_object_get(out, "backend");
                if (a->json)
                        print_json(b);
                else
                        printf("%s: started, pid %" JSON_INTEGER_FORMAT ", cgroup %s\n", a->name,
                               json_integer_value(json_object_get(b, "pid")), jstr(b, "cgroup"));
        }
        json_decref(out);
        return r;
}

static json_t *timeout_params(const client_args *a, const char *name) {
        json_t *p = name ? json_pack("{s:s}", "name", name) : json_object();
        json_t *grace = json_object_get(a->options.params, "stopTimeoutUSec");

        if (p && grace)
                json_object_set_new(p, "timeoutUSec", json_incref(grace));
        return p;
}

static int verb_stop(client_args *a) {
        json_t *out = NULL, *v;
        size_t i;
        int r;

        if (!a->name == !a->all)
                return cli_usage("usage: corral stop NAME|--all [--grace DURATION]"), CLI_EXIT_USAGE;
        r = client_call(a, a->all ? IFACE "StopAll" : IFACE "Stop", timeout_params(a, a->name), &out);
        if (r == 0 && a->json)
                print_json(out);
        else if (r == 0 && a->all)
                json_array_foreach(json_object_get(out, "verdicts"), i, v)
                        print_verdict(jstr(v, "backend"), v, false);
        else if (r == 0)
                print_verdict(a->name, json_object_get(out, "verdict"),
                              json_is_true(json_object_get(out, "alreadyStopped")));
        json_decref(out);
        return r;
}

/* A verb that calls method with the backend's name and prints nothing but, with --json, the
 * reply's key (the whole reply if key is NULL). */
static int verb_name_call(client_args *a, const char *verb, const char *method, const char *key) {
        json_t *out = NULL;
        int r;

        if (!a->name)
                return cli_usage("usage: corral %s NAME", verb), CLI_EXIT_USAGE;
        r = client_call(a, method, json_pack("{s:s}", "name", a->name), &out);
        if (r == 0 && a->json)
                print_json(key ? json_object_get(out, key) : out);
        json_decref(out);
        return r;
}

static int verb_kill(client_args *a) {
        const char *sig = a->signal ?: "SIGTERM", *whom = a->whom ?: "main";
        json_t *out = NULL;
        int r;

        if (!a->name)
                return cli_usage("usage: corral kill NAME [--signal SIG] [--whom main|all]"), CLI_EXIT_USAGE;
        r = client_call(a, IFACE "Kill",
                        json_pack("{s:s, s:s, s:s}", "name", a->name, "signal", sig, "whom", whom), &out);
        if (r == 0 && a->json)
                print_json(out);
        else if (r == 0)
                printf("%s: sent %s to %" JSON_INTEGER_FORMAT " process(es)\n", a->name,
                       signal_to_name(parse_signal(sig)),
                       json_integer_value(json_object_get(out, "processes")));
        json_decref(out);
        return r;
}

static int verb_reset_failed(client_args *a) {
        return verb_name_call(a, "reset-failed", IFACE "ResetFailed", "backend");
}

static int verb_remove(client_args *a) {
        return verb_name_call(a, "remove", IFACE "Remove", NULL);
}

static int verb_restart(client_args *a) {
        json_t *out = NULL, *p;
        int r;

        if (!a->name)
                return cli_usage("usage: corral restart NAME [--wait-ready]"), CLI_EXIT_USAGE;
        /* waitReady only when asked: a corrald before it knows no such parameter */
        p = a->wait_ready ? json_pack("{s:s, s:b}", "name", a->name, "waitReady", true)
                          : json_pack("{s:s}", "name", a->name);
        r = client_call(a, IFACE "Restart", p, &out);
        if (r == 0 && a->json)
                print_json(json_object_get(out, "backend"));
        else if (r == 0)
                printf("%s: restarted, pid %" JSON_INTEGER_FORMAT "\n", a->name,
                       json_integer_value(json_object_get(json_object_get(out, "backend"), "pid")));
        json_decref(out);
        return r;
}

#define LIST_ROW "%-24s %-10s %-8s %-19s %-8s %-7s %-12s %s\n"

static void print_backend_row(json_t *b) {
        json_t *v = json_object_get(b, "lastVerdict");
        char started[32], pid[24], restarts[24], ready[64];

        format_time(b, "started", started, sizeof(started));
        format_int(b, "pid", pid, sizeof(pid));
        format_int(b, "restarts", restarts, sizeof(restarts));
        format_ready(b, ready, sizeof(ready));
        /* a start queued behind what it is ordered after: waiting, whatever its last launch was */
        printf(LIST_ROW, jstr(b, "name"),
               json_is_array(json_object_get(b, "waitingFor")) ? "waiting" : jstr(b, "state"), pid, started,
               restarts, ready, json_is_object(v) ? jstr(v, "event") : "-", jstr(b, "definition"));
}

static int verb_list(client_args *a) {
        json_t *out = NULL, *b;
        size_t i;
        int r = client_call(a, IFACE "List", NULL, &out);

        if (r == 0 && a->json)
                print_json(json_object_get(out, "backends"));
        else if (r == 0) {
                printf(LIST_ROW, "NAME", "STATE", "PID", "STARTED", "RESTARTS", "READY", "LAST", "FILE");
                json_array_foreach(json_object_get(out, "backends"), i, b) print_backend_row(b);
        }
        json_decref(out);
        return r;
}

static void print_usage_line(const char *label, json_t *v, const char *unit, double div) {
        if (json_is_integer(v))
                printf("%-10s %.1f %s\n", label, (double) json_integer_value(v) / div, unit);
        else
                printf("%-10s -\n", label);
}

/* "a, b", or "-" for none. */
static void print_names_line(const char *label, const char *prefix, json_t *names) {
        json_t *v;
        size_t i;

        printf("%-10s %s", label, json_array_size(names) ? prefix : "-");
        json_array_foreach(names, i, v) printf("%s%s", i ? ", " : "", json_string_value(v));
        printf("\n");
}

/* A declared backend's dependencies, and what its queued start waits for. */
static void print_deps(json_t *b) {
        json_t *waiting = json_object_get(b, "waitingFor");

        if (!json_is_array(json_object_get(b, "after")))
                return;
        print_names_line("after", "", json_object_get(b, "after"));
        print_names_line("requires", "", json_object_get(b, "requires"));
        if (json_is_array(waiting) && json_array_size(waiting))
                print_names_line("waiting", "to start once ready: ", waiting);
        else if (json_is_array(waiting))
                printf("%-10s to start\n", "waiting");
}

static void print_status(json_t *b) {
        json_t *v, *cmd;
        char since[32], started[32], buf[64];
        size_t i;

        format_time(b, "since", since, sizeof(since));
        format_time(b, "started", started, sizeof(started));
        printf("%-10s %s\n%-10s %s since %s\n", "name", jstr(b, "name"), "state", jstr(b, "state"), since);
        printf("%-10s %s\n%-10s %s\n", "file", jstr(b, "definition"), "type", jstr(b, "type"));
        print_deps(b);
        format_int(b, "pid", buf, sizeof(buf));
        printf("%-10s %s\n%-10s %s\n%-10s %s\n%-10s", "pid", buf, "started", started, "cgroup",
               jstr(b, "cgroup"), "command");
        json_array_foreach((cmd = json_object_get(b, "command")), i, v) printf(" %s", json_string_value(v));
        printf("\n");
        format_ready(b, buf, sizeof(buf));
        printf("%-10s %s\n%-10s %s\n", "ready", buf, "status", jstr(b, "statusText"));
        format_int(b, "restarts", buf, sizeof(buf));
        printf("%-10s %s (Restart=%s)\n", "restarts", buf, jstr(b, "restart"));
        format_int(b, "processes", buf, sizeof(buf));
        printf("%-10s %s\n", "processes", buf);
        print_usage_line("memory", json_object_get(b, "memoryCurrent"), "MiB", 1024.0 * 1024.0);
        print_usage_line("cpu", json_object_get(b, "cpuUsageUSec"), "s", 1e6);
        if (json_is_object((v = json_object_get(b, "lastVerdict"))))
                print_verdict("last", v, false);
}

static int verb_status(client_args *a) {
        json_t *out = NULL;
        int r;

        if (!a->name)
                return cli_usage("usage: corral status NAME"), CLI_EXIT_USAGE;
        r = client_call(a, IFACE "Status", json_pack("{s:s}", "name", a->name), &out);
        if (r == 0 && a->json)
                print_json(json_object_get(out, "backend"));
        else if (r == 0)
                print_status(json_object_get(out, "backend"));
        json_decref(out);
        return r;
}

/* security FILE|NAME: the exposure report of a definition file, or of a declared backend's. */
static int verb_security(client_args *a) {
        json_t *out = NULL;
        const char *def;
        int r;

        if (!a->name)
                return cli_usage("usage: corral security FILE|NAME [--json]"), CLI_EXIT_USAGE;
        if (strchr(a->name, '/') || access(a->name, F_OK) == 0)
                return security_report_file(a->name, NULL, a->json);
        r = client_call(a, IFACE "Status", json_pack("{s:s}", "name", a->name), &out);
        if (r != 0)
                return r;
        def = json_string_value(json_object_get(json_object_get(out, "backend"), "definition"));
        if (def)
                r = security_report_file(def, a->name, a->json);
        else {
                fprintf(stderr,
                        "corral: %s was started over varlink, not from a definition file: corrald does "
                        "not report its settings; give its definition file instead\n",
                        a->name);
                r = CLI_EXIT_FAILURE;
        }
        json_decref(out);
        return r;
}

/* An event as corrald's own log writes it (the same formatter: one line a person reads, coloured on
 * a terminal unless $NO_COLOR), or as JSON. */
static void print_event(const client_args *a, json_t *ev) {
        _cleanup_free_ char *line = NULL;
        corral_event e;

        if (a->json)
                return print_json(ev);
        if (evlog_event_from_json(ev, &e) < 0 ||
            evlog_format_event_colour(&e, EVLOG_FORMAT_TEXT, evlog_colour_for(STDOUT_FILENO), &line) < 0) {
                print_json(ev); /* one this build cannot read (a newer corrald's): as it came */
                return;
        }
        printf("%s\n", line);
}

/* A call with "more": on_reply for each reply until corrald goes away (or an error). */
static int client_stream(client_args *a, const char *method, json_t *params,
                         void (*on_reply)(client_args *a, json_t *p)) {
        varlink_conn c;
        json_t *reply = NULL;
        int r = client_connect(a, &c);

        if (r != 0) {
                json_decref(params);
                return r;
        }
        (void) signal(SIGPIPE, SIG_IGN);
        for (r = varlink_call(&c, method, params, true, &reply); r >= 0;
             r = varlink_next_reply(&c, &reply)) {
                json_t *p = json_object_get(reply, "parameters");
                const char *error = json_string_value(json_object_get(reply, "error"));
                if (error) {
                        r = client_report_error(a, error, p);
                        json_decref(reply);
                        varlink_conn_done(&c);
                        return r;
                }
                on_reply(a, p);
                json_decref(reply);
        }
        varlink_conn_done(&c);
        fprintf(stderr, "corral: corrald at %s went away: %s\n", a->address, strerror(-r));
        return CLI_EXIT_UNREACHABLE;
}

static void watch_reply(client_args *a, json_t *p) {
        if (json_object_get(p, "event"))
                print_event(a, json_object_get(p, "event"));
}

static int verb_watch(client_args *a) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        return client_stream(a, IFACE "Watch", NULL, watch_reply);
}

/* Lines, not raw output: with --json, --timestamps or --streams. */
static bool logs_by_line(const client_args *a) {
        return a->json || a->timestamps || a->streams;
}

/* One line: a JSON object with --json, else its time and stream first where asked. */
static void logs_print_line(const client_args *a, const char *ts, const char *stream, const char *line,
                            size_t size) {
        if (a->json) {
                json_t *j = json_pack("{s:s, s:s, s:s%}", "ts", ts, "stream", stream, "line", line, size);
                if (j)
                        print_json(j);
                json_decref(j);
                return;
        }
        if (a->timestamps)
                printf("%s ", ts);
        if (a->streams)
                printf("%s ", stream);
        (void) fwrite(line, 1, size, stdout);
        putchar('\n');
}

/* A chunk that -f brought: added to its stream's line; each newline prints one, with the chunk's time. */
static void logs_take_chunk(client_args *a, const char *ts, const char *stream, const char *p, size_t n) {
        int s = strcmp(stream, "stderr") == 0;
        char *q = realloc(a->pending[s], a->pending_len[s] + n);

        if (!q)
                return;
        memcpy(q + a->pending_len[s], p, n);
        a->pending[s] = q;
        a->pending_len[s] += n;
        for (char *nl; (nl = memchr(a->pending[s], '\n', a->pending_len[s]));) {
                size_t k = (size_t) (nl - a->pending[s]);
                logs_print_line(a, ts, stream, a->pending[s], k);
                memmove(a->pending[s], nl + 1, a->pending_len[s] - k - 1);
                a->pending_len[s] -= k + 1;
        }
}

static void logs_print_entries(client_args *a, json_t *entries) {
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e) {
                json_t *line = json_object_get(e, "line");
                const char *ts = jstr(e, "ts"), *stream = jstr(e, "stream");
                if (a->follow && json_is_true(json_object_get(e, "partial"))) /* -f ends it */
                        logs_take_chunk(a, ts, stream, json_string_value(line) ?: "",
                                        json_string_length(line));
                else
                        logs_print_line(a, ts, stream, json_string_value(line) ?: "",
                                        json_string_length(line));
        }
}

static void logs_reply(client_args *a, json_t *p) {
        json_t *d = json_object_get(p, "data"), *entries = json_object_get(p, "entries");
        const char *launch = json_string_value(json_object_get(p, "launch"));

        if (launch && a->json)
                print_json(p);
        else if (launch) { /* -f: on stderr, so that stdout stays the backend's output */
                fflush(stdout);
                fprintf(stderr, "-- %s: a new launch begins: %s, pid %d --\n", a->name, launch,
                        (int) json_integer_value(json_object_get(p, "pid")));
        } else if (json_is_array(entries))
                logs_print_entries(a, entries);
        else if (logs_by_line(a) && json_is_string(json_object_get(p, "stream")))
                logs_take_chunk(a, jstr(p, "ts"), jstr(p, "stream"), json_string_value(d) ?: "",
                                json_string_length(d));
        else
                (void) fwrite(json_string_value(d) ?: "", 1, json_string_length(d), stdout);
        fflush(stdout);
}

static int verb_logs(client_args *a) {
        json_t *p, *out = NULL;
        int r;

        if (!a->name)
                return cli_usage("usage: corral logs NAME [-n LINES] [--since DURATION] [-f] [--timestamps] "
                                 "[--streams] [--json]"),
                       CLI_EXIT_USAGE;
        p = json_pack("{s:s, s:i, s:b}", "name", a->name, "lines", (json_int_t) a->lines, "entries",
                      logs_by_line(a));
        if (p && a->since_usec)
                (void) json_object_set_new(p, "sinceUSec", json_integer((json_int_t) a->since_usec));
        if (a->follow)
                r = client_stream(a, IFACE "Logs", p, logs_reply);
        else {
                r = client_call(a, IFACE "Logs", p, &out);
                if (r == 0)
                        logs_reply(a, out);
                json_decref(out);
        }
        for (int s = 0; s < 2; s++)
                a->pending[s] = mfree(a->pending[s]);
        return r;
}

/* The Prometheus exposition (or OpenMetrics), as corrald --metrics-listen serves it. */
static int verb_metrics(client_args *a) {
        json_t *out = NULL, *text;
        int r;

        if (a->name)
                return cli_usage("usage: corral metrics [--openmetrics]"), CLI_EXIT_USAGE;
        r = client_call(a, IFACE "Metrics", json_pack("{s:b}", "openMetrics", a->openmetrics), &out);
        if (r != 0)
                return r;
        text = json_object_get(out, "text");
        if (a->json)
                print_json(out);
        else
                (void) fwrite(json_string_value(text) ?: "", 1, json_string_length(text), stdout);
        json_decref(out);
        return 0;
}

static void print_names(const char *what, json_t *a) {
        size_t i;
        json_t *v;

        if (json_array_size(a) == 0)
                return;
        printf("%s:", what);
        json_array_foreach(a, i, v) printf(" %s", json_string_value(v));
        printf("\n");
}

/* corral reload NAME...: each reloaded as its definition says; waits for each, says how it went. */
static int verb_reload(client_args *a) {
        json_t *out = NULL, *params, *names, *v;
        size_t i;
        int r, failed = 0;

        if (a->n_names == 0)
                return cli_usage("usage: corral reload NAME... (to read the definition files again: corral "
                                 "daemon-reload)"),
                       CLI_EXIT_USAGE;
        names = json_array();
        for (size_t k = 0; names && k < a->n_names; k++)
                json_array_append_new(names, json_string(a->names[k]));
        params = json_pack("{s:o}", "names", names);
        if (!params)
                return cli_usage("out of memory"), CLI_EXIT_USAGE;
        r = client_call(a, IFACE "ReloadBackend", params, &out); /* params taken */
        if (r != 0)
                return r;
        if (a->json)
                print_json(out);
        json_array_foreach(json_object_get(out, "backends"), i, v) {
                const char *res = json_string_value(json_object_get(v, "result")) ?: "failed";
                failed += strcmp(res, "ok") != 0;
                if (!a->json)
                        fprintf(strcmp(res, "ok") == 0 ? stdout : stderr, "%s: %s: %s\n",
                                json_string_value(json_object_get(v, "name")),
                                strcmp(res, "ok") == 0 ? "reloaded" : res,
                                json_string_value(json_object_get(v, "message")) ?: "");
        }
        json_decref(out);
        return failed ? CLI_EXIT_FAILURE : 0;
}

static int verb_daemon_reload(client_args *a) {
        json_t *out = NULL, *problems, *v;
        size_t i;
        int r;

        if (a->name)
                return cli_usage("usage: corral daemon-reload"), CLI_EXIT_USAGE;
        r = client_call(a, IFACE "DaemonReload", NULL, &out);
        if (r != 0)
                return r;
        problems = json_object_get(out, "problems");
        if (a->json)
                print_json(out);
        else {
                print_names("started", json_object_get(out, "started"));
                print_names("stopped", json_object_get(out, "stopped"));
                print_names("restarted", json_object_get(out, "restarted"));
                json_array_foreach(problems, i, v) fprintf(stderr, "%s\n", json_string_value(v));
        }
        r = json_array_size(problems) > 0 ? CLI_EXIT_FAILURE : 0;
        json_decref(out);
        return r;
}

/* jansson seeds its hash function at the first object from /dev/urandom (open, read, close): one
 * getrandom() does it for a command that lives a millisecond (docs/benchmarks.md, §7). If that
 * fails, jansson seeds itself as before. */
static void client_seed_json(void) {
        uint32_t seed;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t) sizeof(seed) && seed != 0)
                json_object_seed(seed);
}

int verb_client(int argc, char **argv, const cli_globals *g) {
        static const struct {
                const char *verb;
                int (*run)(client_args *a);
        } verbs[] = {
                { "start", verb_start },     { "stop", verb_stop },
                { "kill", verb_kill },       { "restart", verb_restart },
                { "list", verb_list },       { "status", verb_status },
                { "watch", verb_watch },     { "reset-failed", verb_reset_failed },
                { "remove", verb_remove },   { "logs", verb_logs },
                { "reload", verb_reload },   { "daemon-reload", verb_daemon_reload },
                { "metrics", verb_metrics }, { "security", verb_security },
        };
        client_args a;
        int r;

        client_seed_json();
        r = client_parse(argc, argv, g, &a);
        if (r == 0) {
                r = CLI_EXIT_USAGE;
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (strcmp(argv[0], verbs[i].verb) == 0)
                                r = verbs[i].run(&a);
        } else
                r = r < 0 ? CLI_EXIT_USAGE : 0;
        corral_spec_free(a.options.spec);
        json_decref(a.options.params);
        free(a.names);
        return r;
}
