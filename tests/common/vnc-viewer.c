/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tests' libvncclient viewer (tests/common/vnc-viewer.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rfb/rfbclient.h>

#include "tests/common/vnc-viewer.h"

#define POLL_US 10000 /* between looks at the event queue */

enum vv_cmd_type { VV_CMD_KEY, VV_CMD_EXTKEY, VV_CMD_POINTER };

struct vv_cmd {
    enum vv_cmd_type type;
    uint32_t a, b; /* keysym, keycode; or x, y */
    int c;         /* down; or the button mask */
};

static int vv_tag;

static void set_state(struct vv *v, enum vv_state s)
{
    pthread_mutex_lock(&v->lock);
    v->state = s;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

/* libvncclient, at the end of each FramebufferUpdate message. */
static void on_frame(rfbClient *rc)
{
    struct vv *v = rfbClientGetClientData(rc, &vv_tag);
    pthread_mutex_lock(&v->lock);
    if ((unsigned)rc->width != v->w || (unsigned)rc->height != v->h)
        v->sizes++;
    v->w = (unsigned)rc->width;
    v->h = (unsigned)rc->height;
    g_free(v->snap);
    v->snap = g_memdup2(rc->frameBuffer, (size_t)v->w * v->h * 4);
    v->frames++;
    v->extkey = SupportsClient2Server(rc, rfbQemuEvent);
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

static char *get_password(rfbClient *rc)
{
    struct vv *v = rfbClientGetClientData(rc, &vv_tag);
    return strdup(v->password ? v->password : ""); /* libvncclient frees it */
}

static bool send_cmd(rfbClient *rc, const struct vv_cmd *c)
{
    switch (c->type) {
    case VV_CMD_KEY:
        return SendKeyEvent(rc, c->a, c->c);
    case VV_CMD_EXTKEY:
        if (c->b)
            return SendExtendedKeyEvent(rc, c->a, c->b, c->c);
        /* keycode 0 ("use the keysym", QEMU's rule) by hand: QEMU client
         * message 255, subtype 0, down, keysym, keycode */
        uint8_t m[12] = {255, 0, 0, c->c ? 1 : 0};
        for (int i = 0; i < 4; i++)
            m[4 + i] = (uint8_t)(c->a >> (24 - 8 * i));
        return SupportsClient2Server(rc, rfbQemuEvent) &&
               WriteToRFBServer(rc, (char *)m, sizeof(m));
    case VV_CMD_POINTER:
        return SendPointerEvent(rc, (int)c->a, (int)c->b, c->c);
    }
    return false;
}

/* Send what is queued. */
static void send_queued(struct vv *v, rfbClient *rc)
{
    for (;;) {
        pthread_mutex_lock(&v->lock);
        struct vv_cmd *c = g_queue_pop_head(&v->cmds);
        pthread_mutex_unlock(&v->lock);
        if (!c)
            return;
        if (!send_cmd(rc, c)) {
            pthread_mutex_lock(&v->lock);
            v->failures++;
            pthread_mutex_unlock(&v->lock);
        }
        g_free(c);
    }
}

static gpointer viewer_main(gpointer p)
{
    struct vv *v = p;
    rfbClient *rc = rfbGetClient(8, 3, 4);
    free(rc->serverHost);
    rc->serverHost = strdup("127.0.0.1");
    rc->serverPort = v->port;
    rc->appData.shareDesktop = v->shared;
    rc->appData.encodingsString = v->encodings;
    rc->appData.enableJPEG = FALSE; /* no quality level: tight stays lossless */
    rc->canHandleNewFBSize = TRUE;
    rc->FinishedFrameBufferUpdate = on_frame;
    rc->GetPassword = get_password;
    rfbClientSetClientData(rc, &vv_tag, v);
    if (!rfbInitClient(rc, NULL, NULL)) {
        set_state(v, VV_REFUSED); /* rfbInitClient freed rc */
        return NULL;
    }
    set_state(v, VV_UP);
    enum vv_state end = VV_STOPPED;
    while (!g_atomic_int_get(&v->stop)) {
        send_queued(v, rc);
        int n = WaitForMessage(rc, POLL_US);
        if (n < 0 || (n > 0 && !HandleRFBServerMessage(rc))) {
            end = VV_DROPPED;
            break;
        }
    }
    set_state(v, end);
    free(rc->frameBuffer); /* the application's, says libvncclient */
    rfbClientCleanup(rc);
    return NULL;
}

static void quiet_log(const char *fmt, ...) {}

void vv_quiet(void)
{
    rfbClientLog = quiet_log;
    rfbClientErr = quiet_log;
}

struct vv *vv_new(int port, bool shared, const char *password, const char *encodings)
{
    struct vv *v = g_new0(struct vv, 1);
    v->port = port;
    v->shared = shared;
    v->password = password;
    v->encodings = encodings ? encodings : "raw";
    g_queue_init(&v->cmds);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->th = g_thread_new("test-viewer", viewer_main, v);
    return v;
}

void vv_stop(struct vv *v)
{
    g_atomic_int_set(&v->stop, 1);
}

enum vv_state vv_free(struct vv *v)
{
    vv_stop(v);
    g_thread_join(v->th);
    enum vv_state s = v->state;
    g_queue_clear_full(&v->cmds, g_free);
    g_free(v->snap);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    g_free(v);
    return s;
}

bool vv_wait_locked(struct vv *v, bool (*pred)(struct vv *v, void *arg), void *arg, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (!pred(v, arg)) {
        gint64 left = end - g_get_monotonic_time();
        if (left <= 0)
            return false;
        /* at most 100 ms at a time: the realtime clock may jump */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        gint64 ns = (gint64)ts.tv_nsec + MIN(left, 100000) * 1000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    }
    return true;
}

static bool not_connecting(struct vv *v, void *arg)
{
    return v->state != VV_CONNECTING;
}

enum vv_state vv_wait_connected(struct vv *v, int ms)
{
    pthread_mutex_lock(&v->lock);
    vv_wait_locked(v, not_connecting, NULL, ms);
    enum vv_state s = v->state;
    pthread_mutex_unlock(&v->lock);
    return s;
}

struct vv_status vv_status(struct vv *v)
{
    pthread_mutex_lock(&v->lock);
    struct vv_status s = {v->state, v->frames, v->sizes, v->failures, v->extkey};
    pthread_mutex_unlock(&v->lock);
    return s;
}

enum vv_state vv_state(struct vv *v)
{
    return vv_status(v).state;
}

static void queue(struct vv *v, enum vv_cmd_type type, uint32_t a, uint32_t b, int c)
{
    struct vv_cmd *m = g_new(struct vv_cmd, 1);
    *m = (struct vv_cmd){.type = type, .a = a, .b = b, .c = c};
    pthread_mutex_lock(&v->lock);
    g_queue_push_tail(&v->cmds, m);
    pthread_mutex_unlock(&v->lock);
}

void vv_key(struct vv *v, uint32_t keysym, bool down)
{
    queue(v, VV_CMD_KEY, keysym, 0, down);
}

void vv_extkey(struct vv *v, uint32_t keysym, uint32_t keycode, bool down)
{
    queue(v, VV_CMD_EXTKEY, keysym, keycode, down);
}

void vv_pointer(struct vv *v, int x, int y, int buttons)
{
    queue(v, VV_CMD_POINTER, (uint32_t)x, (uint32_t)y, buttons);
}

uint32_t vv_rgb(uint32_t px)
{
    return (px & 0xff) << 16 | (px & 0xff00) | (px >> 16 & 0xff);
}

long vv_diff_locked(const struct vv *v, const uint32_t *rgb, unsigned w, unsigned h)
{
    if (!v->snap || v->w != w || v->h != h)
        return -2;
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (vv_rgb(v->snap[i]) != (rgb[i] & 0xffffff))
            return (long)i;
    return -1;
}
