/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the request kinds of the lifecycle engine look up: UUIDs in mdevctl's forms, stored definitions,
 * running devices. */

#include <errno.h>

#include "ops-internal.h"

const char *ops_definitions_dir(Ops *ops)
{
        return inventory_definitions_dir(ops->inv);
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
                *ret_message = g_strdup_printf("Invalid UUID '%s'", s);
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

bool ops_device_running(Ops *ops, const char *uuid)
{
        g_autoptr(SysfsDevice) d = NULL;

        return inventory_get_device(ops->inv, uuid) || sysfs_read_device(uuid, &d) >= 0;
}
