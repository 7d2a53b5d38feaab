/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL cursor shapes into the framebuffer core's cursor plane
 * (display/qxl-cursor.c).
 */
#ifndef XENDM_QXL_CURSOR_H
#define XENDM_QXL_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include <spice/qxl_dev.h>

/* The shape of a validated host copy as header.width * header.height
 * premultiplied ARGB32 pixels (malloc'd), or NULL with *why set. */
uint32_t *qxl_cursor_decode(const QXLCursor *c, const char **why);

/*
 * The hand-off from spice-server's worker, which takes cursor commands off
 * the ring, to the main thread, which owns the framebuffer core: the
 * worker notes each command under the device's lock (latest shape,
 * position and visibility win), main takes the state under the same lock
 * and applies it.
 */
struct qxl_cursor_pend {
    bool dirty, moved, visible;
    uint32_t *argb; /* a new shape (decoded on the worker), or NULL */
    unsigned w, h, hot_x, hot_y;
    int x, y;
    unsigned refused; /* shapes that could not be decoded */
    const char *why;  /* the first one's reason, to log on main */
};
/* Worker, outside the lock (the copy stays valid until spice-server
 * releases it): the shape of a validated host copy of a cursor command
 * (qxl-parse.c), decoded — NULL for other commands, or with *why set. */
uint32_t *qxl_cursor_prepare(const QXLCursorCmd *cmd, const char **why);
/* Worker, under the lock: note the command with what prepare gave (argb
 * is taken).  Returns whether main has something to do. */
bool qxl_cursor_note(struct qxl_cursor_pend *p, const QXLCursorCmd *cmd, uint32_t *argb,
                     const char *why);
/* Main: pass the pending state on to the framebuffer core. */
void qxl_cursor_apply(struct qxl_cursor_pend *p);
/* Forget pending changes (device reset). */
void qxl_cursor_pend_clear(struct qxl_cursor_pend *p);

#endif
