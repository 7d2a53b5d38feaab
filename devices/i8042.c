/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * i8042 PS/2 controller with an MF2 keyboard (IRQ 1) and a mouse (IRQ 12),
 * "i8042" (created by the machine; no options).
 *
 * Ports:
 *   0x60 read   output buffer: one byte from the controller, the keyboard or
 *               the mouse; reading it lowers that byte's IRQ and loads the
 *               next one (which raises it again: one edge per byte).
 *               Reading with nothing new returns the last byte again.
 *   0x60 write  data: to the keyboard, or the parameter of the pending
 *               controller command (0x60-0x7f, 0xd1-0xd4).
 *   0x64 read   status: 0x01 OBF, 0x04 SYS, 0x08 last write was a command,
 *               0x10 not inhibited, 0x20 OBF holds mouse data.
 *   0x64 write  controller command: 0x20-0x3f read RAM (0x20 = command
 *               byte), 0x60-0x7f write RAM, 0xa7/0xa8 mouse port off/on,
 *               0xa9 mouse port test (0x00), 0xaa self test (0x55), 0xab
 *               keyboard port test (0x00), 0xad/0xae keyboard port off/on,
 *               0xc0 input port (0x80), 0xd0/0xd1 read/write output port
 *               (bit 0 clear = system reset), 0xd2/0xd3 write output buffer
 *               as keyboard/mouse data, 0xd4 next byte to the mouse,
 *               0xdd/0xdf A20 off/on (recorded only: Xen has no A20 gate),
 *               0xf0-0xff pulse output port bits 0-3 (bit 0 = reset).
 *   Command byte: 0x01 IRQ 1 on, 0x02 IRQ 12 on, 0x04 SYS, 0x10 keyboard
 *   port off, 0x20 mouse port off, 0x40 translate to set 1.  Power-on value
 *   0x03 (as QEMU's; the BIOS sets translation).  A byte in the output
 *   buffer raises IRQ 1 (controller or keyboard data) or IRQ 12 (mouse data)
 *   when that line's bit is set -- QEMU also holds IRQ 1 low while the
 *   keyboard port is off; the 8042 does not.  A port that is off keeps its
 *   device's bytes waiting; sending a byte to the device turns its port on
 *   again (as QEMU does).
 *
 * A system reset (output port bit 0, or a pulse of it) asks Xen to reboot
 * the domain (hv_shutdown(HV_SHUTDOWN_REBOOT)); libxl then restarts the
 * guest with a new device model (xl-contract §4.2).
 *
 * Keyboard: keeps its scancodes in its own set (2 by default, or 1); with
 * translation on, every byte it sends passes through the 8042 translation
 * table on its way to the output buffer, as on real hardware, so the guest
 * reads set 1 (and the identify reply 0xab 0x41).  Commands: 0xed LEDs,
 * 0xee echo, 0xf0 get/set scancode set, 0xf2 identify (0xab 0x83), 0xf3
 * typematic, 0xf4/0xf5/0xf6 enable/disable/defaults, 0xf7-0xfd (set-3 key
 * types: acknowledged), 0xfe resend, 0xff reset (0xfa 0xaa).
 * Mouse: stream and remote mode, 0xe6/0xe7 scaling, 0xe8 resolution, 0xe9
 * status, 0xea stream, 0xeb read data, 0xec/0xee wrap mode, 0xf0 remote,
 * 0xf2 id (3 after the IntelliMouse knock 200-100-80, 4 after 200-200-80),
 * 0xf3 rate, 0xf4/0xf5 reporting on/off, 0xf6 defaults, 0xfe resend, 0xff
 * reset (0xfa 0xaa 0x00).
 * Replies to a command go ahead of buffered key or motion bytes, but never
 * into the middle of a scancode sequence or a mouse packet.
 *
 * Left out: scancode set 3 (0xf0 0x03 is acknowledged and the keyboard
 * stays in set 2, which is what a guest sees from a keyboard without set 3;
 * reading the set back says so), typematic repeat (the front end repeats),
 * 2:1 scaling (recorded, not applied), the keyboard lock, password commands
 * and active multiplexing (Linux's MUX probe sees a plain controller).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "display/input.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/log.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT  0x64
#define I8042_KBD_IRQ   1
#define I8042_AUX_IRQ   12

/*
 * Buffers.  A PS/2 keyboard holds 16 bytes of its own (IBM's keyboard
 * reference; QEMU uses the same), i.e. a few keys while the guest is not
 * reading; beyond that keys are dropped, as a real keyboard drops them.
 * The mouse queue is larger because a busy front end sends motion in
 * bursts (64 IntelliMouse packets); further motion is not lost but merged
 * into the next packet.  Replies to commands have their own small queues.
 */
#define KBD_QUEUE_LEN   16
#define AUX_QUEUE_LEN   256
#define REPLY_QUEUE_LEN 8
#define CTRL_QUEUE_LEN  4
/* Largest motion kept while the queue is full (keeps the sums bounded). */
#define AUX_DELTA_MAX (1 << 20)

/* status register */
#define ST_OBF      0x01
#define ST_SYS      0x04
#define ST_CMD      0x08
#define ST_UNLOCKED 0x10
#define ST_AUXB     0x20

/* command byte */
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS     0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLAT    0x40

/* output port */
#define OP_RESET    0x01
#define OP_A20      0x02
#define OP_KBD_OBF  0x10
#define OP_AUX_OBF  0x20
#define OP_POWER_ON 0xcf /* reset line high, A20 on, clock/data lines high */

#define KBD_ACK    0xfa
#define KBD_RESEND 0xfe
#define KBD_BAT_OK 0xaa
#define KBD_ECHO   0xee

#define MS_REMOTE  0x40
#define MS_ENABLED 0x20
#define MS_SCALE21 0x10

/* modifiers, for PrintScreen and Pause */
#define MOD_SHIFT 0x03
#define MOD_CTRL  0x0c
#define MOD_ALT   0x30

/* A byte queue; entries carry flags above the byte. */
#define Q_CONT 0x100 /* continues the sequence started by the entry before */
#define Q_AUX  0x200 /* controller queue: deliver as mouse data */

struct ps2q {
    uint16_t rd, n, cap;
    uint16_t e[AUX_QUEUE_LEN];
};

struct ps2_kbd {
    struct ps2q reply, keys;
    int param_cmd; /* command waiting for its parameter, or -1 */
    bool scanning;
    uint8_t set; /* 1 or 2 */
    uint8_t leds, typematic, mods, last;
    uint64_t dropped;
};

struct ps2_mouse {
    struct ps2q reply, data;
    int param_cmd;
    uint8_t status, resolution, rate, type, knock, last, buttons;
    bool wrap, pending;
    int32_t dx, dy, dz;
    uint64_t merged;
};

struct i8042 {
    struct io_region data_io, cmd_io;
    struct input_sink *kbd_sink, *aux_sink;
    uint8_t status;  /* ST_SYS, ST_CMD, ST_UNLOCKED; the OBF bits are computed */
    uint8_t ram[32]; /* ram[0] is the command byte */
    uint8_t outport;
    uint8_t pending; /* controller command waiting for a data byte, or 0 */
    struct ps2q ctrl;
    bool ob_full, ob_aux;
    uint8_t ob;
    int irq_kbd, irq_aux;
    struct ps2_kbd kbd;
    struct ps2_mouse aux;
};

/*
 * The 8042's set-2 to set-1 translation table (index: set-2 code).  Codes
 * from 0x80 up pass through unchanged except 0x83 (F7) and 0x84 (SysRq).
 */
/* clang-format off */
static const uint8_t xlat[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};
/* clang-format on */

/* Its inverse for set-1 make codes, built once (0 = no set-2 code). */
static uint8_t set2_of[128];

static uint8_t xlat_byte(uint8_t b)
{
    if (b < 0x80)
        return xlat[b];
    return b == 0x83 ? 0x41 : b == 0x84 ? 0x54 : b;
}

static void build_set2_table(void)
{
    if (set2_of[0x1e])
        return;
    for (unsigned i = 0x7f; i > 0; i--)
        set2_of[xlat[i]] = (uint8_t)i;
    set2_of[0x41] = 0x83; /* F7: set 2 has it at 0x83, not 0x02 */
}

/* ---- queues ---- */

static void q_init(struct ps2q *q, unsigned cap)
{
    q->rd = q->n = 0;
    q->cap = (uint16_t)cap;
}

/* All of b[0..len) or nothing. */
static bool q_push(struct ps2q *q, const uint8_t *b, unsigned len, unsigned flags)
{
    if (len > (unsigned)(q->cap - q->n))
        return false;
    for (unsigned i = 0; i < len; i++) {
        q->e[(q->rd + q->n) % q->cap] = (uint16_t)(b[i] | flags | (i ? Q_CONT : 0));
        q->n++;
    }
    return true;
}

static uint16_t q_peek(const struct ps2q *q)
{
    return q->e[q->rd];
}

static uint16_t q_pop(struct ps2q *q)
{
    uint16_t v = q->e[q->rd];
    q->rd = (uint16_t)((q->rd + 1) % q->cap);
    q->n--;
    return v;
}

/* Replies first, unless a sequence has been started. */
static struct ps2q *q_pick(struct ps2q *reply, struct ps2q *data)
{
    if (data->n && (q_peek(data) & Q_CONT))
        return data;
    if (reply->n)
        return reply;
    return data->n ? data : NULL;
}

static void reply(struct ps2q *q, const uint8_t *b, unsigned len)
{
    if (!q_push(q, b, len, 0))
        LOG_GUEST("i8042", "command replies not read by the guest, reply dropped");
}
#define REPLY(q, ...)                                                                              \
    do {                                                                                           \
        const uint8_t r_[] = {__VA_ARGS__};                                                        \
        reply((q), r_, sizeof(r_));                                                                \
    } while (0)

/* ---- controller: output buffer and interrupts ---- */

static void i8042_update_irq(struct i8042 *s)
{
    int kbd = s->ob_full && !s->ob_aux && (s->ram[0] & CB_KBD_INT);
    int aux = s->ob_full && s->ob_aux && (s->ram[0] & CB_AUX_INT);
    if (kbd != s->irq_kbd) {
        s->irq_kbd = kbd;
        hv_set_isa_irq(I8042_KBD_IRQ, kbd);
    }
    if (aux != s->irq_aux) {
        s->irq_aux = aux;
        hv_set_isa_irq(I8042_AUX_IRQ, aux);
    }
}

static bool kbd_pop(struct i8042 *s, uint8_t *out)
{
    struct ps2q *q = q_pick(&s->kbd.reply, &s->kbd.keys);
    if (!q)
        return false;
    uint8_t b = (uint8_t)q_pop(q);
    s->kbd.last = b;
    if (s->ram[0] & CB_XLAT) {
        uint8_t brk = 0;
        if (b == 0xf0 && q->n && (q_peek(q) & Q_CONT)) {
            brk = 0x80;
            b = (uint8_t)q_pop(q);
        }
        b = xlat_byte(b) | brk;
    }
    *out = b;
    return true;
}

static void mouse_sync(struct i8042 *s);

static bool aux_pop(struct i8042 *s, uint8_t *out)
{
    struct ps2q *q = q_pick(&s->aux.reply, &s->aux.data);
    if (!q)
        return false;
    *out = s->aux.last = (uint8_t)q_pop(q);
    if (s->aux.pending && q == &s->aux.data)
        mouse_sync(s);
    return true;
}

/* Load the output buffer if it is empty, then set the interrupt lines. */
static void i8042_fill(struct i8042 *s)
{
    if (!s->ob_full) {
        if (s->ctrl.n) {
            uint16_t e = q_pop(&s->ctrl);
            s->ob = (uint8_t)e;
            s->ob_aux = e & Q_AUX;
            s->ob_full = true;
        } else if (!(s->ram[0] & CB_KBD_OFF) && kbd_pop(s, &s->ob)) {
            s->ob_aux = false;
            s->ob_full = true;
        } else if (!(s->ram[0] & CB_AUX_OFF) && aux_pop(s, &s->ob)) {
            s->ob_aux = true;
            s->ob_full = true;
        }
    }
    i8042_update_irq(s);
}

static void ctrl_reply(struct i8042 *s, uint8_t b, bool aux)
{
    if (!q_push(&s->ctrl, &b, 1, aux ? Q_AUX : 0))
        LOG_GUEST("i8042", "controller replies not read by the guest, 0x%02x dropped", b);
}

static void system_reset(const char *why)
{
    LOG_GUEST("i8042", "guest requested a system reset (%s)", why);
    hv_shutdown(HV_SHUTDOWN_REBOOT);
}

/* ---- keyboard ---- */

static void kbd_defaults(struct ps2_kbd *k)
{
    k->set = 2;
    k->leds = 0;
    k->typematic = 0x2b; /* 10.9 cps, 500 ms */
    k->param_cmd = -1;
    q_init(&k->keys, KBD_QUEUE_LEN);
    input_leds_set(0);
}

static void kbd_command(struct i8042 *s, uint8_t v)
{
    struct ps2_kbd *k = &s->kbd;
    struct ps2q *r = &k->reply;

    if (k->param_cmd >= 0 && v < 0xed) {
        int cmd = k->param_cmd;
        k->param_cmd = -1;
        switch (cmd) {
        case 0xed:
            k->leds = v & 7;
            input_leds_set(k->leds);
            REPLY(r, KBD_ACK);
            break;
        case 0xf3:
            k->typematic = v & 0x7f;
            REPLY(r, KBD_ACK);
            break;
        case 0xf0:
            if (v == 0) {
                REPLY(r, KBD_ACK, k->set);
            } else if (v <= 3) {
                if (v != 3)
                    k->set = v;
                REPLY(r, KBD_ACK);
            } else {
                REPLY(r, KBD_RESEND);
            }
            break;
        default: /* 0xfb-0xfd take a list of keys until the next command */
            k->param_cmd = cmd;
            REPLY(r, KBD_ACK);
            break;
        }
        return;
    }
    k->param_cmd = -1;
    switch (v) {
    case 0xed:
    case 0xf0:
    case 0xf3:
    case 0xfb:
    case 0xfc:
    case 0xfd:
        k->param_cmd = v;
        REPLY(r, KBD_ACK);
        break;
    case 0xee:
        REPLY(r, KBD_ECHO);
        break;
    case 0xf2:
        REPLY(r, KBD_ACK, 0xab, 0x83);
        break;
    case 0xf4:
        k->scanning = true;
        REPLY(r, KBD_ACK);
        break;
    case 0xf5:
    case 0xf6:
        kbd_defaults(k);
        k->scanning = v == 0xf6;
        REPLY(r, KBD_ACK);
        break;
    case 0xf7:
    case 0xf8:
    case 0xf9:
    case 0xfa:
        REPLY(r, KBD_ACK);
        break;
    case 0xfe:
        REPLY(r, k->last);
        break;
    case 0xff:
        kbd_defaults(k);
        k->scanning = true;
        q_init(r, REPLY_QUEUE_LEN);
        REPLY(r, KBD_ACK, KBD_BAT_OK);
        break;
    default:
        LOG_GUEST("i8042", "unknown keyboard command 0x%02x", v);
        REPLY(r, KBD_RESEND);
        break;
    }
}

/* The set-1 bytes of a key event (at most 6). */
static unsigned kbd_set1(const struct ps2_kbd *k, unsigned qnum, bool down, uint8_t *out)
{
    unsigned n = 0;
    uint8_t brk = down ? 0 : 0x80;

    if (qnum == INPUT_QNUM_PAUSE && !(k->mods & MOD_CTRL)) {
        static const uint8_t pause[] = {0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5};
        if (!down)
            return 0;
        memcpy(out, pause, sizeof(pause));
        return sizeof(pause);
    }
    if (qnum == INPUT_QNUM_SYSRQ || qnum == 0xb7) {
        if (k->mods & MOD_ALT) {
            out[n++] = 0x54 | brk;
        } else if (k->mods & (MOD_SHIFT | MOD_CTRL)) {
            out[n++] = 0xe0;
            out[n++] = 0x37 | brk;
        } else if (down) {
            static const uint8_t make[] = {0xe0, 0x2a, 0xe0, 0x37};
            memcpy(out, make, sizeof(make));
            n = sizeof(make);
        } else {
            static const uint8_t brkseq[] = {0xe0, 0xb7, 0xe0, 0xaa};
            memcpy(out, brkseq, sizeof(brkseq));
            n = sizeof(brkseq);
        }
        return n;
    }
    if (qnum & 0x80)
        out[n++] = 0xe0;
    out[n++] = (uint8_t)((qnum & 0x7f) | brk);
    return n;
}

static void kbd_track_mods(struct ps2_kbd *k, unsigned qnum, bool down)
{
    /* bit order of MOD_*: shift, shift_r, ctrl, ctrl_r, alt, alt_r */
    static const uint8_t mod_keys[] = {0x2a, 0x36, 0x1d, 0x9d, 0x38, 0xb8};
    for (unsigned i = 0; i < sizeof(mod_keys); i++) {
        if (mod_keys[i] != qnum)
            continue;
        if (down)
            k->mods |= (uint8_t)(1u << i);
        else
            k->mods &= (uint8_t) ~(1u << i);
    }
}

/* Input sink: a key. */
static void kbd_key(void *opaque, unsigned qnum, bool down)
{
    struct i8042 *s = opaque;
    struct ps2_kbd *k = &s->kbd;
    uint8_t seq1[6], seq[12];
    unsigned n1 = kbd_set1(k, qnum, down, seq1), n = 0;

    kbd_track_mods(k, qnum, down);
    if (!k->scanning || !n1)
        return;
    if (k->set == 1) {
        memcpy(seq, seq1, n1);
        n = n1;
    } else {
        for (unsigned i = 0; i < n1; i++) {
            uint8_t b = seq1[i];
            if (b == 0xe0 || b == 0xe1) {
                seq[n++] = b;
                continue;
            }
            if (b & 0x80)
                seq[n++] = 0xf0;
            seq[n++] = set2_of[b & 0x7f];
        }
    }
    if (!q_push(&k->keys, seq, n, 0)) {
        k->dropped++;
        LOG_GUEST("i8042", "keyboard buffer full (guest not reading), key 0x%02x dropped", qnum);
        return;
    }
    i8042_fill(s);
}

/* ---- mouse ---- */

static void mouse_defaults(struct ps2_mouse *m)
{
    m->status = 0;
    m->resolution = 2; /* 4 counts/mm */
    m->rate = 100;
    m->dx = m->dy = m->dz = 0;
    m->pending = false;
    m->param_cmd = -1;
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One packet from the accumulated motion into q; false if it does not fit. */
static bool mouse_packet(struct ps2_mouse *m, struct ps2q *q)
{
    uint8_t p[4];
    unsigned len = m->type ? 4 : 3;
    int32_t dx = clamp(m->dx, -255, 255), dy = clamp(m->dy, -255, 255), dz;

    if ((unsigned)(q->cap - q->n) < len)
        return false;
    p[0] = (uint8_t)(0x08 | (m->buttons & 0x07) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0));
    p[1] = (uint8_t)dx;
    p[2] = (uint8_t)dy;
    if (m->type == 4) {
        dz = clamp(m->dz, -8, 7);
        p[3] = (uint8_t)((dz & 0x0f) | ((m->buttons & 0x18) << 1));
    } else {
        dz = clamp(m->dz, -128, 127);
        p[3] = (uint8_t)dz;
    }
    if (!m->type)
        dz = 0;
    q_push(q, p, len, 0);
    m->dx -= dx;
    m->dy -= dy;
    m->dz -= dz;
    return true;
}

/* Stream mode: send what has accumulated, as far as the queue allows. */
static void mouse_sync(struct i8042 *s)
{
    struct ps2_mouse *m = &s->aux;
    if (!(m->status & MS_ENABLED) || (m->status & MS_REMOTE)) {
        m->pending = false;
        return;
    }
    do {
        if (!mouse_packet(m, &m->data)) {
            m->pending = true;
            m->merged++;
            return;
        }
    } while (m->dx || m->dy || m->dz);
    m->pending = false;
}

/* Input sink: relative motion. */
static void mouse_event(void *opaque, const struct input_pointer_event *ev)
{
    struct i8042 *s = opaque;
    struct ps2_mouse *m = &s->aux;
    if (!(m->status & MS_ENABLED) || ev->absolute)
        return;
    m->dx =
        clamp(m->dx + clamp(ev->x, -AUX_DELTA_MAX, AUX_DELTA_MAX), -AUX_DELTA_MAX, AUX_DELTA_MAX);
    m->dy =
        clamp(m->dy - clamp(ev->y, -AUX_DELTA_MAX, AUX_DELTA_MAX), -AUX_DELTA_MAX, AUX_DELTA_MAX);
    m->dz = clamp(m->dz - clamp(ev->wheel, -AUX_DELTA_MAX, AUX_DELTA_MAX), -AUX_DELTA_MAX,
                  AUX_DELTA_MAX);
    m->buttons = (uint8_t)(ev->buttons & 0x1f);
    if (m->status & MS_REMOTE)
        return;
    if (m->pending) { /* the queue is full: merge into the waiting motion */
        m->merged++;
        return;
    }
    mouse_sync(s);
    i8042_fill(s);
}

static void mouse_command(struct i8042 *s, uint8_t v)
{
    struct ps2_mouse *m = &s->aux;
    struct ps2q *r = &m->reply;

    if (m->wrap && v != 0xec && v != 0xff) {
        REPLY(r, v);
        return;
    }
    if (m->param_cmd >= 0) {
        int cmd = m->param_cmd;
        m->param_cmd = -1;
        if (cmd == 0xe8) {
            m->resolution = v & 3;
        } else { /* 0xf3 */
            m->rate = v;
            switch (m->knock) {
            case 0:
                m->knock = v == 200 ? 1 : 0;
                break;
            case 1:
                m->knock = v == 100 ? 2 : v == 200 ? 3 : 0;
                break;
            case 2:
                if (v == 80)
                    m->type = 3;
                m->knock = v == 200 ? 1 : 0;
                break;
            case 3:
                if (v == 80)
                    m->type = 4;
                m->knock = v == 200 ? 1 : 0;
                break;
            }
        }
        REPLY(r, KBD_ACK);
        return;
    }
    switch (v) {
    case 0xe6:
        m->status &= (uint8_t)~MS_SCALE21;
        REPLY(r, KBD_ACK);
        break;
    case 0xe7:
        m->status |= MS_SCALE21;
        REPLY(r, KBD_ACK);
        break;
    case 0xe8:
    case 0xf3:
        m->param_cmd = v;
        REPLY(r, KBD_ACK);
        break;
    case 0xe9:
        REPLY(r, KBD_ACK, (uint8_t)(m->status | (m->buttons & 0x07)), m->resolution, m->rate);
        break;
    case 0xea:
        m->status &= (uint8_t)~MS_REMOTE;
        REPLY(r, KBD_ACK);
        break;
    case 0xeb:
        REPLY(r, KBD_ACK);
        mouse_packet(m, r);
        break;
    case 0xec:
        m->wrap = false;
        REPLY(r, KBD_ACK);
        break;
    case 0xee:
        m->wrap = true;
        REPLY(r, KBD_ACK);
        break;
    case 0xf0:
        m->status |= MS_REMOTE;
        REPLY(r, KBD_ACK);
        break;
    case 0xf2:
        REPLY(r, KBD_ACK, m->type);
        break;
    case 0xf4:
        m->status |= MS_ENABLED;
        REPLY(r, KBD_ACK);
        break;
    case 0xf5:
        m->status &= (uint8_t)~MS_ENABLED;
        m->dx = m->dy = m->dz = 0;
        m->pending = false;
        REPLY(r, KBD_ACK);
        break;
    case 0xf6:
        mouse_defaults(m);
        REPLY(r, KBD_ACK);
        break;
    case 0xfe:
        REPLY(r, m->last);
        break;
    case 0xff:
        mouse_defaults(m);
        m->type = 0;
        m->knock = 0;
        m->wrap = false;
        q_init(&m->data, AUX_QUEUE_LEN);
        q_init(r, REPLY_QUEUE_LEN);
        REPLY(r, KBD_ACK, KBD_BAT_OK, 0x00);
        break;
    default:
        LOG_GUEST("i8042", "unknown mouse command 0x%02x", v);
        REPLY(r, KBD_RESEND);
        break;
    }
}

/* ---- ports ---- */

static uint8_t i8042_status(const struct i8042 *s)
{
    return (uint8_t)(s->status | (s->ob_full ? ST_OBF : 0) |
                     (s->ob_full && s->ob_aux ? ST_AUXB : 0));
}

static uint8_t i8042_outport(const struct i8042 *s)
{
    return (uint8_t)((s->outport & ~(OP_KBD_OBF | OP_AUX_OBF)) |
                     (s->ob_full && !s->ob_aux ? OP_KBD_OBF : 0) |
                     (s->ob_full && s->ob_aux ? OP_AUX_OBF : 0));
}

static void i8042_command(struct i8042 *s, uint8_t v)
{
    s->status |= ST_CMD;
    s->pending = 0;
    if ((v & 0xf0) == 0xf0) {
        if (!(v & OP_RESET))
            system_reset("pulse of output port bit 0");
        return;
    }
    if (v >= 0x20 && v <= 0x3f) {
        ctrl_reply(s, s->ram[v & 0x1f], false);
    } else if (v >= 0x60 && v <= 0x7f) {
        s->pending = v;
    } else {
        switch (v) {
        case 0xa7:
            s->ram[0] |= CB_AUX_OFF;
            break;
        case 0xa8:
            s->ram[0] &= (uint8_t)~CB_AUX_OFF;
            break;
        case 0xa9: /* mouse clock/data lines: no error */
        case 0xab: /* keyboard lines: no error */
            ctrl_reply(s, 0x00, false);
            break;
        case 0xaa:
            s->status |= ST_SYS;
            ctrl_reply(s, 0x55, false);
            break;
        case 0xad:
            s->ram[0] |= CB_KBD_OFF;
            break;
        case 0xae:
            s->ram[0] &= (uint8_t)~CB_KBD_OFF;
            break;
        case 0xc0:
            ctrl_reply(s, 0x80, false); /* keyboard not inhibited */
            break;
        case 0xd0:
            ctrl_reply(s, i8042_outport(s), false);
            break;
        case 0xd1:
        case 0xd2:
        case 0xd3:
        case 0xd4:
            s->pending = v;
            break;
        case 0xdd:
            s->outport &= (uint8_t)~OP_A20;
            break;
        case 0xdf:
            s->outport |= OP_A20;
            break;
        default:
            LOG_GUEST("i8042", "unsupported controller command 0x%02x", v);
            break;
        }
    }
    i8042_fill(s);
}

static void i8042_data_write(struct i8042 *s, uint8_t v)
{
    uint8_t p = s->pending;
    s->status &= (uint8_t)~ST_CMD;
    s->pending = 0;
    if (p >= 0x60 && p <= 0x7f) {
        s->ram[p & 0x1f] = v;
        if (p == 0x60)
            s->status = (uint8_t)((s->status & ~ST_SYS) | (v & CB_SYS));
    } else if (p == 0xd1) {
        s->outport = v;
        if (!(v & OP_RESET))
            system_reset("output port bit 0 cleared");
    } else if (p == 0xd2 || p == 0xd3) {
        ctrl_reply(s, v, p == 0xd3);
    } else if (p == 0xd4) {
        s->ram[0] &= (uint8_t)~CB_AUX_OFF; /* talking to the mouse enables its port */
        mouse_command(s, v);
    } else {
        s->ram[0] &= (uint8_t)~CB_KBD_OFF;
        kbd_command(s, v);
    }
    i8042_fill(s);
}

static uint8_t i8042_data_read(struct i8042 *s)
{
    uint8_t v = s->ob;
    if (s->ob_full) {
        s->ob_full = false;
        i8042_update_irq(s); /* lower, so the next byte is a new edge */
        i8042_fill(s);
    }
    return v;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    if (offset != 0 || size != 1) {
        LOG_GUEST("i8042", "data port read of %u bytes at +%llu ignored", size,
                  (unsigned long long)offset);
        return ~0ULL >> (64 - 8 * (size > 8 || !size ? 8 : size));
    }
    return i8042_data_read(opaque);
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset != 0 || size != 1) {
        LOG_GUEST("i8042", "data port write of %u bytes at +%llu dropped", size,
                  (unsigned long long)offset);
        return;
    }
    i8042_data_write(opaque, (uint8_t)value);
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    if (offset != 0 || size != 1) {
        LOG_GUEST("i8042", "status read of %u bytes at +%llu ignored", size,
                  (unsigned long long)offset);
        return ~0ULL >> (64 - 8 * (size > 8 || !size ? 8 : size));
    }
    return i8042_status(opaque);
}

static void cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset != 0 || size != 1) {
        LOG_GUEST("i8042", "command write of %u bytes at +%llu dropped", size,
                  (unsigned long long)offset);
        return;
    }
    i8042_command(opaque, (uint8_t)value);
}

static const struct io_ops data_ops = {
    .name = "i8042-data", .read = data_read, .write = data_write, .min_size = 1, .max_size = 1};
static const struct io_ops cmd_ops = {
    .name = "i8042-cmd", .read = cmd_read, .write = cmd_write, .min_size = 1, .max_size = 1};

static const struct input_sink_ops kbd_sink_ops = {
    .name = "ps2-kbd", .kinds = INPUT_KIND_KEY, .priority = INPUT_PRIO_PS2, .key = kbd_key};
static const struct input_sink_ops aux_sink_ops = {.name = "ps2-mouse",
                                                   .kinds = INPUT_KIND_REL,
                                                   .priority = INPUT_PRIO_PS2,
                                                   .pointer = mouse_event};

/* ---- device ---- */

static void i8042_reset(struct device *dev)
{
    struct i8042 *s = DEVICE_PRIV(dev, struct i8042);

    s->status = ST_CMD | ST_UNLOCKED;
    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = CB_KBD_INT | CB_AUX_INT;
    s->outport = OP_POWER_ON;
    s->pending = 0;
    q_init(&s->ctrl, CTRL_QUEUE_LEN);
    s->ob_full = s->ob_aux = false;
    s->ob = 0;

    q_init(&s->kbd.reply, REPLY_QUEUE_LEN);
    kbd_defaults(&s->kbd);
    s->kbd.scanning = true;
    s->kbd.mods = 0;
    s->kbd.last = 0;

    q_init(&s->aux.reply, REPLY_QUEUE_LEN);
    q_init(&s->aux.data, AUX_QUEUE_LEN);
    mouse_defaults(&s->aux);
    s->aux.type = s->aux.knock = 0;
    s->aux.wrap = false;
    s->aux.buttons = 0;
    s->aux.last = 0;

    /* lower both lines whatever the fake or real hypervisor thinks */
    s->irq_kbd = s->irq_aux = 0;
    hv_set_isa_irq(I8042_KBD_IRQ, 0);
    hv_set_isa_irq(I8042_AUX_IRQ, 0);
}

static void i8042_destroy(struct device *dev)
{
    struct i8042 *s = DEVICE_PRIV(dev, struct i8042);
    input_sink_unregister(s->kbd_sink);
    input_sink_unregister(s->aux_sink);
    s->kbd_sink = s->aux_sink = NULL;
    /* the regions are removed by device_destroy() */
}

static int i8042_create(struct device *dev, const struct opts *opts)
{
    struct i8042 *s = DEVICE_PRIV(dev, struct i8042);
    int rc;

    /* no options: device_create() refuses any key by name */
    build_set2_table();
    i8042_reset(dev);

    s->data_io = (struct io_region){
        .space = IO_PIO, .base = I8042_DATA_PORT, .size = 1, .ops = &data_ops, .opaque = s};
    s->cmd_io = (struct io_region){
        .space = IO_PIO, .base = I8042_CMD_PORT, .size = 1, .ops = &cmd_ops, .opaque = s};
    rc = io_region_add(&s->data_io);
    if (rc < 0) {
        log_msg("i8042", "cannot claim port 0x%x: %d", I8042_DATA_PORT, rc);
        return rc;
    }
    rc = io_region_add(&s->cmd_io);
    if (rc < 0) {
        log_msg("i8042", "cannot claim port 0x%x: %d", I8042_CMD_PORT, rc);
        goto out_data;
    }
    s->kbd_sink = input_sink_register(&kbd_sink_ops, s);
    s->aux_sink = input_sink_register(&aux_sink_ops, s);
    if (!s->kbd_sink || !s->aux_sink) {
        rc = -ENOMEM;
        goto out_sinks;
    }
    return 0;

out_sinks:
    input_sink_unregister(s->kbd_sink);
    input_sink_unregister(s->aux_sink);
    s->kbd_sink = s->aux_sink = NULL;
    io_region_del(&s->cmd_io);
out_data:
    io_region_del(&s->data_io);
    return rc;
}

static struct device_desc i8042_desc = {
    .name = "i8042",
    .desc = "PS/2 keyboard and mouse controller (ports 0x60/0x64, IRQ 1 and 12)",
    .priv_size = sizeof(struct i8042),
    .create = i8042_create,
    .reset = i8042_reset,
    .destroy = i8042_destroy,
};
DEVICE_REGISTER(i8042_desc)
