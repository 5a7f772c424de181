/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox-names.c: what a capability's or a system call's name stands for, as libcap and libseccomp
 * say: the only calls of the setters (sandbox-spec.c) into those two libraries. The corral command
 * links its own definitions of these two functions (src/cli/names-deferred.c), so that it loads
 * neither library: corrald, which has this file, resolves the names it sends. */
#include <errno.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "sandbox.h"

int sandbox_capability_number(const char *name) {
        cap_value_t c;

        if (cap_from_name(name, &c) < 0 || c < 0 || c > 63)
                return -EINVAL;
        return (int) c;
}

bool sandbox_syscall_known(const char *name) {
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}
