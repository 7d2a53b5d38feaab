/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for the SPICE tests on xensim; see test-spice-util.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/xensim/test-spice-util.h"

static char *tmpdir;

const char *sutil_tmpdir(void)
{
    if (!tmpdir) {
        GError *err = NULL;
        tmpdir = g_dir_make_tmp("xendm-spice-XXXXXX", &err);
        g_assert_no_error(err);
    }
    return tmpdir;
}

static void rm_rf(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return;
    const char *n;
    while ((n = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            rm_rf(p);
        else
            g_unlink(p);
        g_free(p);
    }
    g_dir_close(d);
    g_rmdir(dir);
}

void sutil_cleanup(void)
{
    if (tmpdir)
        rm_rf(tmpdir);
    g_free(tmpdir);
    tmpdir = NULL;
}

void sutil_need(const char *path, const char *package)
{
    if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
        g_error("%s is missing: install the Debian package %s (scripts/install-deps)", path,
                package);
}

/* ------------------------------------------------------------ processes --- */

static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t sutil_spawn(char **argv, char **envp, const char *log)
{
    int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    g_assert_cmpint(fd, >=, 0);
    GPid pid = 0;
    GError *err = NULL;
    gboolean ok = g_spawn_async_with_fds(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
                                         NULL, &pid, -1, fd, fd, &err);
    close(fd);
    if (!ok)
        g_error("cannot start %s: %s", argv[0], err->message);
    return pid;
}

bool sutil_wait(pid_t pid, int timeout_ms, int *status)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (status)
                *status = st;
            return true;
        }
        if (r < 0 && errno != EINTR)
            return false;
        if (g_get_monotonic_time() >= deadline)
            return false;
        g_usleep(5000); /* polling the child's exit, bounded by the deadline */
    }
}

void sutil_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    if (!sutil_wait(pid, 3000, NULL)) {
        kill(pid, SIGKILL);
        sutil_wait(pid, 3000, NULL);
    }
}

/* -------------------------------------------------------------- captures --- */

struct image *sutil_shot(int port, const char *password)
{
    sutil_need("/usr/bin/spicy-screenshot", "spice-client-gtk");
    char *out = g_build_filename(sutil_tmpdir(), "shot.ppm", NULL);
    char *log = g_build_filename(sutil_tmpdir(), "spicy-screenshot.log", NULL);
    char *portarg = g_strdup_printf("%d", port);
    g_unlink(out);
    char *argv[] = {"/usr/bin/spicy-screenshot",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    portarg,
                    "-o",
                    out,
                    password ? "-w" : NULL,
                    (char *)password,
                    NULL};
    pid_t pid = sutil_spawn(argv, NULL, log);
    int status = 0;
    if (!sutil_wait(pid, SPICE_CLIENT_TIMEOUT_MS, &status)) {
        sutil_stop(pid);
        g_error("spicy-screenshot on port %d did not finish within %d ms", port,
                SPICE_CLIENT_TIMEOUT_MS);
    }
    struct image *img = NULL;
    if (g_file_test(out, G_FILE_TEST_EXISTS)) {
        GError *err = NULL;
        img = image_load_ppm(out, &err);
        g_assert_no_error(err);
    }
    g_free(out);
    g_free(log);
    g_free(portarg);
    return img;
}

char *sutil_diff(const struct image *got, const struct image *want)
{
    if (!got)
        return g_strdup("no picture");
    unsigned fx = 0, fy = 0;
    long d = image_compare(got, want, &fx, &fy);
    if (d < 0)
        return g_strdup_printf("%ux%u, expected %ux%u", got->w, got->h, want->w, want->h);
    if (d == 0)
        return g_strdup("same");
    return g_strdup_printf("%ld pixels differ, first at %u,%u: %06x, expected %06x", d, fx, fy,
                           image_get_pixel(got, fx, fy), image_get_pixel(want, fx, fy));
}

unsigned sutil_wait_shot(int port, const char *password, const struct image *want, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SPICE_SCREEN_TIMEOUT_MS * 1000;
    unsigned n = 0;
    for (;;) {
        struct image *got = sutil_shot(port, password);
        n++;
        bool same = got && image_compare(got, want, NULL, NULL) == 0;
        if (same) {
            image_free(got);
            return n;
        }
        if (g_get_monotonic_time() >= deadline) {
            char *d = sutil_diff(got, want);
            char *keep = g_build_filename(sutil_tmpdir(), "..", "xendm-spice-last-got.ppm", NULL);
            if (got)
                image_save_ppm(got, keep, NULL);
            g_error(
                "%s: after %u captures in %d ms the SPICE client still shows something else: %s",
                what, n, SPICE_SCREEN_TIMEOUT_MS, d);
        }
        image_free(got);
    }
}

/* ----------------------------------------------------------------- guest --- */

void sguest_mode(struct sguest *s, unsigned w, unsigned h, unsigned seed)
{
    g_assert_true(vga_guest_vbe_set_mode(w, h, 32));
    s->w = w;
    s->h = h;
    s->fb = vga_guest_lfb_ptr(&s->g, (size_t)w * h * 4);
    g_assert_nonnull(s->fb);
    image_free(s->want);
    s->want = image_new(w, h);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            uint32_t p = vga_guest_picture(x, y, w, h, seed);
            s->fb[y * w + x] = p;
            image_set_pixel(s->want, x, y, p);
        }
}

void sguest_start(struct sguest *s, xsim *x, unsigned w, unsigned h, unsigned seed)
{
    memset(s, 0, sizeof(*s));
    GError *err = NULL;
    if (!vga_guest_boot(&s->g, x, FALSE, &err))
        g_error("%s", err->message);
    vga_guest_unblank(); /* what the VGA BIOS's mode set does: show the picture */
    sguest_mode(s, w, h, seed);
}

void sguest_fill(struct sguest *s, unsigned x, unsigned y, unsigned w, unsigned h, uint32_t rgb)
{
    g_assert_cmpuint(x + w, <=, s->w);
    g_assert_cmpuint(y + h, <=, s->h);
    for (unsigned j = y; j < y + h; j++)
        for (unsigned i = x; i < x + w; i++)
            s->fb[j * s->w + i] = rgb;
    image_fill_rect(s->want, x, y, w, h, rgb);
}

void sguest_free(struct sguest *s)
{
    image_free(s->want);
    s->want = NULL;
}

/* ------------------------------------------------------------------- QMP --- */

static JsonNode *args_of(const char *json)
{
    if (!json)
        return NULL;
    GError *err = NULL;
    JsonNode *n = json_from_string(json, &err);
    g_assert_no_error(err);
    return n;
}

JsonNode *sutil_qmp(struct qmp *q, const char *cmd, const char *args_json)
{
    GError *err = NULL;
    JsonNode *r = qmp_execute(q, cmd, args_of(args_json), SPICE_QMP_TIMEOUT_MS, &err);
    if (!r)
        g_error("QMP %s %s: %s", cmd, args_json ? args_json : "", err->message);
    return r;
}

char *sutil_qmp_error(struct qmp *q, const char *cmd, const char *args_json)
{
    GError *err = NULL;
    JsonNode *r = qmp_execute(q, cmd, args_of(args_json), SPICE_QMP_TIMEOUT_MS, &err);
    if (r)
        g_error("QMP %s %s succeeded; an error was expected", cmd, args_json ? args_json : "");
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND);
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

gint64 sutil_stat(struct qmp *q, const char *name)
{
    JsonNode *r = sutil_qmp(q, "x-xendm-query-spice-stats", NULL);
    JsonObject *o = json_node_get_object(r);
    g_assert_true(json_object_has_member(o, name));
    gint64 v = json_object_get_int_member(o, name);
    json_node_unref(r);
    return v;
}

void sutil_assert_not_in_file(const char *path, const char *needle)
{
    char *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, &len, &err))
        g_error("%s: %s", path, err->message);
    if (memmem(text, len, needle, strlen(needle)))
        g_error("%s contains \"%s\"", path, needle);
    g_free(text);
}

uint64_t sutil_dirty_fetches(xsim *x, unsigned ms)
{
    struct xsim_stats st;
    xsim_stats_reset(x);
    g_usleep((gulong)ms * 1000);
    xsim_stats(x, &st);
    return st.dirty_vram;
}
