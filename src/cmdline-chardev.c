/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line's character devices (part of src/cmdline.c's parser):
 * -chardev (socket with path=/fd=/host=,port=, pty, null, file, spicevmc),
 * -serial (pty, null, none, file:, unix:, tcp:; at most 4 ports, labelled
 * serial0.. as QEMU does), -mon (mode=control only), -qmp and -qmp-pretty,
 * and the check after the last word that each monitor has a listening
 * socket of its own.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "src/cmdline-priv.h"

const struct config_chardev *config_chardev_find(const struct config *cfg, const char *id)
{
    for (unsigned i = 0; i < cfg->n_chardevs; i++)
        if (!strcmp(cfg->chardevs[i].id, id))
            return &cfg->chardevs[i];
    return NULL;
}

/* A new chardev `id` (valid until the next one is added), or NULL. */
static struct config_chardev *config_chardev_new(struct config *cfg, const char *option,
                                                 const char *id,
                                                 enum config_chardev_backend backend)
{
    struct config_chardev *c;

    if (config_chardev_find(cfg, id)) {
        config_fail("%s: id=%s: a chardev with this id already exists", option, id);
        return NULL;
    }
    cfg->chardevs = g_renew(struct config_chardev, cfg->chardevs, cfg->n_chardevs + 1);
    c = &cfg->chardevs[cfg->n_chardevs++];
    *c = (struct config_chardev){.id = g_strdup(id), .backend = backend, .fd = -1};
    return c;
}

void config_chardev_clear(struct config_chardev *c)
{
    g_free(c->id);
    g_free(c->path);
    g_free(c->host);
    g_free(c->port);
    g_free(c->name);
}

/* server=, wait= and the legacy "nowait" of a socket. */
static int config_socket_flags(struct opts *o, struct config_chardev *c)
{
    bool nowait;

    if (opts_get_bool(o, "server", false, &c->server) < 0)
        return -1;
    if (opts_get(o, "nowait")) {
        if (opts_get(o, "wait"))
            return config_fail("%s: wait= and nowait: both given", o->option);
        if (opts_get_bool(o, "nowait", false, &nowait) < 0)
            return -1;
        c->wait = !nowait;
    } else if (opts_get_bool(o, "wait", true, &c->wait) < 0) {
        return -1;
    }
    if (!c->server)
        c->wait = false;
    return 0;
}

static int config_tcp_port(const char *option, const char *port)
{
    uint64_t v;

    if (config_strtou64(port, NULL, &v) < 0 || v < 1 || v > 65535)
        return config_fail("%s: port=%s: not a port number (1-65535)", option, port);
    return 0;
}

/* -chardev BACKEND,id=ID,... */
int config_opt_chardev(struct config *cfg, struct config_pstate *ps, const char *opt,
                              const char *arg)
{
    struct opts *o = config_opts(opt, arg, "backend");
    struct config_chardev *c = NULL;
    const char *backend, *id;
    int r = -1;

    if (!o)
        return -1;
    backend = opts_get(o, "backend");
    id = opts_get(o, "id");
    if (!backend || !*backend) {
        config_fail("%s: %s: missing backend", opt, arg);
        goto out;
    }
    if (!id) {
        config_fail("%s: %s: missing id=", opt, arg);
        goto out;
    }
    if (!config_id_ok(id)) {
        config_fail("%s: id=%s: not a valid id (a letter, then letters, digits, '-', '.', '_')",
                    opt, id);
        goto out;
    }

    if (!strcmp(backend, "socket")) {
        const char *path = opts_get(o, "path"), *fd = opts_get(o, "fd");
        const char *host = opts_get(o, "host"), *port = opts_get(o, "port");
        uint64_t n;

        if (!!path + !!fd + !!(host || port) != 1) {
            config_fail("%s: id=%s: socket needs one of path=, fd= or host=,port=", opt, id);
            goto out;
        }
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_SOCKET);
        if (!c)
            goto out;
        if (path) {
            if (!*path) {
                config_fail("%s: id=%s: path=: empty", opt, id);
                goto out;
            }
            c->addr = CONFIG_SOCKET_UNIX;
            c->path = g_strdup(path);
        } else if (fd) {
            if (opts_get_u64(o, "fd", 0, INT32_MAX, &n) < 0)
                goto out;
            c->addr = CONFIG_SOCKET_FD;
            c->fd = (int)n;
        } else {
            if (!port) {
                config_fail("%s: id=%s: host= without port=", opt, id);
                goto out;
            }
            if (config_tcp_port(opt, port) < 0)
                goto out;
            c->addr = CONFIG_SOCKET_TCP;
            c->host = g_strdup(host ? host : "");
            c->port = g_strdup(port);
        }
        if (config_socket_flags(o, c) < 0)
            goto out;
    } else if (!strcmp(backend, "pty")) {
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_PTY);
    } else if (!strcmp(backend, "null")) {
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_NULL);
    } else if (!strcmp(backend, "file")) {
        const char *path = opts_get(o, "path");

        if (!path || !*path) {
            config_fail("%s: id=%s: file needs path=", opt, id);
            goto out;
        }
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_FILE);
        if (!c)
            goto out;
        c->path = g_strdup(path);
        if (opts_get_bool(o, "append", false, &c->append) < 0)
            goto out;
    } else if (!strcmp(backend, "spicevmc")) {
        const char *name = opts_get(o, "name");

        if (!name || !*name) {
            config_fail("%s: id=%s: spicevmc needs name=", opt, id);
            goto out;
        }
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_SPICEVMC);
        if (!c)
            goto out;
        c->name = g_strdup(name);
    } else {
        config_fail("%s: %s: backend not supported (socket, pty, null, file, spicevmc)", opt,
                    backend);
        goto out;
    }
    if (!c)
        goto out;
    r = config_refuse_unused(o);
out:
    opts_free(o);
    return r;
}

/*
 * The short chardev specs of -serial and -qmp: pty, null, file:PATH,
 * unix:PATH[,server=on,wait=off], tcp:[HOST]:PORT[,server=on,wait=off].
 * Returns the new chardev's index, or -1.
 */
static int config_compat_chardev(struct config *cfg, const char *opt, const char *spec,
                                 const char *id)
{
    struct config_chardev *c;
    struct opts *o = NULL;
    const char *rest;
    int r = -1;

    if (!strcmp(spec, "pty") || !strcmp(spec, "null")) {
        c = config_chardev_new(cfg, opt, id,
                               spec[0] == 'p' ? CONFIG_CHARDEV_PTY : CONFIG_CHARDEV_NULL);
        return c ? (int)(cfg->n_chardevs - 1) : -1;
    }
    if (g_str_has_prefix(spec, "file:")) {
        if (!spec[5])
            return config_fail("%s: %s: missing the file name", opt, spec);
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_FILE);
        if (!c)
            return -1;
        c->path = g_strdup(spec + 5); /* verbatim, commas included, as QEMU */
        return (int)(cfg->n_chardevs - 1);
    }
    if (g_str_has_prefix(spec, "unix:")) {
        const char *path;

        o = config_opts(opt, spec + 5, "path");
        if (!o)
            return -1;
        path = opts_get(o, "path");
        if (!path || !*path) {
            config_fail("%s: %s: missing the socket path", opt, spec);
            goto out;
        }
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_SOCKET);
        if (!c)
            goto out;
        c->addr = CONFIG_SOCKET_UNIX;
        c->path = g_strdup(path);
    } else if (g_str_has_prefix(spec, "tcp:")) {
        const char *colon = strchr(spec + 4, ':');
        g_autofree char *host = NULL;
        g_autofree char *port = NULL;

        if (!colon)
            return config_fail("%s: %s: expected tcp:[HOST]:PORT", opt, spec);
        host = g_strndup(spec + 4, colon - (spec + 4));
        rest = colon + 1 + strcspn(colon + 1, ",");
        port = g_strndup(colon + 1, rest - (colon + 1));
        if (config_tcp_port(opt, port) < 0)
            return -1;
        o = config_opts(opt, *rest ? rest + 1 : "", NULL);
        if (!o)
            return -1;
        c = config_chardev_new(cfg, opt, id, CONFIG_CHARDEV_SOCKET);
        if (!c)
            goto out;
        c->addr = CONFIG_SOCKET_TCP;
        c->host = g_steal_pointer(&host);
        c->port = g_steal_pointer(&port);
    } else {
        return config_fail("%s: %s: not supported", opt, spec);
    }
    if (config_socket_flags(o, c) < 0 || config_refuse_unused(o) < 0)
        goto out;
    r = (int)(cfg->n_chardevs - 1);
out:
    opts_free(o);
    return r;
}

/* -serial SPEC: one COM port, in order; "none" adds none (QEMU). */
int config_opt_serial(struct config *cfg, struct config_pstate *ps, const char *opt,
                             const char *arg)
{
    char label[16];
    int idx;

    if (!strcmp(arg, "none"))
        return 0;
    if (cfg->n_serial == CONFIG_MAX_SERIAL)
        return config_fail("%s: %s: too many serial ports (max %u)", opt, arg, CONFIG_MAX_SERIAL);
    snprintf(label, sizeof(label), "serial%u", cfg->n_serial);
    idx = config_compat_chardev(cfg, opt, arg, label);
    if (idx < 0)
        return -1;
    cfg->serial[cfg->n_serial++] = (unsigned)idx;
    return 0;
}

/* ------------------------------------------------------------ monitors */

static void config_monitor_add(struct config *cfg, struct config_pstate *ps, const char *opt,
                               const char *chardev, bool pretty)
{
    cfg->monitors = g_renew(struct config_monitor, cfg->monitors, cfg->n_monitors + 1);
    ps->mon_option = g_renew(const char *, ps->mon_option, cfg->n_monitors + 1);
    cfg->monitors[cfg->n_monitors] =
        (struct config_monitor){.chardev_id = g_strdup(chardev), .pretty = pretty};
    ps->mon_option[cfg->n_monitors] = opt;
    cfg->n_monitors++;
}

/* -mon [chardev=]ID,mode=control[,pretty=on|off] */
int config_opt_mon(struct config *cfg, struct config_pstate *ps, const char *opt,
                          const char *arg)
{
    struct opts *o = config_opts(opt, arg, "chardev");
    const char *chardev, *mode;
    bool pretty;
    int r = -1;

    if (!o)
        return -1;
    chardev = opts_get(o, "chardev");
    mode = opts_get(o, "mode");
    opts_get(o, "id"); /* QEMU accepts a name for the monitor; nothing uses it */
    if (!chardev || !*chardev) {
        config_fail("%s: %s: missing chardev=", opt, arg);
        goto out;
    }
    if (!mode) {
        config_fail("%s: %s: mode=readline (the default) is not supported: use mode=control", opt,
                    arg);
        goto out;
    }
    if (strcmp(mode, "control")) {
        config_fail("%s: mode=%s: not supported (only mode=control)", opt, mode);
        goto out;
    }
    if (opts_get_bool(o, "pretty", false, &pretty) < 0 || config_refuse_unused(o) < 0)
        goto out;
    config_monitor_add(cfg, ps, opt, chardev, pretty);
    r = 0;
out:
    opts_free(o);
    return r;
}

/* -qmp chardev:ID | SPEC (unix:PATH,server=on,wait=off ...), -qmp-pretty */
int config_opt_qmp(struct config *cfg, struct config_pstate *ps, const char *opt,
                          const char *arg)
{
    bool pretty = !strcmp(opt, "-qmp-pretty");
    char label[32];
    int idx;

    snprintf(label, sizeof(label), "compat_monitor%u", ps->compat_monitors++);
    if (g_str_has_prefix(arg, "chardev:")) {
        config_monitor_add(cfg, ps, opt, arg + 8, pretty);
        return 0;
    }
    idx = config_compat_chardev(cfg, opt, arg, label);
    if (idx < 0)
        return -1;
    config_monitor_add(cfg, ps, opt, label, pretty);
    return 0;
}

/* After the last word: every monitor on its own listening socket. */
int config_monitors_resolve(struct config *cfg, struct config_pstate *ps)
{
    for (unsigned i = 0; i < cfg->n_monitors; i++) {
        struct config_monitor *m = &cfg->monitors[i];
        const struct config_chardev *c = config_chardev_find(cfg, m->chardev_id);
        const char *opt = ps->mon_option[i];

        if (!c)
            return config_fail("%s: chardev=%s: no such -chardev", opt, m->chardev_id);
        if (c->backend != CONFIG_CHARDEV_SOCKET)
            return config_fail("%s: chardev=%s: not a socket chardev", opt, m->chardev_id);
        if (!c->server)
            return config_fail("%s: chardev=%s: not a listening socket (server=on)", opt,
                               m->chardev_id);
        m->chardev = (unsigned)(c - cfg->chardevs);
        for (unsigned j = 0; j < i; j++)
            if (cfg->monitors[j].chardev == m->chardev)
                return config_fail("%s: chardev=%s: already used by another monitor", opt,
                                   m->chardev_id);
        for (unsigned j = 0; j < cfg->n_serial; j++)
            if (cfg->serial[j] == m->chardev)
                return config_fail("%s: chardev=%s: already used by -serial", opt, m->chardev_id);
    }
    return 0;
}
