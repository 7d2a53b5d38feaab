/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest-side driver for the PS/2 controller (i8042 at ports 0x60/0x64)
 * and its keyboard, for tests on xensim: it programs the controller the way
 * a BIOS or an OS keyboard driver does (self test, command byte, keyboard
 * reset, scancode set, enable) through the xensim guest API, and reads the
 * bytes the keyboard sends, waiting for IRQ 1 between polls of the status
 * register.  Acts on the current simulator (xsim_select()), vCPU 0.
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

/* Controller command byte bits (what the guest writes with command 0x60). */
#define GKBD_CB_KBD_INT   0x01 /* IRQ 1 when keyboard data is in the buffer */
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

G_END_DECLS
#endif
