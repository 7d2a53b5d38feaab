/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's side of the std VGA for in-process tests and fuzzers (with
 * the fake hypervisor of tests/unit/fake-hv.c): port accesses, the way the
 * ioreq loop hands them to the device, and the register sets SeaBIOS's
 * vgabios-stdvga.bin programs for INT 10h modes 3, 12h and 13h on
 * qemu-xen (read back through the ports; tests/unit/test-vga.c says how).
 */
#ifndef TESTS_UNIT_VGA_IO_H
#define TESTS_UNIT_VGA_IO_H

#include <stdbool.h>
#include <stdint.h>

/* By default the accessors call io_read()/io_write() (src/dispatch.h), as
 * the ioreq loop does for a valid single access; with through_ioreq every
 * access is a PIO ioreq_t handed to ioreq_dispatch() instead. */
void vga_io_through_ioreq(bool through_ioreq);
/* One ioreq of type, addr, size, direction and value (not a pointer)
 * through ioreq_dispatch(); returns its data. */
uint64_t vga_io_req(uint8_t type, uint64_t addr, unsigned size, bool read, uint64_t value);

uint8_t vga_io_inb(uint16_t port);
uint16_t vga_io_inw(uint16_t port);
void vga_io_outb(uint16_t port, uint8_t v);
void vga_io_outw(uint16_t port, uint16_t v);
/* Sequencer and graphics controller register i (index, then data port). */
void vga_io_sr_w(uint8_t i, uint8_t v);
void vga_io_gr_w(uint8_t i, uint8_t v);
/* Set the attribute controller's palette address source bit: the card
 * shows a picture (after a mode set, which clears it). */
void vga_io_unblank(void);

/* A register set as the VGA BIOS programs it for a mode: the miscellaneous
 * output register, SR0-4, GR0-8, CR0-24, AR0-20. */
struct vga_io_mode {
    uint8_t misc, sr[5], gr[9], cr[25], ar[21];
};

extern const struct vga_io_mode vga_io_mode3;  /* INT 10h AX=0003h: 80x25 text */
extern const struct vga_io_mode vga_io_mode12; /* AX=0012h: 640x480x4 planar */
extern const struct vga_io_mode vga_io_mode13; /* AX=0013h: 320x200x8 */

/* Program m as BIOSes do (the sequencer held in synchronous reset
 * meanwhile, CR0-7 unlocked); the screen is blank until vga_io_unblank(). */
void vga_io_set_mode(const struct vga_io_mode *m);

#endif
