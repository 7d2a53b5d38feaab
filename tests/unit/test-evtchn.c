/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the simulated event channels (tests/xensim/sim/evtchn.c):
 * port allocation, binding to DM handles, and the delivery rules a DM relies
 * on — one delivery per raise then masked, pending remembered while masked
 * or unbound and delivered once at unmask or bind, nothing after unbind or
 * close.  Deliveries are observed through a recording deliver() callback.
 */
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/xensim/sim/evtchn.h"

#define LOG_MAX 64

struct delivery {
    int handle;
    uint32_t local;
};

struct recorder {
    struct delivery log[LOG_MAX];
    unsigned n;
};

static void record_deliver(void *opaque, int handle, uint32_t local)
{
    struct recorder *rec = opaque;

    g_assert_cmpuint(rec->n, <, LOG_MAX);
    rec->log[rec->n].handle = handle;
    rec->log[rec->n].local = local;
    rec->n++;
}

/* The table is ~48 KiB: keep it off the stack. */
static struct evtchn_table *table_new(struct recorder *rec)
{
    struct evtchn_table *t = g_new(struct evtchn_table, 1);

    rec->n = 0;
    evtchn_init(t, record_deliver, rec);
    return t;
}

/* Exactly `n` deliveries so far, the last one to (handle, local). */
static void check_last(const struct recorder *rec, unsigned n, int handle, uint32_t local)
{
    g_assert_cmpuint(rec->n, ==, n);
    g_assert_cmpint(rec->log[n - 1].handle, ==, handle);
    g_assert_cmpuint(rec->log[n - 1].local, ==, local);
}

static void test_alloc(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int p, i;

    g_assert_cmpint(evtchn_alloc(t), ==, 1); /* 0 is never a valid port */
    g_assert_cmpint(evtchn_alloc(t), ==, 2);
    g_assert_cmpint(evtchn_alloc(t), ==, 3);
    evtchn_free(t, 2);
    g_assert_cmpint(evtchn_alloc(t), ==, 2); /* lowest free first */
    g_assert_cmpint(evtchn_alloc(t), ==, 4);

    for (i = 5; i < EVTCHN_MAX_PORTS; i++)
        g_assert_cmpint(evtchn_alloc(t), ==, i);
    g_assert_cmpint(evtchn_alloc(t), ==, -ENOSPC);
    evtchn_free(t, 700);
    g_assert_cmpint(evtchn_alloc(t), ==, 700);
    g_assert_cmpint(evtchn_alloc(t), ==, -ENOSPC);

    /* Freeing nonsense is harmless. */
    evtchn_free(t, 0);
    evtchn_free(t, EVTCHN_MAX_PORTS);
    p = evtchn_alloc(t);
    g_assert_cmpint(p, ==, -ENOSPC);
    g_assert_cmpuint(rec.n, ==, 0);
    g_free(t);
}

static void test_bind_errors(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t), l;

    g_assert_cmpint(evtchn_bind(t, 1, 0), ==, -EINVAL);
    g_assert_cmpint(evtchn_bind(t, 1, 5), ==, -EINVAL); /* not allocated */
    g_assert_cmpint(evtchn_bind(t, 1, EVTCHN_MAX_PORTS), ==, -EINVAL);
    g_assert_cmpint(evtchn_bind(t, 1, UINT32_MAX), ==, -EINVAL);
    l = evtchn_bind(t, 1, (uint32_t)r);
    g_assert_cmpint(l, >=, 1);
    g_assert_cmpint(evtchn_bind(t, 1, (uint32_t)r), ==, -EBUSY);
    g_assert_cmpint(evtchn_bind(t, 2, (uint32_t)r), ==, -EBUSY);
    g_assert_cmpint(evtchn_remote_of(t, 1, (uint32_t)l), ==, r);
    g_assert_cmpuint(rec.n, ==, 0);
    g_free(t);
}

static void test_local_ports(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r[4], l[4], i, j;

    for (i = 0; i < 4; i++)
        r[i] = evtchn_alloc(t);
    l[0] = evtchn_bind(t, 7, (uint32_t)r[0]);
    l[1] = evtchn_bind(t, 7, (uint32_t)r[1]);
    l[2] = evtchn_bind(t, 8, (uint32_t)r[2]);
    l[3] = evtchn_bind(t, 8, (uint32_t)r[3]);
    g_assert_cmpint(l[0], ==, 1); /* local ports start at 1 too */
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(l[i], >=, 1);
        for (j = 0; j < i; j++)
            g_assert_cmpint(l[i], !=, l[j]);
    }
    g_assert_cmpint(evtchn_remote_of(t, 7, (uint32_t)l[0]), ==, r[0]);
    g_assert_cmpint(evtchn_remote_of(t, 7, (uint32_t)l[1]), ==, r[1]);
    g_assert_cmpint(evtchn_remote_of(t, 8, (uint32_t)l[2]), ==, r[2]);
    g_assert_cmpint(evtchn_remote_of(t, 8, (uint32_t)l[3]), ==, r[3]);
    g_assert_cmpint(evtchn_remote_of(t, 8, (uint32_t)l[0]), ==, -ENOENT); /* other handle */
    g_free(t);
}

static void test_raise_delivers_once_and_masks(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 3, (uint32_t)r);

    g_assert_cmpuint(rec.n, ==, 0); /* nothing pending: no delivery at bind */
    evtchn_raise(t, (uint32_t)r);
    check_last(&rec, 1, 3, (uint32_t)l);
    g_assert_true(t->port[r].masked);
    g_assert_false(t->port[r].pending);

    /* Masked now: further raises only set pending. */
    evtchn_raise(t, (uint32_t)r);
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 1);
    g_assert_true(t->port[r].pending);
    g_assert_cmpuint(t->port[r].raised, ==, 3);
    g_assert_cmpuint(t->port[r].delivered, ==, 1);
    g_free(t);
}

static void test_unmask_redelivers_once(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 3, (uint32_t)r);

    evtchn_raise(t, (uint32_t)r);
    evtchn_raise(t, (uint32_t)r); /* while masked */
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 1);

    g_assert_cmpint(evtchn_unmask(t, 3, (uint32_t)l), ==, 0);
    check_last(&rec, 2, 3, (uint32_t)l); /* both pending raises: one event */
    g_assert_true(t->port[r].masked);    /* masked again by that delivery */

    g_assert_cmpint(evtchn_unmask(t, 3, (uint32_t)l), ==, 0);
    g_assert_cmpuint(rec.n, ==, 2); /* nothing pending: nothing delivered */
    g_assert_false(t->port[r].masked);

    evtchn_raise(t, (uint32_t)r); /* unmasked: immediate */
    check_last(&rec, 3, 3, (uint32_t)l);
    g_free(t);
}

static void test_raise_before_bind(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t), l;

    evtchn_raise(t, (uint32_t)r);
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 0);
    l = evtchn_bind(t, 4, (uint32_t)r);
    g_assert_cmpint(l, >=, 1);
    check_last(&rec, 1, 4, (uint32_t)l); /* delivered at bind, once */
    g_assert_true(t->port[r].masked);
    g_assert_cmpint(evtchn_unmask(t, 4, (uint32_t)l), ==, 0);
    g_assert_cmpuint(rec.n, ==, 1);
    g_free(t);
}

static void test_unbind_stops_delivery(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 5, (uint32_t)r), l2;

    g_assert_cmpint(evtchn_unbind(t, 5, (uint32_t)l), ==, 0);
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 0);
    g_assert_cmpint(evtchn_unbind(t, 5, (uint32_t)l), ==, -ENOENT);
    g_assert_cmpint(evtchn_unmask(t, 5, (uint32_t)l), ==, -ENOENT);
    g_assert_cmpint(evtchn_remote_of(t, 5, (uint32_t)l), ==, -ENOENT);
    g_assert_cmpuint(rec.n, ==, 0);

    /* The raise is not lost for whoever binds next. */
    l2 = evtchn_bind(t, 6, (uint32_t)r);
    check_last(&rec, 1, 6, (uint32_t)l2);
    g_free(t);
}

static void test_close_handle(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int ra = evtchn_alloc(t), rb = evtchn_alloc(t), rc = evtchn_alloc(t);
    int la = evtchn_bind(t, 1, (uint32_t)ra);
    int lb = evtchn_bind(t, 1, (uint32_t)rb);
    int lc = evtchn_bind(t, 2, (uint32_t)rc);

    evtchn_close_handle(t, 1);
    evtchn_raise(t, (uint32_t)ra);
    evtchn_raise(t, (uint32_t)rb);
    g_assert_cmpuint(rec.n, ==, 0);
    g_assert_cmpint(evtchn_unmask(t, 1, (uint32_t)la), ==, -ENOENT);
    g_assert_cmpint(evtchn_remote_of(t, 1, (uint32_t)lb), ==, -ENOENT);

    /* The other handle is untouched. */
    evtchn_raise(t, (uint32_t)rc);
    check_last(&rec, 1, 2, (uint32_t)lc);
    g_free(t);
}

static void test_bad_local_port(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 1, (uint32_t)r);

    g_assert_cmpint(evtchn_unmask(t, 1, 0), ==, -ENOENT);
    g_assert_cmpint(evtchn_unmask(t, 1, 999), ==, -ENOENT);
    g_assert_cmpint(evtchn_unmask(t, 1, UINT32_MAX), ==, -ENOENT);
    g_assert_cmpint(evtchn_unmask(t, 2, (uint32_t)l), ==, -ENOENT); /* wrong handle */
    g_assert_cmpint(evtchn_unbind(t, 1, 999), ==, -ENOENT);
    g_assert_cmpint(evtchn_unbind(t, 2, (uint32_t)l), ==, -ENOENT);
    g_assert_cmpint(evtchn_remote_of(t, 1, 0), ==, -ENOENT);
    /* ... and none of that disturbed the real binding. */
    g_assert_cmpint(evtchn_remote_of(t, 1, (uint32_t)l), ==, r);
    evtchn_raise(t, (uint32_t)r);
    check_last(&rec, 1, 1, (uint32_t)l);

    /* Raising ports that do not exist does nothing. */
    evtchn_raise(t, 0);
    evtchn_raise(t, 77);
    evtchn_raise(t, EVTCHN_MAX_PORTS + 5);
    g_assert_cmpuint(rec.n, ==, 1);
    g_free(t);
}

static void test_free_bound_port(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 1, (uint32_t)r);

    evtchn_free(t, (uint32_t)r);
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 0);
    g_assert_cmpint(evtchn_unmask(t, 1, (uint32_t)l), ==, -ENOENT);
    g_assert_cmpint(evtchn_remote_of(t, 1, (uint32_t)l), ==, -ENOENT);

    /* Reallocated, it starts clean: no stale binding, nothing pending. */
    g_assert_cmpint(evtchn_alloc(t), ==, r);
    g_assert_false(t->port[r].bound);
    g_assert_false(t->port[r].pending);
    l = evtchn_bind(t, 1, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 0);
    evtchn_raise(t, (uint32_t)r);
    check_last(&rec, 1, 1, (uint32_t)l);
    g_free(t);
}

/* The DM's side of a shared state word, as the libxenevtchn shim does it. */
static bool dm_unmask(uint32_t *w)
{
    uint32_t old = __atomic_load_n(w, __ATOMIC_SEQ_CST), new;
    do
        new = old & EVTCHN_SHARED_PENDING ? old & ~EVTCHN_SHARED_PENDING : old & ~EVTCHN_SHARED_MASKED;
    while (!__atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old & EVTCHN_SHARED_PENDING; /* must ask for the event */
}

static void test_shared_word(void)
{
    struct recorder rec;
    struct evtchn_table *t = table_new(&rec);
    uint32_t word = 0xdead;
    int r = evtchn_alloc(t);
    int l = evtchn_bind(t, 3, (uint32_t)r);
    g_assert_cmpint(evtchn_set_shared(t, 3, (uint32_t)l, &word), ==, 0);
    g_assert_cmphex(word, ==, 0); /* bound, unmasked, nothing pending */
    g_assert_cmpint(evtchn_set_shared(t, 3, (uint32_t)l + 1, &word), ==, -ENOENT);

    evtchn_raise(t, (uint32_t)r); /* delivered and masked in the word */
    check_last(&rec, 1, 3, (uint32_t)l);
    g_assert_cmphex(word, ==, EVTCHN_SHARED_MASKED);
    evtchn_raise(t, (uint32_t)r); /* masked: pending only */
    evtchn_raise(t, (uint32_t)r);
    g_assert_cmpuint(rec.n, ==, 1);
    g_assert_cmphex(word, ==, EVTCHN_SHARED_MASKED | EVTCHN_SHARED_PENDING);

    g_assert_true(dm_unmask(&word)); /* pending: stays masked, asks */
    g_assert_cmphex(word, ==, EVTCHN_SHARED_MASKED);
    g_assert_cmpint(evtchn_unmask(t, 3, (uint32_t)l), ==, 0);
    check_last(&rec, 2, 3, (uint32_t)l); /* the two raises: one delivery */

    g_assert_false(dm_unmask(&word)); /* nothing pending: just unmasked, no message */
    g_assert_cmphex(word, ==, 0);
    evtchn_raise(t, (uint32_t)r);
    check_last(&rec, 3, 3, (uint32_t)l);

    g_assert_cmpint(evtchn_unbind(t, 3, (uint32_t)l), ==, 0);
    g_assert_cmphex(word, ==, 0);
    evtchn_raise(t, (uint32_t)r); /* unbound: remembered, not delivered */
    g_assert_cmpuint(rec.n, ==, 3);
    g_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/evtchn/alloc", test_alloc);
    g_test_add_func("/evtchn/shared-word", test_shared_word);
    g_test_add_func("/evtchn/bind-errors", test_bind_errors);
    g_test_add_func("/evtchn/local-ports", test_local_ports);
    g_test_add_func("/evtchn/raise-delivers-once-and-masks", test_raise_delivers_once_and_masks);
    g_test_add_func("/evtchn/unmask-redelivers-once", test_unmask_redelivers_once);
    g_test_add_func("/evtchn/raise-before-bind", test_raise_before_bind);
    g_test_add_func("/evtchn/unbind-stops-delivery", test_unbind_stops_delivery);
    g_test_add_func("/evtchn/close-handle", test_close_handle);
    g_test_add_func("/evtchn/bad-local-port", test_bad_local_port);
    g_test_add_func("/evtchn/free-bound-port", test_free_bound_port);
    return g_test_run();
}
