/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of what the inventory derives, update by update (daemon/inventory-derived.c): each
 * parent's sorted device list and each device's type model kept device by device, the sorted list of
 * all devices shared with whoever listed it, a count refresh that touches only its parent, and a
 * parent that goes and comes back with its devices. On a temporary sysfs tree of two T4s (mdev). */

#include <string.h>

#include <glib.h>

#include "tmp-tree.h"
#include "inventory.h"
#include "sysfs-mdev.h"

#define T4A  "0000:41:00.0"
#define T4B  "0000:42:00.0"
#define TYPE "nvidia-222"
#define U1   "11111111-2d7b-4b8e-9a55-7f0e2a1d3c41"
#define U2   "22222222-91d4-4f7e-8a35-2c6d1e9f4a10"
#define U3   "33333333-0c1d-4e2f-8a3b-4c5d6e7f8091"

typedef struct {
        char *tmp, *root, *defs;
        GPtrArray *changed; /* "path Name Name ..." of every properties_changed, in order */
        GPtrArray *added;   /* paths */
} Fixture;

static void on_added(void *userdata, InvObjectKind kind, const char *path)
{
        g_ptr_array_add(((Fixture *)userdata)->added, g_strdup(path));
}

static void on_removed(void *userdata, InvObjectKind kind, const char *path)
{
}

static void on_changed(void *userdata, InvObjectKind kind, const char *path, char **names)
{
        g_autofree char *joined = g_strjoinv(" ", names);
        g_ptr_array_add(((Fixture *)userdata)->changed, g_strdup_printf("%s %s", path, joined));
}

static const InventoryObserver observer = {on_added, on_removed, on_changed};

static char *parent_dir(const char *parent)
{
        return g_strdup_printf("devices/pci0000:40/%s", parent);
}

static void put_parent(Fixture *f, const char *parent, int available)
{
        g_autofree char *dir = parent_dir(parent);
        g_autofree char *types = g_strdup_printf("%s/mdev_supported_types/" TYPE, dir);
        g_autofree char *name = g_strdup_printf("%s/name", types);
        g_autofree char *desc = g_strdup_printf("%s/description", types);
        g_autofree char *avail = g_strdup_printf("%s/available_instances", types);
        g_autofree char *api = g_strdup_printf("%s/device_api", types);
        g_autofree char *create = g_strdup_printf("%s/create", types);
        g_autofree char *count = g_strdup_printf("%d\n", available);

        tree_put(f->root, name, "GRID T4-2Q\n");
        tree_put(f->root, desc,
                 "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, "
                 "max_instance=8\n");
        tree_put(f->root, avail, count);
        tree_put(f->root, api, "vfio-pci\n");
        tree_put(f->root, create, "");
}

static void register_parent(Fixture *f, const char *parent)
{
        g_autofree char *link = g_strdup_printf("class/mdev_bus/%s", parent);
        g_autofree char *target = g_strdup_printf("../../devices/pci0000:40/%s", parent);

        tree_link(f->root, link, target);
}

static void unregister_parent(Fixture *f, const char *parent)
{
        g_autofree char *link = g_strdup_printf("%s/class/mdev_bus/%s", f->root, parent);

        g_assert_cmpint(unlink(link), ==, 0);
}

/* A device as mdev_device_create() leaves it: its directory, mdev_type link, the type's devices/ link
 * and the bus link. */
static void put_device(Fixture *f, const char *parent, const char *uuid)
{
        g_autofree char *dir = parent_dir(parent);
        g_autofree char *type_link = g_strdup_printf("%s/%s/mdev_type", dir, uuid);
        g_autofree char *devices = g_strdup_printf("%s/mdev_supported_types/" TYPE "/devices/%s", dir, uuid);
        g_autofree char *remove = g_strdup_printf("%s/%s/remove", dir, uuid);
        g_autofree char *bus = g_strdup_printf("bus/mdev/devices/%s", uuid);
        g_autofree char *bus_target = g_strdup_printf("../../../%s/%s", dir, uuid);
        g_autofree char *dev_target = g_strdup_printf("../../../%s", uuid);

        tree_link(f->root, type_link, "../mdev_supported_types/" TYPE);
        tree_put(f->root, remove, "");
        tree_link(f->root, devices, dev_target);
        tree_link(f->root, bus, bus_target);
}

static void remove_device(Fixture *f, const char *parent, const char *uuid)
{
        g_autofree char *dir = parent_dir(parent);
        g_autofree char *dev = g_strdup_printf("%s/%s/%s", f->root, dir, uuid);
        g_autofree char *devices =
                g_strdup_printf("%s/%s/mdev_supported_types/" TYPE "/devices/%s", f->root, dir, uuid);
        g_autofree char *bus = g_strdup_printf("%s/bus/mdev/devices/%s", f->root, uuid);

        tree_remove(dev);
        g_assert_cmpint(unlink(devices), ==, 0);
        g_assert_cmpint(unlink(bus), ==, 0);
}

static void fixture_init(Fixture *f)
{
        f->tmp = g_dir_make_tmp("vgpud-inventory-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        f->root = g_build_filename(f->tmp, "sys", NULL);
        f->defs = g_build_filename(f->tmp, "defs", NULL);
        f->changed = g_ptr_array_new_with_free_func(g_free);
        f->added = g_ptr_array_new_with_free_func(g_free);
        put_parent(f, T4A, 8);
        put_parent(f, T4B, 8);
        register_parent(f, T4A);
        register_parent(f, T4B);
        tree_put(f->root, "bus/mdev/devices/.keep", "");
}

static void fixture_fini(Fixture *f)
{
        tree_remove(f->tmp);
        g_free(f->tmp);
        g_free(f->root);
        g_free(f->defs);
        g_ptr_array_unref(f->changed);
        g_ptr_array_unref(f->added);
}

/* The UUIDs of a device list, in its order, space separated. */
static char *uuids_of(GPtrArray *list)
{
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; i < list->len; i++)
                g_string_append_printf(s, "%s%.8s", i ? " " : "", ((InvDevice *)list->pdata[i])->uuid);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Was path's property name announced since the fixture's list was last cleared? */
static bool announced(const Fixture *f, const char *parent, const char *name)
{
        g_autofree char *path = inventory_gpu_path(parent);

        for (guint i = 0; i < f->changed->len; i++) {
                const char *c = f->changed->pdata[i];
                if (g_str_has_prefix(c, path) && c[strlen(path)] == ' ' && strstr(c + strlen(path), name))
                        return true;
        }
        return false;
}

static void assert_devices(Inventory *inv, const char *parent, const char *want, unsigned used)
{
        InvParent *p = inventory_get_parent(inv, parent);
        g_autofree char *got = NULL;

        g_assert_nonnull(p);
        got = uuids_of(p->devices);
        g_assert_cmpstr(got, ==, want);
        g_assert_cmpuint(p->cap.used, ==, used);
        for (guint i = 0; i < p->devices->len; i++) {
                InvDevice *d = p->devices->pdata[i];
                g_assert_nonnull(d->type);
                g_assert_true(d->type == p->models->pdata[0]); /* its model on its parent now */
        }
}

static void test_device_by_device(void)
{
        Fixture f = {};
        fixture_init(&f);
        g_autoptr(Inventory) inv = inventory_new(f.defs);
        g_autoptr(GPtrArray) before = NULL, after = NULL;
        g_autofree char *listed = NULL;

        inventory_add_backend(inv, backend_mdev_new(f.root));
        inventory_set_observer(inv, &observer, &f);
        g_assert_cmpint(inventory_rescan(inv), ==, 0);
        assert_devices(inv, T4A, "", 0);

        /* three devices created out of order: each joins its parent's list in its place */
        put_device(&f, T4A, U3);
        inventory_device_changed(inv, U3);
        before = inventory_list_devices(inv);
        put_device(&f, T4A, U1);
        inventory_device_changed(inv, U1);
        put_device(&f, T4A, U2);
        inventory_device_changed(inv, U2);
        assert_devices(inv, T4A, "11111111 22222222 33333333", 3);
        assert_devices(inv, T4B, "", 0);
        /* a list taken before is not changed under its holder; a new one has them all, sorted */
        listed = uuids_of(before);
        g_assert_cmpstr(listed, ==, "33333333");
        after = inventory_list_devices(inv);
        g_free(listed);
        listed = uuids_of(after);
        g_assert_cmpstr(listed, ==, "11111111 22222222 33333333");
        g_assert_true(announced(&f, T4A, "Devices"));
        g_assert_true(announced(&f, T4A, "CoreUsed"));
        g_assert_false(announced(&f, T4B, "Devices"));

        /* a count refresh of one parent: only it is announced, its models (and devices') are kept */
        {
                const VgpuType *model = inventory_get_parent(inv, T4A)->models->pdata[0];
                g_autofree char *dir = parent_dir(T4A);
                g_autofree char *avail =
                        g_strdup_printf("%s/mdev_supported_types/" TYPE "/available_instances", dir);

                g_ptr_array_set_size(f.changed, 0);
                tree_put(f.root, avail, "5\n");
                inventory_parent_counts_changed(inv, T4A);
                g_assert_true(announced(&f, T4A, "Types"));
                g_assert_cmpuint(f.changed->len, ==, 1);
                g_assert_true(inventory_get_parent(inv, T4A)->models->pdata[0] == model);
                assert_devices(inv, T4A, "11111111 22222222 33333333", 3);
        }

        /* one goes */
        remove_device(&f, T4A, U2);
        inventory_device_changed(inv, U2);
        assert_devices(inv, T4A, "11111111 33333333", 2);
        g_clear_pointer(&after, g_ptr_array_unref);
        after = inventory_list_devices(inv);
        g_free(listed);
        listed = uuids_of(after);
        g_assert_cmpstr(listed, ==, "11111111 33333333");

        /* the parent unregisters and comes back: its devices join it again, with its new models */
        unregister_parent(&f, T4A);
        inventory_parent_changed(inv, T4A);
        g_assert_null(inventory_get_parent(inv, T4A));
        g_assert_null(inventory_get_device(inv, U1)->type);
        register_parent(&f, T4A);
        g_ptr_array_set_size(f.changed, 0);
        inventory_parent_changed(inv, T4A);
        assert_devices(inv, T4A, "11111111 33333333", 2);
        assert_devices(inv, T4B, "", 0);
        g_assert_cmpuint(inventory_count(inv, INV_OBJECT_DEVICE), ==, 2);
        fixture_fini(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/inventory/device-by-device", test_device_by_device);
        return g_test_run();
}
