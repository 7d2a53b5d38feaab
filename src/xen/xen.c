/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Xen boundary: handles, the ioreq server, event channels, the sync and
 * buffered ioreq paths, guest RAM and device RAM.  See xen.h for the
 * bring-up sequence and docs/xen-ioreq-and-xensim.md (shared notes, Part A)
 * for the protocol.
 *
 * What a request may contain is decided by Xen, but every value in it that
 * the guest influences (addresses, counts, directions, sizes, pointers into
 * guest RAM) is checked before use: a malformed request is logged
 * (rate-limited) and answered with all-ones for reads; xendm keeps running.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoolcore.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

#include "devices/pci.h"
#include "src/dispatch.h"
#include "src/hv.h"
#include "src/ioreq.h"
#include "src/log.h"
#include "src/machine.h"
#include "src/xen/xen.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ULL
/* Longest rep string request we act on (elements).  Xen's emulator never
 * sends more than a page worth; anything beyond is malformed. */
#define XEN_MAX_REP 4096
/* Local ports below this are looked up by table; above, by a scan. */
#define XEN_PORT_TABLE 1024
#define GFN_4G (1ULL << (32 - PAGE_SHIFT))
#define GFN_MMIO_HOLE (0xf0000000ULL >> PAGE_SHIFT)

enum xen_seq {
    XEN_SEQ_NONE,
    XEN_SEQ_HANDLES,
    XEN_SEQ_SERVER,
    XEN_SEQ_PAGES,
    XEN_SEQ_RAM,
    XEN_SEQ_ENABLED,
};

struct ram_map {
    uint8_t *ptr;
    uint64_t first_gfn, nr;
    uint8_t *bad; /* bitmap: page not mapped (hole) */
};

static struct {
    enum xen_seq seq;
    struct xen_params p;
    xc_interface *xch;
    xendevicemodel_handle *dmod;
    xenforeignmemory_handle *fmem;
    xenevtchn_handle *xce;
    ioservid_t id;
    xenforeignmemory_resource_handle *res;
    buffered_iopage_t *buf;
    shared_iopage_t *sync;
    evtchn_port_t buf_local;
    evtchn_port_t *vcpu_local;
    int16_t port_to_vcpu[XEN_PORT_TABLE]; /* -1 none, -2 buffered */
    struct ram_map ram[2];                /* below and above 4 GiB */
    uint64_t next_dev_gfn;
    bool dirty_log;
    bool running;
    guint source;
    struct xen_stats stats;
} X;

/* ---- guest RAM -------------------------------------------------------------- */

static int ram_map_range(struct ram_map *m, uint64_t first_gfn, uint64_t nr)
{
    m->first_gfn = first_gfn;
    m->nr = nr;
    if (!nr)
        return 0;
    xen_pfn_t *gfns = g_new(xen_pfn_t, nr);
    int *err = g_new0(int, nr);
    for (uint64_t i = 0; i < nr; i++)
        gfns[i] = first_gfn + i;
    m->ptr = xenforeignmemory_map2(X.fmem, X.p.domid, NULL, PROT_READ | PROT_WRITE, 0, nr, gfns, err);
    int rc = m->ptr ? 0 : -errno;
    if (m->ptr) {
        m->bad = g_malloc0((nr + 7) / 8);
        for (uint64_t i = 0; i < nr; i++)
            if (err[i])
                m->bad[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    g_free(gfns);
    g_free(err);
    return rc;
}

static void ram_unmap(struct ram_map *m)
{
    if (m->ptr)
        xenforeignmemory_unmap(X.fmem, m->ptr, m->nr);
    g_free(m->bad);
    memset(m, 0, sizeof(*m));
}

static int ram_map_all(void)
{
    uint64_t total = X.p.ram_mb << (20 - PAGE_SHIFT);
    uint64_t low = X.p.ram_below_4g >> PAGE_SHIFT;
    if (low > total)
        low = total;
    int rc = ram_map_range(&X.ram[0], 0, low);
    if (!rc)
        rc = ram_map_range(&X.ram[1], GFN_4G, total - low);
    if (rc)
        log_msg("xen", "cannot map guest RAM (%llu MiB): %s", (unsigned long long)X.p.ram_mb, strerror(-rc));
    return rc;
}

/* Pointer to guest-physical page `gfn` if it is mapped RAM. */
static uint8_t *ram_page(uint64_t gfn)
{
    for (int r = 0; r < 2; r++) {
        struct ram_map *m = &X.ram[r];
        if (m->ptr && gfn >= m->first_gfn && gfn - m->first_gfn < m->nr) {
            uint64_t i = gfn - m->first_gfn;
            if (m->bad[i / 8] & (1u << (i % 8)))
                return NULL;
            return m->ptr + (i << PAGE_SHIFT);
        }
    }
    return NULL;
}

static int guest_copy(uint64_t gpa, void *buf, size_t len, bool write)
{
    uint8_t *b = buf;
    if (len && gpa + len - 1 < gpa)
        return -EFAULT;
    while (len) {
        uint64_t off = gpa & (PAGE_SIZE - 1);
        size_t n = len < PAGE_SIZE - off ? len : (size_t)(PAGE_SIZE - off);
        uint8_t *p = ram_page(gpa >> PAGE_SHIFT);
        if (!p)
            return -EFAULT;
        if (write) {
            memcpy(p + off, b, n);
            if (X.dirty_log)
                xendevicemodel_modified_memory(X.dmod, X.p.domid, gpa >> PAGE_SHIFT, 1);
        } else {
            memcpy(b, p + off, n);
        }
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

int hv_guest_read(uint64_t gpa, void *buf, size_t len)
{
    return guest_copy(gpa, buf, len, false);
}

int hv_guest_write(uint64_t gpa, const void *buf, size_t len)
{
    return guest_copy(gpa, (void *)buf, len, true);
}

void xen_set_dirty_logging(bool on)
{
    X.dirty_log = on;
}

/* ---- device RAM ---------------------------------------------------------------- */

void *hv_alloc_device_ram(const char *name, uint64_t size, uint64_t *gfn)
{
    if (!size || size % PAGE_SIZE) {
        log_msg("xen", "%s: device memory size %#llx is not whole pages", name, (unsigned long long)size);
        return NULL;
    }
    uint64_t nr = size >> PAGE_SHIFT;
    uint64_t first = X.next_dev_gfn;
    if (first < GFN_MMIO_HOLE && first + nr > GFN_MMIO_HOLE)
        first = X.ram[1].nr ? GFN_4G + X.ram[1].nr : GFN_4G; /* never inside the MMIO hole */
    xen_pfn_t *gfns = g_new(xen_pfn_t, nr);
    for (uint64_t i = 0; i < nr; i++)
        gfns[i] = first + i;
    void *p = NULL;
    if (xc_domain_populate_physmap_exact(X.xch, X.p.domid, nr, 0, 0, gfns) < 0) {
        if (errno == ENOMEM)
            log_msg("xen", "%s: the domain has no room left for %llu MiB of device memory: "
                    "raise videoram (or memory) in the guest's configuration",
                    name, (unsigned long long)(size >> 20));
        else
            log_msg("xen", "%s: cannot populate %llu pages: %s", name, (unsigned long long)nr, strerror(errno));
        goto out;
    }
    p = xenforeignmemory_map(X.fmem, X.p.domid, PROT_READ | PROT_WRITE, nr, gfns, NULL);
    if (!p) {
        log_msg("xen", "%s: cannot map its memory: %s", name, strerror(errno));
        goto out;
    }
    *gfn = first;
    X.next_dev_gfn = first + nr;
out:
    g_free(gfns);
    return p;
}

int hv_relocate(uint64_t src_gfn, uint64_t dst_gfn, uint64_t nr)
{
    /* relocate_memory takes a 32-bit count; do it in chunks */
    for (uint64_t done = 0; done < nr;) {
        uint32_t n = nr - done > 0x10000 ? 0x10000 : (uint32_t)(nr - done);
        if (xendevicemodel_relocate_memory(X.dmod, X.p.domid, n, src_gfn + done, dst_gfn + done) < 0) {
            int e = errno;
            LOG_GUEST("xen", "relocate %llu pages %#llx -> %#llx failed: %s", (unsigned long long)nr,
                      (unsigned long long)src_gfn, (unsigned long long)dst_gfn, strerror(e));
            return -e;
        }
        done += n;
    }
    xendevicemodel_pin_memory_cacheattr(X.dmod, X.p.domid, dst_gfn, dst_gfn + nr - 1,
                                        XEN_DOMCTL_MEM_CACHEATTR_WB);
    return 0;
}

int hv_track_dirty_vram(uint64_t first_gfn, uint32_t nr, uint8_t *bitmap)
{
    /* the library wants unsigned longs; keep our byte interface */
    size_t words = ((size_t)nr + 63) / 64;
    unsigned long *bm = g_new0(unsigned long, words ? words : 1);
    int rc = 0;
    if (xendevicemodel_track_dirty_vram(X.dmod, X.p.domid, first_gfn, nr, bm) < 0)
        rc = -errno;
    else if (nr)
        memcpy(bitmap, bm, ((size_t)nr + 7) / 8);
    g_free(bm);
    return rc;
}

int hv_set_ram_readonly(uint64_t gfn, uint64_t nr, bool ro)
{
    if (nr > UINT32_MAX)
        return -EINVAL;
    if (xendevicemodel_set_mem_type(X.dmod, X.p.domid, ro ? HVMMEM_ram_ro : HVMMEM_ram_rw, gfn, (uint32_t)nr) < 0)
        return -errno;
    return 0;
}

/* ---- interrupts and power ------------------------------------------------------ */

int hv_set_isa_irq(unsigned irq, int level)
{
    if (irq > 15)
        return -EINVAL;
    return xendevicemodel_set_isa_irq_level(X.dmod, X.p.domid, (uint8_t)irq, level ? 1 : 0) < 0 ? -errno : 0;
}

int hv_set_pci_intx(unsigned dev, unsigned pin, int level)
{
    if (dev > 31 || pin > 3)
        return -EINVAL;
    return xendevicemodel_set_pci_intx_level(X.dmod, X.p.domid, 0, 0, (uint8_t)dev, (uint8_t)pin,
                                             level ? 1 : 0) < 0 ? -errno : 0;
}

int hv_set_pci_link_route(unsigned link, unsigned isa_irq)
{
    if (link > 3 || isa_irq > 15)
        return -EINVAL;
    return xendevicemodel_set_pci_link_route(X.dmod, X.p.domid, (uint8_t)link, (uint8_t)isa_irq) < 0 ? -errno : 0;
}

int hv_inject_msi(uint64_t addr, uint32_t data)
{
    return xendevicemodel_inject_msi(X.dmod, X.p.domid, addr, data) < 0 ? -errno : 0;
}

int hv_shutdown(unsigned reason)
{
    log_msg("xen", "guest requested %s", reason == HV_SHUTDOWN_POWEROFF ? "power-off" :
                                         reason == HV_SHUTDOWN_REBOOT ? "reboot" : "shutdown");
    if (xendevicemodel_shutdown(X.dmod, X.p.domid, reason) < 0) {
        if (errno != ENOTTY)
            return -errno;
        if (xc_domain_shutdown(X.xch, X.p.domid, (int)reason) < 0)
            return -errno;
    }
    machine_guest_shutdown(reason);
    return 0;
}

int hv_set_acpi_s_state(unsigned state)
{
    if (xc_hvm_param_set(X.xch, X.p.domid, HVM_PARAM_ACPI_S_STATE, state) < 0)
        return -errno;
    machine_guest_sleep_state(state);
    return 0;
}

/* ---- backends for the dispatcher and the PCI bus ------------------------------- */

static int map_range(void *opaque, enum io_space space, uint64_t first, uint64_t last, bool map)
{
    int is_mmio = space == IO_MMIO;
    int rc = map ? xendevicemodel_map_io_range_to_ioreq_server(X.dmod, X.p.domid, X.id, is_mmio, first, last)
                 : xendevicemodel_unmap_io_range_from_ioreq_server(X.dmod, X.p.domid, X.id, is_mmio, first, last);
    if (rc < 0) {
        rc = -errno;
        log_msg("xen", "%s %s range %#llx-%#llx: %s", map ? "map" : "unmap", is_mmio ? "MMIO" : "port",
                (unsigned long long)first, (unsigned long long)last, strerror(-rc));
    }
    return rc;
}

static int map_pcidev(void *opaque, uint8_t devfn, bool map)
{
    int rc = map ? xendevicemodel_map_pcidev_to_ioreq_server(X.dmod, X.p.domid, X.id, 0, 0, devfn >> 3, devfn & 7)
                 : xendevicemodel_unmap_pcidev_from_ioreq_server(X.dmod, X.p.domid, X.id, 0, 0, devfn >> 3,
                                                                 devfn & 7);
    return rc < 0 ? -errno : 0;
}

static const struct io_backend io_backend = {.map = map_range};
static const struct pci_backend pci_backend = {.map_dev = map_pcidev};

/* ---- ioreq handling ------------------------------------------------------------ */

static void invalidate_mapcache(void)
{
    /* The p2m changed under our mappings (ballooning): map guest RAM again. */
    ram_unmap(&X.ram[0]);
    ram_unmap(&X.ram[1]);
    ram_map_all();
}

static void handle_request(ioreq_t *req)
{
    switch (req->type) {
    case IOREQ_TYPE_PIO:
        X.stats.pio++;
        X.stats.bad += !ioreq_dispatch(req);
        break;
    case IOREQ_TYPE_COPY:
        X.stats.mmio++;
        X.stats.bad += !ioreq_dispatch(req);
        break;
    case IOREQ_TYPE_PCI_CONFIG:
        X.stats.pci_config++;
        X.stats.bad += !ioreq_dispatch(req);
        break;
    case IOREQ_TYPE_TIMEOFFSET:
        X.stats.timeoffset++; /* the guest set its RTC; nothing here depends on it */
        break;
    case IOREQ_TYPE_INVALIDATE:
        X.stats.invalidate++;
        invalidate_mapcache();
        break;
    default:
        X.stats.bad++;
        LOG_GUEST("xen", "ioreq of unknown type %u ignored", req->type);
        if (req->dir == IOREQ_READ && !req->data_is_ptr)
            req->data = ~0ULL;
        break;
    }
}

static void drain_buffered(void)
{
    buffered_iopage_t *b = X.buf;
    for (;;) {
        uint32_t rp = __atomic_load_n(&b->read_pointer, __ATOMIC_ACQUIRE);
        uint32_t wp = __atomic_load_n(&b->write_pointer, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&b->read_pointer, __ATOMIC_ACQUIRE) != rp)
            continue; /* Xen canonicalised the pair under us: read again */
        if (rp == wp)
            return;
        if (wp - rp > IOREQ_BUFFER_SLOT_NUM) {
            X.stats.bad++;
            LOG_GUEST("xen", "buffered ring pointers inconsistent (read %u write %u)", rp, wp);
            return;
        }
        buf_ioreq_t s = b->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM];
        unsigned size = 1u << s.size, slots = 1;
        uint64_t data = s.data;
        if (size == 8) {
            if (wp - rp < 2) {
                X.stats.bad++;
                LOG_GUEST("xen", "buffered ring: half of an 8-byte request");
                return;
            }
            data |= (uint64_t)b->buf_ioreq[(rp + 1) % IOREQ_BUFFER_SLOT_NUM].data << 32;
            slots = 2;
        }
        X.stats.buffered++;
        if ((s.type == IOREQ_TYPE_COPY || s.type == IOREQ_TYPE_PIO) && s.dir == IOREQ_WRITE) {
            ioreq_t w = {.addr = s.addr, .data = data, .count = 1, .size = size, .dir = IOREQ_WRITE,
                         .type = s.type};
            X.stats.bad += !ioreq_dispatch(&w);
        } else if (s.type == IOREQ_TYPE_TIMEOFFSET) {
            X.stats.timeoffset++;
        } else {
            X.stats.bad++;
            LOG_GUEST("xen", "buffered ring: request type %u dir %u ignored", s.type, s.dir);
        }
        __atomic_fetch_add(&b->read_pointer, slots, __ATOMIC_SEQ_CST);
    }
}

static void handle_vcpu(unsigned v)
{
    ioreq_t *slot = &X.sync->vcpu_ioreq[v];
    uint8_t *state = (uint8_t *)slot + 30; /* state:4 and the flags share this byte */
    if ((__atomic_load_n(state, __ATOMIC_ACQUIRE) & 0xf) != STATE_IOREQ_READY)
        return; /* spurious */
    ioreq_t req;
    memcpy(&req, slot, sizeof(req));
    X.stats.sync++;
    handle_request(&req);
    if (req.dir == IOREQ_READ && !req.data_is_ptr)
        slot->data = req.data;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    slot->state = STATE_IORESP_READY;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xenevtchn_notify(X.xce, X.vcpu_local[v]);
}

static int port_owner(evtchn_port_t port)
{
    if (port < XEN_PORT_TABLE)
        return X.port_to_vcpu[port];
    if (port == X.buf_local)
        return -2;
    for (unsigned v = 0; v < X.p.max_vcpus; v++)
        if (X.vcpu_local[v] == port)
            return (int)v;
    return -1;
}

/* One event per wake-up: with the fd non-blocking, another pending port
 * keeps it readable and the loop calls us again, which costs less than a
 * read that fails with EAGAIN after every request. */
static gboolean on_event(gint fd, GIOCondition cond, gpointer data)
{
    xenevtchn_port_or_error_t port = xenevtchn_pending(X.xce);
    if (port < 0) {
        if (errno == EAGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
            return G_SOURCE_CONTINUE; /* spurious wake-up */
        /* the event channel device is gone: nothing can reach us any more */
        log_msg("xen", "event channel lost (%s): shutting down", strerror(errno));
        X.source = 0;
        machine_quit();
        return G_SOURCE_REMOVE;
    }
    xenevtchn_unmask(X.xce, (evtchn_port_t)port);
    /* buffered writes logically precede any sync request; draining after
     * the unmask also closes the race with a push that found it masked */
    drain_buffered();
    int owner = port_owner((evtchn_port_t)port);
    if (owner >= 0)
        handle_vcpu((unsigned)owner);
    else if (owner == -1)
        LOG_GUEST("xen", "event on unknown port %d", (int)port);
    return G_SOURCE_CONTINUE;
}

/* ---- lifecycle ------------------------------------------------------------------- */

int xen_open(const struct xen_params *p)
{
    X.p = *p;
    X.seq = XEN_SEQ_NONE;
    for (unsigned i = 0; i < XEN_PORT_TABLE; i++)
        X.port_to_vcpu[i] = -1;
    X.xch = xc_interface_open(NULL, NULL, 0);
    X.dmod = xendevicemodel_open(NULL, 0);
    X.fmem = xenforeignmemory_open(NULL, 0);
    X.xce = xenevtchn_open(NULL, 0);
    if (!X.xch || !X.dmod || !X.fmem || !X.xce) {
        log_msg("xen", "cannot open the Xen interfaces (%s): is this dom0 with Xen running?", strerror(errno));
        goto fail;
    }
    X.seq = XEN_SEQ_HANDLES;
    if (xendevicemodel_create_ioreq_server(X.dmod, X.p.domid, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &X.id) < 0) {
        log_msg("xen", "cannot create an ioreq server for domain %u: %s", X.p.domid, strerror(errno));
        goto fail;
    }
    X.seq = XEN_SEQ_SERVER;
    void *addr = NULL;
    X.res = xenforeignmemory_map_resource(X.fmem, X.p.domid, XENMEM_resource_ioreq_server, X.id, 0, 2, &addr,
                                          PROT_READ | PROT_WRITE, 0);
    if (!X.res) {
        log_msg("xen", "cannot map the ioreq pages: %s", strerror(errno));
        goto fail;
    }
    X.buf = addr;
    X.sync = (shared_iopage_t *)((uint8_t *)addr + PAGE_SIZE);
    X.seq = XEN_SEQ_PAGES;
    if (ram_map_all() < 0)
        goto fail;
    X.seq = XEN_SEQ_RAM;
    uint64_t total = X.p.ram_mb << (20 - PAGE_SHIFT);
    X.next_dev_gfn = X.ram[1].nr ? GFN_4G + X.ram[1].nr : total;
    io_set_backend(&io_backend);
    pci_set_backend(&pci_backend);
    return 0;
fail:
    xen_close();
    return -1;
}

int xen_start(void)
{
    evtchn_port_t buf_remote;
    if (xendevicemodel_get_ioreq_server_info(X.dmod, X.p.domid, X.id, NULL, NULL, &buf_remote) < 0) {
        log_msg("xen", "cannot read the ioreq server's buffered port: %s", strerror(errno));
        return -1;
    }
    if (xendevicemodel_set_ioreq_server_state(X.dmod, X.p.domid, X.id, 1) < 0) {
        log_msg("xen", "cannot enable the ioreq server: %s", strerror(errno));
        return -1;
    }
    X.running = true;
    X.seq = XEN_SEQ_ENABLED;
    /* Xen publishes each vCPU's port when the server is enabled */
    X.vcpu_local = g_new0(evtchn_port_t, X.p.max_vcpus);
    for (unsigned v = 0; v < X.p.max_vcpus; v++) {
        xenevtchn_port_or_error_t l =
            xenevtchn_bind_interdomain(X.xce, X.p.domid, X.sync->vcpu_ioreq[v].vp_eport);
        if (l < 0) {
            log_msg("xen", "cannot bind the event channel of vCPU %u (port %u): %s", v,
                    X.sync->vcpu_ioreq[v].vp_eport, strerror(errno));
            return -1;
        }
        X.vcpu_local[v] = (evtchn_port_t)l;
        if ((evtchn_port_t)l < XEN_PORT_TABLE)
            X.port_to_vcpu[l] = (int16_t)v;
    }
    xenevtchn_port_or_error_t bl = xenevtchn_bind_interdomain(X.xce, X.p.domid, buf_remote);
    if (bl < 0) {
        log_msg("xen", "cannot bind the buffered-ioreq event channel: %s", strerror(errno));
        return -1;
    }
    X.buf_local = (evtchn_port_t)bl;
    if (X.buf_local < XEN_PORT_TABLE)
        X.port_to_vcpu[X.buf_local] = -2;
    int fd = xenevtchn_fd(X.xce);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    X.source = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_event, NULL);
    return 0;
}

int xen_set_running(bool running)
{
    if (X.seq < XEN_SEQ_ENABLED || running == X.running)
        return 0;
    if (running)
        drain_buffered();
    if (xendevicemodel_set_ioreq_server_state(X.dmod, X.p.domid, X.id, running) < 0)
        return -errno;
    X.running = running;
    return 0;
}

int xen_restrict(void)
{
    if (xentoolcore_restrict_all(X.p.domid) < 0) {
        log_msg("xen", "cannot restrict the Xen handles to domain %u: %s", X.p.domid, strerror(errno));
        return -1;
    }
    return 0;
}

void xen_close(void)
{
    if (X.source)
        g_source_remove(X.source);
    X.source = 0;
    switch (X.seq) {
    case XEN_SEQ_ENABLED:
        xendevicemodel_set_ioreq_server_state(X.dmod, X.p.domid, X.id, 0);
        /* fall through */
    case XEN_SEQ_RAM:
        ram_unmap(&X.ram[0]);
        ram_unmap(&X.ram[1]);
        /* fall through */
    case XEN_SEQ_PAGES:
        xenforeignmemory_unmap_resource(X.fmem, X.res);
        X.res = NULL;
        /* fall through */
    case XEN_SEQ_SERVER:
        xendevicemodel_destroy_ioreq_server(X.dmod, X.p.domid, X.id);
        /* fall through */
    case XEN_SEQ_HANDLES:
    case XEN_SEQ_NONE:
        break;
    }
    if (X.xce)
        xenevtchn_close(X.xce);
    if (X.fmem)
        xenforeignmemory_close(X.fmem);
    if (X.dmod)
        xendevicemodel_close(X.dmod);
    if (X.xch)
        xc_interface_close(X.xch);
    g_free(X.vcpu_local);
    memset(&X, 0, sizeof(X));
}

void xen_get_stats(struct xen_stats *st)
{
    *st = X.stats;
}
