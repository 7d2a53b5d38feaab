/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL: "-device qxl-vga[,ram_size_mb=R][,vram_size_mb=V][,vgamem_mb=G]",
 * what libxl passes for vga="qxl" (xl-contract 1.5.6: R = V = videoram / 2).
 * The guest sees the device QEMU 7.2 shows on xenfv (checked against
 * Debian's qemu-xen on xensim by tests/xensim/test-qxl.c):
 *
 * PCI 1b36:0100 rev 04 (QEMU's revision 4 for its 3.1 machines, which
 * xenfv is), class 0x030000, subsystem 1af4:1100, INTA#, first free slot.
 *   BAR0  32-bit memory, R MiB (default 64, at least 2 * G, a power of
 *         two): the RAM.  [0, G) is the VGA memory and the primary surface
 *         ("surface0 area"), then the pages drivers allocate from, and the
 *         last 8 KiB hold the QXLRam header (interrupt registers, log
 *         buffer, command/cursor/release rings, I/O port arguments).
 *   BAR1  32-bit memory, V MiB (default 64): surface memory.
 *   BAR2  32-bit memory, 8 KiB: the QXLRom (magic "QXRO", the layout
 *         above, memory slot scheme: slots 1-7, 8 id bits, 8 generation
 *         bits, 1024 surfaces) and the mode list (QEMU's table, modes that
 *         fit G MiB, at QEMU's indices).  RAM the guest can write; xendm
 *         keeps its own copy and restores it on reset.
 *   BAR3  I/O, 32 ports: QXL_IO_* (byte writes; reads return 0xff), the
 *         commands, interrupts and error state of display/qxl-io.c.
 *   ROM   Debian's SeaBIOS vgabios-qxl.bin (64 KiB BAR).
 * All memory is guest frames from the domain's video allowance
 * (pci_bar_set_ram), so videoram=128 starts just like with qemu-xen.
 *
 * VGA-compatible mode (after reset, until the driver makes a primary
 * surface): the std VGA core of display/vga.c over the first G MiB of
 * BAR0 (legacy ports, Bochs DISPI ports, the 0xa0000 window); a write to a
 * legacy VGA port drops the driver's surfaces and returns to VGA mode, as
 * QEMU's qxl-vga does.  Native mode: the driver's commands go through the
 * rings to spice-server, which renders into the primary surface; the
 * framebuffer core (VNC, screendump) shows that surface after
 * spice_qxl_update_area().
 *
 * Guest input: every address, chunk chain, surface id, rectangle and ring
 * index is checked (display/qxl-parse.c) before spice-server sees
 * anything, and spice-server only ever sees xendm's copies.  A malformed
 * command or request puts the device in its error state like QEMU's
 * "guest bug": one log line, QXL_INTERRUPT_ERROR, commands and ports
 * ignored until QXL_IO_RESET (but UPDATE_IRQ, so the line can go down).
 *
 * Without -spice, xendm runs a spice-server that listens nowhere
 * (qxl-spice.c), as QEMU does: it renders for VNC and screendump.
 *
 * Options: ram_size_mb, vram_size_mb (each 1..512), vgamem_mb (8..256).
 * Left out: a second head ("qxl" secondary device), the 64-bit VRAM BAR
 * (vram64_size_mb), revisions other than 4, migration, guestdebug/cmdlog,
 * a cursor for VNC (SPICE clients get the guest's cursor), the VBE bank
 * register reaching beyond the VGA memory (QEMU masks it with R, we with G).
 *
 * Files: this one is the PCI device (options, BARs, ROM and RAM header,
 * modes and the primary surface, resets, what the framebuffer core shows);
 * display/qxl-io.c the I/O ports, interrupts, error state and memory
 * slots; display/qxl-parse.c and qxl-parse-draw.c check and copy guest
 * commands; display/qxl-spice.c (worker thread) and qxl-spice-main.c
 * (main thread) are spice-server's side; display/qxl-cursor.c passes the
 * driver's cursor on to the framebuffer core.  Their interfaces are in
 * display/qxl.h.
 *
 * Threads: main thread, except struct qxl_spice (display/qxl.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/fb.h"
#include "display/qxl.h"
#include "display/vga.h"
#include "src/log.h"
#include "src/opts.h"

#define TAG "qxl"

#define QXL_RAM_MB_DEFAULT    64
#define QXL_VRAM_MB_DEFAULT   64
#define QXL_VGAMEM_MB_DEFAULT 16
#define QXL_VGAMEM_MB_MIN     8
#define QXL_VGAMEM_MB_MAX     256
#define QXL_BAR_MB_MAX        512
#define QXL_ROM_SIZE          8192 /* QXLRom + mode list: two pages */
#define QXL_IO_SIZE           32   /* QXL_IO_RANGE_SIZE, rounded up */
#define QXL_PCI_REVISION      QXL_REVISION_STABLE_V12
#define QXL_ROM_FILE          "vgabios-qxl.bin"
/* Dirty rectangles asked of spice-server per refresh (more are merged
 * into the last one by spice-server). */
#define QXL_RENDER_RECTS 64

/* QEMU's mode table (resolutions; each gives 16 and 32 bpp, orientation 0
 * and 1, at consecutive ids).  Pixel size 0.2936875 mm. */
static const uint16_t qxl_resolutions[][2] = {
    {640, 480},   {800, 480},   {800, 600},   {832, 624},   {960, 640},   {1024, 600},
    {1024, 768},  {1152, 864},  {1152, 870},  {1280, 720},  {1280, 760},  {1280, 768},
    {1280, 800},  {1280, 960},  {1280, 1024}, {1360, 768},  {1366, 768},  {1400, 1050},
    {1440, 900},  {1600, 900},  {1600, 1200}, {1680, 1050}, {1920, 1080}, {1920, 1200},
    {1920, 1440}, {2000, 2000}, {2048, 1536}, {2048, 2048}, {2560, 1440}, {2560, 1600},
    {2560, 2048}, {2800, 2100}, {3200, 2400}, {3840, 2160}, {4096, 2160}, {7680, 4320},
    {8192, 4320},
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint64_t pow2_ceil(uint64_t v)
{
    uint64_t p = 1;

    while (p < v)
        p <<= 1;
    return p;
}

/* ------------------------------------------------------------------------
 * ROM and RAM header
 */

static void qxl_init_rom(struct qxl *s)
{
    QXLRom *rom = &s->shadow_rom;
    uint32_t ram_header = (uint32_t)align_up(sizeof(QXLRam), QXL_PAGE);
    uint32_t surface0 = (uint32_t)align_up(s->vgamem_size, QXL_PAGE);
    uint32_t n = 0;

    memset(rom, 0, sizeof(*rom));
    rom->magic = QXL_ROM_MAGIC;
    rom->modes_offset = sizeof(QXLRom);
    rom->slot_gen_bits = QXL_SLOT_GEN_BITS;
    rom->slot_id_bits = QXL_SLOT_ID_BITS;
    rom->slots_start = 1;
    rom->slots_end = QXL_NUM_MEMSLOTS - 1;
    rom->n_surfaces = QXL_NUM_SURFACES;
    rom->draw_area_offset = 0;
    rom->surface0_area_size = surface0;
    rom->pages_offset = surface0;
    rom->num_pages = (s->ram_size - ram_header - surface0) / QXL_PAGE;
    rom->ram_header_offset = s->ram_size - ram_header;

    _Static_assert(sizeof(QXLRom) + sizeof(QXLModes) +
                           sizeof(qxl_resolutions) / sizeof(qxl_resolutions[0]) * 4 *
                               sizeof(QXLMode) <=
                       QXL_ROM_SIZE,
                   "the mode list fits the ROM BAR");
    _Static_assert(sizeof(s->mode_list) / sizeof(s->mode_list[0]) ==
                       sizeof(qxl_resolutions) / sizeof(qxl_resolutions[0]) * 4,
                   "room for every mode");
    memset(s->rom, 0, QXL_ROM_SIZE);
    s->modes = (QXLModes *)(s->rom + sizeof(QXLRom));
    for (unsigned i = 0; i < sizeof(qxl_resolutions) / sizeof(qxl_resolutions[0]); i++) {
        for (unsigned k = 0; k < 4; k++) {
            uint32_t x = qxl_resolutions[i][0], y = qxl_resolutions[i][1], bits = k & 1 ? 32 : 16;
            QXLMode m = {
                .id = i * 4 + k,
                .x_res = x,
                .y_res = y,
                .bits = bits,
                .stride = x * bits / 8,
                .x_mili = (uint32_t)((uint64_t)x * 2936875 / 10000000),
                .y_mili = (uint32_t)((uint64_t)y * 2936875 / 10000000),
                .orientation = k >> 1,
            };
            if ((uint64_t)m.y_res * m.stride > s->vgamem_size)
                continue;
            s->mode_list[n] = m;
            memcpy(&s->modes->modes[n++], &m, sizeof(m));
        }
    }
    s->modes->n_modes = n;
    s->n_modes = n;
    memcpy(s->rom, rom, sizeof(*rom));
}

/* Reset the RAM header (QEMU's init_qxl_ram); lock held by the caller. */
static void qxl_init_ram(struct qxl *s)
{
    QXLRam *r = (QXLRam *)(s->ram + s->shadow_rom.ram_header_offset);

    s->ram_hdr = r;
    r->magic = QXL_RAM_MAGIC;
    r->int_pending = 0;
    r->int_mask = 0;
    r->update_surface = 0;
    r->monitors_config = 0;
    SPICE_RING_INIT(&r->cmd_ring);
    SPICE_RING_INIT(&r->cursor_ring);
    SPICE_RING_INIT(&r->release_ring);
    r->release_ring.items[0].el = 0;
}

/* ------------------------------------------------------------------------
 * What the framebuffer core shows
 */

static pixman_format_code_t qxl_pixman_format(uint32_t fmt)
{
    switch (fmt) {
    case SPICE_SURFACE_FMT_16_555:
        return PIXMAN_x1r5g5b5;
    case SPICE_SURFACE_FMT_16_565:
        return PIXMAN_r5g6b5;
    default:
        return PIXMAN_x8r8g8b8;
    }
}

/* Show the primary surface: over guest memory when its lines go down,
 * else (negative stride) in a buffer we copy into. */
static void qxl_show_primary(struct qxl *s)
{
    const QXLSurfaceCreate *sc = &s->guest_primary;
    pixman_format_code_t fmt = qxl_pixman_format(sc->format);
    int rc;

    fb_track_vram(0, 0, NULL, 0); /* spice-server's writes are not in Xen's bitmap */
    if (sc->stride > 0)
        rc = fb_set_surface(sc->width, sc->height, fmt, s->primary_mem, (unsigned)sc->stride);
    else
        rc = fb_set_surface(sc->width, sc->height, fmt, NULL, 0);
    if (rc < 0) {
        LOG_GUEST(TAG, "the display core refused a %ux%u surface (%d)", sc->width, sc->height, rc);
        return;
    }
    s->primary_shown = true;
}

/* Bottom-up surfaces: copy the rows of r into the core's buffer. */
static void qxl_copy_flipped(struct qxl *s, const QXLRect *r)
{
    const QXLSurfaceCreate *sc = &s->guest_primary;
    pixman_image_t *img = fb_image();
    unsigned bpp =
        sc->format == SPICE_SURFACE_FMT_16_555 || sc->format == SPICE_SURFACE_FMT_16_565 ? 2 : 4;
    size_t abs_stride = (size_t) - (int64_t)sc->stride, dst_stride;
    uint8_t *dst;

    if (!img)
        return;
    dst = (uint8_t *)pixman_image_get_data(img);
    dst_stride = (size_t)pixman_image_get_stride(img);
    for (int y = r->top; y < r->bottom; y++) {
        const uint8_t *line = s->primary_mem + (size_t)(sc->height - 1 - (unsigned)y) * abs_stride;
        memcpy(dst + (size_t)y * dst_stride + (size_t)r->left * bpp, line + (size_t)r->left * bpp,
               (size_t)(r->right - r->left) * bpp);
    }
}

/* Have spice-server draw what it has queued into the primary surface and
 * tell the framebuffer core what changed. */
static void qxl_render(struct qxl *s)
{
    QXLRect area = {.top = 0,
                    .left = 0,
                    .bottom = (int32_t)s->guest_primary.height,
                    .right = (int32_t)s->guest_primary.width};
    QXLRect rects[QXL_RENDER_RECTS];

    if (!s->primary_shown)
        qxl_show_primary(s);
    if (!s->primary_shown)
        return;
    memset(rects, 0, sizeof(rects));
    spice_qxl_update_area(&s->sp->qin, 0, &area, rects, QXL_RENDER_RECTS, 1);
    for (unsigned i = 0; i < QXL_RENDER_RECTS; i++) {
        QXLRect r = rects[i];
        /* spice-server returns rectangles of its own canvas: still clamp */
        if (r.left < 0)
            r.left = 0;
        if (r.top < 0)
            r.top = 0;
        if (r.right > area.right)
            r.right = area.right;
        if (r.bottom > area.bottom)
            r.bottom = area.bottom;
        if (r.left >= r.right || r.top >= r.bottom)
            continue;
        if (s->guest_primary.stride < 0)
            qxl_copy_flipped(s, &r);
        fb_mark_dirty(r.left, r.top, r.right - r.left, r.bottom - r.top);
    }
}

static void qxl_refresh(void *opaque)
{
    struct qxl *s = opaque;

    switch (s->mode) {
    case QXL_MODE_VGA:
        vga_refresh(&s->vga);
        break;
    case QXL_MODE_NATIVE:
    case QXL_MODE_COMPAT:
        if (s->primary_mem)
            qxl_render(s);
        break;
    default:
        break; /* between modes: the last picture stays */
    }
}

static const struct fb_producer_ops qxl_fb_ops = {
    .name = "QXL",
    .refresh = qxl_refresh,
};

/* ------------------------------------------------------------------------
 * Modes, primary surface, resets
 */

void qxl_set_mode_state(struct qxl *s, enum qxl_mode mode, uint32_t cmdflags)
{
    s->mode = mode;
    g_mutex_lock(&s->sp->lock);
    s->sp->mode = mode;
    s->sp->cmdflags = cmdflags;
    g_mutex_unlock(&s->sp->lock);
}

/* No cursor plane any more (VGA mode, no primary, reset): VNC viewers
 * stop showing the driver's pointer. */
static void qxl_cursor_plane_reset(struct qxl *s)
{
    g_mutex_lock(&s->sp->lock);
    qxl_cursor_pend_clear(&s->sp->cursor);
    g_mutex_unlock(&s->sp->lock);
    fb_cursor_reset();
}

static void qxl_enter_vga_mode(struct qxl *s)
{
    if (s->mode == QXL_MODE_VGA)
        return;
    qxl_cursor_plane_reset(s);
    spice_qxl_driver_unload(&s->sp->qin);
    qxl_set_mode_state(s, QXL_MODE_VGA, 0);
    vga_core_surface_lost(&s->vga);
    s->primary_shown = false;
    s->primary_mem = NULL;
    qxl_spice_vga_display(s, true);
}

/* Returns true if a primary surface was destroyed (or its destruction
 * started, async). */
bool qxl_destroy_primary(struct qxl *s, struct qxl_cookie *async)
{
    bool guest_primary = s->mode == QXL_MODE_NATIVE || s->mode == QXL_MODE_COMPAT;

    if (s->mode == QXL_MODE_UNDEFINED)
        return false;
    if (s->mode == QXL_MODE_VGA)
        qxl_spice_vga_display(s, false); /* its host primary, if any */
    qxl_set_mode_state(s, QXL_MODE_UNDEFINED, 0);
    s->primary_mem = NULL;
    s->primary_shown = false;
    if (guest_primary) {
        if (async) {
            spice_qxl_destroy_primary_surface_async(&s->sp->qin, 0, qxl_spice_cookie(s->sp, async));
        } else {
            spice_qxl_destroy_primary_surface(&s->sp->qin, 0);
            g_mutex_lock(&s->sp->lock);
            s->sp->surfaces.s[0].live = false;
            g_mutex_unlock(&s->sp->lock);
        }
    } else if (async) {
        qxl_async_complete(s, async); /* nothing for spice-server to do */
    }
    spice_qxl_reset_cursor(&s->sp->qin);
    qxl_cursor_plane_reset(s);
    return true;
}

static void qxl_exit_vga_mode(struct qxl *s)
{
    if (s->mode != QXL_MODE_VGA)
        return;
    qxl_destroy_primary(s, NULL);
}

void qxl_primary_complete(struct qxl *s)
{
    s->primary_shown = false;
    qxl_show_primary(s);
}

/* Make `sc` the primary surface (CREATE_PRIMARY or SET_MODE).  false if
 * refused (error state; an async cookie was not used). */
bool qxl_create_primary(struct qxl *s, const QXLSurfaceCreate *sc, enum qxl_mode mode,
                        uint32_t cmdflags, struct qxl_cookie *async)
{
    char err[200];
    uint8_t *mem = NULL;
    QXLDevSurfaceCreate dev;
    int rc;

    g_mutex_lock(&s->sp->lock);
    rc = qxl_check_primary(&s->sp->slots, sc, s->vgamem_size, &mem, err, sizeof(err));
    g_mutex_unlock(&s->sp->lock);
    if (rc < 0) {
        qxl_guest_bug(s, "%s", err);
        return false;
    }
    if (s->mode == QXL_MODE_NATIVE || s->mode == QXL_MODE_COMPAT) {
        qxl_guest_bug(s, "primary surface created twice");
        return false;
    }
    qxl_exit_vga_mode(s);
    s->guest_primary = *sc;
    s->primary_mem = mem;
    s->primary_shown = false;
    dev = (QXLDevSurfaceCreate){
        .width = sc->width,
        .height = sc->height,
        .stride = sc->stride,
        .format = sc->format,
        .position = sc->position,
        .mouse_mode = 1,
        .flags = sc->flags,
        .type = sc->type,
        .mem = (uint64_t)(uintptr_t)mem,
        .group_id = 0, /* host: spice-server gets xendm's pointer */
    };
    g_mutex_lock(&s->sp->lock);
    s->sp->surfaces.s[0] = (struct qxl_surface_state){.live = true,
                                                      .width = sc->width,
                                                      .height = sc->height,
                                                      .format = sc->format,
                                                      .stride = sc->stride};
    g_mutex_unlock(&s->sp->lock);
    qxl_set_mode_state(s, mode, cmdflags);
    if (async) {
        spice_qxl_create_primary_surface_async(&s->sp->qin, 0, &dev,
                                               qxl_spice_cookie(s->sp, async));
    } else {
        spice_qxl_create_primary_surface(&s->sp->qin, 0, &dev);
        qxl_primary_complete(s);
    }
    return true;
}

/* Back to power-on values of the ROM and RAM header (QEMU's
 * qxl_reset_state). */
static void qxl_reset_state(struct qxl *s)
{
    QXLRom rom = s->shadow_rom;

    g_mutex_lock(&s->sp->lock);
    rom.client_present = s->sp->client_present;
    memcpy(rom.client_capabilities, s->sp->client_caps, sizeof(rom.client_capabilities));
    memcpy(s->rom, &rom, sizeof(rom));
    qxl_init_ram(s);
    s->sp->num_free_res = 0;
    s->sp->last_release = NULL;
    g_mutex_unlock(&s->sp->lock);
    qxl_update_irq(s);
}

static void qxl_soft_reset(struct qxl *s)
{
    g_mutex_lock(&s->sp->lock);
    s->sp->guest_bug = false;
    g_mutex_unlock(&s->sp->lock);
    s->current_async = QXL_UNDEFINED_IO;
    qxl_enter_vga_mode(s);
}

void qxl_hard_reset(struct qxl *s)
{
    spice_qxl_reset_cursor(&s->sp->qin);
    qxl_cursor_plane_reset(s);
    spice_qxl_reset_image_cache(&s->sp->qin);
    if (s->mode == QXL_MODE_VGA)
        qxl_spice_vga_display(s, false);
    qxl_set_mode_state(s, QXL_MODE_UNDEFINED, 0);
    s->primary_mem = NULL;
    s->primary_shown = false;
    spice_qxl_destroy_surfaces(&s->sp->qin);
    g_mutex_lock(&s->sp->lock);
    qxl_surfaces_reset(&s->sp->surfaces);
    memset(&s->sp->slots, 0, sizeof(s->sp->slots));
    s->sp->epoch++; /* what spice-server still holds is not given back */
    g_mutex_unlock(&s->sp->lock);
    memset(s->guest_slots, 0, sizeof(s->guest_slots));
    qxl_reset_state(s);
    qxl_soft_reset(s);
}

/* ------------------------------------------------------------------------
 * VGA core hook, life cycle
 */

/* A legacy VGA port write outside VGA mode: the driver is gone (QEMU's
 * qxl_vga_ioport_write). */
static void qxl_vga_port_hook(struct vga *v)
{
    struct qxl *s = (struct qxl *)v;

    if (s->mode == QXL_MODE_VGA)
        return;
    qxl_destroy_primary(s, NULL);
    qxl_soft_reset(s);
}

static void qxl_reset(struct device *dev)
{
    struct qxl *s = DEVICE_PRIV(dev, struct qxl);

    qxl_hard_reset(s);
    vga_core_reset(&s->vga);
}

/* BAR0 and BAR1 follow the options, but the PCI code took the static
 * description: give this function its own copy and matching writable bits. */
static void qxl_size_bars(struct qxl *s)
{
    const uint32_t size[2] = {s->ram_size, s->vram_size};

    s->pci = *s->pd->desc;
    for (int i = 0; i < 2; i++) {
        uint32_t mask = ~(size[i] - 1) & ~0xfu;
        s->pci.bar[i].size = size[i];
        s->pd->bar_region[i].size = size[i];
        for (unsigned k = 0; k < 4; k++)
            s->pd->wmask[0x10 + 4 * i + k] = (uint8_t)(mask >> (8 * k));
    }
    s->pd->desc = &s->pci;
}

static int qxl_get_mb(const struct opts *opts, const char *key, uint64_t def, uint64_t lo,
                      uint64_t hi, uint64_t *out)
{
    if (!opts) {
        *out = def;
        return 0;
    }
    if (opts_get_u64((struct opts *)opts, key, def, UINT32_MAX, out) < 0)
        return -EINVAL;
    if (*out < lo || *out > hi) {
        fprintf(stderr, "xendm: -device qxl-vga: %s=%llu: must be %llu to %llu\n", key,
                (unsigned long long)*out, (unsigned long long)lo, (unsigned long long)hi);
        return -EINVAL;
    }
    return 0;
}

static int qxl_create(struct device *dev, const struct opts *opts)
{
    struct qxl *s = DEVICE_PRIV(dev, struct qxl);
    uint64_t ram_mb, vram_mb, vgamem_mb;
    char err[200];
    int rc;

    _Static_assert(offsetof(struct qxl, vga) == 0, "the VGA core finds itself via the device");
    if (qxl_get_mb(opts, "vgamem_mb", QXL_VGAMEM_MB_DEFAULT, 1, UINT32_MAX >> 20, &vgamem_mb) < 0 ||
        qxl_get_mb(opts, "ram_size_mb", QXL_RAM_MB_DEFAULT, 1, QXL_BAR_MB_MAX, &ram_mb) < 0 ||
        qxl_get_mb(opts, "vram_size_mb", QXL_VRAM_MB_DEFAULT, 1, QXL_BAR_MB_MAX, &vram_mb) < 0)
        return -EINVAL;
    /* QEMU's qxl_init_ramsize */
    if (vgamem_mb < QXL_VGAMEM_MB_MIN)
        vgamem_mb = QXL_VGAMEM_MB_MIN;
    if (vgamem_mb > QXL_VGAMEM_MB_MAX)
        vgamem_mb = QXL_VGAMEM_MB_MAX;
    s->vgamem_size = (uint32_t)pow2_ceil(vgamem_mb << 20);
    s->ram_size = (uint32_t)(ram_mb << 20);
    if (s->ram_size < 2 * (uint64_t)s->vgamem_size)
        s->ram_size = 2 * s->vgamem_size;
    s->ram_size = (uint32_t)pow2_ceil(s->ram_size);
    s->vram_size = (uint32_t)pow2_ceil(vram_mb << 20);
    if (s->ram_size > (QXL_BAR_MB_MAX << 20)) {
        fprintf(stderr, "xendm: -device qxl-vga: vgamem_mb=%llu needs %u MiB of RAM (at most %u)\n",
                (unsigned long long)vgamem_mb, s->ram_size >> 20, QXL_BAR_MB_MAX);
        return -EINVAL;
    }

    s->dev = dev;
    s->pd = dev->pci;
    qxl_size_bars(s);
    /* on failure frames stay allocated (hv.h cannot give them back);
     * hv_alloc_device_ram said why (videoram) */
    s->ram = pci_bar_set_ram(s->pd, 0, "qxl.ram");
    s->vram = s->ram ? pci_bar_set_ram(s->pd, 1, "qxl.vram") : NULL;
    s->rom = s->vram ? pci_bar_set_ram(s->pd, 2, "qxl.vrom") : NULL;
    if (!s->rom)
        return -ENOMEM;
    qxl_init_rom(s);
    s->current_async = QXL_UNDEFINED_IO;
    s->mode = QXL_MODE_UNDEFINED;

    rc = vga_core_init(&s->vga, dev, s->ram, s->vgamem_size);
    if (rc < 0)
        return rc;
    s->vga.legacy_write_hook = qxl_vga_port_hook;
    rc = qxl_spice_init(s, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "xendm: -device qxl-vga: %s\n", err);
        vga_core_fini(&s->vga);
        return rc;
    }
    qxl_reset_state(s);
    fb_set_producer(&qxl_fb_ops, s);
    qxl_enter_vga_mode(s);
    qxl_spice_start(s);
    return 0;
}

static void qxl_destroy(struct device *dev)
{
    struct qxl *s = DEVICE_PRIV(dev, struct qxl);

    fb_set_producer(NULL, NULL);
    fb_cursor_reset();
    if (s->sp)
        qxl_spice_fini(s);
    vga_core_fini(&s->vga);
}

static const struct pci_desc qxl_pci = {
    .vendor = REDHAT_PCI_VENDOR_ID,
    .device = QXL_DEVICE_ID_STABLE,
    /* subsystem left 0: the PCI code gives QEMU's default 1af4:1100 */
    .class_code = 0x030000,
    .revision = QXL_PCI_REVISION,
    .irq_pin = 1,
    .devfn = -1,
    .bar =
        {
            [QXL_RAM_RANGE_INDEX] = {.type = PCI_BAR_MEM32, .size = QXL_RAM_MB_DEFAULT << 20},
            [QXL_VRAM_RANGE_INDEX] = {.type = PCI_BAR_MEM32, .size = QXL_VRAM_MB_DEFAULT << 20},
            [QXL_ROM_RANGE_INDEX] = {.type = PCI_BAR_MEM32, .size = QXL_ROM_SIZE},
            [QXL_IO_RANGE_INDEX] = {.type = PCI_BAR_IO, .size = QXL_IO_SIZE, .ops = &qxl_io_ops},
        },
    .rom_file = QXL_ROM_FILE,
};

static struct device_desc qxl_desc = {
    .name = "qxl-vga",
    .desc = "QXL paravirtual graphics with VGA compatibility (vga=\"qxl\")",
    .priv_size = sizeof(struct qxl),
    .pci = &qxl_pci,
    .create = qxl_create,
    .reset = qxl_reset,
    .destroy = qxl_destroy,
};
DEVICE_REGISTER(qxl_desc)
