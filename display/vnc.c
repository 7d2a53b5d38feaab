/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VNC front end of vnc.h on libvncserver 0.9.14, in its threaded mode,
 * with the parts that decide policy kept on the main loop.  This file has
 * the connections, the framebuffer and the public API; the handshake and
 * authentication are in vnc-handshake.c, keyboard and pointer in
 * vnc-input.c, the state they share in vnc-priv.h.
 *
 * Connection life:
 *   vnc-accept  accept4() on our own listening sockets (bound here, with
 *               the to= port search), rfbNewClient() on a stand-in socket
 *               (below); newClientHook moves the client onto the accepted
 *               socket, writes "RFB 003.008" there and puts the client ON
 *               HOLD, and once rfbNewClient() has returned it is queued for
 *               the main thread.
 *   main        runs the rest of the handshake on a non-blocking fd watch:
 *               version, security type, VNC DES challenge against the
 *               password set over QMP, ClientInit's shared flag (QEMU's
 *               share policy and connections= limit are applied here), then
 *               lets libvncserver write ServerInit (state
 *               RFB_INITIALISATION_SHARED, so it reads nothing) and starts
 *               its per-client threads with rfbStartOnHoldClient().
 *   vnc-in      libvncserver's clientInput: parses messages; our key,
 *               pointer and extended-key hooks only queue events.
 *   vnc-out     libvncserver's clientOutput: encodes from the published RFB
 *               framebuffer and writes, blocking on its own socket only;
 *               it also writes our -258 acknowledgement after an update.
 *   gone        the clientGoneHook (on vnc-in, or main for refused
 *               handshakes) queues the client; main joins vnc-in, releases
 *               keys it held, frees.
 *
 * Sharing the framebuffer with vnc-out: the RFB framebuffer (always
 * x8r8g8b8) is the core's published frame (fb_frame(): its shadow of a
 * tracked 32-bit surface, kept alive by our pixman reference) when there
 * is one of that format and size, so that xendm holds one copy of the
 * picture, not two; otherwise our own buffer, into which main copies the
 * changed rectangles from fb_image().  Either way main then marks them
 * modified; a writer may send a rectangle half old, half new, but it is
 * marked again after the copy, so every viewer converges on the frame (the
 * libvncserver threaded model; ThreadSanitizer reports this one race, in
 * copy_rect or fb.c's shadow writes, and it is intended).  A resize swaps
 * the buffer only while holding every client's sendMutex, taken with
 * trylock so that main never waits: a client busy sending makes the
 * resize retry every
 * VNC_RESIZE_RETRY_MS, and one that keeps it busy for VNC_RESIZE_STALL_MS
 * is disconnected.  (rfbNewFramebuffer() would block main on a stalled
 * client's sendMutex, so the swap is done here on the same fields.)
 *
 * Stalled clients: a writer blocked on a full socket holds nothing main
 * needs (rfbMarkRectAsModified only takes the per-client updateMutex, which
 * writers never hold while writing); it costs one thread and its socket
 * buffer, and libvncserver drops it after VNC_CLIENT_TIMEOUT_MS without
 * progress.  Disconnecting one (policy, resize, stop) shuts its socket down
 * through a dup'd descriptor so the blocked write returns at once.
 *
 * Keyboard: keysyms go through a keysym -> (qnum, shift, AltGr) table built
 * at start-up from xkeyboard-config with libxkbcommon (keymap.c) for the -k
 * layout
 * (every keycode and shift level of the layout; evdev code - 8 is the
 * Linux KEY_ code, which is the set-1 scancode for KEY_ESC..KEY_F12 and
 * goes through linux_to_qnum() for the rest).  When a keysym sits on
 * several keys, the one matching the modifiers the viewer holds wins (as in
 * QEMU); missing Shift/AltGr are pressed around the key, extra ones
 * released and restored.  Viewers that send QEMU's Extended Key Event
 * (pseudo-encoding -258, message 255/0) give the scancode itself.
 *
 * The stand-in socket: libvncserver 0.9.14 is built with WebSockets, and
 * rfbNewClient() first peeks at the new socket for up to 100 ms for an HTTP
 * or TLS header.  Every real VNC viewer waits for the server's greeting, so
 * that peek cost each connection 100 ms before its banner, and a peer that
 * sent one to three bytes and then nothing made the peek spin for ever
 * (rfbPeekExactTimeout tests a stale errno after a short MSG_PEEK), which
 * stopped the accept thread.  So rfbNewClient() is handed one end of a
 * socketpair that already holds "RFB ": the peek sees a plain RFB client at
 * once, the greeting goes into the pair, and vnc_new_client() switches
 * cl->sock to the accepted TCP socket before any libvncserver thread uses
 * it.  The RFB port therefore speaks RFB only, as QEMU's does (QEMU serves
 * WebSockets on a separate websocket= port).
 *
 * Left out: TLS/VeNCrypt, SASL, websocket=, lossy/JPEG tuning, audio,
 * clipboard, cursor position updates (as QEMU; shapes: vnc-cursor.c),
 * lock-key sync, dead keys
 * (a keysym only reachable through a dead key is dropped and counted),
 * password expiry, Apple's RFB 3.889 (expects no ClientInit: it times out).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include "display/fb.h"
#include "display/input.h"
#include "display/keymap.h"
#include "display/vnc-priv.h"
#include "display/vnc.h"
#include "src/log.h"
#include "src/threads.h"

/* libvncserver's log hooks have no context; only one server exists. */
static struct vnc *vnc_current;

/* vnc-accept: the accepted TCP socket while rfbNewClient() runs on its
 * stand-in (the socketpair end), and whether vnc_new_client() took it. */
static __thread int accept_real_fd = -1;
static __thread bool accept_fd_taken;

static void vnc_drain(struct vnc *v);

/* ------------------------------------------------------------ errors --- */

static struct vnc *vnc_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static struct vnc *vnc_fail(GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    g_free(msg);
    return NULL;
}

/* -------------------------------------------------------- spec parsing -- */

/* Split a QEMU option string at ',' where ",," is a literal comma. */
static GPtrArray *split_opts(const char *s)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    for (const char *p = s;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || !*p) {
            g_ptr_array_add(a, g_string_free(cur, FALSE));
            if (!*p)
                break;
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    return a;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    if (!*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long x = strtoul(s, &end, 10);
    if (errno || *end || x > max)
        return false;
    *out = (unsigned)x;
    return true;
}

static int parse_bool(const char *s)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true"))
        return 1;
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false"))
        return 0;
    return -1;
}

struct vnc_spec {
    char *host; /* NULL = all addresses */
    unsigned display, to;
    bool password;
    enum vnc_share share;
    unsigned connections;
};

static bool parse_spec(const char *spec, struct vnc_spec *o, GError **err)
{
    GPtrArray *a = split_opts(spec);
    bool ok = false;
    const char *first = a->pdata[0];
    memset(o, 0, sizeof(*o));
    o->share = SHARE_ALLOW_EXCLUSIVE;
    o->connections = VNC_DEFAULT_CONNECTIONS;
    const unsigned max_display = 65535 - 5900;

    if (!strncmp(first, "unix:", 5)) {
        vnc_fail(err, "-vnc %s: UNIX socket displays are not supported", spec);
        goto out;
    }
    const char *colon = strrchr(first, ':');
    if (!colon) {
        vnc_fail(err, "-vnc %s: expected HOST:DISPLAY", spec);
        goto out;
    }
    if (!parse_uint(colon + 1, max_display, &o->display)) {
        vnc_fail(err, "-vnc %s: bad display number '%s'", spec, colon + 1);
        goto out;
    }
    size_t hl = (size_t)(colon - first);
    if (hl >= 2 && first[0] == '[' && first[hl - 1] == ']')
        o->host = g_strndup(first + 1, hl - 2);
    else if (hl)
        o->host = g_strndup(first, hl);
    o->to = o->display;

    for (unsigned i = 1; i < a->len; i++) {
        const char *opt = a->pdata[i];
        const char *eq = strchr(opt, '=');
        char *key = eq ? g_strndup(opt, (size_t)(eq - opt)) : g_strdup(opt);
        const char *val = eq ? eq + 1 : NULL;
        bool good = true;
        if (!strcmp(key, "to")) {
            good = val && parse_uint(val, max_display, &o->to);
        } else if (!strcmp(key, "password")) {
            int b = val ? parse_bool(val) : 1;
            good = b >= 0;
            o->password = b == 1;
        } else if (!strcmp(key, "share")) {
            if (val && !strcmp(val, "allow-exclusive"))
                o->share = SHARE_ALLOW_EXCLUSIVE;
            else if (val && !strcmp(val, "force-shared"))
                o->share = SHARE_FORCE_SHARED;
            else if (val && !strcmp(val, "ignore"))
                o->share = SHARE_IGNORE;
            else
                good = false;
        } else if (!strcmp(key, "connections")) {
            good = val && parse_uint(val, 1024, &o->connections) && o->connections > 0;
        } else {
            vnc_fail(err, "-vnc: option '%s' is not supported", key);
            g_free(key);
            goto out;
        }
        if (!good) {
            vnc_fail(err, "-vnc: bad value for '%s': '%s'", key, val ? val : "");
            g_free(key);
            goto out;
        }
        g_free(key);
    }
    if (o->to < o->display)
        o->to = o->display;
    ok = true;
out:
    if (!ok)
        g_free(o->host);
    g_ptr_array_free(a, TRUE);
    return ok;
}

/* ------------------------------------------------------------ listen --- */

/*
 * Bind HOST:port for every address family HOST resolves to (at most one
 * socket per family).  Returns the number bound (0 with *busy set when the
 * port is in use), or -1 with err set on another failure.
 */
static int listen_port(struct vnc *v, const char *host, int port, bool *busy, GError **err)
{
    char svc[12];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(host, svc, &hints, &res);
    if (rc) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "-vnc: cannot resolve '%s': %s",
                    host ? host : "", gai_strerror(rc));
        return -1;
    }
    bool have4 = false, have6 = false;
    int last_errno = 0;
    *busy = false;
    v->nlfd = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET && have4) || (ai->ai_family == AF_INET6 && have6) ||
            (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
            continue;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
            last_errno = errno;
            close(fd);
            if (last_errno == EADDRINUSE) {
                *busy = true;
                break;
            }
            continue;
        }
        if (ai->ai_family == AF_INET)
            have4 = true;
        else
            have6 = true;
        v->lfd[v->nlfd++] = fd;
    }
    freeaddrinfo(res);
    if (*busy) {
        for (unsigned i = 0; i < v->nlfd; i++)
            close(v->lfd[i]);
        v->nlfd = 0;
        return 0;
    }
    if (!v->nlfd) {
        g_set_error(err, G_IO_ERROR, g_io_error_from_errno(last_errno ? last_errno : EINVAL),
                    "-vnc: cannot listen on %s:%d: %s", host ? host : "*", port,
                    g_strerror(last_errno ? last_errno : EINVAL));
        return -1;
    }
    return (int)v->nlfd;
}

static void describe_listener(struct vnc *v)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    v->family = "ipv4";
    snprintf(v->host, sizeof(v->host), "127.0.0.1");
    if (getsockname(v->lfd[0], (struct sockaddr *)&ss, &len) == 0) {
        getnameinfo((struct sockaddr *)&ss, len, v->host, sizeof(v->host), NULL, 0, NI_NUMERICHOST);
        v->family = ss.ss_family == AF_INET6 ? "ipv6" : "ipv4";
    }
}

/* ------------------------------------------------------------ events --- */

static void ev_wake(struct vnc *v)
{
    uint64_t one = 1;
    ssize_t n = write(v->efd, &one, sizeof(one));
    (void)n; /* EAGAIN only when the counter is saturated: already awake */
}

/* Queue an event for the main thread.  Input events wait while the queue
 * is full (backpressure on that viewer's reader). */
static void ev_push(struct vnc *v, struct vnc_event *e)
{
    bool input = e->type == VEV_KEY || e->type == VEV_EXTKEY || e->type == VEV_PTR;
    pthread_mutex_lock(&v->evlock);
    if (e->type == VEV_PTR) {
        struct vnc_event *t = g_queue_peek_tail(&v->evq);
        if (t && t->type == VEV_PTR && t->c == e->c && t->mask == e->mask) {
            t->x = e->x; /* pure motion: only the newest position matters */
            t->y = e->y;
            pthread_mutex_unlock(&v->evlock);
            g_free(e);
            return;
        }
    }
    if (e->type == VEV_LOG && g_queue_get_length(&v->evq) >= VNC_EVQ_MAX) {
        pthread_mutex_unlock(&v->evlock); /* main is behind: drop chatter */
        g_free(e->msg);
        g_free(e);
        return;
    }
    if (input) {
        while (v->ninput >= VNC_EVQ_MAX && !g_atomic_int_get(&v->stopping)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 100000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&v->evcond, &v->evlock, &ts);
        }
        v->ninput++;
    }
    bool was_empty = g_queue_is_empty(&v->evq);
    g_queue_push_tail(&v->evq, e);
    pthread_mutex_unlock(&v->evlock);
    if (was_empty)
        ev_wake(v);
}

static void ev_simple(struct vnc *v, enum ev_type type, struct vnc_client *c)
{
    struct vnc_event *e = g_new0(struct vnc_event, 1);
    e->type = type;
    e->c = c;
    ev_push(v, e);
}

/* ---------------------------------------------------- libvncserver hooks -- */

static void vnc_rfb_log(const char *fmt, ...)
{
    /* libvncserver's chatter (one line per connect, per encoding); our own
     * connect/disconnect messages are logged by the main thread */
}

static void vnc_rfb_err(const char *fmt, ...)
{
    struct vnc *v = vnc_current;
    if (!v)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    g_strchomp(buf);
    /* the stand-in socket is AF_UNIX: no peer address, no TCP_NODELAY */
    if (accept_real_fd >= 0 && (strstr(buf, "getnameinfo") || strstr(buf, "TCP_NODELAY")))
        return;
    struct vnc_event *e = g_new0(struct vnc_event, 1);
    e->type = VEV_LOG;
    e->msg = g_strdup(buf);
    ev_push(v, e);
}

static void vnc_client_gone(rfbClientPtr cl);

/* vnc-accept: a connection was accepted and greeted. */
static enum rfbNewClientAction vnc_new_client(rfbClientPtr cl)
{
    struct vnc *v = cl->screen->screenData;
    int fd = accept_real_fd;
    if (fd < 0)
        return RFB_CLIENT_REFUSE; /* not from vnc_accept_main: cannot happen */
    /* from here on libvncserver owns the TCP socket (it closes cl->sock) */
    cl->sock = fd;
    accept_fd_taken = true;
    if (g_atomic_int_get(&v->stopping))
        return RFB_CLIENT_REFUSE;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char pv[sz_rfbProtocolVersionMsg + 1];
    snprintf(pv, sizeof(pv), rfbProtocolVersionFormat, cl->screen->protocolMajorVersion,
             cl->screen->protocolMinorVersion);
    if (!rfbSetNonBlocking(fd) || send(fd, pv, sz_rfbProtocolVersionMsg,
                                       MSG_NOSIGNAL | MSG_DONTWAIT) != sz_rfbProtocolVersionMsg)
        return RFB_CLIENT_REFUSE; /* gone already: a fresh socket takes 12 bytes */
    struct vnc_client *c = g_new0(struct vnc_client, 1);
    c->v = v;
    c->cl = cl;
    c->shut_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        getnameinfo((struct sockaddr *)&ss, len, c->host, sizeof(c->host), c->service,
                    sizeof(c->service), NI_NUMERICHOST | NI_NUMERICSERV);
        c->family = ss.ss_family;
    }
    free(cl->host); /* libvncserver's, from the stand-in: empty */
    cl->host = strdup(c->host);
    cl->clientData = c;
    cl->clientGoneHook = vnc_client_gone;
    g_atomic_int_inc(&v->hs_atomic);
    /* queued by vnc_accept_main once rfbNewClient() has returned: it sets
     * cl->onHold after this hook, which must not race with main's
     * rfbStartOnHoldClient() */
    return RFB_CLIENT_ON_HOLD;
}

/* Any thread, after libvncserver is done with cl (it frees cl next). */
static void vnc_client_gone(rfbClientPtr cl)
{
    struct vnc_client *c = cl->clientData;
    if (!c)
        return;
    struct vnc *v = c->v;
    /* libvncserver 0.9.14 never frees a client's extension records */
    for (rfbExtensionData *e = cl->extensions, *next; e; e = next) {
        next = e->next;
        free(e->data);
        free(e);
    }
    cl->extensions = NULL;
    pthread_mutex_lock(&v->lock);
    c->cl = NULL;
    if (c->shut_fd >= 0)
        close(c->shut_fd);
    c->shut_fd = -1;
    pthread_mutex_unlock(&v->lock);
    ev_simple(v, VEV_GONE, c);
}

/* vnc-in */
static void vnc_kbd(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
    struct vnc_client *c = cl->clientData;
    struct vnc_event *e = g_new0(struct vnc_event, 1);
    e->type = VEV_KEY;
    e->c = c;
    e->down = down;
    e->keysym = keysym;
    ev_push(c->v, e);
}

/* vnc-in */
static void vnc_ptr(int mask, int x, int y, rfbClientPtr cl)
{
    struct vnc_client *c = cl->clientData;
    struct vnc_event *e = g_new0(struct vnc_event, 1);
    e->type = VEV_PTR;
    e->c = c;
    e->mask = mask;
    e->x = x;
    e->y = y;
    ev_push(c->v, e);
}

/* vnc-out, before every update: give the writer thread its name. */
static void vnc_display_hook(rfbClientPtr cl)
{
    static __thread bool named;
    if (!named) {
        pthread_setname_np(pthread_self(), "vnc-out");
        named = true;
    }
    /* No LastRect markers, as from QEMU: vncsnapshot 1.2a asks for them
     * with Tight but cannot parse one, and waits forever. */
    cl->enableLastRectEncoding = FALSE;
}

/* The protocol extension: QEMU Extended Key Events, plus a close hook on
 * every client (enabled at connect). */
static rfbBool vnc_ext_new(rfbClientPtr cl, void **data)
{
    *data = NULL;
    return TRUE;
}

/* rfbCloseClient(), any thread: make a writer blocked on this socket give
 * up now instead of after VNC_CLIENT_TIMEOUT_MS. */
static void vnc_ext_close(rfbClientPtr cl, void *data)
{
    struct vnc_client *c = cl->clientData;
    if (!c)
        return;
    pthread_mutex_lock(&c->v->lock);
    if (c->shut_fd >= 0)
        shutdown(c->shut_fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->v->lock);
}

/* vnc-in, SetEncodings with -258: acknowledge it with an empty
 * pseudo-rectangle of that encoding (what QEMU sends; clients enable the
 * extended key message on seeing it).  The acknowledgement is written by
 * vnc-out after an update (vnc_display_finished): libvncclient replaces
 * its table of usable messages when libvncserver's SupportedMessages
 * rectangle arrives, so the ack must come after that rectangle. */
static rfbBool vnc_ext_encoding(rfbClientPtr cl, void **data, int enc)
{
    if (enc != (int)rfbEncodingQemuExtendedKeyEvent)
        return FALSE;
    struct vnc_client *c = cl->clientData;
    g_atomic_int_set(&c->ext_ack, 1);
    return TRUE;
}

/* vnc-out, after each update, holding the client's sendMutex. */
static void vnc_display_finished(rfbClientPtr cl, int result)
{
    struct vnc_client *c = cl->clientData;
    if (!c || !result || cl->enableSupportedMessages || !g_atomic_int_get(&c->ext_ack))
        return; /* a SupportedMessages rectangle is still to go: ack after it */
    static const uint8_t ack[16] = {rfbFramebufferUpdate,
                                    0,
                                    0,
                                    1, /* one rectangle */
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0, /* x y w h = 0 */
                                    0xff,
                                    0xff,
                                    0xfe,
                                    0xfe}; /* -258 */
    g_atomic_int_set(&c->ext_ack, 0);
    rfbWriteExact(cl, (const char *)ack, sizeof(ack));
}

/* vnc-in: message type 255 (QEMU client message). */
static rfbBool vnc_ext_message(rfbClientPtr cl, void *data, const rfbClientToServerMsg *msg)
{
    if (msg->type != RFB_QEMU_MSG)
        return FALSE;
    uint8_t b[11]; /* subtype, down(2), keysym(4), keycode(4) */
    if (rfbReadExact(cl, (char *)b, 1) <= 0) {
        rfbCloseClient(cl);
        return TRUE;
    }
    if (b[0] != RFB_QEMU_EXT_KEY) {
        rfbErr("vnc: unsupported QEMU client message subtype %u; closing\n", b[0]);
        rfbCloseClient(cl);
        return TRUE;
    }
    if (rfbReadExact(cl, (char *)b + 1, 10) <= 0) {
        rfbCloseClient(cl);
        return TRUE;
    }
    struct vnc_client *c = cl->clientData;
    struct vnc_event *e = g_new0(struct vnc_event, 1);
    e->type = VEV_EXTKEY;
    e->c = c;
    e->down = (b[1] << 8 | b[2]) != 0;
    e->keysym = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 8 | b[6];
    e->keycode = (uint32_t)b[7] << 24 | (uint32_t)b[8] << 16 | (uint32_t)b[9] << 8 | b[10];
    ev_push(c->v, e);
    return TRUE;
}

static int vnc_ext_encodings[] = {(int)rfbEncodingQemuExtendedKeyEvent, 0};

static rfbProtocolExtension vnc_ext = {
    .newClient = vnc_ext_new,
    .pseudoEncodings = vnc_ext_encodings,
    .enablePseudoEncoding = vnc_ext_encoding,
    .handleMessage = vnc_ext_message,
    .close = vnc_ext_close,
};

/* ------------------------------------------------------- vnc-accept ---- */

static gpointer vnc_accept_main(gpointer data)
{
    struct vnc *v = data;
    thread_drop_caps(); /* started before deprivileging: src/threads.h */
    for (;;) {
        struct pollfd p[3];
        unsigned n = 0;
        for (unsigned i = 0; i < v->nlfd; i++)
            p[n++] = (struct pollfd){.fd = v->lfd[i], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = v->stop_efd, .events = POLLIN};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[n - 1].revents)
            break;
        for (unsigned i = 0; i + 1 < n; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            g_atomic_int_inc(&v->connections);
            /* too many half-open connections: don't spend a handshake slot */
            if ((unsigned)g_atomic_int_get(&v->hs_atomic) >= v->max_conns) {
                close(fd);
                continue;
            }
            /* the stand-in socket of the header comment */
            int sp[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                vnc_rfb_err("cannot greet a client: socketpair: %s", strerror(errno));
                close(fd);
                continue;
            }
            if (write(sp[1], "RFB ", 4) != 4) {
                close(sp[0]);
                close(sp[1]);
                close(fd);
                continue;
            }
            accept_real_fd = fd;
            accept_fd_taken = false;
            rfbClientPtr cl = rfbNewClient(v->screen, sp[0]); /* -> vnc_new_client */
            accept_real_fd = -1;
            if (accept_fd_taken)
                close(sp[0]); /* else libvncserver closed it, and fd is ours */
            else
                close(fd);
            close(sp[1]);
            if (cl && cl->clientData)
                ev_simple(v, VEV_NEW, cl->clientData);
        }
    }
    return NULL;
}

/* ------------------------------------------------------ framebuffer ---- */

/* Copy a rectangle of the current surface into the RFB framebuffer. */
static void copy_rect(struct vnc *v, pixman_image_t *dst, unsigned dw, unsigned dh, int x, int y,
                      int w, int h)
{
    pixman_image_t *src = fb_image();
    if (!src)
        return;
    int sw = pixman_image_get_width(src), sh = pixman_image_get_height(src);
    if (x < 0) {
        w += x;
        x = 0;
    }
    if (y < 0) {
        h += y;
        y = 0;
    }
    int mw = sw < (int)dw ? sw : (int)dw, mh = sh < (int)dh ? sh : (int)dh;
    if (x + w > mw)
        w = mw - x;
    if (y + h > mh)
        h = mh - y;
    if (w <= 0 || h <= 0)
        return;
    if (pixman_image_get_format(src) == PIXMAN_x8r8g8b8) {
        const uint8_t *s = (const uint8_t *)pixman_image_get_data(src);
        int ss = pixman_image_get_stride(src);
        uint8_t *d = (uint8_t *)pixman_image_get_data(dst);
        int ds = pixman_image_get_stride(dst);
        for (int r = y; r < y + h; r++)
            memcpy(d + (size_t)r * ds + (size_t)x * 4, s + (size_t)r * ss + (size_t)x * 4,
                   (size_t)w * 4);
    } else {
        pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, x, y, 0, 0, x, y, w, h);
    }
}

/* The core's published frame, if it can be the RFB framebuffer of a
 * w x h screen as it is (see "Sharing the framebuffer" above). */
static pixman_image_t *shareable_frame(unsigned w, unsigned h)
{
    pixman_image_t *f = fb_frame();
    if (!f || pixman_image_get_format(f) != PIXMAN_x8r8g8b8 ||
        pixman_image_get_width(f) != (int)w || pixman_image_get_height(f) != (int)h)
        return NULL;
    return f;
}

static void vnc_fb_resize(void *opaque, unsigned w, unsigned h);

static void vnc_fb_update(void *opaque, int x, int y, int w, int h)
{
    struct vnc *v = opaque;
    if (v->resize_pending)
        return; /* the whole new frame is taken when the resize goes through */
    pixman_image_t *f = shareable_frame(v->w, v->h);
    if (f != (v->rfb_fb ? NULL : v->rfb_img)) {
        /* the core's frame came, went or was replaced: swap buffers as for
         * a resize (the new one holds the whole picture) */
        v->st.frame_swaps++;
        vnc_fb_resize(v, v->w, v->h);
        return;
    }
    if (v->rfb_fb)
        copy_rect(v, v->rfb_img, v->w, v->h, x, y, w, h);
    rfbMarkRectAsModified(v->screen, x, y, x + w, y + h);
    v->st.updates++;
}

/* Swap in a w x h framebuffer if no writer is busy.  Main thread. */
static bool vnc_try_resize(struct vnc *v)
{
    unsigned w = v->pend_w, h = v->pend_h;
    uint8_t *nfb = NULL;
    pixman_image_t *nimg = shareable_frame(w, h);
    if (nimg) {
        pixman_image_ref(nimg);
    } else {
        nfb = fb_frame_alloc((size_t)w * h * 4);
        nimg = nfb ? pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, (uint32_t *)nfb,
                                              (int)w * 4)
                   : NULL;
        if (!nimg) {
            free(nfb);
            LOG_GUEST("vnc", "no memory for a %ux%u framebuffer", w, h);
            return false;
        }
        copy_rect(v, nimg, w, h, 0, 0, (int)w, (int)h);
    }

    pthread_mutex_lock(&v->lock);
    GPtrArray *held = g_ptr_array_new();
    bool busy = false;
    for (struct vnc_client *c = v->clients; c; c = c->next) {
        c->resize_busy = false;
        if (!c->cl)
            continue;
        if (pthread_mutex_trylock(&c->cl->sendMutex) == 0) {
            g_ptr_array_add(held, c->cl);
        } else {
            c->resize_busy = true;
            busy = true;
        }
    }
    if (busy) {
        for (unsigned i = 0; i < held->len; i++)
            pthread_mutex_unlock(&((rfbClientPtr)held->pdata[i])->sendMutex);
        g_ptr_array_free(held, TRUE);
        pthread_mutex_unlock(&v->lock);
        pixman_image_unref(nimg);
        free(nfb);
        v->st.resize_retries++;
        return false;
    }
    rfbScreenInfoPtr s = v->screen;
    pthread_mutex_lock(&s->cursorMutex);
    s->width = (int)w;
    s->height = (int)h;
    s->paddedWidthInBytes = pixman_image_get_stride(nimg);
    s->frameBuffer = (char *)pixman_image_get_data(nimg);
    if (s->cursorX >= (int)w)
        s->cursorX = (int)w - 1;
    if (s->cursorY >= (int)h)
        s->cursorY = (int)h - 1;
    for (unsigned i = 0; i < held->len; i++) {
        rfbClientPtr cl = held->pdata[i];
        pthread_mutex_lock(&cl->updateMutex);
        sraRgnDestroy(cl->modifiedRegion);
        cl->modifiedRegion = sraRgnCreateRect(0, 0, (int)w, (int)h);
        sraRgnMakeEmpty(cl->copyRegion);
        cl->copyDX = cl->copyDY = 0;
        if (cl->useNewFBSize)
            cl->newFBSizePending = TRUE;
        pthread_cond_signal(&cl->updateCond);
        pthread_mutex_unlock(&cl->updateMutex);
    }
    pthread_mutex_unlock(&s->cursorMutex);
    for (unsigned i = 0; i < held->len; i++)
        pthread_mutex_unlock(&((rfbClientPtr)held->pdata[i])->sendMutex);
    g_ptr_array_free(held, TRUE);
    pthread_mutex_unlock(&v->lock);

    pixman_image_unref(v->rfb_img);
    free(v->rfb_fb); /* NULL when it was the core's frame */
    v->rfb_img = nimg;
    v->rfb_fb = nfb;
    v->w = w;
    v->h = h;
    v->resize_pending = false;
    v->resize_since = 0;
    v->st.resizes++;
    return true;
}

static gboolean vnc_resize_retry(gpointer data)
{
    struct vnc *v = data;
    if (!v->resize_pending || vnc_try_resize(v)) {
        v->resize_timer = 0;
        return G_SOURCE_REMOVE;
    }
    if (g_get_monotonic_time() - v->resize_since > (gint64)VNC_RESIZE_STALL_MS * 1000) {
        for (struct vnc_client *c = v->clients; c; c = c->next) {
            if (c->resize_busy && !c->closing) {
                log_msg("vnc", "client %s:%s is stalled; disconnecting it to resize", c->host,
                        c->service);
                vnc_drop(c, true);
            }
        }
    }
    return G_SOURCE_CONTINUE;
}

static void vnc_fb_resize(void *opaque, unsigned w, unsigned h)
{
    struct vnc *v = opaque;
    if (w == v->w && h == v->h && !v->resize_pending &&
        shareable_frame(w, h) == (v->rfb_fb ? NULL : v->rfb_img))
        return;
    v->pend_w = w;
    v->pend_h = h;
    if (!v->resize_pending) {
        v->resize_pending = true;
        v->resize_since = g_get_monotonic_time();
    }
    if (!vnc_try_resize(v) && !v->resize_timer)
        v->resize_timer = g_timeout_add(VNC_RESIZE_RETRY_MS, vnc_resize_retry, v);
}

static const struct fb_listener_ops vnc_fb_ops = {
    .resize = vnc_fb_resize,
    .update = vnc_fb_update,
};

/* Listen to the framebuffer core only while someone is connected. */
void vnc_listener_update(struct vnc *v)
{
    bool want = v->nclients + v->nhandshaking > 0;
    if (want && !v->listener) {
        v->listener = fb_add_listener(&vnc_fb_ops, v);
    } else if (!want && v->listener) {
        fb_remove_listener(v->listener);
        v->listener = NULL;
    }
}

/* ------------------------------------------------------ main-side events -- */

static void vnc_client_new(struct vnc *v, struct vnc_client *c)
{
    c->next = v->clients;
    v->clients = c;
    v->nhandshaking++;
    v->st.connections = (uint64_t)g_atomic_int_get(&v->connections);
    vnc_listener_update(v);
    if (g_atomic_int_get(&v->stopping)) {
        vnc_drop(c, false);
        return;
    }
    vnc_hs_begin(c);
}

/*
 * libvncserver 0.9.14 can lose the wake-up that ends a client's writer:
 * clientOutput() looks at cl->sock without updateMutex and then waits on
 * updateCond, so the signal clientInput() sends when the socket closes may
 * come in between; clientInput() then waits forever in pthread_join() and
 * the client is never gone (found by fuzz-vnc, about once in 15-20 thousand
 * connections).  When the socket is shut down (by the viewer or by us) the
 * main thread sees it hang up and wakes the writer every
 * VNC_GONE_KICK_MS until the client is gone.  Idle clients cost nothing.
 */
static gboolean vnc_kick_writer(gpointer data)
{
    struct vnc_client *c = data;
    pthread_mutex_lock(&c->v->lock);
    if (c->cl) {
        pthread_mutex_lock(&c->cl->updateMutex);
        pthread_cond_broadcast(&c->cl->updateCond);
        pthread_mutex_unlock(&c->cl->updateMutex);
    }
    pthread_mutex_unlock(&c->v->lock);
    return G_SOURCE_CONTINUE;
}

static gboolean vnc_client_hangup(gint fd, GIOCondition cond, gpointer data)
{
    struct vnc_client *c = data;
    c->hup_watch = 0;
    vnc_kick_writer(c);
    c->kick_timer = g_timeout_add(VNC_GONE_KICK_MS, vnc_kick_writer, c);
    return G_SOURCE_REMOVE;
}

void vnc_watch_hangup(struct vnc_client *c)
{
    if (c->shut_fd >= 0)
        c->hup_watch = g_unix_fd_add(c->shut_fd, G_IO_HUP | G_IO_ERR, vnc_client_hangup, c);
}

static void vnc_client_free(struct vnc *v, struct vnc_client *c)
{
    vnc_hs_cancel(c);
    if (c->hup_watch)
        g_source_remove(c->hup_watch);
    if (c->kick_timer)
        g_source_remove(c->kick_timer);
    c->hup_watch = c->kick_timer = 0;
    if (c->has_thread)
        pthread_join(c->in_thread, NULL); /* it is returning: gone was its last act */
    vnc_client_release_all(c);
    for (struct vnc_client **pp = &v->clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (c->state == VC_ESTABLISHED) {
        v->nclients--;
        log_msg("vnc", "client %s:%s disconnected", c->host, c->service);
    } else {
        v->nhandshaking--;
        g_atomic_int_add(&v->hs_atomic, -1);
    }
    vnc_cursor_client_free(c);
    g_free(c);
    vnc_listener_update(v);
}

static void vnc_drain(struct vnc *v)
{
    GQueue q = G_QUEUE_INIT;
    pthread_mutex_lock(&v->evlock);
    q = v->evq;
    g_queue_init(&v->evq);
    v->ninput = 0;
    pthread_cond_broadcast(&v->evcond);
    pthread_mutex_unlock(&v->evlock);
    struct vnc_event *e;
    while ((e = g_queue_pop_head(&q))) {
        switch (e->type) {
        case VEV_NEW:
            vnc_client_new(v, e->c);
            break;
        case VEV_GONE:
            vnc_client_free(v, e->c);
            break;
        case VEV_KEY:
            vnc_client_key(e->c, e->down, e->keysym, 0);
            fb_kick();
            break;
        case VEV_EXTKEY:
            vnc_client_extkey(e->c, e->down, e->keysym, e->keycode);
            fb_kick();
            break;
        case VEV_PTR:
            vnc_client_pointer(e->c, e->mask, e->x, e->y);
            fb_kick();
            break;
        case VEV_LOG:
            LOG_GUEST("vnc", "%s", e->msg);
            g_free(e->msg);
            break;
        }
        g_free(e);
    }
}

static gboolean vnc_events_ready(gint fd, GIOCondition cond, gpointer data)
{
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof(n));
    (void)r;
    vnc_drain(data);
    return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------- public API -- */

struct vnc *vnc_start(const char *spec, GError **err)
{
    struct vnc_spec o;
    if (vnc_current)
        return vnc_fail(err, "-vnc: only one VNC server is supported");
    if (!spec || !parse_spec(spec, &o, err))
        return spec ? NULL : vnc_fail(err, "-vnc: no display given");

    struct vnc *v = g_new0(struct vnc, 1);
    v->efd = v->stop_efd = -1;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&v->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&v->evlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->evcond, &ca);
    pthread_condattr_destroy(&ca);
    g_queue_init(&v->evq);
    v->password_on = o.password;
    v->share = o.share;
    v->max_conns = o.connections;
    snprintf(v->desktop, sizeof(v->desktop), "xendm");

    /* bind: 5900+D, then up to 5900+L (QEMU's to=) */
    int port = -1;
    for (unsigned d = o.display; d <= o.to; d++) {
        bool busy;
        int n = listen_port(v, o.host, 5900 + (int)d, &busy, err);
        if (n < 0)
            goto fail;
        if (n > 0) {
            port = 5900 + (int)d;
            break;
        }
    }
    if (port < 0) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                    "-vnc %s: ports %u-%u are all in use", spec, 5900 + o.display, 5900 + o.to);
        goto fail;
    }
    v->port = port;
    describe_listener(v);

    /* the published framebuffer */
    v->w = fb_width() ? fb_width() : VNC_DEFAULT_W;
    v->h = fb_height() ? fb_height() : VNC_DEFAULT_H;
    v->rfb_fb = fb_frame_alloc((size_t)v->w * v->h * 4);
    if (!v->rfb_fb) {
        vnc_fail(err, "-vnc: no memory for the framebuffer");
        goto fail;
    }
    v->rfb_img = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)v->w, (int)v->h,
                                          (uint32_t *)v->rfb_fb, (int)v->w * 4);
    copy_rect(v, v->rfb_img, v->w, v->h, 0, 0, (int)v->w, (int)v->h);

    rfbLog = vnc_rfb_log;
    rfbErr = vnc_rfb_err;
    int argc = 0;
    v->screen = rfbGetScreen(&argc, NULL, (int)v->w, (int)v->h, 8, 3, 4);
    if (!v->screen) {
        vnc_fail(err, "-vnc: libvncserver could not create a screen");
        goto fail;
    }
    rfbScreenInfoPtr s = v->screen;
    s->screenData = v;
    s->frameBuffer = (char *)v->rfb_fb;
    /* x8r8g8b8 in memory on a little-endian host: 0x00RRGGBB */
    s->serverFormat.redShift = 16;
    s->serverFormat.greenShift = 8;
    s->serverFormat.blueShift = 0;
    s->serverFormat.depth = 24; /* 32 bits per pixel, 24 of colour: what QEMU announces */
    s->desktopName = v->desktop;
    s->cursor = NULL;       /* never libvncserver's software cursor: vnc-cursor.c */
    s->alwaysShared = TRUE; /* sharing is decided in hs_establish() */
    s->deferUpdateTime = VNC_DEFER_UPDATE_MS;
    s->deferPtrUpdateTime = 0; /* deferred pointer events need rfbProcessEvents */
    s->maxClientWait = VNC_CLIENT_TIMEOUT_MS;
    s->backgroundLoop = TRUE; /* per-client threads; our own accept thread */
    s->newClientHook = vnc_new_client;
    s->kbdAddEvent = vnc_kbd;
    s->ptrAddEvent = vnc_ptr;
    s->displayHook = vnc_display_hook;
    s->displayFinishedHook = vnc_display_finished;
    s->ignoreSIGPIPE = FALSE;
    rfbRegisterProtocolExtension(&vnc_ext);
    /* libvncserver writes with write(): SIGPIPE must not kill us (main.c
     * ignores it already; tests and other embedders may not) */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->efd < 0 || v->stop_efd < 0) {
        vnc_fail(err, "-vnc: eventfd: %s", g_strerror(errno));
        goto fail;
    }
    v->ev_watch = g_unix_fd_add(v->efd, G_IO_IN, vnc_events_ready, v);
    vnc_current = v;
    v->accept_thread = g_thread_try_new("vnc-accept", vnc_accept_main, v, err);
    if (!v->accept_thread) {
        vnc_current = NULL;
        goto fail;
    }
    vnc_cursor_start(v); /* no writer runs before main establishes a client */
    log_msg("vnc", "listening on %s:%d%s", v->host, v->port, v->password_on ? " (password)" : "");
    g_free(o.host);
    return v;

fail:
    if (v->ev_watch)
        g_source_remove(v->ev_watch);
    if (v->efd >= 0)
        close(v->efd);
    if (v->stop_efd >= 0)
        close(v->stop_efd);
    for (unsigned i = 0; i < v->nlfd; i++)
        close(v->lfd[i]);
    if (v->screen)
        rfbScreenCleanup(v->screen);
    if (v->rfb_img)
        pixman_image_unref(v->rfb_img);
    free(v->rfb_fb);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->evlock);
    pthread_cond_destroy(&v->evcond);
    g_free(v);
    g_free(o.host);
    return NULL;
}

void vnc_stop(struct vnc *v)
{
    if (!v)
        return;
    g_atomic_int_set(&v->stopping, 1);
    /* no new connections */
    uint64_t one = 1;
    ssize_t r = write(v->stop_efd, &one, sizeof(one));
    (void)r;
    g_thread_join(v->accept_thread);
    pthread_mutex_lock(&v->evlock);
    pthread_cond_broadcast(&v->evcond);
    pthread_mutex_unlock(&v->evlock);
    /* everyone out: handshakes are refused at once, readers are told */
    vnc_drain(v);
    for (struct vnc_client *c = v->clients; c; c = c->next)
        vnc_drop(c, false);
    while (v->clients) {
        vnc_drain(v);
        if (!v->clients)
            break;
        struct pollfd p = {.fd = v->efd, .events = POLLIN};
        poll(&p, 1, 100);
    }
    if (v->resize_timer)
        g_source_remove(v->resize_timer);
    g_source_remove(v->ev_watch);
    if (v->listener)
        fb_remove_listener(v->listener);
    vnc_cursor_stop(v);
    for (unsigned i = 0; i < v->nlfd; i++)
        close(v->lfd[i]);
    close(v->efd);
    close(v->stop_efd);
    rfbScreenCleanup(v->screen);
    vnc_current = NULL;
    pixman_image_unref(v->rfb_img);
    free(v->rfb_fb);
    km_free(v->km);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->evlock);
    pthread_cond_destroy(&v->evcond);
    explicit_bzero(v->password, sizeof(v->password));
    log_msg("vnc", "stopped");
    g_free(v);
}

int vnc_port(const struct vnc *v)
{
    return v ? v->port : -1;
}

const char *vnc_host(const struct vnc *v)
{
    return v ? v->host : NULL;
}

int vnc_set_password(struct vnc *v, const char *password)
{
    if (!v || !v->password_on || !password)
        return -EINVAL;
    explicit_bzero(v->password, sizeof(v->password));
    strncpy(v->password, password, 8); /* DES key: 8 significant characters */
    v->password_set = true;
    return 0;
}

int vnc_set_keymap(struct vnc *v, const char *layout, GError **err)
{
    struct vnc_keymap *km = km_load(layout, err);
    if (!km)
        return -EINVAL;
    /* keys held under the old map are released with the codes they went
     * down with (recorded per client), so swapping is safe */
    km_free(v->km);
    v->km = km;
    return 0;
}

void vnc_set_name(struct vnc *v, const char *name)
{
    if (name && *name)
        snprintf(v->desktop, sizeof(v->desktop), "xendm (%s)", name);
    else
        snprintf(v->desktop, sizeof(v->desktop), "xendm");
}

static const char *family_name(int f)
{
    return f == AF_INET6 ? "ipv6" : f == AF_UNIX ? "unix" : "ipv4";
}

void vnc_query(const struct vnc *v, JsonBuilder *b)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, v != NULL);
    if (v) {
        char svc[12];
        snprintf(svc, sizeof(svc), "%d", v->port);
        json_builder_set_member_name(b, "host");
        json_builder_add_string_value(b, v->host);
        json_builder_set_member_name(b, "family");
        json_builder_add_string_value(b, v->family);
        json_builder_set_member_name(b, "service");
        json_builder_add_string_value(b, svc);
        json_builder_set_member_name(b, "auth");
        json_builder_add_string_value(b, v->password_on ? "vnc" : "none");
        json_builder_set_member_name(b, "clients");
        json_builder_begin_array(b);
        for (const struct vnc_client *c = v->clients; c; c = c->next) {
            if (c->state != VC_ESTABLISHED || c->closing)
                continue;
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "host");
            json_builder_add_string_value(b, c->host);
            json_builder_set_member_name(b, "service");
            json_builder_add_string_value(b, c->service);
            json_builder_set_member_name(b, "family");
            json_builder_add_string_value(b, family_name(c->family));
            json_builder_set_member_name(b, "websocket");
            json_builder_add_boolean_value(b, false);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
}

void vnc_get_stats(const struct vnc *v, struct vnc_stats *st)
{
    *st = v->st;
    st->clients = v->nclients;
    st->handshaking = v->nhandshaking;
    st->connections = (uint64_t)g_atomic_int_get(&((struct vnc *)v)->connections);
}
