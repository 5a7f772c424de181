/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* syscall.h: each syscall glibc 2.36 lacks, wrapped once, with the kernel version beside it. */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid() on a pidfd: 5.4 */
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* 5.2 */
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL /* 5.7 */
#endif

/* Same layout as the kernel's struct clone_args, size version 2 (88 bytes, 5.7). */
struct syscall_clone_args {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
        uint64_t set_tid;
        uint64_t set_tid_size;
        uint64_t cgroup;
};

/* pidfd_open(2), 5.3. Returns a new O_CLOEXEC pidfd or -errno. */
int syscall_pidfd_open(pid_t pid);

/* pidfd_send_signal(2), 5.1. Returns 0 or -errno (-ESRCH once the process has exited). */
int syscall_pidfd_send_signal(int pidfd, int sig);

/* waitid(P_PIDFD), 5.4. Fills *ret_si; returns 0 or -errno. With WNOHANG, ret_si->si_pid is 0
 * when the process has not exited yet. */
int syscall_waitid_pidfd(int pidfd, int options, siginfo_t *ret_si);

/* clone3(2), 5.3. In vfork style: with CLONE_VM|CLONE_VFORK and a stack the child runs
 * fn(arg) on that stack and _exit()s with its return value; the caller is suspended until the
 * child execs or exits. fn must be async-signal-safe and must not return into the caller's frames.
 * Returns the child's pid in the parent, or -errno. */
pid_t syscall_clone3_fn(struct syscall_clone_args *args, int (*fn)(void *), void *arg);

/* Whether syscall_clone3_fn() really runs on a separate stack here (x86-64, aarch64). Elsewhere it
 * falls back to a fork-style clone3 (no CLONE_VM), which is correct but costs more in a large
 * parent. */
int syscall_clone3_vfork_supported(void);

/* PIDFD_GET_INFO (6.13): the cgroup id of the process behind a pidfd. -ENOTTY or -EINVAL where
 * the kernel lacks it, -ESRCH once the process is gone. */
int syscall_pidfd_get_cgroupid(int pidfd, uint64_t *ret_cgroupid);

/* The exit of a process that is not our child (re-adopted after a restart of the supervisor),
 * whose pidfd polls readable, as waitid would give it: PIDFD_INFO_EXIT (6.15) once its parent has
 * reaped it, else its zombie's exit_code in /proc/<pid>/stat (read, then confirmed to be still
 * the same unreaped process through the pidfd). -ENODATA where neither can be had. */
int syscall_pidfd_exit_info(int pidfd, pid_t pid, siginfo_t *ret_si);

/* The start time of a process (/proc/<pid>/stat field 22, clock ticks since boot): with the pid,
 * what names one process for the life of the machine. -ESRCH if it is gone. */
int syscall_pid_starttime(pid_t pid, uint64_t *ret);

/* 1 if the process is dying: a SIGKILL pending (an OOM kill under way, say), or already in exit
 * (PF_EXITING), or a zombie; 0 if not, -errno. */
int syscall_pid_sigkill_pending(pid_t pid);

/* openat2(2), 5.6: open dirfd/path with RESOLVE_* flags (RESOLVE_NO_SYMLINKS: -ELOOP where any
 * component is a symlink). Returns a new fd or -errno. */
int syscall_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Probes, by calling rather than by kernel version. Each returns 1 if the feature works, 0 if not. */
int syscall_probe_pidfd(void);             /* pidfd_open (5.3) and waitid(P_PIDFD) (5.4) */
int syscall_probe_clone3(void);            /* 5.3 */
int syscall_probe_clone_into_cgroup(void); /* 5.7 */
int syscall_probe_pidfd_get_info(void);    /* 6.13 */
