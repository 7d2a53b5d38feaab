/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP server (docs xl-contract.md §2): listening sockets, per-connection
 * framing and negotiation, the command registry and its built-ins
 * (qmp_capabilities, query-version, query-commands, add-fd, remove-fd,
 * query-fdsets), fd sets, events.
 *
 * Framing.  Input is a byte stream of JSON texts with or without
 * separators.  The splitter below does not parse JSON: it only finds where
 * each top-level value ends, by counting {} and [] outside strings ("..."
 * and '...', which json-glib and QEMU both accept, with backslash escapes).
 * A top-level scalar ends at whitespace or a bracket/quote; a stray closing
 * bracket is a one-byte value.  Each complete value is parsed by json-glib
 * (JsonParser); whatever fails gets a "JSON parse error, ..." reply and the
 * splitter simply continues with the next byte, which is how the stream
 * resynchronises.  Comments (which json-glib tolerates) are not JSON and
 * are not recognised by the splitter.
 *
 * Left out: OOB execution and the "oob" capability (libxl never asks), QMP
 * pretty printing, getfd/closefd (libxl uses add-fd).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "src/log.h"
#include "src/qmp.h"

#define TAG "qmp"

/* The QEMU version we advertise: libxl needs >= 2.11.0 for the command
 * forms xendm implements (xl-contract §2.2.1); 7.2.0 is what Debian 12's
 * qemu-xen says. */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

/*
 * Limits.  libxl's largest command is well under 1 KiB and a reply must stay
 * below 1 MiB for libxl's reader (§2.2.7), so 1 MiB per message is generous
 * while bounding memory per connection.
 */
#define QMP_MAX_MESSAGE (1u << 20)
/*
 * Largest reply (JSON text without "\r\n") libxl is sure to read.  Its
 * reader (libxl_qmp.c, qmp_ev_callback_readable) grows the receive buffer
 * 4096, 12288, ... 1044480 bytes, growing whenever less than 4096 bytes are
 * free, and fails (ERROR_BUFFERFULL) when the next size would pass 1 MiB.
 * So a message is always read whole iff it is at most 1044480 - 4096 + 1 =
 * 1040385 bytes with its "\r\n".  Larger replies are replaced by an error.
 */
#define QMP_MAX_REPLY (1044480u - 4096u + 1u - 2u)
/* Queued output per connection before a client that does not read is
 * dropped: four maximal replies. */
#define QMP_MAX_OUTPUT (4u << 20)
/* json-glib's parser recurses per nesting level; measured: 100000 levels
 * overflow the 8 MiB main stack, 50000 do not (ASan build).  QEMU's limit
 * (MAX_NESTING) is 1024, far below either. */
#define QMP_MAX_DEPTH 1024
/* Descriptors queued per connection: libxl sends one per add-fd. */
#define QMP_MAX_QUEUED_FDS 16
/* Descriptors held in all fd sets together (libxl holds one at a time). */
#define QMP_MAX_FDSET_FDS 64
/* Control buffer: room for the kernel's SCM_MAX_FD (253) so extras are
 * counted and closed by us instead of silently discarded on MSG_CTRUNC. */
#define QMP_CMSG_FDS 253
/* Concurrent connections per server: libxl serialises on a lock, xentop
 * polls one at a time; the rest is slack. */
#define QMP_MAX_CONNS 32
/* Reading: chunk size and chunks per wake-up, so one flooding client cannot
 * starve the others (level-triggered polling brings us back). */
#define QMP_READ_CHUNK         16384
#define QMP_READS_PER_DISPATCH 4
/* accept() calls per wake-up, and the pause after EMFILE/ENFILE so a full
 * descriptor table does not make the listener spin. */
#define QMP_ACCEPTS_PER_DISPATCH 16
#define QMP_ACCEPT_BACKOFF_MS    100
#define QMP_LISTEN_BACKLOG       16

/* ------------------------------------------------------------ types ---- */

enum split_state {
    SPLIT_TOP,    /* between values, skipping whitespace */
    SPLIT_VALUE,  /* inside an object or array, outside strings */
    SPLIT_STRING, /* inside a string (quote in conn->quote) */
    SPLIT_BARE,   /* inside a top-level scalar: number, keyword, garbage */
};

struct queued_fd {
    int fd;
    uint64_t offset; /* stream offset of the last byte that came with it */
};

struct qmp_deferred {
    struct qmp_conn *c; /* NULL once the connection is gone */
    JsonNode *id;       /* copy of the request's id, or NULL */
};

struct conn_source {
    GSource base;
    struct qmp_conn *c;
};

/*
 * One client connection.  Created by the listener (or
 * qmp_server_add_client), owned by its server, main thread only.  It is
 * torn down in exactly two places: its own source's dispatch (after
 * conn_kill() marked it dead, or at EOF once the replies are out) and
 * qmp_server_free().  Everything else only marks it, so a handler, an event
 * broadcast or a deferred completion never frees a connection under a
 * caller's feet.
 */
struct qmp_conn {
    struct qmp_server *srv;
    unsigned num; /* per-server connection number, for logs */
    int fd;
    GSource *source;
    gpointer tag;

    bool negotiated;
    bool dead;           /* tear down in the next dispatch */
    bool flush_on_close; /* try once to send what is queued before closing */
    bool eof;            /* peer shut its write side: finish and close */
    bool deferring;      /* qmp_defer() called by the running handler */
    struct qmp_deferred *pending;

    /* Input: in->data[0] is stream offset in_base. */
    GByteArray *in;
    uint64_t in_base;
    size_t scan;  /* next byte to look at */
    size_t start; /* first byte of the value being scanned (== scan at TOP) */
    enum split_state st;
    unsigned depth;
    char quote;
    bool escape;
    bool too_deep;

    JsonNode *cur_id; /* id of the request being executed (borrowed) */
    uint64_t cur_end; /* stream offset just past it */

    GQueue fds; /* struct queued_fd * */

    GByteArray *out;
    size_t out_off;
};

struct qmp_server {
    char *label;
    int listen_fd;
    GMainContext *ctx;
    GSource *listen_src;
    GSource *backoff_src;
    GList *conns;
    unsigned next_num;
    struct qmp_stats stats;
};

struct qmp_command {
    qmp_handler *fn;
    void *opaque;
};

struct fdset_fd {
    int fd;
    char *opaque;
    struct qmp_conn *owner;
};

struct fdset {
    int64_t id;
    GPtrArray *fds; /* struct fdset_fd * */
};

static GHashTable *commands; /* name -> struct qmp_command * */
static GList *servers;
static GList *fdsets; /* struct fdset *, sorted by id */
static unsigned fdset_nfds;

static void conn_destroy(struct qmp_conn *c);
static void conn_update_events(struct qmp_conn *c);
static void builtins_register(void);

GQuark qmp_class_error_quark(void)
{
    return g_quark_from_static_string("qmp-class-error-quark");
}

/* ------------------------------------------------------------ output --- */

static void conn_kill(struct qmp_conn *c, bool flush)
{
    if (c->dead)
        return;
    c->dead = true;
    c->flush_on_close = flush;
    g_source_set_ready_time(c->source, 0);
}

static bool conn_out_empty(const struct qmp_conn *c)
{
    return c->out_off == c->out->len;
}

/* Queue one message (without terminator); it gets "\r\n". */
static void conn_queue(struct qmp_conn *c, const char *s, size_t len)
{
    if (c->dead)
        return;
    if (c->out->len - c->out_off + len + 2 > QMP_MAX_OUTPUT) {
        c->srv->stats.output_overflows++;
        LOG_GUEST(TAG, "%s: client %u not reading its replies (over %u bytes queued), dropped",
                  c->srv->label, c->num, QMP_MAX_OUTPUT);
        conn_kill(c, false);
        return;
    }
    g_byte_array_append(c->out, (const guint8 *)s, (guint)len);
    g_byte_array_append(c->out, (const guint8 *)"\r\n", 2);
    conn_update_events(c);
}

static JsonNode *node_take_object(JsonObject *o)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *node_take_array(JsonArray *a)
{
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

static char *node_to_string(JsonNode *node, size_t *len)
{
    JsonGenerator *g = json_generator_new();
    gsize n;

    json_generator_set_pretty(g, FALSE);
    json_generator_set_root(g, node);
    char *s = json_generator_to_data(g, &n);
    g_object_unref(g);
    *len = n;
    return s;
}

/* Send o (consumed). */
static void conn_send_object(struct qmp_conn *c, JsonObject *o)
{
    JsonNode *root = node_take_object(o);
    size_t len;
    char *s = node_to_string(root, &len);

    conn_queue(c, s, len);
    g_free(s);
    json_node_unref(root);
}

/*
 * Doubles json-glib cannot write.  Its generator (1.6) prints a double as
 * g_ascii_dtostr() and appends ".0" when that has no '.', so inf becomes
 * "inf.0" and every d x 10^k with k >= 17 ("1e+42") becomes "1e+42.0":
 * not JSON.  (Found by fuzz-qmp with an id of 1e42.)
 */
static bool double_unprintable(double d)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (!isfinite(d))
        return true;
    g_ascii_dtostr(buf, sizeof(buf), d);
    return !strchr(buf, '.') && strpbrk(buf, "eE");
}

/* Such a double becomes the same integer if it fits int64 (they are all
 * integral), else null. */
static JsonNode *double_fixed(double d)
{
    JsonNode *n;

    if (isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        n = json_node_new(JSON_NODE_VALUE);
        json_node_set_int(n, (gint64)d);
        return n;
    }
    return json_node_new(JSON_NODE_NULL);
}

/*
 * Strings and member names must be UTF-8 for libxl's parser; the generator
 * writes them as they are.  Client input is validated by the parser, so
 * this only catches text the server itself produced (paths, pty names).
 */
static bool node_printable(JsonNode *n)
{
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_VALUE:
        if (json_node_get_value_type(n) == G_TYPE_STRING)
            return g_utf8_validate(json_node_get_string(n), -1, NULL);
        return json_node_get_value_type(n) != G_TYPE_DOUBLE ||
               !double_unprintable(json_node_get_double(n));
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(a); i++)
            if (!node_printable(json_array_get_element(a, i)))
                return false;
        return true;
    }
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(n);
        GList *names = json_object_get_members(o);
        bool ok = true;
        for (GList *l = names; l && ok; l = l->next)
            ok = g_utf8_validate(l->data, -1, NULL) &&
                 node_printable(json_object_get_member(o, l->data));
        g_list_free(names);
        return ok;
    }
    case JSON_NODE_NULL:
        break;
    }
    return true;
}

/* A copy of n with unprintable doubles replaced and invalid UTF-8 repaired
 * (U+FFFD), see above. */
static JsonNode *node_printable_copy(JsonNode *n)
{
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_VALUE:
        if (json_node_get_value_type(n) == G_TYPE_DOUBLE &&
            double_unprintable(json_node_get_double(n)))
            return double_fixed(json_node_get_double(n));
        if (json_node_get_value_type(n) == G_TYPE_STRING &&
            !g_utf8_validate(json_node_get_string(n), -1, NULL)) {
            char *valid = g_utf8_make_valid(json_node_get_string(n), -1);
            JsonNode *c = json_node_new(JSON_NODE_VALUE);
            json_node_set_string(c, valid);
            g_free(valid);
            return c;
        }
        return json_node_copy(n);
    case JSON_NODE_ARRAY: {
        JsonArray *in = json_node_get_array(n);
        JsonArray *out = json_array_sized_new(json_array_get_length(in));
        for (guint i = 0; i < json_array_get_length(in); i++)
            json_array_add_element(out, node_printable_copy(json_array_get_element(in, i)));
        return node_take_array(out);
    }
    case JSON_NODE_OBJECT: {
        JsonObject *in = json_node_get_object(n);
        JsonObject *out = json_object_new();
        GList *names = json_object_get_members(in);
        for (GList *l = names; l; l = l->next) {
            char *name = g_utf8_make_valid(l->data, -1);
            json_object_set_member(out, name,
                                   node_printable_copy(json_object_get_member(in, l->data)));
            g_free(name);
        }
        g_list_free(names);
        return node_take_object(out);
    }
    case JSON_NODE_NULL:
        break;
    }
    return json_node_new(JSON_NODE_NULL);
}

/* Make n (consumed) printable: itself when it is, else a fixed copy. */
static JsonNode *node_printable_take(JsonNode *n)
{
    if (node_printable(n))
        return n;
    JsonNode *fixed = node_printable_copy(n);
    json_node_unref(n);
    return fixed;
}

/* Copy of a request id for the reply: echoed as received, except for
 * doubles json-glib cannot print (above). */
static JsonNode *id_copy(JsonNode *id)
{
    return node_printable_take(json_node_copy(id));
}

static const char *class_name(const GError *e)
{
    if (e->domain != QMP_CLASS_ERROR)
        return "GenericError";
    switch ((enum qmp_class)e->code) {
    case QMP_CLASS_COMMAND_NOT_FOUND:
        return "CommandNotFound";
    case QMP_CLASS_DEVICE_NOT_ACTIVE:
        return "DeviceNotActive";
    case QMP_CLASS_DEVICE_NOT_FOUND:
        return "DeviceNotFound";
    case QMP_CLASS_GENERIC_ERROR:
        break;
    }
    return "GenericError";
}

static JsonObject *error_object(const char *cls, const char *desc)
{
    JsonObject *eo = json_object_new();
    json_object_set_string_member(eo, "class", cls);
    if (g_utf8_validate(desc, -1, NULL)) {
        json_object_set_string_member(eo, "desc", desc);
    } else {
        char *valid = g_utf8_make_valid(desc, -1);
        json_object_set_string_member(eo, "desc", valid);
        g_free(valid);
    }
    return eo;
}

/*
 * Reply to one request: ret (consumed; NULL = {}) or error e; id borrowed,
 * copied into the reply when non-NULL.  A reply libxl could not read
 * (over QMP_MAX_REPLY) is replaced by an error.
 */
static void conn_reply(struct qmp_conn *c, JsonNode *ret, const GError *e, JsonNode *id)
{
    JsonObject *o = json_object_new();

    if (e) {
        json_object_set_object_member(o, "error", error_object(class_name(e), e->message));
        if (ret)
            json_node_unref(ret);
    } else {
        if (!ret)
            ret = node_take_object(json_object_new());
        json_object_set_member(o, "return", node_printable_take(ret));
    }
    if (id)
        json_object_set_member(o, "id", id_copy(id));

    JsonNode *root = node_take_object(o);
    size_t len;
    char *s = node_to_string(root, &len);
    json_node_unref(root);

    if (len > QMP_MAX_REPLY) {
        log_msg(TAG, "%s: reply of %zu bytes exceeds %u, sent an error instead", c->srv->label, len,
                QMP_MAX_REPLY);
        g_free(s);
        char *desc =
            g_strdup_printf("Reply of %zu bytes exceeds the limit of %u bytes", len, QMP_MAX_REPLY);
        /* With the id if that fits (an absurd client id may not). */
        for (int with_id = id != NULL; with_id >= 0; with_id--) {
            o = json_object_new();
            json_object_set_object_member(o, "error", error_object("GenericError", desc));
            if (with_id)
                json_object_set_member(o, "id", id_copy(id));
            root = node_take_object(o);
            s = node_to_string(root, &len);
            json_node_unref(root);
            if (len <= QMP_MAX_REPLY)
                break;
            g_free(s);
            s = NULL;
        }
        g_free(desc);
        if (!s)
            return; /* cannot happen: the error alone is small */
    }
    conn_queue(c, s, len);
    g_free(s);
}

static void conn_reply_error(struct qmp_conn *c, enum qmp_class cls, JsonNode *id, const char *fmt,
                             ...) G_GNUC_PRINTF(4, 5);
static void conn_reply_error(struct qmp_conn *c, enum qmp_class cls, JsonNode *id, const char *fmt,
                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    GError *e = g_error_new_valist(QMP_CLASS_ERROR, cls, fmt, ap);
    va_end(ap);
    conn_reply(c, NULL, e, id);
    g_error_free(e);
}

/* Write what the socket takes now.  Peer gone: kill without flushing. */
static void conn_flush(struct qmp_conn *c)
{
    while (c->out_off < c->out->len) {
        ssize_t n = send(c->fd, c->out->data + c->out_off, c->out->len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            c->flush_on_close = false;
            conn_kill(c, false);
            break;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out->len) {
        g_byte_array_set_size(c->out, 0);
        c->out_off = 0;
    } else if (c->out_off >= (1u << 16) && c->out_off * 2 >= c->out->len) {
        g_byte_array_remove_range(c->out, 0, (guint)c->out_off);
        c->out_off = 0;
    }
}

static JsonNode *version_node(void)
{
    JsonBuilder *b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, QMP_QEMU_MAJOR);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, QMP_QEMU_MINOR);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, QMP_QEMU_MICRO);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "xendm " PACKAGE_VERSION);
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static void conn_send_greeting(struct qmp_conn *c)
{
    JsonObject *qmp = json_object_new();
    json_object_set_member(qmp, "version", version_node());
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    JsonObject *o = json_object_new();
    json_object_set_object_member(o, "QMP", qmp);
    conn_send_object(c, o);
}

/* -------------------------------------------------------- descriptors --- */

static void conn_queue_fd(struct qmp_conn *c, int fd, uint64_t offset)
{
    if (g_queue_get_length(&c->fds) >= QMP_MAX_QUEUED_FDS) {
        close(fd);
        c->srv->stats.fds_dropped++;
        LOG_GUEST(TAG, "%s: client %u sent more than %u descriptors, closed the extra",
                  c->srv->label, c->num, QMP_MAX_QUEUED_FDS);
        return;
    }
    struct queued_fd *q = g_new(struct queued_fd, 1);
    q->fd = fd;
    q->offset = offset;
    g_queue_push_tail(&c->fds, q);
}

static void conn_collect_fds(struct qmp_conn *c, struct msghdr *msg, uint64_t offset)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *p = CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, p + i * sizeof(int), sizeof(int));
            conn_queue_fd(c, fd, offset);
        }
    }
    if (msg->msg_flags & MSG_CTRUNC)
        LOG_GUEST(TAG, "%s: client %u: control data truncated, descriptors lost", c->srv->label,
                  c->num);
}

int qmp_conn_take_fd(struct qmp_conn *c)
{
    struct queued_fd *q = g_queue_peek_head(&c->fds);

    if (!q || q->offset >= c->cur_end)
        return -1;
    g_queue_pop_head(&c->fds);
    int fd = q->fd;
    g_free(q);
    return fd;
}

/* ------------------------------------------------------------- fd sets -- */

static struct fdset *fdset_find(int64_t id)
{
    for (GList *l = fdsets; l; l = l->next) {
        struct fdset *s = l->data;
        if (s->id == id)
            return s;
    }
    return NULL;
}

static struct fdset *fdset_create(int64_t id)
{
    struct fdset *s = g_new0(struct fdset, 1);
    GList *l;

    s->id = id;
    s->fds = g_ptr_array_new();
    for (l = fdsets; l; l = l->next)
        if (((struct fdset *)l->data)->id > id)
            break;
    fdsets = g_list_insert_before(fdsets, l, s);
    return s;
}

/* Lowest id not in use (QEMU's choice when add-fd names none). */
static int64_t fdset_free_id(void)
{
    int64_t id = 0;
    for (GList *l = fdsets; l; l = l->next) {
        struct fdset *s = l->data;
        if (s->id != id)
            break;
        id++;
    }
    return id;
}

static void fdset_fd_free(struct fdset_fd *f)
{
    close(f->fd);
    g_free(f->opaque);
    g_free(f);
    fdset_nfds--;
}

static void fdset_drop_if_empty(struct fdset *s)
{
    if (s->fds->len)
        return;
    fdsets = g_list_remove(fdsets, s);
    g_ptr_array_free(s->fds, TRUE);
    g_free(s);
}

/* Close the descriptors c added (the connection is going away). */
static void fdsets_release_conn(struct qmp_conn *c)
{
    GList *l = fdsets;
    while (l) {
        struct fdset *s = l->data;
        l = l->next;
        for (guint i = s->fds->len; i-- > 0;) {
            struct fdset_fd *f = g_ptr_array_index(s->fds, i);
            if (f->owner == c) {
                g_ptr_array_remove_index(s->fds, i);
                fdset_fd_free(f);
            }
        }
        fdset_drop_if_empty(s);
    }
}

static int fdset_dup(const char *path)
{
    static const char prefix[] = "/dev/fdset/";
    guint64 id;

    if (!path || strncmp(path, prefix, sizeof(prefix) - 1))
        return -EINVAL;
    const char *num = path + sizeof(prefix) - 1;
    if (!g_ascii_isdigit(num[0]) || !g_ascii_string_to_unsigned(num, 10, 0, INT64_MAX, &id, NULL))
        return -EINVAL;
    struct fdset *s = fdset_find((int64_t)id);
    if (!s || !s->fds->len)
        return -ENOENT;
    struct fdset_fd *f = g_ptr_array_index(s->fds, 0);
    int fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int qmp_fdset_lookup(const char *path)
{
    int r = fdset_dup(path);
    if (r < 0)
        errno = -r;
    return r;
}

/* ------------------------------------------------------------ commands -- */

JsonNode *qmp_err(GError **err, enum qmp_class cls, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    GError *e = g_error_new_valist(QMP_CLASS_ERROR, cls, fmt, ap);
    va_end(ap);
    g_propagate_error(err, e);
    return NULL;
}

static void registry_init(void)
{
    if (commands)
        return;
    commands = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    builtins_register();
}

void qmp_register(const char *name, qmp_handler *fn, void *opaque)
{
    registry_init();
    assert(name && fn);
    assert(!g_hash_table_contains(commands, name));
    struct qmp_command *cmd = g_new(struct qmp_command, 1);
    cmd->fn = fn;
    cmd->opaque = opaque;
    g_hash_table_insert(commands, g_strdup(name), cmd);
}

void qmp_unregister(const char *name)
{
    registry_init();
    g_hash_table_remove(commands, name);
}

/* ---------------------------------------------------------- dispatch ---- */

/* Client text for the log: at most 64 bytes, control and non-ASCII bytes
 * escaped (the log is a file people cat; no terminal escapes from clients). */
static char *log_safe(const char *s)
{
    char *cut = g_strndup(s, 64);
    char *esc = g_strescape(cut, NULL);
    g_free(cut);
    return esc;
}

static void conn_execute(struct qmp_conn *c, JsonObject *req)
{
    JsonNode *id = json_object_get_member(req, "id");
    JsonNode *exec = NULL, *argn = NULL;
    GList *members = json_object_get_members(req);
    const char *bad = NULL;

    /* Request shape, QEMU's checks and wording (qmp_dispatch_check_obj). */
    for (GList *l = members; l && !bad; l = l->next) {
        const char *m = l->data;
        JsonNode *v = json_object_get_member(req, m);
        if (!strcmp(m, "execute")) {
            if (!qmp_node_is(v, G_TYPE_STRING))
                bad = "QMP input member 'execute' must be a string";
            exec = v;
        } else if (!strcmp(m, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v))
                bad = "QMP input member 'arguments' must be an object";
            argn = v;
        } else if (strcmp(m, "id")) {
            c->srv->stats.bad_requests++;
            LOG_GUEST(TAG, "%s: client %u: unexpected member in request", c->srv->label, c->num);
            conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, id, "QMP input member '%s' is unexpected",
                             m);
            g_list_free(members);
            return;
        }
    }
    g_list_free(members);
    if (!bad && !exec)
        bad = "QMP input lacks member 'execute'";
    if (bad) {
        c->srv->stats.bad_requests++;
        LOG_GUEST(TAG, "%s: client %u: %s", c->srv->label, c->num, bad);
        conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, id, "%s", bad);
        return;
    }

    const char *name = json_node_get_string(exec);
    if (!c->negotiated && strcmp(name, "qmp_capabilities")) {
        c->srv->stats.unknown_commands++;
        LOG_GUEST(TAG, "%s: client %u: command before qmp_capabilities", c->srv->label, c->num);
        conn_reply_error(c, QMP_CLASS_COMMAND_NOT_FOUND, id,
                         "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    struct qmp_command *cmd = g_hash_table_lookup(commands, name);
    if (!cmd) {
        c->srv->stats.unknown_commands++;
        char *shown = log_safe(name);
        LOG_GUEST(TAG, "%s: client %u: unknown command '%s'", c->srv->label, c->num, shown);
        g_free(shown);
        conn_reply_error(c, QMP_CLASS_COMMAND_NOT_FOUND, id, "The command %s has not been found",
                         name);
        return;
    }

    c->srv->stats.commands++;
    GError *e = NULL;
    c->cur_id = id;
    c->deferring = false;
    JsonNode *ret = cmd->fn(c, argn ? json_node_get_object(argn) : NULL, cmd->opaque, &e);
    c->cur_id = NULL;
    if (c->deferring) {
        /* The reply comes from qmp_deferred_complete(), maybe already did. */
        assert(!ret && !e);
        c->deferring = false;
        return;
    }
    conn_reply(c, ret, e, id);
    if (e)
        g_error_free(e);
}

/* One complete top-level value: [data, data + len). */
static void conn_handle_message(struct qmp_conn *c, const char *data, size_t len)
{
    GError *e = NULL;

    if (c->too_deep) {
        c->too_deep = false;
        c->srv->stats.parse_errors++;
        LOG_GUEST(TAG, "%s: client %u: JSON nested deeper than %u levels", c->srv->label, c->num,
                  QMP_MAX_DEPTH);
        conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, NULL,
                         "JSON parse error, nesting deeper than %u levels", QMP_MAX_DEPTH);
        return;
    }

    JsonParser *p = json_parser_new_immutable();
    if (!json_parser_load_from_data(p, data, (gssize)len, &e)) {
        const char *msg = e->message;
        if (g_str_has_prefix(msg, "<data>:"))
            msg += strlen("<data>:");
        c->srv->stats.parse_errors++;
        char *shown = log_safe(msg);
        LOG_GUEST(TAG, "%s: client %u: JSON parse error, %s", c->srv->label, c->num, shown);
        g_free(shown);
        conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, NULL, "JSON parse error, %s", msg);
        g_error_free(e);
        g_object_unref(p);
        return;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        c->srv->stats.bad_requests++;
        LOG_GUEST(TAG, "%s: client %u: input is not a JSON object", c->srv->label, c->num);
        conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, NULL, "QMP input must be a JSON object");
    } else {
        conn_execute(c, json_node_get_object(root));
    }
    g_object_unref(p);
}

static bool is_ws(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Too much input without a complete command: an error reply, then the
 * connection is closed (its stream cannot be trusted to resynchronise). */
static void conn_oversize(struct qmp_conn *c)
{
    c->srv->stats.oversize++;
    LOG_GUEST(TAG, "%s: client %u: message or backlog over %u bytes, closing", c->srv->label,
              c->num, QMP_MAX_MESSAGE);
    conn_reply_error(c, QMP_CLASS_GENERIC_ERROR, NULL,
                     "QMP input exceeds %u bytes without completing a command, closing",
                     QMP_MAX_MESSAGE);
    conn_kill(c, true);
}

/* A value [start, end) is complete: hand it on and return to the top. */
static void conn_complete(struct qmp_conn *c, size_t end)
{
    size_t start = c->start;

    c->st = SPLIT_TOP;
    c->depth = 0;
    c->scan = end;
    c->start = end;
    c->cur_end = c->in_base + end;
    if (end - start > QMP_MAX_MESSAGE)
        conn_oversize(c);
    else
        conn_handle_message(c, (const char *)c->in->data + start, end - start);
}

/* The splitter (see the comment at the top).  Runs until the input is used
 * up, a command is deferred, or the connection dies. */
static void conn_process_input(struct qmp_conn *c)
{
    while (c->scan < c->in->len && !c->dead && !c->pending) {
        uint8_t ch = c->in->data[c->scan];

        switch (c->st) {
        case SPLIT_TOP:
            if (is_ws(ch)) {
                c->start = ++c->scan;
            } else if (ch == '{' || ch == '[') {
                c->start = c->scan++;
                c->depth = 1;
                c->st = SPLIT_VALUE;
            } else if (ch == '"' || ch == '\'') {
                c->start = c->scan++;
                c->depth = 0;
                c->quote = (char)ch;
                c->escape = false;
                c->st = SPLIT_STRING;
            } else if (ch == '}' || ch == ']') {
                c->start = c->scan;
                conn_complete(c, c->scan + 1);
            } else {
                c->start = c->scan++;
                c->st = SPLIT_BARE;
            }
            break;
        case SPLIT_VALUE:
            c->scan++;
            if (ch == '"' || ch == '\'') {
                c->quote = (char)ch;
                c->escape = false;
                c->st = SPLIT_STRING;
            } else if (ch == '{' || ch == '[') {
                if (++c->depth > QMP_MAX_DEPTH)
                    c->too_deep = true;
            } else if (ch == '}' || ch == ']') {
                if (--c->depth == 0)
                    conn_complete(c, c->scan);
            }
            break;
        case SPLIT_STRING:
            c->scan++;
            if (c->escape)
                c->escape = false;
            else if (ch == '\\')
                c->escape = true;
            else if (ch == (uint8_t)c->quote) {
                if (c->depth)
                    c->st = SPLIT_VALUE;
                else
                    conn_complete(c, c->scan);
            }
            break;
        case SPLIT_BARE:
            if (is_ws(ch) || ch == '{' || ch == '}' || ch == '[' || ch == ']' || ch == '"' ||
                ch == '\'')
                conn_complete(c, c->scan);
            else
                c->scan++;
            break;
        }
    }

    /* Drop what has been handled. */
    if (c->start > 0) {
        g_byte_array_remove_range(c->in, 0, (guint)c->start);
        c->in_base += c->start;
        c->scan -= c->start;
        c->start = 0;
    }

    /* Unparsed input: a value in progress (plus, while a command is
     * deferred, what follows it). */
    if (!c->dead && c->in->len > QMP_MAX_MESSAGE)
        conn_oversize(c);
}

/* ------------------------------------------------------- connections ---- */

static void conn_read(struct qmp_conn *c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * QMP_CMSG_FDS)];
    } cbuf;

    for (int i = 0; i < QMP_READS_PER_DISPATCH; i++) {
        guint old = c->in->len;
        g_byte_array_set_size(c->in, old + QMP_READ_CHUNK);
        struct iovec iov = {.iov_base = c->in->data + old, .iov_len = QMP_READ_CHUNK};
        struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = cbuf.buf,
            .msg_controllen = sizeof(cbuf.buf),
        };
        ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        g_byte_array_set_size(c->in, old + (n > 0 ? (guint)n : 0));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_kill(c, false);
            return;
        }
        if (n == 0) {
            c->eof = true;
            return;
        }
        /* The descriptors came with the last bytes of this read. */
        conn_collect_fds(c, &msg, c->in_base + c->in->len - 1);
        if ((size_t)n < QMP_READ_CHUNK)
            return;
    }
}

static gboolean conn_src_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    struct qmp_conn *c = ((struct conn_source *)src)->c;
    GIOCondition rev = g_source_query_unix_fd(src, c->tag);

    g_source_set_ready_time(src, -1);
    if (!c->dead && (rev & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) && !(rev & G_IO_IN))
        conn_kill(c, false); /* peer gone (and nothing left to read) */
    if (!c->dead && (rev & G_IO_IN) && !c->pending && !c->eof)
        conn_read(c);
    if (!c->dead)
        conn_process_input(c);
    if (!c->dead && c->eof && !c->pending && c->in->len) {
        LOG_GUEST(TAG, "%s: client %u disconnected in the middle of a message", c->srv->label,
                  c->num);
        g_byte_array_set_size(c->in, 0);
        c->scan = c->start = 0;
        c->st = SPLIT_TOP;
    }
    if (!c->dead)
        conn_flush(c);
    if (c->dead || (c->eof && !c->pending && conn_out_empty(c))) {
        conn_destroy(c);
        return G_SOURCE_REMOVE;
    }
    conn_update_events(c);
    return G_SOURCE_CONTINUE;
}

/*
 * The connection's GSource: one unix fd (events kept in step with the state
 * by conn_update_events: IN while reading, OUT while output is queued) plus
 * a ready time, set to 0 to get a dispatch without socket activity (a
 * deferred reply arrived, the connection was killed).  GLib calls dispatch
 * on the main thread; it never blocks (every socket call is non-blocking).
 */
static GSourceFuncs conn_src_funcs = {
    .dispatch = conn_src_dispatch,
};

static void conn_update_events(struct qmp_conn *c)
{
    GIOCondition ev = 0;

    if (!c->dead && !c->eof && !c->pending)
        ev |= G_IO_IN;
    if (!c->dead && !conn_out_empty(c))
        ev |= G_IO_OUT;
    g_source_modify_unix_fd(c->source, c->tag, ev);
}

static void conn_destroy(struct qmp_conn *c)
{
    struct qmp_server *s = c->srv;
    struct queued_fd *q;

    if (c->flush_on_close)
        conn_flush(c);
    while ((q = g_queue_pop_head(&c->fds))) {
        close(q->fd);
        g_free(q);
        s->stats.fds_dropped++;
    }
    fdsets_release_conn(c);
    if (c->pending)
        c->pending->c = NULL;
    s->conns = g_list_remove(s->conns, c);
    s->stats.open_connections--;
    g_source_destroy(c->source);
    g_source_unref(c->source);
    close(c->fd);
    g_byte_array_unref(c->in);
    g_byte_array_unref(c->out);
    g_free(c);
}

int qmp_server_add_client(struct qmp_server *s, int fd)
{
    if (g_list_length(s->conns) >= QMP_MAX_CONNS) {
        s->stats.conns_refused++;
        LOG_GUEST(TAG, "%s: more than %u connections, refusing one", s->label, QMP_MAX_CONNS);
        return -EMFILE;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);

    struct qmp_conn *c = g_new0(struct qmp_conn, 1);
    c->srv = s;
    c->num = s->next_num++;
    c->fd = fd;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    g_queue_init(&c->fds);
    c->source = g_source_new(&conn_src_funcs, sizeof(struct conn_source));
    ((struct conn_source *)c->source)->c = c;
    g_source_set_name(c->source, "qmp-conn");
    c->tag = g_source_add_unix_fd(c->source, fd, G_IO_IN);
    g_source_attach(c->source, s->ctx);
    s->conns = g_list_append(s->conns, c);
    s->stats.connections++;
    s->stats.open_connections++;
    conn_send_greeting(c);
    return 0;
}

/* ----------------------------------------------------------- listening -- */

static void listen_start(struct qmp_server *s);

static gboolean backoff_done(gpointer data)
{
    struct qmp_server *s = data;

    g_source_unref(s->backoff_src);
    s->backoff_src = NULL;
    listen_start(s);
    return G_SOURCE_REMOVE;
}

static gboolean listen_ready(gint fd, GIOCondition cond, gpointer data)
{
    struct qmp_server *s = data;

    for (int i = 0; i < QMP_ACCEPTS_PER_DISPATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            log_msg(TAG, "%s: accept: %s%s", s->label, g_strerror(errno),
                    errno == EMFILE || errno == ENFILE ? " (pausing the listener)" : "");
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                g_source_destroy(s->listen_src);
                g_source_unref(s->listen_src);
                s->listen_src = NULL;
                s->backoff_src = g_timeout_source_new(QMP_ACCEPT_BACKOFF_MS);
                g_source_set_callback(s->backoff_src, backoff_done, s, NULL);
                g_source_attach(s->backoff_src, s->ctx);
                return G_SOURCE_REMOVE;
            }
            break;
        }
        if (qmp_server_add_client(s, cfd) < 0)
            close(cfd);
    }
    return G_SOURCE_CONTINUE;
}

static void listen_start(struct qmp_server *s)
{
    s->listen_src = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->listen_src, G_SOURCE_FUNC(listen_ready), s, NULL);
    g_source_set_name(s->listen_src, "qmp-listen");
    g_source_attach(s->listen_src, s->ctx);
}

static int set_io_error(GError **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int set_io_error(GError **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errnum), "%s", m);
    g_free(m);
    return -1;
}

static int listen_on_path(const char *label, const char *path, GError **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    if (strlen(path) >= sizeof(sa.sun_path))
        return set_io_error(err, ENAMETOOLONG,
                            "QMP socket %s: path %s is too long (%zu bytes, at most %zu)", label,
                            path, strlen(path), sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return set_io_error(err, EEXIST,
                                "QMP socket %s: %s exists and is not a socket; not removing it",
                                label, path);
        if (unlink(path) < 0)
            return set_io_error(err, errno, "QMP socket %s: cannot remove stale socket %s: %s",
                                label, path, g_strerror(errno));
    } else if (errno != ENOENT) {
        return set_io_error(err, errno, "QMP socket %s: %s: %s", label, path, g_strerror(errno));
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return set_io_error(err, errno, "QMP socket %s: socket: %s", label, g_strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return set_io_error(err, e, "QMP socket %s: cannot bind %s: %s", label, path,
                            g_strerror(e));
    }
    if (listen(fd, QMP_LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        return set_io_error(err, e, "QMP socket %s: cannot listen on %s: %s", label, path,
                            g_strerror(e));
    }
    return fd;
}

static int check_inherited(const char *label, int fd, GError **err)
{
    int type = 0, acc = 0;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return set_io_error(err, errno, "QMP socket %s: fd %d is not a socket: %s", label, fd,
                            g_strerror(errno));
    len = sizeof(acc);
    if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
        return set_io_error(err, EINVAL, "QMP socket %s: fd %d is not a listening stream socket",
                            label, fd);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return set_io_error(err, errno, "QMP socket %s: fd %d: fcntl: %s", label, fd,
                            g_strerror(errno));
    return fd;
}

struct qmp_server *qmp_server_new(const char *label, const char *path, int fd, GError **err)
{
    assert(label && !(path && fd >= 0));
    registry_init();

    int lfd = -1;
    if (path)
        lfd = listen_on_path(label, path, err);
    else if (fd >= 0)
        lfd = check_inherited(label, fd, err);
    if ((path || fd >= 0) && lfd < 0)
        return NULL;

    struct qmp_server *s = g_new0(struct qmp_server, 1);
    s->label = g_strdup(label);
    s->listen_fd = lfd;
    s->ctx = g_main_context_ref_thread_default();
    if (lfd >= 0)
        listen_start(s);
    servers = g_list_append(servers, s);
    return s;
}

void qmp_server_free(struct qmp_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_destroy(s->conns->data);
    if (s->listen_src) {
        g_source_destroy(s->listen_src);
        g_source_unref(s->listen_src);
    }
    if (s->backoff_src) {
        g_source_destroy(s->backoff_src);
        g_source_unref(s->backoff_src);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    servers = g_list_remove(servers, s);
    g_main_context_unref(s->ctx);
    g_free(s->label);
    g_free(s);
}

void qmp_server_get_stats(const struct qmp_server *s, struct qmp_stats *out)
{
    *out = s->stats;
    out->input_backlog = 0;
    for (GList *l = s->conns; l; l = l->next)
        out->input_backlog += ((struct qmp_conn *)l->data)->in->len;
}

const char *qmp_conn_label(const struct qmp_conn *c)
{
    return c->srv->label;
}

/* ----------------------------------------------------------- deferral --- */

struct qmp_deferred *qmp_defer(struct qmp_conn *c)
{
    assert(!c->pending && !c->deferring);
    struct qmp_deferred *d = g_new0(struct qmp_deferred, 1);
    d->c = c;
    d->id = c->cur_id ? id_copy(c->cur_id) : NULL;
    c->pending = d;
    c->deferring = true;
    conn_update_events(c);
    return d;
}

void qmp_deferred_complete(struct qmp_deferred *d, JsonNode *ret, const GError *error)
{
    struct qmp_conn *c = d->c;

    if (c) {
        c->pending = NULL;
        conn_reply(c, ret, error, d->id);
        /* Resume: buffered commands, reading, writing the reply. */
        conn_update_events(c);
        g_source_set_ready_time(c->source, 0);
    } else if (ret) {
        json_node_unref(ret);
    }
    if (d->id)
        json_node_unref(d->id);
    g_free(d);
}

/* ------------------------------------------------------------- events --- */

void qmp_broadcast_event(const char *name, JsonNode *data)
{
    gint64 now = g_get_real_time();
    JsonObject *ts = json_object_new();
    json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
    JsonObject *o = json_object_new();
    json_object_set_object_member(o, "timestamp", ts);
    json_object_set_string_member(o, "event", name);
    if (data)
        json_object_set_member(o, "data", node_printable_take(data));

    JsonNode *root = node_take_object(o);
    size_t len;
    char *s = node_to_string(root, &len);
    json_node_unref(root);

    for (GList *sl = servers; sl; sl = sl->next) {
        struct qmp_server *srv = sl->data;
        for (GList *l = srv->conns; l; l = l->next) {
            struct qmp_conn *c = l->data;
            if (c->negotiated)
                conn_queue(c, s, len);
        }
    }
    g_free(s);
}

/* ----------------------------------------------------------- built-ins -- */

static JsonNode *cmd_qmp_capabilities(struct qmp_conn *c, JsonObject *args, void *opaque,
                                      GError **err)
{
    static const char *const names[] = {"enable", NULL};
    JsonArray *enable = NULL;

    if (c->negotiated)
        return qmp_err_command_not_found(
            err, "Capabilities negotiation is already complete, command ignored");
    if (qmp_arg_check_names(args, names, err) < 0 ||
        qmp_arg_array(args, "enable", QMP_ARG_OPTIONAL, &enable, err) < 0)
        return NULL;
    if (enable && json_array_get_length(enable)) {
        JsonNode *n = json_array_get_element(enable, 0);
        if (qmp_node_is(n, G_TYPE_STRING))
            return qmp_err_generic(err, "Capability '%.64s' not available",
                                   json_node_get_string(n));
        return qmp_err_generic(err, "Invalid parameter type for 'enable', expected: string");
    }
    c->negotiated = true;
    return NULL;
}

static JsonNode *cmd_query_version(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    static const char *const names[] = {NULL};
    if (qmp_arg_check_names(args, names, err) < 0)
        return NULL;
    return version_node();
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b);
}

static JsonNode *cmd_query_commands(struct qmp_conn *c, JsonObject *args, void *opaque,
                                    GError **err)
{
    static const char *const names[] = {NULL};
    if (qmp_arg_check_names(args, names, err) < 0)
        return NULL;

    GList *keys = g_list_sort(g_hash_table_get_keys(commands), compare_names);
    JsonArray *a = json_array_new();
    for (GList *l = keys; l; l = l->next) {
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "name", l->data);
        json_array_add_object_element(a, o);
    }
    g_list_free(keys);
    return node_take_array(a);
}

static JsonNode *cmd_add_fd(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    static const char *const names[] = {"fdset-id", "opaque", NULL};
    int64_t id = -1;
    const char *op = NULL;

    /* The descriptor is consumed even if the arguments are bad (QEMU). */
    int fd = qmp_conn_take_fd(c);
    if (fd < 0)
        return qmp_err_generic(err, "No file descriptor supplied via SCM_RIGHTS");
    if (qmp_arg_check_names(args, names, err) < 0 ||
        qmp_arg_int(args, "fdset-id", QMP_ARG_OPTIONAL, &id, err) < 0 ||
        qmp_arg_str(args, "opaque", QMP_ARG_OPTIONAL, &op, err) < 0)
        goto fail;
    if (args && json_object_has_member(args, "fdset-id") && id < 0) {
        qmp_err_generic(err, "Parameter 'fdset-id' expects a non-negative value");
        goto fail;
    }
    if (fdset_nfds >= QMP_MAX_FDSET_FDS) {
        LOG_GUEST(TAG, "%s: client %u: fd sets full", c->srv->label, c->num);
        qmp_err_generic(err, "Too many file descriptors in fd sets (limit %u)", QMP_MAX_FDSET_FDS);
        goto fail;
    }

    struct fdset *s = NULL;
    if (id >= 0)
        s = fdset_find(id);
    else
        id = fdset_free_id();
    if (!s)
        s = fdset_create(id);
    struct fdset_fd *f = g_new0(struct fdset_fd, 1);
    f->fd = fd;
    f->opaque = g_strdup(op);
    f->owner = c;
    g_ptr_array_add(s->fds, f);
    fdset_nfds++;

    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "fdset-id", id);
    json_object_set_int_member(o, "fd", fd);
    return node_take_object(o);

fail:
    close(fd);
    return NULL;
}

static JsonNode *cmd_remove_fd(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    static const char *const names[] = {"fdset-id", "fd", NULL};
    int64_t id, fd = -1;
    int has_fd;

    if (qmp_arg_check_names(args, names, err) < 0 ||
        qmp_arg_int(args, "fdset-id", QMP_ARG_REQUIRED, &id, err) < 0 ||
        (has_fd = qmp_arg_int(args, "fd", QMP_ARG_OPTIONAL, &fd, err)) < 0)
        return NULL;

    struct fdset *s = fdset_find(id);
    bool found = false;
    if (s) {
        for (guint i = s->fds->len; i-- > 0;) {
            struct fdset_fd *f = g_ptr_array_index(s->fds, i);
            if (has_fd && f->fd != fd)
                continue;
            g_ptr_array_remove_index(s->fds, i);
            fdset_fd_free(f);
            found = true;
        }
        fdset_drop_if_empty(s);
    }
    if (!found) {
        if (has_fd)
            return qmp_err_generic(
                err, "File descriptor named 'fdset-id:%" PRId64 ", fd:%" PRId64 "' not found", id,
                fd);
        return qmp_err_generic(err, "File descriptor named 'fdset-id:%" PRId64 "' not found", id);
    }
    return NULL;
}

static JsonNode *cmd_query_fdsets(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    static const char *const names[] = {NULL};
    if (qmp_arg_check_names(args, names, err) < 0)
        return NULL;

    JsonArray *a = json_array_new();
    for (GList *l = fdsets; l; l = l->next) {
        struct fdset *s = l->data;
        JsonObject *so = json_object_new();
        JsonArray *fa = json_array_new();
        json_object_set_int_member(so, "fdset-id", s->id);
        for (guint i = 0; i < s->fds->len; i++) {
            struct fdset_fd *f = g_ptr_array_index(s->fds, i);
            JsonObject *fo = json_object_new();
            json_object_set_int_member(fo, "fd", f->fd);
            if (f->opaque)
                json_object_set_string_member(fo, "opaque", f->opaque);
            json_array_add_object_element(fa, fo);
        }
        json_object_set_array_member(so, "fds", fa);
        json_array_add_object_element(a, so);
    }
    return node_take_array(a);
}

static void builtins_register(void)
{
    qmp_register("qmp_capabilities", cmd_qmp_capabilities, NULL);
    qmp_register("query-version", cmd_query_version, NULL);
    qmp_register("query-commands", cmd_query_commands, NULL);
    qmp_register("add-fd", cmd_add_fd, NULL);
    qmp_register("remove-fd", cmd_remove_fd, NULL);
    qmp_register("query-fdsets", cmd_query_fdsets, NULL);
}
