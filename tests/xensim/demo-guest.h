/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The demo's guest, as xensimd script commands: text typed through the VGA
 * BIOS, a Bochs VBE mode, and an animation drawn into the linear
 * framebuffer (a moving box and a line of text on a gradient), so that a
 * person with a VNC or SPICE viewer sees a live guest.
 */
#ifndef XENSIM_DEMO_GUEST_H
#define XENSIM_DEMO_GUEST_H

#include <signal.h>

#include "tests/xensim/xensim.h"

/* INT 10h teletype of text and CR LF (the VGA ROM must be initialised). */
int demo_type(xsim *x, const char *text);
/* Bochs VBE DISPI: width x height at bpp, linear framebuffer on. */
int demo_vbe_mode(unsigned width, unsigned height, unsigned bpp);
/* Draw frames for `seconds` (0: until *stop) in the current 32 bpp VBE
 * mode; text is drawn with the VGA ROM's 8x16 font, scaled up. */
int demo_animate(xsim *x, unsigned seconds, const char *text, volatile sig_atomic_t *stop);

#endif
