/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ioreq servers and the path of one guest access, as Xen 4.17 does it
 * (docs/xen-ioreq-and-xensim.md Parts A3-A7, A11 and C7):
 *
 *   Xen-internal devices (0xCF8 latch, debug ports, PIC/PIT/RTC/ELCR,
 *   IOAPIC/LAPIC/HPET) -> CF8/CFC to a claimed SBDF becomes PCI_CONFIG ->
 *   otherwise the enabled server whose rangeset holds the whole span ->
 *   single VGA-window writes go to the buffered ring while it has room ->
 *   everything else through the vCPU's sync slot, waiting for the DM.
 *
 * Unclaimed accesses read all-ones and drop writes, counted in the stats.
 * Server ids are indexes into x->srv.  The sync wait polls the vCPU port's
 * notify eventfd and the DM's pidfd, so a DM that dies or hangs turns into
 * an error within the access timeout, never a hang.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct xsim_server *get_server(xsim *x, uint32_t id)
{
    if (id >= XSIM_MAX_SERVERS || !x->srv[id].exists)
        return NULL;
    return &x->srv[id];
}

int ioreq_create(xsim *x, int bufioreq, uint32_t *id)
{
    unsigned i;
    for (i = 0; i < XSIM_MAX_SERVERS && x->srv[i].exists; i++)
        ;
    if (i == XSIM_MAX_SERVERS)
        return -ENOSPC;
    if (bufioreq < HVM_IOREQSRV_BUFIOREQ_OFF || bufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC)
        return -EINVAL;
    struct xsim_server *s = &x->srv[i];
    memset(s, 0, sizeof(*s));
    int64_t bf = mem_alloc_frame(x), sf = mem_alloc_frame(x);
    if (bf < 0 || sf < 0)
        return -ENOMEM;
    s->buf_frame = (uint64_t)bf;
    s->ioreq_frame = (uint64_t)sf;
    s->buf_page = mem_frame_ptr(x, s->buf_frame);
    s->sync_page = mem_frame_ptr(x, s->ioreq_frame);
    memset(s->buf_page, 0, XSIM_PAGE_SIZE);
    memset(s->sync_page, 0, XSIM_PAGE_SIZE);
    s->bufioreq = bufioreq;
    for (unsigned v = 0; v < x->cfg.vcpus; v++) {
        int p = evtchn_alloc(&x->ev);
        if (p < 0)
            return p;
        s->vcpu_port[v] = (uint32_t)p;
    }
    if (bufioreq) {
        int p = evtchn_alloc(&x->ev);
        if (p < 0)
            return p;
        s->buf_port = (uint32_t)p;
    }
    for (int t = 0; t < 3; t++)
        rangeset_init(&s->ranges[t], XSIM_MAX_RANGES);
    s->exists = true;
    *id = i;
    xsim_log(x, "create_ioreq_server(bufioreq %d) -> id %u", bufioreq, i);
    return 0;
}

/* Free a Xen-side port and forget its notify eventfd, so a port number
 * reused later never looks bound. */
static void port_close(xsim *x, uint32_t remote)
{
    evtchn_free(&x->ev, remote);
    if (remote < EVTCHN_MAX_PORTS && x->port_efd[remote] >= 0) {
        close(x->port_efd[remote]);
        x->port_efd[remote] = -1;
    }
}

int ioreq_destroy(xsim *x, uint32_t id)
{
    struct xsim_server *s = get_server(x, id);
    if (!s)
        return -ENOENT;
    for (unsigned v = 0; v < x->cfg.vcpus; v++)
        port_close(x, s->vcpu_port[v]);
    if (s->bufioreq)
        port_close(x, s->buf_port);
    for (int t = 0; t < 3; t++)
        rangeset_destroy(&s->ranges[t]);
    s->exists = s->enabled = false;
    xsim_log(x, "destroy_ioreq_server(%u)", id);
    pthread_cond_broadcast(&x->cond);
    return 0;
}

int ioreq_set_state(xsim *x, uint32_t id, bool enable)
{
    struct xsim_server *s = get_server(x, id);
    if (!s)
        return -ENOENT;
    /* Xen publishes each vCPU's port in its slot when the server is enabled. */
    if (enable && !s->enabled)
        for (unsigned v = 0; v < x->cfg.vcpus; v++)
            s->sync_page->vcpu_ioreq[v].vp_eport = s->vcpu_port[v];
    s->enabled = enable;
    xsim_log(x, "set_ioreq_server_state(%u, %d)", id, enable);
    pthread_cond_broadcast(&x->cond);
    return 0;
}

int ioreq_range(xsim *x, uint32_t id, bool map, unsigned type, uint64_t s, uint64_t e)
{
    struct xsim_server *srv = get_server(x, id);
    if (!srv)
        return -ENOENT;
    if (type > XEN_DMOP_IO_RANGE_PCI)
        return -EINVAL;
    int rc = map ? rangeset_add(&srv->ranges[type], s, e) : rangeset_remove(&srv->ranges[type], s, e);
    static const char *const names[] = {"port", "mmio", "pci"};
    xsim_log(x, "%s %s %#llx-%#llx -> %d", map ? "map" : "unmap", names[type], (unsigned long long)s,
             (unsigned long long)e, rc);
    return rc;
}

int ioreq_frame(xsim *x, uint32_t id, uint64_t idx, uint64_t *frame)
{
    struct xsim_server *s = get_server(x, id);
    if (!s)
        return -ENOENT;
    if (idx == XENMEM_resource_ioreq_server_frame_bufioreq) {
        if (!s->bufioreq)
            return -EINVAL;
        *frame = s->buf_frame;
        return 0;
    }
    if (idx == XENMEM_resource_ioreq_server_frame_ioreq(0)) {
        *frame = s->ioreq_frame;
        return 0;
    }
    return -EINVAL; /* 4.17 has one sync page: at most 128 vCPUs */
}

void deliver_port(void *opaque, int handle, uint32_t local)
{
    xsim *x = opaque;
    if (handle < 0 || handle >= XSIM_MAX_EV_HANDLES || !x->evh[handle].used)
        return;
    /* The port is masked until the DM unmasks it, so at most one word per
     * port is ever in the pipe: it cannot fill up. */
    if (write(x->evh[handle].pipe_w, &local, sizeof(local)) != sizeof(local))
        xsim_log(x, "evtchn: lost delivery of local port %u", local);
}

/* ---- Xen-internal devices --------------------------------------------- */

static void debug_putc(xsim *x, char c)
{
    if (x->debug_len + 1 >= XSIM_DEBUG_LOG_MAX)
        return;
    x->debug_log[x->debug_len++] = c;
    x->debug_log[x->debug_len] = 0;
}

/* Returns true when Xen itself handles the access (it never reaches a DM). */
static bool xen_internal(xsim *x, struct xsim_access *a)
{
    if (a->type == IOREQ_TYPE_PIO) {
        uint64_t p = a->addr;
        if (p == 0xcf8 && a->size == 4 && a->dir == IOREQ_WRITE && !a->data_is_ptr)
            x->cf8 = (uint32_t)a->data; /* latched, and still forwarded */
        if ((p == 0xe9 || p == 0x402) && !a->data_is_ptr) {
            if (a->dir == IOREQ_WRITE)
                debug_putc(x, (char)a->data);
            else
                a->data = 0xe9;
            return true;
        }
        /* Xen's RTC emulates CMOS indices 0-13 (RTC_CMOS_SIZE); an index
         * write of 14 or more, and data accesses while such an index is
         * selected, go to the device model, which owns the NVRAM. */
        if ((p == 0x70 || p == 0x71) && a->size == 1 && !a->data_is_ptr) {
            if (p == 0x70 && a->dir == IOREQ_WRITE)
                x->rtc_index = (uint8_t)(a->data & 0x7f);
            if (x->rtc_index >= 14)
                return false;
            if (a->dir == IOREQ_READ)
                a->data = 0;
            return true;
        }
        bool pic = p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 || p == 0x4d0 || p == 0x4d1;
        bool pit = (p >= 0x40 && p <= 0x43) || p == 0x61;
        bool rtc = p == 0x70 || p == 0x71;
        if (pic || pit || rtc) {
            if (a->dir == IOREQ_READ)
                a->data = 0; /* the tiny model: reads as idle hardware */
            return true;
        }
        return false;
    }
    uint64_t m = a->addr;
    if ((m >= 0xfec00000 && m < 0xfec01000) || (m >= 0xfee00000 && m < 0xfee01000) ||
        (m >= 0xfed00000 && m < 0xfed00400)) {
        if (a->dir == IOREQ_READ)
            a->data = 0;
        return true;
    }
    return false;
}

/* The whole span Xen matches against one range (Part A4). */
static void access_span(const struct xsim_access *a, uint64_t *first, uint64_t *last)
{
    if (a->type == IOREQ_TYPE_PIO) {
        *first = a->addr;
        *last = a->addr + a->size - 1;
        return;
    }
    uint64_t bytes = (uint64_t)a->count * a->size;
    if (a->df) {
        *first = a->addr - (bytes - a->size);
        *last = a->addr + a->size - 1;
    } else {
        *first = a->addr;
        *last = a->addr + bytes - 1;
    }
}

static struct xsim_server *route(xsim *x, struct xsim_access *a, uint64_t *ioreq_addr, uint8_t *type)
{
    *ioreq_addr = a->addr;
    *type = a->type;
    if (a->type == IOREQ_TYPE_PIO && (a->addr & ~3ULL) == 0xcfc && (x->cf8 & 0x80000000u)) {
        uint32_t sbdf = (x->cf8 >> 8) & 0xffff; /* segment 0 */
        for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++) {
            struct xsim_server *s = &x->srv[i];
            if (s->exists && s->enabled && rangeset_contains(&s->ranges[XEN_DMOP_IO_RANGE_PCI], sbdf, sbdf)) {
                *type = IOREQ_TYPE_PCI_CONFIG;
                *ioreq_addr = ((uint64_t)sbdf << 32) | (x->cf8 & 0xfc) | (a->addr & 3);
                return s;
            }
        }
    }
    uint64_t first, last;
    access_span(a, &first, &last);
    unsigned rt = a->type == IOREQ_TYPE_PIO ? XEN_DMOP_IO_RANGE_PORT : XEN_DMOP_IO_RANGE_MEMORY;
    for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++) {
        struct xsim_server *s = &x->srv[i];
        if (s->exists && s->enabled && rangeset_contains(&s->ranges[rt], first, last))
            return s;
    }
    return NULL;
}

static void count_type(xsim *x, uint8_t type)
{
    switch (type) {
    case IOREQ_TYPE_PIO: x->stats.pio++; break;
    case IOREQ_TYPE_COPY: x->stats.copy++; break;
    case IOREQ_TYPE_PCI_CONFIG: x->stats.pci_config++; break;
    case IOREQ_TYPE_TIMEOFFSET: x->stats.timeoffset++; break;
    case IOREQ_TYPE_INVALIDATE: x->stats.invalidate++; break;
    }
}

static void record_latency(xsim *x, uint64_t ns)
{
    unsigned b = 0;
    /* quarter-octave buckets: b = floor(4 * log2(ns)) */
    if (ns > 0) {
        unsigned msb = 63 - (unsigned)__builtin_clzll(ns);
        unsigned frac = msb >= 2 ? (unsigned)((ns >> (msb - 2)) & 3) : (unsigned)((ns << (2 - msb)) & 3);
        b = msb * 4 + frac;
    }
    if (b >= XSIM_LAT_BUCKETS)
        b = XSIM_LAT_BUCKETS - 1;
    x->stats.lat_hist[b]++;
    x->stats.lat_count++;
    x->stats.lat_sum_ns += ns;
}

static int try_buffered(xsim *x, struct xsim_server *s, const struct xsim_access *a, uint8_t type,
                        uint64_t addr)
{
    if (!s->bufioreq || type != IOREQ_TYPE_COPY || a->dir != IOREQ_WRITE || a->count != 1 ||
        a->data_is_ptr || addr < 0xa0000 || addr + a->size > 0xc0000)
        return -EINVAL;
    struct bufreq b = {.type = type, .dir = IOREQ_WRITE, .size = (uint8_t)a->size,
                       .addr = (uint32_t)addr, .data = a->data};
    int rc = bufring_push(s->buf_page, &b);
    if (rc == -ENOSPC) {
        x->stats.buffered_full_fallback++;
        return rc;
    }
    if (rc == 0) {
        x->stats.buffered++;
        count_type(x, type);
        evtchn_raise(&x->ev, s->buf_port);
    }
    return rc;
}

/* How long an access to a port the DM does not have bound waits to see
 * whether the DM is exiting (its descriptors close before it is reaped). */
#define DM_EXIT_GRACE_MS 1000

/* Fill the slot, notify, wait for IORESP_READY.  Called with the lock held;
 * drops it while waiting and returns with it held. */
static int sync_send(xsim *x, struct xsim_server *s, unsigned vcpu, ioreq_t *req)
{
    ioreq_t *slot = &s->sync_page->vcpu_ioreq[vcpu];
    int efd = x->port_efd[s->vcpu_port[vcpu]];
    if (efd < 0) {
        /* A DM that dies closes its event channels before it is a zombie:
         * give it a moment to become one, so that a dead DM is reported
         * as such and not as one that never bound its port. */
        int pidfd = x->dm_pidfd;
        bool exited = false;
        if (pidfd >= 0) {
            pthread_mutex_unlock(&x->lock);
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            exited = poll(&p, 1, DM_EXIT_GRACE_MS) > 0;
            pthread_mutex_lock(&x->lock);
        }
        if (exited)
            xsim_set_error(x, "vCPU %u: DM exited (its event channel port %u is closed)", vcpu,
                           s->vcpu_port[vcpu]);
        else
            xsim_set_error(x, "vCPU %u: the DM has not bound its event channel (port %u)", vcpu,
                           s->vcpu_port[vcpu]);
        return -1;
    }
    uint8_t *state = (uint8_t *)slot + 30; /* state:4 shares a byte with the flags */
    if ((__atomic_load_n(state, __ATOMIC_ACQUIRE) & 0xf) != STATE_IOREQ_NONE) {
        xsim_set_error(x, "vCPU %u: sync slot busy (state %u)", vcpu, *state & 0xf);
        return -1;
    }
    req->vp_eport = s->vcpu_port[vcpu];
    req->state = STATE_IOREQ_NONE;
    /* copy everything but the state byte, then publish READY */
    memcpy(slot, req, 30);
    slot->type = req->type;
    uint8_t flags = (uint8_t)((req->data_is_ptr << 4) | (req->dir << 5) | (req->df << 6));
    __atomic_store_n(state, (uint8_t)(flags | STATE_IOREQ_READY), __ATOMIC_RELEASE);
    uint64_t t0 = now_ns();
    evtchn_raise(&x->ev, s->vcpu_port[vcpu]);
    int pidfd = x->dm_pidfd;
    unsigned timeout = x->cfg.access_timeout_ms;
    pthread_mutex_unlock(&x->lock);

    int rc = 0;
    uint64_t deadline = t0 + (uint64_t)timeout * 1000000ULL;
    for (;;) {
        uint8_t st = __atomic_load_n(state, __ATOMIC_ACQUIRE) & 0xf;
        if (st == STATE_IORESP_READY)
            break;
        uint64_t now = now_ns();
        if (now >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd pfd[2] = {{.fd = efd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        int n = poll(pfd, pidfd >= 0 ? 2 : 1, (int)((deadline - now) / 1000000ULL) + 1);
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
                rc = -errno;
                break;
            }
        }
        if (n > 0 && pidfd >= 0 && (pfd[1].revents & POLLIN) &&
            (__atomic_load_n(state, __ATOMIC_ACQUIRE) & 0xf) != STATE_IORESP_READY) {
            rc = -EPIPE;
            break;
        }
    }
    uint64_t t1 = now_ns();
    pthread_mutex_lock(&x->lock);
    if (rc) {
        xsim_set_error(x, "vCPU %u: %s waiting for the DM's answer to ioreq type %u addr %#llx",
                       vcpu, rc == -EPIPE ? "DM exited" : "timed out", req->type,
                       (unsigned long long)req->addr);
        return -1;
    }
    req->data = slot->data;
    __atomic_store_n(state, (uint8_t)STATE_IOREQ_NONE, __ATOMIC_RELEASE);
    record_latency(x, t1 - t0);
    x->stats.sync++;
    count_type(x, req->type);
    return 0;
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

int ioreq_access(xsim *x, struct xsim_access *a)
{
    if (a->vcpu >= x->cfg.vcpus || !(a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8) ||
        (a->type == IOREQ_TYPE_PIO && a->size == 8) || a->count == 0) {
        xsim_set_error(x, "invalid guest access (vcpu %u size %u count %u)", a->vcpu, a->size, a->count);
        return -1;
    }
    pthread_mutex_lock(&x->lock);
    if (x->vcpu_busy[a->vcpu]) {
        pthread_mutex_unlock(&x->lock);
        xsim_set_error(x, "vCPU %u used by two threads at once", a->vcpu);
        return -1;
    }
    int rc = 0;
    if (xen_internal(x, a))
        goto out;
    uint64_t addr;
    uint8_t type;
    struct xsim_server *s = route(x, a, &addr, &type);
    if (!s) {
        if (a->dir == IOREQ_READ) {
            x->stats.unclaimed_reads++;
            if (a->data_is_ptr) {
                /* rep ins from nothing: Xen stores all-ones into the buffer */
                for (uint32_t i = 0; i < a->count; i++) {
                    uint64_t gpa = a->df ? a->data - (uint64_t)i * a->size : a->data + (uint64_t)i * a->size;
                    int64_t f = mem_gfn_to_frame(x, gpa >> XSIM_PAGE_SHIFT);
                    if (f >= 0 && ((gpa & (XSIM_PAGE_SIZE - 1)) + a->size) <= XSIM_PAGE_SIZE)
                        memset((uint8_t *)mem_frame_ptr(x, (uint64_t)f) + (gpa & (XSIM_PAGE_SIZE - 1)), 0xff, a->size);
                }
            } else {
                a->data = ones(a->size);
            }
        } else {
            x->stats.unclaimed_writes++;
        }
        goto out;
    }
    if (try_buffered(x, s, a, type, addr) == 0)
        goto out;
    ioreq_t req = {.addr = addr, .data = a->data, .count = a->count, .size = a->size,
                   .data_is_ptr = a->data_is_ptr, .dir = a->dir, .df = a->df, .type = type};
    if (a->dir == IOREQ_WRITE && !a->data_is_ptr)
        req.data &= ones(a->size);
    x->vcpu_busy[a->vcpu] = true;
    rc = sync_send(x, s, a->vcpu, &req);
    x->vcpu_busy[a->vcpu] = false;
    if (rc == 0 && a->dir == IOREQ_READ && !a->data_is_ptr)
        a->data = req.data & ones(a->size);
out:
    pthread_mutex_unlock(&x->lock);
    if (rc && a->dir == IOREQ_READ && !a->data_is_ptr)
        a->data = ones(a->size);
    return rc;
}

int ioreq_broadcast(xsim *x, uint8_t type, uint64_t data, bool buffered)
{
    int rc = 0;
    pthread_mutex_lock(&x->lock);
    for (unsigned i = 0; i < XSIM_MAX_SERVERS; i++) {
        struct xsim_server *s = &x->srv[i];
        if (!s->exists || !s->enabled)
            continue;
        if (buffered) {
            struct bufreq b = {.type = type, .dir = IOREQ_WRITE, .size = 8, .addr = 0, .data = data};
            if (!s->bufioreq || bufring_push(s->buf_page, &b) < 0) {
                rc = -1;
                continue;
            }
            x->stats.buffered++;
            count_type(x, type);
            evtchn_raise(&x->ev, s->buf_port);
        } else {
            ioreq_t req = {.addr = 0, .data = data, .count = 1, .size = 4, .dir = IOREQ_WRITE, .type = type};
            x->vcpu_busy[0] = true;
            if (sync_send(x, s, 0, &req) < 0)
                rc = -1;
            x->vcpu_busy[0] = false;
        }
    }
    pthread_mutex_unlock(&x->lock);
    return rc;
}
