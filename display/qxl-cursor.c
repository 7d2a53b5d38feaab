/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL cursor shapes (QXLCursor, spice/qxl_dev.h) into the framebuffer
 * core's premultiplied ARGB32 (fb.h, "Cursor"), so that front ends other
 * than SPICE — VNC viewers — get the pointer a QXL guest driver defines.
 *
 * The input is qxl-parse.c's host copy of a guest cursor command, already
 * checked for its type and size limits and gathered into one block;
 * data_size is what the guest declared, clipped to what its chunks held.
 * Everything else is checked here: dimensions, and that the data holds
 * what the type needs (computed in 64 bits).
 *
 * Types, as QEMU renders them for its own displays: ALPHA (Linux's qxl
 * driver, Windows' qxl-wddm-dod for colour pointers: w*h ARGB words,
 * premultiplied as DRM cursor planes are) and MONO (qxl-wddm-dod's
 * monochrome pointers: an AND mask then an XOR mask, 1 bit per pixel, rows
 * of (w+7)/8 bytes, most significant bit first).  MONO's four cases:
 * AND 1 XOR 0 transparent, 0/0 black, 0/1 white, 1/1 "invert the screen",
 * which a separate cursor cannot do: drawn black.  The COLOR* types of the
 * old XPDM Windows driver are refused, as QEMU does.
 */
#include "config.h"

#include <stdlib.h>

#include "display/fb.h"
#include "display/qxl-cursor.h"
#include "src/log.h"

static bool bit(const uint8_t *row, unsigned x)
{
    return row[x / 8] & (0x80 >> (x % 8));
}

uint32_t *qxl_cursor_decode(const QXLCursor *c, const char **why)
{
    unsigned w = c->header.width, h = c->header.height;
    const uint8_t *d = c->chunk.data;
    uint64_t have = c->data_size;
    if (!w || !h || w > FB_CURSOR_MAX_DIM || h > FB_CURSOR_MAX_DIM) {
        *why = "cursor size out of range";
        return NULL;
    }
    uint64_t n = (uint64_t)w * h, bpl = (w + 7) / 8;
    uint32_t *out;
    switch (c->header.type) {
    case SPICE_CURSOR_TYPE_ALPHA:
        if (have < n * 4) {
            *why = "ALPHA cursor data shorter than its pixels";
            return NULL;
        }
        out = malloc(n * 4);
        if (!out) {
            *why = "out of memory";
            return NULL;
        }
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *p = d + i * 4; /* little-endian words */
            uint32_t px =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            unsigned a = px >> 24;
            /* premultiplied: no channel above alpha (a guest may lie) */
            unsigned r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
            r = r > a ? a : r;
            g = g > a ? a : g;
            b = b > a ? a : b;
            out[i] = (uint32_t)a << 24 | r << 16 | g << 8 | b;
        }
        return out;
    case SPICE_CURSOR_TYPE_MONO: {
        if (have < 2 * bpl * h) {
            *why = "MONO cursor data shorter than its two masks";
            return NULL;
        }
        out = malloc(n * 4);
        if (!out) {
            *why = "out of memory";
            return NULL;
        }
        for (unsigned y = 0; y < h; y++) {
            const uint8_t *and_row = d + y * bpl, *xor_row = d + (h + y) * bpl;
            for (unsigned x = 0; x < w; x++) {
                bool a = bit(and_row, x), xo = bit(xor_row, x);
                out[(size_t)y * w + x] = a && !xo ? 0 : !a && xo ? 0xffffffff : 0xff000000;
            }
        }
        return out;
    }
    default:
        *why = "cursor type not supported for VNC (only ALPHA and MONO)";
        return NULL;
    }
}

uint32_t *qxl_cursor_prepare(const QXLCursorCmd *cmd, const char **why)
{
    *why = NULL;
    if (cmd->type != QXL_CURSOR_SET)
        return NULL;
    return qxl_cursor_decode((const QXLCursor *)(uintptr_t)cmd->u.set.shape, why);
}

bool qxl_cursor_note(struct qxl_cursor_pend *p, const QXLCursorCmd *cmd, uint32_t *argb,
                     const char *why)
{
    switch (cmd->type) {
    case QXL_CURSOR_SET: {
        const QXLCursor *c = (const QXLCursor *)(uintptr_t)cmd->u.set.shape;
        if (!argb) {
            if (!p->refused++) /* once: a driver sends its shapes again and again */
                p->why = why;
            return p->refused == 1;
        }
        free(p->argb);
        p->argb = argb;
        p->w = c->header.width;
        p->h = c->header.height;
        p->hot_x = c->header.hot_spot_x;
        p->hot_y = c->header.hot_spot_y;
        p->x = cmd->u.set.position.x;
        p->y = cmd->u.set.position.y;
        p->visible = cmd->u.set.visible != 0;
        p->dirty = true;
        return true;
    }
    case QXL_CURSOR_MOVE:
        p->x = cmd->u.position.x;
        p->y = cmd->u.position.y;
        p->moved = p->visible = p->dirty = true;
        break;
    case QXL_CURSOR_HIDE:
        p->visible = false;
        p->dirty = true;
        break;
    default:
        break; /* TRAIL: viewers ignore it too */
    }
    free(argb); /* not a SET: prepare gave none */
    return cmd->type == QXL_CURSOR_MOVE || cmd->type == QXL_CURSOR_HIDE;
}

void qxl_cursor_apply(struct qxl_cursor_pend *p)
{
    if (p->why) {
        log_msg("qxl", "guest cursor not shown to VNC viewers: %s (not logged again)", p->why);
        p->why = NULL;
    }
    if (!p->dirty)
        return;
    if (p->argb) {
        fb_cursor_define(p->w, p->h, p->hot_x, p->hot_y, p->argb);
        free(p->argb);
        p->argb = NULL;
        fb_cursor_move(p->x, p->y);
    } else if (p->moved) {
        fb_cursor_move(p->x, p->y);
    }
    if (!p->visible)
        fb_cursor_hide();
    p->dirty = p->moved = false;
}

void qxl_cursor_pend_clear(struct qxl_cursor_pend *p)
{
    free(p->argb);
    p->argb = NULL;
    p->dirty = p->moved = false;
}
