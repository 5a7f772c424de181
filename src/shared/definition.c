/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* definition.c: backend definitions in files (NAME.backend, systemd unit file syntax, read with
 * libinih): parsed into specs, every problem named with its file and line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral.h"
#include "definition.h"
#include "macro.h"
#include "parse.h"
#include "strv.h"
#include "utf8.h"

#define DEFINITION_MAX_SIZE (1024 * 1024)
#define SUFFIX              ".backend"

void definition_problems_done(definition_problems *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].file);
                free(p->v[i].message);
        }
        free(p->v);
        *p = (definition_problems){ 0 };
}

static void _printf_(4, 5)
        problem(definition_problems *p, const char *file, unsigned line, const char *fmt, ...) {
        definition_problem *t = realloc(p->v, (p->n + 1) * sizeof(*t));
        va_list ap;

        if (!t)
                return;
        p->v = t;
        t = &p->v[p->n];
        va_start(ap, fmt);
        if (vasprintf(&t->message, fmt, ap) < 0)
                t->message = NULL;
        va_end(ap);
        t->file = strdup(file);
        t->line = line;
        if (t->message && t->file)
                p->n++;
        else {
                free(t->message);
                free(t->file);
        }
}

definition *definition_free(definition *d) {
        if (d) {
                free(d->name);
                free(d->path);
                corral_spec_free(d->spec);
                free(d);
        }
        return NULL;
}

void definitions_free(definition **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                definition_free(v[i]);
        free(v);
}

/* What one file says, as it is read; the keys that depend on each other are applied at the end. */
typedef struct parse_ctx {
        const char *path;
        definition_problems *problems;
        char **llines;   /* logical lines, continuations joined */
        unsigned *lines; /* logical line (what libinih counts) -> line in the file */
        size_t n_lines, current;
        unsigned section_line; /* where the section being read began */
        corral_spec *spec;
        bool bad;
        unsigned seen[64]; /* line of each key of the table, 0 if not seen */
        char **env;
        size_t n_env;
        char *type, *ready, *restart, *exec;
        uint64_t start_timeout, restart_sec, restart_max, restart_reset, limit_interval;
        unsigned limit_burst;
        bool enabled;
        char last_bad_section[64];
} parse_ctx;

typedef const char *(*key_fn)(parse_ctx *x, const char *v);

static char msg_buf[512]; /* the message of the key being applied: one parse at a time */

static const char *bad_value(const char *what, const char *v) {
        (void) snprintf(msg_buf, sizeof(msg_buf), "invalid value '%s': expected %s", v, what);
        return msg_buf;
}

static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "true", "on" },
                                 *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static const char *k_exec(parse_ctx *x, const char *v) {
        char **argv = NULL;
        int n = strv_split_quoted(v, &argv);
        const char *err = NULL;

        if (n < 0)
                err = "invalid command line: an unterminated quote or a trailing backslash";
        else if (n == 0)
                err = "empty command";
        else if (strchr("@-:+!", argv[0][0]))
                err = bad_value("a command without systemd's @, -, :, + or ! prefixes", argv[0]);
        else if (corral_spec_set_argv(x->spec, argv) < 0)
                err = "invalid command";
        else
                x->exec = strdup(v);
        strv_free(argv);
        return err;
}

static const char *k_type(parse_ctx *x, const char *v) {
        static const char *const ok[] = { "simple", "exec", "notify", "oneshot", "service", "task" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (strcmp(v, ok[i]) == 0) {
                        free(x->type);
                        x->type = strdup(v);
                        return NULL;
                }
        return bad_value("simple, exec, notify, oneshot, service or task", v);
}

static const char *k_ready(parse_ctx *x, const char *v) {
        corral_spec *t = NULL;
        int r = corral_spec_new(&t);

        if (r >= 0)
                r = corral_spec_set_ready_string(t, v, 0);
        corral_spec_free(t);
        if (r < 0)
                return bad_value("notify, tcp:HOST:PORT (a numeric address or localhost) or none", v);
        free(x->ready);
        x->ready = strdup(v);
        return NULL;
}

static const char *k_restart(parse_ctx *x, const char *v) {
        if (corral_restart_from_string(v) < 0)
                return bad_value("no, on-failure or always", v);
        free(x->restart);
        x->restart = strdup(v);
        return NULL;
}

static const char *duration(const char *v, uint64_t *ret) {
        return parse_duration(v, ret) < 0 ? bad_value("a duration such as 500ms, 15s or 2min", v) : NULL;
}

/* Where 0 means no limit, systemd's "infinity" is 0 too. */
static const char *duration_or_infinity(const char *v, uint64_t *ret) {
        if (strcmp(v, "infinity") == 0) {
                *ret = 0;
                return NULL;
        }
        return parse_duration(v, ret) < 0
                ? bad_value("a duration such as 500ms, 15s or 2min, or infinity", v)
                : NULL;
}

static const char *k_restart_sec(parse_ctx *x, const char *v) {
        return duration(v, &x->restart_sec);
}
static const char *k_restart_max(parse_ctx *x, const char *v) {
        return duration(v, &x->restart_max);
}
static const char *k_restart_reset(parse_ctx *x, const char *v) {
        return duration(v, &x->restart_reset);
}
static const char *k_limit_interval(parse_ctx *x, const char *v) {
        return duration(v, &x->limit_interval);
}
static const char *k_start_timeout(parse_ctx *x, const char *v) {
        return duration_or_infinity(v, &x->start_timeout);
}

static const char *k_limit_burst(parse_ctx *x, const char *v) {
        uint64_t n;

        if (parse_count(v, &n) < 0 || n > 64)
                return bad_value("a number of restarts, 0 to 64", v);
        x->limit_burst = (unsigned) n;
        return NULL;
}

static const char *k_stop_signal(parse_ctx *x, const char *v) {
        int sig = parse_signal(v);
        return sig <= 0 || corral_spec_set_stop_signal(x->spec, sig) < 0
                ? bad_value("a signal such as SIGTERM", v)
                : NULL;
}

static const char *k_stop_timeout(parse_ctx *x, const char *v) {
        uint64_t d;
        const char *e = duration(v, &d);
        return e ?: corral_spec_set_grace(x->spec, d) < 0 ? bad_value("a duration", v) : NULL;
}

static const char *k_watchdog(parse_ctx *x, const char *v) {
        uint64_t d;
        const char *e = duration_or_infinity(v, &d);
        return e ?: (corral_spec_set_watchdog(x->spec, d), NULL);
}

static const char *k_memory_max(parse_ctx *x, const char *v) {
        uint64_t b;

        if (strchr(v, '%'))
                return bad_value("a size such as 512M or 2G (percentages of RAM are not supported)", v);
        if (parse_size(v, &b) < 0 || b == 0)
                return bad_value("a size such as 512M, 2G or infinity", v);
        return b == UINT64_MAX || corral_spec_set_memory_max(x->spec, b) >= 0 ? NULL
                                                                              : bad_value("a size", v);
}

static const char *k_pids_max(parse_ctx *x, const char *v) {
        uint64_t n;

        if (parse_count(v, &n) < 0 || n == 0)
                return bad_value("a number of processes, or infinity", v);
        return n == UINT64_MAX || corral_spec_set_pids_max(x->spec, n) >= 0 ? NULL
                                                                            : bad_value("a number", v);
}

static const char *k_cpu_quota(parse_ctx *x, const char *v) {
        uint64_t q, p;

        if (parse_cpu_quota(v, &q, &p) < 0 || corral_spec_set_cpu_max(x->spec, q, p) < 0)
                return bad_value("a percentage such as 50% or 200%", v);
        return NULL;
}

static const char *k_cpu_weight(parse_ctx *x, const char *v) {
        uint64_t w;

        if (parse_count(v, &w) < 0 || corral_spec_set_cpu_weight(x->spec, w) < 0)
                return bad_value("a weight from 1 to 10000", v);
        return NULL;
}

static const char *k_user(parse_ctx *x, const char *v) {
        return *v && corral_spec_set_user(x->spec, v) >= 0 ? NULL : bad_value("a user name or number", v);
}

static const char *k_group(parse_ctx *x, const char *v) {
        return *v && corral_spec_set_group(x->spec, v) >= 0 ? NULL : bad_value("a group name or number", v);
}

static const char *k_umask(parse_ctx *x, const char *v) {
        char *end;
        unsigned long m = strtoul(v, &end, 8);

        if (!*v || *end || m > 0777)
                return bad_value("an octal mode such as 0027", v);
        (void) corral_spec_set_umask(x->spec, (int) m);
        return NULL;
}

static const char *k_workdir(parse_ctx *x, const char *v) {
        return v[0] == '/' && corral_spec_set_working_directory(x->spec, v) >= 0
                ? NULL
                : bad_value("an absolute path", v);
}

/* Environment="A=1" "B=two words": several per line, and several lines. */
static const char *k_environment(parse_ctx *x, const char *v) {
        char **words = NULL;
        int n = strv_split_quoted(v, &words);
        const char *err = NULL;

        if (n < 0)
                return "invalid value: an unterminated quote or a trailing backslash";
        for (int i = 0; i < n; i++) {
                char **t;
                if (err || !strchr(words[i], '=') || words[i][0] == '=') {
                        if (!err)
                                (void) snprintf(msg_buf, sizeof(msg_buf),
                                                "invalid assignment '%s': expected KEY=VALUE", words[i]);
                        err = msg_buf;
                        free(words[i]);
                        continue;
                }
                t = realloc(x->env, (x->n_env + 2) * sizeof(char *));
                if (!t) {
                        free(words[i]);
                        continue;
                }
                x->env = t;
                x->env[x->n_env++] = words[i];
                x->env[x->n_env] = NULL;
        }
        free(words); /* every word was freed or taken */
        return err;
}

static const char *k_no_new_privs(parse_ctx *x, const char *v) {
        int b = parse_bool(v);
        return b < 0 ? bad_value("yes or no", v) : (corral_spec_set_no_new_privileges(x->spec, b), NULL);
}

static const char *k_enabled(parse_ctx *x, const char *v) {
        int b = parse_bool(v);
        return b < 0 ? bad_value("yes or no", v) : (x->enabled = b, NULL);
}

static const char *k_log_buffer(parse_ctx *x, const char *v) {
        uint64_t b;
        return parse_size(v, &b) < 0 || corral_spec_set_log_buffer(x->spec, b) < 0
                ? bad_value("a size such as 1M, at most 1G, or 0", v)
                : NULL;
}

static const char *k_log_file(parse_ctx *x, const char *v) {
        return v[0] == '/' && corral_spec_set_log_file(x->spec, v, 0) >= 0
                ? NULL
                : bad_value("an absolute path", v);
}

static const char *k_log_journal(parse_ctx *x, const char *v) {
        int b = parse_bool(v);
        return b < 0 ? bad_value("yes or no", v) : (corral_spec_set_log_journal(x->spec, b), NULL);
}

/* LimitNOFILE=1024:4096 and the other Limit*= of systemd, by the rlimit's name. */
static const char *k_limit(parse_ctx *x, const char *key, const char *v) {
        char buf[128];
        int res;
        uint64_t soft, hard;

        (void) snprintf(buf, sizeof(buf), "%s=0", key + strlen("Limit"));
        if (parse_rlimit(buf, &res, &soft, &hard) < 0)
                return NULL; /* not a resource: an unknown key */
        (void) snprintf(buf, sizeof(buf), "%s=%s", key + strlen("Limit"), v);
        if (parse_rlimit(buf, &res, &soft, &hard) < 0 ||
            corral_spec_set_rlimit(x->spec, res, soft, hard) < 0)
                return bad_value("SOFT[:HARD], numbers or infinity", v);
        return "";
}

static const struct key {
        const char *name;
        key_fn fn;
        bool repeatable;
} keys[] = {
        { "ExecStart", k_exec, false },
        { "Type", k_type, false },
        { "Ready", k_ready, false },
        { "Restart", k_restart, false },
        { "RestartSec", k_restart_sec, false },
        { "RestartMaxDelaySec", k_restart_max, false },
        { "RestartResetSec", k_restart_reset, false },
        { "StartLimitBurst", k_limit_burst, false },
        { "StartLimitIntervalSec", k_limit_interval, false },
        { "StopSignal", k_stop_signal, false },
        { "KillSignal", k_stop_signal, false },
        { "TimeoutStopSec", k_stop_timeout, false },
        { "TimeoutStartSec", k_start_timeout, false },
        { "WatchdogSec", k_watchdog, false },
        { "MemoryMax", k_memory_max, false },
        { "PidsMax", k_pids_max, false },
        { "TasksMax", k_pids_max, false },
        { "CPUQuota", k_cpu_quota, false },
        { "CPUWeight", k_cpu_weight, false },
        { "User", k_user, false },
        { "Group", k_group, false },
        { "UMask", k_umask, false },
        { "WorkingDirectory", k_workdir, false },
        { "Environment", k_environment, true },
        { "NoNewPrivileges", k_no_new_privs, false },
        { "LogBuffer", k_log_buffer, false },
        { "LogFile", k_log_file, false },
        { "LogJournal", k_log_journal, false },
        { "Enabled", k_enabled, false },
};

static unsigned ctx_line(const parse_ctx *x, size_t logical) {
        return logical >= 1 && logical <= x->n_lines ? x->lines[logical - 1] : (unsigned) logical;
}

/* A key whose name is a known key in another case is "unknown" too, as in systemd. */
static int on_key(void *user, const char *section, const char *name, const char *value) {
        parse_ctx *x = user;
        unsigned line = ctx_line(x, x->current);
        const char *err = NULL;
        size_t i;

        if (!*section) {
                problem(x->problems, x->path, line, "%s= outside any section: expected [Backend] first",
                        name);
                x->bad = true;
                return 1;
        }
        if (strcmp(section, "Backend") != 0) {
                if (strcmp(x->last_bad_section, section) != 0) {
                        problem(x->problems, x->path, x->section_line ?: line,
                                "unknown section [%s]: expected [Backend]", section);
                        (void) snprintf(x->last_bad_section, sizeof(x->last_bad_section), "%s", section);
                }
                x->bad = true;
                return 1;
        }
        for (i = 0; i < ELEMENTSOF(keys) && strcmp(keys[i].name, name) != 0; i++)
                ;
        if (i == ELEMENTSOF(keys)) {
                err = strncmp(name, "Limit", 5) == 0 ? k_limit(x, name, value) : NULL;
                if (!err) {
                        problem(x->problems, x->path, line, "unknown key %s=", name);
                        x->bad = true;
                } else if (*err) {
                        problem(x->problems, x->path, line, "%s=: %s", name, err);
                        x->bad = true;
                }
                return 1;
        }
        if (x->seen[i] && !keys[i].repeatable) {
                problem(x->problems, x->path, line, "duplicate key %s= (first set at line %u)", name,
                        x->seen[i]);
                x->bad = true;
                return 1;
        }
        x->seen[i] = line;
        err = keys[i].fn(x, value);
        if (err) {
                problem(x->problems, x->path, line, "%s=: %s", name, err);
                x->bad = true;
        }
        return 1;
}

/* The keys that depend on each other: Type= and Ready=, the restart policy and its limit. */
static void ctx_finish(parse_ctx *x) {
        const char *ready = x->ready ?: x->type && strcmp(x->type, "notify") == 0 ? "notify" : "none";
        bool task = x->type && (strcmp(x->type, "oneshot") == 0 || strcmp(x->type, "task") == 0);
        int policy = x->restart ? corral_restart_from_string(x->restart) : CORRAL_RESTART_NO;

        if (!x->exec) {
                problem(x->problems, x->path, 0, "missing ExecStart=: what to run");
                x->bad = true;
        }
        (void) corral_spec_set_type(x->spec, task ? CORRAL_TYPE_TASK : CORRAL_TYPE_SERVICE);
        (void) corral_spec_set_ready_string(x->spec, ready, x->start_timeout);
        (void) corral_spec_set_restart(x->spec, (corral_restart) policy, x->restart_sec, 2, x->restart_max,
                                       x->restart_reset);
        (void) corral_spec_set_restart_limit(x->spec, x->limit_burst, x->limit_interval);
        if (x->env)
                (void) corral_spec_add_environment(x->spec, x->env);
}

/* libinih reads logical lines: a line ending in a backslash goes on on the next one, as in
 * systemd (the backslash becomes a space). x->llines are they, x->lines their first line in the
 * file; the reader gives them in pieces as long as libinih's buffer asks. */
typedef struct line_reader {
        parse_ctx *x;
        size_t i, off;
} line_reader;

static char *read_line(char *str, int num, void *stream) {
        line_reader *r = stream;
        const char *l;
        size_t len, take;

        if (r->i >= r->x->n_lines || num < 2)
                return NULL;
        if (r->off == 0) {
                r->x->current = r->i + 1;
                if (r->x->llines[r->i][strspn(r->x->llines[r->i], " \t")] == '[')
                        r->x->section_line = r->x->lines[r->i];
        }
        l = r->x->llines[r->i] + r->off;
        len = strlen(l);
        take = len < (size_t) num - 1 ? len : (size_t) num - 1;
        memcpy(str, l, take);
        str[take] = '\0';
        r->off += take;
        if (take == len) {
                r->i++;
                r->off = 0;
        }
        return str;
}

static int ctx_add_line(parse_ctx *x, char *text, unsigned physical) {
        unsigned *t = realloc(x->lines, (x->n_lines + 1) * sizeof(unsigned));
        char **l;

        if (!t)
                return free(text), -ENOMEM;
        x->lines = t;
        l = realloc(x->llines, (x->n_lines + 2) * sizeof(char *));
        if (!l)
                return free(text), -ENOMEM;
        x->llines = l;
        x->lines[x->n_lines] = physical;
        x->llines[x->n_lines++] = text;
        x->llines[x->n_lines] = NULL;
        return 0;
}

static int ctx_map_lines(parse_ctx *x, const char *text) {
        unsigned physical = 1;

        for (const char *p = text; *p;) {
                unsigned first = physical;
                char *joined = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&joined, &size);
                if (!f)
                        return -ENOMEM;
                for (;;) { /* a continued line takes the next ones with it */
                        const char *nl = strchr(p, '\n');
                        size_t len = nl ? (size_t) (nl - p) : strlen(p);
                        bool more = nl && len > 0 && p[len - 1] == '\\';
                        fwrite(p, 1, more ? len - 1 : len, f);
                        physical++;
                        p = nl ? nl + 1 : p + len;
                        if (!more || !*p)
                                break;
                        fputc(' ', f);
                }
                fputc('\n', f);
                if (fclose(f) != 0 || ctx_add_line(x, joined, first) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool name_from_path(const char *path, char *buf, size_t size) {
        const char *base = strrchr(path, '/');
        size_t len;

        base = base ? base + 1 : path;
        len = strlen(base);
        if (len <= strlen(SUFFIX) || strcmp(base + len - strlen(SUFFIX), SUFFIX) != 0 ||
            len - strlen(SUFFIX) >= size)
                return false;
        memcpy(buf, base, len - strlen(SUFFIX));
        buf[len - strlen(SUFFIX)] = '\0';
        return name_is_valid(buf);
}

/* systemd's conventions for libinih: no inline comments (a ';' belongs to the value), no
 * indented continuation lines, lines as long as they come. */
static void ini_setup(void) {
        ini_allow_multiline = false;
        ini_allow_inline_comments = false;
        ini_use_stack = false;
        ini_allow_realloc = true;
        ini_max_line = 64 * 1024;
}

int definition_parse(const char *path, const char *text, definition_problems *problems, definition **ret) {
        parse_ctx x = { .path = path,
                        .problems = problems,
                        .enabled = true,
                        .limit_burst = 5,
                        .limit_interval = 60 * USEC_PER_SEC,
                        .restart_sec = 100 * USEC_PER_MSEC,
                        .restart_max = 300 * USEC_PER_SEC,
                        .restart_reset = 10 * USEC_PER_SEC,
                        .start_timeout = 90 * USEC_PER_SEC };
        line_reader reader = { .x = &x };
        char name[80];
        definition *d = calloc(1, sizeof(*d));
        int r;

        if (!d || corral_spec_new(&x.spec) < 0 || ctx_map_lines(&x, text) < 0) {
                free(d);
                corral_spec_free(x.spec);
                free(x.lines);
                strv_free(x.llines);
                return -ENOMEM;
        }
        if (!name_from_path(path, name, sizeof(name))) {
                problem(problems, path, 0,
                        "invalid file name: expected NAME.backend, NAME of 1-64 of A-Z a-z 0-9 _ . @ -");
                x.bad = true;
                (void) snprintf(name, sizeof(name), "invalid");
        }
        (void) corral_spec_set_name(x.spec, name);
        for (size_t i = 0; i < x.n_lines; i++) /* as systemd: unit files are UTF-8 */
                if (!utf8_is_valid(x.llines[i], strlen(x.llines[i]))) {
                        problem(problems, path, x.lines[i], "not valid UTF-8");
                        x.bad = true;
                }
        ini_setup();
        r = ini_parse_stream(read_line, &reader, on_key, &x);
        if (r > 0) {
                problem(problems, path, ctx_line(&x, (size_t) r),
                        "syntax error: expected [Section], Key=value or a comment");
                x.bad = true;
        }
        ctx_finish(&x);
        d->name = strdup(name);
        d->path = strdup(path);
        d->enabled = x.enabled;
        if (!x.bad)
                d->spec = TAKE_PTR(x.spec);
        corral_spec_free(x.spec);
        strv_free(x.env);
        free(x.type);
        free(x.ready);
        free(x.restart);
        free(x.exec);
        free(x.lines);
        strv_free(x.llines);
        *ret = d;
        return d->spec ? 0 : -EINVAL;
}

int definition_load(const char *path, definition_problems *problems, definition **ret) {
        _cleanup_free_ char *text = NULL;
        struct stat st;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

        if (fd < 0) {
                r = -errno;
                problem(problems, path, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                problem(problems, path, 0, "cannot read: %s", strerror(-r));
                safe_close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > DEFINITION_MAX_SIZE) {
                problem(problems, path, 0, "cannot read: %s",
                        S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
                safe_close(fd);
                return -EINVAL;
        }
        text = malloc((size_t) st.st_size + 1);
        n = text ? read(fd, text, (size_t) st.st_size) : -1;
        safe_close(fd);
        if (n < 0) {
                problem(problems, path, 0, "cannot read: %s", strerror(text ? errno : ENOMEM));
                return -EIO;
        }
        text[n] = '\0';
        if (strlen(text) != (size_t) n) {
                problem(problems, path, 0, "not a text file: it holds a NUL byte");
                return -EINVAL;
        }
        return definition_parse(path, text, problems, ret);
}

/* An empty file or a symlink to /dev/null: masked. */
static bool is_masked(const char *path) {
        char target[64];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        struct stat st;

        if (n > 0) {
                target[n] = '\0';
                if (strcmp(target, "/dev/null") == 0)
                        return true;
        }
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

static int defs_put(definition ***v, size_t *n, definition *d) {
        definition **t;

        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i]->name, d->name) == 0) {
                        definition_free((*v)[i]);
                        (*v)[i] = d;
                        return 0;
                }
        t = realloc(*v, (*n + 1) * sizeof(*t));
        if (!t) {
                definition_free(d);
                return -ENOMEM;
        }
        *v = t;
        t[(*n)++] = d;
        return 0;
}

static void defs_remove(definition **v, size_t *n, const char *name) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(v[i]->name, name) == 0) {
                        definition_free(v[i]);
                        v[i] = v[--*n];
                        return;
                }
}

static int load_dir(const char *dir, definition_problems *problems, definition ***v, size_t *n) {
        struct dirent **list = NULL;
        int k = scandir(dir, &list, NULL, alphasort), r = 0;

        for (int i = 0; i < k; i++) {
                char path[4096], name[80];
                definition *d = NULL;
                (void) snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
                if (r >= 0 && name_from_path(path, name, sizeof(name))) {
                        if (is_masked(path))
                                defs_remove(*v, n, name);
                        else if (definition_load(path, problems, &d) != -ENOMEM && d)
                                r = defs_put(v, n, d);
                } else if (r >= 0 && strlen(list[i]->d_name) > strlen(SUFFIX) &&
                           strcmp(list[i]->d_name + strlen(list[i]->d_name) - strlen(SUFFIX), SUFFIX) == 0)
                        problem(problems, path, 0,
                                "invalid file name: NAME.backend, NAME of 1-64 of A-Z a-z 0-9 _ . @ -");
                free(list[i]);
        }
        free(list);
        return r;
}

int definition_load_dirs(char *const *dirs, definition_problems *problems, definition ***ret,
                         size_t *ret_n) {
        definition **v = NULL;
        size_t n = 0;
        int r = 0;

        for (char *const *d = dirs; r >= 0 && d && *d; d++)
                r = load_dir(*d, problems, &v, &n);
        if (r < 0) {
                definitions_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return (int) n;
}
