/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP client for tests and benchmarks (see qmp.h for the API and its rules).
 *
 * One connection is a non-blocking UNIX stream socket plus a receive buffer
 * that is cut into lines at "\n" (a preceding "\r" is dropped); each line is
 * one JSON object, classified by its first interesting member as libxl does:
 * "QMP" (greeting), "event", or a reply ("return" / "error") carrying the
 * "id" we sent.  Waiting is always poll() against a monotonic deadline.
 *
 * After an error that leaves the byte stream in an unknown state (peer
 * closed, socket error, half-sent command, runaway line) the connection is
 * marked broken and every later call fails at once with the original reason.
 * A timeout while waiting for a reply does not break it: the late reply is
 * recognised by its older id and dropped.
 *
 * Internal functions need a non-NULL err (they look at the error they set);
 * the public ones collect into a local GError and propagate it.
 */
#define G_LOG_DOMAIN "test-qmp"

#include "tests/common/qmp.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Longest line accepted from the server.  xl-contract.md §2.2 bounds one
 * reply below 1 MiB; four times that still stops a server that never sends
 * a newline from eating the test's memory.
 */
#define QMP_MAX_LINE (4u << 20)
/* Bytes asked of recv() at a time; a typical reply is well below 4 KiB. */
#define QMP_READ_CHUNK 65536u
/*
 * Pause between connection attempts while the socket is missing or refuses.
 * A DM creates its QMP socket within tens of milliseconds of exec; 10 ms keeps
 * the added start-up latency small without spinning.
 */
#define QMP_CONNECT_RETRY_MS 10
/* First command id, as libxl counts them ("xlq\0", xl-contract.md §2.2). */
#define QMP_FIRST_ID 0x786c7100
/* How much of a raw line an error message quotes. */
#define QMP_QUOTE_MAX 200

GQuark qmp_error_quark(void)
{
    return g_quark_from_static_string("qmp-error-quark");
}

struct qmp {
    int fd;
    GString *in;        /* received bytes not yet cut into lines */
    size_t scanned;     /* prefix of in already searched for '\n' */
    GQueue events;      /* JsonNode * event messages, oldest first */
    char *last_raw;     /* last line received, terminator stripped */
    JsonNode *greeting; /* the greeting's "QMP" member */
    gint64 next_id;     /* id for the next command */
    char *broken;       /* why the connection is unusable, or NULL */
};

static gint64 qmp_deadline(int timeout_ms)
{
    return g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
}

/* Milliseconds left until deadline, rounded up, 0 when passed. */
static int qmp_remaining_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0)
        return 0;
    return (int)MIN((left + 999) / 1000, (gint64)INT_MAX);
}

/* A printable excerpt of a raw line for error messages (caller frees). */
static char *qmp_quote(const char *raw)
{
    size_t len = strlen(raw);

    if (len <= QMP_QUOTE_MAX)
        return g_strdup(raw);
    return g_strdup_printf("%.*s...", QMP_QUOTE_MAX, raw);
}

static void qmp_break(struct qmp *q, const GError *why)
{
    if (!q->broken)
        q->broken = g_strdup(why ? why->message : "connection failed");
}

static int qmp_check_usable(struct qmp *q, GError **err)
{
    if (!q->broken)
        return 0;
    g_set_error(err, QMP_ERROR, QMP_ERROR_CLOSED, "QMP connection unusable after: %s", q->broken);
    return -ECONNRESET;
}

/*
 * Wait until fd is ready for events or the deadline passes.  Returns 0 when
 * ready (including POLLHUP/POLLERR, which the next socket call reports), or
 * -ETIMEDOUT / -errno with err set.
 */
static int qmp_wait_fd(int fd, short events, gint64 deadline, const char *what, GError **err)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int ms = qmp_remaining_ms(deadline);
        int r = poll(&pfd, 1, ms);

        if (r > 0)
            return 0;
        if (r == 0) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT, "timed out waiting for %s", what);
            return -ETIMEDOUT;
        }
        if (errno != EINTR) {
            int e = errno;

            g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "poll: %s", g_strerror(e));
            return -e;
        }
    }
}

/* Send all of buf before the deadline. */
static int qmp_send_all(struct qmp *q, const char *buf, size_t len, gint64 deadline, GError **err)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(q->fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n >= 0) {
            off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = qmp_wait_fd(q->fd, POLLOUT, deadline, "the socket to accept a command", err);
            if (r < 0) {
                /* A half-sent command leaves the server's parser mid-text. */
                if (off > 0)
                    qmp_break(q, *err);
                return r;
            }
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_CLOSED,
                        "server closed the connection while we sent a command");
            qmp_break(q, *err);
            return -ECONNRESET;
        }
        int e = errno;
        g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "send: %s", g_strerror(e));
        qmp_break(q, *err);
        return -e;
    }
    return 0;
}

/* Parse one line into a JSON object node (caller unrefs), or NULL + err. */
static JsonNode *qmp_parse_line(const char *line, size_t len, GError **err)
{
    JsonParser *parser = json_parser_new();
    GError *perr = NULL;
    JsonNode *node = NULL;

    if (memchr(line, '\0', len)) {
        g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL, "NUL byte in a QMP message");
        goto out;
    }
    if (!json_parser_load_from_data(parser, line, (gssize)len, &perr)) {
        g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL, "invalid JSON from server: %s",
                    perr->message);
        g_error_free(perr);
        goto out;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL, "QMP message is not a JSON object");
        goto out;
    }
    node = json_node_ref(root);
out:
    g_object_unref(parser);
    return node;
}

/*
 * Read the next non-empty line and parse it.  Returns the message (caller
 * unrefs) or NULL with err set.
 */
static JsonNode *qmp_read_message(struct qmp *q, gint64 deadline, GError **err)
{
    for (;;) {
        char *nl = memchr(q->in->str + q->scanned, '\n', q->in->len - q->scanned);

        if (nl) {
            size_t cut = (size_t)(nl - q->in->str);
            size_t len = cut;
            JsonNode *msg = NULL;

            if (len > 0 && q->in->str[len - 1] == '\r')
                len--;
            g_free(q->last_raw);
            q->last_raw = g_strndup(q->in->str, len);
            if (strspn(q->in->str, " \t\r") < len)
                msg = qmp_parse_line(q->in->str, len, err);
            g_string_erase(q->in, 0, (gssize)cut + 1);
            q->scanned = 0;
            if (msg)
                return msg;
            if (!*err)
                continue; /* blank line */
            char *quote = qmp_quote(q->last_raw);
            g_prefix_error(err, "line '%s': ", quote);
            g_free(quote);
            return NULL;
        }
        q->scanned = q->in->len;
        if (q->in->len > QMP_MAX_LINE) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL,
                        "server sent %zu bytes without a line end", q->in->len);
            qmp_break(q, *err);
            return NULL;
        }

        if (qmp_wait_fd(q->fd, POLLIN, deadline, "a QMP message", err) < 0)
            return NULL;

        size_t old = q->in->len;
        g_string_set_size(q->in, old + QMP_READ_CHUNK);
        ssize_t n = recv(q->fd, q->in->str + old, QMP_READ_CHUNK, 0);
        int e = errno;
        g_string_set_size(q->in, old + (size_t)MAX(n, 0));
        if (n > 0)
            continue;
        if (n == 0) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_CLOSED, "server closed the connection%s",
                        old ? " in the middle of a message" : "");
            qmp_break(q, *err);
            return NULL;
        }
        if (e == EINTR || e == EAGAIN || e == EWOULDBLOCK)
            continue;
        g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "recv: %s", g_strerror(e));
        qmp_break(q, *err);
        return NULL;
    }
}

static void qmp_protocol_error(struct qmp *q, GError **err, const char *what)
{
    char *quote = qmp_quote(q->last_raw ? q->last_raw : "");

    g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL, "QMP protocol error: %s: %s", what, quote);
    g_free(quote);
}

/* "class: desc" of an {"error": {...}} message into err; false if malformed. */
static gboolean qmp_error_reply(JsonObject *obj, GError **err)
{
    JsonNode *enode = json_object_get_member(obj, "error");
    if (!enode || !JSON_NODE_HOLDS_OBJECT(enode))
        return FALSE;

    JsonObject *e = json_node_get_object(enode);
    JsonNode *cls = json_object_get_member(e, "class");
    JsonNode *desc = json_object_get_member(e, "desc");
    if (!cls || !desc || json_node_get_value_type(cls) != G_TYPE_STRING ||
        json_node_get_value_type(desc) != G_TYPE_STRING)
        return FALSE;
    g_set_error(err, QMP_ERROR, QMP_ERROR_COMMAND, "%s: %s", json_node_get_string(cls),
                json_node_get_string(desc));
    return TRUE;
}

/*
 * Wait for the reply to command want_id, or (want_id < 0) for an event.
 * Events met on the way to a reply are queued; replies to older commands
 * (abandoned after a timeout) are dropped.  Returns the whole message.
 * A server that floods events still cannot hold us past the deadline.
 */
static JsonNode *qmp_wait_message(struct qmp *q, gint64 want_id, gint64 deadline, GError **err)
{
    for (gboolean first = TRUE;; first = FALSE) {
        if (!first && g_get_monotonic_time() > deadline) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "timed out waiting for the reply (other messages kept arriving)");
            return NULL;
        }
        JsonNode *msg = qmp_read_message(q, deadline, err);
        if (!msg)
            return NULL;

        JsonObject *obj = json_node_get_object(msg);
        if (json_object_has_member(obj, "event")) {
            if (want_id < 0)
                return msg;
            g_queue_push_tail(&q->events, msg);
            continue;
        }
        if (json_object_has_member(obj, "QMP")) {
            qmp_protocol_error(q, err, "second greeting");
            goto fail;
        }

        JsonNode *idn = json_object_get_member(obj, "id");
        if (!idn) {
            /* QEMU answers input it cannot parse with an error without id. */
            GError *serr = NULL;
            if (qmp_error_reply(obj, &serr)) {
                g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL,
                            "QMP protocol error: error reply without id: %s", serr->message);
                g_error_free(serr);
            } else {
                qmp_protocol_error(q, err, "message without id");
            }
            goto fail;
        }
        if (json_node_get_value_type(idn) != G_TYPE_INT64) {
            qmp_protocol_error(q, err, "id is not an integer");
            goto fail;
        }
        gint64 id = json_node_get_int(idn);
        if (id >= QMP_FIRST_ID && id < q->next_id && id != want_id) {
            g_debug("dropping late reply to command %" G_GINT64_FORMAT, id);
            json_node_unref(msg);
            continue;
        }
        if (id != want_id) {
            qmp_protocol_error(q, err,
                               want_id < 0 ? "reply while no command is pending"
                                           : "reply with an id we never sent");
            goto fail;
        }
        return msg;
    fail:
        json_node_unref(msg);
        return NULL;
    }
}

/* qmp_execute() with an absolute deadline; consumes args. */
static JsonNode *qmp_execute_until(struct qmp *q, const char *cmd, JsonNode *args, gint64 deadline,
                                   GError **err)
{
    JsonNode *ret = NULL;
    JsonNode *reply = NULL;

    if (qmp_check_usable(q, err) < 0)
        goto out_args;
    if (args && !JSON_NODE_HOLDS_OBJECT(args)) {
        g_set_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL, "arguments of %s must be an object", cmd);
        goto out_args;
    }

    gint64 id = q->next_id++;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "execute");
    json_builder_add_string_value(b, cmd);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, id);
    if (args) {
        json_builder_set_member_name(b, "arguments");
        json_builder_add_value(b, args); /* the builder owns it now */
        args = NULL;
    }
    json_builder_end_object(b);

    JsonNode *root = json_builder_get_root(b);
    JsonGenerator *gen = json_generator_new();
    json_generator_set_root(gen, root);
    gsize len;
    char *text = json_generator_to_data(gen, &len);
    GString *line = g_string_new_len(text, (gssize)len);
    g_string_append(line, "\r\n");
    g_free(text);
    g_object_unref(gen);
    json_node_unref(root);
    g_object_unref(b);

    int r = qmp_send_all(q, line->str, line->len, deadline, err);
    g_string_free(line, TRUE);
    if (r < 0)
        goto out_prefix;

    reply = qmp_wait_message(q, id, deadline, err);
    if (!reply)
        goto out_prefix;

    JsonObject *obj = json_node_get_object(reply);
    if (json_object_has_member(obj, "return")) {
        ret = json_object_dup_member(obj, "return");
    } else if (!qmp_error_reply(obj, err)) {
        qmp_protocol_error(q, err, "reply has neither a valid return nor error");
        g_prefix_error(err, "%s: ", cmd);
    }
    /* A QMP error reply stays exactly "<class>: <desc>" (see qmp.h). */
    json_node_unref(reply);
    return ret;

out_prefix:
    g_prefix_error(err, "%s: ", cmd);
out_args:
    if (args)
        json_node_unref(args);
    return NULL;
}

static struct qmp *qmp_do_connect(const char *unix_path, int timeout_ms, GError **err)
{
    gint64 deadline = qmp_deadline(timeout_ms);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = -1;
    int last_errno = 0;

    if (strlen(unix_path) >= sizeof(sun.sun_path)) {
        g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "QMP socket path too long: %s", unix_path);
        return NULL;
    }
    memcpy(sun.sun_path, unix_path, strlen(unix_path) + 1);

    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            int e = errno;
            g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "socket: %s", g_strerror(e));
            return NULL;
        }
        int r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
        if (r < 0 && errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);

            if (qmp_wait_fd(fd, POLLOUT, deadline, "connect", NULL) < 0)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                soerr = errno;
            r = soerr ? -1 : 0;
            errno = soerr;
        }
        if (r == 0)
            break;

        last_errno = errno;
        close(fd);
        fd = -1;
        if (last_errno != ENOENT && last_errno != ECONNREFUSED && last_errno != EAGAIN &&
            last_errno != EINTR && last_errno != ETIMEDOUT) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_IO, "connect %s: %s", unix_path,
                        g_strerror(last_errno));
            return NULL;
        }
        int left = qmp_remaining_ms(deadline);
        if (left == 0) {
            g_set_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "QMP socket %s not accepting within %d ms (last error: %s)", unix_path,
                        timeout_ms, g_strerror(last_errno));
            return NULL;
        }
        /* Retry pause while the server starts; bounded by the deadline. */
        poll(NULL, 0, MIN(left, QMP_CONNECT_RETRY_MS));
    }

    struct qmp *q = g_new0(struct qmp, 1);
    q->fd = fd;
    q->in = g_string_sized_new(4096);
    g_queue_init(&q->events);
    q->next_id = QMP_FIRST_ID;

    JsonNode *msg = qmp_read_message(q, deadline, err);
    if (!msg)
        goto fail_greeting;
    JsonObject *obj = json_node_get_object(msg);
    JsonNode *qmpm = json_object_get_member(obj, "QMP");
    if (!qmpm || !JSON_NODE_HOLDS_OBJECT(qmpm)) {
        qmp_protocol_error(q, err, "first message is not a greeting");
        json_node_unref(msg);
        goto fail_greeting;
    }
    q->greeting = json_node_copy(qmpm);
    json_node_unref(msg);

    JsonNode *ret = qmp_execute_until(q, "qmp_capabilities", NULL, deadline, err);
    if (!ret)
        goto fail_caps;
    if (!JSON_NODE_HOLDS_OBJECT(ret)) {
        qmp_protocol_error(q, err, "qmp_capabilities did not return an object");
        json_node_unref(ret);
        goto fail_caps;
    }
    json_node_unref(ret);
    return q;

fail_greeting:
    g_prefix_error(err, "QMP greeting on %s: ", unix_path);
    qmp_close(q);
    return NULL;
fail_caps:
    g_prefix_error(err, "QMP handshake on %s: ", unix_path);
    qmp_close(q);
    return NULL;
}

struct qmp *qmp_connect(const char *unix_path, int timeout_ms, GError **err)
{
    GError *e = NULL;
    struct qmp *q = qmp_do_connect(unix_path, timeout_ms, &e);

    if (!q)
        g_propagate_error(err, e);
    return q;
}

void qmp_close(struct qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    g_string_free(q->in, TRUE);
    g_queue_clear_full(&q->events, (GDestroyNotify)json_node_unref);
    if (q->greeting)
        json_node_unref(q->greeting);
    g_free(q->last_raw);
    g_free(q->broken);
    g_free(q);
}

JsonNode *qmp_greeting(struct qmp *q)
{
    return q->greeting;
}

JsonNode *qmp_execute(struct qmp *q, const char *cmd, JsonNode *args, int timeout_ms, GError **err)
{
    GError *e = NULL;
    JsonNode *ret = qmp_execute_until(q, cmd, args, qmp_deadline(timeout_ms), &e);

    if (!ret)
        g_propagate_error(err, e);
    return ret;
}

JsonNode *qmp_next_event(struct qmp *q, int timeout_ms, GError **err)
{
    JsonNode *ev = g_queue_pop_head(&q->events);
    GError *e = NULL;

    if (ev)
        return ev;
    if (qmp_check_usable(q, err) < 0)
        return NULL;
    ev = qmp_wait_message(q, -1, qmp_deadline(timeout_ms), &e);
    if (!ev) {
        g_prefix_error(&e, "waiting for a QMP event: ");
        g_propagate_error(err, e);
    }
    return ev;
}

static int qmp_errno(const GError *e)
{
    if (!e || e->domain != QMP_ERROR)
        return -EIO;
    switch (e->code) {
    case QMP_ERROR_TIMEOUT:
        return -ETIMEDOUT;
    case QMP_ERROR_CLOSED:
        return -ECONNRESET;
    case QMP_ERROR_PROTOCOL:
        return -EPROTO;
    case QMP_ERROR_COMMAND:
        return -EREMOTEIO;
    default:
        return -EIO;
    }
}

int qmp_screendump(struct qmp *q, const char *path, int timeout_ms, GError **err)
{
    JsonBuilder *b = json_builder_new();
    GError *e = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, path);
    json_builder_end_object(b);
    JsonNode *args = json_builder_get_root(b);
    g_object_unref(b);

    JsonNode *ret = qmp_execute_until(q, "screendump", args, qmp_deadline(timeout_ms), &e);
    if (!ret) {
        int r = qmp_errno(e);
        g_propagate_error(err, e);
        return r;
    }
    json_node_unref(ret);
    return 0;
}

const char *qmp_last_raw(struct qmp *q)
{
    return q->last_raw ? q->last_raw : "";
}
