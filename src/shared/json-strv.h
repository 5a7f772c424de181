/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-strv.h: NULL-terminated arrays of strings as JSON arrays and back, for the binaries (the
 * one such conversion above libcorral; its spec-json.c keeps its own, being below). */
#pragma once

#include <jansson.h>

/* The string of @v if it is a JSON string that holds no NUL (a C string would end early), else
 * NULL. Borrowed from @v. */
const char *json_cstring(json_t *v);

/* A new JSON array of @v's strings (NULL: an empty array); NULL if out of memory or a string is
 * not UTF-8. */
json_t *json_strv_new(char *const *v);

/* The strings of the JSON array @a, as a NULL-terminated array that borrows them: free() the array
 * alone. -EINVAL if @a is not an array or an element is not a string (json_cstring()), -ENOMEM. */
int json_strv_get(json_t *a, char ***ret);

/* Append @s to the array at @key of object @o, made if missing. 0, -EINVAL (not UTF-8, or @key
 * holds something else), -ENOMEM. */
int json_strv_append(json_t *o, const char *key, const char *s);
