/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* definition.h: backend definitions in files (NAME.backend, systemd unit file syntax, read with
 * libinih): parsed into specs, every problem named with its file and line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "corral.h"

typedef struct definition_problem {
        char *file;
        unsigned line; /* 0: the file as a whole */
        char *message;
} definition_problem;

typedef struct definition_problems {
        definition_problem *v;
        size_t n;
} definition_problems;

void definition_problems_done(definition_problems *p);

typedef struct definition {
        char *name; /* the file's name without ".backend" */
        char *path;
        corral_spec *spec; /* NULL if the file has problems */
        bool enabled;      /* Enabled=no: known, not started */
} definition;

definition *definition_free(definition *d);

/* Parse a definition's text. Every problem is added to *problems as "what is wrong" with its
 * line. Returns 0 with the definition, or -EINVAL if it has problems (*ret then has no spec). */
int definition_parse(const char *path, const char *text, definition_problems *problems, definition **ret);

/* Read and parse one file (at most 1 MiB). -errno if it cannot be read (a problem says why). */
int definition_load(const char *path, definition_problems *problems, definition **ret);

/* Where corrald looks for them unless told: a directory that need not exist. */
#define DEFINITION_DIR_DEFAULT "/etc/corral/backends.d"

/* Every NAME.backend of the directories, in order: a later directory's file replaces an earlier
 * one of the same name, and an empty file or a symlink to /dev/null masks it (it is not there).
 * Definitions with problems are in the list without a spec. A directory that cannot be read is
 * a problem ("DIR: cannot read the directory: ..."), but for DEFINITION_DIR_DEFAULT missing.
 * Returns the number of definitions, or -ENOMEM. */
int definition_load_dirs(char *const *dirs, definition_problems *problems, definition ***ret, size_t *ret_n);
void definitions_free(definition **v, size_t n);
