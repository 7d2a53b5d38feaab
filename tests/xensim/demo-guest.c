/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The demo's guest (see demo-guest.h).  The animation keeps its own copy of
 * the frame and writes only the rows that changed into the guest's linear
 * framebuffer (plain stores into VRAM, as a guest's driver would), so the
 * device model sees the changes through Xen's dirty-VRAM tracking.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/vga-guest.h"
#include "tests/xensim/demo-guest.h"

#define DEMO_FPS 25
#define FONT_H   16
#define SCALE    3 /* glyphs drawn 24x48 */

int demo_type(xsim *x, const char *text)
{
    for (const char *c = text;; c++) {
        uint8_t ch = *c ? (uint8_t)*c : '\r';
        struct x86regs r = {.eax = 0x0e00u | ch, .ebx = 0x0007};
        if (xsim_int10(x, &r) < 0)
            return -1;
        if (!*c)
            break;
    }
    struct x86regs lf = {.eax = 0x0e0a, .ebx = 0x0007};
    return xsim_int10(x, &lf);
}

int demo_vbe_mode(unsigned width, unsigned height, unsigned bpp)
{
    if (!vga_guest_vbe_set_mode(width, height, bpp)) {
        fprintf(stderr, "xensimd: the device refused VBE mode %ux%ux%u\n", width, height, bpp);
        return -1;
    }
    vga_guest_unblank();
    return 0;
}

/* The std VGA's linear framebuffer, where the firmware put BAR 0. */
static uint64_t find_lfb(xsim *x)
{
    unsigned n;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, &n);
    for (unsigned i = 0; i < n; i++)
        if (fn[i].vendor == 0x1234 && fn[i].device == 0x1111)
            return fn[i].bar[0].addr;
    return 0;
}

struct canvas {
    uint32_t *px;
    unsigned w, h;
    unsigned dirty_top, dirty_bottom; /* rows [top, bottom) changed */
    const uint8_t *font;              /* 256 glyphs x 16 rows */
};

static void touch(struct canvas *c, int y0, int y1)
{
    if (y0 < 0)
        y0 = 0;
    if (y1 > (int)c->h)
        y1 = (int)c->h;
    if (y0 >= y1)
        return;
    if ((unsigned)y0 < c->dirty_top)
        c->dirty_top = (unsigned)y0;
    if ((unsigned)y1 > c->dirty_bottom)
        c->dirty_bottom = (unsigned)y1;
}

static uint32_t background(const struct canvas *c, unsigned x, unsigned y)
{
    unsigned r = x * 255 / c->w, b = y * 255 / c->h;
    return (r / 3) << 16 | (40 + b / 4) << 8 | (60 + b / 2);
}

/* Repaint the background over [x0,x1) x [y0,y1), clipped. */
static void clear_rect(struct canvas *c, int x0, int y0, int x1, int y1)
{
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > (int)c->w ? (int)c->w : x1;
    y1 = y1 > (int)c->h ? (int)c->h : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            c->px[(unsigned)y * c->w + (unsigned)x] = background(c, (unsigned)x, (unsigned)y);
    touch(c, y0, y1);
}

static void fill_rect(struct canvas *c, int x0, int y0, int x1, int y1, uint32_t colour)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int)c->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int)c->w; x++)
            c->px[(unsigned)y * c->w + (unsigned)x] = colour;
    touch(c, y0, y1);
}

static void draw_text(struct canvas *c, int x0, int y0, const char *s, uint32_t colour)
{
    for (int i = 0; s[i]; i++) {
        const uint8_t *g = c->font + (uint8_t)s[i] * FONT_H;
        for (int gy = 0; gy < FONT_H * SCALE; gy++)
            for (int gx = 0; gx < 8 * SCALE; gx++) {
                int x = x0 + i * 8 * SCALE + gx, y = y0 + gy;
                if (x < 0 || y < 0 || x >= (int)c->w || y >= (int)c->h)
                    continue;
                if (g[gy / SCALE] & (0x80 >> (gx / SCALE)))
                    c->px[(unsigned)y * c->w + (unsigned)x] = colour;
            }
    }
    touch(c, y0, y0 + FONT_H * SCALE);
}

int demo_animate(xsim *x, unsigned seconds, const char *text, volatile sig_atomic_t *stop)
{
    struct canvas c = {.w = vga_guest_vbe_read(VGA_GUEST_VBE_XRES),
                       .h = vga_guest_vbe_read(VGA_GUEST_VBE_YRES)};
    if (vga_guest_vbe_read(VGA_GUEST_VBE_BPP) != 32 || !c.w || !c.h) {
        fprintf(stderr, "xensimd: animate needs a 32 bpp VBE mode (vbe-mode W H 32)\n");
        return -1;
    }
    uint64_t lfb = find_lfb(x);
    if (!lfb) {
        fprintf(stderr, "xensimd: animate: no std VGA found (run pci-setup first)\n");
        return -1;
    }
    /* The ROM's 8x16 font: INT 10h AX=1130h BH=06h returns it in ES:BP. */
    struct x86regs r = {.eax = 0x1130, .ebx = 0x0600};
    uint8_t font[256 * FONT_H];
    if (xsim_int10(x, &r) < 0)
        return -1;
    guest_mem_read((uint64_t)r.es * 16 + (r.ebp & 0xffff), font, sizeof(font));
    c.font = font;
    c.px = calloc((size_t)c.w * c.h, 4);
    if (!c.px)
        return -1;
    c.dirty_top = c.h;
    clear_rect(&c, 0, 0, (int)c.w, (int)c.h);

    const int bw = 160, bh = 120, text_y = (int)c.h - 2 * FONT_H * SCALE;
    int bx = 40, by = 40, dx = 7, dy = 5, old_bx = bx, old_by = by;
    int text_x = (int)c.w, text_w = (int)strlen(text) * 8 * SCALE;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    for (unsigned frame = 0; !*stop; frame++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed =
            (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (seconds && elapsed >= seconds)
            break;
        /* the box bounces off the edges, its colour cycling */
        clear_rect(&c, old_bx, old_by, old_bx + bw, old_by + bh);
        uint32_t hue = frame * 4u;
        fill_rect(&c, bx, by, bx + bw, by + bh,
                  (hue & 0xff) << 16 | ((hue * 3) & 0xff) << 8 | (0xff - (hue & 0xff)));
        old_bx = bx;
        old_by = by;
        if (bx + dx < 0 || bx + dx + bw > (int)c.w)
            dx = -dx;
        if (by + dy < 0 || by + dy + bh > text_y)
            dy = -dy;
        bx += dx;
        by += dy;
        /* the text scrolls right to left; a clock in the corner */
        clear_rect(&c, 0, text_y, (int)c.w, text_y + FONT_H * SCALE);
        draw_text(&c, text_x, text_y, text, 0xffffff);
        text_x = text_x + text_w < 0 ? (int)c.w : text_x - 6;
        char clock[32];
        snprintf(clock, sizeof(clock), "frame %u  %5.1f s", frame, elapsed);
        clear_rect(&c, 8, 8, 8 + 18 * 8 * SCALE, 8 + FONT_H * SCALE);
        draw_text(&c, 8, 8, clock, 0xffff80);
        /* store the changed rows into VRAM */
        if (c.dirty_top < c.dirty_bottom)
            guest_mem_write(lfb + (uint64_t)c.dirty_top * c.w * 4, c.px + (size_t)c.dirty_top * c.w,
                            (size_t)(c.dirty_bottom - c.dirty_top) * c.w * 4);
        c.dirty_top = c.h;
        c.dirty_bottom = 0;
        if (xsim_error(x)) {
            rc = -1;
            break;
        }
        usleep(1000000 / DEMO_FPS);
    }
    free(c.px);
    return rc;
}
