/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VNC keymaps: keysym -> PC scancode (qnum) with the Shift/AltGr a key
 * needs, for the -k layout, built at start-up from xkeyboard-config with
 * libxkbcommon (every keycode and shift level of the layout) — no table
 * of characters is kept by hand; only the key-position bridge from Linux
 * key codes to set-1 scancodes is a table (keymap.c).
 */
#ifndef XENDM_KEYMAP_H
#define XENDM_KEYMAP_H

#include <glib.h>
#include <stdint.h>

/* Shift-level candidates kept per keysym (a keysym on more keys than this
 * keeps the first ones in keycode order). */
#define VNC_KM_CANDIDATES 4

/* Modifier bits of a keymap candidate. */
#define KM_SHIFT 0x100u
#define KM_ALTGR 0x200u

struct km_entry {
    unsigned n;
    uint16_t code[VNC_KM_CANDIDATES]; /* qnum | KM_SHIFT | KM_ALTGR */
};

struct vnc_keymap {
    GHashTable *syms; /* keysym -> struct km_entry */
    unsigned shift_qnum, altgr_qnum;
};

/* QEMU's -k names (en-us, de, fr, ...) or xkb "layout(variant)".  NULL and
 * err for an unknown layout.  Takes 7-12 ms: call it before chroot. */
struct vnc_keymap *km_load(const char *name, GError **err);
void km_free(struct vnc_keymap *km);

#endif
