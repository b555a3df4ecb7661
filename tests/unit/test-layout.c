/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/layout.c: vgpu-device-manager's config v1, good files and bad ones
 * (each refused with its line and column), device filters, and the example file in docs/. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "layout.h"

static LayoutFile *parse_ok(const char *text)
{
        g_autofree char *why = NULL;
        LayoutFile *f = NULL;
        int r = layout_parse(text, strlen(text), &f, &why);

        if (r < 0)
                g_test_message("unexpected error: %s", why);
        g_assert_cmpint(r, ==, 0);
        g_assert_null(why);
        g_assert_nonnull(f);
        return f;
}

static void test_minimal(void)
{
        g_autoptr(LayoutFile) f = parse_ok("version: v1\n"
                                           "vgpu-configs:\n"
                                           "  A16-4Q:\n"
                                           "    - devices: all\n"
                                           "      vgpu-devices:\n"
                                           "        A16-4Q: 4\n");
        const LayoutConfig *c = layout_file_find(f, "A16-4Q");
        const LayoutEntry *e;
        const LayoutVgpu *v;

        g_assert_nonnull(c);
        g_assert_null(layout_file_find(f, "A16-2Q"));
        g_assert_cmpuint(c->line, ==, 3);
        g_assert_cmpuint(c->column, ==, 3);
        g_assert_cmpuint(c->entries->len, ==, 1);
        e = c->entries->pdata[0];
        g_assert_true(e->all_devices);
        g_assert_cmpuint(e->indexes->len, ==, 0);
        g_assert_cmpuint(e->filters->len, ==, 0);
        g_assert_cmpuint(e->vgpus->len, ==, 1);
        v = &g_array_index(e->vgpus, LayoutVgpu, 0);
        g_assert_cmpstr(v->type, ==, "A16-4Q");
        g_assert_cmpuint(v->count, ==, 4);
        g_assert_cmpuint(v->line, ==, 6);
        g_assert_cmpuint(v->column, ==, 9);
        /* every GPU, and parents vgpu-device-manager does not count (index -1) */
        g_assert_true(layout_entry_selects(e, 0, 0x10de, 0x25b6, 0x10de, 0x14a9));
        g_assert_true(layout_entry_selects(e, -1, 0, 0, 0, 0));
}

static void test_full(void)
{
        g_autoptr(LayoutFile) f = parse_ok("# comment\n"
                                           "version: \"v1\"\n"
                                           "vgpu-configs:\n"
                                           "  mixed:\n"
                                           "    - devices: [0, 1, 1]\n"
                                           "      device-filter: \"0x25B610DE:0x14A910DE\"\n"
                                           "      vgpu-devices: {\"A16-2Q\": 8}\n"
                                           "    - devices:\n"
                                           "        - 3\n"
                                           "      device-filter: [\"0x1EB810de\", '0x25b610DE']\n"
                                           "      vgpu-devices:\n"
                                           "        nvidia-558: 1\n"
                                           "        NVIDIA A16-4Q: 2\n"
                                           "  empty:\n"
                                           "    - devices: all\n"
                                           "      vgpu-devices: {}\n");
        const LayoutConfig *c = layout_file_find(f, "mixed");
        const LayoutEntry *e0 = c->entries->pdata[0], *e1 = c->entries->pdata[1];
        const LayoutEntry *empty = layout_file_find(f, "empty")->entries->pdata[0];

        g_assert_cmpuint(f->configs->len, ==, 2);
        g_assert_cmpuint(e0->indexes->len, ==, 2); /* the repeated 1 counts once */
        g_assert_false(e0->all_devices);
        /* A16 (subsystem 10de:14a9) but not A2 (10de:157e), and only indexes 0 and 1 */
        g_assert_true(layout_entry_selects(e0, 1, 0x10de, 0x25b6, 0x10de, 0x14a9));
        g_assert_false(layout_entry_selects(e0, 1, 0x10de, 0x25b6, 0x10de, 0x157e));
        g_assert_false(layout_entry_selects(e0, 2, 0x10de, 0x25b6, 0x10de, 0x14a9));
        g_assert_false(layout_entry_selects(e0, -1, 0x10de, 0x25b6, 0x10de, 0x14a9));
        /* a list of filters: either; the plain form ignores the subsystem */
        g_assert_true(layout_entry_selects(e1, 3, 0x10de, 0x1eb8, 0x10de, 0x12a2));
        g_assert_true(layout_entry_selects(e1, 3, 0x10de, 0x25b6, 0x10de, 0x157e));
        g_assert_false(layout_entry_selects(e1, 3, 0x10de, 0x2235, 0x10de, 0x145a));
        g_assert_cmpuint(e1->vgpus->len, ==, 2);
        g_assert_cmpstr(g_array_index(e1->vgpus, LayoutVgpu, 1).type, ==, "NVIDIA A16-4Q");
        g_assert_cmpuint(empty->vgpus->len, ==, 0);
}

static void test_device_id(void)
{
        LayoutDeviceId id;

        g_assert_cmpint(layout_device_id_parse("0x25B610DE", &id), ==, 0);
        g_assert_cmphex(id.device, ==, 0x25b6);
        g_assert_cmphex(id.vendor, ==, 0x10de);
        g_assert_false(id.has_subsystem);
        g_assert_cmpint(layout_device_id_parse("0X25b610de:0x157E10DE", &id), ==, 0);
        g_assert_true(id.has_subsystem);
        g_assert_cmphex(id.subsystem_device, ==, 0x157e);
        g_assert_cmphex(id.subsystem_vendor, ==, 0x10de);
        g_assert_true(layout_device_id_matches(&id, 0x10de, 0x25b6, 0x10de, 0x157e));
        g_assert_false(layout_device_id_matches(&id, 0x10de, 0x25b6, 0x10de, 0x14a9));
        /* a zero subsystem matches a GPU whose subsystem is unknown (0), nothing else */
        g_assert_cmpint(layout_device_id_parse("0x25B610DE:0x00000000", &id), ==, 0);
        g_assert_true(layout_device_id_matches(&id, 0x10de, 0x25b6, 0, 0));
        g_assert_false(layout_device_id_matches(&id, 0x10de, 0x25b6, 0x10de, 0x14a9));
        const char *bad[] = {"",
                             "25B610DE",
                             "0x25B610D",
                             "0x25B610DE0",
                             "0x25B610DG",
                             "0x25B610DE:",
                             "0x25B610DE:0x14A9",
                             "0x25B610DE:0x14A910DE:0x1",
                             "0x+5B610DE",
                             "0x 5B610DE",
                             NULL};
        for (size_t i = 0; bad[i]; i++) {
                g_test_message("bad id '%s'", bad[i]);
                g_assert_cmpint(layout_device_id_parse(bad[i], &id), ==, -EINVAL);
        }
        g_assert_cmpint(layout_device_id_parse(NULL, &id), ==, -EINVAL);
}

#define HEAD "version: v1\nvgpu-configs:\n  c:\n"

/* Each bad file: the position and a part of the message. */
static void test_refused(void)
{
        static const struct {
                const char *text, *why;
        } cases[] = {
                {"", "1:1: the file is empty"},
                {"# only a comment\n", "1:1: the file is empty"},
                {"- a\n- b\n", "1:1: the file must be a mapping, not a list"},
                {"version: v1\n", "1:1: missing required field: vgpu-configs"},
                {"vgpu-configs:\n  c:\n    - devices: all\n      vgpu-devices: {}\n",
                 "1:1: missing required field: version"},
                {"version: v2\nvgpu-configs: {}\n", "1:10: unknown version 'v2'"},
                {"version: 1\nvgpu-configs: {}\n", "1:10: unknown version '1'"},
                {"version: v1\nvgpu-configs: {}\n", "2:15: vgpu-configs needs at least one config"},
                {"version: v1\nvgpu-configs: []\n", "2:15: vgpu-configs must be a mapping, not a list"},
                {"version: v1\nversion: v1\n", "2:1: duplicate key 'version'"},
                {"version: v1\nmig-configs: {}\n", "2:1: unknown field 'mig-configs'"},
                {HEAD "    []\n", "4:5: vgpu-config 'c' needs at least one entry"},
                {HEAD "    - \"T4-8Q\"\n", "4:7: an entry must be a mapping with devices and vgpu-devices"},
                {HEAD "    - devices: all\n", "4:7: missing required field: vgpu-devices"},
                {HEAD "    - vgpu-devices: {}\n", "4:7: missing required field: devices"},
                {HEAD "    - devices: all\n      vgpu-devices: {}\n      mig-devices: {}\n",
                 "6:7: unknown field 'mig-devices'"},
                {HEAD "    - devices: some\n      vgpu-devices: {}\n", "4:16: devices must be 'all'"},
                {HEAD "    - devices: [0, -1]\n      vgpu-devices: {}\n",
                 "4:20: a GPU index must be a number"},
                {HEAD "    - devices: [\"0\"]\n      vgpu-devices: {}\n",
                 "4:17: a GPU index must be a number"},
                {HEAD "    - devices: [0x1]\n      vgpu-devices: {}\n",
                 "4:17: a GPU index must be a number"},
                {HEAD "    - devices: [4096]\n      vgpu-devices: {}\n", "from 0 to 4095, not '4096'"},
                {HEAD "    - devices: [[0]]\n      vgpu-devices: {}\n",
                 "4:17: a GPU index must be a single value, not a list"},
                {HEAD "    - devices: {a: 1}\n      vgpu-devices: {}\n",
                 "4:16: devices ('all' or a list of GPU indexes) must be a list, not a mapping"},
                {HEAD "    - devices: all\n      device-filter: 0x25B6\n      vgpu-devices: {}\n",
                 "5:22: device-filter '0x25B6' is not a PCI id"},
                {HEAD "    - devices: all\n      device-filter: []\n      vgpu-devices: {}\n",
                 "5:22: device-filter must not be an empty list"},
                {HEAD
                 "    - devices: all\n      device-filter: [\"0x25B610DE\", 7]\n      vgpu-devices: {}\n",
                 "5:37: device-filter '7' is not a PCI id"},
                {HEAD "    - devices: all\n      vgpu-devices: [A16-4Q]\n",
                 "5:21: vgpu-devices must be a mapping"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: 0\n",
                 "6:17: the count of 'A16-4Q' must be a number from 1 to 4096, not '0'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: -2\n",
                 "6:17: the count of 'A16-4Q'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: \"4\"\n",
                 "6:17: the count of 'A16-4Q'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: 4.0\n",
                 "6:17: the count of 'A16-4Q'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: 99999999999999999999\n",
                 "6:17: the count of 'A16-4Q'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        A16-4Q: 1\n        A16-4Q: 2\n",
                 "7:9: duplicate key 'A16-4Q'"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        \"\": 1\n",
                 "6:9: a key must be a non-empty"},
                {HEAD "    - devices: all\n      vgpu-devices:\n        [a]: 1\n",
                 "6:9: a key must be a single value, not a list"},
                {"version: v1\nvgpu-configs:\n  a: &x\n    - devices: all\n      vgpu-devices: {}\n  b: "
                 "*x\n",
                 "anchors and aliases are not supported"},
                {"version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: "
                 "{}\n---\nversion: v1\n",
                 "7:1: only one YAML document is allowed"},
                {"version: v1\nvgpu-configs:\n  a: [\n", "4:1: did not find expected node content"},
                {"version: v1\n\tvgpu-configs: {}\n", "2:1: found a tab character"},
                {"version: v1\nvgpu-configs:\n  a:\n    - devices: all\n     vgpu-devices: {}\n", "5:"},
                {"version: v1\nvgpu-configs: {a: *nothing}\n", "found undefined alias"},
                {"version: \"v1\\0\"\n", "1:10: version must be a non-empty UTF-8 string"},
                {"version: v1\nx\xff: 1\n", "2:2: invalid leading UTF-8 octet"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *why = NULL;
                LayoutFile *f = NULL;
                int r;

                g_test_message("case %zu: %s", i, cases[i].text);
                r = layout_parse(cases[i].text, strlen(cases[i].text), &f, &why);
                g_test_message("why: %s", why ? why : "(none)");
                g_assert_cmpint(r, ==, -EINVAL);
                g_assert_null(f);
                g_assert_nonnull(why);
                g_assert_true(g_regex_match_simple("^[0-9]+:[0-9]+: ", why, 0, 0));
                g_assert_nonnull(strstr(why, cases[i].why));
        }
}

static void test_limits(void)
{
        g_autofree char *big = g_malloc0(LAYOUT_MAX_BYTES + 1);
        g_autofree char *why = NULL;
        LayoutFile *f = NULL;

        memset(big, ' ', LAYOUT_MAX_BYTES + 1);
        g_assert_cmpint(layout_parse(big, LAYOUT_MAX_BYTES + 1, &f, &why), ==, -EFBIG);
        g_assert_null(f);
        g_clear_pointer(&why, g_free);
        /* not NUL-terminated: only len bytes count */
        g_assert_cmpint(layout_parse("version: v1\nvgpu-configs: {}\nXXXX", 28, &f, &why), ==, -EINVAL);
        g_assert_nonnull(strstr(why, "needs at least one config"));
}

/* The example file in docs/ parses, with the configs the README names. */
static void test_examples(void)
{
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "..", "..", "docs", "examples",
                                                      "vgpu-layouts.yaml", NULL);
        g_autofree char *text = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(LayoutFile) f = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(path, &text, &len, &err));
        f = parse_ok(text);
        g_assert_cmpuint(f->configs->len, >=, 40);
        for (const char *const *n = (const char *const[]){"T4-2Q", "A16-4Q", "A40-8Q", "L40S-48Q",
                                                          "A16-2Q-4Q", "T4-A16-mixed-host", "none", NULL};
             *n; n++) {
                g_test_message("config %s", *n);
                g_assert_nonnull(layout_file_find(f, *n));
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/layout/minimal", test_minimal);
        g_test_add_func("/layout/full", test_full);
        g_test_add_func("/layout/device-id", test_device_id);
        g_test_add_func("/layout/refused", test_refused);
        g_test_add_func("/layout/limits", test_limits);
        g_test_add_func("/layout/examples", test_examples);
        return g_test_run();
}
