/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd-job.h: what systemd is doing with corrald's own unit. */
#pragma once

/*
 * systemd_restarting() - whether corrald's service is being stopped to be started again (a
 * restart job: `systemctl restart`, a package's restart after an upgrade), asked of PID 1. A
 * restart keeps the backends running for the next corrald to take back; a stop stops them.
 * Return: 1 restarting, 0 not (or not a systemd service), -errno when systemd could not be asked
 * (the caller then stops the backends: the safe reading of a SIGTERM).
 */
int systemd_restarting(void);
