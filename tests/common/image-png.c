/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image_load_png(): see image-png.h. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>

#include "tests/common/image-png.h"

struct image *image_load_png(const char *path)
{
    GError *err = NULL;
    GdkPixbuf *pb = gdk_pixbuf_new_from_file(path, &err);
    g_assert_no_error(err);
    unsigned w = (unsigned)gdk_pixbuf_get_width(pb), h = (unsigned)gdk_pixbuf_get_height(pb);
    int stride = gdk_pixbuf_get_rowstride(pb), nch = gdk_pixbuf_get_n_channels(pb);
    const guchar *px = gdk_pixbuf_read_pixels(pb);
    struct image *img = image_new(w, h);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            const guchar *p = px + y * (unsigned)stride + x * (unsigned)nch;
            image_set_pixel(img, x, y, (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]);
        }
    g_object_unref(pb);
    return img;
}
