/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secrets in memory (the SPICE ticket, from -spice password= or QMP
 * set_password; the VNC password, a fixed array in display/vnc.c wiped the
 * same way): every copy xendm makes is wiped with explicit_bzero()
 * when it is freed or replaced, so it does not linger in freed heap memory
 * (core dumps, later allocations).  Secrets are never logged.  Copies made
 * by libraries (spice-server's ticket, a JSON parser's buffers) are theirs.
 */
#ifndef XENDM_SECRET_H
#define XENDM_SECRET_H

/* Overwrite the NUL-terminated string s with zeros; NULL is fine. */
void secret_wipe(char *s);
/* secret_wipe() then g_free(); NULL is fine. */
void secret_free(char *s);

#endif
