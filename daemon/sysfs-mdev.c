/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mdev backend: parents under <root>/class/mdev_bus, their mdev_supported_types, devices under
 * <root>/bus/mdev/devices. Only libc calls on sysfs paths (sysfs-util.h). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "uuid.h"
#include "sysfs-mdev.h"

static int compare_type_ids(gconstpointer a, gconstpointer b)
{
        const SysfsType *x = *(SysfsType *const *)a, *y = *(SysfsType *const *)b;
        return strcmp(x->id, y->id);
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static SysfsType *read_type(const char *types_dir, const char *id)
{
        g_autofree char *dir = g_build_filename(types_dir, id, NULL);
        SysfsType *t = g_new0(SysfsType, 1);

        t->id = g_strdup(id);
        t->name = sysfs_read_attr(dir, "name");
        t->description = sysfs_read_attr(dir, "description");
        t->device_api = sysfs_read_attr(dir, "device_api");
        t->available_instances = sysfs_read_int(dir, "available_instances", -1);
        if (t->available_instances < -1)
                t->available_instances = -1;
        return t;
}

/* Every type of p, read whole: names, description, device API, availability. */
static int mdev_read_types(SysfsParent *p)
{
        g_autofree char *types_dir = g_build_filename(p->syspath, "mdev_supported_types", NULL);
        g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_type_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(types_dir);
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
                /* a parent with no types directory has no types */
        } else {
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        if (de->d_type != DT_DIR && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                                continue;
                        g_ptr_array_add(types, read_type(types_dir, de->d_name));
                }
        }
        g_ptr_array_sort(types, compare_type_ids);
        if (p->types)
                g_ptr_array_unref(p->types);
        p->types = g_steal_pointer(&types);
        return 0;
}

/* A copy of t with available_instances read again; NULL when its directory is gone. */
static SysfsType *type_with_new_count(const char *types_dir, const SysfsType *t)
{
        g_autofree char *dir = g_build_filename(types_dir, t->id, NULL);
        SysfsType *n;

        if (access(dir, F_OK) < 0)
                return NULL;
        n = g_new0(SysfsType, 1);
        n->id = g_strdup(t->id);
        n->name = g_strdup(t->name);
        n->description = g_strdup(t->description);
        n->device_api = g_strdup(t->device_api);
        n->available_instances = sysfs_read_int(dir, "available_instances", -1);
        if (n->available_instances < -1)
                n->available_instances = -1;
        return n;
}

/* Only each known type's available_instances: what a type is does not change while its parent stays
 * registered (a parent without types yet, or one whose type went, is read whole). */
static int mdev_refresh_types(Backend *b, SysfsParent *p)
{
        g_autofree char *types_dir = g_build_filename(p->syspath, "mdev_supported_types", NULL);
        g_autoptr(GPtrArray) types = NULL;

        if (!p->types || p->types->len == 0)
                return mdev_read_types(p);
        types = g_ptr_array_new_full(p->types->len, (GDestroyNotify)sysfs_type_free);
        for (guint i = 0; i < p->types->len; i++) {
                SysfsType *t = type_with_new_count(types_dir, p->types->pdata[i]);
                if (!t)
                        return mdev_read_types(p);
                g_ptr_array_add(types, t);
        }
        g_ptr_array_unref(p->types);
        p->types = g_steal_pointer(&types);
        return 0;
}

static bool mdev_parent_exists(Backend *b, const char *name)
{
        g_autofree char *path = NULL;

        if (!name || strchr(name, '/') || name[0] == '.')
                return false;
        path = backend_path(b, SYSFS_MDEV_BUS_CLASS, name, NULL);
        return access(path, F_OK) == 0;
}

static int mdev_read_parent(Backend *b, const char *name, SysfsParent **ret)
{
        g_autoptr(SysfsParent) p = NULL;
        g_autofree char *class_dir = backend_path(b, SYSFS_MDEV_BUS_CLASS, NULL);
        int r;

        if (!mdev_parent_exists(b, name))
                return -ENOENT;

        p = g_new0(SysfsParent, 1);
        p->backend = b;
        p->name = g_strdup(name);
        r = sysfs_resolve_link(class_dir, name, &p->syspath);
        if (r < 0)
                /* not a link (a plain directory in an odd tree): use it as it is */
                p->syspath = g_build_filename(class_dir, name, NULL);

        p->subsystem = sysfs_link_basename(p->syspath, "subsystem");
        p->driver = sysfs_link_basename(p->syspath, "driver");
        p->numa_node = -1;
        p->is_pci = (p->subsystem && g_str_equal(p->subsystem, "pci")) || sysfs_is_pci_address(name);
        if (p->is_pci) {
                p->vendor_id = sysfs_read_hex16(p->syspath, "vendor");
                p->device_id = sysfs_read_hex16(p->syspath, "device");
                p->subsystem_vendor_id = sysfs_read_hex16(p->syspath, "subsystem_vendor");
                p->subsystem_device_id = sysfs_read_hex16(p->syspath, "subsystem_device");
                p->numa_node = sysfs_read_int(p->syspath, "numa_node", -1);
                p->physfn = sysfs_link_basename(p->syspath, "physfn");
                p->pci_path = sysfs_pci_path_from_syspath(p->syspath);
        }

        r = mdev_read_types(p);
        if (r < 0)
                return r;
        if (!mdev_parent_exists(b, name))
                return -ENOENT; /* vanished while we read it */

        *ret = g_steal_pointer(&p);
        return 0;
}

static int mdev_list_parents(Backend *b, char ***ret)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *class_dir = backend_path(b, SYSFS_MDEV_BUS_CLASS, NULL);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(class_dir);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        g_ptr_array_add(names, g_strdup(de->d_name));
        g_ptr_array_sort(names, compare_strings);
        g_ptr_array_set_free_func(names, NULL);
        g_ptr_array_add(names, NULL);
        *ret = (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
        return 0;
}

static int mdev_read_device(Backend *b, const char *uuid, SysfsDevice **ret)
{
        g_autofree char *devices_dir = backend_path(b, SYSFS_MDEV_DEVICES, NULL);
        g_autofree char *syspath = NULL, *parent_dir = NULL, *parent = NULL, *type_id = NULL;
        int r;

        if (!vgpu_uuid_is_canonical(uuid))
                return -EINVAL;

        r = sysfs_resolve_link(devices_dir, uuid, &syspath);
        if (r == -EINVAL) {
                /* a plain directory rather than a link */
                syspath = g_build_filename(devices_dir, uuid, NULL);
                if (access(syspath, F_OK) < 0)
                        return -ENOENT;
        } else if (r < 0)
                return r == -ENOTDIR ? -ENOENT : r;

        parent_dir = g_path_get_dirname(syspath);
        parent = g_path_get_basename(parent_dir);
        type_id = sysfs_link_basename(syspath, "mdev_type");
        *ret = sysfs_device_new(b, uuid, parent, type_id);
        return 0;
}

/* The devices of one parent, from each type's devices/ directory (one readdir per type instead of two
 * readlinks per device). */
static void parent_list_devices(Backend *b, const SysfsParent *p, GPtrArray *out)
{
        for (guint i = 0; i < p->types->len; i++) {
                SysfsType *t = p->types->pdata[i];
                g_autofree char *dir =
                        g_build_filename(p->syspath, "mdev_supported_types", t->id, "devices", NULL);
                _cleanup_closedir_ DIR *d = opendir(dir);
                struct dirent *de;

                while (d && (de = readdir(d)))
                        if (vgpu_uuid_is_canonical(de->d_name))
                                g_ptr_array_add(out, sysfs_device_new(b, de->d_name, p->name, t->id));
        }
}

int sysfs_mdev_list_device_uuids(Backend *b, char ***ret)
{
        g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *devices_dir = backend_path(b, SYSFS_MDEV_DEVICES, NULL);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(devices_dir);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d)))
                if (vgpu_uuid_is_canonical(de->d_name))
                        g_ptr_array_add(uuids, g_strdup(de->d_name));
        g_ptr_array_set_free_func(uuids, NULL);
        g_ptr_array_add(uuids, NULL);
        *ret = (char **)g_ptr_array_free(g_steal_pointer(&uuids), FALSE);
        return 0;
}

/* Devices of the parents from their types' devices/ directories; whatever <root>/bus/mdev/devices holds
 * beyond that (a device whose type directory is odd) is read one by one. */
static int mdev_list_devices(Backend *b, GPtrArray *parents, GPtrArray *out)
{
        g_autoptr(GHashTable) present = g_hash_table_new(g_str_hash, g_str_equal);
        g_auto(GStrv) uuids = NULL;
        guint first = out->len;
        int r;

        for (guint i = 0; i < parents->len; i++)
                parent_list_devices(b, parents->pdata[i], out);
        for (guint i = first; i < out->len; i++)
                g_hash_table_add(present, ((SysfsDevice *)out->pdata[i])->uuid);
        r = sysfs_mdev_list_device_uuids(b, &uuids);
        if (r < 0)
                return r;
        for (char **u = uuids; *u; u++) {
                SysfsDevice *d;
                if (g_hash_table_contains(present, *u) || mdev_read_device(b, *u, &d) < 0)
                        continue;
                g_ptr_array_add(out, d);
                g_hash_table_add(present, d->uuid);
        }
        return 0;
}

static char *mdev_device_syspath(Backend *b, const SysfsDevice *d, const SysfsParent *p)
{
        if (!p)
                return backend_path(b, SYSFS_MDEV_DEVICES, d->uuid, NULL);
        return g_build_filename(p->syspath, d->uuid, NULL);
}

static char *mdev_create_path(Backend *b, const SysfsParent *p, const char *type_id)
{
        return backend_path(b, SYSFS_MDEV_BUS_CLASS, p->name, "mdev_supported_types", type_id, "create",
                            NULL);
}

static char *mdev_remove_path(Backend *b, const SysfsDevice *d)
{
        return backend_path(b, SYSFS_MDEV_DEVICES, d->uuid, "remove", NULL);
}

static int mdev_create(Backend *b, const SysfsParent *p, const char *type_id, const char *uuid)
{
        g_autofree char *create = mdev_create_path(b, p, type_id);
        int r = sysfs_write(create, uuid, 0);
        return r < 0 ? r : 1; /* the add uevent says when it is there */
}

static int mdev_remove(Backend *b, const SysfsDevice *d)
{
        g_autofree char *path = mdev_remove_path(b, d);
        int r = sysfs_write(path, "1", 0);
        return r < 0 ? r : 1;
}

/* As mdevctl writes attributes: creating the file the way its fs::write does. */
static int mdev_write_attr(Backend *b, const SysfsDevice *d, const char *name, const char *value)
{
        g_autofree char *path = backend_path(b, SYSFS_MDEV_DEVICES, d->uuid, name, NULL);
        return sysfs_write(path, value, O_CREAT);
}

static BackendEvent mdev_uevent(Backend *b, const char *subsystem, const char *sysname, char **ret_name)
{
        char uuid[VGPU_UUID_STRING_MAX];

        if (subsystem && g_str_equal(subsystem, "mdev")) {
                if (vgpu_uuid_parse(sysname, uuid) < 0)
                        return BACKEND_EVENT_NONE;
                *ret_name = g_strdup(uuid);
                return BACKEND_EVENT_DEVICE;
        }
        if (!mdev_parent_exists(b, sysname))
                return BACKEND_EVENT_NONE;
        *ret_name = g_strdup(sysname);
        return BACKEND_EVENT_PARENT;
}

static const BackendClass mdev_class = {
        .name = "mdev",
        .list_parents = mdev_list_parents,
        .parent_exists = mdev_parent_exists,
        .read_parent = mdev_read_parent,
        .refresh_types = mdev_refresh_types,
        .list_devices = mdev_list_devices,
        .read_device = mdev_read_device,
        .device_syspath = mdev_device_syspath,
        .create = mdev_create,
        .remove = mdev_remove,
        .create_path = mdev_create_path,
        .remove_path = mdev_remove_path,
        .write_attr = mdev_write_attr,
        .uevent = mdev_uevent,
};

Backend *backend_mdev_new(const char *root)
{
        Backend *b = g_new0(Backend, 1);

        b->class = &mdev_class;
        b->root = g_strdup(root ? root : "/sys");
        return b;
}
