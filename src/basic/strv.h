/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.h: NULL-terminated arrays of strings. */
#pragma once

/* Frees every string and the array; accepts NULL; returns NULL. */
char **strv_free(char **v);

/* A deep copy (NULL gives an empty array). Returns the number of strings, or -ENOMEM. */
int strv_copy(char *const *v, char ***ret);
