/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the simulator's rangesets (tests/xensim/sim/rangeset.c):
 * Xen's ioreq-server range rules — merge of adjacent additions, -EEXIST on
 * overlap, removal only inside one range (with splitting), "contains" only
 * within a single range, the per-set limit and the 64-bit edges — plus a
 * randomised comparison against a bitmap model.
 */
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "tests/xensim/sim/rangeset.h"

#define MAX_RANGES 256 /* Xen's MAX_NR_IO_RANGES */

/* Assert the set holds exactly the n ranges in want (pairs s, e). */
static void check_ranges(const struct rangeset *rs, const uint64_t *want, unsigned n)
{
    unsigned i;

    g_assert_cmpuint(rs->n, ==, n);
    for (i = 0; i < n; i++) {
        g_assert_cmphex(rs->r[i].s, ==, want[2 * i]);
        g_assert_cmphex(rs->r[i].e, ==, want[2 * i + 1]);
    }
}

static void test_merge_adjacent(void)
{
    struct rangeset rs;

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, 0x10, 0x1f), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x20, 0x2f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x10, 0x2f}, 1);

    /* Merge on the left, then a separate range, then a bridge. */
    g_assert_cmpint(rangeset_add(&rs, 0x0, 0xf), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0x2f}, 1);
    g_assert_cmpint(rangeset_add(&rs, 0x40, 0x4f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0x2f, 0x40, 0x4f}, 2);
    g_assert_cmpint(rangeset_add(&rs, 0x30, 0x3f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0x4f}, 1);

    /* qemu-xen's 0xCF8 pattern (docs A6): three pieces, one range, and a
     * 4-byte access at 0xCF8 fits it. */
    g_assert_cmpint(rangeset_add(&rs, 0xcf8, 0xcf8), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0xcfa, 0xcfb), ==, 0);
    g_assert_false(rangeset_contains(&rs, 0xcf8, 0xcfb));
    g_assert_cmpint(rangeset_add(&rs, 0xcf9, 0xcf9), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0x4f, 0xcf8, 0xcfb}, 2);
    g_assert_true(rangeset_contains(&rs, 0xcf8, 0xcfb));
    rangeset_destroy(&rs);
}

static void test_overlap_eexist(void)
{
    struct rangeset rs;
    const uint64_t want[] = {0x10, 0x2f, 0x40, 0x4f};

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, 0x10, 0x2f), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x40, 0x4f), ==, 0);

    g_assert_cmpint(rangeset_add(&rs, 0x10, 0x2f), ==, -EEXIST);  /* same */
    g_assert_cmpint(rangeset_add(&rs, 0x20, 0x30), ==, -EEXIST);  /* tail */
    g_assert_cmpint(rangeset_add(&rs, 0x0, 0x10), ==, -EEXIST);   /* head */
    g_assert_cmpint(rangeset_add(&rs, 0x15, 0x16), ==, -EEXIST);  /* inside */
    g_assert_cmpint(rangeset_add(&rs, 0x0, 0xffff), ==, -EEXIST); /* covers both */
    g_assert_cmpint(rangeset_add(&rs, 0x30, 0x40), ==, -EEXIST);  /* gap + one */
    check_ranges(&rs, want, 2);

    /* The exact gap is free. */
    g_assert_cmpint(rangeset_add(&rs, 0x30, 0x3f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x10, 0x4f}, 1);
    rangeset_destroy(&rs);
}

static void test_remove_split(void)
{
    struct rangeset rs;

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, 0x100, 0x1ff), ==, 0);

    g_assert_cmpint(rangeset_remove(&rs, 0x140, 0x14f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x100, 0x13f, 0x150, 0x1ff}, 2);
    g_assert_false(rangeset_overlaps(&rs, 0x140, 0x14f));
    g_assert_true(rangeset_contains(&rs, 0x13f, 0x13f));
    g_assert_true(rangeset_contains(&rs, 0x150, 0x150));

    g_assert_cmpint(rangeset_remove(&rs, 0x100, 0x10f), ==, 0); /* head */
    g_assert_cmpint(rangeset_remove(&rs, 0x1f0, 0x1ff), ==, 0); /* tail */
    check_ranges(&rs, (const uint64_t[]){0x110, 0x13f, 0x150, 0x1ef}, 2);

    g_assert_cmpint(rangeset_remove(&rs, 0x110, 0x13f), ==, 0); /* whole */
    check_ranges(&rs, (const uint64_t[]){0x150, 0x1ef}, 1);

    /* Re-adding the removed middle merges everything back. */
    g_assert_cmpint(rangeset_add(&rs, 0x100, 0x14f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x100, 0x1ef}, 1);
    rangeset_destroy(&rs);
}

static void test_remove_enoent(void)
{
    struct rangeset rs;
    const uint64_t want[] = {0x0, 0xf, 0x20, 0x2f};

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_remove(&rs, 0, 0), ==, -ENOENT); /* empty set */
    g_assert_cmpint(rangeset_add(&rs, 0x0, 0xf), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x20, 0x2f), ==, 0);

    g_assert_cmpint(rangeset_remove(&rs, 0x8, 0x28), ==, -ENOENT);  /* spans two */
    g_assert_cmpint(rangeset_remove(&rs, 0x10, 0x1f), ==, -ENOENT); /* the gap */
    g_assert_cmpint(rangeset_remove(&rs, 0x28, 0x38), ==, -ENOENT); /* runs off the end */
    g_assert_cmpint(rangeset_remove(&rs, 0x1f, 0x20), ==, -ENOENT); /* one gap byte */
    g_assert_cmpint(rangeset_remove(&rs, 0x30, 0x30), ==, -ENOENT); /* just after */
    check_ranges(&rs, want, 2);
    rangeset_destroy(&rs);
}

static void test_contains_one_range(void)
{
    struct rangeset rs;

    rangeset_init(&rs, MAX_RANGES);
    g_assert_false(rangeset_contains(&rs, 0, 0));
    g_assert_false(rangeset_overlaps(&rs, 0, UINT64_MAX));
    g_assert_cmpint(rangeset_add(&rs, 0x0, 0xf), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x11, 0x1f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0xf, 0x11, 0x1f}, 2);

    g_assert_true(rangeset_contains(&rs, 0x0, 0xf));
    g_assert_true(rangeset_contains(&rs, 0x11, 0x1f));
    g_assert_true(rangeset_contains(&rs, 0x4, 0x7));
    g_assert_false(rangeset_contains(&rs, 0x8, 0x18)); /* two ranges + hole */
    g_assert_true(rangeset_overlaps(&rs, 0x8, 0x18));
    g_assert_false(rangeset_contains(&rs, 0x10, 0x10)); /* the hole */
    g_assert_false(rangeset_overlaps(&rs, 0x10, 0x10));
    g_assert_false(rangeset_contains(&rs, 0x1f, 0x20));
    g_assert_true(rangeset_overlaps(&rs, 0x1f, 0x20));
    g_assert_false(rangeset_contains(&rs, 5, 4)); /* s > e */
    g_assert_false(rangeset_overlaps(&rs, 5, 4));
    rangeset_destroy(&rs);
}

static void test_einval(void)
{
    struct rangeset rs;

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, 0x20, 0x1f), ==, -EINVAL);
    g_assert_cmpint(rangeset_add(&rs, UINT64_MAX, 0), ==, -EINVAL);
    g_assert_cmpuint(rs.n, ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x10, 0x2f), ==, 0);
    g_assert_cmpint(rangeset_remove(&rs, 0x20, 0x1f), ==, -EINVAL);
    check_ranges(&rs, (const uint64_t[]){0x10, 0x2f}, 1);
    rangeset_destroy(&rs);
}

static void test_limit_enospc(void)
{
    struct rangeset rs;
    unsigned i;

    rangeset_init(&rs, 4);
    for (i = 0; i < 4; i++)
        g_assert_cmpint(rangeset_add(&rs, i * 0x100, i * 0x100 + 0xf), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x1000, 0x100f), ==, -ENOSPC);
    g_assert_cmpuint(rs.n, ==, 4);
    g_assert_false(rangeset_overlaps(&rs, 0x1000, 0x100f));

    /* Merging does not need a new range, so it still works at the limit. */
    g_assert_cmpint(rangeset_add(&rs, 0x10, 0x1f), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0xf0, 0xff), ==, 0);
    g_assert_cmpuint(rs.n, ==, 4);
    g_assert_true(rangeset_contains(&rs, 0x0, 0x1f));
    g_assert_true(rangeset_contains(&rs, 0xf0, 0x10f));

    /* A splitting remove needs one more range: refused, set unchanged. */
    g_assert_cmpint(rangeset_remove(&rs, 0x204, 0x207), ==, -ENOSPC);
    g_assert_true(rangeset_contains(&rs, 0x200, 0x20f));

    /* Trimming needs none; removing a whole range frees a slot. */
    g_assert_cmpint(rangeset_remove(&rs, 0x200, 0x203), ==, 0);
    g_assert_cmpint(rangeset_remove(&rs, 0x300, 0x30f), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 0x1000, 0x100f), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0x0, 0x1f, 0xf0, 0x10f, 0x204, 0x20f, 0x1000, 0x100f}, 4);
    rangeset_destroy(&rs);
}

static void test_64bit_edges(void)
{
    const uint64_t top = UINT64_MAX;
    struct rangeset rs;

    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, top - 0xf, top), ==, 0);
    g_assert_true(rangeset_contains(&rs, top, top));
    g_assert_true(rangeset_contains(&rs, top - 0xf, top));
    g_assert_cmpint(rangeset_add(&rs, top, top), ==, -EEXIST);
    g_assert_cmpint(rangeset_add(&rs, top - 0x1f, top - 0x10), ==, 0); /* merges below */
    g_assert_cmpint(rangeset_add(&rs, 0, 0), ==, 0);
    g_assert_cmpint(rangeset_add(&rs, 1, 1), ==, 0); /* merges above 0 */
    check_ranges(&rs, (const uint64_t[]){0, 1, top - 0x1f, top}, 2);
    g_assert_cmpint(rangeset_add(&rs, 0, top), ==, -EEXIST);
    g_assert_false(rangeset_contains(&rs, 0, top));

    g_assert_cmpint(rangeset_remove(&rs, top, top), ==, 0);
    g_assert_cmpint(rangeset_remove(&rs, 0, 0), ==, 0);
    check_ranges(&rs, (const uint64_t[]){1, 1, top - 0x1f, top - 1}, 2);
    g_assert_cmpint(rangeset_remove(&rs, top - 1, top), ==, -ENOENT);

    /* The whole space as one range; split it; close it up again. */
    rangeset_destroy(&rs);
    rangeset_init(&rs, MAX_RANGES);
    g_assert_cmpint(rangeset_add(&rs, 0, top), ==, 0);
    g_assert_true(rangeset_contains(&rs, 0, top));
    g_assert_cmpint(rangeset_remove(&rs, 0x8000000000000000ull, 0x8000000000000000ull), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0, 0x7fffffffffffffffull, 0x8000000000000001ull, top}, 2);
    g_assert_cmpint(rangeset_add(&rs, 0x8000000000000000ull, 0x8000000000000000ull), ==, 0);
    check_ranges(&rs, (const uint64_t[]){0, top}, 1);
    g_assert_cmpint(rangeset_remove(&rs, 0, top), ==, 0);
    g_assert_cmpuint(rs.n, ==, 0);
    rangeset_destroy(&rs);
}

/* Random operations on [0, MODEL_BITS) checked against a bitmap: with merging,
 * "inside one range" is the same as "every unit present". */
#define MODEL_BITS 200
#define MODEL_OPS  20000
#define MODEL_MAX  12

static unsigned model_runs(const bool *bit)
{
    unsigned i, runs = 0;

    for (i = 0; i < MODEL_BITS; i++)
        if (bit[i] && (i == 0 || !bit[i - 1]))
            runs++;
    return runs;
}

static void test_random_vs_model(void)
{
    bool bit[MODEL_BITS] = {false}, next[MODEL_BITS];
    unsigned n_ok = 0, n_eexist = 0, n_enoent = 0, n_enospc = 0, n_split = 0;
    struct rangeset rs;
    unsigned op, i;

    rangeset_init(&rs, MODEL_MAX);
    for (op = 0; op < MODEL_OPS; op++) {
        uint64_t s = (uint64_t)g_test_rand_int_range(0, MODEL_BITS);
        uint64_t e = s + (uint64_t)g_test_rand_int_range(0, 12);
        bool any = false, all = true, adding = g_test_rand_bit();
        int want, rc;

        if (e >= MODEL_BITS)
            e = MODEL_BITS - 1;
        for (i = (unsigned)s; i <= e; i++) {
            any |= bit[i];
            all &= bit[i];
        }
        g_assert_cmpint(rangeset_overlaps(&rs, s, e), ==, any);
        g_assert_cmpint(rangeset_contains(&rs, s, e), ==, all);

        memcpy(next, bit, sizeof(bit));
        for (i = (unsigned)s; i <= e; i++)
            next[i] = adding;
        if (adding)
            want = any ? -EEXIST : model_runs(next) > MODEL_MAX ? -ENOSPC : 0;
        else
            want = !all ? -ENOENT : model_runs(next) > MODEL_MAX ? -ENOSPC : 0;
        rc = adding ? rangeset_add(&rs, s, e) : rangeset_remove(&rs, s, e);
        g_assert_cmpint(rc, ==, want);
        n_ok += rc == 0;
        n_eexist += rc == -EEXIST;
        n_enoent += rc == -ENOENT;
        n_enospc += rc == -ENOSPC;
        n_split += rc == 0 && !adding && model_runs(next) > model_runs(bit);
        if (rc == 0)
            memcpy(bit, next, sizeof(bit));

        /* Sorted, disjoint, non-adjacent, and equal to the model. */
        g_assert_cmpuint(rs.n, ==, model_runs(bit));
        for (i = 0; i < rs.n; i++) {
            uint64_t x;

            g_assert_cmphex(rs.r[i].s, <=, rs.r[i].e);
            if (i > 0)
                g_assert_cmphex(rs.r[i - 1].e + 1, <, rs.r[i].s);
            for (x = rs.r[i].s; x <= rs.r[i].e; x++)
                g_assert_true(bit[x]);
        }
    }
    /* The walk went through every outcome. */
    g_assert_cmpuint(n_ok, >, 0);
    g_assert_cmpuint(n_eexist, >, 0);
    g_assert_cmpuint(n_enoent, >, 0);
    g_assert_cmpuint(n_enospc, >, 0);
    g_assert_cmpuint(n_split, >, 0);
    rangeset_destroy(&rs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rangeset/merge-adjacent", test_merge_adjacent);
    g_test_add_func("/rangeset/overlap-eexist", test_overlap_eexist);
    g_test_add_func("/rangeset/remove-split", test_remove_split);
    g_test_add_func("/rangeset/remove-enoent", test_remove_enoent);
    g_test_add_func("/rangeset/contains-one-range", test_contains_one_range);
    g_test_add_func("/rangeset/einval", test_einval);
    g_test_add_func("/rangeset/limit-enospc", test_limit_enospc);
    g_test_add_func("/rangeset/64bit-edges", test_64bit_edges);
    g_test_add_func("/rangeset/random-vs-model", test_random_vs_model);
    return g_test_run();
}
