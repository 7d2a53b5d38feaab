/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the QXL device under a hostile guest.  Byte 0 of the
 * input picks one of two modes (bit 0):
 *
 * FUZZ_QXL_MODE=0 or 1 in the environment runs one mode only (a long run
 * per mode); the first byte is then still consumed.
 *
 * 0 — command parsing (display/qxl-parse.c) alone, and cursor shapes
 *   decoded for the framebuffer core (display/qxl-cursor.c).  The rest of the input
 *   is a header (command type, ring, command flags, the command's offset,
 *   which surfaces exist) and then guest memory, mapped by two memory slots
 *   (slot 1 over all of it, slot 2 over its second half with a delta).
 *   Whatever qxl_parse_command() accepts is walked the way spice-server
 *   reads it — every bitmap, palette, chunk, clip list, path, string,
 *   cursor shape and surface the copy points at is read in full — so a
 *   copy claiming memory it does not have is an ASan report; the I/O port
 *   checks (primary surface, update area, monitors config) run on the same
 *   memory.
 *
 * 1 — the device (display/qxl.c, qxl-spice.c) with xendm's own
 *   spice-server, over the recording fake hypervisor, BARs mapped as
 *   firmware would.  The rest is a stream of operations (opcode byte, then
 *   operands; missing bytes read as 0):
 *     0 I/O port write       port (0-31), value, size (1 usually, 2/4 too)
 *     1 RAM header store     offset(2), length, bytes
 *     2 BAR0 store           offset(3), length, bytes
 *     3 ring push            ring, command type, slot, offset(3), notify
 *     4 memory slot          slot, BAR, start(2), end(2) in pages, async
 *     5 primary surface      width/8, height/8, format, stride form, offset(2), async
 *     6 drawable             a fill or a bitmap copy built at offset(2)
 *                            with fuzzed fields, pushed
 *     7 refresh              the framebuffer core renders (update_area)
 *     8 main loop            events from spice-server's worker
 *     9 legacy VGA port      port, value (leaves native mode)
 *    10 ring indices         which field, value(4)
 *    11 update area          surface, rect(8), async
 *   Each input starts from a reset device (QXL_IO_RESET semantics plus the
 *   VGA core), and ends with FLUSH_RELEASE, a refresh and the main loop,
 *   so commands reach spice-server within the input.  spice-server's worker
 *   runs concurrently: inputs are not perfectly reproducible in timing.
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/fb.h"
#include "display/qxl-cursor.h"
#include "display/qxl-parse.h"
#include "src/dispatch.h"
#include "src/log.h"
#include "src/opts.h"
#include "tests/common/fuzz-input.h"
#include "tests/unit/fake-hv.h"

#define PARSE_MEM (64u << 10)
#define IO_BASE   0xc000
#define BAR0      0xe0000000u
#define BAR1      0xe8000000u
#define BAR2      0xe9000000u
#define MAX_OPS   256

int LLVMFuzzerInitialize(int *argc, char **argv[]);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------
 * Mode 0: the parser
 */

static volatile uint8_t sink;

static void touch(uint64_t addr, uint64_t len)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)addr;
    uint8_t x = 0;

    for (uint64_t i = 0; i < len; i++)
        x ^= p[i];
    sink ^= x;
}

static void walk_chunk(const QXLDataChunk *c)
{
    if (c->next_chunk)
        abort(); /* copies are one flat chunk */
    touch((uintptr_t)c->data, c->data_size);
}

static void walk_image(QXLPHYSICAL a)
{
    const QXLImage *img = (const QXLImage *)(uintptr_t)a;

    if (!a)
        return;
    touch(a, sizeof(*img));
    if (img->descriptor.type == SPICE_IMAGE_TYPE_BITMAP) {
        if (!(img->bitmap.flags & QXL_BITMAP_DIRECT))
            abort();
        touch(img->bitmap.data, (uint64_t)img->bitmap.y * img->bitmap.stride);
        if (img->bitmap.palette) {
            const QXLPalette *p = (const QXLPalette *)(uintptr_t)img->bitmap.palette;
            touch(img->bitmap.palette, sizeof(*p) + (uint64_t)p->num_ents * 4);
        }
    } else if (img->descriptor.type == SPICE_IMAGE_TYPE_QUIC) {
        walk_chunk((const QXLDataChunk *)(uintptr_t)(a + offsetof(QXLImage, quic.data)));
    }
}

static void walk_brush(const QXLBrush *b)
{
    if (b->type == SPICE_BRUSH_TYPE_PATTERN)
        walk_image(b->u.pattern.pat);
}

static void walk_drawable(const QXLDrawable *d)
{
    if (d->clip.type == SPICE_CLIP_TYPE_RECTS) {
        const QXLClipRects *cr = (const QXLClipRects *)(uintptr_t)d->clip.data;
        walk_chunk(&cr->chunk);
        if ((uint64_t)cr->num_rects * sizeof(QXLRect) != cr->chunk.data_size)
            abort();
    }
    switch (d->type) {
    case QXL_DRAW_FILL:
        walk_brush(&d->u.fill.brush);
        walk_image(d->u.fill.mask.bitmap);
        break;
    case QXL_DRAW_OPAQUE:
        walk_image(d->u.opaque.src_bitmap);
        walk_brush(&d->u.opaque.brush);
        walk_image(d->u.opaque.mask.bitmap);
        break;
    case QXL_DRAW_COPY:
    case QXL_DRAW_BLEND:
        walk_image(d->u.copy.src_bitmap);
        walk_image(d->u.copy.mask.bitmap);
        break;
    case QXL_DRAW_TRANSPARENT:
        walk_image(d->u.transparent.src_bitmap);
        break;
    case QXL_DRAW_ALPHA_BLEND:
        walk_image(d->u.alpha_blend.src_bitmap);
        break;
    case QXL_DRAW_ROP3:
        walk_image(d->u.rop3.src_bitmap);
        walk_brush(&d->u.rop3.brush);
        walk_image(d->u.rop3.mask.bitmap);
        break;
    case QXL_DRAW_STROKE:
        walk_chunk(&((const QXLPath *)(uintptr_t)d->u.stroke.path)->chunk);
        if (d->u.stroke.attr.flags & SPICE_LINE_FLAGS_STYLED)
            touch(d->u.stroke.attr.style, (uint64_t)d->u.stroke.attr.style_nseg * 4);
        walk_brush(&d->u.stroke.brush);
        break;
    case QXL_DRAW_TEXT:
        walk_chunk(&((const QXLString *)(uintptr_t)d->u.text.str)->chunk);
        walk_brush(&d->u.text.fore_brush);
        walk_brush(&d->u.text.back_brush);
        break;
    case QXL_DRAW_BLACKNESS:
    case QXL_DRAW_WHITENESS:
    case QXL_DRAW_INVERS:
        walk_image(d->u.blackness.mask.bitmap);
        break;
    case QXL_DRAW_COMPOSITE:
        walk_image(d->u.composite.src);
        walk_image(d->u.composite.mask);
        if (d->u.composite.src_transform)
            touch(d->u.composite.src_transform, sizeof(QXLTransform));
        if (d->u.composite.mask_transform)
            touch(d->u.composite.mask_transform, sizeof(QXLTransform));
        break;
    default:
        break;
    }
}

static void walk_copy(const struct qxl_copy *c, uint32_t flags)
{
    switch (c->type) {
    case QXL_CMD_DRAW:
        if (flags & QXL_COMMAND_FLAG_COMPAT) {
            /* the same union members, other offsets: walk what matters */
            const QXLCompatDrawable *d = c->cmd;
            touch((uintptr_t)d, sizeof(*d));
        } else {
            walk_drawable(c->cmd);
        }
        break;
    case QXL_CMD_SURFACE: {
        const QXLSurfaceCmd *s = c->cmd;
        if (s->type == QXL_SURFACE_CMD_CREATE) {
            int64_t st = s->u.surface_create.stride;
            touch(s->u.surface_create.data,
                  (uint64_t)s->u.surface_create.height * (uint64_t)(st < 0 ? -st : st));
        }
        break;
    }
    case QXL_CMD_CURSOR: {
        const QXLCursorCmd *cc = c->cmd;
        if (cc->type == QXL_CURSOR_SET)
            walk_chunk(&((const QXLCursor *)(uintptr_t)cc->u.set.shape)->chunk);
        /* and on to the framebuffer core's cursor plane, as the worker and
         * main thread do (qxl-cursor.c) */
        struct qxl_cursor_pend pend = {0};
        const char *why;
        uint32_t *argb = qxl_cursor_prepare(cc, &why);
        qxl_cursor_note(&pend, cc, argb, why);
        qxl_cursor_apply(&pend);
        qxl_cursor_pend_clear(&pend);
        break;
    }
    case QXL_CMD_MESSAGE:
        if (strlen((const char *)((const QXLMessage *)c->cmd)->data) > 100000)
            abort();
        break;
    default:
        touch((uintptr_t)c->cmd, sizeof(QXLUpdateCmd));
        break;
    }
}

static void fuzz_parser(void)
{
    static uint8_t *mem;
    struct qxl_memslots slots = {0};
    struct qxl_surfaces sf;
    uint8_t type = fuzz_next(), ring = fuzz_next(), flags = fuzz_next(), live = fuzz_next();
    uint32_t off = (uint32_t)fuzz_next_n(4);
    size_t n = (size_t)(fuzz_in_end - fuzz_in);
    char err[256];

    if (!mem)
        mem = malloc(PARSE_MEM);
    memset(mem, 0, PARSE_MEM);
    memcpy(mem, fuzz_in, n < PARSE_MEM ? n : PARSE_MEM);
    slots.slot[1] = (struct qxl_memslot){.active = true, .host = mem, .size = PARSE_MEM};
    slots.slot[2] = (struct qxl_memslot){
        .active = true, .host = mem + PARSE_MEM / 2, .size = PARSE_MEM / 2, .delta = 0x100000};
    qxl_surfaces_reset(&sf);
    for (unsigned i = 0; i < 8; i++)
        if (live & (1u << i))
            sf.s[i] = (struct qxl_surface_state){.live = true,
                                                 .width = 64u << (i & 3),
                                                 .height = 48u << (i & 3),
                                                 .format = SPICE_SURFACE_FMT_32_xRGB};
    if (live & 0x80)
        sf.pinned = live & 7;

    uint32_t cflags = flags & 3; /* COMPAT, COMPAT_16BPP */
    struct qxl_parse p = {.slots = &slots, .surfaces = &sf, .flags = cflags};
    QXLCommand cmd = {.type = type % 8,
                      .data = (uint64_t)(1 + (ring >> 7)) << 56 | (off % PARSE_MEM)};
    struct qxl_copy *c;
    QXLReleaseInfo *ri;
    int rc = qxl_parse_command(&p, &cmd, ring & 1, &c, &ri);
    if (rc == 0) {
        walk_copy(c, cflags);
        qxl_copy_free(c);
    } else if (rc == -ENOENT && ri) {
        touch((uintptr_t)ri, sizeof(*ri));
    }

    /* the I/O port requests, on the same memory */
    QXLSurfaceCreate sc;
    uint8_t *where;
    memcpy(&sc, mem + (off % (PARSE_MEM - sizeof(sc))), sizeof(sc));
    if (qxl_check_primary(&slots, &sc, 1u << 20, &where, err, sizeof(err)) == 0) {
        int64_t st = sc.stride;
        touch((uintptr_t)where, (uint64_t)sc.height * (uint64_t)(st < 0 ? -st : st));
    }
    QXLRect r;
    memcpy(&r, mem + (off / 7 % (PARSE_MEM - sizeof(r))), sizeof(r));
    (void)qxl_check_update_area(&sf, type, &r, err, sizeof(err));
    QXLMonitorsConfig *mc = qxl_copy_monitors_config(&slots, cmd.data, 64, err, sizeof(err));
    if (mc) {
        touch((uintptr_t)mc->heads, (uint64_t)mc->count * sizeof(QXLHead));
        g_free(mc);
    }
}

/* ------------------------------------------------------------------------
 * Mode 1: the device
 */

static struct device *qxl;
static uint8_t *ram;
static uint32_t ram_size;
static QXLRam *hdr;
static uint32_t sbdf;

static void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
    pci_config_write(sbdf, reg, size, v);
}

static void io(unsigned port, unsigned size, uint32_t v)
{
    io_write(IO_PIO, IO_BASE + port, size, v);
}

static void pump(void)
{
    for (int i = 0; i < 8 && g_main_context_iteration(NULL, FALSE); i++)
        ;
}

static uint64_t addr_of(uint8_t slot, uint64_t off)
{
    return (uint64_t)(slot % 8) << 56 | off;
}

static void op_drawable(void)
{
    uint32_t off = (uint32_t)(fuzz_next_n(2) * 64 + (16u << 20) / 2) % (ram_size - 512);
    uint8_t kind = fuzz_next();
    QXLDrawable d = {0};
    d.release_info.id = fuzz_next_n(2);
    d.surface_id = fuzz_next() % 3;
    d.effect = fuzz_next() % 9;
    d.bbox = (QXLRect){.top = (int8_t)fuzz_next(),
                       .left = (int8_t)fuzz_next(),
                       .bottom = fuzz_next(),
                       .right = fuzz_next()};
    d.surfaces_dest[0] = d.surfaces_dest[1] = d.surfaces_dest[2] = -1;
    if (kind & 1) {
        QXLImage img = {0};
        uint32_t ioff = off + 256;
        img.descriptor.type = kind & 2 ? SPICE_IMAGE_TYPE_BITMAP : fuzz_next();
        img.bitmap.format = fuzz_next() % 12;
        img.bitmap.flags = fuzz_next();
        img.bitmap.x = fuzz_next() % 64;
        img.bitmap.y = fuzz_next() % 64;
        img.bitmap.stride = fuzz_next();
        img.bitmap.data = addr_of(1, (uint32_t)fuzz_next_n(3) % ram_size);
        img.bitmap.palette = kind & 4 ? addr_of(1, (uint32_t)fuzz_next_n(3) % ram_size) : 0;
        memcpy(ram + ioff, &img, sizeof(img));
        d.type = QXL_DRAW_COPY;
        d.u.copy.src_bitmap = addr_of(1, ioff);
        d.u.copy.src_area =
            (QXLRect){.top = 0, .left = 0, .bottom = fuzz_next() % 64, .right = fuzz_next() % 64};
    } else {
        d.type = QXL_DRAW_FILL;
        d.u.fill.brush.type = fuzz_next() % 4;
        d.u.fill.brush.u.color = (uint32_t)fuzz_next_n(4);
    }
    memcpy(ram + off, &d, sizeof(d));
    QXLCommand c = {.data = addr_of(1, off), .type = QXL_CMD_DRAW};
    QXLCommandRing *r = &hdr->cmd_ring;
    memcpy(&r->items[r->prod & (QXL_COMMAND_RING_SIZE - 1)], &c, sizeof(c));
    r->prod++;
    io(QXL_IO_NOTIFY_CMD, 1, 0);
}

static void fuzz_device(void)
{
    device_reset_all();
    /* the firmware's BAR placement and decoding (a reset clears them) */
    cfg_write(0x10, 4, BAR0);
    cfg_write(0x14, 4, BAR1);
    cfg_write(0x18, 4, BAR2);
    cfg_write(0x1c, 4, IO_BASE);
    cfg_write(0x04, 2, 7);
    for (unsigned ops = 0; ops < MAX_OPS && fuzz_more(); ops++) {
        switch (fuzz_next() % 12) {
        case 0: {
            uint8_t port = fuzz_next() % 32, v = fuzz_next(), sz = fuzz_next();
            io(port, sz < 240 ? 1 : sz < 248 ? 2 : 4, v);
            break;
        }
        case 1: {
            unsigned o = (unsigned)(fuzz_next_n(2) % sizeof(QXLRam)), len = fuzz_next() % 16;
            for (unsigned i = 0; i < len && o + i < sizeof(QXLRam); i++)
                ((uint8_t *)hdr)[o + i] = fuzz_next();
            break;
        }
        case 2: {
            uint32_t o = (uint32_t)fuzz_next_n(3) % ram_size, len = fuzz_next() % 64;
            for (unsigned i = 0; i < len && o + i < ram_size; i++)
                ram[o + i] = fuzz_next();
            break;
        }
        case 3: {
            bool cursor = fuzz_next() & 1;
            QXLCommandRing *r =
                cursor ? (QXLCommandRing *)(void *)&hdr->cursor_ring : &hdr->cmd_ring;
            QXLCommand c = {.type = fuzz_next() % 7};
            uint8_t slot = fuzz_next();
            c.data = addr_of(slot, fuzz_next_n(3) % ram_size);
            memcpy(&r->items[r->prod & (QXL_COMMAND_RING_SIZE - 1)], &c, sizeof(c));
            r->prod++;
            if (fuzz_next() & 1)
                io(cursor ? QXL_IO_NOTIFY_CURSOR : QXL_IO_NOTIFY_CMD, 1, 0);
            break;
        }
        case 4: {
            uint8_t id = fuzz_next() % 9, bar = fuzz_next() & 1;
            uint64_t base = bar ? BAR1 : BAR0;
            QXLMemSlot s = {.mem_start = base + fuzz_next_n(2) * 4096ull,
                            .mem_end = base + fuzz_next_n(2) * 4096ull};
            memcpy(&hdr->mem_slot, &s, sizeof(s));
            io(fuzz_next() & 1 ? QXL_IO_MEMSLOT_ADD_ASYNC : QXL_IO_MEMSLOT_ADD, 1, id);
            break;
        }
        case 5: {
            QXLSurfaceCreate sc = {
                .width = fuzz_next() * 8u, .height = fuzz_next() * 8u, .position = 0};
            static const uint32_t fmts[] = {SPICE_SURFACE_FMT_32_xRGB, SPICE_SURFACE_FMT_16_565,
                                            SPICE_SURFACE_FMT_16_555, SPICE_SURFACE_FMT_32_ARGB, 7};
            uint8_t f = fuzz_next();
            sc.format = fmts[f % 5];
            sc.stride = (int32_t)(sc.width * (sc.format == SPICE_SURFACE_FMT_32_xRGB ? 4 : 2));
            if (f & 0x10)
                sc.stride = -sc.stride;
            if (f & 0x20)
                sc.stride = (int32_t)fuzz_next_n(4);
            sc.mem = addr_of(fuzz_next(), fuzz_next_n(2) * 64);
            memcpy(&hdr->create_surface, &sc, sizeof(sc));
            io(fuzz_next() & 1 ? QXL_IO_CREATE_PRIMARY_ASYNC : QXL_IO_CREATE_PRIMARY, 1, 0);
            break;
        }
        case 6:
            op_drawable();
            break;
        case 7:
            fb_refresh_now();
            break;
        case 8:
            pump();
            break;
        case 9: {
            static const uint16_t ports[] = {0x3c0, 0x3c4, 0x3c5, 0x3ce, 0x3cf, 0x3d4, 0x3d5};
            uint8_t p = fuzz_next();
            io_write(IO_PIO, ports[p % 7], 1, fuzz_next());
            break;
        }
        case 10: {
            uint8_t which = fuzz_next() % 6;
            uint32_t v = (uint32_t)fuzz_next_n(4);
            static const size_t f[] = {
                offsetof(QXLRam, cmd_ring) + offsetof(QXLCommandRing, prod),
                offsetof(QXLRam, cmd_ring) + offsetof(QXLCommandRing, cons),
                offsetof(QXLRam, cmd_ring) + offsetof(QXLCommandRing, notify_on_prod),
                offsetof(QXLRam, release_ring) + offsetof(QXLReleaseRing, cons),
                offsetof(QXLRam, cursor_ring) + offsetof(QXLCursorRing, prod),
                offsetof(QXLRam, int_mask),
            };
            memcpy((uint8_t *)hdr + f[which], &v, sizeof(v));
            break;
        }
        default: {
            QXLRect r = {.top = (int16_t)fuzz_next_n(2),
                         .left = (int16_t)fuzz_next_n(2),
                         .bottom = (int16_t)fuzz_next_n(2),
                         .right = (int16_t)fuzz_next_n(2)};
            memcpy(&hdr->update_area, &r, sizeof(r));
            hdr->update_surface = fuzz_next() % 4;
            io(fuzz_next() & 1 ? QXL_IO_UPDATE_AREA_ASYNC : QXL_IO_UPDATE_AREA, 1, 0);
            break;
        }
        }
    }
    io(QXL_IO_FLUSH_RELEASE, 1, 0);
    fb_refresh_now();
    pump();
}

/* ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("XEN_QEMU_CONSOLE_LIMIT", "65536", 1);
    log_init();
    char *err = NULL;
    struct opts *o = opts_parse("-device", "ram_size_mb=16,vram_size_mb=1,vgamem_mb=8", NULL, &err);
    if (!o) {
        fprintf(stderr, "fuzz-qxl: %s\n", err);
        abort();
    }
    qxl = device_create("qxl-vga", o);
    opts_free(o);
    if (!qxl || !qxl->pci || !qxl->pci->ram_ptr[0]) {
        fprintf(stderr, "fuzz-qxl: cannot create qxl-vga\n");
        abort();
    }
    ram = qxl->pci->ram_ptr[0];
    ram_size = (uint32_t)qxl->pci->desc->bar[0].size;
    hdr = (QXLRam *)(ram + ram_size - 8192);
    sbdf = qxl->pci->devfn;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int mode = -2;
    if (mode == -2) {
        const char *m = getenv("FUZZ_QXL_MODE");
        mode = m && (*m == '0' || *m == '1') ? *m - '0' : -1;
    }
    fuzz_input(data, size);
    uint8_t first = fuzz_next();
    if ((mode < 0 ? first & 1 : mode) == 1)
        fuzz_device();
    else
        fuzz_parser();
    return 0;
}
