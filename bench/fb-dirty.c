/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/fb-dirty: the cost of finding what changed in a 1920x1080x32 frame
 * held in tracked VRAM — one refresh pass of xendm's framebuffer core
 * (display/fb.c, linked from the core's objects with the fake hypervisor
 * of tests/unit/fake-hv.c, whose scripted dirty-VRAM bitmap plays Xen's)
 * against the plain way: memcmp the whole frame row by row against a
 * shadow copy and copy the rows that differ.  xendm-internal, so the ratio
 * is to that memcmp, not to qemu-xen.
 *
 * Scenarios (the bitmap reports exactly the pages the "guest" wrote):
 *  a. a few pages touched: one pixel changed in each of 4 pages far apart;
 *  b. all touched: the whole frame rewritten with a pattern that differs
 *     in every pixel;
 *  c. all pages reported dirty but only one pixel differs (a guest that
 *     redraws the same picture).
 * Each pass is timed alone (wall clock, CLOCK_MONOTONIC); the two methods
 * alternate which goes first so neither inherits the other's warm cache.
 * Median and 10th percentile of --passes passes.  The core's own counters
 * check that it found exactly the changed tiles.
 *
 * Usage: fb-dirty [--passes N]
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pixman.h>

#include "bench/common.h"
#include "display/fb.h"
#include "tests/unit/fake-hv.h"

#define W          1920
#define H          1080
#define STRIDE     (W * 4)
#define FB_BYTES   ((size_t)STRIDE * H)
#define PAGES      ((FB_BYTES + 4095) / 4096)
#define VRAM_GFN   0xf0000
#define MAX_PASSES 10000

static uint32_t *vram;  /* the "guest's" framebuffer */
static uint8_t *shadow; /* the plain method's copy */
static uint64_t rows_changed;

/* The plain method: compare every row, copy those that differ. */
static void plain_pass(void)
{
    const uint8_t *src = (const uint8_t *)vram;
    for (unsigned y = 0; y < H; y++) {
        size_t off = (size_t)y * STRIDE;
        if (memcmp(src + off, shadow + off, STRIDE)) {
            memcpy(shadow + off, src + off, STRIDE);
            rows_changed++;
        }
    }
}

static double fb_pass(void)
{
    double t = bench_now_ns();
    fb_refresh_now();
    return bench_now_ns() - t;
}

static double timed_plain_pass(void)
{
    double t = bench_now_ns();
    plain_pass();
    return bench_now_ns() - t;
}

/* The frame: bench pattern k (the two differ in every pixel). */
static void fill(unsigned k)
{
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            vram[y * W + x] = bench_pattern_px(x, y, W, H, k);
}

static void mark_all_pages(void)
{
    for (uint64_t p = 0; p < PAGES; p++)
        fake_hv_dirty_vram_page(p);
}

enum scenario { FEW_PAGES, ALL_CHANGED, ALL_DIRTY_ONE_PIXEL };

/* Make the guest's change for pass i of scenario s; returns the tiles that
 * changed (what the core must find), 0 for every tile it compares. */
static uint64_t change(enum scenario s, unsigned i)
{
    switch (s) {
    case FEW_PAGES:
        for (unsigned k = 0; k < 4; k++) {
            /* 4 pages spread over the frame, one pixel each, in different tiles */
            uint64_t page = (uint64_t)k * (PAGES / 4) + (i % 64) * 3;
            size_t px = (size_t)page * 1024 + 512;
            vram[px] ^= 0xffffff;
            fake_hv_dirty_vram_page(page);
        }
        return 4;
    case ALL_CHANGED:
        fill(i % 2);
        mark_all_pages();
        return 0; /* every tile the core compared */
    case ALL_DIRTY_ONE_PIXEL:
        vram[(size_t)(i % H) * W + (i * 37) % W] ^= 0xffffff;
        mark_all_pages();
        return 1;
    }
    return 0;
}

static int run(enum scenario s, const char *label, unsigned passes, double *fb_med, double *pl_med)
{
    static double tf[MAX_PASSES], tp[MAX_PASSES];
    /* start from a known, synchronised state: frame, core shadow, plain shadow */
    fill(0);
    mark_all_pages();
    fb_refresh_now();
    memcpy(shadow, vram, FB_BYTES);
    for (unsigned i = 0; i < passes; i++) {
        struct fb_stats a, b;
        uint64_t want = change(s, i + 1);
        fb_get_stats(&a);
        if (i % 2) {
            tf[i] = fb_pass();
            tp[i] = timed_plain_pass();
        } else {
            tp[i] = timed_plain_pass();
            tf[i] = fb_pass();
        }
        fb_get_stats(&b);
        if (!want)
            want = b.tiles_compared - a.tiles_compared;
        if (!want || b.tiles_changed - a.tiles_changed != want) {
            fprintf(stderr, "fb-dirty: %s pass %u: the core found %llu changed tiles, not %llu\n",
                    label, i, (unsigned long long)(b.tiles_changed - a.tiles_changed),
                    (unsigned long long)want);
            return -1;
        }
    }
    bench_sort(tf, passes);
    bench_sort(tp, passes);
    *fb_med = tf[passes / 2] / 1e3;
    *pl_med = tp[passes / 2] / 1e3;
    printf("%-40s %10.1f %10.1f %10.1f %10.1f   %.3fx\n", label, tf[passes / 2] / 1e3,
           tf[passes / 10] / 1e3, tp[passes / 2] / 1e3, tp[passes / 10] / 1e3,
           tf[passes / 2] / tp[passes / 2]);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned passes = 200;
    static const struct option opts[] = {{"passes", 1, 0, 'p'}, {"help", 0, 0, 'h'}, {0}};
    int o;
    while ((o = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        if (o == 'p') {
            passes = (unsigned)atoi(optarg);
        } else {
            printf("Usage: %s [--passes N]  (10-%d, default 200)\n", argv[0], MAX_PASSES);
            return o == 'h' ? 0 : 2;
        }
    }
    if (passes < 10 || passes > MAX_PASSES) {
        fprintf(stderr, "fb-dirty: passes 10-%d\n", MAX_PASSES);
        return 2;
    }
    fake_hv_reset();
    fake_hv.dirty_vram_scripted = true;
    vram = aligned_alloc(4096, PAGES * 4096);
    shadow = aligned_alloc(4096, FB_BYTES);
    if (!vram || !shadow)
        return 1;
    memset(vram, 0, PAGES * 4096);
    if (fb_set_surface(W, H, PIXMAN_x8r8g8b8, vram, STRIDE) < 0)
        return 1;
    fb_track_vram(VRAM_GFN, PAGES, (const uint8_t *)vram, 0);

    printf("fb-dirty: 1920x1080x32 (%zu pages), one refresh pass, %u passes; microseconds\n",
           (size_t)PAGES, passes);
    printf("%-40s %10s %10s %10s %10s   %s\n", "", "fb.c p50", "fb.c p10", "memcmp p50",
           "memcmp p10", "fb.c / memcmp");
    double f, p;
    if (run(FEW_PAGES, "a. 4 pages touched, 1 pixel each", passes, &f, &p) < 0 ||
        run(ALL_CHANGED, "b. all pages touched, every pixel changed", passes, &f, &p) < 0 ||
        run(ALL_DIRTY_ONE_PIXEL, "c. all pages touched, 1 pixel changed", passes, &f, &p) < 0)
        return 1;
    fb_track_vram(0, 0, NULL, 0);
    free(vram);
    free(shadow);
    return 0;
}
