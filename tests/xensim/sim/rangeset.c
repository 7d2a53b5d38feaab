/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rangesets as Xen applies them to ioreq-server ranges: a sorted array of
 * disjoint, non-adjacent inclusive ranges over the full 64-bit space.
 *
 * Models xen/common/rangeset.c together with the checks that
 * ioreq_server_map_io_range()/..._unmap_io_range() put in front of it:
 * an add that overlaps anything is refused (-EEXIST) and one that touches a
 * neighbour is merged with it; a remove must lie inside one range (-ENOENT)
 * and may split it.  Xen limits a set to a number of ranges (256 for ioreq
 * servers); reaching the limit, on add or on a splitting remove, gives
 * -ENOSPC here (Xen itself reports -ENOMEM from its range allocator).
 *
 * Every "+ 1" and "- 1" below is guarded, so [x, UINT64_MAX] and [0, x]
 * work without wrapping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/xensim/sim/rangeset.h"

void rangeset_init(struct rangeset *rs, unsigned max_ranges)
{
    rs->r = NULL;
    rs->n = 0;
    rs->cap = 0;
    rs->max = max_ranges;
}

void rangeset_destroy(struct rangeset *rs)
{
    free(rs->r);
    rs->r = NULL;
    rs->n = rs->cap = 0;
}

/* Index of the first range whose end is >= s (rs->n if none). */
static unsigned rangeset_lower_bound(const struct rangeset *rs, uint64_t s)
{
    unsigned lo = 0, hi = rs->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (rs->r[mid].e < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Make room for one more range; 0 or -ENOSPC (limit or out of memory). */
static int rangeset_reserve(struct rangeset *rs)
{
    struct rangeset_range *nr;
    unsigned ncap;

    if (rs->n >= rs->max)
        return -ENOSPC;
    if (rs->n < rs->cap)
        return 0;
    ncap = rs->cap ? rs->cap * 2 : 8;
    if (ncap > rs->max)
        ncap = rs->max;
    nr = realloc(rs->r, (size_t)ncap * sizeof(*nr));
    if (!nr)
        return -ENOSPC;
    rs->r = nr;
    rs->cap = ncap;
    return 0;
}

static void rangeset_insert_at(struct rangeset *rs, unsigned i, uint64_t s, uint64_t e)
{
    memmove(&rs->r[i + 1], &rs->r[i], (size_t)(rs->n - i) * sizeof(rs->r[0]));
    rs->r[i].s = s;
    rs->r[i].e = e;
    rs->n++;
}

static void rangeset_delete_at(struct rangeset *rs, unsigned i)
{
    memmove(&rs->r[i], &rs->r[i + 1], (size_t)(rs->n - i - 1) * sizeof(rs->r[0]));
    rs->n--;
}

bool rangeset_overlaps(const struct rangeset *rs, uint64_t s, uint64_t e)
{
    unsigned i;

    if (s > e)
        return false;
    i = rangeset_lower_bound(rs, s);
    return i < rs->n && rs->r[i].s <= e;
}

bool rangeset_contains(const struct rangeset *rs, uint64_t s, uint64_t e)
{
    unsigned i;

    if (s > e)
        return false;
    i = rangeset_lower_bound(rs, s);
    return i < rs->n && rs->r[i].s <= s && e <= rs->r[i].e;
}

int rangeset_add(struct rangeset *rs, uint64_t s, uint64_t e)
{
    unsigned i;
    bool join_left, join_right;
    int rc;

    if (s > e)
        return -EINVAL;
    if (rangeset_overlaps(rs, s, e))
        return -EEXIST;

    /* r[i] is the first range after [s, e]; r[i - 1] the last before it. */
    i = rangeset_lower_bound(rs, s);
    join_left = i > 0 && s != 0 && rs->r[i - 1].e == s - 1;
    join_right = i < rs->n && e != UINT64_MAX && rs->r[i].s == e + 1;

    if (join_left && join_right) {
        rs->r[i - 1].e = rs->r[i].e;
        rangeset_delete_at(rs, i);
    } else if (join_left) {
        rs->r[i - 1].e = e;
    } else if (join_right) {
        rs->r[i].s = s;
    } else {
        rc = rangeset_reserve(rs);
        if (rc)
            return rc;
        rangeset_insert_at(rs, i, s, e);
    }
    return 0;
}

int rangeset_remove(struct rangeset *rs, uint64_t s, uint64_t e)
{
    struct rangeset_range *r;
    unsigned i;
    int rc;

    if (s > e)
        return -EINVAL;
    if (!rangeset_contains(rs, s, e))
        return -ENOENT;

    i = rangeset_lower_bound(rs, s);
    r = &rs->r[i];
    if (r->s == s && r->e == e) {
        rangeset_delete_at(rs, i);
    } else if (r->s == s) {
        r->s = e + 1; /* e < r->e, so no wrap */
    } else if (r->e == e) {
        r->e = s - 1; /* s > r->s, so no wrap */
    } else {
        uint64_t tail_e = r->e;

        rc = rangeset_reserve(rs);
        if (rc)
            return rc;
        r = &rs->r[i]; /* the array may have moved */
        r->e = s - 1;
        rangeset_insert_at(rs, i + 1, e + 1, tail_e);
    }
    return 0;
}
