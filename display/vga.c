/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Std VGA with Bochs VBE extensions: "-device VGA[,vgamem_mb=N]", what
 * libxl passes for vga="stdvga" (xl-contract 1.5.6).  The guest sees the
 * device QEMU 7.2 shows on xenfv (checked against Debian's qemu-xen on
 * xensim; see tests/unit/test-vga.c for the values and how they were read):
 *
 * PCI 1234:1111 rev 02, class 0x030000, subsystem 1af4:1100, no INTx,
 * first free slot.
 *   BAR0  32-bit prefetchable memory, vgamem_mb MiB (1..512, rounded up to
 *         a power of two; default 16): the VRAM, guest frames from the
 *         domain's allowance (pci_bar_set_ram), relocated into the BAR so
 *         the guest's linear-framebuffer stores never reach us.
 *   BAR2  32-bit memory, 4 KiB:
 *         0x000-0x3ff  EDID: absent on xenfv (QEMU's 3.1 machine compat
 *                      turns it off), reads all-ones
 *         0x400-0x41f  the VGA ports 0x3c0-0x3df, 1 or 2 bytes per access
 *         0x500-0x515  Bochs DISPI register i at 0x500 + 2 * i, 16 bits;
 *                      narrower accesses act on the whole register
 *         0x600-0x607  QEMU extended registers (32-bit only): size (8),
 *                      framebuffer byte order (0x1e1e1e1e little endian,
 *                      0xbebebebe big endian)
 *         elsewhere    all-ones, writes dropped
 *   ROM   Debian's SeaBIOS vgabios-stdvga.bin (64 KiB BAR).
 * Legacy ports (the same ranges QEMU claims; others stay unclaimed):
 *   0x3b4-0x3b5, 0x3ba   CRTC and input status 1, monochrome (misc bit 0 = 0)
 *   0x3c0-0x3cf          attribute (index/data flip-flop, reset by reading
 *                        input status 1), misc output (write 0x3c2, read
 *                        0x3cc), input status 0, sequencer 0x3c4/5, DAC
 *                        0x3c6-0x3c9 (read/write index auto-increment),
 *                        feature control (read 0x3ca), graphics 0x3ce/f
 *   0x3d4-0x3d5, 0x3da   CRTC and input status 1 / feature write, colour
 *   0x1ce-0x1d1          Bochs DISPI: index at 0x1ce, data at 0x1cf and
 *                        0x1d0, 16-bit accesses only
 *   The ports of the other colour mode read 0xff; 32-bit accesses read
 *   all-ones and are dropped, as QEMU's port lists do.
 * Memory window 0xa0000-0xbffff (mostly buffered writes from Xen): mapped
 *   per GR6 (128K, 64K + VBE bank, 32K at 0xb0000, 32K at 0xb8000); chain 4,
 *   odd/even and planar addressing; read modes 0/1, write modes 0-3, data
 *   rotate, set/reset, logical function, bit mask, map mask, latches.
 * VBE DISPI: ID 0xb0c0-0xb0c5, XRES/YRES/BPP (4, 8, 15, 16, 24, 32), ENABLE
 *   (GETCAPS reports 16000x12000x32, 8-bit DAC, LFB, NOCLEARMEM), 64 KiB
 *   BANK, VIRT_WIDTH, X/Y_OFFSET, VIRT_HEIGHT and VIDEO_MEMORY_64K read
 *   only.  Out-of-range values are adjusted the way QEMU does (vbe_fixup),
 *   which keeps every mode inside VRAM.
 * Options: vgamem_mb.
 * Rendering (display/vga-render.c) follows QEMU's screen for every mode.
 *
 * Left out: QEMU's "precise retrace" (input status 1 just toggles its
 * retrace bits, as QEMU's default does), the EDID and the other -device
 * VGA properties (xres, yres, edid, qemu-extended-regs, mmio, ...: refused
 * by name), a second std VGA, migration state, the ISA-only "isa-vga".
 *
 * Threads: main thread only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/fb.h"
#include "display/vga.h"
#include "src/dispatch.h"
#include "src/log.h"
#include "src/opts.h"

#define TAG "vga"

/* vgamem_mb: QEMU's default and its clamp (vga_common_init). */
#define VGA_VRAM_MB_DEFAULT 16
#define VGA_VRAM_MB_MIN     1
#define VGA_VRAM_MB_MAX     512

#define VGA_PCI_VENDOR   0x1234
#define VGA_PCI_DEVICE   0x1111
#define VGA_PCI_CLASS    0x030000
#define VGA_PCI_REVISION 2
#define VGA_ROM_FILE     "vgabios-stdvga.bin"
#define VGA_MMIO_SIZE    0x1000

/* BAR2 layout */
#define MMIO_PORTS         0x400
#define MMIO_PORTS_SIZE    0x20 /* 0x3c0-0x3df */
#define MMIO_BOCHS         0x500
#define MMIO_BOCHS_SIZE    (0x0b * 2)
#define MMIO_QEXT          0x600
#define MMIO_QEXT_SIZE     8
#define QEXT_LITTLE_ENDIAN 0x1e1e1e1eu
#define QEXT_BIG_ENDIAN    0xbebebebeu

#define VGA_WINDOW_BASE 0xa0000
#define VGA_WINDOW_SIZE 0x20000
#define VBE_PORT_BASE   0x1ce
#define VBE_PORT_SIZE   4

#define VBE_ID0        0xb0c0
#define VBE_ID5        0xb0c5
#define VBE_MAX_XRES   16000
#define VBE_MAX_YRES   12000
#define VBE_MAX_BPP    32
#define VBE_BANK_SHIFT 16 /* 64 KiB banks */

#define MISC_COLOR     0x01
#define ST01_V_RETRACE 0x08
#define ST01_DISP_EN   0x01
#define CR11_PROTECT   0x80
#define PAGE_SHIFT     12

/* Writable bits of the sequencer and graphics registers. */
static const uint8_t sr_writable[8] = {0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff};
static const uint8_t gr_writable[16] = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff};

static struct vga *vga_of(void *opaque)
{
    return DEVICE_PRIV((struct device *)opaque, struct vga);
}

/* Four plane bytes from the low 4 bits of m: byte p is 0xff if bit p. */
static uint32_t plane_mask32(unsigned m)
{
    uint32_t v = 0;

    for (unsigned p = 0; p < 4; p++)
        if (m & (1u << p))
            v |= 0xffu << (8 * p);
    return v;
}

static uint32_t vram_get32(const struct vga *s, uint32_t off)
{
    const uint8_t *p = s->vram + off;

    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void vram_put32(struct vga *s, uint32_t off, uint32_t v)
{
    uint8_t *p = s->vram + off;

    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ------------------------------------------------------------------------
 * Bochs VBE
 */

/* Bring the VBE registers back inside what VRAM can show (QEMU's
 * vbe_fixup_regs): afterwards start + YRES lines of VIRT_WIDTH fit. */
static void vbe_fixup(struct vga *s)
{
    uint16_t *r = s->vbe_regs;
    uint32_t bits, line, maxy, offset;

    if (!vga_vbe_enabled(s))
        return;
    switch (r[VBE_INDEX_BPP]) {
    case 4:
    case 8:
    case 16:
    case 24:
    case 32:
        bits = r[VBE_INDEX_BPP];
        break;
    case 15:
        bits = 16;
        break;
    default:
        bits = r[VBE_INDEX_BPP] = 8;
        break;
    }
    r[VBE_INDEX_XRES] &= (uint16_t)~7u;
    if (r[VBE_INDEX_XRES] == 0)
        r[VBE_INDEX_XRES] = 8;
    if (r[VBE_INDEX_XRES] > VBE_MAX_XRES)
        r[VBE_INDEX_XRES] = VBE_MAX_XRES;
    r[VBE_INDEX_VIRT_WIDTH] &= (uint16_t)~7u;
    if (r[VBE_INDEX_VIRT_WIDTH] > VBE_MAX_XRES)
        r[VBE_INDEX_VIRT_WIDTH] = VBE_MAX_XRES;
    if (r[VBE_INDEX_VIRT_WIDTH] < r[VBE_INDEX_XRES])
        r[VBE_INDEX_VIRT_WIDTH] = r[VBE_INDEX_XRES];

    line = r[VBE_INDEX_VIRT_WIDTH] * bits / 8;
    maxy = s->vram_size / line;
    if (r[VBE_INDEX_YRES] == 0)
        r[VBE_INDEX_YRES] = 1;
    if (r[VBE_INDEX_YRES] > VBE_MAX_YRES)
        r[VBE_INDEX_YRES] = VBE_MAX_YRES;
    if (r[VBE_INDEX_YRES] > maxy)
        r[VBE_INDEX_YRES] = (uint16_t)maxy;

    if (r[VBE_INDEX_X_OFFSET] > VBE_MAX_XRES)
        r[VBE_INDEX_X_OFFSET] = VBE_MAX_XRES;
    if (r[VBE_INDEX_Y_OFFSET] > VBE_MAX_YRES)
        r[VBE_INDEX_Y_OFFSET] = VBE_MAX_YRES;
    offset = r[VBE_INDEX_X_OFFSET] * bits / 8 + r[VBE_INDEX_Y_OFFSET] * line;
    if (offset + r[VBE_INDEX_YRES] * line > s->vram_size) {
        r[VBE_INDEX_Y_OFFSET] = 0;
        offset = r[VBE_INDEX_X_OFFSET] * bits / 8;
        if (offset + r[VBE_INDEX_YRES] * line > s->vram_size) {
            r[VBE_INDEX_X_OFFSET] = 0;
            offset = 0;
        }
    }
    r[VBE_INDEX_VIRT_HEIGHT] = (uint16_t)maxy; /* truncated, as QEMU's is */
    s->vbe_line_offset = line;
    s->vbe_start_addr = offset / 4;
}

/* A VBE mode programs the VGA registers the display logic reads: graphics,
 * 64K window, no CGA addressing, no double scan, 256-colour shift mode
 * (planar for 4 bpp), chain 4 in the VBE copy of the sequencer. */
static void vbe_set_vga_regs(struct vga *s)
{
    unsigned h, shift;

    if (!vga_vbe_enabled(s))
        return;
    s->gr[VGA_GR_MISC] = (uint8_t)((s->gr[VGA_GR_MISC] & ~0x0c) | 0x04 | 0x01);
    s->cr[VGA_CR_MODE] |= 3;
    s->cr[VGA_CR_OFFSET] = (uint8_t)(s->vbe_line_offset >> 3);
    s->cr[VGA_CR_H_DISP_END] = (uint8_t)((s->vbe_regs[VBE_INDEX_XRES] >> 3) - 1);
    h = s->vbe_regs[VBE_INDEX_YRES] - 1u;
    s->cr[VGA_CR_V_DISP_END] = (uint8_t)h;
    s->cr[VGA_CR_OVERFLOW] =
        (uint8_t)((s->cr[VGA_CR_OVERFLOW] & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40));
    s->cr[VGA_CR_LINE_COMPARE] = 0xff;
    s->cr[VGA_CR_OVERFLOW] |= 0x10;
    s->cr[VGA_CR_MAX_SCAN] |= 0x40;
    if (s->vbe_regs[VBE_INDEX_BPP] == 4) {
        shift = 0;
        s->sr_vbe[VGA_SR_CLOCK_MODE] &= (uint8_t)~8;
    } else {
        shift = 2;
        s->sr_vbe[VGA_SR_MEMORY_MODE] |= 0x08;
        s->sr_vbe[VGA_SR_PLANE_WRITE] |= 0x0f;
    }
    s->gr[VGA_GR_MODE] = (uint8_t)((s->gr[VGA_GR_MODE] & ~0x60) | (shift << 5));
    s->cr[VGA_CR_MAX_SCAN] &= (uint8_t)~0x9f;
}

static uint16_t vbe_read(struct vga *s)
{
    unsigned i = s->vbe_index;

    if (i < VBE_INDEX_NB) {
        if (s->vbe_regs[VBE_INDEX_ENABLE] & VBE_GETCAPS) {
            if (i == VBE_INDEX_XRES)
                return VBE_MAX_XRES;
            if (i == VBE_INDEX_YRES)
                return VBE_MAX_YRES;
            if (i == VBE_INDEX_BPP)
                return VBE_MAX_BPP;
        }
        return s->vbe_regs[i];
    }
    if (i == VBE_INDEX_VIDEO_MEMORY_64K)
        return (uint16_t)(s->vram_size >> 16);
    return 0;
}

static void vbe_write(struct vga *s, uint16_t v)
{
    switch (s->vbe_index) {
    case VBE_INDEX_ID:
        if (v >= VBE_ID0 && v <= VBE_ID5)
            s->vbe_regs[VBE_INDEX_ID] = v;
        break;
    case VBE_INDEX_XRES:
    case VBE_INDEX_YRES:
    case VBE_INDEX_BPP:
    case VBE_INDEX_VIRT_WIDTH:
    case VBE_INDEX_X_OFFSET:
    case VBE_INDEX_Y_OFFSET:
        s->vbe_regs[s->vbe_index] = v;
        vbe_fixup(s);
        vbe_set_vga_regs(s);
        break;
    case VBE_INDEX_BANK:
        v &= (uint16_t)s->vbe_bank_mask;
        s->vbe_regs[VBE_INDEX_BANK] = v;
        s->bank_offset = (uint32_t)v << VBE_BANK_SHIFT;
        break;
    case VBE_INDEX_ENABLE:
        if ((v & VBE_ENABLED) && !vga_vbe_enabled(s)) {
            s->vbe_regs[VBE_INDEX_VIRT_WIDTH] = 0;
            s->vbe_regs[VBE_INDEX_X_OFFSET] = 0;
            s->vbe_regs[VBE_INDEX_Y_OFFSET] = 0;
            s->vbe_regs[VBE_INDEX_ENABLE] |= VBE_ENABLED;
            vbe_fixup(s);
            vbe_set_vga_regs(s);
            if (!(v & VBE_NOCLEARMEM)) {
                /* fixup guarantees YRES lines fit in VRAM */
                uint32_t n = s->vbe_regs[VBE_INDEX_YRES] * s->vbe_line_offset;
                memset(s->vram, 0, n);
                for (uint32_t off = 0; off < n; off += 1u << PAGE_SHIFT)
                    vga_mark_page(s, off);
            }
        } else {
            s->bank_offset = 0;
        }
        s->dac_8bit = v & VBE_8BIT_DAC;
        s->vbe_regs[VBE_INDEX_ENABLE] = v;
        break;
    default:
        break; /* VIRT_HEIGHT, VIDEO_MEMORY_64K and beyond are read-only */
    }
}

/* ------------------------------------------------------------------------
 * VGA registers
 */

static bool port_other_mode(const struct vga *s, uint16_t port)
{
    if (s->msr & MISC_COLOR)
        return port >= 0x3b0 && port <= 0x3bf;
    return port >= 0x3d0 && port <= 0x3df;
}

static uint8_t vga_port_read(struct vga *s, uint16_t port)
{
    uint8_t v;

    if (port_other_mode(s, port))
        return 0xff;
    switch (port) {
    case 0x3c0:
        return s->ar_flip_flop ? 0 : s->ar_index;
    case 0x3c1: {
        unsigned i = s->ar_index & 0x1f;
        return i < VGA_AR_COUNT ? s->ar[i] : 0;
    }
    case 0x3c2:
        return s->st00;
    case 0x3c4:
        return s->sr_index;
    case 0x3c5:
        return s->sr[s->sr_index];
    case 0x3c7:
        return s->dac_state;
    case 0x3c8:
        return s->dac_write_index;
    case 0x3c9:
        v = s->palette[s->dac_read_index * 3 + s->dac_sub_index];
        if (++s->dac_sub_index == 3) {
            s->dac_sub_index = 0;
            s->dac_read_index++;
        }
        return v;
    case 0x3ca:
        return s->fcr;
    case 0x3cc:
        return s->msr;
    case 0x3ce:
        return s->gr_index;
    case 0x3cf:
        return s->gr[s->gr_index];
    case 0x3b4:
    case 0x3d4:
        return s->cr_index;
    case 0x3b5:
    case 0x3d5:
        return s->cr[s->cr_index];
    case 0x3ba:
    case 0x3da:
        /* nobody waits for real retraces: flip the bits at each read */
        s->st01 ^= ST01_V_RETRACE | ST01_DISP_EN;
        s->ar_flip_flop = false;
        return s->st01;
    default:
        return 0; /* 0x3c3, 0x3c6 (the PEL mask reads 0 in QEMU), 0x3cb, 0x3cd */
    }
}

static void ar_write(struct vga *s, uint8_t v)
{
    unsigned i = s->ar_index & 0x1f;

    if (!s->ar_flip_flop) {
        s->ar_index = v & 0x3f;
    } else if (i < 0x10) {
        s->ar[i] = v & 0x3f;
    } else {
        switch (i) {
        case VGA_AR_MODE:
            s->ar[i] = v & (uint8_t)~0x10;
            break;
        case VGA_AR_OVERSCAN:
            s->ar[i] = v;
            break;
        case VGA_AR_PLANE_ENABLE:
            s->ar[i] = v & 0x3f;
            break;
        case VGA_AR_PEL_PAN:
        case VGA_AR_COLOR_SELECT:
            s->ar[i] = v & 0x0f;
            break;
        default:
            break;
        }
    }
    s->ar_flip_flop = !s->ar_flip_flop;
}

static void cr_write(struct vga *s, uint8_t v)
{
    /* CR11 bit 7 protects CR0-CR7, except the line-compare bit of CR7 */
    if ((s->cr[VGA_CR_V_SYNC_END] & CR11_PROTECT) && s->cr_index <= VGA_CR_OVERFLOW) {
        if (s->cr_index == VGA_CR_OVERFLOW) {
            s->cr[VGA_CR_OVERFLOW] = (uint8_t)((s->cr[VGA_CR_OVERFLOW] & ~0x10) | (v & 0x10));
            vbe_set_vga_regs(s);
        }
        return;
    }
    s->cr[s->cr_index] = v;
    vbe_set_vga_regs(s);
}

static void vga_port_write(struct vga *s, uint16_t port, uint8_t v)
{
    if (port_other_mode(s, port))
        return;
    switch (port) {
    case 0x3c0:
        ar_write(s, v);
        break;
    case 0x3c2:
        s->msr = v & (uint8_t)~0x10;
        break;
    case 0x3c4:
        s->sr_index = v & 7;
        break;
    case 0x3c5:
        s->sr[s->sr_index] = v & sr_writable[s->sr_index];
        break;
    case 0x3c7:
        s->dac_read_index = v;
        s->dac_sub_index = 0;
        s->dac_state = 3;
        break;
    case 0x3c8:
        s->dac_write_index = v;
        s->dac_sub_index = 0;
        s->dac_state = 0;
        break;
    case 0x3c9:
        /* QEMU keeps all 8 bits; the display uses 6 of them unless VBE
         * asked for an 8-bit DAC */
        s->dac_cache[s->dac_sub_index] = v;
        if (++s->dac_sub_index == 3) {
            memcpy(&s->palette[s->dac_write_index * 3], s->dac_cache, 3);
            s->dac_sub_index = 0;
            s->dac_write_index++;
        }
        break;
    case 0x3ce:
        s->gr_index = v & 0x0f;
        break;
    case 0x3cf:
        s->gr[s->gr_index] = v & gr_writable[s->gr_index];
        vbe_set_vga_regs(s);
        break;
    case 0x3b4:
    case 0x3d4:
        s->cr_index = v;
        break;
    case 0x3b5:
    case 0x3d5:
        cr_write(s, v);
        break;
    case 0x3ba:
    case 0x3da:
        s->fcr = v & 0x10;
        break;
    default:
        break; /* 0x3c1, 0x3c3, 0x3c6, 0x3ca, 0x3cc... are read-only or nothing */
    }
}

/* QEMU's port lists take 1-byte accesses (a 2-byte one is two, low byte
 * first); wider ones read all-ones and are dropped. */
static uint64_t legacy_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga_portwin *w = opaque;
    uint16_t port = (uint16_t)(w->region.base + off);
    uint64_t v;

    if (size > 2) {
        LOG_GUEST(TAG, "%u-byte read of port %#x: all-ones", size, port);
        return UINT64_MAX;
    }
    v = vga_port_read(w->vga, port);
    if (size == 2)
        v |= (uint64_t)vga_port_read(w->vga, (uint16_t)(port + 1)) << 8;
    return v;
}

static void legacy_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    struct vga_portwin *w = opaque;
    uint16_t port = (uint16_t)(w->region.base + off);

    if (size > 2) {
        LOG_GUEST(TAG, "%u-byte write of port %#x dropped", size, port);
        return;
    }
    if (w->vga->legacy_write_hook)
        w->vga->legacy_write_hook(w->vga);
    vga_port_write(w->vga, port, (uint8_t)v);
    if (size == 2)
        vga_port_write(w->vga, (uint16_t)(port + 1), (uint8_t)(v >> 8));
}

static const struct io_ops legacy_ops = {
    .name = "vga-ports",
    .read = legacy_read,
    .write = legacy_write,
    .max_size = 4,
};

/* 0x1ce index, 0x1cf and 0x1d0 data: 16-bit accesses only. */
static uint64_t vbe_port_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *s = vga_of(opaque);

    if (size != 2 || off > 2) {
        LOG_GUEST(TAG, "%u-byte read of DISPI port %#llx: all-ones", size,
                  (unsigned long long)(VBE_PORT_BASE + off));
        return UINT64_MAX;
    }
    return off == 0 ? s->vbe_index : vbe_read(s);
}

static void vbe_port_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    struct vga *s = vga_of(opaque);

    if (size != 2 || off > 2) {
        LOG_GUEST(TAG, "%u-byte write of DISPI port %#llx dropped", size,
                  (unsigned long long)(VBE_PORT_BASE + off));
        return;
    }
    if (off == 0)
        s->vbe_index = (uint16_t)v;
    else
        vbe_write(s, (uint16_t)v);
}

static const struct io_ops vbe_port_ops = {
    .name = "vbe-ports",
    .read = vbe_port_read,
    .write = vbe_port_write,
    .max_size = 4,
};

/* ------------------------------------------------------------------------
 * The memory window 0xa0000-0xbffff
 */

/* Window offset -> VGA memory address per GR6's memory map; false if the
 * map does not decode it. */
static bool window_addr(const struct vga *s, uint32_t off, uint32_t *addr)
{
    switch ((s->gr[VGA_GR_MISC] >> 2) & 3) {
    case 0:
        *addr = off;
        return true;
    case 1:
        *addr = off + s->bank_offset;
        return off < 0x10000;
    case 2:
        *addr = off - 0x10000;
        return off >= 0x10000 && off < 0x18000;
    default:
        *addr = off - 0x18000;
        return off >= 0x18000;
    }
}

static uint8_t vga_mem_read(struct vga *s, uint32_t off)
{
    uint32_t addr, a;

    if (!window_addr(s, off, &addr))
        return 0xff;
    if (vga_sr(s, VGA_SR_MEMORY_MODE) & 0x08) {
        /* chain 4: the address selects plane and byte */
        return addr < s->vram_size ? s->vram[addr] : 0xff;
    }
    if (s->gr[VGA_GR_MODE] & 0x10) {
        /* odd/even: bit 0 and GR4 bit 1 select the plane */
        a = ((addr & ~1u) << 1) | (s->gr[VGA_GR_READ_MAP] & 2) | (addr & 1);
        return a < s->vram_size ? s->vram[a] : 0xff;
    }
    if (addr >= s->vram_size / 4)
        return 0xff;
    s->latch = vram_get32(s, addr * 4);
    if (!(s->gr[VGA_GR_MODE] & 0x08))
        return (uint8_t)(s->latch >> (8 * (s->gr[VGA_GR_READ_MAP] & 3)));
    /* read mode 1: a bit is set where every plane that "cares" matches */
    uint32_t d =
        (s->latch ^ plane_mask32(s->gr[VGA_GR_COMPARE])) & plane_mask32(s->gr[VGA_GR_DONT_CARE]);
    d |= d >> 16;
    d |= d >> 8;
    return (uint8_t)~d;
}

static uint8_t rotate8(uint8_t v, unsigned n)
{
    n &= 7;
    return n ? (uint8_t)(v >> n | v << (8 - n)) : v;
}

static void vga_mem_write(struct vga *s, uint32_t off, uint8_t v)
{
    uint32_t addr, a, val, bits, mask;
    unsigned map_mask = vga_sr(s, VGA_SR_PLANE_WRITE);

    if (!window_addr(s, off, &addr))
        return;
    if (vga_sr(s, VGA_SR_MEMORY_MODE) & 0x08) {
        if (!(map_mask & (1u << (addr & 3))) || addr >= s->vram_size)
            return;
        s->vram[addr] = v;
        s->plane_updated |= (uint8_t)(1u << (addr & 3));
        vga_mark_page(s, addr);
        return;
    }
    if (s->gr[VGA_GR_MODE] & 0x10) {
        unsigned plane = (s->gr[VGA_GR_READ_MAP] & 2) | (addr & 1);
        if (!(map_mask & (1u << plane)))
            return;
        a = ((addr & ~1u) << 1) | plane;
        if (a >= s->vram_size)
            return;
        s->vram[a] = v;
        s->plane_updated |= (uint8_t)(1u << plane);
        vga_mark_page(s, a);
        return;
    }

    /* planar: build four plane bytes from the data, set/reset and latches */
    switch (s->gr[VGA_GR_MODE] & 3) {
    case 0:
        val = rotate8(v, s->gr[VGA_GR_ROTATE]) * 0x01010101u;
        mask = plane_mask32(s->gr[VGA_GR_SR_ENABLE]);
        val = (val & ~mask) | (plane_mask32(s->gr[VGA_GR_SR_VALUE]) & mask);
        bits = s->gr[VGA_GR_BIT_MASK];
        break;
    case 1:
        val = s->latch;
        goto store;
    case 2:
        val = plane_mask32(v & 0x0f);
        bits = s->gr[VGA_GR_BIT_MASK];
        break;
    default:
        bits = s->gr[VGA_GR_BIT_MASK] & rotate8(v, s->gr[VGA_GR_ROTATE]);
        val = plane_mask32(s->gr[VGA_GR_SR_VALUE]);
        break;
    }
    switch (s->gr[VGA_GR_ROTATE] >> 3) {
    case 1:
        val &= s->latch;
        break;
    case 2:
        val |= s->latch;
        break;
    case 3:
        val ^= s->latch;
        break;
    default:
        break;
    }
    bits *= 0x01010101u;
    val = (val & bits) | (s->latch & ~bits);
store:
    s->plane_updated |= (uint8_t)map_mask;
    if (addr >= s->vram_size / 4)
        return;
    mask = plane_mask32(map_mask);
    vram_put32(s, addr * 4, (vram_get32(s, addr * 4) & ~mask) | (val & mask));
    vga_mark_page(s, addr * 4);
}

static uint64_t window_read(void *opaque, uint64_t off, unsigned size)
{
    return vga_mem_read(vga_of(opaque), (uint32_t)off);
}

static void window_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    vga_mem_write(vga_of(opaque), (uint32_t)off, (uint8_t)v);
}

/* Byte accesses, like QEMU's (wider ones are split, low byte first). */
static const struct io_ops window_ops = {
    .name = "vga-lowmem",
    .read = window_read,
    .write = window_write,
    .max_size = 1,
};

/* ------------------------------------------------------------------------
 * BAR2
 */

/* One piece of a BAR2 access inside one of its parts, as QEMU's memory
 * core would cut it: `size` bytes at `off`, never crossing a part. */
static uint64_t mmio_part_read(struct vga *s, uint32_t off, unsigned size)
{
    if (off >= MMIO_PORTS && off < MMIO_PORTS + MMIO_PORTS_SIZE) {
        uint16_t port = (uint16_t)(0x3c0 + off - MMIO_PORTS);
        uint64_t v = vga_port_read(s, port);
        if (size == 2)
            v |= (uint64_t)vga_port_read(s, (uint16_t)(port + 1)) << 8;
        return v;
    }
    if (off >= MMIO_BOCHS && off < MMIO_BOCHS + MMIO_BOCHS_SIZE) {
        /* every access reaches a whole 16-bit register */
        s->vbe_index = (uint16_t)((off - MMIO_BOCHS) >> 1);
        return vbe_read(s);
    }
    if (off >= MMIO_QEXT && off < MMIO_QEXT + MMIO_QEXT_SIZE) {
        if (size != 4 || (off & 3))
            return 0;
        if (off == MMIO_QEXT)
            return MMIO_QEXT_SIZE;
        return s->big_endian_fb ? QEXT_BIG_ENDIAN : QEXT_LITTLE_ENDIAN;
    }
    return UINT64_MAX;
}

static void mmio_part_write(struct vga *s, uint32_t off, unsigned size, uint64_t v)
{
    if (off >= MMIO_PORTS && off < MMIO_PORTS + MMIO_PORTS_SIZE) {
        uint16_t port = (uint16_t)(0x3c0 + off - MMIO_PORTS);
        vga_port_write(s, port, (uint8_t)v);
        if (size == 2)
            vga_port_write(s, (uint16_t)(port + 1), (uint8_t)(v >> 8));
    } else if (off >= MMIO_BOCHS && off < MMIO_BOCHS + MMIO_BOCHS_SIZE) {
        s->vbe_index = (uint16_t)((off - MMIO_BOCHS) >> 1);
        vbe_write(s, (uint16_t)(size == 1 ? (v & 0xff) : (v & 0xffff)));
    } else if (off >= MMIO_QEXT && off < MMIO_QEXT + MMIO_QEXT_SIZE) {
        if (size != 4 || off != MMIO_QEXT + 4)
            return;
        if (v == QEXT_BIG_ENDIAN)
            s->big_endian_fb = true;
        else if (v == QEXT_LITTLE_ENDIAN)
            s->big_endian_fb = false;
    }
}

/* Size of the next piece at off: the ports take 1-2 bytes, the Bochs
 * registers 2 (a 1-byte access still reaches the whole register), the
 * QEMU registers 4; nothing crosses into the next part. */
static unsigned mmio_piece(uint32_t off, unsigned left)
{
    uint32_t end;
    unsigned max;

    if (off >= MMIO_PORTS && off < MMIO_PORTS + MMIO_PORTS_SIZE) {
        end = MMIO_PORTS + MMIO_PORTS_SIZE;
        max = 2;
    } else if (off >= MMIO_BOCHS && off < MMIO_BOCHS + MMIO_BOCHS_SIZE) {
        end = MMIO_BOCHS + MMIO_BOCHS_SIZE;
        max = 2;
    } else if (off >= MMIO_QEXT && off < MMIO_QEXT + MMIO_QEXT_SIZE) {
        end = MMIO_QEXT + MMIO_QEXT_SIZE;
        max = 4;
    } else {
        /* up to the next part (or the end of the BAR) */
        end = off < MMIO_PORTS   ? MMIO_PORTS
              : off < MMIO_BOCHS ? MMIO_BOCHS
              : off < MMIO_QEXT  ? MMIO_QEXT
                                 : VGA_MMIO_SIZE;
        max = 8;
    }
    if (left > max)
        left = max;
    if (left > end - off)
        left = end - off;
    return left;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *s = vga_of(opaque);
    uint64_t out = 0;

    for (unsigned done = 0; done < size;) {
        unsigned n = mmio_piece((uint32_t)off + done, size - done);
        uint64_t v = mmio_part_read(s, (uint32_t)off + done, n);
        if (n < 8)
            v &= (1ULL << (8 * n)) - 1;
        out |= v << (8 * done);
        done += n;
    }
    return out;
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    struct vga *s = vga_of(opaque);

    for (unsigned done = 0; done < size;) {
        unsigned n = mmio_piece((uint32_t)off + done, size - done);
        mmio_part_write(s, (uint32_t)off + done, n, v >> (8 * done));
        done += n;
    }
}

static const struct io_ops mmio_ops = {
    .name = "vga-mmio",
    .read = mmio_read,
    .write = mmio_write,
};

/* ------------------------------------------------------------------------
 * Life cycle
 */

static const struct fb_producer_ops vga_fb_ops = {
    .name = "VGA",
    .refresh = vga_refresh,
};

/* Power-on state (QEMU's vga_common_reset).  VRAM is kept. */
static void vga_reset_regs(struct vga *s)
{
    s->msr = s->fcr = s->st00 = s->st01 = 0;
    s->sr_index = s->gr_index = s->ar_index = s->cr_index = 0;
    memset(s->sr, 0, sizeof(s->sr));
    memset(s->sr_vbe, 0, sizeof(s->sr_vbe));
    memset(s->gr, 0, sizeof(s->gr));
    memset(s->ar, 0, sizeof(s->ar));
    memset(s->cr, 0, sizeof(s->cr));
    s->ar_flip_flop = false;
    s->dac_state = s->dac_sub_index = s->dac_read_index = s->dac_write_index = 0;
    memset(s->dac_cache, 0, sizeof(s->dac_cache));
    memset(s->palette, 0, sizeof(s->palette));
    s->dac_8bit = false;
    s->latch = 0;
    s->bank_offset = 0;
    s->vbe_index = 0;
    memset(s->vbe_regs, 0, sizeof(s->vbe_regs));
    s->vbe_regs[VBE_INDEX_ID] = VBE_ID5;
    s->vbe_start_addr = s->vbe_line_offset = 0;
    s->vbe_bank_mask = (s->vram_size >> VBE_BANK_SHIFT) - 1;
    s->big_endian_fb = false;
    s->plane_updated = 0;
}

void vga_core_reset(struct vga *s)
{
    vga_reset_regs(s);
    vga_render_reset(s);
}

static void vga_reset(struct device *dev)
{
    vga_core_reset(DEVICE_PRIV(dev, struct vga));
}

/* BAR0's size follows vgamem_mb, but the PCI code took it from the static
 * description: give this function its own copy and the matching writable
 * BAR bits, before the VRAM is attached. */
static void vga_size_vram_bar(struct vga *s)
{
    uint32_t mask = ~(s->vram_size - 1) & ~0xfu;

    s->pci = *s->pd->desc;
    s->pci.bar[0].size = s->vram_size;
    s->pd->desc = &s->pci;
    s->pd->bar_region[0].size = s->vram_size;
    for (unsigned i = 0; i < 4; i++)
        s->pd->wmask[0x10 + i] = (uint8_t)(mask >> (8 * i));
}

static int vga_add_regions(struct vga *s)
{
    static const struct {
        uint16_t base, size;
    } legacy[] = {{0x3b4, 2}, {0x3ba, 1}, {0x3c0, 16}, {0x3d4, 2}, {0x3da, 1}};
    int rc;

    _Static_assert(sizeof(legacy) / sizeof(legacy[0]) == sizeof(s->ports) / sizeof(s->ports[0]),
                   "one window per port group");
    for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
        s->ports[i].vga = s;
        s->ports[i].region = (struct io_region){.space = IO_PIO,
                                                .base = legacy[i].base,
                                                .size = legacy[i].size,
                                                .ops = &legacy_ops,
                                                .opaque = &s->ports[i]};
        rc = io_region_add(&s->ports[i].region);
        if (rc < 0)
            return rc;
    }
    s->vbe_ports = (struct io_region){.space = IO_PIO,
                                      .base = VBE_PORT_BASE,
                                      .size = VBE_PORT_SIZE,
                                      .ops = &vbe_port_ops,
                                      .opaque = s->dev};
    rc = io_region_add(&s->vbe_ports);
    if (rc < 0)
        return rc;
    s->lowmem = (struct io_region){.space = IO_MMIO,
                                   .base = VGA_WINDOW_BASE,
                                   .size = VGA_WINDOW_SIZE,
                                   .ops = &window_ops,
                                   .opaque = s->dev};
    return io_region_add(&s->lowmem);
}

int vga_core_init(struct vga *s, struct device *dev, uint8_t *vram, uint32_t vram_size)
{
    int rc;

    s->dev = dev;
    s->pd = dev->pci;
    s->vram = vram;
    s->vram_size = vram_size;
    s->vram_mask = vram_size - 1;
    s->dirty_pages = calloc(1, (s->vram_size >> PAGE_SHIFT) / 8);
    if (!s->dirty_pages) {
        fprintf(stderr, "xendm: -device %s: out of memory\n", dev->desc->name);
        return -ENOMEM;
    }
    rc = vga_add_regions(s);
    if (rc < 0) {
        fprintf(stderr, "xendm: -device %s: the legacy VGA ports or memory are taken%s\n",
                dev->desc->name, rc == -EEXIST ? " (only one VGA device can be used)" : "");
        /* regions inside the private area are removed by device.c */
        free(s->dirty_pages);
        s->dirty_pages = NULL;
        return rc;
    }
    vga_reset_regs(s);
    vga_render_init(s);
    return 0;
}

void vga_core_fini(struct vga *s)
{
    vga_render_fini(s);
    free(s->dirty_pages);
    s->dirty_pages = NULL;
}

void vga_core_surface_lost(struct vga *s)
{
    vga_render_reset(s);
    s->render.have_surface = false;
    s->render.track_gfn = s->render.track_pages = s->render.track_offset = 0;
    s->render.track_ptr = NULL;
    memset(s->dirty_pages, 0xff, (s->vram_size >> PAGE_SHIFT) / 8);
}

static int vga_create(struct device *dev, const struct opts *opts)
{
    struct vga *s = DEVICE_PRIV(dev, struct vga);
    uint64_t mb = VGA_VRAM_MB_DEFAULT, size;
    uint8_t *vram;
    int rc;

    if (opts &&
        opts_get_u64((struct opts *)opts, "vgamem_mb", VGA_VRAM_MB_DEFAULT, UINT32_MAX, &mb) < 0)
        return -EINVAL;
    if (mb < VGA_VRAM_MB_MIN)
        mb = VGA_VRAM_MB_MIN;
    if (mb > VGA_VRAM_MB_MAX)
        mb = VGA_VRAM_MB_MAX;
    for (size = 1; size < mb; size <<= 1)
        ;
    s->pd = dev->pci;
    s->vram_size = (uint32_t)(size << 20);
    vga_size_vram_bar(s);

    /* on failure the VRAM frames stay allocated (hv.h cannot give them
     * back); hv_alloc_device_ram said why (videoram) */
    vram = pci_bar_set_ram(s->pd, 0, "vga.vram");
    if (!vram)
        return -ENOMEM;
    rc = vga_core_init(s, dev, vram, (uint32_t)(size << 20));
    if (rc < 0)
        return rc;
    fb_set_producer(&vga_fb_ops, s);
    return 0;
}

static void vga_destroy(struct device *dev)
{
    fb_set_producer(NULL, NULL);
    vga_core_fini(DEVICE_PRIV(dev, struct vga));
}

static const struct pci_desc vga_pci = {
    .vendor = VGA_PCI_VENDOR,
    .device = VGA_PCI_DEVICE,
    /* subsystem left 0: the PCI code gives QEMU's default 1af4:1100 */
    .class_code = VGA_PCI_CLASS,
    .revision = VGA_PCI_REVISION,
    .devfn = -1,
    .bar =
        {
            [0] = {.type = PCI_BAR_MEM32,
                   .prefetch = true,
                   .size = (uint64_t)VGA_VRAM_MB_DEFAULT << 20},
            [2] = {.type = PCI_BAR_MEM32, .size = VGA_MMIO_SIZE, .ops = &mmio_ops},
        },
    .rom_file = VGA_ROM_FILE,
};

static struct device_desc vga_desc = {
    .name = "VGA",
    .desc = "std VGA with Bochs VBE extensions (vga=\"stdvga\")",
    .priv_size = sizeof(struct vga),
    .pci = &vga_pci,
    .create = vga_create,
    .reset = vga_reset,
    .destroy = vga_destroy,
};
DEVICE_REGISTER(vga_desc)
