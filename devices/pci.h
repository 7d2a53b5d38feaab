/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0 of the xenfv machine: configuration space of each function,
 * BARs that follow the guest's programming (each BAR is an io_region that is
 * mapped at Xen only while decoding is enabled and the address is valid),
 * expansion ROMs backed by guest frames, INTx through Xen, and the routing of
 * IOREQ_TYPE_PCI_CONFIG requests by SBDF.  Every function is registered
 * with Xen (map_pcidev_to_ioreq_server) when created.
 *
 * A PCI device's description (struct pci_desc, below) gives its identity
 * and BAR layout; the common code implements the standard header (command,
 * status, BARs, ROM BAR, interrupt line/pin, capabilities pointer) with the
 * right writable bits.  Devices may hook config reads/writes for their own
 * registers (offset >= 0x40, or to watch the command register).
 *
 * Threads: main thread only.
 */
#ifndef XENDM_PCI_H
#define XENDM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "src/dispatch.h"

#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_ROM_SLOT 6

enum pci_bar_type {
    PCI_BAR_NONE = 0,
    PCI_BAR_IO,
    PCI_BAR_MEM32,
    PCI_BAR_MEM64, /* takes two slots */
};

struct pci_bar_desc {
    enum pci_bar_type type;
    bool prefetch;
    uint64_t size; /* power of two; I/O >= 4, memory >= 16 */
    /* Handlers for accesses inside the BAR (offset relative to the BAR,
     * opaque = the struct device).  NULL for a BAR backed by guest RAM
     * frames (VRAM): see pci_bar_set_ram. */
    const struct io_ops *ops;
};

struct pci_desc {
    uint16_t vendor, device, subsys_vendor, subsys_id;
    uint32_t class_code; /* 24 bits: class << 16 | subclass << 8 | prog-if */
    uint8_t revision;
    uint8_t header_type; /* 0x00 normal, 0x80 multi-function, 0x01 bridge... */
    uint8_t irq_pin;     /* 0 none, 1 = INTA# ... */
    int devfn;           /* fixed slot/function, or -1 for the first free slot */
    struct pci_bar_desc bar[PCI_NUM_BARS];
    uint32_t rom_size;   /* expansion ROM BAR size (0: none) */
    const char *rom_file; /* image loaded into the ROM (e.g. a VGA BIOS) */
    /* Optional hooks.  cfg_read returns true if it produced *value;
     * cfg_write is called after the common code stored the value. */
    bool (*cfg_read)(struct pci_dev *pd, unsigned off, unsigned size, uint32_t *value);
    void (*cfg_write)(struct pci_dev *pd, unsigned off, unsigned size, uint32_t value);
};

struct pci_dev {
    struct device *dev;
    const struct pci_desc *desc;
    uint8_t devfn;
    uint8_t config[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
    struct io_region bar_region[PCI_NUM_BARS + 1];
    uint64_t bar_addr[PCI_NUM_BARS + 1]; /* last programmed address */
    uint64_t ram_gfn[PCI_NUM_BARS + 1];  /* for RAM-backed BARs: frames' home gfn */
    void *ram_ptr[PCI_NUM_BARS + 1];     /* their mapping in xendm */
    int irq_level;
};

/* Called by device_create for PCI devices: place the function (desc->devfn
 * or devfn_override >= 0 from "addr=" option; -1 = first free slot), fill
 * its header, register it with Xen.  0 or -errno (slot taken: -EBUSY). */
int pci_dev_attach(struct pci_dev *pd, struct device *dev, const struct pci_desc *desc, int devfn_override);
void pci_dev_detach(struct pci_dev *pd);
/* Power-on state of the common header (QEMU's pci_do_device_reset): clear
 * the writable command bits, RW1C status bits, cache line size, interrupt
 * line and BAR addresses, unmap the BARs, drop INTx.  device_reset_all()
 * calls it after the device's own reset(). */
void pci_dev_reset(struct pci_dev *pd);

/* Parse a QEMU "addr=" value ("3", "0x1d.0x7", "1d.7") into a devfn; -1 on error. */
int pci_parse_addr(const char *s);

/* INTx of this function (pin from the header) through Xen. */
void pci_set_irq(struct pci_dev *pd, int level);

/* Back a memory BAR (or the ROM) with guest frames allocated from the
 * domain's allowance (VRAM, ROM images): the frames are populated at a home
 * gfn, mapped into xendm, and relocated into the BAR while it is enabled.
 * Returns xendm's pointer to the memory, or NULL. */
void *pci_bar_set_ram(struct pci_dev *pd, int bar, const char *name);

/* Route a config access from Xen (IOREQ_TYPE_PCI_CONFIG).  Unknown SBDF or
 * offset >= 256: reads all-ones, writes dropped. */
uint32_t pci_config_read(uint32_t sbdf, unsigned off, unsigned size);
void pci_config_write(uint32_t sbdf, unsigned off, unsigned size, uint32_t value);

struct pci_dev *pci_find(uint8_t devfn);

/* Hook used by the Xen side to learn about functions (map_pcidev).  INTx
 * goes through hv_set_pci_intx (src/hv.h), like every device's interrupt. */
struct pci_backend {
    int (*map_dev)(void *opaque, uint8_t devfn, bool map);
    void *opaque;
};
void pci_set_backend(const struct pci_backend *be);

/* Xen platform device (devices/xen-platform.c): the guest's PV drivers ask
 * for emulated devices to go away (docs/misc/hvm-emulated-unplug).  The
 * platform device records and logs the request and calls this hook, if
 * set, with XEN_UNPLUG_* bits; whoever owns disks and NICs sets it. */
#define XEN_UNPLUG_ALL_IDE_DISKS 0x1 /* and SCSI disks; not CD-ROMs */
#define XEN_UNPLUG_ALL_NICS 0x2
#define XEN_UNPLUG_AUX_IDE_DISKS 0x4 /* all IDE disks but the primary master */
#define XEN_UNPLUG_NVME_DISKS 0x8
extern void (*platform_unplug_hook)(unsigned mask);

#endif
