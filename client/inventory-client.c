/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading vgpud's GetManagedObjects reply into VcInventory: a small table per interface says which
 * property lands in which struct field; unknown interfaces and properties are skipped, so a newer
 * daemon with more properties still works. */

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

static void vc_type_free(VcType *t)
{
        if (!t)
                return;
        g_free(t->id);
        g_free(t->name);
        g_free(t->description);
        g_free(t->device_api);
        g_free(t->profile);
        g_free(t);
}

static void vc_attr_free(VcAttr *a)
{
        if (!a)
                return;
        g_free(a->name);
        g_free(a->value);
        g_free(a);
}

/* Free every PROP_STRING field and array of an object described by specs, then the object. */
static void props_free(void *obj, const PropSpec *specs)
{
        if (!obj)
                return;
        for (const PropSpec *s = specs; s->name; s++) {
                void *field = (char *)obj + s->offset;
                if (s->kind == PROP_STRING)
                        g_free(*(char **)field);
                else if (s->kind == PROP_TYPES || s->kind == PROP_ATTRS)
                        g_clear_pointer((GPtrArray **)field, g_ptr_array_unref);
        }
        g_free(obj);
}

static void vc_gpu_free(VcGpu *g)
{
        if (g)
                g_free(g->object_path);
        props_free(g, gpu_props);
}

static void vc_device_free(VcDevice *d)
{
        if (d)
                g_free(d->object_path);
        props_free(d, device_props);
}

static void vc_definition_free(VcDefinition *d)
{
        if (d)
                g_free(d->object_path);
        props_free(d, definition_props);
}

void vc_inventory_free(VcInventory *inv)
{
        if (!inv)
                return;
        g_clear_pointer(&inv->gpus, g_ptr_array_unref);
        g_clear_pointer(&inv->devices, g_ptr_array_unref);
        g_clear_pointer(&inv->definitions, g_ptr_array_unref);
        g_free(inv);
}

static int read_types(sd_bus_message *m, GPtrArray **ret)
{
        g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func((GDestroyNotify)vc_type_free);
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssssiuts)");
        if (r < 0)
                return r;
        for (;;) {
                const char *id, *name, *description, *device_api, *profile;
                int32_t avail;
                uint32_t max;
                uint64_t fb;
                VcType *t;

                r = sd_bus_message_read(m, "(ssssiuts)", &id, &name, &description, &device_api, &avail, &max,
                                        &fb, &profile);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                t = g_new0(VcType, 1);
                t->id = g_strdup(id);
                t->name = g_strdup(name);
                t->description = g_strdup(description);
                t->device_api = g_strdup(device_api);
                t->available_instances = avail;
                t->max_instances = max;
                t->framebuffer_mib = fb;
                t->profile = g_strdup(profile);
                g_ptr_array_add(types, t);
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&types);
        return 0;
}

static int read_attrs(sd_bus_message *m, GPtrArray **ret)
{
        g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func((GDestroyNotify)vc_attr_free);
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *value;
                VcAttr *a;

                r = sd_bus_message_read(m, "(ss)", &name, &value);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                a = g_new0(VcAttr, 1);
                a->name = g_strdup(name);
                a->value = g_strdup(value);
                g_ptr_array_add(attrs, a);
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&attrs);
        return 0;
}

/* Read one property value (the variant's content, already entered) into its field. */
static int read_prop_value(sd_bus_message *m, const PropSpec *s, void *obj)
{
        void *field = (char *)obj + s->offset;
        int r;

        switch (s->kind) {
        case PROP_STRING: {
                const char *v;
                r = sd_bus_message_read_basic(m, s->signature[0], &v);
                if (r < 0)
                        return r;
                g_free(*(char **)field);
                *(char **)field = g_strdup(v);
                return 0;
        }
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
        case PROP_TYPES:
        case PROP_ATTRS: {
                GPtrArray *a = NULL;
                r = s->kind == PROP_TYPES ? read_types(m, &a) : read_attrs(m, &a);
                if (r < 0)
                        return r;
                g_clear_pointer((GPtrArray **)field, g_ptr_array_unref);
                *(GPtrArray **)field = a;
                return 0;
        }
        }
        return -EINVAL;
}

/* Read an a{sv} of properties into obj; unknown names are skipped, a known name with another type
 * is an error. */
static int read_props(sd_bus_message *m, const PropSpec *specs, void *obj, const char *path,
                      char **ret_error)
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
                        r = read_prop_value(m, spec, obj);
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

/* Give every string field that the daemon did not send the value "" and every array an empty array. */
static void props_fill_defaults(void *obj, const PropSpec *specs)
{
        for (const PropSpec *s = specs; s->name; s++) {
                void *field = (char *)obj + s->offset;
                if (s->kind == PROP_STRING && !*(char **)field)
                        *(char **)field = g_strdup("");
                else if (s->kind == PROP_TYPES && !*(GPtrArray **)field)
                        *(GPtrArray **)field = g_ptr_array_new_with_free_func((GDestroyNotify)vc_type_free);
                else if (s->kind == PROP_ATTRS && !*(GPtrArray **)field)
                        *(GPtrArray **)field = g_ptr_array_new_with_free_func((GDestroyNotify)vc_attr_free);
        }
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

                if (strcmp(iface, VGPUD_GPU_IFACE) == 0) {
                        VcGpu *g = g_new0(VcGpu, 1);
                        g->object_path = g_strdup(path);
                        g->numa_node = -1;
                        g_ptr_array_add(inv->gpus, g);
                        r = read_props(m, gpu_props, g, path, ret_error);
                        props_fill_defaults(g, gpu_props);
                } else if (strcmp(iface, VGPUD_DEVICE_IFACE) == 0) {
                        VcDevice *d = g_new0(VcDevice, 1);
                        d->object_path = g_strdup(path);
                        g_ptr_array_add(inv->devices, d);
                        r = read_props(m, device_props, d, path, ret_error);
                        props_fill_defaults(d, device_props);
                } else if (strcmp(iface, VGPUD_DEFINITION_IFACE) == 0) {
                        VcDefinition *d = g_new0(VcDefinition, 1);
                        d->object_path = g_strdup(path);
                        g_ptr_array_add(inv->definitions, d);
                        r = read_props(m, definition_props, d, path, ret_error);
                        props_fill_defaults(d, definition_props);
                } else
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
        g_autoptr(VcInventory) inv = g_new0(VcInventory, 1);
        int r;

        inv->gpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_gpu_free);
        inv->devices = g_ptr_array_new_with_free_func((GDestroyNotify)vc_device_free);
        inv->definitions = g_ptr_array_new_with_free_func((GDestroyNotify)vc_definition_free);

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

        g_ptr_array_sort(inv->gpus, compare_gpus);
        for (guint i = 0; i < inv->gpus->len; i++) {
                VcGpu *g = inv->gpus->pdata[i];
                g_ptr_array_sort(g->types, compare_types);
        }
        g_ptr_array_sort(inv->devices, compare_devices);
        g_ptr_array_sort(inv->definitions, compare_definitions);
        *ret = g_steal_pointer(&inv);
        return 0;

malformed:
        if (!*ret_error)
                *ret_error = g_strdup_printf("malformed GetManagedObjects reply: %s", strerror(-r));
        return r < 0 ? r : -EBADMSG;
}

int vc_inventory_load(sd_bus *bus, VcInventory **ret)
{
        sd_bus_message *reply = NULL;
        g_autofree char *error = NULL;
        int r;

        r = vc_bus_call_simple(bus, VGPUD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &reply);
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

/* Binary search in an array sorted by (parent, uuid); both structs start their keys the same way. */
static void *find_sorted(GPtrArray *a, const char *parent, const char *uuid, bool is_device)
{
        guint lo = 0, hi = a->len;

        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;
                const char *p, *u;
                int c;

                if (is_device) {
                        const VcDevice *d = a->pdata[mid];
                        p = d->parent, u = d->uuid;
                } else {
                        const VcDefinition *d = a->pdata[mid];
                        p = d->parent, u = d->uuid;
                }
                c = strcmp(parent, p);
                if (c == 0)
                        c = strcmp(uuid, u);
                if (c == 0)
                        return a->pdata[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const VcDefinition *vc_inventory_find_definition(const VcInventory *inv, const char *parent,
                                                 const char *uuid)
{
        return find_sorted(inv->definitions, parent, uuid, false);
}

const VcDevice *vc_inventory_find_device(const VcInventory *inv, const char *parent, const char *uuid)
{
        return find_sorted(inv->devices, parent, uuid, true);
}
