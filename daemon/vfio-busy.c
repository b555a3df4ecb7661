/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Find the processes that hold mediated devices' VFIO groups open, by comparing the group nodes with
 * every open file in /proc/<pid>/fd (one pass for all devices): the same character device (st_rdev),
 * or the same file (st_dev and st_ino; the simulated host's nodes are plain files). The nodes are only
 * stat()ed, never opened: a VFIO group takes one opener at a time. And which VM such a process is:
 * libvirt's runtime status files, QEMU's command line. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "macro.h"
#include "sysfs-mdev.h"
#include "vfio-busy.h"

static char *comm_of(const char *pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%s/comm", pid);
        g_autofree char *comm = NULL;

        if (!g_file_get_contents(path, &comm, NULL, NULL))
                return g_strdup("?");
        return g_strdup(g_strchomp(comm));
}

void vfio_holder_free(VfioHolder *h)
{
        if (!h)
                return;
        g_free(h->comm);
        g_free(h->group);
        g_free(h);
}

/* The group node of a running device (its sysfs directory): 1 with its stat and group number, 0 when it
 * has none. */
static int group_node(const char *device_dir, struct stat *ret_node, char **ret_group)
{
        g_autofree char *link = g_build_filename(device_dir, "iommu_group", NULL);
        g_autofree char *target = NULL, *group = NULL, *node_path = NULL;

        target = g_file_read_link(link, NULL);
        if (!target)
                return 0; /* no group: nothing can hold it */
        group = g_path_get_basename(target);
        node_path = g_strdup_printf("/dev/vfio/%s", group);
        if (stat(node_path, ret_node) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        *ret_group = g_steal_pointer(&group);
        return 1;
}

/* The nodes to look for, as same_node() compares: a character device by its st_rdev ("c:"), any node
 * by its st_dev and st_ino ("a:"), and a node that is not a character device by those too ("n:"). */
typedef struct Nodes {
        GHashTable *keys;   /* key -> uuid */
        GHashTable *groups; /* uuid -> group number (g_free) */
} Nodes;

static void nodes_clear(Nodes *n)
{
        g_clear_pointer(&n->keys, g_hash_table_unref);
        g_clear_pointer(&n->groups, g_hash_table_unref);
}

static char *node_key(char kind, const struct stat *st)
{
        if (kind == 'c')
                return g_strdup_printf("c:%" G_GUINT64_FORMAT, (guint64)st->st_rdev);
        return g_strdup_printf("%c:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, kind, (guint64)st->st_dev,
                               (guint64)st->st_ino);
}

/* The device whose node the open file st is, or NULL. */
static const char *node_lookup(const Nodes *n, const struct stat *st)
{
        g_autofree char *k1 = NULL, *k2 = NULL;
        const char *found;

        if (S_ISCHR(st->st_mode)) {
                k1 = node_key('c', st);
                found = g_hash_table_lookup(n->keys, k1);
                if (found)
                        return found;
                k2 = node_key('n', st);
                return g_hash_table_lookup(n->keys, k2);
        }
        k1 = node_key('a', st);
        return g_hash_table_lookup(n->keys, k1);
}

/* The held devices among n of process pid (/proc open as procfd), into holders. Its fd directory is
 * opened in one step and read with getdents64() (no DIR: fdopendir() costs an fstat and two fcntl per
 * process), and every entry is fstatat()ed relative to it. A process vgpud may not look into (EACCES
 * or EPERM: the kernel's ptrace check, made for the process, not for each file) is left at its first
 * entry: none of its other files would answer either. */
static void scan_process(int procfd, const char *pid, const Nodes *n, GHashTable *holders)
{
        _Alignas(struct dirent64) char buf[8192];
        char path[32];
        _cleanup_close_ int fd = -1;

        if (snprintf(path, sizeof(path), "%s/fd", pid) >= (int)sizeof(path))
                return;
        fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return; /* gone, or not ours to look into */
        for (;;) {
                ssize_t len = getdents64(fd, buf, sizeof(buf));

                if (len <= 0)
                        return;
                for (ssize_t off = 0; off < len;) {
                        const struct dirent64 *de =
                                (const void *)(buf + off); /* aligned: buf is, and so is d_reclen */
                        struct stat st;
                        const char *uuid;
                        VfioHolder *h;

                        off += de->d_reclen;
                        if (de->d_name[0] == '.')
                                continue;
                        if (fstatat(fd, de->d_name, &st, 0) < 0) {
                                if (errno == EACCES || errno == EPERM)
                                        return;
                                continue; /* closed meanwhile */
                        }
                        uuid = node_lookup(n, &st);
                        if (!uuid || g_hash_table_contains(holders, uuid))
                                continue;
                        h = g_new0(VfioHolder, 1);
                        h->pid = (pid_t)strtol(pid, NULL, 10);
                        h->comm = comm_of(pid);
                        h->group = g_strdup(g_hash_table_lookup(n->groups, uuid));
                        g_hash_table_insert(holders, (gpointer)uuid, h);
                }
        }
}

int vfio_holders_scan(char **keys, char **device_dirs, GHashTable **ret)
{
        _cleanup_(nodes_clear) Nodes n = {
                .keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                .groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free),
        };
        g_autoptr(GHashTable) holders =
                g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)vfio_holder_free);
        _cleanup_closedir_ DIR *proc = NULL;
        struct dirent *de;
        pid_t self = getpid();

        for (size_t i = 0; keys && keys[i]; i++) {
                char **u = &keys[i];
                struct stat st;
                char *group = NULL;
                int r = group_node(device_dirs[i], &st, &group);

                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                g_hash_table_insert(n.groups, *u, group);
                if (S_ISCHR(st.st_mode))
                        g_hash_table_insert(n.keys, node_key('c', &st), *u);
                else
                        g_hash_table_insert(n.keys, node_key('n', &st), *u);
                g_hash_table_insert(n.keys, node_key('a', &st), *u);
        }
        if (g_hash_table_size(n.groups) > 0) {
                proc = opendir("/proc");
                if (!proc)
                        return negative_errno();
                while ((de = readdir(proc))) {
                        char *end = NULL;
                        long pid = strtol(de->d_name, &end, 10);

                        if (!end || *end || end == de->d_name || pid <= 0 || pid == self)
                                continue;
                        scan_process(dirfd(proc), de->d_name, &n, holders);
                }
        }
        *ret = g_steal_pointer(&holders);
        return 0;
}

int vfio_group_holder(const char *device_dir, pid_t *ret_pid, char **ret_comm, char **ret_group)
{
        char *keys[] = {(char *)device_dir, NULL}, *dirs[] = {(char *)device_dir, NULL};
        g_autoptr(GHashTable) holders = NULL;
        VfioHolder *h;
        int r;

        r = vfio_holders_scan(keys, dirs, &holders);
        if (r < 0)
                return r;
        h = g_hash_table_lookup(holders, device_dir);
        if (!h)
                return 0;
        *ret_pid = h->pid;
        *ret_comm = g_steal_pointer(&h->comm);
        *ret_group = g_steal_pointer(&h->group);
        return 1;
}

/* ---- which VM a holder is ---- */

#define VM_FILE_MAX (4U * 1024U * 1024U)

/* The text between "<tag>" and "</tag>" after from, or NULL. */
static char *element_text(const char *from, const char *tag)
{
        g_autofree char *open = g_strdup_printf("<%s>", tag), *close = g_strdup_printf("</%s>", tag);
        const char *a = strstr(from, open), *b;

        if (!a)
                return NULL;
        a += strlen(open);
        b = strstr(a, close);
        return b ? g_strstrip(g_strndup(a, (gsize)(b - a))) : NULL;
}

/* libvirt's runtime status file (<domstatus ... pid='N'><domain ...><name>NAME</name>) of pid. */
static char *libvirt_domain_of(pid_t pid, const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        g_autofree char *p1 = g_strdup_printf("pid='%d'", (int)pid),
                        *p2 = g_strdup_printf("pid=\"%d\"", (int)pid);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *path = NULL, *text = NULL, *tag = NULL;
                const char *start, *end;
                gsize len = 0;

                if (!g_str_has_suffix(name, ".xml"))
                        continue;
                path = g_build_filename(dir, name, NULL);
                if (!g_file_get_contents(path, &text, &len, NULL) || len > VM_FILE_MAX)
                        continue;
                start = strstr(text, "<domstatus");
                end = start ? strchr(start, '>') : NULL;
                if (!end)
                        continue;
                tag = g_strndup(start, (gsize)(end - start));
                if (!strstr(tag, p1) && !strstr(tag, p2))
                        continue;
                start = strstr(end, "<domain");
                return start ? element_text(start, "name") : NULL;
        }
        return NULL;
}

/* QEMU's -name value: "guest=NAME,debug-threads=on" or "NAME,..." gives NAME. */
static char *qemu_name(const char *value)
{
        g_auto(GStrv) items = g_strsplit(value, ",", -1);

        for (size_t i = 0; items[i]; i++) {
                if (g_str_has_prefix(items[i], "guest="))
                        return g_strdup(items[i] + strlen("guest="));
                if (i == 0 && !strchr(items[i], '=') && *items[i])
                        return g_strdup(items[i]);
        }
        return NULL;
}

char *vfio_holder_vm(pid_t pid, const char *libvirt_run_dir)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
        g_autofree char *cmdline = NULL, *domain = NULL, *name = NULL;
        const char *vmid = NULL;
        gsize len = 0;

        domain = libvirt_domain_of(pid, libvirt_run_dir ? libvirt_run_dir : "/run/libvirt/qemu");
        if (domain)
                return g_strconcat("libvirt:", domain, NULL);
        if (!g_file_get_contents(path, &cmdline, &len, NULL) || len > VM_FILE_MAX)
                return NULL;
        for (const char *a = cmdline; a < cmdline + len; a += strlen(a) + 1) {
                const char *next = a + strlen(a) + 1;

                if (next >= cmdline + len)
                        break;
                if (strcmp(a, "-id") == 0 && *next && strspn(next, "0123456789") == strlen(next))
                        vmid = next;
                else if (strcmp(a, "-name") == 0 && !name)
                        name = qemu_name(next);
        }
        if (vmid)
                return g_strconcat("proxmox:", vmid, NULL);
        return name ? g_strconcat("qemu:", name, NULL) : NULL;
}
