/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging with a module tag, to stderr (libxl points it at
 * /var/log/xen/qemu-dm-NAME.log).  The total written is capped by
 * XEN_QEMU_CONSOLE_LIMIT (XSA-180: a guest must not fill dom0's disk through
 * our log); guest-triggered messages use LOG_GUEST, which is also
 * rate-limited per call site (a burst, then at most one per interval, with
 * the number suppressed reported).
 */
#ifndef XENDM_LOG_H
#define XENDM_LOG_H

#include <stdint.h>

void log_init(void);
void log_msg(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct log_ratelimit {
    uint64_t window_start_ns;
    unsigned in_window, suppressed;
};
void log_msg_limited(struct log_ratelimit *rl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Messages about what the guest (or a network client) did: rate-limited. */
#define LOG_GUEST(tag, ...)                                                                        \
    do {                                                                                           \
        static struct log_ratelimit rl_;                                                           \
        log_msg_limited(&rl_, tag, __VA_ARGS__);                                                   \
    } while (0)

/* Bytes written so far, and the cap (for tests). */
uint64_t log_bytes_written(void);
uint64_t log_limit(void);

#endif
