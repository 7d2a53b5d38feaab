/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-xenstore: xensim's xenstored (tests/xensim/sim/xenstored.c) seen by
 * the real Debian libxenstore.so.4, which finds it through XENSTORED_PATH
 * exactly as a device model does, plus raw-socket clients that send what
 * libxenstore never would (bad types, missing NULs, oversized headers,
 * half messages).  Each test runs its own server in a fresh temp dir.
 *
 * Every wait is bounded by TIMEOUT_MS: watch events are awaited by polling
 * xs_fileno(), raw replies by polling the socket.
 */
#include "tests/xensim/sim/xenstored.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define TIMEOUT_MS 5000

/* One temp dir and socket path for the run, so that XENSTORED_PATH is set
 * once, before any thread exists; each test starts its own server there. */
static char *sock_path;

struct fx {
    const char *sock;
    struct xsd *d;
    struct xs_handle *h;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
    (void)data;
    f->sock = sock_path;
    f->d = xsd_start(f->sock);
    g_assert_nonnull(f->d);
    f->h = xs_open(0);
    g_assert_nonnull(f->h);
    xs_fileno(f->h); /* create the watch pipe before any event arrives */
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
    (void)data;
    xs_close(f->h);
    xsd_stop(f->d);
    g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS)); /* xsd_stop removed it */
}

static gint64 deadline_ms(void)
{
    return g_get_monotonic_time() / 1000 + TIMEOUT_MS;
}

static int left_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time() / 1000;

    return left > 0 ? (int)left : 0;
}

/* ---- helpers: real libxenstore -------------------------------------------- */

static char *rd(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    unsigned len = 0;
    char *v = xs_read(h, t, path, &len);

    if (v)
        g_assert_cmpuint(strlen(v), ==, len);
    return v;
}

static void assert_value(struct xs_handle *h, xs_transaction_t t, const char *path,
                         const char *want)
{
    char *v = rd(h, t, path);

    g_assert_nonnull(v);
    g_assert_cmpstr(v, ==, want);
    free(v);
}

static void assert_missing(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    char *v = rd(h, t, path);

    g_assert_null(v);
    g_assert_cmpint(errno, ==, ENOENT);
}

static void wr(struct xs_handle *h, xs_transaction_t t, const char *path, const char *val)
{
    g_assert_true(xs_write(h, t, path, val, strlen(val)));
}

/* The next watch event, within TIMEOUT_MS. */
static char **next_event(struct xs_handle *h)
{
    gint64 deadline = deadline_ms();

    for (;;) {
        struct pollfd p = {.fd = xs_fileno(h), .events = POLLIN};
        char **ev = xs_check_watch(h);

        if (ev)
            return ev;
        g_assert_cmpint(errno, ==, EAGAIN);
        if (!left_ms(deadline))
            g_error("no watch event within %d ms", TIMEOUT_MS);
        poll(&p, 1, left_ms(deadline));
    }
}

static void expect_event(struct xs_handle *h, const char *path, const char *token)
{
    char **ev = next_event(h);

    g_assert_cmpstr(ev[XS_WATCH_PATH], ==, path);
    g_assert_cmpstr(ev[XS_WATCH_TOKEN], ==, token);
    free(ev);
}

/* ---- helpers: raw protocol ------------------------------------------------ */

static int raw_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    return fd;
}

static void raw_write(int fd, const void *p, size_t len)
{
    g_assert_cmpint(send(fd, p, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

/* Header claiming `hdr_len` payload bytes, followed by `len` bytes. */
static void raw_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id, uint32_t hdr_len,
                     const void *p, size_t len)
{
    struct xsd_sockmsg m = {type, req_id, tx_id, hdr_len};
    GByteArray *b = g_byte_array_new();

    g_byte_array_append(b, (const guint8 *)&m, sizeof(m));
    g_byte_array_append(b, p, len);
    raw_write(fd, b->data, b->len);
    g_byte_array_free(b, TRUE);
}

static void raw_req(int fd, uint32_t type, uint32_t req_id, const void *p, size_t len)
{
    raw_send(fd, type, req_id, 0, len, p, len);
}

/* Read exactly len bytes; 0 on success, else -errno (-EPIPE for EOF). */
static int raw_read(int fd, void *buf, size_t len, gint64 deadline)
{
    for (size_t got = 0; got < len;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, left_ms(deadline)) <= 0)
            return -ETIMEDOUT;
        n = recv(fd, (char *)buf + got, len - got, 0);
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        got += n;
    }
    return 0;
}

/* The next message: header in *m, payload (NUL-terminated) returned. */
static char *raw_recv(int fd, struct xsd_sockmsg *m)
{
    gint64 deadline = deadline_ms();
    char *body;

    g_assert_cmpint(raw_read(fd, m, sizeof(*m), deadline), ==, 0);
    g_assert_cmpuint(m->len, <=, XENSTORE_PAYLOAD_MAX);
    body = g_malloc0(m->len + 1);
    g_assert_cmpint(raw_read(fd, body, m->len, deadline), ==, 0);
    return body;
}

static void raw_expect(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
                       size_t len)
{
    struct xsd_sockmsg m;
    char *body = raw_recv(fd, &m);

    g_assert_cmpuint(m.type, ==, type);
    g_assert_cmpuint(m.req_id, ==, req_id);
    g_assert_cmpuint(m.tx_id, ==, tx_id);
    g_assert_cmpmem(body, m.len, payload, len);
    g_free(body);
}

static void raw_expect_error(int fd, uint32_t req_id, const char *err)
{
    raw_expect(fd, XS_ERROR, req_id, 0, err, strlen(err) + 1);
}

/* The server saw the end of the connection: EOF, or ECONNRESET because it
 * closed with our unread bytes still queued. */
static void raw_expect_closed(int fd)
{
    char c;
    int rc = raw_read(fd, &c, 1, deadline_ms());

    g_assert_true(rc == -EPIPE || rc == -ECONNRESET);
}

static struct xsd_stats stats(struct fx *f)
{
    struct xsd_stats st;

    xsd_get_stats(f->d, &st);
    return st;
}

/* A client that was not involved still works. */
static void assert_fresh_client_works(struct fx *f)
{
    struct xs_handle *h = xs_open(0);
    char *v;

    g_assert_nonnull(h);
    wr(h, 0, "/fresh", "yes");
    assert_value(h, 0, "/fresh", "yes");
    xs_close(h);
    v = xsd_read(f->d, "/fresh", NULL);
    g_assert_cmpstr(v, ==, "yes");
    free(v);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_read_write(struct fx *f, gconstpointer data)
{
    unsigned num, len;
    char **dir, *v;

    (void)data;
    wr(f->h, 0, "/t/a", "hello");
    assert_value(f->h, 0, "/t/a", "hello");
    assert_value(f->h, 0, "/t", ""); /* parents created empty */
    wr(f->h, 0, "/t/empty", "");
    assert_value(f->h, 0, "/t/empty", "");
    g_assert_true(xs_write(f->h, 0, "/t/bin", "a\0b", 3));
    v = xs_read(f->h, 0, "/t/bin", &len);
    g_assert_nonnull(v);
    g_assert_cmpmem(v, len, "a\0b", 3);
    free(v);
    v = xsd_read(f->d, "/t/a", &len);
    g_assert_cmpstr(v, ==, "hello");
    g_assert_cmpuint(len, ==, 5);
    free(v);

    assert_missing(f->h, 0, "/t/nope");
    assert_missing(f->h, 0, "domid"); /* nobody wrote it: qemu copes */

    g_assert_true(xs_mkdir(f->h, 0, "/t/dir"));
    g_assert_true(xs_mkdir(f->h, 0, "/t/dir")); /* exists: fine */
    dir = xs_directory(f->h, 0, "/t/dir", &num);
    g_assert_nonnull(dir);
    g_assert_cmpuint(num, ==, 0);
    free(dir);
    dir = xs_directory(f->h, 0, "/t", &num);
    g_assert_nonnull(dir);
    g_assert_cmpuint(num, ==, 4); /* creation order, like xenstored */
    g_assert_cmpstr(dir[0], ==, "a");
    g_assert_cmpstr(dir[1], ==, "empty");
    g_assert_cmpstr(dir[2], ==, "bin");
    g_assert_cmpstr(dir[3], ==, "dir");
    free(dir);
    g_assert_null(xs_directory(f->h, 0, "/t/nope", &num));
    g_assert_cmpint(errno, ==, ENOENT);

    g_assert_true(xs_rm(f->h, 0, "/t/a"));
    assert_missing(f->h, 0, "/t/a");
    /* xenstore.txt: a missing node is fine, a missing parent is ENOENT. */
    g_assert_true(xs_rm(f->h, 0, "/t/a"));
    g_assert_false(xs_rm(f->h, 0, "/nope/x"));
    g_assert_cmpint(errno, ==, ENOENT);
    wr(f->h, 0, "/t/x/y/z", "deep");
    g_assert_true(xs_rm(f->h, 0, "/t"));
    assert_missing(f->h, 0, "/t/x/y/z");
    assert_missing(f->h, 0, "/t");

    /* Relative paths are under /local/domain/0 (every client is dom0). */
    wr(f->h, 0, "device-model/1/state", "running");
    v = xsd_read(f->d, "/local/domain/0/device-model/1/state", NULL);
    g_assert_cmpstr(v, ==, "running");
    free(v);
    assert_value(f->h, 0, "device-model/1/state", "running");

    v = xs_get_domain_path(f->h, 7);
    g_assert_cmpstr(v, ==, "/local/domain/7");
    free(v);
}

static void test_perms(struct fx *f, gconstpointer data)
{
    struct xs_permissions set[2] = {{.id = 0, .perms = XS_PERM_NONE},
                                    {.id = 5, .perms = XS_PERM_READ}};
    struct xs_permissions both = {.id = 1, .perms = XS_PERM_READ | XS_PERM_WRITE};
    struct xs_permissions *p;
    unsigned num;

    (void)data;
    wr(f->h, 0, "/p", "x");
    p = xs_get_permissions(f->h, 0, "/p", &num);
    g_assert_nonnull(p);
    g_assert_cmpuint(num, ==, 1);
    g_assert_cmpuint(p[0].id, ==, 0);
    g_assert_cmpuint(p[0].perms, ==, XS_PERM_NONE);
    free(p);

    g_assert_true(xs_set_permissions(f->h, 0, "/p", set, 2));
    wr(f->h, 0, "/p/child/grandchild", "y"); /* both inherit /p's perms */
    for (int i = 0; i < 3; i++) {
        static const char *paths[] = {"/p", "/p/child", "/p/child/grandchild"};

        p = xs_get_permissions(f->h, 0, paths[i], &num);
        g_assert_nonnull(p);
        g_assert_cmpuint(num, ==, 2);
        g_assert_cmpuint(p[0].id, ==, 0);
        g_assert_cmpuint(p[0].perms, ==, XS_PERM_NONE);
        g_assert_cmpuint(p[1].id, ==, 5);
        g_assert_cmpuint(p[1].perms, ==, XS_PERM_READ);
        free(p);
    }

    g_assert_true(xs_set_permissions(f->h, 0, "/p", &both, 1));
    p = xs_get_permissions(f->h, 0, "/p", &num);
    g_assert_nonnull(p);
    g_assert_cmpuint(num, ==, 1);
    g_assert_cmpuint(p[0].id, ==, 1);
    g_assert_cmpuint(p[0].perms, ==, XS_PERM_READ | XS_PERM_WRITE);
    free(p);

    g_assert_false(xs_set_permissions(f->h, 0, "/nope", &both, 1));
    g_assert_cmpint(errno, ==, ENOENT);
    g_assert_null(xs_get_permissions(f->h, 0, "/nope", &num));
    g_assert_cmpint(errno, ==, ENOENT);
}

static void test_watch(struct fx *f, gconstpointer data)
{
    struct xs_handle *h2;
    bool deep_seen = false, tok_seen = false;

    (void)data;
    g_assert_true(xs_watch(f->h, "/w", "tok"));
    expect_event(f->h, "/w", "tok"); /* once at registration */
    g_assert_false(xs_watch(f->h, "/w", "tok"));
    g_assert_cmpint(errno, ==, EEXIST);

    wr(f->h, 0, "/w/a", "1");
    expect_event(f->h, "/w/a", "tok");
    wr(f->h, 0, "/wa", "1"); /* not below /w */
    wr(f->h, 0, "/w/b", "1");
    expect_event(f->h, "/w/b", "tok"); /* so /wa fired nothing */
    g_assert_true(xs_mkdir(f->h, 0, "/w/c"));
    expect_event(f->h, "/w/c", "tok");
    g_assert_true(xs_mkdir(f->h, 0, "/w/c")); /* no change, no event */
    wr(f->h, 0, "/w", "self");
    expect_event(f->h, "/w", "tok");

    /* Another client sees this one's writes. */
    h2 = xs_open(0);
    g_assert_nonnull(h2);
    xs_fileno(h2);
    g_assert_true(xs_watch(h2, "/w/b", "h2"));
    expect_event(h2, "/w/b", "h2");
    wr(f->h, 0, "/w/b/c", "2");
    expect_event(h2, "/w/b/c", "h2");
    expect_event(f->h, "/w/b/c", "tok");
    xs_close(h2);

    /* Removing /w fires watches above with /w, those below with their own. */
    g_assert_true(xs_watch(f->h, "/w/x/y", "deep"));
    expect_event(f->h, "/w/x/y", "deep");
    g_assert_true(xs_rm(f->h, 0, "/w"));
    for (int i = 0; i < 2; i++) {
        char **ev = next_event(f->h);

        if (!strcmp(ev[XS_WATCH_TOKEN], "deep")) {
            g_assert_cmpstr(ev[XS_WATCH_PATH], ==, "/w/x/y");
            deep_seen = true;
        } else {
            g_assert_cmpstr(ev[XS_WATCH_TOKEN], ==, "tok");
            g_assert_cmpstr(ev[XS_WATCH_PATH], ==, "/w");
            tok_seen = true;
        }
        free(ev);
    }
    g_assert_true(deep_seen && tok_seen);

    g_assert_true(xs_unwatch(f->h, "/w/x/y", "deep"));
    g_assert_false(xs_unwatch(f->h, "/w/x/y", "deep"));
    g_assert_cmpint(errno, ==, ENOENT);
    wr(f->h, 0, "/w/x/y/z", "3");
    expect_event(f->h, "/w/x/y/z", "tok");
    wr(f->h, 0, "/w/end", "4");
    expect_event(f->h, "/w/end", "tok"); /* so "deep" stayed quiet */
    g_assert_cmpuint(stats(f).watch_events, >=, 12);
}

static void test_watch_relative(struct fx *f, gconstpointer data)
{
    (void)data;
    g_assert_true(xs_watch(f->h, "device-model/1", "dm"));
    expect_event(f->h, "device-model/1", "dm");
    wr(f->h, 0, "device-model/1/state", "running");
    expect_event(f->h, "device-model/1/state", "dm");
    g_assert_cmpint(xsd_write(f->d, "/local/domain/0/device-model/1/x", "1", 1), ==, 0);
    expect_event(f->h, "device-model/1/x", "dm");

    /* An absolute watch on the same node reports absolute paths. */
    g_assert_true(xs_watch(f->h, "/local/domain/0/device-model/1", "abs"));
    expect_event(f->h, "/local/domain/0/device-model/1", "abs");
    g_assert_false(xs_watch(f->h, "/local/domain/0/device-model/1", "dm")); /* same watch */
    g_assert_cmpint(errno, ==, EEXIST);
    g_assert_true(xs_unwatch(f->h, "/local/domain/0/device-model/1", "abs"));
    wr(f->h, 0, "/local/domain/0/device-model/1/y", "2");
    expect_event(f->h, "device-model/1/y", "dm");
    g_assert_true(xs_rm(f->h, 0, "device-model"));
    expect_event(f->h, "device-model/1", "dm"); /* removal of a parent */
}

static void test_watch_special(struct fx *f, gconstpointer data)
{
    (void)data;
    g_assert_true(xs_watch(f->h, "@releaseDomain", "rel"));
    expect_event(f->h, "@releaseDomain", "rel");
    g_assert_true(xs_watch(f->h, "@introduceDomain", "intro"));
    expect_event(f->h, "@introduceDomain", "intro");
    g_assert_true(xs_watch(f->h, "/s", "s"));
    expect_event(f->h, "/s", "s");
    wr(f->h, 0, "/s", "1"); /* node writes never match special watches */
    expect_event(f->h, "/s", "s");
    g_assert_true(xs_unwatch(f->h, "@releaseDomain", "rel"));
}

static void test_transaction(struct fx *f, gconstpointer data)
{
    struct xs_handle *h2 = xs_open(0);
    xs_transaction_t t, t1, t2;
    unsigned num;
    char **dir;

    (void)data;
    g_assert_nonnull(h2);
    g_assert_true(xs_watch(f->h, "/tx", "w"));
    expect_event(f->h, "/tx", "w");

    /* A commit publishes the copy and fires the watches then. */
    t = xs_transaction_start(f->h);
    g_assert_cmpuint(t, !=, XBT_NULL);
    wr(f->h, t, "/tx/a", "1");
    assert_value(f->h, t, "/tx/a", "1");
    assert_missing(f->h, 0, "/tx/a");
    assert_missing(h2, 0, "/tx/a");
    g_assert_true(xs_transaction_end(f->h, t, false));
    expect_event(f->h, "/tx/a", "w");
    assert_value(h2, 0, "/tx/a", "1");

    /* Somebody else changed the store meanwhile: EAGAIN, nothing applied. */
    t1 = xs_transaction_start(f->h);
    g_assert_cmpuint(t1, !=, XBT_NULL);
    wr(f->h, t1, "/tx/b", "t1");
    wr(h2, 0, "/tx/c", "outside");
    expect_event(f->h, "/tx/c", "w");
    g_assert_false(xs_transaction_end(f->h, t1, false));
    g_assert_cmpint(errno, ==, EAGAIN);
    assert_missing(f->h, 0, "/tx/b");

    /* An abort leaves no trace and fires nothing. */
    t2 = xs_transaction_start(f->h);
    wr(f->h, t2, "/tx/d", "t2");
    g_assert_true(xs_rm(f->h, t2, "/tx/a"));
    g_assert_true(xs_mkdir(f->h, t2, "/tx/e"));
    dir = xs_directory(f->h, t2, "/tx", &num);
    g_assert_nonnull(dir);
    g_assert_cmpuint(num, ==, 3); /* c, d, e */
    free(dir);
    assert_missing(f->h, t2, "/tx/a");
    g_assert_true(xs_transaction_end(f->h, t2, true));
    assert_value(f->h, 0, "/tx/a", "1");
    assert_missing(f->h, 0, "/tx/d");
    assert_missing(f->h, 0, "/tx/e");
    wr(f->h, 0, "/tx/end", "1");
    expect_event(f->h, "/tx/end", "w");

    /* The id is gone once ended; ids belong to their connection. */
    assert_missing(f->h, t2, "/tx/a");
    g_assert_false(xs_transaction_end(f->h, t2, false));
    g_assert_cmpint(errno, ==, ENOENT);
    t = xs_transaction_start(h2);
    g_assert_cmpuint(t, !=, XBT_NULL);
    assert_missing(f->h, t, "/tx/a");
    g_assert_true(xs_transaction_end(h2, t, true));
    xs_close(h2);
}

/* A listing larger than a payload: libxenstore gets E2BIG for DIRECTORY and
 * falls back to DIRECTORY_PART. */
static void test_directory_large(struct fx *f, gconstpointer data)
{
    enum { N = 300 };
    unsigned num;
    char **dir;

    (void)data;
    for (int i = 0; i < N; i++) {
        char path[64];

        snprintf(path, sizeof(path), "/big/child-%04d-abcdefghijklmnopqrstuvwxyz", i);
        wr(f->h, 0, path, "");
    }
    dir = xs_directory(f->h, 0, "/big", &num);
    g_assert_nonnull(dir);
    g_assert_cmpuint(num, ==, N);
    for (int i = 0; i < N; i++) {
        char name[64];

        snprintf(name, sizeof(name), "child-%04d-abcdefghijklmnopqrstuvwxyz", i);
        g_assert_cmpstr(dir[i], ==, name);
    }
    free(dir);
}

enum { CONC_THREADS = 8, CONC_ITERS = 100 };

static gpointer conc_worker(gpointer arg)
{
    struct xs_handle *h = xs_open(0);
    int id = GPOINTER_TO_INT(arg);

    g_assert_nonnull(h);
    for (int i = 0; i < CONC_ITERS; i++) {
        char path[64], val[32];

        snprintf(path, sizeof(path), "/conc/%d/%d", id, i);
        snprintf(val, sizeof(val), "%d-%d", id, i);
        wr(h, 0, path, val);
        assert_value(h, 0, path, val);
    }
    xs_close(h);
    return NULL;
}

static void test_concurrent(struct fx *f, gconstpointer data)
{
    GThread *th[CONC_THREADS];
    unsigned num;
    char **dir;

    (void)data;
    g_assert_true(xs_watch(f->h, "/conc", "c"));
    expect_event(f->h, "/conc", "c");
    for (int i = 0; i < CONC_THREADS; i++)
        th[i] = g_thread_new("conc", conc_worker, GINT_TO_POINTER(i));
    for (int i = 0; i < CONC_THREADS; i++)
        g_thread_join(th[i]);
    for (int i = 0; i < CONC_THREADS; i++) {
        char path[32];

        snprintf(path, sizeof(path), "/conc/%d", i);
        dir = xs_directory(f->h, 0, path, &num);
        g_assert_nonnull(dir);
        g_assert_cmpuint(num, ==, CONC_ITERS);
        free(dir);
    }
    for (int i = 0; i < CONC_THREADS * CONC_ITERS; i++) {
        char **ev = next_event(f->h);

        g_assert_true(g_str_has_prefix(ev[XS_WATCH_PATH], "/conc/"));
        free(ev);
    }
}

/* Hook calls as "path=value", and whether each came from the server
 * thread.  pthread rather than GAsyncQueue: ThreadSanitizer sees it. */
struct hook_log {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    GQueue calls;
    pthread_t test_thread;
};

static void record_hook(void *opaque, const char *abs_path, const char *value, unsigned len)
{
    struct hook_log *log = opaque;
    bool server = !pthread_equal(pthread_self(), log->test_thread);

    g_assert_cmpuint(strlen(value), ==, len);
    pthread_mutex_lock(&log->lock);
    g_queue_push_tail(&log->calls,
                      g_strdup_printf("%s=%s%s", abs_path, value, server ? " (server)" : ""));
    pthread_cond_signal(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

static void expect_hook(struct hook_log *log, const char *want)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)TIMEOUT_MS * 1000;
    struct timespec ts = {.tv_sec = deadline / G_USEC_PER_SEC,
                          .tv_nsec = (deadline % G_USEC_PER_SEC) * 1000};
    char *got;

    pthread_mutex_lock(&log->lock);
    while (g_queue_is_empty(&log->calls) &&
           pthread_cond_timedwait(&log->cond, &log->lock, &ts) != ETIMEDOUT)
        ;
    got = g_queue_pop_head(&log->calls);
    pthread_mutex_unlock(&log->lock);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
}

static void test_write_hook(struct fx *f, gconstpointer data)
{
    struct hook_log log = {.test_thread = pthread_self()};
    pthread_condattr_t ca;
    xs_transaction_t t;

    (void)data;
    pthread_mutex_init(&log.lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* g_get_monotonic_time's clock */
    pthread_cond_init(&log.cond, &ca);
    pthread_condattr_destroy(&ca);
    g_queue_init(&log.calls);
    xsd_set_write_hook(f->d, record_hook, &log);
    wr(f->h, 0, "hooked", "v1");
    expect_hook(&log, "/local/domain/0/hooked=v1 (server)");

    g_assert_true(xs_mkdir(f->h, 0, "/m")); /* not a write */
    g_assert_false(xs_write(f->h, 0, "/bad path", "x", 1));
    wr(f->h, 0, "/h2", "x");
    expect_hook(&log, "/h2=x (server)");

    g_assert_cmpint(xsd_write(f->d, "/h3", "y", 1), ==, 0);
    expect_hook(&log, "/h3=y"); /* on the caller's thread, which the contract allows */

    /* A transaction's write is reported once, at the commit; an aborted
     * one never: a stray report would be popped instead of the next. */
    t = xs_transaction_start(f->h);
    wr(f->h, t, "/h4", "z");
    g_assert_true(xs_transaction_end(f->h, t, false));
    expect_hook(&log, "/h4=z (server)");
    t = xs_transaction_start(f->h);
    wr(f->h, t, "/h5", "aborted");
    g_assert_true(xs_transaction_end(f->h, t, true));
    wr(f->h, 0, "/h6", "last");
    expect_hook(&log, "/h6=last (server)");

    xsd_set_write_hook(f->d, NULL, NULL);
    g_assert_true(g_queue_is_empty(&log.calls));
    pthread_cond_destroy(&log.cond);
    pthread_mutex_destroy(&log.lock);
}

static void test_direct_api(struct fx *f, gconstpointer data)
{
    unsigned len;
    char *v;

    (void)data;
    g_assert_true(xs_watch(f->h, "/api", "a"));
    expect_event(f->h, "/api", "a");
    g_assert_cmpint(xsd_write(f->d, "/api/k", "v", 1), ==, 0);
    expect_event(f->h, "/api/k", "a");
    assert_value(f->h, 0, "/api/k", "v");
    g_assert_cmpint(xsd_mkdir(f->d, "/api/dir"), ==, 0);
    expect_event(f->h, "/api/dir", "a");
    g_assert_cmpint(xsd_rm(f->d, "/api/k"), ==, 0);
    expect_event(f->h, "/api/k", "a");
    g_assert_cmpint(xsd_rm(f->d, "/nope/k"), ==, -ENOENT);

    g_assert_null(xsd_read(f->d, "/api/k", &len));
    g_assert_cmpint(errno, ==, ENOENT);
    g_assert_null(xsd_read(f->d, "relative", &len));
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpint(xsd_write(f->d, "/bad path", "", 0), ==, -EINVAL);
    g_assert_cmpint(xsd_write(f->d, "relative", "", 0), ==, -EINVAL);
    v = xsd_read(f->d, "/local/domain/0", &len);
    g_assert_cmpstr(v, ==, "");
    free(v);
}

/* Bad paths reach the server through libxenstore unchanged. */
static void test_bad_paths(struct fx *f, gconstpointer data)
{
    static const char *bad[] = {"", "/a b", "//a", "/a//b", "/a/", "/a\x01", "/ä", "a/"};
    struct xsd_stats before = stats(f), after;
    char *longp = g_strnfill(XENSTORE_ABS_PATH_MAX + 1, 'x');

    (void)data;
    longp[0] = '/';
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(xs_read(f->h, 0, bad[i], NULL));
        g_assert_cmpint(errno, ==, EINVAL);
        g_assert_false(xs_write(f->h, 0, bad[i], "v", 1));
        g_assert_cmpint(errno, ==, EINVAL);
    }
    g_assert_null(xs_read(f->h, 0, longp, NULL));
    g_assert_cmpint(errno, ==, EINVAL);
    longp[XENSTORE_ABS_PATH_MAX] = '\0'; /* exactly the limit is fine */
    g_assert_true(xs_write(f->h, 0, longp, "v", 1));
    g_free(longp);
    g_assert_false(xs_watch(f->h, "/a b", "t"));
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_false(xs_rm(f->h, 0, "/"));
    g_assert_cmpint(errno, ==, EINVAL);

    after = stats(f);
    g_assert_cmpuint(after.malformed - before.malformed, ==, 2 * G_N_ELEMENTS(bad) + 2);
    wr(f->h, 0, "/still", "works");
    assert_value(f->h, 0, "/still", "works");
}

static void test_raw_garbage(struct fx *f, gconstpointer data)
{
    struct xsd_stats before = stats(f), after;
    int fd = raw_connect(f->sock);

    (void)data;
    raw_req(fd, 9999, 11, "", 0);
    raw_expect_error(fd, 11, "EINVAL");
    raw_req(fd, XS_WATCH_EVENT, 12, "/a\0t\0", 5); /* a server-to-client type */
    raw_expect_error(fd, 12, "EINVAL");
    raw_req(fd, XS_ERROR, 13, "EINVAL", 7);
    raw_expect_error(fd, 13, "EINVAL");
    /* Errors echo req_id and tx_id. */
    raw_send(fd, XS_READ, 14, 77, 7, "/local", 7);
    raw_expect(fd, XS_ERROR, 14, 77, "ENOENT", 7);
    /* The same connection still works. */
    raw_req(fd, XS_READ, 15, "/local", 7);
    raw_expect(fd, XS_READ, 15, 0, "", 0);

    after = stats(f);
    g_assert_cmpuint(after.malformed - before.malformed, ==, 3);
    g_assert_cmpuint(after.errors - before.errors, ==, 4);
    g_assert_cmpuint(after.requests - before.requests, ==, 5);
    close(fd);
    assert_fresh_client_works(f);
}

static void test_raw_missing_nul(struct fx *f, gconstpointer data)
{
    static const struct {
        uint32_t type;
        const char *p;
        size_t len;
    } bad[] = {
        {XS_READ, "/local", 6},              /* no NUL */
        {XS_READ, "", 0},                    /* no path at all */
        {XS_READ, "/a\0/b", 6},              /* two strings, last unterminated */
        {XS_READ, "/a\0/b\0", 6},            /* two strings */
        {XS_WRITE, "/abc", 4},               /* no NUL between path and value */
        {XS_WATCH, "/a\0tok", 6},            /* token unterminated */
        {XS_WATCH, "/a\0", 3},               /* no token */
        {XS_SET_PERMS, "/local\0", 7},       /* no permissions */
        {XS_SET_PERMS, "/local\0x0\0", 10},  /* bad type */
        {XS_SET_PERMS, "/local\0r\0", 9},    /* no domid */
        {XS_SET_PERMS, "/local\0r1a\0", 11}, /* trailing junk */
        {XS_SET_PERMS, "/local\0b70000\0", 14},
        {XS_GET_DOMAIN_PATH, "x\0", 2},
        {XS_DIRECTORY_PART, "/local\0", 7},
        {XS_MKDIR, "\0", 1},
    };
    struct xsd_stats before = stats(f), after;
    int fd = raw_connect(f->sock);
    xs_transaction_t t;
    unsigned num;
    char buf[32], **dir;

    (void)data;
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        raw_req(fd, bad[i].type, 100 + i, bad[i].p, bad[i].len);
        raw_expect_error(fd, 100 + i, "EINVAL");
    }
    after = stats(f);
    g_assert_cmpuint(after.malformed - before.malformed, ==, G_N_ELEMENTS(bad));

    /* Write with an empty value and SET_PERMS done right still work here. */
    raw_req(fd, XS_WRITE, 200, "/raw\0", 5);
    raw_expect(fd, XS_WRITE, 200, 0, "OK", 3);
    raw_req(fd, XS_SET_PERMS, 201, "/raw\0b3\0n0\0", 11);
    raw_expect(fd, XS_SET_PERMS, 201, 0, "OK", 3);
    raw_req(fd, XS_GET_PERMS, 202, "/raw\0", 5);
    raw_expect(fd, XS_GET_PERMS, 202, 0, "b3\0n0", 6);

    /* A transaction end that is neither T nor F. */
    raw_req(fd, XS_TRANSACTION_START, 203, "", 1);
    {
        struct xsd_sockmsg m;
        char *id = raw_recv(fd, &m);

        g_assert_cmpuint(m.type, ==, XS_TRANSACTION_START);
        t = strtoul(id, NULL, 10);
        g_assert_cmpuint(t, !=, 0);
        g_free(id);
    }
    raw_send(fd, XS_TRANSACTION_END, 204, t, 2, "X", 2);
    raw_expect(fd, XS_ERROR, 204, t, "EINVAL", 7);
    raw_send(fd, XS_TRANSACTION_END, 205, t, 2, "F", 2);
    raw_expect(fd, XS_TRANSACTION_END, 205, t, "OK", 3);
    raw_req(fd, XS_GET_DOMAIN_PATH, 206, "3", 2);
    snprintf(buf, sizeof(buf), "/local/domain/3");
    raw_expect(fd, XS_GET_DOMAIN_PATH, 206, 0, buf, strlen(buf) + 1);
    close(fd);

    dir = xs_directory(f->h, 0, "/", &num);
    g_assert_nonnull(dir);
    g_assert_cmpuint(num, ==, 2);
    g_assert_cmpstr(dir[0], ==, "local");
    g_assert_cmpstr(dir[1], ==, "raw");
    free(dir);
    assert_fresh_client_works(f);
}

/* Requests are answered in order, even when they arrive in one burst. */
static void test_raw_pipelined(struct fx *f, gconstpointer data)
{
    int fd = raw_connect(f->sock);
    GByteArray *b = g_byte_array_new();
    struct xsd_sockmsg m1 = {XS_WRITE, 1, 0, 6}, m2 = {XS_READ, 2, 0, 3}, m3 = {XS_READ, 3, 0, 5};

    (void)data;
    g_byte_array_append(b, (guint8 *)&m1, sizeof(m1));
    g_byte_array_append(b, (const guint8 *)"/o\0one", 6);
    g_byte_array_append(b, (guint8 *)&m2, sizeof(m2));
    g_byte_array_append(b, (const guint8 *)"/o\0", 3);
    g_byte_array_append(b, (guint8 *)&m3, sizeof(m3));
    g_byte_array_append(b, (const guint8 *)"/nop\0", 5);
    raw_write(fd, b->data, b->len);
    g_byte_array_free(b, TRUE);
    raw_expect(fd, XS_WRITE, 1, 0, "OK", 3);
    raw_expect(fd, XS_READ, 2, 0, "one", 3);
    raw_expect_error(fd, 3, "ENOENT");
    close(fd);
}

static void test_raw_oversized(struct fx *f, gconstpointer data)
{
    struct xsd_stats before = stats(f), after;
    int fd = raw_connect(f->sock);
    char junk[64] = {0};

    (void)data;
    g_assert_true(xs_watch(f->h, "/o", "o"));
    expect_event(f->h, "/o", "o");
    raw_send(fd, XS_WRITE, 9, 0, XENSTORE_PAYLOAD_MAX + 1, junk, sizeof(junk));
    raw_expect_error(fd, 9, "E2BIG");
    raw_expect_closed(fd);
    close(fd);

    after = stats(f);
    g_assert_cmpuint(after.malformed - before.malformed, ==, 1);
    g_assert_cmpuint(after.errors - before.errors, ==, 1);
    assert_fresh_client_works(f);
    wr(f->h, 0, "/o/after", "1");
    expect_event(f->h, "/o/after", "o");
}

static void test_raw_disconnect(struct fx *f, gconstpointer data)
{
    struct xsd_stats before = stats(f);
    struct xsd_sockmsg m = {XS_WRITE, 1, 0, 100};
    gint64 deadline = deadline_ms();
    int fd;

    (void)data;
    g_assert_true(xs_watch(f->h, "/d", "d"));
    expect_event(f->h, "/d", "d");

    fd = raw_connect(f->sock); /* half a header */
    raw_write(fd, &m, sizeof(m) / 2);
    close(fd);
    fd = raw_connect(f->sock); /* a header and part of its payload */
    raw_write(fd, &m, sizeof(m));
    raw_write(fd, "/d/partial\0", 11);
    close(fd);
    fd = raw_connect(f->sock); /* a watch, then gone between messages */
    raw_req(fd, XS_WATCH, 5, "/d\0gone\0", 8);
    raw_expect(fd, XS_WATCH, 5, 0, "OK", 3);
    close(fd);

    while (stats(f).malformed - before.malformed < 2 && left_ms(deadline))
        g_usleep(1000); /* waiting for the server to notice, bounded */
    g_assert_cmpuint(stats(f).malformed - before.malformed, ==, 2);
    assert_missing(f->h, 0, "/d/partial");
    assert_fresh_client_works(f);
    wr(f->h, 0, "/d/after", "1");
    expect_event(f->h, "/d/after", "d");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(struct fx *, gconstpointer);
    } tests[] = {
        {"/xenstore/read-write", test_read_write},
        {"/xenstore/perms", test_perms},
        {"/xenstore/watch", test_watch},
        {"/xenstore/watch-relative", test_watch_relative},
        {"/xenstore/watch-special", test_watch_special},
        {"/xenstore/transaction", test_transaction},
        {"/xenstore/directory-large", test_directory_large},
        {"/xenstore/concurrent", test_concurrent},
        {"/xenstore/write-hook", test_write_hook},
        {"/xenstore/direct-api", test_direct_api},
        {"/xenstore/bad/paths", test_bad_paths},
        {"/xenstore/bad/raw-garbage", test_raw_garbage},
        {"/xenstore/bad/raw-missing-nul", test_raw_missing_nul},
        {"/xenstore/bad/raw-pipelined", test_raw_pipelined},
        {"/xenstore/bad/raw-oversized", test_raw_oversized},
        {"/xenstore/bad/raw-disconnect", test_raw_disconnect},
    };

    GError *err = NULL;
    char *dir;
    int rc;

    g_test_init(&argc, &argv, NULL);
    dir = g_dir_make_tmp("xsd-XXXXXX", &err);
    g_assert_no_error(err);
    sock_path = g_build_filename(dir, "xenstored", NULL);
    g_setenv("XENSTORED_PATH", sock_path, TRUE); /* what libxenstore connects to */
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++)
        g_test_add(tests[i].name, struct fx, NULL, fx_setup, tests[i].fn, fx_teardown);
    rc = g_test_run();
    g_rmdir(dir);
    g_free(sock_path);
    g_free(dir);
    return rc;
}
