/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for address dispatch (src/dispatch.c), the device registry
 * (devices/device.c), PCI bus 0 (devices/pci.c) and the xenfv chipset
 * (i440FX, PIIX3, piix3-ide, PIIX4_PM, xen-platform), with the recording
 * fake hypervisor (tests/unit/fake-hv.c).
 *
 * Where the expected values come from: Debian 12's qemu-xen
 * (xen-qemu-system-i386, QEMU 1:7.2+dfsg-7+deb12u18) run on xensim,
 *   xensimd --ram 128 --script S -- /usr/libexec/xen-qemu-system-i386
 *     -xen-domid 1 -machine xenfv -m 128 -nodefaults -display none
 *     -serial null -parallel null
 * with S reading every dword of 00:00.0, 00:01.0, 00:01.1, 00:01.3 and
 * 00:02.0 through real ioreqs before ("pre") and after ("post") xensim's
 * hvmloader-like pci-setup, and writing all-ones then zero to every dword
 * ("probe": what reads back).  -no-acpi gives the same functions minus
 * 00:01.3.  I/O behaviour (0xcf8/0xcf9, IDE without drives, bus-master
 * registers, PM1a_CNT, APM, GPE0, CPU bitmap, PCI hotplug, SMBus, platform
 * ports and BARs, PIRQ routing) was probed the same way with a small guest
 * program against libxensim.  These tables were generated once; the
 * xensim comparison test (same guest script against xendm and qemu-xen)
 * is what keeps them honest.
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/log.h"
#include "src/opts.h"
#include "tests/unit/fake-hv.h"

/* ------------------------------------------------------------------------
 * Recording backends and common fixtures
 */

struct map_call {
    enum io_space space;
    uint64_t first, last;
    bool map;
};

static struct map_call map_calls[256];
static unsigned n_map_calls;
static int map_fail_next;

static int rec_map(void *opaque, enum io_space space, uint64_t first, uint64_t last, bool map)
{
    if (map_fail_next) {
        int rc = map_fail_next;
        map_fail_next = 0;
        return rc;
    }
    if (n_map_calls < G_N_ELEMENTS(map_calls))
        map_calls[n_map_calls++] = (struct map_call){space, first, last, map};
    return 0;
}

static const struct io_backend rec_backend = {.map = rec_map};

static int pcidev_mapped[256];

static int rec_map_dev(void *opaque, uint8_t devfn, bool map)
{
    pcidev_mapped[devfn] += map ? 1 : -1;
    return 0;
}

static const struct pci_backend rec_pci_backend = {.map_dev = rec_map_dev};

static bool saw_call(enum io_space space, uint64_t first, uint64_t last, bool map)
{
    for (unsigned i = 0; i < n_map_calls; i++)
        if (map_calls[i].space == space && map_calls[i].first == first &&
            map_calls[i].last == last && map_calls[i].map == map)
            return true;
    return false;
}

static void clear_calls(void)
{
    n_map_calls = 0;
}

/* Fresh state: no devices, empty table, recording backends. */
static void reset_world(void)
{
    while (device_first())
        device_destroy(device_first());
    io_set_backend(NULL);
    pci_set_backend(NULL);
    io_reset_table();
    fake_hv_reset();
    memset(pcidev_mapped, 0, sizeof(pcidev_mapped));
    clear_calls();
    map_fail_next = 0;
    platform_unplug_hook = NULL;
    io_set_backend(&rec_backend);
    pci_set_backend(&rec_pci_backend);
}

static struct device *create(const char *name, const char *text)
{
    struct opts *o = text ? opts_parse("-device", text, NULL, NULL) : NULL;
    struct device *d = device_create(name, o);

    opts_free(o);
    return d;
}

static void create_chipset(bool acpi)
{
    g_assert_nonnull(create("i440FX", "ram-mb=128"));
    g_assert_nonnull(create("PIIX3", NULL));
    g_assert_nonnull(create("piix3-ide", NULL));
    if (acpi)
        g_assert_nonnull(create("PIIX4_PM", "cpus=1"));
    g_assert_nonnull(create("xen-platform", NULL));
}

#define BDF(dev, fn) ((uint32_t)((dev) << 3 | (fn)))
#define I440FX       BDF(0, 0)
#define PIIX3        BDF(1, 0)
#define IDE          BDF(1, 1)
#define PM           BDF(1, 3)
#define PLATFORM     BDF(2, 0)

static uint32_t cfg_rd(uint32_t sbdf, unsigned off, unsigned size)
{
    return pci_config_read(sbdf, off, size);
}

static void cfg_wr(uint32_t sbdf, unsigned off, unsigned size, uint32_t v)
{
    pci_config_write(sbdf, off, size, v);
}

static uint64_t inp(uint16_t port, unsigned size)
{
    return io_read(IO_PIO, port, size);
}

static void outp(uint16_t port, unsigned size, uint64_t v)
{
    io_write(IO_PIO, port, size, v);
}

/* Claims a port range like a device would (for PIIX4's serial/parallel bytes). */
static uint64_t dummy_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static const struct io_ops dummy_ops = {.name = "dummy", .read = dummy_read};

/* ------------------------------------------------------------------------
 * Expected values (see the comment at the top)
 */

struct cfg_dword {
    uint8_t off;
    uint32_t value;
};

struct cfg_probe {
    uint8_t off;
    uint32_t ones, zero; /* read back after writing all-ones, zero */
};

static const struct cfg_dword qemu_i440fx_pre[] = {
    {0x00, 0x12378086}, {0x08, 0x06000002}, {0x2c, 0x11001af4},
    {0x54, 0x10000000}, {0x70, 0x00020000},
};
static const struct cfg_dword qemu_piix3_pre[] = {
    {0x00, 0x70008086}, {0x04, 0x02000000}, {0x08, 0x06010000}, {0x0c, 0x00800000},
    {0x2c, 0x11001af4}, {0x4c, 0x0003004d}, {0x60, 0x80808080}, {0x68, 0x00000200},
    {0x70, 0x00000080}, {0x74, 0x0c0c0000}, {0x78, 0x00000002}, {0xa0, 0x00000008},
    {0xa8, 0x0000000f},
};
static const struct cfg_dword qemu_ide_pre[] = {
    {0x00, 0x70108086}, {0x04, 0x02800000}, {0x08, 0x01018000},
    {0x20, 0x00000001}, {0x2c, 0x11001af4},
};
/* 0x5c/0x64: qemu had a parallel port at 0x378 and a serial port at 0x3f8 */
static const struct cfg_dword qemu_pm_pre[] = {
    {0x00, 0x71138086}, {0x04, 0x02800000}, {0x08, 0x06800003}, {0x2c, 0x11001af4},
    {0x3c, 0x00000100}, {0x40, 0x00000001}, {0x58, 0x02000000}, {0x5c, 0x90000000},
    {0x60, 0x60000000}, {0x64, 0x08000000}, {0x90, 0x0000b101}, {0xd0, 0x00090000},
};
static const struct cfg_dword qemu_platform_pre[] = {
    {0x00, 0x00015853}, {0x08, 0xff800001}, {0x10, 0x00000001},
    {0x14, 0x00000008}, {0x2c, 0x00015853}, {0x3c, 0x00000100},
};
static const struct cfg_dword qemu_i440fx_post[] = {
    {0x00, 0x12378086}, {0x04, 0x00000004}, {0x08, 0x06000002},
    {0x2c, 0x11001af4}, {0x54, 0x10000000}, {0x70, 0x00020000},
};
static const struct cfg_dword qemu_piix3_post[] = {
    {0x00, 0x70008086}, {0x04, 0x02000004}, {0x08, 0x06010000}, {0x0c, 0x00800000},
    {0x2c, 0x11001af4}, {0x4c, 0x0003004d}, {0x60, 0x050b0a05}, {0x68, 0x00000200},
    {0x70, 0x00000080}, {0x74, 0x0c0c0000}, {0x78, 0x00000002}, {0xa0, 0x00000008},
    {0xa8, 0x0000000f},
};
static const struct cfg_dword qemu_ide_post[] = {
    {0x00, 0x70108086}, {0x04, 0x02800005}, {0x08, 0x01018000},
    {0x20, 0x0000c101}, {0x2c, 0x11001af4},
};
static const struct cfg_dword qemu_pm_post[] = {
    {0x00, 0x71138086}, {0x04, 0x02800004}, {0x08, 0x06800003}, {0x2c, 0x11001af4},
    {0x3c, 0x0000010a}, {0x40, 0x00000001}, {0x58, 0x02000000}, {0x5c, 0x90000000},
    {0x60, 0x60000000}, {0x64, 0x08000000}, {0x90, 0x0000b101}, {0xd0, 0x00090000},
};
static const struct cfg_dword qemu_platform_post[] = {
    {0x00, 0x00015853}, {0x04, 0x00000007}, {0x08, 0xff800001}, {0x10, 0x0000c001},
    {0x14, 0xf0000008}, {0x2c, 0x00015853}, {0x3c, 0x0000010b},
};

/* Header dwords whose read-back changed; 0x40-0xff read back all-ones then
 * zero in every function, everything else was read-only. */
static const struct cfg_probe qemu_i440fx_probe[] = {
    {0x04, 0x00000507, 0x00000000},
    {0x0c, 0x000000ff, 0x00000000},
    {0x3c, 0x000000ff, 0x00000000},
};
static const struct cfg_probe qemu_piix3_probe[] = {
    {0x04, 0x02000507, 0x02000000},
    {0x0c, 0x008000ff, 0x00800000},
    {0x3c, 0x000000ff, 0x00000000},
};
static const struct cfg_probe qemu_ide_probe[] = {
    {0x04, 0x02800507, 0x02800000},
    {0x0c, 0x000000ff, 0x00000000},
    {0x20, 0xfffffff1, 0x00000001},
    {0x3c, 0x000000ff, 0x00000000},
};
static const struct cfg_probe qemu_pm_probe[] = {
    {0x04, 0x02800507, 0x02800000},
    {0x0c, 0x000000ff, 0x00000000},
    {0x3c, 0x000001ff, 0x00000100},
};
static const struct cfg_probe qemu_platform_probe[] = {
    {0x04, 0x00000507, 0x00000000}, {0x0c, 0x000000ff, 0x00000000}, {0x10, 0xffffff01, 0x00000001},
    {0x14, 0xff000008, 0x00000008}, {0x3c, 0x000001ff, 0x00000100},
};

struct qemu_fn {
    const char *name;
    uint32_t sbdf;
    const struct cfg_dword *pre, *post;
    size_t n_pre, n_post;
    const struct cfg_probe *probe;
    size_t n_probe;
};

#define FN(n, s, x)                                                                                \
    {                                                                                              \
        n, s, qemu_##x##_pre, qemu_##x##_post, G_N_ELEMENTS(qemu_##x##_pre),                       \
            G_N_ELEMENTS(qemu_##x##_post), qemu_##x##_probe, G_N_ELEMENTS(qemu_##x##_probe)        \
    }

static const struct qemu_fn qemu_fns[] = {
    FN("i440FX", I440FX, i440fx),
    FN("PIIX3", PIIX3, piix3),
    FN("piix3-ide", IDE, ide),
    FN("PIIX4_PM", PM, pm),
    FN("xen-platform", PLATFORM, platform),
};

static uint32_t expected_dword(const struct cfg_dword *t, size_t n, unsigned off)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].off == off)
            return t[i].value;
    return 0;
}

static void check_dump(const struct qemu_fn *f, bool post)
{
    for (unsigned off = 0; off < PCI_CFG_SIZE; off += 4) {
        uint32_t want =
            post ? expected_dword(f->post, f->n_post, off) : expected_dword(f->pre, f->n_pre, off);
        uint32_t got = cfg_rd(f->sbdf, off, 4);
        if (got != want)
            g_error("%s %s: config %#04x = %#010x, qemu-xen has %#010x", f->name,
                    post ? "after setup" : "at power-on", off, got, want);
    }
}

/* The parts of xensim's firmware helper (tests/xensim/sim/fw.c) that gave
 * the "post" dump: PIRQs 5, 10, 11, 5; BARs sized and assigned largest
 * first (I/O from 0xc000, memory from 0xf0000000); decode + bus master;
 * interrupt line from the PIRQ of link (slot + pin - 1) & 3. */
static void fw_pci_setup(void)
{
    static const uint8_t pirq[4] = {5, 10, 11, 5};
    struct bar {
        uint32_t sbdf;
        unsigned reg;
        uint32_t size;
        bool io;
    } bars[64];
    unsigned nb = 0;

    for (unsigned l = 0; l < 4; l++)
        cfg_wr(PIIX3, 0x60 + l, 1, pirq[l]);
    for (uint32_t devfn = 0; devfn < 256; devfn++) {
        if ((cfg_rd(devfn, 0, 4) & 0xffff) == 0xffff)
            continue;
        for (unsigned reg = 0x10; reg < 0x28; reg += 4) {
            uint32_t orig = cfg_rd(devfn, reg, 4), v;
            cfg_wr(devfn, reg, 4, 0xffffffff);
            v = cfg_rd(devfn, reg, 4);
            cfg_wr(devfn, reg, 4, orig);
            if (v == 0 || v == 0xffffffff)
                continue;
            bool io = v & 1;
            uint32_t size = io ? (~(v & ~3u) + 1) & 0xffff : ~(v & ~0xfu) + 1;
            bars[nb++] = (struct bar){devfn, reg, size, io};
        }
    }
    for (unsigned i = 0; i < nb; i++) /* largest first, stable */
        for (unsigned j = i + 1; j < nb; j++)
            if (bars[j].size > bars[i].size) {
                struct bar t = bars[i];
                bars[i] = bars[j];
                bars[j] = t;
            }
    uint32_t io = 0xc000, mem = 0xf0000000;
    for (unsigned i = 0; i < nb; i++) {
        uint32_t *next = bars[i].io ? &io : &mem;
        uint32_t a = (*next + bars[i].size - 1) & ~(bars[i].size - 1);
        cfg_wr(bars[i].sbdf, bars[i].reg, 4, a | (bars[i].io ? 1 : 0));
        *next = a + bars[i].size;
    }
    for (uint32_t devfn = 0; devfn < 256; devfn++) {
        if ((cfg_rd(devfn, 0, 4) & 0xffff) == 0xffff)
            continue;
        uint16_t cmd = (uint16_t)cfg_rd(devfn, 4, 2);
        for (unsigned i = 0; i < nb; i++)
            if (bars[i].sbdf == devfn)
                cmd |= bars[i].io ? 1 : 2;
        cfg_wr(devfn, 4, 2, cmd | 4);
        uint8_t pin = (uint8_t)cfg_rd(devfn, 0x3d, 1);
        if (pin)
            cfg_wr(devfn, 0x3c, 1, pirq[((devfn >> 3) + pin - 1) & 3]);
    }
}

/* The serial and parallel ports qemu had in the dump. */
static struct io_region com1 = {.space = IO_PIO, .base = 0x3f8, .size = 8, .ops = &dummy_ops};
static struct io_region lpt1 = {.space = IO_PIO, .base = 0x378, .size = 8, .ops = &dummy_ops};

/* ========================================================================
 * Dispatch
 */

struct rec_access {
    uint64_t off;
    unsigned size;
    bool write;
    uint64_t value;
};

static struct rec_access accesses[64];
static unsigned n_accesses;

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t base = (uint64_t)(uintptr_t)opaque;

    if (n_accesses < G_N_ELEMENTS(accesses))
        accesses[n_accesses++] = (struct rec_access){off, size, false, 0};
    /* byte i of the region reads base + i */
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= ((base + off + i) & 0xff) << (8 * i);
    return v;
}

static void rec_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
    if (n_accesses < G_N_ELEMENTS(accesses))
        accesses[n_accesses++] = (struct rec_access){off, size, true, value};
}

static void check_access(unsigned i, uint64_t off, unsigned size, bool write, uint64_t value)
{
    g_assert_cmpuint(i, <, n_accesses);
    g_assert_cmphex(accesses[i].off, ==, off);
    g_assert_cmpuint(accesses[i].size, ==, size);
    g_assert_cmpint(accesses[i].write, ==, write);
    if (write)
        g_assert_cmphex(accesses[i].value, ==, value);
}

static const struct io_ops ops_any = {.name = "any", .read = rec_read, .write = rec_write};
static const struct io_ops ops_byte = {
    .name = "byte", .read = rec_read, .write = rec_write, .min_size = 1, .max_size = 1};
static const struct io_ops ops_word = {
    .name = "word", .read = rec_read, .write = rec_write, .max_size = 2};
static const struct io_ops ops_dword_only = {
    .name = "dword", .read = rec_read, .write = rec_write, .min_size = 4, .max_size = 4};
static const struct io_ops ops_narrow_wide = {
    .name = "latch", .read = rec_read, .write = rec_write, .max_size = 4};

#define REGION(sp, b, s, o)                                                                        \
    {                                                                                              \
        .space = sp, .base = b, .size = s, .ops = o, .opaque = (void *)(uintptr_t)(b)              \
    }

static void test_dispatch_add_overlap(void)
{
    static struct io_region a = REGION(IO_PIO, 0x100, 0x10, &ops_any);
    static struct io_region b = REGION(IO_PIO, 0x108, 0x10, &ops_any);
    static struct io_region c = REGION(IO_PIO, 0xf8, 0x10, &ops_any);
    static struct io_region adj = REGION(IO_PIO, 0x110, 0x10, &ops_any);
    static struct io_region zero = REGION(IO_PIO, 0x300, 0, &ops_any);
    static struct io_region wrap = REGION(IO_MMIO, UINT64_MAX - 4, 0x10, &ops_any);
    static struct io_region top = REGION(IO_MMIO, UINT64_MAX - 0xf, 0x10, &ops_any);
    static struct io_region misaligned = REGION(IO_PIO, 0x402, 4, &ops_dword_only);
    static struct io_region mmio_same = REGION(IO_MMIO, 0x100, 0x10, &ops_any);

    reset_world();
    g_assert_cmpint(io_region_add(&a), ==, 0);
    g_assert_true(a.active);
    g_assert_cmpint(io_region_add(&b), ==, -EEXIST);
    g_assert_cmpint(io_region_add(&c), ==, -EEXIST);
    g_assert_false(b.active || c.active);
    g_assert_cmpint(io_region_add(&adj), ==, 0);
    g_assert_cmpint(io_region_add(&zero), ==, -EINVAL);
    g_assert_cmpint(io_region_add(&wrap), ==, -EINVAL);
    g_assert_cmpint(io_region_add(&top), ==, 0);
    g_assert_cmpint(io_region_add(&misaligned), ==, -EINVAL);
    g_assert_cmpint(io_region_add(&mmio_same), ==, 0); /* other space */

    /* the backend saw inclusive ends, only for what was added */
    g_assert_cmpuint(n_map_calls, ==, 4);
    g_assert_true(saw_call(IO_PIO, 0x100, 0x10f, true));
    g_assert_true(saw_call(IO_PIO, 0x110, 0x11f, true));
    g_assert_true(saw_call(IO_MMIO, UINT64_MAX - 0xf, UINT64_MAX, true));
    g_assert_true(saw_call(IO_MMIO, 0x100, 0x10f, true));

    /* walking the table */
    g_assert_true(io_region_next(IO_PIO, 0) == &a);
    g_assert_true(io_region_next(IO_PIO, 0x10f) == &a);
    g_assert_true(io_region_next(IO_PIO, 0x110) == &adj);
    g_assert_null(io_region_next(IO_PIO, 0x120));
    g_assert_true(io_region_next(IO_MMIO, 0x200) == &top);

    clear_calls();
    io_region_del(&a);
    g_assert_false(a.active);
    g_assert_true(saw_call(IO_PIO, 0x100, 0x10f, false));
    io_region_del(&a); /* twice: no-op */
    g_assert_cmpuint(n_map_calls, ==, 1);
    g_assert_cmpint(io_region_add(&b), ==, -EEXIST); /* still overlaps adj */
    b.base = 0x100;
    b.size = 0x10;
    g_assert_cmpint(io_region_add(&b), ==, 0);

    /* a refusing backend leaves nothing behind */
    c.base = 0x400;
    map_fail_next = -ENOSPC;
    g_assert_cmpint(io_region_add(&c), ==, -ENOSPC);
    g_assert_false(c.active);
    g_assert_cmphex(inp(0x400, 1), ==, 0xff);
}

static void test_dispatch_move(void)
{
    static struct io_region a = REGION(IO_MMIO, 0x10000, 0x1000, &ops_any);
    static struct io_region b = REGION(IO_MMIO, 0x20000, 0x1000, &ops_any);

    reset_world();
    g_assert_cmpint(io_region_add(&a), ==, 0);
    g_assert_cmpint(io_region_add(&b), ==, 0);
    clear_calls();
    g_assert_cmpint(io_region_move(&a, 0x30000), ==, 0);
    g_assert_cmpuint(n_map_calls, ==, 2);
    g_assert_true(map_calls[0].first == 0x10000 && map_calls[0].last == 0x10fff &&
                  !map_calls[0].map);
    g_assert_true(map_calls[1].first == 0x30000 && map_calls[1].last == 0x30fff &&
                  map_calls[1].map);
    g_assert_true(io_region_next(IO_MMIO, 0x21000) == &a);

    /* onto b: refused, a stays where it was */
    clear_calls();
    g_assert_cmpint(io_region_move(&a, 0x20800), ==, -EEXIST);
    g_assert_cmpuint(n_map_calls, ==, 0);
    g_assert_true(a.active);
    g_assert_cmphex(a.base, ==, 0x30000);
    n_accesses = 0;
    io_read(IO_MMIO, 0x30004, 4);
    g_assert_cmpuint(n_accesses, ==, 1);
    /* touching itself is fine */
    g_assert_cmpint(io_region_move(&a, 0x30800), ==, 0);
    g_assert_cmphex(a.base, ==, 0x30800);
}

static void test_dispatch_split_widen(void)
{
    static struct io_region byte = REGION(IO_PIO, 0x100, 8, &ops_byte);
    static struct io_region word = REGION(IO_PIO, 0x200, 8, &ops_word);
    static struct io_region dword = REGION(IO_PIO, 0x300, 8, &ops_dword_only);
    static struct io_region any = REGION(IO_MMIO, 0x1000, 0x100, &ops_any);

    reset_world();
    g_assert_cmpint(io_region_add(&byte), ==, 0);
    g_assert_cmpint(io_region_add(&word), ==, 0);
    g_assert_cmpint(io_region_add(&dword), ==, 0);
    g_assert_cmpint(io_region_add(&any), ==, 0);

    /* split into bytes, little-endian */
    n_accesses = 0;
    g_assert_cmphex(inp(0x102, 4), ==, 0x05040302);
    g_assert_cmpuint(n_accesses, ==, 4);
    for (unsigned i = 0; i < 4; i++)
        check_access(i, 2 + i, 1, false, 0);
    n_accesses = 0;
    outp(0x100, 4, 0xddccbbaa);
    g_assert_cmpuint(n_accesses, ==, 4);
    check_access(0, 0, 1, true, 0xaa);
    check_access(3, 3, 1, true, 0xdd);

    /* unaligned access on a 2-byte-max region: naturally aligned pieces */
    n_accesses = 0;
    g_assert_cmphex(inp(0x201, 4), ==, 0x04030201);
    g_assert_cmpuint(n_accesses, ==, 3);
    check_access(0, 1, 1, false, 0);
    check_access(1, 2, 2, false, 0);
    check_access(2, 4, 1, false, 0);

    /* widened reads; narrow writes dropped */
    n_accesses = 0;
    g_assert_cmphex(inp(0x302, 1), ==, 0x02);
    g_assert_cmpuint(n_accesses, ==, 1);
    check_access(0, 0, 4, false, 0);
    n_accesses = 0;
    g_assert_cmphex(inp(0x303, 2), ==, 0x0403); /* two windows */
    g_assert_cmpuint(n_accesses, ==, 2);
    check_access(0, 0, 4, false, 0);
    check_access(1, 4, 4, false, 0);
    n_accesses = 0;
    outp(0x300, 2, 0x1234);
    g_assert_cmpuint(n_accesses, ==, 0);
    outp(0x304, 4, 0x12345678);
    g_assert_cmpuint(n_accesses, ==, 1);
    check_access(0, 4, 4, true, 0x12345678);

    /* 8-byte MMIO on an unlimited region arrives whole */
    n_accesses = 0;
    g_assert_cmphex(io_read(IO_MMIO, 0x1008, 8), ==, 0x0f0e0d0c0b0a0908ULL);
    g_assert_cmpuint(n_accesses, ==, 1);
    check_access(0, 8, 8, false, 0);
}

static void test_dispatch_cross_regions(void)
{
    static struct io_region a = REGION(IO_PIO, 0x100, 4, &ops_any);
    static struct io_region b = REGION(IO_PIO, 0x104, 4, &ops_any);
    static struct io_region narrow = REGION(IO_PIO, 0x200, 1, &ops_narrow_wide);
    static struct io_region next = REGION(IO_PIO, 0x201, 1, &ops_byte);
    static struct io_region small = REGION(IO_PIO, 0x300, 2, &ops_word);
    struct io_stats st;

    reset_world();
    g_assert_cmpint(io_region_add(&a), ==, 0);
    g_assert_cmpint(io_region_add(&b), ==, 0);
    g_assert_cmpint(io_region_add(&narrow), ==, 0);
    g_assert_cmpint(io_region_add(&next), ==, 0);
    g_assert_cmpint(io_region_add(&small), ==, 0);

    /* runs past a's end: cut at the boundary, each region gets its bytes */
    n_accesses = 0;
    g_assert_cmphex(inp(0x102, 4), ==, 0x05040302);
    g_assert_cmpuint(n_accesses, ==, 2);
    check_access(0, 2, 2, false, 0);
    check_access(1, 0, 2, false, 0);

    /* a wide access at the base of a narrow region that allows it: whole
     * (the 0xcf8/0xcf9 arrangement) */
    n_accesses = 0;
    outp(0x200, 4, 0x80000000);
    g_assert_cmpuint(n_accesses, ==, 1);
    check_access(0, 0, 4, true, 0x80000000);
    /* a byte-wide neighbour takes only its byte; the rest is unclaimed */
    n_accesses = 0;
    outp(0x201, 2, 0xbeef);
    g_assert_cmpuint(n_accesses, ==, 1);
    check_access(0, 0, 1, true, 0xef);

    /* a region whose max does not allow the width: cut, rest unclaimed */
    io_get_stats(&st);
    uint64_t before = st.unclaimed_reads;
    g_assert_cmphex(inp(0x300, 4), ==, 0xffff0100);
    io_get_stats(&st);
    g_assert_cmpuint(st.unclaimed_reads, ==, before + 1);
}

static void test_dispatch_unclaimed(void)
{
    static struct io_region a = REGION(IO_PIO, 0x100, 4, &ops_any);
    struct io_stats st;

    reset_world();
    g_assert_cmpint(io_region_add(&a), ==, 0);
    io_get_stats(&st);
    g_assert_cmpuint(st.reads + st.writes + st.unclaimed_reads + st.unclaimed_writes, ==, 0);

    g_assert_cmphex(inp(0x80, 1), ==, 0xff);
    g_assert_cmphex(inp(0x80, 2), ==, 0xffff);
    g_assert_cmphex(inp(0x80, 4), ==, 0xffffffff);
    g_assert_cmphex(io_read(IO_MMIO, 0x100, 8), ==, UINT64_MAX); /* other space */
    n_accesses = 0;
    outp(0x80, 4, 0x1234);
    g_assert_cmpuint(n_accesses, ==, 0);
    /* starts in a gap, ends in a: the claimed part still reaches a */
    g_assert_cmphex(inp(0xfe, 4), ==, 0x0100ffff);
    /* bad sizes */
    g_assert_cmphex(inp(0x100, 3), ==, UINT64_MAX);
    outp(0x100, 0, 1);
    /* the very top of the MMIO space */
    g_assert_cmphex(io_read(IO_MMIO, UINT64_MAX - 1, 4), ==, 0xffffffff);

    io_get_stats(&st);
    g_assert_cmpuint(st.reads, ==, 7);
    g_assert_cmpuint(st.writes, ==, 2);
    g_assert_cmpuint(st.unclaimed_reads, ==, 7);
    g_assert_cmpuint(st.unclaimed_writes, ==, 2);
    g_assert_cmphex(inp(0x100, 4), ==, 0x03020100);
    io_get_stats(&st);
    g_assert_cmpuint(st.unclaimed_reads, ==, 7);
}

/* A handler that removes its own region while running. */
static struct io_region self_del;
static uint64_t self_del_read(void *opaque, uint64_t off, unsigned size)
{
    io_region_del(&self_del);
    return 0x11;
}
static const struct io_ops self_del_ops = {
    .name = "self-del", .read = self_del_read, .max_size = 1};

static void test_dispatch_table_changes_in_handler(void)
{
    reset_world();
    self_del = (struct io_region){.space = IO_PIO, .base = 0x500, .size = 4, .ops = &self_del_ops};
    g_assert_cmpint(io_region_add(&self_del), ==, 0);
    /* first byte removes the region; the rest is unclaimed */
    g_assert_cmphex(inp(0x500, 4), ==, 0xffffff11);
    g_assert_false(self_del.active);
    g_assert_null(io_region_next(IO_PIO, 0));
}

static void test_dispatch_backend_late(void)
{
    static struct io_region a = REGION(IO_PIO, 0x100, 4, &ops_any);

    reset_world();
    io_set_backend(NULL);
    g_assert_cmpint(io_region_add(&a), ==, 0);
    g_assert_cmpuint(n_map_calls, ==, 0);
    io_set_backend(&rec_backend); /* existing regions are mapped now */
    g_assert_true(saw_call(IO_PIO, 0x100, 0x103, true));
}

/* ========================================================================
 * Device registry
 */

static void test_device_registry(void)
{
    const char *names[] = {"i440FX", "PIIX3", "piix3-ide", "PIIX4_PM", "xen-platform"};

    reset_world();
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const struct device_desc *d = device_find(names[i]);
        g_assert_nonnull(d);
        g_assert_nonnull(d->pci);
        g_assert_nonnull(d->desc);
    }
    g_assert_null(device_find("no-such-device"));
    g_assert_null(create("no-such-device", NULL));
}

static void test_device_unknown_property(void)
{
    if (g_test_subprocess()) {
        reset_world();
        g_assert_nonnull(create("i440FX", "ram-mb=128"));
        g_assert_null(create("xen-platform", "bogus=1"));
        /* nothing left behind: the slot and ports are free again */
        g_assert_null(pci_find(0x10));
        g_assert_cmphex(inp(0x10, 2), ==, 0xffff);
        g_assert_nonnull(create("xen-platform", NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*xendm: -device xen-platform: unknown property 'bogus'*");
}

static void test_device_i440fx_needs_ram(void)
{
    if (g_test_subprocess()) {
        reset_world();
        g_assert_null(create("i440FX", NULL));
        g_assert_null(pci_find(0));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*ram-mb*");
}

static void test_device_pci_placement(void)
{
    struct device *d;

    reset_world();
    create_chipset(true);
    d = device_first();
    g_assert_cmpstr(d->desc->name, ==, "i440FX");
    g_assert_cmpuint(d->pci->devfn, ==, 0);
    g_assert_cmpuint(pci_find(0x08)->devfn, ==, 0x08);
    g_assert_cmpstr(pci_find(0x09)->dev->desc->name, ==, "piix3-ide");
    g_assert_cmpstr(pci_find(0x0b)->dev->desc->name, ==, "PIIX4_PM");
    g_assert_cmpstr(pci_find(0x10)->dev->desc->name, ==, "xen-platform");
    /* every function is known to Xen */
    for (unsigned devfn = 0; devfn < 256; devfn++)
        g_assert_cmpint(pcidev_mapped[devfn], ==, pci_find((uint8_t)devfn) ? 1 : 0);

    /* addr= honoured, taken slots refused, bad addresses refused */
    d = create("test-pci-dev", "addr=0x1d.0x7,id=p2");
    g_assert_nonnull(d);
    g_assert_cmpuint(d->pci->devfn, ==, 0x1d << 3 | 7);
    g_assert_cmpstr(d->id, ==, "p2");
    g_assert_null(create("test-pci-dev", "addr=2"));   /* taken */
    g_assert_null(create("test-pci-dev", "addr=20"));  /* slot 0x20 */
    g_assert_null(create("test-pci-dev", "addr=3.8")); /* function 8 */
    g_assert_null(create("test-pci-dev", "addr=zz"));
    g_assert_null(create("test-pci-dev", "id=p2")); /* duplicate id */
    /* function 1 of a single-function slot: refused */
    g_assert_null(create("test-pci-dev", "addr=2.1"));
    /* a multi-function slot, function 0 last */
    d = create("test-pci-dev", "addr=5.2");
    g_assert_nonnull(d);
    g_assert_null(create("test-pci-dev", "addr=5.0"));
    d = create("test-pci-dev", "addr=5.0,multifunction=on");
    g_assert_nonnull(d);
    g_assert_cmphex(cfg_rd(BDF(5, 0), 0x0e, 1), ==, 0x80);
    g_assert_cmphex(cfg_rd(BDF(5, 2), 0x0e, 1), ==, 0x00);
    /* next free slot is 3 */
    d = create("test-pci-dev", NULL);
    g_assert_cmpuint(d->pci->devfn, ==, 0x18);

    /* destroy gives the slot back and unregisters it */
    device_destroy(d);
    g_assert_null(pci_find(0x18));
    g_assert_cmpint(pcidev_mapped[0x18], ==, 0);
    g_assert_cmphex(cfg_rd(BDF(3, 0), 0, 4), ==, 0xffffffff);

    g_assert_cmpint(pci_parse_addr("3"), ==, 0x18);
    g_assert_cmpint(pci_parse_addr("1d.7"), ==, 0xef);
    g_assert_cmpint(pci_parse_addr("0x1d.0x7"), ==, 0xef);
    g_assert_cmpint(pci_parse_addr("1F"), ==, 0xf8);
    g_assert_cmpint(pci_parse_addr(""), ==, -1);
    g_assert_cmpint(pci_parse_addr("3."), ==, -1);
    g_assert_cmpint(pci_parse_addr("3.1.1"), ==, -1);
    g_assert_cmpint(pci_parse_addr("-1"), ==, -1);
    g_assert_cmpint(pci_parse_addr("0x"), ==, -1);
}

/* ========================================================================
 * The chipset against qemu-xen
 */

static void test_chipset_matches_qemu_poweron(void)
{
    reset_world();
    g_assert_cmpint(io_region_add(&com1), ==, 0);
    g_assert_cmpint(io_region_add(&lpt1), ==, 0);
    create_chipset(true);
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_fns); i++)
        check_dump(&qemu_fns[i], false);
    /* nothing else on bus 0 */
    for (uint32_t devfn = 0; devfn < 256; devfn++)
        if (devfn != I440FX && devfn != PIIX3 && devfn != IDE && devfn != PM && devfn != PLATFORM)
            g_assert_cmphex(cfg_rd(devfn, 0, 4), ==, 0xffffffff);
}

static void test_chipset_matches_qemu_after_setup(void)
{
    reset_world();
    g_assert_cmpint(io_region_add(&com1), ==, 0);
    g_assert_cmpint(io_region_add(&lpt1), ==, 0);
    create_chipset(true);
    fw_pci_setup();
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_fns); i++)
        check_dump(&qemu_fns[i], true);
    g_assert_cmpint(fake_hv.link_route[0], ==, 5);
    g_assert_cmpint(fake_hv.link_route[1], ==, 10);
    g_assert_cmpint(fake_hv.link_route[2], ==, 11);
    g_assert_cmpint(fake_hv.link_route[3], ==, 5);
}

static void test_chipset_no_acpi(void)
{
    reset_world();
    create_chipset(false);
    g_assert_cmphex(cfg_rd(PM, 0, 4), ==, 0xffffffff);
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_fns); i++)
        if (qemu_fns[i].sbdf != PM)
            check_dump(&qemu_fns[i], false);
    fw_pci_setup();
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_fns); i++)
        if (qemu_fns[i].sbdf != PM)
            check_dump(&qemu_fns[i], true);
    /* no ACPI ports either */
    g_assert_cmphex(inp(0xb2, 1), ==, 0xff);
    g_assert_cmphex(inp(0xafe0, 1), ==, 0xff);
}

/* Without serial/parallel ports PIIX4 0x5f/0x67 read 0x10/0 (qemu-xen
 * started without -serial/-parallel). */
static void test_pm_machine_ready_bytes(void)
{
    reset_world();
    create_chipset(true);
    g_assert_cmphex(cfg_rd(PM, 0x5c, 4), ==, 0x10000000);
    g_assert_cmphex(cfg_rd(PM, 0x64, 4), ==, 0x00000000);

    /* decided at the first access, kept afterwards, written bytes win */
    reset_world();
    create_chipset(true);
    cfg_wr(PM, 0x67, 1, 0x55);
    g_assert_cmphex(cfg_rd(PM, 0x67, 1), ==, 0x55);
    g_assert_cmphex(cfg_rd(PM, 0x5f, 1), ==, 0x10);
}

static void test_chipset_writable_masks(void)
{
    reset_world();
    g_assert_cmpint(io_region_add(&com1), ==, 0);
    g_assert_cmpint(io_region_add(&lpt1), ==, 0);
    create_chipset(true);
    for (size_t i = 0; i < G_N_ELEMENTS(qemu_fns); i++) {
        const struct qemu_fn *f = &qemu_fns[i];
        for (unsigned off = 0; off < PCI_CFG_SIZE; off += 4) {
            uint32_t orig = expected_dword(f->pre, f->n_pre, off), ones = orig, zero = orig;
            for (size_t j = 0; j < f->n_probe; j++)
                if (f->probe[j].off == off) {
                    ones = f->probe[j].ones;
                    zero = f->probe[j].zero;
                }
            if (off >= 0x40) {
                ones = 0xffffffff;
                zero = 0;
            }
            cfg_wr(f->sbdf, off, 4, 0xffffffff);
            uint32_t got1 = cfg_rd(f->sbdf, off, 4);
            cfg_wr(f->sbdf, off, 4, 0);
            uint32_t got0 = cfg_rd(f->sbdf, off, 4);
            cfg_wr(f->sbdf, off, 4, orig);
            uint32_t back = cfg_rd(f->sbdf, off, 4);
            if (got1 != ones || got0 != zero || back != orig)
                g_error("%s config %#04x: all-ones -> %#010x (qemu %#010x), zero -> %#010x "
                        "(qemu %#010x), restore -> %#010x (qemu %#010x)",
                        f->name, off, got1, ones, got0, zero, back, orig);
        }
    }
}

/* Status: read-only except the RW1C error bits (nothing sets them here). */
static void test_pci_status_and_byte_writes(void)
{
    reset_world();
    create_chipset(true);
    cfg_wr(IDE, 0x06, 2, 0xffff);
    g_assert_cmphex(cfg_rd(IDE, 0x06, 2), ==, 0x0280);
    /* byte and word writes inside a dword */
    cfg_wr(PLATFORM, 0x3c, 1, 0x0b);
    cfg_wr(PLATFORM, 0x3d, 1, 0x04); /* pin: read-only */
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 2), ==, 0x010b);
    cfg_wr(PLATFORM, 0x12, 2, 0xffff); /* upper half of BAR0 */
    g_assert_cmphex(cfg_rd(PLATFORM, 0x10, 4), ==, 0xffff0001);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x11, 1), ==, 0x00);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x12, 2), ==, 0xffff);
}

/* ========================================================================
 * BARs
 */

static void test_bar_moves(void)
{
    struct io_region *r;

    reset_world();
    create_chipset(true);
    clear_calls();
    fw_pci_setup();
    /* BARs as hvmloader placed them, mapped at Xen with inclusive ends */
    g_assert_true(saw_call(IO_PIO, 0xc000, 0xc0ff, true));
    g_assert_true(saw_call(IO_PIO, 0xc100, 0xc10f, true));
    g_assert_true(saw_call(IO_MMIO, 0xf0000000, 0xf0ffffff, true));
    r = io_region_next(IO_PIO, 0xc000);
    g_assert_true(r && r->base == 0xc000 && r->size == 0x100);
    r = io_region_next(IO_PIO, 0xc100);
    g_assert_true(r && r->base == 0xc100 && r->size == 0x10);
    r = io_region_next(IO_MMIO, 0);
    g_assert_true(r && r->base == 0xf0000000 && r->size == 0x1000000);

    /* move BAR0: unmap old, map new */
    clear_calls();
    cfg_wr(PLATFORM, 0x10, 4, 0xd001);
    g_assert_cmpuint(n_map_calls, ==, 2);
    g_assert_true(map_calls[0].first == 0xc000 && map_calls[0].last == 0xc0ff && !map_calls[0].map);
    g_assert_true(map_calls[1].first == 0xd000 && map_calls[1].last == 0xd0ff && map_calls[1].map);
    g_assert_cmphex(inp(0xc000, 1), ==, 0xff);
    g_assert_cmphex(inp(0xd000, 1), ==, 0x00); /* platform flags */
    /* low bits of an I/O BAR are not address bits */
    cfg_wr(PLATFORM, 0x10, 4, 0xd0ff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x10, 4), ==, 0xd001);

    /* decode off -> unmapped, on -> back */
    clear_calls();
    cfg_wr(PLATFORM, 0x04, 2, 0x0006);
    g_assert_true(saw_call(IO_PIO, 0xd000, 0xd0ff, false));
    g_assert_cmphex(inp(0xd000, 1), ==, 0xff);
    cfg_wr(PLATFORM, 0x04, 2, 0x0007);
    g_assert_true(saw_call(IO_PIO, 0xd000, 0xd0ff, true));

    /* invalid addresses: 0, beyond 64 KiB, ending at 4 GiB - 1 */
    clear_calls();
    cfg_wr(PLATFORM, 0x10, 4, 0x0001);
    g_assert_true(saw_call(IO_PIO, 0xd000, 0xd0ff, false));
    g_assert_cmphex(inp(0xd000, 1), ==, 0xff);
    cfg_wr(PLATFORM, 0x10, 4, 0xffff01);
    g_assert_cmpuint(n_map_calls, ==, 1);
    cfg_wr(PLATFORM, 0x10, 4, 0xff01); /* 0xff00-0xffff: fine */
    g_assert_true(saw_call(IO_PIO, 0xff00, 0xffff, true));
    cfg_wr(PLATFORM, 0x14, 4, 0xff000000);
    g_assert_true(saw_call(IO_MMIO, 0xf0000000, 0xf0ffffff, false));
    g_assert_cmphex(io_read(IO_MMIO, 0xff000000, 4), ==, 0xffffffff);
    cfg_wr(PLATFORM, 0x14, 4, 0xfe000000);
    g_assert_cmphex(io_read(IO_MMIO, 0xfe000010, 4), ==, 0); /* BAR1 reads 0 */

    /* overlap with a fixed region (the IDE ports): stays unmapped until
     * the guest places it somewhere free */
    clear_calls();
    cfg_wr(IDE, 0x20, 4, 0x1f1);
    g_assert_cmphex(cfg_rd(IDE, 0x20, 4), ==, 0x1f1);
    g_assert_true(saw_call(IO_PIO, 0xc100, 0xc10f, false));
    g_assert_false(saw_call(IO_PIO, 0x1f0, 0x1ff, true));
    g_assert_cmphex(inp(0x1f2, 1), ==, 0x00); /* still the IDE command block */
    cfg_wr(IDE, 0x20, 4, 0xc201);
    g_assert_true(saw_call(IO_PIO, 0xc200, 0xc20f, true));
    g_assert_cmphex(inp(0xc202, 1), ==, 0x00); /* BM status */
}

/* A test-only PCI device: VRAM-like RAM BAR, 64-bit MMIO BAR, ROM, INTA#. */
static char rom_path[256];
static void *vram_ptr;

static uint64_t t_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    return 0x5a;
}
static const struct io_ops t_mmio_ops = {.name = "t-mmio", .read = t_mmio_read};

static int tdev_create(struct device *dev, const struct opts *opts)
{
    vram_ptr = pci_bar_set_ram(dev->pci, 0, "tdev.vram");
    return vram_ptr ? 0 : -ENOMEM;
}

static struct pci_desc tdev_pci = {
    .vendor = 0x1234,
    .device = 0x1111,
    .class_code = 0x030000,
    .irq_pin = 1,
    .devfn = -1,
    .bar[0] = {.type = PCI_BAR_MEM32, .prefetch = true, .size = 1 << 20},
    .bar[2] = {.type = PCI_BAR_MEM64, .size = 0x1000, .ops = &t_mmio_ops},
};
static struct device_desc tdev_desc = {
    .name = "test-pci-dev",
    .desc = "unit-test device",
    .pci = &tdev_pci,
    .create = tdev_create,
};
DEVICE_REGISTER(tdev_desc)

static void test_bar_ram_and_rom(void)
{
    static const char image[32] = "\x55\xaa ROM image of the unit test";
    struct device *d;
    uint64_t home;
    FILE *f;

    reset_world();
    snprintf(rom_path, sizeof(rom_path), "%s/xendm-test-pci-%d.rom", g_get_tmp_dir(),
             (int)getpid());
    f = fopen(rom_path, "wb");
    g_assert_nonnull(f);
    for (int i = 0; i < 160; i++) /* 160 * 32 bytes = 5 KiB -> an 8 KiB ROM */
        fwrite(image, 1, 32, f);
    fclose(f);
    tdev_pci.rom_file = rom_path;
    d = create("test-pci-dev", NULL);
    tdev_pci.rom_file = NULL;
    unlink(rom_path);
    g_assert_nonnull(d);
    g_assert_nonnull(vram_ptr);
    uint32_t bdf = d->pci->devfn;

    /* sizes through all-ones writes */
    cfg_wr(bdf, 0x10, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(bdf, 0x10, 4), ==, 0xfff00008);
    cfg_wr(bdf, 0x18, 4, 0xffffffff);
    cfg_wr(bdf, 0x1c, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(bdf, 0x18, 4), ==, 0xfffff004);
    g_assert_cmphex(cfg_rd(bdf, 0x1c, 4), ==, 0xffffffff);
    cfg_wr(bdf, 0x30, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(bdf, 0x30, 4), ==, 0xffffe001);
    cfg_wr(bdf, 0x30, 4, 0);

    /* the ROM frames hold the file */
    home = d->pci->ram_gfn[PCI_ROM_SLOT];
    g_assert_cmpmem(d->pci->ram_ptr[PCI_ROM_SLOT], 32, image, 32);

    /* RAM BAR: relocated in when decoding, home first when moved */
    uint64_t vhome = d->pci->ram_gfn[0];
    unsigned relocs = fake_hv.relocations;
    cfg_wr(bdf, 0x10, 4, 0xe0000000);
    g_assert_cmpuint(fake_hv.relocations, ==, relocs); /* memory decode off */
    cfg_wr(bdf, 0x04, 2, 0x0002);
    g_assert_cmpuint(fake_hv.relocations, ==, relocs + 1);
    g_assert_cmphex(fake_hv.last_reloc_src, ==, vhome);
    g_assert_cmphex(fake_hv.last_reloc_dst, ==, 0xe0000);
    g_assert_cmpuint(fake_hv.last_reloc_nr, ==, 256);
    cfg_wr(bdf, 0x10, 4, 0xe0100000);
    g_assert_cmpuint(fake_hv.relocations, ==, relocs + 3);
    g_assert_cmphex(fake_hv.last_reloc_src, ==, vhome);
    g_assert_cmphex(fake_hv.last_reloc_dst, ==, 0xe0100);
    cfg_wr(bdf, 0x04, 2, 0x0000);
    g_assert_cmpuint(fake_hv.relocations, ==, relocs + 4);
    g_assert_cmphex(fake_hv.last_reloc_src, ==, 0xe0100);
    g_assert_cmphex(fake_hv.last_reloc_dst, ==, vhome);

    /* ROM: needs the enable bit and memory decode */
    cfg_wr(bdf, 0x30, 4, 0xe0200000);
    cfg_wr(bdf, 0x04, 2, 0x0002);
    relocs = fake_hv.relocations;
    cfg_wr(bdf, 0x30, 4, 0xe0200001);
    g_assert_cmpuint(fake_hv.relocations, ==, relocs + 1);
    g_assert_cmphex(fake_hv.last_reloc_src, ==, home);
    g_assert_cmphex(fake_hv.last_reloc_dst, ==, 0xe0200);
    g_assert_cmpuint(fake_hv.last_reloc_nr, ==, 2);
    cfg_wr(bdf, 0x30, 4, 0xe0200000);
    g_assert_cmphex(fake_hv.last_reloc_dst, ==, home);

    /* 64-bit BAR above 4 GiB */
    clear_calls();
    cfg_wr(bdf, 0x18, 4, 0x00000000);
    cfg_wr(bdf, 0x1c, 4, 0x00000001);
    g_assert_true(saw_call(IO_MMIO, 0x100000000ULL, 0x100000fffULL, true));
    g_assert_cmphex(io_read(IO_MMIO, 0x100000010ULL, 1), ==, 0x5a);

    /* reset: BARs back to their type bits, everything unmapped */
    clear_calls();
    relocs = fake_hv.relocations;
    pci_dev_reset(d->pci);
    g_assert_cmphex(cfg_rd(bdf, 0x04, 2), ==, 0);
    g_assert_cmphex(cfg_rd(bdf, 0x10, 4), ==, 0x00000008);
    g_assert_cmphex(cfg_rd(bdf, 0x18, 4), ==, 0x00000004);
    g_assert_cmphex(cfg_rd(bdf, 0x1c, 4), ==, 0);
    g_assert_true(saw_call(IO_MMIO, 0x100000000ULL, 0x100000fffULL, false));
    g_assert_cmphex(io_read(IO_MMIO, 0x100000010ULL, 1), ==, 0xff);
}

static void test_bar_rom_missing_file(void)
{
    if (g_test_subprocess()) {
        reset_world();
        tdev_pci.rom_file = "/nonexistent/xendm-test.rom";
        g_assert_null(create("test-pci-dev", NULL));
        tdev_pci.rom_file = NULL;
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*/nonexistent/xendm-test.rom*");
}

/* ========================================================================
 * INTx
 */

static void test_intx(void)
{
    struct device *a, *b;

    reset_world();
    a = create("test-pci-dev", "addr=6.0,multifunction=on");
    b = create("test-pci-dev", "addr=6.1");
    g_assert_nonnull(a);
    g_assert_nonnull(b);

    pci_set_irq(a->pci, 1);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 1);
    g_assert_cmphex(cfg_rd(BDF(6, 0), 0x06, 2) & 0x08, ==, 0x08);
    /* shared slot and pin: OR of both */
    pci_set_irq(b->pci, 1);
    pci_set_irq(a->pci, 0);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 1);
    g_assert_cmphex(cfg_rd(BDF(6, 0), 0x06, 2) & 0x08, ==, 0);
    pci_set_irq(b->pci, 0);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 0);

    /* INTx disable masks the output, not the status bit */
    pci_set_irq(a->pci, 1);
    cfg_wr(BDF(6, 0), 0x04, 2, 0x0400);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 0);
    g_assert_cmphex(cfg_rd(BDF(6, 0), 0x06, 2) & 0x08, ==, 0x08);
    cfg_wr(BDF(6, 0), 0x04, 2, 0x0000);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 1);
    /* destroying the device drops its line */
    device_destroy(a);
    g_assert_cmpint(fake_hv.intx_level[6][0], ==, 0);
}

/* ========================================================================
 * PIIX3: PIRQ routing, reset control
 */

static void test_piix3_pirq(void)
{
    reset_world();
    create_chipset(true);
    g_assert_cmpint(fake_hv.link_route[0], ==, -1); /* nothing until written */
    cfg_wr(PIIX3, 0x60, 1, 0x0b);
    g_assert_cmpint(fake_hv.link_route[0], ==, 11);
    cfg_wr(PIIX3, 0x60, 1, 0x80);
    g_assert_cmpint(fake_hv.link_route[0], ==, 0);
    cfg_wr(PIIX3, 0x61, 1, 0x05);
    cfg_wr(PIIX3, 0x61, 1, 0x00);
    g_assert_cmpint(fake_hv.link_route[1], ==, 0);
    cfg_wr(PIIX3, 0x62, 1, 0x0f);
    g_assert_cmpint(fake_hv.link_route[2], ==, 15);
    cfg_wr(PIIX3, 0x63, 1, 0x8b);
    g_assert_cmpint(fake_hv.link_route[3], ==, 0);
    /* qemu-xen keeps the low four bits: 0x10 -> 0, 0x12 -> 2 */
    cfg_wr(PIIX3, 0x60, 1, 0x10);
    g_assert_cmpint(fake_hv.link_route[0], ==, 0);
    cfg_wr(PIIX3, 0x60, 1, 0x12);
    g_assert_cmpint(fake_hv.link_route[0], ==, 2);
    /* dword and word writes reach every link they cover */
    cfg_wr(PIIX3, 0x60, 4, 0x0e0d0c03);
    g_assert_cmpint(fake_hv.link_route[0], ==, 3);
    g_assert_cmpint(fake_hv.link_route[1], ==, 12);
    g_assert_cmpint(fake_hv.link_route[2], ==, 13);
    g_assert_cmpint(fake_hv.link_route[3], ==, 14);
    cfg_wr(PIIX3, 0x62, 2, 0x0000);
    g_assert_cmpint(fake_hv.link_route[2], ==, 0);
    g_assert_cmpint(fake_hv.link_route[3], ==, 0);
    g_assert_cmphex(cfg_rd(PIIX3, 0x60, 4), ==, 0x00000c03);
    /* an unchanged value is still forwarded (as qemu-xen does) */
    fake_hv.link_route[1] = -1;
    cfg_wr(PIIX3, 0x61, 1, 0x0c);
    g_assert_cmpint(fake_hv.link_route[1], ==, 12);
    /* writes elsewhere do not touch the links */
    fake_hv.link_route[0] = -1;
    cfg_wr(PIIX3, 0x5c, 4, 0x12345678);
    cfg_wr(PIIX3, 0x64, 4, 0x12345678);
    g_assert_cmpint(fake_hv.link_route[0], ==, -1);
}

static void test_piix3_reset_control(void)
{
    reset_world();
    create_chipset(true);
    fw_pci_setup();
    g_assert_cmphex(inp(0xcf9, 1), ==, 0);
    outp(0xcf9, 1, 0x02);
    g_assert_cmphex(inp(0xcf9, 1), ==, 0x02);
    outp(0xcf9, 1, 0x0a);
    g_assert_cmphex(inp(0xcf9, 1), ==, 0x02);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    /* dword CONFIG_ADDRESS writes never reach 0xcf9 (function 4 has bit 2) */
    outp(0xcf8, 4, 0x80000c00);
    g_assert_cmphex(inp(0xcf8, 4), ==, 0x80000c00);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    g_assert_cmphex(inp(0xcf9, 1), ==, 0x02);

    outp(0xcf9, 1, 0x06);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, HV_SHUTDOWN_REBOOT);
    g_assert_cmpuint(fake_hv.shutdown_calls, ==, 1);
    /* devices were reset first, like qemu_system_reset */
    g_assert_cmphex(inp(0xcf9, 1), ==, 0);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x04, 2), ==, 0);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x10, 4), ==, 0x00000001);
    g_assert_cmphex(inp(0xc000, 1), ==, 0xff);

    /* a word write at 0xcf9 is two byte writes for the register */
    outp(0xcf9, 2, 0x0600);
    g_assert_cmpuint(fake_hv.shutdown_calls, ==, 2);
    outp(0xcf9, 1, 0x04);
    g_assert_cmpuint(fake_hv.shutdown_calls, ==, 3);
}

static void test_pci_host_ports(void)
{
    reset_world();
    create_chipset(true);
    outp(0xcf8, 4, 0x12345678);
    g_assert_cmphex(inp(0xcf8, 4), ==, 0x12345678);
    /* qemu returns the latch, truncated, whatever the offset */
    g_assert_cmphex(inp(0xcf8, 2), ==, 0x5678);
    g_assert_cmphex(inp(0xcfa, 2), ==, 0x5678);
    g_assert_cmphex(inp(0xcfb, 1), ==, 0x78);
    outp(0xcf8, 2, 0xffff); /* narrower writes do not latch */
    outp(0xcfb, 1, 0x01);
    outp(0xcfa, 4, 0);
    g_assert_cmphex(inp(0xcf8, 4), ==, 0x12345678);
    /* CONFIG_DATA: an absent function or a disabled latch reads all-ones */
    outp(0xcf8, 4, 0x80000000 | (7 << 11));
    g_assert_cmphex(inp(0xcfc, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0xcfe, 2), ==, 0xffff);
    outp(0xcf8, 4, 0x00000000);
    g_assert_cmphex(inp(0xcfc, 4), ==, 0xffffffff);
    /* and a present one is served like a PCI_CONFIG ioreq */
    outp(0xcf8, 4, 0x80000000 | (2 << 11));
    g_assert_cmphex(inp(0xcfc, 4), ==, 0x00015853);
    g_assert_cmphex(inp(0xcfe, 2), ==, 0x0001);
    outp(0xcf8, 4, 0x80000000 | (2 << 11) | 0x3c);
    outp(0xcfc, 1, 0x0b);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 1), ==, 0x0b);
    /* bus 1: nothing */
    outp(0xcf8, 4, 0x80010000);
    g_assert_cmphex(inp(0xcfc, 4), ==, 0xffffffff);
}

/* ========================================================================
 * IDE without drives
 */

static void test_ide_no_drives(void)
{
    static const uint16_t ports[] = {0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6,
                                     0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176, 0x177, 0x376};

    reset_world();
    create_chipset(true);
    for (size_t i = 0; i < G_N_ELEMENTS(ports); i++)
        g_assert_cmphex(inp(ports[i], 1), ==, 0);
    g_assert_cmphex(inp(0x1f0, 2), ==, 0);
    g_assert_cmphex(inp(0x1f0, 4), ==, 0);
    outp(0x1f2, 1, 0x55);
    g_assert_cmphex(inp(0x1f2, 1), ==, 0);
    g_assert_cmphex(inp(0x1f1, 2), ==, 0);
    g_assert_cmphex(inp(0x1f4, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0x1f6, 2), ==, 0);
    g_assert_cmphex(inp(0x3f6, 2), ==, 0xff00); /* 0x3f7 is not ours */

    /* a command to device 0 aborts and interrupts; status read acks */
    outp(0x1f6, 1, 0xa0);
    outp(0x1f7, 1, 0xec);
    g_assert_cmpint(fake_hv.isa_level[14], ==, 1);
    g_assert_cmphex(inp(0x3f6, 1), ==, 0); /* alternate status: no ack */
    g_assert_cmpint(fake_hv.isa_level[14], ==, 1);
    g_assert_cmphex(inp(0x1f7, 1), ==, 0);
    g_assert_cmpint(fake_hv.isa_level[14], ==, 0);
    /* to device 1: ignored (and the command write itself lowers the line) */
    outp(0x1f7, 1, 0xec);
    g_assert_cmpint(fake_hv.isa_level[14], ==, 1);
    outp(0x1f6, 1, 0xb0);
    outp(0x1f7, 1, 0xec);
    g_assert_cmpint(fake_hv.isa_level[14], ==, 0);
    /* nIEN masks it */
    outp(0x376, 1, 0x02);
    outp(0x176, 1, 0xa0);
    outp(0x177, 1, 0x00);
    g_assert_cmpint(fake_hv.isa_level[15], ==, 0);
    outp(0x376, 1, 0x00);
    outp(0x177, 1, 0x00);
    g_assert_cmpint(fake_hv.isa_level[15], ==, 1);
    g_assert_cmpuint(fake_hv.isa_edges[15], ==, 1);

    /* bus-master registers at BAR4 */
    fw_pci_setup();
    g_assert_cmphex(inp(0xc100, 1), ==, 0x00);
    g_assert_cmphex(inp(0xc101, 1), ==, 0xff);
    g_assert_cmphex(inp(0xc10a, 1), ==, 0x04); /* secondary interrupted above */
    outp(0xc10a, 1, 0x04);
    g_assert_cmphex(inp(0xc10a, 1), ==, 0x00);
    g_assert_cmphex(inp(0xc100, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0xc100, 2), ==, 0xffff);
    for (unsigned i = 0; i < 16; i++)
        outp((uint16_t)(0xc100 + i), 1, 0xff);
    static const uint8_t after_ff[16] = {0x09, 0xff, 0x61, 0xff, 0xfc, 0xff, 0xff, 0xff,
                                         0x09, 0xff, 0x61, 0xff, 0xfc, 0xff, 0xff, 0xff};
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(inp((uint16_t)(0xc100 + i), 1), ==, after_ff[i]);
    /* unaligned and block-crossing widths, as qemu-xen answered them */
    g_assert_cmphex(inp(0xc101, 2), ==, 0x61ff);
    g_assert_cmphex(inp(0xc103, 2), ==, 0xfcff);
    g_assert_cmphex(inp(0xc106, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0xc107, 2), ==, 0x09ff);
    outp(0xc104, 4, 0xffffffff);
    outp(0xc10c, 4, 0x12345677);
    g_assert_cmphex(inp(0xc104, 4), ==, 0xfffffffc);
    g_assert_cmphex(inp(0xc10c, 4), ==, 0x12345674);
    outp(0xc106, 2, 0xabcd);
    outp(0xc105, 1, 0x11);
    g_assert_cmphex(inp(0xc104, 4), ==, 0xabcd11fc);
    outp(0xc100, 1, 0x00);
    outp(0xc108, 1, 0x00);
    g_assert_cmphex(inp(0xc102, 1), ==, 0x60);
    g_assert_cmphex(inp(0xc10a, 1), ==, 0x60);
    outp(0xc102, 1, 0xff);
    g_assert_cmphex(inp(0xc102, 1), ==, 0x60);
    outp(0xc100, 4, 0xffffffff); /* ignored */
    g_assert_cmphex(inp(0xc100, 1), ==, 0x00);
    /* unaligned across the command/address blocks */
    g_assert_cmphex(inp(0xc103, 2), ==, 0xfcff);
    /* decode off */
    cfg_wr(IDE, 0x04, 2, 0);
    g_assert_cmphex(inp(0xc102, 1), ==, 0xff);
}

/* ========================================================================
 * PIIX4 PM
 */

static void pm_enable(void)
{
    cfg_wr(PM, 0x40, 4, 0xb001);
    cfg_wr(PM, 0x80, 1, 0x01);
}

static void test_pm_sci_and_sleep(void)
{
    struct io_stats st0, st1;

    reset_world();
    create_chipset(true);
    io_get_stats(&st0);
    g_assert_cmphex(inp(0xb004, 2), ==, 0xffff); /* not enabled yet */
    io_get_stats(&st1);
    g_assert_cmpuint(st1.unclaimed_reads, ==, st0.unclaimed_reads + 1);
    clear_calls();
    pm_enable();
    g_assert_true(saw_call(IO_PIO, 0xb004, 0xb005, true));
    g_assert_cmphex(inp(0xb004, 2), ==, 0x0000);

    /* hvmloader's acpi_enable_sci */
    outp(0xb2, 1, 0xf1);
    g_assert_cmphex(inp(0xb004, 2), ==, 0x0001);
    g_assert_cmphex(inp(0xb2, 1), ==, 0xf1);
    outp(0xb2, 1, 0xf0);
    g_assert_cmphex(inp(0xb004, 2), ==, 0x0000);
    outp(0xb2, 1, 0xf1);
    outp(0xb2, 2, 0x3412); /* two byte writes; 0x12 is just an SMI */
    g_assert_cmphex(inp(0xb2, 1), ==, 0x12);
    g_assert_cmphex(inp(0xb3, 1), ==, 0x34);
    g_assert_cmphex(inp(0xb2, 2), ==, 0x3412);
    g_assert_cmphex(inp(0xb004, 2), ==, 0x0001);

    /* SLP_EN is write-only; other bits read back */
    outp(0xb004, 2, 0xffff & ~0x2000);
    g_assert_cmphex(inp(0xb004, 2), ==, 0xdfff);
    outp(0xb004, 2, 0x0001);
    /* an unused SLP_TYP does nothing */
    outp(0xb004, 2, 0x2000 | (5 << 10) | 1);
    g_assert_cmphex(inp(0xb004, 2), ==, 0x1401);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    /* qemu 7.2 ignores the byte offset of PM1a_CNT */
    outp(0xb005, 1, 0x2c);
    g_assert_cmphex(inp(0xb004, 2), ==, 0x002c);
    g_assert_cmphex(inp(0xb005, 1), ==, 0x2c);
    outp(0xb004, 2, 0x1234);
    g_assert_cmphex(inp(0xb005, 1), ==, 0x34);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);

    /* S3 */
    outp(0xb004, 2, 0x2000 | (1 << 10) | 1);
    g_assert_cmpint(fake_hv.acpi_s_state, ==, 3);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, -1);
    /* S4 (qemu's s4_val 2) and S5 power off */
    outp(0xb004, 2, 0x2000 | (2 << 10) | 1);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, HV_SHUTDOWN_POWEROFF);
    fake_hv.shutdown_reason = -1;
    outp(0xb004, 2, 0x2000 | (0 << 10) | 1);
    g_assert_cmpint(fake_hv.shutdown_reason, ==, HV_SHUTDOWN_POWEROFF);
    g_assert_cmpuint(fake_hv.shutdown_calls, ==, 2);

    /* moving PMBA moves PM1a_CNT; clearing 0x80 unmaps it */
    clear_calls();
    cfg_wr(PM, 0x40, 4, 0xc041);
    g_assert_true(saw_call(IO_PIO, 0xb004, 0xb005, false));
    g_assert_true(saw_call(IO_PIO, 0xc044, 0xc045, true));
    cfg_wr(PM, 0x80, 1, 0);
    g_assert_true(saw_call(IO_PIO, 0xc044, 0xc045, false));
    g_assert_cmphex(inp(0xc044, 2), ==, 0xffff);

    /* reset: SCI_EN off, PM I/O off, config back */
    pm_enable();
    outp(0xb2, 1, 0xf1);
    device_reset_all();
    g_assert_cmphex(cfg_rd(PM, 0x40, 4), ==, 0x0000b001); /* qemu resets the low byte only */
    g_assert_cmphex(cfg_rd(PM, 0x80, 1), ==, 0);
    g_assert_cmphex(inp(0xb004, 2), ==, 0xffff);
    pm_enable();
    g_assert_cmphex(inp(0xb004, 2), ==, 0);
}

static void test_pm_gpe_cpu_hotplug(void)
{
    reset_world();
    create_chipset(true);
    /* GPE0: status RW1C, enable RW */
    outp(0xafe0, 4, 0x00ff00ff);
    g_assert_cmphex(inp(0xafe0, 4), ==, 0x00ff0000);
    outp(0xafe1, 2, 0xffff);
    g_assert_cmphex(inp(0xafe0, 4), ==, 0x00ff0000);
    g_assert_cmphex(inp(0xafe1, 2), ==, 0xff00);
    g_assert_cmpint(fake_hv.isa_level[9], ==, 0);

    /* CPU bitmap: one vCPU, writes ignored */
    g_assert_cmphex(inp(0xaf00, 1), ==, 0x01);
    g_assert_cmphex(inp(0xaf00, 4), ==, 0x00000001);
    outp(0xaf01, 1, 0x55);
    g_assert_cmphex(inp(0xaf01, 1), ==, 0x00);
    g_assert_cmphex(inp(0xaf1f, 1), ==, 0x00);

    /* PCI hotplug: dword only; slots 0 and 1 are not removable */
    g_assert_cmphex(inp(0xae00, 4), ==, 0);
    g_assert_cmphex(inp(0xae04, 4), ==, 0);
    g_assert_cmphex(inp(0xae08, 4), ==, 0);
    g_assert_cmphex(inp(0xae0c, 4), ==, 0xfffffffc);
    g_assert_cmphex(inp(0xae0c, 1), ==, 0);
    g_assert_cmphex(inp(0xae0c, 2), ==, 0);
    g_assert_cmphex(inp(0xae0e, 2), ==, 0);
    outp(0xae10, 4, 1);
    g_assert_cmphex(inp(0xae10, 4), ==, 0);
    g_assert_cmphex(inp(0xae14, 4), ==, 0);
    outp(0xae08, 4, 1u << 2); /* eject the platform device: ignored */
    g_assert_nonnull(pci_find(0x10));
    /* a VGA function makes its slot fixed, as in qemu (-vga std: 0xfffffff8) */
    g_assert_nonnull(create("test-pci-dev", NULL));
    g_assert_cmphex(inp(0xae0c, 4), ==, 0xfffffff4);

    /* more vCPUs */
    reset_world();
    g_assert_nonnull(create("PIIX4_PM", "cpus=9,maxcpus=16"));
    g_assert_cmphex(inp(0xaf00, 1), ==, 0xff);
    g_assert_cmphex(inp(0xaf01, 1), ==, 0x01);
    g_assert_cmphex(inp(0xaf02, 1), ==, 0x00);
    reset_world();
    g_assert_nonnull(create("PIIX4_PM", "maxcpus=3"));
    g_assert_cmphex(inp(0xaf00, 1), ==, 0x07);
    reset_world();
    g_assert_null(create("PIIX4_PM", "cpus=4,maxcpus=2"));
    g_assert_null(create("PIIX4_PM", "cpus=0"));
    g_assert_null(create("PIIX4_PM", "cpus=257"));
}

static uint8_t smb_run(uint8_t addr, uint8_t cmd, uint8_t ctl, uint8_t *first)
{
    outp(0xb100, 1, 0xff);
    outp(0xb104, 1, addr);
    outp(0xb103, 1, cmd);
    outp(0xb102, 1, ctl);
    *first = (uint8_t)inp(0xb100, 1);
    return (uint8_t)inp(0xb100, 1);
}

static void test_pm_smbus(void)
{
    uint8_t first;

    reset_world();
    create_chipset(true);
    g_assert_cmphex(inp(0xb100, 1), ==, 0x00);
    g_assert_cmphex(inp(0xb10d, 1), ==, 0x02); /* AUX_BLK forced */
    /* byte-data read from an SPD EEPROM: busy, then done */
    g_assert_cmphex(smb_run(0x50 << 1 | 1, 0, 0x40 | 2 << 2, &first), ==, 0x02);
    g_assert_cmphex(first, ==, 0x01);
    g_assert_cmphex(inp(0xb105, 1), ==, 0x00);
    /* nobody at 0x10 or 0x58 */
    g_assert_cmphex(smb_run(0x10 << 1 | 1, 0, 0x40 | 2 << 2, &first), ==, 0x04);
    g_assert_cmphex(smb_run(0x57 << 1, 0, 0x40 | 0 << 2, &first), ==, 0x02);
    g_assert_cmphex(smb_run(0x58 << 1, 0, 0x40 | 0 << 2, &first), ==, 0x04);
    /* the EEPROM keeps what is written */
    outp(0xb105, 1, 0x5a);
    g_assert_cmphex(smb_run(0x51 << 1, 7, 0x40 | 2 << 2, &first), ==, 0x02);
    outp(0xb105, 1, 0);
    g_assert_cmphex(smb_run(0x51 << 1 | 1, 7, 0x40 | 2 << 2, &first), ==, 0x02);
    g_assert_cmphex(inp(0xb105, 1), ==, 0x5a);
    /* word read: the next byte follows */
    g_assert_cmphex(smb_run(0x51 << 1 | 1, 6, 0x40 | 3 << 2, &first), ==, 0x02);
    g_assert_cmphex(inp(0xb105, 1), ==, 0x00);
    g_assert_cmphex(inp(0xb106, 1), ==, 0x5a);
    /* block write then block read, buffered */
    outp(0xb100, 1, 0xff);
    inp(0xb102, 1);
    outp(0xb105, 1, 3);
    outp(0xb107, 1, 0xa1);
    outp(0xb107, 1, 0xa2);
    outp(0xb107, 1, 0xa3);
    g_assert_cmphex(smb_run(0x52 << 1, 0x20, 0x40 | 5 << 2, &first), ==, 0x02);
    g_assert_cmphex(smb_run(0x52 << 1 | 1, 0x20, 0x40 | 5 << 2, &first), ==, 0x02);
    g_assert_cmphex(inp(0xb105, 1), ==, 3);
    g_assert_cmphex(inp(0xb107, 1), ==, 0xa1);
    g_assert_cmphex(inp(0xb107, 1), ==, 0xa2);
    g_assert_cmphex(inp(0xb107, 1), ==, 0xa3);

    /* register read-back after writes, as qemu-xen showed it */
    reset_world();
    create_chipset(true);
    g_assert_cmphex(smb_run(0x58 << 1, 0, 0x40, &first), ==, 0x04);
    outp(0xb100, 1, 0xff);
    for (unsigned i = 2; i < 16; i++)
        outp((uint16_t)(0xb100 + i), 1, 0xa5 ^ i);
    static const uint8_t want[16] = {0x10, 0, 0x07, 0xa6, 0xa1, 0xa0, 0xa3, 0,
                                     0,    0, 0,    0,    0,    0,    0,    0};
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(inp((uint16_t)(0xb100 + i), 1), ==, want[i]);
    g_assert_cmphex(inp(0xb13f, 1), ==, 0);

    /* 0xd2 bit 0 and SMBBA place the window */
    clear_calls();
    cfg_wr(PM, 0xd2, 1, 0x08);
    g_assert_true(saw_call(IO_PIO, 0xb100, 0xb13f, false));
    g_assert_cmphex(inp(0xb100, 1), ==, 0xff);
    cfg_wr(PM, 0x90, 4, 0xc001);
    cfg_wr(PM, 0xd2, 1, 0x09);
    g_assert_true(saw_call(IO_PIO, 0xc000, 0xc03f, true));
}

/* ========================================================================
 * Xen platform device
 */

static unsigned unplug_calls, unplug_mask;
static void record_unplug(unsigned mask)
{
    unplug_calls++;
    unplug_mask = mask;
}

static void test_platform_ports(void)
{
    reset_world();
    create_chipset(true);
    g_assert_cmphex(inp(0x10, 2), ==, 0x49d2);
    g_assert_cmphex(inp(0x12, 1), ==, 0x01);
    g_assert_cmphex(inp(0x10, 1), ==, 0x00);
    g_assert_cmphex(inp(0x11, 1), ==, 0xff);
    g_assert_cmphex(inp(0x13, 1), ==, 0xff);
    g_assert_cmphex(inp(0x1f, 1), ==, 0xff);
    g_assert_cmphex(inp(0x10, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0x12, 2), ==, 0xffff);
    g_assert_cmphex(inp(0x11, 2), ==, 0xffff);
    g_assert_cmphex(inp(0x12, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0x13, 4), ==, 0xffffffff);
    g_assert_cmphex(inp(0x1e, 4), ==, 0xffffffff);

    /* ROM lock flag: bit 0 only */
    outp(0x10, 1, 0x01);
    g_assert_cmphex(inp(0x10, 1), ==, 0x01);
    outp(0x10, 1, 0xff);
    g_assert_cmphex(inp(0x10, 1), ==, 0x01);
    outp(0x10, 1, 0x00);
    g_assert_cmphex(inp(0x10, 1), ==, 0x00);

    /* unplug: recorded and passed on */
    platform_unplug_hook = record_unplug;
    unplug_calls = 0;
    outp(0x10, 2, 0x0003);
    g_assert_cmpuint(unplug_calls, ==, 1);
    g_assert_cmphex(unplug_mask, ==, 0x3);
    outp(0x10, 2, 0x0000); /* nothing to do */
    g_assert_cmpuint(unplug_calls, ==, 1);
    /* product and build numbers: accepted, magic unchanged */
    outp(0x12, 2, 3);
    outp(0x10, 4, 0x1234);
    g_assert_cmpuint(unplug_calls, ==, 1);
    g_assert_cmphex(inp(0x10, 2), ==, 0x49d2);

    /* BAR0 */
    fw_pci_setup();
    g_assert_cmphex(inp(0xc000, 1), ==, 0x00);
    g_assert_cmphex(inp(0xc001, 1), ==, 0xff);
    g_assert_cmphex(inp(0xc000, 2), ==, 0xff00);
    g_assert_cmphex(inp(0xc000, 4), ==, 0xffffff00);
    outp(0xc000, 1, 1);
    g_assert_cmphex(inp(0x10, 1), ==, 0x01);
    outp(0xc000, 1, 0);
    outp(0xc008, 1, 1);
    g_assert_cmpuint(unplug_calls, ==, 2);
    g_assert_cmphex(unplug_mask, ==, 0x1);
    outp(0xc008, 1, 2);
    g_assert_cmphex(unplug_mask, ==, 0x2);
    outp(0xc004, 1, 1);
    g_assert_cmphex(unplug_mask, ==, 0x3);
    g_assert_cmpuint(unplug_calls, ==, 4);
    /* BAR1 reads 0, writes vanish */
    io_write(IO_MMIO, 0xf0000000, 4, 0x12345678);
    g_assert_cmphex(io_read(IO_MMIO, 0xf0000000, 4), ==, 0);
    g_assert_cmphex(io_read(IO_MMIO, 0xf0ffffff, 1), ==, 0);
    platform_unplug_hook = NULL;
}

static void put_line(uint16_t port, const char *s)
{
    for (; *s; s++)
        outp(port, 1, (uint8_t)*s);
}

static void test_platform_log(void)
{
    reset_world();
    create_chipset(true);
    fw_pci_setup();

    uint64_t before = log_bytes_written();
    put_line(0x12, "hello from the guest\n");
    uint64_t one = log_bytes_written() - before;
    g_assert_cmpuint(one, >, strlen("hello from the guest"));
    /* BAR0+8 takes log characters too */
    before = log_bytes_written();
    put_line(0xc008, "via bar0\n");
    g_assert_cmpuint(log_bytes_written(), >, before);

    /* a flood is rate limited: far fewer than 40 lines come out */
    before = log_bytes_written();
    for (int i = 0; i < 40; i++)
        put_line(0x12, "hello from the guest\n");
    g_assert_cmpuint(log_bytes_written() - before, <, 20 * one);

    /* an endless line is cut, never overflows */
    for (int i = 0; i < 5000; i++)
        outp(0x12, 1, 'x');
    outp(0x12, 1, '\n');
}

/* ========================================================================
 * Bad guest input
 */

static void test_bad_config_accesses(void)
{
    uint32_t before;

    reset_world();
    create_chipset(true);
    before = cfg_rd(PLATFORM, 0x3c, 4);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x100, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0xfff, 1), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 3), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 0), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 8), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3e, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3f, 2), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0xff, 2), ==, 0xffffffff);
    cfg_wr(PLATFORM, 0x3c, 3, 0x0b0b0b);
    cfg_wr(PLATFORM, 0x3e, 4, 0xffffffff);
    cfg_wr(PLATFORM, 0x3f, 2, 0xffff);
    cfg_wr(PLATFORM, 0x100, 4, 0xffffffff);
    cfg_wr(PLATFORM, 0xffffffff, 4, 0xffffffff);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 4), ==, before);
    /* other segments, buses, absent functions */
    g_assert_cmphex(cfg_rd(1u << 16 | PLATFORM, 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(1u << 8 | PLATFORM, 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(BDF(31, 7), 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_rd(BDF(1, 2), 0, 2), ==, 0xffffffff);
    cfg_wr(1u << 8 | PLATFORM, 0x3c, 1, 0x0a);
    g_assert_cmphex(cfg_rd(PLATFORM, 0x3c, 4), ==, before);
}

static void test_bad_port_accesses(void)
{
    reset_world();
    create_chipset(true);
    fw_pci_setup();
    pm_enable();
    /* everything the chipset owns, every width, both directions: no crash,
     * unclaimed neighbours all-ones */
    static const uint16_t starts[] = {0x10,   0xb2,   0x1f0,  0x3f6,  0x170,  0x376,  0xcf8, 0xcfc,
                                      0xae00, 0xaf00, 0xafe0, 0xb004, 0xb100, 0xc000, 0xc100};
    for (size_t i = 0; i < G_N_ELEMENTS(starts); i++)
        for (int d = -3; d < 0x44; d++)
            for (unsigned size = 1; size <= 4; size *= 2) {
                uint16_t port = (uint16_t)(starts[i] + d);
                if (port >= 0xcf8 && port < 0xd00)
                    continue; /* the reset register would reboot */
                (void)inp(port, size);
            }
    for (size_t i = 0; i < G_N_ELEMENTS(starts); i++)
        for (int d = -3; d < 0x44; d++) {
            uint16_t port = (uint16_t)(starts[i] + d);
            if (port == 0xb004 || port == 0xb005 || (port >= 0xcf8 && port < 0xd00))
                continue; /* would power off / reboot */
            outp(port, 1, 0xa5);
            outp(port, 2, 0xa5a5);
            outp(port, 4, 0xa5a5a5a5);
        }
    g_assert_cmphex(inp(0x5555, 1), ==, 0xff);
    g_assert_cmphex(inp(0x5555, 4), ==, 0xffffffff);
    g_assert_cmphex(io_read(IO_MMIO, 0xdead0000, 8), ==, UINT64_MAX);
    g_assert_cmphex(inp(0x10, 2), ==, 0x49d2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    log_init();

    g_test_add_func("/dispatch/add-overlap", test_dispatch_add_overlap);
    g_test_add_func("/dispatch/move", test_dispatch_move);
    g_test_add_func("/dispatch/split-widen", test_dispatch_split_widen);
    g_test_add_func("/dispatch/cross-regions", test_dispatch_cross_regions);
    g_test_add_func("/dispatch/unclaimed", test_dispatch_unclaimed);
    g_test_add_func("/dispatch/table-changes-in-handler", test_dispatch_table_changes_in_handler);
    g_test_add_func("/dispatch/backend-late", test_dispatch_backend_late);

    g_test_add_func("/device/registry", test_device_registry);
    g_test_add_func("/device/unknown-property", test_device_unknown_property);
    g_test_add_func("/device/i440fx-needs-ram", test_device_i440fx_needs_ram);
    g_test_add_func("/device/pci-placement", test_device_pci_placement);

    g_test_add_func("/chipset/qemu-power-on", test_chipset_matches_qemu_poweron);
    g_test_add_func("/chipset/qemu-after-setup", test_chipset_matches_qemu_after_setup);
    g_test_add_func("/chipset/no-acpi", test_chipset_no_acpi);
    g_test_add_func("/chipset/writable-masks", test_chipset_writable_masks);
    g_test_add_func("/chipset/pm-machine-ready-bytes", test_pm_machine_ready_bytes);

    g_test_add_func("/pci/status-and-byte-writes", test_pci_status_and_byte_writes);
    g_test_add_func("/pci/bar-moves", test_bar_moves);
    g_test_add_func("/pci/bar-ram-and-rom", test_bar_ram_and_rom);
    g_test_add_func("/pci/rom-missing-file", test_bar_rom_missing_file);
    g_test_add_func("/pci/intx", test_intx);
    g_test_add_func("/pci/host-ports", test_pci_host_ports);

    g_test_add_func("/piix3/pirq", test_piix3_pirq);
    g_test_add_func("/piix3/reset-control", test_piix3_reset_control);
    g_test_add_func("/ide/no-drives", test_ide_no_drives);
    g_test_add_func("/pm/sci-and-sleep", test_pm_sci_and_sleep);
    g_test_add_func("/pm/gpe-cpu-hotplug", test_pm_gpe_cpu_hotplug);
    g_test_add_func("/pm/smbus", test_pm_smbus);
    g_test_add_func("/platform/ports", test_platform_ports);
    g_test_add_func("/platform/log", test_platform_log);

    g_test_add_func("/guest/bad-config-accesses", test_bad_config_accesses);
    g_test_add_func("/guest/bad-port-accesses", test_bad_port_accesses);
    return g_test_run();
}
