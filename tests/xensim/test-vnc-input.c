/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm's VNC server end to end on xensim, with the real xendm binary:
 *
 *  - keyboard: a libvncclient viewer (in this process, on its own thread)
 *    sends key events to xendm started with -k en-us or -k de; the guest
 *    sets the i8042 up like a BIOS (tests/common/guest-kbd.c) and reads the
 *    scancodes through port I/O, waiting for IRQ 1.  Each case is a short
 *    key script and the exact set-1 bytes the guest must read (translation
 *    on, keyboard in set 2, as every PC BIOS leaves it); a few are read again
 *    with translation off (raw set 2) and with the keyboard in set 1.
 *    QEMU's Extended Key Event (pseudo-encoding -258, message 255/0) carries
 *    a scancode that must arrive whatever -k says.
 *
 *  - a stalled viewer: a hand-written RFB client finishes the handshake,
 *    asks once for the whole 1024x768x32 screen in raw encoding (3 MiB, far
 *    more than the socket buffers hold) and never reads again.  While it
 *    stays connected, the guest draws 50 full-screen frames: a normal
 *    viewer must receive every one of them (content compared pixel for
 *    pixel), 1000 guest port reads must complete, and xendm's VmRSS must
 *    not grow by more than RSS_BOUND_KB.  Then the stalled viewer goes away
 *    and xendm is still healthy (query-status, frames still reach the
 *    viewer).
 *
 * TCP ports: VNC displays 10-19 (5910-5919) on 127.0.0.1.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib.h>
#include <xkbcommon/xkbcommon.h>

#include "tests/common/dm.h"
#include "tests/common/guest-kbd.h"
#include "tests/common/rfb-peer.h"
#include "tests/common/vga-guest.h"
#include "tests/common/vnc-viewer.h"

#define WAIT_MS 10000 /* upper bound for any single wait */
#define KEY_MS  5000  /* upper bound for one scancode byte to reach the guest */

#define DISPLAY_EN_US 10
#define DISPLAY_DE    11
#define DISPLAY_STALL 12

/* The stalled-viewer mode and frame counts. */
#define STALL_W       1024
#define STALL_H       768
#define STALL_FRAME   ((size_t)STALL_W * STALL_H * 4)
#define WARMUP        5  /* frames before the RSS baseline: every buffer allocated */
#define STALL_FRAMES  50 /* full-screen changes while the viewer is stalled */
#define PIO_PER_FRAME 20 /* 50 x 20 = 1000 guest port reads */

/*
 * How much xendm's VmRSS may grow over STALL_FRAMES full-screen frames while
 * a viewer is stalled.  By design (display/vnc.c) nothing is queued per
 * viewer: every writer encodes from the one published framebuffer into
 * libvncserver's fixed-size per-client buffer, and a stalled one just stays
 * blocked in write() with the kernel's socket buffer full; all full-frame
 * buffers (VRAM mapping, the framebuffer core's surface, the published RFB
 * framebuffer) exist before the baseline (WARMUP frames).  A design that
 * queued output per viewer would grow by up to STALL_FRAMES frames here
 * (150 MiB); the bound is 4 frames (12 MiB), room for allocator noise and
 * one in-flight copy, an order of magnitude below that.  ASan's quarantine
 * keeps freed memory resident, so its builds get a looser bound.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KB (512 * 1024)
#else
#define RSS_BOUND_KB ((long)(4 * STALL_FRAME / 1024))
#endif

static const char *xendm_path(void)
{
    const char *p = g_getenv("XENDM");
    if (!p || access(p, X_OK) != 0)
        g_error("XENDM (the xendm binary) is not set or not executable: run through make check");
    return p;
}

/* ------------------------------------------------ libvncclient viewer --- */

/* A viewer connected to 127.0.0.1:port in raw encoding (lossless and
 * cheap on a shared machine); asserts that it got in. */
static struct vv *viewer_new(int port)
{
    struct vv *v = vv_new(port, true, NULL, "raw");
    g_assert_cmpint(vv_wait_connected(v, WAIT_MS), ==, VV_UP);
    return v;
}

static bool has_extkey(struct vv *v, void *arg)
{
    return v->extkey || v->state != VV_UP;
}

struct want {
    const uint32_t *frame; /* x8r8g8b8 */
    unsigned w, h;
};

static bool shows_or_gone(struct vv *v, void *arg)
{
    const struct want *f = arg;
    return v->state != VV_UP || vv_diff_locked(v, f->frame, f->w, f->h) == -1;
}

/* Wait until the viewer shows exactly `frame` (w x h, x8r8g8b8). */
static bool viewer_wait_frame(struct vv *v, const uint32_t *frame, unsigned w, unsigned h)
{
    struct want f = {frame, w, h};
    pthread_mutex_lock(&v->lock);
    bool ok = vv_wait_locked(v, shows_or_gone, &f, WAIT_MS) && v->state == VV_UP;
    unsigned vw = v->w, vh = v->h;
    pthread_mutex_unlock(&v->lock);
    if (!ok)
        g_test_message("viewer (%ux%u) did not show the %ux%u frame", vw, vh, w, h);
    return ok;
}

/* ----------------------------------------------------------- keyboard --- */

/*
 * A key script, space separated: "a" presses and releases the keysym named
 * a (xkbcommon names), "+Shift_L" presses, "-Shift_L" releases;
 * "q@0x15" presses and releases with an Extended Key Event carrying keysym
 * q and keycode 0x15 (QEMU's numbering: XT scancode, 0x80 set for the
 * 0xe0-prefixed keys; 0 means "use the keysym").
 */
struct key_case {
    const char *script;
    const char *want; /* the bytes the guest reads, hex */
};

static uint32_t keysym_of(const char *name)
{
    xkb_keysym_t ks = xkb_keysym_from_name(name, XKB_KEYSYM_NO_FLAGS);
    if (ks == XKB_KEY_NoSymbol)
        g_error("test bug: no keysym named '%s'", name);
    return ks;
}

static void script_key(struct vv *v, bool ext, uint32_t keysym, uint32_t keycode, bool down)
{
    if (ext)
        vv_extkey(v, keysym, keycode, down);
    else
        vv_key(v, keysym, down);
}

static void run_script(struct vv *v, const char *script)
{
    char **tok = g_strsplit(script, " ", -1);
    for (char **t = tok; *t; t++) {
        const char *s = *t;
        if (!*s)
            continue;
        int press = *s == '+' ? 1 : *s == '-' ? 0 : -1;
        if (press >= 0)
            s++;
        const char *at = strchr(s, '@');
        char *name = at ? g_strndup(s, (size_t)(at - s)) : g_strdup(s);
        uint32_t ks = keysym_of(name);
        uint32_t kc = at ? (uint32_t)g_ascii_strtoull(at + 1, NULL, 0) : 0;
        if (press != 0)
            script_key(v, at != NULL, ks, kc, true);
        if (press != 1)
            script_key(v, at != NULL, ks, kc, false);
        g_free(name);
    }
    g_strfreev(tok);
}

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    char **tok = g_strsplit(s, " ", -1);
    for (char **t = tok; *t; t++)
        if (**t) {
            g_assert_cmpuint(n, <, max);
            out[n++] = (uint8_t)g_ascii_strtoull(*t, NULL, 16);
        }
    g_strfreev(tok);
    return n;
}

/* Type each script and compare the guest's bytes; FALSE if any differed. */
static bool run_cases(xsim *x, struct vv *v, const char *layout, const char *mode,
                      const struct key_case *cases, size_t n)
{
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        uint8_t want[16], got[16];
        size_t nw = parse_hex(cases[i].want, want, sizeof(want));
        unsigned irq0 = guest_irq_count(1);
        run_script(v, cases[i].script);
        size_t ng = gkbd_read_n(got, nw, KEY_MS);
        unsigned edges = guest_irq_count(1) - irq0;
        char *g = gkbd_hex(got, ng);
        bool ok = ng == nw && memcmp(got, want, nw) == 0 && edges >= nw;
        g_test_message("-k %s, %s: \"%s\" -> [%s] want [%s], %u IRQ 1 edges: %s", layout, mode,
                       cases[i].script, g, cases[i].want, edges, ok ? "ok" : "WRONG");
        all &= ok;
        g_free(g);
        g_assert_null(xsim_error(x));
    }
    return all;
}

/* Nothing more arrives (checks that no stray byte follows the last case). */
static void assert_quiet(void)
{
    uint8_t b;
    bool extra = gkbd_read(&b, 200);
    if (extra)
        g_test_message("stray byte %02x", b);
    g_assert_false(extra);
}

/* Both layouts: set-1 bytes with translation on, as a BIOS leaves it. */
static const struct key_case en_us_cases[] = {
    {"a", "1e 9e"},
    {"+Shift_L A -Shift_L", "2a 1e 9e aa"},
    {"A", "2a 1e 9e aa"},  /* no Shift held (Caps Lock on the viewer): Shift added */
    {"at", "2a 03 83 aa"}, /* '@' is Shift+2 on a US keyboard */
    {"y z", "15 95 2c ac"},
    {"Left", "e0 4b e0 cb"},
    {"Home", "e0 47 e0 c7"},
    {"KP_Enter", "e0 1c e0 9c"},
    {"KP_Divide", "e0 35 e0 b5"},
    {"Control_R", "e0 1d e0 9d"},
    {"KP_1", "4f cf"},
    {"Greek_alpha b", "30 b0"}, /* a keysym US cannot type is dropped */
};

static const struct key_case de_cases[] = {
    {"z", "15 95"}, /* z and y swap places on a German keyboard */
    {"y", "2c ac"},
    {"at", "e0 38 10 90 e0 b8"},       /* AltGr+Q */
    {"EuroSign", "e0 38 12 92 e0 b8"}, /* AltGr+E */
    {"odiaeresis", "27 a7"},
    {"numbersign", "2b ab"},
    {"less", "56 d6"}, /* the 102nd key */
    /* a US viewer's Shift+2: Shift lifted around AltGr+Q, then pressed again */
    {"+Shift_L at -Shift_L", "2a aa e0 38 10 90 e0 b8 2a aa"},
    {"Left", "e0 4b e0 cb"},
    {"KP_Divide", "e0 35 e0 b5"},
    {"Control_R", "e0 1d e0 9d"},
};

/* Extended Key Events: the keycode decides, whatever -k and the keysym say
 * (keysym q is 0x10 on both layouts). */
static const struct key_case ext_cases[] = {
    {"q@0x15", "15 95"},
    {"q@0x2c", "2c ac"},
    {"q@0xcb", "e0 4b e0 cb"},
    {"q@0x9d", "e0 1d e0 9d"},
    {"+Shift_L@0x2a q@0x10 -Shift_L@0x2a", "2a 10 90 aa"},
};

/* keycode 0: the keysym through the layout */
static const struct key_case ext0_en_us[] = {{"z@0", "2c ac"}};
static const struct key_case ext0_de[] = {{"z@0", "15 95"}};

/* The same keyboard read untranslated: raw set 2, then set 1. */
static const struct key_case de_set2_cases[] = {
    {"Left", "e0 6b e0 f0 6b"},
    {"z", "35 f0 35"},
    {"at", "e0 11 15 f0 15 e0 f0 11"},
    {"q@0x15", "35 f0 35"},
};
static const struct key_case de_set1_cases[] = {
    {"Left", "e0 4b e0 cb"},
    {"z", "15 95"},
};

static void start_xendm(struct dm_run *run, int display, const char *layout, bool vga)
{
    char *vnc = g_strdup_printf("127.0.0.1:%d", display);
    const char *args[] = {"-vnc", vnc, "-k", layout, "-serial", "null", NULL, NULL, NULL};
    if (vga) {
        args[6] = "-device";
        args[7] = "VGA,vgamem_mb=16";
    }
    /* a guest access the DM does not answer fails after 5 s, not 20 */
    struct xsim_config cfg = {.ram_mb = 128, .access_timeout_ms = 5000};
    GError *err = NULL;
    if (!dm_start(run, xendm_path(), &cfg, args, &err))
        g_error("%s", err->message);
    g_free(vnc);
}

static void kbd_setup(bool translate, unsigned set)
{
    GError *err = NULL;
    if (!gkbd_setup(translate, set, &err))
        g_error("%s", err->message);
}

static void test_keys(gconstpointer data)
{
    bool de = data != NULL;
    const char *layout = de ? "de" : "en-us";
    int display = de ? DISPLAY_DE : DISPLAY_EN_US;
    struct dm_run run;
    start_xendm(&run, display, layout, false);
    kbd_setup(true, 2);
    struct vv *v = viewer_new(5900 + display);
    bool ok = de ? run_cases(run.x, v, layout, "keysym", de_cases, G_N_ELEMENTS(de_cases))
                 : run_cases(run.x, v, layout, "keysym", en_us_cases, G_N_ELEMENTS(en_us_cases));
    assert_quiet();

    /* the server acknowledges -258, then the viewer may send 255/0 */
    pthread_mutex_lock(&v->lock);
    bool ext = vv_wait_locked(v, has_extkey, NULL, WAIT_MS) && v->extkey;
    pthread_mutex_unlock(&v->lock);
    g_assert_true(ext);
    ok &= run_cases(run.x, v, layout, "extended", ext_cases, G_N_ELEMENTS(ext_cases));
    ok &= de ? run_cases(run.x, v, layout, "extended", ext0_de, 1)
             : run_cases(run.x, v, layout, "extended", ext0_en_us, 1);
    assert_quiet();

    if (de) {
        kbd_setup(false, 2);
        ok &= run_cases(run.x, v, layout, "set 2 untranslated", de_set2_cases,
                        G_N_ELEMENTS(de_set2_cases));
        kbd_setup(false, 1);
        ok &= run_cases(run.x, v, layout, "set 1 untranslated", de_set1_cases,
                        G_N_ELEMENTS(de_set1_cases));
        assert_quiet();
    }
    g_assert_cmpuint(vv_status(v).failures, ==, 0);
    g_assert_true(ok); /* the log says which case */
    vv_free(v);
    g_assert_null(xsim_error(run.x));
    dm_stop(&run);
}

/* ----------------------------------------------------- stalled viewer --- */

/*
 * RFB 3.8 by hand: security None, ClientInit (shared), ServerInit (*w x
 * *h), SetEncodings [raw], one non-incremental FramebufferUpdateRequest
 * for the whole screen.  Returns the socket (its receive buffer as small
 * as the kernel allows), or -1 with *why set.
 */
static int stall_connect(int port, unsigned *w, unsigned *h, const char **why)
{
    struct rfbp_server_init si;
    int fd = rfbp_connect(port, 4096);
    *why = "connect";
    if (fd < 0)
        return -1;
    if (rfbp_handshake(fd, &si, WAIT_MS, why)) {
        *w = si.w;
        *h = si.h;
        *why = "SetEncodings/FramebufferUpdateRequest";
        if (rfbp_set_encodings_raw(fd) && rfbp_update_request(fd, false, 0, 0, si.w, si.h))
            return fd;
    }
    close(fd);
    return -1;
}

static int unread_bytes(int fd)
{
    int n = -1;
    ioctl(fd, FIONREAD, &n);
    return n;
}

static long rss_kb(pid_t pid, const char *field)
{
    char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    g_free(path);
    char line[256];
    long kb = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, field, fl) && line[fl] == ':' && sscanf(line + fl + 1, "%ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Number of connected VNC clients, from QMP query-vnc. */
static unsigned vnc_clients(struct dm_run *run)
{
    GError *err = NULL;
    JsonNode *q = qmp_execute(run->qmp, "query-vnc", NULL, WAIT_MS, &err);
    g_assert_no_error(err);
    JsonObject *o = json_node_get_object(q);
    unsigned n = 0;
    if (json_object_has_member(o, "clients"))
        n = json_array_get_length(json_object_get_array_member(o, "clients"));
    json_node_unref(q);
    return n;
}

static bool wait_clients(struct dm_run *run, unsigned n)
{
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (vnc_clients(run) != n) {
        if (g_get_monotonic_time() > end)
            return false;
        g_usleep(10000); /* poll QMP; xendm has no event for this */
    }
    return true;
}

/* Frame k: every pixel differs from frames k-1 and k+1. */
static void draw_frame(uint32_t *fb, uint32_t *copy, unsigned k)
{
    for (unsigned y = 0; y < STALL_H; y++)
        for (unsigned x = 0; x < STALL_W; x++) {
            uint32_t r = (x + k * 37) & 0xff, g = (y + k * 91) & 0xff,
                     b = (x ^ y ^ (k * 53)) & 0xff;
            uint32_t px = r << 16 | g << 8 | b;
            fb[y * STALL_W + x] = px;
            copy[y * STALL_W + x] = px;
        }
}

/* Guest port reads that must complete: the i8042 status (SYS set by setup). */
static void guest_pio_burst(struct dm_run *run, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t st = guest_inb(0x64);
        if (xsim_error(run->x))
            g_error("guest port read %u failed: %s; %s", i, xsim_error(run->x),
                    xsim_dm_diag(run->x));
        g_assert_cmphex(st & GKBD_ST_SYS, ==, GKBD_ST_SYS);
    }
}

static void test_stalled_viewer(void)
{
    struct dm_run run;
    start_xendm(&run, DISPLAY_STALL, "en-us", true);
    kbd_setup(true, 2);

    /* the guest: PCI set up by firmware, VBE 1024x768x32 on the LFB */
    struct vga_guest g;
    GError *err = NULL;
    if (!vga_guest_boot(&g, run.x, FALSE, &err))
        g_error("%s", err->message);
    g_assert_true(vga_guest_vbe_set_mode(STALL_W, STALL_H, 32));
    vga_guest_unblank();
    uint32_t *fb = vga_guest_lfb_ptr(&g, STALL_FRAME);
    g_assert_nonnull(fb);
    uint32_t *frame = g_malloc(STALL_FRAME);

    struct vv *v = viewer_new(5900 + DISPLAY_STALL);
    unsigned k = 0;
    draw_frame(fb, frame, k);
    g_assert_true(viewer_wait_frame(v, frame, STALL_W, STALL_H));

    /* the stalled viewer */
    unsigned sw = 0, sh = 0;
    const char *why = NULL;
    int sfd = stall_connect(5900 + DISPLAY_STALL, &sw, &sh, &why);
    if (sfd < 0)
        g_error("stalled viewer: handshake failed at %s: %s", why, strerror(errno));
    g_assert_cmpuint(sw, ==, STALL_W);
    g_assert_cmpuint(sh, ==, STALL_H);
    gint64 stall_start = g_get_monotonic_time();
    gint64 end = stall_start + (gint64)WAIT_MS * 1000;
    while (unread_bytes(sfd) <= 0 && g_get_monotonic_time() < end)
        g_usleep(1000); /* the first bytes of its update */
    g_assert_cmpint(unread_bytes(sfd), >, 0);
    g_assert_true(wait_clients(&run, 2));

    for (unsigned i = 0; i < WARMUP; i++) {
        draw_frame(fb, frame, ++k);
        g_assert_true(viewer_wait_frame(v, frame, STALL_W, STALL_H));
    }
    pid_t pid = xsim_dm_pid(run.x);
    long rss0 = rss_kb(pid, "VmRSS"), anon0 = rss_kb(pid, "RssAnon");
    int q0 = unread_bytes(sfd);
    unsigned seen = 0;
    for (unsigned i = 0; i < STALL_FRAMES; i++) {
        draw_frame(fb, frame, ++k);
        guest_pio_burst(&run, PIO_PER_FRAME);
        if (!viewer_wait_frame(v, frame, STALL_W, STALL_H))
            g_error("frame %u of %u never reached the other viewer; %s", i + 1, STALL_FRAMES,
                    xsim_dm_diag(run.x));
        seen++;
    }
    long rss1 = rss_kb(pid, "VmRSS"), anon1 = rss_kb(pid, "RssAnon");
    int q1 = unread_bytes(sfd);
    unsigned clients = vnc_clients(&run);
    double secs = (double)(g_get_monotonic_time() - stall_start) / 1e6;
    g_test_message("stalled viewer: %u of %u frames (%ux%ux32, %zu bytes each) reached the other "
                   "viewer, %u guest port reads completed, %.1f s since the stall",
                   seen, STALL_FRAMES, STALL_W, STALL_H, STALL_FRAME, STALL_FRAMES * PIO_PER_FRAME,
                   secs);
    g_test_message("xendm VmRSS %ld -> %ld kB (%+ld kB; RssAnon %ld -> %ld kB, %+ld kB); "
                   "bound %ld kB",
                   rss0, rss1, rss1 - rss0, anon0, anon1, anon1 - anon0, (long)RSS_BOUND_KB);
    g_test_message("stalled viewer's unread bytes: %d -> %d (frame %zu); clients %u", q0, q1,
                   STALL_FRAME, clients);
    /* it really is stalled: it holds part of one update and gets nothing more */
    g_assert_cmpint(q1, ==, q0);
    g_assert_cmpint(q0, <, (int)STALL_FRAME);
    /* and still connected (libvncserver gives a writer 20 s without progress) */
    g_assert_cmpuint(clients, ==, 2);
    g_assert_cmpint(rss0, >, 0);
    g_assert_cmpint(rss1 - rss0, <, RSS_BOUND_KB);

    /* it leaves: xendm drops it and carries on */
    close(sfd);
    g_assert_true(wait_clients(&run, 1));
    JsonNode *st = qmp_execute(run.qmp, "query-status", NULL, WAIT_MS, &err);
    g_assert_no_error(err);
    g_assert_true(json_object_get_boolean_member(json_node_get_object(st), "running"));
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(st), "status"), ==,
                    "running");
    json_node_unref(st);
    for (unsigned i = 0; i < 3; i++) {
        draw_frame(fb, frame, ++k);
        guest_pio_burst(&run, PIO_PER_FRAME);
        g_assert_true(viewer_wait_frame(v, frame, STALL_W, STALL_H));
    }
    vv_free(v);
    g_free(frame);
    g_assert_null(xsim_error(run.x));
    dm_stop(&run);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vv_quiet();
    g_test_add_data_func("/vnc-input/keys-en-us", NULL, test_keys);
    g_test_add_data_func("/vnc-input/keys-de", GINT_TO_POINTER(1), test_keys);
    g_test_add_func("/vnc-input/stalled-viewer", test_stalled_viewer);
    return g_test_run();
}
