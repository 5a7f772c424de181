/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.c: a small hash map from borrowed keys to pointers (open addressing, linear probing). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

static uint64_t int_hash(const void *key) {
        return (uint32_t) (intptr_t) key * 2654435761u; /* Knuth's multiplicative hash */
}

static bool int_equal(const void *a, const void *b) {
        return a == b;
}

static uint64_t string_hash(const void *key) {
        uint64_t h = 14695981039346656037ull; /* FNV-1a */

        for (const unsigned char *p = key; *p; p++)
                h = (h ^ *p) * 1099511628211ull;
        return h ^ (h >> 32);
}

static bool string_equal(const void *a, const void *b) {
        return strcmp(a, b) == 0;
}

const hashmap_ops hashmap_int_ops = { int_hash, int_equal };
const hashmap_ops hashmap_string_ops = { string_hash, string_equal };

static int hashmap_resize(hashmap *m, size_t size) {
        struct hashmap_slot *old = m->slots;
        size_t old_size = m->size;

        m->slots = calloc(size, sizeof(*m->slots));
        if (!m->slots) {
                m->slots = old;
                return -ENOMEM;
        }
        m->size = size;
        m->n = m->n_deleted = 0;
        for (size_t i = 0; i < old_size; i++)
                if (old[i].used == 1)
                        (void) hashmap_put(m, old[i].key, old[i].value);
        free(old);
        return 0;
}

int hashmap_put(hashmap *m, const void *key, void *value) {
        uint32_t h;
        size_t i, tomb = SIZE_MAX;

        if ((m->n + m->n_deleted + 1) * 2 > m->size) { /* at most half full, tombstones counted */
                int r = hashmap_resize(m, m->size ? (m->n + 1) * 4 > m->size ? m->size * 2 : m->size : 16);
                if (r < 0)
                        return r;
        }
        h = (uint32_t) m->ops->hash(key);
        for (i = h & (m->size - 1); m->slots[i].used; i = (i + 1) & (m->size - 1)) {
                struct hashmap_slot *s = &m->slots[i];
                if (s->used == 1 && s->hash == h && m->ops->equal(s->key, key)) {
                        s->key = key;
                        s->value = value;
                        return 0;
                }
                if (s->used == 2 && tomb == SIZE_MAX)
                        tomb = i;
        }
        if (tomb != SIZE_MAX) {
                i = tomb;
                m->n_deleted--;
        }
        m->slots[i] = (struct hashmap_slot){ .key = key, .value = value, .hash = h, .used = 1 };
        m->n++;
        return 0;
}

static struct hashmap_slot *hashmap_find(const hashmap *m, const void *key) {
        uint32_t h;

        if (!m->size)
                return NULL;
        h = (uint32_t) m->ops->hash(key);
        for (size_t i = h & (m->size - 1); m->slots[i].used; i = (i + 1) & (m->size - 1)) {
                struct hashmap_slot *s = &m->slots[i];
                if (s->used == 1 && s->hash == h && m->ops->equal(s->key, key))
                        return s;
        }
        return NULL;
}

void *hashmap_get(const hashmap *m, const void *key) {
        struct hashmap_slot *s = hashmap_find(m, key);
        return s ? s->value : NULL;
}

void *hashmap_remove(hashmap *m, const void *key) {
        struct hashmap_slot *s = hashmap_find(m, key);
        void *v;

        if (!s)
                return NULL;
        v = s->value;
        *s = (struct hashmap_slot){ .used = 2 };
        m->n--;
        m->n_deleted++;
        return v;
}

size_t hashmap_size(const hashmap *m) {
        return m->n;
}

void hashmap_done(hashmap *m) {
        free(m->slots);
        *m = (hashmap){ .ops = m->ops };
}
