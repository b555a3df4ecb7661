/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placement model's view of the host, built from the inventory; and the sentences that explain
 * a placement that failed. */

#include <limits.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "alloc-host.h"

static gint compare_by_core(gconstpointer a, gconstpointer b)
{
        const InvParent *x = *(InvParent *const *)a, *y = *(InvParent *const *)b;
        int c = g_strcmp0(x->core ? x->core : x->name, y->core ? y->core : y->name);
        return c != 0 ? c : strcmp(x->name, y->name);
}

static const char *core_id(const InvParent *p)
{
        return p->core ? p->core : p->name;
}

AllocHost *alloc_host_new(Inventory *inv)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(inv);
        AllocHost *h = g_new0(AllocHost, 1);
        size_t n_types = 0, t = 0;

        g_ptr_array_sort(parents, compare_by_core);
        for (guint i = 0; i < parents->len; i++)
                n_types += ((InvParent *)parents->pdata[i])->sys->types->len;
        h->parents = g_new0(PlaceParent, MAX(parents->len, 1));
        h->inv_parents = g_new0(InvParent *, MAX(parents->len, 1));
        h->cores = g_new0(PlaceCore, MAX(parents->len, 1));
        h->types = g_new0(const VgpuType *, MAX(n_types, 1));
        h->available = g_new0(int, MAX(n_types, 1));

        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                PlaceParent *pp = &h->parents[i];
                PlaceCore *c;

                if (h->n_cores == 0 || !g_str_equal(h->cores[h->n_cores - 1].core, core_id(p))) {
                        c = &h->cores[h->n_cores++];
                        c->core = core_id(p);
                        c->board = p->board;
                        c->numa_node = p->sys->numa_node;
                        c->cap = p->cap;
                        c->parents = pp;
                        c->switchable = p->sys->physfn && p->sys->backend->class->own_store;
                } else
                        c = &h->cores[h->n_cores - 1];
                c->n_parents++;
                if (c->numa_node < 0)
                        c->numa_node = p->sys->numa_node;

                h->inv_parents[i] = p;
                pp->name = p->name;
                pp->types = &h->types[t];
                pp->available = &h->available[t];
                pp->n_types = p->sys->types->len;
                for (guint k = 0; k < p->sys->types->len; k++, t++) {
                        h->types[t] = p->models->pdata[k];
                        h->available[t] = ((SysfsType *)p->sys->types->pdata[k])->available_instances;
                }
        }
        return h;
}

void alloc_host_free(AllocHost *h)
{
        if (!h)
                return;
        g_free(h->cores);
        g_free(h->parents);
        g_free(h->inv_parents);
        g_free(h->types);
        g_free(h->available);
        g_free(h);
}

InvParent *alloc_host_parent(const AllocHost *h, size_t core, size_t parent)
{
        return h->inv_parents[(size_t)(h->cores[core].parents - h->parents) + parent];
}

const PlaceCore *alloc_host_core_of(const AllocHost *h, const char *parent)
{
        for (size_t c = 0; c < h->n_cores; c++)
                for (size_t i = 0; i < h->cores[c].n_parents; i++)
                        if (g_str_equal(h->cores[c].parents[i].name, parent))
                                return &h->cores[c];
        return NULL;
}

int alloc_available_less(int available, unsigned unwritten)
{
        if (available < 0) /* unknown stays unknown */
                return available;
        return available > (int)MIN(unwritten, (unsigned)INT_MAX) ? available - (int)unwritten : 0;
}

bool alloc_host_parent_alone(const InvParent *p)
{
        return !p->core || g_str_equal(p->core, p->name);
}

void alloc_host_reserved_capacity(const InvParent *p, const VgpuType *t, unsigned n, unsigned unwritten,
                                  CoreCapacity *ret)
{
        g_autofree CapacityOffer *offers = g_new0(CapacityOffer, MAX(p->sys->types->len, 1));
        g_autofree const VgpuType **devices = g_new0(const VgpuType *, MAX(p->devices->len + n, 1));

        for (guint i = 0; i < p->sys->types->len; i++) {
                int available = ((SysfsType *)p->sys->types->pdata[i])->available_instances;

                offers[i] = (CapacityOffer){.type = p->models->pdata[i],
                                            .available_instances =
                                                    p->models->pdata[i] == t
                                                            ? alloc_available_less(available, unwritten)
                                                            : available};
        }
        for (guint i = 0; i < p->devices->len; i++)
                devices[i] = ((InvDevice *)p->devices->pdata[i])->type;
        for (unsigned i = 0; i < n; i++)
                devices[p->devices->len + i] = t;
        /* a core the inventory sees as mixed stays so: reservations only add devices */
        core_capacity_compute(offers, p->sys->types->len, devices, p->devices->len + n, p->cap.mixed_size,
                              ret);
}

static bool in_set(const char *const *set, const char *name)
{
        for (; *set; set++)
                if (g_str_equal(*set, name))
                        return true;
        return false;
}

/* The same rule as placement_choose(). */
bool alloc_host_core_eligible(const PlaceCore *c, const PlaceRequest *req)
{
        bool parent_ok = !req->parent || !*req->parent || g_str_equal(c->core, req->parent);
        bool set_ok = !req->parents || in_set(req->parents, c->core);

        for (size_t i = 0; i < c->n_parents && !parent_ok; i++)
                parent_ok = g_str_equal(c->parents[i].name, req->parent);
        for (size_t i = 0; i < c->n_parents && !set_ok; i++)
                set_ok = in_set(req->parents, c->parents[i].name);
        if (!parent_ok || !set_ok)
                return false;
        if (req->board && *req->board && !g_str_equal(c->board ? c->board : c->core, req->board))
                return false;
        if (req->mixed_size && !placement_core_mixed_ok(c))
                return false;
        return req->numa_node < 0 || c->numa_node == req->numa_node;
}

/* The type of the core matching the profile with the most room (as placement_choose() picks it), or
 * (room 0) the first matching one. Types are looked at on the core's first parent offering them. */
static const VgpuType *core_match(const PlaceCore *c, const char *profile, uint32_t *ret_room)
{
        const VgpuType *best = NULL;

        *ret_room = 0;
        for (size_t i = 0; i < c->n_parents; i++)
                for (size_t k = 0; k < c->parents[i].n_types; k++) {
                        const VgpuType *t = c->parents[i].types[k];
                        uint32_t room;

                        if (!t || !vgpu_type_matches_profile(t, profile))
                                continue;
                        room = placement_room(c, t);
                        if (!best || room > *ret_room) {
                                best = t;
                                *ret_room = room;
                        }
                }
        return best;
}

char *alloc_host_cores_that_fit(const AllocHost *h, const PlaceRequest *req)
{
        g_autoptr(GString) s = g_string_new(NULL);

        for (size_t i = 0; i < h->n_cores; i++) {
                const PlaceCore *c = &h->cores[i];
                uint32_t room;

                if (!alloc_host_core_eligible(c, req) || !core_match(c, req->profile, &room) || room == 0)
                        continue;
                if (s->len)
                        g_string_append(s, ", ");
                if (c->cap.used == 0)
                        g_string_append_printf(s, "%s (empty, %" PRIu32 " free)", c->core, room);
                else if (c->cap.size_class_mib > 0)
                        g_string_append_printf(s, "%s (%" PRIu64 " MiB, %" PRIu32 " free)", c->core,
                                               c->cap.size_class_mib, room);
                else
                        g_string_append_printf(s, "%s (%" PRIu32 " free)", c->core, room);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

char *alloc_host_core_running(Inventory *inv, const PlaceCore *c)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new();

        for (size_t i = 0; i < c->n_parents; i++) {
                InvParent *p = inventory_get_parent(inv, c->parents[i].name);
                for (guint k = 0; p && k < p->devices->len; k++) {
                        const VgpuType *t = ((InvDevice *)p->devices->pdata[k])->type;
                        const char *n = t ? (t->name ? t->name : t->id) : NULL;
                        if (n && !g_ptr_array_find_with_equal_func(names, n, g_str_equal, NULL))
                                g_ptr_array_add(names, (gpointer)n);
                }
        }
        g_ptr_array_add(names, NULL);
        return g_strjoinv(", ", (char **)names->pdata);
}

char *alloc_host_conflicts(const AllocHost *h, Inventory *inv, const PlaceRequest *req)
{
        g_autoptr(GString) s = g_string_new(NULL);

        for (size_t i = 0; i < h->n_cores; i++) {
                const PlaceCore *c = &h->cores[i];
                const VgpuType *t;
                uint32_t room;
                g_autofree char *running = NULL;

                if (!alloc_host_core_eligible(c, req) || !(t = core_match(c, req->profile, &room)) ||
                    core_capacity_check(&c->cap, t) != -EXDEV)
                        continue;
                running = alloc_host_core_running(inv, c);
                if (s->len)
                        g_string_append(s, "; ");
                g_string_append_printf(s, "%s runs %" PRIu64 " MiB vGPUs (%s)", c->core,
                                       c->cap.size_class_mib, running);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static char *restriction_text(const PlaceRequest *req)
{
        g_autoptr(GString) s = g_string_new(NULL);

        if (req->parent && *req->parent)
                g_string_append_printf(s, " on %s", req->parent);
        if (req->parents && g_strv_length((char **)req->parents) <= 4) {
                g_autofree char *list = g_strjoinv(", ", (char **)req->parents);
                g_string_append_printf(s, " among %s", *list ? list : "no parent");
        } else if (req->parents)
                g_string_append_printf(s, " among the %u parents given",
                                       g_strv_length((char **)req->parents));
        if (req->board && *req->board)
                g_string_append_printf(s, " on board %s", req->board);
        if (req->numa_node >= 0)
                g_string_append_printf(s, " on NUMA node %d", req->numa_node);
        if (req->mixed_size)
                g_string_append(s, " in mixed-size mode");
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Whether core c offers a type matching profile: 1 with a refusal the backend named (stored in *refusal),
 * 2 without, 0 not at all. */
static int core_offers(const AllocHost *h, const PlaceCore *c, const char *profile, int *refusal)
{
        int offers = 0;

        for (size_t i = 0; i < c->n_parents; i++) {
                const PlaceParent *pp = &c->parents[i];
                const InvParent *ip = h->inv_parents[pp - h->parents];

                for (size_t k = 0; k < pp->n_types; k++) {
                        const SysfsType *t = ip->sys->types->pdata[k];
                        if (!vgpu_type_matches_profile(pp->types[k], profile))
                                continue;
                        if (t->refusal >= 0)
                                return 2;
                        *refusal = t->refusal;
                        offers = 1;
                }
        }
        return offers;
}

/* The backend's reason when every core of the host that offers the profile refuses it (a MIG-backed
 * type with MIG mode off or without NVML), with the cores in *ret_message; 0 when there is none. */
static int backend_refusal(const AllocHost *h, const char *profile, char **ret_message)
{
        g_autoptr(GString) cores = g_string_new(NULL);
        int refusal = 0;

        for (size_t i = 0; i < h->n_cores; i++) {
                int r = 0, offers = core_offers(h, &h->cores[i], profile, &r);
                if (offers == 2)
                        return 0;
                if (offers == 1) {
                        refusal = r;
                        g_string_append_printf(cores, "%s%s", cores->len ? ", " : "", h->cores[i].core);
                }
        }
        if (refusal < 0 && backend_refusal_message(refusal))
                *ret_message = g_strdup_printf("Cannot place \"%s\" on %s: %s", profile, cores->str,
                                               backend_refusal_message(refusal));
        return backend_refusal_message(refusal) ? refusal : 0;
}

/* A request with mixed_size that no core took: the cores that offer the profile but run vGPUs in
 * equal-size mode (or cannot switch), which the driver does not switch while a vGPU exists; -EBUSY with
 * them named, or 0 when there are none (the profile is not there at all). */
static int mixed_size_refusal(const AllocHost *h, Inventory *inv, const PlaceRequest *req,
                              char **ret_message)
{
        PlaceRequest any = *req;
        g_autoptr(GString) cores = g_string_new(NULL);

        any.mixed_size = false;
        for (size_t i = 0; i < h->n_cores; i++) {
                const PlaceCore *c = &h->cores[i];
                int refusal = 0;
                g_autofree char *running = NULL;

                if (!alloc_host_core_eligible(c, &any) || !core_offers(h, c, req->profile, &refusal))
                        continue;
                running = c->switchable ? alloc_host_core_running(inv, c) : g_strdup("no mixed-size switch");
                g_string_append_printf(cores, "%s%s (%s)", cores->len ? ", " : "", c->core, running);
        }
        if (cores->len == 0)
                return 0;
        *ret_message = g_strdup_printf("No GPU can take \"%s\" in mixed-size mode: those that offer it run "
                                       "vGPUs in equal-size mode or are no NVIDIA VF GPU: %s; the driver "
                                       "switches the mode only on a GPU without vGPUs (NVML: In use)",
                                       req->profile, cores->str);
        return -EBUSY;
}

int alloc_host_choose(const AllocHost *h, Inventory *inv, const PlaceRequest *req, PlaceChoice *ret,
                      char **ret_message)
{
        g_autofree char *where = restriction_text(req), *conflicts = NULL, *elsewhere = NULL;
        int r = placement_choose(h->cores, h->n_cores, req, ret);
        int refusal = r == -ENOSPC ? backend_refusal(h, req->profile, ret_message) : 0;

        if (refusal < 0)
                return refusal;
        if (r == -ENOENT && req->mixed_size && (refusal = mixed_size_refusal(h, inv, req, ret_message)) < 0)
                return refusal;

        if (r == -EXDEV || r == -ENOSPC) {
                PlaceRequest any = {.profile = req->profile, .numa_node = -1};
                g_autofree char *fit = alloc_host_cores_that_fit(h, &any);
                elsewhere = *fit ? g_strdup_printf(". It fits on: %s", fit)
                                 : g_strdup(". It fits on no GPU core now");
        }

        switch (r) {
        case 0: return 0;
        case -ENOENT:
                *ret_message =
                        g_strdup_printf("No GPU%s offers a type matching \"%s\"", where, req->profile);
                return r;
        case -EXDEV:
                conflicts = alloc_host_conflicts(h, inv, req);
                *ret_message =
                        g_strdup_printf("No GPU core%s can take \"%s\": every core that offers it runs "
                                        "another framebuffer size: %s%s",
                                        where, req->profile, conflicts, elsewhere);
                return r;
        case -ENOSPC:
                conflicts = alloc_host_conflicts(h, inv, req);
                *ret_message = g_strdup_printf(
                        "No room for \"%s\"%s: %zu GPU core%s offer%s it, %zu full%s%s%s", req->profile,
                        where, ret->n_matching, ret->n_matching == 1 ? "" : "s",
                        ret->n_matching == 1 ? "s" : "", ret->n_full, *conflicts ? "; other sizes: " : "",
                        conflicts, elsewhere);
                return r;
        default:
                *ret_message = g_strdup_printf("Cannot place \"%s\": %s", req->profile, g_strerror(-r));
                return r;
        }
}
