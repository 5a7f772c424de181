/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse.c: parsing and naming of durations, signals and backend names. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "macro.h"
#include "parse.h"
#include "strv.h"

#define NAME_MAX_LEN 64

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        { "us", 1 },
        { "usec", 1 },
        { "ms", USEC_PER_MSEC },
        { "msec", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "seconds", USEC_PER_SEC },
        { "m", 60 * USEC_PER_SEC },
        { "min", 60 * USEC_PER_SEC },
        { "minute", 60 * USEC_PER_SEC },
        { "minutes", 60 * USEC_PER_SEC },
        { "h", 3600 * USEC_PER_SEC },
        { "hr", 3600 * USEC_PER_SEC },
        { "hour", 3600 * USEC_PER_SEC },
        { "hours", 3600 * USEC_PER_SEC },
        { "d", 86400 * USEC_PER_SEC },
        { "day", 86400 * USEC_PER_SEC },
        { "days", 86400 * USEC_PER_SEC },
};

static int duration_unit(const char *s, size_t n, uint64_t *ret) {
        if (n == 0) { /* no unit: seconds */
                *ret = USEC_PER_SEC;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                if (strlen(duration_units[i].suffix) == n && strncmp(duration_units[i].suffix, s, n) == 0) {
                        *ret = duration_units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

/* One "<number>[.<fraction>]<unit>" term; advances *p. */
static int duration_term(const char **p, uint64_t *ret) {
        const char *s = *p, *u;
        uint64_t whole = 0, unit, frac_usec = 0, scale;
        int r;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t) (*s - '0');
        }
        const char *frac = NULL;
        if (*s == '.') {
                frac = ++s;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                while (isdigit((unsigned char) *s))
                        s++;
        }
        for (u = s; isalpha((unsigned char) *s); s++)
                ;
        r = duration_unit(u, (size_t) (s - u), &unit);
        if (r < 0)
                return r;
        if (whole > UINT64_MAX / unit)
                return -ERANGE;
        /* The fraction is exact to the microsecond; digits below that are dropped. */
        scale = unit;
        for (const char *f = frac; f && isdigit((unsigned char) *f); f++) {
                scale /= 10;
                frac_usec += (uint64_t) (*f - '0') * scale;
        }
        if (whole * unit > UINT64_MAX - frac_usec)
                return -ERANGE;
        *ret = whole * unit + frac_usec;
        *p = s;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0, v;
        int r, terms = 0;

        if (!s)
                return -EINVAL;
        for (;;) {
                while (*s == ' ')
                        s++;
                if (*s == '\0')
                        break;
                r = duration_term(&s, &v);
                if (r < 0)
                        return r;
                if (total > UINT64_MAX - 1 - v) /* UINT64_MAX is reserved for "infinity" */
                        return -ERANGE;
                total += v;
                terms++;
        }
        if (terms == 0)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

const char *signal_to_name(int sig) {
        static char buf[16];
        const char *abbrev;

        if (sig <= 0 || sig >= NSIG)
                return NULL;
        abbrev = sigabbrev_np(sig);
        if (!abbrev)
                return NULL;
        (void) snprintf(buf, sizeof(buf), "SIG%s", abbrev);
        return buf;
}

int parse_signal(const char *s) {
        char *end;
        long n;

        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char) *s)) {
                errno = 0;
                n = strtol(s, &end, 10);
                if (errno != 0 || *end != '\0' || n <= 0 || n >= NSIG || !sigabbrev_np((int) n))
                        return -EINVAL;
                return (int) n;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *a = sigabbrev_np(sig);
                if (a && strcasecmp(a, s) == 0)
                        return sig;
        }
        return -EINVAL;
}

static bool name_char_ok(char c) {
        return isascii((unsigned char) c) && (isalnum((unsigned char) c) || strchr("_.@-", c));
}

bool name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > NAME_MAX_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char_ok(s[i]))
                        return false;
        return true;
}

char *name_from_string(const char *s, char *buf, size_t size) {
        size_t n = 0;

        for (; s && *s && n < NAME_MAX_LEN && n + 1 < size; s++)
                buf[n++] = name_char_ok(*s) ? *s : '_';
        buf[n] = '\0';
        if (n == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
                (void) snprintf(buf, size, "backend");
        return buf;
}

int parse_restart_limit(const char *s, unsigned *ret_burst, uint64_t *ret_window_usec) {
        const char *slash = s ? strchr(s, '/') : NULL;
        unsigned long n;
        uint64_t w;
        char *end;
        int r;

        if (!slash || slash == s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        n = strtoul(s, &end, 10);
        if (errno != 0 || end != slash)
                return -EINVAL;
        if (n > 64)
                return -ERANGE;
        r = parse_duration(slash + 1, &w);
        if (r < 0)
                return r;
        if (n > 0 && w == 0)
                return -EINVAL;
        *ret_burst = (unsigned) n;
        *ret_window_usec = w;
        return 0;
}

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        { "as", RLIMIT_AS },           { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
        { "data", RLIMIT_DATA },       { "fsize", RLIMIT_FSIZE },       { "locks", RLIMIT_LOCKS },
        { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
        { "nofile", RLIMIT_NOFILE },   { "nproc", RLIMIT_NPROC },       { "rss", RLIMIT_RSS },
        { "rtprio", RLIMIT_RTPRIO },   { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
        { "stack", RLIMIT_STACK },
};

static int rlimit_value(const char *s, size_t len, uint64_t *ret) {
        char buf[32], *end;
        unsigned long long v;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (strcmp(buf, "infinity") == 0) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        if (!isdigit((unsigned char) buf[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_rlimit(const char *s, int *ret_resource, uint64_t *ret_soft, uint64_t *ret_hard) {
        const char *eq = s ? strchr(s, '=') : NULL, *colon;
        uint64_t soft, hard;
        int resource = -1;

        if (!eq)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
                if (strlen(rlimit_names[i].name) == (size_t) (eq - s) &&
                    strncasecmp(rlimit_names[i].name, s, (size_t) (eq - s)) == 0)
                        resource = rlimit_names[i].resource;
        colon = strchr(eq + 1, ':');
        if (resource < 0 ||
            rlimit_value(eq + 1, colon ? (size_t) (colon - eq - 1) : strlen(eq + 1), &soft) < 0)
                return -EINVAL;
        hard = soft;
        if (colon && rlimit_value(colon + 1, strlen(colon + 1), &hard) < 0)
                return -EINVAL;
        if (soft > hard)
                return -EINVAL;
        *ret_resource = resource;
        *ret_soft = soft;
        *ret_hard = hard;
        return 0;
}

/* Digits, then nothing but what *ret_end points at. */
static int parse_u64_prefix(const char *s, uint64_t *ret, const char **ret_end) {
        uint64_t v = 0;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        *ret_end = s;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const char suffixes[] = "KMGT";
        const char *end, *suffix;
        uint64_t v, mult = 1;
        int r;

        if (s && strcmp(s, "infinity") == 0) {
                *ret_bytes = UINT64_MAX;
                return 0;
        }
        r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        if (*end) {
                suffix = strchr(suffixes, toupper((unsigned char) *end));
                if (!suffix || end[1] != '\0')
                        return -EINVAL;
                mult = 1ULL << (10 * (suffix - suffixes + 1));
        }
        if (v > (UINT64_MAX - 1) / mult)
                return -ERANGE;
        *ret_bytes = v * mult;
        return 0;
}

int parse_count(const char *s, uint64_t *ret) {
        const char *end;
        uint64_t v;
        int r;

        if (s && strcmp(s, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        if (*end || v == UINT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_cpu_quota(const char *s, uint64_t *ret_quota_usec, uint64_t *ret_period_usec) {
        const char *end;
        uint64_t pct;
        int r = parse_u64_prefix(s, &pct, &end);

        if (r < 0)
                return r;
        if (strcmp(end, "%") != 0 || pct == 0)
                return -EINVAL;
        if (pct > 1000000) /* 10,000 CPUs */
                return -ERANGE;
        *ret_quota_usec = pct * 1000; /* pct% of 100 ms */
        *ret_period_usec = 100 * USEC_PER_MSEC;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "true", "on" },
                                 *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; s && i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

int parse_umask(const char *s, unsigned *ret) {
        unsigned long m;
        char *end;

        if (!s || *s < '0' || *s > '7')
                return -EINVAL;
        errno = 0;
        m = strtoul(s, &end, 8);
        if (errno != 0 || *end || m > 0777)
                return -EINVAL;
        *ret = (unsigned) m;
        return 0;
}

static bool command_prefix_char(char ch) {
        return ch && strchr("-@+!:", ch) != NULL;
}

int parse_command_line(const char *line, char ***ret_argv, bool *ret_ignore_failure,
                       char ret_prefix[static 8]) {
        char **argv = NULL;
        size_t n = 0;
        int k = strv_split_quoted(line, &argv);

        ret_prefix[0] = '\0';
        if (k < 0)
                return k == -ENOMEM ? k : -EBADMSG;
        if (k == 0 || !argv[0]) {
                strv_free(argv);
                return -ENODATA;
        }
        while (n < 7 && command_prefix_char(argv[0][n]))
                n++;
        memcpy(ret_prefix, argv[0], n);
        ret_prefix[n] = '\0';
        if (n > 1 || (n == 1 && argv[0][0] != '-')) {
                strv_free(argv);
                return -EPROTONOSUPPORT;
        }
        for (char **w = argv + 1; *w; w++)
                if (strcmp(*w, ";") == 0) {
                        strv_free(argv);
                        return -ENOTUNIQ;
                }
        if (n == 1)
                memmove(argv[0], argv[0] + 1, strlen(argv[0]));
        if (!argv[0][0]) { /* "-" alone */
                strv_free(argv);
                return -ENODATA;
        }
        *ret_ignore_failure = n == 1;
        *ret_argv = argv;
        return 0;
}
