/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the test helpers in tests/common: the PPM image type
 * (round trip, header comments, malformed files, comparison, counting) and
 * the QMP client, which talks here to a scripted fake QMP server thread on
 * a UNIX socket in a private temp dir: greeting, capabilities, error replies,
 * events interleaved with replies, "\r\n" and "\n" framing with several
 * messages per read and messages split across reads, a server that never
 * answers (bounded timeout), a server that hangs up, a late server start.
 * The real peer (qemu-xen, xendm) is exercised by the xensim tests.
 */
#include "tests/common/image.h"
#include "tests/common/qmp.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Timeouts: generous where success is expected, short where we wait for one. */
#define OK_TIMEOUT_MS    5000
#define SHORT_TIMEOUT_MS 200
/* A timeout of SHORT_TIMEOUT_MS must fire well before this. */
#define BOUND_US (3 * G_USEC_PER_SEC)
/* The fake server gives up on a silent client after this long. */
#define FAKE_TIMEOUT_MS 10000

#define GREETING                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "              \
    "\"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define EVENT_STOP "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"

static char *tmpdir;

/* ------------------------------------------------------------- images -- */

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static struct image *pattern_image(unsigned w, unsigned h)
{
    struct image *img = image_new(w, h);

    g_assert_nonnull(img);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            image_set_pixel(img, x, y, (x * 37u) << 16 | (y * 53u) << 8 | ((x ^ y) & 0xff));
    return img;
}

static void test_ppm_roundtrip(void)
{
    struct image *a = pattern_image(7, 5);
    char *path = tmp_path("rt.ppm");
    GError *err = NULL;

    g_assert_cmpint(image_save_ppm(a, path, &err), ==, 0);
    g_assert_no_error(err);

    /* The file is exactly the P6 layout other tools expect. */
    char *data;
    gsize len;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, ==, strlen("P6\n7 5\n255\n") + 7 * 5 * 3);
    g_assert_true(g_str_has_prefix(data, "P6\n7 5\n255\n"));
    g_assert_cmpmem(data + strlen("P6\n7 5\n255\n"), 7 * 5 * 3, a->rgb, 7 * 5 * 3);
    g_free(data);

    struct image *b = image_load_ppm(path, &err);
    g_assert_no_error(err);
    g_assert_nonnull(b);
    g_assert_cmpuint(b->w, ==, 7);
    g_assert_cmpuint(b->h, ==, 5);
    g_assert_cmpint(image_compare(a, b, NULL, NULL), ==, 0);
    g_assert_cmphex(image_get_pixel(b, 6, 4), ==, (6u * 37) << 16 | (4u * 53) << 8 | 2);

    image_free(a);
    image_free(b);
    g_free(path);
}

static struct image *load_bytes(const char *name, const void *bytes, size_t len, GError **err)
{
    char *path = tmp_path(name);
    struct image *img;

    g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
    img = image_load_ppm(path, err);
    g_free(path);
    return img;
}

static void test_ppm_comments(void)
{
    /* Comments before each field, one glued to a number, one after maxval. */
    static const char file[] = "P6\n# made by hand\n3#w\n  2 # h\n# m\n255#c\n"
                               "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
                               "\x0d\x0e\x0f\x10\x11\x12";
    GError *err = NULL;
    struct image *img = load_bytes("c.ppm", file, sizeof(file) - 1, &err);

    g_assert_no_error(err);
    g_assert_nonnull(img);
    g_assert_cmpuint(img->w, ==, 3);
    g_assert_cmpuint(img->h, ==, 2);
    g_assert_cmphex(image_get_pixel(img, 0, 0), ==, 0x010203);
    g_assert_cmphex(image_get_pixel(img, 2, 0), ==, 0x070809);
    g_assert_cmphex(image_get_pixel(img, 2, 1), ==, 0x101112);
    image_free(img);

    /* The single whitespace byte after maxval may itself look like data. */
    static const char tight[] = "P6 1 1 255\n\n\n\n";
    img = load_bytes("t.ppm", tight, sizeof(tight) - 1, &err);
    g_assert_no_error(err);
    g_assert_cmphex(image_get_pixel(img, 0, 0), ==, 0x0a0a0a);
    image_free(img);
}

static void test_ppm_malformed(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } bad[] = {
#define BAD(n, s) {n, s, sizeof(s) - 1}
        BAD("empty", ""),
        BAD("pgm", "P5 1 1 255\n\0"),
        BAD("plain", "P3 1 1 255\n0 0 0\n"),
        BAD("magic-glued", "P61 1 255\nabc"),
        BAD("maxval-16bit", "P6 1 1 65535\nabcdef"),
        BAD("maxval-small", "P6 1 1 15\nabc"),
        BAD("zero-width", "P6 0 1 255\n"),
        BAD("huge", "P6 100000 100000 255\nabc"),
        BAD("overflow", "P6 99999999999999999999 1 255\nabc"),
        BAD("short", "P6 2 1 255\nabc"),
        BAD("long", "P6 1 1 255\nabcd"),
        BAD("no-raster-sep", "P6 1 1 255"),
        BAD("junk-in-header", "P6 1x1 255\nabc"),
        BAD("comment-eof", "P6 1 1 255#abc"),
#undef BAD
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        struct image *img = load_bytes("bad.ppm", bad[i].bytes, bad[i].len, &err);

        if (img || !g_error_matches(err, IMAGE_ERROR, IMAGE_ERROR_FORMAT))
            g_error("%s: accepted or wrong error: %s", bad[i].name, err ? err->message : "-");
        g_error_free(err);
    }

    GError *err = NULL;
    char *missing = tmp_path("missing.ppm");
    g_assert_null(image_load_ppm(missing, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_error_free(err);
    g_free(missing);

    g_assert_null(image_new(0, 1));
    g_assert_null(image_new(IMAGE_MAX_DIM + 1, 1));
}

static void test_compare(void)
{
    struct image *a = pattern_image(10, 6);
    struct image *b = pattern_image(10, 6);
    struct image *c = pattern_image(6, 10);
    unsigned fx = 999, fy = 999;

    g_assert_cmpint(image_compare(a, b, &fx, &fy), ==, 0);
    g_assert_cmpuint(fx, ==, 999); /* untouched when equal */
    g_assert_cmpint(image_compare(a, c, &fx, &fy), ==, -1);

    /* Later in row-major order first, to check which one is reported. */
    image_set_pixel(b, 1, 4, image_get_pixel(b, 1, 4) ^ 0x000001);
    image_set_pixel(b, 8, 2, image_get_pixel(b, 8, 2) ^ 0x800000);
    g_assert_cmpint(image_compare(a, b, &fx, &fy), ==, 2);
    g_assert_cmpuint(fx, ==, 8);
    g_assert_cmpuint(fy, ==, 2);
    g_assert_cmpint(image_compare(b, a, NULL, &fy), ==, 2);

    image_fill_rect(b, 0, 0, 10, 6, 0x123456);
    g_assert_cmpint(image_compare(a, b, &fx, &fy), ==, 60);
    g_assert_cmpuint(fx, ==, 0);
    g_assert_cmpuint(fy, ==, 0);

    image_free(a);
    image_free(b);
    image_free(c);
}

static void test_count_non_bg(void)
{
    struct image *img = image_new(16, 8);

    image_fill_rect(img, 0, 0, 16, 8, 0x0000aa);
    g_assert_cmpint(image_count_non_bg(img, 0, 0, 16, 8, 0x0000aa), ==, 0);
    g_assert_cmpint(image_count_non_bg(img, 0, 0, 16, 8, 0x000000), ==, 128);

    /* A 3x2 block at (14, 7) is clipped to 2x1. */
    image_fill_rect(img, 14, 7, 3, 2, 0xffffff);
    image_set_pixel(img, 0, 0, 0xaaaaaa);
    g_assert_cmpint(image_count_non_bg(img, 0, 0, 16, 8, 0x0000aa), ==, 3);
    g_assert_cmpint(image_count_non_bg(img, 8, 4, 100, 100, 0x0000aa), ==, 2);
    g_assert_cmpint(image_count_non_bg(img, 1, 0, 15, 7, 0x0000aa), ==, 0);
    g_assert_cmpint(image_count_non_bg(img, 16, 0, 4, 4, 0x0000aa), ==, 0);
    g_assert_cmpint(image_count_non_bg(img, 0, 0, 0, 8, 0x0000aa), ==, 0);

    image_free(img);
}

/* ------------------------------------------------------ fake QMP server -- */

/*
 * The fake server runs a script of steps on one accepted connection.
 * FAKE_HANDSHAKE sends the greeting and accepts qmp_capabilities;
 * FAKE_SEND writes text verbatim (may hold several messages or half of
 * one); FAKE_RECV reads one command line, checks its "execute" is text and
 * remembers its id; FAKE_REPLY sends text with every "@ID@" replaced by that
 * id; FAKE_WRITE_PPM writes a small PPM where the last command's
 * "filename" argument says, as QEMU's screendump does; FAKE_PAUSE waits a
 * little so that what was sent before is likely read on its own (only to
 * split messages across reads; the tests pass either way); FAKE_DRAIN reads
 * until the client hangs up (a server that never answers); FAKE_HANGUP
 * closes the connection.  Problems are recorded, not asserted, and checked
 * by the test after joining the thread.
 */
enum fake_op {
    FAKE_END,
    FAKE_HANDSHAKE,
    FAKE_SEND,
    FAKE_RECV,
    FAKE_REPLY,
    FAKE_WRITE_PPM,
    FAKE_PAUSE,
    FAKE_DRAIN,
    FAKE_HANGUP,
};
#define FAKE_PAUSE_US 20000

struct fake_step {
    enum fake_op op;
    const char *text;
};

struct fake_server {
    char *path;
    int listen_fd;
    unsigned bind_delay_ms; /* bind late, to make the client retry */
    const struct fake_step *steps;
    GThread *thread;
    GString *in;
    char *last_id;
    char *last_filename; /* "filename" argument of the last command */
    GPtrArray *commands; /* every command line received, for the test to inspect */
    char *fail;
};

static void fake_fail(struct fake_server *s, const char *what)
{
    if (!s->fail)
        s->fail = g_strdup(what);
}

static int fake_bind(struct fake_server *s)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    g_assert_cmpuint(strlen(s->path), <, sizeof(sun.sun_path));
    strcpy(sun.sun_path, s->path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(s->listen_fd, 4) < 0)
        return -errno;
    return 0;
}

static gboolean fake_wait(int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    return poll(&pfd, 1, FAKE_TIMEOUT_MS) == 1;
}

static gboolean fake_send(struct fake_server *s, int fd, const char *text)
{
    size_t len = strlen(text);

    (void)s;
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
        if (n <= 0)
            return FALSE;
        text += n;
        len -= (size_t)n;
    }
    return TRUE;
}

/* Read one "\n"-terminated line into *line (caller frees); FALSE on EOF/timeout. */
static gboolean fake_read_line(struct fake_server *s, int fd, char **line)
{
    for (;;) {
        char *nl = memchr(s->in->str, '\n', s->in->len);
        if (nl) {
            size_t n = (size_t)(nl - s->in->str);
            *line = g_strndup(s->in->str, n);
            g_string_erase(s->in, 0, (gssize)n + 1);
            return TRUE;
        }
        char buf[4096];
        if (!fake_wait(fd, POLLIN))
            return FALSE;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0)
            return FALSE;
        g_string_append_len(s->in, buf, r);
    }
}

static void fake_recv(struct fake_server *s, int fd, const char *want)
{
    char *line = NULL;
    JsonNode *node = NULL;

    if (!fake_read_line(s, fd, &line)) {
        fake_fail(s, "no command received");
        return;
    }
    if (!g_str_has_suffix(line, "\r"))
        fake_fail(s, "command not terminated by \\r\\n");
    g_ptr_array_add(s->commands, g_strdup(line));
    node = json_from_string(line, NULL);
    if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
        fake_fail(s, "command is not a JSON object");
        goto out;
    }
    JsonObject *obj = json_node_get_object(node);
    const char *exe = json_object_get_string_member_with_default(obj, "execute", "");
    if (strcmp(exe, want) != 0)
        fake_fail(s, "unexpected command");
    JsonNode *id = json_object_get_member(obj, "id");
    if (!id || json_node_get_value_type(id) != G_TYPE_INT64) {
        fake_fail(s, "command without an integer id");
        goto out;
    }
    g_free(s->last_id);
    s->last_id = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(id));
    g_free(s->last_filename);
    s->last_filename = NULL;
    if (json_object_has_member(obj, "arguments")) {
        JsonObject *args = json_object_get_object_member(obj, "arguments");
        if (args)
            s->last_filename =
                g_strdup(json_object_get_string_member_with_default(args, "filename", NULL));
    }
out:
    if (node)
        json_node_unref(node);
    g_free(line);
}

static void fake_reply(struct fake_server *s, int fd, const char *text)
{
    GString *t = g_string_new(text);

    g_string_replace(t, "@ID@", s->last_id ? s->last_id : "null", 0);
    if (!fake_send(s, fd, t->str))
        fake_fail(s, "send reply");
    g_string_free(t, TRUE);
}

static gpointer fake_thread(gpointer opaque)
{
    struct fake_server *s = opaque;
    int fd = -1;

    if (s->bind_delay_ms) {
        /* Not synchronisation: makes the socket appear late, to exercise retry. */
        g_usleep(s->bind_delay_ms * 1000);
        if (fake_bind(s) < 0) {
            fake_fail(s, "bind");
            return NULL;
        }
    }
    if (!fake_wait(s->listen_fd, POLLIN)) {
        fake_fail(s, "no client connected");
        return NULL;
    }
    fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) {
        fake_fail(s, "accept");
        return NULL;
    }
    for (const struct fake_step *st = s->steps; st->op != FAKE_END && fd >= 0; st++) {
        switch (st->op) {
        case FAKE_HANDSHAKE:
            if (!fake_send(s, fd, GREETING))
                fake_fail(s, "send greeting");
            fake_recv(s, fd, "qmp_capabilities");
            fake_reply(s, fd, "{\"return\": {}, \"id\": @ID@}\r\n");
            break;
        case FAKE_SEND:
            if (!fake_send(s, fd, st->text))
                fake_fail(s, "send");
            break;
        case FAKE_RECV:
            fake_recv(s, fd, st->text);
            break;
        case FAKE_REPLY:
            fake_reply(s, fd, st->text);
            break;
        case FAKE_WRITE_PPM: {
            struct image *img = image_new(4, 2);
            image_set_pixel(img, 3, 1, 0xc0ffee);
            if (!s->last_filename || image_save_ppm(img, s->last_filename, NULL) < 0)
                fake_fail(s, "screendump file");
            image_free(img);
            break;
        }
        case FAKE_PAUSE:
            g_usleep(FAKE_PAUSE_US);
            break;
        case FAKE_DRAIN: {
            char *line;
            while (fake_read_line(s, fd, &line))
                g_free(line);
            break;
        }
        case FAKE_HANGUP:
            close(fd);
            fd = -1;
            break;
        case FAKE_END:
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static struct fake_server *fake_start(const struct fake_step *steps, unsigned bind_delay_ms)
{
    struct fake_server *s = g_new0(struct fake_server, 1);
    static unsigned n;

    s->path = g_strdup_printf("%s/qmp-%u.sock", tmpdir, n++);
    s->steps = steps;
    s->listen_fd = -1;
    s->bind_delay_ms = bind_delay_ms;
    s->in = g_string_new(NULL);
    s->commands = g_ptr_array_new_with_free_func(g_free);
    if (!bind_delay_ms)
        g_assert_cmpint(fake_bind(s), ==, 0);
    s->thread = g_thread_new("fake-qmp", fake_thread, s);
    return s;
}

/* Join the server (the client must have closed by now) and check its verdict. */
static void fake_join(struct fake_server *s)
{
    g_thread_join(s->thread);
    s->thread = NULL;
    if (s->fail)
        g_error("fake QMP server: %s", s->fail);
}

static void fake_finish(struct fake_server *s)
{
    if (s->thread)
        fake_join(s);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    unlink(s->path);
    g_free(s->path);
    g_free(s->last_id);
    g_free(s->last_filename);
    g_string_free(s->in, TRUE);
    g_ptr_array_unref(s->commands);
    g_free(s);
}

static const char *fake_command(struct fake_server *s, guint i)
{
    g_assert_cmpuint(i, <, s->commands->len);
    return g_ptr_array_index(s->commands, i);
}

#define HANDSHAKE                                                                                  \
    {                                                                                              \
        FAKE_HANDSHAKE, NULL                                                                       \
    }

static gint64 elapsed_since(gint64 t0)
{
    return g_get_monotonic_time() - t0;
}

/* ------------------------------------------------------- QMP client -- */

static void test_qmp_handshake(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "query-status"},
        {FAKE_REPLY,
         "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    g_assert_nonnull(q);
    JsonObject *ver = json_object_get_object_member(
        json_object_get_object_member(json_node_get_object(qmp_greeting(q)), "version"), "qemu");
    g_assert_cmpint(json_object_get_int_member(ver, "major"), ==, 7);
    g_assert_cmpint(json_object_get_int_member(ver, "minor"), ==, 2);

    JsonNode *ret = qmp_execute(q, "query-status", NULL, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    g_assert_nonnull(ret);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "status"), ==,
                    "running");
    g_assert_true(g_str_has_prefix(qmp_last_raw(q), "{\"return\": {\"status\""));
    g_assert_false(g_str_has_suffix(qmp_last_raw(q), "\r"));
    json_node_unref(ret);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_error_reply(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "blockdev-change-medium"},
        {FAKE_REPLY, "{\"id\": @ID@, \"error\": {\"class\": \"GenericError\", "
                     "\"desc\": \"Could not open 'x.iso'\"}}\r\n"},
        {FAKE_RECV, "query-foo"},
        {FAKE_REPLY, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
                     "query-foo has not been found\"}, \"id\": @ID@}\r\n"},
        {FAKE_RECV, "query-status"},
        {FAKE_REPLY, "{\"return\": {\"status\": \"paused\"}, \"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    g_assert_null(qmp_execute(q, "blockdev-change-medium", NULL, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND);
    g_assert_cmpstr(err->message, ==, "GenericError: Could not open 'x.iso'");
    g_clear_error(&err);

    g_assert_null(qmp_execute(q, "query-foo", NULL, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND);
    g_assert_true(g_str_has_prefix(err->message, "CommandNotFound: "));
    g_clear_error(&err);

    /* The connection is still good after error replies. */
    JsonNode *ret = qmp_execute(q, "query-status", NULL, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    json_node_unref(ret);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_events(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "stop"},
        {FAKE_SEND, EVENT_STOP},
        {FAKE_SEND, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, "
                    "\"event\": \"RESUME\"}\r\n"},
        {FAKE_REPLY, "{\"return\": {}, \"id\": @ID@}\r\n"},
        {FAKE_SEND, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}, "
                    "\"timestamp\": {\"seconds\": 2, \"microseconds\": 0}}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    JsonNode *ret = qmp_execute(q, "stop", NULL, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(ret));
    json_node_unref(ret);

    /* Queued while waiting for the reply, in order; then one read fresh. */
    static const char *const names[] = {"STOP", "RESUME", "SHUTDOWN"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        JsonNode *ev = qmp_next_event(q, OK_TIMEOUT_MS, &err);
        g_assert_no_error(err);
        g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ev), "event"), ==,
                        names[i]);
        json_node_unref(ev);
    }

    /* Nothing more: a bounded wait that ends in a timeout. */
    gint64 t0 = g_get_monotonic_time();
    g_assert_null(qmp_next_event(q, SHORT_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_assert_cmpint(elapsed_since(t0), <, BOUND_US);
    g_clear_error(&err);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_framing(void)
{
    /*
     * The greeting, the capabilities reply (whose id we know: it is the
     * client's first, 0x786c7100) and an event all arrive in one write;
     * then a reply split mid-token over two writes, with blank lines and a
     * bare "\n" terminator.
     */
    static const struct fake_step steps[] = {
        {FAKE_SEND, GREETING EVENT_STOP "{\"return\": {}, \"id\": 2020372736}\r\n"},
        {FAKE_RECV, "qmp_capabilities"},
        {FAKE_RECV, "query-vnc"},
        {FAKE_SEND, "\r\n{\"return\": {\"enabled\": tr"},
        {FAKE_PAUSE, NULL},
        {FAKE_REPLY, "ue, \"service\": \"5900\"}, \"id\": @ID@}\n\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    JsonNode *ret = qmp_execute(q, "query-vnc", NULL, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    g_assert_true(json_object_get_boolean_member(json_node_get_object(ret), "enabled"));
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "service"), ==,
                    "5900");
    json_node_unref(ret);

    JsonNode *ev = qmp_next_event(q, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ev), "event"), ==, "STOP");
    json_node_unref(ev);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_timeout(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "query-status"},
        {FAKE_DRAIN, NULL}, /* never answers */
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    gint64 t0 = g_get_monotonic_time();
    g_assert_null(qmp_execute(q, "query-status", NULL, SHORT_TIMEOUT_MS, &err));
    g_assert_cmpint(elapsed_since(t0), >=, (SHORT_TIMEOUT_MS - 1) * 1000);
    g_assert_cmpint(elapsed_since(t0), <, BOUND_US);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "query-status"));
    g_clear_error(&err);

    /* Same through qmp_screendump's errno convention. */
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qmp_screendump(q, "/nonexistent/x.ppm", SHORT_TIMEOUT_MS, &err), ==,
                    -ETIMEDOUT);
    g_assert_cmpint(elapsed_since(t0), <, BOUND_US);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_clear_error(&err);
    qmp_close(q);
    fake_finish(s);

    /* A greeting that never comes times out too. */
    static const struct fake_step mute[] = {{FAKE_DRAIN, NULL}, {FAKE_END, NULL}};
    s = fake_start(mute, 0);
    t0 = g_get_monotonic_time();
    g_assert_null(qmp_connect(s->path, SHORT_TIMEOUT_MS, &err));
    g_assert_cmpint(elapsed_since(t0), <, BOUND_US);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_clear_error(&err);
    fake_finish(s);
}

static void test_qmp_late_reply(void)
{
    /* The reply to a timed-out command arrives before the next one's. */
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "query-status"},
        {FAKE_RECV, "query-vnc"},
        {FAKE_SEND, "{\"return\": {\"status\": \"late\"}, \"id\": 2020372737}\r\n"},
        {FAKE_REPLY, "{\"return\": {\"enabled\": false}, \"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    g_assert_null(qmp_execute(q, "query-status", NULL, 50, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_clear_error(&err);
    JsonNode *ret = qmp_execute(q, "query-vnc", NULL, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(ret), "enabled"));
    json_node_unref(ret);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_protocol_errors(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "a"},
        {FAKE_SEND, "{\"return\": {}, \"id\": 12}\r\n"}, /* id never sent */
        {FAKE_RECV, "b"},
        {FAKE_SEND, "{\"return\": {\r\n"}, /* broken JSON */
        {FAKE_RECV, "c"},
        {FAKE_SEND, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}"
                    "\r\n"}, /* no id */
        {FAKE_RECV, "d"},
        {FAKE_REPLY, "{\"id\": @ID@}\r\n"}, /* neither return nor error */
        {FAKE_RECV, "e"},
        {FAKE_HANGUP, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);
    static const char *const cmds[] = {"a", "b", "c", "d"};

    g_assert_no_error(err);
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        g_assert_null(qmp_execute(q, cmds[i], NULL, OK_TIMEOUT_MS, &err));
        g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
        g_test_message("%s: %s", cmds[i], err->message);
        g_clear_error(&err);
    }
    g_assert_cmpstr(qmp_last_raw(q), ==, "{\"id\": 2020372740}");

    /* Hang-up: reported as such, and the connection stays dead. */
    g_assert_null(qmp_execute(q, "e", NULL, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_CLOSED);
    g_clear_error(&err);
    g_assert_null(qmp_execute(q, "f", NULL, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_CLOSED);
    g_clear_error(&err);
    g_assert_null(qmp_next_event(q, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_CLOSED);
    g_clear_error(&err);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_refused_caps(void)
{
    static const struct fake_step steps[] = {
        {FAKE_SEND, GREETING},
        {FAKE_RECV, "qmp_capabilities"},
        {FAKE_REPLY, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, "
                     "\"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;

    g_assert_null(qmp_connect(s->path, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND);
    g_assert_nonnull(strstr(err->message, "GenericError: no"));
    g_clear_error(&err);
    fake_finish(s);

    /* A first message that is not a greeting. */
    static const struct fake_step nogreet[] = {
        {FAKE_SEND, "{\"return\": {}}\r\n"}, {FAKE_DRAIN, NULL}, {FAKE_END, NULL}};
    s = fake_start(nogreet, 0);
    g_assert_null(qmp_connect(s->path, OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    g_clear_error(&err);
    fake_finish(s);
}

static void test_qmp_connect_retry(void)
{
    static const struct fake_step steps[] = {HANDSHAKE, {FAKE_DRAIN, NULL}, {FAKE_END, NULL}};
    GError *err = NULL;

    /* Nobody ever listens: bounded failure naming the path. */
    char *nowhere = tmp_path("nowhere.sock");
    gint64 t0 = g_get_monotonic_time();
    g_assert_null(qmp_connect(nowhere, SHORT_TIMEOUT_MS, &err));
    g_assert_cmpint(elapsed_since(t0), >=, (SHORT_TIMEOUT_MS - 1) * 1000);
    g_assert_cmpint(elapsed_since(t0), <, BOUND_US);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_assert_nonnull(strstr(err->message, nowhere));
    g_clear_error(&err);
    g_free(nowhere);

    /* The socket appears after the client started trying. */
    struct fake_server *s = fake_start(steps, 150);
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);
    g_assert_no_error(err);
    g_assert_nonnull(q);
    qmp_close(q);
    fake_finish(s);
}

static void test_qmp_screendump(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "screendump"},
        {FAKE_WRITE_PPM, NULL},
        {FAKE_REPLY, "{\"return\": {}, \"id\": @ID@}\r\n"},
        {FAKE_RECV, "screendump"},
        {FAKE_REPLY, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no display\"}, "
                     "\"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    char *path = tmp_path("shot.ppm");
    struct image *want = image_new(4, 2);
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    g_assert_cmpint(qmp_screendump(q, path, OK_TIMEOUT_MS, &err), ==, 0);
    g_assert_no_error(err);

    /* The reply came after the file was complete: load and compare it. */
    struct image *got = image_load_ppm(path, &err);
    g_assert_no_error(err);
    image_set_pixel(want, 3, 1, 0xc0ffee);
    g_assert_cmpint(image_compare(want, got, NULL, NULL), ==, 0);

    g_assert_cmpint(qmp_screendump(q, path, OK_TIMEOUT_MS, &err), ==, -EREMOTEIO);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND);
    g_assert_nonnull(strstr(err->message, "GenericError: no display"));
    g_clear_error(&err);
    qmp_close(q);
    fake_finish(s);
    image_free(want);
    image_free(got);
    g_free(path);
}

/*
 * What the client put on the wire: libxl's shape (execute, id, arguments;
 * compact; "\r\n"), ids counted from libxl's 0x786c7100, strings escaped.
 */
static void test_qmp_wire(void)
{
    static const struct fake_step steps[] = {
        HANDSHAKE,
        {FAKE_RECV, "screendump"},
        {FAKE_REPLY, "{\"return\": {}, \"id\": @ID@}\r\n"},
        {FAKE_RECV, "change-vnc-password"},
        {FAKE_REPLY, "{\"return\": {}, \"id\": @ID@}\r\n"},
        {FAKE_DRAIN, NULL},
        {FAKE_END, NULL},
    };
    struct fake_server *s = fake_start(steps, 0);
    GError *err = NULL;
    struct qmp *q = qmp_connect(s->path, OK_TIMEOUT_MS, &err);

    g_assert_no_error(err);
    g_assert_cmpint(qmp_screendump(q, "/tmp/a b.ppm", OK_TIMEOUT_MS, &err), ==, 0);
    g_assert_no_error(err);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "password");
    json_builder_add_string_value(b, "p\"w\\");
    json_builder_end_object(b);
    JsonNode *ret =
        qmp_execute(q, "change-vnc-password", json_builder_get_root(b), OK_TIMEOUT_MS, &err);
    g_object_unref(b);
    g_assert_no_error(err);
    json_node_unref(ret);

    /* A non-object argument is refused without sending anything (and freed). */
    g_assert_null(qmp_execute(q, "x", json_from_string("[1]", NULL), OK_TIMEOUT_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    g_clear_error(&err);
    qmp_close(q);
    fake_join(s);

    g_assert_cmpuint(s->commands->len, ==, 3);
    g_assert_cmpstr(fake_command(s, 0), ==,
                    "{\"execute\":\"qmp_capabilities\",\"id\":2020372736}\r");
    g_assert_cmpstr(fake_command(s, 1), ==,
                    "{\"execute\":\"screendump\",\"id\":2020372737,"
                    "\"arguments\":{\"filename\":\"/tmp/a b.ppm\"}}\r");
    g_assert_cmpstr(fake_command(s, 2), ==,
                    "{\"execute\":\"change-vnc-password\",\"id\":2020372738,"
                    "\"arguments\":{\"password\":\"p\\\"w\\\\\"}}\r");
    fake_finish(s);
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-image-qmp-XXXXXX", &err);
    g_assert_no_error(err);

    g_test_add_func("/image/ppm-roundtrip", test_ppm_roundtrip);
    g_test_add_func("/image/ppm-comments", test_ppm_comments);
    g_test_add_func("/image/ppm-malformed", test_ppm_malformed);
    g_test_add_func("/image/compare", test_compare);
    g_test_add_func("/image/count-non-bg", test_count_non_bg);
    g_test_add_func("/qmp/handshake", test_qmp_handshake);
    g_test_add_func("/qmp/wire", test_qmp_wire);
    g_test_add_func("/qmp/error-reply", test_qmp_error_reply);
    g_test_add_func("/qmp/events", test_qmp_events);
    g_test_add_func("/qmp/framing", test_qmp_framing);
    g_test_add_func("/qmp/timeout", test_qmp_timeout);
    g_test_add_func("/qmp/late-reply", test_qmp_late_reply);
    g_test_add_func("/qmp/protocol-errors", test_qmp_protocol_errors);
    g_test_add_func("/qmp/refused-capabilities", test_qmp_refused_caps);
    g_test_add_func("/qmp/connect-retry", test_qmp_connect_retry);
    g_test_add_func("/qmp/screendump", test_qmp_screendump);
    ret = g_test_run();

    /* Everything the tests created lives in tmpdir; remove it. */
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *p = tmp_path(name);
        unlink(p);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
