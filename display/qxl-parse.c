/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL command validation and private copies (qxl-parse.h).  Every guest
 * structure is read exactly once into xendm's memory and checked there;
 * the copy spice-server gets is built from those checked values, so a
 * guest changing its memory afterwards changes nothing but pixels.
 * Layouts and limits are the guest ABI of spice-protocol's qxl_dev.h and
 * what spice-server 0.15's red-parse-qxl accepts (read for facts).
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display/qxl-parse.h"

#define ADDR_OFFSET_BITS 48
#define ADDR_OFFSET_MASK ((1ull << ADDR_OFFSET_BITS) - 1)
/* spice-server refuses data fields above 2 GiB - 1. */
#define MAX_DATA_FIELD 0x7fffffffull
/* How far a QXLMessage's text may run (spice-server's limit). */
#define MAX_MESSAGE 100000u

struct qxl_block {
    struct qxl_block *next;
    _Alignas(16) unsigned char data[];
};

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

void qxl_surfaces_reset(struct qxl_surfaces *sf)
{
    memset(sf, 0, sizeof(*sf));
    sf->pinned = -1;
}

void *qxl_copy_alloc(struct qxl_copy *c, size_t n)
{
    struct qxl_block *b = g_try_malloc0(sizeof(*b) + n);

    if (!b)
        return NULL;
    b->next = c->blocks;
    c->blocks = b;
    c->bytes += n;
    return b->data;
}

void qxl_copy_free(struct qxl_copy *c)
{
    if (!c)
        return;
    while (c->blocks) {
        struct qxl_block *b = c->blocks;
        c->blocks = b->next;
        g_free(b);
    }
    g_free(c);
}

const uint8_t *qxl_translate(const struct qxl_memslots *m, QXLPHYSICAL addr, uint64_t len,
                             char *err, size_t errlen)
{
    unsigned id = (unsigned)(addr >> (64 - QXL_SLOT_ID_BITS));
    unsigned gen = (unsigned)(addr >> ADDR_OFFSET_BITS) & ((1u << QXL_SLOT_GEN_BITS) - 1);
    uint64_t off = addr & ADDR_OFFSET_MASK;
    const struct qxl_memslot *s;

    if (id >= QXL_NUM_MEMSLOTS || !m->slot[id].active) {
        snprintf(err, errlen, "address %#llx: memory slot %u is not active",
                 (unsigned long long)addr, id);
        return NULL;
    }
    s = &m->slot[id];
    if (gen != m->generation) {
        snprintf(err, errlen, "address %#llx: generation %u, the slots are at %u",
                 (unsigned long long)addr, gen, m->generation);
        return NULL;
    }
    if (off < s->delta || off - s->delta > s->size || len > s->size - (off - s->delta)) {
        snprintf(err, errlen, "%llu bytes at %#llx run outside memory slot %u",
                 (unsigned long long)len, (unsigned long long)addr, id);
        return NULL;
    }
    return s->host + (off - s->delta);
}

/* ------------------------------------------------------------------------
 * Helpers
 */

static bool fail(struct qxl_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct qxl_parse *p, const char *fmt, ...)
{
    va_list ap;

    if (p->err[0])
        return false; /* keep the innermost reason */
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    return false;
}

/* The command is well formed but spice-server would drop it: so do we. */
static bool drop(struct qxl_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool drop(struct qxl_parse *p, const char *fmt, ...)
{
    va_list ap;

    if (p->err[0])
        return false;
    p->dropped = true;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    return false;
}

/* Zeroed memory owned by the copy; counts towards QXL_MAX_COMMAND_COPY. */
static void *alloc(struct qxl_parse *p, size_t n)
{
    size_t budget =
        p->budget && p->budget < QXL_MAX_COMMAND_COPY ? p->budget : QXL_MAX_COMMAND_COPY;
    void *m;

    if (p->copy->bytes > budget || n > budget - p->copy->bytes) {
        fail(p, "the command needs more than the %zu MiB of copies left to it", budget >> 20);
        return NULL;
    }
    m = qxl_copy_alloc(p->copy, n);
    if (!m) {
        p->nomem = true;
        fail(p, "out of memory copying the command");
    }
    return m;
}

/* A host pointer as spice-server's host slot group reads it (slot 0,
 * generation 0: the pointer itself). */
static bool host_addr(struct qxl_parse *p, const void *ptr, QXLPHYSICAL *out)
{
    uintptr_t v = (uintptr_t)ptr;

    if ((uint64_t)v >> ADDR_OFFSET_BITS)
        return fail(p, "host address %p does not fit the host memory slot", ptr);
    *out = v;
    return true;
}

static const uint8_t *ref(struct qxl_parse *p, QXLPHYSICAL a, uint64_t len, const char *what)
{
    char e[120];
    const uint8_t *src = qxl_translate(p->slots, a, len, e, sizeof(e));

    if (!src)
        fail(p, "%s: %s", what, e);
    return src;
}

/* Read a guest structure once. */
static bool rd(struct qxl_parse *p, QXLPHYSICAL a, void *dst, size_t len, const char *what)
{
    const uint8_t *src = ref(p, a, len, what);

    if (!src)
        return false;
    memcpy(dst, src, len);
    return true;
}

struct span {
    const uint8_t *ptr;
    uint32_t len;
};

/*
 * The data of the QXLDataChunk chain whose first header is at guest address
 * `first`: header and data of each chunk inside one slot, at most
 * QXL_MAX_CHUNKS chunks (which also ends loops) and MAX_DATA_FIELD bytes.
 * With allow_ref and at most one non-empty chunk, *data points at the data
 * in guest memory; otherwise the data is copied into a new zeroed block of
 * `extra` + total bytes, starting at offset `extra`, and *block is that
 * block.  *total is the data size.
 */
static bool read_chunks(struct qxl_parse *p, QXLPHYSICAL first, size_t extra, bool allow_ref,
                        const uint8_t **data, uint8_t **block, uint64_t *total, const char *what)
{
    GArray *spans = g_array_new(FALSE, FALSE, sizeof(struct span));
    QXLPHYSICAL a = first;
    uint64_t sum = 0;
    bool ok = false;

    *data = NULL;
    *block = NULL;
    for (unsigned n = 0;; n++) {
        QXLDataChunk h;
        const uint8_t *hp;

        if (n >= QXL_MAX_CHUNKS) {
            fail(p, "%s: more than %u chunks (a loop?)", what, QXL_MAX_CHUNKS);
            goto out;
        }
        if (!rd(p, a, &h, sizeof(h), what))
            goto out;
        hp = ref(p, a, sizeof(h) + (uint64_t)h.data_size, what);
        if (!hp)
            goto out;
        sum += h.data_size;
        if (sum > MAX_DATA_FIELD) {
            fail(p, "%s: more than 2 GiB of data", what);
            goto out;
        }
        if (h.data_size) {
            struct span sp = {hp + sizeof(h), h.data_size};
            g_array_append_val(spans, sp);
        }
        if (!h.next_chunk)
            break;
        a = h.next_chunk;
    }
    *total = sum;
    if (allow_ref && spans->len <= 1) {
        if (spans->len)
            *data = g_array_index(spans, struct span, 0).ptr;
        ok = true;
        goto out;
    }
    *block = alloc(p, extra + sum);
    if (!*block)
        goto out;
    uint8_t *d = *block + extra;
    for (unsigned i = 0; i < spans->len; i++) {
        const struct span *sp = &g_array_index(spans, struct span, i);
        memcpy(d, sp->ptr, sp->len);
        d += sp->len;
    }
    *data = *block + extra;
    ok = true;
out:
    g_array_free(spans, TRUE);
    return ok;
}

/* A surface a command draws on or depends on: out of range is malformed,
 * missing is dropped (spice-server checks these and drops the command). */
static bool surface_live(struct qxl_parse *p, int64_t id, const char *what)
{
    if (id < 0 || id >= QXL_NUM_SURFACES)
        return fail(p, "%s: surface id %lld out of range", what, (long long)id);
    if (!p->surfaces->s[id].live)
        return drop(p, "%s: surface %lld does not exist", what, (long long)id);
    return true;
}

static bool rect_in_surface(struct qxl_parse *p, const QXLRect *r, uint32_t surface,
                            bool allow_empty, const char *what)
{
    const struct qxl_surface_state *s = &p->surfaces->s[surface];

    if (r->left < 0 || r->top < 0 || r->left > r->right || r->top > r->bottom ||
        (!allow_empty && (r->left == r->right || r->top == r->bottom)) ||
        (uint32_t)r->right > s->width || (uint32_t)r->bottom > s->height)
        return fail(p, "%s: rectangle (%d,%d)-(%d,%d) is not inside the %ux%u surface %u", what,
                    r->left, r->top, r->right, r->bottom, s->width, s->height, surface);
    return true;
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

    if (!rd(p, a, &img, sizeof(img), what))
        return false;
    switch (img.descriptor.type) {
    case SPICE_IMAGE_TYPE_BITMAP: {
        QXLBitmap *b;
        uint8_t fmt = img.bitmap.format;
        unsigned bpp = fmt < SPICE_BITMAP_FMT_ENUM_END ? bitmap_bpp[fmt] : 0;
        uint64_t size;

        if (!bpp)
            return fail(p, "%s: bitmap format %u", what, fmt);
        if (is_mask && fmt != SPICE_BITMAP_FMT_1BIT_LE && fmt != SPICE_BITMAP_FMT_1BIT_BE)
            return fail(p, "%s: a mask must be a 1-bit bitmap, not format %u", what, fmt);
        if (!img.bitmap.x || !img.bitmap.y)
            return fail(p, "%s: bitmap of %ux%u pixels", what, img.bitmap.x, img.bitmap.y);
        if (((uint64_t)img.bitmap.x * bpp + 7) / 8 > img.bitmap.stride)
            return fail(p, "%s: stride %u too small for %u pixels at %u bpp", what,
                        img.bitmap.stride, img.bitmap.x, bpp);
        size = (uint64_t)img.bitmap.y * img.bitmap.stride;
        if (size > MAX_DATA_FIELD)
            return fail(p, "%s: bitmap larger than 2 GiB", what);
        if (bitmap_has_palette(fmt) && !img.bitmap.palette && !is_mask)
            return fail(p, "%s: %u-bit bitmap without a palette", what, bpp);
        h = alloc(p, sizeof(*h));
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

            if (!rd(p, img.bitmap.palette, &pal, sizeof(pal), what))
                return false;
            ents = ref(p, img.bitmap.palette + sizeof(pal), (uint64_t)pal.num_ents * 4, what);
            if (!ents)
                return false;
            n = pal.num_ents > need ? pal.num_ents : need;
            hp = alloc(p, sizeof(*hp) + (size_t)n * 4);
            if (!hp)
                return false;
            hp->unique = pal.unique;
            hp->num_ents = (uint16_t)n;
            memcpy(hp->ents, ents, (size_t)pal.num_ents * 4);
            if (!host_addr(p, hp, &v))
                return false;
            b->palette = v;
        }
        if (img.bitmap.flags & QXL_BITMAP_DIRECT) {
            const uint8_t *d = ref(p, img.bitmap.data, size, what);
            if (!d || !host_addr(p, d, &v))
                return false;
            b->data = v;
        } else {
            const uint8_t *d;
            uint8_t *blk;
            uint64_t total;

            if (!read_chunks(p, img.bitmap.data, 0, true, &d, &blk, &total, what))
                return false;
            if (total != size)
                return fail(p, "%s: %llu bytes of bitmap data for %ux%u, stride %u", what,
                            (unsigned long long)total, img.bitmap.x, img.bitmap.y,
                            img.bitmap.stride);
            if (!host_addr(p, d, &v))
                return false;
            b->data = v;
        }
        b->flags |= QXL_BITMAP_DIRECT; /* one flat run now */
        break;
    }
    case SPICE_IMAGE_TYPE_QUIC: {
        const size_t hdr = offsetof(QXLImage, quic.data) + sizeof(QXLDataChunk);
        const uint8_t *d;
        uint8_t *blk;
        uint64_t total;
        QXLDataChunk *c;

        if (is_mask)
            return fail(p, "%s: a mask must be a 1-bit bitmap, not QUIC", what);
        if (!read_chunks(p, a + offsetof(QXLImage, quic.data), hdr, false, &d, &blk, &total, what))
            return false;
        if (total != img.quic.data_size)
            return fail(p, "%s: QUIC image declares %u bytes, its chunks hold %llu", what,
                        img.quic.data_size, (unsigned long long)total);
        /* spice-server reads a whole QXLImage even for QUIC */
        if (hdr + total < sizeof(QXLImage)) {
            uint8_t *big = alloc(p, sizeof(QXLImage));
            if (!big)
                return false;
            memcpy(big + hdr, blk + hdr, total);
            blk = big;
        }
        h = (QXLImage *)blk;
        h->descriptor = img.descriptor;
        h->quic.data_size = (uint32_t)total;
        c = (QXLDataChunk *)(blk + offsetof(QXLImage, quic.data));
        c->data_size = (uint32_t)total;
        c->prev_chunk = c->next_chunk = 0;
        break;
    }
    case SPICE_IMAGE_TYPE_SURFACE: {
        uint32_t id = img.surface_image.surface_id;
        bool listed = false;

        if (is_mask)
            return fail(p, "%s: a mask must be a 1-bit bitmap, not a surface", what);
        if (!p->have_deps)
            return fail(p, "%s: surface images need a native drawable", what);
        if (id >= QXL_NUM_SURFACES)
            return fail(p, "%s: surface id %u out of range", what, id);
        /* spice-server renders it lazily and aborts if it is gone by
         * then: only surfaces_dest keeps it alive */
        for (int i = 0; i < 3; i++)
            listed |= p->deps[i] == (int32_t)id;
        if (!listed)
            return fail(p, "%s: reads surface %u without listing it in surfaces_dest", what, id);
        if (!surface_live(p, id, what))
            return false;
        h = alloc(p, sizeof(*h));
        if (!h)
            return false;
        h->descriptor = img.descriptor;
        h->surface_image.surface_id = id;
        break;
    }
    default:
        return fail(p, "%s: image type %u", what, img.descriptor.type);
    }
    return host_addr(p, h, out);
}

/* An image a drawable reads, and the area it reads from it. */
static bool copy_src(struct qxl_parse *p, QXLPHYSICAL in, const QXLRect *area, QXLPHYSICAL *out,
                     const char *what)
{
    const QXLImage *h;
    uint32_t w, hgt;

    if (!in)
        return fail(p, "%s: no source image", what);
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
        return fail(p, "%s: source area (%d,%d)-(%d,%d) outside the %ux%u image", what, area->left,
                    area->top, area->right, area->bottom, w, hgt);
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
            return fail(p, "%s: pattern brush without an image", what);
        if (!copy_image(p, b->u.pattern.pat, false, &v, what))
            return false;
        b->u.pattern.pat = v;
        return true;
    }
    default:
        return fail(p, "%s: brush type %u", what, b->type);
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
        if (!rd(p, c->data, &cr, sizeof(cr), "clip rectangles") ||
            !read_chunks(p, c->data + offsetof(QXLClipRects, chunk), sizeof(QXLClipRects), false,
                         &d, &blk, &total, "clip rectangles"))
            return false;
        if ((uint64_t)cr.num_rects * sizeof(QXLRect) != total)
            return fail(p, "clip: %u rectangles in %llu bytes", cr.num_rects,
                        (unsigned long long)total);
        for (uint32_t i = 0; i < cr.num_rects; i++) {
            QXLRect r;
            memcpy(&r, d + (size_t)i * sizeof(r), sizeof(r));
            if (r.left > r.right || r.top > r.bottom)
                return fail(p, "clip rectangle %u is (%d,%d)-(%d,%d)", i, r.left, r.top, r.right,
                            r.bottom);
        }
        h = (QXLClipRects *)blk;
        h->num_rects = cr.num_rects;
        h->chunk.data_size = (uint32_t)total;
        if (!host_addr(p, h, &v))
            return false;
        c->data = v;
        return true;
    default:
        return fail(p, "clip type %u", c->type);
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
        return fail(p, "stroke without a path");
    if (!read_chunks(p, in + offsetof(QXLPath, chunk), sizeof(QXLPath), false, &d, &blk, &total,
                     "path"))
        return false;
    /* segment headers and points must tile the data the way spice-server
     * walks it (it asserts) */
    end = d + total;
    while ((size_t)(end - d) > sizeof(QXLPathSeg)) {
        QXLPathSeg seg;
        memcpy(&seg, d, sizeof(seg));
        if ((uint64_t)seg.count * sizeof(QXLPointFix) > (uint64_t)(end - d) - sizeof(seg))
            return fail(p, "path: segment of %u points runs past the path's %llu bytes", seg.count,
                        (unsigned long long)total);
        d += sizeof(seg) + (size_t)seg.count * sizeof(QXLPointFix);
    }
    h = (QXLPath *)blk;
    h->data_size = (uint32_t)total;
    h->chunk.data_size = (uint32_t)total;
    return host_addr(p, h, out);
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
            return fail(p, "styled stroke without a style");
        src = ref(p, s->attr.style, n, "line style");
        if (!src)
            return false;
        h = alloc(p, n ? n : 1);
        if (!h)
            return false;
        memcpy(h, src, n);
        if (!host_addr(p, h, &v))
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
        return fail(p, "text without a string");
    if (!rd(p, in, &q, sizeof(q), "string") ||
        !read_chunks(p, in + offsetof(QXLString, chunk), sizeof(QXLString), false, &d, &blk, &total,
                     "string"))
        return false;
    if (total != q.data_size)
        return fail(p, "string declares %u bytes, its chunks hold %llu", q.data_size,
                    (unsigned long long)total);
    if (q.flags & SPICE_STRING_FLAGS_RASTER_A1)
        bpp = 1;
    else if (q.flags & SPICE_STRING_FLAGS_RASTER_A4)
        bpp = 4;
    else if (q.flags & SPICE_STRING_FLAGS_RASTER_A8)
        bpp = 8;
    else
        return fail(p, "string flags %#x name no glyph format", q.flags);
    end = d + total;
    while (d < end) {
        QXLRasterGlyph g;
        uint64_t size;

        if ((size_t)(end - d) < sizeof(g))
            return fail(p, "string: glyph %u header runs past the data", glyphs);
        memcpy(&g, d, sizeof(g));
        size = (uint64_t)g.height * (((uint64_t)g.width * bpp + 7) / 8);
        if (size > (uint64_t)(end - d) - sizeof(g))
            return fail(p, "string: glyph %u (%ux%u) runs past the data", glyphs, g.width,
                        g.height);
        d += sizeof(g) + size;
        glyphs++;
    }
    if (glyphs != q.length)
        return fail(p, "string declares %u glyphs and holds %u", q.length, glyphs);
    h = (QXLString *)blk;
    h->data_size = (uint32_t)total;
    h->length = q.length;
    h->flags = q.flags;
    h->chunk.data_size = (uint32_t)total;
    return host_addr(p, h, out);
}

static bool copy_transform(struct qxl_parse *p, QXLPHYSICAL in, QXLPHYSICAL *out)
{
    QXLTransform *h;

    *out = 0;
    if (!in)
        return true;
    h = alloc(p, sizeof(*h));
    return h && rd(p, in, h, sizeof(*h), "transform") && host_addr(p, h, out);
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
        return fail(p, "bounding box (%d,%d)-(%d,%d)", b->left, b->top, b->right, b->bottom);
    if (b->left < 0 || b->top < 0 || (uint32_t)b->right > s->width ||
        (uint32_t)b->bottom > s->height)
        return drop(p, "bounding box (%d,%d)-(%d,%d) outside the %ux%u surface %u", b->left, b->top,
                    b->right, b->bottom, s->width, s->height, surface);
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
            return fail(p, "copy bits: source position (%d,%d) too large", cb->src_pos.x,
                        cb->src_pos.y);
        return rect_in_surface(p, &src, surface, true, "copy bits source");
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
        return fail(p, "drawable type %u", type);
    }
}

static bool check_self_bitmap(struct qxl_parse *p, const QXLRect *area, uint32_t surface)
{
    /* spice-server reads the area back from the surface unchecked */
    return rect_in_surface(p, area, surface, false, "self bitmap area");
}

static bool parse_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLDrawable *d = alloc(p, sizeof(*d));

    QXLPHYSICAL v = 0, t = 0;

    if (!d || !rd(p, a, d, sizeof(*d), "drawable"))
        return false;
    memcpy(p->deps, d->surfaces_dest, sizeof(p->deps));
    p->have_deps = true;
    if (!valid_effect(d->effect))
        return fail(p, "drawable effect %u", d->effect);
    if (!surface_live(p, d->surface_id, "drawable target") ||
        !check_bbox(p, &d->bbox, d->surface_id))
        return false;
    for (int i = 0; i < 3; i++) {
        if (p->deps[i] == -1)
            continue;
        if (!surface_live(p, p->deps[i], "surfaces_dest"))
            return false;
        /* spice-server renders that area of the surface first */
        if (!rect_in_surface(p, &d->surfaces_rects[i], (uint32_t)p->deps[i], false,
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
            return fail(p, "composite without a source image");
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

static bool parse_compat_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLCompatDrawable *d = alloc(p, sizeof(*d));

    QXLPHYSICAL v = 0;

    if (!d || !rd(p, a, d, sizeof(*d), "drawable"))
        return false;
    p->have_deps = false;
    if (!valid_effect(d->effect))
        return fail(p, "drawable effect %u", d->effect);
    if (!surface_live(p, 0, "drawable target") || !check_bbox(p, &d->bbox, 0))
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

/* ------------------------------------------------------------------------
 * The other commands
 */

static bool parse_update(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLUpdateCmd *u = alloc(p, sizeof(*u));

    if (!u || !rd(p, a, u, sizeof(*u), "update"))
        return false;
    if (!surface_live(p, u->surface_id, "update") ||
        !rect_in_surface(p, &u->area, u->surface_id, false, "update"))
        return false;
    *out = u;
    return true;
}

static bool parse_message(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    char e[120];
    const uint8_t *src = ref(p, a, sizeof(QXLMessage), "message");
    uint64_t avail = 0, lo = 0, hi;
    const uint8_t *end;
    QXLMessage *m;

    if (!src)
        return false;
    /* how far the slot goes: the largest length that still translates */
    hi = MAX_MESSAGE + 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (qxl_translate(p->slots, a, sizeof(QXLMessage) + mid, e, sizeof(e)))
            lo = mid;
        else
            hi = mid - 1;
    }
    avail = lo;
    end = memchr(src + sizeof(QXLMessage), 0, avail);
    if (!end)
        return fail(p, "message: no terminating NUL");
    m = alloc(p, (size_t)(end - src) + 1);
    if (!m)
        return false;
    memcpy(m, src, (size_t)(end - src));
    *out = m;
    return true;
}

static unsigned surface_bpp(uint32_t format)
{
    switch (format) {
    case SPICE_SURFACE_FMT_1_A:
        return 1;
    case SPICE_SURFACE_FMT_8_A:
        return 8;
    case SPICE_SURFACE_FMT_16_555:
    case SPICE_SURFACE_FMT_16_565:
        return 16;
    case SPICE_SURFACE_FMT_32_xRGB:
    case SPICE_SURFACE_FMT_32_ARGB:
        return 32;
    default:
        return 0;
    }
}

/* Sizes, format and stride of a surface (spice-server's rules, plus
 * QEMU's stride alignment). */
static bool surface_geometry_ok(uint32_t w, uint32_t h, int32_t stride, uint32_t format, char *err,
                                size_t errlen)
{
    unsigned bpp = surface_bpp(format);
    uint64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;

    if (!bpp) {
        snprintf(err, errlen, "surface format %u", format);
        return false;
    }
    if (!w || !h) {
        snprintf(err, errlen, "surface of %ux%u pixels", w, h);
        return false;
    }
    if (stride == INT32_MIN || ((uint64_t)w * bpp + 7) / 8 > abs_stride || (abs_stride & 3)) {
        snprintf(err, errlen, "surface stride %d for %u pixels at %u bpp", stride, w, bpp);
        return false;
    }
    if (abs_stride * h > MAX_DATA_FIELD) {
        snprintf(err, errlen, "surface of %u lines of %llu bytes is larger than 2 GiB", h,
                 (unsigned long long)abs_stride);
        return false;
    }
    return true;
}

static bool parse_surface(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLSurfaceCmd *s = alloc(p, sizeof(*s));
    struct qxl_surface_state *st;
    QXLPHYSICAL v = 0;
    char e[160];

    if (!s || !rd(p, a, s, sizeof(*s), "surface command"))
        return false;
    if (s->surface_id == 0 || s->surface_id >= QXL_NUM_SURFACES)
        return fail(p, "surface command for surface %u (1 to %u)", s->surface_id,
                    QXL_NUM_SURFACES - 1);
    st = &p->surfaces->s[s->surface_id];
    switch (s->type) {
    case QXL_SURFACE_CMD_CREATE: {
        QXLSurface *c = &s->u.surface_create;
        uint64_t size;
        const uint8_t *mem;

        if (st->live)
            return drop(p, "surface %u created twice", s->surface_id);
        if (!surface_geometry_ok(c->width, c->height, c->stride, c->format, e, sizeof(e)))
            return fail(p, "surface %u: %s", s->surface_id, e);
        size = (uint64_t)c->height * (uint64_t)(c->stride < 0 ? -(int64_t)c->stride : c->stride);
        mem = ref(p, c->data, size, "surface memory");
        if (!mem || !host_addr(p, mem, &v))
            return false;
        c->data = v;
        *st = (struct qxl_surface_state){.live = true,
                                         .width = c->width,
                                         .height = c->height,
                                         .format = c->format,
                                         .stride = c->stride};
        break;
    }
    case QXL_SURFACE_CMD_DESTROY:
        if (!st->live)
            return drop(p, "surface %u destroyed but does not exist", s->surface_id);
        if (p->surfaces->pinned == (int32_t)s->surface_id)
            return fail(p, "surface %u destroyed during an update of its area", s->surface_id);
        st->live = false;
        break;
    default:
        return fail(p, "surface command type %u", s->type);
    }
    *out = s;
    return true;
}

static bool parse_cursor(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLCursorCmd *c = alloc(p, sizeof(*c));

    if (!c || !rd(p, a, c, sizeof(*c), "cursor command"))
        return false;
    switch (c->type) {
    case QXL_CURSOR_SET: {
        QXLCursor q, *h;
        QXLPHYSICAL v = 0;
        const uint8_t *d;
        uint8_t *blk;
        uint64_t total;

        if (!c->u.set.shape)
            return fail(p, "cursor set without a shape");
        if (!rd(p, c->u.set.shape, &q, sizeof(q), "cursor shape"))
            return false;
        if (q.header.type >= SPICE_CURSOR_TYPE_ENUM_END)
            return fail(p, "cursor type %u", q.header.type);
        if (q.header.width > QXL_MAX_CURSOR_DIM || q.header.height > QXL_MAX_CURSOR_DIM)
            return fail(p, "cursor of %ux%u pixels", q.header.width, q.header.height);
        if (!read_chunks(p, c->u.set.shape + offsetof(QXLCursor, chunk), sizeof(QXLCursor), false,
                         &d, &blk, &total, "cursor shape"))
            return false;
        h = (QXLCursor *)blk;
        h->header = q.header;
        h->data_size = q.data_size < total ? q.data_size : (uint32_t)total;
        h->chunk.data_size = (uint32_t)total;
        if (!host_addr(p, h, &v))
            return false;
        c->u.set.shape = v;
        break;
    }
    case QXL_CURSOR_MOVE:
    case QXL_CURSOR_HIDE:
    case QXL_CURSOR_TRAIL:
        break;
    default:
        return fail(p, "cursor command type %u", c->type);
    }
    *out = c;
    return true;
}

int qxl_parse_command(struct qxl_parse *p, const QXLCommand *cmd, bool cursor_ring,
                      struct qxl_copy **out, QXLReleaseInfo **release_info)
{
    struct qxl_copy *c = g_try_new0(struct qxl_copy, 1);
    const uint8_t *guest;
    void *host = NULL;
    bool ok;

    *out = NULL;
    *release_info = NULL;
    p->err[0] = 0;
    p->nomem = p->dropped = false;
    p->have_deps = false;
    if (!c) {
        snprintf(p->err, sizeof(p->err), "out of memory");
        return -ENOMEM;
    }
    p->copy = c;
    c->type = cmd->type;
    /* every command starts with its release info */
    guest = ref(p, cmd->data, sizeof(QXLReleaseInfo), "command");
    if (!guest) {
        ok = false;
    } else if (cursor_ring) {
        ok = cmd->type == QXL_CMD_CURSOR ? parse_cursor(p, cmd->data, &host)
                                         : fail(p, "command type %u on the cursor ring", cmd->type);
    } else {
        switch (cmd->type) {
        case QXL_CMD_DRAW:
            ok = (p->flags & QXL_COMMAND_FLAG_COMPAT) ? parse_compat_drawable(p, cmd->data, &host)
                                                      : parse_drawable(p, cmd->data, &host);
            break;
        case QXL_CMD_UPDATE:
            ok = parse_update(p, cmd->data, &host);
            break;
        case QXL_CMD_MESSAGE:
            ok = parse_message(p, cmd->data, &host);
            break;
        case QXL_CMD_SURFACE:
            ok = parse_surface(p, cmd->data, &host);
            break;
        default:
            ok = fail(p, "command type %u on the command ring", cmd->type);
            break;
        }
    }
    p->copy = NULL;
    p->have_deps = false;
    if (!ok) {
        qxl_copy_free(c);
        if (p->dropped && guest)
            *release_info = (QXLReleaseInfo *)(uintptr_t)guest;
        return p->nomem ? -ENOMEM : p->dropped ? -ENOENT : -EINVAL;
    }
    c->cmd = host;
    c->guest_release = (QXLReleaseInfo *)(uintptr_t)guest;
    ((QXLReleaseInfo *)host)->id = (uint64_t)(uintptr_t)c;
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------------
 * I/O port requests
 */

int qxl_check_primary(const struct qxl_memslots *m, const QXLSurfaceCreate *sc, uint64_t max_bytes,
                      uint8_t **mem, char *err, size_t errlen)
{
    char e[120];
    uint64_t size;
    const uint8_t *p;

    switch (sc->format) {
    case SPICE_SURFACE_FMT_16_555:
    case SPICE_SURFACE_FMT_16_565:
    case SPICE_SURFACE_FMT_32_xRGB:
    case SPICE_SURFACE_FMT_32_ARGB:
        break;
    default:
        snprintf(err, errlen, "primary surface format %u", sc->format);
        return -EINVAL;
    }
    if (!surface_geometry_ok(sc->width, sc->height, sc->stride, sc->format, e, sizeof(e))) {
        snprintf(err, errlen, "primary %s", e);
        return -EINVAL;
    }
    size = (uint64_t)sc->height * (uint64_t)(sc->stride < 0 ? -(int64_t)sc->stride : sc->stride);
    if (size > max_bytes) {
        snprintf(err, errlen,
                 "primary surface of %llu bytes is larger than the %llu-byte framebuffer",
                 (unsigned long long)size, (unsigned long long)max_bytes);
        return -EINVAL;
    }
    p = qxl_translate(m, sc->mem, size, e, sizeof(e));
    if (!p) {
        snprintf(err, errlen, "primary surface memory: %s", e);
        return -EINVAL;
    }
    *mem = (uint8_t *)p;
    return 0;
}

int qxl_check_update_area(const struct qxl_surfaces *sf, uint32_t surface_id, const QXLRect *r,
                          char *err, size_t errlen)
{
    const struct qxl_surface_state *s;

    if (surface_id >= QXL_NUM_SURFACES) {
        snprintf(err, errlen, "update area of surface %u", surface_id);
        return -EINVAL;
    }
    if (r->left < 0 || r->top < 0 || r->left > r->right || r->top > r->bottom) {
        snprintf(err, errlen, "update area (%d,%d)-(%d,%d)", r->left, r->top, r->right, r->bottom);
        return -EINVAL;
    }
    if (r->left == r->right || r->top == r->bottom)
        return 1;
    s = &sf->s[surface_id];
    if (!s->live) {
        snprintf(err, errlen, "update area of surface %u, which does not exist", surface_id);
        return -ENOENT;
    }
    if ((uint32_t)r->right > s->width || (uint32_t)r->bottom > s->height) {
        snprintf(err, errlen, "update area (%d,%d)-(%d,%d) outside the %ux%u surface %u", r->left,
                 r->top, r->right, r->bottom, s->width, s->height, surface_id);
        return -EINVAL;
    }
    return 0;
}

QXLMonitorsConfig *qxl_copy_monitors_config(const struct qxl_memslots *m, QXLPHYSICAL addr,
                                            unsigned max_heads, char *err, size_t errlen)
{
    char e[120];
    QXLMonitorsConfig hdr, *c;
    const uint8_t *p = qxl_translate(m, addr, sizeof(hdr), e, sizeof(e));

    if (!p) {
        snprintf(err, errlen, "monitors config: %s", e);
        return NULL;
    }
    memcpy(&hdr, p, sizeof(hdr));
    if (!hdr.count || hdr.count > max_heads) {
        snprintf(err, errlen, "monitors config with %u heads (1 to %u)", hdr.count, max_heads);
        return NULL;
    }
    p = qxl_translate(m, addr, sizeof(hdr) + (uint64_t)hdr.count * sizeof(QXLHead), e, sizeof(e));
    if (!p) {
        snprintf(err, errlen, "monitors config: %s", e);
        return NULL;
    }
    c = g_malloc(sizeof(hdr) + (size_t)hdr.count * sizeof(QXLHead));
    memcpy(c->heads, p + sizeof(hdr), (size_t)hdr.count * sizeof(QXLHead));
    c->count = hdr.count;
    c->max_allowed = hdr.max_allowed;
    return c;
}
