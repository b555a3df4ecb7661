/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/vgpu-type.c: parsing real NVIDIA, Intel GVT-g and kernel-sample type
 * names and descriptions (copied from public sysfs dumps and the 6.1 kernel samples), profile
 * matching, and nonsense input. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "vgpu-type.h"

typedef struct {
        const char *id, *name, *description;
        const char *board, *profile, *series;
        uint64_t fb_mib;
        uint32_t max_instances, num_heads, frl_config;
        const char *max_resolution;
        uint32_t mig_slices;
} Expect;

static void check_expect(const Expect *e)
{
        g_autoptr(VgpuType) t = vgpu_type_new(e->id, e->name, e->description);

        g_test_message("type %s \"%s\"", e->id, e->name);
        g_assert_nonnull(t);
        g_assert_cmpstr(t->id, ==, e->id);
        g_assert_cmpstr(t->name, ==, e->name);
        g_assert_cmpint(t->vendor, ==, VGPU_VENDOR_NVIDIA);
        g_assert_cmpstr(t->board, ==, e->board);
        g_assert_cmpstr(t->profile, ==, e->profile);
        g_assert_cmpstr(t->series, ==, e->series);
        g_assert_cmpuint(t->framebuffer_mib, ==, e->fb_mib);
        g_assert_cmpuint(t->max_instances, ==, e->max_instances);
        g_assert_cmpuint(t->num_heads, ==, e->num_heads);
        g_assert_cmpuint(t->frl_config, ==, e->frl_config);
        g_assert_cmpstr(t->max_resolution, ==, e->max_resolution);
        g_assert_cmpuint(t->mig_slices, ==, e->mig_slices);
        g_assert_cmpuint(t->gvt_low_gm_mib, ==, 0);
        g_assert_cmpuint(t->gvt_weight, ==, 0);
        g_assert_cmpuint(vgpu_type_size_class(t), ==, e->mig_slices ? 0 : e->fb_mib);
}

/* `mdevctl types` of an RTX A6000 (driver 525.147.01), verbatim from the fixture. */
static void test_rtxa6000(void)
{
        static const Expect types[] = {
                {"nvidia-522", "NVIDIA RTXA6000-1B",
                 "num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=32",
                 "RTXA6000", "RTXA6000-1B", "B", 1024, 32, 4, 45, "5120x2880", 0},
                {"nvidia-523", "NVIDIA RTXA6000-2B",
                 "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=24",
                 "RTXA6000", "RTXA6000-2B", "B", 2048, 24, 4, 45, "5120x2880", 0},
                {"nvidia-525", "NVIDIA RTXA6000-2Q",
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=24",
                 "RTXA6000", "RTXA6000-2Q", "Q", 2048, 24, 4, 60, "7680x4320", 0},
                {"nvidia-533", "NVIDIA RTXA6000-48Q",
                 "num_heads=4, frl_config=60, framebuffer=49152M, max_resolution=7680x4320, max_instance=1",
                 "RTXA6000", "RTXA6000-48Q", "Q", 49152, 1, 4, 60, "7680x4320", 0},
                {"nvidia-535", "NVIDIA RTXA6000-2A",
                 "num_heads=1, frl_config=60, framebuffer=2048M, max_resolution=1280x1024, max_instance=24",
                 "RTXA6000", "RTXA6000-2A", "A", 2048, 24, 1, 60, "1280x1024", 0},
                {"nvidia-554", "NVIDIA RTXA6000-48C",
                 "num_heads=1, frl_config=60, framebuffer=49152M, max_resolution=4096x2400, max_instance=1",
                 "RTXA6000", "RTXA6000-48C", "C", 49152, 1, 1, 60, "4096x2400", 0},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
                check_expect(&types[i]);
}

/* Tesla P40 (mdevctl issue #115) and Quadro RTX 6000 (Juju charm), verbatim; P4 from a blog post. */
static void test_pascal_turing(void)
{
        static const Expect types[] = {
                {"nvidia-215", "GRID P40-2B4",
                 "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=12",
                 "P40", "P40-2B4", "B4", 2048, 12, 4, 45, "5120x2880", 0},
                {"nvidia-241", "GRID P40-1B4",
                 "num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=24",
                 "P40", "P40-1B4", "B4", 1024, 24, 4, 45, "5120x2880", 0},
                {"nvidia-285", "GRID P40-8C",
                 "num_heads=1, frl_config=60, framebuffer=8192M, max_resolution=4096x2400, max_instance=3",
                 "P40", "P40-8C", "C", 8192, 3, 1, 60, "4096x2400", 0},
                {"nvidia-64", "GRID P4-2Q",
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=4",
                 "P4", "P4-2Q", "Q", 2048, 4, 4, 60, "7680x4320", 0},
                {"nvidia-257", "GRID RTX6000-2Q",
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12",
                 "RTX6000", "RTX6000-2Q", "Q", 2048, 12, 4, 60, "7680x4320", 0},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
                check_expect(&types[i]);
}

/* The T4, A40, A16, M10 and A100 catalogues (vgpuConfig.xml of 510.47.03): descriptions synthesised
 * the way the driver prints them, max_instance from vgpu-device-manager's table. */
static void test_catalogue(void)
{
        static const Expect types[] = {
                {"nvidia-222", "GRID T4-1B", NULL, "T4", "T4-1B", "B", 1024, 0, 0, 0, NULL, 0},
                {"nvidia-224", "GRID T4-2B4", NULL, "T4", "T4-2B4", "B4", 2048, 0, 0, 0, NULL, 0},
                {"nvidia-231", "GRID T4-2Q",
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8",
                 "T4", "T4-2Q", "Q", 2048, 8, 4, 60, "7680x4320", 0},
                {"nvidia-321", "GRID T4-16C",
                 "num_heads=1, frl_config=60, framebuffer=16384M, max_resolution=4096x2160, max_instance=1",
                 "T4", "T4-16C", "C", 16384, 1, 1, 60, "4096x2160", 0},
                {"nvidia-562", "NVIDIA A40-8Q",
                 "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6",
                 "A40", "A40-8Q", "Q", 8192, 6, 4, 60, "7680x4320", 0},
                {"nvidia-576", "NVIDIA A40-48A", NULL, "A40", "A40-48A", "A", 49152, 0, 0, 0, NULL, 0},
                {"nvidia-712", "NVIDIA A16-2Q",
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8",
                 "A16", "A16-2Q", "Q", 2048, 8, 4, 60, "7680x4320", 0},
                /* M10-0B: "0" GiB in the name means 512 MiB */
                {"nvidia-35", "GRID M10-0B", NULL, "M10", "M10-0B", "B", 512, 0, 0, 0, NULL, 0},
                {"nvidia-35", "GRID M10-0B",
                 "num_heads=2, frl_config=45, framebuffer=512M, max_resolution=2560x1600, max_instance=16",
                 "M10", "M10-0B", "B", 512, 16, 2, 45, "2560x1600", 0},
                {"nvidia-11", "GRID M60-0B", NULL, "M60", "M60-0B", "B", 512, 0, 0, 0, NULL, 0},
                /* MIG-backed: <board>-<slices>-<GiB>C[ME] */
                {"nvidia-474", "GRID A100-1-5C",
                 "num_heads=1, frl_config=60, framebuffer=5120M, max_resolution=4096x2160, max_instance=7",
                 "A100", "A100-1-5C", "C", 5120, 7, 1, 60, "4096x2160", 1},
                {"nvidia-706", "GRID A100-1-5CME",
                 "num_heads=1, frl_config=60, framebuffer=5120M, max_resolution=4096x2160, max_instance=1",
                 "A100", "A100-1-5CME", "CME", 5120, 1, 1, 60, "4096x2160", 1},
                {"nvidia-478", "GRID A100-7-40C", NULL, "A100", "A100-7-40C", "C", 40960, 0, 0, 0, NULL, 7},
                {"nvidia-476", "GRID A100-3-20C", NULL, "A100", "A100-3-20C", "C", 20480, 0, 0, 0, NULL, 3},
                /* time-sliced on a MIG-capable GPU */
                {"nvidia-473", "GRID A100-40C", NULL, "A100", "A100-40C", "C", 40960, 0, 0, 0, NULL, 0},
                /* later boards (vgpu-device-manager names, with the driver's "NVIDIA " prefix) */
                {"nvidia-900", "NVIDIA 6000D-1-42CGFX", NULL, "6000D", "6000D-1-42CGFX", "CGFX", 43008, 0, 0,
                 0, NULL, 1},
                {"nvidia-901", "NVIDIA H100-80C", NULL, "H100", "H100-80C", "C", 81920, 0, 0, 0, NULL, 0},
                /* vendor-specific VFIO (vGPU 17+): numeric type ids from creatable_vgpu_types */
                {"1145", "NVIDIA L40S-1B", NULL, "L40S", "L40S-1B", "B", 1024, 0, 0, 0, NULL, 0},
                {"1414", "NVIDIA H200X-1-18C", NULL, "H200X", "H200X-1-18C", "C", 18432, 0, 0, 0, NULL, 1},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
                check_expect(&types[i]);
}

static void test_description_wins(void)
{
        g_autoptr(VgpuType) a = vgpu_type_new("nvidia-231", "GRID T4-2Q", "framebuffer=1024M");
        g_autoptr(VgpuType) b = vgpu_type_new("nvidia-231", "GRID T4-2Q", "framebuffer=abcM");
        g_autoptr(VgpuType) c = vgpu_type_new("nvidia-231", "GRID T4-2Q", "framebuffer=2G");
        /* a description over several lines, with a trailing newline, and spaces around '=' */
        g_autoptr(VgpuType) d = vgpu_type_new("nvidia-231", "  GRID T4-2Q\n",
                                              "num_heads = 4\nframebuffer=2048M\n max_instance=8 \n");

        g_assert_cmpuint(a->framebuffer_mib, ==, 1024);
        g_assert_cmpuint(vgpu_type_size_class(a), ==, 1024);
        g_assert_cmpuint(b->framebuffer_mib, ==, 2048); /* unreadable: the name's size stays */
        g_assert_cmpuint(c->framebuffer_mib, ==, 2048);
        g_assert_cmpstr(d->name, ==, "GRID T4-2Q");
        g_assert_cmpuint(d->num_heads, ==, 4);
        g_assert_cmpuint(d->framebuffer_mib, ==, 2048);
        g_assert_cmpuint(d->max_instances, ==, 8);
}

/* Intel GVT-g: as mdevctl's README prints it (one line, trailing space), and as the 6.1 kernel writes
 * the file (kvmgt.c intel_vgpu_show_description: one field per line). */
static void test_intel(void)
{
        g_autoptr(VgpuType) a = vgpu_type_new(
                "i915-GVTg_V4_4", NULL,
                "low_gm_size: 128MB high_gm_size: 512MB fence: 4 resolution: 1920x1200 weight: 4 ");
        g_autoptr(VgpuType) b = vgpu_type_new(
                "i915-GVTg_V5_8", "GVTg_V5_8\n",
                "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 2\n");
        g_autoptr(VgpuType) c = vgpu_type_new("i915-GVTg_V4_2", NULL,
                                              "low_gm_size: 256MB, high_gm_size: 1024MB, fence: 4, "
                                              "resolution: 1920x1200, weight: 8");

        g_assert_cmpint(a->vendor, ==, VGPU_VENDOR_INTEL);
        g_assert_null(a->name);
        g_assert_cmpuint(a->gvt_low_gm_mib, ==, 128);
        g_assert_cmpuint(a->gvt_high_gm_mib, ==, 512);
        g_assert_cmpuint(a->gvt_fence, ==, 4);
        g_assert_cmpuint(a->gvt_weight, ==, 4);
        g_assert_cmpstr(a->max_resolution, ==, "1920x1200");
        g_assert_cmpuint(a->framebuffer_mib, ==, 0);
        g_assert_null(a->board);
        g_assert_null(a->profile);
        g_assert_cmpuint(vgpu_type_size_class(a), ==, 0);

        g_assert_cmpint(b->vendor, ==, VGPU_VENDOR_INTEL);
        g_assert_cmpstr(b->name, ==, "GVTg_V5_8");
        g_assert_cmpuint(b->gvt_low_gm_mib, ==, 64);
        g_assert_cmpuint(b->gvt_high_gm_mib, ==, 384);
        g_assert_cmpuint(b->gvt_fence, ==, 4);
        g_assert_cmpuint(b->gvt_weight, ==, 2);
        g_assert_cmpstr(b->max_resolution, ==, "1024x768");

        g_assert_cmpuint(c->gvt_low_gm_mib, ==, 256);
        g_assert_cmpuint(c->gvt_high_gm_mib, ==, 1024);
        g_assert_cmpuint(c->gvt_weight, ==, 8);
        g_assert_cmpstr(c->max_resolution, ==, "1920x1200");
}

/* The 6.1 kernel samples: type dir "<driver>-<sysfs_name>", name = pretty_name, descriptions from
 * mbochs_show_description ("virtual display, %d MB video memory\n") and mdpy_show_description
 * ("virtual display, %dx%d framebuffer\n"); mtty has no description. */
static void test_samples(void)
{
        g_autoptr(VgpuType) mtty1 = vgpu_type_new("mtty-1", "Single port serial\n", NULL);
        g_autoptr(VgpuType) mtty2 = vgpu_type_new("mtty-2", "Dual port serial\n", "");
        g_autoptr(VgpuType) mdpy =
                vgpu_type_new("mdpy-vga", "mdpy-vga\n", "virtual display, 640x480 framebuffer\n");
        g_autoptr(VgpuType) mdpy_hd =
                vgpu_type_new("mdpy-hd", "mdpy-hd\n", "virtual display, 1920x1080 framebuffer\n");
        g_autoptr(VgpuType) mbochs_s =
                vgpu_type_new("mbochs-small", "mbochs-small\n", "virtual display, 4 MB video memory\n");
        g_autoptr(VgpuType) mbochs_m =
                vgpu_type_new("mbochs-medium", "mbochs-medium\n", "virtual display, 16 MB video memory\n");
        g_autoptr(VgpuType) mbochs_l =
                vgpu_type_new("mbochs-large", "mbochs-large\n", "virtual display, 64 MB video memory\n");

        g_assert_cmpint(mtty1->vendor, ==, VGPU_VENDOR_SAMPLE);
        g_assert_cmpstr(mtty1->name, ==, "Single port serial");
        g_assert_cmpstr(mtty2->name, ==, "Dual port serial");
        g_assert_null(mtty2->board);
        g_assert_null(mtty2->max_resolution);
        g_assert_cmpuint(mtty2->framebuffer_mib, ==, 0);

        g_assert_cmpint(mdpy->vendor, ==, VGPU_VENDOR_SAMPLE);
        g_assert_cmpstr(mdpy->max_resolution, ==, "640x480");
        g_assert_cmpuint(mdpy->framebuffer_mib, ==, 0);
        g_assert_cmpstr(mdpy_hd->max_resolution, ==, "1920x1080");

        g_assert_cmpint(mbochs_s->vendor, ==, VGPU_VENDOR_SAMPLE);
        g_assert_cmpuint(mbochs_s->framebuffer_mib, ==, 4);
        g_assert_cmpuint(mbochs_m->framebuffer_mib, ==, 16);
        g_assert_cmpuint(mbochs_l->framebuffer_mib, ==, 64);
        g_assert_null(mbochs_l->max_resolution);

        /* samples take no part in the size rule */
        g_assert_cmpuint(vgpu_type_size_class(mbochs_l), ==, 0);
        g_assert_cmpuint(vgpu_type_size_class(mtty1), ==, 0);
}

static void test_vendor(void)
{
        static const struct {
                const char *id, *name;
                VgpuVendor vendor;
        } cases[] = {
                {"nvidia-222", NULL, VGPU_VENDOR_NVIDIA},
                {"nvidia-222", "garbage", VGPU_VENDOR_NVIDIA},
                {NULL, "GRID T4-2Q", VGPU_VENDOR_NVIDIA},
                {"1145", "NVIDIA L40S-1B", VGPU_VENDOR_NVIDIA},
                {"i915-GVTg_V5_4", NULL, VGPU_VENDOR_INTEL},
                {"i915-GVTg_V5_4", "NVIDIA A40-8Q", VGPU_VENDOR_INTEL}, /* the id decides */
                {"mtty-2", NULL, VGPU_VENDOR_SAMPLE},
                {"mdpy-xga", NULL, VGPU_VENDOR_SAMPLE},
                {"mbochs-large", NULL, VGPU_VENDOR_SAMPLE},
                {"nvidia-", NULL, VGPU_VENDOR_UNKNOWN},
                {"i915-", NULL, VGPU_VENDOR_UNKNOWN},
                {"mtty", NULL, VGPU_VENDOR_UNKNOWN},
                {"NVIDIA-222", NULL, VGPU_VENDOR_UNKNOWN},
                {"foo-1", "GRID", VGPU_VENDOR_UNKNOWN},
                {"foo-1", "GRID ", VGPU_VENDOR_UNKNOWN},
                {"foo-1", "NVIDIA", VGPU_VENDOR_UNKNOWN},
                {"foo-1", "GRIDT4-2Q", VGPU_VENDOR_UNKNOWN},
                {NULL, NULL, VGPU_VENDOR_UNKNOWN},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(VgpuType) t = vgpu_type_new(cases[i].id, cases[i].name, NULL);

                g_test_message("vendor of %s/%s", cases[i].id, cases[i].name);
                g_assert_cmpint(t->vendor, ==, cases[i].vendor);
        }

        g_assert_cmpstr(vgpu_vendor_to_string(VGPU_VENDOR_NVIDIA), ==, "nvidia");
        g_assert_cmpstr(vgpu_vendor_to_string(VGPU_VENDOR_INTEL), ==, "intel");
        g_assert_cmpstr(vgpu_vendor_to_string(VGPU_VENDOR_SAMPLE), ==, "sample");
        g_assert_cmpstr(vgpu_vendor_to_string(VGPU_VENDOR_UNKNOWN), ==, "unknown");
        g_assert_cmpstr(vgpu_vendor_to_string((VgpuVendor)42), ==, "unknown");
        g_assert_cmpstr(vgpu_vendor_to_string((VgpuVendor)-1), ==, "unknown");
}

static void assert_no_profile(const VgpuType *t)
{
        g_assert_null(t->board);
        g_assert_null(t->profile);
        g_assert_null(t->series);
        g_assert_cmpuint(t->mig_slices, ==, 0);
        g_assert_cmpuint(t->framebuffer_mib, ==, 0);
        g_assert_cmpuint(vgpu_type_size_class(t), ==, 0);
}

/* Names that are not NVIDIA profiles: nothing is guessed from them. */
static void test_bad_names(void)
{
        static const char *const names[] = {
                "",
                "   ",
                "GRID",
                "GRID ",
                "NVIDIA",
                "GRID T4",
                "GRID T4-",
                "GRID -2Q",
                "GRID T4-Q",
                "GRID T4-2",
                "GRID T4-2Q!",
                "GRID T4-2-",
                "GRID T4--2Q",
                "GRID T4 -2Q",
                "GRID A100--5C",
                "GRID -1-5C",
                "GRID T4-99999999999999999999Q",
                "GRID T4-4194304Q", /* 4 Pi MiB: refused, GiB count beyond 32 bits once in MiB */
                "GRID T4-+2Q",
                "GRID T4--",
                "GRID ---",
                "GRID T4-2Q\tX",
                "NVIDIA \xff\xfe-2Q",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", names[i], NULL);
                g_autofree char *escaped = g_strescape(names[i], NULL);

                g_test_message("name \"%s\"", escaped);
                g_assert_cmpint(t->vendor, ==, VGPU_VENDOR_NVIDIA);
                assert_no_profile(t);
        }

        /* a slice count beyond what MIG can do belongs to the board name */
        {
                g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", "NVIDIA RTX-6000-2Q", NULL);

                g_assert_cmpstr(t->board, ==, "RTX-6000");
                g_assert_cmpuint(t->mig_slices, ==, 0);
                g_assert_cmpuint(vgpu_type_size_class(t), ==, 2048);
        }
        {
                g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", "NVIDIA A100-0-5C", NULL);

                g_assert_cmpstr(t->board, ==, "A100-0");
                g_assert_cmpuint(t->mig_slices, ==, 0);
        }
}

static void assert_no_description(const VgpuType *t)
{
        g_assert_cmpuint(t->framebuffer_mib, ==, 0);
        g_assert_cmpuint(t->max_instances, ==, 0);
        g_assert_cmpuint(t->num_heads, ==, 0);
        g_assert_cmpuint(t->frl_config, ==, 0);
        g_assert_null(t->max_resolution);
        g_assert_cmpuint(t->gvt_low_gm_mib, ==, 0);
        g_assert_cmpuint(t->gvt_high_gm_mib, ==, 0);
        g_assert_cmpuint(t->gvt_fence, ==, 0);
        g_assert_cmpuint(t->gvt_weight, ==, 0);
}

static void test_bad_descriptions(void)
{
        static const char *const descriptions[] = {
                "",
                "\n",
                ",,,,",
                "=,=,,==",
                "framebuffer=abcM",
                "framebuffer=M",
                "framebuffer=2048",  /* no unit */
                "framebuffer=2048T", /* unknown unit */
                "framebuffer=-5M",
                "framebuffer=+5M",
                "framebuffer=2048MM",
                "framebuffer=99999999999999999999999M",
                "framebuffer=18014398509481985G", /* 2^54 + 1 GiB: overflows 64 bits in MiB */
                "framebuffer 2048M",              /* missing '=' */
                "framebuffer:2048M",
                "max_instance=4294967296",
                "max_instance=-1",
                "max_instance=",
                "max_instance=0x10",
                "max_instance=1 2",
                "num_heads=four, frl_config=6O",
                "max_resolution=x",
                "max_resolution=0x0",
                "max_resolution=1920x",
                "max_resolution=x1080",
                "max_resolution=1920x1080x2",
                "max_resolution=1920 x 1080",
                "max_resolution=99999999999x1",
                "=2048M",
                "virtual display, MB video memory",
                "virtual display, -4 MB video memory",
                "virtual display, 4 MB video",
                "virtual display, 4 MB video RAM",
                "virtual display, 99999999999 MB video memory",
                "virtual display, 640x framebuffer",
                "low_gm_size: fence: weight:",
                "low_gm_size: 128 high_gm_size: -5MB fence: x weight: 99999999999",
                "low_gm_size:",
                "resolution: 0x10",
                ":",
                "::::",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(descriptions); i++) {
                g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", NULL, descriptions[i]);
                g_autoptr(VgpuType) u = vgpu_type_new(NULL, NULL, descriptions[i]);
                g_autoptr(VgpuType) g = vgpu_type_new("i915-GVTg_V5_4", NULL, descriptions[i]);

                g_test_message("description \"%s\"", descriptions[i]);
                assert_no_description(t);
                assert_no_description(u);
                assert_no_description(g);
        }

        /* the largest values that do fit */
        {
                g_autoptr(VgpuType) t = vgpu_type_new(
                        "nvidia-1", NULL,
                        "max_instance=4294967295, framebuffer=18446744073709551615M, num_heads=007");

                g_assert_cmpuint(t->max_instances, ==, UINT32_MAX);
                g_assert_cmpuint(t->framebuffer_mib, ==, UINT64_MAX);
                g_assert_cmpuint(t->num_heads, ==, 7);
        }
}

static void test_all_null(void)
{
        g_autoptr(VgpuType) t = vgpu_type_new(NULL, NULL, NULL);
        g_autoptr(VgpuType) e = vgpu_type_new("", "", "");

        g_assert_nonnull(t);
        g_assert_null(t->id);
        g_assert_null(t->name);
        g_assert_cmpint(t->vendor, ==, VGPU_VENDOR_UNKNOWN);
        assert_no_profile(t);
        assert_no_description(t);
        g_assert_null(e->id);
        g_assert_null(e->name);
        assert_no_profile(e);
        assert_no_description(e);

        g_assert_false(vgpu_type_matches_profile(t, "8Q"));
        g_assert_false(vgpu_type_matches_profile(t, ""));
        g_assert_false(vgpu_type_matches_profile(NULL, "8Q"));
        g_assert_cmpuint(vgpu_type_size_class(NULL), ==, 0);
        vgpu_type_free(NULL);
}

static void test_matches_profile(void)
{
        g_autoptr(VgpuType) a40 = vgpu_type_new(
                "nvidia-562", "NVIDIA A40-8Q",
                "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6");
        g_autoptr(VgpuType) p40 = vgpu_type_new("nvidia-215", "GRID P40-2B4", NULL);
        g_autoptr(VgpuType) mig = vgpu_type_new("nvidia-474", "GRID A100-1-5C", NULL);
        g_autoptr(VgpuType) m10 = vgpu_type_new("nvidia-35", "GRID M10-0B", NULL);
        g_autoptr(VgpuType) mtty = vgpu_type_new("mtty-2", "Dual port serial", NULL);
        g_autoptr(VgpuType) gvt = vgpu_type_new("i915-GVTg_V5_4", NULL, NULL);

        static const char *const a40_yes[] = {
                "nvidia-562", "NVIDIA-562", "NVIDIA A40-8Q", "nvidia a40-8q", "A40-8Q", "a40-8q",
                "8Q",         "8q",         " 8Q\n",         "\tA40-8Q  "};
        static const char *const a40_no[] = {
                NULL, "",    "  ",      "nvidia-56",   "nvidia-5620", "A40-8", "A40",      "8",
                "Q",  "18Q", "A40-18Q", "GRID A40-8Q", "A40 8Q",      "-8Q",   "A40-8Q ,", "NVIDIA A40"};

        for (size_t i = 0; i < G_N_ELEMENTS(a40_yes); i++) {
                g_test_message("A40-8Q ~ \"%s\"", a40_yes[i]);
                g_assert_true(vgpu_type_matches_profile(a40, a40_yes[i]));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(a40_no); i++) {
                g_test_message("A40-8Q !~ \"%s\"", a40_no[i]);
                g_assert_false(vgpu_type_matches_profile(a40, a40_no[i]));
        }

        g_assert_true(vgpu_type_matches_profile(p40, "2B4"));
        g_assert_true(vgpu_type_matches_profile(p40, "P40-2B4"));
        g_assert_false(vgpu_type_matches_profile(p40, "2B"));
        g_assert_false(vgpu_type_matches_profile(p40, "B4"));

        g_assert_true(vgpu_type_matches_profile(mig, "1-5C"));
        g_assert_true(vgpu_type_matches_profile(mig, "A100-1-5C"));
        g_assert_false(vgpu_type_matches_profile(mig, "5C"));
        g_assert_false(vgpu_type_matches_profile(mig, "1-5CME"));

        g_assert_true(vgpu_type_matches_profile(m10, "0B"));
        g_assert_false(vgpu_type_matches_profile(m10, "0Q"));

        g_assert_true(vgpu_type_matches_profile(mtty, "mtty-2"));
        g_assert_true(vgpu_type_matches_profile(mtty, "dual port serial"));
        g_assert_false(vgpu_type_matches_profile(mtty, "2"));
        g_assert_true(vgpu_type_matches_profile(gvt, "i915-GVTg_V5_4"));
        g_assert_false(vgpu_type_matches_profile(gvt, "GVTg_V5_4"));
}

/* A profile and its parts always agree, and max_resolution is always well formed. */
static void assert_invariants(const VgpuType *t)
{
        if (t->profile) {
                g_assert_nonnull(t->board);
                g_assert_nonnull(t->series);
                g_assert_true(g_str_has_prefix(t->profile, t->board));
                g_assert_true(g_str_has_suffix(t->profile, t->series));
                g_assert_cmpint(t->vendor, ==, VGPU_VENDOR_NVIDIA);
                g_assert_cmpuint(t->mig_slices, <=, 8);
        } else {
                g_assert_null(t->board);
                g_assert_null(t->series);
                g_assert_cmpuint(t->mig_slices, ==, 0);
        }
        if (t->max_resolution) {
                unsigned w = 0, h = 0;
                char end = 0;

                g_assert_cmpint(sscanf(t->max_resolution, "%ux%u%c", &w, &h, &end), ==, 2);
                g_assert_cmpuint(w, >, 0);
                g_assert_cmpuint(h, >, 0);
        }
        if (t->name) {
                g_assert_cmpuint(strlen(t->name), >, 0);
                g_assert_false(g_ascii_isspace(t->name[0]));
                g_assert_false(g_ascii_isspace(t->name[strlen(t->name) - 1]));
        }
}

/* Every truncation of real names and descriptions, and random bytes from their alphabet: no crash, no
 * leak (under valgrind/ASan), invariants hold. */
static void test_truncations_and_noise(void)
{
        static const char *const names[] = {"GRID A100-1-5CME", "NVIDIA RTXA6000-48Q", "GRID P40-2B4",
                                            "NVIDIA 6000D-1-42CGFX"};
        static const char *const descriptions[] = {
                "num_heads=4, frl_config=60, framebuffer=49152M, max_resolution=7680x4320, max_instance=1",
                "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n",
                "virtual display, 16 MB video memory\n",
        };
        static const char alphabet[] = "GRIDNVA-0123456789QBCMEx=,: \n\tmfrl_aeh";
        GRand *rand = g_rand_new_with_seed(4242);

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                for (size_t len = 0; len <= strlen(names[i]); len++) {
                        g_autofree char *n = g_strndup(names[i], len);
                        g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", n, NULL);

                        assert_invariants(t);
                }
        for (size_t i = 0; i < G_N_ELEMENTS(descriptions); i++)
                for (size_t len = 0; len <= strlen(descriptions[i]); len++) {
                        g_autofree char *d = g_strndup(descriptions[i], len);
                        g_autoptr(VgpuType) t = vgpu_type_new("nvidia-1", NULL, d);
                        g_autoptr(VgpuType) u = vgpu_type_new("i915-x", NULL, d);

                        assert_invariants(t);
                        assert_invariants(u);
                }

        for (int i = 0; i < 20000; i++) {
                char name[24], desc[48];
                size_t nl = (size_t)g_rand_int_range(rand, 0, sizeof(name));
                size_t dl = (size_t)g_rand_int_range(rand, 0, sizeof(desc));
                g_autoptr(VgpuType) t = NULL;

                for (size_t k = 0; k < nl; k++)
                        name[k] = alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)];
                name[nl] = '\0';
                for (size_t k = 0; k < dl; k++)
                        desc[k] = alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)];
                desc[dl] = '\0';
                if (i % 2 == 0 && nl >= 5)
                        memcpy(name, "GRID ", 5);

                t = vgpu_type_new(i % 3 == 0 ? "i915-x" : "nvidia-1", name, desc);
                assert_invariants(t);
                (void)vgpu_type_matches_profile(t, desc);
                (void)vgpu_type_size_class(t);
        }
        g_rand_free(rand);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/vgpu-type/rtxa6000", test_rtxa6000);
        g_test_add_func("/vgpu-type/pascal-turing", test_pascal_turing);
        g_test_add_func("/vgpu-type/catalogue", test_catalogue);
        g_test_add_func("/vgpu-type/description-wins", test_description_wins);
        g_test_add_func("/vgpu-type/intel", test_intel);
        g_test_add_func("/vgpu-type/samples", test_samples);
        g_test_add_func("/vgpu-type/vendor", test_vendor);
        g_test_add_func("/vgpu-type/bad-names", test_bad_names);
        g_test_add_func("/vgpu-type/bad-descriptions", test_bad_descriptions);
        g_test_add_func("/vgpu-type/all-null", test_all_null);
        g_test_add_func("/vgpu-type/matches-profile", test_matches_profile);
        g_test_add_func("/vgpu-type/truncations-and-noise", test_truncations_and_noise);

        return g_test_run();
}
