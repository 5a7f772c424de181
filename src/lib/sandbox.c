/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox.c: the plan of a backend's sandbox, made by the parent before it spawns: the capabilities
 * to drop and raise, the mount namespace's steps in order, and the system call filters compiled to
 * BPF (libseccomp), so that the child only makes system calls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "sandbox.h"
#include "strv.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

static unsigned last_cap(void) {
        char buf[16] = { 0 };
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        long n = -1;

        if (fd >= 0) {
                if (read(fd, buf, sizeof(buf) - 1) > 0)
                        n = strtol(buf, NULL, 10);
                safe_close(fd);
        }
        return n > 0 && n < 64 ? (unsigned) n : CAP_LAST_CAP;
}

/* --- The mount namespace. --- */

static int plan_mount(sandbox_plan *p, spawn_mount_op op, const char *path, const char *option,
                      bool optional, const char *data, unsigned long flags) {
        spawn_mount *m;

        if (p->sb.n_mounts >= ELEMENTSOF(p->mounts))
                return -E2BIG;
        if (path[0] == '-') {
                optional = true;
                path++;
        }
        m = &p->mounts[p->sb.n_mounts];
        /* "ReadOnlyPaths=/srv", "ProtectSystem=strict on /usr" */
        if (asprintf(&p->whats[p->sb.n_mounts], "%s%s%s", option,
                     option[strlen(option) - 1] == '=' ? "" : " on ", path) < 0)
                return -ENOMEM;
        *m = (spawn_mount){ .op = op,
                            .path = path,
                            .data = data,
                            .flags = flags,
                            .optional = optional,
                            .what = p->whats[p->sb.n_mounts] };
        p->sb.n_mounts++;
        return 0;
}

static int plan_paths(sandbox_plan *p, spawn_mount_op op, const char *const *paths, const char *option,
                      bool optional) {
        int r = 0;

        for (; r >= 0 && paths && *paths; paths++)
                r = plan_mount(p, op, *paths, option, optional, NULL, 0);
        return r;
}

static int plan_protect_system(sandbox_plan *p, const sandbox_settings *s) {
        static const char *const api[] = { "/dev", "/proc", "/sys", NULL };
        static const char *const usr[] = { "/usr", "-/boot", "-/efi", NULL };
        int r = 0;

        switch (s->protect_system) {
        case SANDBOX_PROTECT_SYSTEM_STRICT:
                r = plan_mount(p, SPAWN_MOUNT_READ_ONLY, "/", "ProtectSystem=strict", false, NULL, 0);
                return r < 0 ? r : plan_paths(p, SPAWN_MOUNT_READ_WRITE, api, "ProtectSystem=strict", true);
        case SANDBOX_PROTECT_SYSTEM_FULL:
                r = plan_mount(p, SPAWN_MOUNT_READ_ONLY, "/etc", "ProtectSystem=full", false, NULL, 0);
                __attribute__((fallthrough));
        case SANDBOX_PROTECT_SYSTEM_YES:
                return r < 0 ? r : plan_paths(p, SPAWN_MOUNT_READ_ONLY, usr, "ProtectSystem=", false);
        default:
                return 0;
        }
}

static int plan_protect_home(sandbox_plan *p, const sandbox_settings *s) {
        static const char *const home[] = { "/home", "/root", "/run/user", NULL };

        switch (s->protect_home) {
        case SANDBOX_PROTECT_HOME_YES:
                return plan_paths(p, SPAWN_MOUNT_HIDE, home, "ProtectHome=yes", true);
        case SANDBOX_PROTECT_HOME_READ_ONLY:
                return plan_paths(p, SPAWN_MOUNT_READ_ONLY, home, "ProtectHome=read-only", true);
        case SANDBOX_PROTECT_HOME_TMPFS:
                for (size_t i = 0; home[i]; i++) {
                        int r = plan_mount(p, SPAWN_MOUNT_TMPFS, home[i], "ProtectHome=tmpfs", true,
                                           "mode=0755", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
                        if (r < 0)
                                return r;
                }
                return 0;
        default:
                return 0;
        }
}

/* systemd's lists, less what this kernel has not (each is optional). */
static int plan_kernel(sandbox_plan *p, const sandbox_settings *s) {
        static const char *const tunables_ro[] = {
                "/proc/sys",  "/proc/sysrq-trigger", "/proc/irq",        "/proc/bus", "/proc/fs",
                "/proc/acpi", "/proc/latency_stats", "/proc/timer_list", "/sys",      NULL
        };
        static const char *const tunables_hide[] = { "/proc/kallsyms", "/proc/kcore", NULL };
        static const char *const modules[] = { "/usr/lib/modules", "/lib/modules", NULL };
        int r = 0;

        if (s->protect_kernel_tunables) {
                r = plan_paths(p, SPAWN_MOUNT_READ_ONLY, tunables_ro, "ProtectKernelTunables=", true);
                if (r >= 0)
                        r = plan_paths(p, SPAWN_MOUNT_HIDE, tunables_hide, "ProtectKernelTunables=", true);
        }
        if (r >= 0 && s->protect_kernel_modules)
                r = plan_paths(p, SPAWN_MOUNT_HIDE, modules, "ProtectKernelModules=", true);
        if (r >= 0 && s->protect_control_groups)
                r = plan_mount(p, SPAWN_MOUNT_READ_ONLY, "/sys/fs/cgroup", "ProtectControlGroups=", true,
                               NULL, 0);
        return r;
}

/* In systemd's order of strength: the read-only system first, the holes in it, then what is
 * hidden or replaced. */
static int plan_mounts(sandbox_plan *p, const sandbox_settings *s) {
        int r = plan_protect_system(p, s);

        if (r >= 0)
                r = plan_paths(p, SPAWN_MOUNT_READ_WRITE, (const char *const *) s->read_write,
                               "ReadWritePaths=", false);
        if (r >= 0)
                r = plan_paths(p, SPAWN_MOUNT_READ_ONLY, (const char *const *) s->read_only,
                               "ReadOnlyPaths=", false);
        if (r >= 0)
                r = plan_protect_home(p, s);
        if (r >= 0)
                r = plan_kernel(p, s);
        if (r >= 0)
                r = plan_paths(p, SPAWN_MOUNT_HIDE, (const char *const *) s->inaccessible,
                               "InaccessiblePaths=", false);
        if (r >= 0 && s->private_tmp)
                r = plan_mount(p, SPAWN_MOUNT_TMPFS, "/tmp", "PrivateTmp=", false, "mode=01777",
                               MS_NOSUID | MS_NODEV);
        if (r >= 0 && s->private_tmp)
                r = plan_mount(p, SPAWN_MOUNT_TMPFS, "/var/tmp", "PrivateTmp=", true, "mode=01777",
                               MS_NOSUID | MS_NODEV);
        if (r >= 0 && s->private_devices)
                r = plan_mount(p, SPAWN_MOUNT_DEV, "/dev", "PrivateDevices=", false, "mode=0755",
                               MS_NOSUID | MS_NOEXEC);
        p->sb.mount_ns = p->sb.n_mounts > 0;
        p->sb.mounts = p->mounts;
        return r;
}

/* --- The system call filters. --- */

/* Whether @name is @word or in the group @word (groups nest). */
static bool syscall_matches(const char *word, const char *name) {
        const char *const *g;

        if (word[0] != '@')
                return strcmp(word, name) == 0;
        g = sandbox_syscall_group(word);
        for (; g && *g; g++)
                if (syscall_matches(*g, name))
                        return true;
        return false;
}

static bool syscall_excepted(const sandbox_settings *s, const char *name) {
        STRV_FOREACH(w, s->syscalls_except)
        if (syscall_matches(*w, name))
                return true;
        return false;
}

static int filter_add_word(scmp_filter_ctx ctx, const sandbox_settings *s, const char *word,
                           uint32_t action) {
        const char *const *g;
        int nr, r;

        if (word[0] == '@') {
                for (g = sandbox_syscall_group(word); g && *g; g++)
                        if ((r = filter_add_word(ctx, s, *g, action)) < 0)
                                return r;
                return 0;
        }
        if (syscall_excepted(s, word))
                return 0;
        nr = seccomp_syscall_resolve_name(word);
        if (nr == __NR_SCMP_ERROR)
                return 0; /* not known to this libseccomp: as systemd, skipped */
        r = seccomp_rule_add(ctx, action, nr, 0);
        return r == -EDOM || r == -EEXIST ? 0 : r;
}

/* x86-64 runs i386 and x32 code too: a filter covers them unless only native calls are allowed. */
static int filter_arches(scmp_filter_ctx ctx, bool native_only) {
        int r;

        if (native_only)
                return seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
#if defined(__x86_64__) && !defined(__ILP32__)
        r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
        if (r < 0 && r != -EEXIST)
                return r;
        r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
        if (r < 0 && r != -EEXIST)
                return r;
#endif
        return 0;
}

static int filter_export(scmp_filter_ctx ctx, struct sock_fprog *ret) {
        _cleanup_close_ int fd = memfd_create("corral-seccomp", MFD_CLOEXEC);
        struct stat st;
        void *buf;
        int r;

        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 || st.st_size > 1024 * 1024)
                return -EINVAL;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, (size_t) st.st_size, 0) != st.st_size) {
                free(buf);
                return -EIO;
        }
        *ret = (struct sock_fprog){ .len = (unsigned short) (st.st_size / sizeof(struct sock_filter)),
                                    .filter = buf };
        return 0;
}

static int plan_filter(sandbox_cache_entry *p, scmp_filter_ctx ctx, int r) {
        if (r >= 0 && p->n_filters >= SPAWN_FILTERS_MAX)
                r = -E2BIG;
        if (r >= 0)
                r = filter_export(ctx, &p->filters[p->n_filters]);
        if (r >= 0)
                p->n_filters++;
        seccomp_release(ctx);
        return r;
}

/* SystemCallFilter= and SystemCallArchitectures=: the allow list (with @default, as systemd) or
 * the deny list, the others killed (SIGSYS) or refused with SystemCallErrorNumber=. */
static int plan_syscalls(sandbox_cache_entry *p, const sandbox_settings *s) {
        uint32_t refuse =
                s->syscall_errno ? SCMP_ACT_ERRNO((uint32_t) s->syscall_errno) : SCMP_ACT_KILL_PROCESS;
        bool allow_list = s->syscalls && !s->syscalls_deny;
        scmp_filter_ctx ctx = seccomp_init(allow_list ? refuse : SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = filter_arches(ctx, s->native_only);
        if (r >= 0 && allow_list)
                r = filter_add_word(ctx, s, "@default", SCMP_ACT_ALLOW);
        STRV_FOREACH(w, s->syscalls)
        if (r >= 0)
                r = filter_add_word(ctx, s, *w, allow_list ? SCMP_ACT_ALLOW : refuse);
        return plan_filter(p, ctx, r);
}

static scmp_filter_ctx filter_new(const sandbox_settings *s) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

        if (ctx &&
            seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
                             s->native_only ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW) < 0) {
                seccomp_release(ctx);
                return NULL;
        }
        return ctx;
}

/* RestrictAddressFamilies=, as systemd: socket() of another family fails with EAFNOSUPPORT. */
static int plan_families(sandbox_cache_entry *p, const sandbox_settings *s) {
        scmp_filter_ctx ctx = filter_new(s);
        uint32_t refuse = SCMP_ACT_ERRNO(EAFNOSUPPORT);
        int r = ctx ? 0 : -ENOMEM;

        if (r < 0)
                return r;
        for (unsigned af = 0; r >= 0 && af < 64; af++) {
                bool listed = s->families & CAP_BIT(af);
                if (listed == s->families_deny)
                        r = seccomp_rule_add(ctx, refuse, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, af));
        }
        if (r >= 0 && !s->families_deny)
                r = seccomp_rule_add(ctx, refuse, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_GE, 64));
        return plan_filter(p, ctx, r);
}

/* RestrictNamespaces=, as systemd: unshare(), clone() and setns() of a namespace type not allowed
 * fail with EPERM; clone3(), whose flags a filter cannot see, with ENOSYS (libc falls back). */
static int plan_namespaces(sandbox_cache_entry *p, const sandbox_settings *s) {
        static const uint64_t types[] = { CLONE_NEWCGROUP, CLONE_NEWIPC,  CLONE_NEWNET, CLONE_NEWNS,
                                          CLONE_NEWPID,    CLONE_NEWUSER, CLONE_NEWUTS };
        scmp_filter_ctx ctx = filter_new(s);
        uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
        int r = ctx ? 0 : -ENOMEM;

        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r >= 0)
                r = s->namespaces == 0
                        ? seccomp_rule_add(ctx, eperm, SCMP_SYS(setns), 0)
                        : seccomp_rule_add(ctx, eperm, SCMP_SYS(setns), 1, SCMP_A1(SCMP_CMP_EQ, 0));
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(types); i++) {
                if (s->namespaces & types[i])
                        continue;
                r = seccomp_rule_add(ctx, eperm, SCMP_SYS(unshare), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, types[i], types[i]));
                if (r >= 0)
                        r = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
                                             SCMP_A0(SCMP_CMP_MASKED_EQ, types[i], types[i]));
                if (r >= 0 && s->namespaces != 0)
                        r = seccomp_rule_add(ctx, eperm, SCMP_SYS(setns), 1,
                                             SCMP_A1(SCMP_CMP_MASKED_EQ, types[i], types[i]));
        }
        return plan_filter(p, ctx, r);
}

/* LockPersonality= and MemoryDenyWriteExecute=, as systemd: personality() to anything but
 * PER_LINUX, and memory both writable and executable, or made executable later, fail with EPERM. */
static int plan_memory(sandbox_cache_entry *p, const sandbox_settings *s) {
        scmp_filter_ctx ctx = filter_new(s);
        uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
        int r = ctx ? 0 : -ENOMEM;

        if (r < 0)
                return r;
        if (s->lock_personality)
                r = seccomp_rule_add(ctx, eperm, SCMP_SYS(personality), 1, SCMP_A0(SCMP_CMP_NE, PER_LINUX));
        if (r >= 0 && s->memory_deny_write_execute) {
                r = seccomp_rule_add(
                        ctx, eperm, SCMP_SYS(mmap), 1,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE));
                if (r >= 0)
                        r = seccomp_rule_add(ctx, eperm, SCMP_SYS(mprotect), 1,
                                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
                if (r >= 0)
                        r = seccomp_rule_add(ctx, eperm, SCMP_SYS(pkey_mprotect), 1,
                                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
                if (r >= 0)
                        r = seccomp_rule_add(ctx, eperm, SCMP_SYS(shmat), 1,
                                             SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC));
        }
        return plan_filter(p, ctx, r);
}

/* ProtectKernelModules=, as systemd: the @module calls fail with EPERM, whatever the capabilities. */
static int plan_modules(sandbox_cache_entry *p, const sandbox_settings *s) {
        scmp_filter_ctx ctx = filter_new(s);
        sandbox_settings none = { 0 };
        int r = ctx ? filter_arches(ctx, s->native_only) : -ENOMEM;

        if (!ctx)
                return r;
        if (r >= 0)
                r = filter_add_word(ctx, &none, "@module", SCMP_ACT_ERRNO(EPERM));
        return plan_filter(p, ctx, r);
}

/* The filters, the general one last: it may not allow prctl(), which loads the others. */
static int filters_compile(sandbox_cache_entry *p, const sandbox_settings *s, char **ret_what) {
        const char *what = NULL;
        int r = 0;

        if (s->families_set && (r = plan_families(p, s)) < 0)
                what = "RestrictAddressFamilies=";
        if (r >= 0 && s->namespaces_set && (r = plan_namespaces(p, s)) < 0)
                what = "RestrictNamespaces=";
        if (r >= 0 && s->protect_kernel_modules && (r = plan_modules(p, s)) < 0)
                what = "ProtectKernelModules=";
        if (r >= 0 && (s->lock_personality || s->memory_deny_write_execute) && (r = plan_memory(p, s)) < 0)
                what = "LockPersonality= or MemoryDenyWriteExecute=";
        if (r >= 0 && (s->syscalls || s->native_only) && (r = plan_syscalls(p, s)) < 0)
                what = "SystemCallFilter=";
        if (r < 0 && !(*ret_what = strdup(what)))
                return -ENOMEM;
        return r;
}

static void cache_entry_done(sandbox_cache_entry *e) {
        free(e->key);
        for (size_t i = 0; i < e->n_filters; i++)
                free(e->filters[i].filter);
        *e = (sandbox_cache_entry){ 0 };
}

void sandbox_cache_done(sandbox_cache *c) {
        for (size_t i = 0; i < ELEMENTSOF(c->e); i++)
                cache_entry_done(&c->e[i]);
        c->next = 0;
}

/* What the filters are made of, as a key: the settings with all but the filters' left out. */
static char *filters_key(const sandbox_settings *s) {
        sandbox_settings f = { .syscalls = s->syscalls,
                               .syscalls_except = s->syscalls_except,
                               .syscalls_deny = s->syscalls_deny,
                               .syscall_errno = s->syscall_errno,
                               .native_only = s->native_only,
                               .lock_personality = s->lock_personality,
                               .protect_kernel_modules = s->protect_kernel_modules,
                               .memory_deny_write_execute = s->memory_deny_write_execute,
                               .families_set = s->families_set,
                               .families_deny = s->families_deny,
                               .families = s->families,
                               .namespaces_set = s->namespaces_set,
                               .namespaces = s->namespaces };
        json_t *j = sandbox_settings_to_json(&f);
        char *k = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        return k;
}

static int plan_filters(sandbox_plan *p, const sandbox_settings *s, sandbox_cache *c, char **ret_what) {
        _cleanup_free_ char *key = filters_key(s);
        sandbox_cache_entry fresh = { 0 }, *e = NULL;
        int r;

        if (!key)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(c->e) && !e; i++)
                if (c->e[i].key && strcmp(c->e[i].key, key) == 0)
                        e = &c->e[i];
        if (!e) {
                r = filters_compile(&fresh, s, ret_what);
                if (r < 0) {
                        cache_entry_done(&fresh);
                        return r;
                }
                e = &c->e[c->next];
                c->next = (c->next + 1) % ELEMENTSOF(c->e);
                cache_entry_done(e);
                *e = fresh;
                e->key = TAKE_PTR(key);
        }
        p->sb.filters = e->filters;
        p->sb.n_filters = e->n_filters;
        return 0;
}

/* --- The plan. --- */

static int plan_caps(sandbox_plan *p, const sandbox_settings *s, char **ret_what) {
        unsigned last = last_cap();
        uint64_t all = last >= 63 ? UINT64_MAX : CAP_BIT(last + 1) - 1;
        /* In a user namespace: none at all (the empty set is within any CapabilityBoundingSet=). */
        uint64_t keep = p->sb.user_ns ? 0 : (s->bounding_set ? s->bounding : all) & all;

        if (s->private_devices) /* as systemd: no device nodes made, no raw access */
                keep &= ~(CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_SYS_RAWIO));
        if (s->protect_kernel_modules)
                keep &= ~CAP_BIT(CAP_SYS_MODULE);
        if (s->ambient & ~keep) {
                *ret_what = strdup("AmbientCapabilities= beyond CapabilityBoundingSet=");
                return *ret_what ? -EINVAL : -ENOMEM;
        }
        p->sb.drop_bounding = keep != all;
        p->sb.keep = keep;
        p->sb.last_cap = last;
        p->sb.ambient = s->ambient & all;
        return 0;
}

/* The first key that only a supervisor running as root can apply (namespaces, capabilities), or
 * NULL: the filters work for anyone (with no_new_privs). */
static const char *key_needing_root(const sandbox_settings *s) {
        if (s->protect_system)
                return "ProtectSystem=";
        if (s->protect_home)
                return "ProtectHome=";
        if (s->read_only || s->read_write || s->inaccessible)
                return s->read_only     ? "ReadOnlyPaths="
                        : s->read_write ? "ReadWritePaths="
                                        : "InaccessiblePaths=";
        if (s->private_tmp || s->private_devices || s->private_network)
                return s->private_tmp        ? "PrivateTmp="
                        : s->private_devices ? "PrivateDevices="
                                             : "PrivateNetwork=";
        if (s->protect_kernel_tunables || s->protect_kernel_modules || s->protect_control_groups)
                return s->protect_kernel_tunables   ? "ProtectKernelTunables="
                        : s->protect_kernel_modules ? "ProtectKernelModules="
                                                    : "ProtectControlGroups=";
        if (s->bounding_set)
                return "CapabilityBoundingSet=";
        return NULL;
}

/* The number in a sysctl's file, or -1. */
static long read_sysctl(const char *path) {
        char buf[32] = { 0 };
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

        safe_close(fd);
        return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Why this kernel refuses unprivileged users a user namespace (the sysctl that says so), or NULL.
 * Debian's kernel.unprivileged_userns_clone, and user.max_user_namespaces (of our own user
 * namespace: a container may have its own). Read at each Start that needs one: either may be
 * changed while the supervisor runs (two small reads, for a sandboxed start only). */
static const char *userns_refusal(void) {
        static const struct {
                const char *path, *why;
        } knobs[] = {
                { "/proc/sys/kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone = 0" },
                { "/proc/sys/user/max_user_namespaces", "user.max_user_namespaces = 0" },
        };

        for (size_t i = 0; i < ELEMENTSOF(knobs); i++)
                if (read_sysctl(knobs[i].path) == 0)
                        return knobs[i].why;
        return NULL;
}

char *sandbox_step_what(const char *step, int err) {
        const char *refusal;
        char *w = NULL;
        long max;

        if (!step || strcmp(step, SPAWN_STEP_USER_NS) != 0)
                return NULL;
        /* Changed between the check and the clone. */
        if ((refusal = userns_refusal()))
                return asprintf(&w, "%s (this kernel refuses them to unprivileged users: %s)", step,
                                refusal) < 0
                        ? NULL
                        : w;
        /* The kernel's count of them, per user, in each user namespace up from ours. */
        if (err == ENOSPC && (max = read_sysctl("/proc/sys/user/max_user_namespaces")) > 0)
                return asprintf(&w,
                                "%s (user.max_user_namespaces = %ld reached: this user has that many "
                                "already, or 32 nested levels)",
                                step, max) < 0
                        ? NULL
                        : w;
        return NULL;
}

/* A supervisor that is not root: @key's namespaces inside a user namespace of the child's own,
 * where it has every capability until it drops them all before exec. */
static int plan_user_ns(sandbox_plan *p, const char *key, char **ret_what) {
        const char *refusal = userns_refusal();

        if (refusal)
                return asprintf(ret_what,
                                "%s needs a user namespace (this supervisor runs as uid %u, not root), and "
                                "this kernel refuses them to unprivileged users: %s",
                                key, (unsigned) geteuid(), refusal) < 0
                        ? -ENOMEM
                        : -EPERM;
        (void) snprintf(p->uid_map, sizeof(p->uid_map), "%u %u 1\n", (unsigned) geteuid(),
                        (unsigned) geteuid());
        (void) snprintf(p->gid_map, sizeof(p->gid_map), "%u %u 1\n", (unsigned) getegid(),
                        (unsigned) getegid());
        p->sb.user_ns = true;
        p->sb.uid_map = p->uid_map;
        p->sb.gid_map = p->gid_map;
        return 0;
}

int sandbox_plan_make(const sandbox_settings *s, bool becomes_root, sandbox_cache *cache, sandbox_plan *p,
                      char **ret_what) {
        const char *key;
        int r = 0;

        *p = (sandbox_plan){ 0 };
        *ret_what = NULL;
        if (!sandbox_settings_any(s))
                return 0;
        /* Said before anything is tried: the child would only fail with EPERM, less clearly. A
         * user namespace gives capabilities in it alone: none to keep across exec. */
        if (geteuid() != 0 && s->ambient)
                return asprintf(ret_what,
                                "AmbientCapabilities= needs a supervisor running as root (this one runs "
                                "as uid %u: a user namespace gives no capability outside it)",
                                (unsigned) geteuid()) < 0
                        ? -ENOMEM
                        : -EPERM;
        if (geteuid() != 0 && (key = key_needing_root(s)))
                r = plan_user_ns(p, key, ret_what);
        if (r < 0)
                return r;
        p->sb.active = true;
        r = plan_caps(p, s, ret_what);
        if (r >= 0 && (r = plan_mounts(p, s)) < 0 &&
            !(*ret_what = strdup("the mount namespace (too many paths)")))
                r = -ENOMEM;
        if (r >= 0 && sandbox_settings_filters(s))
                r = plan_filters(p, s, cache, ret_what);
        p->sb.net_ns = s->private_network;
        /* As systemd: a process without CAP_SYS_ADMIN may only load a filter with no_new_privs; in
         * a user namespace, always: nothing it executes gains a privilege. */
        p->sb.no_new_privs = p->sb.user_ns ||
                (p->sb.n_filters > 0 && (!becomes_root || !(p->sb.keep & CAP_BIT(CAP_SYS_ADMIN))));
        if (r < 0)
                sandbox_plan_done(p);
        return r;
}

void sandbox_plan_done(sandbox_plan *p) {
        for (size_t i = 0; i < p->sb.n_mounts; i++)
                free(p->whats[i]);
        *p = (sandbox_plan){ 0 };
}
