/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine libxl's argv describes, built in qemu-xen's order so every
 * device lands where qemu-xen puts it (xl-contract §1.5.10):
 *   00:00.0 i440FX host bridge, 00:01.0 PIIX3 ISA bridge, 00:01.1 PIIX3 IDE,
 *   00:01.3 PIIX4 PM (unless -no-acpi), the Xen platform device at the first
 *   free slot (xenfv only), then each -device in argv order;
 *   ISA: i8042 keyboard controller, CMOS NVRAM, a 16550 per -serial.
 * Also the run state QMP reports, and what happens when the guest powers off
 * or sleeps.
 */
#include "config.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "src/chardev.h"
#include "src/hv.h"
#include "src/log.h"
#include "src/machine.h"
#include "src/opts.h"
#include "src/xen/xen.h"

static enum machine_state state = MACHINE_PRELAUNCH;
static bool store_usable = true;
static bool no_shutdown;
static void (*quit_hook)(void);

static int create(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Create a built-in device with options given as "key=value,..." text. */
static int create(const char *name, const char *fmt, ...)
{
    struct opts *o = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        char *text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        char *err = NULL;
        o = opts_parse("-machine", text, NULL, &err);
        g_free(text);
        if (!o) {
            fprintf(stderr, "xendm: %s: %s\n", name, err);
            free(err);
            return -1;
        }
    }
    struct device *d = device_create(name, o);
    opts_free(o);
    return d ? 0 : -1;
}

/* Open the backend of a -serial (its id is the label libxl looks for). */
static int open_chardev(const struct config_chardev *cd)
{
    char *spec = NULL;
    const char *srv = cd->server ? (cd->wait ? ",server=on,wait=on" : ",server=on,wait=off") : "";
    switch (cd->backend) {
    case CONFIG_CHARDEV_PTY: spec = g_strdup("pty"); break;
    case CONFIG_CHARDEV_NULL: spec = g_strdup("null"); break;
    case CONFIG_CHARDEV_FILE: spec = g_strdup_printf("file:%s", cd->path); break;
    case CONFIG_CHARDEV_SOCKET:
        if (cd->addr == CONFIG_SOCKET_UNIX)
            spec = g_strdup_printf("unix:%s%s", cd->path, srv);
        else if (cd->addr == CONFIG_SOCKET_TCP)
            spec = g_strdup_printf("tcp:%s:%s%s", cd->host, cd->port, srv);
        break;
    default: break;
    }
    if (!spec) {
        fprintf(stderr, "xendm: -serial (%s): this backend is not supported for serial ports\n", cd->id);
        return -1;
    }
    GError *err = NULL;
    struct chardev *c = chardev_open(cd->id, spec, &err);
    g_free(spec);
    if (!c) {
        fprintf(stderr, "xendm: -serial (%s): %s\n", cd->id, err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

int machine_create(const struct config *cfg)
{
    no_shutdown = cfg->no_shutdown;
    uint64_t below = cfg->max_ram_below_4g ? cfg->max_ram_below_4g : 0xf0000000ULL;
    uint64_t below_mb = cfg->ram_mb < (below >> 20) ? cfg->ram_mb : below >> 20;
    unsigned maxcpus = cfg->smp.maxcpus ? cfg->smp.maxcpus : 1;

    if (create("i440FX", "ram-mb=%llu", (unsigned long long)cfg->ram_mb) < 0 || create("PIIX3", NULL) < 0 ||
        create("piix3-ide", NULL) < 0)
        return -1;
    unsigned cpus = cfg->smp.vcpus ? cfg->smp.vcpus : 1;
    if (cfg->acpi && create("PIIX4_PM", "cpus=%u,maxcpus=%u", cpus, maxcpus) < 0)
        return -1;
    if (cfg->xen_platform && create("xen-platform", NULL) < 0)
        return -1;
    for (unsigned i = 0; i < cfg->n_devices; i++) {
        struct opts *o = cfg->devices[i];
        if (!device_create(o->implied, o))
            return -1;
    }
    if (create("i8042", NULL) < 0)
        return -1;
    if (create("cmos", "ram_mb=%llu,ram_below_4g_mb=%llu,boot=%s,cpus=%u", (unsigned long long)cfg->ram_mb,
               (unsigned long long)below_mb, cfg->boot_order, cpus) < 0)
        return -1;
    for (unsigned i = 0; i < cfg->n_serial; i++) {
        const struct config_chardev *cd = &cfg->chardevs[cfg->serial[i]];
        if (open_chardev(cd) < 0 || create("isa-serial", "index=%u,chardev=%s", i, cd->id) < 0)
            return -1;
    }
    return 0;
}

void machine_destroy(void)
{
    while (device_first())
        device_destroy(device_first());
    chardev_close_all();
}

enum machine_state machine_state(void)
{
    return state;
}

const char *machine_state_name(enum machine_state s)
{
    switch (s) {
    case MACHINE_PRELAUNCH: return "prelaunch";
    case MACHINE_RUNNING: return "running";
    case MACHINE_PAUSED: return "paused";
    case MACHINE_SHUTDOWN: return "shutdown";
    case MACHINE_SUSPENDED: return "suspended";
    }
    return "unknown";
}

int machine_set_state(enum machine_state s)
{
    enum machine_state old = state;
    state = s;
    /* the ioreq server forwards unless the machine is stopped (QEMU disables
     * it on stop and enables it again on cont) */
    xen_set_running(s != MACHINE_PRELAUNCH && s != MACHINE_PAUSED);
    /* libxl's readiness key, rewritten on every stopped -> running change */
    if (s == MACHINE_RUNNING && (old == MACHINE_PRELAUNCH || old == MACHINE_PAUSED) && store_usable)
        return xen_store_write_state("running");
    return 0;
}

void machine_set_store_usable(bool usable)
{
    store_usable = usable;
}

void machine_set_quit_hook(void (*q)(void))
{
    quit_hook = q;
}

void machine_quit(void)
{
    if (quit_hook)
        quit_hook();
}

void machine_guest_shutdown(unsigned reason)
{
    if (reason != HV_SHUTDOWN_POWEROFF)
        return; /* reboot: libxl destroys this domain and starts a new DM */
    if (no_shutdown) {
        state = MACHINE_SHUTDOWN; /* stay, until libxl kills us */
    } else {
        machine_quit();
    }
}

void machine_guest_sleep_state(unsigned s)
{
    if (s == 3)
        state = MACHINE_SUSPENDED;
    else if (s == 0 && state == MACHINE_SUSPENDED)
        state = MACHINE_RUNNING;
}

/* The ISA/PCI devices registered themselves; nothing central lists them. */
