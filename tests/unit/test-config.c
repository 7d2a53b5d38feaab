/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line, against the argv libxl really builds.
 *
 * Corpus: the three full example command lines of xl-contract.md §1.6 (a),
 * (b), (c) and every variant listed there, plus the dm_restrict form, the
 * channel chardevs of §1.4 row 7, the -qmp shorthand and the argv the test
 * harness gives qemu-xen.  Each is parsed as is; when it contains options
 * that later work brings, the exact refusal for the first one is checked,
 * that option is taken out (-vnc becomes "-vnc none") and the line parsed
 * again, until it parses -- and then the typed fields are checked.
 *
 * Malformed values: for every option at least one bad value, with the exact
 * message on stderr (captured by pointing fd 2 at a temporary file).
 * opts parser: ",," escapes, implied key, bare key = on, duplicates, empty
 * keys, typed getters.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "src/cmdline.h"
#include "src/opts.h"

/* ----------------------------------------------------------- capturing */

struct capture {
    int saved_out, saved_err;
    FILE *out, *err;
};

static void capture_begin(struct capture *c)
{
    fflush(stdout);
    fflush(stderr);
    c->out = tmpfile();
    c->err = tmpfile();
    g_assert_nonnull(c->out);
    g_assert_nonnull(c->err);
    c->saved_out = dup(STDOUT_FILENO);
    c->saved_err = dup(STDERR_FILENO);
    g_assert_cmpint(c->saved_out, >=, 0);
    g_assert_cmpint(c->saved_err, >=, 0);
    g_assert_cmpint(dup2(fileno(c->out), STDOUT_FILENO), ==, STDOUT_FILENO);
    g_assert_cmpint(dup2(fileno(c->err), STDERR_FILENO), ==, STDERR_FILENO);
}

static char *capture_read(FILE *f)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    size_t n;

    rewind(f);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        g_string_append_len(s, buf, n);
    fclose(f);
    return g_string_free(s, FALSE);
}

/* Restore fds 1 and 2; what was written to them (caller frees). */
static void capture_end(struct capture *c, char **out, char **err)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, STDOUT_FILENO);
    dup2(c->saved_err, STDERR_FILENO);
    close(c->saved_out);
    close(c->saved_err);
    *out = capture_read(c->out);
    *err = capture_read(c->err);
}

/* ------------------------------------------------------------- parsing */

/* Words of a command line (without the program) split on spaces. */
static GPtrArray *words_of(const char *line)
{
    GPtrArray *w = g_ptr_array_new_with_free_func(g_free);
    char **v = g_strsplit_set(line, " \n", -1);

    for (char **p = v; *p; p++)
        if (**p)
            g_ptr_array_add(w, g_strdup(*p));
    g_strfreev(v);
    return w;
}

/* config_parse on the words: its result, and what it wrote to stdout and
 * stderr in *out and *err. */
static int parse_words(GPtrArray *w, struct config *cfg, char **out, char **err)
{
    char **argv = g_new0(char *, w->len + 2);
    struct capture c;
    int rc;

    argv[0] = "/usr/libexec/xendm";
    for (unsigned i = 0; i < w->len; i++)
        argv[i + 1] = w->pdata[i];
    capture_begin(&c);
    rc = config_parse((int)w->len + 1, argv, cfg);
    capture_end(&c, out, err);
    g_free(argv);
    return rc;
}

/* The line must parse: the config is returned in *cfg. */
static void parse_ok(const char *line, struct config *cfg)
{
    GPtrArray *w = words_of(line);
    char *out, *err;
    int rc = parse_words(w, cfg, &out, &err);

    if (rc != 0)
        g_test_message("argv: %s\nstderr: %s", line, err);
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    g_free(err);
    g_ptr_array_free(w, TRUE);
}

/* The line must be refused with exactly `msg` (without "xendm: " and the
 * newline), and leave nothing allocated in the config. */
static void parse_fails(const char *line, const char *msg)
{
    GPtrArray *w = words_of(line);
    struct config cfg;
    char *out, *err, *want = g_strdup_printf("xendm: %s\n", msg);
    int rc = parse_words(w, &cfg, &out, &err);

    if (rc != -1 || strcmp(err, want))
        g_test_message("argv: %s", line);
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpstr(err, ==, want);
    g_assert_cmpstr(out, ==, "");
    g_assert_null(cfg.chardevs);
    g_assert_null(cfg.devices);
    g_assert_null(cfg.name);
    config_free(&cfg); /* harmless after a failure */
    g_free(out);
    g_free(err);
    g_free(want);
    g_ptr_array_free(w, TRUE);
}

/* ------------------------------------------------------- the argv corpus */

/* Common to the three examples of §1.6 (domid 7, name vm1). */
#define HEAD                                                                                       \
    "-xen-domid 7 -no-shutdown "                                                                   \
    "-chardev socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-7,server=on,wait=off "               \
    "-mon chardev=libxl-cmd,mode=control "                                                         \
    "-chardev socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-7,server=on,wait=off "     \
    "-mon chardev=libxenstat-cmd,mode=control "                                                    \
    "-nodefaults -no-user-config -name vm1 "

#define VNC_DEFAULT "-vnc 127.0.0.1:0,to=99 "
#define VNC_PASSWD  "-vnc 127.0.0.1:0,password=on,to=99 "

/* (a) vnc = 1 only (also: vnc= omitted) */
#define CMD_A_BODY                                                                                 \
    "-display none -device cirrus-vga,vgamem_mb=8 -boot order=cda -smp 2,maxcpus=2 -net none "     \
    "-machine xenfv,suppress-vmdesc=on -m 1016"

/* (b) SPICE, vdagent, clipboard, 4 usbredir channels, QXL */
#define CMD_B_BODY(SPICE)                                                                          \
    "-display none -spice " SPICE " "                                                              \
    "-device virtio-serial -chardev spicevmc,id=vdagent,name=vdagent "                             \
    "-device virtserialport,chardev=vdagent,name=com.redhat.spice.0 "                              \
    "-device qxl-vga,vram_size_mb=64,ram_size_mb=64 -boot order=cda "                              \
    "-device ich9-usb-ehci1,id=usb,addr=0x1d.0x7,multifunction=on "                                \
    "-device ich9-usb-uhci1,masterbus=usb.0,firstport=0,addr=0x1d.0,multifunction=on "             \
    "-device ich9-usb-uhci2,masterbus=usb.0,firstport=2,addr=0x1d.0x1,multifunction=on "           \
    "-device ich9-usb-uhci3,masterbus=usb.0,firstport=4,addr=0x1d.0x2,multifunction=on "           \
    "-chardev spicevmc,name=usbredir,id=usbrc1 -device usb-redir,chardev=usbrc1,id=usbrc1 "        \
    "-chardev spicevmc,name=usbredir,id=usbrc2 -device usb-redir,chardev=usbrc2,id=usbrc2 "        \
    "-chardev spicevmc,name=usbredir,id=usbrc3 -device usb-redir,chardev=usbrc3,id=usbrc3 "        \
    "-chardev spicevmc,name=usbredir,id=usbrc4 -device usb-redir,chardev=usbrc4,id=usbrc4 "        \
    "-smp 2,maxcpus=2 -net none -machine xenfv,suppress-vmdesc=on -m 896"
#define SPICE_NOPASS "port=6000,tls-port=0,disable-ticketing=on,agent-mouse=on"
#define SPICE_PASS   "port=6000,tls-port=0,password=s3cret,agent-mouse=on,disable-copy-paste=on"

/* (c) a disk, two NICs, serial='pty', usbdevice='tablet' */
#define CMD_C_1                                                                                    \
    "-display none -serial pty -device cirrus-vga,vgamem_mb=8 -boot order=cda -usb "               \
    "-usbdevice tablet "
#define CMD_C_2                                                                                    \
    "-smp 2,maxcpus=2 "                                                                            \
    "-device e1000,id=nic0,netdev=net0,mac=00:16:3e:11:22:33 "                                     \
    "-netdev type=tap,id=net0,ifname=vif7.0-emu,br=xenbr0,script=no,downscript=no "                \
    "-device virtio-net,id=nic1,netdev=net1,mac=00:16:3e:11:22:34 "                                \
    "-netdev type=tap,id=net1,ifname=vif7.1-emu,br=xenbr0,script=no,downscript=no "                \
    "-machine xenfv,suppress-vmdesc=on -m 1016 "
#define CMD_C_DISK(FMT)                                                                            \
    "-drive file=/srv/xen/vm1-disk.img,if=ide,index=0,media=disk,format=" FMT ",cache=writeback "
#define CMD_C_CDROM                                                                                \
    "-drive if=none,readonly=on,id=ide-5632,file=/srv/iso/inst.iso,format=raw "                    \
    "-device ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0 "
#define CMD_C_AHCI                                                                                 \
    "-device ahci,id=ahci0 "                                                                       \
    "-drive file=/srv/xen/vm1-disk.img,if=none,id=ahcidisk-0,format=raw,cache=writeback "          \
    "-device ide-hd,bus=ahci0.0,unit=0,drive=ahcidisk-0 "

static const char *const peel_a[] = {
    "-device cirrus-vga: not supported yet",
    NULL,
};
static const char *const peel_b[] = {
    "-device virtio-serial: not supported yet",
    "-device virtserialport: not supported yet",
#ifndef HAVE_SPICE
    "-device qxl-vga: not supported yet",
#endif
    "-device ich9-usb-ehci1: not supported yet",
    "-device ich9-usb-uhci1: not supported yet",
    "-device ich9-usb-uhci2: not supported yet",
    "-device ich9-usb-uhci3: not supported yet",
    "-device usb-redir: not supported yet",
    "-device usb-redir: not supported yet",
    "-device usb-redir: not supported yet",
    "-device usb-redir: not supported yet",
    NULL,
};
#define PEEL_C_START                                                                               \
    "-device cirrus-vga: not supported yet", "-usb: not supported yet",                            \
        "-usbdevice: not supported yet", "-device e1000: not supported yet",                       \
        "-netdev: not supported yet", "-device virtio-net: not supported yet",                     \
        "-netdev: not supported yet"
static const char *const peel_c[] = {PEEL_C_START, "-drive: not supported yet", NULL};
static const char *const peel_c_cdrom[] = {PEEL_C_START, "-drive: not supported yet",
                                           "-drive: not supported yet",
                                           "-device ide-cd: not supported yet", NULL};
static const char *const peel_c_ahci[] = {PEEL_C_START, "-device ahci: not supported yet",
                                          "-drive: not supported yet",
                                          "-device ide-hd: not supported yet", NULL};

static void check_head(const struct config *cfg)
{
    const struct config_chardev *c;

    g_assert_cmpuint(cfg->domid, ==, 7);
    g_assert_true(cfg->no_shutdown);
    g_assert_false(cfg->start_stopped);
    g_assert_cmpstr(cfg->name, ==, "vm1");
    g_assert_cmpuint(cfg->n_monitors, ==, 2);
    c = &cfg->chardevs[cfg->monitors[0].chardev];
    g_assert_cmpstr(cfg->monitors[0].chardev_id, ==, "libxl-cmd");
    g_assert_cmpstr(c->id, ==, "libxl-cmd");
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_SOCKET);
    g_assert_cmpint(c->addr, ==, CONFIG_SOCKET_UNIX);
    g_assert_cmpstr(c->path, ==, "/var/run/xen/qmp-libxl-7");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    g_assert_cmpint(c->fd, ==, -1);
    c = &cfg->chardevs[cfg->monitors[1].chardev];
    g_assert_cmpstr(c->id, ==, "libxenstat-cmd");
    g_assert_cmpstr(c->path, ==, "/var/run/xen/qmp-libxenstat-7");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    g_assert_false(cfg->monitors[0].pretty);
    g_assert_cmpstr(cfg->boot_order, ==, "cda");
    g_assert_cmpuint(cfg->smp.vcpus, ==, 2);
    g_assert_cmpuint(cfg->smp.maxcpus, ==, 2);
    g_assert_cmpuint(cfg->smp.sockets * cfg->smp.dies * cfg->smp.cores * cfg->smp.threads, ==, 2);
    g_assert_cmpint(cfg->machine, ==, CONFIG_MACHINE_XENFV);
    g_assert_true(cfg->xen_platform);
    g_assert_true(cfg->suppress_vmdesc);
    g_assert_cmpuint(cfg->max_ram_below_4g, ==, 0);
    g_assert_false(cfg->domid_restrict);
    g_assert_null(cfg->chroot_dir);
    g_assert_null(cfg->runas_user);
    g_assert_false(cfg->runas_ids);
    g_assert_false(cfg->sandbox.given);
    g_assert_cmpuint(cfg->n_globals, ==, 0);
}

static void check_a(const struct config *cfg)
{
    check_head(cfg);
    g_assert_cmpuint(cfg->n_chardevs, ==, 2);
    g_assert_cmpuint(cfg->n_serial, ==, 0);
    g_assert_cmpuint(cfg->n_devices, ==, 0);
    g_assert_true(cfg->acpi);
    g_assert_cmpuint(cfg->ram_mb, ==, 1016);
}

static void check_b(const struct config *cfg)
{
    static const char *const ids[] = {"vdagent", "usbrc1", "usbrc2", "usbrc3", "usbrc4"};

    check_head(cfg);
    g_assert_cmpuint(cfg->n_chardevs, ==, 7);
    for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
        const struct config_chardev *c = &cfg->chardevs[2 + i];

        g_assert_cmpstr(c->id, ==, ids[i]);
        g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_SPICEVMC);
        g_assert_cmpstr(c->name, ==, i ? "usbredir" : "vdagent");
    }
#ifdef HAVE_SPICE
    g_assert_cmpuint(cfg->n_devices, ==, 1);
    g_assert_cmpstr(cfg->devices[0]->implied, ==, "qxl-vga");
    g_assert_cmpstr(opts_get(cfg->devices[0], "vram_size_mb"), ==, "64");
    g_assert_cmpstr(opts_get(cfg->devices[0], "ram_size_mb"), ==, "64");
#else
    g_assert_cmpuint(cfg->n_devices, ==, 0);
#endif
    g_assert_cmpuint(cfg->ram_mb, ==, 896);
    g_assert_true(cfg->spice.enabled);
    g_assert_cmpint(cfg->spice.port, ==, 6000);
    g_assert_cmpint(cfg->spice.tls_port, ==, 0);
    g_assert_true(cfg->spice.agent_mouse);
    g_assert_true(cfg->spice.disable_ticketing != (cfg->spice.password != NULL));
}

static void check_c(const struct config *cfg)
{
    const struct config_chardev *c;

    check_head(cfg);
    g_assert_cmpuint(cfg->n_serial, ==, 1);
    c = &cfg->chardevs[cfg->serial[0]];
    g_assert_cmpstr(c->id, ==, "serial0");
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_PTY);
    g_assert_true(config_chardev_find(cfg, "serial0") == c);
    g_assert_cmpuint(cfg->n_chardevs, ==, 3);
    g_assert_cmpuint(cfg->n_devices, ==, 0);
    g_assert_true(cfg->acpi);
    g_assert_cmpuint(cfg->ram_mb, ==, 1016);
}

static void check_c_noacpi(const struct config *cfg)
{
    g_assert_false(cfg->acpi);
    g_assert_cmpuint(cfg->n_serial, ==, 1);
    g_assert_cmpuint(cfg->ram_mb, ==, 1016);
    check_head(cfg);
}

struct corpus_line {
    const char *path; /* test name */
    const char *argv;
    const char *const *peel; /* refusals expected, in order */
    void (*check)(const struct config *cfg);
};

static const struct corpus_line corpus[] = {
    {"/config/corpus/a", HEAD VNC_DEFAULT CMD_A_BODY, peel_a, check_a},
    {"/config/corpus/a-vnc0", HEAD "-vnc none " CMD_A_BODY, peel_a, check_a},
    {"/config/corpus/b", HEAD VNC_DEFAULT CMD_B_BODY(SPICE_NOPASS), peel_b, check_b},
    {"/config/corpus/b-spicepasswd", HEAD VNC_DEFAULT CMD_B_BODY(SPICE_PASS), peel_b, check_b},
    {"/config/corpus/b-vnc0", HEAD "-vnc none " CMD_B_BODY(SPICE_NOPASS), peel_b, check_b},
    {"/config/corpus/c", HEAD VNC_DEFAULT CMD_C_1 CMD_C_2 CMD_C_DISK("raw"), peel_c, check_c},
    {"/config/corpus/c-cdrom", HEAD VNC_DEFAULT CMD_C_1 CMD_C_2 CMD_C_DISK("raw") CMD_C_CDROM,
     peel_c_cdrom, check_c},
    {"/config/corpus/c-qcow2", HEAD VNC_DEFAULT CMD_C_1 CMD_C_2 CMD_C_DISK("qcow2"), peel_c,
     check_c},
    {"/config/corpus/c-ahci", HEAD VNC_DEFAULT CMD_C_1 CMD_C_2 CMD_C_AHCI, peel_c_ahci, check_c},
    {"/config/corpus/c-vncpasswd", HEAD VNC_PASSWD CMD_C_1 CMD_C_2 CMD_C_DISK("raw"), peel_c,
     check_c},
    {"/config/corpus/c-acpi0", HEAD VNC_DEFAULT CMD_C_1 "-no-acpi " CMD_C_2 CMD_C_DISK("raw"),
     peel_c, check_c_noacpi},
};

/*
 * Take out what `msg` ("-device DRIVER: ..." or "-opt: ...") refused: the
 * first such option (with its value); -vnc gets "none" instead.
 */
static void peel(GPtrArray *w, const char *msg)
{
    g_autofree char *what = g_strndup(msg, strcspn(msg, ":"));
    const char *driver = strchr(what, ' ');
    g_autofree char *opt = g_strndup(what, driver ? (size_t)(driver - what) : strlen(what));

    if (driver)
        driver++;
    for (unsigned i = 0; i < w->len; i++) {
        const char *word = w->pdata[i];
        const char *val = i + 1 < w->len ? w->pdata[i + 1] : NULL;

        if (strcmp(word, opt))
            continue;
        if (driver && (!val || strncmp(val, driver, strlen(driver)) ||
                       (val[strlen(driver)] && val[strlen(driver)] != ',')))
            continue;
        if (!strcmp(opt, "-vnc")) {
            g_free(w->pdata[i + 1]);
            w->pdata[i + 1] = g_strdup("none");
        } else {
            g_ptr_array_remove_range(w, i, !strcmp(opt, "-usb") ? 1 : 2);
        }
        return;
    }
    g_assert_not_reached();
}

static void test_corpus(gconstpointer data)
{
    const struct corpus_line *l = data;
    GPtrArray *w = words_of(l->argv);
    struct config cfg;
    char *out, *err;
    int rc;

    for (unsigned i = 0; l->peel[i]; i++) {
        g_autofree char *want = g_strdup_printf("xendm: %s\n", l->peel[i]);

        rc = parse_words(w, &cfg, &out, &err);
        g_assert_cmpint(rc, ==, -1);
        g_assert_cmpstr(err, ==, want);
        g_free(out);
        g_free(err);
        peel(w, l->peel[i]);
    }
    rc = parse_words(w, &cfg, &out, &err);
    g_assert_cmpstr(err, ==, "");
    g_assert_cmpint(rc, ==, 0);
    l->check(&cfg);
    config_free(&cfg);
    g_assert_null(cfg.chardevs);
    g_free(out);
    g_free(err);
    g_ptr_array_free(w, TRUE);
}

/* (a) as the issue spells it out: -vnc none, no cirrus-vga. */
static void test_corpus_a_typed(void)
{
    struct config cfg;

    parse_ok(HEAD "-vnc none -display none -boot order=cda -smp 2,maxcpus=2 -net none "
                  "-machine xenfv,suppress-vmdesc=on -m 1016",
             &cfg);
    check_a(&cfg);
    config_free(&cfg);
}

/* dm_restrict=1: the QMP socket is an inherited fd, -S, restrict, chroot, runas. */
static void test_corpus_dm_restrict(void)
{
    struct config cfg;
    const struct config_chardev *c;

    parse_ok("-xen-domid 7 -no-shutdown "
             "-chardev socket,id=libxl-cmd,fd=9,server=on,wait=off -S "
             "-mon chardev=libxl-cmd,mode=control "
             "-chardev socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-7,server=on,"
             "wait=off "
             "-mon chardev=libxenstat-cmd,mode=control -nodefaults -no-user-config -name vm1 "
             "-vnc none -display none -boot order=cda -smp 2,maxcpus=2 -net none "
             "-xen-domid-restrict -chroot /var/run/xen/qemu-root-7 "
             "-machine xenfv,suppress-vmdesc=on -m 1016 -runas 65534:65534",
             &cfg);
    g_assert_true(cfg.start_stopped);
    g_assert_true(cfg.no_shutdown);
    c = &cfg.chardevs[cfg.monitors[0].chardev];
    g_assert_cmpstr(c->id, ==, "libxl-cmd");
    g_assert_cmpint(c->addr, ==, CONFIG_SOCKET_FD);
    g_assert_cmpint(c->fd, ==, 9);
    g_assert_null(c->path);
    g_assert_true(c->server);
    g_assert_false(c->wait);
    g_assert_true(cfg.domid_restrict);
    g_assert_cmpstr(cfg.chroot_dir, ==, "/var/run/xen/qemu-root-7");
    g_assert_true(cfg.runas_ids);
    g_assert_cmpuint(cfg.runas_uid, ==, 65534);
    g_assert_cmpuint(cfg.runas_gid, ==, 65534);
    g_assert_null(cfg.runas_user);
    config_free(&cfg);

    parse_ok("-xen-domid 7 -chardev socket,id=q,fd=3,server=on,wait=off -mon q,mode=control "
             "-runas xen-qemuuser-7",
             &cfg);
    g_assert_cmpstr(cfg.runas_user, ==, "xen-qemuuser-7");
    g_assert_false(cfg.runas_ids);
    config_free(&cfg);
}

/* §1.4 row 7: channel chardevs, a pty and a socket. */
static void test_corpus_channels(void)
{
    struct config cfg;
    const struct config_chardev *c;

    parse_ok(HEAD "-chardev pty,id=libxl-channel0 "
                  "-chardev socket,id=libxl-channel1,path=/run/ch1,server=on,wait=off -vnc none "
                  "-machine xenfv -m 512",
             &cfg);
    g_assert_cmpuint(cfg.n_chardevs, ==, 4);
    c = config_chardev_find(&cfg, "libxl-channel0");
    g_assert_nonnull(c);
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_PTY);
    c = config_chardev_find(&cfg, "libxl-channel1");
    g_assert_nonnull(c);
    g_assert_cmpstr(c->path, ==, "/run/ch1");
    g_assert_null(config_chardev_find(&cfg, "libxl-channel2"));
    config_free(&cfg);
}

/* -qmp shorthand, and the argv tests/common/dm.c gives qemu-xen. */
static void test_corpus_qmp(void)
{
    struct config cfg;
    const struct config_chardev *c;

    parse_ok("-xen-domid 1 -qmp unix:/tmp/x/qmp.sock,server=on,wait=off "
             "-qmp-pretty unix:/tmp/x/q2,server,nowait -machine xenfv -m 128",
             &cfg);
    g_assert_cmpuint(cfg.n_monitors, ==, 2);
    c = &cfg.chardevs[cfg.monitors[0].chardev];
    g_assert_cmpstr(c->id, ==, "compat_monitor0");
    g_assert_cmpstr(c->path, ==, "/tmp/x/qmp.sock");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    g_assert_false(cfg.monitors[0].pretty);
    c = &cfg.chardevs[cfg.monitors[1].chardev];
    g_assert_cmpstr(c->id, ==, "compat_monitor1");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    g_assert_true(cfg.monitors[1].pretty);
    config_free(&cfg);

    parse_ok("-chardev socket,id=m,path=/q,server=on,wait=off -qmp chardev:m -xen-domid 3", &cfg);
    g_assert_cmpuint(cfg.n_monitors, ==, 1);
    g_assert_cmpuint(cfg.monitors[0].chardev, ==, 0);
    config_free(&cfg);

    parse_ok("-xen-domid 1 -machine xenfv -m 128 -smp 2,maxcpus=2 -nodefaults -display none "
             "-chardev socket,id=libxl-cmd,path=/tmp/d/qmp.sock,server=on,wait=off "
             "-mon chardev=libxl-cmd,mode=control",
             &cfg);
    g_assert_cmpuint(cfg.domid, ==, 1);
    g_assert_cmpuint(cfg.ram_mb, ==, 128);
    /* Defaults for what that argv leaves out. */
    g_assert_null(cfg.name);
    g_assert_cmpstr(cfg.boot_order, ==, "cad");
    g_assert_true(cfg.acpi);
    g_assert_false(cfg.no_shutdown);
    config_free(&cfg);

    parse_ok("-xen-domid 2", &cfg);
    g_assert_cmpuint(cfg.ram_mb, ==, 128);
    g_assert_cmpuint(cfg.smp.vcpus, ==, 1);
    g_assert_cmpuint(cfg.smp.maxcpus, ==, 1);
    g_assert_cmpint(cfg.machine, ==, CONFIG_MACHINE_XENFV);
    g_assert_true(cfg.xen_platform);
    g_assert_cmpuint(cfg.n_monitors, ==, 0);
    config_free(&cfg);
}

/* ---------------------------------------------- options, good and bad */

static void test_not_yet_options(void)
{
    static const char *const with_arg[] = {
        "-vga",    "-usbdevice", "-drive",   "-netdev",
        "-kernel", "-initrd", "-append", "-incoming",  "-soundhw",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(with_arg); i++) {
        g_autofree char *line = g_strdup_printf("-xen-domid 1 %s x", with_arg[i]);
        g_autofree char *msg = g_strdup_printf("%s: not supported yet", with_arg[i]);

        parse_fails(line, msg);
    }
    parse_fails("-xen-domid 1 -usb", "-usb: not supported yet");
    parse_fails("-xen-domid 1 -display sdl", "-display sdl: not supported yet");
    parse_fails("-xen-domid 1 -display none -display sdl,gl=on", "-display sdl: not supported yet");
    parse_fails("-xen-domid 1 -display gtk", "-display: gtk: not supported (only none)");
    parse_fails("-xen-domid 1 -net nic", "-net: not supported yet");
    parse_fails("-xen-domid 1 -net none -net user", "-net: not supported yet");
    /* -spice is parsed now (tests/unit/test-spice-opts.c) */
    struct config cfg;
    parse_ok("-xen-domid 1 -k en-us -spice port=1", &cfg);
    g_assert_true(cfg.spice.enabled);
    g_assert_cmpint(cfg.spice.port, ==, 1);
    config_free(&cfg);
    parse_fails("-xen-domid 1 -monitor stdio", "-monitor: stdio: not supported");
    parse_fails("-xen-domid 1 -parallel null", "-parallel: null: not supported");
}

/* The std VGA exists: "-device VGA" reaches the machine (which checks its
 * properties), it is no longer refused here. */
static void test_vnc_and_keymap(void)
{
    struct config cfg;
    char *argv[] = {"xendm", "-xen-domid", "1", "-vnc", "127.0.0.1:0,password=on,to=99", "-k", "de", NULL};
    g_assert_cmpint(config_parse(7, argv, &cfg), ==, 0);
    g_assert_cmpstr(cfg.vnc, ==, "127.0.0.1:0,password=on,to=99");
    g_assert_cmpstr(cfg.keymap, ==, "de");
    config_free(&cfg);
    char *none[] = {"xendm", "-xen-domid", "1", "-vnc", "127.0.0.1:0", "-vnc", "none", NULL};
    g_assert_cmpint(config_parse(7, none, &cfg), ==, 0);
    g_assert_null(cfg.vnc); /* the later one wins, as in QEMU */
    config_free(&cfg);
}

static void test_vga_accepted(void)
{
    struct config cfg;
    char *argv[] = {"xendm", "-xen-domid", "1", "-device", "VGA,vgamem_mb=16", NULL};
    g_assert_cmpint(config_parse(5, argv, &cfg), ==, 0);
    g_assert_cmpuint(cfg.n_devices, ==, 1);
    g_assert_cmpstr(cfg.devices[0]->implied, ==, "VGA");
    config_free(&cfg);
}

static void test_not_yet_devices(void)
{
    static const char *const drivers[] = {
        "cirrus-vga",
#ifndef HAVE_SPICE
        "qxl-vga",
#endif
        "virtio-serial",
        "virtserialport",
        "usb-redir",
        "piix3-usb-uhci",
        "ich9-usb-ehci1",
        "ich9-usb-uhci1",
        "ich9-usb-uhci3",
        "nec-usb-xhci",
        "usb-tablet",
        "e1000",
        "rtl8139",
        "virtio-net",
        "virtio-net-pci",
        "ahci",
        "ide-hd",
        "ide-cd",
        "scsi-hd",
        "lsi53c895a",
        "intel-hda",
        "hda-duplex",
        "xen-pvdevice",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(drivers); i++) {
        g_autofree char *line = g_strdup_printf("-xen-domid 1 -device %s,id=x", drivers[i]);
        g_autofree char *msg = g_strdup_printf("-device %s: not supported yet", drivers[i]);

        parse_fails(line, msg);
    }
    /* driver= spelled out is the same driver */
    parse_fails("-xen-domid 1 -device driver=e1000,id=x", "-device e1000: not supported yet");
}

static void test_accepted_noops(void)
{
    struct config cfg;

    parse_ok("-xen-domid 4 -nodefaults -no-user-config -display none -nographic -net none "
             "-vnc none -monitor none -parallel none -machine xenfv,suppress-vmdesc=off "
             "--no-shutdown --name x",
             &cfg);
    g_assert_true(cfg.nographic);
    g_assert_false(cfg.suppress_vmdesc);
    g_assert_true(cfg.no_shutdown);
    g_assert_cmpstr(cfg.name, ==, "x");
    config_free(&cfg);
}

static void test_unknown_and_missing(void)
{
    parse_fails("-xen-domid 1 -pidfile /run/x.pid", "-pidfile: unknown option");
    parse_fails("-xen-domid 1 --pidfile /run/x.pid", "-pidfile: unknown option");
    parse_fails("-xen-domid 1 -bogus", "-bogus: unknown option");
    parse_fails("-xen-domid 1 -accel xen", "-accel: unknown option");
    parse_fails("-xen-domid 1 disk.img", "disk.img: unexpected argument (not an option)");
    parse_fails("-xen-domid 1 -", "-: unexpected argument (not an option)");
    parse_fails("-xen-domid", "-xen-domid: missing argument");
    parse_fails("-xen-domid 1 -m", "-m: missing argument");
    parse_fails("-xen-domid 1 -chardev", "-chardev: missing argument");
    parse_fails("-xen-domid 1 -spice", "-spice: missing argument");
    parse_fails("-name vm1", "-xen-domid: missing (the guest's domain id is required)");
    parse_fails("", "-xen-domid: missing (the guest's domain id is required)");
}

static void test_domid(void)
{
    struct config cfg;

    parse_fails("-xen-domid abc", "-xen-domid: abc: not a number");
    parse_fails("-xen-domid 7x", "-xen-domid: 7x: not a number");
    parse_fails("-xen-domid -1", "-xen-domid: -1: not a number");
    parse_fails("-xen-domid 0", "-xen-domid: 0: out of range (1-32751)");
    parse_fails("-xen-domid 32752", "-xen-domid: 32752: out of range (1-32751)");
    parse_fails("-xen-domid 99999999999999999999999",
                "-xen-domid: 99999999999999999999999: out of range (1-32751)");
    parse_ok("-xen-domid 32751", &cfg);
    g_assert_cmpuint(cfg.domid, ==, 32751);
    config_free(&cfg);
}

static void test_name(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -name guest=vm2,process=xendm-vm2,debug-threads=on", &cfg);
    g_assert_cmpstr(cfg.name, ==, "vm2");
    g_assert_cmpstr(cfg.process_name, ==, "xendm-vm2");
    g_assert_true(cfg.debug_threads);
    config_free(&cfg);
    parse_ok("-xen-domid 1 -name a,,b", &cfg);
    g_assert_cmpstr(cfg.name, ==, "a,b");
    config_free(&cfg);
    parse_fails("-xen-domid 1 -name vm1,foo=bar",
                "-name: foo=bar: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -name vm1,debug-threads=maybe",
                "-name: debug-threads=maybe: not on or off");
    parse_fails("-xen-domid 1 -name vm1,guest=vm2", "-name: guest=vm2: duplicate key 'guest'");
}

static void test_chardev(void)
{
    struct config cfg;
    const struct config_chardev *c;

    parse_ok("-xen-domid 1 -chardev null,id=n -chardev file,id=f,path=/tmp/a,,b,append=on "
             "-chardev socket,id=t,host=127.0.0.1,port=4555,server=on "
             "-chardev socket,id=cl,path=/tmp/s "
             "-chardev socket,id=nw,path=/tmp/s2,server,nowait",
             &cfg);
    c = config_chardev_find(&cfg, "n");
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_NULL);
    c = config_chardev_find(&cfg, "f");
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_FILE);
    g_assert_cmpstr(c->path, ==, "/tmp/a,b");
    g_assert_true(c->append);
    c = config_chardev_find(&cfg, "t");
    g_assert_cmpint(c->addr, ==, CONFIG_SOCKET_TCP);
    g_assert_cmpstr(c->host, ==, "127.0.0.1");
    g_assert_cmpstr(c->port, ==, "4555");
    g_assert_true(c->server);
    g_assert_true(c->wait); /* QEMU's default for a server */
    c = config_chardev_find(&cfg, "cl");
    g_assert_false(c->server);
    g_assert_false(c->wait);
    c = config_chardev_find(&cfg, "nw");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    config_free(&cfg);

    parse_fails("-xen-domid 1 -chardev socket,id=x",
                "-chardev: id=x: socket needs one of path=, fd= or host=,port=");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=/a,fd=3",
                "-chardev: id=x: socket needs one of path=, fd= or host=,port=");
    parse_fails("-xen-domid 1 -chardev socket,path=/p", "-chardev: socket,path=/p: missing id=");
    parse_fails("-xen-domid 1 -chardev id=x", "-chardev: id=x: missing backend");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=/p,server=maybe",
                "-chardev: server=maybe: not on or off");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=/p,server=on,wait=perhaps",
                "-chardev: wait=perhaps: not on or off");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=/p,wait=on,nowait",
                "-chardev: wait= and nowait: both given");
    parse_fails("-xen-domid 1 -chardev socket,id=x,fd=abc", "-chardev: fd=abc: not a number");
    parse_fails("-xen-domid 1 -chardev socket,id=x,fd=4294967296",
                "-chardev: fd=4294967296: out of range (max 2147483647)");
    parse_fails("-xen-domid 1 -chardev socket,id=x,host=h", "-chardev: id=x: host= without port=");
    parse_fails("-xen-domid 1 -chardev socket,id=x,host=h,port=0",
                "-chardev: port=0: not a port number (1-65535)");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=", "-chardev: id=x: path=: empty");
    parse_fails("-xen-domid 1 -chardev socket,id=x,path=/p,telnet=on",
                "-chardev: telnet=on: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -chardev pty,id=x,server=on",
                "-chardev: server=on: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -chardev stdio,id=x",
                "-chardev: stdio: backend not supported (socket, pty, null, file, spicevmc)");
    parse_fails("-xen-domid 1 -chardev pty,id=1x",
                "-chardev: id=1x: not a valid id (a letter, then letters, digits, '-', '.', '_')");
    parse_fails("-xen-domid 1 -chardev pty,id=x -chardev null,id=x",
                "-chardev: id=x: a chardev with this id already exists");
    parse_fails("-xen-domid 1 -chardev socket,id=a,id=b", "-chardev: id=b: duplicate key 'id'");
    parse_fails("-xen-domid 1 -chardev file,id=f", "-chardev: id=f: file needs path=");
    parse_fails("-xen-domid 1 -chardev spicevmc,id=v", "-chardev: id=v: spicevmc needs name=");
    parse_fails("-xen-domid 1 -chardev pty,=x", "-chardev: =x: empty key");
}

static void test_mon(void)
{
    const char *s = "-xen-domid 1 -chardev socket,id=c,path=/q,server=on,wait=off ";
    struct config cfg;
    g_autofree char *l = NULL;

    l = g_strdup_printf("%s-mon c,mode=control,pretty=on", s);
    parse_ok(l, &cfg);
    g_assert_true(cfg.monitors[0].pretty);
    config_free(&cfg);
    /* -mon may name a chardev defined after it, as in QEMU */
    parse_ok("-xen-domid 1 -mon chardev=c,mode=control "
             "-chardev socket,id=c,path=/q,server=on,wait=off",
             &cfg);
    config_free(&cfg);

#define MON_FAILS(tail, msg)                                                                       \
    do {                                                                                           \
        g_autofree char *line_ = g_strdup_printf("%s%s", s, tail);                                 \
        parse_fails(line_, msg);                                                                   \
    } while (0)
    MON_FAILS("-mon chardev=nope,mode=control", "-mon: chardev=nope: no such -chardev");
    MON_FAILS("-mon chardev=c,mode=readline",
              "-mon: mode=readline: not supported (only mode=control)");
    MON_FAILS("-mon chardev=c",
              "-mon: chardev=c: mode=readline (the default) is not supported: use mode=control");
    MON_FAILS("-mon mode=control", "-mon: mode=control: missing chardev=");
    MON_FAILS("-mon chardev=c,mode=control,pretty=2", "-mon: pretty=2: not on or off");
    MON_FAILS("-mon chardev=c,mode=control,bogus=1",
              "-mon: bogus=1: unknown or unsupported parameter");
    MON_FAILS("-chardev pty,id=p -mon chardev=p,mode=control",
              "-mon: chardev=p: not a socket chardev");
    MON_FAILS("-chardev socket,id=k,path=/k -mon chardev=k,mode=control",
              "-mon: chardev=k: not a listening socket (server=on)");
    MON_FAILS("-mon chardev=c,mode=control -mon chardev=c,mode=control",
              "-mon: chardev=c: already used by another monitor");
    MON_FAILS("-serial unix:/s,server=on,wait=off -mon chardev=serial0,mode=control",
              "-mon: chardev=serial0: already used by -serial");
    MON_FAILS("-qmp chardev:zz", "-qmp: chardev=zz: no such -chardev");
#undef MON_FAILS
    parse_fails("-xen-domid 1 -qmp stdio", "-qmp: stdio: not supported");
    parse_fails("-xen-domid 1 -qmp-pretty vc", "-qmp-pretty: vc: not supported");
    parse_fails("-xen-domid 1 -qmp pty", "-qmp: chardev=compat_monitor0: not a socket chardev");
    parse_fails("-xen-domid 1 -qmp unix:/q",
                "-qmp: chardev=compat_monitor0: not a listening socket (server=on)");
    parse_fails("-xen-domid 1 -qmp unix:/q,server=on,bad=1",
                "-qmp: bad=1: unknown or unsupported parameter");
}

static void test_serial(void)
{
    struct config cfg;
    const struct config_chardev *c;

    parse_ok("-xen-domid 1 -serial pty -serial none -serial file:/var/log/a,b "
             "-serial unix:/run/s,server=on,wait=off -serial tcp::4555,server=on,wait=off",
             &cfg);
    g_assert_cmpuint(cfg.n_serial, ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        g_autofree char *label = g_strdup_printf("serial%u", i);
        g_assert_cmpstr(cfg.chardevs[cfg.serial[i]].id, ==, label);
    }
    g_assert_cmpint(cfg.chardevs[cfg.serial[0]].backend, ==, CONFIG_CHARDEV_PTY);
    c = &cfg.chardevs[cfg.serial[1]];
    g_assert_cmpint(c->backend, ==, CONFIG_CHARDEV_FILE);
    g_assert_cmpstr(c->path, ==, "/var/log/a,b");
    c = &cfg.chardevs[cfg.serial[2]];
    g_assert_cmpint(c->addr, ==, CONFIG_SOCKET_UNIX);
    g_assert_cmpstr(c->path, ==, "/run/s");
    g_assert_true(c->server);
    g_assert_false(c->wait);
    c = &cfg.chardevs[cfg.serial[3]];
    g_assert_cmpint(c->addr, ==, CONFIG_SOCKET_TCP);
    g_assert_cmpstr(c->host, ==, "");
    g_assert_cmpstr(c->port, ==, "4555");
    config_free(&cfg);

    parse_ok("-xen-domid 1 -serial null -serial tcp:127.0.0.1:7000", &cfg);
    g_assert_cmpint(cfg.chardevs[cfg.serial[0]].backend, ==, CONFIG_CHARDEV_NULL);
    g_assert_cmpstr(cfg.chardevs[cfg.serial[1]].host, ==, "127.0.0.1");
    g_assert_false(cfg.chardevs[cfg.serial[1]].server);
    config_free(&cfg);

    parse_ok("-xen-domid 1 -serial none", &cfg);
    g_assert_cmpuint(cfg.n_serial, ==, 0);
    g_assert_cmpuint(cfg.n_chardevs, ==, 0);
    config_free(&cfg);

    parse_fails("-xen-domid 1 -serial vc", "-serial: vc: not supported");
    parse_fails("-xen-domid 1 -serial stdio", "-serial: stdio: not supported");
    parse_fails("-xen-domid 1 -serial /dev/ttyS0", "-serial: /dev/ttyS0: not supported");
    parse_fails("-xen-domid 1 -serial mon:stdio", "-serial: mon:stdio: not supported");
    parse_fails("-xen-domid 1 -serial chardev:x", "-serial: chardev:x: not supported");
    parse_fails("-xen-domid 1 -serial pty -serial pty -serial pty -serial pty -serial null",
                "-serial: null: too many serial ports (max 4)");
    parse_fails("-xen-domid 1 -serial file:", "-serial: file:: missing the file name");
    parse_fails("-xen-domid 1 -serial unix:", "-serial: unix:: missing the socket path");
    parse_fails("-xen-domid 1 -serial unix:/s,server=on,wait=x", "-serial: wait=x: not on or off");
    parse_fails("-xen-domid 1 -serial unix:/s,reconnect=1",
                "-serial: reconnect=1: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -serial tcp:host", "-serial: tcp:host: expected tcp:[HOST]:PORT");
    parse_fails("-xen-domid 1 -serial tcp::99999",
                "-serial: port=99999: not a port number (1-65535)");
    parse_fails("-xen-domid 1 -serial tcp:h:telnet",
                "-serial: port=telnet: not a port number (1-65535)");
    parse_fails("-xen-domid 1 -chardev pty,id=serial0 -serial pty",
                "-serial: id=serial0: a chardev with this id already exists");
}

static void test_machine(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -machine pc,accel=xen,suppress-vmdesc=on,max-ram-below-4g=2G", &cfg);
    g_assert_cmpint(cfg.machine, ==, CONFIG_MACHINE_PC);
    g_assert_false(cfg.xen_platform);
    g_assert_cmpuint(cfg.max_ram_below_4g, ==, 2ULL << 30);
    config_free(&cfg);
    parse_ok("-xen-domid 1 -M xenfv,max-ram-below-4g=3758096384,igd-passthru=off", &cfg);
    g_assert_true(cfg.xen_platform);
    g_assert_cmpuint(cfg.max_ram_below_4g, ==, 0xe0000000);
    config_free(&cfg);
    /* several -machine merge, later keys win */
    parse_ok("-xen-domid 1 -machine pc -machine accel=xen,max-ram-below-4g=1024M", &cfg);
    g_assert_cmpint(cfg.machine, ==, CONFIG_MACHINE_PC);
    g_assert_cmpuint(cfg.max_ram_below_4g, ==, 1ULL << 30);
    config_free(&cfg);

    parse_fails("-xen-domid 1 -machine q35",
                "-machine: q35: machine type not supported (xenfv, or pc,accel=xen)");
    parse_fails("-xen-domid 1 -machine pc", "-machine: pc: needs accel=xen");
    parse_fails("-xen-domid 1 -M isapc",
                "-M: isapc: machine type not supported (xenfv, or pc,accel=xen)");
    parse_fails("-xen-domid 1 -machine xenfv,accel=kvm",
                "-machine: accel=kvm: not supported (only accel=xen)");
    parse_fails("-xen-domid 1 -machine xenfv,igd-passthru=on",
                "-machine: igd-passthru=on: not supported");
    parse_fails("-xen-domid 1 -machine xenfv,max-ram-below-4g=5G",
                "-machine: max-ram-below-4g=5G: more than 4G");
    parse_fails("-xen-domid 1 -machine xenfv,max-ram-below-4g=lots",
                "-machine: max-ram-below-4g=lots: not a size");
    parse_fails("-xen-domid 1 -machine xenfv,max-ram-below-4g=1.5G",
                "-machine: max-ram-below-4g=1.5G: not a size");
    parse_fails("-xen-domid 1 -machine xenfv,suppress-vmdesc=maybe",
                "-machine: suppress-vmdesc=maybe: not on or off");
    parse_fails("-xen-domid 1 -machine xenfv,usb=on",
                "-machine: usb=on: unknown or unsupported parameter");
}

static void test_memory(void)
{
    static const struct {
        const char *arg;
        uint64_t mb;
    } good[] = {
        {"1016", 1016}, {"size=512", 512},  {"1G", 1024},    {"2048M", 2048},
        {"2g", 2048},   {"1048576K", 1024}, {"1T", 1 << 20}, {"0x100", 256},
    };
    struct config cfg;

    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *l = g_strdup_printf("-xen-domid 1 -m %s", good[i].arg);

        parse_ok(l, &cfg);
        g_assert_cmpuint(cfg.ram_mb, ==, good[i].mb);
        config_free(&cfg);
    }
    parse_fails("-xen-domid 1 -m abc",
                "-m: abc: not a size (MB, or a number with a K, M, G or T suffix)");
    parse_fails("-xen-domid 1 -m 12Q",
                "-m: 12Q: not a size (MB, or a number with a K, M, G or T suffix)");
    parse_fails("-xen-domid 1 -m 1000K", "-m: 1000K: not a whole number of MB");
    parse_fails("-xen-domid 1 -m 0", "-m: 0: out of range (1M-16777216M)");
    parse_fails("-xen-domid 1 -m 17T", "-m: 17T: out of range (1M-16777216M)");
    parse_fails("-xen-domid 1 -m 1024,slots=2", "-m: slots=2: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -m 1024,maxmem=2G",
                "-m: maxmem=2G: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -m slots=2", "-m: slots=2: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -m size=", "-m: size=: missing size");
}

static void test_smp(void)
{
    static const struct {
        const char *arg;
        unsigned cpus, max, sockets, cores, threads;
    } good[] = {
        {"2,maxcpus=2", 2, 2, 2, 1, 1},
        {"4", 4, 4, 4, 1, 1},
        {"1,maxcpus=8", 1, 8, 8, 1, 1},
        {"maxcpus=4", 4, 4, 4, 1, 1},
        {"4,cores=2", 4, 4, 2, 2, 1},
        {"4,sockets=1,cores=2,threads=2", 4, 4, 1, 2, 2},
        {"cpus=128,maxcpus=128", 128, 128, 128, 1, 1},
        {"sockets=2,cores=2", 4, 4, 2, 2, 1},
        {"2,sockets=1,maxcpus=4", 2, 4, 1, 4, 1},
    };
    struct config cfg;

    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *l = g_strdup_printf("-xen-domid 1 -smp %s", good[i].arg);

        parse_ok(l, &cfg);
        g_assert_cmpuint(cfg.smp.vcpus, ==, good[i].cpus);
        g_assert_cmpuint(cfg.smp.maxcpus, ==, good[i].max);
        g_assert_cmpuint(cfg.smp.sockets, ==, good[i].sockets);
        g_assert_cmpuint(cfg.smp.cores, ==, good[i].cores);
        g_assert_cmpuint(cfg.smp.threads, ==, good[i].threads);
        g_assert_cmpuint(cfg.smp.dies, ==, 1);
        config_free(&cfg);
    }
    parse_fails("-xen-domid 1 -smp 2,maxcpus=abc", "-smp: maxcpus=abc: not a number");
    parse_fails("-xen-domid 1 -smp two", "-smp: cpus=two: not a number");
    parse_fails("-xen-domid 1 -smp 0", "-smp: cpus=0: must be at least 1");
    parse_fails("-xen-domid 1 -smp 2,threads=0", "-smp: threads=0: must be at least 1");
    parse_fails("-xen-domid 1 -smp 4,maxcpus=2",
                "-smp: 4,maxcpus=2: cpus=4 is more than maxcpus=2");
    parse_fails("-xen-domid 1 -smp 2,maxcpus=256", "-smp: maxcpus=256: out of range (max 128)");
    parse_fails("-xen-domid 1 -smp 129", "-smp: cpus=129: out of range (max 128)");
    parse_fails("-xen-domid 1 -smp sockets=16,cores=16",
                "-smp: sockets=16,cores=16: more than 128 vCPUs");
    parse_fails("-xen-domid 1 -smp 4,sockets=2,cores=3",
                "-smp: 4,sockets=2,cores=3: sockets*dies*cores*threads = 6 is not maxcpus=4");
    parse_fails("-xen-domid 1 -smp 2,clusters=1",
                "-smp: clusters=1: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -smp 2,maxcpus=2,maxcpus=4",
                "-smp: maxcpus=4: duplicate key 'maxcpus'");
}

static void test_boot(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -boot cd", &cfg);
    g_assert_cmpstr(cfg.boot_order, ==, "cd");
    config_free(&cfg);
    parse_ok("-xen-domid 1 -boot order=n", &cfg);
    g_assert_cmpstr(cfg.boot_order, ==, "n");
    config_free(&cfg);
    parse_ok("-xen-domid 1 -boot order=dca", &cfg);
    g_assert_cmpstr(cfg.boot_order, ==, "dca");
    config_free(&cfg);

    parse_fails("-xen-domid 1 -boot order=cdx",
                "-boot: order=cdx: 'x' is not a boot device (a, c, d or n)");
    parse_fails("-xen-domid 1 -boot order=b",
                "-boot: order=b: 'b' is not a boot device (a, c, d or n)");
    parse_fails("-xen-domid 1 -boot order=cdan",
                "-boot: order=cdan: too many boot devices (max 3)");
    parse_fails("-xen-domid 1 -boot order=cc", "-boot: order=cc: 'c' given twice");
    parse_fails("-xen-domid 1 -boot order=", "-boot: order=: missing order=");
    parse_fails("-xen-domid 1 -boot once=d", "-boot: once=d: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -boot order=cd,menu=on",
                "-boot: menu=on: unknown or unsupported parameter");
}

static void test_acpi(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -no-acpi", &cfg);
    g_assert_false(cfg.acpi);
    config_free(&cfg);
    parse_fails("-xen-domid 1 -no-acpi on", "on: unexpected argument (not an option)");
}

static void test_device(void)
{
    struct config cfg;
    struct opts *o;
    uint64_t v;

    parse_ok("-xen-domid 1 -device isa-debugcon,iobase=0x402,chardev=dbg "
             "-device driver=pvpanic,id=p -device my-dev,name=a,,b,flag",
             &cfg);
    g_assert_cmpuint(cfg.n_devices, ==, 3);
    o = cfg.devices[0];
    g_assert_cmpstr(o->option, ==, "-device");
    g_assert_cmpstr(o->implied, ==, "isa-debugcon");
    g_assert_cmpint(opts_get_u64(o, "iobase", 0, 0xffff, &v), ==, 0);
    g_assert_cmpuint(v, ==, 0x402);
    g_assert_cmpstr(opts_first_unused(o), ==, "chardev");
    g_assert_cmpstr(cfg.devices[1]->implied, ==, "pvpanic");
    g_assert_cmpstr(opts_get(cfg.devices[2], "name"), ==, "a,b");
    g_assert_cmpstr(opts_get(cfg.devices[2], "flag"), ==, "on");
    config_free(&cfg);

    parse_fails("-xen-domid 1 -device id=x", "-device: id=x: missing driver");
    parse_fails("-xen-domid 1 -device ,id=x", "-device: ,id=x: empty driver");
    parse_fails("-xen-domid 1 -device x,id=a,id=b", "-device: id=b: duplicate key 'id'");
    parse_fails("-xen-domid 1 -device x,driver=y", "-device: driver=y: duplicate key 'driver'");
    parse_fails("-xen-domid 1 -device ich9-usb-uhci6", "-device ich9-usb-uhci6: not supported yet");
}

static void test_global(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -global kvm-pit.lost_tick_policy=discard "
             "-global driver=isa-fdc,property=driveA,value=x -global VGA.edid=a,b",
             &cfg);
    g_assert_cmpuint(cfg.n_globals, ==, 3);
    g_assert_cmpstr(cfg.globals[0].driver, ==, "kvm-pit");
    g_assert_cmpstr(cfg.globals[0].property, ==, "lost_tick_policy");
    g_assert_cmpstr(cfg.globals[0].value, ==, "discard");
    g_assert_cmpstr(cfg.globals[1].driver, ==, "isa-fdc");
    g_assert_cmpstr(cfg.globals[1].property, ==, "driveA");
    g_assert_cmpstr(cfg.globals[1].value, ==, "x");
    g_assert_cmpstr(cfg.globals[2].value, ==, "a,b");
    config_free(&cfg);

    parse_fails("-xen-domid 1 -global isa-fdc.driveA",
                "-global: isa-fdc.driveA: expected DRIVER.PROPERTY=VALUE");
    parse_fails("-xen-domid 1 -global .p=v", "-global: .p=v: expected DRIVER.PROPERTY=VALUE");
    parse_fails("-xen-domid 1 -global d.=v", "-global: d.=v: expected DRIVER.PROPERTY=VALUE");
    parse_fails("-xen-domid 1 -global driver=d,property=p",
                "-global: driver=d,property=p: expected DRIVER.PROPERTY=VALUE");
    parse_fails("-xen-domid 1 -global driver=d,property=p,value=v,x=y",
                "-global: x=y: unknown or unsupported parameter");
}

static void test_depriv(void)
{
    struct config cfg;

    parse_ok("-xen-domid 1 -sandbox on,obsolete=deny,elevateprivileges=children,spawn=deny,"
             "resourcecontrol=deny -runas 0:0 -chroot /",
             &cfg);
    g_assert_true(cfg.sandbox.given);
    g_assert_true(cfg.sandbox.enable);
    g_assert_cmpint(cfg.sandbox.obsolete, ==, CONFIG_SANDBOX_DENY);
    g_assert_cmpint(cfg.sandbox.elevateprivileges, ==, CONFIG_SANDBOX_CHILDREN);
    g_assert_cmpint(cfg.sandbox.spawn, ==, CONFIG_SANDBOX_DENY);
    g_assert_cmpint(cfg.sandbox.resourcecontrol, ==, CONFIG_SANDBOX_DENY);
    g_assert_true(cfg.runas_ids);
    g_assert_cmpuint(cfg.runas_uid, ==, 0);
    g_assert_cmpstr(cfg.chroot_dir, ==, "/");
    config_free(&cfg);
    parse_ok("-xen-domid 1 -sandbox off", &cfg);
    g_assert_true(cfg.sandbox.given);
    g_assert_false(cfg.sandbox.enable);
    g_assert_cmpint(cfg.sandbox.spawn, ==, CONFIG_SANDBOX_ALLOW);
    config_free(&cfg);

    parse_fails("-xen-domid 1 -sandbox maybe", "-sandbox: enable=maybe: not on or off");
    parse_fails("-xen-domid 1 -sandbox on,spawn=maybe",
                "-sandbox: spawn=maybe: expected allow or deny");
    parse_fails("-xen-domid 1 -sandbox on,elevateprivileges=all",
                "-sandbox: elevateprivileges=all: expected allow or deny or children");
    parse_fails("-xen-domid 1 -sandbox on,foo=bar",
                "-sandbox: foo=bar: unknown or unsupported parameter");
    parse_fails("-xen-domid 1 -runas a:b", "-runas: a:b: expected USER or UID:GID");
    parse_fails("-xen-domid 1 -runas 1:", "-runas: 1:: expected USER or UID:GID");
    parse_fails("-xen-domid 1 -runas 4294967295:0",
                "-runas: 4294967295:0: expected USER or UID:GID");
}

static void test_depriv_empty(void)
{
    /* Empty values need real empty argv words, which words_of cannot make. */
    GPtrArray *w = g_ptr_array_new_with_free_func(g_free);
    struct config cfg;
    char *out, *err;

    g_ptr_array_add(w, g_strdup("-xen-domid"));
    g_ptr_array_add(w, g_strdup("1"));
    g_ptr_array_add(w, g_strdup("-runas"));
    g_ptr_array_add(w, g_strdup(""));
    g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, -1);
    g_assert_cmpstr(err, ==, "xendm: -runas: empty user name\n");
    g_free(out);
    g_free(err);
    g_free(w->pdata[2]);
    w->pdata[2] = g_strdup("-chroot");
    g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, -1);
    g_assert_cmpstr(err, ==, "xendm: -chroot: empty directory\n");
    g_free(out);
    g_free(err);
    g_free(w->pdata[2]);
    w->pdata[2] = g_strdup("-device");
    g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, -1);
    g_assert_cmpstr(err, ==, "xendm: -device: : missing driver\n");
    g_free(out);
    g_free(err);
    g_ptr_array_free(w, TRUE);
}

static void test_help_version(void)
{
    static const char *const help[] = {"--help", "-help", "-h"};
    GPtrArray *w;
    struct config cfg;
    char *out, *err;
    g_autofree char *version =
        g_strdup_printf("xendm version %s (QEMU-compatible 7.2.0)\n", PACKAGE_VERSION);

    for (unsigned i = 0; i < G_N_ELEMENTS(help); i++) {
        w = words_of(help[i]);
        g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, CONFIG_PARSE_EXIT);
        g_assert_cmpstr(err, ==, "");
        g_assert_true(g_str_has_prefix(out, "Usage: xendm"));
        g_assert_nonnull(strstr(out, "Not supported yet"));
        g_assert_nonnull(strstr(out, "-xen-domid D"));
        g_assert_nonnull(strstr(out, "cirrus-vga"));
        g_assert_nonnull(strstr(out, "xen-pvdevice"));
        g_assert_null(cfg.chardevs);
        g_free(out);
        g_free(err);
        g_ptr_array_free(w, TRUE);
    }
    /* version wins over the rest of the line, since it comes first */
    w = words_of("--version -bogus");
    g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, CONFIG_PARSE_EXIT);
    g_assert_cmpstr(out, ==, version);
    g_assert_cmpstr(err, ==, "");
    g_free(out);
    g_free(err);
    g_ptr_array_free(w, TRUE);
    w = words_of("-xen-domid 1 -version");
    g_assert_cmpint(parse_words(w, &cfg, &out, &err), ==, CONFIG_PARSE_EXIT);
    g_assert_cmpstr(out, ==, version);
    g_free(out);
    g_free(err);
    g_ptr_array_free(w, TRUE);
    /* an error before --help is still an error */
    parse_fails("-bogus --help", "-bogus: unknown option");
}

/* ------------------------------------------------------------ opts.c */

static struct opts *opts_ok(const char *text, const char *implied)
{
    char *err = NULL;
    struct opts *o = opts_parse("-x", text, implied, &err);

    if (!o)
        g_test_message("%s: %s", text, err);
    g_assert_nonnull(o);
    g_assert_null(err);
    return o;
}

static void opts_bad(const char *text, const char *implied, const char *msg)
{
    char *err = NULL;
    struct opts *o = opts_parse("-x", text, implied, &err);

    g_assert_null(o);
    g_assert_cmpstr(err, ==, msg);
    free(err); /* documented: malloc'd */
}

static void test_opts_syntax(void)
{
    struct opts *o;

    o = opts_ok("e1000,id=nic0,netdev=net0,mac=00:16:3e:11:22:33", "driver");
    g_assert_cmpstr(o->option, ==, "-x");
    g_assert_cmpstr(o->implied, ==, "e1000");
    g_assert_cmpuint(o->n, ==, 4);
    g_assert_cmpstr(opts_first_unused(o), ==, "id");
    g_assert_cmpstr(opts_get(o, "driver"), ==, "e1000");
    g_assert_cmpstr(opts_get(o, "mac"), ==, "00:16:3e:11:22:33");
    g_assert_cmpstr(opts_first_unused(o), ==, "id");
    g_assert_cmpstr(opts_get(o, "id"), ==, "nic0");
    g_assert_cmpstr(opts_get(o, "netdev"), ==, "net0");
    g_assert_null(opts_first_unused(o));
    g_assert_null(opts_get(o, "absent"));
    opts_free(o);

    /* ",," is a literal comma, in implied and key values */
    o = opts_ok("a,,b,path=/x,,y,,,z=1", "driver");
    g_assert_cmpstr(o->implied, ==, "a,b");
    g_assert_cmpstr(opts_get(o, "path"), ==, "/x,y,");
    g_assert_cmpstr(opts_get(o, "z"), ==, "1");
    opts_free(o);
    o = opts_ok("path=,,,,", NULL);
    g_assert_cmpstr(opts_get(o, "path"), ==, ",,");
    opts_free(o);

    /* bare key = on; without an implied key the first word is bare too */
    o = opts_ok("socket,server,id=x", "backend");
    g_assert_cmpstr(o->implied, ==, "socket");
    g_assert_cmpstr(opts_get(o, "server"), ==, "on");
    opts_free(o);
    o = opts_ok("server,wait=off", NULL);
    g_assert_null(o->implied);
    g_assert_cmpstr(opts_get(o, "server"), ==, "on");
    opts_free(o);

    /* implied key written out, anywhere */
    o = opts_ok("id=n0,type=tap", "type");
    g_assert_cmpstr(o->implied, ==, "tap");
    g_assert_cmpstr(opts_first_unused(o), ==, "id");
    opts_free(o);

    /* '=' inside a value, empty value, trailing comma, empty text */
    o = opts_ok("a=b=c,e=,", NULL);
    g_assert_cmpuint(o->n, ==, 2);
    g_assert_cmpstr(opts_get(o, "a"), ==, "b=c");
    g_assert_cmpstr(opts_get(o, "e"), ==, "");
    opts_free(o);
    o = opts_ok("", "driver");
    g_assert_cmpuint(o->n, ==, 0);
    g_assert_null(o->implied);
    opts_free(o);
    o = opts_parse(NULL, "x=1", NULL, NULL);
    g_assert_nonnull(o);
    g_assert_null(o->option);
    opts_free(o);
    opts_free(NULL);

    opts_bad("a=1,a=2", NULL, "-x: a=2: duplicate key 'a'");
    opts_bad("e1000,driver=rtl8139", "driver", "-x: driver=rtl8139: duplicate key 'driver'");
    opts_bad("server,server", NULL, "-x: server=on: duplicate key 'server'");
    opts_bad("=5", NULL, "-x: =5: empty key");
    opts_bad("a=1,=5", NULL, "-x: =5: empty key");
    opts_bad("e1000,=x,,y", "driver", "-x: =x,,y: empty key");
    opts_bad(",x", NULL, "-x: ,x: empty key");
    opts_bad(",", NULL, "-x: ,: empty key");
    opts_bad("server,,x", NULL, "-x: server,,x: empty key");
    opts_bad(",id=x", "driver", "-x: ,id=x: empty driver");
    g_assert_null(opts_parse("-x", "=", NULL, NULL)); /* err may be NULL */
}

/* A getter's stderr line. */
static char *getter_err(int (*fn)(struct opts *, const char *, void *), struct opts *o,
                        const char *key, void *out, int *rc)
{
    struct capture c;
    char *so, *se;

    capture_begin(&c);
    *rc = fn(o, key, out);
    capture_end(&c, &so, &se);
    g_free(so);
    return se;
}

static int get_bool_def_true(struct opts *o, const char *key, void *out)
{
    return opts_get_bool(o, key, true, out);
}

static int get_u64_max255(struct opts *o, const char *key, void *out)
{
    return opts_get_u64(o, key, 7, 255, out);
}

static void test_opts_getters(void)
{
    struct opts *o = opts_ok("a=on,b=off,c=yes,d=no,e=true,f=false,g=maybe,h=ON", NULL);
    static const struct {
        const char *key;
        int rc;
        bool val;
        const char *err;
    } bools[] = {
        {"a", 0, true, ""},
        {"b", 0, false, ""},
        {"c", 0, true, ""},
        {"d", 0, false, ""},
        {"e", 0, true, ""},
        {"f", 0, false, ""},
        {"zz", 0, true, ""}, /* absent: the default */
        {"g", -EINVAL, false, "xendm: -x: g=maybe: not on or off\n"},
        {"h", -EINVAL, false, "xendm: -x: h=ON: not on or off\n"},
    };
    static const struct {
        const char *text;
        int rc;
        uint64_t val;
        const char *err;
    } nums[] = {
        {"n=0", 0, 0, ""},
        {"n=255", 0, 255, ""},
        {"n=0x1f", 0, 31, ""},
        {"n=0XfF", 0, 255, ""},
        {"n=010", 0, 10, ""},
        {"m=1", 0, 7, ""}, /* absent: the default */
        {"n=256", -ERANGE, 0, "xendm: -x: n=256: out of range (max 255)\n"},
        {"n=18446744073709551616", -ERANGE, 0,
         "xendm: -x: n=18446744073709551616: out of range (max 255)\n"},
        {"n=abc", -EINVAL, 0, "xendm: -x: n=abc: not a number\n"},
        {"n=-1", -EINVAL, 0, "xendm: -x: n=-1: not a number\n"},
        {"n= 1", -EINVAL, 0, "xendm: -x: n= 1: not a number\n"},
        {"n=1k", -EINVAL, 0, "xendm: -x: n=1k: not a number\n"},
        {"n=0x", -EINVAL, 0, "xendm: -x: n=0x: not a number\n"},
        {"n=", -EINVAL, 0, "xendm: -x: n=: not a number\n"},
    };
    struct opts *big;
    uint64_t u;
    int rc;

    for (unsigned i = 0; i < G_N_ELEMENTS(bools); i++) {
        bool b = !bools[i].val;
        g_autofree char *err = getter_err(get_bool_def_true, o, bools[i].key, &b, &rc);

        g_assert_cmpint(rc, ==, bools[i].rc);
        g_assert_cmpstr(err, ==, bools[i].err);
        if (rc == 0)
            g_assert_cmpint(b, ==, bools[i].val);
    }
    g_assert_null(opts_first_unused(o));
    opts_free(o);

    for (unsigned i = 0; i < G_N_ELEMENTS(nums); i++) {
        g_autofree char *err = NULL;

        o = opts_ok(nums[i].text, NULL);
        u = 12345;
        err = getter_err(get_u64_max255, o, "n", &u, &rc);
        g_assert_cmpint(rc, ==, nums[i].rc);
        g_assert_cmpstr(err, ==, nums[i].err);
        if (rc == 0)
            g_assert_cmpuint(u, ==, nums[i].val);
        opts_free(o);
    }
    big = opts_ok("n=18446744073709551615,h=0xffffffffffffffff", NULL);
    g_assert_cmpint(opts_get_u64(big, "n", 0, UINT64_MAX, &u), ==, 0);
    g_assert_cmpuint(u, ==, UINT64_MAX);
    g_assert_cmpint(opts_get_u64(big, "h", 0, UINT64_MAX, &u), ==, 0);
    g_assert_cmpuint(u, ==, UINT64_MAX);
    opts_free(big);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(corpus); i++)
        g_test_add_data_func(corpus[i].path, &corpus[i], test_corpus);
    g_test_add_func("/config/corpus/a-typed", test_corpus_a_typed);
    g_test_add_func("/config/corpus/dm-restrict", test_corpus_dm_restrict);
    g_test_add_func("/config/corpus/channels", test_corpus_channels);
    g_test_add_func("/config/corpus/qmp", test_corpus_qmp);
    g_test_add_func("/config/not-yet/options", test_not_yet_options);
    g_test_add_func("/config/not-yet/devices", test_not_yet_devices);
    g_test_add_func("/config/vga-accepted", test_vga_accepted);
    g_test_add_func("/config/vnc-and-keymap", test_vnc_and_keymap);
    g_test_add_func("/config/accepted-noops", test_accepted_noops);
    g_test_add_func("/config/unknown-and-missing", test_unknown_and_missing);
    g_test_add_func("/config/bad/domid", test_domid);
    g_test_add_func("/config/bad/name", test_name);
    g_test_add_func("/config/bad/chardev", test_chardev);
    g_test_add_func("/config/bad/mon-qmp", test_mon);
    g_test_add_func("/config/bad/serial", test_serial);
    g_test_add_func("/config/bad/machine", test_machine);
    g_test_add_func("/config/bad/memory", test_memory);
    g_test_add_func("/config/bad/smp", test_smp);
    g_test_add_func("/config/bad/boot", test_boot);
    g_test_add_func("/config/bad/acpi", test_acpi);
    g_test_add_func("/config/bad/device", test_device);
    g_test_add_func("/config/bad/global", test_global);
    g_test_add_func("/config/bad/depriv", test_depriv);
    g_test_add_func("/config/bad/empty-values", test_depriv_empty);
    g_test_add_func("/config/help-version", test_help_version);
    g_test_add_func("/opts/syntax", test_opts_syntax);
    g_test_add_func("/opts/getters", test_opts_getters);
    return g_test_run();
}
