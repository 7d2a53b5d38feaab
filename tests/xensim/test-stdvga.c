/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A device model with libxl's std VGA (-device VGA,vgamem_mb=16) on xensim,
 * checked through its own QMP — first Debian's qemu-xen (a real peer we did
 * not write), then xendm with the very same guest:
 *  - after xsim_fw_pci_setup, every PCI function the guest found through
 *    config ioreqs is the one qemu reports in query-pci, with the same IDs,
 *    class and the BAR addresses the firmware assigned; and qemu reports no
 *    function the guest missed;
 *  - the Bochs VBE DISPI ID reads 0xB0C5 through port ioreqs;
 *  - 640x480x32 set through VBE, a pattern written into the relocated VRAM
 *    BAR by the guest: qemu's screendump shows exactly that pattern;
 *  - the guest's interrupt-line setup reached Xen as PCI link routes;
 *  - on SIGTERM qemu exits cleanly.
 */
#include "config.h"

#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/dm.h"
#include "tests/common/image.h"

#define W 640
#define H 480

static const char *const dm_args[] = {"-vnc", "none", "-serial", "null", "-device", "VGA,vgamem_mb=16", NULL};

static struct dm_run run;

static void test_start(gconstpointer data)
{
    GError *err = NULL;
    struct xsim_config cfg = {.ram_mb = 128};
    const char *dm = data ? dm_qemu_path(&err) : g_getenv("XENDM");
    g_assert_no_error(err);
    if (!dm)
        g_error("XENDM is not set: run through make check");
    if (!dm_start(&run, dm, &cfg, dm_args, &err))
        g_error("%s", err->message);
}

static JsonArray *qemu_pci_devices(JsonNode **keep)
{
    GError *err = NULL;
    JsonNode *r = qmp_execute(run.qmp, "query-pci", NULL, 10000, &err);
    g_assert_no_error(err);
    *keep = r;
    JsonArray *buses = json_node_get_array(r);
    g_assert_cmpuint(json_array_get_length(buses), >=, 1);
    JsonObject *bus0 = json_array_get_object_element(buses, 0);
    g_assert_cmpint(json_object_get_int_member(bus0, "bus"), ==, 0);
    return json_object_get_array_member(bus0, "devices");
}

static void test_pci_matches_qemu(void)
{
    int n = xsim_fw_pci_setup(run.x);
    g_assert_null(xsim_error(run.x));
    g_assert_cmpint(n, >=, 4); /* host bridge, ISA bridge, VGA, platform at least */

    unsigned nfn;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(run.x, &nfn);
    JsonNode *keep;
    JsonArray *devs = qemu_pci_devices(&keep);
    g_assert_cmpuint(json_array_get_length(devs), ==, nfn);

    for (unsigned i = 0; i < json_array_get_length(devs); i++) {
        JsonObject *d = json_array_get_object_element(devs, i);
        unsigned slot = (unsigned)json_object_get_int_member(d, "slot");
        unsigned func = (unsigned)json_object_get_int_member(d, "function");
        uint16_t bdf = (uint16_t)(slot << 3 | func);
        const struct xsim_pci_fn *g = NULL;
        for (unsigned k = 0; k < nfn; k++)
            if (fn[k].bdf == bdf)
                g = &fn[k];
        g_assert_nonnull(g);
        JsonObject *id = json_object_get_object_member(d, "id");
        g_assert_cmphex(g->vendor, ==, json_object_get_int_member(id, "vendor"));
        g_assert_cmphex(g->device, ==, json_object_get_int_member(id, "device"));
        JsonObject *cls = json_object_get_object_member(d, "class_info");
        g_assert_cmphex(g->class_rev >> 16, ==, json_object_get_int_member(cls, "class"));
        if (json_object_has_member(d, "irq") && g->irq_pin)
            g_assert_cmpint(g->irq_line, ==, json_object_get_int_member(d, "irq"));
        JsonArray *bars = json_object_get_array_member(d, "regions");
        for (unsigned b = 0; bars && b < json_array_get_length(bars); b++) {
            JsonObject *bar = json_array_get_object_element(bars, b);
            int idx = (int)json_object_get_int_member(bar, "bar");
            uint64_t addr = (uint64_t)json_object_get_int_member(bar, "address");
            uint64_t size = (uint64_t)json_object_get_int_member(bar, "size");
            const struct xsim_pci_bar *gb = idx == 6 ? &g->rom : &g->bar[idx];
            g_assert_cmphex(gb->size, ==, size);
            if (idx != 6) /* qemu lists a disabled ROM BAR as unmapped */
                g_assert_cmphex(gb->addr, ==, addr);
        }
    }
    json_node_unref(keep);
    /* hvmloader's routing reached Xen through PIIX3's config-write hook */
    g_assert_cmpint(xsim_link_route(run.x, 0), ==, 5);
    g_assert_cmpint(xsim_link_route(run.x, 1), ==, 10);
    g_assert_cmpint(xsim_link_route(run.x, 2), ==, 11);
    g_assert_cmpint(xsim_link_route(run.x, 3), ==, 5);
}

static void vbe_write(uint16_t index, uint16_t value)
{
    guest_outw(0x1ce, index);
    guest_outw(0x1cf, value);
}

static uint16_t vbe_read(uint16_t index)
{
    guest_outw(0x1ce, index);
    return guest_inw(0x1cf);
}

static uint32_t pattern(unsigned x, unsigned y)
{
    /* gradients plus a few sharp features, so any offset or stride error shows */
    uint32_t r = (x * 255) / (W - 1), g = (y * 255) / (H - 1), b = ((x ^ y) & 0x20) ? 0xff : 0x10;
    if (x == y || x == W - 1 - y / 2)
        r = g = b = 0xff;
    return r << 16 | g << 8 | b;
}

static void test_vbe_screendump(void)
{
    g_assert_cmphex(vbe_read(0), ==, 0xb0c5);

    unsigned nfn;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(run.x, &nfn);
    uint64_t lfb = 0;
    for (unsigned k = 0; k < nfn; k++)
        if (fn[k].vendor == 0x1234 && fn[k].device == 0x1111)
            lfb = fn[k].bar[0].addr;
    g_assert_cmphex(lfb, >=, 0xf0000000);

    vbe_write(4, 0);      /* disable */
    vbe_write(1, W);      /* xres */
    vbe_write(2, H);      /* yres */
    vbe_write(3, 32);     /* bpp */
    vbe_write(4, 0x41);   /* enable | LFB */
    guest_inb(0x3da);     /* reset the attribute flip-flop */
    guest_outb(0x3c0, 0x20); /* palette address source: unblank */
    g_assert_cmpuint(vbe_read(1), ==, W);
    g_assert_cmpuint(vbe_read(3), ==, 32);

    /* The BAR now holds qemu's VRAM frames: plain guest stores, no ioreqs. */
    uint32_t *fb = guest_ram_ptr(lfb, W * H * 4);
    g_assert_nonnull(fb);
    struct xsim_stats before, after;
    xsim_stats(run.x, &before);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            fb[y * W + x] = pattern(x, y);
    xsim_stats(run.x, &after);
    g_assert_cmpuint(after.sync, ==, before.sync);

    char *path = g_strdup_printf("%s/screen.ppm", xsim_dir(run.x));
    GError *err = NULL;
    g_assert_cmpint(qmp_screendump(run.qmp, path, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *img = image_load_ppm(path, &err);
    g_assert_no_error(err);
    struct image *want = image_new(W, H);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            image_set_pixel(want, x, y, pattern(x, y));
    unsigned fx = 0, fy = 0;
    long diff = image_compare(img, want, &fx, &fy);
    if (diff)
        g_test_message("screendump %ux%u differs in %ld pixels, first at %u,%u", img->w, img->h, diff, fx, fy);
    g_assert_cmpint(diff, ==, 0);
    image_free(img);
    image_free(want);
    unlink(path);
    g_free(path);
}

static void test_clean_exit(void)
{
    g_assert_cmpuint(xsim_nr_ioreq_servers(run.x), ==, 1);
    int status = xsim_stop_dm(run.x, 10000);
    g_assert_true(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
    g_assert_null(xsim_error(run.x));
    /* nothing it did was beyond what xensim implements */
    g_assert_cmpstr(xsim_enosys_log(run.x), ==, "");
    g_assert_cmpuint(xsim_nr_ioreq_servers(run.x), ==, 0); /* destroyed on the way out */
    dm_stop(&run);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const char *const names[] = {"qemu-xen", "xendm"};
    for (int i = 0; i < 2; i++) {
        gconstpointer qemu = i == 0 ? GINT_TO_POINTER(1) : NULL;
        char *p = g_strdup_printf("/%s/start", names[i]);
        g_test_add_data_func(p, qemu, test_start);
        g_free(p);
        p = g_strdup_printf("/%s/pci-matches-query-pci", names[i]);
        g_test_add_func(p, test_pci_matches_qemu);
        g_free(p);
        p = g_strdup_printf("/%s/vbe-screendump", names[i]);
        g_test_add_func(p, test_vbe_screendump);
        g_free(p);
        p = g_strdup_printf("/%s/clean-exit", names[i]);
        g_test_add_func(p, test_clean_exit);
        g_free(p);
    }
    return g_test_run();
}
