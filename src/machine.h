/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine: the PC that libxl's argv describes (the xenfv chipset, then
 * every -device in order, the ISA devices the argv asks for), its run state
 * as QMP reports it, and the QMP commands that act on the whole machine.
 *
 * Threads: main thread only.
 */
#ifndef XENDM_MACHINE_H
#define XENDM_MACHINE_H

#include <stdbool.h>

#include "src/cmdline.h"

enum machine_state {
    MACHINE_PRELAUNCH, /* -S, before the first cont */
    MACHINE_RUNNING,
    MACHINE_PAUSED,    /* QMP stop */
    MACHINE_SHUTDOWN,  /* the guest powered off (-no-shutdown keeps us alive) */
    MACHINE_SUSPENDED, /* S3 */
};

/* Create every device.  0 or -1 (message printed). */
int machine_create(const struct config *cfg);
void machine_destroy(void);

/* Register the machine's QMP commands (query-status, cont, stop, ...). */
void machine_register_commands(void);

enum machine_state machine_state(void);
const char *machine_state_name(enum machine_state s);
/* Move to a state: enables/disables ioreq forwarding and writes the
 * xenstore state key "running" when the machine starts or resumes (as QEMU
 * does).  0, or -1 if that write failed. */
int machine_set_state(enum machine_state s);
/* Whether xenstore may still be written (false after restriction). */
void machine_set_store_usable(bool usable);

/* Set by main: called when the guest asked for a shutdown that ends xendm
 * (without -no-shutdown). */
void machine_set_quit_hook(void (*quit)(void));
/* End xendm (the hypervisor connection is gone). */
void machine_quit(void);

/* From the Xen side, after the guest asked Xen for a shutdown (reason as
 * HV_SHUTDOWN_*) or entered an ACPI sleep state (S3 = 3, 0 = awake). */
void machine_guest_shutdown(unsigned reason);
void machine_guest_sleep_state(unsigned state);

#endif
