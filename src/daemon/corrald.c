/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* corrald.c: the supervisor daemon: one loop, many backends, a varlink socket, systemd integration. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "corral.h"
#include "daemon-log.h"
#include "definition.h"
#include "evlog.h"
#include "fdstore.h"
#include "systemd-job.h"
#include "http.h"
#include "macro.h"
#include "methods.h"
#include "metrics.h"
#include "observers.h"
#include "parse.h"
#include "policy.h"
#include "registry.h"
#include "server.h"
#include "socket-file.h"
#include "supervisor.h"

#define DEFAULT_ADDRESS "/run/corral/io.corral.Supervisor"

typedef struct daemon_args {
        const char *address;
        const char *allow_group;
        const char *allow_user_switch; /* users the group's members may run backends as */
        const char *cgroup_root;
        mode_t socket_mode;
        unsigned max_connections;
        unsigned max_unprivileged; /* UINT_MAX: half of max_connections */
        unsigned max_per_user;
        size_t max_client_buffer;
        size_t max_total_client_buffer;
        uint64_t request_timeout;
        uint64_t idle_timeout;
        unsigned refusal_log_burst;
        uint64_t refusal_log_interval;
        size_t keep_gone;
        int own_leaf;  /* -1 auto: under systemd */
        int fd_holder; /* -1 auto: with a state directory */
        evlog_format format;
        evlog_target target;
        const char *state_dir; /* NULL: $RUNTIME_DIRECTORY under systemd, else none */
        char *definitions[17]; /* NULL-terminated */
        size_t n_definitions;
        const char *metrics_listen; /* ADDR:PORT, or NULL */
        bool metrics_allow_remote;
        const char *metrics_textfile;
} daemon_args;

typedef struct daemon_state {
        bool socket_activated;
        policy policy;
        socket_file socket; /* the one we made (not socket-activated): removed at a clean exit */
        corral *corral;
        registry *registry;
        methods methods;
        server *server;
        observers observers;
        metrics metrics;
        http_server *http; /* --metrics-listen */
        bool leaving;      /* systemd restarts us: the backends stay for the next corrald */
        systemd_job *asking;         /* PID 1's SIGTERM: whether it restarts us, asked; the answer decides */
        registry_caller term_caller; /* who sent that SIGTERM */
} daemon_state;

/* Not root: under $XDG_RUNTIME_DIR (a user manager's), as the other defaults; root's otherwise. */
static const char *default_address(void) {
        static char buf[PATH_MAX];
        const char *xdg = geteuid() != 0 ? getenv("XDG_RUNTIME_DIR") : NULL;

        if (!xdg || xdg[0] != '/' ||
            (size_t) snprintf(buf, sizeof(buf), "%s/corral/io.corral.Supervisor", xdg) >= sizeof(buf))
                return DEFAULT_ADDRESS;
        return buf;
}

/* $RUNTIME_DIRECTORY under systemd; not root without it, $XDG_RUNTIME_DIR/corral-state. */
static const char *default_state_dir(void) {
        static char buf[PATH_MAX];
        const char *xdg = geteuid() != 0 ? getenv("XDG_RUNTIME_DIR") : NULL;

        if (getenv("RUNTIME_DIRECTORY"))
                return getenv("RUNTIME_DIRECTORY");
        if (!xdg || xdg[0] != '/' || (size_t) snprintf(buf, sizeof(buf), "%s/corral-state", xdg) >= sizeof(buf))
                return NULL;
        return buf;
}

static void help(void) {
        printf("Usage: corrald [OPTIONS]\n\n"
               "Supervise backends started over varlink (io.corral.Supervisor), each in its own cgroup.\n\n"
               "  --address PATH          control socket (default $CORRAL_ADDRESS, else " DEFAULT_ADDRESS
               ";\n"
               "                          not root: $XDG_RUNTIME_DIR/corral/io.corral.Supervisor)\n"
               "  --allow-group GROUP     members may start and stop backends besides root (default "
               "corral);\n"
               "                          their backends run as themselves\n"
               "  --allow-user-switch USER,...  members may also run backends as these users\n"
               "                          ('*': any user but root; root only if named)\n"
               "  --socket-mode MODE      octal permissions of the socket it makes (default 0660)\n"
               "  --max-connections N     clients at once (default 64)\n"
               "  --max-unprivileged-connections N\n"
               "                          of them, clients neither root nor in the group (default:\n"
               "                          half of --max-connections; the others are kept for root\n"
               "                          and the group)\n"
               "  --max-connections-per-user N\n"
               "                          of those, one user's (default 8)\n"
               "  --request-timeout D     a message must arrive whole within D of its first byte\n"
               "                          (default 10s; 0: no limit)\n"
               "  --idle-timeout D        an unprivileged client with no call under way, not watching\n"
               "                          or following, is closed after D (default 1min; 0: never)\n"
               "  --max-client-buffer B   replies that may wait for a client that does not read,\n"
               "                          in bytes (K, M, G), before it is dropped (default 16M)\n"
               "  --max-total-client-buffer B\n"
               "                          replies that may wait for all clients together (default\n"
               "                          64M); past it the unprivileged client holding the most is\n"
               "                          dropped\n"
               "  --refusal-log-limit N/INTERVAL\n"
               "                          refusals, drops and time-outs logged per INTERVAL, the rest\n"
               "                          counted in one line at its end (default 10/10s; 0/0: all)\n"
               "  --cgroup-root DIR       where backends' leaf cgroups go (default: own cgroup)\n"
               "  --own-leaf yes|no|auto  move into <root>/supervisor first (auto: under systemd)\n"
               "  --definitions DIR       where NAME.backend files declare backends to run (repeatable,\n"
               "                          later ones override by name; default /etc/corral/backends.d);\n"
               "                          SIGHUP or corral daemon-reload applies what changed\n"
               "  --state-dir DIR         also keep each backend's record here, for re-adoption where\n"
               "                          empty cgroups do not last (default: $RUNTIME_DIRECTORY; not\n"
               "                          root: else $XDG_RUNTIME_DIR/corral-state)\n"
               "  --fd-holder yes|no|auto a process of ours holds the backends' pidfds and output pipes\n"
               "                          across a crash or a restart of corrald (auto: with a state\n"
               "                          directory; under systemd too, whose fd store 252 drops\n"
               "                          at a restart)\n"
               "  --keep-gone N           remember at most N backends that are gone (not declared),\n"
               "                          with their last verdict and output (default 100)\n"
               "  --metrics-listen ADDR:PORT\n"
               "                          serve GET /metrics (Prometheus, OpenMetrics) over HTTP on a\n"
               "                          loopback address such as 127.0.0.1:9464 or [::1]:9464\n"
               "  --metrics-allow-remote  let --metrics-listen use an address that is not loopback\n"
               "  --metrics-textfile PATH keep the metrics in PATH for node_exporter's textfile\n"
               "                          collector, replaced when a backend changes\n"
               "  --log-format text|logfmt|json\n"
               "                          (default: text on a terminal, coloured unless $NO_COLOR;\n"
               "                          else logfmt)\n"
               "  --log-target auto|stderr|journal (default auto: the journal under systemd)\n"
               "  -h, --help\n"
               "  --version\n");
}

static int usage(const char *fmt, ...) _printf_(1, 2);
static int usage(const char *fmt, ...) {
        va_list ap;

        fputs("corrald: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see corrald --help)\n", stderr);
        return -EINVAL;
}

/* yes 1, no 0, auto -1. */
static int parse_yes_no_auto(const char *option, const char *v, int *ret) {
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0 && strcmp(v, "auto") != 0)
                return usage("invalid %s '%s': expected yes, no or auto", option, v);
        *ret = strcmp(v, "auto") == 0 ? -1 : strcmp(v, "yes") == 0;
        return 0;
}

static int parse_count_option(const char *option, const char *v, unsigned max, unsigned *ret) {
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (*v == '\0' || *v == '-' || *end || errno != 0 || n == 0 || n > max)
                return usage("invalid %s '%s': expected 1 to %u", option, v, max);
        *ret = (unsigned) n;
        return 0;
}

static int parse_size_option(const char *option, const char *v, size_t *ret) {
        uint64_t n;

        if (parse_size(v, &n) < 0 || n < 4096 || n > (UINT64_C(1) << 32))
                return usage("invalid %s '%s': expected bytes (K, M, G), 4096 to 4G", option, v);
        *ret = (size_t) n;
        return 0;
}

static int parse_duration_option(const char *option, const char *v, uint64_t *ret) {
        if (parse_duration(v, ret) < 0)
                return usage("invalid %s '%s': expected a duration such as 10s or 1min, or 0", option, v);
        return 0;
}

/* Long options only: past any character getopt could return. */
enum {
        OPT_MAX_UNPRIVILEGED = 0x100,
        OPT_MAX_PER_USER,
        OPT_MAX_TOTAL_BUFFER,
        OPT_REQUEST_TIMEOUT,
        OPT_IDLE_TIMEOUT,
        OPT_REFUSAL_LOG_LIMIT,
        OPT_METRICS_LISTEN,
        OPT_METRICS_ALLOW_REMOTE,
        OPT_METRICS_TEXTFILE,
};

/* What a client may hold: connections, time, memory; and how often its refusals are logged. */
static int parse_limit_option(int opt, const char *v, daemon_args *a) {
        switch (opt) {
        case 'n':
                return parse_count_option("--max-connections", v, 65536, &a->max_connections);
        case OPT_MAX_UNPRIVILEGED:
                if (strcmp(v, "0") == 0) { /* no unprivileged client at all */
                        a->max_unprivileged = 0;
                        return 0;
                }
                return parse_count_option("--max-unprivileged-connections", v, 65536, &a->max_unprivileged);
        case OPT_MAX_PER_USER:
                return parse_count_option("--max-connections-per-user", v, 65536, &a->max_per_user);
        case 'b':
                return parse_size_option("--max-client-buffer", v, &a->max_client_buffer);
        case OPT_MAX_TOTAL_BUFFER:
                return parse_size_option("--max-total-client-buffer", v, &a->max_total_client_buffer);
        case OPT_REQUEST_TIMEOUT:
                return parse_duration_option("--request-timeout", v, &a->request_timeout);
        case OPT_IDLE_TIMEOUT:
                return parse_duration_option("--idle-timeout", v, &a->idle_timeout);
        case OPT_REFUSAL_LOG_LIMIT:
                if (parse_restart_limit(v, &a->refusal_log_burst, &a->refusal_log_interval) < 0 ||
                    (a->refusal_log_burst > 0 && a->refusal_log_interval == 0))
                        return usage("invalid --refusal-log-limit '%s': expected N/INTERVAL such as 10/10s, "
                                     "N from 1 to 64, or 0/0",
                                     v);
                return 0;
        }
        return usage("unknown option '%s'", v);
}

static int parse_option(int opt, const char *v, daemon_args *a) {
        char *end;
        unsigned long n;

        switch (opt) {
        case 'a':
                a->address = v;
                return 0;
        case 'g':
                a->allow_group = v;
                return 0;
        case 'u':
                a->allow_user_switch = v;
                return 0;
        case 'c':
                a->cgroup_root = v;
                return 0;
        case 'm':
                n = strtoul(v, &end, 8);
                if (*v == '\0' || *end || n > 0777)
                        return usage("invalid --socket-mode '%s': expected octal permissions such as 0660",
                                     v);
                a->socket_mode = (mode_t) n;
                return 0;
        case 'o':
                return parse_yes_no_auto("--own-leaf", v, &a->own_leaf);
        case 'f':
                if (evlog_format_from_string(v, &a->format) < 0)
                        return usage("invalid --log-format '%s': expected text, logfmt or json", v);
                return 0;
        case 'D':
                if (v[0] != '/')
                        return usage("invalid --definitions '%s': expected an absolute path", v);
                if (a->n_definitions >= ELEMENTSOF(a->definitions) - 1)
                        return usage("too many --definitions: at most %zu", ELEMENTSOF(a->definitions) - 1);
                a->definitions[a->n_definitions++] = (char *) v;
                return 0;
        case 'H':
                return parse_yes_no_auto("--fd-holder", v, &a->fd_holder);
        case 'k':
                n = strtoul(v, &end, 10);
                if (*v == '\0' || *end || *v == '-' || n > 1000000)
                        return usage("invalid --keep-gone '%s': expected 0 to 1000000", v);
                a->keep_gone = n;
                return 0;
        case 'S':
                if (v[0] != '/')
                        return usage("invalid --state-dir '%s': expected an absolute path", v);
                a->state_dir = v;
                return 0;
        case OPT_METRICS_LISTEN:
                a->metrics_listen = v;
                return 0;
        case OPT_METRICS_ALLOW_REMOTE:
                a->metrics_allow_remote = true;
                return 0;
        case OPT_METRICS_TEXTFILE:
                if (v[0] != '/')
                        return usage("invalid --metrics-textfile '%s': expected an absolute path", v);
                a->metrics_textfile = v;
                return 0;
        case 'T':
                if (strcmp(v, "auto") != 0 && strcmp(v, "stderr") != 0 && strcmp(v, "journal") != 0)
                        return usage("invalid --log-target '%s': expected auto, stderr or journal", v);
                a->target = strcmp(v, "journal") == 0 ||
                                (strcmp(v, "auto") == 0 && evlog_fd_is_journal(STDERR_FILENO))
                        ? EVLOG_TARGET_JOURNAL
                        : EVLOG_TARGET_STDERR;
                return 0;
        }
        return parse_limit_option(opt, v, a);
}

/* Each --definitions directory given must be one (a typo would declare nothing, silently); the
 * default need not exist: no backends are declared in files then. */
static int check_definition_dirs(daemon_args *a) {
        struct stat st;

        if (a->n_definitions == 0) {
                a->definitions[0] = DEFINITION_DIR_DEFAULT;
                if (stat(DEFINITION_DIR_DEFAULT, &st) < 0 && errno == ENOENT)
                        daemon_log(LOG_NOTICE, "no %s: no backends declared in files", DEFINITION_DIR_DEFAULT);
                return 0;
        }
        for (size_t i = 0; i < a->n_definitions; i++) {
                if (stat(a->definitions[i], &st) < 0)
                        return usage("--definitions %s: %s", a->definitions[i], strerror(errno));
                if (!S_ISDIR(st.st_mode))
                        return usage("--definitions %s: not a directory", a->definitions[i]);
        }
        return 0;
}

static int parse_args(int argc, char **argv, daemon_args *a) {
        static const struct option opts[] = {
                { "address", required_argument, NULL, 'a' },
                { "allow-group", required_argument, NULL, 'g' },
                { "allow-user-switch", required_argument, NULL, 'u' },
                { "cgroup-root", required_argument, NULL, 'c' },
                { "socket-mode", required_argument, NULL, 'm' },
                { "max-connections", required_argument, NULL, 'n' },
                { "max-client-buffer", required_argument, NULL, 'b' },
                { "max-unprivileged-connections", required_argument, NULL, OPT_MAX_UNPRIVILEGED },
                { "max-connections-per-user", required_argument, NULL, OPT_MAX_PER_USER },
                { "max-total-client-buffer", required_argument, NULL, OPT_MAX_TOTAL_BUFFER },
                { "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
                { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
                { "refusal-log-limit", required_argument, NULL, OPT_REFUSAL_LOG_LIMIT },
                { "own-leaf", required_argument, NULL, 'o' },
                { "log-format", required_argument, NULL, 'f' },
                { "log-target", required_argument, NULL, 'T' },
                { "definitions", required_argument, NULL, 'D' },
                { "state-dir", required_argument, NULL, 'S' },
                { "keep-gone", required_argument, NULL, 'k' },
                { "fd-holder", required_argument, NULL, 'H' },
                { "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
                { "metrics-allow-remote", no_argument, NULL, OPT_METRICS_ALLOW_REMOTE },
                { "metrics-textfile", required_argument, NULL, OPT_METRICS_TEXTFILE },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int opt, r = 0;

        *a = (daemon_args){ .address = getenv("CORRAL_ADDRESS") ?: default_address(),
                            .allow_group = "corral",
                            .socket_mode = 0660,
                            .max_connections = 64,
                            .max_unprivileged = UINT_MAX,
                            .max_per_user = 8,
                            .max_client_buffer = 16 * 1024 * 1024,
                            .max_total_client_buffer = 64 * 1024 * 1024,
                            .request_timeout = 10 * USEC_PER_SEC,
                            .idle_timeout = 60 * USEC_PER_SEC,
                            .refusal_log_burst = 10,
                            .refusal_log_interval = 10 * USEC_PER_SEC,
                            .keep_gone = REGISTRY_KEEP_GONE_DEFAULT,
                            .own_leaf = -1,
                            .fd_holder = -1,
                            .format = isatty(STDERR_FILENO) ? EVLOG_FORMAT_TEXT : EVLOG_FORMAT_LOGFMT,
                            .target = evlog_fd_is_journal(STDERR_FILENO) ? EVLOG_TARGET_JOURNAL
                                                                         : EVLOG_TARGET_STDERR };
        opterr = 0;
        while (r >= 0 && (opt = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                if (opt == 'h') {
                        help();
                        return 1;
                }
                if (opt == 'V') {
                        printf("corrald %s\n", CORRAL_VERSION);
                        return 1;
                }
                r = opt == '?' || opt == ':' ? usage("unknown or incomplete option '%s'", argv[optind - 1])
                                             : parse_option(opt, optarg, a);
        }
        if (r >= 0 && optind < argc)
                r = usage("unexpected argument '%s'", argv[optind]);
        if (a->max_unprivileged == UINT_MAX)
                a->max_unprivileged = a->max_connections / 2;
        if (r >= 0 && a->max_unprivileged > a->max_connections)
                r = usage("--max-unprivileged-connections %u is more than --max-connections %u",
                          a->max_unprivileged, a->max_connections);
        if (r >= 0)
                r = check_definition_dirs(a);
        return r;
}

static gid_t lookup_group(const char *name) {
        struct group *g = name && *name ? getgrnam(name) : NULL;

        if (!g && name && *name)
                daemon_log(LOG_NOTICE, "group %s does not exist: only root may start and stop backends",
                           name);
        return g ? g->gr_gid : (gid_t) -1;
}

static void on_library_log(corral *c, corral_level level, const char *message, void *userdata) {
        static const int prio[] = { [CORRAL_LEVEL_DEBUG] = LOG_DEBUG,
                                    [CORRAL_LEVEL_INFO] = LOG_INFO,
                                    [CORRAL_LEVEL_NOTICE] = LOG_NOTICE,
                                    [CORRAL_LEVEL_WARNING] = LOG_WARNING,
                                    [CORRAL_LEVEL_ERROR] = LOG_ERR };

        (void) daemon_log(level < ELEMENTSOF(prio) ? prio[level] : LOG_ERR, "%s", message);
}

static void on_shutdown_done(void *userdata) {
        daemon_state *d = userdata;
        (void) sd_event_exit(corral_get_event(d->corral), 0);
}

/* Stop every backend, with the intent of whoever sent the signal. */
static void daemon_stop_all(daemon_state *d, int signo, const registry_caller *caller) {
        daemon_log(LOG_INFO, "%s from pid %u: stopping %u backend(s)", strsignal(signo),
                   (unsigned) caller->pid, registry_count_running(d->registry));
        registry_shutdown(d->registry, caller, on_shutdown_done, d);
}

/* PID 1's answer to its SIGTERM: a restart (systemctl restart, a package upgrade) leaves the
 * backends, as after a crash but with nothing half done, for the next corrald to take back; a stop,
 * or no answer, stops them. */
static void on_restart_answer(int restarting, void *userdata) {
        daemon_state *d = userdata;

        d->asking = systemd_job_free(d->asking);
        if (restarting > 0) {
                daemon_log(LOG_INFO,
                           "SIGTERM from systemd for a restart: leaving %u backend(s) running for "
                           "the next corrald",
                           registry_count_running(d->registry));
                d->leaving = true;
                (void) sd_event_exit(corral_get_event(d->corral), 0);
                return;
        }
        if (restarting < 0)
                daemon_log(LOG_NOTICE, "cannot tell whether systemd restarts corrald: %s",
                           strerror(-restarting));
        daemon_stop_all(d, SIGTERM, &d->term_caller);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        daemon_state *d = userdata;
        registry_caller caller = { .uid = si->ssi_uid, .pid = (pid_t) si->ssi_pid };

        if (si->ssi_signo == SIGHUP) {
                if (!registry_shutting_down(d->registry)) {
                        registry_result res;
                        daemon_log(LOG_INFO, "SIGHUP from pid %u: reloading definitions", si->ssi_pid);
                        (void) registry_reload(d->registry, &res);
                        registry_result_done(&res);
                }
                return 0;
        }
        /* a second signal: the stop under way, or the question to PID 1, goes on */
        if (registry_shutting_down(d->registry) || d->asking)
                return 0;
        /* systemd's SIGTERM: asked on the loop, which serves the clients meanwhile */
        if (si->ssi_signo == SIGTERM && si->ssi_pid == 1) {
                int r = systemd_restarting_ask(corral_get_event(d->corral), on_restart_answer, d,
                                               &d->asking);
                if (r > 0) {
                        d->term_caller = caller;
                        return 0;
                }
                if (r < 0)
                        daemon_log(LOG_NOTICE, "cannot ask systemd whether it restarts corrald: %s",
                                   strerror(-r));
        }
        daemon_stop_all(d, (int) si->ssi_signo, &caller);
        return 0;
}

static int setup_signals(daemon_state *d) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

        (void) signal(SIGPIPE, SIG_IGN);
        return corral_add_signals(d->corral, sigs, ELEMENTSOF(sigs), on_signal, d);
}

/* The socket systemd passed (socket activation), or one of our own. */
/* The socket systemd passed (activation), else our own; the backends' fds systemd kept for us go
 * to corral for the adoption. */
static int get_listen_fd(const daemon_args *a, daemon_state *d, gid_t gid) {
        int fd = fdstore_take(d->corral);

        d->socket_activated = fd >= 0;
        if (fd >= 0 || fd == -EINVAL)
                return fd;
        fd = socket_file_listen(a->address, a->socket_mode, gid, &d->socket);
        if (fd == -EADDRINUSE)
                daemon_log(LOG_ERR, "cannot listen on %s: another corrald is serving it", a->address);
        else if (fd == -EEXIST)
                daemon_log(LOG_ERR, "cannot listen on %s: something that is not a socket is there",
                           a->address);
        else if (fd < 0)
                daemon_log(LOG_ERR, "cannot listen on %s: %s", a->address, strerror(-fd));
        return fd;
}

/* Each backend's notify socket goes beside the control socket, in <its directory>/notify: a place
 * that is the same for the corrald after us (a backend taken back keeps its $NOTIFY_SOCKET). The
 * socket systemd passed says where it is; one with no path (abstract) leaves the library its
 * private directory. */
static int set_notify_directory(const daemon_args *a, int listen_fd, bool activated, corral *c) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        _cleanup_free_ char *dir = NULL;
        const char *path = a->address, *slash;
        int r;

        if (activated) {
                if (getsockname(listen_fd, (struct sockaddr *) &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
                    len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                        return 0;
                sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
                path = sa.sun_path;
        }
        slash = strrchr(path, '/');
        if (!slash || asprintf(&dir, "%.*s/notify", (int) (slash - path), path) < 0)
                return daemon_log(LOG_ERR, "out of memory"), -ENOMEM;
        r = corral_set_notify_directory(c, dir);
        if (r < 0)
                daemon_log(LOG_ERR, "cannot use %s for the backends' notify sockets: %s", dir, strerror(-r));
        return r;
}

static int render_metrics(const char *accept, char **ret_body, size_t *ret_size,
                          const char **ret_content_type, void *userdata) {
        daemon_state *d = userdata;
        prom_format f = prom_format_from_accept(accept);

        *ret_content_type =
                f == PROM_FORMAT_OPENMETRICS ? PROM_CONTENT_TYPE_OPENMETRICS : PROM_CONTENT_TYPE_TEXT;
        return metrics_render(&d->metrics, f, true, ret_body, ret_size);
}

/* --metrics-listen and --metrics-textfile. */
static int setup_metrics(const daemon_args *a, daemon_state *d) {
        http_options ho = HTTP_OPTIONS_DEFAULT;

        ho.request_timeout_usec = a->request_timeout; /* as for the control socket */
        _cleanup_free_ char *problem = NULL;
        int r = metrics_attach(&d->metrics, corral_get_event(d->corral), d->registry, d->server), fd;

        if (r < 0)
                return daemon_log(LOG_ERR, "out of memory"), r;
        d->methods.metrics = &d->metrics;
        if (a->metrics_textfile &&
            (r = metrics_set_textfile(&d->metrics, a->metrics_textfile, &problem)) < 0)
                return daemon_log(LOG_ERR, "cannot keep metrics in %s: %s", a->metrics_textfile,
                                  problem ?: strerror(-r)),
                       r;
        if (!a->metrics_listen)
                return 0;
        fd = http_listen(a->metrics_listen, a->metrics_allow_remote, &problem);
        if (fd < 0)
                return daemon_log(LOG_ERR, "cannot serve metrics on %s: %s", a->metrics_listen,
                                  problem ?: strerror(-fd)),
                       fd;
        r = http_server_new(corral_get_event(d->corral), &ho, fd, render_metrics, d, &d->http);
        if (r < 0)
                return daemon_log(LOG_ERR, "cannot serve metrics on %s: %s", a->metrics_listen,
                                  strerror(-r)),
                       r;
        daemon_log(LOG_INFO, "serving metrics on http://%s/metrics", a->metrics_listen);
        return 0;
}

static int daemon_setup(const daemon_args *a, daemon_state *d) {
        bool under_systemd = getenv("INVOCATION_ID") != NULL;
        bool own_leaf = a->own_leaf < 0 ? under_systemd && !a->cgroup_root && !getenv("CORRAL_CGROUP_ROOT")
                                        : a->own_leaf;
        gid_t gid = lookup_group(a->allow_group);
        /* Before corral_new() raises our file limit: a backend's limits by default, and the most a
         * member of the group may ask for. */
        if (policy_init(&d->policy, a->allow_user_switch) < 0)
                return daemon_log(LOG_ERR, "out of memory"), -ENOMEM;
        server_options so = { .max_connections = a->max_connections,
                              .max_unprivileged = a->max_unprivileged,
                              .max_per_uid = a->max_per_user,
                              .max_message = 256 * 1024,
                              .max_output = a->max_client_buffer,
                              .max_total_output = a->max_total_client_buffer,
                              .request_timeout_usec = a->request_timeout,
                              .idle_timeout_usec = a->idle_timeout,
                              .log_burst = a->refusal_log_burst,
                              .log_interval_usec = a->refusal_log_interval,
                              .allow_gid = gid };
        int r, fd;

        r = corral_new(&d->corral, a->cgroup_root,
                       CORRAL_NEW_SUBREAPER | CORRAL_NEW_PERSIST | CORRAL_NEW_RAISE_NOFILE |
                               (own_leaf ? CORRAL_NEW_OWN_LEAF : 0));
        if (r < 0)
                return daemon_log(LOG_ERR, "cannot use cgroup root %s: %s",
                                  a->cgroup_root ?: getenv("CORRAL_CGROUP_ROOT") ?: "(own cgroup)", strerror(-r)),
                       r;
        corral_set_log_handler(d->corral, on_library_log, d);
        if (corral_get_fallbacks(d->corral))
                daemon_log(LOG_NOTICE, "kernel fallbacks in use: %s", corral_get_fallbacks(d->corral));
        r = registry_new(corral_get_event(d->corral), &supervisor_ops, d->corral, &d->registry);
        if (r >= 0) {
                registry_set_keep_gone(d->registry, a->keep_gone);
                r = setup_signals(d);
        }
        if (r < 0)
                return daemon_log(LOG_ERR, "cannot set up: %s", strerror(-r)), r;
        fd = get_listen_fd(a, d, gid);
        if (fd < 0)
                return fd;
        d->methods = (methods){ .registry = d->registry,
                                .policy = &d->policy,
                                .allow_group = gid == (gid_t) -1 ? NULL : a->allow_group };
        r = server_new(corral_get_event(d->corral), &so, fd, methods_dispatch, &d->methods, &d->server);
        if (r < 0)
                return daemon_log(LOG_ERR, "cannot serve %s: %s", a->address, strerror(-r)), r;
        d->observers = (observers){ .target = a->target, .format = a->format, .server = d->server };
        r = observers_attach(&d->observers, d->registry, d->corral);
        if (r < 0)
                return daemon_log(LOG_ERR, "out of memory"), r;
        r = setup_metrics(a, d);
        if (r < 0)
                return r;
        r = set_notify_directory(a, fd, d->socket_activated, d->corral);
        if (r < 0)
                return r;
        const char *state_dir = a->state_dir ?: default_state_dir();
        if (state_dir && (r = corral_set_state_directory(d->corral, state_dir)) < 0)
                return daemon_log(LOG_ERR, "cannot use state directory %s: %s", state_dir, strerror(-r)), r;
        if (a->fd_holder > 0 && !state_dir)
                return daemon_log(LOG_ERR, "--fd-holder yes needs a state directory (--state-dir)"), -EINVAL;
        /* Under systemd too: systemd 252 drops a service's fd store when it restarts it. */
        if (state_dir && a->fd_holder != 0) {
                r = fdstore_use_holder(d->corral, state_dir);
                if (r < 0) /* not fatal: output pipes then end with corrald, as without it */
                        daemon_log(LOG_WARNING, "no fd holder in %s: %s", state_dir, strerror(-r));
                else if (r > 0)
                        daemon_log(LOG_INFO, "the fd holder kept %d fd(s) of the corrald before us", r);
        }
        r = registry_adopt(d->registry); /* what a corrald before us left running */
        if (r < 0)
                return daemon_log(LOG_ERR, "cannot take back the backends under %s: %s",
                                  corral_get_cgroup_root(d->corral), strerror(-r)),
                       r;
        r = registry_set_definition_dirs(d->registry, a->definitions);
        if (r < 0)
                return daemon_log(LOG_ERR, "out of memory"), r;
        registry_result res;
        (void) registry_reload(d->registry, &res); /* the declared backends: after the adoption */
        registry_result_done(&res);
        (void) sd_event_set_watchdog(corral_get_event(d->corral), true); /* WATCHDOG=1 if WatchdogSec= */
        return 0;
}

int main(int argc, char **argv) {
        daemon_state d = { .metrics = METRICS_INIT };
        daemon_args a;
        int r = parse_args(argc, argv, &a);

        if (r != 0)
                return r < 0 ? 2 : 0;
        daemon_log_set_journal(a.target == EVLOG_TARGET_JOURNAL);
        r = daemon_setup(&a, &d);
        if (r >= 0) {
                daemon_log(LOG_INFO, "listening on %s, cgroup root %s",
                           d.socket_activated ? "the socket systemd passed" : a.address,
                           corral_get_cgroup_root(d.corral));
                (void) sd_notifyf(0, "READY=1\nSTATUS=%u backend(s) running",
                                  registry_count_running(d.registry));
                r = corral_run(d.corral);
        }
        fdstore_done(r >= 0 && !d.leaving); /* a clean end has stopped every backend: the holder may go */
        if (r >= 0 && !d.leaving)
                socket_file_remove(&d.socket); /* a crash leaves it: the next corrald replaces it */
        free(d.socket.path);
        d.asking = systemd_job_free(d.asking);
        d.http = http_server_free(d.http);
        metrics_done(&d.metrics);
        d.server = server_free(d.server);
        d.registry = registry_free(d.registry);
        d.corral = d.leaving ? corral_leave(d.corral) : corral_free(d.corral);
        policy_done(&d.policy);
        return r < 0 ? 1 : 0;
}
