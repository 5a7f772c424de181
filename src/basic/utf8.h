/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* utf8.h: making arbitrary bytes (a backend's output) safe for JSON strings and C strings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether s (n bytes) is valid UTF-8 without NUL. */
bool utf8_is_valid(const char *s, size_t n);

/* In place: every byte that is not part of a valid UTF-8 sequence, and every NUL, becomes '?'. */
void utf8_sanitize(char *s, size_t n);
