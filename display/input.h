/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The input broker (style rule 7): keyboard and pointer events from the front
 * ends (QMP send-key / input-send-event now; VNC and SPICE later) go to the
 * device that should receive them, and neither side knows the other.
 *
 * Devices register sinks with a priority (PS/2 lowest, USB tablet above it,
 * the vdagent above both) and say which kinds they accept: keys, relative
 * motion, absolute positions.  Each event goes to the highest-priority
 * active sink that accepts its kind; an event nobody takes is counted and
 * dropped.
 *
 * Keys are identified by QEMU's "qnum": the AT set-1 make code for ordinary
 * keys (0x01-0x7f) and 0x80 | code for keys with the 0xe0 prefix.  This is
 * what QMP send-key's {"type":"number"} carries and what QEMU's VNC extended
 * key event carries, and QKeyCode names ("a", "shift", "kp_1", ...) map
 * onto it.  Two keys are special because their PC scancodes are not a
 * simple make/break pair; a sink that emits scancodes handles them:
 *   INPUT_QNUM_PAUSE  (0xc6) Pause/Break: e1 1d 45 e1 9d c5 on press only
 *                           (Ctrl+Pause is Break, e0 46 / e0 c6);
 *   INPUT_QNUM_SYSRQ  (0x54) PrintScreen/SysRq: e0 2a e0 37 (make) /
 *                           e0 b7 e0 aa (break), 0x54 while Alt is held.
 *
 * Threads: main thread only.  Sinks' callbacks are called synchronously
 * from input_key*() / input_pointer(); they must not block and must not
 * (un)register sinks.
 */
#ifndef XENDM_INPUT_H
#define XENDM_INPUT_H

#include <stdbool.h>
#include <stdint.h>

/* Kinds of events a sink accepts (bit mask). */
#define INPUT_KIND_KEY 0x1u
#define INPUT_KIND_REL 0x2u
#define INPUT_KIND_ABS 0x4u

/* Priorities of the sinks we know of; higher wins. */
#define INPUT_PRIO_PS2     0
#define INPUT_PRIO_USB     10
#define INPUT_PRIO_VDAGENT 20

/* Pointer buttons (state bits, not edges). */
#define INPUT_BTN_LEFT   0x01u
#define INPUT_BTN_RIGHT  0x02u
#define INPUT_BTN_MIDDLE 0x04u
#define INPUT_BTN_SIDE   0x08u
#define INPUT_BTN_EXTRA  0x10u

/* Absolute coordinates run from 0 to INPUT_ABS_MAX on each axis, whatever
 * the screen size (the range QEMU's input layer and USB tablet use). */
#define INPUT_ABS_MAX 0x7fff

/* Keyboard LEDs, in the bit order of the PS/2 set-LEDs command. */
#define INPUT_LED_SCROLL 0x1u
#define INPUT_LED_NUM    0x2u
#define INPUT_LED_CAPS   0x4u

#define INPUT_QNUM_SYSRQ 0x54
#define INPUT_QNUM_PAUSE 0xc6

struct input_pointer_event {
    bool absolute;
    int32_t x, y;     /* relative: motion in pixels, y grows downwards;
                         absolute: 0..INPUT_ABS_MAX */
    int32_t wheel;    /* wheel clicks, positive = away from the user (up) */
    uint32_t buttons; /* INPUT_BTN_* held after this event */
};

/*
 * A sink, as a device describes it.  The description (and opaque) must
 * outlive the registration.
 *   key():     a key went down or up; called only if kinds has KEY.
 *   pointer(): motion/buttons/wheel; called only for the kinds it accepts.
 * Both run on the main thread inside the front end's call and must not
 * block.  The event is owned by the caller.
 */
struct input_sink_ops {
    const char *name;
    unsigned kinds;
    int priority;
    void (*key)(void *opaque, unsigned qnum, bool down);
    void (*pointer)(void *opaque, const struct input_pointer_event *ev);
};

struct input_sink;

/* Register a sink (active); NULL only on a bad description.  Among equal
 * priorities the newest sink wins. */
struct input_sink *input_sink_register(const struct input_sink_ops *ops, void *opaque);
void input_sink_unregister(struct input_sink *s);
/* A sink that cannot take events for now (a tablet the guest has not
 * configured, an agent that is not connected) steps aside. */
void input_sink_set_active(struct input_sink *s, bool active);

/* ---- front ends ---- */

/* A key by QKeyCode name (as in QMP send-key).  0, -ENOENT for an unknown
 * name, -ENODEV if no sink took it. */
int input_key_qcode(const char *name, bool down);
/* A key by qnum (QMP {"type":"number"}, VNC extended key events). 0,
 * -EINVAL if not a key number, -ENODEV if no sink took it. */
int input_key_number(unsigned qnum, bool down);
/* A key by raw set-1 make code: 0x00XX, or 0xe0XX for prefixed keys. */
int input_key_scancode(unsigned scancode, bool down);
/* Pointer event; 0 or -ENODEV if no sink accepts its kind. */
int input_pointer(const struct input_pointer_event *ev);
/* Whether the sink that would receive pointer events wants absolute ones
 * (so a front end can choose tablet or mouse mode). */
bool input_pointer_absolute(void);

/*
 * ---- QMP-style front end (send-key, input-send-event) ----
 * Keys resolved from a QKeyCode name or a qnum; key events that are not yet
 * due (a chord being held) keep their order: input_key_event() and
 * input_send_chord() queue behind any chord still playing, timed by the
 * main loop.  Pointer events accumulate until input_sync(), which delivers
 * them as one relative and/or one absolute event.
 */
struct input_key {
    unsigned qnum;
};
/* Most keys one send-key may hold together. */
#define INPUT_MAX_CHORD 16

int input_key_from_qcode(const char *name, struct input_key *k); /* 0, -ENOENT */
int input_key_from_number(int number, struct input_key *k);      /* 0, -EINVAL */
void input_key_event(const struct input_key *k, bool down);
/* Press keys[0..n) in order, hold hold_ms, release in reverse order (QEMU's
 * send-key).  Returns at once. */
void input_send_chord(const struct input_key *keys, unsigned n, unsigned hold_ms);
/* QEMU InputButton names: left, middle, right, side, extra, wheel-up,
 * wheel-down (one click per press); wheel-left, wheel-right and touch are
 * accepted and ignored.  0 or -EINVAL for another name. */
int input_button_event(const char *button, bool down);
/* axis "x" or "y"; absolute values 0..INPUT_ABS_MAX.  0 or -EINVAL. */
int input_axis_event(bool absolute, const char *axis, int64_t value);
void input_sync(void);

/* Name tables.  qnum or -ENOENT; NULL for a number without a name. */
int input_qcode_to_number(const char *name);
const char *input_number_to_qcode(unsigned qnum);

/* Keyboard LEDs as the guest last set them (a keyboard sink reports them). */
void input_leds_set(unsigned leds);
unsigned input_leds_get(void);

/* Events that no sink took (for tests and statistics). */
uint64_t input_dropped_events(void);

#endif
