/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the SPICE tests on xensim (test-spice.c,
 * test-spice-viewer.c): running real client programs with a deadline and
 * stopping them by PID, spicy-screenshot captures, and a std-VGA guest that
 * draws in a 32 bpp Bochs VBE mode while keeping the picture it expects a
 * client to show.
 */
#ifndef TESTS_XENSIM_TEST_SPICE_UTIL_H
#define TESTS_XENSIM_TEST_SPICE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "tests/common/dm.h"
#include "tests/common/image.h"
#include "tests/common/vga-guest.h"

/* Upper bound for one client run (spicy-screenshot takes 0.1-0.3 s). */
#define SPICE_CLIENT_TIMEOUT_MS 20000
/* Upper bound for the screen a client sees to become what the guest drew. */
#define SPICE_SCREEN_TIMEOUT_MS 30000
#define SPICE_QMP_TIMEOUT_MS    10000

/* The program at path, or g_error() naming the Debian package. */
void sutil_need(const char *path, const char *package);

/* Start argv with envp (NULL: inherit) and stdout/stderr appended to log
 * (NULL: /dev/null).  The child dies with the test (PR_SET_PDEATHSIG). */
pid_t sutil_spawn(char **argv, char **envp, const char *log);
/* Wait for pid to exit within timeout_ms: TRUE and *status, or FALSE. */
bool sutil_wait(pid_t pid, int timeout_ms, int *status);
/* SIGTERM, up to 3 s, then SIGKILL; reaped. */
void sutil_stop(pid_t pid);

/* A temporary directory for this test program (removed by sutil_cleanup). */
const char *sutil_tmpdir(void);
void sutil_cleanup(void);

/*
 * One spicy-screenshot capture of 127.0.0.1:port (password may be NULL):
 * the primary surface it received, or NULL when it wrote nothing (refused,
 * no display).  The client must end within SPICE_CLIENT_TIMEOUT_MS.
 */
struct image *sutil_shot(int port, const char *password);
/* Capture until the picture equals want; asserts within
 * SPICE_SCREEN_TIMEOUT_MS.  Returns the number of captures taken. */
unsigned sutil_wait_shot(int port, const char *password, const struct image *want,
                         const char *what);
/* The dirty-VRAM fetches the DM makes in the next ms milliseconds (each
 * one pauses the domain on real Xen): 0 means no refresh work at all. */
uint64_t sutil_dirty_fetches(xsim *x, unsigned ms);
/* A message about how got differs from want (g_free). */
char *sutil_diff(const struct image *got, const struct image *want);

/* The guest: std VGA in a w x h x 32 Bochs VBE mode. */
struct sguest {
    struct vga_guest g;
    unsigned w, h;
    uint32_t *fb;       /* the linear framebuffer, guest stores */
    struct image *want; /* what a client must show */
};
/* PCI setup, set the mode, draw vga_guest_picture(seed). */
void sguest_start(struct sguest *s, xsim *x, unsigned w, unsigned h, unsigned seed);
void sguest_mode(struct sguest *s, unsigned w, unsigned h, unsigned seed);
void sguest_fill(struct sguest *s, unsigned x, unsigned y, unsigned w, unsigned h, uint32_t rgb);
void sguest_free(struct sguest *s);

/* QMP helpers: the reply (json_node_unref) or g_error. */
JsonNode *sutil_qmp(struct qmp *q, const char *cmd, const char *args_json);
/* The command must fail; its "<class>: <desc>" message (g_free). */
char *sutil_qmp_error(struct qmp *q, const char *cmd, const char *args_json);
/* An integer member of x-xendm-query-spice-stats. */
gint64 sutil_stat(struct qmp *q, const char *name);

/* The test fails if the file contains needle. */
void sutil_assert_not_in_file(const char *path, const char *needle);

#endif
