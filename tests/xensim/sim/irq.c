/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulated interrupt input lines, derived the way Xen derives them from the
 * device model's dm_ops (xen/arch/x86/hvm/irq.c):
 *  - ISA line n (0-15) is high while set_isa_irq_level(n) holds it high or
 *    any enabled PCI link routed to n is asserted;
 *  - PCI link l is asserted while any INTx pin with (dev + intx) & 3 == l is;
 *  - GSI 16 + g is high while any INTx pin with
 *    ((dev << 2) + (dev >> 3) + intx) & 31 == g is.
 * Every input change recomputes all 48 lines and counts each line's 0->1
 * edges, so a pulse (1 then 0) between two looks is still seen; waiters sleep
 * on one condition variable (CLOCK_MONOTONIC deadlines).  MSIs go into a
 * fixed queue; when it is full the message is dropped and counted.
 * The PIC/IOAPIC/LAPIC themselves are not modelled: a line is what the
 * interrupt controller's input pin would see.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "tests/xensim/sim/irq.h"

#define IRQ_NR_ISA   16
#define IRQ_GSI_BASE 16
#define IRQ_NR_DEVS  32
#define IRQ_NR_PINS  4
#define IRQ_NR_LINKS 4

_Static_assert(IRQ_GSI_BASE + 32 == IRQ_NR_LINES, "16 ISA lines + 32 PCI GSIs");

static unsigned irq_intx_gsi(unsigned dev, unsigned intx)
{
    return (((dev << 2) + (dev >> 3) + intx) & 31) + IRQ_GSI_BASE;
}

static unsigned irq_intx_link(unsigned dev, unsigned intx)
{
    return (dev + intx) & 3;
}

/* Recompute every line from the inputs; count rising edges and wake waiters
 * if anything changed.  Caller holds s->lock. */
static void irq_update(struct irq_state *s)
{
    uint8_t level[IRQ_NR_LINES] = {0};
    uint8_t link[IRQ_NR_LINKS] = {0};
    bool changed = false;
    unsigned dev, pin, l, i;

    for (dev = 0; dev < IRQ_NR_DEVS; dev++)
        for (pin = 0; pin < IRQ_NR_PINS; pin++)
            if (s->intx[dev][pin]) {
                link[irq_intx_link(dev, pin)] = 1;
                level[irq_intx_gsi(dev, pin)] = 1;
            }
    for (i = 0; i < IRQ_NR_ISA; i++)
        level[i] = s->isa_level[i] ? 1 : 0;
    for (l = 0; l < IRQ_NR_LINKS; l++)
        if (link[l] && s->link_route[l] != 0 && s->link_route[l] < IRQ_NR_ISA)
            level[s->link_route[l]] = 1;

    for (i = 0; i < IRQ_NR_LINES; i++) {
        if (level[i] == s->line_level[i])
            continue;
        if (level[i])
            s->line_count[i]++;
        s->line_level[i] = level[i];
        changed = true;
    }
    if (changed)
        pthread_cond_broadcast(&s->cond);
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
static struct timespec irq_deadline(int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Wait for a broadcast; false once the deadline passed.  timeout_ms < 0
 * waits without a deadline. */
static bool irq_sleep(struct irq_state *s, int timeout_ms, const struct timespec *deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(&s->cond, &s->lock);
        return true;
    }
    return pthread_cond_timedwait(&s->cond, &s->lock, deadline) != ETIMEDOUT;
}

void irq_init(struct irq_state *s)
{
    pthread_condattr_t ca;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
}

void irq_destroy(struct irq_state *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

int irq_set_isa(struct irq_state *s, unsigned irq, unsigned level)
{
    if (irq >= IRQ_NR_ISA || level > 1)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    s->isa_level[irq] = (uint8_t)level;
    irq_update(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int irq_set_intx(struct irq_state *s, unsigned dev, unsigned intx, unsigned level)
{
    if (dev >= IRQ_NR_DEVS || intx >= IRQ_NR_PINS || level > 1)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    s->intx[dev][intx] = (uint8_t)level;
    irq_update(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int irq_set_link_route(struct irq_state *s, unsigned link, unsigned isa_irq)
{
    if (link >= IRQ_NR_LINKS || isa_irq >= IRQ_NR_ISA)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    s->link_route[link] = (uint8_t)isa_irq;
    irq_update(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int irq_route(struct irq_state *s, unsigned link)
{
    int r;

    if (link >= IRQ_NR_LINKS)
        return -1;
    pthread_mutex_lock(&s->lock);
    r = s->link_route[link] ? s->link_route[link] : -1;
    pthread_mutex_unlock(&s->lock);
    return r;
}

int irq_inject_msi(struct irq_state *s, uint64_t addr, uint32_t data)
{
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    if (s->msi_tail - s->msi_head >= IRQ_MSI_QUEUE) {
        s->msi_dropped++;
        rc = -ENOSPC;
    } else {
        s->msi[s->msi_tail % IRQ_MSI_QUEUE].addr = addr;
        s->msi[s->msi_tail % IRQ_MSI_QUEUE].data = data;
        s->msi_tail++;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int irq_level(struct irq_state *s, unsigned line)
{
    int level;

    if (line >= IRQ_NR_LINES)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    level = s->line_level[line];
    pthread_mutex_unlock(&s->lock);
    return level;
}

uint64_t irq_count(struct irq_state *s, unsigned line)
{
    uint64_t n;

    if (line >= IRQ_NR_LINES)
        return 0;
    pthread_mutex_lock(&s->lock);
    n = s->line_count[line];
    pthread_mutex_unlock(&s->lock);
    return n;
}

int irq_wait(struct irq_state *s, unsigned line, int timeout_ms)
{
    struct timespec deadline = {0};
    bool timed_out = false;
    int ret = 0;

    if (line >= IRQ_NR_LINES)
        return -EINVAL;
    if (timeout_ms > 0)
        deadline = irq_deadline(timeout_ms);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        /* Checked once more after the timeout: a change that raced with it
         * still counts. */
        if (s->line_level[line] || s->line_count[line] > s->line_seen[line]) {
            s->line_seen[line] = s->line_count[line];
            ret = 1;
            break;
        }
        if (timed_out)
            break;
        timed_out = timeout_ms == 0 || !irq_sleep(s, timeout_ms, &deadline);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int irq_wait_msi(struct irq_state *s, uint64_t *addr, uint32_t *data, int timeout_ms)
{
    struct timespec deadline = {0};
    bool timed_out = false;
    int ret = 0;

    if (timeout_ms > 0)
        deadline = irq_deadline(timeout_ms);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->msi_tail != s->msi_head) {
            *addr = s->msi[s->msi_head % IRQ_MSI_QUEUE].addr;
            *data = s->msi[s->msi_head % IRQ_MSI_QUEUE].data;
            s->msi_head++;
            ret = 1;
            break;
        }
        if (timed_out)
            break;
        timed_out = timeout_ms == 0 || !irq_sleep(s, timeout_ms, &deadline);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}
