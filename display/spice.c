/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE front end of spice.h on libspice-server 0.15.
 *
 * Core: spice-server's SpiceCoreInterface (timers, fd watches, channel
 * events) on the default GMainContext, i.e. xendm's one main loop.
 * spice-server calls it only from the thread that ran spice_server_init()
 * (its own worker threads use their own loops, and channel events from
 * them are forwarded to this thread by spice-server's main dispatcher).
 *
 * Options (-spice, parsed by src/cmdline.c): port, tls-port with x509-dir
 * (ca-cert.pem, server-cert.pem, server-key.pem in it, as QEMU reads
 * them), addr, ipv4/ipv6, disable-ticketing or password, agent-mouse,
 * disable-copy-paste, disable-agent-file-xfer, image-compression,
 * streaming-video (default off, as QEMU).  Ticketing: the password is kept
 * here (wiped when replaced) for set_password / expire_password, and never
 * logged.  An expiry is turned into spice-server's ticket lifetime, in
 * seconds from now, each time the ticket is set (QEMU's rule).
 *
 * The simple display (no QXL device): one QXLInstance whose "guest memory"
 * is host memory.  One memslot (group 0, slot 0, generation 0) spans the
 * whole address space, so a QXLPHYSICAL is simply a pointer in xendm: the
 * primary surface buffer (spice-server's canvas) and the draw commands we
 * allocate.  The framebuffer core's dirty rectangles are collected in a
 * region; after the refresh pass (an idle callback) each rectangle of it
 * becomes one QXL_DRAW_COPY of a freshly allocated 32-bit bitmap holding
 * just that rectangle's pixels (pixman converts 16/24-bit surfaces) — no
 * full-frame copy unless the whole frame changed.  A resize drops queued
 * commands and recreates the primary surface at the new size.
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
 * The framebuffer core is listened to as long as the simple display
 * exists, clients or not: spice-server's canvas must be current when a
 * client connects, because clients (spicy-screenshot, remote-viewer) show
 * the first image they get.  That costs the core's idle back-off, two
 * refresh passes per second on a still screen.
 *
 * Left out: TLS client certificates beyond x509-dir's three files, SASL,
 * a cursor channel (no producer has a cursor plane: the guest draws its
 * own), audio, migration, "channel" security options, UNIX sockets.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <pixman.h>

#include "display/fb.h"
#include "display/spice.h"
#include "src/log.h"
#include "src/threads.h"
#include "src/qmp.h"

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
/* spice-server keeps the ticket in char[SPICE_MAX_PASSWORD_LENGTH] (60)
 * with its NUL: a longer one would be cut and no client could log in. */
#define SPICE_MAX_PASSWORD 59
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

struct spice_chan {
    SpiceChannelEventInfo *key; /* spice-server's, stable while connected */
    int connection_id, type, id;
    bool tls;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    int family;
};

static struct {
    SpiceServer *server;
    SpiceCoreInterface core;
    struct config_spice cfg; /* copy; password NULL */
    char *password;          /* current ticket (wiped when replaced) */
    bool ticketing;          /* auth "spice" (else "none") */
    bool expires;            /* password expiry set */
    time_t expire_at;        /* wall clock, when expires */
    bool claimed;            /* a QXL device is the display */
    GList *channels;         /* struct spice_chan, initialized channels */

    /* simple display */
    bool display;
    QXLInstance qxl;
    uint8_t *primary; /* spice-server's canvas */
    unsigned width, height;
    struct fb_listener *listener;
    pixman_region32_t pending; /* dirty, not yet made into commands */
    guint flush_idle;
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

static void spice_fail(char **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void spice_fail(char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (err)
        *err = m;
    else
        g_free(m);
}

/* -------------------------------------------------- core: timers --- */

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
    guint id;
};

static gboolean core_timer_fire(gpointer data)
{
    SpiceTimer *t = data;
    t->id = 0;
    t->func(t->opaque); /* may start, cancel or remove t */
    return G_SOURCE_REMOVE;
}

static SpiceTimer *core_timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);
    t->func = func;
    t->opaque = opaque;
    return t;
}

static void core_timer_cancel(SpiceTimer *t)
{
    if (t->id) {
        g_source_remove(t->id);
        t->id = 0;
    }
}

static void core_timer_start(SpiceTimer *t, uint32_t ms)
{
    core_timer_cancel(t);
    t->id = g_timeout_add(ms, core_timer_fire, t);
    g_source_set_name_by_id(t->id, "spice-timer");
}

static void core_timer_remove(SpiceTimer *t)
{
    core_timer_cancel(t);
    g_free(t);
}

/* --------------------------------------------------- core: watches --- */

struct SpiceWatch {
    int fd;
    int mask; /* SPICE_WATCH_EVENT_* */
    SpiceWatchFunc func;
    void *opaque;
    guint id;
};

static gboolean core_watch_fire(gint fd, GIOCondition cond, gpointer data)
{
    SpiceWatch *w = data;
    int ev = 0;
    if (cond & G_IO_IN)
        ev |= SPICE_WATCH_EVENT_READ;
    if (cond & G_IO_OUT)
        ev |= SPICE_WATCH_EVENT_WRITE;
    /* hang-up and errors are reported whatever was asked for: tell the
     * handler through the events it waits for, so it reads or writes, sees
     * the error and closes (otherwise poll() would return at once forever) */
    if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL))
        ev |= w->mask;
    ev &= w->mask;
    if (ev)
        w->func(fd, ev, w->opaque); /* may update or remove w */
    return G_SOURCE_CONTINUE;
}

static void core_watch_arm(SpiceWatch *w)
{
    if (w->id) {
        g_source_remove(w->id);
        w->id = 0;
    }
    GIOCondition cond = 0;
    if (w->mask & SPICE_WATCH_EVENT_READ)
        cond |= G_IO_IN;
    if (w->mask & SPICE_WATCH_EVENT_WRITE)
        cond |= G_IO_OUT;
    if (!cond)
        return;
    w->id = g_unix_fd_add(w->fd, cond, core_watch_fire, w);
    g_source_set_name_by_id(w->id, "spice-watch");
}

static SpiceWatch *core_watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    SpiceWatch *w = g_new0(SpiceWatch, 1);
    w->fd = fd;
    w->mask = mask;
    w->func = func;
    w->opaque = opaque;
    core_watch_arm(w);
    return w;
}

static void core_watch_update_mask(SpiceWatch *w, int mask)
{
    if (w->mask == mask && (w->id || !mask))
        return;
    w->mask = mask;
    core_watch_arm(w);
}

static void core_watch_remove(SpiceWatch *w)
{
    if (w->id)
        g_source_remove(w->id);
    g_free(w);
}

/* ------------------------------------------- core: channel events --- */

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET:
        return "ipv4";
    case AF_INET6:
        return "ipv6";
    case AF_UNIX:
        return "unix";
    default:
        return "unknown";
    }
}

static void addr_of(const struct sockaddr_storage *sa, socklen_t len, char *host, size_t hlen,
                    char *port, size_t plen, int *family)
{
    *family = sa->ss_family;
    if (getnameinfo((const struct sockaddr *)sa, len, host, (socklen_t)hlen, port, (socklen_t)plen,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        g_strlcpy(host, "", hlen);
        g_strlcpy(port, "", plen);
    }
}

static void add_basic_info(JsonBuilder *b, const char *host, const char *port, int family)
{
    json_builder_set_member_name(b, "host");
    json_builder_add_string_value(b, host);
    json_builder_set_member_name(b, "port");
    json_builder_add_string_value(b, port);
    json_builder_set_member_name(b, "family");
    json_builder_add_string_value(b, family_name(family));
}

/* QEMU's SPICE_CONNECTED / SPICE_INITIALIZED / SPICE_DISCONNECTED events. */
static void channel_qmp_event(int event, const SpiceChannelEventInfo *info)
{
    static const char *const names[] = {
        [SPICE_CHANNEL_EVENT_CONNECTED] = "SPICE_CONNECTED",
        [SPICE_CHANNEL_EVENT_INITIALIZED] = "SPICE_INITIALIZED",
        [SPICE_CHANNEL_EVENT_DISCONNECTED] = "SPICE_DISCONNECTED",
    };
    if (event < 1 || event > SPICE_CHANNEL_EVENT_DISCONNECTED ||
        !(info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT))
        return;
    char lh[NI_MAXHOST], lp[NI_MAXSERV], ph[NI_MAXHOST], pp[NI_MAXSERV];
    int lf, pf;
    addr_of(&info->laddr_ext, info->llen_ext, lh, sizeof(lh), lp, sizeof(lp), &lf);
    addr_of(&info->paddr_ext, info->plen_ext, ph, sizeof(ph), pp, sizeof(pp), &pf);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "server");
    json_builder_begin_object(b);
    add_basic_info(b, lh, lp, lf);
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED) {
        json_builder_set_member_name(b, "auth");
        json_builder_add_string_value(b, sd.ticketing ? "spice" : "none");
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "client");
    json_builder_begin_object(b);
    add_basic_info(b, ph, pp, pf);
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED) {
        json_builder_set_member_name(b, "connection-id");
        json_builder_add_int_value(b, info->connection_id);
        json_builder_set_member_name(b, "channel-type");
        json_builder_add_int_value(b, info->type);
        json_builder_set_member_name(b, "channel-id");
        json_builder_add_int_value(b, info->id);
        json_builder_set_member_name(b, "tls");
        json_builder_add_boolean_value(b, !!(info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS));
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    qmp_broadcast_event(names[event], json_builder_get_root(b));
    g_object_unref(b);
}

static void core_channel_event(int event, SpiceChannelEventInfo *info)
{
    if (!info)
        return;
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED) {
        struct spice_chan *c = g_new0(struct spice_chan, 1);
        c->key = info;
        c->connection_id = info->connection_id;
        c->type = info->type;
        c->id = info->id;
        c->tls = !!(info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS);
        if (info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT)
            addr_of(&info->paddr_ext, info->plen_ext, c->host, sizeof(c->host), c->port,
                    sizeof(c->port), &c->family);
        sd.channels = g_list_append(sd.channels, c);
        log_msg("spice", "client %s:%s: channel %d:%d up (connection %d)", c->host, c->port,
                c->type, c->id, c->connection_id);
        /* a client came: offer client mouse mode if a tablet sink appeared */
        spice_input_sync_mode();
    } else if (event == SPICE_CHANNEL_EVENT_DISCONNECTED) {
        for (GList *l = sd.channels; l; l = l->next) {
            struct spice_chan *c = l->data;
            if (c->key != info)
                continue;
            log_msg("spice", "client %s:%s: channel %d:%d closed", c->host, c->port, c->type,
                    c->id);
            sd.channels = g_list_delete_link(sd.channels, l);
            g_free(c);
            break;
        }
    }
    channel_qmp_event(event, info);
}

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

    pixman_image_t *dst =
        pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, (uint32_t *)u->bitmap, w * 4);
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, b->x1, b->y1, 0, 0, 0, 0, w, h);
    pixman_image_unref(dst);

    QXLDrawable *d = &u->drawable;
    d->release_info.id = (uint64_t)(uintptr_t)u;
    d->surface_id = 0;
    d->effect = QXL_EFFECT_OPAQUE;
    d->type = QXL_DRAW_COPY;
    d->bbox = (QXLRect){.top = b->y1, .left = b->x1, .bottom = b->y2, .right = b->x2};
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    d->mm_time = mm_time_now();
    d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    d->u.copy.src_bitmap = (QXLPHYSICAL)(uintptr_t)&u->image;
    d->u.copy.src_area = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};

    QXLImage *im = &u->image;
    im->descriptor.id = ((uint64_t)QXL_IMAGE_GROUP_DEVICE << 32) | (uint32_t)++sd.image_unique;
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
    im->bitmap.data = (QXLPHYSICAL)(uintptr_t)u->bitmap;

    u->ext.cmd.type = QXL_CMD_DRAW;
    u->ext.cmd.data = (QXLPHYSICAL)(uintptr_t)d;
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

/* Turn the pending region into commands, if spice-server took the last. */
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
    for (int i = 0; i < n; i++) {
        if (boxes[i].x2 <= boxes[i].x1 || boxes[i].y2 <= boxes[i].y1)
            continue;
        struct spice_update *u = update_new(src, &boxes[i]);
        if (!u) {
            LOG_GUEST("spice", "out of memory for a %dx%d update: skipped",
                      boxes[i].x2 - boxes[i].x1, boxes[i].y2 - boxes[i].y1);
            continue;
        }
        sd.bytes += u->bytes;
        sd.commands++;
        g_queue_push_tail(&made, u);
    }
    pixman_region32_clear(&sd.pending);
    if (g_queue_is_empty(&made))
        return;
    pthread_mutex_lock(&sd.lock);
    while (!g_queue_is_empty(&made))
        g_queue_push_tail(&sd.queue, g_queue_pop_head(&made));
    pthread_mutex_unlock(&sd.lock);
    spice_qxl_wakeup(&sd.qxl);
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

static int display_create(char **err)
{
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
    if (spice_server_add_interface(sd.server, &sd.qxl.base) != 0) {
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
    sd.listener = fb_add_listener(&spice_fb_ops, NULL);
    return 0;
}

/* Stop producing commands (before spice_server_destroy). */
static void display_quiesce(void)
{
    if (!sd.display)
        return;
    if (sd.listener)
        fb_remove_listener(sd.listener);
    sd.listener = NULL;
    if (sd.flush_idle)
        g_source_remove(sd.flush_idle);
    sd.flush_idle = 0;
    if (sd.efd_watch)
        g_source_remove(sd.efd_watch);
    sd.efd_watch = 0;
}

/* After spice_server_destroy (which ended the red worker): free what is
 * ours.  Commands the worker held when it ended are not released back;
 * this runs at exit only. */
static void display_free(void)
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

/* --------------------------------------------------------- ticketing --- */

static void password_set(const char *pw)
{
    if (sd.password) {
        memset(sd.password, 0, strlen(sd.password));
        g_free(sd.password);
    }
    sd.password = pw ? g_strdup(pw) : NULL;
}

/* spice_server_set_ticket with the current password and expiry. */
static int ticket_apply(bool fail_if_connected, bool disconnect_if_connected)
{
    int lifetime = 0; /* never */
    if (sd.expires) {
        time_t left = sd.expire_at - time(NULL);
        /* spice-server takes 0 as "never": an expired ticket is -1 */
        lifetime = left <= 0 ? -1 : left > G_MAXINT ? G_MAXINT : (int)left;
    }
    sd.ticketing = true;
    return spice_server_set_ticket(sd.server, sd.password, lifetime, fail_if_connected,
                                   disconnect_if_connected);
}

int spice_set_password(const char *password, const char *connected)
{
    if (!sd.server)
        return -ENODEV;
    bool fail = false, disconnect = false;
    if (connected && !strcmp(connected, "fail"))
        fail = true;
    else if (connected && !strcmp(connected, "disconnect"))
        disconnect = true;
    else if (connected && strcmp(connected, "keep"))
        return -EINVAL;
    if (strlen(password) > SPICE_MAX_PASSWORD)
        return -EINVAL;
    char *old = sd.password;
    bool old_ticketing = sd.ticketing;
    sd.password = g_strdup(password);
    if (ticket_apply(fail, disconnect) != 0) {
        /* connected=fail with a client connected: nothing changed */
        password_set(NULL);
        sd.password = old;
        sd.ticketing = old_ticketing;
        return -EBUSY;
    }
    if (old) {
        memset(old, 0, strlen(old));
        g_free(old);
    }
    log_msg("spice", "password changed over QMP%s", disconnect ? " (clients disconnected)" : "");
    return 0;
}

int spice_expire_password(const char *when)
{
    if (!sd.server)
        return -ENODEV;
    time_t now = time(NULL);
    bool expires = true;
    time_t at;
    uint64_t v;
    if (!strcmp(when, "now")) {
        at = now;
    } else if (!strcmp(when, "never")) {
        expires = false;
        at = 0;
    } else if (when[0] == '+' && when[1] &&
               g_ascii_string_to_unsigned(when + 1, 10, 0, G_MAXINT32, &v, NULL)) {
        at = now + (time_t)v;
    } else if (g_ascii_string_to_unsigned(when, 10, 0, G_MAXINT64, &v, NULL)) {
        at = (time_t)v;
    } else {
        return -EINVAL;
    }
    sd.expires = expires;
    sd.expire_at = at;
    /* only with ticketing: expiring a password nobody asks for changes nothing */
    if (sd.ticketing)
        ticket_apply(false, false);
    log_msg("spice", "password expiry set to %s", when);
    return 0;
}

/* ------------------------------------------------------------ server --- */

static SpiceImageCompression ic_of(enum config_spice_ic ic)
{
    switch (ic) {
    case CONFIG_SPICE_IC_AUTO_LZ:
        return SPICE_IMAGE_COMPRESSION_AUTO_LZ;
    case CONFIG_SPICE_IC_QUIC:
        return SPICE_IMAGE_COMPRESSION_QUIC;
    case CONFIG_SPICE_IC_GLZ:
        return SPICE_IMAGE_COMPRESSION_GLZ;
    case CONFIG_SPICE_IC_LZ:
        return SPICE_IMAGE_COMPRESSION_LZ;
    case CONFIG_SPICE_IC_LZ4:
        return SPICE_IMAGE_COMPRESSION_LZ4;
    case CONFIG_SPICE_IC_OFF:
        return SPICE_IMAGE_COMPRESSION_OFF;
    case CONFIG_SPICE_IC_AUTO_GLZ:
    default:
        return SPICE_IMAGE_COMPRESSION_AUTO_GLZ;
    }
}

static int sv_of(enum config_spice_sv sv)
{
    switch (sv) {
    case CONFIG_SPICE_SV_ALL:
        return SPICE_STREAM_VIDEO_ALL;
    case CONFIG_SPICE_SV_FILTER:
        return SPICE_STREAM_VIDEO_FILTER;
    case CONFIG_SPICE_SV_OFF:
    default:
        return SPICE_STREAM_VIDEO_OFF;
    }
}

/* x509-dir's files, checked here so the message names the missing one. */
static int tls_setup(const struct config_spice *o, char **err)
{
    static const char *const names[] = {"ca-cert.pem", "server-cert.pem", "server-key.pem"};
    char *files[3];
    for (unsigned i = 0; i < 3; i++)
        files[i] = g_build_filename(o->x509_dir, names[i], NULL);
    int rc = 0;
    for (unsigned i = 0; i < 3 && rc == 0; i++)
        if (access(files[i], R_OK) != 0) {
            spice_fail(err, "tls-port=%d: x509-dir=%s: cannot read %s (%s)", o->tls_port,
                       o->x509_dir, names[i], g_strerror(errno));
            rc = -1;
        }
    if (rc == 0 && spice_server_set_tls(sd.server, o->tls_port, files[0], files[1], files[2], NULL,
                                        NULL, NULL) != 0) {
        spice_fail(err, "tls-port=%d: spice-server refused the TLS settings", o->tls_port);
        rc = -1;
    }
    for (unsigned i = 0; i < 3; i++)
        g_free(files[i]);
    return rc;
}

int spice_start(const struct config_spice *o, const char *name, char **err)
{
    if (sd.server) {
        spice_fail(err, "already started");
        return -1;
    }
    if (o->password && strlen(o->password) > SPICE_MAX_PASSWORD) {
        spice_fail(err, "password=: longer than %d characters", SPICE_MAX_PASSWORD);
        return -1;
    }
    /*
     * The core interface.  spice-server calls every one of these on the
     * thread that ran spice_server_init() (this one, the main loop's):
     *   timer_add/start/cancel/remove  one-shot GLib timeouts; the callback
     *                                  may re-arm or remove its own timer;
     *   watch_add/update_mask/remove   GLib unix fd sources (read/write);
     *                                  hang-up and errors are reported as
     *                                  the events asked for;
     *   channel_event                  a client's channel connected,
     *                                  initialized or closed (spice-server
     *                                  forwards its worker's events here);
     *                                  info is spice-server's, copied.
     * None may block.  Timers and watches are freed by *_remove only.
     */
    sd.core = (SpiceCoreInterface){
        .base = {.type = SPICE_INTERFACE_CORE,
                 .description = "xendm main loop",
                 .major_version = SPICE_INTERFACE_CORE_MAJOR,
                 .minor_version = SPICE_INTERFACE_CORE_MINOR},
        .timer_add = core_timer_add,
        .timer_start = core_timer_start,
        .timer_cancel = core_timer_cancel,
        .timer_remove = core_timer_remove,
        .watch_add = core_watch_add,
        .watch_update_mask = core_watch_update_mask,
        .watch_remove = core_watch_remove,
        .channel_event = core_channel_event,
    };
    sd.server = spice_server_new();
    if (!sd.server) {
        spice_fail(err, "spice_server_new failed");
        return -1;
    }
    sd.cfg = *o;
    sd.cfg.addr = g_strdup(o->addr);
    sd.cfg.x509_dir = g_strdup(o->x509_dir);
    sd.cfg.password = NULL;

    if (o->port)
        spice_server_set_port(sd.server, o->port);
    if (o->tls_port && tls_setup(o, err) < 0)
        goto fail;
    int flags = o->ipv4 ? SPICE_ADDR_FLAG_IPV4_ONLY : o->ipv6 ? SPICE_ADDR_FLAG_IPV6_ONLY : 0;
    spice_server_set_addr(sd.server, o->addr ? o->addr : "", flags);
    if (o->disable_ticketing) {
        spice_server_set_noauth(sd.server);
        sd.ticketing = false;
    } else {
        /* with no password every client is refused until set_password */
        password_set(o->password);
        if (ticket_apply(false, false) != 0) {
            spice_fail(err, "password=: refused by spice-server");
            goto fail;
        }
    }
    spice_server_set_image_compression(sd.server, ic_of(o->image_compression));
    spice_server_set_jpeg_compression(sd.server, SPICE_WAN_COMPRESSION_AUTO);
    spice_server_set_zlib_glz_compression(sd.server, SPICE_WAN_COMPRESSION_AUTO);
    spice_server_set_streaming_video(sd.server, sv_of(o->streaming_video));
    spice_server_set_agent_mouse(sd.server, o->agent_mouse);
    spice_server_set_agent_copypaste(sd.server, !o->disable_copy_paste);
    spice_server_set_agent_file_xfer(sd.server, !o->disable_agent_file_xfer);
    spice_server_set_playback_compression(sd.server, 1);
    spice_server_set_name(sd.server, name ? name : "xendm");

    if (spice_server_init(sd.server, &sd.core) != 0) {
        if (o->port && o->tls_port)
            spice_fail(err, "cannot listen on %s port %d / tls-port %d (in use?)",
                       o->addr ? o->addr : "*", o->port, o->tls_port);
        else
            spice_fail(err, "cannot listen on %s %sport %d (in use?)", o->addr ? o->addr : "*",
                       o->port ? "" : "tls-", o->port ? o->port : o->tls_port);
        goto fail;
    }
    if (spice_input_init(sd.server) < 0) {
        spice_fail(err, "spice-server refused the keyboard or mouse");
        goto fail;
    }
    log_msg("spice", "listening on %s port %d tls-port %d (auth %s)", o->addr ? o->addr : "*",
            o->port, o->tls_port, sd.ticketing ? "spice" : "none");
    return 0;

fail:
    spice_input_quiesce();
    spice_server_destroy(sd.server);
    spice_input_fini();
    sd.server = NULL;
    password_set(NULL);
    g_free(sd.cfg.addr);
    g_free(sd.cfg.x509_dir);
    memset(&sd.cfg, 0, sizeof(sd.cfg));
    return -1;
}

int spice_display_setup(char **err)
{
    if (!sd.server)
        return 0;
    if (!sd.claimed && display_create(err) < 0)
        return -1;
    spice_server_vm_start(sd.server);
    return 0;
}

void spice_stop(void)
{
    if (!sd.server)
        return;
    /* spice_server_destroy() disconnects clients and ends the worker; it
     * crashed (spice-server 0.15.1) when the display and input interfaces
     * were removed first with a client connected, so only our own sources
     * go first and our memory after */
    display_quiesce();
    spice_input_quiesce();
    spice_server_destroy(sd.server);
    display_free();
    spice_input_fini();
    sd.server = NULL;
    g_list_free_full(sd.channels, g_free);
    sd.channels = NULL;
    password_set(NULL);
    g_free(sd.cfg.addr);
    g_free(sd.cfg.x509_dir);
    memset(&sd.cfg, 0, sizeof(sd.cfg));
}

SpiceServer *spice_display_server(void)
{
    return sd.server;
}

void spice_display_claim(void)
{
    sd.claimed = true;
}

/* ------------------------------------------------------------- query --- */

void spice_query(JsonBuilder *b)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, sd.server != NULL);
    json_builder_set_member_name(b, "migrated");
    json_builder_add_boolean_value(b, FALSE);
    if (!sd.server) {
        json_builder_set_member_name(b, "mouse-mode");
        json_builder_add_string_value(b, "client"); /* QEMU's zero value */
        json_builder_end_object(b);
        return;
    }
    json_builder_set_member_name(b, "auth");
    json_builder_add_string_value(b, sd.ticketing ? "spice" : "none");
    json_builder_set_member_name(b, "host");
    json_builder_add_string_value(b, sd.cfg.addr ? sd.cfg.addr : "*");
    json_builder_set_member_name(b, "compiled-version");
    char *v = g_strdup_printf("%d.%d.%d", (SPICE_SERVER_VERSION >> 16) & 0xff,
                              (SPICE_SERVER_VERSION >> 8) & 0xff, SPICE_SERVER_VERSION & 0xff);
    json_builder_add_string_value(b, v);
    g_free(v);
    if (sd.cfg.port) {
        json_builder_set_member_name(b, "port");
        json_builder_add_int_value(b, sd.cfg.port);
    }
    if (sd.cfg.tls_port) {
        json_builder_set_member_name(b, "tls-port");
        json_builder_add_int_value(b, sd.cfg.tls_port);
    }
    json_builder_set_member_name(b, "mouse-mode");
    json_builder_add_string_value(b, spice_server_is_server_mouse(sd.server) ? "server" : "client");
    json_builder_set_member_name(b, "channels");
    json_builder_begin_array(b);
    for (GList *l = sd.channels; l; l = l->next) {
        const struct spice_chan *c = l->data;
        json_builder_begin_object(b);
        add_basic_info(b, c->host, c->port, c->family);
        json_builder_set_member_name(b, "connection-id");
        json_builder_add_int_value(b, c->connection_id);
        json_builder_set_member_name(b, "channel-type");
        json_builder_add_int_value(b, c->type);
        json_builder_set_member_name(b, "channel-id");
        json_builder_add_int_value(b, c->id);
        json_builder_set_member_name(b, "tls");
        json_builder_add_boolean_value(b, c->tls);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

void spice_get_stats(struct spice_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->commands = sd.commands;
    st->released = __atomic_load_n(&sd.released, __ATOMIC_RELAXED);
    st->bytes = sd.bytes;
    st->surfaces = sd.surfaces;
    st->width = sd.width;
    st->height = sd.height;
    st->channels = g_list_length(sd.channels);
    spice_input_get_stats(st);
}
