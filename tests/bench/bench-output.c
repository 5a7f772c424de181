/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-output.c: the supervisor's memory per backend whose output ring (LogBuffer=, 1 MiB) is
 * full: written in large chunks (a flood) and one short line per read (the worst case for the
 * ring of records beside the bytes). Run as root: bench-output [BACKENDS]. */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

/* The RSS, once what reading the rings allocated for a while is given back. */
static long vm_rss_kib(void) {
        char line[256];
        long v = -1;
        FILE *f;

        (void) malloc_trim(0);
        f = fopen("/proc/self/status", "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        v = atol(line + 6);
        if (f)
                fclose(f);
        return v;
}

static void on_event(corral *c, const corral_event *ev, void *userdata) {
        if (corral_event_is_verdict(ev->type))
                (*(int *) userdata)++;
}

/* What is kept, read the way that is in every version (to compare with the one before records). */
static size_t kept(corral_backend *b, size_t *ret_lines) {
        size_t size = 0, n = 0;
        char *d = NULL;

        if (corral_backend_read_output(b, 0, &d, &size) < 0)
                return 0;
        for (size_t i = 0; i < size; i++)
                n += d[i] == '\n';
        free(d);
        *ret_lines = n;
        return size;
}

/* Run the loop until every backend has said all (its sh waits on a fifo-less sleep) or 120 s. */
/* Run the loop until every backend's kept output has want bytes, or for 300 s at most. */
static void run_until_full(corral *c, corral_backend **b, int n, size_t want) {
        time_t end = time(NULL) + 300;

        while (time(NULL) < end) {
                struct pollfd p = { .fd = corral_get_fd(c), .events = POLLIN };
                int full = 0;
                size_t lines;
                (void) poll(&p, 1, 50);
                (void) corral_dispatch(c);
                for (int i = 0; i < n; i++)
                        full += kept(b[i], &lines) >= want;
                if (full == n)
                        return;
        }
}

static int row(corral *c, const char *what, const char *script, int n, int *gone, size_t want) {
        char *argv[] = { "/bin/sh", "-c", (char *) script, NULL };
        corral_backend **b = calloc((size_t) n, sizeof(*b));
        long rss0 = vm_rss_kib(), rss1;
        size_t lines = 0, bytes = 0;
        corral_spec *s = NULL;
        int before = *gone;
        char name[32];

        if (!b || corral_spec_new(&s) < 0 || corral_spec_set_argv(s, argv) < 0)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "out%d", i);
                if (corral_spec_set_name(s, name) < 0 || corral_spawn(c, s, &b[i]) < 0)
                        return -EIO;
        }
        run_until_full(c, b, n, want);
        rss1 = vm_rss_kib();
        bytes = kept(b[0], &lines);
        printf("| %s | %d | %zu | %zu | %.0f |\n", what, n, bytes, lines, (rss1 - rss0) / (double) n);
        (void) corral_stop_all(c, 5000000);
        while (*gone < before + n) {
                struct pollfd p = { .fd = corral_get_fd(c), .events = POLLIN };
                (void) poll(&p, 1, 1000);
                (void) corral_dispatch(c);
        }
        for (int i = 0; i < n; i++)
                corral_backend_unref(b[i]);
        corral_spec_free(s);
        free(b);
        return 0;
}

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 20, gone = 0, r;
        const char *mnt = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup"
                                                                                 : "/sys/fs/cgroup/unified";
        char root[256];
        corral *c = NULL;

        snprintf(root, sizeof(root), "%s/corral-bench-output.%d", mnt, (int) getpid());
        if (mkdir(root, 0755) < 0) {
                fprintf(stderr, "bench-output: cannot create %s: %s\n", root, strerror(errno));
                return 1;
        }
        r = corral_new(&c, root, CORRAL_NEW_SUBREAPER);
        if (r >= 0) {
                corral_set_event_handler(c, on_event, &gone);
                printf("| output | backends | bytes kept (each) | lines kept (each) | supervisor RSS per "
                       "backend, KiB |\n|---|---|---|---|---|\n");
                /* 64 KiB reads of 100-byte lines */
                r = row(c, "flood (large chunks)",
                        "head -c 4000000 /dev/zero | tr '\\0' x | fold -w 99; exec sleep 1000", n, &gone,
                        (1u << 20) - 4096);
        }
        if (r >= 0) /* short lines as fast as sh writes them: reads take several */
                r = row(c, "short lines, as fast as sh writes",
                        "i=0; while [ $i -lt 60000 ]; do echo \"line $i of output\"; i=$((i+1)); done; "
                        "exec sleep 1000",
                        n, &gone, (1u << 20) - 4096);
        if (r >= 0) /* one line, then a pause: one read each, a record per 22 bytes */
                r = row(c, "one short line per read",
                        "i=0; while [ $i -lt 20000 ]; do echo \"line $i of output\"; sleep 0.001; "
                        "i=$((i+1)); "
                        "done; exec sleep 1000",
                        n, &gone, 330000);
        corral_free(c);
        (void) rmdir(root);
        if (r < 0)
                fprintf(stderr, "bench-output: %s\n", strerror(-r));
        return r < 0;
}
