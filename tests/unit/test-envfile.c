/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-envfile.c: environment files parsed as systemd parses them: comments, whitespace, quotes,
 * escapes, continued lines, and what is skipped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envfile.h"
#include "strv.h"

/* The assignments of text joined with '|'. */
static char *parse(const char *text, unsigned *skipped) {
        static char out[2048];
        char **v = NULL;

        out[0] = '\0';
        assert_int_equal(envfile_parse(text, strlen(text), &v, skipped), 0);
        for (char **a = v; *a; a++) {
                if (a != v)
                        strcat(out, "|");
                strcat(out, *a);
        }
        strv_free(v);
        return out;
}

static void test_assignments_and_comments(void **state) {
        unsigned skipped = 99;

        (void) state;
        assert_string_equal(parse("# c\n; c\n\n  A=1\nB = two words  \n\tC=\n", &skipped),
                            "A=1|B=two words|C=");
        assert_int_equal(skipped, 0);
        assert_string_equal(parse("K=v#not a comment\n", NULL), "K=v#not a comment");
        assert_string_equal(parse("#comment \\\ncontinued=still the comment\nX=1", NULL), "X=1");
        assert_string_equal(parse("", &skipped), "");
        assert_int_equal(skipped, 0);
}

static void test_quotes_and_escapes(void **state) {
        (void) state;
        assert_string_equal(parse("A='single $x \\n \"q\"'\n", NULL), "A=single $x \\n \"q\"");
        assert_string_equal(parse("A=\"d \\\"q\\\" \\\\ \\$ \\` \\n\"\n", NULL), "A=d \"q\" \\ $ ` \\n");
        assert_string_equal(parse("A=\"  kept  \"\n", NULL), "A=  kept  ");
        assert_string_equal(parse("A='x'y\"z\"\n", NULL), "A=xy\"z\""); /* quotes count only at its start */
        assert_string_equal(parse("A=a\\ b\\\\c\n", NULL), "A=a b\\c");
        assert_string_equal(parse("A=\"multi\nline\"\n", NULL), "A=multi\nline");
        assert_string_equal(parse("OPTS=\"-g \\\"daemon off;\\\"\"\n", NULL), "OPTS=-g \"daemon off;\"");
}

static void test_continued_lines(void **state) {
        (void) state;
        assert_string_equal(parse("A=one \\\ntwo\nB=3\n", NULL), "A=one two|B=3");
        assert_string_equal(parse("A=\"one \\\ntwo\"\n", NULL), "A=one two");
        assert_string_equal(parse("A=x\\", NULL), "A=x");
}

/* The end of the file ends an assignment, quoted or not, as systemd has it. */
static void test_end_of_file(void **state) {
        (void) state;
        assert_string_equal(parse("A=1", NULL), "A=1");
        assert_string_equal(parse("A=\"open", NULL), "A=open");
        assert_string_equal(parse("A=", NULL), "A=");
}

static void test_skipped(void **state) {
        unsigned skipped = 0;

        (void) state;
        assert_string_equal(parse("not an assignment\n1BAD=x\nexport F=x\nOK=1\nB-AD=2\nLAST", &skipped),
                            "OK=1");
        assert_int_equal(skipped, 5);
        assert_string_equal(parse("A=\x01\nB=\xff\nC=ok\n", &skipped), "C=ok");
        assert_int_equal(skipped, 2);
}

static void test_size_bound(void **state) {
        char **v = NULL;
        char *big = calloc(ENVFILE_SIZE_MAX + 1, 1);

        (void) state;
        assert_non_null(big);
        memset(big, '#', ENVFILE_SIZE_MAX + 1);
        assert_int_equal(envfile_parse(big, ENVFILE_SIZE_MAX + 1, &v, NULL), -E2BIG);
        assert_int_equal(envfile_parse(big, ENVFILE_SIZE_MAX, &v, NULL), 0);
        strv_free(v);
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_assignments_and_comments),
                cmocka_unit_test(test_quotes_and_escapes),
                cmocka_unit_test(test_continued_lines),
                cmocka_unit_test(test_end_of_file),
                cmocka_unit_test(test_skipped),
                cmocka_unit_test(test_size_bound),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
