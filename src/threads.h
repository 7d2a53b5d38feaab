/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helper threads that exist before deprivileging (design rule: deprivileged
 * before the first guest data is read).  Linux keeps capabilities per
 * thread: depriv_apply() drops them for the main thread (and the seccomp
 * filter and no_new_privs reach every thread through TSYNC), so a thread
 * created earlier — VNC's accept thread, spice-server's worker — drops its
 * own with thread_drop_caps() before it touches anything from the network
 * or the guest.
 */
#ifndef XENDM_THREADS_H
#define XENDM_THREADS_H

/* Clear the calling thread's effective, permitted and inheritable
 * capabilities (no-op if it has none).  0, or -1 with errno. */
int thread_drop_caps(void);
/* The same, once per thread: for callbacks a library runs on a thread of
 * its own (spice-server's worker), at the top of each such callback. */
void thread_drop_caps_once(void);

#endif
