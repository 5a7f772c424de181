/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runner.c: corral-run, the verbs of the corral command that embed libcorral (run, verify); the
 * corral command executes it for them, so that its other verbs load no more than varlink needs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* argv as the corral command had it: argv[1] is the verb. */
int main(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return verb_run(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "verify") == 0)
                return verb_verify(argc - 1, argv + 1);
        fprintf(stderr,
                "corral-run: the corral command runs this for its verbs run and verify (see corral "
                "--help)\n");
        return CLI_EXIT_USAGE;
}
