/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest-side i8042/PS-2 keyboard driver for tests on xensim; see guest-kbd.h. */
#include "config.h"

#include <string.h>

#include "tests/common/guest-kbd.h"
#include "tests/xensim/xensim.h"

#define KBD_DATA 0x60
#define KBD_CMD  0x64

#define ST_IBF  0x02 /* input buffer full: the controller has not taken the last write */
#define ST_AUXB 0x20 /* the output buffer holds mouse data */

#define KBD_IRQ 1
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
