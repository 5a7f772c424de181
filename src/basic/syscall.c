/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* syscall.c: raw wrappers for pidfd_open, pidfd_send_signal, waitid(P_PIDFD), clone3 and PIDFD_GET_INFO. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "syscall.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif

int syscall_pidfd_open(pid_t pid) {
        long r = syscall(__NR_pidfd_open, pid, 0);
        return r < 0 ? negative_errno() : (int) r;
}

int syscall_pidfd_send_signal(int pidfd, int sig) {
        if (syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

int syscall_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = { .flags = (uint64_t) flags | O_CLOEXEC, .mode = mode, .resolve = resolve };
        long r = syscall(__NR_openat2, dirfd, path, &how, sizeof(how));
        return r < 0 ? negative_errno() : (int) r;
}

int syscall_waitid_pidfd(int pidfd, int options, siginfo_t *ret_si) {
        siginfo_t si = { 0 };

        if (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, options) < 0)
                return negative_errno();
        *ret_si = si;
        return 0;
}

#if defined(__x86_64__)
/* clone3 with fn/arg: the kernel preserves every register but rax, rcx and r11 across syscall,
 * so fn and arg ride in r8/r9 into the child, which starts on its own stack and never returns. */
long syscall_clone3_raw(struct syscall_clone_args *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl syscall_clone3_raw\n"
        ".hidden syscall_clone3_raw\n"
        ".type syscall_clone3_raw,@function\n"
        "syscall_clone3_raw:\n"
        "        mov %rdx, %r8\n"
        "        mov %rcx, %r9\n"
        "        mov $435, %eax\n"
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"
        "1:      xor %ebp, %ebp\n"
        "        mov %r9, %rdi\n"
        "        call *%r8\n"
        "        mov %eax, %edi\n"
        "        mov $231, %eax\n" /* exit_group */
        "        syscall\n"
        "        hlt\n"
        ".size syscall_clone3_raw, .-syscall_clone3_raw\n");

int syscall_clone3_vfork_supported(void) {
        return 1;
}

pid_t syscall_clone3_fn(struct syscall_clone_args *args, int (*fn)(void *), void *arg) {
        long r = syscall_clone3_raw(args, sizeof(*args), fn, arg);
        return (pid_t) r; /* a negative value is already -errno */
}
#else
int syscall_clone3_vfork_supported(void) {
        return 0;
}

pid_t syscall_clone3_fn(struct syscall_clone_args *args, int (*fn)(void *), void *arg) {
        struct syscall_clone_args a = *args;
        long r;

        /* Fork style: no shared memory, so no separate stack is needed. */
        a.flags &= ~(uint64_t) (CLONE_VM | CLONE_VFORK);
        a.stack = a.stack_size = 0;
        r = syscall(__NR_clone3, &a, sizeof(a));
        if (r < 0)
                return negative_errno();
        if (r == 0)
                _exit(fn(arg));
        return (pid_t) r;
}
#endif

/* Kernel 6.13 uapi, not in Debian 12's headers. */
struct syscall_pidfd_info {
        uint64_t mask;
        uint64_t cgroupid;
        uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
        int32_t exit_code;
        uint32_t coredump_mask;
        uint32_t spare1;
};
#define SYSCALL_PIDFD_GET_INFO      _IOWR(0xFF, 11, struct syscall_pidfd_info)
#define SYSCALL_PIDFD_INFO_CGROUPID (1ULL << 2)

int syscall_pidfd_get_cgroupid(int pidfd, uint64_t *ret_cgroupid) {
        struct syscall_pidfd_info info = { .mask = SYSCALL_PIDFD_INFO_CGROUPID };

        if (ioctl(pidfd, SYSCALL_PIDFD_GET_INFO, &info) < 0)
                return negative_errno();
        if (!(info.mask & SYSCALL_PIDFD_INFO_CGROUPID))
                return -EOPNOTSUPP;
        *ret_cgroupid = info.cgroupid;
        return 0;
}

#define SYSCALL_PIDFD_INFO_EXIT (1ULL << 3)

/* A wait status (as waitpid gives it) as waitid's siginfo. */
static void status_to_siginfo(int status, pid_t pid, siginfo_t *si) {
        *si = (siginfo_t){ .si_pid = pid, .si_signo = SIGCHLD };
        if (WIFEXITED(status)) {
                si->si_code = CLD_EXITED;
                si->si_status = WEXITSTATUS(status);
        } else {
                si->si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
                si->si_status = WTERMSIG(status);
        }
}

/* Field n (1-based) of /proc/<pid>/stat, after the parenthesised comm that may hold spaces. */
static int proc_stat_field(pid_t pid, int n, long long *ret) {
        char path[64], buf[2048], *p;
        int fd, k;
        ssize_t len;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
                return -ESRCH;
        buf[len] = '\0';
        p = strrchr(buf, ')');
        if (!p)
                return -EINVAL;
        for (k = 2; k < n && p; k++) /* p points before field k+1 */
                p = strchr(p + 1, ' ');
        if (!p)
                return -EINVAL;
        *ret = strtoll(p + 1, NULL, 10);
        return 0;
}

int syscall_pid_starttime(pid_t pid, uint64_t *ret) {
        long long v;
        int r = proc_stat_field(pid, 22, &v);

        if (r >= 0)
                *ret = (uint64_t) v;
        return r;
}

static int pidfd_exit_from_info(int pidfd, pid_t pid, siginfo_t *ret_si) {
        struct syscall_pidfd_info info = { .mask = SYSCALL_PIDFD_INFO_EXIT };

        if (ioctl(pidfd, SYSCALL_PIDFD_GET_INFO, &info) < 0 || !(info.mask & SYSCALL_PIDFD_INFO_EXIT))
                return -ENODATA;
        status_to_siginfo(info.exit_code, pid, ret_si);
        return 0;
}

int syscall_pidfd_exit_info(int pidfd, pid_t pid, siginfo_t *ret_si) {
        long long status;

        if (pidfd_exit_from_info(pidfd, pid, ret_si) >= 0)
                return 0;
        /* A zombie still: its /proc entry is its own as long as the pidfd can still signal it. */
        if (proc_stat_field(pid, 52, &status) >= 0 && syscall_pidfd_send_signal(pidfd, 0) >= 0) {
                status_to_siginfo((int) status, pid, ret_si);
                return 0;
        }
        return pidfd_exit_from_info(pidfd, pid, ret_si); /* reaped meanwhile */
}

#define PF_EXITING_FLAG 0x4 /* include/linux/sched.h */

int syscall_pid_sigkill_pending(pid_t pid) {
        char path[64], line[256];
        long long flags;
        FILE *f;
        int r = 0;

        /* Between taking its SIGKILL and becoming a zombie a task is neither: its flags say. */
        if (proc_stat_field(pid, 9, &flags) >= 0 && (flags & PF_EXITING_FLAG))
                return 1;
        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (r == 0 && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "SigPnd:", 7) == 0 || strncmp(line, "ShdPnd:", 7) == 0)
                        r = (strtoull(line + 7, NULL, 16) >> (SIGKILL - 1)) & 1;
                else if (strncmp(line, "State:", 6) == 0)
                        r = strpbrk(line + 6, "ZX") != NULL;
        }
        fclose(f);
        return r;
}

int syscall_probe_pidfd(void) {
        int fd = syscall_pidfd_open(getpid());
        siginfo_t si;
        int r;

        if (fd < 0)
                return 0;
        /* We are not our own child: ECHILD where P_PIDFD exists, EINVAL before 5.4. */
        r = syscall_waitid_pidfd(fd, WEXITED | WNOHANG, &si);
        safe_close(fd);
        return r == -ECHILD;
}

int syscall_probe_clone3(void) {
        /* A NULL, zero-sized argument is refused with EINVAL where clone3 exists. */
        return syscall(__NR_clone3, NULL, 0) < 0 && errno == EINVAL;
}

int syscall_probe_clone_into_cgroup(void) {
        /* An invalid exit signal makes clone3 fail after it has read the arguments: EINVAL from 5.7
         * on, E2BIG before, where the cgroup field lies beyond the struct the kernel knows. */
        struct syscall_clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = ~0ULL, .cgroup = 1 };

        return syscall(__NR_clone3, &a, sizeof(a)) < 0 && errno == EINVAL;
}

int syscall_probe_pidfd_get_info(void) {
        uint64_t id;
        int fd = syscall_pidfd_open(getpid()), r;

        if (fd < 0)
                return 0;
        r = syscall_pidfd_get_cgroupid(fd, &id);
        safe_close(fd);
        return r >= 0;
}
