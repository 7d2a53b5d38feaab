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
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <rfb/rfbclient.h>
#include <xkbcommon/xkbcommon.h>

#include "tests/common/dm.h"
#include "tests/common/guest-kbd.h"

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

enum vcmd_type { VCMD_KEY, VCMD_EXTKEY };

struct vcmd {
    enum vcmd_type type;
    uint32_t keysym, keycode;
    bool down;
};

struct viewer {
    int port;
    GThread *th;
    gint stop;
    /* pthread primitives: the viewer thread signals the test thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock: */
    GQueue cmds;
    int state;         /* 0 connecting, 1 connected, -1 refused, 2 closed */
    bool extkey;       /* the server acknowledged pseudo-encoding -258 */
    unsigned failures; /* commands libvncclient refused to send */
    int w, h;
    const uint32_t *want; /* x8r8g8b8 frame the test waits for, or NULL */
    unsigned want_w, want_h;
    bool want_new, matched;
};

static int viewer_tag;

/* Does the viewer's framebuffer show `want` (x8r8g8b8)?  Viewer thread. */
static bool viewer_compare(rfbClient *rc, const uint32_t *want, unsigned w, unsigned h)
{
    if (rc->width != (int)w || rc->height != (int)h || rc->format.bitsPerPixel != 32)
        return false;
    const rfbPixelFormat *f = &rc->format;
    const uint32_t *got = (const uint32_t *)rc->frameBuffer;
    uint32_t mask = (uint32_t)f->redMax << f->redShift | (uint32_t)f->greenMax << f->greenShift |
                    (uint32_t)f->blueMax << f->blueShift;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint32_t px = want[i];
        uint32_t r = (px >> 16 & 0xff) * f->redMax / 255, g = (px >> 8 & 0xff) * f->greenMax / 255,
                 b = (px & 0xff) * f->blueMax / 255;
        uint32_t c = r << f->redShift | g << f->greenShift | b << f->blueShift;
        if ((got[i] & mask) != c)
            return false;
    }
    return true;
}

static void viewer_send(struct viewer *v, rfbClient *rc, const struct vcmd *c)
{
    rfbBool ok;
    if (c->type == VCMD_KEY) {
        ok = SendKeyEvent(rc, c->keysym, c->down);
    } else if (c->keycode) {
        ok = SendExtendedKeyEvent(rc, c->keysym, c->keycode, c->down);
    } else {
        /* libvncclient refuses keycode 0 ("use the keysym", QEMU's rule):
         * the message by hand, QEMU client message 255 subtype 0 */
        uint8_t m[12] = {255, 0, 0, c->down ? 1 : 0}; /* keysym, keycode 0 follow */
        for (int i = 0; i < 4; i++)
            m[4 + i] = (uint8_t)(c->keysym >> (24 - 8 * i));
        ok = SupportsClient2Server(rc, rfbQemuEvent) && WriteToRFBServer(rc, (char *)m, sizeof(m));
    }
    if (!ok) {
        pthread_mutex_lock(&v->lock);
        v->failures++;
        pthread_mutex_unlock(&v->lock);
    }
}

static gpointer viewer_main(gpointer p)
{
    struct viewer *v = p;
    rfbClient *rc = rfbGetClient(8, 3, 4);
    free(rc->serverHost);
    rc->serverHost = strdup("127.0.0.1");
    rc->serverPort = v->port;
    rc->appData.shareDesktop = TRUE;
    rc->appData.encodingsString = "raw"; /* lossless and cheap on a shared machine */
    rc->appData.enableJPEG = FALSE;
    rfbClientSetClientData(rc, &viewer_tag, v);
    if (!rfbInitClient(rc, NULL, NULL)) { /* it freed rc */
        pthread_mutex_lock(&v->lock);
        v->state = -1;
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->lock);
        return NULL;
    }
    pthread_mutex_lock(&v->lock);
    v->state = 1;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    while (!g_atomic_int_get(&v->stop)) {
        for (;;) {
            pthread_mutex_lock(&v->lock);
            struct vcmd *c = g_queue_pop_head(&v->cmds);
            pthread_mutex_unlock(&v->lock);
            if (!c)
                break;
            viewer_send(v, rc, c);
            g_free(c);
        }
        int n = WaitForMessage(rc, 10000); /* 10 ms: then look at the command queue */
        if (n < 0)
            break;
        bool got = false;
        if (n > 0) {
            if (!HandleRFBServerMessage(rc))
                break;
            got = true;
        }
        pthread_mutex_lock(&v->lock);
        v->w = rc->width;
        v->h = rc->height;
        v->extkey = SupportsClient2Server(rc, rfbQemuEvent);
        if (v->want && !v->matched && (got || v->want_new)) {
            v->want_new = false;
            if (viewer_compare(rc, v->want, v->want_w, v->want_h)) {
                v->matched = true;
                pthread_cond_broadcast(&v->cond);
            }
        }
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_lock(&v->lock);
    v->state = 2;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    free(rc->frameBuffer); /* the application's, says libvncclient */
    rfbClientCleanup(rc);
    return NULL;
}

/* Wait (bounded) until pred(v) holds; call with v->lock held. */
static bool viewer_wait_locked(struct viewer *v, bool (*pred)(struct viewer *), int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (!pred(v)) {
        gint64 left = end - g_get_monotonic_time();
        if (left <= 0)
            return false;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        gint64 ns = (gint64)ts.tv_nsec + (left < 100000 ? left : 100000) * 1000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    }
    return true;
}

static bool not_connecting(struct viewer *v)
{
    return v->state != 0;
}

static bool has_extkey(struct viewer *v)
{
    return v->extkey || v->state != 1;
}

static bool matched_or_gone(struct viewer *v)
{
    return v->matched || v->state != 1;
}

/* A viewer connected to 127.0.0.1:port (asserts that it got in). */
static struct viewer *viewer_new(int port)
{
    struct viewer *v = g_new0(struct viewer, 1);
    v->port = port;
    g_queue_init(&v->cmds);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->th = g_thread_new("test-viewer", viewer_main, v);
    pthread_mutex_lock(&v->lock);
    bool ok = viewer_wait_locked(v, not_connecting, WAIT_MS);
    int state = v->state;
    pthread_mutex_unlock(&v->lock);
    g_assert_true(ok);
    g_assert_cmpint(state, ==, 1);
    return v;
}

static void viewer_free(struct viewer *v)
{
    g_atomic_int_set(&v->stop, 1);
    g_thread_join(v->th);
    g_queue_clear_full(&v->cmds, g_free);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    g_free(v);
}

static void viewer_cmd(struct viewer *v, enum vcmd_type type, uint32_t keysym, uint32_t keycode,
                       bool down)
{
    struct vcmd *c = g_new0(struct vcmd, 1);
    *c = (struct vcmd){.type = type, .keysym = keysym, .keycode = keycode, .down = down};
    pthread_mutex_lock(&v->lock);
    g_queue_push_tail(&v->cmds, c);
    pthread_mutex_unlock(&v->lock);
}

static unsigned viewer_failures(struct viewer *v)
{
    pthread_mutex_lock(&v->lock);
    unsigned f = v->failures;
    pthread_mutex_unlock(&v->lock);
    return f;
}

/* Wait until the viewer shows exactly `frame` (w x h, x8r8g8b8). */
static bool viewer_wait_frame(struct viewer *v, const uint32_t *frame, unsigned w, unsigned h)
{
    pthread_mutex_lock(&v->lock);
    v->want = frame;
    v->want_w = w;
    v->want_h = h;
    v->want_new = true;
    v->matched = false;
    bool ok = viewer_wait_locked(v, matched_or_gone, WAIT_MS) && v->matched;
    v->want = NULL;
    int vw = v->w, vh = v->h;
    pthread_mutex_unlock(&v->lock);
    if (!ok)
        g_test_message("viewer (%dx%d) did not show the %ux%u frame", vw, vh, w, h);
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

static void run_script(struct viewer *v, const char *script)
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
        enum vcmd_type type = at ? VCMD_EXTKEY : VCMD_KEY;
        uint32_t kc = at ? (uint32_t)g_ascii_strtoull(at + 1, NULL, 0) : 0;
        if (press != 0)
            viewer_cmd(v, type, ks, kc, true);
        if (press != 1)
            viewer_cmd(v, type, ks, kc, false);
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
static bool run_cases(xsim *x, struct viewer *v, const char *layout, const char *mode,
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
    struct viewer *v = viewer_new(5900 + display);
    bool ok = de ? run_cases(run.x, v, layout, "keysym", de_cases, G_N_ELEMENTS(de_cases))
                 : run_cases(run.x, v, layout, "keysym", en_us_cases, G_N_ELEMENTS(en_us_cases));
    assert_quiet();

    /* the server acknowledges -258, then the viewer may send 255/0 */
    pthread_mutex_lock(&v->lock);
    bool ext = viewer_wait_locked(v, has_extkey, WAIT_MS) && v->extkey;
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
    g_assert_cmpuint(viewer_failures(v), ==, 0);
    g_assert_true(ok); /* the log says which case */
    viewer_free(v);
    g_assert_null(xsim_error(run.x));
    dm_stop(&run);
}

/* ----------------------------------------------------- stalled viewer --- */

static bool read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * RFB 3.8 by hand (RFC 6143): version, security None, ClientInit (shared),
 * ServerInit (*w x *h), SetEncodings [raw], one non-incremental
 * FramebufferUpdateRequest for the whole screen.  Returns the socket (its
 * receive buffer as small as the kernel allows), or -1 with *why set.
 */
static int stall_connect(int port, unsigned *w, unsigned *h, const char **why)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = "socket";
        return -1;
    }
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t buf[256];
    *why = "connect";
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    *why = "ProtocolVersion";
    if (!read_all(fd, buf, 12) || memcmp(buf, "RFB 003.008\n", 12) != 0 ||
        write(fd, "RFB 003.008\n", 12) != 12)
        goto fail;
    *why = "security types";
    if (!read_all(fd, buf, 1) || buf[0] == 0 || !read_all(fd, buf + 1, buf[0]) ||
        !memchr(buf + 1, 1, buf[0]) || write(fd, "\x01", 1) != 1)
        goto fail;
    *why = "SecurityResult";
    if (!read_all(fd, buf, 4) || be32(buf) != 0)
        goto fail;
    *why = "ServerInit";
    if (write(fd, "\x01", 1) != 1 || !read_all(fd, buf, 24))
        goto fail;
    *w = (unsigned)buf[0] << 8 | buf[1];
    *h = (unsigned)buf[2] << 8 | buf[3];
    uint32_t nl = be32(buf + 20);
    if (nl > sizeof(buf) || !read_all(fd, buf, nl))
        goto fail;
    const uint8_t enc[8] = {2, 0, 0, 1, 0, 0, 0, 0}; /* SetEncodings: raw */
    const uint8_t req[10] = {
        3, 0, 0, 0, 0, 0, (uint8_t)(*w >> 8), (uint8_t)*w, (uint8_t)(*h >> 8), (uint8_t)*h};
    *why = "SetEncodings/FramebufferUpdateRequest";
    if (write(fd, enc, sizeof(enc)) != sizeof(enc) || write(fd, req, sizeof(req)) != sizeof(req))
        goto fail;
    return fd;
fail:
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

static void vbe_write(uint16_t index, uint16_t value)
{
    guest_outw(0x1ce, index);
    guest_outw(0x1cf, value);
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
    g_assert_cmpint(xsim_fw_pci_setup(run.x), >, 0);
    unsigned nfn;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(run.x, &nfn);
    uint64_t lfb = 0;
    for (unsigned i = 0; i < nfn; i++)
        if (fn[i].vendor == 0x1234 && fn[i].device == 0x1111)
            lfb = fn[i].bar[0].addr;
    g_assert_cmphex(lfb, !=, 0);
    vbe_write(4, 0);
    vbe_write(1, STALL_W);
    vbe_write(2, STALL_H);
    vbe_write(3, 32);
    vbe_write(4, 0x41);      /* enable | LFB */
    guest_inb(0x3da);        /* attribute flip-flop to index */
    guest_outb(0x3c0, 0x20); /* palette address source: unblank */
    uint32_t *fb = guest_ram_ptr(lfb, STALL_FRAME);
    g_assert_nonnull(fb);
    uint32_t *frame = g_malloc(STALL_FRAME);

    struct viewer *v = viewer_new(5900 + DISPLAY_STALL);
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
    GError *err = NULL;
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
    viewer_free(v);
    g_free(frame);
    g_assert_null(xsim_error(run.x));
    dm_stop(&run);
}

static void quiet_log(const char *fmt, ...) {}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    rfbClientLog = quiet_log;
    rfbClientErr = quiet_log;
    g_test_add_data_func("/vnc-input/keys-en-us", NULL, test_keys);
    g_test_add_data_func("/vnc-input/keys-de", GINT_TO_POINTER(1), test_keys);
    g_test_add_func("/vnc-input/stalled-viewer", test_stalled_viewer);
    return g_test_run();
}
