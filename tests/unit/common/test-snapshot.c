/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/snapshot.c: the published inventory's file, its lock, and reading it back. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fileio.h"
#include "macro.h"
#include "snapshot.h"

/* One parent with one type, one device, one definition with one attribute, one warning. */
static GBytes *sample(void)
{
        g_autoptr(GString) out = g_string_new(NULL);

        vgpud_snapshot_begin(out);
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "0000:41:00.0");
        vgpud_snapshot_put_str(out, "/org/vgpud1/gpu/x");
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "nvidia-231");
        vgpud_snapshot_put_str(out, "GRID T4-2Q");
        vgpud_snapshot_put_str(out, NULL);
        vgpud_snapshot_put_str(out, "vfio-pci");
        vgpud_snapshot_put_i32(out, -1);
        vgpud_snapshot_put_u32(out, 8);
        vgpud_snapshot_put_u64(out, UINT64_C(1) << 40);
        vgpud_snapshot_put_str(out, "T4-2Q");
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "6f1c0e2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b");
        vgpud_snapshot_put_str(out, "0000:41:00.0");
        vgpud_snapshot_put_str(out, "nvidia-231");
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "0000:41:00.0");
        vgpud_snapshot_put_str(out, "6f1c0e2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b");
        vgpud_snapshot_put_str(out, "nvidia-231");
        vgpud_snapshot_put_str(out, "auto");
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "x");
        vgpud_snapshot_put_str(out, "y");
        vgpud_snapshot_put_str(out, "/org/vgpud1/definition/x");
        vgpud_snapshot_put_u32(out, 1);
        vgpud_snapshot_put_str(out, "a warning");
        vgpud_snapshot_end(out);
        return g_bytes_new(out->str, out->len);
}

/* Read sample()'s fields back: 0, or -EBADMSG as soon as anything does not fit. */
static int walk(GBytes *data, bool check_values)
{
        VgpudSnapshotCursor c;
        int r = vgpud_snapshot_cursor_init(&c, data);

        if (r < 0)
                return r;
        for (uint32_t n = vgpud_snapshot_get_count(&c, 6), i = 0; i < n; i++) {
                const char *name = vgpud_snapshot_get_str(&c);
                vgpud_snapshot_skip_str(&c);
                for (uint32_t m = vgpud_snapshot_get_count(&c, 21), j = 0; j < m; j++) {
                        const char *id = vgpud_snapshot_get_str(&c), *tname = vgpud_snapshot_get_str(&c);
                        const char *desc = vgpud_snapshot_get_str(&c);
                        vgpud_snapshot_skip_str(&c);
                        int32_t avail = vgpud_snapshot_get_i32(&c);
                        uint32_t max = vgpud_snapshot_get_u32(&c);
                        uint64_t fb = vgpud_snapshot_get_u64(&c);
                        vgpud_snapshot_skip_str(&c);
                        if (check_values) {
                                g_assert_cmpstr(name, ==, "0000:41:00.0");
                                g_assert_cmpstr(id, ==, "nvidia-231");
                                g_assert_cmpstr(tname, ==, "GRID T4-2Q");
                                g_assert_cmpstr(desc, ==, "");
                                g_assert_cmpint(avail, ==, -1);
                                g_assert_cmpuint(max, ==, 8);
                                g_assert_cmpuint(fb, ==, UINT64_C(1) << 40);
                        }
                }
        }
        for (uint32_t n = vgpud_snapshot_get_count(&c, 3), i = 0; i < n; i++)
                for (int k = 0; k < 3; k++)
                        vgpud_snapshot_skip_str(&c);
        for (uint32_t n = vgpud_snapshot_get_count(&c, 9), i = 0; i < n; i++) {
                for (int k = 0; k < 4; k++)
                        vgpud_snapshot_skip_str(&c);
                for (uint32_t m = vgpud_snapshot_get_count(&c, 2), j = 0; j < m; j++) {
                        const char *attr = vgpud_snapshot_get_str(&c);
                        if (check_values)
                                g_assert_cmpstr(attr, ==, "x");
                        vgpud_snapshot_skip_str(&c);
                }
                vgpud_snapshot_skip_str(&c);
        }
        for (uint32_t n = vgpud_snapshot_get_count(&c, 1), i = 0; i < n; i++) {
                const char *w = vgpud_snapshot_get_str(&c);
                if (check_values)
                        g_assert_cmpstr(w, ==, "a warning");
        }
        return vgpud_snapshot_done(&c, true);
}

/* Write bytes as the snapshot at path, as vgpud does (without fsync). */
static void write_snapshot(const char *dir, GBytes *data)
{
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        g_assert_cmpint(write_file_atomic_full_at(dirfd, "snapshot", g_bytes_get_data(data, NULL),
                                                  g_bytes_get_size(data), 0644, WRITE_ATOMIC_NO_SYNC),
                        ==, 0);
}

static void test_round_trip(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-snapshot.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "snapshot", NULL);
        g_autofree char *lock = vgpud_snapshot_lock_path(path);
        g_autoptr(GBytes) data = sample();
        g_autoptr(GBytes) got = NULL;
        int fd;

        write_snapshot(dir, data);
        /* nobody holds the lock: the file is not current */
        g_assert_cmpint(vgpud_snapshot_is_locked(path), ==, 0);
        g_assert_cmpint(vgpud_snapshot_read(path, &got), ==, -ESRCH);
        g_assert_null(got);

        fd = vgpud_snapshot_lock(path);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(vgpud_snapshot_lock(path), ==, -EBUSY); /* one writer at a time */
        g_assert_cmpint(vgpud_snapshot_is_locked(path), ==, 1);
        g_assert_cmpint(vgpud_snapshot_read(path, &got), ==, 0);
        g_assert_true(g_bytes_equal(got, data));
        g_assert_cmpint(walk(got, true), ==, 0);

        /* the writer gone: stale, whatever the file says */
        close(fd);
        g_clear_pointer(&got, g_bytes_unref);
        g_assert_cmpint(vgpud_snapshot_read(path, &got), ==, -ESRCH);
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_unlink(lock), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_missing(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-snapshot.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "snapshot", NULL);
        g_autofree char *lock = vgpud_snapshot_lock_path(path);
        g_autoptr(GBytes) got = NULL;
        int fd;

        g_assert_cmpint(vgpud_snapshot_read(path, &got), ==, -ESRCH); /* no lock file either */
        fd = vgpud_snapshot_lock(path);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(vgpud_snapshot_read(path, &got), ==, -ENOENT);
        close(fd);
        g_assert_cmpint(g_unlink(lock), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Every truncation is refused, and no damaged byte makes a read go out of bounds (the reads copy
 * nothing: under ASan or valgrind an overrun would show). */
static void test_damaged(void)
{
        g_autoptr(GBytes) data = sample();
        gsize size;
        const guint8 *p = g_bytes_get_data(data, &size);

        g_assert_cmpint(walk(data, true), ==, 0);
        for (gsize cut = 0; cut < size; cut++) {
                /* its own allocation, so that a read past its end is one past an allocation */
                g_autoptr(GBytes) truncated = g_bytes_new(p, cut);
                g_assert_cmpint(walk(truncated, false), ==, -EBADMSG);
        }
        for (gsize i = 0; i < size; i++)
                for (guint8 v = 0; v < 3; v++) {
                        static const guint8 values[] = {0x00, 0xff, 'x'};
                        g_autofree guint8 *copy = g_memdup2(p, size);
                        g_autoptr(GBytes) bytes = NULL;

                        if (copy[i] == values[v])
                                continue;
                        copy[i] = values[v];
                        bytes = g_bytes_new_take(g_steal_pointer(&copy), size);
                        (void)walk(bytes, false); /* either answer, but within bounds */
                }
        /* the magic, the length, a count too large for what is left: refused */
        for (gsize i = 0; i < 17; i++) {
                g_autofree guint8 *copy = g_memdup2(p, size);
                g_autoptr(GBytes) bytes = NULL;

                copy[i] ^= 0x40;
                bytes = g_bytes_new_take(g_steal_pointer(&copy), size);
                g_assert_cmpint(walk(bytes, false), ==, -EBADMSG);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/snapshot/round-trip", test_round_trip);
        g_test_add_func("/snapshot/missing", test_missing);
        g_test_add_func("/snapshot/damaged", test_damaged);
        return g_test_run();
}
