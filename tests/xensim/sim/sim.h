/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim internals: the simulated hypervisor's state, shared by the files of
 * libxensim.  One big lock (x->lock) protects everything except the IRQ
 * state (own lock), the xenstored (own thread and lock) and the ioreq pages
 * themselves, which are shared with the DM and follow the ioreq protocol.
 *
 * Threads:
 *  - the server thread (server.c) answers the DM's shim requests, watches the
 *    DM's pidfd and reaps it;
 *  - guest threads (the test, one per vCPU at most) run guest_* accesses:
 *    route under the lock, then wait for the DM without it;
 *  - the xenstored thread (xenstored.c).
 */
#ifndef XSIM_SIM_H
#define XSIM_SIM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include "tests/xensim/xensim.h"
#include "tests/xensim/proto.h"
#include "bufring.h"
#include "evtchn.h"
#include "irq.h"
#include "rangeset.h"

#define XSIM_PAGE_SHIFT 12
#define XSIM_PAGE_SIZE 4096UL
/* Guest-physical space the p2m covers: 64 GiB. */
#define XSIM_P2M_ENTRIES (1UL << 24)
/* Machine memory (sparse memfd): 64 GiB of frames. */
#define XSIM_MEM_BYTES (64UL << 30)
#define XSIM_MAX_SERVERS 8
#define XSIM_MAX_VCPUS 128
/* Xen caps each ioreq-server rangeset at 256 ranges (MAX_NR_IO_RANGES). */
#define XSIM_MAX_RANGES 256
#define XSIM_MAX_CONNS 16
#define XSIM_MAX_EV_HANDLES 64
#define XSIM_DEBUG_LOG_MAX 65536

/* p2m entry: 0 = hole; otherwise frame + 1 in the low 48 bits, type above. */
#define P2M_FRAME_MASK ((1ULL << 48) - 1)
#define P2M_TYPE_SHIFT 56
#define P2M_RAM_RW 0
#define P2M_RAM_RO 1

struct xsim_server {
    bool exists, enabled;
    int bufioreq; /* HVM_IOREQSRV_BUFIOREQ_* */
    uint64_t buf_frame, ioreq_frame;
    buffered_iopage_t *buf_page;
    shared_iopage_t *sync_page;
    uint32_t vcpu_port[XSIM_MAX_VCPUS];
    uint32_t buf_port;
    struct rangeset ranges[3]; /* XEN_DMOP_IO_RANGE_PORT, _MEMORY, _PCI */
};

/* A DM evtchn handle: the pipe the simulator writes fired local ports to. */
struct xsim_evh {
    bool used;
    int conn;   /* connection that opened it */
    int pipe_w; /* write end; the DM holds the read end */
    uint32_t *state;      /* mask/pending words shared with the DM, by local port */
    uint64_t state_frame; /* the machine frame holding them */
};

struct xsim_conn {
    int fd; /* -1 when free */
    pid_t pid;
};

struct xsim {
    struct xsim_config cfg;
    char *dir, *ctl_path, *xs_path, *log_path;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* readiness, DM exit */

    /* machine memory */
    int memfd;
    uint8_t *mem; /* the whole memfd, mapped shared */
    uint64_t next_frame, ram_pages, extra_pages, extra_used;
    uint64_t *p2m;

    /* hypervisor objects */
    struct xsim_server srv[XSIM_MAX_SERVERS];
    struct evtchn_table ev;
    int port_efd[EVTCHN_MAX_PORTS]; /* per remote port: DM->Xen notify eventfd */
    struct xsim_evh evh[XSIM_MAX_EV_HANDLES];
    struct irq_state irq;
    uint64_t hvm_param[HVM_NR_PARAMS];
    int shutdown_reason;
    int restricted;
    uint64_t dv_first;
    uint32_t dv_nr;
    uint8_t *dv_shadow;

    /* Xen-internal devices */
    uint32_t cf8;
    uint8_t rtc_index; /* CMOS index last written to 0x70 */

    /* server thread and DM */
    pthread_t thread;
    bool thread_running;
    int listen_fd, wake_pipe[2];
    struct xsim_conn conn[XSIM_MAX_CONNS];
    pid_t dm_pid;
    int dm_pidfd;
    bool dm_exited;
    int dm_status;
    bool state_running; /* device-model/<domid>/state = running seen */
    struct xsd *xsd;

    /* guest side */
    bool vcpu_busy[XSIM_MAX_VCPUS];
    int vcpu_efd_cache[XSIM_MAX_VCPUS];

    /* inspection */
    struct xsim_stats stats;
    char *debug_log;
    size_t debug_len;
    char enosys_log[1024];
    char error[512];
    char diag[4096];
    void *rom; /* Unicorn state (rom.c) */
    struct xsim_pci_fn fw_fn[XSIM_MAX_PCI_FNS];
    unsigned fw_nfn;
};

/* xensim.c */
void xsim_log(xsim *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xsim_set_error(xsim *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool xsim_ready_locked(xsim *x);

/* mem.c */
int mem_init(xsim *x);
void mem_fini(xsim *x);
int64_t mem_alloc_frame(xsim *x);
int64_t mem_gfn_to_frame(xsim *x, uint64_t gfn); /* -ENOENT for a hole */
int mem_gfn_type(xsim *x, uint64_t gfn);
int mem_populate(xsim *x, uint64_t gfn, unsigned order);
int mem_relocate(xsim *x, uint64_t src, uint64_t dst, uint32_t nr);
int mem_set_type(xsim *x, uint64_t first, uint32_t nr, unsigned hvmmem_type);
static inline void *mem_frame_ptr(xsim *x, uint64_t frame)
{
    return x->mem + (frame << XSIM_PAGE_SHIFT);
}
int mem_dirty_vram(xsim *x, uint64_t first, uint32_t nr, uint8_t *bitmap);

/* rom.c */
void rom_free(xsim *x);

/* server.c */
int server_start(xsim *x);
void server_stop(xsim *x);
void server_wake(xsim *x);

/* ioreq.c */
int ioreq_create(xsim *x, int bufioreq, uint32_t *id);
int ioreq_destroy(xsim *x, uint32_t id);
int ioreq_set_state(xsim *x, uint32_t id, bool enable);
int ioreq_range(xsim *x, uint32_t id, bool map, unsigned type, uint64_t s, uint64_t e);
int ioreq_frame(xsim *x, uint32_t id, uint64_t idx, uint64_t *frame);
/* Send one access to the DM the way Xen would.  Returns 0 and the read
 * value in *data, or -1 after recording an error. */
struct xsim_access {
    unsigned vcpu;
    uint8_t type; /* IOREQ_TYPE_PIO / COPY (PCI_CONFIG is decided here) */
    uint8_t dir;  /* IOREQ_READ / IOREQ_WRITE */
    uint8_t df, data_is_ptr;
    uint32_t size, count;
    uint64_t addr, data;
};
int ioreq_access(xsim *x, struct xsim_access *a);
int ioreq_broadcast(xsim *x, uint8_t type, uint64_t data, bool buffered);
void deliver_port(void *opaque, int handle, uint32_t local);

#endif
