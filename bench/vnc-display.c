/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/vnc-display: what a VNC user of a device model gets, xendm against
 * Debian's qemu-xen, both started with the same argv on xensim
 * (-vnc 127.0.0.1:D -device VGA,vgamem_mb=16) and driven by the same guest
 * and the same libvncclient viewers in one invocation, alternating round by
 * round (medians reported, with ratios xendm / qemu-xen):
 *
 *  1. full-screen changes: the guest sets Bochs VBE 1920x1080x32 and
 *     rewrites its whole framebuffer, alternating two patterns that differ
 *     in every pixel, each as soon as every viewer has the previous one.
 *     A frame counts when a viewer's framebuffer equals the new pattern in
 *     every pixel (checked at the end of each FramebufferUpdate message).
 *     Viewers request incremental updates (libvncclient does after each
 *     update) in the guest's pixel format (32 bpp, depth 24, x8r8g8b8) with
 *     one encoding (--encoding, default raw).  They connect one after the
 *     other, each once it has a frame drawn after it connected (see
 *     viewers_start()).  Frames/s and DM CPU time per frame (/proc/PID/stat
 *     utime+stime, all threads, exited ones too), with 1 and with 8
 *     viewers, and this process's CPU per frame (viewers, guest, xensim);
 *  2. idle: a static 1080p screen, 8 viewers connected, --idle-seconds
 *     (default 60) after a 1 s settle: DM CPU time (sum of the threads'
 *     schedstat, ns; stat's 10 ms ticks are too coarse here) and wake-ups
 *     per second (voluntary + involuntary context switches of all threads);
 *  3. start-up: spawn to the first accepted TCP connect and to the RFB
 *     banner on it (a prober thread retries every 250 us), and RSS / PSS
 *     (/proc/PID/smaps_rollup) with one viewer connected after phase 1;
 *  5. a stalled viewer: one raw-socket client completes the handshake,
 *     sends one non-incremental FramebufferUpdateRequest and never reads
 *     again.  With and without it, a normal viewer's frames/s (as in 1)
 *     and the latency of the guest's port reads (inw 0x10, the Xen
 *     platform device, one per millisecond on another thread) from
 *     xensim's round-trip histogram; for reference, the same reads for
 *     secs / 2 with a static screen.
 * (Benchmark 4, dirty detection inside xendm, is bench/fb-dirty.)
 *
 * Usage: vnc-display [--rounds N] [--seconds S] [--idle-seconds S]
 *                    [--encoding ENC] [DM ...]
 *   DM: "qemu" ($QEMU_XEN or Debian's) or a path to xendm; default qemu
 *   and ./xendm (or $XENDM).  TCP ports 5980-5989 (displays 80-89).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include "bench/common.h"
#include "tests/common/dm.h"
#include "tests/common/rfb-peer.h"

#define W                  1920
#define H                  1080
#define FB_BYTES           ((size_t)W * H * 4)
#define BASE_DISPLAY       80 /* ports 5980-5989 */
#define MAX_DMS            2
#define MAX_ROUNDS         15
#define MANY_VIEWERS       8
#define FRAME_TIMEOUT_MS   30000 /* one frame to every viewer */
#define CONNECT_TIMEOUT_MS 30000
#define IOREQ_PERIOD_US    1000 /* the latency probe's pace in phase 5 */
#define FIRST_FRAME_MS     5000 /* a new viewer's first frame, or it is replaced */
#define MAX_REPLACED       20

/* ------------------------------------------------------------ helpers --- */

/* --------------------------------------------------------- the picture -- */

/* The two full-screen patterns (bench_patterns()), x8r8g8b8. */
static uint32_t *pat[2];

/* The frame the guest is showing (or about to); its pattern is pat[k & 1]. */
static atomic_int target = -1;
static pthread_mutex_t frame_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t frame_cond = PTHREAD_COND_INITIALIZER;

/* ------------------------------------------------------------ viewers --- */

struct viewer {
    int port;
    const char *encoding;
    pthread_t th;
    atomic_int stop;
    /* under frame_lock */
    int state; /* 0 connecting, 1 connected, -1 failed, 2 closed */
    int done;  /* last frame seen complete */
};

static int viewer_tag;

static void quiet_log(const char *fmt, ...) {}

/* Do the viewer's pixels equal the pattern?  The padding byte is not
 * compared: libvncclient's ZRLE decoder leaves garbage in it. */
static bool frame_equal(const uint32_t *got, const uint32_t *want)
{
    if ((got[W * H - 1] ^ want[W * H - 1]) & 0xffffff)
        return false; /* the common case: the update is not complete yet */
    for (unsigned y = 0; y < H; y++) {
        uint32_t diff = 0;
        for (unsigned x = 0; x < W; x++)
            diff |= got[y * W + x] ^ want[y * W + x];
        if (diff & 0xffffff)
            return false;
    }
    return true;
}

/* End of a FramebufferUpdate message: is the whole new frame here? */
static void viewer_finished(rfbClient *rc)
{
    struct viewer *v = rfbClientGetClientData(rc, &viewer_tag);
    int k = atomic_load(&target);
    if (k < 0 || k == v->done || rc->width != W || rc->height != H)
        return;
    const uint32_t *want = pat[k & 1], *got = (const uint32_t *)rc->frameBuffer;
    if (!frame_equal(got, want))
        return;
    pthread_mutex_lock(&frame_lock);
    v->done = k;
    pthread_cond_broadcast(&frame_cond);
    pthread_mutex_unlock(&frame_lock);
}

static void viewer_set_state(struct viewer *v, int s)
{
    pthread_mutex_lock(&frame_lock);
    v->state = s;
    pthread_cond_broadcast(&frame_cond);
    pthread_mutex_unlock(&frame_lock);
}

static void *viewer_main(void *p)
{
    struct viewer *v = p;
    rfbClient *rc = rfbGetClient(8, 3, 4);
    /* the guest's own format, x8r8g8b8 little-endian */
    rc->format.redShift = 16;
    rc->format.greenShift = 8;
    rc->format.blueShift = 0;
    free(rc->serverHost);
    rc->serverHost = strdup("127.0.0.1");
    rc->serverPort = v->port;
    rc->appData.shareDesktop = TRUE;
    rc->appData.encodingsString = v->encoding;
    rc->appData.enableJPEG = FALSE;
    rc->appData.useRemoteCursor = FALSE;
    rc->FinishedFrameBufferUpdate = viewer_finished;
    rc->connectTimeout = CONNECT_TIMEOUT_MS / 1000;
    rc->readTimeout = FRAME_TIMEOUT_MS / 1000; /* seconds; a stuck read ends the viewer */
    rfbClientSetClientData(rc, &viewer_tag, v);
    if (!rfbInitClient(rc, NULL, NULL)) {
        viewer_set_state(v, -1); /* rfbInitClient freed rc */
        return NULL;
    }
    viewer_set_state(v, 1);
    while (!atomic_load(&v->stop)) {
        int n = WaitForMessage(rc, 100000);
        if (n < 0 || (n > 0 && !HandleRFBServerMessage(rc)))
            break;
    }
    viewer_set_state(v, 2);
    free(rc->frameBuffer);
    rfbClientCleanup(rc);
    return NULL;
}

/* Start viewer i and wait until it is past the handshake (or failed). */
static int viewer_start(struct viewer *v, int port, const char *encoding)
{
    memset(v, 0, sizeof(*v));
    v->port = port;
    v->encoding = encoding;
    v->done = -1;
    pthread_create(&v->th, NULL, viewer_main, v);
    pthread_mutex_lock(&frame_lock);
    while (v->state == 0)
        pthread_cond_wait(&frame_cond, &frame_lock); /* bounded: connectTimeout */
    int s = v->state;
    pthread_mutex_unlock(&frame_lock);
    return s == 1 ? 0 : -1;
}

static void viewers_stop(struct viewer *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        atomic_store(&v[i].stop, 1);
    for (unsigned i = 0; i < n; i++)
        pthread_join(v[i].th, NULL);
}

/* Wait until every viewer has frame k complete.  0, or -1 on timeout or
 * when a viewer failed or was disconnected. */
static int viewers_wait(struct viewer *v, unsigned n, int k, int timeout_ms)
{
    struct timespec end;
    bench_deadline(&end, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&frame_lock);
    for (;;) {
        bool all = true;
        for (unsigned i = 0; i < n; i++) {
            if (v[i].state < 0 || v[i].state == 2)
                rc = -1;
            if (v[i].done < k)
                all = false;
        }
        if (all || rc < 0)
            break;
        if (pthread_cond_timedwait(&frame_cond, &frame_lock, &end) == ETIMEDOUT) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&frame_lock);
    return rc;
}

/* ------------------------------------------------------------ the guest -- */

struct dm_ctx {
    const char *name; /* "qemu-xen" or "xendm" */
    struct dm_run run;
    int port;
    uint32_t *lfb;               /* the guest's view of the VBE linear framebuffer */
    int k;                       /* frame shown */
    unsigned connects, replaced; /* viewers: connected; never served, replaced */
};

/* Firmware PCI set-up, then 1920x1080x32 through Bochs VBE, unblanked. */
static int guest_set_mode(struct dm_ctx *c)
{
    c->lfb = bench_vga_mode("vnc-display", c->run.x, W, H);
    c->k = -1;
    return c->lfb ? 0 : -1;
}

/* The guest draws frame k: plain stores into the framebuffer (no ioreqs). */
static void guest_show(struct dm_ctx *c, int k)
{
    atomic_store(&target, k);
    memcpy(c->lfb, pat[k & 1], FB_BYTES);
    c->k = k;
}

/*
 * Connect n viewers one after the other, each once the previous one has a
 * frame the guest drew after it connected:
 *  - qemu-xen listens with a backlog of 1: simultaneous connects overflow
 *    it, and the lost ones wait for SYN-ACK retransmits (tens of seconds);
 *  - qemu-xen sometimes never serves a new viewer at all (a black
 *    full-screen update, then nothing, whatever the guest draws).  Such a
 *    viewer is replaced, and counted in c->replaced.
 */
static int viewers_start(struct dm_ctx *c, struct viewer *v, unsigned n, const char *encoding)
{
    for (unsigned i = 0; i < n; i++) {
        for (;;) {
            if (viewer_start(&v[i], c->port, encoding) < 0) {
                fprintf(stderr, "vnc-display: %s: viewer %u could not connect\n", c->name, i);
                viewers_stop(v, i + 1);
                return -1;
            }
            c->connects++;
            guest_show(c, c->k + 1);
            if (viewers_wait(v, i + 1, c->k, FIRST_FRAME_MS) == 0)
                break;
            bool old_ok = viewers_wait(v, i, c->k, 0) == 0;
            viewers_stop(&v[i], 1);
            if (!old_ok || ++c->replaced > MAX_REPLACED) {
                fprintf(stderr, "vnc-display: %s: %s did not get frame %d; %s\n", c->name,
                        old_ok ? "too many new viewers" : "an earlier viewer", c->k,
                        xsim_dm_diag(c->run.x));
                viewers_stop(v, i);
                return -1;
            }
        }
    }
    return 0;
}

/* Draw frames as fast as the viewers take them for `secs`; frames/s, DM
 * CPU (stat) per frame in ms, and this process's (viewers, guest, xensim). */
static int run_frames(struct dm_ctx *c, struct viewer *v, unsigned n, double secs, double *fps,
                      double *cpu_ms, double *self_ms)
{
    pid_t pid = xsim_dm_pid(c->run.x);
    /* every viewer has the current picture (viewers_start), then two
     * warm-up frames */
    for (int i = 0; i < 2; i++) {
        guest_show(c, c->k + 1);
        if (viewers_wait(v, n, c->k, FRAME_TIMEOUT_MS) < 0)
            goto fail;
    }
    double cpu0 = bench_proc_cpu_ns(pid), self0 = bench_proc_cpu_ns(getpid()), t0 = bench_now_ns(),
           t;
    int k0 = c->k;
    do {
        guest_show(c, c->k + 1);
        if (viewers_wait(v, n, c->k, FRAME_TIMEOUT_MS) < 0)
            goto fail;
        t = bench_now_ns();
    } while (t - t0 < secs * 1e9);
    double frames = c->k - k0, cpu = bench_proc_cpu_ns(pid) - cpu0;
    *fps = frames / ((t - t0) / 1e9);
    *cpu_ms = cpu / 1e6 / frames;
    if (self_ms)
        *self_ms = (bench_proc_cpu_ns(getpid()) - self0) / 1e6 / frames;
    return 0;
fail:
    fprintf(stderr, "vnc-display: %s: frame %d did not reach all %u viewers:", c->name, c->k, n);
    pthread_mutex_lock(&frame_lock);
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, " [viewer %u: state %d, frame %d]", i, v[i].state, v[i].done);
    pthread_mutex_unlock(&frame_lock);
    fprintf(stderr, "; %s\n", xsim_dm_diag(c->run.x));
    return -1;
}

/* ----------------------------------------------------------- start-up --- */

struct prober {
    int port;
    double t0, t_connect, t_banner; /* 0: never */
    atomic_int stop;
};

/* Connect until the port accepts and the RFB banner arrives. */
static void *prober_main(void *p)
{
    struct prober *pr = p;
    while (!atomic_load(&pr->stop) && bench_now_ns() - pr->t0 < CONNECT_TIMEOUT_MS * 1e6) {
        int s = rfbp_connect(pr->port, 0);
        if (s >= 0) {
            char banner[12];
            if (!pr->t_connect)
                pr->t_connect = bench_now_ns();
            bool ok = rfbp_read(s, banner, sizeof(banner), 5000);
            close(s);
            if (ok && !memcmp(banner, "RFB 003.00", 10)) {
                pr->t_banner = bench_now_ns();
                return NULL;
            }
        }
        usleep(250);
    }
    return NULL;
}

/* dm_start()'s argv, spawned here so the clock starts at the spawn. */
static int start_dm(struct dm_ctx *c, const char *path, double *connect_ms, double *start_ms)
{
    char vnc[32];
    snprintf(vnc, sizeof(vnc), "127.0.0.1:%d", c->port - 5900);
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run *run = &c->run;
    memset(run, 0, sizeof(*run));
    run->x = xsim_create(&cfg);
    if (!run->x)
        return -1;
    run->qmp_path = g_strdup_printf("%s/qmp.sock", xsim_dir(run->x));
    char *chardev =
        g_strdup_printf("socket,id=libxl-cmd,path=%s,server=on,wait=off", run->qmp_path);
    char *const argv[] = {(char *)path, "-xen-domid",
                          "1",          "-machine",
                          "xenfv",      "-m",
                          "128",        "-nodefaults",
                          "-display",   "none",
                          "-chardev",   chardev,
                          "-mon",       "chardev=libxl-cmd,mode=control",
                          "-vnc",       vnc,
                          "-serial",    "null",
                          "-device",    "VGA,vgamem_mb=16",
                          NULL};
    struct prober pr = {.port = c->port};
    pthread_t th;
    pr.t0 = bench_now_ns();
    pthread_create(&th, NULL, prober_main, &pr);
    pid_t pid = xsim_spawn_dm(run->x, argv, NULL);
    g_free(chardev);
    GError *err = NULL;
    if (pid < 0 || xsim_wait_dm_ready(run->x, 30000) < 0) {
        fprintf(stderr, "vnc-display: %s did not become ready: %s\n", path, xsim_dm_diag(run->x));
        goto fail;
    }
    run->qmp = qmp_connect(run->qmp_path, 10000, &err);
    if (!run->qmp) {
        fprintf(stderr, "vnc-display: %s: QMP: %s; %s\n", path, err->message, xsim_dm_diag(run->x));
        g_error_free(err);
        goto fail;
    }
    pthread_join(th, NULL);
    if (!pr.t_banner) {
        fprintf(stderr, "vnc-display: %s never accepted a VNC connection on port %d\n", path,
                c->port);
        dm_stop(run);
        return -1;
    }
    *start_ms = (pr.t_banner - pr.t0) / 1e6;
    *connect_ms = (pr.t_connect - pr.t0) / 1e6;
    return 0;
fail:
    atomic_store(&pr.stop, 1);
    pthread_join(th, NULL);
    dm_stop(run);
    return -1;
}

/* ------------------------------------------------------ stalled viewer --- */

/* RFB 3.8 handshake with security None, shared; one full update request;
 * returns the socket, never to be read again. */
static int stalled_viewer(int port)
{
    struct rfbp_server_init si;
    const char *why;
    int s = rfbp_connect(port, 0);
    if (s < 0)
        return -1;
    struct pollfd p = {.fd = s, .events = POLLIN};
    /* then: the server started answering (not read: this viewer is stalled) */
    if (!rfbp_handshake(s, &si, 5000, &why) || !rfbp_update_request(s, false, 0, 0, si.w, si.h) ||
        poll(&p, 1, 5000) != 1) {
        close(s);
        return -1;
    }
    return s;
}

/* The guest's other vCPU work: paced port reads of the platform device. */
struct prober_io {
    pthread_t th;
    atomic_int stop;
    atomic_int bad;
};

static void *ioreq_main(void *p)
{
    struct prober_io *io = p;
    while (!atomic_load(&io->stop)) {
        if (guest_inw(0x10) != 0x49d2)
            atomic_store(&io->bad, 1);
        usleep(IOREQ_PERIOD_US);
    }
    return NULL;
}

/* Frames to one viewer while the ioreq thread runs (v NULL: no frames, for
 * secs / 2); latency p50/p99 in us. */
static int run_frames_with_ioreqs(struct dm_ctx *c, struct viewer *v, double secs, double *fps,
                                  double *p50, double *p99)
{
    struct prober_io io = {0};
    struct xsim_stats s0, s1;
    double cpu_ms;
    xsim_stats(c->run.x, &s0);
    pthread_create(&io.th, NULL, ioreq_main, &io);
    int rc = 0;
    if (v)
        rc = run_frames(c, v, 1, secs, fps, &cpu_ms, NULL);
    else
        bench_sleep_s(secs / 2);
    atomic_store(&io.stop, 1);
    pthread_join(io.th, NULL);
    xsim_stats(c->run.x, &s1);
    if (atomic_load(&io.bad)) {
        fprintf(stderr, "vnc-display: %s: bad platform magic: %s\n", c->name,
                xsim_dm_diag(c->run.x));
        return -1;
    }
    for (unsigned b = 0; b < XSIM_LAT_BUCKETS; b++)
        s1.lat_hist[b] -= s0.lat_hist[b];
    s1.lat_count -= s0.lat_count;
    *p50 = (double)xsim_lat_percentile(&s1, 50) / 1e3;
    *p99 = (double)xsim_lat_percentile(&s1, 99) / 1e3;
    return rc;
}

/* ------------------------------------------------------------- rounds --- */

struct result {
    double connect_ms, start_ms, rss_kb, pss_kb;
    double fps1, cpu1, self1, fps8, cpu8, self8;
    double st_fps0, st_fps1, st_p50_0, st_p50_1, st_p99_0, st_p99_1;
    double io_p50, io_p99; /* the same port reads, static screen (no frames) */
    bool st_kept;          /* the stalled viewer was still connected at the end */
    double idle_cpu_ms, idle_wakeups;
    unsigned connects, replaced; /* viewer connections; never served, replaced */
};

struct opts {
    unsigned rounds;
    double secs, idle_secs;
    const char *encoding;
};

/* Benchmarks 1, 3 and 5 on one DM instance. */
static int round_active(const char *dm, int port, const struct opts *o, struct result *r)
{
    struct dm_ctx c = {.name = bench_dm_name(dm), .port = port};
    const char *path = bench_dm_path("vnc-display", dm);
    struct viewer v[MANY_VIEWERS];
    int rc = -1;
    if (!path || start_dm(&c, path, &r->connect_ms, &r->start_ms) < 0)
        return -1;
    if (guest_set_mode(&c) < 0) {
        fprintf(stderr, "vnc-display: %s: setting 1920x1080x32 failed: %s\n", c.name,
                xsim_dm_diag(c.run.x));
        goto out;
    }
    guest_show(&c, 0);

    /* 1 viewer; memory while it is connected */
    if ((rc = viewers_start(&c, v, 1, o->encoding)) < 0)
        goto out;
    rc = run_frames(&c, v, 1, o->secs, &r->fps1, &r->cpu1, &r->self1);
    bench_proc_mem(xsim_dm_pid(c.run.x), &r->rss_kb, &r->pss_kb);
    viewers_stop(v, 1);
    if (rc < 0)
        goto out;

    /* 8 viewers */
    if ((rc = viewers_start(&c, v, MANY_VIEWERS, o->encoding)) < 0)
        goto out;
    rc = run_frames(&c, v, MANY_VIEWERS, o->secs, &r->fps8, &r->cpu8, &r->self8);
    viewers_stop(v, MANY_VIEWERS);
    if (rc < 0)
        goto out;

    /* one viewer and the guest's port I/O, without then with a stalled viewer */
    if ((rc = viewers_start(&c, v, 1, o->encoding)) < 0)
        goto out;
    rc = run_frames_with_ioreqs(&c, NULL, o->secs, NULL, &r->io_p50, &r->io_p99);
    if (rc == 0)
        rc = run_frames_with_ioreqs(&c, v, o->secs, &r->st_fps0, &r->st_p50_0, &r->st_p99_0);
    if (rc == 0) {
        int s = stalled_viewer(port);
        if (s < 0) {
            fprintf(stderr, "vnc-display: %s: the stalled viewer's handshake failed\n", c.name);
            rc = -1;
        } else {
            rc = run_frames_with_ioreqs(&c, v, o->secs, &r->st_fps1, &r->st_p50_1, &r->st_p99_1);
            /* did the server keep it, or disconnect it (CLOSE_WAIT here)? */
            struct tcp_info ti;
            socklen_t len = sizeof(ti);
            r->st_kept = getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
                         ti.tcpi_state == TCP_ESTABLISHED;
            close(s);
        }
    }
    viewers_stop(v, 1);
out:
    r->connects += c.connects;
    r->replaced += c.replaced;
    if (xsim_error(c.run.x)) {
        fprintf(stderr, "vnc-display: %s: %s\n", c.name, xsim_dm_diag(c.run.x));
        rc = -1;
    }
    dm_stop(&c.run);
    return rc;
}

/* Benchmark 2 on a fresh DM instance. */
static int round_idle(const char *dm, int port, const struct opts *o, struct result *r)
{
    struct dm_ctx c = {.name = bench_dm_name(dm), .port = port};
    const char *path = bench_dm_path("vnc-display", dm);
    struct viewer v[MANY_VIEWERS];
    double connect_ms, start_ms;
    int rc = -1;
    if (!path || start_dm(&c, path, &connect_ms, &start_ms) < 0)
        return -1;
    if (guest_set_mode(&c) < 0)
        goto out;
    guest_show(&c, 0);
    if (viewers_start(&c, v, MANY_VIEWERS, o->encoding) < 0)
        goto out;
    sleep(1); /* settle: the last update is out; no condition to wait for */
    pid_t pid = xsim_dm_pid(c.run.x);
    double cpu0, sw0, cpu1, sw1, t0 = bench_now_ns();
    bench_proc_threads(pid, &cpu0, &sw0);
    bench_sleep_s(o->idle_secs);
    bench_proc_threads(pid, &cpu1, &sw1);
    double secs = (bench_now_ns() - t0) / 1e9;
    r->idle_cpu_ms = (cpu1 - cpu0) / 1e6;
    r->idle_wakeups = (sw1 - sw0) / secs;
    rc = 0;
    /* every viewer still connected and on the same frame */
    if (viewers_wait(v, MANY_VIEWERS, c.k, 1000) < 0) {
        fprintf(stderr, "vnc-display: %s: a viewer left during the idle phase\n", c.name);
        rc = -1;
    }
    viewers_stop(v, MANY_VIEWERS);
out:
    r->connects += c.connects;
    r->replaced += c.replaced;
    dm_stop(&c.run);
    return rc;
}

/* ------------------------------------------------------------- report --- */

#define FIELD(name) offsetof(struct result, name)
struct row {
    const char *label;
    size_t off;
};

static double med_of(struct result res[][MAX_ROUNDS], unsigned d, unsigned rounds, size_t off)
{
    return bench_median_at(res[d], sizeof(res[d][0]), rounds, off);
}

static void table(const char *title, const struct row *rows, size_t nrows,
                  struct result res[][MAX_ROUNDS], const char *const *names, unsigned ndm,
                  unsigned rounds)
{
    printf("\n%s\n", title);
    bench_row_names(44, names, ndm, 12);
    for (size_t k = 0; k < nrows; k++) {
        double m[MAX_DMS];
        for (unsigned d = 0; d < ndm; d++)
            m[d] = med_of(res, d, rounds, rows[k].off);
        bench_row(rows[k].label, 44, m, ndm, 12, 2);
    }
}

/* Within one DM: stalled / not stalled. */
static void table_stall(struct result res[][MAX_ROUNDS], const char *const *names, unsigned ndm,
                        unsigned rounds)
{
    static const struct {
        const char *label;
        size_t off0, off1;
    } rows[] = {
        {"viewer frames/s", FIELD(st_fps0), FIELD(st_fps1)},
        {"guest port read p50 (us)", FIELD(st_p50_0), FIELD(st_p50_1)},
        {"guest port read p99 (us)", FIELD(st_p99_0), FIELD(st_p99_1)},
    };
    printf("\n5. one stalled viewer (1 normal viewer, guest port reads every %u us)\n",
           IOREQ_PERIOD_US);
    printf("%-28s", "");
    for (unsigned d = 0; d < ndm; d++)
        printf(" %10s %10s %8s", names[d], "stalled", "ratio");
    printf("\n");
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
        printf("%-28s", rows[k].label);
        for (unsigned d = 0; d < ndm; d++) {
            double a = med_of(res, d, rounds, rows[k].off0),
                   b = med_of(res, d, rounds, rows[k].off1);
            printf(" %10.2f %10.2f %7.2fx", a, b, b / a);
        }
        printf("\n");
    }
    for (int q = 0; q < 2; q++) {
        printf("%-28s", q ? "  p99, static screen" : "  p50, static screen");
        for (unsigned d = 0; d < ndm; d++)
            printf(" %10.2f %10s %8s", med_of(res, d, rounds, q ? FIELD(io_p99) : FIELD(io_p50)),
                   "", "");
        printf("\n");
    }
    printf("%-28s", "stalled viewer kept (rounds)");
    for (unsigned d = 0; d < ndm; d++) {
        unsigned kept = 0;
        for (unsigned r = 0; r < rounds; r++)
            kept += res[d][r].st_kept;
        printf(" %10s %7u/%-2u %8s", "", kept, rounds, "");
    }
    printf("\n");
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "Usage: %s [--rounds N] [--seconds S] [--idle-seconds S] [--encoding ENC] "
            "[qemu|PATH-TO-XENDM ...]\n"
            "  --rounds N        rounds of benchmarks 1, 3, 5, DMs alternating (default 3)\n"
            "  --seconds S       length of each frame-rate phase (default 4)\n"
            "  --idle-seconds S  length of the idle phase, run once per DM (default 60; 0 skips)\n"
            "  --encoding ENC    the viewers' encoding: raw, zrle, hextile, zlib, tight (default "
            "raw)\n",
            prog);
}

int main(int argc, char **argv)
{
    struct opts o = {.rounds = 3, .secs = 4, .idle_secs = 60, .encoding = "raw"};
    static const struct option lopts[] = {{"rounds", 1, 0, 'r'},       {"seconds", 1, 0, 's'},
                                          {"idle-seconds", 1, 0, 'i'}, {"encoding", 1, 0, 'e'},
                                          {"help", 0, 0, 'h'},         {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "r:s:i:e:h", lopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            o.rounds = (unsigned)atoi(optarg);
            break;
        case 's':
            o.secs = atof(optarg);
            break;
        case 'i':
            o.idle_secs = atof(optarg);
            break;
        case 'e':
            o.encoding = optarg;
            break;
        default:
            usage(opt == 'h' ? stdout : stderr, argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (o.rounds < 1 || o.rounds > MAX_ROUNDS || o.secs <= 0 || o.idle_secs < 0) {
        fprintf(stderr, "vnc-display: rounds 1-%d, seconds > 0, idle-seconds >= 0\n", MAX_ROUNDS);
        return 2;
    }
    const char *dms[MAX_DMS], *names[MAX_DMS];
    unsigned ndm = bench_dm_list(argc, argv, optind, dms, MAX_DMS);
    for (unsigned d = 0; d < ndm; d++)
        names[d] = bench_dm_name(dms[d]);
    rfbClientLog = quiet_log;
    bench_patterns(pat, W, H);

    static struct result res[MAX_DMS][MAX_ROUNDS];
    for (unsigned r = 0; r < o.rounds; r++)
        for (unsigned d = 0; d < ndm; d++) {
            fprintf(stderr, "vnc-display: round %u/%u, %s\n", r + 1, o.rounds, names[d]);
            if (round_active(dms[d], 5900 + BASE_DISPLAY + (int)d, &o, &res[d][r]) == 0)
                continue;
            /* a failure is reported above; one retry, so that a hiccup of
             * the shared machine does not lose the whole run */
            fprintf(stderr, "vnc-display: round %u, %s failed; retrying it once\n", r + 1,
                    names[d]);
            memset(&res[d][r], 0, sizeof(res[d][r]));
            if (round_active(dms[d], 5900 + BASE_DISPLAY + (int)d, &o, &res[d][r]) < 0)
                return 1;
        }
    if (o.idle_secs > 0)
        for (unsigned d = 0; d < ndm; d++) {
            fprintf(stderr, "vnc-display: idle, %s, %.0f s\n", names[d], o.idle_secs);
            if (round_idle(dms[d], 5900 + BASE_DISPLAY + (int)d, &o, &res[d][0]) < 0)
                return 1;
            for (unsigned r = 1; r < o.rounds; r++) { /* one idle run: same value each round */
                res[d][r].idle_cpu_ms = res[d][0].idle_cpu_ms;
                res[d][r].idle_wakeups = res[d][0].idle_wakeups;
            }
        }

    printf("vnc-display: %u rounds (median), %.1f s per frame-rate phase, encoding %s, %ld CPUs\n",
           o.rounds, o.secs, o.encoding, sysconf(_SC_NPROCESSORS_ONLN));
    static const struct row t1[] = {
        {"1 viewer: frames/s", FIELD(fps1)},
        {"1 viewer: DM CPU per frame (ms)", FIELD(cpu1)},
        {"1 viewer: harness CPU per frame (ms)", FIELD(self1)},
        {"8 viewers: frames/s (each viewer)", FIELD(fps8)},
        {"8 viewers: DM CPU per frame (ms)", FIELD(cpu8)},
        {"8 viewers: harness CPU per frame (ms)", FIELD(self8)},
    };
    table("1. full-screen 1920x1080x32 changes", t1, sizeof(t1) / sizeof(t1[0]), res, names, ndm,
          o.rounds);
    if (o.idle_secs > 0) {
        static const struct row t2[] = {
            {"DM CPU (ms, schedstat)", FIELD(idle_cpu_ms)},
            {"DM wake-ups/s (context switches)", FIELD(idle_wakeups)},
        };
        char title[96];
        snprintf(title, sizeof(title), "2. idle 1920x1080 screen, 8 viewers, %.0f s (one run)",
                 o.idle_secs);
        table(title, t2, sizeof(t2) / sizeof(t2[0]), res, names, ndm, o.rounds);
    }
    static const struct row t3[] = {
        {"spawn to VNC port accepting (ms)", FIELD(connect_ms)},
        {"spawn to VNC banner received (ms)", FIELD(start_ms)},
        {"RSS, 1 viewer, 1080p (KiB)", FIELD(rss_kb)},
        {"PSS, 1 viewer, 1080p (KiB)", FIELD(pss_kb)},
    };
    table("3. start-up and memory", t3, sizeof(t3) / sizeof(t3[0]), res, names, ndm, o.rounds);
    table_stall(res, names, ndm, o.rounds);
    printf("\nviewer connections that never got an update (replaced):");
    for (unsigned d = 0; d < ndm; d++) {
        unsigned conn = 0, repl = 0;
        for (unsigned r = 0; r < o.rounds; r++) {
            conn += res[d][r].connects;
            repl += res[d][r].replaced;
        }
        printf(" %s %u of %u%s", names[d], repl, conn, d + 1 < ndm ? "," : "\n");
    }
    return 0;
}
