/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/layout-plan.c: layouts planned on scenario hosts (a T4, an A16 board of
 * four cores, an A2, mtty): from empty, from another layout, with VMs holding vGPUs, with other
 * owners' vGPUs in the way, and the refusals with their reasons. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "layout-plan.h"

#define NV_DESC(fb, max) \
        "num_heads=4, frl_config=60, framebuffer=" #fb "M, max_resolution=5120x2880, max_instance=" #max

static VgpuType *T4_1Q, *T4_2Q, *T4_4Q, *A16_2Q, *A16_4Q, *MTTY_2;

static void types_init(void)
{
        T4_1Q = vgpu_type_new("nvidia-222", "GRID T4-1Q", NV_DESC(1024, 16));
        T4_2Q = vgpu_type_new("nvidia-223", "GRID T4-2Q", NV_DESC(2048, 8));
        T4_4Q = vgpu_type_new("nvidia-224", "GRID T4-4Q", NV_DESC(4096, 4));
        A16_2Q = vgpu_type_new("nvidia-575", "NVIDIA A16-2Q", NV_DESC(2048, 8));
        A16_4Q = vgpu_type_new("nvidia-576", "NVIDIA A16-4Q", NV_DESC(4096, 4));
        MTTY_2 = vgpu_type_new("mtty-2", "Dual port serial", NULL);
}

/* A scenario host: T4 (index 0), four A16 cores (1..4), an A2 (5), mtty (no index). Each core's
 * devices are set by the test. */
typedef struct {
        LayoutCore cores[7];
        GArray *devices[7]; /* LayoutDevice */
        int available[7][3];
} Host;

static const VgpuType *t4_types[3], *a16_types[2], *mtty_types[1];

static void host_init(Host *h)
{
        static const char *a16[] = {"0000:63:00.0", "0000:64:00.0", "0000:65:00.0", "0000:66:00.0"};

        memset(h, 0, sizeof(*h));
        t4_types[0] = T4_1Q, t4_types[1] = T4_2Q, t4_types[2] = T4_4Q;
        a16_types[0] = A16_2Q, a16_types[1] = A16_4Q;
        mtty_types[0] = MTTY_2;
        h->cores[0] = (LayoutCore){.core = "0000:41:00.0",
                                   .index = 0,
                                   .vendor = 0x10de,
                                   .device = 0x1eb8,
                                   .subsystem_vendor = 0x10de,
                                   .subsystem_device = 0x12a2,
                                   .types = t4_types,
                                   .n_types = 3};
        for (int i = 0; i < 4; i++)
                h->cores[1 + i] = (LayoutCore){.core = a16[i],
                                               .index = 1 + i,
                                               .vendor = 0x10de,
                                               .device = 0x25b6,
                                               .subsystem_vendor = 0x10de,
                                               .subsystem_device = 0x14a9,
                                               .types = a16_types,
                                               .n_types = 2};
        h->cores[5] = (LayoutCore){.core = "0000:81:00.0",
                                   .index = 5,
                                   .vendor = 0x10de,
                                   .device = 0x25b6,
                                   .subsystem_vendor = 0x10de,
                                   .subsystem_device = 0x157e,
                                   .types = a16_types,
                                   .n_types = 2};
        h->cores[6] = (LayoutCore){.core = "mtty", .index = -1, .types = mtty_types, .n_types = 1};
        for (int c = 0; c < 7; c++) {
                h->devices[c] = g_array_new(false, true, sizeof(LayoutDevice));
                for (int t = 0; t < 3; t++)
                        h->available[c][t] = -1;
                h->cores[c].available = h->available[c];
        }
}

static void host_done(Host *h)
{
        for (int c = 0; c < 7; c++) {
                for (guint i = 0; i < h->devices[c]->len; i++)
                        g_free((char *)g_array_index(h->devices[c], LayoutDevice, i).uuid);
                g_array_unref(h->devices[c]);
        }
}

/* n running devices of type t on core c; managed: the layout's; held_by: a VM holds them */
static void host_run(Host *h, int c, const VgpuType *t, unsigned n, bool managed, const char *held_by)
{
        for (unsigned i = 0; i < n; i++) {
                LayoutDevice d = {.type = t, .managed = managed, .held_by = held_by};

                d.uuid = g_strdup_printf("%08x-0000-4000-8000-%012x", c, h->devices[c]->len);
                g_array_append_val(h->devices[c], d);
        }
        h->cores[c].devices = h->devices[c]->len ? &g_array_index(h->devices[c], LayoutDevice, 0) : NULL;
        h->cores[c].n_devices = h->devices[c]->len;
}

/* Run a plan's result on the host: what a correct apply leaves (for idempotence checks). */
static void host_apply(Host *h, const LayoutPlan *p)
{
        for (int c = 0; c < 7; c++) {
                GArray *keep = g_array_new(false, true, sizeof(LayoutDevice));

                for (guint i = 0; i < h->devices[c]->len; i++) {
                        LayoutDevice *d = &g_array_index(h->devices[c], LayoutDevice, i);
                        bool removed = false;

                        for (guint r = 0; r < p->remove->len; r++)
                                removed = removed ||
                                          g_str_equal(((LayoutRemoval *)p->remove->pdata[r])->uuid, d->uuid);
                        if (removed)
                                g_free((char *)d->uuid);
                        else
                                g_array_append_val(keep, *d);
                }
                g_array_unref(h->devices[c]);
                h->devices[c] = keep;
                h->cores[c].devices = keep->len ? &g_array_index(keep, LayoutDevice, 0) : NULL;
                h->cores[c].n_devices = keep->len;
        }
        for (guint m = 0; m < p->create->len; m++) {
                const LayoutCreation *cr = p->create->pdata[m];

                for (int c = 0; c < 7; c++)
                        if (g_str_equal(h->cores[c].core, cr->core))
                                for (size_t t = 0; t < h->cores[c].n_types; t++)
                                        if (g_str_equal(h->cores[c].types[t]->id, cr->type_id))
                                                host_run(h, c, h->cores[c].types[t], cr->count, true, NULL);
        }
}

static LayoutFile *file(const char *body)
{
        g_autofree char *text = g_strconcat("version: v1\nvgpu-configs:\n", body, NULL);
        g_autofree char *why = NULL;
        LayoutFile *f = NULL;

        if (layout_parse(text, strlen(text), &f, &why) < 0)
                g_error("parse: %s", why);
        return f;
}

static int plan(Host *h, const char *body, const char *name, bool force, LayoutPlan **ret, char **why)
{
        g_autoptr(LayoutFile) f = file(body);

        *ret = NULL;
        return layout_plan(layout_file_find(f, name), h->cores, 7, force, ret, why);
}

#define A16_2Q_ALL "  a16-2q:\n    - devices: all\n      vgpu-devices: {A16-2Q: 8}\n"
#define A16_4Q_ALL                                                                              \
        "  a16-4q:\n    - devices: all\n      device-filter: \"0x25B610DE:0x14A910DE\"\n      " \
        "vgpu-devices: {A16-4Q: 4}\n"
#define A16_HALF "  half:\n    - devices: [1, 2, 3, 4]\n      vgpu-devices: {nvidia-575: 4}\n"

static void test_from_empty_and_again(void)
{
        g_autoptr(LayoutPlan) p = NULL, again = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        /* devices: all selects the four A16 cores and the A2 (same device id): not the T4 or mtty */
        g_assert_cmpint(plan(&h, A16_2Q_ALL, "a16-2q", false, &p, &why), ==, 0);
        g_assert_null(why);
        g_assert_cmpuint(p->create->len, ==, 5);
        g_assert_cmpuint(p->n_create, ==, 40);
        g_assert_cmpuint(p->remove->len, ==, 0);
        g_assert_true(layout_plan_changes(p));
        for (guint i = 0; i < p->create->len; i++) {
                LayoutCreation *c = p->create->pdata[i];
                g_assert_cmpstr(c->type_id, ==, "nvidia-575");
                g_assert_cmpstr(c->type_name, ==, "A16-2Q");
                g_assert_cmpuint(c->count, ==, 8);
                g_assert_cmpint(c->index, ==, (int)i + 1);
        }
        host_apply(&h, p);
        /* the same layout again: nothing to do */
        g_assert_cmpint(plan(&h, A16_2Q_ALL, "a16-2q", false, &again, &why), ==, 0);
        g_assert_false(layout_plan_changes(again));
        g_assert_cmpuint(again->keep->len, ==, 40);
        host_done(&h);
}

static void test_from_another_layout(void)
{
        g_autoptr(LayoutPlan) p = NULL, again = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        for (int c = 1; c <= 5; c++)
                host_run(&h, c, A16_2Q, 8, true, NULL);
        /* the subsystem filter keeps the A2 (index 5) out: its 2Q vGPUs are the layout's, not wanted */
        g_assert_cmpint(plan(&h, A16_4Q_ALL, "a16-4q", false, &p, &why), ==, 0);
        g_assert_cmpuint(p->remove->len, ==, 40);
        g_assert_cmpuint(p->n_create, ==, 16);
        g_assert_cmpuint(p->keep->len, ==, 0);
        host_apply(&h, p);
        g_assert_cmpuint(h.cores[5].n_devices, ==, 0);
        g_assert_cmpint(plan(&h, A16_4Q_ALL, "a16-4q", false, &again, &why), ==, 0);
        g_assert_false(layout_plan_changes(again));
        host_done(&h);
}

static void test_held_devices(void)
{
        g_autoptr(LayoutPlan) p = NULL, forced = NULL, half = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        for (int c = 1; c <= 4; c++)
                host_run(&h, c, A16_2Q, 6, true, NULL);
        host_run(&h, 1, A16_2Q, 2, true, "process 4242 (qemu-system-x86)");
        /* 2Q -> 4Q would destroy the held ones: Busy, naming who holds them */
        g_assert_cmpint(plan(&h, A16_4Q_ALL, "a16-4q", false, &p, &why), ==, -EBUSY);
        g_assert_null(p);
        g_assert_nonnull(strstr(why, "is in use by process 4242 (qemu-system-x86)"));
        g_assert_nonnull(strstr(why, "A16-2Q on 0000:63:00.0"));
        g_clear_pointer(&why, g_free);
        g_assert_cmpint(plan(&h, A16_4Q_ALL, "a16-4q", true, &forced, &why), ==, 0);
        g_assert_cmpuint(forced->remove->len, ==, 4 * 6 + 2);
        /* a smaller count of the same type: the held ones stay, idle ones go */
        g_assert_cmpint(plan(&h, A16_HALF, "half", false, &half, &why), ==, 0);
        g_assert_cmpuint(half->remove->len, ==, 4 + 3 * 2); /* 8 -> 4 on the first, 6 -> 4 on the others */
        for (guint i = 0; i < half->remove->len; i++)
                g_assert_null(((LayoutRemoval *)half->remove->pdata[i])->held_by);
        g_assert_cmpuint(half->n_create, ==, 0);
        host_done(&h);
}

static void test_others_in_the_way(void)
{
        g_autoptr(LayoutPlan) p = NULL, fits = NULL, mixed = NULL, over = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        host_run(&h, 0, T4_2Q, 2, false, "process 7 (qemu)"); /* someone else's, at 2 GiB */
        /* 4Q next to them: two sizes on one core */
        g_assert_cmpint(plan(&h, "  t4:\n    - devices: [0]\n      vgpu-devices: {T4-4Q: 1}\n", "t4", false,
                             &p, &why),
                        ==, -EXDEV);
        g_assert_nonnull(strstr(why, "GPU 0 (0000:41:00.0) would run vGPUs of 2 sizes"));
        g_assert_nonnull(strstr(why, "not in mixed-size mode"));
        g_clear_pointer(&why, g_free);
        /* 2Q beside them: 6 fit (8 in all), 7 do not */
        g_assert_cmpint(plan(&h, "  t4:\n    - devices: [0]\n      vgpu-devices: {T4-2Q: 6}\n", "t4", false,
                             &fits, &why),
                        ==, 0);
        g_assert_cmpint(plan(&h, "  t4:\n    - devices: [0]\n      vgpu-devices: {T4-2Q: 7}\n", "t4", false,
                             &over, &why),
                        ==, -ENOSPC);
        g_assert_nonnull(strstr(why, "would run 9 vGPUs of 2048 MiB, and T4-2Q holds at most 8"));
        g_clear_pointer(&why, g_free);
        /* a mixed-size core takes both sizes */
        h.cores[0].mixed_size = true;
        g_assert_cmpint(plan(&h, "  t4:\n    - devices: [0]\n      vgpu-devices: {T4-4Q: 1, T4-1Q: 2}\n",
                             "t4", false, &mixed, &why),
                        ==, 0);
        g_assert_cmpuint(mixed->n_create, ==, 3);
        host_done(&h);
}

static void test_driver_counts(void)
{
        g_autoptr(LayoutPlan) p = NULL, ok = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        h.available[6][0] = 2;
        g_assert_cmpint(plan(&h, "  m:\n    - devices: all\n      vgpu-devices: {mtty-2: 3}\n", "m", false,
                             &p, &why),
                        ==, -ENOSPC);
        g_assert_nonnull(strstr(why, "mtty has room for 2 more mtty-2, the layout needs 3"));
        h.available[6][0] = 12;
        g_assert_cmpint(plan(&h, "  m:\n    - devices: all\n      vgpu-devices: {Dual port serial: 3}\n",
                             "m", false, &ok, &why),
                        ==, 0);
        g_assert_cmpuint(ok->n_create, ==, 3);
        g_assert_cmpint(((LayoutCreation *)ok->create->pdata[0])->index, ==, -1);
        host_done(&h);
}

static void test_unwanted_elsewhere(void)
{
        g_autoptr(LayoutPlan) p = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        host_run(&h, 0, T4_1Q, 3, true, NULL);  /* the layout's, on a GPU the new one leaves out */
        host_run(&h, 0, T4_1Q, 1, false, NULL); /* another owner's: stays */
        g_assert_cmpint(plan(&h, A16_HALF, "half", false, &p, &why), ==, 0);
        g_assert_cmpuint(p->remove->len, ==, 3);
        for (guint i = 0; i < p->remove->len; i++)
                g_assert_cmpstr(((LayoutRemoval *)p->remove->pdata[i])->core, ==, "0000:41:00.0");
        g_assert_cmpuint(p->n_create, ==, 16);
        host_done(&h);
}

static void test_refusals(void)
{
        static const struct {
                const char *body, *why;
                int r;
        } cases[] = {
                {"  c:\n    - devices: all\n      vgpu-devices: {A99-1Q: 1}\n",
                 "4:7: no GPU offers any of the entry's types", -EINVAL},
                {"  c:\n    - devices: [0]\n      vgpu-devices: {A16-2Q: 1}\n",
                 "5:22: GPU 0 (0000:41:00.0) offers no type 'A16-2Q'", -EINVAL},
                {"  c:\n    - devices: [9]\n      vgpu-devices: {A16-2Q: 1}\n",
                 "4:7: no GPU with index 9 on this host", -EINVAL},
                {"  c:\n    - devices: [5]\n      device-filter: \"0x25B610DE:0x14A910DE\"\n      "
                 "vgpu-devices: {A16-2Q: 1}\n",
                 "no GPU with index 5 matches the device-filter", -EINVAL},
                {"  c:\n    - devices: all\n      device-filter: \"0x223510DE\"\n      vgpu-devices: {}\n",
                 "4:7: no GPU matches the device-filter", -EINVAL},
                {"  c:\n    - devices: [1]\n      vgpu-devices: {A16-2Q: 1}\n    - devices: all\n      "
                 "vgpu-devices: {A16-4Q: 1}\n",
                 "GPU 1 (0000:63:00.0) is selected by the entries at lines 4 and 6", -EINVAL},
                {"  c:\n    - devices: all\n      vgpu-devices: {A16-2Q: 1, A16-4Q: 1}\n",
                 "GPU 1 (0000:63:00.0) would run vGPUs of 2 sizes (1 of 2048 MiB, 1 of 4096 MiB)", -EXDEV},
                /* what the file wants is checked before whether it fits */
                {"  c:\n    - devices: [1]\n      vgpu-devices: {A16-2Q: 9}\n    - devices: [0]\n      "
                 "vgpu-devices: {T4-9Q: 1}\n",
                 "offers no type 'T4-9Q'", -EINVAL},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(LayoutPlan) p = NULL;
                g_autofree char *why = NULL;
                Host h;

                host_init(&h);
                g_test_message("case %zu:\n%s", i, cases[i].body);
                g_assert_cmpint(plan(&h, cases[i].body, "c", false, &p, &why), ==, cases[i].r);
                g_test_message("why: %s", why);
                g_assert_null(p);
                g_assert_nonnull(strstr(why, cases[i].why));
                host_done(&h);
        }
}

static void test_all_problems_listed(void)
{
        g_autoptr(LayoutPlan) p = NULL;
        g_autofree char *why = NULL;
        Host h;

        host_init(&h);
        host_run(&h, 1, A16_2Q, 1, true, "process 1 (a)");
        host_run(&h, 2, A16_2Q, 1, true, "process 2 (b)");
        g_assert_cmpint(plan(&h, A16_4Q_ALL, "a16-4q", false, &p, &why), ==, -EBUSY);
        g_assert_nonnull(strstr(why, "process 1 (a)"));
        g_assert_nonnull(strstr(why, "; "));
        g_assert_nonnull(strstr(why, "process 2 (b)"));
        host_done(&h);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        types_init();
        g_test_add_func("/layout-plan/from-empty-and-again", test_from_empty_and_again);
        g_test_add_func("/layout-plan/from-another-layout", test_from_another_layout);
        g_test_add_func("/layout-plan/held", test_held_devices);
        g_test_add_func("/layout-plan/others-in-the-way", test_others_in_the_way);
        g_test_add_func("/layout-plan/driver-counts", test_driver_counts);
        g_test_add_func("/layout-plan/unwanted-elsewhere", test_unwanted_elsewhere);
        g_test_add_func("/layout-plan/refusals", test_refusals);
        g_test_add_func("/layout-plan/all-problems", test_all_problems_listed);
        return g_test_run();
}
