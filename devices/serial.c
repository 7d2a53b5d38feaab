/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 16550A UART, "isa-serial": one per -serial, created by the machine.
 *
 * Options: index=0..3 (COM1 0x3f8 IRQ 4, COM2 0x2f8 IRQ 3, COM3 0x3e8 IRQ 4,
 * COM4 0x2e8 IRQ 3; default 0), iobase= and irq= to override, chardev=LABEL
 * (a chardev opened with chardev_open(); without one, output is discarded
 * and nothing is ever received) -- the properties of QEMU's isa-serial.
 *
 * Registers (offset from iobase; DLAB = LCR bit 7):
 *   0 R  RBR receive buffer / DLL divisor low (DLAB)
 *   0 W  THR transmit holding / DLL
 *   1 RW IER (RDA 0x01, THRE 0x02, RLS 0x04, MSI 0x08) / DLM (DLAB)
 *   2 R  IIR: 0x06 line status > 0x0c character timeout > 0x04 data
 *        available > 0x02 THR empty > 0x00 modem status; 0x01 none; 0xc0
 *        with FIFOs on.  Reading it while it says THRE clears that.
 *   2 W  FCR: 0x01 FIFOs on, 0x02/0x04 clear RX/TX, 0xc0 RX trigger 1/4/8/14
 *   3 RW LCR   4 RW MCR (0x10 loopback)   5 R LSR   6 R MSR   7 RW SCR
 * Reset values: IER 0, IIR 0x01, LCR 0, MCR 0x08 (OUT2), LSR 0x60,
 * MSR 0xb0 (DCD, DSR, CTS asserted), divisor 12 (9600 baud), as QEMU's.
 *
 * Transmission is immediate: the byte goes to the chardev, which never
 * blocks (it queues up to a cap, then drops and counts; see chardev.h), and
 * THR is empty again before the guest's write completes -- QEMU behaves
 * the same when its backend accepts the byte.  In loopback mode the byte
 * is received instead, MSR follows MCR (DTR->DSR, RTS->CTS, OUT1->RI,
 * OUT2->DCD, with delta bits), and nothing is read from the backend.
 * Received bytes fill a 16-byte FIFO (1 byte with FIFOs off); the backend
 * is not read while it is full, so no input is lost to overruns except in
 * loopback.  The character timeout fires 4 character times (from the
 * divisor and LCR) after the last byte arrived or was read.
 *
 * Left out: modem-status inputs from a real tty (they read as asserted),
 * break and parity/framing errors, the LCR break bit, pacing output at the
 * programmed baud rate (as QEMU, bytes leave at once), DMA mode.
 */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "src/chardev.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/log.h"

#define SERIAL_NPORTS   4
#define SERIAL_REGS     8
#define SERIAL_FIFO_LEN 16
/* Baud rate at divisor 1: the 1.8432 MHz crystal of the PC's UART / 16. */
#define SERIAL_BASE_BAUD 115200
/* Character timeout: 4 character times (16550A data sheet). */
#define SERIAL_TIMEOUT_CHARS 4

static const struct {
    uint16_t base;
    uint8_t irq;
} serial_ports[SERIAL_NPORTS] = {{0x3f8, 4}, {0x2f8, 3}, {0x3e8, 4}, {0x2e8, 3}};

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08

#define IIR_NONE 0x01
#define IIR_MSI  0x00
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_RLSI 0x06
#define IIR_CTI  0x0c
#define IIR_FIFO 0xc0

#define FCR_FE   0x01
#define FCR_RFR  0x02
#define FCR_XFR  0x04
#define FCR_KEEP 0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_BI      0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LSR_INT_ANY 0x1e

#define MSR_DELTAS 0x0f
#define MSR_TERI   0x04
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80
#define MSR_IDLE   (MSR_DCD | MSR_DSR | MSR_CTS)

struct serial {
    struct io_region io;
    struct chardev *cd;
    unsigned irq;
    uint16_t divisor;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint8_t rbr; /* last byte read, returned again from an empty FIFO */
    uint8_t rx[SERIAL_FIFO_LEN];
    unsigned rx_rd, rx_n, itl;
    bool thr_ipending, timeout_ipending;
    guint timeout_src;
    int irq_level;
    uint64_t rx_overruns;
};

static unsigned rx_capacity(const struct serial *s)
{
    return (s->fcr & FCR_FE) ? SERIAL_FIFO_LEN : 1;
}

static uint8_t serial_iir(const struct serial *s)
{
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
        return IIR_RLSI;
    if ((s->ier & IER_RDI) && s->timeout_ipending)
        return IIR_CTI;
    if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) && (!(s->fcr & FCR_FE) || s->rx_n >= s->itl))
        return IIR_RDI;
    if ((s->ier & IER_THRI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NONE;
}

static void serial_update_irq(struct serial *s)
{
    int level = serial_iir(s) != IIR_NONE;
    if (level != s->irq_level) {
        s->irq_level = level;
        hv_set_isa_irq(s->irq, level);
    }
}

static void timeout_cancel(struct serial *s)
{
    if (s->timeout_src) {
        g_source_remove(s->timeout_src);
        s->timeout_src = 0;
    }
}

static gboolean timeout_fire(gpointer opaque)
{
    struct serial *s = opaque;
    s->timeout_src = 0;
    if (s->rx_n) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
    return G_SOURCE_REMOVE;
}

/* 4 character times at the programmed rate and frame, in ms (at least 1). */
static unsigned timeout_ms(const struct serial *s)
{
    unsigned bits = 1 + 5 + (s->lcr & 3) + ((s->lcr & 0x08) ? 1 : 0) + ((s->lcr & 0x04) ? 2 : 1);
    uint64_t div = s->divisor ? s->divisor : 1;
    uint64_t us = (uint64_t)SERIAL_TIMEOUT_CHARS * bits * 1000000 * div / SERIAL_BASE_BAUD;
    return (unsigned)(us / 1000 + 1);
}

static void timeout_arm(struct serial *s)
{
    timeout_cancel(s);
    if (s->fcr & FCR_FE)
        s->timeout_src = g_timeout_add(timeout_ms(s), timeout_fire, s);
}

static void rx_byte(struct serial *s, uint8_t b)
{
    if (s->rx_n >= rx_capacity(s)) {
        s->lsr |= LSR_OE;
        s->rx_overruns++;
        if (s->fcr & FCR_FE)
            return;  /* a full FIFO keeps its contents */
        s->rx_n = 0; /* the holding register is overwritten */
    }
    s->rx[(s->rx_rd + s->rx_n) % SERIAL_FIFO_LEN] = b;
    s->rx_n++;
    s->lsr |= LSR_DR;
}

static void rx_flush(struct serial *s)
{
    s->rx_rd = s->rx_n = 0;
    s->lsr &= (uint8_t) ~(LSR_DR | LSR_BI);
    s->timeout_ipending = false;
    timeout_cancel(s);
}

static void accept_input(struct serial *s)
{
    if (s->cd && !(s->mcr & MCR_LOOP) && s->rx_n < rx_capacity(s))
        chardev_resume_input(s->cd);
}

/* Chardev receiver: how much can we take now. */
static size_t serial_can_receive(void *opaque)
{
    struct serial *s = opaque;
    if (s->mcr & MCR_LOOP)
        return 0;
    return rx_capacity(s) - s->rx_n;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct serial *s = opaque;
    if (s->mcr & MCR_LOOP)
        return;
    for (size_t i = 0; i < len; i++)
        rx_byte(s, buf[i]);
    if (len)
        timeout_arm(s);
    serial_update_irq(s);
}

static void serial_transmit(struct serial *s, uint8_t b)
{
    s->thr_ipending = false;
    s->lsr &= (uint8_t) ~(LSR_THRE | LSR_TEMT);
    serial_update_irq(s);
    if (s->mcr & MCR_LOOP) {
        rx_byte(s, b);
        timeout_arm(s);
    } else if (s->cd) {
        chardev_write(s->cd, &b, 1); /* never blocks; the chardev counts drops */
    }
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->thr_ipending = true;
    serial_update_irq(s);
}

/* MSR inputs: asserted lines, or in loopback the MCR outputs. */
static void msr_update(struct serial *s)
{
    uint8_t in = MSR_IDLE;
    if (s->mcr & MCR_LOOP)
        in = (uint8_t)(((s->mcr & MCR_DTR) ? MSR_DSR : 0) | ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
                       ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
    uint8_t changed = (uint8_t)((s->msr ^ in) & 0xf0);
    uint8_t delta = (uint8_t)(changed >> 4);
    /* RI reports its trailing edge only */
    if ((changed & MSR_RI) && (in & MSR_RI))
        delta &= (uint8_t)~MSR_TERI;
    s->msr = (uint8_t)(in | (s->msr & MSR_DELTAS) | delta);
}

static uint8_t serial_reg_read(struct serial *s, unsigned reg)
{
    uint8_t v;
    switch (reg) {
    case 0:
        if (s->lcr & LCR_DLAB)
            return (uint8_t)s->divisor;
        if (s->rx_n) {
            s->rbr = s->rx[s->rx_rd];
            s->rx_rd = (s->rx_rd + 1) % SERIAL_FIFO_LEN;
            s->rx_n--;
        }
        v = s->rbr;
        s->timeout_ipending = false;
        if (!s->rx_n) {
            s->lsr &= (uint8_t) ~(LSR_DR | LSR_BI);
            timeout_cancel(s);
        } else {
            timeout_arm(s);
        }
        serial_update_irq(s);
        accept_input(s);
        return v;
    case 1:
        return (s->lcr & LCR_DLAB) ? (uint8_t)(s->divisor >> 8) : s->ier;
    case 2:
        v = serial_iir(s);
        if (v == IIR_THRI) {
            s->thr_ipending = false;
            serial_update_irq(s);
        }
        return (uint8_t)(v | ((s->fcr & FCR_FE) ? IIR_FIFO : 0));
    case 3:
        return s->lcr;
    case 4:
        return s->mcr;
    case 5:
        v = s->lsr;
        if (s->lsr & (LSR_BI | LSR_OE)) {
            s->lsr &= (uint8_t) ~(LSR_BI | LSR_OE);
            serial_update_irq(s);
        }
        return v;
    case 6:
        v = s->msr;
        if (s->msr & MSR_DELTAS) {
            s->msr &= 0xf0;
            serial_update_irq(s);
        }
        return v;
    default:
        return s->scr;
    }
}

static void serial_reg_write(struct serial *s, unsigned reg, uint8_t v)
{
    switch (reg) {
    case 0:
        if (s->lcr & LCR_DLAB)
            s->divisor = (uint16_t)((s->divisor & 0xff00) | v);
        else
            serial_transmit(s, v);
        break;
    case 1:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (uint16_t)((s->divisor & 0x00ff) | (v << 8));
        } else {
            uint8_t changed = (uint8_t)((s->ier ^ v) & 0x0f);
            s->ier = v & 0x0f;
            /* Enabling THRI while THR is empty interrupts again, even if it
             * was acknowledged before (Windows relies on it; QEMU does it). */
            if (changed & IER_THRI)
                s->thr_ipending = (s->ier & IER_THRI) && (s->lsr & LSR_THRE);
            serial_update_irq(s);
        }
        break;
    case 2:
        if ((v ^ s->fcr) & FCR_FE)
            v |= FCR_RFR | FCR_XFR; /* switching FIFOs on or off clears them */
        if (v & FCR_RFR)
            rx_flush(s);
        if (v & FCR_XFR) {
            s->lsr |= LSR_THRE | LSR_TEMT;
            s->thr_ipending = true;
        }
        s->fcr = v & FCR_KEEP;
        if (s->fcr & FCR_FE) {
            static const uint8_t itl[4] = {1, 4, 8, 14};
            s->itl = itl[s->fcr >> 6];
        } else {
            s->itl = 1;
        }
        serial_update_irq(s);
        accept_input(s);
        break;
    case 3:
        s->lcr = v;
        break;
    case 4:
        s->mcr = v & 0x1f;
        msr_update(s);
        serial_update_irq(s);
        accept_input(s);
        break;
    case 7:
        s->scr = v;
        break;
    default: /* LSR and MSR: factory test writes, ignored as by QEMU */
        LOG_GUEST("serial", "write 0x%02x to read-only register %u ignored", v, reg);
        break;
    }
}

static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
    if (offset >= SERIAL_REGS || size != 1) {
        LOG_GUEST("serial", "read of %u bytes at +%llu ignored", size, (unsigned long long)offset);
        return size >= 8 || !size ? ~0ULL : (1ULL << (8 * size)) - 1;
    }
    return serial_reg_read(opaque, (unsigned)offset);
}

static void serial_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset >= SERIAL_REGS || size != 1) {
        LOG_GUEST("serial", "write of %u bytes at +%llu dropped", size, (unsigned long long)offset);
        return;
    }
    serial_reg_write(opaque, (unsigned)offset, (uint8_t)value);
}

static const struct io_ops serial_ops = {.name = "serial",
                                         .read = serial_io_read,
                                         .write = serial_io_write,
                                         .min_size = 1,
                                         .max_size = 1};

static void serial_reset(struct device *dev)
{
    struct serial *s = DEVICE_PRIV(dev, struct serial);

    timeout_cancel(s);
    s->divisor = 0x0c;
    s->ier = 0;
    s->lcr = 0;
    s->mcr = MCR_OUT2;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_IDLE;
    s->scr = 0;
    s->fcr = 0;
    s->itl = 1;
    s->rbr = 0;
    s->rx_rd = s->rx_n = 0;
    s->thr_ipending = s->timeout_ipending = false;
    s->irq_level = 0;
    hv_set_isa_irq(s->irq, 0);
    accept_input(s);
}

static void serial_destroy(struct device *dev)
{
    struct serial *s = DEVICE_PRIV(dev, struct serial);
    timeout_cancel(s);
    if (s->cd) {
        chardev_set_receiver(s->cd, NULL, NULL, NULL);
        s->cd = NULL;
    }
    /* the region is removed by device_destroy() */
}

static int serial_create(struct device *dev, const struct opts *copts)
{
    struct serial *s = DEVICE_PRIV(dev, struct serial);
    /* lookups mark keys as used; the option set is ours for this call */
    struct opts *opts = (struct opts *)copts;
    const char *opt = opts && opts->option ? opts->option : "-device isa-serial";
    uint64_t index = 0, iobase, irq;
    const char *label = NULL;
    int rc;

    if (opts) {
        if (opts_get_u64(opts, "index", 0, SERIAL_NPORTS - 1, &index) < 0)
            return -EINVAL;
    }
    iobase = serial_ports[index].base;
    irq = serial_ports[index].irq;
    if (opts) {
        if (opts_get_u64(opts, "iobase", iobase, 0xffff - SERIAL_REGS + 1, &iobase) < 0 ||
            opts_get_u64(opts, "irq", irq, 15, &irq) < 0)
            return -EINVAL;
        label = opts_get(opts, "chardev");
        /* device_create() refuses any other key by name */
    }
    if (irq == 0 || irq == 2) {
        log_msg("serial", "%s: irq=%llu cannot be used by an ISA device", opt,
                (unsigned long long)irq);
        return -EINVAL;
    }
    if (label) {
        s->cd = chardev_find(label);
        if (!s->cd) {
            log_msg("serial", "%s: chardev '%s' not found", opt, label);
            return -ENOENT;
        }
    }
    s->irq = (unsigned)irq;
    s->io = (struct io_region){
        .space = IO_PIO, .base = iobase, .size = SERIAL_REGS, .ops = &serial_ops, .opaque = s};
    rc = io_region_add(&s->io);
    if (rc < 0) {
        log_msg("serial", "%s: ports 0x%llx-0x%llx: %s", opt, (unsigned long long)iobase,
                (unsigned long long)iobase + SERIAL_REGS - 1,
                rc == -EEXIST ? "already in use" : "cannot claim");
        s->cd = NULL;
        return rc;
    }
    if (s->cd)
        chardev_set_receiver(s->cd, serial_can_receive, serial_receive, s);
    serial_reset(dev);
    return 0;
}

static struct device_desc serial_desc = {
    .name = "isa-serial",
    .desc = "16550A UART (index=0..3 -> COM1..COM4, chardev=LABEL)",
    .priv_size = sizeof(struct serial),
    .create = serial_create,
    .reset = serial_reset,
    .destroy = serial_destroy,
};
DEVICE_REGISTER(serial_desc)
