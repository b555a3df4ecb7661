/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of common/uuid.c: the UUID forms mdevctl 1.2.0 takes, the canonical form, generation. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "uuid.h"

/* Every row was tried as `mdevctl define -p 0000:41:00.0 -t nvidia-256 -u <input>` against mdevctl 1.2.0:
 * accepted rows show the file name it created, rejected rows exited 2 ("error: Invalid value ... for
 * '--uuid <UUID>'"). */
static const struct {
        const char *input;
        const char *canonical; /* NULL: mdevctl rejected it */
} uuid_forms[] = {
        {"11111111-2222-3333-4444-555555555555", "11111111-2222-3333-4444-555555555555"},
        {"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"AaAaAaAa-bBbB-cccc-dddd-eeeeeeeeeeee", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"aaaaaaaabbbbccccddddeeeeeeeeeeee", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"AAAAAAAABBBBCCCCDDDDEEEEEEEEEEEE", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"urn:uuid:AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
        {"URN:UUID:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"Urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"urn:uuid:aaaaaaaabbbbccccddddeeeeeeeeeeee", NULL},
        {"urn:uuid:{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}", NULL},
        {"urn:uuid:", NULL},
        {"{aaaaaaaabbbbccccddddeeeeeeeeeeee}", NULL},
        {"{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}", NULL},
        {"aaaaaaaa-bbbbcccc-dddd-eeeeeeeeeeee", NULL},
        {"aaaaaaaabbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"aaaaaaaa--bbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeee-eee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee-", NULL},
        {"aaaaaaaabbbbccccddddeeeeeeeeeeee-", NULL},
        {" aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee ", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeee", NULL},
        {"aaaaaaaa_bbbb_cccc_dddd_eeeeeeeeeeee", NULL},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeee\303\251", NULL},
        {"+aaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", NULL},
        {"", NULL},
};

static void test_parse_forms(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(uuid_forms); i++) {
                char out[VGPU_UUID_STRING_MAX] = "untouched";
                int r = vgpu_uuid_parse(uuid_forms[i].input, out);

                g_test_message("input \"%s\"", uuid_forms[i].input);
                if (uuid_forms[i].canonical) {
                        g_assert_cmpint(r, ==, 0);
                        g_assert_cmpstr(out, ==, uuid_forms[i].canonical);
                        g_assert_true(vgpu_uuid_is_canonical(out));
                } else {
                        g_assert_cmpint(r, ==, -EINVAL);
                        g_assert_cmpstr(out, ==, "untouched");
                }
        }
        g_assert_cmpint(vgpu_uuid_parse(NULL, (char[VGPU_UUID_STRING_MAX]){0}), ==, -EINVAL);
}

/* Every single-character change of a valid UUID into a non-hex character must be refused. */
static void test_parse_every_position(void)
{
        const char *good = "0123abcd-ef01-2345-6789-abcdefABCDEF";

        for (size_t i = 0; i < strlen(good); i++) {
                for (const char *bad = "g-_ {}:\377"; *bad; bad++) {
                        char s[64], out[VGPU_UUID_STRING_MAX];

                        strcpy(s, good);
                        if (s[i] == *bad)
                                continue;
                        s[i] = *bad;
                        g_assert_cmpint(vgpu_uuid_parse(s, out), ==, -EINVAL);
                }
        }
}

static void test_canonical(void)
{
        g_assert_true(vgpu_uuid_is_canonical("0123abcd-ef01-2345-6789-abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical("0123ABCD-ef01-2345-6789-abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical("0123abcdef0123456789abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical("{0123abcd-ef01-2345-6789-abcdefabcdef}"));
        g_assert_false(vgpu_uuid_is_canonical("urn:uuid:0123abcd-ef01-2345-6789-abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical("0123abcd-ef01-2345-6789-abcdefabcdef0"));
        g_assert_false(vgpu_uuid_is_canonical("0123abcd-ef01-2345-6789-abcdefabcde"));
        g_assert_false(vgpu_uuid_is_canonical("0123abcd0ef01-2345-6789-abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical("0123abcg-ef01-2345-6789-abcdefabcdef"));
        g_assert_false(vgpu_uuid_is_canonical(""));
        g_assert_false(vgpu_uuid_is_canonical(NULL));
}

static void test_generate(void)
{
        char a[VGPU_UUID_STRING_MAX], b[VGPU_UUID_STRING_MAX], again[VGPU_UUID_STRING_MAX];

        g_assert_cmpint(vgpu_uuid_generate(a), ==, 0);
        g_assert_cmpint(vgpu_uuid_generate(b), ==, 0);
        g_assert_true(vgpu_uuid_is_canonical(a));
        g_assert_true(vgpu_uuid_is_canonical(b));
        g_assert_cmpstr(a, !=, b);
        /* version 4, RFC 4122 variant */
        g_assert_cmpint(a[14], ==, '4');
        g_assert_nonnull(strchr("89ab", a[19]));
        g_assert_cmpint(vgpu_uuid_parse(a, again), ==, 0);
        g_assert_cmpstr(again, ==, a);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/uuid/parse-forms", test_parse_forms);
        g_test_add_func("/uuid/parse-every-position", test_parse_every_position);
        g_test_add_func("/uuid/canonical", test_canonical);
        g_test_add_func("/uuid/generate", test_generate);
        return g_test_run();
}
