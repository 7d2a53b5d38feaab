/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Common code of the libxen* shims: the connection to the simulator, frame
 * mapping over the machine memfd, ENOSYS reporting and registration with the
 * real libxentoolcore (so xentoolcore_restrict_all reaches shim handles).
 */
#ifndef XSIM_SHIM_H
#define XSIM_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

#include "tests/xensim/proto.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Send a request and wait for its reply.  Returns the reply status (0 or
 * -errno); copies at most rep_max payload bytes to rep (*rep_len gets the
 * length if not NULL) and the passed fd to *fd_out (or -1). */
int shim_call(uint16_t op, const void *req, uint32_t len, void *rep, uint32_t rep_max,
              uint32_t *rep_len, int *fd_out);
/* Fire-and-forget request (no reply). */
int shim_send(uint16_t op, const void *req, uint32_t len);
/* Sets errno from a status and returns -1 for errors, 0 otherwise. */
int shim_ret(int status);
/* Log "xensim: <fn>: not implemented (ENOSYS)" once per function, tell the
 * simulator, set errno = ENOSYS.  Returns -1. */
int shim_enosys(const char *fn);

uint32_t shim_domid(void);    /* the simulated domain (from HELLO) */
uint32_t shim_nr_vcpus(void);
/* Map machine frames (negative entries are holes: *err gets the errno, the
 * page stays PROT_NONE).  Reserves the whole range first (MAP_FIXED at addr
 * if flags say so).  NULL and errno on failure. */
void *shim_map_frames(void *addr, int prot, int flags, size_t n, const int64_t *frames, int *err);
/* gfn -> frame for n gfns (split into protocol-sized requests). */
int shim_p2m_lookup(uint32_t domid, size_t n, const xen_pfn_t *gfns, int64_t *frames);

/* A handle known to libxentoolcore.  `kill` handles (libxenctrl, gnttab)
 * stop working when restricted, like the real ones whose fds get /dev/null;
 * the others become limited to the domid. */
struct shim_handle {
    struct shim_handle_ah {
        int (*restrict_callback)(struct shim_handle_ah *, domid_t);
        struct shim_handle_ah *le_next, **le_prev;
    } ah;
    bool kill_on_restrict;
    bool dead;
    int restricted_domid; /* -1: unrestricted */
};
void shim_handle_register(struct shim_handle *h, bool kill_on_restrict);
void shim_handle_deregister(struct shim_handle *h);
/* 0 if the handle may act on domid, else -1 with errno (EBADF / EPERM). */
int shim_handle_check(const struct shim_handle *h, uint32_t domid);

#endif
