/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-definition.c: definitions parse into the spec they say, and every problem is named with
 * its line: unknown keys and sections, bad values, duplicates, a missing ExecStart=. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "definition.h"
#include "spec-json.h"

/* The spec as JSON, for comparing what was parsed with what was meant. */
static json_t *spec_of(const definition *d) {
        json_t *j = NULL;

        assert_non_null(d->spec);
        assert_int_equal(spec_to_json(d->spec, &j), 0);
        return j;
}

static long long jint(json_t *o, const char *k) {
        return (long long) json_integer_value(json_object_get(o, k));
}

static void test_every_key(void **state) {
        const char *text = "# comment\n"
                           "; another\n"
                           "[Backend]\n"
                           "ExecStart=/usr/bin/model --name \"two words\" 'x y' \\\n"
                           "    --port 8080\n"
                           "Type=oneshot\n"
                           "Ready=tcp:127.0.0.1:8080\n"
                           "Restart=always\n"
                           "RestartSec=250ms\n"
                           "RestartMaxDelaySec=1min\n"
                           "RestartResetSec=30s\n"
                           "StartLimitBurst=7\n"
                           "StartLimitIntervalSec=2min\n"
                           "KillSignal=SIGINT\n"
                           "TimeoutStopSec=3s\n"
                           "TimeoutStartSec=infinity\n"
                           "WatchdogSec=20s\n"
                           "MemoryMax=512M\n"
                           "TasksMax=64\n"
                           "CPUQuota=150%\n"
                           "CPUWeight=300\n"
                           "User=nobody\n"
                           "Group=nogroup\n"
                           "UMask=0027\n"
                           "WorkingDirectory=/srv\n"
                           "Environment=\"A=1\" B=two\\ words\n"
                           "Environment=C=x;y\n"
                           "NoNewPrivileges=yes\n"
                           "LimitNOFILE=1024:4096\n"
                           "LimitCORE=infinity\n"
                           "LogBuffer=64K\n"
                           "LogFile=/var/log/model.log\n"
                           "LogJournal=no\n"
                           "ExecStartPre=/usr/bin/model --check \"a b\"\n"
                           "ExecStartPre=-/bin/false\n"
                           "ExecStopPost=/bin/rm -f /run/model.sock\n"
                           "EnvironmentFile=/etc/default/model\n"
                           "EnvironmentFile=-/etc/default/model.local\n"
                           "Enabled=no\n";
        definition_problems p = { 0 };
        definition *d = NULL;

        (void) state;
        assert_int_equal(definition_parse("/etc/corral/backends.d/model@gpu0.backend", text, &p, &d), 0);
        assert_int_equal(p.n, 0);
        assert_string_equal(d->name, "model@gpu0");
        assert_false(d->enabled);
        json_t *j = spec_of(d);
        char *argv = json_dumps(json_object_get(j, "argv"), JSON_COMPACT);
        assert_string_equal(argv,
                            "[\"/usr/bin/model\",\"--name\",\"two words\",\"x y\",\"--port\",\"8080\"]");
        free(argv);
        char *env = json_dumps(json_object_get(j, "env"), JSON_COMPACT);
        assert_string_equal(env, "[\"A=1\",\"B=two words\",\"C=x;y\"]"); /* no inline comments */
        free(env);
        assert_int_equal(jint(j, "type"), CORRAL_TYPE_TASK);
        assert_int_equal(jint(j, "ready"), CORRAL_READY_TCP);
        assert_int_equal(jint(j, "startTimeout"), 0);
        assert_int_equal(jint(j, "restart"), CORRAL_RESTART_ALWAYS);
        assert_int_equal(jint(j, "restartInitial"), 250000);
        assert_int_equal(jint(j, "restartMax"), 60000000);
        assert_int_equal(jint(j, "restartReset"), 30000000);
        assert_int_equal(jint(j, "restartBurst"), 7);
        assert_int_equal(jint(j, "restartInterval"), 120000000);
        assert_int_equal(jint(j, "stopSignal"), 2);
        assert_int_equal(jint(j, "grace"), 3000000);
        assert_int_equal(jint(j, "watchdog"), 20000000);
        assert_int_equal(jint(j, "memoryMax"), 512 << 20);
        assert_int_equal(jint(j, "pidsMax"), 64);
        assert_int_equal(jint(j, "cpuQuota"), 150000);
        assert_int_equal(jint(j, "cpuWeight"), 300);
        assert_string_equal(json_string_value(json_object_get(j, "user")), "nobody");
        assert_string_equal(json_string_value(json_object_get(j, "group")), "nogroup");
        assert_int_equal(jint(j, "umask"), 027);
        assert_string_equal(json_string_value(json_object_get(j, "cwd")), "/srv");
        assert_true(json_is_true(json_object_get(j, "noNewPrivs")));
        assert_int_equal(json_array_size(json_object_get(j, "rlimits")), 2);
        assert_int_equal(jint(j, "logBuffer"), 65536);
        assert_string_equal(json_string_value(json_object_get(j, "logFile")), "/var/log/model.log");
        assert_true(json_is_false(json_object_get(j, "logJournal")));
        char *pre = json_dumps(json_object_get(j, "execStartPre"), JSON_COMPACT);
        assert_string_equal(pre,
                            "[\"/usr/bin/model --check \\\"a b\\\"\",\"-/bin/false\"]"); /* as written */
        free(pre);
        char *post = json_dumps(json_object_get(j, "execStopPost"), JSON_COMPACT);
        assert_string_equal(post, "[\"/bin/rm -f /run/model.sock\"]");
        free(post);
        char *files = json_dumps(json_object_get(j, "environmentFiles"), JSON_COMPACT);
        assert_string_equal(files, "[\"/etc/default/model\",\"-/etc/default/model.local\"]");
        free(files);
        json_decref(j);
        definition_free(d);
        definition_problems_done(&p);
}

static void test_type_notify_means_ready_notify(void **state) {
        definition_problems p = { 0 };
        definition *d = NULL;

        (void) state;
        assert_int_equal(
                definition_parse("a.backend", "[Backend]\nExecStart=sleep 1\nType=notify\n", &p, &d), 0);
        json_t *j = spec_of(d);
        assert_int_equal(jint(j, "ready"), CORRAL_READY_NOTIFY);
        assert_int_equal(jint(j, "type"), CORRAL_TYPE_SERVICE);
        assert_int_equal(jint(j, "startTimeout"), 90000000);
        assert_true(d->enabled);
        json_decref(j);
        definition_free(d);
        definition_problems_done(&p);
}

/* Each bad input, and the line and words of its problem. */
static void test_every_problem_names_its_line(void **state) {
        static const struct {
                const char *text, *want;
                unsigned line;
        } cases[] = {
                { "[Backend]\nExecStart=true\nBogus=1\n", "unknown key Bogus=", 3 },
                { "[Backend]\nexecstart=true\n", "unknown key execstart=", 2 },
                { "[Service]\nExecStart=true\n", "unknown section [Service]", 1 },
                { "[Backend]\nExecStart=true\nType=forking\n", "Type=: invalid value 'forking'", 3 },
                { "[Backend]\nExecStart=true\nRestart=sometimes\n", "Restart=: invalid value", 3 },
                { "[Backend]\nExecStart=true\nRestartSec=soon\n", "RestartSec=: invalid value 'soon'", 3 },
                { "[Backend]\nExecStart=true\nTimeoutStopSec=infinity\n", "TimeoutStopSec=: invalid value",
                  3 },
                { "[Backend]\nExecStart=true\nMemoryMax=50%\n", "percentages of RAM are not supported", 3 },
                { "[Backend]\nExecStart=true\nMemoryMax=lots\n", "MemoryMax=: invalid value 'lots'", 3 },
                { "[Backend]\nExecStart=true\nCPUQuota=50\n", "CPUQuota=: invalid value '50'", 3 },
                { "[Backend]\nExecStart=true\nCPUWeight=idle\n", "CPUWeight=: invalid value 'idle'", 3 },
                { "[Backend]\nExecStart=true\nTasksMax=0\n", "TasksMax=: invalid value '0'", 3 },
                { "[Backend]\nExecStart=true\nUMask=999\n", "UMask=: invalid value '999'", 3 },
                { "[Backend]\nExecStart=true\nWorkingDirectory=srv\n",
                  "WorkingDirectory=: invalid value 'srv'", 3 },
                { "[Backend]\nExecStart=true\nEnvironment=NOEQUALS\n", "invalid assignment 'NOEQUALS'", 3 },
                { "[Backend]\nExecStart=true\nEnvironment=\"A=1\n", "unterminated quote", 3 },
                { "[Backend]\nExecStart=true\nNoNewPrivileges=maybe\n", "NoNewPrivileges=: invalid value",
                  3 },
                { "[Backend]\nExecStart=true\nLimitNOFILE=many\n", "LimitNOFILE=: invalid value 'many'", 3 },
                { "[Backend]\nExecStart=true\nLimitFOO=1\n", "unknown key LimitFOO=", 3 },
                { "[Backend]\nExecStart=true\nReady=tcp:example.com:80\n", "Ready=: invalid value", 3 },
                { "[Backend]\nExecStart=true\nStopSignal=SIGNOPE\n", "StopSignal=: invalid value", 3 },
                { "[Backend]\nExecStart=true\nStartLimitBurst=65\n", "StartLimitBurst=: invalid value", 3 },
                { "[Backend]\nExecStart=true\nLogFile=relative\n", "LogFile=: invalid value", 3 },
                { "[Backend]\nExecStart=-/bin/true\n",
                  "ExecStart=: systemd's '-' prefix (ignore a failed exit) is not supported", 2 },
                { "[Backend]\nExecStart=@/bin/true x\n", "ExecStart=: systemd's prefix '@' is not supported",
                  2 },
                { "[Backend]\nExecStart=-+/bin/true\n", "ExecStart=: systemd's prefix '-+' is not supported",
                  2 },
                { "[Backend]\nExecStart=/bin/a ; /bin/b\n", "ExecStart=: one command per line", 2 },
                { "[Backend]\nExecStart=true\nExecStartPre=!/bin/true\n",
                  "ExecStartPre=: invalid command line '!/bin/true': expected a command line, with "
                  "systemd's - prefix",
                  3 },
                { "[Backend]\nExecStart=true\nExecStartPre=\"/bin/x\n",
                  "ExecStartPre=: invalid command line", 3 },
                { "[Backend]\nExecStart=true\n\nExecStopPost=:/bin/true\n",
                  "ExecStopPost=: invalid command line ':/bin/true'", 4 },
                { "[Backend]\nExecStart=true\nEnvironmentFile=etc/x\n",
                  "EnvironmentFile=: invalid file 'etc/x': expected an absolute path", 3 },
                { "[Backend]\nExecStart=\n", "ExecStart=: empty command", 2 },
                { "[Backend]\nExecStart=true\nExecStart=false\n",
                  "duplicate key ExecStart= (first set at line 2)", 3 },
                { "[Backend]\nExecStart=a \\\nb\nBogus=\n", "unknown key Bogus=", 4 },
                { "[Backend]\nExecStart=true\nthis is not a key\n", "syntax error", 3 },
                { "[Backend\nExecStart=true\n", "syntax error", 1 },
                { "[Backend]\nType=simple\n", "missing ExecStart=", 0 },
                { "[Backend]\nExecStart=/usr/b\x9dn/x\n", "not valid UTF-8", 2 },
                { "# top\nUser=x\n[Backend]\nExecStart=true\n", "User= outside any section", 2 },
                { "[Backend]\nExecStart=true\nEnvironment=A=1 BAD C=2\n", "invalid assignment 'BAD'", 3 },
                { "[Backend]\nExecStart=true\nAfter=a b/c\n", "After=: invalid name 'b/c'", 3 },
                { "[Backend]\nExecStart=true\nRequires=t\n", "Requires=: 't' is this backend itself", 3 },
        };

        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                definition_problems p = { 0 };
                definition *d = NULL;
                bool found = false;

                assert_int_equal(definition_parse("/x/t.backend", cases[i].text, &p, &d), -EINVAL);
                assert_null(d->spec);
                for (size_t k = 0; k < p.n; k++)
                        found |= p.v[k].line == cases[i].line &&
                                strstr(p.v[k].message, cases[i].want) != NULL &&
                                strcmp(p.v[k].file, "/x/t.backend") == 0;
                if (!found)
                        fail_msg("case %zu: no problem '%s' at line %u (got %zu: %s at %u)", i,
                                 cases[i].want, cases[i].line, p.n, p.n ? p.v[0].message : "-",
                                 p.n ? p.v[0].line : 0);
                definition_free(d);
                definition_problems_done(&p);
        }
}

static void test_bad_file_names(void **state) {
        definition_problems p = { 0 };
        definition *d = NULL;

        (void) state;
        assert_int_equal(definition_parse("/x/.backend", "[Backend]\nExecStart=true\n", &p, &d), -EINVAL);
        assert_non_null(strstr(p.v[0].message, "invalid file name"));
        definition_free(d);
        definition_problems_done(&p);
}

static definition *parsed(const char *path, const char *text) {
        definition_problems p = { 0 };
        definition *d = NULL;

        assert_int_equal(definition_parse(path, text, &p, &d), 0);
        assert_int_equal(p.n, 0);
        return d;
}

/* After= and Requires= among definitions: names kept (an empty value resets), unknown names and
 * cycles are problems at the line that names them, and such a definition loses its spec. */
static void test_dependencies(void **state) {
        definition *v[4];
        definition_problems p = { 0 };

        (void) state;
        v[0] = parsed("/x/a.backend", "[Backend]\nExecStart=true\nAfter=x\nAfter=\nAfter=b\n");
        v[1] = parsed("/x/b.backend", "[Backend]\nExecStart=true\nRequires=c\n");
        v[2] = parsed("/x/c.backend", "[Backend]\nExecStart=true\nAfter=d\nRequires=a\n");
        v[3] = parsed("/x/d.backend", "[Backend]\nExecStart=true\nRequires=\"nope\"\n");
        assert_int_equal(v[0]->n_deps, 1);
        assert_string_equal(v[0]->deps[0].name, "b");
        assert_false(v[0]->deps[0].requires);
        assert_true(v[1]->deps[0].requires);
        definition_check_deps(v, 4, NULL, &p);
        assert_int_equal(p.n, 4);
        assert_string_equal(p.v[0].file, "/x/d.backend");
        assert_int_equal(p.v[0].line, 3);
        assert_non_null(strstr(p.v[0].message, "Requires=: no backend 'nope' is declared"));
        for (size_t i = 1; i < 4; i++)
                assert_non_null(strstr(p.v[i].message, "ordering cycle: a -> b -> c -> a"));
        assert_int_equal(p.v[1].line, 5); /* a's After=b */
        assert_int_equal(p.v[3].line, 4); /* c's Requires=a */
        for (size_t i = 0; i < 4; i++) {
                assert_null(v[i]->spec);
                definition_free(v[i]);
        }
        definition_problems_done(&p);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Later directories override earlier ones by name; an empty file or /dev/null masks; a directory
 * that is not there is a problem (but for the default one, which need not exist). */
static void test_directories_override_and_mask(void **state) {
        char a[] = "/tmp/corral-defs-a.XXXXXX", b[] = "/tmp/corral-defs-b.XXXXXX", path[256];
        char *dirs[] = { a, b, "/nonexistent/dir", NULL };
        definition_problems p = { 0 };
        definition **v = NULL;
        size_t n = 0;

        (void) state;
        assert_non_null(mkdtemp(a));
        assert_non_null(mkdtemp(b));
        snprintf(path, sizeof(path), "%s/web.backend", a);
        write_file(path, "[Backend]\nExecStart=/usr/lib/web\n");
        snprintf(path, sizeof(path), "%s/db.backend", a);
        write_file(path, "[Backend]\nExecStart=/usr/lib/db\n");
        snprintf(path, sizeof(path), "%s/gone.backend", a);
        write_file(path, "[Backend]\nExecStart=/usr/lib/gone\n");
        snprintf(path, sizeof(path), "%s/web.backend", b);
        write_file(path, "[Backend]\nExecStart=/etc/web\n");
        snprintf(path, sizeof(path), "%s/db.backend", b);
        assert_int_equal(symlink("/dev/null", path), 0);
        snprintf(path, sizeof(path), "%s/gone.backend", b);
        write_file(path, "");
        snprintf(path, sizeof(path), "%s/broken.backend", b);
        write_file(path, "[Backend]\nBogus=1\n");
        snprintf(path, sizeof(path), "%s/README", b);
        write_file(path, "not a definition\n");

        assert_int_equal(definition_load_dirs(dirs, &p, &v, &n), 2);
        for (size_t i = 0; i < n; i++) {
                if (strcmp(v[i]->name, "web") == 0) {
                        json_t *j = spec_of(v[i]);
                        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "argv"), 0)),
                                            "/etc/web");
                        json_decref(j);
                } else {
                        assert_string_equal(v[i]->name, "broken");
                        assert_null(v[i]->spec);
                }
        }
        /* broken: unknown key, missing ExecStart; and a directory that is not there, named */
        assert_int_equal(p.n, 3);
        bool named = false;
        for (size_t i = 0; i < p.n; i++)
                named |= strcmp(p.v[i].file, "/nonexistent/dir") == 0 &&
                        strcmp(p.v[i].message, "cannot read the directory: No such file or directory") == 0;
        assert_true(named);
        definitions_free(v, n);
        definition_problems_done(&p);
        const char *names[] = { "web.backend", "db.backend", "gone.backend", "broken.backend", "README" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", a, names[i]);
                (void) unlink(path);
                snprintf(path, sizeof(path), "%s/%s", b, names[i]);
                (void) unlink(path);
        }
        assert_int_equal(rmdir(a), 0);
        assert_int_equal(rmdir(b), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_type_notify_means_ready_notify),
                cmocka_unit_test(test_every_problem_names_its_line),
                cmocka_unit_test(test_bad_file_names),
                cmocka_unit_test(test_dependencies),
                cmocka_unit_test(test_directories_override_and_mask),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
