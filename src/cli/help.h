/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* help.h: `corral VERB --help`: each verb's usage, what it does and its options. */
#pragma once

/* Print the help of @verb on stdout, beginning "Usage: corral VERB" (the shell completion reads
 * its options from it). Returns 0, or -ENOENT if there is no such verb. */
int help_verb(const char *verb);
