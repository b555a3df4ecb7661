/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Manager.Acquire, Release, ListLeases, ScanUsers and the Idle property for vgpuctl (see alloc-client.h). */

#include <errno.h>
#include <string.h>

#include "alloc-client.h"
#include "bus-client.h"
#include "change-bus.h"
#include "lifecycle-client.h"
#include "macro.h"

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
        VcChangeCall place;

        vc_change_call_init(&place, "Plan", NULL, 0);
        vc_placement_add(&place, p);
        return vc_change_append_entries(m, place.options, place.n_options);
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
        VcChangeCall acquire;
        int r;

        vc_acquire_call_init(&acquire, req);
        r = vc_change_message(bus, &acquire, &m);
        if (r < 0)
                return r;
        r = call(bus, m, acquire.timeout_usec, error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "soss", &uuid, &device, &parent, &type);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to Acquire");
        vc_acquired_from_answer(
                (char *const[]){(char *)uuid, (char *)device, (char *)parent, (char *)type, NULL}, ret);
        return 0;
}

int vc_release(sd_bus *bus, const char *what, const uint32_t *slot, bool force, const uint32_t *timeout_ms,
               sd_bus_error *error, char ***ret_released)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        char **released = NULL;
        VcChangeCall release;
        int r;

        vc_release_call_init(&release, what, slot, force, timeout_ms);
        r = vc_change_message(bus, &release, &m);
        if (r < 0)
                return r;
        r = call(bus, m, release.timeout_usec, error, &reply);
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
