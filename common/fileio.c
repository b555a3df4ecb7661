/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The durable atomic writer (fileio.h). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "macro.h"
#include "fault.h"
#include "fileio.h"

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Create ".<name>.XXXXXX" (the X's random) exclusively in dirfd; its name in *ret_tmp. */
static int open_temp(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (int tries = 0;; tries++) {
                g_autofree char *tmp = g_strdup_printf(".%s.XXXXXX", name);
                int fd;

                for (char *x = strrchr(tmp, '.') + 1; *x; x++)
                        *x = letters[g_random_int_range(0, sizeof(letters) - 1)];
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
                if (fd >= 0) {
                        *ret_tmp = g_steal_pointer(&tmp);
                        return fd;
                }
                if (errno != EEXIST || tries >= 100)
                        return negative_errno();
        }
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
        _cleanup_close_ int fd = -1;
        g_autofree char *tmp = NULL;
        int r;

        fd = open_temp(dirfd, name, mode, &tmp);
        if (fd < 0)
                return fd;
        r = write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno();
        if (r >= 0)
                fault_point(strcmp(name, "leases") == 0 ? "write-temp-leases" : "write-temp-definition");
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        return fsync(dirfd) < 0 ? negative_errno() : 0;
}

bool is_temp_file_of(const char *entry, const char *name)
{
        size_t n = strlen(name), len = strlen(entry);

        if (len != 1 + n + 1 + 6 || entry[0] != '.' || strncmp(entry + 1, name, n) != 0 ||
            entry[1 + n] != '.')
                return false;
        for (const char *x = entry + n + 2; *x; x++)
                if (!g_ascii_islower(*x) && !g_ascii_isdigit(*x))
                        return false;
        return true;
}
