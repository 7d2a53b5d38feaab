/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest's side of the std VGA for xensim tests; see vga-guest.h. */
#include "config.h"

#include <stdbool.h>
#include <unistd.h>

#include "tests/common/vga-guest.h"

#define VGA_GUEST_VENDOR 0x1234
#define VGA_GUEST_DEVICE 0x1111

gboolean vga_guest_boot(struct vga_guest *g, xsim *x, gboolean rom, GError **err)
{
    *g = (struct vga_guest){.x = x, .bdf = 0xffff};
    xsim_select(x);
    if (xsim_fw_pci_setup(x) <= 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "PCI setup failed: %s",
                    xsim_error(x) ? xsim_error(x) : "no function found");
        return FALSE;
    }
    unsigned n;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, &n);
    for (unsigned i = 0; i < n; i++) {
        if (fn[i].vendor == VGA_GUEST_VENDOR && fn[i].device == VGA_GUEST_DEVICE) {
            g->bdf = fn[i].bdf;
            g->lfb = fn[i].bar[0].addr;
            g->lfb_size = fn[i].bar[0].size;
        }
    }
    if (g->bdf == 0xffff || !g->lfb || !g->lfb_size) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no std VGA with a VRAM BAR on bus 0");
        return FALSE;
    }
    if (!rom)
        return TRUE;
    const char *dir = g_getenv("SEABIOS_DIR");
    char *path =
        g_build_filename(dir && *dir ? dir : "/usr/share/seabios", "vgabios-stdvga.bin", NULL);
    gboolean ok = FALSE;
    if (access(path, R_OK) != 0)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s is missing: install the Debian package seabios", path);
    else if (xsim_fw_load_rom(x, g->bdf, path) != 0)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot load %s", path);
    else if (xsim_rom_init(x, g->bdf) != 0)
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "the VGA ROM's init did not return: %s",
                    xsim_dm_diag(x));
    else
        ok = TRUE;
    g_free(path);
    return ok;
}

void vga_guest_vbe_write(uint16_t index, uint16_t value)
{
    guest_outw(0x1ce, index);
    guest_outw(0x1cf, value);
}

uint16_t vga_guest_vbe_read(uint16_t index)
{
    guest_outw(0x1ce, index);
    return guest_inw(0x1cf);
}

gboolean vga_guest_vbe_set_mode(unsigned w, unsigned h, unsigned bpp)
{
    vga_guest_vbe_write(VGA_GUEST_VBE_ENABLE, 0);
    vga_guest_vbe_write(VGA_GUEST_VBE_XRES, (uint16_t)w);
    vga_guest_vbe_write(VGA_GUEST_VBE_YRES, (uint16_t)h);
    vga_guest_vbe_write(VGA_GUEST_VBE_BPP, (uint16_t)bpp);
    vga_guest_vbe_write(VGA_GUEST_VBE_ENABLE, VGA_GUEST_VBE_ENABLED | VGA_GUEST_VBE_LFB);
    return vga_guest_vbe_read(VGA_GUEST_VBE_XRES) == w &&
           vga_guest_vbe_read(VGA_GUEST_VBE_YRES) == h &&
           vga_guest_vbe_read(VGA_GUEST_VBE_BPP) == bpp &&
           (vga_guest_vbe_read(VGA_GUEST_VBE_ENABLE) & VGA_GUEST_VBE_ENABLED);
}

void vga_guest_unblank(void)
{
    guest_inb(0x3da);        /* reset the attribute flip-flop to "index" */
    guest_outb(0x3c0, 0x20); /* index with the palette address source bit */
}

void vga_guest_dac_load(uint8_t first, const uint8_t *rgb6, unsigned n)
{
    guest_outb(0x3c8, first);
    for (unsigned i = 0; i < n * 3; i++)
        guest_outb(0x3c9, rgb6[i] & 0x3f);
}

void *vga_guest_lfb_ptr(const struct vga_guest *g, size_t len)
{
    if (len > g->lfb_size)
        return NULL;
    void *p = guest_ram_ptr(g->lfb, len);
    return p ? p : xsim_vram_ptr(g->x, g->lfb, len);
}

static uint32_t picture_hash(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t h = a * 0x9e3779b1u ^ b * 0x85ebca77u ^ c * 0xc2b2ae3du;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

uint32_t vga_guest_picture(unsigned x, unsigned y, unsigned w, unsigned h, unsigned seed)
{
    static const uint32_t bars[8] = {0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
                                     0x00ffff, 0xff00ff, 0xffffff, 0x808080};
    static const uint32_t ink[4] = {0xe0e0e0, 0xffd700, 0x40ff40, 0xff6060};
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
        return 0xff8000;
    if (y < h / 12)
        return bars[(x * 8 / w + seed) & 7];
    unsigned tx0 = w / 16, ty0 = h / 6, cols = (w - 2 * tx0) / 8, rows = h / 48;
    if (x >= tx0 && y >= ty0 && x < tx0 + cols * 8 && y < ty0 + rows * 16) {
        unsigned cx = (x - tx0) / 8, cy = (y - ty0) / 16, px = (x - tx0) % 8, py = (y - ty0) % 16;
        uint32_t cell = picture_hash(cx, cy, seed + 1);
        bool blank = (cell & 7) == 0 || px == 7 || py < 2 || py > 13;
        if (!blank && (picture_hash(cell, py, 7) >> px & 1))
            return ink[(cy + seed) & 3];
        return 0x000040;
    }
    uint32_t r = x * 255 / (w - 1), g = y * 255 / (h - 1), b = ((x ^ y) & 0x20) ? 0xff : 0x10;
    if (x == y || x == w - 1 - y)
        r = g = b = 0xff;
    return r << 16 | g << 8 | b;
}

uint16_t vga_guest_rgb565(uint32_t rgb)
{
    return (uint16_t)(((rgb >> 19) & 0x1f) << 11 | ((rgb >> 10) & 0x3f) << 5 | ((rgb >> 3) & 0x1f));
}
