/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The input broker of input.h: a list of sinks ordered by priority, and the
 * QKeyCode name table.
 *
 * The name table follows QEMU's QKeyCode enumeration (qapi/ui.json) with
 * the AT set-1 scancodes published in keycodemapdb's keymaps.csv ("AT set1
 * keycode" column), written as qnums (0x80 | code for 0xe0-prefixed keys).
 * The QMP-style layer keeps a queue of key steps (key events and delays)
 * so that send-key's hold time never blocks the loop and later keys never
 * overtake a chord that is still held.
 *
 * Left out: lang1/lang2 (Korean Hangul/Hanja keys send single bytes 0xf2 /
 * 0xf1 without a break code, which has no qnum) and "unmapped".
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "display/input.h"

struct input_sink {
    const struct input_sink_ops *ops;
    void *opaque;
    bool active;
    struct input_sink *next; /* by descending priority */
};

static struct input_sink *sinks;
static unsigned leds;
static uint64_t dropped;

struct qcode {
    const char *name;
    uint8_t qnum;
};

/* clang-format off */
static const struct qcode qcodes[] = {
    {"esc", 0x01},          {"1", 0x02},            {"2", 0x03},
    {"3", 0x04},            {"4", 0x05},            {"5", 0x06},
    {"6", 0x07},            {"7", 0x08},            {"8", 0x09},
    {"9", 0x0a},            {"0", 0x0b},            {"minus", 0x0c},
    {"equal", 0x0d},        {"backspace", 0x0e},    {"tab", 0x0f},
    {"q", 0x10},            {"w", 0x11},            {"e", 0x12},
    {"r", 0x13},            {"t", 0x14},            {"y", 0x15},
    {"u", 0x16},            {"i", 0x17},            {"o", 0x18},
    {"p", 0x19},            {"bracket_left", 0x1a}, {"bracket_right", 0x1b},
    {"ret", 0x1c},          {"ctrl", 0x1d},         {"a", 0x1e},
    {"s", 0x1f},            {"d", 0x20},            {"f", 0x21},
    {"g", 0x22},            {"h", 0x23},            {"j", 0x24},
    {"k", 0x25},            {"l", 0x26},            {"semicolon", 0x27},
    {"apostrophe", 0x28},   {"grave_accent", 0x29}, {"shift", 0x2a},
    {"backslash", 0x2b},    {"z", 0x2c},            {"x", 0x2d},
    {"c", 0x2e},            {"v", 0x2f},            {"b", 0x30},
    {"n", 0x31},            {"m", 0x32},            {"comma", 0x33},
    {"dot", 0x34},          {"slash", 0x35},        {"shift_r", 0x36},
    {"kp_multiply", 0x37},  {"asterisk", 0x37},     {"alt", 0x38},
    {"spc", 0x39},          {"caps_lock", 0x3a},    {"f1", 0x3b},
    {"f2", 0x3c},           {"f3", 0x3d},           {"f4", 0x3e},
    {"f5", 0x3f},           {"f6", 0x40},           {"f7", 0x41},
    {"f8", 0x42},           {"f9", 0x43},           {"f10", 0x44},
    {"num_lock", 0x45},     {"scroll_lock", 0x46},  {"kp_7", 0x47},
    {"kp_8", 0x48},         {"kp_9", 0x49},         {"kp_subtract", 0x4a},
    {"kp_4", 0x4b},         {"kp_5", 0x4c},         {"kp_6", 0x4d},
    {"kp_add", 0x4e},       {"kp_1", 0x4f},         {"kp_2", 0x50},
    {"kp_3", 0x51},         {"kp_0", 0x52},         {"kp_decimal", 0x53},
    {"sysrq", 0x54},        {"print", 0x54},        {"f16", 0x55},
    {"less", 0x56},         {"f11", 0x57},          {"f12", 0x58},
    {"kp_equals", 0x59},    {"f20", 0x5a},          {"lf", 0x5b},
    {"f13", 0x5d},          {"f14", 0x5e},          {"f15", 0x5f},
    {"open", 0x64},         {"paste", 0x65},        {"f23", 0x6d},
    {"f24", 0x6f},          {"katakanahiragana", 0x70}, {"ro", 0x73},
    {"f21", 0x74},          {"hiragana", 0x77},     {"henkan", 0x79},
    {"muhenkan", 0x7b},     {"yen", 0x7d},          {"kp_comma", 0x7e},
    /* 0xe0-prefixed */
    {"f17", 0x83},          {"f19", 0x84},          {"again", 0x85},
    {"props", 0x86},        {"undo", 0x87},         {"front", 0x8c},
    {"audioprev", 0x90},    {"audionext", 0x99},    {"kp_enter", 0x9c},
    {"ctrl_r", 0x9d},       {"menu", 0x9e},         {"audiomute", 0xa0},
    {"calculator", 0xa1},   {"audioplay", 0xa2},    {"audiostop", 0xa4},
    {"volumedown", 0xae},   {"volumeup", 0xb0},     {"ac_home", 0xb2},
    {"kp_divide", 0xb5},    {"alt_r", 0xb8},        {"cut", 0xbc},
    {"find", 0xc1},         {"pause", 0xc6},        {"home", 0xc7},
    {"up", 0xc8},           {"pgup", 0xc9},         {"left", 0xcb},
    {"right", 0xcd},        {"end", 0xcf},          {"down", 0xd0},
    {"pgdn", 0xd1},         {"insert", 0xd2},       {"delete", 0xd3},
    {"meta_l", 0xdb},       {"meta_r", 0xdc},       {"compose", 0xdd},
    {"power", 0xde},        {"sleep", 0xdf},        {"wake", 0xe3},
    {"ac_bookmarks", 0xe6}, {"ac_refresh", 0xe7},   {"stop", 0xe8},
    {"ac_forward", 0xe9},   {"ac_back", 0xea},      {"computer", 0xeb},
    {"mail", 0xec},         {"mediaselect", 0xed},  {"help", 0xf5},
    {"f18", 0xf7},          {"copy", 0xf8},         {"f22", 0xf9},
};
/* clang-format on */

int input_qcode_to_number(const char *name)
{
    if (!name)
        return -ENOENT;
    for (size_t i = 0; i < sizeof(qcodes) / sizeof(qcodes[0]); i++)
        if (!strcmp(qcodes[i].name, name))
            return qcodes[i].qnum;
    return -ENOENT;
}

const char *input_number_to_qcode(unsigned qnum)
{
    for (size_t i = 0; i < sizeof(qcodes) / sizeof(qcodes[0]); i++)
        if (qcodes[i].qnum == qnum)
            return qcodes[i].name;
    return NULL;
}

struct input_sink *input_sink_register(const struct input_sink_ops *ops, void *opaque)
{
    if (!ops || !ops->kinds || ((ops->kinds & INPUT_KIND_KEY) && !ops->key) ||
        ((ops->kinds & (INPUT_KIND_REL | INPUT_KIND_ABS)) && !ops->pointer))
        return NULL;
    struct input_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ops = ops;
    s->opaque = opaque;
    s->active = true;
    struct input_sink **pp = &sinks;
    while (*pp && (*pp)->ops->priority > ops->priority)
        pp = &(*pp)->next;
    s->next = *pp;
    *pp = s;
    return s;
}

void input_sink_unregister(struct input_sink *s)
{
    for (struct input_sink **pp = &sinks; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            free(s);
            return;
        }
    }
}

void input_sink_set_active(struct input_sink *s, bool active)
{
    if (s)
        s->active = active;
}

static struct input_sink *find_sink(unsigned kind)
{
    for (struct input_sink *s = sinks; s; s = s->next)
        if (s->active && (s->ops->kinds & kind))
            return s;
    return NULL;
}

int input_key_number(unsigned qnum, bool down)
{
    if (qnum == 0 || qnum == 0x80 || qnum > 0xff)
        return -EINVAL;
    struct input_sink *s = find_sink(INPUT_KIND_KEY);
    if (!s) {
        dropped++;
        return -ENODEV;
    }
    s->ops->key(s->opaque, qnum, down);
    return 0;
}

int input_key_qcode(const char *name, bool down)
{
    int qnum = input_qcode_to_number(name);
    if (qnum < 0)
        return qnum;
    return input_key_number((unsigned)qnum, down);
}

int input_key_scancode(unsigned scancode, bool down)
{
    unsigned code = scancode & 0xff, prefix = scancode >> 8;
    if (code == 0 || code >= 0x80 || (prefix != 0 && prefix != 0xe0))
        return -EINVAL;
    return input_key_number(prefix ? 0x80 | code : code, down);
}

int input_pointer(const struct input_pointer_event *ev)
{
    struct input_sink *s = find_sink(ev->absolute ? INPUT_KIND_ABS : INPUT_KIND_REL);
    if (!s) {
        dropped++;
        return -ENODEV;
    }
    struct input_pointer_event e = *ev;
    if (e.absolute) {
        e.x = e.x < 0 ? 0 : e.x > INPUT_ABS_MAX ? INPUT_ABS_MAX : e.x;
        e.y = e.y < 0 ? 0 : e.y > INPUT_ABS_MAX ? INPUT_ABS_MAX : e.y;
    }
    s->ops->pointer(s->opaque, &e);
    return 0;
}

bool input_pointer_absolute(void)
{
    struct input_sink *s = find_sink(INPUT_KIND_REL | INPUT_KIND_ABS);
    return s && (s->ops->kinds & INPUT_KIND_ABS);
}

void input_leds_set(unsigned l)
{
    leds = l & (INPUT_LED_SCROLL | INPUT_LED_NUM | INPUT_LED_CAPS);
}

unsigned input_leds_get(void)
{
    return leds;
}

uint64_t input_dropped_events(void)
{
    return dropped;
}

/* ---- QMP-style front end ---- */

struct key_step {
    bool delay;
    unsigned qnum; /* key steps */
    bool down;
    unsigned ms; /* delay steps */
};

static GQueue steps = G_QUEUE_INIT;
static guint steps_timer;

static void steps_run(void);

static gboolean steps_resume(gpointer data)
{
    steps_timer = 0;
    steps_run();
    return G_SOURCE_REMOVE;
}

static void steps_run(void)
{
    struct key_step *st;
    while (!steps_timer && (st = g_queue_pop_head(&steps)) != NULL) {
        if (st->delay)
            steps_timer = g_timeout_add(st->ms, steps_resume, NULL);
        else
            input_key_number(st->qnum, st->down);
        g_free(st);
    }
}

static void steps_add(bool delay, unsigned qnum, bool down, unsigned ms)
{
    struct key_step *st = g_new0(struct key_step, 1);
    st->delay = delay;
    st->qnum = qnum;
    st->down = down;
    st->ms = ms;
    g_queue_push_tail(&steps, st);
}

int input_key_from_qcode(const char *name, struct input_key *k)
{
    int q = input_qcode_to_number(name);
    if (q < 0)
        return q;
    k->qnum = (unsigned)q;
    return 0;
}

int input_key_from_number(int number, struct input_key *k)
{
    if (number <= 0 || number == 0x80 || number > 0xff)
        return -EINVAL;
    k->qnum = (unsigned)number;
    return 0;
}

void input_key_event(const struct input_key *k, bool down)
{
    steps_add(false, k->qnum, down, 0);
    steps_run();
}

void input_send_chord(const struct input_key *keys, unsigned n, unsigned hold_ms)
{
    for (unsigned i = 0; i < n; i++)
        steps_add(false, keys[i].qnum, true, 0);
    steps_add(true, 0, false, hold_ms);
    for (unsigned i = n; i-- > 0;)
        steps_add(false, keys[i].qnum, false, 0);
    steps_run();
}

static struct {
    bool rel, abs, changed;
    int32_t dx, dy, wheel;
} pend;
static uint32_t cur_buttons;
static int32_t abs_x, abs_y;

int input_button_event(const char *button, bool down)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } buttons[] = {
        {"left", INPUT_BTN_LEFT},     {"right", INPUT_BTN_RIGHT},
        {"middle", INPUT_BTN_MIDDLE}, {"side", INPUT_BTN_SIDE},
        {"extra", INPUT_BTN_EXTRA},   {"wheel-left", 0},
        {"wheel-right", 0},           {"touch", 0},
    };
    if (!button)
        return -EINVAL;
    if (!strcmp(button, "wheel-up") || !strcmp(button, "wheel-down")) {
        if (down) {
            pend.wheel += button[6] == 'u' ? 1 : -1;
            pend.changed = true;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(buttons) / sizeof(buttons[0]); i++) {
        if (strcmp(buttons[i].name, button))
            continue;
        uint32_t old = cur_buttons;
        if (down)
            cur_buttons |= buttons[i].bit;
        else
            cur_buttons &= ~buttons[i].bit;
        pend.changed |= old != cur_buttons;
        return 0;
    }
    return -EINVAL;
}

int input_axis_event(bool absolute, const char *axis, int64_t value)
{
    bool is_x;
    if (axis && !strcmp(axis, "x"))
        is_x = true;
    else if (axis && !strcmp(axis, "y"))
        is_x = false;
    else
        return -EINVAL;
    if (absolute) {
        int32_t v = value < 0 ? 0 : value > INPUT_ABS_MAX ? INPUT_ABS_MAX : (int32_t)value;
        *(is_x ? &abs_x : &abs_y) = v;
        pend.abs = true;
    } else {
        int32_t *d = is_x ? &pend.dx : &pend.dy;
        int64_t v = (int64_t)*d + value;
        *d = v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
        pend.rel = true;
    }
    return 0;
}

void input_sync(void)
{
    struct input_pointer_event ev = {.buttons = cur_buttons, .wheel = pend.wheel};
    bool any = pend.rel || pend.abs || pend.changed;

    if (!any)
        return;
    if (pend.rel || (!pend.abs && !input_pointer_absolute())) {
        ev.x = pend.dx;
        ev.y = pend.dy;
        input_pointer(&ev);
        ev.wheel = 0;
    }
    if (pend.abs || (!pend.rel && input_pointer_absolute())) {
        ev.absolute = true;
        ev.x = abs_x;
        ev.y = abs_y;
        input_pointer(&ev);
    }
    memset(&pend, 0, sizeof(pend));
}
