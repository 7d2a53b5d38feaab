/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL command validation (qxl-parse.h), second half: QXL_CMD_DRAW in both
 * layouts (native QXLDrawable, qxl-1 QXLCompatDrawable) and everything a
 * drawable points to: images (bitmaps with their palettes, surface
 * images; QUIC is refused), brushes, masks, clip rectangles, paths and
 * line styles,
 * strings of glyphs, transforms.  qxl_parse_command() in
 * display/qxl-parse.c calls qxl_parse_drawable() /
 * qxl_parse_compat_drawable(); the primitives used here (read once, chunk
 * chains, the copy's memory, surface checks) are that file's, declared in
 * qxl-parse-priv.h.
 *
 * As there, each guest structure is read once, checked, and rebuilt in
 * the copy with host pointers; bulk pixel data of one-chunk bitmaps stays
 * in guest memory.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "display/qxl-parse-priv.h"
#include "display/qxl-parse.h"

/* Bits per pixel of SPICE_BITMAP_FMT_* (0: invalid). */
static const uint8_t bitmap_bpp[SPICE_BITMAP_FMT_ENUM_END] = {
    [SPICE_BITMAP_FMT_1BIT_LE] = 1, [SPICE_BITMAP_FMT_1BIT_BE] = 1, [SPICE_BITMAP_FMT_4BIT_LE] = 4,
    [SPICE_BITMAP_FMT_4BIT_BE] = 4, [SPICE_BITMAP_FMT_8BIT] = 8,    [SPICE_BITMAP_FMT_16BIT] = 16,
    [SPICE_BITMAP_FMT_24BIT] = 24,  [SPICE_BITMAP_FMT_32BIT] = 32,  [SPICE_BITMAP_FMT_RGBA] = 32,
    [SPICE_BITMAP_FMT_8BIT_A] = 8,
};

static bool bitmap_has_palette(uint8_t fmt)
{
    return fmt >= SPICE_BITMAP_FMT_1BIT_LE && fmt <= SPICE_BITMAP_FMT_8BIT;
}

/* ------------------------------------------------------------------------
 * Images, brushes, masks, clips
 */

static bool copy_image(struct qxl_parse *p, QXLPHYSICAL a, bool is_mask, QXLPHYSICAL *out,
                       const char *what)
{
    QXLImage img;
    QXLImage *h;
    QXLPHYSICAL v = 0;

    if (!qxl_parse_read(p, a, &img, sizeof(img), what))
        return false;
    switch (img.descriptor.type) {
    case SPICE_IMAGE_TYPE_BITMAP: {
        QXLBitmap *b;
        uint8_t fmt = img.bitmap.format;
        unsigned bpp = fmt < SPICE_BITMAP_FMT_ENUM_END ? bitmap_bpp[fmt] : 0;
        uint64_t size;

        if (!bpp)
            return qxl_parse_fail(p, "%s: bitmap format %u", what, fmt);
        if (is_mask && fmt != SPICE_BITMAP_FMT_1BIT_LE && fmt != SPICE_BITMAP_FMT_1BIT_BE)
            return qxl_parse_fail(p, "%s: a mask must be a 1-bit bitmap, not format %u", what, fmt);
        if (!img.bitmap.x || !img.bitmap.y)
            return qxl_parse_fail(p, "%s: bitmap of %ux%u pixels", what, img.bitmap.x,
                                  img.bitmap.y);
        if (((uint64_t)img.bitmap.x * bpp + 7) / 8 > img.bitmap.stride)
            return qxl_parse_fail(p, "%s: stride %u too small for %u pixels at %u bpp", what,
                                  img.bitmap.stride, img.bitmap.x, bpp);
        size = (uint64_t)img.bitmap.y * img.bitmap.stride;
        if (size > QXL_MAX_DATA_FIELD)
            return qxl_parse_fail(p, "%s: bitmap larger than 2 GiB", what);
        if (bitmap_has_palette(fmt) && !img.bitmap.palette && !is_mask)
            return qxl_parse_fail(p, "%s: %u-bit bitmap without a palette", what, bpp);
        h = qxl_parse_alloc(p, sizeof(*h));
        if (!h)
            return false;
        *h = img;
        b = &h->bitmap;
        b->flags &= QXL_BITMAP_TOP_DOWN | QXL_BITMAP_UNSTABLE;
        if (img.bitmap.palette) {
            QXLPalette pal;
            const uint8_t *ents;
            QXLPalette *hp;
            /* renderers index the palette with pixel values unchecked: give
             * them every entry the format can name */
            unsigned n, need = bitmap_has_palette(fmt) ? 1u << bpp : 0;

            if (!qxl_parse_read(p, img.bitmap.palette, &pal, sizeof(pal), what))
                return false;
            ents = qxl_parse_ref(p, img.bitmap.palette + sizeof(pal), (uint64_t)pal.num_ents * 4,
                                 what);
            if (!ents)
                return false;
            n = pal.num_ents > need ? pal.num_ents : need;
            hp = qxl_parse_alloc(p, sizeof(*hp) + (size_t)n * 4);
            if (!hp)
                return false;
            hp->unique = pal.unique;
            hp->num_ents = (uint16_t)n;
            memcpy(hp->ents, ents, (size_t)pal.num_ents * 4);
            if (!qxl_parse_host_addr(p, hp, &v))
                return false;
            b->palette = v;
        }
        if (img.bitmap.flags & QXL_BITMAP_DIRECT) {
            const uint8_t *d = qxl_parse_ref(p, img.bitmap.data, size, what);
            if (!d || !qxl_parse_host_addr(p, d, &v))
                return false;
            b->data = v;
        } else {
            const uint8_t *d;
            uint8_t *blk;
            uint64_t total;

            if (!qxl_parse_chunks(p, img.bitmap.data, 0, true, &d, &blk, &total, what))
                return false;
            if (total != size)
                return qxl_parse_fail(p, "%s: %llu bytes of bitmap data for %ux%u, stride %u", what,
                                      (unsigned long long)total, img.bitmap.x, img.bitmap.y,
                                      img.bitmap.stride);
            if (!qxl_parse_host_addr(p, d, &v))
                return false;
            b->data = v;
        }
        b->flags |= QXL_BITMAP_DIRECT; /* one flat run now */
        break;
    }
    case SPICE_IMAGE_TYPE_QUIC:
        /* spice-server decodes QUIC data when it renders locally (for VNC,
         * screendump, update_area) and aborts the whole process when the
         * stream is malformed (canvas_get_image_internal: "surface != NULL"
         * after "quic decode begin failed", found by fuzz-qxl).  Only the
         * old Windows XPDM driver sends QUIC; Linux's qxl and qxl-wddm-dod
         * send bitmaps.  Checking a QUIC stream means decoding it, so it is
         * refused. */
        return qxl_parse_fail(p, "%s: QUIC-compressed image (not accepted from guests)", what);
    case SPICE_IMAGE_TYPE_SURFACE: {
        uint32_t id = img.surface_image.surface_id;
        bool listed = false;

        if (is_mask)
            return qxl_parse_fail(p, "%s: a mask must be a 1-bit bitmap, not a surface", what);
        if (!p->have_deps)
            return qxl_parse_fail(p, "%s: surface images need a native drawable", what);
        if (id >= QXL_NUM_SURFACES)
            return qxl_parse_fail(p, "%s: surface id %u out of range", what, id);
        /* spice-server renders it lazily and aborts if it is gone by
         * then: only surfaces_dest keeps it alive */
        for (int i = 0; i < 3; i++)
            listed |= p->deps[i] == (int32_t)id;
        if (!listed)
            return qxl_parse_fail(p, "%s: reads surface %u without listing it in surfaces_dest",
                                  what, id);
        if (!qxl_parse_surface_live(p, id, what))
            return false;
        h = qxl_parse_alloc(p, sizeof(*h));
        if (!h)
            return false;
        h->descriptor = img.descriptor;
        h->surface_image.surface_id = id;
        break;
    }
    default:
        return qxl_parse_fail(p, "%s: image type %u", what, img.descriptor.type);
    }
    return qxl_parse_host_addr(p, h, out);
}

/* An image a drawable reads, and the area it reads from it. */
static bool copy_src(struct qxl_parse *p, QXLPHYSICAL in, const QXLRect *area, QXLPHYSICAL *out,
                     const char *what)
{
    const QXLImage *h;
    uint32_t w, hgt;

    if (!in)
        return qxl_parse_fail(p, "%s: no source image", what);
    if (!copy_image(p, in, false, out, what))
        return false;
    h = (const QXLImage *)(uintptr_t)*out;
    switch (h->descriptor.type) {
    case SPICE_IMAGE_TYPE_BITMAP:
        w = h->bitmap.x;
        hgt = h->bitmap.y;
        break;
    case SPICE_IMAGE_TYPE_SURFACE:
        w = p->surfaces->s[h->surface_image.surface_id].width;
        hgt = p->surfaces->s[h->surface_image.surface_id].height;
        break;
    default:
        w = h->descriptor.width;
        hgt = h->descriptor.height;
        break;
    }
    if (area->left < 0 || area->top < 0 || area->left > area->right || area->top > area->bottom ||
        (uint32_t)area->right > w || (uint32_t)area->bottom > hgt)
        return qxl_parse_fail(p, "%s: source area (%d,%d)-(%d,%d) outside the %ux%u image", what,
                              area->left, area->top, area->right, area->bottom, w, hgt);
    return true;
}

static bool copy_brush(struct qxl_parse *p, QXLBrush *b, const char *what)
{
    switch (b->type) {
    case SPICE_BRUSH_TYPE_NONE:
    case SPICE_BRUSH_TYPE_SOLID:
        return true;
    case SPICE_BRUSH_TYPE_PATTERN: {
        QXLPHYSICAL v = 0;
        if (!b->u.pattern.pat)
            return qxl_parse_fail(p, "%s: pattern brush without an image", what);
        if (!copy_image(p, b->u.pattern.pat, false, &v, what))
            return false;
        b->u.pattern.pat = v;
        return true;
    }
    default:
        return qxl_parse_fail(p, "%s: brush type %u", what, b->type);
    }
}

static bool copy_mask(struct qxl_parse *p, QXLQMask *m)
{
    QXLPHYSICAL v = 0;

    if (!m->bitmap)
        return true;
    if (!copy_image(p, m->bitmap, true, &v, "mask"))
        return false;
    m->bitmap = v;
    return true;
}

static bool copy_clip(struct qxl_parse *p, QXLClip *c)
{
    QXLClipRects cr, *h;
    QXLPHYSICAL v = 0;
    const uint8_t *d;
    uint8_t *blk;
    uint64_t total;

    switch (c->type) {
    case SPICE_CLIP_TYPE_NONE:
        c->data = 0;
        return true;
    case SPICE_CLIP_TYPE_RECTS:
        if (!qxl_parse_read(p, c->data, &cr, sizeof(cr), "clip rectangles") ||
            !qxl_parse_chunks(p, c->data + offsetof(QXLClipRects, chunk), sizeof(QXLClipRects),
                              false, &d, &blk, &total, "clip rectangles"))
            return false;
        if ((uint64_t)cr.num_rects * sizeof(QXLRect) != total)
            return qxl_parse_fail(p, "clip: %u rectangles in %llu bytes", cr.num_rects,
                                  (unsigned long long)total);
        for (uint32_t i = 0; i < cr.num_rects; i++) {
            QXLRect r;
            memcpy(&r, d + (size_t)i * sizeof(r), sizeof(r));
            if (r.left > r.right || r.top > r.bottom)
                return qxl_parse_fail(p, "clip rectangle %u is (%d,%d)-(%d,%d)", i, r.left, r.top,
                                      r.right, r.bottom);
        }
        h = (QXLClipRects *)blk;
        h->num_rects = cr.num_rects;
        h->chunk.data_size = (uint32_t)total;
        if (!qxl_parse_host_addr(p, h, &v))
            return false;
        c->data = v;
        return true;
    default:
        return qxl_parse_fail(p, "clip type %u", c->type);
    }
}

/* ------------------------------------------------------------------------
 * Drawing operations with more structure: strokes, text
 */

static bool copy_path(struct qxl_parse *p, QXLPHYSICAL in, QXLPHYSICAL *out)
{
    const uint8_t *d, *end;
    uint8_t *blk;
    uint64_t total;
    QXLPath *h;

    if (!in)
        return qxl_parse_fail(p, "stroke without a path");
    if (!qxl_parse_chunks(p, in + offsetof(QXLPath, chunk), sizeof(QXLPath), false, &d, &blk,
                          &total, "path"))
        return false;
    /* segment headers and points must tile the data the way spice-server
     * walks it (it asserts) */
    end = d + total;
    while ((size_t)(end - d) > sizeof(QXLPathSeg)) {
        QXLPathSeg seg;
        memcpy(&seg, d, sizeof(seg));
        if ((uint64_t)seg.count * sizeof(QXLPointFix) > (uint64_t)(end - d) - sizeof(seg))
            return qxl_parse_fail(p, "path: segment of %u points runs past the path's %llu bytes",
                                  seg.count, (unsigned long long)total);
        d += sizeof(seg) + (size_t)seg.count * sizeof(QXLPointFix);
    }
    h = (QXLPath *)blk;
    h->data_size = (uint32_t)total;
    h->chunk.data_size = (uint32_t)total;
    return qxl_parse_host_addr(p, h, out);
}

static bool copy_stroke(struct qxl_parse *p, QXLStroke *s)
{
    QXLPHYSICAL v = 0;

    if (!copy_path(p, s->path, &v))
        return false;
    s->path = v;
    if (s->attr.flags & SPICE_LINE_FLAGS_STYLED) {
        uint64_t n = (uint64_t)s->attr.style_nseg * sizeof(QXLFIXED);
        const uint8_t *src;
        uint8_t *h;

        if (!s->attr.style)
            return qxl_parse_fail(p, "styled stroke without a style");
        src = qxl_parse_ref(p, s->attr.style, n, "line style");
        if (!src)
            return false;
        h = qxl_parse_alloc(p, n ? n : 1);
        if (!h)
            return false;
        memcpy(h, src, n);
        if (!qxl_parse_host_addr(p, h, &v))
            return false;
        s->attr.style = v;
    } else {
        s->attr.style = 0;
    }
    return copy_brush(p, &s->brush, "stroke");
}

static bool copy_string(struct qxl_parse *p, QXLPHYSICAL in, QXLPHYSICAL *out)
{
    QXLString q, *h;
    const uint8_t *d, *end;
    uint8_t *blk;
    uint64_t total;
    unsigned bpp, glyphs = 0;

    if (!in)
        return qxl_parse_fail(p, "text without a string");
    if (!qxl_parse_read(p, in, &q, sizeof(q), "string") ||
        !qxl_parse_chunks(p, in + offsetof(QXLString, chunk), sizeof(QXLString), false, &d, &blk,
                          &total, "string"))
        return false;
    if (total != q.data_size)
        return qxl_parse_fail(p, "string declares %u bytes, its chunks hold %llu", q.data_size,
                              (unsigned long long)total);
    if (q.flags & SPICE_STRING_FLAGS_RASTER_A1)
        bpp = 1;
    else if (q.flags & SPICE_STRING_FLAGS_RASTER_A4)
        bpp = 4;
    else if (q.flags & SPICE_STRING_FLAGS_RASTER_A8)
        bpp = 8;
    else
        return qxl_parse_fail(p, "string flags %#x name no glyph format", q.flags);
    end = d + total;
    while (d < end) {
        QXLRasterGlyph g;
        uint64_t size;

        if ((size_t)(end - d) < sizeof(g))
            return qxl_parse_fail(p, "string: glyph %u header runs past the data", glyphs);
        memcpy(&g, d, sizeof(g));
        size = (uint64_t)g.height * (((uint64_t)g.width * bpp + 7) / 8);
        if (size > (uint64_t)(end - d) - sizeof(g))
            return qxl_parse_fail(p, "string: glyph %u (%ux%u) runs past the data", glyphs, g.width,
                                  g.height);
        d += sizeof(g) + size;
        glyphs++;
    }
    if (glyphs != q.length)
        return qxl_parse_fail(p, "string declares %u glyphs and holds %u", q.length, glyphs);
    h = (QXLString *)blk;
    h->data_size = (uint32_t)total;
    h->length = q.length;
    h->flags = q.flags;
    h->chunk.data_size = (uint32_t)total;
    return qxl_parse_host_addr(p, h, out);
}

static bool copy_transform(struct qxl_parse *p, QXLPHYSICAL in, QXLPHYSICAL *out)
{
    QXLTransform *h;

    *out = 0;
    if (!in)
        return true;
    h = qxl_parse_alloc(p, sizeof(*h));
    return h && qxl_parse_read(p, in, h, sizeof(*h), "transform") && qxl_parse_host_addr(p, h, out);
}

/* ------------------------------------------------------------------------
 * Drawables
 */

static bool valid_effect(uint8_t e)
{
    return e <= QXL_EFFECT_OPAQUE_BRUSH;
}

/* The bounding box: ordered (spice-server's regions refuse others), and
 * inside the target surface (spice-server drops the command otherwise). */
static bool check_bbox(struct qxl_parse *p, const QXLRect *b, uint32_t surface)
{
    const struct qxl_surface_state *s = &p->surfaces->s[surface];

    if (b->left > b->right || b->top > b->bottom)
        return qxl_parse_fail(p, "bounding box (%d,%d)-(%d,%d)", b->left, b->top, b->right,
                              b->bottom);
    if (b->left < 0 || b->top < 0 || (uint32_t)b->right > s->width ||
        (uint32_t)b->bottom > s->height)
        return qxl_parse_drop(p, "bounding box (%d,%d)-(%d,%d) outside the %ux%u surface %u",
                              b->left, b->top, b->right, b->bottom, s->width, s->height, surface);
    return true;
}

/* The part of the drawable both layouts share: one operation `type` with
 * its union `u` (native layout; compat differs only in alpha blend and has
 * no composite). */
static bool copy_operation(struct qxl_parse *p, uint8_t type, void *u, const QXLRect *bbox,
                           uint32_t surface)
{
    QXLPHYSICAL v = 0;

    switch (type) {
    case QXL_DRAW_NOP:
        return true;
    case QXL_DRAW_FILL: {
        QXLFill *f = u;
        return copy_brush(p, &f->brush, "fill") && copy_mask(p, &f->mask);
    }
    case QXL_DRAW_OPAQUE: {
        QXLOpaque *o = u;
        if (!copy_src(p, o->src_bitmap, &o->src_area, &v, "opaque"))
            return false;
        o->src_bitmap = v;
        return copy_brush(p, &o->brush, "opaque") && copy_mask(p, &o->mask);
    }
    case QXL_DRAW_COPY:
    case QXL_DRAW_BLEND: {
        QXLCopy *c = u;
        if (!copy_src(p, c->src_bitmap, &c->src_area, &v, type == QXL_DRAW_COPY ? "copy" : "blend"))
            return false;
        c->src_bitmap = v;
        return copy_mask(p, &c->mask);
    }
    case QXL_COPY_BITS: {
        QXLCopyBits *cb = u;
        QXLRect src = {.left = cb->src_pos.x,
                       .top = cb->src_pos.y,
                       .right = (int32_t)((int64_t)cb->src_pos.x + bbox->right - bbox->left),
                       .bottom = (int32_t)((int64_t)cb->src_pos.y + bbox->bottom - bbox->top)};
        if ((int64_t)cb->src_pos.x + bbox->right - bbox->left > INT32_MAX ||
            (int64_t)cb->src_pos.y + bbox->bottom - bbox->top > INT32_MAX)
            return qxl_parse_fail(p, "copy bits: source position (%d,%d) too large", cb->src_pos.x,
                                  cb->src_pos.y);
        return qxl_parse_rect_in_surface(p, &src, surface, true, "copy bits source");
    }
    case QXL_DRAW_BLACKNESS:
    case QXL_DRAW_WHITENESS:
    case QXL_DRAW_INVERS:
        return copy_mask(p, &((QXLBlackness *)u)->mask);
    case QXL_DRAW_ROP3: {
        QXLRop3 *r = u;
        if (!copy_src(p, r->src_bitmap, &r->src_area, &v, "rop3"))
            return false;
        r->src_bitmap = v;
        return copy_brush(p, &r->brush, "rop3") && copy_mask(p, &r->mask);
    }
    case QXL_DRAW_STROKE:
        return copy_stroke(p, u);
    case QXL_DRAW_TEXT: {
        QXLText *t = u;
        if (!copy_string(p, t->str, &v))
            return false;
        t->str = v;
        return copy_brush(p, &t->fore_brush, "text foreground") &&
               copy_brush(p, &t->back_brush, "text background");
    }
    case QXL_DRAW_TRANSPARENT: {
        QXLTransparent *t = u;
        if (!copy_src(p, t->src_bitmap, &t->src_area, &v, "transparent"))
            return false;
        t->src_bitmap = v;
        return true;
    }
    default:
        return qxl_parse_fail(p, "drawable type %u", type);
    }
}

static bool check_self_bitmap(struct qxl_parse *p, const QXLRect *area, uint32_t surface)
{
    /* spice-server reads the area back from the surface unchecked */
    return qxl_parse_rect_in_surface(p, area, surface, false, "self bitmap area");
}

bool qxl_parse_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLDrawable *d = qxl_parse_alloc(p, sizeof(*d));

    QXLPHYSICAL v = 0, t = 0;

    if (!d || !qxl_parse_read(p, a, d, sizeof(*d), "drawable"))
        return false;
    memcpy(p->deps, d->surfaces_dest, sizeof(p->deps));
    p->have_deps = true;
    if (!valid_effect(d->effect))
        return qxl_parse_fail(p, "drawable effect %u", d->effect);
    if (!qxl_parse_surface_live(p, d->surface_id, "drawable target") ||
        !check_bbox(p, &d->bbox, d->surface_id))
        return false;
    for (int i = 0; i < 3; i++) {
        if (p->deps[i] == -1)
            continue;
        if (!qxl_parse_surface_live(p, p->deps[i], "surfaces_dest"))
            return false;
        /* spice-server renders that area of the surface first */
        if (!qxl_parse_rect_in_surface(p, &d->surfaces_rects[i], (uint32_t)p->deps[i], false,
                                       "surfaces_rects"))
            return false;
    }
    if (d->type == QXL_DRAW_COPY || d->type == QXL_DRAW_BLEND)
        d->self_bitmap = 0; /* spice-server ignores it for these */
    if (d->self_bitmap && !check_self_bitmap(p, &d->self_bitmap_area, d->surface_id))
        return false;
    if (d->type == QXL_DRAW_ALPHA_BLEND) {
        if (!copy_src(p, d->u.alpha_blend.src_bitmap, &d->u.alpha_blend.src_area, &v,
                      "alpha blend"))
            return false;
        d->u.alpha_blend.src_bitmap = v;
    } else if (d->type == QXL_DRAW_COMPOSITE) {
        QXLComposite *c = &d->u.composite;
        if (!c->src)
            return qxl_parse_fail(p, "composite without a source image");
        if (!copy_image(p, c->src, false, &v, "composite source") ||
            !copy_transform(p, c->src_transform, &t))
            return false;
        c->src = v;
        c->src_transform = t;
        if (c->mask) {
            if (!copy_image(p, c->mask, false, &v, "composite mask") ||
                !copy_transform(p, c->mask_transform, &t))
                return false;
            c->mask = v;
            c->mask_transform = t;
        }
    } else if (!copy_operation(p, d->type, &d->u, &d->bbox, d->surface_id)) {
        return false;
    }
    if (!copy_clip(p, &d->clip))
        return false;
    *out = d;
    return true;
}

bool qxl_parse_compat_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLCompatDrawable *d = qxl_parse_alloc(p, sizeof(*d));

    QXLPHYSICAL v = 0;

    if (!d || !qxl_parse_read(p, a, d, sizeof(*d), "drawable"))
        return false;
    p->have_deps = false;
    if (!valid_effect(d->effect))
        return qxl_parse_fail(p, "drawable effect %u", d->effect);
    if (!qxl_parse_surface_live(p, 0, "drawable target") || !check_bbox(p, &d->bbox, 0))
        return false;
    if (d->type == QXL_DRAW_COPY || d->type == QXL_DRAW_BLEND)
        d->bitmap_offset = 0;
    if (d->bitmap_offset && !check_self_bitmap(p, &d->bitmap_area, 0))
        return false;
    if (d->type == QXL_DRAW_ALPHA_BLEND) {
        if (!copy_src(p, d->u.alpha_blend.src_bitmap, &d->u.alpha_blend.src_area, &v,
                      "alpha blend"))
            return false;
        d->u.alpha_blend.src_bitmap = v;
    } else if (!copy_operation(p, d->type, &d->u, &d->bbox, 0)) {
        return false;
    }
    if (!copy_clip(p, &d->clip))
        return false;
    *out = d;
    return true;
}
