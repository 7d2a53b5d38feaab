/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's side of libxl's std VGA (-device VGA: PCI 1234:1111) for
 * tests on xensim, driven the way real guest code drives it:
 *   - hvmloader's PCI setup (xsim_fw_pci_setup) places the VRAM BAR;
 *   - Debian's SeaBIOS VGA ROM (vgabios-stdvga.bin) initialises the card
 *     and sets legacy modes through INT 10h, run under Unicorn;
 *   - a guest driver (Linux's bochs-drm does the same) programs the Bochs
 *     VBE "DISPI" registers through ports 0x1CE/0x1CF and stores pixels
 *     straight into the linear framebuffer;
 *   - the VGA DAC is loaded through ports 0x3C8/0x3C9 (6 bits per channel).
 * Every access goes through the xensim guest API of the current simulator
 * (xsim_select()), so the device model sees real ioreqs.
 */
#ifndef TESTS_COMMON_VGA_GUEST_H
#define TESTS_COMMON_VGA_GUEST_H

#include <stdint.h>

#include <glib.h>

#include "tests/xensim/xensim.h"

G_BEGIN_DECLS

/* Bochs VBE DISPI register indexes (port 0x1CE) and enable bits. */
enum vga_guest_vbe_index {
    VGA_GUEST_VBE_ID = 0,
    VGA_GUEST_VBE_XRES = 1,
    VGA_GUEST_VBE_YRES = 2,
    VGA_GUEST_VBE_BPP = 3,
    VGA_GUEST_VBE_ENABLE = 4,
    VGA_GUEST_VBE_VIRT_WIDTH = 6,
};
#define VGA_GUEST_VBE_ENABLED 0x01
#define VGA_GUEST_VBE_LFB     0x40

struct vga_guest {
    xsim *x;
    uint16_t bdf; /* bus << 8 | dev << 3 | fn */
    uint64_t lfb; /* BAR 0: VRAM */
    uint64_t lfb_size;
};

/*
 * hvmloader's PCI setup, then find the std VGA.  With rom, also load
 * vgabios-stdvga.bin from $SEABIOS_DIR (default /usr/share/seabios) and run
 * its init entry.  FALSE with err set (naming the Debian package when the
 * ROM is missing) on failure.
 */
gboolean vga_guest_boot(struct vga_guest *g, xsim *x, gboolean rom, GError **err);

void vga_guest_vbe_write(uint16_t index, uint16_t value);
uint16_t vga_guest_vbe_read(uint16_t index);
/*
 * Switch to a w x h x bpp linear-framebuffer mode: disable, set the
 * geometry, enable with LFB (bochs-drm's order).  TRUE if the card reads
 * the mode back.  The framebuffer then starts at g->lfb with a line length
 * of w * bpp / 8 bytes.
 */
gboolean vga_guest_vbe_set_mode(unsigned w, unsigned h, unsigned bpp);
/* Set the attribute controller's palette address source bit: the card
 * shows a picture (a ROM mode set does this itself). */
void vga_guest_unblank(void);
/* Load n DAC entries from first on, 3 six-bit values (R, G, B) each. */
void vga_guest_dac_load(uint8_t first, const uint8_t *rgb6, unsigned n);
/* Pointer to the linear framebuffer's first len bytes (guest stores, no
 * ioreqs), or NULL when they are not RAM-backed. */
void *vga_guest_lfb_ptr(const struct vga_guest *g, size_t len);

/*
 * A test picture for a w x h screen, 0xRRGGBB at (x, y): a one-pixel
 * orange border, eight saturated colour bars along the top, a block of
 * 8x16 "text" cells (glyph-like bit patterns in per-line colours on dark
 * blue, blank cells between words) and, elsewhere, red/green gradients
 * with a blue 32-pixel check and two white diagonals, so that any error
 * of offset, stride, size, channel order or depth shows.  seed changes the
 * bars and the text only (a partial screen change); the rest stays.
 */
uint32_t vga_guest_picture(unsigned x, unsigned y, unsigned w, unsigned h, unsigned seed);
/* RGB565 of a 0xRRGGBB colour (the top bits of each channel). */
uint16_t vga_guest_rgb565(uint32_t rgb);

G_END_DECLS
#endif
