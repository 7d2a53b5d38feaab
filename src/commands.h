/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The machine's QMP commands (src/commands.c). */
#ifndef XENDM_COMMANDS_H
#define XENDM_COMMANDS_H

void commands_register(unsigned vcpus);

#endif
