/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spice-server's core interface (SpiceCoreInterface) on the default
 * GMainContext, i.e. xendm's one main loop: one-shot timers as GLib
 * timeouts, fd watches as GLib unix fd sources.  Channel events go to
 * display/spice.c.  spice-server calls the core only from the thread that
 * ran spice_server_init() (its own worker threads use their own loops, and
 * channel events from them are forwarded to this thread by spice-server's
 * main dispatcher).  Both servers xendm may run use it: -spice's and the
 * QXL device's private one (display/qxl-spice-main.c).
 */
#include "config.h"

#include <glib-unix.h>
#include <glib.h>

#include "display/spice.h"
#include "display/spice-priv.h"

/* -------------------------------------------------- core: timers --- */

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
    guint id;
};

static gboolean core_timer_fire(gpointer data)
{
    SpiceTimer *t = data;
    t->id = 0;
    t->func(t->opaque); /* may start, cancel or remove t */
    return G_SOURCE_REMOVE;
}

static SpiceTimer *core_timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);
    t->func = func;
    t->opaque = opaque;
    return t;
}

static void core_timer_cancel(SpiceTimer *t)
{
    if (t->id) {
        g_source_remove(t->id);
        t->id = 0;
    }
}

static void core_timer_start(SpiceTimer *t, uint32_t ms)
{
    core_timer_cancel(t);
    t->id = g_timeout_add(ms, core_timer_fire, t);
    g_source_set_name_by_id(t->id, "spice-timer");
}

static void core_timer_remove(SpiceTimer *t)
{
    core_timer_cancel(t);
    g_free(t);
}

/* --------------------------------------------------- core: watches --- */

struct SpiceWatch {
    int fd;
    int mask; /* SPICE_WATCH_EVENT_* */
    SpiceWatchFunc func;
    void *opaque;
    guint id;
};

static gboolean core_watch_fire(gint fd, GIOCondition cond, gpointer data)
{
    SpiceWatch *w = data;
    int ev = 0;
    if (cond & G_IO_IN)
        ev |= SPICE_WATCH_EVENT_READ;
    if (cond & G_IO_OUT)
        ev |= SPICE_WATCH_EVENT_WRITE;
    /* hang-up and errors are reported whatever was asked for: tell the
     * handler through the events it waits for, so it reads or writes, sees
     * the error and closes (otherwise poll() would return at once forever) */
    if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL))
        ev |= w->mask;
    ev &= w->mask;
    if (ev)
        w->func(fd, ev, w->opaque); /* may update or remove w */
    return G_SOURCE_CONTINUE;
}

static void core_watch_arm(SpiceWatch *w)
{
    if (w->id) {
        g_source_remove(w->id);
        w->id = 0;
    }
    GIOCondition cond = 0;
    if (w->mask & SPICE_WATCH_EVENT_READ)
        cond |= G_IO_IN;
    if (w->mask & SPICE_WATCH_EVENT_WRITE)
        cond |= G_IO_OUT;
    if (!cond)
        return;
    w->id = g_unix_fd_add(w->fd, cond, core_watch_fire, w);
    g_source_set_name_by_id(w->id, "spice-watch");
}

static SpiceWatch *core_watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    SpiceWatch *w = g_new0(SpiceWatch, 1);
    w->fd = fd;
    w->mask = mask;
    w->func = func;
    w->opaque = opaque;
    core_watch_arm(w);
    return w;
}

static void core_watch_update_mask(SpiceWatch *w, int mask)
{
    if (w->mask == mask && (w->id || !mask))
        return;
    w->mask = mask;
    core_watch_arm(w);
}

static void core_watch_remove(SpiceWatch *w)
{
    if (w->id)
        g_source_remove(w->id);
    g_free(w);
}

/*
 * The core interface, one for every spice-server xendm runs (-spice's,
 * display/spice.c, and the QXL device's private one without -spice,
 * display/qxl-spice-main.c).
 * spice-server calls every one of these on the thread that ran
 * spice_server_init() (the main loop's) and keeps the pointer:
 *   timer_add/start/cancel/remove  one-shot GLib timeouts; the callback
 *                                  may re-arm or remove its own timer;
 *   watch_add/update_mask/remove   GLib unix fd sources (read/write);
 *                                  hang-up and errors are reported as
 *                                  the events asked for;
 *   channel_event                  a client's channel connected,
 *                                  initialized or closed (spice-server
 *                                  forwards its worker's events here):
 *                                  spice.c's spice_channel_event().  A
 *                                  server that listens nowhere has none.
 * None may block.  Timers and watches are freed by *_remove only.
 */
static SpiceCoreInterface core_if = {
    .base = {.type = SPICE_INTERFACE_CORE,
             .description = "xendm main loop",
             .major_version = SPICE_INTERFACE_CORE_MAJOR,
             .minor_version = SPICE_INTERFACE_CORE_MINOR},
    .timer_add = core_timer_add,
    .timer_start = core_timer_start,
    .timer_cancel = core_timer_cancel,
    .timer_remove = core_timer_remove,
    .watch_add = core_watch_add,
    .watch_update_mask = core_watch_update_mask,
    .watch_remove = core_watch_remove,
    .channel_event = spice_channel_event,
};

SpiceCoreInterface *spice_core_interface(void)
{
    return &core_if;
}
