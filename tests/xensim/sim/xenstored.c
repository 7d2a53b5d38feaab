/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim's xenstored: the xenstored socket protocol (xen/io/xs_wire.h,
 * Xen's docs/misc/xenstore.txt) on a UNIX stream socket, so that the real
 * libxenstore.so.4 (XENSTORED_PATH=<socket>) in a device model or in a test
 * talks to it unchanged.
 *
 * Implemented: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS,
 * SET_PERMS, WATCH, UNWATCH, RESET_WATCHES, TRANSACTION_START/END,
 * GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED; errors as XS_ERROR with the errno
 * name.  Every connection is dom0: privileged, relative paths under
 * /local/domain/0, events of relative watches reported relative.  Watches
 * fire once at registration; RM fires the watches above the removed node
 * with its path and the watches below it with their own path.
 * Transactions copy the whole tree; a commit fails with EAGAIN if the live
 * tree changed since the start (xenstore.txt's rule, stricter than today's
 * per-node xenstored), else the copy becomes the tree and the watches fire
 * for every path it changed.
 *
 * Left out: permission enforcement (perms are stored and inherited, never
 * checked: everybody is dom0), INTRODUCE/RELEASE/RESUME/SET_TARGET (EINVAL;
 * @introduceDomain/@releaseDomain watches fire only at registration),
 * CONTROL (ENOSYS), quotas beyond the few limits below, the shared-ring
 * transport, live update.
 *
 * Threads: one server thread ("xsim-xenstored") runs a poll loop over a wake
 * pipe, the listener and the clients.  One mutex guards the tree, the
 * connections' queues and the counters; the xsd_* functions take it too.
 * Only the server thread reads, accepts and frees connections; anybody
 * holding the lock may queue output and try to send it without blocking.
 * Client input is never trusted: bad messages get an error reply, are
 * counted and logged (rate-limited) and the connection lives on, except
 * after an oversized header, where the stream cannot be resynchronised.
 */
#include "tests/xensim/sim/xenstored.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define XSD_HOME "/local/domain/0" /* where relative paths of dom0 live */
/* Limits, not tuning: each stops one client from exhausting the process.
 * A DM opens two or three connections with a dozen watches. */
#define XSD_MAX_CONNS     256       /* more are accepted and closed at once */
#define XSD_MAX_TX        64        /* open transactions per connection */
#define XSD_MAX_WATCHES   1024      /* watches per connection */
#define XSD_MAX_QUEUED    (1 << 20) /* unsent bytes before we drop a client */
#define XSD_MSGS_PER_POLL 64        /* fairness: then let the others speak */
#define XSD_LOG_BURST     20        /* log lines per second, the rest counted */
#define XSD_MAX_DOMID     65535

#define HDR_LEN sizeof(struct xsd_sockmsg)

struct xs_perm {
    char type; /* 'n', 'r', 'w' or 'b' */
    unsigned domid;
};

struct xs_node {
    char *name; /* last path component; "" for the root */
    struct xs_node *parent;
    struct xs_node **kids; /* in creation order, as xenstored lists them */
    unsigned nkids, kids_cap;
    char *val; /* always NUL-terminated at val[len] */
    unsigned len;
    struct xs_perm *perms; /* [0] is the owner and everybody else's access */
    unsigned nperms;
};

enum xs_change_kind { CHG_WRITE, CHG_MKDIR, CHG_RM, CHG_PERMS };

/* A change to the tree: kept by a transaction until it commits, or queued
 * for the write hook (CHG_WRITE only). */
struct xs_change {
    struct xs_change *next;
    enum xs_change_kind kind;
    char *path; /* absolute */
    char *val;  /* CHG_WRITE: the value written */
    unsigned len;
};

struct xs_tx {
    struct xs_tx *next;
    uint32_t id;
    unsigned long base_gen; /* xsd.gen at the start */
    unsigned long gen;      /* generation of the copy, for DIRECTORY_PART */
    struct xs_node *root;   /* the transaction's copy of the tree */
    struct xs_change *changes, **changes_tail;
};

struct xs_watch {
    struct xs_watch *next;
    char *path; /* absolute, or "@special" */
    char *token;
    bool relative; /* registered relative: report events relative */
};

struct xs_conn {
    struct xs_conn *next;
    int fd;
    unsigned id;  /* for log lines */
    bool dead;    /* free it at the end of this loop iteration */
    bool closing; /* send what is queued, read nothing more, then close */
    struct xsd_sockmsg hdr;
    unsigned in_used;                            /* bytes of the message read */
    char in[HDR_LEN + XENSTORE_PAYLOAD_MAX + 1]; /* +1: NUL after the payload */
    char *out;
    size_t out_off, out_len, out_cap;
    struct xs_watch *watches;
    unsigned nwatches;
    struct xs_tx *txs;
    unsigned ntxs;
};

struct xsd {
    pthread_mutex_t lock;
    pthread_t thread;
    int listen_fd, wake[2];
    char *sock_path;
    bool stopping;
    struct xs_node *root;
    unsigned long gen; /* bumped by every change to the live tree */
    uint32_t next_txid;
    unsigned next_conn_id, nconns;
    struct xs_conn *conns;
    xsd_write_hook *hook;
    void *hook_opaque;
    struct xsd_stats stats;
    time_t log_second;
    unsigned log_lines, log_dropped;
};

/* Where an operation applies and what it leaves to do after unlocking. */
struct xs_ctx {
    struct xsd *d;
    struct xs_tx *tx;        /* NULL: the live tree */
    struct xs_change *hooks; /* writes to report to the hook, in order */
    struct xs_change **hooks_tail;
};

/* ---- logging ------------------------------------------------------------ */

/* Lock held.  At most XSD_LOG_BURST lines per second reach stderr. */
static void __attribute__((format(printf, 2, 3))) xsd_log(struct xsd *d, const char *fmt, ...)
{
    time_t now = time(NULL);
    va_list ap;

    if (now != d->log_second) {
        if (d->log_dropped)
            fprintf(stderr, "xenstored: %u messages suppressed\n", d->log_dropped);
        d->log_second = now;
        d->log_lines = d->log_dropped = 0;
    }
    if (d->log_lines++ >= XSD_LOG_BURST) {
        d->log_dropped++;
        return;
    }
    fputs("xenstored: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- paths ---------------------------------------------------------------- */

static bool path_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '/' || c == '_' || c == '@';
}

/* xenstore.txt: [A-Za-z0-9-/_@], absolute, no "//", no trailing '/' except
 * for the root, at most XENSTORE_ABS_PATH_MAX bytes. */
static bool path_valid(const char *p)
{
    size_t n = strlen(p);

    if (p[0] != '/' || n > XENSTORE_ABS_PATH_MAX || (n > 1 && p[n - 1] == '/'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!path_char_ok(p[i]) || (p[i] == '/' && p[i + 1] == '/'))
            return false;
    return true;
}

/* A client's path made absolute (malloc'd) and checked. */
static int path_resolve(const char *in, char **abs, bool *relative)
{
    bool rel = in[0] != '/';
    char *p;

    if (!in[0])
        return -EINVAL;
    if (rel) {
        if (asprintf(&p, XSD_HOME "/%s", in) < 0)
            return -ENOMEM;
    } else if (!(p = strdup(in))) {
        return -ENOMEM;
    }
    if (!path_valid(p)) {
        free(p);
        return -EINVAL;
    }
    *abs = p;
    if (relative)
        *relative = rel;
    return 0;
}

/* xenstore.txt: child is parent, or below it ("/a/b" is not above "/a/bc"). */
static bool path_is_child(const char *child, const char *parent)
{
    size_t n = strlen(parent);

    if (n == 1 && parent[0] == '/')
        return child[0] == '/';
    return !strncmp(child, parent, n) && (child[n] == '\0' || child[n] == '/');
}

/* ---- the tree ------------------------------------------------------------- */

static void node_free(struct xs_node *n)
{
    if (!n)
        return;
    for (unsigned i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->val);
    free(n->perms);
    free(n);
}

/* Unlink n from its parent, if any, and free it. */
static void node_remove(struct xs_node *n)
{
    struct xs_node *parent = n->parent;

    for (unsigned i = 0; parent && i < parent->nkids; i++) {
        if (parent->kids[i] == n) {
            parent->nkids--;
            memmove(&parent->kids[i], &parent->kids[i + 1], (parent->nkids - i) * sizeof(n));
            break;
        }
    }
    node_free(n);
}

static int node_set_val(struct xs_node *n, const void *val, unsigned len)
{
    char *v = malloc(len + 1);

    if (!v)
        return -ENOMEM;
    memcpy(v, val, len);
    v[len] = '\0';
    free(n->val);
    n->val = v;
    n->len = len;
    return 0;
}

static int node_set_perms(struct xs_node *n, const struct xs_perm *perms, unsigned nperms)
{
    struct xs_perm *p = malloc(nperms * sizeof(*p));

    if (!p)
        return -ENOMEM;
    memcpy(p, perms, nperms * sizeof(*p));
    free(n->perms);
    n->perms = p;
    n->nperms = nperms;
    return 0;
}

/* A new empty node, last child of `parent`.  It inherits the parent's
 * permissions, as xenstored does for dom0; the root gets "n0". */
static struct xs_node *node_new(struct xs_node *parent, const char *name, size_t name_len)
{
    static const struct xs_perm root_perm = {'n', 0};
    struct xs_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    if (!(n->name = strndup(name, name_len)) || node_set_val(n, "", 0) ||
        node_set_perms(n, parent ? parent->perms : &root_perm, parent ? parent->nperms : 1))
        goto fail;
    if (parent && parent->nkids == parent->kids_cap) {
        unsigned cap = parent->kids_cap ? 2 * parent->kids_cap : 4;
        struct xs_node **k = realloc(parent->kids, cap * sizeof(*k));

        if (!k)
            goto fail;
        parent->kids = k;
        parent->kids_cap = cap;
    }
    if (parent) {
        parent->kids[parent->nkids++] = n;
        n->parent = parent;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static struct xs_node *node_clone(const struct xs_node *src, struct xs_node *parent)
{
    struct xs_node *n = node_new(parent, src->name, strlen(src->name));

    if (!n)
        return NULL;
    if (node_set_val(n, src->val, src->len) || node_set_perms(n, src->perms, src->nperms))
        goto fail;
    for (unsigned i = 0; i < src->nkids; i++)
        if (!node_clone(src->kids[i], n))
            goto fail;
    return n;
fail:
    node_remove(n);
    return NULL;
}

static struct xs_node *node_child(const struct xs_node *n, const char *name, size_t len)
{
    for (unsigned i = 0; i < n->nkids; i++)
        if (!strncmp(n->kids[i]->name, name, len) && !n->kids[i]->name[len])
            return n->kids[i];
    return NULL;
}

/* Walk a valid absolute path; with `create`, make the missing nodes. */
static struct xs_node *node_walk(struct xs_node *root, const char *path, bool create)
{
    struct xs_node *n = root;
    const char *p = path + 1;

    while (*p) {
        const char *end = strchrnul(p, '/');
        struct xs_node *k = node_child(n, p, end - p);

        if (!k) {
            if (!create || !(k = node_new(n, p, end - p)))
                return NULL;
        }
        n = k;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* Children names, each NUL-terminated (malloc'd; *len bytes). */
static char *node_list(const struct xs_node *n, size_t *len)
{
    size_t total = 0, off = 0;
    char *buf;

    for (unsigned i = 0; i < n->nkids; i++)
        total += strlen(n->kids[i]->name) + 1;
    if (!(buf = malloc(total + 1)))
        return NULL;
    for (unsigned i = 0; i < n->nkids; i++) {
        size_t l = strlen(n->kids[i]->name) + 1;

        memcpy(buf + off, n->kids[i]->name, l);
        off += l;
    }
    buf[total] = '\0';
    *len = total;
    return buf;
}

/* ---- connections: output ---------------------------------------------------- */

/* Lock held.  Queue one message (payload in up to two pieces); a client
 * that stopped reading is dropped rather than allowed to eat memory. */
static void conn_queue(struct xsd *d, struct xs_conn *c, uint32_t type, uint32_t req_id,
                       uint32_t tx_id, const void *p1, size_t l1, const void *p2, size_t l2)
{
    struct xsd_sockmsg hdr = {type, req_id, tx_id, (uint32_t)(l1 + l2)};
    size_t need = HDR_LEN + l1 + l2;

    if (c->dead)
        return;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len - c->out_off + need > XSD_MAX_QUEUED) {
        xsd_log(d, "conn %u: not reading its replies, dropped", c->id);
        c->dead = true;
        return;
    }
    if (c->out_len + need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *o;

        if (c->out_off) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        while (cap < c->out_len + need)
            cap *= 2;
        if (cap != c->out_cap) {
            if (!(o = realloc(c->out, cap))) {
                xsd_log(d, "conn %u: out of memory, dropped", c->id);
                c->dead = true;
                return;
            }
            c->out = o;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, &hdr, HDR_LEN);
    if (l1)
        memcpy(c->out + c->out_len + HDR_LEN, p1, l1);
    if (l2)
        memcpy(c->out + c->out_len + HDR_LEN + l1, p2, l2);
    c->out_len += need;
}

/* Lock held.  Send what the socket takes now; true if some is left. */
static bool conn_flush(struct xs_conn *c)
{
    while (!c->dead && c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0) {
            c->dead = true; /* the peer went away; the loop frees it */
            return false;
        }
        c->out_off += n;
    }
    return false;
}

static void xsd_wake(struct xsd *d)
{
    char b = 0;

    if (write(d->wake[1], &b, 1) < 0) {
        /* full pipe: the thread is already due to wake */
    }
}

/* Lock held.  Flush every connection; true if some output must wait. */
static bool xsd_flush_all(struct xsd *d)
{
    bool pending = false;

    for (struct xs_conn *c = d->conns; c; c = c->next)
        pending |= conn_flush(c);
    return pending;
}

static void conn_error(struct xsd *d, struct xs_conn *c, const struct xsd_sockmsg *req, int err)
{
    const char *name = "EINVAL"; /* what libxenstore assumes for unknown names */

    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == err)
            name = xsd_errors[i].errstring;
    d->stats.errors++;
    conn_queue(d, c, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1, NULL, 0);
}

/* ---- changes and watches ---------------------------------------------------- */

static void change_free(struct xs_change *ch)
{
    while (ch) {
        struct xs_change *next = ch->next;

        free(ch->path);
        free(ch->val);
        free(ch);
        ch = next;
    }
}

static struct xs_change *change_new(enum xs_change_kind kind, const char *path, const void *val,
                                    unsigned len)
{
    struct xs_change *ch = calloc(1, sizeof(*ch));

    if (!ch)
        return NULL;
    ch->kind = kind;
    ch->path = strdup(path);
    if (kind == CHG_WRITE && (ch->val = malloc(len + 1))) {
        memcpy(ch->val, val, len);
        ch->val[len] = '\0';
        ch->len = len;
    }
    if (!ch->path || (kind == CHG_WRITE && !ch->val)) {
        change_free(ch);
        return NULL;
    }
    return ch;
}

/* Lock held.  Queue the events that a change of `path` causes. */
static void fire_watches(struct xsd *d, const char *path, bool removed)
{
    for (struct xs_conn *c = d->conns; c; c = c->next) {
        for (struct xs_watch *w = c->watches; w; w = w->next) {
            const char *ev;
            size_t plen, tlen;

            if (w->path[0] == '@')
                continue;
            if (path_is_child(path, w->path))
                ev = path;
            else if (removed && path_is_child(w->path, path))
                ev = w->path;
            else
                continue;
            if (w->relative)
                ev += strlen(XSD_HOME) + 1; /* ev is strictly below XSD_HOME */
            plen = strlen(ev) + 1;
            tlen = strlen(w->token) + 1;
            if (plen + tlen > XENSTORE_PAYLOAD_MAX) {
                xsd_log(d, "conn %u: event for %s too long, not sent", c->id, ev);
                continue;
            }
            d->stats.watch_events++;
            conn_queue(d, c, XS_WATCH_EVENT, 0, 0, ev, plen, w->token, tlen);
        }
    }
}

/* Lock held.  The change `ch` was made: a transaction keeps it for its
 * commit; on the live tree it fires the watches now and a write is queued
 * for the hook.  Takes ownership of ch. */
static void ctx_changed(struct xs_ctx *x, struct xs_change *ch)
{
    if (x->tx) {
        x->tx->gen++;
        *x->tx->changes_tail = ch;
        x->tx->changes_tail = &ch->next;
        return;
    }
    x->d->gen++;
    fire_watches(x->d, ch->path, ch->kind == CHG_RM);
    if (ch->kind == CHG_WRITE) {
        *x->hooks_tail = ch;
        x->hooks_tail = &ch->next;
    } else {
        change_free(ch);
    }
}

static struct xs_node *ctx_root(const struct xs_ctx *x)
{
    return x->tx ? x->tx->root : x->d->root;
}

/* ---- tree operations, on the live tree or a transaction's copy ------------ */

static int store_write(struct xs_ctx *x, const char *path, const void *val, unsigned len)
{
    struct xs_change *ch = change_new(CHG_WRITE, path, val, len);
    struct xs_node *n;

    if (!ch)
        return -ENOMEM;
    if (!(n = node_walk(ctx_root(x), path, true)) || node_set_val(n, val, len)) {
        change_free(ch);
        return -ENOMEM;
    }
    ctx_changed(x, ch);
    return 0;
}

static int store_mkdir(struct xs_ctx *x, const char *path)
{
    struct xs_change *ch;

    if (node_walk(ctx_root(x), path, false))
        return 0; /* exists: no change, no event (xenstored) */
    if (!(ch = change_new(CHG_MKDIR, path, NULL, 0)))
        return -ENOMEM;
    if (!node_walk(ctx_root(x), path, true)) {
        change_free(ch);
        return -ENOMEM;
    }
    ctx_changed(x, ch);
    return 0;
}

/* xenstore.txt: removing a missing node is fine if its parent exists. */
static int store_rm(struct xs_ctx *x, const char *path)
{
    struct xs_node *n = node_walk(ctx_root(x), path, false);
    struct xs_change *ch;

    if (!strcmp(path, "/"))
        return -EINVAL;
    if (!n) {
        char *parent = strndup(path, strrchr(path, '/') - path);
        bool ok;

        if (!parent)
            return -ENOMEM;
        ok = node_walk(ctx_root(x), parent[0] ? parent : "/", false) != NULL;
        free(parent);
        return ok ? 0 : -ENOENT;
    }
    if (!(ch = change_new(CHG_RM, path, NULL, 0)))
        return -ENOMEM;
    node_remove(n);
    ctx_changed(x, ch);
    return 0;
}

/* ---- requests ------------------------------------------------------------- */

struct xs_req;

/* What the dispatcher parses before calling the handler. */
enum xs_arg {
    ARG_OWN,   /* nothing: the handler parses the payload */
    ARG_PATH,  /* one NUL-terminated path: r->path, absolute */
    ARG_NODE,  /* ARG_PATH naming an existing node: also r->node, else ENOENT */
    ARG_DOMID, /* one NUL-terminated domid: r->domid */
};

/*
 * A request handler, one per message type (xs_ops[] below).  Called on the
 * server thread with the lock held; never blocks.  r->body is the payload
 * plus a NUL, owned by the connection.  It either queues its reply and
 * returns 0, or returns a negative errno that the dispatcher answers as
 * XS_ERROR.  Malformed input goes through req_malformed().
 */
struct xs_op {
    const char *name;
    enum xs_arg arg;
    int (*handle)(struct xs_req *r);
};

struct xs_req {
    struct xs_ctx *x; /* x->tx: the transaction named by hdr.tx_id, if any */
    const struct xs_op *op;
    struct xs_conn *c;
    struct xsd_sockmsg hdr;
    char *body; /* hdr.len bytes, then a NUL */
    char *path;
    struct xs_node *node;
    unsigned long domid;
};

/* Reject a malformed request: count, log, and have it answered EINVAL. */
static int req_malformed(struct xs_req *r, const char *why)
{
    r->x->d->stats.malformed++;
    if (r->op)
        xsd_log(r->x->d, "conn %u: %s: %s", r->c->id, r->op->name, why);
    else
        xsd_log(r->x->d, "conn %u: type %u: %s", r->c->id, r->hdr.type, why);
    return -EINVAL;
}

static void req_reply(struct xs_req *r, const void *p, size_t len)
{
    conn_queue(r->x->d, r->c, r->hdr.type, r->hdr.req_id, r->hdr.tx_id, p, len, NULL, 0);
}

/* The usual end of a handler that changes something. */
static int req_done(struct xs_req *r, int rc)
{
    if (!rc)
        req_reply(r, "OK", 3);
    return rc;
}

/* Split the payload into exactly n NUL-terminated strings. */
static bool req_args(const struct xs_req *r, const char **argv, unsigned n)
{
    unsigned i = 0;

    if (!r->hdr.len || r->body[r->hdr.len - 1] != '\0')
        return false;
    for (size_t off = 0; off < r->hdr.len; off += strlen(r->body + off) + 1) {
        if (i == n)
            return false;
        argv[i++] = r->body + off;
    }
    return i == n;
}

static int req_resolve(struct xs_req *r, const char *arg, char **abs, bool *relative)
{
    int rc = path_resolve(arg, abs, relative);

    return rc == -EINVAL ? req_malformed(r, "invalid path") : rc;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *v = strtoul(s, &end, 10);
    return !*end && !errno && *v <= max;
}

/* Parse what r->op->arg says. */
static int req_prepare(struct xs_req *r)
{
    const char *arg;
    int rc;

    if (r->op->arg == ARG_OWN)
        return 0;
    if (!req_args(r, &arg, 1))
        return req_malformed(r, "expected one NUL-terminated argument");
    if (r->op->arg == ARG_DOMID)
        return parse_uint(arg, XSD_MAX_DOMID, &r->domid) ? 0 : req_malformed(r, "bad domid");
    if ((rc = req_resolve(r, arg, &r->path, NULL)))
        return rc;
    if (r->op->arg == ARG_NODE && !(r->node = node_walk(ctx_root(r->x), r->path, false)))
        return -ENOENT;
    return 0;
}

static int op_read(struct xs_req *r)
{
    req_reply(r, r->node->val, r->node->len);
    return 0;
}

/* "path\0value": the value is not NUL-terminated and may be empty. */
static int op_write(struct xs_req *r)
{
    const char *nul = memchr(r->body, '\0', r->hdr.len);
    char *path;
    int rc;

    if (!nul)
        return req_malformed(r, "no NUL after the path");
    if ((rc = req_resolve(r, r->body, &path, NULL)))
        return rc;
    rc = store_write(r->x, path, nul + 1, r->hdr.len - (nul + 1 - r->body));
    free(path);
    return req_done(r, rc);
}

static int op_mkdir(struct xs_req *r)
{
    return req_done(r, store_mkdir(r->x, r->path));
}

static int op_rm(struct xs_req *r)
{
    return req_done(r, store_rm(r->x, r->path));
}

static int op_directory(struct xs_req *r)
{
    size_t len;
    char *list = node_list(r->node, &len);
    int rc = 0;

    if (!list)
        return -ENOMEM;
    if (len > XENSTORE_PAYLOAD_MAX)
        rc = -E2BIG; /* libxenstore then asks with DIRECTORY_PART */
    else
        req_reply(r, list, len);
    free(list);
    return rc;
}

/* "path\0offset\0": reply "<gen>\0" then the whole names from byte `offset`
 * of the list that fit, plus one more NUL when the list ends there:
 * libxenstore stops at a doubled NUL and restarts if <gen> changes. */
static int op_directory_part(struct xs_req *r)
{
    const char *argv[2];
    char *path, *list, *buf;
    unsigned long off;
    size_t len, glen, pos;
    struct xs_node *n;
    int rc;

    if (!req_args(r, argv, 2) || !parse_uint(argv[1], UINT32_MAX, &off))
        return req_malformed(r, "expected a path and an offset");
    if ((rc = req_resolve(r, argv[0], &path, NULL)))
        return rc;
    n = node_walk(ctx_root(r->x), path, false);
    free(path);
    if (!n)
        return -ENOENT;
    if (!(list = node_list(n, &len)))
        return -ENOMEM;
    if (off > len || !(buf = malloc(XENSTORE_PAYLOAD_MAX))) {
        free(list);
        return off > len ? -EINVAL : -ENOMEM;
    }
    glen = (size_t)snprintf(buf, 24, "%lu", r->x->tx ? r->x->tx->gen : r->x->d->gen) + 1;
    for (pos = off; pos < len;) {
        size_t l = strlen(list + pos) + 1;

        if (glen + (pos + l - off) + (pos + l == len) > XENSTORE_PAYLOAD_MAX)
            break;
        pos += l;
    }
    memcpy(buf + glen, list + off, pos - off);
    if (pos == len)
        buf[glen + pos - off] = '\0';
    req_reply(r, buf, glen + (pos - off) + (pos == len));
    free(buf);
    free(list);
    return 0;
}

static int op_get_perms(struct xs_req *r)
{
    char buf[XENSTORE_PAYLOAD_MAX];
    size_t len = 0;

    for (unsigned i = 0; i < r->node->nperms; i++) {
        const struct xs_perm *p = &r->node->perms[i];
        int l = snprintf(buf + len, sizeof(buf) - len, "%c%u", p->type, p->domid);

        if (l < 0 || (size_t)l + 1 > sizeof(buf) - len)
            return -E2BIG;
        len += l + 1;
    }
    req_reply(r, buf, len);
    return 0;
}

/* "path\0" then one or more "<n|r|w|b><domid>\0". */
static int op_set_perms(struct xs_req *r)
{
    size_t off, start = strnlen(r->body, r->hdr.len) + 1;
    struct xs_perm *perms = NULL;
    struct xs_change *ch = NULL;
    unsigned nperms = 0;
    struct xs_node *n;
    char *path = NULL;
    int rc;

    if (!r->hdr.len || r->body[r->hdr.len - 1] || start >= r->hdr.len)
        return req_malformed(r, "expected a path and permissions");
    for (off = start; off < r->hdr.len; off += strlen(r->body + off) + 1)
        nperms++;
    if (!(perms = calloc(nperms, sizeof(*perms))))
        return -ENOMEM;
    nperms = 0;
    for (off = start; off < r->hdr.len; off += strlen(r->body + off) + 1) {
        const char *s = r->body + off;
        unsigned long id;

        if (!s[0] || !strchr("nrwb", s[0]) || !parse_uint(s + 1, XSD_MAX_DOMID, &id)) {
            rc = req_malformed(r, "bad permission string");
            goto out;
        }
        perms[nperms++] = (struct xs_perm){s[0], (unsigned)id};
    }
    if ((rc = req_resolve(r, r->body, &path, NULL)))
        goto out;
    rc = -ENOENT;
    if (!(n = node_walk(ctx_root(r->x), path, false)))
        goto out;
    rc = -ENOMEM;
    if (!(ch = change_new(CHG_PERMS, path, NULL, 0)) || node_set_perms(n, perms, nperms))
        goto out;
    ctx_changed(r->x, ch);
    ch = NULL;
    rc = 0;
out:
    change_free(ch);
    free(perms);
    free(path);
    return req_done(r, rc);
}

static void watch_free(struct xs_watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

/* "path\0token\0": the watch's path ("@special" as is, else resolved) in
 * *abs and its token in *token; a malformed request is answered here. */
static int watch_args(struct xs_req *r, char **abs, const char **token, bool *relative)
{
    const char *argv[2];

    if (!req_args(r, argv, 2))
        return req_malformed(r, "expected path and token");
    *token = argv[1];
    if (argv[0][0] != '@')
        return req_resolve(r, argv[0], abs, relative);
    for (const char *p = argv[0]; *p; p++)
        if (!path_char_ok(*p))
            return req_malformed(r, "invalid special watch path");
    if (strlen(argv[0]) > XENSTORE_REL_PATH_MAX)
        return req_malformed(r, "special watch path too long");
    *relative = false;
    return (*abs = strdup(argv[0])) ? 0 : -ENOMEM;
}

static struct xs_watch **watch_find(struct xs_conn *c, const char *path, const char *token)
{
    struct xs_watch **pw;

    for (pw = &c->watches; *pw; pw = &(*pw)->next)
        if (!strcmp((*pw)->path, path) && !strcmp((*pw)->token, token))
            break;
    return pw;
}

static int op_watch(struct xs_req *r)
{
    const char *token;
    struct xs_watch *w;
    bool relative;
    char *path;
    int rc;

    if ((rc = watch_args(r, &path, &token, &relative)))
        return rc;
    rc = -EEXIST;
    if (*watch_find(r->c, path, token))
        goto fail;
    rc = -ENOSPC;
    if (r->c->nwatches >= XSD_MAX_WATCHES)
        goto fail;
    rc = -ENOMEM;
    if (!(w = calloc(1, sizeof(*w))))
        goto fail;
    if (!(w->token = strdup(token))) {
        free(w);
        goto fail;
    }
    w->path = path;
    w->relative = relative;
    w->next = r->c->watches;
    r->c->watches = w;
    r->c->nwatches++;
    req_done(r, 0);
    /* It fires once at once, with the path as the client gave it. */
    r->x->d->stats.watch_events++;
    conn_queue(r->x->d, r->c, XS_WATCH_EVENT, 0, 0, r->body, strlen(r->body) + 1, token,
               strlen(token) + 1);
    return 0;
fail:
    free(path);
    return rc;
}

static int op_unwatch(struct xs_req *r)
{
    struct xs_watch **pw, *w;
    const char *token;
    bool relative;
    char *path;
    int rc;

    if ((rc = watch_args(r, &path, &token, &relative)))
        return rc;
    pw = watch_find(r->c, path, token);
    free(path);
    if (!(w = *pw))
        return -ENOENT;
    *pw = w->next;
    watch_free(w);
    r->c->nwatches--;
    return req_done(r, 0);
}

static void tx_free(struct xs_tx *tx)
{
    node_free(tx->root);
    change_free(tx->changes);
    free(tx);
}

static int op_transaction_start(struct xs_req *r)
{
    struct xs_tx *tx;
    char id[16];

    if (r->x->tx)
        return -EBUSY; /* no nesting (xenstored) */
    if (r->c->ntxs >= XSD_MAX_TX)
        return -ENOSPC;
    if (!(tx = calloc(1, sizeof(*tx))) || !(tx->root = node_clone(r->x->d->root, NULL))) {
        free(tx);
        return -ENOMEM;
    }
    do { /* unique enough: a connection has at most XSD_MAX_TX; 0 is "none" */
        tx->id = ++r->x->d->next_txid;
    } while (!tx->id);
    tx->base_gen = tx->gen = r->x->d->gen;
    tx->changes_tail = &tx->changes;
    tx->next = r->c->txs;
    r->c->txs = tx;
    r->c->ntxs++;
    req_reply(r, id, (size_t)snprintf(id, sizeof(id), "%u", tx->id) + 1);
    return 0;
}

/* Lock held.  Fire the watches of a committed transaction, once per path
 * and kind, and queue its writes for the hook. */
static void tx_replay(struct xs_ctx *x, struct xs_tx *tx)
{
    struct xs_change *ch, *prev;

    for (ch = tx->changes; ch; ch = ch->next) {
        bool seen = false;

        for (prev = tx->changes; prev != ch && !seen; prev = prev->next)
            seen = (prev->kind == CHG_RM) == (ch->kind == CHG_RM) && !strcmp(prev->path, ch->path);
        if (!seen)
            fire_watches(x->d, ch->path, ch->kind == CHG_RM);
    }
    while ((ch = tx->changes)) {
        tx->changes = ch->next;
        ch->next = NULL;
        if (ch->kind == CHG_WRITE) {
            *x->hooks_tail = ch;
            x->hooks_tail = &ch->next;
        } else {
            change_free(ch);
        }
    }
    tx->changes_tail = &tx->changes;
}

/* "T\0" commits, "F\0" aborts; either way the transaction is gone. */
static int op_transaction_end(struct xs_req *r)
{
    struct xs_tx *tx = r->x->tx, **pt;
    struct xsd *d = r->x->d;
    const char *arg;
    int rc = 0;

    if (!tx)
        return -ENOENT;
    if (!req_args(r, &arg, 1) || (strcmp(arg, "T") && strcmp(arg, "F")))
        return req_malformed(r, "expected T or F");
    for (pt = &r->c->txs; *pt != tx; pt = &(*pt)->next)
        ;
    *pt = tx->next;
    r->c->ntxs--;
    r->x->tx = NULL;
    if (arg[0] == 'T' && tx->base_gen != d->gen) {
        rc = -EAGAIN; /* the live tree moved on: the caller retries */
    } else if (arg[0] == 'T' && tx->changes) {
        struct xs_node *old = d->root;

        d->root = tx->root;
        tx->root = old;
        d->gen++;
        tx_replay(r->x, tx);
    }
    tx_free(tx);
    return req_done(r, rc);
}

static int op_get_domain_path(struct xs_req *r)
{
    char buf[32];

    req_reply(r, buf, (size_t)snprintf(buf, sizeof(buf), "/local/domain/%lu", r->domid) + 1);
    return 0;
}

static int op_is_domain_introduced(struct xs_req *r)
{
    req_reply(r, r->domid == 0 ? "T" : "F", 2); /* only dom0 talks to us */
    return 0;
}

static void conn_reset(struct xs_conn *c)
{
    while (c->watches) {
        struct xs_watch *w = c->watches;

        c->watches = w->next;
        watch_free(w);
    }
    while (c->txs) {
        struct xs_tx *tx = c->txs;

        c->txs = tx->next;
        tx_free(tx);
    }
    c->nwatches = c->ntxs = 0;
}

/* Drops the connection's watches and transactions, as xenstored does. */
static int op_reset_watches(struct xs_req *r)
{
    conn_reset(r->c);
    r->x->tx = NULL;
    return req_done(r, 0);
}

/* INTRODUCE, RELEASE, RESUME, SET_TARGET: there are no domains here. */
static int op_domain_control(struct xs_req *r)
{
    (void)r;
    return -EINVAL;
}

static int op_control(struct xs_req *r)
{
    (void)r;
    return -ENOSYS;
}

/* Types without a handler are malformed. */
static const struct xs_op xs_ops[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {"CONTROL", ARG_OWN, op_control},
    [XS_DIRECTORY] = {"DIRECTORY", ARG_NODE, op_directory},
    [XS_READ] = {"READ", ARG_NODE, op_read},
    [XS_GET_PERMS] = {"GET_PERMS", ARG_NODE, op_get_perms},
    [XS_WATCH] = {"WATCH", ARG_OWN, op_watch},
    [XS_UNWATCH] = {"UNWATCH", ARG_OWN, op_unwatch},
    [XS_TRANSACTION_START] = {"TRANSACTION_START", ARG_OWN, op_transaction_start},
    [XS_TRANSACTION_END] = {"TRANSACTION_END", ARG_OWN, op_transaction_end},
    [XS_INTRODUCE] = {"INTRODUCE", ARG_OWN, op_domain_control},
    [XS_RELEASE] = {"RELEASE", ARG_OWN, op_domain_control},
    [XS_GET_DOMAIN_PATH] = {"GET_DOMAIN_PATH", ARG_DOMID, op_get_domain_path},
    [XS_WRITE] = {"WRITE", ARG_OWN, op_write},
    [XS_MKDIR] = {"MKDIR", ARG_PATH, op_mkdir},
    [XS_RM] = {"RM", ARG_PATH, op_rm},
    [XS_SET_PERMS] = {"SET_PERMS", ARG_OWN, op_set_perms},
    [XS_IS_DOMAIN_INTRODUCED] = {"IS_DOMAIN_INTRODUCED", ARG_DOMID, op_is_domain_introduced},
    [XS_RESUME] = {"RESUME", ARG_OWN, op_domain_control},
    [XS_SET_TARGET] = {"SET_TARGET", ARG_OWN, op_domain_control},
    [XS_RESET_WATCHES] = {"RESET_WATCHES", ARG_OWN, op_reset_watches},
    [XS_DIRECTORY_PART] = {"DIRECTORY_PART", ARG_OWN, op_directory_part},
};

/* Lock held.  One complete message is in c->in: answer it. */
static void conn_process(struct xs_ctx *x, struct xs_conn *c)
{
    const struct xs_op *op = c->hdr.type < XS_TYPE_COUNT ? &xs_ops[c->hdr.type] : NULL;
    struct xs_req r = {.x = x, .c = c, .hdr = c->hdr, .body = c->in + HDR_LEN};
    int rc;

    x->d->stats.requests++;
    r.body[r.hdr.len] = '\0';
    x->tx = NULL;
    if (!op || !op->handle) {
        rc = req_malformed(&r, "unknown message type");
    } else {
        r.op = op;
        if (r.hdr.tx_id) /* xenstored checks it whatever the type */
            for (x->tx = c->txs; x->tx && x->tx->id != r.hdr.tx_id; x->tx = x->tx->next)
                ;
        if (r.hdr.tx_id && !x->tx)
            rc = -ENOENT;
        else if (!(rc = req_prepare(&r)))
            rc = op->handle(&r);
    }
    x->tx = NULL;
    free(r.path);
    if (rc < 0)
        conn_error(x->d, c, &r.hdr, -rc);
}

/* Lock held.  Read and serve what the client sent, in order. */
static void conn_read(struct xs_ctx *x, struct xs_conn *c)
{
    struct xsd *d = x->d;

    for (unsigned msgs = 0; msgs < XSD_MSGS_PER_POLL && !c->dead && !c->closing;) {
        size_t want =
            c->in_used < HDR_LEN ? HDR_LEN - c->in_used : HDR_LEN + c->hdr.len - c->in_used;
        ssize_t n = recv(c->fd, c->in + c->in_used, want, MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            if (c->in_used) {
                d->stats.malformed++;
                xsd_log(d, "conn %u: gone in the middle of a message", c->id);
            }
            c->dead = true;
            return;
        }
        c->in_used += n;
        if (c->in_used == HDR_LEN) {
            memcpy(&c->hdr, c->in, HDR_LEN);
            if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
                d->stats.requests++;
                d->stats.malformed++;
                xsd_log(d, "conn %u: payload of %u bytes, closing", c->id, c->hdr.len);
                conn_error(d, c, &c->hdr, E2BIG);
                c->closing = true; /* the rest of the stream is meaningless */
                return;
            }
        }
        if (c->in_used == HDR_LEN + c->hdr.len) {
            conn_process(x, c);
            c->in_used = 0;
            msgs++;
        }
    }
}

static void conn_free(struct xs_conn *c)
{
    conn_reset(c);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Lock held.  Accept every pending client. */
static void xsd_accept(struct xsd *d)
{
    for (;;) {
        int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct xs_conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                xsd_log(d, "accept: %s", strerror(errno));
            return;
        }
        if (d->nconns >= XSD_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
            xsd_log(d, "refusing a client: %u connections", d->nconns);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = ++d->next_conn_id;
        c->next = d->conns;
        d->conns = c;
        d->nconns++;
    }
}

static void hooks_run(xsd_write_hook *hook, void *opaque, struct xs_change *list)
{
    for (struct xs_change *ch = list; hook && ch; ch = ch->next)
        hook(opaque, ch->path, ch->val, ch->len);
    change_free(list);
}

/* ---- the server thread --------------------------------------------------- */

static void *xsd_main(void *arg)
{
    struct xsd *d = arg;
    struct pollfd pfd[XSD_MAX_CONNS + 2];
    struct xs_conn *pconn[XSD_MAX_CONNS + 2];

    for (;;) {
        struct xs_ctx x = {.d = d};
        xsd_write_hook *hook;
        void *opaque;
        unsigned n = 2;
        char buf[64];

        x.hooks_tail = &x.hooks;
        pthread_mutex_lock(&d->lock);
        if (d->stopping) {
            pthread_mutex_unlock(&d->lock);
            break;
        }
        pfd[0] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
        for (struct xs_conn *c = d->conns; c; c = c->next, n++) {
            bool out = c->out_off < c->out_len;

            pconn[n] = c;
            pfd[n] = (struct pollfd){
                .fd = c->fd, .events = (short)((c->closing ? 0 : POLLIN) | (out ? POLLOUT : 0))};
        }
        pthread_mutex_unlock(&d->lock);

        if (poll(pfd, n, -1) < 0 && errno != EINTR) {
            perror("xenstored: poll");
            break;
        }

        pthread_mutex_lock(&d->lock);
        if (pfd[0].revents)
            while (read(d->wake[0], buf, sizeof(buf)) > 0)
                ;
        if (pfd[1].revents & POLLIN)
            xsd_accept(d);
        /* Connections only come and go on this thread: pconn is current. */
        for (unsigned i = 2; i < n; i++) {
            struct xs_conn *c = pconn[i];

            if (!c->closing && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                conn_read(&x, c);
            else if (pfd[i].revents & (POLLHUP | POLLERR))
                c->dead = true;
        }
        xsd_flush_all(d);
        for (struct xs_conn **pc = &d->conns; *pc;) {
            struct xs_conn *c = *pc;

            if (c->dead || (c->closing && c->out_off == c->out_len)) {
                *pc = c->next;
                d->nconns--;
                conn_free(c);
            } else {
                pc = &c->next;
            }
        }
        hook = d->hook;
        opaque = d->hook_opaque;
        pthread_mutex_unlock(&d->lock);
        hooks_run(hook, opaque, x.hooks);
    }
    return NULL;
}

/* ---- public API ---------------------------------------------------------- */

static int xsd_listen(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

struct xsd *xsd_start(const char *path)
{
    struct xsd *d = calloc(1, sizeof(*d));
    sigset_t all, old;
    int err;

    if (!d)
        return NULL;
    d->listen_fd = d->wake[0] = d->wake[1] = -1;
    if (!(d->sock_path = strdup(path)) || !(d->root = node_new(NULL, "", 0)) ||
        !node_walk(d->root, XSD_HOME, true)) {
        errno = ENOMEM;
        goto fail_free;
    }
    if (pipe2(d->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        goto fail_free;
    if ((d->listen_fd = xsd_listen(path)) < 0)
        goto fail_pipe;
    if ((err = pthread_mutex_init(&d->lock, NULL))) {
        errno = err;
        goto fail_listen;
    }
    /* Signals are for the test's threads, not ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&d->thread, NULL, xsd_main, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        errno = err;
        goto fail_mutex;
    }
    pthread_setname_np(d->thread, "xsim-xenstored");
    return d;

fail_mutex:
    pthread_mutex_destroy(&d->lock);
fail_listen:
    close(d->listen_fd);
    unlink(path);
fail_pipe:
    close(d->wake[0]);
    close(d->wake[1]);
fail_free:
    err = errno;
    node_free(d->root);
    free(d->sock_path);
    free(d);
    errno = err;
    return NULL;
}

void xsd_stop(struct xsd *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_mutex_unlock(&d->lock);
    xsd_wake(d);
    pthread_join(d->thread, NULL);

    while (d->conns) {
        struct xs_conn *c = d->conns;

        d->conns = c->next;
        conn_free(c);
    }
    close(d->listen_fd);
    unlink(d->sock_path);
    close(d->wake[0]);
    close(d->wake[1]);
    node_free(d->root);
    pthread_mutex_destroy(&d->lock);
    free(d->sock_path);
    free(d);
}

char *xsd_read(struct xsd *d, const char *path, unsigned *len)
{
    struct xs_node *n;
    char *v = NULL;
    int err = ENOENT;

    if (!path_valid(path)) {
        errno = EINVAL;
        return NULL;
    }
    pthread_mutex_lock(&d->lock);
    if ((n = node_walk(d->root, path, false))) {
        err = ENOMEM;
        if ((v = malloc(n->len + 1))) {
            memcpy(v, n->val, n->len + 1);
            if (len)
                *len = n->len;
        }
    }
    pthread_mutex_unlock(&d->lock);
    if (!v)
        errno = err;
    return v;
}

/* Run one operation on the live tree from a caller's thread. */
static int xsd_api_op(struct xsd *d, enum xs_change_kind kind, const char *path, const void *val,
                      unsigned len)
{
    struct xs_ctx x = {.d = d};
    xsd_write_hook *hook;
    void *opaque;
    bool pending;
    int rc;

    if (!path_valid(path) || (kind == CHG_WRITE && len > XENSTORE_PAYLOAD_MAX))
        return -EINVAL;
    x.hooks_tail = &x.hooks;
    pthread_mutex_lock(&d->lock);
    if (kind == CHG_WRITE)
        rc = store_write(&x, path, val, len);
    else if (kind == CHG_MKDIR)
        rc = store_mkdir(&x, path);
    else
        rc = store_rm(&x, path);
    pending = xsd_flush_all(d);
    hook = d->hook;
    opaque = d->hook_opaque;
    pthread_mutex_unlock(&d->lock);
    if (pending)
        xsd_wake(d); /* the server thread sends the rest */
    hooks_run(hook, opaque, x.hooks);
    return rc;
}

int xsd_write(struct xsd *d, const char *path, const void *val, unsigned len)
{
    return xsd_api_op(d, CHG_WRITE, path, val, len);
}

int xsd_mkdir(struct xsd *d, const char *path)
{
    return xsd_api_op(d, CHG_MKDIR, path, NULL, 0);
}

int xsd_rm(struct xsd *d, const char *path)
{
    return xsd_api_op(d, CHG_RM, path, NULL, 0);
}

void xsd_set_write_hook(struct xsd *d, xsd_write_hook *hook, void *opaque)
{
    pthread_mutex_lock(&d->lock);
    d->hook = hook;
    d->hook_opaque = opaque;
    pthread_mutex_unlock(&d->lock);
}

void xsd_get_stats(struct xsd *d, struct xsd_stats *st)
{
    pthread_mutex_lock(&d->lock);
    *st = d->stats;
    pthread_mutex_unlock(&d->lock);
}
