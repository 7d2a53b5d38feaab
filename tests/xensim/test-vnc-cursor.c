/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pointer a QXL guest driver defines, as VNC viewers see it: the real
 * xendm binary on xensim with -device qxl-vga and -vnc (no -spice: its own
 * spice-server renders), the test's guest driver (test-qxl-guest.h) on the
 * cursor ring, and libvncclient viewers (package libvncserver-dev):
 *  - a viewer that asks for cursor shapes (RichCursor/XCursor) gets the
 *    guest's ALPHA cursor — size, hotspot, colours (premultiplied alpha
 *    undone), the mask (alpha >= 50%) — then its MONO cursor with the four
 *    AND/XOR cases (transparent, black, white, invert shown black);
 *  - a viewer that connects later gets the current shape at once; after
 *    QXL_CURSOR_HIDE a new viewer gets no shape, and after a MOVE it does;
 *  - no viewer's framebuffer ever holds cursor pixels: the cursor is not
 *    drawn into the shared picture (QEMU's VNC server does not either);
 *  - a malformed shape (data shorter than the type needs) is refused with
 *    a log line and the previous shape stays; xendm keeps serving.
 * Ports: VNC display 67 (5967).
 */
#include "config.h"

#include <glib.h>
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tests/common/dm.h"
#include "tests/xensim/test-qxl-guest.h"

#define QXL_ARG  "qxl-vga,vram_size_mb=64,ram_size_mb=64"
#define VNC_DISP 67
#define W        640
#define H        480
#define BG       0x203040
#define BG2      0x405060
#define WAIT_MS  10000

/* ------------------------------------------------------------ viewer --- */

struct viewer {
    rfbClient *cl;
    GThread *th;
    gint stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    unsigned frames, shapes;
    unsigned cw, ch, hx, hy;
    uint32_t *rgb;  /* the last shape, 0xRRGGBB */
    uint8_t *mask;  /* and its mask, a byte per pixel */
    uint32_t *snap; /* framebuffer after the last update, 0xRRGGBB */
    bool dead;
};

static rfbCredential *no_cred(rfbClient *cl, int type)
{
    (void)cl;
    (void)type;
    return NULL;
}

static void quiet(const char *fmt, ...)
{
    (void)fmt;
}

static uint32_t px_rgb(uint32_t p)
{
    /* rfbGetClient(8, 3, 4): bytes R, G, B, padding */
    return (p & 0xff) << 16 | (p & 0xff00) | (p >> 16 & 0xff);
}

static void got_shape(rfbClient *cl, int xhot, int yhot, int w, int h, int bpp)
{
    struct viewer *v = rfbClientGetClientData(cl, (void *)got_shape);
    g_assert_cmpint(bpp, ==, 4);
    pthread_mutex_lock(&v->lock);
    g_free(v->rgb);
    g_free(v->mask);
    v->rgb = g_new(uint32_t, (size_t)w * h);
    v->mask = g_memdup2(cl->rcMask, (size_t)w * h);
    for (int i = 0; i < w * h; i++)
        v->rgb[i] = px_rgb(((uint32_t *)(void *)cl->rcSource)[i]);
    v->cw = (unsigned)w;
    v->ch = (unsigned)h;
    v->hx = (unsigned)xhot;
    v->hy = (unsigned)yhot;
    v->shapes++;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

static void got_frame(rfbClient *cl)
{
    struct viewer *v = rfbClientGetClientData(cl, (void *)got_shape);
    pthread_mutex_lock(&v->lock);
    size_t n = (size_t)cl->width * cl->height;
    g_free(v->snap);
    v->snap = g_new(uint32_t, n);
    for (size_t i = 0; i < n; i++)
        v->snap[i] = px_rgb(((uint32_t *)(void *)cl->frameBuffer)[i]);
    v->frames++;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

static void got_rect(rfbClient *cl, int x, int y, int w, int h)
{
    (void)cl, (void)x, (void)y, (void)w, (void)h; /* read whole frames in got_frame */
}

static gpointer viewer_main(gpointer data)
{
    struct viewer *v = data;
    while (!g_atomic_int_get(&v->stop)) {
        int n = WaitForMessage(v->cl, 20000);
        if (n < 0 || (n > 0 && !HandleRFBServerMessage(v->cl)))
            break;
    }
    pthread_mutex_lock(&v->lock);
    v->dead = true;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

static struct viewer *viewer_new(bool shapes)
{
    struct viewer *v = g_new0(struct viewer, 1);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->cl = rfbGetClient(8, 3, 4);
    v->cl->appData.encodingsString = "raw";
    v->cl->appData.useRemoteCursor = shapes;
    v->cl->GotCursorShape = got_shape;
    v->cl->GotFrameBufferUpdate = got_rect;
    v->cl->FinishedFrameBufferUpdate = got_frame;
    v->cl->GetCredential = no_cred;
    rfbClientSetClientData(v->cl, (void *)got_shape, v);
    char *host = g_strdup("127.0.0.1");
    v->cl->serverHost = host; /* freed by rfbClientCleanup */
    v->cl->serverPort = 5900 + VNC_DISP;
    if (!rfbInitClient(v->cl, NULL, NULL))
        g_error("viewer could not connect to 127.0.0.1:%d", 5900 + VNC_DISP);
    v->th = g_thread_new("viewer", viewer_main, v);
    return v;
}

static void viewer_free(struct viewer *v)
{
    g_atomic_int_set(&v->stop, 1);
    g_thread_join(v->th);
    rfbClientCleanup(v->cl);
    g_free(v->rgb);
    g_free(v->mask);
    g_free(v->snap);
    pthread_mutex_destroy(&v->lock);
    pthread_cond_destroy(&v->cond);
    g_free(v);
}

/* Wait until the viewer has had more than `shapes` shapes (or, with
 * shapes == UINT32_MAX, more than `frames` frames); false on timeout. */
static bool wait_for(struct viewer *v, unsigned shapes, unsigned frames)
{
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    pthread_mutex_lock(&v->lock);
    bool ok;
    for (;;) {
        ok = shapes != UINT32_MAX ? v->shapes > shapes : v->frames > frames;
        if (ok || v->dead || g_get_monotonic_time() > end)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    }
    pthread_mutex_unlock(&v->lock);
    return ok;
}

/* Every pixel of the viewer's picture is bg, once its first pixel is (an
 * update may carry only the cursor). */
static void assert_plain(struct viewer *v, uint32_t bg, const char *who)
{
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    for (;;) {
        pthread_mutex_lock(&v->lock);
        bool there = v->snap && v->snap[0] == bg;
        pthread_mutex_unlock(&v->lock);
        if (there || g_get_monotonic_time() > end)
            break;
        g_usleep(10000);
    }
    pthread_mutex_lock(&v->lock);
    g_assert_cmpint(v->cl->width, ==, W);
    g_assert_cmpint(v->cl->height, ==, H);
    for (unsigned i = 0; i < W * H; i++)
        if (v->snap[i] != bg)
            g_error("%s: pixel (%u,%u) is %06x, not %06x: cursor drawn into the picture?", who,
                    i % W, i / W, v->snap[i], bg);
    pthread_mutex_unlock(&v->lock);
}

/* ------------------------------------------------------------- guest --- */

static uint64_t cursor_set(struct qg *g, uint16_t type, unsigned w, unsigned h, unsigned hx,
                           unsigned hy, const void *data, uint32_t len, uint32_t declared)
{
    struct qg_cursor c = {.type = type,
                          .w = w,
                          .h = h,
                          .hot_x = hx,
                          .hot_y = hy,
                          .data = data,
                          .len = len,
                          .declared = declared};
    return qg_cursor_shape(g, 100, 100, &c);
}

static uint64_t cursor_hide(struct qg *g)
{
    uint64_t off = qg_alloc(g, sizeof(QXLCursorCmd));
    QXLCursorCmd *c = qg_ptr(g, off);
    memset(c, 0, sizeof(*c));
    qg_track(g, off);
    c->type = QXL_CURSOR_HIDE;
    return off;
}

/* The ALPHA test cursor: 24x16, left half opaque red, right half clear,
 * one 75% pixel of premultiplied (0x60, 0x40, 0x20), one 25% one. */
#define AW 24
#define AH 16
static void alpha_shape(uint32_t *px, uint32_t *want_rgb, uint8_t *want_mask)
{
    for (unsigned i = 0; i < AW * AH; i++) {
        bool left = i % AW < AW / 2;
        px[i] = left ? 0xffff0000 : 0;
        want_rgb[i] = left ? 0xff0000 : 0;
        want_mask[i] = left;
    }
    px[3 * AW + 20] = 0xc0604020; /* 75%: shown, colour 0x60*255/0xc0, ... */
    want_rgb[3 * AW + 20] = 0x7f552a;
    want_mask[3 * AW + 20] = 1;
    px[4 * AW + 2] = 0x40100000; /* 25%: not shown */
    want_rgb[4 * AW + 2] = 0;
    want_mask[4 * AW + 2] = 0;
}

/* The MONO test cursor: 16x8; rows 0-1 transparent (AND 1, XOR 0), 2-3
 * black (0, 0), 4-5 white (0, 1), 6-7 invert (1, 1). */
#define MW 16
#define MH 8
static void mono_shape(uint8_t *data, uint32_t *want_rgb, uint8_t *want_mask)
{
    uint8_t *and_m = data, *xor_m = data + 2 * MH;
    for (unsigned y = 0; y < MH; y++) {
        unsigned kind = y / 2;
        uint8_t a = kind == 0 || kind == 3 ? 0xff : 0, x = kind >= 2 ? 0xff : 0;
        and_m[y * 2] = and_m[y * 2 + 1] = a;
        xor_m[y * 2] = xor_m[y * 2 + 1] = x;
        for (unsigned i = 0; i < MW; i++) {
            want_mask[y * MW + i] = kind != 0;
            want_rgb[y * MW + i] = kind == 2 ? 0xffffff : 0;
        }
    }
}

static unsigned count(struct viewer *v, bool shapes)
{
    pthread_mutex_lock(&v->lock);
    unsigned n = shapes ? v->shapes : v->frames;
    pthread_mutex_unlock(&v->lock);
    return n;
}

static void assert_shape(struct viewer *v, unsigned w, unsigned h, unsigned hx, unsigned hy,
                         const uint32_t *rgb, const uint8_t *mask, const char *what)
{
    pthread_mutex_lock(&v->lock);
    if (v->cw != w || v->ch != h || v->hx != hx || v->hy != hy)
        g_error("%s: the viewer got a %ux%u cursor with its hotspot at (%u,%u), not %ux%u at "
                "(%u,%u)",
                what, v->cw, v->ch, v->hx, v->hy, w, h, hx, hy);
    for (unsigned i = 0; i < w * h; i++) {
        if (v->mask[i] != mask[i])
            g_error("%s: mask at (%u,%u) is %u, want %u", what, i % w, i / w, v->mask[i], mask[i]);
        if (mask[i] && v->rgb[i] != rgb[i])
            g_error("%s: colour at (%u,%u) is %06x, want %06x", what, i % w, i / w, v->rgb[i],
                    rgb[i]);
    }
    pthread_mutex_unlock(&v->lock);
}

static void test_cursor(void)
{
    const char *xendm = g_getenv("XENDM");
    if (!xendm)
        g_error("XENDM is not set: run through make check");
    char *vnc = g_strdup_printf("127.0.0.1:%d", VNC_DISP);
    const char *args[] = {"-vnc", vnc, "-serial", "null", "-device", QXL_ARG, NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run run;
    struct qg g;
    GError *err = NULL;

    if (!dm_start(&run, xendm, &cfg, args, &err))
        g_error("%s", err->message);
    g_assert_cmpint(xsim_fw_pci_setup(run.x), >, 0);
    qg_probe(&g, run.x);
    qg_init(&g);
    qg_create_primary(&g, W, H, SPICE_SURFACE_FMT_32_xRGB);
    qg_push(&g, false, qg_fill(&g, 0, 0, 0, W, H, BG), QXL_CMD_DRAW);
    qg_update_area(&g, 0, W, H);

    rfbClientLog = rfbClientErr = quiet;
    struct viewer *a = viewer_new(true), *plain = viewer_new(false);
    g_assert_true(wait_for(a, UINT32_MAX, 0));

    /* ALPHA */
    uint32_t apx[AW * AH], argb_want[AW * AH];
    uint8_t amask[AW * AH];
    alpha_shape(apx, argb_want, amask);
    unsigned s0 = count(a, true);
    qg_push(&g, true,
            cursor_set(&g, SPICE_CURSOR_TYPE_ALPHA, AW, AH, 5, 7, apx, sizeof(apx), sizeof(apx)),
            QXL_CMD_CURSOR);
    if (!wait_for(a, s0, 0))
        g_error("no cursor shape reached the viewer: %s", xsim_dm_diag(run.x));
    assert_shape(a, AW, AH, 5, 7, argb_want, amask, "ALPHA cursor");

    /* MONO */
    uint8_t mdata[2 * 2 * MH];
    uint32_t mrgb[MW * MH];
    uint8_t mmask[MW * MH];
    mono_shape(mdata, mrgb, mmask);
    s0 = count(a, true);
    qg_push(
        &g, true,
        cursor_set(&g, SPICE_CURSOR_TYPE_MONO, MW, MH, 0, 3, mdata, sizeof(mdata), sizeof(mdata)),
        QXL_CMD_CURSOR);
    g_assert_true(wait_for(a, s0, 0));
    assert_shape(a, MW, MH, 0, 3, mrgb, mmask, "MONO cursor");

    /* a malformed shape is refused; the MONO one stays */
    s0 = count(a, true);
    qg_push(&g, true,
            cursor_set(&g, SPICE_CURSOR_TYPE_ALPHA, AW, AH, 0, 0, apx, sizeof(apx) - 4,
                       sizeof(apx) - 4),
            QXL_CMD_CURSOR);
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    while (!strstr(xsim_dm_diag(run.x), "cursor not shown to VNC viewers") &&
           g_get_monotonic_time() < end)
        g_usleep(20000);
    g_assert_nonnull(strstr(xsim_dm_diag(run.x), "cursor not shown to VNC viewers"));
    struct viewer *late = viewer_new(true);
    g_assert_true(wait_for(late, 0, 0));
    assert_shape(late, MW, MH, 0, 3, mrgb, mmask, "the shape a later viewer gets");
    pthread_mutex_lock(&a->lock);
    g_assert_cmpuint(a->shapes, ==, s0); /* nothing new was sent */
    pthread_mutex_unlock(&a->lock);

    /* hidden: the viewer gets an update with an empty shape (libvncclient
     * shows no callback for it, only the update); a new viewer gets no
     * shape; a move shows the shape again */
    s0 = count(a, true);
    unsigned f0 = count(a, false);
    qg_push(&g, true, cursor_hide(&g), QXL_CMD_CURSOR);
    g_assert_true(wait_for(a, UINT32_MAX, f0));
    pthread_mutex_lock(&a->lock);
    g_assert_cmpuint(a->shapes, ==, s0);
    pthread_mutex_unlock(&a->lock);
    struct viewer *hidden = viewer_new(true);
    g_assert_true(wait_for(hidden, UINT32_MAX, 0));
    pthread_mutex_lock(&hidden->lock);
    g_assert_cmpuint(hidden->shapes, ==, 0);
    pthread_mutex_unlock(&hidden->lock);
    qg_push(&g, true, qg_cursor_move(&g, 300, 200), QXL_CMD_CURSOR);
    g_assert_true(wait_for(hidden, 0, 0));
    assert_shape(hidden, MW, MH, 0, 3, mrgb, mmask, "the shape after a move");

    /* the cursor never goes into anybody's picture: a full-screen change
     * with the cursor showing reaches both viewers without it */
    qg_push(&g, false, qg_fill(&g, 0, 0, 0, W, H, BG2), QXL_CMD_DRAW);
    qg_update_area(&g, 0, W, H);
    assert_plain(plain, BG2, "viewer without cursor shapes");
    assert_plain(a, BG2, "viewer with cursor shapes");
    g_assert_null(xsim_error(run.x));

    viewer_free(hidden);
    viewer_free(late);
    viewer_free(plain);
    viewer_free(a);
    g_hash_table_destroy(g.pending);
    dm_stop(&run);
    g_free(vnc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vnc-cursor/qxl-shapes", test_cursor);
    return g_test_run();
}
