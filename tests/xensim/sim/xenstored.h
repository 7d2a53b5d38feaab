/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A xenstored for xensim: speaks the xenstored socket protocol
 * (xen/io/xs_wire.h) on a UNIX stream socket, so the real libxenstore in the
 * device model (XENSTORED_PATH=<socket>) and in tests talks to it unchanged.
 * Every connection is treated as dom0 (privileged), like the real daemon's
 * socket connections; relative paths are under /local/domain/0.
 * It runs on its own thread; the functions below are thread-safe.
 */
#ifndef XSIM_XENSTORED_H
#define XSIM_XENSTORED_H

struct xsd;
/* Listen on `path` and serve on a new thread.  NULL and errno on failure. */
struct xsd *xsd_start(const char *path);
void xsd_stop(struct xsd *d);
/* Direct access to the tree, absolute paths.  read returns a malloc'd,
 * NUL-terminated copy (len without the NUL) or NULL with errno. Writes made
 * here fire watches like client writes. */
char *xsd_read(struct xsd *d, const char *path, unsigned *len);
int xsd_write(struct xsd *d, const char *path, const void *val, unsigned len); /* 0 or -errno */
int xsd_mkdir(struct xsd *d, const char *path);
int xsd_rm(struct xsd *d, const char *path);
/* Called (on the xenstored thread, without its lock held) after every
 * successful write of a node, by a client or by xsd_write. */
typedef void xsd_write_hook(void *opaque, const char *abs_path, const char *value, unsigned len);
void xsd_set_write_hook(struct xsd *d, xsd_write_hook *hook, void *opaque);
/* Counters for tests: messages served, error replies, malformed messages. */
struct xsd_stats { unsigned long requests, errors, malformed, watch_events; };
void xsd_get_stats(struct xsd *d, struct xsd_stats *st);
#endif
