/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the ISA devices and their neighbours: the input broker
 * (display/input.c), the PS/2 controller (devices/i8042.c), the 16550 UART
 * (devices/serial.c) with real chardev backends (src/chardev.c: file, unix
 * and tcp sockets, pty), and the CMOS NVRAM (devices/cmos.c).
 *
 * The guest side is io_read()/io_write() through the dispatcher, the way
 * the ioreq loop calls the devices; interrupts and reboots are read from
 * the fake hypervisor (tests/unit/fake-hv.c); backends are driven by the
 * default GLib main context, pumped here with a bounded timeout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/device.h"
#include "display/input.h"
#include "src/chardev.h"
#include "src/dispatch.h"
#include "src/log.h"
#include "src/opts.h"
#include "tests/unit/fake-hv.h"

#define WAIT_MS 5000 /* bound on every wait for a backend event */

/* ---------------------------------------------------------------- helpers */

static uint8_t inb(uint16_t port)
{
    return (uint8_t)io_read(IO_PIO, port, 1);
}

static void outb(uint16_t port, uint8_t v)
{
    io_write(IO_PIO, port, 1, v);
}

static struct device *create(const char *name, const char *text)
{
    struct opts *o = NULL;
    if (text) {
        char *err = NULL;
        o = opts_parse("-device", text, NULL, &err);
        g_assert_null(err);
        g_assert_nonnull(o);
    }
    struct device *dev = device_create(name, o);
    if (o)
        opts_free(o);
    return dev;
}

static gboolean tick(gpointer data)
{
    return G_SOURCE_CONTINUE;
}

/* Run the main loop until cond(arg) holds or WAIT_MS pass. */
static bool pump_until(bool (*cond)(void *arg), void *arg)
{
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    guint t = g_timeout_add(1, tick, NULL); /* wake at least every ms */
    bool ok;
    while (!(ok = cond(arg)) && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
    return ok;
}

static void pump_briefly(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static int fd_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

/* --------------------------------------------------------- input broker */

struct rec_sink {
    unsigned keys, ptrs;
    unsigned last_qnum;
    bool last_down;
    unsigned seq[32]; /* qnum | 0x100 if down */
    struct input_pointer_event last;
};

static void rec_key(void *opaque, unsigned qnum, bool down)
{
    struct rec_sink *r = opaque;
    if (r->keys < G_N_ELEMENTS(r->seq))
        r->seq[r->keys] = qnum | (down ? 0x100 : 0);
    r->keys++;
    r->last_qnum = qnum;
    r->last_down = down;
}

static void rec_ptr(void *opaque, const struct input_pointer_event *ev)
{
    struct rec_sink *r = opaque;
    r->ptrs++;
    r->last = *ev;
}

static void test_input_names(void)
{
    g_assert_cmpint(input_qcode_to_number("a"), ==, 0x1e);
    g_assert_cmpint(input_qcode_to_number("shift"), ==, 0x2a);
    g_assert_cmpint(input_qcode_to_number("ctrl"), ==, 0x1d);
    g_assert_cmpint(input_qcode_to_number("alt"), ==, 0x38);
    g_assert_cmpint(input_qcode_to_number("ret"), ==, 0x1c);
    g_assert_cmpint(input_qcode_to_number("f1"), ==, 0x3b);
    g_assert_cmpint(input_qcode_to_number("kp_1"), ==, 0x4f);
    g_assert_cmpint(input_qcode_to_number("right"), ==, 0xcd);
    g_assert_cmpint(input_qcode_to_number("kp_enter"), ==, 0x9c);
    g_assert_cmpint(input_qcode_to_number("ctrl_r"), ==, 0x9d);
    g_assert_cmpint(input_qcode_to_number("meta_l"), ==, 0xdb);
    g_assert_cmpint(input_qcode_to_number("pause"), ==, INPUT_QNUM_PAUSE);
    g_assert_cmpint(input_qcode_to_number("print"), ==, INPUT_QNUM_SYSRQ);
    g_assert_cmpint(input_qcode_to_number("nonsense"), ==, -ENOENT);
    g_assert_cmpint(input_qcode_to_number(""), ==, -ENOENT);
    g_assert_cmpstr(input_number_to_qcode(0x9c), ==, "kp_enter");
    g_assert_cmpstr(input_number_to_qcode(0x02), ==, "1");
    g_assert_null(input_number_to_qcode(0x80));
}

static void test_input_routing(void)
{
    struct rec_sink kbd = {0}, rel = {0}, abs = {0}, agent = {0};
    const struct input_sink_ops kbd_ops = {"t-kbd", INPUT_KIND_KEY, INPUT_PRIO_PS2, rec_key, NULL};
    const struct input_sink_ops rel_ops = {"t-rel", INPUT_KIND_REL, INPUT_PRIO_PS2, NULL, rec_ptr};
    const struct input_sink_ops abs_ops = {"t-abs", INPUT_KIND_ABS, INPUT_PRIO_USB, NULL, rec_ptr};
    const struct input_sink_ops agent_ops = {"t-agent", INPUT_KIND_ABS, INPUT_PRIO_VDAGENT, NULL,
                                             rec_ptr};
    const struct input_sink_ops bad_ops = {"t-bad", INPUT_KIND_KEY, 0, NULL, NULL};
    struct input_pointer_event ev = {.x = 5, .y = -3, .wheel = 1, .buttons = INPUT_BTN_LEFT};
    uint64_t dropped = input_dropped_events();

    g_assert_null(input_sink_register(&bad_ops, NULL));
    /* nothing registered: events are refused and counted */
    g_assert_cmpint(input_key_qcode("a", true), ==, -ENODEV);
    g_assert_cmpint(input_pointer(&ev), ==, -ENODEV);
    g_assert_cmpuint(input_dropped_events(), ==, dropped + 2);
    g_assert_false(input_pointer_absolute());

    struct input_sink *sk = input_sink_register(&kbd_ops, &kbd);
    struct input_sink *sr = input_sink_register(&rel_ops, &rel);
    g_assert_false(input_pointer_absolute());
    struct input_sink *sa = input_sink_register(&abs_ops, &abs);
    g_assert_true(input_pointer_absolute());

    g_assert_cmpint(input_key_qcode("kp_1", true), ==, 0);
    g_assert_cmpuint(kbd.last_qnum, ==, 0x4f);
    g_assert_true(kbd.last_down);
    g_assert_cmpint(input_key_scancode(0xe04d, false), ==, 0);
    g_assert_cmpuint(kbd.last_qnum, ==, 0xcd);
    g_assert_false(kbd.last_down);
    g_assert_cmpint(input_key_number(0x1c, true), ==, 0);
    g_assert_cmpint(input_key_number(0, true), ==, -EINVAL);
    g_assert_cmpint(input_key_number(0x100, true), ==, -EINVAL);
    g_assert_cmpint(input_key_scancode(0xe180, true), ==, -EINVAL);
    g_assert_cmpint(input_key_qcode("nope", true), ==, -ENOENT);
    g_assert_cmpuint(kbd.keys, ==, 3);

    /* relative motion to the mouse, absolute to the tablet, clamped */
    g_assert_cmpint(input_pointer(&ev), ==, 0);
    g_assert_cmpuint(rel.ptrs, ==, 1);
    g_assert_cmpint(rel.last.y, ==, -3);
    ev.absolute = true;
    ev.x = 100000;
    ev.y = -7;
    g_assert_cmpint(input_pointer(&ev), ==, 0);
    g_assert_cmpuint(abs.ptrs, ==, 1);
    g_assert_cmpint(abs.last.x, ==, INPUT_ABS_MAX);
    g_assert_cmpint(abs.last.y, ==, 0);

    /* the agent outranks the tablet while active */
    struct input_sink *sg = input_sink_register(&agent_ops, &agent);
    g_assert_cmpint(input_pointer(&ev), ==, 0);
    g_assert_cmpuint(agent.ptrs, ==, 1);
    input_sink_set_active(sg, false);
    g_assert_cmpint(input_pointer(&ev), ==, 0);
    g_assert_cmpuint(abs.ptrs, ==, 2);
    input_sink_set_active(sa, false);
    g_assert_false(input_pointer_absolute());
    g_assert_cmpint(input_pointer(&ev), ==, -ENODEV);

    input_sink_unregister(sg);
    input_sink_unregister(sa);
    input_sink_unregister(sr);
    input_sink_unregister(sk);
    g_assert_cmpint(input_key_qcode("a", true), ==, -ENODEV);
}

struct key_count {
    const struct rec_sink *r;
    unsigned n;
};

static bool keys_at_least(void *arg)
{
    struct key_count *k = arg;
    return k->r->keys >= k->n;
}

/* The QMP layer: send-key chords with a hold time, input-send-event. */
static void test_input_qmp_layer(void)
{
    struct rec_sink kbd = {0}, rel = {0}, abs = {0};
    const struct input_sink_ops kbd_ops = {"t-kbd", INPUT_KIND_KEY, INPUT_PRIO_PS2, rec_key, NULL};
    const struct input_sink_ops rel_ops = {"t-rel", INPUT_KIND_REL, INPUT_PRIO_PS2, NULL, rec_ptr};
    const struct input_sink_ops abs_ops = {"t-abs", INPUT_KIND_ABS, INPUT_PRIO_USB, NULL, rec_ptr};
    struct input_sink *sk = input_sink_register(&kbd_ops, &kbd);
    struct input_sink *sr = input_sink_register(&rel_ops, &rel);
    struct input_key chord[3], a;

    g_assert_cmpint(input_key_from_qcode("ctrl", &chord[0]), ==, 0);
    g_assert_cmpint(input_key_from_qcode("alt", &chord[1]), ==, 0);
    g_assert_cmpint(input_key_from_number(0xd3, &chord[2]), ==, 0); /* delete */
    g_assert_cmpint(input_key_from_qcode("a", &a), ==, 0);
    g_assert_cmpint(input_key_from_qcode("bogus", &a), ==, -ENOENT);
    g_assert_cmpint(input_key_from_number(0, &a), ==, -EINVAL);
    g_assert_cmpint(input_key_from_number(0x180, &a), ==, -EINVAL);
    g_assert_cmpint(input_key_from_qcode("a", &a), ==, 0);

    input_send_chord(chord, 3, 20);
    input_key_event(&a, true); /* must wait for the chord's releases */
    g_assert_cmpuint(kbd.keys, ==, 3);
    struct key_count kc = {&kbd, 7};
    g_assert_true(pump_until(keys_at_least, &kc));
    static const unsigned want[] = {0x11d, 0x138, 0x1d3, 0xd3, 0x38, 0x1d, 0x11e};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
        g_assert_cmphex(kbd.seq[i], ==, want[i]);
    input_key_event(&a, false); /* nothing pending: at once */
    g_assert_cmpuint(kbd.keys, ==, 8);

    /* input-send-event: btn + rel, then sync */
    g_assert_cmpint(input_button_event("left", true), ==, 0);
    g_assert_cmpint(input_axis_event(false, "x", 5), ==, 0);
    g_assert_cmpint(input_axis_event(false, "y", -2), ==, 0);
    g_assert_cmpuint(rel.ptrs, ==, 0);
    input_sync();
    g_assert_cmpuint(rel.ptrs, ==, 1);
    g_assert_false(rel.last.absolute);
    g_assert_cmpint(rel.last.x, ==, 5);
    g_assert_cmpint(rel.last.y, ==, -2);
    g_assert_cmphex(rel.last.buttons, ==, INPUT_BTN_LEFT);
    input_sync(); /* nothing new: nothing sent */
    g_assert_cmpuint(rel.ptrs, ==, 1);
    g_assert_cmpint(input_button_event("wheel-up", true), ==, 0);
    g_assert_cmpint(input_button_event("wheel-up", false), ==, 0);
    g_assert_cmpint(input_button_event("left", false), ==, 0);
    input_sync();
    g_assert_cmpuint(rel.ptrs, ==, 2);
    g_assert_cmpint(rel.last.wheel, ==, 1);
    g_assert_cmpint(rel.last.x, ==, 0);
    g_assert_cmphex(rel.last.buttons, ==, 0);
    g_assert_cmpint(input_button_event("nose", true), ==, -EINVAL);
    g_assert_cmpint(input_axis_event(false, "z", 1), ==, -EINVAL);

    /* with a tablet, absolute events go there, clamped */
    struct input_sink *sa = input_sink_register(&abs_ops, &abs);
    g_assert_cmpint(input_axis_event(true, "x", 1000), ==, 0);
    g_assert_cmpint(input_axis_event(true, "y", 99999), ==, 0);
    input_sync();
    g_assert_cmpuint(abs.ptrs, ==, 1);
    g_assert_true(abs.last.absolute);
    g_assert_cmpint(abs.last.x, ==, 1000);
    g_assert_cmpint(abs.last.y, ==, INPUT_ABS_MAX);
    g_assert_cmpint(input_button_event("right", true), ==, 0);
    input_sync(); /* a click alone goes where the pointer goes: the tablet */
    g_assert_cmpuint(abs.ptrs, ==, 2);
    g_assert_cmphex(abs.last.buttons, ==, INPUT_BTN_RIGHT);
    g_assert_cmpint(abs.last.x, ==, 1000);
    g_assert_cmpint(input_button_event("right", false), ==, 0);
    input_sync();

    input_sink_unregister(sa);
    input_sink_unregister(sr);
    input_sink_unregister(sk);
}

/* ----------------------------------------------------------------- PS/2 */

#define KBC_DATA 0x60
#define KBC_CMD  0x64
#define ST_OBF   0x01
#define ST_SYS   0x04
#define ST_AUXB  0x20

static struct device *kbc_setup(uint8_t cmdbyte)
{
    fake_hv_reset();
    struct device *dev = create("i8042", NULL);
    g_assert_nonnull(dev);
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, cmdbyte);
    g_assert_cmpuint(inb(KBC_CMD) & ST_OBF, ==, 0);
    return dev;
}

/* Read n bytes, each announced by OBF (and AUXB for mouse data) and by a
 * new edge on its interrupt line, then an empty buffer. */
static void kbc_expect(const uint8_t *want, unsigned n, bool aux)
{
    unsigned irq = aux ? 12 : 1;
    for (unsigned i = 0; i < n; i++) {
        uint8_t st = inb(KBC_CMD);
        g_assert_cmphex(st & ST_OBF, ==, ST_OBF);
        g_assert_cmphex(st & ST_AUXB, ==, aux ? ST_AUXB : 0);
        g_assert_cmpint(fake_hv.isa_level[irq], ==, 1);
        unsigned edges = fake_hv.isa_edges[irq];
        g_assert_cmphex(inb(KBC_DATA), ==, want[i]);
        if (i + 1 < n)
            g_assert_cmpuint(fake_hv.isa_edges[irq], ==, edges + 1);
    }
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    g_assert_cmpint(fake_hv.isa_level[1], ==, 0);
    g_assert_cmpint(fake_hv.isa_level[12], ==, 0);
}
#define KBC_EXPECT(aux, ...)                                                                       \
    do {                                                                                           \
        const uint8_t w_[] = {__VA_ARGS__};                                                        \
        kbc_expect(w_, sizeof(w_), aux);                                                           \
    } while (0)

static void key(const char *name, bool down)
{
    g_assert_cmpint(input_key_qcode(name, down), ==, 0);
}

static void test_ps2_keys_set1(void)
{
    struct device *dev = kbc_setup(0x47); /* IRQs on, SYS, translation (as BIOSes set it) */

    g_assert_cmphex(inb(KBC_CMD) & ST_SYS, ==, ST_SYS);
    unsigned e0 = fake_hv.isa_edges[1];
    key("a", true);
    g_assert_cmpuint(fake_hv.isa_edges[1], ==, e0 + 1);
    KBC_EXPECT(false, 0x1e);
    key("a", false);
    KBC_EXPECT(false, 0x9e);

    e0 = fake_hv.isa_edges[1];
    key("shift", true);
    key("2", true);
    key("2", false);
    key("shift", false);
    KBC_EXPECT(false, 0x2a, 0x03, 0x83, 0xaa);
    g_assert_cmpuint(fake_hv.isa_edges[1], ==, e0 + 4);

    key("right", true);
    key("right", false);
    KBC_EXPECT(false, 0xe0, 0x4d, 0xe0, 0xcd);
    key("kp_enter", true);
    KBC_EXPECT(false, 0xe0, 0x1c);
    key("f7", true);
    KBC_EXPECT(false, 0x41);

    /* the two odd keys */
    key("pause", true);
    key("pause", false); /* no break code */
    KBC_EXPECT(false, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    key("print", true);
    key("print", false);
    KBC_EXPECT(false, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
    key("alt", true);
    key("sysrq", true);
    key("sysrq", false);
    key("alt", false);
    KBC_EXPECT(false, 0x38, 0x54, 0xd4, 0xb8);
    key("ctrl", true);
    key("pause", true);
    key("ctrl", false);
    KBC_EXPECT(false, 0x1d, 0xe0, 0x46, 0x9d);

    /* interrupt disabled in the command byte: data, but no IRQ */
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, 0x46);
    key("b", true);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, ST_OBF);
    g_assert_cmpint(fake_hv.isa_level[1], ==, 0);
    g_assert_cmphex(inb(KBC_DATA), ==, 0x30);
    device_destroy(dev);
}

/* Every named key, through the keyboard's set 2 and the 8042's
 * translation, comes out as its set-1 code. */
static void test_ps2_translation_all_keys(void)
{
    struct device *dev = kbc_setup(0x47);
    unsigned n = 0;
    for (unsigned q = 1; q < 0x100; q++) {
        if (q == INPUT_QNUM_SYSRQ || q == INPUT_QNUM_PAUSE || !input_number_to_qcode(q))
            continue;
        uint8_t want[4], len = 0;
        if (q & 0x80)
            want[len++] = 0xe0;
        want[len++] = (uint8_t)(q & 0x7f);
        if (q & 0x80)
            want[len++] = 0xe0;
        want[len++] = (uint8_t)(q | 0x80);
        g_assert_cmpint(input_key_number(q, true), ==, 0);
        g_assert_cmpint(input_key_number(q, false), ==, 0);
        kbc_expect(want, len, false);
        n++;
    }
    g_assert_cmpuint(n, >, 120);
    device_destroy(dev);
}

static void test_ps2_keys_set2(void)
{
    struct device *dev = kbc_setup(0x07); /* no translation */

    /* set-2 codes as keycodemapdb lists them */
    key("a", true);
    key("a", false);
    KBC_EXPECT(false, 0x1c, 0xf0, 0x1c);
    key("shift", true);
    key("2", true);
    KBC_EXPECT(false, 0x12, 0x1e);
    key("right", true);
    key("right", false);
    KBC_EXPECT(false, 0xe0, 0x74, 0xe0, 0xf0, 0x74);
    key("f7", true);
    key("kp_divide", true);
    key("kp_divide", false);
    KBC_EXPECT(false, 0x83, 0xe0, 0x4a, 0xe0, 0xf0, 0x4a);
    key("shift", false);
    key("pause", true);
    KBC_EXPECT(false, 0xf0, 0x12, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);

    /* switch the keyboard to set 1 */
    outb(KBC_DATA, 0xf0);
    outb(KBC_DATA, 0x01);
    KBC_EXPECT(false, 0xfa, 0xfa);
    outb(KBC_DATA, 0xf0);
    outb(KBC_DATA, 0x00);
    KBC_EXPECT(false, 0xfa, 0xfa, 0x01);
    key("a", true);
    KBC_EXPECT(false, 0x1e);
    /* set 3 is not offered: the keyboard stays where it was */
    outb(KBC_DATA, 0xf0);
    outb(KBC_DATA, 0x03);
    outb(KBC_DATA, 0xf0);
    outb(KBC_DATA, 0x00);
    KBC_EXPECT(false, 0xfa, 0xfa, 0xfa, 0xfa, 0x01);
    outb(KBC_DATA, 0xf0);
    outb(KBC_DATA, 0x07);
    KBC_EXPECT(false, 0xfa, 0xfe);
    device_destroy(dev);
}

static void test_ps2_kbd_commands(void)
{
    struct device *dev = kbc_setup(0x47);

    outb(KBC_DATA, 0xff); /* reset */
    KBC_EXPECT(false, 0xfa, 0xaa);
    outb(KBC_DATA, 0xf2); /* identify: 0xab 0x83, translated to 0x41 */
    KBC_EXPECT(false, 0xfa, 0xab, 0x41);
    outb(KBC_DATA, 0xed); /* LEDs */
    outb(KBC_DATA, 0x07);
    KBC_EXPECT(false, 0xfa, 0xfa);
    g_assert_cmpuint(input_leds_get(), ==, INPUT_LED_SCROLL | INPUT_LED_NUM | INPUT_LED_CAPS);
    outb(KBC_DATA, 0xed);
    outb(KBC_DATA, INPUT_LED_CAPS);
    KBC_EXPECT(false, 0xfa, 0xfa);
    g_assert_cmpuint(input_leds_get(), ==, INPUT_LED_CAPS);
    outb(KBC_DATA, 0xee); /* echo */
    KBC_EXPECT(false, 0xee);
    outb(KBC_DATA, 0xf0); /* get set: 2, translated */
    outb(KBC_DATA, 0x00);
    KBC_EXPECT(false, 0xfa, 0xfa, 0x41);
    outb(KBC_DATA, 0xf3); /* typematic */
    outb(KBC_DATA, 0x20);
    KBC_EXPECT(false, 0xfa, 0xfa);
    outb(KBC_DATA, 0xed); /* a command instead of the LED byte aborts it */
    outb(KBC_DATA, 0xee);
    KBC_EXPECT(false, 0xfa, 0xee);
    outb(KBC_DATA, 0x01); /* not a command */
    KBC_EXPECT(false, 0xfe);
    outb(KBC_DATA, 0xfe); /* resend */
    KBC_EXPECT(false, 0xfe);

    /* scanning off: keys are not reported */
    outb(KBC_DATA, 0xf5);
    KBC_EXPECT(false, 0xfa);
    key("a", true);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    outb(KBC_DATA, 0xf4);
    KBC_EXPECT(false, 0xfa);
    key("a", true);
    KBC_EXPECT(false, 0x1e);

    /* without translation the identify reply is raw */
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, 0x07);
    outb(KBC_DATA, 0xf2);
    KBC_EXPECT(false, 0xfa, 0xab, 0x83);

    /* a reply goes ahead of keys not yet sent, never inside a sequence */
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, 0x47);
    key("a", false);    /* 0x9e now in the output buffer */
    key("right", true); /* e0 4d waiting */
    outb(KBC_DATA, 0xee);
    KBC_EXPECT(false, 0x9e, 0xee, 0xe0, 0x4d);
    key("right", false); /* e0 in the output buffer, cd waiting */
    outb(KBC_DATA, 0xee);
    KBC_EXPECT(false, 0xe0, 0xcd, 0xee);

    /* keyboard port disabled: the key waits in the keyboard */
    outb(KBC_CMD, 0xad);
    key("b", true);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    outb(KBC_CMD, 0xae);
    KBC_EXPECT(false, 0x30);
    device_destroy(dev);
}

static void mouse_cmd(uint8_t v)
{
    outb(KBC_CMD, 0xd4);
    outb(KBC_DATA, v);
}

static void mouse_move(int x, int y, int wheel, unsigned buttons)
{
    struct input_pointer_event ev = {.x = x, .y = y, .wheel = wheel, .buttons = buttons};
    g_assert_cmpint(input_pointer(&ev), ==, 0);
}

static void test_ps2_mouse(void)
{
    struct device *dev = kbc_setup(0x47);

    mouse_cmd(0xff);
    KBC_EXPECT(true, 0xfa, 0xaa, 0x00);
    mouse_cmd(0xf2);
    KBC_EXPECT(true, 0xfa, 0x00);
    /* reporting off: motion is not reported */
    mouse_move(3, 3, 0, 0);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);

    unsigned e0 = fake_hv.isa_edges[12];
    mouse_cmd(0xf4);
    KBC_EXPECT(true, 0xfa);
    g_assert_cmpuint(fake_hv.isa_edges[12], ==, e0 + 1);
    mouse_move(10, 5, 0, INPUT_BTN_LEFT); /* y grows down on screen, up in PS/2 */
    KBC_EXPECT(true, 0x29, 0x0a, 0xfb);
    mouse_move(-300, 0, 0, 0);
    KBC_EXPECT(true, 0x18, 0x01, 0x00, 0x18, 0xd3, 0x00);
    mouse_move(0, 0, 0, INPUT_BTN_RIGHT | INPUT_BTN_MIDDLE);
    KBC_EXPECT(true, 0x0e, 0x00, 0x00);

    /* status request, resolution, rate */
    mouse_cmd(0xe8);
    mouse_cmd(0x03);
    mouse_cmd(0xf3);
    mouse_cmd(40);
    mouse_cmd(0xe7);
    mouse_cmd(0xe9);
    KBC_EXPECT(true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x36, 0x03, 40);

    /* remote mode: nothing until read-data */
    mouse_cmd(0xf0);
    KBC_EXPECT(true, 0xfa);
    mouse_move(7, 0, 0, 0);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    mouse_cmd(0xeb);
    KBC_EXPECT(true, 0xfa, 0x08, 0x07, 0x00);
    mouse_cmd(0xea);
    KBC_EXPECT(true, 0xfa);

    /* wrap mode echoes until reset-wrap */
    mouse_cmd(0xee);
    mouse_cmd(0x42);
    mouse_cmd(0xec);
    KBC_EXPECT(true, 0xfa, 0x42, 0xfa);
    mouse_cmd(0x01); /* unknown */
    KBC_EXPECT(true, 0xfe);

    /* mouse port disabled: the packet waits; IRQ 12 off: data but no IRQ */
    outb(KBC_CMD, 0xa7);
    mouse_move(1, 0, 0, 0);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    outb(KBC_CMD, 0x20);
    g_assert_cmphex(inb(KBC_DATA) & 0x20, ==, 0x20);
    outb(KBC_CMD, 0xa8);
    KBC_EXPECT(true, 0x08, 0x01, 0x00);
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, 0x45);
    mouse_move(1, 0, 0, 0);
    g_assert_cmphex(inb(KBC_CMD) & (ST_OBF | ST_AUXB), ==, ST_OBF | ST_AUXB);
    g_assert_cmpint(fake_hv.isa_level[12], ==, 0);
    device_destroy(dev);
}

static void test_ps2_intellimouse(void)
{
    struct device *dev = kbc_setup(0x47);

    static const uint8_t knock3[] = {200, 100, 80}, knock4[] = {200, 200, 80};
    for (unsigned i = 0; i < 3; i++) {
        mouse_cmd(0xf3);
        mouse_cmd(knock3[i]);
    }
    KBC_EXPECT(true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
    mouse_cmd(0xf2);
    KBC_EXPECT(true, 0xfa, 0x03);
    mouse_cmd(0xf4);
    KBC_EXPECT(true, 0xfa);
    mouse_move(0, 0, 1, 0); /* wheel up: z = -1 */
    KBC_EXPECT(true, 0x08, 0x00, 0x00, 0xff);
    mouse_move(2, -2, -3, INPUT_BTN_LEFT);
    KBC_EXPECT(true, 0x09, 0x02, 0x02, 0x03);

    for (unsigned i = 0; i < 3; i++) {
        mouse_cmd(0xf3);
        mouse_cmd(knock4[i]);
    }
    KBC_EXPECT(true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
    mouse_cmd(0xf2);
    KBC_EXPECT(true, 0xfa, 0x04);
    mouse_move(0, 0, 1, INPUT_BTN_SIDE);
    KBC_EXPECT(true, 0x08, 0x00, 0x00, 0x1f);

    /* reset goes back to a plain mouse */
    mouse_cmd(0xff);
    mouse_cmd(0xf2);
    KBC_EXPECT(true, 0xfa, 0xaa, 0x00, 0xfa, 0x00);
    device_destroy(dev);
}

static void test_ps2_controller(void)
{
    struct device *dev = kbc_setup(0x47);

    outb(KBC_CMD, 0xaa);
    KBC_EXPECT(false, 0x55);
    g_assert_cmphex(inb(KBC_CMD) & ST_SYS, ==, ST_SYS);
    outb(KBC_CMD, 0xab);
    KBC_EXPECT(false, 0x00);
    outb(KBC_CMD, 0xa9);
    KBC_EXPECT(false, 0x00);
    outb(KBC_CMD, 0x20);
    KBC_EXPECT(false, 0x47);
    outb(KBC_CMD, 0xa7);
    outb(KBC_CMD, 0xad);
    outb(KBC_CMD, 0x20);
    g_assert_cmphex(inb(KBC_DATA), ==, 0x77);
    outb(KBC_CMD, 0xa8);
    outb(KBC_CMD, 0xae);
    outb(KBC_CMD, 0x20);
    KBC_EXPECT(false, 0x47);
    /* controller RAM */
    outb(KBC_CMD, 0x65);
    outb(KBC_DATA, 0x5a);
    outb(KBC_CMD, 0x25);
    KBC_EXPECT(false, 0x5a);
    outb(KBC_CMD, 0xc0);
    KBC_EXPECT(false, 0x80);
    outb(KBC_CMD, 0xd0);
    KBC_EXPECT(false, 0xcf);
    /* write output buffer: as keyboard data, and as mouse data (Linux's AUX loop test) */
    outb(KBC_CMD, 0xd2);
    outb(KBC_DATA, 0x12);
    KBC_EXPECT(false, 0x12);
    outb(KBC_CMD, 0xd3);
    outb(KBC_DATA, 0x5a);
    KBC_EXPECT(true, 0x5a);
    /* the last write's kind shows in status bit 3 */
    g_assert_cmphex(inb(KBC_CMD) & 0x08, ==, 0);
    outb(KBC_CMD, 0xa1); /* not implemented: no reply, no crash */
    g_assert_cmphex(inb(KBC_CMD) & (ST_OBF | 0x08), ==, 0x08);
    g_assert_cmphex(inb(KBC_DATA), ==, 0x5a); /* the last byte again */

    /* resets */
    outb(KBC_CMD, 0xff); /* pulse nothing */
    outb(KBC_CMD, 0xf1);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    outb(KBC_CMD, 0xfe);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, HV_SHUTDOWN_REBOOT);
    g_assert_cmpuint(fake_hv.shutdown_calls, ==, 1);
    fake_hv.shutdown_reason = -1;
    outb(KBC_CMD, 0xd1);
    outb(KBC_DATA, 0xcf); /* reset line stays high */
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    outb(KBC_CMD, 0xd1);
    outb(KBC_DATA, 0xce);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, HV_SHUTDOWN_REBOOT);

    /* device reset: power-on state */
    key("a", true);
    outb(KBC_CMD, 0x60);
    outb(KBC_DATA, 0x00);
    dev->desc->reset(dev);
    g_assert_cmphex(inb(KBC_CMD), ==, 0x18);
    g_assert_cmpint(fake_hv.isa_level[1], ==, 0);
    outb(KBC_CMD, 0x20);
    KBC_EXPECT(false, 0x03);
    outb(KBC_DATA, 0xf2); /* no translation after power-on, as QEMU */
    KBC_EXPECT(false, 0xfa, 0xab, 0x83);
    device_destroy(dev);
}

static void test_ps2_overflow(void)
{
    struct device *dev = kbc_setup(0x47);
    uint64_t logged = log_bytes_written();

    for (unsigned i = 0; i < 1000; i++) {
        key("a", true);
        key("a", false);
    }
    /* the output buffer, then what fits of the keyboard's 16 bytes of set-2
     * codes (a release takes two: f0 1c), whole sequences only */
    unsigned n = 0;
    while (inb(KBC_CMD) & ST_OBF) {
        uint8_t b = inb(KBC_DATA);
        if (n == 0)
            g_assert_cmphex(b, ==, 0x1e);
        else
            g_assert_true(b == 0x1e || b == 0x9e);
        n++;
    }
    g_assert_cmpuint(n, >=, 11);
    g_assert_cmpuint(n, <=, 17);
    g_assert_cmpuint(log_bytes_written() - logged, <, 4096);

    /* unread replies are bounded too */
    for (unsigned i = 0; i < 1000; i++)
        outb(KBC_DATA, 0xee);
    n = 0;
    while (inb(KBC_CMD) & ST_OBF) {
        g_assert_cmphex(inb(KBC_DATA), ==, 0xee);
        n++;
    }
    g_assert_cmpuint(n, <=, 16);

    /* mouse: bounded queue, whole packets, no motion lost */
    mouse_cmd(0xf4);
    KBC_EXPECT(true, 0xfa);
    for (unsigned i = 0; i < 5000; i++)
        mouse_move(1, 0, 0, 0);
    unsigned bytes = 0;
    int sum = 0;
    while (inb(KBC_CMD) & ST_OBF) {
        uint8_t p[3];
        for (unsigned j = 0; j < 3; j++) {
            g_assert_cmphex(inb(KBC_CMD) & (ST_OBF | ST_AUXB), ==, ST_OBF | ST_AUXB);
            p[j] = inb(KBC_DATA);
        }
        g_assert_cmphex(p[0] & 0x08, ==, 0x08);
        sum += p[1] - ((p[0] & 0x10) ? 256 : 0);
        bytes += 3;
        g_assert_cmpuint(bytes, <, 5000);
    }
    g_assert_cmpint(sum, ==, 5000);
    g_assert_cmpuint(log_bytes_written() - logged, <, 8192);
    device_destroy(dev);
}

/* --------------------------------------------------------------- serial */

#define COM1 0x3f8
#define COM2 0x2f8
#define RBR  0
#define THR  0
#define IER  1
#define IIR  2
#define FCR  2
#define LCR  3
#define MCR  4
#define LSR  5
#define MSR  6
#define SCR  7

static void test_serial_registers(void)
{
    fake_hv_reset();
    struct device *dev = create("isa-serial", "index=0");
    g_assert_nonnull(dev);

    /* reset values */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    g_assert_cmphex(inb(COM1 + MCR), ==, 0x08);
    g_assert_cmphex(inb(COM1 + MSR), ==, 0xb0);

    /* scratch register (hvmloader's probe) */
    outb(COM1 + SCR, 0x55);
    g_assert_cmphex(inb(COM1 + SCR), ==, 0x55);
    outb(COM1 + SCR, 0xaa);
    g_assert_cmphex(inb(COM1 + SCR), ==, 0xaa);

    /* divisor latch */
    outb(COM1 + LCR, 0x83);
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x02);
    g_assert_cmphex(inb(COM1 + 0), ==, 0x01);
    g_assert_cmphex(inb(COM1 + 1), ==, 0x02);
    outb(COM1 + LCR, 0x03);
    g_assert_cmphex(inb(COM1 + LCR), ==, 0x03);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x00);
    outb(COM1 + IER, 0x05);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x05);
    outb(COM1 + IER, 0xff);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x0f);
    outb(COM1 + IER, 0);
    outb(COM1 + LCR, 0x83);
    g_assert_cmphex(inb(COM1 + 1), ==, 0x02);
    g_assert_cmphex(inb(COM1 + 0), ==, 0x01);
    outb(COM1 + LCR, 0x03);

    /* loopback: MSR follows MCR, a byte written is read back */
    outb(COM1 + MCR, 0x1a); /* loop, OUT2, RTS: Linux's test wants 0x90 */
    g_assert_cmphex(inb(COM1 + MSR) & 0xf0, ==, 0x90);
    outb(COM1 + MCR, 0x1f);
    g_assert_cmphex(inb(COM1 + MSR) & 0xf0, ==, 0xf0);
    outb(COM1 + MCR, 0x10);
    uint8_t msr = inb(COM1 + MSR);
    g_assert_cmphex(msr & 0xf0, ==, 0x00);
    g_assert_cmphex(msr & 0x0f, ==, 0x0f); /* deltas; RI fell */
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x00);
    outb(COM1 + THR, 'Z');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x61);
    g_assert_cmphex(inb(COM1 + RBR), ==, 'Z');
    g_assert_cmphex(inb(COM1 + LSR), ==, 0x60);
    /* RDA interrupt in loopback */
    outb(COM1 + IER, 0x01);
    outb(COM1 + THR, 'Q');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x04);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 1);
    g_assert_cmphex(inb(COM1 + RBR), ==, 'Q');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 0);
    /* overrun of the holding register: line status interrupt */
    outb(COM1 + IER, 0x05);
    outb(COM1 + THR, '1');
    outb(COM1 + THR, '2');
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x06);
    g_assert_cmphex(inb(COM1 + LSR) & 0x03, ==, 0x03);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x04);
    g_assert_cmphex(inb(COM1 + RBR), ==, '2');
    /* modem status interrupt */
    outb(COM1 + IER, 0x08);
    outb(COM1 + MCR, 0x11);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x00);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 1);
    g_assert_cmphex(inb(COM1 + MSR), ==, 0x22);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    outb(COM1 + IER, 0);
    outb(COM1 + MCR, 0x08);
    inb(COM1 + MSR);
    g_assert_cmphex(inb(COM1 + MSR), ==, 0xb0);

    /* THRE interrupt */
    unsigned e0 = fake_hv.isa_edges[4];
    outb(COM1 + IER, 0x02);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 1);
    g_assert_cmpuint(fake_hv.isa_edges[4], ==, e0 + 1);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02); /* reading it acknowledges */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 0);
    outb(COM1 + THR, 'x');
    g_assert_cmpint(fake_hv.isa_level[4], ==, 1);
    g_assert_cmpuint(fake_hv.isa_edges[4], ==, e0 + 2);
    outb(COM1 + THR, 'y'); /* lowered while sending, raised again */
    g_assert_cmpuint(fake_hv.isa_edges[4], ==, e0 + 3);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    outb(COM1 + IER, 0x00);
    outb(COM1 + IER, 0x02); /* re-enabling THRI interrupts again */
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x02);
    outb(COM1 + IER, 0x00);

    /* FIFOs */
    outb(COM1 + FCR, 0x07);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0xc1);
    outb(COM1 + FCR, 0x00);
    g_assert_cmphex(inb(COM1 + IIR), ==, 0x01);

    dev->desc->reset(dev);
    g_assert_cmphex(inb(COM1 + LCR), ==, 0x00);
    g_assert_cmphex(inb(COM1 + IER), ==, 0x00);
    g_assert_cmpint(fake_hv.isa_level[4], ==, 0);
    device_destroy(dev);
}

struct iir_wait {
    uint16_t port;
    uint8_t want;
};

static bool iir_is(void *arg)
{
    struct iir_wait *w = arg;
    return inb(w->port) == w->want;
}

static void test_serial_fifo(void)
{
    fake_hv_reset();
    struct device *dev = create("isa-serial", "index=1");
    g_assert_nonnull(dev);

    outb(COM2 + LCR, 0x80);
    outb(COM2 + 0, 0x01); /* 115200 baud: timeout well under a millisecond */
    outb(COM2 + 1, 0x00);
    outb(COM2 + LCR, 0x03);
    outb(COM2 + FCR, 0xc7); /* FIFOs on, cleared, trigger at 14 */
    outb(COM2 + MCR, 0x10);
    outb(COM2 + IER, 0x05);
    for (unsigned i = 0; i < 3; i++)
        outb(COM2 + THR, (uint8_t)('a' + i));
    g_assert_cmphex(inb(COM2 + IIR), ==, 0xc1); /* below the trigger level */
    struct iir_wait w = {COM2 + IIR, 0xcc};
    g_assert_true(pump_until(iir_is, &w)); /* character timeout */
    g_assert_cmpint(fake_hv.isa_level[3], ==, 1);
    for (unsigned i = 0; i < 3; i++)
        g_assert_cmphex(inb(COM2 + RBR), ==, 'a' + i);
    g_assert_cmphex(inb(COM2 + IIR), ==, 0xc1);
    g_assert_cmpint(fake_hv.isa_level[3], ==, 0);

    for (unsigned i = 0; i < 14; i++)
        outb(COM2 + THR, (uint8_t)i);
    g_assert_cmphex(inb(COM2 + IIR), ==, 0xc4); /* at the trigger level */
    for (unsigned i = 0; i < 3; i++)
        outb(COM2 + THR, (uint8_t)(14 + i));
    g_assert_cmphex(inb(COM2 + IIR), ==, 0xc6); /* the 17th byte overran */
    g_assert_cmphex(inb(COM2 + LSR) & 0x03, ==, 0x03);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(inb(COM2 + RBR), ==, i);
    g_assert_cmphex(inb(COM2 + LSR) & 0x01, ==, 0);
    outb(COM2 + THR, 0x77);
    outb(COM2 + FCR, 0xc3); /* clear RX */
    g_assert_cmphex(inb(COM2 + LSR) & 0x01, ==, 0);
    device_destroy(dev);
}

static void test_serial_file_backend(void)
{
    fake_hv_reset();
    char *dir = g_dir_make_tmp("xendm-isa-XXXXXX", NULL);
    char *path = g_build_filename(dir, "out", NULL);
    g_assert_true(g_file_set_contents(path, "old contents, longer than hello\n", -1, NULL));
    char *spec = g_strdup_printf("file:%s", path);
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", spec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chardev_filename(cd), ==, "file");
    struct device *dev = create("isa-serial", "index=0,chardev=serial0");
    g_assert_nonnull(dev);
    g_assert_true(chardev_frontend_open(cd));

    for (const char *p = "hello\n"; *p; p++)
        outb(COM1 + THR, (uint8_t)*p);
    device_destroy(dev);
    g_assert_false(chardev_frontend_open(cd));
    chardev_close(cd); /* waits for the writer */

    char *got = NULL;
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "hello\n"); /* truncated at open, as QEMU */
    g_free(got);
    g_unlink(path);
    g_rmdir(dir);
    g_free(spec);
    g_free(path);
    g_free(dir);
}

struct lsr_wait {
    uint16_t base;
};

static bool data_ready(void *arg)
{
    struct lsr_wait *w = arg;
    return inb(w->base + LSR) & 0x01;
}

static bool connected(void *arg)
{
    return chardev_connected(arg);
}

static bool disconnected(void *arg)
{
    return !chardev_connected(arg);
}

static int unix_client(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s, >=, 0);
    g_assert_cmpint(connect(s, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    return s;
}

static void test_serial_unix_server(void)
{
    fake_hv_reset();
    char *dir = g_dir_make_tmp("xendm-isa-XXXXXX", NULL);
    char *path = g_build_filename(dir, "sock", NULL);
    char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial1", spec, &err);
    g_assert_no_error(err);
    char *want = g_strdup_printf("disconnected:unix:%s,server=on", path);
    g_assert_cmpstr(chardev_filename(cd), ==, want);
    g_free(want);
    struct device *dev = create("isa-serial", "index=1,chardev=serial1");
    g_assert_nonnull(dev);

    /* output without a client is discarded */
    outb(COM2 + THR, '!');
    struct chardev_stats st;
    chardev_get_stats(cd, &st);
    g_assert_cmpuint(st.discarded, ==, 1);

    int c = unix_client(path);
    g_assert_true(pump_until(connected, cd));
    want = g_strdup_printf("unix:%s,server=on", path);
    g_assert_cmpstr(chardev_filename(cd), ==, want);
    g_free(want);

    /* input: data ready, RDA interrupt on IRQ 3 */
    outb(COM2 + IER, 0x01);
    g_assert_cmpint(write(c, "hi", 2), ==, 2);
    struct lsr_wait w = {COM2};
    g_assert_true(pump_until(data_ready, &w));
    g_assert_cmphex(inb(COM2 + IIR), ==, 0x04);
    g_assert_cmpint(fake_hv.isa_level[3], ==, 1);
    g_assert_cmphex(inb(COM2 + RBR), ==, 'h');
    g_assert_true(pump_until(data_ready, &w));      /* read one at a time: no FIFO */
    g_assert_cmphex(inb(COM2 + LSR) & 0x02, ==, 0); /* and no overrun */
    g_assert_cmphex(inb(COM2 + RBR), ==, 'i');
    g_assert_cmpint(fake_hv.isa_level[3], ==, 0);

    /* output reaches the client */
    for (const char *p = "ok\n"; *p; p++)
        outb(COM2 + THR, (uint8_t)*p);
    char buf[16] = {0};
    g_assert_true(fd_readable(c, WAIT_MS));
    g_assert_cmpint(read(c, buf, sizeof(buf)), ==, 3);
    g_assert_cmpstr(buf, ==, "ok\n");

    /* the client leaves: listening again */
    close(c);
    outb(COM2 + IER, 0x00);
    g_assert_true(pump_until(disconnected, cd));
    want = g_strdup_printf("disconnected:unix:%s,server=on", path);
    g_assert_cmpstr(chardev_filename(cd), ==, want);
    g_free(want);
    c = unix_client(path);
    g_assert_true(pump_until(connected, cd));
    close(c);

    device_destroy(dev);
    chardev_close(cd);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_rmdir(dir);
    g_free(spec);
    g_free(path);
    g_free(dir);
}

static void test_serial_wait_on_keeps_output(void)
{
    fake_hv_reset();
    char *dir = g_dir_make_tmp("xendm-isa-XXXXXX", NULL);
    char *path = g_build_filename(dir, "sock", NULL);
    char *spec = g_strdup_printf("unix:%s,server", path); /* wait=on: QEMU's default */
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", spec, &err);
    g_assert_no_error(err);
    struct device *dev = create("isa-serial", "chardev=serial0");
    g_assert_nonnull(dev);
    for (const char *p = "boot\n"; *p; p++)
        outb(COM1 + THR, (uint8_t)*p);
    int c = unix_client(path);
    g_assert_true(pump_until(connected, cd));
    char buf[16] = {0};
    size_t got = 0;
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    while (got < 5 && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        if (fd_readable(c, 1)) {
            ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
            g_assert_cmpint(n, >, 0);
            got += (size_t)n;
        }
    }
    g_assert_cmpstr(buf, ==, "boot\n");
    close(c);
    device_destroy(dev);
    chardev_close(cd);
    g_rmdir(dir);
    g_free(spec);
    g_free(path);
    g_free(dir);
}

static void test_serial_tcp_server(void)
{
    fake_hv_reset();
    /* a port that was free a moment ago */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    g_assert_cmpint(bind(t, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(getsockname(t, (struct sockaddr *)&sin, &len), ==, 0);
    unsigned port = ntohs(sin.sin_port);
    close(t);

    char *spec = g_strdup_printf("tcp:127.0.0.1:%u,server=on,wait=off,nodelay=on", port);
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", spec, &err);
    g_assert_no_error(err);
    char *want = g_strdup_printf("disconnected:tcp:127.0.0.1:%u,server=on", port);
    g_assert_cmpstr(chardev_filename(cd), ==, want);
    g_free(want);
    struct device *dev = create("isa-serial", "index=0,chardev=serial0");

    int c = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(connect(c, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_true(pump_until(connected, cd));
    struct sockaddr_in me;
    len = sizeof(me);
    getsockname(c, (struct sockaddr *)&me, &len);
    want = g_strdup_printf("tcp:127.0.0.1:%u,server=on <-> 127.0.0.1:%u", port, ntohs(me.sin_port));
    g_assert_cmpstr(chardev_filename(cd), ==, want);
    g_free(want);

    outb(COM1 + THR, 'T');
    char b = 0;
    g_assert_true(fd_readable(c, WAIT_MS));
    g_assert_cmpint(read(c, &b, 1), ==, 1);
    g_assert_cmpint(b, ==, 'T');
    close(c);
    device_destroy(dev);
    chardev_close(cd);
    g_free(spec);
}

static void test_serial_pty(void)
{
    fake_hv_reset();
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", "pty", &err);
    g_assert_no_error(err);
    const char *name = chardev_filename(cd);
    g_assert_true(g_str_has_prefix(name, "pty:/dev/pts/"));
    struct device *dev = create("isa-serial", "index=0,chardev=serial0");
    g_assert_nonnull(dev);

    /* nobody on the slave side: discarded, nothing kept */
    for (unsigned i = 0; i < 100000; i++)
        outb(COM1 + THR, 'x');
    struct chardev_stats st;
    chardev_get_stats(cd, &st);
    g_assert_cmpuint(st.discarded, ==, 100000);
    g_assert_cmpuint(st.queued, ==, 0);
    g_assert_false(chardev_connected(cd));

    /* xenconsole opens the slave path libxl got from the filename */
    int s = open(name + 4, O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(s, >=, 0);
    for (const char *p = "ping\n"; *p; p++)
        outb(COM1 + THR, (uint8_t)*p);
    g_assert_true(chardev_connected(cd));
    char buf[32] = {0};
    size_t got = 0;
    while (got < 5 && fd_readable(s, WAIT_MS)) {
        ssize_t n = read(s, buf + got, sizeof(buf) - 1 - got);
        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
    }
    g_assert_cmpstr(buf, ==, "ping\n"); /* raw: no CR added */

    /* and types into the guest */
    g_assert_cmpint(write(s, "k", 1), ==, 1);
    struct lsr_wait w = {COM1};
    g_assert_true(pump_until(data_ready, &w));
    g_assert_cmphex(inb(COM1 + RBR), ==, 'k');

    /* the console goes away: discarding again */
    close(s);
    g_assert_true(pump_until(disconnected, cd));
    chardev_get_stats(cd, &st);
    uint64_t before = st.discarded;
    outb(COM1 + THR, 'z');
    chardev_get_stats(cd, &st);
    g_assert_cmpuint(st.discarded, ==, before + 1);

    device_destroy(dev);
    chardev_close(cd);
}

static void test_serial_stalled_peer(void)
{
    fake_hv_reset();
    char *dir = g_dir_make_tmp("xendm-isa-XXXXXX", NULL);
    char *path = g_build_filename(dir, "sock", NULL);
    char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", spec, &err);
    g_assert_no_error(err);
    struct device *dev = create("isa-serial", "index=0,chardev=serial0");
    int c = unix_client(path);
    g_assert_true(pump_until(connected, cd));

    /* the client never reads: 1 MiB of output must neither block nor pile up */
    const unsigned total = 1u << 20;
    gint64 t0 = g_get_monotonic_time();
    for (unsigned i = 0; i < total; i++) {
        outb(COM1 + THR, (uint8_t)i);
        g_assert_cmphex(inb(COM1 + LSR) & 0x60, ==, 0x60);
    }
    gint64 dt = g_get_monotonic_time() - t0;
    pump_briefly();
    struct chardev_stats st;
    chardev_get_stats(cd, &st);
    g_assert_cmpuint(st.queued, <=, CHARDEV_QUEUE_MAX);
    g_assert_cmpuint(st.dropped, >, 0);
    g_assert_cmpuint(st.written + st.queued + st.dropped, ==, total);
    g_assert_cmpint(dt, <, 60 * G_USEC_PER_SEC);

    close(c);
    device_destroy(dev);
    chardev_close(cd);
    g_rmdir(dir);
    g_free(spec);
    g_free(path);
    g_free(dir);
}

static bool list_one(const char *label, const char *filename, bool frontend_open, void *opaque)
{
    g_string_append_printf(opaque, "%s=%s%s;", label, filename, frontend_open ? "+" : "");
    return true;
}

static bool count_one(const char *label, const char *filename, bool frontend_open, void *opaque)
{
    ++*(unsigned *)opaque;
    return false; /* stop after the first */
}

static void test_chardev_specs(void)
{
    GError *err = NULL;
    static const char *const bad[] = {
        "none",
        "stdio",
        "vc",
        "/dev/ttyS0",
        "pipe:/tmp/x",
        "udp::4555",
        "file:",
        "unix:",
        "unix:/tmp/x,server=maybe",
        "unix:/tmp/x,reconnect=1",
        "tcp:nohostport",
        "tcp:1.2.3.4:",
        "telnet::4555,server",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(chardev_open("serial3", bad[i], &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, bad[i]));
        g_clear_error(&err);
    }
    g_assert_null(chardev_open("serial3", "unix:/nonexistent-dir/x", &err)); /* client: refused */
    g_clear_error(&err);

    struct chardev *a = chardev_open("serial0", "null", &err);
    g_assert_no_error(err);
    g_assert_null(chardev_open("serial0", "null", &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_clear_error(&err);
    struct chardev *b = chardev_open("serial1", "pty", &err);
    g_assert_no_error(err);
    g_assert_true(chardev_find("serial1") == b);
    g_assert_null(chardev_find("serial2"));
    g_assert_cmpuint(chardev_write(a, "abc", 3), ==, 3);

    fake_hv_reset();
    struct device *dev = create("isa-serial", "index=1,chardev=serial1");
    GString *list = g_string_new(NULL);
    chardev_foreach(list_one, list);
    char *want = g_strdup_printf("serial0=null;serial1=%s+;", chardev_filename(b));
    g_assert_cmpstr(list->str, ==, want);
    g_free(want);
    g_string_free(list, TRUE);
    unsigned count = 0;
    chardev_foreach(count_one, &count);
    g_assert_cmpuint(count, ==, 1);

    /* the serial port refuses what it does not know */
    g_assert_null(create("isa-serial", "index=2,chardev=serial9"));
    g_assert_null(create("isa-serial", "index=4"));
    g_assert_null(create("isa-serial", "index=2,speed=9600"));
    g_assert_null(create("isa-serial", "index=1")); /* ports taken */

    device_destroy(dev);
    chardev_close(b);
    chardev_close(a);
}

/* The structured entry point: a file appended to, a unix client. */
static void test_chardev_params(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("xendm-isa-XXXXXX", NULL);
    char *path = g_build_filename(dir, "log", NULL);
    g_assert_true(g_file_set_contents(path, "old\n", -1, NULL));

    struct chardev_params fp = {.type = CHARDEV_FILE, .path = path, .append = true};
    struct chardev *cd = chardev_open_params("serial0", &fp, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chardev_filename(cd), ==, "file");
    g_assert_cmpuint(chardev_write(cd, "new\n", 4), ==, 4);
    chardev_close(cd);
    char *got = NULL;
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "old\nnew\n");
    g_free(got);
    g_unlink(path);

    /* a client of a server the test runs */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    char *sock = g_build_filename(dir, "srv", NULL);
    g_strlcpy(un.sun_path, sock, sizeof(un.sun_path));
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(l, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    g_assert_cmpint(listen(l, 1), ==, 0);
    struct chardev_params up = {.type = CHARDEV_UNIX, .path = sock};
    cd = chardev_open_params("serial1", &up, &err);
    g_assert_no_error(err);
    g_assert_true(chardev_connected(cd));
    g_assert_cmpstr(chardev_filename(cd), ==, "unix:"); /* QEMU shows the unnamed local end */
    int a = accept(l, NULL, NULL);
    g_assert_cmpint(a, >=, 0);
    g_assert_cmpuint(chardev_write(cd, "xy", 2), ==, 2);
    char buf[4] = {0};
    g_assert_true(fd_readable(a, WAIT_MS));
    g_assert_cmpint(read(a, buf, sizeof(buf)), ==, 2);
    g_assert_cmpstr(buf, ==, "xy");
    chardev_close(cd);
    close(a);
    close(l);
    g_unlink(sock);

    struct chardev_params bad = {.type = CHARDEV_FILE};
    g_assert_null(chardev_open_params("serial2", &bad, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_rmdir(dir);
    g_free(sock);
    g_free(path);
    g_free(dir);
}

/* ----------------------------------------------------------------- CMOS */

static uint8_t cmos_read(uint8_t index)
{
    outb(0x70, index);
    return inb(0x71);
}

static void test_cmos_boot_order(void)
{
    static const struct {
        const char *opts;
        uint8_t b3d, b38;
    } cases[] = {
        {"boot=cda", 0x32, 0x10}, {"boot=dc", 0x23, 0x00},  {"boot=n", 0x04, 0x00},
        {"boot=c", 0x02, 0x00},   {"boot=ncd", 0x24, 0x30}, {"boot=cd,fd_bootchk=off", 0x32, 0x01},
        {NULL, 0x12, 0x30}, /* QEMU's default "cad" */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct device *dev = create("cmos", cases[i].opts);
        g_assert_nonnull(dev);
        g_assert_cmphex(cmos_read(0x3d), ==, cases[i].b3d);
        g_assert_cmphex(cmos_read(0x38), ==, cases[i].b38);
        device_destroy(dev);
    }
    static const char *const bad[] = {"boot=x", "boot=cdan", "boot=cc",
                                      "cpus=0", "color=red", "ram_mb=lots"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        g_assert_null(create("cmos", bad[i]));
}

static void test_cmos_memory(void)
{
    struct device *dev = create("cmos", "ram_mb=1016,cpus=4,boot=cda");
    g_assert_nonnull(dev);
    g_assert_cmphex(cmos_read(0x15), ==, 0x80); /* 640 KiB */
    g_assert_cmphex(cmos_read(0x16), ==, 0x02);
    g_assert_cmphex(cmos_read(0x17), ==, 0xff); /* 1015 MiB in KiB: capped */
    g_assert_cmphex(cmos_read(0x18), ==, 0xff);
    g_assert_cmphex(cmos_read(0x30), ==, 0xff);
    g_assert_cmphex(cmos_read(0x31), ==, 0xff);
    g_assert_cmphex(cmos_read(0x34), ==, 0x80); /* (1016 - 16) * 16 = 0x3e80 */
    g_assert_cmphex(cmos_read(0x35), ==, 0x3e);
    g_assert_cmphex(cmos_read(0x5b), ==, 0);
    g_assert_cmphex(cmos_read(0x5c), ==, 0);
    g_assert_cmphex(cmos_read(0x5d), ==, 0);
    g_assert_cmphex(cmos_read(0x5f), ==, 3);
    g_assert_cmphex(cmos_read(0x14), ==, 0x06);
    g_assert_cmphex(cmos_read(0x10), ==, 0x00);
    g_assert_cmphex(cmos_read(0x12), ==, 0x00);
    g_assert_cmphex(cmos_read(0x19), ==, 0x00);
    g_assert_cmphex(cmos_read(0x32), ==, 0x20);
    g_assert_cmphex(cmos_read(0x37), ==, 0x20); /* PS/2 century alias */
    device_destroy(dev);

    dev = create("cmos", "ram_mb=5000");
    g_assert_nonnull(dev);
    g_assert_cmphex(cmos_read(0x34), ==, 0x00); /* (3840 - 16) * 16 = 0xef00 */
    g_assert_cmphex(cmos_read(0x35), ==, 0xef);
    g_assert_cmphex(cmos_read(0x5b), ==, 0x80); /* 1160 MiB = 0x4880 x 64 KiB */
    g_assert_cmphex(cmos_read(0x5c), ==, 0x48);
    g_assert_cmphex(cmos_read(0x5d), ==, 0x00);
    g_assert_cmphex(cmos_read(0x5f), ==, 0);
    device_destroy(dev);

    dev = create("cmos", "ram_mb=8192,ram_below_4g_mb=2048");
    g_assert_cmphex(cmos_read(0x34), ==, 0x00); /* 2032 * 16 = 0x7f00 */
    g_assert_cmphex(cmos_read(0x35), ==, 0x7f);
    g_assert_cmphex(cmos_read(0x5b), ==, 0x00); /* 6 GiB = 0x18000 x 64 KiB */
    g_assert_cmphex(cmos_read(0x5c), ==, 0x80);
    g_assert_cmphex(cmos_read(0x5d), ==, 0x01);
    device_destroy(dev);
}

static void test_cmos_ports(void)
{
    struct device *dev = create("cmos", "ram_mb=1024");
    g_assert_nonnull(dev);
    g_assert_cmphex(inb(0x70), ==, 0xff);
    /* indices Xen owns: read 0, writes dropped */
    outb(0x70, 0x0a);
    g_assert_cmphex(inb(0x71), ==, 0x00);
    outb(0x71, 0x26);
    g_assert_cmphex(inb(0x71), ==, 0x00);
    /* NMI mask bit is not part of the index */
    outb(0x70, 0x80 | 0x40);
    outb(0x71, 0xa5);
    g_assert_cmphex(cmos_read(0x40), ==, 0xa5);
    g_assert_cmphex(cmos_read(0x7f), ==, 0x00);
    /* reset keeps the NVRAM */
    dev->desc->reset(dev);
    g_assert_cmphex(cmos_read(0x40), ==, 0xa5);
    /* no second bank */
    g_assert_cmphex(inb(0x72), ==, 0xff);
    device_destroy(dev);
}

/* -------------------------------------------------------------- bad input */

static void test_bad_input(void)
{
    fake_hv_reset();
    GError *err = NULL;
    struct chardev *cd = chardev_open("serial0", "null", &err);
    g_assert_no_error(err);
    struct device *kbc = create("i8042", NULL);
    struct device *com1 = create("isa-serial", "index=0,chardev=serial0");
    struct device *com2 = create("isa-serial", "index=1");
    struct device *cmos = create("cmos", "ram_mb=2048");
    g_assert_nonnull(kbc);
    g_assert_nonnull(com1);
    g_assert_nonnull(com2);
    g_assert_nonnull(cmos);
    uint64_t logged = log_bytes_written();
    static const uint16_t ranges[][2] = {
        {0x5e, 0x66},
        {0x6e, 0x74},
        {0x2f6, 0x300},
        {0x3f6, 0x401},
    };
    static const unsigned sizes[] = {1, 2, 4, 8};

    /* every port at every size, read and written */
    for (size_t r = 0; r < G_N_ELEMENTS(ranges); r++)
        for (uint16_t p = ranges[r][0]; p <= ranges[r][1]; p++)
            for (size_t z = 0; z < G_N_ELEMENTS(sizes); z++) {
                io_read(IO_PIO, p, sizes[z]);
                io_write(IO_PIO, p, sizes[z], 0x0123456789abcdefULL);
            }
    /* random traffic */
    GRand *rnd = g_rand_new_with_seed(42);
    for (unsigned i = 0; i < 200000; i++) {
        size_t r = (size_t)g_rand_int_range(rnd, 0, G_N_ELEMENTS(ranges));
        uint16_t p = (uint16_t)g_rand_int_range(rnd, ranges[r][0], ranges[r][1] + 1);
        unsigned size = sizes[g_rand_int_range(rnd, 0, 4)];
        uint64_t v = ((uint64_t)g_rand_int(rnd) << 32) | g_rand_int(rnd);
        if (g_rand_boolean(rnd))
            io_write(IO_PIO, p, size, v);
        else
            io_read(IO_PIO, p, size);
        if (!(i % 997)) {
            key("a", g_rand_boolean(rnd));
            mouse_move(g_rand_int_range(rnd, -1000, 1000), g_rand_int_range(rnd, -1000, 1000),
                       g_rand_int_range(rnd, -3, 4), g_rand_int(rnd));
        }
    }
    g_rand_free(rnd);
    /* the same unknown commands, over and over */
    for (unsigned i = 0; i < 100000; i++) {
        outb(KBC_CMD, 0xa1);
        outb(KBC_DATA, 0x01);
        outb(COM1 + LSR, 0xff);
        outb(0x70, 0x05);
        inb(0x71);
    }
    g_assert_cmpuint(log_bytes_written() - logged, <, 128 * 1024);

    /* still working */
    for (unsigned i = 0; i < 4096 && (inb(KBC_CMD) & ST_OBF); i++)
        inb(KBC_DATA);
    g_assert_cmphex(inb(KBC_CMD) & ST_OBF, ==, 0);
    outb(KBC_CMD, 0xaa);
    g_assert_cmphex(inb(KBC_DATA), ==, 0x55);
    com1->desc->reset(com1);
    outb(COM1 + SCR, 0x5a);
    g_assert_cmphex(inb(COM1 + SCR), ==, 0x5a);
    outb(0x70, 0x50);
    outb(0x71, 0x3c);
    g_assert_cmphex(cmos_read(0x50), ==, 0x3c);

    device_destroy(cmos);
    device_destroy(com2);
    device_destroy(com1);
    device_destroy(kbc);
    chardev_close(cd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    log_init();

    g_test_add_func("/input/names", test_input_names);
    g_test_add_func("/input/routing", test_input_routing);
    g_test_add_func("/input/qmp-layer", test_input_qmp_layer);
    g_test_add_func("/ps2/keys-set1", test_ps2_keys_set1);
    g_test_add_func("/ps2/translation-all-keys", test_ps2_translation_all_keys);
    g_test_add_func("/ps2/keys-set2", test_ps2_keys_set2);
    g_test_add_func("/ps2/keyboard-commands", test_ps2_kbd_commands);
    g_test_add_func("/ps2/mouse", test_ps2_mouse);
    g_test_add_func("/ps2/intellimouse", test_ps2_intellimouse);
    g_test_add_func("/ps2/controller", test_ps2_controller);
    g_test_add_func("/ps2/overflow", test_ps2_overflow);
    g_test_add_func("/serial/registers", test_serial_registers);
    g_test_add_func("/serial/fifo-timeout", test_serial_fifo);
    g_test_add_func("/serial/file", test_serial_file_backend);
    g_test_add_func("/serial/unix-server", test_serial_unix_server);
    g_test_add_func("/serial/wait-on-keeps-output", test_serial_wait_on_keeps_output);
    g_test_add_func("/serial/tcp-server", test_serial_tcp_server);
    g_test_add_func("/serial/pty", test_serial_pty);
    g_test_add_func("/serial/stalled-peer", test_serial_stalled_peer);
    g_test_add_func("/chardev/specs", test_chardev_specs);
    g_test_add_func("/chardev/params", test_chardev_params);
    g_test_add_func("/cmos/boot-order", test_cmos_boot_order);
    g_test_add_func("/cmos/memory", test_cmos_memory);
    g_test_add_func("/cmos/ports", test_cmos_ports);
    g_test_add_func("/isa/bad-input", test_bad_input);
    return g_test_run();
}
