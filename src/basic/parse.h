/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse.h: parsing and naming of durations, signals and backend names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
#define USEC_INFINITY UINT64_MAX

/* "500ms", "15s", "2min", "1h 30min", "1.5s"; a bare number is seconds, as in systemd.
 * Returns 0 and *ret_usec, or -EINVAL (malformed) / -ERANGE (overflow). */
int parse_duration(const char *s, uint64_t *ret_usec);

/* "SIGTERM", "TERM" or "15" (any case for names). Returns the signal number or -EINVAL. */
int parse_signal(const char *s);

/* "SIGTERM" for 15; NULL for a number that names no signal. Points into static storage. */
const char *signal_to_name(int sig);

/* 1-64 chars of [A-Za-z0-9_.@-], not "." or "..". */
bool name_is_valid(const char *s);

/* A valid name made from any string (the basename of a command, say): other characters become
 * '_', it is cut to 64 chars. Writes to buf (at least 65 bytes); returns buf. */
char *name_from_string(const char *s, char *buf, size_t size);

/* "N/WINDOW": at most N restarts (0 to 64; 0 disables the limit) within a duration, as
 * "5/1min". Returns 0, or -EINVAL / -ERANGE. */
int parse_restart_limit(const char *s, unsigned *ret_burst, uint64_t *ret_window_usec);

/* "nofile=1024:4096", "core=infinity", "NPROC=100" (hard defaults to soft). Returns 0 with the
 * RLIMIT_* resource and limits (RLIM_INFINITY for infinity), or -EINVAL. */
int parse_rlimit(const char *s, int *ret_resource, uint64_t *ret_soft, uint64_t *ret_hard);

/* "512M", "2G", "1048576", "infinity": bytes, with the suffixes K, M, G, T (base 1024, as in
 * systemd's MemoryMax=). "infinity" is UINT64_MAX. Returns 0, or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret_bytes);

/* A count (PidsMax=), or "infinity" for UINT64_MAX. Returns 0, or -EINVAL / -ERANGE. */
int parse_count(const char *s, uint64_t *ret);

/* "yes", "true", "on", "1" (1) or "no", "false", "off", "0" (0), any case, as systemd's booleans;
 * -EINVAL otherwise. */
int parse_boolean(const char *s);

/* An octal file mode creation mask, "027" or "0027", at most 0777. 0 or -EINVAL. */
int parse_umask(const char *s, unsigned *ret);

/* "50%", "250%": a CPU quota as in systemd's CPUQuota=, per period of 100 ms.
 * Returns 0 with the quota and the period in µs, or -EINVAL / -ERANGE. */
int parse_cpu_quota(const char *s, uint64_t *ret_quota_usec, uint64_t *ret_period_usec);

/*
 * A command line of systemd's Exec*= keys: words as strv_split_quoted() splits them, the first
 * perhaps with systemd's "-" prefix (its failure is ignored: *ret_ignore_failure). Returns 0 with
 * the argv (the prefix removed), -ENOMEM, or: -EBADMSG (an unterminated quote or a trailing
 * backslash), -ENODATA (no command), -EPROTONOSUPPORT (a prefix corral does not take: @, +, !,
 * :, or one of them after "-"; *ret_prefix says which, e.g. "@" or "-+"), -ENOTUNIQ (a ";" word:
 * one command per line).
 */
int parse_command_line(const char *line, char ***ret_argv, bool *ret_ignore_failure,
                       char ret_prefix[static 8]);
