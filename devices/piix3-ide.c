/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX3 IDE controller ("piix3-ide"): PCI 00:01.1, 8086:7010 rev 00, class
 * 0x010180 (IDE, legacy mode, bus-master capable), status 0x0280, no
 * interrupt pin (legacy IRQs 14 and 15); subsystem 1af4:1100.  Config
 * 0x40-0xff is plain read/write storage (IDETIM etc. have no effect).
 *
 * BAR4, I/O, 16 bytes: bus-master registers, per channel (secondary at +8):
 *   +0 command: bits 0 (start) and 3 (direction); start sets status bit 0
 *   +2 status:  bits 5-6 read/write, 1-2 write-one-to-clear, 0 read-only;
 *               bit 2 is set whenever the channel raises its interrupt
 *   +4 PRD table address, bits 2-31 (1, 2 or 4-byte accesses)
 *   +1, +3 read 0xff; 2- and 4-byte accesses to +0..+3 read all-ones and
 *   are ignored (QEMU's register layout)
 * Legacy ports, with no drives attached (disks come with a later device):
 *   0x1f0-0x1f7, 0x3f6 primary, IRQ 14; 0x170-0x177, 0x376 secondary, IRQ 15.
 *   Every read returns 0, as QEMU answers for a bus without drives (status
 *   included, so guests see "no device").  A command (0x1f7) lowers the
 *   IRQ; sent to device 0 it fails at once and raises the IRQ unless nIEN
 *   (device control bit 1) is set; to device 1 it is ignored.  Reading the
 *   status register lowers the IRQ; the alternate status does not.  SRST
 *   completes immediately.
 * Options: none yet (drives will come as their own devices).
 * Left out: drives, PIO and DMA transfers (nothing to transfer), the PCI
 * native mode.
 */
#include "config.h"

#include <stdio.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"

#define IDE_STATUS            0x0280 /* fast back-to-back, DEVSEL medium */
#define IDE_BAR4_INIT         0x01
#define IDE_BM_BAR            4
#define IDE_BM_SIZE           16
#define IDE_BM_CHANNEL_STRIDE 8

#define ATA_REG_DEVICE  6
#define ATA_REG_COMMAND 7
#define ATA_DEV_UNIT    0x10
#define ATA_CTL_NIEN    0x02

#define BM_CMD_START 0x01
#define BM_CMD_MASK  0x09
#define BM_ST_ACTIVE 0x01
#define BM_ST_RW1C   0x06
#define BM_ST_IRQ    0x04
#define BM_ST_RW     0x60

struct ide_channel {
    unsigned isa_irq;
    uint8_t unit, ctl;
    int irq_level;
    uint8_t bm_cmd, bm_status;
    uint32_t bm_addr;
    struct io_region cmd_block, ctl_reg;
};

struct piix3_ide {
    struct ide_channel ch[2];
};

static const struct {
    uint16_t cmd_base, ctl_port;
    unsigned irq;
} ide_legacy[2] = {{0x1f0, 0x3f6, 14}, {0x170, 0x376, 15}};

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

static void ide_set_irq(struct ide_channel *c, int level)
{
    if (level)
        c->bm_status |= BM_ST_IRQ;
    if (c->irq_level == level)
        return;
    c->irq_level = level;
    hv_set_isa_irq(c->isa_irq, level);
}

static void ide_reg_write(struct ide_channel *c, unsigned reg, uint8_t v)
{
    switch (reg) {
    case ATA_REG_DEVICE:
        c->unit = (v & ATA_DEV_UNIT) ? 1 : 0;
        break;
    case ATA_REG_COMMAND:
        ide_set_irq(c, 0);
        /* Device 1 is absent: ignored.  Device 0 is absent too, but QEMU
         * runs the command, which aborts and interrupts. */
        if (c->unit == 0 && !(c->ctl & ATA_CTL_NIEN))
            ide_set_irq(c, 1);
        break;
    default:
        break; /* feature, count, LBA: nobody to read them back */
    }
}

/*
 * 0x1f0-0x1f7 / 0x170-0x177, widths as QEMU's port list has them: bytes
 * for every register, 2 and 4 bytes for the data register; a 2-byte access
 * elsewhere is two byte accesses, a 4-byte one reads all-ones.
 */
static uint64_t ide_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ide_channel *c = opaque;

    if (size == 1 || (size == 2 && offset != 0)) {
        if (offset <= ATA_REG_COMMAND && ATA_REG_COMMAND < offset + size)
            ide_set_irq(c, 0); /* reading status acknowledges */
        return 0;
    }
    return offset == 0 ? 0 : all_ones(size);
}

static void ide_cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct ide_channel *c = opaque;

    if (size == 1) {
        ide_reg_write(c, (unsigned)offset, (uint8_t)value);
    } else if (size == 2 && offset != 0) {
        ide_reg_write(c, (unsigned)offset, (uint8_t)value);
        ide_reg_write(c, (unsigned)offset + 1, (uint8_t)(value >> 8));
    }
    /* data register writes: nothing to transfer */
}

static const struct io_ops ide_cmd_ops = {
    .name = "ide-cmd",
    .read = ide_cmd_read,
    .write = ide_cmd_write,
    .max_size = 4,
};

/* 0x3f6 / 0x376: alternate status (reads 0), device control */
static uint64_t ide_ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void ide_ctl_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct ide_channel *c = opaque;

    c->ctl = (uint8_t)value & ATA_CTL_NIEN; /* SRST completes at once */
}

static const struct io_ops ide_ctl_ops = {
    .name = "ide-ctl",
    .read = ide_ctl_read,
    .write = ide_ctl_write,
    .max_size = 1,
};

/* ---- bus-master registers (BAR4) ------------------------------------- */

static uint64_t bm_block_read(struct ide_channel *c, unsigned reg, unsigned size)
{
    if (reg >= 4) {
        unsigned shift = (reg - 4) * 8;
        return (c->bm_addr >> shift) & all_ones(size);
    }
    if (size != 1)
        return all_ones(size);
    switch (reg) {
    case 0:
        return c->bm_cmd;
    case 2:
        return c->bm_status;
    default:
        return 0xff;
    }
}

static void bm_block_write(struct ide_channel *c, unsigned reg, unsigned size, uint32_t v)
{
    if (reg >= 4) {
        unsigned shift = (reg - 4) * 8;
        uint32_t mask = (uint32_t)all_ones(size) << shift;
        c->bm_addr = (c->bm_addr & ~mask) | ((v << shift) & mask & ~3u);
        return;
    }
    if (size != 1)
        return;
    if (reg == 0) {
        if ((v ^ c->bm_cmd) & BM_CMD_START) {
            if (v & BM_CMD_START)
                c->bm_status |= BM_ST_ACTIVE;
            else
                c->bm_status &= ~BM_ST_ACTIVE;
        }
        c->bm_cmd = v & BM_CMD_MASK;
    } else if (reg == 2) {
        c->bm_status = (uint8_t)((v & BM_ST_RW) | (c->bm_status & BM_ST_ACTIVE) |
                                 (c->bm_status & ~v & BM_ST_RW1C));
    }
}

/*
 * QEMU backs the BAR with four 4-byte registers blocks; an access is cut at
 * its natural alignment and at block ends before reaching them.
 */
static uint64_t bm_access(struct device *dev, uint64_t offset, unsigned size, bool write,
                          uint64_t value)
{
    struct piix3_ide *s = DEVICE_PRIV(dev, struct piix3_ide);
    uint64_t out = 0;

    for (unsigned done = 0; done < size;) {
        unsigned off = (unsigned)offset + done, n = size - done;
        unsigned in_block = off & 3, align = in_block ? (in_block & -in_block) : 4;
        if (n > align)
            n = align;
        if (n > 4 - in_block)
            n = 4 - in_block;
        if (n == 3)
            n = 2;
        struct ide_channel *c = &s->ch[off / IDE_BM_CHANNEL_STRIDE];
        unsigned reg = off % IDE_BM_CHANNEL_STRIDE;
        if (write)
            bm_block_write(c, reg, n, (uint32_t)(value >> (8 * done)));
        else
            out |= bm_block_read(c, reg, n) << (8 * done);
        done += n;
    }
    return out;
}

static uint64_t bm_read(void *opaque, uint64_t offset, unsigned size)
{
    return bm_access(opaque, offset, size, false, 0);
}

static void bm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    bm_access(opaque, offset, size, true, value);
}

static const struct io_ops bm_ops = {
    .name = "piix-bmdma",
    .read = bm_read,
    .write = bm_write,
    .max_size = 4,
};

/* ---- life cycle ------------------------------------------------------ */

static void piix3_ide_reset(struct device *dev)
{
    struct piix3_ide *s = DEVICE_PRIV(dev, struct piix3_ide);

    dev->pci->config[0x20] = IDE_BAR4_INIT;
    for (int i = 0; i < 2; i++) {
        struct ide_channel *c = &s->ch[i];
        ide_set_irq(c, 0);
        c->unit = 0;
        c->ctl = 0;
        c->bm_cmd = 0;
        c->bm_status = 0;
        c->bm_addr = 0;
    }
}

static int piix3_ide_create(struct device *dev, const struct opts *opts)
{
    struct piix3_ide *s = DEVICE_PRIV(dev, struct piix3_ide);
    int rc;

    dev->pci->config[0x06] = IDE_STATUS & 0xff;
    dev->pci->config[0x07] = IDE_STATUS >> 8;
    for (int i = 0; i < 2; i++) {
        struct ide_channel *c = &s->ch[i];
        c->isa_irq = ide_legacy[i].irq;
        c->cmd_block = (struct io_region){.space = IO_PIO,
                                          .base = ide_legacy[i].cmd_base,
                                          .size = 8,
                                          .ops = &ide_cmd_ops,
                                          .opaque = c};
        c->ctl_reg = (struct io_region){.space = IO_PIO,
                                        .base = ide_legacy[i].ctl_port,
                                        .size = 1,
                                        .ops = &ide_ctl_ops,
                                        .opaque = c};
        if ((rc = io_region_add(&c->cmd_block)) < 0 || (rc = io_region_add(&c->ctl_reg)) < 0) {
            fprintf(stderr, "xendm: piix3-ide: cannot claim the %s channel's ports (%d)\n",
                    i ? "secondary" : "primary", rc);
            return rc;
        }
    }
    piix3_ide_reset(dev);
    return 0;
}

static const struct pci_desc piix3_ide_pci = {
    .vendor = 0x8086,
    .device = 0x7010,
    .class_code = 0x010180,
    .devfn = 0x09, /* 00:01.1 */
    .bar[IDE_BM_BAR] = {.type = PCI_BAR_IO, .size = IDE_BM_SIZE, .ops = &bm_ops},
};

static struct device_desc piix3_ide_desc = {
    .name = "piix3-ide",
    .desc = "PIIX3 IDE controller, legacy mode, no drives yet (xenfv, 00:01.1)",
    .priv_size = sizeof(struct piix3_ide),
    .pci = &piix3_ide_pci,
    .create = piix3_ide_create,
    .reset = piix3_ide_reset,
};
DEVICE_REGISTER(piix3_ide_desc)
