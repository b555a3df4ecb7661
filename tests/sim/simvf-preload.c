/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvgpud-simvf.so: the part of the simulated kernel that must answer inside a system call.
 * Preloaded BEFORE umockdev's preload (LD_PRELOAD=libvgpud-simvf.so:libumockdev-preload.so.0),
 * never installed. Under umockdev a sysfs attribute is a regular file, so write(2) always
 * succeeds and read(2) always returns the content. The NVIDIA driver answers a write to a VF's
 * nvidia/current_vgpu_type (and the PCI core one to sriov_numvfs) with an error code, and a read
 * of nvidia/gpu_instance_id or nvidia/placement_id with ENXIO while the VF has no vGPU. So:
 *
 * - open(2)/openat(2) of a path ending in nvidia/current_vgpu_type, /sriov_numvfs, an mdev type's
 *   mdev_supported_types/<type>/create or an mdev's <uuid>/remove marks the fd; write(2) on a marked fd is
 * sent to the emulator (tests/sim/emulator_vf.py) over $UMOCKDEV_DIR/simvf.sock and returns what the driver
 *   says (count, or -1 with errno) once it has done it. Without the socket (no emulator) the write
 *   goes to the file as before. A real kernel's create_store() handles each write on its own and
 *   returns once the device exists (or with the driver's error): two creates written one right
 *   after the other through one file both happen, which a file the emulator reads later cannot do
 *   (the second O_TRUNC would drop the first). remove_store() likewise returns once the device is
 *   gone and its driver has let go of it.
 * - read(2) of a marked nvidia/gpu_instance_id or nvidia/placement_id fails with ENXIO while the
 *   file is empty (the emulator keeps it empty while the VF has no vGPU).
 *
 * Only open(2)+write(2)/read(2) are seen: stdio (fopen/fprintf) writes go to the file and reach
 * the emulator through inotify, asynchronously, with no error for the writer.
 */

/* the wrappers define open and open64, read and __read_chk (etc.) as the plain, distinct symbols they are */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { KIND_NONE, KIND_WRITE, KIND_ENXIO };
#define MAX_FD 65536
static unsigned char fd_kind[MAX_FD];

static bool ends_with(const char *s, const char *suffix)
{
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && strcmp(s + ls - lx, suffix) == 0 && (ls == lx || s[ls - lx - 1] == '/');
}

/* A type's create file: .../mdev_supported_types/<type>/create */
static bool is_create(const char *path)
{
        const char *type;

        if (!ends_with(path, "create"))
                return false;
        type = strstr(path, "/mdev_supported_types/");
        return type != NULL && strchr(type + strlen("/mdev_supported_types/"), '/') ==
                                       path + strlen(path) - strlen("/create");
}

/* An mdev's remove file: .../<uuid>/remove (a PCI device's remove is not ours) */
static bool is_mdev_remove(const char *path)
{
        size_t n = strlen(path);
        const char *uuid;

        if (!ends_with(path, "remove") || n < strlen("/remove") + 37)
                return false;
        uuid = path + n - strlen("/remove") - 36;
        if (uuid[-1] != '/')
                return false;
        for (int i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? uuid[i] != '-' : !strchr("0123456789abcdef", uuid[i]) || !uuid[i])
                        return false;
        }
        return true;
}

static int kind_of(const char *path)
{
        if (path == NULL)
                return KIND_NONE;
        if (ends_with(path, "nvidia/current_vgpu_type") || ends_with(path, "sriov_numvfs") ||
            is_create(path) || is_mdev_remove(path))
                return KIND_WRITE;
        if (ends_with(path, "nvidia/gpu_instance_id") || ends_with(path, "nvidia/placement_id"))
                return KIND_ENXIO;
        return KIND_NONE;
}

/* The file an fd is open on, as the kernel names it (under umockdev: the testbed's real path). */
static bool fd_path(int fd, char *buf, size_t size)
{
        char link[64];
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, buf, size - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        return true;
}

/* Classify a freshly opened fd. The path as given may be relative to a directory fd
 * ("current_vgpu_type" from an fd on nvidia/): when its last component is one of ours, the
 * fd's own path decides. */
static void mark(int fd, const char *path)
{
        const char *base;
        char real[4096];

        if (fd < 0 || fd >= MAX_FD)
                return;
        fd_kind[fd] = (unsigned char)kind_of(path);
        if (fd_kind[fd] != KIND_NONE || path == NULL)
                return;
        base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (strcmp(base, "current_vgpu_type") != 0 && strcmp(base, "gpu_instance_id") != 0 &&
            strcmp(base, "placement_id") != 0 && strcmp(base, "create") != 0 && strcmp(base, "remove") != 0)
                return;
        if (fd_path(fd, real, sizeof real))
                fd_kind[fd] = (unsigned char)kind_of(real);
}

static int fd_kind_of(int fd)
{
        return fd >= 0 && fd < MAX_FD ? fd_kind[fd] : KIND_NONE;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* ------------------------------------------------------------------ open */
#define OPEN_WRAPPER(name)                              \
        int name(const char *path, int flags, ...)      \
        {                                               \
                mode_t mode = 0;                        \
                if (flags & (O_CREAT | __O_TMPFILE)) {  \
                        va_list ap;                     \
                        va_start(ap, flags);            \
                        mode = va_arg(ap, mode_t);      \
                        va_end(ap);                     \
                }                                       \
                int fd = NEXT(name)(path, flags, mode); \
                mark(fd, path);                         \
                return fd;                              \
        }
#define OPENAT_WRAPPER(name)                                   \
        int name(int dirfd, const char *path, int flags, ...)  \
        {                                                      \
                mode_t mode = 0;                               \
                if (flags & (O_CREAT | __O_TMPFILE)) {         \
                        va_list ap;                            \
                        va_start(ap, flags);                   \
                        mode = va_arg(ap, mode_t);             \
                        va_end(ap);                            \
                }                                              \
                int fd = NEXT(name)(dirfd, path, flags, mode); \
                mark(fd, path);                                \
                return fd;                                     \
        }

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
        int fd = NEXT(__open_2)(path, flags);
        mark(fd, path);
        return fd;
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
        int fd = NEXT(__open64_2)(path, flags);
        mark(fd, path);
        return fd;
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
        int fd = NEXT(__openat_2)(dirfd, path, flags);
        mark(fd, path);
        return fd;
}

int close(int fd)
{
        if (fd >= 0 && fd < MAX_FD)
                fd_kind[fd] = KIND_NONE;
        return NEXT(close)(fd);
}

/* ------------------------------------------------------------------ the emulator */

/* Send "write <real path> <hex value>\n" and read back the errno the driver gives.
 * Returns 0 or a positive errno; -1 when there is no emulator to ask. */
static int ask_emulator(int fd, const void *buf, size_t count)
{
        const char *dir = getenv("UMOCKDEV_DIR");
        char path[4096];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int s, saved = errno;

        if (dir == NULL || count > 4096 || !fd_path(fd, path, sizeof path))
                return -1;
        if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/simvf.sock", dir) >= sizeof sa.sun_path)
                return -1;
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
                NEXT(close)(s);
                errno = saved;
                return -1;
        }

        size_t len = strlen(path) + 2 * count + 16;
        char *req = malloc(len);
        if (req == NULL) {
                NEXT(close)(s);
                return ENOMEM;
        }
        size_t off = (size_t)snprintf(req, len, "write %s ", path);
        for (size_t i = 0; i < count; i++)
                off += (size_t)snprintf(req + off, len - off, "%02x", ((const unsigned char *)buf)[i]);
        req[off++] = '\n';

        ssize_t (*real_write)(int, const void *, size_t) = NEXT(write);
        ssize_t (*real_read)(int, void *, size_t) = NEXT(read);
        int err = EIO;
        if (real_write(s, req, off) == (ssize_t)off) {
                char reply[32] = {0};
                size_t got = 0;
                while (got < sizeof reply - 1) {
                        ssize_t r = real_read(s, reply + got, sizeof reply - 1 - got);
                        if (r <= 0)
                                break;
                        got += (size_t)r;
                }
                if (got > 0)
                        err = atoi(reply);
        }
        free(req);
        NEXT(close)(s);
        errno = saved;
        return err;
}

ssize_t write(int fd, const void *buf, size_t count)
{
        if (fd_kind_of(fd) == KIND_WRITE) {
                int err = ask_emulator(fd, buf, count);
                if (err == 0)
                        return (ssize_t)count;
                if (err > 0) {
                        errno = err;
                        return -1;
                }
        }
        return NEXT(write)(fd, buf, count);
}

static bool enxio(int fd)
{
        struct stat st;
        return fd_kind_of(fd) == KIND_ENXIO && fstat(fd, &st) == 0 && st.st_size == 0;
}

ssize_t read(int fd, void *buf, size_t count)
{
        if (enxio(fd)) {
                errno = ENXIO;
                return -1;
        }
        return NEXT(read)(fd, buf, count);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
        if (enxio(fd)) {
                errno = ENXIO;
                return -1;
        }
        return NEXT(__read_chk)(fd, buf, count, buflen);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
        if (enxio(fd)) {
                errno = ENXIO;
                return -1;
        }
        return NEXT(pread64)(fd, buf, count, offset);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
        if (enxio(fd)) {
                errno = ENXIO;
                return -1;
        }
        return NEXT(pread)(fd, buf, count, offset);
}
