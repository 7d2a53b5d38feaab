/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RFB handshake, run by us on the main loop before libvncserver takes a
 * client over (see vnc.c): protocol version, security type (None, or VNC
 * authentication's DES challenge against the password set over QMP),
 * ClientInit's shared flag with QEMU's sharing policies and connections=
 * limit, then ServerInit and the client's threads.  Every step reads with
 * MSG_DONTWAIT and a handshake that stalls is dropped after
 * VNC_HANDSHAKE_TIMEOUT_MS.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include "display/vnc-priv.h"
#include "src/log.h"

/* --------------------------------------------------------- handshake --- */

void vnc_hs_cancel(struct vnc_client *c)
{
    if (c->hs_watch)
        g_source_remove(c->hs_watch);
    if (c->hs_timer)
        g_source_remove(c->hs_timer);
    c->hs_watch = c->hs_timer = 0;
}

/* Disconnect a client, whatever its state.  Main thread. */
void vnc_drop(struct vnc_client *c, bool kicked)
{
    struct vnc *v = c->v;
    if (c->closing)
        return;
    c->closing = true;
    if (kicked)
        v->st.kicked++;
    vnc_hs_cancel(c);
    pthread_mutex_lock(&v->lock);
    if (c->cl) {
        if (c->state == VC_HANDSHAKE)
            rfbRefuseOnHoldClient(c->cl); /* -> vnc_client_gone at once */
        else
            rfbCloseClient(c->cl); /* vnc-in notices, -> vnc_client_gone */
    }
    pthread_mutex_unlock(&v->lock);
}

static void hs_refuse(struct vnc_client *c, const char *why)
{
    LOG_GUEST("vnc", "refusing %s:%s: %s", c->host, c->service, why);
    c->v->st.refused++;
    vnc_drop(c, false);
}

static bool hs_send(struct vnc_client *c, const void *buf, size_t len)
{
    ssize_t n = send(c->cl->sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == (ssize_t)len;
}

static void put32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

/* SecurityResult failed, with the reason string RFB 3.8 expects. */
static void hs_send_failure(struct vnc_client *c, const char *reason)
{
    uint8_t m[8 + 64];
    size_t rl = strlen(reason), n = 4;
    put32(m, 1);
    if (c->minor >= 8 && rl <= 64) {
        put32(m + 4, (uint32_t)rl);
        memcpy(m + 8, reason, rl);
        n = 8 + rl;
    }
    hs_send(c, m, n);
}

static bool hs_start_auth(struct vnc_client *c)
{
    if (getrandom(c->challenge, sizeof(c->challenge), 0) != sizeof(c->challenge)) {
        hs_refuse(c, "no random bytes for the challenge");
        return false;
    }
    if (!hs_send(c, c->challenge, sizeof(c->challenge))) {
        hs_refuse(c, "write failed");
        return false;
    }
    c->step = HS_AUTH;
    return true;
}

/* After security: None in 3.8 still sends an OK result. */
static bool hs_sec_ok(struct vnc_client *c)
{
    uint8_t ok[4] = {0, 0, 0, 0};
    if (c->minor >= 8 && !hs_send(c, ok, 4)) {
        hs_refuse(c, "write failed");
        return false;
    }
    c->step = HS_INIT;
    return true;
}

static bool auth_ok(struct vnc *v, const uint8_t challenge[16], const uint8_t response[16])
{
    if (!v->password_set)
        return false; /* password=on and no change-vnc-password yet */
    uint8_t expect[16];
    char key[9];
    memcpy(expect, challenge, 16);
    memcpy(key, v->password, sizeof(key));
    rfbEncryptBytes(expect, key);
    explicit_bzero(key, sizeof(key));
    unsigned diff = 0;
    for (int i = 0; i < 16; i++)
        diff |= expect[i] ^ response[i];
    return diff == 0;
}

static unsigned count_live(struct vnc *v, bool exclusive_only)
{
    unsigned n = 0;
    for (struct vnc_client *o = v->clients; o; o = o->next)
        if (o->state == VC_ESTABLISHED && !o->closing && (!exclusive_only || o->exclusive))
            n++;
    return n;
}

static void hs_establish(struct vnc_client *c, bool shared)
{
    struct vnc *v = c->v;
    /* QEMU's share policies (ui/vnc.c protocol_client_init) */
    switch (v->share) {
    case SHARE_ALLOW_EXCLUSIVE:
        if (!shared) {
            for (struct vnc_client *o = v->clients; o; o = o->next) {
                if (o != c && o->state == VC_ESTABLISHED && !o->closing) {
                    log_msg("vnc", "exclusive client %s:%s: disconnecting %s:%s", c->host,
                            c->service, o->host, o->service);
                    vnc_drop(o, true);
                }
            }
        } else if (count_live(v, true)) {
            hs_refuse(c, "an exclusive client is connected");
            return;
        }
        break;
    case SHARE_FORCE_SHARED:
        if (!shared) {
            hs_refuse(c, "exclusive access asked for, share=force-shared");
            return;
        }
        break;
    case SHARE_IGNORE:
        break;
    }
    if (count_live(v, false) >= v->max_conns) {
        hs_refuse(c, "too many clients (connections=)");
        return;
    }
    vnc_hs_cancel(c);
    /* The ServerInit below must carry the current size, and the first
     * update the current picture: with other viewers connected the last
     * refresh pass may be up to FB_REFRESH_MAX_MS old, and a one-shot
     * capture (gvnccapture, vncsnapshot) would show the screen before the
     * guest's latest change.  QEMU, too, updates the display on connect. */
    fb_refresh_now();

    rfbClientPtr cl = c->cl;
    pthread_mutex_lock(&cl->updateMutex);
    sraRgnDestroy(cl->modifiedRegion);
    cl->modifiedRegion = sraRgnCreateRect(0, 0, v->screen->width, v->screen->height);
    pthread_mutex_unlock(&cl->updateMutex);
    cl->protocolMajorVersion = 3;
    cl->protocolMinorVersion = c->minor;
    cl->state = RFB_INITIALISATION_SHARED;
    rfbProcessClientMessage(cl); /* ServerInit; state -> RFB_NORMAL */
    if (cl->state != RFB_NORMAL) {
        hs_refuse(c, "ServerInit failed");
        return;
    }
    c->state = VC_ESTABLISHED;
    vnc_watch_hangup(c);
    c->exclusive = !shared;
    v->nhandshaking--;
    v->nclients++;
    g_atomic_int_add(&v->hs_atomic, -1);
    /* the thread may finish (and free cl) at once: the gone hook waits
     * for v->lock, so cl stays valid until we have its thread id */
    pthread_mutex_lock(&v->lock);
    rfbStartOnHoldClient(cl);
    c->in_thread = cl->client_thread;
    c->has_thread = true;
    pthread_mutex_unlock(&v->lock);
    pthread_setname_np(c->in_thread, "vnc-in");
    log_msg("vnc", "client %s:%s connected (%s, RFB 3.%d)", c->host, c->service,
            shared ? "shared" : "exclusive", c->minor);
}

/* A complete handshake message is in c->buf.  Returns whether to keep
 * reading. */
static bool hs_step(struct vnc_client *c)
{
    struct vnc *v = c->v;
    uint8_t sec = v->password_on ? RFB_SEC_VNC : RFB_SEC_NONE;
    switch (c->step) {
    case HS_VERSION: {
        int major, minor;
        char txt[13];
        memcpy(txt, c->buf, 12);
        txt[12] = 0;
        if (sscanf(txt, "RFB %3d.%3d\n", &major, &minor) != 2 || major != 3) {
            hs_refuse(c, "not an RFB 3.x client");
            return false;
        }
        c->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
        if (c->minor == 3) {
            uint8_t m[4];
            put32(m, sec);
            if (!hs_send(c, m, 4)) {
                hs_refuse(c, "write failed");
                return false;
            }
            return sec == RFB_SEC_VNC ? hs_start_auth(c) : (c->step = HS_INIT, true);
        }
        uint8_t m[2] = {1, sec};
        if (!hs_send(c, m, 2)) {
            hs_refuse(c, "write failed");
            return false;
        }
        c->step = HS_SECTYPE;
        return true;
    }
    case HS_SECTYPE:
        if (c->buf[0] != sec) {
            hs_send_failure(c, "security type not offered");
            hs_refuse(c, "security type not offered");
            return false;
        }
        return sec == RFB_SEC_VNC ? hs_start_auth(c) : hs_sec_ok(c);
    case HS_AUTH:
        if (!auth_ok(v, c->challenge, c->buf)) {
            v->st.auth_failures++;
            hs_send_failure(c, "Authentication failed");
            hs_refuse(c, v->password_set ? "wrong password" : "no VNC password set yet");
            return false;
        }
        {
            uint8_t ok[4] = {0, 0, 0, 0};
            if (!hs_send(c, ok, 4)) {
                hs_refuse(c, "write failed");
                return false;
            }
        }
        c->step = HS_INIT;
        return true;
    case HS_INIT:
        hs_establish(c, c->buf[0] != 0);
        return false;
    }
    return false;
}

static size_t hs_need(enum hs_step s)
{
    switch (s) {
    case HS_VERSION:
        return 12;
    case HS_AUTH:
        return 16;
    default:
        return 1;
    }
}

static gboolean hs_readable(gint fd, GIOCondition cond, gpointer data)
{
    struct vnc_client *c = data;
    for (;;) {
        size_t need = hs_need(c->step);
        ssize_t n = recv(fd, c->buf + c->have, need - c->have, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return G_SOURCE_CONTINUE;
        if (n <= 0) {
            c->hs_watch = 0;
            hs_refuse(c, "connection closed during the handshake");
            return G_SOURCE_REMOVE;
        }
        c->have += (size_t)n;
        if (c->have < need)
            continue;
        c->have = 0;
        if (!hs_step(c)) {
            c->hs_watch = 0; /* done (established or dropped) */
            return G_SOURCE_REMOVE;
        }
    }
}

static gboolean hs_timeout(gpointer data)
{
    struct vnc_client *c = data;
    c->hs_timer = 0;
    hs_refuse(c, "handshake timed out");
    return G_SOURCE_REMOVE;
}

/* Start the handshake of a client the accept thread queued (main). */
void vnc_hs_begin(struct vnc_client *c)
{
    c->step = HS_VERSION;
    c->hs_watch = g_unix_fd_add(c->cl->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, hs_readable, c);
    c->hs_timer = g_timeout_add(VNC_HANDSHAKE_TIMEOUT_MS, hs_timeout, c);
}
