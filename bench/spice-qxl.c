/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/spice-display's QXL card: -device qxl-vga driven in native mode by
 * the xensim tests' QXL guest driver (tests/xensim/test-qxl-guest.h, the
 * bring-up Linux's qxl driver does), on a 1920x1080x32 primary surface.
 * Updates are sent the way Linux's qxl KMS driver sends a dirty
 * framebuffer: each dirty rectangle is a QXL_DRAW_COPY of a fresh 32-bit
 * bitmap (new id, pixels copied in) from buffers in BAR0 that are reused
 * only once the device released the command that used them; a driver
 * waiting for a buffer writes QXL_IO_NOTIFY_OOM (every 10 ms) as Linux's
 * does.  A full-screen change is one 1920x1080 copy; a rectangle step one
 * 64x64 copy of the background where the rectangle was and one of the
 * rectangle.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/common.h"
#include "bench/spice-display.h"
#include "tests/xensim/test-qxl-guest.h"

#define FULL_BUFS         3
#define RECT_BUFS         32
#define RELEASE_TIMEOUT_S 10

static uint32_t *const *patterns;

void sd_qxl_set_patterns(uint32_t *const pat[2])
{
    patterns = pat;
}

/* A bitmap buffer in BAR0: its QXLImage, one data chunk, and the release
 * id of the last command that used it (0: none). */
struct buf {
    uint64_t img, chunk;
    uint64_t id;
};

struct qxl_g {
    struct qg g;
    struct buf full[FULL_BUFS], rect[RECT_BUFS];
    unsigned nfull, nrect;
    uint64_t next_image_id;
    unsigned long oom; /* NOTIFY_OOM writes */
};

static void buf_alloc(struct qxl_g *q, struct buf *b, size_t bytes)
{
    b->img = qg_alloc(&q->g, sizeof(QXLImage));
    b->chunk = qg_alloc(&q->g, sizeof(QXLDataChunk) + bytes);
    b->id = 0;
}

/* Wait until the device released b's last command. */
static int buf_wait(struct qxl_g *q, struct buf *b)
{
    double start = bench_now_ns(), last_oom = 0;
    for (;;) {
        qg_collect(&q->g);
        if (!b->id || !g_hash_table_contains(q->g.pending, &b->id))
            return 0;
        double now = bench_now_ns();
        if (now - last_oom >= 10e6) {
            guest_outb((uint16_t)(q->g.io + QXL_IO_NOTIFY_OOM), 0);
            q->oom++;
            last_oom = now;
        }
        if (now - start > RELEASE_TIMEOUT_S * 1e9 || xsim_error(q->g.x)) {
            fprintf(stderr, "spice-display: QXL: a command was not released within %d s\n",
                    RELEASE_TIMEOUT_S);
            return -1;
        }
        usleep(100);
    }
}

/* Copy the w x h pixels at (sx, sy) of src (stride sw pixels) into b as a
 * fresh bitmap, and draw it at (x, y) on the primary surface. */
static void buf_draw(struct qxl_g *q, struct buf *b, const uint32_t *src, unsigned sw, int sx,
                     int sy, int w, int h, int x, int y)
{
    if (buf_wait(q, b) < 0)
        return; /* the benchmark's client check then times out */
    QXLImage *img = qg_ptr(&q->g, b->img);
    QXLDataChunk *ch = qg_ptr(&q->g, b->chunk);
    memset(img, 0, sizeof(*img));
    qc_image_bitmap(img, ++q->next_image_id, SPICE_BITMAP_FMT_32BIT, (unsigned)w, (unsigned)h,
                    (unsigned)w * 4, qg_addr(&q->g, b->chunk));
    ch->data_size = (uint32_t)(w * h * 4);
    ch->prev_chunk = ch->next_chunk = 0;
    if (sx == 0 && w == (int)sw)
        memcpy(ch->data, src + (size_t)sy * sw, (size_t)w * (size_t)h * 4);
    else
        for (int r = 0; r < h; r++)
            memcpy(ch->data + (size_t)r * (size_t)w * 4, src + (size_t)(sy + r) * sw + sx,
                   (size_t)w * 4);
    uint64_t off = qg_copy(&q->g, 0, qg_addr(&q->g, b->img), x, y, w, h, -1);
    b->id = ((QXLReleaseInfo *)qg_ptr(&q->g, off))->id;
    qg_push(&q->g, false, off, QXL_CMD_DRAW);
}

static uint32_t rect_px[SD_RECT * SD_RECT];

static int qxl_setup(struct sd_guest *gu)
{
    struct qxl_g *q = gu->priv = calloc(1, sizeof(*q));
    if (xsim_fw_pci_setup(gu->x) <= 0)
        return -1;
    qg_probe(&q->g, gu->x);
    qg_init(&q->g);
    qg_create_primary(&q->g, SD_W, SD_H, SPICE_SURFACE_FMT_32_xRGB);
    for (int i = 0; i < FULL_BUFS; i++)
        buf_alloc(q, &q->full[i], SD_FB_BYTES);
    for (int i = 0; i < RECT_BUFS; i++)
        buf_alloc(q, &q->rect[i], SD_RECT * SD_RECT * 4);
    for (unsigned v = 0; v < SD_RECT; v++)
        for (unsigned u = 0; u < SD_RECT; u++)
            rect_px[v * SD_RECT + u] = sd_rect_px(u, v);
    return xsim_error(gu->x) ? -1 : 0;
}

static void qxl_full(struct sd_guest *gu, int k)
{
    struct qxl_g *q = gu->priv;
    buf_draw(q, &q->full[q->nfull++ % FULL_BUFS], patterns[k & 1], SD_W, 0, 0, SD_W, SD_H, 0, 0);
}

static void qxl_rect(struct sd_guest *gu, int ox, int oy, int x, int y)
{
    struct qxl_g *q = gu->priv;
    if (ox >= 0)
        buf_draw(q, &q->rect[q->nrect++ % RECT_BUFS], patterns[0], SD_W, ox, oy, SD_RECT, SD_RECT,
                 ox, oy);
    buf_draw(q, &q->rect[q->nrect++ % RECT_BUFS], rect_px, SD_RECT, 0, 0, SD_RECT, SD_RECT, x, y);
}

static void qxl_free(struct sd_guest *gu)
{
    struct qxl_g *q = gu->priv;
    if (q && q->oom)
        fprintf(stderr, "spice-display: QXL: the guest wrote NOTIFY_OOM %lu times\n", q->oom);
    if (q && q->g.pending)
        g_hash_table_destroy(q->g.pending);
    free(q);
    gu->priv = NULL;
}

const struct sd_card sd_card_qxl = {
    .name = "QXL",
    .device = "qxl-vga,vram_size_mb=64,ram_size_mb=64",
    .setup = qxl_setup,
    .full = qxl_full,
    .rect = qxl_rect,
    .free = qxl_free,
};
