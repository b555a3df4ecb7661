/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/fileio.c: the durable atomic writer. */

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "macro.h"
#include "fileio.h"

static char **names_in(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        const char *n;

        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(n));
        g_ptr_array_add(names, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static void test_write_replace(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f", NULL);
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        gsize len;

        g_assert_cmpint(dirfd, >=, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "first\n", 6, 0600), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "new", 3, 0600), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, &len, NULL));
        g_assert_cmpmem(got, len, "new", 3);
        g_assert_cmpint(stat(path, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        /* no temporary file left behind */
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1);
        g_assert_cmpstr(names[0], ==, "f");
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A failure leaves the old file as it was and nothing else. */
static void test_failure_keeps_old(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fileio.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "f", NULL);
        g_autofree char *sub = g_build_filename(dir, "f", "x", NULL);
        g_autofree char *got = NULL;
        g_auto(GStrv) names = NULL;
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "old", 3, 0644), ==, 0);
        /* a directory in the way: the rename fails */
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_mkdir(path, 0755), ==, 0);
        g_assert_cmpint(g_file_set_contents(sub, "keep", -1, NULL), ==, TRUE);
        g_assert_cmpint(write_file_atomic_at(dirfd, "f", "new", 3, 0644), <, 0);
        g_assert_true(g_file_get_contents(sub, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "keep");
        names = names_in(dir);
        g_assert_cmpuint(g_strv_length(names), ==, 1);
        g_assert_cmpint(g_unlink(sub), ==, 0);
        g_assert_cmpint(g_rmdir(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fileio/write-replace", test_write_replace);
        g_test_add_func("/fileio/failure-keeps-old", test_failure_keeps_old);
        return g_test_run();
}
