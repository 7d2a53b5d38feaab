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

struct evtchn_port {
    bool allocated;   /* remote port exists */
    bool bound;
    bool masked;
    bool pending;
    int handle;       /* DM handle id it is bound to */
    uint32_t local;   /* local port in that handle */
    uint64_t raised, delivered; /* counters */
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
#endif
