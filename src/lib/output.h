/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.h: a backend's stdout and stderr: read from pipes by the loop into a bounded ring, the
 * tail of stderr kept for events, copied to a rotated file and to the journal where asked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "spawn-clone3.h"

#define OUTPUT_TAIL_SIZE 1024

/* One chunk as it was read: 12 bytes per read, whatever its size. */
typedef struct output_record {
        uint32_t len;          /* its bytes still in the ring; OUTPUT_RECORD_STDERR: read from stderr */
        uint32_t ts_lo, ts_hi; /* CLOCK_REALTIME in µs when it was read */
} output_record;
#define OUTPUT_RECORD_STDERR 0x80000000u

/* A ring of at most max bytes, allocated as it fills, and beside it the ring of the chunks they
 * came in, oldest first (rec_start, rec_len of rec_cap, at most rec_max: where more chunks come,
 * the oldest go with their bytes). The lengths of the records add up to len. */
typedef struct output_ring {
        char *buf;
        size_t cap, max, start, len;
        output_record *rec;
        size_t rec_cap, rec_max, rec_start, rec_len;
} output_ring;

/* Records per byte of the bound: 1 MiB keeps at most 16384 chunks (192 KiB of records). */
#define OUTPUT_RECORD_BYTES 64

/* The log file: opened, created and rotated with the backend's user's rights (never ours), below
 * its directory as it was opened once, following no symlink. */
typedef struct output_file {
        char *path;        /* as given, for messages */
        char *base;        /* its name in dir_fd */
        int dir_fd;        /* O_PATH, opened with no symlink followed */
        spawn_creds creds; /* whose rights it is reached with */
        bool as_user;      /* creds are set; else ours (the backend runs as we do) */
        uint64_t max_size; /* rotated beyond this: path.1 .. path.<keep> */
        unsigned keep;     /* 0: emptied instead */
        int fd;
        uint64_t size;
} output_file;

typedef struct backend_output {
        int pipe_fd[2]; /* read ends, for stdout and stderr of the current launch; -1 */
        sd_event_source *source[2];
        output_ring ring;
        char *tail; /* last bytes of stderr in this launch (OUTPUT_TAIL_SIZE): from its first, else NULL */
        size_t tail_len;
        output_file file;
        int journal_fd; /* a journald stream named after the backend, or -1 */
        sd_event_source *journal_source;
        char *pending; /* what journald has not taken yet: reading waits until it has */
        size_t pending_len;
} backend_output;

#define OUTPUT_FILE_INIT ((output_file){ .fd = -1, .dir_fd = -1 })
#define BACKEND_OUTPUT_INIT                                                                                 \
        ((backend_output){ .pipe_fd = { -1, -1 }, .file = { .fd = -1, .dir_fd = -1 }, .journal_fd = -1 })

typedef struct corral_backend corral_backend;

/* A pipe for a launch's stdout or stderr: *ret_rd non-blocking, *ret_wr >= 3 (the child's dup2
 * onto 1 and 2 never clobbers it), both close-on-exec. 0 or -errno. */
int output_pipe(int *ret_rd, int *ret_wr);

/* The ring's bound and the journal stream of the spec, for a new launch (or one taken back with
 * its pipes). */
void output_prepare(corral_backend *b);

/* A log file, opened (created 0640) as creds (NULL: as we are), never through a symlink, never a
 * FIFO or device; *f is set up for writing and rotation. 0, or -errno with *ret_what saying what
 * failed ("log file /x/y.log"). */
int output_file_open(output_file *f, const char *path, uint64_t max_size, unsigned keep,
                     const spawn_creds *creds, char **ret_what);
void output_file_done(output_file *f);

/* Watch the read ends from the loop. */
int output_attach(corral_backend *b);

/* Read whatever is left (every writer is gone once the cgroup is empty), close the pipes and the
 * log file. */
void output_drain(corral_backend *b);

/* The last lines (at most 5, and size - 1 bytes) of the n bytes at t, NUL-terminated, as valid UTF-8. */
void output_tail_lines(const char *t, size_t n, char *buf, size_t size);
/* The last lines of stderr of this launch (at most 5 and OUTPUT_TAIL_SIZE bytes), or "". */
void output_stderr_tail(const corral_backend *b, char *buf, size_t size);

/* Free everything of the output: the ring, the file, the journal stream. */
void output_done(backend_output *o);

typedef struct corral_spec corral_spec;
/* Whether captured output would go anywhere: a buffer, a file, or the journal. */
bool output_wanted(const corral_spec *s);

/* Whether the journal's stream socket is there to take output. */
bool output_journal_available(void);
