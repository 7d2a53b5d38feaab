/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QXL guest driver of the xensim tests (test-qxl-guest.h). */
#include "config.h"

#include <string.h>

#include "tests/xensim/test-qxl-guest.h"

#define QXL_VENDOR 0x1b36
#define QXL_DEVICE 0x0100

void qg_probe(struct qg *g, xsim *x)
{
    unsigned n;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, &n), *f = NULL;

    memset(g, 0, sizeof(*g));
    g->x = x;
    for (unsigned i = 0; i < n; i++)
        if (fn[i].vendor == QXL_VENDOR && fn[i].device == QXL_DEVICE)
            f = &fn[i];
    g_assert_nonnull(f);
    g->bdf = f->bdf;
    g->ram_gpa = f->bar[QXL_RAM_RANGE_INDEX].addr;
    g->ram_size = f->bar[QXL_RAM_RANGE_INDEX].size;
    g->vram_gpa = f->bar[QXL_VRAM_RANGE_INDEX].addr;
    g->vram_size = f->bar[QXL_VRAM_RANGE_INDEX].size;
    g->rom_gpa = f->bar[QXL_ROM_RANGE_INDEX].addr;
    g->io = (uint16_t)f->bar[QXL_IO_RANGE_INDEX].addr;
    g->irq_line = f->irq_line;
    g_assert_true(f->bar[QXL_IO_RANGE_INDEX].is_io);
    g_assert_cmpuint(g->irq_line, >, 0);
    guest_mem_read(g->rom_gpa, &g->rom, sizeof(g->rom));
    g_assert_cmphex(g->rom.magic, ==, QXL_ROM_MAGIC);
    g->ram = guest_ram_ptr(g->ram_gpa, g->ram_size);
    g_assert_nonnull(g->ram);
    g->hdr = (QXLRam *)(g->ram + g->rom.ram_header_offset);
    g_assert_cmphex(g->hdr->magic, ==, QXL_RAM_MAGIC);
    g->main = (struct qc_mem){
        .base = g->ram, .next = g->rom.pages_offset, .end = g->rom.ram_header_offset};
    g->next_surf = 0;
    g->pending = g_hash_table_new(g_int64_hash, g_int64_equal);
    g->next_id = 1;
}

uint32_t qg_ack(struct qg *g)
{
    uint32_t p = __atomic_exchange_n(&g->hdr->int_pending, 0, __ATOMIC_SEQ_CST);

    g->seen_pending |= p;
    guest_outb((uint16_t)(g->io + QXL_IO_UPDATE_IRQ), 0);
    return p;
}

void qg_io_async(struct qg *g, unsigned port, uint8_t val)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)QG_IRQ_TIMEOUT_MS * 1000;

    guest_outb((uint16_t)(g->io + port), val);
    for (;;) {
        if (qg_ack(g) & QXL_INTERRUPT_IO_CMD)
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("QXL I/O port %u: no QXL_INTERRUPT_IO_CMD within %d ms", port,
                    QG_IRQ_TIMEOUT_MS);
        guest_wait_irq(g->irq_line, 100);
    }
}

static uint64_t high_bits(const struct qg *g, unsigned slot)
{
    uint64_t h = ((uint64_t)slot << g->rom.slot_gen_bits) | g->rom.slot_generation;

    return h << (64 - (g->rom.slot_gen_bits + g->rom.slot_id_bits));
}

static void add_slot(struct qg *g, unsigned index, uint64_t start, uint64_t size)
{
    QXLMemSlot s = {.mem_start = start, .mem_end = start + size};

    memcpy(&g->hdr->mem_slot, &s, sizeof(s));
    qg_io_async(g, QXL_IO_MEMSLOT_ADD_ASYNC, (uint8_t)(g->rom.slots_start + index));
}

void qg_init(struct qg *g)
{
    guest_outb((uint16_t)(g->io + QXL_IO_RESET), 0);
    g->hdr->int_mask = QG_INT_MASK;
    guest_outb((uint16_t)(g->io + QXL_IO_UPDATE_IRQ), 0);
    add_slot(g, 0, g->ram_gpa, g->ram_size);
    add_slot(g, 1, g->vram_gpa, g->vram_size);
    g->main.high = high_bits(g, g->rom.slots_start);
    g->surf_high = high_bits(g, g->rom.slots_start + 1u);
}

void qg_create_primary(struct qg *g, unsigned w, unsigned h, uint32_t format)
{
    unsigned bpp = format == SPICE_SURFACE_FMT_32_xRGB ? 4 : 2;
    QXLSurfaceCreate sc = {
        .width = w,
        .height = h,
        .stride = (int32_t)(w * bpp),
        .format = format,
        .position = 0,
        .mouse_mode = 1,
        .flags = 0,
        .type = QXL_SURF_TYPE_PRIMARY,
        .mem = qg_addr(g, 0), /* the surface0 area, start of BAR0 */
    };

    memcpy(&g->hdr->create_surface, &sc, sizeof(sc));
    qg_io_async(g, QXL_IO_CREATE_PRIMARY_ASYNC, 0);
}

uint64_t qg_alloc(struct qg *g, size_t len)
{
    return qc_alloc(&g->main, len);
}

uint64_t qg_alloc_surface_mem(struct qg *g, size_t len)
{
    uint64_t off = (g->next_surf + 4095) & ~4095ull;

    uint8_t zero[4096] = {0};

    g_assert_cmpuint(off + len, <=, g->vram_size);
    g->next_surf = off + len;
    for (size_t done = 0; done < len; done += sizeof(zero))
        guest_mem_write(g->vram_gpa + off + done, zero,
                        len - done < sizeof(zero) ? len - done : sizeof(zero));
    return off;
}

uint64_t qg_addr(const struct qg *g, uint64_t off)
{
    return qc_addr(&g->main, off);
}

uint64_t qg_surf_addr(const struct qg *g, uint64_t off)
{
    return g->surf_high | off;
}

void *qg_ptr(struct qg *g, uint64_t off)
{
    return qc_ptr(&g->main, off);
}

uint64_t qg_track(struct qg *g, uint64_t off)
{
    uint64_t *key = g_new(uint64_t, 1);
    uint64_t *val = g_new(uint64_t, 1);
    uint64_t id = g->next_id++;
    QXLReleaseInfo *ri = qg_ptr(g, off);

    *key = id;
    *val = off;
    g_hash_table_insert(g->pending, key, val);
    ri->id = id;
    return id;
}

void qg_push(struct qg *g, bool cursor, uint64_t cmd_off, uint32_t type)
{
    QXLCommandRing *r = cursor ? (QXLCommandRing *)(void *)&g->hdr->cursor_ring : &g->hdr->cmd_ring;
    gint64 deadline = g_get_monotonic_time() + (gint64)QG_IRQ_TIMEOUT_MS * 1000;
    QXLCommand c = {.data = qg_addr(g, cmd_off), .type = type};

    while (r->prod - r->cons >= QXL_COMMAND_RING_SIZE) {
        /* full: ask to be told when the device took one (Linux's wait) */
        r->notify_on_cons = r->cons + 1;
        __sync_synchronize();
        if (g_get_monotonic_time() > deadline)
            g_error("QXL %s ring stays full", cursor ? "cursor" : "command");
        guest_wait_irq(g->irq_line, 50);
        qg_ack(g);
    }
    memcpy(&r->items[r->prod & (QXL_COMMAND_RING_SIZE - 1)], &c, sizeof(c));
    __sync_synchronize();
    r->prod++;
    __sync_synchronize();
    if (r->prod == r->notify_on_prod)
        guest_outb((uint16_t)(g->io + (cursor ? QXL_IO_NOTIFY_CURSOR : QXL_IO_NOTIFY_CMD)), 0);
}

unsigned qg_collect(struct qg *g)
{
    QXLReleaseRing *r = &g->hdr->release_ring;

    while (r->cons != r->prod) {
        uint64_t id;
        memcpy(&id, &r->items[r->cons & (QXL_RELEASE_RING_SIZE - 1)], sizeof(id));
        while (id) {
            uint64_t *off = g_hash_table_lookup(g->pending, &id);
            QXLReleaseInfo *ri;
            if (!off)
                g_error("release ring: id %llu was never submitted or released twice",
                        (unsigned long long)id);
            ri = qg_ptr(g, *off);
            g_hash_table_remove(g->pending, &id);
            g->released++;
            id = ri->next;
        }
        r->cons++;
    }
    return g->released;
}

unsigned qg_outstanding(const struct qg *g)
{
    return g_hash_table_size(g->pending);
}

uint64_t qg_fill(struct qg *g, uint32_t surface, int x, int y, int w, int h, uint32_t rgb)
{
    uint64_t off = qc_fill(&g->main, surface, x, y, w, h, rgb);

    qg_track(g, off);
    return off;
}

uint64_t qg_bitmap(struct qg *g, const uint32_t *px, unsigned w, unsigned h, unsigned chunks)
{
    return qg_addr(g, qc_bitmap32(&g->main, g->next_id++ << 8, px, w, h, chunks));
}

uint64_t qg_bitmap8(struct qg *g, const uint8_t *px, unsigned w, unsigned h, const uint32_t *pal,
                    unsigned nents)
{
    uint64_t ioff = qg_alloc(g, sizeof(QXLImage));
    uint64_t poff = qg_alloc(g, sizeof(QXLPalette) + nents * 4);
    uint64_t coff = qg_alloc(g, sizeof(QXLDataChunk) + (size_t)w * h);
    QXLImage *img = qg_ptr(g, ioff);
    QXLPalette *p = qg_ptr(g, poff);
    QXLDataChunk *ch = qg_ptr(g, coff);

    p->unique = g->next_id++;
    p->num_ents = (uint16_t)nents;
    memcpy(p->ents, pal, nents * 4);
    ch->data_size = w * h;
    memcpy(ch->data, px, (size_t)w * h);
    qc_image_bitmap(img, 0, SPICE_BITMAP_FMT_8BIT, w, h, w, qg_addr(g, coff));
    img->bitmap.palette = qg_addr(g, poff);
    return qg_addr(g, ioff);
}

uint64_t qg_copy(struct qg *g, uint32_t surface, uint64_t image, int x, int y, int w, int h,
                 int32_t dep)
{
    uint64_t off = qc_copy(&g->main, surface, image, x, y, w, h);
    QXLDrawable *d = qg_ptr(g, off);

    d->surfaces_dest[0] = dep;
    if (dep != -1) /* the part of it the copy reads: spice-server renders it first */
        d->surfaces_rects[0] = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};
    qg_track(g, off);
    return off;
}

uint64_t qg_surface_image(struct qg *g, uint32_t surface, unsigned w, unsigned h)
{
    uint64_t off = qg_alloc(g, sizeof(QXLImage));
    QXLImage *img = qg_ptr(g, off);

    img->descriptor.type = SPICE_IMAGE_TYPE_SURFACE;
    img->descriptor.width = w;
    img->descriptor.height = h;
    img->surface_image.surface_id = surface;
    return qg_addr(g, off);
}

uint64_t qg_surface_cmd(struct qg *g, uint32_t id, bool create, unsigned w, unsigned h)
{
    uint64_t off = qg_alloc(g, sizeof(QXLSurfaceCmd));
    QXLSurfaceCmd *c = qg_ptr(g, off);

    qg_track(g, off);
    c->surface_id = id;
    c->type = create ? QXL_SURFACE_CMD_CREATE : QXL_SURFACE_CMD_DESTROY;
    if (create) {
        uint64_t mem = qg_alloc_surface_mem(g, (size_t)w * h * 4);
        c->u.surface_create.format = SPICE_SURFACE_FMT_32_xRGB;
        c->u.surface_create.width = w;
        c->u.surface_create.height = h;
        c->u.surface_create.stride = (int32_t)(w * 4);
        c->u.surface_create.data = qg_surf_addr(g, mem);
    }
    return off;
}

uint64_t qg_cursor_shape(struct qg *g, int x, int y, const struct qg_cursor *cur)
{
    uint64_t off = qg_alloc(g, sizeof(QXLCursorCmd));
    uint64_t soff = qg_alloc(g, sizeof(QXLCursor) + cur->len);
    QXLCursorCmd *c = qg_ptr(g, off);
    QXLCursor *s = qg_ptr(g, soff);

    memset(c, 0, sizeof(*c));
    memset(s, 0, sizeof(*s));
    qg_track(g, off);
    c->type = QXL_CURSOR_SET;
    c->u.set.position = (QXLPoint16){.x = (int16_t)x, .y = (int16_t)y};
    c->u.set.visible = 1;
    c->u.set.shape = qg_addr(g, soff);
    s->header.unique = g->next_id++;
    s->header.type = cur->type;
    s->header.width = (uint16_t)cur->w;
    s->header.height = (uint16_t)cur->h;
    s->header.hot_spot_x = (uint16_t)cur->hot_x;
    s->header.hot_spot_y = (uint16_t)cur->hot_y;
    s->data_size = cur->declared;
    s->chunk.data_size = (uint32_t)cur->len;
    memcpy(qg_ptr(g, soff + sizeof(QXLCursor)), cur->data, cur->len);
    return off;
}

uint64_t qg_cursor_set(struct qg *g, int x, int y, unsigned w, unsigned h)
{
    size_t len = (size_t)w * h * 4;
    uint32_t *px = g_malloc(len);

    for (unsigned i = 0; i < w * h; i++)
        px[i] = (i % w == i / w) ? 0xffffffffu : 0x80000000u;
    struct qg_cursor cur = {.type = SPICE_CURSOR_TYPE_ALPHA,
                            .w = w,
                            .h = h,
                            .data = px,
                            .len = len,
                            .declared = (uint32_t)len};
    uint64_t off = qg_cursor_shape(g, x, y, &cur);
    g_free(px);
    return off;
}

uint64_t qg_cursor_move(struct qg *g, int x, int y)
{
    uint64_t off = qg_alloc(g, sizeof(QXLCursorCmd));
    QXLCursorCmd *c = qg_ptr(g, off);

    qg_track(g, off);
    c->type = QXL_CURSOR_MOVE;
    c->u.position = (QXLPoint16){.x = (int16_t)x, .y = (int16_t)y};
    return off;
}

void qg_update_area(struct qg *g, uint32_t surface, int w, int h)
{
    QXLRect r = {.top = 0, .left = 0, .bottom = h, .right = w};

    memcpy(&g->hdr->update_area, &r, sizeof(r));
    g->hdr->update_surface = surface;
    guest_outb((uint16_t)(g->io + QXL_IO_UPDATE_AREA), 0);
}
