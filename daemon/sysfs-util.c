/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small sysfs readers and writer shared by the mdev and NVIDIA VF backends. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "macro.h"
#include "sysfs-util.h"

bool sysfs_is_pci_address(const char *s)
{
        static const char pattern[] = "xxxx:xx:xx.x";

        if (!s || strlen(s) != sizeof(pattern) - 1)
                return false;
        for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
                if (pattern[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pattern[i])
                        return false;
        }
        return true;
}

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

int sysfs_resolve_link(const char *dir, const char *name, char **ret)
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

char *sysfs_link_basename(const char *dir, const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *target = NULL;

        if (read_link(path, &target) < 0)
                return NULL;
        return g_path_get_basename(target);
}

char *sysfs_read_attr(const char *dir, const char *name)
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

bool sysfs_parse_long(const char *s, int base, long *ret)
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

uint16_t sysfs_read_hex16(const char *dir, const char *name)
{
        g_autofree char *s = sysfs_read_attr(dir, name);
        long v;

        if (!sysfs_parse_long(s, 16, &v) || v < 0 || v > 0xffff)
                return 0;
        return (uint16_t)v;
}

int sysfs_read_int(const char *dir, const char *name, int fallback)
{
        g_autofree char *s = sysfs_read_attr(dir, name);
        long v;

        if (!sysfs_parse_long(s, 10, &v) || v < INT_MIN || v > INT_MAX)
                return fallback;
        return (int)v;
}

char **sysfs_pci_path_from_syspath(const char *syspath)
{
        g_auto(GStrv) parts = g_strsplit(syspath, "/", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new();

        for (char **p = parts; *p; p++)
                if (sysfs_is_pci_address(*p))
                        g_ptr_array_add(out, g_strdup(*p));
        g_ptr_array_add(out, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

int sysfs_write(const char *path, const char *value, int extra_flags)
{
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;
        int r = fault_errno("sysfs-write"); /* the fault tier's driver refusing (common/fault.h) */

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
                if (sysfs_read_hex16(dir, "vendor") != 0x10de)
                        continue;
                class = sysfs_read_attr(dir, "class");
                if (!sysfs_parse_long(class, 16, &cls) || ((cls >> 8) != 0x0300 && (cls >> 8) != 0x0302))
                        continue;
                physfn = g_build_filename(dir, "physfn", NULL);
                if (access(physfn, F_OK) == 0)
                        continue;
                g = g_new0(SysfsPciGpu, 1);
                g->address = g_ascii_strdown(de->d_name, -1);
                g->vendor_id = 0x10de;
                g->device_id = sysfs_read_hex16(dir, "device");
                g->subsystem_vendor_id = sysfs_read_hex16(dir, "subsystem_vendor");
                g->subsystem_device_id = sysfs_read_hex16(dir, "subsystem_device");
                g_ptr_array_add(gpus, g);
        }
        g_ptr_array_sort(gpus, compare_gpus);
        *ret = g_steal_pointer(&gpus);
        return 0;
}
