/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox.h: a backend's sandbox (capabilities, system call filters, its own mount and network
 * namespaces): the settings of its spec, and the plan the parent makes of them for the child.
 */
#pragma once

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "spawn-clone3.h"

typedef enum sandbox_protect_system {
        SANDBOX_PROTECT_SYSTEM_NO,
        SANDBOX_PROTECT_SYSTEM_YES,
        SANDBOX_PROTECT_SYSTEM_FULL,
        SANDBOX_PROTECT_SYSTEM_STRICT,
} sandbox_protect_system;

typedef enum sandbox_protect_home {
        SANDBOX_PROTECT_HOME_NO,
        SANDBOX_PROTECT_HOME_YES,
        SANDBOX_PROTECT_HOME_READ_ONLY,
        SANDBOX_PROTECT_HOME_TMPFS,
} sandbox_protect_home;

/* What the spec asks for, as plain data (kept in its JSON form for re-adoption). All zero: none. */
typedef struct sandbox_settings {
        bool bounding_set;      /* CapabilityBoundingSet= was given */
        uint64_t bounding;      /* the capabilities kept */
        uint64_t ambient;       /* AmbientCapabilities= */
        char **syscalls;        /* SystemCallFilter=: names and @groups, NULL: none */
        char **syscalls_except; /* removed from it by an assignment of the other sense */
        bool syscalls_deny;     /* ~: a deny list */
        int syscall_errno;      /* SystemCallErrorNumber=: 0: killed (SIGSYS) */
        bool native_only;       /* SystemCallArchitectures=native */
        int protect_system;     /* sandbox_protect_system */
        int protect_home;       /* sandbox_protect_home */
        char **read_only, **read_write, **inaccessible;
        bool private_tmp, private_devices, private_network;
        bool protect_kernel_tunables, protect_kernel_modules, protect_control_groups;
        bool lock_personality, memory_deny_write_execute;
        bool families_set;   /* RestrictAddressFamilies= was given */
        bool families_deny;  /* ~: a deny list */
        uint64_t families;   /* bit n: AF n (AF_MAX < 64) */
        bool namespaces_set; /* RestrictNamespaces= was given */
        uint64_t namespaces; /* the CLONE_NEW* flags still allowed */
} sandbox_settings;

void sandbox_settings_done(sandbox_settings *s);
/* A deep copy into *dst (whose pointers are overwritten, not freed). 0 or -ENOMEM. */
int sandbox_settings_copy(sandbox_settings *dst, const sandbox_settings *src);
bool sandbox_settings_any(const sandbox_settings *s);
/* Whether it has any system call filter (the verdict names SIGSYS as the filter's). */
bool sandbox_settings_filters(const sandbox_settings *s);
/* As JSON (an object; NULL for no setting at all, or no memory) and back; -EINVAL on a value that
 * is not one of ours. */
json_t *sandbox_settings_to_json(const sandbox_settings *s);
int sandbox_settings_from_json(sandbox_settings *s, json_t *o);

/* Compiled filters, by the settings they come from: libseccomp takes milliseconds (35 ms for
 * @system-service on the three x86 ABIs) that a restart, or the next backend of the same
 * definition, need not pay again. A few entries, the oldest replaced. */
typedef struct sandbox_cache_entry {
        char *key; /* the filter settings as compact JSON; NULL: empty slot */
        struct sock_fprog filters[SPAWN_FILTERS_MAX];
        size_t n_filters;
} sandbox_cache_entry;

typedef struct sandbox_cache {
        sandbox_cache_entry e[8];
        unsigned next; /* the slot to fill or replace next */
} sandbox_cache;

void sandbox_cache_done(sandbox_cache *c);

/* The plan for the child: what spawn_sandbox points to. Its filters are the cache's. */
typedef struct sandbox_plan {
        spawn_sandbox sb;
        spawn_mount mounts[64];
        char *whats[64]; /* the mounts' words, "ReadOnlyPaths=/srv" */
        char uid_map[32], gid_map[32];
} sandbox_plan;

/*
 * The plan of @s, for a child that becomes root (@becomes_root) or not; its filters from @cache,
 * compiled into it if they are not there yet. A supervisor that is not root gets the namespaces
 * inside a user namespace (where the kernel gives unprivileged users one: else -EPERM naming the
 * sysctl) and a child without any capability; AmbientCapabilities= stays -EPERM. Returns 0 (a
 * plan, or none: ret->sb.active false), or -errno with *ret_what naming the option that could
 * not be made (malloc'ed). The plan is good until the next call with the same cache.
 */
/*
 * Words for a failed step of the child (spawn_start()'s *ret_step) that say more than its errno
 * @err: for the user namespace, the sysctl that refused it (changed since the check at Start, or
 * its count reached). NULL where there is nothing more to say (or no memory); else malloc'ed.
 */
char *sandbox_step_what(const char *step, int err);

int sandbox_plan_make(const sandbox_settings *s, bool becomes_root, sandbox_cache *cache, sandbox_plan *ret,
                      char **ret_what);
void sandbox_plan_done(sandbox_plan *p);

/* The number (0-63) of the capability @name ("cap_chown", lower case), or -EINVAL (sandbox-names.c). */
int sandbox_capability_number(const char *name);

/* Whether @name is a system call this libseccomp knows, on any architecture (sandbox-names.c). */
bool sandbox_syscall_known(const char *name);

/* The system call groups (systemd's): the names of @name, or NULL. */
const char *const *sandbox_syscall_group(const char *name);
