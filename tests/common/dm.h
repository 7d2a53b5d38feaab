/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting a device model on xensim for tests and benchmarks: Debian's
 * qemu-xen with the argv libxl gives it (minus what the test does not
 * need), its QMP socket connected.  Failures carry the DM's exit status and
 * the tail of its output in the GError.
 */
#ifndef TESTS_COMMON_DM_H
#define TESTS_COMMON_DM_H

#include <glib.h>

#include "tests/common/qmp.h"
#include "tests/xensim/xensim.h"

G_BEGIN_DECLS

struct dm_run {
    xsim *x;
    struct qmp *qmp;
    char *qmp_path;
};

/* Path of qemu-xen ($QEMU_XEN or Debian's), or NULL with err naming the
 * Debian package when it is not installed. */
const char *dm_qemu_path(GError **err);
/* Create a domain from cfg and start the device model at dm_path (qemu-xen
 * or xendm: both take libxl's argv) as dm_start_qemu describes. */
gboolean dm_start(struct dm_run *run, const char *dm_path, const struct xsim_config *cfg,
                  const char *const *extra, GError **err);
/* Create a domain from cfg, start qemu-xen with
 *   -xen-domid D -machine xenfv -m RAM -nodefaults -display none
 *   -chardev socket,id=libxl-cmd,path=<dir>/qmp.sock,server=on,wait=off
 *   -mon chardev=libxl-cmd,mode=control  <extra args>
 * wait until ready and connect QMP.  FALSE and err on failure (run is
 * cleaned up). */
gboolean dm_start_qemu(struct dm_run *run, const struct xsim_config *cfg, const char *const *extra,
                       GError **err);
/* Stop the DM (SIGTERM, then SIGKILL), destroy the domain. */
void dm_stop(struct dm_run *run);

G_END_DECLS
#endif
