/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of vgpud (org.vgpud1, see dbus/org.vgpud1.xml): vtables for the Manager, Gpu, Device
 * and Definition objects, and the inventory observer that turns changes into signals. */

#include <systemd/sd-bus.h>

#include "inventory.h"
#include "manager.h"
#include "names.h"

/* One property getter per property: `BUS_GETTER(prop_numa, InvParent, "i", int32_t, o->sys->numa_node)`
 * defines prop_numa, which appends expr (read from o, the object the vtable found) as sig, cast to
 * ctype (what sd_bus_message_append() takes for sig). BUS_STRING_GETTER appends "" for NULL. */
#define BUS_GETTER(name, type, sig, ctype, expr)                                                    \
        static int name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)                 \
        {                                                                                           \
                type *o = userdata;                                                                 \
                return sd_bus_message_append(reply, sig, (ctype)(expr));                            \
        }
#define BUS_STRING_GETTER(name, type, expr) BUS_GETTER(name, type, "s", const char *, bus_nz(expr))

static inline const char *bus_nz(const char *s)
{
        return s ? s : "";
}

/* Install every vtable, the object manager and the observer on m->bus. A Definition's InterfacesAdded
 * and PropertiesChanged go out at the end of the dispatch that made the change (after its replies). */
int bus_setup(Manager *m);
/* Sends the signals still waiting and stops the observer's defer source (before m->bus goes). */
void bus_done(Manager *m);
/* The object manager and every vtable on one connection (the system bus, or a private one). */
int bus_add_objects(sd_bus *bus, Manager *m);
/* The same in two parts, for a private connection that registers what its messages need: the Manager's
 * vtable; the object manager and the Gpu, Device and Definition vtables. */
int bus_add_manager_vtable(sd_bus *bus, Manager *m);
/* The Manager's method member alone (its vtable entry, as in the Manager's vtable), for a private
 * connection whose one call needs nothing else: sd-bus checks and hashes every member of a vtable at
 * its registration, per connection. *ret_slot owns it (unref it to remove it). -ENOENT: no such method. */
int bus_add_manager_method_vtable(sd_bus *bus, Manager *m, const char *member, sd_bus_slot **ret_slot);
int bus_add_other_objects(sd_bus *bus, Manager *m);

/* The private socket (bus-private.c): the same objects over direct D-Bus connections, without the
 * broker, as systemd serves /run/systemd/private. Signals go only to the system bus. */
int bus_private_listen(Manager *m, const char *path);
void bus_private_done(Manager *m);

/* Per-interface registration (bus-gpu.c, bus-device.c, bus-definition.c). */
int bus_gpu_register(sd_bus *bus, Inventory *inv);
int bus_device_register(sd_bus *bus, Inventory *inv);
int bus_definition_register(sd_bus *bus, Inventory *inv);

/* Append a parent's types as a(ssssiuts) (bus-gpu.c; also used by Manager.ListTypes). */
int bus_append_types(sd_bus_message *m, InvParent *p);

/* Manager's lifecycle methods (bus-lifecycle.c); userdata is the Manager. They reply asynchronously,
 * once polkit allowed and the engine ran the request. */
int bus_method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_define(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_modify(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_acquire(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_release_idle(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* Their answers wait for the end of the dispatch that gave them (one snapshot write for a durable
 * batch's requests, then their replies); this sends what waits and answers at once from then on
 * (bus_done()). */
void bus_lifecycle_done(Manager *m);

/* Read an a{sv} of options into req: the keys of the given groups (bus-lifecycle.c's table), any other key
 * is InvalidArgument. */
enum {
        BUS_OPTIONS_COMMON = 1 << 0,  /* force, timeout_ms */
        BUS_OPTIONS_MODIFY = 1 << 1,  /* defined, live */
        BUS_OPTIONS_CHANGES = 1 << 2, /* Modify's changes */
        BUS_OPTIONS_PLACE = 1 << 3,   /* parent, parents, board, numa_node, policy */
        BUS_OPTIONS_ACQUIRE = 1 << 4, /* slot, uuid, vm_uuid, persist, dry_run */
        BUS_OPTIONS_RELEASE = 1 << 5, /* slot */
        BUS_OPTIONS_IDLE = 1 << 6,    /* older_than_usec, dry_run */
};
int bus_read_options(sd_bus_message *msg, OpsRequest *req, unsigned flags, sd_bus_error *error);

/* Manager's Plan, ListLeases, ScanUsers and Idle (also served as Orphans) (bus-alloc.c); the
 * Acquired/Released signals. */
int bus_method_plan(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_list_leases(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_property_idle(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_method_scan_users(sd_bus_message *msg, void *userdata, sd_bus_error *error);
void bus_lease_notify(void *userdata, bool acquired, const struct Lease *lease);

/* Manager's ApplyLayout (bus-layout.c): parse, plan, apply; the reply is the plan (b changed, a(ssss)
 * removed, a(sisu) created, as made, as kept). */
int bus_method_apply_layout(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* The configured layout's watch callback (layout-watch.h): signals LayoutState, LayoutMessage and
 * LayoutVgpus; userdata is the Manager. */
void bus_layout_changed(void *userdata);

/* The interface name of an inventory object kind. */
const char *bus_interface_of(InvObjectKind kind);
