/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Find a process that holds a mediated device's VFIO group open, by comparing the group node with
 * every open file in /proc/<pid>/fd: the same character device (st_rdev), or the same file (st_dev
 * and st_ino; the simulated host's nodes are plain files). The node is only stat()ed, never opened: a
 * VFIO group takes one opener at a time. */

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "macro.h"
#include "vfio-busy.h"

static bool same_node(const struct stat *a, const struct stat *b)
{
        if (S_ISCHR(a->st_mode) && S_ISCHR(b->st_mode))
                return a->st_rdev == b->st_rdev;
        /* the same file; also what umockdev's stat() shows as a character device is a file underneath */
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Does process pid (its /proc directory open as procfd) have the node open? */
static bool holds(int procfd, const char *pid, const struct stat *node)
{
        _cleanup_closedir_ DIR *fds = NULL;
        struct dirent *de;
        int fd;

        fd = openat(procfd, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        {
                _cleanup_close_ int pidfd = fd;
                fd = openat(pidfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return false;
        fds = fdopendir(fd);
        if (!fds) {
                close(fd);
                return false;
        }
        while ((de = readdir(fds))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(fds), de->d_name, &st, 0) == 0 && same_node(node, &st))
                        return true;
        }
        return false;
}

static char *comm_of(const char *pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%s/comm", pid);
        g_autofree char *comm = NULL;

        if (!g_file_get_contents(path, &comm, NULL, NULL))
                return g_strdup("?");
        return g_strdup(g_strchomp(comm));
}

int vfio_group_holder(const char *device_dir, pid_t *ret_pid, char **ret_comm, char **ret_group)
{
        g_autofree char *link = g_build_filename(device_dir, "iommu_group", NULL);
        g_autofree char *target = NULL, *group = NULL, *node_path = NULL;
        _cleanup_closedir_ DIR *proc = NULL;
        struct stat node;
        struct dirent *de;
        pid_t self = getpid();

        target = g_file_read_link(link, NULL);
        if (!target)
                return 0; /* no group: nothing can hold it */
        group = g_path_get_basename(target);
        node_path = g_strdup_printf("/dev/vfio/%s", group);
        if (stat(node_path, &node) < 0)
                return errno == ENOENT ? 0 : negative_errno();

        proc = opendir("/proc");
        if (!proc)
                return negative_errno();
        while ((de = readdir(proc))) {
                char *end = NULL;
                long pid = strtol(de->d_name, &end, 10);

                if (!end || *end || end == de->d_name || pid <= 0 || pid == self)
                        continue;
                if (holds(dirfd(proc), de->d_name, &node)) {
                        *ret_pid = (pid_t)pid;
                        *ret_comm = comm_of(de->d_name);
                        *ret_group = g_steal_pointer(&group);
                        return 1;
                }
        }
        return 0;
}
