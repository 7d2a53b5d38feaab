/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -spice into struct config_spice (part of src/cmdline.c's parser): the
 * keys libxl passes (xl-contract.md), QEMU's names for the compression and
 * streaming settings, and the password, which is never printed (a refused
 * argument is echoed with it redacted).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "src/cmdline-priv.h"
#include "src/secret.h"

static const char *const config_spice_ic_names[] = {
    [CONFIG_SPICE_IC_AUTO_GLZ] = "auto_glz",
    [CONFIG_SPICE_IC_AUTO_LZ] = "auto_lz",
    [CONFIG_SPICE_IC_QUIC] = "quic",
    [CONFIG_SPICE_IC_GLZ] = "glz",
    [CONFIG_SPICE_IC_LZ] = "lz",
    [CONFIG_SPICE_IC_LZ4] = "lz4",
    [CONFIG_SPICE_IC_OFF] = "off",
};
static const char *const config_spice_sv_names[] = {
    [CONFIG_SPICE_SV_OFF] = "off",
    [CONFIG_SPICE_SV_ALL] = "all",
    [CONFIG_SPICE_SV_FILTER] = "filter",
};

/* The -spice value with every password= value replaced by "***", for
 * messages (",," escapes kept intact). */
static char *config_spice_redact(const char *text)
{
    GString *s = g_string_new(NULL);
    const char *p = text;

    while (*p) {
        bool secret = g_str_has_prefix(p, "password=");
        if (secret) {
            g_string_append(s, "password=***");
            p += strlen("password=");
        }
        while (*p && !(p[0] == ',' && p[1] != ',')) {
            size_t n = (p[0] == ',') ? 2 : 1;
            if (!secret)
                g_string_append_len(s, p, (gssize)n);
            p += n;
        }
        if (*p) {
            g_string_append_c(s, ',');
            p++;
        }
    }
    return g_string_free(s, FALSE);
}

static int config_spice_enum(struct opts *o, const char *key, const char *const *names, unsigned n,
                             int def, int *out)
{
    const char *v = opts_get(o, key);

    *out = def;
    if (!v)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = (int)i;
            return 0;
        }
    GString *list = g_string_new(NULL);
    for (unsigned i = 0; i < n; i++)
        g_string_append_printf(list, "%s%s", i ? ", " : "", names[i]);
    config_fail("%s: %s=%s: not one of %s", o->option, key, v, list->str);
    g_string_free(list, TRUE);
    return -1;
}

/*
 * -spice: the keys libxl writes (port, tls-port, addr, disable-ticketing,
 * password, agent-mouse, disable-copy-paste, image-compression,
 * streaming-video) and a few of QEMU's it does not (x509-dir, ipv4, ipv6,
 * disable-agent-file-xfer).  The password is never printed: a message
 * about the value quotes it with the password replaced by "***".
 */
int config_opt_spice(struct config *cfg, struct config_pstate *ps, const char *opt,
                            const char *arg)
{
    struct config_spice *sp = &cfg->spice;
    char *err = NULL;
    struct opts *o = opts_parse(opt, arg, NULL, &err);
    uint64_t port, tls_port;
    int ic, sv, r = -1;

    if (!o) {
        /* the message may quote a value: say it again about the redacted text */
        secret_free(err);
        char *redacted = config_spice_redact(arg);
        struct opts *o2 = opts_parse(opt, redacted, NULL, &err);
        config_fail("%s", err ? err : "-spice: malformed value");
        opts_free(o2);
        g_free(err);
        g_free(redacted);
        return -1;
    }
    if (sp->enabled) {
        config_fail("%s: given twice", opt);
        goto out;
    }
    g_free(sp->addr);
    g_free(sp->x509_dir);
    secret_free(sp->password);
    *sp = (struct config_spice){.enabled = true, .agent_mouse = true};
    if (opts_get_u64(o, "port", 0, 65535, &port) < 0 ||
        opts_get_u64(o, "tls-port", 0, 65535, &tls_port) < 0)
        goto out;
    sp->port = (int)port;
    sp->tls_port = (int)tls_port;
    const char *addr = opts_get(o, "addr");
    if (addr && *addr)
        sp->addr = g_strdup(addr);
    const char *x509 = opts_get(o, "x509-dir");
    if (x509) {
        if (!*x509) {
            config_fail("%s: x509-dir=: empty", opt);
            goto out;
        }
        sp->x509_dir = g_strdup(x509);
    }
    const char *pw = opts_get(o, "password");
    if (pw) {
        sp->password = g_strdup(pw);
        secret_wipe((char *)pw); /* the parsed copy, ours: freed with o */
    }
    if (opts_get_bool(o, "disable-ticketing", false, &sp->disable_ticketing) < 0 ||
        opts_get_bool(o, "agent-mouse", true, &sp->agent_mouse) < 0 ||
        opts_get_bool(o, "disable-copy-paste", false, &sp->disable_copy_paste) < 0 ||
        opts_get_bool(o, "disable-agent-file-xfer", false, &sp->disable_agent_file_xfer) < 0 ||
        opts_get_bool(o, "ipv4", false, &sp->ipv4) < 0 ||
        opts_get_bool(o, "ipv6", false, &sp->ipv6) < 0)
        goto out;
    if (config_spice_enum(o, "image-compression", config_spice_ic_names,
                          G_N_ELEMENTS(config_spice_ic_names), CONFIG_SPICE_IC_AUTO_GLZ, &ic) < 0 ||
        config_spice_enum(o, "streaming-video", config_spice_sv_names,
                          G_N_ELEMENTS(config_spice_sv_names), CONFIG_SPICE_SV_OFF, &sv) < 0)
        goto out;
    sp->image_compression = (enum config_spice_ic)ic;
    sp->streaming_video = (enum config_spice_sv)sv;
    const char *unused = opts_first_unused(o);
    if (unused) {
        /* not config_refuse_unused(): that quotes the value */
        config_fail("%s: %s=: unknown or unsupported parameter", opt, unused);
        goto out;
    }
    if (!sp->port && !sp->tls_port) {
        config_fail("%s: neither port= nor tls-port= is set (one must be non-zero)", opt);
        goto out;
    }
    if (sp->tls_port && !sp->x509_dir) {
        config_fail("%s: tls-port=%d: needs x509-dir= (the directory with ca-cert.pem, "
                    "server-cert.pem and server-key.pem)",
                    opt, sp->tls_port);
        goto out;
    }
    if (sp->ipv4 && sp->ipv6) {
        config_fail("%s: ipv4=on and ipv6=on: choose one", opt);
        goto out;
    }
    if (sp->password && sp->disable_ticketing) {
        config_fail("%s: password= and disable-ticketing=on: choose one", opt);
        goto out;
    }
    r = 0;
out:
    opts_free(o);
    return r;
}
