/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/capacity.c on real-looking cores: an RTX A6000 holding one 2048M vGPU
 * (the fixture's `mdevctl types` before/after), a T4 full at 2Q, an A16 core of 16 VFs, mixed-size
 * A40 cores, an A100 in MIG mode, and the mtty sample. */

#include <errno.h>
#include <inttypes.h>

#include <glib.h>

#include "capacity.h"

typedef struct {
        const char *id, *name, *description;
        int available_after; /* with one NVIDIA RTXA6000-2Q running */
} TypeRow;

/* Verbatim from the fixture (akb486/vgpu README, driver 525.147.01). */
static const TypeRow rtxa6000[] = {
        {"nvidia-522", "NVIDIA RTXA6000-1B",
         "num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=32", 0},
        {"nvidia-523", "NVIDIA RTXA6000-2B",
         "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=24", 23},
        {"nvidia-524", "NVIDIA RTXA6000-1Q",
         "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=32", 0},
        {"nvidia-525", "NVIDIA RTXA6000-2Q",
         "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=24", 23},
        {"nvidia-526", "NVIDIA RTXA6000-3Q",
         "num_heads=4, frl_config=60, framebuffer=3072M, max_resolution=7680x4320, max_instance=16", 0},
        {"nvidia-527", "NVIDIA RTXA6000-4Q",
         "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=12", 0},
        {"nvidia-528", "NVIDIA RTXA6000-6Q",
         "num_heads=4, frl_config=60, framebuffer=6144M, max_resolution=7680x4320, max_instance=8", 0},
        {"nvidia-529", "NVIDIA RTXA6000-8Q",
         "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6", 0},
        {"nvidia-530", "NVIDIA RTXA6000-12Q",
         "num_heads=4, frl_config=60, framebuffer=12288M, max_resolution=7680x4320, max_instance=4", 0},
        {"nvidia-531", "NVIDIA RTXA6000-16Q",
         "num_heads=4, frl_config=60, framebuffer=16384M, max_resolution=7680x4320, max_instance=3", 0},
        {"nvidia-532", "NVIDIA RTXA6000-24Q",
         "num_heads=4, frl_config=60, framebuffer=24576M, max_resolution=7680x4320, max_instance=2", 0},
        {"nvidia-533", "NVIDIA RTXA6000-48Q",
         "num_heads=4, frl_config=60, framebuffer=49152M, max_resolution=7680x4320, max_instance=1", 0},
        {"nvidia-534", "NVIDIA RTXA6000-1A",
         "num_heads=1, frl_config=60, framebuffer=1024M, max_resolution=1280x1024, max_instance=32", 0},
        {"nvidia-535", "NVIDIA RTXA6000-2A",
         "num_heads=1, frl_config=60, framebuffer=2048M, max_resolution=1280x1024, max_instance=24", 23},
        {"nvidia-548", "NVIDIA RTXA6000-4C",
         "num_heads=1, frl_config=60, framebuffer=4096M, max_resolution=4096x2400, max_instance=12", 0},
        {"nvidia-554", "NVIDIA RTXA6000-48C",
         "num_heads=1, frl_config=60, framebuffer=49152M, max_resolution=4096x2400, max_instance=1", 0},
};

/* A set of parsed types and offers for one core. */
typedef struct {
        GPtrArray *types; /* VgpuType*, owned */
        GArray *offers;   /* CapacityOffer */
} Core;

static Core *core_new(void)
{
        Core *c = g_new0(Core, 1);

        c->types = g_ptr_array_new_with_free_func((GDestroyNotify)vgpu_type_free);
        c->offers = g_array_new(false, true, sizeof(CapacityOffer));
        return c;
}

static void core_free(Core *c)
{
        g_array_unref(c->offers);
        g_ptr_array_unref(c->types);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Core, core_free)

static const VgpuType *core_offer(Core *c, const char *id, const char *name, const char *description,
                                  int available)
{
        VgpuType *t = vgpu_type_new(id, name, description);
        CapacityOffer o = {.type = t, .available_instances = available};

        g_ptr_array_add(c->types, t);
        g_array_append_val(c->offers, o);
        return t;
}

static void core_compute(Core *c, const VgpuType *const *devices, size_t n_devices, bool mixed,
                         CoreCapacity *ret)
{
        core_capacity_compute((const CapacityOffer *)(const void *)c->offers->data, c->offers->len, devices,
                              n_devices, mixed, ret);
}

static const VgpuType *rtxa6000_type(Core *c, const char *name)
{
        for (guint i = 0; i < c->types->len; i++) {
                const VgpuType *t = g_ptr_array_index(c->types, i);

                if (g_strcmp0(t->name, name) == 0)
                        return t;
        }
        g_assert_not_reached();
}

static void test_rtxa6000(void)
{
        g_autoptr(Core) before = core_new();
        g_autoptr(Core) after = core_new();
        CoreCapacity cap;
        const VgpuType *running[1];

        for (size_t i = 0; i < G_N_ELEMENTS(rtxa6000); i++) {
                const TypeRow *r = &rtxa6000[i];
                g_autoptr(VgpuType) probe = vgpu_type_new(r->id, r->name, r->description);

                /* before: an empty core offers every type up to its max */
                core_offer(before, r->id, r->name, r->description, (int)probe->max_instances);
                core_offer(after, r->id, r->name, r->description, r->available_after);
        }

        core_compute(before, NULL, 0, false, &cap);
        g_assert_cmpuint(cap.size_class_mib, ==, 0);
        g_assert_false(cap.mixed_size);
        g_assert_cmpuint(cap.used, ==, 0);
        g_assert_cmpuint(cap.capacity, ==, 32);
        for (guint i = 0; i < before->types->len; i++)
                g_assert_cmpint(core_capacity_check(&cap, g_ptr_array_index(before->types, i)), ==, 0);

        running[0] = rtxa6000_type(after, "NVIDIA RTXA6000-2Q");
        core_compute(after, running, 1, false, &cap);
        g_assert_cmpuint(cap.size_class_mib, ==, 2048);
        g_assert_false(cap.mixed_size);
        g_assert_cmpuint(cap.used, ==, 1);
        g_assert_cmpuint(cap.capacity, ==, 24);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-2Q")), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-2B")), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-2A")), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-1Q")), ==, -EXDEV);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-4C")), ==, -EXDEV);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-48Q")), ==, -EXDEV);

        /* configured mixed-size: no conflict */
        core_compute(after, running, 1, true, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpuint(cap.size_class_mib, ==, 2048);
        g_assert_cmpint(core_capacity_check(&cap, rtxa6000_type(after, "NVIDIA RTXA6000-1Q")), ==, 0);
        g_assert_cmpuint(cap.capacity, ==, 24); /* 1 + 23 */
}

static const char *const t4_rows[][3] = {
        {"nvidia-230", "GRID T4-1Q",
         "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=16"},
        {"nvidia-231", "GRID T4-2Q",
         "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8"},
        {"nvidia-232", "GRID T4-4Q",
         "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4"},
        {"nvidia-223", "GRID T4-2B",
         "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=8"},
        {"nvidia-321", "GRID T4-16C",
         "num_heads=1, frl_config=60, framebuffer=16384M, max_resolution=4096x2160, max_instance=1"},
};

/* A T4 with 8 x T4-2Q: full. */
static void test_t4_full(void)
{
        for (int with_description = 0; with_description <= 1; with_description++) {
                g_autoptr(Core) core = core_new();
                const VgpuType *q1, *q2, *q4, *b2, *running[8];
                CoreCapacity cap;

                g_test_message("descriptions: %d", with_description);
                q1 = core_offer(core, t4_rows[0][0], t4_rows[0][1], with_description ? t4_rows[0][2] : NULL,
                                0);
                q2 = core_offer(core, t4_rows[1][0], t4_rows[1][1], with_description ? t4_rows[1][2] : NULL,
                                0);
                q4 = core_offer(core, t4_rows[2][0], t4_rows[2][1], with_description ? t4_rows[2][2] : NULL,
                                0);
                b2 = core_offer(core, t4_rows[3][0], t4_rows[3][1], with_description ? t4_rows[3][2] : NULL,
                                0);
                (void)core_offer(core, t4_rows[4][0], t4_rows[4][1], with_description ? t4_rows[4][2] : NULL,
                                 0);
                for (size_t i = 0; i < 8; i++)
                        running[i] = q2;

                core_compute(core, running, 8, false, &cap);
                g_assert_cmpuint(cap.size_class_mib, ==, 2048);
                g_assert_false(cap.mixed_size);
                g_assert_cmpuint(cap.used, ==, 8);
                g_assert_cmpuint(cap.capacity, ==, 8);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, -ENOSPC);
                g_assert_cmpint(core_capacity_check(&cap, b2), ==, -ENOSPC);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);
                g_assert_cmpint(core_capacity_check(&cap, q1), ==, -EXDEV);

                /* the same devices, no offers known: the type's own max still says full */
                core_capacity_compute(NULL, 0, running, 8, false, &cap);
                g_assert_cmpuint(cap.capacity, ==, 0);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, with_description ? -ENOSPC : 0);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);

                /* 7 of 8: one more 2Q or 2B fits (the driver would show 1 available) */
                g_array_index(core->offers, CapacityOffer, 1).available_instances = 1;
                g_array_index(core->offers, CapacityOffer, 3).available_instances = 1;
                core_compute(core, running, 7, false, &cap);
                g_assert_cmpuint(cap.used, ==, 7);
                g_assert_cmpuint(cap.capacity, ==, 8);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);
                g_assert_cmpint(core_capacity_check(&cap, b2), ==, 0);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);

                /* empty, but the driver shows nothing available (as when nvidia-vgpu-mgr is not
                 * running): the capacity is still what the card takes, the largest max_instances */
                for (guint i = 0; i < core->offers->len; i++)
                        g_array_index(core->offers, CapacityOffer, i).available_instances = 0;
                core_compute(core, NULL, 0, false, &cap);
                g_assert_cmpuint(cap.used, ==, 0);
                g_assert_cmpuint(cap.capacity, ==, with_description ? 16 : 0);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, 0);
        }
}

static const char *const a16_rows[][3] = {
        {"nvidia-711", "NVIDIA A16-1Q",
         "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=16"},
        {"nvidia-712", "NVIDIA A16-2Q",
         "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8"},
        {"nvidia-710", "NVIDIA A16-2B",
         "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=8"},
        {"nvidia-713", "NVIDIA A16-4Q",
         "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4"},
        {"nvidia-715", "NVIDIA A16-16Q",
         "num_heads=4, frl_config=60, framebuffer=16384M, max_resolution=7680x4320, max_instance=1"},
};

/* One A16 core with 16 VF parents, each its own offers (one vGPU per VF); n_busy VFs run an A16-2Q.
 * A free VF offers the 2048M types (1 each) while the core has room, nothing once it is full. */
static Core *a16_core(int n_busy, bool with_description, const VgpuType **ret_2q, const VgpuType **ret_4q)
{
        Core *core = core_new();
        bool full = n_busy >= 8;

        for (int vf = 0; vf < 16; vf++)
                for (size_t r = 0; r < G_N_ELEMENTS(a16_rows); r++) {
                        g_autoptr(VgpuType) probe = vgpu_type_new(a16_rows[r][0], a16_rows[r][1], NULL);
                        bool free_vf = vf >= n_busy;
                        int avail =
                                free_vf && !full && (n_busy == 0 || probe->framebuffer_mib == 2048) ? 1 : 0;
                        const VgpuType *t = core_offer(core, a16_rows[r][0], a16_rows[r][1],
                                                       with_description ? a16_rows[r][2] : NULL, avail);

                        if (vf == 0 && r == 1)
                                *ret_2q = t;
                        if (vf == 0 && r == 3)
                                *ret_4q = t;
                }
        return core;
}

static void test_a16_vfs(void)
{
        const VgpuType *q2, *q4, *running[8];
        CoreCapacity cap;

        {
                g_autoptr(Core) core = a16_core(3, true, &q2, &q4);

                for (int i = 0; i < 3; i++)
                        running[i] = q2;
                core_compute(core, running, 3, false, &cap);
                g_assert_cmpuint(cap.size_class_mib, ==, 2048);
                g_assert_false(cap.mixed_size);
                g_assert_cmpuint(cap.used, ==, 3);
                g_assert_cmpuint(cap.capacity, ==, 8);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);
        }
        {
                /* without descriptions the model can only add up the free VFs: 3 + 13, an upper bound
                 * (the driver shows 1 on every free VF until the core is full) */
                g_autoptr(Core) core = a16_core(3, false, &q2, &q4);

                for (int i = 0; i < 3; i++)
                        running[i] = q2;
                core_compute(core, running, 3, false, &cap);
                g_assert_cmpuint(cap.size_class_mib, ==, 2048);
                g_assert_cmpuint(cap.capacity, ==, 16);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);
        }
        {
                g_autoptr(Core) core = a16_core(8, false, &q2, &q4);

                for (int i = 0; i < 8; i++)
                        running[i] = q2;
                core_compute(core, running, 8, false, &cap);
                g_assert_cmpuint(cap.used, ==, 8);
                g_assert_cmpuint(cap.capacity, ==, 8);
                g_assert_cmpint(core_capacity_check(&cap, q2), ==, -ENOSPC);
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);
        }
        {
                g_autoptr(Core) core = a16_core(0, true, &q2, &q4);

                core_compute(core, NULL, 0, false, &cap);
                g_assert_cmpuint(cap.size_class_mib, ==, 0);
                g_assert_cmpuint(cap.used, ==, 0);
                g_assert_cmpuint(cap.capacity, ==, 16); /* A16-1Q */
                g_assert_cmpint(core_capacity_check(&cap, q4), ==, 0);
        }
}

static void test_mixed(void)
{
        g_autoptr(Core) core = core_new();
        const VgpuType *q8, *q4, *q2, *running[2];
        CoreCapacity cap;

        q2 = core_offer(
                core, "nvidia-558", "NVIDIA A40-2Q",
                "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=24",
                0);
        q4 = core_offer(
                core, "nvidia-560", "NVIDIA A40-4Q",
                "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=12",
                2);
        q8 = core_offer(
                core, "nvidia-562", "NVIDIA A40-8Q",
                "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6",
                4);

        /* inferred from two sizes running */
        running[0] = q8;
        running[1] = q4;
        core_compute(core, running, 2, false, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpuint(cap.size_class_mib, ==, 0);
        g_assert_cmpuint(cap.used, ==, 2);
        g_assert_cmpuint(cap.capacity, ==, 6); /* 2 + 4 of A40-8Q */
        g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, q8), ==, 0);

        /* inferred from another size still available next to the running one */
        core_compute(core, running, 1, false, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpuint(cap.size_class_mib, ==, 8192);
        g_assert_cmpuint(cap.capacity, ==, 5);
        g_assert_cmpint(core_capacity_check(&cap, q4), ==, 0);

        /* the driver offers only the running size: homogeneous */
        g_array_index(core->offers, CapacityOffer, 1).available_instances = 0;
        core_compute(core, running, 1, false, &cap);
        g_assert_false(cap.mixed_size);
        g_assert_cmpuint(cap.size_class_mib, ==, 8192);
        g_assert_cmpuint(cap.capacity, ==, 6);
        g_assert_cmpint(core_capacity_check(&cap, q4), ==, -EXDEV);
        g_assert_cmpint(core_capacity_check(&cap, q8), ==, 0);

        /* configured */
        core_compute(core, running, 1, true, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpint(core_capacity_check(&cap, q4), ==, 0);

        /* everything taken on a mixed core */
        for (guint i = 0; i < core->offers->len; i++)
                g_array_index(core->offers, CapacityOffer, i).available_instances = 0;
        core_compute(core, running, 2, false, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpuint(cap.capacity, ==, 2);
        g_assert_cmpint(core_capacity_check(&cap, q2), ==, -ENOSPC);
}

/* An A100 in MIG mode: MIG-backed types are sizeless; their limit comes from the counts. */
static void test_mig(void)
{
        g_autoptr(Core) core = core_new();
        const VgpuType *s1, *s2, *full, *running[1];
        CoreCapacity cap;

        s1 = core_offer(core, "nvidia-474", "GRID A100-1-5C", "framebuffer=5120M, max_instance=7", 6);
        s2 = core_offer(core, "nvidia-475", "GRID A100-2-10C", "framebuffer=10240M, max_instance=3", 3);
        (void)core_offer(core, "nvidia-478", "GRID A100-7-40C", "framebuffer=40960M, max_instance=1", 0);
        full = core_offer(core, "nvidia-473", "GRID A100-40C", "framebuffer=40960M, max_instance=1", 0);

        running[0] = s1;
        core_compute(core, running, 1, false, &cap);
        g_assert_cmpuint(cap.size_class_mib, ==, 0);
        g_assert_false(cap.mixed_size);
        g_assert_cmpuint(cap.used, ==, 1);
        g_assert_cmpuint(cap.capacity, ==, 7);
        g_assert_cmpint(core_capacity_check(&cap, s1), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, s2), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, full), ==, 0); /* sizeless core: the driver decides */

        for (guint i = 0; i < core->offers->len; i++)
                g_array_index(core->offers, CapacityOffer, i).available_instances = 0;
        core_compute(core, running, 1, false, &cap);
        g_assert_cmpuint(cap.capacity, ==, 1);
        g_assert_cmpint(core_capacity_check(&cap, s1), ==, -ENOSPC);
}

/* mtty (6.1 samples): 24 ports; mtty-1 takes one, mtty-2 two; one mtty-2 running. */
static void test_mtty(void)
{
        g_autoptr(Core) core = core_new();
        const VgpuType *m1, *m2, *running[1];
        CoreCapacity cap;

        m1 = core_offer(core, "mtty-1", "Single port serial", NULL, 22);
        m2 = core_offer(core, "mtty-2", "Dual port serial", NULL, 11);

        core_compute(core, NULL, 0, false, &cap);
        g_assert_cmpuint(cap.capacity, ==, 22);

        running[0] = m2;
        core_compute(core, running, 1, false, &cap);
        g_assert_cmpuint(cap.size_class_mib, ==, 0);
        g_assert_false(cap.mixed_size);
        g_assert_cmpuint(cap.used, ==, 1);
        g_assert_cmpuint(cap.capacity, ==, 23);
        g_assert_cmpint(core_capacity_check(&cap, m1), ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, m2), ==, 0);

        g_array_index(core->offers, CapacityOffer, 0).available_instances = 0;
        g_array_index(core->offers, CapacityOffer, 1).available_instances = 0;
        core_compute(core, running, 1, false, &cap);
        g_assert_cmpuint(cap.capacity, ==, 1);
        g_assert_cmpint(core_capacity_check(&cap, m1), ==, -ENOSPC);

        /* unknown counts: no limit known */
        g_array_index(core->offers, CapacityOffer, 0).available_instances = -1;
        g_array_index(core->offers, CapacityOffer, 1).available_instances = -1;
        core_compute(core, running, 1, false, &cap);
        g_assert_cmpuint(cap.capacity, ==, 0);
        g_assert_cmpint(core_capacity_check(&cap, m1), ==, 0);
}

static void test_unknown_and_bad(void)
{
        g_autoptr(VgpuType) q2 =
                vgpu_type_new("nvidia-231", "GRID T4-2Q", "framebuffer=2048M, max_instance=8");
        const VgpuType *devices[] = {NULL, q2, NULL};
        const CapacityOffer offers[] = {{NULL, 5}, {q2, -1}, {q2, -7}};
        CoreCapacity cap;

        /* unknown-type devices count as used, but give no size */
        core_capacity_compute(offers, G_N_ELEMENTS(offers), devices, G_N_ELEMENTS(devices), false, &cap);
        g_assert_cmpuint(cap.used, ==, 3);
        g_assert_cmpuint(cap.size_class_mib, ==, 2048);
        g_assert_cmpuint(cap.capacity, ==, 8);
        g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);

        core_capacity_compute(offers, G_N_ELEMENTS(offers), devices, 1, false, &cap);
        g_assert_cmpuint(cap.used, ==, 1);
        g_assert_cmpuint(cap.size_class_mib, ==, 0);
        g_assert_cmpuint(cap.capacity, ==, 8);

        core_capacity_compute(NULL, 0, NULL, 0, false, &cap);
        g_assert_cmpuint(cap.used, ==, 0);
        g_assert_cmpuint(cap.capacity, ==, 0);
        g_assert_false(cap.mixed_size);
        g_assert_cmpint(core_capacity_check(&cap, q2), ==, 0);

        core_capacity_compute(NULL, 0, NULL, 0, true, &cap);
        g_assert_true(cap.mixed_size);

        g_assert_cmpint(core_capacity_check(NULL, q2), ==, -EINVAL);
        g_assert_cmpint(core_capacity_check(&cap, NULL), ==, -EINVAL);

        /* a huge available count does not wrap the capacity */
        {
                const CapacityOffer big[] = {{q2, INT32_MAX}, {q2, INT32_MAX}, {q2, INT32_MAX}};
                g_autoptr(VgpuType) nomax = vgpu_type_new("nvidia-231", "GRID T4-2Q", NULL);
                const CapacityOffer big2[] = {{nomax, INT32_MAX}, {nomax, INT32_MAX}, {nomax, INT32_MAX}};

                core_capacity_compute(big, G_N_ELEMENTS(big), devices, G_N_ELEMENTS(devices), false, &cap);
                g_assert_cmpuint(cap.capacity, ==, 8);
                core_capacity_compute(big2, G_N_ELEMENTS(big2), devices, G_N_ELEMENTS(devices), false, &cap);
                g_assert_cmpuint(cap.capacity, ==, UINT32_MAX);
        }
}

/* The step before a start's first write on a VF GPU: switch an empty GPU when someone asks, never later. */
static void test_mixed_size_step(void)
{
        g_autoptr(Core) core = core_new();
        const VgpuType *q4, *q8, *running[1];
        CoreCapacity cap;

        q4 = core_offer(
                core, "nvidia-1150", "NVIDIA L40S-4Q",
                "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=12",
                1);
        q8 = core_offer(
                core, "nvidia-1152", "NVIDIA L40S-8Q",
                "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6",
                0);

        /* empty, equal-size: nobody asks -> go; the definition, or another one of the GPU, asks -> switch */
        core_compute(core, NULL, 0, false, &cap);
        g_assert_false(cap.mixed_size);
        g_assert_cmpint(core_mixed_size_step(&cap, q4, false, false), ==, CORE_MIXED_GO);
        g_assert_cmpint(core_mixed_size_step(&cap, q4, true, true), ==, CORE_MIXED_SWITCH);
        g_assert_cmpint(core_mixed_size_step(&cap, q8, false, true), ==, CORE_MIXED_SWITCH);

        /* one 4Q runs in equal-size mode: asked with another size -> SizeConflict, with its size -> busy;
         * only wanted by others -> too late, go ahead */
        running[0] = q4;
        core_compute(core, running, 1, false, &cap);
        g_assert_false(cap.mixed_size);
        g_assert_cmpint(core_mixed_size_step(&cap, q8, true, true), ==, -EXDEV);
        g_assert_cmpint(core_mixed_size_step(&cap, q4, true, true), ==, -EBUSY);
        g_assert_cmpint(core_mixed_size_step(&cap, q8, false, true), ==, CORE_MIXED_GO);

        /* known mixed (switched by a definition): modelled as mixed, nothing to do, two sizes fit */
        core_compute(core, running, 1, true, &cap);
        g_assert_true(cap.mixed_size);
        g_assert_cmpint(core_mixed_size_step(&cap, q8, true, true), ==, CORE_MIXED_GO);
        g_assert_cmpint(core_capacity_check(&cap, q8), ==, 0);
        g_assert_cmpint(core_mixed_size_step(NULL, q8, true, true), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/capacity/rtxa6000", test_rtxa6000);
        g_test_add_func("/capacity/t4-full", test_t4_full);
        g_test_add_func("/capacity/a16-vfs", test_a16_vfs);
        g_test_add_func("/capacity/mixed", test_mixed);
        g_test_add_func("/capacity/mixed-size-step", test_mixed_size_step);
        g_test_add_func("/capacity/mig", test_mig);
        g_test_add_func("/capacity/mtty", test_mtty);
        g_test_add_func("/capacity/unknown-and-bad", test_unknown_and_bad);

        return g_test_run();
}
