/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* methods.h: each varlink call checked (method, parameters, caller) and handed to the registry. */
#pragma once

#include <jansson.h>

typedef struct server server;
typedef struct conn conn;

/* Answer one call on c, now or (for calls that wait on a backend) later. */
void methods_dispatch(server *s, conn *c, json_t *msg);
