/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm started the way libxl starts it, on xensim, checked from outside:
 *  - libxl's QMP conversations at create, unpause, save and shutdown, byte
 *    for byte the way libxl 4.17 frames them, replies checked the way its
 *    parser reads them; the readiness key written only once both QMP sockets
 *    accept connections;
 *  - libxenstat's unterminated commands without ids;
 *  - keyboard (QMP send-key -> i8042 scancodes, IRQ 1), serial (guest bytes
 *    on COM1 -> the pty query-chardev names), the Xen platform device
 *    (magic, unplug, log port with rate limit), power-off through PM1a_CNT
 *    and reboot through 0xcf9 — the last two side by side with qemu-xen;
 *  - 2 vCPUs x 100,000 sync ioreqs with buffered TIMEOFFSET requests
 *    interleaved: every read right, nothing lost;
 *  - deprivileging: uid, capabilities, seccomp, no_new_privs, restricted
 *    Xen handles, and the guest still served;
 *  - bad input: garbage QMP and hostile guest accesses get defined answers
 *    and xendm keeps serving the guest.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/common/dm.h"
#include "tests/common/guest-kbd.h"

#define DOMID     7
#define LIBXL_ID0 ((gint64)2020372736) /* 0x786c7100, "xlq\0" */

struct dm {
    xsim *x;
    char *libxl_sock, *xenstat_sock;
};

static const char *xendm_path(void)
{
    const char *p = g_getenv("XENDM");
    if (!p || access(p, X_OK) != 0)
        g_error("XENDM (the xendm binary) is not set or not executable: run through make check");
    return p;
}

static const char *console_limit = "1048576"; /* what libxl sets */

/* Start xendm (or qemu-xen with qemu=TRUE) with libxl's argv plus `extra`. */
static void xdm_start(struct dm *d, gboolean qemu, unsigned vcpus, const char *extra)
{
    struct xsim_config cfg = {.ram_mb = 1016, .vcpus = vcpus, .domid = DOMID};
    d->x = xsim_create(&cfg);
    g_assert_nonnull(d->x);
    d->libxl_sock = g_strdup_printf("%s/qmp-libxl-%d", xsim_dir(d->x), DOMID);
    d->xenstat_sock = g_strdup_printf("%s/qmp-libxenstat-%d", xsim_dir(d->x), DOMID);
    GError *err = NULL;
    GString *cmd = g_string_new(NULL);
    g_string_append_printf(cmd,
                           "%s -xen-domid %d -no-shutdown "
                           "-chardev socket,id=libxl-cmd,path=%s,server=on,wait=off "
                           "-mon chardev=libxl-cmd,mode=control "
                           "-chardev socket,id=libxenstat-cmd,path=%s,server=on,wait=off "
                           "-mon chardev=libxenstat-cmd,mode=control "
                           "-nodefaults -no-user-config -name vm1 -vnc none -display none ",
                           qemu ? dm_qemu_path(&err) : xendm_path(), DOMID, d->libxl_sock,
                           d->xenstat_sock);
    g_assert_no_error(err);
    if (extra)
        g_string_append_printf(cmd, "%s ", extra);
    g_string_append(cmd, "-boot order=cda ");
    if (vcpus > 1)
        g_string_append_printf(cmd, "-smp %u,maxcpus=%u ", vcpus, vcpus);
    g_string_append(cmd, "-net none -machine xenfv,suppress-vmdesc=on -m 1016");
    char **argv = g_strsplit(cmd->str, " ", -1);
    g_string_free(cmd, TRUE);
    char *limit = g_strdup_printf("XEN_QEMU_CONSOLE_LIMIT=%s", console_limit);
    char *env[] = {limit, "XEN_DOMAIN_ID=7", NULL};
    g_assert_cmpint(xsim_spawn_dm(d->x, argv, env), >, 0);
    g_free(limit);
    g_strfreev(argv);
    if (xsim_wait_dm_ready(d->x, 30000) < 0)
        g_error("DM not ready: %s", xsim_dm_diag(d->x));
}

static void xdm_finish(struct dm *d)
{
    xsim_destroy(d->x);
    g_free(d->libxl_sock);
    g_free(d->xenstat_sock);
}

/* ---- a QMP client that behaves like libxl's ------------------------------ */

struct raw {
    int fd;
    GString *in;
};

/* One connect, no retry: libxl treats a refused connect as fatal. */
static void raw_connect(struct raw *r, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(r->fd, >=, 0);
    if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        g_error("connect %s: %s (libxl would fail here)", path, strerror(errno));
    r->in = g_string_new(NULL);
}

static void raw_close(struct raw *r)
{
    close(r->fd);
    g_string_free(r->in, TRUE);
}

/* Next "\r\n"-terminated line (libxl splits on CR-LF only). */
static char *raw_line(struct raw *r, int timeout_ms)
{
    for (;;) {
        char *crlf = strstr(r->in->str, "\r\n");
        if (crlf) {
            size_t n = (size_t)(crlf - r->in->str);
            char *line = g_strndup(r->in->str, n);
            g_string_erase(r->in, 0, (gssize)n + 2);
            g_assert_null(strchr(line, '\n')); /* no bare LF inside a message */
            return line;
        }
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            g_error("no complete reply within %d ms (have: '%s')", timeout_ms, r->in->str);
        char buf[4096];
        ssize_t n = read(r->fd, buf, sizeof(buf));
        if (n <= 0)
            return NULL;
        g_string_append_len(r->in, buf, n);
    }
}

static void raw_send(struct raw *r, const char *text)
{
    size_t len = strlen(text);
    g_assert_cmpint(write(r->fd, text, len), ==, (ssize_t)len);
}

/* Parse a message, check its first member is `kind` and, if id >= 0, that
 * it carries exactly that integer id.  Returns the object (unref parser). */
static JsonObject *expect(JsonParser *p, const char *line, const char *kind, gint64 id)
{
    GError *err = NULL;
    g_assert_nonnull(line);
    if (!json_parser_load_from_data(p, line, -1, &err))
        g_error("not JSON: %s: %s", line, err->message);
    JsonNode *root = json_parser_get_root(p);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
    JsonObject *o = json_node_get_object(root);
    GList *members = json_object_get_members(o);
    /* libxl classifies by the first of QMP/return/error/event present */
    const char *first = NULL;
    for (GList *m = members; m && !first; m = m->next)
        if (!strcmp(m->data, "QMP") || !strcmp(m->data, "return") || !strcmp(m->data, "error") ||
            !strcmp(m->data, "event"))
            first = m->data;
    g_list_free(members);
    if (g_strcmp0(first, kind))
        g_error("expected a '%s' message, got: %s", kind, line);
    if (id >= 0) {
        JsonNode *idn = json_object_get_member(o, "id");
        g_assert_nonnull(idn);
        g_assert_cmpint(json_node_get_value_type(idn), ==, G_TYPE_INT64);
        g_assert_cmpint(json_node_get_int(idn), ==, id);
    }
    return o;
}

/* libxl's handshake: greeting (version >= 2.11), then qmp_capabilities with
 * the connection's second id. */
static void libxl_handshake(struct raw *r, JsonParser *p)
{
    char *g = raw_line(r, 5000);
    JsonObject *o = expect(p, g, "QMP", -1);
    JsonObject *v =
        json_object_get_object_member(json_object_get_object_member(o, "QMP"), "version");
    JsonObject *q = json_object_get_object_member(v, "qemu");
    gint64 major = json_object_get_int_member(q, "major"),
           minor = json_object_get_int_member(q, "minor");
    g_assert_true(major > 2 || (major == 2 && minor >= 11));
    g_free(g);
    char *cmd = g_strdup_printf("{\"execute\":\"qmp_capabilities\",\"id\":%" G_GINT64_FORMAT "}",
                                LIBXL_ID0 + 1);
    raw_send(r, cmd);
    g_free(cmd);
    char *l = raw_line(r, 5000);
    o = expect(p, l, "return", LIBXL_ID0 + 1);
    g_assert_cmpuint(json_object_get_size(json_object_get_object_member(o, "return")), ==, 0);
    g_free(l);
}

static JsonObject *libxl_cmd(struct raw *r, JsonParser *p, const char *execute, const char *args,
                             gint64 id, const char *kind)
{
    char *cmd =
        args ? g_strdup_printf("{\"execute\":\"%s\",\"id\":%" G_GINT64_FORMAT ",\"arguments\":%s}",
                               execute, id, args)
             : g_strdup_printf("{\"execute\":\"%s\",\"id\":%" G_GINT64_FORMAT "}", execute, id);
    raw_send(r, cmd);
    g_free(cmd);
    char *l = raw_line(r, 10000); /* libxl: 10 s per operation */
    JsonObject *o = expect(p, l, kind, id);
    g_free(l);
    return o;
}

/* ---- libxl's conversations ------------------------------------------------- */

static void test_libxl_create_unpause_save_shutdown(void)
{
    struct dm d;
    xdm_start(&d, FALSE, 2, "-serial pty");
    JsonParser *p = json_parser_new();

    /* create: post-config chain on one connection, first command id 0x786c7100 */
    struct raw r;
    raw_connect(&r, d.libxl_sock);
    libxl_handshake(&r, p);
    JsonObject *o = libxl_cmd(&r, p, "query-chardev", NULL, LIBXL_ID0, "return");
    JsonArray *chardevs = json_object_get_array_member(o, "return");
    const char *pty = NULL;
    for (guint i = 0; i < json_array_get_length(chardevs); i++) {
        JsonObject *c = json_array_get_object_element(chardevs, i);
        if (!strcmp(json_object_get_string_member(c, "label"), "serial0"))
            pty = json_object_get_string_member(c, "filename");
    }
    g_assert_nonnull(pty);
    g_assert_true(g_str_has_prefix(pty, "pty:/dev/pts/"));
    o = libxl_cmd(&r, p, "query-vnc", NULL, LIBXL_ID0 + 2, "return");
    g_assert_false(
        json_object_get_boolean_member(json_object_get_object_member(o, "return"), "enabled"));
    raw_close(&r);

    /* unpause: a new connection, cont (also when already running) */
    raw_connect(&r, d.libxl_sock);
    libxl_handshake(&r, p);
    libxl_cmd(&r, p, "cont", NULL, LIBXL_ID0, "return");
    o = libxl_cmd(&r, p, "query-status", NULL, LIBXL_ID0 + 2, "return");
    g_assert_cmpstr(
        json_object_get_string_member(json_object_get_object_member(o, "return"), "status"), ==,
        "running");
    raw_close(&r);

    /* save: query-cpus-fast, dirty log, stop, add-fd (fd on the first byte),
     * xen-save-devices-state into a file that is longer than the state */
    raw_connect(&r, d.libxl_sock);
    libxl_handshake(&r, p);
    o = libxl_cmd(&r, p, "query-cpus-fast", NULL, LIBXL_ID0, "return");
    JsonArray *cpus = json_object_get_array_member(o, "return");
    g_assert_cmpuint(json_array_get_length(cpus), ==, 2);
    for (guint i = 0; i < 2; i++)
        g_assert_cmpint(
            json_object_get_int_member(json_array_get_object_element(cpus, i), "cpu-index"), ==, i);
    libxl_cmd(&r, p, "xen-set-global-dirty-log", "{\"enable\":true}", LIBXL_ID0 + 2, "return");
    libxl_cmd(&r, p, "xen-set-global-dirty-log", "{\"enable\":false}", LIBXL_ID0 + 3, "return");
    libxl_cmd(&r, p, "stop", NULL, LIBXL_ID0 + 4, "return");
    o = libxl_cmd(&r, p, "query-status", NULL, LIBXL_ID0 + 5, "return");
    g_assert_cmpstr(
        json_object_get_string_member(json_object_get_object_member(o, "return"), "status"), ==,
        "paused");
    char *save = g_strdup_printf("%s/qemu-save.%d", xsim_dir(d.x), DOMID);
    int sfd = open(save, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    g_assert_cmpint(sfd, >=, 0);
    char junk[65536];
    memset(junk, 'J', sizeof(junk));
    g_assert_cmpint(write(sfd, junk, sizeof(junk)), ==, sizeof(junk)); /* a stale, longer file */
    char *addfd =
        g_strdup_printf("{\"execute\":\"add-fd\",\"id\":%" G_GINT64_FORMAT "}", LIBXL_ID0 + 6);
    struct iovec iov = {.iov_base = addfd, .iov_len = 1};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr a;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &sfd, sizeof(int));
    g_assert_cmpint(sendmsg(r.fd, &msg, 0), ==, 1);
    raw_send(&r, addfd + 1);
    g_free(addfd);
    close(sfd);
    char *l = raw_line(&r, 10000);
    o = expect(p, l, "return", LIBXL_ID0 + 6);
    g_free(l);
    gint64 fdset =
        json_object_get_int_member(json_object_get_object_member(o, "return"), "fdset-id");
    char *args =
        g_strdup_printf("{\"live\":false,\"filename\":\"/dev/fdset/%" G_GINT64_FORMAT "\"}", fdset);
    libxl_cmd(&r, p, "xen-save-devices-state", args, LIBXL_ID0 + 7, "return");
    g_free(args);
    struct stat st;
    g_assert_cmpint(stat(save, &st), ==, 0);
    g_assert_cmpint(st.st_size, >, 0);
    g_assert_cmpint(st.st_size, <, (off_t)sizeof(junk)); /* truncated to what was written */
    char head[8] = {0};
    int rfd = open(save, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(read(rfd, head, sizeof(head)), ==, sizeof(head));
    close(rfd);
    g_assert_cmpint(memchr(head, 'J', sizeof(head)) == NULL, ==, TRUE);
    unlink(save);
    g_free(save);
    libxl_cmd(&r, p, "cont", NULL, LIBXL_ID0 + 8, "return");
    /* an unknown command is CommandNotFound, with both members */
    o = libxl_cmd(&r, p, "query-hotpluggable-cpus-nope", NULL, LIBXL_ID0 + 9, "error");
    JsonObject *e = json_object_get_object_member(o, "error");
    g_assert_cmpstr(json_object_get_string_member(e, "class"), ==, "CommandNotFound");
    g_assert_nonnull(json_object_get_string_member(e, "desc"));
    raw_close(&r);

    /* libxenstat: spaces, no id, no line terminator */
    raw_connect(&r, d.xenstat_sock);
    g_free(raw_line(&r, 5000));
    raw_send(&r, "{ \"execute\": \"qmp_capabilities\" }");
    l = raw_line(&r, 5000);
    o = expect(p, l, "return", -1);
    g_assert_false(json_object_has_member(o, "id"));
    g_free(l);
    raw_close(&r);

    /* destruction: SIGHUP -> clean exit, ioreq server gone */
    g_assert_cmpuint(xsim_nr_ioreq_servers(d.x), ==, 1);
    kill(xsim_dm_pid(d.x), SIGHUP);
    int status;
    g_assert_cmpint(xsim_wait_dm_exit(d.x, 10000, &status), ==, 0);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_cmpuint(xsim_nr_ioreq_servers(d.x), ==, 0);
    g_object_unref(p);
    xdm_finish(&d);
}

/* ---- devices ------------------------------------------------------------------ */

/* The scancodes a guest reads after QMP send-key "a", as a BIOS would set
 * the controller up (command byte: interrupts, system flag, translation). */
static void keyboard_sequence(gboolean qemu, uint8_t out[2], unsigned *irqs)
{
    struct dm d;
    xdm_start(&d, qemu, 1, NULL);
    guest_outb(0x64, 0x60); /* write command byte */
    guest_outb(0x60, 0x47); /* KBD_INT | MOUSE_INT | SYS | XLAT */
    GError *err = NULL;
    struct qmp *q = qmp_connect(d.libxl_sock, 5000, &err);
    g_assert_no_error(err);
    unsigned irq0 = guest_irq_count(1);
    JsonNode *args = json_from_string("{\"keys\":[{\"type\":\"qcode\",\"data\":\"a\"}]}", &err);
    g_assert_no_error(err);
    JsonNode *ret = qmp_execute(q, "send-key", args, 5000, &err);
    g_assert_no_error(err);
    if (ret)
        json_node_unref(ret);
    for (int i = 0; i < 2; i++) {
        /* make, then after the hold time the break code */
        g_assert_true(gkbd_read(&out[i], 5000));
    }
    *irqs = guest_irq_count(1) - irq0;
    qmp_close(q);
    xdm_finish(&d);
}

static void test_keyboard(void)
{
    uint8_t q[2], m[2];
    unsigned qi, mi;
    keyboard_sequence(TRUE, q, &qi);
    keyboard_sequence(FALSE, m, &mi);
    g_assert_cmphex(m[0], ==, 0x1e); /* set 1 "a" make */
    g_assert_cmphex(m[1], ==, 0x9e); /* and break */
    g_assert_cmphex(m[0], ==, q[0]);
    g_assert_cmphex(m[1], ==, q[1]);
    g_assert_cmpuint(mi, >=, 2); /* an IRQ 1 edge per byte */
    g_assert_cmpuint(qi, >=, 2);
}

static void test_serial_pty(void)
{
    struct dm d;
    xdm_start(&d, FALSE, 1, "-serial pty");
    GError *err = NULL;
    struct qmp *q = qmp_connect(d.libxl_sock, 5000, &err);
    g_assert_no_error(err);
    JsonNode *ret = qmp_execute(q, "query-chardev", NULL, 5000, &err);
    g_assert_no_error(err);
    const char *pty = NULL;
    JsonArray *a = json_node_get_array(ret);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *c = json_array_get_object_element(a, i);
        if (!strcmp(json_object_get_string_member(c, "label"), "serial0"))
            pty = json_object_get_string_member(c, "filename") + 4;
    }
    g_assert_nonnull(pty);
    int fd = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
    json_node_unref(ret);
    const char *msg = "hello from COM1\n";
    guest_outb(0x3fb, 0x03); /* 8N1 */
    for (const char *c = msg; *c; c++) {
        while (!(guest_inb(0x3fd) & 0x20)) /* THR empty */
            ;
        guest_outb(0x3f8, (uint8_t)*c);
    }
    GString *got = g_string_new(NULL);
    while (got->len < strlen(msg)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            g_error("pty: got only '%s'", got->str);
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(got, buf, n);
    }
    g_assert_cmpstr(got->str, ==, msg);
    /* and the other way: bytes typed on the pty reach the guest's RBR */
    g_assert_cmpint(write(fd, "Z", 1), ==, 1);
    int tries = 0;
    while (!(guest_inb(0x3fd) & 0x01) && tries++ < 100000)
        ;
    g_assert_cmphex(guest_inb(0x3f8), ==, 'Z');
    g_string_free(got, TRUE);
    close(fd);
    qmp_close(q);
    xdm_finish(&d);
}

static char *dm_log(struct dm *d)
{
    char *path = g_strdup_printf("%s/dm.log", xsim_dir(d->x)), *text = NULL;
    g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    return text ? text : g_strdup("");
}

static void test_platform_device(void)
{
    struct dm d;
    xdm_start(&d, FALSE, 1, NULL);
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    g_assert_cmphex(guest_inb(0x12), ==, 1);
    guest_outw(0x10, 0x0003); /* unplug disks and NICs */
    const char *line = "guest says hi\n";
    for (const char *c = line; *c; c++)
        guest_outb(0x12, (uint8_t)*c);
    for (int i = 0; i < 1000; i++) /* a flood: must be rate-limited */
        for (const char *c = "spam\n"; *c; c++)
            guest_outb(0x12, (uint8_t)*c);
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2); /* still serving */
    char *log = dm_log(&d);
    g_assert_nonnull(strstr(log, "guest says hi"));
    g_assert_nonnull(strstr(log, "unplug"));
    unsigned spam = 0;
    for (const char *s = log; (s = strstr(s, "spam")); s += 4)
        spam++;
    g_test_message("%u of 1000 log lines written", spam);
    g_assert_cmpuint(spam, <, 100);
    g_free(log);
    xdm_finish(&d);
}

/* XEN_QEMU_CONSOLE_LIMIT: however much the guest makes xendm log, the log
 * stays within the budget libxl set (XSA-180). */
static void test_console_limit(void)
{
    console_limit = "600";
    struct dm d;
    xdm_start(&d, FALSE, 1, NULL);
    console_limit = "1048576";
    for (int i = 0; i < 200; i++) {
        char line[64];
        snprintf(line, sizeof(line), "guest line %d, long enough to count\n", i);
        for (const char *c = line; *c; c++)
            guest_outb(0x12, (uint8_t)*c);
        guest_inl(0x5000 + 4 * (unsigned)i); /* unclaimed: Xen answers, xendm never sees it */
        guest_outw(0x60, 0xffff);            /* a 16-bit access to a byte-wide port */
    }
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    char *log = dm_log(&d);
    g_test_message("log: %zu bytes", strlen(log));
    g_assert_cmpuint(strlen(log), <=, 600);
    g_assert_nonnull(strstr(log, "guest line 0"));
    g_assert_null(strstr(log, "guest line 199"));
    g_free(log);
    xdm_finish(&d);
}

/* hvmloader's ACPI enable, then power-off / reboot; same for qemu-xen */
static void power_sequence(gboolean qemu, gboolean reboot)
{
    struct dm d;
    xdm_start(&d, qemu, 1, NULL);
    guest_pci_write(0x000b, 0x40, 4, 0xb001); /* PIIX4 PM: PMBA */
    guest_pci_write(0x000b, 0x80, 1, 0x01);   /* PMIOSE */
    if (!(guest_inw(0xb004) & 1))
        guest_outb(0xb2, 0xf1);                    /* ACPI enable through the APM port */
    g_assert_cmphex(guest_inw(0xb004) & 1, ==, 1); /* SCI_EN, or hvmloader BUG()s */
    g_assert_cmpint(xsim_shutdown_reason(d.x), ==, -1);
    if (reboot)
        guest_outb(0xcf9, 0x06);
    else
        guest_outw(0xb004, (uint16_t)((0u << 10) | (1u << 13) | 1u)); /* SLP_TYP 0, SLP_EN */
    g_assert_cmpint(xsim_shutdown_reason(d.x), ==, reboot ? 1 : 0);
    xdm_finish(&d);
}

static void test_poweroff(void)
{
    power_sequence(TRUE, FALSE);
    power_sequence(FALSE, FALSE);
}

static void test_reboot(void)
{
    power_sequence(TRUE, TRUE);
    power_sequence(FALSE, TRUE);
}

/* hvmloader's PCI routing reaches Xen, and the CMOS NVRAM above index 13 (which
 * Xen forwards) holds what qemu-xen puts there: boot order, memory sizes, CPUs. */
static void firmware_view(gboolean qemu, int route[4], uint8_t nvram[128])
{
    struct dm d;
    xdm_start(&d, qemu, 2, NULL);
    g_assert_cmpint(xsim_fw_pci_setup(d.x), >, 0);
    for (unsigned l = 0; l < 4; l++)
        route[l] = xsim_link_route(d.x, l);
    for (unsigned i = 14; i < 128; i++) {
        guest_outb(0x70, (uint8_t)i);
        nvram[i] = guest_inb(0x71);
    }
    g_assert_null(xsim_error(d.x));
    xdm_finish(&d);
}

static void test_firmware_view(void)
{
    int rq[4], rm[4];
    uint8_t nq[128] = {0}, nm[128] = {0};
    firmware_view(TRUE, rq, nq);
    firmware_view(FALSE, rm, nm);
    static const int want[4] = {5, 10, 11, 5};
    for (int l = 0; l < 4; l++) {
        g_assert_cmpint(rq[l], ==, want[l]);
        g_assert_cmpint(rm[l], ==, want[l]);
    }
    g_assert_cmphex(nm[0x3d], ==, 0x32); /* boot order "cda": c=2 first, d=3 second */
    for (unsigned i = 14; i < 128; i++) {
        if (i == 0x32 || i == 0x37) /* century: from the host clock in both */
            continue;
        if (nm[i] != nq[i])
            g_error("CMOS byte %#x: qemu-xen %#04x, xendm %#04x", i, nq[i], nm[i]);
    }
}

/* ---- stress ------------------------------------------------------------------- */

#define STRESS_N 100000

struct worker {
    unsigned vcpu;
    uint16_t scratch; /* a UART scratch register: one per vCPU */
    unsigned errors;
};

static void *stress_vcpu(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < STRESS_N; i++) {
        /* halfway, vCPU 0 balloons: Xen sends INVALIDATE on that vCPU and
         * xendm must map guest RAM again before answering */
        if (w->vcpu == 0 && i == STRESS_N / 2 && xsim_invalidate_mapcache(xsim_current()) < 0)
            w->errors++;
        uint8_t v = (uint8_t)(i * 7 + w->vcpu);
        guest_out_v(w->vcpu, w->scratch, 1, v);
        if (guest_in_v(w->vcpu, w->scratch, 1) != v)
            w->errors++;
    }
    return NULL;
}

static void test_stress(void)
{
    struct dm d;
    xdm_start(&d, FALSE, 2, "-serial null -serial null");
    struct worker w[2] = {{0, 0x3ff, 0}, {1, 0x2ff, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, stress_vcpu, &w[i]);
    /* TIMEOFFSET goes through the buffered ring; when it is full Xen drops
     * the update (the RTC sends the next one), so count what was accepted */
    unsigned sent = 0;
    for (unsigned i = 0; i < 2000; i++)
        sent += xsim_send_timeoffset(d.x, i) == 0;
    g_assert_cmpuint(sent, >, 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    g_assert_null(xsim_error(d.x));
    g_assert_cmpuint(w[0].errors, ==, 0);
    g_assert_cmpuint(w[1].errors, ==, 0);
    /* what xendm saw: every sync request and every buffered TIMEOFFSET */
    GError *err = NULL;
    struct qmp *q = qmp_connect(d.libxl_sock, 5000, &err);
    g_assert_no_error(err);
    JsonNode *ret = qmp_execute(q, "x-xendm-query-ioreq-stats", NULL, 5000, &err);
    g_assert_no_error(err);
    JsonObject *o = json_node_get_object(ret);
    struct xsim_stats st;
    xsim_stats(d.x, &st);
    g_assert_cmpint(json_object_get_int_member(o, "timeoffset"), ==, sent);
    g_assert_cmpint(json_object_get_int_member(o, "invalidate"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(o, "bad"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(o, "sync"), ==, (gint64)st.sync);
    g_assert_cmpuint(st.sync, >=, 4 * STRESS_N);
    json_node_unref(ret);
    qmp_close(q);
    xdm_finish(&d);
}

/* ---- deprivileging ------------------------------------------------------------ */

static char *status_field(pid_t pid, const char *field)
{
    char *path = g_strdup_printf("/proc/%d/status", (int)pid), *text = NULL, *v = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        if (g_str_has_prefix(*l, field) && (*l)[strlen(field)] == ':')
            v = g_strstrip(g_strdup(*l + strlen(field) + 1));
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    g_assert_nonnull(v);
    return v;
}

static void test_deprivileged(void)
{
    if (geteuid() != 0)
        g_error("this test needs root (to drop to another uid): run the README's test command with "
                "sudo");
    char *root = g_dir_make_tmp("xendm-chroot-XXXXXX", NULL);
    g_assert_nonnull(root);
    chmod(root, 0);
    char *extra = g_strdup_printf("-xen-domid-restrict -chroot %s -runas 65534:65534", root);
    struct dm d;
    xdm_start(&d, FALSE, 1, extra);
    g_free(extra);
    /* the readiness key precedes deprivileging; the first ioreq is served
     * only after it (the main loop starts after depriv_apply) */
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    pid_t pid = xsim_dm_pid(d.x);
    char *uid = status_field(pid, "Uid"), *gid = status_field(pid, "Gid");
    char *cap = status_field(pid, "CapEff"), *capp = status_field(pid, "CapPrm");
    char *capb = status_field(pid, "CapBnd"), *groups = status_field(pid, "Groups");
    char *sec = status_field(pid, "Seccomp"), *nnp = status_field(pid, "NoNewPrivs");
    g_assert_cmpstr(uid, ==, "65534\t65534\t65534\t65534");
    g_assert_cmpstr(gid, ==, "65534\t65534\t65534\t65534");
    g_assert_cmpstr(cap, ==, "0000000000000000");
    g_assert_cmpstr(capp, ==, "0000000000000000");
    g_assert_cmpstr(capb, ==, "0000000000000000"); /* and none can come back */
    g_assert_cmpstr(groups, ==, "");
    g_assert_cmpstr(sec, ==, "2");
    g_assert_cmpstr(nnp, ==, "1");
    char *link = g_strdup_printf("/proc/%d/root", (int)pid), *target = g_file_read_link(link, NULL);
    g_assert_cmpstr(target, ==, root);
    g_assert_cmpint(xsim_restricted(d.x), ==, 1);
    /* and the guest is still served */
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    g_assert_null(xsim_error(d.x));
    g_free(capb), g_free(groups);
    g_free(uid), g_free(gid), g_free(cap), g_free(capp), g_free(sec), g_free(nnp), g_free(link),
        g_free(target);
    xdm_finish(&d);
    rmdir(root);
    g_free(root);
}

/* Every thread, also those that exist before deprivileging (VNC's accept
 * thread, spice-server's worker), ends up filtered, with no_new_privs and
 * no capabilities — here without -runas, where only dropping them keeps
 * root's capabilities away. */
static void check_threads_deprivileged(const char *args)
{
    if (geteuid() != 0)
        g_error(
            "this test needs root (capabilities to lose): run the README's test command with sudo");
    struct dm d;
    xdm_start(&d, FALSE, 1, args);
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    pid_t pid = xsim_dm_pid(d.x);
    char *dir = g_strdup_printf("/proc/%d/task", (int)pid);
    unsigned threads = 0;
    char *bad = NULL;
    /* spice-server's worker drops its capabilities on its first poll */
    for (int tries = 0; tries < 50; tries++) {
        GDir *dd = g_dir_open(dir, 0, NULL);
        g_assert_nonnull(dd);
        threads = 0;
        g_clear_pointer(&bad, g_free);
        for (const char *t; (t = g_dir_read_name(dd));) {
            char *path = g_strdup_printf("%s/%s/status", dir, t), *text = NULL;
            if (g_file_get_contents(path, &text, NULL, NULL)) {
                threads++;
                if (!strstr(text, "\nSeccomp:\t2\n") || !strstr(text, "\nNoNewPrivs:\t1\n") ||
                    !strstr(text, "\nCapEff:\t0000000000000000\n") ||
                    !strstr(text, "\nCapPrm:\t0000000000000000\n"))
                    if (!bad)
                        bad = g_strdup_printf("thread %s:\n%s", t, text);
            }
            g_free(text);
            g_free(path);
        }
        g_dir_close(dd);
        if (!bad)
            break;
        g_usleep(100 * 1000);
    }
    if (bad)
        g_error("a thread of xendm is not deprivileged: %s", bad);
    g_assert_cmpuint(threads, >=, 2); /* main and VNC's accept thread at least */
    g_free(dir);
    xdm_finish(&d);
}

static void test_deprivileged_threads(void)
{
#ifdef HAVE_SPICE
    check_threads_deprivileged("-vnc 127.0.0.1:96 -device VGA,vgamem_mb=16 "
                               "-spice port=6120,tls-port=0,addr=127.0.0.1,disable-ticketing=on");
    /* the QXL card's own spice-server worker */
    check_threads_deprivileged("-vnc 127.0.0.1:96 -device qxl-vga,vram_size_mb=64,ram_size_mb=64 "
                               "-spice port=6120,tls-port=0,addr=127.0.0.1,disable-ticketing=on");
#else
    check_threads_deprivileged("-vnc 127.0.0.1:96 -device VGA,vgamem_mb=16");
#endif
}

/* ---- bad input ------------------------------------------------------------------ */

static void test_bad_input(void)
{
    struct dm d;
    xdm_start(&d, FALSE, 1, "-serial null");
    JsonParser *p = json_parser_new();
    struct raw r;
    raw_connect(&r, d.libxl_sock);
    libxl_handshake(&r, p);
    static const struct {
        const char *text, *cls;
    } bad[] = {
        {"{\"execute\": \"query-status\", \"id\": 1, oops}", "GenericError"},
        {"[1, 2, 3]", "GenericError"},
        {"{\"id\": 5}", "GenericError"},
        {"{\"execute\": 42}", "GenericError"},
        {"{\"execute\": \"no-such-command\"}", "CommandNotFound"},
        {"{\"execute\": \"xen-set-global-dirty-log\", \"arguments\": {\"enable\": \"yes\"}}",
         "GenericError"},
        {"{\"execute\": \"send-key\", \"arguments\": {\"keys\": 7}}", "GenericError"},
        {"{\"execute\": \"query-status\", \"arguments\": [1]}", "GenericError"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        raw_send(&r, bad[i].text);
        char *l = raw_line(&r, 5000);
        JsonObject *o = expect(p, l, "error", -1);
        g_assert_cmpstr(
            json_object_get_string_member(json_object_get_object_member(o, "error"), "class"), ==,
            bad[i].cls);
        g_free(l);
    }
    /* still talking */
    libxl_cmd(&r, p, "query-status", NULL, 99, "return");
    raw_close(&r);

    /* a huge message: error (or disconnect), never a crash */
    raw_connect(&r, d.libxl_sock);
    g_free(raw_line(&r, 5000));
    char *huge = g_malloc(3 << 20);
    memset(huge, ' ', 3 << 20);
    huge[0] = '{';
    huge[1] = '"';
    huge[(3 << 20) - 1] = 0;
    ssize_t wn = send(r.fd, huge, strlen(huge), MSG_NOSIGNAL);
    (void)wn;
    g_free(huge);
    raw_close(&r);

    /* a client that disconnects mid-command */
    raw_connect(&r, d.libxl_sock);
    raw_send(&r, "{\"execute\": \"qmp_capab");
    raw_close(&r);

    /* hostile guest accesses: odd sizes on claimed ports, unclaimed ports */
    g_assert_cmphex(guest_inl(0x3f8), !=, 0x12345678); /* no crash, some defined value */
    guest_outl(0x60, 0xdeadbeef);
    g_assert_cmphex(guest_inw(0x5555), ==, 0xffff);
    for (unsigned reg = 0; reg < 256; reg += 4)
        guest_pci_read(0x00f8 /* 00:1f.0: nothing there */, reg, 4);
    g_assert_cmphex(guest_pci_read(0x00f8, 0, 4), ==, 0xffffffff);

    /* everything still works */
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    raw_connect(&r, d.libxl_sock);
    libxl_handshake(&r, p);
    libxl_cmd(&r, p, "query-status", NULL, LIBXL_ID0, "return");
    raw_close(&r);
    g_assert_null(xsim_error(d.x));
    g_object_unref(p);
    xdm_finish(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/xendm/libxl-create-unpause-save-shutdown",
                    test_libxl_create_unpause_save_shutdown);
    g_test_add_func("/xendm/keyboard-send-key", test_keyboard);
    g_test_add_func("/xendm/serial-pty", test_serial_pty);
    g_test_add_func("/xendm/platform-device", test_platform_device);
    g_test_add_func("/xendm/console-limit", test_console_limit);
    g_test_add_func("/xendm/poweroff-like-qemu", test_poweroff);
    g_test_add_func("/xendm/reboot-like-qemu", test_reboot);
    g_test_add_func("/xendm/firmware-view-like-qemu", test_firmware_view);
    g_test_add_func("/xendm/stress-2-vcpus", test_stress);
    g_test_add_func("/xendm/deprivileged", test_deprivileged);
    g_test_add_func("/xendm/deprivileged-threads", test_deprivileged_threads);
    g_test_add_func("/xendm/bad-input", test_bad_input);
    return g_test_run();
}
