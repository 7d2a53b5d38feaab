/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm: a Xen HVM device model, started by libxl in place of qemu-xen.
 *
 * Start-up, in the order libxl's clocks and Xen's rules require
 * (xl-contract §1.1, §2.3; the ioreq notes' Part A2 and F):
 *   1. parse the argv (nothing touched yet: a bad option is a clean exit);
 *   2. open Xen, create the ioreq server, map its pages and guest RAM;
 *   3. create the machine: every device registers its ranges with Xen and
 *      allocates its memory (VRAM, ROMs) from the domain's allowance;
 *   4. listen on every QMP socket, open every chardev (ptys...);
 *   5. enable the server and bind every vCPU's event channel;
 *   6. xenstore: device-model/<domid>/state = running (unless -S);
 *   7. deprivilege (restrict handles, chroot, uid, capabilities, seccomp);
 *   8. run the one main loop until SIGTERM/SIGINT/SIGHUP, then disable and
 *      destroy the ioreq server.
 * No fork: the pid libxl recorded stays ours.
 */
#include "config.h"

#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_SPICE
#include "display/spice.h"
#endif
#include "display/vnc.h"
#include "src/commands.h"
#include "src/cmdline.h"
#include "src/depriv.h"
#include "src/log.h"
#include "src/machine.h"
#include "src/qmp.h"
#include "src/secret.h"
#include "src/xen/xen.h"

#define RAM_BELOW_4G_DEFAULT 0xf0000000ULL

static GMainLoop *loop;

static gboolean on_signal(gpointer data)
{
    log_msg("main", "%s: shutting down", (const char *)data);
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void quit(void)
{
    g_main_loop_quit(loop);
}

static int open_monitors(const struct config *cfg, GPtrArray *servers)
{
    for (unsigned i = 0; i < cfg->n_monitors; i++) {
        const struct config_chardev *cd = &cfg->chardevs[cfg->monitors[i].chardev];
        if (cd->backend != CONFIG_CHARDEV_SOCKET || !cd->server ||
            (cd->addr != CONFIG_SOCKET_UNIX && cd->addr != CONFIG_SOCKET_FD)) {
            fprintf(stderr, "xendm: -mon chardev=%s: QMP needs a unix server socket\n", cd->id);
            return -1;
        }
        GError *err = NULL;
        struct qmp_server *s = qmp_server_new(cd->id, cd->addr == CONFIG_SOCKET_UNIX ? cd->path : NULL,
                                              cd->addr == CONFIG_SOCKET_FD ? cd->fd : -1, &err);
        if (!s) {
            fprintf(stderr, "xendm: -chardev id=%s: %s\n", cd->id, err->message);
            g_error_free(err);
            return -1;
        }
        g_ptr_array_add(servers, s);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg = {0};
    int rc = config_parse(argc, argv, &cfg);
    if (rc == CONFIG_PARSE_EXIT)
        return 0;
    if (rc < 0)
        return 1;
    log_init();
    signal(SIGPIPE, SIG_IGN);
    loop = g_main_loop_new(NULL, FALSE);
    GPtrArray *servers = g_ptr_array_new_with_free_func((GDestroyNotify)qmp_server_free);
    struct vnc *vnc = NULL;
    int status = 1;

    uint64_t below = cfg.max_ram_below_4g ? cfg.max_ram_below_4g : RAM_BELOW_4G_DEFAULT;
    struct xen_params xp = {.domid = cfg.domid, .max_vcpus = cfg.smp.maxcpus ? cfg.smp.maxcpus : 1,
                            .ram_mb = cfg.ram_mb, .ram_below_4g = below};
#ifndef HAVE_SPICE
    if (cfg.spice.enabled) {
        fprintf(stderr, "xendm: -spice: this xendm was built without SPICE (--disable-spice)\n");
        goto out;
    }
#endif
    if (xen_open(&xp) < 0)
        goto out;
#ifdef HAVE_SPICE
    if (cfg.spice.enabled) {
        /* before the machine: a QXL device adds its display to the server */
        char *serr = NULL;
        if (spice_start(&cfg.spice, cfg.name, &serr) < 0) {
            fprintf(stderr, "xendm: -spice: %s\n", serr);
            g_free(serr);
            goto out_xen;
        }
        /* spice.c keeps the ticket from here on: no second copy */
        secret_free(cfg.spice.password);
        cfg.spice.password = NULL;
    }
#endif
    if (machine_create(&cfg) < 0)
        goto out_xen;
#ifdef HAVE_SPICE
    {
        /* the simple display unless QXL claimed it; threads before depriv */
        char *serr = NULL;
        if (spice_display_setup(&serr) < 0) {
            fprintf(stderr, "xendm: -spice: %s\n", serr);
            g_free(serr);
            goto out_machine;
        }
    }
#endif
    machine_set_quit_hook(quit);
    commands_register(xp.max_vcpus);
    if (open_monitors(&cfg, servers) < 0)
        goto out_machine;
    if (cfg.vnc) {
#ifdef HAVE_VNC
        /* listening before "running": libxl asks query-vnc for the port */
        GError *err = NULL;
        vnc = vnc_start(cfg.vnc, &err);
        if (vnc && vnc_set_keymap(vnc, cfg.keymap ? cfg.keymap : "en-us", &err) < 0) {
            vnc_stop(vnc);
            vnc = NULL;
        }
        if (!vnc) {
            fprintf(stderr, "xendm: -vnc %s: %s\n", cfg.vnc, err->message);
            g_error_free(err);
            goto out_machine;
        }
        vnc_set_name(vnc, cfg.name ? cfg.name : "xendm");
#else
        fprintf(stderr, "xendm: -vnc: this xendm was built without VNC (--disable-vnc)\n");
        goto out_machine;
#endif
    }
    commands_set_vnc(vnc);
    if (xen_start() < 0)
        goto out_machine;
    if (xen_store_open(cfg.domid) < 0)
        goto out_machine;
    if (cfg.start_stopped)
        machine_set_state(MACHINE_PRELAUNCH); /* until QMP cont */
    else if (machine_set_state(MACHINE_RUNNING) < 0)
        goto out_store;
    if (cfg.domid_restrict) {
        /* restriction kills the xenstore handle: close it ourselves first */
        xen_store_close();
        machine_set_store_usable(false);
    }
    char *runas = cfg.runas_ids ? g_strdup_printf("%u:%u", cfg.runas_uid, cfg.runas_gid) : g_strdup(cfg.runas_user);
    struct depriv_params dp = {.restrict_xen = cfg.domid_restrict, .chroot_dir = cfg.chroot_dir, .runas = runas,
                               .seccomp = !cfg.sandbox.given || cfg.sandbox.enable};
    rc = depriv_apply(&dp);
    g_free(runas);
    if (rc < 0)
        goto out_store;

    g_unix_signal_add(SIGTERM, on_signal, "SIGTERM");
    g_unix_signal_add(SIGINT, on_signal, "SIGINT");
    g_unix_signal_add(SIGHUP, on_signal, "SIGHUP");
    g_main_loop_run(loop);
    status = 0;

out_store:
    xen_store_close();
out_machine:
#ifdef HAVE_VNC
    if (vnc)
        vnc_stop(vnc);
#endif
    g_ptr_array_set_size(servers, 0);
#ifdef HAVE_SPICE
    /* spice-server's worker reads what the devices gave it (QXL surfaces,
     * guest bitmaps) until spice_stop() has joined it: stop it first */
    spice_stop();
#endif
    machine_destroy();
out_xen:
#ifdef HAVE_SPICE
    spice_stop(); /* a no-op when stopped above */
#endif
    xen_close();
out:
    g_ptr_array_free(servers, TRUE);
    g_main_loop_unref(loop);
    config_free(&cfg);
    return status;
}
