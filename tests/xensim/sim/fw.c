/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Firmware helpers: what hvmloader does before the BIOS runs, done through
 * ordinary configuration cycles by the guest's vCPU 0, so the device model
 * sees exactly the traffic a real guest gives it:
 *  - PIIX3 PIRQ routing registers 0x60-0x63 = ISA IRQs 5, 10, 11, 5;
 *  - enumerate bus 0 (functions 1-7 only for multi-function devices);
 *  - size every BAR and the ROM BAR (write all-ones, read back, restore),
 *    then assign them largest first: memory upward from 0xF0000000 (the
 *    MMIO hole hvmloader uses, below 0xFC000000), I/O upward from 0xC000;
 *  - enable I/O and memory decoding as needed, and bus mastering;
 *  - interrupt line = the ISA IRQ of link ((dev + pin - 1) & 3).
 * Also: copying an option ROM to 0xC0000 as hvmloader does for the VGA BIOS.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define FW_MMIO_BASE 0xf0000000ULL
#define FW_MMIO_END 0xfc000000ULL
#define FW_IO_BASE 0xc000U
#define FW_IO_END 0x10000U
#define PIIX3_BDF 0x0008 /* 00:01.0 */

static const uint8_t pirq_route[4] = {5, 10, 11, 5};

struct bar_ref {
    struct xsim_pci_fn *fn;
    int idx; /* 0-5, or 6 for the ROM */
};

static struct xsim_pci_bar *bar_of(struct bar_ref *r)
{
    return r->idx == 6 ? &r->fn->rom : &r->fn->bar[r->idx];
}

static unsigned bar_reg(int idx)
{
    return idx == 6 ? 0x30 : 0x10 + 4u * (unsigned)idx;
}

static void size_bars(struct xsim_pci_fn *fn)
{
    uint16_t bdf = fn->bdf;
    for (int i = 0; i < 6; i++) {
        unsigned reg = bar_reg(i);
        uint32_t orig = guest_pci_read(bdf, reg, 4);
        guest_pci_write(bdf, reg, 4, 0xffffffffu);
        uint32_t v = guest_pci_read(bdf, reg, 4);
        guest_pci_write(bdf, reg, 4, orig);
        if (v == 0 || v == 0xffffffffu)
            continue;
        struct xsim_pci_bar *b = &fn->bar[i];
        if (v & 1) {
            b->is_io = 1;
            b->size = (uint32_t)(~(v & ~3u) + 1) & 0xffff;
            continue;
        }
        b->is_prefetch = !!(v & 8);
        uint64_t mask = v & ~0xfULL;
        if (((v >> 1) & 3) == 2 && i < 5) { /* 64-bit: the next BAR holds the high half */
            b->is_64 = 1;
            unsigned hreg = bar_reg(i + 1);
            uint32_t horig = guest_pci_read(bdf, hreg, 4);
            guest_pci_write(bdf, hreg, 4, 0xffffffffu);
            uint32_t hv = guest_pci_read(bdf, hreg, 4);
            guest_pci_write(bdf, hreg, 4, horig);
            mask |= (uint64_t)hv << 32;
            b->size = ~mask + 1;
            i++;
        } else {
            b->size = (uint32_t)(~(uint32_t)mask + 1);
        }
    }
    /* expansion ROM: bits 31-11 are the address, bit 0 the enable */
    uint32_t orig = guest_pci_read(bdf, 0x30, 4);
    guest_pci_write(bdf, 0x30, 4, 0xfffff800u);
    uint32_t v = guest_pci_read(bdf, 0x30, 4);
    guest_pci_write(bdf, 0x30, 4, orig);
    if (v & 0xfffff800u)
        fn->rom.size = (uint32_t)(~(v & 0xfffff800u) + 1);
}

static int cmp_bar(const void *a, const void *b)
{
    struct bar_ref *x = (struct bar_ref *)a, *y = (struct bar_ref *)b;
    uint64_t sx = bar_of(x)->size, sy = bar_of(y)->size;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->fn->bdf != y->fn->bdf ? x->fn->bdf - y->fn->bdf : x->idx - y->idx;
}

int xsim_fw_pci_setup(xsim *x)
{
    xsim *saved = xsim_current();
    xsim_select(x);
    x->fw_nfn = 0;
    memset(x->fw_fn, 0, sizeof(x->fw_fn));

    for (unsigned link = 0; link < 4; link++)
        guest_pci_write(PIIX3_BDF, 0x60 + link, 1, pirq_route[link]);

    for (unsigned dev = 0; dev < 32; dev++) {
        for (unsigned f = 0; f < 8; f++) {
            uint16_t bdf = (uint16_t)(dev << 3 | f);
            uint32_t id = guest_pci_read(bdf, 0, 4);
            if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
                if (f == 0)
                    break;
                continue;
            }
            if (x->fw_nfn == XSIM_MAX_PCI_FNS)
                break;
            struct xsim_pci_fn *fn = &x->fw_fn[x->fw_nfn++];
            fn->bdf = bdf;
            fn->vendor = (uint16_t)id;
            fn->device = (uint16_t)(id >> 16);
            fn->class_rev = guest_pci_read(bdf, 8, 4);
            fn->header_type = (uint8_t)guest_pci_read(bdf, 0x0e, 1);
            fn->irq_pin = (uint8_t)guest_pci_read(bdf, 0x3d, 1);
            uint32_t ss = guest_pci_read(bdf, 0x2c, 4);
            fn->subsys_vendor = (uint16_t)ss;
            fn->subsys_id = (uint16_t)(ss >> 16);
            if ((fn->header_type & 0x7f) == 0)
                size_bars(fn);
            if (f == 0 && !(fn->header_type & 0x80))
                break; /* single-function device */
        }
    }

    /* assign, largest first */
    struct bar_ref refs[XSIM_MAX_PCI_FNS * 7];
    unsigned nref = 0;
    for (unsigned i = 0; i < x->fw_nfn; i++)
        for (int b = 0; b < 7; b++) {
            struct bar_ref r = {&x->fw_fn[i], b};
            if (bar_of(&r)->size)
                refs[nref++] = r;
        }
    qsort(refs, nref, sizeof(refs[0]), cmp_bar);
    uint64_t mmio = FW_MMIO_BASE;
    uint32_t io = FW_IO_BASE;
    int rc = 0;
    for (unsigned i = 0; i < nref; i++) {
        struct xsim_pci_bar *b = bar_of(&refs[i]);
        uint16_t bdf = refs[i].fn->bdf;
        unsigned reg = bar_reg(refs[i].idx);
        if (b->is_io) {
            uint32_t a = (io + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
            if (a + b->size > FW_IO_END) {
                rc = -1;
                continue;
            }
            b->addr = a;
            io = a + (uint32_t)b->size;
            guest_pci_write(bdf, reg, 4, a | 1);
        } else {
            uint64_t a = (mmio + b->size - 1) & ~(b->size - 1);
            if (a + b->size > FW_MMIO_END) {
                fprintf(stderr, "[xensim] fw: no room for a %llu-byte BAR of %02x:%02x.%x\n",
                        (unsigned long long)b->size, bdf >> 8, (bdf >> 3) & 31, bdf & 7);
                rc = -1;
                continue;
            }
            b->addr = a;
            mmio = a + b->size;
            /* the ROM BAR is assigned but left disabled, as hvmloader does */
            guest_pci_write(bdf, reg, 4, (uint32_t)a);
            if (b->is_64)
                guest_pci_write(bdf, reg + 4, 4, (uint32_t)(a >> 32));
        }
    }

    for (unsigned i = 0; i < x->fw_nfn; i++) {
        struct xsim_pci_fn *fn = &x->fw_fn[i];
        uint16_t cmd = (uint16_t)guest_pci_read(fn->bdf, 4, 2);
        for (int b = 0; b < 6; b++)
            if (fn->bar[b].size)
                cmd |= fn->bar[b].is_io ? 0x1 : 0x2;
        cmd |= 0x4; /* bus master */
        guest_pci_write(fn->bdf, 4, 2, cmd);
        if (fn->irq_pin >= 1 && fn->irq_pin <= 4) {
            unsigned link = ((fn->bdf >> 3) + fn->irq_pin - 1) & 3;
            fn->irq_line = (uint8_t)guest_pci_read(PIIX3_BDF, 0x60 + link, 1);
            guest_pci_write(fn->bdf, 0x3c, 1, fn->irq_line);
        }
    }
    xsim_select(saved);
    if (xsim_error(x))
        return -1;
    return rc < 0 ? rc : (int)x->fw_nfn;
}

const struct xsim_pci_fn *xsim_fw_pci_functions(xsim *x, unsigned *n)
{
    *n = x->fw_nfn;
    return x->fw_fn;
}

int xsim_fw_load_rom(xsim *x, uint16_t bdf, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        xsim_set_error(x, "cannot open option ROM %s: %s", path, strerror(errno));
        return -1;
    }
    static const size_t max = 0x20000; /* C0000-DFFFF */
    uint8_t *buf = malloc(max);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (n < 3 || buf[0] != 0x55 || buf[1] != 0xaa) {
        xsim_set_error(x, "%s is not an option ROM", path);
        free(buf);
        return -1;
    }
    xsim *saved = xsim_current();
    xsim_select(x);
    guest_mem_write(0xc0000, buf, n);
    xsim_select(saved);
    free(buf);
    return 0;
}
