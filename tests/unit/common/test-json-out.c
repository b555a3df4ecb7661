/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of common/json-out.c: mdevctl 1.2.0's JSON bytes reproduced from json-glib trees, and the strict
 * syntax check giving serde_json's errors. All expected texts below are what mdevctl 1.2.0 printed or
 * wrote (the comment above each says which command), unless a comment says otherwise. */

#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "json-out.h"

/* `mdevctl list -d --dumpjson` (1.2.0): two parents, attribute names and values with quotes, backslashes,
 * tab, newline, control characters, DEL, slash and non-ASCII, set with `mdevctl modify --addattr`. */
static const char list_d_dumpjson[] =
        "[\n"
        "  {\n"
        "    \"0000:41:00.0\": [\n"
        "      {\n"
        "        \"aaaaaaaa-0000-0000-0000-000000000001\": {\n"
        "          \"mdev_type\": \"nvidia-256\",\n"
        "          \"start\": \"auto\",\n"
        "          \"attrs\": [\n"
        "            {\n"
        "              \"plain\": \"x\"\n"
        "            },\n"
        "            {\n"
        "              \"odd\\\"\\\\key\\t\303\274\": \"q\\\"b\\\\s\\tt\\nn\\u0001\\u001f\177/\303\251"
        "\342\202\254\360\237\230\200\\b\\f\\r\"\n"
        "            },\n"
        "            {\n"
        "              \"empty\": \"\"\n"
        "            }\n"
        "          ]\n"
        "        }\n"
        "      }\n"
        "    ],\n"
        "    \"0000:42:00.0\": [\n"
        "      {\n"
        "        \"cccccccc-0000-0000-0000-000000000003\": {\n"
        "          \"mdev_type\": \"nvidia-36\",\n"
        "          \"start\": \"manual\",\n"
        "          \"attrs\": []\n"
        "        }\n"
        "      }\n"
        "    ]\n"
        "  }\n"
        "]\n";
/* `mdevctl list --dumpjson` (1.2.0) on the same tree: running devices. */
static const char list_dumpjson[] = "[\n"
                                    "  {\n"
                                    "    \"0000:42:00.0\": [\n"
                                    "      {\n"
                                    "        \"bbbbbbbb-0000-0000-0000-000000000002\": {\n"
                                    "          \"mdev_type\": \"nvidia-36\",\n"
                                    "          \"start\": \"manual\",\n"
                                    "          \"attrs\": []\n"
                                    "        }\n"
                                    "      }\n"
                                    "    ]\n"
                                    "  }\n"
                                    "]\n";
/* `mdevctl list -d -u aaaaaaaa-0000-0000-0000-000000000001 --dumpjson` (1.2.0): the bare object. */
static const char list_u_dumpjson[] =
        "{\n"
        "  \"mdev_type\": \"nvidia-256\",\n"
        "  \"start\": \"auto\",\n"
        "  \"attrs\": [\n"
        "    {\n"
        "      \"plain\": \"x\"\n"
        "    },\n"
        "    {\n"
        "      \"odd\\\"\\\\key\\t\303\274\": \"q\\\"b\\\\s\\tt\\nn\\u0001\\u001f\177/\303\251\342\202"
        "\254\360\237\230\200\\b\\f\\r\"\n"
        "    },\n"
        "    {\n"
        "      \"empty\": \"\"\n"
        "    }\n"
        "  ]\n"
        "}\n";
/* `mdevctl types --dumpjson` (1.2.0): odd name, multi-line description, empty name, no description. */
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
        "]\n";
/* What mdevctl 1.2.0 writes to a callout's stdin (serde_json::to_string) for `modify --manual`. */
static const char callout_stdin0[] =
        "{\"mdev_type\":\"nvidia-256\",\"start\":\"manual\",\"attrs\":[{\"plain\":\"x\"},{\"odd\\\"\\"
        "\\key\\t\303\274\":\"q\\\"b\\\\s\\tt\\nn\\u0001\\u001f\177/\303\251\342\202\254\360\237\230"
        "\200\\b\\f\\r\"},{\"empty\":\"\"}]}";

/* (text, serde_json's error as mdevctl 1.2.0 printed it for a definition file holding the text, NULL when it
 * accepted it). Produced by `mdevctl list -d -u UUID --dumpjson` reading /etc/mdevctl.d/PARENT/UUID; the
 * "x" member of a valid definition carries the fragment under test. */
static const struct {
        const char *text;
        size_t len;
        const char *error;
} oracle_checks[] = {
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1}", 38, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-0}", 39, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":0.5}", 40, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1e5}", 40, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1E+5}", 41, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-1.5e-3}", 44, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1e-400}", 43, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":999999999999999999999999999999}", 67, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", 55, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\u00e9\\ud83d\\ude00\"}", 57, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\177\303\251\"}", 42, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[]}", 39, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{}}", 39, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[1,[2,{\"a\":null}],true,false]}", 66, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":01}", 39, "invalid number at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-01}", 40, "invalid number at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-}", 38, "invalid number at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-x}", 39, "invalid number at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1.}", 39, "invalid number at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1.x}", 40, "invalid number at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1e}", 39, "invalid number at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1e+}", 40, "invalid number at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1ex}", 40, "invalid number at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":.5}", 39, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":+1}", 39, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":0x10}", 41,
         "expected `,` or `}` at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1e400}", 42,
         "number out of range at line 1 column 41"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":-1e400}", 43,
         "number out of range at line 1 column 42"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":tru}", 40, "expected ident at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":trux}", 41, "expected ident at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":nul}", 40, "expected ident at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":True}", 41, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":NaN}", 40, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":'a'}", 40, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"a\tb\"}", 42,
         "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"a\001\"}", 41,
         "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\x\"}", 41, "invalid escape at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\u12\"}", 43,
         "invalid escape at line 1 column 42"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\uZZZZ\"}", 45,
         "invalid escape at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\ud83d\"}", 45,
         "unexpected end of hex escape at line 1 column 44"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\ud83d\\u0041\"}", 51,
         "lone leading surrogate in hex escape at line 1 column 49"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\ud83d\\x\"}", 47,
         "unexpected end of hex escape at line 1 column 45"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\udc00\"}", 45,
         "lone leading surrogate in hex escape at line 1 column 43"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"\\ud83d}", 44,
         "unexpected end of hex escape at line 1 column 44"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":\"abc}", 41,
         "EOF while parsing a string at line 1 column 41"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[}", 38, "expected value at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[1}", 39, "expected `,` or `]` at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[1,}", 40, "expected value at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[1,]}", 41, "trailing comma at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[1 2]}", 42,
         "expected `,` or `]` at line 1 column 40"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[,]}", 40, "expected value at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{}", 38,
         "EOF while parsing an object at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\"}", 41, "expected `:` at line 1 column 41"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\":}", 42, "expected value at line 1 column 42"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\":1,}", 44,
         "trailing comma at line 1 column 44"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\":1,}}", 45,
         "trailing comma at line 1 column 44"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\" 1}}", 44, "expected `:` at line 1 column 42"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{\"a\":1 \"b\":2}}", 50,
         "expected `,` or `}` at line 1 column 44"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{1:2}}", 42,
         "key must be a string at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":{,}}", 40,
         "key must be a string at line 1 column 38"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":}", 37, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":/*c*/1}", 43, "expected value at line 1 column 37"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":1}x}", 40,
         "trailing characters at line 1 column 39"},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
         289, NULL},
        {"{\"mdev_type\":\"t\",\"start\":\"auto\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
         291, "recursion limit exceeded at line 1 column 163"},
        {"", 0, "EOF while parsing a value at line 1 column 0"},
        {" ", 1, "EOF while parsing a value at line 1 column 1"},
        {"\n"
         "\n"
         " ",
         3, "EOF while parsing a value at line 3 column 1"},
        {"\357\273\277{}", 5, "expected value at line 1 column 1"},
        {"{} {}", 5, "trailing characters at line 1 column 4"},
        {"{}\n"
         "\t\015 ",
         6, NULL},
        {"{}x", 3, "trailing characters at line 1 column 3"},
        {"\377", 1, "stream did not contain valid UTF-8"},
        {"{\"a\":\"\300\200\"}", 10, "stream did not contain valid UTF-8"},
        {"{\"a\":\"\355\240\200\"}", 11, "stream did not contain valid UTF-8"},
        {"\000", 1, "expected value at line 1 column 1"},
        {"{\"a\":\"\000\"}", 9,
         "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 7"},
        {"{\n"
         "\"a\":\n"
         "\n"
         "  }",
         11, "expected value at line 4 column 3"},
        {"[\n"
         "1,\n"
         "]",
         6, "trailing comma at line 3 column 1"},
        {"{\"a\":1}\n"
         "/",
         9, "trailing characters at line 2 column 1"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]",
         256, "recursion limit exceeded at line 1 column 128"},
};

static JsonNode *parse(const char *text, size_t len)
{
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(json_check_strict(text, len, NULL), ==, 0);
        g_assert_true(json_parser_load_from_data(p, text, (gssize)len, &error));
        g_assert_no_error(error);
        return json_node_copy(json_parser_get_root(p));
}

/* mdevctl prints its --dumpjson output with a newline; the printer itself adds none. */
static void assert_pretty_reprint(const char *printed)
{
        size_t len = strlen(printed);
        g_autoptr(JsonNode) node = NULL;
        g_autoptr(GString) out = g_string_new(NULL);

        g_assert_cmpint(len, >, 0);
        g_assert_cmpint(printed[len - 1], ==, '\n');
        node = parse(printed, len);
        json_out_pretty(out, node);
        g_string_append_c(out, '\n');
        g_assert_cmpstr(out->str, ==, printed);
}

static void test_pretty_mdevctl_outputs(void)
{
        assert_pretty_reprint(list_d_dumpjson);
        assert_pretty_reprint(list_dumpjson);
        assert_pretty_reprint(list_u_dumpjson);
        assert_pretty_reprint(types_dumpjson);
}

static void test_compact_callout_stdin(void)
{
        g_autoptr(JsonNode) node = parse(callout_stdin0, strlen(callout_stdin0));
        g_autoptr(GString) out = g_string_new(NULL);

        json_out_compact(out, node);
        g_assert_cmpstr(out->str, ==, callout_stdin0);
}

/* The escaping of every control character, quote, backslash, DEL, '/' and non-ASCII text: the value
 * mdevctl 1.2.0 wrote for `mdevctl modify --addattr k --value "S<bytes 1..31>E"` (and the DEL, slash,
 * UTF-8 line of `list --dumpjson` above). */
static void test_string_escaping(void)
{
        g_autoptr(GString) out = g_string_new(NULL);
        char in[64];
        size_t n = 0;

        in[n++] = 'S';
        for (int ch = 1; ch < 32; ch++)
                in[n++] = (char)ch;
        in[n++] = 'E';
        in[n] = '\0';
        json_out_string(out, in);
        g_assert_cmpstr(
                out->str, ==,
                "\"S\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e"
                "\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
                "\\u001b\\u001c\\u001d\\u001e\\u001fE\"");

        g_string_truncate(out, 0);
        json_out_string(out, "q\"b\\s\177/\303\251\342\202\254\360\237\230\200");
        g_assert_cmpstr(out->str, ==, "\"q\\\"b\\\\s\177/\303\251\342\202\254\360\237\230\200\"");

        g_string_truncate(out, 0);
        json_out_string(out, "");
        g_assert_cmpstr(out->str, ==, "\"\"");
}

/* Containers and scalars built by hand. Empty containers: `"attrs": []` in every mdevctl output above;
 * serde_json prints an empty object as {} the same way. */
static void test_builder_shapes(void)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;
        g_autoptr(GString) out = g_string_new(NULL);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "z");
        json_builder_begin_array(b);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "a");
        json_builder_begin_object(b);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "n");
        json_builder_begin_array(b);
        json_builder_add_int_value(b, 0);
        json_builder_add_int_value(b, -42);
        json_builder_add_int_value(b, G_MAXINT64);
        json_builder_add_boolean_value(b, TRUE);
        json_builder_add_boolean_value(b, FALSE);
        json_builder_add_null_value(b);
        json_builder_begin_array(b);
        json_builder_begin_array(b);
        json_builder_end_array(b);
        json_builder_end_array(b);
        json_builder_end_array(b);
        json_builder_end_object(b);
        root = json_builder_get_root(b);

        json_out_pretty(out, root);
        g_assert_cmpstr(out->str, ==,
                        "{\n"
                        "  \"z\": [],\n"
                        "  \"a\": {},\n"
                        "  \"n\": [\n"
                        "    0,\n"
                        "    -42,\n"
                        "    9223372036854775807,\n"
                        "    true,\n"
                        "    false,\n"
                        "    null,\n"
                        "    [\n"
                        "      []\n"
                        "    ]\n"
                        "  ]\n"
                        "}");
        g_string_truncate(out, 0);
        json_out_compact(out, root);
        g_assert_cmpstr(out->str, ==,
                        "{\"z\":[],\"a\":{},\"n\":[0,-42,9223372036854775807,true,false,null,[[]]]}");

        g_string_truncate(out, 0);
        json_out_pretty(out, NULL);
        g_assert_cmpstr(out->str, ==, "null");
}

/* Doubles never appear in mdevctl's output; these follow serde_json's float format (the ryu crate):
 * shortest round-trip digits, ".0" on integral values, exponent form below 1e-5 and from 1e16 on. */
static void test_doubles(void)
{
        static const struct {
                double v;
                const char *text;
        } cases[] = {
                {0.0, "0.0"},
                {-0.0, "-0.0"},
                {1.0, "1.0"},
                {0.1, "0.1"},
                {-2.5, "-2.5"},
                {1e15, "1000000000000000.0"},
                {1e16, "1e16"},
                {1.5e16, "1.5e16"},
                {123456.789, "123456.789"},
                {0.001, "0.001"},
                {1e-5, "0.00001"},
                {1.25e-6, "1.25e-6"},
                {1e-7, "1e-7"},
                {1e300, "1e300"},
                {5e-324, "5e-324"},
                {1.7976931348623157e308, "1.7976931348623157e308"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(JsonNode) node = json_node_init_double(json_node_alloc(), cases[i].v);
                g_autoptr(GString) out = g_string_new(NULL);

                json_out_compact(out, node);
                g_assert_cmpstr(out->str, ==, cases[i].text);
        }

        g_autoptr(JsonNode) inf = json_node_init_double(json_node_alloc(), INFINITY);
        g_autoptr(GString) out = g_string_new(NULL);
        json_out_compact(out, inf);
        g_assert_cmpstr(out->str, ==, "null");
}

static void test_strict_oracle(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(oracle_checks); i++) {
                g_autofree char *error = NULL;
                int r = json_check_strict(oracle_checks[i].text, oracle_checks[i].len, &error);

                if (oracle_checks[i].error) {
                        g_assert_cmpint(r, ==, -EINVAL);
                        g_assert_cmpstr(error, ==, oracle_checks[i].error);
                } else {
                        g_assert_cmpint(r, ==, 0);
                        g_assert_null(error);
                }
        }
}

/* The one place the check refuses what serde_json takes: json-glib cuts strings at "\u0000". */
static void test_strict_nul_escape(void)
{
        static const char text[] = "{\"a\":\"x\\u0000y\"}";
        g_autofree char *error = NULL;

        g_assert_cmpint(json_check_strict(text, strlen(text), &error), ==, -EINVAL);
        g_assert_cmpstr(error, ==, "unsupported escape \\u0000 (NUL) in a string at line 1 column 13");
        g_assert_cmpint(json_check_strict(text, strlen(text), NULL), ==, -EINVAL);
        g_assert_cmpint(json_check_strict(NULL, 0, NULL), ==, -EINVAL);
}

/* Size is no problem; nesting is cut at serde_json's limit without deep recursion. */
static void test_strict_huge(void)
{
        g_autoptr(GString) big = g_string_new("[");
        g_autofree char *deep = NULL;
        g_autofree char *error = NULL;

        for (int i = 0; i < 200000; i++)
                g_string_append_printf(big, "%s\"item %d \\u00e9\"", i ? "," : "", i);
        g_string_append_c(big, ']');
        g_assert_cmpint(json_check_strict(big->str, big->len, NULL), ==, 0);
        /* cut anywhere inside: an error, never a crash */
        g_assert_cmpint(json_check_strict(big->str, big->len / 2, &error), ==, -EINVAL);
        g_assert_true(g_str_has_prefix(error, "EOF while parsing a string at line 1 column ") ||
                      g_str_has_prefix(error, "EOF while parsing a list at line 1 column ") ||
                      g_str_has_prefix(error, "EOF while parsing a value at line 1 column "));
        g_clear_pointer(&error, g_free);

        deep = g_strnfill(1000000, '[');
        g_assert_cmpint(json_check_strict(deep, strlen(deep), &error), ==, -EINVAL);
        g_assert_cmpstr(error, ==, "recursion limit exceeded at line 1 column 128");
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/json-out/pretty-mdevctl-outputs", test_pretty_mdevctl_outputs);
        g_test_add_func("/json-out/compact-callout-stdin", test_compact_callout_stdin);
        g_test_add_func("/json-out/string-escaping", test_string_escaping);
        g_test_add_func("/json-out/builder-shapes", test_builder_shapes);
        g_test_add_func("/json-out/doubles", test_doubles);
        g_test_add_func("/json-out/strict-oracle", test_strict_oracle);
        g_test_add_func("/json-out/strict-nul-escape", test_strict_nul_escape);
        g_test_add_func("/json-out/strict-huge", test_strict_huge);
        return g_test_run();
}
