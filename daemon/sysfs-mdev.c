/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs readers for mdev parents, types and devices. Only libc calls on /sys paths, so that umockdev's
 * preload can redirect them to a test bed; symlinks are resolved by hand for the same reason. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fault.h"
#include "macro.h"
#include "uuid.h"
#include "sysfs-mdev.h"

void sysfs_type_free(SysfsType *t)
{
        if (!t)
                return;
        g_free(t->id);
        g_free(t->name);
        g_free(t->description);
        g_free(t->device_api);
        g_free(t);
}

void sysfs_parent_free(SysfsParent *p)
{
        if (!p)
                return;
        g_free(p->name);
        g_free(p->syspath);
        g_free(p->subsystem);
        g_free(p->driver);
        g_free(p->physfn);
        g_strfreev(p->pci_path);
        if (p->types)
                g_ptr_array_unref(p->types);
        g_free(p);
}

void sysfs_device_free(SysfsDevice *d)
{
        if (!d)
                return;
        g_free(d);
}

bool sysfs_is_pci_address(const char *s)
{
        /* DDDD:BB:DD.F */
        static const char pattern[] = "xxxx:xx:xx.x";

        if (!s || strlen(s) != sizeof(pattern) - 1)
                return false;
        for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
                if (pattern[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pattern[i])
                        return false;
        }
        return true;
}

/* Join a symlink target to the directory holding the link and collapse "." and "..". */
char *sysfs_path_resolve(const char *dir, const char *link_target)
{
        g_autofree char *joined = NULL;
        g_auto(GStrv) parts = NULL;
        g_autoptr(GPtrArray) out = g_ptr_array_new();
        GString *s;

        joined = link_target[0] == '/' ? g_strdup(link_target) : g_build_filename(dir, link_target, NULL);
        parts = g_strsplit(joined, "/", -1);
        for (char **p = parts; *p; p++) {
                if (**p == '\0' || g_str_equal(*p, "."))
                        continue;
                if (g_str_equal(*p, "..")) {
                        if (out->len > 0)
                                g_ptr_array_remove_index(out, out->len - 1);
                        continue;
                }
                g_ptr_array_add(out, *p);
        }
        s = g_string_new(NULL);
        for (guint i = 0; i < out->len; i++) {
                g_string_append_c(s, '/');
                g_string_append(s, out->pdata[i]);
        }
        if (s->len == 0)
                g_string_append_c(s, '/');
        return g_string_free(s, FALSE);
}

static int read_link(const char *path, char **ret)
{
        char buf[PATH_MAX];
        ssize_t n;

        n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        *ret = g_strdup(buf);
        return 0;
}

/* Resolve the symlink at dir/name to an absolute path. */
static int resolve_link(const char *dir, const char *name, char **ret)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *target = NULL;
        int r;

        r = read_link(path, &target);
        if (r < 0)
                return r;
        *ret = sysfs_path_resolve(dir, target);
        return 0;
}

/* The basename of what dir/name points to, or NULL. */
static char *link_basename(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *target = NULL;

        if (read_link(path, &target) < 0)
                return NULL;
        return g_path_get_basename(target);
}

/* Read a small sysfs attribute; drops one final newline. NULL when it cannot be read. */
static char *read_attr(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        _cleanup_close_ int fd = -1;
        g_autoptr(GString) s = g_string_new(NULL);
        char buf[4096];
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                g_string_append_len(s, buf, n);
                if (s->len > 1024 * 1024)
                        return NULL; /* no sysfs attribute is this large */
        }
        if (n < 0)
                return NULL;
        if (s->len > 0 && s->str[s->len - 1] == '\n')
                g_string_truncate(s, s->len - 1);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static bool parse_long(const char *s, int base, long *ret)
{
        char *end;
        long v;

        if (!s)
                return false;
        while (isspace((unsigned char)*s))
                s++;
        if (*s == '\0')
                return false;
        errno = 0;
        v = strtol(s, &end, base);
        if (errno != 0)
                return false;
        while (isspace((unsigned char)*end))
                end++;
        if (*end != '\0')
                return false;
        *ret = v;
        return true;
}

static uint16_t read_hex16(const char *dir, const char *name)
{
        g_autofree char *s = read_attr(dir, name);
        long v;

        if (!parse_long(s, 16, &v) || v < 0 || v > 0xffff)
                return 0;
        return (uint16_t)v;
}

static int read_int(const char *dir, const char *name, int fallback)
{
        g_autofree char *s = read_attr(dir, name);
        long v;

        if (!parse_long(s, 10, &v) || v < INT_MIN || v > INT_MAX)
                return fallback;
        return (int)v;
}

static int compare_type_ids(gconstpointer a, gconstpointer b)
{
        const SysfsType *x = *(SysfsType *const *)a, *y = *(SysfsType *const *)b;
        return strcmp(x->id, y->id);
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_type(const char *types_dir, const char *id, SysfsType **ret)
{
        g_autofree char *dir = g_build_filename(types_dir, id, NULL);
        g_autoptr(SysfsType) t = g_new0(SysfsType, 1);

        t->id = g_strdup(id);
        t->name = read_attr(dir, "name");
        t->description = read_attr(dir, "description");
        t->device_api = read_attr(dir, "device_api");
        t->available_instances = read_int(dir, "available_instances", -1);
        if (t->available_instances < -1)
                t->available_instances = -1;
        *ret = g_steal_pointer(&t);
        return 0;
}

int sysfs_parent_refresh_types(SysfsParent *p)
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
                        SysfsType *t;

                        if (de->d_name[0] == '.')
                                continue;
                        if (de->d_type != DT_DIR && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                                continue;
                        if (read_type(types_dir, de->d_name, &t) >= 0)
                                g_ptr_array_add(types, t);
                }
        }
        g_ptr_array_sort(types, compare_type_ids);
        if (p->types)
                g_ptr_array_unref(p->types);
        p->types = g_steal_pointer(&types);
        return 0;
}

/* The PCI addresses along a /sys/devices/pci0000:00/... path, top bridge first. */
static char **pci_path_from_syspath(const char *syspath)
{
        g_auto(GStrv) parts = g_strsplit(syspath, "/", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new();

        for (char **p = parts; *p; p++)
                if (sysfs_is_pci_address(*p))
                        g_ptr_array_add(out, g_strdup(*p));
        g_ptr_array_add(out, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

bool sysfs_parent_exists(const char *name)
{
        g_autofree char *path = NULL;

        if (!name || strchr(name, '/') || name[0] == '.')
                return false;
        path = g_build_filename(SYSFS_MDEV_BUS_CLASS, name, NULL);
        return access(path, F_OK) == 0;
}

int sysfs_read_parent(const char *name, SysfsParent **ret)
{
        g_autoptr(SysfsParent) p = NULL;
        int r;

        if (!sysfs_parent_exists(name))
                return -ENOENT;

        p = g_new0(SysfsParent, 1);
        p->name = g_strdup(name);
        r = resolve_link(SYSFS_MDEV_BUS_CLASS, name, &p->syspath);
        if (r < 0)
                /* not a link (a plain directory in an odd tree): use it as it is */
                p->syspath = g_build_filename(SYSFS_MDEV_BUS_CLASS, name, NULL);

        p->subsystem = link_basename(p->syspath, "subsystem");
        p->driver = link_basename(p->syspath, "driver");
        p->numa_node = -1;
        p->is_pci = (p->subsystem && g_str_equal(p->subsystem, "pci")) || sysfs_is_pci_address(name);
        if (p->is_pci) {
                p->vendor_id = read_hex16(p->syspath, "vendor");
                p->device_id = read_hex16(p->syspath, "device");
                p->subsystem_vendor_id = read_hex16(p->syspath, "subsystem_vendor");
                p->subsystem_device_id = read_hex16(p->syspath, "subsystem_device");
                p->numa_node = read_int(p->syspath, "numa_node", -1);
                p->physfn = link_basename(p->syspath, "physfn");
                p->pci_path = pci_path_from_syspath(p->syspath);
        }

        r = sysfs_parent_refresh_types(p);
        if (r < 0)
                return r;
        if (!sysfs_parent_exists(name))
                return -ENOENT; /* vanished while we read it */

        *ret = g_steal_pointer(&p);
        return 0;
}

int sysfs_list_parents(char ***ret)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(SYSFS_MDEV_BUS_CLASS);
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

int sysfs_read_device(const char *uuid, SysfsDevice **ret)
{
        g_autoptr(SysfsDevice) dev = NULL;
        g_autofree char *syspath = NULL, *parent_dir = NULL, *parent = NULL, *type_id = NULL;
        int r;

        if (!vgpu_uuid_is_canonical(uuid))
                return -EINVAL;

        dev = g_new0(SysfsDevice, 1);
        memcpy(dev->uuid, uuid, sizeof(dev->uuid));
        r = resolve_link(SYSFS_MDEV_DEVICES, uuid, &syspath);
        if (r == -EINVAL) {
                /* a plain directory rather than a link */
                syspath = g_build_filename(SYSFS_MDEV_DEVICES, uuid, NULL);
                if (access(syspath, F_OK) < 0)
                        return -ENOENT;
        } else if (r < 0)
                return r == -ENOTDIR ? -ENOENT : r;

        parent_dir = g_path_get_dirname(syspath);
        parent = g_path_get_basename(parent_dir);
        type_id = link_basename(syspath, "mdev_type");
        dev->parent = g_intern_string(parent);
        dev->type_id = type_id ? g_intern_string(type_id) : NULL;
        *ret = g_steal_pointer(&dev);
        return 0;
}

int sysfs_parent_list_devices(const SysfsParent *p, GPtrArray *out)
{
        for (guint i = 0; i < p->types->len; i++) {
                SysfsType *t = p->types->pdata[i];
                g_autofree char *dir =
                        g_build_filename(p->syspath, "mdev_supported_types", t->id, "devices", NULL);
                _cleanup_closedir_ DIR *d = opendir(dir);
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        SysfsDevice *dev;

                        if (!vgpu_uuid_is_canonical(de->d_name))
                                continue;
                        dev = g_new0(SysfsDevice, 1);
                        memcpy(dev->uuid, de->d_name, sizeof(dev->uuid));
                        dev->parent = g_intern_string(p->name);
                        dev->type_id = g_intern_string(t->id);
                        g_ptr_array_add(out, dev);
                }
        }
        return 0;
}

int sysfs_list_device_uuids(char ***ret)
{
        g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(SYSFS_MDEV_DEVICES);
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

int sysfs_list_devices(GPtrArray **ret)
{
        g_autoptr(GPtrArray) devs = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_device_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(SYSFS_MDEV_DEVICES);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d))) {
                SysfsDevice *dev;

                if (de->d_name[0] == '.' || !vgpu_uuid_is_canonical(de->d_name))
                        continue;
                if (sysfs_read_device(de->d_name, &dev) >= 0)
                        g_ptr_array_add(devs, dev);
        }
        *ret = g_steal_pointer(&devs);
        return 0;
}

/* ---- writes ---- */

/* Write value to a sysfs file in one write() and close it, as the kernel's store functions (and the
 * simulator, which acts on close) want. */
static int sysfs_write(const char *path, const char *value, int extra_flags)
{
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;
        int r = fault_errno("sysfs-write");

        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | extra_flags, 0644);
        if (fd < 0)
                return negative_errno();
        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        if ((size_t)n != len)
                return -EIO;
        if (close(TAKE_FD(fd)) < 0)
                return negative_errno();
        return 0;
}

int sysfs_mdev_create(const char *parent, const char *type_id, const char *uuid)
{
        g_autofree char *path = g_strdup_printf("%s/%s/mdev_supported_types/%s/create", SYSFS_MDEV_BUS_CLASS,
                                                parent, type_id);
        return sysfs_write(path, uuid, 0);
}

int sysfs_mdev_remove(const char *uuid)
{
        g_autofree char *path = g_strdup_printf("%s/%s/remove", SYSFS_MDEV_DEVICES, uuid);
        return sysfs_write(path, "1", 0);
}

int sysfs_mdev_write_attr(const char *uuid, const char *name, const char *value)
{
        g_autofree char *path = g_strdup_printf("%s/%s/%s", SYSFS_MDEV_DEVICES, uuid, name);
        /* created when missing, the way mdevctl's fs::write does */
        return sysfs_write(path, value, O_CREAT);
}

#define SYSFS_PCI_DEVICES "/sys/bus/pci/devices"

void sysfs_pci_gpu_free(SysfsPciGpu *g)
{
        if (!g)
                return;
        g_free(g->address);
        g_free(g);
}

static int compare_gpus(gconstpointer a, gconstpointer b)
{
        /* "DDDD:BB:DD.F" in lower-case hex, fixed widths: the string order is the address order */
        return strcmp((*(SysfsPciGpu *const *)a)->address, (*(SysfsPciGpu *const *)b)->address);
}

int sysfs_list_nvidia_gpus(GPtrArray **ret)
{
        g_autoptr(GPtrArray) gpus = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_pci_gpu_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(SYSFS_PCI_DEVICES);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d))) {
                g_autofree char *dir = NULL, *class = NULL, *physfn = NULL;
                SysfsPciGpu *g;
                long cls;

                if (!sysfs_is_pci_address(de->d_name))
                        continue;
                dir = g_build_filename(SYSFS_PCI_DEVICES, de->d_name, NULL);
                if (read_hex16(dir, "vendor") != 0x10de)
                        continue;
                class = read_attr(dir, "class");
                if (!parse_long(class, 16, &cls) || ((cls >> 8) != 0x0300 && (cls >> 8) != 0x0302))
                        continue;
                physfn = g_build_filename(dir, "physfn", NULL);
                if (access(physfn, F_OK) == 0)
                        continue;
                g = g_new0(SysfsPciGpu, 1);
                g->address = g_ascii_strdown(de->d_name, -1);
                g->vendor_id = 0x10de;
                g->device_id = read_hex16(dir, "device");
                g->subsystem_vendor_id = read_hex16(dir, "subsystem_vendor");
                g->subsystem_device_id = read_hex16(dir, "subsystem_device");
                g_ptr_array_add(gpus, g);
        }
        g_ptr_array_sort(gpus, compare_gpus);
        *ret = g_steal_pointer(&gpus);
        return 0;
}
