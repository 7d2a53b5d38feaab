/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX4 power management function ("PIIX4_PM"): PCI 00:01.3, 8086:7113
 * rev 03, class 0x068000, INTA#, status 0x0280; subsystem 1af4:1100.
 * Absent with -no-acpi; hvmloader needs it for ACPI (xl-contract 1.5.10).
 *
 * Config registers (QEMU 7.2 values; all of 0x40-0xff read/write):
 *   0x40 PMBA, reset 0x0001: PM I/O base (bits 6-15)
 *   0x80 PMREGMISC bit 0: PM I/O enable (hvmloader: PMBA 0xb001, 0x80 = 1)
 *   0x5b 0x02 (SMM "already initialised"), 0x63 0x60
 *   0x5f 0x10 | 0x80 if a parallel port answers at 0x378, and
 *   0x67 0x08 if a serial port answers at 0x3f8, | 0x90 if one at 0x2f8:
 *        like QEMU's machine-ready hook, decided when the guest first
 *        touches this function's config space (every device exists by then)
 *   0x90 SMBBA 0xb101: SMBus I/O base; 0xd2 SMBHSTCFG 0x09, bit 0 enables
 * I/O registers:
 *   PMBA+4 PM1a_CNT (2 bytes, while 0x80 bit 0 is set): read/write except
 *          SLP_EN (bit 13), which acts: SLP_TYP 0 (S5) or 2 (S4, QEMU's
 *          s4_val) -> hv_shutdown(HV_SHUTDOWN_POWEROFF), 1 (S3) ->
 *          hv_set_acpi_s_state(3).  Like QEMU 7.2 the register ignores the
 *          byte offset: a byte access at PMBA+5 reads the low byte and
 *          writes the whole register.
 *   0xb2   APM control: 0xf1 sets SCI_EN, 0xf0 clears it (what hvmloader
 *          and the DSDT use); other values would be an SMI (none under Xen)
 *   0xb3   APM status, read/write
 *   0xafe0 GPE0: 2 status bytes (write 1 to clear), 2 enable bytes; every
 *          write sets ISA IRQ 9 (the SCI) to (status & enable) of byte 0,
 *          as QEMU does
 *   0xaf00 CPU present bitmap, 32 bytes, bit n = vCPU n present; read-only
 *   0xae00 PCI hotplug, 0x18 bytes, dword accesses only (others read 0):
 *          up/down/eject/select/acpi-index read 0, +0xc the removable
 *          slots (slots holding a bridge, IDE or VGA function are not)
 *   SMBBA  SMBus host (64 bytes, while 0xd2 bit 0 is set) with QEMU's eight
 *          empty 256-byte SPD EEPROMs at addresses 0x50-0x57: quick, byte,
 *          byte-data, word-data and block transfers (buffered or byte by
 *          byte); no SMBus interrupt
 * Options (set by the machine): cpus=N vCPUs present at boot (default:
 * maxcpus, else 1), maxcpus=M (default cpus), at most 256.
 * Left out: PM1a_STS/EN and the PM timer (Xen emulates them at 0xb000 and
 * 0xb008; a PMBA elsewhere gets only PM1a_CNT), SMI, the switch to QEMU's
 * modern CPU hotplug interface (a write of 0 to 0xaf00), hotplug and eject
 * (logged and ignored), SMBus I2C block reads (fail with DEV_ERR), memory
 * hotplug.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/log.h"

#define TAG "piix4-pm"

/* Config space */
#define PM_STATUS           0x0280
#define PM_PMBA             0x40
#define PM_MISC_5B          0x5b
#define PM_MISC_5B_SMM_DONE 0x02
#define PM_PARALLEL_REG     0x5f
#define PM_REG_63           0x63
#define PM_REG_63_VALUE     0x60
#define PM_SERIAL_REG       0x67
#define PM_PMREGMISC        0x80
#define PM_SMBBA            0x90
#define PM_SMBHSTCFG        0xd2
#define PM_SMBBA_RESET      0xb101
#define PM_SMBHSTCFG_RESET  0x09
#define PM_IO_BASE_MASK     0xffc0

/* I/O */
#define PM1_CNT_OFFSET        4
#define PM1_CNT_SCI_EN        0x0001
#define PM1_CNT_SLP_EN        0x2000
#define PM1_CNT_SLP_TYP_SHIFT 10
#define SLP_TYP_S5            0
#define SLP_TYP_S3            1
#define SLP_TYP_S4            2 /* QEMU's s4_val */
#define APM_PORT              0xb2
#define APM_ENABLE_ACPI       0xf1
#define APM_DISABLE_ACPI      0xf0
#define GPE0_PORT             0xafe0
#define GPE0_LEN              4
#define SCI_IRQ               9
#define CPU_BITMAP_PORT       0xaf00
#define CPU_BITMAP_LEN        32
#define MAX_CPUS              (CPU_BITMAP_LEN * 8)
#define PCIHP_PORT            0xae00
#define PCIHP_LEN             0x18
#define PCIHP_EJECT           0x08
#define PCIHP_REMOVABLE       0x0c
#define SMBUS_LEN             64
#define PARALLEL_PORT         0x378
#define SERIAL0_PORT          0x3f8
#define SERIAL1_PORT          0x2f8

/* SMBus host registers and bits */
#define SMB_HSTSTS      0x00
#define SMB_HSTCNT      0x02
#define SMB_HSTCMD      0x03
#define SMB_HSTADD      0x04
#define SMB_HSTDAT0     0x05
#define SMB_HSTDAT1     0x06
#define SMB_BLKDAT      0x07
#define SMB_AUXCTL      0x0d
#define STS_HOST_BUSY   0x01
#define STS_INTR        0x02
#define STS_DEV_ERR     0x04
#define STS_FAILED      0x10
#define STS_BYTE_DONE   0x80
#define CTL_INTREN      0x01
#define CTL_KILL        0x02
#define CTL_LAST_BYTE   0x20
#define CTL_START       0x40
#define CTL_READ_MASK   0x1f
#define AUX_BLK         0x02
#define AUX_MASK        0x03
#define PROT_QUICK      0
#define PROT_BYTE       1
#define PROT_BYTE_DATA  2
#define PROT_WORD_DATA  3
#define PROT_BLOCK_DATA 5
#define SMB_BLOCK_MAX   32
#define SPD_FIRST_ADDR  0x50
#define SPD_COUNT       8
#define SPD_SIZE        256

struct spd_eeprom {
    uint8_t data[SPD_SIZE];
    uint8_t offset; /* wraps like QEMU's */
};

struct smbus {
    uint8_t stat, ctl, cmd, addr, data0, data1, aux, blkdata;
    uint8_t block[SMB_BLOCK_MAX];
    unsigned index;
    bool op_done, start_on_status_read;
    struct spd_eeprom spd[SPD_COUNT];
};

struct piix4_pm {
    struct device *dev;
    unsigned cpus;
    bool machine_ready; /* 0x5f/0x67 decided */
    uint16_t pm1_cnt;
    uint8_t apmc, apms;
    uint8_t gpe_sts[GPE0_LEN / 2], gpe_en[GPE0_LEN / 2];
    struct smbus smb;
    struct io_region pm1_cnt_region, apm_region, gpe_region, cpu_region, pcihp_region, smbus_region;
};

static struct piix4_pm *pm_of(void *opaque)
{
    return DEVICE_PRIV((struct device *)opaque, struct piix4_pm);
}

static uint32_t cfg_le(const struct pci_dev *pd, unsigned off, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)pd->config[off + i] << (8 * i);
    return v;
}

/* ---- PM1a_CNT ---------------------------------------------------------- */

static void pm1_cnt_write_value(struct piix4_pm *s, uint16_t v)
{
    s->pm1_cnt = v & (uint16_t)~PM1_CNT_SLP_EN;
    if (!(v & PM1_CNT_SLP_EN))
        return;
    switch ((v >> PM1_CNT_SLP_TYP_SHIFT) & 7) {
    case SLP_TYP_S5:
    case SLP_TYP_S4:
        LOG_GUEST(TAG, "guest requested power-off");
        hv_shutdown(HV_SHUTDOWN_POWEROFF);
        break;
    case SLP_TYP_S3:
        LOG_GUEST(TAG, "guest entered S3");
        hv_set_acpi_s_state(3);
        break;
    default:
        break;
    }
}

static uint64_t pm1_cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    return pm_of(opaque)->pm1_cnt; /* the dispatcher keeps the low bytes */
}

static void pm1_cnt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    pm1_cnt_write_value(pm_of(opaque), (uint16_t)value);
}

static const struct io_ops pm1_cnt_ops = {
    .name = "acpi-cnt",
    .read = pm1_cnt_read,
    .write = pm1_cnt_write,
    .max_size = 2,
};

/* ---- APM ports 0xb2-0xb3 ---------------------------------------------- */

static uint64_t apm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix4_pm *s = pm_of(opaque);

    return offset == 0 ? s->apmc : s->apms;
}

static void apm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct piix4_pm *s = pm_of(opaque);

    if (offset != 0) {
        s->apms = (uint8_t)value;
        return;
    }
    s->apmc = (uint8_t)value;
    if (value == APM_ENABLE_ACPI)
        s->pm1_cnt |= PM1_CNT_SCI_EN;
    else if (value == APM_DISABLE_ACPI)
        s->pm1_cnt &= (uint16_t)~PM1_CNT_SCI_EN;
}

static const struct io_ops apm_ops = {
    .name = "apm-io",
    .read = apm_read,
    .write = apm_write,
    .min_size = 1,
    .max_size = 1,
};

/* ---- GPE0 block ------------------------------------------------------- */

static void gpe_update_sci(struct piix4_pm *s)
{
    hv_set_isa_irq(SCI_IRQ, (s->gpe_sts[0] & s->gpe_en[0]) != 0);
}

static uint64_t gpe_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix4_pm *s = pm_of(opaque);

    return offset < GPE0_LEN / 2 ? s->gpe_sts[offset] : s->gpe_en[offset - GPE0_LEN / 2];
}

static void gpe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct piix4_pm *s = pm_of(opaque);

    if (offset < GPE0_LEN / 2)
        s->gpe_sts[offset] &= (uint8_t)~value;
    else
        s->gpe_en[offset - GPE0_LEN / 2] = (uint8_t)value;
    gpe_update_sci(s);
}

static const struct io_ops gpe_ops = {
    .name = "acpi-gpe0",
    .read = gpe_read,
    .write = gpe_write,
    .min_size = 1,
    .max_size = 1,
};

/* ---- CPU present bitmap ----------------------------------------------- */

static uint64_t cpu_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix4_pm *s = pm_of(opaque);
    unsigned first = (unsigned)offset * 8;

    if (s->cpus <= first)
        return 0;
    return s->cpus - first >= 8 ? 0xff : (1u << (s->cpus - first)) - 1;
}

static const struct io_ops cpu_ops = {
    .name = "acpi-cpu-hotplug",
    .read = cpu_read,
    .min_size = 1,
    .max_size = 1,
};

/* ---- PCI hotplug ------------------------------------------------------ */

/* QEMU marks host/ISA bridges, the PM function, PIIX IDE and VGA devices
 * as not hot-pluggable; a slot holding one of them is not removable. */
static uint32_t pcihp_removable(void)
{
    uint32_t slots = 0xffffffffu;

    for (unsigned devfn = 0; devfn < 256; devfn++) {
        const struct pci_dev *pd = pci_find((uint8_t)devfn);
        if (!pd)
            continue;
        uint32_t class = pd->desc->class_code >> 8;
        if ((class >> 8) == 0x06 || class == 0x0101 || class == 0x0300)
            slots &= ~(1u << (devfn >> 3));
    }
    return slots;
}

static uint64_t pcihp_read(void *opaque, uint64_t offset, unsigned size)
{
    if (size != 4 || (offset & 3))
        return 0;
    return offset == PCIHP_REMOVABLE ? pcihp_removable() : 0;
}

static void pcihp_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (size == 4 && offset == PCIHP_EJECT && value)
        LOG_GUEST(TAG, "guest asked to eject PCI slots %#llx: hotplug is not supported",
                  (unsigned long long)value);
}

static const struct io_ops pcihp_ops = {
    .name = "acpi-pci-hotplug",
    .read = pcihp_read,
    .write = pcihp_write,
    .max_size = 4,
};

/* ---- SMBus host with the SPD EEPROMs ---------------------------------- */

static struct spd_eeprom *smb_device(struct smbus *b, uint8_t addr)
{
    if (addr < SPD_FIRST_ADDR || addr >= SPD_FIRST_ADDR + SPD_COUNT)
        return NULL;
    return &b->spd[addr - SPD_FIRST_ADDR];
}

static uint8_t spd_next(struct spd_eeprom *e)
{
    return e->data[e->offset++];
}

static void spd_store(struct spd_eeprom *e, uint8_t v)
{
    e->data[e->offset++] = v;
}

/* Returns false when no device answers (DEV_ERR). */
static bool smb_run(struct smbus *b)
{
    unsigned prot = (b->ctl >> 2) & 7;
    bool read = b->addr & 1;
    struct spd_eeprom *e = smb_device(b, b->addr >> 1);

    if (!e)
        return false;
    switch (prot) {
    case PROT_QUICK:
        break;
    case PROT_BYTE:
        if (read)
            b->data0 = spd_next(e);
        else
            e->offset = b->cmd;
        break;
    case PROT_BYTE_DATA:
        e->offset = b->cmd;
        if (read)
            b->data0 = spd_next(e);
        else
            spd_store(e, b->data0);
        break;
    case PROT_WORD_DATA:
        e->offset = b->cmd;
        if (read) {
            b->data0 = spd_next(e);
            b->data1 = spd_next(e);
        } else {
            spd_store(e, b->data0);
            spd_store(e, b->data1);
        }
        break;
    case PROT_BLOCK_DATA:
        if (read) {
            unsigned len;
            e->offset = b->cmd;
            len = spd_next(e);
            if (len > SMB_BLOCK_MAX)
                len = 0;
            for (unsigned i = 0; i < len; i++)
                b->block[i] = spd_next(e);
            b->index = 0;
            b->op_done = false;
            if (b->aux & AUX_BLK) {
                b->stat |= STS_INTR;
            } else {
                b->blkdata = b->block[0];
                b->stat |= STS_HOST_BUSY | STS_BYTE_DONE;
            }
            b->data0 = (uint8_t)len;
            return true;
        }
        if (b->aux & AUX_BLK) {
            if (b->index != b->data0) {
                b->index = 0;
                return false;
            }
            b->index = 0;
            e->offset = b->cmd;
            spd_store(e, b->data0);
            for (unsigned i = 0; i < b->data0 && i < SMB_BLOCK_MAX; i++)
                spd_store(e, b->block[i]);
            b->op_done = true;
            b->stat = (uint8_t)((b->stat | STS_INTR) & ~STS_HOST_BUSY);
        } else {
            b->op_done = false;
            b->stat |= STS_HOST_BUSY | STS_BYTE_DONE;
            b->block[0] = b->blkdata;
            b->index = 0;
        }
        return true;
    default: /* process call, I2C block read: not supported */
        return false;
    }
    b->stat |= STS_INTR;
    return true;
}

static void smb_transaction(struct smbus *b)
{
    if ((b->stat & STS_DEV_ERR) || !smb_run(b))
        b->stat |= STS_DEV_ERR;
}

static bool smb_byte_by_byte(const struct smbus *b)
{
    return !b->op_done && !(b->aux & AUX_BLK);
}

/* The guest acknowledged BYTE_DONE of a byte-by-byte block transfer. */
static void smb_next_byte(struct smbus *b)
{
    bool read = b->addr & 1;

    if (++b->index >= SMB_BLOCK_MAX)
        b->index = 0;
    if (!read && b->index == b->data0) {
        struct spd_eeprom *e = smb_device(b, b->addr >> 1);
        if (!e) {
            b->stat |= STS_DEV_ERR;
            return;
        }
        e->offset = b->cmd;
        spd_store(e, b->data0);
        for (unsigned i = 0; i < b->data0 && i < SMB_BLOCK_MAX; i++)
            spd_store(e, b->block[i]);
        b->op_done = true;
        b->stat = (uint8_t)((b->stat | STS_INTR) & ~STS_HOST_BUSY);
    } else if (!read) {
        b->block[b->index] = b->blkdata;
        b->stat |= STS_BYTE_DONE;
    } else if (b->ctl & CTL_LAST_BYTE) {
        b->op_done = true;
        b->blkdata = b->block[b->index];
        b->index = 0;
        b->stat = (uint8_t)((b->stat | STS_INTR) & ~STS_HOST_BUSY);
    } else {
        b->blkdata = b->block[b->index];
        b->stat |= STS_BYTE_DONE;
    }
}

static uint64_t smb_read(void *opaque, uint64_t offset, unsigned size)
{
    struct smbus *b = &pm_of(opaque)->smb;
    uint8_t v;

    switch (offset) {
    case SMB_HSTSTS:
        v = b->stat;
        if (b->start_on_status_read) {
            /* QEMU runs the command when the guest first polls */
            b->start_on_status_read = false;
            b->stat &= (uint8_t)~STS_HOST_BUSY;
            smb_transaction(b);
        }
        return v;
    case SMB_HSTCNT:
        return b->ctl & CTL_READ_MASK;
    case SMB_HSTCMD:
        return b->cmd;
    case SMB_HSTADD:
        return b->addr;
    case SMB_HSTDAT0:
        return b->data0;
    case SMB_HSTDAT1:
        return b->data1;
    case SMB_BLKDAT:
        if (!(b->aux & AUX_BLK))
            return b->blkdata;
        if (b->index >= SMB_BLOCK_MAX)
            b->index = 0;
        v = b->block[b->index++];
        if (!b->op_done && b->index == b->data0) {
            b->op_done = true;
            b->index = 0;
            b->stat &= (uint8_t)~STS_HOST_BUSY;
        }
        return v;
    case SMB_AUXCTL:
        return b->aux;
    default:
        return 0;
    }
}

static void smb_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct smbus *b = &pm_of(opaque)->smb;
    uint8_t v = (uint8_t)value;

    switch (offset) {
    case SMB_HSTSTS: {
        bool ack_byte = b->stat & v & STS_BYTE_DONE;
        b->stat &= (uint8_t) ~(v & ~STS_HOST_BUSY);
        if (ack_byte && smb_byte_by_byte(b))
            smb_next_byte(b);
        break;
    }
    case SMB_HSTCNT:
        b->ctl = v & (uint8_t)~CTL_START; /* START reads back 0 */
        if (v & CTL_START) {
            if (!b->op_done) {
                b->index = 0;
                b->op_done = true;
            }
            if (b->ctl & CTL_INTREN) {
                smb_transaction(b);
                b->start_on_status_read = false;
            } else {
                b->stat |= STS_HOST_BUSY;
                b->start_on_status_read = true;
            }
        }
        if (b->ctl & CTL_KILL) {
            b->op_done = true;
            b->index = 0;
            b->stat = (uint8_t)((b->stat | STS_FAILED) & ~STS_HOST_BUSY);
        }
        break;
    case SMB_HSTCMD:
        b->cmd = v;
        break;
    case SMB_HSTADD:
        b->addr = v;
        break;
    case SMB_HSTDAT0:
        b->data0 = v;
        break;
    case SMB_HSTDAT1:
        b->data1 = v;
        break;
    case SMB_BLKDAT:
        if (b->index >= SMB_BLOCK_MAX)
            b->index = 0;
        if (b->aux & AUX_BLK)
            b->block[b->index++] = v;
        else
            b->blkdata = v;
        break;
    case SMB_AUXCTL:
        b->aux = v & AUX_MASK;
        break;
    default:
        break;
    }
}

static const struct io_ops smbus_ops = {
    .name = "pm-smbus",
    .read = smb_read,
    .write = smb_write,
    .min_size = 1,
    .max_size = 1,
};

/* ---- windows programmed through config space --------------------------- */

/* Map, move or unmap a region the guest places with a base register. */
static void place_window(struct piix4_pm *s, struct io_region *r, bool enabled, uint64_t base)
{
    int rc;

    if (!enabled || base == 0) {
        io_region_del(r);
        return;
    }
    if (r->active && r->base == base)
        return;
    if (r->active) {
        rc = io_region_move(r, base);
    } else {
        r->base = base;
        rc = io_region_add(r);
    }
    if (rc < 0) {
        io_region_del(r);
        LOG_GUEST(TAG, "%s at %#llx not mapped (%s)", r->ops->name, (unsigned long long)base,
                  rc == -EEXIST ? "overlaps another region" : "refused");
    }
}

static void pm_io_update(struct piix4_pm *s)
{
    struct pci_dev *pd = s->dev->pci;
    uint32_t base = cfg_le(pd, PM_PMBA, 4) & PM_IO_BASE_MASK;

    place_window(s, &s->pm1_cnt_region, pd->config[PM_PMREGMISC] & 1,
                 base ? base + PM1_CNT_OFFSET : 0);
}

static void smbus_update(struct piix4_pm *s)
{
    struct pci_dev *pd = s->dev->pci;

    place_window(s, &s->smbus_region, pd->config[PM_SMBHSTCFG] & 1,
                 cfg_le(pd, PM_SMBBA, 4) & PM_IO_BASE_MASK);
}

static bool port_claimed(uint64_t port)
{
    const struct io_region *r = io_region_next(IO_PIO, port);

    return r && r->base <= port;
}

/* QEMU fills 0x5f and 0x67 once the machine is built; xendm does it when
 * the guest first looks, keeping bytes the guest wrote in that access. */
static void machine_ready(struct piix4_pm *s, unsigned wr_off, unsigned wr_size)
{
    struct pci_dev *pd = s->dev->pci;

    if (s->machine_ready)
        return;
    s->machine_ready = true;
    if (!(wr_size && wr_off <= PM_PARALLEL_REG && PM_PARALLEL_REG < wr_off + wr_size))
        pd->config[PM_PARALLEL_REG] = 0x10 | (port_claimed(PARALLEL_PORT) ? 0x80 : 0);
    if (!(wr_size && wr_off <= PM_SERIAL_REG && PM_SERIAL_REG < wr_off + wr_size))
        pd->config[PM_SERIAL_REG] = (uint8_t)((port_claimed(SERIAL0_PORT) ? 0x08 : 0) |
                                              (port_claimed(SERIAL1_PORT) ? 0x90 : 0));
}

static bool pm_cfg_read(struct pci_dev *pd, unsigned off, unsigned size, uint32_t *value)
{
    machine_ready(pm_of(pd->dev), 0, 0);
    return false;
}

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

static void pm_cfg_write(struct pci_dev *pd, unsigned off, unsigned size, uint32_t value)
{
    struct piix4_pm *s = pm_of(pd->dev);

    machine_ready(s, off, size);
    if (overlaps(off, size, PM_PMREGMISC, 1) || overlaps(off, size, PM_PMBA, 4))
        pm_io_update(s);
    if (overlaps(off, size, PM_SMBHSTCFG, 1) || overlaps(off, size, PM_SMBBA, 4))
        smbus_update(s);
}

/* ---- life cycle -------------------------------------------------------- */

static void piix4_pm_reset(struct device *dev)
{
    struct piix4_pm *s = DEVICE_PRIV(dev, struct piix4_pm);
    uint8_t *cfg = dev->pci->config;

    memset(cfg + 0x58, 0, 4);
    cfg[PM_MISC_5B] = PM_MISC_5B_SMM_DONE;
    cfg[PM_PMBA] = 0x01; /* I/O space indicator */
    cfg[PM_PMREGMISC] = 0;
    s->pm1_cnt = 0;
    memset(s->gpe_sts, 0, sizeof(s->gpe_sts));
    memset(s->gpe_en, 0, sizeof(s->gpe_en));
    gpe_update_sci(s);
    pm_io_update(s);
    for (int i = 0; i < SPD_COUNT; i++)
        memset(&s->smb.spd[i], 0, sizeof(s->smb.spd[i]));
}

static int piix4_pm_create(struct device *dev, const struct opts *opts)
{
    struct piix4_pm *s = DEVICE_PRIV(dev, struct piix4_pm);
    struct opts *o = (struct opts *)opts;
    uint8_t *cfg = dev->pci->config;
    uint64_t cpus = 1, maxcpus = 0;
    int rc;

    s->dev = dev;
    if (o) {
        if (opts_get_u64(o, "maxcpus", 0, MAX_CPUS, &maxcpus) < 0 ||
            opts_get_u64(o, "cpus", maxcpus ? maxcpus : 1, MAX_CPUS, &cpus) < 0)
            return -EINVAL;
    }
    if (!maxcpus)
        maxcpus = cpus;
    if (cpus < 1 || cpus > maxcpus) {
        fprintf(stderr, "xendm: PIIX4_PM: cpus=%llu must be between 1 and maxcpus=%llu\n",
                (unsigned long long)cpus, (unsigned long long)maxcpus);
        return -EINVAL;
    }
    s->cpus = (unsigned)cpus;

    cfg[0x06] = PM_STATUS & 0xff;
    cfg[0x07] = PM_STATUS >> 8;
    cfg[PM_REG_63] = PM_REG_63_VALUE;
    cfg[PM_SMBBA] = PM_SMBBA_RESET & 0xff;
    cfg[PM_SMBBA + 1] = PM_SMBBA_RESET >> 8;
    cfg[PM_SMBHSTCFG] = PM_SMBHSTCFG_RESET;
    s->smb.op_done = true;
    s->smb.aux = AUX_BLK; /* QEMU's PIIX4 forces the block buffer */

    s->pm1_cnt_region =
        (struct io_region){.space = IO_PIO, .size = 2, .ops = &pm1_cnt_ops, .opaque = dev};
    s->smbus_region =
        (struct io_region){.space = IO_PIO, .size = SMBUS_LEN, .ops = &smbus_ops, .opaque = dev};
    s->apm_region = (struct io_region){
        .space = IO_PIO, .base = APM_PORT, .size = 2, .ops = &apm_ops, .opaque = dev};
    s->gpe_region = (struct io_region){
        .space = IO_PIO, .base = GPE0_PORT, .size = GPE0_LEN, .ops = &gpe_ops, .opaque = dev};
    s->cpu_region = (struct io_region){.space = IO_PIO,
                                       .base = CPU_BITMAP_PORT,
                                       .size = CPU_BITMAP_LEN,
                                       .ops = &cpu_ops,
                                       .opaque = dev};
    s->pcihp_region = (struct io_region){
        .space = IO_PIO, .base = PCIHP_PORT, .size = PCIHP_LEN, .ops = &pcihp_ops, .opaque = dev};
    struct io_region *fixed[] = {&s->apm_region, &s->gpe_region, &s->pcihp_region, &s->cpu_region};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        rc = io_region_add(fixed[i]);
        if (rc < 0) {
            fprintf(stderr, "xendm: PIIX4_PM: cannot claim ports %#llx-%#llx (%d)\n",
                    (unsigned long long)fixed[i]->base,
                    (unsigned long long)(fixed[i]->base + fixed[i]->size - 1), rc);
            return rc;
        }
    }
    piix4_pm_reset(dev);
    smbus_update(s);
    return 0;
}

static const struct pci_desc piix4_pm_pci = {
    .vendor = 0x8086,
    .device = 0x7113,
    .class_code = 0x068000,
    .revision = 0x03,
    .irq_pin = 1,
    .devfn = 0x0b, /* 00:01.3 */
    .cfg_read = pm_cfg_read,
    .cfg_write = pm_cfg_write,
};

static struct device_desc piix4_pm_desc = {
    .name = "PIIX4_PM",
    .desc = "PIIX4 ACPI power management, APM, GPE0, CPU/PCI hotplug ports, SMBus (00:01.3)",
    .priv_size = sizeof(struct piix4_pm),
    .pci = &piix4_pm_pci,
    .create = piix4_pm_create,
    .reset = piix4_pm_reset,
};
DEVICE_REGISTER(piix4_pm_desc)
