/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device models the benchmarks compare, and their start on xensim
 * (bench/common.h; links tests/common/libtestcommon.a). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "tests/common/dm.h"
#include "tests/common/vga-guest.h"

unsigned bench_dm_list(int argc, char **argv, int first, const char **dms, unsigned max)
{
    unsigned n = 0;
    for (int i = first; i < argc && n < max; i++)
        dms[n++] = argv[i];
    if (n || max < 2)
        return n;
    dms[0] = "qemu";
    dms[1] = getenv("XENDM") ? getenv("XENDM") : "./xendm";
    return 2;
}

const char *bench_dm_name(const char *dm)
{
    return strcmp(dm, "qemu") ? "xendm" : "qemu-xen";
}

const char *bench_dm_path(const char *prog, const char *dm)
{
    GError *err = NULL;
    if (strcmp(dm, "qemu"))
        return dm;
    const char *p = dm_qemu_path(&err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", prog, err->message);
        g_error_free(err);
    }
    return p;
}

bool bench_dm_start(const char *prog, const char *dm, const char *const *extra, struct dm_run *run)
{
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    const char *path = bench_dm_path(prog, dm);
    if (!path)
        return false;
    if (!dm_start(run, path, &cfg, extra, &err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, bench_dm_name(dm), err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

uint32_t *bench_vga_mode(const char *prog, xsim *x, unsigned w, unsigned h)
{
    struct vga_guest g;
    GError *err = NULL;
    if (!vga_guest_boot(&g, x, FALSE, &err)) {
        fprintf(stderr, "%s: std VGA: %s\n", prog, err->message);
        g_error_free(err);
        return NULL;
    }
    if (!vga_guest_vbe_set_mode(w, h, 32)) {
        fprintf(stderr, "%s: std VGA: mode %ux%ux32 refused: %s\n", prog, w, h, xsim_dm_diag(x));
        return NULL;
    }
    vga_guest_unblank();
    uint32_t *fb = vga_guest_lfb_ptr(&g, (size_t)w * h * 4);
    if (!fb || xsim_error(x)) {
        fprintf(stderr, "%s: std VGA: no framebuffer: %s\n", prog, xsim_dm_diag(x));
        return NULL;
    }
    return fb;
}
