/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* supervisor.h: the registry's supervisor in corrald: libcorral, as registry_ops on a corral. */
#pragma once

#include "corral.h"
#include "registry.h"

/* The ops, with a corral * as their sup. */
extern const registry_ops supervisor_ops;

/* A backend of supervisor_ops is a corral_backend. */
static inline corral_backend *supervisor_backend(registry_backend *b) {
        return (corral_backend *) b;
}
