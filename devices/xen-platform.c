/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Xen platform device ("xen-platform"): PCI 5853:0001 rev 01, class
 * 0xff8000, subsystem 5853:0001, INTA# (Xen itself drives it for the PV
 * event-channel callback), first free slot (00:02.0 on xenfv).  Guest ABI:
 * xl-contract 3.6 and Xen's docs/misc/hvm-emulated-unplug.pandoc.
 *
 * Fixed I/O 0x10-0x1f (any alignment, as QEMU's region):
 *   read  16 bits at 0x10: magic 0x49d2; 8 bits at 0x10: platform flags;
 *         8 bits at 0x12: protocol version 1; everything else all-ones
 *   write 16 bits at 0x10: unplug emulated devices (XEN_UNPLUG_* bits):
 *         recorded, logged and passed to platform_unplug_hook
 *         16 bits at 0x12: PV driver product number (recorded)
 *         32 bits at 0x10: PV driver build number (ignored)
 *         8 bits at 0x10:  flags; bit 0 locks 0xc0000-0xfffff read-only
 *         8 bits at 0x12:  a character of the drivers' log
 * BAR0, I/O, 256 bytes (byte accesses): +0 the flags as above; +4 = 1
 *   unplugs disks and NICs, +8 = 1 disks, = 2 NICs, other values log
 *   characters (old SUSE/VMDP drivers); everything else reads 0xff.
 * BAR1, prefetchable memory, 16 MiB: reads 0, writes ignored (QEMU
 *   reserves it; the PV drivers use it for their own mappings).
 * Log lines end at '\n' or after PLATFORM_LOG_LINE_MAX characters and go
 * to the log with LOG_GUEST (rate limited, counted against the console
 * limit).
 * Options: none.
 * Left out: the "blacklisted drivers" magic 0xd249 (QEMU 7.2 never answers
 * it); the unplugging itself, which belongs to the disks and NICs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/log.h"

#define TAG "xen-platform"

/* One guest log line; QEMU buffers 4 KiB, our log lines are 1 KiB. */
#define PLATFORM_LOG_LINE_MAX 512

#define PLATFORM_PORT          0x10
#define PLATFORM_PORT_LEN      16
#define PLATFORM_MAGIC         0x49d2
#define PLATFORM_VERSION       1
#define PFFLAG_ROM_LOCK        0x01
#define ROM_AREA_GFN           0xc0 /* 0xc0000-0xfffff */
#define ROM_AREA_PAGES         0x40
#define PLATFORM_BAR_IO_SIZE   0x100
#define PLATFORM_BAR_MMIO_SIZE (16u << 20)

void (*platform_unplug_hook)(unsigned mask);

struct xen_platform {
    uint8_t flags;
    uint16_t product;
    unsigned unplugged; /* XEN_UNPLUG_* bits requested so far */
    unsigned log_len;
    char log_line[PLATFORM_LOG_LINE_MAX + 1];
    struct io_region fixed;
};

static struct xen_platform *platform_of(void *opaque)
{
    return DEVICE_PRIV((struct device *)opaque, struct xen_platform);
}

static void set_flags(struct xen_platform *s, uint8_t v)
{
    bool lock = v & PFFLAG_ROM_LOCK;
    int rc = hv_set_ram_readonly(ROM_AREA_GFN, ROM_AREA_PAGES, lock);

    if (rc < 0) {
        LOG_GUEST(TAG, "cannot make the ROM area %s (%d)", lock ? "read-only" : "writable", rc);
        return;
    }
    s->flags = v & PFFLAG_ROM_LOCK;
}

static void log_char(struct xen_platform *s, char c)
{
    if (c == '\n' || s->log_len == PLATFORM_LOG_LINE_MAX) {
        s->log_line[s->log_len] = 0;
        LOG_GUEST(TAG, "guest: %s", s->log_line);
        s->log_len = 0;
        if (c == '\n')
            return;
    }
    s->log_line[s->log_len++] = c;
}

static void unplug(struct xen_platform *s, unsigned mask)
{
    if (!mask)
        return;
    s->unplugged |= mask;
    LOG_GUEST(TAG, "guest asked to unplug emulated%s%s%s%s",
              mask & XEN_UNPLUG_ALL_IDE_DISKS ? " disks" : "",
              mask & XEN_UNPLUG_AUX_IDE_DISKS ? " aux-IDE-disks" : "",
              mask & XEN_UNPLUG_NVME_DISKS ? " NVMe-disks" : "",
              mask & XEN_UNPLUG_ALL_NICS ? " NICs" : "");
    if (platform_unplug_hook)
        platform_unplug_hook(mask);
}

/* ---- fixed ports 0x10-0x1f -------------------------------------------- */

static uint64_t fixed_read(void *opaque, uint64_t offset, unsigned size)
{
    struct xen_platform *s = platform_of(opaque);

    if (size == 1)
        return offset == 0 ? s->flags : offset == 2 ? PLATFORM_VERSION : 0xff;
    if (size == 2)
        return offset == 0 ? PLATFORM_MAGIC : 0xffff;
    return 0xffffffffu;
}

static void fixed_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct xen_platform *s = platform_of(opaque);

    if (size == 1) {
        if (offset == 0)
            set_flags(s, (uint8_t)value);
        else if (offset == 2)
            log_char(s, (char)value);
    } else if (size == 2) {
        if (offset == 0) {
            unplug(s, (unsigned)value & (XEN_UNPLUG_ALL_IDE_DISKS | XEN_UNPLUG_ALL_NICS |
                                         XEN_UNPLUG_AUX_IDE_DISKS | XEN_UNPLUG_NVME_DISKS));
        } else if (offset == 2) {
            s->product = (uint16_t)value;
            LOG_GUEST(TAG, "PV driver product %u announced", s->product);
        }
    }
    /* 32 bits at 0x10: the drivers' build number, which QEMU ignores */
}

static const struct io_ops fixed_ops = {
    .name = "xen-fixed",
    .read = fixed_read,
    .write = fixed_write,
    .max_size = 4,
};

/* ---- BAR0 ------------------------------------------------------------- */

static uint64_t bar0_read(void *opaque, uint64_t offset, unsigned size)
{
    return offset == 0 ? platform_of(opaque)->flags : 0xff;
}

static void bar0_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct xen_platform *s = platform_of(opaque);

    switch (offset) {
    case 0:
        set_flags(s, (uint8_t)value);
        break;
    case 4:
        if (value == 1)
            unplug(s, XEN_UNPLUG_ALL_IDE_DISKS | XEN_UNPLUG_ALL_NICS);
        break;
    case 8:
        if (value == 1)
            unplug(s, XEN_UNPLUG_ALL_IDE_DISKS);
        else if (value == 2)
            unplug(s, XEN_UNPLUG_ALL_NICS);
        else
            log_char(s, (char)value);
        break;
    default:
        break;
    }
}

static const struct io_ops bar0_ops = {
    .name = "xen-pci",
    .read = bar0_read,
    .write = bar0_write,
    .min_size = 1,
    .max_size = 1,
};

/* ---- BAR1 ------------------------------------------------------------- */

static uint64_t bar1_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static const struct io_ops bar1_ops = {
    .name = "xen-mmio", .read = bar1_read, /* writes dropped */
};

/* ---- life cycle -------------------------------------------------------- */

static void xen_platform_reset(struct device *dev)
{
    set_flags(platform_of(dev), 0);
}

static int xen_platform_create(struct device *dev, const struct opts *opts)
{
    struct xen_platform *s = platform_of(dev);
    int rc;

    s->fixed = (struct io_region){.space = IO_PIO,
                                  .base = PLATFORM_PORT,
                                  .size = PLATFORM_PORT_LEN,
                                  .ops = &fixed_ops,
                                  .opaque = dev};
    rc = io_region_add(&s->fixed);
    if (rc < 0) {
        fprintf(stderr, "xendm: xen-platform: cannot claim ports 0x10-0x1f (%d)\n", rc);
        return rc;
    }
    xen_platform_reset(dev);
    return 0;
}

static const struct pci_desc xen_platform_pci = {
    .vendor = 0x5853,
    .device = 0x0001,
    .subsys_vendor = 0x5853,
    .subsys_id = 0x0001,
    .class_code = 0xff8000,
    .revision = 0x01,
    .irq_pin = 1,
    .devfn = -1,
    .bar[0] = {.type = PCI_BAR_IO, .size = PLATFORM_BAR_IO_SIZE, .ops = &bar0_ops},
    .bar[1] = {.type = PCI_BAR_MEM32,
               .prefetch = true,
               .size = PLATFORM_BAR_MMIO_SIZE,
               .ops = &bar1_ops},
};

static struct device_desc xen_platform_desc = {
    .name = "xen-platform",
    .desc = "Xen platform device: PV driver handshake, emulated-device unplug, guest log",
    .priv_size = sizeof(struct xen_platform),
    .pci = &xen_platform_pci,
    .create = xen_platform_create,
    .reset = xen_platform_reset,
};
DEVICE_REGISTER(xen_platform_desc)
