/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VNC front end (xl-contract §1.5.3): an RFB server on libvncserver
 * that shows the framebuffer core's surface (fb.h) to any number of
 * viewers and feeds their keyboard and pointer into the input broker
 * (input.h).
 *
 * Threads (design.md, "Which thread touches what"):
 *   main       everything in this header; the RFB handshake (version,
 *              security, VNC auth, ClientInit) of every new connection,
 *              non-blocking, so the share policy and the password are
 *              decided here; copying fb_image() into the published RFB
 *              framebuffer; resizes; translating input.
 *   vnc-accept accepts connections and runs rfbNewClient() (which may wait
 *              up to 100 ms for a WebSockets header).
 *   vnc-in     libvncserver's reader, one per client: parses client
 *              messages and only queues input for the main thread.
 *   vnc-out    libvncserver's writer, one per client: encodes from the
 *              published RFB framebuffer and blocks on its own socket
 *              only, so a slow or stalled viewer delays nobody else.
 * Helper threads wake the main loop through one eventfd.  None of them
 * touches device state.
 *
 * Only one server may exist at a time (libvncserver keeps process-wide
 * client-list state).
 */
#ifndef XENDM_VNC_H
#define XENDM_VNC_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

struct vnc;

/*
 * Start serving.  spec is the -vnc value other than "none" (the caller
 * handles "none"):
 *   HOST:D[,to=L][,password[=on|off]][,share=allow-exclusive|force-shared|ignore]
 *         [,connections=N]
 * HOST is a name or address ("[v6]" allowed, empty = all addresses); the
 * server listens on TCP 5900+D, or if that port is busy on the next free
 * one up to 5900+L inclusive.  password=on requires VNC authentication,
 * which fails until vnc_set_password().  share= is QEMU's policy (default
 * allow-exclusive); connections= caps simultaneous viewers (default 32).
 * Any other option is an error naming it.  Listening starts at once;
 * clients are served by the default GMainContext's loop.
 * Returns NULL with err set (G_IO_ERROR) on a bad spec or when no port in
 * the range could be bound.
 */
struct vnc *vnc_start(const char *spec, GError **err);

/* Disconnect every client, stop listening, free.  NULL is allowed. */
void vnc_stop(struct vnc *v);

/* The TCP port actually bound, and the address as query-vnc reports it. */
int vnc_port(const struct vnc *v);
const char *vnc_host(const struct vnc *v);

/*
 * change-vnc-password: the new password for every later authentication
 * (significant to 8 characters; "" is a valid, empty password, as in
 * QEMU).  Returns 0, or -EINVAL when the server was started without
 * password=on (QEMU refuses then too).
 */
int vnc_set_password(struct vnc *v, const char *password);

/*
 * -k LAYOUT: the keyboard layout the guest uses, for translating keysyms
 * from viewers that do not send QEMU extended key events.  QEMU's names
 * (en-us, de, de-ch, fr-ca, ja, ...) or an xkb layout, optionally
 * "layout(variant)".  The keymap is compiled here from xkeyboard-config
 * (call before dropping privileges).  Without a call, en-us is compiled at
 * the first key event.  0, or -EINVAL with err set for an unknown layout.
 */
int vnc_set_keymap(struct vnc *v, const char *layout, GError **err);

/* -name: the desktop name viewers show ("xendm (NAME)"); before clients. */
void vnc_set_name(struct vnc *v, const char *name);

/*
 * Add the query-vnc result (QEMU's VncInfo) to b as one object value:
 * {"enabled":true,"host":...,"service":"5900","family":"ipv4",
 *  "auth":"none"|"vnc","clients":[{"host","service","family",
 *  "websocket":false}...]}, or {"enabled":false} when v is NULL.
 */
void vnc_query(const struct vnc *v, JsonBuilder *b);

struct vnc_stats {
    unsigned clients;     /* connected, past the handshake */
    unsigned handshaking; /* connected, still in the handshake */
    uint64_t connections; /* accepted sockets */
    uint64_t auth_failures;
    uint64_t refused;        /* by share policy, connection limit, bad handshake */
    uint64_t kicked;         /* disconnected by policy or a stalled resize */
    uint64_t updates;        /* rectangles copied to the RFB framebuffer */
    uint64_t resizes;        /* completed */
    uint64_t resize_retries; /* a client was mid-update; tried again */
    uint64_t cursor_updates; /* cursor shape or visibility changes sent on */
    uint64_t frame_swaps;    /* the core's published frame came, went or changed */
    uint64_t keys;           /* key events delivered to the input broker */
    uint64_t keys_unmapped;  /* keysyms the layout cannot type */
    uint64_t pointer_events;
};
void vnc_get_stats(const struct vnc *v, struct vnc_stats *st);

#endif
