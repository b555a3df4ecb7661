/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the backends (daemon/sysfs-mdev.c, daemon/sysfs-nvidia-vf.c), the inventory over them
 * and the lifecycle engine on a private sd-event loop, all on a temporary sysfs tree: an mdev parent
 * (a T4 at 0000:41:00.0 with one running device) and an L40S PF at 0000:c1:00.0 with two VFs in the
 * vendor-specific VFIO form (nvidia/creatable_vgpu_types, nvidia/current_vgpu_type). Files written by
 * the code under test are plain files here, so a write reads back as written, as on a real VF. */

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "tmp-tree.h"
#include "inventory.h"
#include "ops.h"
#include "sriov.h"
#include "sysfs-util.h"
#include "sysfs-mdev.h"
#include "sysfs-nvidia-vf.h"
#include "uuid.h"

#define T4      "0000:41:00.0"
#define PF      "0000:c1:00.0"
#define VF1     "0000:c1:00.4"
#define VF2     "0000:c1:00.5"
#define MDEV_U1 "6c1f4a1e-2d7b-4b8e-9a55-7f0e2a1d3c41"
#define VF_U1   "0b7b3c2a-91d4-4f7e-8a35-2c6d1e9f4a10"

#define HEADER  "ID    : vGPU Name\n"

typedef struct {
        char *tmp;   /* the temporary directory */
        char *root;  /* <tmp>/sys */
        char *state; /* <tmp>/state */
        char *defs;  /* <tmp>/defs */
} Tree;

static void pci_ids(const char *root, const char *dev, const char *vendor, const char *device)
{
        g_autofree char *v = g_build_filename(dev, "vendor", NULL);
        g_autofree char *d = g_build_filename(dev, "device", NULL);
        g_autofree char *s = g_build_filename(dev, "subsystem", NULL);

        tree_put(root, v, vendor);
        tree_put(root, d, device);
        tree_link(root, s, "../../../bus/pci");
}

static void vf(const Tree *t, const char *addr, const char *creatable, const char *current, int group)
{
        g_autofree char *dev = g_strdup_printf("devices/pci0000:c0/%s", addr);
        g_autofree char *bus = g_strdup_printf("bus/pci/devices/%s", addr);
        g_autofree char *target = g_strdup_printf("../../../devices/pci0000:c0/%s", addr);
        g_autofree char *physfn = g_strdup_printf("%s/physfn", dev);
        g_autofree char *c = g_strdup_printf("%s/nvidia/creatable_vgpu_types", dev);
        g_autofree char *cur = g_strdup_printf("%s/nvidia/current_vgpu_type", dev);
        g_autofree char *grp = g_strdup_printf("%s/iommu_group", dev);
        g_autofree char *grp_target = g_strdup_printf("../../../kernel/iommu_groups/%d", group);

        pci_ids(t->root, dev, "0x10de", "0x26b9");
        tree_link(t->root, physfn, "../" PF);
        tree_put(t->root, c, creatable);
        tree_put(t->root, cur, current);
        tree_link(t->root, bus, target);
        tree_link(t->root, grp, grp_target);
}

static void tree_init(Tree *t)
{
        t->tmp = g_dir_make_tmp("vgpud-backends-XXXXXX", NULL);
        g_assert_nonnull(t->tmp);
        t->root = g_build_filename(t->tmp, "sys", NULL);
        t->state = g_build_filename(t->tmp, "state", NULL);
        t->defs = g_build_filename(t->tmp, "defs", NULL);
        g_assert_cmpint(g_mkdir_with_parents(t->state, 0755), ==, 0);

        /* the T4: an mdev parent with one type and one device */
        const char *t4 = "devices/pci0000:40/" T4;
        pci_ids(t->root, t4, "0x10de", "0x1eb8");
        tree_put(t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/name", "GRID T4-2Q\n");
        tree_put(
                t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/description",
                "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8\n");
        tree_put(t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/available_instances",
                 "7\n");
        tree_put(t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/device_api",
                 "vfio-pci\n");
        tree_put(t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/create", "");
        tree_link(t->root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/devices/" MDEV_U1,
                  "../../../" MDEV_U1);
        tree_link(t->root, "devices/pci0000:40/" T4 "/" MDEV_U1 "/mdev_type",
                  "../mdev_supported_types/nvidia-222");
        tree_put(t->root, "devices/pci0000:40/" T4 "/" MDEV_U1 "/remove", "");
        tree_link(t->root, "class/mdev_bus/" T4, "../../devices/pci0000:40/" T4);
        tree_link(t->root, "bus/mdev/devices/" MDEV_U1, "../../../devices/pci0000:40/" T4 "/" MDEV_U1);
        tree_link(t->root, "bus/pci/devices/" T4, "../../../devices/pci0000:40/" T4);

        /* the L40S: a PF without nvidia/, two VFs; the second already runs an L40S-2Q */
        pci_ids(t->root, "devices/pci0000:c0/" PF, "0x10de", "0x26b9");
        tree_link(t->root, "bus/pci/devices/" PF, "../../../devices/pci0000:c0/" PF);
        vf(t, VF1, HEADER "1145  : NVIDIA L40S-1B\n1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n", "0\n",
           71);
        vf(t, VF2, HEADER, "1148\n", 72);
        tree_put(t->root, "module/nvidia/version", "580.95.05\n");
}

static void tree_fini(Tree *t)
{
        tree_remove(t->tmp);
        g_free(t->tmp);
        g_free(t->root);
        g_free(t->state);
        g_free(t->defs);
}

/* The type id of p; the test fails when p does not have it. */
static const SysfsType *find_type(const SysfsParent *p, const char *id)
{
        static const SysfsType none = {.id = (char *)"none", .available_instances = -2};

        for (guint i = 0; i < p->types->len; i++)
                if (g_str_equal(((SysfsType *)p->types->pdata[i])->id, id))
                        return p->types->pdata[i];
        g_test_fail_printf("%s has no type %s", p->name, id);
        return &none;
}

static void test_mdev_backend(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Backend) b = backend_mdev_new(t.root);
        g_auto(GStrv) names = NULL;
        g_autoptr(SysfsParent) p = NULL;
        g_autoptr(SysfsDevice) d = NULL;
        g_autoptr(GPtrArray) parents = g_ptr_array_new();
        g_autoptr(GPtrArray) devs = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_device_free);
        g_autofree char *created = NULL, *removed = NULL;
        char *none[] = {NULL};

        g_assert_cmpint(b->class->list_parents(b, &names), ==, 0);
        g_assert_cmpstrv(names, ((char *[]){(char *)T4, NULL}));
        g_assert_false(b->class->parent_exists(b, VF1));
        g_assert_cmpint(b->class->read_parent(b, T4, &p), ==, 0);
        g_assert_true(p->backend == b);
        g_assert_cmpuint(p->vendor_id, ==, 0x10de);
        g_assert_cmpuint(p->device_id, ==, 0x1eb8);
        g_assert_cmpstr(p->subsystem, ==, "pci");
        g_assert_cmpuint(p->types->len, ==, 1);
        g_assert_cmpstr(find_type(p, "nvidia-222")->name, ==, "GRID T4-2Q");
        g_assert_cmpint(find_type(p, "nvidia-222")->available_instances, ==, 7);

        g_ptr_array_add(parents, p);
        g_assert_cmpint(b->class->list_devices(b, parents, devs), ==, 0);
        g_assert_cmpuint(devs->len, ==, 1);
        g_assert_cmpstr(((SysfsDevice *)devs->pdata[0])->uuid, ==, MDEV_U1);
        g_assert_cmpint(b->class->read_device(b, MDEV_U1, &d), ==, 0);
        g_assert_cmpstr(d->parent, ==, T4);
        g_assert_cmpstr(d->type_id, ==, "nvidia-222");
        g_assert_cmpint(b->class->read_device(b, VF_U1, &d), ==, -ENOENT);

        /* the writes: a UUID to create (the uevent says when it is there), "1" to remove */
        g_assert_cmpint(b->class->create(b, p, "nvidia-222", VF_U1), ==, 1);
        created = tree_get(t.root, "devices/pci0000:40/" T4 "/mdev_supported_types/nvidia-222/create");
        g_assert_cmpstr(created, ==, VF_U1);
        g_assert_cmpint(b->class->remove(b, d), ==, 1);
        removed = tree_get(t.root, "devices/pci0000:40/" T4 "/" MDEV_U1 "/remove");
        g_assert_cmpstr(removed, ==, "1");
        g_assert_cmpint(b->class->uevent(b, "mdev", MDEV_U1, none), ==, BACKEND_EVENT_DEVICE);
        g_free(none[0]);
        none[0] = NULL;
        g_assert_cmpint(b->class->uevent(b, "pci", VF1, none), ==, BACKEND_EVENT_NONE);
        tree_fini(&t);
}

static void test_vf_parse(void)
{
        g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        char u1[37], u2[37], u3[37];

        nvidia_vf_parse_creatable(HEADER "1145  : NVIDIA L40S-1B\n2164  : NVIDIA L40S-3B\nodd line\n"
                                         "x : y\n",
                                  ids, names);
        g_assert_cmpuint(ids->len, ==, 2);
        g_assert_cmpint(g_array_index(ids, int, 0), ==, 1145);
        g_assert_cmpstr(names->pdata[1], ==, "NVIDIA L40S-3B");
        nvidia_vf_parse_creatable(HEADER, ids, names);
        nvidia_vf_parse_creatable(NULL, ids, names);
        g_assert_cmpuint(ids->len, ==, 2);

        nvidia_vf_derive_uuid(VF1, u1);
        nvidia_vf_derive_uuid(VF1, u2);
        nvidia_vf_derive_uuid(VF2, u3);
        g_assert_cmpstr(u1, ==, u2);
        g_assert_cmpstr(u1, !=, u3);
        g_assert_true(vgpu_uuid_is_canonical(u1));
        g_assert_cmpint(u1[14], ==, '5');
}

static void test_vf_backend(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Backend) b = backend_nvidia_vf_new(t.root, t.state);
        g_auto(GStrv) names = NULL;
        g_autoptr(SysfsParent) p1 = NULL, p2 = NULL;
        g_autoptr(SysfsDevice) d = NULL, d2 = NULL;
        g_autofree char *cur = NULL, *group = NULL;
        char derived[37];

        g_assert_cmpint(b->class->list_parents(b, &names), ==, 0);
        g_assert_cmpstrv(names, ((char *[]){(char *)VF1, (char *)VF2, NULL}));
        g_assert_false(b->class->parent_exists(b, PF));
        g_assert_false(b->class->parent_exists(b, T4));

        /* VF2 lists nothing (it holds a vGPU), but its type is known from VF1 once VF1 was read */
        g_assert_cmpint(b->class->read_parent(b, VF2, &p2), ==, 0);
        g_assert_cmpuint(p2->types->len, ==, 1);
        g_assert_null(find_type(p2, "nvidia-1148")->name);
        g_assert_cmpint(b->class->read_parent(b, VF1, &p1), ==, 0);
        g_assert_cmpstr(p1->physfn, ==, PF);
        g_assert_cmpuint(p1->types->len, ==, 3);
        g_assert_cmpint(find_type(p1, "nvidia-1145")->available_instances, ==, 1);
        g_assert_cmpstr(find_type(p1, "nvidia-1145")->device_api, ==, "vfio-pci");
        g_assert_cmpint(b->class->refresh_types(b, p2), ==, 0);
        g_assert_cmpuint(p2->types->len, ==, 3);
        g_assert_cmpstr(find_type(p2, "nvidia-1148")->name, ==, "NVIDIA L40S-2Q");
        g_assert_cmpint(find_type(p2, "nvidia-1148")->available_instances, ==, 0);

        /* the running vGPU nobody recorded: a UUID derived from the VF's address */
        g_assert_cmpint(b->class->read_parent_device(b, p1, &d), ==, -ENOENT);
        g_assert_cmpint(b->class->read_parent_device(b, p2, &d), ==, 0);
        nvidia_vf_derive_uuid(VF2, derived);
        g_assert_cmpstr(d->uuid, ==, derived);
        g_assert_cmpstr(d->type_id, ==, "nvidia-1148");
        g_assert_cmpint(b->class->read_device(b, derived, &d2), ==, 0);
        g_assert_cmpstr(d2->parent, ==, VF2);
        group = nvidia_vf_vfio_group(b, VF2);
        g_assert_cmpstr(group, ==, "72");

        /* create: the ID is written and reads back; done at once (no uevent), the UUID remembered */
        g_assert_cmpint(b->class->create(b, p1, "nvidia-1145", VF_U1), ==, 0);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "1145");
        g_clear_pointer(&d2, sysfs_device_free);
        g_assert_cmpint(b->class->read_device(b, VF_U1, &d2), ==, 0);
        g_assert_cmpstr(d2->parent, ==, VF1);
        g_assert_cmpint(b->class->create(b, p1, "1145", VF_U1), ==, -EINVAL);

        /* a new backend (a restart) knows the UUID and the types from the state directory */
        {
                g_autoptr(Backend) again = backend_nvidia_vf_new(t.root, t.state);
                g_autoptr(SysfsDevice) d3 = NULL;
                g_autoptr(SysfsParent) p3 = NULL;

                g_assert_cmpint(again->class->read_parent(again, VF2, &p3), ==, 0);
                g_assert_cmpuint(p3->types->len, ==, 3);
                g_assert_cmpint(again->class->read_parent_device(again, p1, &d3), ==, 0);
                g_assert_cmpstr(d3->uuid, ==, VF_U1);
        }

        /* remove: 0 is written and reads back; the UUID is forgotten */
        g_assert_cmpint(b->class->remove(b, d2), ==, 0);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0");
        g_clear_pointer(&d2, sysfs_device_free);
        g_assert_cmpint(b->class->read_device(b, VF_U1, &d2), ==, -ENOENT);
        tree_fini(&t);
}

static Inventory *inventory_on(const Tree *t)
{
        Inventory *inv = inventory_new(t->defs);

        inventory_add_backend(inv, backend_mdev_new(t->root));
        inventory_add_backend(inv, backend_nvidia_vf_new(t->root, t->state));
        return inv;
}

static void test_inventory(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Inventory) inv = inventory_on(&t);
        InvParent *p1, *p2, *t4;
        InvDevice *d;
        char derived[37];
        g_autofree char *syspath = NULL;

        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_GPU), ==, 3);
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_DEVICE), ==, 2);
        t4 = inventory_get_parent(inv, T4);
        p1 = inventory_get_parent(inv, VF1);
        p2 = inventory_get_parent(inv, VF2);
        g_assert_nonnull(t4);
        g_assert_nonnull(p1);
        g_assert_nonnull(p2);
        g_assert_cmpstr(backend_name(t4->sys->backend), ==, "mdev");
        g_assert_cmpstr(backend_name(p1->sys->backend), ==, "nvidia-vf");
        /* one GPU core: the PF */
        g_assert_cmpstr(p1->core, ==, PF);
        g_assert_cmpstr(p2->core, ==, PF);
        g_assert_cmpstr(t4->core, ==, T4);
        g_assert_cmpuint(p1->cap.used, ==, 1);
        g_assert_cmpuint(p1->cap.size_class_mib, ==, 2048);

        nvidia_vf_derive_uuid(VF2, derived);
        d = inventory_get_device(inv, derived);
        g_assert_nonnull(d);
        g_assert_cmpstr(d->type->name, ==, "NVIDIA L40S-2Q");
        g_assert_cmpuint(d->type->framebuffer_mib, ==, 2048);
        syspath = inventory_device_syspath(inv, d);
        g_assert_true(g_str_has_suffix(syspath, "/devices/pci0000:c0/" VF2));
        g_assert_nonnull(inventory_get_device(inv, MDEV_U1));

        /* someone writes 0 (no uevent on a real host: a parent re-read finds the vGPU gone) */
        tree_put(t.root, "devices/pci0000:c0/" VF2 "/nvidia/current_vgpu_type", "0\n");
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/creatable_vgpu_types",
                 HEADER "1145  : NVIDIA L40S-1B\n1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        tree_put(t.root, "devices/pci0000:c0/" VF2 "/nvidia/creatable_vgpu_types",
                 HEADER "1145  : NVIDIA L40S-1B\n1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        inventory_parent_changed(inv, VF2);
        inventory_parent_changed(inv, VF1);
        g_assert_null(inventory_get_device(inv, derived));
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_DEVICE), ==, 1);
        g_assert_cmpuint(inventory_get_parent(inv, VF1)->cap.used, ==, 0);

        /* SR-IOV disabled: the VFs go, and so does their vGPU */
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type", "1146\n");
        inventory_parent_changed(inv, VF1);
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_DEVICE), ==, 2);
        {
                g_autofree char *nvidia =
                        g_build_filename(t.root, "devices/pci0000:c0/" VF1, "nvidia", NULL);
                tree_remove(nvidia);
        }
        inventory_parent_changed(inv, VF1);
        g_assert_null(inventory_get_parent(inv, VF1));
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_DEVICE), ==, 1);
        tree_fini(&t);
}

/* ---- the engine ---- */

typedef struct {
        sd_event *event;
        int r;
        char *message;
        bool done;
} Wait;

static void on_done(int r, const char *message, const char *uuid, const char *parent, void *userdata)
{
        Wait *w = userdata;

        w->r = r;
        w->message = g_strdup(message);
        w->done = true;
}

static int run_request(sd_event *e, Ops *ops, OpsRequest *req, char **ret_message)
{
        Wait w = {.event = e};

        ops_submit(ops, req, on_done, &w);
        for (int i = 0; i < 1000 && !w.done; i++)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);
        g_assert_true(w.done);
        if (ret_message)
                *ret_message = w.message;
        else
                g_free(w.message);
        return w.r;
}

static void test_engine_vf(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Inventory) inv = inventory_on(&t);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(Ops) ops = NULL;
        g_autofree char *cur = NULL, *msg = NULL;
        OpsRequest *req;
        InvDevice *d;

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        g_assert_cmpint(ops_new(e, inv, NULL, &ops), ==, 0);

        /* Start on a VF: ready when the reply comes, though no uevent ever comes */
        req = ops_request_new(OPS_START);
        req->parent = g_strdup(VF1);
        req->uuid = g_strdup(VF_U1);
        req->start.definition = g_strdup("{\"mdev_type\":\"nvidia-1148\",\"start\":\"manual\"}");
        g_assert_cmpint(run_request(e, ops, req, &msg), ==, 0);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "1148");
        d = inventory_get_device(inv, VF_U1);
        g_assert_nonnull(d);
        g_assert_cmpstr(d->sys->parent, ==, VF1);
        g_assert_cmpuint(inventory_get_parent(inv, VF1)->cap.used, ==, 2);

        /* another size on the same core: SizeConflict before anything is written (VF1 lists what the
         * driver lists next to a 2 GB vGPU: the 2 GB types) */
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type", "0\n");
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/creatable_vgpu_types",
                 HEADER "1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        inventory_parent_changed(inv, VF1);
        req = ops_request_new(OPS_START);
        req->parent = g_strdup(VF1);
        req->uuid = g_strdup(VF_U1);
        req->start.definition = g_strdup("{\"mdev_type\":\"nvidia-1145\",\"start\":\"manual\"}");
        g_clear_pointer(&msg, g_free);
        g_assert_cmpint(run_request(e, ops, req, &msg), ==, -EXDEV);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0\n");

        /* Stop on a VF: 0 written, gone when the reply comes */
        req = ops_request_new(OPS_START);
        req->parent = g_strdup(VF1);
        req->uuid = g_strdup(VF_U1);
        req->start.definition = g_strdup("{\"mdev_type\":\"nvidia-1148\",\"start\":\"manual\"}");
        g_assert_cmpint(run_request(e, ops, req, NULL), ==, 0);
        req = ops_request_new(OPS_STOP);
        req->uuid = g_strdup(VF_U1);
        g_assert_cmpint(run_request(e, ops, req, NULL), ==, 0);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0");
        g_assert_null(inventory_get_device(inv, VF_U1));
        tree_fini(&t);
}

/* ---- reservations: creations of one type on one mdev parent overlap ---- */

#define T4_DIR "devices/pci0000:40/" T4

/* A start request on the T4 (no callouts, no attributes); timeout_ms 0: the default. */
static void submit_start(Ops *ops, const char *uuid, const char *type, unsigned timeout_ms, Wait *w)
{
        OpsRequest *req = ops_request_new(OPS_START);

        req->parent = g_strdup(T4);
        req->uuid = g_strdup(uuid);
        req->start.definition = g_strdup_printf("{\"mdev_type\":\"%s\",\"start\":\"manual\"}", type);
        req->timeout_usec = (uint64_t)timeout_ms * 1000;
        *w = (Wait){};
        ops_submit(ops, req, on_done, w);
}

/* Run the loop until cond(ops) holds or 10 s pass; returns whether it holds. */
static bool run_until(sd_event *e, Ops *ops, bool (*cond)(Ops *ops, void *data), void *data)
{
        for (int i = 0; i < 1000 && !cond(ops, data); i++)
                g_assert_cmpint(sd_event_run(e, 10 * 1000), >=, 0);
        return cond(ops, data);
}

static unsigned reserved(Ops *ops)
{
        return ops_reservations(ops, T4, NULL, NULL);
}

/* data reservations, and every write to create in flight answered (the writes are made off the loop) */
static bool reserved_is(Ops *ops, void *data)
{
        return reserved(ops) == GPOINTER_TO_UINT(data) && ops_writes_pending(ops) == 0;
}

/* Is got one of the n UUIDs from first on? (Writes in flight at once land in any order.) */
static bool one_of(const char *got, const char *const *first, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (g_str_equal(got, first[i]))
                        return true;
        return false;
}

static bool all_done(Ops *ops, void *data)
{
        for (Wait *const *w = data; *w; w++)
                if (!(*w)->done)
                        return false;
        return true;
}

/* The kernel made the device: its directory and links, as tree_init() makes MDEV_U1's; then the
 * uevent batch the daemon would get. */
static void appear(const Tree *t, Inventory *inv, Ops *ops, const char *uuid, const char *type)
{
        g_autofree char *in_type = g_strdup_printf(T4_DIR "/mdev_supported_types/%s/devices/%s", type, uuid);
        g_autofree char *type_link = g_strdup_printf(T4_DIR "/%s/mdev_type", uuid);
        g_autofree char *type_target = g_strdup_printf("../mdev_supported_types/%s", type);
        g_autofree char *remove = g_strdup_printf(T4_DIR "/%s/remove", uuid);
        g_autofree char *bus = g_strdup_printf("bus/mdev/devices/%s", uuid);
        g_autofree char *bus_target = g_strdup_printf("../../../" T4_DIR "/%s", uuid);
        g_autofree char *dev_target = g_strdup_printf("../../../%s", uuid);
        char *devices[] = {(char *)uuid, NULL};

        tree_link(t->root, in_type, dev_target);
        tree_link(t->root, type_link, type_target);
        tree_put(t->root, remove, "");
        tree_link(t->root, bus, bus_target);
        inventory_update(inv, NULL, devices);
        ops_uevents(ops, NULL, devices, NULL);
}

static char *written(const Tree *t, const char *type)
{
        g_autofree char *rel = g_strdup_printf(T4_DIR "/mdev_supported_types/%s/create", type);
        return tree_get(t->root, rel);
}

/* The T4 (2Q: 8 per core, one running) also offers 4Q. A plain file takes the writes, and its counts
 * change only when the test says: what the engine decides comes from its reservations alone. */
static void test_engine_reservations(void)
{
        static const char *const u[] = {
                "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b",
                "00000000-0000-4000-8000-00000000000c", "00000000-0000-4000-8000-00000000000d",
                "00000000-0000-4000-8000-00000000000e", "00000000-0000-4000-8000-00000000000f",
                "00000000-0000-4000-8000-000000000010", "00000000-0000-4000-8000-000000000011",
                "00000000-0000-4000-8000-000000000012", "00000000-0000-4000-8000-000000000013",
        };
        Tree t = {};
        tree_init(&t);
        tree_put(t.root, T4_DIR "/mdev_supported_types/nvidia-223/name", "GRID T4-4Q\n");
        tree_put(
                t.root, T4_DIR "/mdev_supported_types/nvidia-223/description",
                "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4\n");
        tree_put(t.root, T4_DIR "/mdev_supported_types/nvidia-223/available_instances", "0\n");
        tree_put(t.root, T4_DIR "/mdev_supported_types/nvidia-223/device_api", "vfio-pci\n");
        tree_put(t.root, T4_DIR "/mdev_supported_types/nvidia-223/create", "");
        g_autoptr(Inventory) inv = inventory_on(&t);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(Ops) ops = NULL;
        g_autofree char *w4q = NULL, *w2q = NULL;
        Wait a, b, c, x, more[6];
        const char *parent = NULL, *type = NULL;

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        g_assert_cmpint(ops_new(e, inv, NULL, &ops), ==, 0);

        /* three 2Q creations are written before the kernel shows any: each reserves its room */
        submit_start(ops, u[0], "nvidia-222", 0, &a);
        submit_start(ops, u[1], "nvidia-222", 0, &b);
        submit_start(ops, u[2], "nvidia-222", 300, &c);
        g_assert_true(run_until(e, ops, reserved_is, GUINT_TO_POINTER(3)));
        g_assert_cmpuint(ops_reservations(ops, T4, &parent, &type), ==, 3);
        g_assert_cmpstr(parent, ==, T4);
        g_assert_cmpstr(type, ==, "nvidia-222");
        g_assert_false(a.done || b.done || c.done);
        w2q = written(&t, "nvidia-222");
        g_assert_true(one_of(w2q, u, 3)); /* the last of three writes, in flight at once */

        /* 4Q while 2Q creations are unseen: it cannot count them, so it waits its turn, unwritten */
        submit_start(ops, u[3], "nvidia-223", 0, &x);
        for (int i = 0; i < 20; i++)
                g_assert_cmpint(sd_event_run(e, 1000), >=, 0);
        g_assert_false(x.done);
        w4q = written(&t, "nvidia-223");
        g_assert_cmpstr(w4q, ==, "");

        /* two appear: done, their reservations released; the one the kernel never shows times out */
        appear(&t, inv, ops, u[0], "nvidia-222");
        appear(&t, inv, ops, u[1], "nvidia-222");
        g_assert_true(run_until(e, ops, all_done, (Wait *[]){&a, &b, NULL}));
        g_assert_cmpint(a.r, ==, 0);
        g_assert_cmpint(b.r, ==, 0);
        g_assert_true(run_until(e, ops, all_done, (Wait *[]){&c, &x, NULL}));
        g_assert_cmpint(c.r, ==, -ETIMEDOUT);
        g_assert_cmpuint(reserved(ops), ==, 0);
        /* then the 4Q decides on what the core holds (2Q): SizeConflict, nothing written */
        g_assert_cmpint(x.r, ==, -EXDEV);
        g_free(w4q);
        w4q = written(&t, "nvidia-223");
        g_assert_cmpstr(w4q, ==, "");

        /* 3 of 8 run; the count file still says 7 (stale): the reservations stop at the core's 8 */
        for (guint i = 0; i < G_N_ELEMENTS(more); i++)
                submit_start(ops, u[4 + i], "nvidia-222", 0, &more[i]);
        g_assert_true(run_until(e, ops, reserved_is, GUINT_TO_POINTER(5)));
        for (int i = 0; i < 20; i++)
                g_assert_cmpint(sd_event_run(e, 1000), >=, 0);
        g_assert_cmpuint(reserved(ops), ==, 5);
        g_assert_false(more[5].done); /* waits: full only counting the reservations */
        g_free(w2q);
        w2q = written(&t, "nvidia-222");
        g_assert_true(one_of(w2q, u + 4, 5));
        /* the kernel shows them and says 0 left: the last is refused by the count, unwritten */
        tree_put(t.root, T4_DIR "/mdev_supported_types/nvidia-222/available_instances", "0\n");
        for (guint i = 0; i < 5; i++)
                appear(&t, inv, ops, u[4 + i], "nvidia-222");
        g_assert_true(
                run_until(e, ops, all_done,
                          (Wait *[]){&more[0], &more[1], &more[2], &more[3], &more[4], &more[5], NULL}));
        for (guint i = 0; i < 5; i++)
                g_assert_cmpint(more[i].r, ==, 0);
        g_assert_cmpint(more[5].r, ==, -ENOSPC);
        g_free(w2q);
        w2q = written(&t, "nvidia-222");
        g_assert_true(one_of(w2q, u + 4, 5)); /* nothing more written */
        g_assert_cmpuint(inventory_get_parent(inv, T4)->cap.used, ==, 8);
        g_assert_cmpuint(reserved(ops), ==, 0);
        for (Wait *w = &a; w; w = w == &a ? &b : w == &b ? &c : w == &c ? &x : NULL)
                g_free(w->message);
        for (guint i = 0; i < G_N_ELEMENTS(more); i++)
                g_free(more[i].message);
        tree_fini(&t);
}

/* Definitions of VF vGPUs go to vgpud's own store, and autostart brings them back. */
static void test_engine_vf_definitions(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Inventory) inv = inventory_on(&t);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(Ops) ops = NULL;
        g_autofree char *own = g_build_filename(t.tmp, "own", NULL);
        g_autofree char *own_file = g_build_filename(own, VF1, VF_U1, NULL);
        g_autofree char *mdevctl_file = g_build_filename(t.defs, VF1, VF_U1, NULL);
        g_autofree char *cur = NULL;
        g_autoptr(GPtrArray) defs = NULL;
        g_auto(GStrv) parents = NULL;
        OpsRequest *req;

        inventory_set_own_definitions_dir(inv, own);
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        g_assert_cmpint(ops_new(e, inv, NULL, &ops), ==, 0);
        g_assert_cmpstr(inventory_definitions_dir_for(inv, VF1), ==, own);
        g_assert_cmpstr(inventory_definitions_dir_for(inv, T4), ==, t.defs);

        req = ops_request_new(OPS_DEFINE);
        req->parent = g_strdup(VF1);
        req->uuid = g_strdup(VF_U1);
        req->define.definition = g_strdup("{\"mdev_type\":\"nvidia-1148\",\"start\":\"auto\"}");
        g_assert_cmpint(run_request(e, ops, req, NULL), ==, 0);
        g_assert_true(g_file_test(own_file, G_FILE_TEST_IS_REGULAR));
        g_assert_false(g_file_test(mdevctl_file, G_FILE_TEST_EXISTS));
        defs = inventory_list_definitions(inv);
        g_assert_cmpuint(defs->len, ==, 1);
        g_assert_true(((InvDefinition *)defs->pdata[0])->own_store);
        g_assert_cmpint(inventory_find_definitions(inv, VF_U1, &parents), ==, 0);
        g_assert_cmpstrv(parents, ((char *[]){(char *)VF1, NULL}));

        /* autostart (at startup, or when the VF appears) starts it with its UUID */
        ops_autostart(ops, NULL);
        for (int i = 0; i < 100 && !inventory_get_device(inv, VF_U1); i++)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);
        g_assert_nonnull(inventory_get_device(inv, VF_U1));
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "1148");
        while (ops_pending(ops) > 0)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);

        /* Undefine finds it by UUID alone and removes it from the own store */
        req = ops_request_new(OPS_UNDEFINE);
        req->uuid = g_strdup(VF_U1);
        g_assert_cmpint(run_request(e, ops, req, NULL), ==, 0);
        g_assert_false(g_file_test(own_file, G_FILE_TEST_EXISTS));
        tree_fini(&t);
}

static int define_vf(sd_event *e, Ops *ops, const char *parent, const char *uuid, const char *json,
                     char **ret)
{
        OpsRequest *req = ops_request_new(OPS_DEFINE);

        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        req->define.definition = g_strdup(json);
        return run_request(e, ops, req, ret);
}

static int start_defined(sd_event *e, Ops *ops, const char *parent, const char *uuid, char **ret)
{
        OpsRequest *req = ops_request_new(OPS_START);

        req->parent = g_strdup(parent);
        req->uuid = g_strdup(uuid);
        return run_request(e, ops, req, ret);
}

static bool warned(Inventory *inv, const char *a, const char *b)
{
        GPtrArray *w = inventory_warnings(inv);

        for (guint i = 0; i < w->len; i++)
                if (strstr(w->pdata[i], a) && strstr(w->pdata[i], b))
                        return true;
        return false;
}

/* "mixed_size" in vgpud's own store, and the boot order on a temporary tree (no NVML here): VF2 runs a
 * 2 GB vGPU in equal-size mode, so the auto definition that asks for mixed-size mode does not start
 * (SizeConflict for another size, Busy for the same: not placed as equal-size, nothing written, a
 * warning naming the GPU and the definition); on the emptied GPU it needs NVML (NotSupported); a
 * definition that does not ask starts in equal-size mode. */
static void test_engine_vf_mixed_size(void)
{
        static const char U2[] = "1c8d4d3b-a2e5-4a8f-9b46-3d7e2fa05b21",
                          U3[] = "2d9e5e4c-b3f6-4b90-8c57-4e8f30b16c32";
        Tree t = {};
        tree_init(&t);
        g_autoptr(Inventory) inv = inventory_on(&t);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autoptr(Ops) ops = NULL;
        g_autofree char *own = g_build_filename(t.tmp, "own", NULL);
        g_autofree char *own_file = g_build_filename(own, VF1, VF_U1, NULL);
        g_autofree char *text = NULL, *msg = NULL, *cur = NULL;
        g_autoptr(GPtrArray) defs = NULL;
        void *nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);

        if (nvml) { /* a host with the NVIDIA driver: the answers below are those of a host without */
                dlclose(nvml);
                g_test_skip("libnvidia-ml.so.1 can be loaded here");
                tree_fini(&t);
                return;
        }
        inventory_set_own_definitions_dir(inv, own);
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        g_assert_cmpint(ops_new(e, inv, NULL, &ops), ==, 0);
        /* equal-size mode next to a 2 GB vGPU: the driver lists only the 2 GB types (1B is remembered) */
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/creatable_vgpu_types",
                 HEADER "1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        inventory_parent_changed(inv, VF1);
        g_assert_false(inventory_get_parent(inv, VF1)->cap.mixed_size);

        /* the store field: written after "attrs", read back */
        g_assert_cmpint(define_vf(e, ops, VF1, VF_U1,
                                  "{\"mdev_type\":\"nvidia-1145\",\"start\":\"auto\",\"mixed_size\":true}",
                                  NULL),
                        ==, 0);
        g_assert_true(g_file_get_contents(own_file, &text, NULL, NULL));
        g_assert_cmpstr(text, ==,
                        "{\n  \"mdev_type\": \"nvidia-1145\",\n  \"start\": \"auto\",\n  \"attrs\": [],\n"
                        "  \"mixed_size\": true\n}");
        defs = inventory_list_definitions(inv);
        g_assert_true(((InvDefinition *)defs->pdata[0])->def->mixed_size);
        /* never in mdevctl's store */
        g_assert_cmpint(define_vf(e, ops, T4, U2,
                                  "{\"mdev_type\":\"nvidia-222\",\"start\":\"auto\",\"mixed_size\":true}",
                                  &msg),
                        ==, -EINVAL);
        g_assert_nonnull(strstr(msg, "mediated-device parent"));
        g_clear_pointer(&msg, g_free);

        /* boot: autostart finds the GPU running a 2 GB vGPU in equal-size mode */
        ops_autostart(ops, NULL);
        for (int i = 0; i < 100 && !warned(inv, PF, VF_U1); i++)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);
        while (ops_pending(ops) > 0)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);
        g_assert_true(warned(inv, PF, VF_U1));
        g_assert_null(inventory_get_device(inv, VF_U1));
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0\n");
        g_assert_cmpint(start_defined(e, ops, VF1, VF_U1, &msg), ==, -EXDEV);
        g_clear_pointer(&msg, g_free);
        g_assert_cmpint(define_vf(e, ops, VF1, U2,
                                  "{\"mdev_type\":\"nvidia-1148\",\"start\":\"manual\",\"mixed_size\":true}",
                                  NULL),
                        ==, 0);
        g_assert_cmpint(start_defined(e, ops, VF1, U2, &msg), ==, -EBUSY);
        g_assert_nonnull(strstr(msg, PF));
        g_clear_pointer(&msg, g_free);

        /* the GPU empty: switching needs NVML, nothing half done */
        tree_put(t.root, "devices/pci0000:c0/" VF2 "/nvidia/current_vgpu_type", "0\n");
        tree_put(t.root, "devices/pci0000:c0/" VF1 "/nvidia/creatable_vgpu_types",
                 HEADER "1145  : NVIDIA L40S-1B\n1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        tree_put(t.root, "devices/pci0000:c0/" VF2 "/nvidia/creatable_vgpu_types",
                 HEADER "1145  : NVIDIA L40S-1B\n1146  : NVIDIA L40S-2B\n1148  : NVIDIA L40S-2Q\n");
        inventory_parent_changed(inv, VF2);
        inventory_parent_changed(inv, VF1);
        g_assert_cmpint(start_defined(e, ops, VF1, VF_U1, &msg), ==, -ELIBACC);
        g_assert_nonnull(strstr(msg, "needs NVML"));
        g_clear_pointer(&msg, g_free);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF1 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "0\n");
        g_assert_false(inventory_get_parent(inv, VF1)->cap.mixed_size);

        /* a definition that does not ask starts in equal-size mode (the others' wish is only a warning) */
        g_assert_cmpint(
                define_vf(e, ops, VF2, U3, "{\"mdev_type\":\"nvidia-1148\",\"start\":\"manual\"}", NULL), ==,
                0);
        g_assert_cmpint(start_defined(e, ops, VF2, U3, NULL), ==, 0);
        g_free(cur);
        cur = tree_get(t.root, "devices/pci0000:c0/" VF2 "/nvidia/current_vgpu_type");
        g_assert_cmpstr(cur, ==, "1148");
        tree_fini(&t);
}

/* ---- SR-IOV enabling ---- */

/* The PF bound to nvidia with 16 VFs to give, numvfs of them enabled. */
static void sriov_pf(const Tree *t, const char *numvfs)
{
        g_autofree char *driver = sysfs_link_basename(t->root, "devices/pci0000:c0/" PF "/driver");

        tree_put(t->root, "devices/pci0000:c0/" PF "/sriov_totalvfs", "16\n");
        tree_put(t->root, "devices/pci0000:c0/" PF "/sriov_numvfs", numvfs);
        if (!driver)
                tree_link(t->root, "devices/pci0000:c0/" PF "/driver", "../../../bus/pci/drivers/nvidia");
}

/* A fake sriov-manage: fails `fails` times with the driver's transient error, then "enables" the VFs
 * (writes sriov_numvfs) and logs its arguments. */
static char *fake_manage(const Tree *t, int fails)
{
        g_autofree char *script = g_strdup_printf(
                "#!/bin/sh\n"
                "echo \"$@\" >> '%s/manage.log'\n"
                "n=$(wc -l < '%s/manage.log')\n"
                "if [ \"$n\" -le %d ]; then echo 'Cannot obtain unbindLock for %s' >&2; exit 1; fi\n"
                "echo 16 > '%s/devices/pci0000:c0/%s/sriov_numvfs'\n",
                t->tmp, t->tmp, fails, PF, t->root, PF);
        char *path = g_build_filename(t->tmp, "sriov-manage", NULL);

        g_assert_true(g_file_set_contents(path, script, -1, NULL));
        g_assert_cmpint(chmod(path, 0755), ==, 0);
        return path;
}

static void run_sriov(sd_event *e, Sriov *s)
{
        sriov_check(s, NULL);
        for (int i = 0; i < 500 && sriov_pending(s) > 0; i++)
                g_assert_cmpint(sd_event_run(e, 100 * 1000), >=, 0);
        g_assert_cmpuint(sriov_pending(s), ==, 0);
}

static void test_sriov(void)
{
        Tree t = {};
        tree_init(&t);
        g_autoptr(Inventory) inv = inventory_on(&t);
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        g_autofree char *manage = fake_manage(&t, 2);
        g_autofree char *log = NULL, *numvfs = NULL, *missing = g_build_filename(t.tmp, "none", NULL);
        SriovSettings settings = {.enable = true, .manage = manage, .attempts = 3, .retry_usec = 10000};

        g_assert_cmpint(sd_event_new(&e), >=, 0);
        /* nothing to do while VFs are enabled */
        sriov_pf(&t, "2\n");
        g_assert_false(sriov_pf_needs_enabling(t.root, PF));
        g_assert_false(sriov_pf_needs_enabling(t.root, VF1));
        g_assert_false(sriov_pf_needs_enabling(t.root, T4));
        sriov_pf(&t, "0\n");
        g_assert_true(sriov_pf_needs_enabling(t.root, PF));

        /* sriov-manage fails twice ("Cannot obtain unbindLock"), the third attempt works */
        {
                g_autoptr(Sriov) s = NULL;
                g_assert_cmpint(sriov_new(e, inv, t.root, &settings, &s), ==, 0);
                run_sriov(e, s);
        }
        log = tree_get(t.root, "../manage.log");
        g_assert_cmpstr(log, ==, "-e " PF "\n-e " PF "\n-e " PF "\n");
        numvfs = tree_get(t.root, "devices/pci0000:c0/" PF "/sriov_numvfs");
        g_assert_cmpstr(numvfs, ==, "16\n");
        g_assert_cmpuint(inventory_warnings(inv)->len, ==, 0);

        /* without sriov-manage: sriov_totalvfs goes to sriov_numvfs */
        sriov_pf(&t, "0\n");
        settings.manage = missing;
        {
                g_autoptr(Sriov) s = NULL;
                g_assert_cmpint(sriov_new(e, inv, t.root, &settings, &s), ==, 0);
                run_sriov(e, s);
        }
        g_free(numvfs);
        numvfs = tree_get(t.root, "devices/pci0000:c0/" PF "/sriov_numvfs");
        g_assert_cmpstr(numvfs, ==, "16");

        /* it never works: a warning says so, after the configured attempts; a PF not configured is left */
        sriov_pf(&t, "0\n");
        g_free(manage);
        {
                g_autofree char *old_log = g_build_filename(t.tmp, "manage.log", NULL);
                g_assert_cmpint(unlink(old_log), ==, 0);
        }
        manage = fake_manage(&t, 100);
        settings.manage = manage;
        {
                g_autoptr(Sriov) s = NULL;
                g_assert_cmpint(sriov_new(e, inv, t.root, &settings, &s), ==, 0);
                run_sriov(e, s);
        }
        g_assert_cmpuint(inventory_warnings(inv)->len, ==, 1);
        g_assert_nonnull(
                strstr(inventory_warnings(inv)->pdata[0], "could not be enabled on " PF " after 3"));
        g_assert_nonnull(strstr(inventory_warnings(inv)->pdata[0], "unbindLock"));
        {
                char *only[] = {(char *)"0000:99:00.0", NULL};
                g_autoptr(Sriov) s = NULL;

                settings.pfs = only;
                g_assert_cmpint(sriov_new(e, inv, t.root, &settings, &s), ==, 0);
                sriov_check(s, NULL);
                g_assert_cmpuint(sriov_pending(s), ==, 0);
        }
        tree_fini(&t);
}

int main(int argc, char **argv)
{
        sigset_t mask;

        /* sd_event_add_child() wants SIGCHLD blocked */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &mask, NULL), ==, 0);
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/sriov/enable", test_sriov);
        g_test_add_func("/backends/mdev", test_mdev_backend);
        g_test_add_func("/backends/nvidia-vf/parse", test_vf_parse);
        g_test_add_func("/backends/nvidia-vf/read-write", test_vf_backend);
        g_test_add_func("/inventory/mixed-host", test_inventory);
        g_test_add_func("/engine/nvidia-vf/start-stop", test_engine_vf);
        g_test_add_func("/engine/nvidia-vf/definitions", test_engine_vf_definitions);
        g_test_add_func("/engine/mdev/reservations", test_engine_reservations);
        g_test_add_func("/engine/nvidia-vf/mixed-size", test_engine_vf_mixed_size);
        return g_test_run();
}
