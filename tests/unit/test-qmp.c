/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the QMP server (src/qmp.c) over real AF_UNIX sockets in a
 * temporary directory, with the server's GMainContext iterated by the test.
 * Every wait is for an observable event (a reply line, EOF, a server
 * counter) with a bounded timeout; there are no sleeps.
 *
 * Replies are checked the way libxl's reader does (xl-contract §2.2): one
 * "\r\n"-terminated line per message with no CR-LF inside, the message type
 * is the first member among QMP/return/error/event, and the id must be the
 * integer that was sent.  Conversations replay libxl's real ids
 * (qmp_capabilities 2020372737, first command 2020372736, then
 * 2020372738...) and libxenstat's unterminated, id-less commands.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "src/qmp.h"

#define WAIT_MS 10000 /* upper bound for any single wait */
/* libxl's ids: "xlq\0" = 0x786c7100, the first command takes it before the
 * greeting so qmp_capabilities carries the next one. */
#define LIBXL_ID0 2020372736LL

/* The server's per-server connection limit (QMP_MAX_CONNS in src/qmp.c). */
#define SERVER_MAX_CONNS 32

static GMainContext *ctx;
static char *tmpdir;
static unsigned path_seq;

/* ------------------------------------------------------------ helpers --- */

static gboolean set_flag(gpointer p)
{
    *(bool *)p = true;
    return G_SOURCE_REMOVE;
}

/* Run the server's context (non-blocking) until nothing is ready. */
static void pump(void)
{
    while (g_main_context_iteration(ctx, FALSE))
        ;
}

/* Iterate the context until pred(arg) holds or WAIT_MS passes; pollfd
 * (>= 0) is a client descriptor whose readiness should wake us too. */
static bool wait_until(bool (*pred)(void *), void *arg, int pollfd, GIOCondition events)
{
    GPollFD pfd = {.fd = pollfd, .events = events};
    bool timed_out = false, ok;
    GSource *t = g_timeout_source_new(WAIT_MS);

    g_source_set_callback(t, set_flag, &timed_out, NULL);
    g_source_attach(t, ctx);
    if (pollfd >= 0)
        g_main_context_add_poll(ctx, &pfd, G_PRIORITY_DEFAULT);
    while (!(ok = pred(arg)) && !timed_out)
        g_main_context_iteration(ctx, TRUE);
    if (pollfd >= 0)
        g_main_context_remove_poll(ctx, &pfd);
    g_source_destroy(t);
    g_source_unref(t);
    return ok;
}

static char *new_path(void)
{
    return g_strdup_printf("%s/qmp-%u", tmpdir, path_seq++);
}

static struct qmp_server *server_new(char **path)
{
    GError *err = NULL;

    *path = new_path();
    struct qmp_server *s = qmp_server_new("libxl-cmd", *path, -1, &err);
    g_assert_no_error(err);
    g_assert_nonnull(s);
    return s;
}

/* Free the server; the socket must still be there (libxl unlinks it). */
static void server_free(struct qmp_server *s, char *path)
{
    qmp_server_free(s);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_free(path);
}

static struct qmp_stats stats_of(struct qmp_server *s)
{
    struct qmp_stats st;
    qmp_server_get_stats(s, &st);
    return st;
}

struct stat_wait {
    struct qmp_server *s;
    unsigned open;
};
static bool pred_open_conns(void *p)
{
    struct stat_wait *w = p;
    return stats_of(w->s).open_connections == w->open;
}
static void wait_open_conns(struct qmp_server *s, unsigned n)
{
    struct stat_wait w = {s, n};
    g_assert_true(wait_until(pred_open_conns, &w, -1, 0));
}

/* ------------------------------------------------------------- client --- */

struct client {
    int fd;
    GString *buf;
    bool eof;
};

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* Read whatever is there without blocking. */
static void client_fill(struct client *cl)
{
    char tmp[65536];

    while (!cl->eof) {
        ssize_t n = recv(cl->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            g_string_append_len(cl->buf, tmp, n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            cl->eof = true; /* EOF or ECONNRESET */
        } else if (errno == EAGAIN) {
            break;
        }
    }
}

static bool pred_line_or_eof(void *p)
{
    struct client *cl = p;
    client_fill(cl);
    return strstr(cl->buf->str, "\r\n") || cl->eof;
}

/* Next line including its "\r\n" (caller frees), or NULL at EOF. */
static char *client_line(struct client *cl)
{
    g_assert_true(wait_until(pred_line_or_eof, cl, cl->fd, G_IO_IN | G_IO_HUP | G_IO_ERR));
    char *end = strstr(cl->buf->str, "\r\n");
    if (!end)
        return NULL;
    size_t len = (size_t)(end - cl->buf->str) + 2;
    char *line = g_strndup(cl->buf->str, len);
    g_string_erase(cl->buf, 0, (gssize)len);
    return line;
}

static bool pred_eof(void *p)
{
    struct client *cl = p;
    client_fill(cl);
    return cl->eof;
}

static void client_wait_eof(struct client *cl)
{
    g_assert_true(wait_until(pred_eof, cl, cl->fd, G_IO_IN | G_IO_HUP | G_IO_ERR));
}

static bool pred_writable(void *p)
{
    struct pollfd pfd = {.fd = *(int *)p, .events = POLLOUT};
    return poll(&pfd, 1, 0) == 1;
}

/* Send all of data, letting the server run while the socket is full.
 * Returns false if the server closed the connection meanwhile. */
static bool client_send_len(struct client *cl, const char *data, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(cl->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return false;
        g_assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
        int fd = cl->fd;
        g_assert_true(wait_until(pred_writable, &fd, cl->fd, G_IO_OUT));
    }
    return true;
}

static void client_send(struct client *cl, const char *s)
{
    g_assert_true(client_send_len(cl, s, strlen(s)));
}

/* Send data with descriptors attached (SCM_RIGHTS) in one sendmsg. */
static void send_with_fds(int sock, const char *data, size_t len, const int *fds, int nfds)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 32)];
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

    g_assert_cmpint(nfds, <=, 32);
    memset(cbuf, 0, sizeof(cbuf));
    msg.msg_control = cbuf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    g_assert_cmpint(sendmsg(sock, &msg, MSG_NOSIGNAL), ==, (ssize_t)len);
}

static JsonNode *parse_json(const char *text, size_t len)
{
    JsonParser *p = json_parser_new();
    GError *err = NULL;

    g_assert_true(json_parser_load_from_data(p, text, (gssize)len, &err));
    g_assert_no_error(err);
    JsonNode *root = json_parser_steal_root(p);
    g_object_unref(p);
    g_assert_nonnull(root);
    return root;
}

/*
 * Check one line as libxl's reader would and return the parsed message
 * (caller unrefs) and its type: the first member among QMP, return, error,
 * event.
 */
static JsonNode *libxl_parse(const char *line, const char **type)
{
    size_t len = strlen(line);

    g_assert_cmpuint(len, >=, 2);
    g_assert_true(g_str_has_suffix(line, "\r\n"));
    g_assert_true(strstr(line, "\r\n") == line + len - 2);
    g_assert_null(memchr(line, '\n', len - 1));
    JsonNode *root = parse_json(line, len - 2);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
    *type = NULL;
    GList *members = json_object_get_members(json_node_get_object(root));
    for (GList *l = members; l && !*type; l = l->next) {
        static const char *const types[] = {"QMP", "return", "error", "event"};
        for (unsigned i = 0; i < G_N_ELEMENTS(types); i++)
            if (!strcmp(l->data, types[i]))
                *type = types[i];
    }
    g_list_free(members);
    g_assert_nonnull(*type);
    return root;
}

/* The id member as compact JSON text, or NULL when absent. */
static char *id_text(JsonObject *o)
{
    JsonNode *id = json_object_get_member(o, "id");
    return id ? json_to_string(id, FALSE) : NULL;
}

/* Expect a success reply whose id is exactly id_json (NULL: no id);
 * returns the "return" value (caller unrefs). */
static JsonNode *expect_return(struct client *cl, const char *id_json)
{
    const char *type;
    char *line = client_line(cl);
    g_assert_nonnull(line);
    JsonNode *root = libxl_parse(line, &type);
    g_assert_cmpstr(type, ==, "return");
    JsonObject *o = json_node_get_object(root);
    char *id = id_text(o);
    g_assert_cmpstr(id, ==, id_json);
    g_free(id);
    JsonNode *ret = json_node_copy(json_object_get_member(o, "return"));
    json_node_unref(root);
    g_free(line);
    return ret;
}

static void expect_empty_return(struct client *cl, const char *id_json)
{
    JsonNode *ret = expect_return(cl, id_json);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(ret));
    g_assert_cmpuint(json_object_get_size(json_node_get_object(ret)), ==, 0);
    json_node_unref(ret);
}

/* Expect an error reply: class, desc starting with desc_prefix, id. */
static void expect_error(struct client *cl, const char *id_json, const char *cls,
                         const char *desc_prefix)
{
    const char *type;
    char *line = client_line(cl);
    g_assert_nonnull(line);
    JsonNode *root = libxl_parse(line, &type);
    if (strcmp(type, "error"))
        g_error("expected an error, got %.200s", line);
    JsonObject *o = json_node_get_object(root);
    JsonObject *e = json_object_get_object_member(o, "error");
    g_assert_cmpstr(json_object_get_string_member(e, "class"), ==, cls);
    const char *desc = json_object_get_string_member(e, "desc");
    if (!g_str_has_prefix(desc, desc_prefix))
        g_error("desc '%s' does not start with '%s'", desc, desc_prefix);
    char *id = id_text(o);
    g_assert_cmpstr(id, ==, id_json);
    g_free(id);
    json_node_unref(root);
    g_free(line);
}

static void check_greeting(struct client *cl)
{
    const char *type;
    char *line = client_line(cl);
    g_assert_nonnull(line);
    JsonNode *root = libxl_parse(line, &type);
    g_assert_cmpstr(type, ==, "QMP");
    JsonObject *qmp = json_object_get_object_member(json_node_get_object(root), "QMP");
    JsonObject *ver = json_object_get_object_member(qmp, "version");
    JsonObject *qemu = json_object_get_object_member(ver, "qemu");
    /* libxl needs >= 2.11.0 (xl-contract §2.2.1); integers, not 7.0 */
    g_assert_true(json_node_get_value_type(json_object_get_member(qemu, "major")) == G_TYPE_INT64);
    g_assert_cmpint(json_object_get_int_member(qemu, "major"), ==, 7);
    g_assert_cmpint(json_object_get_int_member(qemu, "minor"), ==, 2);
    g_assert_cmpint(json_object_get_int_member(qemu, "micro"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(ver, "package"), ==, "xendm " PACKAGE_VERSION);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(qmp, "capabilities")), ==,
                     0);
    json_node_unref(root);
    g_free(line);
}

static struct client *client_open(const char *path, bool negotiate)
{
    struct client *cl = g_new0(struct client, 1);
    cl->fd = connect_unix(path);
    cl->buf = g_string_new(NULL);
    check_greeting(cl);
    if (negotiate) {
        client_send(cl, "{\"execute\":\"qmp_capabilities\",\"id\":\"neg\"}\r\n");
        expect_empty_return(cl, "\"neg\"");
    }
    return cl;
}

static void client_close(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    g_string_free(cl->buf, TRUE);
    g_free(cl);
}

/* Check that the connection still serves commands. */
static void check_alive(struct client *cl)
{
    client_send(cl, "{\"execute\":\"query-version\",\"id\":\"alive\"}");
    JsonNode *ret = expect_return(cl, "\"alive\"");
    g_assert_true(JSON_NODE_HOLDS_OBJECT(ret));
    json_node_unref(ret);
}

/* -------------------------------------------------- test commands ---- */

static char *last_vnc_password;
static struct qmp_deferred *deferred;

static JsonNode *t_query_chardev(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "label");
    json_builder_add_string_value(b, "serial0");
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, "pty:/dev/pts/5");
    json_builder_set_member_name(b, "frontend-open");
    json_builder_add_boolean_value(b, TRUE);
    json_builder_end_object(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "label");
    json_builder_add_string_value(b, qmp_conn_label(c));
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, "unix:/var/run/xen/qmp-libxl-7,server=on");
    json_builder_set_member_name(b, "frontend-open");
    json_builder_add_boolean_value(b, TRUE);
    json_builder_end_object(b);
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *t_query_vnc(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonObject *o = json_object_new();
    json_object_set_boolean_member(o, "enabled", TRUE);
    json_object_set_string_member(o, "host", "127.0.0.1");
    json_object_set_string_member(o, "service", "5900");
    json_object_set_string_member(o, "family", "ipv4");
    json_object_set_string_member(o, "auth", "none");
    json_object_set_array_member(o, "clients", json_array_new());
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *t_change_vnc_password(struct qmp_conn *c, JsonObject *args, void *opaque,
                                       GError **err)
{
    static const char *const names[] = {"password", NULL};
    const char *pw;

    if (qmp_arg_check_names(args, names, err) < 0 ||
        qmp_arg_str(args, "password", QMP_ARG_REQUIRED, &pw, err) < 0)
        return NULL;
    g_free(last_vnc_password);
    last_vnc_password = g_strdup(pw);
    return NULL;
}

static JsonNode *t_query_blockstats(struct qmp_conn *c, JsonObject *args, void *opaque,
                                    GError **err)
{
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, json_array_new());
    return n;
}

/* test-args: every helper; echoes what it got. */
static JsonNode *t_args(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    static const char *const names[] = {"n", "flag", "s", "o", "a", "p", NULL};
    int64_t n, p = -1;
    bool flag = false;
    const char *s = "";
    JsonObject *o = NULL;
    JsonArray *a = NULL;

    if (qmp_arg_check_names(args, names, err) < 0 ||
        qmp_arg_int(args, "n", QMP_ARG_REQUIRED, &n, err) < 0 ||
        qmp_arg_bool(args, "flag", QMP_ARG_OPTIONAL, &flag, err) < 0 ||
        qmp_arg_str(args, "s", QMP_ARG_OPTIONAL, &s, err) < 0 ||
        qmp_arg_object(args, "o", QMP_ARG_OPTIONAL, &o, err) < 0 ||
        qmp_arg_array(args, "a", QMP_ARG_OPTIONAL, &a, err) < 0 ||
        qmp_arg_int_or_str(args, "p", QMP_ARG_OPTIONAL, &p, err) < 0)
        return NULL;
    JsonObject *r = json_object_new();
    json_object_set_int_member(r, "n", n);
    json_object_set_boolean_member(r, "flag", flag);
    json_object_set_string_member(r, "s", s);
    json_object_set_int_member(r, "o", o ? (gint64)json_object_get_size(o) : -1);
    json_object_set_int_member(r, "a", a ? (gint64)json_array_get_length(a) : -1);
    json_object_set_int_member(r, "p", p);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    return node;
}

/* test-big {"size": N}: a string of N 'x'. */
static JsonNode *t_big(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    int64_t size;
    if (qmp_arg_int(args, "size", QMP_ARG_REQUIRED, &size, err) < 0)
        return NULL;
    char *s = g_malloc((size_t)size + 1);
    memset(s, 'x', (size_t)size);
    s[size] = 0;
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, s);
    g_free(s);
    return n;
}

/* test-fail {"class": "..."}: each error path of a handler. */
static JsonNode *t_fail(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *cls;
    if (qmp_arg_str(args, "class", QMP_ARG_REQUIRED, &cls, err) < 0)
        return NULL;
    if (!strcmp(cls, "DeviceNotFound"))
        return qmp_err_device_not_found(err, "Device '%s' not found", "ide-5632");
    if (!strcmp(cls, "DeviceNotActive"))
        return qmp_err_device_not_active(err, "No %s device has been activated", "balloon");
    if (!strcmp(cls, "CommandNotFound"))
        return qmp_err_command_not_found(err, "The command %s has not been found", "cpu-add");
    if (!strcmp(cls, "foreign")) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "foreign domain");
        return NULL;
    }
    return qmp_err_generic(err, "generic %d", 42);
}

/* test-doubles: doubles json-glib 1.6 cannot print and invalid UTF-8, in
 * a return value. */
static JsonNode *t_doubles(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonObject *o = json_object_new();
    json_object_set_double_member(o, "big", 1e42);
    json_object_set_double_member(o, "int", 2e17);
    json_object_set_double_member(o, "half", 0.5);
    json_object_set_double_member(o, "nan", NAN);
    JsonArray *a = json_array_new();
    json_array_add_double_element(a, -INFINITY);
    json_array_add_double_element(a, 3.0);
    json_object_set_array_member(o, "list", a);
    json_object_set_string_member(o, "tty",
                                  "/dev/pts/\xff"
                                  "9");
    json_object_set_int_member(o, "k\xfe", 1);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *t_defer(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    g_assert_null(deferred);
    deferred = qmp_defer(c);
    return NULL;
}

static JsonNode *t_defer_now(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    struct qmp_deferred *d = qmp_defer(c);
    JsonObject *o = json_object_new();
    json_object_set_boolean_member(o, "now", TRUE);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    qmp_deferred_complete(d, n, NULL);
    return NULL;
}

/* test-take-fd: how many descriptors are available to this command. */
static JsonNode *t_take_fd(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    int n = 0, fd;
    while ((fd = qmp_conn_take_fd(c)) >= 0) {
        close(fd);
        n++;
    }
    JsonNode *node = json_node_new(JSON_NODE_VALUE);
    json_node_set_int(node, n);
    return node;
}

static void register_test_commands(void)
{
    qmp_register("query-chardev", t_query_chardev, NULL);
    qmp_register("query-vnc", t_query_vnc, NULL);
    qmp_register("change-vnc-password", t_change_vnc_password, NULL);
    qmp_register("query-blockstats", t_query_blockstats, NULL);
    qmp_register("test-args", t_args, NULL);
    qmp_register("test-big", t_big, NULL);
    qmp_register("test-fail", t_fail, NULL);
    qmp_register("test-defer", t_defer, NULL);
    qmp_register("test-doubles", t_doubles, NULL);
    qmp_register("test-defer-now", t_defer_now, NULL);
    qmp_register("test-take-fd", t_take_fd, NULL);
}

/* -------------------------------------------------------------- tests --- */

/* xl-contract §2.4 exactly as libxl sends it, with the real ids. */
static void test_libxl_creation(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, false);
    char *cmd;
    const char *type;

    /* qmp_capabilities carries id0 + 1, then query-chardev id0. */
    cmd = g_strdup_printf("{\"execute\":\"qmp_capabilities\",\"id\":%lld}\r\n", LIBXL_ID0 + 1);
    client_send(cl, cmd);
    g_free(cmd);
    char *line = client_line(cl);
    JsonNode *root = libxl_parse(line, &type);
    g_assert_cmpstr(type, ==, "return");
    JsonNode *id = json_object_get_member(json_node_get_object(root), "id");
    g_assert_true(JSON_NODE_HOLDS_VALUE(id) && json_node_get_value_type(id) == G_TYPE_INT64);
    g_assert_cmpint(json_node_get_int(id), ==, LIBXL_ID0 + 1);
    g_assert_cmpstr(line, ==, "{\"return\":{},\"id\":2020372737}\r\n");
    json_node_unref(root);
    g_free(line);

    cmd = g_strdup_printf("{\"execute\":\"query-chardev\",\"id\":%lld}\r\n", LIBXL_ID0);
    client_send(cl, cmd);
    g_free(cmd);
    JsonNode *ret = expect_return(cl, "2020372736");
    /* What libxl reads: every element has a string label; serialN has a
     * filename. */
    JsonArray *a = json_node_get_array(ret);
    g_assert_cmpuint(json_array_get_length(a), ==, 2);
    JsonObject *e0 = json_array_get_object_element(a, 0);
    g_assert_cmpstr(json_object_get_string_member(e0, "label"), ==, "serial0");
    g_assert_cmpstr(json_object_get_string_member(e0, "filename"), ==, "pty:/dev/pts/5");
    g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(a, 1), "label"), ==,
                    "libxl-cmd");
    json_node_unref(ret);

    cmd = g_strdup_printf("{\"execute\":\"query-vnc\",\"id\":%lld}\r\n", LIBXL_ID0 + 2);
    client_send(cl, cmd);
    g_free(cmd);
    ret = expect_return(cl, "2020372738");
    JsonObject *vnc = json_node_get_object(ret);
    g_assert_true(json_object_get_boolean_member(vnc, "enabled"));
    g_assert_cmpstr(json_object_get_string_member(vnc, "service"), ==, "5900");
    json_node_unref(ret);

    cmd = g_strdup_printf("{\"execute\":\"change-vnc-password\",\"id\":%lld,"
                          "\"arguments\":{\"password\":\"pw\"}}\r\n",
                          LIBXL_ID0 + 3);
    client_send(cl, cmd);
    g_free(cmd);
    expect_empty_return(cl, "2020372739");
    g_assert_cmpstr(last_vnc_password, ==, "pw");

    /* libxl closes; the unpause connection follows: caps + cont-like. */
    client_close(cl);
    wait_open_conns(s, 0);
    cl = client_open(path, false);
    client_send(cl, "{\"execute\":\"qmp_capabilities\",\"id\":2020372737}\r\n");
    expect_empty_return(cl, "2020372737");
    client_send(cl, "{\"execute\":\"query-version\",\"id\":2020372736}\r\n");
    ret = expect_return(cl, "2020372736");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "package"), ==,
                    "xendm " PACKAGE_VERSION);
    json_node_unref(ret);
    client_close(cl);

    struct qmp_stats st = stats_of(s);
    g_assert_cmpuint(st.connections, ==, 2);
    g_assert_cmpuint(st.parse_errors + st.bad_requests + st.unknown_commands, ==, 0);
    qmp_server_free(s);
    /* libxl unlinks the socket, not us. */
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_unlink(path);
    g_free(path);
}

/* libxenstat (xenstat_qmp.c): spaces, no id, no terminator. */
static void test_libxenstat(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, false);

    client_send(cl, "{ \"execute\": \"qmp_capabilities\" }");
    char *line = client_line(cl);
    g_assert_cmpstr(line, ==, "{\"return\":{}}\r\n");
    g_free(line);
    client_send(cl, "{ \"execute\": \"query-blockstats\" }");
    line = client_line(cl);
    g_assert_cmpstr(line, ==, "{\"return\":[]}\r\n");
    g_free(line);
    client_close(cl);
    server_free(s, path);
}

struct backlog_wait {
    struct qmp_server *s;
    size_t backlog;
};
static bool pred_backlog(void *p)
{
    struct backlog_wait *w = p;
    return stats_of(w->s).input_backlog == w->backlog;
}

/* One byte per write; the server sees each before the next is sent. */
static void test_split_bytes(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, false);
    const char *cmds[] = {
        "{\"execute\":\"qmp_capabilities\",\"id\":1}",
        "{\"execute\":\"test-args\",\"arguments\":{\"n\":5,\"s\":\"a}\\\"]\"},\"id\":2}",
    };

    for (unsigned k = 0; k < G_N_ELEMENTS(cmds); k++) {
        size_t len = strlen(cmds[k]);
        for (size_t i = 0; i < len; i++) {
            client_send_len(cl, cmds[k] + i, 1);
            if (i + 1 < len) {
                struct backlog_wait w = {s, i + 1};
                g_assert_true(wait_until(pred_backlog, &w, -1, 0));
                client_fill(cl);
                g_assert_cmpuint(cl->buf->len, ==, 0); /* no reply yet */
            }
        }
        if (k == 0) {
            expect_empty_return(cl, "1");
        } else {
            JsonNode *ret = expect_return(cl, "2");
            JsonObject *o = json_node_get_object(ret);
            g_assert_cmpint(json_object_get_int_member(o, "n"), ==, 5);
            g_assert_cmpstr(json_object_get_string_member(o, "s"), ==, "a}\"]");
            json_node_unref(ret);
        }
    }
    g_assert_cmpuint(stats_of(s).input_backlog, ==, 0);
    client_close(cl);
    server_free(s, path);
}

/* Three commands in one write, with and without separators. */
static void test_three_in_one_write(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    client_send(cl, "{\"execute\":\"query-version\",\"id\":10}"
                    "{\"execute\":\"test-args\",\"arguments\":{\"n\":1},\"id\":11}\n"
                    "  {\"execute\":\"query-version\",\"id\":12}\r\n");
    JsonNode *r = expect_return(cl, "10");
    json_node_unref(r);
    r = expect_return(cl, "11");
    json_node_unref(r);
    r = expect_return(cl, "12");
    json_node_unref(r);
    g_assert_cmpuint(stats_of(s).commands, ==, 4);
    client_close(cl);
    server_free(s, path);
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* Read end of a pipe whose write ends are all closed: EOF. */
static void assert_pipe_eof(int rfd)
{
    char c;
    int fl = fcntl(rfd, F_GETFL);
    fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
    g_assert_cmpint(read(rfd, &c, 1), ==, 0);
}

/* add-fd the way libxl sends it: the descriptor rides on the first byte. */
static void test_add_fd(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);
    int p[2];

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    send_with_fds(cl->fd, "{", 1, &p[1], 1);
    close(p[1]); /* libxl closes its copy */
    pump();
    client_send(cl, "\"execute\":\"add-fd\",\"arguments\":{\"opaque\":\"raw:/x.iso\"},\"id\":20}");
    JsonNode *ret = expect_return(cl, "20");
    JsonObject *o = json_node_get_object(ret);
    g_assert_true(json_node_get_value_type(json_object_get_member(o, "fdset-id")) == G_TYPE_INT64);
    int64_t set = json_object_get_int_member(o, "fdset-id");
    int64_t sfd = json_object_get_int_member(o, "fd");
    g_assert_cmpint(set, ==, 0);
    g_assert_true(fd_is_open((int)sfd));
    json_node_unref(ret);

    /* Another module opens /dev/fdset/N: a working dup. */
    char *fdpath = g_strdup_printf("/dev/fdset/%" PRId64, set);
    int dfd = qmp_fdset_lookup(fdpath);
    g_assert_cmpint(dfd, >=, 0);
    g_assert_cmpint(dfd, !=, sfd);
    g_assert_cmpint(fcntl(dfd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    g_assert_cmpint(write(dfd, "hello", 5), ==, 5);
    close(dfd);
    char buf[8] = {0};
    g_assert_cmpint(read(p[0], buf, sizeof(buf)), ==, 5);
    g_assert_cmpstr(buf, ==, "hello");

    errno = 0;
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/7"), ==, -ENOENT);
    g_assert_cmpint(errno, ==, ENOENT); /* usable like open() */
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/"), ==, -EINVAL);
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/-1"), ==, -EINVAL);
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/1x"), ==, -EINVAL);
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/+0"), ==, -EINVAL);
    g_assert_cmpint(qmp_fdset_lookup("/tmp/x"), ==, -EINVAL);
    g_assert_cmpint(qmp_fdset_lookup(NULL), ==, -EINVAL);

    /* query-fdsets shows it, with the opaque string. */
    client_send(cl, "{\"execute\":\"query-fdsets\",\"id\":21}");
    ret = expect_return(cl, "21");
    JsonArray *sets = json_node_get_array(ret);
    g_assert_cmpuint(json_array_get_length(sets), ==, 1);
    JsonObject *s0 = json_array_get_object_element(sets, 0);
    g_assert_cmpint(json_object_get_int_member(s0, "fdset-id"), ==, set);
    JsonObject *f0 = json_array_get_object_element(json_object_get_array_member(s0, "fds"), 0);
    g_assert_cmpint(json_object_get_int_member(f0, "fd"), ==, sfd);
    g_assert_cmpstr(json_object_get_string_member(f0, "opaque"), ==, "raw:/x.iso");
    json_node_unref(ret);

    /* No descriptor: GenericError, and the connection goes on. */
    client_send(cl, "{\"execute\":\"add-fd\",\"id\":22}");
    expect_error(cl, "22", "GenericError", "No file descriptor supplied via SCM_RIGHTS");

    /* A second descriptor into the same set by id, a third into set 5. */
    int q[2];
    g_assert_cmpint(pipe2(q, O_CLOEXEC), ==, 0);
    send_with_fds(cl->fd, "{", 1, &q[1], 1);
    client_send(cl, "\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":0},\"id\":23}");
    ret = expect_return(cl, "23");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(ret), "fdset-id"), ==, 0);
    int64_t sfd2 = json_object_get_int_member(json_node_get_object(ret), "fd");
    json_node_unref(ret);
    send_with_fds(cl->fd, "{", 1, &q[1], 1);
    client_send(cl, "\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":5},\"id\":24}");
    ret = expect_return(cl, "24");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(ret), "fdset-id"), ==, 5);
    json_node_unref(ret);
    /* Bad argument: the descriptor is consumed and closed. */
    send_with_fds(cl->fd, "{", 1, &q[1], 1);
    client_send(cl, "\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":-3},\"id\":25}");
    expect_error(cl, "25", "GenericError", "Parameter 'fdset-id'");
    send_with_fds(cl->fd, "{", 1, &q[1], 1);
    client_send(cl, "\"execute\":\"add-fd\",\"arguments\":{\"opaque\":1},\"id\":26}");
    expect_error(cl, "26", "GenericError", "Invalid parameter type for 'opaque', expected: string");
    /* Lowest free id is 1 now (0 and 5 taken). */
    send_with_fds(cl->fd, "{", 1, &q[1], 1);
    client_send(cl, "\"execute\":\"add-fd\",\"id\":27}");
    ret = expect_return(cl, "27");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(ret), "fdset-id"), ==, 1);
    json_node_unref(ret);
    close(q[1]);

    /* remove-fd: one fd of set 0, then errors. */
    char *cmd = g_strdup_printf("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0,"
                                "\"fd\":%" PRId64 "},\"id\":28}",
                                sfd);
    client_send(cl, cmd);
    g_free(cmd);
    expect_empty_return(cl, "28");
    g_assert_false(fd_is_open((int)sfd));
    assert_pipe_eof(p[0]); /* that was the last copy of p[1] */
    dfd = qmp_fdset_lookup(fdpath);
    g_assert_cmpint(dfd, >=, 0); /* sfd2 remains in set 0 */
    close(dfd);
    cmd = g_strdup_printf("{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0,"
                          "\"fd\":%" PRId64 "},\"id\":29}",
                          sfd);
    client_send(cl, cmd);
    g_free(cmd);
    expect_error(cl, "29", "GenericError", "File descriptor named 'fdset-id:0, fd:");
    client_send(cl, "{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":9},\"id\":30}");
    expect_error(cl, "30", "GenericError", "File descriptor named 'fdset-id:9' not found");
    client_send(cl, "{\"execute\":\"remove-fd\",\"id\":31}");
    expect_error(cl, "31", "GenericError", "Parameter 'fdset-id' is missing");
    client_send(cl, "{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":0},\"id\":32}");
    expect_empty_return(cl, "32");
    g_assert_false(fd_is_open((int)sfd2));
    g_assert_cmpint(qmp_fdset_lookup(fdpath), ==, -ENOENT);

    /* Closing the connection closes the descriptors it added (sets 1, 5). */
    client_close(cl);
    wait_open_conns(s, 0);
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/5"), ==, -ENOENT);
    g_assert_cmpint(qmp_fdset_lookup("/dev/fdset/1"), ==, -ENOENT);
    assert_pipe_eof(q[0]);
    close(p[0]);
    close(q[0]);
    g_free(fdpath);
    server_free(s, path);
}

/* Descriptors: per-connection cap, ordering, unused ones closed. */
static void test_fd_queue(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);
    int p[2], fds[20];

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    for (int i = 0; i < 20; i++)
        fds[i] = p[1];
    /* 20 at once: 16 are queued, 4 closed. */
    send_with_fds(cl->fd, " ", 1, fds, 20);
    client_send(cl, "{\"execute\":\"test-take-fd\",\"id\":1}");
    JsonNode *ret = expect_return(cl, "1");
    g_assert_cmpint(json_node_get_int(ret), ==, 16);
    json_node_unref(ret);
    g_assert_cmpuint(stats_of(s).fds_dropped, ==, 4);

    /* A descriptor that arrives with a later command's first byte is not
     * taken by an earlier command, even when both are read at once. */
    client_send(cl, "{\"execute\":\"test-take-fd\",\"id\":2}");
    send_with_fds(cl->fd, "{", 1, &p[1], 1);
    client_send(cl, "\"execute\":\"test-take-fd\",\"id\":3}");
    ret = expect_return(cl, "2");
    g_assert_cmpint(json_node_get_int(ret), ==, 0);
    json_node_unref(ret);
    ret = expect_return(cl, "3");
    g_assert_cmpint(json_node_get_int(ret), ==, 1);
    json_node_unref(ret);

    /* Sent but never used: closed with the connection. */
    send_with_fds(cl->fd, "{", 1, &p[1], 1);
    client_send(cl, "\"execute\":\"query-version\",\"id\":4}");
    ret = expect_return(cl, "4");
    json_node_unref(ret);
    close(p[1]);
    client_close(cl);
    wait_open_conns(s, 0);
    assert_pipe_eof(p[0]);
    close(p[0]);
    g_assert_cmpuint(stats_of(s).fds_dropped, ==, 5);
    server_free(s, path);
}

struct bad_case {
    const char *input;
    const char *id; /* expected id JSON, NULL: none */
    const char *cls;
    const char *desc; /* prefix */
};

/* Every kind of malformed request; the connection stays usable. */
static void test_bad_input(void)
{
    static const struct bad_case cases[] = {
        {"{\"execute\" \"x\"}", NULL, "GenericError", "JSON parse error, "},
        {"{\"execute\":\"query-version\",}", NULL, "GenericError", "JSON parse error, "},
        {"{\"execute\":\"query-version\"]", NULL, "GenericError", "JSON parse error, "},
        {"}", NULL, "GenericError", "JSON parse error, "},
        {"]", NULL, "GenericError", "JSON parse error, "},
        {"nonsense ", NULL, "GenericError", "JSON parse error, "},
        {"{\"execute\":\"query-version\",\"id\":tru}", NULL, "GenericError", "JSON parse error, "},
        {"{\"execute\":\"\xff\xfe\"}", NULL, "GenericError", "JSON parse error, "},
        {"[1, 2]", NULL, "GenericError", "QMP input must be a JSON object"},
        {"42 ", NULL, "GenericError", "QMP input must be a JSON object"},
        {"\"execute\"", NULL, "GenericError", "QMP input must be a JSON object"},
        {"null\n", NULL, "GenericError", "QMP input must be a JSON object"},
        {"{\"id\":7}", "7", "GenericError", "QMP input lacks member 'execute'"},
        {"{}", NULL, "GenericError", "QMP input lacks member 'execute'"},
        {"{\"execute\":1,\"id\":8}", "8", "GenericError",
         "QMP input member 'execute' must be a string"},
        {"{\"execute\":null,\"id\":8}", "8", "GenericError",
         "QMP input member 'execute' must be a string"},
        {"{\"execute\":\"query-version\",\"arguments\":[],\"id\":9}", "9", "GenericError",
         "QMP input member 'arguments' must be an object"},
        {"{\"execute\":\"query-version\",\"arguments\":\"x\"}", NULL, "GenericError",
         "QMP input member 'arguments' must be an object"},
        {"{\"execute\":\"query-version\",\"foo\":1,\"id\":\"f\"}", "\"f\"", "GenericError",
         "QMP input member 'foo' is unexpected"},
        {"{\"exec-oob\":\"query-version\",\"id\":3}", "3", "GenericError",
         "QMP input member 'exec-oob' is unexpected"},
        {"{\"execute\":\"frobnicate\",\"id\":4}", "4", "CommandNotFound",
         "The command frobnicate has not been found"},
        {"{\"execute\":\"query-version\",\"arguments\":{\"x\":1},\"id\":5}", "5", "GenericError",
         "Parameter 'x' is unexpected"},
    };
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *shown = g_strescape(cases[i].input, NULL);
        g_test_message("bad input %u: %s", i, shown);
        g_free(shown);
        client_send(cl, cases[i].input);
        expect_error(cl, cases[i].id, cases[i].cls, cases[i].desc);
        check_alive(cl);
    }

    /* Nesting beyond the limit: an error, and the stream resynchronises
     * after the value (the depth is still tracked, not the bytes parsed). */
    GString *deep = g_string_new("{\"execute\":\"query-version\",\"id\":");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(deep, '[');
    for (int i = 0; i < 5000; i++)
        g_string_append_c(deep, ']');
    g_string_append_c(deep, '}');
    client_send(cl, deep->str);
    expect_error(cl, NULL, "GenericError", "JSON parse error, nesting deeper than");
    check_alive(cl);
    g_string_free(deep, TRUE);
    /* 1000 levels are fine, and the id is echoed as it came. */
    deep = g_string_new("{\"execute\":\"query-version\",\"id\":");
    for (int i = 0; i < 1000; i++)
        g_string_append_c(deep, '[');
    for (int i = 0; i < 1000; i++)
        g_string_append_c(deep, ']');
    client_send(cl, deep->str);
    client_send(cl, "}");
    JsonNode *r = expect_return(cl, deep->str + strlen("{\"execute\":\"query-version\",\"id\":"));
    json_node_unref(r);
    g_string_free(deep, TRUE);

    /* Garbage between valid commands: each bad value gets its error, the
     * valid ones their replies, in order. */
    client_send(cl, "x{\"execute\":\"query-version\",\"id\":1}]]{\"execute\":\"query-version\","
                    "\"id\":2}");
    expect_error(cl, NULL, "GenericError", "JSON parse error, ");
    r = expect_return(cl, "1");
    json_node_unref(r);
    expect_error(cl, NULL, "GenericError", "JSON parse error, ");
    expect_error(cl, NULL, "GenericError", "JSON parse error, ");
    r = expect_return(cl, "2");
    json_node_unref(r);

    struct qmp_stats st = stats_of(s);
    g_assert_cmpuint(st.parse_errors, ==, 8 + 1 + 3);
    g_assert_cmpuint(st.bad_requests, ==, 12);
    g_assert_cmpuint(st.unknown_commands, ==, 1);
    g_assert_cmpuint(st.open_connections, ==, 1);
    client_close(cl);
    server_free(s, path);
}

/* Ids of every JSON type come back exactly. */
static void test_ids_echoed(void)
{
    static const struct {
        const char *sent, *echoed;
    } ids[] = {
        {"0", "0"},
        {"-1", "-1"},
        {"2147483648", "2147483648"},
        {"9007199254740993", "9007199254740993"}, /* not a double */
        {"9223372036854775807", "9223372036854775807"},
        {"1.5", "1.5"},
        {"\"abc\"", "\"abc\""},
        {"\"\\u00e9\\n\"", "\"\xc3\xa9\\n\""},
        {"{\"a\":[1,{}]}", "{\"a\":[1,{}]}"},
        {"[]", "[]"},
        {"true", "true"},
        {"null", "null"},
        /* json-glib holds this as a double inf; "inf" is not JSON. */
        {"1e999", "null"},
        {"[1,-1e999]", "[1,null]"},
        /* json-glib 1.6 prints these doubles as "1e+42.0" (fuzz-qmp crash
         * 22e572f6...: {'execute':'query-version','id':1e42}).  Integral
         * ones that fit int64 keep their value, others become null. */
        {"1e42", "null"},
        {"{\"a\":[-5e20]}", "{\"a\":[null]}"},
        {"1e17", "100000000000000000"},
        {"-3e18", "-3000000000000000000"},
        {"1.5e17", "1.5e+17"},
        {"1e16", "10000000000000000.0"},
    };
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
        char *cmd = g_strdup_printf("{\"id\":%s,\"execute\":\"query-version\"}", ids[i].sent);
        client_send(cl, cmd);
        g_free(cmd);
        JsonNode *r = expect_return(cl, ids[i].echoed);
        json_node_unref(r);
        cmd = g_strdup_printf("{\"id\":%s,\"execute\":\"nope\"}", ids[i].sent);
        client_send(cl, cmd);
        g_free(cmd);
        expect_error(cl, ids[i].echoed, "CommandNotFound", "The command nope has not been found");
    }
    client_close(cl);
    server_free(s, path);
}

/* Before qmp_capabilities only it is allowed; afterwards not again. */
static void test_negotiation(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, false);

    client_send(cl, "{\"execute\":\"query-version\",\"id\":1}");
    expect_error(cl, "1", "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    client_send(cl, "{\"execute\":\"no-such\",\"id\":2}");
    expect_error(cl, "2", "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    /* Malformed requests still say what is wrong. */
    client_send(cl, "{\"execute\":3,\"id\":3}");
    expect_error(cl, "3", "GenericError", "QMP input member 'execute' must be a string");
    client_send(cl, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},"
                    "\"id\":4}");
    expect_error(cl, "4", "GenericError", "Capability 'oob' not available");
    client_send(cl, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"foo\":1},\"id\":5}");
    expect_error(cl, "5", "GenericError", "Parameter 'foo' is unexpected");
    client_send(cl, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]},\"id\":6}");
    expect_empty_return(cl, "6");
    client_send(cl, "{\"execute\":\"qmp_capabilities\",\"id\":7}");
    expect_error(cl, "7", "CommandNotFound",
                 "Capabilities negotiation is already complete, command ignored");
    check_alive(cl);

    /* query-commands lists built-ins and registered commands, sorted. */
    client_send(cl, "{\"execute\":\"query-commands\",\"id\":8}");
    JsonNode *r = expect_return(cl, "8");
    JsonArray *a = json_node_get_array(r);
    const char *prev = "";
    bool seen_caps = false, seen_chardev = false, seen_addfd = false;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        const char *n = json_object_get_string_member(json_array_get_object_element(a, i), "name");
        g_assert_cmpint(strcmp(prev, n), <, 0);
        prev = n;
        seen_caps |= !strcmp(n, "qmp_capabilities");
        seen_chardev |= !strcmp(n, "query-chardev");
        seen_addfd |= !strcmp(n, "add-fd");
    }
    g_assert_true(seen_caps && seen_chardev && seen_addfd);
    json_node_unref(r);
    client_close(cl);
    server_free(s, path);
}

/* Argument helpers: types, missing, unexpected, strings for integers. */
static void test_arg_types(void)
{
    static const struct bad_case cases[] = {
        {"{}", "1", "GenericError", "Parameter 'n' is missing"},
        {"{\"n\":\"5\"}", "1", "GenericError", "Invalid parameter type for 'n', expected: integer"},
        {"{\"n\":1.5}", "1", "GenericError", "Invalid parameter type for 'n', expected: integer"},
        {"{\"n\":1.0}", "1", "GenericError", "Invalid parameter type for 'n', expected: integer"},
        {"{\"n\":null}", "1", "GenericError", "Invalid parameter type for 'n', expected: integer"},
        {"{\"n\":true}", "1", "GenericError", "Invalid parameter type for 'n', expected: integer"},
        {"{\"n\":1,\"flag\":1}", "1", "GenericError",
         "Invalid parameter type for 'flag', expected: boolean"},
        {"{\"n\":1,\"s\":2}", "1", "GenericError",
         "Invalid parameter type for 's', expected: string"},
        {"{\"n\":1,\"o\":[]}", "1", "GenericError",
         "Invalid parameter type for 'o', expected: object"},
        {"{\"n\":1,\"a\":{}}", "1", "GenericError",
         "Invalid parameter type for 'a', expected: array"},
        {"{\"n\":1,\"p\":true}", "1", "GenericError",
         "Invalid parameter type for 'p', expected: integer"},
        {"{\"n\":1,\"p\":\"\"}", "1", "GenericError", "Parameter 'p' expects an integer"},
        {"{\"n\":1,\"p\":\"12a\"}", "1", "GenericError", "Parameter 'p' expects an integer"},
        {"{\"n\":1,\"p\":\" 1\"}", "1", "GenericError", "Parameter 'p' expects an integer"},
        {"{\"n\":1,\"p\":\"-\"}", "1", "GenericError", "Parameter 'p' expects an integer"},
        {"{\"n\":1,\"p\":\"99999999999999999999\"}", "1", "GenericError",
         "Parameter 'p' expects an integer"},
        {"{\"n\":1,\"zzz\":1}", "1", "GenericError", "Parameter 'zzz' is unexpected"},
    };
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *cmd = g_strdup_printf("{\"execute\":\"test-args\",\"arguments\":%s,\"id\":1}",
                                    cases[i].input);
        client_send(cl, cmd);
        g_free(cmd);
        expect_error(cl, cases[i].id, cases[i].cls, cases[i].desc);
    }
    /* No "arguments" at all: args is NULL, the required one is missing. */
    client_send(cl, "{\"execute\":\"test-args\",\"id\":2}");
    expect_error(cl, "2", "GenericError", "Parameter 'n' is missing");

    static const struct {
        const char *p;
        int64_t want;
    } ok[] = {{"7", 7},
              {"\"7\"", 7},
              {"\"0x1f\"", 31},
              {"\"-12\"", -12},
              {"\"9223372036854775807\"", INT64_MAX},
              {"\"-9223372036854775808\"", INT64_MIN}};
    for (unsigned i = 0; i < G_N_ELEMENTS(ok); i++) {
        char *cmd = g_strdup_printf("{\"execute\":\"test-args\",\"arguments\":{\"n\":-3,"
                                    "\"flag\":true,\"s\":\"str\",\"o\":{\"a\":1},\"a\":[1,2],"
                                    "\"p\":%s},\"id\":3}",
                                    ok[i].p);
        client_send(cl, cmd);
        g_free(cmd);
        JsonNode *r = expect_return(cl, "3");
        JsonObject *o = json_node_get_object(r);
        g_assert_cmpint(json_object_get_int_member(o, "n"), ==, -3);
        g_assert_true(json_object_get_boolean_member(o, "flag"));
        g_assert_cmpstr(json_object_get_string_member(o, "s"), ==, "str");
        g_assert_cmpint(json_object_get_int_member(o, "o"), ==, 1);
        g_assert_cmpint(json_object_get_int_member(o, "a"), ==, 2);
        g_assert_cmpint(json_object_get_int_member(o, "p"), ==, ok[i].want);
        json_node_unref(r);
    }
    client_close(cl);
    server_free(s, path);
}

/* Error classes a handler can produce. */
static void test_error_classes(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    client_send(cl, "{\"execute\":\"test-fail\",\"arguments\":{\"class\":\"DeviceNotFound\"},"
                    "\"id\":1}");
    expect_error(cl, "1", "DeviceNotFound", "Device 'ide-5632' not found");
    client_send(cl, "{\"execute\":\"test-fail\",\"arguments\":{\"class\":\"DeviceNotActive\"},"
                    "\"id\":2}");
    expect_error(cl, "2", "DeviceNotActive", "No balloon device has been activated");
    client_send(cl, "{\"execute\":\"test-fail\",\"arguments\":{\"class\":\"CommandNotFound\"},"
                    "\"id\":3}");
    expect_error(cl, "3", "CommandNotFound", "The command cpu-add has not been found");
    client_send(cl, "{\"execute\":\"test-fail\",\"arguments\":{\"class\":\"foreign\"},\"id\":4}");
    expect_error(cl, "4", "GenericError", "foreign domain");
    client_send(cl, "{\"execute\":\"test-fail\",\"arguments\":{\"class\":\"x\"},\"id\":5}");
    expect_error(cl, "5", "GenericError", "generic 42");
    client_close(cl);
    server_free(s, path);
}

/* Over 1 MiB without completing a message: error reply, then closed;
 * other clients are not affected. */
static void test_oversize(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *other = client_open(path, true);
    struct client *cl = client_open(path, true);

    /* Just under the limit is fine. */
    GString *big =
        g_string_new("{\"execute\":\"test-args\",\"arguments\":{\"n\":1,\"o\":{\"k\":\"");
    while (big->len < (1u << 20) - 100)
        g_string_append_c(big, 'a');
    g_string_append(big, "\"}},\"id\":1}");
    client_send(cl, big->str);
    JsonNode *r = expect_return(cl, "1");
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(r), "o"), ==, 1);
    json_node_unref(r);
    g_string_free(big, TRUE);

    big = g_string_new("{\"execute\":\"test-args\",\"arguments\":{\"n\":1,\"s\":\"");
    while (big->len < (1u << 20) + 70000)
        g_string_append_c(big, 'a');
    client_send_len(cl, big->str, big->len); /* may be cut short */
    expect_error(cl, NULL, "GenericError", "QMP input exceeds 1048576 bytes");
    client_wait_eof(cl);
    g_string_free(big, TRUE);
    client_close(cl);
    g_assert_cmpuint(stats_of(s).oversize, ==, 1);
    check_alive(other);

    /* An unterminated string swallows everything: the same limit. */
    cl = client_open(path, true);
    client_send(cl, "{\"execute\":\"query-version\",\"id\":\"");
    big = g_string_new(NULL);
    for (int i = 0; i < 40000; i++)
        g_string_append(big, "{\"execute\":\"query-version\",\"id\":1}");
    client_send_len(cl, big->str, big->len); /* may be cut short */
    g_string_free(big, TRUE);
    expect_error(cl, NULL, "GenericError", "QMP input exceeds");
    client_wait_eof(cl);
    client_close(cl);
    g_assert_cmpuint(stats_of(s).oversize, ==, 2);

    /* A message that crosses 1 MiB and ends within the same read is
     * refused too (not only a backlog that stays over the limit). */
    cl = client_open(path, true);
    big = g_string_new("{\"execute\":\"test-args\",\"arguments\":{\"n\":1,\"s\":\"");
    while (big->len < (1u << 20) - 1000)
        g_string_append_c(big, 'a');
    g_assert_true(client_send_len(cl, big->str, big->len));
    struct backlog_wait bw = {s, big->len};
    g_assert_true(wait_until(pred_backlog, &bw, -1, 0));
    g_string_truncate(big, 0);
    while (big->len < 2000)
        g_string_append_c(big, 'a');
    g_string_append(big, "\"},\"id\":1}");
    client_send_len(cl, big->str, big->len);
    g_string_free(big, TRUE);
    expect_error(cl, NULL, "GenericError", "QMP input exceeds");
    client_wait_eof(cl);
    client_close(cl);
    g_assert_cmpuint(stats_of(s).oversize, ==, 3);

    wait_open_conns(s, 1);
    check_alive(other);
    client_close(other);
    server_free(s, path);
}

struct inq_wait {
    int fd;
};
static bool pred_client_readable(void *p)
{
    int n = 0;
    ioctl(((struct inq_wait *)p)->fd, FIONREAD, &n);
    return n > 0;
}

/* Clients that vanish mid-message or mid-reply affect nobody else. */
static void test_disconnects(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *b = client_open(path, true);
    struct client *a = client_open(path, true);

    /* Mid-message: half a command, then gone. */
    client_send(a, "{\"execute\":\"query-vers");
    struct backlog_wait w = {s, strlen("{\"execute\":\"query-vers")};
    g_assert_true(wait_until(pred_backlog, &w, -1, 0));
    client_close(a);
    wait_open_conns(s, 1);
    g_assert_cmpuint(stats_of(s).input_backlog, ==, 0);
    check_alive(b);

    /* Mid-message again, with the peer only half-closing. */
    a = client_open(path, true);
    client_send(a, "{\"execute\":\"query-version\",\"id\":1}{\"exec");
    shutdown(a->fd, SHUT_WR);
    JsonNode *r = expect_return(a, "1");
    json_node_unref(r);
    client_wait_eof(a);
    client_close(a);
    wait_open_conns(s, 1);

    /* Mid-reply: a reply larger than the socket buffer, reader leaves. */
    a = client_open(path, true);
    client_send(a, "{\"execute\":\"test-big\",\"arguments\":{\"size\":900000},\"id\":1}");
    struct inq_wait iw = {a->fd};
    g_assert_true(wait_until(pred_client_readable, &iw, a->fd, G_IO_IN));
    client_close(a);
    wait_open_conns(s, 1);
    check_alive(b);

    /* Mid-command-stream: commands queued, then reset before reading. */
    a = client_open(path, true);
    for (int i = 0; i < 50; i++)
        client_send(a, "{\"execute\":\"test-big\",\"arguments\":{\"size\":10000}}");
    client_close(a);
    wait_open_conns(s, 1);
    check_alive(b);

    client_close(b);
    server_free(s, path);
}

/* Client sends commands, then shuts its write side: replies, then EOF. */
static void test_half_close(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, false);

    client_send(cl, "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-version\",\"id\":1}");
    shutdown(cl->fd, SHUT_WR);
    expect_empty_return(cl, NULL);
    JsonNode *r = expect_return(cl, "1");
    json_node_unref(r);
    client_wait_eof(cl);
    client_close(cl);
    wait_open_conns(s, 0);

    /* fuzz-qmp crash d6bb1aca...: three single quotes (an empty
     * single-quoted string, then an unterminated one), then half-close:
     * the error reply, then the server closes its end. */
    cl = client_open(path, true);
    client_send(cl, "'''");
    shutdown(cl->fd, SHUT_WR);
    expect_error(cl, NULL, "GenericError", "QMP input must be a JSON object");
    client_wait_eof(cl);
    g_assert_cmpuint(cl->buf->len, ==, 0);
    client_close(cl);
    wait_open_conns(s, 0);
    server_free(s, path);
}

struct overflow_wait {
    struct qmp_server *s;
};
static bool pred_overflow(void *p)
{
    return stats_of(((struct overflow_wait *)p)->s).output_overflows == 1;
}

/* A client that sends but never reads is dropped at the output cap. */
static void test_output_cap(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *other = client_open(path, true);
    struct client *cl = client_open(path, true);

    for (int i = 0; i < 6; i++)
        client_send(cl, "{\"execute\":\"test-big\",\"arguments\":{\"size\":900000}}");
    struct overflow_wait w = {s};
    g_assert_true(wait_until(pred_overflow, &w, -1, 0));
    wait_open_conns(s, 1);
    client_wait_eof(cl);
    /* Whatever reached the client before the drop is whole lines. */
    g_assert_true(cl->buf->len < 6 * 900000);
    client_close(cl);
    check_alive(other);

    /* libxl's reader (libxl_qmp.c) grows its buffer to 1044480 bytes and
     * gives up with less than 4096 free and no "\r\n": 1040385 bytes with
     * the terminator always get through.  {"return":"x...x","id":1} is
     * size + 20 bytes. */
    client_send(other, "{\"execute\":\"test-big\",\"arguments\":{\"size\":1040363},\"id\":1}");
    char *line = client_line(other);
    g_assert_cmpuint(strlen(line), ==, 1040385);
    g_free(line);
    client_send(other, "{\"execute\":\"test-big\",\"arguments\":{\"size\":1040364},\"id\":9}");
    expect_error(other, "9", "GenericError", "Reply of 1040384 bytes exceeds");
    client_send(other, "{\"execute\":\"test-big\",\"arguments\":{\"size\":1100000},\"id\":9}");
    expect_error(other, "9", "GenericError", "Reply of ");
    /* An id too big to echo in any reply libxl could read: dropped. */
    GString *cmd = g_string_new("{\"execute\":\"test-big\",\"arguments\":{\"size\":1},\"id\":\"");
    while (cmd->len < 1045000)
        g_string_append_c(cmd, 'i');
    g_string_append(cmd, "\"}");
    client_send(other, cmd->str);
    g_string_free(cmd, TRUE);
    expect_error(other, NULL, "GenericError", "Reply of ");
    check_alive(other);
    client_close(other);
    server_free(s, path);
}

static bool pred_event(void *p)
{
    struct client *cl = p;
    client_fill(cl);
    return strstr(cl->buf->str, "\r\n") != NULL;
}

/* Events go to negotiated connections of every server, with QEMU's
 * timestamp object. */
static void test_events(void)
{
    char *path1, *path2;
    struct qmp_server *s1 = server_new(&path1);
    struct qmp_server *s2 = server_new(&path2);
    struct client *a = client_open(path1, true);
    struct client *b = client_open(path1, false);
    struct client *c = client_open(path2, true);

    JsonObject *data = json_object_new();
    json_object_set_string_member(data, "device", "ide-5632");
    JsonNode *dn = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(dn, data);
    gint64 before = g_get_real_time() / G_USEC_PER_SEC;
    qmp_broadcast_event("DEVICE_TRAY_MOVED", dn);
    qmp_broadcast_event("STOP", NULL);

    struct client *got[] = {a, c};
    for (unsigned i = 0; i < G_N_ELEMENTS(got); i++) {
        const char *type;
        char *line = client_line(got[i]);
        JsonNode *root = libxl_parse(line, &type);
        g_assert_cmpstr(type, ==, "event");
        JsonObject *o = json_node_get_object(root);
        g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "DEVICE_TRAY_MOVED");
        JsonObject *ts = json_object_get_object_member(o, "timestamp");
        g_assert_true(json_node_get_value_type(json_object_get_member(ts, "seconds")) ==
                      G_TYPE_INT64);
        g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >=, before);
        int64_t us = json_object_get_int_member(ts, "microseconds");
        g_assert_true(us >= 0 && us < 1000000);
        g_assert_cmpstr(
            json_object_get_string_member(json_object_get_object_member(o, "data"), "device"), ==,
            "ide-5632");
        g_assert_false(json_object_has_member(o, "id"));
        json_node_unref(root);
        g_free(line);
        line = client_line(got[i]);
        root = libxl_parse(line, &type);
        g_assert_cmpstr(type, ==, "event");
        g_assert_false(json_object_has_member(json_node_get_object(root), "data"));
        json_node_unref(root);
        g_free(line);
    }
    /* b has not negotiated: the next thing it reads is its own reply. */
    client_send(b, "{\"execute\":\"qmp_capabilities\",\"id\":1}");
    expect_empty_return(b, "1");
    /* ... and from now on it gets events, also while idle. */
    qmp_broadcast_event("RESUME", NULL);
    g_assert_true(wait_until(pred_event, b, b->fd, G_IO_IN));
    g_assert_true(g_str_has_prefix(b->buf->str, "{\"timestamp\":{\"seconds\":"));
    g_assert_nonnull(strstr(b->buf->str, "\"event\":\"RESUME\"}\r\n"));

    client_close(a);
    client_close(b);
    client_close(c);
    server_free(s1, path1);
    server_free(s2, path2);
}

static bool pred_deferred(void *p)
{
    return deferred != NULL;
}

/* Deferred replies: later commands wait, order is kept. */
static void test_deferred(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);
    struct client *other = client_open(path, true);

    client_send(cl,
                "{\"execute\":\"test-defer\",\"id\":1}{\"execute\":\"query-version\",\"id\":2}");
    struct backlog_wait w = {s, strlen("{\"execute\":\"query-version\",\"id\":2}")};
    g_assert_true(wait_until(pred_backlog, &w, -1, 0));
    g_assert_nonnull(deferred);
    pump();
    client_fill(cl);
    g_assert_cmpuint(cl->buf->len, ==, 0);
    check_alive(other); /* others are served meanwhile */

    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "status", "paused");
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    struct qmp_deferred *d = deferred;
    deferred = NULL;
    qmp_deferred_complete(d, n, NULL);
    JsonNode *r = expect_return(cl, "1");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "status"), ==, "paused");
    json_node_unref(r);
    r = expect_return(cl, "2");
    json_node_unref(r);

    /* Completed with an error. */
    client_send(cl, "{\"execute\":\"test-defer\",\"id\":\"e\"}");
    g_assert_true(wait_until(pred_deferred, NULL, -1, 0));
    GError *e = g_error_new(QMP_CLASS_ERROR, QMP_CLASS_DEVICE_NOT_FOUND, "gone");
    d = deferred;
    deferred = NULL;
    qmp_deferred_complete(d, NULL, e);
    g_error_free(e);
    expect_error(cl, "\"e\"", "DeviceNotFound", "gone");

    /* Completed from inside the handler. */
    client_send(cl, "{\"execute\":\"test-defer-now\",\"id\":3}");
    r = expect_return(cl, "3");
    g_assert_true(json_object_get_boolean_member(json_node_get_object(r), "now"));
    json_node_unref(r);
    check_alive(cl);

    /* Connection gone before completion: the reply is dropped safely. */
    client_send(cl, "{\"execute\":\"test-defer\",\"id\":4}");
    g_assert_true(wait_until(pred_deferred, NULL, -1, 0));
    client_close(cl);
    wait_open_conns(s, 1);
    d = deferred;
    deferred = NULL;
    qmp_deferred_complete(d, json_node_new(JSON_NODE_NULL), NULL);

    /* Server freed with a command pending: the same. */
    cl = client_open(path, true);
    client_send(cl, "{\"execute\":\"test-defer\",\"id\":5}");
    g_assert_true(wait_until(pred_deferred, NULL, -1, 0));
    qmp_server_free(s);
    d = deferred;
    deferred = NULL;
    qmp_deferred_complete(d, NULL, NULL);
    client_wait_eof(cl);
    client_close(cl);
    client_close(other);
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_free(path);
}

/* Many clients at once, and the per-server limit. */
static void test_many_clients(void)
{
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl[SERVER_MAX_CONNS];
    int extra[4];

    for (unsigned i = 0; i < SERVER_MAX_CONNS; i++)
        cl[i] = client_open(path, i % 2);
    for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++)
        extra[i] = connect_unix(path);
    /* Interleaved commands on all of them. */
    for (unsigned i = 0; i < SERVER_MAX_CONNS; i++) {
        char *cmd = g_strdup_printf("{\"execute\":\"qmp_capabilities\",\"id\":%u}", i);
        client_send(cl[i], cmd);
        g_free(cmd);
    }
    for (unsigned i = 0; i < SERVER_MAX_CONNS; i++) {
        char *id = g_strdup_printf("%u", i);
        if (i % 2)
            expect_error(cl[i], id, "CommandNotFound", "Capabilities negotiation is already");
        else
            expect_empty_return(cl[i], id);
        g_free(id);
    }
    /* The extra ones were accepted and closed without a greeting. */
    for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++) {
        struct client x = {.fd = extra[i], .buf = g_string_new(NULL)};
        client_wait_eof(&x);
        g_assert_cmpuint(x.buf->len, ==, 0);
        g_string_free(x.buf, TRUE);
        close(extra[i]);
    }
    g_assert_cmpuint(stats_of(s).conns_refused, ==, G_N_ELEMENTS(extra));
    for (unsigned i = 0; i < SERVER_MAX_CONNS; i++)
        client_close(cl[i]);
    wait_open_conns(s, 0);
    /* And room again. */
    struct client *c = client_open(path, true);
    client_close(c);
    server_free(s, path);
}

/* Creating the listener: stale socket, non-socket, long path, inherited. */
static void test_server_setup(void)
{
    GError *err = NULL;
    char *path = new_path();

    /* A stale socket (bound, nobody listening) is replaced. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    int stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    close(stale);
    struct qmp_server *s = qmp_server_new("libxl-cmd", path, -1, &err);
    g_assert_no_error(err);
    struct client *cl = client_open(path, true);
    client_close(cl);
    qmp_server_free(s);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_unlink(path);

    /* A regular file is not removed. */
    g_assert_true(g_file_set_contents(path, "keep", -1, NULL));
    s = qmp_server_new("libxl-cmd", path, -1, &err);
    g_assert_null(s);
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_nonnull(strstr(err->message, "not a socket"));
    g_clear_error(&err);
    char *contents;
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "keep");
    g_free(contents);
    g_unlink(path);

    /* Too long for sun_path. */
    char *longp = g_strnfill(200, 'x');
    char *lp = g_strdup_printf("%s/%s", tmpdir, longp);
    s = qmp_server_new("libxl-cmd", lp, -1, &err);
    g_assert_null(s);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "too long"));
    g_clear_error(&err);
    g_free(lp);
    g_free(longp);

    /* A directory that does not exist. */
    lp = g_strdup_printf("%s/no/such/dir/qmp", tmpdir);
    s = qmp_server_new("libxl-cmd", lp, -1, &err);
    g_assert_null(s);
    g_assert_nonnull(strstr(err->message, "cannot bind"));
    g_clear_error(&err);
    g_free(lp);

    /* dm_restrict: libxl created, bound and listens; we only accept. */
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 5), ==, 0);
    /* libxl may connect before the DM runs: served from the backlog. */
    struct client *early = g_new0(struct client, 1);
    early->fd = connect_unix(path);
    early->buf = g_string_new(NULL);
    s = qmp_server_new("libxl-cmd", NULL, lfd, &err);
    g_assert_no_error(err);
    check_greeting(early);
    client_send(early, "{\"execute\":\"qmp_capabilities\",\"id\":2020372737}");
    expect_empty_return(early, "2020372737");
    client_close(early);
    qmp_server_free(s);
    g_assert_false(fd_is_open(lfd));
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_unlink(path);

    /* An fd that is not a listening socket is refused (and not closed). */
    int sp[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), ==, 0);
    s = qmp_server_new("libxl-cmd", NULL, sp[0], &err);
    g_assert_null(s);
    g_assert_nonnull(strstr(err->message, "not a listening"));
    g_clear_error(&err);
    g_assert_true(fd_is_open(sp[0]));
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    s = qmp_server_new("libxl-cmd", NULL, devnull, &err);
    g_assert_null(s);
    g_assert_nonnull(strstr(err->message, "not a socket"));
    g_clear_error(&err);
    close(devnull);

    /* No listener: connections added directly (as the fuzzer does). */
    s = qmp_server_new("fuzz", NULL, -1, &err);
    g_assert_no_error(err);
    g_assert_cmpint(qmp_server_add_client(s, sp[0]), ==, 0);
    struct client *sc = g_new0(struct client, 1);
    sc->fd = sp[1];
    sc->buf = g_string_new(NULL);
    check_greeting(sc);
    client_send(sc, "{\"execute\":\"qmp_capabilities\"}");
    expect_empty_return(sc, NULL);
    client_close(sc);
    wait_open_conns(s, 0);
    qmp_server_free(s);
    g_free(path);
}

/* Regression inputs (from fuzzing and review) on one connection; after
 * each the connection must still answer. */
static void test_regressions(void)
{
    static const char *const inputs[] = {
        /* Comments are json-glib's extension, not ours: treated as data. */
        "/**/ ",
        "{\"execute\":\"query-version\" /* } */ }",
        /* Single-quoted strings, as QEMU and json-glib accept them. */
        "{'execute':'query-version','id':'}'}",
        /* Control characters and NUL inside and outside strings. */
        "\x01\x02 ",
        "{\"execute\":\"query-version\",\"id\":\"a\\u0000b\"}",
        /* A huge number and a non-finite one as ids. */
        "{\"execute\":\"query-version\",\"id\":1e999}",
        "{\"execute\":\"query-version\",\"id\":123456789012345678901234567890}",
        /* Escapes at the very end of a value. */
        "\"\\\\\" ",
        "{\"a\":\"\\\"\"}",
    };
    char *path;
    struct qmp_server *s = server_new(&path);
    struct client *cl = client_open(path, true);

    /* Doubles in return values and events come out as valid JSON too. */
    client_send(cl, "{\"execute\":\"test-doubles\",\"id\":1}");
    char *dl = client_line(cl);
    g_assert_cmpstr(dl, ==,
                    "{\"return\":{\"big\":null,\"int\":200000000000000000,\"half\":0.5,"
                    "\"nan\":null,\"list\":[null,3.0],\"tty\":\"/dev/pts/\xef\xbf\xbd"
                    "9\",\"k\xef\xbf\xbd\":1},\"id\":1}\r\n");
    g_free(dl);
    JsonObject *data = json_object_new();
    json_object_set_double_member(data, "x", 5e20);
    JsonNode *dn = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(dn, data);
    qmp_broadcast_event("TEST", dn);
    dl = client_line(cl);
    g_assert_nonnull(strstr(dl, "\"event\":\"TEST\",\"data\":{\"x\":null}}\r\n"));
    g_free(dl);

    for (unsigned i = 0; i < G_N_ELEMENTS(inputs); i++) {
        g_test_message("regression %u", i);
        client_send(cl, inputs[i]);
        client_send(cl, "{\"execute\":\"query-version\",\"id\":\"after\"}");
        /* Skip whatever the odd input produced, up to our reply. */
        for (;;) {
            char *line = client_line(cl);
            g_assert_nonnull(line);
            const char *type;
            JsonNode *root = libxl_parse(line, &type);
            char *id = id_text(json_node_get_object(root));
            bool done = !g_strcmp0(id, "\"after\"");
            if (done)
                g_assert_cmpstr(type, ==, "return");
            g_free(id);
            json_node_unref(root);
            g_free(line);
            if (done)
                break;
        }
    }
    g_assert_cmpuint(stats_of(s).input_backlog, ==, 0);
    client_close(cl);
    server_free(s, path);
}

/* Client text reaches the log escaped: no terminal escapes in
 * qemu-dm-NAME.log.  In a subprocess, for a fresh rate limiter and a
 * captured stderr. */
static void test_log_escaping(void)
{
    if (g_test_subprocess()) {
        char *path;
        struct qmp_server *s = server_new(&path);
        struct client *cl = client_open(path, true);
        client_send(cl, "{\"execute\":\"\\u001b[2Jx\",\"id\":1}");
        expect_error(cl, "1", "CommandNotFound", "The command \x1b[2Jx has not been found");
        client_send(cl, "\x1b[31m ");
        expect_error(cl, NULL, "GenericError", "JSON parse error, ");
        client_close(cl);
        server_free(s, path);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*unknown command '\\033[2Jx'*");
    g_test_trap_assert_stderr("*JSON parse error*");
    g_test_trap_assert_stderr_unmatched("*\x1b*");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    tmpdir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    register_test_commands();

    g_test_add_func("/qmp/libxl-creation", test_libxl_creation);
    g_test_add_func("/qmp/libxenstat", test_libxenstat);
    g_test_add_func("/qmp/split-bytes", test_split_bytes);
    g_test_add_func("/qmp/three-in-one-write", test_three_in_one_write);
    g_test_add_func("/qmp/add-fd", test_add_fd);
    g_test_add_func("/qmp/fd-queue", test_fd_queue);
    g_test_add_func("/qmp/bad-input", test_bad_input);
    g_test_add_func("/qmp/ids-echoed", test_ids_echoed);
    g_test_add_func("/qmp/negotiation", test_negotiation);
    g_test_add_func("/qmp/arg-types", test_arg_types);
    g_test_add_func("/qmp/error-classes", test_error_classes);
    g_test_add_func("/qmp/oversize", test_oversize);
    g_test_add_func("/qmp/disconnects", test_disconnects);
    g_test_add_func("/qmp/half-close", test_half_close);
    g_test_add_func("/qmp/output-cap", test_output_cap);
    g_test_add_func("/qmp/events", test_events);
    g_test_add_func("/qmp/deferred", test_deferred);
    g_test_add_func("/qmp/many-clients", test_many_clients);
    g_test_add_func("/qmp/server-setup", test_server_setup);
    g_test_add_func("/qmp/regressions", test_regressions);
    g_test_add_func("/qmp/log-escaping", test_log_escaping);
    ret = g_test_run();

    g_assert_cmpint(g_rmdir(tmpdir), ==, 0); /* every test cleaned up */
    g_free(tmpdir);
    g_free(last_vnc_password);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return ret;
}
