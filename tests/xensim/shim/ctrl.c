/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxenctrl.so.4.17 for xensim: the calls a device model makes (creating
 * frames for VRAM and ROMs, HVM params, the shutdown fallback).  PCI
 * passthrough calls fail with ENOSYS.  Only what device models import is
 * exported; the real library's other ~400 functions are toolstack business.
 * The handle dies when restricted: the real one's hypercall fd becomes
 * /dev/null.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <xenctrl.h>

#include "shim.h"

struct xc_interface_core {
    struct shim_handle h;
};

#define CHECK(xch, dom)                                                                            \
    do {                                                                                           \
        if (shim_handle_check(&(xch)->h, (dom)) < 0)                                               \
            return -1;                                                                             \
    } while (0)

SHIM_EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                            unsigned open_flags)
{
    xc_interface *x = calloc(1, sizeof(*x));
    if (x)
        shim_handle_register(&x->h, true);
    return x;
}

SHIM_EXPORT int xc_interface_close(xc_interface *x)
{
    if (x) {
        shim_handle_deregister(&x->h);
        free(x);
    }
    return 0;
}

SHIM_EXPORT int xc_domain_populate_physmap_exact(xc_interface *x, uint32_t domid, unsigned long nr,
                                                 unsigned int order, unsigned int flags, xen_pfn_t *ext)
{
    CHECK(x, domid);
    if (flags) {
        errno = EINVAL; /* no memflags (NUMA, 32-bit addresses) in xensim */
        return -1;
    }
    size_t max = XSP_MAX_LIST - 4;
    struct xsp_populate *q = malloc(sizeof(*q) + max * 8);
    if (!q)
        return -1;
    int rc = 0;
    for (unsigned long done = 0; done < nr && !rc;) {
        size_t k = nr - done < max ? nr - done : max;
        *q = (struct xsp_populate){.domid = domid, .order = order, .n = (uint32_t)k};
        for (size_t i = 0; i < k; i++)
            q->gfn[i] = ext[done + i];
        rc = shim_call(XSP_POPULATE, q, (uint32_t)(sizeof(*q) + k * 8), NULL, 0, NULL, NULL);
        done += k;
    }
    free(q);
    return shim_ret(rc);
}

static int param(xc_interface *x, uint32_t domid, uint16_t op, uint32_t index, uint64_t *value)
{
    CHECK(x, domid);
    struct xsp_hvm_param q = {.domid = domid, .index = index, .value = *value}, rep = {0};
    int rc = shim_call(op, &q, sizeof(q), &rep, sizeof(rep), NULL, NULL);
    if (!rc)
        *value = rep.value;
    return shim_ret(rc);
}

SHIM_EXPORT int xc_hvm_param_set(xc_interface *x, uint32_t dom, uint32_t p, uint64_t value)
{
    return param(x, dom, XSP_HVM_PARAM_SET, p, &value);
}

SHIM_EXPORT int xc_hvm_param_get(xc_interface *x, uint32_t dom, uint32_t p, uint64_t *value)
{
    return param(x, dom, XSP_HVM_PARAM_GET, p, value);
}

SHIM_EXPORT int xc_set_hvm_param(xc_interface *x, uint32_t dom, int p, unsigned long value)
{
    uint64_t v = value;
    return param(x, dom, XSP_HVM_PARAM_SET, (uint32_t)p, &v);
}

SHIM_EXPORT int xc_get_hvm_param(xc_interface *x, uint32_t dom, int p, unsigned long *value)
{
    uint64_t v = 0;
    int rc = param(x, dom, XSP_HVM_PARAM_GET, (uint32_t)p, &v);
    if (!rc)
        *value = (unsigned long)v;
    return rc;
}

SHIM_EXPORT int xc_domain_shutdown(xc_interface *x, uint32_t domid, int reason)
{
    CHECK(x, domid);
    struct xsp_small q = {.domid = domid, .a = (uint32_t)reason};
    return shim_ret(shim_call(XSP_SHUTDOWN, &q, sizeof(q), NULL, 0, NULL, NULL));
}

/* ---- PCI passthrough: not simulated ---- */

SHIM_EXPORT int xc_domain_bind_pt_pci_irq(xc_interface *x, uint32_t d, uint8_t mirq, uint8_t bus, uint8_t dev,
                                          uint8_t intx)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_iomem_permission(xc_interface *x, uint32_t d, unsigned long first, unsigned long nr,
                                           uint8_t allow)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_ioport_mapping(xc_interface *x, uint32_t d, uint32_t g, uint32_t m, uint32_t nr,
                                         uint32_t add)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_memory_mapping(xc_interface *x, uint32_t d, unsigned long g, unsigned long m,
                                         unsigned long nr, uint32_t add)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_update_msi_irq(xc_interface *x, uint32_t d, uint32_t gvec, uint32_t pirq,
                                         uint32_t gflags, uint64_t gtable)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_unbind_msi_irq(xc_interface *x, uint32_t d, uint32_t gvec, uint32_t pirq,
                                         uint32_t gflags)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_domain_unbind_pt_irq(xc_interface *x, uint32_t d, uint8_t mirq, uint8_t type, uint8_t bus,
                                        uint8_t dev, uint8_t intx, uint8_t isa)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_physdev_map_pirq(xc_interface *x, uint32_t d, int index, int *pirq)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_physdev_map_pirq_msi(xc_interface *x, uint32_t d, int index, int *pirq, int devfn, int bus,
                                        int entry, uint64_t table)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xc_physdev_unmap_pirq(xc_interface *x, uint32_t d, int pirq)
{
    return shim_enosys(__func__);
}
