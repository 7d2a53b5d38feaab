/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: random ioreq sequences into xendm's request decoding
 * (src/ioreq.c), the address dispatcher and every device of the xenfv PC —
 * PIO, MMIO and PCI_CONFIG requests of every size (valid or not), with
 * counts, direction flags and data pointers into (and outside) guest RAM.
 * The hypervisor is the recording fake of tests/unit/fake-hv.c.
 *
 * Input: records of 24 bytes
 *   [0] type: 0 PIO, 1 MMIO (COPY), 2 PCI_CONFIG, anything else raw
 *   [1] bit 0 dir (1 = read), bit 1 df, bit 2 data_is_ptr, bit 3 raw size,
 *       bit 4 raw count, bit 5 raw address
 *   [2] size (1 << (b & 3) unless raw), [3..4] count (1 unless raw)
 *   [5..12] address (PIO: 16 bits; MMIO: near interesting places unless raw)
 *   [13..20] data, [21..23] spare
 * Every input starts from a reset machine, so crashes reproduce.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "src/chardev.h"
#include "src/dispatch.h"
#include "src/ioreq.h"
#include "src/log.h"
#include "src/opts.h"
#include "tests/unit/fake-hv.h"

#define REC 24

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void make(const char *name, const char *text)
{
    char *err = NULL;
    struct opts *o = text ? opts_parse("-device", text, NULL, &err) : NULL;
    if (text && !o) {
        fprintf(stderr, "fuzz-ioreq: %s: %s\n", name, err);
        abort();
    }
    if (!device_create(name, o)) {
        fprintf(stderr, "fuzz-ioreq: cannot create %s\n", name);
        abort();
    }
    opts_free(o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("XEN_QEMU_CONSOLE_LIMIT", "65536", 1); /* keep the guest's log spam small */
    log_init();
    make("i440FX", "ram-mb=128");
    make("PIIX3", NULL);
    make("piix3-ide", NULL);
    make("PIIX4_PM", "maxcpus=2");
    make("xen-platform", NULL);
    make("i8042", NULL);
    make("cmos", "ram_mb=128,ram_below_4g_mb=128,boot=cda,cpus=2");
    GError *err = NULL;
    if (!chardev_open("serial0", "null", &err)) {
        fprintf(stderr, "fuzz-ioreq: %s\n", err->message);
        abort();
    }
    make("isa-serial", "index=0,chardev=serial0");
    return 0;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* MMIO addresses worth hitting: the VGA window, BAR space, the platform
 * device's MMIO BAR, the top of the 32-bit space (wrap-around). */
static const uint64_t mmio_bases[] = {0xa0000, 0xf0000000, 0xf1000000, 0xfebff000, 0xfffff000, 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    device_reset_all();
    for (size_t off = 0; off + REC <= size; off += REC) {
        const uint8_t *r = data + off;
        uint8_t fl = r[1];
        ioreq_t req = {0};
        req.type = r[0] < 3 ? (uint8_t)(r[0] == 0 ? IOREQ_TYPE_PIO
                                                   : r[0] == 1 ? IOREQ_TYPE_COPY : IOREQ_TYPE_PCI_CONFIG)
                            : r[0];
        req.dir = fl & 1;
        req.df = (fl >> 1) & 1;
        req.data_is_ptr = (fl >> 2) & 1;
        req.size = (fl & 8) ? r[2] : 1u << (r[2] & 3);
        req.count = (fl & 16) ? (uint32_t)le(r + 3, 2) : 1;
        uint64_t addr = le(r + 5, 8);
        if (!(fl & 32)) {
            if (req.type == IOREQ_TYPE_PIO)
                addr &= 0xffff;
            else if (req.type == IOREQ_TYPE_COPY)
                addr = mmio_bases[r[12] % (sizeof(mmio_bases) / sizeof(mmio_bases[0]))] + (addr & 0xffff);
            else
                addr = (addr & 0xffff00000000ULL) | (addr & 0x1ff); /* sbdf, offsets past 255 too */
        }
        req.addr = addr;
        req.data = le(r + 13, 8);
        if (req.data_is_ptr && !(fl & 32))
            req.data %= FAKE_HV_RAM + 8192; /* mostly inside guest RAM, sometimes past its end */
        ioreq_dispatch(&req);
    }
    return 0;
}
