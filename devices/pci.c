/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0 of the xenfv machine (devices/pci.h): the standard type-0
 * header of every function, BAR decoding, expansion ROMs, INTx and the
 * routing of IOREQ_TYPE_PCI_CONFIG by SBDF.
 *
 * Header, as QEMU 7.2 presents it (checked against Debian's qemu-xen on
 * xensim, see tests/unit/test-pci.c):
 *   0x04 command   writable bits 0x0507 (I/O, memory, bus master, SERR#,
 *                  INTx disable) for every function, whatever its BARs
 *   0x06 status    read-only but for the RW1C error bits 0xf900; bit 3
 *                  follows the function's INTx level
 *   0x0c cache line size: read/write; latency timer and BIST read-only 0
 *   0x10-0x27 BARs: address bits above the size writable, type bits fixed
 *   0x2c subsystem: the description's, or QEMU's default 1af4:1100
 *   0x30 ROM BAR:  address bits and the enable bit, when there is a ROM
 *   0x3c interrupt line read/write, 0x3d pin read-only
 *   0x40-0xff      read/write bytes (QEMU's default for conventional PCI);
 *                  devices give them meaning through their hooks
 * A BAR is an io_region mapped at its address while the command register
 * enables decoding and the address is valid (not 0; I/O within 64 KiB;
 * 32-bit memory ending below 4 GiB - 1; 64-bit memory not wrapping), else
 * unmapped; if the address overlaps another region it stays unmapped
 * (logged) until the guest programs it again.  RAM-backed BARs and the ROM
 * move their frames with hv_relocate instead (back home first).
 *
 * INTx: pci_set_irq() calls hv_set_pci_intx(slot, pin - 1, level) directly;
 * the levels of functions sharing a slot and pin are OR-ed first, and the
 * INTx-disable command bit masks the output: hv.h is the one path to the
 * hypervisor for devices (and what the unit tests' fake records).
 *
 * Left out: capabilities (no device here has any), extended config space
 * (offsets >= 256 read all-ones), bridges and buses other than 0, hotplug.
 * Config accesses that are not 1, 2 or 4 bytes inside one dword are refused
 * (all-ones, logged) where QEMU would serve the bytes.
 *
 * Threads: main thread only.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "src/hv.h"
#include "src/log.h"

#define TAG "pci"

#define PCI_COMMAND       0x04
#define PCI_STATUS        0x06
#define PCI_REVISION      0x08
#define PCI_CACHE_LINE    0x0c
#define PCI_HEADER_TYPE   0x0e
#define PCI_BAR0          0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_ROM_BAR       0x30
#define PCI_INT_LINE      0x3c
#define PCI_INT_PIN       0x3d
#define PCI_HEADER_END    0x40

#define CMD_IO           0x0001
#define CMD_MEM          0x0002
#define CMD_INTX_DISABLE 0x0400
#define CMD_WRITABLE     0x0507
#define STATUS_INTX      0x0008
#define STATUS_RW1C      0xf900

#define QEMU_SUBSYS_VENDOR 0x1af4 /* PCI_SUBVENDOR_ID_REDHAT_QUMRANET */
#define QEMU_SUBSYS_ID     0x1100 /* PCI_SUBDEVICE_ID_QEMU */

#define BAR_UNMAPPED UINT64_MAX
#define PAGE_SIZE    4096u
#define ROM_MIN_SIZE PAGE_SIZE /* 2 KiB is legal PCI, but frames are 4 KiB */
#define ROM_MAX_SIZE (16u << 20)

/* Where relative ROM file names are looked for (Debian's QEMU data). */
static const char *const rom_dirs[] = {"/usr/share/qemu", "/usr/share/seabios"};

static struct pci_dev *functions[256];
static struct pci_backend backend;
static bool have_backend;
static unsigned intx_count[32][4]; /* asserting functions per slot and pin */
static bool intx_out[256];         /* what each function contributes */

/* ------------------------------------------------------------------------
 * Little helpers
 */

static uint32_t le_get(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void le_put(uint8_t *p, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

static const char *dev_name(const struct pci_dev *pd)
{
    return pd->dev && pd->dev->desc ? pd->dev->desc->name : "?";
}

static uint64_t bar_size(const struct pci_dev *pd, int i)
{
    return i == PCI_ROM_SLOT ? pd->bar_region[PCI_ROM_SLOT].size : pd->desc->bar[i].size;
}

static unsigned bar_reg(int i)
{
    return i == PCI_ROM_SLOT ? PCI_ROM_BAR : PCI_BAR0 + 4u * (unsigned)i;
}

static uint64_t pow2_ceil(uint64_t n)
{
    uint64_t p = 1;

    while (p < n)
        p <<= 1;
    return p;
}

/* ------------------------------------------------------------------------
 * BARs
 */

/* The address the BAR decodes now, or BAR_UNMAPPED (QEMU's pci_bar_address). */
static uint64_t bar_decode(const struct pci_dev *pd, int i)
{
    uint16_t cmd = (uint16_t)le_get(pd->config + PCI_COMMAND, 2);
    uint64_t size = bar_size(pd, i), addr, last;
    uint32_t lo = le_get(pd->config + bar_reg(i), 4);

    if (!size)
        return BAR_UNMAPPED;
    if (i == PCI_ROM_SLOT) {
        if (!(cmd & CMD_MEM) || !(lo & 1))
            return BAR_UNMAPPED;
        addr = lo & ~(size - 1) & ~0x7ffULL;
        last = addr + size - 1;
        return addr == 0 || last >= UINT32_MAX ? BAR_UNMAPPED : addr;
    }
    switch (pd->desc->bar[i].type) {
    case PCI_BAR_IO:
        if (!(cmd & CMD_IO))
            return BAR_UNMAPPED;
        addr = lo & ~(size - 1) & ~3ULL;
        last = addr + size - 1;
        return addr == 0 || last > 0xffff ? BAR_UNMAPPED : addr;
    case PCI_BAR_MEM32:
        if (!(cmd & CMD_MEM))
            return BAR_UNMAPPED;
        addr = lo & ~(size - 1) & ~0xfULL;
        last = addr + size - 1;
        return addr == 0 || last >= UINT32_MAX ? BAR_UNMAPPED : addr;
    case PCI_BAR_MEM64:
        if (!(cmd & CMD_MEM))
            return BAR_UNMAPPED;
        addr =
            ((uint64_t)le_get(pd->config + bar_reg(i) + 4, 4) << 32 | lo) & ~(size - 1) & ~0xfULL;
        last = addr + size - 1;
        return addr == 0 || last < addr || last == UINT64_MAX ? BAR_UNMAPPED : addr;
    default:
        return BAR_UNMAPPED;
    }
}

static void ram_bar_place(struct pci_dev *pd, int i, uint64_t want)
{
    uint64_t nr = bar_size(pd, i) / PAGE_SIZE, home = pd->ram_gfn[i];
    int rc;

    if (pd->bar_addr[i] != BAR_UNMAPPED) {
        rc = hv_relocate(pd->bar_addr[i] / PAGE_SIZE, home, nr);
        if (rc < 0)
            LOG_GUEST(TAG, "%s: moving BAR%d frames home failed (%d)", dev_name(pd), i, rc);
        pd->bar_addr[i] = BAR_UNMAPPED;
    }
    if (want == BAR_UNMAPPED)
        return;
    rc = hv_relocate(home, want / PAGE_SIZE, nr);
    if (rc < 0) {
        LOG_GUEST(TAG, "%s: relocating BAR%d to %#llx failed (%d)", dev_name(pd), i,
                  (unsigned long long)want, rc);
        return;
    }
    pd->bar_addr[i] = want;
    if (i == PCI_ROM_SLOT)
        hv_set_ram_readonly(want / PAGE_SIZE, nr, true);
}

static void io_bar_place(struct pci_dev *pd, int i, uint64_t want)
{
    struct io_region *r = &pd->bar_region[i];
    int rc;

    if (want == BAR_UNMAPPED) {
        io_region_del(r);
        pd->bar_addr[i] = BAR_UNMAPPED;
        return;
    }
    if (r->active) {
        rc = io_region_move(r, want);
    } else {
        r->base = want;
        rc = io_region_add(r);
    }
    if (rc < 0) {
        io_region_del(r);
        pd->bar_addr[i] = BAR_UNMAPPED;
        LOG_GUEST(TAG, "%02x.%x %s: BAR%d at %#llx not mapped (%s)", pd->devfn >> 3, pd->devfn & 7,
                  dev_name(pd), i, (unsigned long long)want,
                  rc == -EEXIST ? "overlaps another region" : "refused");
        return;
    }
    pd->bar_addr[i] = want;
}

static void bar_update(struct pci_dev *pd, int i)
{
    uint64_t want = bar_decode(pd, i);

    if (want == pd->bar_addr[i])
        return;
    if (pd->ram_ptr[i])
        ram_bar_place(pd, i, want);
    else if (pd->bar_region[i].ops)
        io_bar_place(pd, i, want);
    else
        pd->bar_addr[i] = want; /* nothing behind it (yet) */
}

static void bars_update(struct pci_dev *pd)
{
    for (int i = 0; i <= PCI_ROM_SLOT; i++)
        bar_update(pd, i);
}

static void bars_unmap(struct pci_dev *pd)
{
    for (int i = 0; i <= PCI_ROM_SLOT; i++) {
        if (pd->ram_ptr[i])
            ram_bar_place(pd, i, BAR_UNMAPPED);
        else if (pd->bar_region[i].ops)
            io_bar_place(pd, i, BAR_UNMAPPED);
        pd->bar_addr[i] = BAR_UNMAPPED;
    }
}

void *pci_bar_set_ram(struct pci_dev *pd, int bar, const char *name)
{
    uint64_t size, gfn;
    void *p;

    assert(bar >= 0 && bar <= PCI_ROM_SLOT && !pd->ram_ptr[bar]);
    size = bar_size(pd, bar);
    assert(bar == PCI_ROM_SLOT ||
           (pd->desc->bar[bar].type != PCI_BAR_IO && !pd->desc->bar[bar].ops));
    assert(size >= PAGE_SIZE && size % PAGE_SIZE == 0);
    p = hv_alloc_device_ram(name, size, &gfn);
    if (!p)
        return NULL;
    pd->ram_gfn[bar] = gfn;
    pd->ram_ptr[bar] = p;
    pd->bar_addr[bar] = BAR_UNMAPPED;
    bar_update(pd, bar);
    return p;
}

/* ------------------------------------------------------------------------
 * Expansion ROM
 */

static FILE *open_rom(const char *file)
{
    FILE *f = fopen(file, "rb");
    char path[512];

    for (size_t i = 0; !f && file[0] != '/' && i < sizeof(rom_dirs) / sizeof(rom_dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", rom_dirs[i], file);
        f = fopen(path, "rb");
    }
    return f;
}

static int rom_setup(struct pci_dev *pd)
{
    const struct pci_desc *desc = pd->desc;
    uint64_t size = desc->rom_size, file_size = 0;
    unsigned char *image = NULL;
    char name[128];
    int rc = 0;

    if (desc->rom_file) {
        FILE *f = open_rom(desc->rom_file);
        long n;
        if (!f) {
            fprintf(stderr, "xendm: %s: cannot open ROM image %s\n", dev_name(pd), desc->rom_file);
            return -ENOENT;
        }
        if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0 || n > (long)ROM_MAX_SIZE ||
            fseek(f, 0, SEEK_SET) < 0) {
            fprintf(stderr, "xendm: %s: ROM image %s is empty or too big\n", dev_name(pd),
                    desc->rom_file);
            fclose(f);
            return -EINVAL;
        }
        file_size = (uint64_t)n;
        image = malloc(file_size);
        if (!image || fread(image, 1, file_size, f) != file_size) {
            fprintf(stderr, "xendm: %s: cannot read ROM image %s\n", dev_name(pd), desc->rom_file);
            rc = -EIO;
        }
        fclose(f);
        if (rc < 0)
            goto out;
    }
    if (pow2_ceil(file_size) > size)
        size = pow2_ceil(file_size);
    if (size < ROM_MIN_SIZE)
        size = ROM_MIN_SIZE;
    size = pow2_ceil(size);

    pd->bar_region[PCI_ROM_SLOT].size = size;
    le_put(pd->wmask + PCI_ROM_BAR, 4, (uint32_t) ~(size - 1) | 1);
    snprintf(name, sizeof(name), "%s.rom", dev_name(pd));
    void *p = pci_bar_set_ram(pd, PCI_ROM_SLOT, name);
    if (!p) {
        rc = -ENOMEM;
        goto out;
    }
    if (image)
        memcpy(p, image, file_size);
    hv_set_ram_readonly(pd->ram_gfn[PCI_ROM_SLOT], size / PAGE_SIZE, true);
out:
    free(image);
    return rc;
}

/* ------------------------------------------------------------------------
 * INTx
 */

static void intx_refresh(struct pci_dev *pd)
{
    uint8_t pin = pd->config[PCI_INT_PIN];
    bool want = pd->irq_level && !(le_get(pd->config + PCI_COMMAND, 2) & CMD_INTX_DISABLE);
    unsigned slot = pd->devfn >> 3;

    if (pin < 1 || pin > 4 || want == intx_out[pd->devfn])
        return;
    intx_out[pd->devfn] = want;
    if (want) {
        if (intx_count[slot][pin - 1]++ == 0)
            hv_set_pci_intx(slot, pin - 1u, 1);
    } else {
        assert(intx_count[slot][pin - 1] > 0);
        if (--intx_count[slot][pin - 1] == 0)
            hv_set_pci_intx(slot, pin - 1u, 0);
    }
}

void pci_set_irq(struct pci_dev *pd, int level)
{
    uint16_t status;

    level = !!level;
    if (pd->irq_level == level)
        return;
    pd->irq_level = level;
    status = (uint16_t)le_get(pd->config + PCI_STATUS, 2);
    status = level ? status | STATUS_INTX : status & ~STATUS_INTX;
    le_put(pd->config + PCI_STATUS, 2, status);
    intx_refresh(pd);
}

/* ------------------------------------------------------------------------
 * Functions on the bus
 */

int pci_parse_addr(const char *s)
{
    unsigned v[2] = {0, 0};
    int n = 0;

    if (!s)
        return -1;
    for (;;) {
        unsigned digits = 0, val = 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            s += 2;
        for (; *s; s++, digits++) {
            unsigned d;
            if (*s >= '0' && *s <= '9')
                d = (unsigned)(*s - '0');
            else if (*s >= 'a' && *s <= 'f')
                d = (unsigned)(*s - 'a' + 10);
            else if (*s >= 'A' && *s <= 'F')
                d = (unsigned)(*s - 'A' + 10);
            else
                break;
            if (val > 0xff)
                return -1;
            val = val * 16 + d;
        }
        if (!digits)
            return -1;
        v[n++] = val;
        if (*s == '.' && n == 1) {
            s++;
            continue;
        }
        break;
    }
    if (*s || v[0] > 31 || v[1] > 7)
        return -1;
    return (int)(v[0] << 3 | v[1]);
}

struct pci_dev *pci_find(uint8_t devfn)
{
    return functions[devfn];
}

/* QEMU's rules for placing functions of a multi-function slot. */
static int check_multifunction(int devfn, bool multi)
{
    int slot0 = devfn & ~7;

    if (devfn & 7) {
        struct pci_dev *f0 = functions[slot0];
        if (f0 && !(f0->config[PCI_HEADER_TYPE] & 0x80)) {
            fprintf(stderr,
                    "xendm: PCI: single function device can't be populated in function %x.%x\n",
                    devfn >> 3, devfn & 7);
            return -EINVAL;
        }
        return 0;
    }
    if (multi)
        return 0;
    for (int f = 1; f < 8; f++)
        if (functions[slot0 + f]) {
            fprintf(stderr,
                    "xendm: PCI: %x.0 indicates single function, but %x.%x is already populated\n",
                    devfn >> 3, devfn >> 3, f);
            return -EINVAL;
        }
    return 0;
}

static void init_bar(struct pci_dev *pd, int i)
{
    const struct pci_bar_desc *b = &pd->desc->bar[i];
    struct io_region *r = &pd->bar_region[i];
    uint32_t type = 0, mask;

    pd->bar_addr[i] = BAR_UNMAPPED;
    if (b->type == PCI_BAR_NONE)
        return;
    assert(b->size && !(b->size & (b->size - 1)));
    switch (b->type) {
    case PCI_BAR_IO:
        assert(b->size >= 4 && b->size <= 0x10000 && b->ops);
        type = 0x1;
        r->space = IO_PIO;
        break;
    case PCI_BAR_MEM32:
        assert(b->size >= 16 && b->size <= (1ULL << 31));
        type = b->prefetch ? 0x8 : 0x0;
        r->space = IO_MMIO;
        break;
    case PCI_BAR_MEM64:
        assert(b->size >= 16 && i < PCI_NUM_BARS - 1 && pd->desc->bar[i + 1].type == PCI_BAR_NONE);
        type = 0x4 | (b->prefetch ? 0x8 : 0x0);
        r->space = IO_MMIO;
        break;
    default:
        assert(0);
    }
    r->size = b->size;
    r->ops = b->ops;
    r->opaque = pd->dev;
    mask = (uint32_t) ~(b->size - 1) & (b->type == PCI_BAR_IO ? ~3u : ~0xfu);
    le_put(pd->config + bar_reg(i), 4, type);
    le_put(pd->wmask + bar_reg(i), 4, mask);
    if (b->type == PCI_BAR_MEM64)
        le_put(pd->wmask + bar_reg(i) + 4, 4, (uint32_t)(~(b->size - 1) >> 32));
}

int pci_dev_attach(struct pci_dev *pd, struct device *dev, const struct pci_desc *desc,
                   int devfn_override)
{
    int devfn = devfn_override >= 0 ? devfn_override : desc->devfn;
    bool multi = (desc->header_type & 0x80) || (pd->config[PCI_HEADER_TYPE] & 0x80);
    const char *name = dev && dev->desc ? dev->desc->name : "?";
    int rc;

    if (devfn < 0) {
        for (devfn = 0; devfn < 256 && functions[devfn]; devfn += 8)
            ;
        if (devfn >= 256) {
            fprintf(stderr, "xendm: %s: no free PCI slot\n", name);
            return -ENOSPC;
        }
    } else if (devfn > 255) {
        fprintf(stderr, "xendm: %s: bad PCI address %#x\n", name, devfn);
        return -EINVAL;
    } else if (functions[devfn]) {
        fprintf(stderr, "xendm: %s: PCI address %02x.%x is taken by %s\n", name, devfn >> 3,
                devfn & 7, dev_name(functions[devfn]));
        return -EBUSY;
    }
    rc = check_multifunction(devfn, multi);
    if (rc < 0)
        return rc;

    memset(pd, 0, sizeof(*pd));
    pd->dev = dev;
    pd->desc = desc;
    pd->devfn = (uint8_t)devfn;
    le_put(pd->config + 0x00, 2, desc->vendor);
    le_put(pd->config + 0x02, 2, desc->device);
    pd->config[PCI_REVISION] = desc->revision;
    le_put(pd->config + 0x09, 3, desc->class_code);
    pd->config[PCI_HEADER_TYPE] = (uint8_t)(desc->header_type | (multi ? 0x80 : 0));
    if ((desc->header_type & 0x7f) == 0) {
        bool deflt = !desc->subsys_vendor && !desc->subsys_id;
        le_put(pd->config + PCI_SUBSYS_VENDOR, 2, deflt ? QEMU_SUBSYS_VENDOR : desc->subsys_vendor);
        le_put(pd->config + PCI_SUBSYS_VENDOR + 2, 2, deflt ? QEMU_SUBSYS_ID : desc->subsys_id);
    }
    pd->config[PCI_INT_PIN] = desc->irq_pin;

    le_put(pd->wmask + PCI_COMMAND, 2, CMD_WRITABLE);
    pd->wmask[PCI_CACHE_LINE] = 0xff;
    pd->wmask[PCI_INT_LINE] = 0xff;
    memset(pd->wmask + PCI_HEADER_END, 0xff, PCI_CFG_SIZE - PCI_HEADER_END);
    for (int i = 0; i < PCI_NUM_BARS; i++)
        init_bar(pd, i);
    pd->bar_addr[PCI_ROM_SLOT] = BAR_UNMAPPED;
    if (desc->rom_size || desc->rom_file) {
        rc = rom_setup(pd);
        if (rc < 0)
            return rc;
    }

    functions[devfn] = pd;
    if (have_backend && backend.map_dev) {
        rc = backend.map_dev(backend.opaque, pd->devfn, true);
        if (rc < 0) {
            fprintf(stderr, "xendm: %s: registering PCI %02x.%x with Xen failed (%d)\n", name,
                    devfn >> 3, devfn & 7, rc);
            functions[devfn] = NULL;
            return rc;
        }
    }
    return 0;
}

void pci_dev_detach(struct pci_dev *pd)
{
    if (!pd || functions[pd->devfn] != pd)
        return;
    bars_unmap(pd);
    pci_set_irq(pd, 0);
    if (have_backend && backend.map_dev)
        backend.map_dev(backend.opaque, pd->devfn, false);
    functions[pd->devfn] = NULL;
    /* Device RAM stays allocated: hv.h has no way to give frames back. */
}

void pci_dev_reset(struct pci_dev *pd)
{
    uint16_t v;

    pci_set_irq(pd, 0);
    v = (uint16_t)le_get(pd->config + PCI_COMMAND, 2);
    le_put(pd->config + PCI_COMMAND, 2, v & ~CMD_WRITABLE);
    v = (uint16_t)le_get(pd->config + PCI_STATUS, 2);
    le_put(pd->config + PCI_STATUS, 2, v & ~STATUS_RW1C);
    pd->config[PCI_CACHE_LINE] = 0;
    pd->config[PCI_INT_LINE] = 0;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        uint32_t reg = le_get(pd->config + bar_reg(i), 4);
        uint32_t mask = le_get(pd->wmask + bar_reg(i), 4);
        le_put(pd->config + bar_reg(i), 4, reg & ~mask);
    }
    le_put(pd->config + PCI_ROM_BAR, 4, 0);
    bars_update(pd);
    intx_refresh(pd);
}

void pci_set_backend(const struct pci_backend *be)
{
    have_backend = be != NULL;
    if (!be) {
        memset(&backend, 0, sizeof(backend));
        return;
    }
    backend = *be;
    for (int devfn = 0; devfn < 256; devfn++)
        if (functions[devfn] && backend.map_dev)
            backend.map_dev(backend.opaque, (uint8_t)devfn, true);
}

/* ------------------------------------------------------------------------
 * Configuration cycles
 */

static struct pci_dev *config_target(uint32_t sbdf, unsigned off, unsigned size, bool write)
{
    struct pci_dev *pd = NULL;

    if (!(sbdf >> 8)) /* segment 0, bus 0 */
        pd = functions[sbdf & 0xff];
    if (!pd) {
        LOG_GUEST(TAG, "config %s of absent %04x:%02x:%02x.%x", write ? "write" : "read",
                  sbdf >> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 31, sbdf & 7);
        return NULL;
    }
    if (off >= PCI_CFG_SIZE) {
        LOG_GUEST(TAG, "%02x.%x: config %s at %#x beyond 256 bytes", pd->devfn >> 3, pd->devfn & 7,
                  write ? "write" : "read", off);
        return NULL;
    }
    if ((size != 1 && size != 2 && size != 4) || (off & 3) + size > 4) {
        LOG_GUEST(TAG, "%02x.%x: config %s of %u bytes at %#x refused", pd->devfn >> 3,
                  pd->devfn & 7, write ? "write" : "read", size, off);
        return NULL;
    }
    return pd;
}

uint32_t pci_config_read(uint32_t sbdf, unsigned off, unsigned size)
{
    struct pci_dev *pd = config_target(sbdf, off, size, false);
    uint32_t v;

    if (!pd)
        return 0xffffffffu;
    if (pd->desc->cfg_read && pd->desc->cfg_read(pd, off, size, &v))
        return size == 4 ? v : v & ((1u << (size * 8)) - 1);
    return le_get(pd->config + off, size);
}

void pci_config_write(uint32_t sbdf, unsigned off, unsigned size, uint32_t value)
{
    struct pci_dev *pd = config_target(sbdf, off, size, true);

    if (!pd)
        return;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t b = (uint8_t)(value >> (8 * i)), w1c = 0;
        if (o == PCI_STATUS || o == PCI_STATUS + 1)
            w1c = (uint8_t)(STATUS_RW1C >> (8 * (o - PCI_STATUS)));
        pd->config[o] = (uint8_t)((pd->config[o] & ~pd->wmask[o]) | (b & pd->wmask[o]));
        pd->config[o] &= (uint8_t) ~(b & w1c);
    }
    if (overlaps(off, size, PCI_COMMAND, 2)) {
        bars_update(pd);
        intx_refresh(pd);
    } else if (overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS)) {
        for (int i = 0; i < PCI_NUM_BARS; i++)
            if (overlaps(off, size, bar_reg(i), pd->desc->bar[i].type == PCI_BAR_MEM64 ? 8 : 4))
                bar_update(pd, i);
    } else if (overlaps(off, size, PCI_ROM_BAR, 4)) {
        bar_update(pd, PCI_ROM_SLOT);
    }
    if (pd->desc->cfg_write)
        pd->desc->cfg_write(pd, off, size, value);
}
