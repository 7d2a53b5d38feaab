/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One ioreq, decoded and performed: PIO and MMIO (COPY) accesses with their
 * rep forms (count, direction flag, data_is_ptr) through the address
 * dispatcher, PCI_CONFIG through the PCI router.  Everything the guest
 * influences is checked: sizes, counts, and every guest-RAM pointer (through
 * hv_guest_read/write).  Separate from src/xen/ so the fuzzer drives exactly
 * this code without a hypervisor.
 */
#ifndef XENDM_IOREQ_H
#define XENDM_IOREQ_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

/* Longest rep string request acted on (elements): Xen's emulator never sends
 * more than a page worth; anything beyond is malformed. */
#define IOREQ_MAX_REP 4096

/* Perform a PIO, COPY or PCI_CONFIG request; reads leave the value in
 * req->data (or in guest RAM for data_is_ptr).  Returns false for a
 * malformed request (logged, rate-limited; reads answered all-ones). */
bool ioreq_dispatch(ioreq_t *req);

#endif
