/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line: libxl's qemu-style argv (xl-contract.md §1.4) into one
 * struct config (src/config.h).  -chardev, -serial, -mon and -qmp are
 * parsed in cmdline-chardev.c, -spice in cmdline-spice.c (shared helpers:
 * cmdline-priv.h).
 *
 * Parses, in argv order: -xen-domid, -no-shutdown, -S, -name; -chardev
 * (socket with path=/fd=/host=,port=, pty, null, file, spicevmc), -mon
 * (mode=control only), -qmp and -qmp-pretty; -serial (pty, null, none,
 * file:, unix:, tcp:; at most 4 ports, labelled serial0.. as QEMU does);
 * -machine/-M (xenfv, or pc with accel=xen; suppress-vmdesc,
 * max-ram-below-4g), -m, -smp, -boot (order=, or the legacy bare letters),
 * -no-acpi, -device (kept as parsed opts, driver = implied key), -global;
 * -runas, -chroot, -xen-domid-restrict, -sandbox; --help and --version.
 * Accepted and ignored (§1.5.15): -nodefaults, -no-user-config, -display
 * none, -nographic, -net none, -monitor none, -parallel none,
 * suppress-vmdesc.  -vnc (kept as text for the VNC front end, NULL for
 * none) and -k (the layout name).  -spice into struct config_spice (the
 * password is never printed).
 *
 * Refuses, with one "xendm: <option>: <problem>" line on stderr and -1, at
 * the first offending word: options that later work will bring ("not
 * supported yet": -display sdl, -vga,
 * -usb, -usbdevice, -drive, -netdev, -net other than none, -kernel,
 * -initrd, -append, -incoming, -soundhw, and -device of the drivers in
 * config_devices_not_yet[]); every option not listed here ("unknown
 * option", -pidfile included: libxl does not pass it); a missing value; a
 * key an option does not know; malformed and out-of-range values, naming
 * the option and the bad part ("xendm: -smp: maxcpus=abc: not a number").
 * After the last word: a missing -xen-domid, "-machine pc" without
 * accel=xen, a monitor whose chardev is missing, not a listening socket, or
 * shared.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "src/cmdline.h"
#include "src/cmdline-priv.h"
#include "src/secret.h"
#include "src/opts.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
/* Largest -m: 16 TiB, the most RAM a Xen x86 HVM guest can be given. */
#define CONFIG_MAX_RAM_MB (16ULL << 20)

/*
 * -device drivers that are part of libxl's argv but delivered by later
 * work: refused by name here, so the message says "not yet" rather than
 * the machine's "unknown driver".  A trailing '*' matches a prefix.  Remove
 * a name in the change that brings the device.
 */
static const char *const config_devices_not_yet[] = {
    /* display, §1.5.6 */
    "cirrus-vga",
#ifndef HAVE_SPICE
    "qxl-vga", /* display/qxl.c renders through spice-server */
#endif
    /* SPICE agent, §1.5.5 */
    "virtio-serial",
    "virtio-serial-pci",
    "virtserialport",
    /* USB, §1.5.7 */
    "usb-redir",
    "piix3-usb-uhci",
    "ich9-usb-*",
    "nec-usb-xhci",
    "usb-tablet",
    /* NICs, §1.5.9 */
    "e1000",
    "rtl8139",
    "virtio-net",
    "virtio-net-pci",
    /* disks, §1.5.11 */
    "ahci",
    "ich9-ahci",
    "ide-hd",
    "ide-cd",
    "scsi-hd",
    "lsi53c895a",
    /* sound, vendor device, §1.5.12 */
    "intel-hda",
    "hda-duplex",
    "xen-pvdevice",
};

int config_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("xendm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* opts_parse, with its message printed. */
struct opts *config_opts(const char *option, const char *arg, const char *implied)
{
    char *err = NULL;
    struct opts *o = opts_parse(option, arg, implied, &err);

    if (!o) {
        config_fail("%s", err);
        g_free(err);
    }
    return o;
}

/* -1 with a message naming the first key nobody looked at. */
int config_refuse_unused(struct opts *o)
{
    const char *key = opts_first_unused(o);

    for (unsigned i = 0; key && i < o->n; i++)
        if (o->kv[i].key == key)
            return config_fail("%s: %s=%s: unknown or unsupported parameter", o->option, key,
                               o->kv[i].value);
    return 0;
}

/* The whole of s, decimal or 0x hex: 0, -EINVAL, -ERANGE (as opts.c). */
int config_strtou64(const char *s, const char **end, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    const char *p = s;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!g_ascii_isxdigit(*p) || (base == 10 && !g_ascii_isdigit(*p)))
        return -EINVAL;
    for (; *p; p++) {
        unsigned d;

        if (g_ascii_isdigit(*p))
            d = *p - '0';
        else if (base == 16 && g_ascii_isxdigit(*p))
            d = g_ascii_xdigit_value(*p);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return -ERANGE;
        v = v * base + d;
    }
    if (!end && *p)
        return -EINVAL;
    if (end)
        *end = p;
    *out = v;
    return 0;
}

/* A plain number argument ("-xen-domid 7"), within [min, max]. */
int config_number(const char *option, const char *text, uint64_t min, uint64_t max,
                         uint64_t *out)
{
    int r = config_strtou64(text, NULL, out);

    if (r == -EINVAL)
        return config_fail("%s: %s: not a number", option, text);
    if (r < 0 || *out < min || *out > max)
        return config_fail("%s: %s: out of range (%" PRIu64 "-%" PRIu64 ")", option, text, min,
                           max);
    return 0;
}

/*
 * A QEMU size: a number with an optional suffix B, K, M, G or T (either
 * case, powers of 1024); without one, `unit` applies ('B' or 'M').
 */
int config_size(const char *text, char unit, uint64_t *bytes)
{
    const char *end;
    uint64_t v, mul;
    int r = config_strtou64(text, &end, &v);

    if (r < 0)
        return r;
    switch (g_ascii_toupper(*end ? *end : unit)) {
    case 'B':
        mul = 1;
        break;
    case 'K':
        mul = 1ULL << 10;
        break;
    case 'M':
        mul = MiB;
        break;
    case 'G':
        mul = GiB;
        break;
    case 'T':
        mul = 1ULL << 40;
        break;
    default:
        return -EINVAL;
    }
    if (*end && end[1])
        return -EINVAL;
    if (v > UINT64_MAX / mul)
        return -ERANGE;
    *bytes = v * mul;
    return 0;
}

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
bool config_id_ok(const char *id)
{
    if (!g_ascii_isalpha(id[0]))
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

/* ------------------------------------------------------------- machine */

/* -machine [type=]xenfv|pc[,accel=xen][,suppress-vmdesc=][,max-ram-below-4g=]
 * Several -machine merge, later keys winning, as in QEMU. */
static int config_opt_machine(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    struct opts *o = config_opts(opt, arg, "type");
    const char *type, *accel, *below;
    bool igd = false;
    int r = -1;

    if (!o)
        return -1;
    type = opts_get(o, "type");
    if (type) {
        if (!strcmp(type, "xenfv")) {
            cfg->machine = CONFIG_MACHINE_XENFV;
        } else if (!strcmp(type, "pc")) {
            cfg->machine = CONFIG_MACHINE_PC;
        } else {
            config_fail("%s: %s: machine type not supported (xenfv, or pc,accel=xen)", opt, type);
            goto out;
        }
    }
    accel = opts_get(o, "accel");
    if (accel) {
        if (strcmp(accel, "xen")) {
            config_fail("%s: accel=%s: not supported (only accel=xen)", opt, accel);
            goto out;
        }
        ps->accel_xen = true;
    }
    if (opts_get_bool(o, "suppress-vmdesc", cfg->suppress_vmdesc, &cfg->suppress_vmdesc) < 0)
        goto out;
    below = opts_get(o, "max-ram-below-4g");
    if (below) {
        uint64_t v;
        int e = config_size(below, 'B', &v);

        if (e == -EINVAL) {
            config_fail("%s: max-ram-below-4g=%s: not a size", opt, below);
            goto out;
        }
        if (e < 0 || v > 4 * GiB) {
            config_fail("%s: max-ram-below-4g=%s: more than 4G", opt, below);
            goto out;
        }
        cfg->max_ram_below_4g = v;
    }
    if (opts_get_bool(o, "igd-passthru", false, &igd) < 0)
        goto out;
    if (igd) {
        config_fail("%s: igd-passthru=on: not supported", opt);
        goto out;
    }
    r = config_refuse_unused(o);
out:
    opts_free(o);
    return r;
}

/* -m [size=]MB, or with a K/M/G/T suffix; slots=/maxmem= (hotplug) refused. */
static int config_opt_m(struct config *cfg, struct config_pstate *ps, const char *opt,
                        const char *arg)
{
    struct opts *o = config_opts(opt, arg, "size");
    const char *size;
    uint64_t bytes;
    int r = -1, e;

    if (!o)
        return -1;
    size = opts_get(o, "size");
    if (config_refuse_unused(o) < 0)
        goto out;
    if (!size || !*size) {
        config_fail("%s: %s: missing size", opt, arg);
        goto out;
    }
    e = config_size(size, 'M', &bytes);
    if (e == -EINVAL) {
        config_fail("%s: %s: not a size (MB, or a number with a K, M, G or T suffix)", opt, size);
        goto out;
    }
    if (e == 0 && bytes % MiB) {
        config_fail("%s: %s: not a whole number of MB", opt, size);
        goto out;
    }
    if (e < 0 || bytes == 0 || bytes / MiB > CONFIG_MAX_RAM_MB) {
        config_fail("%s: %s: out of range (1M-%lluM)", opt, size, CONFIG_MAX_RAM_MB);
        goto out;
    }
    cfg->ram_mb = bytes / MiB;
    r = 0;
out:
    opts_free(o);
    return r;
}

/*
 * -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T]
 * QEMU's rule: missing values are derived (maxcpus from cpus, sockets
 * first, then cores), and sockets*dies*cores*threads must equal maxcpus.
 * The topology only matters to QEMU's own CPUID; on Xen it is kept for
 * completeness.  Zero values are refused.
 */
static int config_opt_smp(struct config *cfg, struct config_pstate *ps, const char *opt,
                          const char *arg)
{
    static const char *const keys[] = {"cpus", "maxcpus", "sockets", "dies", "cores", "threads"};
    uint64_t v[6];
    struct opts *o = config_opts(opt, arg, "cpus");
    uint64_t cpus, maxcpus, sockets, dies, cores, threads;
    int r = -1;

    if (!o)
        return -1;
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        const char *s = opts_get(o, keys[i]);

        if (opts_get_u64(o, keys[i], 0, CONFIG_MAX_VCPUS, &v[i]) < 0)
            goto out;
        if (s && v[i] == 0) {
            config_fail("%s: %s=%s: must be at least 1", opt, keys[i], s);
            goto out;
        }
    }
    if (config_refuse_unused(o) < 0)
        goto out;
    cpus = v[0];
    maxcpus = v[1];
    sockets = v[2];
    dies = v[3] ? v[3] : 1;
    cores = v[4];
    threads = v[5];

    if (!cpus && !maxcpus) {
        sockets = sockets ? sockets : 1;
        cores = cores ? cores : 1;
        threads = threads ? threads : 1;
    } else {
        maxcpus = maxcpus ? maxcpus : cpus;
        threads = threads ? threads : 1;
        if (!sockets) {
            cores = cores ? cores : 1;
            sockets = maxcpus / (dies * cores * threads);
            if (!sockets)
                sockets = 1;
        } else if (!cores) {
            cores = maxcpus / (sockets * dies * threads);
            if (!cores)
                cores = 1;
        }
    }
    if (!maxcpus)
        maxcpus = sockets * dies * cores * threads;
    if (!cpus)
        cpus = maxcpus;
    if (maxcpus > CONFIG_MAX_VCPUS) {
        config_fail("%s: %s: more than %u vCPUs", opt, arg, CONFIG_MAX_VCPUS);
        goto out;
    }
    if (cpus > maxcpus) {
        config_fail("%s: %s: cpus=%" PRIu64 " is more than maxcpus=%" PRIu64, opt, arg, cpus,
                    maxcpus);
        goto out;
    }
    if (sockets * dies * cores * threads != maxcpus) {
        config_fail("%s: %s: sockets*dies*cores*threads = %" PRIu64 " is not maxcpus=%" PRIu64, opt,
                    arg, sockets * dies * cores * threads, maxcpus);
        goto out;
    }
    cfg->smp.vcpus = cpus;
    cfg->smp.maxcpus = maxcpus;
    cfg->smp.sockets = sockets;
    cfg->smp.dies = dies;
    cfg->smp.cores = cores;
    cfg->smp.threads = threads;
    r = 0;
out:
    opts_free(o);
    return r;
}

/* -boot [order=]LETTERS: a floppy, c disk, d CD-ROM, n network; at most 3. */
static int config_opt_boot(struct config *cfg, struct config_pstate *ps, const char *opt,
                           const char *arg)
{
    struct opts *o = config_opts(opt, arg, "order");
    const char *order;
    int r = -1;

    if (!o)
        return -1;
    order = opts_get(o, "order");
    if (config_refuse_unused(o) < 0)
        goto out;
    if (!order || !*order) {
        config_fail("%s: %s: missing order=", opt, arg);
        goto out;
    }
    if (strlen(order) > CONFIG_MAX_BOOT) {
        config_fail("%s: order=%s: too many boot devices (max %u)", opt, order, CONFIG_MAX_BOOT);
        goto out;
    }
    for (const char *p = order; *p; p++) {
        if (!strchr("acdn", *p)) {
            config_fail("%s: order=%s: '%c' is not a boot device (a, c, d or n)", opt, order, *p);
            goto out;
        }
        if (strchr(p + 1, *p)) {
            config_fail("%s: order=%s: '%c' given twice", opt, order, *p);
            goto out;
        }
    }
    g_strlcpy(cfg->boot_order, order, sizeof(cfg->boot_order));
    r = 0;
out:
    opts_free(o);
    return r;
}

static bool config_device_not_yet(const char *driver)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(config_devices_not_yet); i++) {
        const char *n = config_devices_not_yet[i];
        size_t len = strlen(n);

        if (n[len - 1] == '*' ? !strncmp(driver, n, len - 1) : !strcmp(driver, n))
            return true;
    }
    return false;
}

/* -device DRIVER[,prop=value...]: kept for the machine. */
static int config_opt_device(struct config *cfg, struct config_pstate *ps, const char *opt,
                             const char *arg)
{
    struct opts *o = config_opts(opt, arg, "driver");

    if (!o)
        return -1;
    if (!o->implied || !*o->implied) {
        opts_free(o);
        return config_fail("%s: %s: missing driver", opt, arg);
    }
    if (config_device_not_yet(o->implied)) {
        config_fail("%s %s: not supported yet", opt, o->implied);
        opts_free(o);
        return -1;
    }
    cfg->devices = g_renew(struct opts *, cfg->devices, cfg->n_devices + 1);
    cfg->devices[cfg->n_devices++] = o;
    return 0;
}

/* -global DRIVER.PROPERTY=VALUE (VALUE verbatim), or
 * -global driver=DRIVER,property=PROPERTY,value=VALUE */
static int config_opt_global(struct config *cfg, struct config_pstate *ps, const char *opt,
                             const char *arg)
{
    size_t dlen = strcspn(arg, ".=");
    const char *eq = strchr(arg, '=');
    struct config_global g = {0};

    if (arg[dlen] == '.' && dlen > 0 && eq && eq > arg + dlen + 1) {
        g.driver = g_strndup(arg, dlen);
        g.property = g_strndup(arg + dlen + 1, eq - (arg + dlen + 1));
        g.value = g_strdup(eq + 1);
    } else {
        struct opts *o = config_opts(opt, arg, NULL);
        const char *d, *p, *v;

        if (!o)
            return -1;
        d = opts_get(o, "driver");
        p = opts_get(o, "property");
        v = opts_get(o, "value");
        if (!d || !*d || !p || !*p || !v) {
            opts_free(o);
            return config_fail("%s: %s: expected DRIVER.PROPERTY=VALUE", opt, arg);
        }
        if (config_refuse_unused(o) < 0) {
            opts_free(o);
            return -1;
        }
        g.driver = g_strdup(d);
        g.property = g_strdup(p);
        g.value = g_strdup(v);
        opts_free(o);
    }
    cfg->globals = g_renew(struct config_global, cfg->globals, cfg->n_globals + 1);
    cfg->globals[cfg->n_globals++] = g;
    return 0;
}

/* ------------------------------------------------- identity and control */

static int config_opt_domid(struct config *cfg, struct config_pstate *ps, const char *opt,
                            const char *arg)
{
    uint64_t v;

    if (config_number(opt, arg, 1, CONFIG_MAX_DOMID, &v) < 0)
        return -1;
    cfg->domid = (uint32_t)v;
    ps->domid_given = true;
    return 0;
}

/* -name [guest=]NAME[,process=P][,debug-threads=on|off]; later ones merge. */
static int config_opt_name(struct config *cfg, struct config_pstate *ps, const char *opt,
                           const char *arg)
{
    struct opts *o = config_opts(opt, arg, "guest");
    const char *guest, *process;
    int r = -1;

    if (!o)
        return -1;
    guest = opts_get(o, "guest");
    process = opts_get(o, "process");
    if (opts_get_bool(o, "debug-threads", cfg->debug_threads, &cfg->debug_threads) < 0 ||
        config_refuse_unused(o) < 0)
        goto out;
    if (guest) {
        g_free(cfg->name);
        cfg->name = g_strdup(guest);
    }
    if (process) {
        g_free(cfg->process_name);
        cfg->process_name = g_strdup(process);
    }
    r = 0;
out:
    opts_free(o);
    return r;
}

static int config_opt_no_shutdown(struct config *cfg, struct config_pstate *ps, const char *opt,
                                  const char *arg)
{
    cfg->no_shutdown = true;
    return 0;
}

static int config_opt_stopped(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    cfg->start_stopped = true;
    return 0;
}

static int config_opt_no_acpi(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    cfg->acpi = false;
    return 0;
}

static int config_opt_nographic(struct config *cfg, struct config_pstate *ps, const char *opt,
                                const char *arg)
{
    cfg->nographic = true;
    return 0;
}

static int config_opt_noop(struct config *cfg, struct config_pstate *ps, const char *opt,
                           const char *arg)
{
    return 0;
}

/* ------------------------------------------------------- deprivileging */

static int config_opt_domid_restrict(struct config *cfg, struct config_pstate *ps, const char *opt,
                                     const char *arg)
{
    cfg->domid_restrict = true;
    return 0;
}

static int config_opt_chroot(struct config *cfg, struct config_pstate *ps, const char *opt,
                             const char *arg)
{
    if (!*arg)
        return config_fail("%s: empty directory", opt);
    g_free(cfg->chroot_dir);
    cfg->chroot_dir = g_strdup(arg);
    return 0;
}

/* -runas USER | UID:GID (the user is looked up when privileges are dropped) */
static int config_opt_runas(struct config *cfg, struct config_pstate *ps, const char *opt,
                            const char *arg)
{
    const char *colon = strchr(arg, ':');

    g_free(cfg->runas_user);
    cfg->runas_user = NULL;
    cfg->runas_ids = false;
    if (colon) {
        g_autofree char *u = g_strndup(arg, colon - arg);
        uint64_t uid, gid;

        if (config_strtou64(u, NULL, &uid) < 0 || config_strtou64(colon + 1, NULL, &gid) < 0 ||
            uid >= UINT32_MAX || gid >= UINT32_MAX)
            return config_fail("%s: %s: expected USER or UID:GID", opt, arg);
        cfg->runas_ids = true;
        cfg->runas_uid = (uint32_t)uid;
        cfg->runas_gid = (uint32_t)gid;
        return 0;
    }
    if (!*arg)
        return config_fail("%s: empty user name", opt);
    cfg->runas_user = g_strdup(arg);
    return 0;
}

static int config_sandbox_policy(struct opts *o, const char *key, bool children,
                                 enum config_sandbox_policy *out)
{
    const char *v = opts_get(o, key);

    if (!v)
        return 0;
    if (!strcmp(v, "allow"))
        *out = CONFIG_SANDBOX_ALLOW;
    else if (!strcmp(v, "deny"))
        *out = CONFIG_SANDBOX_DENY;
    else if (children && !strcmp(v, "children"))
        *out = CONFIG_SANDBOX_CHILDREN;
    else
        return config_fail("%s: %s=%s: expected allow or deny%s", o->option, key, v,
                           children ? " or children" : "");
    return 0;
}

/* -sandbox on|off[,obsolete=][,elevateprivileges=][,spawn=][,resourcecontrol=] */
static int config_opt_sandbox(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    struct opts *o = config_opts(opt, arg, "enable");
    int r = -1;

    if (!o)
        return -1;
    cfg->sandbox.given = true;
    if (opts_get_bool(o, "enable", false, &cfg->sandbox.enable) < 0 ||
        config_sandbox_policy(o, "obsolete", false, &cfg->sandbox.obsolete) < 0 ||
        config_sandbox_policy(o, "elevateprivileges", true, &cfg->sandbox.elevateprivileges) < 0 ||
        config_sandbox_policy(o, "spawn", false, &cfg->sandbox.spawn) < 0 ||
        config_sandbox_policy(o, "resourcecontrol", false, &cfg->sandbox.resourcecontrol) < 0)
        goto out;
    r = config_refuse_unused(o);
out:
    opts_free(o);
    return r;
}

/* ---------------------------------------- accepted values, later work */

static int config_opt_not_yet(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    return config_fail("%s: not supported yet", opt);
}

/* -vnc none; the VNC server comes later. */
static int config_opt_vnc(struct config *cfg, struct config_pstate *ps, const char *opt,
                          const char *arg)
{
    /* the VNC front end checks the value itself when it starts */
    g_free(cfg->vnc);
    cfg->vnc = strcmp(arg, "none") ? g_strdup(arg) : NULL;
    if (cfg->vnc && !*cfg->vnc)
        return config_fail("%s: empty value", opt);
    return 0;
}

static int config_opt_keymap(struct config *cfg, struct config_pstate *ps, const char *opt,
                             const char *arg)
{
    if (!*arg)
        return config_fail("%s: empty value", opt);
    g_free(cfg->keymap);
    cfg->keymap = g_strdup(arg);
    return 0;
}

/* -net none; emulated NICs (-device + -netdev) come later. */
static int config_opt_net(struct config *cfg, struct config_pstate *ps, const char *opt,
                          const char *arg)
{
    return strcmp(arg, "none") ? config_opt_not_yet(cfg, ps, opt, arg) : 0;
}

/* -display none (later ones win, as in QEMU); sdl later; nothing else. */
static int config_opt_display(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    if (!strcmp(arg, "none"))
        return 0;
    if (!strcmp(arg, "sdl") || g_str_has_prefix(arg, "sdl,"))
        return config_fail("%s sdl: not supported yet", opt);
    return config_fail("%s: %s: not supported (only none)", opt, arg);
}

/* -monitor / -parallel: QEMU options with nothing behind them here. */
static int config_opt_none_only(struct config *cfg, struct config_pstate *ps, const char *opt,
                                const char *arg)
{
    return strcmp(arg, "none") ? config_fail("%s: %s: not supported", opt, arg) : 0;
}

/* ------------------------------------------------------- help, version */

static void config_usage(FILE *f)
{
    fputs("Usage: xendm [options]\n"
          "\n"
          "xendm is a Xen HVM device model that libxl starts in place of qemu-xen\n"
          "(device_model_override in an xl config).  It takes libxl's qemu-style\n"
          "options; values are QEMU's KEY=VALUE lists, \",,\" a literal comma.\n"
          "\n"
          "Identity and control:\n"
          "  -xen-domid D                   the guest's domain id (required)\n"
          "  -no-shutdown                   on guest power-off, stop but do not exit\n"
          "  -S                             start stopped, until QMP cont\n"
          "  -name [guest=]NAME[,process=P][,debug-threads=on|off]\n"
          "  -vnc HOST:D[,to=L][,password=on][,share=...][,connections=N] | none\n"
          "  -k LAYOUT                      keyboard layout for VNC keysyms (default en-us)\n"
          "  -spice port=P,tls-port=T[,addr=A][,disable-ticketing=on|,password=PW]\n"
          "         [,agent-mouse=on|off][,disable-copy-paste=on][,image-compression=C]\n"
          "         [,streaming-video=off|all|filter][,x509-dir=D][,ipv4=on|,ipv6=on]\n"
          "\n"
          "QMP and character devices:\n"
          "  -chardev socket,id=ID,path=P|fd=N|host=H,port=P[,server=on|off][,wait=on|off]\n"
          "  -chardev pty|null,id=ID\n"
          "  -chardev file,id=ID,path=P[,append=on|off]\n"
          "  -chardev spicevmc,id=ID,name=NAME\n"
          "  -mon [chardev=]ID,mode=control[,pretty=on|off]\n"
          "  -qmp unix:PATH,server=on,wait=off | chardev:ID   (also -qmp-pretty)\n"
          "  -serial pty|null|none|file:PATH|unix:PATH[,server=on,wait=off]\n"
          "          |tcp:[HOST]:PORT[,server=on,wait=off]  (up to 4, COM1 first)\n"
          "\n"
          "Machine:\n"
          "  -machine xenfv|pc,accel=xen[,suppress-vmdesc=on|off][,max-ram-below-4g=SIZE]\n"
          "  -m [size=]MB                   guest RAM (K/M/G/T suffixes accepted)\n"
          "  -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T]\n"
          "  -boot [order=]LETTERS          up to 3 of a, c, d, n\n"
          "  -no-acpi                       no PIIX4 ACPI function\n"
          "  -device DRIVER[,PROP=VALUE...]\n"
          "  -global DRIVER.PROP=VALUE\n"
          "\n"
          "Deprivileging:\n"
          "  -xen-domid-restrict            restrict Xen handles to the guest\n"
          "  -chroot DIR\n"
          "  -runas USER|UID:GID\n"
          "  -sandbox on|off[,obsolete=][,elevateprivileges=][,spawn=][,resourcecontrol=]\n"
          "\n"
          "Accepted, no effect:\n"
          "  -nodefaults -no-user-config -display none -nographic -net none\n"
          "  -monitor none -parallel none; -machine suppress-vmdesc=\n"
          "\n"
          "Not supported yet (refused):\n"
          "  -display sdl -vga -usb -usbdevice\n"
          "  -drive -netdev -net (other than none) -kernel -initrd -append -incoming\n"
          "  -soundhw, and -device of:\n",
          f);
    for (unsigned i = 0; i < G_N_ELEMENTS(config_devices_not_yet); i++)
        fprintf(f, "%s%s", i % 6 ? " " : (i ? "\n    " : "    "), config_devices_not_yet[i]);
    fputs("\n"
          "\n"
          "Other:\n"
          "  -h, -help, --help              this text\n"
          "  -version, --version            the version\n",
          f);
}

static int config_opt_help(struct config *cfg, struct config_pstate *ps, const char *opt,
                           const char *arg)
{
    config_usage(stdout);
    return CONFIG_PARSE_EXIT;
}

static int config_opt_version(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    printf("xendm version %s (QEMU-compatible %s)\n", PACKAGE_VERSION, CONFIG_QEMU_COMPAT_VERSION);
    return CONFIG_PARSE_EXIT;
}

/* ---------------------------------------------------------------- main */

struct config_option {
    const char *name;
    bool has_arg;
    int (*parse)(struct config *cfg, struct config_pstate *ps, const char *opt, const char *arg);
};

static const struct config_option config_options[] = {
    {"-xen-domid", true, config_opt_domid},
    {"-no-shutdown", false, config_opt_no_shutdown},
    {"-S", false, config_opt_stopped},
    {"-name", true, config_opt_name},
    {"-chardev", true, config_opt_chardev},
    {"-mon", true, config_opt_mon},
    {"-qmp", true, config_opt_qmp},
    {"-qmp-pretty", true, config_opt_qmp},
    {"-serial", true, config_opt_serial},
    {"-machine", true, config_opt_machine},
    {"-M", true, config_opt_machine},
    {"-m", true, config_opt_m},
    {"-smp", true, config_opt_smp},
    {"-boot", true, config_opt_boot},
    {"-no-acpi", false, config_opt_no_acpi},
    {"-device", true, config_opt_device},
    {"-global", true, config_opt_global},
    {"-xen-domid-restrict", false, config_opt_domid_restrict},
    {"-chroot", true, config_opt_chroot},
    {"-runas", true, config_opt_runas},
    {"-sandbox", true, config_opt_sandbox},
    {"-nodefaults", false, config_opt_noop},
    {"-no-user-config", false, config_opt_noop},
    {"-nographic", false, config_opt_nographic},
    {"-display", true, config_opt_display},
    {"-vnc", true, config_opt_vnc},
    {"-net", true, config_opt_net},
    {"-monitor", true, config_opt_none_only},
    {"-parallel", true, config_opt_none_only},
    {"-spice", true, config_opt_spice},
    {"-k", true, config_opt_keymap},
    {"-vga", true, config_opt_not_yet},
    {"-usb", false, config_opt_not_yet},
    {"-usbdevice", true, config_opt_not_yet},
    {"-drive", true, config_opt_not_yet},
    {"-netdev", true, config_opt_not_yet},
    {"-kernel", true, config_opt_not_yet},
    {"-initrd", true, config_opt_not_yet},
    {"-append", true, config_opt_not_yet},
    {"-incoming", true, config_opt_not_yet},
    {"-soundhw", true, config_opt_not_yet},
    {"-h", false, config_opt_help},
    {"-help", false, config_opt_help},
    {"-version", false, config_opt_version},
};

static void config_defaults(struct config *cfg)
{
    *cfg = (struct config){
        .machine = CONFIG_MACHINE_XENFV,
        .ram_mb = 128,
        .smp = {.vcpus = 1, .maxcpus = 1, .sockets = 1, .dies = 1, .cores = 1, .threads = 1},
        .boot_order = "cad",
        .acpi = true,
    };
}

static int config_finish(struct config *cfg, struct config_pstate *ps)
{
    if (!ps->domid_given)
        return config_fail("-xen-domid: missing (the guest's domain id is required)");
    if (cfg->machine == CONFIG_MACHINE_PC && !ps->accel_xen)
        return config_fail("-machine: pc: needs accel=xen");
    cfg->xen_platform = cfg->machine == CONFIG_MACHINE_XENFV;
    return config_monitors_resolve(cfg, ps);
}

int config_parse(int argc, char **argv, struct config *cfg)
{
    struct config_pstate ps = {0};
    int r = 0;

    config_defaults(cfg);
    for (int i = 1; i < argc && r == 0; i++) {
        const char *name = argv[i], *arg = NULL;
        const struct config_option *d = NULL;

        if (name[0] != '-' || !name[1]) {
            r = config_fail("%s: unexpected argument (not an option)", name);
            break;
        }
        if (name[1] == '-' && name[2])
            name++; /* --opt is -opt */
        for (unsigned j = 0; j < G_N_ELEMENTS(config_options) && !d; j++)
            if (!strcmp(config_options[j].name, name))
                d = &config_options[j];
        if (!d) {
            r = config_fail("%s: unknown option", name);
            break;
        }
        if (d->has_arg) {
            if (i + 1 >= argc) {
                r = config_fail("%s: missing argument", name);
                break;
            }
            arg = argv[++i];
        }
        r = d->parse(cfg, &ps, d->name, arg);
    }
    if (r == 0)
        r = config_finish(cfg, &ps);
    g_free(ps.mon_option);
    if (r != 0)
        config_free(cfg);
    return r;
}

void config_free(struct config *cfg)
{
    g_free(cfg->vnc);
    g_free(cfg->keymap);
    g_free(cfg->spice.addr);
    g_free(cfg->spice.x509_dir);
    secret_free(cfg->spice.password);
    for (unsigned i = 0; i < cfg->n_chardevs; i++)
        config_chardev_clear(&cfg->chardevs[i]);
    g_free(cfg->chardevs);
    for (unsigned i = 0; i < cfg->n_monitors; i++)
        g_free(cfg->monitors[i].chardev_id);
    g_free(cfg->monitors);
    for (unsigned i = 0; i < cfg->n_devices; i++)
        opts_free(cfg->devices[i]);
    g_free(cfg->devices);
    for (unsigned i = 0; i < cfg->n_globals; i++) {
        g_free(cfg->globals[i].driver);
        g_free(cfg->globals[i].property);
        g_free(cfg->globals[i].value);
    }
    g_free(cfg->globals);
    g_free(cfg->name);
    g_free(cfg->process_name);
    g_free(cfg->chroot_dir);
    g_free(cfg->runas_user);
    memset(cfg, 0, sizeof(*cfg));
}
