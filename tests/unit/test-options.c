/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-options.c: the table of backend options: every row gives the same spec from its definition
 * key, its command line option, -p, its varlink parameter and `corral start`'s conversion; refuses
 * a bad value in each with the row's words; has the default libcorral has; and is in the man pages
 * and the varlink interface, which list nothing else. A failure says what to add where. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "definition.h"
#include "options.h"

/* For each row, a valid value that is not the default: as text (a definition's Key=, -p, and the
 * command line unless cli says otherwise) and as Start's parameter (JSON). A new row needs one. */
static const struct example {
        const char *key, *text, *cli, *json;
} examples[] = {
        { "Type", "task", NULL, "\"task\"" },
        { "Ready", "tcp:127.0.0.1:8080", NULL, "\"tcp:127.0.0.1:8080\"" },
        { "TimeoutStartSec", "2min", NULL, "120000000" },
        { "WatchdogSec", "20s", NULL, "20000000" },
        { "HealthCheck", "http://127.0.0.1:8080/healthz", NULL, "\"http://127.0.0.1:8080/healthz\"" },
        { "HealthCheckIntervalSec", "5s", NULL, "5000000" },
        { "HealthCheckTimeoutSec", "2s", NULL, "2000000" },
        { "HealthCheckFailures", "5", NULL, "5" },
        { "Restart", "on-failure", NULL, "\"on-failure\"" },
        { "RestartSec", "250ms", NULL, "250000" },
        { "RestartMaxDelaySec", "1min", NULL, "60000000" },
        { "RestartResetSec", "30s", NULL, "30000000" },
        { "StartLimitBurst", "7", NULL, "7" },
        { "StartLimitIntervalSec", "2min", NULL, "120000000" },
        { "RestartLimit", "7/2min", NULL, "\"7/2min\"" },
        { "KillSignal", "SIGINT", NULL, "\"2\"" },
        { "TimeoutStopSec", "3s", NULL, "3000000" },
        { "KillMode", "mixed", NULL, "\"mixed\"" },
        { "MemoryMax", "512M", NULL, "536870912" },
        { "TasksMax", "64", NULL, "64" },
        { "CPUQuota", "150%", NULL, "\"150%\"" },
        { "CPUWeight", "300", NULL, "300" },
        { "User", "nobody", NULL, "\"nobody\"" },
        { "Group", "nogroup", NULL, "\"nogroup\"" },
        { "UMask", "0027", NULL, "23" },
        { "WorkingDirectory", "/srv", NULL, "\"/srv\"" },
        { "Environment", "A=1", NULL, "[\"A=1\"]" },
        { "ClearEnvironment", "yes", NULL, "true" },
        { "EnvironmentFile", "-/etc/default/x y", NULL, "[\"-/etc/default/x y\"]" },
        { "ExecStartPre", "-/usr/sbin/nginx -t -q", NULL, "[\"-/usr/sbin/nginx -t -q\"]" },
        { "ExecReload", "/bin/kill -HUP $MAINPID", NULL, "[\"/bin/kill -HUP $MAINPID\"]" },
        { "ReloadSignal", "SIGHUP", NULL, "\"1\"" },
        { "ExecStopPost", "/bin/rm -f \"/run/x y\"", NULL, "[\"/bin/rm -f \\\"/run/x y\\\"\"]" },
        { "LimitNOFILE", "1024:4096", "nofile=1024:4096", "[\"nofile=1024:4096\"]" },
        { "NoNewPrivileges", "yes", NULL, "true" },
        { "CapabilityBoundingSet", "CAP_NET_BIND_SERVICE CAP_CHOWN", NULL,
          "\"CAP_NET_BIND_SERVICE CAP_CHOWN\"" },
        { "AmbientCapabilities", "CAP_NET_BIND_SERVICE", NULL, "\"CAP_NET_BIND_SERVICE\"" },
        { "SystemCallFilter", "@system-service", NULL, "\"@system-service\"" },
        { "SystemCallErrorNumber", "EPERM", NULL, "\"EPERM\"" },
        { "SystemCallArchitectures", "native", NULL, "\"native\"" },
        { "ProtectSystem", "strict", NULL, "\"strict\"" },
        { "ProtectHome", "read-only", NULL, "\"read-only\"" },
        { "ReadOnlyPaths", "/srv", NULL, "[\"/srv\"]" },
        { "ReadWritePaths", "/var/lib/x", NULL, "[\"/var/lib/x\"]" },
        { "InaccessiblePaths", "-/opt", NULL, "[\"-/opt\"]" },
        { "PrivateTmp", "yes", NULL, "true" },
        { "PrivateDevices", "yes", NULL, "true" },
        { "PrivateNetwork", "yes", NULL, "true" },
        { "ProtectKernelTunables", "yes", NULL, "true" },
        { "ProtectKernelModules", "yes", NULL, "true" },
        { "ProtectControlGroups", "yes", NULL, "true" },
        { "RestrictAddressFamilies", "AF_INET AF_UNIX", NULL, "\"AF_INET AF_UNIX\"" },
        { "RestrictNamespaces", "yes", NULL, "\"yes\"" },
        { "LockPersonality", "yes", NULL, "true" },
        { "MemoryDenyWriteExecute", "yes", NULL, "true" },
        { "LogBuffer", "64K", NULL, "65536" },
        { "LogFile", "/var/log/x.log", NULL, "\"/var/log/x.log\"" },
        { "LogFileMax", "20M", NULL, "20971520" },
        { "LogFileKeep", "5", NULL, "5" },
        { "LogJournal", "no", NULL, "false" },
};

/* A value each kind refuses, as text, and a JSON value of the right type that the row refuses. */
static const struct bad {
        const char *key, *text, *json;
} bads[] = {
        { "Type", "daemon", "\"daemon\"" },
        { "Ready", "tcp", "\"tcp:example.com:80\"" },
        { "TimeoutStartSec", "soon", NULL },
        { "WatchdogSec", "soon", NULL },
        { "HealthCheck", "http://example.com/", "\"tcp:localhost\"" },
        { "HealthCheckIntervalSec", "soon", NULL },
        { "HealthCheckTimeoutSec", "soon", NULL },
        { "HealthCheckFailures", "many", "0" },
        { "Restart", "sometimes", "\"sometimes\"" },
        { "RestartSec", "soon", NULL },
        { "RestartMaxDelaySec", "-1s", NULL },
        { "RestartResetSec", "soon", NULL },
        { "StartLimitBurst", "65", "65" },
        { "StartLimitIntervalSec", "soon", NULL },
        { "RestartLimit", "5", "\"5\"" },
        { "KillSignal", "SIGNOPE", "\"SIGNOPE\"" },
        { "TimeoutStopSec", "infinity", NULL },
        { "KillMode", "process", "\"none\"" },
        { "MemoryMax", "lots", "0" },
        { "TasksMax", "0", "0" },
        { "CPUQuota", "50", "\"50\"" },
        { "CPUWeight", "idle", "0" },
        { "User", "", "\"\"" },
        { "Group", "", "\"\"" },
        { "UMask", "999", "4095" },
        { "WorkingDirectory", "srv", "\"srv\"" },
        { "Environment", "NOEQUALS", "[\"NOEQUALS\"]" },
        { "ClearEnvironment", "maybe", NULL },
        { "EnvironmentFile", "etc/x", "[\"etc/x\"]" },
        { "ExecStartPre", "@/bin/true x", "[\"+/bin/true\"]" },
        { "ExecReload", ":/bin/kill", "[\"-@/bin/kill\"]" },
        { "ReloadSignal", "SIGNOPE", "\"SIGNOPE\"" },
        { "ExecStopPost", "/bin/echo \"unterminated", "[\"!/bin/true\"]" },
        { "LimitNOFILE", "many", "[\"nofile=many\"]" },
        { "NoNewPrivileges", "maybe", NULL },
        { "CapabilityBoundingSet", "CAP_FLY", "\"CAP_FLY\"" },
        { "AmbientCapabilities", "NET_BIND", "\"NET_BIND\"" },
        { "SystemCallFilter", "@nope", "\"not_a_syscall\"" },
        { "SystemCallErrorNumber", "EWHAT", "\"5000\"" },
        { "SystemCallArchitectures", "x86", "\"arm\"" },
        { "ProtectSystem", "sometimes", "\"sometimes\"" },
        { "ProtectHome", "hidden", "\"hidden\"" },
        { "ReadOnlyPaths", "srv", "[\"/srv/../etc\"]" },
        { "ReadWritePaths", "var", "[\"var\"]" },
        { "InaccessiblePaths", "opt", "[\"opt\"]" },
        { "PrivateTmp", "maybe", NULL },
        { "PrivateDevices", "maybe", NULL },
        { "PrivateNetwork", "maybe", NULL },
        { "ProtectKernelTunables", "maybe", NULL },
        { "ProtectKernelModules", "maybe", NULL },
        { "ProtectControlGroups", "maybe", NULL },
        { "RestrictAddressFamilies", "AF_NOPE", "\"INET\"" },
        { "RestrictNamespaces", "time", "\"~\"" },
        { "LockPersonality", "maybe", NULL },
        { "MemoryDenyWriteExecute", "maybe", NULL },
        { "LogBuffer", "2G", "2147483648" },
        { "LogFile", "relative", "\"relative\"" },
        { "LogFileMax", "1K", "1024" },
        { "LogFileKeep", "101", "101" },
        { "LogJournal", "maybe", NULL },
};

/* The row of an example's key (LimitNOFILE is the family Limit*). */
static const option_def *row_of(const char *key) {
        const option_def *o = options_find_key(key);

        if (!o)
                fail_msg("%s is no key of the table", key);
        return o;
}

static const struct example *example_of(const option_def *o) {
        for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
                if (row_of(examples[i].key) == o)
                        return &examples[i];
        fail_msg("no example of %s=: add one to examples[] in tests/unit/test-options.c", o->key);
        return NULL;
}

static const struct bad *bad_of(const option_def *o) {
        for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
                if (row_of(bads[i].key) == o)
                        return &bads[i];
        fail_msg("no bad value of %s=: add one to bads[] in tests/unit/test-options.c", o->key);
        return NULL;
}

static corral_spec *base_spec(void) {
        corral_spec *s = NULL;

        assert_int_equal(corral_spec_new(&s), 0);
        assert_int_equal(corral_spec_set_name(s, "t"), 0);
        assert_int_equal(corral_spec_set_argv(s, (char *[]){ "true", NULL }), 0);
        return s;
}

/* "[Backend]\nExecStart=true\n" and @line: the spec, or NULL with the first problem in @problem. */
static corral_spec *from_definition(const char *line, char *problem, size_t size) {
        definition_problems p = { 0 };
        definition *d = NULL;
        corral_spec *s = NULL;
        char text[512];

        snprintf(text, sizeof(text), "[Backend]\nExecStart=true\n%s\n", line);
        if (definition_parse("/x/t.backend", text, &p, &d) == 0)
                assert_int_equal(corral_spec_dup(d->spec, &s), 0);
        if (problem)
                snprintf(problem, size, "%s", p.n ? p.v[0].message : "");
        definition_free(d);
        definition_problems_done(&p);
        return s;
}

static corral_spec *from_json_text(const option_def *o, const char *json, const char **ret_bad) {
        corral_spec *s = base_spec();
        json_t *v = json_loads(json, JSON_DECODE_ANY, NULL), *params = json_object();
        const char *bad = NULL;
        int r;

        assert_non_null(v);
        json_object_set_new(params, o->varlink, v);
        r = options_spec_from_json(params, s, &bad);
        json_decref(params);
        if (ret_bad)
                *ret_bad = r < 0 ? bad : NULL;
        if (r < 0)
                s = corral_spec_free(s);
        return s;
}

static void assert_same(const corral_spec *a, const corral_spec *b, const char *key, const char *how) {
        if (!a || !b || !corral_spec_equal(a, b))
                fail_msg("%s=: %s gives another spec than the definition file", key, how);
}

/* Every row, in each of its forms, makes the spec its definition key makes; and that is not the
 * default one, so the row's setter does something. */
static void test_every_row_in_every_form(void **state) {
        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                const struct example *e = example_of(o);
                char line[256], problem[512];
                option_ctx x = { 0 };
                corral_spec *want, *got, *fresh = base_spec();

                snprintf(line, sizeof(line), "%s=%s", e->key, e->text);
                want = from_definition(line, problem, sizeof(problem));
                if (!want)
                        fail_msg("%s: %s", line, problem);
                if (corral_spec_equal(want, fresh))
                        fail_msg("%s makes the default spec: its setter does nothing", line);

                x.spec = base_spec();
                assert_int_equal(options_apply_text(&x, o, NULL, e->cli ?: e->text, OPTION_FORM_CLI), 0);
                assert_same(want, x.spec, e->key, "--option");
                corral_spec_free(x.spec);

                x = (option_ctx){ .spec = base_spec() };
                assert_int_equal(options_apply_property(&x, line), 0);
                assert_same(want, x.spec, e->key, "-p");
                corral_spec_free(x.spec);

                got = from_json_text(o, e->json, NULL);
                assert_same(want, got, e->key, "the varlink parameter");
                corral_spec_free(got);

                /* corral start: the option into Start's parameters, and those into a spec */
                x = (option_ctx){ .spec = base_spec(), .params = json_object() };
                assert_int_equal(options_apply_text(&x, o, NULL, e->cli ?: e->text, OPTION_FORM_CLI), 0);
                got = base_spec();
                const char *bad = NULL;
                assert_int_equal(options_spec_from_json(x.params, got, &bad), 0);
                assert_same(want, got, e->key, "corral start's Start parameters");
                assert_int_equal(json_object_size(x.params), 1);
                assert_non_null(json_object_get(x.params, o->varlink));
                json_decref(x.params);
                corral_spec_free(x.spec);
                corral_spec_free(got);
                corral_spec_free(want);
                corral_spec_free(fresh);
        }
}

/* A bad value is refused in every form, by the row, in its words. */
static void test_bad_values_are_refused_with_the_rows_words(void **state) {
        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                const struct bad *b = bad_of(o);
                char line[256], problem[512], want[512], expected[256];
                option_ctx x = { .spec = base_spec() };
                const char *bad = NULL;
                corral_spec *s;

                snprintf(expected, sizeof(expected), "%s%s", o->family_ok ? "NAME=" : "",
                         options_expected(o));
                assert_int_equal(options_apply_text(&x, o, NULL, b->text, OPTION_FORM_CLI), -EINVAL);
                assert_ptr_equal(x.bad, o);
                assert_string_equal(x.bad_value, b->text);
                assert_string_equal(x.bad_expected, o->family_ok ? expected : options_expected(o));
                corral_spec_free(x.spec);

                snprintf(line, sizeof(line), "%s=%s", b->key, b->text);
                s = from_definition(line, problem, sizeof(problem));
                assert_null(s);
                snprintf(want, sizeof(want), "%s=: invalid %s '%s': expected %s", b->key, options_noun(o),
                         b->text, options_expected(o));
                assert_string_equal(problem, want);

                x = (option_ctx){ .spec = base_spec() };
                assert_int_equal(options_apply_property(&x, line), -EINVAL);
                assert_ptr_equal(x.bad, o);
                assert_string_equal(x.bad_value, b->text);
                corral_spec_free(x.spec);

                if (b->json) {
                        assert_null(from_json_text(o, b->json, &bad));
                        assert_non_null(bad);
                        assert_string_equal(bad, o->varlink);
                }
        }
}

/* Over varlink, a value of another JSON type is refused by the type check of Start's parameters
 * and by the conversion itself; so is an array with anything but strings in it. */
static void test_varlink_types(void **state) {
        static const char *const wrong[] = { "\"x\"", "-1", "1.5", "true", "[1]", "[\"A=1\", 2]", "{}" };

        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++)
                for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
                        json_t *v = json_loads(wrong[i], JSON_DECODE_ANY, NULL);
                        bool string = strcmp(options_varlink_type(o), "string") == 0;
                        bool ok = (strcmp(options_varlink_type(o), "bool") == 0 && i == 3) ||
                                (string && i == 0);
                        const char *bad = NULL;
                        corral_spec *s;

                        assert_non_null(v);
                        assert_int_equal(options_json_check(o->varlink, v), ok);
                        s = from_json_text(o, wrong[i], &bad);
                        if (!ok) {
                                assert_null(s);
                                assert_string_equal(bad, o->varlink);
                        }
                        corral_spec_free(s);
                        json_decref(v);
                }
        json_t *x = json_string("x");
        assert_int_equal(options_json_check("name", x), -ENOENT);
        assert_int_equal(options_json_check("environment", json_null()), 1);
        json_decref(x);
}

/* Each default of the table is what a new spec holds; infinity, which JSON cannot carry, is the
 * default of every row that takes it (corral start leaves it out of Start's parameters). */
static void test_defaults_are_libcorrals(void **state) {
        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                corral_spec *fresh = base_spec();
                option_ctx x = { .spec = base_spec(), .params = json_object() };

                if (o->dflt) {
                        assert_int_equal(options_apply_text(&x, o, NULL, o->dflt, OPTION_FORM_CLI), 0);
                        if (!corral_spec_equal(x.spec, fresh))
                                fail_msg("%s=: the table's default %s is not corral_spec_new()'s", o->key,
                                         o->dflt);
                }
                corral_spec_free(x.spec);
                x.spec = base_spec();
                if ((o->kind == OPTION_SIZE || o->kind == OPTION_COUNT) &&
                    options_apply_text(&x, o, NULL, "infinity", OPTION_FORM_CLI) == 0) {
                        if (!corral_spec_equal(x.spec, fresh))
                                fail_msg("%s=infinity is not the default, and Start has no way to say it",
                                         o->key);
                        assert_null(json_object_get(x.params, o->varlink));
                }
                json_decref(x.params);
                corral_spec_free(x.spec);
                corral_spec_free(fresh);
        }
}

/* "TimeoutStopSec" -> "timeout-stop-sec", "CPUQuota" -> "cpu-quota". */
static void kebab(const char *key, char *buf, size_t size) {
        size_t n = 0;

        for (const char *p = key; *p && n + 2 < size; p++) {
                bool word = p > key && isupper((unsigned char) *p) &&
                        (islower((unsigned char) p[-1]) || (p[1] && islower((unsigned char) p[1])));
                if (word)
                        buf[n++] = '-';
                buf[n++] = (char) tolower((unsigned char) *p);
        }
        buf[n] = '\0';
}

/* The names of the rows: unique, of the forms DESIGN.md gives, and a setter of the row's kind. */
static void test_the_table_is_well_formed(void **state) {
        static const char *const verb_options[] = { "name",   "cgroup-root", "log-format", "log-target",
                                                    "help",   "address",     "json",       "all",
                                                    "follow", "lines",       "wait-ready", "property" };
        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                const char *names[] = { o->cli, o->cli_alias }, *keys[] = { o->key, o->key_alias };
                int setters = !!o->set_u64 + !!o->set_uint + !!o->set_int + !!o->set_bool + !!o->set_str +
                        !!o->set_ctx;
                char k[64];

                if (!o->key || !o->varlink || !o->cli || !o->help || setters != 1)
                        fail_msg("%s: a row needs a key, a varlink key, a --cli name, help and one setter",
                                 o->key ?: "?");
                kebab(o->key, k, sizeof(k));
                if (strcmp(k, o->cli) != 0 && !o->family_ok && strcmp(o->key, "UMask") != 0)
                        fail_msg("%s=: its option is --%s (the key in kebab case), not --%s", o->key, k,
                                 o->cli);
                if ((o->kind == OPTION_DURATION || o->kind == OPTION_TIMEOUT) &&
                    strcmp(o->varlink + strlen(o->varlink) - 4, "USec") != 0)
                        fail_msg("%s=: a duration's varlink key ends in USec (µs), not %s", o->key,
                                 o->varlink);
                if (!islower((unsigned char) o->varlink[0]))
                        fail_msg("%s=: its varlink key %s is camelCase", o->key, o->varlink);
                if ((o->kind == OPTION_STRING || o->kind == OPTION_LIST) && (!o->expected || !o->arg))
                        fail_msg("%s=: a string or list row says what it expects (.expected, .arg)", o->key);
                switch (o->kind) {
                case OPTION_DURATION:
                case OPTION_TIMEOUT:
                case OPTION_SIZE:
                        assert_non_null(o->set_u64);
                        break;
                case OPTION_COUNT:
                        assert_true(o->set_u64 || o->set_uint);
                        break;
                case OPTION_MODE:
                case OPTION_SIGNAL:
                        assert_non_null(o->set_int);
                        break;
                case OPTION_BOOL:
                        assert_non_null(o->set_bool);
                        break;
                default:
                        assert_true(o->set_str || o->set_ctx);
                }
                for (const option_def *p = options_table; p < o; p++) {
                        const char *pn[] = { p->cli, p->cli_alias }, *pk[] = { p->key, p->key_alias };
                        for (size_t i = 0; i < 2; i++)
                                for (size_t j = 0; j < 2; j++) {
                                        if (names[i] && pn[j] && strcmp(names[i], pn[j]) == 0)
                                                fail_msg("--%s is the option of two rows", names[i]);
                                        if (keys[i] && pk[j] && strcmp(keys[i], pk[j]) == 0)
                                                fail_msg("%s= is the key of two rows", keys[i]);
                                }
                        if (strcmp(o->varlink, p->varlink) == 0)
                                fail_msg("%s is the varlink key of two rows", o->varlink);
                }
                for (size_t i = 0; i < sizeof(verb_options) / sizeof(verb_options[0]); i++)
                        for (size_t j = 0; j < 2; j++)
                                if (names[j] && strcmp(names[j], verb_options[i]) == 0)
                                        fail_msg("--%s is a verb's own option already", names[j]);
                if (strcmp(o->key, "ExecStart") == 0 || strcmp(o->key, "Enabled") == 0)
                        fail_msg("%s= is the definition file's own key", o->key);
        }
}

/* Type=notify is Ready=notify unless Ready= is given, before or after, in any form. */
static void test_type_notify_and_ready(void **state) {
        static const char *const lines[] = { "Type=notify\nReady=none", "Ready=none\nType=notify",
                                             "Type=notify", "Ready=notify" };
        corral_spec *s[4];
        json_t *j;
        const char *bad = NULL;

        (void) state;
        for (size_t i = 0; i < 4; i++)
                assert_non_null(s[i] = from_definition(lines[i], NULL, 0));
        assert_false(corral_spec_equal(s[0], s[2]));
        assert_true(corral_spec_equal(s[0], s[1]));
        assert_true(corral_spec_equal(s[2], s[3]));

        corral_spec *v = base_spec();
        j = json_pack("{s:s, s:s}", "ready", "none", "type", "notify");
        assert_int_equal(options_spec_from_json(j, v, &bad), 0);
        assert_true(corral_spec_equal(v, s[0]));
        json_decref(j);
        corral_spec_free(v);

        option_ctx x = { .spec = base_spec() };
        assert_int_equal(options_apply_property(&x, "Type=notify"), 0);
        assert_true(corral_spec_equal(x.spec, s[2]));
        assert_int_equal(options_apply_text(&x, row_of("Ready"), NULL, "none", OPTION_FORM_CLI), 0);
        assert_true(corral_spec_equal(x.spec, s[0]));
        corral_spec_free(x.spec);
        for (size_t i = 0; i < 4; i++)
                corral_spec_free(s[i]);
}

/* Lists: several items per Key= line, one per --option; ClearEnvironment= in any order. */
static void test_lists(void **state) {
        option_ctx x = { .spec = base_spec(), .params = json_object() };
        corral_spec *want = from_definition("Environment=\"A=1\" B=two\\ words\nClearEnvironment=yes\n"
                                            "LimitNOFILE=10\nLimitCORE=infinity",
                                            NULL, 0);
        char *dump;

        (void) state;
        assert_non_null(want);
        assert_int_equal(options_apply_text(&x, row_of("ClearEnvironment"), NULL, "yes", OPTION_FORM_CLI),
                         0);
        assert_int_equal(options_apply_text(&x, row_of("Environment"), NULL, "A=1", OPTION_FORM_CLI), 0);
        assert_int_equal(options_apply_property(&x, "Environment=B=two\\ words"), 0);
        assert_int_equal(options_apply_property(&x, "LimitNOFILE=10"), 0);
        assert_int_equal(options_apply_text(&x, row_of("LimitCORE"), NULL, "core=infinity", OPTION_FORM_CLI),
                         0);
        assert_true(corral_spec_equal(x.spec, want));
        dump = json_dumps(x.params, JSON_SORT_KEYS | JSON_COMPACT);
        assert_string_equal(dump,
                            "{\"clearEnvironment\":true,\"environment\":[\"A=1\",\"B=two words\"],"
                            "\"rlimits\":[\"nofile=10\",\"core=infinity\"]}");
        free(dump);
        assert_int_equal(options_apply_property(&x, "Environment=\"A=1"), -EINVAL);
        assert_non_null(x.problem);
        assert_null(options_find_key("LimitFOO"));
        assert_null(options_find_key("Limitnofile"));
        assert_null(options_find_key("Limit"));
        assert_int_equal(options_apply_property(&x, "ExecStart=/bin/true"), -ENOENT);
        assert_int_equal(options_apply_property(&x, "NoEquals"), -EINVAL);
        assert_null(x.bad);
        json_decref(x.params);
        corral_spec_free(x.spec);
        corral_spec_free(want);
}

/* --- The documents: each row is in each, and they list nothing that is not a row. --- */

static char *read_doc(const char *rel) {
        const char *root = getenv("CORRAL_SOURCE_ROOT");
        char path[4096];
        FILE *f;
        char *text;
        long n;

        if (!root)
                fail_msg("CORRAL_SOURCE_ROOT is not set (meson test sets it)");
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot read %s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        text = calloc(1, (size_t) n + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        return text;
}

/* The text from the line @start to the next line that begins with @end (or the end). */
static char *section(char *text, const char *start, const char *end, const char *file) {
        char *s = strstr(text, start), *e;

        if (!s)
                fail_msg("%s has no '%s'", file, start);
        e = strstr(s + strlen(start), end);
        if (e)
                *e = '\0';
        return s;
}

/* Whether the line @l is the head of an entry: "*Key=*" or "*--option*", the text indented below. */
static bool is_head(const char *l, const char *eol) {
        return *l == '*' && eol[0] == '\n' && eol[1] == '\t';
}

/* An entry of a man page: its head that has @needle, and the indented lines after it, with the
 * markup (* and _) left out and in lower case; NULL if no entry's head has it. */
static char *entry(const char *sec, const char *needle) {
        for (const char *l = sec; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *eol = strchr(l, '\n') ?: l + strlen(l), *end = eol;
                char *out, *o;

                if (!is_head(l, eol) || !memmem(l, (size_t) (eol - l), needle, strlen(needle)))
                        continue;
                while (*end == '\n' && end[1] == '\t')
                        end = strchr(end + 1, '\n') ?: end + strlen(end);
                out = o = calloc(1, (size_t) (end - l) + 1);
                for (const char *p = l; p < end; p++)
                        if (*p != '*' && *p != '_')
                                *o++ = *p == '\n' || *p == '\t' ? ' ' : (char) tolower((unsigned char) *p);
                return out;
        }
        return NULL;
}

/* Each "*Xxx=*" (keys) or "*--xxx*" (options) in the head of an entry, for the check the other
 * way round. */
static void each_marked(const char *sec, const char *open, char close, void (*fn)(const char *name)) {
        for (const char *l = sec; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *eol = strchr(l, '\n') ?: l + strlen(l);
                if (!is_head(l, eol))
                        continue;
                for (const char *p = l; (p = strstr(p, open)) && p < eol; p++) {
                        const char *q = p + strlen(open), *e = q;
                        char name[64];
                        while (e < eol && (isalnum((unsigned char) *e) || *e == '-'))
                                e++;
                        if (e == q || e >= eol || *e != close || (size_t) (e - q) >= sizeof(name))
                                continue;
                        memcpy(name, q, (size_t) (e - q));
                        name[e - q] = '\0';
                        fn(name);
                }
        }
}

static const char *family_example(const option_def *o) {
        return o->family_ok ? example_of(o)->key : o->key; /* LimitNOFILE stands for Limit* */
}

static void key_is_a_row(const char *key) {
        static const char *const own[] = { "ExecStart", "Enabled", "After", "Requires" }; /* the file's */

        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
                if (strcmp(key, own[i]) == 0)
                        return;
        if (!options_find_key(key))
                fail_msg("docs/man/corral.backend.5.scd has %s=, which is no row of the table in "
                         "src/shared/options.c (nor ExecStart=, Enabled=, After= or Requires=)",
                         key);
}

static void test_backend_5_lists_every_key(void **state) {
        char *text = read_doc("docs/man/corral.backend.5.scd");
        char *sec = section(text, "\n# OPTIONS\n", "\n# ", "corral.backend.5.scd");

        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                const char *keys[] = { family_example(o), o->key_alias };
                for (size_t i = 0; i < 2 && keys[i]; i++) {
                        char needle[96], want[128];
                        snprintf(needle, sizeof(needle), "*%s=*", keys[i]);
                        char *e = entry(sec, needle);
                        if (!e)
                                fail_msg("docs/man/corral.backend.5.scd: no entry for %s under OPTIONS: add "
                                         "one",
                                         needle);
                        snprintf(want, sizeof(want), "default %s", o->dflt ?: "");
                        for (char *p = want; *p; p++)
                                *p = (char) tolower((unsigned char) *p);
                        if (o->dflt && !strstr(e, want) &&
                            !(snprintf(want, sizeof(want), "%s (the default", o->dflt) > 0 &&
                              strstr(e, want)))
                                fail_msg("docs/man/corral.backend.5.scd: the entry of %s= does not say "
                                         "'default %s' (the table's default)",
                                         keys[i], o->dflt);
                        free(e);
                }
        }
        each_marked(sec, "*", '=', key_is_a_row);
        free(text);
}

static void option_is_a_row(const char *name) {
        for (const option_def *o = options_table; o < options_table + options_table_n; o++)
                if (strcmp(name, o->cli) == 0 || (o->cli_alias && strcmp(name, o->cli_alias) == 0))
                        return;
        if (strcmp(name, "property") != 0)
                fail_msg("docs/man/corral.1.scd has --%s under BACKEND OPTIONS, which is no row of the "
                         "table in src/shared/options.c",
                         name);
}

static void test_corral_1_lists_every_option(void **state) {
        char *text = read_doc("docs/man/corral.1.scd");
        char *sec = section(text, "\n# BACKEND OPTIONS\n", "\n# ", "corral.1.scd");

        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                char needle[96], key[96], *e;
                snprintf(needle, sizeof(needle), "*--%s*", o->cli);
                snprintf(key, sizeof(key), "%s=", family_example(o));
                for (char *p = key; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
                e = entry(sec, needle);
                if (!e || !strstr(e, key))
                        fail_msg("docs/man/corral.1.scd: no entry for %s (saying %s=) under BACKEND "
                                 "OPTIONS: add one",
                                 needle, family_example(o));
                if (o->cli_alias) {
                        snprintf(needle, sizeof(needle), "*--%s*", o->cli_alias);
                        snprintf(key, sizeof(key), "--%s", o->cli_alias);
                        if (!strstr(e, key) || !strstr(sec, needle))
                                fail_msg("docs/man/corral.1.scd: the entry of --%s does not name --%s",
                                         o->cli, o->cli_alias);
                }
                free(e);
        }
        each_marked(sec, "*--", '*', option_is_a_row);
        assert_non_null(strstr(sec, "*-p*, *--property*"));
        free(text);
}

static void param_is_a_row(const char *name, const char *type) {
        const option_def *o = options_find_varlink(name);

        if (strcmp(name, "name") == 0 || strcmp(name, "command") == 0 || strcmp(name, "waitReady") == 0)
                return;
        if (!o)
                fail_msg("docs/io.corral.Supervisor.varlink: Start's parameter %s is no row of the table in "
                         "src/shared/options.c",
                         name);
        if (type[0] != '?' || strcmp(type + 1, options_varlink_type(o)) != 0)
                fail_msg("docs/io.corral.Supervisor.varlink: Start's %s is %s, not ?%s as its row says",
                         name, type, options_varlink_type(o));
}

static void test_varlink_start_lists_every_parameter(void **state) {
        char *text = read_doc("docs/io.corral.Supervisor.varlink");
        char *sec = section(text, "\nmethod Start(", "\n) ->", "io.corral.Supervisor.varlink");

        (void) state;
        for (const option_def *o = options_table; o < options_table + options_table_n; o++) {
                char needle[96];
                snprintf(needle, sizeof(needle), "\n  %s: ?%s", o->varlink, options_varlink_type(o));
                if (!strstr(sec, needle))
                        fail_msg("docs/io.corral.Supervisor.varlink: method Start has no '%s: ?%s' (the %s= "
                                 "row): add it",
                                 o->varlink, options_varlink_type(o), o->key);
        }
        for (char *l = sec; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                char name[64], type[64];
                if (sscanf(l, "  %63[A-Za-z]: %63[^,\n]", name, type) == 2)
                        param_is_a_row(name, type);
        }
        free(text);
}

/* getopt_long's table has every row's names once, and maps them back to their row. */
static void test_getopt_table(void **state) {
        static const struct option own[] = { { "name", required_argument, NULL, 'n' }, {} };
        struct option *opts = options_getopt(own);
        size_t n = 0;

        (void) state;
        assert_non_null(opts);
        assert_string_equal(opts[0].name, "name");
        for (const struct option *o = opts + 1; o->name; o++, n++) {
                if (strcmp(o->name, "property") == 0) {
                        assert_int_equal(o->val, 'p');
                        continue;
                }
                const option_def *d = options_from_getopt(o->val);
                assert_non_null(d);
                assert_true(strcmp(o->name, d->cli) == 0 || strcmp(o->name, d->cli_alias) == 0);
                assert_int_equal(o->has_arg, d->kind == OPTION_BOOL ? optional_argument : required_argument);
        }
        assert_null(options_from_getopt('p'));
        assert_null(options_from_getopt(OPTIONS_CLI_FIRST + (int) options_table_n));
        free(opts);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_table_is_well_formed),
                cmocka_unit_test(test_every_row_in_every_form),
                cmocka_unit_test(test_bad_values_are_refused_with_the_rows_words),
                cmocka_unit_test(test_varlink_types),
                cmocka_unit_test(test_defaults_are_libcorrals),
                cmocka_unit_test(test_type_notify_and_ready),
                cmocka_unit_test(test_lists),
                cmocka_unit_test(test_backend_5_lists_every_key),
                cmocka_unit_test(test_corral_1_lists_every_option),
                cmocka_unit_test(test_varlink_start_lists_every_parameter),
                cmocka_unit_test(test_getopt_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
