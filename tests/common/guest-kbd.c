/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest-side i8042/PS-2 keyboard and mouse driver for tests on xensim; see guest-kbd.h. */
#include "config.h"

#include <string.h>

#include "tests/common/guest-kbd.h"
#include "tests/xensim/xensim.h"

#define KBD_DATA 0x60
#define KBD_CMD  0x64

#define ST_IBF  0x02 /* input buffer full: the controller has not taken the last write */
#define ST_AUXB 0x20 /* the output buffer holds mouse data */

#define KBD_IRQ 1
#define AUX_IRQ 12
/* Upper bound for one reply to a command (a real 8042 answers in well under 1 ms). */
#define REPLY_MS 5000
/* Upper bound for the controller to accept a written byte, in status polls. */
#define IBF_POLLS 10000

static GQuark gkbd_error(void)
{
    return g_quark_from_static_string("guest-kbd-error");
}

static bool wait_ibf_clear(GError **err)
{
    for (int i = 0; i < IBF_POLLS; i++)
        if (!(guest_inb(KBD_CMD) & ST_IBF))
            return true;
    g_set_error(err, gkbd_error(), 1, "i8042: input buffer still full after %d status reads",
                IBF_POLLS);
    return false;
}

static bool write_cmd(uint8_t v, GError **err)
{
    if (!wait_ibf_clear(err))
        return false;
    guest_outb(KBD_CMD, v);
    return true;
}

static bool write_data(uint8_t v, GError **err)
{
    if (!wait_ibf_clear(err))
        return false;
    guest_outb(KBD_DATA, v);
    return true;
}

bool gkbd_read(uint8_t *out, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        uint8_t st = guest_inb(KBD_CMD);
        if (st & GKBD_ST_OBF) {
            if (st & ST_AUXB)
                return false;
            *out = guest_inb(KBD_DATA);
            return true;
        }
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        if (left <= 0)
            return false;
        /* the controller raises IRQ 1 when a byte arrives (if the command
         * byte enables it); poll again at least every 20 ms anyway */
        guest_wait_irq(KBD_IRQ, left < 20 ? (int)left : 20);
    }
}

size_t gkbd_read_n(uint8_t *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n && gkbd_read(&buf[got], timeout_ms))
        got++;
    return got;
}

char *gkbd_hex(const uint8_t *b, size_t n)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%02x", i ? " " : "", b[i]);
    return g_string_free(s, FALSE);
}

/* Expect the reply bytes `want` (n of them) to the command just written. */
static bool expect(const char *what, const uint8_t *want, size_t n, GError **err)
{
    uint8_t got[8];
    g_assert(n <= sizeof(got));
    size_t m = gkbd_read_n(got, n, REPLY_MS);
    if (m == n && memcmp(got, want, n) == 0)
        return true;
    char *g = gkbd_hex(got, m), *w = gkbd_hex(want, n);
    g_set_error(err, gkbd_error(), 2, "i8042 %s: got [%s], want [%s]", what, g, w);
    g_free(g);
    g_free(w);
    return false;
}

bool gkbd_setup(bool translate, unsigned set, GError **err)
{
    /* whatever the power-on state left in the output buffer */
    for (int i = 0; i < 64 && (guest_inb(KBD_CMD) & GKBD_ST_OBF); i++)
        guest_inb(KBD_DATA);

    uint8_t cb =
        GKBD_CB_KBD_INT | GKBD_CB_SYS | GKBD_CB_AUX_OFF | (translate ? GKBD_CB_TRANSLATE : 0);
    if (!write_cmd(0xaa, err) || !expect("self test (0xaa)", (const uint8_t[]){0x55}, 1, err))
        return false;
    if (!write_cmd(0x60, err) || !write_data(cb, err))
        return false;
    if (!write_cmd(0x20, err) || !expect("command byte read back (0x20)", &cb, 1, err))
        return false;
    if (!write_data(0xff, err) ||
        !expect("keyboard reset (0xff)", (const uint8_t[]){0xfa, 0xaa}, 2, err))
        return false;
    if (!write_data(0xf0, err) || !write_data((uint8_t)set, err) ||
        !expect("set scancode set (0xf0)", (const uint8_t[]){0xfa, 0xfa}, 2, err))
        return false;
    /* read the set back: 0xf0 -> 0xfa, 0x00 -> 0xfa and the set (translated
     * when translation is on, as on real hardware: 1 -> 0x43, 2 -> 0x41) */
    static const uint8_t xlat_set[4] = {0, 0x43, 0x41, 0x3f};
    uint8_t want_set[3] = {0xfa, 0xfa, translate ? xlat_set[set & 3] : (uint8_t)set};
    if (!write_data(0xf0, err) || !write_data(0x00, err) ||
        !expect("get scancode set (0xf0 0x00)", want_set, 3, err))
        return false;
    if (!write_data(0xf4, err) || !expect("enable (0xf4)", (const uint8_t[]){0xfa}, 1, err))
        return false;
    return true;
}

/* ------------------------------------------------------------- mouse --- */

bool gkbd_read_any(uint8_t *out, bool *aux, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (bool kbd_line = false;; kbd_line = !kbd_line) {
        uint8_t st = guest_inb(KBD_CMD);
        if (st & GKBD_ST_OBF) {
            *aux = (st & ST_AUXB) != 0;
            *out = guest_inb(KBD_DATA);
            return true;
        }
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        if (left <= 0)
            return false;
        /* either line may announce the byte: wait on each in turn, and
         * poll the status register at least every 10 ms anyway */
        guest_wait_irq(kbd_line ? KBD_IRQ : AUX_IRQ, left < 10 ? (int)left : 10);
    }
}

/* Expect n bytes flagged as mouse (aux) or controller/keyboard data. */
static bool expect_from(const char *what, bool aux, const uint8_t *want, size_t n, GError **err)
{
    uint8_t got[8];
    size_t m = 0;
    bool wrong_src = false;
    g_assert(n <= sizeof(got));
    while (m < n) {
        bool a = false;
        if (!gkbd_read_any(&got[m], &a, REPLY_MS))
            break;
        m++;
        if (a != aux) {
            wrong_src = true;
            break;
        }
    }
    if (m == n && !wrong_src && memcmp(got, want, n) == 0)
        return true;
    char *g = gkbd_hex(got, m), *w = gkbd_hex(want, n);
    g_set_error(err, gkbd_error(), 3, "i8042 %s: got [%s]%s, want [%s] as %s data", what, g,
                wrong_src ? " (the last byte from the other device)" : "", w,
                aux ? "mouse" : "controller");
    g_free(g);
    g_free(w);
    return false;
}

static bool mouse_cmd(uint8_t v, GError **err)
{
    return write_cmd(0xd4, err) && write_data(v, err);
}

bool gmouse_setup(GError **err)
{
    for (int i = 0; i < 512 && (guest_inb(KBD_CMD) & GKBD_ST_OBF); i++)
        guest_inb(KBD_DATA);

    if (!write_cmd(0x20, err))
        return false;
    uint8_t cb = 0;
    bool aux = false;
    if (!gkbd_read_any(&cb, &aux, REPLY_MS) || aux) {
        g_set_error(err, gkbd_error(), 4, "i8042: no command byte in reply to 0x20");
        return false;
    }
    cb = (uint8_t)((cb | GKBD_CB_AUX_INT) & ~GKBD_CB_AUX_OFF);
    if (!write_cmd(0x60, err) || !write_data(cb, err))
        return false;
    if (!write_cmd(0x20, err) || !expect_from("command byte read back (0x20)", false, &cb, 1, err))
        return false;
    if (!write_cmd(0xa8, err))
        return false;
    if (!write_cmd(0xa9, err) ||
        !expect_from("mouse port test (0xa9)", false, (const uint8_t[]){0x00}, 1, err))
        return false;
    if (!mouse_cmd(0xff, err) ||
        !expect_from("mouse reset (0xd4 0xff)", true, (const uint8_t[]){0xfa, 0xaa, 0x00}, 3, err))
        return false;
    if (!mouse_cmd(0xf2, err) ||
        !expect_from("mouse identify (0xd4 0xf2)", true, (const uint8_t[]){0xfa, 0x00}, 2, err))
        return false;
    if (!mouse_cmd(0xf4, err) ||
        !expect_from("mouse enable (0xd4 0xf4)", true, (const uint8_t[]){0xfa}, 1, err))
        return false;
    return true;
}

int gmouse_read_packet(struct gmouse_packet *p, unsigned *kbd_bytes, int timeout_ms)
{
    unsigned n = 0;
    while (n < 3) {
        uint8_t b = 0;
        bool aux = false;
        if (!gkbd_read_any(&b, &aux, timeout_ms))
            return 0;
        if (!aux) {
            if (kbd_bytes)
                (*kbd_bytes)++;
            continue;
        }
        if (n == 0 && !(b & 0x08))
            return -1;
        p->b[n++] = b;
    }
    p->buttons = p->b[0] & 0x07u;
    p->dx = p->b[1] - (p->b[0] & 0x10 ? 256 : 0);
    p->dy = p->b[2] - (p->b[0] & 0x20 ? 256 : 0);
    return 1;
}
