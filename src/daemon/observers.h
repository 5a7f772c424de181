/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* observers.h: what follows the backends besides the registry: the event log, Watch, the fd
 * store, systemd's status line, and the output Logs follows. */
#pragma once

#include <stdbool.h>

#include "corral.h"
#include "evlog.h"
#include "registry.h"
#include "server.h"

typedef struct observers {
        evlog_target target; /* the event log */
        evlog_format format;
        server *server; /* Watch, and Logs that follow */
        bool stopping;  /* systemd was told STOPPING=1 */
} observers;

/* Subscribe each of them to r's events, in the order above, and to c's output. o must outlive
 * r and c's handlers. 0 or -ENOMEM. */
int observers_attach(observers *o, registry *r, corral *c);
