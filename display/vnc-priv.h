/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the VNC front end: the state vnc.c (connections, framebuffer,
 * public API), vnc-handshake.c (RFB handshake, VNC authentication, QEMU's
 * sharing policies) and vnc-input.c (keysyms and pointer to the input
 * broker) share.  The threading model is described at the top of vnc.c.
 */
#ifndef XENDM_VNC_PRIV_H
#define XENDM_VNC_PRIV_H

#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <rfb/rfb.h>

#include "display/fb.h"
#include "display/vnc.h"

/* ------------------------------------------------------------ tuning --- */

/* QEMU's default for connections= (ui/vnc.c). */
#define VNC_DEFAULT_CONNECTIONS 32
/* Surface shown before any producer set one (QEMU shows 640x480 too). */
#define VNC_DEFAULT_W 640
#define VNC_DEFAULT_H 480
/*
 * A viewer that has not finished the handshake (version, auth, ClientInit)
 * after this long is dropped.  TigerVNC and remote-viewer connect first and
 * open their password dialog when the VNC challenge arrives, so a person
 * typing the password is inside the handshake: two minutes for that.  It
 * bounds how long a silent connection holds one of the connections=
 * handshake slots.
 */
#define VNC_HANDSHAKE_TIMEOUT_MS 120000
/*
 * libvncserver's maxClientWait: how long a reader waits for the rest of a
 * message and a writer waits without any progress before the client is
 * dropped.  This is libvncserver's own default (rfbMaxClientWait).  A
 * viewer that stops reading costs one blocked vnc-out thread and its
 * socket buffers for at most this long; the stalled-viewer test measured
 * no RSS growth (+0 kB) over 2 s of full-screen churn at 1600x1200 while
 * another viewer kept receiving every refresh (~60 updates/s).
 */
#define VNC_CLIENT_TIMEOUT_MS 20000
/*
 * vnc-out sleeps this long after being woken before it encodes, so the
 * rectangles of one refresh pass go out as one FramebufferUpdate: the
 * listener's part of a pass takes 0.07-0.4 ms (measured with two viewers,
 * see FB_MAX_UPDATE_RECTS in fb.c), well inside 5 ms.  libvncserver's
 * default; measured end to end, a full 1024x768 frame reaches two loopback
 * viewers 10-13 ms after the pass (raw or ZRLE), 5 ms of it this sleep.
 * Tried at 1 ms (2026-11-23): one raw 1080p viewer 62.4 frames/s instead
 * of 61.8, but test-vnc-cursor then lost a cursor shape change in 2 of 12
 * runs (0 of 10 at 5 ms), a race not yet understood; kept at 5.
 */
#define VNC_DEFER_UPDATE_MS 5
/*
 * Resize while a writer is mid-update: retry every 10 ms (sending a full
 * 1024x768 frame to a loopback viewer takes 5-8 ms, measured as above);
 * after 2 s the writers still busy are disconnected: a 16 MiB worst-case
 * raw frame (2560x1600x32) needs 1.3 s at 100 Mbit/s, so a viewer slower
 * than that would hold every other viewer on the old mode.  In the
 * stalled-viewer test the resize went through 2.0 s after the mode change.
 */
#define VNC_RESIZE_RETRY_MS 10
#define VNC_RESIZE_STALL_MS 2000
/*
 * Input events queued for the main thread.  A reader that finds the queue
 * full waits (the viewer's input is throttled, never dropped: a dropped key
 * release is a stuck key).  Typing and pointer motion are a few hundred
 * events per second; pointer motion is coalesced in the queue.
 */
#define VNC_EVQ_MAX 1024
/* A client whose socket hung up: wake its writer this often until it is
 * gone (vnc.c, vnc_kick_writer). */
#define VNC_GONE_KICK_MS 100
/* Keys one viewer may hold at once; a press beyond them is dropped (its
 * release could not be tracked).  PC keyboards roll over far fewer. */
#define VNC_MAX_DOWN 32

/* RFB constants of the handshake (RFC 6143). */
#define RFB_SEC_NONE     1
#define RFB_SEC_VNC      2
#define RFB_QEMU_MSG     255
#define RFB_QEMU_EXT_KEY 0

/* ------------------------------------------------------------- types --- */

enum vnc_share { SHARE_ALLOW_EXCLUSIVE, SHARE_FORCE_SHARED, SHARE_IGNORE };

enum vc_state { VC_HANDSHAKE, VC_ESTABLISHED };
enum hs_step { HS_VERSION, HS_SECTYPE, HS_AUTH, HS_INIT };

/* One key a viewer holds, and what we did around it. */
struct vnc_down {
    uint32_t keysym;
    uint8_t qnum;
    uint8_t nfake;
    uint8_t fake_qnum[4];
    bool fake_press[4]; /* true: we pressed it; false: we released it */
};

struct vnc;

struct vnc_client {
    struct vnc *v;
    /* v->lock: */
    rfbClientPtr cl; /* NULL once libvncserver has let go of it */
    int shut_fd;     /* dup of the socket, for shutdown(); -1 when gone */
    /* main thread: */
    enum vc_state state;
    bool exclusive, closing, resize_busy;
    gint ext_ack; /* vnc-in asks vnc-out to acknowledge -258 */
    pthread_t in_thread;
    bool has_thread;
    char host[NI_MAXHOST], service[NI_MAXSERV];
    int family;
    guint hs_watch, hs_timer;
    guint hup_watch, kick_timer; /* established: vnc_watch_hangup() */
    enum hs_step step;
    int minor;
    uint8_t buf[16];
    size_t have;
    uint8_t challenge[16];
    int last_x, last_y;
    bool have_last;
    int last_mask;
    struct vnc_down down[VNC_MAX_DOWN];
    unsigned ndown;
    struct vnc_cursor *sent_cursor; /* vnc-out's; freed by main after the join */
    struct vnc_client *next;
};

enum ev_type { VEV_NEW, VEV_GONE, VEV_KEY, VEV_EXTKEY, VEV_PTR, VEV_LOG };

struct vnc_event {
    enum ev_type type;
    struct vnc_client *c;
    bool down;
    uint32_t keysym, keycode;
    int mask, x, y;
    char *msg;
};

struct vnc {
    rfbScreenInfoPtr screen;
    /* published framebuffer (main writes; vnc-out reads) */
    uint8_t *rfb_fb;
    pixman_image_t *rfb_img;
    unsigned w, h;

    int lfd[2];
    unsigned nlfd;
    char host[NI_MAXHOST];
    const char *family;
    int port;

    bool password_on, password_set;
    char password[9];
    enum vnc_share share;
    unsigned max_conns;
    char desktop[160];

    /* pthread primitives rather than GLib's so that ThreadSanitizer sees
     * the synchronisation with libvncserver's threads */
    pthread_mutex_t lock;       /* recursive */
    struct vnc_client *clients; /* main */
    unsigned nclients, nhandshaking;
    gint hs_atomic; /* handshakes, as the accept thread sees them */
    gint stopping;

    int efd;
    guint ev_watch;
    pthread_mutex_t evlock;
    pthread_cond_t evcond; /* CLOCK_MONOTONIC */
    GQueue evq;
    unsigned ninput;

    GThread *accept_thread;
    int stop_efd;

    struct fb_listener *listener;
    /* cursor shape (vnc-cursor.c): main swaps, vnc-out takes references */
    pthread_mutex_t cursor_lock;
    struct vnc_cursor *cursor;
    bool cursor_shown;
    struct fb_cursor_listener *cursor_listener;
    bool resize_pending;
    unsigned pend_w, pend_h;
    gint64 resize_since;
    guint resize_timer;

    struct vnc_keymap *km;
    uint8_t qheld[256]; /* per qnum: viewer presses not yet released */
    uint8_t qwire[256]; /* per qnum: what the guest was last told (1 down) */

    struct vnc_stats st;
    gint connections;
};

/* vnc.c */
void vnc_listener_update(struct vnc *v);
void vnc_watch_hangup(struct vnc_client *c);

/* vnc-cursor.c (main thread) */
void vnc_cursor_start(struct vnc *v);
void vnc_cursor_client_free(struct vnc_client *c);
void vnc_cursor_stop(struct vnc *v);

/* vnc-handshake.c (main thread) */
void vnc_hs_begin(struct vnc_client *c);
void vnc_hs_cancel(struct vnc_client *c);
/* Disconnect a client, whatever its state. */
void vnc_drop(struct vnc_client *c, bool kicked);

/* vnc-input.c (main thread): a viewer's events, to the input broker */
void vnc_client_key(struct vnc_client *c, bool down, uint32_t keysym, unsigned forced_qnum);
void vnc_client_extkey(struct vnc_client *c, bool down, uint32_t keysym, uint32_t keycode);
void vnc_client_release_all(struct vnc_client *c);
void vnc_client_pointer(struct vnc_client *c, int mask, int x, int y);

#endif
