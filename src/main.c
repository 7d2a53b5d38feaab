/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendm entry point.
 *
 * This tree so far carries the build, the simulated Xen (tests/xensim) and
 * the measurements of qemu-xen on it.  The device model itself (command
 * line, QMP, the ioreq loop, devices) arrives with the core issue; until then
 * the binary answers --help and --version and refuses to run a guest, with a
 * message that says so, rather than pretending to.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "Usage: xendm [qemu-style options as libxl passes them]\n"
               "\n"
               "xendm is a Xen HVM device model, started by libxl in place of qemu-xen\n"
               "(device_model_override in an xl config).\n"
               "\n"
               "  --help       show this text\n"
               "  --version    show the version\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-version")) {
            printf("xendm version %s\n", PACKAGE_VERSION);
            return 0;
        }
    }
    fprintf(stderr, "xendm: running a guest is not supported yet in this build\n");
    return 1;
}
