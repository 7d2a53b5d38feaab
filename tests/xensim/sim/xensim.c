/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim lifecycle: creating a simulated domain, starting the device model
 * as a child process with the shims selected by environment, waiting for
 * it to become ready or to exit, describing what went wrong, and the
 * inspection calls of xensim.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "xenstored.h"

extern char **environ;

static xsim *current;

void xsim_log(xsim *x, const char *fmt, ...)
{
    if (!x->cfg.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("[xensim] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void xsim_set_error(xsim *x, const char *fmt, ...)
{
    if (x->error[0])
        return; /* keep the first: later ones are usually consequences */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->error, sizeof(x->error), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[xensim] error: %s\n", x->error);
}

const char *xsim_error(const xsim *x)
{
    return x->error[0] ? x->error : NULL;
}

void xsim_select(xsim *x)
{
    current = x;
}

xsim *xsim_current(void)
{
    return current;
}

const char *xsim_dir(const xsim *x)
{
    return x->dir;
}

const char *xsim_xs_socket(const xsim *x)
{
    return x->xs_path;
}

pid_t xsim_dm_pid(const xsim *x)
{
    return x->dm_pid;
}

static void on_xs_write(void *opaque, const char *path, const char *value, unsigned len)
{
    xsim *x = opaque;
    char want[96];
    snprintf(want, sizeof(want), "/local/domain/0/device-model/%u/state", x->cfg.domid);
    if (strcmp(path, want))
        return;
    pthread_mutex_lock(&x->lock);
    x->state_running = len == 7 && !memcmp(value, "running", 7);
    xsim_log(x, "xenstore: %s = %.*s", path, (int)len, value);
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
}

xsim *xsim_create(const struct xsim_config *cfg)
{
    xsim *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->cfg = *cfg;
    if (!x->cfg.ram_mb)
        x->cfg.ram_mb = 128;
    if (!x->cfg.lowmem_mb)
        x->cfg.lowmem_mb = x->cfg.ram_mb < 3840 ? x->cfg.ram_mb : 3840;
    if (!x->cfg.vcpus)
        x->cfg.vcpus = 1;
    if (!x->cfg.domid)
        x->cfg.domid = 1;
    if (!x->cfg.max_extra_pages)
        x->cfg.max_extra_pages = 65536;
    if (!x->cfg.access_timeout_ms)
        x->cfg.access_timeout_ms = 20000;
    if (getenv("XENSIM_VERBOSE"))
        x->cfg.verbose = 1;
    x->memfd = x->listen_fd = x->dm_pidfd = -1;
    x->wake_pipe[0] = x->wake_pipe[1] = -1;
    x->shutdown_reason = -1;
    for (unsigned i = 0; i < EVTCHN_MAX_PORTS; i++)
        x->port_efd[i] = -1;
    pthread_mutex_init(&x->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cond, &ca);
    pthread_condattr_destroy(&ca);
    irq_init(&x->irq);
    evtchn_init(&x->ev, deliver_port, x);
    x->debug_log = calloc(1, XSIM_DEBUG_LOG_MAX);
    if (x->cfg.vcpus > XSIM_MAX_VCPUS || x->cfg.lowmem_mb > 3840 || x->cfg.lowmem_mb > x->cfg.ram_mb ||
        !x->debug_log)
        goto fail;
    x->extra_pages = x->cfg.max_extra_pages;

    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (asprintf(&x->dir, "%s/xensim-XXXXXX", tmp) < 0 || !mkdtemp(x->dir))
        goto fail;
    if (asprintf(&x->ctl_path, "%s/ctl", x->dir) < 0 || asprintf(&x->xs_path, "%s/xs", x->dir) < 0 ||
        asprintf(&x->log_path, "%s/dm.log", x->dir) < 0)
        goto fail;
    if (mem_init(x) < 0)
        goto fail;
    x->xsd = xsd_start(x->xs_path);
    if (!x->xsd)
        goto fail;
    xsd_set_write_hook(x->xsd, on_xs_write, x);
    /* What the toolstack created for an HVM guest (libxl). */
    char path[128], val[32];
    snprintf(path, sizeof(path), "/local/domain/%u/domid", x->cfg.domid);
    snprintf(val, sizeof(val), "%u", x->cfg.domid);
    xsd_write(x->xsd, path, val, (unsigned)strlen(val));
    xsd_write(x->xsd, "/local/domain/0/domid", "0", 1);
    snprintf(path, sizeof(path), "/local/domain/0/device-model/%u", x->cfg.domid);
    xsd_mkdir(x->xsd, path);
    if (server_start(x) < 0)
        goto fail;
    current = x;
    return x;
fail:
    fprintf(stderr, "[xensim] cannot create the simulated domain: %s\n", strerror(errno));
    xsim_destroy(x);
    return NULL;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t xsim_spawn_dm(xsim *x, char *const argv[], char *const extra_env[])
{
    if (x->dm_pid > 0 && !x->dm_exited) {
        xsim_set_error(x, "a DM is already running");
        return -1;
    }
    const char *shim = x->cfg.shim_dir ? x->cfg.shim_dir : getenv("XENSIM_SHIM_DIR");
#ifdef XSIM_BUILD_SHIM_DIR
    if (!shim)
        shim = XSIM_BUILD_SHIM_DIR;
#endif
    if (!shim) {
        xsim_set_error(x, "no shim directory (set XENSIM_SHIM_DIR)");
        return -1;
    }
    /* Build the child's environment before fork: no allocation after it. */
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra_env && extra_env[m])
        m++;
    char **env = calloc(n + m + 4, sizeof(char *));
    char *ld = NULL, *sock = NULL, *xsp = NULL;
    if (!env || asprintf(&ld, "LD_LIBRARY_PATH=%s", shim) < 0 ||
        asprintf(&sock, "XENSIM_SOCKET=%s", x->ctl_path) < 0 ||
        asprintf(&xsp, "XENSTORED_PATH=%s", x->xs_path) < 0) {
        free(env);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) && strncmp(environ[i], "XENSIM_SOCKET=", 14) &&
            strncmp(environ[i], "XENSTORED_PATH=", 15))
            env[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        env[k++] = extra_env[i];
    env[k++] = ld;
    env[k++] = sock;
    env[k++] = xsp;
    env[k] = NULL;

    int logfd = open(x->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        xsim_set_error(x, "cannot create %s: %s", x->log_path, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* Die with the test if it is killed, so no DM outlives its test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execve(argv[0], argv, env);
        dprintf(2, "xensim: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    free(env);
    free(ld);
    free(sock);
    free(xsp);
    if (pid < 0)
        return -1;
    pthread_mutex_lock(&x->lock);
    if (x->dm_pidfd >= 0)
        close(x->dm_pidfd);
    x->dm_pid = pid;
    x->dm_pidfd = pidfd_open_(pid);
    x->dm_exited = false;
    x->state_running = false;
    pthread_mutex_unlock(&x->lock);
    server_wake(x);
    xsim_log(x, "spawned DM %s as pid %d", argv[0], (int)pid);
    return pid;
}

bool xsim_ready_locked(xsim *x)
{
    if (!x->state_running)
        return false;
    for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++) {
        struct xsim_server *s = &x->srv[i];
        if (!s->exists || !s->enabled)
            continue;
        bool bound = true;
        for (unsigned v = 0; v < x->cfg.vcpus; v++)
            bound = bound && x->ev.port[s->vcpu_port[v]].bound;
        if (s->bufioreq)
            bound = bound && x->ev.port[s->buf_port].bound;
        if (bound)
            return true;
    }
    return false;
}

static void deadline_in(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int xsim_wait_dm_ready(xsim *x, int timeout_ms)
{
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&x->lock);
    while (!xsim_ready_locked(x) && !x->dm_exited && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&x->cond, &x->lock, &ts);
    bool ready = xsim_ready_locked(x) && !x->dm_exited;
    bool exited = x->dm_exited;
    pthread_mutex_unlock(&x->lock);
    if (ready)
        return 0;
    xsim_set_error(x, "DM not ready: %s", exited ? "it exited" : "timed out");
    return -1;
}

int xsim_wait_dm_exit(xsim *x, int timeout_ms, int *status)
{
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&x->lock);
    while (x->dm_pid > 0 && !x->dm_exited && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&x->cond, &x->lock, &ts);
    bool exited = x->dm_exited;
    if (exited && status)
        *status = x->dm_status;
    pthread_mutex_unlock(&x->lock);
    return exited ? 0 : -1;
}

int xsim_stop_dm(xsim *x, int timeout_ms)
{
    if (x->dm_pid <= 0)
        return -1;
    int status = -1;
    if (!x->dm_exited)
        kill(x->dm_pid, SIGTERM);
    if (xsim_wait_dm_exit(x, timeout_ms, &status) < 0) {
        kill(x->dm_pid, SIGKILL);
        xsim_wait_dm_exit(x, 5000, &status);
    }
    return status;
}

const char *xsim_dm_diag(xsim *x)
{
    char head[256];
    pthread_mutex_lock(&x->lock);
    if (x->dm_pid <= 0)
        snprintf(head, sizeof(head), "no DM was started");
    else if (!x->dm_exited)
        snprintf(head, sizeof(head), "DM pid %d is still running", (int)x->dm_pid);
    else if (WIFEXITED(x->dm_status))
        snprintf(head, sizeof(head), "DM pid %d exited with status %d", (int)x->dm_pid,
                 WEXITSTATUS(x->dm_status));
    else
        snprintf(head, sizeof(head), "DM pid %d was killed by signal %d (%s)", (int)x->dm_pid,
                 WTERMSIG(x->dm_status), strsignal(WTERMSIG(x->dm_status)));
    pthread_mutex_unlock(&x->lock);
    char tail[2048] = "";
    int fd = x->log_path ? open(x->log_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        off_t end = lseek(fd, 0, SEEK_END);
        off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
        ssize_t got = pread(fd, tail, sizeof(tail) - 1, from);
        tail[got > 0 ? got : 0] = 0;
        close(fd);
    }
    snprintf(x->diag, sizeof(x->diag), "%s%s%s; last output of the DM:\n%s", head,
             x->error[0] ? "; " : "", x->error, tail[0] ? tail : "(none)\n");
    return x->diag;
}

void xsim_destroy(xsim *x)
{
    if (!x)
        return;
    if (x->dm_pid > 0 && !x->dm_exited) {
        if (x->thread_running) {
            xsim_stop_dm(x, 5000);
        } else {
            kill(x->dm_pid, SIGKILL);
            waitpid(x->dm_pid, NULL, 0);
        }
    }
    server_stop(x);
    rom_free(x);
    if (x->xsd)
        xsd_stop(x->xsd);
    for (int h = 0; h < XSIM_MAX_EV_HANDLES; h++)
        if (x->evh[h].used)
            close(x->evh[h].pipe_w);
    for (unsigned i = 0; i < EVTCHN_MAX_PORTS; i++)
        if (x->port_efd[i] >= 0)
            close(x->port_efd[i]);
    for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++)
        if (x->srv[i].exists)
            for (int t = 0; t < 3; t++)
                rangeset_destroy(&x->srv[i].ranges[t]);
    if (x->dm_pidfd >= 0)
        close(x->dm_pidfd);
    mem_fini(x);
    irq_destroy(&x->irq);
    if (x->dir && !getenv("XENSIM_KEEP")) {
        char *paths[] = {x->ctl_path, x->xs_path, x->log_path};
        for (unsigned i = 0; i < 3; i++)
            if (paths[i])
                unlink(paths[i]);
        rmdir(x->dir);
    }
    free(x->dir);
    free(x->ctl_path);
    free(x->xs_path);
    free(x->log_path);
    free(x->debug_log);
    if (current == x)
        current = NULL;
    free(x);
}

/* ---- inspection ---------------------------------------------------------- */

/* CPU time of all the DM's threads, in ns (schedstat: ns, not clock ticks). */
static uint64_t dm_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    uint64_t sum = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char p2[400];
        snprintf(p2, sizeof(p2), "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(p2, "r");
        unsigned long long ns = 0;
        if (f) {
            if (fscanf(f, "%llu", &ns) == 1)
                sum += ns;
            fclose(f);
        }
    }
    closedir(d);
    return sum;
}

static void read_proc(pid_t pid, uint64_t *cpu_ns, uint64_t *rss_kb)
{
    char path[64], buf[256];
    *cpu_ns = dm_cpu_ns(pid);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(buf, sizeof(buf), f))
            if (!strncmp(buf, "VmRSS:", 6))
                *rss_kb = strtoull(buf + 6, NULL, 10);
        fclose(f);
    }
}

void xsim_stats(xsim *x, struct xsim_stats *st)
{
    pthread_mutex_lock(&x->lock);
    *st = x->stats;
    pid_t pid = x->dm_exited ? 0 : x->dm_pid;
    pthread_mutex_unlock(&x->lock);
    if (pid > 0)
        read_proc(pid, &st->dm_cpu_ns, &st->dm_rss_kb);
}

void xsim_stats_reset(xsim *x)
{
    pthread_mutex_lock(&x->lock);
    memset(&x->stats, 0, sizeof(x->stats));
    pthread_mutex_unlock(&x->lock);
}

uint64_t xsim_lat_percentile(const struct xsim_stats *st, double pct)
{
    if (!st->lat_count)
        return 0;
    uint64_t want = (uint64_t)((double)st->lat_count * pct / 100.0);
    if (want >= st->lat_count)
        want = st->lat_count - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < XSIM_LAT_BUCKETS; b++) {
        seen += st->lat_hist[b];
        if (seen > want) {
            /* upper edge of bucket b: 2^((b+1)/4) */
            unsigned e = (b + 1) / 4, q = (b + 1) % 4;
            uint64_t base = 1ULL << e;
            return base + (base * q) / 4;
        }
    }
    return ~0ULL;
}

int xsim_shutdown_reason(xsim *x)
{
    pthread_mutex_lock(&x->lock);
    int r = x->shutdown_reason;
    pthread_mutex_unlock(&x->lock);
    return r;
}

int xsim_restricted(xsim *x)
{
    pthread_mutex_lock(&x->lock);
    int r = x->restricted;
    pthread_mutex_unlock(&x->lock);
    return r;
}

unsigned xsim_nr_ioreq_servers(xsim *x)
{
    unsigned n = 0;
    pthread_mutex_lock(&x->lock);
    for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++)
        n += x->srv[i].exists;
    pthread_mutex_unlock(&x->lock);
    return n;
}

uint64_t xsim_hvm_param(xsim *x, unsigned index)
{
    if (index >= HVM_NR_PARAMS)
        return 0;
    pthread_mutex_lock(&x->lock);
    uint64_t v = x->hvm_param[index];
    pthread_mutex_unlock(&x->lock);
    return v;
}

const char *xsim_debug_log(xsim *x)
{
    return x->debug_log;
}

const char *xsim_enosys_log(xsim *x)
{
    return x->enosys_log;
}

char *xsim_xs_read(xsim *x, const char *path)
{
    return xsd_read(x->xsd, path, NULL);
}

int xsim_xs_write(xsim *x, const char *path, const char *value)
{
    return xsd_write(x->xsd, path, value, (unsigned)strlen(value));
}

int xsim_link_route(xsim *x, unsigned link)
{
    return irq_route(&x->irq, link);
}

int xsim_send_timeoffset(xsim *x, int64_t offset)
{
    return ioreq_broadcast(x, IOREQ_TYPE_TIMEOFFSET, (uint64_t)offset, true);
}

int xsim_invalidate_mapcache(xsim *x)
{
    return ioreq_broadcast(x, IOREQ_TYPE_INVALIDATE, ~0ULL, false);
}
