/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL command validation for the QXL device (display/qxl-io.c,
 * qxl-spice.c), in plain functions that unit tests and the fuzzer call
 * without spice-server (style rule 11).  Implemented by
 * display/qxl-parse.c (memory slots, copies, the dispatcher, non-drawing
 * commands, I/O port requests) and display/qxl-parse-draw.c (drawables).
 *
 * The guest hands the QXL device "physical" addresses (QXLPHYSICAL: memory
 * slot id in bits 63-56, slot generation in bits 55-48, offset in bits
 * 47-0) of commands, chunk chains, images, palettes, clip rectangles...
 * spice-server trusts a lot of what it reads there (several of its checks
 * are assertions that abort the process), and the guest can change that
 * memory at any time.  So nothing the guest wrote reaches spice-server
 * directly: qxl_parse_command() reads each structure once, checks it
 * against the memory slots and the surfaces spice-server has, and builds a
 * private copy of the whole command tree in xendm's memory, in which every
 * address is a host pointer (spice-server's "host" memory slot group, as
 * QEMU's simple display uses).  Only bulk pixel data stays in guest memory
 * (device BARs, which stay mapped as long as xendm runs): a bitmap held in
 * one chunk and surface memory are referenced in place, because bad pixels
 * are only wrong pictures.  Bitmaps spread over several chunks, clip
 * rectangles, paths, strings, cursor shapes and messages are copied.
 * QUIC-compressed images are refused: spice-server aborts on a malformed
 * stream, and only decoding one would check it (qxl-parse-draw.c).
 *
 * What is checked, beyond "every byte inside one active memory slot":
 * chunk chains (length, count, loops), sizes against what the enclosing
 * structure declares, bitmap formats, strides and palettes (palettes are
 * padded to the format's full size), image types spice-server accepts,
 * brush/clip/effect/command types, clip rectangle and path and glyph
 * layouts (spice-server asserts on them), bounding boxes and clip
 * rectangles the right way round, surface ids (range, existence,
 * and that a drawable lists every surface it reads in surfaces_dest, with
 * a non-empty area inside it in surfaces_rects),
 * self-bitmap and copy-bits areas inside their surface, surface create
 * parameters, cursor shapes.  The first problem makes the whole command
 * invalid, with a message saying what was wrong.
 *
 * Threads: no locking here; the caller serialises access to `surfaces`.
 */
#ifndef XENDM_DISPLAY_QXL_PARSE_H
#define XENDM_DISPLAY_QXL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spice/enums.h>
#include <spice/qxl_dev.h>

/* The device's guest-visible memory slot scheme (QXLRom slot_* fields). */
#define QXL_NUM_MEMSLOTS  8
#define QXL_SLOT_GEN_BITS 8
#define QXL_SLOT_ID_BITS  8
#define QXL_NUM_SURFACES  1024
/* Largest copy one command may cost (bytes; the command is invalid
 * beyond): the biggest bitmap a 256 MiB slot can hold.  The device also
 * bounds what all the copies spice-server holds at once may cost
 * (struct qxl_parse.budget). */
#define QXL_MAX_COMMAND_COPY (256u << 20)
/* Chunks in one chain (spice-server allows 2M; real drivers use a few). */
#define QXL_MAX_CHUNKS 65536u
/* Cursor shapes up to this many pixels wide and high. */
#define QXL_MAX_CURSOR_DIM 1024u

/* One guest memory slot: [host, host + size) is xendm's mapping of the
 * guest range; an address's 48-bit offset minus `delta` indexes it. */
struct qxl_memslot {
    bool active;
    uint8_t *host;
    uint64_t size;
    uint64_t delta;
};

struct qxl_memslots {
    struct qxl_memslot slot[QXL_NUM_MEMSLOTS];
    uint8_t generation; /* QXLRom.slot_generation */
};

/* The surfaces spice-server will have once it has processed everything
 * accepted so far.  Surface 0 is the primary (created through the I/O
 * port, never by a command). */
struct qxl_surface_state {
    bool live;
    uint32_t width, height, format;
    int32_t stride;
};

struct qxl_surfaces {
    struct qxl_surface_state s[QXL_NUM_SURFACES];
    int32_t pinned; /* may not be destroyed now (an update is using it), or -1 */
};

void qxl_surfaces_reset(struct qxl_surfaces *sf);

/* The private copy of one command.  `cmd` is what spice-server gets
 * (QXLCommandExt.cmd.data = host pointer, group = host); its release info
 * id is this struct, so release_resource() finds it again. */
struct qxl_copy {
    uint32_t type; /* QXL_CMD_* */
    void *cmd;     /* QXLDrawable / QXLCompatDrawable / QXLSurfaceCmd / ... */
    /* Where the guest's QXLReleaseInfo of this command is (xendm's mapping
     * of guest memory): released back to the guest through the release
     * ring when spice-server is done. */
    QXLReleaseInfo *guest_release;
    uint64_t epoch; /* the caller's reset generation when it was made */
    size_t bytes;   /* copied (accounting) */
    struct qxl_block *blocks;
};

void qxl_copy_free(struct qxl_copy *c);
/* Zeroed memory owned by c (freed with it), for commands xendm makes
 * itself; NULL when out of memory. */
void *qxl_copy_alloc(struct qxl_copy *c, size_t n);

/* Turn a QXLPHYSICAL into a pointer to `len` bytes inside one active slot,
 * or NULL with a reason in err (errlen bytes). */
const uint8_t *qxl_translate(const struct qxl_memslots *m, QXLPHYSICAL addr, uint64_t len,
                             char *err, size_t errlen);

struct qxl_parse {
    const struct qxl_memslots *slots;
    struct qxl_surfaces *surfaces; /* updated by accepted surface commands */
    uint32_t flags;                /* QXL_COMMAND_FLAG_* of the device's mode */
    size_t budget;                 /* bytes this command may copy (0: QXL_MAX_COMMAND_COPY) */
    char err[200];                 /* why the last command was refused */
    /* private */
    bool nomem, dropped;
    struct qxl_copy *copy;
    bool have_deps;  /* a native drawable: surface images must be in deps */
    int32_t deps[3]; /* its surfaces_dest */
};

/* Validate the command the ring entry `cmd` describes and build its copy.
 * The command ring carries QXL_CMD_DRAW, _UPDATE, _MESSAGE and _SURFACE,
 * the cursor ring QXL_CMD_CURSOR only (spice-server aborts on any other
 * type).  0 and *out; -EINVAL: malformed (p->err says why); -ENOENT:
 * well-formed but about a surface that does not exist (now), which
 * spice-server would drop with a warning (drawing on a destroyed surface,
 * destroying it twice...): the caller drops it too and gives it back to
 * the guest, *release_info says where its release info is; -ENOMEM. */
int qxl_parse_command(struct qxl_parse *p, const QXLCommand *cmd, bool cursor_ring,
                      struct qxl_copy **out, QXLReleaseInfo **release_info);

/* The primary surface the guest asks for in QXLRam.create_surface: format
 * (16_555, 16_565, 32_xRGB or 32_ARGB), sizes, stride (a multiple of 4,
 * |stride| * height <= max_bytes) and memory inside one slot.  *mem is
 * the lowest byte of the surface in xendm's mapping.  0 or -EINVAL with
 * err set. */
int qxl_check_primary(const struct qxl_memslots *m, const QXLSurfaceCreate *sc, uint64_t max_bytes,
                      uint8_t **mem, char *err, size_t errlen);

/* The area of a QXL_IO_UPDATE_AREA: a live surface, a non-empty rectangle
 * inside it.  0, -EINVAL (err set), or 1 for an empty rectangle (old
 * drivers send those; nothing to do). */
int qxl_check_update_area(const struct qxl_surfaces *sf, uint32_t surface_id, const QXLRect *r,
                          char *err, size_t errlen);

/* QXL_IO_MONITORS_CONFIG_ASYNC: the QXLMonitorsConfig at addr, copied
 * (count heads, 1 <= count <= max_heads).  A g_malloc'd block, or NULL
 * with err set. */
QXLMonitorsConfig *qxl_copy_monitors_config(const struct qxl_memslots *m, QXLPHYSICAL addr,
                                            unsigned max_heads, char *err, size_t errlen);

/* A ring's indices as the guest left them: the guest owns one side; a ring
 * claiming more entries than it has is broken.  true if usable. */
static inline bool qxl_ring_sane(uint32_t prod, uint32_t cons, uint32_t num_items)
{
    return prod - cons <= num_items;
}

#endif
