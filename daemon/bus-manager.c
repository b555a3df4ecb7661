/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager at /org/vgpud1, the object manager, and the observer that turns inventory
 * changes into InterfacesAdded/InterfacesRemoved/PropertiesChanged. */

#include <errno.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "macro.h"
#include "strutil.h"
#include "log.h"
#include "metrics.h"
#include "bus.h"
#include "snapshot-writer.h"

const char *bus_interface_of(InvObjectKind kind)
{
        switch (kind) {
        case INV_OBJECT_GPU: return VGPUD_GPU_IFACE;
        case INV_OBJECT_DEVICE: return VGPUD_DEVICE_IFACE;
        case INV_OBJECT_DEFINITION: return VGPUD_DEFINITION_IFACE;
        case INV_OBJECT_MANAGER: return VGPUD_MANAGER_IFACE;
        }
        return NULL;
}

/* A Definition's InterfacesAdded and PropertiesChanged wait for the end of the loop's dispatch
 * (signals_flush(), from a defer source turned on by the first of them): the reply to the Define or Modify
 * that made the change goes out first, and its client runs while vgpud builds and sends them. They read the
 * object's properties then, which for a definition are those it had at the change (nothing else
 * changes it within the dispatch that wrote it; if something did, the signal carries the newer values
 * and a PropertiesChanged follows). Every other signal (a device's "starting" must go out as it was)
 * is sent at once, after everything waiting, so that all signals keep their order. */
typedef struct {
        bool added; /* InterfacesAdded, else PropertiesChanged of names */
        InvObjectKind kind;
        char *path;
        char **names;
} PendingSignal;

static void pending_signal_free(PendingSignal *p)
{
        g_free(p->path);
        g_strfreev(p->names);
        g_free(p);
}

static void emit(Manager *m, bool added, InvObjectKind kind, const char *path, char **names)
{
        int r = added ? sd_bus_emit_object_added(m->bus, path)
                      : sd_bus_emit_properties_changed_strv(m->bus, path, bus_interface_of(kind), names);

        if (r < 0)
                log_warning_errno(r, "Cannot announce %s%s: %m", added ? "" : "property changes of ", path);
}

static void signals_flush(Manager *m)
{
        PendingSignal *p;

        while ((p = g_queue_pop_head(&m->pending_signals))) {
                emit(m, p->added, p->kind, p->path, p->names);
                pending_signal_free(p);
        }
}

static int on_signals_defer(sd_event_source *s, void *userdata)
{
        signals_flush(userdata);
        return 0;
}

/* Every change reaches the published snapshot (snapshot-writer.h): a definition's only its definitions
 * section, anything else the whole. */
static void snapshot_changed(Manager *m, InvObjectKind kind)
{
        if (kind == INV_OBJECT_DEFINITION)
                snapshot_writer_definitions_changed(m->snapshot);
        else
                snapshot_writer_changed(m->snapshot);
}

static void signal_added_or_changed(Manager *m, bool added, InvObjectKind kind, const char *path,
                                    char **names)
{
        PendingSignal *p;

        snapshot_changed(m, kind);
        if (kind != INV_OBJECT_DEFINITION || !m->signals_defer) {
                signals_flush(m);
                emit(m, added, kind, path, names);
                return;
        }
        p = g_new0(PendingSignal, 1);
        p->added = added;
        p->kind = kind;
        p->path = g_strdup(path);
        p->names = g_strdupv(names);
        g_queue_push_tail(&m->pending_signals, p);
        (void)sd_event_source_set_enabled(m->signals_defer, SD_EVENT_ONESHOT);
}

static void on_object_added(void *userdata, InvObjectKind kind, const char *path)
{
        signal_added_or_changed(userdata, true, kind, path, NULL);
}

static void on_object_removed(void *userdata, InvObjectKind kind, const char *path)
{
        Manager *m = userdata;
        int r;

        signals_flush(m);
        r = sd_bus_emit_object_removed(m->bus, path); /* while the object can still be looked up */
        snapshot_changed(m, kind);
        if (r < 0)
                log_warning_errno(r, "Cannot announce removal of %s: %m", path);
}

static void on_properties_changed(void *userdata, InvObjectKind kind, const char *path, char **names)
{
        signal_added_or_changed(userdata, false, kind, path, names);
}

static const InventoryObserver bus_observer = {
        .object_added = on_object_added,
        .object_removed = on_object_removed,
        .properties_changed = on_properties_changed,
};

static int prop_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", VGPUD_VERSION);
}

static int prop_definitions_dir(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", inventory_definitions_dir(m->inventory));
}

static int prop_warnings(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        GPtrArray *w = inventory_warnings(m->inventory);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (guint i = 0; i < w->len; i++) {
                r = sd_bus_message_append(reply, "s", (const char *)w->pdata[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int method_rescan(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = inventory_rescan(m->inventory);
        /* a request waiting for a device whose uevent was lost sees it now */
        ops_uevents(m->ops, NULL, NULL, NULL);
        snapshot_writer_flush(m->snapshot);
        if (r < 0)
                return vgpud_bus_error_set(error, r, "Rescan failed: %s", g_strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

/* daemon/snapshot-writer.c publishes what ListTypes, ListDevices and ListDefinitions return for
 * vgpuctl's reads without D-Bus: a change to what they send belongs there too (test_snapshot.py
 * compares both ways of reading).
 *
 * The List* methods give what a listing needs in one compact reply, as logind's ListSessions() and
 * systemd's ListUnits() do: GetManagedObjects() carries every property of every object, which for
 * thousands of devices costs the daemon tens of milliseconds to serialize. */

static int reply_types(sd_bus_message *msg, Manager *m, const char *backend)
{
        g_autoptr(GPtrArray) parents = inventory_listing_parents(m->inventory, backend);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(soa(ssssiuts))");
        for (guint i = 0; r >= 0 && i < parents->len; i++) {
                InvParent *p = parents->pdata[i];

                r = sd_bus_message_open_container(reply, 'r', "soa(ssssiuts)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "so", p->name, p->object_path);
                if (r >= 0)
                        r = bus_append_types(reply, p);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The backend argument of ListTypesOf/ListDevicesOf: "", or one in use. */
static int read_backend_arg(sd_bus_message *msg, Manager *m, const char **ret, sd_bus_error *error)
{
        int r = sd_bus_message_read(msg, "s", ret);

        if (r < 0)
                return r;
        if (!str_empty(*ret) && !inventory_backend(m->inventory, *ret))
                return vgpud_bus_error_set(error, -EINVAL,
                                           "Unknown backend '%s': \"mdev\", \"nvidia-vf\" or \"\" for all",
                                           *ret);
        return 0;
}

/* mdevctl's view: mdev parents only (libvirt runs vgpuctl as mdevctl). */
static int method_list_types(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return reply_types(msg, userdata, "mdev");
}

static int method_list_types_of(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        const char *backend;
        int r = read_backend_arg(msg, userdata, &backend, error);

        return r < 0 ? r : reply_types(msg, userdata, backend);
}

static int reply_devices(sd_bus_message *msg, Manager *m, const char *backend)
{
        g_autoptr(GPtrArray) devices = inventory_listing_devices(m->inventory, backend);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (guint i = 0; r >= 0 && i < devices->len; i++) {
                InvDevice *d = devices->pdata[i];

                /* field by field: cheaper than parsing a format string per device */
                r = sd_bus_message_open_container(reply, 'r', "sss");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->uuid);
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->sys->parent);
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', d->sys->type_id ? d->sys->type_id : "");
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* mdevctl's view: mediated devices only. */
static int method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return reply_devices(msg, userdata, "mdev");
}

static int method_list_devices_of(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        const char *backend;
        int r = read_backend_arg(msg, userdata, &backend, error);

        return r < 0 ? r : reply_devices(msg, userdata, backend);
}

static int reply_definitions(sd_bus_message *msg, Manager *m, const char *backend)
{
        g_autoptr(GPtrArray) defs = inventory_listing_definitions(m->inventory, backend);
        GPtrArray *warnings = inventory_warnings(m->inventory);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssa(ss)o)");
        for (guint i = 0; r >= 0 && i < defs->len; i++) {
                InvDefinition *d = defs->pdata[i];

                r = sd_bus_message_open_container(reply, 'r', "ssssa(ss)o");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssss", d->parent, d->uuid, d->type_shown,
                                                  d->def->autostart ? "auto" : "manual");
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(ss)");
                for (guint j = 0; r >= 0 && j < d->def->attrs->len; j++) {
                        MdevAttr *a = d->def->attrs->pdata[j];
                        r = sd_bus_message_append(reply, "(ss)", a->name, a->value);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "o", d->object_path);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (guint i = 0; r >= 0 && i < warnings->len; i++)
                r = sd_bus_message_append(reply, "s", (const char *)warnings->pdata[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* the configured layout (layout-watch.c) */
BUS_STRING_GETTER(prop_layout_file, Manager, o->config.layout_file)
BUS_STRING_GETTER(prop_layout_config, Manager, o->config.layout_config)
BUS_STRING_GETTER(prop_layout_state, Manager, layout_state_to_string(layout_watch_state(o->layout)))
BUS_STRING_GETTER(prop_layout_message, Manager, layout_watch_message(o->layout))
BUS_GETTER(prop_layout_vgpus, Manager, "u", uint32_t, layout_watch_vgpus(o->layout))

/* The metrics in Prometheus' text format (metrics.h), for `vgpuctl metrics`. */
static int method_get_metrics(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        g_autofree char *text = metrics_render(m->metrics);

        return sd_bus_reply_method_return(msg, "s", text);
}

/* mdevctl's view: the definitions in mdevctl's directory. */
static int method_list_definitions(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return reply_definitions(msg, userdata, "mdev");
}

static int method_list_definitions_of(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        const char *backend;
        int r = read_backend_arg(msg, userdata, &backend, error);

        return r < 0 ? r : reply_definitions(msg, userdata, backend);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DefinitionsDirectory", "s", prop_definitions_dir, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Warnings", "as", prop_warnings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Rescan", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_rescan, 0),
        /* polkit is the gate of these (bus-lifecycle.c), not sd-bus's CAP_SYS_ADMIN default */
        SD_BUS_METHOD_WITH_ARGS(
                "Start", SD_BUS_ARGS("s", parent, "s", uuid, "s", definition, "a{sv}", options),
                SD_BUS_RESULT("s", ret_uuid, "o", ret_device), bus_method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", uuid, "a{sv}", options), SD_BUS_NO_RESULT,
                                bus_method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Define",
                                SD_BUS_ARGS("s", parent, "s", uuid, "s", definition, "a{sv}", options),
                                SD_BUS_RESULT("s", ret_uuid, "o", ret_definition), bus_method_define,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Undefine", SD_BUS_ARGS("s", parent, "s", uuid, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Modify",
                                SD_BUS_ARGS("s", parent, "s", uuid, "a{sv}", changes, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_method_modify, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTypes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(soa(ssssiuts))", parents),
                                method_list_types, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sss)", devices),
                                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTypesOf", SD_BUS_ARGS("s", backend),
                                SD_BUS_RESULT("a(soa(ssssiuts))", parents), method_list_types_of,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevicesOf", SD_BUS_ARGS("s", backend), SD_BUS_RESULT("a(sss)", devices),
                                method_list_devices_of, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDefinitions", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssa(ss)o)", definitions, "as", warnings),
                                method_list_definitions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDefinitionsOf", SD_BUS_ARGS("s", backend),
                                SD_BUS_RESULT("a(ssssa(ss)o)", definitions, "as", warnings),
                                method_list_definitions_of, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Acquire", SD_BUS_ARGS("s", profile, "s", owner, "a{sv}", options),
                SD_BUS_RESULT("s", ret_uuid, "o", ret_device, "s", ret_parent, "s", ret_type),
                bus_method_acquire, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("s", what, "a{sv}", options),
                                SD_BUS_RESULT("as", ret_released), bus_method_release,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Plan", SD_BUS_ARGS("s", profile, "a{sv}", options),
                SD_BUS_RESULT("a(tuu)", classes, "a(sssitbuua(sstu))", cores, "(bssssss)", next),
                bus_method_plan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListLeases", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssusstbb)", leases),
                                bus_method_list_leases, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ApplyLayout", SD_BUS_ARGS("s", layout, "s", config, "a{sv}", options),
                                SD_BUS_RESULT("b", ret_changed, "a(ssss)", ret_removed, "a(sisu)",
                                              ret_created, "as", ret_made, "as", ret_kept),
                                bus_method_apply_layout, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("LayoutFile", "s", prop_layout_file, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LayoutConfig", "s", prop_layout_config, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LayoutState", "s", prop_layout_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LayoutMessage", "s", prop_layout_message, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LayoutVgpus", "u", prop_layout_vgpus, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", metrics),
                                method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReleaseIdle", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", ret_released), bus_method_release_idle,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ScanUsers", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, bus_method_scan_users,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Idle", "as", bus_property_idle, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* the old name of Idle, kept for existing callers (see dbus/org.vgpud1.xml) */
        SD_BUS_PROPERTY("Orphans", "as", bus_property_idle, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_SIGNAL_WITH_ARGS("Acquired", SD_BUS_ARGS("s", uuid, "s", owner, "u", slot), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Released", SD_BUS_ARGS("s", uuid, "s", owner, "u", slot), 0),
        SD_BUS_VTABLE_END,
};

/* For each Manager method, a vtable of that method alone (START, the method, END), made from
 * manager_vtable at the first use; the Manager's interface, path and userdata are the same. */
#define MANAGER_VTABLE_MAX 64
static sd_bus_vtable method_vtables[MANAGER_VTABLE_MAX][3];

int bus_add_manager_method_vtable(sd_bus *bus, Manager *m, const char *member, sd_bus_slot **ret_slot)
{
        G_STATIC_ASSERT(G_N_ELEMENTS(manager_vtable) <= MANAGER_VTABLE_MAX);

        for (size_t i = 1; i < G_N_ELEMENTS(manager_vtable); i++) {
                const sd_bus_vtable *v = &manager_vtable[i];

                if (v->type != _SD_BUS_VTABLE_METHOD || strcmp(v->x.method.member, member) != 0)
                        continue;
                if (method_vtables[i][0].type != _SD_BUS_VTABLE_START) {
                        method_vtables[i][0] = manager_vtable[0];
                        method_vtables[i][1] = *v;
                        method_vtables[i][2] = manager_vtable[G_N_ELEMENTS(manager_vtable) - 1];
                }
                return sd_bus_add_object_vtable(bus, ret_slot, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                                method_vtables[i], m);
        }
        return -ENOENT;
}

int bus_add_manager_vtable(sd_bus *bus, Manager *m)
{
        int r = sd_bus_add_object_vtable(bus, NULL, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE, manager_vtable,
                                         m);

        if (r < 0)
                return log_error_errno(r, "Cannot add the Manager vtable: %m");
        return 0;
}

int bus_add_objects(sd_bus *bus, Manager *m)
{
        int r = bus_add_manager_vtable(bus, m);

        if (r < 0)
                return r;
        return bus_add_other_objects(bus, m);
}

int bus_add_other_objects(sd_bus *bus, Manager *m)
{
        int r;

        r = sd_bus_add_object_manager(bus, NULL, VGPUD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot add the object manager: %m");
        r = bus_gpu_register(bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Gpu vtable: %m");
        r = bus_device_register(bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Device vtable: %m");
        r = bus_definition_register(bus, m->inventory);
        if (r < 0)
                return log_error_errno(r, "Cannot add the Definition vtable: %m");
        return 0;
}

int bus_setup(Manager *m)
{
        int r;

        r = bus_add_objects(m->bus, m);
        if (r < 0)
                return r;
        r = sd_event_add_defer(m->event, &m->signals_defer, on_signals_defer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->signals_defer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the bus signals: %m");
        inventory_set_observer(m->inventory, &bus_observer, m);
        return 0;
}

void bus_done(Manager *m)
{
        bus_lifecycle_done(m);
        signals_flush(m);
        m->signals_defer = sd_event_source_disable_unref(m->signals_defer);
}
