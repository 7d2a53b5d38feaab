/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Same PC as qemu-xen: for several argv variants that libxl produces (the
 * examples of xl-contract §1.6 without the parts later issues deliver),
 * start Debian's qemu-xen and xendm on xensim with the same argv, let the
 * guest's firmware enumerate and program the bus (xsim_fw_pci_setup), and
 * compare every PCI function the guest finds field by field: slot,
 * vendor/device, class/revision, header type, subsystem IDs, interrupt pin
 * and line, every BAR's type and size and the address the firmware gave it,
 * the ROM BAR size.  A Windows guest installed on qemu-xen must find the
 * same hardware on xendm.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/dm.h"

#define DOMID 7

struct variant {
    const char *name;
    unsigned ram_mb, vcpus;
    const char *args; /* after the QMP sockets, space separated */
};

static const struct variant variants[] = {
    {"vnc-none", 1016, 2,
     "-no-shutdown -nodefaults -no-user-config -name vm1 -vnc none -display none -boot order=cda "
     "-smp 2,maxcpus=2 -net none -machine xenfv,suppress-vmdesc=on -m 1016"},
    {"no-acpi", 1016, 2,
     "-no-shutdown -nodefaults -no-user-config -name vm1 -vnc none -display none -boot order=cda "
     "-no-acpi -smp 2,maxcpus=2 -net none -machine xenfv,suppress-vmdesc=on -m 1016"},
    {"serial-pty", 1016, 2,
     "-no-shutdown -nodefaults -no-user-config -name vm1 -vnc none -display none -serial pty "
     "-boot order=cda -smp 2,maxcpus=2 -net none -machine xenfv,suppress-vmdesc=on -m 1016"},
    {"stdvga", 1016, 2,
     "-no-shutdown -nodefaults -no-user-config -name vm1 -vnc none -display none "
     "-device VGA,vgamem_mb=16 -boot order=cda -smp 2,maxcpus=2 -net none "
     "-machine xenfv,suppress-vmdesc=on -m 1016"},
    {"stdvga-64mb", 1024, 1,
     "-no-shutdown -nodefaults -no-user-config -name vm1 -vnc none -display none "
     "-device VGA,vgamem_mb=64 -boot order=c -net none -machine xenfv,suppress-vmdesc=on -m 1024"},
    {"no-platform", 512, 1,
     "-no-shutdown -nodefaults -no-user-config -name vm2 -vnc none -display none -boot order=dc "
     "-net none -machine pc,accel=xen,suppress-vmdesc=on -m 512"},
};

static char *xendm_path(void)
{
    const char *p = g_getenv("XENDM");
    if (!p || access(p, X_OK) != 0)
        g_error("XENDM (the xendm binary) is not set or not executable: run through make check");
    return g_strdup(p);
}

/* argv as libxl builds it, with both QMP sockets in the simulator's dir */
static GPtrArray *build_argv(const char *dm, xsim *x, const struct variant *v)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(a, g_strdup(dm));
    g_ptr_array_add(a, g_strdup("-xen-domid"));
    g_ptr_array_add(a, g_strdup_printf("%d", DOMID));
    g_ptr_array_add(a, g_strdup("-chardev"));
    g_ptr_array_add(a, g_strdup_printf("socket,id=libxl-cmd,path=%s/qmp-libxl,server=on,wait=off", xsim_dir(x)));
    g_ptr_array_add(a, g_strdup("-mon"));
    g_ptr_array_add(a, g_strdup("chardev=libxl-cmd,mode=control"));
    g_ptr_array_add(a, g_strdup("-chardev"));
    g_ptr_array_add(a, g_strdup_printf("socket,id=libxenstat-cmd,path=%s/qmp-libxenstat,server=on,wait=off",
                                       xsim_dir(x)));
    g_ptr_array_add(a, g_strdup("-mon"));
    g_ptr_array_add(a, g_strdup("chardev=libxenstat-cmd,mode=control"));
    char **words = g_strsplit(v->args, " ", -1);
    for (char **w = words; *w; w++)
        g_ptr_array_add(a, g_strdup(*w));
    g_strfreev(words);
    g_ptr_array_add(a, NULL);
    return a;
}

/* Run one DM for a variant and return what the guest's firmware found. */
static struct xsim_pci_fn *enumerate(const char *dm, const struct variant *v, unsigned *n)
{
    struct xsim_config cfg = {.ram_mb = v->ram_mb, .vcpus = v->vcpus, .domid = DOMID};
    xsim *x = xsim_create(&cfg);
    g_assert_nonnull(x);
    GPtrArray *argv = build_argv(dm, x, v);
    g_assert_cmpint(xsim_spawn_dm(x, (char *const *)argv->pdata, NULL), >, 0);
    g_ptr_array_free(argv, TRUE);
    if (xsim_wait_dm_ready(x, 30000) < 0)
        g_error("%s (%s): %s", dm, v->name, xsim_dm_diag(x));
    int found = xsim_fw_pci_setup(x);
    if (found < 0)
        g_error("%s (%s): PCI setup failed: %s", dm, v->name, xsim_dm_diag(x));
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, n);
    struct xsim_pci_fn *copy = g_memdup2(fn, sizeof(*fn) * *n);
    g_assert_null(xsim_error(x));
    xsim_destroy(x);
    return copy;
}

static void compare_bar(const char *what, unsigned bdf, int idx, const struct xsim_pci_bar *q,
                        const struct xsim_pci_bar *m)
{
    if (q->size != m->size || q->is_io != m->is_io || q->is_64 != m->is_64 ||
        q->is_prefetch != m->is_prefetch || q->addr != m->addr)
        g_error("%s: %02x:%02x.%x BAR%d: qemu-xen %s size %#llx at %#llx%s%s, xendm %s size %#llx at %#llx%s%s",
                what, bdf >> 8, (bdf >> 3) & 31, bdf & 7, idx, q->is_io ? "io" : "mem",
                (unsigned long long)q->size, (unsigned long long)q->addr, q->is_64 ? " 64-bit" : "",
                q->is_prefetch ? " prefetch" : "", m->is_io ? "io" : "mem", (unsigned long long)m->size,
                (unsigned long long)m->addr, m->is_64 ? " 64-bit" : "", m->is_prefetch ? " prefetch" : "");
}

static void test_variant(gconstpointer data)
{
    const struct variant *v = data;
    GError *err = NULL;
    const char *qemu = dm_qemu_path(&err);
    g_assert_no_error(err);
    char *xendm = xendm_path();
    unsigned nq, nx;
    struct xsim_pci_fn *q = enumerate(qemu, v, &nq);
    struct xsim_pci_fn *m = enumerate(xendm, v, &nx);
    for (unsigned i = 0; i < nq; i++)
        g_test_message("qemu-xen %02x:%02x.%x %04x:%04x class %08x", q[i].bdf >> 8, (q[i].bdf >> 3) & 31,
                       q[i].bdf & 7, q[i].vendor, q[i].device, q[i].class_rev);
    g_assert_cmpuint(nx, ==, nq);
    for (unsigned i = 0; i < nq; i++) {
        g_assert_cmphex(m[i].bdf, ==, q[i].bdf);
        g_assert_cmphex(m[i].vendor, ==, q[i].vendor);
        g_assert_cmphex(m[i].device, ==, q[i].device);
        g_assert_cmphex(m[i].class_rev, ==, q[i].class_rev);
        g_assert_cmphex(m[i].header_type, ==, q[i].header_type);
        g_assert_cmphex(m[i].subsys_vendor, ==, q[i].subsys_vendor);
        g_assert_cmphex(m[i].subsys_id, ==, q[i].subsys_id);
        g_assert_cmpuint(m[i].irq_pin, ==, q[i].irq_pin);
        g_assert_cmpuint(m[i].irq_line, ==, q[i].irq_line);
        for (int b = 0; b < 6; b++)
            compare_bar(v->name, q[i].bdf, b, &q[i].bar[b], &m[i].bar[b]);
        compare_bar(v->name, q[i].bdf, 6, &q[i].rom, &m[i].rom);
    }
    g_free(q);
    g_free(m);
    g_free(xendm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
        char *path = g_strdup_printf("/same-pc/%s", variants[i].name);
        g_test_add_data_func(path, &variants[i], test_variant);
        g_free(path);
    }
    return g_test_run();
}
