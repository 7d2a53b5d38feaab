/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim — a simulated Xen for testing and benchmarking device models.
 *
 * The simulator lives in the calling (test) process.  It owns the machine
 * memory (one memfd), the guest's p2m, ioreq servers, event channels, IRQ
 * lines and a small xenstored.  The device model under test (xendm, or
 * Debian's qemu-xen) runs as a child process started by xsim_spawn_dm() with
 * LD_LIBRARY_PATH pointing at the libxen* shims, which forward every
 * hypervisor call to this simulator.  The test plays the guest: the guest_*
 * functions behave like CPU instructions and turn into real ioreqs following
 * Xen's routing rules (docs/xen-ioreq-and-xensim.md, Part A and C7).
 *
 * Threads: each guest_* call blocks like an instruction until the DM has
 * answered.  Calls for different vCPUs may run concurrently on different
 * threads; calls for one vCPU must not.  Everything else may be called from
 * any thread.
 *
 * Errors: if the DM dies or does not answer within the access timeout, the
 * access returns all-ones (reads) and the simulator records a sticky error,
 * readable with xsim_error(); xsim_dm_diag() describes the DM's exit status
 * and the tail of its stderr.
 */
#ifndef XENSIM_H
#define XENSIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xsim xsim;

struct xsim_config {
    unsigned ram_mb;          /* guest RAM; default 128 */
    unsigned lowmem_mb;       /* RAM below 4 GiB; default min(ram, 3840) */
    unsigned vcpus;           /* default 1, at most 128 */
    unsigned domid;           /* default 1 */
    unsigned max_extra_pages; /* frames the DM may populate; default 65536 */
    unsigned access_timeout_ms; /* per guest access; default 20000 */
    const char *shim_dir;     /* default: $XENSIM_SHIM_DIR or the build's */
    int verbose;              /* log hypervisor calls to stderr */
};

/* ---- lifecycle ---------------------------------------------------------- */
xsim *xsim_create(const struct xsim_config *cfg);
/* Start the DM: argv[0] is the program.  extra_env entries ("K=V") are added
 * to the environment.  stdout and stderr go to <dir>/dm.log.  Returns pid. */
pid_t xsim_spawn_dm(xsim *x, char *const argv[], char *const extra_env[]);
/* Wait until the DM enabled its ioreq server, bound every vCPU port and the
 * buffered port, and wrote device-model/<domid>/state = running.  0 when
 * ready; -1 on timeout or DM exit (xsim_dm_diag() says why). */
int xsim_wait_dm_ready(xsim *x, int timeout_ms);
/* Wait for the DM to exit; 0 and *status (wait status) or -1 on timeout. */
int xsim_wait_dm_exit(xsim *x, int timeout_ms, int *status);
/* Failure injection: "Xen went away" — close every connection the DM has
 * to the simulator (its control socket and event-channel pipes). */
void xsim_sever_dm(xsim *x);
/* SIGTERM the DM, wait up to timeout_ms, then SIGKILL; returns wait status. */
int xsim_stop_dm(xsim *x, int timeout_ms);
pid_t xsim_dm_pid(const xsim *x);
/* Stops a still-running DM, removes the temp dir, frees everything. */
void xsim_destroy(xsim *x);

const char *xsim_dir(const xsim *x); /* private temp dir (sockets, logs) */
const char *xsim_error(const xsim *x); /* sticky error or NULL */
/* "DM pid N exited with status S / killed by signal K / still running;
 * last lines of its output: ..." (static buffer per xsim). */
const char *xsim_dm_diag(xsim *x);

/* The guest API below acts on the current simulator: the last one created,
 * or the one chosen here. */
void xsim_select(xsim *x);
xsim *xsim_current(void);

/* ---- CPU-like accesses (vCPU 0; the _v variants name the vCPU) ---------- */
uint8_t guest_inb(uint16_t port);
uint16_t guest_inw(uint16_t port);
uint32_t guest_inl(uint16_t port);
void guest_outb(uint16_t port, uint8_t val);
void guest_outw(uint16_t port, uint16_t val);
void guest_outl(uint16_t port, uint32_t val);
uint32_t guest_in_v(unsigned vcpu, uint16_t port, unsigned size);
void guest_out_v(unsigned vcpu, uint16_t port, unsigned size, uint32_t val);
/* rep ins/outs: `count` elements of `size` bytes between port and guest RAM
 * at gpa (data_is_ptr).  0 or -1. */
int guest_ins(uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df);
int guest_outs(uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df);
int guest_ins_v(unsigned vcpu, uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df);
int guest_outs_v(unsigned vcpu, uint16_t port, unsigned size, uint64_t gpa, uint32_t count, int df);
uint64_t guest_mmio_read(uint64_t gpa, unsigned size);
void guest_mmio_write(uint64_t gpa, unsigned size, uint64_t val);
uint64_t guest_mmio_read_v(unsigned vcpu, uint64_t gpa, unsigned size);
void guest_mmio_write_v(unsigned vcpu, uint64_t gpa, unsigned size, uint64_t val);
/* rep movs between RAM and MMIO (either side may be RAM), rep stos. */
int guest_rep_movs(uint64_t dst_gpa, uint64_t src_gpa, unsigned size, uint32_t count, int df);
int guest_rep_stos(uint64_t gpa, unsigned size, uint64_t val, uint32_t count, int df);
/* Byte-wise memory access routed per page like a CPU: RAM directly, MMIO
 * as aligned 1/2/4/8-byte accesses. */
void guest_mem_read(uint64_t gpa, void *buf, size_t len);
void guest_mem_write(uint64_t gpa, const void *buf, size_t len);
/* Direct pointer to guest RAM if [gpa, gpa+len) is RAM backed by
 * consecutive frames, else NULL.  Stays valid while the p2m is unchanged. */
void *guest_ram_ptr(uint64_t gpa, size_t len);
/* PCI configuration cycles through 0xCF8/0xCFC. bdf = bus<<8|dev<<3|fn. */
uint32_t guest_pci_read(uint16_t bdf, unsigned reg, unsigned size);
void guest_pci_write(uint16_t bdf, unsigned reg, unsigned size, uint32_t val);

/* ---- interrupts ------------------------------------------------------------
 * Lines: 0-15 are the ISA IRQs (as the PIC sees them: ISA level OR the PCI
 * links routed there), 16-47 the IOAPIC GSIs that PCI INTx drive. */
#define XSIM_NR_LINES 48
int guest_irq_level(unsigned line);
/* 1 when the line is asserted or was pulsed since the previous wait/count
 * reset, 0 on timeout. */
int guest_wait_irq(unsigned line, int timeout_ms);
unsigned guest_irq_count(unsigned line); /* assertions (0->1 edges) so far */
int guest_wait_msi(uint64_t *addr, uint32_t *data, int timeout_ms);
int xsim_link_route(xsim *x, unsigned link); /* ISA irq or -1 (disabled) */

/* ---- firmware helpers ---------------------------------------------------- */
#define XSIM_MAX_PCI_FNS 64
struct xsim_pci_bar {
    uint64_t addr;
    uint64_t size; /* 0: not implemented */
    unsigned is_io : 1, is_64 : 1, is_prefetch : 1;
};
struct xsim_pci_fn {
    uint16_t bdf;
    uint16_t vendor, device;
    uint32_t class_rev; /* class code << 8 | revision */
    uint8_t header_type;
    uint8_t irq_pin, irq_line;
    uint16_t subsys_vendor, subsys_id;
    struct xsim_pci_bar bar[6];
    struct xsim_pci_bar rom;
};
/* What hvmloader does: PIIX3 PIRQ routing (links 0-3 -> ISA 5, 10, 11, 5),
 * enumerate bus 0, size and assign BARs (largest first; MMIO upward from
 * 0xF0000000, I/O from 0xC000), enable decode + bus mastering, write the
 * interrupt line.  Returns the number of functions found, or -1. */
int xsim_fw_pci_setup(xsim *x);
/* The functions found by the last xsim_fw_pci_setup (n set). */
const struct xsim_pci_fn *xsim_fw_pci_functions(xsim *x, unsigned *n);
/* Copy an option ROM image into guest RAM at 0xC0000.  0 or -1. */
int xsim_fw_load_rom(xsim *x, uint16_t bdf, const char *path);

/* Real-mode register file for ROM code run under Unicorn. */
struct x86regs {
    uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
    uint16_t ds, es;
    uint32_t eflags;
};
/* Run the option ROM's init entry (C000:0003, AX = bdf) on vCPU 0.  0 or -1. */
int xsim_rom_init(xsim *x, uint16_t bdf);
/* Call INT 10h with regs in/out.  0 or -1 (the ROM did not return). */
int xsim_int10(xsim *x, struct x86regs *regs);

/* ---- Xen-side events ------------------------------------------------------ */
int xsim_send_timeoffset(xsim *x, int64_t offset);
int xsim_invalidate_mapcache(xsim *x);

/* ---- inspection ----------------------------------------------------------- */
#define XSIM_LAT_BUCKETS 160
struct xsim_stats {
    uint64_t pio, copy, pci_config, timeoffset, invalidate; /* by type */
    uint64_t sync, buffered, buffered_full_fallback;
    uint64_t unclaimed_reads, unclaimed_writes;
    uint64_t dirty_vram; /* track_dirty_vram fetches (tracking on: nr > 0) */
    /* sync round trips measured at the guest: bucket i counts latencies in
     * [2^(i/4), 2^((i+1)/4)) ns (quarter-octave buckets). */
    uint64_t lat_hist[XSIM_LAT_BUCKETS];
    uint64_t lat_count, lat_sum_ns;
    uint64_t dm_cpu_ns; /* user+system time of the DM so far */
    uint64_t dm_rss_kb; /* VmRSS of the DM */
};
void xsim_stats(xsim *x, struct xsim_stats *st);
void xsim_stats_reset(xsim *x);
/* latency percentile (0..100) from the histogram, in ns */
uint64_t xsim_lat_percentile(const struct xsim_stats *st, double pct);
/* SHUTDOWN_* reason the DM asked for, or -1. */
int xsim_shutdown_reason(xsim *x);
int xsim_restricted(xsim *x); /* 1 once the DM called xentoolcore_restrict_all */
unsigned xsim_nr_ioreq_servers(xsim *x); /* ioreq servers that exist now */
uint64_t xsim_hvm_param(xsim *x, unsigned index);
/* Pointer to the frames now at guest-physical bar_gpa (e.g. a VRAM BAR). */
void *xsim_vram_ptr(xsim *x, uint64_t bar_gpa, size_t len);
/* Text the guest wrote to the debug ports 0xE9 and 0x402 (NUL-terminated). */
const char *xsim_debug_log(xsim *x);
/* Names of shim calls that failed with ENOSYS, comma separated. */
const char *xsim_enosys_log(xsim *x);

/* Xenstore (absolute paths).  read returns a malloc'd NUL-terminated copy
 * or NULL (errno). */
char *xsim_xs_read(xsim *x, const char *path);
int xsim_xs_write(xsim *x, const char *path, const char *value);
const char *xsim_xs_socket(const xsim *x);

#ifdef __cplusplus
}
#endif
#endif
