/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL commands built in guest memory, for tests and benchmarks: a bump
 * allocator over the memory one QXL memory slot maps (a BAR as the guest
 * sees it, or a plain buffer), and the drawables and bitmap images a
 * guest driver writes there, laid out as Linux's qxl driver does.  Offsets
 * are into the slot; the addresses inside commands are QXLPHYSICAL: the
 * slot's id and generation bits above the offset.  Needs spice-protocol's
 * headers (SPICE_CFLAGS).
 */
#ifndef TESTS_COMMON_QXL_CMD_H
#define TESTS_COMMON_QXL_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <spice/qxl_dev.h>

struct qc_mem {
    uint8_t *base;      /* the slot's memory as the guest sees it */
    uint64_t next, end; /* offsets: the next free byte, the end of the usable area */
    uint64_t high;      /* the slot id and generation bits of a QXLPHYSICAL */
};

/* len zeroed bytes, 8-byte aligned (asserts that they fit); their offset. */
uint64_t qc_alloc(struct qc_mem *m, size_t len);
void *qc_ptr(const struct qc_mem *m, uint64_t off);
uint64_t qc_addr(const struct qc_mem *m, uint64_t off);

/* A drawable of type on surface with bounding box (x, y, w, h): opaque,
 * unclipped, depending on no other surface, release id 0 (the caller's to
 * set); returns its offset. */
uint64_t qc_drawable(struct qc_mem *m, uint32_t surface, uint8_t type, int x, int y, int w, int h);
/* QXL_DRAW_FILL of a solid colour (0xRRGGBB), rop "put". */
uint64_t qc_fill(struct qc_mem *m, uint32_t surface, int x, int y, int w, int h, uint32_t rgb);
/* QXL_DRAW_COPY of image's w x h pixels from its top left corner to (x, y),
 * rop "put". */
uint64_t qc_copy(struct qc_mem *m, uint32_t surface, QXLPHYSICAL image, int x, int y, int w, int h);

/* The header of a top-down bitmap image: descriptor (id, w x h), format
 * (SPICE_BITMAP_FMT_*), stride in bytes, the first data chunk. */
void qc_image_bitmap(QXLImage *img, uint64_t id, uint8_t format, unsigned w, unsigned h,
                     unsigned stride, QXLPHYSICAL data);
/* A 32-bit w x h bitmap image of the pixels px (row-major 0xRRGGBB), its
 * data split into `chunks` linked chunks; returns the image's offset. */
uint64_t qc_bitmap32(struct qc_mem *m, uint64_t id, const uint32_t *px, unsigned w, unsigned h,
                     unsigned chunks);

#endif
