/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The benchmarks' clock, statistics, /proc readings, patterns and report
 * rows (bench/common.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/common.h"

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void bench_deadline(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    long long ns = (long long)ts->tv_nsec + (long long)timeout_ms * 1000000LL;
    ts->tv_sec += (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

void bench_sleep_s(double secs)
{
    struct timespec ts = {.tv_sec = (time_t)secs,
                          .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_sort(double *v, unsigned n)
{
    qsort(v, n, sizeof(double), cmp_double);
}

double bench_median(double *v, unsigned n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_median_at(const void *base, size_t size, unsigned n, size_t off)
{
    double *v = malloc(sizeof(double) * (n ? n : 1));
    if (!v)
        abort();
    for (unsigned i = 0; i < n; i++)
        memcpy(&v[i], (const char *)base + (size_t)i * size + off, sizeof(double));
    double m = bench_median(v, n);
    free(v);
    return m;
}

double bench_proc_cpu_ns(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    /* fields 3..15 after the name: state ppid pgrp session tty_nr tpgid
     * flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1e9 / (double)sysconf(_SC_CLK_TCK);
}

/* The thread's context switches from its status file. */
static double thread_ctxsw(const char *status_path)
{
    char line[256];
    unsigned long long v;
    double sum = 0;
    FILE *f = fopen(status_path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
            sum += (double)v;
    fclose(f);
    return sum;
}

void bench_proc_threads(pid_t pid, double *cpu_ns, double *ctxsw)
{
    char path[64], p2[384];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    *cpu_ns = 0;
    if (ctxsw)
        *ctxsw = 0;
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p2, sizeof(p2), "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(p2, "r");
        unsigned long long ns;
        if (f) {
            if (fscanf(f, "%llu", &ns) == 1)
                *cpu_ns += (double)ns;
            fclose(f);
        }
        if (ctxsw) {
            snprintf(p2, sizeof(p2), "%s/%s/status", path, e->d_name);
            *ctxsw += thread_ctxsw(p2);
        }
    }
    closedir(d);
}

void bench_proc_mem(pid_t pid, double *rss_kb, double *pss_kb)
{
    char path[64], line[256];
    double rss = 0, pss = 0;
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Rss:", 4))
            rss = strtod(line + 4, NULL);
        else if (!strncmp(line, "Pss:", 4))
            pss = strtod(line + 4, NULL);
    }
    if (f)
        fclose(f);
    if (rss_kb)
        *rss_kb = rss;
    if (pss_kb)
        *pss_kb = pss;
}

uint32_t bench_pattern_px(unsigned x, unsigned y, unsigned w, unsigned h, unsigned k)
{
    uint32_t r = x * 255 / (w - 1), g = y * 255 / (h - 1), b = ((x + y) & 0x40) ? 0xe0 : 0x20;
    uint32_t px = r << 16 | g << 8 | b;
    return k & 1 ? ~px & 0xffffff : px;
}

void bench_patterns(uint32_t *pat[2], unsigned w, unsigned h)
{
    for (unsigned k = 0; k < 2; k++) {
        pat[k] = malloc((size_t)w * h * 4);
        if (!pat[k]) {
            fprintf(stderr, "bench: out of memory for the patterns\n");
            exit(1);
        }
        for (unsigned y = 0; y < h; y++)
            for (unsigned x = 0; x < w; x++)
                pat[k][(size_t)y * w + x] = bench_pattern_px(x, y, w, h, k);
    }
}

void bench_row(const char *label, int label_w, const double *v, unsigned ndm, int val_w, int prec)
{
    printf("%-*s", label_w, label);
    for (unsigned d = 0; d < ndm; d++)
        printf(" %*.*f", val_w, prec, v[d]);
    if (ndm >= 2)
        printf("   %.2fx", v[1] / v[0]);
    printf("\n");
}

void bench_row_names(int label_w, const char *const *names, unsigned ndm, int val_w)
{
    printf("%-*s", label_w, "");
    for (unsigned d = 0; d < ndm; d++)
        printf(" %*s", val_w, names[d]);
    if (ndm >= 2)
        printf("   %s / %s", names[1], names[0]);
    printf("\n");
}
