/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the request kinds of the lifecycle engine look up: UUIDs in mdevctl's forms, stored definitions,
 * running devices; and what a request is about before it runs, for polkit. */

#include <errno.h>
#include <string.h>

#include "leases.h"

#include "name.h"
#include "ops-internal.h"

const char *ops_definitions_dir(Ops *ops)
{
        return inventory_definitions_dir(ops->inv);
}

const char *ops_definitions_dir_for(Ops *ops, const char *parent)
{
        return inventory_definitions_dir_for(ops->inv, parent);
}

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
                g_autofree char *q = name_prefix(s);
                *ret_message = g_strdup_printf("Invalid UUID '%s'", q);
                return -EINVAL;
        }
        return 0;
}

/* Load the stored definition of uuid: on parent, or the only one when parent is empty. */
int ops_find_definition(Ops *ops, const char *parent, const char *uuid, StoredDef **ret, char **ret_message)
{
        g_auto(GStrv) parents = NULL;
        g_autofree char *why = NULL;
        int r;

        if (str_empty(parent)) {
                r = inventory_find_definitions(ops->inv, uuid, &parents);
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
                g_autofree char *q = name_quote(parent);
                *ret_message = g_strdup_printf("Invalid parent name %s", q);
                return -EINVAL;
        }
        r = store_load_one(ops_definitions_dir_for(ops, parent), parent, uuid, ret, &why);
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

bool ops_device_running(Ops *ops, const char *uuid)
{
        g_autoptr(SysfsDevice) d = NULL;

        return inventory_get_device(ops->inv, uuid) || inventory_read_device(ops->inv, uuid, &d) >= 0;
}

/* ---- what polkit is told ---- */

/* The UUID the request is about, canonical in ret; false when it names none. */
static bool request_uuid(const OpsRequest *req, char ret[static VGPU_UUID_STRING_MAX])
{
        if (req->kind == OPS_RELEASE)
                return vgpu_uuid_parse(req->release.what ? req->release.what : "", ret) >= 0;
        if (req->kind == OPS_ACQUIRE && !str_empty(req->acquire.vm_uuid))
                return vgpu_uuid_derive(req->acquire.vm_uuid, req->acquire.slot, ret) >= 0;
        return !str_empty(req->uuid) && vgpu_uuid_parse(req->uuid, ret) >= 0;
}

/* The type a request names itself: Start's and Define's definition, Modify's new type, Acquire's profile. */
static char *request_type(const OpsRequest *req)
{
        const char *json = req->kind == OPS_START || req->kind == OPS_DEFINE ? req->start.definition : NULL;

        if (req->kind == OPS_ACQUIRE)
                return g_strdup(req->acquire.profile);
        if (req->kind == OPS_MODIFY && !str_empty(req->modify.type))
                return g_strdup(req->modify.type);
        if (req->kind == OPS_MODIFY)
                json = req->modify.definition;
        if (!str_empty(json)) {
                g_autoptr(MdevDef) def = NULL;
                g_autofree char *why = NULL;

                if (mdev_def_parse(json, strlen(json), &def, &why) >= 0)
                        return g_strdup(def->mdev_type);
        }
        return NULL;
}

static void add_detail(GPtrArray *kv, const char *key, const char *value)
{
        if (str_empty(value))
                return;
        g_ptr_array_add(kv, g_strdup(key));
        g_ptr_array_add(kv, g_strdup(value));
}

char **ops_request_details(Ops *ops, const OpsRequest *req)
{
        g_autoptr(GPtrArray) kv = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *type = request_type(req);
        const char *parent = req->kind == OPS_ACQUIRE ? req->acquire.place.parent : req->parent;
        const char *owner = req->kind == OPS_ACQUIRE ? req->acquire.owner : NULL;
        char uuid[VGPU_UUID_STRING_MAX];
        bool have_uuid = request_uuid(req, uuid);
        InvDevice *d = have_uuid ? inventory_get_device(ops->inv, uuid) : NULL;
        struct Lease *l = have_uuid && ops->leases ? leases_get(ops->leases, uuid) : NULL;

        /* what the request does not say, from what runs, what is leased and what is defined */
        if (str_empty(parent))
                parent = d ? d->sys->parent : l ? l->parent : NULL;
        if (!type)
                type = g_strdup(d ? d->sys->type_id : l ? l->type : NULL);
        if (have_uuid && (str_empty(parent) || !type) && req->kind != OPS_ACQUIRE) {
                g_autoptr(StoredDef) stored = NULL;
                g_autofree char *ignored = NULL;

                if (ops_find_definition(ops, parent, uuid, &stored, &ignored) >= 0) {
                        if (!type)
                                type = g_strdup(stored->def->mdev_type);
                        add_detail(kv, "parent", str_empty(parent) ? stored->parent : parent);
                        parent = NULL; /* added */
                }
        }
        if (!owner)
                owner = l ? l->owner : req->kind == OPS_RELEASE && !have_uuid ? req->release.what : NULL;
        add_detail(kv, "parent", parent);
        add_detail(kv, "type", type);
        add_detail(kv, "owner", owner);
        add_detail(kv, "uuid", have_uuid ? uuid : NULL);
        g_ptr_array_add(kv, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&kv), FALSE);
}

bool ops_request_keys(Ops *ops, const OpsRequest *req, char ret_uuid[static VGPU_UUID_STRING_MAX],
                      char **ret_owner)
{
        bool have_uuid = request_uuid(req, ret_uuid);

        *ret_owner = NULL;
        if (req->kind == OPS_ACQUIRE) {
                struct Lease *held =
                        ops->leases && req->acquire.owner
                                ? leases_get_slot(ops->leases, req->acquire.owner, req->acquire.slot)
                                : NULL;

                *ret_owner = g_strdup(req->acquire.owner);
                if (!have_uuid && held) { /* the device the owner's slot holds */
                        memcpy(ret_uuid, held->uuid, VGPU_UUID_STRING_MAX);
                        have_uuid = true;
                }
        } else if (req->kind == OPS_RELEASE && !have_uuid)
                *ret_owner = g_strdup(req->release.what);
        return have_uuid;
}
