/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest API: CPU-like accesses of the current simulator's guest.
 *
 * Port I/O always becomes an ioreq (or is handled by "Xen" itself).  Memory
 * accesses go straight to guest RAM when the p2m says RAM (writes to
 * read-only RAM are discarded, as HVMMEM_ram_ro does), and become COPY
 * ioreqs otherwise.  String instructions are cut at page boundaries of the
 * RAM side, as Xen's emulator does, and passed with data_is_ptr.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static pthread_mutex_t pci_lock = PTHREAD_MUTEX_INITIALIZER;

static xsim *cur(void)
{
    xsim *x = xsim_current();
    if (!x) {
        fprintf(stderr, "[xensim] guest access without a simulator\n");
        abort();
    }
    return x;
}

/* ---- port I/O ------------------------------------------------------------ */

uint32_t guest_in_v(unsigned vcpu, uint16_t port, unsigned size)
{
    struct xsim_access a = {.vcpu = vcpu, .type = IOREQ_TYPE_PIO, .dir = IOREQ_READ, .size = size,
                            .count = 1, .addr = port};
    ioreq_access(cur(), &a);
    return (uint32_t)a.data;
}

void guest_out_v(unsigned vcpu, uint16_t port, unsigned size, uint32_t val)
{
    struct xsim_access a = {.vcpu = vcpu, .type = IOREQ_TYPE_PIO, .dir = IOREQ_WRITE, .size = size,
                            .count = 1, .addr = port, .data = val};
    ioreq_access(cur(), &a);
}

uint8_t guest_inb(uint16_t port) { return (uint8_t)guest_in_v(0, port, 1); }
uint16_t guest_inw(uint16_t port) { return (uint16_t)guest_in_v(0, port, 2); }
uint32_t guest_inl(uint16_t port) { return guest_in_v(0, port, 4); }
void guest_outb(uint16_t port, uint8_t val) { guest_out_v(0, port, 1, val); }
void guest_outw(uint16_t port, uint16_t val) { guest_out_v(0, port, 2, val); }
void guest_outl(uint16_t port, uint32_t val) { guest_out_v(0, port, 4, val); }

/* Elements of a string op on the RAM side that fit before the page ends
 * (df = 0) or starts (df = 1), at least 1. */
static uint32_t chunk(uint64_t gpa, unsigned size, uint32_t count, int df)
{
    uint64_t off = gpa & (XSIM_PAGE_SIZE - 1);
    uint64_t room = df ? off / size + 1 : (XSIM_PAGE_SIZE - off) / size;
    if (room == 0)
        room = 1;
    return count < room ? count : (uint32_t)room;
}

static int rep_pio(unsigned vcpu, uint8_t dir, uint16_t port, unsigned size, uint64_t gpa,
                   uint32_t count, int df)
{
    while (count) {
        uint32_t n = chunk(gpa, size, count, df);
        struct xsim_access a = {.vcpu = vcpu, .type = IOREQ_TYPE_PIO, .dir = dir, .size = size,
                                .count = n, .addr = port, .data = gpa, .data_is_ptr = 1,
                                .df = (uint8_t)!!df};
        if (ioreq_access(cur(), &a) < 0)
            return -1;
        gpa = df ? gpa - (uint64_t)n * size : gpa + (uint64_t)n * size;
        count -= n;
    }
    return 0;
}

int guest_ins_v(unsigned vcpu, uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df)
{
    return rep_pio(vcpu, IOREQ_READ, port, size, gpa, count, df);
}

int guest_outs_v(unsigned vcpu, uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df)
{
    return rep_pio(vcpu, IOREQ_WRITE, port, size, gpa, count, df);
}

int guest_ins(uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df)
{
    return guest_ins_v(0, port, size, gpa, count, df);
}

int guest_outs(uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df)
{
    return guest_outs_v(0, port, size, gpa, count, df);
}

/* ---- memory ---------------------------------------------------------------- */

/* Pointer to the RAM byte at gpa, or NULL if it is not RAM.  *ro is set
 * for read-only RAM. */
static uint8_t *ram_byte(xsim *x, uint64_t gpa, bool *ro)
{
    pthread_mutex_lock(&x->lock);
    int64_t f = mem_gfn_to_frame(x, gpa >> XSIM_PAGE_SHIFT);
    int t = f >= 0 ? mem_gfn_type(x, gpa >> XSIM_PAGE_SHIFT) : -1;
    pthread_mutex_unlock(&x->lock);
    if (f < 0)
        return NULL;
    if (ro)
        *ro = t == P2M_RAM_RO;
    return (uint8_t *)mem_frame_ptr(x, (uint64_t)f) + (gpa & (XSIM_PAGE_SIZE - 1));
}

uint64_t guest_mmio_read_v(unsigned vcpu, uint64_t gpa, unsigned size)
{
    xsim *x = cur();
    if ((gpa & (XSIM_PAGE_SIZE - 1)) + size <= XSIM_PAGE_SIZE) {
        uint8_t *p = ram_byte(x, gpa, NULL);
        if (p) {
            uint64_t v = 0;
            memcpy(&v, p, size);
            return v;
        }
    }
    struct xsim_access a = {.vcpu = vcpu, .type = IOREQ_TYPE_COPY, .dir = IOREQ_READ, .size = size,
                            .count = 1, .addr = gpa};
    ioreq_access(x, &a);
    return a.data;
}

void guest_mmio_write_v(unsigned vcpu, uint64_t gpa, unsigned size, uint64_t val)
{
    xsim *x = cur();
    if ((gpa & (XSIM_PAGE_SIZE - 1)) + size <= XSIM_PAGE_SIZE) {
        bool ro = false;
        uint8_t *p = ram_byte(x, gpa, &ro);
        if (p) {
            if (!ro)
                memcpy(p, &val, size);
            return;
        }
    }
    struct xsim_access a = {.vcpu = vcpu, .type = IOREQ_TYPE_COPY, .dir = IOREQ_WRITE, .size = size,
                            .count = 1, .addr = gpa, .data = val};
    ioreq_access(x, &a);
}

uint64_t guest_mmio_read(uint64_t gpa, unsigned size) { return guest_mmio_read_v(0, gpa, size); }
void guest_mmio_write(uint64_t gpa, unsigned size, uint64_t val) { guest_mmio_write_v(0, gpa, size, val); }

int guest_rep_movs(uint64_t dst, uint64_t src, unsigned size, uint32_t count, int df)
{
    xsim *x = cur();
    while (count) {
        bool ro = false;
        uint8_t *d = ram_byte(x, dst, &ro), *s = ram_byte(x, src, NULL);
        uint32_t n;
        if (d && s) { /* RAM to RAM: one element at a time is enough */
            if (!ro)
                memmove(d, s, size);
            n = 1;
        } else if (s || d) {
            /* one side MMIO: the RAM side is the pointer */
            uint64_t ram = s ? src : dst, dev = s ? dst : src;
            n = chunk(ram, size, count, df);
            struct xsim_access a = {.type = IOREQ_TYPE_COPY, .dir = s ? IOREQ_WRITE : IOREQ_READ,
                                    .size = size, .count = n, .addr = dev, .data = ram,
                                    .data_is_ptr = 1, .df = (uint8_t)!!df};
            if (ioreq_access(x, &a) < 0)
                return -1;
        } else {
            xsim_set_error(x, "rep movs between two MMIO ranges is not simulated");
            return -1;
        }
        uint64_t step = (uint64_t)n * size;
        dst = df ? dst - step : dst + step;
        src = df ? src - step : src + step;
        count -= n;
    }
    return 0;
}

int guest_rep_stos(uint64_t gpa, unsigned size, uint64_t val, uint32_t count, int df)
{
    xsim *x = cur();
    while (count) {
        bool ro = false;
        uint8_t *p = ram_byte(x, gpa, &ro);
        uint32_t n;
        if (p) {
            if (!ro)
                memcpy(p, &val, size);
            n = 1;
        } else {
            /* Xen sends one request with count > 1 for the MMIO run; keep
             * each request inside one page like its emulator does. */
            n = chunk(gpa, size, count, df);
            struct xsim_access a = {.type = IOREQ_TYPE_COPY, .dir = IOREQ_WRITE, .size = size,
                                    .count = n, .addr = gpa, .data = val, .df = (uint8_t)!!df};
            if (ioreq_access(x, &a) < 0)
                return -1;
        }
        gpa = df ? gpa - (uint64_t)n * size : gpa + (uint64_t)n * size;
        count -= n;
    }
    return 0;
}

void guest_mem_read(uint64_t gpa, void *buf, size_t len)
{
    xsim *x = cur();
    uint8_t *out = buf;
    while (len) {
        size_t in_page = XSIM_PAGE_SIZE - (gpa & (XSIM_PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        uint8_t *p = ram_byte(x, gpa, NULL);
        if (p) {
            memcpy(out, p, n);
        } else {
            /* MMIO: naturally aligned accesses of up to 8 bytes */
            for (size_t done = 0; done < n;) {
                unsigned sz = 8;
                while (sz > 1 && (((gpa + done) & (sz - 1)) || done + sz > n))
                    sz /= 2;
                uint64_t v = guest_mmio_read(gpa + done, sz);
                memcpy(out + done, &v, sz);
                done += sz;
            }
        }
        gpa += n;
        out += n;
        len -= n;
    }
}

void guest_mem_write(uint64_t gpa, const void *buf, size_t len)
{
    xsim *x = cur();
    const uint8_t *in = buf;
    while (len) {
        size_t in_page = XSIM_PAGE_SIZE - (gpa & (XSIM_PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        bool ro = false;
        uint8_t *p = ram_byte(x, gpa, &ro);
        if (p) {
            if (!ro)
                memcpy(p, in, n);
        } else {
            for (size_t done = 0; done < n;) {
                unsigned sz = 8;
                while (sz > 1 && (((gpa + done) & (sz - 1)) || done + sz > n))
                    sz /= 2;
                uint64_t v = 0;
                memcpy(&v, in + done, sz);
                guest_mmio_write(gpa + done, sz, v);
                done += sz;
            }
        }
        gpa += n;
        in += n;
        len -= n;
    }
}

static void *ram_ptr(xsim *x, uint64_t gpa, size_t len)
{
    if (len == 0)
        len = 1;
    uint64_t first = gpa >> XSIM_PAGE_SHIFT, last = (gpa + len - 1) >> XSIM_PAGE_SHIFT;
    pthread_mutex_lock(&x->lock);
    int64_t f0 = mem_gfn_to_frame(x, first);
    bool ok = f0 >= 0;
    for (uint64_t g = first + 1; ok && g <= last; g++)
        ok = mem_gfn_to_frame(x, g) == f0 + (int64_t)(g - first);
    pthread_mutex_unlock(&x->lock);
    if (!ok)
        return NULL;
    return (uint8_t *)mem_frame_ptr(x, (uint64_t)f0) + (gpa & (XSIM_PAGE_SIZE - 1));
}

void *guest_ram_ptr(uint64_t gpa, size_t len)
{
    return ram_ptr(cur(), gpa, len);
}

void *xsim_vram_ptr(xsim *x, uint64_t bar_gpa, size_t len)
{
    return ram_ptr(x, bar_gpa, len);
}

/* ---- PCI configuration mechanism #1 ------------------------------------ */

uint32_t guest_pci_read(uint16_t bdf, unsigned reg, unsigned size)
{
    pthread_mutex_lock(&pci_lock);
    guest_outl(0xcf8, 0x80000000u | ((uint32_t)bdf << 8) | (reg & 0xfc));
    uint32_t v = guest_in_v(0, (uint16_t)(0xcfc + (reg & 3)), size);
    pthread_mutex_unlock(&pci_lock);
    return v;
}

void guest_pci_write(uint16_t bdf, unsigned reg, unsigned size, uint32_t val)
{
    pthread_mutex_lock(&pci_lock);
    guest_outl(0xcf8, 0x80000000u | ((uint32_t)bdf << 8) | (reg & 0xfc));
    guest_out_v(0, (uint16_t)(0xcfc + (reg & 3)), size, val);
    pthread_mutex_unlock(&pci_lock);
}

/* ---- interrupts ------------------------------------------------------------ */

int guest_irq_level(unsigned line) { return irq_level(&cur()->irq, line); }
int guest_wait_irq(unsigned line, int timeout_ms) { return irq_wait(&cur()->irq, line, timeout_ms); }
unsigned guest_irq_count(unsigned line) { return (unsigned)irq_count(&cur()->irq, line); }
int guest_wait_msi(uint64_t *addr, uint32_t *data, int timeout_ms)
{
    return irq_wait_msi(&cur()->irq, addr, data, timeout_ms);
}
