/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The buffered ioreq ring (buffered_iopage_t), both ends, as Xen 4.17 and a
 * HVM_IOREQSRV_BUFIOREQ_ATOMIC device model use it (docs Part A7).
 *
 * Producer (Xen's side, used by the simulator): bufring_push() stores one
 * request (two slots for an 8-byte write, the second carrying data bits
 * 63..32), publishes it with a release barrier and advances write_pointer.
 * When the ring has fewer free slots than needed it returns -ENOSPC and
 * stores nothing: the caller then sends the request through the sync path,
 * as Xen does.  Like Xen it keeps both pointers small: once read_pointer has
 * passed IOREQ_BUFFER_SLOT_NUM it subtracts a multiple of 511 from both with
 * one 64-bit compare-and-swap, which is why the consumer must read the pair
 * consistently.
 *
 * Consumer (the DM's side, used by tests and as the reference for what a DM
 * must do): bufring_pop() reads read_pointer, write_pointer, re-reads
 * read_pointer and retries if it changed; decodes one request (1 or 2
 * slots); atomically adds the slots consumed to read_pointer.
 */
#ifndef XSIM_BUFRING_H
#define XSIM_BUFRING_H
#include <stdint.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

struct bufreq {
    uint8_t type; /* IOREQ_TYPE_COPY / IOREQ_TYPE_TIMEOFFSET / ... */
    uint8_t dir;
    uint8_t size; /* 1, 2, 4, 8 */
    uint32_t addr; /* < 1 MiB */
    uint64_t data;
};

/* 0 or -ENOSPC (ring full: use the sync path), -EINVAL (addr >= 1 MiB or bad size). */
int bufring_push(buffered_iopage_t *pg, const struct bufreq *req);
/* 1 and *out filled, 0 when empty, -EPROTO for a half-written 8-byte pair. */
int bufring_pop(buffered_iopage_t *pg, struct bufreq *out);
/* Slots in use (write - read). */
unsigned bufring_used(buffered_iopage_t *pg);
#endif
