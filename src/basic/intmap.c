/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intmap.c: a small hash map from int keys to pointers (open addressing, linear probing). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "intmap.h"

static size_t slot_of(int key, size_t size) {
        uint32_t h = (uint32_t) key * 2654435761u; /* Knuth's multiplicative hash */
        return h & (size - 1);
}

static int intmap_resize(intmap *m, size_t size) {
        struct intmap_slot *old = m->slots;
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
                        (void) intmap_put(m, old[i].key, old[i].value);
        free(old);
        return 0;
}

int intmap_put(intmap *m, int key, void *value) {
        size_t i, tomb = SIZE_MAX;

        if ((m->n + m->n_deleted + 1) * 2 > m->size) { /* at most half full, tombstones counted */
                int r = intmap_resize(m, m->size ? (m->n + 1) * 4 > m->size ? m->size * 2 : m->size : 16);
                if (r < 0)
                        return r;
        }
        for (i = slot_of(key, m->size); m->slots[i].used; i = (i + 1) & (m->size - 1)) {
                if (m->slots[i].used == 1 && m->slots[i].key == key) {
                        m->slots[i].value = value;
                        return 0;
                }
                if (m->slots[i].used == 2 && tomb == SIZE_MAX)
                        tomb = i;
        }
        if (tomb != SIZE_MAX) {
                i = tomb;
                m->n_deleted--;
        }
        m->slots[i] = (struct intmap_slot){ .key = key, .used = 1, .value = value };
        m->n++;
        return 0;
}

static struct intmap_slot *intmap_find(const intmap *m, int key) {
        if (!m->size)
                return NULL;
        for (size_t i = slot_of(key, m->size); m->slots[i].used; i = (i + 1) & (m->size - 1))
                if (m->slots[i].used == 1 && m->slots[i].key == key)
                        return &m->slots[i];
        return NULL;
}

void *intmap_get(const intmap *m, int key) {
        struct intmap_slot *s = intmap_find(m, key);
        return s ? s->value : NULL;
}

void *intmap_remove(intmap *m, int key) {
        struct intmap_slot *s = intmap_find(m, key);
        void *v;

        if (!s)
                return NULL;
        v = s->value;
        *s = (struct intmap_slot){ .used = 2 };
        m->n--;
        m->n_deleted++;
        return v;
}

void intmap_done(intmap *m) {
        free(m->slots);
        *m = (intmap){ 0 };
}
