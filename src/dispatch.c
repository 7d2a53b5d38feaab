/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address dispatch (design rule 4, src/dispatch.h).
 *
 * One array of region pointers per address space, kept sorted by base
 * address and free of overlaps, so a guest access is a binary search.  The
 * backend (src/xen/: map_io_range_to_ioreq_server) is told about every
 * insertion and removal with inclusive ends, in the same order, so Xen
 * forwards exactly what this table handles.
 *
 * An access is cut into pieces:
 *  - by region: the region holding the first byte takes the access; bytes
 *    past its end go to whatever holds them (another region, or nothing:
 *    all-ones / dropped).  Exception, as on real decoders: an access that
 *    starts at the base of a region narrower than the access goes whole to
 *    that region when its ops' max_size explicitly allows that width.
 *  - by ops: pieces wider than max_size (or of an odd width) are split into
 *    naturally aligned accesses; reads narrower than min_size are widened to
 *    the aligned min_size window around them and the right bytes extracted;
 *    writes narrower than min_size are dropped.
 * The table may change while a handler runs (a BAR write moving a region,
 * a reset): every handler call looks its region up afresh.
 *
 * Threads: main thread only.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/dispatch.h"
#include "src/log.h"

#define TAG "io"

struct io_table {
    struct io_region **r; /* sorted by base */
    size_t n, cap;
};

static struct io_table tables[2];
static struct io_backend backend;
static bool have_backend;
static struct io_stats stats;

static const char *space_name(enum io_space space)
{
    return space == IO_PIO ? "port" : "mmio";
}

static uint64_t region_last(const struct io_region *r)
{
    return r->base + r->size - 1;
}

static struct io_table *table_of(enum io_space space)
{
    assert(space == IO_PIO || space == IO_MMIO);
    return &tables[space];
}

/* Index of the first region whose last byte is >= addr (n if none). */
static size_t lower_bound(const struct io_table *t, uint64_t addr)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (region_last(t->r[mid]) < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct io_region *io_region_next(enum io_space space, uint64_t addr)
{
    struct io_table *t = table_of(space);
    size_t i = lower_bound(t, addr);

    return i < t->n ? t->r[i] : NULL;
}

static struct io_region *lookup(enum io_space space, uint64_t addr)
{
    struct io_region *r = io_region_next(space, addr);

    return r && r->base <= addr ? r : NULL;
}

static int backend_map(const struct io_region *r, bool map)
{
    if (!have_backend || !backend.map)
        return 0;
    return backend.map(backend.opaque, r->space, r->base, region_last(r), map);
}

void io_set_backend(const struct io_backend *be)
{
    have_backend = be != NULL;
    if (!be) {
        memset(&backend, 0, sizeof(backend));
        return;
    }
    backend = *be;
    /* Regions added before the backend existed are mapped now. */
    for (int s = IO_PIO; s <= IO_MMIO; s++)
        for (size_t i = 0; i < tables[s].n; i++) {
            int rc = backend_map(tables[s].r[i], true);
            if (rc < 0)
                log_msg(TAG, "mapping %s %s %#llx-%#llx failed (%d)", space_name(s),
                        tables[s].r[i]->ops->name, (unsigned long long)tables[s].r[i]->base,
                        (unsigned long long)region_last(tables[s].r[i]), rc);
        }
}

static bool is_pow2(unsigned n)
{
    return n && !(n & (n - 1));
}

static bool valid_region(const struct io_region *r)
{
    if (r->size == 0 || region_last(r) < r->base)
        return false;
    if ((r->ops->min_size && !is_pow2(r->ops->min_size)) ||
        (r->ops->max_size && !is_pow2(r->ops->max_size)))
        return false;
    /* widened reads must stay inside the region */
    if (r->ops->min_size > 1 && (r->size % r->ops->min_size || r->base % r->ops->min_size))
        return false;
    return true;
}

/* Position where r would go, or -EEXIST if it overlaps a region other than
 * `self`. */
static int find_slot(struct io_table *t, const struct io_region *r, const struct io_region *self,
                     size_t *pos)
{
    size_t i = lower_bound(t, r->base);

    if (i < t->n && t->r[i] == self)
        i++;
    if (i < t->n && t->r[i]->base <= region_last(r))
        return -EEXIST;
    *pos = i;
    return 0;
}

static int table_insert(struct io_table *t, struct io_region *r, size_t pos)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct io_region **nr = realloc(t->r, cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        t->r = nr;
        t->cap = cap;
    }
    memmove(&t->r[pos + 1], &t->r[pos], (t->n - pos) * sizeof(t->r[0]));
    t->r[pos] = r;
    t->n++;
    return 0;
}

static void table_remove(struct io_table *t, const struct io_region *r)
{
    size_t i = lower_bound(t, r->base);

    assert(i < t->n && t->r[i] == r);
    memmove(&t->r[i], &t->r[i + 1], (t->n - i - 1) * sizeof(t->r[0]));
    t->n--;
}

int io_region_add(struct io_region *r)
{
    struct io_table *t = table_of(r->space);
    size_t pos;
    int rc;

    assert(r->ops && !r->active);
    if (!valid_region(r))
        return -EINVAL;
    rc = find_slot(t, r, NULL, &pos);
    if (rc < 0)
        return rc;
    rc = backend_map(r, true);
    if (rc < 0)
        return rc;
    rc = table_insert(t, r, pos);
    if (rc < 0) {
        backend_map(r, false);
        return rc;
    }
    r->active = true;
    return 0;
}

void io_region_del(struct io_region *r)
{
    int rc;

    if (!r->active)
        return;
    table_remove(table_of(r->space), r);
    r->active = false;
    rc = backend_map(r, false);
    if (rc < 0)
        LOG_GUEST(TAG, "unmapping %s %s %#llx-%#llx failed (%d)", space_name(r->space),
                  r->ops->name, (unsigned long long)r->base, (unsigned long long)region_last(r),
                  rc);
}

/*
 * Moving checks the destination first, so a refused move (-EEXIST,
 * -EINVAL) leaves the region where it was.  If the backend refuses the new
 * range the region ends up removed, as at Xen.
 */
int io_region_move(struct io_region *r, uint64_t new_base)
{
    struct io_table *t = table_of(r->space);
    struct io_region probe = *r;
    size_t pos;
    int rc;

    assert(r->active);
    if (new_base == r->base)
        return 0;
    probe.base = new_base;
    if (!valid_region(&probe))
        return -EINVAL;
    rc = find_slot(t, &probe, r, &pos);
    if (rc < 0)
        return rc;
    io_region_del(r);
    r->base = new_base;
    return io_region_add(r);
}

void io_reset_table(void)
{
    for (int s = IO_PIO; s <= IO_MMIO; s++) {
        for (size_t i = 0; i < tables[s].n; i++)
            tables[s].r[i]->active = false;
        tables[s].n = 0;
    }
    memset(&stats, 0, sizeof(stats));
}

void io_get_stats(struct io_stats *st)
{
    *st = stats;
}

/* ------------------------------------------------------------------------
 * Accesses
 */

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

/* Largest power of two <= n. */
static unsigned pow2_floor(unsigned n)
{
    unsigned p = 1;

    while (p * 2 <= n)
        p *= 2;
    return p;
}

static uint64_t call_read(const struct io_region *r, uint64_t off, unsigned size)
{
    if (!r->ops->read)
        return size_mask(size);
    return r->ops->read(r->opaque, off, size) & size_mask(size);
}

static void call_write(const struct io_region *r, uint64_t off, unsigned size, uint64_t v)
{
    if (r->ops->write)
        r->ops->write(r->opaque, off, size, v & size_mask(size));
}

/*
 * Cut the next piece of an access at `off` inside region r, `n` bytes
 * wanted: returns how many bytes the handler call will cover and sets
 * *widen when the call is a widened read of min_size bytes.
 */
static unsigned piece_size(const struct io_region *r, uint64_t off, unsigned n, bool *widen)
{
    unsigned min = r->ops->min_size, max = r->ops->max_size;

    *widen = false;
    if (!(is_pow2(n) && (!max || n <= max))) {
        /* too wide or an odd width: the first naturally aligned chunk */
        unsigned c = pow2_floor(n);
        if (max && c > max)
            c = max;
        while (c > 1 && (off & (c - 1)))
            c /= 2;
        n = c;
    }
    if (min && n < min) {
        /* the bytes of this access inside one aligned min_size window */
        unsigned skip = (unsigned)(off & (min - 1));
        if (n > min - skip)
            n = min - skip;
        *widen = true;
    }
    return n;
}

/*
 * Every handler call is preceded by a fresh lookup, so a handler may add,
 * move or remove regions (its own included) while an access is under way.
 */
static uint64_t dispatch(enum io_space space, uint64_t addr, unsigned size, bool write, uint64_t v)
{
    uint64_t out = 0;
    bool unclaimed = false;

    for (unsigned done = 0; done < size;) {
        uint64_t a = addr + done, piece = 0;
        unsigned left = size - done, n;
        struct io_region *r;
        bool widen;

        if (a < addr) { /* wrapped past the top of the address space */
            out |= size_mask(left) << (done * 8);
            unclaimed = true;
            break;
        }
        r = lookup(space, a);
        if (!r) {
            struct io_region *next = io_region_next(space, a);
            n = left;
            if (next && next->base - a < n)
                n = (unsigned)(next->base - a);
            out |= size_mask(n) << (done * 8);
            unclaimed = true;
            done += n;
            continue;
        }
        uint64_t off = a - r->base, avail = r->size - off;
        n = left;
        if (n > avail &&
            !(done == 0 && off == 0 && r->ops->max_size && n <= r->ops->max_size && is_pow2(n)))
            n = (unsigned)avail;
        n = piece_size(r, off, n, &widen);
        if (widen) {
            uint64_t win = off & ~(uint64_t)(r->ops->min_size - 1);
            if (write)
                LOG_GUEST(TAG, "%s: %u-byte write at +%#llx below its %u-byte minimum dropped",
                          r->ops->name, n, (unsigned long long)off, r->ops->min_size);
            else
                piece = call_read(r, win, r->ops->min_size) >> ((off - win) * 8);
        } else if (write) {
            call_write(r, off, n, v >> (done * 8));
        } else {
            piece = call_read(r, off, n);
        }
        out |= (piece & size_mask(n)) << (done * 8);
        done += n;
    }
    if (unclaimed) {
        if (write) {
            stats.unclaimed_writes++;
            LOG_GUEST(TAG, "unclaimed %u-byte %s write at %#llx (value %#llx) dropped", size,
                      space_name(space), (unsigned long long)addr, (unsigned long long)v);
        } else {
            stats.unclaimed_reads++;
            LOG_GUEST(TAG, "unclaimed %u-byte %s read at %#llx", size, space_name(space),
                      (unsigned long long)addr);
        }
    }
    return out;
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

uint64_t io_read(enum io_space space, uint64_t addr, unsigned size)
{
    stats.reads++;
    if (!valid_size(size)) {
        stats.unclaimed_reads++;
        LOG_GUEST(TAG, "%s read of bad size %u at %#llx", space_name(space), size,
                  (unsigned long long)addr);
        return UINT64_MAX;
    }
    return dispatch(space, addr, size, false, 0);
}

void io_write(enum io_space space, uint64_t addr, unsigned size, uint64_t value)
{
    stats.writes++;
    if (!valid_size(size)) {
        stats.unclaimed_writes++;
        LOG_GUEST(TAG, "%s write of bad size %u at %#llx dropped", space_name(space), size,
                  (unsigned long long)addr);
        return;
    }
    dispatch(space, addr, size, true, value & size_mask(size));
}
