/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-hashmap.c: int and string keys through growth, removal, tombstones and reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hashmap.h"

static void test_int_keys(void **state) {
        hashmap m = HASHMAP_INIT(&hashmap_int_ops);
        int values[5000];

        for (int i = 0; i < 5000; i++) {
                values[i] = i;
                assert_int_equal(hashmap_put(&m, INT_TO_PTR(i), &values[i]), 0);
        }
        assert_int_equal(hashmap_size(&m), 5000);
        for (int i = 0; i < 5000; i++)
                assert_ptr_equal(hashmap_get(&m, INT_TO_PTR(i)), &values[i]);
        assert_null(hashmap_get(&m, INT_TO_PTR(5000)));
        assert_null(hashmap_get(&m, INT_TO_PTR(-1)));
        for (int i = 0; i < 5000; i += 2)
                assert_ptr_equal(hashmap_remove(&m, INT_TO_PTR(i)), &values[i]);
        assert_null(hashmap_remove(&m, INT_TO_PTR(0)));
        assert_int_equal(hashmap_size(&m), 2500);
        for (int i = 0; i < 5000; i++)
                assert_ptr_equal(hashmap_get(&m, INT_TO_PTR(i)), i % 2 ? &values[i] : NULL);
        hashmap_done(&m);
        assert_null(hashmap_get(&m, INT_TO_PTR(1)));
        assert_ptr_equal(m.ops, &hashmap_int_ops);
}

static void test_replace_keeps_one(void **state) {
        hashmap m = HASHMAP_INIT(&hashmap_string_ops);
        char a[] = "model", b[] = "model";
        int x, y;

        assert_int_equal(hashmap_put(&m, a, &x), 0);
        assert_int_equal(hashmap_put(&m, b, &y), 0);
        assert_int_equal(hashmap_size(&m), 1);
        assert_ptr_equal(hashmap_get(&m, "model"), &y);
        for (size_t i = 0; i < m.size; i++) /* the key is the latest one: the old may be freed */
                if (m.slots[i].used == 1)
                        assert_ptr_equal(m.slots[i].key, b);
        hashmap_done(&m);
}

/* Remove and add again many times with few live keys: tombstones must not fill the table. */
static void test_churn_reuses_tombstones(void **state) {
        hashmap m = HASHMAP_INIT(&hashmap_string_ops);
        static char names[100000][16];
        int v;

        for (int i = 0; i < 100000; i++) {
                snprintf(names[i], sizeof(names[i]), "job-%d", i);
                assert_int_equal(hashmap_put(&m, names[i], &v), 0);
                if (i >= 8)
                        assert_ptr_equal(hashmap_remove(&m, names[i - 8]), &v);
        }
        assert_int_equal(hashmap_size(&m), 8);
        assert_true(m.size <= 64); /* grows with the live keys, not with the history */
        assert_ptr_equal(hashmap_get(&m, "job-99999"), &v);
        assert_null(hashmap_get(&m, "job-99991"));
        hashmap_done(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_int_keys),
                cmocka_unit_test(test_replace_keeps_one),
                cmocka_unit_test(test_churn_reuses_tombstones),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
