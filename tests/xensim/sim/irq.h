/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulated interrupt lines as Xen derives them from the dm_ops
 * (xen/arch/x86/hvm/irq.c):
 *  - set_isa_irq_level(irq, level): ISA line irq (0-15);
 *  - set_pci_intx_level(dev, intx, level): drives PCI link (dev + intx) & 3
 *    and IOAPIC GSI (((dev << 2) + (dev >> 3) + intx) & 31) + 16; a link is
 *    asserted while any INTx feeding it is; an asserted link routed to ISA
 *    irq n asserts ISA line n;
 *  - set_pci_link_route(link, irq): irq 0 disables the link (Xen treats
 *    route 0 as "none"); a route change moves an asserted link's level;
 *  - inject_msi(addr, data): queued.
 * Line numbering follows xensim.h: 0-15 ISA, 16-47 GSI.  Each line counts
 * its 0->1 transitions, so pulses (1 then 0) are visible to waiters.
 * Thread-safe: its own mutex and condition variable.
 */
#ifndef XSIM_IRQ_H
#define XSIM_IRQ_H
#include <pthread.h>
#include <stdint.h>

#define IRQ_NR_LINES 48
#define IRQ_MSI_QUEUE 256

struct irq_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t isa_level[16];     /* from set_isa_irq_level */
    uint8_t intx[32][4];       /* from set_pci_intx_level */
    uint8_t link_route[4];     /* 0 = disabled */
    uint8_t line_level[IRQ_NR_LINES];
    uint64_t line_count[IRQ_NR_LINES];  /* 0->1 edges */
    uint64_t line_seen[IRQ_NR_LINES];   /* count consumed by irq_wait */
    struct { uint64_t addr; uint32_t data; } msi[IRQ_MSI_QUEUE];
    unsigned msi_head, msi_tail;
    uint64_t msi_dropped;
};

void irq_init(struct irq_state *s);
void irq_destroy(struct irq_state *s);
int irq_set_isa(struct irq_state *s, unsigned irq, unsigned level);             /* 0, -EINVAL */
int irq_set_intx(struct irq_state *s, unsigned dev, unsigned intx, unsigned level); /* 0, -EINVAL */
int irq_set_link_route(struct irq_state *s, unsigned link, unsigned isa_irq);   /* 0, -EINVAL (link>3, irq>15) */
int irq_route(struct irq_state *s, unsigned link);                              /* isa irq or -1 */
int irq_inject_msi(struct irq_state *s, uint64_t addr, uint32_t data);          /* 0, -ENOSPC */
int irq_level(struct irq_state *s, unsigned line);
uint64_t irq_count(struct irq_state *s, unsigned line);
/* 1 if line is asserted or had an edge not yet consumed (consumes it), 0 on timeout */
int irq_wait(struct irq_state *s, unsigned line, int timeout_ms);
int irq_wait_msi(struct irq_state *s, uint64_t *addr, uint32_t *data, int timeout_ms); /* 1 or 0 */
#endif
