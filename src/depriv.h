/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deprivileging (style rule 10), in one place, before any guest data is
 * read: restrict the Xen handles to the domain, chroot, drop to the target
 * user, drop every capability, tighten resource limits, install a seccomp
 * allow-list.  The boundary: after depriv_apply() returns, xendm can only
 * use the fds it already holds and the syscalls the filter allows.
 */
#ifndef XENDM_DEPRIV_H
#define XENDM_DEPRIV_H

#include <stdbool.h>

struct depriv_params {
    bool restrict_xen;      /* -xen-domid-restrict */
    const char *chroot_dir; /* -chroot DIR or NULL */
    const char *runas;      /* -runas USER or UID:GID, or NULL */
    bool seccomp;           /* on unless -sandbox off */
};

/* 0 or -1 (message printed; xendm must then exit). */
int depriv_apply(const struct depriv_params *p);

#endif
