/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RGB images for pixel-exact comparisons in tests and benchmarks.
 *
 * One format only: 8-bit RGB, row-major, no padding, which is what binary
 * PPM (P6, maxval 255) stores and what QEMU's screendump writes.  Turn a
 * PPM into a PNG for humans with `convert x.ppm x.png` (imagemagick).
 *
 * Colours passed by value are 0xRRGGBB.  Coordinates are programmer
 * controlled: out-of-range pixel accesses are assertion failures, while
 * rectangles given to image_count_non_bg() and image_fill_rect() are clipped.
 * Files are untrusted input: image_load_ppm() checks everything.
 */
#ifndef TESTS_COMMON_IMAGE_H
#define TESTS_COMMON_IMAGE_H

#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

#define IMAGE_ERROR (image_error_quark())
GQuark image_error_quark(void);

/* Error codes in the IMAGE_ERROR domain. */
enum image_error {
    IMAGE_ERROR_FORMAT, /* not a P6 PPM with maxval 255, or truncated, or too large */
};

/* Largest width or height image_new() and image_load_ppm() accept. */
#define IMAGE_MAX_DIM 16384u

struct image {
    unsigned w, h;
    uint8_t *rgb; /* w * h * 3 bytes: R, G, B of (0,0), (1,0), ... */
};

/* A w x h image, all black; NULL if a dimension is 0 or above IMAGE_MAX_DIM. */
struct image *image_new(unsigned w, unsigned h);
/* NULL is allowed. */
void image_free(struct image *img);

/*
 * Load a binary PPM: "P6", width, height, maxval 255, separated by
 * whitespace, with '#' comments allowed up to the maxval; then one
 * whitespace byte and exactly w*h*3 bytes of pixels.  NULL with err set
 * (G_FILE_ERROR for file access, IMAGE_ERROR_FORMAT for the contents).
 */
struct image *image_load_ppm(const char *path, GError **err);
/* Write img as a P6 PPM (atomically replacing path).  0, or -EIO with err set. */
int image_save_ppm(const struct image *img, const char *path, GError **err);

/* 0xRRGGBB of pixel (x, y). */
uint32_t image_get_pixel(const struct image *img, unsigned x, unsigned y);
void image_set_pixel(struct image *img, unsigned x, unsigned y, uint32_t rgb);
/* Fill the rectangle (clipped to the image) with rgb. */
void image_fill_rect(struct image *img, unsigned x, unsigned y, unsigned w, unsigned h,
                     uint32_t rgb);

/*
 * Number of pixels that differ between a and b, or -1 if their sizes
 * differ.  When some differ, the first one in row-major order is stored in
 * *first_x / *first_y (either may be NULL); otherwise they are left alone.
 */
long image_compare(const struct image *a, const struct image *b, unsigned *first_x,
                   unsigned *first_y);

/* Pixels of the rectangle (clipped to the image) whose colour is not bg. */
long image_count_non_bg(const struct image *img, unsigned x, unsigned y, unsigned w, unsigned h,
                        uint32_t bg);

G_END_DECLS

#endif /* TESTS_COMMON_IMAGE_H */
