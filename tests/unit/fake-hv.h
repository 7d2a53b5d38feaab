/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording fake of src/hv.h for unit tests and fuzzers: interrupt
 * levels, link routes, MSIs, shutdown requests, and a small guest RAM
 * (FAKE_HV_RAM bytes at guest-physical 0) are kept in `fake_hv` for tests
 * to inspect.  Device RAM is plain heap memory.
 */
#ifndef XENDM_FAKE_HV_H
#define XENDM_FAKE_HV_H

#include <stdint.h>

#include "src/hv.h"

#define FAKE_HV_RAM (4u << 20)

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
};

extern struct fake_hv fake_hv;
void fake_hv_reset(void);

#endif
