/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-style option values: "DRIVER,key=val,key2=val2" or "key=val,..." with
 * ",," standing for a literal comma inside a value, and a bare first word
 * (the "implied" key: driver for -device, type for -netdev, ...).  Options
 * remember which keys were looked at, so a caller can refuse every key it
 * did not understand by name (design rule 6).
 */
#ifndef XENDM_OPTS_H
#define XENDM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

struct opt_kv {
    char *key, *value; /* value "on" for a bare "key" */
    bool used;
};

struct opts {
    char *option;    /* the command-line option, e.g. "-device", for messages */
    char *implied;   /* the leading word without '=', or NULL */
    struct opt_kv *kv;
    unsigned n;
};

/* Parse `text`.  If implied_key is non-NULL, a leading word without '='
 * becomes opts->implied.  NULL with a message in *err (malloc'd) on a
 * syntax error (empty key, duplicate key). */
struct opts *opts_parse(const char *option, const char *text, const char *implied_key, char **err);
void opts_free(struct opts *o);

/* Lookups mark the key used.  NULL / the default when absent. */
const char *opts_get(struct opts *o, const char *key);
/* on/off/yes/no/true/false; -EINVAL for anything else (error printed naming the option). */
int opts_get_bool(struct opts *o, const char *key, bool def, bool *out);
/* decimal or 0x hex; -EINVAL / -ERANGE with an error printed. */
int opts_get_u64(struct opts *o, const char *key, uint64_t def, uint64_t max, uint64_t *out);
/* The first key never looked up, or NULL: callers refuse it. */
const char *opts_first_unused(const struct opts *o);

#endif
