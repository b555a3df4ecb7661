/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/config.c: vgpud.conf's groups and keys, defaults, and what it refuses. */

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "vgpud-config.h"

static int load(VgpudConfig *c, const char *text, char **why)
{
        return config_load_data(c, text, strlen(text), "test.conf", why);
}

static void test_defaults(void)
{
        VgpudConfig c = {};
        g_autofree char *why = NULL;

        g_assert_cmpint(load(&c, "", &why), ==, 0);
        g_assert_null(why);
        g_assert_null(c.layout_file);
        g_assert_null(c.layout_config);
        g_assert_cmpstr(c.layout_owner, ==, VGPUD_LAYOUT_OWNER_DEFAULT);
        g_assert_cmpuint(c.layout_retry_sec, ==, VGPUD_LAYOUT_RETRY_SEC_DEFAULT);
        g_assert_cmpstr(c.users_libvirt_run_dir, ==, "/run/libvirt/qemu");
        g_assert_cmpuint(c.users_scan_interval_sec, ==, 30);
        g_assert_true(c.storage_intent_log);
        config_done(&c);
        g_assert_null(c.layout_owner);
}

static void test_storage(void)
{
        VgpudConfig c = {};
        g_autofree char *why = NULL;

        g_assert_cmpint(load(&c, "[Storage]\nIntentLog=false\n", &why), ==, 0);
        g_assert_false(c.storage_intent_log);
        config_done(&c);
        g_assert_cmpint(load(&c, "[Storage]\nIntentLog=sometimes\n", &why), <, 0);
        g_assert_nonnull(why);
        config_done(&c);
}

static void test_users(void)
{
        VgpudConfig c = {};
        g_autofree char *why = NULL;

        g_assert_cmpint(load(&c, "[Users]\nLibvirtRunDirectory=/tmp/libvirt\nScanIntervalSec=0\n", &why), ==,
                        0);
        g_assert_null(why);
        g_assert_cmpstr(c.users_libvirt_run_dir, ==, "/tmp/libvirt");
        g_assert_cmpuint(c.users_scan_interval_sec, ==, 0);
        config_done(&c);
        g_assert_cmpint(load(&c, "[Users]\nLibvirtRunDirectory=run/libvirt\n", &why), <, 0);
        g_assert_nonnull(strstr(why, "not an absolute path"));
        config_done(&c);
}

static void test_layout(void)
{
        VgpudConfig c = {};
        g_autofree char *why = NULL;

        g_assert_cmpint(load(&c,
                             "# a comment\n[Layout]\nFile=/etc/vgpud/layouts.yaml\nConfig=A16-2Q\n"
                             "Owner=kubevirt\nRetrySec=0\n",
                             &why),
                        ==, 0);
        g_assert_null(why);
        g_assert_cmpstr(c.layout_file, ==, "/etc/vgpud/layouts.yaml");
        g_assert_cmpstr(c.layout_config, ==, "A16-2Q");
        g_assert_cmpstr(c.layout_owner, ==, "kubevirt");
        g_assert_cmpuint(c.layout_retry_sec, ==, 0);
        config_done(&c);
}

/* Each bad file is refused with a message naming what is wrong, and leaves the defaults. */
static void test_refused(void)
{
        static const struct {
                const char *text, *why;
        } cases[] = {
                {"[Layouts]\nFile=/x\n", "unknown group [Layouts]"},
                {"[Layout]\nFile=/x\nConfig=a\nColor=red\n", "unknown key Color in [Layout]"},
                {"[Layout]\nFile=x.yaml\nConfig=a\n", "[Layout] File: 'x.yaml' is not an absolute path"},
                {"[Layout]\nFile=\nConfig=a\n", "[Layout] File: the value is empty"},
                {"[Layout]\nFile=/x.yaml\n", "[Layout] needs both File and Config"},
                {"[Layout]\nFile=/x\nConfig=a\nRetrySec=-1\n",
                 "[Layout] RetrySec: the value is not a decimal number"},
                {"[Layout]\nFile=/x\nConfig=a\nRetrySec=5s\n",
                 "[Layout] RetrySec: the value is not a decimal number"},
                {"[Layout]\nConfig=a\n", "[Layout] needs both File and Config"},
                {"[Layout]\nFile[de]=/x\nConfig=a\n",
                 "test.conf:2: localized keys are not supported: File[de]"},
                {"File=/x\n", "test.conf: "},
                {"[Layout\n", "test.conf: "},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                VgpudConfig c = {};
                g_autofree char *why = NULL;

                g_test_message("case %zu: %s", i, cases[i].text);
                g_assert_cmpint(load(&c, cases[i].text, &why), ==, -EINVAL);
                g_assert_nonnull(why);
                g_test_message("why: %s", why);
                g_assert_nonnull(strstr(why, cases[i].why));
                g_assert_true(g_str_has_prefix(why, "test.conf"));
                g_assert_null(c.layout_file);
                g_assert_null(c.layout_config);
                g_assert_cmpstr(c.layout_owner, ==, VGPUD_LAYOUT_OWNER_DEFAULT);
                config_done(&c);
        }
}

static void test_files(void)
{
        g_autoptr(GError) err = NULL;
        g_autofree char *dir = g_dir_make_tmp("test-config.XXXXXX", &err);
        g_autofree char *path = g_build_filename(dir, "vgpud.conf", NULL);
        g_autofree char *why = NULL;
        VgpudConfig c = {};

        g_assert_no_error(err);
        /* a path given explicitly must exist */
        g_assert_cmpint(config_load(&c, path, &why), ==, -ENOENT);
        g_assert_nonnull(strstr(why, path));
        g_clear_pointer(&why, g_free);
        g_assert_cmpstr(c.layout_owner, ==, VGPUD_LAYOUT_OWNER_DEFAULT);

        g_assert_true(g_file_set_contents(path, "[Layout]\nFile=/l.yaml\nConfig=x\n", -1, NULL));
        g_assert_cmpint(config_load(&c, path, &why), ==, 0);
        g_assert_cmpstr(c.layout_config, ==, "x");
        /* loading again replaces, it does not merge */
        g_assert_true(g_file_set_contents(path, "\n", -1, NULL));
        g_assert_cmpint(config_load(&c, path, &why), ==, 0);
        g_assert_null(c.layout_config);
        config_done(&c);
        g_unlink(path);
        g_rmdir(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/config/defaults", test_defaults);
        g_test_add_func("/config/layout", test_layout);
        g_test_add_func("/config/users", test_users);
        g_test_add_func("/config/storage", test_storage);
        g_test_add_func("/config/refused", test_refused);
        g_test_add_func("/config/files", test_files);
        return g_test_run();
}
