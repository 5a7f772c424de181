/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verify.c: `corral verify FILE...`: backend definitions checked without a daemon, each problem
 * printed as FILE:LINE: what is wrong. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "definition.h"
#include "help.h"

int verb_verify(int argc, char **argv) {
        definition_problems problems = { 0 };

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                help_verb("verify");
                return argc < 2 ? CLI_EXIT_USAGE : 0;
        }
        for (int i = 1; i < argc; i++) {
                definition *d = NULL;
                (void) definition_load(argv[i], &problems, &d);
                definition_free(d);
        }
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
