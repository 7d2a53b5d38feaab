/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE side of the QXL device (display/qxl.h), main-thread half: the
 * cookies of asynchronous spice-server calls and the events the worker
 * leaves (interrupts, log lines, completions), VGA mode shown to SPICE
 * clients as draw commands made from the framebuffer core, and the life
 * cycle.  The worker half (the QXLInterface) is display/qxl-spice.c.
 *
 * Servers: with -spice, display/spice.c's (spice_display_server(); we
 * claim the display, so it makes no simple display of its own, and it
 * starts the worker with spice_server_vm_start() once the machine
 * exists).  That server ends before the machine (spice_stop()), which
 * tells us (server_gone()): no spice-server call is made after it, and if
 * the device went first (a failed start-up) our state, inert, is freed
 * then.  Without, one made here that listens nowhere, as QEMU does for
 * a QXL device without -spice: it renders the guest's commands for VNC
 * and screendump.  Its core interface (timers, fd watches) is
 * display/spice-core.c's, on xendm's main loop (spice_core_interface()).
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pixman.h>

#include "display/qxl.h"
#include "display/spice.h"
#include "display/spice-priv.h"
#include "src/log.h"

#define TAG "qxl"

/* A VGA-mode flush with more dirty rectangles than this sends their
 * bounding box: each rectangle costs spice-server one drawable and one
 * image on the wire, and the framebuffer core already sends at most 256
 * per pass (fb.c FB_MAX_UPDATE_RECTS). */
#define QXL_VGA_MAX_RECTS 256
/* After no VGA-mode command could be allocated, try again this much later
 * (as display/spice-display.c's SPICE_OOM_RETRY_MS: not measured). */
#define QXL_VGA_OOM_RETRY_MS 100

/* ------------------------------------------------------------------------
 * Cookies and events (main thread)
 */

uint64_t qxl_spice_cookie(struct qxl_spice *sp, struct qxl_cookie *c)
{
    return (uint64_t)(uintptr_t)c;
}

struct qxl_cookie *qxl_spice_internal_cookie(void)
{
    struct qxl_cookie *c = g_new0(struct qxl_cookie, 1);

    c->kind = QXL_COOKIE_INTERNAL;
    return c;
}

bool qxl_spice_wait(struct qxl_spice *sp, struct qxl_cookie *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    bool done;

    g_mutex_lock(&sp->lock);
    while (!c->done)
        if (!g_cond_wait_until(&sp->cond, &sp->lock, end))
            break;
    done = c->done;
    if (done)
        g_free(c);
    else
        c->abandoned = true;
    g_mutex_unlock(&sp->lock);
    return done;
}

static void vga_flush(struct qxl *s);

void qxl_spice_events(struct qxl_spice *sp)
{
    GQueue logs = G_QUEUE_INIT, done = G_QUEUE_INIT;
    struct qxl *s;
    uint32_t ev;
    char *msg;
    struct qxl_cookie *c;
    struct qxl_cursor_pend cur;

    g_mutex_lock(&sp->lock);
    s = sp->dead ? NULL : sp->dev;
    ev = sp->events;
    sp->events = 0;
    cur = sp->cursor; /* this batch; visibility and the refusal count stay */
    sp->cursor.argb = NULL;
    sp->cursor.why = NULL;
    sp->cursor.dirty = sp->cursor.moved = false;
    logs = sp->logs;
    g_queue_init(&sp->logs);
    done = sp->async_done;
    g_queue_init(&sp->async_done);
    g_mutex_unlock(&sp->lock);
    while ((msg = g_queue_pop_head(&logs))) {
        LOG_GUEST(TAG, "%s", msg);
        g_free(msg);
    }
    while ((c = g_queue_pop_head(&done))) {
        if (s) {
            qxl_async_complete(s, c);
        } else {
            g_free(c->monitors);
            g_free(c);
        }
    }
    if (s)
        qxl_cursor_apply(&cur);
    else
        qxl_cursor_pend_clear(&cur);
    if (!s)
        return;
    if (ev & QXL_EV_VGA)
        vga_flush(s);
    if (ev & QXL_EV_IRQ)
        qxl_update_irq(s);
}

static gboolean on_event(gint fd, GIOCondition cond, gpointer data)
{
    uint64_t n;

    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_msg(TAG, "event read failed: %s", g_strerror(errno));
    qxl_spice_events(data);
    return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------
 * VGA mode for SPICE clients: the framebuffer core's changes become draw
 * commands on a host primary surface (main thread)
 */

static void vga_drop_queued(struct qxl_spice *sp)
{
    GQueue q;
    struct qxl_copy *c;

    g_mutex_lock(&sp->lock);
    q = sp->vga_cmds;
    g_queue_init(&sp->vga_cmds);
    g_mutex_unlock(&sp->lock);
    while ((c = g_queue_pop_head(&q)))
        qxl_copy_free(c);
}

static struct qxl_copy *vga_command(struct qxl_spice *sp, pixman_image_t *src,
                                    const pixman_box32_t *b)
{
    struct qxl_copy *c = g_new0(struct qxl_copy, 1);
    QXLDrawable *d = qxl_copy_alloc(c, sizeof(*d));
    QXLImage *img = qxl_copy_alloc(c, sizeof(*img));
    uint8_t *bits = qxl_copy_alloc(c, (size_t)(b->x2 - b->x1) * (size_t)(b->y2 - b->y1) * 4);

    if (!d || !img || !bits ||
        spice_draw_copy(d, img, bits, src, b, (uint64_t)(uintptr_t)c, sp->vga_unique++) < 0) {
        qxl_copy_free(c);
        return NULL;
    }
    c->type = QXL_CMD_DRAW;
    c->cmd = d;
    return c;
}

/* The retry after an allocation failure (QXL_VGA_OOM_RETRY_MS).  One
 * source for the file: xendm has one QXL card (it is the VGA device). */
static guint vga_retry;

static gboolean vga_retry_fire(gpointer data)
{
    vga_retry = 0;
    vga_flush(data);
    return G_SOURCE_REMOVE;
}

static void vga_retry_cancel(void)
{
    if (vga_retry)
        g_source_remove(vga_retry);
    vga_retry = 0;
}

/* Send what changed, if spice-server took everything we sent before.  A
 * rectangle whose command cannot be allocated stays dirty: it goes when
 * the worker took the rest (QXL_EV_VGA), or after QXL_VGA_OOM_RETRY_MS. */
static void vga_flush(struct qxl *s)
{
    struct qxl_spice *sp = s->sp;
    pixman_image_t *src = fb_image();
    pixman_region32_t left; /* not made (out of memory): stays dirty */
    pixman_box32_t *b, ext;
    GQueue q = G_QUEUE_INIT;
    bool empty;
    int n;

    if (!sp->vga_primary || !src || !pixman_region32_not_empty(&sp->vga_dirty))
        return;
    g_mutex_lock(&sp->lock);
    empty = g_queue_is_empty(&sp->vga_cmds);
    g_mutex_unlock(&sp->lock);
    if (!empty)
        return; /* again when the worker takes the last one (QXL_EV_VGA) */
    pixman_region32_intersect_rect(&sp->vga_dirty, &sp->vga_dirty, 0, 0, sp->vga_width,
                                   sp->vga_height);
    b = pixman_region32_rectangles(&sp->vga_dirty, &n);
    if (n > QXL_VGA_MAX_RECTS) {
        ext = *pixman_region32_extents(&sp->vga_dirty);
        b = &ext;
        n = 1;
    }
    pixman_region32_init(&left);
    for (int i = 0; i < n; i++) {
        struct qxl_copy *c = vga_command(sp, src, &b[i]);
        if (c) {
            g_queue_push_tail(&q, c);
            continue;
        }
        /* out of memory: keep it for the next flush */
        LOG_GUEST(TAG, "out of memory for a %dx%d VGA-mode update: kept for later",
                  b[i].x2 - b[i].x1, b[i].y2 - b[i].y1);
        pixman_region32_union_rect(&left, &left, b[i].x1, b[i].y1, (unsigned)(b[i].x2 - b[i].x1),
                                   (unsigned)(b[i].y2 - b[i].y1));
    }
    pixman_region32_copy(&sp->vga_dirty, &left);
    pixman_region32_fini(&left);
    if (g_queue_is_empty(&q)) {
        /* nothing queued, so no QXL_EV_VGA will come: try again later */
        if (pixman_region32_not_empty(&sp->vga_dirty) && !vga_retry) {
            vga_retry = g_timeout_add(QXL_VGA_OOM_RETRY_MS, vga_retry_fire, s);
            g_source_set_name_by_id(vga_retry, "qxl-vga-oom-retry");
        }
        return;
    }
    g_mutex_lock(&sp->lock);
    while (!g_queue_is_empty(&q))
        g_queue_push_tail(&sp->vga_cmds, g_queue_pop_head(&q));
    g_mutex_unlock(&sp->lock);
    spice_qxl_wakeup(&sp->qin);
}

static void vga_primary_destroy(struct qxl_spice *sp)
{
    vga_retry_cancel();
    vga_drop_queued(sp);
    pixman_region32_clear(&sp->vga_dirty);
    if (!sp->vga_primary)
        return;
    if (sp->server)
        spice_qxl_destroy_primary_surface(&sp->qin, 0);
    g_free(sp->vga_primary);
    sp->vga_primary = NULL;
    sp->vga_width = sp->vga_height = 0;
}

static void vga_resize(void *opaque, unsigned width, unsigned height)
{
    struct qxl *s = opaque;
    struct qxl_spice *sp = s->sp;
    QXLDevSurfaceCreate sc;

    vga_primary_destroy(sp);
    sp->vga_primary = g_try_malloc0((size_t)width * height * 4);
    if (!sp->vga_primary) {
        LOG_GUEST(TAG, "no memory for a %ux%u SPICE surface", width, height);
        return;
    }
    sp->vga_width = width;
    sp->vga_height = height;
    sc = (QXLDevSurfaceCreate){
        .width = width,
        .height = height,
        .stride = (int32_t)(width * 4),
        .format = SPICE_SURFACE_FMT_32_xRGB,
        .mouse_mode = 1,
        .type = QXL_SURF_TYPE_PRIMARY,
        .mem = (uint64_t)(uintptr_t)sp->vga_primary,
        .group_id = 0,
    };
    spice_qxl_create_primary_surface(&sp->qin, 0, &sc);
}

static void vga_update(void *opaque, int x, int y, int w, int h)
{
    struct qxl *s = opaque;

    pixman_region32_union_rect(&s->sp->vga_dirty, &s->sp->vga_dirty, x, y, (unsigned)w,
                               (unsigned)h);
    vga_flush(s);
}

static const struct fb_listener_ops vga_listener_ops = {
    .resize = vga_resize,
    .update = vga_update,
};

static void vga_unlisten(struct qxl_spice *sp)
{
    if (sp->vga_linger)
        g_source_remove(sp->vga_linger);
    sp->vga_linger = 0;
    if (sp->vga_listener)
        fb_remove_listener(sp->vga_listener);
    sp->vga_listener = NULL;
}

static gboolean vga_linger_done(gpointer data)
{
    struct qxl_spice *sp = data;

    sp->vga_linger = 0;
    if (spice_client_links() == 0 && sp->vga_listener) {
        fb_remove_listener(sp->vga_listener);
        sp->vga_listener = NULL;
        pixman_region32_clear(&sp->vga_dirty); /* the next listener's full update covers it */
        log_msg(TAG, "no SPICE client for %d s: VGA-mode updates paused",
                SPICE_DISPLAY_LINGER_MS / 1000);
    }
    return G_SOURCE_REMOVE;
}

/*
 * VGA mode is drawn for SPICE clients only while someone can see it, as
 * the simple display does (spice-display.c): from a client's first
 * connection on (the fresh listener's first pass recreates the host
 * primary and sends the whole frame at once, before the client's display
 * channel asks) until SPICE_DISPLAY_LINGER_MS after the last one left.
 * Without listeners the framebuffer core makes no refresh passes.  Main
 * loop, outside spice-server's callbacks.  refresh: make that first pass
 * now (not from the device's register handlers: the next tick does it).
 */
static void vga_listen(struct qxl_spice *sp, bool refresh)
{
    if (!sp->vga_dev || sp->own_server || !sp->server)
        return; /* nobody can watch xendm's own server: no point drawing for it */
    if (spice_client_links() > 0) {
        if (sp->vga_linger)
            g_source_remove(sp->vga_linger);
        sp->vga_linger = 0;
        if (!sp->vga_listener) {
            sp->vga_listener = fb_add_listener(&vga_listener_ops, sp->vga_dev);
            if (refresh)
                fb_refresh_now();
        }
    } else if (sp->vga_listener && !sp->vga_linger) {
        sp->vga_linger = g_timeout_add(SPICE_DISPLAY_LINGER_MS, vga_linger_done, sp);
        g_source_set_name_by_id(sp->vga_linger, "qxl-vga-linger");
    }
}

/* spice.c: SPICE clients came or went (deferred to the main loop). */
static void vga_watch(void *opaque)
{
    vga_listen(opaque, true);
}

void qxl_spice_vga_display(struct qxl *s, bool on)
{
    struct qxl_spice *sp = s->sp;

    if (on) {
        sp->vga_dev = s;
        vga_listen(sp, false);
        return;
    }
    sp->vga_dev = NULL;
    vga_unlisten(sp);
    vga_primary_destroy(sp);
}

/* ------------------------------------------------------------------------
 * Life cycle (main thread)
 */

/* Free sp once spice-server no longer calls it (its worker ended). */
static void sp_free(struct qxl_spice *sp)
{
    struct qxl_cookie *c;
    char *msg;

    if (sp->evfd >= 0)
        close(sp->evfd);
    while ((msg = g_queue_pop_head(&sp->logs)))
        g_free(msg);
    while ((c = g_queue_pop_head(&sp->async_done))) {
        g_free(c->monitors);
        g_free(c);
    }
    vga_drop_queued(sp);
    qxl_cursor_pend_clear(&sp->cursor);
    g_free(sp->vga_primary);
    pixman_region32_fini(&sp->vga_dirty);
    g_mutex_clear(&sp->lock);
    g_cond_clear(&sp->cond);
    g_free(sp);
}

/* spice_stop() ended -spice's server (spice-server joined its worker and
 * released what it held): stop showing VGA mode without calling it, and
 * free sp if the device is already gone. */
static void server_gone(void *opaque)
{
    struct qxl_spice *sp = opaque;

    vga_unlisten(sp);
    sp->vga_dev = NULL;
    sp->server = NULL;
    sp->attached = false;
    vga_primary_destroy(sp);
    if (sp->dead)
        sp_free(sp); /* qxl_spice_fini() ran first */
}

int qxl_spice_init(struct qxl *s, char *err, size_t errlen)
{
    struct qxl_spice *sp = g_new0(struct qxl_spice, 1);
    char path[32];

    g_mutex_init(&sp->lock);
    g_cond_init(&sp->cond);
    g_queue_init(&sp->vga_cmds);
    g_queue_init(&sp->logs);
    g_queue_init(&sp->async_done);
    pixman_region32_init(&sp->vga_dirty);
    qxl_surfaces_reset(&sp->surfaces);
    sp->dev = s;
    sp->ram = (QXLRam *)(s->ram + s->shadow_rom.ram_header_offset);
    sp->rom = (QXLRom *)s->rom;
    sp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sp->evfd < 0) {
        snprintf(err, errlen, "eventfd: %s", g_strerror(errno));
        goto fail;
    }
    sp->ev_source = g_unix_fd_add(sp->evfd, G_IO_IN, on_event, sp);
    s->sp = sp;

    sp->server = spice_display_server();
    if (!sp->server) {
        sp->server = spice_server_new();
        if (!sp->server) {
            snprintf(err, errlen, "spice_server_new failed");
            goto fail;
        }
        sp->own_server = true;
        /* no port: listens nowhere */
        if (spice_server_init(sp->server, spice_core_interface()) != 0) {
            snprintf(err, errlen, "spice_server_init failed");
            goto fail;
        }
    }
    if (qxl_spice_attach(sp) != 0) {
        snprintf(err, errlen, "spice-server refused the QXL interface (%d.%d)",
                 SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR);
        goto fail;
    }
    sp->attached = true;
    /* the one slot spice-server reads through: all of xendm (see above) */
    QXLDevMemSlot host = {.slot_group_id = 0,
                          .slot_id = 0,
                          .generation = 0,
                          .virt_start = 0,
                          .virt_end = ~(uintptr_t)0,
                          .addr_delta = 0};
    spice_qxl_add_memslot(&sp->qin, &host);
    snprintf(path, sizeof(path), "pci/0000/%02x.%x", s->pd->devfn >> 3, s->pd->devfn & 7);
    spice_qxl_set_device_info(&sp->qin, path, 0, 1);
    if (!sp->own_server)
        spice_display_claim(server_gone, vga_watch, sp);
    return 0;

fail:
    s->sp = NULL;
    if (sp->own_server && sp->server)
        spice_server_destroy(sp->server);
    if (sp->ev_source)
        g_source_remove(sp->ev_source);
    sp_free(sp);
    return -EIO;
}

void qxl_spice_start(struct qxl *s)
{
    if (s->sp->own_server)
        spice_server_vm_start(s->sp->server); /* -spice's server is started by spice.c */
}

void qxl_spice_fini(struct qxl *s)
{
    struct qxl_spice *sp = s->sp;

    qxl_spice_vga_display(s, false);
    s->sp = NULL;
    if (sp->ev_source)
        g_source_remove(sp->ev_source);
    sp->ev_source = 0;
    if (sp->server && !sp->own_server) {
        /* -spice's server is still running (the machine failed to start:
         * main.c stops SPICE first otherwise) and may call us until
         * spice_stop(): keep this, inert, until server_gone() */
        g_mutex_lock(&sp->lock);
        sp->dead = true;
        sp->dev = NULL;
        g_mutex_unlock(&sp->lock);
        return; /* the eventfd stays open: the worker may write it */
    }
    /* ours: its end joins the worker, which releases everything first */
    if (sp->own_server)
        spice_server_destroy(sp->server);
    sp->server = NULL;
    sp_free(sp);
}
