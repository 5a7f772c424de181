/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.h: NULL-terminated arrays of strings. */
#pragma once

#define STRV_FOREACH(s, v) for (char *const *s = (v); s && *s; s++)

/* Frees every string and the array; accepts NULL; returns NULL. */
char **strv_free(char **v);

/* A deep copy (NULL gives an empty array). Returns the number of strings, or -ENOMEM. */
int strv_copy(char *const *v, char ***ret);

/* Split s into words as systemd splits ExecStart= and Environment=: separated by whitespace,
 * "double" or 'single' quoted words keep their spaces, and a backslash escapes the next character
 * (\n, \t, \\, \", \' and \ ). Returns the number of words with a NULL-terminated array, or
 * -EINVAL for an unterminated quote or a trailing backslash, -ENOMEM. */
int strv_split_quoted(const char *s, char ***ret);

/* Append s (taken, also on failure) to *v, which may be NULL. 0 or -ENOMEM. */
int strv_push(char ***v, char *s);
