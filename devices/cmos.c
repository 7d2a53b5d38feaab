/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CMOS NVRAM bytes qemu-xen owns, "cmos" (created by the machine).
 *
 * Xen's virtual RTC emulates ports 0x70/0x71 for indices 0-13 (clock,
 * alarm, registers A-D) and forwards the index write of any index >= 14,
 * and the data accesses that follow it, to the device model
 * (xen/arch/x86/hvm/rtc.c, RTC_CMOS_SIZE = 14).  We hold bytes 14-127:
 *   0x70 W  index (bits 0-6) and NMI mask (bit 7, recorded only: Xen
 *           owns NMIs); R reads 0xff, as QEMU's RTC
 *   0x71 RW the byte at the index; index 0x37 (IBM PS/2 century) reads the
 *           century byte 0x32, as QEMU.  Indices 0-13 never reach us on
 *           Xen: if they do, reads give 0 and writes are dropped (logged).
 * The two ports are registered separately, as qemu-xen's mapping makes
 * them (its "rtc-index" subregion splits the range).  There is no second
 * bank at 0x72/0x73: QEMU's mc146818 has none.
 *
 * Contents at power-on, as QEMU's pc_cmos_init() writes them for a PC
 * without IDE disks or floppy drives:
 *   0x10 0 (no floppy)         0x12 0, 0x19/0x1a 0, 0x39 0 (no hard disk)
 *   0x14 0x06 (FPU, PS/2 mouse)   0x15/0x16 base memory in KiB (640)
 *   0x17/0x18 = 0x30/0x31 memory above 1 MiB in KiB (max 65535)
 *   0x34/0x35 memory between 16 MiB and 4 GiB in 64 KiB units
 *   0x5b-0x5d memory above 4 GiB in 64 KiB units   0x5f CPUs - 1
 *   0x32 century (BCD, from the host clock)
 *   0x3d boot devices 1 and 2 (low nibble first), 0x38 boot device 3 in
 *        the high nibble and 1 in bit 0 if the floppy signature check is
 *        off; nibbles a,b = 1 (floppy), c = 2 (disk), d = 3 (CD), n = 4.
 * Options: ram_mb (the -m value, default 128), ram_below_4g_mb (default min(ram_mb,
 * 3840), the xenfv layout), boot (-boot order, default "cad"), cpus (boot
 * vCPUs, default 1), fd_bootchk (default on, QEMU's default; libxl never
 * turns it off).
 *
 * reset keeps the NVRAM (it is battery-backed; QEMU's reset keeps it too)
 * and clears the index.  Left out: the checksum at 0x2e/0x2f (QEMU writes
 * none), disk geometry bytes (no IDE disk is described here yet).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "devices/device.h"
#include "src/dispatch.h"
#include "src/log.h"

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT  0x71
#define CMOS_SIZE       128
/* Indices Xen's own RTC emulates (RTC_CMOS_SIZE in xen/arch/x86/hvm/rtc.c). */
#define CMOS_XEN_OWNED 14
#define CMOS_NMI_MASK  0x80

#define MiB (1024ULL * 1024ULL)
/* xenfv: RAM below 4 GiB ends at 0xf0000000 unless max-ram-below-4g says less. */
#define CMOS_DEFAULT_BELOW_4G_MB 3840ULL
/* QEMU's -m default, for a machine that does not say. */
#define CMOS_DEFAULT_RAM_MB 128ULL

#define REG_FLOPPY      0x10
#define REG_HD_TYPE     0x12
#define REG_EQUIPMENT   0x14
#define REG_CENTURY     0x32
#define REG_PS2_CENTURY 0x37
#define REG_BOOT3       0x38
#define REG_BOOT12      0x3d
#define REG_CPUS        0x5f

#define EQUIP_FPU       0x02
#define EQUIP_PS2_MOUSE 0x04

struct cmos {
    struct io_region index_io, data_io;
    uint8_t index;
    bool nmi_masked;
    uint8_t nvram[CMOS_SIZE];
};

static int boot_nibble(char c)
{
    switch (c) {
    case 'a':
    case 'b':
        return 1;
    case 'c':
        return 2;
    case 'd':
        return 3;
    case 'n':
        return 4;
    default:
        return 0;
    }
}

static void set16(uint8_t *nv, unsigned reg, uint64_t v)
{
    nv[reg] = (uint8_t)v;
    nv[reg + 1] = (uint8_t)(v >> 8);
}

static uint8_t to_bcd(unsigned v)
{
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint64_t index_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0xff;
}

static void index_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct cmos *s = opaque;
    if (offset || size != 1) {
        LOG_GUEST("cmos", "index write of %u bytes at +%llu dropped", size,
                  (unsigned long long)offset);
        return;
    }
    s->index = value & 0x7f;
    s->nmi_masked = value & CMOS_NMI_MASK;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct cmos *s = opaque;
    if (offset || size != 1) {
        LOG_GUEST("cmos", "data read of %u bytes at +%llu ignored", size,
                  (unsigned long long)offset);
        return size >= 8 || !size ? ~0ULL : (1ULL << (8 * size)) - 1;
    }
    if (s->index < CMOS_XEN_OWNED) {
        LOG_GUEST("cmos", "read of RTC index %u reached the device model (Xen's RTC owns it)",
                  s->index);
        return 0;
    }
    if (s->index == REG_PS2_CENTURY)
        s->index = REG_CENTURY;
    return s->nvram[s->index];
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct cmos *s = opaque;
    if (offset || size != 1) {
        LOG_GUEST("cmos", "data write of %u bytes at +%llu dropped", size,
                  (unsigned long long)offset);
        return;
    }
    if (s->index < CMOS_XEN_OWNED) {
        LOG_GUEST("cmos", "write to RTC index %u reached the device model (Xen's RTC owns it)",
                  s->index);
        return;
    }
    s->nvram[s->index] = (uint8_t)value;
}

static const struct io_ops index_ops = {
    .name = "cmos-index", .read = index_read, .write = index_write, .min_size = 1, .max_size = 1};
static const struct io_ops data_ops = {
    .name = "cmos-data", .read = data_read, .write = data_write, .min_size = 1, .max_size = 1};

static void cmos_reset(struct device *dev)
{
    struct cmos *s = DEVICE_PRIV(dev, struct cmos);
    s->index = 0;
    s->nmi_masked = false;
}

/* The boot order: up to three of a, b, c, d, n, none twice (QEMU's rules). */
static int cmos_set_boot(struct cmos *s, const char *opt, const char *order, bool fd_bootchk)
{
    int nib[3] = {0, 0, 0};
    size_t n = strlen(order);

    if (n > 3) {
        log_msg("cmos", "%s: boot order '%s': too many boot devices for PC", opt, order);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        nib[i] = boot_nibble(order[i]);
        if (!nib[i]) {
            log_msg("cmos", "%s: boot order '%s': invalid boot device '%c'", opt, order, order[i]);
            return -EINVAL;
        }
        if (memchr(order, order[i], i)) {
            log_msg("cmos", "%s: boot order '%s': device '%c' given twice", opt, order, order[i]);
            return -EINVAL;
        }
    }
    s->nvram[REG_BOOT12] = (uint8_t)((nib[1] << 4) | nib[0]);
    s->nvram[REG_BOOT3] = (uint8_t)((nib[2] << 4) | (fd_bootchk ? 0 : 1));
    return 0;
}

static int cmos_create(struct device *dev, const struct opts *copts)
{
    struct cmos *s = DEVICE_PRIV(dev, struct cmos);
    /* lookups mark keys as used; the option set is ours for this call */
    struct opts *opts = (struct opts *)copts;
    const char *opt = opts && opts->option ? opts->option : "cmos";
    uint64_t ram_mb = CMOS_DEFAULT_RAM_MB, below_mb, cpus = 1;
    bool fd_bootchk = true;
    const char *boot = NULL;
    int rc;

    if (opts) {
        if (opts_get_u64(opts, "ram_mb", CMOS_DEFAULT_RAM_MB, 1ULL << 40, &ram_mb) < 0)
            return -EINVAL;
    }
    below_mb = ram_mb < CMOS_DEFAULT_BELOW_4G_MB ? ram_mb : CMOS_DEFAULT_BELOW_4G_MB;
    if (opts) {
        if (opts_get_u64(opts, "ram_below_4g_mb", below_mb, 4096, &below_mb) < 0 ||
            opts_get_u64(opts, "cpus", 1, 4096, &cpus) < 0 ||
            opts_get_bool(opts, "fd_bootchk", true, &fd_bootchk) < 0)
            return -EINVAL;
        boot = opts_get(opts, "boot");
        /* device_create() refuses any other key by name */
    }
    if (below_mb > ram_mb)
        below_mb = ram_mb;
    if (!cpus) {
        log_msg("cmos", "%s: cpus=0", opt);
        return -EINVAL;
    }

    memset(s->nvram, 0, sizeof(s->nvram));
    uint64_t below = below_mb * MiB, above = (ram_mb - below_mb) * MiB, v;
    v = below / 1024 < 640 ? below / 1024 : 640;
    set16(s->nvram, 0x15, v);
    v = below > MiB ? (below - MiB) / 1024 : 0;
    v = v > 65535 ? 65535 : v;
    set16(s->nvram, 0x17, v);
    set16(s->nvram, 0x30, v);
    v = below > 16 * MiB ? (below - 16 * MiB) / (64 * 1024) : 0;
    v = v > 65535 ? 65535 : v;
    set16(s->nvram, 0x34, v);
    v = above / (64 * 1024);
    v = v > 0xffffff ? 0xffffff : v;
    s->nvram[0x5b] = (uint8_t)v;
    s->nvram[0x5c] = (uint8_t)(v >> 8);
    s->nvram[0x5d] = (uint8_t)(v >> 16);
    s->nvram[REG_CPUS] = cpus > 255 ? 0 : (uint8_t)(cpus - 1);
    s->nvram[REG_EQUIPMENT] = EQUIP_FPU | EQUIP_PS2_MOUSE;
    s->nvram[REG_FLOPPY] = 0;
    s->nvram[REG_HD_TYPE] = 0;

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    s->nvram[REG_CENTURY] = to_bcd((unsigned)(tm.tm_year + 1900) / 100);

    rc = cmos_set_boot(s, opt, boot ? boot : "cad", fd_bootchk);
    if (rc < 0)
        return rc;

    cmos_reset(dev);
    s->index_io = (struct io_region){
        .space = IO_PIO, .base = CMOS_INDEX_PORT, .size = 1, .ops = &index_ops, .opaque = s};
    s->data_io = (struct io_region){
        .space = IO_PIO, .base = CMOS_DATA_PORT, .size = 1, .ops = &data_ops, .opaque = s};
    rc = io_region_add(&s->index_io);
    if (rc < 0) {
        log_msg("cmos", "cannot claim port 0x%x: %d", CMOS_INDEX_PORT, rc);
        return rc;
    }
    rc = io_region_add(&s->data_io);
    if (rc < 0) {
        log_msg("cmos", "cannot claim port 0x%x: %d", CMOS_DATA_PORT, rc);
        io_region_del(&s->index_io);
        return rc;
    }
    return 0;
}

static struct device_desc cmos_desc = {
    .name = "cmos",
    .desc = "CMOS NVRAM bytes 14-127 behind Xen's RTC (ports 0x70/0x71)",
    .priv_size = sizeof(struct cmos),
    .create = cmos_create,
    .reset = cmos_reset,
    /* nothing to release: device_destroy() removes the regions */
};
DEVICE_REGISTER(cmos_desc)
