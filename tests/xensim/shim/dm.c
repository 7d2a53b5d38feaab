/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxendevicemodel.so.1 for xensim: every dm_op becomes one request to the
 * simulator.  Handles register with libxentoolcore and, once restricted,
 * only act on their domain (as the real privcmd-based handles do).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xendevicemodel.h>

#include "shim.h"

struct xendevicemodel_handle {
    struct shim_handle h;
};

#define CHECK(dmod, domid)                                                                         \
    do {                                                                                           \
        if (shim_handle_check(&(dmod)->h, (domid)) < 0)                                            \
            return -1;                                                                             \
    } while (0)

static int small(xendevicemodel_handle *d, uint16_t op, domid_t domid, uint32_t a, uint32_t b, uint32_t c)
{
    CHECK(d, domid);
    struct xsp_small q = {.domid = domid, .a = a, .b = b, .c = c};
    return shim_ret(shim_call(op, &q, sizeof(q), NULL, 0, NULL, NULL));
}

static int mem(xendevicemodel_handle *d, uint16_t op, domid_t domid, uint64_t first, uint64_t second,
               uint32_t nr, uint32_t arg)
{
    CHECK(d, domid);
    struct xsp_mem q = {.domid = domid, .nr = nr, .arg = arg, .first = first, .second = second};
    return shim_ret(shim_call(op, &q, sizeof(q), NULL, 0, NULL, NULL));
}

static int ioreq(xendevicemodel_handle *d, uint16_t op, domid_t domid, uint32_t id, uint32_t arg,
                 uint32_t *port)
{
    CHECK(d, domid);
    struct xsp_ioreq q = {.domid = domid, .id = id, .arg = arg}, rep = {0};
    int rc = shim_call(op, &q, sizeof(q), &rep, sizeof(rep), NULL, NULL);
    if (!rc && port)
        *port = rep.port;
    return shim_ret(rc);
}

static int range(xendevicemodel_handle *d, domid_t domid, ioservid_t id, int map, int type, uint64_t s,
                 uint64_t e)
{
    CHECK(d, domid);
    struct xsp_range q = {.domid = domid, .id = id, .map = (uint32_t)map, .type = (uint32_t)type,
                          .start = s, .end = e};
    return shim_ret(shim_call(XSP_IOREQ_RANGE, &q, sizeof(q), NULL, 0, NULL, NULL));
}

SHIM_EXPORT xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger, unsigned int flags)
{
    xendevicemodel_handle *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    shim_handle_register(&d->h, false);
    return d;
}

SHIM_EXPORT int xendevicemodel_close(xendevicemodel_handle *d)
{
    if (!d)
        return 0;
    shim_handle_deregister(&d->h);
    free(d);
    return 0;
}

SHIM_EXPORT int xendevicemodel_restrict(xendevicemodel_handle *d, domid_t domid)
{
    d->h.restricted_domid = domid;
    return 0;
}

SHIM_EXPORT int xendevicemodel_create_ioreq_server(xendevicemodel_handle *d, domid_t domid, int buf, ioservid_t *id)
{
    uint32_t v = 0;
    int rc = ioreq(d, XSP_IOREQ_CREATE, domid, 0, (uint32_t)buf, &v);
    if (!rc)
        *id = (ioservid_t)v;
    return rc;
}

SHIM_EXPORT int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *d, domid_t domid, ioservid_t id,
                                                     xen_pfn_t *ioreq_gfn, xen_pfn_t *bufioreq_gfn,
                                                     evtchn_port_t *bufioreq_port)
{
    /* Only resource mapping: asking for gfns is the legacy path, which
     * xensim (like a Xen built without it) does not offer. */
    if (ioreq_gfn || bufioreq_gfn) {
        errno = EOPNOTSUPP;
        return -1;
    }
    uint32_t port = 0;
    int rc = ioreq(d, XSP_IOREQ_INFO, domid, id, 0, &port);
    if (!rc && bufioreq_port)
        *bufioreq_port = port;
    return rc;
}

SHIM_EXPORT int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *d, domid_t domid, ioservid_t id, int enabled)
{
    return ioreq(d, XSP_IOREQ_STATE, domid, id, enabled != 0, NULL);
}

SHIM_EXPORT int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *d, domid_t domid, ioservid_t id)
{
    return ioreq(d, XSP_IOREQ_DESTROY, domid, id, 0, NULL);
}

SHIM_EXPORT int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *d, domid_t domid, ioservid_t id,
                                                            int is_mmio, uint64_t start, uint64_t end)
{
    return range(d, domid, id, 1, is_mmio, start, end);
}

SHIM_EXPORT int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *d, domid_t domid,
                                                                ioservid_t id, int is_mmio, uint64_t start,
                                                                uint64_t end)
{
    return range(d, domid, id, 0, is_mmio, start, end);
}

static uint64_t sbdf(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn)
{
    return ((uint64_t)seg << 16) | ((uint64_t)bus << 8) | ((uint64_t)(dev & 0x1f) << 3) | (fn & 7);
}

SHIM_EXPORT int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *d, domid_t domid, ioservid_t id,
                                                          uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn)
{
    if (dev > 0x1f || fn > 7) {
        errno = EINVAL;
        return -1;
    }
    uint64_t s = sbdf(seg, bus, dev, fn);
    return range(d, domid, id, 1, XEN_DMOP_IO_RANGE_PCI, s, s);
}

SHIM_EXPORT int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *d, domid_t domid,
                                                              ioservid_t id, uint16_t seg, uint8_t bus,
                                                              uint8_t dev, uint8_t fn)
{
    if (dev > 0x1f || fn > 7) {
        errno = EINVAL;
        return -1;
    }
    uint64_t s = sbdf(seg, bus, dev, fn);
    return range(d, domid, id, 0, XEN_DMOP_IO_RANGE_PCI, s, s);
}

SHIM_EXPORT int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *d, domid_t domid,
                                                            ioservid_t id, uint16_t type, uint32_t flags)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *d, domid_t domid, uint16_t seg,
                                                  uint8_t bus, uint8_t dev, uint8_t intx, unsigned int level)
{
    if (seg || bus || dev > 0x1f || intx > 3) {
        errno = EINVAL;
        return -1;
    }
    return small(d, XSP_IRQ_INTX, domid, dev, intx, level);
}

SHIM_EXPORT int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *d, domid_t domid, uint8_t irq,
                                                 unsigned int level)
{
    return small(d, XSP_IRQ_ISA, domid, irq, level, 0);
}

SHIM_EXPORT int xendevicemodel_set_irq_level(xendevicemodel_handle *d, domid_t domid, unsigned int irq,
                                             unsigned int level)
{
    return shim_enosys(__func__); /* Arm only */
}

SHIM_EXPORT int xendevicemodel_set_pci_link_route(xendevicemodel_handle *d, domid_t domid, uint8_t link, uint8_t irq)
{
    return small(d, XSP_LINK_ROUTE, domid, link, irq, 0);
}

SHIM_EXPORT int xendevicemodel_inject_msi(xendevicemodel_handle *d, domid_t domid, uint64_t addr, uint32_t data)
{
    CHECK(d, domid);
    struct xsp_msi q = {.domid = domid, .data = data, .addr = addr};
    return shim_ret(shim_call(XSP_MSI, &q, sizeof(q), NULL, 0, NULL, NULL));
}

SHIM_EXPORT int xendevicemodel_track_dirty_vram(xendevicemodel_handle *d, domid_t domid, uint64_t first_pfn,
                                                uint32_t nr, unsigned long *bitmap)
{
    CHECK(d, domid);
    struct xsp_mem q = {.domid = domid, .nr = nr, .first = first_pfn};
    uint32_t got = 0;
    /* the real library writes only the bitmap's (nr + 7) / 8 bytes */
    int rc = shim_call(XSP_DIRTY_VRAM, &q, sizeof(q), bitmap, (nr + 7) / 8, &got, NULL);
    return shim_ret(rc);
}

SHIM_EXPORT int xendevicemodel_modified_memory(xendevicemodel_handle *d, domid_t domid, uint64_t first_pfn, uint32_t nr)
{
    return mem(d, XSP_MODIFIED_MEMORY, domid, first_pfn, 0, nr, 0);
}

SHIM_EXPORT int xendevicemodel_modified_memory_bulk(xendevicemodel_handle *d, domid_t domid,
                                                    struct xen_dm_op_modified_memory_extent extents[], uint32_t nr)
{
    for (uint32_t i = 0; i < nr; i++)
        if (mem(d, XSP_MODIFIED_MEMORY, domid, extents[i].first_pfn, 0, extents[i].nr, 0) < 0)
            return -1;
    return 0;
}

SHIM_EXPORT int xendevicemodel_set_mem_type(xendevicemodel_handle *d, domid_t domid, hvmmem_type_t type,
                                            uint64_t first_pfn, uint32_t nr)
{
    return mem(d, XSP_MEM_TYPE, domid, first_pfn, 0, nr, (uint32_t)type);
}

SHIM_EXPORT int xendevicemodel_inject_event(xendevicemodel_handle *d, domid_t domid, int vcpu, uint8_t vector,
                                            uint8_t type, uint32_t error_code, uint8_t insn_len, uint64_t extra)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xendevicemodel_shutdown(xendevicemodel_handle *d, domid_t domid, unsigned int reason)
{
    return small(d, XSP_SHUTDOWN, domid, reason, 0, 0);
}

SHIM_EXPORT int xendevicemodel_relocate_memory(xendevicemodel_handle *d, domid_t domid, uint32_t size,
                                               uint64_t src_gfn, uint64_t dst_gfn)
{
    return mem(d, XSP_RELOCATE, domid, src_gfn, dst_gfn, size, 0);
}

SHIM_EXPORT int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *d, domid_t domid, uint64_t start,
                                                    uint64_t end, uint32_t type)
{
    return mem(d, XSP_PIN_CACHEATTR, domid, start, end, 0, type);
}

SHIM_EXPORT int xendevicemodel_nr_vcpus(xendevicemodel_handle *d, domid_t domid, unsigned int *vcpus)
{
    CHECK(d, domid);
    struct xsp_small q = {.domid = domid}, rep = {0};
    int rc = shim_call(XSP_NR_VCPUS, &q, sizeof(q), &rep, sizeof(rep), NULL, NULL);
    if (!rc)
        *vcpus = rep.a;
    return shim_ret(rc);
}
