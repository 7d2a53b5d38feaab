/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE keyboard byte stream (display/spice-input.c spice_kbd_decode):
 * what real clients send (plain and 0xe0 keys, Pause's e1 sequences,
 * PrintScreen wrapped in fake shifts) becomes the broker's qnums, and bytes
 * a hostile client may send (error codes, broken prefixes, random streams)
 * are refused without upsetting the keys that follow.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "display/input.h"
#include "display/spice.h"

/* Feed hex bytes; the keys that came out, as "1e+ 1e- cb+" (+ down, -
 * up), with "!" for each refused byte. */
static char *decode(const char *hex)
{
    struct spice_kbd_decoder d;
    memset(&d, 0, sizeof(d));
    GString *out = g_string_new(NULL);
    char **bytes = g_strsplit(hex, " ", -1);
    for (char **b = bytes; *b; b++) {
        unsigned qnum = 0;
        bool down = false;
        int rc = spice_kbd_decode(&d, (uint8_t)strtoul(*b, NULL, 16), &qnum, &down);
        if (rc > 0)
            g_string_append_printf(out, "%s%02x%c", out->len ? " " : "", qnum, down ? '+' : '-');
        else if (rc < 0)
            g_string_append_printf(out, "%s!", out->len ? " " : "");
        else
            g_assert_cmpint(rc, ==, 0);
    }
    g_strfreev(bytes);
    return g_string_free(out, FALSE);
}

static void check(const char *hex, const char *want)
{
    char *got = decode(hex);
    g_test_message("%s -> %s", hex, got);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
}

static void test_keys(void)
{
    check("1e 9e", "1e+ 1e-");
    check("2a 30 b0 aa", "2a+ 30+ 30- 2a-");
    check("e0 4b e0 cb", "cb+ cb-");             /* Left */
    check("e0 1d e0 9d", "9d+ 9d-");             /* right Ctrl */
    check("e0 35 e0 b5", "b5+ b5-");             /* keypad / */
    check("e1 1d 45 e1 9d c5", "c6+ c6-");       /* Pause */
    check("e0 2a e0 37 e0 b7 e0 aa", "b7+ b7-"); /* PrintScreen with its fake shifts */
    check("e0 36 e0 4d e0 cd e0 b6", "cd+ cd-"); /* right arrow with a fake right shift */
    check("7e fe", "7e+ 7e-");                   /* keypad comma (Brazil): release is 0xfe */
}

static void test_malformed(void)
{
    check("00", "!");
    check("80", "!");
    check("e0 00", "!");
    check("e0 e0 1e", "! 1e+"); /* a second prefix is refused, the next key is fine */
    check("e0 e1 1e", "! 1e+");
    check("e1 45 1e", "! 1e+");    /* Pause without its 1d */
    check("e1 1d 1e 1e", "! 1e+"); /* Pause broken off: the byte is eaten */
    check("e1 9d 45 30", "! 30+"); /* release prefix with the press code */
    check("e1", "");               /* incomplete: nothing yet */
}

/* Random streams: every key that comes out is a well-formed qnum. */
static void test_random(void)
{
    struct spice_kbd_decoder d;
    memset(&d, 0, sizeof(d));
    GRand *r = g_rand_new_with_seed(42);
    unsigned keys = 0, refused = 0;
    for (unsigned i = 0; i < 200000; i++) {
        unsigned qnum = 0xffff;
        bool down;
        int rc = spice_kbd_decode(&d, (uint8_t)g_rand_int(r), &qnum, &down);
        g_assert_cmpint(rc, >=, -1);
        g_assert_cmpint(rc, <=, 1);
        if (rc == 1) {
            g_assert_cmpuint(qnum, <, 0x100);
            g_assert_cmpuint(qnum & 0x7f, !=, 0);
            keys++;
        } else if (rc < 0) {
            refused++;
        }
    }
    g_rand_free(r);
    g_test_message("200000 random bytes: %u keys, %u refused", keys, refused);
    g_assert_cmpuint(keys, >, 0);
    g_assert_cmpuint(refused, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spice-kbd/keys", test_keys);
    g_test_add_func("/spice-kbd/malformed", test_malformed);
    g_test_add_func("/spice-kbd/random", test_random);
    return g_test_run();
}
