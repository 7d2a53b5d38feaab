/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxenevtchn.so.1 for xensim (Part C6 of the xensim design): each handle
 * gets a pipe from the simulator whose read end is xenevtchn_fd(); a fired
 * local port arrives as one uint32_t.  Each binding gets an eventfd that
 * xenevtchn_notify() writes, with no round trip.  Unmask is an atomic
 * update of the port's word in a page shared with the simulator; only when
 * an event arrived while the port was masked does it send a (fire-and-
 * forget) message asking for it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenevtchn.h>

#include "shim.h"

#define MAX_LOCAL 1024

struct xenevtchn_handle {
    struct shim_handle h;
    uint32_t id; /* simulator handle */
    int fd;      /* notification pipe */
    int notify_fd[MAX_LOCAL];
    uint32_t *state; /* shared mask/pending words, XSP_EV_SHARED_PORTS of them */
};

SHIM_EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    xenevtchn_handle *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    struct xsp_ev_open_rep rep = {0};
    int fd = -1;
    int rc = shim_call(XSP_EV_OPEN, NULL, 0, &rep, sizeof(rep), NULL, &fd);
    if (rc || fd < 0) {
        free(e);
        errno = rc ? -rc : EPROTO;
        return NULL;
    }
    e->id = rep.handle;
    e->fd = fd;
    int64_t frame = (int64_t)rep.state_frame;
    e->state = shim_map_frames(NULL, PROT_READ | PROT_WRITE, 0, 1, &frame, NULL);
    for (int i = 0; i < MAX_LOCAL; i++)
        e->notify_fd[i] = -1;
    shim_handle_register(&e->h, false);
    return e;
}

SHIM_EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned open_flags)
{
    shim_enosys(__func__);
    return NULL;
}

SHIM_EXPORT int xenevtchn_close(xenevtchn_handle *e)
{
    if (!e)
        return 0;
    struct xsp_ev q = {.handle = e->id};
    shim_call(XSP_EV_CLOSE, &q, sizeof(q), NULL, 0, NULL, NULL);
    for (int i = 0; i < MAX_LOCAL; i++)
        if (e->notify_fd[i] >= 0)
            close(e->notify_fd[i]);
    close(e->fd);
    if (e->state)
        munmap(e->state, 4096);
    shim_handle_deregister(&e->h);
    free(e);
    return 0;
}

SHIM_EXPORT int xenevtchn_restrict(xenevtchn_handle *e, domid_t domid)
{
    e->h.restricted_domid = domid;
    return 0;
}

SHIM_EXPORT int xenevtchn_fd(xenevtchn_handle *e)
{
    return e->fd;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *e, uint32_t domid,
                                                                 evtchn_port_t remote)
{
    if (shim_handle_check(&e->h, domid) < 0)
        return -1;
    struct xsp_ev q = {.handle = e->id, .domid = domid, .port = remote}, rep = {0};
    int fd = -1;
    int rc = shim_call(XSP_EV_BIND, &q, sizeof(q), &rep, sizeof(rep), NULL, &fd);
    if (rc)
        return shim_ret(rc);
    if (rep.port >= MAX_LOCAL || fd < 0) {
        if (fd >= 0)
            close(fd);
        errno = ENOSPC;
        return -1;
    }
    if (e->notify_fd[rep.port] >= 0)
        close(e->notify_fd[rep.port]);
    e->notify_fd[rep.port] = fd;
    return (xenevtchn_port_or_error_t)rep.port;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *e, uint32_t domid)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *e, unsigned int virq)
{
    return shim_enosys(__func__);
}

SHIM_EXPORT int xenevtchn_unbind(xenevtchn_handle *e, evtchn_port_t port)
{
    struct xsp_ev q = {.handle = e->id, .port = port};
    int rc = shim_call(XSP_EV_UNBIND, &q, sizeof(q), NULL, 0, NULL, NULL);
    if (!rc && port < MAX_LOCAL && e->notify_fd[port] >= 0) {
        close(e->notify_fd[port]);
        e->notify_fd[port] = -1;
    }
    return shim_ret(rc);
}

SHIM_EXPORT int xenevtchn_notify(xenevtchn_handle *e, evtchn_port_t port)
{
    if (port >= MAX_LOCAL || e->notify_fd[port] < 0) {
        errno = EINVAL;
        return -1;
    }
    uint64_t one = 1;
    return write(e->notify_fd[port], &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

SHIM_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *e)
{
    uint32_t port;
    ssize_t n = read(e->fd, &port, sizeof(port));
    if (n != sizeof(port)) {
        if (n >= 0)
            errno = EIO;
        return -1;
    }
    return (xenevtchn_port_or_error_t)port;
}

SHIM_EXPORT int xenevtchn_unmask(xenevtchn_handle *e, evtchn_port_t port)
{
    if (e->state && port < XSP_EV_SHARED_PORTS) {
        uint32_t *w = &e->state[port];
        uint32_t old = __atomic_load_n(w, __ATOMIC_SEQ_CST), new;
        do /* pending: keep it masked, the simulator delivers it on request */
            new = old & XSP_EV_PENDING ? old & ~XSP_EV_PENDING : old & ~XSP_EV_MASKED;
        while (!__atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
        if (!(old & XSP_EV_PENDING))
            return 0;
    }
    struct xsp_ev q = {.handle = e->id, .port = port};
    return shim_ret(shim_send(XSP_EV_UNMASK, &q, sizeof(q)));
}
