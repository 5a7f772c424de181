/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* envfile.h: systemd's environment files (EnvironmentFile=): KEY=VALUE lines, comments, quotes, escapes and
 * continued lines, parsed as systemd parses them. */
#pragma once

#include <stddef.h>

#define ENVFILE_SIZE_MAX (1024 * 1024) /* a larger file is refused: -E2BIG */

/*
 * The assignments of @text (@size bytes) as "KEY=VALUE" strings, in file order (a later one of the
 * same key wins where they are merged). As systemd: empty lines and lines starting with # or ;
 * (after whitespace) are comments; whitespace around the key and before the value is dropped, and
 * after an unquoted value too; in an unquoted value a backslash escapes the next character and one
 * before the end of the line joins the next line; 'single' quotes keep everything; in "double"
 * quotes \", \\, \`, \$ are escapes, a backslash before a newline joins the lines, and any other
 * backslash is kept. A line without "=", a key that is not a variable name ([A-Za-z_][A-Za-z0-9_]*)
 * and a value that is not valid UTF-8 (or holds a NUL or control character other than newline
 * and tab) are skipped, as systemd skips them; their number goes to *ret_skipped (may be NULL).
 * Returns 0 with a NULL-terminated array (free with strv_free()), -E2BIG or -ENOMEM.
 */
int envfile_parse(const char *text, size_t size, char ***ret, unsigned *ret_skipped);
