/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.c: the only door to cgroupfs: the root, leaf cgroups, their events, signals and kills. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/inotify.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"
#include "macro.h"
#include "syscall.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s) {
        char *w = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *w++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 3;
                } else
                        *w++ = *s;
        }
        *w = '\0';
}

static int find_cgroup2_mount(char **ret) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!f)
                return negative_errno();
        while (getline(&line, &n, f) > 0) {
                char mnt[4096], fstype[64];
                const char *sep = strstr(line, " - ");
                unsigned maj, min;
                struct stat st;

                if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
                        continue;
                if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, mnt) != 3)
                        continue;
                unescape_octal(mnt);
                /* A mount hidden under a later one (a container's own cgroup2 mounted over the
                 * host's /sys/fs/cgroup) is listed too: only the one seen at its place counts. */
                if (stat(mnt, &st) < 0 || st.st_dev != makedev(maj, min))
                        continue;
                *ret = strdup(mnt);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOMEDIUM;
}

static int own_cgroup(char **ret) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/self/cgroup", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        ssize_t len;

        if (!f)
                return negative_errno();
        while ((len = getline(&line, &n, f)) > 0) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                if (line[len - 1] == '\n')
                        line[len - 1] = '\0';
                *ret = strdup(line + 3);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOMEDIUM;
}

static int default_root(char *mount, char **ret) {
        _cleanup_free_ char *own = NULL;
        int r = own_cgroup(&own);

        if (r < 0)
                return r;
        if (asprintf(ret, "%s%s", mount, strcmp(own, "/") == 0 ? "" : own) < 0)
                return -ENOMEM;
        return 0;
}

int cgroup_root_open(const char *override, cgroup_root *ret) {
        _cleanup_free_ char *mount = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        int r;

        r = find_cgroup2_mount(&mount);
        if (r < 0)
                return r;
        if (!override || !*override)
                override = secure_getenv("CORRAL_CGROUP_ROOT");
        if (override && *override)
                path = realpath(override, NULL);
        else if ((r = default_root(mount, &path)) < 0)
                return r;
        if (!path)
                return negative_errno();
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return -EMEDIUMTYPE;
        *ret = (cgroup_root){ .path = TAKE_PTR(path), .mount = TAKE_PTR(mount), .fd = TAKE_FD(fd) };
        return 0;
}

void cgroup_root_done(cgroup_root *r) {
        free(r->path);
        free(r->mount);
        r->path = r->mount = NULL;
        r->fd = safe_close(r->fd);
}

int cgroup_leaf_create(const cgroup_root *r, const char *name, char ret_launch[static 13]) {
        for (int attempt = 0; attempt < 16; attempt++) {
                char dir[128];
                uint64_t rnd;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -EIO;
                (void) snprintf(ret_launch, 13, "%012" PRIx64, (uint64_t) (rnd & 0xffffffffffffULL));
                (void) snprintf(dir, sizeof(dir), "%s.%s", name, ret_launch);
                if (mkdirat(r->fd, dir, 0755) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return negative_errno();
                }
                fd = openat(r->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        int e = negative_errno();
                        (void) unlinkat(r->fd, dir, AT_REMOVEDIR);
                        return e;
                }
                return fd;
        }
        return -EEXIST;
}

/* The empty groups a leaf's commands ran in (command.c), left by a supervisor that died while they ran. */
static void cgroup_leaf_remove_children(int parent_fd, const char *dir) {
        int fd = openat(parent_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        struct dirent *de;

        if (!d) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && strncmp(de->d_name, "cmd.", 4) == 0)
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
}

int cgroup_leaf_remove(const cgroup_root *r, const char *name, const char *launch) {
        char dir[128];

        (void) snprintf(dir, sizeof(dir), "%s.%s", name, launch);
        if (unlinkat(r->fd, dir, AT_REMOVEDIR) == 0)
                return 0;
        if (errno == EBUSY) {
                cgroup_leaf_remove_children(r->fd, dir);
                if (unlinkat(r->fd, dir, AT_REMOVEDIR) == 0)
                        return 0;
        }
        return errno == ENOENT ? 0 : negative_errno();
}

int cgroup_events_open(int leaf_fd) {
        int fd = openat(leaf_fd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? negative_errno() : fd;
}

int cgroup_is_populated(int leaf_fd) {
        char buf[256];
        uint64_t v;
        ssize_t n = read_small_at(leaf_fd, "cgroup.events", buf, sizeof(buf));
        int r;

        if (n < 0)
                return (int) n;
        r = keyed_file_get(buf, "populated", &v);
        if (r < 0)
                return r;
        return v != 0;
}

int cgroup_read_procs(int leaf_fd, pid_t **ret) {
        _cleanup_close_ int fd = openat(leaf_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t len = 0, cap = 0, n = 0;
        ssize_t k;

        if (fd < 0)
                return negative_errno();
        do {
                if (cap - len < 4096) {
                        char *nb = realloc(buf, cap + 16384);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap += 16384;
                }
                k = read(fd, buf + len, cap - len - 1);
                if (k < 0)
                        return negative_errno();
                len += (size_t) k;
        } while (k > 0);
        buf[len] = '\0';
        pids = calloc(len / 2 + 2, sizeof(pid_t)); /* at least 2 bytes per line */
        if (!pids)
                return -ENOMEM;
        for (char *p = buf, *end; *p; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0)
                        pids[n++] = (pid_t) v;
                while (*end == '\n')
                        end++;
        }
        pids[n] = 0;
        *ret = TAKE_PTR(pids);
        return (int) n;
}

/* Is the process behind pidfd (pid) in the leaf? A pid read from cgroup.procs may have been
 * recycled before pidfd_open(); this rules it out. */
static int pidfd_in_leaf(int pidfd, pid_t pid, uint64_t cgid, const cgroup_leaf *leaf,
                         const cgroup_caps *caps) {
        uint64_t id;

        if (caps->pidfd_info) {
                int r = syscall_pidfd_get_cgroupid(pidfd, &id);
                return r >= 0 ? id == cgid : 0; /* -ESRCH: gone */
        }
        /* No PIDFD_GET_INFO (before 6.13): compare /proc/PID/cgroup with the leaf's path, then
         * check that the pidfd is still alive, which proves /proc described the same process. */
        return cgroup_pid_in(pid, leaf->path) && syscall_pidfd_send_signal(pidfd, 0) >= 0;
}

typedef int (*cgroup_leaf_fn)(const cgroup_leaf *leaf, void *userdata);

/* fn on each command group ("cmd.N", command.c) of the leaf, as a leaf of its own (no deeper: a
 * command's group has no groups). Returns the sum of fn's positive results. */
static int cgroup_for_each_command(const cgroup_leaf *leaf, cgroup_leaf_fn fn, void *userdata) {
        struct stat st;
        int fd, count = 0;
        DIR *d;
        struct dirent *de;

        /* A cgroupfs directory links 2 + its sub-groups: with none (as most of the time), no
         * listing of the leaf's files to look for them. */
        if (fstat(leaf->fd, &st) < 0 || st.st_nlink == 2)
                return 0;
        fd = openat(leaf->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd < 0 ? NULL : fdopendir(fd);
        if (!d)
                return safe_close(fd), 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                cgroup_leaf child;
                int k;

                if (de->d_type != DT_DIR || strncmp(de->d_name, "cmd.", 4) != 0 ||
                    asprintf(&path, "%s/%s", leaf->path ?: "", de->d_name) < 0)
                        continue;
                child = (cgroup_leaf){
                        .fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), .path = path
                };
                if (child.fd < 0)
                        continue;
                k = fn(&child, userdata);
                count += k > 0 ? k : 0;
                safe_close(child.fd);
        }
        closedir(d);
        return count;
}

/* Each process of the leaf itself (not of its command groups) as a pidfd checked to be in it, to
 * fn(pidfd, userdata), which owns the pidfd from then on. Returns how many fn took, or -errno. */
static int cgroup_each_pidfd(const cgroup_leaf *leaf, const cgroup_caps *caps, int (*fn)(int, void *),
                             void *userdata) {
        _cleanup_free_ pid_t *pids = NULL;
        struct stat st;
        int r, count = 0;

        if (fstat(leaf->fd, &st) < 0)
                return negative_errno();
        r = cgroup_read_procs(leaf->fd, &pids);
        if (r < 0)
                return r;
        for (pid_t *p = pids; *p; p++) {
                int pidfd = syscall_pidfd_open(*p);
                if (pidfd < 0)
                        continue; /* exited meanwhile */
                if (pidfd_in_leaf(pidfd, *p, (uint64_t) st.st_ino, leaf, caps) <= 0)
                        safe_close(pidfd);
                else
                        count += fn(pidfd, userdata) >= 0;
        }
        return count;
}

typedef struct cgroup_signal_ctx {
        int sig;
        const cgroup_caps *caps;
} cgroup_signal_ctx;

static int cgroup_signal_pidfd(int pidfd, void *userdata) {
        const cgroup_signal_ctx *x = userdata;
        int r = syscall_pidfd_send_signal(pidfd, x->sig);

        safe_close(pidfd);
        return r;
}

static int cgroup_signal_leaf(const cgroup_leaf *leaf, void *userdata) {
        const cgroup_signal_ctx *x = userdata;

        return cgroup_each_pidfd(leaf, x->caps, cgroup_signal_pidfd, userdata);
}

/* The groups of a leaf's commands (command.c) are part of it: what is signalled is signalled there too. */
int cgroup_signal_all(const cgroup_leaf *leaf, int sig, const cgroup_caps *caps) {
        cgroup_signal_ctx x = { .sig = sig, .caps = caps };
        int count = cgroup_for_each_command(leaf, cgroup_signal_leaf, &x);
        int r = cgroup_signal_leaf(leaf, &x);

        return r < 0 ? r : count + r;
}

typedef struct cgroup_pidfds {
        int *fds;
        size_t n, allocated;
        const cgroup_caps *caps;
} cgroup_pidfds;

static int cgroup_pidfds_put(int pidfd, void *userdata) {
        cgroup_pidfds *s = userdata;

        if (s->n == s->allocated) {
                size_t want = s->allocated ? s->allocated * 2 : 8;
                int *more = reallocarray(s->fds, want, sizeof(int));
                if (!more)
                        return safe_close(pidfd), -ENOMEM;
                s->fds = more;
                s->allocated = want;
        }
        s->fds[s->n++] = pidfd;
        return 0;
}

static int cgroup_pidfds_leaf(const cgroup_leaf *leaf, void *userdata) {
        cgroup_pidfds *s = userdata;

        return cgroup_each_pidfd(leaf, s->caps, cgroup_pidfds_put, s);
}

int cgroup_open_pidfds(const cgroup_leaf *leaf, const cgroup_caps *caps, int **ret) {
        cgroup_pidfds s = { .caps = caps };
        int r = cgroup_pidfds_leaf(leaf, &s);

        (void) cgroup_for_each_command(leaf, cgroup_pidfds_leaf, &s);
        if (r < 0) {
                for (size_t i = 0; i < s.n; i++)
                        safe_close(s.fds[i]);
                free(s.fds);
                return r;
        }
        *ret = s.fds;
        return (int) s.n;
}

int cgroup_id(int leaf_fd, uint64_t *ret) {
        struct stat st;

        if (fstat(leaf_fd, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int cgroup_count_procs(int leaf_fd, pid_t except) {
        _cleanup_free_ pid_t *pids = NULL;
        int r = cgroup_read_procs(leaf_fd, &pids), n = 0;

        if (r < 0)
                return r;
        for (pid_t *p = pids; *p; p++)
                n += *p != except;
        return n;
}

int cgroup_first_proc(int leaf_fd, pid_t *ret_pid, uint64_t *ret_starttime) {
        _cleanup_free_ pid_t *pids = NULL;
        int r = cgroup_read_procs(leaf_fd, &pids);
        uint64_t best = UINT64_MAX, st;
        pid_t pid = 0;

        if (r < 0)
                return r;
        for (pid_t *p = pids; *p; p++)
                if (syscall_pid_starttime(*p, &st) >= 0 && st < best) {
                        best = st;
                        pid = *p;
                }
        if (pid == 0)
                return -ESRCH;
        *ret_pid = pid;
        *ret_starttime = best;
        return 0;
}

int cgroup_kill(const cgroup_leaf *leaf, const cgroup_caps *caps) {
        int r;

        if (caps->kill_file)
                return write_string_at(leaf->fd, "cgroup.kill", "1");
        /* Before 5.14: freeze so nothing forks away between the read and the signals. */
        (void) write_string_at(leaf->fd, "cgroup.freeze", "1");
        r = cgroup_signal_all(leaf, SIGKILL, caps);
        (void) write_string_at(leaf->fd, "cgroup.freeze", "0");
        return r < 0 ? r : 0;
}

int cgroup_oom_kills(int leaf_fd, uint64_t *ret) {
        char buf[512];
        ssize_t n = read_small_at(leaf_fd, "memory.events", buf, sizeof(buf));

        if (n < 0)
                return (int) n;
        return keyed_file_get(buf, "oom_kill", ret);
}

int cgroup_probe_kill(const cgroup_root *r) {
        char launch[13];
        int fd, found;

        if (faccessat(r->fd, "cgroup.kill", F_OK, 0) == 0)
                return 1;
        if (strcmp(r->path, r->mount) != 0) /* every non-top cgroup has it where the kernel does */
                return 0;
        fd = cgroup_leaf_create(r, ".corral-probe", launch);
        if (fd < 0)
                return fd;
        found = faccessat(fd, "cgroup.kill", F_OK, 0) == 0;
        safe_close(fd);
        (void) cgroup_leaf_remove(r, ".corral-probe", launch);
        return found;
}

int cgroup_memory_current(int leaf_fd, uint64_t *ret) {
        char buf[64], *end;
        ssize_t n = read_small_at(leaf_fd, "memory.current", buf, sizeof(buf));
        unsigned long long v;

        if (n < 0)
                return (int) n;
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cgroup_cpu_usage(int leaf_fd, uint64_t *ret) {
        char buf[1024];
        ssize_t n = read_small_at(leaf_fd, "cpu.stat", buf, sizeof(buf));

        if (n < 0)
                return (int) n;
        return keyed_file_get(buf, "usage_usec", ret);
}

int cgroup_join_leaf(const cgroup_root *r, const char *name) {
        _cleanup_close_ int fd = -EBADF;

        if (mkdirat(r->fd, name, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = openat(r->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return write_string_at(fd, "cgroup.procs", "0");
}

const char *cgroup_pid_path(pid_t pid, char *buf, size_t size) {
        char p[64], *line;

        (void) snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        if (read_small_at(AT_FDCWD, p, buf, size) < 0)
                return NULL;
        line = strstr(buf, "0::");
        if (!line || (line != buf && line[-1] != '\n'))
                return NULL;
        line += 3;
        line[strcspn(line, "\n")] = '\0';
        return line;
}

bool cgroup_pid_in(pid_t pid, const char *path) {
        char buf[4096];
        const char *in = cgroup_pid_path(pid, buf, sizeof(buf));

        return path && in && strcmp(in, path) == 0;
}

int cgroup_memory_events_open(int leaf_fd) {
        int fd = openat(leaf_fd, "memory.events", O_RDONLY | O_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

/* Root keeps the record in trusted.* (only CAP_SYS_ADMIN may write or read it); a supervisor that
 * is not root, in a subtree delegated to it, in user.* (cgroupfs has them since Linux 5.7), which
 * the owner of the leaf may write: corrald's own user, whom its backends run as anyway. */
static void leaf_attr_name(bool privileged, const char *key, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s.%s", privileged ? "trusted" : "user", key);
}

int cgroup_leaf_set_attr(int leaf_fd, const char *key, const char *value) {
        char name[128];

        leaf_attr_name(geteuid() == 0, key, name, sizeof(name));
        return fsetxattr(leaf_fd, name, value, strlen(value), 0) < 0 ? negative_errno() : 0;
}

static int leaf_get_attr(int leaf_fd, const char *name, char **ret) {
        ssize_t n = fgetxattr(leaf_fd, name, NULL, 0);
        char *buf;

        if (n < 0)
                return negative_errno();
        buf = malloc((size_t) n + 1);
        if (!buf)
                return -ENOMEM;
        n = fgetxattr(leaf_fd, name, buf, (size_t) n);
        if (n < 0) {
                free(buf);
                return negative_errno();
        }
        buf[n] = '\0';
        *ret = buf;
        return 0;
}

int cgroup_leaf_get_attr(int leaf_fd, const char *key, char **ret) {
        bool root = geteuid() == 0;
        char name[128];
        struct stat st;
        int r;

        leaf_attr_name(root, key, name, sizeof(name));
        r = leaf_get_attr(leaf_fd, name, ret);
        /* Root also takes back what a corrald that was not root left, on a leaf only root could
         * write to (owned by root): never a record another user could have forged. */
        if (r == -ENODATA && root && fstat(leaf_fd, &st) == 0 && st.st_uid == 0) {
                leaf_attr_name(false, key, name, sizeof(name));
                r = leaf_get_attr(leaf_fd, name, ret);
        }
        return r;
}

int cgroup_leaf_open(const cgroup_root *r, const char *name, const char *launch) {
        char dir[128];
        int fd;

        (void) snprintf(dir, sizeof(dir), "%s.%s", name, launch);
        fd = openat(r->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int cgroup_watch_add(int inotify_fd, const cgroup_root *r, const char *name, const char *launch,
                     const char *file) {
        char path[4096];
        int wd;

        (void) snprintf(path, sizeof(path), "%s/%s.%s/%s", r->path, name, launch, file);
        wd = inotify_add_watch(inotify_fd, path, IN_MODIFY);
        return wd < 0 ? negative_errno() : wd;
}

void cgroup_watch_remove(int inotify_fd, int wd) {
        (void) inotify_rm_watch(inotify_fd, wd);
}
