/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* names-deferred.c: the corral command's definitions of the two name lookups of the sandbox setters
 * (src/lib/sandbox-names.c), so that it loads neither libcap nor libseccomp, which cost every verb
 * its start-up (docs/benchmarks.md, §7). Here a name is checked for its form only; its spec only
 * checks the options, the number is not used. corrald, which links sandbox-names.c, resolves the
 * names it is sent and refuses an unknown one (InvalidParameter), and the command reports that as
 * the usage error it would have given (spec_option_refused()). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "sandbox.h"

/* a-z, 0-9 and _ only, at least one. */
static bool name_is_word(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && *s != '_')
                        return false;
        return true;
}

int sandbox_capability_number(const char *name) {
        return strncmp(name, "cap_", 4) == 0 && name_is_word(name + 4) ? 0 : -EINVAL;
}

bool sandbox_syscall_known(const char *name) {
        return name_is_word(name);
}
