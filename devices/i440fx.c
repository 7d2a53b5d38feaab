/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * i440FX host bridge ("i440FX"): PCI 00:00.0, 8086:1237 rev 02, class
 * 0x060000, single function, no BARs, no interrupt; subsystem 1af4:1100.
 * It also owns the PCI host's configuration mechanism #1 ports.
 *
 * Config space beyond the standard header (QEMU 7.2 values, all of
 * 0x40-0xff read/write as in QEMU):
 *   0x57        RAM size in 8 MiB units, at most 255 (old coreboot reads it)
 *   0x59-0x5f   PAM0-PAM6, reset 0: stored only; under Xen the p2m decides
 *               what 0xc0000-0xfffff is
 *   0x72        SMRAM, reset 0x02: stored only; there is no SMM under Xen
 * I/O ports:
 *   0xcf8       CONFIG_ADDRESS (a one-byte region that takes dword accesses
 *               whole, since 0xcf9 is the PIIX3 reset register) and
 *   0xcfa-0xcfb its upper half: a dword write at 0xcf8 sets the latch, other
 *               writes are ignored; reads of any width anywhere in
 *               0xcf8-0xcfb return the latch truncated, as QEMU does
 *   0xcfc-0xcff CONFIG_DATA: with the latch enabled, a cycle to a bus-0
 *               function xendm has (Xen normally turns those into
 *               PCI_CONFIG ioreqs), else all-ones / dropped
 * Options: ram-mb=N (required, set by the machine): the -m value in MiB.
 * Left out: PAM and SMRAM effects, SMRAM D_LCK, the PCI hole properties.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"

#define I440FX_RAM_SIZE_REG 0x57
#define I440FX_SMRAM        0x72
#define I440FX_SMRAM_RESET  0x02
#define RAM_SIZE_UNIT_MB    8
#define CONF_ADDR_PORT      0xcf8
#define CONF_ADDR_HI_PORT   0xcfa
#define CONF_DATA_PORT      0xcfc
#define CONF_ENABLE         0x80000000u

struct i440fx {
    uint32_t conf_addr;
    struct io_region addr_lo, addr_hi, data;
};

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t conf_addr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i440fx *s = DEVICE_PRIV((struct device *)opaque, struct i440fx);

    return s->conf_addr & size_mask(size);
}

static void conf_addr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i440fx *s = DEVICE_PRIV((struct device *)opaque, struct i440fx);

    if (offset == 0 && size == 4)
        s->conf_addr = (uint32_t)value;
}

/* Bus/device/function and register selected by the latch for an access at
 * CONFIG_DATA + offset, or -1 if it selects nothing xendm has. */
static int conf_data_target(const struct i440fx *s, uint64_t offset, unsigned *reg)
{
    uint32_t a = s->conf_addr;

    if (!(a & CONF_ENABLE) || ((a >> 16) & 0xff) != 0 || !pci_find((uint8_t)(a >> 8)))
        return -1;
    *reg = (unsigned)((a | offset) & 0xff);
    return (int)((a >> 8) & 0xff);
}

static uint64_t conf_data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i440fx *s = DEVICE_PRIV((struct device *)opaque, struct i440fx);
    unsigned reg;
    int devfn = conf_data_target(s, offset, &reg);

    if (devfn < 0)
        return size_mask(size);
    return pci_config_read((uint32_t)devfn, reg, size);
}

static void conf_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i440fx *s = DEVICE_PRIV((struct device *)opaque, struct i440fx);
    unsigned reg;
    int devfn = conf_data_target(s, offset, &reg);

    if (devfn >= 0)
        pci_config_write((uint32_t)devfn, reg, size, (uint32_t)value);
}

static const struct io_ops conf_addr_ops = {
    .name = "pci-conf-idx",
    .read = conf_addr_read,
    .write = conf_addr_write,
    .max_size = 4, /* dword accesses at 0xcf8 arrive whole */
};

/* 0xcfa-0xcfb: reads like 0xcf8, writes never latch (QEMU ignores them). */
static const struct io_ops conf_addr_hi_ops = {
    .name = "pci-conf-idx-hi",
    .read = conf_addr_read,
    .max_size = 4,
};

static const struct io_ops conf_data_ops = {
    .name = "pci-conf-data",
    .read = conf_data_read,
    .write = conf_data_write,
    .max_size = 4,
};

static int i440fx_create(struct device *dev, const struct opts *opts)
{
    struct i440fx *s = DEVICE_PRIV(dev, struct i440fx);
    struct opts *o = (struct opts *)opts;
    uint64_t ram_mb;
    int rc;

    if (!o || !opts_get(o, "ram-mb")) {
        fprintf(stderr, "xendm: i440FX: the machine must pass ram-mb\n");
        return -EINVAL;
    }
    if (opts_get_u64(o, "ram-mb", 0, UINT32_MAX, &ram_mb) < 0)
        return -EINVAL;
    ram_mb /= RAM_SIZE_UNIT_MB;
    dev->pci->config[I440FX_RAM_SIZE_REG] = (uint8_t)(ram_mb > 255 ? 255 : ram_mb);
    dev->pci->config[I440FX_SMRAM] = I440FX_SMRAM_RESET;

    s->addr_lo = (struct io_region){
        .space = IO_PIO, .base = CONF_ADDR_PORT, .size = 1, .ops = &conf_addr_ops, .opaque = dev};
    s->addr_hi = (struct io_region){.space = IO_PIO,
                                    .base = CONF_ADDR_HI_PORT,
                                    .size = 2,
                                    .ops = &conf_addr_hi_ops,
                                    .opaque = dev};
    s->data = (struct io_region){
        .space = IO_PIO, .base = CONF_DATA_PORT, .size = 4, .ops = &conf_data_ops, .opaque = dev};
    if ((rc = io_region_add(&s->addr_lo)) < 0 || (rc = io_region_add(&s->addr_hi)) < 0 ||
        (rc = io_region_add(&s->data)) < 0) {
        fprintf(stderr, "xendm: i440FX: cannot claim ports 0xcf8-0xcff (%d)\n", rc);
        return rc;
    }
    return 0;
}

static const struct pci_desc i440fx_pci = {
    .vendor = 0x8086,
    .device = 0x1237,
    .class_code = 0x060000,
    .revision = 0x02,
    .devfn = 0,
};

static struct device_desc i440fx_desc = {
    .name = "i440FX",
    .desc = "i440FX PCI host bridge (xenfv chipset, 00:00.0)",
    .priv_size = sizeof(struct i440fx),
    .pci = &i440fx_pci,
    .create = i440fx_create,
};
DEVICE_REGISTER(i440fx_desc)
