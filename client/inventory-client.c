/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading vgpud's D-Bus replies into VcInventory (inventory.h) without copying a string.
 *
 * GetManagedObjects (for `status`): a small table per interface says which property lands in which
 * struct field; unknown interfaces and properties are skipped, so a newer daemon with more properties
 * still works. ListTypes, ListDevices and ListDefinitions (for `types` and `list`): one
 * sd_bus_message_read() per element (per field for the many devices, which measured faster). */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bus-client.h"
#include "inventory-client.h"
#include "macro.h"

typedef enum {
        PROP_STRING, /* "s" or "o" -> char* */
        PROP_U16,    /* "q" */
        PROP_I32,    /* "i" */
        PROP_U32,    /* "u" */
        PROP_U64,    /* "t" */
        PROP_BOOL,   /* "b" -> bool */
        PROP_TYPES,  /* "a(ssssiuts)" -> GPtrArray of VcType* */
        PROP_ATTRS,  /* "a(ss)" -> GPtrArray of VcAttr* */
} PropKind;

typedef struct PropSpec {
        const char *name;
        const char *signature;
        PropKind kind;
        size_t offset;
} PropSpec;

#define STR(s, f, n)                                \
        {                                           \
                n, "s", PROP_STRING, offsetof(s, f) \
        }
#define OBJ(s, f, n)                                \
        {                                           \
                n, "o", PROP_STRING, offsetof(s, f) \
        }

static const PropSpec gpu_props[] = {
        STR(VcGpu, name, "Name"),
        STR(VcGpu, sysfs_path, "SysfsPath"),
        STR(VcGpu, subsystem, "Subsystem"),
        STR(VcGpu, driver, "Driver"),
        {"VendorId", "q", PROP_U16, offsetof(VcGpu, vendor_id)},
        {"DeviceId", "q", PROP_U16, offsetof(VcGpu, device_id)},
        {"SubsystemVendorId", "q", PROP_U16, offsetof(VcGpu, subsystem_vendor_id)},
        {"SubsystemDeviceId", "q", PROP_U16, offsetof(VcGpu, subsystem_device_id)},
        STR(VcGpu, vendor, "Vendor"),
        STR(VcGpu, model, "Model"),
        STR(VcGpu, subsystem_model, "SubsystemModel"),
        {"NumaNode", "i", PROP_I32, offsetof(VcGpu, numa_node)},
        STR(VcGpu, core, "Core"),
        STR(VcGpu, board, "Board"),
        STR(VcGpu, board_model, "BoardModel"),
        {"Types", "a(ssssiuts)", PROP_TYPES, offsetof(VcGpu, types)},
        {"SizeClass", "t", PROP_U64, offsetof(VcGpu, size_class)},
        {"MixedSize", "b", PROP_BOOL, offsetof(VcGpu, mixed_size)},
        {"CoreUsed", "u", PROP_U32, offsetof(VcGpu, core_used)},
        {"CoreCapacity", "u", PROP_U32, offsetof(VcGpu, core_capacity)},
        {},
};

static const PropSpec device_props[] = {
        STR(VcDevice, uuid, "Uuid"),
        STR(VcDevice, parent, "Parent"),
        OBJ(VcDevice, gpu, "Gpu"),
        STR(VcDevice, type_id, "TypeId"),
        STR(VcDevice, type_name, "TypeName"),
        {"FramebufferMiB", "t", PROP_U64, offsetof(VcDevice, framebuffer_mib)},
        STR(VcDevice, sysfs_path, "SysfsPath"),
        STR(VcDevice, user, "User"),
        STR(VcDevice, user_kind, "UserKind"),
        {"UserPid", "u", PROP_U32, offsetof(VcDevice, user_pid)},
        {"Idle", "b", PROP_BOOL, offsetof(VcDevice, idle)},
        {"IdleSince", "t", PROP_U64, offsetof(VcDevice, idle_since_usec)},
        {"GpuInstanceId", "i", PROP_I32, offsetof(VcDevice, gpu_instance_id)},
        {},
};

static const PropSpec definition_props[] = {
        STR(VcDefinition, uuid, "Uuid"),
        STR(VcDefinition, parent, "Parent"),
        STR(VcDefinition, type_id, "TypeId"),
        STR(VcDefinition, start, "Start"),
        {"Attributes", "a(ss)", PROP_ATTRS, offsetof(VcDefinition, attrs)},
        STR(VcDefinition, path, "Path"),
        {"MixedSize", "b", PROP_BOOL, offsetof(VcDefinition, mixed_size)},
        {},
};

static void reply_unref(gpointer m)
{
        sd_bus_message_unref(m);
}

/* Read an a(ssssiuts) into types (emptied first), field by field (faster than
 * sd_bus_message_read(m, "(ssssiuts)", ...), see parse_devices()). */
static int read_types(sd_bus_message *m, VcInventory *inv, GPtrArray *types)
{
        int r;

        g_ptr_array_set_size(types, 0);

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssssiuts)");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        for (;;) {
                VcType *t;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "ssssiuts");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                t = vc_inventory_alloc(inv, sizeof(VcType));
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &t->id);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &t->name);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &t->description);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &t->device_api);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_INT32, &t->available_instances);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_UINT32, &t->max_instances);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_UINT64, &t->framebuffer_mib);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &t->profile);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                g_ptr_array_add(types, t);
        }
        return sd_bus_message_exit_container(m);
}

/* Read an a(ss) into attrs (emptied first). */
static int read_attrs(sd_bus_message *m, VcInventory *inv, GPtrArray *attrs)
{
        int r;

        g_ptr_array_set_size(attrs, 0);

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        for (;;) {
                const char *name, *value;
                VcAttr *a;

                r = sd_bus_message_read(m, "(ss)", &name, &value);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                a = vc_inventory_alloc(inv, sizeof(VcAttr));
                *a = (VcAttr){.name = name, .value = value};
                g_ptr_array_add(attrs, a);
        }
        return sd_bus_message_exit_container(m);
}

/* Read one property value (the variant's content, already entered) into its field. */
static int read_prop_value(sd_bus_message *m, VcInventory *inv, const PropSpec *s, void *obj)
{
        void *field = (char *)obj + s->offset;
        int r;

        switch (s->kind) {
        case PROP_STRING: return sd_bus_message_read_basic(m, s->signature[0], field);
        case PROP_U16: return sd_bus_message_read_basic(m, 'q', field);
        case PROP_I32: return sd_bus_message_read_basic(m, 'i', field);
        case PROP_U32: return sd_bus_message_read_basic(m, 'u', field);
        case PROP_U64: return sd_bus_message_read_basic(m, 't', field);
        case PROP_BOOL: {
                int b;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *)field = b;
                return 0;
        }
        case PROP_TYPES: return read_types(m, inv, *(GPtrArray **)field);
        case PROP_ATTRS: return read_attrs(m, inv, *(GPtrArray **)field);
        }
        return -EINVAL;
}

/* Read an a{sv} of properties into obj; unknown names are skipped, a known name with another type
 * is an error. */
static int read_props(sd_bus_message *m, VcInventory *inv, const PropSpec *specs, void *obj,
                      const char *path, char **ret_error)
{
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const PropSpec *spec = NULL;
                const char *name;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                for (const PropSpec *s = specs; s->name; s++)
                        if (strcmp(s->name, name) == 0)
                                spec = s;
                if (!spec) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, spec->signature);
                        if (r <= 0) {
                                *ret_error = g_strdup_printf("property %s of %s does not have type '%s'",
                                                             name, path, spec->signature);
                                return -EBADMSG;
                        }
                        r = read_prop_value(m, inv, spec, obj);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* Read the interfaces of one object (an a{sa{sv}}) and add what it is to inv. */
static int read_object(sd_bus_message *m, const char *path, VcInventory *inv, char **ret_error)
{
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
        if (r < 0)
                return r;
        for (;;) {
                const char *iface;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &iface);
                if (r < 0)
                        return r;

                if (strcmp(iface, VGPUD_GPU_IFACE) == 0)
                        r = read_props(m, inv, gpu_props, vc_inventory_add_gpu(inv, path), path, ret_error);
                else if (strcmp(iface, VGPUD_DEVICE_IFACE) == 0)
                        r = read_props(m, inv, device_props, vc_inventory_add_device(inv, path), path,
                                       ret_error);
                else if (strcmp(iface, VGPUD_DEFINITION_IFACE) == 0)
                        r = read_props(m, inv, definition_props, vc_inventory_add_definition(inv, path),
                                       path, ret_error);
                else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

int vc_inventory_parse(sd_bus_message *reply, VcInventory **ret, char **ret_error)
{
        g_autoptr(VcInventory) inv = vc_inventory_new(reply_unref);
        int r;

        vc_inventory_keep(inv, sd_bus_message_ref(reply));
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
        if (r < 0)
                goto malformed;
        for (;;) {
                const char *path;

                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}");
                if (r < 0)
                        goto malformed;
                if (r == 0)
                        break;
                r = sd_bus_message_read_basic(reply, 'o', &path);
                if (r < 0)
                        goto malformed;
                r = read_object(reply, path, inv, ret_error);
                if (r < 0)
                        goto malformed;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto malformed;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                goto malformed;

        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;

malformed:
        if (!*ret_error)
                *ret_error = g_strdup_printf("malformed GetManagedObjects reply: %s", strerror(-r));
        return r < 0 ? r : -EBADMSG;
}

/* ListTypes: a(soa(ssssiuts)). */
static int parse_types(sd_bus_message *m, VcInventory *inv)
{
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(soa(ssssiuts))");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        for (;;) {
                const char *name, *path;
                VcGpu *g;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "soa(ssssiuts)");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "so", &name, &path);
                if (r < 0)
                        return r;
                g = vc_inventory_add_gpu(inv, path);
                g->name = name;
                r = read_types(m, inv, g->types);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

/* ListDevices: a(sss). The hot loop of `vgpuctl list`: entering the struct and reading its fields
 * one by one measured a fifth faster than sd_bus_message_read(m, "(sss)", ...). */
static int parse_devices(sd_bus_message *m, VcInventory *inv)
{
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(sss)");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        for (;;) {
                VcDevice *d;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "sss");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                d = vc_inventory_add_device(inv, "");
                r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &d->uuid);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &d->parent);
                if (r >= 0)
                        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &d->type_id);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

/* ListDefinitions: a(ssssa(ss)o) as, the second being the Warnings. */
static int parse_definitions(sd_bus_message *m, VcInventory *inv)
{
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssssa(ss)o)");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        for (;;) {
                const char *parent, *uuid, *type_id, *start;
                VcDefinition *d;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "ssssa(ss)o");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "ssss", &parent, &uuid, &type_id, &start);
                if (r < 0)
                        return r;
                d = vc_inventory_add_definition(inv, "");
                d->parent = parent;
                d->uuid = uuid;
                d->type_id = type_id;
                d->start = start;
                r = read_attrs(m, inv, d->attrs);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_basic(m, 'o', &d->object_path);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &inv->warnings);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        return 0;
}

static int report_malformed(const char *method, int r)
{
        fprintf(stderr, "Error: vgpud sent an unexpected answer: malformed %s reply: %s\n", method,
                strerror(-r));
        return r;
}

int vc_inventory_load(sd_bus *bus, VcInventory **ret)
{
        sd_bus_message *reply = NULL;
        g_autofree char *error = NULL;
        int r;

        r = vc_bus_call_simple(bus, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &reply);
        if (r < 0)
                return r;
        r = vc_inventory_parse(reply, ret, &error);
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "Error: vgpud sent an unexpected answer: %s\n", error);
                return r;
        }
        return 0;
}

int vc_inventory_load_types(sd_bus *bus, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = vc_inventory_new(reply_unref);
        sd_bus_message *reply = NULL;
        int r;

        r = vc_bus_call_simple(bus, VGPUD_MANAGER_IFACE, "ListTypes", &reply);
        if (r < 0)
                return r;
        vc_inventory_keep(inv, reply);
        r = parse_types(reply, inv);
        if (r < 0)
                return report_malformed("ListTypes", r);
        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

int vc_inventory_load_listing(sd_bus *bus, VcInventory **ret)
{
        static const char *const methods[] = {"ListDevices", "ListDefinitions"};
        static int (*const parsers[])(sd_bus_message * m, VcInventory * inv) = {parse_devices,
                                                                                parse_definitions};
        g_autoptr(VcInventory) inv = vc_inventory_new(reply_unref);
        g_autoptr(VcPendingCalls) calls = NULL;
        int r;

        /* Both requests go out at once; each reply is read as soon as it is in, while vgpud builds
         * the next one. */
        r = vc_bus_calls_send(bus, VGPUD_MANAGER_IFACE, methods, G_N_ELEMENTS(methods), &calls);
        if (r < 0)
                return r;
        for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
                sd_bus_message *reply = NULL;

                r = vc_bus_calls_wait(calls, i, &reply);
                if (r < 0)
                        return r;
                vc_inventory_keep(inv, reply);
                r = parsers[i](reply, inv);
                if (r < 0)
                        return report_malformed(methods[i], r);
        }
        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

/* Manager.<method>(backend) on the bus, its reply parsed into inv. */
static int call_of(sd_bus *bus, const char *method, const char *backend,
                   int (*parse)(sd_bus_message *m, VcInventory *inv), VcInventory *inv)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                           method);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", backend);
        if (r < 0)
                return vc_bus_log_error(NULL, r, method);
        r = vc_bus_call_message(bus, m, 0, method, &reply);
        if (r < 0)
                return r;
        vc_inventory_keep(inv, reply);
        r = parse(reply, inv);
        return r < 0 ? report_malformed(method, r) : 0;
}

int vc_inventory_load_types_of(sd_bus *bus, const char *backend, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = vc_inventory_new(reply_unref);
        int r = call_of(bus, "ListTypesOf", backend, parse_types, inv);

        if (r < 0)
                return r;
        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

/* One Definition.MixedSize Get in flight (read_mixed_sizes()). */
typedef struct MixedSizeGet {
        sd_bus_slot *slot;
        VcDefinition *def;
        size_t *pending;
        int error; /* the negative errno of a failed Get, printed */
} MixedSizeGet;

static int on_mixed_size(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        MixedSizeGet *g = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int b = 0, r;

        (*g->pending)--;
        /* a definition undefined since ListDefinitionsOf answered is listed as it was then */
        if (e && sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return 0;
        if (e) {
                g->error = vc_bus_log_error(e, -sd_bus_error_get_errno(e), "Definition.MixedSize");
                return 0;
        }
        r = sd_bus_message_read(m, "v", "b", &b);
        if (r < 0)
                g->error = report_malformed("Definition.MixedSize", r);
        g->def->mixed_size = b;
        return 0;
}

/* Set mixed_size on inv's definitions of VF vGPUs (ListDefinitionsOf("nvidia-vf"); only they can carry
 * it, and ListDefinitionsOf has no room for it), with one Get per such definition, all sent at once. */
static int read_mixed_sizes(sd_bus *bus, VcInventory *inv)
{
        g_autoptr(VcInventory) vf = vc_inventory_new(reply_unref);
        g_autoptr(GHashTable) by_path = g_hash_table_new(g_str_hash, g_str_equal);
        g_autofree MixedSizeGet *gets = NULL;
        size_t pending = 0;
        int r;

        r = call_of(bus, "ListDefinitionsOf", "nvidia-vf", parse_definitions, vf);
        if (r < 0 || vf->definitions->len == 0)
                return r;
        for (guint i = 0; i < inv->definitions->len; i++)
                g_hash_table_insert(by_path,
                                    (char *)((VcDefinition *)inv->definitions->pdata[i])->object_path,
                                    inv->definitions->pdata[i]);
        gets = g_new0(MixedSizeGet, vf->definitions->len);
        for (guint i = 0; r >= 0 && i < vf->definitions->len; i++) {
                const char *path = ((VcDefinition *)vf->definitions->pdata[i])->object_path;

                gets[i].def = g_hash_table_lookup(by_path, path);
                if (!gets[i].def) /* defined after the first listing: not listed */
                        continue;
                gets[i].pending = &pending;
                r = sd_bus_call_method_async(bus, &gets[i].slot, VGPUD_BUS_NAME, path,
                                             "org.freedesktop.DBus.Properties", "Get", on_mixed_size,
                                             &gets[i], "ss", VGPUD_DEFINITION_IFACE, "MixedSize");
                if (r < 0)
                        r = vc_bus_log_error(NULL, r, "Definition.MixedSize");
                else
                        pending++;
        }
        /* on_mixed_size runs for every reply, also for the error sd-bus makes up on a timeout */
        while (r >= 0 && pending > 0) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        r = vc_bus_log_error(NULL, r, "Definition.MixedSize");
        }
        for (guint i = 0; i < vf->definitions->len; i++) {
                sd_bus_slot_unref(gets[i].slot);
                if (r >= 0 && gets[i].error < 0)
                        r = gets[i].error;
        }
        return r < 0 ? r : 0;
}

int vc_inventory_load_listing_all(sd_bus *bus, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = vc_inventory_new(reply_unref);
        int r = call_of(bus, "ListDevicesOf", "", parse_devices, inv);

        if (r >= 0)
                r = call_of(bus, "ListDefinitionsOf", "", parse_definitions, inv);
        if (r >= 0)
                r = read_mixed_sizes(bus, inv);
        if (r < 0)
                return r;
        vc_inventory_sort(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}
