/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE side of the QXL device (display/qxl.h): the QXLInterface that
 * spice-server's worker thread calls, the release ring, the events the
 * worker leaves for the main thread, VGA mode shown to SPICE clients, and
 * the spice-server xendm runs for itself when -spice is not given.
 *
 * spice-server only ever gets commands in its "host" memory slot group:
 * one slot (group 0, slot 0, generation 0) spanning the address space, so
 * a QXLPHYSICAL it reads is a pointer into xendm — our checked copies of
 * the guest's commands (qxl-parse.c), the primary surface's memory inside
 * BAR0, and in VGA mode the draw commands we make from the framebuffer
 * core.  The guest's own memory slots exist only here.
 *
 * Servers: with -spice, display/spice.c's (spice_display_server(); we
 * claim the display, so it makes no simple display of its own, and it
 * starts the worker with spice_server_vm_start() once the machine
 * exists).  Without, one made here that listens nowhere, as QEMU does for
 * a QXL device without -spice: it renders the guest's commands for VNC
 * and screendump.  Its core interface (timers, fd watches) runs on xendm's
 * main loop; spice-server calls the core only from this thread.
 *
 * The lock and the threads: see qxl.h.  The worker never blocks on the
 * main thread: it takes the lock briefly, writes the eventfd, returns.
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pixman.h>

#include "display/qxl.h"
#include "display/spice.h"
#include "src/log.h"
#include "src/threads.h"

#define TAG "qxl"

/* spice-server's view of memory (QEMU's numbers): groups and slots it may
 * be asked about; we only ever use group 0, slot 0. */
#define QXL_SPICE_SLOT_GROUPS 2
#define QXL_SPICE_SLOTS       8
/* A VGA-mode flush with more dirty rectangles than this sends their
 * bounding box: each rectangle costs spice-server one drawable and one
 * image on the wire, and the framebuffer core already sends at most 256
 * per pass (fb.c FB_MAX_UPDATE_RECTS). */
#define QXL_VGA_MAX_RECTS 256

_Static_assert(sizeof(QXLCommandRing) == sizeof(QXLCursorRing) &&
                   QXL_COMMAND_RING_SIZE == QXL_CURSOR_RING_SIZE,
               "one reader for both rings");

static GPtrArray *zombies; /* state spice-server may still call, device gone */

static struct qxl_spice *sp_of(QXLInstance *qin)
{
    return (struct qxl_spice *)(void *)((char *)qin - offsetof(struct qxl_spice, qin));
}

/* ------------------------------------------------------------------------
 * Events for the main thread (lock held)
 */

static void signal_main(struct qxl_spice *sp)
{
    uint64_t one = 1;
    ssize_t n = write(sp->evfd, &one, sizeof(one));

    (void)n; /* EAGAIN: the counter is already non-zero */
}

static void worker_send_events(struct qxl_spice *sp, uint32_t bits)
{
    uint32_t old;

    if (sp->dead)
        return;
    old = __atomic_fetch_or(&sp->ram->int_pending, bits, __ATOMIC_SEQ_CST);
    if ((old & bits) != bits) {
        sp->events |= QXL_EV_IRQ;
        signal_main(sp);
    }
}

void qxl_spice_queue_log(struct qxl_spice *sp, const char *fmt, ...)
{
    va_list ap;

    if (sp->dead || g_queue_get_length(&sp->logs) >= QXL_MAX_QUEUED_LOGS)
        return;
    va_start(ap, fmt);
    g_queue_push_tail(&sp->logs, g_strdup_vprintf(fmt, ap));
    va_end(ap);
    sp->events |= QXL_EV_LOG;
    signal_main(sp);
}

static void worker_guest_bug(struct qxl_spice *sp, const char *what)
{
    sp->guest_bug = true;
    sp->refused++;
    qxl_spice_queue_log(sp, "guest bug: %s; the device stops until QXL_IO_RESET", what);
    worker_send_events(sp, QXL_INTERRUPT_ERROR);
}

/* ------------------------------------------------------------------------
 * The release ring (lock held; either thread)
 */

static uint64_t ring_get64(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static void ring_put64(void *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

void qxl_spice_push_free_res(struct qxl_spice *sp, bool flush)
{
    QXLReleaseRing *ring;
    uint32_t prod, cons;

    if (sp->dead)
        return;
    ring = &sp->ram->release_ring;
    prod = ring->prod;
    cons = ring->cons;
    if (prod - cons + 1 >= QXL_RELEASE_RING_SIZE)
        return; /* full (or the guest broke it): keep collecting */
    if (!flush && (sp->oom_running || sp->num_free_res < QXL_FREE_BUNCH_SIZE))
        return;
    ring->prod = prod + 1;
    __sync_synchronize();
    if (ring->prod == ring->notify_on_prod)
        worker_send_events(sp, QXL_INTERRUPT_DISPLAY);
    ring_put64(&ring->items[(prod + 1) & (QXL_RELEASE_RING_SIZE - 1)], 0);
    sp->num_free_res = 0;
    sp->last_release = NULL;
}

void qxl_spice_release(struct qxl_spice *sp, QXLReleaseInfo *guest)
{
    QXLReleaseRing *ring;
    void *item;
    uint64_t id;

    if (sp->dead)
        return;
    ring = &sp->ram->release_ring;
    item = &ring->items[ring->prod & (QXL_RELEASE_RING_SIZE - 1)];
    id = guest->id;
    guest->next = 0;
    if (ring_get64(item) == 0 || !sp->last_release)
        ring_put64(item, id); /* the head of a new list */
    else
        sp->last_release->next = id;
    sp->last_release = guest;
    sp->num_free_res++;
    qxl_spice_push_free_res(sp, false);
}

/* ------------------------------------------------------------------------
 * Commands from the guest's rings (worker, lock held)
 */

static int next_guest_command(struct qxl_spice *sp, bool cursor, QXLCommandExt *ext)
{
    QXLCommandRing *ring =
        cursor ? (QXLCommandRing *)(void *)&sp->ram->cursor_ring : &sp->ram->cmd_ring;

    for (unsigned tries = 0; tries < QXL_COMMAND_RING_SIZE && !sp->guest_bug; tries++) {
        struct qxl_parse p = {
            .slots = &sp->slots,
            .surfaces = &sp->surfaces,
            .flags = sp->cmdflags,
            .budget = sp->held_bytes < QXL_MAX_HELD_COPY ? QXL_MAX_HELD_COPY - sp->held_bytes : 1};
        uint32_t prod = ring->prod, cons = ring->cons;
        QXLReleaseInfo *ri;
        struct qxl_copy *c;
        QXLCommand cmd;
        char what[64];
        int rc;

        if (prod == cons)
            return 0;
        if (!qxl_ring_sane(prod, cons, QXL_COMMAND_RING_SIZE)) {
            snprintf(what, sizeof(what), "%s ring: prod %u, cons %u", cursor ? "cursor" : "command",
                     prod, cons);
            worker_guest_bug(sp, what);
            return 0;
        }
        __sync_synchronize();
        memcpy(&cmd, &ring->items[cons & (QXL_COMMAND_RING_SIZE - 1)], sizeof(cmd));
        ring->cons = cons + 1;
        __sync_synchronize();
        if (ring->cons == ring->notify_on_cons)
            worker_send_events(sp, cursor ? QXL_INTERRUPT_CURSOR : QXL_INTERRUPT_DISPLAY);
        rc = qxl_parse_command(&p, &cmd, cursor, &c, &ri);
        if (rc == -ENOENT) {
            sp->dropped++;
            qxl_spice_queue_log(sp, "command dropped: %s", p.err);
            if (ri)
                qxl_spice_release(sp, ri);
            continue;
        }
        if (rc < 0) {
            worker_guest_bug(sp, p.err);
            return 0;
        }
        c->epoch = sp->epoch;
        sp->held_bytes += c->bytes;
        sp->commands++;
        ext->cmd.data = (QXLPHYSICAL)(uintptr_t)c->cmd;
        ext->cmd.type = cmd.type;
        ext->cmd.padding = 0;
        ext->group_id = 0;
        ext->flags = sp->cmdflags;
        return 1;
    }
    return 0;
}

/* Whether spice-server should wait for a notification: also when the ring
 * is not empty but get_command() would not take from it (error state),
 * else spice-server spins on it. */
static bool ring_wait(struct qxl_spice *sp, bool cursor)
{
    QXLCommandRing *ring =
        cursor ? (QXLCommandRing *)(void *)&sp->ram->cursor_ring : &sp->ram->cmd_ring;

    if (sp->guest_bug)
        return true;
    if (ring->cons != ring->prod)
        return false;
    ring->notify_on_prod = ring->prod + 1;
    __sync_synchronize();
    return ring->cons == ring->prod;
}

/* ------------------------------------------------------------------------
 * The QXLInterface (style rule 3: who calls what, where)
 *
 *   attached_worker        main, from spice_server_add_interface(); nothing
 *   set_compression_level  main; writes the ROM's field
 *   set_mm_time            (deprecated; spice-server 0.15 does not call it)
 *   get_init_info          main, from spice_server_add_interface()
 *   get_command            worker; never blocks; parses and copies one
 *                          guest command (or takes a VGA-mode command); the
 *                          copy is spice-server's until release_resource
 *   req_cmd_notification   worker; arms the ring's notify_on_prod
 *   release_resource       worker; frees our copy, gives the guest's
 *                          resource back through the release ring
 *   get_cursor_command,
 *   req_cursor_notification  the same for the cursor ring
 *   notify_update          worker; QXL_CMD_UPDATE done (logged: deprecated)
 *   flush_resources        worker; pushes collected releases
 *   async_complete         worker; queues the cookie for the main thread
 *                          (INTERNAL cookies: wakes the waiter)
 *   update_area_complete   worker; unused (xendm renders synchronously)
 *   set_client_capabilities  worker; ROM fields + QXL_INTERRUPT_CLIENT
 *   client_monitors_config main (agent messages); ROM fields + interrupt
 */

static void qi_attached_worker(QXLInstance *qin) {}

static void qi_set_compression_level(QXLInstance *qin, int level)
{
    struct qxl_spice *sp = sp_of(qin);

    g_mutex_lock(&sp->lock);
    if (!sp->dead)
        sp->rom->compression_level = (uint32_t)level;
    g_mutex_unlock(&sp->lock);
}

static void qi_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
    struct qxl_spice *sp = sp_of(qin);

    info->memslot_gen_bits = QXL_SLOT_GEN_BITS;
    info->memslot_id_bits = QXL_SLOT_ID_BITS;
    info->num_memslots = QXL_SPICE_SLOTS;
    info->num_memslots_groups = QXL_SPICE_SLOT_GROUPS;
    info->internal_groupslot_id = 0;
    info->qxl_ram_size = sp->dev->shadow_rom.num_pages * QXL_PAGE;
    info->n_surfaces = QXL_NUM_SURFACES;
}

static int qi_get_command(QXLInstance *qin, QXLCommandExt *ext)
{
    struct qxl_spice *sp = sp_of(qin);
    thread_drop_caps_once(); /* the worker predates deprivileging: src/threads.h */
    int got = 0;

    g_mutex_lock(&sp->lock);
    if (sp->dead) {
        /* nothing */
    } else if (sp->mode == QXL_MODE_VGA) {
        struct qxl_copy *c = g_queue_pop_head(&sp->vga_cmds);
        if (c) {
            ext->cmd.data = (QXLPHYSICAL)(uintptr_t)c->cmd;
            ext->cmd.type = QXL_CMD_DRAW;
            ext->cmd.padding = 0;
            ext->group_id = 0;
            ext->flags = 0;
            got = 1;
            if (g_queue_is_empty(&sp->vga_cmds)) {
                sp->events |= QXL_EV_VGA;
                signal_main(sp);
            }
        }
    } else {
        got = next_guest_command(sp, false, ext);
    }
    g_mutex_unlock(&sp->lock);
    return got;
}

static int qi_req_cmd_notification(QXLInstance *qin)
{
    struct qxl_spice *sp = sp_of(qin);
    thread_drop_caps_once();
    int wait = 1;

    g_mutex_lock(&sp->lock);
    if (sp->dead)
        wait = 1;
    else if (sp->mode == QXL_MODE_VGA)
        wait = g_queue_is_empty(&sp->vga_cmds);
    else
        wait = ring_wait(sp, false);
    g_mutex_unlock(&sp->lock);
    return wait;
}

static void qi_release_resource(QXLInstance *qin, struct QXLReleaseInfoExt ext)
{
    struct qxl_spice *sp = sp_of(qin);
    struct qxl_copy *c;

    if (!ext.info || ext.group_id != 0)
        return; /* never ours: we only hand out host-group commands */
    c = (struct qxl_copy *)(uintptr_t)ext.info->id;
    g_mutex_lock(&sp->lock);
    if (c->guest_release && c->epoch == sp->epoch)
        qxl_spice_release(sp, c->guest_release);
    if (c->guest_release)
        sp->held_bytes -= c->bytes < sp->held_bytes ? c->bytes : sp->held_bytes;
    sp->released++;
    g_mutex_unlock(&sp->lock);
    qxl_copy_free(c);
}

static int qi_get_cursor_command(QXLInstance *qin, QXLCommandExt *ext)
{
    struct qxl_spice *sp = sp_of(qin);
    int got = 0;

    g_mutex_lock(&sp->lock);
    if (!sp->dead && sp->mode != QXL_MODE_VGA)
        got = next_guest_command(sp, true, ext);
    g_mutex_unlock(&sp->lock);
    return got;
}

static int qi_req_cursor_notification(QXLInstance *qin)
{
    struct qxl_spice *sp = sp_of(qin);
    int wait = 1;

    g_mutex_lock(&sp->lock);
    if (!sp->dead && sp->mode != QXL_MODE_VGA)
        wait = ring_wait(sp, true);
    g_mutex_unlock(&sp->lock);
    return wait;
}

static void qi_notify_update(QXLInstance *qin, uint32_t update_id)
{
    struct qxl_spice *sp = sp_of(qin);

    g_mutex_lock(&sp->lock);
    qxl_spice_queue_log(sp, "QXL_CMD_UPDATE %u (deprecated) done", update_id);
    g_mutex_unlock(&sp->lock);
}

static int qi_flush_resources(QXLInstance *qin)
{
    struct qxl_spice *sp = sp_of(qin);
    int n;

    g_mutex_lock(&sp->lock);
    n = (int)sp->num_free_res;
    if (n && !sp->dead)
        qxl_spice_push_free_res(sp, true);
    g_mutex_unlock(&sp->lock);
    return n;
}

static void qi_async_complete(QXLInstance *qin, uint64_t cookie)
{
    struct qxl_spice *sp = sp_of(qin);
    struct qxl_cookie *c = (struct qxl_cookie *)(uintptr_t)cookie;

    g_mutex_lock(&sp->lock);
    if (c->kind == QXL_COOKIE_INTERNAL) {
        if (c->abandoned) {
            g_free(c);
        } else {
            c->done = true;
            g_cond_broadcast(&sp->cond);
        }
        g_mutex_unlock(&sp->lock);
        return;
    }
    /* the surface tracker follows spice-server at once */
    if (c->epoch == sp->epoch) {
        switch (c->io) {
        case QXL_IO_DESTROY_PRIMARY_ASYNC:
            sp->surfaces.s[0].live = false;
            break;
        case QXL_IO_DESTROY_ALL_SURFACES_ASYNC:
            qxl_surfaces_reset(&sp->surfaces);
            break;
        case QXL_IO_UPDATE_AREA_ASYNC:
            if (sp->surfaces.pinned == (int32_t)c->surface_id)
                sp->surfaces.pinned = -1;
            break;
        default:
            break;
        }
    }
    if (sp->dead) {
        g_free(c->monitors);
        g_free(c);
    } else {
        g_queue_push_tail(&sp->async_done, c);
        sp->events |= QXL_EV_ASYNC;
        signal_main(sp);
    }
    g_mutex_unlock(&sp->lock);
}

static void qi_update_area_complete(QXLInstance *qin, uint32_t surface_id, QXLRect *rects,
                                    uint32_t n)
{
}

static void qi_set_client_capabilities(QXLInstance *qin, uint8_t present,
                                       uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
    struct qxl_spice *sp = sp_of(qin);

    g_mutex_lock(&sp->lock);
    if (!sp->dead) {
        sp->client_present = present;
        memcpy(sp->client_caps, caps, sizeof(sp->client_caps));
        sp->rom->client_present = present;
        memcpy(sp->rom->client_capabilities, caps, sizeof(sp->client_caps));
        worker_send_events(sp, QXL_INTERRUPT_CLIENT);
    }
    g_mutex_unlock(&sp->lock);
}

/* CRC-32 as Linux computes it (reflected, polynomial 0xedb88320, no
 * final inversion), which the guest uses to check the ROM's copy. */
static uint32_t qxl_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CLIENT_MONITORS_CONFIG_CRC32_POLY & (0u - (c & 1)));
    }
    return c;
}

static int qi_client_monitors_config(QXLInstance *qin, VDAgentMonitorsConfig *mc)
{
    struct qxl_spice *sp = sp_of(qin);
    struct qxl *s;
    QXLRom *rom;
    uint32_t mask;
    unsigned count;

    g_mutex_lock(&sp->lock);
    s = sp->dead ? NULL : sp->dev;
    g_mutex_unlock(&sp->lock);
    if (!s)
        return 0;
    /* older Windows drivers set int_mask to 0 or ~0 and do not know this
     * interrupt (QEMU's test) */
    mask = __atomic_load_n(&s->ram_hdr->int_mask, __ATOMIC_RELAXED);
    if (mask == 0 || mask == ~0u || !(mask & QXL_INTERRUPT_CLIENT_MONITORS_CONFIG))
        return 0;
    if (!mc)
        return 1;
    rom = (QXLRom *)s->rom;
    memset(&rom->client_monitors_config, 0, sizeof(rom->client_monitors_config));
    count = mc->num_of_monitors;
    if (count > G_N_ELEMENTS(rom->client_monitors_config.heads))
        count = G_N_ELEMENTS(rom->client_monitors_config.heads);
    rom->client_monitors_config.count = (uint16_t)count;
    for (unsigned i = 0; i < count; i++) {
        const VDAgentMonConfig *m = &mc->monitors[i];
        QXLURect r = {.left = (uint32_t)m->x,
                      .top = (uint32_t)m->y,
                      .right = (uint32_t)m->x + m->width,
                      .bottom = (uint32_t)m->y + m->height};
        memcpy(&rom->client_monitors_config.heads[i], &r, sizeof(r));
    }
    rom->client_monitors_config_crc = qxl_crc32((const uint8_t *)&rom->client_monitors_config,
                                                sizeof(rom->client_monitors_config));
    qxl_send_events(s, QXL_INTERRUPT_CLIENT_MONITORS_CONFIG);
    return 1;
}

static const QXLInterface qxl_interface = {
    .base =
        {
            .type = SPICE_INTERFACE_QXL,
            .description = "xendm qxl-vga",
            .major_version = SPICE_INTERFACE_QXL_MAJOR,
            .minor_version = SPICE_INTERFACE_QXL_MINOR,
        },
    .attached_worker = qi_attached_worker,
    .set_compression_level = qi_set_compression_level,
    .get_init_info = qi_get_init_info,
    .get_command = qi_get_command,
    .req_cmd_notification = qi_req_cmd_notification,
    .release_resource = qi_release_resource,
    .get_cursor_command = qi_get_cursor_command,
    .req_cursor_notification = qi_req_cursor_notification,
    .notify_update = qi_notify_update,
    .flush_resources = qi_flush_resources,
    .async_complete = qi_async_complete,
    .update_area_complete = qi_update_area_complete,
    .set_client_capabilities = qi_set_client_capabilities,
    .client_monitors_config = qi_client_monitors_config,
};

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

    g_mutex_lock(&sp->lock);
    s = sp->dead ? NULL : sp->dev;
    ev = sp->events;
    sp->events = 0;
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

static struct qxl_copy *vga_command(struct qxl_spice *sp, pixman_image_t *src, int x, int y, int w,
                                    int h)
{
    struct qxl_copy *c = g_new0(struct qxl_copy, 1);
    QXLDrawable *d = qxl_copy_alloc(c, sizeof(*d));
    QXLImage *img = qxl_copy_alloc(c, sizeof(*img));
    uint8_t *bits = qxl_copy_alloc(c, (size_t)w * h * 4);
    pixman_image_t *dst;

    if (!d || !img || !bits) {
        qxl_copy_free(c);
        return NULL;
    }
    dst = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, (uint32_t *)(void *)bits, w * 4);
    if (!dst) {
        qxl_copy_free(c);
        return NULL;
    }
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, x, y, 0, 0, 0, 0, w, h);
    pixman_image_unref(dst);

    c->type = QXL_CMD_DRAW;
    c->cmd = d;
    d->release_info.id = (uint64_t)(uintptr_t)c;
    d->surface_id = 0;
    d->effect = QXL_EFFECT_OPAQUE;
    d->type = QXL_DRAW_COPY;
    d->bbox = (QXLRect){.top = y, .left = x, .bottom = y + h, .right = x + w};
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    for (int i = 0; i < 3; i++)
        d->surfaces_dest[i] = -1;
    d->u.copy.src_bitmap = (QXLPHYSICAL)(uintptr_t)img;
    d->u.copy.src_area = (QXLRect){.top = 0, .left = 0, .bottom = h, .right = w};
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    QXL_SET_IMAGE_ID(img, QXL_IMAGE_GROUP_DEVICE, sp->vga_unique++);
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->descriptor.width = (uint32_t)w;
    img->descriptor.height = (uint32_t)h;
    img->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    img->bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
    img->bitmap.x = (uint32_t)w;
    img->bitmap.y = (uint32_t)h;
    img->bitmap.stride = (uint32_t)w * 4;
    img->bitmap.data = (QXLPHYSICAL)(uintptr_t)bits;
    return c;
}

/* Send what changed, if spice-server took everything we sent before. */
static void vga_flush(struct qxl *s)
{
    struct qxl_spice *sp = s->sp;
    pixman_image_t *src = fb_image();
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
    for (int i = 0; i < n; i++) {
        struct qxl_copy *c =
            vga_command(sp, src, b[i].x1, b[i].y1, b[i].x2 - b[i].x1, b[i].y2 - b[i].y1);
        if (c)
            g_queue_push_tail(&q, c);
    }
    pixman_region32_clear(&sp->vga_dirty);
    if (g_queue_is_empty(&q))
        return;
    g_mutex_lock(&sp->lock);
    while (!g_queue_is_empty(&q))
        g_queue_push_tail(&sp->vga_cmds, g_queue_pop_head(&q));
    g_mutex_unlock(&sp->lock);
    spice_qxl_wakeup(&sp->qin);
}

static void vga_primary_destroy(struct qxl_spice *sp)
{
    vga_drop_queued(sp);
    pixman_region32_clear(&sp->vga_dirty);
    if (!sp->vga_primary)
        return;
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

void qxl_spice_vga_display(struct qxl *s, bool on)
{
    struct qxl_spice *sp = s->sp;

    if (on) {
        /* nobody can watch xendm's own server: no point drawing for it */
        if (!sp->own_server && !sp->vga_listener)
            sp->vga_listener = fb_add_listener(&vga_listener_ops, s);
        return;
    }
    if (sp->vga_listener) {
        fb_remove_listener(sp->vga_listener);
        sp->vga_listener = NULL;
    }
    vga_primary_destroy(sp);
}

/* ------------------------------------------------------------------------
 * xendm's own server (no -spice): its core on the main loop
 */

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
    guint id;
};

struct SpiceWatch {
    int fd, mask;
    SpiceWatchFunc func;
    void *opaque;
    guint id;
};

static gboolean timer_fire(gpointer data)
{
    SpiceTimer *t = data;

    t->id = 0;
    t->func(t->opaque);
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
    if (t->id)
        g_source_remove(t->id);
    t->id = 0;
}

static void core_timer_start(SpiceTimer *t, uint32_t ms)
{
    core_timer_cancel(t);
    t->id = g_timeout_add(ms, timer_fire, t);
}

static void core_timer_remove(SpiceTimer *t)
{
    core_timer_cancel(t);
    g_free(t);
}

static gboolean watch_fire(gint fd, GIOCondition cond, gpointer data)
{
    SpiceWatch *w = data;
    int ev = 0;

    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        ev |= SPICE_WATCH_EVENT_READ;
    if (cond & G_IO_OUT)
        ev |= SPICE_WATCH_EVENT_WRITE;
    w->func(fd, ev, w->opaque);
    return G_SOURCE_CONTINUE;
}

static void watch_arm(SpiceWatch *w)
{
    GIOCondition cond = 0;

    if (w->id)
        g_source_remove(w->id);
    w->id = 0;
    if (w->mask & SPICE_WATCH_EVENT_READ)
        cond |= G_IO_IN | G_IO_HUP | G_IO_ERR;
    if (w->mask & SPICE_WATCH_EVENT_WRITE)
        cond |= G_IO_OUT;
    if (cond)
        w->id = g_unix_fd_add(w->fd, cond, watch_fire, w);
}

static SpiceWatch *core_watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    SpiceWatch *w = g_new0(SpiceWatch, 1);

    w->fd = fd;
    w->mask = mask;
    w->func = func;
    w->opaque = opaque;
    watch_arm(w);
    return w;
}

static void core_watch_update_mask(SpiceWatch *w, int mask)
{
    w->mask = mask;
    watch_arm(w);
}

static void core_watch_remove(SpiceWatch *w)
{
    w->mask = 0;
    watch_arm(w);
    g_free(w);
}

static void core_channel_event(int event, SpiceChannelEventInfo *info) {}

/* ------------------------------------------------------------------------
 * Life cycle (main thread)
 */

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
    if (sp->server) {
        spice_display_claim();
    } else {
        sp->core = (SpiceCoreInterface){
            .base = {.type = SPICE_INTERFACE_CORE,
                     .description = "xendm qxl (no -spice)",
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
        sp->server = spice_server_new();
        if (!sp->server) {
            snprintf(err, errlen, "spice_server_new failed");
            goto fail;
        }
        sp->own_server = true;
        /* no port: listens nowhere */
        if (spice_server_init(sp->server, &sp->core) != 0) {
            snprintf(err, errlen, "spice_server_init failed");
            goto fail;
        }
    }
    sp->qin.base.sif = &qxl_interface.base;
    sp->qin.id = 0;
    if (spice_server_add_interface(sp->server, &sp->qin.base) != 0) {
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
    return 0;

fail:
    s->sp = NULL;
    if (sp->own_server && sp->server)
        spice_server_destroy(sp->server);
    if (sp->ev_source)
        g_source_remove(sp->ev_source);
    if (sp->evfd >= 0)
        close(sp->evfd);
    pixman_region32_fini(&sp->vga_dirty);
    g_mutex_clear(&sp->lock);
    g_cond_clear(&sp->cond);
    g_free(sp);
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
    struct qxl_cookie *c;
    char *msg;

    qxl_spice_vga_display(s, false);
    s->sp = NULL;
    if (sp->ev_source)
        g_source_remove(sp->ev_source);
    sp->ev_source = 0;
    if (!sp->own_server) {
        /* -spice's server outlives the machine and may still call us (and
         * release what it holds) until spice_stop(): keep this, inert */
        g_mutex_lock(&sp->lock);
        sp->dead = true;
        sp->dev = NULL;
        g_mutex_unlock(&sp->lock);
        if (!zombies)
            zombies = g_ptr_array_new();
        g_ptr_array_add(zombies, sp); /* the eventfd stays open: the worker may write it */
        return;
    }
    /* ours: its end joins the worker, which releases everything first */
    spice_server_destroy(sp->server);
    sp->server = NULL;
    close(sp->evfd);
    while ((msg = g_queue_pop_head(&sp->logs)))
        g_free(msg);
    while ((c = g_queue_pop_head(&sp->async_done))) {
        g_free(c->monitors);
        g_free(c);
    }
    vga_drop_queued(sp);
    pixman_region32_fini(&sp->vga_dirty);
    g_mutex_clear(&sp->lock);
    g_cond_clear(&sp->cond);
    g_free(sp);
}
