/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PNG pictures (what gvnccapture writes) into tests/common/image.h's
 * struct image, through gdk-pixbuf.  Separate from image.c so that only the
 * tests that read PNGs link gdk-pixbuf.
 */
#ifndef TESTS_COMMON_IMAGE_PNG_H
#define TESTS_COMMON_IMAGE_PNG_H

#include "tests/common/image.h"

/* The picture at path; the test fails if it cannot be read. */
struct image *image_load_png(const char *path);

#endif
