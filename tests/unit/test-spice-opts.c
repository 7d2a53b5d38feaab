/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -spice on the command line (src/cmdline.c into struct config_spice):
 * libxl's exact values (xl-contract §1.5.5, in libxl's key order) and
 * every value each key takes, the defaults QEMU applies, and bad values
 * with the exact one-line message on stderr.  The password must never
 * appear in any message, whatever else is wrong with the value.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "src/cmdline.h"

#define HEAD "-xen-domid 3 "

/* ---------------------------------------------------------- capturing --- */

/* config_parse on the words of line; stderr is captured into *err. */
static int parse(const char *line, struct config *cfg, char **err)
{
    char **words = g_strsplit(line, " ", -1);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, "/usr/libexec/xendm");
    for (char **w = words; *w; w++)
        if (**w)
            g_ptr_array_add(argv, *w);
    g_ptr_array_add(argv, NULL);

    fflush(stderr);
    FILE *tmp = tmpfile();
    g_assert_nonnull(tmp);
    int saved = dup(STDERR_FILENO);
    g_assert_cmpint(saved, >=, 0);
    g_assert_cmpint(dup2(fileno(tmp), STDERR_FILENO), ==, STDERR_FILENO);
    int rc = config_parse((int)argv->len - 1, (char **)argv->pdata, cfg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    GString *s = g_string_new(NULL);
    char buf[512];
    size_t n;
    rewind(tmp);
    while ((n = fread(buf, 1, sizeof(buf), tmp)) > 0)
        g_string_append_len(s, buf, n);
    fclose(tmp);
    *err = g_string_free(s, FALSE);
    g_ptr_array_free(argv, TRUE);
    g_strfreev(words);
    return rc;
}

static void parse_ok(const char *spice, struct config *cfg)
{
    char *line = g_strdup_printf(HEAD "-spice %s", spice);
    char *err;
    int rc = parse(line, cfg, &err);
    if (rc != 0)
        g_test_message("-spice %s: %s", spice, err);
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_assert_true(cfg->spice.enabled);
    g_free(err);
    g_free(line);
}

/* Refused with exactly "xendm: <msg>\n"; nothing left allocated. */
static void parse_fails(const char *args, const char *msg)
{
    char *line = g_strdup_printf(HEAD "%s", args);
    struct config cfg;
    char *err, *want = g_strdup_printf("xendm: %s\n", msg);
    int rc = parse(line, &cfg, &err);
    if (rc != -1 || strcmp(err, want))
        g_test_message("argv: %s", line);
    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpstr(err, ==, want);
    g_assert_false(cfg.spice.enabled);
    g_assert_null(cfg.spice.password);
    g_assert_null(cfg.spice.addr);
    config_free(&cfg);
    g_free(err);
    g_free(want);
    g_free(line);
}

/* ----------------------------------------------------------- libxl's --- */

/* §1.6(b): spicedisable_ticketing = 1, the defaults of everything else. */
static void test_libxl_noauth(void)
{
    struct config cfg;
    parse_ok("port=6000,tls-port=0,disable-ticketing=on,agent-mouse=on", &cfg);
    const struct config_spice *s = &cfg.spice;
    g_assert_cmpint(s->port, ==, 6000);
    g_assert_cmpint(s->tls_port, ==, 0);
    g_assert_null(s->addr);
    g_assert_null(s->x509_dir);
    g_assert_true(s->disable_ticketing);
    g_assert_null(s->password);
    g_assert_true(s->agent_mouse);
    g_assert_false(s->disable_copy_paste);
    /* QEMU's defaults when the key is absent */
    g_assert_cmpint(s->image_compression, ==, CONFIG_SPICE_IC_AUTO_GLZ);
    g_assert_cmpint(s->streaming_video, ==, CONFIG_SPICE_SV_OFF);
    config_free(&cfg);
    g_assert_false(cfg.spice.enabled);
}

/* Every key libxl can write, in its order. */
static void test_libxl_all_keys(void)
{
    struct config cfg;
    parse_ok("port=5930,tls-port=0,addr=127.0.0.1,password=s3cret,agent-mouse=off,"
             "disable-copy-paste=on,image-compression=quic,streaming-video=all",
             &cfg);
    const struct config_spice *s = &cfg.spice;
    g_assert_cmpint(s->port, ==, 5930);
    g_assert_cmpstr(s->addr, ==, "127.0.0.1");
    g_assert_false(s->disable_ticketing);
    g_assert_cmpstr(s->password, ==, "s3cret");
    g_assert_false(s->agent_mouse);
    g_assert_true(s->disable_copy_paste);
    g_assert_cmpint(s->image_compression, ==, CONFIG_SPICE_IC_QUIC);
    g_assert_cmpint(s->streaming_video, ==, CONFIG_SPICE_SV_ALL);
    config_free(&cfg);
    g_assert_null(cfg.spice.password);
}

static void test_values(void)
{
    static const struct {
        const char *name;
        enum config_spice_ic v;
    } ic[] = {{"auto_glz", CONFIG_SPICE_IC_AUTO_GLZ},
              {"auto_lz", CONFIG_SPICE_IC_AUTO_LZ},
              {"quic", CONFIG_SPICE_IC_QUIC},
              {"glz", CONFIG_SPICE_IC_GLZ},
              {"lz", CONFIG_SPICE_IC_LZ},
              {"lz4", CONFIG_SPICE_IC_LZ4},
              {"off", CONFIG_SPICE_IC_OFF}};
    static const struct {
        const char *name;
        enum config_spice_sv v;
    } sv[] = {{"off", CONFIG_SPICE_SV_OFF},
              {"all", CONFIG_SPICE_SV_ALL},
              {"filter", CONFIG_SPICE_SV_FILTER}};
    struct config cfg;
    for (unsigned i = 0; i < G_N_ELEMENTS(ic); i++) {
        char *v = g_strdup_printf("port=1,disable-ticketing=on,image-compression=%s", ic[i].name);
        parse_ok(v, &cfg);
        g_assert_cmpint(cfg.spice.image_compression, ==, ic[i].v);
        config_free(&cfg);
        g_free(v);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sv); i++) {
        char *v = g_strdup_printf("port=1,disable-ticketing=on,streaming-video=%s", sv[i].name);
        parse_ok(v, &cfg);
        g_assert_cmpint(cfg.spice.streaming_video, ==, sv[i].v);
        config_free(&cfg);
        g_free(v);
    }
    /* TLS only, with its certificates; a family; the agent's file transfer */
    parse_ok("port=0,tls-port=5931,x509-dir=/etc/pki/xendm,ipv6=on,disable-ticketing=on,"
             "disable-agent-file-xfer=on",
             &cfg);
    g_assert_cmpint(cfg.spice.port, ==, 0);
    g_assert_cmpint(cfg.spice.tls_port, ==, 5931);
    g_assert_cmpstr(cfg.spice.x509_dir, ==, "/etc/pki/xendm");
    g_assert_true(cfg.spice.ipv6);
    g_assert_false(cfg.spice.ipv4);
    g_assert_true(cfg.spice.disable_agent_file_xfer);
    config_free(&cfg);
    /* a password with a comma (",," in QEMU's syntax) and an '=' */
    parse_ok("port=5930,password=a,,b=c", &cfg);
    g_assert_cmpstr(cfg.spice.password, ==, "a,b=c");
    g_assert_false(cfg.spice.disable_ticketing);
    config_free(&cfg);
    /* neither password nor disable-ticketing: QEMU accepts it (nobody can
     * connect until QMP set_password) */
    parse_ok("port=5930", &cfg);
    g_assert_null(cfg.spice.password);
    g_assert_false(cfg.spice.disable_ticketing);
    config_free(&cfg);
    /* without -spice */
    char *err;
    g_assert_cmpint(parse(HEAD, &cfg, &err), ==, 0);
    g_assert_false(cfg.spice.enabled);
    config_free(&cfg);
    g_free(err);
}

/* ---------------------------------------------------------- bad ones --- */

static void test_bad(void)
{
    parse_fails("-spice", "-spice: missing argument");
    parse_fails("-spice port=abc,disable-ticketing=on", "-spice: port=abc: not a number");
    parse_fails("-spice port=65536,disable-ticketing=on",
                "-spice: port=65536: out of range (max 65535)");
    parse_fails("-spice port=5930,tls-port=-1,disable-ticketing=on",
                "-spice: tls-port=-1: not a number");
    parse_fails("-spice port=0,tls-port=0,disable-ticketing=on",
                "-spice: neither port= nor tls-port= is set (one must be non-zero)");
    parse_fails("-spice tls-port=0,disable-ticketing=on",
                "-spice: neither port= nor tls-port= is set (one must be non-zero)");
    parse_fails("-spice port=5930,tls-port=5931,disable-ticketing=on",
                "-spice: tls-port=5931: needs x509-dir= (the directory with ca-cert.pem, "
                "server-cert.pem and server-key.pem)");
    parse_fails("-spice port=5930,x509-dir=,disable-ticketing=on", "-spice: x509-dir=: empty");
    parse_fails("-spice port=5930,disable-ticketing=maybe",
                "-spice: disable-ticketing=maybe: not on or off");
    parse_fails("-spice port=5930,disable-ticketing=on,agent-mouse=2",
                "-spice: agent-mouse=2: not on or off");
    parse_fails("-spice port=5930,disable-ticketing=on,image-compression=jpeg",
                "-spice: image-compression=jpeg: not one of auto_glz, auto_lz, quic, glz, lz, "
                "lz4, off");
    parse_fails("-spice port=5930,disable-ticketing=on,streaming-video=some",
                "-spice: streaming-video=some: not one of off, all, filter");
    parse_fails("-spice port=5930,disable-ticketing=on,sasl=on",
                "-spice: sasl=: unknown or unsupported parameter");
    parse_fails("-spice port=5930,disable-ticketing=on,ipv4=on,ipv6=on",
                "-spice: ipv4=on and ipv6=on: choose one");
    parse_fails("-spice port=5930,disable-ticketing=on,port=5931",
                "-spice: port=5931: duplicate key 'port'");
    parse_fails("-spice port=5930,disable-ticketing=on -spice port=5931,disable-ticketing=on",
                "-spice: given twice");
}

/* Whatever is wrong, the password is not in the message. */
static void test_password_hidden(void)
{
    static const char secret[] = "Zq7xW9pass";
    static const struct {
        const char *value; /* %s = the secret */
        const char *msg;
    } cases[] = {
        {"port=5930,password=%s,disable-ticketing=on",
         "-spice: password= and disable-ticketing=on: choose one"},
        {"port=5930,password=%s,password=%s", "-spice: password=***: duplicate key 'password'"},
        {"port=5930,password=%s,,x,password=%s", "-spice: password=***: duplicate key 'password'"},
        {"port=5930,password=%s,=oops", "-spice: =oops: empty key"},
        {"port=5930,password=%s,bogus=1", "-spice: bogus=: unknown or unsupported parameter"},
        {"port=5930,password=%s,agent-mouse=%s", NULL},
        {"port=5930,password=%s,image-compression=%s", NULL},
        {"port=0,password=%s", "-spice: neither port= nor tls-port= is set (one must be non-zero)"},
        {"port=5930,tls-port=5931,password=%s",
         "-spice: tls-port=5931: needs x509-dir= (the directory with ca-cert.pem, server-cert.pem "
         "and server-key.pem)"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        GString *v = g_string_new(NULL);
        /* the secret fills every %s: where it is also another key's value,
         * the message may quote that key (not the password) */
        for (const char *p = cases[i].value; *p; p++) {
            if (p[0] == '%' && p[1] == 's') {
                g_string_append(v, secret);
                p++;
            } else {
                g_string_append_c(v, *p);
            }
        }
        char *line = g_strdup_printf(HEAD "-spice %s", v->str);
        struct config cfg;
        char *err;
        int rc = parse(line, &cfg, &err);
        g_test_message("%s -> %s", line, err);
        g_assert_cmpint(rc, ==, -1);
        g_assert_true(g_str_has_prefix(err, "xendm: -spice: "));
        if (cases[i].msg) {
            char *want = g_strdup_printf("xendm: %s\n", cases[i].msg);
            g_assert_cmpstr(err, ==, want);
            g_free(want);
        } else {
            /* the other key's bad value is quoted once, the password never */
            const char *first = strstr(err, secret);
            g_assert_nonnull(first);
            if (first) /* (also tells gcc's -Wstringop-overread at -O1) */
                g_assert_null(strstr(first + strlen(secret), secret));
            g_assert_null(strstr(err, "password"));
        }
        if (cases[i].msg)
            g_assert_null(strstr(err, secret));
        config_free(&cfg);
        g_free(err);
        g_free(line);
        g_string_free(v, TRUE);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spice-opts/libxl-noauth", test_libxl_noauth);
    g_test_add_func("/spice-opts/libxl-all-keys", test_libxl_all_keys);
    g_test_add_func("/spice-opts/values", test_values);
    g_test_add_func("/spice-opts/bad", test_bad);
    g_test_add_func("/spice-opts/password-hidden", test_password_hidden);
    return g_test_run();
}
