/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the simulated interrupt lines (tests/xensim/sim/irq.c):
 * ISA levels, PCI INTx to IOAPIC GSI (Xen's swizzle, checked against values
 * worked out by hand), PCI links routed to ISA IRQs and re-routed while
 * asserted, shared links, edge counting of pulses, irq_wait's timeout and
 * cross-thread wake-up, and the MSI queue's order and overflow.
 */
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "tests/xensim/sim/irq.h"

#define GSI(g) (16u + (g))

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only the lines listed (terminated by -1) are high. */
static void check_high(struct irq_state *s, const int *lines)
{
    uint8_t want[IRQ_NR_LINES] = {0};
    unsigned i;

    for (; *lines >= 0; lines++)
        want[*lines] = 1;
    for (i = 0; i < IRQ_NR_LINES; i++) {
        if (irq_level(s, i) != want[i])
            g_error("line %u is %d, expected %u", i, irq_level(s, i), want[i]);
    }
}

static void test_isa_level(void)
{
    struct irq_state s;

    irq_init(&s);
    check_high(&s, (const int[]){-1});
    g_assert_cmpint(irq_set_isa(&s, 4, 1), ==, 0);
    check_high(&s, (const int[]){4, -1});
    g_assert_cmpuint(irq_count(&s, 4), ==, 1);
    g_assert_cmpint(irq_set_isa(&s, 4, 1), ==, 0); /* already high: no edge */
    g_assert_cmpuint(irq_count(&s, 4), ==, 1);
    g_assert_cmpint(irq_set_isa(&s, 15, 1), ==, 0);
    check_high(&s, (const int[]){4, 15, -1});
    g_assert_cmpint(irq_set_isa(&s, 4, 0), ==, 0);
    check_high(&s, (const int[]){15, -1});
    g_assert_cmpint(irq_set_isa(&s, 4, 1), ==, 0);
    g_assert_cmpuint(irq_count(&s, 4), ==, 2);

    g_assert_cmpint(irq_set_isa(&s, 16, 1), ==, -EINVAL);
    g_assert_cmpint(irq_set_isa(&s, 3, 2), ==, -EINVAL);
    g_assert_cmpint(irq_level(&s, IRQ_NR_LINES), ==, -EINVAL);
    check_high(&s, (const int[]){4, 15, -1});
    irq_destroy(&s);
}

static void test_intx_gsi(void)
{
    /* GSI = (((dev << 2) + (dev >> 3) + intx) & 31) + 16, worked by hand. */
    static const struct {
        unsigned dev, intx, gsi;
    } cases[] = {
        {0, 0, 16},  {0, 3, 19}, {1, 0, 20},
        {2, 1, 25},  {3, 1, 29}, {7, 3, 47}, /* 28 + 0 + 3 = 31 */
        {8, 0, 17},                          /* 32 + 1 = 33 -> 1 */
        {9, 2, 23},                          /* 36 + 1 + 2 = 39 -> 7 */
        {15, 0, 45},                         /* 60 + 1 = 61 -> 29 */
        {16, 1, 19},                         /* 64 + 2 + 1 = 67 -> 3 */
        {31, 3, 18},                         /* 124 + 3 + 3 = 130 -> 2 */
    };
    struct irq_state s;
    unsigned i;

    irq_init(&s);
    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        int want[] = {(int)cases[i].gsi, -1};

        g_assert_cmpint(irq_set_intx(&s, cases[i].dev, cases[i].intx, 1), ==, 0);
        check_high(&s, want); /* links unrouted: no ISA line */
        g_assert_cmpuint(irq_count(&s, cases[i].gsi), >=, 1);
        g_assert_cmpint(irq_set_intx(&s, cases[i].dev, cases[i].intx, 0), ==, 0);
        check_high(&s, (const int[]){-1});
    }
    g_assert_cmpint(irq_set_intx(&s, 32, 0, 1), ==, -EINVAL);
    g_assert_cmpint(irq_set_intx(&s, 0, 4, 1), ==, -EINVAL);
    g_assert_cmpint(irq_set_intx(&s, 0, 0, 2), ==, -EINVAL);
    check_high(&s, (const int[]){-1});
    irq_destroy(&s);
}

static void test_link_routing(void)
{
    struct irq_state s;
    unsigned l;

    irq_init(&s);
    for (l = 0; l < 4; l++)
        g_assert_cmpint(irq_route(&s, l), ==, -1); /* disabled at reset */
    g_assert_cmpint(irq_set_link_route(&s, 0, 5), ==, 0);
    g_assert_cmpint(irq_set_link_route(&s, 1, 10), ==, 0);
    g_assert_cmpint(irq_set_link_route(&s, 2, 11), ==, 0);
    g_assert_cmpint(irq_route(&s, 0), ==, 5);
    g_assert_cmpint(irq_route(&s, 1), ==, 10);
    g_assert_cmpint(irq_route(&s, 2), ==, 11);
    g_assert_cmpint(irq_route(&s, 3), ==, -1);
    g_assert_cmpint(irq_route(&s, 4), ==, -1);
    g_assert_cmpint(irq_set_link_route(&s, 4, 5), ==, -EINVAL);
    g_assert_cmpint(irq_set_link_route(&s, 0, 16), ==, -EINVAL);
    g_assert_cmpint(irq_route(&s, 0), ==, 5);

    /* dev 0 INTA: link 0 -> ISA 5, GSI 16. */
    irq_set_intx(&s, 0, 0, 1);
    check_high(&s, (const int[]){5, GSI(0), -1});
    irq_set_intx(&s, 0, 0, 0);
    /* dev 3 INTB: link (3 + 1) & 3 = 0 -> ISA 5, GSI 16 + 13 = 29. */
    irq_set_intx(&s, 3, 1, 1);
    check_high(&s, (const int[]){5, GSI(13), -1});
    irq_set_intx(&s, 3, 1, 0);
    /* dev 9 INTA: link 1 -> ISA 10, GSI 16 + ((36 + 1) & 31) = 21. */
    irq_set_intx(&s, 9, 0, 1);
    check_high(&s, (const int[]){10, GSI(5), -1});
    irq_set_intx(&s, 9, 0, 0);
    /* dev 1 INTC: link 3, unrouted: only the GSI ((4 + 2) = 6). */
    irq_set_intx(&s, 1, 2, 1);
    check_high(&s, (const int[]){GSI(6), -1});
    irq_set_intx(&s, 1, 2, 0);
    check_high(&s, (const int[]){-1});
    g_assert_cmpuint(irq_count(&s, 5), ==, 2);
    g_assert_cmpuint(irq_count(&s, 10), ==, 1);
    irq_destroy(&s);
}

static void test_route_change_moves_level(void)
{
    struct irq_state s;

    irq_init(&s);
    irq_set_link_route(&s, 2, 11);
    irq_set_intx(&s, 2, 0, 1); /* link 2, GSI 24 */
    check_high(&s, (const int[]){11, GSI(8), -1});

    g_assert_cmpint(irq_set_link_route(&s, 2, 9), ==, 0);
    check_high(&s, (const int[]){9, GSI(8), -1});
    g_assert_cmpuint(irq_count(&s, 9), ==, 1);
    g_assert_cmpuint(irq_count(&s, 11), ==, 1);

    g_assert_cmpint(irq_set_link_route(&s, 2, 0), ==, 0); /* disable */
    g_assert_cmpint(irq_route(&s, 2), ==, -1);
    check_high(&s, (const int[]){GSI(8), -1});

    g_assert_cmpint(irq_set_link_route(&s, 2, 11), ==, 0); /* back */
    check_high(&s, (const int[]){11, GSI(8), -1});
    g_assert_cmpuint(irq_count(&s, 11), ==, 2);
    g_assert_cmpuint(irq_count(&s, GSI(8)), ==, 1); /* the GSI never dropped */
    irq_destroy(&s);
}

static void test_shared_link(void)
{
    struct irq_state s;

    irq_init(&s);
    irq_set_link_route(&s, 1, 10);
    /* dev 0 INTB and dev 1 INTA both feed link 1 (GSIs 17 and 20). */
    irq_set_intx(&s, 0, 1, 1);
    irq_set_intx(&s, 1, 0, 1);
    check_high(&s, (const int[]){10, GSI(1), GSI(4), -1});
    irq_set_intx(&s, 0, 1, 0);
    check_high(&s, (const int[]){10, GSI(4), -1});
    irq_set_intx(&s, 1, 0, 0);
    check_high(&s, (const int[]){-1});
    g_assert_cmpuint(irq_count(&s, 10), ==, 1);

    /* An ISA device on the same IRQ: the line is the OR of both. */
    irq_set_isa(&s, 10, 1);
    irq_set_intx(&s, 1, 0, 1);
    irq_set_isa(&s, 10, 0);
    g_assert_cmpint(irq_level(&s, 10), ==, 1);
    irq_set_intx(&s, 1, 0, 0);
    g_assert_cmpint(irq_level(&s, 10), ==, 0);
    g_assert_cmpuint(irq_count(&s, 10), ==, 2);
    irq_destroy(&s);
}

static void test_pulse_counted(void)
{
    struct irq_state s;

    irq_init(&s);
    irq_set_isa(&s, 1, 1);
    irq_set_isa(&s, 1, 0);
    g_assert_cmpint(irq_level(&s, 1), ==, 0);
    g_assert_cmpuint(irq_count(&s, 1), ==, 1);
    g_assert_cmpint(irq_wait(&s, 1, 0), ==, 1); /* the pulse, consumed */
    g_assert_cmpint(irq_wait(&s, 1, 0), ==, 0);

    irq_set_isa(&s, 1, 1);
    irq_set_isa(&s, 1, 0);
    irq_set_isa(&s, 1, 1);
    irq_set_isa(&s, 1, 0);
    g_assert_cmpuint(irq_count(&s, 1), ==, 3);
    g_assert_cmpint(irq_wait(&s, 1, 0), ==, 1); /* two pulses, one wake */
    g_assert_cmpint(irq_wait(&s, 1, 0), ==, 0);

    /* A line held high satisfies every wait. */
    irq_set_isa(&s, 12, 1);
    g_assert_cmpint(irq_wait(&s, 12, 0), ==, 1);
    g_assert_cmpint(irq_wait(&s, 12, 0), ==, 1);
    g_assert_cmpint(irq_wait(&s, IRQ_NR_LINES, 0), ==, -EINVAL);
    irq_destroy(&s);
}

static void test_wait_timeout(void)
{
    struct irq_state s;
    int64_t t0, dt;

    irq_init(&s);
    t0 = now_ms();
    g_assert_cmpint(irq_wait(&s, GSI(3), 200), ==, 0);
    dt = now_ms() - t0;
    g_assert_cmpint(dt, >=, 195);
    g_assert_cmpint(dt, <, 5000);
    irq_destroy(&s);
}

struct waker {
    struct irq_state *s;
    int64_t delay_ms;
};

static void *waker_pulse(void *opaque)
{
    struct waker *w = opaque;

    /* Not synchronisation: the wait is correct whether the pulse comes
     * before or after it starts; the delay only makes "after" likely, so
     * the condition-variable path is exercised. */
    g_usleep((gulong)w->delay_ms * 1000);
    irq_set_intx(w->s, 4, 0, 1); /* GSI (16 + 0) & 31 = 16 -> line 32 */
    irq_set_intx(w->s, 4, 0, 0);
    return NULL;
}

static void *waker_msi(void *opaque)
{
    struct waker *w = opaque;

    g_usleep((gulong)w->delay_ms * 1000);
    irq_inject_msi(w->s, 0xfee00000, 0x4031);
    return NULL;
}

static void test_wait_wakes_from_thread(void)
{
    struct irq_state s;
    struct waker w = {&s, 50};
    pthread_t th;
    uint64_t addr = 0;
    uint32_t data = 0;
    int64_t t0, dt;

    irq_init(&s);
    t0 = now_ms();
    g_assert_cmpint(pthread_create(&th, NULL, waker_pulse, &w), ==, 0);
    g_assert_cmpint(irq_wait(&s, GSI(16), 10000), ==, 1);
    dt = now_ms() - t0;
    pthread_join(th, NULL);
    g_assert_cmpint(dt, <, 9000); /* woken, not timed out */
    g_assert_cmpint(irq_level(&s, GSI(16)), ==, 0);
    g_assert_cmpuint(irq_count(&s, GSI(16)), ==, 1);
    g_assert_cmpint(irq_wait(&s, GSI(16), 0), ==, 0); /* consumed */

    t0 = now_ms();
    g_assert_cmpint(pthread_create(&th, NULL, waker_msi, &w), ==, 0);
    g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 10000), ==, 1);
    dt = now_ms() - t0;
    pthread_join(th, NULL);
    g_assert_cmpint(dt, <, 9000);
    g_assert_cmphex(addr, ==, 0xfee00000);
    g_assert_cmphex(data, ==, 0x4031);
    irq_destroy(&s);
}

static void test_msi_queue(void)
{
    struct irq_state s;
    uint64_t addr;
    uint32_t data;
    int64_t t0;
    unsigned i;

    irq_init(&s);
    g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 0), ==, 0);
    t0 = now_ms();
    g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 100), ==, 0);
    g_assert_cmpint(now_ms() - t0, >=, 95);

    /* Order, across several wraps of the queue. */
    for (i = 0; i < 3 * IRQ_MSI_QUEUE + 17; i++) {
        g_assert_cmpint(irq_inject_msi(&s, 0xfee00000 | (i << 12), 0x4000 + i), ==, 0);
        if (i % 3 == 2) {
            unsigned j;

            for (j = i - 2; j <= i; j++) {
                g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 0), ==, 1);
                g_assert_cmphex(addr, ==, 0xfee00000 | (j << 12));
                g_assert_cmphex(data, ==, 0x4000 + j);
            }
        }
    }
    while (irq_wait_msi(&s, &addr, &data, 0) == 1)
        ;

    /* Overflow: the queue holds IRQ_MSI_QUEUE, the rest are dropped. */
    for (i = 0; i < IRQ_MSI_QUEUE; i++)
        g_assert_cmpint(irq_inject_msi(&s, 0xfee00000, i), ==, 0);
    g_assert_cmpint(irq_inject_msi(&s, 0xfee00000, 0xdead), ==, -ENOSPC);
    g_assert_cmpint(irq_inject_msi(&s, 0xfee00000, 0xbeef), ==, -ENOSPC);
    g_assert_cmpuint(s.msi_dropped, ==, 2);
    for (i = 0; i < IRQ_MSI_QUEUE; i++) {
        g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 0), ==, 1);
        g_assert_cmphex(data, ==, i);
    }
    g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 0), ==, 0);
    g_assert_cmpint(irq_inject_msi(&s, 0xfee01000, 0x55), ==, 0); /* room again */
    g_assert_cmpint(irq_wait_msi(&s, &addr, &data, 0), ==, 1);
    g_assert_cmphex(addr, ==, 0xfee01000);
    g_assert_cmphex(data, ==, 0x55);
    irq_destroy(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/irq/isa-level", test_isa_level);
    g_test_add_func("/irq/intx-gsi", test_intx_gsi);
    g_test_add_func("/irq/link-routing", test_link_routing);
    g_test_add_func("/irq/route-change-moves-level", test_route_change_moves_level);
    g_test_add_func("/irq/shared-link", test_shared_link);
    g_test_add_func("/irq/pulse-counted", test_pulse_counted);
    g_test_add_func("/irq/wait-timeout", test_wait_timeout);
    g_test_add_func("/irq/wait-wakes-from-thread", test_wait_wakes_from_thread);
    g_test_add_func("/irq/msi-queue", test_msi_queue);
    return g_test_run();
}
