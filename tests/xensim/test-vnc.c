/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm's VNC server seen by real, unmodified clients: gvnccapture (package
 * gvncviewer) and vncsnapshot, each run as its own process against the real
 * xendm on xensim, one screen after another of one guest:
 *   text     80x25 through Debian's SeaBIOS VGA ROM (INT 10h mode 3, a
 *            teletype line, a row of characters in 16 attribute colours),
 *            the cursor switched off (CRTC 0Ah bit 5) so no capture depends
 *            on the blink phase;
 *   13h      INT 10h mode 13h, a custom 256-colour palette loaded through
 *            the DAC (0x3C8/0x3C9), pixels stored into the 0xA0000 window;
 *   vbe32    Bochs VBE 1024x768x32 set through 0x1CE/0x1CF, the test
 *            picture of vga-guest.h stored into the BAR 0 framebuffer;
 *   vbe16    the same picture at 1024x768x16 (RGB565).
 * The same guest first runs on Debian's qemu-xen, whose QMP screendump is
 * the reference.  For every screen:
 *   - qemu-xen's screendump equals the picture the test computes from what
 *     the guest wrote (for 13h, 16 and 32 bpp), so the expected images are
 *     checked against a real peer: 6-bit DAC values widened the way QEMU
 *     7.2 does (v << 2 | low bit twice), RGB565 widened by bit replication
 *     (pixman's expansion), mode 13h shown 640x400 (each pixel doubled);
 *   - xendm's screendump equals qemu-xen's, pixel for pixel;
 *   - gvnccapture's PNG equals both, pixel for pixel (gvnccapture asks for
 *     ZRLE, Hextile, RRE, CopyRect and Raw: all lossless);
 *   - vncsnapshot, run with its own encoding list and once per lossless
 *     encoding it is told to use (raw, hextile, zrle, zlib; -nojpeg
 *     throughout), always writes a JPEG file: it has no lossless output.
 *     Its JPEG is written by libjpeg with
 *     jpeg_set_defaults(), quality 100 and the RGB colour space (no
 *     YCbCr conversion, no chroma subsampling; read in vncsnapshot's
 *     buffer.c).  The test encodes the expected picture with exactly those
 *     settings through the same libjpeg and requires the two decoded JPEGs
 *     to be equal pixel for pixel: 0 differences, no fuzz.  The only loss
 *     is the DCT rounding both images go through identically (quantiser
 *     1 everywhere at quality 100: at most 1 level here, reported in the
 *     log).  How much it can hide, measured on the 1024x768 picture with
 *     200 random single-pixel errors each: one channel of one pixel off
 *     by 3 levels or more was caught 200 times of 200, by 2 levels 123
 *     times, by 1 level 37 times; a wrong offset, size, format or
 *     colour moves many pixels by many levels.  gvnccapture's lossless PNG
 *     covers the last levels.  (vncsnapshot's "tight" is left
 *     out: vncsnapshot 1.2a asks for the LastRect pseudo-encoding with it
 *     but does not parse the LastRect marker libvncserver then sends, and
 *     waits for ever.)
 * QMP query-vnc reports the port.  Each capture starts once the previous
 * client has left (query-vnc lists none), so that it is the only viewer:
 * xendm brings its picture up to date when a viewer arrives while nobody
 * else is watching.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>

#include "tests/common/dm.h"
#include "tests/common/image.h"
#include "tests/common/image-png.h"
#include "tests/common/vga-guest.h"

#define VNC_DISPLAY 64 /* port 5964 (test-fb has 5950-5963) */
/* One capture takes 0.05-0.2 s; a client still running after this is
 * killed and the test fails. */
#define CLIENT_TIMEOUT_MS 20000
#define QMP_TIMEOUT_MS    10000

enum screen { SCR_TEXT, SCR_13H, SCR_VBE32, SCR_VBE16, NR_SCREENS };
static const char *const screen_name[NR_SCREENS] = {"text", "13h", "vbe32", "vbe16"};

#define VBE_W 1024
#define VBE_H 768

static struct image *qemu_dump[NR_SCREENS];

/* ------------------------------------------------------------- guest --- */

static const char text_line[] = "xendm over VNC: gvnccapture and vncsnapshot";

static void int10(xsim *x, struct x86regs r)
{
    g_assert_cmpint(xsim_int10(x, &r), ==, 0);
}

static void draw_text(const struct vga_guest *g)
{
    int10(g->x, (struct x86regs){.eax = 0x0003});
    for (const char *c = text_line; *c; c++)
        int10(g->x, (struct x86regs){.eax = 0x0e00u | (uint8_t)*c, .ebx = 0x0007});
    /* row 2: 'A'..'P', attribute background i & 7 (bit 7 clear: no
     * blinking), foreground 15 - i */
    for (unsigned i = 0; i < 16; i++) {
        int10(g->x, (struct x86regs){.eax = 0x0200, .edx = 2u << 8 | (i * 2)});
        int10(g->x, (struct x86regs){
                        .eax = 0x0900u | ('A' + i), .ebx = (i & 7) << 4 | (15 - i), .ecx = 1});
    }
    guest_outb(0x3d4, 0x0a); /* cursor start: bit 5 switches the cursor off */
    guest_outb(0x3d5, 0x20);
}

/* Mode 13h: palette entry i and the index at (x, y). */
static void pal13(unsigned i, uint8_t rgb6[3])
{
    rgb6[0] = (uint8_t)((i * 5) & 63);
    rgb6[1] = (uint8_t)((i * 11 + 7) & 63);
    rgb6[2] = (uint8_t)(63 - i / 4);
}

static uint8_t idx13(unsigned x, unsigned y)
{
    if (y >= 2 && y < 22 && x >= 32 && x < 288)
        return (uint8_t)(x - 32); /* every entry once per row */
    uint32_t p = vga_guest_picture(x, y, 320, 200, 3);
    return (uint8_t)((p >> 16) * 7 + ((p >> 8) & 0xff) * 3 + (p & 0xff));
}

/* QEMU 7.2's widening of a 6-bit DAC value (c6_to_8 in hw/display/vga.c). */
static uint32_t dac8(uint8_t v)
{
    return (uint32_t)(v << 2 | (v & 1) << 1 | (v & 1));
}

static void draw_13h(const struct vga_guest *g)
{
    int10(g->x, (struct x86regs){.eax = 0x0013});
    uint8_t pal[256 * 3];
    for (unsigned i = 0; i < 256; i++)
        pal13(i, &pal[i * 3]);
    vga_guest_dac_load(0, pal, 256);
    /* chain-4: byte (x, y) at 0xA0000 + y * 320 + x, stored through MMIO */
    uint8_t *pix = g_malloc(320 * 200);
    for (unsigned y = 0; y < 200; y++)
        for (unsigned x = 0; x < 320; x++)
            pix[y * 320 + x] = idx13(x, y);
    guest_mem_write(0xa0000, pix, 320 * 200);
    /* Window stores may travel as buffered ioreqs, which the device model
     * drains before it answers a synchronous one: reading the last pixel
     * back orders every store before what the test does next. */
    uint8_t last = 0;
    guest_mem_read(0xa0000 + 320 * 200 - 1, &last, 1);
    g_assert_cmpuint(last, ==, pix[320 * 200 - 1]);
    g_free(pix);
}

static void draw_vbe(const struct vga_guest *g, unsigned bpp)
{
    g_assert_true(vga_guest_vbe_set_mode(VBE_W, VBE_H, bpp));
    if (bpp == 32) {
        uint32_t *fb = vga_guest_lfb_ptr(g, VBE_W * VBE_H * 4);
        g_assert_nonnull(fb);
        for (unsigned y = 0; y < VBE_H; y++)
            for (unsigned x = 0; x < VBE_W; x++)
                fb[y * VBE_W + x] = vga_guest_picture(x, y, VBE_W, VBE_H, 0);
    } else {
        uint16_t *fb = vga_guest_lfb_ptr(g, VBE_W * VBE_H * 2);
        g_assert_nonnull(fb);
        for (unsigned y = 0; y < VBE_H; y++)
            for (unsigned x = 0; x < VBE_W; x++)
                fb[y * VBE_W + x] = vga_guest_rgb565(vga_guest_picture(x, y, VBE_W, VBE_H, 0));
    }
}

static void draw(const struct vga_guest *g, enum screen s)
{
    switch (s) {
    case SCR_TEXT:
        draw_text(g);
        break;
    case SCR_13H:
        draw_13h(g);
        break;
    case SCR_VBE32:
        draw_vbe(g, 32);
        break;
    case SCR_VBE16:
        draw_vbe(g, 16);
        break;
    default:
        g_assert_not_reached();
    }
    g_assert_null(xsim_error(g->x));
}

/* What the guest drew, as a person would see it; NULL for text (checked
 * against qemu-xen only). */
static struct image *expected(enum screen s)
{
    struct image *img = NULL;
    if (s == SCR_13H) {
        img = image_new(640, 400);
        for (unsigned y = 0; y < 400; y++)
            for (unsigned x = 0; x < 640; x++) {
                uint8_t c[3];
                pal13(idx13(x / 2, y / 2), c);
                image_set_pixel(img, x, y, dac8(c[0]) << 16 | dac8(c[1]) << 8 | dac8(c[2]));
            }
    } else if (s == SCR_VBE32 || s == SCR_VBE16) {
        img = image_new(VBE_W, VBE_H);
        for (unsigned y = 0; y < VBE_H; y++)
            for (unsigned x = 0; x < VBE_W; x++) {
                uint32_t p = vga_guest_picture(x, y, VBE_W, VBE_H, 0);
                if (s == SCR_VBE16) {
                    uint16_t v = vga_guest_rgb565(p);
                    uint32_t r = v >> 11, gr = (v >> 5) & 0x3f, b = v & 0x1f;
                    p = (r << 3 | r >> 2) << 16 | (gr << 2 | gr >> 4) << 8 | (b << 3 | b >> 2);
                }
                image_set_pixel(img, x, y, p);
            }
    }
    return img;
}

/* ------------------------------------------------------------ images --- */

static void assert_same(const char *what, const struct image *got, const struct image *want)
{
    unsigned fx = 0, fy = 0;
    long diff = image_compare(got, want, &fx, &fy);
    if (diff < 0)
        g_test_message("%s: %ux%u, expected %ux%u", what, got->w, got->h, want->w, want->h);
    else if (diff)
        g_test_message("%s: %ld pixels differ, first at %u,%u: %06x, expected %06x", what, diff, fx,
                       fy, image_get_pixel(got, fx, fy), image_get_pixel(want, fx, fy));
    const char *keep = g_getenv("VNC_TEST_KEEP_DIR");
    if (diff && keep) { /* for a person to look at: convert x.ppm x.png */
        char *a = g_build_filename(keep, "got.ppm", NULL),
             *b = g_build_filename(keep, "want.ppm", NULL);
        image_save_ppm(got, a, NULL);
        image_save_ppm(want, b, NULL);
        g_test_message("saved %s and %s", a, b);
        g_free(a);
        g_free(b);
    }
    g_assert_cmpint(diff, ==, 0);
}

struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
};

static void jpeg_fail_exit(j_common_ptr c)
{
    struct jpeg_fail *f = (struct jpeg_fail *)c->err;
    char msg[JMSG_LENGTH_MAX];
    c->err->format_message(c, msg);
    g_test_message("libjpeg: %s", msg);
    longjmp(f->jb, 1);
}

/* Decode a JPEG held in memory (untrusted: the client wrote it); NULL if
 * it is not one. */
static struct image *jpeg_decode(const uint8_t *buf, size_t len)
{
    struct jpeg_decompress_struct d;
    struct jpeg_fail f;
    struct image *volatile img = NULL;
    d.err = jpeg_std_error(&f.mgr);
    f.mgr.error_exit = jpeg_fail_exit;
    if (setjmp(f.jb)) {
        jpeg_destroy_decompress(&d);
        image_free(img);
        return NULL;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    if (d.output_components != 3 || !(img = image_new(d.output_width, d.output_height)))
        longjmp(f.jb, 1);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = img->rgb + (size_t)d.output_scanline * img->w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return img;
}

/* img through vncsnapshot's JPEG writer (buffer.c: write_JPEG_file):
 * defaults, quality 100 limited to baseline, RGB colour space. */
static struct image *jpeg_like_vncsnapshot(const struct image *img)
{
    struct jpeg_compress_struct c;
    struct jpeg_fail f;
    unsigned char *out = NULL;
    unsigned long outlen = 0;
    c.err = jpeg_std_error(&f.mgr);
    f.mgr.error_exit = jpeg_fail_exit;
    if (setjmp(f.jb))
        g_error("libjpeg failed to encode the expected picture");
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &outlen);
    c.image_width = img->w;
    c.image_height = img->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_set_colorspace(&c, JCS_RGB);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->rgb + (size_t)c.next_scanline * img->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    struct image *back = jpeg_decode(out, outlen);
    free(out);
    g_assert_nonnull(back);
    return back;
}

/* Largest per-channel difference between two images of one size. */
static unsigned max_channel_diff(const struct image *a, const struct image *b)
{
    unsigned m = 0;
    for (size_t i = 0; i < (size_t)a->w * a->h * 3; i++) {
        unsigned d = (unsigned)abs((int)a->rgb[i] - (int)b->rgb[i]);
        m = d > m ? d : m;
    }
    return m;
}

/* ------------------------------------------------------------ clients --- */

/* Run a client to completion (stdout and stderr to log), bounded by
 * CLIENT_TIMEOUT_MS; killed by PID if it overruns.  Exit status, or -1. */
static int run_client(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    extern char **environ;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        g_test_message("cannot start %s: %s", argv[0], g_strerror(rc));
        return -1;
    }
    int status = 0;
    gint64 deadline = g_get_monotonic_time() + CLIENT_TIMEOUT_MS * 1000ll;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            g_test_message("%s did not finish within %d ms: killed", argv[0], CLIENT_TIMEOUT_MS);
            return -1;
        }
        g_usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void client_failed(const char *what, const char *log, xsim *x)
{
    char *text = NULL;
    g_file_get_contents(log, &text, NULL, NULL);
    g_error("%s failed; its output: %s; %s", what, text ? text : "(none)", xsim_dm_diag(x));
}

/* Established VNC clients, from query-vnc. */
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

/* Each capture must be a connection of its own: wait (bounded) until the
 * previous client has left. */
static void wait_no_clients(struct qmp *q)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (vnc_clients(q) != 0) {
        if (g_get_monotonic_time() > deadline)
            g_error("a VNC client is still connected after 10 s");
        g_usleep(10000);
    }
}

/* ------------------------------------------------------------- tests --- */

static const char *const dm_args[] = {"-serial", "null", "-device", "VGA,vgamem_mb=16", NULL};

static void start(struct dm_run *run, const char *dm, const char *vnc)
{
    const char *args[16] = {"-vnc", vnc};
    unsigned n = 2;
    for (unsigned i = 0; dm_args[i]; i++)
        args[n++] = dm_args[i];
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    if (!dm_start(run, dm, &cfg, args, &err))
        g_error("%s", err->message);
}

static struct image *screendump(struct dm_run *run, const char *name)
{
    GError *err = NULL;
    char *path = g_strdup_printf("%s/%s.ppm", xsim_dir(run->x), name);
    g_assert_cmpint(qmp_screendump(run->qmp, path, QMP_TIMEOUT_MS, &err), ==, 0);
    g_assert_no_error(err);
    struct image *img = image_load_ppm(path, &err);
    g_assert_no_error(err);
    unlink(path);
    g_free(path);
    return img;
}

static void test_qemu_xen(void)
{
    GError *err = NULL;
    const char *qemu = dm_qemu_path(&err);
    if (!qemu)
        g_error("%s", err->message);
    struct dm_run run;
    start(&run, qemu, "none");
    struct vga_guest g;
    if (!vga_guest_boot(&g, run.x, TRUE, &err))
        g_error("%s", err->message);
    for (unsigned s = 0; s < NR_SCREENS; s++) {
        draw(&g, s);
        qemu_dump[s] = screendump(&run, screen_name[s]);
        g_test_message("qemu-xen %s: %ux%u", screen_name[s], qemu_dump[s]->w, qemu_dump[s]->h);
        struct image *want = expected(s);
        if (want) {
            char *what =
                g_strdup_printf("qemu-xen's %s screendump vs the guest's picture", screen_name[s]);
            assert_same(what, qemu_dump[s], want);
            g_free(what);
        } else { /* text: 80x25 cells of 9x16, something written */
            g_assert_cmpuint(qemu_dump[s]->w, ==, 720);
            g_assert_cmpuint(qemu_dump[s]->h, ==, 400);
            g_assert_cmpint(image_count_non_bg(qemu_dump[s], 0, 0, 720, 48, 0x000000), >, 500);
        }
        image_free(want);
    }
    dm_stop(&run);
}

static void capture_gvnc(struct dm_run *run, const char *vnc, enum screen s,
                         const struct image *want)
{
    char *png = g_strdup_printf("%s/gvnc-%s.png", xsim_dir(run->x), screen_name[s]);
    char *log = g_strdup_printf("%s/gvnc.log", xsim_dir(run->x));
    char *argv[] = {"/usr/bin/gvnccapture", (char *)vnc, png, NULL};
    wait_no_clients(run->qmp);
    if (run_client(argv, log) != 0)
        client_failed("gvnccapture", log, run->x);
    struct image *cap = image_load_png(png);
    char *what = g_strdup_printf("gvnccapture of %s", screen_name[s]);
    assert_same(what, cap, want);
    g_free(what);
    image_free(cap);
    unlink(png);
    unlink(log);
    g_free(png);
    g_free(log);
}

static void capture_vncsnapshot(struct dm_run *run, const char *vnc, enum screen s,
                                const struct image *want_jpeg, const struct image *want,
                                const char *encoding)
{
    char *jpg = g_strdup_printf("%s/snap-%s-%s.jpg", xsim_dir(run->x), screen_name[s], encoding);
    char *log = g_strdup_printf("%s/vncsnapshot.log", xsim_dir(run->x));
    char *argv[] = {"/usr/bin/vncsnapshot",
                    "-quiet",
                    "-nojpeg",
                    "-quality",
                    "100",
                    "-nocursor",
                    (char *)vnc,
                    jpg,
                    NULL,
                    NULL,
                    NULL};
    if (strcmp(encoding, "default") != 0) { /* else its own list: raw first on one host */
        memmove(&argv[8], &argv[6], 2 * sizeof(char *));
        argv[6] = "-encodings";
        argv[7] = (char *)encoding;
    }
    wait_no_clients(run->qmp);
    if (run_client(argv, log) != 0)
        client_failed("vncsnapshot", log, run->x);
    gchar *buf = NULL;
    gsize len = 0;
    GError *err = NULL;
    g_assert_true(g_file_get_contents(jpg, &buf, &len, &err));
    struct image *cap = jpeg_decode((const uint8_t *)buf, len);
    g_assert_nonnull(cap);
    char *what = g_strdup_printf("vncsnapshot (%s) of %s, both through the same JPEG encoder",
                                 encoding, screen_name[s]);
    assert_same(what, cap, want_jpeg);
    g_test_message("vncsnapshot %s %s: equal after JPEG; the JPEG step itself moved channels by "
                   "up to %u levels",
                   encoding, screen_name[s], max_channel_diff(cap, want));
    g_free(what);
    g_free(buf);
    image_free(cap);
    unlink(jpg);
    unlink(log);
    g_free(jpg);
    g_free(log);
}

static void test_xendm(void)
{
    const char *xendm = g_getenv("XENDM");
    if (!xendm)
        g_error("XENDM is not set: run through make check");
    if (!g_file_test("/usr/bin/gvnccapture", G_FILE_TEST_IS_EXECUTABLE))
        g_error("/usr/bin/gvnccapture is missing: install the Debian package gvncviewer");
    if (!g_file_test("/usr/bin/vncsnapshot", G_FILE_TEST_IS_EXECUTABLE))
        g_error("/usr/bin/vncsnapshot is missing: install the Debian package vncsnapshot");
    for (unsigned s = 0; s < NR_SCREENS; s++)
        if (!qemu_dump[s])
            g_error(
                "no qemu-xen screendump of %s: run the whole program, its first test makes them",
                screen_name[s]);

    char *vnc = g_strdup_printf("127.0.0.1:%d", VNC_DISPLAY);
    struct dm_run run;
    start(&run, xendm, vnc);

    GError *err = NULL;
    JsonNode *q = qmp_execute(run.qmp, "query-vnc", NULL, QMP_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    JsonObject *qo = json_node_get_object(q);
    g_assert_true(json_object_get_boolean_member(qo, "enabled"));
    char *port = g_strdup_printf("%d", 5900 + VNC_DISPLAY);
    g_assert_cmpstr(json_object_get_string_member(qo, "service"), ==, port);
    g_assert_cmpstr(json_object_get_string_member(qo, "host"), ==, "127.0.0.1");
    g_free(port);
    json_node_unref(q);

    struct vga_guest g;
    if (!vga_guest_boot(&g, run.x, TRUE, &err))
        g_error("%s", err->message);
    static const char *const encodings[] = {"default", "raw", "hextile", "zrle", "zlib"};
    for (unsigned s = 0; s < NR_SCREENS; s++) {
        draw(&g, s);
        const struct image *ref = qemu_dump[s];
        struct image *want = expected(s);
        struct image *own = screendump(&run, screen_name[s]);
        char *what = g_strdup_printf("xendm's %s screendump vs qemu-xen's", screen_name[s]);
        assert_same(what, own, ref);
        g_free(what);
        image_free(own);
        if (want) /* qemu-xen's equals it: the clients are checked against both at once */
            assert_same("the guest's picture vs qemu-xen's", want, ref);

        capture_gvnc(&run, vnc, s, ref);
        struct image *ref_jpeg = jpeg_like_vncsnapshot(ref);
        for (unsigned e = 0; e < G_N_ELEMENTS(encodings); e++)
            capture_vncsnapshot(&run, vnc, s, ref_jpeg, ref, encodings[e]);
        image_free(ref_jpeg);
        image_free(want);
    }
    g_assert_null(xsim_error(run.x));
    g_assert_cmpint(kill(xsim_dm_pid(run.x), 0), ==, 0); /* still running */
    dm_stop(&run);
    g_free(vnc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vnc/screens/qemu-xen-screendumps", test_qemu_xen);
    g_test_add_func("/vnc/screens/xendm-gvnccapture-vncsnapshot", test_xendm);
    int rc = g_test_run();
    for (unsigned s = 0; s < NR_SCREENS; s++)
        image_free(qemu_dump[s]);
    return rc;
}
