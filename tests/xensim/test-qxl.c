/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QXL (-device qxl-vga) on xensim, against the real xendm binary and
 * Debian's qemu-xen, with unmodified clients (test-qxl-guest.h drives the
 * device the way Linux's qxl driver does):
 *  - identity: after the same firmware PCI setup, QMP query-pci of qemu-xen
 *    and of xendm describe the QXL function alike (class name, subsystem
 *    ids as the guest reads them, BARs and the ROM BAR), the guest reads the same
 *    configuration space, the same 8 KiB ROM BAR (QXLRom and mode list) and
 *    the same RAM header after reset;
 *  - Debian's vgabios-qxl.bin, loaded from the ROM BAR and run on the
 *    device in VGA mode, prints text: xendm's screendump equals qemu-xen's;
 *  - video memory comes out of the domain's allowance: with libxl's
 *    videoram=128 (128 MiB + 1 MiB of slack for the domain to populate)
 *    both DMs start; with 64 MiB xendm refuses, naming videoram;
 *  - VGA-compatible mode: a Bochs VBE picture written into BAR0 is what
 *    spicy-screenshot (package spice-client-gtk) shows;
 *  - the driver: memory slots, an async primary surface, QXL_DRAW_FILL,
 *    QXL_DRAW_COPY of 32-bit bitmaps (one chunk and several) and of an
 *    8-bit palette bitmap, an off-screen surface drawn on and copied to
 *    the screen, cursor set and move, QXL_IO_UPDATE_AREA:
 *    spicy-screenshot, gvnccapture (package gvncviewer) and QMP screendump
 *    all equal the picture the test computes from what it drew — for
 *    xendm and, as a check of that picture, for qemu-xen; then the
 *    surfaces are destroyed and every command comes back through the
 *    release ring;
 *  - QXL_IO_SET_MODE (qxl-1 compat mode: bottom-up primary, guest physical
 *    addresses): both DMs' screendumps equal the fills the guest sent;
 *  - malformed commands and requests put the device in its error state
 *    (QXL_INTERRUPT_ERROR, a log line), xendm keeps answering QMP, and
 *    QXL_IO_RESET brings the device back: without -spice (xendm's own
 *    spice-server renders) gvnccapture and screendump show what it draws
 *    next, without any QXL_IO_UPDATE_AREA from the guest;
 *  - VGA mode with -spice and nobody connected: no dirty-VRAM fetches at
 *    all; a SPICE client gets the picture at once; 15 s after it left the
 *    fetches stop again, and a new client gets the changed picture.
 * Ports: SPICE 5930-5939, VNC displays 20-29.
 */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/image-png.h"
#include "tests/common/dm.h"
#include "tests/common/image.h"
#include "tests/xensim/test-qxl-guest.h"
#include "tests/xensim/test-spice-util.h"

#define QXL_ARG     "qxl-vga,vram_size_mb=64,ram_size_mb=64"
#define SPICE_XENDM 5930
#define SPICE_QEMU  5931
#define SPICE_IDLE  5932
#define VNC_XENDM   20 /* 5920 */
#define W           640
#define H           480
#define CMD_TIMEOUT 10000

/* Stop the DM and check it went cleanly (spice-server's threads and all). */
static void stop_clean(struct dm_run *run)
{
    int status = xsim_stop_dm(run->x, 10000);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
        !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
        g_error("the DM did not exit cleanly: %s", xsim_dm_diag(run->x));
    dm_stop(run);
}

static const char *xendm_path(void)
{
    const char *p = g_getenv("XENDM");
    if (!p)
        g_error("XENDM is not set: run through make check");
    return p;
}

static const char *qemu_path(void)
{
    GError *err = NULL;
    const char *p = dm_qemu_path(&err);
    if (!p)
        g_error("%s", err->message);
    return p;
}

static void start(struct dm_run *run, const char *dm, const struct xsim_config *cfg,
                  const char *const *args)
{
    GError *err = NULL;
    if (!dm_start(run, dm, cfg, args, &err))
        g_error("%s", err->message);
    g_assert_cmpint(xsim_fw_pci_setup(run->x), >, 0);
    g_assert_null(xsim_error(run->x));
}

/* The card alone: no VNC, no SPICE, 128 MiB of guest RAM. */
static const char *const plain_args[] = {"-vnc",    "none",  "-serial", "null",
                                         "-device", QXL_ARG, NULL};

static void start_plain(struct dm_run *run, const char *dm, struct qg *g)
{
    struct xsim_config cfg = {.ram_mb = 128};
    start(run, dm, &cfg, plain_args);
    qg_probe(g, run->x);
}

/* What query-pci says about the QXL function: identity (class and its
 * name, vendor, device, subsystem), interrupt and every region, the ROM BAR
 * included, as "key=value" text. */
struct qpci {
    char *text;
    gint64 subsys_vendor, subsys, rom_size; /* the same, apart */
};

static void qmp_qxl(struct qmp *q, struct qpci *out)
{
    GError *err = NULL;
    JsonNode *r = qmp_execute(q, "query-pci", NULL, 10000, &err);
    g_assert_no_error(err);
    JsonArray *devs = json_object_get_array_member(
        json_array_get_object_element(json_node_get_array(r), 0), "devices");
    memset(out, 0, sizeof(*out));
    out->rom_size = -1;
    for (unsigned i = 0; i < json_array_get_length(devs); i++) {
        JsonObject *d = json_array_get_object_element(devs, i);
        JsonObject *id = json_object_get_object_member(d, "id");
        if (json_object_get_int_member(id, "vendor") != 0x1b36)
            continue;
        JsonObject *cls = json_object_get_object_member(d, "class_info");
        GString *t = g_string_new(NULL);
        g_string_append_printf(
            t, "slot=%lld function=%lld class=%#llx desc=%s vendor=%#llx device=%#llx",
            (long long)json_object_get_int_member(d, "slot"),
            (long long)json_object_get_int_member(d, "function"),
            (long long)json_object_get_int_member(cls, "class"),
            json_object_get_string_member_with_default(cls, "desc", "(none)"),
            (long long)json_object_get_int_member(id, "vendor"),
            (long long)json_object_get_int_member(id, "device"));
        out->subsys_vendor = json_object_get_int_member_with_default(id, "subsystem-vendor", -1);
        out->subsys = json_object_get_int_member_with_default(id, "subsystem", -1);
        g_string_append_printf(t, " subsystem=%#llx:%#llx", (long long)out->subsys_vendor,
                               (long long)out->subsys);
        g_string_append_printf(t, " irq_pin=%lld irq=%lld",
                               (long long)json_object_get_int_member(d, "irq_pin"),
                               (long long)json_object_get_int_member(d, "irq"));
        JsonArray *regs = json_object_get_array_member(d, "regions");
        for (unsigned k = 0; k < json_array_get_length(regs); k++) {
            JsonObject *reg = json_array_get_object_element(regs, k);
            gint64 bar = json_object_get_int_member(reg, "bar");
            if (bar == 6)
                out->rom_size = json_object_get_int_member(reg, "size");
            const char *type = json_object_get_string_member(reg, "type");
            g_string_append_printf(t, " bar%lld=%s,%#llx@%#llx", (long long)bar, type,
                                   (long long)json_object_get_int_member(reg, "size"),
                                   (long long)json_object_get_int_member(reg, "address"));
            if (!strcmp(type, "memory"))
                g_string_append_printf(t, ",prefetch=%d,64=%d",
                                       json_object_get_boolean_member(reg, "prefetch"),
                                       json_object_get_boolean_member(reg, "mem_type_64"));
        }
        out->text = g_string_free(t, FALSE);
    }
    json_node_unref(r);
    g_assert_nonnull(out->text);
}

struct identity {
    struct qpci qmp;
    uint32_t config[16];
    uint64_t rom_bar_size; /* the expansion ROM, as the firmware sized it */
    uint8_t rom[8192];
    uint8_t ram_header[8192];
};

static void read_identity(struct dm_run *run, struct identity *id)
{
    struct qg g;
    unsigned n;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(run->x, &n);
    qg_probe(&g, run->x);
    for (unsigned i = 0; i < n; i++)
        if (fn[i].bdf == g.bdf)
            id->rom_bar_size = fn[i].rom.size;
    qmp_qxl(run->qmp, &id->qmp);
    for (unsigned i = 0; i < 16; i++)
        id->config[i] = guest_pci_read(g.bdf, i * 4, 4);
    guest_mem_read(g.rom_gpa, id->rom, sizeof(id->rom));
    memcpy(id->ram_header, g.ram + g.rom.ram_header_offset, sizeof(id->ram_header));
    g_hash_table_destroy(g.pending);
}

static void test_identity(void)
{
    struct xsim_config cfg = {.ram_mb = 128};
    struct identity *id[2];
    struct dm_run run;

    for (int i = 0; i < 2; i++) {
        id[i] = g_new0(struct identity, 1);
        start(&run, i ? xendm_path() : qemu_path(), &cfg, plain_args);
        read_identity(&run, id[i]);
        dm_stop(&run);
    }
    g_test_message("qemu-xen: %s", id[0]->qmp.text);
    g_assert_cmpstr(id[1]->qmp.text, ==, id[0]->qmp.text);
    /* the guest sees the same configuration space (subsystem ids included) */
    for (unsigned i = 0; i < 16; i++)
        if (id[1]->config[i] != id[0]->config[i])
            g_error("config dword %#x: xendm %08x, qemu-xen %08x", i * 4, id[1]->config[i],
                    id[0]->config[i]);
    /* xendm's query-pci reports the subsystem the guest reads and the
     * expansion ROM the firmware sized; so does qemu-xen's (compared above) */
    g_assert_cmphex(id[1]->qmp.subsys_vendor, ==, id[1]->config[0x2c / 4] & 0xffff);
    g_assert_cmphex(id[1]->qmp.subsys, ==, id[1]->config[0x2c / 4] >> 16);
    g_assert_cmphex(id[1]->qmp.rom_size, ==, id[1]->rom_bar_size);
    g_assert_cmphex(id[0]->rom_bar_size, ==, id[1]->rom_bar_size);
    for (unsigned i = 0; i < sizeof(id[0]->rom); i++)
        if (id[1]->rom[i] != id[0]->rom[i])
            g_error("ROM BAR byte %#x: xendm %02x, qemu-xen %02x", i, id[1]->rom[i], id[0]->rom[i]);
    for (unsigned i = 0; i < sizeof(id[0]->ram_header); i++)
        if (id[1]->ram_header[i] != id[0]->ram_header[i])
            g_error("RAM header byte %#x: xendm %02x, qemu-xen %02x", i, id[1]->ram_header[i],
                    id[0]->ram_header[i]);
    /* the ROM really describes this RAM BAR (not just two equal bugs) */
    const QXLRom *rom = (const QXLRom *)id[1]->rom;
    g_assert_cmphex(rom->magic, ==, QXL_ROM_MAGIC);
    g_assert_cmpuint(rom->ram_header_offset, ==, (64u << 20) - 8192);
    g_assert_cmpuint(rom->surface0_area_size, ==, 16u << 20);
    for (int i = 0; i < 2; i++) {
        g_free(id[i]->qmp.text);
        g_free(id[i]);
    }
}

static void test_videoram(void)
{
    /* libxl: videoram=128 leaves 128 MiB + 1 MiB of the allowance */
    struct xsim_config cfg = {.ram_mb = 128, .max_extra_pages = (129u << 20) / 4096};
    struct dm_run run;
    GError *err = NULL;

    for (int i = 0; i < 2; i++) {
        g_assert_true(dm_start(&run, i ? xendm_path() : qemu_path(), &cfg, plain_args, &err));
        g_assert_no_error(err);
        dm_stop(&run);
    }
    cfg.max_extra_pages = (64u << 20) / 4096;
    g_assert_false(dm_start(&run, xendm_path(), &cfg, plain_args, &err));
    g_assert_nonnull(err);
    g_test_message("%s", err->message);
    g_assert_nonnull(strstr(err->message, "videoram"));
    g_clear_error(&err);
}

/* Debian's vgabios-qxl.bin from the ROM BAR, run on the device in VGA
 * mode: the text it prints looks the same on both DMs. */
static struct image *seabios_text(const char *dm)
{
    struct dm_run run;
    struct qg g;
    GError *err = NULL;

    start_plain(&run, dm, &g);
    const char *dir = g_getenv("SEABIOS_DIR");
    char *rom = g_build_filename(dir && *dir ? dir : "/usr/share/seabios", "vgabios-qxl.bin", NULL);
    if (access(rom, R_OK) != 0)
        g_error("%s is missing: install the Debian package seabios", rom);
    g_assert_cmpint(xsim_fw_load_rom(run.x, g.bdf, rom), ==, 0);
    g_free(rom);
    g_assert_cmpint(xsim_rom_init(run.x, g.bdf), ==, 0);
    struct x86regs r = {.eax = 0x0003};
    g_assert_cmpint(xsim_int10(run.x, &r), ==, 0);
    for (const char *c = "QXL in VGA mode: SeaVGABIOS says hello"; *c; c++) {
        r = (struct x86regs){.eax = 0x0e00u | (uint8_t)*c, .ebx = 0x0007};
        g_assert_cmpint(xsim_int10(run.x, &r), ==, 0);
    }
    guest_outb(0x3d4, 0x0a); /* no blinking cursor: every screendump alike */
    guest_outb(0x3d5, 0x20);
    char *ppm = g_build_filename(sutil_tmpdir(), "text.ppm", NULL);
    g_assert_cmpint(qmp_screendump(run.qmp, ppm, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *img = image_load_ppm(ppm, &err);
    g_assert_no_error(err);
    g_free(ppm);
    g_assert_null(xsim_error(run.x));
    g_hash_table_destroy(g.pending);
    dm_stop(&run);
    return img;
}

static void test_seabios(void)
{
    struct image *q = seabios_text(qemu_path()), *x = seabios_text(xendm_path());
    g_assert_cmpint(image_count_non_bg(x, 0, 0, x->w, 16, 0x000000), >,
                    100); /* the text is there */
    char *d = sutil_diff(x, q);
    if (image_compare(x, q, NULL, NULL) != 0)
        g_error("xendm's screen differs from qemu-xen's: %s", d);
    g_free(d);
    image_free(q);
    image_free(x);
}

/* ------------------------------------------------------------------------
 * What the guest draws, and the picture that makes
 */

static uint32_t bitmap_px(unsigned x, unsigned y)
{
    return (x * 255 / 99) << 16 | (y * 255 / 59) << 8 | ((x ^ y) & 8 ? 0xc0 : 0x30);
}

static void want_fill(struct image *img, int x, int y, int w, int h, uint32_t rgb)
{
    image_fill_rect(img, (unsigned)x, (unsigned)y, (unsigned)w, (unsigned)h, rgb & 0xffffff);
}

/* Draw the scene; returns what a client must show. */
static struct image *draw_scene(struct qg *g)
{
    struct image *want = image_new(W, H);
    uint64_t cmds[32];
    uint32_t types[32];
    unsigned n = 0;
#define DRAW(c) (types[n] = QXL_CMD_DRAW, cmds[n++] = (c))
#define SURF(c) (types[n] = QXL_CMD_SURFACE, cmds[n++] = (c))

    /* a full-screen fill that the next one covers: released early */
    DRAW(qg_fill(g, 0, 0, 0, W, H, 0xff0000));
    DRAW(qg_fill(g, 0, 0, 0, W, H, 0x203040));
    want_fill(want, 0, 0, W, H, 0x203040);
    DRAW(qg_fill(g, 0, 20, 30, 200, 100, 0x00c000));
    want_fill(want, 20, 30, 200, 100, 0x00c000);
    DRAW(qg_fill(g, 0, 600, 440, 40, 40, 0xffffff));
    want_fill(want, 600, 440, 40, 40, 0xffffff);

    /* 32-bit bitmaps: one chunk, then three */
    uint32_t *px = g_new(uint32_t, 100 * 60);
    for (unsigned y = 0; y < 60; y++)
        for (unsigned x = 0; x < 100; x++)
            px[y * 100 + x] = bitmap_px(x, y);
    DRAW(qg_copy(g, 0, qg_bitmap(g, px, 100, 60, 1), 300, 50, 100, 60, -1));
    DRAW(qg_copy(g, 0, qg_bitmap(g, px, 100, 60, 3), 300, 150, 100, 60, -1));
    for (unsigned y = 0; y < 60; y++)
        for (unsigned x = 0; x < 100; x++) {
            image_set_pixel(want, 300 + x, 50 + y, px[y * 100 + x]);
            image_set_pixel(want, 300 + x, 150 + y, px[y * 100 + x]);
        }
    g_free(px);

    /* an 8-bit bitmap with a 4-entry palette */
    static const uint32_t pal[4] = {0x000000, 0xff8000, 0x0080ff, 0xf0f0f0};
    uint8_t idx[32 * 16];
    for (unsigned i = 0; i < sizeof(idx); i++)
        idx[i] = (uint8_t)((i / 32 + i % 32 / 8) & 3);
    DRAW(qg_copy(g, 0, qg_bitmap8(g, idx, 32, 16, pal, 4), 450, 300, 32, 16, -1));
    for (unsigned i = 0; i < sizeof(idx); i++)
        image_set_pixel(want, 450 + i % 32, 300 + i / 32, pal[idx[i]]);

    /* an off-screen surface: create, draw, copy to the screen, destroy */
    SURF(qg_surface_cmd(g, 1, true, 64, 64));
    DRAW(qg_fill(g, 1, 0, 0, 64, 64, 0x8000ff));
    DRAW(qg_fill(g, 1, 16, 16, 32, 32, 0xffff00));
    DRAW(qg_copy(g, 0, qg_surface_image(g, 1, 64, 64), 100, 300, 64, 64, 1));
    want_fill(want, 100, 300, 64, 64, 0x8000ff);
    want_fill(want, 116, 316, 32, 32, 0xffff00);

    for (unsigned i = 0; i < n; i++)
        qg_push(g, false, cmds[i], types[i]);
#undef DRAW
#undef SURF
    /* the cursor */
    qg_push(g, true, qg_cursor_set(g, 10, 10, 32, 32), QXL_CMD_CURSOR);
    qg_push(g, true, qg_cursor_move(g, 200, 150), QXL_CMD_CURSOR);
    qg_update_area(g, 0, W, H);
    return want;
}

/* ------------------------------------------------------------------------
 * Clients
 */

static void check_vnc(int display, const struct image *want)
{
    sutil_need("/usr/bin/gvnccapture", "gvncviewer");
    char *png = g_build_filename(sutil_tmpdir(), "vnc.png", NULL);
    char *log = g_build_filename(sutil_tmpdir(), "gvnccapture.log", NULL);
    char *target = g_strdup_printf("127.0.0.1:%d", display);
    char *argv[] = {"/usr/bin/gvnccapture", target, png, NULL};
    int status = -1;
    pid_t pid = sutil_spawn(argv, NULL, log);
    if (!sutil_wait(pid, SPICE_CLIENT_TIMEOUT_MS, &status)) {
        sutil_stop(pid);
        g_error("gvnccapture did not finish");
    }
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct image *got = image_load_png(png);
    char *d = sutil_diff(got, want);
    if (image_compare(got, want, NULL, NULL) != 0)
        g_error("VNC client: %s", d);
    g_free(d);
    image_free(got);
    g_free(png);
    g_free(log);
    g_free(target);
}

static void check_screendump(struct dm_run *run, const struct image *want)
{
    GError *err = NULL;
    char *ppm = g_build_filename(sutil_tmpdir(), "dump.ppm", NULL);
    g_assert_cmpint(qmp_screendump(run->qmp, ppm, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *got = image_load_ppm(ppm, &err);
    g_assert_no_error(err);
    char *d = sutil_diff(got, want);
    if (image_compare(got, want, NULL, NULL) != 0)
        g_error("screendump: %s", d);
    g_free(d);
    image_free(got);
    g_free(ppm);
}

/* Give spice-server a moment to release, the way a driver does: flush
 * and walk the ring until nothing is outstanding (bounded). */
static void wait_all_released(struct qg *g)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)CMD_TIMEOUT * 1000;
    while (qg_outstanding(g)) {
        guest_outb((uint16_t)(g->io + QXL_IO_FLUSH_RELEASE), 0);
        qg_collect(g);
        if (!qg_outstanding(g))
            break;
        if (g_get_monotonic_time() > deadline)
            g_error("%u commands never came back through the release ring (%u did)",
                    qg_outstanding(g), g->released);
        guest_wait_irq(g->irq_line, 50);
        qg_ack(g);
    }
}

/* VGA mode: a Bochs VBE picture in BAR0 reaches the SPICE client (and,
 * for xendm, the VNC client and screendump). */
/* Bochs VBE 320x200x32 with the linear framebuffer at BAR0, screen on. */
static void vbe_320x200(void)
{
    guest_outw(0x1ce, 0);
    g_assert_cmphex(guest_inw(0x1cf), ==, 0xb0c5);
    static const uint16_t regs[][2] = {{4, 0}, {1, 320}, {2, 200}, {3, 32}, {4, 0x41}};
    for (unsigned i = 0; i < G_N_ELEMENTS(regs); i++) {
        guest_outw(0x1ce, regs[i][0]);
        guest_outw(0x1cf, regs[i][1]);
    }
    guest_inb(0x3da);
    guest_outb(0x3c0, 0x20);
}

static void vga_mode_picture(struct qg *g, struct dm_run *run, int spice_port, bool xendm)
{
    const unsigned vw = 320, vh = 200;
    vbe_320x200();
    struct image *want = image_new(vw, vh);
    uint32_t *fb = (uint32_t *)(void *)g->ram;
    for (unsigned y = 0; y < vh; y++)
        for (unsigned x = 0; x < vw; x++) {
            uint32_t c = (x * 3) << 16 | (y * 5 % 256) << 8 | ((x / 20 + y / 20) & 1 ? 0xff : 0);
            fb[y * vw + x] = c;
            image_set_pixel(want, x, y, c);
        }
    sutil_wait_shot(spice_port, NULL, want, "VGA mode over SPICE");
    if (xendm) {
        check_vnc(VNC_XENDM, want);
        check_screendump(run, want);
    }
    image_free(want);
}

/*
 * VGA mode with -spice and no viewer (xl's vga='qxl' spice=1, vnc=0, nobody
 * connected): xendm does no refresh work at all, a SPICE client still gets
 * the picture at once, and the work stops again SPICE_DISPLAY_LINGER_MS
 * (15 s) after the client left.
 */
static void test_vga_idle(void)
{
    char *spice = g_strdup_printf("port=%d,addr=127.0.0.1,disable-ticketing=on,image-compression=off",
                                  SPICE_IDLE);
    const char *args[] = {"-vnc", "none", "-serial", "null", "-spice", spice, "-device", QXL_ARG,
                          NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run run;
    struct qg g;

    start(&run, xendm_path(), &cfg, args);
    qg_probe(&g, run.x);
    const unsigned vw = 320, vh = 200;
    vbe_320x200();
    struct image *want = image_new(vw, vh);
    uint32_t *fb = (uint32_t *)(void *)g.ram;
    for (unsigned y = 0; y < vh; y++)
        for (unsigned x = 0; x < vw; x++) {
            uint32_t c = (x * 7) << 16 | (y * 3 % 256) << 8 | 0x40;
            fb[y * vw + x] = c;
            image_set_pixel(want, x, y, c);
        }
    /* more than the longest refresh interval (fb.c FB_REFRESH_MAX_MS, 3 s) */
    g_assert_cmpuint(sutil_dirty_fetches(run.x, 4000), ==, 0);

    sutil_wait_shot(SPICE_IDLE, NULL, want, "VGA mode over SPICE, first client");
    /* the client is gone, the display lingers: the screen is still watched */
    g_assert_cmpuint(sutil_dirty_fetches(run.x, 4000), >, 0);
    g_usleep(13 * G_USEC_PER_SEC); /* past the 15 s since the client left */
    g_assert_cmpuint(sutil_dirty_fetches(run.x, 4000), ==, 0);

    /* and a new client gets the picture again, changes included */
    for (unsigned y = 0; y < vh / 2; y++)
        for (unsigned x = 0; x < vw; x++) {
            fb[y * vw + x] = 0x00ff8000 + x;
            image_set_pixel(want, x, y, 0x00ff8000 + x);
        }
    sutil_wait_shot(SPICE_IDLE, NULL, want, "VGA mode over SPICE, after the pause");
    image_free(want);
    stop_clean(&run);
    g_free(spice);
}

static void test_driver(gconstpointer data)
{
    bool qemu = data != NULL;
    int port = qemu ? SPICE_QEMU : SPICE_XENDM;
    char *spice =
        g_strdup_printf("port=%d,addr=127.0.0.1,disable-ticketing=on,image-compression=off", port);
    char *vnc = g_strdup_printf("127.0.0.1:%d", VNC_XENDM);
    const char *args[] = {"-vnc", qemu ? "none" : vnc, "-serial", "null", "-spice",
                          spice,  "-device",           QXL_ARG,   NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run run;
    struct qg g;

    start(&run, qemu ? qemu_path() : xendm_path(), &cfg, args);
    qg_probe(&g, run.x);
    vga_mode_picture(&g, &run, port, !qemu);

    qg_init(&g);
    qg_create_primary(&g, W, H, SPICE_SURFACE_FMT_32_xRGB);
    struct image *want = draw_scene(&g);
    sutil_wait_shot(port, NULL, want, qemu ? "qemu-xen over SPICE" : "xendm over SPICE");
    if (!qemu) {
        check_vnc(VNC_XENDM, want);
        check_screendump(&run, want);
    }
    /* the other requests a driver makes, each answered with
     * QXL_INTERRUPT_IO_CMD; the picture stays */
    uint64_t mc = qg_alloc(&g, sizeof(QXLMonitorsConfig) + sizeof(QXLHead));
    QXLMonitorsConfig *m = qg_ptr(&g, mc);
    m->count = 1;
    m->max_allowed = 1;
    m->heads[0] = (QXLHead){.id = 0, .surface_id = 0, .width = W, .height = H};
    uint64_t mca = qg_addr(&g, mc);
    memcpy(&g.hdr->monitors_config, &mca, sizeof(mca));
    qg_io_async(&g, QXL_IO_MONITORS_CONFIG_ASYNC, 0);
    QXLRect all = {.top = 0, .left = 0, .bottom = H, .right = W};
    memcpy(&g.hdr->update_area, &all, sizeof(all));
    g.hdr->update_surface = 0;
    qg_io_async(&g, QXL_IO_UPDATE_AREA_ASYNC, 0);
    qg_io_async(&g, QXL_IO_FLUSH_SURFACES_ASYNC, 0);
    qg_io_async(&g, QXL_IO_DESTROY_SURFACE_ASYNC, 0); /* the primary's "wait" */
    guest_outb((uint16_t)(g.io + QXL_IO_NOTIFY_OOM), 0);
    if (!qemu)
        check_screendump(&run, want);

    /* the off-screen surface goes (clients that connect later get the
     * copy from it as a drawing command: it must exist while they look) */
    qg_push(&g, false, qg_surface_cmd(&g, 1, false, 0, 0), QXL_CMD_SURFACE);
    qg_update_area(&g, 0, W, H);
    /* releases: the covered fill early; everything once the surfaces go */
    guest_outb((uint16_t)(g.io + QXL_IO_FLUSH_RELEASE), 0);
    qg_collect(&g);
    g_assert_cmpuint(g.released, >=, 1);
    qg_io_async(&g, QXL_IO_DESTROY_PRIMARY_ASYNC, 0);
    qg_io_async(&g, QXL_IO_DESTROY_ALL_SURFACES_ASYNC, 0);
    wait_all_released(&g);
    g_assert_cmphex(g.seen_pending & QXL_INTERRUPT_ERROR, ==, 0);
    g_assert_null(xsim_error(run.x));

    image_free(want);
    g_hash_table_destroy(g.pending);
    stop_clean(&run);
    g_free(spice);
    g_free(vnc);
}

/* QXL_IO_SET_MODE, the qxl-1 interface: a bottom-up primary at the start
 * of BAR0 and compat drawables addressed by guest physical address.  Both
 * DMs must show the same picture, and the one the fills make. */
static struct image *compat_mode(const char *dm)
{
    struct dm_run run;
    struct qg g;
    GError *err = NULL;

    start_plain(&run, dm, &g);
    guest_outb((uint16_t)(g.io + QXL_IO_RESET), 0);
    QXLModes modes;
    guest_mem_read(g.rom_gpa + g.rom.modes_offset, &modes, sizeof(modes));
    unsigned idx = 0;
    for (; idx < modes.n_modes; idx++) { /* 640x480 at 32 bpp */
        QXLMode m;
        guest_mem_read(g.rom_gpa + g.rom.modes_offset + sizeof(modes) + idx * sizeof(m), &m,
                       sizeof(m));
        if (m.x_res == W && m.y_res == H && m.bits == 32)
            break;
    }
    g_assert_cmpuint(idx, <, modes.n_modes);
    guest_outb((uint16_t)(g.io + QXL_IO_SET_MODE), (uint8_t)idx);
    static const struct {
        int x, y, w, h;
        uint32_t rgb;
    } fills[] = {
        {0, 0, W, H, 0x102030}, {10, 20, 100, 50, 0xff4000}, {500, 400, 140, 80, 0x00ff80}};
    for (unsigned i = 0; i < G_N_ELEMENTS(fills); i++) {
        uint64_t off = qg_alloc(&g, sizeof(QXLCompatDrawable));
        QXLCompatDrawable *d = qg_ptr(&g, off);
        d->release_info.id = i + 1;
        d->effect = QXL_EFFECT_OPAQUE;
        d->type = QXL_DRAW_FILL;
        d->bbox = (QXLRect){.top = fills[i].y,
                            .left = fills[i].x,
                            .bottom = fills[i].y + fills[i].h,
                            .right = fills[i].x + fills[i].w};
        d->u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
        d->u.fill.brush.u.color = fills[i].rgb;
        d->u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
        /* qxl-1: a guest physical address, in slot 0 */
        QXLCommand c = {.data = g.ram_gpa + off, .type = QXL_CMD_DRAW};
        QXLCommandRing *r = &g.hdr->cmd_ring;
        memcpy(&r->items[r->prod & (QXL_COMMAND_RING_SIZE - 1)], &c, sizeof(c));
        r->prod++;
        guest_outb((uint16_t)(g.io + QXL_IO_NOTIFY_CMD), 0);
    }
    qg_update_area(&g, 0, W, H);
    char *ppm = g_build_filename(sutil_tmpdir(), "compat.ppm", NULL);
    g_assert_cmpint(qmp_screendump(run.qmp, ppm, 10000, &err), ==, 0);
    g_assert_no_error(err);
    struct image *img = image_load_ppm(ppm, &err);
    g_assert_no_error(err);
    g_free(ppm);
    struct image *want = image_new(W, H);
    for (unsigned i = 0; i < G_N_ELEMENTS(fills); i++)
        want_fill(want, fills[i].x, fills[i].y, fills[i].w, fills[i].h, fills[i].rgb);
    char *d = sutil_diff(img, want);
    if (image_compare(img, want, NULL, NULL) != 0)
        g_error("%s in compat mode: %s", dm, d);
    g_free(d);
    image_free(want);
    g_assert_cmphex(g.hdr->int_pending & QXL_INTERRUPT_ERROR, ==, 0);
    g_hash_table_destroy(g.pending);
    dm_stop(&run);
    return img;
}

static void test_compat(void)
{
    struct image *q = compat_mode(qemu_path()), *x = compat_mode(xendm_path());
    g_assert_cmpint(image_compare(x, q, NULL, NULL), ==, 0);
    image_free(q);
    image_free(x);
}

/* ------------------------------------------------------------------------
 * Malformed input
 */

struct bad_case {
    const char *name;
    void (*provoke)(struct qg *g);
};

static void push_draw(struct qg *g, uint64_t off)
{
    qg_push(g, false, off, QXL_CMD_DRAW);
}

static void bad_slot(struct qg *g)
{
    uint64_t off = qg_copy(g, 0, 7ull << 56 | 0x1000, 0, 0, 8, 8, -1); /* slot 7 was never added */
    push_draw(g, off);
}

static void bad_chunk_loop(struct qg *g)
{
    uint32_t px[16] = {0};
    uint64_t img = qg_bitmap(g, px, 4, 4, 2);
    QXLImage *i = qg_ptr(g, img & ((1ull << 48) - 1));
    QXLDataChunk *c = qg_ptr(g, i->bitmap.data & ((1ull << 48) - 1));
    QXLDataChunk *c2 = qg_ptr(g, c->next_chunk & ((1ull << 48) - 1));
    c2->next_chunk = i->bitmap.data; /* back to the first: a loop */
    push_draw(g, qg_copy(g, 0, img, 0, 0, 4, 4, -1));
}

static void bad_clip(struct qg *g)
{
    uint64_t off = qg_fill(g, 0, 0, 0, 8, 8, 0x123456);
    uint64_t coff = qg_alloc(g, sizeof(QXLClipRects) + sizeof(QXLRect));
    QXLClipRects *cr = qg_ptr(g, coff);
    QXLDrawable *d = qg_ptr(g, off);
    cr->num_rects = 5; /* but one rectangle's worth of data */
    cr->chunk.data_size = sizeof(QXLRect);
    d->clip.type = SPICE_CLIP_TYPE_RECTS;
    d->clip.data = qg_addr(g, coff);
    push_draw(g, off);
}

static void bad_type(struct qg *g)
{
    uint64_t off = qg_fill(g, 0, 0, 0, 8, 8, 0x123456);
    qg_push(g, false, off, 77);
}

static void bad_surface_image(struct qg *g)
{
    qg_push(g, false, qg_surface_cmd(g, 2, true, 16, 16), QXL_CMD_SURFACE);
    /* reads surface 2 without listing it in surfaces_dest */
    push_draw(g, qg_copy(g, 0, qg_surface_image(g, 2, 16, 16), 0, 0, 16, 16, -1));
}

static void bad_bitmap_size(struct qg *g)
{
    uint32_t px[16] = {0};
    uint64_t img = qg_bitmap(g, px, 4, 4, 1);
    QXLImage *i = qg_ptr(g, img & ((1ull << 48) - 1));
    i->bitmap.y = 4000; /* the chunk holds 4 lines */
    push_draw(g, qg_copy(g, 0, img, 0, 0, 4, 4, -1));
}

static void bad_ring(struct qg *g)
{
    g->hdr->cmd_ring.prod = g->hdr->cmd_ring.cons + 1000; /* more entries than the ring has */
    guest_outb((uint16_t)(g->io + QXL_IO_NOTIFY_CMD), 0);
}

static void bad_update_area(struct qg *g)
{
    QXLRect r = {.top = 0, .left = 0, .bottom = H + 1, .right = W};
    memcpy(&g->hdr->update_area, &r, sizeof(r));
    g->hdr->update_surface = 0;
    guest_outb((uint16_t)(g->io + QXL_IO_UPDATE_AREA), 0);
}

static void bad_memslot(struct qg *g)
{
    QXLMemSlot s = {.mem_start = 0x100000, .mem_end = 0x200000}; /* guest RAM, not a BAR */
    memcpy(&g->hdr->mem_slot, &s, sizeof(s));
    guest_outb((uint16_t)(g->io + QXL_IO_MEMSLOT_ADD), 5);
}

static void bad_primary(struct qg *g)
{
    qg_io_async(g, QXL_IO_DESTROY_PRIMARY_ASYNC, 0);
    QXLSurfaceCreate sc = {.width = 4096,
                           .height = 4096,
                           .stride = 4096 * 4,
                           .format = SPICE_SURFACE_FMT_32_xRGB,
                           .mem = qg_addr(g, 0)};
    memcpy(&g->hdr->create_surface, &sc, sizeof(sc));
    guest_outb((uint16_t)(g->io + QXL_IO_CREATE_PRIMARY), 0); /* 64 MiB > 16 MiB of surface0 area */
}

static const struct bad_case bad_cases[] = {
    {"address in a slot never added", bad_slot},
    {"chunk chain that loops", bad_chunk_loop},
    {"clip rectangle count beyond its data", bad_clip},
    {"unknown command type", bad_type},
    {"surface image not in surfaces_dest", bad_surface_image},
    {"bitmap larger than its data", bad_bitmap_size},
    {"command ring indices", bad_ring},
    {"update area outside the primary", bad_update_area},
    {"memory slot outside the BARs", bad_memslot},
    {"primary larger than the framebuffer", bad_primary},
};

static void test_malformed(void)
{
    /* no -spice: xendm's own spice-server renders for VNC and screendump */
    char *vnc = g_strdup_printf("127.0.0.1:%d", VNC_XENDM + 1);
    const char *const args[] = {"-vnc", vnc, "-serial", "null", "-device", QXL_ARG, NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    struct dm_run run;
    struct qg g;
    GError *err = NULL;

    start(&run, xendm_path(), &cfg, args);
    qg_probe(&g, run.x);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        qg_init(&g); /* QXL_IO_RESET first: leaves the error state */
        g.hdr->int_mask = QG_INT_MASK | QXL_INTERRUPT_ERROR;
        guest_outb((uint16_t)(g.io + QXL_IO_UPDATE_IRQ), 0);
        qg_create_primary(&g, W, H, SPICE_SURFACE_FMT_32_xRGB);
        /* a good command goes through first */
        qg_push(&g, false, qg_fill(&g, 0, 0, 0, W, H, 0x000040), QXL_CMD_DRAW);
        qg_update_area(&g, 0, W, H);
        g.seen_pending = 0;
        bad_cases[i].provoke(&g);
        gint64 deadline = g_get_monotonic_time() + (gint64)CMD_TIMEOUT * 1000;
        while (!(g.seen_pending & QXL_INTERRUPT_ERROR)) {
            if (g_get_monotonic_time() > deadline)
                g_error("%s: no QXL_INTERRUPT_ERROR: %s", bad_cases[i].name, xsim_dm_diag(run.x));
            guest_wait_irq(g.irq_line, 50);
            qg_ack(&g);
        }
        /* the handler's acknowledgement still lowers the line */
        g_assert_cmpint(guest_irq_level(g.irq_line), ==, 0);
        /* xendm itself carries on */
        JsonNode *r = qmp_execute(run.qmp, "query-status", NULL, 5000, &err);
        g_assert_no_error(err);
        json_node_unref(r);
        g_assert_null(xsim_error(run.x));
        g_test_message("%s: error state", bad_cases[i].name);
    }
    /* each one was logged as a guest bug */
    char *log = g_build_filename(xsim_dir(run.x), "dm.log", NULL), *text = NULL;
    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    unsigned lines = 0;
    for (const char *p = text; (p = strstr(p, "guest bug")); p++)
        lines++;
    g_assert_cmpuint(lines, >=, G_N_ELEMENTS(bad_cases));
    g_free(text);
    g_free(log);
    /* and the device works again after a reset */
    qg_init(&g);
    qg_create_primary(&g, W, H, SPICE_SURFACE_FMT_32_xRGB);
    qg_push(&g, false, qg_fill(&g, 0, 0, 0, W, H, 0x4080c0), QXL_CMD_DRAW);
    qg_push(&g, false, qg_fill(&g, 0, 100, 200, 300, 50, 0xe0e020), QXL_CMD_DRAW);
    struct image *want = image_new(W, H);
    want_fill(want, 0, 0, W, H, 0x4080c0);
    want_fill(want, 100, 200, 300, 50, 0xe0e020);
    check_screendump(&run, want);
    check_vnc(VNC_XENDM + 1, want);
    image_free(want);
    g_hash_table_destroy(g.pending);
    stop_clean(&run);
    g_free(vnc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qxl/identity-equals-qemu-xen", test_identity);
    g_test_add_func("/qxl/videoram-allowance", test_videoram);
    g_test_add_func("/qxl/vgabios-qxl-text-equals-qemu-xen", test_seabios);
    g_test_add_data_func("/qxl/driver/qemu-xen", GINT_TO_POINTER(1), test_driver);
    g_test_add_data_func("/qxl/driver/xendm", NULL, test_driver);
    g_test_add_func("/qxl/compat-set-mode", test_compat);
    g_test_add_func("/qxl/malformed-commands", test_malformed);
    g_test_add_func("/qxl/vga-mode-idle-without-client", test_vga_idle);
    int rc = g_test_run();
    sutil_cleanup();
    return rc;
}
