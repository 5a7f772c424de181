/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-log.h: corrald's own messages (not backend events): to the journal or to stderr. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void daemon_log_set_journal(bool journal);

/* Drop messages less important than prio (LOG_INFO keeps info and above; -1 drops all). */
void daemon_log_set_max_priority(int prio);

/* One line, "corrald: ..." on stderr, or a journal entry with PRIORITY=prio. Returns -1 for
 * LOG_ERR and worse, else 0, so that errors can be logged and returned in one line. */
int daemon_log(int prio, const char *fmt, ...) _printf_(2, 3);
