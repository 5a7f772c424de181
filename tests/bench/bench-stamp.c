/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-stamp.c: the backend of bench-spawn: statically linked, it writes its first instant
 * ("S <CLOCK_MONOTONIC ns>") to FILE, and in "exit" mode its last one ("E <ns>") just before
 * _exit(0), in "crash" mode the same before _exit(1) (bench-systemd's respawn); else it pauses. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(const char *file, char tag, const struct timespec *ts) {
        char line[64];
        int n = snprintf(line, sizeof(line), "%c %llu\n", tag,
                         (unsigned long long) ts->tv_sec * 1000000000ULL + (unsigned long long) ts->tv_nsec);
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

        if (fd >= 0) {
                (void) !write(fd, line, (size_t) n);
                close(fd);
        }
}

int main(int argc, char **argv) {
        struct timespec first, last;

        clock_gettime(CLOCK_MONOTONIC, &first); /* the first thing it does */
        if (argc < 2)
                return 2;
        stamp(argv[1], 'S', &first);
        if (argc > 2 && (strcmp(argv[2], "exit") == 0 || strcmp(argv[2], "crash") == 0)) {
                clock_gettime(CLOCK_MONOTONIC, &last);
                stamp(argv[1], 'E', &last);
                _exit(strcmp(argv[2], "crash") == 0);
        }
        for (;;)
                pause();
}
