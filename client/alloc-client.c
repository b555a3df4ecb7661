/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Manager.Acquire, Release, ListLeases, ScanUsers and the Idle property for vgpuctl (see alloc-client.h). */

#include <errno.h>
#include <string.h>

#include "alloc-client.h"
#include "bus-client.h"
#include "change-bus.h"
#include "lifecycle-client.h"
#include "macro.h"

/* A change may wait for the daemon's queue and then for the kernel (timeout_ms, 10 s by default). */
static uint64_t call_timeout_usec(const uint32_t *timeout_ms)
{
        uint64_t t = VC_CHANGE_TIMEOUT_USEC;

        if (timeout_ms && (uint64_t)*timeout_ms * 1000ULL + 60ULL * 1000ULL * 1000ULL > t)
                t = (uint64_t)*timeout_ms * 1000ULL + 60ULL * 1000ULL * 1000ULL;
        return t;
}

void vc_acquired_clear(VcAcquired *a)
{
        g_clear_pointer(&a->uuid, g_free);
        g_clear_pointer(&a->device, g_free);
        g_clear_pointer(&a->parent, g_free);
        g_clear_pointer(&a->type, g_free);
}

void vc_lease_free(VcLease *l)
{
        if (!l)
                return;
        g_free(l->uuid);
        g_free(l->owner);
        g_free(l->parent);
        g_free(l->type);
        g_free(l);
}

int vc_alloc_log_error(const sd_bus_error *error, int r, const char *what)
{
        return vc_bus_log_error(error, r < 0 ? r : -EIO, what);
}

int vc_placement_append(sd_bus_message *m, const VcPlacement *p)
{
        int r = 0;

        if (p->parent)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_PARENT, "s", p->parent);
        if (r >= 0 && p->parents) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", VGPUD_OPT_PARENTS);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **)p->parents);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && p->board)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_BOARD, "s", p->board);
        if (r >= 0 && p->has_numa_node)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_NUMA_NODE, "i", p->numa_node);
        if (r >= 0 && p->policy)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_POLICY, "s", p->policy);
        if (r >= 0 && p->mixed_size)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_MIXED_SIZE, "b", 1);
        return r;
}

/* Send m; a failure is printed unless error is given (then it is left there). */
static int call(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_error *error,
                sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error own = SD_BUS_ERROR_NULL;
        g_autofree char *what = g_strdup_printf("%s.%s", VGPUD_MANAGER_IFACE, sd_bus_message_get_member(m));
        int r;

        r = sd_bus_call(bus, m, timeout_usec, error ? error : &own, ret_reply);
        if (r < 0 && !error)
                return vc_bus_log_error(&own, r, what);
        return r;
}

int vc_acquire(sd_bus *bus, const VcAcquireRequest *req, sd_bus_error *error, VcAcquired *ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *uuid, *device, *parent, *type;
        int r;

        r = vc_change_new(bus, "Acquire", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", req->profile, req->owner);
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0)
                r = vc_placement_append(m, &req->place);
        if (r >= 0 && req->has_slot)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_SLOT, "u", req->slot);
        if (r >= 0 && req->uuid)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_UUID, "s", req->uuid);
        if (r >= 0 && req->vm_uuid)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_VM_UUID, "s", req->vm_uuid);
        if (r >= 0 && req->persist)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_PERSIST, "b", 1);
        if (r >= 0 && req->dry_run)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_DRY_RUN, "b", 1);
        if (r >= 0 && req->force)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && req->has_timeout)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_TIMEOUT_MS, "u", req->timeout_ms);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the Acquire call");

        r = call(bus, m, call_timeout_usec(req->has_timeout ? &req->timeout_ms : NULL), error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "soss", &uuid, &device, &parent, &type);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to Acquire");
        *ret = (VcAcquired){
                .uuid = g_strdup(uuid),
                .device = g_strdup(device),
                .parent = g_strdup(parent),
                .type = g_strdup(type),
        };
        return 0;
}

int vc_release(sd_bus *bus, const char *what, const uint32_t *slot, bool force, const uint32_t *timeout_ms,
               sd_bus_error *error, char ***ret_released)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        char **released = NULL;
        int r;

        r = vc_change_new(bus, "Release", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", what);
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && slot)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_SLOT, "u", *slot);
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && timeout_ms)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_TIMEOUT_MS, "u", *timeout_ms);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the Release call");

        r = call(bus, m, call_timeout_usec(timeout_ms), error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, &released);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to Release");
        if (ret_released)
                *ret_released = released;
        else
                g_strfreev(released);
        return 0;
}

int vc_list_leases(sd_bus *bus, sd_bus_error *error, GPtrArray **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_autoptr(GPtrArray) leases = g_ptr_array_new_with_free_func((GDestroyNotify)vc_lease_free);
        int r;

        r = sd_bus_message_new_method_call(bus, &m, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                           "ListLeases");
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the ListLeases call");
        r = call(bus, m, 60ULL * 1000ULL * 1000ULL, error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(ssusstbb)");
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to ListLeases");
        for (;;) {
                const char *uuid, *owner, *parent, *type;
                uint32_t slot;
                uint64_t when;
                int persist, running;
                VcLease *l;

                r = sd_bus_message_read(reply, "(ssusstbb)", &uuid, &owner, &slot, &parent, &type, &when,
                                        &persist, &running);
                if (r < 0)
                        return vc_bus_log_error(NULL, r, "reading the answer to ListLeases");
                if (r == 0)
                        break;
                l = g_new0(VcLease, 1);
                l->uuid = g_strdup(uuid);
                l->owner = g_strdup(owner);
                l->slot = slot;
                l->parent = g_strdup(parent);
                l->type = g_strdup(type);
                l->acquired_usec = when;
                l->persist = persist;
                l->running = running;
                g_ptr_array_add(leases, l);
        }
        *ret = g_steal_pointer(&leases);
        return 0;
}

int vc_get_idle(sd_bus *bus, sd_bus_error *error, char ***ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error own = SD_BUS_ERROR_NULL;
        char **idle = NULL;
        int r;

        r = sd_bus_get_property_strv(bus, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE, "Idle",
                                     &own, &idle);
        if (r < 0 &&
            sd_bus_error_has_names(&own, SD_BUS_ERROR_UNKNOWN_PROPERTY, SD_BUS_ERROR_INVALID_ARGS)) {
                sd_bus_error_free(&own);
                r = sd_bus_get_property_strv(bus, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                             "Orphans", &own, &idle);
        }
        if (r < 0 && !error)
                return vc_bus_log_error(&own, r, "reading the Idle property");
        if (r < 0) {
                sd_bus_error_move(error, &own);
                return r;
        }
        *ret = idle;
        return 0;
}

int vc_scan_users(sd_bus *bus)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE, "ScanUsers",
                               &error, NULL, NULL);
        if (r < 0 &&
            sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return 0;
        if (r < 0)
                return vc_bus_log_error(&error, r, "org.vgpud1.Manager.ScanUsers");
        return 0;
}
