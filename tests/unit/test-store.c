/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/store.c's writes in a temporary directory: round trips in mdevctl's bytes,
 * names that would escape the directory, leftover temp files, and a read-only or full file system
 * (a tmpfs in a private mount namespace; skipped when the test may not mount). */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "store.h"

#define U1 "6c1f4a1e-2d7b-4b8e-9a55-7f0e2a1d3c41"
#define U2 "0b7b3c2a-91d4-4f7e-8a35-2c6d1e9f4a10"
#define P1 "0000:41:00.0"

static MdevDef *make_def(const char *type, bool autostart, int n_attrs)
{
        MdevDef *d = mdev_def_new();

        d->mdev_type = g_strdup(type);
        d->autostart = autostart;
        for (int i = 0; i < n_attrs; i++) {
                g_autofree char *name = g_strdup_printf("attr%d", i);
                g_autofree char *value = g_strdup_printf("value \"%d\"\n", i);
                g_assert_cmpint(mdev_def_add_attr(d, name, value, -1), ==, 0);
        }
        return d;
}

static char *read_file(const char *dir, const char *parent, const char *uuid)
{
        g_autofree char *path = g_build_filename(dir, parent, uuid, NULL);
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, NULL))
                return NULL;
        return contents;
}

/* Names in dir, sorted and joined by ' ': exactly what a write left behind. */
static int compare_str(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *list_dir_sorted(const char *dir)
{
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *n;

        if (!d)
                return g_strdup("<missing>");
        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(n));
        g_ptr_array_sort(names, compare_str);
        g_ptr_array_add(names, NULL);
        return g_strjoinv(" ", (char **)names->pdata);
}

static void test_round_trip(void)
{
        g_autofree char *tmp = g_dir_make_tmp("test-store.XXXXXX", NULL);
        g_autofree char *dir = g_build_filename(tmp, "mdevctl.d", NULL); /* not there yet: created */
        g_autofree char *pdir = g_build_filename(dir, P1, NULL);
        g_autoptr(MdevDef) def = make_def("nvidia-231", true, 3);
        g_autoptr(MdevDef) other = make_def("nvidia-232", false, 0);
        g_autoptr(StoredDef) sd = NULL;
        g_autofree char *contents = NULL, *json = NULL, *names = NULL, *why = NULL;
        g_auto(GStrv) parents = NULL;
        struct stat st;

        g_assert_cmpint(store_write(dir, P1, U1, def), ==, 0);
        contents = read_file(dir, P1, U1);
        json = mdev_def_to_json(def, true);
        g_assert_cmpstr(contents, ==, json); /* mdevctl's bytes, no trailing newline */
        g_assert_cmpint(stat(pdir, &st), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));

        g_assert_cmpint(store_load_one(dir, P1, U1, &sd, &why), ==, 0);
        g_assert_cmpstr(sd->def->mdev_type, ==, "nvidia-231");
        g_assert_true(sd->def->autostart);
        g_assert_cmpuint(sd->def->attrs->len, ==, 3);
        g_assert_cmpstr(((MdevAttr *)sd->def->attrs->pdata[2])->value, ==, "value \"2\"\n");

        /* replacing: the new bytes, and nothing else in the directory */
        g_assert_cmpint(store_write(dir, P1, U1, other), ==, 0);
        g_free(contents);
        contents = read_file(dir, P1, U1);
        g_free(json);
        json = mdev_def_to_json(other, true);
        g_assert_cmpstr(contents, ==, json);
        g_assert_cmpint(store_write(dir, "mtty", U1, def), ==, 0);
        g_assert_cmpint(store_write(dir, P1, U2, def), ==, 0);
        names = list_dir_sorted(pdir);
        g_assert_cmpstr(names, ==, U2 " " U1);

        g_assert_cmpint(store_find(dir, U1, &parents), ==, 0);
        g_assert_cmpuint(g_strv_length(parents), ==, 2);
        g_assert_cmpstr(parents[0], ==, P1);
        g_assert_cmpstr(parents[1], ==, "mtty");

        /* removing: the file, then the parent's directory with its last definition */
        g_assert_cmpint(store_remove(dir, P1, U1), ==, 0);
        g_assert_null(read_file(dir, P1, U1));
        g_assert_cmpint(store_remove(dir, P1, U1), ==, -ENOENT);
        g_assert_cmpint(stat(pdir, &st), ==, 0);
        g_assert_cmpint(store_remove(dir, P1, U2), ==, 0);
        g_assert_cmpint(stat(pdir, &st), ==, -1);
        g_assert_cmpint(errno, ==, ENOENT);
        g_assert_cmpint(store_remove(dir, P1, U2), ==, -ENOENT);
        g_assert_cmpint(store_remove(dir, "mtty", U1), ==, 0);
        g_free(names);
        names = list_dir_sorted(dir);
        g_assert_cmpstr(names, ==, "");

        g_assert_cmpint(g_rmdir(dir), ==, 0);
        g_assert_cmpint(g_rmdir(tmp), ==, 0);
}

/* What store_write_begin_stored() hands over instead of a read after the commit is what that read
 * gives: the same file, size and definition (vgpud's inventory takes it for the read it saves). */
static void test_write_gives_what_a_read_gives(void)
{
        g_autofree char *tmp = g_dir_make_tmp("test-store.XXXXXX", NULL);
        g_autofree char *dir = g_build_filename(tmp, "mdevctl.d", NULL);
        MdevDef *defs[] = {make_def("nvidia-231", true, 3), make_def("nvidia-232", false, 0),
                           make_def("mtty-2", false, 1)};

        defs[1]->mixed_size = true;
        for (size_t i = 0; i < G_N_ELEMENTS(defs); i++) {
                g_autoptr(FileChange) c = NULL;
                g_autoptr(StoredDef) written = NULL, read = NULL;
                g_autofree char *why = NULL, *a = NULL, *b = NULL;
                struct stat st;

                g_assert_cmpint(store_write_begin_stored(dir, P1, U1, defs[i], &c, &written), ==, 0);
                g_assert_nonnull(written);
                file_changes_commit(&c, 1);
                g_assert_cmpint(file_change_result(c), ==, 0);
                g_assert_cmpint(store_load_one(dir, P1, U1, &read, &why), ==, 0);
                g_assert_cmpstr(written->parent, ==, read->parent);
                g_assert_cmpstr(written->uuid, ==, read->uuid);
                g_assert_cmpstr(written->path, ==, read->path);
                g_assert_cmpint(stat(read->path, &st), ==, 0);
                g_assert_cmpuint(written->size, ==, (size_t)st.st_size);
                g_assert_cmpuint(written->size, ==, read->size);
                g_assert_cmpstr(written->def->mdev_type, ==, read->def->mdev_type);
                g_assert_cmpint(written->def->autostart, ==, read->def->autostart);
                g_assert_cmpint(written->def->mixed_size, ==, read->def->mixed_size);
                g_assert_cmpint(written->def->mixed_size, ==, defs[i]->mixed_size);
                g_assert_cmpuint(written->def->attrs->len, ==, defs[i]->attrs->len);
                a = mdev_def_to_json(written->def, true);
                b = mdev_def_to_json(read->def, true);
                g_assert_cmpstr(a, ==, b);
        }
        g_assert_cmpint(store_remove(dir, P1, U1), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
        g_assert_cmpint(g_rmdir(tmp), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(defs); i++)
                mdev_def_free(defs[i]);
}

static void test_invalid_names(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-store.XXXXXX", NULL);
        g_autoptr(MdevDef) def = make_def("nvidia-231", false, 0);
        g_autoptr(MdevDef) notype = mdev_def_new();
        g_autoptr(MdevDef) badtype = make_def("../x", false, 0);
        static const char *const bad_parents[] = {"", ".", "..", "../evil", "a/b", ".hidden", "scripts.d"};
        g_autofree char *names = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(bad_parents); i++) {
                g_assert_cmpint(store_write(dir, bad_parents[i], U1, def), ==, -EINVAL);
                g_assert_cmpint(store_remove(dir, bad_parents[i], U1), ==, -EINVAL);
        }
        g_assert_cmpint(store_write(dir, P1, "6C1F4A1E-2D7B-4B8E-9A55-7F0E2A1D3C41", def), ==, -EINVAL);
        g_assert_cmpint(store_write(dir, P1, "../" U1, def), ==, -EINVAL);
        g_assert_cmpint(store_write(dir, P1, U1, notype), ==, -EINVAL);
        g_assert_cmpint(store_write(dir, P1, U1, badtype), ==, -EINVAL);
        g_assert_cmpint(store_write(dir, P1, U1, NULL), ==, -EINVAL);
        names = list_dir_sorted(dir);
        g_assert_cmpstr(names, ==, ""); /* nothing was created */
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_leftover_temp_file_is_ignored(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-store.XXXXXX", NULL);
        g_autofree char *pdir = g_build_filename(dir, P1, NULL);
        g_autofree char *leftover = g_build_filename(pdir, "." U2 ".k3j2h1", NULL);
        g_autofree char *other = g_build_filename(pdir, ".keep-me", NULL);
        g_autoptr(MdevDef) def = make_def("nvidia-231", false, 1);
        g_autoptr(GPtrArray) defs = NULL, warnings = NULL;
        g_autofree char *names = NULL;

        g_assert_cmpint(store_write(dir, P1, U1, def), ==, 0);
        /* what a crash between create and rename leaves: a partial file under a dot name */
        g_assert_true(g_file_set_contents(leftover, "{\"mdev_type\": \"nvi", -1, NULL));
        g_assert_cmpint(store_load_all(dir, &defs, &warnings), ==, 0);
        g_assert_cmpuint(defs->len, ==, 1);
        g_assert_cmpstr(((StoredDef *)defs->pdata[0])->uuid, ==, U1);
        g_assert_cmpuint(warnings->len, ==, 0);

        /* the directory is kept while the leftover is there */
        g_assert_cmpint(store_remove(dir, P1, U1), ==, 0);
        names = list_dir_sorted(pdir);
        g_assert_cmpstr(names, ==, "." U2 ".k3j2h1");

        /* at startup the leftovers go, and only names store_write() makes */
        g_assert_true(g_file_set_contents(other, "keep", -1, NULL));
        g_assert_cmpuint(store_remove_temp_files(dir), ==, 1);
        g_free(names);
        names = list_dir_sorted(pdir);
        g_assert_cmpstr(names, ==, ".keep-me");
        g_assert_cmpint(g_unlink(other), ==, 0);
        g_assert_cmpint(g_rmdir(pdir), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A private mount namespace in which tests may mount tmpfs; false when this process may not. */
static bool private_mounts(void)
{
        static int state = 0; /* 0 unknown, 1 yes, -1 no */

        if (state == 0) {
                if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
                        state = 1;
                else
                        state = -1;
        }
        return state > 0;
}

static char *mount_tmpfs(const char *options)
{
        char *dir = g_dir_make_tmp("test-store-mnt.XXXXXX", NULL);

        g_assert_nonnull(dir);
        if (mount("tmpfs", dir, "tmpfs", 0, options) < 0) {
                g_rmdir(dir);
                g_free(dir);
                return NULL;
        }
        return dir;
}

static void unmount_tmpfs(const char *dir)
{
        g_assert_cmpint(umount2(dir, MNT_DETACH), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_read_only(void)
{
        g_autofree char *mnt = NULL, *dir = NULL, *before = NULL, *after = NULL, *json = NULL;
        g_autoptr(MdevDef) def = make_def("nvidia-231", false, 0);
        g_autoptr(MdevDef) changed = make_def("nvidia-232", true, 2);

        if (!private_mounts()) {
                g_test_skip("cannot mount in a private namespace (not root?)");
                return;
        }
        mnt = mount_tmpfs("size=1m,mode=0755");
        if (!mnt) {
                g_test_skip("cannot mount tmpfs");
                return;
        }
        dir = g_build_filename(mnt, "mdevctl.d", NULL);
        g_assert_cmpint(store_write(dir, P1, U1, def), ==, 0);
        before = read_file(dir, P1, U1);
        g_assert_cmpint(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), ==, 0);

        /* root ignores modes, a read-only file system stops root too */
        g_assert_cmpint(store_write(dir, P1, U1, changed), ==, -EROFS);
        g_assert_cmpint(store_write(dir, "mtty", U1, changed), ==, -EROFS);
        g_assert_cmpint(store_remove(dir, P1, U1), ==, -EROFS);
        after = read_file(dir, P1, U1);
        g_assert_cmpstr(after, ==, before);
        json = mdev_def_to_json(def, true);
        g_assert_cmpstr(after, ==, json);
        unmount_tmpfs(mnt);
}

static void test_full(void)
{
        g_autofree char *mnt = NULL, *dir = NULL, *pdir = NULL, *before = NULL, *after = NULL;
        g_autofree char *names = NULL;
        g_autoptr(MdevDef) def = make_def("nvidia-231", false, 1);
        g_autoptr(MdevDef) huge = make_def("nvidia-231", false, 0);
        g_autoptr(MdevDef) over = make_def("nvidia-231", false, 0);
        g_autofree char *big = g_malloc(32 * 1024 + 1), *too_big = g_malloc(STORE_DEFINITION_MAX + 1);

        if (!private_mounts()) {
                g_test_skip("cannot mount in a private namespace (not root?)");
                return;
        }
        mnt = mount_tmpfs("size=16k,mode=0755");
        if (!mnt) {
                g_test_skip("cannot mount tmpfs");
                return;
        }
        dir = g_build_filename(mnt, "mdevctl.d", NULL);
        pdir = g_build_filename(dir, P1, NULL);
        g_assert_cmpint(store_write(dir, P1, U1, def), ==, 0);
        before = read_file(dir, P1, U1);

        memset(big, 'x', 32 * 1024);
        big[32 * 1024] = '\0';
        g_assert_cmpint(mdev_def_add_attr(huge, "big", big, -1), ==, 0);
        g_assert_cmpint(store_write(dir, P1, U1, huge), ==, -ENOSPC);
        /* over the size limit: refused before the file system is asked */
        memset(too_big, 'x', STORE_DEFINITION_MAX);
        too_big[STORE_DEFINITION_MAX] = '\0';
        g_assert_cmpint(mdev_def_add_attr(over, "big", too_big, -1), ==, 0);
        g_assert_cmpint(store_write(dir, P1, U1, over), ==, -EFBIG);
        after = read_file(dir, P1, U1);
        g_assert_cmpstr(after, ==, before); /* the old file, whole */
        names = list_dir_sorted(pdir);
        g_assert_cmpstr(names, ==, U1); /* no temp file left */
        unmount_tmpfs(mnt);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/store/round-trip", test_round_trip);
        g_test_add_func("/store/write-gives-what-a-read-gives", test_write_gives_what_a_read_gives);
        g_test_add_func("/store/invalid-names", test_invalid_names);
        g_test_add_func("/store/leftover-temp-file", test_leftover_temp_file_is_ignored);
        g_test_add_func("/store/read-only", test_read_only);
        g_test_add_func("/store/full", test_full);
        return g_test_run();
}
