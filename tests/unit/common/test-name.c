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

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/name/valid", test_valid);
        g_test_add_func("/name/invalid", test_invalid);
        g_test_add_func("/name/quote", test_quote);
        return g_test_run();
}
