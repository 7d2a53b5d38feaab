/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Wiping secrets before their memory is freed (src/secret.h).
 * explicit_bzero() is not removed by the optimizer as a memset() before
 * free() may be.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "src/secret.h"

void secret_wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}

void secret_free(char *s)
{
    secret_wipe(s);
    g_free(s);
}
