/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm's SPICE server seen by real, unmodified clients, on xensim with the
 * real xendm binary and a guest on the std VGA (QXL for libxl-argv):
 *
 *  screenshot   spicy-screenshot (spice-client-gtk) of a 1024x768x32 Bochs
 *               VBE screen equals, pixel for pixel, what the guest drew: the
 *               whole picture, then after each of several partial changes
 *               (bars and text, single pixels, a one-pixel line, a block at
 *               the bottom-right corner, 300 scattered pixels), with
 *               image-compression=off.  Only dirty rectangles are copied
 *               (x-xendm-query-spice-stats "bytes"): 8 bytes for two pixels,
 *               501 * 4 for the line, 200 * 150 * 4 for the block (at most
 *               twice that, if a refresh saw the guest half way), less than
 *               a frame for the rest.  Then a mode switch to 800x600x16:
 *               the client gets a new surface of that size and the 16-bit
 *               pixels widened as a person sees them.
 *  default      the same, lossless, with libxl's value (no image-compression:
 *               QEMU's auto_glz) and streaming off.
 *  ticketing    password=: a wrong ticket is refused and the right one
 *               accepted; QMP set_password protocol=spice changes it live
 *               (old refused, new accepted; connected=fail/keep, bad values);
 *               expire_password now / +3600 / never; the passwords never
 *               appear in xendm's log.
 *  libxl-argv   xl-contract §1.6(b) as libxl writes it for vga="qxl"
 *               (-device qxl-vga,vram_size_mb=64,ram_size_mb=64, -m 896, the
 *               domain's allowance keeping the 128 MiB of video memory),
 *               minus what later work delivers (vdagent port, USB
 *               controllers and usb-redir), with ports moved into this
 *               test's range (SPICE 5943, VNC 5944): query-status says
 *               running; spicy-screenshot, a SPICE client that stays
 *               connected (spice-client-glib) and gvnccapture on the VNC
 *               port while that client is connected all show the guest's
 *               picture, first in VGA mode (Bochs VBE in BAR0), then, with
 *               the same client still connected, in native mode after the
 *               guest driver's bring-up (memory slots, primary surface,
 *               fills and a bitmap); with
 *               agent-mouse=on and no vdagent the client is told server
 *               mouse mode and query-spice says "server".
 *  garbage      while the guest animates, ten spicy-screenshot clients come
 *               and go mid-stream and hostile peers send random bytes, an
 *               absurd link header, half a header, or nothing; QMP answers
 *               throughout, a new client still gets the final frame exactly.
 *  tls          tls-port with x509-dir: a missing certificate file is named
 *               and xendm does not start; with a CA and server certificate
 *               made by openssl, openssl s_client verifies the TLS port.
 *  qemu-compat  query-spice has the shape and values qemu-xen gives for the
 *               same -spice (and without -spice); QMP errors match.
 *
 * TCP ports: 5940-5944, 5946-5948 on 127.0.0.1.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <spice-client.h>

#include "tests/common/image-png.h"
#include "tests/xensim/test-qxl-guest.h"
#include "tests/xensim/test-spice-util.h"

#define PORT_SHOT    5940
#define PORT_DEFAULT 5941
#define PORT_TICKET  5942
#define PORT_ARGV    5943
#define VNC_ARGV     44 /* 5944 */
#define PORT_GARBAGE 5946
#define PORT_COMPAT  5947

static const char *xendm(void)
{
    const char *p = g_getenv("XENDM");
    if (!p)
        g_error("XENDM is not set: run through make check");
    return p;
}

static void start(struct dm_run *run, const char *spice, const char *extra1, const char *extra2)
{
    const char *args[] = {"-name", "spice-test", "-device", "VGA,vgamem_mb=16", "-spice", spice,
                          extra1,  extra2,       NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    if (!dm_start(run, xendm(), &cfg, args, &err))
        g_error("%s", err->message);
}

static char *dm_log(struct dm_run *run)
{
    return g_build_filename(xsim_dir(run->x), "dm.log", NULL);
}

/* ------------------------------------------------------------ screenshot --- */

/* Pixel bytes xendm copied into draw commands since `before`. */
static gint64 copied_since(struct qmp *q, gint64 before, const char *what, gint64 *copied)
{
    gint64 now = sutil_stat(q, "bytes");
    *copied = now - before;
    g_test_message("%s: %" G_GINT64_FORMAT " pixel bytes copied", what, *copied);
    g_assert_cmpint(*copied, >, 0);
    return now;
}

static void test_screenshot(void)
{
    struct dm_run run;
    start(&run,
          "port=5940,tls-port=0,addr=127.0.0.1,disable-ticketing=on,agent-mouse=on,"
          "image-compression=off,streaming-video=off",
          NULL, NULL);
    struct sguest s;
    sguest_start(&s, run.x, 1024, 768, 0);
    /* no client yet: no refresh work at all (over more than fb.c's
     * longest interval, 3 s); the first client still gets the picture */
    g_assert_cmpuint(sutil_dirty_fetches(run.x, 4000), ==, 0);
    unsigned n = sutil_wait_shot(PORT_SHOT, NULL, s.want, "1024x768x32, whole picture");
    g_test_message("whole picture after %u capture(s)", n);
    gint64 frame = 1024 * 768 * 4, bytes = sutil_stat(run.qmp, "bytes"), copied;

    /* bars and text drawn again with another seed */
    for (unsigned y = 0; y < s.h; y++)
        for (unsigned x = 0; x < s.w; x++) {
            uint32_t p = vga_guest_picture(x, y, s.w, s.h, 1);
            if (p != s.fb[y * s.w + x])
                sguest_fill(&s, x, y, 1, 1, p);
        }
    sutil_wait_shot(PORT_SHOT, NULL, s.want, "bars and text changed");
    bytes = copied_since(run.qmp, bytes, "bars and text", &copied);
    g_assert_cmpint(copied, <, frame);
    /* Exact changes: xendm copies the dirty rectangles only (at most twice,
     * if a refresh pass saw the guest half way through) */
    sguest_fill(&s, 517, 333, 1, 1, 0x123456);
    sguest_fill(&s, 1023, 767, 1, 1, 0xfedcba);
    sutil_wait_shot(PORT_SHOT, NULL, s.want, "two pixels");
    bytes = copied_since(run.qmp, bytes, "two pixels", &copied);
    g_assert_cmpint(copied, <=, 2 * 2 * 4);
    sguest_fill(&s, 700, 100, 1, 501, 0xff00ff);
    sutil_wait_shot(PORT_SHOT, NULL, s.want, "a one-pixel line");
    bytes = copied_since(run.qmp, bytes, "a 1x501 line", &copied);
    g_assert_cmpint(copied, <=, 2 * 501 * 4);
    sguest_fill(&s, 824, 618, 200, 150, 0x00ffcc);
    sutil_wait_shot(PORT_SHOT, NULL, s.want, "a 200x150 block at the corner");
    bytes = copied_since(run.qmp, bytes, "a 200x150 block", &copied);
    g_assert_cmpint(copied, <=, 2 * 200 * 150 * 4);
    /* scattered pixels (the framebuffer core sends more than 256 boxes as
     * bands, so this copies more than the pixels themselves) */
    GRand *r = g_rand_new_with_seed(5);
    for (unsigned i = 0; i < 300; i++)
        sguest_fill(&s, (unsigned)g_rand_int_range(r, 0, 1024),
                    (unsigned)g_rand_int_range(r, 0, 768), 1, 1, g_rand_int(r) & 0xffffff);
    g_rand_free(r);
    sutil_wait_shot(PORT_SHOT, NULL, s.want, "300 scattered pixels");
    bytes = copied_since(run.qmp, bytes, "300 scattered pixels", &copied);
    g_assert_cmpint(copied, <=, frame);
    gint64 surfaces = sutil_stat(run.qmp, "surfaces");

    /* a mode switch to 800x600x16: a new primary surface */
    g_assert_true(vga_guest_vbe_set_mode(800, 600, 16));
    uint16_t *fb16 = vga_guest_lfb_ptr(&s.g, 800 * 600 * 2);
    g_assert_nonnull(fb16);
    struct image *want16 = image_new(800, 600);
    for (unsigned y = 0; y < 600; y++)
        for (unsigned x = 0; x < 800; x++) {
            uint16_t v = vga_guest_rgb565(vga_guest_picture(x, y, 800, 600, 2));
            fb16[y * 800 + x] = v;
            uint32_t rr = v >> 11, gg = (v >> 5) & 0x3f, bb = v & 0x1f;
            image_set_pixel(want16, x, y,
                            (rr << 3 | rr >> 2) << 16 | (gg << 2 | gg >> 4) << 8 |
                                (bb << 3 | bb >> 2));
        }
    sutil_wait_shot(PORT_SHOT, NULL, want16, "800x600x16 after a mode switch");
    g_assert_cmpint(sutil_stat(run.qmp, "surfaces"), >, surfaces);
    g_assert_cmpint(sutil_stat(run.qmp, "width"), ==, 800);
    g_assert_cmpint(sutil_stat(run.qmp, "height"), ==, 600);
    image_free(want16);
    g_assert_null(xsim_error(run.x));
    sguest_free(&s);
    dm_stop(&run);
}

/* libxl's value: QEMU's default compression (auto_glz), streaming off. */
static void test_default_compression(void)
{
    struct dm_run run;
    start(&run, "port=5941,tls-port=0,addr=127.0.0.1,disable-ticketing=on,agent-mouse=on", NULL,
          NULL);
    struct sguest s;
    sguest_start(&s, run.x, 1024, 768, 3);
    sutil_wait_shot(PORT_DEFAULT, NULL, s.want, "auto_glz, whole picture");
    sguest_fill(&s, 10, 700, 300, 40, 0x336699);
    sguest_fill(&s, 1000, 5, 3, 3, 0xffffff);
    sutil_wait_shot(PORT_DEFAULT, NULL, s.want, "auto_glz, partial");
    sguest_free(&s);
    dm_stop(&run);
}

/* ------------------------------------------------------------- ticketing --- */

static bool accepted(int port, const char *pw, const struct image *want)
{
    struct image *img = sutil_shot(port, pw);
    if (!img)
        return false;
    /* accepted: and the picture is the guest's (the screen is still) */
    char *d = sutil_diff(img, want);
    if (strcmp(d, "same"))
        g_error("password %s accepted but the picture differs: %s", pw ? pw : "(none)", d);
    g_free(d);
    image_free(img);
    return true;
}

/* Until query-spice lists no channel: the last client has gone. */
static void wait_no_client(struct qmp *q)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SPICE_QMP_TIMEOUT_MS * 1000;
    for (;;) {
        JsonNode *r = sutil_qmp(q, "query-spice", NULL);
        guint n = json_array_get_length(
            json_object_get_array_member(json_node_get_object(r), "channels"));
        json_node_unref(r);
        if (!n)
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("query-spice still lists %u channels of a client that left", n);
        g_usleep(20000); /* polling QMP for the disconnect, bounded */
    }
}

static void test_ticketing(void)
{
    static const char pw1[] = "Right1-xq", pw2[] = "Second2-zk", wrong[] = "wrong";
    struct dm_run run;
    start(&run, "port=5942,tls-port=0,addr=127.0.0.1,password=Right1-xq,agent-mouse=on", NULL,
          NULL);
    struct sguest s;
    sguest_start(&s, run.x, 640, 480, 4);
    sutil_wait_shot(PORT_TICKET, pw1, s.want, "with the right password");

    JsonNode *q = sutil_qmp(run.qmp, "query-spice", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(q), "auth"), ==, "spice");
    json_node_unref(q);

    g_assert_false(accepted(PORT_TICKET, wrong, s.want));
    g_assert_false(accepted(PORT_TICKET, NULL, s.want));
    g_assert_true(accepted(PORT_TICKET, pw1, s.want));

    /* live change */
    json_node_unref(
        sutil_qmp(run.qmp, "set_password", "{\"protocol\":\"spice\",\"password\":\"Second2-zk\"}"));
    g_assert_false(accepted(PORT_TICKET, pw1, s.want));
    g_assert_true(accepted(PORT_TICKET, pw2, s.want));
    /* connected=fail with nobody connected (once the last capture's
     * channels are gone), connected=keep */
    wait_no_client(run.qmp);
    json_node_unref(
        sutil_qmp(run.qmp, "set_password",
                  "{\"protocol\":\"spice\",\"password\":\"Second2-zk\",\"connected\":\"fail\"}"));
    json_node_unref(
        sutil_qmp(run.qmp, "set_password",
                  "{\"protocol\":\"spice\",\"password\":\"Second2-zk\",\"connected\":\"keep\"}"));
    char *e =
        sutil_qmp_error(run.qmp, "set_password",
                        "{\"protocol\":\"spice\",\"password\":\"x\",\"connected\":\"later\"}");
    g_assert_cmpstr(e, ==, "GenericError: Parameter 'connected' does not accept value 'later'");
    g_free(e);
    g_assert_true(accepted(PORT_TICKET, pw2, s.want)); /* unchanged by the refused call */

    /* expiry */
    json_node_unref(
        sutil_qmp(run.qmp, "expire_password", "{\"protocol\":\"spice\",\"time\":\"now\"}"));
    g_assert_false(accepted(PORT_TICKET, pw2, s.want));
    json_node_unref(
        sutil_qmp(run.qmp, "expire_password", "{\"protocol\":\"spice\",\"time\":\"+3600\"}"));
    g_assert_true(accepted(PORT_TICKET, pw2, s.want));
    json_node_unref(
        sutil_qmp(run.qmp, "expire_password", "{\"protocol\":\"spice\",\"time\":\"1\"}"));
    g_assert_false(accepted(PORT_TICKET, pw2, s.want)); /* 1970: long expired */
    json_node_unref(
        sutil_qmp(run.qmp, "expire_password", "{\"protocol\":\"spice\",\"time\":\"never\"}"));
    g_assert_true(accepted(PORT_TICKET, pw2, s.want));
    e = sutil_qmp_error(run.qmp, "expire_password", "{\"protocol\":\"spice\",\"time\":\"soon\"}");
    g_assert_cmpstr(e, ==, "GenericError: Parameter 'time' does not accept value 'soon'");
    g_free(e);

    /* "" refuses everyone */
    json_node_unref(
        sutil_qmp(run.qmp, "set_password", "{\"protocol\":\"spice\",\"password\":\"\"}"));
    g_assert_false(accepted(PORT_TICKET, pw2, s.want));
    g_assert_false(accepted(PORT_TICKET, NULL, s.want));
    g_assert_null(xsim_error(run.x));

    char *log = dm_log(&run);
    xsim_stop_dm(run.x, 5000); /* the log is complete; dm_stop removes it */
    sutil_assert_not_in_file(log, pw1);
    sutil_assert_not_in_file(log, pw2);
    g_free(log);
    dm_stop(&run);
    sguest_free(&s);

    /* disable-ticketing=on: no password needed, any given is ignored */
    start(&run, "port=5942,tls-port=0,addr=127.0.0.1,disable-ticketing=on,agent-mouse=on", NULL,
          NULL);
    sguest_start(&s, run.x, 640, 480, 5);
    sutil_wait_shot(PORT_TICKET, NULL, s.want, "disable-ticketing=on");
    g_assert_true(accepted(PORT_TICKET, wrong, s.want));
    q = sutil_qmp(run.qmp, "query-spice", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(q), "auth"), ==, "none");
    json_node_unref(q);
    sguest_free(&s);
    dm_stop(&run);
}

/* ------------------------------------------------------- libxl's argv (b) --- */

/*
 * A SPICE client that stays connected while other clients come and go:
 * spice-client-glib, the library spicy-screenshot and remote-viewer are
 * built on, with its main loop on a thread of its own.  Only the main and
 * the display channel are opened.  Everything that touches its objects
 * runs on that thread (hold_call()).
 */
static struct {
    GThread *thread;
    GMainLoop *loop;
    GMutex lock;
    GCond cond;
    SpiceSession *session;
    SpiceChannel *main, *display;
    char *closed; /* why a main or display channel closed or failed */
} hc;

struct hold_call {
    void (*fn)(void *);
    void *arg;
    bool done;
};

static gboolean hold_call_cb(gpointer p)
{
    struct hold_call *c = p;
    c->fn(c->arg);
    g_mutex_lock(&hc.lock);
    c->done = true;
    g_cond_broadcast(&hc.cond);
    g_mutex_unlock(&hc.lock);
    return G_SOURCE_REMOVE;
}

/* Run fn(arg) on the client's thread and wait for it. */
static void hold_call(void (*fn)(void *), void *arg)
{
    struct hold_call c = {fn, arg, false};
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, hold_call_cb, &c, NULL);
    g_source_attach(src, g_main_loop_get_context(hc.loop));
    g_source_unref(src);
    g_mutex_lock(&hc.lock);
    while (!c.done)
        g_cond_wait(&hc.cond, &hc.lock);
    g_mutex_unlock(&hc.lock);
}

static void hold_channel_event(SpiceChannel *ch, SpiceChannelEvent ev, gpointer data)
{
    if (ev != SPICE_CHANNEL_CLOSED && ev < SPICE_CHANNEL_ERROR_CONNECT)
        return;
    g_mutex_lock(&hc.lock);
    if (!hc.closed)
        hc.closed = g_strdup_printf("%s: channel event %d", G_OBJECT_TYPE_NAME(ch), (int)ev);
    g_mutex_unlock(&hc.lock);
}

static void hold_channel_new(SpiceSession *s, SpiceChannel *ch, gpointer data)
{
    int id = -1;
    g_object_get(ch, "channel-id", &id, NULL);
    if (SPICE_IS_MAIN_CHANNEL(ch)) {
        hc.main = ch;
        g_signal_connect(ch, "channel-event", G_CALLBACK(hold_channel_event), NULL);
    } else if (SPICE_IS_DISPLAY_CHANNEL(ch) && id == 0) {
        hc.display = ch;
        g_signal_connect(ch, "channel-event", G_CALLBACK(hold_channel_event), NULL);
        spice_channel_connect(ch);
    }
}

static void hold_do_connect(void *arg)
{
    char *port = g_strdup_printf("%d", *(const int *)arg);
    hc.session = spice_session_new();
    g_object_set(hc.session, "host", "127.0.0.1", "port", port, "enable-audio", FALSE,
                 "enable-usbredir", FALSE, NULL);
    g_signal_connect(hc.session, "channel-new", G_CALLBACK(hold_channel_new), NULL);
    g_assert_true(spice_session_connect(hc.session));
    g_free(port);
}

static gpointer hold_thread(gpointer data)
{
    g_main_loop_run(hc.loop); /* the only thread that runs the default context */
    return NULL;
}

static void hold_connect(int port)
{
    memset(&hc, 0, sizeof(hc));
    g_mutex_init(&hc.lock);
    g_cond_init(&hc.cond);
    /* spice-client-glib attaches its sources to the global default context */
    hc.loop = g_main_loop_new(NULL, FALSE);
    hc.thread = g_thread_new("spice-client", hold_thread, NULL);
    hold_call(hold_do_connect, &port);
}

/* The channels are still up. */
static void hold_assert_connected(const char *when)
{
    g_mutex_lock(&hc.lock);
    char *why = g_strdup(hc.closed);
    g_mutex_unlock(&hc.lock);
    if (why)
        g_error("%s: the SPICE client that stays connected lost its connection: %s", when, why);
}

struct hold_look {
    const struct image *want;
    char *diff; /* NULL: the primary surface equals want */
    int mouse_mode;
};

static void hold_do_look(void *arg)
{
    struct hold_look *l = arg;
    SpiceDisplayPrimary p;
    if (!hc.display || !spice_display_channel_get_primary(hc.display, 0, &p) || !p.data) {
        l->diff = g_strdup("no primary surface yet");
        return;
    }
    if (p.format != SPICE_SURFACE_FMT_32_xRGB && p.format != SPICE_SURFACE_FMT_32_ARGB) {
        l->diff = g_strdup_printf("surface format %d", (int)p.format);
        return;
    }
    if ((unsigned)p.width != l->want->w || (unsigned)p.height != l->want->h) {
        l->diff =
            g_strdup_printf("%dx%d, expected %ux%u", p.width, p.height, l->want->w, l->want->h);
        return;
    }
    long n = 0;
    unsigned fx = 0, fy = 0;
    uint32_t got = 0;
    for (unsigned y = 0; y < l->want->h; y++)
        for (unsigned x = 0; x < l->want->w; x++) {
            const uint8_t *px = p.data + (size_t)y * (size_t)p.stride + (size_t)x * 4;
            uint32_t v = (uint32_t)px[2] << 16 | (uint32_t)px[1] << 8 | px[0]; /* B, G, R, x */
            if (v != image_get_pixel(l->want, x, y) && n++ == 0) {
                fx = x;
                fy = y;
                got = v;
            }
        }
    if (n)
        l->diff = g_strdup_printf("%ld pixels differ, first at %u,%u: %06x, expected %06x", n, fx,
                                  fy, got, image_get_pixel(l->want, fx, fy));
}

/* Until the client's primary surface equals want (bounded). */
static void hold_wait(const struct image *want, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SPICE_SCREEN_TIMEOUT_MS * 1000;
    for (;;) {
        hold_assert_connected(what);
        struct hold_look l = {.want = want};
        hold_call(hold_do_look, &l);
        if (!l.diff)
            return;
        if (g_get_monotonic_time() > deadline)
            g_error("%s: the SPICE client that stays connected shows something else: %s", what,
                    l.diff);
        g_free(l.diff);
        g_usleep(20000); /* waiting for the client to receive the picture, bounded */
    }
}

static void hold_do_mouse_mode(void *arg)
{
    struct hold_look *l = arg;
    l->mouse_mode = -1;
    if (hc.main && g_object_class_find_property(G_OBJECT_GET_CLASS(hc.main), "mouse-mode"))
        g_object_get(hc.main, "mouse-mode", &l->mouse_mode, NULL);
}

/* The mouse mode the client's main channel was told (SPICE_MOUSE_MODE_*). */
static int hold_mouse_mode(void)
{
    struct hold_look l = {0};
    hold_call(hold_do_mouse_mode, &l);
    return l.mouse_mode;
}

static void hold_do_disconnect(void *arg)
{
    spice_session_disconnect(hc.session);
    g_object_unref(hc.session);
    hc.session = NULL;
    hc.main = hc.display = NULL;
    g_main_loop_quit(hc.loop);
}

static void hold_disconnect(void)
{
    hold_call(hold_do_disconnect, NULL);
    g_thread_join(hc.thread);
    g_main_loop_unref(hc.loop);
    g_free(hc.closed);
    g_mutex_clear(&hc.lock);
    g_cond_clear(&hc.cond);
    memset(&hc, 0, sizeof(hc));
}

static struct image *vnc_capture(int display)
{
    sutil_need("/usr/bin/gvnccapture", "gvncviewer");
    char *out = g_build_filename(sutil_tmpdir(), "vnc.png", NULL);
    char *target = g_strdup_printf("127.0.0.1:%d", display);
    g_unlink(out);
    char *log = g_build_filename(sutil_tmpdir(), "gvnccapture.log", NULL);
    g_unlink(log);
    char *argv[] = {"/usr/bin/gvnccapture", target, out, NULL};
    pid_t pid = sutil_spawn(argv, NULL, log);
    int st = 0;
    if (!sutil_wait(pid, SPICE_CLIENT_TIMEOUT_MS, &st)) {
        sutil_stop(pid);
        g_error("gvnccapture did not finish");
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *text = NULL;
        g_file_get_contents(log, &text, NULL, NULL);
        g_error("gvnccapture %s failed (status %#x): %s", target, st, text ? text : "");
    }
    struct image *img = image_load_png(out);
    g_free(log);
    g_free(out);
    g_free(target);
    return img;
}

/* gvnccapture until it shows want (bounded). */
static void vnc_wait(int display, const struct image *want, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SPICE_SCREEN_TIMEOUT_MS * 1000;
    for (;;) {
        struct image *v = vnc_capture(display);
        bool same = image_compare(v, want, NULL, NULL) == 0;
        if (!same && g_get_monotonic_time() >= deadline) {
            char *d = sutil_diff(v, want);
            g_error("%s: gvnccapture: %s", what, d);
        }
        image_free(v);
        if (same)
            return;
    }
}

/* query-spice lists the channels of one client (the one that stays):
 * main (1) and display (2), with one connection id. */
static void assert_one_spice_client(struct qmp *q, const char *when)
{
    JsonNode *r = sutil_qmp(q, "query-spice", NULL);
    JsonArray *ch = json_object_get_array_member(json_node_get_object(r), "channels");
    bool seen[3] = {false};
    gint64 conn = -1;
    for (guint i = 0; i < json_array_get_length(ch); i++) {
        JsonObject *c = json_array_get_object_element(ch, i);
        gint64 type = json_object_get_int_member(c, "channel-type");
        if (type == 1 || type == 2)
            seen[type] = true;
        if (conn < 0)
            conn = json_object_get_int_member(c, "connection-id");
        if (json_object_get_int_member(c, "connection-id") != conn)
            g_error("%s: query-spice lists channels of more than one client", when);
    }
    if (!seen[1] || !seen[2]) {
        char *t = json_to_string(r, FALSE);
        g_error("%s: query-spice does not list the client's main and display channels: %s", when,
                t);
    }
    json_node_unref(r);
}

/* Both front ends at once: the SPICE client that stays connected shows
 * want; gvnccapture on the VNC port gets want while that client is
 * connected (query-spice lists it before and after); the SPICE client
 * still shows want afterwards.  (spice-server serves one SPICE client at a
 * time: a second one, such as spicy-screenshot, would replace it.) */
static void both_show(struct qmp *q, const struct image *want, const char *what)
{
    char *m = g_strdup_printf("%s: the SPICE client that stays", what);
    hold_wait(want, m);
    g_free(m);
    assert_one_spice_client(q, what);
    m = g_strdup_printf("%s: VNC while the SPICE client is connected", what);
    vnc_wait(VNC_ARGV, want, m);
    g_free(m);
    assert_one_spice_client(q, what);
    m = g_strdup_printf("%s: the SPICE client after the VNC client", what);
    hold_wait(want, m);
    g_free(m);
    hold_assert_connected(what);
}

#define ARGV_W 640
#define ARGV_H 480

/* What QXL's driver draws in native mode: fills and a 32-bit bitmap. */
static struct image *argv_draw_native(struct qg *g)
{
    struct image *want = image_new(ARGV_W, ARGV_H);
    static const struct {
        int x, y, w, h;
        uint32_t rgb;
    } fills[] = {{0, 0, ARGV_W, ARGV_H, 0x1b3a5c},
                 {16, 24, 300, 120, 0xe0a020},
                 {400, 300, 240, 180, 0x20c060},
                 {639, 0, 1, 480, 0xffffff}};
    for (unsigned i = 0; i < G_N_ELEMENTS(fills); i++) {
        qg_push(g, false,
                qg_fill(g, 0, fills[i].x, fills[i].y, fills[i].w, fills[i].h, fills[i].rgb),
                QXL_CMD_DRAW);
        image_fill_rect(want, (unsigned)fills[i].x, (unsigned)fills[i].y, (unsigned)fills[i].w,
                        (unsigned)fills[i].h, fills[i].rgb);
    }
    enum { BW = 120, BH = 90, BX = 100, BY = 250 };
    uint32_t *px = g_new(uint32_t, BW * BH);
    for (unsigned y = 0; y < BH; y++)
        for (unsigned x = 0; x < BW; x++) {
            px[y * BW + x] = (x * 2) << 16 | (y * 2) << 8 | ((x / 10 + y / 10) & 1 ? 0xf0 : 0x10);
            image_set_pixel(want, BX + x, BY + y, px[y * BW + x]);
        }
    qg_push(g, false, qg_copy(g, 0, qg_bitmap(g, px, BW, BH, 2), BX, BY, BW, BH, -1), QXL_CMD_DRAW);
    g_free(px);
    qg_update_area(g, 0, ARGV_W, ARGV_H);
    return want;
}

static void test_libxl_argv(void)
{
    /* libxl: memory=1024 with vga="qxl" and the default videoram=128: -m
     * 896, and the domain's allowance keeps the 128 MiB (plus 1 MiB of
     * slack) for the device model to populate (xl-contract §1.5.6) */
    struct xsim_config cfg = {
        .ram_mb = 896, .vcpus = 2, .domid = 7, .max_extra_pages = (129u << 20) / 4096};
    xsim *x = xsim_create(&cfg);
    g_assert_nonnull(x);
    char *qmp1 =
        g_strdup_printf("socket,id=libxl-cmd,path=%s/qmp-libxl-7,server=on,wait=off", xsim_dir(x));
    char *qmp2 = g_strdup_printf(
        "socket,id=libxenstat-cmd,path=%s/qmp-libxenstat-7,server=on,wait=off", xsim_dir(x));
    char *vnc = g_strdup_printf("127.0.0.1:%d,to=49", VNC_ARGV);
    /* §1.6(b) in libxl's order, with the ports moved into this test's
     * range; left out, because xendm does not have them yet: -device
     * virtio-serial, -chardev spicevmc,name=vdagent, -device virtserialport
     * (the vdagent port), the ich9 USB controllers with their
     * usb-redir/spicevmc pairs */
    char *argv[] = {(char *)xendm(),
                    "-xen-domid",
                    "7",
                    "-no-shutdown",
                    "-chardev",
                    qmp1,
                    "-mon",
                    "chardev=libxl-cmd,mode=control",
                    "-chardev",
                    qmp2,
                    "-mon",
                    "chardev=libxenstat-cmd,mode=control",
                    "-nodefaults",
                    "-no-user-config",
                    "-name",
                    "vm1",
                    "-vnc",
                    vnc,
                    "-display",
                    "none",
                    "-spice",
                    "port=5943,tls-port=0,disable-ticketing=on,agent-mouse=on",
                    "-device",
                    "qxl-vga,vram_size_mb=64,ram_size_mb=64",
                    "-boot",
                    "order=cda",
                    "-smp",
                    "2,maxcpus=2",
                    "-net",
                    "none",
                    "-machine",
                    "xenfv,suppress-vmdesc=on",
                    "-m",
                    "896",
                    NULL};
    pid_t pid = xsim_spawn_dm(x, argv, NULL);
    g_assert_cmpint(pid, >, 0);
    if (xsim_wait_dm_ready(x, 30000) < 0)
        g_error("xendm with libxl's argv did not become ready: %s", xsim_dm_diag(x));
    char *qpath = g_strdup_printf("%s/qmp-libxl-7", xsim_dir(x));
    GError *err = NULL;
    struct qmp *q = qmp_connect(qpath, SPICE_QMP_TIMEOUT_MS, &err);
    g_assert_no_error(err);

    JsonNode *r = sutil_qmp(q, "query-status", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "status"), ==,
                    "running");
    json_node_unref(r);
    r = sutil_qmp(q, "query-spice", NULL);
    JsonObject *o = json_node_get_object(r);
    g_assert_true(json_object_get_boolean_member(o, "enabled"));
    g_assert_cmpint(json_object_get_int_member(o, "port"), ==, PORT_ARGV);
    g_assert_cmpstr(json_object_get_string_member(o, "host"), ==, "*"); /* no addr= */
    g_assert_cmpstr(json_object_get_string_member(o, "auth"), ==, "none");
    json_node_unref(r);
    r = sutil_qmp(q, "query-vnc", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "service"), ==, "5944");
    json_node_unref(r);
    json_node_unref(sutil_qmp(q, "cont", NULL)); /* libxl's post-config chain ends with it */

    /* hvmloader's PCI setup places the QXL BARs; the guest finds the card */
    g_assert_cmpint(xsim_fw_pci_setup(x), >, 0);
    struct qg g;
    qg_probe(&g, x);

    /* VGA mode, as the VGA BIOS and a boot loader leave it: a Bochs VBE
     * 640x480x32 picture at the start of BAR0 */
    g_assert_true(vga_guest_vbe_set_mode(ARGV_W, ARGV_H, 32));
    vga_guest_unblank();
    struct image *want = image_new(ARGV_W, ARGV_H);
    uint32_t *fb = (uint32_t *)(void *)g.ram;
    for (unsigned y = 0; y < ARGV_H; y++)
        for (unsigned x0 = 0; x0 < ARGV_W; x0++) {
            uint32_t p = vga_guest_picture(x0, y, ARGV_W, ARGV_H, 6);
            fb[y * ARGV_W + x0] = p;
            image_set_pixel(want, x0, y, p);
        }
    sutil_wait_shot(PORT_ARGV, NULL, want, "QXL in VGA mode: spicy-screenshot");
    hold_connect(PORT_ARGV);
    both_show(q, want, "QXL in VGA mode");
    /* libxl's agent-mouse=on without a vdagent and without a tablet: the
     * client is told server mouse mode, and query-spice says so */
    g_assert_cmpint(hold_mouse_mode(), ==, SPICE_MOUSE_MODE_SERVER);
    r = sutil_qmp(q, "query-spice", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "mouse-mode"), ==,
                    "server");
    json_node_unref(r);
    image_free(want);

    /* native mode, as the guest's qxl driver brings the card up: memory
     * slots, a primary surface, drawing commands */
    qg_init(&g);
    qg_create_primary(&g, ARGV_W, ARGV_H, SPICE_SURFACE_FMT_32_xRGB);
    want = argv_draw_native(&g);
    both_show(q, want, "QXL in native mode"); /* the same SPICE client, through the switch */
    hold_disconnect();
    sutil_wait_shot(PORT_ARGV, NULL, want, "QXL in native mode: spicy-screenshot");
    g_assert_cmphex(g.seen_pending & QXL_INTERRUPT_ERROR, ==, 0);
    image_free(want);

    r = sutil_qmp(q, "query-status", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "status"), ==,
                    "running");
    json_node_unref(r);
    g_assert_null(xsim_error(x));
    qmp_close(q);
    g_hash_table_destroy(g.pending);
    int st = xsim_stop_dm(x, 5000);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    xsim_destroy(x);
    g_free(qpath);
    g_free(qmp1);
    g_free(qmp2);
    g_free(vnc);
}

/* --------------------------------------------------------------- garbage --- */

struct animator {
    struct sguest *s;
    volatile bool stop;
    unsigned frames;
};

/* A guest vCPU drawing full frames (stores only, no port I/O). */
static void *animate(void *data)
{
    struct animator *a = data;
    while (!a->stop) {
        unsigned f = a->frames++;
        for (unsigned y = 0; y < a->s->h; y++)
            for (unsigned x = 0; x < a->s->w; x++)
                a->s->fb[y * a->s->w + x] = (x + f * 7) ^ (y * 3 + f) * 0x010101u;
    }
    return NULL;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fd, >=, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void send_all(int fd, const void *buf, size_t n)
{
    /* the server may close on us: that is allowed */
    (void)!send(fd, buf, n, MSG_NOSIGNAL);
}

static void status_running(struct qmp *q)
{
    JsonNode *r = sutil_qmp(q, "query-status", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "status"), ==,
                    "running");
    json_node_unref(r);
}

static void test_garbage(void)
{
    struct dm_run run;
    start(&run, "port=5946,tls-port=0,addr=127.0.0.1,disable-ticketing=on,agent-mouse=on", NULL,
          NULL);
    struct sguest s;
    sguest_start(&s, run.x, 800, 600, 0);
    sutil_wait_shot(PORT_GARBAGE, NULL, s.want, "before the garbage");

    struct animator a = {.s = &s};
    pthread_t th;
    g_assert_cmpint(pthread_create(&th, NULL, animate, &a), ==, 0);

    /* a silent peer held open for the whole test */
    int silent = tcp_connect(PORT_GARBAGE);
    GRand *r = g_rand_new_with_seed(11);
    for (unsigned i = 0; i < 10; i++) {
        /* random bytes */
        int fd = tcp_connect(PORT_GARBAGE);
        uint8_t junk[4096];
        for (unsigned j = 0; j < sizeof(junk); j++)
            junk[j] = (uint8_t)g_rand_int(r);
        send_all(fd, junk, sizeof(junk));
        close(fd);
        /* SPICE's magic "REDQ", version 2.2, then a link message of 4 GiB */
        fd = tcp_connect(PORT_GARBAGE);
        static const uint8_t huge[] = {'R', 'E', 'D', 'Q', 2,    0,    0,    0,
                                       2,   0,   0,   0,   0xff, 0xff, 0xff, 0xff};
        send_all(fd, huge, sizeof(huge));
        close(fd);
        /* half a header, then gone */
        fd = tcp_connect(PORT_GARBAGE);
        send_all(fd, huge, 6);
        close(fd);
        /* a real client leaving while the screen streams */
        struct image *img = sutil_shot(PORT_GARBAGE, NULL);
        g_assert_nonnull(img);
        g_assert_cmpuint(img->w, ==, 800);
        image_free(img);
        status_running(run.qmp);
    }
    g_rand_free(r);
    a.stop = true;
    pthread_join(th, NULL);
    g_test_message("the guest drew %u frames meanwhile", a.frames);
    g_assert_cmpuint(a.frames, >, 0);

    sguest_mode(&s, 800, 600, 9);
    sutil_wait_shot(PORT_GARBAGE, NULL, s.want, "after the garbage, with a peer still silent");
    close(silent);
    status_running(run.qmp);
    g_assert_null(xsim_error(run.x));
    int st = xsim_stop_dm(run.x, 5000);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    sguest_free(&s);
    dm_stop(&run);
}

/* ------------------------------------------------------------------- TLS --- */

static void run_ok(char **argv)
{
    int st = 0;
    char *err = NULL;
    GError *e = NULL;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &st,
                      &e))
        g_error("%s: %s", argv[0], e->message);
    if (!g_spawn_check_wait_status(st, NULL))
        g_error("%s %s failed: %s", argv[0], argv[1], err);
    g_free(err);
}

/* tls-port with x509-dir: missing files are named; with a CA and a server
 * certificate made here, a TLS client (openssl s_client) verifies the
 * server against that CA. */
static void test_tls(void)
{
    sutil_need("/usr/bin/openssl", "openssl");
    char *dir = g_build_filename(sutil_tmpdir(), "pki", NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    char *spice = g_strdup_printf(
        "port=0,tls-port=5948,x509-dir=%s,addr=127.0.0.1,disable-ticketing=on", dir);

    /* an empty directory: xendm refuses to start and says which file */
    struct dm_run run;
    const char *args[] = {"-device", "VGA,vgamem_mb=16", "-spice", spice, NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    g_assert_false(dm_start(&run, xendm(), &cfg, args, &err));
    g_test_message("%s", err->message);
    g_assert_nonnull(strstr(err->message, "xendm: -spice: tls-port=5948: x509-dir="));
    g_assert_nonnull(strstr(err->message, "cannot read ca-cert.pem"));
    g_clear_error(&err);

    char *ca = g_build_filename(dir, "ca-cert.pem", NULL),
         *cakey = g_build_filename(dir, "ca-key.pem", NULL),
         *key = g_build_filename(dir, "server-key.pem", NULL),
         *csr = g_build_filename(dir, "server.csr", NULL),
         *cert = g_build_filename(dir, "server-cert.pem", NULL),
         *srl = g_build_filename(dir, "ca.srl", NULL);
    char *a1[] = {"/usr/bin/openssl",
                  "req",
                  "-x509",
                  "-newkey",
                  "rsa:2048",
                  "-nodes",
                  "-keyout",
                  cakey,
                  "-out",
                  ca,
                  "-days",
                  "1",
                  "-subj",
                  "/CN=xendm-test-ca",
                  NULL};
    char *a2[] = {"/usr/bin/openssl",
                  "req",
                  "-newkey",
                  "rsa:2048",
                  "-nodes",
                  "-keyout",
                  key,
                  "-out",
                  csr,
                  "-subj",
                  "/CN=xendm-spice-test",
                  NULL};
    char *a3[] = {"/usr/bin/openssl",
                  "x509",
                  "-req",
                  "-in",
                  csr,
                  "-CA",
                  ca,
                  "-CAkey",
                  cakey,
                  "-CAserial",
                  srl,
                  "-CAcreateserial",
                  "-out",
                  cert,
                  "-days",
                  "1",
                  NULL};
    run_ok(a1);
    run_ok(a2);
    run_ok(a3);

    if (!dm_start(&run, xendm(), &cfg, args, &err))
        g_error("%s", err->message);
    JsonNode *q = sutil_qmp(run.qmp, "query-spice", NULL);
    JsonObject *o = json_node_get_object(q);
    g_assert_cmpint(json_object_get_int_member(o, "tls-port"), ==, 5948);
    g_assert_false(json_object_has_member(o, "port"));
    json_node_unref(q);

    char *out = NULL, *serr = NULL;
    int st = 0;
    char *a4[] = {"/usr/bin/openssl",     "s_client", "-connect", "127.0.0.1:5948", "-CAfile", ca,
                  "-verify_return_error", "-brief",   NULL};
    /* stdin is /dev/null: s_client ends after the handshake */
    g_assert_true(
        g_spawn_sync(NULL, a4, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &serr, &st, NULL));
    g_test_message("openssl s_client: %s", serr);
    g_assert_true(g_spawn_check_wait_status(st, NULL));
    g_assert_nonnull(strstr(serr, "Verification: OK"));
    g_assert_nonnull(strstr(serr, "CN = xendm-spice-test"));
    g_assert_null(xsim_error(run.x));
    dm_stop(&run);
    g_free(out);
    g_free(serr);
    g_free(ca);
    g_free(cakey);
    g_free(key);
    g_free(csr);
    g_free(cert);
    g_free(srl);
    g_free(spice);
    g_free(dir);
}

/* ----------------------------------------------------------- qemu-compat --- */

static JsonNode *query_spice_of(bool qemu, const char *spice, JsonNode **errors)
{
    struct dm_run run;
    const char *args[] = {"-device", "VGA,vgamem_mb=16", spice ? "-spice" : NULL, spice, NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    if (!(qemu ? dm_start_qemu(&run, &cfg, args, &err) : dm_start(&run, xendm(), &cfg, args, &err)))
        g_error("%s", err->message);
    JsonNode *r = sutil_qmp(run.qmp, "query-spice", NULL);
    /* error replies to compare */
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    char *e =
        sutil_qmp_error(run.qmp, "set_password",
                        "{\"protocol\":\"spice\",\"password\":\"x\",\"connected\":\"later\"}");
    json_builder_add_string_value(b, e);
    g_free(e);
    e = sutil_qmp_error(run.qmp, "expire_password", "{\"protocol\":\"vnc\",\"time\":\"now\"}");
    json_builder_add_string_value(b, e);
    g_free(e);
    if (!spice) {
        e = sutil_qmp_error(run.qmp, "set_password", "{\"protocol\":\"spice\",\"password\":\"x\"}");
        json_builder_add_string_value(b, e);
        g_free(e);
    }
    json_builder_end_array(b);
    *errors = json_builder_get_root(b);
    g_object_unref(b);
    dm_stop(&run);
    return r;
}

static void test_qemu_compat(void)
{
    const char *spice = "port=5947,tls-port=0,addr=127.0.0.1,password=abc,agent-mouse=on";
    JsonNode *qe, *xe;
    JsonNode *q = query_spice_of(true, spice, &qe);
    JsonNode *x = query_spice_of(false, spice, &xe);
    char *qs = json_to_string(q, FALSE), *xs = json_to_string(x, FALSE);
    g_test_message("qemu-xen: %s", qs);
    g_test_message("xendm:    %s", xs);
    /* same members with the same values (no client is connected) */
    JsonObject *qo = json_node_get_object(q), *xo = json_node_get_object(x);
    GList *qm = json_object_get_members(qo), *xm = json_object_get_members(xo);
    g_assert_cmpuint(g_list_length(qm), ==, g_list_length(xm));
    for (GList *l = qm; l; l = l->next) {
        const char *name = l->data;
        g_assert_true(json_object_has_member(xo, name));
        g_assert_true(
            json_node_equal(json_object_get_member(qo, name), json_object_get_member(xo, name)));
    }
    g_list_free(qm);
    g_list_free(xm);
    g_assert_true(json_node_equal(qe, xe));
    g_free(qs);
    g_free(xs);
    json_node_unref(q);
    json_node_unref(x);
    json_node_unref(qe);
    json_node_unref(xe);

    /* without -spice */
    q = query_spice_of(true, NULL, &qe);
    x = query_spice_of(false, NULL, &xe);
    qs = json_to_string(q, FALSE);
    xs = json_to_string(x, FALSE);
    g_test_message("no -spice: qemu-xen %s, xendm %s", qs, xs);
    g_assert_true(json_node_equal(q, x));
    char *qes = json_to_string(qe, FALSE), *xes = json_to_string(xe, FALSE);
    g_test_message("errors: qemu-xen %s, xendm %s", qes, xes);
    g_assert_cmpstr(xes, ==, qes);
    g_free(qes);
    g_free(xes);
    g_free(qs);
    g_free(xs);
    json_node_unref(q);
    json_node_unref(x);
    json_node_unref(qe);
    json_node_unref(xe);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spice/screenshot", test_screenshot);
    g_test_add_func("/spice/default-compression", test_default_compression);
    g_test_add_func("/spice/ticketing", test_ticketing);
    g_test_add_func("/spice/libxl-argv", test_libxl_argv);
    g_test_add_func("/spice/garbage", test_garbage);
    g_test_add_func("/spice/tls", test_tls);
    g_test_add_func("/spice/qemu-compat", test_qemu_compat);
    int rc = g_test_run();
    sutil_cleanup();
    return rc;
}
