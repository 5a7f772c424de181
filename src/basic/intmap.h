/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intmap.h: a small hash map from int keys to pointers (open addressing, linear probing). */
#pragma once

#include <stddef.h>

typedef struct intmap {
        struct intmap_slot {
                int key;
                int used; /* 0 empty, 1 in use, 2 deleted */
                void *value;
        } * slots;
        size_t size, n, n_deleted;
} intmap;

/* Add or replace. 0 or -ENOMEM. */
int intmap_put(intmap *m, int key, void *value);
/* The value, or NULL. */
void *intmap_get(const intmap *m, int key);
/* Remove; returns the value it had, or NULL. */
void *intmap_remove(intmap *m, int key);
void intmap_done(intmap *m);
