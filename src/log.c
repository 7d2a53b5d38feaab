/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: module tag, console budget (XEN_QEMU_CONSOLE_LIMIT) and
 * per-call-site rate limiting for messages the guest can trigger.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "src/log.h"

/* Rate limit for guest-triggered messages: a burst of 10 per 5 s window. */
#define LOG_BURST 10
#define LOG_WINDOW_NS (5ULL * 1000000000ULL)

static uint64_t written;
static uint64_t limit = UINT64_MAX;
static int limit_reported;

void log_init(void)
{
    const char *s = getenv("XEN_QEMU_CONSOLE_LIMIT");
    if (s && *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (!*end)
            limit = v;
    }
}

uint64_t log_bytes_written(void)
{
    return written;
}

uint64_t log_limit(void)
{
    return limit;
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "xendm: %s: ", tag);
    if (n < 0)
        return;
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len >= sizeof(buf) - 1)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    if (written + len > limit) {
        if (!limit_reported && written + 64 <= limit) {
            written += (uint64_t)fprintf(stderr, "xendm: log: console limit reached, muting\n");
            limit_reported = 1;
        }
        return;
    }
    fwrite(buf, 1, len, stderr);
    written += len;
}

void log_msg(const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(tag, fmt, ap);
    va_end(ap);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void log_msg_limited(struct log_ratelimit *rl, const char *tag, const char *fmt, ...)
{
    uint64_t t = now_ns();
    if (t - rl->window_start_ns >= LOG_WINDOW_NS) {
        if (rl->suppressed)
            log_msg(tag, "(%u similar messages suppressed)", rl->suppressed);
        rl->window_start_ns = t;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window >= LOG_BURST) {
        rl->suppressed++;
        return;
    }
    rl->in_window++;
    va_list ap;
    va_start(ap, fmt);
    vlog(tag, fmt, ap);
    va_end(ap);
}
