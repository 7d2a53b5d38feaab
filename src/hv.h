/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hypervisor services for devices.  Devices never include Xen headers: they
 * call these, implemented in src/xen/ over the real libxen* interfaces (and
 * by a recording fake in unit tests and fuzzers, tests/unit/fake-hv.c).
 *
 * Threads: main thread only.  None of these block on the guest.
 */
#ifndef XENDM_HV_H
#define XENDM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shutdown reasons (values of Xen's SHUTDOWN_*). */
#define HV_SHUTDOWN_POWEROFF 0
#define HV_SHUTDOWN_REBOOT 1
#define HV_SHUTDOWN_SUSPEND 2

/* Interrupt lines (Part A9 of the ioreq notes). */
int hv_set_isa_irq(unsigned irq, int level);                  /* irq 0-15 */
int hv_set_pci_intx(unsigned dev, unsigned pin, int level);   /* pin 0 = INTA# */
int hv_set_pci_link_route(unsigned link, unsigned isa_irq);   /* 0 = disabled */
int hv_inject_msi(uint64_t addr, uint32_t data);

/* Power: the guest asked for poweroff/reboot/suspend. */
int hv_shutdown(unsigned reason);
int hv_set_acpi_s_state(unsigned state); /* HVM_PARAM_ACPI_S_STATE */

/* Guest RAM, for devices that do DMA or read guest structures.  Every byte
 * is checked: -EFAULT if any part of [gpa, gpa+len) is not guest RAM. */
int hv_guest_read(uint64_t gpa, void *buf, size_t len);
int hv_guest_write(uint64_t gpa, const void *buf, size_t len);

/* Device memory (VRAM, option ROMs) from the domain's allowance: `size`
 * bytes (a multiple of 4 KiB) populated at a free gfn above guest RAM,
 * mapped into xendm.  Returns the mapping and the first gfn in *gfn, or
 * NULL (error printed, naming videoram when the allowance is exhausted). */
void *hv_alloc_device_ram(const char *name, uint64_t size, uint64_t *gfn);
/* Move nr frames from src_gfn to dst_gfn in the guest's p2m (the mapping
 * in xendm stays valid: it follows the frames). */
int hv_relocate(uint64_t src_gfn, uint64_t dst_gfn, uint64_t nr);
/* Xen's dirty-VRAM bitmap for nr guest pages from first_gfn: bit i set if
 * the guest wrote page i since the previous call; the first call on a new
 * range reports everything dirty; nr 0 stops tracking.  One range per
 * domain; each call pauses the domain on real Xen, so call it once per
 * refresh.  bitmap holds (nr + 7) / 8 bytes.  0 or -errno. */
int hv_track_dirty_vram(uint64_t first_gfn, uint32_t nr, uint8_t *bitmap);
/* Make guest frames read-only (ROMs) or writable again. */
int hv_set_ram_readonly(uint64_t gfn, uint64_t nr, bool ro);

#endif
