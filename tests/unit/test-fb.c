/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the framebuffer core (display/fb.c) with a fake producer,
 * a recording listener and the fake hypervisor's scripted dirty-VRAM
 * bitmap; and for the VNC front end (display/vnc.c) with real libvncclient
 * viewers, each on its own thread (libvncclient blocks), against a server
 * on 127.0.0.1:5950+ served by this thread's main loop.  Keyboard and
 * pointer events are read back from a test input sink.
 *
 * Every wait is for an observable event with a bounded timeout (WAIT_MS);
 * the only fixed-duration runs are where the test checks that something
 * does NOT happen (no refresh without listeners) or measures the main
 * loop's responsiveness while a viewer is stalled.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <pixman.h>
#include <xkbcommon/xkbcommon-keysyms.h>

#include "display/fb.h"
#include "display/input.h"
#include "display/vnc.h"
#include "tests/common/rfb-peer.h"
#include "tests/common/vnc-viewer.h"
#include "tests/unit/fake-hv.h"

#define WAIT_MS      10000 /* upper bound for any single wait */
#define TILE_W       128   /* FB_TILE_W in display/fb.c */
#define TILE_H       16    /* FB_TILE_H */
#define BASE_DISPLAY 50

#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KB (512 * 1024) /* ASan's quarantine holds freed memory */
#else
#define RSS_BOUND_KB (64 * 1024)
#endif

/* ------------------------------------------------------------ helpers --- */

static gboolean tick(gpointer p)
{
    return G_SOURCE_CONTINUE;
}

/* Iterate the default main context until expr holds or ms pass. */
#define WAIT_FOR(expr, ms)                                                                         \
    ({                                                                                             \
        gint64 end_ = g_get_monotonic_time() + (gint64)(ms)*1000;                                  \
        guint t_ = g_timeout_add(5, tick, NULL);                                                   \
        bool ok_;                                                                                  \
        while (!(ok_ = (expr)) && g_get_monotonic_time() < end_)                                   \
            g_main_context_iteration(NULL, TRUE);                                                  \
        g_source_remove(t_);                                                                       \
        ok_;                                                                                       \
    })

/* Run the main loop for ms (checks that something does not happen). */
static void run_for(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    guint t = g_timeout_add(5, tick, NULL);
    while (g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* ------------------------------------------------- producer & listener --- */

static struct {
    unsigned refreshes;
    void (*on_refresh)(void);
} prod;

static void prod_refresh(void *opaque)
{
    prod.refreshes++;
    if (prod.on_refresh)
        prod.on_refresh();
}

static const struct fb_producer_ops prod_ops = {.name = "test", .refresh = prod_refresh};

struct tl {
    unsigned resizes, rw, rh;
    GArray *rects; /* pixman_box32_t */
};

static void tl_resize(void *opaque, unsigned w, unsigned h)
{
    struct tl *t = opaque;
    t->resizes++;
    t->rw = w;
    t->rh = h;
}

static void tl_update(void *opaque, int x, int y, int w, int h)
{
    struct tl *t = opaque;
    pixman_box32_t b = {x, y, x + w, y + h};
    g_array_append_val(t->rects, b);
}

static const struct fb_listener_ops tl_ops = {.resize = tl_resize, .update = tl_update};

static void tl_init(struct tl *t)
{
    memset(t, 0, sizeof(*t));
    t->rects = g_array_new(FALSE, FALSE, sizeof(pixman_box32_t));
}

static void tl_clear(struct tl *t)
{
    t->resizes = 0;
    g_array_set_size(t->rects, 0);
}

static void tl_fini(struct tl *t)
{
    g_array_free(t->rects, TRUE);
}

/* Area of the union of the recorded rectangles, and whether any overlap. */
static uint64_t tl_area(struct tl *t, bool *overlap)
{
    pixman_region32_t r;
    pixman_region32_init(&r);
    uint64_t sum = 0;
    for (unsigned i = 0; i < t->rects->len; i++) {
        pixman_box32_t *b = &g_array_index(t->rects, pixman_box32_t, i);
        sum += (uint64_t)(b->x2 - b->x1) * (uint64_t)(b->y2 - b->y1);
        pixman_region32_union_rect(&r, &r, b->x1, b->y1, (unsigned)(b->x2 - b->x1),
                                   (unsigned)(b->y2 - b->y1));
    }
    int n;
    pixman_box32_t *bx = pixman_region32_rectangles(&r, &n);
    uint64_t area = 0;
    for (int i = 0; i < n; i++)
        area += (uint64_t)(bx[i].x2 - bx[i].x1) * (uint64_t)(bx[i].y2 - bx[i].y1);
    pixman_region32_fini(&r);
    if (overlap)
        *overlap = sum != area;
    return area;
}

static void fb_reset(void)
{
    fb_set_producer(NULL, NULL);
    fb_track_vram(0, 0, NULL, 0);
    prod.on_refresh = NULL;
    fake_hv_reset();
}

/* x8r8g8b8 test pattern */
static uint32_t pattern(unsigned x, unsigned y, unsigned seed)
{
    return ((x * 7 + seed) & 0xff) << 16 | ((y * 13 + seed * 3) & 0xff) << 8 | ((x ^ y) & 0xff);
}

static void draw_pattern(unsigned seed)
{
    pixman_image_t *img = fb_image();
    uint32_t *p = pixman_image_get_data(img);
    unsigned stride = (unsigned)pixman_image_get_stride(img) / 4;
    for (unsigned y = 0; y < fb_height(); y++)
        for (unsigned x = 0; x < fb_width(); x++)
            p[y * stride + x] = pattern(x, y, seed);
}

static void fill_rect(int x, int y, int w, int h, uint32_t px)
{
    pixman_image_t *img = fb_image();
    uint32_t *p = pixman_image_get_data(img);
    unsigned stride = (unsigned)pixman_image_get_stride(img) / 4;
    for (int r = y; r < y + h; r++)
        for (int c = x; c < x + w; c++)
            p[r * stride + c] = px;
}

/* ----------------------------------------------------------- fb tests --- */

static void test_fb_resize(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    g_assert_cmpint(fb_set_surface(0, 10, PIXMAN_x8r8g8b8, NULL, 0), ==, -EINVAL);
    g_assert_cmpint(fb_set_surface(10, 10, PIXMAN_a8, NULL, 0), ==, -EINVAL);
    g_assert_cmpint(fb_set_surface(20000, 10, PIXMAN_x8r8g8b8, NULL, 0), ==, -EINVAL);
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    g_assert_cmpuint(fb_width(), ==, 320);
    g_assert_cmpuint(fb_height(), ==, 200);
    fb_refresh_now(); /* nobody listens: the dirty region just waits */

    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    g_assert_nonnull(l);
    /* a new listener: resize + one full update in the next pass */
    fb_refresh_now();
    g_assert_cmpuint(t.resizes, ==, 1);
    g_assert_cmpuint(t.rw, ==, 320);
    g_assert_cmpuint(t.rh, ==, 200);
    g_assert_cmpuint(t.rects->len, >=, 1);
    g_assert_cmpuint(tl_area(&t, NULL), ==, 320 * 200);

    tl_clear(&t);
    fb_refresh_now(); /* nothing changed */
    g_assert_cmpuint(t.resizes, ==, 0);
    g_assert_cmpuint(t.rects->len, ==, 0);

    /* new size: resize, then everything */
    g_assert_cmpint(fb_set_surface(640, 480, PIXMAN_r5g6b5, NULL, 0), ==, 0);
    fb_refresh_now();
    g_assert_cmpuint(t.resizes, ==, 1);
    g_assert_cmpuint(t.rw, ==, 640);
    g_assert_cmpuint(tl_area(&t, NULL), ==, 640 * 480);

    /* same size, another format: no resize, but all pixels again */
    tl_clear(&t);
    g_assert_cmpint(fb_set_surface(640, 480, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    fb_refresh_now();
    g_assert_cmpuint(t.resizes, ==, 0);
    g_assert_cmpuint(tl_area(&t, NULL), ==, 640 * 480);

    /* zero-copy: the image wraps the producer's memory */
    uint32_t *mem = g_new0(uint32_t, 100 * 50);
    g_assert_cmpint(fb_set_surface(100, 50, PIXMAN_x8r8g8b8, mem, 400), ==, 0);
    g_assert_true(pixman_image_get_data(fb_image()) == mem);
    g_assert_cmpint(fb_set_surface(100, 50, PIXMAN_x8r8g8b8, mem, 399), ==, -EINVAL);
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    g_free(mem);

    fb_remove_listener(l);
    tl_fini(&t);
}

static void test_fb_producer_rects(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    fb_set_producer(&prod_ops, NULL);
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    fb_refresh_now();
    tl_clear(&t);

    unsigned before = prod.refreshes;
    struct fb_stats st0, st1;
    fb_get_stats(&st0);
    fb_mark_dirty(10, 10, 5, 5);
    fb_mark_dirty(12, 12, 5, 5);
    fb_mark_dirty(10, 10, 5, 5);     /* again: reported once */
    fb_mark_dirty(300, 190, 50, 50); /* clipped to the surface */
    fb_mark_dirty(5, 5, 0, 3);       /* empty: ignored */
    fb_refresh_now();
    g_assert_cmpuint(prod.refreshes, ==, before + 1);
    bool overlap;
    uint64_t area = tl_area(&t, &overlap);
    /* union of the two 5x5 squares (25 + 25 - 9) plus the clipped 20x10 */
    g_assert_cmpuint(area, ==, 41 + 200);
    g_assert_false(overlap);
    for (unsigned i = 0; i < t.rects->len; i++) {
        pixman_box32_t *b = &g_array_index(t.rects, pixman_box32_t, i);
        g_assert_cmpint(b->x1, >=, 0);
        g_assert_cmpint(b->y1, >=, 0);
        g_assert_cmpint(b->x2, <=, 320);
        g_assert_cmpint(b->y2, <=, 200);
    }
    fb_get_stats(&st1);
    g_assert_cmpuint(st1.rects - st0.rects, ==, t.rects->len);

    /* hundreds of scattered changes: one box per tile band instead */
    tl_clear(&t);
    pixman_region32_t want;
    pixman_region32_init(&want);
    for (int r = 0; r < 20; r++)
        for (int c = 0; c < 16; c++) {
            fb_mark_dirty(c * 20, r * 10, 1, 1);
            pixman_region32_union_rect(&want, &want, c * 20, r * 10, 1, 1);
        }
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, <=, (200 + TILE_H - 1) / TILE_H);
    for (unsigned i = 0; i < t.rects->len; i++) {
        pixman_box32_t *bx = &g_array_index(t.rects, pixman_box32_t, i);
        g_assert_cmpint(bx->y1 / TILE_H, ==, (bx->y2 - 1) / TILE_H); /* within one band */
        pixman_region32_t got;
        pixman_region32_init_rect(&got, bx->x1, bx->y1, (unsigned)(bx->x2 - bx->x1),
                                  (unsigned)(bx->y2 - bx->y1));
        pixman_region32_subtract(&want, &want, &got);
        pixman_region32_fini(&got);
    }
    g_assert_false(pixman_region32_not_empty(&want)); /* every change covered */
    pixman_region32_fini(&want);

    /* the producer may mark from inside refresh() */
    tl_clear(&t);
    prod.on_refresh = NULL;
    fb_mark_dirty(0, 0, 1, 1);
    fb_refresh_now();
    g_assert_cmpuint(tl_area(&t, NULL), ==, 1);

    fb_remove_listener(l);
    tl_fini(&t);
}

/* A surface over "VRAM" (heap), tracked with the scripted bitmap. */
static void test_fb_vram(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    /* 256x64x32: 1024 bytes per row, 4 rows per page, 16 pages */
    const unsigned W = 256, H = 64, S = W * 4, PAGES = S * H / 4096;
    uint8_t *vram = aligned_alloc(4096, (size_t)PAGES * 4096);
    memset(vram, 0, (size_t)PAGES * 4096);
    g_assert_cmpint(fb_set_surface(W, H, PIXMAN_x8r8g8b8, vram, S), ==, 0);
    fb_track_vram(0x1000, PAGES, vram, 0);
    fake_hv.dirty_vram_scripted = true;
    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    fb_refresh_now(); /* full frame, shadow initialised */
    g_assert_cmpuint(fake_hv.dirty_vram_nr, ==, PAGES);
    g_assert_cmpuint(fake_hv.dirty_vram_first_gfn, ==, 0x1000);
    tl_clear(&t);

    struct fb_stats a, b;
    uint32_t *px = (uint32_t *)vram;
    /* two pixels change, only page 2 (rows 8..11) is reported */
    px[9 * W + 100] = 0xff0000;
    px[30 * W + 5] = 0x00ff00;
    fake_hv_dirty_vram_page(2);
    fb_get_stats(&a);
    fb_refresh_now();
    fb_get_stats(&b);
    g_assert_cmpuint(b.dirty_fetches - a.dirty_fetches, ==, 1);
    g_assert_cmpuint(t.rects->len, ==, 1);
    pixman_box32_t r = g_array_index(t.rects, pixman_box32_t, 0);
    g_assert_cmpint(r.x1, ==, 100);
    g_assert_cmpint(r.y1, ==, 9);
    g_assert_cmpint(r.x2, ==, 101);
    g_assert_cmpint(r.y2, ==, 10);
    /* page 2 is rows 8..11 of one tile band, 256 px wide: 2 tiles */
    g_assert_cmpuint(b.tiles_compared - a.tiles_compared, ==, W / TILE_W);
    g_assert_cmpuint(b.tiles_changed - a.tiles_changed, ==, 1);

    /* the other change shows when its page (7: rows 28..31) is reported */
    tl_clear(&t);
    fake_hv_dirty_vram_page(7);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 1);
    r = g_array_index(t.rects, pixman_box32_t, 0);
    g_assert_cmpint(r.x1, ==, 5);
    g_assert_cmpint(r.y1, ==, 30);
    g_assert_cmpint(r.x2 - r.x1, ==, 1);
    g_assert_cmpint(r.y2 - r.y1, ==, 1);

    /* reported dirty, but nothing changed: compared, no update */
    tl_clear(&t);
    fake_hv_dirty_vram_page(3);
    fb_get_stats(&a);
    fb_refresh_now();
    fb_get_stats(&b);
    g_assert_cmpuint(t.rects->len, ==, 0);
    g_assert_cmpuint(b.tiles_compared - a.tiles_compared, ==, W / TILE_W);
    g_assert_cmpuint(b.tiles_changed - a.tiles_changed, ==, 0);

    /* nothing reported: no compare at all */
    fb_get_stats(&a);
    fb_refresh_now();
    fb_get_stats(&b);
    g_assert_cmpuint(b.tiles_compared, ==, a.tiles_compared);

    /* a glyph-sized change across pages: one tight box */
    tl_clear(&t);
    for (unsigned y = 40; y < 56; y++)
        for (unsigned x = 70; x < 78; x++)
            px[y * W + x] = 0x123456;
    for (unsigned p = 10; p < 14; p++)
        fake_hv_dirty_vram_page(p);
    fb_refresh_now();
    bool overlap;
    g_assert_cmpuint(tl_area(&t, &overlap), ==, 8 * 16);
    g_assert_false(overlap);

    /* xendm's own write, marked by the producer: sent once, and the shadow
     * follows, so Xen reporting the page later finds nothing new */
    tl_clear(&t);
    px[60 * W + 200] = 0xabcdef;
    fb_mark_dirty(200, 60, 1, 1);
    fb_refresh_now();
    g_assert_cmpuint(tl_area(&t, NULL), ==, 1);
    tl_clear(&t);
    fake_hv_dirty_vram_page(15);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 0);

    /* pages past the surface are ignored */
    fake_hv_dirty_vram_page(PAGES + 3);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 0);

    fb_remove_listener(l);
    fb_track_vram(0, 0, NULL, 0);
    g_assert_cmpuint(fake_hv.dirty_vram_nr, ==, 0); /* tracking stopped */
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    free(vram);
    tl_fini(&t);
}

/* The reported rectangles cover exactly the boxes given (n of them). */
static bool tl_region_is(const struct tl *t, const pixman_box32_t *want, int n)
{
    pixman_region32_t got, exp;
    pixman_region32_init_rects(&got, (const pixman_box32_t *)(void *)t->rects->data,
                               (int)t->rects->len);
    pixman_region32_init_rects(&exp, want, n);
    bool same = pixman_region32_equal(&got, &exp);
    pixman_region32_fini(&got);
    pixman_region32_fini(&exp);
    return same;
}

/* One row touched across every tile: changed and unchanged tiles in one
 * run, a change across a tile edge, the last pixel of a row. */
static void test_fb_vram_runs(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    struct fb_stats a, b;
    /* 1024x32x32: 8 tiles of 128 px, one row per page */
    const unsigned W = 1024, H = 32, S = W * 4, PAGES = S * H / 4096;
    uint8_t *vram = aligned_alloc(4096, (size_t)PAGES * 4096);
    memset(vram, 0, (size_t)PAGES * 4096);
    uint32_t *px = (uint32_t *)vram;
    g_assert_cmpint(fb_set_surface(W, H, PIXMAN_x8r8g8b8, vram, S), ==, 0);
    fb_track_vram(0x3000, PAGES, vram, 0);
    fake_hv.dirty_vram_scripted = true;
    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    fb_refresh_now();
    tl_clear(&t);

    px[5 * W + 10] = 1;    /* tile 0 */
    px[5 * W + 300] = 2;   /* tile 2 ... */
    px[5 * W + 380] = 3;   /* ... to here; tiles 1, 3-6 unchanged */
    px[5 * W + 1023] = 4;  /* tile 7, last pixel of the row */
    px[6 * W + 127] = 5;   /* across the edge of tiles 0 and 1 */
    px[6 * W + 128] = 6;
    px[20 * W + 500] = 7;  /* another band, page not reported yet */
    fake_hv_dirty_vram_page(5);
    fake_hv_dirty_vram_page(6);
    fb_get_stats(&a);
    fb_refresh_now();
    fb_get_stats(&b);
    const pixman_box32_t want[] = {
        {10, 5, 128, 7},     /* tile 0: x 10..127, rows 5..6 */
        {128, 6, 129, 7},    /* tile 1 */
        {300, 5, 381, 6},    /* tile 2 */
        {1023, 5, 1024, 6},  /* tile 7 */
    };
    g_assert_true(tl_region_is(&t, want, 4));
    g_assert_cmpuint(b.tiles_compared - a.tiles_compared, ==, 8);
    g_assert_cmpuint(b.tiles_changed - a.tiles_changed, ==, 4);

    /* the shadow took all of it: the same pages again report nothing */
    tl_clear(&t);
    fake_hv_dirty_vram_page(5);
    fake_hv_dirty_vram_page(6);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 0);

    /* the pixel in row 20 shows once its page is reported */
    fake_hv_dirty_vram_page(20);
    fb_refresh_now();
    const pixman_box32_t want20[] = {{500, 20, 501, 21}};
    g_assert_true(tl_region_is(&t, want20, 1));

    /* a whole changed row: one box, the full width */
    tl_clear(&t);
    for (unsigned x = 0; x < W; x++)
        px[31 * W + x] = 0x00ffffff;
    fake_hv_dirty_vram_page(31);
    fb_refresh_now();
    const pixman_box32_t want31[] = {{0, 31, (int32_t)W, 32}};
    g_assert_true(tl_region_is(&t, want31, 1));

    fb_remove_listener(l);
    fb_track_vram(0, 0, NULL, 0);
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    free(vram);
    tl_fini(&t);
}

/* Wide rows (a page is half a row) and a surface that starts mid-page. */
static void test_fb_vram_layout(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    struct fb_stats a, b;

    /* 2048x8: 8192 bytes per row, a page covers x 0..1023 or 1024..2047 */
    const unsigned W = 2048, H = 8, S = W * 4, PAGES = S * H / 4096;
    uint8_t *vram = aligned_alloc(4096, (size_t)PAGES * 4096);
    memset(vram, 0, (size_t)PAGES * 4096);
    g_assert_cmpint(fb_set_surface(W, H, PIXMAN_x8r8g8b8, vram, S), ==, 0);
    fb_track_vram(0x2000, PAGES, vram, 0);
    fake_hv.dirty_vram_scripted = true;
    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    fb_refresh_now();
    tl_clear(&t);
    ((uint32_t *)vram)[3 * W + 1500] = 1;
    fake_hv_dirty_vram_page((3 * S + 1500 * 4) / 4096);
    fb_get_stats(&a);
    fb_refresh_now();
    fb_get_stats(&b);
    /* only the right half of row 3: 1024 px */
    g_assert_cmpuint(b.tiles_compared - a.tiles_compared, ==, 1024 / TILE_W);
    g_assert_cmpuint(t.rects->len, ==, 1);
    pixman_box32_t r = g_array_index(t.rects, pixman_box32_t, 0);
    g_assert_cmpint(r.x1, ==, 1500);
    g_assert_cmpint(r.y1, ==, 3);
    fb_remove_listener(l);
    free(vram);

    /* 16-bit surface starting 2048 bytes into the VRAM */
    const unsigned W2 = 512, H2 = 32, S2 = W2 * 2, OFF = 2048;
    const unsigned PAGES2 = (OFF + S2 * H2 + 4095) / 4096;
    vram = aligned_alloc(4096, (size_t)PAGES2 * 4096);
    memset(vram, 0, (size_t)PAGES2 * 4096);
    g_assert_cmpint(fb_set_surface(W2, H2, PIXMAN_r5g6b5, vram + OFF, S2), ==, 0);
    fb_track_vram(0x3000, PAGES2, vram, OFF);
    tl_clear(&t);
    l = fb_add_listener(&tl_ops, &t);
    fb_refresh_now();
    tl_clear(&t);
    uint16_t *p16 = (uint16_t *)(vram + OFF);
    p16[1 * W2 + 7] = 0xf800; /* row 1: VRAM bytes 3072.. -> page 0 */
    p16[2 * W2 + 9] = 0x07e0; /* row 2: VRAM bytes 4096.. -> page 1 */
    fake_hv_dirty_vram_page(0);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 1);
    r = g_array_index(t.rects, pixman_box32_t, 0);
    g_assert_cmpint(r.x1, ==, 7);
    g_assert_cmpint(r.y1, ==, 1);
    tl_clear(&t);
    fake_hv_dirty_vram_page(1);
    fb_refresh_now();
    g_assert_cmpuint(t.rects->len, ==, 1);
    r = g_array_index(t.rects, pixman_box32_t, 0);
    g_assert_cmpint(r.x1, ==, 9);
    g_assert_cmpint(r.y1, ==, 2);

    fb_remove_listener(l);
    fb_track_vram(0, 0, NULL, 0);
    g_assert_cmpint(fb_set_surface(320, 200, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    free(vram);
    tl_fini(&t);
}

static void bump(void)
{
    fb_mark_dirty(0, 0, 4, 4);
}

static void test_fb_timer(void)
{
    fb_reset();
    struct tl t;
    tl_init(&t);
    struct fb_stats st;
    fb_set_producer(&prod_ops, NULL);
    g_assert_cmpint(fb_set_surface(64, 64, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);

    /* nobody listening: no timer, no refreshes */
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 0);
    unsigned before = prod.refreshes;
    run_for(100);
    g_assert_cmpuint(prod.refreshes, ==, before);

    struct fb_listener *l = fb_add_listener(&tl_ops, &t);
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 16);
    g_assert_true(WAIT_FOR(t.resizes == 1, WAIT_MS)); /* the timer ran a pass */

    /* idle: backs off to 3 s */
    g_assert_true(WAIT_FOR((fb_get_stats(&st), st.interval_ms == 3000), WAIT_MS));

    /* changing: back to 16 ms after the first pass that sees a change */
    tl_clear(&t);
    prod.on_refresh = bump;
    g_assert_true(WAIT_FOR(t.rects->len > 0, WAIT_MS));
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 16);
    unsigned r0 = prod.refreshes;
    g_assert_true(WAIT_FOR(prod.refreshes >= r0 + 5, WAIT_MS));
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 16);

    /* idle again, then input: at once back to 16 ms */
    prod.on_refresh = NULL;
    g_assert_true(WAIT_FOR((fb_get_stats(&st), st.interval_ms >= 128), WAIT_MS));
    fb_kick();
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 16);

    /* last listener gone: timer gone */
    fb_remove_listener(l);
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 0);
    before = prod.refreshes;
    run_for(100);
    g_assert_cmpuint(prod.refreshes, ==, before);
    fb_kick(); /* no listeners: stays idle */
    fb_get_stats(&st);
    g_assert_cmpuint(st.interval_ms, ==, 0);
    tl_fini(&t);
}

/* --------------------------------------------------- test input sink ---- */

struct key_ev {
    unsigned qnum;
    bool down;
};

static GArray *keys;     /* struct key_ev */
static GArray *pointers; /* struct input_pointer_event */

static void sink_key(void *opaque, unsigned qnum, bool down)
{
    struct key_ev k = {qnum, down};
    g_array_append_val(keys, k);
}

static void sink_pointer(void *opaque, const struct input_pointer_event *ev)
{
    g_array_append_val(pointers, *ev);
}

static const struct input_sink_ops sink_ops = {
    .name = "test-kbd-tablet",
    .kinds = INPUT_KIND_KEY | INPUT_KIND_ABS,
    .priority = INPUT_PRIO_USB,
    .key = sink_key,
    .pointer = sink_pointer,
};

static const struct input_sink_ops rel_ops = {
    .name = "test-mouse",
    .kinds = INPUT_KIND_REL,
    .priority = INPUT_PRIO_USB + 1,
    .pointer = sink_pointer,
};

static bool keys_are(const struct key_ev *want, unsigned n)
{
    if (keys->len != n)
        return false;
    for (unsigned i = 0; i < n; i++) {
        struct key_ev *k = &g_array_index(keys, struct key_ev, i);
        if (k->qnum != want[i].qnum || k->down != want[i].down)
            return false;
    }
    return true;
}

static void dump_keys(void)
{
    for (unsigned i = 0; i < keys->len; i++) {
        struct key_ev *k = &g_array_index(keys, struct key_ev, i);
        g_test_message("key %#x %s", k->qnum, k->down ? "down" : "up");
    }
}

/* -------------------------------------------------- libvncclient viewer -- */

static void tc_free(struct vv *t)
{
    vv_stop(t);
    /* the server's main loop must keep running while the viewer leaves */
    WAIT_FOR(vv_state(t) != VV_CONNECTING && vv_state(t) != VV_UP, WAIT_MS);
    vv_free(t);
}

/* Does the viewer show exactly the current surface? */
static bool tc_matches_fb(struct vv *t)
{
    pixman_image_t *src = fb_image();
    unsigned w = fb_width(), h = fb_height();
    /* convert whatever format to x8r8g8b8 with pixman (stride w * 4) */
    pixman_image_t *ref = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, NULL, 0);
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, ref, 0, 0, 0, 0, 0, 0, (int)w, (int)h);
    g_assert_cmpint(pixman_image_get_stride(ref), ==, (int)w * 4);
    pthread_mutex_lock(&t->lock);
    bool ok = vv_diff_locked(t, pixman_image_get_data(ref), w, h) == -1;
    pthread_mutex_unlock(&t->lock);
    pixman_image_unref(ref);
    return ok;
}

static struct vnc *start_vnc(const char *spec)
{
    GError *err = NULL;
    struct vnc *v = vnc_start(spec, &err);
    g_assert_no_error(err);
    g_assert_nonnull(v);
    return v;
}

static unsigned vnc_clients(struct vnc *v)
{
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    return st.clients;
}

static unsigned vnc_handshaking(struct vnc *v)
{
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    return st.handshaking;
}

/* A connected viewer (asserts that it got in). */
static struct vv *viewer(struct vnc *v, bool shared, const char *password, const char *enc)
{
    struct vv *t = vv_new(vnc_port(v), shared, password, enc);
    g_assert_true(WAIT_FOR(vv_state(t) != VV_CONNECTING, WAIT_MS));
    g_assert_cmpint(vv_state(t), ==, VV_UP);
    return t;
}

static void vnc_surface(unsigned w, unsigned h, unsigned seed)
{
    fb_reset();
    fb_set_producer(&prod_ops, NULL);
    g_assert_cmpint(fb_set_surface(w, h, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    draw_pattern(seed);
}

/* ---------------------------------------------------------- vnc tests --- */

static void test_vnc_spec(void)
{
    static const char *bad[] = {
        "127.0.0.1",
        "127.0.0.1:x",
        "127.0.0.1:50,foo=1",
        "127.0.0.1:50,to=abc",
        "127.0.0.1:50,share=nope",
        "127.0.0.1:50,password=maybe",
        "unix:/tmp/x",
        "127.0.0.1:50,connections=0",
        "127.0.0.1:70000",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        struct vnc *v = vnc_start(bad[i], &err);
        g_assert_null(v);
        g_assert_nonnull(err);
        g_test_message("%s -> %s", bad[i], err->message);
        g_error_free(err);
    }
    GError *err = NULL;
    g_assert_null(vnc_start("127.0.0.1:50,websocket=5700", &err));
    g_assert_nonnull(strstr(err->message, "websocket"));
    g_clear_error(&err);

    /* a password without password=on is refused, as by QEMU */
    struct vnc *v = start_vnc("127.0.0.1:50");
    g_assert_cmpint(vnc_set_password(v, "x"), ==, -EINVAL);
    g_assert_cmpint(vnc_set_keymap(v, "no-such-layout-xx", &err), ==, -EINVAL);
    g_assert_nonnull(err);
    g_clear_error(&err);
    vnc_stop(v);

    /* ",," is a literal comma, and "password" alone means on */
    v = start_vnc("127.0.0.1:50,password,share=ignore");
    g_assert_cmpint(vnc_set_password(v, "x"), ==, 0);
    vnc_stop(v);
}

static int occupy(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1; /* like any server: TIME_WAIT from earlier tests is fine */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static void test_vnc_port_search(void)
{
    int d = BASE_DISPLAY + 1;
    int f0 = occupy(5900 + d);
    struct vnc *v = start_vnc("127.0.0.1:51,to=53");
    g_assert_cmpint(vnc_port(v), ==, 5900 + d + 1);
    g_assert_cmpstr(vnc_host(v), ==, "127.0.0.1");
    vnc_stop(v);

    int f1 = occupy(5900 + d + 1), f2 = occupy(5900 + d + 2);
    GError *err = NULL;
    g_assert_null(vnc_start("127.0.0.1:51,to=53", &err));
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
    g_clear_error(&err);
    /* without to= only the one port is tried */
    g_assert_null(vnc_start("127.0.0.1:51", &err));
    g_clear_error(&err);
    close(f2);
    v = start_vnc("127.0.0.1:51,to=53"); /* L is inclusive */
    g_assert_cmpint(vnc_port(v), ==, 5900 + d + 2);
    vnc_stop(v);
    close(f0);
    close(f1);
}

static void test_vnc_framebuffer(void)
{
    vnc_surface(320, 200, 1);
    struct vnc *v = start_vnc("127.0.0.1:52");
    struct vv *a = viewer(v, true, NULL, "raw");
    struct vv *b = viewer(v, true, NULL, "zrle hextile raw");
    g_assert_true(WAIT_FOR(vnc_clients(v) == 2, WAIT_MS));
    /* both see what the producer drew */
    g_assert_true(WAIT_FOR(tc_matches_fb(a) && tc_matches_fb(b), WAIT_MS));

    /* a change after connecting arrives */
    fill_rect(10, 20, 30, 40, 0x00ff8040);
    fb_mark_dirty(10, 20, 30, 40);
    g_assert_true(WAIT_FOR(tc_matches_fb(a) && tc_matches_fb(b), WAIT_MS));

    /* a resize reaches the viewers, with the new picture */
    g_assert_cmpint(fb_set_surface(400, 300, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    draw_pattern(2);
    g_assert_true(WAIT_FOR(tc_matches_fb(a) && tc_matches_fb(b), WAIT_MS));

    /* a 16-bit surface is converted */
    g_assert_cmpint(fb_set_surface(256, 128, PIXMAN_r5g6b5, NULL, 0), ==, 0);
    uint16_t *p = (uint16_t *)pixman_image_get_data(fb_image());
    for (unsigned i = 0; i < 256 * 128; i++)
        p[i] = (uint16_t)(i * 2654435761u >> 16);
    g_assert_true(WAIT_FOR(tc_matches_fb(a) && tc_matches_fb(b), WAIT_MS));

    struct vnc_stats st;
    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.resizes, >=, 2);
    tc_free(a);
    tc_free(b);
    g_assert_true(WAIT_FOR(vnc_clients(v) == 0, WAIT_MS));
    /* nobody watching: the framebuffer core is idle again */
    struct fb_stats fst;
    fb_get_stats(&fst);
    g_assert_cmpuint(fst.interval_ms, ==, 0);
    vnc_stop(v);
}

static void test_vnc_password(void)
{
    vnc_surface(64, 64, 3);
    struct vnc *v = start_vnc("127.0.0.1:53,password=on");
    struct vnc_stats st;

    /* no password set yet: every attempt fails (libvncclient will not send
     * an empty password, so two guesses) */
    struct vv *t = vv_new(vnc_port(v), true, "guess", NULL);
    g_assert_true(WAIT_FOR(vv_state(t) != VV_CONNECTING, WAIT_MS));
    g_assert_cmpint(vv_state(t), ==, VV_REFUSED);
    tc_free(t);
    t = vv_new(vnc_port(v), true, "secret", NULL);
    g_assert_true(WAIT_FOR(vv_state(t) != VV_CONNECTING, WAIT_MS));
    g_assert_cmpint(vv_state(t), ==, VV_REFUSED);
    tc_free(t);
    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.auth_failures, ==, 2);

    g_assert_cmpint(vnc_set_password(v, "secret"), ==, 0);
    t = viewer(v, true, "secret", NULL);
    g_assert_true(WAIT_FOR(tc_matches_fb(t), WAIT_MS));
    tc_free(t);
    t = vv_new(vnc_port(v), true, "wrong", NULL);
    g_assert_true(WAIT_FOR(vv_state(t) != VV_CONNECTING, WAIT_MS));
    g_assert_cmpint(vv_state(t), ==, VV_REFUSED);
    tc_free(t);

    /* 8 significant characters */
    g_assert_cmpint(vnc_set_password(v, "secret12X"), ==, 0);
    t = viewer(v, true, "secret12Y", NULL);
    tc_free(t);

    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.auth_failures, ==, 3);
    vnc_stop(v);
}

static bool is_closed(struct vv *t)
{
    enum vv_state s = vv_state(t);
    return s == VV_DROPPED || s == VV_STOPPED;
}

static void test_vnc_share_allow_exclusive(void)
{
    vnc_surface(64, 64, 4);
    struct vnc *v = start_vnc("127.0.0.1:54"); /* default policy */
    struct vv *a = viewer(v, true, NULL, NULL);
    struct vv *b = viewer(v, true, NULL, NULL);
    g_assert_true(WAIT_FOR(vnc_clients(v) == 2, WAIT_MS));
    /* an exclusive viewer (gvnccapture, TigerVNC's default) drops the others */
    struct vv *c = viewer(v, false, NULL, NULL);
    g_assert_true(WAIT_FOR(is_closed(a) && is_closed(b), WAIT_MS));
    g_assert_true(WAIT_FOR(vnc_clients(v) == 1, WAIT_MS));
    g_assert_true(WAIT_FOR(tc_matches_fb(c), WAIT_MS));
    /* while it is there, shared viewers are turned away */
    struct vv *d = vv_new(vnc_port(v), true, NULL, NULL);
    g_assert_true(WAIT_FOR(vv_state(d) == VV_REFUSED || is_closed(d), WAIT_MS));
    g_assert_false(is_closed(c));
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.kicked, ==, 2);
    g_assert_cmpuint(st.refused, ==, 1);
    tc_free(a);
    tc_free(b);
    tc_free(c);
    tc_free(d);
    vnc_stop(v);
}

static void test_vnc_share_force_shared(void)
{
    vnc_surface(64, 64, 5);
    struct vnc *v = start_vnc("127.0.0.1:55,share=force-shared");
    struct vv *a = viewer(v, true, NULL, NULL);
    struct vv *b = vv_new(vnc_port(v), false, NULL, NULL);
    g_assert_true(WAIT_FOR(vv_state(b) == VV_REFUSED || is_closed(b), WAIT_MS));
    g_assert_cmpuint(vnc_clients(v), ==, 1);
    g_assert_false(is_closed(a));
    g_assert_true(WAIT_FOR(tc_matches_fb(a), WAIT_MS));
    tc_free(a);
    tc_free(b);
    vnc_stop(v);
}

static void test_vnc_share_ignore(void)
{
    vnc_surface(64, 64, 6);
    struct vnc *v = start_vnc("127.0.0.1:56,share=ignore,connections=2");
    struct vv *a = viewer(v, true, NULL, NULL);
    struct vv *b = viewer(v, false, NULL, NULL);
    g_assert_true(WAIT_FOR(vnc_clients(v) == 2, WAIT_MS));
    run_for(100);
    g_assert_false(is_closed(a));
    g_assert_false(is_closed(b));
    /* connections=2: a third is refused */
    struct vv *c = vv_new(vnc_port(v), true, NULL, NULL);
    g_assert_true(WAIT_FOR(vv_state(c) == VV_REFUSED || is_closed(c), WAIT_MS));
    g_assert_cmpuint(vnc_clients(v), ==, 2);
    g_assert_true(WAIT_FOR(tc_matches_fb(a) && tc_matches_fb(b), WAIT_MS));
    tc_free(a);
    tc_free(b);
    tc_free(c);
    vnc_stop(v);
}

static void keys_reset(void)
{
    g_array_set_size(keys, 0);
    g_array_set_size(pointers, 0);
}

static void type_key(struct vv *t, uint32_t keysym)
{
    vv_key(t, keysym, true);
    vv_key(t, keysym, false);
}

static void test_vnc_keys_us(void)
{
    vnc_surface(64, 64, 7);
    struct vnc *v = start_vnc("127.0.0.1:57");
    GError *err = NULL;
    g_assert_cmpint(vnc_set_keymap(v, "en-us", &err), ==, 0);
    g_assert_no_error(err);
    struct vv *t = viewer(v, true, NULL, NULL);
    keys_reset();
    type_key(t, XKB_KEY_a);
    const struct key_ev a[] = {{0x1e, true}, {0x1e, false}};
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(a, 2));

    /* 'A' while the viewer holds Shift: no extra modifiers */
    keys_reset();
    vv_key(t, XKB_KEY_Shift_L, true);
    type_key(t, XKB_KEY_A);
    vv_key(t, XKB_KEY_Shift_L, false);
    const struct key_ev sa[] = {{0x2a, true}, {0x1e, true}, {0x1e, false}, {0x2a, false}};
    g_assert_true(WAIT_FOR(keys->len >= 4, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(sa, 4));

    /* 'A' without Shift held (caps lock on the viewer): Shift added */
    keys_reset();
    type_key(t, XKB_KEY_A);
    g_assert_true(WAIT_FOR(keys->len >= 4, WAIT_MS));
    g_assert_true(keys_are(sa, 4));

    /* function keys: Return, Up (0xe0-prefixed) */
    keys_reset();
    type_key(t, XKB_KEY_Return);
    type_key(t, XKB_KEY_Up);
    const struct key_ev fk[] = {{0x1c, true}, {0x1c, false}, {0xc8, true}, {0xc8, false}};
    g_assert_true(WAIT_FOR(keys->len >= 4, WAIT_MS));
    g_assert_true(keys_are(fk, 4));

    /* a keysym the layout cannot type is dropped and counted */
    keys_reset();
    type_key(t, XKB_KEY_Greek_alpha);
    type_key(t, XKB_KEY_b);
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    const struct key_ev b[] = {{0x30, true}, {0x30, false}};
    g_assert_true(keys_are(b, 2));
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.keys_unmapped, ==, 1);

    /* a key still held when the viewer leaves is released */
    keys_reset();
    vv_key(t, XKB_KEY_c, true);
    g_assert_true(WAIT_FOR(keys->len >= 1, WAIT_MS));
    tc_free(t);
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    const struct key_ev c[] = {{0x2e, true}, {0x2e, false}};
    g_assert_true(keys_are(c, 2));
    vnc_stop(v);
}

static void test_vnc_keys_de(void)
{
    vnc_surface(64, 64, 8);
    struct vnc *v = start_vnc("127.0.0.1:58");
    GError *err = NULL;
    g_assert_cmpint(vnc_set_keymap(v, "de", &err), ==, 0);
    g_assert_no_error(err);
    struct vv *t = viewer(v, true, NULL, NULL);

    /* 'z' is on the physical Y key of a German keyboard */
    keys_reset();
    type_key(t, XKB_KEY_z);
    const struct key_ev z[] = {{0x15, true}, {0x15, false}};
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(z, 2));

    /* '@' is AltGr+Q */
    keys_reset();
    type_key(t, XKB_KEY_at);
    const struct key_ev at[] = {{0xb8, true}, {0x10, true}, {0x10, false}, {0xb8, false}};
    g_assert_true(WAIT_FOR(keys->len >= 4, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(at, 4));

    /* a US viewer's Shift+2 arrives as '@' with Shift held: Shift is
     * lifted around AltGr+Q and pressed again */
    keys_reset();
    vv_key(t, XKB_KEY_Shift_L, true);
    type_key(t, XKB_KEY_at);
    vv_key(t, XKB_KEY_Shift_L, false);
    const struct key_ev sat[] = {{0x2a, true},  {0x2a, false}, {0xb8, true}, {0x10, true},
                                 {0x10, false}, {0xb8, false}, {0x2a, true}, {0x2a, false}};
    g_assert_true(WAIT_FOR(keys->len >= 8, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(sat, 8));

    /* function keys come from the layout or, where it has none, from us */
    keys_reset();
    type_key(t, XKB_KEY_Home);
    const struct key_ev home[] = {{0xc7, true}, {0xc7, false}};
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    g_assert_true(keys_are(home, 2));
    tc_free(t);
    vnc_stop(v);
}

static void test_vnc_extended_key(void)
{
    vnc_surface(64, 64, 9);
    struct vnc *v = start_vnc("127.0.0.1:59");
    GError *err = NULL;
    g_assert_cmpint(vnc_set_keymap(v, "de", &err), ==, 0);
    struct vv *t = viewer(v, true, NULL, NULL);
    /* the server acknowledged pseudo-encoding -258 */
    g_assert_true(WAIT_FOR(vv_status(t).extkey, WAIT_MS));
    keys_reset();
    /* scancode 0x1e with keysym 'q': the scancode wins, whatever -k says */
    vv_extkey(t, XKB_KEY_q, 0x1e, 1);
    vv_extkey(t, XKB_KEY_q, 0x1e, 0);
    /* an 0xe0-prefixed key: right Ctrl */
    vv_extkey(t, XKB_KEY_Control_R, 0x9d, 1);
    vv_extkey(t, XKB_KEY_Control_R, 0x9d, 0);
    const struct key_ev want[] = {{0x1e, true}, {0x1e, false}, {0x9d, true}, {0x9d, false}};
    g_assert_true(WAIT_FOR(keys->len >= 4, WAIT_MS));
    dump_keys();
    g_assert_true(keys_are(want, 4));
    /* keycode 0: fall back to the keysym ('z' on de = 0x15) */
    keys_reset();
    vv_extkey(t, XKB_KEY_z, 0, 1);
    vv_extkey(t, XKB_KEY_z, 0, 0);
    const struct key_ev z[] = {{0x15, true}, {0x15, false}};
    g_assert_true(WAIT_FOR(keys->len >= 2, WAIT_MS));
    g_assert_true(keys_are(z, 2));
    tc_free(t);
    vnc_stop(v);
}

static void test_vnc_pointer(void)
{
    vnc_surface(321, 201, 10);
    struct vnc *v = start_vnc("127.0.0.1:60");
    struct vv *t = viewer(v, true, NULL, NULL);
    keys_reset();
    /* absolute sink (the test's tablet): scaled to 0..0x7fff */
    vv_pointer(t, 320, 200, 0x01);
    vv_pointer(t, 160, 100, 0x04);
    g_assert_true(WAIT_FOR(pointers->len >= 2, WAIT_MS));
    struct input_pointer_event *e = &g_array_index(pointers, struct input_pointer_event, 0);
    g_assert_true(e->absolute);
    g_assert_cmpint(e->x, ==, INPUT_ABS_MAX);
    g_assert_cmpint(e->y, ==, INPUT_ABS_MAX);
    g_assert_cmpuint(e->buttons, ==, INPUT_BTN_LEFT);
    e = &g_array_index(pointers, struct input_pointer_event, 1);
    g_assert_cmpint(e->x, ==, INPUT_ABS_MAX / 2);
    g_assert_cmpuint(e->buttons, ==, INPUT_BTN_RIGHT);

    /* a relative sink above it: deltas, wheel clicks */
    struct input_sink *rel = input_sink_register(&rel_ops, NULL);
    keys_reset();
    vv_pointer(t, 100, 100, 0);
    vv_pointer(t, 110, 95, 0x08); /* wheel up press */
    g_assert_true(WAIT_FOR(pointers->len >= 2, WAIT_MS));
    e = &g_array_index(pointers, struct input_pointer_event, pointers->len - 1);
    g_assert_false(e->absolute);
    g_assert_cmpint(e->x, ==, 10);
    g_assert_cmpint(e->y, ==, -5);
    g_assert_cmpint(e->wheel, ==, 1);
    input_sink_unregister(rel);
    tc_free(t);
    vnc_stop(v);
}

/* --------------------------------------------- a viewer that stops reading */

struct stall {
    int port;
    int fd;
    gint stop;
    gint ready;
    GThread *th;
};

/* A hand-written RFB 3.8 client: handshake, then only requests updates. */
static gpointer stall_main(gpointer data)
{
    struct stall *s = data;
    struct rfbp_server_init si;
    const char *why;
    int fd = rfbp_connect(s->port, 4096);
    if (fd < 0 || !rfbp_handshake(fd, &si, WAIT_MS, &why) || !rfbp_set_encodings_raw(fd)) {
        g_atomic_int_set(&s->ready, -1);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    s->fd = fd;
    g_atomic_int_set(&s->ready, 1);
    /* never read again; keep asking for the whole screen */
    static const uint8_t req[10] = {3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    while (!g_atomic_int_get(&s->stop)) {
        if (send(fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
            break;
        g_usleep(5000);
    }
    return NULL;
}

static unsigned churn_seed;
static void churn(void)
{
    /* the whole screen changes on every refresh */
    fill_rect(0, 0, (int)fb_width(), (int)fb_height(), 0x010101u * (++churn_seed & 0xff));
    fb_mark_dirty(0, 0, (int)fb_width(), (int)fb_height());
}

static gint64 last_tick, max_gap;
static gboolean gap_tick(gpointer p)
{
    gint64 now = g_get_monotonic_time();
    if (last_tick && now - last_tick > max_gap)
        max_gap = now - last_tick;
    last_tick = now;
    return G_SOURCE_CONTINUE;
}

static int unread_bytes(int fd)
{
    int n = -1;
    ioctl(fd, FIONREAD, &n);
    return n;
}

static void test_vnc_stalled_client(void)
{
    vnc_surface(1600, 1200, 11);
    struct vnc *v = start_vnc("127.0.0.1:61");
    struct vv *good = viewer(v, true, NULL, "raw");
    struct stall s = {.port = vnc_port(v), .fd = -1};
    s.th = g_thread_new("test-stall", stall_main, &s);
    g_assert_true(WAIT_FOR(g_atomic_int_get(&s.ready) != 0, WAIT_MS));
    g_assert_cmpint(g_atomic_int_get(&s.ready), ==, 1);
    g_assert_true(WAIT_FOR(vnc_clients(v) == 2, WAIT_MS));

    /* the screen churns; the stalled viewer's buffers fill up */
    prod.on_refresh = churn;
    g_assert_true(WAIT_FOR(unread_bytes(s.fd) > 0, WAIT_MS));
    run_for(500);
    long rss0 = rss_kb();
    int q0 = unread_bytes(s.fd);
    struct fb_stats f0, f1;
    fb_get_stats(&f0);
    unsigned u0 = vv_status(good).frames;
    last_tick = max_gap = 0;
    guint gt = g_timeout_add(10, gap_tick, NULL);
    run_for(2000);
    g_source_remove(gt);
    fb_get_stats(&f1);
    unsigned u1 = vv_status(good).frames;
    long rss1 = rss_kb();
    int q1 = unread_bytes(s.fd);
    g_test_message("stalled: unread %d -> %d bytes; good viewer +%u updates; refreshes +%" PRIu64
                   "; longest main-loop gap %" G_GINT64_FORMAT " us; RSS %ld -> %ld kB",
                   q0, q1, u1 - u0, f1.refreshes - f0.refreshes, max_gap, rss0, rss1);
    /* the stalled viewer really is stalled: nothing more reaches it */
    g_assert_cmpint(q1, ==, q0);
    /* the main loop kept running: refreshes at the fast rate, no long gap */
    g_assert_cmpuint(f1.refreshes - f0.refreshes, >=, 5);
    g_assert_cmpint(max_gap, <, 1000000);
    /* the other viewer kept getting frames */
    g_assert_cmpuint(u1 - u0, >=, 5);
    /* nothing piles up for the stalled viewer */
    g_assert_cmpint(rss1 - rss0, <, RSS_BOUND_KB);

    /* a resize cannot wait for it forever: it is dropped, the rest resize */
    unsigned before = vnc_clients(v);
    prod.on_refresh = NULL;
    g_assert_cmpint(fb_set_surface(800, 600, PIXMAN_x8r8g8b8, NULL, 0), ==, 0);
    draw_pattern(12);
    g_assert_true(WAIT_FOR(tc_matches_fb(good), WAIT_MS));
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    g_test_message("resize retries %" PRIu64 ", kicked %" PRIu64, st.resize_retries, st.kicked);
    if (before == 2)
        g_assert_cmpuint(st.kicked, ==, 1);
    else /* only under heavy instrumentation (TSan): the stall outlasted
          * VNC_CLIENT_TIMEOUT_MS and libvncserver dropped the viewer first */
        g_test_message("stalled viewer timed out before the resize");
    g_assert_true(WAIT_FOR(vnc_clients(v) == 1, WAIT_MS));

    g_atomic_int_set(&s.stop, 1);
    g_thread_join(s.th);
    close(s.fd);
    tc_free(good);
    vnc_stop(v);
}

static void test_vnc_query(void)
{
    vnc_surface(64, 64, 13);
    JsonBuilder *b = json_builder_new();
    vnc_query(NULL, b);
    JsonNode *n = json_builder_get_root(b);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(n), "enabled"));
    json_node_unref(n);
    g_object_unref(b);

    struct vnc *v = start_vnc("127.0.0.1:62,password=on");
    g_assert_cmpint(vnc_set_password(v, "pw"), ==, 0);
    struct vv *t = viewer(v, true, "pw", NULL);
    g_assert_true(WAIT_FOR(vnc_clients(v) == 1, WAIT_MS));
    b = json_builder_new();
    vnc_query(v, b);
    n = json_builder_get_root(b);
    JsonObject *o = json_node_get_object(n);
    g_assert_true(json_object_get_boolean_member(o, "enabled"));
    g_assert_cmpstr(json_object_get_string_member(o, "host"), ==, "127.0.0.1");
    g_assert_cmpstr(json_object_get_string_member(o, "service"), ==, "5962");
    g_assert_cmpstr(json_object_get_string_member(o, "family"), ==, "ipv4");
    g_assert_cmpstr(json_object_get_string_member(o, "auth"), ==, "vnc");
    JsonArray *cl = json_object_get_array_member(o, "clients");
    g_assert_cmpuint(json_array_get_length(cl), ==, 1);
    JsonObject *c0 = json_array_get_object_element(cl, 0);
    g_assert_cmpstr(json_object_get_string_member(c0, "host"), ==, "127.0.0.1");
    g_assert_cmpstr(json_object_get_string_member(c0, "family"), ==, "ipv4");
    g_assert_false(json_object_get_boolean_member(c0, "websocket"));
    json_node_unref(n);
    g_object_unref(b);
    tc_free(t);
    vnc_stop(v);
}

/* A handshake that never finishes does not hold anything up; a garbage
 * greeting is refused. */
static void test_vnc_bad_handshakes(void)
{
    vnc_surface(64, 64, 14);
    struct vnc *v = start_vnc("127.0.0.1:63");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)vnc_port(v))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_true(WAIT_FOR(vnc_handshaking(v) == 1, WAIT_MS));
    /* a real viewer gets in while the silent one waits */
    struct vv *t = viewer(v, true, NULL, NULL);
    g_assert_true(WAIT_FOR(tc_matches_fb(t), WAIT_MS));
    g_assert_cmpint(write(fd, "GARBAGE GARB", 12), ==, 12);
    g_assert_true(WAIT_FOR(vnc_handshaking(v) == 0, WAIT_MS));
    struct vnc_stats st;
    vnc_get_stats(v, &st);
    g_assert_cmpuint(st.refused, ==, 1);
    close(fd);
    tc_free(t);
    vnc_stop(v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vv_quiet();
    keys = g_array_new(FALSE, FALSE, sizeof(struct key_ev));
    pointers = g_array_new(FALSE, FALSE, sizeof(struct input_pointer_event));
    struct input_sink *sink = input_sink_register(&sink_ops, NULL);

    g_test_add_func("/fb/resize", test_fb_resize);
    g_test_add_func("/fb/producer-rects", test_fb_producer_rects);
    g_test_add_func("/fb/vram", test_fb_vram);
    g_test_add_func("/fb/vram-layout", test_fb_vram_layout);
    g_test_add_func("/fb/vram-runs", test_fb_vram_runs);
    g_test_add_func("/fb/timer", test_fb_timer);
    g_test_add_func("/vnc/spec", test_vnc_spec);
    g_test_add_func("/vnc/port-search", test_vnc_port_search);
    g_test_add_func("/vnc/framebuffer", test_vnc_framebuffer);
    g_test_add_func("/vnc/password", test_vnc_password);
    g_test_add_func("/vnc/share-allow-exclusive", test_vnc_share_allow_exclusive);
    g_test_add_func("/vnc/share-force-shared", test_vnc_share_force_shared);
    g_test_add_func("/vnc/share-ignore", test_vnc_share_ignore);
    g_test_add_func("/vnc/keys-us", test_vnc_keys_us);
    g_test_add_func("/vnc/keys-de", test_vnc_keys_de);
    g_test_add_func("/vnc/extended-key", test_vnc_extended_key);
    g_test_add_func("/vnc/pointer", test_vnc_pointer);
    g_test_add_func("/vnc/stalled-client", test_vnc_stalled_client);
    g_test_add_func("/vnc/query", test_vnc_query);
    g_test_add_func("/vnc/bad-handshakes", test_vnc_bad_handshakes);
    int rc = g_test_run();
    input_sink_unregister(sink);
    g_array_free(keys, TRUE);
    g_array_free(pointers, TRUE);
    return rc;
}
