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

/* A name of After= or Requires= (which implies After=). */
typedef struct definition_dep {
        char *name;
        unsigned line;
        bool requires;
} definition_dep;

typedef struct definition {
        char *name; /* the file's name without ".backend" */
        char *path;
        corral_spec *spec; /* NULL if the file has problems */
        bool enabled;      /* Enabled=no: known, not started */
        definition_dep *deps;
        size_t n_deps;
} definition;

definition *definition_free(definition *d);

/* Parse a definition's text. Every problem is added to *problems as "what is wrong" with its
 * line. Returns 0 with the definition, or -EINVAL if it has problems (*ret then has no spec). */
int definition_parse(const char *path, const char *text, definition_problems *problems, definition **ret);

/* Read and parse one file (at most 1 MiB). -errno if it cannot be read (a problem says why). */
int definition_load(const char *path, definition_problems *problems, definition **ret);

/* The After= and Requires= of the definitions v, among themselves: a name that is not one of
 * them, or a cycle (named with its members), is a problem at the line that names it, and such a
 * definition loses its spec (it has problems). Only problems of definitions whose path is in
 * only (NULL: all) are reported; the others are checked all the same. */
void definition_check_deps(definition **v, size_t n, char *const *only, definition_problems *problems);

/* Where corrald looks for them unless told: a directory that need not exist. */
#define DEFINITION_DIR_DEFAULT "/etc/corral/backends.d"

/* Every NAME.backend of the directories, in order: a later directory's file replaces an earlier
 * one of the same name, and an empty file or a symlink to /dev/null masks it (it is not there).
 * Their dependencies are checked (definition_check_deps()). Definitions with problems are in
 * the list without a spec. A directory that cannot be read is
 * a problem ("DIR: cannot read the directory: ..."), but for DEFINITION_DIR_DEFAULT missing.
 * Returns the number of definitions, or -ENOMEM. */
int definition_load_dirs(char *const *dirs, definition_problems *problems, definition ***ret, size_t *ret_n);
void definitions_free(definition **v, size_t n);
