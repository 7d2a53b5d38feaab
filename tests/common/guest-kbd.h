/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest-side driver for the PS/2 controller (i8042 at ports 0x60/0x64),
 * its keyboard and its mouse (the AUX port), for tests on xensim: it
 * programs the controller the way a BIOS or an OS driver does (self test,
 * command byte, keyboard reset, scancode set, enable; for the mouse: AUX
 * port on, IRQ 12, mouse reset, identify and data reporting through
 * controller command 0xd4) through the xensim guest API, and reads the
 * bytes the devices send, waiting for IRQ 1 / IRQ 12 between polls of the
 * status register (bit 5 says the byte is the mouse's).  Acts on the
 * current simulator (xsim_select()), vCPU 0.
 */
#ifndef TESTS_COMMON_GUEST_KBD_H
#define TESTS_COMMON_GUEST_KBD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Status register (port 0x64) bits. */
#define GKBD_ST_OBF 0x01 /* output buffer full */
#define GKBD_ST_SYS 0x04 /* system flag, as the command byte last set it */
#define GKBD_ST_AUX 0x20 /* the output buffer holds mouse data */

/* Controller command byte bits (what the guest writes with command 0x60). */
#define GKBD_CB_KBD_INT   0x01 /* IRQ 1 when keyboard data is in the buffer */
#define GKBD_CB_AUX_INT   0x02 /* IRQ 12 when mouse data is in the buffer */
#define GKBD_CB_SYS       0x04 /* system flag (POST passed) */
#define GKBD_CB_AUX_OFF   0x20 /* mouse port disabled */
#define GKBD_CB_TRANSLATE 0x40 /* translate the keyboard's set 2 to set 1 */

/*
 * Bring the controller and keyboard up: flush the output buffer, controller
 * self test (0xaa -> 0x55), write the command byte (IRQ 1, SYS, mouse port
 * off, translation if `translate`) and read it back, keyboard reset (0xff
 * -> 0xfa 0xaa), select scancode set `set` (0xf0 set -> 0xfa 0xfa), enable
 * scanning (0xf4 -> 0xfa).  TRUE, or FALSE with err saying which step got
 * which answer.
 */
bool gkbd_setup(bool translate, unsigned set, GError **err);

/*
 * Read one byte of keyboard data: poll the status register (bit 0, output
 * buffer full; bit 5 would mean mouse data, which is an error here) and
 * wait for IRQ 1 between polls, for at most timeout_ms.  TRUE and *out, or
 * FALSE on timeout or when mouse data shows up.
 */
bool gkbd_read(uint8_t *out, int timeout_ms);

/* Read up to n bytes, each within timeout_ms; returns how many arrived. */
size_t gkbd_read_n(uint8_t *buf, size_t n, int timeout_ms);

/* "e0 4b e0 cb" (newly allocated). */
char *gkbd_hex(const uint8_t *b, size_t n);

/*
 * Read one byte of either device: *aux says whether the status register
 * flagged it as mouse data (bit 5).  Waits for IRQ 1 or IRQ 12 between
 * polls, for at most timeout_ms; FALSE on timeout.
 */
bool gkbd_read_any(uint8_t *out, bool *aux, int timeout_ms);

/*
 * Bring the mouse up, as Linux's psmouse does on a plain controller:
 * flush, command byte with the mouse port and IRQ 12 on (keyboard bits
 * kept; read back), 0xa8 mouse port on, 0xa9 mouse port test (0x00), then
 * through 0xd4: reset (0xff -> 0xfa 0xaa 0x00), identify (0xf2 -> 0xfa
 * 0x00: a standard 3-byte mouse), enable data reporting (0xf4 -> 0xfa).
 * Every reply byte of the mouse must come flagged as mouse data.  TRUE, or
 * FALSE with err saying which step got which answer.
 */
bool gmouse_setup(GError **err);

/* One standard 3-byte PS/2 mouse packet, decoded. */
struct gmouse_packet {
    uint8_t b[3];
    int dx, dy;       /* 9-bit two's complement; dy > 0 is up */
    unsigned buttons; /* bit 0 left, 1 right, 2 middle */
};

/*
 * Read the next mouse packet within timeout_ms per byte.  Keyboard bytes
 * met on the way are skipped and counted in *kbd_bytes (may be NULL).
 * 1 and *p; 0 on timeout; -1 when the first byte lacks bit 3 (always set
 * in byte 0): the stream is out of step.
 */
int gmouse_read_packet(struct gmouse_packet *p, unsigned *kbd_bytes, int timeout_ms);

G_END_DECLS
#endif
