/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox-spec.c: the sandbox settings of a spec: their setters (systemd's syntax and merging of
 * repeated assignments), and their JSON form for re-adoption. */
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "corral-private.h"
#include "macro.h"
#include "sandbox.h"
#include "strv.h"

#define CAPS_ALL ((uint64_t) -1)

static const struct {
        const char *name;
        unsigned long flag;
} namespace_names[] = {
        { "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
        { "mnt", CLONE_NEWNS },        { "pid", CLONE_NEWPID }, { "user", CLONE_NEWUSER },
        { "uts", CLONE_NEWUTS },
};
#define NAMESPACES_ALL                                                                                      \
        ((uint64_t) (CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID |           \
                     CLONE_NEWUSER | CLONE_NEWUTS))

static const struct {
        const char *name;
        int af;
} family_names[] = {
        { "AF_UNIX", AF_UNIX },
        { "AF_LOCAL", AF_LOCAL },
        { "AF_INET", AF_INET },
        { "AF_INET6", AF_INET6 },
        { "AF_NETLINK", AF_NETLINK },
        { "AF_PACKET", AF_PACKET },
        { "AF_BLUETOOTH", AF_BLUETOOTH },
        { "AF_VSOCK", AF_VSOCK },
        { "AF_ALG", AF_ALG },
        { "AF_CAN", AF_CAN },
        { "AF_XDP", AF_XDP },
        { "AF_KEY", AF_KEY },
        { "AF_APPLETALK", AF_APPLETALK },
        { "AF_X25", AF_X25 },
        { "AF_AX25", AF_AX25 },
        { "AF_IPX", AF_IPX },
        { "AF_NETROM", AF_NETROM },
        { "AF_BRIDGE", AF_BRIDGE },
        { "AF_ATMPVC", AF_ATMPVC },
        { "AF_ROSE", AF_ROSE },
        { "AF_DECnet", AF_DECnet },
        { "AF_NETBEUI", AF_NETBEUI },
        { "AF_SECURITY", AF_SECURITY },
        { "AF_ATMSVC", AF_ATMSVC },
        { "AF_RDS", AF_RDS },
        { "AF_SNA", AF_SNA },
        { "AF_IRDA", AF_IRDA },
        { "AF_PPPOX", AF_PPPOX },
        { "AF_WANPIPE", AF_WANPIPE },
        { "AF_LLC", AF_LLC },
        { "AF_IB", AF_IB },
        { "AF_MPLS", AF_MPLS },
        { "AF_TIPC", AF_TIPC },
        { "AF_ISDN", AF_ISDN },
        { "AF_PHONET", AF_PHONET },
        { "AF_IEEE802154", AF_IEEE802154 },
        { "AF_CAIF", AF_CAIF },
        { "AF_NFC", AF_NFC },
        { "AF_KCM", AF_KCM },
        { "AF_QIPCRTR", AF_QIPCRTR },
        { "AF_SMC", AF_SMC },
};

static const struct {
        const char *name;
        int e;
} errno_names[] = {
        { "EPERM", EPERM },
        { "ENOENT", ENOENT },
        { "EIO", EIO },
        { "ENXIO", ENXIO },
        { "EAGAIN", EAGAIN },
        { "ENOMEM", ENOMEM },
        { "EACCES", EACCES },
        { "EFAULT", EFAULT },
        { "EBUSY", EBUSY },
        { "EEXIST", EEXIST },
        { "ENODEV", ENODEV },
        { "EINVAL", EINVAL },
        { "EROFS", EROFS },
        { "ENOSYS", ENOSYS },
        { "ENOTSUP", ENOTSUP },
        { "EOPNOTSUPP", EOPNOTSUPP },
        { "EAFNOSUPPORT", EAFNOSUPPORT },
};

/* The words of @v split on white space, after a leading "~" (*ret_invert). */
static int split_words(const char *v, bool *ret_invert, char ***ret) {
        while (isspace((unsigned char) *v))
                v++;
        *ret_invert = *v == '~';
        return strv_split_quoted(*ret_invert ? v + 1 : v, ret) < 0 ? -EINVAL : 0;
}

static int cap_parse(const char *name, unsigned *ret) {
        char lower[64];
        int c;
        size_t i;

        for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
                lower[i] = (char) tolower((unsigned char) name[i]);
        lower[i] = '\0';
        if (name[i] || strncmp(lower, "cap_", 4) != 0 || (c = sandbox_capability_number(lower)) < 0)
                return -EINVAL;
        *ret = (unsigned) c;
        return 0;
}

/* A list of capabilities as a mask, and whether it was inverted. */
static int caps_parse(const char *v, uint64_t *ret, bool *ret_invert) {
        char **words = NULL;
        uint64_t m = 0;
        unsigned c;
        int r = split_words(v, ret_invert, &words);

        STRV_FOREACH(w, words) {
                if (r >= 0)
                        r = cap_parse(*w, &c);
                if (r >= 0)
                        m |= UINT64_C(1) << c;
        }
        strv_free(words);
        if (r >= 0)
                *ret = m;
        return r;
}

/* As systemd: several assignments add up; "~" takes away from all (or from what is there); empty
 * is the empty set (no capability at all); NULL: not set (all of them). */
int corral_spec_set_capability_bounding_set(corral_spec *s, const char *caps) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        sandbox_settings *x = &s->sandbox;
        uint64_t m;
        bool inv;
        int r = caps && *caps ? caps_parse(caps, &m, &inv) : 0;

        if (r < 0)
                return r;
        if (!caps || !*caps) {
                x->bounding_set = caps != NULL;
                x->bounding = 0;
                return 0;
        }
        if (!x->bounding_set)
                x->bounding = inv ? CAPS_ALL & ~m : m;
        else
                x->bounding = inv ? x->bounding & ~m : x->bounding | m;
        x->bounding_set = true;
        return 0;
}

int corral_spec_set_ambient_capabilities(corral_spec *s, const char *caps) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        uint64_t m = 0;
        bool inv = false;
        int r = caps && *caps ? caps_parse(caps, &m, &inv) : 0;

        if (r < 0)
                return r;
        if (!caps || !*caps)
                s->sandbox.ambient = 0;
        else
                s->sandbox.ambient = inv ? s->sandbox.ambient & ~m : s->sandbox.ambient | m;
        return 0;
}

static bool syscall_word_ok(const char *w) {
        if (w[0] == '@')
                return sandbox_syscall_group(w) != NULL;
        return sandbox_syscall_known(w);
}

static int strv_add_unique(char ***v, const char *w) {
        char *c;

        STRV_FOREACH(e, *v)
        if (strcmp(*e, w) == 0)
                return 0;
        c = strdup(w);
        return c ? strv_push(v, c) : -ENOMEM;
}

/* As systemd: the first assignment says allow list or (~) deny list; more of the same sense add
 * to it, one of the other sense takes its names away; empty: no filter. */
int corral_spec_set_system_call_filter(corral_spec *s, const char *list) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        sandbox_settings *x = &s->sandbox;
        char **words = NULL;
        bool inv;
        int r;

        if (!list || !*list) {
                x->syscalls = strv_free(x->syscalls);
                x->syscalls_except = strv_free(x->syscalls_except);
                x->syscalls_deny = false;
                return 0;
        }
        r = split_words(list, &inv, &words);
        STRV_FOREACH(w, words)
        if (r >= 0 && !syscall_word_ok(*w))
                r = -EINVAL;
        if (r >= 0 && (!words || !words[0]))
                r = -EINVAL;
        if (r >= 0 && !x->syscalls) {
                x->syscalls_deny = inv;
                r = strv_copy(NULL, &x->syscalls);
        }
        STRV_FOREACH(w, words)
        if (r >= 0)
                r = strv_add_unique(inv == x->syscalls_deny ? &x->syscalls : &x->syscalls_except, *w);
        strv_free(words);
        return r;
}

int corral_spec_set_system_call_error_number(corral_spec *s, const char *v) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        char *end;
        long n;

        if (!v || !*v || strcmp(v, "kill") == 0) {
                s->sandbox.syscall_errno = 0;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (strcmp(v, errno_names[i].name) == 0) {
                        s->sandbox.syscall_errno = errno_names[i].e;
                        return 0;
                }
        n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 4095)
                return -EINVAL;
        s->sandbox.syscall_errno = (int) n;
        return 0;
}

int corral_spec_set_system_call_architectures(corral_spec *s, const char *v) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        if (v && *v && strcmp(v, "native") != 0)
                return -EINVAL;
        s->sandbox.native_only = v && *v;
        return 0;
}

static int pick(const char *v, const char *const *names, size_t n, int *ret) {
        for (size_t i = 0; i < n; i++)
                if (names[i] && strcmp(v, names[i]) == 0) {
                        *ret = (int) i;
                        return 0;
                }
        return -EINVAL;
}

int corral_spec_set_protect_system(corral_spec *s, const char *v) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        static const char *const names[] = { "no", "yes", "full", "strict" };
        int r = pick(v ?: "no", names, ELEMENTSOF(names), &s->sandbox.protect_system);

        if (r < 0 && v && (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "1") == 0))
                s->sandbox.protect_system = SANDBOX_PROTECT_SYSTEM_YES, r = 0;
        if (r < 0 && v && (strcmp(v, "false") == 0 || strcmp(v, "off") == 0 || strcmp(v, "0") == 0))
                s->sandbox.protect_system = SANDBOX_PROTECT_SYSTEM_NO, r = 0;
        return r;
}

int corral_spec_set_protect_home(corral_spec *s, const char *v) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        static const char *const names[] = { "no", "yes", "read-only", "tmpfs" };
        int r = pick(v ?: "no", names, ELEMENTSOF(names), &s->sandbox.protect_home);

        if (r < 0 && v && (strcmp(v, "true") == 0 || strcmp(v, "on") == 0 || strcmp(v, "1") == 0))
                s->sandbox.protect_home = SANDBOX_PROTECT_HOME_YES, r = 0;
        if (r < 0 && v && (strcmp(v, "false") == 0 || strcmp(v, "off") == 0 || strcmp(v, "0") == 0))
                s->sandbox.protect_home = SANDBOX_PROTECT_HOME_NO, r = 0;
        return r;
}

/* An absolute path, "-" before it if it may be missing; no "..", no empty parts. */
static int add_path(char ***v, const char *path) {
        const char *p = path && path[0] == '-' ? path + 1 : path;

        if (!p || p[0] != '/' || strstr(p, "/../") || strstr(p, "//") || strstr(p, "/./") ||
            (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0) || strlen(p) > 4000)
                return -EINVAL;
        return strv_add_unique(v, path);
}

int corral_spec_add_read_only_path(corral_spec *s, const char *path) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return add_path(&s->sandbox.read_only, path);
}

int corral_spec_add_read_write_path(corral_spec *s, const char *path) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return add_path(&s->sandbox.read_write, path);
}

int corral_spec_add_inaccessible_path(corral_spec *s, const char *path) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        return add_path(&s->sandbox.inaccessible, path);
}

#define BOOL_SETTER(fn, field)                                                                              \
        int fn(corral_spec *s, bool enable) {                                                               \
                s->sandbox.field = enable;                                                                  \
                return 0;                                                                                   \
        }
BOOL_SETTER(corral_spec_set_private_tmp, private_tmp)
BOOL_SETTER(corral_spec_set_private_devices, private_devices)
BOOL_SETTER(corral_spec_set_private_network, private_network)
BOOL_SETTER(corral_spec_set_protect_kernel_tunables, protect_kernel_tunables)
BOOL_SETTER(corral_spec_set_protect_kernel_modules, protect_kernel_modules)
BOOL_SETTER(corral_spec_set_protect_control_groups, protect_control_groups)
BOOL_SETTER(corral_spec_set_lock_personality, lock_personality)
BOOL_SETTER(corral_spec_set_memory_deny_write_execute, memory_deny_write_execute)

static int family_parse(const char *name, int *ret) {
        for (size_t i = 0; i < ELEMENTSOF(family_names); i++)
                if (strcmp(name, family_names[i].name) == 0) {
                        *ret = family_names[i].af;
                        return 0;
                }
        return -EINVAL;
}

/* As systemd: "none" allows none; the first assignment says allow or (~) deny list, more of the
 * same sense add, the other sense takes away; empty: no restriction. */
int corral_spec_set_restrict_address_families(corral_spec *s, const char *list) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        sandbox_settings *x = &s->sandbox;
        char **words = NULL;
        uint64_t m = 0;
        bool inv;
        int af, r;

        if (!list || !*list || strcmp(list, "none") == 0) {
                x->families_set = list && *list;
                x->families_deny = false;
                x->families = 0;
                return 0;
        }
        r = split_words(list, &inv, &words);
        STRV_FOREACH(w, words) {
                if (r >= 0)
                        r = family_parse(*w, &af);
                if (r >= 0)
                        m |= UINT64_C(1) << af;
        }
        strv_free(words);
        if (r < 0 || !m)
                return -EINVAL;
        if (!x->families_set) {
                x->families_set = true;
                x->families_deny = inv;
                x->families = m;
        } else
                x->families = inv == x->families_deny ? x->families | m : x->families & ~m;
        return 0;
}

int corral_spec_set_restrict_namespaces(corral_spec *s, const char *v) {
        if (s->frozen)
                return -EBUSY; /* corral_spec_freeze(): shared, never changed again */
        sandbox_settings *x = &s->sandbox;
        char **words = NULL;
        uint64_t m = 0;
        bool inv;
        int r = 0;

        if (!v || !*v || strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
                x->namespaces_set = false;
                x->namespaces = 0;
                return 0;
        }
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
                x->namespaces_set = true;
                x->namespaces = 0;
                return 0;
        }
        r = split_words(v, &inv, &words);
        STRV_FOREACH(w, words) {
                size_t i = 0;
                while (i < ELEMENTSOF(namespace_names) && strcmp(*w, namespace_names[i].name) != 0)
                        i++;
                if (i == ELEMENTSOF(namespace_names))
                        r = -EINVAL;
                else
                        m |= namespace_names[i].flag;
        }
        strv_free(words);
        if (r < 0 || !m)
                return -EINVAL;
        x->namespaces_set = true;
        x->namespaces = inv ? NAMESPACES_ALL & ~m : m;
        return 0;
}

/* --- The settings as data. --- */

void sandbox_settings_done(sandbox_settings *s) {
        strv_free(s->syscalls);
        strv_free(s->syscalls_except);
        strv_free(s->read_only);
        strv_free(s->read_write);
        strv_free(s->inaccessible);
        *s = (sandbox_settings){ 0 };
}

int sandbox_settings_copy(sandbox_settings *dst, const sandbox_settings *src) {
        char **const *from[] = { &src->syscalls, &src->syscalls_except, &src->read_only, &src->read_write,
                                 &src->inaccessible };
        char **to[ELEMENTSOF(from)] = { 0 };
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(from) && r >= 0; i++)
                if (*from[i])
                        r = strv_copy(*from[i], &to[i]);
        if (r < 0) {
                for (size_t i = 0; i < ELEMENTSOF(to); i++)
                        strv_free(to[i]);
                return r;
        }
        *dst = *src;
        dst->syscalls = to[0];
        dst->syscalls_except = to[1];
        dst->read_only = to[2];
        dst->read_write = to[3];
        dst->inaccessible = to[4];
        return 0;
}

bool sandbox_settings_filters(const sandbox_settings *s) {
        return s->syscalls || s->native_only || s->families_set || s->namespaces_set ||
                s->lock_personality || s->memory_deny_write_execute || s->protect_kernel_modules;
}

bool sandbox_settings_any(const sandbox_settings *s) {
        return s->bounding_set || s->ambient || sandbox_settings_filters(s) || s->protect_system ||
                s->protect_home || s->read_only || s->read_write || s->inaccessible || s->private_tmp ||
                s->private_devices || s->private_network || s->protect_kernel_tunables ||
                s->protect_kernel_modules || s->protect_control_groups;
}

static json_t *strv_json(char *const *v) {
        json_t *a = json_array();

        STRV_FOREACH(e, v)
        if (a && json_array_append_new(a, json_string(*e)) < 0)
                a = (json_decref(a), NULL);
        return a;
}

#define U64J(x) ((json_int_t) (x))

json_t *sandbox_settings_to_json(const sandbox_settings *s) {
        json_t *o;

        if (!sandbox_settings_any(s) && !s->syscall_errno)
                return NULL;
        o = json_pack(
                "{s:b, s:I, s:I, s:o?, s:o?, s:b, s:i, s:b, s:i, s:i, s:o, s:o, s:o, s:b, s:b, s:b, s:b, "
                "s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:b, s:I}",
                "boundingSet", s->bounding_set, "bounding", U64J(s->bounding), "ambient", U64J(s->ambient),
                "syscalls", s->syscalls ? strv_json(s->syscalls) : NULL, "syscallsExcept",
                s->syscalls_except ? strv_json(s->syscalls_except) : NULL, "syscallsDeny", s->syscalls_deny,
                "syscallErrno", s->syscall_errno, "nativeOnly", s->native_only, "protectSystem",
                s->protect_system, "protectHome", s->protect_home, "readOnly", strv_json(s->read_only),
                "readWrite", strv_json(s->read_write), "inaccessible", strv_json(s->inaccessible),
                "privateTmp", s->private_tmp, "privateDevices", s->private_devices, "privateNetwork",
                s->private_network, "protectKernelTunables", s->protect_kernel_tunables,
                "protectKernelModules", s->protect_kernel_modules, "protectControlGroups",
                s->protect_control_groups, "lockPersonality", s->lock_personality, "memoryDenyWriteExecute",
                s->memory_deny_write_execute, "familiesSet", s->families_set, "familiesDeny",
                s->families_deny, "families", U64J(s->families), "namespacesSet", s->namespaces_set,
                "namespaces", U64J(s->namespaces));
        return o;
}

static int strv_from(json_t *a, char ***ret) {
        size_t i;
        json_t *e;
        int r;

        if (!a || json_is_null(a) || (json_is_array(a) && json_array_size(a) == 0))
                return 0;
        if (!json_is_array(a))
                return -EINVAL;
        r = strv_copy(NULL, ret);
        json_array_foreach(a, i, e) {
                if (r >= 0 && !json_is_string(e))
                        r = -EINVAL;
                if (r >= 0)
                        r = strv_add_unique(ret, json_string_value(e));
        }
        return r;
}

int sandbox_settings_from_json(sandbox_settings *s, json_t *o) {
        json_int_t bounding = 0, ambient = 0, families = 0, namespaces = 0;
        json_t *sys = NULL, *exc = NULL, *ro = NULL, *rw = NULL, *ina = NULL;
        int bset = 0, deny = 0, native = 0, ptmp = 0, pdev = 0, pnet = 0, pkt = 0, pkm = 0, pcg = 0, lp = 0,
            mdwe = 0, fset = 0, fdeny = 0, nset = 0, r;
        sandbox_settings x = { 0 };

        if (!o || (json_is_object(o) && json_object_size(o) == 0)) {
                *s = x;
                return 0;
        }
        if (json_unpack(
                    o,
                    "{s:b, s:I, s:I, s?o, s?o, s:b, s:i, s:b, s:i, s:i, s:o, s:o, s:o, s:b, s:b, s:b, s:b, "
                    "s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:b, s:I}",
                    "boundingSet", &bset, "bounding", &bounding, "ambient", &ambient, "syscalls", &sys,
                    "syscallsExcept", &exc, "syscallsDeny", &deny, "syscallErrno", &x.syscall_errno,
                    "nativeOnly", &native, "protectSystem", &x.protect_system, "protectHome",
                    &x.protect_home, "readOnly", &ro, "readWrite", &rw, "inaccessible", &ina, "privateTmp",
                    &ptmp, "privateDevices", &pdev, "privateNetwork", &pnet, "protectKernelTunables", &pkt,
                    "protectKernelModules", &pkm, "protectControlGroups", &pcg, "lockPersonality", &lp,
                    "memoryDenyWriteExecute", &mdwe, "familiesSet", &fset, "familiesDeny", &fdeny,
                    "families", &families, "namespacesSet", &nset, "namespaces", &namespaces) < 0)
                return -EINVAL;
        x = (sandbox_settings){ .bounding_set = bset,
                                .bounding = (uint64_t) bounding,
                                .ambient = (uint64_t) ambient,
                                .syscalls_deny = deny,
                                .syscall_errno = x.syscall_errno,
                                .native_only = native,
                                .protect_system = x.protect_system,
                                .protect_home = x.protect_home,
                                .private_tmp = ptmp,
                                .private_devices = pdev,
                                .private_network = pnet,
                                .protect_kernel_tunables = pkt,
                                .protect_kernel_modules = pkm,
                                .protect_control_groups = pcg,
                                .lock_personality = lp,
                                .memory_deny_write_execute = mdwe,
                                .families_set = fset,
                                .families_deny = fdeny,
                                .families = (uint64_t) families,
                                .namespaces_set = nset,
                                .namespaces = (uint64_t) namespaces };
        r = strv_from(sys, &x.syscalls);
        if (r >= 0)
                r = strv_from(exc, &x.syscalls_except);
        if (r >= 0)
                r = strv_from(ro, &x.read_only);
        if (r >= 0)
                r = strv_from(rw, &x.read_write);
        if (r >= 0)
                r = strv_from(ina, &x.inaccessible);
        if (r >= 0 &&
            (x.protect_system < 0 || x.protect_system > SANDBOX_PROTECT_SYSTEM_STRICT ||
             x.protect_home < 0 || x.protect_home > SANDBOX_PROTECT_HOME_TMPFS || x.syscall_errno < 0 ||
             x.syscall_errno > 4095))
                r = -EINVAL;
        if (r < 0) {
                sandbox_settings_done(&x);
                return r;
        }
        sandbox_settings_done(s);
        *s = x;
        return 0;
}
