/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE front end of spice.h on libspice-server 0.15.
 *
 * Files: this one (the server, its options and ticketing, client channel
 * tracking and the QMP side: events, query-spice, set_password,
 * expire_password), spice-core.c (spice-server's timers and fd watches on
 * the main loop), spice-display.c (the simple display over the
 * framebuffer core), spice-input.c (keyboard, mouse, tablet).
 *
 * Client connections: every channel spice-server links is counted from
 * its CONNECTED to its DISCONNECTED event (spice_client_links(): the
 * simple display listens to the framebuffer core only while there are
 * some); initialized channels are listed for query-spice and announced as
 * QEMU's SPICE_CONNECTED / SPICE_INITIALIZED / SPICE_DISCONNECTED events.
 *
 * Options (-spice, parsed by src/cmdline.c): port, tls-port with x509-dir
 * (ca-cert.pem, server-cert.pem, server-key.pem in it, as QEMU reads
 * them), addr, ipv4/ipv6, disable-ticketing or password, agent-mouse,
 * disable-copy-paste, disable-agent-file-xfer, image-compression,
 * streaming-video (default off, as QEMU).  Ticketing: the password is kept
 * here (wiped when replaced) for set_password / expire_password, and never
 * logged.  An expiry is turned into spice-server's ticket lifetime, in
 * seconds from now, each time the ticket is set (QEMU's rule).
 *
 * Left out: TLS client certificates beyond x509-dir's three files, SASL,
 * a cursor channel (no producer has a cursor plane: the guest draws its
 * own), audio, migration, "channel" security options, UNIX sockets.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "display/spice.h"
#include "display/spice-priv.h"
#include "src/log.h"
#include "src/secret.h"
#include "src/qmp.h"

/* ------------------------------------------------------------ tuning --- */

/* spice-server keeps the ticket in char[SPICE_MAX_PASSWORD_LENGTH] (60)
 * with its NUL: a longer one would be cut and no client could log in. */
#define SPICE_MAX_PASSWORD 59

/* ------------------------------------------------------------- state --- */

struct spice_chan {
    SpiceChannelEventInfo *key; /* spice-server's, stable while connected */
    int connection_id, type, id;
    bool tls;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    int family;
};

static struct {
    SpiceServer *server;
    struct config_spice cfg;          /* copy; password NULL */
    char *password;                   /* current ticket (wiped when replaced) */
    bool ticketing;                   /* auth "spice" (else "none") */
    bool expires;                     /* password expiry set */
    time_t expire_at;                 /* wall clock, when expires */
    bool claimed;                     /* a QXL device is the display */
    void (*claim_gone)(void *opaque); /* ... told when the server ended */
    void (*claim_watch)(void *opaque); /* ... told when clients came or went */
    void *claim_opaque;
    guint watch_idle; /* the display looks at the clients again */
    GList *channels;   /* struct spice_chan, initialized channels */
    GHashTable *links; /* SpiceChannelEventInfo *: open client connections */
} ss;

void spice_fail(char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (err)
        *err = m;
    else
        g_free(m);
}

/* ---------------------------------------------------- channel events --- */

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET:
        return "ipv4";
    case AF_INET6:
        return "ipv6";
    case AF_UNIX:
        return "unix";
    default:
        return "unknown";
    }
}

static void addr_of(const struct sockaddr_storage *sa, socklen_t len, char *host, size_t hlen,
                    char *port, size_t plen, int *family)
{
    *family = sa->ss_family;
    if (getnameinfo((const struct sockaddr *)sa, len, host, (socklen_t)hlen, port, (socklen_t)plen,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        g_strlcpy(host, "", hlen);
        g_strlcpy(port, "", plen);
    }
}

static void add_basic_info(JsonBuilder *b, const char *host, const char *port, int family)
{
    json_builder_set_member_name(b, "host");
    json_builder_add_string_value(b, host);
    json_builder_set_member_name(b, "port");
    json_builder_add_string_value(b, port);
    json_builder_set_member_name(b, "family");
    json_builder_add_string_value(b, family_name(family));
}

/* QEMU's SpiceChannel members beyond SpiceBasicInfo. */
static void add_channel_info(JsonBuilder *b, int connection_id, int type, int id, bool tls)
{
    json_builder_set_member_name(b, "connection-id");
    json_builder_add_int_value(b, connection_id);
    json_builder_set_member_name(b, "channel-type");
    json_builder_add_int_value(b, type);
    json_builder_set_member_name(b, "channel-id");
    json_builder_add_int_value(b, id);
    json_builder_set_member_name(b, "tls");
    json_builder_add_boolean_value(b, tls);
}

/* QEMU's SPICE_CONNECTED / SPICE_INITIALIZED / SPICE_DISCONNECTED events. */
static void channel_qmp_event(int event, const SpiceChannelEventInfo *info)
{
    static const char *const names[] = {
        [SPICE_CHANNEL_EVENT_CONNECTED] = "SPICE_CONNECTED",
        [SPICE_CHANNEL_EVENT_INITIALIZED] = "SPICE_INITIALIZED",
        [SPICE_CHANNEL_EVENT_DISCONNECTED] = "SPICE_DISCONNECTED",
    };
    if (event < 1 || event > SPICE_CHANNEL_EVENT_DISCONNECTED ||
        !(info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT))
        return;
    char lh[NI_MAXHOST], lp[NI_MAXSERV], ph[NI_MAXHOST], pp[NI_MAXSERV];
    int lf, pf;
    addr_of(&info->laddr_ext, info->llen_ext, lh, sizeof(lh), lp, sizeof(lp), &lf);
    addr_of(&info->paddr_ext, info->plen_ext, ph, sizeof(ph), pp, sizeof(pp), &pf);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "server");
    json_builder_begin_object(b);
    add_basic_info(b, lh, lp, lf);
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED) {
        json_builder_set_member_name(b, "auth");
        json_builder_add_string_value(b, ss.ticketing ? "spice" : "none");
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "client");
    json_builder_begin_object(b);
    add_basic_info(b, ph, pp, pf);
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED)
        add_channel_info(b, info->connection_id, info->type, info->id,
                         !!(info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS));
    json_builder_end_object(b);
    json_builder_end_object(b);
    qmp_broadcast_event(names[event], json_builder_get_root(b));
    g_object_unref(b);
}

static gboolean watch_idle(gpointer data)
{
    ss.watch_idle = 0;
    if (!ss.claimed)
        spice_simple_watch();
    else if (ss.claim_watch)
        ss.claim_watch(ss.claim_opaque);
    return G_SOURCE_REMOVE;
}

/* Client connections came or went (inside spice-server's channel event):
 * the display, simple or a QXL card's, looks again on the next main-loop
 * turn (it calls spice-server, which it must not do from in there). */
static void clients_changed(void)
{
    if (ss.watch_idle)
        return;
    ss.watch_idle = g_idle_add(watch_idle, NULL);
    g_source_set_name_by_id(ss.watch_idle, "spice-watch-clients");
}

void spice_channel_event(int event, SpiceChannelEventInfo *info)
{
    if (!info)
        return;
    /* every connection, from its link on (the main channel comes first):
     * the display is brought up to date while the client logs in */
    if (event == SPICE_CHANNEL_EVENT_CONNECTED && ss.links) {
        g_hash_table_add(ss.links, info);
        clients_changed();
    } else if (event == SPICE_CHANNEL_EVENT_DISCONNECTED && ss.links &&
               g_hash_table_remove(ss.links, info)) {
        clients_changed();
    }
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED) {
        struct spice_chan *c = g_new0(struct spice_chan, 1);
        c->key = info;
        c->connection_id = info->connection_id;
        c->type = info->type;
        c->id = info->id;
        c->tls = !!(info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS);
        if (info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT)
            addr_of(&info->paddr_ext, info->plen_ext, c->host, sizeof(c->host), c->port,
                    sizeof(c->port), &c->family);
        ss.channels = g_list_append(ss.channels, c);
        log_msg("spice", "client %s:%s: channel %d:%d up (connection %d)", c->host, c->port,
                c->type, c->id, c->connection_id);
        /* a client came: offer client mouse mode if a tablet sink appeared
         * (deferred: this runs inside spice-server) */
        spice_input_sync_mode_later();
    } else if (event == SPICE_CHANNEL_EVENT_DISCONNECTED) {
        for (GList *l = ss.channels; l; l = l->next) {
            struct spice_chan *c = l->data;
            if (c->key != info)
                continue;
            log_msg("spice", "client %s:%s: channel %d:%d closed", c->host, c->port, c->type,
                    c->id);
            ss.channels = g_list_delete_link(ss.channels, l);
            g_free(c);
            break;
        }
    }
    channel_qmp_event(event, info);
}

unsigned spice_client_links(void)
{
    return ss.links ? g_hash_table_size(ss.links) : 0;
}

/* --------------------------------------------------------- ticketing --- */

static void password_set(const char *pw)
{
    secret_free(ss.password);
    ss.password = pw ? g_strdup(pw) : NULL;
}

/* spice_server_set_ticket with the current password and expiry. */
static int ticket_apply(bool fail_if_connected, bool disconnect_if_connected)
{
    int lifetime = 0; /* never */
    if (ss.expires) {
        time_t left = ss.expire_at - time(NULL);
        /* spice-server takes 0 as "never": an expired ticket is -1 */
        lifetime = left <= 0 ? -1 : left > G_MAXINT ? G_MAXINT : (int)left;
    }
    ss.ticketing = true;
    return spice_server_set_ticket(ss.server, ss.password, lifetime, fail_if_connected,
                                   disconnect_if_connected);
}

int spice_set_password(const char *password, const char *connected)
{
    if (!ss.server)
        return -ENODEV;
    bool fail = false, disconnect = false;
    if (connected && !strcmp(connected, "fail"))
        fail = true;
    else if (connected && !strcmp(connected, "disconnect"))
        disconnect = true;
    else if (connected && strcmp(connected, "keep"))
        return -EINVAL;
    if (strlen(password) > SPICE_MAX_PASSWORD)
        return -EINVAL;
    char *old = ss.password;
    bool old_ticketing = ss.ticketing;
    ss.password = g_strdup(password);
    if (ticket_apply(fail, disconnect) != 0) {
        /* connected=fail with a client connected: nothing changed */
        password_set(NULL);
        ss.password = old;
        ss.ticketing = old_ticketing;
        return -EBUSY;
    }
    secret_free(old);
    log_msg("spice", "password changed over QMP%s", disconnect ? " (clients disconnected)" : "");
    return 0;
}

int spice_expire_password(const char *when)
{
    if (!ss.server)
        return -ENODEV;
    time_t now = time(NULL);
    bool expires = true;
    time_t at;
    uint64_t v;
    if (!strcmp(when, "now")) {
        at = now;
    } else if (!strcmp(when, "never")) {
        expires = false;
        at = 0;
    } else if (when[0] == '+' && when[1] &&
               g_ascii_string_to_unsigned(when + 1, 10, 0, G_MAXINT32, &v, NULL)) {
        at = now + (time_t)v;
    } else if (g_ascii_string_to_unsigned(when, 10, 0, G_MAXINT64, &v, NULL)) {
        at = (time_t)v;
    } else {
        return -EINVAL;
    }
    ss.expires = expires;
    ss.expire_at = at;
    /* only with ticketing: expiring a password nobody asks for changes nothing */
    if (ss.ticketing)
        ticket_apply(false, false);
    log_msg("spice", "password expiry set to %s", when);
    return 0;
}

/* ------------------------------------------------------------ server --- */

static SpiceImageCompression ic_of(enum config_spice_ic ic)
{
    switch (ic) {
    case CONFIG_SPICE_IC_AUTO_LZ:
        return SPICE_IMAGE_COMPRESSION_AUTO_LZ;
    case CONFIG_SPICE_IC_QUIC:
        return SPICE_IMAGE_COMPRESSION_QUIC;
    case CONFIG_SPICE_IC_GLZ:
        return SPICE_IMAGE_COMPRESSION_GLZ;
    case CONFIG_SPICE_IC_LZ:
        return SPICE_IMAGE_COMPRESSION_LZ;
    case CONFIG_SPICE_IC_LZ4:
        return SPICE_IMAGE_COMPRESSION_LZ4;
    case CONFIG_SPICE_IC_OFF:
        return SPICE_IMAGE_COMPRESSION_OFF;
    case CONFIG_SPICE_IC_AUTO_GLZ:
    default:
        return SPICE_IMAGE_COMPRESSION_AUTO_GLZ;
    }
}

static int sv_of(enum config_spice_sv sv)
{
    switch (sv) {
    case CONFIG_SPICE_SV_ALL:
        return SPICE_STREAM_VIDEO_ALL;
    case CONFIG_SPICE_SV_FILTER:
        return SPICE_STREAM_VIDEO_FILTER;
    case CONFIG_SPICE_SV_OFF:
    default:
        return SPICE_STREAM_VIDEO_OFF;
    }
}

/* x509-dir's files, checked here so the message names the missing one. */
static int tls_setup(const struct config_spice *o, char **err)
{
    static const char *const names[] = {"ca-cert.pem", "server-cert.pem", "server-key.pem"};
    char *files[3];
    for (unsigned i = 0; i < 3; i++)
        files[i] = g_build_filename(o->x509_dir, names[i], NULL);
    int rc = 0;
    for (unsigned i = 0; i < 3 && rc == 0; i++)
        if (access(files[i], R_OK) != 0) {
            spice_fail(err, "tls-port=%d: x509-dir=%s: cannot read %s (%s)", o->tls_port,
                       o->x509_dir, names[i], g_strerror(errno));
            rc = -1;
        }
    if (rc == 0 && spice_server_set_tls(ss.server, o->tls_port, files[0], files[1], files[2], NULL,
                                        NULL, NULL) != 0) {
        spice_fail(err, "tls-port=%d: spice-server refused the TLS settings", o->tls_port);
        rc = -1;
    }
    for (unsigned i = 0; i < 3; i++)
        g_free(files[i]);
    return rc;
}

int spice_start(const struct config_spice *o, const char *name, char **err)
{
    if (ss.server) {
        spice_fail(err, "already started");
        return -1;
    }
    if (o->password && strlen(o->password) > SPICE_MAX_PASSWORD) {
        spice_fail(err, "password=: longer than %d characters", SPICE_MAX_PASSWORD);
        return -1;
    }
    ss.server = spice_server_new();
    if (!ss.server) {
        spice_fail(err, "spice_server_new failed");
        return -1;
    }
    ss.links = g_hash_table_new(NULL, NULL);
    ss.cfg = *o;
    ss.cfg.addr = g_strdup(o->addr);
    ss.cfg.x509_dir = g_strdup(o->x509_dir);
    ss.cfg.password = NULL;

    if (o->port)
        spice_server_set_port(ss.server, o->port);
    if (o->tls_port && tls_setup(o, err) < 0)
        goto fail;
    int flags = o->ipv4 ? SPICE_ADDR_FLAG_IPV4_ONLY : o->ipv6 ? SPICE_ADDR_FLAG_IPV6_ONLY : 0;
    spice_server_set_addr(ss.server, o->addr ? o->addr : "", flags);
    if (o->disable_ticketing) {
        spice_server_set_noauth(ss.server);
        ss.ticketing = false;
    } else {
        /* with no password every client is refused until set_password */
        password_set(o->password);
        if (ticket_apply(false, false) != 0) {
            spice_fail(err, "password=: refused by spice-server");
            goto fail;
        }
    }
    spice_server_set_image_compression(ss.server, ic_of(o->image_compression));
    spice_server_set_jpeg_compression(ss.server, SPICE_WAN_COMPRESSION_AUTO);
    spice_server_set_zlib_glz_compression(ss.server, SPICE_WAN_COMPRESSION_AUTO);
    spice_server_set_streaming_video(ss.server, sv_of(o->streaming_video));
    spice_server_set_agent_mouse(ss.server, o->agent_mouse);
    spice_server_set_agent_copypaste(ss.server, !o->disable_copy_paste);
    spice_server_set_agent_file_xfer(ss.server, !o->disable_agent_file_xfer);
    spice_server_set_playback_compression(ss.server, 1);
    spice_server_set_name(ss.server, name ? name : "xendm");

    if (spice_server_init(ss.server, spice_core_interface()) != 0) {
        if (o->port && o->tls_port)
            spice_fail(err, "cannot listen on %s port %d / tls-port %d (in use?)",
                       o->addr ? o->addr : "*", o->port, o->tls_port);
        else
            spice_fail(err, "cannot listen on %s %sport %d (in use?)", o->addr ? o->addr : "*",
                       o->port ? "" : "tls-", o->port ? o->port : o->tls_port);
        goto fail;
    }
    if (spice_input_init(ss.server) < 0) {
        spice_fail(err, "spice-server refused the keyboard or mouse");
        goto fail;
    }
    log_msg("spice", "listening on %s port %d tls-port %d (auth %s)", o->addr ? o->addr : "*",
            o->port, o->tls_port, ss.ticketing ? "spice" : "none");
    return 0;

fail:
    spice_input_quiesce();
    spice_server_destroy(ss.server);
    spice_input_fini();
    ss.server = NULL;
    g_hash_table_destroy(ss.links);
    ss.links = NULL;
    password_set(NULL);
    g_free(ss.cfg.addr);
    g_free(ss.cfg.x509_dir);
    memset(&ss.cfg, 0, sizeof(ss.cfg));
    return -1;
}

int spice_display_setup(char **err)
{
    if (!ss.server)
        return 0;
    if (!ss.claimed && spice_simple_create(ss.server, err) < 0)
        return -1;
    spice_server_vm_start(ss.server);
    return 0;
}

void spice_stop(void)
{
    if (!ss.server)
        return;
    /* spice_server_destroy() disconnects clients and ends the worker; it
     * crashed (spice-server 0.15.1) when the display and input interfaces
     * were removed first with a client connected, so only our own sources
     * go first and our memory after */
    g_clear_handle_id(&ss.watch_idle, g_source_remove);
    spice_simple_quiesce();
    spice_input_quiesce();
    spice_server_destroy(ss.server);
    ss.server = NULL;
    if (ss.claim_gone)
        ss.claim_gone(ss.claim_opaque); /* the QXL device: no more spice-server calls */
    ss.claimed = false;
    ss.claim_gone = NULL;
    ss.claim_watch = NULL;
    ss.claim_opaque = NULL;
    spice_simple_free();
    spice_input_fini();
    g_list_free_full(ss.channels, g_free);
    ss.channels = NULL;
    g_hash_table_destroy(ss.links);
    ss.links = NULL;
    password_set(NULL);
    g_free(ss.cfg.addr);
    g_free(ss.cfg.x509_dir);
    memset(&ss.cfg, 0, sizeof(ss.cfg));
}

SpiceServer *spice_display_server(void)
{
    return ss.server;
}

void spice_display_claim(void (*gone)(void *opaque), void (*watch)(void *opaque), void *opaque)
{
    ss.claimed = true;
    ss.claim_gone = gone;
    ss.claim_watch = watch;
    ss.claim_opaque = opaque;
}

/* ------------------------------------------------------------- query --- */

void spice_query(JsonBuilder *b)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, ss.server != NULL);
    json_builder_set_member_name(b, "migrated");
    json_builder_add_boolean_value(b, FALSE);
    if (!ss.server) {
        json_builder_set_member_name(b, "mouse-mode");
        json_builder_add_string_value(b, "client"); /* QEMU's zero value */
        json_builder_end_object(b);
        return;
    }
    json_builder_set_member_name(b, "auth");
    json_builder_add_string_value(b, ss.ticketing ? "spice" : "none");
    json_builder_set_member_name(b, "host");
    json_builder_add_string_value(b, ss.cfg.addr ? ss.cfg.addr : "*");
    json_builder_set_member_name(b, "compiled-version");
    char *v = g_strdup_printf("%d.%d.%d", (SPICE_SERVER_VERSION >> 16) & 0xff,
                              (SPICE_SERVER_VERSION >> 8) & 0xff, SPICE_SERVER_VERSION & 0xff);
    json_builder_add_string_value(b, v);
    g_free(v);
    if (ss.cfg.port) {
        json_builder_set_member_name(b, "port");
        json_builder_add_int_value(b, ss.cfg.port);
    }
    if (ss.cfg.tls_port) {
        json_builder_set_member_name(b, "tls-port");
        json_builder_add_int_value(b, ss.cfg.tls_port);
    }
    json_builder_set_member_name(b, "mouse-mode");
    json_builder_add_string_value(b, spice_server_is_server_mouse(ss.server) ? "server" : "client");
    json_builder_set_member_name(b, "channels");
    json_builder_begin_array(b);
    for (GList *l = ss.channels; l; l = l->next) {
        const struct spice_chan *c = l->data;
        json_builder_begin_object(b);
        add_basic_info(b, c->host, c->port, c->family);
        add_channel_info(b, c->connection_id, c->type, c->id, c->tls);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

void spice_get_stats(struct spice_stats *st)
{
    memset(st, 0, sizeof(*st));
    spice_simple_get_stats(st);
    st->channels = g_list_length(ss.channels);
    spice_input_get_stats(st);
}
