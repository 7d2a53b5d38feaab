/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/spice-display's parts: the screen's geometry, what the client must
 * show, and a display card as the guest drives it (std VGA in
 * spice-display.c, QXL in spice-qxl.c).
 */
#ifndef BENCH_SPICE_DISPLAY_H
#define BENCH_SPICE_DISPLAY_H

#include <stdint.h>

#include "tests/xensim/xensim.h"

#define SD_W        1920
#define SD_H        1080
#define SD_FB_BYTES ((size_t)SD_W * SD_H * 4)
#define SD_RECT     64

enum { SD_WANT_NONE, SD_WANT_FULL, SD_WANT_RECT };

/* What the guest shows: pattern k & 1 full screen, or pattern 0 with the
 * rectangle at (x, y), having been at (px, py) (-1: nowhere) one step
 * before.  k numbers the targets of one device model instance. */
struct sd_want {
    int kind;
    int k;
    int x, y, px, py;
};

struct sd_guest {
    xsim *x;
    void *priv;
};

struct sd_card {
    const char *name;
    const char *device; /* -device's value */
    /* firmware PCI set-up, a 1920x1080x32 screen; 0 or -1 */
    int (*setup)(struct sd_guest *g);
    /* draw full-screen pattern k & 1 */
    void (*full)(struct sd_guest *g, int k);
    /* background back at (ox, oy) (ox < 0: none), the rectangle at (x, y) */
    void (*rect)(struct sd_guest *g, int ox, int oy, int x, int y);
    void (*free)(struct sd_guest *g);
};

extern const struct sd_card sd_card_qxl;
/* The two full-screen patterns (spice-display.c makes them). */
void sd_qxl_set_patterns(uint32_t *const pat[2]);
/* The rectangle's pixel (u, v). */
uint32_t sd_rect_px(unsigned u, unsigned v);

#endif
