/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device registry and life cycle (devices/device.h).
 *
 * Descriptions register themselves from constructors into a list; nothing
 * here names a device.  device_create() handles the options every device
 * shares, so that each device only looks at its own:
 *   id=NAME            any device (must be unique)
 *   addr=SLOT[.FN]     PCI devices: fixed slot/function (pci_parse_addr)
 *   multifunction=on   PCI devices: set the multi-function header bit
 * and after the device's create() refuses, by name, the first key nobody
 * looked at: "xendm: -device DRIVER: unknown property 'KEY'".
 *
 * Teardown: destroy() releases what create() acquired; I/O regions whose
 * struct io_region lives inside the device's allocation (the usual case:
 * embedded in the private area) are removed here, after destroy(), so a
 * device without a destroy() leaves nothing mapped.
 *
 * Threads: main thread only (constructors run before main()).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"

static struct device_desc *registry;
static struct device *devices; /* creation order */

void device_register(struct device_desc *d)
{
    struct device_desc **p;

    assert(d->name && d->next == NULL);
    for (p = &registry; *p; p = &(*p)->next)
        if (!strcmp((*p)->name, d->name)) {
            fprintf(stderr, "xendm: device '%s' registered twice\n", d->name);
            abort();
        }
    *p = d;
}

const struct device_desc *device_find(const char *name)
{
    for (const struct device_desc *d = registry; d; d = d->next)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

void device_foreach_desc(void (*fn)(const struct device_desc *d, void *opaque), void *opaque)
{
    for (const struct device_desc *d = registry; d; d = d->next)
        fn(d, opaque);
}

struct device *device_first(void)
{
    return devices;
}

/* struct device, the private area, then (PCI) the aligned struct pci_dev. */
static size_t alloc_size(const struct device_desc *d)
{
    size_t n = sizeof(struct device) + d->priv_size;

    if (d->pci)
        n += _Alignof(struct pci_dev) + sizeof(struct pci_dev);
    return n;
}

/* The pci_dev of a PCI device lives after its private area. */
static struct pci_dev *pci_area(struct device *dev)
{
    size_t off = sizeof(struct device) + dev->desc->priv_size;

    off = (off + _Alignof(struct pci_dev) - 1) & ~(_Alignof(struct pci_dev) - 1);
    return (struct pci_dev *)(void *)((char *)dev + off);
}

/* Remove every region whose struct lies inside [start, start + len). */
static void remove_regions_within(const void *start, size_t len)
{
    const char *lo = start, *hi = lo + len;

    for (int s = IO_PIO; s <= IO_MMIO; s++) {
        uint64_t a = 0;
        struct io_region *r;
        while ((r = io_region_next((enum io_space)s, a)) != NULL) {
            uint64_t next = r->base + r->size;
            if ((const char *)r >= lo && (const char *)r < hi)
                io_region_del(r);
            if (next == 0)
                break;
            a = next;
        }
    }
}

static void free_device(struct device *dev)
{
    free(dev->id);
    free(dev);
}

static void teardown(struct device *dev, bool created)
{
    if (created && dev->desc->destroy)
        dev->desc->destroy(dev);
    if (dev->pci)
        pci_dev_detach(dev->pci);
    remove_regions_within(dev, alloc_size(dev->desc));
    free_device(dev);
}

static bool id_taken(const char *id)
{
    for (struct device *d = devices; d; d = d->next)
        if (d->id && !strcmp(d->id, id))
            return true;
    return false;
}

struct device *device_create(const char *name, const struct opts *opts)
{
    /* Lookups mark keys used, hence the cast (the set of keys is unchanged). */
    struct opts *o = (struct opts *)opts;
    const char *option = o && o->option ? o->option : "-device";
    const struct device_desc *d = device_find(name);
    struct device *dev;
    const char *id = NULL, *addr = NULL, *unused;
    int devfn = -1;
    bool multifunction = false;
    int rc;

    if (!d) {
        fprintf(stderr, "xendm: %s %s: unknown device\n", option, name);
        return NULL;
    }
    if (o) {
        id = opts_get(o, "id");
        if (d->pci) {
            addr = opts_get(o, "addr");
            if (opts_get_bool(o, "multifunction", false, &multifunction) < 0)
                return NULL;
        }
    }
    if (id && (!*id || id_taken(id))) {
        fprintf(stderr, "xendm: %s %s: %s id '%s'\n", option, name, *id ? "duplicate" : "empty",
                id);
        return NULL;
    }
    if (addr) {
        devfn = pci_parse_addr(addr);
        if (devfn < 0) {
            fprintf(stderr, "xendm: %s %s: bad PCI address '%s' (want SLOT[.FUNCTION], hex)\n",
                    option, name, addr);
            return NULL;
        }
    }

    dev = calloc(1, alloc_size(d));
    if (!dev) {
        fprintf(stderr, "xendm: %s %s: out of memory\n", option, name);
        return NULL;
    }
    dev->desc = d;
    if (id && !(dev->id = strdup(id))) {
        free(dev);
        return NULL;
    }
    if (d->pci) {
        struct pci_dev *pd = pci_area(dev);
        if (multifunction)
            pd->config[0x0e] = 0x80; /* pci_dev_attach keeps this bit */
        rc = pci_dev_attach(pd, dev, d->pci, devfn);
        if (rc < 0) {
            free_device(dev);
            return NULL;
        }
        dev->pci = pd;
    }
    if (d->create) {
        rc = d->create(dev, opts);
        if (rc < 0) {
            teardown(dev, false);
            return NULL;
        }
    }
    if (o && (unused = opts_first_unused(o)) != NULL) {
        fprintf(stderr, "xendm: %s %s: unknown property '%s'\n", option, name, unused);
        teardown(dev, true);
        return NULL;
    }

    struct device **p = &devices;
    while (*p)
        p = &(*p)->next;
    *p = dev;
    return dev;
}

void device_destroy(struct device *dev)
{
    struct device **p;

    if (!dev)
        return;
    for (p = &devices; *p; p = &(*p)->next)
        if (*p == dev) {
            *p = dev->next;
            break;
        }
    teardown(dev, true);
}

/*
 * Like QEMU's system reset: the device's own reset, then the common PCI
 * header (command, status, BARs, interrupt line), which also unmaps BARs.
 */
void device_reset_all(void)
{
    for (struct device *d = devices; d; d = d->next) {
        if (d->desc->reset)
            d->desc->reset(d);
        if (d->pci)
            pci_dev_reset(d->pci);
    }
}
