/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the benchmarks share: the clock, medians, a process's CPU time and
 * memory from /proc, the full-screen test patterns, the report's rows
 * (bench/common.c, no dependencies), and the device models to compare:
 * which ones, their names and how to start them on xensim
 * (bench/common-dm.c, with tests/common/libtestcommon.a).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* CLOCK_MONOTONIC, ns. */
double bench_now_ns(void);
/* CLOCK_REALTIME plus timeout_ms: a deadline for pthread_cond_timedwait. */
void bench_deadline(struct timespec *ts, int timeout_ms);
/* Sleep secs seconds (resumed after signals). */
void bench_sleep_s(double secs);

/* Sort v ascending. */
void bench_sort(double *v, unsigned n);
/* The median of v (sorts it). */
double bench_median(double *v, unsigned n);
/* The median of the doubles at offset off of n records of `size` bytes
 * from base (one field of every round's result struct). */
double bench_median_at(const void *base, size_t size, unsigned n, size_t off);

/* utime + stime of the whole process (every thread, exited ones too), ns;
 * the kernel counts it in ticks of 1 / _SC_CLK_TCK (10 ms). */
double bench_proc_cpu_ns(pid_t pid);
/* Sums over the process's live threads (/proc/PID/task): schedstat run
 * time (ns resolution) and, when ctxsw is not NULL, voluntary +
 * involuntary context switches. */
void bench_proc_threads(pid_t pid, double *cpu_ns, double *ctxsw);
/* Rss and Pss of the process from /proc/PID/smaps_rollup, KiB (0 when
 * it cannot be read); either pointer may be NULL. */
void bench_proc_mem(pid_t pid, double *rss_kb, double *pss_kb);

/* Pixel (x, y), 0x00RRGGBB, of full-screen pattern k (0 or 1) for a w x h
 * screen: smooth gradients with sharp 64-pixel diagonal stripes, more like
 * a desktop than noise; the two patterns differ in every pixel. */
uint32_t bench_pattern_px(unsigned x, unsigned y, unsigned w, unsigned h, unsigned k);
/* Both patterns, w x h, row-major (malloc()ed; exits when out of memory). */
void bench_patterns(uint32_t *pat[2], unsigned w, unsigned h);

/* A report row: the label left-aligned in label_w columns, then each
 * device model's value (val_w columns, prec decimals) and, with two or
 * more, the ratio of the second to the first. */
void bench_row(const char *label, int label_w, const double *v, unsigned ndm, int val_w, int prec);
/* The heading of such rows: the device models' names and "B / A". */
void bench_row_names(int label_w, const char *const *names, unsigned ndm, int val_w);

/* ------------------------------------------- device models (common-dm.c) */

/* The device models to compare: the command line's (argv[first..]) or,
 * without any, "qemu" and $XENDM (default ./xendm); at most max.  Returns
 * how many. */
unsigned bench_dm_list(int argc, char **argv, int first, const char **dms, unsigned max);
/* "qemu-xen" for "qemu", otherwise "xendm". */
const char *bench_dm_name(const char *dm);
/* The program to run for dm: qemu-xen's path for "qemu" (NULL when it is
 * not installed, with the reason on stderr after "prog: "), otherwise dm. */
const char *bench_dm_path(const char *prog, const char *dm);

struct dm_run;
struct xsim;
/* Start dm on a new 128 MiB xensim domain with libxl's argv plus extra
 * (tests/common/dm.h: dm_start()), QMP connected; false with the reason on
 * stderr after "prog: ". */
bool bench_dm_start(const char *prog, const char *dm, const char *const *extra, struct dm_run *run);
/* The guest's std VGA (-device VGA) after the firmware's PCI set-up, in
 * Bochs VBE mode w x h x 32 with the linear framebuffer, unblanked:
 * returns the framebuffer's first w * h * 4 bytes for guest stores, or
 * NULL with the reason on stderr after "prog: ". */
uint32_t *bench_vga_mode(const char *prog, struct xsim *x, unsigned w, unsigned h);

#endif
