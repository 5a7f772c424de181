/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.h: a small hash map from borrowed keys to pointers (open addressing, linear probing). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INT_TO_PTR(i) ((const void *) (intptr_t) (i))

typedef struct hashmap_ops {
        uint64_t (*hash)(const void *key);
        bool (*equal)(const void *a, const void *b);
} hashmap_ops;

/* Keys are ints stored in the pointer (INT_TO_PTR), or NUL-terminated strings the values own. */
extern const hashmap_ops hashmap_int_ops, hashmap_string_ops;

typedef struct hashmap {
        const hashmap_ops *ops;
        struct hashmap_slot {
                const void *key;
                void *value;
                uint32_t hash;
                uint32_t used; /* 0 empty, 1 in use, 2 deleted */
        } * slots;
        size_t size, n, n_deleted;
} hashmap;

#define HASHMAP_INIT(o) ((hashmap){ .ops = (o) })

/* Add or replace (the key too: it must live as long as its entry). 0 or -ENOMEM. */
int hashmap_put(hashmap *m, const void *key, void *value);
/* The value, or NULL. */
void *hashmap_get(const hashmap *m, const void *key);
/* Remove; returns the value it had, or NULL. */
void *hashmap_remove(hashmap *m, const void *key);
size_t hashmap_size(const hashmap *m);
void hashmap_done(hashmap *m);
