/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The framebuffer core's cursor plane (fb.h, "Cursor"): the shape, hotspot,
 * position and visibility of a pointer the device draws itself (QXL's
 * cursor ring), kept apart from the surface's pixels and passed on to the
 * front ends that can show it as a separate cursor (VNC's RichCursor and
 * XCursor pseudo-encodings).  Producers without a cursor plane (std VGA:
 * the guest draws its pointer into the picture) never call this.
 *
 * One state, any number of cursor listeners; a new listener is told the
 * current state at once.  Shapes are copied here and handed to listeners
 * as const pointers valid for the call only.
 *
 * Threads: main thread only, like the rest of the core.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "display/fb.h"
#include "src/log.h"

struct fb_cursor_listener {
    const struct fb_cursor_listener_ops *ops;
    void *opaque;
    struct fb_cursor_listener *next;
};

static struct {
    struct fb_cursor *shape; /* NULL: no cursor plane */
    int x, y;
    bool visible;
    struct fb_cursor_listener *listeners;
} cur;

static void tell_shape(void)
{
    for (struct fb_cursor_listener *l = cur.listeners; l; l = l->next)
        if (l->ops->define)
            l->ops->define(l->opaque, cur.shape);
}

static void tell_move(void)
{
    for (struct fb_cursor_listener *l = cur.listeners; l; l = l->next)
        if (l->ops->move)
            l->ops->move(l->opaque, cur.x, cur.y, cur.visible && cur.shape);
}

void fb_cursor_define(unsigned width, unsigned height, unsigned hot_x, unsigned hot_y,
                      const uint32_t *argb)
{
    if (!argb || !width || !height || width > FB_CURSOR_MAX_DIM || height > FB_CURSOR_MAX_DIM) {
        log_msg("fb", "cursor %ux%u refused (1..%u pixels a side)", width, height,
                FB_CURSOR_MAX_DIM);
        return;
    }
    size_t n = (size_t)width * height;
    struct fb_cursor *c = malloc(sizeof(*c) + n * sizeof(uint32_t));
    if (!c)
        return; /* keep the previous shape */
    c->width = width;
    c->height = height;
    c->hot_x = hot_x < width ? hot_x : width - 1;
    c->hot_y = hot_y < height ? hot_y : height - 1;
    memcpy(c->argb, argb, n * sizeof(uint32_t));
    free(cur.shape);
    cur.shape = c;
    cur.visible = true;
    tell_shape();
    tell_move();
}

void fb_cursor_move(int x, int y)
{
    cur.x = x;
    cur.y = y;
    cur.visible = true;
    tell_move();
}

void fb_cursor_hide(void)
{
    if (!cur.visible)
        return;
    cur.visible = false;
    tell_move();
}

void fb_cursor_reset(void)
{
    if (!cur.shape && !cur.visible)
        return;
    free(cur.shape);
    cur.shape = NULL;
    cur.visible = false;
    tell_shape();
    tell_move();
}

struct fb_cursor_listener *fb_cursor_add_listener(const struct fb_cursor_listener_ops *ops,
                                                  void *opaque)
{
    if (!ops)
        return NULL;
    struct fb_cursor_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->ops = ops;
    l->opaque = opaque;
    l->next = cur.listeners;
    cur.listeners = l;
    if (ops->define)
        ops->define(opaque, cur.shape);
    if (ops->move)
        ops->move(opaque, cur.x, cur.y, cur.visible && cur.shape);
    return l;
}

void fb_cursor_remove_listener(struct fb_cursor_listener *l)
{
    for (struct fb_cursor_listener **pp = &cur.listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            free(l);
            return;
        }
    }
}
