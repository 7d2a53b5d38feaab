/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A device model that fails must fail the test quickly and say why —
 * never hang it.  Checked with programs that crash, exit, never become
 * ready, and with qemu-xen killed or frozen in the middle of a guest's
 * session: every wait returns within its bound, and xsim_dm_diag() carries
 * the exit status (or signal) and the tail of the DM's output.
 */
#include "config.h"

#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/common/dm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static xsim *create(unsigned timeout_ms)
{
    struct xsim_config cfg = {.access_timeout_ms = timeout_ms};
    xsim *x = xsim_create(&cfg);
    g_assert_nonnull(x);
    return x;
}

static void test_crash_before_ready(void)
{
    xsim *x = create(0);
    char *argv[] = {"/bin/sh", "-c", "echo 'fatal: cannot map the ioreq page' >&2; kill -SEGV $$", NULL};
    g_assert_cmpint(xsim_spawn_dm(x, argv, NULL), >, 0);
    double t0 = now_s();
    g_assert_cmpint(xsim_wait_dm_ready(x, 20000), ==, -1);
    g_assert_cmpfloat(now_s() - t0, <, 10.0); /* noticed at exit, not at the timeout */
    const char *diag = xsim_dm_diag(x);
    g_test_message("%s", diag);
    g_assert_nonnull(strstr(diag, "killed by signal 11"));
    g_assert_nonnull(strstr(diag, "fatal: cannot map the ioreq page"));
    xsim_destroy(x);
}

static void test_exit_status(void)
{
    xsim *x = create(0);
    char *argv[] = {"/bin/sh", "-c", "echo 'xendm: -vga cirrus: not supported yet' >&2; exit 3", NULL};
    g_assert_cmpint(xsim_spawn_dm(x, argv, NULL), >, 0);
    g_assert_cmpint(xsim_wait_dm_ready(x, 20000), ==, -1);
    int status = 0;
    g_assert_cmpint(xsim_wait_dm_exit(x, 1000, &status), ==, 0);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 3);
    const char *diag = xsim_dm_diag(x);
    g_assert_nonnull(strstr(diag, "exited with status 3"));
    g_assert_nonnull(strstr(diag, "not supported yet"));
    xsim_destroy(x);
}

static void test_missing_program(void)
{
    xsim *x = create(0);
    char *argv[] = {"/nonexistent/xendm", NULL};
    g_assert_cmpint(xsim_spawn_dm(x, argv, NULL), >, 0);
    g_assert_cmpint(xsim_wait_dm_ready(x, 20000), ==, -1);
    const char *diag = xsim_dm_diag(x);
    g_assert_nonnull(strstr(diag, "exited with status 127"));
    g_assert_nonnull(strstr(diag, "cannot execute /nonexistent/xendm"));
    xsim_destroy(x);
}

static void test_never_ready(void)
{
    xsim *x = create(0);
    char *argv[] = {"/bin/sh", "-c", "echo 'waiting for godot'; exec sleep 60", NULL};
    pid_t pid = xsim_spawn_dm(x, argv, NULL);
    g_assert_cmpint(pid, >, 0);
    double t0 = now_s();
    g_assert_cmpint(xsim_wait_dm_ready(x, 1000), ==, -1);
    double waited = now_s() - t0;
    g_assert_cmpfloat(waited, >=, 0.9);
    g_assert_cmpfloat(waited, <, 10.0);
    const char *diag = xsim_dm_diag(x);
    g_assert_nonnull(strstr(diag, "still running"));
    g_assert_nonnull(strstr(diag, "waiting for godot"));
    /* stopping it works and reaps it: the pid is gone afterwards */
    int status = xsim_stop_dm(x, 5000);
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(kill(pid, 0), ==, -1);
    xsim_destroy(x);
}

static void start_qemu(struct dm_run *run, unsigned timeout_ms)
{
    static const char *const args[] = {"-vga", "std", "-serial", "null", "-parallel", "null", NULL};
    struct xsim_config cfg = {.access_timeout_ms = timeout_ms};
    GError *err = NULL;
    if (!dm_start_qemu(run, &cfg, args, &err))
        g_error("%s", err->message);
    guest_outw(0x1ce, 0);
    g_assert_cmphex(guest_inw(0x1cf), ==, 0xb0c5);
    g_assert_null(xsim_error(run->x));
}

static void test_dm_killed_mid_session(void)
{
    struct dm_run run;
    start_qemu(&run, 20000);
    kill(xsim_dm_pid(run.x), SIGKILL);
    double t0 = now_s();
    uint16_t v = guest_inw(0x1cf); /* the vCPU must not wait 20 s for a dead DM */
    g_assert_cmpfloat(now_s() - t0, <, 10.0);
    g_assert_cmphex(v, ==, 0xffff);
    g_assert_nonnull(xsim_error(run.x));
    g_assert_nonnull(strstr(xsim_error(run.x), "DM exited"));
    int status;
    g_assert_cmpint(xsim_wait_dm_exit(run.x, 5000, &status), ==, 0);
    g_assert_nonnull(strstr(xsim_dm_diag(run.x), "killed by signal 9"));
    dm_stop(&run);
}

static void test_dm_frozen(void)
{
    struct dm_run run;
    start_qemu(&run, 1000);
    pid_t pid = xsim_dm_pid(run.x);
    kill(pid, SIGSTOP);
    double t0 = now_s();
    uint16_t v = guest_inw(0x1cf);
    double waited = now_s() - t0;
    kill(pid, SIGCONT);
    g_assert_cmpfloat(waited, >=, 0.9);
    g_assert_cmpfloat(waited, <, 10.0);
    g_assert_cmphex(v, ==, 0xffff);
    g_assert_nonnull(strstr(xsim_error(run.x), "timed out"));
    dm_stop(&run);
}

/* Xen goes away under a running xendm: it notices and exits, instead of
 * spinning on a dead event channel. */
static void test_hypervisor_gone(void)
{
    const char *xendm = g_getenv("XENDM");
    if (!xendm)
        g_error("XENDM is not set: run through make check");
    struct dm_run run;
    static const char *const args[] = {"-vnc", "none", NULL};
    struct xsim_config cfg = {.ram_mb = 128};
    GError *err = NULL;
    if (!dm_start(&run, xendm, &cfg, args, &err))
        g_error("%s", err->message);
    g_assert_cmphex(guest_inw(0x10), ==, 0x49d2);
    xsim_sever_dm(run.x);
    int status;
    double t0 = now_s();
    g_assert_cmpint(xsim_wait_dm_exit(run.x, 10000, &status), ==, 0);
    g_assert_cmpfloat(now_s() - t0, <, 10.0);
    g_assert_true(WIFEXITED(status));
    g_assert_nonnull(strstr(xsim_dm_diag(run.x), "event channel lost"));
    dm_stop(&run);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dm-failure/crash-before-ready", test_crash_before_ready);
    g_test_add_func("/dm-failure/exit-status", test_exit_status);
    g_test_add_func("/dm-failure/missing-program", test_missing_program);
    g_test_add_func("/dm-failure/never-ready", test_never_ready);
    g_test_add_func("/dm-failure/qemu-killed-mid-session", test_dm_killed_mid_session);
    g_test_add_func("/dm-failure/qemu-frozen", test_dm_frozen);
    g_test_add_func("/dm-failure/xendm-hypervisor-gone", test_hypervisor_gone);
    return g_test_run();
}
