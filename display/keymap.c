/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VNC keymaps from xkeyboard-config; see keymap.h. */
#include "config.h"

#include <gio/gio.h>
#include <stdbool.h>
#include <linux/input-event-codes.h>
#include <string.h>
#include <xkbcommon/xkbcommon.h>

#include "display/keymap.h"

/*
 * Linux input key code -> qnum, for the codes where they differ.  From
 * keycodemapdb's keymaps.csv ("Linux" and "AT set1 keycode" columns, the
 * same source as input.c's QKeyCode table); KEY_ESC (1) .. KEY_KPDOT (83)
 * and KEY_102ND .. KEY_F12 (86..88) are the set-1 code itself.  This is
 * the key *position* bridge; which character a position types comes from
 * xkeyboard-config.
 */
static const uint8_t linux_qnum[][2] = {
    {KEY_ZENKAKUHANKAKU, 0x76},
    {KEY_RO, 0x73},
    {KEY_KATAKANA, 0x78},
    {KEY_HIRAGANA, 0x77},
    {KEY_HENKAN, 0x79},
    {KEY_KATAKANAHIRAGANA, 0x70},
    {KEY_MUHENKAN, 0x7b},
    {KEY_KPJPCOMMA, 0x5c},
    {KEY_KPENTER, 0x9c},
    {KEY_RIGHTCTRL, 0x9d},
    {KEY_KPSLASH, 0xb5},
    {KEY_SYSRQ, 0x54},
    {KEY_RIGHTALT, 0xb8},
    {KEY_HOME, 0xc7},
    {KEY_UP, 0xc8},
    {KEY_PAGEUP, 0xc9},
    {KEY_LEFT, 0xcb},
    {KEY_RIGHT, 0xcd},
    {KEY_END, 0xcf},
    {KEY_DOWN, 0xd0},
    {KEY_PAGEDOWN, 0xd1},
    {KEY_INSERT, 0xd2},
    {KEY_DELETE, 0xd3},
    {KEY_MUTE, 0xa0},
    {KEY_VOLUMEDOWN, 0xae},
    {KEY_VOLUMEUP, 0xb0},
    {KEY_POWER, 0xde},
    {KEY_KPEQUAL, 0x59},
    {KEY_PAUSE, 0xc6},
    {KEY_KPCOMMA, 0x7e},
    {KEY_YEN, 0x7d},
    {KEY_LEFTMETA, 0xdb},
    {KEY_RIGHTMETA, 0xdc},
    {KEY_COMPOSE, 0xdd},
    {KEY_STOP, 0xe8},
    {KEY_AGAIN, 0x85},
    {KEY_PROPS, 0x86},
    {KEY_UNDO, 0x87},
    {KEY_FRONT, 0x8c},
    {KEY_COPY, 0xf8},
    {KEY_OPEN, 0x64},
    {KEY_PASTE, 0x65},
    {KEY_FIND, 0xc1},
    {KEY_CUT, 0xbc},
    {KEY_HELP, 0xf5},
    {KEY_MENU, 0x9e},
    {KEY_CALC, 0xa1},
    {KEY_SLEEP, 0xdf},
    {KEY_WAKEUP, 0xe3},
    {KEY_MAIL, 0xec},
    {KEY_BOOKMARKS, 0xe6},
    {KEY_COMPUTER, 0xeb},
    {KEY_BACK, 0xea},
    {KEY_FORWARD, 0xe9},
    {KEY_NEXTSONG, 0x99},
    {KEY_PLAYPAUSE, 0xa2},
    {KEY_PREVIOUSSONG, 0x90},
    {KEY_STOPCD, 0xa4},
    {KEY_HOMEPAGE, 0xb2},
    {KEY_REFRESH, 0xe7},
    {KEY_F13, 0x5d},
    {KEY_F14, 0x5e},
    {KEY_F15, 0x5f},
    {KEY_F16, 0x55},
    {KEY_F17, 0x83},
    {KEY_F18, 0xf7},
    {KEY_F19, 0x84},
    {KEY_F20, 0x5a},
    {KEY_F21, 0x74},
    {KEY_F22, 0xf9},
    {KEY_F23, 0x6d},
    {KEY_F24, 0x6f},
    {KEY_MEDIA, 0xed},
};

static unsigned linux_to_qnum(unsigned code)
{
    if ((code >= KEY_ESC && code <= KEY_KPDOT) || (code >= KEY_102ND && code <= KEY_F12))
        return code;
    for (size_t i = 0; i < G_N_ELEMENTS(linux_qnum); i++)
        if (linux_qnum[i][0] == code)
            return linux_qnum[i][1];
    return 0;
}

/* QEMU's -k names that are not xkb layout names. */
static const struct {
    const char *qemu, *layout, *variant;
} qemu_layouts[] = {
    {"ar", "ara", NULL},   {"bepo", "fr", "bepo"}, {"da", "dk", NULL}, {"de-ch", "ch", "de"},
    {"en-gb", "gb", NULL}, {"en-us", "us", NULL},  {"et", "ee", NULL}, {"fr-be", "be", NULL},
    {"fr-ca", "ca", NULL}, {"fr-ch", "ch", "fr"},  {"ja", "jp", NULL}, {"nl-be", "be", NULL},
    {"pt-br", "br", NULL}, {"sl", "si", NULL},     {"sv", "se", NULL},
};

void km_free(struct vnc_keymap *km)
{
    if (!km)
        return;
    g_hash_table_destroy(km->syms);
    g_free(km);
}

/*
 * Record every keysym that keymap km types with one keycode and at most
 * Shift and AltGr (Level3).  function_only: keysyms 0xfe00-0xffff
 * (modifiers, editing and function keys), whose position does not depend
 * on the layout, for filling gaps from the us layout.
 */
static void km_scan(struct vnc_keymap *out, struct xkb_keymap *km, bool function_only)
{
    xkb_mod_mask_t shift = 0, l3 = 0, num = 0, other = 0;
    for (xkb_mod_index_t i = 0; i < xkb_keymap_num_mods(km) && i < 32; i++) {
        const char *n = xkb_keymap_mod_get_name(km, i);
        if (!strcmp(n, XKB_MOD_NAME_SHIFT))
            shift |= 1u << i;
        else if (!strcmp(n, "Mod5") || !strcmp(n, "LevelThree"))
            l3 |= 1u << i;
        else if (!strcmp(n, XKB_MOD_NAME_NUM) || !strcmp(n, "NumLock"))
            num |= 1u << i; /* the guest's NumLock decides, as on a real keyboard */
        else
            other |= 1u << i;
    }
    for (xkb_keycode_t kc = xkb_keymap_min_keycode(km); kc <= xkb_keymap_max_keycode(km); kc++) {
        if (kc < 8)
            continue;
        unsigned qnum = linux_to_qnum(kc - 8);
        if (!qnum)
            continue;
        xkb_level_index_t nl = xkb_keymap_num_levels_for_key(km, kc, 0);
        for (xkb_level_index_t l = 0; l < nl; l++) {
            const xkb_keysym_t *syms;
            if (xkb_keymap_key_get_syms_by_level(km, kc, 0, l, &syms) != 1)
                continue;
            xkb_keysym_t sym = syms[0];
            if (function_only && (sym < 0xfe00 || sym > 0xffff))
                continue;
            xkb_mod_mask_t masks[16];
            size_t nm = xkb_keymap_key_get_mods_for_level(km, kc, 0, l, masks, 16);
            int best = -1;
            unsigned code = 0;
            for (size_t i = 0; i < nm; i++) {
                xkb_mod_mask_t m = masks[i] & ~num;
                if (m & other)
                    continue; /* needs Lock, Control, Alt...: not a typing level */
                int cost = !!(m & shift) + !!(m & l3);
                if (best < 0 || cost < best) {
                    best = cost;
                    code = qnum | (m & shift ? KM_SHIFT : 0) | (m & l3 ? KM_ALTGR : 0);
                }
            }
            if (best < 0)
                continue;
            if (l == 0 && sym == XKB_KEY_ISO_Level3_Shift && !out->altgr_qnum)
                out->altgr_qnum = qnum;
            if (l == 0 && sym == XKB_KEY_Shift_L && !out->shift_qnum)
                out->shift_qnum = qnum;
            struct km_entry *e = g_hash_table_lookup(out->syms, GUINT_TO_POINTER(sym));
            if (e && function_only)
                continue;
            if (!e) {
                e = g_new0(struct km_entry, 1);
                g_hash_table_insert(out->syms, GUINT_TO_POINTER(sym), e);
            }
            bool dup = false;
            for (unsigned i = 0; i < e->n; i++)
                dup |= e->code[i] == code;
            if (!dup && e->n < VNC_KM_CANDIDATES)
                e->code[e->n++] = (uint16_t)code;
        }
    }
}

static struct xkb_keymap *km_compile(struct xkb_context *ctx, const char *layout,
                                     const char *variant)
{
    struct xkb_rule_names names = {
        .rules = "evdev", .model = "pc105", .layout = layout, .variant = variant};
    return xkb_keymap_new_from_names(ctx, &names, XKB_KEYMAP_COMPILE_NO_FLAGS);
}

struct vnc_keymap *km_load(const char *name, GError **err)
{
    char *layout = NULL, *variant = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_layouts); i++) {
        if (!strcmp(name, qemu_layouts[i].qemu)) {
            layout = g_strdup(qemu_layouts[i].layout);
            variant = g_strdup(qemu_layouts[i].variant);
        }
    }
    if (!layout) {
        const char *p = strchr(name, '(');
        size_t n = strlen(name);
        if (p && n > 2 && name[n - 1] == ')') {
            layout = g_strndup(name, (size_t)(p - name));
            variant = g_strndup(p + 1, n - (size_t)(p - name) - 2);
        } else {
            layout = g_strdup(name);
        }
    }
    struct vnc_keymap *km = NULL;
    struct xkb_context *ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
    struct xkb_keymap *main_km = NULL, *us_km = NULL;
    if (ctx) /* the error below says what failed; xkbcommon's own log is chatty */
        xkb_context_set_log_level(ctx, XKB_LOG_LEVEL_CRITICAL);
    if (!ctx) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "-k %s: cannot create an xkb context",
                    name);
        goto out;
    }
    /* an unknown layout fails to compile (xkbcommon logs why to stderr) */
    if (!*layout || !(main_km = km_compile(ctx, layout, variant))) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-k %s: unknown keyboard layout (no xkb layout '%s'%s%s%s)", name, layout,
                    variant ? " variant '" : "", variant ? variant : "", variant ? "'" : "");
        goto out;
    }
    km = g_new0(struct vnc_keymap, 1);
    km->syms = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    km_scan(km, main_km, false);
    if (strcmp(layout, "us") && (us_km = km_compile(ctx, "us", NULL)))
        km_scan(km, us_km, true);
    if (!km->shift_qnum)
        km->shift_qnum = 0x2a;
    if (!km->altgr_qnum)
        km->altgr_qnum = 0xb8;
out:
    if (us_km)
        xkb_keymap_unref(us_km);
    if (main_km)
        xkb_keymap_unref(main_km);
    if (ctx)
        xkb_context_unref(ctx);
    g_free(layout);
    g_free(variant);
    return km;
}
