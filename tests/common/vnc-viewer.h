/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A libvncclient viewer for tests (package libvncserver-dev), on its own
 * thread because libvncclient blocks: it connects to 127.0.0.1:port in
 * libvncclient's default pixel format (32 bpp, depth 24: bytes R, G, B,
 * padding), keeps a copy of its framebuffer after each complete
 * FramebufferUpdate, and sends the key and pointer events queued for it.
 * Link it only into the tests that link libvncclient.
 */
#ifndef TESTS_COMMON_VNC_VIEWER_H
#define TESTS_COMMON_VNC_VIEWER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

enum vv_state {
    VV_CONNECTING,
    VV_UP,      /* past the handshake */
    VV_REFUSED, /* the handshake failed (refused, authentication failed) */
    VV_DROPPED, /* the server ended the connection */
    VV_STOPPED, /* vv_stop(): the viewer left */
};

struct vv {
    /* set by vv_new() */
    int port;
    bool shared;          /* ClientInit's shared flag */
    const char *password; /* for VNC authentication, or NULL */
    const char *encodings;
    GThread *th;
    gint stop;
    /* pthread, not GLib, locks: ThreadSanitizer sees these; cond is
     * broadcast on every change of what they guard */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock: */
    GQueue cmds;
    enum vv_state state;
    unsigned frames;   /* complete FramebufferUpdates */
    unsigned sizes;    /* ... that came with a new framebuffer size */
    unsigned failures; /* events libvncclient refused to send */
    unsigned w, h;     /* snap's size */
    uint32_t *snap;    /* the framebuffer after the last complete update */
    bool extkey;       /* the server acknowledged QEMU's Extended Key Event */
};

/* Silence libvncclient's log (every viewer's: it is global). */
void vv_quiet(void);

/* Start a viewer of 127.0.0.1:port asking for encodings (NULL: "raw",
 * never JPEG: tight stays lossless); returns at once (state
 * VV_CONNECTING). */
struct vv *vv_new(int port, bool shared, const char *password, const char *encodings);
/* Tell the viewer to leave (it disconnects within 10 ms; state
 * VV_STOPPED unless it was already down). */
void vv_stop(struct vv *v);
/* vv_stop(), wait for the thread, free; returns the final state. */
enum vv_state vv_free(struct vv *v);

/* Wait, lock held, until pred(v, arg) holds or ms pass; false on
 * timeout.  Call with v->lock held. */
bool vv_wait_locked(struct vv *v, bool (*pred)(struct vv *v, void *arg), void *arg, int ms);
/* Wait up to ms for the handshake's end; the state after it. */
enum vv_state vv_wait_connected(struct vv *v, int ms);
enum vv_state vv_state(struct vv *v);

/* The counters and flags of struct vv, read under the lock. */
struct vv_status {
    enum vv_state state;
    unsigned frames, sizes, failures;
    bool extkey;
};
struct vv_status vv_status(struct vv *v);

/* Queue a key event (RFB KeyEvent), a QEMU Extended Key Event (keycode in
 * QEMU's numbering; 0 means "use the keysym", a message libvncclient
 * refuses to send and the viewer writes itself) or a pointer event. */
void vv_key(struct vv *v, uint32_t keysym, bool down);
void vv_extkey(struct vv *v, uint32_t keysym, uint32_t keycode, bool down);
void vv_pointer(struct vv *v, int x, int y, int buttons);

/* 0xRRGGBB of a snapshot pixel. */
uint32_t vv_rgb(uint32_t px);
/* Where the snapshot differs from rgb (w x h, 0xRRGGBB, row-major): the
 * first differing pixel's index, -1 if equal, -2 if there is no snapshot
 * of that size.  Call with v->lock held. */
long vv_diff_locked(const struct vv *v, const uint32_t *rgb, unsigned w, unsigned h);

G_END_DECLS
#endif
