/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Between the SPICE files only (display/spice*.c and the QXL device's
 * display/qxl-spice*.c), kept out of spice.h, which src/ includes (and
 * which does not need pixman).  Main thread only.
 */
#ifndef XENDM_SPICE_PRIV_H
#define XENDM_SPICE_PRIV_H

#include <stdint.h>

#include <glib.h>
#include <pixman.h>
#include <spice.h>

struct spice_stats;

/* ---- display/spice.c ---- */

/* *err = the formatted message (g_free it), when err is not NULL. */
void spice_fail(char **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* spice-core.c's channel_event: a client channel connected, initialized or
 * closed (spice-server's info, valid until its DISCONNECTED returns). */
void spice_channel_event(int event, SpiceChannelEventInfo *info);

/* ---- display/spice-display.c: the simple display ---- */

/* Add the simple display's QXLInstance to server (before vm_start); it
 * listens to the framebuffer core while clients are connected.  0, or -1
 * with *err set. */
int spice_simple_create(SpiceServer *server, char **err);
/* The number of client connections changed: listen to the framebuffer
 * core or start the linger (main loop, outside spice-server's callbacks;
 * spice.c defers the call). */
void spice_simple_watch(void);
/* Stop producing commands: before spice_server_destroy(). */
void spice_simple_quiesce(void);
/* Free what is ours: after spice_server_destroy() ended the worker. */
void spice_simple_free(void);
/* Fill the display's counters of st (commands, released, bytes, surfaces,
 * width, height). */
void spice_simple_get_stats(struct spice_stats *st);

/* ---- display/qxl-spice.c: the QXL device's worker half ---- */

struct qxl_spice;
/* Add the QXL device's QXLInstance (its QXLInterface) to sp->server: the
 * spice_server_add_interface() result, 0 on success. */
int qxl_spice_attach(struct qxl_spice *sp);

/* ---- display/spice-display.c, for the QXL device's VGA mode too ---- */

/* Fill d and im as one QXL_DRAW_COPY onto surface 0 of the pixels of src
 * in box b (inside src; the caller clipped it), copied into bits as a
 * 32-bit top-down bitmap of (b's width * 4) bytes a row.  d, im and bits
 * are the caller's, in spice-server's host memory slot (a QXLPHYSICAL is a
 * pointer); release_id comes back in release_resource.  The simple display
 * and the QXL device's VGA mode use it.  0 or -ENOMEM. */
int spice_draw_copy(QXLDrawable *d, QXLImage *im, uint8_t *bits, pixman_image_t *src,
                    const pixman_box32_t *b, uint64_t release_id, uint32_t image_unique);

#endif
