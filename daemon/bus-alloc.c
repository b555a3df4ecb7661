/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Manager's reads about allocation: Plan (what the host can still take and where the next
 * vGPU would go), ListLeases, ScanUsers, the Idle property (also served as Orphans); and the
 * Acquired/Released signals. Acquire and Release themselves are changes, in bus-lifecycle.c. */

#include <errno.h>
#include <string.h>

#include "alloc-host.h"
#include "errors.h"
#include "macro.h"
#include "leases.h"
#include "log.h"
#include "name.h"
#include "bus.h"

static gint compare_u64(gconstpointer a, gconstpointer b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Every time-sliced size class offered on the eligible cores, ascending. */
static GArray *size_classes(const AllocHost *h, const PlaceRequest *req)
{
        GArray *sizes = g_array_new(FALSE, FALSE, sizeof(uint64_t));

        for (size_t c = 0; c < h->n_cores; c++) {
                if (!alloc_host_core_eligible(&h->cores[c], req))
                        continue;
                for (size_t i = 0; i < h->cores[c].n_parents; i++) {
                        const PlaceParent *p = &h->cores[c].parents[i];
                        for (size_t k = 0; k < p->n_types; k++) {
                                uint64_t s = vgpu_type_size_class(p->types[k]);
                                bool known = s == 0;
                                for (guint n = 0; n < sizes->len && !known; n++)
                                        known = g_array_index(sizes, uint64_t, n) == s;
                                if (!known)
                                        g_array_append_val(sizes, s);
                        }
                }
        }
        g_array_sort(sizes, compare_u64);
        return sizes;
}

static int append_classes(sd_bus_message *reply, const AllocHost *h, const PlaceRequest *req)
{
        g_autoptr(GArray) sizes = size_classes(h, req);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(tuu)");
        for (guint n = 0; r >= 0 && n < sizes->len; n++) {
                uint64_t s = g_array_index(sizes, uint64_t, n);
                uint32_t at_size = 0, total = 0;

                for (size_t c = 0; c < h->n_cores; c++) {
                        const PlaceCore *core = &h->cores[c];
                        uint32_t room;

                        if (!alloc_host_core_eligible(core, req))
                                continue;
                        room = placement_room_for_size(core, s);
                        total += room;
                        if (core->cap.used > 0 && core->cap.size_class_mib == s)
                                at_size += room;
                }
                r = sd_bus_message_append(reply, "(tuu)", s, at_size, total);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static gint compare_types(gconstpointer a, gconstpointer b)
{
        const VgpuType *x = *(const VgpuType *const *)a, *y = *(const VgpuType *const *)b;
        return g_strcmp0(x->id, y->id);
}

static int append_core(sd_bus_message *reply, const AllocHost *h, size_t c)
{
        const PlaceCore *core = &h->cores[c];
        InvParent *first = alloc_host_parent(h, c, 0);
        g_autoptr(GPtrArray) types = g_ptr_array_new();
        int r;

        for (size_t i = 0; i < core->n_parents; i++)
                for (size_t k = 0; k < core->parents[i].n_types; k++) {
                        const VgpuType *t = core->parents[i].types[k];
                        bool seen = false;
                        for (guint n = 0; n < types->len && !seen; n++)
                                seen = compare_types(&types->pdata[n], &t) == 0;
                        if (t && !seen)
                                g_ptr_array_add(types, (gpointer)t);
                }
        g_ptr_array_sort(types, compare_types);

        r = sd_bus_message_open_container(reply, 'r', "sssitbuua(sstu)");
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "sssitbuu", core->core, core->board ? core->board : core->core,
                        first->board_model ? first->board_model : "", core->numa_node,
                        core->cap.size_class_mib, core->cap.mixed_size, core->cap.used, core->cap.capacity);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sstu)");
        for (guint n = 0; r >= 0 && n < types->len; n++) {
                const VgpuType *t = types->pdata[n];
                r = sd_bus_message_append(reply, "(sstu)", t->id ? t->id : "", t->name ? t->name : "",
                                          t->framebuffer_mib, placement_room(core, t));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int append_next(sd_bus_message *reply, Manager *m, const AllocHost *h, const PlaceRequest *req)
{
        g_autofree char *why = NULL;
        PlaceChoice choice;
        const VgpuType *t;
        InvParent *p;
        int r;

        if (!req->profile || !*req->profile)
                return sd_bus_message_append(reply, "(bssssss)", false, "", "", "", "", "", "");
        r = alloc_host_choose(h, m->inventory, req, &choice, &why);
        if (r < 0)
                return sd_bus_message_append(reply, "(bssssss)", false, "", "", "", "",
                                             vgpud_error_name_from_errno(r), why ? why : g_strerror(-r));
        p = alloc_host_parent(h, choice.core, choice.parent);
        t = h->cores[choice.core].parents[choice.parent].types[choice.type];
        return sd_bus_message_append(reply, "(bssssss)", true, p->name, t->id ? t->id : "",
                                     t->name ? t->name : "", h->cores[choice.core].core, "", "");
}

int bus_method_plan(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        g_autoptr(OpsRequest) opts = ops_request_new(OPS_ACQUIRE);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(AllocHost) h = NULL;
        PlaceRequest req = {};
        const char *profile;
        int r;

        r = sd_bus_message_read(msg, "s", &profile);
        if (r < 0)
                return r;
        r = bus_read_options(msg, opts, BUS_OPTIONS_PLACE, error);
        if (r < 0)
                return r;
        req = (PlaceRequest){
                .profile = profile,
                .parent = opts->acquire.place.parent,
                .parents = (const char *const *)opts->acquire.place.parents,
                .board = opts->acquire.place.board,
                .numa_node = opts->acquire.place.numa_node,
                .mixed_size = opts->acquire.place.mixed_size,
        };
        if (placement_policy_from_string(opts->acquire.place.policy ? opts->acquire.place.policy : "pack",
                                         &req.policy) < 0) {
                g_autofree char *q = name_quote(opts->acquire.place.policy);
                return vgpud_bus_error_set(error, -EINVAL, "Unknown policy %s (pack or spread)", q);
        }

        inventory_recheck_unannounced(m->inventory); /* VF vGPUs of other tools: no uevent */
        h = alloc_host_new(m->inventory);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_classes(reply, h, &req);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssitbuua(sstu))");
        for (size_t c = 0; r >= 0 && c < h->n_cores; c++)
                if (alloc_host_core_eligible(&h->cores[c], &req))
                        r = append_core(reply, h, c);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = append_next(reply, m, h, &req);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_list_leases(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) all = m->leases ? leases_list(m->leases, NULL) : g_ptr_array_new();
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssusstbb)");
        for (guint i = 0; r >= 0 && i < all->len; i++) {
                Lease *l = all->pdata[i];
                r = sd_bus_message_append(reply, "(ssusstbb)", l->uuid, l->owner, l->slot, l->parent,
                                          l->type, l->acquired_usec, l->defined,
                                          inventory_get_device(m->inventory, l->uuid) != NULL);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_property_idle(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        g_autoptr(GPtrArray) idle = inventory_idle(m->inventory);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (guint i = 0; r >= 0 && i < idle->len; i++)
                r = sd_bus_message_append(reply, "s", idle->pdata[i]);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

#define BUS_SCAN_USERS_MIN_USEC (20ULL * 1000ULL)

/* A ScanUsers call's scan is applied (or failed): its reply (from the loop, inventory.h). */
static void on_users_scanned(int r, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;

        if (r == -ECANCELED)
                return; /* vgpud is stopping */
        if (r < 0)
                (void)sd_bus_reply_method_errorf(msg, vgpud_error_name_from_errno(r),
                                                 "Cannot look for the processes holding vGPUs: %s",
                                                 g_strerror(-r));
        else
                (void)sd_bus_reply_method_return(msg, NULL);
}

int bus_method_scan_users(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        uint64_t now = (uint64_t)g_get_monotonic_time();

        (void)error;
        /* anyone may ask: at most one pass over /proc per BUS_SCAN_USERS_MIN_USEC, made off the loop by
         * the Busy check's worker; the reply once its answer is applied */
        if (m->users_scanned_usec != 0 && now - m->users_scanned_usec < BUS_SCAN_USERS_MIN_USEC) {
                /* the last scan is recent: its answer, once applied (the caller reads what it found) */
                if (inventory_users_scan_join(m->inventory, on_users_scanned, msg))
                        sd_bus_message_ref(msg);
                else
                        return sd_bus_reply_method_return(msg, NULL);
                return 1;
        }
        m->users_scanned_usec = now;
        inventory_scan_users_off_loop(m->inventory, ops_busy_worker(m->ops), on_users_scanned,
                                      sd_bus_message_ref(msg));
        return 1;
}

void bus_lease_notify(void *userdata, bool acquired, const Lease *lease)
{
        Manager *m = userdata;
        int r;

        r = sd_bus_emit_signal(m->bus, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                               acquired ? "Acquired" : "Released", "ssu", lease->uuid, lease->owner,
                               lease->slot);
        if (r < 0)
                log_debug_errno(r, "Cannot emit %s: %m", acquired ? "Acquired" : "Released");
}
