/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of display/qxl-parse.c, the QXL command checks, without
 * spice-server: a "guest" builds commands in a buffer that one memory slot
 * maps, and each test asserts what a guest would observe through the
 * device — accepted (and what the private copy spice-server would get
 * holds), refused as malformed (the device's error state, with the reason
 * that would be logged), or dropped (given back, as spice-server would).
 * The copies must not change when the guest rewrites its memory afterwards.
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "display/qxl-parse.h"

#define MEM_SIZE (1u << 20)
#define SLOT     1u

static uint8_t *mem;
static uint64_t next_off;
static struct qxl_memslots slots;
static struct qxl_surfaces surfaces;

static void setup(void)
{
    if (!mem)
        mem = g_malloc0(MEM_SIZE);
    memset(mem, 0, MEM_SIZE);
    next_off = 64;
    memset(&slots, 0, sizeof(slots));
    slots.slot[SLOT] = (struct qxl_memslot){.active = true, .host = mem, .size = MEM_SIZE};
    qxl_surfaces_reset(&surfaces);
    surfaces.s[0] = (struct qxl_surface_state){.live = true,
                                               .width = 640,
                                               .height = 480,
                                               .format = SPICE_SURFACE_FMT_32_xRGB,
                                               .stride = 2560};
}

static uint64_t alloc(size_t len)
{
    uint64_t off = (next_off + 7) & ~7ull;
    g_assert_cmpuint(off + len, <=, MEM_SIZE);
    next_off = off + len;
    return off;
}

static QXLPHYSICAL A(uint64_t off)
{
    return (uint64_t)SLOT << 56 | off;
}

static void *P(uint64_t off)
{
    return mem + off;
}

static uint64_t drawable(uint8_t type)
{
    uint64_t off = alloc(sizeof(QXLDrawable));
    QXLDrawable *d = P(off);
    d->release_info.id = 0x1234;
    d->type = type;
    d->effect = QXL_EFFECT_OPAQUE;
    d->bbox = (QXLRect){.top = 0, .left = 0, .bottom = 16, .right = 16};
    d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
    return off;
}

static uint64_t fill(uint32_t rgb)
{
    uint64_t off = drawable(QXL_DRAW_FILL);
    QXLDrawable *d = P(off);
    d->u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d->u.fill.brush.u.color = rgb;
    return off;
}

/* A 32-bit w x h bitmap of pixel value v + index, in `chunks` chunks. */
static uint64_t bitmap(unsigned w, unsigned h, unsigned chunks, uint32_t v)
{
    uint64_t ioff = alloc(sizeof(QXLImage)), prev = 0;
    QXLImage *img = P(ioff);
    size_t total = (size_t)w * h * 4, done = 0;
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->descriptor.width = w;
    img->descriptor.height = h;
    img->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    img->bitmap.x = w;
    img->bitmap.y = h;
    img->bitmap.stride = w * 4;
    for (unsigned c = 0; c < chunks; c++) {
        size_t len = c + 1 == chunks ? total - done : total / chunks / 4 * 4;
        uint64_t coff = alloc(sizeof(QXLDataChunk) + len);
        QXLDataChunk *ch = P(coff);
        ch->data_size = (uint32_t)len;
        for (size_t i = 0; i < len / 4; i++) {
            uint32_t px = v + (uint32_t)(done / 4 + i);
            memcpy(ch->data + 4 * i, &px, 4);
        }
        done += len;
        if (c == 0)
            img->bitmap.data = A(coff);
        else
            ((QXLDataChunk *)P(prev))->next_chunk = A(coff);
        prev = coff;
    }
    return ioff;
}

static uint64_t copy_of(uint64_t image, int w, int h)
{
    uint64_t off = drawable(QXL_DRAW_COPY);
    QXLDrawable *d = P(off);
    d->u.copy.src_bitmap = A(image);
    d->u.copy.src_area = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};
    return off;
}

static int parse(uint32_t type, uint64_t off, bool cursor, uint32_t flags, struct qxl_copy **out,
                 char *why, size_t whylen)
{
    struct qxl_parse p = {.slots = &slots, .surfaces = &surfaces, .flags = flags};
    QXLCommand cmd = {.data = A(off), .type = type};
    QXLReleaseInfo *ri;
    int rc = qxl_parse_command(&p, &cmd, cursor, out, &ri);
    if (why)
        g_strlcpy(why, p.err, whylen);
    if (rc == -ENOENT)
        g_assert_true(ri == P(off)); /* given back to the guest */
    return rc;
}

/* Malformed: refused, with a reason containing `reason`. */
static void expect_bad(uint32_t type, uint64_t off, bool cursor, const char *reason)
{
    struct qxl_copy *c = NULL;
    char why[256];
    int rc = parse(type, off, cursor, 0, &c, why, sizeof(why));
    if (rc != -EINVAL)
        g_error("expected a refusal mentioning \"%s\", got %d (%s)", reason, rc, why);
    g_assert_null(c);
    if (!strstr(why, reason))
        g_error("refused, but the reason \"%s\" does not mention \"%s\"", why, reason);
}

static struct qxl_copy *expect_ok(uint32_t type, uint64_t off, bool cursor)
{
    struct qxl_copy *c = NULL;
    char why[256];
    int rc = parse(type, off, cursor, 0, &c, why, sizeof(why));
    if (rc != 0)
        g_error("refused: %s", why);
    return c;
}

static bool in_guest(uint64_t hostaddr)
{
    const uint8_t *p = (const uint8_t *)(uintptr_t)hostaddr;
    return p >= mem && p < mem + MEM_SIZE;
}

/* ------------------------------------------------------------------------ */

static void test_fill_copied(void)
{
    setup();
    uint64_t off = fill(0x00ff00);
    struct qxl_copy *c = expect_ok(QXL_CMD_DRAW, off, false);
    QXLDrawable *d = c->cmd;
    g_assert_false(in_guest((uintptr_t)d));
    g_assert_true((void *)c->guest_release == P(off));
    g_assert_cmphex(d->release_info.id, ==, (uintptr_t)c);
    g_assert_cmphex(d->u.fill.brush.u.color, ==, 0x00ff00);
    /* the guest rewrites its command: our copy does not change */
    ((QXLDrawable *)P(off))->u.fill.brush.u.color = 0xff0000;
    ((QXLDrawable *)P(off))->type = 99;
    g_assert_cmphex(d->u.fill.brush.u.color, ==, 0x00ff00);
    g_assert_cmpuint(d->type, ==, QXL_DRAW_FILL);
    qxl_copy_free(c);
}

static void test_bitmap_chunks(void)
{
    setup();
    /* one chunk: pixels referenced in place */
    struct qxl_copy *c = expect_ok(QXL_CMD_DRAW, copy_of(bitmap(8, 4, 1, 100), 8, 4), false);
    QXLImage *img = (QXLImage *)(uintptr_t)((QXLDrawable *)c->cmd)->u.copy.src_bitmap;
    g_assert_false(in_guest((uintptr_t)img));
    g_assert_true(img->bitmap.flags & QXL_BITMAP_DIRECT);
    g_assert_true(in_guest(img->bitmap.data));
    qxl_copy_free(c);
    /* three chunks: one flat copy, in order */
    c = expect_ok(QXL_CMD_DRAW, copy_of(bitmap(8, 4, 3, 500), 8, 4), false);
    img = (QXLImage *)(uintptr_t)((QXLDrawable *)c->cmd)->u.copy.src_bitmap;
    g_assert_true(img->bitmap.flags & QXL_BITMAP_DIRECT);
    g_assert_false(in_guest(img->bitmap.data));
    const uint8_t *px = (const uint8_t *)(uintptr_t)img->bitmap.data;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t v;
        memcpy(&v, px + 4 * i, 4);
        g_assert_cmpuint(v, ==, 500 + i);
    }
    qxl_copy_free(c);
    /* what copies may cost is bounded (the device's budget) */
    struct qxl_parse p = {.slots = &slots, .surfaces = &surfaces, .budget = 200};
    QXLCommand cmd = {.data = A(copy_of(bitmap(8, 4, 3, 0), 8, 4)), .type = QXL_CMD_DRAW};
    QXLReleaseInfo *ri;
    g_assert_cmpint(qxl_parse_command(&p, &cmd, false, &c, &ri), ==, -EINVAL);
    g_assert_nonnull(strstr(p.err, "copies left"));
}

static void test_palette_padded(void)
{
    setup();
    uint64_t ioff = alloc(sizeof(QXLImage)), poff = alloc(sizeof(QXLPalette) + 8),
             coff = alloc(sizeof(QXLDataChunk) + 16);
    QXLImage *img = P(ioff);
    QXLPalette *pal = P(poff);
    ((QXLDataChunk *)P(coff))->data_size = 16;
    memset(((QXLDataChunk *)P(coff))->data, 0xff, 16); /* index 255: beyond the two entries */
    pal->num_ents = 2;
    pal->ents[0] = 0x111111;
    pal->ents[1] = 0x222222;
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->bitmap = (QXLBitmap){.format = SPICE_BITMAP_FMT_8BIT,
                              .x = 4,
                              .y = 4,
                              .stride = 4,
                              .palette = A(poff),
                              .data = A(coff)};
    struct qxl_copy *c = expect_ok(QXL_CMD_DRAW, copy_of(ioff, 4, 4), false);
    QXLImage *h = (QXLImage *)(uintptr_t)((QXLDrawable *)c->cmd)->u.copy.src_bitmap;
    QXLPalette *hp = (QXLPalette *)(uintptr_t)h->bitmap.palette;
    g_assert_cmpuint(hp->num_ents, ==, 256);
    g_assert_cmphex(hp->ents[1], ==, 0x222222);
    g_assert_cmphex(hp->ents[255], ==, 0);
    qxl_copy_free(c);
    /* no palette at all: refused */
    img->bitmap.palette = 0;
    expect_bad(QXL_CMD_DRAW, copy_of(ioff, 4, 4), false, "without a palette");
}

static void test_addresses(void)
{
    setup();
    uint64_t off = copy_of(bitmap(4, 4, 1, 0), 4, 4);
    QXLDrawable *d = P(off);
    QXLPHYSICAL good = d->u.copy.src_bitmap;

    d->u.copy.src_bitmap = (uint64_t)2 << 56 | 64; /* inactive slot */
    expect_bad(QXL_CMD_DRAW, off, false, "not active");
    d->u.copy.src_bitmap = (uint64_t)SLOT << 56 | (uint64_t)1 << 48 | 64; /* generation 1 */
    expect_bad(QXL_CMD_DRAW, off, false, "generation");
    d->u.copy.src_bitmap = A(MEM_SIZE - 8); /* header runs past the slot */
    expect_bad(QXL_CMD_DRAW, off, false, "outside memory slot");
    d->u.copy.src_bitmap = (uint64_t)200 << 56 | 64; /* no such slot */
    expect_bad(QXL_CMD_DRAW, off, false, "not active");
    d->u.copy.src_bitmap = 0;
    expect_bad(QXL_CMD_DRAW, off, false, "no source image");
    d->u.copy.src_bitmap = good;
    qxl_copy_free(expect_ok(QXL_CMD_DRAW, off, false));
    /* the command itself outside: refused, nothing to give back */
    expect_bad(QXL_CMD_DRAW, MEM_SIZE - 4, false, "outside memory slot");
    /* a slot with a delta (QXL_IO_SET_MODE): offsets below it are invalid */
    slots.slot[SLOT].delta = 0x10000;
    expect_bad(QXL_CMD_DRAW, 0x100, false, "outside memory slot");
}

static void test_chunk_chains(void)
{
    setup();
    uint64_t img = bitmap(4, 4, 2, 0);
    QXLImage *i = P(img);
    QXLDataChunk *c1 = P(i->bitmap.data & 0xffffffffffff);
    QXLDataChunk *c2 = P(c1->next_chunk & 0xffffffffffff);

    c2->next_chunk = i->bitmap.data; /* loop */
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "chunks");
    c2->next_chunk = 0;
    c2->data_size += 4; /* more data than the bitmap: must match exactly */
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "bytes of bitmap data");
    c2->data_size -= 4;
    c2->data_size = 0xfffffff0; /* runs past the slot */
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "outside memory slot");
}

static void test_bitmaps(void)
{
    setup();
    uint64_t img = bitmap(4, 4, 1, 0);
    QXLImage *i = P(img);

    i->bitmap.stride = 15;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "stride");
    i->bitmap.stride = 16;
    i->bitmap.format = 42;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "bitmap format");
    i->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    i->bitmap.x = 0;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "bitmap of 0x");
    i->bitmap.x = 4;
    i->bitmap.y = 0x80000000u;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "larger than 2 GiB");
    i->bitmap.y = 4;
    /* source area beyond the bitmap */
    expect_bad(QXL_CMD_DRAW, copy_of(img, 5, 4), false, "source area");
    i->descriptor.type = SPICE_IMAGE_TYPE_LZ_RGB;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "image type");
    /* QUIC: spice-server aborts on a malformed stream (fuzz-qxl), so none
     * is accepted, however well-formed its chunks */
    i->descriptor.type = SPICE_IMAGE_TYPE_QUIC;
    expect_bad(QXL_CMD_DRAW, copy_of(img, 4, 4), false, "QUIC");
    i->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    /* a 32-bit mask */
    uint64_t off = fill(0);
    ((QXLDrawable *)P(off))->u.fill.mask.bitmap = A(img);
    expect_bad(QXL_CMD_DRAW, off, false, "1-bit");
}

static void test_surfaces(void)
{
    setup();
    uint64_t soff = alloc(sizeof(QXLSurfaceCmd)), mem_off = alloc(64 * 32 * 4);
    QXLSurfaceCmd *s = P(soff);
    s->surface_id = 3;
    s->type = QXL_SURFACE_CMD_CREATE;
    s->u.surface_create = (QXLSurface){.format = SPICE_SURFACE_FMT_32_xRGB,
                                       .width = 64,
                                       .height = 32,
                                       .stride = 256,
                                       .data = A(mem_off)};
    struct qxl_copy *c = expect_ok(QXL_CMD_SURFACE, soff, false);
    g_assert_true(surfaces.s[3].live);
    g_assert_cmpuint(surfaces.s[3].width, ==, 64);
    g_assert_true(((QXLSurfaceCmd *)c->cmd)->u.surface_create.data == (uintptr_t)P(mem_off));
    qxl_copy_free(c);

    /* created twice, or a surface that does not exist: dropped, given back */
    struct qxl_copy *none = NULL;
    g_assert_cmpint(parse(QXL_CMD_SURFACE, soff, false, 0, &none, NULL, 0), ==, -ENOENT);
    uint64_t off = fill(1);
    ((QXLDrawable *)P(off))->surface_id = 9;
    g_assert_cmpint(parse(QXL_CMD_DRAW, off, false, 0, &none, NULL, 0), ==, -ENOENT);
    ((QXLDrawable *)P(off))->surface_id = 5000;
    expect_bad(QXL_CMD_DRAW, off, false, "out of range");

    /* surface images must be listed in surfaces_dest */
    uint64_t ioff = alloc(sizeof(QXLImage));
    QXLImage *img = P(ioff);
    img->descriptor.type = SPICE_IMAGE_TYPE_SURFACE;
    img->surface_image.surface_id = 3;
    off = copy_of(ioff, 64, 32);
    expect_bad(QXL_CMD_DRAW, off, false, "surfaces_dest");
    ((QXLDrawable *)P(off))->surfaces_dest[1] = 3;
    expect_bad(QXL_CMD_DRAW, off, false, "surfaces_rects"); /* listed without an area */
    ((QXLDrawable *)P(off))->surfaces_rects[1] =
        (QXLRect){.top = 0, .left = 0, .bottom = 32, .right = 65};
    expect_bad(QXL_CMD_DRAW, off, false, "surfaces_rects"); /* beyond it */
    ((QXLDrawable *)P(off))->surfaces_rects[1].right = 64;
    qxl_copy_free(expect_ok(QXL_CMD_DRAW, off, false));
    ((QXLDrawable *)P(off))->u.copy.src_area.right = 65;
    expect_bad(QXL_CMD_DRAW, off, false, "source area");

    /* an update is using it: no destroying */
    s->type = QXL_SURFACE_CMD_DESTROY;
    surfaces.pinned = 3;
    expect_bad(QXL_CMD_SURFACE, soff, false, "during an update");
    surfaces.pinned = -1;
    qxl_copy_free(expect_ok(QXL_CMD_SURFACE, soff, false));
    g_assert_false(surfaces.s[3].live);
    g_assert_cmpint(parse(QXL_CMD_SURFACE, soff, false, 0, &none, NULL, 0), ==, -ENOENT);

    /* bad creations */
    s->type = QXL_SURFACE_CMD_CREATE;
    s->u.surface_create.stride = 255;
    expect_bad(QXL_CMD_SURFACE, soff, false, "stride");
    s->u.surface_create.stride = INT32_MIN;
    expect_bad(QXL_CMD_SURFACE, soff, false, "stride");
    s->u.surface_create.stride = -256;
    s->u.surface_create.format = 7;
    expect_bad(QXL_CMD_SURFACE, soff, false, "format");
    s->u.surface_create.format = SPICE_SURFACE_FMT_32_xRGB;
    s->u.surface_create.height = 100000; /* memory beyond the slot */
    expect_bad(QXL_CMD_SURFACE, soff, false, "outside memory slot");
    s->u.surface_create.height = 32;
    s->surface_id = 0;
    expect_bad(QXL_CMD_SURFACE, soff, false, "surface 0");
    s->surface_id = 3;
    s->type = 9;
    expect_bad(QXL_CMD_SURFACE, soff, false, "type");
}

static void test_geometry(void)
{
    setup();
    uint64_t off = fill(0);
    QXLDrawable *d = P(off);

    d->self_bitmap = 1;
    d->self_bitmap_area = (QXLRect){.top = 0, .left = 0, .bottom = 10, .right = 641};
    expect_bad(QXL_CMD_DRAW, off, false, "self bitmap");
    d->self_bitmap_area.right = 640;
    qxl_copy_free(expect_ok(QXL_CMD_DRAW, off, false));
    d->self_bitmap_area.left = 10;
    d->self_bitmap_area.right = 5;
    expect_bad(QXL_CMD_DRAW, off, false, "self bitmap");

    off = drawable(QXL_COPY_BITS);
    d = P(off);
    d->bbox = (QXLRect){.top = 0, .left = 0, .bottom = 100, .right = 100};
    d->u.copy_bits.src_pos = (QXLPoint){.x = 600, .y = 0};
    expect_bad(QXL_CMD_DRAW, off, false, "copy bits");
    d->u.copy_bits.src_pos.x = 540;
    qxl_copy_free(expect_ok(QXL_CMD_DRAW, off, false));
    d->u.copy_bits.src_pos.x = INT32_MAX;
    expect_bad(QXL_CMD_DRAW, off, false, "copy bits");

    off = fill(0);
    ((QXLDrawable *)P(off))->effect = 8;
    expect_bad(QXL_CMD_DRAW, off, false, "effect");
    ((QXLDrawable *)P(off))->effect = QXL_EFFECT_OPAQUE;
    ((QXLDrawable *)P(off))->u.fill.brush.type = 7;
    expect_bad(QXL_CMD_DRAW, off, false, "brush type");
    ((QXLDrawable *)P(off))->u.fill.brush.type = SPICE_BRUSH_TYPE_PATTERN;
    expect_bad(QXL_CMD_DRAW, off, false, "pattern");
    off = drawable(99);
    expect_bad(QXL_CMD_DRAW, off, false, "drawable type");

    /* bounding boxes: inverted is malformed, outside the surface dropped */
    off = fill(0);
    ((QXLDrawable *)P(off))->bbox = (QXLRect){.top = 10, .left = 0, .bottom = 5, .right = 8};
    expect_bad(QXL_CMD_DRAW, off, false, "bounding box");
    ((QXLDrawable *)P(off))->bbox = (QXLRect){.top = 0, .left = 0, .bottom = 481, .right = 8};
    struct qxl_copy *none = NULL;
    g_assert_cmpint(parse(QXL_CMD_DRAW, off, false, 0, &none, NULL, 0), ==, -ENOENT);
}

static void test_clip_rects(void)
{
    setup();
    uint64_t off = fill(0), coff = alloc(sizeof(QXLClipRects) + 2 * sizeof(QXLRect));
    QXLClipRects *cr = P(coff);
    QXLDrawable *d = P(off);
    d->clip.type = SPICE_CLIP_TYPE_RECTS;
    d->clip.data = A(coff);
    cr->num_rects = 2;
    cr->chunk.data_size = 2 * sizeof(QXLRect);
    struct qxl_copy *c = expect_ok(QXL_CMD_DRAW, off, false);
    QXLClipRects *h = (QXLClipRects *)(uintptr_t)((QXLDrawable *)c->cmd)->clip.data;
    g_assert_false(in_guest((uintptr_t)h));
    g_assert_cmpuint(h->num_rects, ==, 2);
    g_assert_cmpuint(h->chunk.next_chunk, ==, 0);
    qxl_copy_free(c);
    QXLRect inverted = {.top = 5, .left = 0, .bottom = 4, .right = 8};
    memcpy(cr->chunk.data + sizeof(QXLRect), &inverted, sizeof(inverted));
    expect_bad(QXL_CMD_DRAW, off, false, "clip rectangle 1");
    cr->num_rects = 3;
    expect_bad(QXL_CMD_DRAW, off, false, "3 rectangles in 32 bytes");
    cr->num_rects = 0x10000001u; /* times 16 wraps 32 bits */
    expect_bad(QXL_CMD_DRAW, off, false, "rectangles in");
    d->clip.type = 5;
    expect_bad(QXL_CMD_DRAW, off, false, "clip type");
}

static uint64_t text(uint16_t length, uint16_t flags, const uint8_t *glyphs, size_t len)
{
    uint64_t off = drawable(QXL_DRAW_TEXT), soff = alloc(sizeof(QXLString) + len);
    QXLString *s = P(soff);
    s->data_size = (uint32_t)len;
    s->length = length;
    s->flags = flags;
    s->chunk.data_size = (uint32_t)len;
    memcpy(s->chunk.data, glyphs, len);
    ((QXLDrawable *)P(off))->u.text.str = A(soff);
    return off;
}

static void test_text_and_strokes(void)
{
    setup();
    uint8_t g[2 * (sizeof(QXLRasterGlyph) + 2)] = {0};
    QXLRasterGlyph gl = {.width = 8, .height = 2};
    memcpy(g, &gl, sizeof(gl));
    memcpy(g + sizeof(gl) + 2, &gl, sizeof(gl));
    qxl_copy_free(
        expect_ok(QXL_CMD_DRAW, text(2, SPICE_STRING_FLAGS_RASTER_A1, g, sizeof(g)), false));
    expect_bad(QXL_CMD_DRAW, text(3, SPICE_STRING_FLAGS_RASTER_A1, g, sizeof(g)), false,
               "declares 3 glyphs");
    expect_bad(QXL_CMD_DRAW, text(2, 0, g, sizeof(g)), false, "glyph format");
    /* 8 bits per pixel: the glyphs need 16 bytes each */
    expect_bad(QXL_CMD_DRAW, text(2, SPICE_STRING_FLAGS_RASTER_A8, g, sizeof(g)), false,
               "runs past");
    expect_bad(QXL_CMD_DRAW, text(1, SPICE_STRING_FLAGS_RASTER_A1, g, sizeof(gl) - 1), false,
               "header");

    /* strokes: path segments must fit, a styled line needs its style */
    uint64_t off = drawable(QXL_DRAW_STROKE);
    QXLDrawable *d = P(off);
    uint64_t poff = alloc(sizeof(QXLPath) + sizeof(QXLPathSeg) + 2 * sizeof(QXLPointFix));
    QXLPath *path = P(poff);
    QXLPathSeg seg = {.flags = QXL_PATH_BEGIN | QXL_PATH_END, .count = 2};
    memcpy(path->chunk.data, &seg, sizeof(seg));
    path->chunk.data_size = sizeof(seg) + 2 * sizeof(QXLPointFix);
    path->data_size = path->chunk.data_size;
    d->u.stroke.path = A(poff);
    d->u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    qxl_copy_free(expect_ok(QXL_CMD_DRAW, off, false));
    seg.count = 3;
    memcpy(path->chunk.data, &seg, sizeof(seg));
    expect_bad(QXL_CMD_DRAW, off, false, "segment of 3 points");
    seg.count = 0x20000001u; /* times 8 wraps 32 bits */
    memcpy(path->chunk.data, &seg, sizeof(seg));
    expect_bad(QXL_CMD_DRAW, off, false, "segment of");
    seg.count = 2;
    memcpy(path->chunk.data, &seg, sizeof(seg));
    d->u.stroke.attr.flags = SPICE_LINE_FLAGS_STYLED;
    d->u.stroke.attr.style_nseg = 4;
    expect_bad(QXL_CMD_DRAW, off, false, "without a style");
    d->u.stroke.path = 0;
    expect_bad(QXL_CMD_DRAW, off, false, "without a path");
}

static void test_cursor_and_others(void)
{
    setup();
    uint64_t off = alloc(sizeof(QXLCursorCmd)), shape = alloc(sizeof(QXLCursor) + 64);
    QXLCursorCmd *c = P(off);
    QXLCursor *cur = P(shape);
    c->type = QXL_CURSOR_SET;
    c->u.set.shape = A(shape);
    cur->header.type = SPICE_CURSOR_TYPE_ALPHA;
    cur->header.width = cur->header.height = 4;
    cur->data_size = 64;
    cur->chunk.data_size = 64;
    struct qxl_copy *cp = expect_ok(QXL_CMD_CURSOR, off, true);
    QXLCursor *h = (QXLCursor *)(uintptr_t)((QXLCursorCmd *)cp->cmd)->u.set.shape;
    g_assert_cmpuint(h->data_size, ==, 64);
    qxl_copy_free(cp);
    cur->data_size = 1000; /* declares more than its chunks: clamped, as spice-server does */
    cp = expect_ok(QXL_CMD_CURSOR, off, true);
    g_assert_cmpuint(((QXLCursor *)(uintptr_t)((QXLCursorCmd *)cp->cmd)->u.set.shape)->data_size,
                     ==, 64);
    qxl_copy_free(cp);
    cur->header.width = 5000;
    expect_bad(QXL_CMD_CURSOR, off, true, "cursor of 5000x4");
    cur->header.width = 4;
    cur->header.type = 40;
    expect_bad(QXL_CMD_CURSOR, off, true, "cursor type");
    c->type = 9;
    expect_bad(QXL_CMD_CURSOR, off, true, "cursor command type");
    /* rings carry their own command types only */
    expect_bad(QXL_CMD_CURSOR, off, false, "on the command ring");
    expect_bad(QXL_CMD_DRAW, fill(0), true, "on the cursor ring");
    expect_bad(77, fill(0), false, "command type 77");

    /* messages need their NUL inside the slot */
    uint64_t m = alloc(sizeof(QXLMessage) + 6);
    memcpy(((QXLMessage *)P(m))->data, "hello", 6);
    cp = expect_ok(QXL_CMD_MESSAGE, m, false);
    g_assert_cmpstr((const char *)((QXLMessage *)cp->cmd)->data, ==, "hello");
    qxl_copy_free(cp);
    memset(mem + MEM_SIZE - 64, 'x', 64);
    expect_bad(QXL_CMD_MESSAGE, MEM_SIZE - 64, false, "NUL");

    /* updates: a live surface and an area inside it */
    uint64_t u = alloc(sizeof(QXLUpdateCmd));
    QXLUpdateCmd *up = P(u);
    up->area = (QXLRect){.top = 0, .left = 0, .bottom = 480, .right = 641};
    expect_bad(QXL_CMD_UPDATE, u, false, "not inside");
    up->area.right = 640;
    qxl_copy_free(expect_ok(QXL_CMD_UPDATE, u, false));
}

static void test_io_requests(void)
{
    setup();
    char err[256];
    uint8_t *where = NULL;
    QXLSurfaceCreate sc = {.width = 64,
                           .height = 64,
                           .stride = 256,
                           .format = SPICE_SURFACE_FMT_32_xRGB,
                           .mem = A(4096)};
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 1 << 20, &where, err, sizeof(err)), ==, 0);
    g_assert_true(where == P(4096));
    sc.stride = -256;
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 1 << 20, &where, err, sizeof(err)), ==, 0);
    g_assert_true(where == P(4096)); /* the lowest byte, as spice-server wants it */
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 8192, &where, err, sizeof(err)), ==, -EINVAL);
    g_assert_nonnull(strstr(err, "larger than"));
    sc.stride = 258;
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 1 << 20, &where, err, sizeof(err)), ==, -EINVAL);
    sc.stride = 256;
    sc.format = SPICE_SURFACE_FMT_8_A;
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 1 << 20, &where, err, sizeof(err)), ==, -EINVAL);
    sc.format = SPICE_SURFACE_FMT_16_565;
    sc.mem = A(MEM_SIZE - 100);
    g_assert_cmpint(qxl_check_primary(&slots, &sc, 1 << 20, &where, err, sizeof(err)), ==, -EINVAL);

    QXLRect r = {.top = 0, .left = 0, .bottom = 480, .right = 640};
    g_assert_cmpint(qxl_check_update_area(&surfaces, 0, &r, err, sizeof(err)), ==, 0);
    r.right = 0;
    g_assert_cmpint(qxl_check_update_area(&surfaces, 0, &r, err, sizeof(err)), ==, 1);
    r.right = 641;
    g_assert_cmpint(qxl_check_update_area(&surfaces, 0, &r, err, sizeof(err)), ==, -EINVAL);
    r.right = 10;
    g_assert_cmpint(qxl_check_update_area(&surfaces, 7, &r, err, sizeof(err)), ==, -ENOENT);
    g_assert_cmpint(qxl_check_update_area(&surfaces, 1024, &r, err, sizeof(err)), ==, -EINVAL);
    r.left = -1;
    g_assert_cmpint(qxl_check_update_area(&surfaces, 0, &r, err, sizeof(err)), ==, -EINVAL);

    uint64_t moff = alloc(sizeof(QXLMonitorsConfig) + 2 * sizeof(QXLHead));
    QXLMonitorsConfig *mc = P(moff);
    mc->count = 2;
    mc->heads[1].width = 800;
    QXLMonitorsConfig *copy = qxl_copy_monitors_config(&slots, A(moff), 64, err, sizeof(err));
    g_assert_nonnull(copy);
    g_assert_cmpuint(copy->heads[1].width, ==, 800);
    g_free(copy);
    mc->count = 0;
    g_assert_null(qxl_copy_monitors_config(&slots, A(moff), 64, err, sizeof(err)));
    mc->count = 65;
    g_assert_null(qxl_copy_monitors_config(&slots, A(moff), 64, err, sizeof(err)));

    g_assert_true(qxl_ring_sane(5, 3, 32));
    g_assert_true(qxl_ring_sane(2, 0xfffffff0u, 32)); /* wrapped */
    g_assert_false(qxl_ring_sane(100, 3, 32));
}

/* Random bytes as commands of every type: never a crash or an ASan
 * report, and whatever is accepted has a private copy. */
static void test_random(void)
{
    setup();
    GRand *rnd = g_rand_new_with_seed(0x51a5);
    for (unsigned i = 0; i < MEM_SIZE / 4; i++)
        ((uint32_t *)(void *)mem)[i] = g_rand_int(rnd);
    /* aim some pointers at the slot so parsing gets deep */
    for (unsigned i = 0; i < 4000; i++) {
        uint64_t at = g_rand_int_range(rnd, 0, MEM_SIZE / 8) * 8;
        uint64_t v = A(g_rand_int_range(rnd, 0, MEM_SIZE));
        memcpy(mem + at, &v, 8);
    }
    unsigned accepted = 0;
    for (unsigned i = 0; i < 20000; i++) {
        struct qxl_copy *c = NULL;
        uint32_t type = g_rand_int_range(rnd, 0, 7);
        uint64_t off = g_rand_int_range(rnd, 0, MEM_SIZE);
        int rc = parse(type, off, type == QXL_CMD_CURSOR, i & 1 ? QXL_COMMAND_FLAG_COMPAT : 0, &c,
                       NULL, 0);
        if (rc == 0) {
            g_assert_nonnull(c);
            g_assert_false(in_guest((uintptr_t)c->cmd));
            accepted++;
            qxl_copy_free(c);
        }
    }
    g_test_message("%u of 20000 random commands accepted", accepted);
    g_rand_free(rnd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qxl-parse/fill-is-copied", test_fill_copied);
    g_test_add_func("/qxl-parse/bitmap-chunks", test_bitmap_chunks);
    g_test_add_func("/qxl-parse/palette-padded", test_palette_padded);
    g_test_add_func("/qxl-parse/addresses", test_addresses);
    g_test_add_func("/qxl-parse/chunk-chains", test_chunk_chains);
    g_test_add_func("/qxl-parse/bitmaps", test_bitmaps);
    g_test_add_func("/qxl-parse/surfaces", test_surfaces);
    g_test_add_func("/qxl-parse/geometry", test_geometry);
    g_test_add_func("/qxl-parse/clip-rects", test_clip_rects);
    g_test_add_func("/qxl-parse/text-and-strokes", test_text_and_strokes);
    g_test_add_func("/qxl-parse/cursor-message-update", test_cursor_and_others);
    g_test_add_func("/qxl-parse/io-requests", test_io_requests);
    g_test_add_func("/qxl-parse/random-bytes", test_random);
    int rc = g_test_run();
    g_free(mem);
    return rc;
}
