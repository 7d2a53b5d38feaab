/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulated event channels between "Xen" and device-model handles.
 *
 * Each remote port is a Xen-side port an ioreq server allocated (lowest free
 * number first, from 1: port 0 is never valid, as in Xen).  A DM handle binds
 * it and gets a local port (numbered from 1, unique across all handles, like
 * the ports of dom0).  The delivery rules follow libxenevtchn on Linux:
 *  - a raise on a bound, unmasked port calls deliver() once and masks it;
 *  - a raise on a masked or unbound port only sets pending;
 *  - unmask, and bind, deliver a pending port once (and mask it again);
 *  - unbind and closing a handle stop delivery; later raises stay pending
 *    until someone binds the port again.
 * A bound port's mask and pending bits may instead live in a word shared
 * with the DM (evtchn_set_shared), updated with atomic compare-and-swap on
 * both sides, so unmasking costs the DM no message.
 * deliver() is called synchronously from evtchn_raise/unmask/bind, after the
 * port state has been updated.  Not thread-safe: the caller holds the
 * simulator lock (and deliver() must not call back into this module).
 */
#include <errno.h>
#include <string.h>

#include "tests/xensim/sim/evtchn.h"

static bool evtchn_valid_remote(const struct evtchn_table *t, uint32_t remote)
{
    return remote != 0 && remote < EVTCHN_MAX_PORTS && t->port[remote].allocated;
}

/* Remote port bound to (handle, local), or 0 if none. */
static uint32_t evtchn_find(const struct evtchn_table *t, int handle, uint32_t local)
{
    uint32_t p;

    if (local == 0)
        return 0;
    for (p = 1; p < EVTCHN_MAX_PORTS; p++) {
        const struct evtchn_port *ep = &t->port[p];

        if (ep->allocated && ep->bound && ep->handle == handle && ep->local == local)
            return p;
    }
    return 0;
}

static bool evtchn_local_in_use(const struct evtchn_table *t, uint32_t local)
{
    uint32_t p;

    for (p = 1; p < EVTCHN_MAX_PORTS; p++)
        if (t->port[p].allocated && t->port[p].bound && t->port[p].local == local)
            return true;
    return false;
}

/* Hand the event to the bound handle and mask the port until unmasked. */
static void evtchn_fire(struct evtchn_table *t, struct evtchn_port *ep)
{
    ep->pending = false;
    ep->masked = true;
    if (ep->shared)
        __atomic_fetch_or(ep->shared, EVTCHN_SHARED_MASKED, __ATOMIC_SEQ_CST);
    ep->delivered++;
    if (t->deliver)
        t->deliver(t->opaque, ep->handle, ep->local);
}

static void evtchn_do_unbind(struct evtchn_port *ep)
{
    if (ep->shared)
        __atomic_store_n(ep->shared, 0, __ATOMIC_SEQ_CST);
    ep->shared = NULL;
    ep->bound = false;
    ep->masked = false;
    ep->handle = -1;
    ep->local = 0;
}

void evtchn_init(struct evtchn_table *t, void (*deliver)(void *, int, uint32_t), void *opaque)
{
    uint32_t p;

    memset(t, 0, sizeof(*t));
    for (p = 0; p < EVTCHN_MAX_PORTS; p++)
        t->port[p].handle = -1;
    t->next_remote = 1;
    t->next_local = 1;
    t->deliver = deliver;
    t->opaque = opaque;
}

int evtchn_alloc(struct evtchn_table *t)
{
    uint32_t p;

    /* next_remote is a hint: no port below it is free. */
    for (p = t->next_remote ? t->next_remote : 1; p < EVTCHN_MAX_PORTS; p++) {
        struct evtchn_port *ep = &t->port[p];

        if (ep->allocated)
            continue;
        memset(ep, 0, sizeof(*ep));
        ep->allocated = true;
        ep->handle = -1;
        t->next_remote = p + 1;
        return (int)p;
    }
    t->next_remote = EVTCHN_MAX_PORTS;
    return -ENOSPC;
}

void evtchn_free(struct evtchn_table *t, uint32_t remote)
{
    if (!evtchn_valid_remote(t, remote))
        return;
    memset(&t->port[remote], 0, sizeof(t->port[remote]));
    t->port[remote].handle = -1;
    if (remote < t->next_remote)
        t->next_remote = remote;
}

int evtchn_bind(struct evtchn_table *t, int handle, uint32_t remote)
{
    struct evtchn_port *ep;
    uint32_t local;

    if (handle < 0 || !evtchn_valid_remote(t, remote))
        return -EINVAL;
    ep = &t->port[remote];
    if (ep->bound)
        return -EBUSY;

    /* Next unused local number, skipping 0 (and any still bound after the
     * counter wrapped). */
    local = t->next_local;
    while (local == 0 || evtchn_local_in_use(t, local))
        local++;
    t->next_local = local + 1;

    ep->bound = true;
    ep->masked = false;
    ep->handle = handle;
    ep->local = local;
    if (ep->pending)
        evtchn_fire(t, ep);
    return (int)local;
}

int evtchn_unbind(struct evtchn_table *t, int handle, uint32_t local)
{
    uint32_t remote = evtchn_find(t, handle, local);

    if (!remote)
        return -ENOENT;
    evtchn_do_unbind(&t->port[remote]);
    return 0;
}

void evtchn_close_handle(struct evtchn_table *t, int handle)
{
    uint32_t p;

    for (p = 1; p < EVTCHN_MAX_PORTS; p++) {
        struct evtchn_port *ep = &t->port[p];

        if (ep->allocated && ep->bound && ep->handle == handle)
            evtchn_do_unbind(ep);
    }
}

void evtchn_raise(struct evtchn_table *t, uint32_t remote)
{
    struct evtchn_port *ep;

    if (!evtchn_valid_remote(t, remote))
        return;
    ep = &t->port[remote];
    ep->raised++;
    if (ep->bound && ep->shared) {
        uint32_t old = __atomic_load_n(ep->shared, __ATOMIC_SEQ_CST), new;
        do
            new = old & EVTCHN_SHARED_MASKED ? old | EVTCHN_SHARED_PENDING : old | EVTCHN_SHARED_MASKED;
        while (!__atomic_compare_exchange_n(ep->shared, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        if (!(old & EVTCHN_SHARED_MASKED))
            evtchn_fire(t, ep);
    } else if (ep->bound && !ep->masked) {
        evtchn_fire(t, ep);
    } else {
        ep->pending = true;
    }
}

int evtchn_unmask(struct evtchn_table *t, int handle, uint32_t local)
{
    uint32_t remote = evtchn_find(t, handle, local);
    struct evtchn_port *ep;

    if (!remote)
        return -ENOENT;
    ep = &t->port[remote];
    if (ep->shared) {
        /* the DM found PENDING, cleared it and kept the port masked */
        evtchn_fire(t, ep);
        return 0;
    }
    ep->masked = false;
    if (ep->pending)
        evtchn_fire(t, ep);
    return 0;
}

int evtchn_set_shared(struct evtchn_table *t, int handle, uint32_t local, uint32_t *word)
{
    uint32_t remote = evtchn_find(t, handle, local);

    if (!remote)
        return -ENOENT;
    struct evtchn_port *ep = &t->port[remote];
    __atomic_store_n(word, ep->masked ? EVTCHN_SHARED_MASKED : 0, __ATOMIC_SEQ_CST);
    ep->shared = word;
    return 0;
}

int evtchn_remote_of(const struct evtchn_table *t, int handle, uint32_t local)
{
    uint32_t remote = evtchn_find(t, handle, local);

    return remote ? (int)remote : -ENOENT;
}
