/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QXL commands built in guest memory (tests/common/qxl-cmd.h). */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "tests/common/qxl-cmd.h"

uint64_t qc_alloc(struct qc_mem *m, size_t len)
{
    uint64_t off = (m->next + 7) & ~7ull;

    g_assert_cmpuint(off + len, <=, m->end);
    m->next = off + len;
    memset(m->base + off, 0, len);
    return off;
}

void *qc_ptr(const struct qc_mem *m, uint64_t off)
{
    return m->base + off;
}

uint64_t qc_addr(const struct qc_mem *m, uint64_t off)
{
    return m->high | off;
}

uint64_t qc_drawable(struct qc_mem *m, uint32_t surface, uint8_t type, int x, int y, int w, int h)
{
    uint64_t off = qc_alloc(m, sizeof(QXLDrawable));
    QXLDrawable *d = qc_ptr(m, off);

    d->surface_id = surface;
    d->effect = QXL_EFFECT_OPAQUE;
    d->type = type;
    d->bbox = (QXLRect){.top = y, .left = x, .bottom = y + h, .right = x + w};
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    for (int i = 0; i < 3; i++)
        d->surfaces_dest[i] = -1;
    return off;
}

uint64_t qc_fill(struct qc_mem *m, uint32_t surface, int x, int y, int w, int h, uint32_t rgb)
{
    uint64_t off = qc_drawable(m, surface, QXL_DRAW_FILL, x, y, w, h);
    QXLDrawable *d = qc_ptr(m, off);

    d->u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d->u.fill.brush.u.color = rgb;
    d->u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    return off;
}

uint64_t qc_copy(struct qc_mem *m, uint32_t surface, QXLPHYSICAL image, int x, int y, int w, int h)
{
    uint64_t off = qc_drawable(m, surface, QXL_DRAW_COPY, x, y, w, h);
    QXLDrawable *d = qc_ptr(m, off);

    d->u.copy.src_bitmap = image;
    d->u.copy.src_area = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    return off;
}

void qc_image_bitmap(QXLImage *img, uint64_t id, uint8_t format, unsigned w, unsigned h,
                     unsigned stride, QXLPHYSICAL data)
{
    img->descriptor.id = id;
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->descriptor.width = w;
    img->descriptor.height = h;
    img->bitmap.format = format;
    img->bitmap.flags = QXL_BITMAP_TOP_DOWN;
    img->bitmap.x = w;
    img->bitmap.y = h;
    img->bitmap.stride = stride;
    img->bitmap.data = data;
}

uint64_t qc_bitmap32(struct qc_mem *m, uint64_t id, const uint32_t *px, unsigned w, unsigned h,
                     unsigned chunks)
{
    uint64_t ioff = qc_alloc(m, sizeof(QXLImage)), first = 0, prev = 0;
    size_t total = (size_t)w * h * 4, done = 0;

    for (unsigned c = 0; c < chunks; c++) {
        size_t len = c + 1 == chunks ? total - done : total / chunks / 4 * 4;
        uint64_t coff = qc_alloc(m, sizeof(QXLDataChunk) + len);
        QXLDataChunk *ch = qc_ptr(m, coff);
        ch->data_size = (uint32_t)len;
        memcpy(ch->data, (const uint8_t *)px + done, len);
        done += len;
        if (c == 0) {
            first = coff;
        } else {
            ((QXLDataChunk *)qc_ptr(m, prev))->next_chunk = qc_addr(m, coff);
            ch->prev_chunk = qc_addr(m, prev);
        }
        prev = coff;
    }
    qc_image_bitmap(qc_ptr(m, ioff), id, SPICE_BITMAP_FMT_32BIT, w, h, w * 4, qc_addr(m, first));
    return ioff;
}
