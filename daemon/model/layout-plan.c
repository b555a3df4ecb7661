/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A layout's plan (layout-plan.h): first what each core should hold (the wish), then per core and type
 * what stays, goes and comes, then whether the result fits by the size rule, the types' limits and
 * the driver's counts. Every problem is collected, so that a refusal lists them all. */

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "layout-plan.h"

typedef struct {
        GString *why;
        int r; /* the first problem's errno */
} Problems;

static void problem(Problems *p, int r, const char *format, ...) _printf_(3, 4);
static void problem(Problems *p, int r, const char *format, ...)
{
        va_list ap;

        if (p->why->len > 0)
                g_string_append(p->why, "; ");
        va_start(ap, format);
        g_string_append_vprintf(p->why, format, ap);
        va_end(ap);
        if (p->r == 0)
                p->r = r;
}

/* "GPU 2 (0000:65:00.0)", or the core alone when vgpu-device-manager gives it no index. */
static char *core_label(const LayoutCore *c)
{
        return c->index >= 0 ? g_strdup_printf("GPU %d (%s)", c->index, c->core) : g_strdup(c->core);
}

static const char *type_label(const VgpuType *t)
{
        return t->profile ? t->profile : t->id ? t->id : t->name ? t->name : "?";
}

static int find_type(const LayoutCore *c, const char *key)
{
        for (size_t i = 0; i < c->n_types; i++)
                if (c->types[i] && vgpu_type_matches_profile(c->types[i], key))
                        return (int)i;
        return -1;
}

static bool same_type(const VgpuType *a, const VgpuType *b)
{
        return a && b && (a == b || (a->id && b->id && g_str_equal(a->id, b->id)));
}

typedef struct {
        const LayoutEntry *entry; /* the entry that selected the core, NULL: none */
        uint32_t *want;           /* per offered type */
} Wish;

/* One entry's wish on every core it selects. */
static void wish_entry(const LayoutEntry *e, const LayoutCore *cores, size_t n, Wish *w, Problems *p)
{
        bool explicit = !e->all_devices || e->filters->len > 0;
        g_autofree bool *found = g_new0(bool, e->vgpus->len + 1);
        g_autofree int *ti = g_new0(int, e->vgpus->len + 1);
        size_t selected = 0;

        for (size_t c = 0; c < n; c++) {
                const LayoutCore *core = &cores[c];
                g_autofree char *label = NULL;
                guint n_found = 0;

                if (!layout_entry_selects(e, core->index, core->vendor, core->device, core->subsystem_vendor,
                                          core->subsystem_device))
                        continue;
                for (guint k = 0; k < e->vgpus->len; k++) {
                        ti[k] = find_type(core, g_array_index(e->vgpus, LayoutVgpu, k).type);
                        n_found += ti[k] >= 0;
                }
                /* "devices: all" on a host with several models: a GPU offering none of the types is
                 * not meant */
                if (!explicit && e->vgpus->len > 0 && n_found == 0)
                        continue;
                selected++;
                label = core_label(core);
                if (w[c].entry) {
                        problem(p, -EINVAL, "%s is selected by the entries at lines %u and %u", label,
                                w[c].entry->line, e->line);
                        continue;
                }
                w[c].entry = e;
                for (guint k = 0; k < e->vgpus->len; k++) {
                        const LayoutVgpu *v = &g_array_index(e->vgpus, LayoutVgpu, k);

                        if (ti[k] < 0) {
                                problem(p, -EINVAL, "%u:%u: %s offers no type '%s'", v->line, v->column,
                                        label, v->type);
                                continue;
                        }
                        found[k] = true;
                        w[c].want[ti[k]] += v->count;
                }
        }
        for (guint i = 0; i < e->indexes->len; i++) {
                guint index = g_array_index(e->indexes, guint, i);
                bool seen = false;

                for (size_t c = 0; c < n && !seen; c++)
                        seen = cores[c].index == (int)index && w[c].entry == e;
                if (!seen)
                        problem(p, -EINVAL, "%u:%u: no GPU with index %u%s", e->line, e->column, index,
                                e->filters->len > 0 ? " matches the device-filter" : " on this host");
        }
        if (selected == 0 && e->indexes->len == 0)
                problem(p, -EINVAL, "%u:%u: %s", e->line, e->column,
                        e->filters->len > 0 ? "no GPU matches the device-filter"
                                            : "no GPU offers any of the entry's types");
        else
                for (guint k = 0; k < e->vgpus->len; k++) {
                        const LayoutVgpu *v = &g_array_index(e->vgpus, LayoutVgpu, k);

                        if (!found[k] && selected > 0 && !explicit)
                                problem(p, -EINVAL, "%u:%u: no GPU offers '%s'", v->line, v->column,
                                        v->type);
                }
}

void layout_plan_free(LayoutPlan *p)
{
        if (!p)
                return;
        g_ptr_array_unref(p->keep);
        g_ptr_array_unref(p->remove);
        g_ptr_array_unref(p->create);
        g_free(p);
}

static void removal_free(LayoutRemoval *r)
{
        g_free(r->uuid);
        g_free(r->core);
        g_free(r->type_id);
        g_free(r->held_by);
        g_free(r);
}

static void creation_free(LayoutCreation *c)
{
        g_free(c->core);
        g_free(c->type_id);
        g_free(c->type_name);
        g_free(c);
}

/* Held devices first, then by UUID: the ones kept are the held ones. */
static int device_order(gconstpointer a, gconstpointer b)
{
        const LayoutDevice *x = *(const LayoutDevice *const *)a, *y = *(const LayoutDevice *const *)b;

        if ((x->held_by != NULL) != (y->held_by != NULL))
                return x->held_by ? -1 : 1;
        return strcmp(x->uuid, y->uuid);
}

static void plan_remove(LayoutPlan *plan, const LayoutCore *c, const LayoutDevice *d, bool force,
                        Problems *p)
{
        LayoutRemoval *r = g_new0(LayoutRemoval, 1);

        r->uuid = g_strdup(d->uuid);
        r->core = g_strdup(c->core);
        r->type_id = g_strdup(d->type && d->type->id ? d->type->id : "");
        r->held_by = g_strdup(d->held_by);
        g_ptr_array_add(plan->remove, r);
        if (d->held_by && !force)
                problem(p, -EBUSY, "%s (%s on %s) is in use by %s", d->uuid,
                        d->type ? type_label(d->type) : "?", c->core, d->held_by);
}

/* What stays, goes and comes on one core; kept[] and made[] count per offered type. */
static void plan_core(LayoutPlan *plan, const LayoutCore *c, const uint32_t *want, bool force,
                      uint32_t *kept, uint32_t *made, Problems *p)
{
        g_autoptr(GPtrArray) mine = g_ptr_array_new();
        g_autofree bool *placed = NULL;

        for (size_t i = 0; i < c->n_devices; i++)
                if (c->devices[i].managed)
                        g_ptr_array_add(mine, (gpointer)&c->devices[i]);
        g_ptr_array_sort(mine, device_order);
        placed = g_new0(bool, mine->len + 1);
        for (size_t t = 0; t < c->n_types; t++) {
                for (guint i = 0; i < mine->len; i++) {
                        const LayoutDevice *d = mine->pdata[i];

                        if (placed[i] || !same_type(d->type, c->types[t]))
                                continue;
                        placed[i] = true;
                        if (kept[t] < (want ? want[t] : 0)) {
                                kept[t]++;
                                g_ptr_array_add(plan->keep, g_strdup(d->uuid));
                        } else
                                plan_remove(plan, c, d, force, p);
                }
                made[t] = (want ? want[t] : 0) - kept[t];
                if (made[t] > 0) {
                        LayoutCreation *m = g_new0(LayoutCreation, 1);

                        m->core = g_strdup(c->core);
                        m->index = c->index;
                        m->type_id = g_strdup(c->types[t]->id ? c->types[t]->id : "");
                        m->type_name = g_strdup(type_label(c->types[t]));
                        m->count = made[t];
                        g_ptr_array_add(plan->create, m);
                        plan->n_create += made[t];
                }
        }
        for (guint i = 0; i < mine->len; i++) /* a type the core no longer offers, or unknown */
                if (!placed[i])
                        plan_remove(plan, c, mine->pdata[i], force, p);
}

static gint size_order(gconstpointer a, gconstpointer b)
{
        gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

        return x < y ? -1 : x > y;
}

/* Does the core's final state fit: one size class unless mixed, the types' max_instances, and the
 * driver's counts where nothing on the core is removed? */
static void check_core(const LayoutCore *c, const uint32_t *kept, const uint32_t *made, guint n_removed,
                       Problems *p)
{
        g_autoptr(GHashTable) per_size = g_hash_table_new(g_int64_hash, g_int64_equal); /* size -> count */
        g_autoptr(GArray) sizes = g_array_new(false, false, sizeof(gint64));
        g_autofree char *label = core_label(c);

        /* final devices: everyone else's, plus the kept and the made */
        for (size_t i = 0; i < c->n_devices; i++)
                if (!c->devices[i].managed && c->devices[i].type) {
                        gint64 s = (gint64)vgpu_type_size_class(c->devices[i].type);
                        if (s > 0)
                                g_array_append_val(sizes, s);
                }
        for (size_t t = 0; t < c->n_types; t++) {
                gint64 s = (gint64)vgpu_type_size_class(c->types[t]);
                for (uint32_t k = 0; s > 0 && k < kept[t] + made[t]; k++)
                        g_array_append_val(sizes, s);
        }
        for (guint i = 0; i < sizes->len; i++) {
                gint64 *s = &g_array_index(sizes, gint64, i);
                guint n = GPOINTER_TO_UINT(g_hash_table_lookup(per_size, s));
                g_hash_table_insert(per_size, s, GUINT_TO_POINTER(n + 1));
        }
        if (!c->mixed_size && g_hash_table_size(per_size) > 1) {
                g_autoptr(GString) list = g_string_new(NULL);
                g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(per_size), size_order);

                for (GList *k = keys; k; k = k->next)
                        g_string_append_printf(list, "%s%u of %" G_GINT64_FORMAT " MiB",
                                               list->len ? ", " : "",
                                               GPOINTER_TO_UINT(g_hash_table_lookup(per_size, k->data)),
                                               *(gint64 *)k->data);
                problem(p, -EXDEV, "%s would run vGPUs of %u sizes (%s) and is not in mixed-size mode",
                        label, g_hash_table_size(per_size), list->str);
                return;
        }
        for (size_t t = 0; t < c->n_types; t++) {
                const VgpuType *ty = c->types[t];
                gint64 s = (gint64)vgpu_type_size_class(ty);
                guint n = s > 0 ? GPOINTER_TO_UINT(g_hash_table_lookup(per_size, &s)) : 0;

                if (kept[t] + made[t] == 0)
                        continue;
                if (!c->mixed_size && s > 0 && ty->max_instances > 0 && n > ty->max_instances)
                        problem(p, -ENOSPC,
                                "%s would run %u vGPUs of %" G_GINT64_FORMAT " MiB, and %s holds at most %u",
                                label, n, s, type_label(ty), ty->max_instances);
                else if (made[t] > 0 && c->available && c->available[t] >= 0 &&
                         (n_removed == 0 ? made[t] > (uint32_t)c->available[t]
                                         : s == 0 && made[t] > (uint32_t)c->available[t] + n_removed))
                        problem(p, -ENOSPC, "%s has room for %d more %s, the layout needs %u", label,
                                c->available[t], type_label(ty), made[t]);
        }
}

int layout_plan(const LayoutConfig *config, const LayoutCore *cores, size_t n, bool force, LayoutPlan **ret,
                char **ret_why)
{
        g_autoptr(LayoutPlan) plan = g_new0(LayoutPlan, 1);
        g_autoptr(GString) why = g_string_new(NULL);
        Problems p = {.why = why};
        g_autofree Wish *w = g_new0(Wish, n + 1);
        bool wished;

        if (!config || (n > 0 && !cores) || !ret)
                return -EINVAL;
        plan->keep = g_ptr_array_new_with_free_func(g_free);
        plan->remove = g_ptr_array_new_with_free_func((GDestroyNotify)removal_free);
        plan->create = g_ptr_array_new_with_free_func((GDestroyNotify)creation_free);
        for (size_t c = 0; c < n; c++)
                w[c].want = g_new0(uint32_t, cores[c].n_types + 1);
        for (guint e = 0; e < config->entries->len; e++)
                wish_entry(config->entries->pdata[e], cores, n, w, &p);
        wished = p.r == 0; /* a core's plan needs every core's wish */
        for (size_t c = 0; c < n && wished; c++) {
                g_autofree uint32_t *kept = g_new0(uint32_t, cores[c].n_types + 1);
                g_autofree uint32_t *made = g_new0(uint32_t, cores[c].n_types + 1);
                guint removed = plan->remove->len;

                plan_core(plan, &cores[c], w[c].want, force, kept, made, &p);
                check_core(&cores[c], kept, made, plan->remove->len - removed, &p);
        }
        for (size_t c = 0; c < n; c++)
                g_free(w[c].want);
        if (p.r < 0) {
                if (ret_why)
                        *ret_why = g_string_free(TAKE_PTR(why), false);
                return p.r;
        }
        *ret = TAKE_PTR(plan);
        return 0;
}

bool layout_plan_changes(const LayoutPlan *p)
{
        return p && (p->remove->len > 0 || p->create->len > 0);
}
