/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SPICE front end (xl-contract §1.5.5): spice-server run on xendm's
 * GLib main loop, showing the framebuffer core's surface (fb.h) as a QXL
 * "simple display" unless a QXL device claims the display, and feeding the
 * client's keyboard and mouse into the input broker (input.h).
 *
 * Start-up order (src/main.c):
 *   spice_start()          before the machine is created: the server
 *                          listens, keyboard and mouse are registered, and
 *                          spice_display_server() is non-NULL, so a QXL
 *                          device can add its own QXLInstance while it is
 *                          created (and call spice_display_claim());
 *   spice_display_setup()  after the machine exists and before
 *                          deprivileging (spice-server creates its display
 *                          worker thread and a socketpair here): the simple
 *                          display over the framebuffer core (listening
 *                          to it only while clients are connected), unless
 *                          a QXL device claimed the display; then vm_start.
 *   spice_stop()           before the machine is destroyed: spice-server's
 *                          worker reads what the devices gave it (a QXL
 *                          primary surface, the guest's bitmaps and
 *                          release ring) until spice_server_destroy() has
 *                          joined it; a QXL device that claimed the display
 *                          is told then (its `gone` hook) and calls
 *                          spice-server no more.  The main loop must not
 *                          run the devices after it.
 *
 * Threads: everything in this header is main-thread only.  spice-server
 * runs one worker thread per QXLInstance (the "red worker"), which calls
 * back into the QXLInterface (get_command, release_resource, ...); the
 * hand-off between that thread and the main thread is the one sanctioned
 * lock of style.md rule 3 and is described in spice-display.c.  Everything
 * else spice-server calls (core timers and fd watches, channel events, the
 * keyboard/mouse/tablet interfaces) runs on the main thread.
 */
#ifndef XENDM_SPICE_H
#define XENDM_SPICE_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <spice.h>

#include "src/cmdline.h"

/*
 * Start serving the parsed -spice value (src/cmdline.h): spice_server_new
 * and spice_server_init on the default GMainContext (listening at once),
 * ticketing, compression and agent settings, the keyboard and mouse
 * interfaces.  name is what clients show as the guest's name (-name), or
 * NULL.  0, or -1 with *err set (g_free it).  The password is never
 * logged.
 */
int spice_start(const struct config_spice *o, const char *name, char **err);

/* See the start-up order above.  0, or -1 with *err set.  No-op without
 * spice_start(). */
int spice_display_setup(char **err);

/* Stop and free everything (spice-server's threads included), before the
 * devices that feed the display are freed (see the order above).  Safe when
 * never started or already stopped. */
void spice_stop(void);

/* The core interface (timers, fd watches, channel events) on xendm's main
 * loop (display/spice-core.c), for spice_server_init(): -spice's server
 * and the private one a QXL device runs without -spice (qxl-spice-main.c).  Static storage:
 * spice-server keeps the pointer.  Usable without spice_start(). */
SpiceCoreInterface *spice_core_interface(void);

/* The running SPICE server, or NULL when -spice was not given. */
SpiceServer *spice_display_server(void);
/* A QXL device registers itself as the SPICE display; spice.c then does not
 * create the simple display over the framebuffer core.  Call before the main
 * loop runs.  gone(opaque) is called by spice_stop() once spice-server has
 * ended (its worker joined, everything it held released): from then on the
 * claimant must not call spice-server with this server.  watch(opaque) is
 * called on the main loop, outside spice-server's callbacks, after the
 * number of client connections changed (spice_client_links()). */
void spice_display_claim(void (*gone)(void *opaque), void (*watch)(void *opaque), void *opaque);
/* Client connections (channels) open on -spice's server now. */
unsigned spice_client_links(void);
/*
 * A display shown to SPICE clients listens to the framebuffer core only
 * while clients are connected, and for this long after the last one left:
 * a viewer reconnecting after a network drop, or a script taking
 * screenshots one connection at a time, then gets only what changed
 * instead of a full frame each time, and a guest nobody watches stops
 * costing refresh passes (each fetches Xen's dirty-VRAM bitmap, which
 * pauses the domain) within seconds.  Not measured: test-spice takes its
 * screenshots well within it.  (The simple display, spice-display.c, and
 * a QXL card in VGA mode, qxl-spice-main.c.)
 */
#define SPICE_DISPLAY_LINGER_MS 15000

/*
 * QMP set_password protocol=spice: the new ticket ("" refuses everyone);
 * an expiry set by spice_expire_password() still applies (as in QEMU).
 * connected: NULL or "keep", "disconnect" (drop connected clients), "fail"
 * (-EBUSY if a client is connected).  0, -ENODEV without SPICE, -EINVAL for
 * another connected= value or a password longer than 60 bytes (spice-
 * server's limit).
 */
int spice_set_password(const char *password, const char *connected);
/* QMP expire_password protocol=spice: "now", "never", "+SECONDS" or an
 * absolute UNIX time in seconds.  0, -ENODEV, -EINVAL. */
int spice_expire_password(const char *time);

/* Add QEMU's SpiceInfo object to b (query-spice):
 * {"enabled":true,"migrated":false,"host":"127.0.0.1"|"*","port":5930,
 *  "tls-port":N (if set),"auth":"spice"|"none","compiled-version":"0.15.1",
 *  "mouse-mode":"server"|"client","channels":[{"host","port","family",
 *  "connection-id","channel-type","channel-id","tls"}...]} or, without
 * SPICE, {"enabled":false,"migrated":false,"mouse-mode":"client"}. */
void spice_query(JsonBuilder *b);

struct spice_stats {
    uint64_t commands;       /* draw commands queued for spice-server */
    uint64_t released;       /* of them released back by spice-server */
    uint64_t bytes;          /* pixel bytes copied into draw commands */
    uint64_t surfaces;       /* primary surfaces created */
    uint64_t keys;           /* key events delivered to the broker */
    uint64_t bad_scancodes;  /* scancode bytes dropped (not a key) */
    uint64_t pointer_events; /* pointer events delivered to the broker */
    unsigned width, height;  /* the primary surface now; 0 when none */
    unsigned channels;       /* initialized channels, all clients */
};
void spice_get_stats(struct spice_stats *st);

/* ---- between spice.c and spice-input.c only ---- */

/* Register the keyboard and mouse (and the tablet when the broker's pointer
 * sink is absolute).  0 or -1. */
int spice_input_init(SpiceServer *s);
/* Remove our timers (before spice_server_destroy); fini forgets the
 * interfaces (after it: spice-server freed its side). */
void spice_input_quiesce(void);
void spice_input_fini(void);
/* Add or remove the tablet to follow input_pointer_absolute() (spice-server
 * offers clients "client mouse mode" while a tablet exists), on the next
 * main-loop turn: safe from inside spice-server's callbacks, which must not
 * add or remove interfaces themselves.  Calls coalesce. */
void spice_input_sync_mode_later(void);
void spice_input_get_stats(struct spice_stats *st);

/*
 * A SPICE client's keyboard bytes (PC set-1 scancodes, 0xe0 and 0xe1
 * prefixes) into the broker's qnums (input.h), one byte at a time.
 * Returns 1 with *qnum and *down when a key is complete, 0 when the byte
 * was a prefix (or a fake shift, dropped), -1 when it cannot be part of a
 * key (the decoder starts afresh).  Start from a zeroed decoder.
 */
enum spice_kbd_state {
    SPICE_KBD_PLAIN,
    SPICE_KBD_E0,   /* after 0xe0 */
    SPICE_KBD_E1_1, /* after 0xe1: 1d (press) or 9d (release) next */
    SPICE_KBD_E1_2, /* after e1 1d / e1 9d: 45 / c5 next */
};
struct spice_kbd_decoder {
    enum spice_kbd_state state;
    bool e1_release;
};
int spice_kbd_decode(struct spice_kbd_decoder *d, uint8_t frag, unsigned *qnum, bool *down);

#endif
