/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The machine's QMP commands (src/commands.c). */
#ifndef XENDM_COMMANDS_H
#define XENDM_COMMANDS_H

struct vnc;

void commands_register(unsigned vcpus);
/* The VNC server query-vnc and the password commands act on (NULL: none). */
void commands_set_vnc(struct vnc *vnc);

#endif
