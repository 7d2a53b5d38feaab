/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL command validation and private copies (qxl-parse.h), first half:
 * guest addresses and memory slots, the blocks a copy is made of, the
 * primitives every parser uses (read once, chunk chains, surface checks;
 * qxl-parse-priv.h), qxl_parse_command() with the commands that do not
 * draw (update, message, surface create/destroy, cursor), and the checks
 * of I/O port requests.  Drawables and what they point to (images,
 * brushes, clips, paths, text) are display/qxl-parse-draw.c.
 *
 * Every guest structure is read exactly once into xendm's memory and
 * checked there; the copy spice-server gets is built from those checked
 * values, so a guest changing its memory afterwards changes nothing but
 * pixels.  Layouts and limits are the guest ABI of spice-protocol's
 * qxl_dev.h and what spice-server 0.15's red-parse-qxl accepts (read for
 * facts).
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display/qxl-parse-priv.h"
#include "display/qxl-parse.h"

#define ADDR_OFFSET_BITS 48
#define ADDR_OFFSET_MASK ((1ull << ADDR_OFFSET_BITS) - 1)
/* How far a QXLMessage's text may run (spice-server's limit). */
#define MAX_MESSAGE 100000u

struct qxl_block {
    struct qxl_block *next;
    _Alignas(16) unsigned char data[];
};

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

bool qxl_parse_fail(struct qxl_parse *p, const char *fmt, ...)
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
bool qxl_parse_drop(struct qxl_parse *p, const char *fmt, ...)
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
void *qxl_parse_alloc(struct qxl_parse *p, size_t n)
{
    size_t budget =
        p->budget && p->budget < QXL_MAX_COMMAND_COPY ? p->budget : QXL_MAX_COMMAND_COPY;
    void *m;

    if (p->copy->bytes > budget || n > budget - p->copy->bytes) {
        qxl_parse_fail(p, "the command needs more than the %zu MiB of copies left to it",
                       budget >> 20);
        return NULL;
    }
    m = qxl_copy_alloc(p->copy, n);
    if (!m) {
        p->nomem = true;
        qxl_parse_fail(p, "out of memory copying the command");
    }
    return m;
}

/* A host pointer as spice-server's host slot group reads it (slot 0,
 * generation 0: the pointer itself). */
bool qxl_parse_host_addr(struct qxl_parse *p, const void *ptr, QXLPHYSICAL *out)
{
    uintptr_t v = (uintptr_t)ptr;

    if ((uint64_t)v >> ADDR_OFFSET_BITS)
        return qxl_parse_fail(p, "host address %p does not fit the host memory slot", ptr);
    *out = v;
    return true;
}

const uint8_t *qxl_parse_ref(struct qxl_parse *p, QXLPHYSICAL a, uint64_t len, const char *what)
{
    char e[120];
    const uint8_t *src = qxl_translate(p->slots, a, len, e, sizeof(e));

    if (!src)
        qxl_parse_fail(p, "%s: %s", what, e);
    return src;
}

/* Read a guest structure once. */
bool qxl_parse_read(struct qxl_parse *p, QXLPHYSICAL a, void *dst, size_t len, const char *what)
{
    const uint8_t *src = qxl_parse_ref(p, a, len, what);

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
 * QXL_MAX_CHUNKS chunks (which also ends loops) and QXL_MAX_DATA_FIELD bytes.
 * With allow_ref and at most one non-empty chunk, *data points at the data
 * in guest memory; otherwise the data is copied into a new zeroed block of
 * `extra` + total bytes, starting at offset `extra`, and *block is that
 * block.  *total is the data size.
 */
bool qxl_parse_chunks(struct qxl_parse *p, QXLPHYSICAL first, size_t extra, bool allow_ref,
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
            qxl_parse_fail(p, "%s: more than %u chunks (a loop?)", what, QXL_MAX_CHUNKS);
            goto out;
        }
        if (!qxl_parse_read(p, a, &h, sizeof(h), what))
            goto out;
        hp = qxl_parse_ref(p, a, sizeof(h) + (uint64_t)h.data_size, what);
        if (!hp)
            goto out;
        sum += h.data_size;
        if (sum > QXL_MAX_DATA_FIELD) {
            qxl_parse_fail(p, "%s: more than 2 GiB of data", what);
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
    *block = qxl_parse_alloc(p, extra + sum);
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
bool qxl_parse_surface_live(struct qxl_parse *p, int64_t id, const char *what)
{
    if (id < 0 || id >= QXL_NUM_SURFACES)
        return qxl_parse_fail(p, "%s: surface id %lld out of range", what, (long long)id);
    if (!p->surfaces->s[id].live)
        return qxl_parse_drop(p, "%s: surface %lld does not exist", what, (long long)id);
    return true;
}

bool qxl_parse_rect_in_surface(struct qxl_parse *p, const QXLRect *r, uint32_t surface,
                               bool allow_empty, const char *what)
{
    const struct qxl_surface_state *s = &p->surfaces->s[surface];

    if (r->left < 0 || r->top < 0 || r->left > r->right || r->top > r->bottom ||
        (!allow_empty && (r->left == r->right || r->top == r->bottom)) ||
        (uint32_t)r->right > s->width || (uint32_t)r->bottom > s->height)
        return qxl_parse_fail(p, "%s: rectangle (%d,%d)-(%d,%d) is not inside the %ux%u surface %u",
                              what, r->left, r->top, r->right, r->bottom, s->width, s->height,
                              surface);
    return true;
}

/* ------------------------------------------------------------------------
 * The other commands
 */

static bool parse_update(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLUpdateCmd *u = qxl_parse_alloc(p, sizeof(*u));

    if (!u || !qxl_parse_read(p, a, u, sizeof(*u), "update"))
        return false;
    if (!qxl_parse_surface_live(p, u->surface_id, "update") ||
        !qxl_parse_rect_in_surface(p, &u->area, u->surface_id, false, "update"))
        return false;
    *out = u;
    return true;
}

static bool parse_message(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    char e[120];
    const uint8_t *src = qxl_parse_ref(p, a, sizeof(QXLMessage), "message");
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
        return qxl_parse_fail(p, "message: no terminating NUL");
    m = qxl_parse_alloc(p, (size_t)(end - src) + 1);
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
    if (abs_stride * h > QXL_MAX_DATA_FIELD) {
        snprintf(err, errlen, "surface of %u lines of %llu bytes is larger than 2 GiB", h,
                 (unsigned long long)abs_stride);
        return false;
    }
    return true;
}

static bool parse_surface(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLSurfaceCmd *s = qxl_parse_alloc(p, sizeof(*s));
    struct qxl_surface_state *st;
    QXLPHYSICAL v = 0;
    char e[160];

    if (!s || !qxl_parse_read(p, a, s, sizeof(*s), "surface command"))
        return false;
    if (s->surface_id == 0 || s->surface_id >= QXL_NUM_SURFACES)
        return qxl_parse_fail(p, "surface command for surface %u (1 to %u)", s->surface_id,
                              QXL_NUM_SURFACES - 1);
    st = &p->surfaces->s[s->surface_id];
    switch (s->type) {
    case QXL_SURFACE_CMD_CREATE: {
        QXLSurface *c = &s->u.surface_create;
        uint64_t size;
        const uint8_t *mem;

        if (st->live)
            return qxl_parse_drop(p, "surface %u created twice", s->surface_id);
        if (!surface_geometry_ok(c->width, c->height, c->stride, c->format, e, sizeof(e)))
            return qxl_parse_fail(p, "surface %u: %s", s->surface_id, e);
        size = (uint64_t)c->height * (uint64_t)(c->stride < 0 ? -(int64_t)c->stride : c->stride);
        mem = qxl_parse_ref(p, c->data, size, "surface memory");
        if (!mem || !qxl_parse_host_addr(p, mem, &v))
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
            return qxl_parse_drop(p, "surface %u destroyed but does not exist", s->surface_id);
        if (p->surfaces->pinned == (int32_t)s->surface_id)
            return qxl_parse_fail(p, "surface %u destroyed during an update of its area",
                                  s->surface_id);
        st->live = false;
        break;
    default:
        return qxl_parse_fail(p, "surface command type %u", s->type);
    }
    *out = s;
    return true;
}

static bool parse_cursor(struct qxl_parse *p, QXLPHYSICAL a, void **out)
{
    QXLCursorCmd *c = qxl_parse_alloc(p, sizeof(*c));

    if (!c || !qxl_parse_read(p, a, c, sizeof(*c), "cursor command"))
        return false;
    switch (c->type) {
    case QXL_CURSOR_SET: {
        QXLCursor q, *h;
        QXLPHYSICAL v = 0;
        const uint8_t *d;
        uint8_t *blk;
        uint64_t total;

        if (!c->u.set.shape)
            return qxl_parse_fail(p, "cursor set without a shape");
        if (!qxl_parse_read(p, c->u.set.shape, &q, sizeof(q), "cursor shape"))
            return false;
        if (q.header.type >= SPICE_CURSOR_TYPE_ENUM_END)
            return qxl_parse_fail(p, "cursor type %u", q.header.type);
        if (q.header.width > QXL_MAX_CURSOR_DIM || q.header.height > QXL_MAX_CURSOR_DIM)
            return qxl_parse_fail(p, "cursor of %ux%u pixels", q.header.width, q.header.height);
        if (!qxl_parse_chunks(p, c->u.set.shape + offsetof(QXLCursor, chunk), sizeof(QXLCursor),
                              false, &d, &blk, &total, "cursor shape"))
            return false;
        h = (QXLCursor *)blk;
        h->header = q.header;
        h->data_size = q.data_size < total ? q.data_size : (uint32_t)total;
        h->chunk.data_size = (uint32_t)total;
        if (!qxl_parse_host_addr(p, h, &v))
            return false;
        c->u.set.shape = v;
        break;
    }
    case QXL_CURSOR_MOVE:
    case QXL_CURSOR_HIDE:
    case QXL_CURSOR_TRAIL:
        break;
    default:
        return qxl_parse_fail(p, "cursor command type %u", c->type);
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
    guest = qxl_parse_ref(p, cmd->data, sizeof(QXLReleaseInfo), "command");
    if (!guest) {
        ok = false;
    } else if (cursor_ring) {
        ok = cmd->type == QXL_CMD_CURSOR
                 ? parse_cursor(p, cmd->data, &host)
                 : qxl_parse_fail(p, "command type %u on the cursor ring", cmd->type);
    } else {
        switch (cmd->type) {
        case QXL_CMD_DRAW:
            ok = (p->flags & QXL_COMMAND_FLAG_COMPAT)
                     ? qxl_parse_compat_drawable(p, cmd->data, &host)
                     : qxl_parse_drawable(p, cmd->data, &host);
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
            ok = qxl_parse_fail(p, "command type %u on the command ring", cmd->type);
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
