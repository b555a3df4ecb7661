/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of common/json-writer.c: the bytes of serde_json's to_string_pretty()/to_string() produced by
 * streaming calls. types_dumpjson is what mdevctl 1.2.0 printed; the other expectations follow
 * serde_json's PrettyFormatter/CompactFormatter rules. This test
 * links only vgpud_common_base_dep: the writer must not need json-glib. */

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "json-writer.h"

/* `mdevctl types --dumpjson` (1.2.0): odd name, multi-line description, empty name, no description
 * (the same text as in test-json-out.c, without println's final newline). */
static const char types_dumpjson[] =
        "[\n"
        "  {\n"
        "    \"0000:41:00.0\": [\n"
        "      {\n"
        "        \"nvidia-256\": {\n"
        "          \"available_instances\": 4,\n"
        "          \"device_api\": \"vfio-pci\",\n"
        "          \"name\": \"a\\\"b\\\\c\\td\\u0001\177/\303\251\360\237\230\200\",\n"
        "          \"description\": \"l1, l2\"\n"
        "        }\n"
        "      },\n"
        "      {\n"
        "        \"nvidia-36\": {\n"
        "          \"available_instances\": 4,\n"
        "          \"device_api\": \"vfio-pci\"\n"
        "        }\n"
        "      }\n"
        "    ],\n"
        "    \"0000:42:00.0\": [\n"
        "      {\n"
        "        \"nvidia-256\": {\n"
        "          \"available_instances\": 4,\n"
        "          \"device_api\": \"vfio-pci\",\n"
        "          \"name\": \"GRID nvidia-256\",\n"
        "          \"description\": \"num_heads=4, frl_config=60\"\n"
        "        }\n"
        "      },\n"
        "      {\n"
        "        \"nvidia-36\": {\n"
        "          \"available_instances\": 4,\n"
        "          \"device_api\": \"vfio-pci\",\n"
        "          \"name\": \"GRID nvidia-36\",\n"
        "          \"description\": \"num_heads=4, frl_config=60\"\n"
        "        }\n"
        "      }\n"
        "    ]\n"
        "  }\n"
        "]";

static void write_type(JsonWriter *w, const char *id, const char *name, const char *description)
{
        json_writer_begin_object(w);
        json_writer_key(w, id);
        json_writer_begin_object(w);
        json_writer_key(w, "available_instances");
        json_writer_int(w, 4);
        json_writer_key(w, "device_api");
        json_writer_string(w, "vfio-pci");
        if (name) {
                json_writer_key(w, "name");
                json_writer_string(w, name);
        }
        if (description) {
                json_writer_key(w, "description");
                json_writer_string(w, description);
        }
        json_writer_end_object(w);
        json_writer_end_object(w);
}

static void write_types(JsonWriter *w)
{
        json_writer_begin_array(w);
        json_writer_begin_object(w);
        json_writer_key(w, "0000:41:00.0");
        json_writer_begin_array(w);
        write_type(w, "nvidia-256", "a\"b\\c\td\001\177/\303\251\360\237\230\200", "l1, l2");
        write_type(w, "nvidia-36", NULL, NULL);
        json_writer_end_array(w);
        json_writer_key(w, "0000:42:00.0");
        json_writer_begin_array(w);
        write_type(w, "nvidia-256", "GRID nvidia-256", "num_heads=4, frl_config=60");
        write_type(w, "nvidia-36", "GRID nvidia-36", "num_heads=4, frl_config=60");
        json_writer_end_array(w);
        json_writer_end_object(w);
        json_writer_end_array(w);
}

static void test_pretty_types(void)
{
        g_autoptr(GString) out = g_string_new("prefix:");
        JsonWriter w;

        json_writer_init(&w, out, true);
        write_types(&w);
        g_assert_true(g_str_has_prefix(out->str, "prefix:"));
        g_assert_cmpstr(out->str + strlen("prefix:"), ==, types_dumpjson);
}

/* The same through serde_json::to_string(). */
static void test_compact_types(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        JsonWriter w;

        json_writer_init(&w, out, false);
        write_types(&w);
        g_assert_cmpstr(
                out->str, ==,
                "[{\"0000:41:00.0\":[{\"nvidia-256\":{\"available_instances\":4,\"device_api\":"
                "\"vfio-pci\",\"name\":\"a\\\"b\\\\c\\td\\u0001\177/\303\251\360\237\230\200\","
                "\"description\":\"l1, l2\"}},{\"nvidia-36\":{\"available_instances\":4,\"device_api\":"
                "\"vfio-pci\"}}],\"0000:42:00.0\":[{\"nvidia-256\":{\"available_instances\":4,"
                "\"device_api\":\"vfio-pci\",\"name\":\"GRID nvidia-256\",\"description\":"
                "\"num_heads=4, frl_config=60\"}},{\"nvidia-36\":{\"available_instances\":4,"
                "\"device_api\":\"vfio-pci\",\"name\":\"GRID nvidia-36\",\"description\":"
                "\"num_heads=4, frl_config=60\"}}]}]");
}

/* The shape of `mdevctl list -u <uuid> --dumpjson` (1.2.0): a bare object (test-json-out.c holds the
 * oracle's text with more attributes). */
static void test_pretty_single_definition(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        JsonWriter w;

        json_writer_init(&w, out, true);
        json_writer_begin_object(&w);
        json_writer_key(&w, "mdev_type");
        json_writer_string(&w, "nvidia-36");
        json_writer_key(&w, "start");
        json_writer_string(&w, "auto");
        json_writer_key(&w, "attrs");
        json_writer_begin_array(&w);
        json_writer_begin_object(&w);
        json_writer_key(&w, "n");
        json_writer_string(&w, "1");
        json_writer_end_object(&w);
        json_writer_end_array(&w);
        json_writer_end_object(&w);
        g_assert_cmpstr(out->str, ==,
                        "{\n"
                        "  \"mdev_type\": \"nvidia-36\",\n"
                        "  \"start\": \"auto\",\n"
                        "  \"attrs\": [\n"
                        "    {\n"
                        "      \"n\": \"1\"\n"
                        "    }\n"
                        "  ]\n"
                        "}");
}

/* Empty containers print as [] and {} wherever they are; scalars at the top level stand alone. */
static void test_empty_and_scalars(void)
{
        static const struct {
                bool pretty;
                int shape;
                const char *expected;
        } cases[] = {
                {true, 0, "[]"},
                {false, 0, "[]"},
                {true, 1, "{}"},
                {true, 2, "[\n  [],\n  {},\n  null\n]"},
                {false, 2, "[[],{},null]"},
                {true, 3, "{\n  \"a\": {},\n  \"b\": [\n    true,\n    false\n  ]\n}"},
                {false, 3, "{\"a\":{},\"b\":[true,false]}"},
                {true, 4, "\"x\""},
                {true, 5, "-7"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(GString) out = g_string_new(NULL);
                JsonWriter w;

                json_writer_init(&w, out, cases[i].pretty);
                switch (cases[i].shape) {
                case 0:
                        json_writer_begin_array(&w);
                        json_writer_end_array(&w);
                        break;
                case 1:
                        json_writer_begin_object(&w);
                        json_writer_end_object(&w);
                        break;
                case 2:
                        json_writer_begin_array(&w);
                        json_writer_begin_array(&w);
                        json_writer_end_array(&w);
                        json_writer_begin_object(&w);
                        json_writer_end_object(&w);
                        json_writer_null(&w);
                        json_writer_end_array(&w);
                        break;
                case 3:
                        json_writer_begin_object(&w);
                        json_writer_key(&w, "a");
                        json_writer_begin_object(&w);
                        json_writer_end_object(&w);
                        json_writer_key(&w, "b");
                        json_writer_begin_array(&w);
                        json_writer_bool(&w, true);
                        json_writer_bool(&w, false);
                        json_writer_end_array(&w);
                        json_writer_end_object(&w);
                        break;
                case 4: json_writer_string(&w, "x"); break;
                case 5: json_writer_int(&w, -7); break;
                }
                g_assert_cmpstr(out->str, ==, cases[i].expected);
        }
}

static void test_integers(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        JsonWriter w;

        json_writer_init(&w, out, false);
        json_writer_begin_array(&w);
        json_writer_int(&w, 0);
        json_writer_int(&w, -1);
        json_writer_int(&w, INT64_MAX);
        json_writer_int(&w, INT64_MIN);
        json_writer_uint(&w, UINT64_MAX);
        json_writer_int(&w, 1000);
        json_writer_end_array(&w);
        g_assert_cmpstr(out->str, ==,
                        "[0,-1,9223372036854775807,-9223372036854775808,18446744073709551615,1000]");
}

/* serde_json's escaping, in keys as in values. */
static void test_escaping(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        JsonWriter w;

        json_writer_init(&w, out, false);
        json_writer_begin_object(&w);
        json_writer_key(&w, "odd\"\\key\t\303\274");
        json_writer_string(&w, "q\"b\\s\tt\nn\001\037\177/\303\251\342\202\254\360\237\230\200\b\f\r");
        json_writer_key(&w, "");
        json_writer_string(&w, "");
        json_writer_end_object(&w);
        g_assert_cmpstr(out->str, ==,
                        "{\"odd\\\"\\\\key\\t\303\274\":\"q\\\"b\\\\s\\tt\\nn\\u0001\\u001f\177/\303\251"
                        "\342\202\254\360\237\230\200\\b\\f\\r\",\"\":\"\"}");

        g_string_truncate(out, 0);
        json_writer_append_escaped(out, "plain text, no escapes");
        g_assert_cmpstr(out->str, ==, "\"plain text, no escapes\"");
        g_string_truncate(out, 0);
        json_writer_append_escaped(out, "\"");
        g_assert_cmpstr(out->str, ==, "\"\\\"\"");
}

/* serde_json (ryu) floats. */
static void test_doubles(void)
{
        static const struct {
                double v;
                const char *expected;
        } cases[] = {
                {1.0, "1.0"},         {-0.0, "-0.0"},       {0.0, "0.0"},   {0.1, "0.1"},
                {1.5e-5, "0.000015"}, {1e-7, "1e-7"},       {1e16, "1e16"}, {1e15, "1000000000000000.0"},
                {123.456, "123.456"}, {2.5e300, "2.5e300"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(GString) out = g_string_new(NULL);
                JsonWriter w;

                json_writer_init(&w, out, true);
                json_writer_double(&w, cases[i].v);
                g_assert_cmpstr(out->str, ==, cases[i].expected);
        }
}

/* A deep but legal nesting closes with the right indents. */
static void test_deep_nesting(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GString) expected = g_string_new(NULL);
        JsonWriter w;
        const unsigned depth = JSON_WRITER_MAX_DEPTH;

        json_writer_init(&w, out, true);
        for (unsigned i = 0; i < depth; i++)
                json_writer_begin_array(&w);
        json_writer_int(&w, 1);
        for (unsigned i = 0; i < depth; i++)
                json_writer_end_array(&w);

        for (unsigned i = 0; i < depth; i++) {
                g_string_append_c(expected, '[');
                g_string_append_c(expected, '\n');
                for (unsigned k = 0; k <= i; k++)
                        g_string_append(expected, "  ");
        }
        g_string_append_c(expected, '1');
        for (unsigned i = depth; i > 0; i--) {
                g_string_append_c(expected, '\n');
                for (unsigned k = 0; k + 1 < i; k++)
                        g_string_append(expected, "  ");
                g_string_append_c(expected, ']');
        }
        g_assert_cmpstr(out->str, ==, expected->str);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/json-writer/pretty-types", test_pretty_types);
        g_test_add_func("/json-writer/compact-types", test_compact_types);
        g_test_add_func("/json-writer/pretty-single-definition", test_pretty_single_definition);
        g_test_add_func("/json-writer/empty-and-scalars", test_empty_and_scalars);
        g_test_add_func("/json-writer/integers", test_integers);
        g_test_add_func("/json-writer/escaping", test_escaping);
        g_test_add_func("/json-writer/doubles", test_doubles);
        g_test_add_func("/json-writer/deep-nesting", test_deep_nesting);
        return g_test_run();
}
