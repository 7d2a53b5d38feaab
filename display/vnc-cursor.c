/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cursor plane of the framebuffer core (fb.h, "Cursor") to VNC viewers
 * that take cursor shapes (the RichCursor and XCursor pseudo-encodings):
 * the viewer draws the pointer itself, as it does with QEMU.
 *
 * Nothing is drawn into the published framebuffer for viewers without
 * those encodings, again as in QEMU.  libvncserver would do it (its
 * software cursor, rfbShowCursor) only while screen->cursor is set, and it
 * would write into the buffer the writers read while main updates it, so
 * screen->cursor stays NULL and the shape reaches libvncserver through the
 * getCursorPtr hook instead, which only rfbSendCursorShape() calls.
 *
 * Threads.  Main builds an immutable, reference-counted struct vnc_cursor
 * from each fb_cursor and swaps it into v->cursor under v->cursor_lock (a
 * plain mutex held only to swap or take a reference).  A writer, inside
 * rfbSendCursorShape() under its client's sendMutex, takes a reference in
 * vnc_get_cursor() and keeps it in c->sent_cursor until its next shape or
 * until main frees the client after its threads have been joined, so a
 * shape is never freed while a writer encodes it.  Main then sets each
 * shape-capable client's cursorWasChanged under its updateMutex and
 * signals the writer (never waiting on a writer: updateMutex is not held
 * while sending).
 *
 * Position: QEMU sends none (the viewer's own pointer is where the user
 * put it), and neither do we; only the shape and whether it shows.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "display/vnc-priv.h"

/*
 * Largest shape sent: libvncserver 0.9.14 builds a cursor update in its
 * 32 KiB update buffer and desynchronises the stream when the shape does
 * not fit (header, w*h*4 pixels and the mask: 64x64 takes 16.9 KiB).
 * Larger shapes are cropped to the 64x64 window around the hotspot.
 * Linux's qxl driver sends 64x64 cursors.
 */
#define VNC_CURSOR_MAX 64

struct vnc_cursor {
    gint ref;
    rfbCursor rc;
};

static struct vnc_cursor *cursor_ref(struct vnc_cursor *vc)
{
    if (vc)
        g_atomic_int_inc(&vc->ref);
    return vc;
}

static void cursor_unref(struct vnc_cursor *vc)
{
    if (vc && g_atomic_int_dec_and_test(&vc->ref)) {
        free(vc->rc.source);
        free(vc->rc.mask);
        free(vc->rc.richSource);
        free(vc);
    }
}

/* Where a VNC_CURSOR_MAX window that holds pos starts in 0..size. */
static unsigned crop_start(unsigned size, unsigned pos)
{
    if (size <= VNC_CURSOR_MAX)
        return 0;
    unsigned s = pos >= VNC_CURSOR_MAX / 2 ? pos - VNC_CURSOR_MAX / 2 : 0;
    return s + VNC_CURSOR_MAX > size ? size - VNC_CURSOR_MAX : s;
}

/* An rfbCursor with every representation libvncserver may want filled in
 * (it would otherwise derive, and so write, the missing one while sending). */
static struct vnc_cursor *cursor_build(const struct fb_cursor *fc)
{
    unsigned x0 = crop_start(fc->width, fc->hot_x), y0 = crop_start(fc->height, fc->hot_y);
    unsigned w = fc->width - x0 < VNC_CURSOR_MAX ? fc->width - x0 : VNC_CURSOR_MAX;
    unsigned h = fc->height - y0 < VNC_CURSOR_MAX ? fc->height - y0 : VNC_CURSOR_MAX;
    unsigned bpr = (w + 7) / 8;
    struct vnc_cursor *vc = calloc(1, sizeof(*vc));
    if (!vc)
        return NULL;
    vc->ref = 1;
    vc->rc.source = calloc(bpr, h);
    vc->rc.mask = calloc(bpr, h);
    vc->rc.richSource = calloc((size_t)w * h, 4);
    if (!vc->rc.source || !vc->rc.mask || !vc->rc.richSource) {
        cursor_unref(vc);
        return NULL;
    }
    vc->rc.width = (unsigned short)w;
    vc->rc.height = (unsigned short)h;
    vc->rc.xhot = (unsigned short)(fc->hot_x - x0);
    vc->rc.yhot = (unsigned short)(fc->hot_y - y0);
    vc->rc.foreRed = vc->rc.foreGreen = vc->rc.foreBlue = 0xffff;
    uint32_t *rich = (uint32_t *)(void *)vc->rc.richSource; /* server format: 0x00RRGGBB */
    for (unsigned y = 0; y < h; y++) {
        for (unsigned x = 0; x < w; x++) {
            uint32_t p = fc->argb[(size_t)(y0 + y) * fc->width + x0 + x];
            unsigned a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
            if (a < 0x80)
                continue;   /* transparent: mask bit clear */
            if (a < 0xff) { /* premultiplied: back to the colour itself */
                r = r * 255 / a;
                g = g * 255 / a;
                b = b * 255 / a;
                r = r > 255 ? 255 : r;
                g = g > 255 ? 255 : g;
                b = b > 255 ? 255 : b;
            }
            rich[(size_t)y * w + x] = r << 16 | g << 8 | b;
            uint8_t bit = (uint8_t)(0x80 >> (x & 7));
            vc->rc.mask[(size_t)y * bpr + x / 8] |= bit;
            if (r * 77 + g * 150 + b * 29 >= 128 * 256) /* light: XCursor foreground */
                vc->rc.source[(size_t)y * bpr + x / 8] |= bit;
        }
    }
    return vc;
}

/* vnc-out, under cl->sendMutex: the shape to send (NULL: none). */
static rfbCursorPtr vnc_get_cursor(rfbClientPtr cl)
{
    struct vnc_client *c = cl->clientData;
    if (!c)
        return NULL;
    struct vnc *v = c->v;
    pthread_mutex_lock(&v->cursor_lock);
    struct vnc_cursor *vc = v->cursor_shown ? cursor_ref(v->cursor) : NULL;
    pthread_mutex_unlock(&v->cursor_lock);
    cursor_unref(c->sent_cursor);
    c->sent_cursor = vc;
    return vc ? &vc->rc : NULL;
}

/* Main: have every viewer that takes shapes sent the current one. */
static void cursor_changed(struct vnc *v)
{
    pthread_mutex_lock(&v->lock);
    for (struct vnc_client *c = v->clients; c; c = c->next) {
        rfbClientPtr cl = c->cl;
        if (!cl || c->state != VC_ESTABLISHED)
            continue; /* a viewer in its handshake is sent the shape later */
        pthread_mutex_lock(&cl->updateMutex);
        if (cl->enableCursorShapeUpdates) {
            cl->cursorWasChanged = TRUE;
            pthread_cond_signal(&cl->updateCond);
        }
        pthread_mutex_unlock(&cl->updateMutex);
    }
    pthread_mutex_unlock(&v->lock);
    v->st.cursor_updates++;
}

static void vnc_cursor_define(void *opaque, const struct fb_cursor *fc)
{
    struct vnc *v = opaque;
    struct vnc_cursor *vc = fc ? cursor_build(fc) : NULL;
    if (fc && !vc)
        return; /* out of memory: keep the previous shape */
    pthread_mutex_lock(&v->cursor_lock);
    struct vnc_cursor *old = v->cursor;
    v->cursor = vc;
    pthread_mutex_unlock(&v->cursor_lock);
    cursor_unref(old);
    cursor_changed(v);
}

static void vnc_cursor_move(void *opaque, int x, int y, bool visible)
{
    struct vnc *v = opaque;
    (void)x;
    (void)y;
    pthread_mutex_lock(&v->cursor_lock);
    bool changed = v->cursor_shown != visible;
    v->cursor_shown = visible;
    pthread_mutex_unlock(&v->cursor_lock);
    if (changed)
        cursor_changed(v);
}

static const struct fb_cursor_listener_ops vnc_cursor_ops = {
    .define = vnc_cursor_define,
    .move = vnc_cursor_move,
};

void vnc_cursor_start(struct vnc *v)
{
    pthread_mutex_init(&v->cursor_lock, NULL);
    v->screen->cursor = NULL; /* no software cursor: see the top of this file */
    v->screen->getCursorPtr = vnc_get_cursor;
    v->cursor_listener = fb_cursor_add_listener(&vnc_cursor_ops, v);
}

void vnc_cursor_client_free(struct vnc_client *c)
{
    cursor_unref(c->sent_cursor);
    c->sent_cursor = NULL;
}

void vnc_cursor_stop(struct vnc *v)
{
    fb_cursor_remove_listener(v->cursor_listener);
    v->cursor_listener = NULL;
    cursor_unref(v->cursor);
    v->cursor = NULL;
    pthread_mutex_destroy(&v->cursor_lock);
}
