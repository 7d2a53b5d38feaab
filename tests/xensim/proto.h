/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim wire protocol: the libxen* shims in the device-model process talk to
 * the simulator (libxensim, in the test process) over one SOCK_SEQPACKET
 * connection per DM process.  Every message is a struct xsp_hdr followed by
 * `len` bytes of payload; file descriptors travel as SCM_RIGHTS.  Replies echo
 * `op` and `seq` and carry `status` = 0 or -errno.  Requests with
 * XSP_F_NOREPLY get no reply (used for the hot, fire-and-forget calls).
 *
 * All payload structs use fixed-width fields with explicit padding so that
 * both sides agree without packing pragmas.  Variable-length tails (gfn
 * lists, bitmaps, names) follow the fixed part.
 */
#ifndef XENSIM_PROTO_H
#define XENSIM_PROTO_H

#include <stdint.h>

#define XSP_VERSION 1
/* Largest message either side sends or accepts, header included. */
#define XSP_MAX_MSG 65536
/* gfn/frame lists longer than this are split by the shim. */
#define XSP_MAX_LIST ((XSP_MAX_MSG - 64) / 8)

enum xsp_op {
    XSP_HELLO = 1,
    XSP_POPULATE,
    XSP_P2M_LOOKUP,
    XSP_RESOURCE_FRAMES,
    XSP_HVM_PARAM_GET,
    XSP_HVM_PARAM_SET,
    XSP_IOREQ_CREATE,
    XSP_IOREQ_INFO,
    XSP_IOREQ_RANGE,
    XSP_IOREQ_STATE,
    XSP_IOREQ_DESTROY,
    XSP_IRQ_ISA,
    XSP_IRQ_INTX,
    XSP_LINK_ROUTE,
    XSP_MSI,
    XSP_DIRTY_VRAM,
    XSP_MODIFIED_MEMORY,
    XSP_MEM_TYPE,
    XSP_RELOCATE,
    XSP_PIN_CACHEATTR,
    XSP_SHUTDOWN,
    XSP_NR_VCPUS,
    XSP_EV_OPEN,
    XSP_EV_BIND,
    XSP_EV_UNMASK,
    XSP_EV_UNBIND,
    XSP_EV_CLOSE,
    XSP_RESTRICT,
    XSP_ENOSYS, /* a shim was called for something xensim does not do */
    XSP_OP_MAX
};

#define XSP_F_NOREPLY 0x1

struct xsp_hdr {
    uint16_t op;
    uint16_t flags;
    uint32_t seq;
    uint32_t len; /* payload bytes after this header */
    int32_t status;
};

/* HELLO -> reply xsp_hello_rep + the machine memfd */
struct xsp_hello {
    uint32_t version;
    uint32_t pid;
};
struct xsp_hello_rep {
    uint32_t domid;
    uint32_t nr_vcpus;
    uint64_t memfd_size;
};

/* POPULATE: allocate frames for `n` extents of 2^order pages at gfn[] */
struct xsp_populate {
    uint32_t domid;
    uint32_t order;
    uint32_t n;
    uint32_t pad;
    uint64_t gfn[];
};

/* P2M_LOOKUP: reply is int64_t[n]: machine frame, or -errno (hole) */
struct xsp_p2m_lookup {
    uint32_t domid;
    uint32_t n;
    uint64_t gfn[];
};

/* RESOURCE_FRAMES: reply is uint64_t[nr] machine frames */
struct xsp_resource {
    uint32_t domid;
    uint32_t type;
    uint32_t id;
    uint32_t pad;
    uint64_t frame;
    uint64_t nr;
};

struct xsp_hvm_param {
    uint32_t domid;
    uint32_t index;
    uint64_t value; /* set: new value; reply of get: the value */
};

/* IOREQ_CREATE, IOREQ_INFO, IOREQ_STATE, IOREQ_DESTROY */
struct xsp_ioreq {
    uint32_t domid;
    uint32_t id;
    uint32_t arg;  /* create: bufioreq mode; state: enable */
    uint32_t port; /* reply of INFO: buffered port; of CREATE: id */
};

struct xsp_range {
    uint32_t domid;
    uint32_t id;
    uint32_t map;  /* 1 map, 0 unmap */
    uint32_t type; /* XEN_DMOP_IO_RANGE_PORT / _MEMORY / _PCI */
    uint64_t start;
    uint64_t end; /* inclusive */
};

/* IRQ_ISA: a = irq, b = level.  IRQ_INTX: a = dev, b = intx, c = level
 * (segment and bus must be 0).  LINK_ROUTE: a = link, b = isa irq.
 * SHUTDOWN: a = reason.  NR_VCPUS: reply in a.  RESTRICT: a = 1 for a
 * handle that was killed (xenctrl/gnttab), 0 for one limited to domid. */
struct xsp_small {
    uint32_t domid;
    uint32_t a;
    uint32_t b;
    uint32_t c;
};

struct xsp_msi {
    uint32_t domid;
    uint32_t data;
    uint64_t addr;
};

/* DIRTY_VRAM: reply is the bitmap, (nr + 7) / 8 bytes rounded up to 8.
 * MODIFIED_MEMORY: first/nr.  MEM_TYPE: arg = hvmmem type.
 * PIN_CACHEATTR: first = start, nr unused, second = end, arg = type.
 * RELOCATE: first = src gfn, second = dst gfn, nr = pages. */
struct xsp_mem {
    uint32_t domid;
    uint32_t nr;
    uint32_t arg;
    uint32_t pad;
    uint64_t first;
    uint64_t second;
};

/* EV_OPEN -> reply xsp_ev with handle, + the notification fd (read end:
 *   the simulator writes a uint32_t local port when a port fires).
 * EV_BIND (handle, domid, remote) -> reply local port, + an eventfd that
 *   the DM writes to for xenevtchn_notify.
 * EV_UNMASK / EV_UNBIND (handle, port); EV_CLOSE (handle). */
struct xsp_ev {
    uint32_t handle;
    uint32_t domid;
    uint32_t port; /* remote for BIND, local otherwise; reply: local */
    uint32_t pad;
};

/* EV_OPEN's reply: the handle and the machine frame of its state page, an
 * array of uint32_t indexed by local port (< XSP_EV_SHARED_PORTS) holding
 * EVTCHN_SHARED_MASKED / _PENDING (sim/evtchn.h).  The DM unmasks with a
 * compare-and-swap there and sends EV_UNMASK only to collect a pending
 * event (and for ports beyond the page). */
#define XSP_EV_SHARED_PORTS 1024
#define XSP_EV_MASKED 1u
#define XSP_EV_PENDING 2u
struct xsp_ev_open_rep {
    uint32_t handle;
    uint32_t pad[3];
    uint64_t state_frame;
};

/* ENOSYS: payload is the NUL-terminated function name. */

#endif
