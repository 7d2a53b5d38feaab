/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character backends of chardev.h: null, pty, file, unix and tcp sockets.
 *
 * Each backend is a descriptor watched by the default GLib main context:
 * an input watch (only while the front end has room, else a hang-up watch),
 * an output watch (only while bytes are queued), and for servers a listen
 * watch (only while no client is connected).  A pty with nobody on the
 * slave side reports POLLHUP on its master; it is then checked once per
 * PTY_POLL_MS and again at every write, like QEMU's pty chardev.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "src/chardev.h"
#include "src/log.h"

/* How often a pty without a reader is checked for one (QEMU: 1 s). */
#define PTY_POLL_MS 1000
/* Largest single read from a backend. */
#define CHARDEV_READ_MAX 4096

enum chardev_kind { CD_NULL, CD_PTY, CD_FILE, CD_SOCKET };

enum in_mode { IN_NONE, IN_HUP, IN_READ };

struct chardev {
    char *label, *filename;
    enum chardev_kind kind;

    /* sockets */
    bool is_unix, server, wait, nodelay, ever_connected, unlink_path, append;
    char *path, *host, *port;
    int listen_fd;
    guint listen_src, connect_src;

    /* the data descriptor (pty master, file, connected socket) */
    int fd;
    bool connected;
    guint in_src, out_src, timer_src;
    enum in_mode in_mode;
    GByteArray *outq;

    /* files: the writer thread's side */
    GThread *writer;
    GMutex lock;
    GCond cond;
    GByteArray *pending;
    bool stop;
    bool write_error;
    uint64_t file_done; /* bytes the writer has written (under lock) */

    chardev_can_receive_fn can_receive;
    chardev_receive_fn receive;
    void *opaque;

    struct chardev_stats st;
    struct chardev *next;
};

static struct chardev *chardevs;

static void update_watches(struct chardev *cd);

static void set_error(GError **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_error(GError **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, G_FILE_ERROR, g_file_error_from_errno(errnum), msg);
    g_free(msg);
}

static void remove_source(guint *src)
{
    if (*src) {
        g_source_remove(*src);
        *src = 0;
    }
}

/* ---- names ---- */

static char *socket_address(const struct chardev *cd, const char *prefix)
{
    if (cd->is_unix)
        return g_strdup_printf("%sunix:%s%s", prefix, cd->path, cd->server ? ",server=on" : "");
    return g_strdup_printf("%stcp:%s:%s%s", prefix, cd->host, cd->port,
                           cd->server ? ",server=on" : "");
}

static void sockaddr_text(const struct sockaddr_storage *ss, socklen_t len, char *host, size_t hlen,
                          char *serv, size_t slen, bool *v6)
{
    *v6 = ss->ss_family == AF_INET6;
    if (getnameinfo((const struct sockaddr *)ss, len, host, (socklen_t)hlen, serv, (socklen_t)slen,
                    NI_NUMERICHOST | NI_NUMERICSERV)) {
        g_strlcpy(host, "?", hlen);
        g_strlcpy(serv, "?", slen);
    }
}

/* What QEMU's query-chardev says for a connected socket. */
static char *socket_connected_name(const struct chardev *cd)
{
    struct sockaddr_storage ls = {0}, ps = {0};
    socklen_t llen = sizeof(ls), plen = sizeof(ps);

    getsockname(cd->fd, (struct sockaddr *)&ls, &llen);
    if (ls.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&ls;
        size_t n = llen > offsetof(struct sockaddr_un, sun_path)
                       ? llen - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        char *p = g_strndup(un->sun_path, n);
        char *r = g_strdup_printf("unix:%s%s", p, cd->server ? ",server=on" : "");
        g_free(p);
        return r;
    }
    getpeername(cd->fd, (struct sockaddr *)&ps, &plen);
    char lh[NI_MAXHOST], lp[NI_MAXSERV], ph[NI_MAXHOST], pp[NI_MAXSERV];
    bool v6, pv6;
    sockaddr_text(&ls, llen, lh, sizeof(lh), lp, sizeof(lp), &v6);
    sockaddr_text(&ps, plen, ph, sizeof(ph), pp, sizeof(pp), &pv6);
    return g_strdup_printf("tcp:%s%s%s:%s%s <-> %s%s%s:%s", v6 ? "[" : "", lh, v6 ? "]" : "", lp,
                           cd->server ? ",server=on" : "", v6 ? "[" : "", ph, v6 ? "]" : "", pp);
}

static void set_filename(struct chardev *cd, char *name)
{
    g_free(cd->filename);
    cd->filename = name;
}

/* ---- connection state ---- */

static void discard_queue(struct chardev *cd)
{
    cd->st.discarded += cd->outq->len;
    g_byte_array_set_size(cd->outq, 0);
}

static gboolean pty_timer(gpointer data);
static gboolean on_listen(gint fd, GIOCondition cond, gpointer data);

/* The peer went away. */
static void peer_gone(struct chardev *cd, const char *why)
{
    if (!cd->connected)
        return;
    cd->connected = false;
    remove_source(&cd->in_src);
    remove_source(&cd->out_src);
    cd->in_mode = IN_NONE;
    discard_queue(cd);
    if (cd->kind == CD_PTY) {
        /* keep the master; look for a new reader from time to time */
        if (!cd->timer_src)
            cd->timer_src = g_timeout_add(PTY_POLL_MS, pty_timer, cd);
        return;
    }
    log_msg("chardev", "%s: %s disconnected (%s)", cd->label, cd->filename, why);
    close(cd->fd);
    cd->fd = -1;
    set_filename(cd, socket_address(cd, "disconnected:"));
    if (cd->server && cd->listen_fd >= 0 && !cd->listen_src)
        cd->listen_src = g_unix_fd_add(cd->listen_fd, G_IO_IN, on_listen, cd);
}

/* A pty is connected when its master does not report a hang-up. */
static bool pty_check(struct chardev *cd)
{
    struct pollfd p = {.fd = cd->fd, .events = POLLOUT};
    int rc;
    do {
        rc = poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 || (p.revents & (POLLHUP | POLLERR | POLLNVAL)) || !(p.revents & POLLOUT))
        return false;
    cd->connected = true;
    remove_source(&cd->timer_src);
    update_watches(cd);
    return true;
}

static gboolean pty_timer(gpointer data)
{
    struct chardev *cd = data;
    struct pollfd p = {.fd = cd->fd, .events = POLLOUT};
    if (poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR | POLLNVAL)) &&
        (p.revents & POLLOUT)) {
        cd->timer_src = 0;
        cd->connected = true;
        update_watches(cd);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- input ---- */

static gboolean on_input(gint fd, GIOCondition cond, gpointer data)
{
    struct chardev *cd = data;
    uint8_t buf[CHARDEV_READ_MAX];

    cd->in_src = 0;
    cd->in_mode = IN_NONE;
    if (cond & G_IO_IN) {
        size_t room = cd->can_receive ? cd->can_receive(cd->opaque) : 0;
        if (room) {
            ssize_t n = read(fd, buf, room < sizeof(buf) ? room : sizeof(buf));
            if (n > 0) {
                cd->st.received += (uint64_t)n;
                cd->receive(cd->opaque, buf, (size_t)n);
            } else if (n == 0) {
                peer_gone(cd, "end of file");
            } else if (errno != EAGAIN && errno != EINTR) {
                peer_gone(cd, g_strerror(errno));
            }
        }
    } else if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) {
        peer_gone(cd, "hang-up");
    }
    update_watches(cd);
    return G_SOURCE_REMOVE;
}

/* ---- output ---- */

static gboolean on_output(gint fd, GIOCondition cond, gpointer data)
{
    struct chardev *cd = data;

    if (cond & (G_IO_ERR | G_IO_NVAL)) {
        cd->out_src = 0;
        peer_gone(cd, "error");
        return G_SOURCE_REMOVE;
    }
    while (cd->outq->len) {
        ssize_t n = cd->kind == CD_SOCKET
                        ? send(fd, cd->outq->data, cd->outq->len, MSG_NOSIGNAL | MSG_DONTWAIT)
                        : write(fd, cd->outq->data, cd->outq->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return G_SOURCE_CONTINUE;
        if (n <= 0) {
            cd->out_src = 0;
            peer_gone(cd, n < 0 ? g_strerror(errno) : "closed");
            return G_SOURCE_REMOVE;
        }
        cd->st.written += (uint64_t)n;
        g_byte_array_remove_range(cd->outq, 0, (guint)n);
    }
    cd->out_src = 0;
    return G_SOURCE_REMOVE;
}

static void update_watches(struct chardev *cd)
{
    enum in_mode want = IN_NONE;

    if (cd->fd >= 0 && cd->connected && (cd->kind == CD_PTY || cd->kind == CD_SOCKET)) {
        want = IN_HUP;
        if (cd->receive && cd->can_receive && cd->can_receive(cd->opaque))
            want = IN_READ;
    }
    if (want != cd->in_mode) {
        remove_source(&cd->in_src);
        if (want != IN_NONE)
            cd->in_src = g_unix_fd_add(
                cd->fd, want == IN_READ ? G_IO_IN | G_IO_HUP | G_IO_ERR : G_IO_HUP | G_IO_ERR,
                on_input, cd);
        cd->in_mode = want;
    }
    if (cd->outq->len && cd->connected && cd->fd >= 0 && !cd->out_src)
        cd->out_src = g_unix_fd_add(cd->fd, G_IO_OUT, on_output, cd);
}

static size_t queue_bytes(struct chardev *cd, const uint8_t *b, size_t len)
{
    size_t room = CHARDEV_QUEUE_MAX - cd->outq->len;
    size_t n = len < room ? len : room;
    if (n)
        g_byte_array_append(cd->outq, b, (guint)n);
    if (n < len) {
        cd->st.dropped += len - n;
        LOG_GUEST("chardev", "%s: output queue full (%u bytes), dropping", cd->label,
                  CHARDEV_QUEUE_MAX);
    }
    return n;
}

static size_t file_write(struct chardev *cd, const uint8_t *b, size_t len)
{
    g_mutex_lock(&cd->lock);
    size_t room = CHARDEV_QUEUE_MAX - cd->pending->len;
    size_t n = len < room ? len : room;
    g_byte_array_append(cd->pending, b, (guint)n);
    g_cond_signal(&cd->cond);
    g_mutex_unlock(&cd->lock);
    cd->st.written += n;
    if (n < len) {
        cd->st.dropped += len - n;
        LOG_GUEST("chardev", "%s: file writer behind by %u bytes, dropping", cd->label,
                  CHARDEV_QUEUE_MAX);
    }
    return n;
}

size_t chardev_write(struct chardev *cd, const void *buf, size_t len)
{
    const uint8_t *b = buf;

    if (!cd || !len)
        return 0;
    switch (cd->kind) {
    case CD_NULL:
        cd->st.discarded += len;
        return len;
    case CD_FILE:
        return file_write(cd, b, len);
    case CD_PTY:
        if (!cd->connected && !pty_check(cd)) {
            cd->st.discarded += len;
            return len;
        }
        break;
    case CD_SOCKET:
        if (!cd->connected) {
            if (cd->server && cd->wait && !cd->ever_connected)
                return queue_bytes(cd, b, len);
            cd->st.discarded += len;
            return len;
        }
        break;
    }

    size_t done = 0;
    if (!cd->outq->len) {
        ssize_t n;
        do {
            n = cd->kind == CD_SOCKET ? send(cd->fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                                      : write(cd->fd, b, len);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN) {
            peer_gone(cd, g_strerror(errno));
            cd->st.discarded += len;
            return len;
        }
        done = n > 0 ? (size_t)n : 0;
        cd->st.written += done;
    }
    done += queue_bytes(cd, b + done, len - done);
    update_watches(cd);
    return done;
}

/* ---- files ---- */

static gpointer file_writer(gpointer data)
{
    struct chardev *cd = data;
    GByteArray *batch = g_byte_array_new();

    g_mutex_lock(&cd->lock);
    for (;;) {
        while (!cd->pending->len && !cd->stop)
            g_cond_wait(&cd->cond, &cd->lock);
        if (!cd->pending->len)
            break;
        GByteArray *t = batch;
        batch = cd->pending;
        cd->pending = t;
        g_mutex_unlock(&cd->lock);
        size_t off = 0;
        while (off < batch->len && !cd->write_error) {
            ssize_t n = write(cd->fd, batch->data + off, batch->len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                cd->write_error = true; /* reported at close */
                break;
            }
            off += (size_t)n;
        }
        g_mutex_lock(&cd->lock);
        cd->file_done += batch->len; /* written, or lost to an error reported at close */
        g_byte_array_set_size(batch, 0);
    }
    g_mutex_unlock(&cd->lock);
    g_byte_array_unref(batch);
    return NULL;
}

/* ---- sockets ---- */

static void socket_connected(struct chardev *cd, int fd)
{
    int one = 1;
    cd->fd = fd;
    cd->connected = true;
    cd->ever_connected = true;
    if (!cd->is_unix && cd->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_filename(cd, socket_connected_name(cd));
    update_watches(cd);
}

static gboolean on_listen(gint fd, GIOCondition cond, gpointer data)
{
    struct chardev *cd = data;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            LOG_GUEST("chardev", "%s: accept: %s", cd->label, g_strerror(errno));
        return G_SOURCE_CONTINUE;
    }
    cd->listen_src = 0;
    socket_connected(cd, c);
    log_msg("chardev", "%s: client connected (%s)", cd->label, cd->filename);
    return G_SOURCE_REMOVE;
}

static gboolean on_connect(gint fd, GIOCondition cond, gpointer data)
{
    struct chardev *cd = data;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    cd->connect_src = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr) {
        log_msg("chardev", "%s: cannot connect to %s: %s", cd->label, cd->filename,
                g_strerror(soerr));
        close(fd);
        cd->fd = -1;
        return G_SOURCE_REMOVE;
    }
    socket_connected(cd, fd);
    return G_SOURCE_REMOVE;
}

static int unix_addr(const char *path, struct sockaddr_un *un, GError **err)
{
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof(un->sun_path)) {
        set_error(err, ENAMETOOLONG, "unix:%s: path empty or longer than %zu bytes", path,
                  sizeof(un->sun_path) - 1);
        return -1;
    }
    memcpy(un->sun_path, path, strlen(path));
    return 0;
}

static int socket_open(struct chardev *cd, GError **err)
{
    if (cd->is_unix) {
        struct sockaddr_un un;
        if (unix_addr(cd->path, &un, err) < 0)
            return -1;
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            set_error(err, errno, "unix:%s: socket: %s", cd->path, g_strerror(errno));
            return -1;
        }
        if (cd->server) {
            if (unlink(cd->path) < 0 && errno != ENOENT) {
                set_error(err, errno, "unix:%s: cannot remove old socket: %s", cd->path,
                          g_strerror(errno));
                close(s);
                return -1;
            }
            if (bind(s, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(s, 1) < 0) {
                set_error(err, errno, "unix:%s: cannot listen: %s", cd->path, g_strerror(errno));
                close(s);
                return -1;
            }
            cd->unlink_path = true;
            cd->listen_fd = s;
            return 0;
        }
        if (connect(s, (struct sockaddr *)&un, sizeof(un)) < 0) {
            set_error(err, errno, "unix:%s: cannot connect: %s", cd->path, g_strerror(errno));
            close(s);
            return -1;
        }
        socket_connected(cd, s);
        return 0;
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res, *ai;
    if (cd->server)
        hints.ai_flags |= AI_PASSIVE;
    int rc = getaddrinfo(*cd->host ? cd->host : NULL, cd->port, &hints, &res);
    if (rc) {
        set_error(err, EINVAL, "tcp:%s:%s: %s", cd->host, cd->port, gai_strerror(rc));
        return -1;
    }
    int last = EADDRNOTAVAIL;
    for (ai = res; ai; ai = ai->ai_next) {
        int s =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) {
            last = errno;
            continue;
        }
        if (cd->server) {
            int one = 1;
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, 1) == 0) {
                cd->listen_fd = s;
                break;
            }
        } else if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
            socket_connected(cd, s);
            break;
        } else if (errno == EINPROGRESS) {
            cd->fd = s;
            cd->connect_src = g_unix_fd_add(s, G_IO_OUT, on_connect, cd);
            break;
        }
        last = errno;
        close(s);
    }
    freeaddrinfo(res);
    if (!ai) {
        set_error(err, last, "tcp:%s:%s: cannot %s: %s", cd->host, cd->port,
                  cd->server ? "listen" : "connect", g_strerror(last));
        return -1;
    }
    return 0;
}

/* QEMU's option syntax: key[=value] separated by ',', ",," a literal comma. */
static char *next_field(const char **p)
{
    GString *s = g_string_new(NULL);
    const char *q = *p;
    while (*q) {
        if (*q == ',') {
            if (q[1] != ',')
                break;
            q++;
        }
        g_string_append_c(s, *q++);
    }
    *p = *q ? q + 1 : q;
    return g_string_free(s, FALSE);
}

static int parse_bool(const char *spec, const char *key, const char *val, bool *out, GError **err)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false")) {
        *out = false;
        return 0;
    }
    set_error(err, EINVAL, "%s: %s=%s: expected on or off", spec, key, val);
    return -1;
}

static int parse_socket_opts(struct chardev *cd, const char *spec, const char *p, GError **err)
{
    cd->wait = true; /* QEMU's default for servers */
    while (*p) {
        char *f = next_field(&p);
        char *eq = strchr(f, '=');
        const char *val = NULL;
        int rc = 0;
        if (eq) {
            *eq = 0;
            val = eq + 1;
        }
        if (!strcmp(f, "server"))
            rc = parse_bool(spec, f, val, &cd->server, err);
        else if (!strcmp(f, "wait"))
            rc = parse_bool(spec, f, val, &cd->wait, err);
        else if (!strcmp(f, "nowait") && !val)
            cd->wait = false;
        else if (!strcmp(f, "nodelay"))
            rc = parse_bool(spec, f, val, &cd->nodelay, err);
        else {
            set_error(err, EINVAL, "%s: unsupported option '%s'", spec, f);
            rc = -1;
        }
        g_free(f);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int parse_spec(struct chardev *cd, const char *spec, GError **err)
{
    const char *p;

    if (!strcmp(spec, "null")) {
        cd->kind = CD_NULL;
    } else if (!strcmp(spec, "pty")) {
        cd->kind = CD_PTY;
    } else if (g_str_has_prefix(spec, "file:")) {
        cd->kind = CD_FILE;
        cd->path = g_strdup(spec + 5);
        if (!*cd->path) {
            set_error(err, EINVAL, "%s: no file name", spec);
            return -1;
        }
    } else if (g_str_has_prefix(spec, "unix:")) {
        cd->kind = CD_SOCKET;
        cd->is_unix = true;
        p = spec + 5;
        cd->path = next_field(&p);
        if (!*cd->path) {
            set_error(err, EINVAL, "%s: no socket path", spec);
            return -1;
        }
        return parse_socket_opts(cd, spec, p, err);
    } else if (g_str_has_prefix(spec, "tcp:")) {
        cd->kind = CD_SOCKET;
        p = spec + 4;
        char *hp = next_field(&p);
        char *colon = hp[0] == '[' ? strstr(hp, "]:") : strrchr(hp, ':');
        if (!colon || !colon[hp[0] == '[' ? 2 : 1]) {
            set_error(err, EINVAL, "%s: expected tcp:HOST:PORT", spec);
            g_free(hp);
            return -1;
        }
        if (hp[0] == '[') {
            cd->host = g_strndup(hp + 1, (gsize)(colon - hp - 1));
            cd->port = g_strdup(colon + 2);
        } else {
            cd->host = g_strndup(hp, (gsize)(colon - hp));
            cd->port = g_strdup(colon + 1);
        }
        g_free(hp);
        return parse_socket_opts(cd, spec, p, err);
    } else {
        set_error(err, EINVAL,
                  "'%s' is not a supported character device (supported: null, pty, "
                  "file:PATH, unix:PATH[,server=on][,wait=off], tcp:HOST:PORT[,server=on]"
                  "[,wait=off])",
                  spec);
        return -1;
    }
    return 0;
}

static int pty_open(struct chardev *cd, GError **err)
{
    int master, slave;
    char name[PATH_MAX];
    struct termios tio;

    if (openpty(&master, &slave, name, NULL, NULL) < 0) {
        set_error(err, errno, "pty: cannot create a pseudo-terminal: %s", g_strerror(errno));
        return -1;
    }
    /* raw: no echo, no line editing, no CR/LF translation (as QEMU) */
    if (tcgetattr(slave, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(slave, TCSAFLUSH, &tio);
    }
    close(slave);
    if (!g_unix_set_fd_nonblocking(master, TRUE, NULL) || fcntl(master, F_SETFD, FD_CLOEXEC) < 0) {
        set_error(err, errno, "pty: %s", g_strerror(errno));
        close(master);
        return -1;
    }
    cd->fd = master;
    cd->filename = g_strdup_printf("pty:%s", name);
    log_msg("chardev", "char device redirected to %s (label %s)", name, cd->label);
    cd->timer_src = g_timeout_add(PTY_POLL_MS, pty_timer, cd);
    return 0;
}

static int file_open(struct chardev *cd, GError **err)
{
    cd->fd =
        open(cd->path, O_WRONLY | O_CREAT | O_CLOEXEC | (cd->append ? O_APPEND : O_TRUNC), 0666);
    if (cd->fd < 0) {
        set_error(err, errno, "file:%s: %s", cd->path, g_strerror(errno));
        return -1;
    }
    cd->connected = true;
    cd->pending = g_byte_array_new();
    g_mutex_init(&cd->lock);
    g_cond_init(&cd->cond);
    cd->writer = g_thread_try_new("chr-file", file_writer, cd, NULL);
    if (!cd->writer) {
        set_error(err, EAGAIN, "file:%s: cannot start the writer thread", cd->path);
        return -1;
    }
    cd->filename = g_strdup("file");
    return 0;
}

struct chardev *chardev_find(const char *label)
{
    for (struct chardev *cd = chardevs; cd; cd = cd->next)
        if (label && !strcmp(cd->label, label))
            return cd;
    return NULL;
}

static void chardev_free(struct chardev *cd)
{
    remove_source(&cd->in_src);
    remove_source(&cd->out_src);
    remove_source(&cd->timer_src);
    remove_source(&cd->listen_src);
    remove_source(&cd->connect_src);
    if (cd->writer) {
        g_mutex_lock(&cd->lock);
        cd->stop = true;
        g_cond_signal(&cd->cond);
        g_mutex_unlock(&cd->lock);
        g_thread_join(cd->writer);
        if (cd->write_error)
            log_msg("chardev", "%s: writing %s failed; output was lost", cd->label, cd->path);
    }
    if (cd->pending) {
        g_byte_array_unref(cd->pending);
        g_mutex_clear(&cd->lock);
        g_cond_clear(&cd->cond);
    }
    if (cd->fd >= 0)
        close(cd->fd);
    if (cd->listen_fd >= 0) {
        close(cd->listen_fd);
        if (cd->unlink_path)
            unlink(cd->path);
    }
    g_byte_array_unref(cd->outq);
    g_free(cd->label);
    g_free(cd->filename);
    g_free(cd->path);
    g_free(cd->host);
    g_free(cd->port);
    g_free(cd);
}

static struct chardev *chardev_new(const char *label, GError **err)
{
    if (!label || !*label) {
        set_error(err, EINVAL, "chardev: a label is required");
        return NULL;
    }
    if (chardev_find(label)) {
        set_error(err, EEXIST, "chardev '%s' already exists", label);
        return NULL;
    }
    struct chardev *cd = g_new0(struct chardev, 1);
    cd->label = g_strdup(label);
    cd->fd = cd->listen_fd = -1;
    cd->outq = g_byte_array_new();
    return cd;
}

/* Open what cd describes and add it to the registry, or free it. */
static struct chardev *chardev_start(struct chardev *cd, GError **err)
{
    int rc = 0;
    switch (cd->kind) {
    case CD_NULL:
        cd->connected = true;
        cd->filename = g_strdup("null");
        break;
    case CD_PTY:
        rc = pty_open(cd, err);
        break;
    case CD_FILE:
        rc = file_open(cd, err);
        break;
    case CD_SOCKET:
        cd->filename = socket_address(cd, "disconnected:");
        rc = socket_open(cd, err);
        if (rc == 0 && cd->server)
            cd->listen_src = g_unix_fd_add(cd->listen_fd, G_IO_IN, on_listen, cd);
        break;
    }
    if (rc < 0) {
        chardev_free(cd);
        return NULL;
    }
    struct chardev **pp = &chardevs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = cd;
    return cd;
}

struct chardev *chardev_open(const char *label, const char *spec, GError **err)
{
    if (!spec) {
        set_error(err, EINVAL, "chardev %s: no backend", label ? label : "");
        return NULL;
    }
    struct chardev *cd = chardev_new(label, err);
    if (!cd)
        return NULL;
    if (parse_spec(cd, spec, err) < 0) {
        chardev_free(cd);
        return NULL;
    }
    return chardev_start(cd, err);
}

struct chardev *chardev_open_params(const char *label, const struct chardev_params *p, GError **err)
{
    const char *what = NULL;
    switch (p->type) {
    case CHARDEV_FILE:
    case CHARDEV_UNIX:
        if (!p->path || !*p->path)
            what = "a path";
        break;
    case CHARDEV_TCP:
        if (!p->port || !*p->port)
            what = "a port";
        break;
    case CHARDEV_NULL:
    case CHARDEV_PTY:
        break;
    default:
        what = "a known type";
        break;
    }
    if (what) {
        set_error(err, EINVAL, "chardev %s: needs %s", label ? label : "", what);
        return NULL;
    }
    struct chardev *cd = chardev_new(label, err);
    if (!cd)
        return NULL;
    switch (p->type) {
    case CHARDEV_NULL:
        cd->kind = CD_NULL;
        break;
    case CHARDEV_PTY:
        cd->kind = CD_PTY;
        break;
    case CHARDEV_FILE:
        cd->kind = CD_FILE;
        cd->append = p->append;
        break;
    case CHARDEV_UNIX:
    case CHARDEV_TCP:
        cd->kind = CD_SOCKET;
        cd->is_unix = p->type == CHARDEV_UNIX;
        cd->server = p->server;
        cd->wait = p->server && p->wait;
        cd->nodelay = p->nodelay;
        cd->host = p->type == CHARDEV_TCP ? g_strdup(p->host ? p->host : "") : NULL;
        cd->port = g_strdup(p->port);
        break;
    }
    cd->path = g_strdup(p->path);
    return chardev_start(cd, err);
}

void chardev_close(struct chardev *cd)
{
    if (!cd)
        return;
    for (struct chardev **pp = &chardevs; *pp; pp = &(*pp)->next) {
        if (*pp == cd) {
            *pp = cd->next;
            break;
        }
    }
    chardev_free(cd);
}

void chardev_close_all(void)
{
    while (chardevs)
        chardev_close(chardevs);
}

void chardev_set_receiver(struct chardev *cd, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque)
{
    if (!cd)
        return;
    cd->can_receive = receive ? can_receive : NULL;
    cd->receive = can_receive ? receive : NULL;
    cd->opaque = cd->receive ? opaque : NULL;
    update_watches(cd);
}

void chardev_resume_input(struct chardev *cd)
{
    if (cd)
        update_watches(cd);
}

const char *chardev_label(const struct chardev *cd)
{
    return cd->label;
}

const char *chardev_filename(const struct chardev *cd)
{
    return cd->filename;
}

bool chardev_frontend_open(const struct chardev *cd)
{
    return cd->receive != NULL;
}

bool chardev_connected(const struct chardev *cd)
{
    return cd->connected;
}

void chardev_get_stats(const struct chardev *cd, struct chardev_stats *st)
{
    *st = cd->st;
    st->queued = cd->outq->len;
    if (cd->pending) { /* a file: st.written counted what the writer was given */
        g_mutex_lock((GMutex *)&cd->lock);
        uint64_t done = cd->file_done;
        g_mutex_unlock((GMutex *)&cd->lock);
        st->queued = cd->st.written - done;
        st->written = done;
    }
}

void chardev_foreach(bool (*fn)(const char *label, const char *filename, bool frontend_open,
                                void *opaque),
                     void *opaque)
{
    for (struct chardev *cd = chardevs; cd; cd = cd->next)
        if (!fn(cd->label, cd->filename, cd->receive != NULL, opaque))
            return;
}
