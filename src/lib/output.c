/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.c: a backend's stdout and stderr: read from pipes by the loop into a bounded ring, the
 * tail of stderr kept for events, copied to a rotated file and to the journal where asked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "corral-private.h"
#include "creds.h"
#include "fileio.h"
#include "macro.h"
#include "output.h"
#include "safepath.h"
#include "utf8.h"

#define OUTPUT_CHUNK     (64 * 1024)
#define TAIL_LINES       5

static output_record *rec_at(const output_ring *r, size_t i) {
        return &r->rec[(r->rec_start + i) % r->rec_cap];
}

static size_t rec_size(const output_record *x) {
        return x->len & ~OUTPUT_RECORD_STDERR;
}

/* The oldest n bytes go, and the records (or the part of the oldest) they were. */
static void ring_drop(output_ring *r, size_t n) {
        r->start = (r->start + n) % r->cap;
        r->len -= n;
        while (n > 0 && r->rec_len > 0) {
                output_record *x = rec_at(r, 0);
                if (rec_size(x) > n) {
                        x->len -= (uint32_t) n;
                        return;
                }
                n -= rec_size(x);
                r->rec_start = (r->rec_start + 1) % r->rec_cap;
                r->rec_len--;
        }
}

/* Room for one record more: the ring of records grows (doubling) up to rec_max, and beyond it
 * the oldest chunk goes with its bytes. false if there is none (out of memory at the start). */
static bool rec_reserve(output_ring *r) {
        if (r->rec_len < r->rec_cap)
                return true;
        if (r->rec_cap < r->rec_max) {
                size_t cap = r->rec_cap ? r->rec_cap * 2 : 64;
                output_record *v;
                cap = cap > r->rec_max ? r->rec_max : cap;
                v = malloc(cap * sizeof(*v));
                if (v) {
                        for (size_t i = 0; i < r->rec_len; i++)
                                v[i] = *rec_at(r, i);
                        free(r->rec);
                        r->rec = v;
                        r->rec_cap = cap;
                        r->rec_start = 0;
                        return true;
                }
        }
        if (r->rec_len == 0)
                return false;
        ring_drop(r, rec_size(rec_at(r, 0)));
        return true;
}

/* Bytes grow (doubling) while the ring is still small: the old content first, oldest at 0. */
static void ring_grow(output_ring *r, size_t n) {
        size_t cap = r->cap ? r->cap : 4096;
        char *b;

        if (r->len + n <= r->cap || r->cap >= r->max)
                return;
        while (cap < r->len + n && cap < r->max)
                cap *= 2;
        cap = cap > r->max ? r->max : cap;
        b = malloc(cap);
        if (!b)
                return;
        for (size_t i = 0; i < r->len; i++)
                b[i] = r->buf[(r->start + i) % r->cap];
        free(r->buf);
        r->buf = b;
        r->cap = cap;
        r->start = 0;
}

/* One chunk, read from stream (0 stdout, 1 stderr) at ts: its bytes and its record. */
static void ring_append(output_ring *r, int stream, uint64_t ts, const char *p, size_t n) {
        output_record *x;

        if (r->max == 0 || n == 0)
                return;
        if (n >= r->max) { /* only the newest max bytes can stay */
                p += n - r->max;
                n = r->max;
        }
        r->rec_max = r->max / OUTPUT_RECORD_BYTES > 64 ? r->max / OUTPUT_RECORD_BYTES : 64;
        ring_grow(r, n);
        if (r->cap == 0 || !rec_reserve(r))
                return;
        if (n > r->cap) {
                p += n - r->cap;
                n = r->cap;
        }
        if (r->len + n > r->cap)
                ring_drop(r, r->len + n - r->cap);
        for (size_t i = 0; i < n; i++) /* simple, and memcpy-speed is not the bottleneck of a pipe */
                r->buf[(r->start + r->len + i) % r->cap] = p[i];
        r->len += n;
        x = rec_at(r, r->rec_len++);
        *x = (output_record){ .len = (uint32_t) n | (stream ? OUTPUT_RECORD_STDERR : 0),
                              .ts_lo = (uint32_t) ts,
                              .ts_hi = (uint32_t) (ts >> 32) };
}

/* The tail is allocated by the first stderr it keeps: most backends never write any. */
static void tail_append(backend_output *o, const char *p, size_t n) {
        if (!o->tail && !(o->tail = malloc(OUTPUT_TAIL_SIZE)))
                return; /* only the failure message's last lines are lost */
        if (n >= OUTPUT_TAIL_SIZE) {
                memcpy(o->tail, p + n - OUTPUT_TAIL_SIZE, OUTPUT_TAIL_SIZE);
                o->tail_len = OUTPUT_TAIL_SIZE;
                return;
        }
        if (o->tail_len + n > OUTPUT_TAIL_SIZE) {
                size_t drop = o->tail_len + n - OUTPUT_TAIL_SIZE;
                memmove(o->tail, o->tail + drop, o->tail_len - drop);
                o->tail_len -= drop;
        }
        memcpy(o->tail + o->tail_len, p, n);
        o->tail_len += n;
}

/* The file below its directory, with the rights it is reached with; O_APPEND, created 0640. */
static int file_open(output_file *f) {
        creds_fs_saved saved;
        struct stat st;
        int r = creds_fs_enter(f->as_user ? &f->creds : NULL, &saved);

        if (r < 0)
                return r;
        f->fd = safepath_open_regular_at(f->dir_fd, f->base, O_WRONLY | O_APPEND | O_CREAT, 0640);
        creds_fs_leave(&saved);
        if (f->fd < 0)
                return f->fd;
        f->size = fstat(f->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
        return 0;
}

/* path.(keep-1) -> path.keep, ..., path -> path.1 (the oldest is overwritten), as its user, in
 * the directory it was opened in. Where that user may not rename there, or none is to be kept,
 * the file is emptied instead: it never grows past its bound. */
static void file_rotate(output_file *f) {
        char from[300], to[300];
        creds_fs_saved saved;
        int r = f->keep == 0 ? -ENOSPC : creds_fs_enter(f->as_user ? &f->creds : NULL, &saved);

        for (int i = (int) f->keep - 1; r >= 0 && i >= 0; i--) {
                if (i == 0)
                        (void) snprintf(from, sizeof(from), "%s", f->base);
                else
                        (void) snprintf(from, sizeof(from), "%s.%d", f->base, i);
                (void) snprintf(to, sizeof(to), "%s.%d", f->base, i + 1);
                if (renameat(f->dir_fd, from, f->dir_fd, to) < 0 && i == 0 && errno != ENOENT)
                        r = -errno;
        }
        if (f->keep > 0)
                creds_fs_leave(&saved);
        if (r < 0 && ftruncate(f->fd, 0) == 0) {
                f->size = 0;
                return;
        }
        f->fd = safe_close(f->fd); /* reopened (created anew) by the next write */
}

/* How much of p fits in what is left of the file: up to its last full line that fits, else as
 * much as fits; all of it into an empty file whose limit is smaller than one line. */
static size_t file_room(const output_file *f, const char *p, size_t n) {
        size_t room = f->max_size > f->size ? (size_t) (f->max_size - f->size) : 0;

        if (n <= room)
                return n;
        for (size_t i = room; i > 0; i--)
                if (p[i - 1] == '\n')
                        return i;
        return f->size == 0 ? (room ? room : n) : 0;
}

/* A failure to write the file loses file output only; it is tried again at the next chunk. */
static void file_write(output_file *f, const char *p, size_t n) {
        bool rotated = false;

        while (f->dir_fd >= 0 && n > 0) {
                size_t part;
                ssize_t k;
                if (f->fd < 0 && file_open(f) < 0)
                        return;
                part = file_room(f, p, n);
                if (part == 0 && rotated) /* rotating made no room: this chunk is not for the file */
                        return;
                if (part == 0) {
                        file_rotate(f);
                        rotated = true;
                        continue;
                }
                k = write(f->fd, p, part);
                if (k <= 0)
                        return;
                rotated = false;
                f->size += (uint64_t) k;
                p += k;
                n -= (size_t) k;
        }
}

static int output_on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void output_pause(corral_backend *b, bool pause) {
        for (int i = 0; i < 2; i++)
                if (b->out.source[i])
                        (void) sd_event_source_set_enabled(b->out.source[i],
                                                           pause ? SD_EVENT_OFF : SD_EVENT_ON);
}

/* Write what journald has not taken; 1 if everything is out, 0 if it must wait, -errno. */
static int journal_flush(backend_output *o) {
        while (o->pending_len > 0) {
                ssize_t k = write(o->journal_fd, o->pending, o->pending_len);
                if (k < 0 && errno == EAGAIN)
                        return 0;
                if (k <= 0)
                        return -EPIPE;
                memmove(o->pending, o->pending + k, o->pending_len - (size_t) k);
                o->pending_len -= (size_t) k;
        }
        return 1;
}

static void journal_close(backend_output *o) {
        o->journal_source = sd_event_source_disable_unref(o->journal_source);
        o->journal_fd = safe_close(o->journal_fd);
        o->pending = mfree(o->pending);
        o->pending_len = 0;
}

static int output_on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        corral_backend *b = userdata;
        int r = journal_flush(&b->out);

        if (r == 0)
                return 0;
        if (r < 0) /* journald went away: output still reaches the ring and the file */
                journal_close(&b->out);
        else
                (void) sd_event_source_set_enabled(b->out.journal_source, SD_EVENT_OFF);
        output_pause(b, false);
        return 0;
}

/* A slow journald slows the backend, as if it wrote there itself: reading stops until it is
 * caught up. Nothing is dropped and nothing grows. */
static void journal_write(corral_backend *b, const char *p, size_t n) {
        backend_output *o = &b->out;
        char *q;

        if (o->journal_fd < 0)
                return;
        q = realloc(o->pending, o->pending_len + n);
        if (!q)
                return;
        memcpy(q + o->pending_len, p, n);
        o->pending = q;
        o->pending_len += n;
        if (journal_flush(o) != 0)
                return;
        if (!o->journal_source &&
            sd_event_add_io(b->corral->event, &o->journal_source, o->journal_fd, EPOLLOUT, output_on_journal,
                            b) < 0)
                return journal_close(o);
        (void) sd_event_source_set_enabled(o->journal_source, SD_EVENT_ON);
        output_pause(b, true);
}

static void output_take(corral_backend *b, int stream, const char *p, size_t n) {
        corral *c = b->corral;
        uint64_t ts = now_usec(CLOCK_REALTIME);

        ring_append(&b->out.ring, stream, ts, p, n);
        if (stream == 1)
                tail_append(&b->out, p, n);
        file_write(&b->out.file, p, n);
        journal_write(b, p, n);
        if (c && c->output_handler)
                c->output_handler(c, b, stream ? CORRAL_STREAM_STDERR : CORRAL_STREAM_STDOUT, ts, p, n,
                                  c->output_userdata);
}

static void output_close_stream(corral_backend *b, int i) {
        b->out.source[i] = sd_event_source_disable_unref(b->out.source[i]);
        b->out.pipe_fd[i] = safe_close(b->out.pipe_fd[i]);
}

/* One chunk per wake-up, so that a flood from one backend cannot starve the others. */
static int output_read(corral_backend *b, int i) {
        static char buf[OUTPUT_CHUNK];
        ssize_t n = read(b->out.pipe_fd[i], buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                output_close_stream(b, i);
                return -EPIPE;
        }
        output_take(b, i, buf, (size_t) n);
        return 1;
}

static int output_on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        corral_backend *b = userdata;

        (void) output_read(b, fd == b->out.pipe_fd[0] ? 0 : 1);
        return 0;
}

bool output_journal_available(void) {
        return access("/run/systemd/journal/stdout", F_OK) == 0;
}

static void output_journal_open(corral_backend *b) {
        int fd;

        if (b->out.journal_fd >= 0 || !b->spec->log_journal || !output_journal_available())
                return;
        fd = sd_journal_stream_fd(b->name, LOG_INFO, 0);
        if (fd < 0)
                return; /* output still reaches the ring and the file */
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        b->out.journal_fd = fd;
}

int output_pipe(int *ret_rd, int *ret_wr) {
        int p[2], wr;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        wr = p[1] >= 3 ? p[1] : fcntl(p[1], F_DUPFD_CLOEXEC, 3);
        if (wr != p[1])
                safe_close(p[1]);
        if (wr < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
                safe_close(p[0]);
                safe_close(wr);
                return -EMFILE;
        }
        *ret_rd = p[0];
        *ret_wr = wr;
        return 0;
}

void output_prepare(corral_backend *b) {
        backend_output *o = &b->out;

        o->ring.max = b->spec->log_buffer;
        o->tail_len = 0;
        output_journal_open(b);
}

void output_file_done(output_file *f) {
        f->fd = safe_close(f->fd);
        f->dir_fd = safe_close(f->dir_fd);
        f->path = mfree(f->path);
        f->base = mfree(f->base);
        creds_done(&f->creds);
        f->as_user = false;
}

/* Its directory, as its user: a symlink there is refused, not followed. */
static int file_open_dir(output_file *f) {
        creds_fs_saved saved;
        int r = creds_fs_enter(f->as_user ? &f->creds : NULL, &saved);

        if (r < 0)
                return r;
        r = safepath_open_parent(f->path, &f->base);
        creds_fs_leave(&saved);
        if (r < 0)
                return r;
        f->dir_fd = r;
        return 0;
}

int output_file_open(output_file *f, const char *path, uint64_t max_size, unsigned keep,
                     const spawn_creds *creds, char **ret_what) {
        int r;

        output_file_done(f);
        f->max_size = max_size;
        f->keep = keep;
        f->path = strdup(path);
        r = !f->path ? -ENOMEM : creds ? creds_copy(creds, &f->creds) : 0;
        f->as_user = creds && r >= 0;
        if (r >= 0)
                r = file_open_dir(f);
        if (r >= 0)
                r = file_open(f);
        if (r < 0) {
                if (asprintf(ret_what, "log file %s%s", path,
                             r == -ELOOP    ? " (a symlink on its path: none is followed)"
                             : r == -EINVAL ? " (not a regular file)"
                                            : "") < 0)
                        *ret_what = NULL;
                output_file_done(f);
        }
        return r;
}

int output_attach(corral_backend *b) {
        for (int i = 0; i < 2; i++) {
                int r;
                if (b->out.pipe_fd[i] < 0)
                        continue;
                r = sd_event_add_io(b->corral->event, &b->out.source[i], b->out.pipe_fd[i], EPOLLIN,
                                    output_on_pipe, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

void output_drain(corral_backend *b) {
        for (int i = 0; i < 2; i++) {
                while (b->out.pipe_fd[i] >= 0 && output_read(b, i) > 0)
                        ;
                output_close_stream(b, i);
        }
        if (b->out.journal_fd >= 0 && b->out.pending_len > 0) { /* the last words, blocking briefly */
                (void) fcntl(b->out.journal_fd, F_SETFL, fcntl(b->out.journal_fd, F_GETFL) & ~O_NONBLOCK);
                (void) journal_flush(&b->out);
                (void) fcntl(b->out.journal_fd, F_SETFL, fcntl(b->out.journal_fd, F_GETFL) | O_NONBLOCK);
                b->out.journal_source = sd_event_source_disable_unref(b->out.journal_source);
        }
        output_file_done(&b->out.file); /* the launch's output is all in: a next launch opens it again */
}

void output_stderr_tail(const corral_backend *b, char *buf, size_t size) {
        output_tail_lines(b->out.tail ?: "", b->out.tail_len, buf, size);
}

void output_tail_lines(const char *t, size_t n, char *buf, size_t size) {
        const char *start;
        size_t lines = 0;

        while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r'))
                n--;
        start = t + n;
        while (start > t && lines < TAIL_LINES) {
                start--;
                if (*start == '\n' && ++lines == TAIL_LINES) {
                        start++;
                        break;
                }
        }
        n -= (size_t) (start - t);
        if (n >= size)
                start += n - (size - 1), n = size - 1;
        memcpy(buf, start, n);
        buf[n] = '\0';
        utf8_sanitize(buf, n); /* a cut may have split a character; JSON needs valid UTF-8 */
}

void output_done(backend_output *o) {
        for (int i = 0; i < 2; i++) {
                o->source[i] = sd_event_source_disable_unref(o->source[i]);
                o->pipe_fd[i] = safe_close(o->pipe_fd[i]);
        }
        journal_close(o);
        output_file_done(&o->file);
        free(o->ring.buf);
        free(o->ring.rec);
        free(o->tail);
        *o = BACKEND_OUTPUT_INIT;
}

/* The lines of the ring, rebuilt from its records: each stream's bytes are cut at its own
 * newlines, so that a line one stream wrote in parts is whole however the other came between. */
typedef struct line_builder {
        corral_output_line *v; /* data is an offset into text until the end */
        size_t n;
        char *text;
        size_t size;
        struct {
                char *p;
                size_t n;
                uint64_t ts;
        } pend[2];
} line_builder;

static void builder_emit(line_builder *lb, int s, bool partial) {
        lb->v[lb->n++] = (corral_output_line){ .ts_usec = lb->pend[s].ts,
                                               .stream = s ? CORRAL_STREAM_STDERR : CORRAL_STREAM_STDOUT,
                                               .partial = partial,
                                               .data = (const char *) (uintptr_t) lb->size,
                                               .size = lb->pend[s].n };
        memcpy(lb->text + lb->size, lb->pend[s].p, lb->pend[s].n);
        lb->size += lb->pend[s].n;
        lb->pend[s].n = 0;
}

/* The bytes of record i (at offset off of the ring) go to their stream's line; each newline ends it. */
static void builder_take(line_builder *lb, const output_ring *r, const output_record *x, size_t off) {
        int s = !!(x->len & OUTPUT_RECORD_STDERR);

        lb->pend[s].ts = (uint64_t) x->ts_hi << 32 | x->ts_lo;
        for (size_t i = 0; i < rec_size(x); i++) {
                char c = r->buf[(r->start + off + i) % r->cap];
                if (c == '\n')
                        builder_emit(lb, s, false);
                else
                        lb->pend[s].p[lb->pend[s].n++] = c;
        }
}

static int builder_run(line_builder *lb, const output_ring *r) {
        size_t lines = 2, off = 0;

        for (size_t i = 0; i < r->len; i++)
                lines += r->buf[(r->start + i) % r->cap] == '\n';
        lb->v = malloc(lines * sizeof(*lb->v));
        lb->text = malloc(r->len + 1);
        lb->pend[0].p = malloc(r->len + 1);
        lb->pend[1].p = malloc(r->len + 1);
        if (!lb->v || !lb->text || !lb->pend[0].p || !lb->pend[1].p)
                return -ENOMEM;
        for (size_t i = 0; i < r->rec_len; i++) {
                builder_take(lb, r, rec_at(r, i), off);
                off += rec_size(rec_at(r, i));
        }
        int s = lb->pend[1].n && (!lb->pend[0].n || lb->pend[1].ts < lb->pend[0].ts);
        if (lb->pend[s].n) /* what is not ended yet, the older first */
                builder_emit(lb, s, true);
        if (lb->pend[!s].n)
                builder_emit(lb, !s, true);
        return 0;
}

static void builder_done(line_builder *lb) {
        free(lb->v);
        free(lb->text);
        free(lb->pend[0].p);
        free(lb->pend[1].p);
}

/* Lines first..n of lb, as one block: the array, then their bytes. */
static int builder_take_result(line_builder *lb, size_t first, corral_output_line **ret, size_t *ret_n) {
        size_t k = lb->n - first, bytes = 0;
        corral_output_line *v;
        char *t;

        for (size_t i = first; i < lb->n; i++)
                bytes += lb->v[i].size;
        v = malloc(k * sizeof(*v) + bytes + 1);
        if (!v)
                return -ENOMEM;
        t = (char *) (v + k);
        for (size_t i = 0; i < k; i++) {
                v[i] = lb->v[first + i];
                memcpy(t, lb->text + (uintptr_t) v[i].data, v[i].size);
                v[i].data = t;
                t += v[i].size;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

int corral_backend_read_output_lines(corral_backend *b, unsigned lines, uint64_t since_usec,
                                     corral_output_line **ret, size_t *ret_n) {
        line_builder lb = {};
        size_t first = 0;
        int r;

        if (!b || !ret || !ret_n)
                return -EINVAL;
        r = builder_run(&lb, &b->out.ring);
        while (r >= 0 && first < lb.n && lb.v[first].ts_usec < since_usec)
                first++;
        if (r >= 0 && lines > 0 && lb.n - first > lines)
                first = lb.n - lines;
        if (r >= 0)
                r = builder_take_result(&lb, first, ret, ret_n);
        builder_done(&lb);
        return r;
}

/* The last `lines` lines (0: all of them), each ended by a newline but the last if it is not yet. */
int corral_backend_read_output(corral_backend *b, unsigned lines, char **ret, size_t *ret_size) {
        corral_output_line *v = NULL;
        size_t n = 0, size = 0;
        char *out;
        int r;

        if (!b || !ret || !ret_size)
                return -EINVAL;
        r = corral_backend_read_output_lines(b, lines, 0, &v, &n);
        if (r < 0)
                return r;
        out = malloc(b->out.ring.len + n + 1);
        if (!out) {
                free(v);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                memcpy(out + size, v[i].data, v[i].size);
                size += v[i].size;
                if (!v[i].partial || i + 1 < n)
                        out[size++] = '\n';
        }
        out[size] = '\0';
        free(v);
        *ret = out;
        *ret_size = size;
        return 0;
}

void corral_set_output_handler(corral *c, corral_output_handler_t handler, void *userdata) {
        c->output_handler = handler;
        c->output_userdata = userdata;
}

bool output_wanted(const corral_spec *s) {
        return s->log_buffer > 0 || s->log_file || (s->log_journal && output_journal_available());
}
