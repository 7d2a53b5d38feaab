/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/spice-display: what a SPICE user of a device model gets, xendm
 * against Debian's qemu-xen, both started on xensim with the same argv
 * (libxl's -spice keys: port=P,tls-port=0,addr=127.0.0.1,
 * disable-ticketing=on,agent-mouse=on,disable-copy-paste=on, plus
 * image-compression=off or nothing, i.e. libxl's default auto_glz; and
 * -vnc 127.0.0.1:D with no VNC client) and driven in one invocation by the
 * same guest and the same in-process SPICE client (spice-client-glib on its
 * own GLib main loop thread), alternating round by round; medians
 * reported, with ratios xendm / qemu-xen.  On each card (std VGA, -device
 * VGA,vgamem_mb=16: plain stores into the Bochs VBE 1920x1080x32 linear
 * framebuffer; QXL, -device qxl-vga: spice-qxl.c) and each compression:
 *
 *  1. full-screen changes: the guest alternates two full-screen patterns
 *     that differ in every pixel, each as soon as the client has the
 *     previous one.  A frame counts when the client's primary surface shows
 *     the new pattern at every sampled pixel (8 per 4th row and the last
 *     pixel), checked at each display-invalidate; at the end of the phase
 *     the whole surface must equal the last frame.  Frames/s, DM CPU time
 *     per frame, this process's CPU per frame (client decoding, guest,
 *     xensim) and how many display-invalidate signals (draw operations the
 *     client applied) a frame took;
 *  2. a moving rectangle: a 64x64 checked rectangle moves 8 px per step
 *     over a static 1080p background (row after row); a step counts when
 *     the client shows the rectangle at its new place and the background
 *     where it was, exactly; updates/s, DM CPU per update;
 *  3. memory: RSS and PSS (/proc/PID/smaps_rollup) of the DM with SPICE
 *     and VNC on, one SPICE client connected, after phase 1.
 * CPU time is all of the process's threads (see cpu_delta()).
 *
 * Usage: spice-display [--rounds N] [--seconds S] [--compression C]
 *                      [--card vga|qxl|both] [DM ...]
 *   DM: "qemu" ($QEMU_XEN or Debian's) or a path to xendm; default qemu
 *   and ./xendm (or $XENDM).  C: off, auto_glz or both (default both).
 *   TCP ports 6100-6107 (SPICE) and 5990-5991 (VNC displays 90-91).
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spice-client.h>

#include "bench/common.h"
#include "bench/spice-display.h"
#include "tests/common/dm.h"

#define PORT_BASE          6100 /* + 4 * card + 2 * compression + dm */
#define VNC_BASE           90   /* + dm */
#define MAX_DMS            2
#define MAX_ROUNDS         15
#define FRAME_TIMEOUT_MS   20000
#define CONNECT_TIMEOUT_MS 20000
#define VERIFY_TIMEOUT_MS  3000
#define RECT               SD_RECT
#define RECT_STEP          8

/* ------------------------------------------------------------ helpers --- */

/* CPU time of a process: both clocks, see cpu_delta(). */
struct cpu {
    double stat_ns, sched_ns;
};

static struct cpu cpu_now(pid_t pid)
{
    struct cpu c = {.stat_ns = bench_proc_cpu_ns(pid)};
    bench_proc_threads(pid, &c.sched_ns, NULL);
    return c;
}

/* CPU used since c0, ns: the live threads' schedstat (ns resolution),
 * unless stat's utime+stime (10 ms ticks, exited threads too) says more
 * by over two ticks (a thread ended during the phase). */
static double cpu_delta(pid_t pid, struct cpu c0)
{
    struct cpu c1 = cpu_now(pid);
    double sched = c1.sched_ns - c0.sched_ns, stat = c1.stat_ns - c0.stat_ns;
    return stat - sched > 2e9 / (double)sysconf(_SC_CLK_TCK) ? stat : sched;
}

/* --------------------------------------------------------- the picture -- */

/* The two full-screen patterns (bench_patterns()), 0x00RRGGBB. */
static uint32_t *pat[2];

/* The moving rectangle's pixel (u, v): an 8x8 check of two colours. */
uint32_t sd_rect_px(unsigned u, unsigned v)
{
    return ((u >> 3) ^ (v >> 3)) & 1 ? 0xff3070 : 0x20e0ff;
}

/* Where the rectangle is at step s: left to right, then the next row. */
static void sd_rect_pos(unsigned s, int *x, int *y)
{
    unsigned per_row = (SD_W - RECT) / RECT_STEP + 1, rows = (SD_H - RECT) / (RECT + 8) + 1;
    *x = (int)((s % per_row) * RECT_STEP);
    *y = (int)((s / per_row % rows) * (RECT + 8));
}

/* What the screen must show at (x, y) for target t. */
static uint32_t want_px(const struct sd_want *t, int x, int y)
{
    if (t->kind == SD_WANT_RECT) {
        if (x >= t->x && x < t->x + RECT && y >= t->y && y < t->y + RECT)
            return sd_rect_px((unsigned)(x - t->x), (unsigned)(y - t->y));
        return pat[0][y * SD_W + x];
    }
    return pat[t->k & 1][y * SD_W + x];
}

/* ------------------------------------------------------- SPICE client -- */

/* Shared between the client thread and the rest, under cl.lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct sd_want want; /* what the guest shows (or is drawing) */
    int seen;            /* the last target's k the client showed */
    int state;           /* 0 idle, 1 connecting, 2 has a W x H primary, -1 failed */
    char why[200];       /* why it failed */
    unsigned long invalidates;
} cl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, .seen = -1};

/* Client thread only. */
static SpiceSession *session;
static SpiceChannel *display;

static void cl_fail(const char *why)
{
    pthread_mutex_lock(&cl.lock);
    if (cl.state >= 0)
        snprintf(cl.why, sizeof(cl.why), "%s", why);
    cl.state = -1;
    pthread_cond_broadcast(&cl.cond);
    pthread_mutex_unlock(&cl.lock);
}

/* Does the primary surface show target t?  All pixels, or (sampled) 8
 * spread over every 4th row and the last pixel; a rectangle target checks
 * both of its boxes (old and new) exactly. */
static bool shows(const struct sd_want *t, const uint8_t *data, int stride, bool all)
{
#define PX(x, y)                                                                                   \
    ((*(const uint32_t *)(data + (size_t)(y) * (size_t)stride + (size_t)(x)*4)) & 0xffffff)
    if (PX(SD_W - 1, SD_H - 1) != want_px(t, SD_W - 1, SD_H - 1))
        return false;
    if (all) {
        for (int y = 0; y < SD_H; y++)
            for (int x = 0; x < SD_W; x++)
                if (PX(x, y) != want_px(t, x, y))
                    return false;
        return true;
    }
    if (t->kind == SD_WANT_RECT) {
        int bx[2] = {t->x, t->px}, by[2] = {t->y, t->py};
        for (int b = 0; b < 2; b++)
            for (int y = by[b]; y >= 0 && y < by[b] + RECT; y++)
                for (int x = bx[b]; x < bx[b] + RECT; x++)
                    if (PX(x, y) != want_px(t, x, y))
                        return false;
        return true;
    }
    for (int y = 0; y < SD_H; y += 4)
        for (int i = 0; i < 8; i++) {
            int x = (y * 7 + i * 241) % SD_W;
            if (PX(x, y) != want_px(t, x, y))
                return false;
        }
    return true;
#undef PX
}

static bool primary(SpiceDisplayPrimary *p)
{
    return display && spice_display_channel_get_primary(display, 0, p) && p->width == SD_W &&
           p->height == SD_H && p->data &&
           (p->format == SPICE_SURFACE_FMT_32_xRGB || p->format == SPICE_SURFACE_FMT_32_ARGB);
}

static void check_target(bool all, bool *ok)
{
    SpiceDisplayPrimary p;
    struct sd_want t;
    pthread_mutex_lock(&cl.lock);
    t = cl.want;
    bool done = cl.seen >= t.k;
    pthread_mutex_unlock(&cl.lock);
    if (ok)
        *ok = false;
    if (t.kind == SD_WANT_NONE || (done && !all) || !primary(&p))
        return;
    if (!shows(&t, p.data, p.stride, all))
        return;
    if (ok)
        *ok = true;
    pthread_mutex_lock(&cl.lock);
    if (cl.want.k == t.k && cl.seen < t.k)
        cl.seen = t.k;
    pthread_cond_broadcast(&cl.cond);
    pthread_mutex_unlock(&cl.lock);
}

static void on_invalidate(SpiceChannel *ch, gint x, gint y, gint w, gint h, gpointer data)
{
    pthread_mutex_lock(&cl.lock);
    cl.invalidates++;
    pthread_mutex_unlock(&cl.lock);
    check_target(false, NULL);
}

static void on_primary_create(SpiceChannel *ch, gint format, gint w, gint h, gint stride,
                              gint shmid, gpointer img, gpointer data)
{
    pthread_mutex_lock(&cl.lock);
    if (cl.state >= 0)
        cl.state = w == SD_W && h == SD_H ? 2 : 1;
    pthread_cond_broadcast(&cl.cond);
    pthread_mutex_unlock(&cl.lock);
    check_target(false, NULL);
}

static void on_channel_event(SpiceChannel *ch, SpiceChannelEvent ev, gpointer data)
{
    char why[160];
    if (ev == SPICE_CHANNEL_OPENED || ev == SPICE_CHANNEL_SWITCHING || ev == SPICE_CHANNEL_NONE)
        return;
    snprintf(why, sizeof(why), "%s channel: event %d%s", G_OBJECT_TYPE_NAME(ch), (int)ev,
             ev == SPICE_CHANNEL_CLOSED ? " (closed)" : " (error)");
    if (SPICE_IS_DISPLAY_CHANNEL(ch) || SPICE_IS_MAIN_CHANNEL(ch))
        cl_fail(why);
}

static void on_channel_new(SpiceSession *s, SpiceChannel *ch, gpointer data)
{
    int id;
    g_object_get(ch, "channel-id", &id, NULL);
    if (SPICE_IS_MAIN_CHANNEL(ch))
        g_signal_connect(ch, "channel-event", G_CALLBACK(on_channel_event), NULL);
    if (!SPICE_IS_DISPLAY_CHANNEL(ch) || id != 0)
        return;
    display = ch;
    g_signal_connect(ch, "channel-event", G_CALLBACK(on_channel_event), NULL);
    g_signal_connect(ch, "display-primary-create", G_CALLBACK(on_primary_create), NULL);
    g_signal_connect(ch, "display-invalidate", G_CALLBACK(on_invalidate), NULL);
    spice_channel_connect(ch);
}

/* Running a function on the client thread and waiting for it. */
struct call {
    void (*fn)(void *);
    void *arg;
    bool done;
};

static gboolean call_main(gpointer p)
{
    struct call *c = p;
    c->fn(c->arg);
    pthread_mutex_lock(&cl.lock);
    c->done = true;
    pthread_cond_broadcast(&cl.cond);
    pthread_mutex_unlock(&cl.lock);
    return G_SOURCE_REMOVE;
}

static void client_call(void (*fn)(void *), void *arg)
{
    struct call c = {fn, arg, false};
    GSource *src = g_idle_source_new(); /* run by the client thread's loop */
    g_source_set_callback(src, call_main, &c, NULL);
    g_source_attach(src, g_main_context_default());
    g_source_unref(src);
    pthread_mutex_lock(&cl.lock);
    while (!c.done)
        pthread_cond_wait(&cl.cond, &cl.lock);
    pthread_mutex_unlock(&cl.lock);
}

static void do_connect(void *arg)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", *(int *)arg);
    session = spice_session_new();
    g_object_set(session, "host", "127.0.0.1", "port", port, "enable-audio", FALSE,
                 "enable-usbredir", FALSE, NULL);
    g_signal_connect(session, "channel-new", G_CALLBACK(on_channel_new), NULL);
    if (!spice_session_connect(session))
        cl_fail("spice_session_connect failed");
}

static void do_disconnect(void *arg)
{
    if (!session)
        return;
    display = NULL;
    spice_session_disconnect(session);
    g_object_unref(session);
    session = NULL;
}

static void do_verify(void *arg)
{
    check_target(true, arg);
}

static gpointer client_thread(gpointer p)
{
    g_main_loop_run(p);
    return NULL;
}

static void sd_client_init(void)
{
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_thread_new("spice-client", client_thread, loop);
}

/* Set what the guest is about to show. */
static void sd_want(const struct sd_want *t)
{
    pthread_mutex_lock(&cl.lock);
    cl.want = *t;
    pthread_mutex_unlock(&cl.lock);
}

/* Wait until the client showed target k (or failed): 0 or -1. */
static int wait_seen(int k, int timeout_ms, const char *what)
{
    struct timespec end;
    bench_deadline(&end, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&cl.lock);
    while (cl.seen < k && cl.state >= 0 && rc == 0)
        rc = pthread_cond_timedwait(&cl.cond, &cl.lock, &end);
    if (cl.seen >= k)
        rc = 0;
    else if (cl.state < 0)
        fprintf(stderr, "spice-display: %s: the client failed: %s\n", what, cl.why);
    else
        fprintf(stderr, "spice-display: %s: the client did not show it within %d ms\n", what,
                timeout_ms);
    pthread_mutex_unlock(&cl.lock);
    return cl.seen >= k ? 0 : -1;
}

/* Connect a client to port; it must show target k (already drawn). */
static int client_connect(int port, int k)
{
    pthread_mutex_lock(&cl.lock);
    cl.state = 1;
    cl.seen = -1;
    cl.why[0] = 0;
    pthread_mutex_unlock(&cl.lock);
    client_call(do_connect, &port);
    return wait_seen(k, CONNECT_TIMEOUT_MS, "first frame");
}

static void client_disconnect(void)
{
    client_call(do_disconnect, NULL);
    pthread_mutex_lock(&cl.lock);
    cl.state = 0;
    pthread_mutex_unlock(&cl.lock);
}

/* The whole primary surface equals the current target (it may still be
 * arriving: retried until VERIFY_TIMEOUT_MS). */
static int client_verify(const char *what)
{
    double end = bench_now_ns() + VERIFY_TIMEOUT_MS * 1e6;
    bool ok = false;
    do {
        client_call(do_verify, &ok);
        if (ok)
            return 0;
        usleep(20000);
    } while (bench_now_ns() < end);
    fprintf(stderr, "spice-display: %s: the client's screen differs from the guest's\n", what);
    return -1;
}

static unsigned long client_invalidates(void)
{
    pthread_mutex_lock(&cl.lock);
    unsigned long n = cl.invalidates;
    pthread_mutex_unlock(&cl.lock);
    return n;
}

/* ---------------------------------------------------- std VGA guest ---- */

/* gu->priv: the guest's view of the linear framebuffer (bench_vga_mode()). */
static int vga_setup(struct sd_guest *gu)
{
    gu->priv = bench_vga_mode("spice-display", gu->x, SD_W, SD_H);
    return gu->priv ? 0 : -1;
}

static void vga_full(struct sd_guest *gu, int k)
{
    memcpy(gu->priv, pat[k & 1], SD_FB_BYTES);
}

/* The old box back to the background, then the rectangle at (x, y). */
static void vga_rect(struct sd_guest *gu, int ox, int oy, int x, int y)
{
    uint32_t *fb = gu->priv;
    if (ox >= 0)
        for (int r = 0; r < RECT; r++)
            memcpy(&fb[(oy + r) * SD_W + ox], &pat[0][(oy + r) * SD_W + ox], RECT * 4);
    for (int r = 0; r < RECT; r++)
        for (int c = 0; c < RECT; c++)
            fb[(y + r) * SD_W + x + c] = sd_rect_px((unsigned)c, (unsigned)r);
}

static const struct sd_card card_vga = {
    .name = "std VGA",
    .device = "VGA,vgamem_mb=16",
    .setup = vga_setup,
    .full = vga_full,
    .rect = vga_rect,
};

/* ------------------------------------------------------------- rounds --- */

struct result {
    double fps, cpu, self, inv;    /* 1: frames/s, ms per frame, invalidates per frame */
    double ups, ucpu, uself, uinv; /* 2: updates/s, ms per update, ... */
    double rss_kb, pss_kb;
};

struct phase {
    double t0;
    struct cpu cpu0, self0;
    unsigned long inv0;
    int k0;
};

static void phase_start(struct phase *ph, pid_t pid, int k)
{
    ph->cpu0 = cpu_now(pid);
    ph->self0 = cpu_now(getpid());
    ph->inv0 = client_invalidates();
    ph->k0 = k;
    ph->t0 = bench_now_ns();
}

static void phase_end(const struct phase *ph, pid_t pid, int k, double *rate, double *cpu_ms,
                      double *self_ms, double *inv)
{
    double t = bench_now_ns(), n = k - ph->k0;
    *rate = n / ((t - ph->t0) / 1e9);
    *cpu_ms = cpu_delta(pid, ph->cpu0) / 1e6 / n;
    *self_ms = cpu_delta(getpid(), ph->self0) / 1e6 / n;
    *inv = (double)(client_invalidates() - ph->inv0) / n;
}

/* One device model instance as a round drives it. */
struct rnd {
    const struct sd_card *card;
    struct sd_guest gu;
    struct sd_want t; /* the last target drawn */
    int k;            /* its number */
    pid_t pid;        /* the DM's */
};

/* The guest draws the next target of t's kind; the client must show it
 * within FRAME_TIMEOUT_MS: 0 or -1. */
static int show(struct rnd *rd, const char *what)
{
    rd->t.k = ++rd->k;
    sd_want(&rd->t);
    if (rd->t.kind == SD_WANT_RECT)
        rd->card->rect(&rd->gu, rd->t.px, rd->t.py, rd->t.x, rd->t.y);
    else
        rd->card->full(&rd->gu, rd->k);
    return wait_seen(rd->k, FRAME_TIMEOUT_MS, what);
}

/* A measured phase: targets of t's kind (the rectangle moving one step
 * each) as fast as the client shows them, two warm-up ones, then secs;
 * the rates of phase_end(), then the whole screen checked: 0 or -1. */
static int run_phase(struct rnd *rd, double secs, const char *what, double *rate, double *cpu_ms,
                     double *self_ms, double *inv)
{
    struct phase ph = {0};
    for (unsigned s = 0;; s++) {
        if (s == 2)
            phase_start(&ph, rd->pid, rd->k);
        if (rd->t.kind == SD_WANT_RECT) {
            rd->t.px = s ? rd->t.x : -1;
            rd->t.py = s ? rd->t.y : -1;
            sd_rect_pos(s, &rd->t.x, &rd->t.y);
        }
        if (show(rd, what) < 0)
            return -1;
        if (s >= 2 && bench_now_ns() - ph.t0 >= secs * 1e9)
            break;
    }
    phase_end(&ph, rd->pid, rd->k, rate, cpu_ms, self_ms, inv);
    return client_verify(what);
}

/* One DM instance: benchmarks 1, 3 and 2. */
static int round_one(const char *dm, const struct sd_card *card, const char *compression, int port,
                     int vnc, double secs, struct result *r)
{
    const char *name = bench_dm_name(dm);
    char spice[200], vncarg[32];
    struct dm_run run;
    struct rnd rd = {.card = card, .t = {.kind = SD_WANT_FULL, .px = -1, .py = -1}};
    int rc = -1;

    snprintf(spice, sizeof(spice),
             "port=%d,tls-port=0,addr=127.0.0.1,disable-ticketing=on,agent-mouse=on,"
             "disable-copy-paste=on%s%s",
             port, strcmp(compression, "auto_glz") ? ",image-compression=" : "",
             strcmp(compression, "auto_glz") ? compression : "");
    snprintf(vncarg, sizeof(vncarg), "127.0.0.1:%d", vnc);
    const char *args[] = {"-device", card->device, "-spice", spice, "-vnc", vncarg, NULL};
    if (!bench_dm_start("spice-display", dm, args, &run))
        return -1;
    rd.pid = xsim_dm_pid(run.x);
    rd.gu.x = run.x;
    if (card->setup(&rd.gu) < 0) {
        fprintf(stderr, "spice-display: %s: %s set-up failed: %s\n", name, card->name,
                xsim_dm_diag(run.x));
        goto out;
    }
    sd_want(&rd.t);
    card->full(&rd.gu, rd.k);
    if (client_connect(port, rd.k) < 0)
        goto out;

    /* 1. full-screen frames */
    if (run_phase(&rd, secs, "full-screen frames", &r->fps, &r->cpu, &r->self, &r->inv) < 0)
        goto out;
    /* 3. memory, one client connected */
    bench_proc_mem(rd.pid, &r->rss_kb, &r->pss_kb);
    /* 2. the moving rectangle over pattern 0 */
    if ((rd.k & 1) && show(&rd, "background") < 0)
        goto out;
    rd.t.kind = SD_WANT_RECT;
    if (run_phase(&rd, secs, "moving rectangle", &r->ups, &r->ucpu, &r->uself, &r->uinv) < 0)
        goto out;
    rc = 0;
out:
    client_disconnect();
    if (xsim_error(run.x)) {
        fprintf(stderr, "spice-display: %s: %s\n", name, xsim_dm_diag(run.x));
        rc = -1;
    }
    if (card->free)
        card->free(&rd.gu);
    dm_stop(&run);
    return rc;
}

/* ------------------------------------------------------------- report --- */

#define FIELD(name) offsetof(struct result, name)

struct row {
    const char *label;
    size_t off;
};

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "Usage: %s [--rounds N] [--seconds S] [--compression off|auto_glz|both] "
            "[--card vga|qxl|both] [qemu|PATH-TO-XENDM ...]\n"
            "  --rounds N       rounds, device models alternating (default 3)\n"
            "  --seconds S      length of each measured phase (default 2.5)\n"
            "  --compression C  the SPICE image compression (default both)\n"
            "  --card C         std VGA, QXL or both (default both)\n",
            prog);
}

int main(int argc, char **argv)
{
    unsigned rounds = 3;
    double secs = 2.5;
    const char *comp = "both", *card = "both";
    static const struct option lopts[] = {{"rounds", 1, 0, 'r'},      {"seconds", 1, 0, 's'},
                                          {"compression", 1, 0, 'c'}, {"card", 1, 0, 'C'},
                                          {"help", 0, 0, 'h'},        {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "r:s:c:C:h", lopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            rounds = (unsigned)atoi(optarg);
            break;
        case 's':
            secs = atof(optarg);
            break;
        case 'c':
            comp = optarg;
            break;
        case 'C':
            card = optarg;
            break;
        default:
            usage(opt == 'h' ? stdout : stderr, argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || secs <= 0 ||
        (strcmp(comp, "off") && strcmp(comp, "auto_glz") && strcmp(comp, "both")) ||
        (strcmp(card, "vga") && strcmp(card, "qxl") && strcmp(card, "both"))) {
        usage(stderr, argv[0]);
        return 2;
    }
    const char *dms[MAX_DMS], *names[MAX_DMS];
    unsigned ndm = bench_dm_list(argc, argv, optind, dms, MAX_DMS);
    for (unsigned d = 0; d < ndm; d++)
        names[d] = bench_dm_name(dms[d]);
    const char *comps[2];
    unsigned ncomp = 0;
    if (strcmp(comp, "auto_glz"))
        comps[ncomp++] = "off";
    if (strcmp(comp, "off"))
        comps[ncomp++] = "auto_glz";
    const struct sd_card *cards[2];
    unsigned ncard = 0;
    if (strcmp(card, "qxl"))
        cards[ncard++] = &card_vga;
    if (strcmp(card, "vga"))
        cards[ncard++] = &sd_card_qxl;

    char load[64] = "?\n"; /* the machine is shared: how busy was it? */
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf && !fgets(load, sizeof(load), lf))
        snprintf(load, sizeof(load), "?\n");
    if (lf)
        fclose(lf);
    bench_patterns(pat, SD_W, SD_H);
    sd_qxl_set_patterns(pat);
    sd_client_init();

    static struct result res[2][2][MAX_DMS][MAX_ROUNDS];
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned c = 0; c < ncard; c++)
            for (unsigned z = 0; z < ncomp; z++)
                for (unsigned d = 0; d < ndm; d++) {
                    int port = PORT_BASE + 4 * (cards[c] == &sd_card_qxl) + 2 * (int)z + (int)d;
                    fprintf(stderr, "spice-display: round %u/%u, %s, %s, compression %s\n", r + 1,
                            rounds, names[d], cards[c]->name, comps[z]);
                    struct result *o = &res[c][z][d][r];
                    if (round_one(dms[d], cards[c], comps[z], port, VNC_BASE + (int)d, secs, o) ==
                        0)
                        continue;
                    /* one retry, so that a hiccup of the shared machine
                     * does not lose the whole run */
                    fprintf(stderr, "spice-display: retrying once\n");
                    memset(o, 0, sizeof(*o));
                    if (round_one(dms[d], cards[c], comps[z], port, VNC_BASE + (int)d, secs, o) < 0)
                        return 1;
                }

    printf("spice-display: %u rounds (median), %.1f s per phase, %ld CPUs, load average %s", rounds,
           secs, sysconf(_SC_NPROCESSORS_ONLN), load);
    static const struct row rows[] = {
        {"1. full-screen 1080p: frames/s", FIELD(fps)},
        {"1. DM CPU per frame (ms)", FIELD(cpu)},
        {"1. harness CPU per frame (ms)", FIELD(self)},
        {"1. client draw operations per frame", FIELD(inv)},
        {"2. 64x64 moving rectangle: updates/s", FIELD(ups)},
        {"2. DM CPU per update (ms)", FIELD(ucpu)},
        {"2. harness CPU per update (ms)", FIELD(uself)},
        {"2. client draw operations per update", FIELD(uinv)},
        {"3. RSS, SPICE+VNC, 1 client, 1080p (KiB)", FIELD(rss_kb)},
        {"3. PSS, SPICE+VNC, 1 client, 1080p (KiB)", FIELD(pss_kb)},
    };
    for (unsigned c = 0; c < ncard; c++)
        for (unsigned z = 0; z < ncomp; z++) {
            printf("\n%s, image-compression=%s%s\n", cards[c]->name, comps[z],
                   strcmp(comps[z], "off") ? " (libxl's default)" : "");
            bench_row_names(44, names, ndm, 12);
            for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                double m[MAX_DMS];
                for (unsigned d = 0; d < ndm; d++)
                    m[d] =
                        bench_median_at(res[c][z][d], sizeof(struct result), rounds, rows[i].off);
                bench_row(rows[i].label, 44, m, ndm, 12, 2);
            }
        }
    return 0;
}
