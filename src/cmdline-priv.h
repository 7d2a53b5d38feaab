/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the parts of the command-line parser share (src/cmdline.c: the
 * driver, the option table and most options; cmdline-chardev.c: -chardev,
 * -serial, -mon, -qmp; cmdline-spice.c: -spice).  Private to them.
 */
#ifndef XENDM_CMDLINE_PRIV_H
#define XENDM_CMDLINE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "src/cmdline.h"
#include "src/opts.h"

/* What only exists while parsing. */
struct config_pstate {
    bool domid_given;
    bool accel_xen;
    unsigned compat_monitors; /* -qmp seen so far: compat_monitorN */
    const char **mon_option;  /* per cfg->monitors[i]: the option that made it */
};

/* "xendm: <message>" on stderr; returns -1. */
int config_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* opts_parse, with its message printed. */
struct opts *config_opts(const char *option, const char *arg, const char *implied);
/* -1 with a message naming the first key nobody looked at. */
int config_refuse_unused(struct opts *o);
/* The whole of s, decimal or 0x hex: 0, -EINVAL, -ERANGE (as opts.c). */
int config_strtou64(const char *s, const char **end, uint64_t *out);
/* A plain number argument ("-xen-domid 7"), within [min, max]. */
int config_number(const char *option, const char *text, uint64_t min, uint64_t max,
                  uint64_t *out);
/* A QEMU size with an optional B/K/M/G/T suffix; without one, unit. */
int config_size(const char *text, char unit, uint64_t *bytes);
/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
bool config_id_ok(const char *id);

/* cmdline-chardev.c */
int config_opt_chardev(struct config *cfg, struct config_pstate *ps, const char *opt,
                       const char *arg);
int config_opt_serial(struct config *cfg, struct config_pstate *ps, const char *opt,
                      const char *arg);
int config_opt_mon(struct config *cfg, struct config_pstate *ps, const char *opt,
                   const char *arg);
int config_opt_qmp(struct config *cfg, struct config_pstate *ps, const char *opt,
                   const char *arg);
/* After the last word: every monitor's chardev exists, listens, is its own. */
int config_monitors_resolve(struct config *cfg, struct config_pstate *ps);
void config_chardev_clear(struct config_chardev *c);

/* cmdline-spice.c */
int config_opt_spice(struct config *cfg, struct config_pstate *ps, const char *opt,
                     const char *arg);

#endif
