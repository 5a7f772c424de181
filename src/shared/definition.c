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
#include "options.h"
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

static void deps_free(definition_dep *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

definition *definition_free(definition *d) {
        if (d) {
                deps_free(d->deps, d->n_deps);
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

/* What one file says, as it is read. */
typedef struct parse_ctx {
        const char *path;
        definition_problems *problems;
        char **llines;   /* logical lines, continuations joined */
        unsigned *lines; /* logical line (what libinih counts) -> line in the file */
        size_t n_lines, current;
        unsigned section_line; /* where the section being read began */
        option_ctx options;    /* the backend options, into the spec */
        bool bad;
        unsigned seen[OPTIONS_MAX]; /* line of each option's key, 0 if not seen */
        unsigned exec_line, enabled_line;
        bool enabled;
        char name[80]; /* the backend's, from the file's name */
        definition_dep *deps;
        size_t n_deps;
        char last_bad_section[64];
} parse_ctx;

/* Whether the key was given before, as it is now noted: "duplicate key" then. */
static bool ctx_seen(parse_ctx *x, unsigned *seen, const char *name, unsigned line) {
        if (*seen) {
                problem(x->problems, x->path, line, "duplicate key %s= (first set at line %u)", name, *seen);
                x->bad = true;
                return true;
        }
        *seen = line;
        return false;
}

/* ExecStart= (what runs) and Enabled= (whether) are the file's own; how it runs is the table's. */
static void k_exec(parse_ctx *x, const char *v, unsigned line) {
        char **argv = NULL, prefix[8];
        bool ignore = false;
        int r = parse_command_line(v, &argv, &ignore, prefix);

        if (r >= 0 && !ignore && corral_spec_set_argv(x->options.spec, argv) >= 0) {
                strv_free(argv);
                return;
        }
        if (r == -EBADMSG)
                problem(x->problems, x->path, line,
                        "ExecStart=: invalid command line: an unterminated quote or a trailing backslash");
        else if (r == -ENODATA)
                problem(x->problems, x->path, line, "ExecStart=: empty command");
        else if (r == -ENOTUNIQ)
                problem(x->problems, x->path, line,
                        "ExecStart=: one command per line: ';' separates nothing here");
        else if (r >= 0 && ignore)
                problem(x->problems, x->path, line,
                        "ExecStart=: systemd's '-' prefix (ignore a failed exit) is not supported: corral "
                        "judges "
                        "every end of the main process it did not ask for (Type=oneshot makes exit 0 a "
                        "success)");
        else if (r == -EPROTONOSUPPORT)
                problem(x->problems, x->path, line,
                        "ExecStart=: systemd's prefix '%s' is not supported (corral takes no @, +, !, or : "
                        "prefix)",
                        prefix);
        else
                problem(x->problems, x->path, line, "ExecStart=: invalid command");
        x->bad = true;
        strv_free(argv);
}

static void k_enabled(parse_ctx *x, const char *v, unsigned line) {
        int b = parse_boolean(v);

        if (b < 0) {
                problem(x->problems, x->path, line, "Enabled=: invalid value '%s': expected yes or no", v);
                x->bad = true;
        } else
                x->enabled = b;
}

/* After=/Requires= NAME...: names of other declared backends; an empty value empties the list, as
 * in systemd. */
static void ctx_dep_add(parse_ctx *x, const char *key, const char *name, unsigned line, bool requires) {
        definition_dep *t;

        if (!name_is_valid(name)) {
                problem(x->problems, x->path, line,
                        "%s=: invalid name '%s': expected the NAME of another NAME.backend", key, name);
                x->bad = true;
                return;
        }
        if (strcmp(name, x->name) == 0) {
                problem(x->problems, x->path, line, "%s=: '%s' is this backend itself", key, name);
                x->bad = true;
                return;
        }
        t = realloc(x->deps, (x->n_deps + 1) * sizeof(*t));
        if (!t || !(name = strdup(name))) {
                if (t)
                        x->deps = t;
                problem(x->problems, x->path, line, "%s=: out of memory", key);
                x->bad = true;
                return;
        }
        x->deps = t;
        x->deps[x->n_deps++] = (definition_dep){ .name = (char *) name, .line = line, .requires = requires };
}

static void ctx_deps(parse_ctx *x, const char *key, const char *value, unsigned line) {
        bool requires = strcmp(key, "Requires") == 0;
        char **names = NULL;
        int n = strv_split_quoted(value, &names);

        if (n < 0) {
                problem(x->problems, x->path, line, "%s=: invalid list of names", key);
                x->bad = true;
                return;
        }
        for (size_t i = 0; n == 0 && i < x->n_deps;) { /* reset: drop the names given so far */
                if (x->deps[i].requires != requires) {
                        i++;
                        continue;
                }
                free(x->deps[i].name);
                x->deps[i] = x->deps[--x->n_deps];
        }
        for (int i = 0; i < n; i++)
                ctx_dep_add(x, key, names[i], line, requires);
        strv_free(names);
}

static void ctx_own_key(parse_ctx *x, const char *name, const char *value, unsigned line) {
        bool exec = strcmp(name, "ExecStart") == 0;

        if (ctx_seen(x, exec ? &x->exec_line : &x->enabled_line, name, line))
                return;
        if (exec)
                k_exec(x, value, line);
        else
                k_enabled(x, value, line);
}

static void ctx_option(parse_ctx *x, const option_def *o, const char *name, const char *value,
                       unsigned line) {
        int r;

        /* Environment= adds to what came before; LimitNOFILE= and LimitCORE= are two keys */
        if (o->kind != OPTION_LIST && ctx_seen(x, &x->seen[options_index(o)], name, line))
                return;
        r = options_apply_text(&x->options, o, name, value, OPTION_FORM_KEY);
        if (r == 0)
                return;
        x->bad = true;
        if (r == -ENOMEM)
                problem(x->problems, x->path, line, "%s=: out of memory", name);
        else if (x->options.problem)
                problem(x->problems, x->path, line, "%s=: invalid value: %s", name, x->options.problem);
        else
                problem(x->problems, x->path, line, "%s=: invalid %s '%s': expected %s", name,
                        options_noun(o), x->options.bad_value, x->options.bad_expected);
}

static unsigned ctx_line(const parse_ctx *x, size_t logical) {
        return logical >= 1 && logical <= x->n_lines ? x->lines[logical - 1] : (unsigned) logical;
}

/* A key whose name is a known key in another case is "unknown" too, as in systemd. */
static int on_key(void *user, const char *section, const char *name, const char *value) {
        parse_ctx *x = user;
        unsigned line = ctx_line(x, x->current);
        const option_def *o;

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
        if (strcmp(name, "ExecStart") == 0 || strcmp(name, "Enabled") == 0)
                ctx_own_key(x, name, value, line);
        else if (strcmp(name, "After") == 0 || strcmp(name, "Requires") == 0)
                ctx_deps(x, name, value, line);
        else if ((o = options_find_key(name)))
                ctx_option(x, o, name, value, line);
        else {
                problem(x->problems, x->path, line, "unknown key %s=", name);
                x->bad = true;
        }
        return 1;
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
        parse_ctx x = { .path = path, .problems = problems, .enabled = true };
        line_reader reader = { .x = &x };
        char name[80];
        definition *d = calloc(1, sizeof(*d));
        int r;

        if (!d || corral_spec_new(&x.options.spec) < 0 || ctx_map_lines(&x, text) < 0) {
                free(d);
                deps_free(x.deps, x.n_deps);
                corral_spec_free(x.options.spec);
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
        (void) corral_spec_set_name(x.options.spec, name);
        (void) snprintf(x.name, sizeof(x.name), "%s", name);
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
        if (!x.exec_line) {
                problem(problems, path, 0, "missing ExecStart=: what to run");
                x.bad = true;
        }
        d->name = strdup(name);
        d->path = strdup(path);
        d->enabled = x.enabled;
        d->deps = TAKE_PTR(x.deps);
        d->n_deps = x.n_deps;
        if (!x.bad)
                d->spec = TAKE_PTR(x.options.spec);
        corral_spec_free(x.options.spec);
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

        if (k < 0 && (errno != ENOENT || strcmp(dir, DEFINITION_DIR_DEFAULT) != 0))
                problem(problems, dir, 0, "cannot read the directory: %s", strerror(errno));

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

/* --- After= and Requires= among the definitions --- */

static ssize_t defs_index(definition **v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i]->name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

static bool path_in(char *const *only, const char *path) {
        if (!only)
                return true;
        for (char *const *p = only; *p; p++)
                if (strcmp(*p, path) == 0)
                        return true;
        return false;
}

static void def_bad(definition *d) {
        d->spec = corral_spec_free(d->spec);
}

static const char *dep_key(const definition_dep *dep) {
        return dep->requires ? "Requires" : "After";
}

/* The depth-first walk that finds cycles: state 0 unseen, 1 on the path, 2 done. */
typedef struct deps_walk {
        definition **v;
        size_t n;
        char *const *only;
        definition_problems *problems;
        unsigned char *state;
        size_t *path, *edge, depth; /* the path's definitions, and the dep each follows to the next */
} deps_walk;

/* A cycle: the path from where it began (at) to its top, back to at. Each member is told at the
 * line of its own edge in it. */
static void deps_report_cycle(deps_walk *w, size_t at) {
        char text[1024];
        size_t len = 0;

        for (size_t k = at; k < w->depth && len < sizeof(text); k++)
                len += (size_t) snprintf(text + len, sizeof(text) - len, "%s -> ", w->v[w->path[k]]->name);
        if (len < sizeof(text))
                (void) snprintf(text + len, sizeof(text) - len, "%s", w->v[w->path[at]]->name);
        for (size_t k = at; k < w->depth; k++) {
                definition *d = w->v[w->path[k]];
                const definition_dep *dep = &d->deps[w->edge[k]];
                if (path_in(w->only, d->path))
                        problem(w->problems, d->path, dep->line, "%s=: ordering cycle: %s", dep_key(dep),
                                text);
                def_bad(d);
        }
}

static void deps_visit(deps_walk *w, size_t i) {
        definition *d = w->v[i];

        w->state[i] = 1;
        w->path[w->depth] = i;
        for (size_t k = 0; k < d->n_deps; k++) {
                ssize_t j = defs_index(w->v, w->n, d->deps[k].name);
                if (j < 0)
                        continue;
                w->edge[w->depth] = k;
                if (w->state[j] == 1) {
                        size_t at = 0;
                        while (w->path[at] != (size_t) j)
                                at++;
                        w->depth++;
                        deps_report_cycle(w, at);
                        w->depth--;
                } else if (w->state[j] == 0) {
                        w->depth++;
                        deps_visit(w, (size_t) j);
                        w->depth--;
                }
        }
        w->state[i] = 2;
}

void definition_check_deps(definition **v, size_t n, char *const *only, definition_problems *problems) {
        deps_walk w = { .v = v, .n = n, .only = only, .problems = problems };

        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < v[i]->n_deps; k++) {
                        const definition_dep *dep = &v[i]->deps[k];
                        if (defs_index(v, n, dep->name) >= 0)
                                continue;
                        if (path_in(only, v[i]->path))
                                problem(problems, v[i]->path, dep->line,
                                        "%s=: no backend '%s' is declared (only backends of definition "
                                        "files "
                                        "may be named, not those started with a command)",
                                        dep_key(dep), dep->name);
                        def_bad(v[i]);
                }
        w.state = calloc(n ?: 1, 1);
        w.path = calloc(n ?: 1, sizeof(size_t));
        w.edge = calloc(n ?: 1, sizeof(size_t));
        for (size_t i = 0; w.state && w.path && w.edge && i < n; i++)
                if (w.state[i] == 0)
                        deps_visit(&w, i);
        free(w.state);
        free(w.path);
        free(w.edge);
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
        definition_check_deps(v, n, NULL, problems);
        *ret = v;
        *ret_n = n;
        return (int) n;
}
