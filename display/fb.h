/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The framebuffer core (design rule 5): the one thing display front ends
 * look at.  A producer (std VGA, later QXL) owns the current surface — a
 * pixman image, zero-copy over guest VRAM when the format allows, or a
 * buffer it renders into (text mode, planar modes, palettes) — and says
 * which parts changed.  Consumers (VNC, SPICE) register listeners and get
 * resize, update and cursor notifications; they never know which device
 * drew.
 *
 * Refresh: a timer on the main loop calls the producer's refresh(), which
 * re-renders what it must and reports dirty rectangles; for surfaces backed
 * by guest VRAM the core fetches Xen's dirty-VRAM bitmap once per refresh
 * (each call pauses the domain on real Xen), then compares only the touched
 * tiles with a shadow copy so the rectangles are tight.  The interval adapts:
 * fast while the screen changes, backing off while it does not, and no
 * periodic work at all while nobody is listening.
 *
 * Threads: main thread only.  Listeners must not block (encoding runs on
 * their own threads, reading a published copy).
 */
#ifndef XENDM_FB_H
#define XENDM_FB_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

/* What a producer provides.  refresh(): called on the main thread by the
 * core's timer (only while some listener exists); bring the surface up to
 * date and call fb_mark_dirty() for what changed. */
struct fb_producer_ops {
    const char *name;
    void (*refresh)(void *opaque);
};
void fb_set_producer(const struct fb_producer_ops *ops, void *opaque);

/* Replace the surface.  With data != NULL the image wraps that memory
 * (zero-copy over VRAM; the producer keeps it valid until the next
 * fb_set_surface); with data == NULL the core allocates a buffer the
 * producer then draws into (fb_image()).  Everything is dirty afterwards.
 * Formats: PIXMAN_x8r8g8b8, PIXMAN_r5g6b5, PIXMAN_x1r5g5b5, PIXMAN_r8g8b8. */
int fb_set_surface(unsigned width, unsigned height, pixman_format_code_t format, void *data,
                   unsigned stride);
pixman_image_t *fb_image(void);
/* The published frame, when the core keeps one: its shadow copy of a
 * VRAM-tracked surface (same format and layout as fb_image()), which holds
 * exactly what listeners have been told when update() is called.  A front
 * end may show it instead of keeping a copy of its own (VNC: one 8 MiB
 * copy less at 1080p): take a pixman reference to keep it; the core makes a
 * new one (and drops its own reference) when the surface or the tracked
 * VRAM changes, so compare pointers on update().  NULL when there is none
 * (untracked surfaces, before the first refresh).  The core writes it
 * during refresh passes, on the main thread. */
pixman_image_t *fb_frame(void);

/* A zeroed buffer of size bytes for a whole frame, page-aligned (free()
 * it): frame copies run at half speed when the destination sits 16 bytes
 * off the page-aligned guest VRAM, as malloc() places large blocks
 * (8 MiB copied row by row: 570 us, 250 us aligned; AVX-512 memcpy). */
void *fb_frame_alloc(size_t size);
unsigned fb_width(void);
unsigned fb_height(void);

/* Guest VRAM backing the surface: on refresh the core asks Xen which of
 * these pages the guest wrote (hv_track_dirty_vram) and compares just those
 * tiles.  nr_pages 0 stops tracking.  first_gfn is where the pages are in the
 * guest now (the BAR); vram is xendm's mapping of them; offset is where the
 * surface starts in them. */
void fb_track_vram(uint64_t first_gfn, uint64_t nr_pages, const uint8_t *vram, uint64_t offset);

/* The producer changed these pixels (or rendered them again). */
void fb_mark_dirty(int x, int y, int w, int h);

/* Consumers.  Called on the main thread, after the producer's refresh. */
struct fb_listener_ops {
    void (*resize)(void *opaque, unsigned width, unsigned height);
    /* a region changed; read pixels from fb_image() */
    void (*update)(void *opaque, int x, int y, int w, int h);
};
struct fb_listener;
struct fb_listener *fb_add_listener(const struct fb_listener_ops *ops, void *opaque);
void fb_remove_listener(struct fb_listener *l);

/* Run one refresh now (tests, and front ends that want a frame at once).
 * A no-op when called from inside a producer or listener callback. */
void fb_refresh_now(void);

/* A viewer sent input, so the screen is likely to change soon: go back to
 * the fastest refresh interval now instead of waiting out the idle
 * back-off.  No-op without listeners.  (Added with display/fb.c.) */
void fb_kick(void);

/*
 * Cursor (display/fb-cursor.c).  A producer with a cursor plane (QXL)
 * reports the pointer it draws apart from the surface; front ends that can
 * show a separate cursor listen.  Pixels are premultiplied ARGB32, rows top
 * down, width * height of them; the position is the hotspot's, in surface
 * coordinates.  define() shows the new shape; hide() hides it until the
 * next move() or define(); reset(): no cursor plane any more (VGA mode,
 * device reset).  Shapes larger than FB_CURSOR_MAX_DIM a side are refused.
 */
#define FB_CURSOR_MAX_DIM 256
struct fb_cursor {
    unsigned width, height, hot_x, hot_y;
    uint32_t argb[];
};
void fb_cursor_define(unsigned width, unsigned height, unsigned hot_x, unsigned hot_y,
                      const uint32_t *argb);
void fb_cursor_move(int x, int y);
void fb_cursor_hide(void);
void fb_cursor_reset(void);

/* Cursor listeners: define() with the new shape (NULL: none; valid for the
 * call only), move() with the hotspot and whether a shape shows.  A new
 * listener gets both at once, with the current state. */
struct fb_cursor_listener_ops {
    void (*define)(void *opaque, const struct fb_cursor *c);
    void (*move)(void *opaque, int x, int y, bool visible);
};
struct fb_cursor_listener;
struct fb_cursor_listener *fb_cursor_add_listener(const struct fb_cursor_listener_ops *ops,
                                                  void *opaque);
void fb_cursor_remove_listener(struct fb_cursor_listener *l);

struct fb_stats {
    uint64_t refreshes, dirty_fetches, tiles_compared, tiles_changed, rects;
    unsigned interval_ms; /* current refresh interval; 0 = idle (no timer) */
};
void fb_get_stats(struct fb_stats *st);

#endif
