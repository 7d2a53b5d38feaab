/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU option values (src/opts.h): "DRIVER,key=val,key2=val2".
 *
 * Parses: items separated by ','; "key=value" items; a bare "key" item,
 * which means key=on; ",," inside a value, which stands for one literal
 * ','; a leading word without '=' as the implied key's value when the
 * caller names an implied key (-device e1000 -> driver=e1000).  The implied
 * key may also be written out ("-netdev type=tap"): either way
 * opts->implied is set and the key is present in kv[] already marked used,
 * so opts_get(o, "driver") and o->implied agree.  One trailing ',' is
 * accepted, as QEMU does.
 *
 * Refuses (opts_parse returns NULL and a message): an empty key ("=x",
 * ",x" without an implied key, "server,,x"), a key given twice (the implied
 * key included: "e1000,driver=x"), an empty implied value (",id=x").
 * Keys are not split on ",,": only values carry escaped commas.  Numbers are
 * decimal or 0x hex; a leading zero does not mean octal (QEMU's QemuOpts
 * would read "010" as 8 -- nothing libxl passes looks like that).
 *
 * Messages from opts_parse are "<option>: <bad part>: <problem>" without the
 * "xendm: " prefix or a newline, so the same text can end up on stderr or in
 * a QMP error reply; the *err string is allocated with g_malloc (which is
 * malloc since GLib 2.46): free() and g_free() both release it.  The typed
 * getters print "xendm: <option>: <key>=<value>: <problem>" to stderr
 * themselves.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "src/opts.h"

static const char *opts_option_name(const char *option)
{
    return option ? option : "option";
}

/* Copy a value starting at *p up to a lone ',' or the end, turning ",,"
 * into ','.  *p is left on the separating ',' (or the NUL). */
static char *opts_read_value(const char **p)
{
    GString *s = g_string_new(NULL);
    const char *q = *p;

    while (*q) {
        if (q[0] == ',') {
            if (q[1] != ',')
                break;
            q++; /* ",," -> ',' */
        }
        g_string_append_c(s, *q);
        q++;
    }
    *p = q;
    return g_string_free(s, FALSE);
}

/* The raw text of the item starting at p, for messages. */
static char *opts_item_text(const char *p)
{
    size_t n = 0;

    while (p[n] && !(p[n] == ',' && p[n + 1] != ','))
        n += (p[n] == ',') ? 2 : 1;
    return g_strndup(p, n);
}

static struct opt_kv *opts_find(const struct opts *o, const char *key)
{
    for (unsigned i = 0; o && i < o->n; i++)
        if (!strcmp(o->kv[i].key, key))
            return &o->kv[i];
    return NULL;
}

/* Takes ownership of key and value. */
static int opts_add(struct opts *o, char *key, char *value, bool used, char **err)
{
    if (opts_find(o, key)) {
        *err = g_strdup_printf("%s: %s=%s: duplicate key '%s'", opts_option_name(o->option), key,
                               value, key);
        g_free(key);
        g_free(value);
        return -EINVAL;
    }
    o->kv = g_renew(struct opt_kv, o->kv, o->n + 1);
    o->kv[o->n] = (struct opt_kv){.key = key, .value = value, .used = used};
    o->n++;
    return 0;
}

struct opts *opts_parse(const char *option, const char *text, const char *implied_key, char **err)
{
    struct opts *o = g_new0(struct opts, 1);
    const char *p = text ? text : "";
    bool first = true;
    char *dummy = NULL;

    if (!err)
        err = &dummy;
    *err = NULL;
    o->option = option ? g_strdup(option) : NULL;

    while (*p) {
        size_t klen = strcspn(p, "=,");
        char *key, *value;
        bool used = false;

        if (p[klen] == '=') {
            if (klen == 0) {
                char *item = opts_item_text(p);
                *err = g_strdup_printf("%s: %s: empty key", opts_option_name(option), item);
                g_free(item);
                goto fail;
            }
            key = g_strndup(p, klen);
            p += klen + 1;
            value = opts_read_value(&p);
        } else if (first && implied_key) {
            if (p[0] == ',' && p[1] != ',') {
                *err = g_strdup_printf("%s: %s: empty %s", opts_option_name(option), text,
                                       implied_key);
                goto fail;
            }
            key = g_strdup(implied_key);
            value = opts_read_value(&p);
            used = true;
        } else {
            if (klen == 0) {
                *err = g_strdup_printf("%s: %s: empty key", opts_option_name(option), text);
                goto fail;
            }
            key = g_strndup(p, klen);
            value = g_strdup("on");
            p += klen;
        }
        if (implied_key && !strcmp(key, implied_key)) {
            used = true;
            if (!o->implied)
                o->implied = g_strdup(value);
        }
        if (opts_add(o, key, value, used, err) < 0)
            goto fail;
        first = false;
        if (*p == ',')
            p++;
    }
    if (dummy)
        g_free(dummy);
    return o;

fail:
    opts_free(o);
    if (dummy)
        g_free(dummy);
    return NULL;
}

void opts_free(struct opts *o)
{
    if (!o)
        return;
    for (unsigned i = 0; i < o->n; i++) {
        g_free(o->kv[i].key);
        g_free(o->kv[i].value);
    }
    g_free(o->kv);
    g_free(o->implied);
    g_free(o->option);
    g_free(o);
}

const char *opts_get(struct opts *o, const char *key)
{
    struct opt_kv *kv = opts_find(o, key);

    if (!kv)
        return NULL;
    kv->used = true;
    return kv->value;
}

int opts_get_bool(struct opts *o, const char *key, bool def, bool *out)
{
    const char *v = opts_get(o, key);

    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
        return 0;
    }
    fprintf(stderr, "xendm: %s: %s=%s: not on or off\n", opts_option_name(o->option), key, v);
    return -EINVAL;
}

/* The whole of s as a decimal or 0x-hex number: -EINVAL when it is not one
 * (sign, space, suffix, empty), -ERANGE when it does not fit 64 bits. */
static int opts_strtou64(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -EINVAL;
        if (v > (UINT64_MAX - d) / base)
            return -ERANGE;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

int opts_get_u64(struct opts *o, const char *key, uint64_t def, uint64_t max, uint64_t *out)
{
    const char *v = opts_get(o, key);
    uint64_t n = 0;
    int r;

    if (!v) {
        *out = def;
        return 0;
    }
    r = opts_strtou64(v, &n);
    if (r == -EINVAL) {
        fprintf(stderr, "xendm: %s: %s=%s: not a number\n", opts_option_name(o->option), key, v);
        return -EINVAL;
    }
    if (r < 0 || n > max) {
        fprintf(stderr, "xendm: %s: %s=%s: out of range (max %" PRIu64 ")\n",
                opts_option_name(o->option), key, v, max);
        return -ERANGE;
    }
    *out = n;
    return 0;
}

const char *opts_first_unused(const struct opts *o)
{
    for (unsigned i = 0; o && i < o->n; i++)
        if (!o->kv[i].used)
            return o->kv[i].key;
    return NULL;
}
