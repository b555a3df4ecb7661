/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of common/uuid.c: the UUID forms mdevctl 1.2.0 takes, the canonical form, generation, name-based
 * UUIDs. */

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

/* Expected values computed with Python when the test was written:
 *     uuid.uuid5(uuid.UUID("6e2bd084-7f2e-4b10-8b10-d69b5f000240"), "<vm uuid>/<slot>") */
static const struct {
        const char *vm_uuid;
        uint32_t slot;
        const char *expected;
} derive_vectors[] = {
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 0, "a47e3645-026d-5f58-aa8b-8c65fc0a968b"},
        {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 1, "80a4c92b-e1f5-5009-96c5-b62583c11eb1"},
        {"00000000-0000-0000-0000-000000000100", UINT32_MAX, "d91b61e1-03e0-5ec1-8a2c-29e47aed1e77"},
        {"5f9a1c3e-2b7d-4e8a-9c41-0d6e3b2a7f18", 7, "fcce8322-aedf-5701-9841-69a0df9100c4"},
};

static void test_derive_vectors(void)
{
        g_assert_cmpstr(VGPU_UUID_NAMESPACE, ==, "6e2bd084-7f2e-4b10-8b10-d69b5f000240");
        for (size_t i = 0; i < G_N_ELEMENTS(derive_vectors); i++) {
                char out[VGPU_UUID_STRING_MAX];

                g_assert_cmpint(vgpu_uuid_derive(derive_vectors[i].vm_uuid, derive_vectors[i].slot, out), ==,
                                0);
                g_assert_cmpstr(out, ==, derive_vectors[i].expected);
                g_assert_true(vgpu_uuid_is_canonical(out));
                g_assert_cmpint(out[14], ==, '5');
                g_assert_nonnull(strchr("89ab", out[19]));
        }
}

/* Every form vgpu_uuid_parse() accepts names the same VM. */
static void test_derive_forms(void)
{
        const char *forms[] = {
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
                "aaaaaaaabbbbccccddddeeeeeeeeeeee",
                "AAAAAAAABBBBCCCCDDDDEEEEEEEEEEEE",
                "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "{AAAAAAAA-bbbb-CCCC-dddd-EEEEEEEEEEEE}",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
                char out[VGPU_UUID_STRING_MAX];

                g_test_message("form \"%s\"", forms[i]);
                g_assert_cmpint(vgpu_uuid_derive(forms[i], 1, out), ==, 0);
                g_assert_cmpstr(out, ==, "80a4c92b-e1f5-5009-96c5-b62583c11eb1");
        }
}

/* Different slots, and different VMs, give different UUIDs; the same input always the same. */
static void test_derive_distinct(void)
{
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        const char *vms[] = {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeef"};

        for (size_t v = 0; v < G_N_ELEMENTS(vms); v++)
                for (uint32_t slot = 0; slot < 64; slot++) {
                        char out[VGPU_UUID_STRING_MAX], again[VGPU_UUID_STRING_MAX];

                        g_assert_cmpint(vgpu_uuid_derive(vms[v], slot, out), ==, 0);
                        g_assert_cmpint(vgpu_uuid_derive(vms[v], slot, again), ==, 0);
                        g_assert_cmpstr(out, ==, again);
                        g_assert_cmpstr(out, !=, vms[v]);
                        g_assert_true(g_hash_table_add(seen, g_strdup(out)));
                }
        g_assert_cmpuint(g_hash_table_size(seen), ==, 2 * 64);
}

static void test_derive_bad(void)
{
        const char *bad[] = {
                "",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg",
                " aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/1",
                "URN:UUID:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "100",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                char out[VGPU_UUID_STRING_MAX] = "untouched";

                g_test_message("input \"%s\"", bad[i]);
                g_assert_cmpint(vgpu_uuid_derive(bad[i], 0, out), ==, -EINVAL);
                g_assert_cmpstr(out, ==, "untouched");
        }
        g_assert_cmpint(vgpu_uuid_derive(NULL, 0, (char[VGPU_UUID_STRING_MAX]){0}), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/uuid/parse-forms", test_parse_forms);
        g_test_add_func("/uuid/parse-every-position", test_parse_every_position);
        g_test_add_func("/uuid/canonical", test_canonical);
        g_test_add_func("/uuid/generate", test_generate);
        g_test_add_func("/uuid/derive-vectors", test_derive_vectors);
        g_test_add_func("/uuid/derive-forms", test_derive_forms);
        g_test_add_func("/uuid/derive-distinct", test_derive_distinct);
        g_test_add_func("/uuid/derive-bad", test_derive_bad);
        return g_test_run();
}
