/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX3 PCI-to-ISA bridge ("PIIX3", QEMU's PIIX3-xen): PCI 00:01.0,
 * 8086:7000 rev 00, class 0x060100, multi-function header, status 0x0200
 * (DEVSEL medium), no BARs, no interrupt pin; subsystem 1af4:1100.
 *
 * Config registers (reset values as QEMU 7.2 shows them; every byte of
 * 0x40-0xff is read/write, as in QEMU):
 *   0x4c IORT 0x4d, 0x4e XBCS 0x03, 0x69 TOM 0x02, 0x70 MBIRQ0 0x80,
 *   0x76-0x77 MBDMA 0x0c, 0x78 PCSC 0x02, 0xa0 SMICNTL 0x08, 0xa8 0x0f
 *   0x60-0x63 PIRQA-D route, reset 0x80 (disabled).  Every write touching
 *             them is forwarded to Xen (hv_set_pci_link_route) the way
 *             qemu-xen does it: bit 7 set -> 0 (disabled), else the low four
 *             bits (so 0 is "disabled" too), even if the value is unchanged.
 *             Xen routes PCI INTx through these links itself.
 * I/O port:
 *   0xcf9 reset control register (one byte): bit 1 is stored (reset type),
 *         any write with bit 2 set resets every device and asks Xen for a
 *         reboot (hv_shutdown(HV_SHUTDOWN_REBOOT)) before the ioreq
 *         completes; QEMU makes no difference between hard and soft reset.
 * Options: none (the machine creates it).
 * Left out: the ISA IRQ and DMA routing registers have no effect (Xen owns
 * the PIC, there is no ISA DMA), APM/SMI (no SMM under Xen).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"

#define PIIX3_STATUS     0x0200 /* DEVSEL medium */
#define PIIX3_PIRQ_BASE  0x60
#define PIIX3_PIRQ_COUNT 4
#define PIRQ_DISABLE     0x80
#define PIRQ_IRQ_MASK    0x0f
#define RCR_PORT         0xcf9
#define RCR_RESET_TYPE   0x02
#define RCR_RESET        0x04

struct piix3 {
    uint8_t rcr;
    struct io_region rcr_region;
};

/* Device-specific registers at power-on (QEMU's piix3_reset). */
static const struct {
    uint8_t reg, value;
} piix3_reset_values[] = {
    {0x4c, 0x4d}, {0x4e, 0x03}, {0x4f, 0x00}, {0x60, 0x80}, {0x61, 0x80}, {0x62, 0x80},
    {0x63, 0x80}, {0x69, 0x02}, {0x70, 0x80}, {0x76, 0x0c}, {0x77, 0x0c}, {0x78, 0x02},
    {0x79, 0x00}, {0x80, 0x00}, {0x82, 0x00}, {0xa0, 0x08}, {0xa2, 0x00}, {0xa3, 0x00},
    {0xa4, 0x00}, {0xa5, 0x00}, {0xa6, 0x00}, {0xa7, 0x00}, {0xa8, 0x0f}, {0xaa, 0x00},
    {0xab, 0x00}, {0xac, 0x00}, {0xae, 0x00},
};

static void piix3_cfg_write(struct pci_dev *pd, unsigned off, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size; i++) {
        unsigned reg = off + i;
        uint8_t v = (uint8_t)(value >> (8 * i));
        if (reg < PIIX3_PIRQ_BASE || reg >= PIIX3_PIRQ_BASE + PIIX3_PIRQ_COUNT)
            continue;
        v = (v & PIRQ_DISABLE) ? 0 : (v & PIRQ_IRQ_MASK);
        hv_set_pci_link_route(reg - PIIX3_PIRQ_BASE, v);
    }
}

/*
 * A wider access starting at 0xcf9 reaches the register whole and is taken
 * byte by byte, each byte as a write of its own (QEMU's one-byte register
 * sees the same): "outw 0x0600, 0xcf9" reboots.
 */
static uint64_t rcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix3 *s = DEVICE_PRIV((struct device *)opaque, struct piix3);
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)s->rcr << (8 * i);
    return v;
}

static void rcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct piix3 *s = DEVICE_PRIV((struct device *)opaque, struct piix3);

    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (b & RCR_RESET) {
            device_reset_all();
            hv_shutdown(HV_SHUTDOWN_REBOOT);
            return;
        }
        s->rcr = b & RCR_RESET_TYPE;
    }
}

static const struct io_ops rcr_ops = {
    .name = "piix3-reset-control",
    .read = rcr_read,
    .write = rcr_write,
    .max_size = 4,
};

static void piix3_reset(struct device *dev)
{
    struct piix3 *s = DEVICE_PRIV(dev, struct piix3);

    for (size_t i = 0; i < sizeof(piix3_reset_values) / sizeof(piix3_reset_values[0]); i++)
        dev->pci->config[piix3_reset_values[i].reg] = piix3_reset_values[i].value;
    s->rcr = 0;
}

static int piix3_create(struct device *dev, const struct opts *opts)
{
    struct piix3 *s = DEVICE_PRIV(dev, struct piix3);
    int rc;

    dev->pci->config[0x06] = PIIX3_STATUS & 0xff;
    dev->pci->config[0x07] = PIIX3_STATUS >> 8;
    piix3_reset(dev);
    s->rcr_region = (struct io_region){
        .space = IO_PIO, .base = RCR_PORT, .size = 1, .ops = &rcr_ops, .opaque = dev};
    rc = io_region_add(&s->rcr_region);
    if (rc < 0)
        fprintf(stderr, "xendm: PIIX3: cannot claim port 0xcf9 (%d)\n", rc);
    return rc;
}

static const struct pci_desc piix3_pci = {
    .vendor = 0x8086,
    .device = 0x7000,
    .class_code = 0x060100,
    .header_type = 0x80,
    .devfn = 0x08, /* 00:01.0 */
    .cfg_write = piix3_cfg_write,
};

static struct device_desc piix3_desc = {
    .name = "PIIX3",
    .desc = "PIIX3 PCI-to-ISA bridge with PIRQ routing and reset register (xenfv, 00:01.0)",
    .priv_size = sizeof(struct piix3),
    .pci = &piix3_pci,
    .create = piix3_create,
    .reset = piix3_reset,
};
DEVICE_REGISTER(piix3_desc)
