/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SPICE input into the input broker (input.h): spice-server's keyboard,
 * mouse and tablet interfaces.  All of them are called by spice-server's
 * inputs channel on the main thread.
 *
 * Keyboard: SPICE clients send PC set-1 scancodes, one byte at a time
 * (push_scan_freg): 0xe0 prefixes a grey key, 0x80 marks a release, and
 * Pause comes as e1 1d 45 (press) / e1 9d c5 (release).  They become qnums
 * (input.h): code, 0x80 | code after 0xe0, INPUT_QNUM_PAUSE for the e1
 * sequences.  The "fake shifts" some keyboards put around grey keys (e0 2a,
 * e0 36 and their releases) are dropped; bytes that are not keys (0x00,
 * 0x80, an e1 sequence that breaks off, codes the broker does not know) are
 * counted and dropped (spice_kbd_decode() is the byte-level part).  get_leds reports
 * the LEDs the guest set (input_leds_get()); spice-server compares them with
 * the client's lock keys and sends the scancodes that bring the guest in
 * step.  The broker has no LED notification, so after each key the LEDs
 * are looked at a few times (SPICE_LED_POLL_*) and a change is pushed to
 * the clients with spice_server_kbd_leds().
 *
 * Mouse (server mouse mode): relative motion, wheel (dz, negative = up) and
 * buttons go to the broker as relative events (PS/2 mouse).  spice-server
 * gives buttons as bit 0 left, 1 right, 2 middle.
 *
 * Tablet (client mouse mode): registered only while the broker's pointer
 * sink takes absolute positions (a USB tablet the guest configured, the
 * vdagent), because a tablet makes spice-server switch clients to client
 * mouse mode.  Positions are scaled from the logical size spice-server
 * gives (the primary surface) to 0..INPUT_ABS_MAX.  The broker has no
 * notification for that either: the check runs at start, when a client
 * connects, and after pointer events; the last two come from inside
 * spice-server's callbacks, so the tablet is added or removed from an idle
 * callback on the next main-loop turn (one, however many ask), never by
 * re-entering spice-server.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "display/fb.h"
#include "display/input.h"
#include "display/spice.h"
#include "src/log.h"

/* After a key, look at the guest's LEDs every SPICE_LED_POLL_MS, at most
 * SPICE_LED_POLL_COUNT times: the guest answers a lock key by setting the
 * LEDs within a few milliseconds (one i8042 command), a slow guest within a
 * second. */
#define SPICE_LED_POLL_MS    100
#define SPICE_LED_POLL_COUNT 10

static struct {
    SpiceServer *server;
    SpiceKbdInstance kbd;
    SpiceMouseInstance mouse;
    SpiceTabletInstance tablet;
    bool kbd_added, mouse_added, tablet_added;
    struct spice_kbd_decoder kbd_dec;
    unsigned leds_sent;
    guint led_timer;
    unsigned led_polls;
    int tablet_w, tablet_h;
    int abs_x, abs_y;
    guint mode_idle;
    uint64_t keys, bad, pointer_events;
} si;

/* ---------------------------------------------------------- keyboard --- */

static void leds_push(void)
{
    unsigned leds = input_leds_get();
    if (leds == si.leds_sent || !si.kbd_added)
        return;
    si.leds_sent = leds;
    /* same bit order: scroll 1, num 2, caps 4 */
    spice_server_kbd_leds(&si.kbd, (int)leds);
}

static gboolean leds_poll(gpointer data)
{
    leds_push();
    if (++si.led_polls >= SPICE_LED_POLL_COUNT) {
        si.led_timer = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void key(unsigned qnum, bool down)
{
    int rc = input_key_number(qnum, down);
    if (rc == 0)
        si.keys++;
    else if (rc == -EINVAL) {
        si.bad++;
        LOG_GUEST("spice", "client sent scancode %s%02x: not a key, dropped",
                  qnum & 0x80 ? "e0 " : "", qnum & 0x7f);
    }
    fb_kick();
    si.led_polls = 0;
    if (!si.led_timer) {
        si.led_timer = g_timeout_add(SPICE_LED_POLL_MS, leds_poll, NULL);
        g_source_set_name_by_id(si.led_timer, "spice-leds");
    }
}

static void bad_byte(uint8_t frag)
{
    si.bad++;
    LOG_GUEST("spice", "client sent scancode byte %02x out of sequence: dropped", frag);
}

int spice_kbd_decode(struct spice_kbd_decoder *d, uint8_t frag, unsigned *qnum, bool *down)
{
    switch (d->state) {
    case SPICE_KBD_PLAIN:
    default:
        d->state = SPICE_KBD_PLAIN;
        if (frag == 0xe0) {
            d->state = SPICE_KBD_E0;
            return 0;
        }
        if (frag == 0xe1) {
            d->state = SPICE_KBD_E1_1;
            return 0;
        }
        if ((frag & 0x7f) == 0)
            return -1; /* 0x00 / 0x80: keyboard error codes, not keys */
        *qnum = frag & 0x7fu;
        *down = !(frag & 0x80);
        return 1;
    case SPICE_KBD_E0:
        d->state = SPICE_KBD_PLAIN;
        if ((frag & 0x7f) == 0x2a || (frag & 0x7f) == 0x36)
            return 0; /* fake shift around a grey key */
        if ((frag & 0x7f) == 0 || frag == 0xe0 || frag == 0xe1)
            return -1;
        *qnum = 0x80u | (frag & 0x7fu);
        *down = !(frag & 0x80);
        return 1;
    case SPICE_KBD_E1_1:
        if (frag == 0x1d || frag == 0x9d) {
            d->e1_release = frag == 0x9d;
            d->state = SPICE_KBD_E1_2;
            return 0;
        }
        d->state = SPICE_KBD_PLAIN;
        return -1;
    case SPICE_KBD_E1_2:
        d->state = SPICE_KBD_PLAIN;
        if (frag != (d->e1_release ? 0xc5 : 0x45))
            return -1;
        *qnum = INPUT_QNUM_PAUSE;
        *down = !d->e1_release;
        return 1;
    }
}

static void kbd_push_scan_freg(SpiceKbdInstance *sin, uint8_t frag)
{
    unsigned qnum = 0;
    bool down = false;
    int rc = spice_kbd_decode(&si.kbd_dec, frag, &qnum, &down);
    if (rc > 0)
        key(qnum, down); /* the broker refuses codes that are not keys */
    else if (rc < 0)
        bad_byte(frag);
}

static uint8_t kbd_get_leds(SpiceKbdInstance *sin)
{
    si.leds_sent = input_leds_get();
    return (uint8_t)si.leds_sent;
}

/* push_scan_freg, get_leds: main thread (spice-server's inputs channel),
 * during a client message or a client's connection; must not block. */
static const SpiceKbdInterface spice_kbd_if = {
    .base = {.type = SPICE_INTERFACE_KEYBOARD,
             .description = "xendm keyboard",
             .major_version = SPICE_INTERFACE_KEYBOARD_MAJOR,
             .minor_version = SPICE_INTERFACE_KEYBOARD_MINOR},
    .push_scan_freg = kbd_push_scan_freg,
    .get_leds = kbd_get_leds,
};

/* ------------------------------------------------------------ pointer --- */

static uint32_t buttons_of(uint32_t state)
{
    uint32_t b = 0;
    if (state & 0x1)
        b |= INPUT_BTN_LEFT;
    if (state & 0x2)
        b |= INPUT_BTN_RIGHT;
    if (state & 0x4)
        b |= INPUT_BTN_MIDDLE;
    return b;
}

static void sync_mode(void);

static gboolean mode_idle(gpointer data)
{
    si.mode_idle = 0;
    sync_mode();
    return G_SOURCE_REMOVE;
}

void spice_input_sync_mode_later(void)
{
    bool want = input_pointer_absolute();
    if (si.server && want != si.tablet_added && !si.mode_idle) {
        si.mode_idle = g_idle_add(mode_idle, NULL);
        g_source_set_name_by_id(si.mode_idle, "spice-mouse-mode");
    }
}

static void pointer(const struct input_pointer_event *ev)
{
    if (input_pointer(ev) == 0)
        si.pointer_events++;
    fb_kick();
    spice_input_sync_mode_later();
}

static void mouse_motion(SpiceMouseInstance *sin, int dx, int dy, int dz, uint32_t state)
{
    struct input_pointer_event ev = {.x = dx, .y = dy, .wheel = -dz, .buttons = buttons_of(state)};
    pointer(&ev);
}

static void mouse_buttons(SpiceMouseInstance *sin, uint32_t state)
{
    struct input_pointer_event ev = {.buttons = buttons_of(state)};
    pointer(&ev);
}

/* motion, buttons: main thread (inputs channel), server mouse mode. */
static const SpiceMouseInterface spice_mouse_if = {
    .base = {.type = SPICE_INTERFACE_MOUSE,
             .description = "xendm mouse",
             .major_version = SPICE_INTERFACE_MOUSE_MAJOR,
             .minor_version = SPICE_INTERFACE_MOUSE_MINOR},
    .motion = mouse_motion,
    .buttons = mouse_buttons,
};

static int32_t scale(int v, int size)
{
    if (v < 0)
        v = 0;
    if (size <= 1)
        return 0;
    if (v > size - 1)
        v = size - 1;
    return (int32_t)((int64_t)v * INPUT_ABS_MAX / (size - 1));
}

static void tablet_set_logical_size(SpiceTabletInstance *sin, int w, int h)
{
    si.tablet_w = w;
    si.tablet_h = h;
}

static void tablet_position(SpiceTabletInstance *sin, int x, int y, uint32_t state)
{
    si.abs_x = scale(x, si.tablet_w);
    si.abs_y = scale(y, si.tablet_h);
    struct input_pointer_event ev = {
        .absolute = true, .x = si.abs_x, .y = si.abs_y, .buttons = buttons_of(state)};
    pointer(&ev);
}

static void tablet_wheel(SpiceTabletInstance *sin, int wheel, uint32_t state)
{
    struct input_pointer_event ev = {.absolute = true,
                                     .x = si.abs_x,
                                     .y = si.abs_y,
                                     .wheel = -wheel,
                                     .buttons = buttons_of(state)};
    pointer(&ev);
}

static void tablet_buttons(SpiceTabletInstance *sin, uint32_t state)
{
    struct input_pointer_event ev = {
        .absolute = true, .x = si.abs_x, .y = si.abs_y, .buttons = buttons_of(state)};
    pointer(&ev);
}

/* set_logical_size: main thread, when the primary surface changes;
 * position, wheel, buttons: main thread (inputs channel), client mouse
 * mode.  Coordinates are the client's and are clamped to the size. */
static const SpiceTabletInterface spice_tablet_if = {
    .base = {.type = SPICE_INTERFACE_TABLET,
             .description = "xendm tablet",
             .major_version = SPICE_INTERFACE_TABLET_MAJOR,
             .minor_version = SPICE_INTERFACE_TABLET_MINOR},
    .set_logical_size = tablet_set_logical_size,
    .position = tablet_position,
    .wheel = tablet_wheel,
    .buttons = tablet_buttons,
};

/* --------------------------------------------------------------- life --- */

/* Add or remove the tablet to follow input_pointer_absolute().  Calls
 * spice_server_add/remove_interface: never from inside a spice-server
 * callback (spice_input_sync_mode_later()). */
static void sync_mode(void)
{
    if (!si.server)
        return;
    bool want = input_pointer_absolute();
    if (want && !si.tablet_added) {
        si.tablet.base.sif = &spice_tablet_if.base;
        if (spice_server_add_interface(si.server, &si.tablet.base) == 0) {
            si.tablet_added = true;
            log_msg("spice", "absolute pointer available: client mouse mode offered");
        }
    } else if (!want && si.tablet_added) {
        spice_server_remove_interface(&si.tablet.base);
        si.tablet_added = false;
        log_msg("spice", "no absolute pointer: server mouse mode");
    }
}

int spice_input_init(SpiceServer *s)
{
    memset(&si, 0, sizeof(si));
    si.server = s;
    si.kbd.base.sif = &spice_kbd_if.base;
    si.mouse.base.sif = &spice_mouse_if.base;
    if (spice_server_add_interface(s, &si.kbd.base) != 0)
        return -1;
    si.kbd_added = true;
    if (spice_server_add_interface(s, &si.mouse.base) != 0)
        return -1;
    si.mouse_added = true;
    sync_mode();
    return 0;
}

void spice_input_quiesce(void)
{
    if (si.led_timer)
        g_source_remove(si.led_timer);
    si.led_timer = 0;
    if (si.mode_idle)
        g_source_remove(si.mode_idle);
    si.mode_idle = 0;
}

void spice_input_fini(void)
{
    spice_input_quiesce();
    memset(&si, 0, sizeof(si));
}

void spice_input_get_stats(struct spice_stats *st)
{
    st->keys = si.keys;
    st->bad_scancodes = si.bad;
    st->pointer_events = si.pointer_events;
}
