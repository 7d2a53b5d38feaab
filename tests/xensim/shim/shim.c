/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shim runtime: one SOCK_SEQPACKET connection to the simulator per process
 * (XENSIM_SOCKET), opened by the first call, guarded by a mutex and opened
 * again in a forked child.  The HELLO reply brings the machine memfd, over
 * which every foreign mapping is an mmap of the right frames.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

/* libxentoolcore's internal interface, used by every real libxen* library */
void xentoolcore__register_active_handle(struct shim_handle_ah *ah);
void xentoolcore__deregister_active_handle(struct shim_handle_ah *ah);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int sock = -1;
static pid_t sock_pid;
static uint32_t seq;
static int memfd = -1;
static uint32_t domid, nr_vcpus;

static int xfer(int fd, const struct xsp_hdr *h, const void *req, uint32_t len, void *rep,
                uint32_t rep_max, uint32_t *rep_len, int *fd_out)
{
    struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)req, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
        return -errno;
    if (h->flags & XSP_F_NOREPLY)
        return 0;
    static __thread uint8_t buf[XSP_MAX_MSG];
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec riov = {buf, sizeof(buf)};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = u.b,
                          .msg_controllen = sizeof(u.b)};
    ssize_t n;
    do
        n = recvmsg(fd, &rmsg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t)sizeof(struct xsp_hdr))
        return n < 0 ? -errno : -EPIPE;
    int got_fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&rmsg); c; c = CMSG_NXTHDR(&rmsg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&got_fd, CMSG_DATA(c), sizeof(int));
    const struct xsp_hdr *rh = (const void *)buf;
    if (rh->seq != h->seq || rh->len > (size_t)n - sizeof(*rh)) {
        if (got_fd >= 0)
            close(got_fd);
        return -EPROTO;
    }
    uint32_t copy = rh->len < rep_max ? rh->len : rep_max;
    if (rep && copy)
        memcpy(rep, buf + sizeof(*rh), copy);
    if (rep_len)
        *rep_len = rh->len;
    if (fd_out)
        *fd_out = got_fd;
    else if (got_fd >= 0)
        close(got_fd);
    return rh->status;
}

/* Caller holds the lock. */
static int connect_locked(void)
{
    if (sock >= 0 && sock_pid == getpid())
        return 0;
    if (sock >= 0)
        close(sock); /* inherited across fork: the child needs its own */
    sock = -1;
    const char *path = getenv("XENSIM_SOCKET");
    if (!path) {
        fprintf(stderr, "xensim shim: XENSIM_SOCKET is not set (no simulator)\n");
        return -ENOENT;
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (fd < 0)
        return -errno;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        fprintf(stderr, "xensim shim: cannot connect to %s: %s\n", path, strerror(e));
        close(fd);
        return -e;
    }
    struct xsp_hello hello = {.version = XSP_VERSION, .pid = (uint32_t)getpid()};
    struct xsp_hdr h = {.op = XSP_HELLO, .seq = ++seq, .len = sizeof(hello)};
    struct xsp_hello_rep rep;
    int mfd = -1;
    int rc = xfer(fd, &h, &hello, sizeof(hello), &rep, sizeof(rep), NULL, &mfd);
    if (rc || mfd < 0) {
        close(fd);
        return rc ? rc : -EPROTO;
    }
    if (memfd >= 0)
        close(memfd);
    memfd = mfd;
    domid = rep.domid;
    nr_vcpus = rep.nr_vcpus;
    sock = fd;
    sock_pid = getpid();
    return 0;
}

int shim_call(uint16_t op, const void *req, uint32_t len, void *rep, uint32_t rep_max,
              uint32_t *rep_len, int *fd_out)
{
    if (fd_out)
        *fd_out = -1;
    if (len + sizeof(struct xsp_hdr) > XSP_MAX_MSG)
        return -E2BIG;
    pthread_mutex_lock(&lock);
    int rc = connect_locked();
    if (!rc) {
        struct xsp_hdr h = {.op = op, .seq = ++seq, .len = len};
        rc = xfer(sock, &h, req, len, rep, rep_max, rep_len, fd_out);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int shim_send(uint16_t op, const void *req, uint32_t len)
{
    pthread_mutex_lock(&lock);
    int rc = connect_locked();
    if (!rc) {
        struct xsp_hdr h = {.op = op, .flags = XSP_F_NOREPLY, .seq = ++seq, .len = len};
        rc = xfer(sock, &h, req, len, NULL, 0, NULL, NULL);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int shim_ret(int status)
{
    if (status < 0) {
        errno = -status;
        return -1;
    }
    return 0;
}

int shim_enosys(const char *fn)
{
    static pthread_mutex_t l = PTHREAD_MUTEX_INITIALIZER;
    static char seen[2048];
    pthread_mutex_lock(&l);
    bool first = !strstr(seen, fn);
    if (first && strlen(seen) + strlen(fn) + 2 < sizeof(seen)) {
        strcat(seen, fn);
        strcat(seen, ",");
    }
    pthread_mutex_unlock(&l);
    if (first) {
        fprintf(stderr, "xensim: %s: not implemented (ENOSYS)\n", fn);
        shim_send(XSP_ENOSYS, fn, (uint32_t)strlen(fn) + 1);
    }
    errno = ENOSYS;
    return -1;
}

uint32_t shim_domid(void)
{
    pthread_mutex_lock(&lock);
    connect_locked();
    uint32_t d = domid;
    pthread_mutex_unlock(&lock);
    return d;
}

uint32_t shim_nr_vcpus(void)
{
    pthread_mutex_lock(&lock);
    connect_locked();
    uint32_t n = nr_vcpus;
    pthread_mutex_unlock(&lock);
    return n;
}

void *shim_map_frames(void *addr, int prot, int flags, size_t n, const int64_t *frames, int *err)
{
    pthread_mutex_lock(&lock);
    int rc = connect_locked();
    int mfd = memfd;
    pthread_mutex_unlock(&lock);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    uint8_t *base = mmap(addr, n * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED), -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (frames[i] < 0) {
            if (err)
                err[i] = (int)frames[i];
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && frames[j] == frames[i] + (int64_t)(j - i))
            j++;
        if (mmap(base + i * 4096, (j - i) * 4096, prot, MAP_SHARED | MAP_FIXED, mfd,
                 (off_t)frames[i] * 4096) == MAP_FAILED) {
            int e = errno;
            munmap(base, n * 4096);
            errno = e;
            return NULL;
        }
        for (size_t k = i; k < j; k++)
            if (err)
                err[k] = 0;
        i = j;
    }
    return base;
}

int shim_p2m_lookup(uint32_t dom, size_t n, const xen_pfn_t *gfns, int64_t *frames)
{
    size_t max = XSP_MAX_LIST - 4;
    uint8_t *req = malloc(sizeof(struct xsp_p2m_lookup) + max * 8);
    if (!req)
        return -ENOMEM;
    int rc = 0;
    for (size_t done = 0; done < n && !rc;) {
        size_t k = n - done < max ? n - done : max;
        struct xsp_p2m_lookup *q = (void *)req;
        q->domid = dom;
        q->n = (uint32_t)k;
        for (size_t i = 0; i < k; i++)
            q->gfn[i] = gfns[done + i];
        rc = shim_call(XSP_P2M_LOOKUP, q, (uint32_t)(sizeof(*q) + k * 8), frames + done,
                       (uint32_t)(k * 8), NULL, NULL);
        done += k;
    }
    free(req);
    return rc;
}

static int restrict_cb(struct shim_handle_ah *ah, domid_t d)
{
    struct shim_handle *h = (struct shim_handle *)ah;
    if (h->kill_on_restrict)
        h->dead = true;
    else
        h->restricted_domid = d;
    struct xsp_small q = {.domid = d, .a = h->kill_on_restrict};
    return shim_ret(shim_call(XSP_RESTRICT, &q, sizeof(q), NULL, 0, NULL, NULL));
}

void shim_handle_register(struct shim_handle *h, bool kill_on_restrict)
{
    h->ah.restrict_callback = restrict_cb;
    h->kill_on_restrict = kill_on_restrict;
    h->dead = false;
    h->restricted_domid = -1;
    xentoolcore__register_active_handle(&h->ah);
}

void shim_handle_deregister(struct shim_handle *h)
{
    xentoolcore__deregister_active_handle(&h->ah);
}

int shim_handle_check(const struct shim_handle *h, uint32_t dom)
{
    if (h->dead) {
        errno = EBADF;
        return -1;
    }
    if (h->restricted_domid >= 0 && (uint32_t)h->restricted_domid != dom) {
        errno = EPERM;
        return -1;
    }
    return 0;
}
