/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Xen's rangeset rules for ioreq-server ranges (xen/common/rangeset.c as
 * used by hvm_map_io_range_to_ioreq_server):
 *  - add: a range that overlaps an existing one fails with -EEXIST; ranges
 *    that are adjacent to existing ones are merged into one;
 *  - remove: the removed span must lie inside one range (-ENOENT otherwise);
 *    the range may be split in two;
 *  - contains: true only if [s, e] lies inside a single range.
 * Not thread-safe: the caller holds the simulator lock.
 */
#ifndef XSIM_RANGESET_H
#define XSIM_RANGESET_H
#include <stdbool.h>
#include <stdint.h>

struct rangeset_range {
    uint64_t s, e; /* inclusive */
};
struct rangeset {
    struct rangeset_range *r; /* sorted by s, disjoint, non-adjacent */
    unsigned n, cap;
    unsigned max; /* Xen caps ranges per set (256 for ioreq servers) */
};

void rangeset_init(struct rangeset *rs, unsigned max_ranges);
void rangeset_destroy(struct rangeset *rs);
int rangeset_add(struct rangeset *rs, uint64_t s, uint64_t e);    /* 0, -EEXIST, -EINVAL (s>e), -ENOSPC */
int rangeset_remove(struct rangeset *rs, uint64_t s, uint64_t e); /* 0, -ENOENT, -EINVAL */
bool rangeset_contains(const struct rangeset *rs, uint64_t s, uint64_t e);
bool rangeset_overlaps(const struct rangeset *rs, uint64_t s, uint64_t e);
#endif
