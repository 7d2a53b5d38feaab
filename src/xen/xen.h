/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Xen boundary (design rule 2): the only code that calls libxen*.  It
 * owns the handles, the ioreq server and its two pages, the event channels,
 * the buffered-ring consumer, the guest-RAM mapping and the device-RAM
 * allocator, and turns every ioreq into calls of the address dispatcher
 * (src/dispatch.h) or the PCI configuration router (devices/pci.h).  It
 * implements src/hv.h for the devices.
 *
 * Bring-up order (style rule 5; the ioreq notes' Part A2):
 *   XEN_SEQ_HANDLES      xc/devicemodel/foreignmemory/evtchn handles open
 *   XEN_SEQ_SERVER       ioreq server created (BUFIOREQ_ATOMIC)
 *   XEN_SEQ_PAGES        buffered + sync pages mapped (resource frames)
 *   XEN_SEQ_RAM          guest RAM mapped
 *   XEN_SEQ_ENABLED      server enabled, vCPU and buffered ports bound
 * xen_close() unwinds whatever was reached, in reverse.
 *
 * Threads: main thread only.  The event-channel fd is a GSource on the main
 * loop; every ioreq is completed there, never waiting on anything slow.
 */
#ifndef XENDM_XEN_H
#define XENDM_XEN_H

#include <stdbool.h>
#include <stdint.h>

struct xen_params {
    unsigned domid;
    unsigned max_vcpus;
    uint64_t ram_mb;
    uint64_t ram_below_4g; /* bytes of RAM below 4 GiB (max-ram-below-4g / 0xF0000000 rule) */
};

/* Open handles, create and map the ioreq server, map guest RAM, install the
 * dispatcher and PCI backends.  0 or -1 (message printed). */
int xen_open(const struct xen_params *p);
/* Enable the server and bind every vCPU's port and the buffered port, then
 * attach the event source to the default GLib main context. */
int xen_start(void);
/* Enable/disable forwarding (QMP stop/cont). */
int xen_set_running(bool running);
/* xentoolcore_restrict_all (dm_restrict): after every xenstore and
 * libxenctrl use. */
int xen_restrict(void);
/* Disable and destroy the ioreq server, unmap, close handles. */
void xen_close(void);

/* While true (QMP xen-set-global-dirty-log), guest RAM the DM writes is
 * reported to Xen with modified_memory. */
void xen_set_dirty_logging(bool on);

/* xenstore: device-model/<domid>/... under the DM's home.  0 or -1. */
int xen_store_open(unsigned domid);
int xen_store_write_state(const char *state); /* "running" */
void xen_store_close(void);

struct xen_stats {
    uint64_t sync, buffered, pio, mmio, pci_config, timeoffset, invalidate, bad;
};
void xen_get_stats(struct xen_stats *st);

#endif
