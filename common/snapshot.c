/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The published inventory's file format, its lock, and reading it (snapshot.h). */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "snapshot.h"

#define HEADER_SIZE 16 /* the magic and the length */

char *vgpud_snapshot_lock_path(const char *path)
{
        return g_strconcat(path, ".lock", NULL);
}

static struct flock whole_file(short type)
{
        return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
}

int vgpud_snapshot_lock(const char *path)
{
        g_autofree char *lock = vgpud_snapshot_lock_path(path);
        _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        struct flock fl = whole_file(F_WRLCK);

        if (fd < 0)
                return negative_errno();
        if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
                return errno == EAGAIN || errno == EACCES ? -EBUSY : negative_errno();
        return TAKE_FD(fd);
}

int vgpud_snapshot_is_locked(const char *path)
{
        g_autofree char *lock = vgpud_snapshot_lock_path(path);
        _cleanup_close_ int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct flock fl = whole_file(F_RDLCK);

        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        /* only a write lock conflicts with this read lock: one needs the file open for writing, which
         * only its owner (root) can do */
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return negative_errno();
        return fl.l_type == F_WRLCK;
}

void vgpud_snapshot_begin(GString *out)
{
        uint64_t zero = 0;

        g_string_append_len(out, VGPUD_SNAPSHOT_MAGIC, 8);
        g_string_append_len(out, (const char *)&zero, sizeof zero);
}

void vgpud_snapshot_put_u32(GString *out, uint32_t v)
{
        g_string_append_len(out, (const char *)&v, sizeof v);
}

void vgpud_snapshot_put_i32(GString *out, int32_t v)
{
        g_string_append_len(out, (const char *)&v, sizeof v);
}

void vgpud_snapshot_put_u64(GString *out, uint64_t v)
{
        g_string_append_len(out, (const char *)&v, sizeof v);
}

void vgpud_snapshot_put_str(GString *out, const char *s)
{
        g_string_append_len(out, s ? s : "", (gssize)strlen(s ? s : "") + 1);
}

void vgpud_snapshot_end(GString *out)
{
        uint64_t len = out->len - HEADER_SIZE;

        memcpy(out->str + 8, &len, sizeof len);
}

int vgpud_snapshot_cursor_init(VgpudSnapshotCursor *c, GBytes *data)
{
        gsize size;
        const char *p = g_bytes_get_data(data, &size);
        uint64_t len;

        if (size < HEADER_SIZE || memcmp(p, VGPUD_SNAPSHOT_MAGIC, 8) != 0)
                return -EBADMSG;
        memcpy(&len, p + 8, sizeof len);
        if (len != size - HEADER_SIZE)
                return -EBADMSG;
        *c = (VgpudSnapshotCursor){.p = p + HEADER_SIZE, .end = p + size};
        return 0;
}

/* n bytes from the cursor into v, or failed. */
static void get_bytes(VgpudSnapshotCursor *c, void *v, size_t n)
{
        if (c->failed || (size_t)(c->end - c->p) < n) {
                c->failed = true;
                memset(v, 0, n);
                return;
        }
        memcpy(v, c->p, n);
        c->p += n;
}

uint32_t vgpud_snapshot_get_u32(VgpudSnapshotCursor *c)
{
        uint32_t v;

        get_bytes(c, &v, sizeof v);
        return v;
}

int32_t vgpud_snapshot_get_i32(VgpudSnapshotCursor *c)
{
        int32_t v;

        get_bytes(c, &v, sizeof v);
        return v;
}

uint64_t vgpud_snapshot_get_u64(VgpudSnapshotCursor *c)
{
        uint64_t v;

        get_bytes(c, &v, sizeof v);
        return v;
}

const char *vgpud_snapshot_get_str(VgpudSnapshotCursor *c)
{
        const char *s = c->p, *nul;

        if (c->failed)
                return "";
        nul = memchr(s, '\0', (size_t)(c->end - s));
        if (!nul) {
                c->failed = true;
                return "";
        }
        c->p = nul + 1;
        return s;
}

void vgpud_snapshot_skip_str(VgpudSnapshotCursor *c)
{
        (void)vgpud_snapshot_get_str(c);
}

uint32_t vgpud_snapshot_get_count(VgpudSnapshotCursor *c, size_t min_size)
{
        uint32_t n = vgpud_snapshot_get_u32(c);

        if (!c->failed && (uint64_t)n * min_size > (uint64_t)(c->end - c->p))
                c->failed = true;
        return c->failed ? 0 : n;
}

int vgpud_snapshot_done(const VgpudSnapshotCursor *c, bool at_end)
{
        return c->failed || (at_end && c->p != c->end) ? -EBADMSG : 0;
}

/* The whole of fd. */
static int read_all(int fd, GBytes **ret)
{
        struct stat st;
        g_autofree char *buf = NULL;
        size_t have = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        buf = g_malloc((size_t)st.st_size + 1);
        for (;;) {
                ssize_t n = read(fd, buf + have, (size_t)st.st_size + 1 - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                have += (size_t)n;
                if (have > (size_t)st.st_size) /* grew: not a file vgpud wrote (it renames new ones) */
                        return -EBADMSG;
        }
        *ret = g_bytes_new_take(g_steal_pointer(&buf), have);
        return 0;
}

int vgpud_snapshot_read(const char *path, GBytes **ret)
{
        g_autoptr(GBytes) data = NULL;
        VgpudSnapshotCursor c;
        _cleanup_close_ int fd = -1;
        int r;

        r = vgpud_snapshot_is_locked(path);
        if (r <= 0)
                return r < 0 ? r : -ESRCH;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        r = read_all(fd, &data);
        if (r < 0)
                return r;
        r = vgpud_snapshot_cursor_init(&c, data);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&data);
        return 0;
}
