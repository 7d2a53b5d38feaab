/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hand-driven RFB 3.8 peer (RFC 6143) for tests and benchmarks that must
 * do what no viewer library lets them: stop reading, stall, send malformed
 * messages.  Plain sockets to 127.0.0.1; every read is bounded by a
 * timeout; nothing asserts, so benchmarks can use it too.
 */
#ifndef TESTS_COMMON_RFB_PEER_H
#define TESTS_COMMON_RFB_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Connect to 127.0.0.1:port, with a receive buffer of rcvbuf bytes
 * (0: the default; the kernel's minimum if smaller); -1 on failure. */
int rfbp_connect(int port, int rcvbuf);
/* Exactly n bytes within timeout_ms (false on timeout, EOF or error). */
bool rfbp_read(int fd, void *buf, size_t n, int timeout_ms);
/* All n bytes in one send (no SIGPIPE when the server has gone). */
bool rfbp_write(int fd, const void *buf, size_t n);

/* RFB's big-endian fields. */
uint32_t rfbp_get32(const uint8_t *p);
void rfbp_put16(uint8_t *p, unsigned v);
void rfbp_put32(uint8_t *p, uint32_t v);

/* The server's ServerInit. */
struct rfbp_server_init {
    unsigned w, h, bpp, depth;
    bool big_endian, true_colour;
    unsigned max[3], shift[3]; /* red, green, blue */
};

/*
 * The handshake's steps; each returns false with *why naming what failed:
 *  - version: the server's "RFB 003.008\n", then ours;
 *  - security_none: version, then security type None among those offered,
 *    and a SecurityResult of OK;
 *  - init: ClientInit (shared or not), the ServerInit (its name, at most
 *    4096 bytes, read and dropped);
 *  - handshake: security_none, then init as a shared client.
 */
bool rfbp_version(int fd, int timeout_ms, const char **why);
bool rfbp_security_none(int fd, int timeout_ms, const char **why);
bool rfbp_init(int fd, bool shared, struct rfbp_server_init *si, int timeout_ms, const char **why);
bool rfbp_handshake(int fd, struct rfbp_server_init *si, int timeout_ms, const char **why);

/* SetEncodings with the one encoding Raw. */
bool rfbp_set_encodings_raw(int fd);
/* FramebufferUpdateRequest. */
bool rfbp_update_request(int fd, bool incremental, unsigned x, unsigned y, unsigned w, unsigned h);

#endif
