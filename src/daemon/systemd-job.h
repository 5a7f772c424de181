/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd-job.h: what systemd is doing with corrald's own unit. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#define SYSTEMD_JOB_ASK_USEC                                                                                \
        (5 * 1000 * 1000ULL) /* PID 1 answers at once; a hung one must not hang a stop */

/* The answer: 1 restarting, 0 not, -errno when PID 1 could not be asked (-ETIMEDOUT: no answer in
 * time). The caller reads anything but 1 as a stop: the safe reading of a SIGTERM. */
typedef void (*systemd_job_fn)(int restarting, void *userdata);

typedef struct systemd_job systemd_job;

/*
 * systemd_job_ask() - whether @unit is being stopped to be started again (a restart job:
 * `systemctl restart`, a package's restart after an upgrade), asked of the manager at @address (a
 * D-Bus address; NULL: PID 1's private socket (root, no dbus-daemon needed), else the system bus)
 * on @e's loop, never blocking it. No answer within @timeout_usec (the connection, its
 * authentication and the call together) is -ETIMEDOUT. @done is called once, from the loop, unless
 * the question is freed first; it may free it. Return: 0 with *ret, or -errno (then nothing was
 * asked and @done is not called).
 */
int systemd_job_ask(sd_event *e, const char *address, const char *unit, uint64_t timeout_usec,
                    systemd_job_fn done, void *userdata, systemd_job **ret);

/*
 * systemd_restarting_ask() - the same for corrald's own unit, of PID 1, in SYSTEMD_JOB_ASK_USEC.
 * Return: 1 asked (@done follows, *ret holds the question), 0 not a systemd service (nothing to
 * ask: not restarting; *ret NULL), or -errno (nothing asked).
 */
int systemd_restarting_ask(sd_event *e, systemd_job_fn done, void *userdata, systemd_job **ret);

/* Forget the question: no call of done follows. NULL. */
systemd_job *systemd_job_free(systemd_job *j);
