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

struct fb_stats {
    uint64_t refreshes, dirty_fetches, tiles_compared, tiles_changed, rects;
    unsigned interval_ms; /* current refresh interval; 0 = idle (no timer) */
};
void fb_get_stats(struct fb_stats *st);

#endif
