/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the definitions directory. */

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "uuid.h"
#include "store.h"

void stored_def_free(StoredDef *d)
{
        if (!d)
                return;
        g_free(d->parent);
        g_free(d->path);
        mdev_def_free(d->def);
        g_free(d);
}

/* Definition files are small; anything this large is not one. */
#define DEF_FILE_MAX (1024 * 1024)

int store_load_one(const char *dir, const char *parent, const char *uuid, StoredDef **ret, char **ret_error)
{
        g_autofree char *path = g_build_filename(dir, parent, uuid, NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(StoredDef) d = NULL;
        g_autoptr(MdevDef) def = NULL;
        g_autofree char *why = NULL;
        struct stat st;
        gsize len;
        int r;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode)) {
                *ret_error = g_strdup("not a regular file");
                return -EBADMSG;
        }
        if (st.st_size > DEF_FILE_MAX) {
                *ret_error = g_strdup_printf("file too large (%lld bytes)", (long long) st.st_size);
                return -EBADMSG;
        }
        if (!g_file_get_contents(path, &contents, &len, &error)) {
                *ret_error = g_strdup(error->message);
                return error->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
        }
        r = mdev_def_parse(contents, len, &def, &why);
        if (r < 0) {
                *ret_error = why ? g_steal_pointer(&why) : g_strdup("not a valid definition");
                return -EBADMSG;
        }

        d = g_new0(StoredDef, 1);
        d->parent = g_strdup(parent);
        g_strlcpy(d->uuid, uuid, sizeof(d->uuid));
        d->path = g_steal_pointer(&path);
        d->def = g_steal_pointer(&def);
        *ret = g_steal_pointer(&d);
        return 0;
}

static int compare_defs(gconstpointer a, gconstpointer b)
{
        const StoredDef *x = *(StoredDef *const *) a, *y = *(StoredDef *const *) b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static void load_parent_dir(const char *dir, const char *parent, GPtrArray *defs, GPtrArray *warnings)
{
        g_autofree char *pdir = g_build_filename(dir, parent, NULL);
        _cleanup_closedir_ DIR *d = opendir(pdir);
        struct dirent *de;

        if (!d) {
                g_ptr_array_add(warnings, g_strdup_printf("%s: cannot read directory: %s", pdir,
                                                          g_strerror(errno)));
                return;
        }
        while ((de = readdir(d))) {
                g_autofree char *why = NULL;
                StoredDef *sd;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (!vgpu_uuid_is_canonical(de->d_name)) {
                        g_ptr_array_add(warnings, g_strdup_printf("%s/%s: file name is not a UUID, skipped",
                                                                  pdir, de->d_name));
                        continue;
                }
                r = store_load_one(dir, parent, de->d_name, &sd, &why);
                if (r == -ENOENT)
                        continue; /* removed while we looked */
                if (r < 0) {
                        g_ptr_array_add(warnings, g_strdup_printf("%s/%s: not a valid definition, skipped: %s",
                                                                  pdir, de->d_name, why ? why : g_strerror(-r)));
                        continue;
                }
                g_ptr_array_add(defs, sd);
        }
}

int store_load_all(const char *dir, GPtrArray **ret_defs, GPtrArray **ret_warnings)
{
        g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func((GDestroyNotify) stored_def_free);
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d && errno != ENOENT)
                g_ptr_array_add(warnings, g_strdup_printf("%s: cannot read directory: %s", dir,
                                                          g_strerror(errno)));
        while (d && (de = readdir(d))) {
                g_autofree char *path = NULL;
                struct stat st;

                if (de->d_name[0] == '.' || g_str_equal(de->d_name, "scripts.d"))
                        continue;
                path = g_build_filename(dir, de->d_name, NULL);
                if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                load_parent_dir(dir, de->d_name, defs, warnings);
        }
        g_ptr_array_sort(defs, compare_defs);
        *ret_defs = g_steal_pointer(&defs);
        *ret_warnings = g_steal_pointer(&warnings);
        return 0;
}
