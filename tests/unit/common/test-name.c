/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/name.c: the one rule for names in paths and output lines. */

#include <string.h>
#include <glib.h>

#include "name.h"

static void test_valid(void)
{
        g_autofree char *longest = g_strnfill(NAME_LEN_MAX, 'x');
        static const char *const good[] = {"0000:41:00.0", "nvidia-231", "i915-GVTg_V5_4", "mtty",
                                           "0.0.0026",     "a.b",        "Grüße",          "x-"};

        for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
                g_assert_true(name_is_valid(good[i]));
        g_assert_true(name_is_valid(longest));
}

static void test_invalid(void)
{
        g_autofree char *too_long = g_strnfill(NAME_LEN_MAX + 1, 'x');
        static const char *const bad[] = {"",     " ",     "a b",      "a\nb",    "a\tb", "-rf",
                                          ".",    "..",    ".hidden",  "a/b",     "/",    "\x1b[31m",
                                          "\x7f", "a\xff", "\xc3\x28", "a\u00a0b"};

        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
                g_assert_false(name_is_valid(bad[i]));
        g_assert_false(name_is_valid(NULL));
        g_assert_false(name_is_valid(too_long));
}

/* Owners: the hooks' formats, a libvirt domain name with spaces (libvirt refuses only '\n' and '/'),
 * and nothing else that would split a line or a field. */
static void test_owner(void)
{
        const char *valid[] = {"libvirt:web1", "libvirt:my web vm", "proxmox:100",
                               "layout",       "test:a b ",         "proxmox:100 [vm] =x; \\ \xc3\xbc"};
        const char *invalid[] = {"",         " libvirt:x",  "libvirt:a\tb", "libvirt:a\nb",
                                 "a\u2028b", "libvirt:a/b", "-rf",          ".x",
                                 "\xff\xfe", "a\x7f"};
        g_autofree char *longest = g_strnfill(NAME_LEN_MAX, 'x'),
                        *too_long = g_strnfill(NAME_LEN_MAX + 1, 'x');

        for (size_t i = 0; i < G_N_ELEMENTS(valid); i++)
                g_assert_true(name_is_valid_owner(valid[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++)
                g_assert_false(name_is_valid_owner(invalid[i]));
        g_assert_false(name_is_valid_owner(NULL));
        g_assert_true(name_is_valid_owner(longest));
        g_assert_false(name_is_valid_owner(too_long));
        g_assert_false(name_is_valid("libvirt:my web vm")); /* the space is the owners' only exception */
}

static void test_quote(void)
{
        g_autofree char *huge = g_strnfill(1 << 20, 'p');
        g_autofree char *q1 = name_quote("a\nb");
        g_autofree char *q2 = name_quote(huge);
        g_autofree char *q3 = name_quote(NULL);

        g_assert_cmpstr(q1, ==, "\"a\\nb\"");
        g_assert_cmpuint(strlen(q2), ==, NAME_QUOTE_MAX + 2 + 3);
        g_assert_true(g_str_has_suffix(q2, "...\""));
        g_assert_cmpstr(q3, ==, "\"\"");
}

/* A name read from a file is shown as one field of one line: itself when valid, else an escaped form
 * that passes the rule. */
static void test_shown(void)
{
        const char *bad[] = {"nvidia-231\n0000:00:00.0 forged manual",
                             "a b",
                             "x/y",
                             ".hidden",
                             "-rf",
                             "tab\there",
                             "",
                             "del\x7f"};
        g_autofree char *long_name = g_strnfill(NAME_LEN_MAX + 1, 'n');
        g_autofree char *same = name_shown("nvidia-231");
        g_autofree char *forged = name_shown(bad[0]);
        g_autofree char *spaced = name_shown("a b");

        g_assert_cmpstr(same, ==, "nvidia-231");
        g_assert_cmpstr(forged, ==, "nvidia-231\\n0000:00:00.0\\x20forged\\x20manual");
        g_assert_cmpstr(spaced, ==, "a\\x20b");
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *s = name_shown(bad[i]);

                g_assert_false(name_is_valid(bad[i]));
                g_assert_true(name_is_valid(s));
        }
        {
                g_autofree char *s = name_shown(long_name);

                g_assert_true(name_is_valid(s));
                g_assert_true(g_str_has_suffix(s, "..."));
        }
        {
                /* every byte escaped to four characters: still within the length limit (found by
                 * fuzz-sysfs-values) */
                g_autofree char *high = g_strnfill(NAME_QUOTE_MAX + 8, '\xff');
                g_autofree char *s = name_shown(high);

                g_assert_true(name_is_valid(s));
                g_assert_cmpuint(strlen(s), ==, NAME_LEN_MAX);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/name/valid", test_valid);
        g_test_add_func("/name/invalid", test_invalid);
        g_test_add_func("/name/owner", test_owner);
        g_test_add_func("/name/quote", test_quote);
        g_test_add_func("/name/shown", test_shown);
        return g_test_run();
}
