/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the MIG side of the NVIDIA VF backend (daemon/nvidia-mig.c through sysfs-nvidia-vf.c) on
 * a temporary sysfs tree, without NVML (no libnvidia-ml.so.1 on the loader's path: the tests check that
 * first): an RTX PRO 6000 Blackwell PF at 0000:81:00.0 in MIG mode with three VFs. An admin made one
 * 1g.24gb GPU instance (id 3): the driver lists its two types on the empty VFs; the third VF runs a
 * DC-1-12Q on GPU instance 3. What the GPU offers with NVML (room, GPU instances made and destroyed) is
 * the integration tier's (tests/integration/test_vf_mig.py, with the fake NVML). */

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "errors.h"
#include "macro.h"
#include "tmp-tree.h"
#include "sysfs-nvidia-vf.h"

#define PF     "0000:81:00.0"
#define VF0    "0000:81:00.2"
#define VF1    "0000:81:00.3"
#define VF2    "0000:81:00.4"
#define UUID_A "3f1c2b4a-5d6e-4f70-8a91-b2c3d4e5f607"
#define HEADER "ID    : vGPU Name\n"
#define LISTED HEADER "1560  : NVIDIA RTX Pro 6000 Blackwell DC-1-12Q\n"

typedef struct {
        char *tmp, *root, *state;
} Tree;

static void vf(const Tree *t, int n, const char *addr, const char *creatable, const char *current,
               const char *gi)
{
        g_autofree char *dev = g_strdup_printf("devices/pci0000:80/%s", addr);
        g_autofree char *virtfn = g_strdup_printf("devices/pci0000:80/" PF "/virtfn%d", n);
        g_autofree char *target = g_strdup_printf("../%s", addr);
        g_autofree char *bus = g_strdup_printf("bus/pci/devices/%s", addr);
        g_autofree char *bus_target = g_strdup_printf("../../../devices/pci0000:80/%s", addr);
        g_autofree char *physfn = g_strdup_printf("%s/physfn", dev);
        g_autofree char *c = g_strdup_printf("%s/nvidia/creatable_vgpu_types", dev);
        g_autofree char *cur = g_strdup_printf("%s/nvidia/current_vgpu_type", dev);
        g_autofree char *gid = g_strdup_printf("%s/nvidia/gpu_instance_id", dev);
        g_autofree char *vendor = g_strdup_printf("%s/vendor", dev);
        g_autofree char *device = g_strdup_printf("%s/device", dev);

        tree_put(t->root, vendor, "0x10de\n");
        tree_put(t->root, device, "0x2bb5\n");
        tree_link(t->root, physfn, "../" PF);
        tree_link(t->root, virtfn, target);
        tree_link(t->root, bus, bus_target);
        tree_put(t->root, c, creatable);
        tree_put(t->root, cur, current);
        if (gi)
                tree_put(t->root, gid, gi);
}

static void tree_init(Tree *t)
{
        t->tmp = g_dir_make_tmp("vgpud-mig-XXXXXX", NULL);
        g_assert_nonnull(t->tmp);
        t->root = g_build_filename(t->tmp, "sys", NULL);
        t->state = g_build_filename(t->tmp, "state", NULL);
        g_assert_cmpint(g_mkdir_with_parents(t->state, 0755), ==, 0);
        tree_put(t->root, "devices/pci0000:80/" PF "/vendor", "0x10de\n");
        tree_put(t->root, "devices/pci0000:80/" PF "/device", "0x2bb5\n");
        tree_link(t->root, "bus/pci/devices/" PF, "../../../devices/pci0000:80/" PF);
        tree_put(t->root, "module/nvidia/version", "580.105.08\n");
        /* GPU instance 3 (1g.24gb) holds one 12 GB vGPU on VF2: room for one more DC-1-12Q */
        vf(t, 0, VF0, LISTED, "0\n", NULL);
        vf(t, 1, VF1, LISTED, "0\n", NULL);
        vf(t, 2, VF2, HEADER, "1560\n", "3\n");
        /* the catalogue remembers the 24 GB one from an earlier run (the driver lists it no more) */
        g_autofree char *catalog = g_build_filename(t->state, "nvidia-vf-types.conf", NULL);
        g_assert_true(
                g_file_set_contents(catalog,
                                    "[10de:2bb5 580.105.08]\n1519=NVIDIA RTX Pro 6000 Blackwell DC-3Q\n"
                                    "1560=NVIDIA RTX Pro 6000 Blackwell DC-1-12Q\n"
                                    "1561=NVIDIA RTX Pro 6000 Blackwell DC-1-24Q\n",
                                    -1, NULL));
}

static void tree_fini(Tree *t)
{
        tree_remove(t->tmp);
        g_free(t->tmp);
        g_free(t->root);
        g_free(t->state);
}

static const SysfsType *find_type(const SysfsParent *p, const char *id)
{
        for (guint i = 0; i < p->types->len; i++)
                if (g_str_equal(((SysfsType *)p->types->pdata[i])->id, id))
                        return p->types->pdata[i];
        g_test_fail_printf("%s has no type %s", p->name, id);
        return NULL;
}

static bool no_nvml(void)
{
        void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);

        if (lib) {
                dlclose(lib);
                g_test_skip("an NVML is on the loader's path: these cases are about its absence");
                return false;
        }
        return true;
}

static void test_types_without_nvml(void)
{
        Tree t = {};
        g_autoptr(Backend) b = NULL;
        g_autoptr(SysfsParent) p0 = NULL, p2 = NULL;
        const SysfsType *t12, *t24, *t3;

        if (!no_nvml())
                return;
        tree_init(&t);
        b = backend_nvidia_vf_new(t.root, t.state);
        g_assert_cmpint(b->class->read_parent(b, VF0, &p0), ==, 0);
        t12 = find_type(p0, "nvidia-1560");
        t24 = find_type(p0, "nvidia-1561");
        t3 = find_type(p0, "nvidia-1519");
        g_assert_nonnull(t12);
        g_assert_nonnull(t24);
        g_assert_nonnull(t3);
        /* MIG-backed by their names; NVML cannot give the profile */
        g_assert_true(t12->mig_backed && t24->mig_backed);
        g_assert_false(t3->mig_backed);
        g_assert_cmpuint(t12->gpu_instance_profile, ==, G_MAXUINT);
        /* the listed one: the driver has a GPU instance with room, usable without NVML */
        g_assert_cmpint(t12->available_instances, ==, 1);
        g_assert_cmpint(t12->refusal, ==, 0);
        /* the unlisted one would need a new GPU instance: only NVML makes them */
        g_assert_cmpint(t24->available_instances, ==, 0);
        g_assert_cmpint(t24->refusal, ==, -ELIBACC);
        g_assert_cmpint(t3->refusal, ==, 0);

        /* the running vGPU: the GPU instance the driver chose, read back */
        g_assert_cmpint(b->class->read_parent(b, VF2, &p2), ==, 0);
        {
                g_autoptr(SysfsDevice) d = NULL;
                g_assert_cmpint(b->class->read_parent_device(b, p2, &d), ==, 0);
                g_assert_cmpstr(d->type_id, ==, "nvidia-1560");
                g_assert_cmpint(d->gpu_instance_id, ==, 3);
        }
        tree_fini(&t);
}

static void test_create_without_nvml(void)
{
        Tree t = {};
        g_autoptr(Backend) b = NULL;
        g_autoptr(SysfsParent) p1 = NULL;
        g_autofree char *cur = NULL;

        if (!no_nvml())
                return;
        tree_init(&t);
        b = backend_nvidia_vf_new(t.root, t.state);
        g_assert_cmpint(b->class->read_parent(b, VF1, &p1), ==, 0);
        /* a new GPU instance would be needed: refused before the write */
        g_assert_cmpint(b->class->create(b, p1, "nvidia-1561", UUID_A), ==, -ELIBACC);
        cur = tree_get(t.root, "devices/pci0000:80/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0\n");
        /* the listed type goes onto the existing GPU instance: written (a plain file reads back) */
        g_assert_cmpint(b->class->create(b, p1, "nvidia-1560", UUID_A), ==, 0);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:80/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "1560");
        tree_fini(&t);
}

static void test_time_sliced_device_has_no_gpu_instance(void)
{
        Tree t = {};
        g_autoptr(Backend) b = NULL;
        g_autoptr(SysfsParent) p0 = NULL;
        g_autoptr(SysfsDevice) d = NULL;

        tree_init(&t);
        /* a time-sliced vGPU: whatever gpu_instance_id says, it sits on no GPU instance */
        tree_put(t.root, "devices/pci0000:80/" VF0 "/nvidia/current_vgpu_type", "1519\n");
        tree_put(t.root, "devices/pci0000:80/" VF0 "/nvidia/gpu_instance_id", "0\n");
        b = backend_nvidia_vf_new(t.root, t.state);
        g_assert_cmpint(b->class->read_parent(b, VF0, &p0), ==, 0);
        g_assert_cmpint(b->class->read_parent_device(b, p0, &d), ==, 0);
        g_assert_cmpstr(d->type_id, ==, "nvidia-1519");
        g_assert_cmpint(d->gpu_instance_id, ==, -1);
        tree_fini(&t);
}

static void test_refusals_are_named(void)
{
        g_assert_cmpstr(vgpud_error_name_from_errno(-EMEDIUMTYPE), ==, "org.vgpud1.Error.MigModeOff");
        g_assert_cmpstr(vgpud_error_name_from_errno(-ELIBACC), ==, "org.vgpud1.Error.NvmlUnavailable");
        g_assert_cmpstr(vgpud_error_name_from_errno(-ENOSR), ==, "org.vgpud1.Error.NoGpuInstance");
        g_assert_nonnull(strstr(backend_refusal_message(-EMEDIUMTYPE), "MIG mode is off"));
        g_assert_nonnull(strstr(backend_refusal_message(-ELIBACC), "NVML"));
        g_assert_nonnull(strstr(backend_refusal_message(-ENOSR), "0x38"));
        g_assert_null(backend_refusal_message(-EIO));
        g_assert_null(backend_refusal_message(0));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/nvidia-mig/types-without-nvml", test_types_without_nvml);
        g_test_add_func("/nvidia-mig/create-without-nvml", test_create_without_nvml);
        g_test_add_func("/nvidia-mig/time-sliced-device", test_time_sliced_device_has_no_gpu_instance);
        g_test_add_func("/nvidia-mig/refusals", test_refusals_are_named);
        return g_test_run();
}
