/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.h: the backend options, each defined once, in one table: its definition file key, its
 * varlink key, its command line option, the kind of its value, its setter, default and help.
 * Definition files, `corral run` and `corral start` (with -p KEY=VALUE) and the varlink Start
 * all read them through it, and refuse a bad value with the words of its row. */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "corral.h"

/*
 * What a value is. Each kind has a text form (command line, -p, definition files), a JSON form
 * (the varlink Start) and a setter signature; a row of a kind needs only its setter.
 */
typedef enum option_kind {
        OPTION_DURATION, /* "500ms", "15s", "1h 30min"; µs over varlink (the key ends in USec) */
        OPTION_TIMEOUT,  /* a duration, or infinity for none (0) */
        OPTION_SIZE,     /* bytes: "512M", "2G" (base 1024) or infinity */
        OPTION_COUNT,    /* a number or infinity */
        OPTION_MODE,     /* octal, "0027"; a number over varlink */
        OPTION_BOOL,     /* yes/no, true/false, on/off, 1/0; a bare --option is yes */
        OPTION_SIGNAL,   /* "SIGTERM", "TERM" or "15"; a string over varlink */
        OPTION_STRING,   /* what its setter accepts */
        OPTION_PATH,     /* an absolute path */
        OPTION_LIST,     /* items: one per --option, a quoted list per Key= line (as systemd's
                          * Environment=), an array of strings over varlink */
        _OPTION_KIND_MAX,
} option_kind;

typedef struct option_ctx option_ctx;

typedef struct option_def {
        /* Its key in definition files and in -p KEY=VALUE: systemd's name where systemd has one.
         * "Limit*" is a family: LimitNOFILE=1024 is the item "nofile=1024" of the row. */
        const char *key;
        const char *key_alias; /* the name it also has (corral's, from before systemd's), or NULL */
        const char *varlink;   /* Start's parameter: camelCase, durations in ...USec */
        const char *cli;       /* --cli: the key in kebab case */
        const char *cli_alias; /* the option's name from before the table, still accepted, or NULL */
        option_kind kind;
        const char *arg;      /* the value's name in the help; NULL: the kind's */
        const char *expected; /* what a valid value looks like, in refusals; NULL: the kind's */
        const char *noun;     /* what one value is called in refusals; NULL: "value" */
        /* The default as a value of the text form, or NULL where it is "not set" (the
         * supervisor's user, ...). test-options checks it is what corral_spec_new() holds. */
        const char *dflt;
        const char *help; /* one line: what it does */
        bool whole_line;  /* LIST: a Key= line is one item (a command line, a path), not a quoted list */
        /* The setter: the one that fits the kind. set_ctx is for a value whose meaning depends on
         * what else is given (Type=notify: Ready=notify, unless Ready= is given). */
        int (*set_u64)(corral_spec *s, uint64_t v);    /* DURATION, TIMEOUT, SIZE, COUNT */
        int (*set_uint)(corral_spec *s, unsigned v);   /* COUNT */
        int (*set_int)(corral_spec *s, int v);         /* MODE, SIGNAL */
        int (*set_bool)(corral_spec *s, bool v);       /* BOOL */
        int (*set_str)(corral_spec *s, const char *v); /* STRING, PATH, LIST (one item) */
        int (*set_ctx)(option_ctx *x, const char *v);  /* STRING */
        bool (*family_ok)(const char *name);           /* a family: whether Key<name>= is one of it */
} option_def;

extern const option_def options_table[];
extern const size_t options_table_n;

#define OPTIONS_MAX 128 /* rows at most, for the given[] of option_ctx */

/* Where values go, what was given so far, and the last refusal. */
struct option_ctx {
        corral_spec *spec;
        json_t *params; /* also put here, as Start's parameters (corral start), or NULL */
        bool given[OPTIONS_MAX];
        const option_def *bad;  /* the row that refused a value */
        char bad_value[256];    /* the value or item it refused (cut) */
        char bad_expected[192]; /* what it expected: options_expected(), or a family's NAME=... */
        const char *problem;    /* why, when not what it expected: an unterminated quote */
};

/* The row of a definition key (or its alias, or a family's key), or NULL. */
const option_def *options_find_key(const char *key);
/* The row of a Start parameter, or NULL. */
const option_def *options_find_varlink(const char *name);
size_t options_index(const option_def *o);
/* What a valid value of the row looks like ("a duration such as 500ms, 15s or 2min"). */
const char *options_expected(const option_def *o);
/* What one value of the row is called in a refusal: "value", "assignment". */
const char *options_noun(const option_def *o);
/* Whether the row of @key was given to @x (so far: definitions and the command line are read in
 * order; for varlink all of Start's parameters count). */
bool options_given(const option_ctx *x, const char *key);

typedef enum option_form {
        OPTION_FORM_CLI, /* --option VALUE: one item of a list */
        OPTION_FORM_KEY, /* Key=VALUE of a file or of -p: a quoted list; a family's item by key */
} option_form;

/*
 * One value in its text form into x->spec (and x->params). @key: the key as written, for a
 * family's item (NULL for OPTION_FORM_CLI). Returns 0; -EINVAL with x->bad, x->bad_value and
 * perhaps x->problem; or -ENOMEM.
 */
int options_apply_text(option_ctx *x, const option_def *o, const char *key, const char *value,
                       option_form form);

/* -p KEY=VALUE. As options_apply_text(), and -ENOENT (x->bad NULL) for a key that is no option. */
int options_apply_property(option_ctx *x, const char *assignment);

/*
 * Start's parameters that are backend options into @spec, checked by the same rows and setters
 * as the text forms. Others (name, command, ...) are the caller's. Returns 0, -EINVAL with
 * *ret_bad the parameter refused, or -ENOMEM.
 */
int options_spec_from_json(json_t *params, corral_spec *spec, const char **ret_bad);

/* For the check of Start's parameters: 1 if @name is a backend option and @v of its JSON type,
 * 0 if of another type, -ENOENT if it is no option. */
int options_json_check(const char *name, json_t *v);

/* The JSON type of a row's Start parameter as the interface description writes it: "int". */
const char *options_varlink_type(const option_def *o);

/* The command line: each row's option codes are OPTIONS_CLI_FIRST + its index. */
#define OPTIONS_CLI_FIRST 0x100

/* @own (a verb's options), then each row's --cli and --cli-alias, and -p/--property; for
 * getopt_long (its short options need "p:"). free() it. */
struct option *options_getopt(const struct option *own);
/* The row of a getopt_long code, or NULL. */
const option_def *options_from_getopt(int code);

/* The help of every row: "  --timeout-stop-sec DURATION  ... (default 15s; also --grace)". */
void options_help(FILE *f);
/* The help of one row, as options_help() writes it. */
void options_help_row(FILE *f, const option_def *o);
