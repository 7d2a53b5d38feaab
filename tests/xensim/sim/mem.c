/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Machine memory and the guest's p2m.
 *
 * All "machine frames" live in one sparse memfd, mapped once into the
 * simulator; the DM maps the same frames through the shims (P2M_LOOKUP then
 * mmap of the memfd).  The p2m maps a gfn to a frame and a type.  Like Xen:
 *  - guest RAM is populated before the DM starts: 0-0x9FFFF and
 *    0xC0000-lowmem below 4 GiB, the rest from 4 GiB (the VGA hole and the
 *    MMIO hole stay holes);
 *  - populate_physmap adds frames at free gfns, charged against the
 *    domain's extra allowance;
 *  - relocate_memory moves p2m entries, never frames, so existing mappings
 *    of those frames stay valid;
 *  - dirty-VRAM tracking covers one range; the first call on a new range
 *    reports every page dirty.  Dirtiness is found exactly by comparing
 *    each tracked frame with a shadow copy (it also reports pages the DM
 *    wrote, which real Xen would not — harmless for tests).
 * Frames are never freed.  Callers hold x->lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

int mem_init(xsim *x)
{
    x->memfd = memfd_create("xensim-machine", MFD_CLOEXEC);
    if (x->memfd < 0)
        return -errno;
    if (ftruncate(x->memfd, XSIM_MEM_BYTES) < 0)
        return -errno;
    x->mem = mmap(NULL, XSIM_MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                  x->memfd, 0);
    if (x->mem == MAP_FAILED) {
        x->mem = NULL;
        return -errno;
    }
    x->p2m = mmap(NULL, XSIM_P2M_ENTRIES * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (x->p2m == MAP_FAILED) {
        x->p2m = NULL;
        return -errno;
    }
    x->next_frame = 16; /* frames 0-15 are never handed out */

    /* The toolstack's guest RAM layout. */
    uint64_t ram = (uint64_t)x->cfg.ram_mb << (20 - XSIM_PAGE_SHIFT);
    uint64_t low = (uint64_t)x->cfg.lowmem_mb << (20 - XSIM_PAGE_SHIFT);
    for (uint64_t g = 0; g < ram; g++) {
        uint64_t gfn = g < low ? g : (1ULL << (32 - XSIM_PAGE_SHIFT)) + (g - low);
        if (gfn >= 0xa0 && gfn < 0xc0)
            continue; /* VGA hole: MMIO, never RAM */
        x->p2m[gfn] = (uint64_t)(x->next_frame++) + 1;
    }
    x->ram_pages = x->next_frame - 16;
    return 0;
}

void mem_fini(xsim *x)
{
    if (x->mem)
        munmap(x->mem, XSIM_MEM_BYTES);
    if (x->p2m)
        munmap(x->p2m, XSIM_P2M_ENTRIES * sizeof(uint64_t));
    if (x->memfd >= 0)
        close(x->memfd);
    free(x->dv_shadow);
}

int64_t mem_alloc_frame(xsim *x)
{
    if (((uint64_t)x->next_frame + 1) << XSIM_PAGE_SHIFT > XSIM_MEM_BYTES)
        return -ENOMEM;
    return (int64_t)x->next_frame++;
}

int64_t mem_gfn_to_frame(xsim *x, uint64_t gfn)
{
    if (gfn >= XSIM_P2M_ENTRIES || !x->p2m[gfn])
        return -ENOENT;
    return (int64_t)((x->p2m[gfn] & P2M_FRAME_MASK) - 1);
}

int mem_gfn_type(xsim *x, uint64_t gfn)
{
    if (gfn >= XSIM_P2M_ENTRIES || !x->p2m[gfn])
        return -ENOENT;
    return (int)(x->p2m[gfn] >> P2M_TYPE_SHIFT);
}

int mem_populate(xsim *x, uint64_t gfn, unsigned order)
{
    uint64_t n = 1ULL << order;
    if (order > 18 || gfn + n > XSIM_P2M_ENTRIES || gfn + n < gfn)
        return -EINVAL;
    for (uint64_t i = 0; i < n; i++)
        if (x->p2m[gfn + i])
            return -EBUSY;
    if (x->extra_used + n > x->extra_pages)
        return -ENOMEM; /* beyond the domain's allowance, as Xen says */
    for (uint64_t i = 0; i < n; i++) {
        int64_t f = mem_alloc_frame(x);
        if (f < 0)
            return (int)f;
        x->p2m[gfn + i] = (uint64_t)f + 1;
    }
    x->extra_used += n;
    return 0;
}

int mem_relocate(xsim *x, uint64_t src, uint64_t dst, uint32_t nr)
{
    if (src + nr > XSIM_P2M_ENTRIES || dst + nr > XSIM_P2M_ENTRIES)
        return -EINVAL;
    /* Like XENMEM_add_to_physmap with XENMAPSPACE_gmfn_range: page by page;
     * a hole at the source fails, an occupied destination is replaced. */
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t s = src + i, d = dst + i;
        if (!x->p2m[s])
            return -ENOENT;
        if (s == d)
            continue;
        x->p2m[d] = x->p2m[s];
        x->p2m[s] = 0;
    }
    return 0;
}

int mem_set_type(xsim *x, uint64_t first, uint32_t nr, unsigned hvmmem_type)
{
    unsigned t;
    if (hvmmem_type == HVMMEM_ram_rw)
        t = P2M_RAM_RW;
    else if (hvmmem_type == HVMMEM_ram_ro)
        t = P2M_RAM_RO;
    else
        return -EINVAL;
    if (first + nr > XSIM_P2M_ENTRIES)
        return -EINVAL;
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t *e = &x->p2m[first + i];
        if (*e) /* Xen skips holes silently for these types */
            *e = (*e & P2M_FRAME_MASK) | ((uint64_t)t << P2M_TYPE_SHIFT);
    }
    return 0;
}

int mem_dirty_vram(xsim *x, uint64_t first, uint32_t nr, uint8_t *bitmap)
{
    if (nr == 0) {
        free(x->dv_shadow);
        x->dv_shadow = NULL;
        x->dv_nr = 0;
        return 0;
    }
    if (nr > (1U << 18) || first + nr > XSIM_P2M_ENTRIES)
        return -EINVAL; /* Xen: at most 1 GiB of VRAM */
    bool fresh = first != x->dv_first || nr != x->dv_nr || !x->dv_shadow;
    if (fresh) {
        free(x->dv_shadow);
        x->dv_shadow = calloc(nr, XSIM_PAGE_SIZE);
        if (!x->dv_shadow)
            return -ENOMEM;
        x->dv_first = first;
        x->dv_nr = nr;
    }
    memset(bitmap, 0, (nr + 7) / 8);
    for (uint32_t i = 0; i < nr; i++) {
        int64_t f = mem_gfn_to_frame(x, first + i);
        uint8_t *shadow = x->dv_shadow + (uint64_t)i * XSIM_PAGE_SIZE;
        if (f < 0) {
            if (fresh)
                bitmap[i / 8] |= 1u << (i % 8);
            continue;
        }
        uint8_t *page = mem_frame_ptr(x, (uint64_t)f);
        if (fresh || memcmp(page, shadow, XSIM_PAGE_SIZE)) {
            bitmap[i / 8] |= 1u << (i % 8);
            memcpy(shadow, page, XSIM_PAGE_SIZE);
        }
    }
    return 0;
}
