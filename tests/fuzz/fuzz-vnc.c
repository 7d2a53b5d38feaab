/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a hostile VNC viewer against xendm's VNC front end
 * (display/vnc.c, vnc-handshake.c, vnc-input.c on libvncserver) as xendm
 * runs it: vnc_start() on 127.0.0.1 (display FUZZ_VNC_DISPLAY, default 77,
 * TCP 5977) with password=on, its accept thread, the handshake on the main
 * loop, libvncserver's per-client reader and writer threads, the events
 * they queue for the main loop, and the input broker behind them (the
 * xenfv PS/2 controller, plus sinks of this harness).  Each input is one
 * TCP connection (two with flag 1):
 *
 *   byte 0  flags: bit 0 raw (the rest of the input is everything the
 *           viewer sends, handshake included); bit 1 a second, idle, shared
 *           viewer is connected first; bit 2 ClientInit's shared flag;
 *           bits 3-4 the version the viewer announces (3.8, 3.7, 3.3,
 *           Apple's 3.889); bit 5 the bytes go out 3 at a time, the main
 *           loop running in between; bit 6 the guest changes mode (the
 *           surface is resized) after the bytes are sent; bit 7 an
 *           absolute pointing device (a USB tablet's place) takes pointer
 *           events instead of the PS/2 mouse
 *   rest    without bit 0: what the viewer sends once the harness has done
 *           a correct handshake (version, VNC authentication with the
 *           password, ClientInit) and read ServerInit: client messages,
 *           QEMU's extended key events (255/0) included
 *
 * The harness then half-closes the connection, reads (and drops) all the
 * server sends until it closes its end, and waits for xendm to have freed
 * every client and handled every queued event.  Checked besides ASan/UBSan
 * (abort with a message): the handshake done by the harness succeeds and
 * ServerInit gives the surface's size; the input broker is only called on
 * the main thread; absolute pointer events stay in 0..INPUT_ABS_MAX; once
 * the viewers are gone no key is left pressed in the guest; xendm counts no
 * client and no handshake any more; nothing takes longer than 30 s.
 *
 * FUZZ_VNC_KNOWN_BUGS (a comma-separated list) lets a long run go on past
 * bugs already reported (tests/fuzz/README.md): "many-keys": keys left
 * pressed by an input that held more than 32 at once are not checked from
 * then on.
 * FUZZ_VNC_TRACE=1 prints every key the guest is sent; FUZZ_VNC_FAIL_LOG
 * names a file each broken invariant is also appended to.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pixman.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/device.h"
#include "display/fb.h"
#include "display/input.h"
#include "display/vnc.h"
#include "src/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FAIL(...) fail(__VA_ARGS__)

#define PASSWORD "fuzz-pw"
/* Longest any step may take (the server gives up on a silent client after
 * 20 s, VNC_CLIENT_TIMEOUT_MS). */
#define STEP_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* Surfaces the "guest" shows: small, so full updates stay cheap. */
#define SURF_W  160
#define SURF_H  120
#define SURF2_W 200
#define SURF2_H 90

static struct vnc *vnc;
static int vnc_tcp_port;
static bool trace;

/* A broken invariant: say which, also into FUZZ_VNC_FAIL_LOG if set (the
 * children of a -fork run keep no log), and abort. */
static void fail(const char *fmt, ...)
{
    const char *path = getenv("FUZZ_VNC_FAIL_LOG");
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "fuzz-vnc: %s\n", msg);
    if (path) {
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "%s\n", msg);
            fclose(f);
        }
    }
    abort();
}
static pthread_t main_thread;
static bool known_many_keys;

/* ------------------------------------------------------------ guest ---- */

static uint32_t surf_pixels[SURF2_W * SURF_H]; /* SURF2_W > SURF_W, SURF_H > SURF2_H */

static void show_surface(unsigned w, unsigned h)
{
    for (unsigned i = 0; i < w * h; i++)
        surf_pixels[i] = 0x010203u * (i % 97) ^ (w << 8);
    if (fb_set_surface(w, h, PIXMAN_x8r8g8b8, surf_pixels, w * 4) < 0)
        FAIL("cannot set a %ux%u surface", w, h);
    fb_refresh_now();
}

/* Keys the guest was told are down, and the most held at once. */
static bool key_down[256], key_known_stuck[256];
static unsigned keys_held, keys_held_max;

static void sink_key(void *opaque, unsigned qnum, bool down)
{
    if (!pthread_equal(pthread_self(), main_thread))
        FAIL("input broker called off the main thread (key %#x)", qnum);
    if (qnum == 0 || qnum > 0xff)
        FAIL("key %#x is not a qnum", qnum);
    if (trace)
        fprintf(stderr, "fuzz-vnc: key %#x %s\n", qnum, down ? "down" : "up");
    if (key_down[qnum] != down)
        keys_held += down ? 1 : -1u;
    if (keys_held > keys_held_max)
        keys_held_max = keys_held;
    key_down[qnum] = down;
}

static void sink_pointer(void *opaque, const struct input_pointer_event *ev)
{
    if (!pthread_equal(pthread_self(), main_thread))
        FAIL("input broker called off the main thread (pointer)");
    if (ev->absolute && (ev->x < 0 || ev->x > INPUT_ABS_MAX || ev->y < 0 || ev->y > INPUT_ABS_MAX))
        FAIL("absolute pointer event at %d,%d, outside 0..%d", ev->x, ev->y, INPUT_ABS_MAX);
}

/* Keys: every press and release the front end sends (above the PS/2
 * keyboard, which then sees none).  Absolute pointer: active only with
 * flag 7. */
static const struct input_sink_ops key_sink_ops = {
    .name = "fuzz-keys",
    .kinds = INPUT_KIND_KEY,
    .priority = INPUT_PRIO_VDAGENT + 1,
    .key = sink_key,
};
static const struct input_sink_ops tablet_ops = {
    .name = "fuzz-tablet",
    .kinds = INPUT_KIND_ABS,
    .priority = INPUT_PRIO_USB,
    .pointer = sink_pointer,
};
static struct input_sink *tablet;

/* ----------------------------------------------------------- viewer ---- */

struct viewer {
    int fd;
    guint watch;
    GByteArray *in; /* what the server sent, not consumed yet */
    bool eof;
};

static gboolean viewer_readable(gint fd, GIOCondition cond, gpointer data)
{
    struct viewer *w = data;
    uint8_t buf[65536];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            if (w->in->len < (1u << 20)) /* past the handshake nobody parses it */
                g_byte_array_append(w->in, buf, (guint)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return G_SOURCE_CONTINUE;
        w->eof = true; /* 0, or ECONNRESET after the server closed */
        w->watch = 0;
        return G_SOURCE_REMOVE;
    }
}

static void viewer_open(struct viewer *w)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)vnc_tcp_port)};
    int one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->fd < 0 || connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        FAIL("connect to 127.0.0.1:%d: %s", vnc_tcp_port, strerror(errno));
    setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    w->in = g_byte_array_new();
    w->eof = false;
    w->watch = g_unix_fd_add(w->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, viewer_readable, w);
}

static void viewer_close(struct viewer *w)
{
    if (w->watch)
        g_source_remove(w->watch);
    w->watch = 0;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->in)
        g_byte_array_free(w->in, TRUE);
    w->in = NULL;
}

/* Send everything, running the main loop while the socket is full (the
 * server reads on its own threads; the handshake is on the main loop). */
static void viewer_send(struct viewer *w, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    gint64 deadline = g_get_monotonic_time() + STEP_TIMEOUT_US;

    while (len) {
        ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return; /* the server closed: the rest is not needed */
        if (w->eof)
            return;
        if (g_get_monotonic_time() > deadline)
            FAIL("the server read nothing for 30 s");
        g_main_context_iteration(NULL, FALSE);
        struct pollfd pf = {.fd = w->fd, .events = POLLOUT};
        poll(&pf, 1, 1);
    }
}

static gboolean on_timeout(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

/* Run the main loop until n bytes came from the server (true) or it
 * closed (false). */
static bool viewer_wait(struct viewer *w, size_t n, const char *what)
{
    bool late = false;
    guint t = g_timeout_add(STEP_TIMEOUT_US / 1000, on_timeout, &late);

    while (w->in->len < n && !w->eof && !late)
        g_main_context_iteration(NULL, TRUE);
    if (!late)
        g_source_remove(t);
    if (late)
        FAIL("no %s from the server within 30 s", what);
    return w->in->len >= n;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void consume(struct viewer *w, size_t n)
{
    g_byte_array_remove_range(w->in, 0, (guint)n);
}

/* The viewer's side of the handshake, as a correct RFB client does it.
 * minor: 3, 7, 8 or 889.  Fails (abort) on anything unexpected. */
static void viewer_handshake(struct viewer *w, int minor, bool shared)
{
    char ver[13];

    /* Sent before the greeting is read, as a hurried viewer may. */
    snprintf(ver, sizeof(ver), "RFB 003.%03d\n", minor);
    viewer_send(w, ver, 12);
    if (!viewer_wait(w, 12, "ProtocolVersion") || memcmp(w->in->data, "RFB 003.008\n", 12))
        FAIL("bad or no ProtocolVersion");
    consume(w, 12);
    if (minor == 3) {
        if (!viewer_wait(w, 4, "security type") || be32(w->in->data) != 2)
            FAIL("RFB 3.3: security type is not VNC authentication");
        consume(w, 4);
    } else {
        if (!viewer_wait(w, 2, "security types") || w->in->data[0] != 1 || w->in->data[1] != 2)
            FAIL("security types offered are not [VNC authentication]");
        consume(w, 2);
        viewer_send(w, "\002", 1);
    }
    if (!viewer_wait(w, 16, "VNC challenge"))
        FAIL("no VNC challenge");
    uint8_t resp[16];
    char pw[9] = PASSWORD;
    memcpy(resp, w->in->data, 16);
    consume(w, 16);
    rfbEncryptBytes(resp, pw);
    viewer_send(w, resp, 16);
    if (!viewer_wait(w, 4, "SecurityResult") || be32(w->in->data) != 0)
        FAIL("authentication with the right password failed");
    consume(w, 4);
    viewer_send(w, shared ? "\001" : "\000", 1);
    if (!viewer_wait(w, 24, "ServerInit"))
        FAIL("no ServerInit");
    unsigned sw = (unsigned)w->in->data[0] << 8 | w->in->data[1];
    unsigned sh = (unsigned)w->in->data[2] << 8 | w->in->data[3];
    if (sw != fb_width() || sh != fb_height())
        FAIL("ServerInit says %ux%u, the surface is %ux%u", sw, sh, fb_width(), fb_height());
    uint32_t name_len = be32(w->in->data + 20);
    if (name_len > 1000 || !viewer_wait(w, 24 + name_len, "desktop name"))
        FAIL("bad ServerInit name length %u", name_len);
    consume(w, 24 + name_len);
}

/* Half-close and read until the server has closed its end. */
static void viewer_finish(struct viewer *w)
{
    shutdown(w->fd, SHUT_WR);
    bool late = false;
    guint t = g_timeout_add(STEP_TIMEOUT_US / 1000, on_timeout, &late);
    while (!w->eof && !late)
        g_main_context_iteration(NULL, TRUE);
    if (!late)
        g_source_remove(t);
    if (late)
        FAIL("the server did not close the connection within 30 s of our half-close");
}

/* --------------------------------------------------------------- setup -- */

/* The server starts with the first input, not in LLVMFuzzerInitialize:
 * with -fork, libFuzzer's parent process initialises too but runs no
 * input, and must not hold the port its children listen on. */
static void start_server(void)
{
    GError *err = NULL;
    const char *d = getenv("FUZZ_VNC_DISPLAY");
    char spec[64];

    snprintf(spec, sizeof(spec), "127.0.0.1:%s,password=on", d ? d : "77");
    vnc = vnc_start(spec, &err);
    if (!vnc)
        FAIL("vnc_start(%s): %s", spec, err->message);
    if (vnc_set_password(vnc, PASSWORD) < 0 || vnc_set_keymap(vnc, "en-us", &err) < 0)
        FAIL("cannot set the password or the keymap");
    vnc_tcp_port = vnc_port(vnc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("XEN_QEMU_CONSOLE_LIMIT", "65536", 1);
    log_init();
    main_thread = pthread_self();
    trace = getenv("FUZZ_VNC_TRACE") != NULL;
    const char *known = getenv("FUZZ_VNC_KNOWN_BUGS");
    known_many_keys = known && strstr(known, "many-keys");
    signal(SIGPIPE, SIG_IGN);
    if (!device_create("i8042", NULL))
        FAIL("cannot create the PS/2 controller");
    if (!input_sink_register(&key_sink_ops, NULL))
        FAIL("cannot register the key sink");
    tablet = input_sink_register(&tablet_ops, NULL);
    if (!tablet)
        FAIL("cannot register the tablet sink");
    input_sink_set_active(tablet, false);
    show_surface(SURF_W, SURF_H);
    return 0;
}

/* Run the main loop until xendm has let go of every viewer. */
static void wait_all_gone(void)
{
    struct vnc_stats st;
    gint64 deadline = g_get_monotonic_time() + STEP_TIMEOUT_US;

    for (;;) {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        vnc_get_stats(vnc, &st);
        if (!st.clients && !st.handshaking)
            return;
        if (g_get_monotonic_time() > deadline)
            FAIL("%u clients and %u handshakes still there 30 s after every viewer left",
                 st.clients, st.handshaking);
        g_main_context_iteration(NULL, TRUE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int minors[4] = {8, 7, 3, 889};
    struct viewer a = {.fd = -1}, b = {.fd = -1};
    uint8_t fl = size ? data[0] : 0;
    const uint8_t *p = size ? data + 1 : data;
    size_t n = size ? size - 1 : 0;

    if (!vnc)
        start_server();
    if (fb_width() != SURF_W || fb_height() != SURF_H)
        show_surface(SURF_W, SURF_H);
    input_sink_set_active(tablet, (fl & 0x80) != 0);
    keys_held_max = keys_held;

    if (fl & 2) {
        viewer_open(&b);
        viewer_handshake(&b, 8, true);
    }
    viewer_open(&a);
    if (!(fl & 1))
        viewer_handshake(&a, minors[(fl >> 3) & 3], (fl & 4) != 0);
    if (fl & 0x20) {
        for (size_t i = 0; i < n && !a.eof; i += 3) {
            viewer_send(&a, p + i, n - i < 3 ? n - i : 3);
            while (g_main_context_iteration(NULL, FALSE))
                ;
        }
    } else {
        viewer_send(&a, p, n);
    }
    if (fl & 0x40)
        show_surface(SURF2_W, SURF2_H);
    viewer_finish(&a);
    viewer_close(&a);
    if (b.fd >= 0) {
        viewer_finish(&b);
        viewer_close(&b);
    }
    wait_all_gone();

    for (unsigned q = 0; q < 256; q++)
        if (key_down[q] && known_many_keys && keys_held_max > 32)
            key_known_stuck[q] = true;
    for (unsigned q = 0; q < 256; q++)
        if (key_down[q] && !key_known_stuck[q])
            FAIL("key %#x is still pressed in the guest after every viewer left", q);
    return 0;
}
