/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lifecycle engine's request kinds on the definitions directory: define, undefine and modify, each
 * prepared by store.c, made durable by the engine's flusher in a batch with what other requests wrote
 * meanwhile (the job gives up its turn while it waits), and reloaded into the inventory once durable
 * and before the request ends, so the Definition objects and their signals are current when the
 * caller gets its answer and never show what a power cut could take back. */

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fault.h"
#include "macro.h"
#include "log.h"
#include "name.h"
#include "ops-internal.h"

/* A store error as the bus should see it: a read-only tree is ReadOnly whichever errno said so; a full
 * disk is not NoCapacity. */
/* A failed write or removal of <dir>/<parent>/<uuid>, by its meaning (ops_io_fail); -EFBIG is the
 * size limit (store_write), -EINVAL. */
static int store_error(Ops *ops, int r, const char *parent, const char *uuid, const char *what,
                       char **ret_message)
{
        g_autofree char *path = g_build_filename(ops_definitions_dir_for(ops, parent), parent, uuid, NULL);

        if (r == -EINVAL) /* store_write's own check of the names */
                return ops_fail(ret_message, -EINVAL, "%s: an invalid parent or type name", what);
        if (r == -EFBIG)
                return ops_fail(ret_message, -EINVAL, "%s: the definition is larger than %d bytes", what,
                                STORE_DEFINITION_MAX);
        return ops_io_fail(ret_message, r, what, path);
}

/* Refuse a definition larger than vgpud writes, before anything runs or changes. */
static int check_size(const MdevDef *def, char **ret_message)
{
        size_t size = store_definition_size(def);

        if (size > STORE_DEFINITION_MAX)
                return ops_fail(ret_message, -EINVAL, "The definition is too large: %zu bytes, at most %d",
                                size, STORE_DEFINITION_MAX);
        return 0;
}

/* ---- define, undefine, modify ---- */

static int define_failed(Ops *ops, Job *j, int r, char **ret_message)
{
        g_autofree char *what = g_strdup_printf("Cannot define %s on %s", j->uuid, j->parent);

        return store_error(ops, r, j->parent, j->uuid, what, ret_message);
}

/* vgpud wrote or removed <parent>/<uuid>: the object and its signals follow before the caller gets
 * its answer. Only that file is read again (the whole directory costs a read of every definition per
 * request; store-watch still reloads everything after any change by someone else). */
static void definitions_changed(Ops *ops, const char *parent, const char *uuid)
{
        (void)inventory_reload_definition(ops->inv, parent, uuid);
}

/* vgpud made j's definition durable: the inventory takes the bytes it wrote, parsed as a read gives
 * them (store_write_begin_stored()), instead of reading them back. Someone else's change of the file
 * since the rename comes back through store-watch, as it would after a read. */
static void definition_written(Ops *ops, Job *j)
{
        if (!j->written) {
                definitions_changed(ops, j->parent, j->uuid);
                return;
        }
        (void)inventory_put_definition(ops->inv, g_steal_pointer(&j->written));
}

/* j's change did not become durable: the file is as the failure left it (renamed, if only the directory's
 * fsync failed). The inventory reads it again, since store-watch takes the rename of vgpud's own
 * temporary file for the job's (store_own_temp_take()) and does not. */
static void durable_failed(Ops *ops, Job *j)
{
        g_clear_pointer(&j->written, stored_def_free);
        definitions_changed(ops, j->parent, j->uuid);
}

/* "mixed_size" is vgpud's own member, for NVIDIA VF vGPUs: a definition in mdevctl's store cannot carry
 * it (mdevctl would drop it, and no mdev parent is switched through it). */
static int check_mixed_size(Ops *ops, const char *parent, const MdevDef *def, char **ret_message)
{
        if (!def->mixed_size || ops_definitions_dir_for(ops, parent) != ops_definitions_dir(ops))
                return 0;
        return ops_fail(
                ret_message, -EINVAL,
                "mixed_size asks for the mixed-size mode of an NVIDIA vGPU 17+ GPU (VF vGPUs, vgpud's "
                "own store); %s is a mediated-device parent (mdevctl's store has no room for it)",
                parent);
}

static int define_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        r = ops_parse_uuid(req->uuid, true, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (str_empty(req->define.definition)) {
                g_autoptr(SysfsDevice) sd = NULL;
                InvDevice *d = inventory_get_device(ops->inv, j->uuid);
                const SysfsDevice *sys = d ? d->sys : NULL;

                if (!sys && inventory_read_device(ops->inv, j->uuid, &sd) >= 0)
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
                r = mdev_def_parse(req->define.definition, strlen(req->define.definition), &j->def, &why);
                if (r < 0)
                        return ops_fail(ret_message, -EINVAL, "Invalid definition: %s",
                                        why ? why : "not valid JSON");
                j->parent = g_strdup(req->parent);
        }
        if (!store_parent_name_is_valid(j->parent)) {
                g_autofree char *q = name_quote(j->parent);
                return ops_fail(ret_message, -EINVAL, "Invalid parent name %s", q);
        }
        if (!name_is_valid(j->def->mdev_type)) {
                g_autofree char *q = name_quote(j->def->mdev_type);
                return ops_fail(ret_message, -EINVAL, "Invalid type %s", q);
        }
        r = check_size(j->def, ret_message);
        if (r >= 0)
                r = check_mixed_size(ops, j->parent, j->def, ret_message);
        if (r < 0)
                return r;
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

/* Hand the prepared change c to the flusher: the job waits, without its turn, until it is durable. */
static int commit_and_wait(Ops *ops, Job *j, FileChange *c)
{
        ops_job_commit(ops, j, c);
        (void)ops_job_wait(ops, j, WAIT_DURABLE);
        return 1;
}

/* Write j's definition and hand it to the flusher; then, while the flusher makes it durable, parse the
 * bytes written as a read of the file would (j->written, for the inventory once durable; a parse that
 * fails leaves it NULL, and definition_written() reads the file instead). */
static int write_and_wait(Ops *ops, Job *j, char **ret_message, int (*failed)(Ops *, Job *, int, char **))
{
        const char *dir = ops_definitions_dir_for(ops, j->parent);
        g_autoptr(FileChange) c = NULL;
        g_autofree char *json = NULL;
        int r;

        g_clear_pointer(&j->written, stored_def_free);
        r = store_write_begin_own(dir, j->parent, j->uuid, j->def, &c, &json);
        if (r < 0)
                return failed(ops, j, r, ret_message);
        r = commit_and_wait(ops, j, g_steal_pointer(&c));
        (void)store_parse_written(dir, j->parent, j->uuid, json, &j->written);
        return r;
}

static int define_run(Ops *ops, Job *j, char **ret_message)
{
        g_autofree char *path = NULL;
        struct stat st;

        path = g_build_filename(ops_definitions_dir_for(ops, j->parent), j->parent, j->uuid, NULL);
        if (lstat(path, &st) == 0)
                return ops_fail(ret_message, -EEXIST, "Device %s on %s already defined", j->uuid, j->parent);
        return write_and_wait(ops, j, ret_message, define_failed);
}

/* The file is durable (or failed): only now the inventory and the caller learn of it. */
static int define_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r = g_array_index(j->durable, int, 0);

        (void)timed_out;
        if (r < 0) {
                durable_failed(ops, j);
                return define_failed(ops, j, r, ret_message);
        }
        fault_point("defined");
        log_info("Defined %s on %s (%s, %s)", j->uuid, j->parent, j->def->mdev_type,
                 j->def->autostart ? "auto" : "manual");
        definition_written(ops, j);
        return 0;
}

/* The definitions to remove; the callouts see each as stored (one that cannot be read gets none). */
static int undefine_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        g_auto(GStrv) parents = NULL;
        int r;

        r = ops_parse_uuid(req->uuid, false, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (!str_empty(req->parent)) {
                if (!store_parent_name_is_valid(req->parent)) {
                        g_autofree char *q = name_quote(req->parent);
                        return ops_fail(ret_message, -EINVAL, "Invalid parent name %s", q);
                }
                parents = g_new0(char *, 2);
                parents[0] = g_strdup(req->parent);
        } else {
                r = inventory_find_definitions(ops->inv, j->uuid, &parents);
                if (r < 0)
                        return ops_fail(ret_message, r, "Cannot read %s: %s", ops_definitions_dir(ops),
                                        g_strerror(-r));
        }
        if (!parents[0])
                return ops_fail(ret_message, -ENOENT, "No devices match the specified uuid (%s)", j->uuid);
        for (char **p = parents; *p; p++) {
                g_autoptr(StoredDef) stored = NULL;
                g_autofree char *why = NULL;

                if (store_load_one(ops_definitions_dir_for(ops, *p), *p, j->uuid, &stored, &why) >= 0)
                        ops_job_add_target(j, *p, stored->def);
        }
        j->undefine.parents = g_steal_pointer(&parents);
        return 0;
}

static int undefine_failed(Ops *ops, Job *j, const char *parent, int r, char **ret_message)
{
        g_autofree char *what = NULL;

        if (r == -ENOENT)
                return ops_fail(ret_message, -ENOENT, "Mediated device %s is not defined on %s", j->uuid,
                                parent);
        what = g_strdup_printf("Cannot undefine %s on %s", j->uuid, parent);
        return store_error(ops, r, parent, j->uuid, what, ret_message);
}

/* Every removal prepared first (a failure there changes nothing), then all committed in one batch. */
static int undefine_run(Ops *ops, Job *j, char **ret_message)
{
        char **parents = j->undefine.parents;
        g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)file_change_free);
        int r;

        for (char **p = parents; *p; p++) {
                FileChange *c = NULL;

                r = store_remove_begin(ops_definitions_dir_for(ops, *p), *p, j->uuid, &c);
                if (r < 0)
                        return undefine_failed(ops, j, *p, r, ret_message);
                g_ptr_array_add(changes, c);
        }
        for (guint i = 0; i < changes->len; i++)
                ops_job_commit(ops, j, g_steal_pointer(&changes->pdata[i]));
        (void)ops_job_wait(ops, j, WAIT_DURABLE);
        return 1;
}

/* Each removal's result, in order: those that went leave the inventory; the first failure is the
 * answer. */
static int undefine_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        char **parents = j->undefine.parents;
        int result = 0;

        (void)timed_out;
        for (guint i = 0; parents[i]; i++) {
                int r = g_array_index(j->durable, int, i);

                if (r < 0) {
                        if (result == 0)
                                result = undefine_failed(ops, j, parents[i], r, ret_message);
                        continue;
                }
                ops_definition_dir_done(ops, parents[i]);
                log_info("Undefined %s on %s", j->uuid, parents[i]);
                definitions_changed(ops, parents[i], j->uuid);
                g_free(j->parent);
                j->parent = g_strdup(parents[i]);
        }
        return result;
}

/* The changes of a Modify request, in their order, on def. */
static int modify_apply(const OpsModifyArgs *req, MdevDef **def, char **ret_message)
{
        int r;

        if (req->definition) {
                g_autoptr(MdevDef) d = NULL;
                g_autofree char *why = NULL;

                r = mdev_def_parse(req->definition, strlen(req->definition), &d, &why);
                if (r < 0) {
                        *ret_message =
                                g_strdup_printf("Invalid definition: %s", why ? why : "not valid JSON");
                        return -EINVAL;
                }
                mdev_def_free(*def);
                *def = g_steal_pointer(&d);
        }
        if (req->type) {
                if (!mdev_name_is_valid(req->type)) {
                        g_autofree char *q = name_quote(req->type);
                        *ret_message = g_strdup_printf("Invalid type %s", q);
                        return -EINVAL;
                }
                g_free((*def)->mdev_type);
                (*def)->mdev_type = g_strdup(req->type);
        }
        if (req->start) {
                if (!g_str_equal(req->start, "auto") && !g_str_equal(req->start, "manual")) {
                        g_autofree char *q = name_prefix(req->start);
                        *ret_message = g_strdup_printf("Invalid start '%s': expected auto or manual", q);
                        return -EINVAL;
                }
                (*def)->autostart = g_str_equal(req->start, "auto");
        }
        if (req->mixed_size_given)
                (*def)->mixed_size = req->mixed_size; /* check_mixed_size() refuses it on an mdev parent */
        if (req->del_attr) {
                r = mdev_def_del_attr(*def, req->del_index);
                if (r < 0) {
                        *ret_message = g_strdup_printf("Attribute index %d is invalid", req->del_index);
                        return -EINVAL;
                }
        }
        if (req->add_attr) {
                r = mdev_def_add_attr(*def, req->add.name, req->add.value, req->add.index);
                if (r == -ERANGE) {
                        *ret_message = g_strdup_printf("Attribute index %d is invalid", req->add.index);
                        return -EINVAL;
                }
                if (r < 0) {
                        g_autofree char *q = name_prefix(req->add.name);
                        *ret_message = g_strdup_printf("Invalid attribute name '%s'", q);
                        return -EINVAL;
                }
        }
        return 0;
}

/* The definition as it will be, checked against the running device for a live change. */
static int modify_prepare(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        g_autoptr(StoredDef) stored = NULL;
        InvDevice *d = NULL;
        int r;

        r = ops_parse_uuid(req->uuid, false, j->uuid, ret_message);
        if (r < 0)
                return r;
        if (!req->modify.defined && !req->modify.live)
                return ops_fail(ret_message, -EINVAL,
                                "Nothing to modify: neither the definition nor the live device");
        if (req->modify.live) {
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
        } else if (r == -ENOENT && !req->modify.defined) {
                /* live only, on a device without a definition: start from what runs */
                j->parent = g_strdup(d->sys->parent);
                j->def = mdev_def_new();
                j->def->mdev_type = g_strdup(d->sys->type_id ? d->sys->type_id : "");
        } else if (r == -ENOENT && req->modify.definition && !str_empty(req->parent)) {
                /* a whole definition for a UUID not defined on that parent yet creates it, as
                 * mdevctl 1.3.0's `modify --jsonfile` does */
                g_clear_pointer(ret_message, g_free);
                j->parent = g_strdup(req->parent);
                j->def = mdev_def_new();
        } else
                return r;

        r = modify_apply(&req->modify, &j->def, ret_message);
        if (r < 0)
                return r;
        if (req->modify.defined) {
                r = check_size(j->def, ret_message);
                if (r >= 0)
                        r = check_mixed_size(ops, j->parent, j->def, ret_message);
                if (r < 0)
                        return r;
        }
        if (req->modify.live && g_strcmp0(d->sys->type_id, j->def->mdev_type) != 0)
                return ops_fail(ret_message, -EINVAL,
                                "Cannot change the type of running device %s (%s) to %s", j->uuid,
                                d->sys->type_id ? d->sys->type_id : "unknown", j->def->mdev_type);
        ops_job_add_target(j, j->parent, j->def);
        return 0;
}

static int modify_failed(Ops *ops, Job *j, int r, char **ret_message)
{
        g_autofree char *what = g_strdup_printf("Cannot modify %s on %s", j->uuid, j->parent);

        return store_error(ops, r, j->parent, j->uuid, what, ret_message);
}

static int modify_run(Ops *ops, Job *j, char **ret_message)
{
        OpsRequest *req = j->req;
        int r;

        if (req->modify.live) {
                /* the pre and live callouts may have taken a while */
                inventory_device_changed(ops->inv, j->uuid);
                if (!inventory_get_device(ops->inv, j->uuid))
                        return ops_fail(ret_message, -ENOENT, "Device %s is not running", j->uuid);
                r = ops_write_attrs(ops, j->uuid, j->def, ret_message);
                if (r < 0)
                        return r;
        }
        if (!req->modify.defined)
                return 0;
        return write_and_wait(ops, j, ret_message, modify_failed);
}

static int modify_resume(Ops *ops, Job *j, bool timed_out, char **ret_message)
{
        int r = g_array_index(j->durable, int, 0);

        (void)timed_out;
        if (r < 0) {
                durable_failed(ops, j);
                return modify_failed(ops, j, r, ret_message);
        }
        log_info("Modified the definition %s on %s", j->uuid, j->parent);
        definition_written(ops, j);
        return 0;
}

static void modify_init(OpsRequest *req)
{
        req->modify.defined = true;
        req->modify.del_index = -1;
        req->modify.add.index = -1;
}

static void modify_clear(OpsRequest *req)
{
        g_free(req->modify.definition);
        g_free(req->modify.type);
        g_free(req->modify.start);
        g_free(req->modify.add.name);
        g_free(req->modify.add.value);
}

/* pre and post only when it changes the definition, live only when it changes the running device */
static unsigned modify_phases(const Job *j)
{
        return (j->req->modify.defined ? OPS_PHASE_PRE : 0) | (j->req->modify.live ? OPS_PHASE_LIVE : 0);
}

static void definition_clear(OpsRequest *req)
{
        g_free(req->define.definition);
}

static void undefine_clear_job(Job *j)
{
        g_strfreev(j->undefine.parents);
}

const OpsKindInfo ops_kind_define = {
        .name = "define",
        .action = "define",
        .clear = definition_clear,
        .prepare = define_prepare,
        .run = define_run,
        .resume = define_resume,
};

const OpsKindInfo ops_kind_undefine = {
        .name = "undefine",
        .action = "undefine",
        .prepare = undefine_prepare,
        .run = undefine_run,
        .resume = undefine_resume,
        .clear_job = undefine_clear_job,
};

const OpsKindInfo ops_kind_modify = {
        .name = "modify",
        .action = "modify",
        .init = modify_init,
        .clear = modify_clear,
        .prepare = modify_prepare,
        .run = modify_run,
        .resume = modify_resume,
        .phases = modify_phases,
};
