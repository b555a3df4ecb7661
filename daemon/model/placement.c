/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the next vGPU goes: the room a core has for a type (the size model and the driver's
 * available_instances), the pack and spread orders over the eligible cores, and the parent within the
 * chosen core. Pure computation: no I/O, no allocation of its own. */

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "strutil.h"
#include "placement.h"

/* The same type: the same object, or the same id (types without an id only by pointer). */
static bool same_type(const VgpuType *a, const VgpuType *b)
{
        if (a == b)
                return true;
        return a && b && a->id && b->id && strcmp(a->id, b->id) == 0;
}

static size_t core_n_parents(const PlaceCore *c)
{
        return c->parents ? c->n_parents : 0;
}

static size_t parent_n_types(const PlaceParent *p)
{
        return p->types ? p->n_types : 0;
}

/* available_instances of p->types[i]; a parent without an available array knows none. */
static int parent_available(const PlaceParent *p, size_t i)
{
        return p->available ? p->available[i] : -1;
}

/* Which parents of a core a request allows: only one (NULL: no such restriction), and only those named
 * in set (NULL: no such restriction). */
typedef struct {
        const char *only;
        const char *const *set;
} Selection;

static bool in_set(const char *const *set, const char *name)
{
        for (; name && *set; set++)
                if (strcmp(*set, name) == 0)
                        return true;
        return false;
}

/* Does the parent pass the request's parent restrictions? */
static bool parent_selected(const PlaceParent *p, const Selection *sel)
{
        if (sel->only && !(p->name && strcmp(p->name, sel->only) == 0))
                return false;
        return !sel->set || in_set(sel->set, p->name);
}

static uint32_t clamp_u32(uint64_t v)
{
        return (uint32_t)MIN(v, (uint64_t)UINT32_MAX);
}

/* The index of t's id among p's types, or SIZE_MAX. A parent lists a type id once (sysfs does); hint is
 * where it is likely to be (the VFs of a core list the same types in the same order). */
static size_t parent_find(const PlaceParent *p, const VgpuType *t, size_t hint)
{
        size_t n = parent_n_types(p);

        if (hint < n && same_type(p->types[hint], t))
                return hint;
        for (size_t i = 0; i < n; i++)
                if (same_type(p->types[i], t))
                        return i;
        return SIZE_MAX;
}

/* placement_room() over the core's parents that pass `only`; hint: see
 * parent_find(). */
static uint32_t room_on(const PlaceCore *c, const Selection *only, const VgpuType *t, size_t hint)
{
        const CoreCapacity *cap = &c->cap;
        uint64_t model = 0, driver = 0;
        bool model_known = false, driver_known = false;

        if (core_capacity_check(cap, t) < 0)
                return 0;

        /* The model: a size-ruled type on a core that is not mixed counts against its own max (the
         * core is empty or at t's size, or the check above refused it); else the core's capacity. */
        if (vgpu_type_size_class(t) > 0 && !cap->mixed_size && t->max_instances > 0) {
                model = t->max_instances > cap->used ? t->max_instances - cap->used : 0;
                model_known = true;
        } else if (cap->capacity > 0) {
                model = cap->capacity > cap->used ? cap->capacity - cap->used : 0;
                model_known = true;
        }

        /* The driver: what the parents still offer of this type. */
        for (size_t p = 0; p < core_n_parents(c); p++) {
                const PlaceParent *pp = &c->parents[p];
                size_t i;
                int a;

                if (!parent_selected(pp, only))
                        continue;
                i = parent_find(pp, t, hint);
                if (i == SIZE_MAX)
                        continue;
                a = parent_available(pp, i);
                if (a < 0)
                        continue;
                driver += (uint64_t)a;
                driver_known = true;
        }

        if (model_known && driver_known)
                return clamp_u32(MIN(model, driver));
        if (model_known)
                return clamp_u32(model);
        if (driver_known)
                return clamp_u32(driver);
        return 1; /* nothing known, and the model allows one: it can be tried */
}

uint32_t placement_room(const PlaceCore *c, const VgpuType *t)
{
        const Selection all = {};

        if (!c || !t)
                return 0;
        return room_on(c, &all, t, SIZE_MAX);
}

uint32_t placement_room_for_size(const PlaceCore *c, uint64_t size_mib)
{
        const Selection all = {};
        uint32_t best = 0;

        if (!c || size_mib == 0)
                return 0;

        /* A type offered by several parents (SR-IOV VFs) gives the same room each time: the most
         * room needs no deduplication. */
        for (size_t p = 0; p < core_n_parents(c); p++) {
                const PlaceParent *pp = &c->parents[p];

                for (size_t i = 0; i < parent_n_types(pp); i++) {
                        const VgpuType *t = pp->types[i];

                        if (!t || vgpu_type_size_class(t) != size_mib)
                                continue;
                        best = MAX(best, room_on(c, &all, t, i));
                }
        }
        return best;
}

/* What one eligible core offers for the request. */
typedef struct {
        bool matching;        /* offers a matching type through a selected parent */
        bool conflict;        /* core_capacity_check() says -EXDEV for every matching type */
        const VgpuType *type; /* the matching type with the most room (ties: the first offered) */
        size_t parent, index; /* where that type is first offered */
        uint32_t room;
} CoreEval;

/* Does the i-th type of a parent match? The first selected parent of the core is matched type by type
 * and its answers kept (ref_match, bit i); a later parent listing the same id at the same index (the
 * VFs of a core list the same types in the same order) gets that answer without parsing again. */
static bool offer_matches(const PlaceParent *pp, size_t i, const char *profile, const PlaceParent *ref,
                          uint64_t *ref_match)
{
        bool m;

        if (ref && ref != pp && i < 64 && i < parent_n_types(ref) && same_type(ref->types[i], pp->types[i]))
                return (*ref_match >> i) & 1;
        m = vgpu_type_matches_profile(pp->types[i], profile);
        if (ref == pp && i < 64 && m)
                *ref_match |= UINT64_C(1) << i;
        return m;
}

static void core_evaluate(const PlaceCore *c, const Selection *only, const char *profile, CoreEval *ret)
{
        const PlaceParent *ref = NULL;
        uint64_t ref_match = 0;
        bool all_exdev = true;

        *ret = (CoreEval){};
        for (size_t p = 0; p < core_n_parents(c); p++) {
                const PlaceParent *pp = &c->parents[p];

                if (!parent_selected(pp, only))
                        continue;
                if (!ref)
                        ref = pp;
                for (size_t i = 0; i < parent_n_types(pp); i++) {
                        const VgpuType *t = pp->types[i];
                        uint32_t room;

                        if (!t || !offer_matches(pp, i, profile, ref, &ref_match))
                                continue;
                        /* Types count once per core. Another offer of the best type so far (the VFs
                         * of an SR-IOV core list the same types) changes nothing: skip it cheaply.
                         * Offers of an earlier, weaker type give the same room again and, being
                         * no more than the best, change nothing either. */
                        if (ret->matching && same_type(t, ret->type))
                                continue;

                        room = room_on(c, only, t, i);
                        if (!ret->matching || room > ret->room) {
                                ret->type = t;
                                ret->parent = p;
                                ret->index = i;
                                ret->room = room;
                        }
                        ret->matching = true;
                        if (core_capacity_check(&c->cap, t) != -EXDEV)
                                all_exdev = false;
                }
        }
        ret->conflict = ret->matching && all_exdev;
}

/* Within the chosen core: the first selected parent offering the type with available_instances > 0;
 * when none knows its count, the first offering it at all. */
static void choose_parent(const PlaceCore *c, const Selection *only, const CoreEval *e, size_t *ret_parent,
                          size_t *ret_index)
{
        for (int pass = 0; pass < 2; pass++)
                for (size_t p = 0; p < core_n_parents(c); p++) {
                        const PlaceParent *pp = &c->parents[p];
                        size_t i;
                        int a;

                        if (!parent_selected(pp, only))
                                continue;
                        i = parent_find(pp, e->type, e->index);
                        if (i == SIZE_MAX)
                                continue;
                        a = parent_available(pp, i);
                        if (pass == 0 ? a > 0 : a < 0) {
                                *ret_parent = p;
                                *ret_index = i;
                                return;
                        }
                }

        /* Not reached with room > 0 (a known count of 0 everywhere gives no room); kept total. */
        *ret_parent = e->parent;
        *ret_index = e->index;
}

/* Is core a (evaluated as ea) a better place than core b? */
static bool better(const PlaceCore *a, const CoreEval *ea, const PlaceCore *b, const CoreEval *eb,
                   PlacePolicy policy)
{
        int r;

        if (policy == PLACE_PACK) {
                bool a_used = a->cap.used > 0, b_used = b->cap.used > 0;

                if (a_used != b_used)
                        return a_used;
                if (ea->room != eb->room)
                        return ea->room < eb->room;
        } else {
                if (a->cap.used != b->cap.used)
                        return a->cap.used < b->cap.used;
                if (ea->room != eb->room)
                        return ea->room > eb->room;
        }
        r = strcmp(a->core, b->core);
        return r < 0;
}

bool placement_core_mixed_ok(const PlaceCore *c)
{
        return c->switchable && (c->cap.mixed_size || c->cap.used == 0);
}

static bool core_passes(const PlaceCore *c, const PlaceRequest *req, Selection *ret)
{
        const char *board = c->board ? c->board : c->core;
        bool any = false;

        if (!str_empty(req->board) && strcmp(board, req->board) != 0)
                return false;
        if (req->numa_node >= 0 && c->numa_node != req->numa_node)
                return false;
        if (req->mixed_size && !placement_core_mixed_ok(c))
                return false;

        /* A parent restriction naming the core takes all its parents; else the parent of that name. */
        *ret = (Selection){};
        if (!str_empty(req->parent) && strcmp(c->core, req->parent) != 0)
                ret->only = req->parent;
        /* So does a set naming the core; else the core passes with those of its parents in the set. */
        if (!req->parents || in_set(req->parents, c->core))
                return true;
        ret->set = req->parents;
        for (size_t p = 0; p < core_n_parents(c) && !any; p++)
                any = parent_selected(&c->parents[p], ret);
        return any;
}

static bool input_valid(const PlaceCore *cores, size_t n, const PlaceRequest *req, const PlaceChoice *ret)
{
        const char *s;

        if ((!cores && n > 0) || !req || !ret)
                return false;
        if (req->policy != PLACE_PACK && req->policy != PLACE_SPREAD)
                return false;
        if (!req->profile)
                return false;
        for (s = req->profile; *s && g_ascii_isspace(*s); s++)
                ;
        if (!*s)
                return false; /* empty or only white space: no profile at all */

        for (size_t i = 0; i < n; i++) {
                const PlaceCore *c = &cores[i];

                if (str_empty(c->core) || (!c->parents && c->n_parents > 0))
                        return false;
                for (size_t p = 0; p < c->n_parents; p++)
                        if (str_empty(c->parents[p].name) ||
                            (!c->parents[p].types && c->parents[p].n_types > 0))
                                return false;
        }
        return true;
}

int placement_choose(const PlaceCore *cores, size_t n, const PlaceRequest *req, PlaceChoice *ret)
{
        PlaceChoice choice = {};
        CoreEval best_eval = {};
        Selection best_only = {};
        size_t best = SIZE_MAX;

        if (!input_valid(cores, n, req, ret))
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                const PlaceCore *c = &cores[i];
                Selection only;
                CoreEval e;

                if (!core_passes(c, req, &only))
                        continue;
                core_evaluate(c, &only, req->profile, &e);
                if (!e.matching)
                        continue;

                choice.n_matching++;
                if (e.room == 0) {
                        if (e.conflict)
                                choice.n_conflict++;
                        else
                                choice.n_full++;
                        continue;
                }
                if (best == SIZE_MAX || better(c, &e, &cores[best], &best_eval, req->policy)) {
                        best = i;
                        best_eval = e;
                        best_only = only;
                }
        }

        if (best == SIZE_MAX) {
                *ret = choice;
                if (choice.n_matching == 0)
                        return -ENOENT;
                if (choice.n_conflict == choice.n_matching)
                        return -EXDEV;
                return -ENOSPC;
        }

        choice.core = best;
        choice.room = best_eval.room;
        choose_parent(&cores[best], &best_only, &best_eval, &choice.parent, &choice.type);
        *ret = choice;
        return 0;
}

int placement_policy_from_string(const char *s, PlacePolicy *ret)
{
        if (!s || !ret)
                return -EINVAL;
        if (strcmp(s, "pack") == 0)
                *ret = PLACE_PACK;
        else if (strcmp(s, "spread") == 0)
                *ret = PLACE_SPREAD;
        else
                return -EINVAL;
        return 0;
}

const char *placement_policy_to_string(PlacePolicy p)
{
        switch (p) {
        case PLACE_PACK: return "pack";
        case PLACE_SPREAD: return "spread";
        default: return NULL;
        }
}
