/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading vgpud's replies into VcInventory without copying a string.
 *
 * GetManagedObjects (for `status`): a small table per interface says which property lands in which
 * struct field; unknown interfaces and properties are skipped, so a newer daemon with more properties
 * still works. ListTypes, ListDevices and ListDefinitions (for `types` and `list`): one
 * sd_bus_message_read() per element (per field for the many devices, which measured faster). The
 * daemon sorts these lists already; they are only reordered here when they are not in mdevctl's order
 * (devices come by UUID and are grouped by parent in linear time). The structs live in a few large
 * chunks owned by the inventory, not in one allocation each. */

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
        {},
};

static const PropSpec definition_props[] = {
        STR(VcDefinition, uuid, "Uuid"),
        STR(VcDefinition, parent, "Parent"),
        STR(VcDefinition, type_id, "TypeId"),
        STR(VcDefinition, start, "Start"),
        {"Attributes", "a(ss)", PROP_ATTRS, offsetof(VcDefinition, attrs)},
        STR(VcDefinition, path, "Path"),
        {},
};

static void vc_gpu_free(VcGpu *g)
{
        g_ptr_array_unref(g->types);
}

static void vc_definition_free(VcDefinition *d)
{
        g_ptr_array_unref(d->attrs);
}

void vc_inventory_free(VcInventory *inv)
{
        if (!inv)
                return;
        g_clear_pointer(&inv->gpus, g_ptr_array_unref);
        g_clear_pointer(&inv->devices, g_ptr_array_unref);
        g_clear_pointer(&inv->definitions, g_ptr_array_unref);
        g_clear_pointer(&inv->warnings, g_strfreev);
        g_clear_pointer(&inv->chunks, g_ptr_array_unref);
        /* Last: the strings above point into these messages. */
        g_clear_pointer(&inv->replies, g_ptr_array_unref);
        g_free(inv);
}

static void reply_unref(gpointer m)
{
        sd_bus_message_unref(m);
}

static VcInventory *inventory_new(void)
{
        VcInventory *inv = g_new0(VcInventory, 1);

        inv->gpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_gpu_free);
        inv->devices = g_ptr_array_new();
        inv->definitions = g_ptr_array_new_with_free_func((GDestroyNotify)vc_definition_free);
        inv->replies = g_ptr_array_new_with_free_func(reply_unref);
        inv->chunks = g_ptr_array_new_with_free_func(g_free);
        return inv;
}

#define CHUNK_SIZE (64 * 1024)

/* size bytes (not initialized) that live as long as the inventory. */
static void *inventory_alloc(VcInventory *inv, size_t size)
{
        void *p;

        size = (size + 15) & ~(size_t)15;
        if (inv->chunks->len == 0 || inv->chunk_used + size > CHUNK_SIZE) {
                g_ptr_array_add(inv->chunks, g_malloc(MAX(size, (size_t)CHUNK_SIZE)));
                inv->chunk_used = 0;
        }
        p = (char *)inv->chunks->pdata[inv->chunks->len - 1] + inv->chunk_used;
        inv->chunk_used += size;
        return p;
}

/* Every string field "" and every array empty, as when the daemon sends nothing. */
static void props_init(void *obj, const PropSpec *specs)
{
        for (const PropSpec *s = specs; s->name; s++) {
                void *field = (char *)obj + s->offset;
                if (s->kind == PROP_STRING)
                        *(const char **)field = "";
                else if (s->kind == PROP_TYPES || s->kind == PROP_ATTRS)
                        *(GPtrArray **)field = g_ptr_array_new();
        }
}

static VcGpu *gpu_new(VcInventory *inv, const char *path)
{
        VcGpu *g = memset(inventory_alloc(inv, sizeof(VcGpu)), 0, sizeof(VcGpu));

        props_init(g, gpu_props);
        g->object_path = path;
        g->numa_node = -1;
        g_ptr_array_add(inv->gpus, g);
        return g;
}

/* Thousands of these for `list`: a copy of a template rather than props_init(). */
static VcDevice *device_new(VcInventory *inv, const char *path)
{
        static const VcDevice empty = {
                .object_path = "",
                .uuid = "",
                .parent = "",
                .gpu = "",
                .type_id = "",
                .type_name = "",
                .sysfs_path = "",
                .user = "",
                .user_kind = "",
        };
        VcDevice *d = inventory_alloc(inv, sizeof(VcDevice));

        *d = empty;
        d->object_path = path;
        g_ptr_array_add(inv->devices, d);
        return d;
}

static VcDefinition *definition_new(VcInventory *inv, const char *path)
{
        VcDefinition *d = memset(inventory_alloc(inv, sizeof(VcDefinition)), 0, sizeof(VcDefinition));

        props_init(d, definition_props);
        d->object_path = path;
        g_ptr_array_add(inv->definitions, d);
        return d;
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
                t = inventory_alloc(inv, sizeof(VcType));
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
                a = inventory_alloc(inv, sizeof(VcAttr));
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

static gint compare_gpus(gconstpointer a, gconstpointer b)
{
        const VcGpu *x = *(VcGpu *const *)a, *y = *(VcGpu *const *)b;
        return strcmp(x->name, y->name);
}

static gint compare_types(gconstpointer a, gconstpointer b)
{
        const VcType *x = *(VcType *const *)a, *y = *(VcType *const *)b;
        return strcmp(x->id, y->id);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gint compare_devices(gconstpointer a, gconstpointer b)
{
        const VcDevice *x = *(VcDevice *const *)a, *y = *(VcDevice *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static gint compare_definitions(gconstpointer a, gconstpointer b)
{
        const VcDefinition *x = *(VcDefinition *const *)a, *y = *(VcDefinition *const *)b;
        int c = strcmp(x->parent, y->parent);
        return c != 0 ? c : strcmp(x->uuid, y->uuid);
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
                        r = read_props(m, inv, gpu_props, gpu_new(inv, path), path, ret_error);
                else if (strcmp(iface, VGPUD_DEVICE_IFACE) == 0)
                        r = read_props(m, inv, device_props, device_new(inv, path), path, ret_error);
                else if (strcmp(iface, VGPUD_DEFINITION_IFACE) == 0)
                        r = read_props(m, inv, definition_props, definition_new(inv, path), path, ret_error);
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

/* Sort a only when it is not in order already (the daemon sends most lists sorted). */
static void sort_if_needed(GPtrArray *a, GCompareFunc compare)
{
        for (guint i = 1; i < a->len; i++)
                if (compare(&a->pdata[i - 1], &a->pdata[i]) > 0) {
                        g_ptr_array_sort(a, compare);
                        return;
                }
}

/* Put the devices in (parent, uuid) order. They come sorted by UUID (ListDevices) or in any order
 * (GetManagedObjects): group them by parent in one pass (keeping their order), sort the few parent
 * names, and sort a group only when it is not in UUID order. */
static void sort_devices(GPtrArray *devices)
{
        g_autoptr(GHashTable) groups = NULL;
        g_autoptr(GPtrArray) names = NULL;
        guint k = 0;

        if (devices->len < 2)
                return;
        groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
        names = g_ptr_array_new();
        for (guint i = 0; i < devices->len; i++) {
                VcDevice *d = devices->pdata[i];
                GPtrArray *group = g_hash_table_lookup(groups, d->parent);

                if (!group) {
                        group = g_ptr_array_new();
                        g_hash_table_insert(groups, (gpointer)d->parent, group);
                        g_ptr_array_add(names, (gpointer)d->parent);
                }
                g_ptr_array_add(group, d);
        }
        g_ptr_array_sort(names, compare_strings);
        for (guint i = 0; i < names->len; i++) {
                GPtrArray *group = g_hash_table_lookup(groups, names->pdata[i]);

                sort_if_needed(group, compare_devices);
                memcpy(devices->pdata + k, group->pdata, group->len * sizeof(gpointer));
                k += group->len;
        }
}

static void sort_inventory(VcInventory *inv)
{
        sort_if_needed(inv->gpus, compare_gpus);
        for (guint i = 0; i < inv->gpus->len; i++) {
                VcGpu *g = inv->gpus->pdata[i];
                sort_if_needed(g->types, compare_types);
        }
        sort_devices(inv->devices);
        sort_if_needed(inv->definitions, compare_definitions);
}

int vc_inventory_parse(sd_bus_message *reply, VcInventory **ret, char **ret_error)
{
        g_autoptr(VcInventory) inv = inventory_new();
        int r;

        g_ptr_array_add(inv->replies, sd_bus_message_ref(reply));
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

        sort_inventory(inv);
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
                g = gpu_new(inv, path);
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
                d = device_new(inv, "");
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
                d = definition_new(inv, "");
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
        g_autoptr(VcInventory) inv = inventory_new();
        sd_bus_message *reply = NULL;
        int r;

        r = vc_bus_call_simple(bus, VGPUD_MANAGER_IFACE, "ListTypes", &reply);
        if (r < 0)
                return r;
        g_ptr_array_add(inv->replies, reply);
        r = parse_types(reply, inv);
        if (r < 0)
                return report_malformed("ListTypes", r);
        sort_inventory(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

int vc_inventory_load_listing(sd_bus *bus, VcInventory **ret)
{
        static const char *const methods[] = {"ListDevices", "ListDefinitions"};
        static int (*const parsers[])(sd_bus_message * m, VcInventory * inv) = {parse_devices,
                                                                                parse_definitions};
        g_autoptr(VcInventory) inv = inventory_new();
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
                g_ptr_array_add(inv->replies, reply);
                r = parsers[i](reply, inv);
                if (r < 0)
                        return report_malformed(methods[i], r);
        }
        sort_inventory(inv);
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
        g_ptr_array_add(inv->replies, reply);
        r = parse(reply, inv);
        return r < 0 ? report_malformed(method, r) : 0;
}

int vc_inventory_load_types_of(sd_bus *bus, const char *backend, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = inventory_new();
        int r = call_of(bus, "ListTypesOf", backend, parse_types, inv);

        if (r < 0)
                return r;
        sort_inventory(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}

int vc_inventory_load_listing_all(sd_bus *bus, VcInventory **ret)
{
        g_autoptr(VcInventory) inv = inventory_new();
        int r = call_of(bus, "ListDevicesOf", "", parse_devices, inv);

        if (r >= 0)
                r = call_of(bus, "ListDefinitionsOf", "", parse_definitions, inv);
        if (r < 0)
                return r;
        sort_inventory(inv);
        *ret = g_steal_pointer(&inv);
        return 0;
}
