/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenstore, as libxl expects of a device model (xl-contract §3): under the
 * DM's home (/local/domain/0) it creates device-model/<domid>/backends/ —
 * empty: xendm serves no PV backend, and an existing but empty directory
 * tells libxl exactly that — and writes device-model/<domid>/state =
 * "running" once everything libxl will talk to is listening.  Nothing is
 * watched: xendm hosts no PV backends.  After xen_restrict() the handle is
 * dead, so everything here happens before it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xenstore.h>

#include "src/log.h"
#include "src/xen/xen.h"

static struct xs_handle *xs;
static unsigned store_domid;

int xen_store_open(unsigned domid)
{
    xs = xs_open(0);
    if (!xs) {
        log_msg("xenstore", "cannot connect to xenstored: %s", strerror(errno));
        return -1;
    }
    store_domid = domid;
    char path[64];
    snprintf(path, sizeof(path), "device-model/%u/backends", domid);
    if (!xs_mkdir(xs, XBT_NULL, path))
        log_msg("xenstore", "cannot create %s: %s", path, strerror(errno));
    return 0;
}

int xen_store_write_state(const char *state)
{
    if (!xs)
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "device-model/%u/state", store_domid);
    if (!xs_write(xs, XBT_NULL, path, state, (unsigned)strlen(state))) {
        log_msg("xenstore", "cannot write %s = %s: %s", path, state, strerror(errno));
        return -1;
    }
    return 0;
}

void xen_store_close(void)
{
    if (xs)
        xs_close(xs);
    xs = NULL;
}
