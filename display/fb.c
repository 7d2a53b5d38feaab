/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The framebuffer core of fb.h: one surface, one producer, any number of
 * listeners, one refresh timer on the default GMainContext.
 *
 * A refresh pass (timer tick or fb_refresh_now()):
 *   1. the producer's refresh() brings the surface up to date and reports
 *      what it re-rendered with fb_mark_dirty();
 *   2. with VRAM tracking on, Xen's dirty-VRAM bitmap is fetched once
 *      (hv_track_dirty_vram) and every dirty page is mapped to the surface
 *      rows and columns it holds; only those tile rows are compared with a
 *      shadow copy (one memcmp per run of touched tiles in a row, tile by
 *      tile only where it differs), and each changed tile contributes the
 *      exact bounding box of its changed pixels;
 *   3. producer rectangles and changed tiles are merged in a pixman region;
 *      listeners get resize() if the size changed, then update() for each of
 *      the region's boxes (or its extents when there are too many).
 * A new listener gets resize() and a full update() in the next pass.
 *
 * The shadow exists only while VRAM is tracked.  It is kept equal to the
 * surface for every pixel that has been reported: tile compares copy the
 * rows that differ, producer rectangles are copied too (writes xendm makes
 * itself are not in Xen's bitmap, so producers mark them).
 *
 * Interval: FB_REFRESH_MIN_MS after any change (or fb_kick()), doubling per
 * quiet pass up to FB_REFRESH_MAX_MS; no timer at all without listeners.
 *
 * The cursor plane is in fb-cursor.c.  Left out: multiple surfaces/heads.
 *
 * Threads: main thread only (fb.h).
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "display/fb.h"
#include "src/hv.h"
#include "src/log.h"

/*
 * Tuning.  Tile size, measured with a refresh-pass bench (fb.c with the
 * fake hypervisor's scripted bitmap, 1024x768x32 surface over tracked
 * VRAM, gcc -O2; thread CPU time per pass, 10th percentile of 200 passes,
 * best of 5 runs, on the project's loaded 2-vCPU Xeon; microseconds):
 *
 *   scenario                   16x16  32x16  64x16 128x16 256x16  64x8  64x64
 *   idle (no dirty page)         1.2    1.4    1.2    1.2    1.2   1.2    1.0
 *   cursor blink (9x2, 2 pages)  3.5    2.5    2.0    1.7    1.6   2.5    1.4
 *   one 8x16 glyph (16 pages)    8.4    6.1    4.5    3.6    3.6   5.0    3.5
 *   full screen changed          507    292    200    133    109   189    195
 *   all dirty, 1 pixel differs   265    204    124     96     93   123    121
 *
 * Rows are compared only where a dirty page touched them and each changed
 * tile reports the exact bounding box of its changed pixels, so the tile
 * size trades per-tile overhead (narrow tiles: more memcmp calls and
 * boxes) against precision: changes in one tile are reported as one box
 * spanning both.  128x16 is within 25% of the fastest everywhere; 256
 * wide saves another 20% on full-screen passes but merges changes up to
 * 255 pixels apart.  Height 16 keeps unrelated changes a few text lines
 * apart in separate boxes.  A full-screen change is one box (pixman merges
 * the bands).  FB_TILE_W/FB_TILE_H may be overridden with -D for the bench.
 * (The table was measured with a memcmp per tile row; compare_band() now
 * compares a row's run of touched tiles in one memcmp, so the width mostly
 * sets how tight the boxes are: bench/fb-dirty, all pages dirty and one
 * pixel changed at 1080p, went from 2.6x to 1.1x a plain row memcmp.)
 */
#ifndef FB_TILE_W
#define FB_TILE_W 128 /* pixels */
#endif
#ifndef FB_TILE_H
#define FB_TILE_H 16 /* rows, at most 64 (one uint64_t row mask per tile) */
#endif
_Static_assert(FB_TILE_H >= 1 && FB_TILE_H <= 64, "tile row mask is a uint64_t");

/*
 * Refresh interval.  16 ms is about one 60 Hz frame (62.5 passes/s, the
 * cadence being fixed, see tick_add()): a pass costs ~1 ms in the worst
 * case above (1-2 ms at 1080p), so 16 ms is <= 6-12% of a core while the
 * whole screen changes.
 * Idle, each pass costs ~0.1 ms of main-thread time (measured by
 * bench/vnc-display: mostly the poll wake-up and the dirty-VRAM round trip)
 * plus, on real Xen, one domain pause for track_dirty_vram.  Doubling
 * reaches 3 s after ~4 s without change: one pass every 3 s while someone
 * watches an idle screen, QEMU's VNC idle interval too (at 500 ms xendm
 * used 1.7x qemu-xen's idle CPU; bench/README.md).  Input from a viewer
 * (fb_kick) returns to 16 ms at once, so typing is never shown late; a
 * change the guest makes on its own after a long idle spell is seen within
 * 3 s, as with qemu-xen.
 */
#define FB_REFRESH_MIN_MS 16
#define FB_REFRESH_MAX_MS 3000

/*
 * More boxes than this in one pass are sent as one box per FB_TILE_H band
 * (the extents of what changed in it).  Measured with the VNC listener and
 * two libvncclient viewers connected, 384 scattered 1x1 changes on
 * 1024x768: 0.18-0.26 ms of main-thread time per pass as 384 boxes (one
 * copy + rfbMarkRectAsModified each, ~0.5 us per box), 0.07-0.10 ms as
 * 48 band boxes; a full-screen copy is 0.25-0.4 ms.  At 256 a pass spends
 * at most ~0.13 ms on per-box overhead, while scattered changes up to that
 * count still go out as small rectangles (band boxes can be a whole row
 * wide, so coarsening costs wire bytes).
 */
#ifndef FB_MAX_UPDATE_RECTS
#define FB_MAX_UPDATE_RECTS 256
#endif

/* Largest surface accepted (guest-controlled sizes are checked here). */
#define FB_MAX_DIM 16384
/* Xen's dirty-VRAM tracking covers at most 1 GiB. */
#define FB_MAX_VRAM_PAGES (1u << 18)
#define FB_PAGE_SIZE      4096u

struct fb_listener {
    const struct fb_listener_ops *ops;
    void *opaque;
    bool fresh;   /* has not had resize() + full update() yet */
    bool removed; /* removed during a dispatch; freed after it */
    struct fb_listener *next;
};

static struct {
    const struct fb_producer_ops *prod;
    void *prod_opaque;

    pixman_image_t *image;
    void *own_buf; /* when the core allocated the pixels */
    uint8_t *bits;
    unsigned width, height, stride, bpp;
    pixman_format_code_t format;
    bool resized; /* listeners have not seen the current size */

    pixman_region32_t marked; /* fb_mark_dirty() and surface changes */

    /* VRAM tracking */
    uint64_t vram_gfn, vram_pages, vram_offset;
    const uint8_t *vram;
    uint8_t *bitmap;
    uint8_t *shadow;            /* height * stride, same layout as bits */
    pixman_image_t *shadow_img; /* over shadow; frees it with its last reference */
    bool shadow_valid;
    unsigned tiles_x, tiles_y;
    uint64_t *tile_rows; /* per tile: rows a dirty page touched */

    struct fb_listener *listeners;
    unsigned nlisteners;
    unsigned dispatching;

    guint timer;
    bool in_timer;
    unsigned interval_ms;
    gint64 deadline_us; /* when the current tick is due (monotonic) */

    struct fb_stats stats;
    bool want_fast; /* set during a tick: reschedule at the minimum */
    bool in_refresh;
} fb;

static bool fb_initialised;

static void fb_init_once(void)
{
    if (!fb_initialised) {
        pixman_region32_init(&fb.marked);
        fb_initialised = true;
    }
}

/* ------------------------------------------------------------ timer ---- */

static gboolean fb_timer_cb(gpointer data);

/*
 * The refresh timer is a GSource with a ready time rather than
 * g_timeout_add(): a timeout re-arms from the moment it was dispatched, so
 * every late wake-up (poll() rounds its timeout up to whole milliseconds,
 * then scheduling) lengthens the period; with g_timeout_add(16) the
 * passes came every 16.7 ms (bench/vnc-display: 59.8 frames/s).  While
 * the interval stays the same, each deadline is the previous one plus the
 * interval; a pass that overran it starts the cadence afresh.
 */
static gboolean tick_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    (void)src;
    return cb(data);
}

static GSourceFuncs tick_funcs = {.dispatch = tick_dispatch};

static guint tick_add(unsigned ms)
{
    GSource *src = g_source_new(&tick_funcs, sizeof(GSource));
    fb.deadline_us = g_get_monotonic_time() + (gint64)ms * 1000;
    g_source_set_ready_time(src, fb.deadline_us);
    g_source_set_callback(src, fb_timer_cb, NULL, NULL);
    g_source_set_name(src, "fb-refresh");
    guint id = g_source_attach(src, NULL);
    g_source_unref(src);
    return id;
}

/* Next tick of the running source, one interval after the last deadline. */
static void tick_again(unsigned ms)
{
    gint64 now = g_get_monotonic_time();
    fb.deadline_us += (gint64)ms * 1000;
    if (fb.deadline_us <= now)
        fb.deadline_us = now + (gint64)ms * 1000;
    g_source_set_ready_time(g_main_current_source(), fb.deadline_us);
}

static void fb_timer_stop(void)
{
    if (fb.timer && !fb.in_timer)
        g_source_remove(fb.timer);
    fb.timer = 0;
    fb.interval_ms = 0;
}

static void fb_timer_start(unsigned ms)
{
    if (fb.timer && fb.interval_ms == ms)
        return;
    if (fb.timer && !fb.in_timer)
        g_source_remove(fb.timer);
    fb.interval_ms = ms;
    fb.timer = tick_add(ms);
}

/* ------------------------------------------------------------ surface -- */

static unsigned format_bpp(pixman_format_code_t f)
{
    switch (f) {
    case PIXMAN_x8r8g8b8:
        return 4;
    case PIXMAN_r8g8b8:
        return 3;
    case PIXMAN_r5g6b5:
    case PIXMAN_x1r5g5b5:
        return 2;
    default:
        return 0;
    }
}

static void shadow_destroyed(pixman_image_t *img, void *bits)
{
    (void)img;
    free(bits);
}

static void fb_shadow_free(void)
{
    if (fb.shadow_img)
        pixman_image_unref(fb.shadow_img); /* a front end may still hold it */
    else
        free(fb.shadow);
    fb.shadow_img = NULL;
    fb.shadow = NULL;
    free(fb.tile_rows);
    fb.tile_rows = NULL;
    fb.shadow_valid = false;
}

void *fb_frame_alloc(size_t size)
{
    const size_t page = 4096;
    if (!size || size > SIZE_MAX - page)
        return NULL;
    size = (size + page - 1) & ~(page - 1); /* aligned_alloc: a multiple of the alignment */
    void *p = aligned_alloc(page, size);
    if (p)
        memset(p, 0, size);
    return p;
}

/* (Re)build the shadow and tile masks for the current surface. */
static int fb_shadow_alloc(void)
{
    fb_shadow_free();
    if (!fb.image || !fb.vram_pages)
        return 0;
    fb.tiles_x = (fb.width + FB_TILE_W - 1) / FB_TILE_W;
    fb.tiles_y = (fb.height + FB_TILE_H - 1) / FB_TILE_H;
    fb.shadow = fb_frame_alloc((size_t)fb.height * fb.stride);
    fb.tile_rows = calloc((size_t)fb.tiles_x * fb.tiles_y, sizeof(uint64_t));
    if (fb.shadow) {
        fb.shadow_img = pixman_image_create_bits(fb.format, (int)fb.width, (int)fb.height,
                                                 (uint32_t *)(void *)fb.shadow, (int)fb.stride);
        if (fb.shadow_img)
            pixman_image_set_destroy_function(fb.shadow_img, shadow_destroyed, fb.shadow);
    }
    if (!fb.shadow_img || !fb.tile_rows) {
        fb_shadow_free();
        return -ENOMEM;
    }
    return 0;
}

pixman_image_t *fb_frame(void)
{
    return fb.shadow_img && fb.shadow_valid ? fb.shadow_img : NULL;
}

int fb_set_surface(unsigned width, unsigned height, pixman_format_code_t format, void *data,
                   unsigned stride)
{
    fb_init_once();
    unsigned bpp = format_bpp(format);
    if (!bpp || !width || !height || width > FB_MAX_DIM || height > FB_MAX_DIM)
        return -EINVAL;
    void *own = NULL;
    if (data) {
        /* pixman wants whole 32-bit words per row */
        if (stride < width * bpp || stride % 4)
            return -EINVAL;
    } else {
        stride = (width * bpp + 3) & ~3u;
        own = fb_frame_alloc((size_t)height * stride);
        if (!own)
            return -ENOMEM;
        data = own;
    }
    pixman_image_t *img =
        pixman_image_create_bits(format, (int)width, (int)height, data, (int)stride);
    if (!img) {
        free(own);
        return -ENOMEM;
    }
    if (fb.image)
        pixman_image_unref(fb.image);
    free(fb.own_buf);
    if (width != fb.width || height != fb.height)
        fb.resized = true;
    fb.image = img;
    fb.own_buf = own;
    fb.bits = data;
    fb.width = width;
    fb.height = height;
    fb.stride = stride;
    fb.bpp = bpp;
    fb.format = format;
    pixman_region32_reset(&fb.marked, &(pixman_box32_t){0, 0, (int32_t)width, (int32_t)height});
    if (fb.vram_pages && fb_shadow_alloc() < 0)
        log_msg("fb", "no memory for the dirty-tracking shadow; using producer rectangles only");
    return 0;
}

pixman_image_t *fb_image(void)
{
    return fb.image;
}

unsigned fb_width(void)
{
    return fb.width;
}

unsigned fb_height(void)
{
    return fb.height;
}

void fb_set_producer(const struct fb_producer_ops *ops, void *opaque)
{
    fb.prod = ops;
    fb.prod_opaque = opaque;
}

void fb_track_vram(uint64_t first_gfn, uint64_t nr_pages, const uint8_t *vram, uint64_t offset)
{
    fb_init_once();
    if (nr_pages > FB_MAX_VRAM_PAGES) {
        log_msg("fb", "VRAM range of %" PRIu64 " pages too large to track; tracking off", nr_pages);
        nr_pages = 0;
    }
    if (!nr_pages || !vram) {
        if (fb.vram_pages)
            hv_track_dirty_vram(fb.vram_gfn, 0, NULL);
        free(fb.bitmap);
        fb.bitmap = NULL;
        fb.vram_pages = 0;
        fb.vram = NULL;
        fb_shadow_free();
        return;
    }
    bool same_pixels =
        fb.vram_pages && fb.vram == vram && fb.vram_offset == offset && fb.vram_pages == nr_pages;
    if (fb.vram_pages != nr_pages) {
        free(fb.bitmap);
        fb.bitmap = calloc((nr_pages + 7) / 8, 1);
        if (!fb.bitmap) {
            log_msg("fb", "no memory for the dirty-VRAM bitmap; tracking off");
            fb.vram_pages = 0;
            fb_shadow_free();
            return;
        }
    }
    fb.vram_gfn = first_gfn;
    fb.vram_pages = nr_pages;
    fb.vram = vram;
    fb.vram_offset = offset;
    /* A moved BAR over the same memory keeps the shadow: Xen reports the
     * whole new range dirty once, and the compare finds nothing. */
    if (!same_pixels || !fb.shadow) {
        if (fb_shadow_alloc() < 0)
            log_msg("fb",
                    "no memory for the dirty-tracking shadow; using producer rectangles only");
    }
}

void fb_mark_dirty(int x, int y, int w, int h)
{
    fb_init_once();
    if (w <= 0 || h <= 0)
        return;
    pixman_region32_union_rect(&fb.marked, &fb.marked, x, y, (unsigned)w, (unsigned)h);
}

/* ------------------------------------------------------ dirty tracking -- */

/* Record that surface bytes [b0, b1) may have changed. */
static void mark_bytes(uint64_t b0, uint64_t b1)
{
    uint64_t end = (uint64_t)fb.height * fb.stride;
    if (b0 >= end || b1 <= b0)
        return;
    if (b1 > end)
        b1 = end;
    unsigned r0 = (unsigned)(b0 / fb.stride), r1 = (unsigned)((b1 - 1) / fb.stride);
    for (unsigned r = r0; r <= r1; r++) {
        unsigned xs = r == r0 ? (unsigned)(b0 % fb.stride) / fb.bpp : 0;
        unsigned xe = r == r1 ? (unsigned)((b1 - 1) % fb.stride) / fb.bpp : fb.width - 1;
        if (xs >= fb.width)
            continue; /* row padding */
        if (xe >= fb.width)
            xe = fb.width - 1;
        uint64_t bit = 1ull << (r % FB_TILE_H);
        uint64_t *row = fb.tile_rows + (size_t)(r / FB_TILE_H) * fb.tiles_x;
        for (unsigned tx = xs / FB_TILE_W; tx <= xe / FB_TILE_W; tx++)
            row[tx] |= bit;
    }
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "diff_span reads bytes out of words");

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* First and last differing byte of two equal-length spans, 8 bytes at a
 * time (the lowest / highest set byte of their XOR); false if equal.
 * Where the spans differ at both ends, as in a rewritten tile, it looks at
 * two words only. */
static bool diff_span(const uint8_t *a, const uint8_t *b, size_t n, size_t *first, size_t *last)
{
    size_t i = 0;
    for (;; i += 8) {
        if (i + 8 > n) {
            while (i < n && a[i] == b[i])
                i++;
            if (i == n)
                return false;
            break;
        }
        uint64_t x = load64(a + i) ^ load64(b + i);
        if (x) {
            i += (size_t)__builtin_ctzll(x) / 8;
            break;
        }
    }
    *first = i;
    size_t j = n; /* bytes [j, n) are equal */
    for (; j >= i + 8; j -= 8) {
        uint64_t x = load64(a + j - 8) ^ load64(b + j - 8);
        if (x) {
            *last = j - 8 + 7 - (size_t)__builtin_clzll(x) / 8;
            return true;
        }
    }
    while (j > i + 1 && a[j - 1] == b[j - 1])
        j--;
    *last = j - 1;
    return true;
}

/*
 * Compare the touched rows of one band of tiles (ty) with the shadow.  Row
 * by row, so memory is read in address order: a run of adjacent tiles
 * touched in that row is one memcmp(); only a run that differs is looked
 * at tile by tile, for each tile's exact extent, and is then copied to the
 * shadow in one go.  (Tile by tile, with a compare and a copy per tile
 * row, a 1080p pass took 2.5x a plain row memcmp + copy when every page
 * was dirty; bench/fb-dirty.)  Writes the bounding boxes of the tiles that
 * changed to boxes[] (fb.tiles_x entries of room) and returns how many;
 * clears the band's touched-row masks.
 */
static int compare_band(unsigned ty, pixman_box32_t *boxes)
{
    uint64_t *mask = fb.tile_rows + (size_t)ty * fb.tiles_x;
    const unsigned nt = fb.tiles_x, y0 = ty * FB_TILE_H;
    const size_t tile_bytes = (size_t)FB_TILE_W * fb.bpp, row_bytes = (size_t)fb.width * fb.bpp;
    uint64_t rows = 0;
    for (unsigned tx = 0; tx < nt; tx++) {
        rows |= mask[tx];
        fb.stats.tiles_compared += mask[tx] != 0;
    }
    if (!rows)
        return 0;
    for (unsigned tx = 0; tx < nt; tx++)
        boxes[tx] = (pixman_box32_t){INT32_MAX, 0, 0, 0}; /* x1 == INT32_MAX: unchanged */
    while (rows) {
        unsigned r = (unsigned)__builtin_ctzll(rows);
        rows &= rows - 1;
        unsigned y = y0 + r;
        if (y >= fb.height)
            break;
        const uint8_t *src = fb.bits + (size_t)y * fb.stride;
        uint8_t *sh = fb.shadow + (size_t)y * fb.stride;
        const uint64_t bit = 1ull << r;
        for (unsigned tx = 0; tx < nt;) {
            if (!(mask[tx] & bit)) {
                tx++;
                continue;
            }
            unsigned ta = tx;
            while (tx < nt && (mask[tx] & bit))
                tx++;
            size_t s0 = ta * tile_bytes, s1 = tx * tile_bytes < row_bytes ? tx * tile_bytes : row_bytes;
            size_t first, last;
            if (!memcmp(src + s0, sh + s0, s1 - s0) ||
                !diff_span(src + s0, sh + s0, s1 - s0, &first, &last))
                continue;
            first += s0;
            last += s0;
            for (size_t t = first / tile_bytes; t <= last / tile_bytes; t++) {
                size_t a = t * tile_bytes > first ? t * tile_bytes : first;
                size_t b = (t + 1) * tile_bytes < last + 1 ? (t + 1) * tile_bytes : last + 1;
                size_t f, l;
                if (!diff_span(src + a, sh + a, b - a, &f, &l))
                    continue;
                int32_t xa = (int32_t)((a + f) / fb.bpp), xb = (int32_t)((a + l) / fb.bpp) + 1;
                pixman_box32_t *bx = &boxes[t];
                if (bx->x1 == INT32_MAX) {
                    *bx = (pixman_box32_t){xa, (int32_t)y, xb, (int32_t)y + 1};
                } else {
                    bx->x1 = xa < bx->x1 ? xa : bx->x1;
                    bx->x2 = xb > bx->x2 ? xb : bx->x2;
                    bx->y2 = (int32_t)y + 1;
                }
            }
            memcpy(sh + first, src + first, last - first + 1);
        }
    }
    int n = 0;
    for (unsigned tx = 0; tx < nt; tx++) {
        mask[tx] = 0;
        if (boxes[tx].x1 != INT32_MAX)
            boxes[n++] = boxes[tx]; /* n <= tx: entries already read */
    }
    fb.stats.tiles_changed += (uint64_t)n;
    return n;
}

/* Copy the surface into the shadow for everything in region r. */
static void shadow_sync(pixman_region32_t *r)
{
    int n;
    pixman_box32_t *b = pixman_region32_rectangles(r, &n);
    for (int i = 0; i < n; i++) {
        size_t off = (size_t)b[i].x1 * fb.bpp, len = (size_t)(b[i].x2 - b[i].x1) * fb.bpp;
        for (int y = b[i].y1; y < b[i].y2; y++)
            memcpy(fb.shadow + (size_t)y * fb.stride + off, fb.bits + (size_t)y * fb.stride + off,
                   len);
    }
}

/* Fetch Xen's bitmap and add what really changed to out. */
static void vram_scan(pixman_region32_t *out)
{
    uint32_t nr = (uint32_t)fb.vram_pages;
    int rc = hv_track_dirty_vram(fb.vram_gfn, nr, fb.bitmap);
    fb.stats.dirty_fetches++;
    if (rc < 0) {
        LOG_GUEST("fb", "track_dirty_vram failed (%d): refreshing the whole screen", rc);
        pixman_region32_union_rect(out, out, 0, 0, fb.width, fb.height);
        if (fb.shadow)
            memcpy(fb.shadow, fb.bits, (size_t)fb.height * fb.stride);
        return;
    }
    if (!fb.shadow)
        return; /* no memory for a shadow: producer rectangles only */
    if (!fb.shadow_valid) {
        memcpy(fb.shadow, fb.bits, (size_t)fb.height * fb.stride);
        fb.shadow_valid = true;
        pixman_region32_union_rect(out, out, 0, 0, fb.width, fb.height);
        return;
    }
    /* pages -> tile rows */
    bool any = false;
    for (uint32_t i = 0; i < (nr + 7) / 8; i++) {
        uint8_t byte = fb.bitmap[i];
        while (byte) {
            unsigned bit = (unsigned)__builtin_ctz(byte);
            byte &= (uint8_t)(byte - 1);
            uint64_t page = (uint64_t)i * 8 + bit;
            if (page >= nr)
                break;
            uint64_t v0 = page * FB_PAGE_SIZE, v1 = v0 + FB_PAGE_SIZE;
            if (v1 <= fb.vram_offset)
                continue;
            uint64_t b0 = v0 > fb.vram_offset ? v0 - fb.vram_offset : 0;
            mark_bytes(b0, v1 - fb.vram_offset);
            any = true;
        }
    }
    if (!any)
        return;
    /* compare the touched tiles; boxes are collected per tile row band */
    pixman_box32_t *boxes = g_newa(pixman_box32_t, fb.tiles_x);
    for (unsigned ty = 0; ty < fb.tiles_y; ty++) {
        int nb = compare_band(ty, boxes);
        if (nb) {
            pixman_region32_t band;
            pixman_region32_init_rects(&band, boxes, nb);
            pixman_region32_union(out, out, &band);
            pixman_region32_fini(&band);
        }
    }
}

/* ------------------------------------------------------------ dispatch -- */

/* Too many boxes: one box per FB_TILE_H band instead, the extents of what
 * changed in it.  Returns a malloc'ed array, *n its length. */
static pixman_box32_t *coarsen(const pixman_box32_t *in, int *n)
{
    unsigned bands = (fb.height + FB_TILE_H - 1) / FB_TILE_H;
    pixman_box32_t *out = malloc(bands * sizeof(*out));
    if (!out)
        abort();
    for (unsigned b = 0; b < bands; b++)
        out[b] = (pixman_box32_t){INT32_MAX, INT32_MAX, INT32_MIN, INT32_MIN};
    for (int i = 0; i < *n; i++) {
        for (unsigned b = (unsigned)in[i].y1 / FB_TILE_H; b <= (unsigned)(in[i].y2 - 1) / FB_TILE_H;
             b++) {
            int32_t top = (int32_t)(b * FB_TILE_H), bot = top + FB_TILE_H;
            pixman_box32_t *o = &out[b];
            o->x1 = in[i].x1 < o->x1 ? in[i].x1 : o->x1;
            o->x2 = in[i].x2 > o->x2 ? in[i].x2 : o->x2;
            int32_t y1 = in[i].y1 > top ? in[i].y1 : top, y2 = in[i].y2 < bot ? in[i].y2 : bot;
            o->y1 = y1 < o->y1 ? y1 : o->y1;
            o->y2 = y2 > o->y2 ? y2 : o->y2;
        }
    }
    int m = 0;
    for (unsigned b = 0; b < bands; b++)
        if (out[b].x1 < out[b].x2)
            out[m++] = out[b];
    *n = m;
    return out;
}

static void purge_removed(void)
{
    struct fb_listener **pp = &fb.listeners;
    while (*pp) {
        struct fb_listener *l = *pp;
        if (l->removed) {
            *pp = l->next;
            free(l);
        } else {
            pp = &l->next;
        }
    }
}

/* One refresh pass.  Returns whether anything was sent to listeners. */
static bool fb_refresh_pass(void);

static bool fb_refresh(void)
{
    fb.in_refresh = true;
    bool sent = fb_refresh_pass();
    fb.in_refresh = false;
    return sent;
}

static bool fb_refresh_pass(void)
{
    fb_init_once();
    fb.stats.refreshes++;
    if (fb.prod && fb.prod->refresh)
        fb.prod->refresh(fb.prod_opaque);
    if (!fb.image)
        return false;

    pixman_region32_t dirty;
    pixman_region32_init(&dirty);
    pixman_region32_intersect_rect(&fb.marked, &fb.marked, 0, 0, fb.width, fb.height);
    if (fb.vram_pages && fb.bitmap) {
        /* producer rectangles are already known: keep the shadow in step */
        if (fb.shadow && fb.shadow_valid)
            shadow_sync(&fb.marked);
        vram_scan(&dirty);
    }
    pixman_region32_union(&dirty, &dirty, &fb.marked);
    pixman_region32_clear(&fb.marked);

    int n;
    pixman_box32_t *boxes = pixman_region32_rectangles(&dirty, &n);
    pixman_box32_t *coarse = NULL;
    if (n > FB_MAX_UPDATE_RECTS)
        boxes = coarse = coarsen(boxes, &n);
    bool resized = fb.resized, sent = false;
    fb.resized = false;

    fb.dispatching++;
    for (struct fb_listener *l = fb.listeners; l; l = l->next) {
        if (l->removed)
            continue;
        if (l->fresh) {
            l->fresh = false;
            l->ops->resize(l->opaque, fb.width, fb.height);
            if (!l->removed)
                l->ops->update(l->opaque, 0, 0, (int)fb.width, (int)fb.height);
            sent = true;
            continue;
        }
        if (resized) {
            l->ops->resize(l->opaque, fb.width, fb.height);
            sent = true;
        }
        for (int i = 0; i < n && !l->removed; i++) {
            l->ops->update(l->opaque, boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
                           boxes[i].y2 - boxes[i].y1);
            sent = true;
        }
    }
    if (--fb.dispatching == 0)
        purge_removed();
    fb.stats.rects += (uint64_t)n;
    free(coarse);
    pixman_region32_fini(&dirty);
    return sent || n > 0;
}

static gboolean fb_timer_cb(gpointer data)
{
    fb.in_timer = true;
    bool changed = fb_refresh();
    fb.in_timer = false;
    if (!fb.nlisteners) {
        fb.timer = 0;
        fb.interval_ms = 0;
        fb.want_fast = false;
        return G_SOURCE_REMOVE;
    }
    /* fb.timer is 0 if the last listener left and a new one came during
     * the tick: this source is still the one running, start afresh */
    unsigned cur = fb.timer ? fb.interval_ms : 0;
    unsigned next = changed || fb.want_fast || !cur ? FB_REFRESH_MIN_MS : cur * 2;
    fb.want_fast = false;
    if (next > FB_REFRESH_MAX_MS)
        next = FB_REFRESH_MAX_MS;
    if (cur && next == cur) {
        tick_again(cur);
        return G_SOURCE_CONTINUE;
    }
    fb.interval_ms = next;
    fb.timer = tick_add(next);
    return G_SOURCE_REMOVE;
}

void fb_refresh_now(void)
{
    if (fb.in_refresh)
        return; /* from inside a producer or listener callback: this pass covers it */
    if (fb_refresh())
        fb_kick();
}

void fb_kick(void)
{
    if (!fb.nlisteners)
        return;
    if (fb.in_timer)
        fb.want_fast = true;
    else if (fb.interval_ms != FB_REFRESH_MIN_MS)
        fb_timer_start(FB_REFRESH_MIN_MS);
}

/* ----------------------------------------------------------- listeners -- */

struct fb_listener *fb_add_listener(const struct fb_listener_ops *ops, void *opaque)
{
    fb_init_once();
    if (!ops || !ops->resize || !ops->update)
        return NULL;
    struct fb_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->ops = ops;
    l->opaque = opaque;
    l->fresh = true;
    /* append: listeners are served in registration order */
    struct fb_listener **pp = &fb.listeners;
    while (*pp)
        pp = &(*pp)->next;
    *pp = l;
    fb.nlisteners++;
    if (fb.in_timer)
        fb.want_fast = true;
    else
        fb_timer_start(FB_REFRESH_MIN_MS);
    return l;
}

void fb_remove_listener(struct fb_listener *l)
{
    if (!l || l->removed)
        return;
    l->removed = true;
    fb.nlisteners--;
    if (!fb.dispatching)
        purge_removed();
    if (!fb.nlisteners)
        fb_timer_stop();
}

void fb_get_stats(struct fb_stats *st)
{
    *st = fb.stats;
    st->interval_ms = fb.timer ? fb.interval_ms : 0;
}
