/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character backends for -serial (and later other byte-stream front ends),
 * on the GLib main loop.  A chardev has a label ("serial0".."serial3") and
 * a filename string exactly as QEMU's query-chardev reports it, which libxl
 * reads (xl-contract §2.4):
 *
 *   spec                               filename
 *   null                               "null"
 *   pty                                "pty:/dev/pts/N"
 *   file:PATH  (truncated, as QEMU)    "file"  (QEMU reports the type only)
 *   unix:PATH,server=on[,wait=off]     "disconnected:unix:PATH,server=on" while
 *                                      no client, "unix:PATH,server=on" with one
 *   unix:PATH  (client)                "unix:" once connected (QEMU prints the
 *                                      unnamed local address)
 *   tcp:HOST:PORT,server=on[,...]      "disconnected:tcp:HOST:PORT,server=on", or
 *                                      "tcp:LADDR:LPORT,server=on <-> PADDR:PPORT"
 *   tcp:HOST:PORT  (client)            "tcp:LADDR:LPORT <-> PADDR:PPORT"
 * Socket options: server[=on|off], wait=on|off (or nowait), nodelay[=on|off];
 * anything else is refused by name.  "none", "stdio", "vc", "/dev/...",
 * "pipe:", "udp:", "telnet:" are refused with a message naming them.
 *
 * Never blocking: chardev_write() returns at once.  Bytes the peer cannot
 * take yet wait in a queue of CHARDEV_QUEUE_MAX bytes; beyond it they are
 * dropped and counted.  While nobody is connected -- a pty whose slave no
 * one has open (seen as POLLHUP on the master), a server socket without a
 * client -- output is discarded and counted, as QEMU does; except that a
 * server with wait=on (QEMU's default, where QEMU blocks start-up until a
 * client comes) keeps output up to the cap for the first client instead of
 * blocking.  Files are written by a helper thread ("chr-file") so a slow
 * disk never stalls the loop.  A server accepts one client at a time and
 * listens again when it leaves; a client connects once (no reconnect).
 *
 * Input: the front end sets a receiver; the chardev reads only as many
 * bytes as can_receive() allows, stops reading when it returns 0 (the data
 * waits in the kernel), and reads again after chardev_resume_input().
 *
 * Threads: main thread only (the file writer thread is internal).
 */
#ifndef XENDM_CHARDEV_H
#define XENDM_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output waiting for a slow peer: 64 KiB is ~5.7 s of a 115200-baud port
 * running flat out; a peer that far behind loses bytes rather than
 * letting a guest grow our memory. */
#define CHARDEV_QUEUE_MAX (64u * 1024u)

struct chardev;

/*
 * The front end's side, called on the main thread from the chardev's fd
 * watch (never from inside chardev_write()).  can_receive() returns how
 * many bytes the front end takes now; receive() gets at most that many (the
 * buffer is the chardev's, valid during the call).  Either may call
 * chardev_resume_input() and chardev_write() but not chardev_close().
 */
typedef size_t (*chardev_can_receive_fn)(void *opaque);
typedef void (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);

/* Open a backend from a -serial style spec.  NULL with *err set (domain
 * G_FILE_ERROR, message naming the spec) on a bad spec, a duplicate label
 * or a system error. */
struct chardev *chardev_open(const char *label, const char *spec, GError **err);
/* The same from fields (what a command-line parser already split up,
 * including -chardev's file append=on).  Strings are copied. */
enum chardev_type {
    CHARDEV_NULL,
    CHARDEV_PTY,
    CHARDEV_FILE,
    CHARDEV_UNIX,
    CHARDEV_TCP,
};
struct chardev_params {
    enum chardev_type type;
    const char *path;  /* FILE, UNIX */
    const char *host;  /* TCP ("" = every address for a server, loopback for a client) */
    const char *port;  /* TCP */
    bool server, wait; /* UNIX, TCP (wait: server only; see above) */
    bool nodelay;      /* TCP */
    bool append;       /* FILE: append instead of truncating */
};
struct chardev *chardev_open_params(const char *label, const struct chardev_params *p,
                                    GError **err);
/* Close it: stop watching, flush a file's queue (waits for the writer
 * thread), close descriptors, remove a server's socket file. */
void chardev_close(struct chardev *cd);
/* At exit: close every chardev (front ends must be gone). */
void chardev_close_all(void);
struct chardev *chardev_find(const char *label);

/* Hand bytes to the backend; returns how many it accepted (queued or
 * written, or discarded because nobody is connected).  Never blocks. */
size_t chardev_write(struct chardev *cd, const void *buf, size_t len);

/* Set (or with NULLs clear) the receiver; a set receiver makes the
 * chardev's "frontend-open" true. */
void chardev_set_receiver(struct chardev *cd, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque);
/* The front end can take input again. */
void chardev_resume_input(struct chardev *cd);

const char *chardev_label(const struct chardev *cd);
const char *chardev_filename(const struct chardev *cd);
bool chardev_frontend_open(const struct chardev *cd);
/* A peer is there (pty slave open, socket client connected; always true
 * for null and file). */
bool chardev_connected(const struct chardev *cd);

struct chardev_stats {
    uint64_t written;   /* bytes handed to the kernel (or to the file thread) */
    uint64_t queued;    /* bytes waiting now */
    uint64_t dropped;   /* refused because the queue was full */
    uint64_t discarded; /* thrown away because nobody was connected */
    uint64_t received;  /* bytes given to the receiver */
};
void chardev_get_stats(const struct chardev *cd, struct chardev_stats *st);

/* For QMP query-chardev: every open chardev, in the order opened, until
 * fn returns false. */
void chardev_foreach(bool (*fn)(const char *label, const char *filename, bool frontend_open,
                                void *opaque),
                     void *opaque);

#endif
