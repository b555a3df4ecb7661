/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/errors.c: the one table, read both ways. */

#include <errno.h>
#include <glib.h>

#include "errors.h"
#include "macro.h"

/* Every name the daemon sends comes back to the client as the errno it was sent for. */
static void test_round_trip(void)
{
        static const int codes[] = {ENOENT, EINVAL,    EEXIST,  ENOSPC, EXDEV,  EREMOTEIO,
                                    EBUSY,  ETIMEDOUT, EBADMSG, EROFS,  EACCES, EIO};

        g_assert_cmpint(sd_bus_error_add_map(vgpud_error_map), >=, 0);
        for (gsize i = 0; i < G_N_ELEMENTS(codes); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                const char *name = vgpud_error_name_from_errno(-codes[i]);

                g_assert_nonnull(name);
                sd_bus_error_set(&e, name, "x");
                g_assert_cmpint(sd_bus_error_get_errno(&e), ==, codes[i]);
        }
}

static void test_names(void)
{
        g_assert_cmpstr(vgpud_error_name_from_errno(-ENOENT), ==, VGPUD_ERROR_NOT_FOUND);
        g_assert_cmpstr(vgpud_error_name_from_errno(ENODEV), ==, VGPUD_ERROR_NOT_FOUND);
        g_assert_cmpstr(vgpud_error_name_from_errno(-ENXIO), ==, VGPUD_ERROR_NOT_FOUND);
        g_assert_cmpstr(vgpud_error_name_from_errno(-EPERM), ==, SD_BUS_ERROR_ACCESS_DENIED);
        g_assert_cmpstr(vgpud_error_name_from_errno(-ENOSPC), ==, VGPUD_ERROR_NO_CAPACITY);
        g_assert_cmpstr(vgpud_error_name_from_errno(-EREMOTEIO), ==, VGPUD_ERROR_DRIVER_REFUSED);
        g_assert_cmpstr(vgpud_error_name_from_errno(-EIO), ==, VGPUD_ERROR_IO);
        g_assert_cmpstr(vgpud_error_name_from_errno(-EOPNOTSUPP), ==, VGPUD_ERROR_NOT_SUPPORTED);
        /* anything not in the table */
        g_assert_cmpstr(vgpud_error_name_from_errno(-ENOMEM), ==, VGPUD_ERROR_FAILED);
        g_assert_cmpstr(vgpud_error_name_from_errno(0), ==, VGPUD_ERROR_FAILED);
}

static void test_bus_error_set(void)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        g_assert_cmpint(vgpud_bus_error_set(&e, -EBUSY, "in use: %d", 7), ==, -EBUSY);
        g_assert_cmpstr(e.name, ==, VGPUD_ERROR_BUSY);
        g_assert_cmpstr(e.message, ==, "in use: 7");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/errors/round-trip", test_round_trip);
        g_test_add_func("/errors/names", test_names);
        g_test_add_func("/errors/bus-error-set", test_bus_error_set);
        return g_test_run();
}
