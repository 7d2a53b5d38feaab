/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE simple display (display/spice.h): the framebuffer core's
 * surface shown to SPICE clients when no QXL device claims the display,
 * as QEMU's ui/spice-display.c does.  display/spice.c creates it on its
 * server (spice_simple_create()) and stops it (spice-priv.h).
 *
 * One QXLInstance whose "guest memory" is host memory.  One memslot (group 0, slot 0, generation 0)
 * spans the whole address space, so a QXLPHYSICAL is simply a pointer in xendm: the primary surface
 * buffer (spice-server's canvas) and the draw commands we allocate.  The framebuffer core's dirty
 * rectangles are collected in a region; after the refresh pass (an idle callback) each rectangle of
 * it becomes one QXL_DRAW_COPY of a freshly allocated 32-bit bitmap holding just that rectangle's
 * pixels (pixman converts 16/24-bit surfaces) — no full-frame copy unless the whole frame changed.
 * A resize drops queued commands and recreates the primary surface at the new size.
 *
 * Thread hand-off (the one sanctioned lock, style.md rule 3): `sd.lock`
 * protects only the queue of commands made but not yet taken and the
 * "tell me when it is empty" flag.
 *   main thread   makes commands (copying pixels) without the lock, then
 *                 appends them under it and calls spice_qxl_wakeup();
 *                 never calls into spice-server while holding the lock
 *                 (spice_qxl_* may wait for the worker, which may be
 *                 waiting for the lock);
 *   red worker    get_command() pops one under the lock;
 *                 req_cmd_notification() looks at the queue under it;
 *                 release_resource() frees a command without it (it owns
 *                 the command by then) and counts with atomics.
 * New commands are made only while the queue is empty, so at most one
 * frame's worth waits here while spice-server is busy (slow clients are
 * spice-server's business: it stops taking commands when its pipes are
 * full).  When the queue is not empty, dirty areas accumulate in the
 * region; the worker wakes the main loop through an eventfd when it takes
 * the last command, and the region is flushed then.
 *
 * The framebuffer core is listened to only while a client is connected
 * and SPICE_DISPLAY_LINGER_MS after the last one left (spice_simple_watch()):
 * without listeners the core makes no refresh passes at all.  A client's
 * first connection (its main channel) attaches the listener, whose first
 * pass recreates the surface if the mode changed and sends a full frame,
 * so spice-server's canvas is current by the time the client's display
 * channel asks for it: clients such as spicy-screenshot keep the first
 * image they get.
 *
 * Left out: a cursor channel (the framebuffer core's producers draw the
 * pointer into the surface).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>
#include <pixman.h>

#include "display/fb.h"
#include "display/spice.h"
#include "display/spice-priv.h"
#include "src/log.h"
#include "src/threads.h"

/* ------------------------------------------------------------ tuning --- */

/* QEMU's simple-display memslot layout (ui/spice-display.h): 8 slot bits
 * and 8 generation bits at the top of a QXLPHYSICAL, which user-space
 * pointers on x86-64 (below 2^47) leave zero. */
#define SPICE_MEMSLOT_GROUP_HOST 0
#define SPICE_NUM_MEMSLOTS       8
#define SPICE_NUM_MEMSLOT_GROUPS 2
#define SPICE_MEMSLOT_GEN_BITS   8
#define SPICE_MEMSLOT_ID_BITS    8
#define SPICE_NUM_SURFACES       1024
/* spice-server's QXL RAM hint for clients' caches (QEMU: 16 MiB). */
#define SPICE_QXL_RAM_SIZE (16u << 20)
/*
 * A flush with more dirty rectangles than this sends their bounding box
 * instead (each rectangle costs spice-server one drawable and one image on
 * the wire).  Not measured: twice the framebuffer core's per-pass cap (fb.c
 * FB_MAX_UPDATE_RECTS, 256), so the rectangles of two passes that piled up
 * while spice-server was busy still go out as they are.  test-spice's
 * scattered-pixel case (300 pixels, banded by the core) stays below it.
 */
#define SPICE_MAX_FLUSH_RECTS 512
/* After no draw command could be allocated, try the pending area again
 * this much later (not measured: a pause long enough not to spin on a
 * host that is out of memory, short enough to look like one slow frame). */
#define SPICE_OOM_RETRY_MS 100
/* Cookies of the asynchronous surface calls (primary_destroy). */
#define SPICE_COOKIE_DESTROY 1
#define SPICE_COOKIE_CREATE  2

/* ------------------------------------------------------------- state --- */

struct spice_update {
    QXLCommandExt ext;
    QXLDrawable drawable;
    QXLImage image;
    size_t bytes;
    uint8_t *bitmap; /* follows the struct in the same allocation */
};

static struct {
    bool display;
    QXLInstance qxl;
    uint8_t *primary; /* spice-server's canvas */
    unsigned width, height;
    struct fb_listener *listener; /* only while watched (spice_simple_watch) */
    guint linger_timer;           /* stop listening when it fires */
    bool stopping;                /* spice_simple_quiesce() ran: no more sources */
    pixman_region32_t pending;    /* dirty, not yet made into commands */
    guint flush_idle;
    guint retry_timer; /* display_flush() again after an allocation failed */
    uint64_t image_unique;
    int efd; /* the worker took the last command, or finished an async call */
    guint efd_watch;
    GQueue retired;    /* canvases whose asynchronous destroy is in flight */
    unsigned creating; /* asynchronous creates in flight: no commands yet */

    /* shared with the red worker: the lock guards queue, notify and done */
    pthread_mutex_t lock;
    GQueue queue; /* struct spice_update *, oldest first */
    bool notify;  /* write efd when the worker empties the queue */
    GQueue done;  /* cookies of finished asynchronous calls */

    /* counters: main thread, except released (the worker; atomics) */
    uint64_t commands, bytes, surfaces;
    uint64_t released;
} sd = {.lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1};

/* ------------------------------------------- simple display: worker --- */

#define QIN_UNUSED(q) (void)(q)

static void qxl_attached_worker(QXLInstance *qin)
{
    QIN_UNUSED(qin);
}

static void qxl_set_compression_level(QXLInstance *qin, int level)
{
    QIN_UNUSED(qin);
}

static void qxl_set_mm_time(QXLInstance *qin, uint32_t mm_time)
{
    QIN_UNUSED(qin);
}

static void qxl_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
    memset(info, 0, sizeof(*info));
    info->num_memslots = SPICE_NUM_MEMSLOTS;
    info->num_memslots_groups = SPICE_NUM_MEMSLOT_GROUPS;
    info->memslot_gen_bits = SPICE_MEMSLOT_GEN_BITS;
    info->memslot_id_bits = SPICE_MEMSLOT_ID_BITS;
    info->internal_groupslot_id = 0;
    info->qxl_ram_size = SPICE_QXL_RAM_SIZE;
    info->n_surfaces = SPICE_NUM_SURFACES;
}

/* spice-server's worker thread starts before deprivileging and keeps the
 * capabilities it was born with (they are per thread): it drops them on its
 * first poll for commands, which comes before any client is served
 * (src/threads.h). */
/* Red worker: the next draw command, or 0. */
static int qxl_get_command(QXLInstance *qin, struct QXLCommandExt *ext)
{
    thread_drop_caps_once();
    bool wake = false;
    pthread_mutex_lock(&sd.lock);
    struct spice_update *u = g_queue_pop_head(&sd.queue);
    if (u && g_queue_is_empty(&sd.queue) && sd.notify) {
        sd.notify = false;
        wake = true;
    }
    pthread_mutex_unlock(&sd.lock);
    if (wake) {
        uint64_t one = 1;
        if (write(sd.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            abort(); /* the eventfd is ours and open: cannot fail otherwise */
    }
    if (!u)
        return 0;
    *ext = u->ext;
    return 1;
}

/* Red worker: ask to be woken (spice_qxl_wakeup) when commands come;
 * returns 0 when there already are some. */
static int qxl_req_cmd_notification(QXLInstance *qin)
{
    thread_drop_caps_once();
    pthread_mutex_lock(&sd.lock);
    bool empty = g_queue_is_empty(&sd.queue);
    pthread_mutex_unlock(&sd.lock);
    return empty;
}

/* Red worker: spice-server is done with a command we made. */
static void qxl_release_resource(QXLInstance *qin, struct QXLReleaseInfoExt rel)
{
    if (!rel.info || rel.group_id != SPICE_MEMSLOT_GROUP_HOST)
        return;
    struct spice_update *u = (struct spice_update *)(uintptr_t)rel.info->id;
    __atomic_add_fetch(&sd.released, 1, __ATOMIC_RELAXED);
    g_free(u);
}

static int qxl_get_cursor_command(QXLInstance *qin, struct QXLCommandExt *ext)
{
    return 0; /* no cursor plane: the guest draws its own pointer */
}

static int qxl_req_cursor_notification(QXLInstance *qin)
{
    return 1;
}

static void qxl_notify_update(QXLInstance *qin, uint32_t update_id) {}

static int qxl_flush_resources(QXLInstance *qin)
{
    return 0;
}

/* Red worker: an asynchronous surface call finished; main learns of it
 * through the eventfd (display_efd_ready). */
static void qxl_async_complete(QXLInstance *qin, uint64_t cookie)
{
    pthread_mutex_lock(&sd.lock);
    g_queue_push_tail(&sd.done, (gpointer)(uintptr_t)cookie);
    pthread_mutex_unlock(&sd.lock);
    uint64_t one = 1;
    if (write(sd.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        abort(); /* the eventfd is ours and open: cannot fail otherwise */
}

static void qxl_update_area_complete(QXLInstance *qin, uint32_t surface_id, struct QXLRect *rects,
                                     uint32_t n)
{
}

static void qxl_set_client_capabilities(QXLInstance *qin, uint8_t client_present,
                                        uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
}

static int qxl_client_monitors_config(QXLInstance *qin, VDAgentMonitorsConfig *mc)
{
    return 0; /* no guest driver to resize for the client */
}

/*
 * The simple display's QXLInterface.  spice-server calls:
 *   get_init_info         main thread, from spice_server_add_interface();
 *   attached_worker, set_compression_level, set_mm_time
 *                         main or red worker; nothing to do;
 *   get_command, req_cmd_notification, release_resource, get_cursor_command,
 *   req_cursor_notification, notify_update, flush_resources
 *                         red worker; must not block except on sd.lock
 *                         (held only for queue operations); the worker owns
 *                         a command from get_command until it passes it to
 *                         release_resource, which frees it;
 *   async_complete, update_area_complete, set_client_capabilities,
 *   client_monitors_config
 *                         red worker / main; unused by the simple display.
 */
/* set_mm_time is deprecated but some spice-server versions call it without
 * checking for NULL: provide it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const QXLInterface spice_qxl_if = {
    .base = {.type = SPICE_INTERFACE_QXL,
             .description = "xendm simple display",
             .major_version = SPICE_INTERFACE_QXL_MAJOR,
             .minor_version = SPICE_INTERFACE_QXL_MINOR},
    .attached_worker = qxl_attached_worker,
    .set_compression_level = qxl_set_compression_level,
    .set_mm_time = qxl_set_mm_time,
    .get_init_info = qxl_get_init_info,
    .get_command = qxl_get_command,
    .req_cmd_notification = qxl_req_cmd_notification,
    .release_resource = qxl_release_resource,
    .get_cursor_command = qxl_get_cursor_command,
    .req_cursor_notification = qxl_req_cursor_notification,
    .notify_update = qxl_notify_update,
    .flush_resources = qxl_flush_resources,
    .async_complete = qxl_async_complete,
    .update_area_complete = qxl_update_area_complete,
    .set_client_capabilities = qxl_set_client_capabilities,
    .client_monitors_config = qxl_client_monitors_config,
};
#pragma GCC diagnostic pop

/* --------------------------------------------- simple display: main --- */

static uint32_t mm_time_now(void)
{
    return (uint32_t)(g_get_monotonic_time() / 1000);
}

int spice_draw_copy(QXLDrawable *d, QXLImage *im, uint8_t *bits, pixman_image_t *src,
                    const pixman_box32_t *b, uint64_t release_id, uint32_t image_unique)
{
    int w = b->x2 - b->x1, h = b->y2 - b->y1;
    pixman_image_t *dst =
        pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, (uint32_t *)(void *)bits, w * 4);
    if (!dst)
        return -ENOMEM;
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, b->x1, b->y1, 0, 0, 0, 0, w, h);
    pixman_image_unref(dst);

    memset(d, 0, sizeof(*d));
    d->release_info.id = release_id;
    d->surface_id = 0;
    d->effect = QXL_EFFECT_OPAQUE;
    d->type = QXL_DRAW_COPY;
    d->bbox = (QXLRect){.top = b->y1, .left = b->x1, .bottom = b->y2, .right = b->x2};
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    d->mm_time = mm_time_now();
    d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    d->u.copy.src_bitmap = (QXLPHYSICAL)(uintptr_t)im;
    d->u.copy.src_area = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};

    memset(im, 0, sizeof(*im));
    QXL_SET_IMAGE_ID(im, QXL_IMAGE_GROUP_DEVICE, image_unique);
    im->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    im->descriptor.flags = 0;
    im->descriptor.width = (uint32_t)w;
    im->descriptor.height = (uint32_t)h;
    im->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    im->bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
    im->bitmap.x = (uint32_t)w;
    im->bitmap.y = (uint32_t)h;
    im->bitmap.stride = (uint32_t)w * 4;
    im->bitmap.palette = 0;
    im->bitmap.data = (QXLPHYSICAL)(uintptr_t)bits;
    return 0;
}

/* One QXL_DRAW_COPY of the surface's pixels in box b (clipped by the
 * caller), or NULL when out of memory. */
static struct spice_update *update_new(pixman_image_t *src, const pixman_box32_t *b)
{
    int w = b->x2 - b->x1, h = b->y2 - b->y1;
    size_t bytes = (size_t)w * (size_t)h * 4;
    size_t head = (sizeof(struct spice_update) + 15) & ~(size_t)15;
    struct spice_update *u = g_try_malloc0(head + bytes);
    if (!u)
        return NULL;
    u->bitmap = (uint8_t *)u + head;
    u->bytes = bytes;
    if (spice_draw_copy(&u->drawable, &u->image, u->bitmap, src, b, (uint64_t)(uintptr_t)u,
                        (uint32_t)++sd.image_unique) < 0) {
        g_free(u);
        return NULL;
    }
    u->ext.cmd.type = QXL_CMD_DRAW;
    u->ext.cmd.data = (QXLPHYSICAL)(uintptr_t)&u->drawable;
    u->ext.group_id = SPICE_MEMSLOT_GROUP_HOST;
    u->ext.flags = 0;
    return u;
}

/* Commands that spice-server never took (resize, stop). */
static void queue_drop(void)
{
    GQueue q;
    pthread_mutex_lock(&sd.lock);
    q = sd.queue;
    g_queue_init(&sd.queue);
    sd.notify = false;
    pthread_mutex_unlock(&sd.lock);
    struct spice_update *u;
    while ((u = g_queue_pop_head(&q)))
        g_free(u);
}

static gboolean display_retry(gpointer data);

/* Turn the pending region into commands, if spice-server took the last.
 * A rectangle whose command cannot be allocated stays pending: it goes
 * with the next flush (when the worker took these, or after
 * SPICE_OOM_RETRY_MS if none could be made). */
static void display_flush(void)
{
    if (!sd.primary || sd.creating || !pixman_region32_not_empty(&sd.pending))
        return;
    pixman_image_t *src = fb_image();
    if (!src || (unsigned)pixman_image_get_width(src) != sd.width ||
        (unsigned)pixman_image_get_height(src) != sd.height) {
        /* a resize is on its way from the core and will repaint */
        pixman_region32_clear(&sd.pending);
        return;
    }
    pthread_mutex_lock(&sd.lock);
    bool busy = !g_queue_is_empty(&sd.queue);
    if (busy)
        sd.notify = true;
    pthread_mutex_unlock(&sd.lock);
    if (busy)
        return; /* the worker writes efd when it took the last one */

    int n;
    pixman_box32_t *boxes = pixman_region32_rectangles(&sd.pending, &n);
    pixman_box32_t one;
    if (n > SPICE_MAX_FLUSH_RECTS) {
        one = *pixman_region32_extents(&sd.pending);
        boxes = &one;
        n = 1;
    }
    GQueue made = G_QUEUE_INIT;
    pixman_region32_t left; /* not made (out of memory): stays pending */
    pixman_region32_init(&left);
    for (int i = 0; i < n; i++) {
        if (boxes[i].x2 <= boxes[i].x1 || boxes[i].y2 <= boxes[i].y1)
            continue;
        struct spice_update *u = update_new(src, &boxes[i]);
        if (!u) {
            LOG_GUEST("spice", "out of memory for a %dx%d update: kept for later",
                      boxes[i].x2 - boxes[i].x1, boxes[i].y2 - boxes[i].y1);
            pixman_region32_union_rect(&left, &left, boxes[i].x1, boxes[i].y1,
                                       (unsigned)(boxes[i].x2 - boxes[i].x1),
                                       (unsigned)(boxes[i].y2 - boxes[i].y1));
            continue;
        }
        sd.bytes += u->bytes;
        sd.commands++;
        g_queue_push_tail(&made, u);
    }
    pixman_region32_copy(&sd.pending, &left);
    bool again = pixman_region32_not_empty(&left);
    pixman_region32_fini(&left);
    if (g_queue_is_empty(&made)) {
        /* nothing to wait for: try again in a while */
        if (again && !sd.retry_timer) {
            sd.retry_timer = g_timeout_add(SPICE_OOM_RETRY_MS, display_retry, NULL);
            g_source_set_name_by_id(sd.retry_timer, "spice-oom-retry");
        }
        return;
    }
    pthread_mutex_lock(&sd.lock);
    while (!g_queue_is_empty(&made))
        g_queue_push_tail(&sd.queue, g_queue_pop_head(&made));
    if (again)
        sd.notify = true; /* the rest once the worker took these (efd) */
    pthread_mutex_unlock(&sd.lock);
    spice_qxl_wakeup(&sd.qxl);
}

static gboolean display_retry(gpointer data)
{
    sd.retry_timer = 0;
    display_flush();
    return G_SOURCE_REMOVE;
}

static gboolean display_flush_idle(gpointer data)
{
    sd.flush_idle = 0;
    display_flush();
    return G_SOURCE_REMOVE;
}

/* The worker took the last queued command: flush what accumulated. */
static gboolean display_efd_ready(gint fd, GIOCondition cond, gpointer data)
{
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_msg("spice", "eventfd read: %s", g_strerror(errno));
    GQueue done;
    pthread_mutex_lock(&sd.lock);
    done = sd.done;
    g_queue_init(&sd.done);
    pthread_mutex_unlock(&sd.lock);
    for (gpointer c; (c = g_queue_pop_head(&done));) {
        if ((uintptr_t)c == SPICE_COOKIE_DESTROY)
            g_free(g_queue_pop_head(&sd.retired)); /* destroys finish in order */
        else if (sd.creating)
            sd.creating--;
    }
    display_flush();
    return G_SOURCE_CONTINUE;
}

/*
 * Surfaces change asynchronously: the synchronous calls wait until every
 * client has drained what it was sent for the old surface, so a client that
 * stops reading would hold the main loop (and the guest) for spice-server's
 * client timeout on each mode switch.  The old canvas lives until its
 * destroy completes; no command is queued until the new surface exists
 * (the worker polls for commands independently of the surface calls).
 */
static void primary_destroy(void)
{
    if (!sd.primary)
        return;
    g_queue_push_tail(&sd.retired, sd.primary);
    spice_qxl_destroy_primary_surface_async(&sd.qxl, 0, SPICE_COOKIE_DESTROY);
    sd.primary = NULL;
    sd.width = sd.height = 0;
}

static void display_resize(void *opaque, unsigned w, unsigned h)
{
    queue_drop();
    pixman_region32_clear(&sd.pending);
    if (sd.primary && w == sd.width && h == sd.height)
        return; /* same canvas; the full update that follows repaints it */
    primary_destroy();
    if (!w || !h)
        return;
    size_t bytes = (size_t)w * h * 4;
    sd.primary = g_try_malloc0(bytes);
    if (!sd.primary) {
        LOG_GUEST("spice", "out of memory for a %ux%u surface: SPICE shows nothing", w, h);
        return;
    }
    sd.width = w;
    sd.height = h;
    QXLDevSurfaceCreate s = {
        .width = w,
        .height = h,
        .stride = -(int32_t)(w * 4), /* as QEMU: bottom-up canvas, mem = first row */
        .format = SPICE_SURFACE_FMT_32_xRGB,
        .position = 0,
        .mouse_mode = 1,
        .flags = 0,
        .type = QXL_SURF_TYPE_PRIMARY,
        .mem = (uint64_t)(uintptr_t)sd.primary,
        .group_id = SPICE_MEMSLOT_GROUP_HOST,
    };
    sd.creating++;
    spice_qxl_create_primary_surface_async(&sd.qxl, 0, &s, SPICE_COOKIE_CREATE);
    sd.surfaces++;
}

static void display_update(void *opaque, int x, int y, int w, int h)
{
    if (!sd.primary)
        return;
    pixman_region32_union_rect(&sd.pending, &sd.pending, x, y, (unsigned)w, (unsigned)h);
    pixman_region32_intersect_rect(&sd.pending, &sd.pending, 0, 0, sd.width, sd.height);
    if (!sd.flush_idle) {
        sd.flush_idle = g_idle_add(display_flush_idle, NULL);
        g_source_set_name_by_id(sd.flush_idle, "spice-flush");
    }
}

static const struct fb_listener_ops spice_fb_ops = {
    .resize = display_resize,
    .update = display_update,
};

static gboolean display_linger_done(gpointer data)
{
    sd.linger_timer = 0;
    if (spice_client_links() == 0 && sd.listener) {
        fb_remove_listener(sd.listener);
        sd.listener = NULL;
        pixman_region32_clear(&sd.pending); /* the next full update covers it */
        log_msg("spice", "no client for %d s: display updates paused",
                SPICE_DISPLAY_LINGER_MS / 1000);
    }
    return G_SOURCE_REMOVE;
}

/*
 * Listen to the framebuffer core while someone can see the display: from
 * the first client connection on (the fresh listener gets the surface and a
 * full update at once, so spice-server's canvas is current by the time the
 * client's display channel asks for it), until SPICE_DISPLAY_LINGER_MS
 * after the last one closed.  Runs on the main loop, never inside a
 * spice-server callback (it calls spice_qxl_*).  The canvas and queued
 * commands stay while nobody listens.
 */
void spice_simple_watch(void)
{
    bool clients = spice_client_links() > 0;
    if (!sd.display || sd.stopping)
        return;
    if (clients) {
        if (sd.linger_timer)
            g_source_remove(sd.linger_timer);
        sd.linger_timer = 0;
        if (!sd.listener) {
            sd.listener = fb_add_listener(&spice_fb_ops, NULL);
            fb_refresh_now(); /* resize (if needed) and the full update, now */
        }
    } else if (sd.listener && !sd.linger_timer) {
        sd.linger_timer = g_timeout_add(SPICE_DISPLAY_LINGER_MS, display_linger_done, NULL);
        g_source_set_name_by_id(sd.linger_timer, "spice-linger");
    }
}

int spice_simple_create(SpiceServer *server, char **err)
{
    sd.stopping = false;
    sd.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sd.efd < 0) {
        spice_fail(err, "eventfd: %s", g_strerror(errno));
        return -1;
    }
    sd.efd_watch = g_unix_fd_add(sd.efd, G_IO_IN, display_efd_ready, NULL);
    g_source_set_name_by_id(sd.efd_watch, "spice-display");
    pixman_region32_init(&sd.pending);
    sd.qxl.base.sif = &spice_qxl_if.base;
    sd.qxl.id = 0;
    if (spice_server_add_interface(server, &sd.qxl.base) != 0) {
        spice_fail(err, "spice-server refused the display interface");
        g_source_remove(sd.efd_watch);
        sd.efd_watch = 0;
        close(sd.efd);
        sd.efd = -1;
        pixman_region32_fini(&sd.pending);
        return -1;
    }
    QXLDevMemSlot slot = {
        .slot_group_id = SPICE_MEMSLOT_GROUP_HOST,
        .slot_id = 0,
        .generation = 0,
        .virt_start = 0,
        .virt_end = ~(uintptr_t)0,
        .addr_delta = 0,
        .qxl_ram_size = ~0u,
    };
    spice_qxl_add_memslot(&sd.qxl, &slot);
    sd.display = true;
    spice_simple_watch(); /* clients may have connected before the machine existed */
    return 0;
}

void spice_simple_quiesce(void)
{
    sd.stopping = true;
    if (!sd.display)
        return;
    if (sd.listener)
        fb_remove_listener(sd.listener);
    sd.listener = NULL;
    guint *sources[] = {&sd.linger_timer, &sd.flush_idle, &sd.retry_timer,
                        &sd.efd_watch};
    for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
        g_clear_handle_id(sources[i], g_source_remove);
}

/* Commands the worker held when it ended are not released back: this runs
 * at exit only. */
void spice_simple_free(void)
{
    if (!sd.display)
        return;
    queue_drop();
    g_free(sd.primary);
    sd.primary = NULL;
    sd.width = sd.height = 0;
    for (gpointer c; (c = g_queue_pop_head(&sd.retired));)
        g_free(c);
    g_queue_clear(&sd.done);
    sd.creating = 0;
    if (sd.efd >= 0)
        close(sd.efd);
    sd.efd = -1;
    pixman_region32_fini(&sd.pending);
    sd.display = false;
}

void spice_simple_get_stats(struct spice_stats *st)
{
    st->commands = sd.commands;
    st->released = __atomic_load_n(&sd.released, __ATOMIC_RELAXED);
    st->bytes = sd.bytes;
    st->surfaces = sd.surfaces;
    st->width = sd.width;
    st->height = sd.height;
}
