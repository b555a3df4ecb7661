/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: every config of a layout file (daemon/model/layout.c) planned (layout-plan.c) on a fixed
 * host: a T4 (GPU 0) running another owner's 2Q and one of the layout's 1Q held by a VM, two A16
 * GPUs (1, 2) with the layout's 2Q, a mixed-size core and mtty (no index). */

#include <stdint.h>
#include <glib.h>

#include "layout-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NV(fb, max) \
        "num_heads=4, frl_config=60, framebuffer=" #fb "M, max_resolution=5120x2880, max_instance=" #max

static LayoutCore cores[5];

static void host_init(void)
{
        static const VgpuType *t4[3], *a16[2], *mtty[2];
        static const int t4_avail[3] = {0, 6, 0}, a16_avail[2] = {6, 0}, mtty_avail[2] = {20, 10};
        static LayoutDevice t4_devs[2], a16_devs[2];

        t4[0] = vgpu_type_new("nvidia-222", "GRID T4-1Q", NV(1024, 16));
        t4[1] = vgpu_type_new("nvidia-223", "GRID T4-2Q", NV(2048, 8));
        t4[2] = vgpu_type_new("nvidia-224", "GRID T4-4Q", NV(4096, 4));
        a16[0] = vgpu_type_new("nvidia-575", "NVIDIA A16-2Q", NV(2048, 8));
        a16[1] = vgpu_type_new("nvidia-576", "NVIDIA A16-4Q", NV(4096, 4));
        mtty[0] = vgpu_type_new("mtty-1", "Single port serial", NULL);
        mtty[1] = vgpu_type_new("mtty-2", "Dual port serial", NULL);
        t4_devs[0] = (LayoutDevice){.uuid = "00000000-0000-4000-8000-000000000001", .type = t4[1]};
        t4_devs[1] = (LayoutDevice){.uuid = "00000000-0000-4000-8000-000000000002",
                                    .type = t4[0],
                                    .managed = true,
                                    .held_by = "VM web (process 1, qemu)"};
        a16_devs[0] = (LayoutDevice){
                .uuid = "00000000-0000-4000-8000-000000000003", .type = a16[0], .managed = true};
        a16_devs[1] = (LayoutDevice){
                .uuid = "00000000-0000-4000-8000-000000000004", .type = a16[0], .managed = true};
        cores[0] = (LayoutCore){"0000:41:00.0", 0,  0x10de,   0x1eb8, 0x10de,  0x12a2,
                                false,          t4, t4_avail, 3,      t4_devs, 2};
        cores[1] = (LayoutCore){"0000:63:00.0", 1,   0x10de,    0x25b6, 0x10de,   0x14a9,
                                false,          a16, a16_avail, 2,      a16_devs, 2};
        cores[2] = (LayoutCore){"0000:64:00.0", 2,   0x10de,    0x25b6, 0x10de, 0x14a9,
                                false,          a16, a16_avail, 2,      NULL,   0};
        cores[3] =
                (LayoutCore){"0000:65:00.0", 3, 0x10de, 0x25b6, 0x10de, 0x157e, true, a16, NULL, 2, NULL, 0};
        cores[4] = (LayoutCore){"mtty", -1, 0, 0, 0, 0, false, mtty, mtty_avail, 2, NULL, 0};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        LayoutFile *f = NULL;
        g_autofree char *why = NULL;

        if (!cores[0].core)
                host_init();
        if (layout_parse((const char *)data, size, &f, &why) < 0)
                return 0;
        for (guint i = 0; i < f->configs->len; i++)
                for (int force = 0; force < 2; force++) {
                        LayoutPlan *p = NULL;
                        g_autofree char *reason = NULL;

                        if (layout_plan(f->configs->pdata[i], cores, G_N_ELEMENTS(cores), force, &p,
                                        &reason) >= 0) {
                                g_assert(reason == NULL);
                                layout_plan_free(p);
                        } else
                                g_assert(p == NULL && reason != NULL);
                }
        layout_file_free(f);
        return 0;
}
