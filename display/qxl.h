/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL internals shared by display/qxl.c (the PCI device: BARs, ROM and
 * RAM layout, modes, resets, rendering for the framebuffer core),
 * display/qxl-io.c (the I/O ports, interrupts, error state, memory slots)
 * display/qxl-spice.c (the QXLInterface spice-server's worker thread
 * calls), display/qxl-spice-main.c (its main-thread half: events, cookies,
 * the VGA-mode display for SPICE clients, the server xendm runs itself
 * when -spice is not given) and display/qxl-cursor.c (the driver's cursor
 * for the framebuffer core).  Nothing else includes it.
 *
 * Threads and the one lock (design rule 1, style rule 3).  Device state
 * belongs to the main thread.  spice-server's worker thread ("red worker")
 * calls the QXLInterface callbacks; what those need lives in struct
 * qxl_spice below, under `lock`:
 *   - the guest memory slots and the surface tracker (qxl-parse.h): the
 *     worker parses guest commands with them, the main thread changes them
 *     on MEMSLOT_ADD/DEL, primary create/destroy, reset;
 *   - mode, command flags, the error state ("guest bug") and the reset
 *     epoch, written by the main thread, read by the worker;
 *   - the release ring bookkeeping (QEMU's num_free_res / last_release),
 *     used by release_resource and flush_resources on the worker and by
 *     FLUSH_RELEASE and reset on the main thread;
 *   - the VGA-mode command queue (main thread produces, worker consumes);
 *   - events for the main thread: interrupts to raise, messages to log,
 *     async operations completed.  The worker sets them and writes an
 *     eventfd; the main loop picks them up (qxl_spice_events()).
 * Rules: the main thread never calls into spice-server while holding the
 * lock (spice_qxl_* may wait for the worker, which may wait for the lock);
 * the worker never waits for the main thread; guest memory is read by the
 * worker only through qxl-parse.c, under the lock.
 */
#ifndef XENDM_DISPLAY_QXL_H
#define XENDM_DISPLAY_QXL_H

#include <glib.h>
#include <spice.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "display/fb.h"
#include "display/qxl-cursor.h"
#include "display/qxl-parse.h"
#include "display/vga.h"
#include "src/dispatch.h"

enum qxl_mode {
    QXL_MODE_UNDEFINED = 0, /* no primary surface (driver between modes) */
    QXL_MODE_VGA,           /* VGA-compatible: the VGA core draws */
    QXL_MODE_COMPAT,        /* QXL_IO_SET_MODE (qxl-1 drivers) */
    QXL_MODE_NATIVE,        /* the driver made a primary surface */
};

#define QXL_UNDEFINED_IO UINT32_MAX
#define QXL_PAGE         4096u /* QXLRom.num_pages counts these */

/* Event bits for the main thread (struct qxl_spice.events). */
#define QXL_EV_IRQ    0x1  /* int_pending changed: recompute the line */
#define QXL_EV_LOG    0x2  /* messages queued */
#define QXL_EV_ASYNC  0x4  /* async operations completed */
#define QXL_EV_VGA    0x8  /* the VGA-mode queue ran empty: send more */
#define QXL_EV_CURSOR 0x10 /* cursor commands taken: pass them to fb core */

/* What an async spice-server call was for (its cookie). */
enum qxl_cookie_kind {
    QXL_COOKIE_IO,       /* a guest's *_ASYNC port write: IO_CMD interrupt when done */
    QXL_COOKIE_INTERNAL, /* xendm waits for it itself (qxl_spice_wait) */
};

struct qxl_cookie {
    enum qxl_cookie_kind kind;
    uint32_t io;                 /* QXL_IO_* it completes */
    uint64_t epoch;              /* reset generation it belongs to */
    QXLRect area;                /* UPDATE_AREA_ASYNC: must outlive the call */
    uint32_t surface_id;         /* UPDATE_AREA / DESTROY_SURFACE_ASYNC */
    QXLMonitorsConfig *monitors; /* MONITORS_CONFIG_ASYNC: the copy spice reads */
    bool done;                   /* INTERNAL: set by the worker */
    bool abandoned;              /* INTERNAL: the waiter gave up; the worker frees it */
};

struct qxl;

/* Everything spice-server may touch.  Allocated apart from the device:
 * spice_stop() runs before machine_destroy(), but if the machine fails to
 * start the device goes while the -spice server lives on, and `dead` then
 * turns the callbacks into no-ops (spice_display_claim()'s hook frees it
 * when the server ends). */
struct qxl_spice {
    QXLInstance qin; /* spice-server's handle (container_of) */
    SpiceServer *server;
    bool own_server; /* created here because -spice was not given */
    bool attached;   /* interface added */

    GMutex lock;
    GCond cond; /* INTERNAL cookies completing */
    /* --- under lock --- */
    bool dead;
    struct qxl *dev;
    struct qxl_memslots slots;
    struct qxl_surfaces surfaces;
    enum qxl_mode mode;
    uint32_t cmdflags;
    bool guest_bug;
    uint64_t epoch;
    QXLRam *ram; /* xendm's mapping of the RAM header */
    QXLRom *rom; /* ... and of the ROM BAR */
    uint32_t num_free_res;
    QXLReleaseInfo *last_release;
    bool oom_running;
    GQueue vga_cmds; /* host commands for VGA mode */
    uint32_t events;
    struct qxl_cursor_pend cursor; /* for the framebuffer core's cursor plane */
    GQueue logs;                   /* char *, at most QXL_MAX_QUEUED_LOGS */
    GQueue async_done;             /* struct qxl_cookie * */
    uint8_t client_present;        /* what spice-server told us last (ROM fields) */
    uint8_t client_caps[58];
    size_t held_bytes; /* copies spice-server holds (QXL_MAX_HELD_COPY) */
    uint64_t commands, released, refused, dropped; /* statistics */
    /* --- main thread --- */
    int evfd;
    guint ev_source;
    /* VGA mode shown to SPICE clients (only with -spice), listening to
     * the framebuffer core while clients are connected (vga_watch()) */
    struct qxl *vga_dev;  /* the device while it is in VGA mode */
    struct fb_listener *vga_listener;
    guint vga_linger;     /* stop listening when it fires */
    uint8_t *vga_primary; /* the host primary surface's memory */
    unsigned vga_width, vga_height;
    pixman_region32_t vga_dirty; /* changed, not yet sent */
    uint32_t vga_unique;         /* image ids */
};

#define QXL_MAX_QUEUED_LOGS 32
/* What the copies of guest commands spice-server holds may cost in all:
 * beyond, a command is refused (error state).  Drivers draw from one-chunk
 * bitmaps, which are not copied: copies are the small structures plus the
 * odd multi-chunk image; spice-server holds at most ~1000 drawables. */
#define QXL_MAX_HELD_COPY (256u << 20)

struct qxl {
    struct vga vga; /* first: the VGA core finds itself via the device */
    struct device *dev;
    struct pci_dev *pd;
    struct pci_desc pci; /* this instance's BAR sizes */

    uint32_t ram_size, vram_size, vgamem_size;
    uint8_t *ram, *vram, *rom; /* BAR0, BAR1, BAR2 in xendm */
    QXLRom shadow_rom;         /* what the ROM should say (the guest can write the BAR) */
    QXLModes *modes;           /* in the ROM BAR */
    uint32_t n_modes;
    QXLMode mode_list[37 * 4]; /* the same, ours */
    QXLRam *ram_hdr;

    /* main-thread state (mirrored into sp under its lock where noted) */
    enum qxl_mode mode;
    uint32_t current_async;
    struct qxl_memslot_def {
        uint64_t start, end; /* the guest's QXLMemSlot */
        bool active;
    } guest_slots[QXL_NUM_MEMSLOTS];
    QXLSurfaceCreate guest_primary;
    uint8_t *primary_mem; /* its lowest byte in xendm, while in native/compat mode */
    bool primary_shown;   /* the framebuffer core shows it */
    int irq_level;

    struct qxl_spice *sp;
};

/* display/qxl-io.c, main thread */
extern const struct io_ops qxl_io_ops; /* BAR3 */
/* Set interrupt bits in QXLRam.int_pending; recompute INTA#. */
void qxl_send_events(struct qxl *s, uint32_t events);
void qxl_update_irq(struct qxl *s);
/* An async operation spice-server completed (its cookie, freed here). */
void qxl_async_complete(struct qxl *s, struct qxl_cookie *c);
/* Enter the error state: log why, raise QXL_INTERRUPT_ERROR. */
void qxl_guest_bug(struct qxl *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* display/qxl.c, main thread: modes and the primary surface */
void qxl_set_mode_state(struct qxl *s, enum qxl_mode mode, uint32_t cmdflags);
/* Make `sc` the primary surface (CREATE_PRIMARY, or SET_MODE with `mode`
 * QXL_MODE_COMPAT and its command flags).  false if refused (error state;
 * an async cookie was not used). */
bool qxl_create_primary(struct qxl *s, const QXLSurfaceCreate *sc, enum qxl_mode mode,
                        uint32_t cmdflags, struct qxl_cookie *async);
/* The primary surface exists for spice-server: show it. */
void qxl_primary_complete(struct qxl *s);
/* Destroy the primary surface (or leave VGA mode); true if there was one
 * (its destruction may have started, async). */
bool qxl_destroy_primary(struct qxl *s, struct qxl_cookie *async);
/* QXL_IO_RESET: surfaces, slots, ROM and RAM header back to power-on
 * values, VGA mode. */
void qxl_hard_reset(struct qxl *s);

/* display/qxl-spice.c, main thread */
int qxl_spice_init(struct qxl *s, char *err, size_t errlen);
/* The device is ready: start the worker of xendm's own server (with
 * -spice, spice.c starts it once the machine exists). */
void qxl_spice_start(struct qxl *s);
void qxl_spice_fini(struct qxl *s);
void qxl_spice_events(struct qxl_spice *sp); /* handle what the worker queued */
/* Show VGA mode to SPICE clients (start) or stop doing so, destroying the
 * host primary surface. */
void qxl_spice_vga_display(struct qxl *s, bool on);
/* A cookie for an async spice_qxl_* call. */
uint64_t qxl_spice_cookie(struct qxl_spice *sp, struct qxl_cookie *c);
/* An INTERNAL cookie (g_new0'd): wait (bounded) until its operation
 * completed.  It is freed either way (by the worker if we time out). */
struct qxl_cookie *qxl_spice_internal_cookie(void);
bool qxl_spice_wait(struct qxl_spice *sp, struct qxl_cookie *c, int timeout_ms);
/* Log a worker-side problem from the main thread (lock held). */
void qxl_spice_queue_log(struct qxl_spice *sp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* With the lock held, either thread: give a guest resource back through
 * the release ring (QEMU's scheme: a ring entry heads a list linked
 * through QXLReleaseInfo.next), and push the collected list to the ring
 * (flush: now; else once QXL_FREE_BUNCH_SIZE are collected). */
void qxl_spice_release(struct qxl_spice *sp, QXLReleaseInfo *guest);
void qxl_spice_push_free_res(struct qxl_spice *sp, bool flush);
#define QXL_FREE_BUNCH_SIZE 32

#endif
