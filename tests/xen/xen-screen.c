/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xen-screen: what `make check-xen` needs to judge a guest's screen as a
 * VNC or SPICE client received it.
 *
 *   xen-screen text ROM IMAGE
 *       Reads a VGA text-mode screen (80x25 cells of 8 or 9 by 16 pixels)
 *       back into characters: each cell's foreground pixels are looked up
 *       in the 8x16 font of ROM, Debian's SeaBIOS vgabios-stdvga.bin (the
 *       font the guest's VGA BIOS loads, so the one on screen).  Prints 25
 *       lines, trailing blanks removed; a cell that is no glyph prints '?'.
 *       IMAGE is a PNG (gvnccapture) or PPM (spicy-screenshot, QMP
 *       screendump).  Exit 2 if the image is not a text-mode screen.
 *   xen-screen grab HOST PORT N PREFIX [SECONDS]
 *       Connects N VNC viewers (libvncclient, shared, lossless encodings)
 *       to HOST:PORT at the same time, waits until each has received the
 *       whole framebuffer, checks that all are still connected at that
 *       moment, and writes PREFIX-<i>.ppm.  Exit 1 if one was refused or
 *       dropped, or SECONDS (default 60) passed.
 *   xen-screen same A B
 *       Exit 0 if images A and B have the same size and every differing
 *       pixel lies in one 9x16 character cell: the blinking text cursor is
 *       the only thing allowed to differ between two captures of the same
 *       text screen taken at different moments.
 *
 * Images are untrusted input (tests/common/image.h checks PPMs, gdk-pixbuf
 * the rest); sizes are bounded by IMAGE_MAX_DIM.
 */
#include "config.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <rfb/rfbclient.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/common/image.h"

#define TEXT_COLS   80
#define TEXT_ROWS   25
#define GLYPH_H     16
#define MAX_VIEWERS 8
/* Largest cursor-only difference "same" accepts: one 9x16 cell. */
#define CELL_W_MAX 9

/* ------------------------------------------------------------ images ---- */

static struct image *load_image(const char *path)
{
    GError *err = NULL;
    GdkPixbuf *pb = gdk_pixbuf_new_from_file(path, &err);
    if (!pb) {
        fprintf(stderr, "xen-screen: %s: %s\n", path, err->message);
        g_error_free(err);
        return NULL;
    }
    int w = gdk_pixbuf_get_width(pb), h = gdk_pixbuf_get_height(pb);
    int stride = gdk_pixbuf_get_rowstride(pb), nch = gdk_pixbuf_get_n_channels(pb);
    if (gdk_pixbuf_get_bits_per_sample(pb) != 8 || nch < 3 || w <= 0 || h <= 0 ||
        (unsigned)w > IMAGE_MAX_DIM || (unsigned)h > IMAGE_MAX_DIM) {
        fprintf(stderr, "xen-screen: %s: unsupported image (%dx%d, %d channels)\n", path, w, h,
                nch);
        g_object_unref(pb);
        return NULL;
    }
    struct image *img = image_new((unsigned)w, (unsigned)h);
    const guchar *px = gdk_pixbuf_read_pixels(pb);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const guchar *p = px + (size_t)y * stride + (size_t)x * nch;
            image_set_pixel(img, (unsigned)x, (unsigned)y,
                            ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]);
        }
    g_object_unref(pb);
    return img;
}

/* -------------------------------------------------------------- text ---- */

/*
 * The 8x16 font inside a VGA BIOS: 256 glyphs of 16 bytes.  Found by its
 * first two glyphs, the empty character 0 followed by the smiley of
 * character 1 (code page 437), which every IBM-compatible VGA font has.
 */
static const uint8_t glyph1[GLYPH_H] = {0x00, 0x00, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd,
                                        0x99, 0x81, 0x81, 0x7e, 0x00, 0x00, 0x00, 0x00};

static const uint8_t *find_font(const uint8_t *rom, size_t len)
{
    for (size_t off = 0; off + 256 * GLYPH_H <= len; off++) {
        if (memcmp(rom + off + GLYPH_H, glyph1, GLYPH_H))
            continue;
        bool empty = true;
        for (int i = 0; i < GLYPH_H; i++)
            empty = empty && rom[off + i] == 0;
        if (empty)
            return rom + off;
    }
    return NULL;
}

/* The character whose glyph is bits, or -1.  Printable ASCII first. */
static int glyph_lookup(const uint8_t *font, const uint8_t bits[GLYPH_H])
{
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < 256; c++) {
            bool ascii = c >= 0x20 && c < 0x7f;
            if (ascii != (pass == 0))
                continue;
            if (!memcmp(font + c * GLYPH_H, bits, GLYPH_H))
                return c;
        }
    return -1;
}

/* Rows of cell (cx, cy) where the pixel has colour fg, as glyph bits. */
static void cell_bits(const struct image *img, unsigned cw, unsigned cx, unsigned cy, uint32_t fg,
                      uint8_t bits[GLYPH_H])
{
    for (unsigned r = 0; r < GLYPH_H; r++) {
        uint8_t b = 0;
        for (unsigned c = 0; c < 8; c++)
            if (image_get_pixel(img, cx * cw + c, cy * GLYPH_H + r) == fg)
                b |= (uint8_t)(0x80 >> c);
        bits[r] = b;
    }
}

/* A few full-width rows near the bottom and nothing else: the underline
 * cursor over a blank cell (SeaBIOS: scan lines 13-14). */
static bool is_cursor(const uint8_t bits[GLYPH_H])
{
    unsigned r = 0;
    while (r < GLYPH_H && bits[r] == 0)
        r++;
    if (r < 11 || r == GLYPH_H)
        return false;
    while (r < GLYPH_H && bits[r] == 0xff)
        r++;
    while (r < GLYPH_H && bits[r] == 0)
        r++;
    return r == GLYPH_H;
}

static char cell_char(const struct image *img, const uint8_t *font, unsigned cw, unsigned cx,
                      unsigned cy)
{
    uint32_t col[2];
    unsigned ncol = 0;
    for (unsigned r = 0; r < GLYPH_H; r++)
        for (unsigned c = 0; c < 8; c++) {
            uint32_t p = image_get_pixel(img, cx * cw + c, cy * GLYPH_H + r);
            if (ncol > 0 && p == col[0])
                continue;
            if (ncol > 1 && p == col[1])
                continue;
            if (ncol == 2)
                return '?'; /* three colours: not a text cell */
            col[ncol++] = p;
        }
    if (ncol == 1)
        return ' ';
    /* either colour may be the foreground; printable ASCII wins */
    int found = -1;
    for (unsigned i = 0; i < 2; i++) {
        uint8_t bits[GLYPH_H];
        cell_bits(img, cw, cx, cy, col[i], bits);
        if (is_cursor(bits))
            return ' ';
        int c = glyph_lookup(font, bits);
        if (c >= 0x20 && c < 0x7f)
            return (char)c;
        if (c >= 0)
            found = c;
    }
    return found >= 0 ? '.' : '?';
}

static int cmd_text(const char *rom_path, const char *img_path)
{
    gchar *rom;
    gsize len;
    GError *err = NULL;
    if (!g_file_get_contents(rom_path, &rom, &len, &err)) {
        fprintf(stderr, "xen-screen: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    const uint8_t *font = find_font((const uint8_t *)rom, len);
    if (!font) {
        fprintf(stderr, "xen-screen: %s: no 8x16 VGA font found\n", rom_path);
        g_free(rom);
        return 1;
    }
    struct image *img = load_image(img_path);
    if (!img) {
        g_free(rom);
        return 1;
    }
    unsigned cw = img->w / TEXT_COLS;
    if (img->w % TEXT_COLS || (cw != 8 && cw != 9) || img->h != TEXT_ROWS * GLYPH_H) {
        fprintf(stderr, "xen-screen: %s: %ux%u is not an 80x25 text screen\n", img_path, img->w,
                img->h);
        image_free(img);
        g_free(rom);
        return 2;
    }
    for (unsigned y = 0; y < TEXT_ROWS; y++) {
        char line[TEXT_COLS + 1];
        for (unsigned x = 0; x < TEXT_COLS; x++)
            line[x] = cell_char(img, font, cw, x, y);
        int n = TEXT_COLS;
        while (n > 0 && line[n - 1] == ' ')
            n--;
        line[n] = 0;
        printf("%s\n", line);
    }
    image_free(img);
    g_free(rom);
    return 0;
}

/* -------------------------------------------------------------- same ---- */

static int cmd_same(const char *a_path, const char *b_path)
{
    struct image *a = load_image(a_path), *b = load_image(b_path);
    int rc = 1;
    if (!a || !b)
        goto out;
    if (a->w != b->w || a->h != b->h) {
        printf("different sizes: %ux%u and %ux%u\n", a->w, a->h, b->w, b->h);
        goto out;
    }
    unsigned x0 = a->w, y0 = a->h, x1 = 0, y1 = 0;
    long n = 0;
    for (unsigned y = 0; y < a->h; y++)
        for (unsigned x = 0; x < a->w; x++)
            if (image_get_pixel(a, x, y) != image_get_pixel(b, x, y)) {
                n++;
                x0 = MIN(x0, x);
                y0 = MIN(y0, y);
                x1 = MAX(x1, x);
                y1 = MAX(y1, y);
            }
    if (n == 0) {
        printf("identical, %ux%u\n", a->w, a->h);
        rc = 0;
    } else if (x1 - x0 < CELL_W_MAX && y1 - y0 < GLYPH_H && x0 / CELL_W_MAX == x1 / CELL_W_MAX &&
               y0 / GLYPH_H == y1 / GLYPH_H) {
        printf("%ld pixels differ, all in the cell at %u,%u (the text cursor), %ux%u\n", n, x0, y0,
               a->w, a->h);
        rc = 0;
    } else {
        printf("%ld pixels differ, in %u,%u-%u,%u\n", n, x0, y0, x1, y1);
    }
out:
    image_free(a);
    image_free(b);
    return rc;
}

/* -------------------------------------------------------------- grab ---- */

struct viewer {
    rfbClient *rc;
    uint8_t *seen; /* per pixel: received in an update this round */
    long missing;
    int w, h;
    int round; /* full screens received */
};

static int viewer_tag;

static void viewer_got_update(rfbClient *rc, int x, int y, int w, int h)
{
    struct viewer *v = rfbClientGetClientData(rc, &viewer_tag);
    if (!v || !v->seen || rc->width != v->w || rc->height != v->h)
        return;
    for (int j = MAX(y, 0); j < MIN(y + h, v->h); j++)
        for (int i = MAX(x, 0); i < MIN(x + w, v->w); i++)
            if (!v->seen[(size_t)j * v->w + i]) {
                v->seen[(size_t)j * v->w + i] = 1;
                v->missing--;
            }
}

static void viewer_reset(struct viewer *v)
{
    g_free(v->seen);
    v->w = v->rc->width;
    v->h = v->rc->height;
    v->seen = g_malloc0((size_t)v->w * v->h);
    v->missing = (long)v->w * v->h;
}

static void quiet_log(const char *fmt, ...) {}

/* Still connected: no EOF or error pending on the socket. */
static bool viewer_connected(struct viewer *v)
{
    char c;
    ssize_t n = recv(v->rc->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static int cmd_grab(const char *host, int port, int n, const char *prefix, int seconds)
{
    struct viewer v[MAX_VIEWERS] = {0};
    int rc = 1;
    rfbClientLog = quiet_log;
    for (int i = 0; i < n; i++) {
        rfbClient *c = rfbGetClient(8, 3, 4);
        free(c->serverHost);
        c->serverHost = strdup(host);
        c->serverPort = port;
        c->appData.shareDesktop = TRUE;
        c->appData.encodingsString = "hextile zlib raw";
        c->appData.enableJPEG = FALSE;
        c->GotFrameBufferUpdate = viewer_got_update;
        rfbClientSetClientData(c, &viewer_tag, &v[i]);
        if (!rfbInitClient(c, NULL, NULL)) { /* frees c */
            printf("viewer %d: could not connect to %s:%d\n", i, host, port);
            goto out;
        }
        v[i].rc = c;
        viewer_reset(&v[i]);
    }
    /*
     * Two rounds: a full screen, then, asked for again, another full
     * screen.  libvncclient reports pseudo-rectangles (desktop size) through
     * the same callback as pixels, so only the second round proves that
     * every pixel of the saved picture came from the server.
     */
    gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    for (;;) {
        bool all = true;
        for (int i = 0; i < n; i++) {
            if (v[i].rc->width != v[i].w || v[i].rc->height != v[i].h) {
                viewer_reset(&v[i]); /* the guest changed mode: start over */
                v[i].round = 0;
                SendFramebufferUpdateRequest(v[i].rc, 0, 0, v[i].w, v[i].h, FALSE);
            } else if (v[i].missing == 0 && v[i].round == 0) {
                viewer_reset(&v[i]);
                v[i].round = 1;
                SendFramebufferUpdateRequest(v[i].rc, 0, 0, v[i].w, v[i].h, FALSE);
            }
            all = all && v[i].round == 1 && v[i].missing == 0;
        }
        if (all)
            break;
        if (g_get_monotonic_time() > deadline) {
            for (int i = 0; i < n; i++)
                printf("viewer %d: %ld of %d pixels never received (round %d)\n", i, v[i].missing,
                       v[i].w * v[i].h, v[i].round);
            goto out;
        }
        for (int i = 0; i < n; i++) {
            if (v[i].round == 1 && v[i].missing == 0)
                continue;
            int m = WaitForMessage(v[i].rc, 100000);
            if (m < 0 || (m > 0 && !HandleRFBServerMessage(v[i].rc))) {
                printf("viewer %d: the server closed the connection\n", i);
                goto out;
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (!viewer_connected(&v[i])) {
            printf("viewer %d: disconnected by the time all had the screen\n", i);
            goto out;
        }
    for (int i = 0; i < n; i++) {
        struct image *img = image_new((unsigned)v[i].w, (unsigned)v[i].h);
        const uint8_t *fb = v[i].rc->frameBuffer; /* 32 bpp, red in byte 0 */
        for (int y = 0; y < v[i].h; y++)
            for (int x = 0; x < v[i].w; x++) {
                const uint8_t *p = fb + ((size_t)y * v[i].w + x) * 4;
                image_set_pixel(img, (unsigned)x, (unsigned)y,
                                ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]);
            }
        char *path = g_strdup_printf("%s-%d.ppm", prefix, i);
        GError *err = NULL;
        int r = image_save_ppm(img, path, &err);
        image_free(img);
        if (r < 0) {
            printf("%s: %s\n", path, err->message);
            g_error_free(err);
            g_free(path);
            goto out;
        }
        printf("viewer %d: %dx%d, saved %s\n", i, v[i].w, v[i].h, path);
        g_free(path);
    }
    printf("%d viewers connected at once, each received the whole screen\n", n);
    rc = 0;
out:
    for (int i = 0; i < n; i++)
        if (v[i].rc) {
            free(v[i].rc->frameBuffer);
            rfbClientCleanup(v[i].rc);
            g_free(v[i].seen);
        }
    return rc;
}

/* -------------------------------------------------------------- main ---- */

static int usage(void)
{
    fprintf(stderr, "usage: xen-screen text ROM IMAGE\n"
                    "       xen-screen grab HOST PORT N PREFIX [SECONDS]\n"
                    "       xen-screen same A B\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "text"))
        return cmd_text(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "same"))
        return cmd_same(argv[2], argv[3]);
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "grab")) {
        int port = atoi(argv[3]), n = atoi(argv[4]);
        int secs = argc == 7 ? atoi(argv[6]) : 60;
        if (port <= 0 || port > 65535 || n < 1 || n > MAX_VIEWERS || secs <= 0)
            return usage();
        return cmd_grab(argv[2], port, n, argv[5], secs);
    }
    return usage();
}
