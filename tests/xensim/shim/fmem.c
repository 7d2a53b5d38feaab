/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxenforeignmemory.so.1 for xensim: guest frames and ioreq-server
 * resource frames are mapped straight from the machine memfd.  Like Xen, a
 * mapping follows the frame, not the gfn: relocating memory later does not
 * move an existing mapping.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>

#include "shim.h"

struct xenforeignmemory_handle {
    struct shim_handle h;
};

struct xenforeignmemory_resource_handle {
    void *addr;
    unsigned long nr;
};

SHIM_EXPORT xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger, unsigned flags)
{
    xenforeignmemory_handle *f = calloc(1, sizeof(*f));
    if (f)
        shim_handle_register(&f->h, false);
    return f;
}

SHIM_EXPORT int xenforeignmemory_close(xenforeignmemory_handle *f)
{
    if (f) {
        shim_handle_deregister(&f->h);
        free(f);
    }
    return 0;
}

SHIM_EXPORT int xenforeignmemory_restrict(xenforeignmemory_handle *f, domid_t domid)
{
    f->h.restricted_domid = domid;
    return 0;
}

SHIM_EXPORT void *xenforeignmemory_map2(xenforeignmemory_handle *f, uint32_t dom, void *addr, int prot, int flags,
                                        size_t pages, const xen_pfn_t arr[], int err[])
{
    if (shim_handle_check(&f->h, dom) < 0)
        return NULL;
    if (!pages || ((flags & MAP_FIXED) && !addr)) {
        errno = EINVAL;
        return NULL;
    }
    int64_t *frames = malloc(pages * sizeof(*frames));
    int *e = err ? err : calloc(pages, sizeof(int));
    void *res = NULL;
    if (!frames || !e) {
        errno = ENOMEM;
        goto out;
    }
    int rc = shim_p2m_lookup(dom, pages, arr, frames);
    if (rc) {
        errno = -rc;
        goto out;
    }
    res = shim_map_frames(addr, prot, flags, pages, frames, e);
    if (res && !err) {
        /* without err[], any missing page fails the whole call */
        for (size_t i = 0; i < pages; i++)
            if (e[i]) {
                munmap(res, pages * 4096);
                res = NULL;
                errno = -e[i];
                break;
            }
    }
out:
    free(frames);
    if (!err)
        free(e);
    return res;
}

SHIM_EXPORT void *xenforeignmemory_map(xenforeignmemory_handle *f, uint32_t dom, int prot, size_t pages,
                                       const xen_pfn_t arr[], int err[])
{
    return xenforeignmemory_map2(f, dom, NULL, prot, 0, pages, arr, err);
}

SHIM_EXPORT int xenforeignmemory_unmap(xenforeignmemory_handle *f, void *addr, size_t pages)
{
    return munmap(addr, pages * 4096);
}

SHIM_EXPORT xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *f, domid_t domid, unsigned int type, unsigned int id,
                              unsigned long frame, unsigned long nr_frames, void **paddr, int prot, int flags)
{
    if (shim_handle_check(&f->h, domid) < 0)
        return NULL;
    struct xsp_resource q = {.domid = domid, .type = type, .id = id, .frame = frame, .nr = nr_frames};
    int64_t frames[8];
    if (nr_frames == 0 || nr_frames > 8) {
        errno = EINVAL;
        return NULL;
    }
    int rc = shim_call(XSP_RESOURCE_FRAMES, &q, sizeof(q), frames, sizeof(frames), NULL, NULL);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    xenforeignmemory_resource_handle *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->addr = shim_map_frames(*paddr, prot, flags, nr_frames, frames, NULL);
    if (!r->addr) {
        free(r);
        return NULL;
    }
    r->nr = nr_frames;
    *paddr = r->addr;
    return r;
}

SHIM_EXPORT int xenforeignmemory_unmap_resource(xenforeignmemory_handle *f, xenforeignmemory_resource_handle *r)
{
    if (r) {
        munmap(r->addr, r->nr * 4096);
        free(r);
    }
    return 0;
}

SHIM_EXPORT int xenforeignmemory_resource_size(xenforeignmemory_handle *f, domid_t domid, unsigned int type,
                                               unsigned int id, size_t *size)
{
    if (type != XENMEM_resource_ioreq_server) {
        errno = EOPNOTSUPP;
        return -1;
    }
    *size = 2 * 4096; /* buffered page + one sync page */
    return 0;
}
