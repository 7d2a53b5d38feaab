/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxengnttab.so.1 for xensim.  Grant tables serve PV backends only, which
 * xensim does not simulate: opening a handle works (qemu-xen opens one at
 * start), every grant operation fails with ENOSYS and says so once.  A
 * restricted handle dies, like the real one whose fd becomes /dev/null.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <xengnttab.h>

#include "shim.h"

struct xengntdev_handle {
    struct shim_handle h;
};

SHIM_EXPORT xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    xengnttab_handle *g = calloc(1, sizeof(*g));
    if (g)
        shim_handle_register(&g->h, true);
    return g;
}

SHIM_EXPORT int xengnttab_close(xengnttab_handle *g)
{
    if (g) {
        shim_handle_deregister(&g->h);
        free(g);
    }
    return 0;
}

SHIM_EXPORT int xengnttab_fd(xengnttab_handle *g) { return shim_enosys(__func__); }

SHIM_EXPORT int xengnttab_set_max_grants(xengnttab_handle *g, uint32_t nr)
{
    if (g->h.dead) {
        errno = EBADF;
        return -1;
    }
    return 0; /* nothing to limit: no grant is ever mapped */
}

SHIM_EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *g, uint32_t domid, uint32_t ref, int prot)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT void *xengnttab_map_grant_refs(xengnttab_handle *g, uint32_t count, uint32_t *domids, uint32_t *refs,
                                           int prot)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT void *xengnttab_map_domain_grant_refs(xengnttab_handle *g, uint32_t count, uint32_t domid,
                                                  uint32_t *refs, int prot)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT void *xengnttab_map_grant_ref_notify(xengnttab_handle *g, uint32_t domid, uint32_t ref, int prot,
                                                 uint32_t notify_offset, evtchn_port_t notify_port)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT int xengnttab_unmap(xengnttab_handle *g, void *start, uint32_t count)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xengnttab_grant_copy(xengnttab_handle *g, uint32_t count, xengnttab_grant_copy_segment_t *segs)
{
    if (count == 0)
        return 0;
    return shim_enosys(__func__);
}

SHIM_EXPORT int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *g, uint32_t domid, uint32_t flags, uint32_t count,
                                               const uint32_t *refs, uint32_t *fd)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *g, uint32_t fd, uint32_t wait_to_ms)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *g, uint32_t domid, uint32_t fd, uint32_t count,
                                             uint32_t *refs)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xengnttab_dmabuf_imp_release(xengnttab_handle *g, uint32_t fd) { return shim_enosys(__func__); }

SHIM_EXPORT xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT int xengntshr_close(xengntshr_handle *g) { return 0; }
SHIM_EXPORT int xengntshr_fd(xengntshr_handle *g) { return shim_enosys(__func__); }

SHIM_EXPORT void *xengntshr_share_pages(xengntshr_handle *g, uint32_t domid, int count, uint32_t *refs, int writable)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT void *xengntshr_share_page_notify(xengntshr_handle *g, uint32_t domid, uint32_t *ref, int writable,
                                              uint32_t notify_offset, evtchn_port_t notify_port)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT int xengntshr_unshare(xengntshr_handle *g, void *start, uint32_t count)
{
    return shim_enosys(__func__);
}
