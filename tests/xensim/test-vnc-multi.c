/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm's VNC server with many viewers and with hostile peers, the real
 * xendm on xensim, the guest driving the std VGA as bochs-drm would (Bochs
 * VBE through 0x1CE/0x1CF, pixels stored into the BAR 0 framebuffer).
 *
 * /vnc-multi/eight-viewers: eight long-lived libvncclient viewers (package
 * libvncserver-dev; shared connections, each asking for another encoding:
 * raw, hextile, zrle, zlib, tight without JPEG, ultra, corre, rre) stay
 * connected to one xendm while the guest
 *   1. shows the test picture of vga-guest.h at 1024x768x32;
 *   2. redraws part of it (colour bars and text block);
 *   3. switches to 800x600x32 and draws a new picture;
 *   4. switches to 1280x1024x16 (RGB565) and draws another.
 * After each step every viewer must hold exactly the guest's picture
 * (widened from RGB565 by bit replication, as qemu-xen shows it, see
 * test-vnc), at the new size after a mode switch (the DesktopSize
 * pseudo-encoding), within FRAME_TIMEOUT_MS.  All eight stay connected
 * throughout and query-vnc lists eight clients.
 *
 * /vnc-multi/hostile-peers: one well-behaved viewer stays connected while
 * raw TCP peers misbehave, one at a time: bad protocol versions, a
 * security type that was not offered, oversized ClientCutText lengths, an
 * invalid pixel format, unknown and malformed messages, a SetEncodings
 * that announces 65535 encodings and stops, and abrupt disconnects (FIN and
 * RST) at every step of the handshake, bytes sent before the server's
 * greeting (another viewer is still greeted).  Protocol violations must make the
 * server close that connection; a SetEncodings of 65535 unknown encodings
 * (legal, if odd) must still get a correct Raw frame.  After each peer the
 * guest changes the screen and the good viewer must receive exactly the
 * new picture, QMP query-status must answer "running", query-vnc must be
 * back to one client, and xendm must still run.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "tests/common/dm.h"
#include "tests/common/rfb-peer.h"
#include "tests/common/vga-guest.h"
#include "tests/common/vnc-viewer.h"

#define MULTI_DISPLAY 65 /* port 5965 */
#define ABUSE_DISPLAY 66 /* port 5966 */
#define NR_VIEWERS    8
/* Bounds on waiting for events (a frame reaches loopback viewers in tens
 * of milliseconds; these only decide when to give up). */
#define FRAME_TIMEOUT_MS 15000
#define SOCK_TIMEOUT_MS  5000
#define QMP_TIMEOUT_MS   10000

/* ----------------------------------------------------------- viewers --- */

/* What the guest shows: w x h, 0xRRGGBB per pixel. */
struct frame {
    unsigned w, h;
    uint32_t *rgb;
};

static struct frame frame_picture(unsigned w, unsigned h, unsigned bpp, unsigned seed)
{
    struct frame f = {w, h, g_new(uint32_t, (size_t)w * h)};
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            uint32_t p = vga_guest_picture(x, y, w, h, seed);
            if (bpp == 16) {
                uint16_t c = vga_guest_rgb565(p);
                uint32_t r = c >> 11, g = (c >> 5) & 0x3f, b = c & 0x1f;
                p = (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
            }
            f.rgb[(size_t)y * w + x] = p;
        }
    return f;
}

/* The guest: switch mode if asked and store the picture into VRAM. */
static void guest_draw(const struct vga_guest *g, unsigned w, unsigned h, unsigned bpp,
                       unsigned seed, gboolean set_mode)
{
    if (set_mode)
        g_assert_true(vga_guest_vbe_set_mode(w, h, bpp));
    if (bpp == 32) {
        uint32_t *fb = vga_guest_lfb_ptr(g, (size_t)w * h * 4);
        g_assert_nonnull(fb);
        for (unsigned y = 0; y < h; y++)
            for (unsigned x = 0; x < w; x++)
                fb[(size_t)y * w + x] = vga_guest_picture(x, y, w, h, seed);
    } else {
        uint16_t *fb = vga_guest_lfb_ptr(g, (size_t)w * h * 2);
        g_assert_nonnull(fb);
        for (unsigned y = 0; y < h; y++)
            for (unsigned x = 0; x < w; x++)
                fb[(size_t)y * w + x] = vga_guest_rgb565(vga_guest_picture(x, y, w, h, seed));
    }
    g_assert_null(xsim_error(g->x));
}

/* Wait until every viewer holds exactly f (bounded).  A viewer the server
 * dropped fails the test at once. */
static void wait_viewers(struct vv **v, unsigned n, const struct frame *f, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + FRAME_TIMEOUT_MS * 1000ll;
    unsigned checked[NR_VIEWERS] = {0};
    bool ok[NR_VIEWERS] = {false};
    g_assert_cmpuint(n, <=, NR_VIEWERS);
    for (;;) {
        unsigned good = 0;
        for (unsigned i = 0; i < n; i++) {
            pthread_mutex_lock(&v[i]->lock);
            enum vv_state s = v[i]->state;
            if (s != VV_CONNECTING && s != VV_UP) {
                pthread_mutex_unlock(&v[i]->lock);
                g_error("%s: viewer %u (%s) lost its connection", what, i, v[i]->encodings);
            }
            if (!ok[i] && s == VV_UP && v[i]->frames != checked[i]) {
                checked[i] = v[i]->frames;
                ok[i] = vv_diff_locked(v[i], f->rgb, f->w, f->h) == -1;
            }
            pthread_mutex_unlock(&v[i]->lock);
            good += ok[i];
        }
        if (good == n)
            return;
        if (g_get_monotonic_time() > deadline)
            break;
        g_usleep(5000);
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        long d = vv_diff_locked(v[i], f->rgb, f->w, f->h);
        if (d >= 0)
            g_test_message(
                "%s: viewer %u (%s): %u frames, first wrong pixel %ld,%ld: %06x, expected "
                "%06x",
                what, i, v[i]->encodings, v[i]->frames, d % f->w, d / f->w, vv_rgb(v[i]->snap[d]),
                f->rgb[d]);
        else if (d == -2)
            g_test_message("%s: viewer %u (%s): %ux%u after %u frames, expected %ux%u", what, i,
                           v[i]->encodings, v[i]->w, v[i]->h, v[i]->frames, f->w, f->h);
        pthread_mutex_unlock(&v[i]->lock);
    }
    g_error("%s: not every viewer showed the guest's picture within %d ms", what, FRAME_TIMEOUT_MS);
}

/* ------------------------------------------------------------ the DM --- */

static void start_xendm(struct dm_run *run, int display)
{
    const char *xendm = g_getenv("XENDM");
    if (!xendm)
        g_error("XENDM is not set: run through make check");
    char *vnc = g_strdup_printf("127.0.0.1:%d", display);
    const char *args[] = {"-vnc", vnc, "-serial", "null", "-device", "VGA,vgamem_mb=16", NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    if (!dm_start(run, xendm, &cfg, args, &err))
        g_error("%s", err->message);
    g_free(vnc);
}

static unsigned vnc_clients(struct qmp *q)
{
    GError *err = NULL;
    JsonNode *n = qmp_execute(q, "query-vnc", NULL, QMP_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    JsonArray *a = json_object_get_array_member(json_node_get_object(n), "clients");
    unsigned c = a ? json_array_get_length(a) : 0;
    json_node_unref(n);
    return c;
}

static void wait_vnc_clients(struct qmp *q, unsigned want)
{
    gint64 deadline = g_get_monotonic_time() + SOCK_TIMEOUT_MS * 1000ll;
    unsigned c;
    while ((c = vnc_clients(q)) != want) {
        if (g_get_monotonic_time() > deadline)
            g_error("query-vnc lists %u clients, expected %u", c, want);
        g_usleep(10000);
    }
}

static void assert_running(struct dm_run *run)
{
    GError *err = NULL;
    JsonNode *n = qmp_execute(run->qmp, "query-status", NULL, QMP_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    JsonObject *o = json_node_get_object(n);
    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==, "running");
    json_node_unref(n);
    g_assert_cmpint(kill(xsim_dm_pid(run->x), 0), ==, 0);
    g_assert_null(xsim_error(run->x));
}

/* ------------------------------------------------------- eight viewers -- */

static void test_eight_viewers(void)
{
    static const char *const encodings[NR_VIEWERS] = {"raw",   "hextile", "zrle",  "zlib",
                                                      "tight", "ultra",   "corre", "rre"};
    struct dm_run run;
    start_xendm(&run, MULTI_DISPLAY);
    struct vga_guest g;
    GError *err = NULL;
    if (!vga_guest_boot(&g, run.x, FALSE, &err))
        g_error("%s", err->message);
    vga_guest_unblank();
    guest_draw(&g, 1024, 768, 32, 0, TRUE);

    struct vv *v[NR_VIEWERS];
    for (unsigned i = 0; i < NR_VIEWERS; i++)
        v[i] = vv_new(5900 + MULTI_DISPLAY, true, NULL, encodings[i]);
    struct frame f = frame_picture(1024, 768, 32, 0);
    wait_viewers(v, NR_VIEWERS, &f, "1024x768x32, first frame");
    g_free(f.rgb);
    g_assert_cmpuint(vnc_clients(run.qmp), ==, NR_VIEWERS);

    static const struct {
        unsigned w, h, bpp, seed;
        gboolean set_mode;
        const char *what;
    } steps[] = {
        {1024, 768, 32, 1, FALSE, "1024x768x32, bars and text redrawn"},
        {800, 600, 32, 2, TRUE, "switched to 800x600x32"},
        {1280, 1024, 16, 3, TRUE, "switched to 1280x1024x16"},
    };
    for (unsigned s = 0; s < G_N_ELEMENTS(steps); s++) {
        guest_draw(&g, steps[s].w, steps[s].h, steps[s].bpp, steps[s].seed, steps[s].set_mode);
        f = frame_picture(steps[s].w, steps[s].h, steps[s].bpp, steps[s].seed);
        wait_viewers(v, NR_VIEWERS, &f, steps[s].what);
        g_free(f.rgb);
    }
    for (unsigned i = 0; i < NR_VIEWERS; i++) {
        pthread_mutex_lock(&v[i]->lock);
        g_test_message("viewer %u (%s): %u frames, %u sizes", i, encodings[i], v[i]->frames,
                       v[i]->sizes);
        /* 1024x768, 800x600, 1280x1024 (each seen above); a refresh
         * between the guest's "disable" and "enable" of a mode switch may
         * show the VGA mode underneath for a moment, as on qemu-xen */
        g_assert_cmpuint(v[i]->sizes, >=, 3);
        pthread_mutex_unlock(&v[i]->lock);
    }
    g_assert_cmpuint(vnc_clients(run.qmp), ==, NR_VIEWERS);
    assert_running(&run);
    for (unsigned i = 0; i < NR_VIEWERS; i++)
        g_assert_cmpint(vv_free(v[i]), ==, VV_STOPPED);
    wait_vnc_clients(run.qmp, 0);
    dm_stop(&run);
}

/* ----------------------------------------------------- hostile peers ---- */

static int peer_connect(int port)
{
    int fd = rfbp_connect(port, 0);
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static void peer_send(int fd, const void *buf, size_t len)
{
    g_assert_true(rfbp_write(fd, buf, len));
}

/* Read exactly len bytes within SOCK_TIMEOUT_MS; FALSE if the server
 * closed the connection or did not send them in time. */
static gboolean peer_recv(int fd, void *buf, size_t len)
{
    return rfbp_read(fd, buf, len, SOCK_TIMEOUT_MS);
}

/* The server must close the connection (EOF or reset) within
 * SOCK_TIMEOUT_MS; whatever it says before (a failure reason) is read. */
static void peer_expect_closed(int fd, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + SOCK_TIMEOUT_MS * 1000ll;
    for (;;) {
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            g_error("%s: the server kept the connection open for %d ms", what, SOCK_TIMEOUT_MS);
        uint8_t junk[4096];
        ssize_t n = recv(fd, junk, sizeof(junk), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            break;
        g_assert_cmpint(n, >, 0);
    }
    close(fd);
}

/* Close with a reset instead of a FIN. */
static void peer_reset(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* The server's greeting: "RFB 003.008\n". */
static void peer_greeting(int fd)
{
    char v[13] = {0};
    g_assert_true(peer_recv(fd, v, 12));
    g_assert_cmpstr(v, ==, "RFB 003.008\n");
}

/* RFB 3.8 up to (not including) ClientInit, with security type None. */
static void peer_until_init(int fd)
{
    const char *why;
    if (!rfbp_security_none(fd, SOCK_TIMEOUT_MS, &why))
        g_error("handshake: %s failed", why);
}

/* The whole handshake as a shared client; the ServerInit it got. */
static struct rfbp_server_init peer_handshake(int fd)
{
    struct rfbp_server_init s;
    const char *why;
    if (!rfbp_handshake(fd, &s, SOCK_TIMEOUT_MS, &why))
        g_error("handshake: %s failed", why);
    g_assert_true(s.true_colour);
    for (unsigned c = 0; c < 3; c++)
        g_assert_cmpuint(s.max[c], ==, 255);
    return s;
}

/* 0xRRGGBB of a 32 bpp pixel in the server's own format. */
static uint32_t server_pixel(const struct rfbp_server_init *si, const uint8_t *b)
{
    uint32_t v = si->big_endian
                     ? rfbp_get32(b)
                     : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    return (v >> si->shift[0] & 0xff) << 16 | (v >> si->shift[1] & 0xff) << 8 |
           (v >> si->shift[2] & 0xff);
}

static const struct frame *abuse_frame; /* what the guest shows now */

static void bad_version(int port, const char *version)
{
    int fd = peer_connect(port);
    peer_greeting(fd);
    peer_send(fd, version, 12);
    peer_expect_closed(fd, version);
}

static void abuse_version_999(int port)
{
    bad_version(port, "RFB 999.999\n");
}

static void abuse_version_junk(int port)
{
    bad_version(port, "\xff\x00\xfe\x01garbage!");
}

static void abuse_version_2(int port)
{
    bad_version(port, "RFB 002.000\n");
}

static void abuse_sectype_not_offered(int port)
{
    int fd = peer_connect(port);
    peer_greeting(fd);
    peer_send(fd, "RFB 003.008\n", 12);
    uint8_t n = 0, types[255];
    g_assert_true(peer_recv(fd, &n, 1));
    g_assert_true(peer_recv(fd, types, n));
    peer_send(fd, "\x10", 1); /* Tight security: not offered */
    peer_expect_closed(fd, "security type 16");
}

static void cut_text(int port, uint32_t len)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    uint8_t m[8] = {6}; /* ClientCutText, 3 bytes padding, length */
    rfbp_put32(m + 4, len);
    peer_send(fd, m, sizeof(m));
    peer_send(fd, "some text", 9); /* far less than announced */
    peer_expect_closed(fd, "oversized ClientCutText");
}

static void abuse_cut_text_4g(int port)
{
    cut_text(port, 0xffffffffu);
}

static void abuse_cut_text_2g(int port)
{
    cut_text(port, 0x7fffffffu);
}

static void abuse_cut_text_int_min(int port)
{
    cut_text(port, 0x80000000u);
}

static void abuse_pixel_format(int port)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    uint8_t m[20] = {0}; /* SetPixelFormat: 13 bits per pixel */
    m[4] = 13;
    m[5] = 13;
    m[7] = 1;
    rfbp_put16(m + 8, 31);
    rfbp_put16(m + 10, 31);
    rfbp_put16(m + 12, 31);
    peer_send(fd, m, sizeof(m));
    peer_expect_closed(fd, "SetPixelFormat 13 bpp");
}

static void abuse_unknown_message(int port)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    peer_send(fd, "\xc8\x00\x00\x00\x00\x00\x00\x00", 8); /* type 200 */
    peer_expect_closed(fd, "message type 200");
}

static void abuse_qemu_subtype(int port)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    peer_send(fd, "\xff\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12); /* 255, subtype 7 */
    peer_expect_closed(fd, "QEMU message subtype 7");
}

/* 65535 encodings announced, 100 sent, then the peer goes. */
static void abuse_set_encodings_truncated(int port)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    uint8_t m[4 + 400] = {2, 0, 0xff, 0xff};
    for (unsigned i = 0; i < 100; i++)
        rfbp_put32(m + 4 + 4 * i, 0x12345600u + i);
    peer_send(fd, m, sizeof(m));
    close(fd);
}

/* 65535 unknown encodings, all sent: legal; the server must go on and
 * answer a full update request in Raw with the guest's picture. */
static void abuse_set_encodings_65535(int port)
{
    int fd = peer_connect(port);
    struct rfbp_server_init si = peer_handshake(fd);
    g_assert_cmpuint(si.bpp, ==, 32);
    g_assert_cmpuint(si.w, ==, abuse_frame->w);
    g_assert_cmpuint(si.h, ==, abuse_frame->h);
    size_t len = 4 + 65535 * 4;
    uint8_t *m = g_malloc(len);
    m[0] = 2;
    m[1] = 0;
    rfbp_put16(m + 2, 65535);
    for (unsigned i = 0; i < 65535; i++)
        rfbp_put32(m + 4 + 4 * i, 0x40000000u + i); /* none of them exists */
    peer_send(fd, m, len);
    g_free(m);
    uint8_t req[10] = {3, 0}; /* FramebufferUpdateRequest, full, whole screen */
    rfbp_put16(req + 6, si.w);
    rfbp_put16(req + 8, si.h);
    peer_send(fd, req, sizeof(req));

    uint32_t *got = g_new0(uint32_t, (size_t)si.w * si.h);
    uint8_t hdr[4];
    g_assert_true(peer_recv(fd, hdr, 4));
    g_assert_cmpuint(hdr[0], ==, 0); /* FramebufferUpdate */
    unsigned nrects = (unsigned)hdr[2] << 8 | hdr[3];
    g_assert_cmpuint(nrects, >, 0);
    for (unsigned r = 0; r < nrects; r++) {
        uint8_t rh[12];
        g_assert_true(peer_recv(fd, rh, sizeof(rh)));
        unsigned x = (unsigned)rh[0] << 8 | rh[1], y = (unsigned)rh[2] << 8 | rh[3];
        unsigned w = (unsigned)rh[4] << 8 | rh[5], h = (unsigned)rh[6] << 8 | rh[7];
        int32_t enc = (int32_t)rfbp_get32(rh + 8);
        g_assert_cmpint(enc, ==, 0); /* Raw: the only encoding left */
        g_assert_cmpuint(x + w, <=, si.w);
        g_assert_cmpuint(y + h, <=, si.h);
        uint8_t *px = g_malloc((size_t)w * 4);
        for (unsigned row = 0; row < h; row++) {
            g_assert_true(peer_recv(fd, px, (size_t)w * 4));
            for (unsigned c = 0; c < w; c++)
                got[(size_t)(y + row) * si.w + x + c] = server_pixel(&si, px + c * 4);
        }
        g_free(px);
    }
    for (size_t i = 0; i < (size_t)si.w * si.h; i++) {
        if (got[i] != abuse_frame->rgb[i])
            g_error("Raw frame after 65535 encodings: pixel %zu,%zu is %06x, expected %06x",
                    i % si.w, i / si.w, got[i], abuse_frame->rgb[i]);
    }
    g_free(got);
    close(fd);
}

static void abuse_update_request_outside(int port)
{
    int fd = peer_connect(port);
    peer_handshake(fd);
    uint8_t req[10] = {3, 0};
    rfbp_put16(req + 2, 65000);
    rfbp_put16(req + 4, 65000);
    rfbp_put16(req + 6, 65535);
    rfbp_put16(req + 8, 65535);
    peer_send(fd, req, sizeof(req));
    close(fd);
}

static void abuse_fin_before_version(int port)
{
    close(peer_connect(port));
}

static void abuse_rst_mid_version(int port)
{
    int fd = peer_connect(port);
    peer_greeting(fd);
    peer_send(fd, "RFB 00", 6);
    peer_reset(fd);
}

static void abuse_fin_after_version(int port)
{
    int fd = peer_connect(port);
    peer_greeting(fd);
    peer_send(fd, "RFB 003.008\n", 12);
    close(fd);
}

static void abuse_rst_after_sectype(int port)
{
    int fd = peer_connect(port);
    peer_until_init(fd);
    peer_reset(fd);
}

/* ClientInit sent, then a reset before the ServerInit arrives: the
 * server's write meets a dead socket. */
static void abuse_rst_after_client_init(int port)
{
    int fd = peer_connect(port);
    peer_until_init(fd);
    peer_send(fd, "\x01", 1);
    peer_reset(fd);
}

/* A peer that sends a few bytes before reading the greeting and then
 * stays silent (or closes): another viewer connecting after it must still
 * be greeted and get through the handshake at once.  (libvncserver's
 * WebSockets peek used to spin on such a peer in the accept thread, the
 * bytes arriving 20 ms in, inside its 100 ms wait: tests/fuzz/README.md.) */
static void early_bytes(int port, const char *bytes, size_t n, bool then_close)
{
    int a = peer_connect(port);
    g_usleep(20000);
    peer_send(a, bytes, n);
    if (then_close)
        shutdown(a, SHUT_WR);
    g_usleep(50000);
    int b = peer_connect(port);
    peer_handshake(b); /* greeting included */
    close(b);
    close(a);
}

static void abuse_early_3_bytes(int port)
{
    early_bytes(port, "\x01RF", 3, false);
}

static void abuse_early_byte_fin(int port)
{
    early_bytes(port, "G", 1, true);
}

static void test_hostile_peers(void)
{
    static const struct {
        const char *name;
        void (*fn)(int port);
    } cases[] = {
        {"3 bytes before the greeting, then silence", abuse_early_3_bytes},
        {"1 byte before the greeting, then FIN", abuse_early_byte_fin},
        {"protocol version RFB 999.999", abuse_version_999},
        {"protocol version of binary junk", abuse_version_junk},
        {"protocol version RFB 002.000", abuse_version_2},
        {"security type not offered", abuse_sectype_not_offered},
        {"ClientCutText length 0xffffffff", abuse_cut_text_4g},
        {"ClientCutText length 0x7fffffff", abuse_cut_text_2g},
        {"ClientCutText length 0x80000000", abuse_cut_text_int_min},
        {"SetPixelFormat 13 bpp", abuse_pixel_format},
        {"message type 200", abuse_unknown_message},
        {"QEMU message, bad subtype", abuse_qemu_subtype},
        {"SetEncodings 65535, truncated, then gone", abuse_set_encodings_truncated},
        {"SetEncodings of 65535 unknown encodings", abuse_set_encodings_65535},
        {"update request outside the screen", abuse_update_request_outside},
        {"FIN before the version", abuse_fin_before_version},
        {"RST in the middle of the version", abuse_rst_mid_version},
        {"FIN after the version", abuse_fin_after_version},
        {"RST after the security type", abuse_rst_after_sectype},
        {"RST after ClientInit", abuse_rst_after_client_init},
    };
    const unsigned W = 640, H = 480;
    struct dm_run run;
    start_xendm(&run, ABUSE_DISPLAY);
    struct vga_guest g;
    GError *err = NULL;
    if (!vga_guest_boot(&g, run.x, FALSE, &err))
        g_error("%s", err->message);
    vga_guest_unblank();
    guest_draw(&g, W, H, 32, 0, TRUE);
    struct frame f = frame_picture(W, H, 32, 0);
    abuse_frame = &f;

    struct vv *good = vv_new(5900 + ABUSE_DISPLAY, true, NULL, "zrle raw");
    wait_viewers(&good, 1, &f, "the good viewer's first frame");
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("hostile peer: %s", cases[i].name);
        cases[i].fn(5900 + ABUSE_DISPLAY);
        /* the good viewer sees the next change, QMP answers */
        guest_draw(&g, W, H, 32, i + 1, FALSE);
        g_free(f.rgb);
        f = frame_picture(W, H, 32, i + 1);
        wait_viewers(&good, 1, &f, cases[i].name);
        assert_running(&run);
        wait_vnc_clients(run.qmp, 1);
    }
    g_assert_cmpint(vv_free(good), ==, VV_STOPPED);
    abuse_frame = NULL;
    g_free(f.rgb);
    dm_stop(&run);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vv_quiet();
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/vnc-multi/eight-viewers", test_eight_viewers);
    g_test_add_func("/vnc-multi/hostile-peers", test_hostile_peers);
    return g_test_run();
}
