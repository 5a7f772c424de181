/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spec.c: a backend's spec: what to start, as whom, with what limits, and how to stop it. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral-private.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"

#define GRACE_DEFAULT_USEC (15 * USEC_PER_SEC)

int corral_spec_new(corral_spec **ret) {
        corral_spec *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->type = CORRAL_TYPE_SERVICE;
        s->stop_signal = SIGTERM;
        s->grace_usec = GRACE_DEFAULT_USEC;
        s->umask = -1;
        s->start_timeout_usec = 90 * USEC_PER_SEC;
        s->health_interval_usec = 30 * USEC_PER_SEC;
        s->health_timeout_usec = 10 * USEC_PER_SEC;
        s->health_failures = 3;
        s->limits = CGROUP_LIMITS_NONE;
        s->output = CORRAL_OUTPUT_CAPTURE;
        s->log_buffer = 1024 * 1024;
        s->log_file_max = 10 * 1024 * 1024;
        s->log_file_keep = 3;
        s->log_journal = true;
        s->restart = (restart_policy){ .policy = CORRAL_RESTART_NO,
                                       .initial_usec = 100 * USEC_PER_MSEC,
                                       .factor = 2,
                                       .max_usec = 300 * USEC_PER_SEC,
                                       .reset_usec = 10 * USEC_PER_SEC,
                                       .limit_burst = 5,
                                       .limit_interval_usec = 60 * USEC_PER_SEC };
        *ret = s;
        return 0;
}

corral_spec *corral_spec_freeze(corral_spec *s) {
        if (s)
                s->frozen = true;
        return s;
}

corral_spec *corral_spec_free(corral_spec *s) {
        if (s && s->n_ref > 1)
                s->n_ref--;
        else if (s) {
                free(s->name);
                strv_free(s->argv);
                strv_free(s->envp);
                free(s->cwd);
                free(s->user);
                free(s->group);
                free(s->log_file);
                check_done(&s->ready_check);
                check_done(&s->health);
                strv_free(s->exec_start_pre);
                strv_free(s->exec_stop_post);
                strv_free(s->exec_reload);
                strv_free(s->env_files);
                free(s->rlimits);
                sandbox_settings_done(&s->sandbox);
                free(s);
        }
        return NULL;
}

int corral_spec_set_name(corral_spec *s, const char *name) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        char *n;

        if (!name_is_valid(name))
                return -EINVAL;
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        free(s->name);
        s->name = n;
        return 0;
}

int corral_spec_set_argv(corral_spec *s, char *const *argv) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        char **v;
        int r;

        if (!argv || !argv[0] || !*argv[0])
                return -EINVAL;
        r = strv_copy(argv, &v);
        if (r < 0)
                return r;
        strv_free(s->argv);
        s->argv = v;
        return 0;
}

int corral_spec_set_environment(corral_spec *s, char *const *envp) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        char **v = NULL;
        int r;

        for (char *const *e = envp; e && *e; e++)
                if (!strchr(*e, '=') || **e == '=')
                        return -EINVAL;
        if (envp && (r = strv_copy(envp, &v)) < 0)
                return r;
        strv_free(s->envp);
        s->envp = v;
        s->env_extend = false;
        return 0;
}

int corral_spec_add_environment(corral_spec *s, char *const *envp) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        int r = corral_spec_set_environment(s, envp);

        if (r >= 0)
                s->env_extend = true;
        return r;
}

/* The environment is one of: the supervisor's (envp NULL, !env_extend: the default), envp over
 * it (env_extend), or envp alone (envp not NULL, !env_extend). The two setters below move
 * between them so that the order they are called in does not matter. */
int corral_spec_append_environment(corral_spec *s, const char *assignment) {
        bool inherited = !s->envp;
        char *c;
        int r;

        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (!assignment || !strchr(assignment, '=') || assignment[0] == '=')
                return -EINVAL;
        c = strdup(assignment);
        if (!c)
                return -ENOMEM;
        r = strv_push(&s->envp, c);
        if (r >= 0 && inherited)
                s->env_extend = true;
        return r;
}

int corral_spec_set_clear_environment(corral_spec *s, bool clear) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (clear) {
                if (!s->envp && strv_copy(NULL, &s->envp) < 0)
                        return -ENOMEM;
                s->env_extend = false;
        } else if (s->envp && s->envp[0])
                s->env_extend = true;
        else {
                s->envp = strv_free(s->envp);
                s->env_extend = false;
        }
        return 0;
}

static int set_string(char **field, const char *v) {
        char *c = v ? strdup(v) : NULL;

        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

int corral_spec_set_user(corral_spec *s, const char *user) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return user && !*user ? -EINVAL : set_string(&s->user, user);
}

int corral_spec_set_group(corral_spec *s, const char *group) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return group && !*group ? -EINVAL : set_string(&s->group, group);
}

int corral_spec_set_no_new_privileges(corral_spec *s, bool enable) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->no_new_privs = enable;
        return 0;
}

int corral_spec_set_umask(corral_spec *s, int mask) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (mask < -1 || mask > 0777)
                return -EINVAL;
        s->umask = mask;
        return 0;
}

int corral_spec_set_rlimit(corral_spec *s, int resource, uint64_t soft, uint64_t hard) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        size_t i = 0;

        if (resource < 0 || resource >= RLIMIT_NLIMITS || soft > hard)
                return -EINVAL;
        while (i < s->n_rlimits && s->rlimits[i].resource != resource)
                i++;
        if (i == SPEC_RLIMITS_MAX)
                return -E2BIG;
        if (!s->rlimits && !(s->rlimits = calloc(SPEC_RLIMITS_MAX, sizeof(*s->rlimits))))
                return -ENOMEM; /* allocated by the first: most specs set none */
        s->rlimits[i] =
                (spawn_rlimit){ .resource = resource, .limit = { .rlim_cur = soft, .rlim_max = hard } };
        if (i == s->n_rlimits)
                s->n_rlimits++;
        return 0;
}

int corral_spec_set_working_directory(corral_spec *s, const char *path) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        char *p = NULL;

        if (path && *path != '/')
                return -EINVAL;
        if (path && !(p = strdup(path)))
                return -ENOMEM;
        free(s->cwd);
        s->cwd = p;
        return 0;
}

int corral_spec_set_restart(corral_spec *s, corral_restart policy, uint64_t initial_usec, unsigned factor,
                            uint64_t max_usec, uint64_t reset_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (!corral_restart_to_string(policy) || factor == 0 || max_usec < initial_usec)
                return -EINVAL;
        (void) corral_spec_set_restart_policy(s, policy);
        (void) corral_spec_set_restart_delay(s, initial_usec);
        (void) corral_spec_set_restart_max_delay(s, max_usec);
        (void) corral_spec_set_restart_reset(s, reset_usec);
        s->restart.factor = factor;
        return 0;
}

int corral_spec_set_restart_policy(corral_spec *s, corral_restart policy) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (!corral_restart_to_string(policy))
                return -EINVAL;
        s->restart.policy = policy;
        return 0;
}

int corral_spec_set_restart_delay(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->restart.initial_usec = usec;
        return 0;
}

int corral_spec_set_restart_max_delay(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->restart.max_usec = usec;
        return 0;
}

int corral_spec_set_restart_reset(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->restart.reset_usec = usec;
        return 0;
}

int corral_spec_set_restart_limit(corral_spec *s, unsigned burst, uint64_t interval_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        int r = corral_spec_set_restart_limit_burst(s, burst);

        if (r >= 0)
                r = corral_spec_set_restart_limit_interval(s, interval_usec);
        return r;
}

int corral_spec_set_restart_limit_burst(corral_spec *s, unsigned burst) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (burst > RECORD_RESTART_HISTORY)
                return -ERANGE;
        s->restart.limit_burst = burst;
        return 0;
}

int corral_spec_set_restart_limit_interval(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->restart.limit_interval_usec = usec;
        return 0;
}

int corral_spec_share(const corral_spec *s, corral_spec **ret) {
        if (!s->frozen)
                return corral_spec_copy(s, ret);
        *ret = (corral_spec *) s; /* frozen: what it points to is never changed again */
        (*ret)->n_ref++;
        return 0;
}

int corral_spec_copy(const corral_spec *s, corral_spec **ret) {
        corral_spec *c = malloc(sizeof(*c));
        int r = c ? 0 : -ENOMEM;

        if (r < 0)
                return r;
        *c = *s; /* every scalar and array; each pointer is replaced by a copy of its own below */
        c->n_ref = 1;
        c->frozen = false;
        c->name = c->cwd = c->user = c->group = c->log_file = NULL;
        c->argv = c->envp = NULL;
        c->rlimits = NULL;
        c->ready_check.text = c->health.text = NULL;
        c->exec_start_pre = c->exec_stop_post = c->exec_reload = c->env_files = NULL;
        r = sandbox_settings_copy(&c->sandbox, &s->sandbox);
        if (r < 0) {
                c->sandbox = (sandbox_settings){ 0 };
                corral_spec_free(c);
                return r;
        }
        r = s->name ? corral_spec_set_name(c, s->name) : 0;
        if (r >= 0)
                r = check_copy(&s->ready_check, &c->ready_check);
        if (r >= 0)
                r = check_copy(&s->health, &c->health);
        if (r >= 0 && s->argv)
                r = corral_spec_set_argv(c, s->argv);
        if (r >= 0)
                r = s->env_extend ? corral_spec_add_environment(c, s->envp)
                                  : corral_spec_set_environment(c, s->envp);
        if (r >= 0)
                r = corral_spec_set_working_directory(c, s->cwd);
        if (r >= 0)
                r = corral_spec_set_user(c, s->user);
        if (r >= 0)
                r = corral_spec_set_group(c, s->group);
        if (r >= 0 && s->log_file)
                r = corral_spec_set_log_file(c, s->log_file, s->log_file_max);
        c->log_file_keep = s->log_file_keep;
        if (r >= 0 && s->exec_start_pre)
                r = strv_copy(s->exec_start_pre, &c->exec_start_pre);
        if (r >= 0 && s->exec_stop_post)
                r = strv_copy(s->exec_stop_post, &c->exec_stop_post);
        if (r >= 0 && s->exec_reload)
                r = strv_copy(s->exec_reload, &c->exec_reload);
        if (r >= 0 && s->env_files)
                r = strv_copy(s->env_files, &c->env_files);
        if (r >= 0 && s->rlimits && !(c->rlimits = malloc(SPEC_RLIMITS_MAX * sizeof(*c->rlimits))))
                r = -ENOMEM;
        else if (r >= 0 && s->rlimits)
                memcpy(c->rlimits, s->rlimits, SPEC_RLIMITS_MAX * sizeof(*c->rlimits));
        if (r < 0) {
                corral_spec_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int corral_spec_set_ready(corral_spec *s, corral_ready mode, uint64_t start_timeout_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (mode != CORRAL_READY_NONE && mode != CORRAL_READY_NOTIFY)
                return -EINVAL;
        check_done(&s->ready_check);
        s->ready = mode;
        s->start_timeout_usec = start_timeout_usec;
        return 0;
}

int corral_spec_set_ready_tcp(corral_spec *s, const char *host, unsigned port, uint64_t start_timeout_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        spec_check c = { .kind = CHECK_TCP };
        int r = check_addr(host, port, &c.addr, &c.addr_len);
        bool v6 = c.addr.ss_family == AF_INET6;

        if (r < 0)
                return r;
        if (asprintf(&c.text, "tcp:%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
                return -ENOMEM;
        check_done(&s->ready_check);
        s->ready_check = c;
        s->ready = CORRAL_READY_TCP;
        s->start_timeout_usec = start_timeout_usec;
        return 0;
}

static const corral_ready ready_of_check[] = {
        [CHECK_TCP] = CORRAL_READY_TCP,
        [CHECK_HTTP] = CORRAL_READY_HTTP,
        [CHECK_EXEC] = CORRAL_READY_EXEC,
};

int corral_spec_set_ready_string(corral_spec *s, const char *ready, uint64_t start_timeout_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        spec_check c;
        int r;

        if (!ready)
                return -EINVAL;
        if (strcmp(ready, "none") == 0 || strcmp(ready, "notify") == 0) {
                check_done(&s->ready_check);
                return corral_spec_set_ready(
                        s, strcmp(ready, "notify") == 0 ? CORRAL_READY_NOTIFY : CORRAL_READY_NONE,
                        start_timeout_usec);
        }
        r = check_parse(ready, &c);
        if (r < 0)
                return r;
        check_done(&s->ready_check);
        s->ready_check = c;
        s->ready = ready_of_check[c.kind];
        s->start_timeout_usec = start_timeout_usec;
        return 0;
}

int corral_spec_set_readiness(corral_spec *s, const char *ready) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return corral_spec_set_ready_string(s, ready, s->start_timeout_usec);
}

int corral_spec_set_health_check(corral_spec *s, const char *check) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        spec_check c = { 0 };
        int r = check && *check && strcmp(check, "none") != 0 ? check_parse(check, &c) : 0;

        if (r < 0)
                return r;
        check_done(&s->health);
        s->health = c;
        return 0;
}

int corral_spec_set_health_check_interval(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (usec == 0 || usec == UINT64_MAX)
                return -EINVAL;
        s->health_interval_usec = usec;
        return 0;
}

int corral_spec_set_health_check_timeout(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (usec == 0 || usec == UINT64_MAX)
                return -EINVAL;
        s->health_timeout_usec = usec;
        return 0;
}

int corral_spec_set_health_check_failures(corral_spec *s, unsigned n) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (n == 0 || n > 1000)
                return -ERANGE;
        s->health_failures = n;
        return 0;
}

int corral_spec_set_start_timeout(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->start_timeout_usec = usec;
        return 0;
}

const char *corral_spec_get_name(const corral_spec *s) {
        return s ? s->name : NULL;
}

char *const *corral_spec_get_argv(const corral_spec *s) {
        return s ? s->argv : NULL;
}

corral_type corral_spec_get_type(const corral_spec *s) {
        return s ? s->type : CORRAL_TYPE_SERVICE;
}

const char *corral_spec_get_health_check(const corral_spec *s) {
        return s ? s->health.text : NULL;
}

corral_restart corral_spec_get_restart(const corral_spec *s) {
        return s ? s->restart.policy : CORRAL_RESTART_NO;
}

int corral_spec_set_watchdog(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->watchdog_usec = usec;
        return 0;
}

int corral_spec_set_type(corral_spec *s, corral_type type) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (type != CORRAL_TYPE_SERVICE && type != CORRAL_TYPE_TASK)
                return -EINVAL;
        s->type = type;
        return 0;
}

int corral_spec_set_stop_signal(corral_spec *s, int sig) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (!signal_to_name(sig))
                return -EINVAL;
        s->stop_signal = sig;
        return 0;
}

int corral_spec_set_grace(corral_spec *s, uint64_t usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (usec == CORRAL_GRACE_DEFAULT)
                return -EINVAL;
        s->grace_usec = usec;
        return 0;
}

int corral_spec_set_kill_mode(corral_spec *s, corral_kill_mode mode) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (!corral_kill_mode_to_string(mode))
                return -EINVAL;
        s->kill_mode = mode;
        return 0;
}

int corral_spec_set_memory_max(corral_spec *s, uint64_t bytes) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (bytes == 0)
                return -EINVAL;
        s->limits.memory_max = bytes;
        return 0;
}

int corral_spec_set_pids_max(corral_spec *s, uint64_t n) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (n == 0)
                return -EINVAL;
        s->limits.pids_max = n;
        return 0;
}

int corral_spec_set_cpu_max(corral_spec *s, uint64_t quota_usec, uint64_t period_usec) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        /* the kernel's bounds for cpu.max and cpu.cfs_period_us */
        if (quota_usec != CORRAL_LIMIT_NONE &&
            (quota_usec < 1000 || period_usec < 1000 || period_usec > 1000000))
                return -ERANGE;
        s->limits.cpu_quota_usec = quota_usec;
        s->limits.cpu_period_usec = period_usec;
        return 0;
}

int corral_spec_set_cpu_weight(corral_spec *s, uint64_t weight) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (weight != CORRAL_LIMIT_NONE && (weight < 1 || weight > 10000))
                return -ERANGE;
        s->limits.cpu_weight = weight;
        return 0;
}

int corral_spec_set_output(corral_spec *s, corral_output output) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (output != CORRAL_OUTPUT_CAPTURE && output != CORRAL_OUTPUT_INHERIT)
                return -EINVAL;
        s->output = output;
        return 0;
}

int corral_spec_set_log_buffer(corral_spec *s, uint64_t bytes) {
        if (s->frozen)
                return -EBUSY;          /* corral_spec_freeze(): shared, never changed again */
        if (bytes > (uint64_t) 1 << 30) /* a supervisor that holds more output than this is a log store */
                return -ERANGE;
        s->log_buffer = bytes;
        return 0;
}

int corral_spec_set_log_file(corral_spec *s, const char *path, uint64_t max_bytes) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (path && path[0] != '/')
                return -EINVAL;
        if (set_string(&s->log_file, path) < 0)
                return -ENOMEM;
        if (max_bytes)
                s->log_file_max = max_bytes;
        return 0;
}

int corral_spec_set_log_file_max(corral_spec *s, uint64_t bytes) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (bytes < 4096 || bytes > (uint64_t) 1 << 40)
                return -ERANGE;
        s->log_file_max = bytes;
        return 0;
}

int corral_spec_set_log_file_keep(corral_spec *s, unsigned n) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (n > 100)
                return -ERANGE;
        s->log_file_keep = n;
        return 0;
}

int corral_spec_set_log_journal(corral_spec *s, bool enable) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        s->log_journal = enable;
        return 0;
}

int corral_spec_dup(const corral_spec *s, corral_spec **ret) {
        return s && ret ? corral_spec_copy(s, ret) : -EINVAL;
}

/* One more item of a list of lines; "" empties it, as an empty assignment does in systemd. */
static int spec_list_add(char ***list, const char *line) {
        char *c;

        if (!*line) {
                *list = strv_free(*list);
                return 0;
        }
        c = strdup(line);
        return c ? strv_push(list, c) : -ENOMEM;
}

static int spec_add_command(char ***list, const char *line) {
        char **argv = NULL, prefix[8];
        bool ignore;
        int r;

        if (!line)
                return -EINVAL;
        if (*line) {
                r = parse_command_line(line, &argv, &ignore, prefix);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return -EINVAL;
                strv_free(argv);
        }
        return spec_list_add(list, line);
}

int corral_spec_add_exec_start_pre(corral_spec *s, const char *line) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return spec_add_command(&s->exec_start_pre, line);
}

int corral_spec_add_exec_stop_post(corral_spec *s, const char *line) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return spec_add_command(&s->exec_stop_post, line);
}

int corral_spec_add_exec_reload(corral_spec *s, const char *line) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return spec_add_command(&s->exec_reload, line);
}

int corral_spec_set_reload_signal(corral_spec *s, int sig) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (sig < 0 || sig >= _NSIG || (sig > 0 && !signal_to_name(sig)))
                return -EINVAL;
        s->reload_signal = sig;
        return 0;
}

int corral_spec_add_environment_file(corral_spec *s, const char *path) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        const char *p = path && path[0] == '-' ? path + 1 : path;

        if (!path)
                return -EINVAL;
        if (*path && (p[0] != '/' || strlen(p) > 4000))
                return -EINVAL;
        return spec_list_add(&s->env_files, path);
}

bool corral_spec_can_reload(const corral_spec *s) {
        return s && ((s->exec_reload && s->exec_reload[0]) || s->reload_signal > 0);
}
