/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The definitions directory: reading every definition, and writing or removing one atomically. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "fileio.h"
#include "uuid.h"
#include "name.h"
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

/* The StoredDef that len bytes of contents, read from path, give (takes path). */
static int stored_def_parse(const char *parent, const char *uuid, char *path, const char *contents,
                            size_t len, StoredDef **ret, char **ret_error)
{
        g_autofree char *p = path;
        g_autoptr(StoredDef) d = NULL;
        g_autoptr(MdevDef) def = NULL;
        g_autofree char *why = NULL;
        int r;

        r = mdev_def_parse(contents, len, &def, &why);
        if (r < 0) {
                *ret_error = why ? g_steal_pointer(&why) : g_strdup("not a valid definition");
                return -EBADMSG;
        }
        d = g_new0(StoredDef, 1);
        d->parent = g_strdup(parent);
        g_strlcpy(d->uuid, uuid, sizeof(d->uuid));
        d->path = g_steal_pointer(&p);
        d->size = len;
        d->def = g_steal_pointer(&def);
        *ret = g_steal_pointer(&d);
        return 0;
}

int store_load_one(const char *dir, const char *parent, const char *uuid, StoredDef **ret, char **ret_error)
{
        g_autofree char *path = g_build_filename(dir, parent, uuid, NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        struct stat st;
        gsize len;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode)) {
                *ret_error = g_strdup("not a regular file");
                return -EBADMSG;
        }
        if (st.st_size > STORE_READ_MAX) {
                *ret_error =
                        g_strdup_printf("file too large to read (%lld bytes, at most %d), left as it is",
                                        (long long)st.st_size, STORE_READ_MAX);
                return -EFBIG;
        }
        if (!g_file_get_contents(path, &contents, &len, &error)) {
                *ret_error = g_strdup(error->message);
                return error->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
        }
        return stored_def_parse(parent, uuid, g_steal_pointer(&path), contents, len, ret, ret_error);
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_defs(gconstpointer a, gconstpointer b)
{
        const StoredDef *x = *(StoredDef *const *)a, *y = *(StoredDef *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static void load_parent_dir(const char *dir, const char *parent, GPtrArray *defs, GPtrArray *warnings)
{
        g_autofree char *pdir = g_build_filename(dir, parent, NULL);
        _cleanup_closedir_ DIR *d = opendir(pdir);
        struct dirent *de;

        if (!d) {
                g_ptr_array_add(warnings,
                                g_strdup_printf("%s: cannot read directory: %s", pdir, g_strerror(errno)));
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
                        g_ptr_array_add(warnings,
                                        g_strdup_printf("%s/%s: not a valid definition, skipped: %s", pdir,
                                                        de->d_name, why ? why : g_strerror(-r)));
                        continue;
                }
                if (!name_is_valid(sd->def->mdev_type)) {
                        g_autofree char *q = name_quote(sd->def->mdev_type),
                                        *shown = name_shown(sd->def->mdev_type);

                        g_ptr_array_add(
                                warnings,
                                g_strdup_printf("%s/%s: the type %s is not a valid name (printable, no "
                                                "whitespace or '/', at most %d bytes); kept as it is, "
                                                "listed as %s, and Start and Modify refuse it",
                                                pdir, de->d_name, q, NAME_LEN_MAX, shown));
                }
                if (sd->size > STORE_DEFINITION_MAX)
                        g_ptr_array_add(
                                warnings,
                                g_strdup_printf("%s/%s: %zu bytes, larger than vgpud writes (%d); read "
                                                "and kept, but Modify cannot save it",
                                                pdir, de->d_name, sd->size, STORE_DEFINITION_MAX));
                g_ptr_array_add(defs, sd);
        }
}

int store_load_all(const char *dir, GPtrArray **ret_defs, GPtrArray **ret_warnings)
{
        g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func((GDestroyNotify)stored_def_free);
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d && errno != ENOENT)
                g_ptr_array_add(warnings,
                                g_strdup_printf("%s: cannot read directory: %s", dir, g_strerror(errno)));
        while (d && (de = readdir(d))) {
                g_autofree char *path = NULL;
                struct stat st;

                if (de->d_name[0] == '.' || g_str_equal(de->d_name, "scripts.d"))
                        continue;
                path = g_build_filename(dir, de->d_name, NULL);
                if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (!store_parent_name_is_valid(de->d_name)) {
                        /* no parent has such a name; listed, it would forge a line of `list -d` */
                        g_autofree char *q = name_quote(de->d_name);

                        g_ptr_array_add(warnings,
                                        g_strdup_printf("%s/%s: not a valid parent name (printable, no "
                                                        "whitespace, at most %d bytes); its definitions are "
                                                        "skipped, the directory left as it is",
                                                        dir, q, NAME_LEN_MAX));
                        continue;
                }
                load_parent_dir(dir, de->d_name, defs, warnings);
        }
        g_ptr_array_sort(defs, compare_defs);
        *ret_defs = g_steal_pointer(&defs);
        *ret_warnings = g_steal_pointer(&warnings);
        return 0;
}

bool store_parent_name_is_valid(const char *parent)
{
        /* names the reader skips would be written and never seen again */
        return name_is_valid(parent) && !g_str_equal(parent, "scripts.d");
}

int store_find(const char *dir, const char *uuid, char ***ret_parents)
{
        g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (!vgpu_uuid_is_canonical(uuid))
                return -EINVAL;
        d = opendir(dir);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d))) {
                g_autofree char *path = NULL;
                struct stat st;

                if (!store_parent_name_is_valid(de->d_name))
                        continue;
                path = g_build_filename(dir, de->d_name, uuid, NULL);
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                g_ptr_array_add(found, g_strdup(de->d_name));
        }
        g_ptr_array_sort(found, compare_strings);
        g_ptr_array_add(found, NULL);
        *ret_parents = (char **)g_ptr_array_free(g_steal_pointer(&found), FALSE);
        return 0;
}

/* Open (creating it when missing) a directory below dirfd, or the path itself when dirfd is AT_FDCWD.
 * *ret_created tells whether it was made now, so that the caller syncs what holds it. */
static int open_dir(int dirfd, const char *name, bool *ret_created)
{
        int fd;

        *ret_created = false;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
                return fd >= 0 ? fd : negative_errno(); /* there already: no mkdirat() first */
        if (mkdirat(dirfd, name, 0755) == 0)
                *ret_created = true;
        else if (errno != EEXIST)
                return negative_errno();
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

size_t store_definition_size(const MdevDef *def)
{
        g_autofree char *json = mdev_def_to_json(def, true);

        return strlen(json);
}

/* store_own_temp_take(): "<parent>/<temp name>" of the replacements made and not yet seen renamed. At
 * most OWN_TEMPS_MAX (a burst of requests has far fewer): past that, forgotten, and their renames read
 * the file again, as anyone else's. */
#define OWN_TEMPS_MAX 1024
static GHashTable *own_temps;

static void own_temp_note(const char *parent, const char *tmp)
{
        if (!own_temps)
                own_temps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (g_hash_table_size(own_temps) >= OWN_TEMPS_MAX)
                g_hash_table_remove_all(own_temps);
        g_hash_table_add(own_temps, g_strconcat(parent, "/", tmp, NULL));
}

bool store_own_temp_take(const char *parent, const char *name)
{
        g_autofree char *key = NULL;

        if (!own_temps || g_hash_table_size(own_temps) == 0)
                return false;
        key = g_strconcat(parent, "/", name, NULL);
        return g_hash_table_remove(own_temps, key);
}

void store_own_temps_forget(void)
{
        if (own_temps)
                g_hash_table_remove_all(own_temps);
}

/* store_write_begin(); own: note the temporary file as vgpud's own (store_own_temp_take()); *ret_json
 * (when asked): the bytes written. */
static int write_begin(const char *dir, const char *parent, const char *uuid, const MdevDef *def, bool own,
                       FileChange **ret, char **ret_json)
{
        _cleanup_close_ int top = -1, pdir = -1;
        g_autoptr(FileChange) c = NULL;
        g_autofree char *json = NULL, *pdir_path = NULL;
        bool top_created, pdir_created;
        int r;

        if (!store_parent_name_is_valid(parent) || !vgpu_uuid_is_canonical(uuid) || !def ||
            !name_is_valid(def->mdev_type))
                return -EINVAL;
        json = mdev_def_to_json(def, true);
        if (strlen(json) > STORE_DEFINITION_MAX)
                return -EFBIG;

        top = open_dir(AT_FDCWD, dir, &top_created);
        if (top < 0)
                return top;
        pdir = open_dir(top, parent, &pdir_created);
        if (pdir < 0)
                return pdir;

        /* mdevctl's bytes, in a dot-named temporary file the reader skips (fileio.h) */
        pdir_path = g_build_filename(dir, parent, NULL);
        r = file_change_write(pdir, pdir_path, uuid, json, strlen(json), 0666, &c);
        if (r < 0)
                return r;
        if (pdir_created) {
                r = file_change_also_sync(c, top);
                if (r < 0)
                        return r;
        }
        if (own)
                own_temp_note(parent, file_change_temp_name(c));
        if (ret_json)
                *ret_json = g_steal_pointer(&json);
        *ret = g_steal_pointer(&c);
        return 0;
}

int store_write_begin(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                      FileChange **ret)
{
        return write_begin(dir, parent, uuid, def, false, ret, NULL);
}

int store_write_begin_own(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                          FileChange **ret, char **ret_json)
{
        return write_begin(dir, parent, uuid, def, true, ret, ret_json);
}

int store_parse_written(const char *dir, const char *parent, const char *uuid, const char *json,
                        StoredDef **ret)
{
        g_autofree char *why = NULL;

        /* the bytes the file will hold, parsed as store_load_one() parses them */
        return stored_def_parse(parent, uuid, g_build_filename(dir, parent, uuid, NULL), json, strlen(json),
                                ret, &why);
}

int store_write_begin_stored(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                             FileChange **ret, StoredDef **ret_stored)
{
        g_autoptr(FileChange) c = NULL;
        g_autofree char *json = NULL;
        int r;

        r = store_write_begin_own(dir, parent, uuid, def, &c, &json);
        if (r >= 0)
                r = store_parse_written(dir, parent, uuid, json, ret_stored);
        if (r < 0)
                return r; /* a parse failing: mdev_def_to_json() wrote what mdev_def_parse() refuses */
        *ret = g_steal_pointer(&c);
        return 0;
}

int store_write(const char *dir, const char *parent, const char *uuid, const MdevDef *def)
{
        g_autoptr(FileChange) c = NULL;
        int r = store_write_begin(dir, parent, uuid, def, &c);

        if (r < 0)
                return r;
        file_changes_commit(&c, 1);
        return file_change_result(c);
}

int store_remove_begin(const char *dir, const char *parent, const char *uuid, FileChange **ret)
{
        _cleanup_close_ int pdir = -1;
        g_autofree char *pdir_path = NULL;

        if (!store_parent_name_is_valid(parent) || !vgpu_uuid_is_canonical(uuid))
                return -EINVAL;
        pdir_path = g_build_filename(dir, parent, NULL);
        pdir = open(pdir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pdir < 0)
                return negative_errno();
        return file_change_remove(pdir, pdir_path, uuid, ret);
}

void store_remove_end(const char *dir, const char *parent)
{
        _cleanup_close_ int top = -1;

        /* the parent's directory goes with its last definition (mdevctl leaves it behind); a leftover
         * temporary file keeps it, and so does anything else someone put there: rmdir fails on all of
         * them (a change on its way to its commit: the caller's, store.h). Not synced: an empty
         * directory that a power cut brings back is harmless. */
        if (!store_parent_name_is_valid(parent))
                return;
        top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top >= 0)
                (void)unlinkat(top, parent, AT_REMOVEDIR);
}

int store_remove(const char *dir, const char *parent, const char *uuid)
{
        g_autoptr(FileChange) c = NULL;
        int r = store_remove_begin(dir, parent, uuid, &c);

        if (r < 0)
                return r;
        file_changes_commit(&c, 1);
        r = file_change_result(c);
        if (r >= 0)
                store_remove_end(dir, parent);
        return r;
}

/* ".<uuid>.XXXXXX": the name store_write() gives its temp files. */
static bool is_temp_name(const char *name)
{
        char uuid[VGPU_UUID_STRING_MAX];
        size_t len = strlen(name);

        if (len != 1 + 36 + 1 + 6 || name[0] != '.' || name[37] != '.')
                return false;
        memcpy(uuid, name + 1, 36);
        uuid[36] = '\0';
        if (!vgpu_uuid_is_canonical(uuid))
                return false;
        for (size_t i = 38; i < len; i++)
                if (!g_ascii_isalnum(name[i]))
                        return false;
        return true;
}

unsigned store_remove_temp_files(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d))) {
                g_autofree char *pdir = NULL;
                _cleanup_closedir_ DIR *p = NULL;
                struct dirent *e;

                if (!store_parent_name_is_valid(de->d_name))
                        continue;
                pdir = g_build_filename(dir, de->d_name, NULL);
                p = opendir(pdir);
                while (p && (e = readdir(p)))
                        if (is_temp_name(e->d_name) && unlinkat(dirfd(p), e->d_name, 0) == 0)
                                n++;
        }
        return n;
}
