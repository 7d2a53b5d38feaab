/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Starting qemu-xen on xensim for tests and benchmarks; see dm.h. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "tests/common/dm.h"

#define DM_READY_TIMEOUT_MS 30000
#define DM_QMP_TIMEOUT_MS 10000

const char *dm_qemu_path(GError **err)
{
    const char *p = g_getenv("QEMU_XEN");
    if (!p || !*p)
        p = "/usr/libexec/xen-qemu-system-i386";
    if (access(p, X_OK) != 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s is missing: install the Debian package qemu-system-xen", p);
        return NULL;
    }
    return p;
}

gboolean dm_start_qemu(struct dm_run *run, const struct xsim_config *cfg, const char *const *extra,
                       GError **err)
{
    const char *qemu = dm_qemu_path(err);
    if (!qemu)
        return FALSE;
    return dm_start(run, qemu, cfg, extra, err);
}

gboolean dm_start(struct dm_run *run, const char *qemu, const struct xsim_config *cfg,
                  const char *const *extra, GError **err)
{
    memset(run, 0, sizeof(*run));
    run->x = xsim_create(cfg);
    if (!run->x) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "xsim_create failed");
        return FALSE;
    }
    struct xsim_config eff = *cfg;
    if (!eff.ram_mb)
        eff.ram_mb = 128;
    if (!eff.domid)
        eff.domid = 1;
    run->qmp_path = g_strdup_printf("%s/qmp.sock", xsim_dir(run->x));
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup(qemu));
    g_ptr_array_add(argv, g_strdup("-xen-domid"));
    g_ptr_array_add(argv, g_strdup_printf("%u", eff.domid));
    g_ptr_array_add(argv, g_strdup("-machine"));
    g_ptr_array_add(argv, g_strdup("xenfv"));
    g_ptr_array_add(argv, g_strdup("-m"));
    g_ptr_array_add(argv, g_strdup_printf("%u", eff.ram_mb));
    if (eff.vcpus > 1) {
        g_ptr_array_add(argv, g_strdup("-smp"));
        g_ptr_array_add(argv, g_strdup_printf("%u,maxcpus=%u", eff.vcpus, eff.vcpus));
    }
    g_ptr_array_add(argv, g_strdup("-nodefaults"));
    g_ptr_array_add(argv, g_strdup("-display"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-chardev"));
    g_ptr_array_add(argv, g_strdup_printf("socket,id=libxl-cmd,path=%s,server=on,wait=off", run->qmp_path));
    g_ptr_array_add(argv, g_strdup("-mon"));
    g_ptr_array_add(argv, g_strdup("chardev=libxl-cmd,mode=control"));
    for (unsigned i = 0; extra && extra[i]; i++)
        g_ptr_array_add(argv, g_strdup(extra[i]));
    g_ptr_array_add(argv, NULL);
    pid_t pid = xsim_spawn_dm(run->x, (char *const *)argv->pdata, NULL);
    g_ptr_array_free(argv, TRUE);
    if (pid < 0 || xsim_wait_dm_ready(run->x, DM_READY_TIMEOUT_MS) < 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s did not become ready: %s", qemu,
                    xsim_dm_diag(run->x));
        dm_stop(run);
        return FALSE;
    }
    GError *qerr = NULL;
    run->qmp = qmp_connect(run->qmp_path, DM_QMP_TIMEOUT_MS, &qerr);
    if (!run->qmp) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "QMP: %s; %s", qerr->message,
                    xsim_dm_diag(run->x));
        g_error_free(qerr);
        dm_stop(run);
        return FALSE;
    }
    return TRUE;
}

void dm_stop(struct dm_run *run)
{
    if (run->qmp)
        qmp_close(run->qmp);
    run->qmp = NULL;
    if (run->x) {
        xsim_stop_dm(run->x, 5000);
        if (run->qmp_path)
            unlink(run->qmp_path);
        xsim_destroy(run->x);
    }
    run->x = NULL;
    g_free(run->qmp_path);
    run->qmp_path = NULL;
}
