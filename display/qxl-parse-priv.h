/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the two halves of QXL command validation share, and nothing else
 * includes: display/qxl-parse.c (guest memory, copies, chunk chains, the
 * command dispatcher, the non-drawing commands and the I/O port requests)
 * gives display/qxl-parse-draw.c (drawables and everything they point to)
 * these primitives, and calls back its two drawable parsers.  The public
 * interface is display/qxl-parse.h.
 *
 * Every helper taking a struct qxl_parse records why a command is refused
 * in p->err (the innermost reason wins) and returns false / NULL; the
 * caller just returns false up to qxl_parse_command().  No locking: the
 * caller of qxl_parse_command() serialises everything.
 */
#ifndef XENDM_DISPLAY_QXL_PARSE_PRIV_H
#define XENDM_DISPLAY_QXL_PARSE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display/qxl-parse.h"

/* spice-server refuses data fields above 2 GiB - 1. */
#define QXL_MAX_DATA_FIELD 0x7fffffffull

/* The command is malformed: p->err says why (printf format).  false. */
bool qxl_parse_fail(struct qxl_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The command is well formed but spice-server would drop it (a surface
 * that does not exist now): so do we.  false. */
bool qxl_parse_drop(struct qxl_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Zeroed memory owned by the copy being built; counts towards the
 * command's budget (QXL_MAX_COMMAND_COPY at most).  NULL: refused. */
void *qxl_parse_alloc(struct qxl_parse *p, size_t n);
/* A host pointer as spice-server's host slot group reads it. */
bool qxl_parse_host_addr(struct qxl_parse *p, const void *ptr, QXLPHYSICAL *out);
/* `len` bytes of guest memory at `a`, inside one active slot: a pointer
 * into the guest's memory (read it once), or NULL.  `what` names the
 * structure in the message. */
const uint8_t *qxl_parse_ref(struct qxl_parse *p, QXLPHYSICAL a, uint64_t len, const char *what);
/* Read a guest structure once into dst. */
bool qxl_parse_read(struct qxl_parse *p, QXLPHYSICAL a, void *dst, size_t len, const char *what);
/* The data of the QXLDataChunk chain whose first header is at `first`:
 * each chunk inside one slot, at most QXL_MAX_CHUNKS of them (which also
 * ends loops), at most QXL_MAX_DATA_FIELD bytes in all.  With allow_ref and at
 * most one non-empty chunk, *data points at the data in guest memory and
 * *block is NULL; otherwise the data is copied into a new zeroed block of
 * `extra` + total bytes, from offset `extra`, and *block is that block.
 * *total is the data size. */
bool qxl_parse_chunks(struct qxl_parse *p, QXLPHYSICAL first, size_t extra, bool allow_ref,
                      const uint8_t **data, uint8_t **block, uint64_t *total, const char *what);
/* A surface a command draws on or depends on: out of range is malformed,
 * missing is dropped (spice-server checks these and drops the command). */
bool qxl_parse_surface_live(struct qxl_parse *p, int64_t id, const char *what);
/* r is ordered and inside the (live) surface; empty only if allow_empty. */
bool qxl_parse_rect_in_surface(struct qxl_parse *p, const QXLRect *r, uint32_t surface,
                               bool allow_empty, const char *what);

/* display/qxl-parse-draw.c: a QXL_CMD_DRAW at `a` in the native layout
 * (QXLDrawable) or the qxl-1 compat one (QXLCompatDrawable), checked and
 * copied; *out is the copy. */
bool qxl_parse_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out);
bool qxl_parse_compat_drawable(struct qxl_parse *p, QXLPHYSICAL a, void **out);

#endif
