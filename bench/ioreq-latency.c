/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/ioreq-latency: the cost of the ioreq path through a device model on
 * xensim, with the identical guest workload and simulator for each DM:
 *  - start-up: spawn to ready (ioreq server enabled, ports bound,
 *    device-model state "running"), resident memory (RSS, PSS) after it;
 *  - sync PIO round trip: the guest reads the Xen platform device's magic
 *    (inw 0x10, 0x49d2), timed per access at the guest, p50/p99;
 *  - buffered requests: TIMEOFFSET updates pushed into the buffered ring as
 *    Xen does for RTC changes (when the ring is full a sync read makes the DM
 *    drain it, then the push is retried), closed by one sync read so every
 *    request has been consumed; requests per second;
 *  - DM CPU time per 1000 ioreqs of each workload.
 * The guest is libxl's argv without a display (std VGA arrives with the
 * display issue; the VGA-window workload joins then).
 * Each DM runs ROUNDS times, alternating, and the median is reported; with
 * more than one DM the ratios to the first (qemu-xen) are printed too.
 *
 * Usage: ioreq-latency [--rounds N] [--pio N] [--buffered N] [DM ...]
 *   DM: "qemu" (Debian's qemu-xen, $QEMU_XEN) or a path to xendm; default:
 *   qemu and ./xendm (or $XENDM).
 */
#include "config.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/common.h"
#include "tests/common/dm.h"

#define MAX_DMS    4
#define MAX_ROUNDS 15

struct result {
    double ready_ms, rss_kb, pss_kb;
    double pio_p50_us, pio_p99_us, pio_cpu_us_per_k;
    double buf_per_s, buf_cpu_us_per_k;
};

static gboolean start_dm(const char *dm, struct dm_run *run, double *ready_ms)
{
    static const char *const args[] = {
        "-no-shutdown", "-no-user-config",          "-vnc", "none", "-serial", "null",
        "-machine",     "xenfv,suppress-vmdesc=on", NULL};
    double t0 = bench_now_ns();
    if (!bench_dm_start("ioreq-latency", dm, args, run))
        return FALSE;
    /* dm_start includes the QMP handshake; readiness is what libxl waits for */
    *ready_ms = (bench_now_ns() - t0) / 1e6;
    return TRUE;
}

static int run_once(const char *dm, unsigned n_pio, unsigned n_buf, struct result *r)
{
    struct dm_run run;
    if (!start_dm(dm, &run, &r->ready_ms))
        return -1;
    xsim *x = run.x;
    struct xsim_stats st0, st1;
    xsim_stats(x, &st0);
    r->rss_kb = (double)st0.dm_rss_kb;
    bench_proc_mem(xsim_dm_pid(x), NULL, &r->pss_kb);

    /* sync PIO */
    double *lat = malloc(sizeof(double) * n_pio);
    for (unsigned i = 0; i < 1000; i++) /* warm-up */
        guest_inw(0x10);
    xsim_stats(x, &st0);
    for (unsigned i = 0; i < n_pio; i++) {
        double t = bench_now_ns();
        uint16_t v = guest_inw(0x10);
        lat[i] = bench_now_ns() - t;
        if (v != 0x49d2) {
            fprintf(stderr, "ioreq-latency: %s answered %#x for the platform magic: %s\n", dm, v,
                    xsim_dm_diag(x));
            free(lat);
            dm_stop(&run);
            return -1;
        }
    }
    xsim_stats(x, &st1);
    bench_sort(lat, n_pio);
    r->pio_p50_us = lat[n_pio / 2] / 1e3;
    r->pio_p99_us = lat[(size_t)((double)n_pio * 0.99)] / 1e3;
    r->pio_cpu_us_per_k = (double)(st1.dm_cpu_ns - st0.dm_cpu_ns) / 1e3 / ((double)n_pio / 1000.0);
    free(lat);

    /* buffered TIMEOFFSET requests, closed by a sync read */
    xsim_stats(x, &st0);
    double t = bench_now_ns();
    for (unsigned i = 0; i < n_buf; i++)
        while (xsim_send_timeoffset(x, i) < 0 && !xsim_error(x))
            guest_inw(0x10); /* ring full: a sync request makes the DM drain it */
    guest_inw(0x10);
    double secs = (bench_now_ns() - t) / 1e9;
    xsim_stats(x, &st1);
    r->buf_per_s = (double)n_buf / secs;
    r->buf_cpu_us_per_k = (double)(st1.dm_cpu_ns - st0.dm_cpu_ns) / 1e3 / ((double)n_buf / 1000.0);
    int rc = xsim_error(x) ? -1 : 0;
    if (rc)
        fprintf(stderr, "ioreq-latency: %s\n", xsim_dm_diag(x));
    dm_stop(&run);
    return rc;
}

#define FIELD(name) offsetof(struct result, name)
static const struct {
    const char *label;
    size_t off;
    int lower_is_better;
} rows[] = {
    {"start to ready (ms)", FIELD(ready_ms), 1},
    {"RSS after start (KiB)", FIELD(rss_kb), 1},
    {"PSS after start (KiB)", FIELD(pss_kb), 1},
    {"sync PIO round trip p50 (us)", FIELD(pio_p50_us), 1},
    {"sync PIO round trip p99 (us)", FIELD(pio_p99_us), 1},
    {"DM CPU per 1000 sync PIO (us)", FIELD(pio_cpu_us_per_k), 1},
    {"buffered requests (per s)", FIELD(buf_per_s), 0},
    {"DM CPU per 1000 buffered (us)", FIELD(buf_cpu_us_per_k), 1},
};

int main(int argc, char **argv)
{
    unsigned rounds = 5, n_pio = 20000, n_buf = 100000;
    static const struct option opts[] = {{"rounds", 1, 0, 'r'},
                                         {"pio", 1, 0, 'p'},
                                         {"buffered", 1, 0, 'b'},
                                         {"help", 0, 0, 'h'},
                                         {0}};
    int o;
    while ((o = getopt_long(argc, argv, "r:p:b:h", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            rounds = (unsigned)atoi(optarg);
            break;
        case 'p':
            n_pio = (unsigned)atoi(optarg);
            break;
        case 'b':
            n_buf = (unsigned)atoi(optarg);
            break;
        default:
            printf("Usage: %s [--rounds N] [--pio N] [--buffered N] [qemu|PATH-TO-XENDM ...]\n",
                   argv[0]);
            return o == 'h' ? 0 : 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n_pio < 100 || n_buf < 1) {
        fprintf(stderr, "ioreq-latency: rounds 1-%d, pio >= 100, buffered >= 1\n", MAX_ROUNDS);
        return 2;
    }
    const char *dms[MAX_DMS];
    unsigned ndm = bench_dm_list(argc, argv, optind, dms, MAX_DMS);
    static struct result res[MAX_DMS][MAX_ROUNDS];
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned d = 0; d < ndm; d++)
            if (run_once(dms[d], n_pio, n_buf, &res[d][r]) < 0)
                return 1;

    printf("ioreq-latency: %u rounds (median), %u sync PIO reads, %u buffered writes, %ld CPUs\n",
           rounds, n_pio, n_buf, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-32s", "");
    for (unsigned d = 0; d < ndm; d++)
        printf(" %14s", bench_dm_name(dms[d]));
    if (ndm > 1)
        printf("   ratio (%s / qemu-xen)", "xendm");
    printf("\n");
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
        double med[MAX_DMS];
        for (unsigned d = 0; d < ndm; d++)
            med[d] = bench_median_at(res[d], sizeof(res[d][0]), rounds, rows[k].off);
        bench_row(rows[k].label, 32, med, ndm, 14, 1);
    }
    return 0;
}
