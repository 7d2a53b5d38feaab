/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP server: the monitor sockets libxl and libxenstat talk to
 * (docs xl-contract.md §1.5.2, §2).
 *
 * A server listens on one AF_UNIX stream socket ("-chardev socket,path=P,
 * server=on" or the inherited "fd=N" of dm_restrict) and serves any number
 * of concurrent connections.  Each connection gets the greeting, must
 * negotiate with qmp_capabilities, then sends commands; input is split into
 * top-level JSON values by bracket depth and each value is parsed with
 * json-glib.  Replies are compact JSON ended by "\r\n", with the command's
 * "id" echoed unchanged.  Descriptors arriving with SCM_RIGHTS are queued per
 * connection for add-fd.
 *
 * Commands live in one process-wide registry shared by every server
 * (QEMU serves the same command set on every monitor).  Built in:
 * qmp_capabilities, query-version, query-commands, add-fd, remove-fd,
 * query-fdsets.
 *
 * Threads: everything here runs on the main thread, inside the GLib main
 * context that was thread-default when qmp_server_new() was called, and
 * never blocks.  No function may be called from another thread.
 *
 * Client input is never trusted: malformed JSON, wrong types, oversized
 * messages and floods get an error reply (or the connection is dropped),
 * are counted in struct qmp_stats and logged rate-limited; they never
 * affect another connection.
 */
#ifndef XENDM_QMP_H
#define XENDM_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

struct qmp_server;
struct qmp_conn;
struct qmp_deferred;

/* ------------------------------------------------------------ servers ---- */

/*
 * Start serving QMP.  Exactly one of:
 *  - path != NULL, fd == -1: create a listening socket at path, unlinking a
 *    stale socket first.  Fails if path exists and is not a socket, is too
 *    long for sun_path, or cannot be bound.
 *  - path == NULL, fd >= 0: use the inherited, already listening socket fd
 *    (dm_restrict).  Nothing is created or unlinked.  On success the server
 *    owns fd; on failure the caller still does.
 *  - path == NULL, fd == -1: no listener; connections only come from
 *    qmp_server_add_client() (fuzzers, tests).
 * label names the monitor in logs (the chardev id, e.g. "libxl-cmd").
 * Sources attach to the thread-default GMainContext at the time of the call.
 * Returns NULL with err set (G_IO_ERROR domain, message names the path/fd).
 */
struct qmp_server *qmp_server_new(const char *label, const char *path, int fd, GError **err);

/*
 * Close the listener and every connection (queued descriptors and the fd-set
 * descriptors they added are closed; replies still pending in deferred
 * commands are dropped).  Does NOT unlink the socket path: libxl does.
 * NULL is allowed.  Not from inside a command handler.
 */
void qmp_server_free(struct qmp_server *s);

/*
 * Serve an already connected stream socket as a new connection (the
 * greeting is queued at once).  The server owns fd on success.
 * Returns 0, or -EMFILE when the server's connection limit is reached.
 */
int qmp_server_add_client(struct qmp_server *s, int fd);

/* Counters since qmp_server_new(), for tests and diagnostics. */
struct qmp_stats {
    uint64_t connections;  /* accepted or added */
    uint64_t commands;     /* requests that reached a handler (incl. built-ins) */
    uint64_t parse_errors; /* not JSON (incl. nesting deeper than the limit) */
    uint64_t bad_requests; /* JSON but not a well-formed command object */
    uint64_t unknown_commands;
    uint64_t oversize;         /* message/backlog over the limit: connection closed */
    uint64_t output_overflows; /* client not reading: connection closed */
    uint64_t fds_dropped;      /* received descriptors closed unused */
    uint64_t conns_refused;    /* over the connection limit */
    unsigned open_connections;
    size_t input_backlog; /* bytes received but not yet parsed, all connections */
};
void qmp_server_get_stats(const struct qmp_server *s, struct qmp_stats *out);

/* ----------------------------------------------------------- commands ---- */

/*
 * Error classes libxl distinguishes (xl-contract §2.2.5).  Handlers report
 * errors as GErrors in the QMP_CLASS_ERROR domain with one of these codes; a
 * GError from any other domain is sent as GenericError with its message.
 */
enum qmp_class {
    QMP_CLASS_GENERIC_ERROR,
    QMP_CLASS_COMMAND_NOT_FOUND,
    QMP_CLASS_DEVICE_NOT_ACTIVE,
    QMP_CLASS_DEVICE_NOT_FOUND,
};
#define QMP_CLASS_ERROR (qmp_class_error_quark())
GQuark qmp_class_error_quark(void);

/*
 * A command handler.
 *
 * Called by: the server, on the main thread, for a negotiated connection,
 * once per request naming the command.  Must not block (rule 1: hand slow
 * work to a thread and use qmp_defer()).
 * c:      the requesting connection; valid for the duration of the call.
 * args:   the request's "arguments" object, borrowed, valid for the call;
 *         NULL when the request had none (the qmp_arg_* helpers accept NULL).
 * opaque: as given to qmp_register().
 * Returns the "return" value, owned by the caller (the server); NULL with
 * *err unset means an empty object {} (QEMU's reply for commands without a
 * result); NULL with *err set sends the error.  After qmp_defer() the
 * handler returns NULL without error and the reply comes later.
 */
typedef JsonNode *qmp_handler(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err);

/*
 * Add name to the registry (main thread; normally at start-up).  name is
 * copied.  Registering a name twice is a programming error (assert).
 */
void qmp_register(const char *name, qmp_handler *fn, void *opaque);
/* Remove name (no-op if absent).  Not from inside that command's handler. */
void qmp_unregister(const char *name);

/*
 * Error helpers for handlers: set *err with the class and a printf-style
 * description and return NULL, so a handler can `return qmp_err_...(err,
 * ...)`.  The descriptions should follow QEMU's where libxl or users may
 * match on them.
 */
JsonNode *qmp_err(GError **err, enum qmp_class cls, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
#define qmp_err_generic(err, ...)           qmp_err(err, QMP_CLASS_GENERIC_ERROR, __VA_ARGS__)
#define qmp_err_command_not_found(err, ...) qmp_err(err, QMP_CLASS_COMMAND_NOT_FOUND, __VA_ARGS__)
#define qmp_err_device_not_found(err, ...)  qmp_err(err, QMP_CLASS_DEVICE_NOT_FOUND, __VA_ARGS__)
#define qmp_err_device_not_active(err, ...) qmp_err(err, QMP_CLASS_DEVICE_NOT_ACTIVE, __VA_ARGS__)

/*
 * Argument helpers.  Each looks up name in args (NULL = no arguments):
 * returns 1 and stores the value if present with the right type, 0 if absent
 * and QMP_ARG_OPTIONAL (*out untouched), and -1 with a GenericError in *err
 * otherwise: "Parameter 'X' is missing" or "Invalid parameter type for 'X',
 * expected: integer|boolean|string|object|array" (QEMU's wording).  JSON
 * null is a type error.  Strings, objects and arrays are borrowed from args.
 */
enum qmp_arg_need { QMP_ARG_REQUIRED, QMP_ARG_OPTIONAL };
int qmp_arg_int(JsonObject *args, const char *name, enum qmp_arg_need need, int64_t *out,
                GError **err);
int qmp_arg_bool(JsonObject *args, const char *name, enum qmp_arg_need need, bool *out,
                 GError **err);
int qmp_arg_str(JsonObject *args, const char *name, enum qmp_arg_need need, const char **out,
                GError **err);
int qmp_arg_object(JsonObject *args, const char *name, enum qmp_arg_need need, JsonObject **out,
                   GError **err);
int qmp_arg_array(JsonObject *args, const char *name, enum qmp_arg_need need, JsonArray **out,
                  GError **err);
/*
 * An integer given either as a JSON integer or as a string holding one
 * (decimal, or hex with 0x): libxl 4.17 sends device_add properties as
 * strings, newer libxl as integers (xl-contract §2.5, §7).  A string that is
 * not a whole integer gives "Parameter 'X' expects an integer".
 */
int qmp_arg_int_or_str(JsonObject *args, const char *name, enum qmp_arg_need need, int64_t *out,
                       GError **err);
/*
 * Reject members of args not in the NULL-terminated list allowed:
 * returns 0, or -1 with GenericError "Parameter 'X' is unexpected".
 */
int qmp_arg_check_names(JsonObject *args, const char *const *allowed, GError **err);
/* n holds a JSON scalar of GType t (G_TYPE_INT64, G_TYPE_STRING, ...). */
bool qmp_node_is(JsonNode *n, GType t);

/* ---------------------------------------------------------- connections -- */

/* The label of the server c belongs to (e.g. "libxl-cmd"). */
const char *qmp_conn_label(const struct qmp_conn *c);

/*
 * Take the oldest descriptor received on c with SCM_RIGHTS no later than
 * the last byte of the command being executed.  The caller owns it.
 * Returns -1 if there is none.  Only from inside a handler running for c.
 */
int qmp_conn_take_fd(struct qmp_conn *c);

/*
 * Answer later.  Called by a handler running for c, which then returns NULL
 * without error.  The connection reads no further commands until the
 * deferred reply is completed (one command at a time, like QEMU without
 * OOB).  The returned token is owned by the caller until it passes it to
 * qmp_deferred_complete(), exactly once, on the main thread (possibly from
 * inside the handler itself).
 */
struct qmp_deferred *qmp_defer(struct qmp_conn *c);
/*
 * Send the reply of a deferred command and free d: the return value ret
 * (consumed; NULL means {}) or, if error is non-NULL, the error (borrowed).
 * If the connection has closed meanwhile, the reply is dropped.
 */
void qmp_deferred_complete(struct qmp_deferred *d, JsonNode *ret, const GError *error);

/* ------------------------------------------------------------- events ---- */

/*
 * Send {"timestamp": {"seconds": S, "microseconds": U}, "event": name,
 * "data": data} to every connection of every server that has completed
 * capabilities negotiation.  data (an object or NULL for none) is consumed.
 * Main thread; may be called from inside a handler.
 */
void qmp_broadcast_event(const char *name, JsonNode *data);

/* ------------------------------------------------------------ fd sets ---- */

/*
 * For other modules handling a "/dev/fdset/N" filename (xen-save-devices-
 * state, blockdev-change-medium): a dup (close-on-exec) of the oldest
 * descriptor in fd set N, owned by the caller.  Returns -EINVAL if path is
 * not of that form, -ENOENT if the set does not exist or is empty, or
 * another negative errno from dup; errno is set to the same code, so
 * callers may treat it like open().
 *
 * Lifetime: an fd set's descriptors belong to the connection that added
 * them and are closed when it closes (libxl adds and uses a descriptor on
 * one connection and closes its own copy right after); take the dup while
 * handling the command that names it.
 */
int qmp_fdset_lookup(const char *path);

#endif /* XENDM_QMP_H */
