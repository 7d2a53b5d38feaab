/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VNC viewer's keyboard and pointer, turned into input broker events on
 * the main thread: keysyms through the -k layout's table (keymap.c), with
 * Shift/AltGr pressed or released around a key when the layout needs it;
 * QEMU extended key events straight from their scancode; the RFB button
 * mask into button state and wheel clicks; positions into relative motion,
 * or into the broker's absolute range when an absolute sink is active.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "display/input.h"
#include "display/keymap.h"
#include "display/vnc-priv.h"
#include "src/log.h"

/* ------------------------------------------------------------- input --- */

static void wire_key(struct vnc *v, unsigned qnum, bool down)
{
    v->qwire[qnum] = down;
    if (input_key_number(qnum, down) == 0)
        v->st.keys++;
}

static bool held_shift(struct vnc *v)
{
    return v->qheld[v->km->shift_qnum] || v->qheld[0x36];
}

static bool held_altgr(struct vnc *v)
{
    return v->qheld[v->km->altgr_qnum] != 0;
}

/* Make the wire match `want` for a modifier group; record what we did. */
static void fake_mod(struct vnc *v, struct vnc_down *d, const unsigned *qnums, unsigned n,
                     bool want)
{
    bool on = false;
    for (unsigned i = 0; i < n; i++)
        on |= v->qwire[qnums[i]] != 0;
    if (on == want)
        return;
    if (want) {
        wire_key(v, qnums[0], true);
        d->fake_qnum[d->nfake] = (uint8_t)qnums[0];
        d->fake_press[d->nfake++] = true;
        return;
    }
    for (unsigned i = 0; i < n && d->nfake < 4; i++) {
        if (v->qwire[qnums[i]]) {
            wire_key(v, qnums[i], false);
            d->fake_qnum[d->nfake] = (uint8_t)qnums[i];
            d->fake_press[d->nfake++] = false;
        }
    }
}

/* Undo the fake modifier operations of a released key. */
static void unfake(struct vnc *v, struct vnc_down *d)
{
    for (int i = d->nfake - 1; i >= 0; i--) {
        unsigned q = d->fake_qnum[i];
        if (d->fake_press[i]) {
            if (!v->qheld[q])
                wire_key(v, q, false);
        } else if (v->qheld[q] && !v->qwire[q]) {
            wire_key(v, q, true);
        }
    }
    d->nfake = 0;
}

static void client_key_down(struct vnc_client *c, uint32_t keysym, unsigned code, bool raw)
{
    struct vnc *v = c->v;
    unsigned qnum = code & 0xff;
    for (unsigned i = 0; i < c->ndown; i++) {
        if (c->down[i].keysym == keysym) { /* auto-repeat */
            wire_key(v, c->down[i].qnum, true);
            return;
        }
    }
    if (c->ndown == VNC_MAX_DOWN) {
        /* a key we could not release later would stay down in the guest */
        LOG_GUEST("vnc", "%s:%s holds %u keys: key %#" PRIx32 " dropped", c->host, c->service,
                  VNC_MAX_DOWN, keysym);
        return;
    }
    struct vnc_down *d = &c->down[c->ndown++];
    *d = (struct vnc_down){.keysym = keysym, .qnum = (uint8_t)qnum};
    bool is_mod = raw || qnum == v->km->shift_qnum || qnum == 0x36 || qnum == v->km->altgr_qnum;
    if (!is_mod) {
        const unsigned shifts[2] = {v->km->shift_qnum, 0x36};
        const unsigned altgr[1] = {v->km->altgr_qnum};
        fake_mod(v, d, shifts, 2, (code & KM_SHIFT) != 0);
        fake_mod(v, d, altgr, 1, (code & KM_ALTGR) != 0);
    }
    if (v->qheld[qnum] < 255)
        v->qheld[qnum]++;
    wire_key(v, qnum, true);
}

static void client_key_up_at(struct vnc_client *c, unsigned i)
{
    struct vnc *v = c->v;
    struct vnc_down d = c->down[i];
    c->down[i] = c->down[--c->ndown];
    if (v->qheld[d.qnum])
        v->qheld[d.qnum]--;
    if (!v->qheld[d.qnum])
        wire_key(v, d.qnum, false);
    unfake(v, &d);
}

void vnc_client_key(struct vnc_client *c, bool down, uint32_t keysym, unsigned forced_qnum)
{
    struct vnc *v = c->v;
    if (!down) {
        for (unsigned i = 0; i < c->ndown; i++) {
            if (c->down[i].keysym == keysym) {
                client_key_up_at(c, i);
                return;
            }
        }
        if (forced_qnum && v->qwire[forced_qnum])
            wire_key(v, forced_qnum, false);
        return; /* release of a key we never saw pressed */
    }
    if (forced_qnum) {
        client_key_down(c, keysym, forced_qnum, true);
        return;
    }
    if (!v->km) {
        GError *err = NULL;
        v->km = km_load("en-us", &err);
        if (!v->km) {
            LOG_GUEST("vnc", "%s", err->message);
            g_error_free(err);
            return;
        }
    }
    struct km_entry *e = g_hash_table_lookup(v->km->syms, GUINT_TO_POINTER(keysym));
    if (!e) {
        v->st.keys_unmapped++;
        LOG_GUEST("vnc", "keysym 0x%" PRIx32 " cannot be typed on this layout", keysym);
        return;
    }
    /* the key whose modifiers match what the viewer holds, else the first */
    unsigned want = (held_shift(v) ? KM_SHIFT : 0) | (held_altgr(v) ? KM_ALTGR : 0);
    unsigned code = e->code[0];
    for (unsigned i = 0; i < e->n; i++) {
        if ((e->code[i] & (KM_SHIFT | KM_ALTGR)) == want) {
            code = e->code[i];
            break;
        }
    }
    client_key_down(c, keysym, code, false);
}

void vnc_client_extkey(struct vnc_client *c, bool down, uint32_t keysym, uint32_t keycode)
{
    /* QEMU: a keycode of 0 means "use the keysym" */
    if (keycode && keycode <= 0xff && keycode != 0x80) {
        uint32_t id = 0x80000000u | keycode; /* keyed by scancode, not keysym */
        vnc_client_key(c, down, id, keycode);
        return;
    }
    vnc_client_key(c, down, keysym, 0);
}

void vnc_client_release_all(struct vnc_client *c)
{
    while (c->ndown)
        client_key_up_at(c, c->ndown - 1);
}

void vnc_client_pointer(struct vnc_client *c, int mask, int x, int y)
{
    struct vnc *v = c->v;
    struct input_pointer_event ev = {0};
    if (mask & 0x01)
        ev.buttons |= INPUT_BTN_LEFT;
    if (mask & 0x02)
        ev.buttons |= INPUT_BTN_MIDDLE;
    if (mask & 0x04)
        ev.buttons |= INPUT_BTN_RIGHT;
    /* wheel: buttons 4 and 5 are clicks; count presses */
    int pressed = mask & ~c->last_mask;
    if (pressed & 0x08)
        ev.wheel++;
    if (pressed & 0x10)
        ev.wheel--;
    c->last_mask = mask;
    if (input_pointer_absolute()) {
        ev.absolute = true;
        ev.x = (int32_t)((int64_t)x * INPUT_ABS_MAX / (v->w > 1 ? v->w - 1 : 1));
        ev.y = (int32_t)((int64_t)y * INPUT_ABS_MAX / (v->h > 1 ? v->h - 1 : 1));
    } else {
        ev.x = c->have_last ? x - c->last_x : 0;
        ev.y = c->have_last ? y - c->last_y : 0;
    }
    c->last_x = x;
    c->last_y = y;
    c->have_last = true;
    if (input_pointer(&ev) == 0)
        v->st.pointer_events++;
}
