/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seam between the libxen* shims and the simulator, tested without a
 * device-model process.
 *
 * Part 1 talks to the simulator's control socket directly and sends it
 * broken messages (runts, lying lengths, unknown ops, short payloads,
 * another connection's evtchn handle, a wrong domid, a wrong protocol
 * version): each gets one reply with the right -errno, and afterwards the
 * same connection still completes a normal HELLO whose memfd is the
 * machine memory.
 *
 * Part 2 loads the shims into this process with dlopen() (this program
 * never links the real libxen*), points them at the simulator with
 * XENSIM_SOCKET and calls them the way a device model does: ioreq-server
 * rangesets, a small device model on a second thread that follows the ioreq
 * protocol (sync slots on two vCPUs, the buffered ring, rep string
 * operations with data_is_ptr and both directions), the IRQ dm_ops, guest
 * memory (populate, per-page map2 errors, relocation that mappings survive,
 * dirty VRAM), HVM params, shutdown and xentoolcore restriction.
 *
 * The tests of part 2 share one simulated domain (the shims connect once
 * per process) and run in the order they are added; restriction is last
 * because it cannot be undone.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoolcore.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include "tests/xensim/proto.h"
#include "tests/xensim/sim/bufring.h"
#include "tests/xensim/xensim.h"

#define PAGE             4096u
#define REPLY_TIMEOUT_MS 5000

/* ======================================================================
 * Part 1: raw control socket
 * ====================================================================== */

static int raw_connect(xsim *x)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    g_assert_cmpint(fd, >=, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_assert_cmpint(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl", xsim_dir(x)), <,
                    (int)sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void raw_send_bytes(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(send(fd, buf, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

/* A header (with whatever len the caller claims) followed by plen bytes. */
static void raw_send(int fd, uint16_t op, uint16_t flags, uint32_t seq, uint32_t len_field,
                     const void *payload, size_t plen)
{
    struct xsp_hdr h = {.op = op, .flags = flags, .seq = seq, .len = len_field};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, plen}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = plen ? 2 : 1};
    g_assert_cmpint(sendmsg(fd, &msg, MSG_NOSIGNAL), ==, (ssize_t)(sizeof(h) + plen));
}

/* One reply within the timeout: header, up to max payload bytes, the
 * SCM_RIGHTS fd (or -1).  Returns the payload length. */
static size_t raw_recv(int fd, struct xsp_hdr *h, void *payload, size_t max, int *fd_out)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, REPLY_TIMEOUT_MS);
    if (n != 1)
        g_error("no reply from the simulator within %d ms", REPLY_TIMEOUT_MS);
    static uint8_t buf[XSP_MAX_MSG];
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    ssize_t got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    g_assert_cmpint(got, >=, (ssize_t)sizeof(*h));
    g_assert_false(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
    int rfd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&rfd, CMSG_DATA(c), sizeof(int));
    memcpy(h, buf, sizeof(*h));
    size_t plen = (size_t)got - sizeof(*h);
    g_assert_cmpuint(h->len, ==, plen);
    if (payload)
        memcpy(payload, buf + sizeof(*h), plen < max ? plen : max);
    if (fd_out)
        *fd_out = rfd;
    else
        g_assert_cmpint(rfd, ==, -1);
    return plen;
}

/* The next reply is exactly an error header for (op, seq). */
static void expect_status(int fd, uint16_t op, uint32_t seq, int32_t status)
{
    struct xsp_hdr h;
    size_t plen = raw_recv(fd, &h, NULL, 0, NULL);
    g_assert_cmpuint(h.op, ==, op);
    g_assert_cmpuint(h.seq, ==, seq);
    g_assert_cmpint(h.status, ==, status);
    g_assert_cmpuint(plen, ==, 0);
}

static void test_raw_bad_input(void)
{
    struct xsim_config cfg = {0};
    xsim *x = xsim_create(&cfg);
    g_assert_nonnull(x);
    xsim_select(x);
    int fd = raw_connect(x);
    int fd2 = raw_connect(x);

    /* A runt: shorter than a header.  The reply cannot echo anything. */
    raw_send_bytes(fd, "\x01\x00\x00", 3);
    expect_status(fd, 0, 0, -EBADMSG);

    /* The header claims more, and then less, than what arrived. */
    uint64_t pad[4] = {0};
    raw_send(fd, XSP_HVM_PARAM_GET, 0, 10, 32, pad, 8);
    expect_status(fd, XSP_HVM_PARAM_GET, 10, -EBADMSG);
    raw_send(fd, XSP_HVM_PARAM_GET, 0, 11, 8, pad, 32);
    expect_status(fd, XSP_HVM_PARAM_GET, 11, -EBADMSG);

    /* Larger than any message may be (the length field is consistent). */
    size_t big = XSP_MAX_MSG + 4096;
    uint8_t *huge = g_malloc0(big);
    raw_send(fd, XSP_POPULATE, 0, 12, (uint32_t)(big - sizeof(struct xsp_hdr)), huge,
             big - sizeof(struct xsp_hdr));
    expect_status(fd, XSP_POPULATE, 12, -EBADMSG);
    g_free(huge);

    /* A bad message flagged NOREPLY gets no reply: the next reply belongs
     * to the next request. */
    raw_send(fd, XSP_HVM_PARAM_GET, XSP_F_NOREPLY, 13, 64, pad, 8);

    /* Unknown op, with and without payload. */
    raw_send(fd, 999, 0, 14, 0, NULL, 0);
    expect_status(fd, 999, 14, -ENOSYS);
    raw_send(fd, XSP_OP_MAX, 0, 15, 16, pad, 16);
    expect_status(fd, XSP_OP_MAX, 15, -ENOSYS);

    /* A payload too short for its op. */
    raw_send(fd, XSP_IRQ_ISA, 0, 16, 4, pad, 4);
    expect_status(fd, XSP_IRQ_ISA, 16, -EBADMSG);

    /* POPULATE whose n exceeds the gfns sent (2 gfns, n = 1000). */
    struct {
        struct xsp_populate q;
        uint64_t gfn[2];
    } pop = {.q = {.domid = 1, .order = 0, .n = 1000}, .gfn = {0x100000, 0x100001}};
    raw_send(fd, XSP_POPULATE, 0, 17, sizeof(pop), &pop, sizeof(pop));
    expect_status(fd, XSP_POPULATE, 17, -EBADMSG);
    /* ... and nothing was populated on the way. */
    g_assert_null(xsim_vram_ptr(x, 0x100000ULL << 12, PAGE));

    /* An evtchn handle that belongs to the other connection. */
    raw_send(fd2, XSP_EV_OPEN, 0, 1, 0, NULL, 0);
    struct xsp_hdr h;
    struct xsp_ev ev = {0};
    int pipe_fd = -1;
    raw_recv(fd2, &h, &ev, sizeof(ev), &pipe_fd);
    g_assert_cmpint(h.status, ==, 0);
    g_assert_cmpint(pipe_fd, >=, 0);
    uint32_t other = ev.handle;
    struct xsp_ev q = {.handle = other, .domid = 1, .port = 1};
    raw_send(fd, XSP_EV_UNMASK, 0, 20, sizeof(q), &q, sizeof(q));
    expect_status(fd, XSP_EV_UNMASK, 20, -EBADF);
    raw_send(fd, XSP_EV_BIND, 0, 21, sizeof(q), &q, sizeof(q));
    expect_status(fd, XSP_EV_BIND, 21, -EBADF);
    raw_send(fd, XSP_EV_UNBIND, 0, 22, sizeof(q), &q, sizeof(q));
    expect_status(fd, XSP_EV_UNBIND, 22, -EBADF);
    raw_send(fd, XSP_EV_CLOSE, 0, 23, sizeof(q), &q, sizeof(q));
    expect_status(fd, XSP_EV_CLOSE, 23, -EBADF);
    /* A handle number nobody opened, and one out of range. */
    struct xsp_ev q_unused = {.handle = other + 1, .domid = 1, .port = 1};
    raw_send(fd, XSP_EV_UNMASK, 0, 24, sizeof(q_unused), &q_unused, sizeof(q_unused));
    expect_status(fd, XSP_EV_UNMASK, 24, -EBADF);
    struct xsp_ev q_range = {.handle = 0xffffffffu, .domid = 1, .port = 1};
    raw_send(fd, XSP_EV_BIND, 0, 25, sizeof(q_range), &q_range, sizeof(q_range));
    expect_status(fd, XSP_EV_BIND, 25, -EBADF);
    /* The owner's handle survived all that: its bind gets past the handle
     * check and fails on the domid, then on the (unallocated) port. */
    struct xsp_ev q_own = {.handle = other, .domid = 2, .port = 1};
    raw_send(fd2, XSP_EV_BIND, 0, 2, sizeof(q_own), &q_own, sizeof(q_own));
    expect_status(fd2, XSP_EV_BIND, 2, -ESRCH);
    q_own.domid = 1;
    raw_send(fd2, XSP_EV_BIND, 0, 3, sizeof(q_own), &q_own, sizeof(q_own));
    expect_status(fd2, XSP_EV_BIND, 3, -EINVAL);
    raw_send(fd2, XSP_EV_CLOSE, 0, 4, sizeof(q_own), &q_own, sizeof(q_own));
    expect_status(fd2, XSP_EV_CLOSE, 4, 0);
    close(pipe_fd);

    /* The wrong domain. */
    struct xsp_hvm_param hp = {.domid = 2, .index = HVM_PARAM_ACPI_S_STATE};
    raw_send(fd, XSP_HVM_PARAM_GET, 0, 30, sizeof(hp), &hp, sizeof(hp));
    expect_status(fd, XSP_HVM_PARAM_GET, 30, -ESRCH);
    struct xsp_small sm = {.domid = 0, .a = 4, .b = 1};
    raw_send(fd, XSP_IRQ_ISA, 0, 31, sizeof(sm), &sm, sizeof(sm));
    expect_status(fd, XSP_IRQ_ISA, 31, -ESRCH);
    g_assert_cmpint(guest_irq_level(4), ==, 0);

    /* A protocol version we do not speak. */
    struct xsp_hello hello = {.version = XSP_VERSION + 1, .pid = (uint32_t)getpid()};
    raw_send(fd, XSP_HELLO, 0, 40, sizeof(hello), &hello, sizeof(hello));
    expect_status(fd, XSP_HELLO, 40, -EPROTO);

    /* After all that, the same connection still works. */
    hello.version = XSP_VERSION;
    raw_send(fd, XSP_HELLO, 0, 41, sizeof(hello), &hello, sizeof(hello));
    struct xsp_hello_rep rep = {0};
    int memfd = -1;
    size_t plen = raw_recv(fd, &h, &rep, sizeof(rep), &memfd);
    g_assert_cmpuint(h.op, ==, XSP_HELLO);
    g_assert_cmpuint(h.seq, ==, 41);
    g_assert_cmpint(h.status, ==, 0);
    g_assert_cmpuint(plen, ==, sizeof(rep));
    g_assert_cmpuint(rep.domid, ==, 1);
    g_assert_cmpuint(rep.nr_vcpus, ==, 1);
    g_assert_cmpint(memfd, >=, 0);
    struct stat st;
    g_assert_cmpint(fstat(memfd, &st), ==, 0);
    g_assert_cmpuint(rep.memfd_size, >, 0);
    g_assert_cmpuint((uint64_t)st.st_size, ==, rep.memfd_size);

    /* The memfd is the machine memory: a frame found with P2M_LOOKUP and
     * mapped from it is the guest's RAM page (and the VGA hole has none). */
    struct {
        struct xsp_p2m_lookup q;
        uint64_t gfn[2];
    } lk = {.q = {.domid = 1, .n = 2}, .gfn = {0x10, 0xa0}};
    raw_send(fd, XSP_P2M_LOOKUP, 0, 42, sizeof(lk), &lk, sizeof(lk));
    int64_t frames[2] = {0, 0};
    plen = raw_recv(fd, &h, frames, sizeof(frames), NULL);
    g_assert_cmpint(h.status, ==, 0);
    g_assert_cmpuint(plen, ==, sizeof(frames));
    g_assert_cmpint(frames[0], >=, 0);
    g_assert_cmpint(frames[1], ==, -ENOENT);
    g_assert_cmpuint((uint64_t)frames[0] * PAGE + PAGE, <=, rep.memfd_size);
    uint8_t *pg =
        mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, (off_t)frames[0] * PAGE);
    g_assert_true(pg != MAP_FAILED);
    memcpy(pg + 100, "machine memory", 15);
    uint8_t *ram = guest_ram_ptr(0x10000, PAGE);
    g_assert_nonnull(ram);
    g_assert_cmpmem(ram + 100, 15, "machine memory", 15);
    munmap(pg, PAGE);
    close(memfd);

    g_assert_null(xsim_error(x));
    close(fd);
    close(fd2);
    xsim_destroy(x);
}

/* ======================================================================
 * Part 2: the shims in this process
 * ====================================================================== */

#define DOMID    3
#define NR_VCPUS 2
#define RAM_MB   128

/* Everything used from the shims, with the real prototypes. */
#define DM_FNS(X)                                                                                  \
    X(xendevicemodel_open)                                                                         \
    X(xendevicemodel_close)                                                                        \
    X(xendevicemodel_create_ioreq_server) X(xendevicemodel_destroy_ioreq_server)                   \
        X(xendevicemodel_get_ioreq_server_info) X(xendevicemodel_set_ioreq_server_state)           \
            X(xendevicemodel_map_io_range_to_ioreq_server)                                         \
                X(xendevicemodel_unmap_io_range_from_ioreq_server)                                 \
                    X(xendevicemodel_set_pci_intx_level) X(xendevicemodel_set_isa_irq_level)       \
                        X(xendevicemodel_set_pci_link_route) X(xendevicemodel_inject_msi)          \
                            X(xendevicemodel_inject_event) X(xendevicemodel_track_dirty_vram)      \
                                X(xendevicemodel_relocate_memory) X(xendevicemodel_shutdown)       \
                                    X(xendevicemodel_nr_vcpus)
#define FMEM_FNS(X)                                                                                \
    X(xenforeignmemory_open)                                                                       \
    X(xenforeignmemory_close)                                                                      \
    X(xenforeignmemory_map2) X(xenforeignmemory_unmap) X(xenforeignmemory_map_resource)            \
        X(xenforeignmemory_unmap_resource)
#define EVTCHN_FNS(X)                                                                              \
    X(xenevtchn_open)                                                                              \
    X(xenevtchn_close)                                                                             \
    X(xenevtchn_fd) X(xenevtchn_bind_interdomain) X(xenevtchn_unbind) X(xenevtchn_notify)          \
        X(xenevtchn_pending) X(xenevtchn_unmask)
#define CTRL_FNS(X)                                                                                \
    X(xc_interface_open)                                                                           \
    X(xc_interface_close)                                                                          \
    X(xc_domain_populate_physmap_exact) X(xc_set_hvm_param) X(xc_get_hvm_param)
#define TOOLCORE_FNS(X) X(xentoolcore_restrict_all)

#define DECLARE_FN(fn) __typeof__(fn) *fn;
static struct {
    DM_FNS(DECLARE_FN)
    FMEM_FNS(DECLARE_FN)
    EVTCHN_FNS(DECLARE_FN)
    CTRL_FNS(DECLARE_FN)
    TOOLCORE_FNS(DECLARE_FN)
} L;

static xsim *shared_x;
static char shims_error[512];

static void *open_shim(const char *dir, const char *soname)
{
    char *path = g_build_filename(dir, soname, NULL);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(shims_error, sizeof(shims_error), "dlopen(%s): %s", path, dlerror());
    g_free(path);
    return h;
}

static bool load_sym(void *h, const char *name, void *slot)
{
    void *p = h ? dlsym(h, name) : NULL;
    if (!p) {
        if (!shims_error[0])
            snprintf(shims_error, sizeof(shims_error), "dlsym(%s) failed", name);
        return false;
    }
    memcpy(slot, &p, sizeof(p));
    return true;
}

#define LOAD_FN(fn) ok = load_sym(h, #fn, &L.fn) && ok;

/* The shared domain and the shims, once.  False (test failed, with the
 * reason) when the shims cannot be loaded. */
static bool setup(void)
{
    if (shared_x) {
        xsim_select(shared_x);
        return true;
    }
    if (shims_error[0])
        goto fail;
    const char *dir = getenv("XENSIM_SHIM_DIR");
    if (!dir || !*dir) {
        snprintf(shims_error, sizeof(shims_error),
                 "XENSIM_SHIM_DIR is not set: run this test through `make check`, or set it "
                 "to <build>/tests/xensim/lib");
        goto fail;
    }
    struct xsim_config cfg = {.ram_mb = RAM_MB, .vcpus = NR_VCPUS, .domid = DOMID};
    xsim *x = xsim_create(&cfg);
    if (!x) {
        snprintf(shims_error, sizeof(shims_error), "xsim_create failed");
        goto fail;
    }
    char *sock = g_strdup_printf("%s/ctl", xsim_dir(x));
    g_setenv("XENSIM_SOCKET", sock, TRUE);
    g_free(sock);

    bool ok = true;
    void *h = open_shim(dir, "libxendevicemodel.so.1");
    DM_FNS(LOAD_FN)
    /* the real libxentoolcore, which every shim links */
    TOOLCORE_FNS(LOAD_FN)
    h = open_shim(dir, "libxenforeignmemory.so.1");
    FMEM_FNS(LOAD_FN)
    h = open_shim(dir, "libxenevtchn.so.1");
    EVTCHN_FNS(LOAD_FN)
    h = open_shim(dir, "libxenctrl.so.4.17");
    CTRL_FNS(LOAD_FN)
    if (!ok) {
        xsim_destroy(x);
        goto fail;
    }
    shared_x = x;
    xsim_select(x);
    return true;
fail:
    g_test_message("cannot load the xensim shims: %s", shims_error);
    g_printerr("test-protocol: cannot load the xensim shims: %s\n", shims_error);
    g_test_fail();
    return false;
}

static xendevicemodel_handle *dm_open(void)
{
    xendevicemodel_handle *d = L.xendevicemodel_open(NULL, 0);
    g_assert_nonnull(d);
    return d;
}

/* ---------------------------------------------------------------- ENOSYS */

static void test_enosys(void)
{
    if (!setup())
        return;
    xendevicemodel_handle *d = dm_open();
    for (int i = 0; i < 2; i++) {
        errno = 0;
        g_assert_cmpint(L.xendevicemodel_inject_event(d, DOMID, 0, 14, 3, 0, 0, 0), ==, -1);
        g_assert_cmpint(errno, ==, ENOSYS);
    }
    /* The report is fire-and-forget on the same connection: one round trip
     * behind it means the simulator has seen it. */
    unsigned n = 0;
    g_assert_cmpint(L.xendevicemodel_nr_vcpus(d, DOMID, &n), ==, 0);
    g_assert_cmpuint(n, ==, NR_VCPUS);
    const char *log = xsim_enosys_log(shared_x);
    g_test_message("enosys log: %s", log);
    unsigned count = 0;
    for (const char *p = log; (p = strstr(p, "xendevicemodel_inject_event")); p++)
        count++;
    g_assert_cmpuint(count, ==, 1);
    L.xendevicemodel_close(d);
}

/* ------------------------------------------------- ioreq server rangesets */

static ioreq_t *slot_of(void *sync_page, unsigned v)
{
    return (ioreq_t *)sync_page + v;
}

static void test_ioreq_server(void)
{
    if (!setup())
        return;
    xendevicemodel_handle *d = dm_open();
    xenforeignmemory_handle *f = L.xenforeignmemory_open(NULL, 0);
    g_assert_nonnull(f);
    ioservid_t id = 0xffff;
    g_assert_cmpint(
        L.xendevicemodel_create_ioreq_server(d, DOMID, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &id), ==, 0);
    g_assert_cmpuint(id, <, 8);

    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d, DOMID, id, 0, 0x100, 0x10f),
                    ==, 0);
    errno = 0;
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d, DOMID, id, 0, 0x108, 0x118),
                    ==, -1);
    g_assert_cmpint(errno, ==, EEXIST);
    /* adjacent: merged into 0x100-0x11f */
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d, DOMID, id, 0, 0x110, 0x11f),
                    ==, 0);
    /* the same span as MMIO is another rangeset: no conflict */
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d, DOMID, id, 1, 0x100, 0x11f),
                    ==, 0);
    /* split */
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x104, 0x107), ==, 0);
    errno = 0;
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x300, 0x301), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    /* the hole left by the split is not a range any more, and a span over
     * it is in no single range */
    errno = 0;
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x105, 0x106), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    errno = 0;
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x100, 0x10f), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    /* both halves of the split are still there */
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x100, 0x103), ==, 0);
    g_assert_cmpint(
        L.xendevicemodel_unmap_io_range_from_ioreq_server(d, DOMID, id, 0, 0x108, 0x11f), ==, 0);

    xen_pfn_t ioreq_gfn = 0, buf_gfn = 0;
    evtchn_port_t port = 0;
    errno = 0;
    g_assert_cmpint(
        L.xendevicemodel_get_ioreq_server_info(d, DOMID, id, &ioreq_gfn, &buf_gfn, &port), ==, -1);
    g_assert_cmpint(errno, ==, EOPNOTSUPP);
    g_assert_cmpint(L.xendevicemodel_get_ioreq_server_info(d, DOMID, id, NULL, NULL, &port), ==, 0);
    g_assert_cmpuint(port, !=, 0);

    void *addr = NULL;
    xenforeignmemory_resource_handle *res = L.xenforeignmemory_map_resource(
        f, DOMID, XENMEM_resource_ioreq_server, id, 0, 2, &addr, PROT_READ | PROT_WRITE, 0);
    g_assert_nonnull(res);
    g_assert_nonnull(addr);
    buffered_iopage_t *buf = addr;
    uint8_t *sync_pg = (uint8_t *)addr + PAGE;
    /* both pages are there and fresh */
    g_assert_cmpuint(buf->read_pointer, ==, 0);
    g_assert_cmpuint(buf->write_pointer, ==, 0);
    for (unsigned v = 0; v < NR_VCPUS; v++)
        g_assert_cmpuint(slot_of(sync_pg, v)->vp_eport, ==, 0);
    /* Xen publishes the vCPU ports when the server is enabled */
    g_assert_cmpint(L.xendevicemodel_set_ioreq_server_state(d, DOMID, id, 1), ==, 0);
    uint32_t p0 = slot_of(sync_pg, 0)->vp_eport, p1 = slot_of(sync_pg, 1)->vp_eport;
    g_assert_cmpuint(p0, !=, 0);
    g_assert_cmpuint(p1, !=, 0);
    g_assert_cmpuint(p0, !=, p1);
    g_assert_cmpuint(p0, !=, port);
    g_assert_cmpuint(p1, !=, port);
    g_assert_cmpint(L.xendevicemodel_set_ioreq_server_state(d, DOMID, id, 0), ==, 0);
    /* no frame 2 in 4.17 */
    void *addr3 = NULL;
    errno = 0;
    g_assert_null(L.xenforeignmemory_map_resource(f, DOMID, XENMEM_resource_ioreq_server, id, 0, 3,
                                                  &addr3, PROT_READ | PROT_WRITE, 0));
    g_assert_cmpint(errno, ==, EINVAL);

    g_assert_cmpint(L.xenforeignmemory_unmap_resource(f, res), ==, 0);
    g_assert_cmpint(L.xendevicemodel_destroy_ioreq_server(d, DOMID, id), ==, 0);
    errno = 0;
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d, DOMID, id, 0, 0x100, 0x10f),
                    ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    L.xenforeignmemory_close(f);
    L.xendevicemodel_close(d);
    g_assert_null(xsim_error(shared_x));
}

/* ------------------------------------------------ a mini device model ---
 *
 * Devices:
 *  - ports 0x100-0x13f: 16 32-bit registers (a 64-byte little-endian file
 *    any size may address);
 *  - port 0x140: a FIFO port: reads return 16/32-bit sequence numbers,
 *    writes are logged; port 0x144: a write sets the next sequence number
 *    and clears the log;
 *  - MMIO 0xfe000000-0xfe00003f: another 16-register file, sizes 1-8;
 *  - MMIO 0xa0000-0xbffff: the VGA window, a plain buffer; every write is
 *    also logged by address, so order and loss are visible.
 */

#define PIO_REGS  0x100
#define PIO_FIFO  0x140
#define PIO_CTRL  0x144
#define MMIO_REGS 0xfe000000ULL
#define VGA_BASE  0xa0000u
#define VGA_SIZE  0x20000u
#define FIFO_LOG  1024
#define VGA_LOG   16384

struct minidm {
    xendevicemodel_handle *dmod;
    xenforeignmemory_handle *fmem;
    xenevtchn_handle *xce;
    xenforeignmemory_resource_handle *res;
    buffered_iopage_t *buf;
    uint8_t *sync;
    ioservid_t id;
    int local[NR_VCPUS], buf_local;
    uint8_t *ram;
    int *ram_err;
    size_t ram_pages;
    int stop_efd;
    pthread_t thread;

    /* device state: touched only by the DM thread while the guest waits
     * for an answer, read by the test after the access returned */
    uint8_t pio[64], mmio[64];
    uint32_t fifo_next, fifo_log[FIFO_LOG];
    unsigned fifo_n;
    uint8_t vga[VGA_SIZE];
    uint32_t vga_log[VGA_LOG];
    unsigned vga_n;
    uint64_t sync_handled, buffered_handled, spurious;

    pthread_mutex_t why_lock; /* protocol errors the DM saw: count, first */
    unsigned bad;
    char why[256];
};

static struct minidm *mdm;

static void dm_bad(struct minidm *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dm_bad(struct minidm *d, const char *fmt, ...)
{
    pthread_mutex_lock(&d->why_lock);
    if (d->bad++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof(d->why), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&d->why_lock);
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* Guest RAM through the DM's own foreign mapping. */
static uint8_t *dm_ram(struct minidm *d, uint64_t gpa, unsigned size)
{
    uint64_t pfn = gpa / PAGE;
    if (pfn >= d->ram_pages || d->ram_err[pfn] || (gpa % PAGE) + size > PAGE)
        return NULL;
    return d->ram + gpa;
}

static void pio_access(struct minidm *d, uint64_t port, unsigned size, bool is_read, uint64_t *val)
{
    if (port >= PIO_REGS && port + size <= PIO_REGS + 64) {
        if (is_read) {
            *val = 0;
            memcpy(val, d->pio + (port - PIO_REGS), size);
        } else {
            memcpy(d->pio + (port - PIO_REGS), val, size);
        }
    } else if (port == PIO_FIFO && (size == 2 || size == 4)) {
        if (is_read) {
            *val = d->fifo_next++ & size_mask(size);
        } else if (d->fifo_n < FIFO_LOG) {
            d->fifo_log[d->fifo_n++] = (uint32_t)*val;
        } else {
            dm_bad(d, "FIFO log overflow");
        }
    } else if (port == PIO_CTRL && size == 4 && !is_read) {
        d->fifo_next = (uint32_t)*val;
        d->fifo_n = 0;
    } else {
        dm_bad(d, "PIO %s of size %u at %#llx: not a register", is_read ? "read" : "write", size,
               (unsigned long long)port);
        if (is_read)
            *val = size_mask(size);
    }
}

static void mmio_access(struct minidm *d, uint64_t addr, unsigned size, bool is_read, uint64_t *val)
{
    uint8_t *p = NULL;
    if (addr >= MMIO_REGS && addr + size <= MMIO_REGS + 64) {
        p = d->mmio + (addr - MMIO_REGS);
    } else if (addr >= VGA_BASE && addr + size <= VGA_BASE + VGA_SIZE) {
        p = d->vga + (addr - VGA_BASE);
        if (!is_read) {
            if (d->vga_n < VGA_LOG)
                d->vga_log[d->vga_n++] = (uint32_t)addr;
            else
                dm_bad(d, "VGA log overflow");
        }
    } else {
        dm_bad(d, "MMIO %s of size %u at %#llx: nothing there", is_read ? "read" : "write", size,
               (unsigned long long)addr);
        if (is_read)
            *val = size_mask(size);
        return;
    }
    if (is_read) {
        *val = 0;
        memcpy(val, p, size);
    } else {
        memcpy(p, val, size);
    }
}

static void dev_access(struct minidm *d, uint8_t type, uint64_t addr, unsigned size, bool is_read,
                       uint64_t *val)
{
    if (type == IOREQ_TYPE_PIO)
        pio_access(d, addr, size, is_read, val);
    else
        mmio_access(d, addr, size, is_read, val);
}

static void drain_buffered(struct minidm *d)
{
    struct bufreq b;
    int rc;
    while ((rc = bufring_pop(d->buf, &b)) == 1) {
        d->buffered_handled++;
        if (b.type == IOREQ_TYPE_TIMEOFFSET)
            continue;
        if (b.type != IOREQ_TYPE_COPY || b.dir != IOREQ_WRITE) {
            dm_bad(d, "buffered request of type %u dir %u", b.type, b.dir);
            continue;
        }
        uint64_t v = b.data & size_mask(b.size);
        mmio_access(d, b.addr, b.size, false, &v);
    }
    if (rc < 0)
        dm_bad(d, "bufring_pop: %s", strerror(-rc));
}

/* One sync request on vCPU v, per Part A3. */
static void handle_slot(struct minidm *d, unsigned v)
{
    ioreq_t *slot = slot_of(d->sync, v);
    uint8_t *state = (uint8_t *)slot + 30;
    uint8_t st = __atomic_load_n(state, __ATOMIC_ACQUIRE);
    if ((st & 0xf) != STATE_IOREQ_READY) {
        d->spurious++;
        return;
    }
    ioreq_t r;
    memcpy(&r, slot, sizeof(r));
    __atomic_store_n(state, (uint8_t)((st & 0xf0) | STATE_IOREQ_INPROCESS), __ATOMIC_RELAXED);
    bool is_read = r.dir == IOREQ_READ;
    unsigned size = r.size;
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        dm_bad(d, "vCPU %u: request of size %u", v, size);
        size = 1;
    }
    if (r.type == IOREQ_TYPE_PIO || r.type == IOREQ_TYPE_COPY) {
        uint64_t result = 0;
        for (uint32_t i = 0; i < r.count; i++) {
            uint64_t step = (uint64_t)i * size;
            uint64_t dev = r.type == IOREQ_TYPE_PIO ? r.addr : r.df ? r.addr - step : r.addr + step;
            if (r.data_is_ptr) {
                uint64_t gpa = r.df ? r.data - step : r.data + step;
                uint8_t *p = dm_ram(d, gpa, size);
                if (!p) {
                    dm_bad(d, "vCPU %u: data pointer %#llx is not guest RAM", v,
                           (unsigned long long)gpa);
                    break;
                }
                uint64_t val = 0;
                if (is_read) {
                    dev_access(d, r.type, dev, size, true, &val);
                    memcpy(p, &val, size);
                } else {
                    memcpy(&val, p, size);
                    dev_access(d, r.type, dev, size, false, &val);
                }
            } else if (is_read) {
                dev_access(d, r.type, dev, size, true, &result);
            } else {
                uint64_t val = r.data & size_mask(size); /* upper bytes are not clean */
                dev_access(d, r.type, dev, size, false, &val);
            }
        }
        if (is_read && !r.data_is_ptr)
            slot->data = result;
    } else if (r.type != IOREQ_TYPE_INVALIDATE) {
        dm_bad(d, "vCPU %u: unexpected ioreq type %u", v, r.type);
    }
    d->sync_handled++;
    __atomic_store_n(state, (uint8_t)((st & 0xf0) | STATE_IORESP_READY), __ATOMIC_RELEASE);
    if (L.xenevtchn_notify(d->xce, (evtchn_port_t)d->local[v]) < 0)
        dm_bad(d, "xenevtchn_notify: %s", strerror(errno));
}

static void *dm_main(void *arg)
{
    struct minidm *d = arg;
    int efd = L.xenevtchn_fd(d->xce);
    for (;;) {
        struct pollfd p[2] = {{.fd = efd, .events = POLLIN}, {.fd = d->stop_efd, .events = POLLIN}};
        int n = poll(p, 2, 1000);
        if (n < 0 && errno != EINTR) {
            dm_bad(d, "poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        if (n <= 0 || !(p[0].revents & POLLIN))
            continue;
        xenevtchn_port_or_error_t port = L.xenevtchn_pending(d->xce);
        if (port < 0) {
            dm_bad(d, "xenevtchn_pending: %s", strerror(errno));
            break;
        }
        if (L.xenevtchn_unmask(d->xce, (evtchn_port_t)port) < 0)
            dm_bad(d, "xenevtchn_unmask: %s", strerror(errno));
        /* buffered writes come before whatever this notification is for */
        drain_buffered(d);
        if (port == d->buf_local)
            continue;
        unsigned v;
        for (v = 0; v < NR_VCPUS && d->local[v] != port; v++)
            ;
        if (v == NR_VCPUS) {
            dm_bad(d, "event on unknown local port %d", port);
            continue;
        }
        handle_slot(d, v);
    }
    return NULL;
}

/* Bring-up per Part A2, then the event loop on its own thread. */
static struct minidm *dm_get(void)
{
    if (mdm)
        return mdm;
    struct minidm *d = g_new0(struct minidm, 1);
    pthread_mutex_init(&d->why_lock, NULL);
    d->dmod = dm_open();
    d->fmem = L.xenforeignmemory_open(NULL, 0);
    d->xce = L.xenevtchn_open(NULL, 0);
    g_assert_nonnull(d->fmem);
    g_assert_nonnull(d->xce);
    unsigned n = 0;
    g_assert_cmpint(L.xendevicemodel_nr_vcpus(d->dmod, DOMID, &n), ==, 0);
    g_assert_cmpuint(n, ==, NR_VCPUS);

    g_assert_cmpint(
        L.xendevicemodel_create_ioreq_server(d->dmod, DOMID, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &d->id),
        ==, 0);
    void *addr = NULL;
    d->res = L.xenforeignmemory_map_resource(d->fmem, DOMID, XENMEM_resource_ioreq_server, d->id, 0,
                                             2, &addr, PROT_READ | PROT_WRITE, 0);
    g_assert_nonnull(d->res);
    d->buf = addr;
    d->sync = (uint8_t *)addr + PAGE;
    evtchn_port_t buf_port = 0;
    g_assert_cmpint(
        L.xendevicemodel_get_ioreq_server_info(d->dmod, DOMID, d->id, NULL, NULL, &buf_port), ==,
        0);

    /* registers + FIFO + control: mapped in pieces, merged by "Xen" */
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d->dmod, DOMID, d->id, 0,
                                                                  PIO_REGS, PIO_REGS + 0x3f),
                    ==, 0);
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d->dmod, DOMID, d->id, 0,
                                                                  PIO_FIFO, PIO_FIFO + 3),
                    ==, 0);
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d->dmod, DOMID, d->id, 0,
                                                                  PIO_CTRL, PIO_CTRL + 3),
                    ==, 0);
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(d->dmod, DOMID, d->id, 1,
                                                                  MMIO_REGS, MMIO_REGS + 0x3f),
                    ==, 0);
    g_assert_cmpint(L.xendevicemodel_map_io_range_to_ioreq_server(
                        d->dmod, DOMID, d->id, 1, VGA_BASE, VGA_BASE + VGA_SIZE - 1),
                    ==, 0);

    /* All of guest RAM below 4 GiB, once; the VGA hole must fail per page. */
    d->ram_pages = (size_t)RAM_MB << 8;
    xen_pfn_t *gfns = g_new(xen_pfn_t, d->ram_pages);
    d->ram_err = g_new(int, d->ram_pages);
    for (size_t i = 0; i < d->ram_pages; i++)
        gfns[i] = i;
    d->ram = L.xenforeignmemory_map2(d->fmem, DOMID, NULL, PROT_READ | PROT_WRITE, 0, d->ram_pages,
                                     gfns, d->ram_err);
    g_assert_nonnull(d->ram);
    g_free(gfns);
    for (size_t i = 0; i < d->ram_pages; i++) {
        bool hole = i >= 0xa0 && i < 0xc0;
        if (hole ? d->ram_err[i] >= 0 : d->ram_err[i] != 0)
            g_error("map2 of guest RAM: gfn %#zx err %d", i, d->ram_err[i]);
    }

    g_assert_cmpint(L.xendevicemodel_set_ioreq_server_state(d->dmod, DOMID, d->id, 1), ==, 0);
    for (unsigned v = 0; v < NR_VCPUS; v++) {
        uint32_t remote = slot_of(d->sync, v)->vp_eport; /* published by the enable */
        g_assert_cmpuint(remote, !=, 0);
        d->local[v] = L.xenevtchn_bind_interdomain(d->xce, DOMID, remote);
        g_assert_cmpint(d->local[v], >, 0);
    }
    d->buf_local = L.xenevtchn_bind_interdomain(d->xce, DOMID, buf_port);
    g_assert_cmpint(d->buf_local, >, 0);

    d->stop_efd = eventfd(0, EFD_CLOEXEC);
    g_assert_cmpint(d->stop_efd, >=, 0);
    g_assert_cmpint(pthread_create(&d->thread, NULL, dm_main, d), ==, 0);
    mdm = d;
    return d;
}

static void dm_stop(void)
{
    struct minidm *d = mdm;
    if (!d)
        return;
    uint64_t one = 1;
    g_assert_cmpint(write(d->stop_efd, &one, sizeof(one)), ==, sizeof(one));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    if (pthread_timedjoin_np(d->thread, NULL, &ts))
        g_error("the device-model thread did not stop within 10 s");
    close(d->stop_efd);
    g_assert_cmpint(L.xendevicemodel_set_ioreq_server_state(d->dmod, DOMID, d->id, 0), ==, 0);
    for (unsigned v = 0; v < NR_VCPUS; v++)
        g_assert_cmpint(L.xenevtchn_unbind(d->xce, (evtchn_port_t)d->local[v]), ==, 0);
    g_assert_cmpint(L.xenevtchn_unbind(d->xce, (evtchn_port_t)d->buf_local), ==, 0);
    g_assert_cmpint(L.xendevicemodel_destroy_ioreq_server(d->dmod, DOMID, d->id), ==, 0);
    L.xenforeignmemory_unmap_resource(d->fmem, d->res);
    L.xenforeignmemory_unmap(d->fmem, d->ram, d->ram_pages);
    L.xenevtchn_close(d->xce);
    L.xenforeignmemory_close(d->fmem);
    L.xendevicemodel_close(d->dmod);
    g_free(d->ram_err);
    pthread_mutex_destroy(&d->why_lock);
    g_free(d);
    mdm = NULL;
}

static void dm_check(struct minidm *d)
{
    pthread_mutex_lock(&d->why_lock);
    unsigned bad = d->bad;
    char why[sizeof(d->why)];
    memcpy(why, d->why, sizeof(why));
    pthread_mutex_unlock(&d->why_lock);
    if (bad)
        g_error("the device model saw %u protocol errors; first: %s", bad, why);
    const char *err = xsim_error(shared_x);
    if (err)
        g_error("simulator error: %s", err);
}

/* ------------------------------------------------ PIO from two vCPUs */

#define PIO_ITER 50000 /* an OUT and an IN each: 100,000 round trips per vCPU */

struct vcpu_job {
    unsigned vcpu;
    uint16_t port;
    unsigned mismatches;
    uint32_t first_bad_iter, got, want;
};

static void *vcpu_pio(void *arg)
{
    struct vcpu_job *j = arg;
    for (uint32_t i = 0; i < PIO_ITER; i++) {
        uint32_t want = (uint32_t)(j->vcpu + 1) * 0x10000001u ^ (i * 2654435761u);
        guest_out_v(j->vcpu, j->port, 4, want);
        uint32_t got = guest_in_v(j->vcpu, j->port, 4);
        if (got != want) {
            if (!j->mismatches++) {
                j->first_bad_iter = i;
                j->got = got;
                j->want = want;
            }
            break; /* a dead DM would make each access wait for the timeout */
        }
    }
    return NULL;
}

static void test_dm_pio(void)
{
    if (!setup())
        return;
    struct minidm *d = dm_get();
    struct xsim_stats st0, st1;
    xsim_stats(shared_x, &st0);

    /* byte-level view of the register file */
    guest_outl(0x120, 0x11223344);
    guest_outb(0x121, 0xaa);
    g_assert_cmphex(guest_inl(0x120), ==, 0x1122aa44);
    g_assert_cmphex(guest_inw(0x122), ==, 0x1122);
    g_assert_cmphex(guest_in_v(1, 0x120, 1), ==, 0x44);
    g_assert_cmpmem(d->pio + 0x20, 4, "\x44\xaa\x22\x11", 4);

    struct vcpu_job jobs[NR_VCPUS];
    pthread_t th[NR_VCPUS];
    for (unsigned v = 0; v < NR_VCPUS; v++) {
        jobs[v] = (struct vcpu_job){.vcpu = v, .port = (uint16_t)(PIO_REGS + 4 * (v + 1))};
        g_assert_cmpint(pthread_create(&th[v], NULL, vcpu_pio, &jobs[v]), ==, 0);
    }
    for (unsigned v = 0; v < NR_VCPUS; v++)
        g_assert_cmpint(pthread_join(th[v], NULL), ==, 0);
    dm_check(d);
    for (unsigned v = 0; v < NR_VCPUS; v++)
        if (jobs[v].mismatches)
            g_error("vCPU %u: iteration %u read %#x after writing %#x", v, jobs[v].first_bad_iter,
                    jobs[v].got, jobs[v].want);
    xsim_stats(shared_x, &st1);
    g_assert_cmpuint(st1.pio - st0.pio, ==, 5 + 2 * NR_VCPUS * PIO_ITER);
    g_assert_cmpuint(st1.sync - st0.sync, ==, 5 + 2 * NR_VCPUS * PIO_ITER);
    g_test_message("PIO round trip: median %llu ns, p99 %llu ns",
                   (unsigned long long)xsim_lat_percentile(&st1, 50),
                   (unsigned long long)xsim_lat_percentile(&st1, 99));
}

/* ------------------------------------------------ MMIO, sizes 1-8 */

static void test_dm_mmio(void)
{
    if (!setup())
        return;
    struct minidm *d = dm_get();
    guest_mmio_write(MMIO_REGS + 0x08, 8, 0x1122334455667788ULL);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x08, 8), ==, 0x1122334455667788ULL);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x08, 1), ==, 0x88);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x0a, 2), ==, 0x5566);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x0c, 4), ==, 0x11223344);
    /* narrower writes change only their bytes, whatever is above */
    guest_mmio_write(MMIO_REGS + 0x09, 1, 0xffffffffffffffa5ULL);
    guest_mmio_write(MMIO_REGS + 0x0e, 2, 0xdeadbeefULL);
    guest_mmio_write_v(1, MMIO_REGS + 0x10, 4, 0xcafef00d0badf00dULL);
    g_assert_cmphex(guest_mmio_read_v(1, MMIO_REGS + 0x08, 8), ==, 0xbeef33445566a588ULL);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x10, 8), ==, 0x0badf00dULL);
    g_assert_cmpmem(d->mmio + 0x08, 8, "\x88\xa5\x66\x55\x44\x33\xef\xbe", 8);
    /* guest_mem_* split into aligned accesses of up to 8 bytes */
    uint8_t pattern[48], back[48];
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(0x30 + i * 5);
    guest_mem_write(MMIO_REGS + 0x0f, pattern, sizeof(pattern));
    guest_mem_read(MMIO_REGS + 0x0f, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    g_assert_cmpmem(d->mmio + 0x0f, sizeof(pattern), pattern, sizeof(pattern));
    dm_check(d);
}

/* ------------------------------------ rep string operations, both ways */

static void test_dm_string_ops(void)
{
    if (!setup())
        return;
    struct minidm *d = dm_get();

    /* rep stos to MMIO: one request, count > 1, the same data */
    g_assert_cmpint(guest_rep_stos(MMIO_REGS, 4, 0xdeadbeef, 16, 0), ==, 0);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(guest_mmio_read(MMIO_REGS + 4 * i, 4), ==, 0xdeadbeef);
    /* df = 1 from register 7: 7, 6, 5, 4 and nothing else */
    g_assert_cmpint(guest_rep_stos(MMIO_REGS + 0x1c, 4, 0x12345678, 4, 1), ==, 0);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(guest_mmio_read(MMIO_REGS + 4 * i, 4), ==,
                        i >= 4 && i <= 7 ? 0x12345678 : 0xdeadbeef);
    g_assert_cmpint(guest_rep_stos(MMIO_REGS + 0x20, 8, 0x0102030405060708ULL, 4, 0), ==, 0);
    for (unsigned i = 4; i < 8; i++)
        g_assert_cmphex(guest_mmio_read(MMIO_REGS + 8 * i, 8), ==, 0x0102030405060708ULL);

    /* rep movs RAM -> MMIO and back (data_is_ptr); the RAM buffer
     * straddles a page, so the guest splits the run in two requests */
    const uint64_t src = 0x200ff0, dst = 0x300ff8;
    uint32_t words[16], back[16];
    for (unsigned i = 0; i < 16; i++)
        words[i] = 0xa5000000u + i * 0x01010101u;
    guest_mem_write(src, words, sizeof(words));
    g_assert_cmpint(guest_rep_movs(MMIO_REGS, src, 4, 16, 0), ==, 0);
    g_assert_cmpmem(d->mmio, 64, words, sizeof(words));
    memset(back, 0, sizeof(back));
    guest_mem_write(dst, back, sizeof(back));
    g_assert_cmpint(guest_rep_movs(dst, MMIO_REGS, 4, 16, 0), ==, 0);
    guest_mem_read(dst, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), words, sizeof(words));
    /* df = 1: both sides walk down from their last element */
    for (unsigned i = 0; i < 16; i++)
        words[i] = 0x5a000000u + i * 0x00020001u;
    guest_mem_write(src, words, sizeof(words));
    g_assert_cmpint(guest_rep_movs(MMIO_REGS + 60, src + 60, 4, 16, 1), ==, 0);
    g_assert_cmpmem(d->mmio, 64, words, sizeof(words));
    memset(back, 0, sizeof(back));
    guest_mem_write(dst, back, sizeof(back));
    g_assert_cmpint(guest_rep_movs(dst + 60, MMIO_REGS + 60, 4, 16, 1), ==, 0);
    guest_mem_read(dst, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), words, sizeof(words));
    /* a partial run downwards touches only its elements */
    uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    guest_mem_write(0x201000, bytes, sizeof(bytes));
    g_assert_cmpint(guest_rep_movs(MMIO_REGS + 0x13, 0x201003, 1, 4, 1), ==, 0);
    g_assert_cmpmem(d->mmio + 0x10, 4, "\x01\x02\x03\x04", 4);
    g_assert_cmphex(d->mmio[0x0f], ==, ((const uint8_t *)words)[0x0f]);
    g_assert_cmphex(d->mmio[0x14], ==, ((const uint8_t *)words)[0x14]);

    /* rep ins: the FIFO returns 1000, 1001, ...; element i lands at
     * gpa + 2i (df = 0) or gpa - 2i (df = 1) */
    const uint64_t b = 0x200fc0; /* 64 words straddling 0x201000 */
    uint16_t w[64];
    guest_outl(PIO_CTRL, 1000);
    g_assert_cmpint(guest_ins(PIO_FIFO, 2, b, 64, 0), ==, 0);
    guest_mem_read(b, w, sizeof(w));
    for (unsigned i = 0; i < 64; i++)
        g_assert_cmpuint(w[i], ==, 1000 + i);
    guest_outl(PIO_CTRL, 2000);
    g_assert_cmpint(guest_ins_v(1, PIO_FIFO, 2, b + 126, 64, 1), ==, 0);
    guest_mem_read(b, w, sizeof(w));
    for (unsigned i = 0; i < 64; i++)
        g_assert_cmpuint(w[i], ==, 2000 + 63 - i);

    /* rep outs: the FIFO logs what arrives, in arrival order */
    const uint64_t c = 0x202fe0; /* 32 dwords straddling 0x203000 */
    uint32_t pat[32];
    for (unsigned i = 0; i < 32; i++)
        pat[i] = 0x77000000u | (i * 0x0301u);
    guest_mem_write(c, pat, sizeof(pat));
    guest_outl(PIO_CTRL, 0);
    g_assert_cmpint(guest_outs(PIO_FIFO, 4, c, 32, 0), ==, 0);
    g_assert_cmpuint(d->fifo_n, ==, 32);
    for (unsigned i = 0; i < 32; i++)
        g_assert_cmphex(d->fifo_log[i], ==, pat[i]);
    guest_outl(PIO_CTRL, 0);
    g_assert_cmpint(guest_outs_v(1, PIO_FIFO, 4, c + 4 * 31, 32, 1), ==, 0);
    g_assert_cmpuint(d->fifo_n, ==, 32);
    for (unsigned i = 0; i < 32; i++)
        g_assert_cmphex(d->fifo_log[i], ==, pat[31 - i]);
    dm_check(d);
}

/* ------------------------------------------- the buffered ring (VGA) */

#define VGA_WRITES 5000

static void test_dm_buffered(void)
{
    if (!setup())
        return;
    struct minidm *d = dm_get();
    struct xsim_stats st0, st1;
    xsim_stats(shared_x, &st0);
    unsigned log0 = d->vga_n;
    g_assert_cmpuint(log0 + VGA_WRITES + 64, <=, VGA_LOG);

    for (unsigned i = 0; i < VGA_WRITES; i++)
        guest_mmio_write(VGA_BASE + i, 1, (uint8_t)(i * 7 + 3));
    /* 8-byte writes take two slots; 2 and 4 one each */
    for (unsigned i = 0; i < 16; i++) {
        guest_mmio_write(0xb0000 + 8 * i, 8, 0x0123456789abcdefULL + i);
        guest_mmio_write(0xb1000 + 4 * i, 4, 0xfeed0000u + i);
        guest_mmio_write(0xb2000 + 2 * i, 2, 0xbe00u + i);
    }
    /* a sync access: the DM drains the ring before answering it */
    g_assert_cmphex(guest_inl(0x120), ==, guest_inl(0x120));
    dm_check(d);
    xsim_stats(shared_x, &st1);

    unsigned total = VGA_WRITES + 48;
    g_assert_cmpuint(d->vga_n - log0, ==, total);
    for (unsigned i = 0; i < VGA_WRITES; i++) {
        if (d->vga[i] != (uint8_t)(i * 7 + 3))
            g_error("VGA byte %#x is %#x, wrote %#x", VGA_BASE + i, d->vga[i],
                    (uint8_t)(i * 7 + 3));
        if (d->vga_log[log0 + i] != VGA_BASE + i)
            g_error("VGA write %u arrived as the one for %#x", i, d->vga_log[log0 + i]);
    }
    for (unsigned i = 0; i < 16; i++) {
        uint64_t q;
        uint32_t l;
        uint16_t s;
        memcpy(&q, d->vga + 0x10000 + 8 * i, 8);
        memcpy(&l, d->vga + 0x11000 + 4 * i, 4);
        memcpy(&s, d->vga + 0x12000 + 2 * i, 2);
        g_assert_cmphex(q, ==, 0x0123456789abcdefULL + i);
        g_assert_cmphex(l, ==, 0xfeed0000u + i);
        g_assert_cmphex(s, ==, 0xbe00u + i);
        unsigned k = log0 + VGA_WRITES + 3 * i;
        g_assert_cmphex(d->vga_log[k], ==, 0xb0000 + 8 * i);
        g_assert_cmphex(d->vga_log[k + 1], ==, 0xb1000 + 4 * i);
        g_assert_cmphex(d->vga_log[k + 2], ==, 0xb2000 + 2 * i);
    }
    /* every write went either through the ring or, when it was full,
     * through the sync path; never both, never lost */
    uint64_t buffered = st1.buffered - st0.buffered,
             fallback = st1.buffered_full_fallback - st0.buffered_full_fallback;
    g_test_message("VGA writes: %llu buffered, %llu through the sync path (ring full)",
                   (unsigned long long)buffered, (unsigned long long)fallback);
    g_assert_cmpuint(buffered + fallback, ==, total);
    g_assert_cmpuint(buffered, >, 0);
    g_assert_cmpuint(st1.copy - st0.copy, ==, total);
    g_assert_cmpuint(st1.sync - st0.sync, ==, fallback + 2);
    g_assert_cmpuint(bufring_used(d->buf), ==, 0);
}

/* ---------------------------------------------------- unclaimed accesses */

static void test_dm_unclaimed(void)
{
    if (!setup())
        return;
    struct minidm *d = dm_get();
    struct xsim_stats st0, st1;
    xsim_stats(shared_x, &st0);
    uint64_t handled = d->sync_handled;
    g_assert_cmphex(guest_inl(0x300), ==, 0xffffffffu);
    g_assert_cmphex(guest_in_v(1, 0x146, 4), ==, 0xffffffffu); /* straddles the end of a range */
    g_assert_cmphex(guest_mmio_read(0xfd000000ULL, 8), ==, ~0ULL);
    g_assert_cmphex(guest_mmio_read(MMIO_REGS + 0x40, 2), ==, 0xffff);
    guest_outb(0x300, 0x12);
    guest_mmio_write(0xfd000000ULL, 4, 1);
    xsim_stats(shared_x, &st1);
    g_assert_cmpuint(st1.unclaimed_reads - st0.unclaimed_reads, ==, 4);
    g_assert_cmpuint(st1.unclaimed_writes - st0.unclaimed_writes, ==, 2);
    g_assert_cmpuint(st1.sync - st0.sync, ==, 0);
    g_assert_cmpuint(d->sync_handled, ==, handled);
    dm_check(d);
}

/* ----------------------------------------------------------------- IRQs */

static void test_irq(void)
{
    if (!setup())
        return;
    xendevicemodel_handle *d = dm_open();
    const unsigned dev = 3, intx = 1;
    const unsigned gsi = (((dev << 2) + (dev >> 3) + intx) & 31) + 16;
    const unsigned lnk = (dev + intx) & 3;
    g_assert_cmpuint(lnk, ==, 0);

    g_assert_cmpint(L.xendevicemodel_set_pci_link_route(d, DOMID, 0, 5), ==, 0);
    g_assert_cmpint(xsim_link_route(shared_x, 0), ==, 5);
    g_assert_cmpint(guest_irq_level(gsi), ==, 0);
    g_assert_cmpint(guest_irq_level(5), ==, 0);
    g_assert_cmpint(L.xendevicemodel_set_pci_intx_level(d, DOMID, 0, 0, dev, intx, 1), ==, 0);
    g_assert_cmpint(guest_irq_level(gsi), ==, 1);
    g_assert_cmpint(guest_irq_level(5), ==, 1);
    g_assert_cmpint(L.xendevicemodel_set_pci_intx_level(d, DOMID, 0, 0, dev, intx, 0), ==, 0);
    g_assert_cmpint(guest_irq_level(gsi), ==, 0);
    g_assert_cmpint(guest_irq_level(5), ==, 0);
    errno = 0;
    g_assert_cmpint(L.xendevicemodel_set_pci_intx_level(d, DOMID, 0, 1, dev, intx, 1), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);

    /* an edge: a pulse is seen even though the line is low again */
    unsigned before = guest_irq_count(4);
    g_assert_cmpint(L.xendevicemodel_set_isa_irq_level(d, DOMID, 4, 1), ==, 0);
    g_assert_cmpint(L.xendevicemodel_set_isa_irq_level(d, DOMID, 4, 0), ==, 0);
    g_assert_cmpint(guest_irq_level(4), ==, 0);
    g_assert_cmpint(guest_wait_irq(4, 1000), ==, 1);
    g_assert_cmpuint(guest_irq_count(4), ==, before + 1);
    g_assert_cmpint(guest_wait_irq(4, 0), ==, 0); /* consumed */

    g_assert_cmpint(L.xendevicemodel_inject_msi(d, DOMID, 0xfee00000ULL, 0x4041), ==, 0);
    uint64_t addr = 0;
    uint32_t data = 0;
    g_assert_cmpint(guest_wait_msi(&addr, &data, 1000), ==, 1);
    g_assert_cmphex(addr, ==, 0xfee00000ULL);
    g_assert_cmphex(data, ==, 0x4041);
    g_assert_cmpint(guest_wait_msi(&addr, &data, 0), ==, 0);
    errno = 0;
    g_assert_cmpint(L.xendevicemodel_inject_msi(d, DOMID, 0xfed00000ULL, 0x41), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    L.xendevicemodel_close(d);
}

/* --------------------------------------------------------------- memory */

static void test_memory(void)
{
    if (!setup())
        return;
    xc_interface *xc = L.xc_interface_open(NULL, NULL, 0);
    xendevicemodel_handle *d = dm_open();
    xenforeignmemory_handle *f = L.xenforeignmemory_open(NULL, 0);
    g_assert_nonnull(xc);
    g_assert_nonnull(f);
    const size_t n = 16;
    const uint64_t base = 0x100000, moved = 0xf0000;

    xen_pfn_t gfns[17];
    for (size_t i = 0; i < n; i++)
        gfns[i] = base + i;
    g_assert_cmpint(L.xc_domain_populate_physmap_exact(xc, DOMID, n, 0, 0, gfns), ==, 0);
    errno = 0;
    g_assert_cmpint(L.xc_domain_populate_physmap_exact(xc, DOMID, n, 0, 0, gfns), ==, -1);
    g_assert_cmpint(errno, ==, EBUSY);

    gfns[n] = base + 0x1000; /* a hole */
    int err[17];
    memset(err, 0x55, sizeof(err));
    uint8_t *map =
        L.xenforeignmemory_map2(f, DOMID, NULL, PROT_READ | PROT_WRITE, 0, n + 1, gfns, err);
    g_assert_nonnull(map);
    for (size_t i = 0; i < n; i++)
        g_assert_cmpint(err[i], ==, 0);
    g_assert_cmpint(err[n], <, 0);
    /* without err[], the hole fails the whole call */
    errno = 0;
    g_assert_null(L.xenforeignmemory_map2(f, DOMID, NULL, PROT_READ, 0, n + 1, gfns, NULL));
    g_assert_cmpint(errno, !=, 0);

    for (size_t i = 0; i < n * PAGE; i++)
        map[i] = (uint8_t)(i * 13 + i / PAGE);
    uint8_t *sim = xsim_vram_ptr(shared_x, base << 12, n * PAGE);
    g_assert_nonnull(sim);
    g_assert_cmpmem(sim, n * PAGE, map, n * PAGE);

    g_assert_cmpint(L.xendevicemodel_relocate_memory(d, DOMID, (uint32_t)n, base, moved), ==, 0);
    /* the mapping follows the frames */
    for (size_t i = 0; i < n * PAGE; i++)
        if (map[i] != (uint8_t)(i * 13 + i / PAGE))
            g_error("byte %zu changed under the relocated mapping", i);
    uint8_t *now = xsim_vram_ptr(shared_x, moved << 12, n * PAGE);
    g_assert_nonnull(now);
    g_assert_cmpmem(now, n * PAGE, map, n * PAGE);
    map[5 * PAGE + 7] ^= 0xff;
    g_assert_cmphex(now[5 * PAGE + 7], ==, map[5 * PAGE + 7]);
    g_assert_cmphex(guest_mmio_read((moved << 12) + 5 * PAGE + 7, 1), ==, map[5 * PAGE + 7]);
    /* the old gfns are holes now */
    g_assert_null(xsim_vram_ptr(shared_x, base << 12, PAGE));
    int err1 = 0;
    xen_pfn_t old = base;
    void *m1 = L.xenforeignmemory_map2(f, DOMID, NULL, PROT_READ, 0, 1, &old, &err1);
    g_assert_nonnull(m1);
    g_assert_cmpint(err1, <, 0);
    L.xenforeignmemory_unmap(f, m1, 1);

    /* dirty tracking of the BAR */
    unsigned long bitmap[1] = {0};
    g_assert_cmpint(L.xendevicemodel_track_dirty_vram(d, DOMID, moved, (uint32_t)n, bitmap), ==, 0);
    g_assert_cmphex(bitmap[0], ==, 0xffff); /* and no bits past nr */
    g_assert_cmpint(L.xendevicemodel_track_dirty_vram(d, DOMID, moved, (uint32_t)n, bitmap), ==, 0);
    g_assert_cmphex(bitmap[0], ==, 0);
    uint64_t gpa = (moved << 12) + 3 * PAGE;
    uint8_t was = now[3 * PAGE];
    guest_mmio_write(gpa, 1, (uint8_t)~was); /* RAM now: a direct store */
    g_assert_cmphex(map[3 * PAGE], ==, (uint8_t)~was);
    g_assert_cmpint(L.xendevicemodel_track_dirty_vram(d, DOMID, moved, (uint32_t)n, bitmap), ==, 0);
    g_assert_cmphex(bitmap[0], ==, 1u << 3);
    g_assert_cmpint(L.xendevicemodel_track_dirty_vram(d, DOMID, moved, 0, bitmap), ==, 0);

    L.xenforeignmemory_unmap(f, map, n + 1);
    L.xenforeignmemory_close(f);
    L.xendevicemodel_close(d);
    L.xc_interface_close(xc);
    g_assert_null(xsim_error(shared_x));
}

/* ------------------------------------------------- HVM params, shutdown */

static void test_hvm_param(void)
{
    if (!setup())
        return;
    xc_interface *xc = L.xc_interface_open(NULL, NULL, 0);
    g_assert_nonnull(xc);
    g_assert_cmpint(L.xc_set_hvm_param(xc, DOMID, HVM_PARAM_ACPI_S_STATE, 3), ==, 0);
    g_assert_cmpuint(xsim_hvm_param(shared_x, HVM_PARAM_ACPI_S_STATE), ==, 3);
    unsigned long v = 0;
    g_assert_cmpint(L.xc_get_hvm_param(xc, DOMID, HVM_PARAM_ACPI_S_STATE, &v), ==, 0);
    g_assert_cmpuint(v, ==, 3);
    errno = 0;
    g_assert_cmpint(L.xc_set_hvm_param(xc, DOMID + 1, HVM_PARAM_ACPI_S_STATE, 0), ==, -1);
    g_assert_cmpint(errno, ==, ESRCH);
    g_assert_cmpint(L.xc_set_hvm_param(xc, DOMID, HVM_PARAM_ACPI_S_STATE, 0), ==, 0);
    g_assert_cmpuint(xsim_hvm_param(shared_x, HVM_PARAM_ACPI_S_STATE), ==, 0);
    L.xc_interface_close(xc);
}

static void test_shutdown(void)
{
    if (!setup())
        return;
    xendevicemodel_handle *d = dm_open();
    g_assert_cmpint(xsim_shutdown_reason(shared_x), ==, -1);
    g_assert_cmpint(L.xendevicemodel_shutdown(d, DOMID, SHUTDOWN_reboot), ==, 0);
    g_assert_cmpint(xsim_shutdown_reason(shared_x), ==, SHUTDOWN_reboot);
    L.xendevicemodel_close(d);
}

/* ---------------------------------------------------------- restriction */

static void test_restrict(void)
{
    if (!setup())
        return;
    xc_interface *xc = L.xc_interface_open(NULL, NULL, 0);
    xendevicemodel_handle *d = dm_open();
    g_assert_nonnull(xc);
    unsigned long v = 0;
    g_assert_cmpint(L.xc_get_hvm_param(xc, DOMID, HVM_PARAM_ACPI_S_STATE, &v), ==, 0);
    g_assert_cmpint(xsim_restricted(shared_x), ==, 0);

    g_assert_cmpint(L.xentoolcore_restrict_all(DOMID), ==, 0);
    g_assert_cmpint(xsim_restricted(shared_x), ==, 1);
    errno = 0;
    g_assert_cmpint(L.xendevicemodel_set_isa_irq_level(d, DOMID + 1, 6, 1), ==, -1);
    g_assert_cmpint(errno, ==, EPERM);
    g_assert_cmpint(guest_irq_level(6), ==, 0);
    g_assert_cmpint(L.xendevicemodel_set_isa_irq_level(d, DOMID, 6, 1), ==, 0);
    g_assert_cmpint(guest_irq_level(6), ==, 1);
    g_assert_cmpint(L.xendevicemodel_set_isa_irq_level(d, DOMID, 6, 0), ==, 0);
    errno = 0;
    g_assert_cmpint(L.xc_get_hvm_param(xc, DOMID, HVM_PARAM_ACPI_S_STATE, &v), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    /* the device model keeps serving: its handles are limited, not dead */
    if (mdm) {
        guest_outl(0x124, 0x600d);
        g_assert_cmphex(guest_in_v(1, 0x124, 4), ==, 0x600d);
        dm_check(mdm);
    }
    L.xendevicemodel_close(d);
    L.xc_interface_close(xc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/protocol/raw-bad-input", test_raw_bad_input);
    /* shared domain from here on; the order matters (restrict is last) */
    g_test_add_func("/protocol/shim-enosys", test_enosys);
    g_test_add_func("/protocol/shim-ioreq-server", test_ioreq_server);
    g_test_add_func("/protocol/shim-dm-pio", test_dm_pio);
    g_test_add_func("/protocol/shim-dm-mmio", test_dm_mmio);
    g_test_add_func("/protocol/shim-dm-string-ops", test_dm_string_ops);
    g_test_add_func("/protocol/shim-dm-buffered", test_dm_buffered);
    g_test_add_func("/protocol/shim-dm-unclaimed", test_dm_unclaimed);
    g_test_add_func("/protocol/shim-irq", test_irq);
    g_test_add_func("/protocol/shim-memory", test_memory);
    g_test_add_func("/protocol/shim-hvm-param", test_hvm_param);
    g_test_add_func("/protocol/shim-shutdown", test_shutdown);
    g_test_add_func("/protocol/shim-restrict", test_restrict);
    int rc = g_test_run();
    dm_stop();
    if (shared_x)
        xsim_destroy(shared_x);
    return rc;
}
