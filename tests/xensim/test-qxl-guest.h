/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small QXL guest driver for the xensim tests, programming the device the
 * way Linux's qxl DRM driver does: read the ROM, find the RAM header, reset,
 * unmask interrupts, add the "main" (BAR0) and "surfaces" (BAR1) memory
 * slots with MEMSLOT_ADD_ASYNC, create the primary surface with
 * CREATE_PRIMARY_ASYNC (waiting for QXL_INTERRUPT_IO_CMD on the INTx line,
 * then acknowledging like its interrupt handler: take int_pending, write
 * UPDATE_IRQ), allocate commands in BAR0 after the surface0 area, push
 * them on the command and cursor rings (NOTIFY_* when the device asked to
 * be notified), and walk the release ring's lists.  Guest stores go
 * straight to the BAR frames (guest_ram_ptr), as CPU stores would.
 *
 * Programmer errors and protocol timeouts fail the test (g_assert).
 */
#ifndef TESTS_XENSIM_TEST_QXL_GUEST_H
#define TESTS_XENSIM_TEST_QXL_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <spice/qxl_dev.h>

#include "tests/common/qxl-cmd.h"
#include "tests/xensim/xensim.h"

#define QG_IRQ_TIMEOUT_MS 10000
#define QG_INT_MASK                                                                                \
    (QXL_INTERRUPT_DISPLAY | QXL_INTERRUPT_CURSOR | QXL_INTERRUPT_IO_CMD |                         \
     QXL_INTERRUPT_CLIENT_MONITORS_CONFIG)

struct qg {
    xsim *x;
    uint16_t bdf;
    uint64_t ram_gpa, vram_gpa, rom_gpa;
    uint64_t ram_size, vram_size;
    uint16_t io;
    unsigned irq_line;
    QXLRom rom;   /* as read at init */
    uint8_t *ram; /* BAR0, guest's view */
    QXLRam *hdr;
    struct qc_mem main;  /* commands: BAR0 after the surface0 area (the "main" slot) */
    uint64_t surf_high;  /* the "surfaces" slot's id and generation bits */
    uint64_t next_surf;  /* bump allocator in BAR1 */
    GHashTable *pending; /* release id -> BAR0 offset of its release info */
    uint64_t next_id;
    unsigned released;
    uint32_t seen_pending; /* every int_pending bit taken so far */
};

/* Find the device after xsim_fw_pci_setup(), read its ROM, map its BARs. */
void qg_probe(struct qg *g, xsim *x);
/* Reset, unmask interrupts, add the two memory slots (Linux's bring-up). */
void qg_init(struct qg *g);
/* Take int_pending and acknowledge (the interrupt handler); returns it. */
uint32_t qg_ack(struct qg *g);
/* Write an async port and wait for QXL_INTERRUPT_IO_CMD. */
void qg_io_async(struct qg *g, unsigned port, uint8_t val);
void qg_create_primary(struct qg *g, unsigned w, unsigned h, uint32_t format);
/* Guest memory: `len` zeroed bytes in BAR0 (or BAR1 for surfaces); returns
 * the offset; qg_addr() is the QXLPHYSICAL of it. */
uint64_t qg_alloc(struct qg *g, size_t len);
uint64_t qg_alloc_surface_mem(struct qg *g, size_t len);
uint64_t qg_addr(const struct qg *g, uint64_t off);
uint64_t qg_surf_addr(const struct qg *g, uint64_t off);
void *qg_ptr(struct qg *g, uint64_t off);
/* A fresh release id for the command whose release info is at off. */
uint64_t qg_track(struct qg *g, uint64_t off);
/* Push on the command (cursor = false) or cursor ring; waits for room. */
void qg_push(struct qg *g, bool cursor, uint64_t cmd_off, uint32_t type);
/* Walk the release ring; returns how many were released in total. */
unsigned qg_collect(struct qg *g);
unsigned qg_outstanding(const struct qg *g);

/* Commands (all in BAR0, targets surface 0 unless said). */
uint64_t qg_fill(struct qg *g, uint32_t surface, int x, int y, int w, int h, uint32_t rgb);
/* A 32-bit top-down bitmap image of w x h pixels from px (row-major
 * 0xRRGGBB), its data split into `chunks` chunks; returns its address. */
uint64_t qg_bitmap(struct qg *g, const uint32_t *px, unsigned w, unsigned h, unsigned chunks);
/* An 8-bit palette bitmap. */
uint64_t qg_bitmap8(struct qg *g, const uint8_t *px, unsigned w, unsigned h, const uint32_t *pal,
                    unsigned nents);
uint64_t qg_copy(struct qg *g, uint32_t surface, uint64_t image, int x, int y, int w, int h,
                 int32_t dep);
uint64_t qg_surface_image(struct qg *g, uint32_t surface, unsigned w, unsigned h);
uint64_t qg_surface_cmd(struct qg *g, uint32_t id, bool create, unsigned w, unsigned h);
uint64_t qg_cursor_set(struct qg *g, int x, int y, unsigned w, unsigned h);
/* A cursor SET at (x, y) with any shape: type (SPICE_CURSOR_TYPE_*), size,
 * hotspot, len bytes of data and the data_size the guest declares. */
struct qg_cursor {
    uint16_t type;
    unsigned w, h, hot_x, hot_y;
    const void *data;
    size_t len;
    uint32_t declared;
};
uint64_t qg_cursor_shape(struct qg *g, int x, int y, const struct qg_cursor *cur);
uint64_t qg_cursor_move(struct qg *g, int x, int y);
/* QXL_IO_UPDATE_AREA of a whole surface, synchronously. */
void qg_update_area(struct qg *g, uint32_t surface, int w, int h);

#endif
