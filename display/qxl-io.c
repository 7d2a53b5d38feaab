/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL I/O ports (BAR3 of -device qxl-vga, display/qxl.c): the commands a
 * driver writes there, their asynchronous completion, interrupts, the
 * device's error state and the guest's memory slots.
 *
 * I/O ports (QEMU's semantics): NOTIFY_CMD/CURSOR wake spice-server;
 * UPDATE_AREA (+ASYNC) renders an area of a surface; UPDATE_IRQ sets INTA#
 * to (int_pending & int_mask) != 0; NOTIFY_OOM; RESET; SET_MODE (qxl-1
 * compat mode); LOG; MEMSLOT_ADD (+ASYNC) / DEL with the slot in
 * QXLRam.mem_slot, which must lie inside BAR0 or BAR1; CREATE_PRIMARY
 * (+ASYNC) / DESTROY_PRIMARY (+ASYNC); DESTROY_SURFACE_WAIT (+ASYNC, surface
 * 0: spice-server supports nothing else); DESTROY_ALL_SURFACES (+ASYNC);
 * FLUSH_SURFACES_ASYNC; FLUSH_RELEASE; MONITORS_CONFIG_ASYNC.  An *_ASYNC
 * operation raises QXL_INTERRUPT_IO_CMD when done; one at a time.
 * Interrupts: DISPLAY (ring space / releases), CURSOR, IO_CMD, ERROR,
 * CLIENT (a SPICE client came or went), CLIENT_MONITORS_CONFIG.
 *
 * Interrupts: INTA# is (QXLRam.int_pending & int_mask) != 0, recomputed
 * when xendm sets a pending bit and on UPDATE_IRQ.  The error state (QEMU's
 * "guest bug"): a malformed request here or a malformed command found by
 * display/qxl-parse.c logs one line, raises QXL_INTERRUPT_ERROR and makes
 * the device ignore commands and ports until QXL_IO_RESET (but UPDATE_IRQ,
 * so that the guest can lower the line).  Every value read from QXLRam
 * (slot ranges, surface parameters, areas, the monitors config address) is
 * copied once, then checked.
 *
 * display/qxl.c owns the device (BARs, ROM and RAM layout, modes, primary
 * surface, resets) and calls in here only for qxl_io_ops and the
 * interrupt/error helpers; the calls into spice-server made here go through
 * struct qxl_spice (display/qxl-spice.c).  Interfaces between the files:
 * display/qxl.h.
 *
 * Threads: main thread (the I/O port handler, async completions that
 * qxl_spice_events() hands over).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/qxl.h"
#include "src/log.h"

#define TAG "qxl"

/* Heads accepted in a monitors config (the ROM's client heads array). */
#define QXL_MAX_HEADS 64
/* How long xendm waits for spice-server to flush before checking an area
 * to update exists (ms). */
#define QXL_FLUSH_WAIT_MS 5000

static struct qxl *qxl_of(void *opaque)
{
    return DEVICE_PRIV((struct device *)opaque, struct qxl);
}

/* ------------------------------------------------------------------------
 * Interrupts and the error state
 */

void qxl_update_irq(struct qxl *s)
{
    uint32_t pending = __atomic_load_n(&s->ram_hdr->int_pending, __ATOMIC_SEQ_CST);
    uint32_t mask = __atomic_load_n(&s->ram_hdr->int_mask, __ATOMIC_SEQ_CST);
    int level = (pending & mask) != 0;

    if (level != s->irq_level) {
        s->irq_level = level;
        pci_set_irq(s->pd, level);
    }
}

void qxl_send_events(struct qxl *s, uint32_t events)
{
    uint32_t old = __atomic_fetch_or(&s->ram_hdr->int_pending, events, __ATOMIC_SEQ_CST);

    if ((old & events) != events)
        qxl_update_irq(s);
}

void qxl_guest_bug(struct qxl *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    g_mutex_lock(&s->sp->lock);
    s->sp->guest_bug = true;
    s->sp->refused++;
    g_mutex_unlock(&s->sp->lock);
    LOG_GUEST(TAG, "guest bug: %s; the device stops until QXL_IO_RESET", msg);
    qxl_send_events(s, QXL_INTERRUPT_ERROR);
}

static bool qxl_in_error(struct qxl *s)
{
    bool bug;

    g_mutex_lock(&s->sp->lock);
    bug = s->sp->guest_bug;
    g_mutex_unlock(&s->sp->lock);
    return bug;
}

/* ------------------------------------------------------------------------
 * Memory slots
 */

static void qxl_add_memslot(struct qxl *s, uint32_t id, uint64_t delta)
{
    static const int bars[] = {0, 1};
    uint64_t start = s->guest_slots[id].start, end = s->guest_slots[id].end;
    uint8_t *host = NULL;

    if (start > end) {
        qxl_guest_bug(s, "memory slot %u: start %#llx above end %#llx", id,
                      (unsigned long long)start, (unsigned long long)end);
        return;
    }
    for (unsigned i = 0; i < sizeof(bars) / sizeof(bars[0]); i++) {
        int b = bars[i];
        uint64_t bar = s->pd->bar_addr[b], size = b == 0 ? s->ram_size : s->vram_size;
        if (bar == UINT64_MAX || start < bar || start > bar + size || end > bar + size)
            continue;
        host = (b == 0 ? s->ram : s->vram) + (start - bar);
        break;
    }
    if (!host) {
        qxl_guest_bug(s, "memory slot %u [%#llx, %#llx) is not inside BAR0 or BAR1", id,
                      (unsigned long long)start, (unsigned long long)end);
        return;
    }
    g_mutex_lock(&s->sp->lock);
    s->sp->slots.slot[id] =
        (struct qxl_memslot){.active = true, .host = host, .size = end - start, .delta = delta};
    s->sp->slots.generation = 0;
    g_mutex_unlock(&s->sp->lock);
    ((QXLRom *)s->rom)->slot_generation = 0;
    s->guest_slots[id].active = true;
}

/* ------------------------------------------------------------------------
 * The qxl-1 compat mode
 */

/* QXL_IO_SET_MODE: the qxl-1 interface (one slot over BAR0 with guest
 * physical addresses, a bottom-up 32-bit primary at the start of BAR0). */
static void qxl_set_mode(struct qxl *s, uint64_t modenr)
{
    uint64_t base = s->pd->bar_addr[0];
    const QXLMode *mode;
    QXLSurfaceCreate sc;
    uint32_t flags = QXL_COMMAND_FLAG_COMPAT;

    if (modenr >= s->n_modes) {
        qxl_guest_bug(s, "QXL_IO_SET_MODE: mode %llu out of range (%u modes)",
                      (unsigned long long)modenr, s->n_modes);
        return;
    }
    mode = &s->mode_list[modenr]; /* our copy: the ROM BAR is guest-writable */
    if (base == UINT64_MAX) {
        qxl_guest_bug(s, "QXL_IO_SET_MODE with BAR0 unmapped");
        return;
    }
    qxl_hard_reset(s);
    g_mutex_lock(&s->sp->lock);
    s->sp->slots.slot[0] =
        (struct qxl_memslot){.active = true, .host = s->ram, .size = s->ram_size, .delta = base};
    g_mutex_unlock(&s->sp->lock);
    s->guest_slots[0] =
        (struct qxl_memslot_def){.start = base, .end = base + s->ram_size, .active = true};
    sc = (QXLSurfaceCreate){
        .width = mode->x_res,
        .height = mode->y_res,
        .stride = -(int32_t)(mode->x_res * 4),
        .format = SPICE_SURFACE_FMT_32_xRGB,
        .mouse_mode = 1,
        .mem = base + s->shadow_rom.draw_area_offset,
    };
    if (mode->bits == 16)
        flags |= QXL_COMMAND_FLAG_COMPAT_16BPP;
    if (!qxl_create_primary(s, &sc, QXL_MODE_COMPAT, flags, NULL))
        return;
    s->shadow_rom.mode = (uint32_t)modenr;
    ((QXLRom *)s->rom)->mode = (uint32_t)modenr;
}

/* ------------------------------------------------------------------------
 * I/O ports
 */

static const char *const qxl_io_names[QXL_IO_RANGE_SIZE] = {
    [QXL_IO_NOTIFY_CMD] = "NOTIFY_CMD",
    [QXL_IO_NOTIFY_CURSOR] = "NOTIFY_CURSOR",
    [QXL_IO_UPDATE_AREA] = "UPDATE_AREA",
    [QXL_IO_UPDATE_IRQ] = "UPDATE_IRQ",
    [QXL_IO_NOTIFY_OOM] = "NOTIFY_OOM",
    [QXL_IO_RESET] = "RESET",
    [QXL_IO_SET_MODE] = "SET_MODE",
    [QXL_IO_LOG] = "LOG",
    [QXL_IO_MEMSLOT_ADD] = "MEMSLOT_ADD",
    [QXL_IO_MEMSLOT_DEL] = "MEMSLOT_DEL",
    [QXL_IO_DETACH_PRIMARY] = "DETACH_PRIMARY",
    [QXL_IO_ATTACH_PRIMARY] = "ATTACH_PRIMARY",
    [QXL_IO_CREATE_PRIMARY] = "CREATE_PRIMARY",
    [QXL_IO_DESTROY_PRIMARY] = "DESTROY_PRIMARY",
    [QXL_IO_DESTROY_SURFACE_WAIT] = "DESTROY_SURFACE_WAIT",
    [QXL_IO_DESTROY_ALL_SURFACES] = "DESTROY_ALL_SURFACES",
    [QXL_IO_UPDATE_AREA_ASYNC] = "UPDATE_AREA_ASYNC",
    [QXL_IO_MEMSLOT_ADD_ASYNC] = "MEMSLOT_ADD_ASYNC",
    [QXL_IO_CREATE_PRIMARY_ASYNC] = "CREATE_PRIMARY_ASYNC",
    [QXL_IO_DESTROY_PRIMARY_ASYNC] = "DESTROY_PRIMARY_ASYNC",
    [QXL_IO_DESTROY_SURFACE_ASYNC] = "DESTROY_SURFACE_ASYNC",
    [QXL_IO_DESTROY_ALL_SURFACES_ASYNC] = "DESTROY_ALL_SURFACES_ASYNC",
    [QXL_IO_FLUSH_SURFACES_ASYNC] = "FLUSH_SURFACES_ASYNC",
    [QXL_IO_FLUSH_RELEASE] = "FLUSH_RELEASE",
    [QXL_IO_MONITORS_CONFIG_ASYNC] = "MONITORS_CONFIG_ASYNC",
};

static struct qxl_cookie *qxl_io_cookie(struct qxl *s, uint32_t io)
{
    struct qxl_cookie *c = g_new0(struct qxl_cookie, 1);

    c->kind = QXL_COOKIE_IO;
    c->io = io;
    g_mutex_lock(&s->sp->lock);
    c->epoch = s->sp->epoch;
    g_mutex_unlock(&s->sp->lock);
    return c;
}

/* An async request that will not reach spice-server: done at once. */
static void qxl_cancel_async(struct qxl *s, struct qxl_cookie *c)
{
    if (!c)
        return;
    g_free(c->monitors);
    g_free(c);
    s->current_async = QXL_UNDEFINED_IO;
    qxl_send_events(s, QXL_INTERRUPT_IO_CMD);
}

void qxl_async_complete(struct qxl *s, struct qxl_cookie *c)
{
    bool current;

    g_mutex_lock(&s->sp->lock);
    current = c->epoch == s->sp->epoch;
    g_mutex_unlock(&s->sp->lock);
    if (current) {
        if (c->io != s->current_async) /* e.g. a VGA port write reset it meanwhile */
            LOG_GUEST(TAG, "async %s completed while %s was current", qxl_io_names[c->io],
                      s->current_async < QXL_IO_RANGE_SIZE ? qxl_io_names[s->current_async]
                                                           : "none");
        s->current_async = QXL_UNDEFINED_IO;
        if (c->io == QXL_IO_CREATE_PRIMARY_ASYNC && s->primary_mem)
            qxl_primary_complete(s);
        qxl_send_events(s, QXL_INTERRUPT_IO_CMD);
    }
    g_free(c->monitors);
    g_free(c);
}

/* The surface of an update exists for spice-server: the guest may have
 * created it with a command spice-server has not fetched yet, so on a miss
 * let it flush its rings first (QEMU leaves this to spice-server, which
 * aborts when the surface is missing). */
static int qxl_check_area(struct qxl *s, uint32_t id, const QXLRect *r, char *err, size_t errlen)
{
    int rc;

    g_mutex_lock(&s->sp->lock);
    rc = qxl_check_update_area(&s->sp->surfaces, id, r, err, errlen);
    g_mutex_unlock(&s->sp->lock);
    if (rc == -ENOENT) {
        struct qxl_cookie *c = qxl_spice_internal_cookie();
        spice_qxl_flush_surfaces_async(&s->sp->qin, qxl_spice_cookie(s->sp, c));
        if (!qxl_spice_wait(s->sp, c, QXL_FLUSH_WAIT_MS)) {
            snprintf(err, errlen, "spice-server did not flush its commands");
            return -ETIMEDOUT;
        }
        g_mutex_lock(&s->sp->lock);
        rc = qxl_check_update_area(&s->sp->surfaces, id, r, err, errlen);
        g_mutex_unlock(&s->sp->lock);
    }
    return rc;
}

static void qxl_update_area(struct qxl *s, struct qxl_cookie *async)
{
    QXLRect r;
    uint32_t id;
    char err[200];
    int rc;

    memcpy(&r, &s->ram_hdr->update_area, sizeof(r));
    memcpy(&id, &s->ram_hdr->update_surface, sizeof(id));
    rc = qxl_check_area(s, id, &r, err, sizeof(err));
    if (rc == 1) { /* empty: old drivers do that */
        qxl_cancel_async(s, async);
        return;
    }
    if (rc < 0) {
        qxl_guest_bug(s, "QXL_IO_UPDATE_AREA: %s", err);
        qxl_cancel_async(s, async);
        return;
    }
    g_mutex_lock(&s->sp->lock);
    s->sp->surfaces.pinned = (int32_t)id; /* no command may destroy it meanwhile */
    g_mutex_unlock(&s->sp->lock);
    if (async) {
        async->area = r;
        async->surface_id = id;
        spice_qxl_update_area_async(&s->sp->qin, id, &async->area, 0,
                                    qxl_spice_cookie(s->sp, async));
        return; /* unpinned when it completes */
    }
    spice_qxl_update_area(&s->sp->qin, id, &r, NULL, 0, 0);
    g_mutex_lock(&s->sp->lock);
    s->sp->surfaces.pinned = -1;
    g_mutex_unlock(&s->sp->lock);
}

static void qxl_io_log(struct qxl *s)
{
    char buf[121];
    size_t n = 0;

    for (; n < sizeof(buf) - 1 && n < QXL_LOG_BUF_SIZE; n++) {
        uint8_t c = s->ram_hdr->log_buf[n];
        if (!c)
            break;
        buf[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    while (n && buf[n - 1] == '?')
        n--; /* the newline drivers end with */
    buf[n] = 0;
    if (n)
        LOG_GUEST(TAG, "guest: %s", buf);
}

static void qxl_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct qxl *s = qxl_of(opaque);
    uint32_t io = (uint32_t)off, orig = io;
    struct qxl_cookie *async = NULL;

    if (size != 1) {
        LOG_GUEST(TAG, "%u-byte write of I/O port %u dropped (byte ports)", size, io);
        return;
    }
    /* the error state: only RESET, and UPDATE_IRQ so that the guest's
     * handler can still lower the line (QEMU ignores it too, leaving a
     * level-triggered interrupt asserted) */
    if (io != QXL_IO_RESET && io != QXL_IO_UPDATE_IRQ && qxl_in_error(s))
        return;
    switch (io) {
    case QXL_IO_RESET:
    case QXL_IO_SET_MODE:
    case QXL_IO_MEMSLOT_ADD:
    case QXL_IO_MEMSLOT_DEL:
    case QXL_IO_CREATE_PRIMARY:
    case QXL_IO_UPDATE_IRQ:
    case QXL_IO_LOG:
    case QXL_IO_MEMSLOT_ADD_ASYNC:
    case QXL_IO_CREATE_PRIMARY_ASYNC:
        break;
    default:
        if (s->mode != QXL_MODE_VGA)
            break;
        /* be nice to buggy drivers, as QEMU is */
        if (io >= QXL_IO_UPDATE_AREA_ASYNC && io < QXL_IO_RANGE_SIZE)
            qxl_send_events(s, QXL_INTERRUPT_IO_CMD);
        return;
    }

    switch (io) {
    case QXL_IO_UPDATE_AREA_ASYNC:
        io = QXL_IO_UPDATE_AREA;
        goto async_common;
    case QXL_IO_MEMSLOT_ADD_ASYNC:
        io = QXL_IO_MEMSLOT_ADD;
        goto async_common;
    case QXL_IO_CREATE_PRIMARY_ASYNC:
        io = QXL_IO_CREATE_PRIMARY;
        goto async_common;
    case QXL_IO_DESTROY_PRIMARY_ASYNC:
        io = QXL_IO_DESTROY_PRIMARY;
        goto async_common;
    case QXL_IO_DESTROY_SURFACE_ASYNC:
        io = QXL_IO_DESTROY_SURFACE_WAIT;
        goto async_common;
    case QXL_IO_DESTROY_ALL_SURFACES_ASYNC:
        io = QXL_IO_DESTROY_ALL_SURFACES;
        goto async_common;
    case QXL_IO_FLUSH_SURFACES_ASYNC:
    case QXL_IO_MONITORS_CONFIG_ASYNC:
    async_common:
        if (s->current_async != QXL_UNDEFINED_IO) {
            qxl_guest_bug(s, "%s started before %s completed", qxl_io_names[orig],
                          qxl_io_names[s->current_async]);
            return;
        }
        s->current_async = orig;
        async = qxl_io_cookie(s, orig);
        break;
    default:
        break;
    }

    switch (io) {
    case QXL_IO_UPDATE_AREA:
        qxl_update_area(s, async);
        break;
    case QXL_IO_NOTIFY_CMD:
    case QXL_IO_NOTIFY_CURSOR:
        spice_qxl_wakeup(&s->sp->qin);
        break;
    case QXL_IO_UPDATE_IRQ:
        qxl_update_irq(s);
        break;
    case QXL_IO_NOTIFY_OOM: {
        bool empty = s->ram_hdr->release_ring.prod == s->ram_hdr->release_ring.cons;
        if (!empty)
            break;
        g_mutex_lock(&s->sp->lock);
        s->sp->oom_running = true;
        g_mutex_unlock(&s->sp->lock);
        spice_qxl_oom(&s->sp->qin);
        g_mutex_lock(&s->sp->lock);
        s->sp->oom_running = false;
        g_mutex_unlock(&s->sp->lock);
        break;
    }
    case QXL_IO_SET_MODE:
        qxl_set_mode(s, val);
        break;
    case QXL_IO_LOG:
        qxl_io_log(s);
        break;
    case QXL_IO_RESET:
        qxl_hard_reset(s);
        break;
    case QXL_IO_MEMSLOT_ADD:
        if (val >= QXL_NUM_MEMSLOTS) {
            qxl_guest_bug(s, "MEMSLOT_ADD: slot %llu out of range", (unsigned long long)val);
        } else if (s->guest_slots[val].active) {
            qxl_guest_bug(s, "MEMSLOT_ADD: slot %llu is already active", (unsigned long long)val);
        } else {
            QXLMemSlot ms;
            memcpy(&ms, &s->ram_hdr->mem_slot, sizeof(ms));
            s->guest_slots[val].start = ms.mem_start;
            s->guest_slots[val].end = ms.mem_end;
            qxl_add_memslot(s, (uint32_t)val, 0);
        }
        if (async) /* nothing for spice-server to do: xendm keeps the slots */
            qxl_async_complete(s, async);
        break;
    case QXL_IO_MEMSLOT_DEL:
        if (val >= QXL_NUM_MEMSLOTS) {
            qxl_guest_bug(s, "MEMSLOT_DEL: slot %llu out of range", (unsigned long long)val);
            break;
        }
        g_mutex_lock(&s->sp->lock);
        s->sp->slots.slot[val].active = false;
        g_mutex_unlock(&s->sp->lock);
        s->guest_slots[val].active = false;
        break;
    case QXL_IO_CREATE_PRIMARY: {
        QXLSurfaceCreate sc;
        if (val != 0) {
            qxl_guest_bug(s, "CREATE_PRIMARY with %llu (not 0)", (unsigned long long)val);
            qxl_cancel_async(s, async);
            break;
        }
        memcpy(&sc, &s->ram_hdr->create_surface, sizeof(sc));
        if (!qxl_create_primary(s, &sc, QXL_MODE_NATIVE, 0, async))
            qxl_cancel_async(s, async);
        break;
    }
    case QXL_IO_DESTROY_PRIMARY:
        if (val != 0) {
            qxl_guest_bug(s, "DESTROY_PRIMARY with %llu (not 0)", (unsigned long long)val);
            qxl_cancel_async(s, async);
        } else if (!qxl_destroy_primary(s, async)) {
            qxl_cancel_async(s, async);
        }
        break;
    case QXL_IO_DESTROY_SURFACE_WAIT:
        if (val >= QXL_NUM_SURFACES || val != 0) {
            /* spice-server aborts on any surface but the primary */
            qxl_guest_bug(s, "DESTROY_SURFACE_WAIT of surface %llu (only 0 is supported)",
                          (unsigned long long)val);
            qxl_cancel_async(s, async);
        } else if (async) {
            async->surface_id = 0;
            spice_qxl_destroy_surface_async(&s->sp->qin, 0, qxl_spice_cookie(s->sp, async));
        } else {
            spice_qxl_destroy_surface_wait(&s->sp->qin, 0);
        }
        break;
    case QXL_IO_FLUSH_RELEASE:
        g_mutex_lock(&s->sp->lock);
        qxl_spice_push_free_res(s->sp, true);
        g_mutex_unlock(&s->sp->lock);
        qxl_update_irq(s);
        break;
    case QXL_IO_FLUSH_SURFACES_ASYNC:
        spice_qxl_flush_surfaces_async(&s->sp->qin, qxl_spice_cookie(s->sp, async));
        break;
    case QXL_IO_DESTROY_ALL_SURFACES:
        if (s->mode == QXL_MODE_VGA)
            qxl_spice_vga_display(s, false);
        qxl_set_mode_state(s, QXL_MODE_UNDEFINED, 0);
        s->primary_mem = NULL;
        s->primary_shown = false;
        if (async) {
            spice_qxl_destroy_surfaces_async(&s->sp->qin, qxl_spice_cookie(s->sp, async));
        } else {
            spice_qxl_destroy_surfaces(&s->sp->qin);
            g_mutex_lock(&s->sp->lock);
            qxl_surfaces_reset(&s->sp->surfaces);
            g_mutex_unlock(&s->sp->lock);
        }
        break;
    case QXL_IO_MONITORS_CONFIG_ASYNC: {
        char err[200];
        QXLPHYSICAL a;
        memcpy(&a, &s->ram_hdr->monitors_config, sizeof(a)); /* read once */
        g_mutex_lock(&s->sp->lock);
        async->monitors =
            qxl_copy_monitors_config(&s->sp->slots, a, QXL_MAX_HEADS, err, sizeof(err));
        g_mutex_unlock(&s->sp->lock);
        if (!async->monitors) {
            qxl_guest_bug(s, "MONITORS_CONFIG_ASYNC: %s", err);
            qxl_cancel_async(s, async);
            break;
        }
        spice_qxl_monitors_config_async(&s->sp->qin, (QXLPHYSICAL)(uintptr_t)async->monitors, 0,
                                        qxl_spice_cookie(s->sp, async));
        break;
    }
    default:
        qxl_guest_bug(s, "write to I/O port %u (%s)", orig,
                      orig < QXL_IO_RANGE_SIZE && qxl_io_names[orig] ? qxl_io_names[orig] : "none");
        qxl_cancel_async(s, async);
        break;
    }
}

static uint64_t qxl_io_read(void *opaque, uint64_t off, unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

const struct io_ops qxl_io_ops = {
    .name = "qxl-ioports",
    .read = qxl_io_read,
    .write = qxl_io_write,
    .max_size = 4,
};
