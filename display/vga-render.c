/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the std VGA (display/vga.c) shows: the producer side of the
 * framebuffer core (display/fb.h).  On each refresh the core asks for, it
 * works out what QEMU 7.2's VGA would display and brings the surface up
 * to date, reporting what changed:
 *
 *   blank     the attribute controller's palette address source bit (0x20
 *             in its index) is clear: black, at the size last shown
 *             (640x480 before anything was shown)
 *   text      GR6 bit 0 clear: CRTC columns x rows of 8, 9 or 16 (dot clock
 *             halved) pixel wide cells, CR9 lines high, glyphs from plane 2
 *             (32-byte stride, maps from SR3 and attribute bit 3), colours
 *             through the attribute palette and the DAC, 9th column
 *             repeating the 8th for 0xb0-0xdf with line graphics on (QEMU's
 *             range), cursor from CR0A/B/E/F blinking every
 *             VGA_CURSOR_HALF_PERIOD_MS, attribute bit 7 blinking when AR10
 *             bit 3 asks for it (QEMU shows a bright background instead)
 *   graphics  planar 16 colours (QEMU's line4, doubled with SR1 bit 3),
 *             CGA 4 colours, 256 colours at 2 pixels per byte (mode 13h is
 *             640x400 like QEMU's screendump), CRTC start, offset, line
 *             compare, CGA addressing and scan doubling; VBE 8 bpp through
 *             the DAC (6 or 8 bits), 15 bpp and big-endian framebuffers
 *             converted the way QEMU does; VBE 16/24/32 bpp little endian
 *             shown zero-copy from VRAM (r5g6b5, r8g8b8, x8r8g8b8) with
 *             the VBE start and line length, the BAR registered for Xen's
 *             dirty-VRAM tracking while it is mapped.
 *
 * Everything read from VRAM goes through the VRAM mask, or is a zero-copy
 * surface that vbe_fixup() keeps inside VRAM (checked again here).
 * Surfaces we draw ourselves are re-drawn per line when the VRAM bytes the
 * line comes from changed (compared with a copy of them), per cell in text
 * mode; guest stores through the linear framebuffer need no dirty bitmap
 * for that.
 *
 * Left out: horizontal panning (QEMU 7.2 has none either), underline, the
 * overscan border, QEMU's placeholder message before the guest draws.
 *
 * Threads: main thread only (the core's refresh timer).
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "display/fb.h"
#include "display/vga.h"
#include "src/log.h"

#define TAG "vga"

/* The cursor toggles every 266 ms, as QEMU's does (32 frames at 60 Hz per
 * on/off cycle); blinking characters at half that rate, as on IBM's VGA
 * where attribute blink runs at half the cursor frequency. */
#define VGA_CURSOR_HALF_PERIOD_MS 266
#define VGA_BLINK_HALF_PERIOD_MS  533
/* Attribute bit 7 blinks (real VGA) when AR10 bit 3 is set; false gives
 * QEMU's picture (bit 7 always selects a bright background). */
#define VGA_TEXT_BLINK true
/* QEMU's console size before the guest draws anything. */
#define VGA_PLACEHOLDER_W 640
#define VGA_PLACEHOLDER_H 480
/* Text geometry QEMU refuses to draw (keeps the old picture). */
#define VGA_TEXT_MAX_CELLS (160 * 100)
/* Largest surface we render into ourselves (16 Mpixel = 64 MiB, above
 * every mode 16 MiB of VRAM can hold at 8 bpp): with vgamem_mb=512 a guest
 * asking for 16000x12000 at 8 bpp gets a blank screen and a log line, not
 * a 768 MiB allocation of its choosing. */
#define VGA_MAX_RENDER_PIXELS (4096u * 4096u)

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static uint8_t c6_to_8(uint8_t v)
{
    v &= 0x3f;
    return (uint8_t)(v << 2 | (v & 1) << 1 | (v & 1));
}

static uint32_t rgb(unsigned r, unsigned g, unsigned b)
{
    return (uint32_t)(r & 0xff) << 16 | (uint32_t)(g & 0xff) << 8 | (b & 0xff);
}

static uint8_t vram_byte(const struct vga *s, uint32_t addr)
{
    return s->vram[addr & s->vram_mask];
}

/* ------------------------------------------------------------------------
 * Surfaces
 */

static void untrack(struct vga_render *r)
{
    if (!r->track_pages)
        return;
    fb_track_vram(0, 0, NULL, 0);
    r->track_gfn = r->track_pages = r->track_offset = 0;
    r->track_ptr = NULL;
}

/* Make the core's surface this one.  1 if it was replaced (all dirty),
 * 0 if unchanged, negative if the core refused it. */
static int use_surface(struct vga *s, unsigned w, unsigned h, pixman_format_code_t fmt,
                       const uint8_t *shared, unsigned stride)
{
    struct vga_render *r = &s->render;
    int rc;

    if (r->have_surface && r->width == w && r->height == h && r->format == fmt &&
        r->shared == shared && (!shared || r->stride == stride))
        return 0;
    if (!shared)
        untrack(r);
    rc = fb_set_surface(w, h, fmt, (void *)shared, shared ? stride : 0);
    if (rc < 0) {
        LOG_GUEST(TAG, "the display core refused a %ux%u surface (%d)", w, h, rc);
        r->have_surface = false;
        untrack(r);
        return rc;
    }
    r->have_surface = true;
    r->width = w;
    r->height = h;
    r->format = fmt;
    r->shared = shared;
    r->stride = shared ? stride : 0;
    return 1;
}

/* The x8r8g8b8 buffer of a surface we draw into. */
static uint32_t *own_pixels(unsigned *stride_words)
{
    pixman_image_t *img = fb_image();

    if (!img)
        return NULL;
    *stride_words = (unsigned)pixman_image_get_stride(img) / 4;
    return pixman_image_get_data(img);
}

static void fill_black(struct vga *s)
{
    unsigned stride;
    uint32_t *px = own_pixels(&stride);

    if (!px)
        return;
    for (unsigned y = 0; y < s->render.height; y++)
        memset(px + (size_t)y * stride, 0, (size_t)s->render.width * 4);
    fb_mark_dirty(0, 0, (int)s->render.width, (int)s->render.height);
}

static void draw_blank(struct vga *s, bool full)
{
    struct vga_render *r = &s->render;
    unsigned w = r->have_surface ? r->width : VGA_PLACEHOLDER_W;
    unsigned h = r->have_surface ? r->height : VGA_PLACEHOLDER_H;

    if (!full)
        return;
    untrack(r);
    if (use_surface(s, w, h, PIXMAN_x8r8g8b8, NULL, 0) < 0)
        return;
    fill_black(s);
}

/* ------------------------------------------------------------------------
 * Palettes
 */

/* The 16 attribute colours through the DAC (QEMU's update_palette16). */
static bool update_pal16(struct vga *s)
{
    bool changed = false;

    for (unsigned i = 0; i < 16; i++) {
        unsigned v = s->ar[i];
        if (s->ar[VGA_AR_MODE] & 0x80)
            v = (s->ar[VGA_AR_COLOR_SELECT] & 0xf) << 4 | (v & 0xf);
        else
            v = (s->ar[VGA_AR_COLOR_SELECT] & 0xc) << 4 | (v & 0x3f);
        uint32_t c = rgb(c6_to_8(s->palette[v * 3]), c6_to_8(s->palette[v * 3 + 1]),
                         c6_to_8(s->palette[v * 3 + 2]));
        if (c != s->render.pal16[i]) {
            s->render.pal16[i] = c;
            changed = true;
        }
    }
    return changed;
}

static bool update_pal256(struct vga *s)
{
    bool changed = false;

    for (unsigned i = 0; i < 256; i++) {
        const uint8_t *p = &s->palette[i * 3];
        uint32_t c =
            s->dac_8bit ? rgb(p[0], p[1], p[2]) : rgb(c6_to_8(p[0]), c6_to_8(p[1]), c6_to_8(p[2]));
        if (c != s->render.pal256[i]) {
            s->render.pal256[i] = c;
            changed = true;
        }
    }
    return changed;
}

/* ------------------------------------------------------------------------
 * Text mode
 */

/* Cell cache key bits above character and attribute. */
#define CELL_CURSOR 0x10000u
#define CELL_HIDDEN 0x20000u /* blinking text in its off phase */
#define CELL_NEVER  0xffffffffu

static void draw_cell(struct vga *s, uint32_t *px, unsigned stride, uint32_t font, uint8_t ch,
                      uint32_t fg, uint32_t bg, bool cursor)
{
    const struct vga_render *r = &s->render;
    bool dup9 = r->cw == 9 && ch >= 0xb0 && ch <= 0xdf && (s->ar[VGA_AR_MODE] & 0x04);
    unsigned cs = s->cr[VGA_CR_CURSOR_START] & 0x1f, ce = s->cr[VGA_CR_CURSOR_END] & 0x1f;

    if (ce > r->ch - 1)
        ce = r->ch - 1;
    for (unsigned y = 0; y < r->ch; y++, px += stride) {
        unsigned bits = vram_byte(s, font + (uint32_t)ch * 128 + y * 4);
        bool solid = cursor && ce >= cs && y >= cs && y <= ce;
        if (solid)
            bits = 0xff;
        if (r->cw == 16) {
            for (unsigned x = 0; x < 8; x++)
                px[2 * x] = px[2 * x + 1] = (bits & (0x80 >> x)) ? fg : bg;
            continue;
        }
        for (unsigned x = 0; x < 8; x++)
            px[x] = (bits & (0x80 >> x)) ? fg : bg;
        if (r->cw == 9)
            px[8] = (solid || dup9) && (bits & 1) ? fg : bg;
    }
}

static void draw_text(struct vga *s, bool full, int64_t since_ms)
{
    struct vga_render *r = &s->render;
    unsigned cheight = (s->cr[VGA_CR_MAX_SCAN] & 0x1f) + 1u, cw = 8, cols, rows, stride;
    uint8_t clock = vga_sr(s, VGA_SR_CLOCK_MODE), map = vga_sr(s, VGA_SR_CHAR_MAP);
    struct vga_text_params p = {0};
    uint32_t *px;

    if (!(clock & 0x01))
        cw = 9;
    if (clock & 0x08)
        cw = 16;
    cols = s->cr[VGA_CR_H_DISP_END] + 1u;
    if (s->cr[VGA_CR_V_TOTAL] == 100) {
        rows = 100; /* QEMU's CGA 160x100 hack */
    } else {
        unsigned vde = s->cr[VGA_CR_V_DISP_END] | (s->cr[VGA_CR_OVERFLOW] & 0x02) << 7 |
                       (s->cr[VGA_CR_OVERFLOW] & 0x40) << 3;
        rows = (vde + 1) / cheight;
    }
    if (rows * cols <= 1 || rows * cols > VGA_TEXT_MAX_CELLS)
        return; /* a transient geometry: QEMU keeps the old picture */

    if (cols != r->cols || rows != r->rows || cw != r->cw || cheight != r->ch || !r->cells) {
        uint32_t *cells = realloc(r->cells, sizeof(*cells) * cols * rows);
        if (!cells)
            return;
        r->cells = cells;
        r->cols = cols;
        r->rows = rows;
        r->cw = cw;
        r->ch = cheight;
        full = true;
    }
    int rc = use_surface(s, cols * cw, rows * cheight, PIXMAN_x8r8g8b8, NULL, 0);
    if (rc < 0)
        return;
    full |= rc > 0;
    full |= update_pal16(s);

    p.font[0] = ((map >> 4 & 1) | (map << 1 & 6)) * 0x8000u + 2;
    p.font[1] = ((map >> 5 & 1) | (map >> 1 & 6)) * 0x8000u + 2;
    p.start = s->cr[VGA_CR_START_LO] | (uint32_t)s->cr[VGA_CR_START_HI] << 8;
    p.line_offset = (uint32_t)s->cr[VGA_CR_OFFSET] << 3;
    p.line_compare = s->cr[VGA_CR_LINE_COMPARE] | (s->cr[VGA_CR_OVERFLOW] & 0x10u) << 4 |
                     (s->cr[VGA_CR_MAX_SCAN] & 0x40u) << 3;
    p.cursor_start = s->cr[VGA_CR_CURSOR_START];
    p.cursor_end = s->cr[VGA_CR_CURSOR_END];
    p.ar_mode = s->ar[VGA_AR_MODE];
    full |= memcmp(&p, &r->text, sizeof(p)) != 0;
    r->text = p;
    if (s->plane_updated & 0x04) /* the font may have changed */
        full = true;
    s->plane_updated = 0;
    if (full)
        for (size_t i = 0; i < (size_t)cols * rows; i++)
            r->cells[i] = CELL_NEVER;

    px = own_pixels(&stride);
    if (!px)
        return;
    bool blink = VGA_TEXT_BLINK && (s->ar[VGA_AR_MODE] & 0x08);
    bool blink_off = blink && (since_ms / VGA_BLINK_HALF_PERIOD_MS) % 2;
    bool cursor_on = !(p.cursor_start & 0x20) && (since_ms / VGA_CURSOR_HALF_PERIOD_MS) % 2 == 0;
    uint32_t cursor_at = ((uint32_t)s->cr[VGA_CR_CURSOR_HI] << 8 | s->cr[VGA_CR_CURSOR_LO]) * 4;
    uint32_t offset = p.start * 4, line = 0;

    for (unsigned cy = 0; cy < rows; cy++) {
        int cx_min = -1, cx_max = -1;
        for (unsigned cx = 0; cx < cols; cx++) {
            uint32_t o = offset + cx * 4;
            if (o >= s->vram_size - 1 || o < offset)
                break; /* runs off the end of VRAM: not drawn, as in QEMU */
            uint8_t ch = s->vram[o], at = s->vram[o + 1];
            bool cur = cursor_on && o == cursor_at;
            bool hidden = blink_off && (at & 0x80);
            uint32_t key =
                ch | (uint32_t)at << 8 | (cur ? CELL_CURSOR : 0) | (hidden ? CELL_HIDDEN : 0);
            size_t i = (size_t)cy * cols + cx;
            if (r->cells[i] == key)
                continue;
            r->cells[i] = key;
            uint32_t bg = r->pal16[blink ? (at >> 4) & 7 : at >> 4];
            uint32_t fg = hidden ? bg : r->pal16[at & 0xf];
            draw_cell(s, px + (size_t)cy * cheight * stride + (size_t)cx * cw, stride,
                      p.font[(at >> 3) & 1], ch, fg, bg, cur);
            if (cx_min < 0)
                cx_min = (int)cx;
            cx_max = (int)cx;
        }
        if (cx_min >= 0)
            fb_mark_dirty(cx_min * (int)cw, (int)(cy * cheight), (cx_max - cx_min + 1) * (int)cw,
                          (int)cheight);
        offset += p.line_offset;
        if (line < p.line_compare && line + cheight >= p.line_compare)
            offset = 0;
        line += cheight;
    }
}

/* ------------------------------------------------------------------------
 * Graphics modes
 */

/* Bytes of VRAM one displayed line of `width` pixels is made of. */
static size_t line_bytes(enum vga_line_fn fn, unsigned width)
{
    switch (fn) {
    case VGA_LINE_4:
    case VGA_LINE_4D2:
    case VGA_LINE_2:
    case VGA_LINE_2D2:
    case VGA_LINE_8D2:
        return (width >> 3) * 4;
    case VGA_LINE_8:
        return width >> 3 << 3;
    case VGA_LINE_15:
    case VGA_LINE_16:
        return (size_t)width * 2;
    case VGA_LINE_24:
        return (size_t)width * 3;
    case VGA_LINE_32:
        return (size_t)width * 4;
    default:
        return 0;
    }
}

static void put(uint32_t **d, uint32_t c, bool twice)
{
    *(*d)++ = c;
    if (twice)
        *(*d)++ = c;
}

/* One line from its source bytes `b` (n of them) into d. */
static void draw_line(struct vga *s, const struct vga_gfx_params *g, const uint8_t *b, size_t n,
                      uint32_t *d)
{
    const uint32_t *p16 = s->render.pal16, *p256 = s->render.pal256;
    bool twice = g->fn == VGA_LINE_4D2 || g->fn == VGA_LINE_2D2 || g->fn == VGA_LINE_8D2;
    uint8_t m[4];

    for (unsigned i = 0; i < 4; i++)
        m[i] = (g->plane_mask >> i & 1) ? 0xff : 0;
    switch (g->fn) {
    case VGA_LINE_4:
    case VGA_LINE_4D2:
        for (size_t i = 0; i + 4 <= n; i += 4) {
            uint8_t p0 = b[i] & m[0], p1 = b[i + 1] & m[1], p2 = b[i + 2] & m[2],
                    p3 = b[i + 3] & m[3];
            for (int bit = 7; bit >= 0; bit--)
                put(&d,
                    p16[(p0 >> bit & 1) | (p1 >> bit & 1) << 1 | (p2 >> bit & 1) << 2 |
                        (p3 >> bit & 1) << 3],
                    twice);
        }
        break;
    case VGA_LINE_2:
    case VGA_LINE_2D2:
        /* 2 bits per pixel: planes 0 and 2 give pixels 0-3, 1 and 3 give 4-7 */
        for (size_t i = 0; i + 4 <= n; i += 4) {
            uint8_t p0 = b[i] & m[0], p1 = b[i + 1] & m[1], p2 = b[i + 2] & m[2],
                    p3 = b[i + 3] & m[3];
            for (int sh = 6; sh >= 0; sh -= 2)
                put(&d, p16[(p0 >> sh & 3) | (p2 >> sh & 3) << 2], twice);
            for (int sh = 6; sh >= 0; sh -= 2)
                put(&d, p16[(p1 >> sh & 3) | (p3 >> sh & 3) << 2], twice);
        }
        break;
    case VGA_LINE_8D2:
    case VGA_LINE_8:
        for (size_t i = 0; i < n; i++)
            put(&d, p256[b[i]], twice);
        break;
    case VGA_LINE_15:
    case VGA_LINE_16:
        for (size_t i = 0; i + 2 <= n; i += 2) {
            unsigned v =
                g->big_endian ? (unsigned)b[i] << 8 | b[i + 1] : (unsigned)b[i + 1] << 8 | b[i];
            if (g->fn == VGA_LINE_15)
                *d++ = rgb((v >> 7) & 0xf8, (v >> 2) & 0xf8, (v << 3) & 0xf8);
            else
                *d++ = rgb((v >> 8) & 0xf8, (v >> 3) & 0xfc, (v << 3) & 0xf8);
        }
        break;
    case VGA_LINE_24:
        for (size_t i = 0; i + 3 <= n; i += 3)
            *d++ = g->big_endian ? rgb(b[i], b[i + 1], b[i + 2]) : rgb(b[i + 2], b[i + 1], b[i]);
        break;
    case VGA_LINE_32:
        for (size_t i = 0; i + 4 <= n; i += 4)
            *d++ =
                g->big_endian ? rgb(b[i + 1], b[i + 2], b[i + 3]) : rgb(b[i + 2], b[i + 1], b[i]);
        break;
    default:
        break;
    }
}

/* The n VRAM bytes a line is made of, from addr on, wrapping at the end
 * of VRAM as QEMU's display does (it masks every address): VRAM itself
 * when they are contiguous, else a copy in line_src (grown by the caller). */
static const uint8_t *line_source(struct vga *s, uint32_t addr, size_t n)
{
    uint8_t *dst = s->render.line_src;

    addr &= s->vram_mask;
    if (n <= s->vram_size - addr)
        return s->vram + addr;
    while (n) {
        size_t k = s->vram_size - addr;
        if (k > n)
            k = n;
        memcpy(dst, s->vram + addr, k);
        dst += k;
        n -= k;
        addr = 0;
    }
    return s->render.line_src;
}

static bool grow(uint8_t **buf, size_t *have, size_t want)
{
    uint8_t *p;

    if (*have >= want)
        return true;
    p = realloc(*buf, want);
    if (!p)
        return false;
    *buf = p;
    *have = want;
    return true;
}

/* Zero-copy: VRAM is the surface.  Register the BAR's pages for Xen's
 * dirty tracking while it is mapped, report what xendm itself wrote. */
static void show_shared(struct vga *s, const struct vga_gfx_params *g, pixman_format_code_t fmt,
                        unsigned bpp)
{
    struct vga_render *r = &s->render;
    const uint8_t *base = s->vram + g->start * 4;
    uint64_t first = (g->start * 4) >> 12;
    uint64_t end = (uint64_t)g->start * 4 + (uint64_t)g->line_offset * (g->height - 1) +
                   (uint64_t)g->width * bpp / 8;
    uint64_t last = (end - 1) >> 12;
    uint64_t bar = s->pd->bar_addr[0];

    if (use_surface(s, g->width, g->height, fmt, base, g->line_offset) < 0)
        return;
    if (bar != UINT64_MAX) { /* pci.c's "not mapped" */
        uint64_t gfn = (bar >> 12) + first, n = last - first + 1;
        const uint8_t *ptr = s->vram + (first << 12);
        uint64_t off = g->start * 4 - (first << 12);
        if (gfn != r->track_gfn || n != r->track_pages || ptr != r->track_ptr ||
            off != r->track_offset) {
            fb_track_vram(gfn, n, ptr, off);
            r->track_gfn = gfn;
            r->track_pages = n;
            r->track_ptr = ptr;
            r->track_offset = off;
        }
    } else {
        untrack(r);
    }
    /* pages written through the legacy window or cleared by a mode set */
    for (uint64_t pg = first; pg <= last; pg++) {
        if (!(s->dirty_pages[pg >> 3] & (1u << (pg & 7))))
            continue;
        uint64_t lo = pg << 12, hi = lo + 4095, y0, y1;
        y0 = lo <= g->start * 4u ? 0 : (lo - g->start * 4u) / g->line_offset;
        y1 = (hi - g->start * 4u) / g->line_offset;
        if (y1 >= g->height)
            y1 = g->height - 1;
        if (y0 <= y1)
            fb_mark_dirty(0, (int)y0, (int)g->width, (int)(y1 - y0 + 1));
    }
}

static void draw_graphics(struct vga *s, bool full)
{
    struct vga_render *r = &s->render;
    struct vga_gfx_params g = {0};
    bool vbe = vga_vbe_enabled(s);
    unsigned shift = (s->gr[VGA_GR_MODE] >> 5) & 3, depth = vbe ? s->vbe_regs[VBE_INDEX_BPP] : 0;
    unsigned double_scan = s->cr[VGA_CR_MAX_SCAN] >> 7;
    bool dclk2 = vga_sr(s, VGA_SR_CLOCK_MODE) & 0x08;

    if (vbe) {
        g.width = s->vbe_regs[VBE_INDEX_XRES];
        g.height = s->vbe_regs[VBE_INDEX_YRES];
        g.line_offset = s->vbe_line_offset;
        g.start = s->vbe_start_addr;
        g.line_compare = 65535;
    } else {
        g.width = (s->cr[VGA_CR_H_DISP_END] + 1u) * 8;
        g.height = (s->cr[VGA_CR_V_DISP_END] | (s->cr[VGA_CR_OVERFLOW] & 0x02u) << 7 |
                    (s->cr[VGA_CR_OVERFLOW] & 0x40u) << 3) +
                   1;
        g.line_offset = (uint32_t)s->cr[VGA_CR_OFFSET] << 3;
        g.start = s->cr[VGA_CR_START_LO] | (uint32_t)s->cr[VGA_CR_START_HI] << 8;
        g.line_compare = s->cr[VGA_CR_LINE_COMPARE] | (s->cr[VGA_CR_OVERFLOW] & 0x10u) << 4 |
                         (s->cr[VGA_CR_MAX_SCAN] & 0x40u) << 3;
    }
    if (!g.width || !g.height)
        return;
    g.big_endian = s->big_endian_fb;
    g.cr_mode = s->cr[VGA_CR_MODE] & 0x43;
    g.plane_mask = s->ar[VGA_AR_PLANE_ENABLE] & 0xf;
    if (s->cr[VGA_CR_MODE] & 1)
        g.multi_scan = (((s->cr[VGA_CR_MAX_SCAN] & 0x1fu) + 1) << double_scan) - 1;
    else
        g.multi_scan = double_scan; /* CGA addressing: QEMU ignores the scan count */
    g.disp_width = g.width;

    if (shift == 0) {
        g.fn = dclk2 ? VGA_LINE_4D2 : VGA_LINE_4;
    } else if (shift == 1) {
        g.fn = dclk2 ? VGA_LINE_2D2 : VGA_LINE_2;
    } else {
        switch (depth) {
        case 8:
            g.fn = VGA_LINE_8;
            break;
        case 15:
            g.fn = VGA_LINE_15;
            break;
        case 16:
            g.fn = VGA_LINE_16;
            break;
        case 24:
            g.fn = VGA_LINE_24;
            break;
        case 32:
            g.fn = VGA_LINE_32;
            break;
        default:
            g.fn = VGA_LINE_8D2;
            break;
        }
    }
    if (shift <= 1 && dclk2)
        g.disp_width <<= 1;

    /* a new mode, geometry or addressing: draw everything again */
    if (memcmp(&g, &r->gfx, sizeof(g))) {
        r->gfx = g;
        full = true;
    }

    /* VBE 16/24/32 bpp little endian: show VRAM itself, as QEMU does */
    if (vbe && !g.big_endian &&
        (g.fn == VGA_LINE_16 || g.fn == VGA_LINE_24 || g.fn == VGA_LINE_32)) {
        unsigned bpp = g.fn == VGA_LINE_16 ? 16 : g.fn == VGA_LINE_24 ? 24 : 32;
        uint64_t end = (uint64_t)g.start * 4 + (uint64_t)g.line_offset * (g.height - 1) +
                       (uint64_t)g.width * bpp / 8;
        if (end <= s->vram_size && g.line_offset && g.line_offset % 4 == 0) {
            show_shared(s, &g,
                        bpp == 16   ? PIXMAN_r5g6b5
                        : bpp == 24 ? PIXMAN_r8g8b8
                                    : PIXMAN_x8r8g8b8,
                        bpp);
            return;
        }
    }

    /* everything else is drawn by us, line by line */
    if ((uint64_t)g.disp_width * g.height > VGA_MAX_RENDER_PIXELS) {
        if (full) {
            LOG_GUEST(TAG, "%ux%u graphics mode too large to show", g.disp_width, g.height);
            draw_blank(s, true);
        }
        return;
    }
    int rc = use_surface(s, g.disp_width, g.height, PIXMAN_x8r8g8b8, NULL, 0);
    if (rc < 0)
        return;
    full |= rc > 0;
    if (g.fn == VGA_LINE_4 || g.fn == VGA_LINE_4D2 || g.fn == VGA_LINE_2 || g.fn == VGA_LINE_2D2)
        full |= update_pal16(s);
    else if (g.fn == VGA_LINE_8 || g.fn == VGA_LINE_8D2)
        full |= update_pal256(s);

    size_t n = line_bytes(g.fn, g.width);
    if (!grow(&r->line_src, &r->line_src_size, n ? n : 1) ||
        !grow(&r->src_shadow, &r->src_shadow_size, n * g.height)) {
        LOG_GUEST(TAG, "out of memory drawing a %ux%u mode", g.width, g.height);
        return;
    }
    if (r->src_line_bytes != n) {
        r->src_line_bytes = n;
        full = true;
    }

    unsigned stride;
    uint32_t *px = own_pixels(&stride);
    if (!px)
        return;
    uint32_t addr1 = g.start * 4, y1 = 0;
    unsigned multi_run = g.multi_scan;
    int dirty_from = -1;
    for (unsigned y = 0; y < g.height; y++) {
        uint32_t addr = addr1;
        if (!(g.cr_mode & 1)) {
            /* CGA: odd scan lines from the second bank */
            unsigned sh = 14 + ((g.cr_mode >> 6) & 1);
            addr = (addr & ~(1u << sh)) | (y1 & 1) << sh;
        }
        if (!(g.cr_mode & 2))
            addr = (addr & ~0x8000u) | (y1 & 2) << 14;
        const uint8_t *src = line_source(s, addr, n);
        uint8_t *shadow = r->src_shadow + (size_t)y * n;
        if (full || memcmp(shadow, src, n)) {
            memcpy(shadow, src, n);
            draw_line(s, &g, src, n, px + (size_t)y * stride);
            if (dirty_from < 0)
                dirty_from = (int)y;
        } else if (dirty_from >= 0) {
            fb_mark_dirty(0, dirty_from, (int)g.disp_width, (int)y - dirty_from);
            dirty_from = -1;
        }
        if (!multi_run) {
            unsigned mask = (g.cr_mode & 3) ^ 3;
            if ((y1 & mask) == mask)
                addr1 += g.line_offset;
            y1++;
            multi_run = g.multi_scan;
        } else {
            multi_run--;
        }
        if (y == g.line_compare)
            addr1 = 0;
    }
    if (dirty_from >= 0)
        fb_mark_dirty(0, dirty_from, (int)g.disp_width, (int)g.height - dirty_from);
}

/* ------------------------------------------------------------------------
 * Refresh
 */

void vga_refresh(void *opaque)
{
    struct vga *s = opaque;
    struct vga_render *r = &s->render;
    enum vga_view view;
    bool full;
    int64_t now = now_ms();

    if (!(s->ar_index & VGA_AR_PAS))
        view = VGA_VIEW_BLANK;
    else if (s->gr[VGA_GR_MISC] & 1)
        view = VGA_VIEW_GRAPHICS;
    else
        view = VGA_VIEW_TEXT;
    full = view != r->view;
    if (full)
        r->phase_epoch_ms = now;
    r->view = view;
    switch (view) {
    case VGA_VIEW_TEXT:
        untrack(r);
        draw_text(s, full, now - r->phase_epoch_ms);
        break;
    case VGA_VIEW_GRAPHICS:
        draw_graphics(s, full);
        break;
    default:
        draw_blank(s, full);
        break;
    }
    memset(s->dirty_pages, 0, (s->vram_size >> 12) / 8);
}

void vga_render_reset(struct vga *s)
{
    struct vga_render *r = &s->render;

    r->view = VGA_VIEW_NONE;
    r->src_line_bytes = 0;
    memset(&r->gfx, 0, sizeof(r->gfx));
    memset(&r->text, 0, sizeof(r->text));
}

void vga_render_init(struct vga *s)
{
    struct vga_render *r = &s->render;

    memset(r, 0, sizeof(*r));
    vga_render_reset(s);
    /* black, at QEMU's placeholder size, until the guest shows something */
    if (use_surface(s, VGA_PLACEHOLDER_W, VGA_PLACEHOLDER_H, PIXMAN_x8r8g8b8, NULL, 0) >= 0)
        fill_black(s);
}

void vga_render_fini(struct vga *s)
{
    struct vga_render *r = &s->render;

    untrack(r);
    free(r->cells);
    free(r->src_shadow);
    free(r->line_src);
    memset(r, 0, sizeof(*r));
}
