/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real BIOS code on xensim: Debian's SeaBIOS VGA ROM (vgabios-stdvga.bin)
 * runs under Unicorn as the guest, against qemu-xen and against xendm, both
 * with libxl's "-device VGA,vgamem_mb=16".  It initialises the std VGA
 * device, sets text mode 3 through INT 10h and prints a string with the
 * teletype call.  Checked, for each device model:
 *  - the text cells in VGA memory (read back by the guest through MMIO
 *    ioreqs) hold the string with attribute 0x07;
 *  - qemu's screendump (a real peer) shows exactly the glyphs of the font the
 *    ROM itself reports (INT 10h AX=1130h), cell by cell, pixel by pixel, in
 *    one foreground and one background colour; everything else is blank;
 *  - the ROM's traffic went through both the sync and the buffered path;
 * and xendm's screendump equals qemu-xen's, pixel for pixel.
 */
#include "config.h"

#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/dm.h"
#include "tests/common/image.h"

static const char message[] = "Hello from SeaVGABIOS on xensim!";

static struct dm_run run;
static struct image *screens[2]; /* qemu-xen, xendm */

static char *rom_path(void)
{
    const char *dir = g_getenv("SEABIOS_DIR");
    char *p = g_build_filename(dir && *dir ? dir : "/usr/share/seabios", "vgabios-stdvga.bin", NULL);
    if (access(p, R_OK) != 0)
        g_error("%s is missing: install the Debian package seabios", p);
    return p;
}

static void rom_text_mode(gconstpointer data)
{
    gboolean qemu = GPOINTER_TO_INT(data);
    static const char *const args[] = {"-vnc", "none", "-serial", "null", "-device", "VGA,vgamem_mb=16", NULL};
    GError *err = NULL;
    struct xsim_config cfg = {.ram_mb = 128};
    const char *dm = qemu ? dm_qemu_path(&err) : g_getenv("XENDM");
    g_assert_no_error(err);
    if (!dm)
        g_error("XENDM is not set: run through make check");
    if (!dm_start(&run, dm, &cfg, args, &err))
        g_error("%s", err->message);
    xsim *x = run.x;
    g_assert_cmpint(xsim_fw_pci_setup(x), >, 0);
    unsigned nfn;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, &nfn);
    uint16_t VGA_BDF = 0xffff;
    for (unsigned i = 0; i < nfn; i++)
        if (fn[i].vendor == 0x1234 && fn[i].device == 0x1111)
            VGA_BDF = fn[i].bdf;
    g_assert_cmphex(VGA_BDF, !=, 0xffff);
    char *rom = rom_path();
    g_assert_cmpint(xsim_fw_load_rom(x, VGA_BDF, rom), ==, 0);
    g_free(rom);

    g_assert_cmpint(xsim_rom_init(x, VGA_BDF), ==, 0);
    struct x86regs r = {.eax = 0x0003};
    g_assert_cmpint(xsim_int10(x, &r), ==, 0);
    for (const char *c = message; *c; c++) {
        r = (struct x86regs){.eax = 0x0e00u | (uint8_t)*c, .ebx = 0x0007};
        g_assert_cmpint(xsim_int10(x, &r), ==, 0);
    }
    struct xsim_stats st;
    xsim_stats(x, &st);
    g_test_message("ROM run: %llu sync ioreqs, %llu buffered", (unsigned long long)st.sync,
                   (unsigned long long)st.buffered);
    g_assert_cmpuint(st.sync, >, 100);
    g_assert_cmpuint(st.buffered, >, 1000); /* font upload and clear: VGA window writes */
    g_assert_null(xsim_error(x));

    /* text cells: character, attribute */
    uint8_t cells[160];
    guest_mem_read(0xb8000, cells, sizeof(cells));
    for (size_t i = 0; i < strlen(message); i++) {
        g_assert_cmpint(cells[2 * i], ==, (uint8_t)message[i]);
        g_assert_cmpint(cells[2 * i + 1], ==, 0x07);
    }
    g_assert_cmpint(cells[2 * strlen(message)], ==, ' ');

    /* The ROM's own 8x16 font: INT 10h AX=1130h BH=06 -> ES:BP */
    r = (struct x86regs){.eax = 0x1130, .ebx = 0x0600};
    g_assert_cmpint(xsim_int10(x, &r), ==, 0);
    uint8_t font[256 * 16];
    guest_mem_read((uint64_t)r.es * 16 + (r.ebp & 0xffff), font, sizeof(font));
    g_assert_cmpint(font['H' * 16 + 8], !=, 0); /* a glyph, not a blank */

    char *path = g_strdup_printf("%s/text.ppm", xsim_dir(x));
    g_assert_cmpint(qmp_screendump(run.qmp, path, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *img = image_load_ppm(path, &err);
    g_assert_no_error(err);
    unlink(path);
    g_free(path);
    g_test_message("screendump %ux%u", img->w, img->h);
    g_assert_true(img->w == 720 || img->w == 640);
    g_assert_cmpuint(img->h, ==, 400);
    unsigned cw = img->w / 80, chh = img->h / 25;

    uint32_t bg = image_get_pixel(img, img->w - 1, img->h - 1);
    uint32_t fg = 0;
    for (unsigned y = 0; y < chh && !fg; y++)
        for (unsigned px = 0; px < cw * strlen(message) && !fg; px++)
            if (image_get_pixel(img, px, y) != bg)
                fg = image_get_pixel(img, px, y);
    g_assert_cmphex(bg, ==, 0x000000);
    /* light grey: the three channels equal and bright */
    g_assert_cmphex(fg >> 16, ==, fg & 0xff);
    g_assert_cmphex((fg >> 8) & 0xff, ==, fg & 0xff);
    g_assert_cmpuint(fg & 0xff, >=, 0x80);

    /* expected picture: glyph bits in fg, 9th column and the rest in bg;
     * the cursor cell (row 0, after the text) may blink: left out */
    struct image *want = image_new(img->w, img->h);
    image_fill_rect(want, 0, 0, img->w, img->h, bg);
    for (size_t i = 0; i < strlen(message); i++)
        for (unsigned y = 0; y < 16; y++)
            for (unsigned b = 0; b < 8; b++)
                if (font[(uint8_t)message[i] * 16 + y] & (0x80 >> b))
                    image_set_pixel(want, (unsigned)i * cw + b, y, fg);
    unsigned cur = (unsigned)strlen(message);
    image_fill_rect(img, cur * cw, 0, cw, chh, bg);
    unsigned fx = 0, fy = 0;
    long diff = image_compare(img, want, &fx, &fy);
    if (diff)
        g_test_message("%ld pixels differ, first at %u,%u", diff, fx, fy);
    g_assert_cmpint(diff, ==, 0);
    image_free(want);
    screens[qemu ? 0 : 1] = img;
    dm_stop(&run);
}

static void test_same_screen(void)
{
    g_assert_nonnull(screens[0]);
    g_assert_nonnull(screens[1]);
    unsigned fx = 0, fy = 0;
    long diff = image_compare(screens[1], screens[0], &fx, &fy);
    if (diff)
        g_test_message("xendm and qemu-xen differ in %ld pixels, first at %u,%u", diff, fx, fy);
    g_assert_cmpint(diff, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/seabios/stdvga-rom-text/qemu-xen", GINT_TO_POINTER(TRUE), rom_text_mode);
    g_test_add_data_func("/seabios/stdvga-rom-text/xendm", GINT_TO_POINTER(FALSE), rom_text_mode);
    g_test_add_func("/seabios/stdvga-rom-text/xendm-equals-qemu-xen", test_same_screen);
    int rc = g_test_run();
    image_free(screens[0]);
    image_free(screens[1]);
    return rc;
}
