/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases in memory and in <state dir>/leases (a GKeyFile), written atomically. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "fileio.h"
#include "leases.h"
#include "name.h"

struct Leases {
        char *dir;
        char *path;
        GHashTable *by_uuid; /* uuid -> Lease* (owned) */
};

static void lease_free(Lease *l)
{
        if (!l)
                return;
        g_free(l->owner);
        g_free(l->parent);
        g_free(l->type);
        g_free(l);
}

static Lease *lease_copy(const Lease *src)
{
        Lease *l = g_new0(Lease, 1);

        memcpy(l->uuid, src->uuid, sizeof(l->uuid));
        l->owner = g_strdup(src->owner);
        l->slot = src->slot;
        l->parent = g_strdup(src->parent);
        l->type = g_strdup(src->type);
        l->acquired_usec = src->acquired_usec;
        l->defined = src->defined;
        return l;
}

static Leases *leases_new(const char *dir)
{
        Leases *l = g_new0(Leases, 1);

        l->dir = g_strdup(dir);
        l->path = g_build_filename(dir, LEASES_FILE, NULL);
        l->by_uuid = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)lease_free);
        return l;
}

void leases_free(Leases *l)
{
        if (!l)
                return;
        g_hash_table_unref(l->by_uuid);
        g_free(l->dir);
        g_free(l->path);
        g_free(l);
}

const char *leases_path(Leases *l)
{
        return l->path;
}

/* One group as a lease; NULL with *why when it is not a valid one. */
static Lease *lease_from_group(GKeyFile *kf, const char *group, char **why)
{
        g_autoptr(GError) err = NULL;
        g_autofree char *slot = NULL, *acquired = NULL;
        Lease *l = g_new0(Lease, 1);
        guint64 v;

        if (!vgpu_uuid_is_canonical(group)) {
                *why = g_strdup_printf("[%s] is not a UUID in canonical form", group);
                goto fail;
        }
        memcpy(l->uuid, group, sizeof(l->uuid));
        l->owner = g_key_file_get_string(kf, group, "Owner", NULL);
        if (!name_is_valid_owner(l->owner)) {
                *why = g_strdup_printf("[%s] has no valid Owner", group);
                goto fail;
        }
        slot = g_key_file_get_value(kf, group, "Slot", NULL);
        if (!slot || !g_ascii_string_to_unsigned(slot, 10, 0, UINT32_MAX, &v, NULL)) {
                *why = g_strdup_printf("[%s] has no valid Slot", group);
                goto fail;
        }
        l->slot = (uint32_t)v;
        l->parent = g_key_file_get_string(kf, group, "Parent", NULL);
        l->type = g_key_file_get_string(kf, group, "Type", NULL);
        if (!l->parent || !*l->parent || !l->type || !*l->type) {
                *why = g_strdup_printf("[%s] has no Parent or Type", group);
                goto fail;
        }
        acquired = g_key_file_get_value(kf, group, "Acquired", NULL);
        if (acquired && g_ascii_string_to_unsigned(acquired, 10, 0, UINT64_MAX, &v, NULL))
                l->acquired_usec = v;
        l->defined = g_key_file_get_boolean(kf, group, "Defined", &err);
        if (err) {
                *why = g_strdup_printf("[%s] has no valid Defined (true or false)", group);
                goto fail;
        }
        return l;
fail:
        lease_free(l);
        return NULL;
}

/* Keep a copy of a file that was not entirely understood. */
static int keep_aside(Leases *l, char **ret_name)
{
        g_autofree char *contents = NULL, *aside = NULL;
        gsize len = 0;

        aside = g_strdup_printf("%s.corrupt-%" PRIi64, l->path, g_get_real_time());
        if (!g_file_get_contents(l->path, &contents, &len, NULL) ||
            !g_file_set_contents(aside, contents, (gssize)len, NULL))
                return -EIO;
        *ret_name = g_steal_pointer(&aside);
        return 0;
}

int leases_load(const char *dir, Leases **ret, char **ret_warning)
{
        g_autoptr(Leases) l = leases_new(dir);
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) err = NULL;
        g_autoptr(GString) problems = g_string_new(NULL);
        g_auto(GStrv) groups = NULL;
        g_autofree char *aside = NULL;

        *ret_warning = NULL;
        if (!g_key_file_load_from_file(kf, l->path, G_KEY_FILE_KEEP_COMMENTS, &err)) {
                if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                        *ret = g_steal_pointer(&l);
                        return 0;
                }
                if (err->domain == G_FILE_ERROR && !g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_INVAL)) {
                        *ret_warning = g_strdup_printf("%s: cannot read: %s", l->path, err->message);
                        return -EIO;
                }
                g_string_append(problems, err->message);
        } else {
                groups = g_key_file_get_groups(kf, NULL);
                for (char **g = groups; *g; g++) {
                        g_autofree char *why = NULL;
                        Lease *lease = lease_from_group(kf, *g, &why);

                        if (lease && leases_get_slot(l, lease->owner, lease->slot)) {
                                why = g_strdup_printf("[%s]: %s slot %u is held twice", *g, lease->owner,
                                                      lease->slot);
                                lease_free(lease);
                                lease = NULL;
                        }
                        if (!lease) {
                                g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", why);
                                continue;
                        }
                        g_hash_table_replace(l->by_uuid, lease->uuid, lease);
                }
        }
        if (problems->len > 0) {
                if (keep_aside(l, &aside) < 0)
                        *ret_warning =
                                g_strdup_printf("%s: not a valid leases file (%s); could not keep a copy",
                                                l->path, problems->str);
                else
                        *ret_warning = g_strdup_printf("%s: not a valid leases file (%s); kept as %s",
                                                       l->path, problems->str, aside);
        }
        *ret = g_steal_pointer(&l);
        return 0;
}

static char *leases_to_data(Leases *l, gsize *ret_len)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GPtrArray) all = leases_list(l, NULL);

        g_key_file_set_comment(kf, NULL, NULL,
                               " vgpud's leases: which owner holds which vGPU. Written by vgpud; edit only "
                               "while it is stopped.",
                               NULL);
        for (guint i = 0; i < all->len; i++) {
                Lease *lease = all->pdata[i];
                g_autofree char *acquired = g_strdup_printf("%" PRIu64, lease->acquired_usec);

                g_key_file_set_string(kf, lease->uuid, "Owner", lease->owner);
                g_key_file_set_uint64(kf, lease->uuid, "Slot", lease->slot);
                g_key_file_set_string(kf, lease->uuid, "Parent", lease->parent);
                g_key_file_set_string(kf, lease->uuid, "Type", lease->type);
                g_key_file_set_value(kf, lease->uuid, "Acquired", acquired);
                g_key_file_set_boolean(kf, lease->uuid, "Defined", lease->defined);
        }
        return g_key_file_to_data(kf, ret_len, NULL);
}

int leases_save_begin(Leases *l, FileChange **ret)
{
        _cleanup_close_ int dirfd = -1;
        g_autofree char *data = NULL;
        gsize len = 0;

        if (mkdir(l->dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return negative_errno();
        data = leases_to_data(l, &len);
        return file_change_write(dirfd, l->dir, LEASES_FILE, data, len, 0644, ret);
}

int leases_save(Leases *l)
{
        g_autoptr(FileChange) c = NULL;
        int r = leases_save_begin(l, &c);

        if (r < 0)
                return r;
        file_changes_commit(&c, 1);
        return file_change_result(c);
}

Lease *leases_get(Leases *l, const char *uuid)
{
        return uuid ? g_hash_table_lookup(l->by_uuid, uuid) : NULL;
}

Lease *leases_get_slot(Leases *l, const char *owner, uint32_t slot)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, l->by_uuid);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                Lease *lease = v;
                if (lease->slot == slot && g_strcmp0(lease->owner, owner) == 0)
                        return lease;
        }
        return NULL;
}

bool leases_has_owner(Leases *l, const char *owner)
{
        g_autoptr(GPtrArray) mine = leases_list(l, owner);
        return mine->len > 0;
}

static gint compare_leases(gconstpointer a, gconstpointer b)
{
        const Lease *x = *(Lease *const *)a, *y = *(Lease *const *)b;
        int c = strcmp(x->owner, y->owner);

        if (c != 0)
                return c;
        return x->slot < y->slot ? -1 : x->slot > y->slot;
}

GPtrArray *leases_list(Leases *l, const char *owner)
{
        GPtrArray *all = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, l->by_uuid);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (!owner || g_str_equal(((Lease *)v)->owner, owner))
                        g_ptr_array_add(all, v);
        g_ptr_array_sort(all, compare_leases);
        return all;
}

unsigned leases_count(Leases *l)
{
        return g_hash_table_size(l->by_uuid);
}

int leases_put(Leases *l, const Lease *lease)
{
        Lease *held, *copy;

        if (!lease || !vgpu_uuid_is_canonical(lease->uuid) || !name_is_valid_owner(lease->owner) ||
            !lease->parent || !*lease->parent || !lease->type || !*lease->type)
                return -EINVAL;
        held = leases_get_slot(l, lease->owner, lease->slot);
        if (held && !g_str_equal(held->uuid, lease->uuid))
                return -EEXIST;
        copy = lease_copy(lease);
        g_hash_table_replace(l->by_uuid, copy->uuid, copy);
        return 0;
}

int leases_remove(Leases *l, const char *uuid)
{
        return g_hash_table_remove(l->by_uuid, uuid) ? 0 : -ENOENT;
}

unsigned leases_remove_temp_files(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d)))
                if (is_temp_file_of(de->d_name, LEASES_FILE) && unlinkat(dirfd(d), de->d_name, 0) == 0)
                        n++;
        return n;
}

LeaseVerdict lease_verdict(const Lease *l, bool running, bool definition_exists)
{
        if (running)
                return l->defined && !definition_exists ? LEASE_UNDEFINE : LEASE_KEEP;
        return l->defined && definition_exists ? LEASE_KEEP : LEASE_DROP;
}
