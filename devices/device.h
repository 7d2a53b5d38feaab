/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device registration (style rule 1): every device is one file with a
 * static description that registers itself with DEVICE_REGISTER(); nothing
 * central lists devices.  The machine (src/machine.c) creates devices by
 * name: the fixed chipset of xenfv, then each -device of the argv.
 *
 * Threads: everything here runs on the main thread.
 */
#ifndef XENDM_DEVICE_H
#define XENDM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/opts.h"

struct device;

/*
 * What a device is.  For PCI devices `pci` is non-NULL (devices/pci.h).
 * create() is called once, with the device's private area (priv_size bytes,
 * zeroed) allocated after struct device; it registers I/O regions and
 * returns 0 or a negative errno after printing an error that names the
 * option at fault.  reset() returns the device to power-on state (guest
 * reboot through 0xcf9 does not reset in place: libxl restarts the DM; it is
 * used for the 0xcf9 soft reset and by tests).  destroy() releases what
 * create() acquired (regions are removed by the caller).
 */
struct device_desc {
    const char *name; /* the -device driver name, e.g. "isa-serial" */
    const char *desc; /* one line for --help */
    size_t priv_size;
    const struct pci_desc *pci;
    int (*create)(struct device *dev, const struct opts *opts);
    void (*reset)(struct device *dev);
    void (*destroy)(struct device *dev);
    struct device_desc *next; /* registry link, set by DEVICE_REGISTER */
};

struct device {
    const struct device_desc *desc;
    char *id;               /* -device id=, or NULL */
    struct pci_dev *pci;    /* non-NULL for PCI devices */
    struct device *next;    /* machine's list */
    _Alignas(16) unsigned char priv[]; /* desc->priv_size bytes */
};

#define DEVICE_PRIV(dev, type) ((type *)(void *)(dev)->priv)

void device_register(struct device_desc *d);
#define DEVICE_REGISTER(d)                                                                         \
    __attribute__((constructor)) static void device_register_##d(void)                             \
    {                                                                                              \
        device_register(&(d));                                                                     \
    }

const struct device_desc *device_find(const char *name);
/* Calls fn for every registered description (for --help and tests). */
void device_foreach_desc(void (*fn)(const struct device_desc *d, void *opaque), void *opaque);

/* Create a device by name with options (may be NULL); NULL on error (the
 * error is printed). */
struct device *device_create(const char *name, const struct opts *opts);
void device_destroy(struct device *dev);
struct device *device_first(void);            /* every created device, in creation order */
void device_reset_all(void);

#endif
