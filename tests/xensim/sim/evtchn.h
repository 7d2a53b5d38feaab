/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulated event channels: the Xen-side ("remote") ports that ioreq
 * servers allocate, their binding to a DM handle's local port, and the
 * mask/pending state.  Raising a port delivers it (calls deliver()) only if
 * it is bound and unmasked, then masks it; a raise while masked or unbound
 * sets pending, and unmask/bind re-deliver a pending port once.
 * Not thread-safe: the caller holds the simulator lock.
 */
#ifndef XSIM_EVTCHN_H
#define XSIM_EVTCHN_H
#include <stdbool.h>
#include <stdint.h>

#define EVTCHN_MAX_PORTS 1024

/* Bits of a port's state word when it lives in memory shared with the DM
 * (evtchn_set_shared): the DM then unmasks with an atomic update instead of
 * a message, and sends one only to ask for a pending event. */
#define EVTCHN_SHARED_MASKED 1u
#define EVTCHN_SHARED_PENDING 2u

struct evtchn_port {
    bool allocated;   /* remote port exists */
    bool bound;
    bool masked;
    bool pending;
    int handle;       /* DM handle id it is bound to */
    uint32_t local;   /* local port in that handle */
    uint64_t raised, delivered; /* counters */
    uint32_t *shared; /* bound port's mask/pending word shared with the DM, or NULL */
};

struct evtchn_table {
    struct evtchn_port port[EVTCHN_MAX_PORTS]; /* indexed by remote port */
    uint32_t next_remote, next_local;
    /* deliver local port `local` to handle `handle` (write to its pipe) */
    void (*deliver)(void *opaque, int handle, uint32_t local);
    void *opaque;
};

void evtchn_init(struct evtchn_table *t, void (*deliver)(void *, int, uint32_t), void *opaque);
int evtchn_alloc(struct evtchn_table *t);                          /* remote port or -ENOSPC */
void evtchn_free(struct evtchn_table *t, uint32_t remote);
int evtchn_bind(struct evtchn_table *t, int handle, uint32_t remote); /* local port, -EINVAL, -EBUSY */
int evtchn_unbind(struct evtchn_table *t, int handle, uint32_t local); /* 0, -ENOENT */
void evtchn_close_handle(struct evtchn_table *t, int handle);      /* unbind all its ports */
void evtchn_raise(struct evtchn_table *t, uint32_t remote);
int evtchn_unmask(struct evtchn_table *t, int handle, uint32_t local); /* 0, -ENOENT */
int evtchn_remote_of(const struct evtchn_table *t, int handle, uint32_t local); /* remote or -ENOENT */
/* From now on keep (handle, local)'s mask and pending bits in *word, which
 * the DM updates atomically: a raise while EVTCHN_SHARED_MASKED is set only
 * sets EVTCHN_SHARED_PENDING; the DM clears MASKED itself, or — when it
 * finds PENDING — clears PENDING, keeps MASKED and asks for the event with
 * evtchn_unmask(), which then delivers it.  0 or -ENOENT. */
int evtchn_set_shared(struct evtchn_table *t, int handle, uint32_t local, uint32_t *word);
#endif
