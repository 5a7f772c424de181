/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec-options.c: the options that describe a backend, shared by `corral run` and `corral start`:
 * parsed and checked once, then made into a corral_spec (run) or Start parameters (start). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "macro.h"
#include "parse.h"
#include "spec-options.h"

enum {
        O_TYPE = SPEC_OPT_FIRST,
        O_STOP_SIGNAL,
        O_GRACE,
        O_ENV,
        O_CLEAR_ENV,
        O_WORKDIR,
        O_RESTART,
        O_RESTART_DELAY,
        O_RESTART_MAX_DELAY,
        O_RESTART_RESET,
        O_RESTART_LIMIT,
        O_USER,
        O_GROUP,
        O_UMASK,
        O_RLIMIT,
        O_NO_NEW_PRIVS,
        O_READY,
        O_START_TIMEOUT,
        O_WATCHDOG,
        O_MEMORY_MAX,
        O_PIDS_MAX,
        O_CPU_MAX,
        O_CPU_WEIGHT,
        O_LOG_FILE,
        O_LOG_BUFFER,
        _O_END,
};

static const struct option spec_options[] = {
        { "type", required_argument, NULL, O_TYPE },
        { "stop-signal", required_argument, NULL, O_STOP_SIGNAL },
        { "grace", required_argument, NULL, O_GRACE },
        { "env", required_argument, NULL, O_ENV },
        { "clear-env", no_argument, NULL, O_CLEAR_ENV },
        { "workdir", required_argument, NULL, O_WORKDIR },
        { "restart", required_argument, NULL, O_RESTART },
        { "restart-delay", required_argument, NULL, O_RESTART_DELAY },
        { "restart-max-delay", required_argument, NULL, O_RESTART_MAX_DELAY },
        { "restart-reset", required_argument, NULL, O_RESTART_RESET },
        { "restart-limit", required_argument, NULL, O_RESTART_LIMIT },
        { "user", required_argument, NULL, O_USER },
        { "group", required_argument, NULL, O_GROUP },
        { "umask", required_argument, NULL, O_UMASK },
        { "rlimit", required_argument, NULL, O_RLIMIT },
        { "no-new-privileges", no_argument, NULL, O_NO_NEW_PRIVS },
        { "ready", required_argument, NULL, O_READY },
        { "start-timeout", required_argument, NULL, O_START_TIMEOUT },
        { "watchdog", required_argument, NULL, O_WATCHDOG },
        { "memory-max", required_argument, NULL, O_MEMORY_MAX },
        { "pids-max", required_argument, NULL, O_PIDS_MAX },
        { "cpu-max", required_argument, NULL, O_CPU_MAX },
        { "cpu-weight", required_argument, NULL, O_CPU_WEIGHT },
        { "log-file", required_argument, NULL, O_LOG_FILE },
        { "log-buffer", required_argument, NULL, O_LOG_BUFFER },
        {},
};

const char spec_options_help[] =
        "  --type service|task    service: any exit not asked for is unexpected (default);\n"
        "                         task: exit 0 is success\n"
        "  --stop-signal SIGNAL   signal that asks it to stop (default SIGTERM)\n"
        "  --grace DURATION       time before the cgroup is killed (default 15s)\n"
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
        "  --memory-max SIZE      memory limit of its cgroup (512M, 2G; OOM kill beyond)\n"
        "  --pids-max N           at most N processes and threads\n"
        "  --cpu-max PERCENT      CPU quota, as 50% or 200% (two CPUs)\n"
        "  --cpu-weight N         CPU weight, 1-10000 (default 100)\n"
        "  --log-buffer SIZE      keep this much of its output for `corral logs` (default 1M; 0: none)\n"
        "  --log-file PATH        also append its output to PATH, rotated at 10M (PATH.1 .. PATH.3)\n"
        "  --user USER, --group GROUP  run as them (names or numbers; the user's groups too)\n"
        "  --umask MODE           octal, as 027\n"
        "  --workdir DIR          working directory (absolute)\n"
        "  --env KEY=VALUE        added to the environment (repeatable)\n"
        "  --clear-env            start from an empty environment, then --env\n"
        "  --rlimit NAME=SOFT[:HARD]  nofile, core, nproc, ... (repeatable; infinity)\n"
        "  --no-new-privileges    set no_new_privs: no setuid binary can gain privileges\n";

struct option *spec_options_merge(const struct option *own) {
        size_t n_own = 0, n_spec = ELEMENTSOF(spec_options);
        struct option *o;

        while (own[n_own].name)
                n_own++;
        o = calloc(n_own + n_spec, sizeof(*o)); /* spec_options ends with the terminator */
        if (!o)
                return NULL;
        memcpy(o, own, n_own * sizeof(*o));
        memcpy(o + n_own, spec_options, n_spec * sizeof(*o));
        return o;
}

bool spec_option_is(int opt) {
        return opt >= SPEC_OPT_FIRST && opt < _O_END;
}

static const char *spec_option_name(int opt) {
        for (const struct option *o = spec_options; o->name; o++)
                if (o->val == opt)
                        return o->name;
        return "?";
}

static int strv_push(char ***l, size_t *n, const char *v) {
        char **t = realloc(*l, (*n + 2) * sizeof(char *));

        if (!t)
                return -ENOMEM;
        *l = t;
        t[(*n)++] = (char *) v;
        t[*n] = NULL;
        return 0;
}

/* The durations, by option. */
static uint64_t *spec_duration(spec_args *a, int opt) {
        switch (opt) {
        case O_GRACE:
                return &a->grace;
        case O_RESTART_DELAY:
                return &a->restart_delay;
        case O_RESTART_MAX_DELAY:
                return &a->restart_max_delay;
        case O_RESTART_RESET:
                return &a->restart_reset;
        case O_START_TIMEOUT:
                return &a->start_timeout;
        case O_WATCHDOG:
                return &a->watchdog;
        }
        return NULL;
}

static int spec_parse_limit(int opt, const char *v, spec_args *a) {
        uint64_t q, p;

        switch (opt) {
        case O_MEMORY_MAX:
                if (parse_size(v, &a->memory_max) < 0 || a->memory_max == 0)
                        return cli_usage("invalid --memory-max '%s': expected a size such as 512M or 2G", v);
                return 0;
        case O_LOG_BUFFER:
                if (parse_size(v, &a->log_buffer) < 0 || a->log_buffer == SPEC_UNSET)
                        return cli_usage("invalid --log-buffer '%s': expected a size such as 1M, or 0", v);
                return 0;
        case O_PIDS_MAX:
                if (parse_count(v, &a->pids_max) < 0 || a->pids_max == 0)
                        return cli_usage("invalid --pids-max '%s': expected a number of processes", v);
                return 0;
        case O_CPU_WEIGHT:
                if (parse_count(v, &a->cpu_weight) < 0 || a->cpu_weight < 1 || a->cpu_weight > 10000)
                        return cli_usage("invalid --cpu-weight '%s': expected 1 to 10000", v);
                return 0;
        case O_CPU_MAX:
                a->cpu_max = v;
                if (parse_cpu_quota(v, &q, &p) < 0)
                        return cli_usage(
                                "invalid --cpu-max '%s': expected a percentage such as 50%% or 200%%", v);
                return 0;
        }
        return cli_usage("unknown option");
}

static int spec_parse_privileges(int opt, const char *v, spec_args *a) {
        int res;
        uint64_t soft, hard;
        char *end;
        unsigned long m;

        switch (opt) {
        case O_USER:
                a->user = v;
                return *v ? 0 : cli_usage("invalid --user '': expected a name or a number");
        case O_GROUP:
                a->group = v;
                return *v ? 0 : cli_usage("invalid --group '': expected a name or a number");
        case O_WORKDIR:
                a->workdir = v;
                return *v == '/' ? 0 : cli_usage("invalid --workdir '%s': expected an absolute path", v);
        case O_UMASK:
                m = strtoul(v, &end, 8);
                a->umask = (int) m;
                return *v && !*end && m <= 0777
                        ? 0
                        : cli_usage("invalid --umask '%s': expected octal, such as 027", v);
        case O_ENV:
                if (!strchr(v, '=') || *v == '=')
                        return cli_usage("invalid --env '%s': expected KEY=VALUE", v);
                return strv_push(&a->env, &a->n_env, v);
        case O_RLIMIT:
                if (parse_rlimit(v, &res, &soft, &hard) < 0)
                        return cli_usage(
                                "invalid --rlimit '%s': expected NAME=SOFT[:HARD] such as nofile=1024:4096",
                                v);
                return strv_push(&a->rlimits, &a->n_rlimits, v);
        case O_CLEAR_ENV:
                a->clear_env = true;
                return 0;
        case O_NO_NEW_PRIVS:
                a->no_new_privs = true;
                return 0;
        }
        return spec_parse_limit(opt, v, a);
}

/* --ready is checked by the library's own parser, on a spec of its own. */
static bool ready_is_valid(const char *v) {
        corral_spec *t = NULL;
        int k = corral_spec_new(&t);

        if (k >= 0)
                k = corral_spec_set_ready_string(t, v, 0);
        corral_spec_free(t);
        return k >= 0;
}

int spec_option_parse(int opt, const char *v, spec_args *a) {
        uint64_t *d = spec_duration(a, opt);
        unsigned burst;
        uint64_t window;

        if (d)
                return parse_duration(v, d) < 0
                        ? cli_usage("invalid --%s '%s': expected a duration such as 500ms, 15s or 2min",
                                    spec_option_name(opt), v)
                        : 0;
        switch (opt) {
        case O_TYPE:
                a->type = v;
                return strcmp(v, "service") == 0 || strcmp(v, "task") == 0
                        ? 0
                        : cli_usage("invalid --type '%s': expected service or task", v);
        case O_STOP_SIGNAL:
                a->stop_signal = v;
                return parse_signal(v) > 0
                        ? 0
                        : cli_usage("invalid --stop-signal '%s': expected a signal such as SIGTERM or 15",
                                    v);
        case O_RESTART:
                a->restart = v;
                return corral_restart_from_string(v) >= 0
                        ? 0
                        : cli_usage("invalid --restart '%s': expected no, on-failure or always", v);
        case O_RESTART_LIMIT:
                a->restart_limit = v;
                return parse_restart_limit(v, &burst, &window) >= 0
                        ? 0
                        : cli_usage("invalid --restart-limit '%s': expected N/WINDOW such as 5/1min, N up "
                                    "to 64",
                                    v);
        case O_READY:
                a->ready = v;
                return ready_is_valid(v) ? 0
                                         : cli_usage("invalid --ready '%s': expected none, notify or "
                                                     "tcp:HOST:PORT (a numeric address or localhost)",
                                                     v);
        case O_LOG_FILE:
                a->log_file = v;
                return *v == '/' ? 0 : cli_usage("invalid --log-file '%s': expected an absolute path", v);
        }
        return spec_parse_privileges(opt, v, a);
}

void spec_args_done(spec_args *a) {
        free(a->env);
        free(a->rlimits);
        a->env = a->rlimits = NULL;
        a->n_env = a->n_rlimits = 0;
}

static uint64_t or (uint64_t v, uint64_t dflt) {
        return v == SPEC_UNSET ? dflt : v;
}

static int spec_args_restart(const spec_args *a, corral_spec *s) {
        int policy = a->restart ? corral_restart_from_string(a->restart) : CORRAL_RESTART_NO;
        unsigned burst = 5;
        uint64_t window = 60 * USEC_PER_SEC;
        int r = policy < 0 ? policy
                           : corral_spec_set_restart(s, (corral_restart) policy,
                                                     or (a->restart_delay, 100 * USEC_PER_MSEC), 2,
                                                     or (a->restart_max_delay, 300 * USEC_PER_SEC),
                                                     or (a->restart_reset, 10 * USEC_PER_SEC));

        if (r >= 0 && a->restart_limit)
                r = parse_restart_limit(a->restart_limit, &burst, &window);
        if (r >= 0)
                r = corral_spec_set_restart_limit(s, burst, window);
        return r;
}

static int spec_args_limits(const spec_args *a, corral_spec *s) {
        uint64_t q, p;
        int r = 0;

        if (a->memory_max != SPEC_UNSET)
                r = corral_spec_set_memory_max(s, a->memory_max);
        if (r >= 0 && a->pids_max != SPEC_UNSET)
                r = corral_spec_set_pids_max(s, a->pids_max);
        if (r >= 0 && a->cpu_weight != SPEC_UNSET)
                r = corral_spec_set_cpu_weight(s, a->cpu_weight);
        if (r >= 0 && a->cpu_max)
                r = parse_cpu_quota(a->cpu_max, &q, &p);
        if (r >= 0 && a->cpu_max)
                r = corral_spec_set_cpu_max(s, q, p);
        if (r >= 0 && a->log_buffer != SPEC_UNSET)
                r = corral_spec_set_log_buffer(s, a->log_buffer);
        if (r >= 0 && a->log_file)
                r = corral_spec_set_log_file(s, a->log_file, 0);
        return r;
}

static int spec_args_privileges(const spec_args *a, corral_spec *s) {
        int r = corral_spec_set_user(s, a->user);

        if (r >= 0)
                r = corral_spec_set_group(s, a->group);
        if (r >= 0)
                r = corral_spec_set_working_directory(s, a->workdir);
        if (r >= 0)
                r = corral_spec_set_umask(s, a->umask);
        if (r >= 0)
                r = corral_spec_set_no_new_privileges(s, a->no_new_privs);
        if (r >= 0 && (a->clear_env || a->env))
                r = a->clear_env ? corral_spec_set_environment(s, a->env ?: (char *[]){ NULL })
                                 : corral_spec_add_environment(s, a->env);
        for (size_t i = 0; r >= 0 && i < a->n_rlimits; i++) {
                int res;
                uint64_t soft, hard;
                r = parse_rlimit(a->rlimits[i], &res, &soft, &hard);
                if (r >= 0)
                        r = corral_spec_set_rlimit(s, res, soft, hard);
        }
        return r;
}

int spec_args_to_spec(const spec_args *a, corral_spec *s) {
        int r = 0;

        if (a->type)
                r = corral_spec_set_type(
                        s, strcmp(a->type, "task") == 0 ? CORRAL_TYPE_TASK : CORRAL_TYPE_SERVICE);
        if (r >= 0 && a->stop_signal)
                r = corral_spec_set_stop_signal(s, parse_signal(a->stop_signal));
        if (r >= 0 && a->grace != SPEC_UNSET)
                r = corral_spec_set_grace(s, a->grace);
        if (r >= 0)
                r = spec_args_restart(a, s);
        if (r >= 0)
                r = corral_spec_set_ready_string(s, a->ready ?: "none",
                                                 or (a->start_timeout, 90 * USEC_PER_SEC));
        if (r >= 0 && a->watchdog != SPEC_UNSET)
                r = corral_spec_set_watchdog(s, a->watchdog);
        if (r >= 0)
                r = spec_args_limits(a, s);
        if (r >= 0)
                r = spec_args_privileges(a, s);
        return r;
}

static void json_set_strv(json_t *p, const char *key, char **l) {
        json_t *a = json_array();

        for (char **c = l; c && *c; c++)
                json_array_append_new(a, json_string(*c));
        json_object_set_new(p, key, a);
}

int spec_args_to_json(const spec_args *a, json_t *p) {
        const struct {
                const char *key, *v;
        } strings[] = {
                { "type", a->type },
                { "stopSignal", a->stop_signal },
                { "restart", a->restart },
                { "restartLimit", a->restart_limit },
                { "user", a->user },
                { "group", a->group },
                { "workingDirectory", a->workdir },
                { "ready", a->ready },
                { "cpuMax", a->cpu_max },
                { "logFile", a->log_file },
        };
        const struct {
                const char *key;
                uint64_t v;
        } numbers[] = {
                { "stopTimeoutUSec", a->grace },
                { "restartDelayUSec", a->restart_delay },
                { "restartMaxDelayUSec", a->restart_max_delay },
                { "restartResetUSec", a->restart_reset },
                { "startTimeoutUSec", a->start_timeout },
                { "watchdogUSec", a->watchdog },
                { "memoryMax", a->memory_max },
                { "pidsMax", a->pids_max },
                { "cpuWeight", a->cpu_weight },
                { "logBuffer", a->log_buffer },
        };

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strings[i].v)
                        json_object_set_new(p, strings[i].key, json_string(strings[i].v));
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++)
                if (numbers[i].v != SPEC_UNSET && numbers[i].v <= (uint64_t) INT64_MAX)
                        json_object_set_new(p, numbers[i].key, json_integer((json_int_t) numbers[i].v));
        if (a->umask >= 0)
                json_object_set_new(p, "umask", json_integer(a->umask));
        if (a->clear_env)
                json_object_set_new(p, "clearEnvironment", json_true());
        if (a->no_new_privs)
                json_object_set_new(p, "noNewPrivileges", json_true());
        if (a->env)
                json_set_strv(p, "environment", a->env);
        if (a->rlimits)
                json_set_strv(p, "rlimits", a->rlimits);
        return 0;
}
