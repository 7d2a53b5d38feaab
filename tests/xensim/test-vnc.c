/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm's VNC server seen by a real, unmodified client: Debian's SeaBIOS VGA
 * ROM sets text mode and prints a line on xendm's std VGA (on xensim), then
 * two gvnccapture processes (package gvncviewer) connect at the same time
 * and each saves what it received.  Both pictures must equal xendm's own
 * screendump pixel for pixel (raw/lossless encodings) — and test-seabios
 * shows that screendump equals qemu-xen's for the same guest.  QMP
 * query-vnc reports the port the server bound.
 */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/dm.h"
#include "tests/common/image.h"

#define VNC_DISPLAY 73 /* port 5973 */

static struct image *load_png(const char *path)
{
    GError *err = NULL;
    GdkPixbuf *pb = gdk_pixbuf_new_from_file(path, &err);
    g_assert_no_error(err);
    unsigned w = (unsigned)gdk_pixbuf_get_width(pb), h = (unsigned)gdk_pixbuf_get_height(pb);
    int stride = gdk_pixbuf_get_rowstride(pb), nch = gdk_pixbuf_get_n_channels(pb);
    const guchar *px = gdk_pixbuf_read_pixels(pb);
    struct image *img = image_new(w, h);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            const guchar *p = px + y * (unsigned)stride + x * (unsigned)nch;
            image_set_pixel(img, x, y, (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]);
        }
    g_object_unref(pb);
    return img;
}

static void test_gvnccapture(void)
{
    const char *xendm = g_getenv("XENDM");
    if (!xendm)
        g_error("XENDM is not set: run through make check");
    if (!g_file_test("/usr/bin/gvnccapture", G_FILE_TEST_IS_EXECUTABLE))
        g_error("gvnccapture is missing: install the Debian package gvncviewer");
    char *vnc = g_strdup_printf("127.0.0.1:%d", VNC_DISPLAY);
    const char *args[] = {"-vnc", vnc, "-serial", "null", "-device", "VGA,vgamem_mb=16", NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run run;
    GError *err = NULL;
    if (!dm_start(&run, xendm, &cfg, args, &err))
        g_error("%s", err->message);

    JsonNode *q = qmp_execute(run.qmp, "query-vnc", NULL, 5000, &err);
    g_assert_no_error(err);
    JsonObject *qo = json_node_get_object(q);
    g_assert_true(json_object_get_boolean_member(qo, "enabled"));
    g_assert_cmpstr(json_object_get_string_member(qo, "service"), ==, "5973");
    json_node_unref(q);

    /* the guest: firmware, the VGA BIOS, a line of text */
    g_assert_cmpint(xsim_fw_pci_setup(run.x), >, 0);
    unsigned nfn;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(run.x, &nfn);
    uint16_t vga = 0xffff;
    for (unsigned i = 0; i < nfn; i++)
        if (fn[i].vendor == 0x1234 && fn[i].device == 0x1111)
            vga = fn[i].bdf;
    const char *dir = g_getenv("SEABIOS_DIR");
    char *rom = g_build_filename(dir && *dir ? dir : "/usr/share/seabios", "vgabios-stdvga.bin", NULL);
    if (access(rom, R_OK) != 0)
        g_error("%s is missing: install the Debian package seabios", rom);
    g_assert_cmpint(xsim_fw_load_rom(run.x, vga, rom), ==, 0);
    g_free(rom);
    g_assert_cmpint(xsim_rom_init(run.x, vga), ==, 0);
    struct x86regs r = {.eax = 0x0003};
    g_assert_cmpint(xsim_int10(run.x, &r), ==, 0);
    for (const char *c = "xendm over VNC: hello, gvnccapture"; *c; c++) {
        r = (struct x86regs){.eax = 0x0e00u | (uint8_t)*c, .ebx = 0x0007};
        g_assert_cmpint(xsim_int10(run.x, &r), ==, 0);
    }
    /* hide the blinking cursor (CRTC cursor start bit 5), so every capture
     * sees the same picture whatever the blink phase */
    guest_outb(0x3d4, 0x0a);
    guest_outb(0x3d5, 0x20);

    /* two real clients at once */
    char *png[2];
    GPid pid[2];
    for (int i = 0; i < 2; i++) {
        png[i] = g_strdup_printf("%s/capture-%d.png", xsim_dir(run.x), i);
        char *argv[] = {"/usr/bin/gvnccapture", vnc, png[i], NULL};
        g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                    NULL, NULL, &pid[i], &err));
        g_assert_no_error(err);
    }
    for (int i = 0; i < 2; i++) {
        int status = -1;
        for (int t = 0; t < 200 && waitpid(pid[i], &status, WNOHANG) == 0; t++)
            g_usleep(50000); /* bounded: 10 s per client */
        if (!WIFEXITED(status)) {
            kill(pid[i], SIGKILL);
            waitpid(pid[i], &status, 0);
            g_error("gvnccapture %d did not finish: %s", i, xsim_dm_diag(run.x));
        }
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_spawn_close_pid(pid[i]);
    }

    char *ppm = g_strdup_printf("%s/screen.ppm", xsim_dir(run.x));
    g_assert_cmpint(qmp_screendump(run.qmp, ppm, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *own = image_load_ppm(ppm, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(own->w, ==, 720);
    for (int i = 0; i < 2; i++) {
        struct image *cap = load_png(png[i]);
        unsigned fx = 0, fy = 0;
        long diff = image_compare(cap, own, &fx, &fy);
        if (diff)
            g_test_message("capture %d: %ux%u, %ld pixels differ, first at %u,%u", i, cap->w, cap->h, diff, fx,
                           fy);
        g_assert_cmpint(diff, ==, 0);
        g_assert_cmpint(image_count_non_bg(cap, 0, 0, cap->w, 16, 0x000000), >, 100); /* the text is there */
        image_free(cap);
        unlink(png[i]);
        g_free(png[i]);
    }
    image_free(own);
    unlink(ppm);
    g_free(ppm);
    dm_stop(&run);
    g_free(vnc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vnc/gvnccapture-two-clients-see-the-guest", test_gvnccapture);
    return g_test_run();
}
