/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the std VGA with Bochs VBE (display/vga.c,
 * display/vga-render.c) and the framebuffer core (display/fb.c) under a
 * hostile guest.  Every access goes through ioreq_dispatch() exactly as
 * the Xen ioreq loop hands it over (PIO, MMIO COPY incl. rep forms with
 * data pointers into guest RAM, PCI_CONFIG), plus the guest's own stores
 * into the linear framebuffer (BAR0 is guest RAM: they never reach xendm
 * as ioreqs, they just change VRAM).  The renderer runs whenever the input
 * asks and once at its end, so every reachable mode is drawn.
 *
 * Input: a byte stream of operations, each an opcode byte and its operands
 * (missing bytes read as 0):
 *   0 port write, 1 byte    port, value
 *   1 port write, 2 bytes   port, value(2)
 *   2 port ioreq            port, size, flags, value(8) (rep outs/ins too)
 *   3 DISPI write           index, value(2), via 0x1cf or 0x1d0
 *   4 DISPI read            index
 *   5 indexed VGA register  group (SR, GR, CRTC, AR), index, value
 *   6 window access         offset(3, 0xa0000 + 17 bits), size, flags, value(8)
 *   7 BAR2 access           offset(2), size, flags, value(8)
 *   8 LFB ioreq             offset(4) from BAR0, size, flags, value(8)
 *   9 LFB guest store       offset(4) in VRAM, length, that many bytes
 *  10 PCI config write      register(2), size, value(4) | a "firmware" form
 *  11 PCI config read       register(2), size
 *  12 refresh               (fb_refresh_now)
 *  13 mode preset           0 text 3, 1 planar 12h, 2 mode 13h (the
 *                           register sets SeaBIOS programs,
 *                           tests/unit/vga-io.c), unblanked
 *  14 guest RAM fill        offset(2) * 64, length, that many bytes
 *  15 system reset          only if the next byte is 0x5a
 * A port is an index into 0x3b0-0x3df and 0x1ce-0x1d1.  flags: bit 0 read,
 * bit 1 rep (count from the next byte), bit 2 df, bit 3 data_is_ptr (the
 * guest address from the next 2 bytes * 64, past the end of guest RAM when
 * bit 4 is set), bit 5 raw size byte (invalid sizes too).
 *
 * Invariants checked here (ASan/UBSan catch the rest): every listener
 * update lies inside the surface and its pixels are readable; a surface
 * that points into VRAM lies wholly inside VRAM; the VRAM range Xen is
 * asked to track lies inside BAR0 as currently mapped.
 *
 * Each input starts from the state of a newly created device (registers
 * reset, VRAM zeroed, the renderer and the framebuffer core back to the
 * black 640x480 placeholder), so crashes reproduce (only the text blink
 * phase follows the clock).  At most MAX_REFRESH refreshes per input, and
 * one at its end.  VRAM size:
 * FUZZ_VGA_MB (default 16, libxl's stdvga default).  FUZZ_VGA_TRACE=1
 * prints the surface after each refresh (to see what an input reaches).
 */
#include "config.h"

#include <pixman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/fb.h"
#include "display/vga.h"
#include "src/dispatch.h"
#include "src/ioreq.h"
#include "src/log.h"
#include "src/opts.h"
#include "tests/common/fuzz-input.h"
#include "tests/unit/fake-hv.h"
#include "tests/unit/vga-io.h"

/* Bounds the time one input can take: a refresh of the largest mode
 * (16000x1048 at 8 bpp with 16 MiB of VRAM) costs ~0.2 s under ASan. */
#define MAX_REFRESH 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz-vga: invariant broken: " __VA_ARGS__);                               \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

static struct device *vga;
static uint8_t *vram;
static uint64_t vram_size;
static uint32_t sbdf;

/* ------------------------------------------------------------- input --- */

static uint16_t pick_port(uint8_t b)
{
    b %= 0x30 + 4;
    return b < 0x30 ? (uint16_t)(0x3b0 + b) : (uint16_t)(0x1ce + b - 0x30);
}

/* ------------------------------------------------------------ ioreqs --- */

/* A PIO or MMIO (COPY) request with the operand flags of the header. */
static void access_op(uint8_t type, uint64_t addr)
{
    uint8_t sz = fuzz_next(), fl = fuzz_next();
    ioreq_t r = {0};
    r.type = type;
    r.addr = addr;
    r.size = (fl & 32) ? sz : 1u << (sz & 3);
    r.dir = (fl & 1) ? IOREQ_READ : IOREQ_WRITE;
    r.count = (fl & 2) ? fuzz_next() + 1u : 1;
    r.df = (fl >> 2) & 1;
    r.data_is_ptr = (fl >> 3) & 1;
    if (r.data_is_ptr) {
        uint64_t gpa = fuzz_next_n(2) * 64;
        r.data = (fl & 16) ? FAKE_HV_RAM - 64 + gpa : gpa % FAKE_HV_RAM;
    } else {
        r.data = fuzz_next_n(8);
    }
    ioreq_dispatch(&r);
}

static void pci_w(unsigned reg, unsigned size, uint32_t v)
{
    vga_io_req(IOREQ_TYPE_PCI_CONFIG, (uint64_t)sbdf << 32 | reg, size, false, v);
}

/* ------------------------------------------------------- invariants --- */

static volatile uint8_t sink;

static unsigned bytes_pp(pixman_image_t *img)
{
    return (unsigned)PIXMAN_FORMAT_BPP(pixman_image_get_format(img)) / 8;
}

static void touch_pixel(pixman_image_t *img, int x, int y)
{
    const uint8_t *p = (const uint8_t *)pixman_image_get_data(img) +
                       (size_t)y * (size_t)pixman_image_get_stride(img) + (size_t)x * bytes_pp(img);
    for (unsigned i = 0; i < bytes_pp(img); i++)
        sink = p[i];
}

static void on_resize(void *opaque, unsigned w, unsigned h)
{
    if (w != fb_width() || h != fb_height() || !w || !h)
        FAIL("resize to %ux%u, the surface is %ux%u", w, h, fb_width(), fb_height());
}

/* What a front end does with an update: read the rectangle's pixels (the
 * first and last of each row, enough for ASan to see the whole span). */
static void on_update(void *opaque, int x, int y, int w, int h)
{
    pixman_image_t *img = fb_image();

    if (!img)
        FAIL("update without a surface");
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || (unsigned)x + (unsigned)w > fb_width() ||
        (unsigned)y + (unsigned)h > fb_height())
        FAIL("update %d,%d %dx%d outside the %ux%u surface", x, y, w, h, fb_width(), fb_height());
    for (int r = y; r < y + h; r++) {
        touch_pixel(img, x, r);
        touch_pixel(img, x + w - 1, r);
    }
}

static const struct fb_listener_ops listener = {.resize = on_resize, .update = on_update};

static void check_surface(void)
{
    pixman_image_t *img = fb_image();

    if (!img)
        FAIL("no surface after a refresh");
    unsigned w = fb_width(), h = fb_height();
    if (!w || !h || (unsigned)pixman_image_get_width(img) != w ||
        (unsigned)pixman_image_get_height(img) != h)
        FAIL("surface %ux%u, image %dx%d", w, h, pixman_image_get_width(img),
             pixman_image_get_height(img));
    const uint8_t *bits = (const uint8_t *)pixman_image_get_data(img);
    uint64_t stride = (uint64_t)pixman_image_get_stride(img);
    uint64_t span = stride * (h - 1) + (uint64_t)w * bytes_pp(img);
    /* zero-copy surfaces are the ones whose pixels start inside VRAM */
    if (bits >= vram && bits < vram + vram_size) {
        if ((uint64_t)(bits - vram) + span > vram_size)
            FAIL("zero-copy surface %ux%u stride %llu at VRAM+%#llx runs past the %#llx "
                 "bytes of VRAM",
                 w, h, (unsigned long long)stride, (unsigned long long)(bits - vram),
                 (unsigned long long)vram_size);
    }
    touch_pixel(img, 0, 0);
    touch_pixel(img, (int)w - 1, (int)h - 1);
}

static unsigned seen_track_calls;

static void check_tracking(void)
{
    if (fake_hv.dirty_vram_calls == seen_track_calls)
        return;
    seen_track_calls = fake_hv.dirty_vram_calls;
    if (!fake_hv.dirty_vram_nr)
        return;
    uint64_t bar = vga->pci->bar_addr[0];
    uint64_t first = fake_hv.dirty_vram_first_gfn, nr = fake_hv.dirty_vram_nr;
    if (bar == UINT64_MAX || first < bar >> 12 || first + nr > (bar + vram_size) >> 12)
        FAIL("dirty-VRAM tracking of gfns %#llx+%llu, BAR0 at %#llx (%#llx bytes)",
             (unsigned long long)first, (unsigned long long)nr, (unsigned long long)bar,
             (unsigned long long)vram_size);
}

static bool trace;

static void refresh(void)
{
    fb_refresh_now();
    check_surface();
    check_tracking();
    if (trace) {
        const uint8_t *bits = (const uint8_t *)pixman_image_get_data(fb_image());
        fprintf(stderr, "fuzz-vga: refresh: %ux%u, %u bytes/pixel, %s\n", fb_width(), fb_height(),
                bytes_pp(fb_image()), bits >= vram && bits < vram + vram_size ? "VRAM" : "drawn");
    }
}

/* ------------------------------------------------------------- setup --- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("XEN_QEMU_CONSOLE_LIMIT", "65536", 1);
    log_init();
    trace = getenv("FUZZ_VGA_TRACE") != NULL;
    const char *mb = getenv("FUZZ_VGA_MB");
    char text[64];
    snprintf(text, sizeof(text), "vgamem_mb=%s", mb ? mb : "16");
    char *err = NULL;
    struct opts *o = opts_parse("-device", text, NULL, &err);
    if (!o) {
        fprintf(stderr, "fuzz-vga: %s\n", err);
        abort();
    }
    vga = device_create("VGA", o);
    opts_free(o);
    if (!vga || !vga->pci || !vga->pci->ram_ptr[0]) {
        fprintf(stderr, "fuzz-vga: cannot create the VGA\n");
        abort();
    }
    vram = vga->pci->ram_ptr[0];
    vram_size = vga->pci->desc->bar[0].size;
    sbdf = vga->pci->devfn;
    if (!fb_add_listener(&listener, NULL))
        abort();
    vga_io_through_ioreq(true);
    return 0;
}

/* As newly created: power-on registers (device_reset_all), VRAM zeroed
 * (a reset keeps it, as in QEMU; it is page-aligned anonymous memory of the
 * fake hypervisor, so dropping its pages zeroes it without touching it
 * all), the renderer's state and surface as vga_create() leaves them. */
static void fresh_device(void)
{
    struct vga *s = DEVICE_PRIV(vga, struct vga);

    device_reset_all();
    if (madvise(vram, vram_size, MADV_DONTNEED) < 0)
        memset(vram, 0, vram_size);
    vga_render_fini(s);
    vga_render_init(s);
    memset(s->dirty_pages, 0, vram_size >> 15);
}

/* --------------------------------------------------------- one input --- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input(data, size);
    fresh_device();
    unsigned refreshes = 0;

    while (fuzz_more()) {
        uint8_t op = fuzz_next() % 16;
        switch (op) {
        case 0: {
            uint16_t port = pick_port(fuzz_next());
            vga_io_outb(port, fuzz_next());
            break;
        }
        case 1: {
            uint16_t port = pick_port(fuzz_next());
            vga_io_outw(port, (uint16_t)fuzz_next_n(2));
            break;
        }
        case 2:
            access_op(IOREQ_TYPE_PIO, pick_port(fuzz_next()));
            break;
        case 3: {
            uint8_t b = fuzz_next();
            uint16_t v = (uint16_t)fuzz_next_n(2);
            vga_io_outw(0x1ce, b & 0x0f);
            vga_io_outw((b & 0x80) ? 0x1d0 : 0x1cf, v);
            break;
        }
        case 4:
            vga_io_outw(0x1ce, fuzz_next() & 0x0f);
            vga_io_inw(0x1cf);
            break;
        case 5: {
            uint8_t g = fuzz_next() & 3, i = fuzz_next(), v = fuzz_next();
            uint16_t crt = (vga_io_inb(0x3cc) & 1) ? 0x3d4 : 0x3b4;
            static const uint16_t idx_port[3] = {0x3c4, 0x3ce, 0};
            if (g == 3) {
                vga_io_inb((uint16_t)(crt + 6)); /* attribute flip-flop to index */
                vga_io_outb(0x3c0, i);
                vga_io_outb(0x3c0, v);
            } else {
                uint16_t p = g == 2 ? crt : idx_port[g];
                vga_io_outb(p, i);
                vga_io_outb((uint16_t)(p + 1), v);
            }
            break;
        }
        case 6: {
            uint64_t off = fuzz_next_n(3) & 0x1ffff;
            access_op(IOREQ_TYPE_COPY, 0xa0000 + off);
            break;
        }
        case 7: {
            uint64_t bar = vga->pci->bar_addr[2];
            uint64_t off = fuzz_next_n(2);
            access_op(IOREQ_TYPE_COPY, (bar == UINT64_MAX ? 0 : bar) + off);
            break;
        }
        case 8: {
            uint64_t bar = vga->pci->bar_addr[0];
            uint64_t off = fuzz_next_n(4);
            access_op(IOREQ_TYPE_COPY, (bar == UINT64_MAX ? 0xf0000000 : bar) + off);
            break;
        }
        case 9: {
            uint64_t off = fuzz_next_n(4) % vram_size;
            size_t n = fuzz_next();
            for (size_t i = 0; i < n && off + i < vram_size; i++)
                vram[off + i] = fuzz_next();
            break;
        }
        case 10: {
            unsigned reg = (unsigned)fuzz_next_n(2) & 0x1ff;
            uint8_t sz = fuzz_next();
            uint32_t v = (uint32_t)fuzz_next_n(4);
            if (sz & 0x80) {
                /* what firmware does: BAR0, BAR2, ROM, command (memory
                 * decoding), at addresses the input picks */
                pci_w(0x10, 4, v & 0xfff00000u);
                pci_w(0x18, 4, (v << 12) | 0xf0000000u);
                if (sz & 0x40)
                    pci_w(0x30, 4, (v & 0xffff0000u) | 1);
                pci_w(0x04, 2, sz & 3);
            } else {
                pci_w(reg, 1u << (sz & 3), v);
            }
            break;
        }
        case 11: {
            unsigned reg = (unsigned)fuzz_next_n(2) & 0x1ff;
            vga_io_req(IOREQ_TYPE_PCI_CONFIG, (uint64_t)sbdf << 32 | reg, 1u << (fuzz_next() & 3),
                       true, 0);
            break;
        }
        case 12:
            if (refreshes++ < MAX_REFRESH)
                refresh();
            break;
        case 13: {
            static const struct vga_io_mode *const modes[3] = {&vga_io_mode3, &vga_io_mode12,
                                                               &vga_io_mode13};
            vga_io_set_mode(modes[fuzz_next() % 3]);
            vga_io_unblank();
            break;
        }
        case 14: {
            uint64_t off = fuzz_next_n(2) * 64 % FAKE_HV_RAM;
            size_t n = fuzz_next();
            for (size_t i = 0; i < n && off + i < FAKE_HV_RAM; i++)
                fake_hv.ram[off + i] = fuzz_next();
            break;
        }
        default:
            if (fuzz_next() == 0x5a)
                device_reset_all(); /* a guest reboot: VRAM stays */
            break;
        }
    }
    refresh();
    return 0;
}
