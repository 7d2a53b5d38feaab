/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RGB images for tests (see image.h): allocation, pixel access, binary PPM
 * load/save, comparison.  The PPM reader follows the netpbm description of
 * P6: magic, three decimal numbers separated by whitespace and comments, a
 * single whitespace byte, then the raster.  Only maxval 255 (one byte per
 * sample) is accepted, which is all QEMU's screendump writes; 16-bit PPM,
 * PGM/PBM and plain (ASCII) variants are deliberately left out.
 */
#include "tests/common/image.h"

#include <errno.h>
#include <string.h>

GQuark image_error_quark(void)
{
    return g_quark_from_static_string("image-error-quark");
}

struct image *image_new(unsigned w, unsigned h)
{
    if (w == 0 || h == 0 || w > IMAGE_MAX_DIM || h > IMAGE_MAX_DIM)
        return NULL;

    struct image *img = g_new0(struct image, 1);
    img->w = w;
    img->h = h;
    img->rgb = g_malloc0((size_t)w * h * 3);
    return img;
}

void image_free(struct image *img)
{
    if (!img)
        return;
    g_free(img->rgb);
    g_free(img);
}

static uint8_t *image_px(const struct image *img, unsigned x, unsigned y)
{
    g_assert(x < img->w && y < img->h);
    return img->rgb + ((size_t)y * img->w + x) * 3;
}

uint32_t image_get_pixel(const struct image *img, unsigned x, unsigned y)
{
    const uint8_t *p = image_px(img, x, y);

    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

void image_set_pixel(struct image *img, unsigned x, unsigned y, uint32_t rgb)
{
    uint8_t *p = image_px(img, x, y);

    p[0] = (uint8_t)(rgb >> 16);
    p[1] = (uint8_t)(rgb >> 8);
    p[2] = (uint8_t)rgb;
}

/*
 * Clip the rectangle (x, y, w, h) to img into [x0, x1) x [y0, y1).
 * Returns FALSE when nothing is left.
 */
static gboolean image_clip(const struct image *img, unsigned x, unsigned y, unsigned w, unsigned h,
                           unsigned *x1, unsigned *y1)
{
    if (x >= img->w || y >= img->h || w == 0 || h == 0)
        return FALSE;
    *x1 = x + MIN(w, img->w - x);
    *y1 = y + MIN(h, img->h - y);
    return TRUE;
}

void image_fill_rect(struct image *img, unsigned x, unsigned y, unsigned w, unsigned h,
                     uint32_t rgb)
{
    unsigned x1, y1;

    if (!image_clip(img, x, y, w, h, &x1, &y1))
        return;
    for (unsigned j = y; j < y1; j++)
        for (unsigned i = x; i < x1; i++)
            image_set_pixel(img, i, j, rgb);
}

long image_compare(const struct image *a, const struct image *b, unsigned *first_x,
                   unsigned *first_y)
{
    long n = 0;

    if (a->w != b->w || a->h != b->h)
        return -1;
    for (unsigned y = 0; y < a->h; y++) {
        const uint8_t *pa = image_px(a, 0, y);
        const uint8_t *pb = image_px(b, 0, y);

        if (!memcmp(pa, pb, (size_t)a->w * 3))
            continue;
        for (unsigned x = 0; x < a->w; x++) {
            if (!memcmp(pa + x * 3, pb + x * 3, 3))
                continue;
            if (n++ == 0) {
                if (first_x)
                    *first_x = x;
                if (first_y)
                    *first_y = y;
            }
        }
    }
    return n;
}

long image_count_non_bg(const struct image *img, unsigned x, unsigned y, unsigned w, unsigned h,
                        uint32_t bg)
{
    unsigned x1, y1;
    long n = 0;

    if (!image_clip(img, x, y, w, h, &x1, &y1))
        return 0;
    for (unsigned j = y; j < y1; j++)
        for (unsigned i = x; i < x1; i++)
            n += image_get_pixel(img, i, j) != (bg & 0xffffffu);
    return n;
}

/* ------------------------------------------------------------------ PPM -- */

struct ppm_reader {
    const char *buf;
    size_t len, pos;
};

/* Skip whitespace and '#' comments (to the end of their line). */
static void ppm_skip_space(struct ppm_reader *r)
{
    while (r->pos < r->len) {
        char c = r->buf[r->pos];

        if (g_ascii_isspace(c)) {
            r->pos++;
        } else if (c == '#') {
            while (r->pos < r->len && r->buf[r->pos] != '\n' && r->buf[r->pos] != '\r')
                r->pos++;
        } else {
            break;
        }
    }
}

/* A decimal header field in [1, max] after optional whitespace/comments. */
static gboolean ppm_read_uint(struct ppm_reader *r, unsigned max, unsigned *v)
{
    unsigned val = 0;
    size_t start;

    ppm_skip_space(r);
    start = r->pos;
    while (r->pos < r->len && g_ascii_isdigit(r->buf[r->pos])) {
        val = val * 10 + (unsigned)(r->buf[r->pos] - '0');
        if (val > max)
            return FALSE;
        r->pos++;
    }
    if (r->pos == start || val == 0)
        return FALSE;
    /* A field ends at whitespace or a comment, not at any other byte. */
    if (r->pos < r->len && !g_ascii_isspace(r->buf[r->pos]) && r->buf[r->pos] != '#')
        return FALSE;
    *v = val;
    return TRUE;
}

struct image *image_load_ppm(const char *path, GError **err)
{
    struct ppm_reader r = {0};
    char *data = NULL;
    gsize len;
    unsigned w, h, maxval;
    struct image *img = NULL;
    const char *what;

    if (!g_file_get_contents(path, &data, &len, err))
        return NULL;
    r.buf = data;
    r.len = len;

    what = "no P6 magic";
    if (len < 2 || data[0] != 'P' || data[1] != '6')
        goto bad;
    r.pos = 2;
    if (r.pos < len && !g_ascii_isspace(data[r.pos]) && data[r.pos] != '#')
        goto bad;
    what = "bad width";
    if (!ppm_read_uint(&r, IMAGE_MAX_DIM, &w))
        goto bad;
    what = "bad height";
    if (!ppm_read_uint(&r, IMAGE_MAX_DIM, &h))
        goto bad;
    what = "bad maxval (only 255 is supported)";
    if (!ppm_read_uint(&r, 65535, &maxval) || maxval != 255)
        goto bad;
    /* Exactly one whitespace byte, or a comment through its line end. */
    what = "no whitespace after maxval";
    if (r.pos >= len)
        goto bad;
    if (data[r.pos] == '#') {
        while (r.pos < len && data[r.pos] != '\n' && data[r.pos] != '\r')
            r.pos++;
        if (r.pos >= len)
            goto bad;
    }
    r.pos++;

    size_t need = (size_t)w * h * 3;
    if (len - r.pos != need) {
        g_set_error(err, IMAGE_ERROR, IMAGE_ERROR_FORMAT,
                    "%s: %ux%u PPM needs %zu bytes of pixels, file has %zu", path, w, h, need,
                    len - r.pos);
        goto out;
    }
    img = image_new(w, h);
    memcpy(img->rgb, data + r.pos, need);
    goto out;

bad:
    g_set_error(err, IMAGE_ERROR, IMAGE_ERROR_FORMAT, "%s: not a P6 PPM: %s", path, what);
out:
    g_free(data);
    return img;
}

int image_save_ppm(const struct image *img, const char *path, GError **err)
{
    char *header = g_strdup_printf("P6\n%u %u\n255\n", img->w, img->h);
    size_t hlen = strlen(header);
    size_t dlen = (size_t)img->w * img->h * 3;
    char *buf = g_malloc(hlen + dlen);
    int ret = 0;

    memcpy(buf, header, hlen);
    memcpy(buf + hlen, img->rgb, dlen);
    if (!g_file_set_contents(path, buf, (gssize)(hlen + dlen), err))
        ret = -EIO;
    g_free(buf);
    g_free(header);
    return ret;
}
