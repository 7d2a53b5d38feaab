/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording fake of src/hv.h for unit tests and fuzzers: interrupt
 * levels, link routes, MSIs, shutdown requests, and a small guest RAM
 * (FAKE_HV_RAM bytes at guest-physical 0) are kept in `fake_hv` for tests
 * to inspect.  Device RAM is plain heap memory.
 */
#ifndef XENDM_FAKE_HV_H
#define XENDM_FAKE_HV_H

#include <stdbool.h>
#include <stdint.h>

#include "src/hv.h"

#define FAKE_HV_RAM (4u << 20)
/* Pages of dirty-VRAM bitmap a test can script (256 MiB of VRAM). */
#define FAKE_HV_DIRTY_VRAM_PAGES 65536u

struct fake_hv {
    int isa_level[16];
    unsigned isa_edges[16];       /* 0 -> 1 transitions */
    int intx_level[32][4];
    int link_route[4];            /* -1 until set */
    uint64_t msi_addr[64];
    uint32_t msi_data[64];
    unsigned msi_count;
    int shutdown_reason;          /* -1 until requested */
    unsigned shutdown_calls;
    int acpi_s_state;
    uint8_t ram[FAKE_HV_RAM];
    unsigned ram_faults;          /* accesses outside ram[] refused */
    uint64_t next_device_gfn;
    unsigned relocations;
    uint64_t last_reloc_src, last_reloc_dst, last_reloc_nr;
    unsigned dirty_vram_calls;
    /* Dirty-VRAM tracking under test control.  While dirty_vram_scripted is
     * false (the default after fake_hv_reset) every page is reported dirty
     * on every call.  When a test sets it, hv_track_dirty_vram() reports
     * exactly the bits the test set in dirty_vram_mask (page i = bit i % 8
     * of byte i / 8, pages past FAKE_HV_DIRTY_VRAM_PAGES clean) and clears
     * them, like Xen.  The last range asked for is recorded. */
    bool dirty_vram_scripted;
    uint8_t dirty_vram_mask[FAKE_HV_DIRTY_VRAM_PAGES / 8];
    uint64_t dirty_vram_first_gfn;
    uint32_t dirty_vram_nr;
};

/* Scripted mode helper: report page `page` dirty in the next call. */
void fake_hv_dirty_vram_page(uint64_t page);

extern struct fake_hv fake_hv;
void fake_hv_reset(void);

#endif
