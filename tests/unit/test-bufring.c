/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the buffered ioreq ring (tests/xensim/sim/bufring.c): the
 * slot encoding of buffered_iopage_t, the full/-ENOSPC rules (511 slots, an
 * 8-byte request needs two), an 8-byte request split across the wrap point,
 * pointer canonicalisation over many thousand requests, the -EPROTO check
 * for a half-written pair, and a two-thread producer/consumer run.
 */
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/xensim/sim/bufring.h"

#define SLOTS          IOREQ_BUFFER_SLOT_NUM
#define STRESS_ITEMS   2000000u
#define STRESS_LIMIT_S 120 /* generous: ~1 s on an idle 2-CPU machine */

static buffered_iopage_t *page_new(void)
{
    void *p = NULL;

    g_assert_cmpint(posix_memalign(&p, 4096, sizeof(buffered_iopage_t)), ==, 0);
    memset(p, 0, sizeof(buffered_iopage_t));
    return p;
}

static struct bufreq req_make(uint8_t size, uint32_t addr, uint64_t data)
{
    struct bufreq r = {
        .type = IOREQ_TYPE_COPY, .dir = IOREQ_WRITE, .size = size, .addr = addr, .data = data};
    return r;
}

static void push_ok(buffered_iopage_t *pg, uint8_t size, uint32_t addr, uint64_t data)
{
    struct bufreq r = req_make(size, addr, data);

    g_assert_cmpint(bufring_push(pg, &r), ==, 0);
}

static void pop_expect(buffered_iopage_t *pg, uint8_t size, uint32_t addr, uint64_t data)
{
    struct bufreq r;

    memset(&r, 0xa5, sizeof(r));
    g_assert_cmpint(bufring_pop(pg, &r), ==, 1);
    g_assert_cmpuint(r.type, ==, IOREQ_TYPE_COPY);
    g_assert_cmpuint(r.dir, ==, IOREQ_WRITE);
    g_assert_cmpuint(r.size, ==, size);
    g_assert_cmphex(r.addr, ==, addr);
    g_assert_cmphex(r.data, ==, data);
}

static void pop_empty(buffered_iopage_t *pg)
{
    struct bufreq r;

    g_assert_cmpint(bufring_pop(pg, &r), ==, 0);
}

static void test_encoding(void)
{
    buffered_iopage_t *pg = page_new();
    struct bufreq r = {.type = IOREQ_TYPE_TIMEOFFSET,
                       .dir = IOREQ_READ,
                       .size = 4,
                       .addr = 0xfffff,
                       .data = 0xdeadbeef};

    g_assert_cmpint(bufring_push(pg, &r), ==, 0);
    push_ok(pg, 1, 0xa0000, 0x5a);
    push_ok(pg, 2, 0xa0002, 0xbeef);
    push_ok(pg, 8, 0xb8000, 0x1122334455667788ull);
    g_assert_cmpuint(pg->write_pointer, ==, 5);
    g_assert_cmpuint(pg->read_pointer, ==, 0);
    g_assert_cmpuint(bufring_used(pg), ==, 5);

    /* The raw slots as a DM reading the page sees them. */
    g_assert_cmpuint(pg->buf_ioreq[0].type, ==, IOREQ_TYPE_TIMEOFFSET);
    g_assert_cmpuint(pg->buf_ioreq[0].dir, ==, IOREQ_READ);
    g_assert_cmpuint(pg->buf_ioreq[0].size, ==, 2);
    g_assert_cmphex(pg->buf_ioreq[0].addr, ==, 0xfffff);
    g_assert_cmphex(pg->buf_ioreq[0].data, ==, 0xdeadbeef);
    g_assert_cmpuint(pg->buf_ioreq[1].size, ==, 0);
    g_assert_cmpuint(pg->buf_ioreq[2].size, ==, 1);
    g_assert_cmpuint(pg->buf_ioreq[3].size, ==, 3);
    g_assert_cmphex(pg->buf_ioreq[3].addr, ==, 0xb8000);
    g_assert_cmphex(pg->buf_ioreq[3].data, ==, 0x55667788);
    /* Second half: same fields, high data bits. */
    g_assert_cmpuint(pg->buf_ioreq[4].type, ==, IOREQ_TYPE_COPY);
    g_assert_cmpuint(pg->buf_ioreq[4].size, ==, 3);
    g_assert_cmphex(pg->buf_ioreq[4].addr, ==, 0xb8000);
    g_assert_cmphex(pg->buf_ioreq[4].data, ==, 0x11223344);

    memset(&r, 0, sizeof(r));
    g_assert_cmpint(bufring_pop(pg, &r), ==, 1);
    g_assert_cmpuint(r.type, ==, IOREQ_TYPE_TIMEOFFSET);
    g_assert_cmpuint(r.dir, ==, IOREQ_READ);
    g_assert_cmpuint(r.size, ==, 4);
    g_assert_cmphex(r.addr, ==, 0xfffff);
    g_assert_cmphex(r.data, ==, 0xdeadbeef);
    pop_expect(pg, 1, 0xa0000, 0x5a);
    pop_expect(pg, 2, 0xa0002, 0xbeef);
    pop_expect(pg, 8, 0xb8000, 0x1122334455667788ull);
    pop_empty(pg);
    g_assert_cmpuint(pg->read_pointer, ==, 5);
    g_assert_cmpuint(bufring_used(pg), ==, 0);
    free(pg);
}

static void test_einval(void)
{
    buffered_iopage_t *pg = page_new();
    static const uint8_t bad_sizes[] = {0, 3, 5, 6, 7, 9, 16};
    struct bufreq r;
    unsigned i;

    r = req_make(4, 0x100000, 1); /* 1 MiB: does not fit 20 bits */
    g_assert_cmpint(bufring_push(pg, &r), ==, -EINVAL);
    r = req_make(4, 0xffffffff, 1);
    g_assert_cmpint(bufring_push(pg, &r), ==, -EINVAL);
    for (i = 0; i < G_N_ELEMENTS(bad_sizes); i++) {
        r = req_make(bad_sizes[i], 0xa0000, 1);
        g_assert_cmpint(bufring_push(pg, &r), ==, -EINVAL);
    }
    g_assert_cmpuint(bufring_used(pg), ==, 0);
    g_assert_cmpuint(pg->write_pointer, ==, 0);
    pop_empty(pg);
    free(pg);
}

static void test_full_then_pop(void)
{
    buffered_iopage_t *pg = page_new();
    struct bufreq r = req_make(4, 0xa0000, 0xffff);
    unsigned i;

    for (i = 0; i < SLOTS; i++)
        push_ok(pg, 4, 0xa0000 + i, i);
    g_assert_cmpuint(bufring_used(pg), ==, SLOTS);
    g_assert_cmpint(bufring_push(pg, &r), ==, -ENOSPC);
    r.size = 8;
    g_assert_cmpint(bufring_push(pg, &r), ==, -ENOSPC);
    g_assert_cmpuint(bufring_used(pg), ==, SLOTS);
    g_assert_cmpuint(pg->write_pointer, ==, SLOTS);

    pop_expect(pg, 4, 0xa0000, 0);
    push_ok(pg, 4, 0xa0000 + SLOTS, SLOTS); /* lands in slot 0 */
    g_assert_cmphex(pg->buf_ioreq[0].data, ==, SLOTS);
    g_assert_cmpint(bufring_push(pg, &r), ==, -ENOSPC);
    for (i = 1; i <= SLOTS; i++)
        pop_expect(pg, 4, 0xa0000 + i, i);
    pop_empty(pg);
    free(pg);
}

static void test_qw_needs_two_free(void)
{
    buffered_iopage_t *pg = page_new();
    struct bufreq r = req_make(8, 0xa0000, 0xaaaaaaaabbbbbbbbull);
    buf_ioreq_t before;
    unsigned i;

    for (i = 0; i < SLOTS - 1; i++)
        push_ok(pg, 2, 0xa0000, i);
    g_assert_cmpuint(bufring_used(pg), ==, SLOTS - 1); /* one slot free */
    before = pg->buf_ioreq[SLOTS - 1];
    g_assert_cmpint(bufring_push(pg, &r), ==, -ENOSPC);
    g_assert_cmpuint(bufring_used(pg), ==, SLOTS - 1);
    g_assert_cmpmem(&pg->buf_ioreq[SLOTS - 1], sizeof(before), &before, sizeof(before));

    /* One 4-byte request still fits in it. */
    push_ok(pg, 4, 0xa0004, 0x12345678);
    g_assert_cmpuint(bufring_used(pg), ==, SLOTS);
    for (i = 0; i < SLOTS - 1; i++)
        pop_expect(pg, 2, 0xa0000, i);
    pop_expect(pg, 4, 0xa0004, 0x12345678);
    pop_empty(pg);
    free(pg);
}

static void test_qw_across_wrap(void)
{
    buffered_iopage_t *pg = page_new();
    unsigned i;

    for (i = 0; i < SLOTS - 1; i++) {
        push_ok(pg, 1, 0xa0000, i & 0xff);
        pop_expect(pg, 1, 0xa0000, i & 0xff);
    }
    g_assert_cmpuint(pg->read_pointer, ==, SLOTS - 1);
    g_assert_cmpuint(pg->write_pointer, ==, SLOTS - 1);

    push_ok(pg, 8, 0xbfff8, 0x0123456789abcdefull);
    g_assert_cmpuint(pg->buf_ioreq[SLOTS - 1].size, ==, 3); /* slot 510 */
    g_assert_cmphex(pg->buf_ioreq[SLOTS - 1].data, ==, 0x89abcdef);
    g_assert_cmpuint(pg->buf_ioreq[0].size, ==, 3); /* slot 0 */
    g_assert_cmphex(pg->buf_ioreq[0].addr, ==, 0xbfff8);
    g_assert_cmphex(pg->buf_ioreq[0].data, ==, 0x01234567);
    g_assert_cmpuint(bufring_used(pg), ==, 2);

    pop_expect(pg, 8, 0xbfff8, 0x0123456789abcdefull);
    pop_empty(pg);
    g_assert_cmpuint(pg->read_pointer, ==, SLOTS + 1);
    /* The next push pulls both pointers back by 511. */
    push_ok(pg, 4, 0xa0000, 7);
    g_assert_cmpuint(pg->read_pointer, ==, 1);
    g_assert_cmpuint(pg->write_pointer, ==, 2);
    pop_expect(pg, 4, 0xa0000, 7);
    free(pg);
}

/* Request number i of a deterministic sequence: every size, 8-byte ones
 * often enough to straddle the wrap point many times. */
static struct bufreq seq_req(uint32_t i)
{
    static const uint8_t sizes[] = {4, 8, 1, 8, 2, 4, 8};
    uint8_t size = sizes[i % G_N_ELEMENTS(sizes)];
    uint64_t data;

    switch (size) {
    case 1:
        data = i & 0xff;
        break;
    case 2:
        data = i & 0xffff;
        break;
    case 4:
        data = i;
        break;
    default:
        data = ((uint64_t)~i << 32) | i;
        break;
    }
    return req_make(size, i & 0xfffff, data);
}

static void pop_seq(buffered_iopage_t *pg, uint32_t i)
{
    struct bufreq want = seq_req(i);

    pop_expect(pg, want.size, want.addr, want.data);
}

static void test_wraparound_many(void)
{
    buffered_iopage_t *pg = page_new();
    uint32_t pushed = 0, popped = 0;
    unsigned round;

    for (round = 0; round < 4000; round++) {
        int npush = g_test_rand_int_range(0, 40), npop = g_test_rand_int_range(0, 40);

        while (npush-- > 0) {
            struct bufreq r = seq_req(pushed);
            unsigned used = bufring_used(pg);
            int rc = bufring_push(pg, &r);

            if (used > SLOTS - (r.size == 8 ? 2 : 1)) {
                g_assert_cmpint(rc, ==, -ENOSPC);
                g_assert_cmpuint(bufring_used(pg), ==, used);
                break;
            }
            g_assert_cmpint(rc, ==, 0);
            pushed++;
            /* Canonical after every push; never more than a ring apart. */
            g_assert_cmpuint(pg->read_pointer, <, SLOTS);
            g_assert_cmpuint(pg->write_pointer - pg->read_pointer, <=, SLOTS);
        }
        while (npop-- > 0 && popped < pushed)
            pop_seq(pg, popped++);
    }
    while (popped < pushed)
        pop_seq(pg, popped++);
    pop_empty(pg);
    /* Tens of thousands of slots went through: the pointers wrapped the ring
     * many times yet stayed small. */
    g_assert_cmpuint(pushed, >, 20 * SLOTS);
    g_assert_cmpuint(pg->write_pointer, <, 2 * SLOTS + 2);
    free(pg);
}

static void test_half_pair_eproto(void)
{
    buffered_iopage_t *pg = page_new();
    struct bufreq r;

    push_ok(pg, 4, 0xa0000, 1);
    pop_expect(pg, 4, 0xa0000, 1);
    /* A producer that published only the first half of an 8-byte write. */
    pg->buf_ioreq[1] =
        (buf_ioreq_t){.type = IOREQ_TYPE_COPY, .size = 3, .addr = 0xa0008, .data = 0x1234};
    __atomic_store_n(&pg->write_pointer, 2, __ATOMIC_RELEASE);
    g_assert_cmpint(bufring_pop(pg, &r), ==, -EPROTO);
    g_assert_cmpuint(pg->read_pointer, ==, 1); /* nothing consumed */
    free(pg);
}

/* ---- two threads ---------------------------------------------------------- */

struct stress {
    buffered_iopage_t *pg;
    struct timespec deadline;
    int timed_out;   /* atomic */
    uint64_t full;   /* producer's -ENOSPC retries */
    uint32_t bad_at; /* first index received wrong, or UINT32_MAX */
    uint32_t received;
};

static bool stress_expired(struct stress *st)
{
    struct timespec now;

    if (__atomic_load_n(&st->timed_out, __ATOMIC_RELAXED))
        return true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > st->deadline.tv_sec ||
        (now.tv_sec == st->deadline.tv_sec && now.tv_nsec >= st->deadline.tv_nsec)) {
        __atomic_store_n(&st->timed_out, 1, __ATOMIC_RELAXED);
        return true;
    }
    return false;
}

static void *stress_producer(void *opaque)
{
    struct stress *st = opaque;
    uint32_t i;

    for (i = 0; i < STRESS_ITEMS; i++) {
        struct bufreq r = seq_req(i);
        int rc;

        while ((rc = bufring_push(st->pg, &r)) == -ENOSPC) {
            st->full++;
            if ((st->full & 1023) == 0 && stress_expired(st))
                return NULL;
            sched_yield();
        }
        if (rc != 0) {
            __atomic_store_n(&st->timed_out, 1, __ATOMIC_RELAXED);
            return NULL;
        }
    }
    return NULL;
}

static void *stress_consumer(void *opaque)
{
    struct stress *st = opaque;
    uint64_t idle = 0;

    while (st->received < STRESS_ITEMS) {
        struct bufreq got, want;
        int rc = bufring_pop(st->pg, &got);

        if (rc == 0) {
            if ((++idle & 1023) == 0 && stress_expired(st))
                return NULL;
            sched_yield();
            continue;
        }
        want = seq_req(st->received);
        if (rc != 1 || got.size != want.size || got.addr != want.addr || got.data != want.data ||
            got.type != want.type || got.dir != want.dir) {
            st->bad_at = st->received;
            return NULL;
        }
        st->received++;
    }
    return NULL;
}

static void test_two_thread_stress(void)
{
    struct stress st = {.pg = page_new(), .bad_at = UINT32_MAX};
    pthread_t prod, cons;
    struct bufreq r;

    clock_gettime(CLOCK_MONOTONIC, &st.deadline);
    st.deadline.tv_sec += STRESS_LIMIT_S;
    g_assert_cmpint(pthread_create(&cons, NULL, stress_consumer, &st), ==, 0);
    g_assert_cmpint(pthread_create(&prod, NULL, stress_producer, &st), ==, 0);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);

    g_test_message("%u requests, producer found the ring full %" G_GUINT64_FORMAT " times",
                   st.received, st.full);
    g_assert_cmpuint(st.bad_at, ==, UINT32_MAX);
    g_assert_cmpint(st.timed_out, ==, 0);
    g_assert_cmpuint(st.received, ==, STRESS_ITEMS);
    g_assert_cmpint(bufring_pop(st.pg, &r), ==, 0);
    g_assert_cmpuint(st.pg->read_pointer, ==, st.pg->write_pointer);
    g_assert_cmpuint(st.pg->write_pointer, <, 2 * SLOTS + 2);
    free(st.pg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bufring/encoding", test_encoding);
    g_test_add_func("/bufring/einval", test_einval);
    g_test_add_func("/bufring/full-then-pop", test_full_then_pop);
    g_test_add_func("/bufring/qw-needs-two-free", test_qw_needs_two_free);
    g_test_add_func("/bufring/qw-across-wrap", test_qw_across_wrap);
    g_test_add_func("/bufring/wraparound-many", test_wraparound_many);
    g_test_add_func("/bufring/half-pair-eproto", test_half_pair_eproto);
    g_test_add_func("/bufring/two-thread-stress", test_two_thread_stress);
    return g_test_run();
}
