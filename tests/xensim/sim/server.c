/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's server thread: accepts the DM's shim connections on a
 * SOCK_SEQPACKET socket, answers each request (proto.h) under the simulator
 * lock, and watches the DM's pidfd to reap it and wake anyone waiting.
 *
 * Bad input: a message shorter than its header, with a length that does not
 * match what arrived, an unknown op or a payload too short for its op gets
 * an error reply (-EINVAL / -EBADMSG / -ENOSYS) and is otherwise ignored;
 * the connection and the simulator keep serving.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

struct reply {
    uint8_t buf[XSP_MAX_MSG];
    uint32_t len; /* payload bytes */
    int fd;       /* fd to pass, or -1; closed after sending if close_fd */
    bool close_fd;
};

static void *payload(struct reply *r)
{
    return r->buf + sizeof(struct xsp_hdr);
}

/* ---- one handler per op; return 0 / -errno, fill r ------------------- */

static int check_dom(xsim *x, uint32_t domid)
{
    return domid == x->cfg.domid ? 0 : -ESRCH;
}

static int op_hello(xsim *x, int ci, const void *p, uint32_t len, struct reply *r)
{
    const struct xsp_hello *h = p;
    if (len < sizeof(*h))
        return -EBADMSG;
    if (h->version != XSP_VERSION)
        return -EPROTO;
    x->conn[ci].pid = (pid_t)h->pid;
    struct xsp_hello_rep *rep = payload(r);
    rep->domid = x->cfg.domid;
    rep->nr_vcpus = x->cfg.vcpus;
    rep->memfd_size = XSIM_MEM_BYTES;
    r->len = sizeof(*rep);
    r->fd = x->memfd;
    return 0;
}

static int op_populate(xsim *x, const void *p, uint32_t len)
{
    const struct xsp_populate *q = p;
    if ((len - sizeof(*q)) / 8 < q->n)
        return -EBADMSG;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < q->n; i++)
        rc = mem_populate(x, q->gfn[i], q->order);
    xsim_log(x, "populate_physmap(%u x order %u at %#llx) -> %d", q->n, q->order,
             q->n ? (unsigned long long)q->gfn[0] : 0ULL, rc);
    return rc;
}

static int op_p2m_lookup(xsim *x, const void *p, uint32_t len, struct reply *r)
{
    const struct xsp_p2m_lookup *q = p;
    if ((len - sizeof(*q)) / 8 < q->n || q->n > XSP_MAX_LIST)
        return -EBADMSG;
    int64_t *out = payload(r);
    for (uint32_t i = 0; i < q->n; i++)
        out[i] = mem_gfn_to_frame(x, q->gfn[i]);
    r->len = q->n * 8;
    return 0;
}

static int op_resource(xsim *x, const void *p, struct reply *r)
{
    const struct xsp_resource *q = p;
    int rc;
    if (q->type != XENMEM_resource_ioreq_server)
        return -EOPNOTSUPP;
    if (q->nr == 0 || q->nr > 8)
        return -EINVAL;
    uint64_t *out = payload(r);
    for (uint64_t i = 0; i < q->nr; i++) {
        rc = ioreq_frame(x, q->id, q->frame + i, &out[i]);
        if (rc)
            return rc;
    }
    r->len = (uint32_t)q->nr * 8;
    return 0;
}

static int op_hvm_param(xsim *x, bool set, const void *p, struct reply *r)
{
    const struct xsp_hvm_param *q = p;
    if (q->index >= HVM_NR_PARAMS)
        return -EINVAL;
    if (set)
        x->hvm_param[q->index] = q->value;
    struct xsp_hvm_param *out = payload(r);
    *out = *q;
    out->value = x->hvm_param[q->index];
    r->len = sizeof(*out);
    xsim_log(x, "hvm_param %s %u = %llu", set ? "set" : "get", q->index,
             (unsigned long long)out->value);
    return 0;
}

static int op_ioreq(xsim *x, uint16_t op, const void *p, struct reply *r)
{
    const struct xsp_ioreq *q = p;
    struct xsp_ioreq *out = payload(r);
    *out = *q;
    r->len = sizeof(*out);
    switch (op) {
    case XSP_IOREQ_CREATE:
        return ioreq_create(x, (int)q->arg, &out->port);
    case XSP_IOREQ_INFO:
        if (q->id >= XSIM_MAX_SERVERS || !x->srv[q->id].exists)
            return -ENOENT;
        if (!x->srv[q->id].bufioreq)
            return -ENOENT;
        out->port = x->srv[q->id].buf_port;
        return 0;
    case XSP_IOREQ_STATE:
        return ioreq_set_state(x, q->id, q->arg != 0);
    default:
        return ioreq_destroy(x, q->id);
    }
}

static int op_range(xsim *x, const void *p)
{
    const struct xsp_range *q = p;
    return ioreq_range(x, q->id, q->map != 0, q->type, q->start, q->end);
}

static int op_small(xsim *x, uint16_t op, const void *p, struct reply *r)
{
    const struct xsp_small *q = p;
    switch (op) {
    case XSP_IRQ_ISA:
        return irq_set_isa(&x->irq, q->a, q->b);
    case XSP_IRQ_INTX:
        return irq_set_intx(&x->irq, q->a, q->b, q->c);
    case XSP_LINK_ROUTE:
        return irq_set_link_route(&x->irq, q->a, q->b);
    case XSP_SHUTDOWN:
        if (q->a > SHUTDOWN_MAX)
            return -EINVAL;
        x->shutdown_reason = (int)q->a;
        xsim_log(x, "shutdown(reason %u)", q->a);
        pthread_cond_broadcast(&x->cond);
        return 0;
    case XSP_NR_VCPUS: {
        struct xsp_small *out = payload(r);
        *out = *q;
        out->a = x->cfg.vcpus;
        r->len = sizeof(*out);
        return 0;
    }
    default: /* XSP_RESTRICT */
        x->restricted = 1;
        xsim_log(x, "restrict(domid %u, %s)", q->domid, q->a ? "killed" : "limited");
        return 0;
    }
}

static int op_msi(xsim *x, const void *p)
{
    const struct xsp_msi *q = p;
    if ((q->addr & 0xfff00000ULL) != 0xfee00000ULL)
        return -EINVAL;
    return irq_inject_msi(&x->irq, q->addr, q->data);
}

static int op_mem(xsim *x, uint16_t op, const void *p, struct reply *r)
{
    const struct xsp_mem *q = p;
    int rc;
    switch (op) {
    case XSP_DIRTY_VRAM: {
        uint32_t bytes = ((q->nr + 63) / 64) * 8;
        if (bytes > sizeof(r->buf) - sizeof(struct xsp_hdr))
            return -E2BIG;
        memset(payload(r), 0, bytes); /* no stale reply bytes past bit nr */
        /* not under x->lock: a guest thread may hold it while it waits for
         * this DM (an ioreq round trip) */
        if (q->nr)
            __atomic_fetch_add(&x->stats.dirty_vram, 1, __ATOMIC_RELAXED);
        rc = mem_dirty_vram(x, q->first, q->nr, payload(r));
        if (!rc)
            r->len = bytes;
        return rc;
    }
    case XSP_MODIFIED_MEMORY:
        return q->first + q->nr > XSIM_P2M_ENTRIES ? -EINVAL : 0;
    case XSP_MEM_TYPE:
        xsim_log(x, "set_mem_type(%u, %#llx, %u)", q->arg, (unsigned long long)q->first, q->nr);
        return mem_set_type(x, q->first, q->nr, q->arg);
    case XSP_RELOCATE:
        rc = mem_relocate(x, q->first, q->second, q->nr);
        xsim_log(x, "relocate_memory(%u pages, %#llx -> %#llx) -> %d", q->nr,
                 (unsigned long long)q->first, (unsigned long long)q->second, rc);
        return rc;
    default: /* PIN_CACHEATTR */
        return q->first > q->second ? -EINVAL : 0;
    }
}

/* Close a DM evtchn handle: its bindings and their notify eventfds. */
static void close_evh(xsim *x, int h)
{
    for (unsigned p = 0; p < EVTCHN_MAX_PORTS; p++)
        if (x->ev.port[p].bound && x->ev.port[p].handle == h && x->port_efd[p] >= 0) {
            close(x->port_efd[p]);
            x->port_efd[p] = -1;
        }
    evtchn_close_handle(&x->ev, h);
    close(x->evh[h].pipe_w);
    x->evh[h].used = false;
}

static int op_ev(xsim *x, int ci, uint16_t op, const void *p, uint32_t len, struct reply *r)
{
    const struct xsp_ev *q = p;
    if (op == XSP_EV_OPEN) {
        int h;
        for (h = 0; h < XSIM_MAX_EV_HANDLES && x->evh[h].used; h++)
            ;
        if (h == XSIM_MAX_EV_HANDLES)
            return -EMFILE;
        _Static_assert(XSP_EV_MASKED == EVTCHN_SHARED_MASKED &&
                           XSP_EV_PENDING == EVTCHN_SHARED_PENDING,
                       "shared event-channel bits");
        _Static_assert(XSP_EV_SHARED_PORTS * sizeof(uint32_t) <= XSIM_PAGE_SIZE, "one state page");
        int64_t frame = mem_alloc_frame(x);
        if (frame < 0)
            return (int)frame;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return -errno;
        fcntl(pfd[1], F_SETFL, O_NONBLOCK);
        x->evh[h] = (struct xsim_evh){.used = true,
                                      .conn = ci,
                                      .pipe_w = pfd[1],
                                      .state = mem_frame_ptr(x, (uint64_t)frame),
                                      .state_frame = (uint64_t)frame};
        memset(x->evh[h].state, 0, XSIM_PAGE_SIZE);
        struct xsp_ev_open_rep *out = payload(r);
        *out = (struct xsp_ev_open_rep){.handle = (uint32_t)h, .state_frame = (uint64_t)frame};
        r->len = sizeof(*out);
        r->fd = pfd[0];
        r->close_fd = true;
        return 0;
    }
    if (len < sizeof(*q))
        return -EBADMSG;
    if (q->handle >= XSIM_MAX_EV_HANDLES || !x->evh[q->handle].used || x->evh[q->handle].conn != ci)
        return -EBADF;
    int h = (int)q->handle;
    switch (op) {
    case XSP_EV_BIND: {
        int rc = check_dom(x, q->domid);
        if (rc)
            return rc;
        if (q->port >= EVTCHN_MAX_PORTS)
            return -EINVAL;
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
            return -errno;
        int local = evtchn_bind(&x->ev, h, q->port);
        if (local < 0) {
            close(efd);
            return local;
        }
        if (x->port_efd[q->port] >= 0)
            close(x->port_efd[q->port]);
        x->port_efd[q->port] = efd;
        if ((uint32_t)local < XSP_EV_SHARED_PORTS)
            evtchn_set_shared(&x->ev, h, (uint32_t)local, &x->evh[h].state[local]);
        struct xsp_ev *out = payload(r);
        *out = *q;
        out->port = (uint32_t)local;
        r->len = sizeof(*out);
        r->fd = efd; /* we keep our copy: the vCPU waits on it */
        xsim_log(x, "bind_interdomain(remote %u) -> local %d", q->port, local);
        pthread_cond_broadcast(&x->cond);
        return 0;
    }
    case XSP_EV_UNMASK:
        return evtchn_unmask(&x->ev, h, q->port);
    case XSP_EV_UNBIND: {
        int remote = evtchn_remote_of(&x->ev, h, q->port);
        int rc = evtchn_unbind(&x->ev, h, q->port);
        if (!rc && remote >= 0 && x->port_efd[remote] >= 0) {
            close(x->port_efd[remote]);
            x->port_efd[remote] = -1;
        }
        return rc;
    }
    default: /* EV_CLOSE */
        close_evh(x, h);
        return 0;
    }
}

/* Requests about the domain: the length of their fixed part, whose first
 * field is the domain id.  Both are checked here, once for all of them. */
static const uint32_t domain_request_len[] = {
    [XSP_POPULATE] = sizeof(struct xsp_populate),
    [XSP_P2M_LOOKUP] = sizeof(struct xsp_p2m_lookup),
    [XSP_RESOURCE_FRAMES] = sizeof(struct xsp_resource),
    [XSP_HVM_PARAM_GET] = sizeof(struct xsp_hvm_param),
    [XSP_HVM_PARAM_SET] = sizeof(struct xsp_hvm_param),
    [XSP_IOREQ_CREATE] = sizeof(struct xsp_ioreq),
    [XSP_IOREQ_INFO] = sizeof(struct xsp_ioreq),
    [XSP_IOREQ_STATE] = sizeof(struct xsp_ioreq),
    [XSP_IOREQ_DESTROY] = sizeof(struct xsp_ioreq),
    [XSP_IOREQ_RANGE] = sizeof(struct xsp_range),
    [XSP_IRQ_ISA] = sizeof(struct xsp_small),
    [XSP_IRQ_INTX] = sizeof(struct xsp_small),
    [XSP_LINK_ROUTE] = sizeof(struct xsp_small),
    [XSP_SHUTDOWN] = sizeof(struct xsp_small),
    [XSP_NR_VCPUS] = sizeof(struct xsp_small),
    [XSP_RESTRICT] = sizeof(struct xsp_small),
    [XSP_MSI] = sizeof(struct xsp_msi),
    [XSP_DIRTY_VRAM] = sizeof(struct xsp_mem),
    [XSP_MODIFIED_MEMORY] = sizeof(struct xsp_mem),
    [XSP_MEM_TYPE] = sizeof(struct xsp_mem),
    [XSP_RELOCATE] = sizeof(struct xsp_mem),
    [XSP_PIN_CACHEATTR] = sizeof(struct xsp_mem),
};

static int dispatch(xsim *x, int ci, const struct xsp_hdr *hdr, const void *p, struct reply *r)
{
    uint32_t len = hdr->len;
    if (hdr->op < sizeof(domain_request_len) / sizeof(domain_request_len[0]) &&
        domain_request_len[hdr->op]) {
        if (len < domain_request_len[hdr->op])
            return -EBADMSG;
        uint32_t domid;
        memcpy(&domid, p, sizeof(domid));
        if (check_dom(x, domid))
            return -ESRCH;
    }
    switch (hdr->op) {
    case XSP_HELLO:
        return op_hello(x, ci, p, len, r);
    case XSP_POPULATE:
        return op_populate(x, p, len);
    case XSP_P2M_LOOKUP:
        return op_p2m_lookup(x, p, len, r);
    case XSP_RESOURCE_FRAMES:
        return op_resource(x, p, r);
    case XSP_HVM_PARAM_GET:
        return op_hvm_param(x, false, p, r);
    case XSP_HVM_PARAM_SET:
        return op_hvm_param(x, true, p, r);
    case XSP_IOREQ_CREATE:
    case XSP_IOREQ_INFO:
    case XSP_IOREQ_STATE:
    case XSP_IOREQ_DESTROY:
        return op_ioreq(x, hdr->op, p, r);
    case XSP_IOREQ_RANGE:
        return op_range(x, p);
    case XSP_IRQ_ISA:
    case XSP_IRQ_INTX:
    case XSP_LINK_ROUTE:
    case XSP_SHUTDOWN:
    case XSP_NR_VCPUS:
    case XSP_RESTRICT:
        return op_small(x, hdr->op, p, r);
    case XSP_MSI:
        return op_msi(x, p);
    case XSP_DIRTY_VRAM:
    case XSP_MODIFIED_MEMORY:
    case XSP_MEM_TYPE:
    case XSP_RELOCATE:
    case XSP_PIN_CACHEATTR:
        return op_mem(x, hdr->op, p, r);
    case XSP_EV_OPEN:
    case XSP_EV_BIND:
    case XSP_EV_UNMASK:
    case XSP_EV_UNBIND:
    case XSP_EV_CLOSE:
        return op_ev(x, ci, hdr->op, p, len, r);
    case XSP_ENOSYS: {
        char name[128];
        size_t n = len < sizeof(name) - 1 ? len : sizeof(name) - 1;
        memcpy(name, p, n);
        name[n] = 0;
        name[strcspn(name, ",")] = 0;
        size_t used = strlen(x->enosys_log);
        if (!strstr(x->enosys_log, name) && used + strlen(name) + 2 < sizeof(x->enosys_log))
            snprintf(x->enosys_log + used, sizeof(x->enosys_log) - used, "%s%s", used ? "," : "",
                     name);
        return 0;
    }
    default:
        return -ENOSYS;
    }
}

static void send_reply(int fd, const struct xsp_hdr *req, int status, struct reply *r)
{
    struct xsp_hdr *h = (struct xsp_hdr *)r->buf;
    *h = (struct xsp_hdr){
        .op = req->op, .seq = req->seq, .len = status ? 0 : r->len, .status = status};
    struct iovec iov = {.iov_base = r->buf, .iov_len = sizeof(*h) + h->len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (!status && r->fd >= 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &r->fd, sizeof(int));
    }
    if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
        perror("xensim: sendmsg");
}

static void close_conn(xsim *x, int ci)
{
    for (int h = 0; h < XSIM_MAX_EV_HANDLES; h++)
        if (x->evh[h].used && x->evh[h].conn == ci)
            close_evh(x, h);
    close(x->conn[ci].fd);
    x->conn[ci].fd = -1;
}

static void handle_conn(xsim *x, int ci, uint8_t *in, struct reply *r)
{
    ssize_t n = recv(x->conn[ci].fd, in, XSP_MAX_MSG, MSG_TRUNC);
    if (n <= 0) {
        pthread_mutex_lock(&x->lock);
        close_conn(x, ci);
        pthread_mutex_unlock(&x->lock);
        return;
    }
    struct xsp_hdr bad = {0};
    const struct xsp_hdr *hdr = (const void *)in;
    if ((size_t)n < sizeof(*hdr)) {
        xsim_log(x, "server: runt message (%zd bytes) rejected", n);
        send_reply(x->conn[ci].fd, &bad, -EBADMSG, r);
        return;
    }
    if (n > XSP_MAX_MSG || hdr->len != (size_t)n - sizeof(*hdr)) {
        xsim_log(x, "server: op %u with length %u in a %zd-byte message rejected", hdr->op,
                 hdr->len, n);
        if (!(hdr->flags & XSP_F_NOREPLY))
            send_reply(x->conn[ci].fd, hdr, -EBADMSG, r);
        return;
    }
    r->len = 0;
    r->fd = -1;
    r->close_fd = false;
    pthread_mutex_lock(&x->lock);
    int status = dispatch(x, ci, hdr, in + sizeof(*hdr), r);
    pthread_mutex_unlock(&x->lock);
    if (status)
        xsim_log(x, "server: op %u -> %s", hdr->op, strerror(-status));
    if (!(hdr->flags & XSP_F_NOREPLY))
        send_reply(x->conn[ci].fd, hdr, status, r);
    if (r->fd >= 0 && r->close_fd)
        close(r->fd);
}

static void reap_dm(xsim *x)
{
    int status;
    pid_t p = waitpid(x->dm_pid, &status, WNOHANG);
    if (p != x->dm_pid)
        return;
    pthread_mutex_lock(&x->lock);
    x->dm_exited = true;
    x->dm_status = status;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
}

static void *server_main(void *arg)
{
    xsim *x = arg;
    uint8_t *in = malloc(XSP_MAX_MSG + 1);
    struct reply *r = malloc(sizeof(*r));
    if (!in || !r)
        abort();
    for (;;) {
        struct pollfd pfd[3 + XSIM_MAX_CONNS];
        int map[3 + XSIM_MAX_CONNS];
        int n = 0;
        pfd[n] = (struct pollfd){.fd = x->wake_pipe[0], .events = POLLIN};
        map[n++] = -1;
        pfd[n] = (struct pollfd){.fd = x->listen_fd, .events = POLLIN};
        map[n++] = -2;
        pthread_mutex_lock(&x->lock);
        if (x->dm_pidfd >= 0 && !x->dm_exited) {
            pfd[n] = (struct pollfd){.fd = x->dm_pidfd, .events = POLLIN};
            map[n++] = -3;
        }
        for (int i = 0; i < XSIM_MAX_CONNS; i++)
            if (x->conn[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = x->conn[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        pthread_mutex_unlock(&x->lock);
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents) {
            char c;
            if (read(x->wake_pipe[0], &c, 1) == 1 && c == 'q')
                break;
            continue; /* the set of fds changed (new DM): poll again */
        }
        for (int k = 1; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (map[k] == -2) {
                int fd = accept4(x->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                pthread_mutex_lock(&x->lock);
                int i;
                for (i = 0; i < XSIM_MAX_CONNS && x->conn[i].fd >= 0; i++)
                    ;
                if (i == XSIM_MAX_CONNS)
                    close(fd);
                else
                    x->conn[i] = (struct xsim_conn){.fd = fd};
                pthread_mutex_unlock(&x->lock);
            } else if (map[k] == -3) {
                reap_dm(x);
            } else {
                handle_conn(x, map[k], in, r);
            }
        }
    }
    free(in);
    free(r);
    return NULL;
}

void xsim_sever_dm(xsim *x)
{
    pthread_mutex_lock(&x->lock);
    for (int i = 0; i < XSIM_MAX_CONNS; i++)
        if (x->conn[i].fd >= 0)
            close_conn(x, i);
    pthread_mutex_unlock(&x->lock);
    server_wake(x);
}

int server_start(xsim *x)
{
    x->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (x->listen_fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(x->ctl_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, x->ctl_path);
    if (bind(x->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(x->listen_fd, 8) < 0)
        return -errno;
    if (pipe2(x->wake_pipe, O_CLOEXEC) < 0)
        return -errno;
    for (int i = 0; i < XSIM_MAX_CONNS; i++)
        x->conn[i].fd = -1;
    if (pthread_create(&x->thread, NULL, server_main, x))
        return -EAGAIN;
    x->thread_running = true;
    return 0;
}

void server_wake(xsim *x)
{
    char c = 'w';
    if (write(x->wake_pipe[1], &c, 1) < 0)
        perror("xensim: wake");
}

void server_stop(xsim *x)
{
    if (x->thread_running) {
        char c = 'q';
        if (write(x->wake_pipe[1], &c, 1) < 0)
            perror("xensim: stop");
        pthread_join(x->thread, NULL);
        x->thread_running = false;
    }
    for (int i = 0; i < XSIM_MAX_CONNS; i++)
        if (x->conn[i].fd >= 0)
            close_conn(x, i);
    if (x->listen_fd >= 0)
        close(x->listen_fd);
    for (int i = 0; i < 2; i++)
        if (x->wake_pipe[i] >= 0)
            close(x->wake_pipe[i]);
}
