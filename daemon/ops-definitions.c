/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lifecycle engine's requests on the definitions directory: define, undefine and modify, each
 * written atomically by store.c and reloaded into the inventory before the request ends, so the
 * Definition objects and their signals are current when the caller gets its answer. */

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "log.h"
#include "ops-internal.h"

int ops_parse_uuid(const char *s, bool may_generate, char ret[static VGPU_UUID_STRING_MAX],
                   char **ret_message)
{
        if (str_empty(s)) {
                if (may_generate)
                        return vgpu_uuid_generate(ret);
                *ret_message = g_strdup("No UUID given");
                return -EINVAL;
        }
        if (vgpu_uuid_parse(s, ret) < 0) {
                *ret_message = g_strdup_printf("Invalid UUID '%s'", s);
                return -EINVAL;
        }
        return 0;
}

/* A store error as the bus should see it: a read-only tree is ReadOnly whichever errno said so; a full
 * disk is not NoCapacity. */
static int store_error(int r, const char *what, char **ret_message)
{
        if (r == -EROFS || r == -EACCES || r == -EPERM) {
                *ret_message = g_strdup_printf("%s: the definitions directory is read-only (%s)", what,
                                               g_strerror(-r));
                return -EROFS;
        }
        *ret_message = g_strdup_printf("%s: %s", what, g_strerror(-r));
        return r == -ENOSPC || r == -EDQUOT ? -EIO : r;
}

/* Load the stored definition of uuid: on parent, or the only one when parent is empty. */
int ops_find_definition(Ops *ops, const char *parent, const char *uuid, StoredDef **ret, char **ret_message)
{
        g_auto(GStrv) parents = NULL;
        g_autofree char *why = NULL;
        int r;

        if (str_empty(parent)) {
                r = store_find(ops_definitions_dir(ops), uuid, &parents);
                if (r < 0) {
                        *ret_message = g_strdup_printf("Cannot read %s: %s", ops_definitions_dir(ops),
                                                       g_strerror(-r));
                        return r;
                }
                if (!parents[0]) {
                        *ret_message = g_strdup_printf("Mediated device %s is not defined", uuid);
                        return -ENOENT;
                }
                if (parents[1]) {
                        *ret_message = g_strdup_printf(
                                "Multiple definitions found for device %s. Please specify a parent.", uuid);
                        return -EINVAL;
                }
                parent = parents[0];
        } else if (!store_parent_name_is_valid(parent)) {
                *ret_message = g_strdup_printf("Invalid parent name '%s'", parent);
                return -EINVAL;
        }
        r = store_load_one(ops_definitions_dir(ops), parent, uuid, ret, &why);
        if (r == -ENOENT) {
                *ret_message = g_strdup_printf("Mediated device %s is not defined on %s", uuid, parent);
                return r;
        }
        if (r == -EBADMSG) {
                *ret_message = g_strdup_printf("The definition %s/%s is corrupt: %s", parent, uuid, why);
                return r;
        }
        if (r < 0) {
                *ret_message = g_strdup_printf("Cannot read the definition %s/%s: %s", parent, uuid,
                                               why ? why : g_strerror(-r));
                return r;
        }
        return 0;
}

/* ---- define, undefine, modify ---- */

static void definitions_changed(Ops *ops)
{
        /* the objects and their signals follow before the caller gets its answer */
        (void)inventory_reload_definitions(ops->inv);
}

int ops_define_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        r = ops_parse_uuid(req->uuid, true, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (str_empty(req->definition)) {
                g_autoptr(SysfsDevice) sd = NULL;
                InvDevice *d = inventory_get_device(ops->inv, j->uuid);
                const SysfsDevice *sys = d ? d->sys : NULL;

                if (!sys && sysfs_read_device(j->uuid, &sd) >= 0)
                        sys = sd;
                if (!sys)
                        return ops_fail(ret_message, -ENOENT, "Device %s is not running: give a definition",
                                        j->uuid);
                if (!str_empty(req->parent) && !g_str_equal(req->parent, sys->parent))
                        return ops_fail(ret_message, -EINVAL, "Device %s runs on %s, not on %s", j->uuid,
                                        sys->parent, req->parent);
                if (!sys->type_id)
                        return ops_fail(ret_message, -ENOENT, "The type of device %s is unknown", j->uuid);
                j->parent = g_strdup(sys->parent);
                j->def = mdev_def_new();
                j->def->mdev_type = g_strdup(sys->type_id);
        } else {
                g_autofree char *why = NULL;

                if (str_empty(req->parent))
                        return ops_fail(ret_message, -EINVAL, "No parent specified");
                r = mdev_def_parse(req->definition, strlen(req->definition), &j->def, &why);
                if (r < 0)
                        return ops_fail(ret_message, -EINVAL, "Invalid definition: %s",
                                        why ? why : "not valid JSON");
                j->parent = g_strdup(req->parent);
        }
        if (!store_parent_name_is_valid(j->parent))
                return ops_fail(ret_message, -EINVAL, "Invalid parent name '%s'", j->parent);
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

int ops_define_run(Ops *ops, Job *j, char **ret_message)
{
        g_autofree char *path = NULL;
        struct stat st;
        int r;

        path = g_build_filename(ops_definitions_dir(ops), j->parent, j->uuid, NULL);
        if (lstat(path, &st) == 0)
                return ops_fail(ret_message, -EEXIST, "Device %s on %s already defined", j->uuid, j->parent);

        r = store_write(ops_definitions_dir(ops), j->parent, j->uuid, j->def);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf("Cannot define %s on %s", j->uuid, j->parent);
                return store_error(r, what, ret_message);
        }
        log_info("Defined %s on %s (%s, %s)", j->uuid, j->parent, j->def->mdev_type,
                 j->def->autostart ? "auto" : "manual");
        definitions_changed(ops);
        return 0;
}

/* The definitions to remove; the callouts see each as stored (one that cannot be read gets none). */
int ops_undefine_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        g_auto(GStrv) parents = NULL;
        int r;

        r = ops_parse_uuid(req->uuid, false, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (!str_empty(req->parent)) {
                if (!store_parent_name_is_valid(req->parent))
                        return ops_fail(ret_message, -EINVAL, "Invalid parent name '%s'", req->parent);
                parents = g_new0(char *, 2);
                parents[0] = g_strdup(req->parent);
        } else {
                r = store_find(ops_definitions_dir(ops), j->uuid, &parents);
                if (r < 0)
                        return ops_fail(ret_message, r, "Cannot read %s: %s", ops_definitions_dir(ops),
                                        g_strerror(-r));
        }
        if (!parents[0])
                return ops_fail(ret_message, -ENOENT, "No devices match the specified uuid (%s)", j->uuid);
        for (char **p = parents; *p; p++) {
                g_autoptr(StoredDef) stored = NULL;
                g_autofree char *why = NULL;

                if (store_load_one(ops_definitions_dir(ops), *p, j->uuid, &stored, &why) >= 0)
                        ops_job_add_target(j, *p, stored->def);
        }
        j->parents = g_steal_pointer(&parents);
        return 0;
}

int ops_undefine_run(Ops *ops, Job *j, char **ret_message)
{
        char **parents = j->parents;
        int r;

        for (char **p = parents; *p; p++) {
                r = store_remove(ops_definitions_dir(ops), *p, j->uuid);
                if (r == -ENOENT)
                        r = ops_fail(ret_message, -ENOENT, "Mediated device %s is not defined on %s",
                                     j->uuid, *p);
                else if (r < 0) {
                        g_autofree char *what = g_strdup_printf("Cannot undefine %s on %s", j->uuid, *p);
                        r = store_error(r, what, ret_message);
                }
                if (r < 0) {
                        if (p != parents)
                                definitions_changed(ops); /* those that did go */
                        return r;
                }
                log_info("Undefined %s on %s", j->uuid, *p);
                g_free(j->parent);
                j->parent = g_strdup(*p);
        }
        definitions_changed(ops);
        return 0;
}

/* The changes of a Modify request, in their order, on def. */
static int modify_apply(OpsRequest *req, MdevDef **def, char **ret_message)
{
        int r;

        if (req->new_definition) {
                g_autoptr(MdevDef) d = NULL;
                g_autofree char *why = NULL;

                r = mdev_def_parse(req->new_definition, strlen(req->new_definition), &d, &why);
                if (r < 0) {
                        *ret_message =
                                g_strdup_printf("Invalid definition: %s", why ? why : "not valid JSON");
                        return -EINVAL;
                }
                mdev_def_free(*def);
                *def = g_steal_pointer(&d);
        }
        if (req->new_type) {
                if (!mdev_name_is_valid(req->new_type)) {
                        *ret_message = g_strdup_printf("Invalid type '%s'", req->new_type);
                        return -EINVAL;
                }
                g_free((*def)->mdev_type);
                (*def)->mdev_type = g_strdup(req->new_type);
        }
        if (req->new_start) {
                if (!g_str_equal(req->new_start, "auto") && !g_str_equal(req->new_start, "manual")) {
                        *ret_message = g_strdup_printf("Invalid start '%s': expected auto or manual",
                                                       req->new_start);
                        return -EINVAL;
                }
                (*def)->autostart = g_str_equal(req->new_start, "auto");
        }
        if (req->del_attr) {
                r = mdev_def_del_attr(*def, req->del_index);
                if (r < 0) {
                        *ret_message = g_strdup_printf("Attribute index %d is invalid", req->del_index);
                        return -EINVAL;
                }
        }
        if (req->add_attr) {
                r = mdev_def_add_attr(*def, req->add_name, req->add_value, req->add_index);
                if (r == -ERANGE) {
                        *ret_message = g_strdup_printf("Attribute index %d is invalid", req->add_index);
                        return -EINVAL;
                }
                if (r < 0) {
                        *ret_message = g_strdup_printf("Invalid attribute name '%s'", req->add_name);
                        return -EINVAL;
                }
        }
        return 0;
}

/* The definition as it will be, checked against the running device for a live change. */
int ops_modify_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        g_autoptr(StoredDef) stored = NULL;
        InvDevice *d = NULL;
        int r;

        r = ops_parse_uuid(req->uuid, false, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (!req->defined && !req->live)
                return ops_fail(ret_message, -EINVAL,
                                "Nothing to modify: neither the definition nor the live device");
        if (req->live) {
                inventory_device_changed(ops->inv, j->uuid);
                d = inventory_get_device(ops->inv, j->uuid);
                if (!d)
                        return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
                if (!str_empty(req->parent) && !g_str_equal(req->parent, d->sys->parent))
                        return ops_fail(ret_message, -ENOENT, "Device %s does not run on %s", j->uuid,
                                        req->parent);
        }

        r = ops_find_definition(ops,
                                !str_empty(req->parent) ? req->parent
                                : d                     ? d->sys->parent
                                                        : NULL,
                                j->uuid, &stored, ret_message);
        if (r >= 0) {
                j->parent = g_strdup(stored->parent);
                j->def = g_steal_pointer(&stored->def);
        } else if (r == -ENOENT && !req->defined) {
                /* live only, on a device without a definition: start from what runs */
                j->parent = g_strdup(d->sys->parent);
                j->def = mdev_def_new();
                j->def->mdev_type = g_strdup(d->sys->type_id ? d->sys->type_id : "");
        } else if (r == -ENOENT && req->new_definition && !str_empty(req->parent)) {
                /* a whole definition for a UUID not defined on that parent yet creates it, as
                 * mdevctl 1.3.0's `modify --jsonfile` does */
                g_clear_pointer(ret_message, g_free);
                j->parent = g_strdup(req->parent);
                j->def = mdev_def_new();
        } else
                return r;

        r = modify_apply(req, &j->def, ret_message);
        if (r < 0)
                return r;
        if (req->live && g_strcmp0(d->sys->type_id, j->def->mdev_type) != 0)
                return ops_fail(ret_message, -EINVAL,
                                "Cannot change the type of running device %s (%s) to %s", j->uuid,
                                d->sys->type_id ? d->sys->type_id : "unknown", j->def->mdev_type);
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

int ops_modify_run(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        if (req->live) {
                /* the pre and live callouts may have taken a while */
                inventory_device_changed(ops->inv, j->uuid);
                if (!inventory_get_device(ops->inv, j->uuid))
                        return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
                r = ops_write_attrs(j->uuid, j->def, ret_message);
                if (r < 0)
                        return r;
        }
        if (req->defined) {
                r = store_write(ops_definitions_dir(ops), j->parent, j->uuid, j->def);
                if (r < 0) {
                        g_autofree char *what =
                                g_strdup_printf("Cannot modify %s on %s", j->uuid, j->parent);
                        return store_error(r, what, ret_message);
                }
                log_info("Modified the definition %s on %s", j->uuid, j->parent);
                definitions_changed(ops);
        }
        return 0;
}
