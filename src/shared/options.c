/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c: the backend options, each defined once, in one table: its definition file key, its
 * varlink key, its command line option, the kind of its value, its setter, default and help.
 * Definition files, `corral run` and `corral start` (with -p KEY=VALUE) and the varlink Start
 * all read them through it, and refuse a bad value with the words of its row. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-strv.h"
#include "macro.h"
#include "options.h"
#include "parse.h"
#include "strv.h"
#include "utf8.h"

#define PATH_LENGTH_MAX 4000 /* room for the ".1" of a rotated log file within PATH_MAX */
#define NAME_LENGTH_MAX 64   /* of a user or group */

/* --- Setters the library has in another shape: each turns the text into its setter's values. --- */

/* Type=notify is a service that is starting until READY=1, as in systemd, unless Ready= says
 * otherwise (before or after). */
static int set_type(option_ctx *x, const char *v) {
        static const struct {
                const char *name;
                corral_type type;
        } types[] = {
                { "service", CORRAL_TYPE_SERVICE }, { "simple", CORRAL_TYPE_SERVICE },
                { "exec", CORRAL_TYPE_SERVICE },    { "notify", CORRAL_TYPE_SERVICE },
                { "task", CORRAL_TYPE_TASK },       { "oneshot", CORRAL_TYPE_TASK },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (strcmp(v, types[i].name) == 0) {
                        r = corral_spec_set_type(x->spec, types[i].type);
                        if (r >= 0 && strcmp(v, "notify") == 0 && !options_given(x, "Ready"))
                                r = corral_spec_set_readiness(x->spec, "notify");
                        return r;
                }
        return -EINVAL;
}

static int set_restart(corral_spec *s, const char *v) {
        int policy = corral_restart_from_string(v);

        return policy < 0 ? policy : corral_spec_set_restart_policy(s, (corral_restart) policy);
}

static int set_restart_limit(corral_spec *s, const char *v) {
        unsigned burst;
        uint64_t window;
        int r = parse_restart_limit(v, &burst, &window);

        return r < 0 ? r : corral_spec_set_restart_limit(s, burst, window);
}

static int set_kill_mode(corral_spec *s, const char *v) {
        int mode = corral_kill_mode_from_string(v);

        return mode < 0 ? mode : corral_spec_set_kill_mode(s, (corral_kill_mode) mode);
}

static int set_cpu_quota(corral_spec *s, const char *v) {
        uint64_t quota, period;
        int r = parse_cpu_quota(v, &quota, &period);

        return r < 0 ? r : corral_spec_set_cpu_max(s, quota, period);
}

static int set_user(corral_spec *s, const char *v) {
        return strlen(v) > NAME_LENGTH_MAX ? -EINVAL : corral_spec_set_user(s, v);
}

static int set_group(corral_spec *s, const char *v) {
        return strlen(v) > NAME_LENGTH_MAX ? -EINVAL : corral_spec_set_group(s, v);
}

static int set_log_file(corral_spec *s, const char *v) {
        return corral_spec_set_log_file(s, v, 0);
}

static int set_rlimit(corral_spec *s, const char *v) {
        uint64_t soft, hard;
        int res, r = parse_rlimit(v, &res, &soft, &hard);

        return r < 0 ? r : corral_spec_set_rlimit(s, res, soft, hard);
}

/* LimitNOFILE=: systemd's keys are in capitals. */
static bool rlimit_name_ok(const char *name) {
        char buf[32];
        uint64_t soft, hard;
        int res;

        if (!*name || strlen(name) > 16)
                return false;
        for (const char *p = name; *p; p++)
                if (!isupper((unsigned char) *p))
                        return false;
        (void) snprintf(buf, sizeof(buf), "%s=0", name);
        return parse_rlimit(buf, &res, &soft, &hard) >= 0;
}

/* --- The table. A new option is a row here, its setter in libcorral, and its line in each of
 * docs/man/corral.backend.5.scd, docs/man/corral.1.scd and docs/io.corral.Supervisor.varlink
 * (test-options says what is missing where). --- */

const option_def options_table[] = {
        {
                .key = "Type",
                .varlink = "type",
                .cli = "type",
                .kind = OPTION_STRING,
                .arg = "TYPE",
                .expected = "service or task (or systemd's simple, exec, notify or oneshot)",
                .dflt = "service",
                .help = "service: any exit not asked for is unexpected; task (oneshot): exit 0 is success; "
                        "notify: a service with Ready=notify",
                .set_ctx = set_type,
        },
        {
                .key = "Ready",
                .varlink = "ready",
                .cli = "ready",
                .kind = OPTION_STRING,
                .arg = "none|notify|tcp:HOST:PORT",
                .expected = "none, notify or tcp:HOST:PORT (a numeric address or localhost)",
                .dflt = "none",
                .help = "notify: starting until it sends READY=1 on $NOTIFY_SOCKET; tcp: until a socket of "
                        "its "
                        "own listens on HOST:PORT",
                .set_str = corral_spec_set_readiness,
        },
        {
                .key = "TimeoutStartSec",
                .varlink = "startTimeoutUSec",
                .cli = "timeout-start-sec",
                .cli_alias = "start-timeout",
                .kind = OPTION_TIMEOUT,
                .dflt = "90s",
                .help = "not ready by then: start-failed, and its cgroup killed",
                .set_u64 = corral_spec_set_start_timeout,
        },
        {
                .key = "WatchdogSec",
                .varlink = "watchdogUSec",
                .cli = "watchdog-sec",
                .cli_alias = "watchdog",
                .kind = OPTION_TIMEOUT,
                .dflt = "infinity",
                .help = "it must send WATCHDOG=1 at least this often, or be killed",
                .set_u64 = corral_spec_set_watchdog,
        },
        {
                .key = "HealthCheck",
                .varlink = "healthCheck",
                .cli = "health-check",
                .kind = OPTION_STRING,
                .arg = "none|tcp:HOST:PORT|http://HOST:PORT/PATH|exec:CMD",
                .expected = "none, tcp:HOST:PORT, http://HOST:PORT/PATH (HOST a numeric address or "
                            "localhost) or exec:CMD",
                .dflt = "none",
                .help = "while it runs, check it so every interval (as Ready= does); failed too often in a "
                        "row: "
                        "killed, unhealthy",
                .set_str = corral_spec_set_health_check,
        },
        {
                .key = "HealthCheckIntervalSec",
                .varlink = "healthCheckIntervalUSec",
                .cli = "health-check-interval-sec",
                .kind = OPTION_DURATION,
                .dflt = "30s",
                .help = "from the end of a health check to the next",
                .set_u64 = corral_spec_set_health_check_interval,
        },
        {
                .key = "HealthCheckTimeoutSec",
                .varlink = "healthCheckTimeoutUSec",
                .cli = "health-check-timeout-sec",
                .kind = OPTION_DURATION,
                .dflt = "10s",
                .help = "a health check (or a try of Ready=http) not answered by then failed",
                .set_u64 = corral_spec_set_health_check_timeout,
        },
        {
                .key = "HealthCheckFailures",
                .varlink = "healthCheckFailures",
                .cli = "health-check-failures",
                .kind = OPTION_COUNT,
                .expected = "a number of health checks, 1 to 1000",
                .dflt = "3",
                .help = "health checks failed in a row that make it unhealthy: its cgroup is killed",
                .set_uint = corral_spec_set_health_check_failures,
        },
        {
                .key = "Restart",
                .varlink = "restart",
                .cli = "restart",
                .kind = OPTION_STRING,
                .arg = "no|on-failure|always",
                .expected = "no, on-failure or always",
                .dflt = "no",
                .help = "start it again after an exit not asked for; on-failure: not after finished",
                .set_str = set_restart,
        },
        {
                .key = "RestartSec",
                .varlink = "restartDelayUSec",
                .cli = "restart-sec",
                .cli_alias = "restart-delay",
                .kind = OPTION_DURATION,
                .dflt = "100ms",
                .help = "the first restart's delay, doubled for each restart in a row",
                .set_u64 = corral_spec_set_restart_delay,
        },
        {
                .key = "RestartMaxDelaySec",
                .varlink = "restartMaxDelayUSec",
                .cli = "restart-max-delay-sec",
                .cli_alias = "restart-max-delay",
                .kind = OPTION_DURATION,
                .dflt = "5min",
                .help = "the longest delay between restarts",
                .set_u64 = corral_spec_set_restart_max_delay,
        },
        {
                .key = "RestartResetSec",
                .varlink = "restartResetUSec",
                .cli = "restart-reset-sec",
                .cli_alias = "restart-reset",
                .kind = OPTION_DURATION,
                .dflt = "10s",
                .help = "a run this long starts the delays over",
                .set_u64 = corral_spec_set_restart_reset,
        },
        {
                .key = "StartLimitBurst",
                .varlink = "startLimitBurst",
                .cli = "start-limit-burst",
                .kind = OPTION_COUNT,
                .expected = "a number of restarts, 0 to 64",
                .dflt = "5",
                .help = "the crash-loop limit: failed after this many restarts within the interval; 0: none",
                .set_uint = corral_spec_set_restart_limit_burst,
        },
        {
                .key = "StartLimitIntervalSec",
                .varlink = "startLimitIntervalUSec",
                .cli = "start-limit-interval-sec",
                .kind = OPTION_DURATION,
                .dflt = "1min",
                .help = "the crash-loop limit's interval",
                .set_u64 = corral_spec_set_restart_limit_interval,
        },
        {
                .key = "RestartLimit",
                .varlink = "restartLimit",
                .cli = "restart-limit",
                .kind = OPTION_STRING,
                .arg = "N/WINDOW",
                .expected = "N/WINDOW such as 5/1min, N up to 64",
                .dflt = "5/1min",
                .help = "StartLimitBurst= and StartLimitIntervalSec= at once; 0/0: no limit",
                .set_str = set_restart_limit,
        },
        {
                .key = "KillSignal",
                .key_alias = "StopSignal",
                .varlink = "stopSignal",
                .cli = "kill-signal",
                .cli_alias = "stop-signal",
                .kind = OPTION_SIGNAL,
                .dflt = "SIGTERM",
                .help = "the signal that asks it to stop",
                .set_int = corral_spec_set_stop_signal,
        },
        {
                .key = "ExecStartPre",
                .varlink = "execStartPre",
                .cli = "exec-start-pre",
                .kind = OPTION_LIST,
                .whole_line = true,
                .arg = "[-]COMMAND",
                .expected =
                        "a command line, with systemd's - prefix to ignore its failure (not @, +, ! or :)",
                .noun = "command line",
                .help = "run before the main command, in its cgroup, in order; a failure is start-failed",
                .set_str = corral_spec_add_exec_start_pre,
        },
        {
                .key = "ExecStopPost",
                .varlink = "execStopPost",
                .cli = "exec-stop-post",
                .kind = OPTION_LIST,
                .whole_line = true,
                .arg = "[-]COMMAND",
                .expected =
                        "a command line, with systemd's - prefix to ignore its failure (not @, +, ! or :)",
                .noun = "command line",
                .help = "run after each launch ends, whatever its verdict, within TimeoutStopSec",
                .set_str = corral_spec_add_exec_stop_post,
        },
        {
                .key = "ExecReload",
                .varlink = "execReload",
                .cli = "exec-reload",
                .kind = OPTION_LIST,
                .whole_line = true,
                .arg = "[-]COMMAND",
                .expected =
                        "a command line, with systemd's - prefix to ignore its failure (not @, +, ! or :)",
                .noun = "command line",
                .help = "how corral reload reloads it: run in its cgroup with $MAINPID, its exit status "
                        "decides",
                .set_str = corral_spec_add_exec_reload,
        },
        {
                .key = "ReloadSignal",
                .varlink = "reloadSignal",
                .cli = "reload-signal",
                .kind = OPTION_SIGNAL,
                .help = "how corral reload reloads it: this signal to its main process (SIGHUP for nginx)",
                .set_int = corral_spec_set_reload_signal,
        },
        {
                .key = "TimeoutStopSec",
                .varlink = "stopTimeoutUSec",
                .cli = "timeout-stop-sec",
                .cli_alias = "grace",
                .kind = OPTION_DURATION,
                .dflt = "15s",
                .help = "time between the stop signal and the kill of its cgroup",
                .set_u64 = corral_spec_set_grace,
        },
        {
                .key = "KillMode",
                .varlink = "killMode",
                .cli = "kill-mode",
                .kind = OPTION_STRING,
                .arg = "control-group|mixed",
                .expected = "control-group or mixed (systemd's process and none are refused: they leave "
                            "processes behind after a stop, which corral never does)",
                .dflt = "control-group",
                .help = "who gets the stop signal: every process of its cgroup, or (mixed) the main "
                        "process, "
                        "and the rest is killed when it exits",
                .set_str = set_kill_mode,
        },
        {
                .key = "MemoryMax",
                .varlink = "memoryMax",
                .cli = "memory-max",
                .kind = OPTION_SIZE,
                .expected = "a size such as 512M or 2G, or infinity (percentages of RAM are not supported)",
                .dflt = "infinity",
                .help = "memory limit of its cgroup; beyond it, the OOM killer",
                .set_u64 = corral_spec_set_memory_max,
        },
        {
                .key = "TasksMax",
                .key_alias = "PidsMax",
                .varlink = "pidsMax",
                .cli = "tasks-max",
                .cli_alias = "pids-max",
                .kind = OPTION_COUNT,
                .expected = "a number of processes, or infinity",
                .dflt = "infinity",
                .help = "at most this many processes and threads at once",
                .set_u64 = corral_spec_set_pids_max,
        },
        {
                .key = "CPUQuota",
                .varlink = "cpuMax",
                .cli = "cpu-quota",
                .cli_alias = "cpu-max",
                .kind = OPTION_STRING,
                .arg = "PERCENT",
                .expected = "a percentage such as 50% or 200%",
                .help = "CPU time it may use, as a percentage of one CPU: 200% is two",
                .set_str = set_cpu_quota,
        },
        {
                .key = "CPUWeight",
                .varlink = "cpuWeight",
                .cli = "cpu-weight",
                .kind = OPTION_COUNT,
                .expected = "a weight from 1 to 10000",
                .help = "its share of CPU time against others', 1 to 10000; the kernel's default is 100",
                .set_u64 = corral_spec_set_cpu_weight,
        },
        {
                .key = "User",
                .varlink = "user",
                .cli = "user",
                .kind = OPTION_STRING,
                .arg = "USER",
                .expected = "a user name or number",
                .help = "run as this user (name or number), with its groups",
                .set_str = set_user,
        },
        {
                .key = "Group",
                .varlink = "group",
                .cli = "group",
                .kind = OPTION_STRING,
                .arg = "GROUP",
                .expected = "a group name or number",
                .help = "with this group instead of the user's own",
                .set_str = set_group,
        },
        {
                .key = "UMask",
                .varlink = "umask",
                .cli = "umask",
                .kind = OPTION_MODE,
                .help = "its file mode creation mask, else the supervisor's",
                .set_int = corral_spec_set_umask,
        },
        {
                .key = "WorkingDirectory",
                .varlink = "workingDirectory",
                .cli = "working-directory",
                .cli_alias = "workdir",
                .kind = OPTION_PATH,
                .arg = "DIR",
                .help = "its working directory, else the supervisor's",
                .set_str = corral_spec_set_working_directory,
        },
        {
                .key = "Environment",
                .varlink = "environment",
                .cli = "environment",
                .cli_alias = "env",
                .kind = OPTION_LIST,
                .arg = "KEY=VALUE",
                .expected = "KEY=VALUE",
                .noun = "assignment",
                .help = "added to its environment",
                .set_str = corral_spec_append_environment,
        },
        {
                .key = "EnvironmentFile",
                .varlink = "environmentFiles",
                .cli = "environment-file",
                .cli_alias = "env-file",
                .kind = OPTION_LIST,
                .whole_line = true,
                .arg = "[-]PATH",
                .expected = "an absolute path, with systemd's - prefix if it may be missing",
                .noun = "file",
                .help = "KEY=VALUE lines read at each start as its user (Environment= wins)",
                .set_str = corral_spec_add_environment_file,
        },
        {
                .key = "ClearEnvironment",
                .varlink = "clearEnvironment",
                .cli = "clear-environment",
                .cli_alias = "clear-env",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "start from an empty environment, then Environment=",
                .set_bool = corral_spec_set_clear_environment,
        },
        {
                .key = "Limit*",
                .varlink = "rlimits",
                .cli = "rlimit",
                .kind = OPTION_LIST,
                .arg = "NAME=SOFT[:HARD]",
                .expected = "SOFT[:HARD], numbers or infinity",
                .help = "a resource limit: nofile, core, nproc, ...",
                .set_str = set_rlimit,
                .family_ok = rlimit_name_ok,
        },
        {
                .key = "NoNewPrivileges",
                .varlink = "noNewPrivileges",
                .cli = "no-new-privileges",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "no setuid program it runs can gain privileges",
                .set_bool = corral_spec_set_no_new_privileges,
        },
        {
                .key = "CapabilityBoundingSet",
                .varlink = "capabilityBoundingSet",
                .cli = "capability-bounding-set",
                .kind = OPTION_STRING,
                .arg = "CAPS",
                .expected = "capability names such as CAP_NET_BIND_SERVICE, ~ before them to take them away",
                .help = "the capabilities it and its children can ever have; ~: all but these",
                .set_str = corral_spec_set_capability_bounding_set,
        },
        {
                .key = "AmbientCapabilities",
                .varlink = "ambientCapabilities",
                .cli = "ambient-capabilities",
                .kind = OPTION_STRING,
                .arg = "CAPS",
                .expected = "capability names such as CAP_NET_BIND_SERVICE",
                .help = "capabilities it keeps when it runs as another user than root",
                .set_str = corral_spec_set_ambient_capabilities,
        },
        {
                .key = "SystemCallFilter",
                .varlink = "systemCallFilter",
                .cli = "system-call-filter",
                .kind = OPTION_STRING,
                .arg = "[~]CALLS",
                .expected = "system call names and @groups (@system-service, @mount, ...), ~ before them "
                            "for a deny list",
                .help = "the system calls it may make (or, with ~, may not); others kill it with SIGSYS",
                .set_str = corral_spec_set_system_call_filter,
        },
        {
                .key = "SystemCallErrorNumber",
                .varlink = "systemCallErrorNumber",
                .cli = "system-call-error-number",
                .kind = OPTION_STRING,
                .arg = "ERRNO",
                .expected = "an errno name such as EPERM, a number from 1 to 4095, or kill",
                .dflt = "kill",
                .help = "a refused system call fails with this instead of killing it",
                .set_str = corral_spec_set_system_call_error_number,
        },
        {
                .key = "SystemCallArchitectures",
                .varlink = "systemCallArchitectures",
                .cli = "system-call-architectures",
                .kind = OPTION_STRING,
                .arg = "native",
                .expected = "native",
                .help = "native: system calls of other ABIs (i386, x32) kill it",
                .set_str = corral_spec_set_system_call_architectures,
        },
        {
                .key = "ProtectSystem",
                .varlink = "protectSystem",
                .cli = "protect-system",
                .kind = OPTION_STRING,
                .arg = "no|yes|full|strict",
                .expected = "no, yes, full or strict",
                .dflt = "no",
                .help = "yes: /usr and /boot read-only; full: and /etc; strict: the whole tree but /dev, "
                        "/proc, /sys",
                .set_str = corral_spec_set_protect_system,
        },
        {
                .key = "ProtectHome",
                .varlink = "protectHome",
                .cli = "protect-home",
                .kind = OPTION_STRING,
                .arg = "no|yes|read-only|tmpfs",
                .expected = "no, yes, read-only or tmpfs",
                .dflt = "no",
                .help = "/home, /root and /run/user: hidden (yes), read-only, or empty (tmpfs)",
                .set_str = corral_spec_set_protect_home,
        },
        {
                .key = "ReadOnlyPaths",
                .varlink = "readOnlyPaths",
                .cli = "read-only-paths",
                .kind = OPTION_LIST,
                .arg = "PATH",
                .expected = "an absolute path, - before it if it may be missing",
                .help = "made read-only in its mount namespace",
                .set_str = corral_spec_add_read_only_path,
        },
        {
                .key = "ReadWritePaths",
                .varlink = "readWritePaths",
                .cli = "read-write-paths",
                .kind = OPTION_LIST,
                .arg = "PATH",
                .expected = "an absolute path, - before it if it may be missing",
                .help = "left writable (as the host has them) under ProtectSystem= and ReadOnlyPaths=",
                .set_str = corral_spec_add_read_write_path,
        },
        {
                .key = "InaccessiblePaths",
                .varlink = "inaccessiblePaths",
                .cli = "inaccessible-paths",
                .kind = OPTION_LIST,
                .arg = "PATH",
                .expected = "an absolute path, - before it if it may be missing",
                .help = "hidden in its mount namespace",
                .set_str = corral_spec_add_inaccessible_path,
        },
        {
                .key = "PrivateTmp",
                .varlink = "privateTmp",
                .cli = "private-tmp",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "a /tmp and /var/tmp of its own, gone with its launch",
                .set_bool = corral_spec_set_private_tmp,
        },
        {
                .key = "PrivateDevices",
                .varlink = "privateDevices",
                .cli = "private-devices",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "a /dev of its own with null, zero, full, random, urandom, tty and shm only",
                .set_bool = corral_spec_set_private_devices,
        },
        {
                .key = "PrivateNetwork",
                .varlink = "privateNetwork",
                .cli = "private-network",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "a network namespace of its own with only the loopback device",
                .set_bool = corral_spec_set_private_network,
        },
        {
                .key = "ProtectKernelTunables",
                .varlink = "protectKernelTunables",
                .cli = "protect-kernel-tunables",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "/proc/sys, /sys and the like read-only",
                .set_bool = corral_spec_set_protect_kernel_tunables,
        },
        {
                .key = "ProtectKernelModules",
                .varlink = "protectKernelModules",
                .cli = "protect-kernel-modules",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "no module loading: CAP_SYS_MODULE dropped, /usr/lib/modules hidden",
                .set_bool = corral_spec_set_protect_kernel_modules,
        },
        {
                .key = "ProtectControlGroups",
                .varlink = "protectControlGroups",
                .cli = "protect-control-groups",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "/sys/fs/cgroup read-only",
                .set_bool = corral_spec_set_protect_control_groups,
        },
        {
                .key = "RestrictAddressFamilies",
                .varlink = "restrictAddressFamilies",
                .cli = "restrict-address-families",
                .kind = OPTION_STRING,
                .arg = "[~]FAMILIES",
                .expected =
                        "address families such as AF_INET AF_UNIX, ~ before them for a deny list, or none",
                .help = "socket(2) of any other family fails with EAFNOSUPPORT",
                .set_str = corral_spec_set_restrict_address_families,
        },
        {
                .key = "RestrictNamespaces",
                .varlink = "restrictNamespaces",
                .cli = "restrict-namespaces",
                .kind = OPTION_STRING,
                .arg = "yes|no|[~]TYPES",
                .expected = "yes, no, or namespace types (cgroup ipc net mnt pid user uts), ~ before them "
                            "for a deny list",
                .dflt = "no",
                .help = "yes: it may create no namespace; a list: only these",
                .set_str = corral_spec_set_restrict_namespaces,
        },
        {
                .key = "LockPersonality",
                .varlink = "lockPersonality",
                .cli = "lock-personality",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "personality(2) cannot change the execution domain",
                .set_bool = corral_spec_set_lock_personality,
        },
        {
                .key = "MemoryDenyWriteExecute",
                .varlink = "memoryDenyWriteExecute",
                .cli = "memory-deny-write-execute",
                .kind = OPTION_BOOL,
                .dflt = "no",
                .help = "no memory both writable and executable, none made executable",
                .set_bool = corral_spec_set_memory_deny_write_execute,
        },
        {
                .key = "LogBuffer",
                .varlink = "logBuffer",
                .cli = "log-buffer",
                .kind = OPTION_SIZE,
                .expected = "a size such as 1M, at most 1G, or 0",
                .dflt = "1M",
                .help = "how much of its output is kept for corral logs; 0: none",
                .set_u64 = corral_spec_set_log_buffer,
        },
        {
                .key = "LogFile",
                .varlink = "logFile",
                .cli = "log-file",
                .kind = OPTION_PATH,
                .help = "also append its output to this file, rotated at LogFileMax= to PATH.1 .. PATH.N",
                .set_str = set_log_file,
        },
        {
                .key = "LogFileMax",
                .varlink = "logFileMax",
                .cli = "log-file-max",
                .kind = OPTION_SIZE,
                .expected = "a size such as 10M, 4K to 1T",
                .dflt = "10M",
                .help = "the log file's size at which it is rotated",
                .set_u64 = corral_spec_set_log_file_max,
        },
        {
                .key = "LogFileKeep",
                .varlink = "logFileKeep",
                .cli = "log-file-keep",
                .kind = OPTION_COUNT,
                .expected = "a number, 0 to 100",
                .dflt = "3",
                .help = "rotated log files kept (PATH.1 the newest); 0: the file is emptied when full",
                .set_uint = corral_spec_set_log_file_keep,
        },
        {
                .key = "LogJournal",
                .varlink = "logJournal",
                .cli = "log-journal",
                .kind = OPTION_BOOL,
                .dflt = "yes",
                .help = "copy its output to the journal, where journald runs",
                .set_bool = corral_spec_set_log_journal,
        },
};

const size_t options_table_n = ELEMENTSOF(options_table);

_Static_assert(ELEMENTSOF(options_table) <= OPTIONS_MAX, "raise OPTIONS_MAX");

/* --- The kinds. --- */

static const struct {
        const char *arg, *expected;
} kinds[_OPTION_KIND_MAX] = {
        [OPTION_DURATION] = { "DURATION", "a duration such as 500ms, 15s or 2min" },
        [OPTION_TIMEOUT] = { "DURATION", "a duration such as 500ms, 15s or 2min, or infinity" },
        [OPTION_SIZE] = { "SIZE", "a size such as 512M or 2G, or infinity" },
        [OPTION_COUNT] = { "N", "a number, or infinity" },
        [OPTION_MODE] = { "MODE", "an octal mode such as 0027" },
        [OPTION_BOOL] = { "BOOL", "yes or no" },
        [OPTION_SIGNAL] = { "SIGNAL", "a signal such as SIGTERM or 15" },
        [OPTION_STRING] = { "VALUE", "a value" },
        [OPTION_PATH] = { "PATH", "an absolute path" },
        [OPTION_LIST] = { "VALUE", "a value" },
};

/* One value, as the setter of its kind takes it. */
typedef struct option_value {
        uint64_t u;    /* numbers; a signal's number */
        bool b;        /* BOOL */
        const char *s; /* the text: strings, paths, items, a signal as written */
} option_value;

static bool kind_is_number(option_kind k) {
        return k == OPTION_DURATION || k == OPTION_TIMEOUT || k == OPTION_SIZE || k == OPTION_COUNT ||
                k == OPTION_MODE;
}

/* One value (or item of a list) from its text form. */
static int value_from_text(const option_def *o, const char *t, option_value *ret) {
        unsigned mode = 0;
        int r;

        *ret = (option_value){ .s = t };
        switch (o->kind) {
        case OPTION_DURATION:
                return parse_duration(t, &ret->u);
        case OPTION_TIMEOUT:
                return strcmp(t, "infinity") == 0 ? 0 : parse_duration(t, &ret->u);
        case OPTION_SIZE:
                return parse_size(t, &ret->u);
        case OPTION_COUNT:
                return parse_count(t, &ret->u);
        case OPTION_MODE:
                r = parse_umask(t, &mode);
                ret->u = mode;
                return r;
        case OPTION_BOOL:
                r = parse_boolean(t);
                ret->b = r > 0;
                return r < 0 ? r : 0;
        case OPTION_SIGNAL:
                r = parse_signal(t);
                ret->u = r > 0 ? (uint64_t) r : 0;
                return r < 0 ? r : 0;
        case OPTION_PATH:
                return t[0] == '/' && strlen(t) <= PATH_LENGTH_MAX ? 0 : -EINVAL;
        default:
                return 0;
        }
}

/* One value (not a list) from its JSON form: numbers are integers (µs, bytes), booleans booleans,
 * the rest strings of the text form. */
static int value_from_json(const option_def *o, json_t *v, option_value *ret) {
        const char *s;

        *ret = (option_value){};
        if (kind_is_number(o->kind)) {
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return -EINVAL;
                ret->u = (uint64_t) json_integer_value(v);
                return 0;
        }
        if (o->kind == OPTION_BOOL) {
                if (!json_is_boolean(v))
                        return -EINVAL;
                ret->b = json_is_true(v);
                return 0;
        }
        s = json_cstring(v);
        return s ? value_from_text(o, s, ret) : -EINVAL;
}

static int value_set(option_ctx *x, const option_def *o, const option_value *v) {
        if (o->set_u64)
                return o->set_u64(x->spec, v->u);
        if (o->set_uint)
                return v->u > UINT_MAX ? -ERANGE : o->set_uint(x->spec, (unsigned) v->u);
        if (o->set_int)
                return v->u > INT_MAX ? -ERANGE : o->set_int(x->spec, (int) v->u);
        if (o->set_bool)
                return o->set_bool(x->spec, v->b);
        if (o->set_ctx)
                return o->set_ctx(x, v->s);
        if (o->set_str)
                return o->set_str(x->spec, v->s);
        return -EINVAL;
}

/* The value as Start's parameter (corral start). JSON has no infinity: it is left out, being the
 * default of every size and count that accepts it (test-options checks that). */
static int value_to_params(option_ctx *x, const option_def *o, const option_value *v) {
        json_t *j;

        if (!x->params)
                return 0;
        if (o->kind == OPTION_LIST)
                return json_strv_append(x->params, o->varlink, v->s);
        if (kind_is_number(o->kind) && v->u > INT64_MAX) {
                (void) json_object_del(x->params, o->varlink);
                return 0;
        }
        if (kind_is_number(o->kind))
                j = json_integer((json_int_t) v->u);
        else if (o->kind == OPTION_BOOL)
                j = json_boolean(v->b);
        else if (!utf8_is_valid(v->s, strlen(v->s)))
                return -EINVAL;
        else
                j = json_string(v->s);
        return json_object_set_new(x->params, o->varlink, j) < 0 ? -ENOMEM : 0;
}

static int refuse(option_ctx *x, const option_def *o, const char *value, option_form form,
                  const char *problem) {
        x->bad = o;
        x->problem = problem;
        (void) snprintf(x->bad_value, sizeof(x->bad_value), "%s", value);
        /* a family's item on the command line names its member: nofile=1024 */
        (void) snprintf(x->bad_expected, sizeof(x->bad_expected), "%s%s",
                        o->family_ok && form == OPTION_FORM_CLI ? "NAME=" : "", options_expected(o));
        return -EINVAL;
}

/* One value or item in its text form; @shown is what a refusal quotes. */
static int apply_item(option_ctx *x, const option_def *o, const char *item, const char *shown,
                      option_form form) {
        option_value v;
        int r = value_from_text(o, item, &v);

        if (r >= 0)
                r = value_set(x, o, &v);
        if (r >= 0)
                r = value_to_params(x, o, &v);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? refuse(x, o, shown, form, NULL) : 0;
}

/* LimitNOFILE=1024:4096 is the item nofile=1024:4096 of the family Limit*. */
static int apply_family_key(option_ctx *x, const option_def *o, const char *key, const char *value) {
        _cleanup_free_ char *item = NULL;
        size_t prefix = strlen(o->key) - 1;
        int r;

        if (!key || strncmp(key, o->key, prefix) != 0 || !o->family_ok(key + prefix))
                return refuse(x, o, value, OPTION_FORM_KEY, NULL);
        if (asprintf(&item, "%s=%s", key + prefix, value) < 0)
                return -ENOMEM;
        for (char *p = item; *p != '='; p++)
                *p = (char) tolower((unsigned char) *p);
        r = apply_item(x, o, item, value, OPTION_FORM_KEY);
        return r;
}

int options_apply_text(option_ctx *x, const option_def *o, const char *key, const char *value,
                       option_form form) {
        char **items = NULL;
        int r;

        x->given[options_index(o)] = true;
        if (o->kind != OPTION_LIST || form == OPTION_FORM_CLI || o->whole_line)
                return apply_item(x, o, value, value, form);
        if (o->family_ok)
                return apply_family_key(x, o, key, value);
        r = strv_split_quoted(value, &items); /* Environment="A=1" "B=two words" */
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return refuse(x, o, value, form, "an unterminated quote or a trailing backslash");
        r = 0;
        for (char **i = items; r >= 0 && *i; i++)
                r = apply_item(x, o, *i, *i, form);
        strv_free(items);
        return r;
}

int options_apply_property(option_ctx *x, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        _cleanup_free_ char *key = NULL;
        const option_def *o;

        x->bad = NULL;
        if (!eq || eq == assignment)
                return -EINVAL;
        key = strndup(assignment, (size_t) (eq - assignment));
        if (!key)
                return -ENOMEM;
        o = options_find_key(key);
        if (!o)
                return -ENOENT;
        return options_apply_text(x, o, key, eq + 1, OPTION_FORM_KEY);
}

/* A Start parameter (non-null) into x->spec. */
static int apply_json(option_ctx *x, const option_def *o, json_t *j) {
        _cleanup_free_ char **items = NULL;
        option_value v;
        int r;

        if (o->kind != OPTION_LIST) {
                r = value_from_json(o, j, &v);
                return r < 0 ? r : value_set(x, o, &v);
        }
        r = json_strv_get(j, &items);
        for (char **i = items; r >= 0 && *i; i++) {
                r = value_from_text(o, *i, &v);
                if (r >= 0)
                        r = value_set(x, o, &v);
        }
        return r;
}

int options_spec_from_json(json_t *params, corral_spec *spec, const char **ret_bad) {
        option_ctx x = { .spec = spec };

        /* Given means given in this call, whatever the order: Type=notify looks at Ready. */
        for (size_t i = 0; i < options_table_n; i++) {
                json_t *v = json_object_get(params, options_table[i].varlink);
                x.given[i] = v && !json_is_null(v);
        }
        for (size_t i = 0; i < options_table_n; i++) {
                int r = x.given[i] ? apply_json(&x, &options_table[i],
                                                json_object_get(params, options_table[i].varlink))
                                   : 0;
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        *ret_bad = options_table[i].varlink;
                        return -EINVAL;
                }
        }
        return 0;
}

int options_json_check(const char *name, json_t *v) {
        const option_def *o = options_find_varlink(name);
        size_t i;
        json_t *e;

        if (!o)
                return -ENOENT;
        if (json_is_null(v))
                return 1;
        if (kind_is_number(o->kind))
                return json_is_integer(v) && json_integer_value(v) >= 0;
        if (o->kind == OPTION_BOOL)
                return json_is_boolean(v);
        if (o->kind != OPTION_LIST)
                return json_cstring(v) != NULL;
        if (!json_is_array(v))
                return 0;
        json_array_foreach(v, i, e) if (!json_cstring(e)) return 0;
        return 1;
}

const char *options_varlink_type(const option_def *o) {
        if (kind_is_number(o->kind))
                return "int";
        if (o->kind == OPTION_BOOL)
                return "bool";
        return o->kind == OPTION_LIST ? "[]string" : "string";
}

/* --- Finding rows. --- */

const option_def *options_find_key(const char *key) {
        for (const option_def *o = options_table; key && o < options_table + options_table_n; o++) {
                size_t prefix = strlen(o->key) - 1;
                if (o->family_ok
                            ? strncmp(key, o->key, prefix) == 0 && o->family_ok(key + prefix)
                            : strcmp(key, o->key) == 0 || (o->key_alias && strcmp(key, o->key_alias) == 0))
                        return o;
        }
        return NULL;
}

const option_def *options_find_varlink(const char *name) {
        for (const option_def *o = options_table; name && o < options_table + options_table_n; o++)
                if (strcmp(name, o->varlink) == 0)
                        return o;
        return NULL;
}

size_t options_index(const option_def *o) {
        return (size_t) (o - options_table);
}

const char *options_expected(const option_def *o) {
        return o->expected ?: kinds[o->kind].expected;
}

const char *options_noun(const option_def *o) {
        return o->noun ?: "value";
}

bool options_given(const option_ctx *x, const char *key) {
        const option_def *o = options_find_key(key);

        return o && x->given[options_index(o)];
}

/* --- The command line. --- */

struct option *options_getopt(const struct option *own) {
        size_t n_own = 0, n;
        struct option *o;

        while (own[n_own].name)
                n_own++;
        o = calloc(n_own + 2 * options_table_n + 2, sizeof(*o)); /* and the terminator */
        if (!o)
                return NULL;
        memcpy(o, own, n_own * sizeof(*o));
        n = n_own;
        for (size_t i = 0; i < options_table_n; i++) {
                const option_def *d = &options_table[i];
                int has_arg = d->kind == OPTION_BOOL ? optional_argument : required_argument;
                o[n++] = (struct option){ d->cli, has_arg, NULL, OPTIONS_CLI_FIRST + (int) i };
                if (d->cli_alias)
                        o[n++] = (struct option){ d->cli_alias, has_arg, NULL, OPTIONS_CLI_FIRST + (int) i };
        }
        o[n] = (struct option){ "property", required_argument, NULL, 'p' };
        return o;
}

const option_def *options_from_getopt(int code) {
        return code >= OPTIONS_CLI_FIRST && (size_t) (code - OPTIONS_CLI_FIRST) < options_table_n
                ? &options_table[code - OPTIONS_CLI_FIRST]
                : NULL;
}

#define HELP_COLUMN 27
#define HELP_WIDTH  100

/* "  --left    text", the text wrapped at HELP_WIDTH and indented to HELP_COLUMN, put together in
 * a buffer and written at once: `corral --help` prints every row, and printf() and a stdio call per
 * word were most of its cost (docs/benchmarks.md, §7). The buffer holds the longest entry: left is
 * under 128 bytes, text under 512, and each of its at most 256 words adds at most HELP_COLUMN + 1. */
static void help_entry(FILE *f, const char *left, const char *text) {
        char out[128 + 512 + 256 * (HELP_COLUMN + 1)];
        size_t col = strlen(left), n = col;

        memcpy(out, left, col);
        if (col >= HELP_COLUMN - 1) {
                out[n++] = '\n';
                col = 0;
        }
        for (const char *w = text; *w;) {
                size_t len = 0;
                while (w[len] && w[len] != ' ')
                        len++;
                if (col > HELP_COLUMN && col + 1 + len > HELP_WIDTH) {
                        out[n++] = '\n';
                        col = 0;
                }
                if (col < HELP_COLUMN) {
                        memset(out + n, ' ', HELP_COLUMN - col);
                        n += HELP_COLUMN - col;
                        col = HELP_COLUMN;
                } else {
                        out[n++] = ' ';
                        col++;
                }
                memcpy(out + n, w, len);
                n += len;
                col += len;
                w += len;
                while (*w == ' ')
                        w++;
        }
        out[n++] = '\n';
        fwrite(out, 1, n, f);
}

/* Append @s to @buf (@size bytes, of which *n are used), cut as snprintf() cuts. */
static void help_append(char *buf, size_t size, size_t *n, const char *s) {
        size_t len = strlen(s);

        if (*n + 1 >= size)
                return;
        if (len > size - 1 - *n)
                len = size - 1 - *n;
        memcpy(buf + *n, s, len);
        *n += len;
        buf[*n] = '\0';
}

/* "help (default 15s; also --grace)": a note more in the parentheses at the end. */
static void help_note(char *text, size_t size, size_t *n, const char *what, const char *value) {
        bool first = *n == 0 || text[*n - 1] != ')';

        if (!first)
                text[--*n] = '\0';
        help_append(text, size, n, first ? " (" : "; ");
        help_append(text, size, n, what);
        help_append(text, size, n, value);
        help_append(text, size, n, ")");
}

void options_help_row(FILE *f, const option_def *o) {
        char left[128] = "", text[512] = "";
        size_t nl = 0, nt = 0;

        help_append(left, sizeof(left), &nl, "  --");
        help_append(left, sizeof(left), &nl, o->cli);
        help_append(left, sizeof(left), &nl, o->kind == OPTION_BOOL ? "[=BOOL]" : " ");
        if (o->kind != OPTION_BOOL)
                help_append(left, sizeof(left), &nl, o->arg ?: kinds[o->kind].arg);
        help_append(text, sizeof(text), &nt, o->help);
        if (o->dflt)
                help_note(text, sizeof(text), &nt, "default ", o->dflt);
        if (o->kind == OPTION_LIST)
                help_note(text, sizeof(text), &nt, "repeatable", "");
        if (o->cli_alias)
                help_note(text, sizeof(text), &nt, "also --", o->cli_alias);
        help_entry(f, left, text);
}

void options_help(FILE *f) {
        for (const option_def *o = options_table; o < options_table + options_table_n; o++)
                options_help_row(f, o);
        help_entry(f, "  -p, --property KEY=VALUE",
                   "any key of corral.backend(5), as -p TimeoutStopSec=5s (repeatable)");
}
