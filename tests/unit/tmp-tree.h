/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Temporary file trees for unit tests (a sysfs root, a state directory): write a file, make a link,
 * read a file back, remove the whole tree. Paths are relative to the tree's root; missing directories
 * are made on the way. Every helper fails the test at once when the file system says no, so a test
 * never goes on over a tree that is not what it wrote. */
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

/* Writes root/rel with contents. */
static inline void tree_put(const char *root, const char *rel, const char *contents)
{
        g_autofree char *path = g_build_filename(root, rel, NULL);
        g_autofree char *dir = g_path_get_dirname(path);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, contents, -1, NULL));
}

/* Makes root/rel a symbolic link to target (as written: relative targets stay relative). */
static inline void tree_link(const char *root, const char *rel, const char *target)
{
        g_autofree char *path = g_build_filename(root, rel, NULL);
        g_autofree char *dir = g_path_get_dirname(path);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_cmpint(symlink(target, path), ==, 0);
}

/* The contents of root/rel, to be freed by the caller. */
static inline char *tree_get(const char *root, const char *rel)
{
        g_autofree char *path = g_build_filename(root, rel, NULL);
        char *s = NULL;

        g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
        return s;
}

/* Removes dir and everything below it. */
static inline void tree_remove(const char *dir)
{
        g_autofree char *quoted = g_shell_quote(dir);
        g_autofree char *cmd = g_strdup_printf("rm -rf %s", quoted);

        g_assert_cmpint(system(cmd), ==, 0);
}
