/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verify.c: `corral verify FILE...`: backend definitions checked without a daemon, each problem
 * printed as FILE:LINE: what is wrong. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "definition.h"
#include "help.h"
#include "strv.h"

/* After= and Requires= name other definitions: those given, and the others of their directories
 * (whose own problems are not this call's to report). */
static void verify_deps(definition **given, size_t n_given, char **paths, definition_problems *problems) {
        definition_problems scratch = { 0 };
        definition **v = NULL;
        size_t n = 0;
        char **dirs = NULL;

        for (char **p = paths; p && *p; p++) {
                char *copy = strdup(*p), *dir = copy ? strdup(dirname(copy)) : NULL;
                free(copy);
                if (!dir || strv_push(&dirs, dir) < 0)
                        goto out;
        }
        if (definition_load_dirs(dirs, &scratch, &v, &n) < 0)
                goto out;
        for (size_t i = 0; i < n_given; i++) {
                definition **t;
                size_t j = 0;
                while (j < n && strcmp(v[j]->name, given[i]->name) != 0)
                        j++;
                if (j == n && !(t = realloc(v, (n + 1) * sizeof(*t))))
                        goto out;
                if (j == n) {
                        v = t;
                        n++;
                } else
                        definition_free(v[j]);
                v[j] = given[i];
                given[i] = NULL;
        }
        definition_check_deps(v, n, paths, problems);
out:
        definitions_free(v, n);
        strv_free(dirs);
        definition_problems_done(&scratch);
}

int verb_verify(int argc, char **argv) {
        definition_problems problems = { 0 };

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                help_verb("verify");
                return argc < 2 ? CLI_EXIT_USAGE : 0;
        }
        definition **given = calloc((size_t) argc, sizeof(*given));
        size_t n_given = 0;

        for (int i = 1; i < argc; i++) {
                definition *d = NULL;
                (void) definition_load(argv[i], &problems, &d);
                if (d && given)
                        given[n_given++] = d;
                else
                        definition_free(d);
        }
        if (given)
                verify_deps(given, n_given, argv + 1, &problems);
        for (size_t i = 0; i < n_given; i++)
                definition_free(given[i]);
        free(given);
        for (size_t i = 0; i < problems.n; i++) {
                const definition_problem *p = &problems.v[i];
                if (p->line > 0)
                        printf("%s:%u: %s\n", p->file, p->line, p->message);
                else
                        printf("%s: %s\n", p->file, p->message);
        }
        int r = problems.n > 0 ? CLI_EXIT_FAILURE : 0;
        definition_problems_done(&problems);
        return r;
}
