/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small synchronous QMP client for tests and benchmarks.
 *
 * Speaks to a QMP server (xendm, or qemu-xen run side by side) over a UNIX
 * stream socket the way libxl does (docs/xl-contract.md §2): read the
 * greeting, send qmp_capabilities, then one command at a time, each with an
 * integer "id", and wait for the reply that echoes it.  Asynchronous events
 * that arrive meanwhile are queued for qmp_next_event().
 *
 * Framing: the server ends every message with "\r\n" (QEMU); a bare "\n" is
 * accepted too.  Commands are sent as compact JSON ended by "\r\n".  All JSON
 * is parsed and generated with json-glib.
 *
 * Time: every call takes a timeout in milliseconds (>= 0) and never blocks
 * past it; the socket is non-blocking and every wait is a poll() against a
 * monotonic deadline.
 *
 * Threads: a struct qmp belongs to one thread at a time; there is no locking.
 *
 * Errors are reported through GError in the QMP_ERROR domain (enum
 * qmp_error).  Functions returning int return 0 or a negative errno.
 */
#ifndef TESTS_COMMON_QMP_H
#define TESTS_COMMON_QMP_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);

/* Error codes in the QMP_ERROR domain. */
enum qmp_error {
    QMP_ERROR_TIMEOUT,  /* the deadline passed (connect, greeting, reply, event) */
    QMP_ERROR_IO,       /* a socket call failed (message names the call and errno) */
    QMP_ERROR_CLOSED,   /* the server closed the connection */
    QMP_ERROR_PROTOCOL, /* unparsable JSON, missing members, id we never sent, ... */
    QMP_ERROR_COMMAND,  /* the server answered {"error": {...}}; the message is
                         * "<class>: <desc>", e.g. "CommandNotFound: The command
                         * foo has not been found" */
};

struct qmp;

/*
 * Connect to the QMP socket at unix_path, retrying while the socket does not
 * exist yet or refuses (the server may still be starting), read the greeting
 * and negotiate capabilities; all of it within timeout_ms.
 * Returns NULL with err set on failure.
 */
struct qmp *qmp_connect(const char *unix_path, int timeout_ms, GError **err);

/*
 * Close the connection and free everything, including queued events.
 * NULL is allowed.
 */
void qmp_close(struct qmp *q);

/*
 * The greeting's "QMP" member, e.g. {"version": {"qemu": {"major": 7, ...},
 * "package": "..."}, "capabilities": []}.  Borrowed; valid until qmp_close().
 */
JsonNode *qmp_greeting(struct qmp *q);

/*
 * Execute cmd with optional arguments (a JSON object, or NULL; the node is
 * consumed in every case) and wait at most timeout_ms for its reply.
 * Returns the reply's "return" member (caller owns it: json_node_unref()),
 * or NULL with err set; a server error reply gives QMP_ERROR_COMMAND with the
 * error class kept in the message.  Events received while waiting are queued.
 * A late reply to an earlier command that timed out is discarded.
 */
JsonNode *qmp_execute(struct qmp *q, const char *cmd, JsonNode *args, int timeout_ms, GError **err);

/*
 * Next asynchronous event message, whole ({"event": NAME, "data": ...,
 * "timestamp": ...}; caller unrefs): from the queue if one is there, else
 * the first to arrive within timeout_ms (0: only what is already readable).
 * Returns NULL with err set (QMP_ERROR_TIMEOUT if none came).
 */
JsonNode *qmp_next_event(struct qmp *q, int timeout_ms, GError **err);

/*
 * "screendump" {"filename": path}: the server writes its current display to
 * path (a PPM by default in QEMU 7.2).  path is opened by the server process,
 * so pass an absolute path it may write.  Returns 0 or a negative errno
 * (-ETIMEDOUT, -ECONNRESET, -EPROTO, -EIO, -EREMOTEIO for a QMP error reply)
 * with err set.
 */
int qmp_screendump(struct qmp *q, const char *path, int timeout_ms, GError **err);

/*
 * The last complete line received from the server, without its terminator,
 * for diagnostics ("" before the first one).  Valid until the next call on q.
 */
const char *qmp_last_raw(struct qmp *q);

G_END_DECLS

#endif /* TESTS_COMMON_QMP_H */
