/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE side of the QXL device (display/qxl.h), worker half: the
 * QXLInterface that spice-server's worker thread calls, the release ring
 * and the events the worker leaves for the main thread.  The main-thread
 * half (cookies, those events, VGA mode shown to SPICE clients, the
 * servers' life cycle) is display/qxl-spice-main.c.
 *
 * spice-server only ever gets commands in its "host" memory slot group:
 * one slot (group 0, slot 0, generation 0) spanning the address space, so
 * a QXLPHYSICAL it reads is a pointer into xendm — our checked copies of
 * the guest's commands (qxl-parse.c), the primary surface's memory inside
 * BAR0, and in VGA mode the draw commands we make from the framebuffer
 * core.  The guest's own memory slots exist only here.
 *
 * The lock and the threads: see qxl.h.  The worker never blocks on the
 * main thread: it takes the lock briefly, writes the eventfd, returns.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "display/qxl.h"
#include "display/spice.h"
#include "display/spice-priv.h"
#include "src/log.h"
#include "src/threads.h"

#define TAG "qxl"

/* spice-server's view of memory (QEMU's numbers): groups and slots it may
 * be asked about; we only ever use group 0, slot 0. */
#define QXL_SPICE_SLOT_GROUPS 2
#define QXL_SPICE_SLOTS       8

_Static_assert(sizeof(QXLCommandRing) == sizeof(QXLCursorRing) &&
                   QXL_COMMAND_RING_SIZE == QXL_CURSOR_RING_SIZE,
               "one reader for both rings");

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
    uint64_t epoch;

    g_mutex_lock(&sp->lock);
    if (!sp->dead && sp->mode != QXL_MODE_VGA)
        got = next_guest_command(sp, true, ext);
    epoch = sp->epoch;
    g_mutex_unlock(&sp->lock);
    if (!got)
        return 0;
    /* the validated copy, for VNC viewers (qxl-cursor.h); the shape is
     * decoded outside the lock (up to 256x256 pixels) */
    const QXLCursorCmd *cmd = (const QXLCursorCmd *)(uintptr_t)ext->cmd.data;
    const char *why;
    uint32_t *argb = qxl_cursor_prepare(cmd, &why);
    g_mutex_lock(&sp->lock);
    if (sp->dead || sp->epoch != epoch || sp->mode == QXL_MODE_VGA)
        free(argb); /* reset or VGA mode meanwhile: no cursor plane */
    else if (qxl_cursor_note(&sp->cursor, cmd, argb, why)) {
        sp->events |= QXL_EV_CURSOR;
        signal_main(sp);
    }
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

int qxl_spice_attach(struct qxl_spice *sp)
{
    sp->qin.base.sif = &qxl_interface.base;
    sp->qin.id = 0;
    return spice_server_add_interface(sp->server, &sp->qin.base);
}
