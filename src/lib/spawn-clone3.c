/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-clone3.c: the library's only place that forks: vfork-style clone3 straight into a leaf cgroup, with
 * a pidfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "spawn-clone3.h"
#include "syscall.h"

#define SPAWN_STACK_SIZE (64 * 1024)

/* What the child needs, prepared by the parent so that the child only makes syscalls. */
typedef struct spawn_child_ctx {
        const spawn_params *p;
        int devnull_fd;
        int procs_fd;         /* leaf's cgroup.procs when CLONE_INTO_CGROUP is missing, else -1 */
        unsigned unshare_end; /* with a window: CLONE_FILES, and the child copies fds below this */
        int err_pipe;         /* fork-style fallback: write end for the errno, else -1 */
        volatile int err;     /* vfork style: the child's errno, seen by the parent through CLONE_VM */
        volatile int step;    /* which step failed: an index into spawn_steps */
} spawn_child_ctx;

enum {
        STEP_EXEC,
        STEP_SETUP,
        STEP_RLIMIT,
        STEP_SETGROUPS,
        STEP_SETGID,
        STEP_SETUID,
        STEP_NO_NEW_PRIVS,
        STEP_CHDIR,
        STEP_CGROUP_V1,
        STEP_STDIO,
        STEP_BOUNDING,
        STEP_AMBIENT,
        STEP_USER_NS,
        STEP_CAPS_CLEAR,
        STEP_MOUNT_NS,
        STEP_NET_NS,
        STEP_FILTER_NNP,
        STEP_FILTER,
        STEP_MOUNT_FIRST, /* + the index of the sandbox's mount that failed */
};
static const char *const spawn_steps[] = {
        [STEP_EXEC] = "execve",
        [STEP_SETUP] = "child setup",
        [STEP_RLIMIT] = "setrlimit",
        [STEP_SETGROUPS] = "setgroups",
        [STEP_SETGID] = "setgid",
        [STEP_SETUID] = "setuid",
        [STEP_NO_NEW_PRIVS] = "no_new_privs",
        [STEP_CHDIR] = "chdir",
        [STEP_CGROUP_V1] = "joining the cgroup v1 groups",
        [STEP_STDIO] = "output redirection",
        [STEP_BOUNDING] = "CapabilityBoundingSet=",
        [STEP_AMBIENT] = "AmbientCapabilities=",
        [STEP_USER_NS] = SPAWN_STEP_USER_NS,
        [STEP_CAPS_CLEAR] = "dropping the user namespace's capabilities",
        [STEP_MOUNT_NS] = "the sandbox's mount namespace",
        [STEP_NET_NS] = "PrivateNetwork=",
        [STEP_FILTER_NNP] = "no_new_privs (for the system call filter)",
        [STEP_FILTER] = "the system call filter (SystemCallFilter=, RestrictAddressFamilies=, ...)",
};

void spawn_stack_done(spawn_stack *s) {
        if (s->base)
                (void) munmap(s->base, s->size);
        *s = (spawn_stack){ 0 };
}

int spawn_window_init(spawn_window *w) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY), r = 0;

        *w = (spawn_window){ 0 };
        for (size_t i = 0; i < SPAWN_WINDOW_SLOTS; i++)
                w->slots[i] = -EBADF;
        if (null < 0)
                return negative_errno();
        for (size_t i = 0; i < SPAWN_WINDOW_SLOTS && r >= 0; i++) {
                w->slots[i] = fcntl(null, F_DUPFD_CLOEXEC, 3); /* never 0-2, which the child sets up */
                if (w->slots[i] < 0)
                        r = negative_errno();
                else if ((unsigned) w->slots[i] >= w->end)
                        w->end = (unsigned) w->slots[i] + 1;
        }
        safe_close(null);
        if (r < 0)
                spawn_window_done(w);
        return r;
}

void spawn_window_done(spawn_window *w) {
        for (size_t i = 0; i < SPAWN_WINDOW_SLOTS && w->end > 0; i++) /* a zeroed one holds nothing */
                safe_close(w->slots[i]);
        *w = (spawn_window){ 0 };
}

/* fd into the window's next free slot, in *ret; what is not an fd (-1, SPAWN_FD_NULL) is kept
 * as it is. */
static int spawn_window_put(spawn_window *w, unsigned *used, int fd, int *ret) {
        int slot;

        if (fd < 0) {
                *ret = fd;
                return 0;
        }
        if (*used >= SPAWN_WINDOW_SLOTS)
                return -ENOSPC;
        slot = w->slots[(*used)++];
        if (dup3(fd, slot, O_CLOEXEC) < 0)
                return negative_errno();
        *ret = slot;
        return 0;
}

/* Every used slot back on /dev/null, so that no pipe end or cgroup file stays open through it.
 * If that fails the slot is closed, and the window is given up. */
static void spawn_window_clear(spawn_window *w, unsigned used) {
        for (unsigned i = 1; i < used; i++)
                if (dup3(w->slots[0], w->slots[i], O_CLOEXEC) < 0) {
                        spawn_window_done(w);
                        return;
                }
}

/* The fds the child needs, put in the window: *moved is the child's view of the parameters (v1
 * holds its cgroup v1 fds), and c's fds are window slots. *used slots are taken, even on failure. */
static int spawn_window_fill(spawn_child_ctx *c, spawn_params *moved, int *v1, unsigned *used) {
        spawn_window *w = c->p->window;
        int r;

        *moved = *c->p;
        *used = 1; /* slots[0] is /dev/null */
        r = spawn_window_put(w, used, c->p->stdout_fd, &moved->stdout_fd);
        if (r >= 0)
                r = spawn_window_put(w, used, c->p->stderr_fd, &moved->stderr_fd);
        if (r >= 0)
                r = spawn_window_put(w, used, c->procs_fd, &c->procs_fd);
        for (size_t i = 0; r >= 0 && i < c->p->n_v1_procs_fds; i++)
                r = spawn_window_put(w, used, c->p->v1_procs_fds[i], &v1[i]);
        if (r < 0)
                return r;
        moved->v1_procs_fds = v1;
        c->devnull_fd = w->slots[0];
        c->unshare_end = w->end;
        c->p = moved;
        return 0;
}

static int spawn_stack_get(spawn_stack *s) {
        void *b;

        if (s->base)
                return 0;
        b = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1,
                 0);
        if (b == MAP_FAILED)
                return negative_errno();
        (void) mprotect(b, 4096, PROT_NONE); /* guard page: the stack grows down */
        *s = (spawn_stack){ .base = b, .size = SPAWN_STACK_SIZE };
        return 0;
}

int spawn_check_directory(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        /* AT_EACCESS: with the file system ids (creds_fs_enter()), not the real ones */
        return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0 ? negative_errno() : 0;
}

int spawn_resolve(const char *cmd, char **ret_path) {
        const char *path = getenv("PATH");
        int err = -ENOENT;

        if (!cmd || !*cmd)
                return -ENOENT;
        if (strchr(cmd, '/')) {
                *ret_path = strdup(cmd);
                return *ret_path ? 0 : -ENOMEM;
        }
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *d = path; d; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
                size_t len = strcspn(d, ":");
                _cleanup_free_ char *full = NULL;
                struct stat st;

                if (asprintf(&full, "%.*s/%s", (int) len, len ? d : ".", cmd) < 0)
                        return -ENOMEM;
                if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (faccessat(AT_FDCWD, full, X_OK, AT_EACCESS) < 0) {
                        err = -EACCES;
                        continue;
                }
                *ret_path = TAKE_PTR(full);
                return 0;
        }
        return err;
}

static int spawn_child_fail(spawn_child_ctx *c, int step, int err) {
        int msg[2] = { err, step };

        if (c->err_pipe >= 0)
                (void) !write(c->err_pipe, msg, sizeof(msg));
        else {
                c->err = err;
                c->step = step;
        }
        return 127;
}

/* stdin is /dev/null; stdout and stderr go where asked, else are inherited, or /dev/null where
 * the parent has none. */
static int spawn_child_stdio(spawn_child_ctx *c, int fd) {
        int to = fd == STDOUT_FILENO ? c->p->stdout_fd : fd == STDERR_FILENO ? c->p->stderr_fd : -1;

        if (to == SPAWN_FD_NULL)
                to = c->devnull_fd;

        if (to >= 0)
                return to == fd ? fcntl(fd, F_SETFD, 0) : dup2(to, fd) < 0 ? -1 : 0;
        if (fd != c->devnull_fd && (fd == STDIN_FILENO || fcntl(fd, F_GETFD) < 0))
                return dup2(c->devnull_fd, fd) < 0 ? -1 : 0;
        return fcntl(fd, F_SETFD, 0); /* keep it across exec */
}

/* --- The sandbox, when one is asked for: system calls only, on what the parent prepared. --- */

/* The child runs on a stack ASan does not know: the redzones an instrumented frame poisons around
 * its arrays would stay poisoned after exec, and the next child on the same stack would trip on
 * them. These frames are left uninstrumented. */
#define CHILD_FN __attribute__((no_sanitize_address))

CHILD_FN static int child_move(int fd, const char *path) {
        int r = move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);

        safe_close(fd);
        return r;
}

/* A copy of the tree at path, with attrs set (recursively where asked), put over it. */
CHILD_FN static int child_bind_attr(const char *from, const char *path, uint64_t attrs, bool recursive) {
        struct mount_attr a = { .attr_set = attrs };
        int fd = open_tree(AT_FDCWD, from,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));

        if (fd < 0)
                return -1;
        if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0) {
                safe_close(fd);
                return -1;
        }
        return child_move(fd, path);
}

/* A new /dev: a tmpfs with the host's harmless nodes bound in, shm, and the usual links. */
CHILD_FN static int child_dev(const spawn_mount *m) {
        static const char *const nodes[] = { "/dev/null",   "/dev/zero",    "/dev/full",
                                             "/dev/random", "/dev/urandom", "/dev/tty" };
        static const char *const links[][2] = { { "/proc/self/fd", "/dev/fd" },
                                                { "/proc/self/fd/0", "/dev/stdin" },
                                                { "/proc/self/fd/1", "/dev/stdout" },
                                                { "/proc/self/fd/2", "/dev/stderr" } };
        int fds[ELEMENTSOF(nodes)];

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                fds[i] = open_tree(AT_FDCWD, nodes[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (mount("tmpfs", m->path, "tmpfs", m->flags, m->data) < 0)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                if (fds[i] >= 0 &&
                    (mknodat(AT_FDCWD, nodes[i], S_IFREG | 0666, 0) < 0 || child_move(fds[i], nodes[i]) < 0))
                        return -1;
        if (mkdir("/dev/shm", 01777) < 0 || chmod("/dev/shm", 01777) < 0)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlink(links[i][0], links[i][1]) < 0)
                        return -1;
        return 0;
}

CHILD_FN static int child_mount(const spawn_mount *m, int kept) {
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
        struct stat st;

        switch (m->op) {
        case SPAWN_MOUNT_READ_ONLY:
                if (strcmp(m->path, "/") == 0) /* our own copy of the tree, in place */
                        return mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro));
                return child_bind_attr(m->path, m->path, MOUNT_ATTR_RDONLY, true);
        case SPAWN_MOUNT_READ_WRITE: /* as it was before anything was made read-only */
                return kept < 0 ? 0 : child_move(kept, m->path);
        case SPAWN_MOUNT_HIDE:
                if (stat(m->path, &st) < 0)
                        return -1;
                if (S_ISDIR(st.st_mode))
                        return mount("tmpfs", m->path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                     "mode=000");
                return child_bind_attr(
                        "/dev/null", m->path,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID, false);
        case SPAWN_MOUNT_TMPFS:
                if (stat(m->path, &st) < 0)
                        return -1;
                return mount("tmpfs", m->path, "tmpfs", m->flags, m->data);
        case SPAWN_MOUNT_DEV:
                return child_dev(m);
        }
        errno = EINVAL;
        return -1;
}

/* Its own mount namespace, nothing propagating back to the host, then each step in order. The
 * trees made writable again are taken first, as the host has them. */
CHILD_FN static int spawn_child_mounts(spawn_child_ctx *c) {
        const spawn_sandbox *sb = c->p->sandbox;
        int kept[64];

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return spawn_child_fail(c, STEP_MOUNT_NS, errno);
        for (size_t i = 0; i < sb->n_mounts && i < ELEMENTSOF(kept); i++) {
                kept[i] = -1;
                if (sb->mounts[i].op != SPAWN_MOUNT_READ_WRITE)
                        continue;
                kept[i] = open_tree(AT_FDCWD, sb->mounts[i].path,
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (kept[i] < 0 && !(errno == ENOENT && sb->mounts[i].optional))
                        return spawn_child_fail(c, STEP_MOUNT_FIRST + (int) i, errno);
        }
        for (size_t i = 0; i < sb->n_mounts && i < ELEMENTSOF(kept); i++)
                if (child_mount(&sb->mounts[i], kept[i]) < 0 && !(errno == ENOENT && sb->mounts[i].optional))
                        return spawn_child_fail(c, STEP_MOUNT_FIRST + (int) i, errno);
        return 0;
}

/* Its own network namespace, with the loopback device up. */
CHILD_FN static int spawn_child_network(spawn_child_ctx *c) {
        struct ifreq ifr = { .ifr_name = "lo" };
        int fd;

        if (unshare(CLONE_NEWNET) < 0)
                return spawn_child_fail(c, STEP_NET_NS, errno);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return spawn_child_fail(c, STEP_NET_NS, errno);
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return spawn_child_fail(c, STEP_NET_NS, errno);
        safe_close(fd);
        return 0;
}

CHILD_FN static int child_write(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

        safe_close(fd); /* keeps errno */
        if (n >= 0 && (size_t) n != strlen(text))
                errno = EIO;
        return n >= 0 && (size_t) n == strlen(text) ? 0 : -1;
}

/* As systemd's PrivateUsers= in a user manager: a user namespace in which only our own uid and gid
 * exist (an unprivileged process may map itself, once setgroups is denied), and in it every
 * capability, for the mount and network namespaces made next (owned by it). */
CHILD_FN static int spawn_child_user(spawn_child_ctx *c) {
        const spawn_sandbox *sb = c->p->sandbox;

        if (unshare(CLONE_NEWUSER) < 0 || child_write("/proc/self/setgroups", "deny") < 0 ||
            child_write("/proc/self/uid_map", sb->uid_map) < 0 ||
            child_write("/proc/self/gid_map", sb->gid_map) < 0)
                return spawn_child_fail(c, STEP_USER_NS, errno);
        return 0;
}

/* What the user namespace gave goes before anything else runs: effective, permitted, inheritable
 * and ambient (the bounding set is already empty). */
CHILD_FN static int spawn_child_caps_clear(spawn_child_ctx *c) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { { 0 }, { 0 } };

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || syscall(SYS_capset, &h, d) < 0)
                return spawn_child_fail(c, STEP_CAPS_CLEAR, errno);
        return 0;
}

/* Namespaces first (while root, or in our own user namespace), then the bounding set (which needs
 * CAP_SETPCAP). */
CHILD_FN static int spawn_child_sandbox(spawn_child_ctx *c) {
        const spawn_sandbox *sb = c->p->sandbox;

        if (sb->user_ns && spawn_child_user(c) != 0)
                return 127;
        if (sb->mount_ns && spawn_child_mounts(c) != 0)
                return 127;
        if (sb->net_ns && spawn_child_network(c) != 0)
                return 127;
        for (unsigned cap = 0; sb->drop_bounding && cap <= sb->last_cap; cap++)
                if (!(sb->keep & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return spawn_child_fail(c, STEP_BOUNDING, errno);
        if (sb->user_ns && spawn_child_caps_clear(c) != 0)
                return 127;
        if (sb->ambient && c->p->creds && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return spawn_child_fail(c, STEP_AMBIENT, errno);
        return 0;
}

/* After the uid changed: the ambient set, through the permitted and inheritable ones. */
CHILD_FN static int spawn_child_ambient(spawn_child_ctx *c) {
        const spawn_sandbox *sb = c->p->sandbox;
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];
        uint32_t lo = (uint32_t) sb->ambient, hi = (uint32_t) (sb->ambient >> 32);

        if (syscall(SYS_capget, &h, d) < 0)
                return spawn_child_fail(c, STEP_AMBIENT, errno);
        if (c->p->creds && c->p->creds->uid != 0) { /* kept by PR_SET_KEEPCAPS: only these */
                d[0].permitted = d[0].effective = lo;
                d[1].permitted = d[1].effective = hi;
        }
        d[0].inheritable |= lo;
        d[1].inheritable |= hi;
        if (syscall(SYS_capset, &h, d) < 0)
                return spawn_child_fail(c, STEP_AMBIENT, errno);
        for (unsigned cap = 0; cap < 64; cap++)
                if ((sb->ambient & (UINT64_C(1) << cap)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return spawn_child_fail(c, STEP_AMBIENT, errno);
        return 0;
}

/* Last before execve: nothing after it needs a system call the filter may refuse. */
CHILD_FN static int spawn_child_filters(spawn_child_ctx *c) {
        const spawn_sandbox *sb = c->p->sandbox;

        if (sb->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return spawn_child_fail(c, STEP_FILTER_NNP, errno);
        for (size_t i = 0; i < sb->n_filters; i++)
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sb->filters[i], 0, 0) < 0)
                        return spawn_child_fail(c, STEP_FILTER, errno);
        return 0;
}

/* Limits, umask, then who it runs as: groups before the uid, while we still may. */
static int spawn_child_privileges(spawn_child_ctx *c) {
        const spawn_params *p = c->p;

        for (size_t i = 0; i < p->n_rlimits; i++)
                if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
                        return spawn_child_fail(c, STEP_RLIMIT, errno);
        if (p->umask >= 0)
                (void) umask((mode_t) p->umask);
        /* In a user namespace setgroups is denied (it could drop a group that denies access). */
        if (p->creds && !(p->sandbox && p->sandbox->user_ns) &&
            setgroups(p->creds->n_groups, p->creds->groups) < 0)
                return spawn_child_fail(c, STEP_SETGROUPS, errno);
        if (p->creds && setresgid(p->creds->gid, p->creds->gid, p->creds->gid) < 0)
                return spawn_child_fail(c, STEP_SETGID, errno);
        if (p->creds && setresuid(p->creds->uid, p->creds->uid, p->creds->uid) < 0)
                return spawn_child_fail(c, STEP_SETUID, errno);
        if (p->sandbox && p->sandbox->ambient && spawn_child_ambient(c) != 0)
                return 127;
        if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return spawn_child_fail(c, STEP_NO_NEW_PRIVS, errno);
        return 0;
}

/* Runs between clone and exec, on the parent's memory: syscalls only, no allocation, no locks. */
static int spawn_child(void *arg) {
        spawn_child_ctx *c = arg;
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* Our fd table is still the parent's: nothing touches an fd before this. */
        if (c->unshare_end > 0 && close_range(c->unshare_end, ~0U, CLOSE_RANGE_UNSHARE) < 0)
                return spawn_child_fail(c, STEP_SETUP, errno);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
        if (c->procs_fd >= 0 && write(c->procs_fd, "0", 1) != 1)
                return spawn_child_fail(c, STEP_SETUP, errno);
        for (size_t i = 0; i < c->p->n_v1_procs_fds; i++)
                if (c->p->v1_procs_fds[i] >= 0 && write(c->p->v1_procs_fds[i], "0", 1) != 1)
                        return spawn_child_fail(c, STEP_CGROUP_V1, errno);
        if (setsid() < 0)
                return spawn_child_fail(c, STEP_SETUP, errno);
        for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
                if (spawn_child_stdio(c, fd) < 0)
                        return spawn_child_fail(c, STEP_STDIO, errno);
        if (c->p->sandbox && spawn_child_sandbox(c) != 0)
                return 127;
        if (spawn_child_privileges(c) != 0)
                return 127;
        if (c->p->cwd && chdir(c->p->cwd) < 0) /* as the user: its permissions apply */
                return spawn_child_fail(c, STEP_CHDIR, errno);
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return spawn_child_fail(c, STEP_SETUP, errno);
        (void) sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return spawn_child_fail(c, STEP_SETUP, errno);
        if (c->p->sandbox && spawn_child_filters(c) != 0)
                return 127;
        execve(c->p->path, c->p->argv, c->p->envp);
        return spawn_child_fail(c, STEP_EXEC, errno);
}

static pid_t spawn_clone(spawn_child_ctx *c, spawn_stack *stack, bool into_cgroup, int *ret_pidfd) {
        struct syscall_clone_args args = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
                .stack = (uint64_t) (uintptr_t) stack->base,
                .stack_size = stack->size,
        };
        sigset_t all, old;
        pid_t pid;

        if (c->unshare_end > 0)
                args.flags |= CLONE_FILES;
        if (into_cgroup) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) c->p->cgroup_fd;
        }
        /* No handler of ours may run in the child on our memory before it resets dispositions. */
        (void) sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = syscall_clone3_fn(&args, spawn_child, c);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        return pid;
}

static int spawn_child_errno(spawn_child_ctx *c, int pipe_rd) {
        int msg[2] = { 0, 0 };

        if (pipe_rd < 0)
                return c->err;
        if (read(pipe_rd, msg, sizeof(msg)) != sizeof(msg))
                return 0; /* closed by exec: success */
        c->step = msg[1];
        return msg[0];
}

/* Where the child finds /dev/null and its cgroup files: in the window if there is one (the
 * vfork-style clone only: the child must run on our memory while it shares our fd table), else
 * the fds themselves. *procs is the leaf's cgroup.procs where the child must join it itself. */
static int spawn_prepare_fds(spawn_child_ctx *c, spawn_params *moved, int *v1, unsigned *used, int *procs) {
        const spawn_params *p = c->p;
        int r;

        *used = 0;
        if (!p->into_cgroup) {
                *procs = openat(p->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (*procs < 0)
                        return negative_errno();
                c->procs_fd = *procs;
        }
        if (p->window && p->window->end > 0 && syscall_clone3_vfork_supported() &&
            p->n_v1_procs_fds <= SPAWN_WINDOW_SLOTS) {
                r = spawn_window_fill(c, moved, v1, used);
                if (r >= 0)
                        return 0;
                spawn_window_clear(p->window, *used);
                *used = 0;
                c->procs_fd = *procs;
                if (r != -ENOSPC)
                        return r;
        } /* more fds than slots: without the window */
        c->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        return c->devnull_fd < 0 ? negative_errno() : 0;
}

int spawn_start(const spawn_params *p, spawn_stack *stack, pid_t *ret_pid, int *ret_pidfd,
                const char **ret_step) {
        spawn_child_ctx c = { .p = p, .devnull_fd = -EBADF, .procs_fd = -EBADF, .err_pipe = -EBADF };
        _cleanup_close_ int pipe_rd = -EBADF, procs = -EBADF;
        int pidfd = -EBADF, fds[2], v1[SPAWN_WINDOW_SLOTS], r, err;
        spawn_params moved;
        unsigned used = 0;
        pid_t pid;

        r = spawn_stack_get(stack);
        if (r >= 0)
                r = spawn_prepare_fds(&c, &moved, v1, &used, &procs);
        if (r >= 0 && !syscall_clone3_vfork_supported()) {
                if (pipe2(fds, O_CLOEXEC) < 0)
                        r = negative_errno();
                else {
                        pipe_rd = fds[0];
                        c.err_pipe = fds[1];
                }
        }
        pid = r < 0 ? r : spawn_clone(&c, stack, p->into_cgroup, &pidfd);
        if (used > 0) /* the window's slots go back on /dev/null; they are the window's */
                spawn_window_clear(p->window, used);
        else
                c.devnull_fd = safe_close(c.devnull_fd);
        c.err_pipe = safe_close(c.err_pipe);
        if (pid < 0)
                return pid;
        err = spawn_child_errno(&c, pipe_rd);
        if (err != 0) {
                siginfo_t si;
                (void) syscall_waitid_pidfd(pidfd, WEXITED, &si); /* it has _exit()ed already */
                safe_close(pidfd);
                if (p->sandbox && c.step >= STEP_MOUNT_FIRST &&
                    (size_t) (c.step - STEP_MOUNT_FIRST) < p->sandbox->n_mounts)
                        *ret_step = p->sandbox->mounts[c.step - STEP_MOUNT_FIRST].what;
                else
                        *ret_step = spawn_steps[(unsigned) c.step < ELEMENTSOF(spawn_steps) ? c.step
                                                                                            : STEP_SETUP];
                return -err;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}
