/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evlog.h: lifecycle events written out: logfmt text, JSON lines, or native journal fields. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "corral.h"

typedef enum evlog_format {
        EVLOG_FORMAT_TEXT,   /* one short line a person reads, the stderr tail on indented lines */
        EVLOG_FORMAT_LOGFMT, /* key=value, the fields that are not null */
        EVLOG_FORMAT_JSON,
} evlog_format;

/* RFC 3339 in UTC with microseconds, as events have it: 2026-11-24T02:48:27.123456Z */
void evlog_format_ts(uint64_t usec, char buf[static 32]);

/* "text", "logfmt", "json": 0 with *ret, or -EINVAL. */
int evlog_format_from_string(const char *s, evlog_format *ret);

typedef enum evlog_target {
        EVLOG_TARGET_STDERR,
        EVLOG_TARGET_JOURNAL,
} evlog_target;

/* One line, without the newline, in the given format (text: the stderr tail on the lines after it).
 * Returns 0 and a malloc'ed string. */
int evlog_format_event(const corral_event *ev, evlog_format fmt, char **ret);
/* The same, coloured by level with ANSI escapes (text only). */
int evlog_format_event_colour(const corral_event *ev, evlog_format fmt, bool colour, char **ret);

/* Whether to colour what goes to fd: a terminal, $NO_COLOR unset (or empty), $TERM not dumb. */
bool evlog_colour_for(int fd);

/* An event's JSON form (a Watch reply's) back as an event, its strings borrowed from o: 0, or
 * -EINVAL for what is not one (an event type this build does not know, say). */
int evlog_event_from_json(json_t *o, corral_event *ret);

/* The JSON form as an object (a new reference), or NULL on ENOMEM. */
json_t *evlog_event_to_json(const corral_event *ev);

/* The most journal fields of one event (MESSAGE=, PRIORITY=, MESSAGE_ID= and the CORRAL_* fields),
 * and the size of each: a stderr tail is at most 1 KiB. */
#define EVLOG_JOURNAL_FIELDS    31
#define EVLOG_JOURNAL_FIELD_MAX (1024 + 512)

/* The event's journal fields, "KEY=value" each, into @bufs (@max of them, at least
 * EVLOG_JOURNAL_FIELDS): returns how many, or -ENOBUFS. */
int evlog_journal_fields(const corral_event *ev, char (*bufs)[EVLOG_JOURNAL_FIELD_MAX], size_t max);

/* Send the event to journald with CORRAL_* fields, PRIORITY= and a stable MESSAGE_ID=
 * (evlog-journal.c, the one that links libsystemd). */
int evlog_journal(const corral_event *ev);

/* Write the event to the target: a line on stderr or a journal entry. */
int evlog_write(const corral_event *ev, evlog_target target, evlog_format fmt);

/* The stable 128-bit MESSAGE_ID of an event type, as 32 hex digits. */
const char *evlog_message_id(corral_event_type t);

/* syslog priority of a level: info 6, warning 4, ... */
int evlog_priority(corral_level l);

/* Whether fd is the stream $JOURNAL_STREAM names, i.e. journald reads it. */
bool evlog_fd_is_journal(int fd);
