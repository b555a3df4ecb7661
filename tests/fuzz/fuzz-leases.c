/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the leases key file (daemon/leases.c) as a crash or an admin may leave it. */

#include <stdint.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "leases.h"
#include "name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autofree char *path = NULL, *warning = NULL;
        g_autoptr(Leases) l = NULL;
        g_autoptr(GDir) d = NULL;
        const char *name;

        if (!dir)
                dir = g_dir_make_tmp("fuzz-leases.XXXXXX", NULL);
        g_assert_nonnull(dir);
        path = g_build_filename(dir, LEASES_FILE, NULL);
        g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)size, NULL));
        if (leases_load(dir, &l, &warning) >= 0) {
                g_autoptr(GPtrArray) all = leases_list(l, NULL);

                for (guint i = 0; i < all->len; i++) {
                        const Lease *x = all->pdata[i];

                        if (!name_is_valid_owner(x->owner) || leases_get(l, x->uuid) != x)
                                __builtin_trap(); /* only valid leases are taken */
                }
        }
        /* leases_load keeps a copy of what it could not read: do not let them pile up */
        d = g_dir_open(dir, 0, NULL);
        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL);
                (void)g_unlink(p);
        }
        return 0;
}
