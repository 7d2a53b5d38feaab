/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Std VGA internals shared by display/vga.c (the device: PCI function,
 * registers, memory window, Bochs VBE) and display/vga-render.c (what the
 * framebuffer core shows).  Nothing else includes this file.
 *
 * Video memory layout (what the guest's VGA BIOS expects, and what QEMU
 * uses): VRAM is one array; byte i of plane p is vram[4 * i + p], so a
 * 32-bit little-endian load at 4 * i is the four planes' byte i (the
 * latches).  Chain 4: window byte a is vram[a] (plane a & 3).  Odd/even:
 * window byte a is plane p = (GR4 & 2) | (a & 1) at vram[2 * (a & ~1) + p],
 * so text cells are character, attribute at vram[4 * i], vram[4 * i + 1]
 * and the font (plane 2) at vram[4 * j + 2], 32 bytes per glyph.
 *
 * Besides vga-render.c, devices with a VGA core of their own (QXL's
 * VGA-compatible mode, display/qxl.c) include it for vga_core_*() below.
 *
 * Threads: main thread only.
 */
#ifndef XENDM_DISPLAY_VGA_H
#define XENDM_DISPLAY_VGA_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"

/* Register indices used by both files (names after the IBM VGA manual). */
#define VGA_SR_CLOCK_MODE   0x01 /* bit 0: 8-dot characters, bit 3: dot clock / 2 */
#define VGA_SR_PLANE_WRITE  0x02
#define VGA_SR_CHAR_MAP     0x03
#define VGA_SR_MEMORY_MODE  0x04 /* bit 3: chain 4 */
#define VGA_GR_SR_VALUE     0x00
#define VGA_GR_SR_ENABLE    0x01
#define VGA_GR_COMPARE      0x02
#define VGA_GR_ROTATE       0x03
#define VGA_GR_READ_MAP     0x04
#define VGA_GR_MODE         0x05
#define VGA_GR_MISC         0x06 /* bit 0: graphics, bits 2-3: memory map */
#define VGA_GR_DONT_CARE    0x07
#define VGA_GR_BIT_MASK     0x08
#define VGA_AR_MODE         0x10 /* bit 2: line graphics, bit 3: blink, bit 7: P5-4 select */
#define VGA_AR_OVERSCAN     0x11
#define VGA_AR_PLANE_ENABLE 0x12
#define VGA_AR_PEL_PAN      0x13
#define VGA_AR_COLOR_SELECT 0x14
#define VGA_AR_COUNT        0x15
#define VGA_AR_PAS          0x20 /* palette address source: the screen is on */
#define VGA_CR_H_DISP_END   0x01
#define VGA_CR_OVERFLOW     0x07
#define VGA_CR_MAX_SCAN     0x09
#define VGA_CR_CURSOR_START 0x0a
#define VGA_CR_CURSOR_END   0x0b
#define VGA_CR_START_HI     0x0c
#define VGA_CR_START_LO     0x0d
#define VGA_CR_CURSOR_HI    0x0e
#define VGA_CR_CURSOR_LO    0x0f
#define VGA_CR_V_SYNC_END   0x11
#define VGA_CR_V_DISP_END   0x12
#define VGA_CR_OFFSET       0x13
#define VGA_CR_MODE         0x17
#define VGA_CR_LINE_COMPARE 0x18
#define VGA_CR_V_TOTAL      0x06

/* Bochs VBE DISPI registers (index port 0x1ce, data 0x1cf/0x1d0). */
#define VBE_INDEX_ID               0x0
#define VBE_INDEX_XRES             0x1
#define VBE_INDEX_YRES             0x2
#define VBE_INDEX_BPP              0x3
#define VBE_INDEX_ENABLE           0x4
#define VBE_INDEX_BANK             0x5
#define VBE_INDEX_VIRT_WIDTH       0x6
#define VBE_INDEX_VIRT_HEIGHT      0x7
#define VBE_INDEX_X_OFFSET         0x8
#define VBE_INDEX_Y_OFFSET         0x9
#define VBE_INDEX_NB               0xa /* registers with storage */
#define VBE_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_ENABLED                0x01
#define VBE_GETCAPS                0x02
#define VBE_8BIT_DAC               0x20
#define VBE_LFB_ENABLED            0x40
#define VBE_NOCLEARMEM             0x80

/* What vga-render.c keeps between refreshes. */
enum vga_line_fn {
    VGA_LINE_NONE = 0,
    VGA_LINE_4, /* planar 16 colours */
    VGA_LINE_4D2,
    VGA_LINE_2, /* CGA 4 colours */
    VGA_LINE_2D2,
    VGA_LINE_8D2, /* 256 colours, 2 pixels per byte (mode 13h) */
    VGA_LINE_8,
    VGA_LINE_15,
    VGA_LINE_16,
    VGA_LINE_24,
    VGA_LINE_32,
};

/* Everything that makes a graphics picture beyond VRAM and palette. */
struct vga_gfx_params {
    enum vga_line_fn fn;
    bool big_endian;
    unsigned width, height, disp_width;
    uint32_t line_offset, start, line_compare;
    uint8_t cr_mode, plane_mask;
    unsigned multi_scan;
};

/* Everything that makes a text picture beyond the cells and palette. */
struct vga_text_params {
    uint32_t start, line_offset, line_compare, font[2];
    uint8_t cursor_start, cursor_end, ar_mode;
};

enum vga_view {
    VGA_VIEW_NONE = 0, /* nothing produced yet */
    VGA_VIEW_BLANK,
    VGA_VIEW_TEXT,
    VGA_VIEW_GRAPHICS,
};

struct vga_render {
    enum vga_view view;
    /* the surface given to the framebuffer core */
    unsigned width, height, stride;
    pixman_format_code_t format;
    const uint8_t *shared; /* zero-copy: where in VRAM, else NULL */
    bool have_surface;
    /* VRAM tracking registered with the core (zero-copy surfaces) */
    uint64_t track_gfn, track_pages;
    const uint8_t *track_ptr;
    uint64_t track_offset;
    /* last palettes, as x8r8g8b8 */
    uint32_t pal16[16];
    uint32_t pal256[256];
    /* text mode */
    unsigned cols, rows, cw, ch;
    uint32_t *cells; /* what each cell showed (cols * rows) */
    struct vga_text_params text;
    int64_t phase_epoch_ms; /* blink clocks start at the mode change */
    /* graphics modes drawn by us: the source bytes each line was drawn from */
    struct vga_gfx_params gfx;
    uint8_t *src_shadow;
    size_t src_shadow_size, src_line_bytes;
    uint8_t *line_src; /* one line's source bytes */
    size_t line_src_size;
};

struct vga;

/* One group of legacy ports (QEMU registers exactly these ranges). */
struct vga_portwin {
    struct io_region region;
    struct vga *vga;
};

struct vga {
    struct device *dev;
    struct pci_dev *pd;
    struct pci_desc pci; /* this instance's description: BAR0 follows vgamem_mb */
    uint8_t *vram;
    uint32_t vram_size, vram_mask;

    /* VGA registers */
    uint8_t msr, fcr, st00, st01;
    uint8_t sr_index, sr[8], sr_vbe[8];
    uint8_t gr_index, gr[16];
    uint8_t ar_index, ar[VGA_AR_COUNT];
    bool ar_flip_flop;
    uint8_t cr_index, cr[256];
    uint8_t dac_state, dac_sub_index, dac_read_index, dac_write_index, dac_cache[3];
    uint8_t palette[768];
    bool dac_8bit;
    uint32_t latch;
    uint32_t bank_offset;

    /* Bochs VBE */
    uint16_t vbe_index, vbe_regs[VBE_INDEX_NB];
    uint32_t vbe_line_offset, vbe_start_addr, vbe_bank_mask;
    bool big_endian_fb; /* QEMU extended register at BAR2 + 0x604 */

    /* Writes xendm made to VRAM itself (Xen's dirty bitmap misses them). */
    uint8_t plane_updated; /* planes written through the window (font changes) */
    uint8_t *dirty_pages;  /* one bit per VRAM page */

    struct vga_render render;

    struct vga_portwin ports[5];
    struct io_region vbe_ports, lowmem;

    /* Called before a guest write to a legacy VGA port (not the DISPI
     * ports) is applied: QXL leaves its native mode there, as QEMU's
     * qxl-vga does.  NULL for the std VGA. */
    void (*legacy_write_hook)(struct vga *s);
};

static inline bool vga_vbe_enabled(const struct vga *s)
{
    return s->vbe_regs[VBE_INDEX_ENABLE] & VBE_ENABLED;
}

/* The sequencer as the memory and display logic see it: in VBE modes QEMU
 * keeps a separate copy (chain 4 forced) the guest's SR writes do not
 * reach. */
static inline uint8_t vga_sr(const struct vga *s, unsigned i)
{
    return vga_vbe_enabled(s) ? s->sr_vbe[i & 7] : s->sr[i & 7];
}

static inline void vga_mark_page(struct vga *s, uint32_t off)
{
    off &= s->vram_mask;
    s->dirty_pages[off >> 15] |= (uint8_t)(1u << ((off >> 12) & 7));
}

/*
 * The VGA core inside another device (display/qxl.c).  `s` must be the first
 * member of the device's private area: the port and memory handlers find it
 * through the struct device.  vram/vram_size: the memory the VGA sees (a
 * power of two of at least 1 MiB, backed by the device).  Registers the
 * legacy ports, the Bochs DISPI ports and the 0xa0000 window and starts
 * from power-on state; the device decides when vga_refresh() runs.
 * 0 or -errno (error printed).
 */
int vga_core_init(struct vga *s, struct device *dev, uint8_t *vram, uint32_t vram_size);
void vga_core_reset(struct vga *s);
void vga_core_fini(struct vga *s);
/* Another producer replaced the framebuffer core's surface: the next
 * vga_refresh() sets ours again and redraws everything. */
void vga_core_surface_lost(struct vga *s);

/* vga-render.c */
void vga_render_init(struct vga *s);
void vga_render_reset(struct vga *s);
void vga_render_fini(struct vga *s);
void vga_refresh(void *opaque);

#endif
