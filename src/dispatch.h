/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address dispatch (design rule 4): one sorted table of port-I/O and MMIO
 * regions, each mapping [base, base+size) to a handler and an opaque
 * pointer.  The Xen side learns exactly the same ranges: adding, removing or
 * moving a region calls the registered backend, which mirrors it into the
 * ioreq server's rangesets (map_io_range_to_ioreq_server), so what Xen
 * forwards and what xendm handles cannot drift apart.
 *
 * Threads: main thread only.
 */
#ifndef XENDM_DISPATCH_H
#define XENDM_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

enum io_space {
    IO_PIO = 0,  /* = XEN_DMOP_IO_RANGE_PORT */
    IO_MMIO = 1, /* = XEN_DMOP_IO_RANGE_MEMORY */
};

/*
 * Handlers of one region.  Called on the main thread from the ioreq loop
 * with `offset` relative to the region's base and size 1, 2, 4 or 8; they
 * must not block.  An access of a size outside [min_size, max_size] (0 =
 * no limit) is split into aligned accesses of max_size, or for reads below
 * min_size widened and the right bytes extracted, by the dispatcher; a read
 * handler may be NULL (reads all-ones), a write handler NULL (dropped).
 * Writes below min_size are dropped (logged), as QEMU drops accesses below
 * its valid minimum.  A handler always gets offset < the region's size and
 * offset + size <= the region's size, with one exception: an access that
 * starts at the region's base and is wider than the region is delivered
 * whole when max_size explicitly allows that width (e.g. CONFIG_ADDRESS at
 * 0xcf8, which shares its dword with the reset register at 0xcf9).  Any
 * other access running past a region's end is split at the boundary, each
 * piece going to the region that holds it.
 */
struct io_ops {
    const char *name;
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
    unsigned min_size, max_size;
};

struct io_region {
    enum io_space space;
    uint64_t base, size;
    const struct io_ops *ops;
    void *opaque;
    bool active; /* in the table (and mapped at Xen) */
};

/* The hypervisor side of the table: map_io_range/unmap. */
struct io_backend {
    int (*map)(void *opaque, enum io_space space, uint64_t first, uint64_t last, bool map);
    void *opaque;
};
void io_set_backend(const struct io_backend *be);

/* Insert (and map at Xen).  0, -EEXIST on overlap, -EINVAL on size 0 or
 * wrap-around, or the backend's error. */
int io_region_add(struct io_region *r);
void io_region_del(struct io_region *r);
/* Move an active region (a BAR being reprogrammed): unmap, move, map. */
int io_region_move(struct io_region *r, uint64_t new_base);

/* Perform one guest access.  Unclaimed reads are all-ones, unclaimed writes
 * dropped; both are counted and logged (rate-limited). */
uint64_t io_read(enum io_space space, uint64_t addr, unsigned size);
void io_write(enum io_space space, uint64_t addr, unsigned size, uint64_t value);

struct io_stats {
    uint64_t reads, writes, unclaimed_reads, unclaimed_writes;
};
void io_get_stats(struct io_stats *st);
/* The region holding addr, or else the first region above it; NULL if
 * none.  Walk the table with io_region_next(space, r->base + r->size),
 * stopping when that sum wraps to 0. */
struct io_region *io_region_next(enum io_space space, uint64_t addr);
/* For tests and the fuzzer: remove every region (without calling the backend). */
void io_reset_table(void);

#endif
