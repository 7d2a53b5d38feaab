/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoding and performing one ioreq (docs: the ioreq notes, Part A4): the
 * element addresses of rep forms step by `size` up or down with the
 * direction flag; with data_is_ptr the other side is guest RAM, reached only
 * through hv_guest_read/write, which refuse anything that is not RAM.
 */
#include "config.h"

#include <string.h>

#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/ioreq.h"
#include "src/log.h"

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static bool valid_size(uint32_t size, bool pio)
{
    return size == 1 || size == 2 || size == 4 || (size == 8 && !pio);
}

static bool malformed(ioreq_t *req, const char *what)
{
    LOG_GUEST("ioreq", "malformed %s request: addr %#llx size %u count %u", what,
              (unsigned long long)req->addr, req->size, req->count);
    if (req->dir == IOREQ_READ && !req->data_is_ptr)
        req->data = valid_size(req->size, false) ? size_mask(req->size) : ~0ULL;
    return false;
}

/* PIO and COPY requests, incl. rep forms (count, df, data_is_ptr). */
static bool do_access(ioreq_t *req)
{
    bool pio = req->type == IOREQ_TYPE_PIO;
    enum io_space space = pio ? IO_PIO : IO_MMIO;
    if (!valid_size(req->size, pio) || req->count == 0 || req->count > IOREQ_MAX_REP ||
        (pio && req->count > 1 && !req->data_is_ptr) || req->dir > IOREQ_READ)
        return malformed(req, pio ? "PIO" : "MMIO");
    unsigned size = req->size;
    uint64_t step = req->df ? (uint64_t)-(int64_t)size : size; /* wraps like the CPU's */
    if (!req->data_is_ptr) {
        /* count > 1 without a pointer: rep stos to MMIO, the same value at
         * successive addresses */
        uint64_t addr = req->addr;
        for (uint32_t i = 0; i < req->count; i++, addr += step) {
            if (req->dir == IOREQ_READ)
                req->data = io_read(space, addr, size);
            else
                io_write(space, addr, size, req->data & size_mask(size));
        }
        return true;
    }
    for (uint32_t i = 0; i < req->count; i++) {
        uint64_t dev = pio ? req->addr : req->addr + step * i;
        uint64_t gpa = req->data + step * i;
        uint64_t v = 0;
        if (req->dir == IOREQ_READ) {
            v = io_read(space, dev, size);
            if (hv_guest_write(gpa, &v, size) < 0) {
                LOG_GUEST("ioreq", "rep read into non-RAM %#llx dropped", (unsigned long long)gpa);
                return false;
            }
        } else {
            if (hv_guest_read(gpa, &v, size) < 0) {
                LOG_GUEST("ioreq", "rep write from non-RAM %#llx dropped", (unsigned long long)gpa);
                return false;
            }
            io_write(space, dev, size, v);
        }
    }
    return true;
}

static bool do_pci_config(ioreq_t *req)
{
    uint32_t sbdf = (uint32_t)(req->addr >> 32);
    unsigned reg = (unsigned)(req->addr & 0xffffffffu);
    if (!valid_size(req->size, true) || req->count != 1 || req->dir > IOREQ_READ)
        return malformed(req, "PCI config");
    uint32_t v = 0;
    if (req->dir == IOREQ_READ) {
        v = pci_config_read(sbdf, reg, req->size);
        if (!req->data_is_ptr) {
            req->data = v;
            return true;
        }
        if (hv_guest_write(req->data, &v, req->size) < 0)
            return malformed(req, "PCI config (pointer)");
        return true;
    }
    if (!req->data_is_ptr)
        v = (uint32_t)(req->data & size_mask(req->size));
    else if (hv_guest_read(req->data, &v, req->size) < 0)
        return malformed(req, "PCI config (pointer)");
    pci_config_write(sbdf, reg, req->size, v);
    return true;
}

bool ioreq_dispatch(ioreq_t *req)
{
    switch (req->type) {
    case IOREQ_TYPE_PIO:
    case IOREQ_TYPE_COPY:
        return do_access(req);
    case IOREQ_TYPE_PCI_CONFIG:
        return do_pci_config(req);
    default:
        return malformed(req, "unknown type");
    }
}
