/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mixed-size ("heterogeneous") mode of an NVIDIA vGPU 17+ GPU before a start's first write: a definition
 * with "mixed_size": true, an auto definition of the same GPU or the host configuration asks for it; the
 * driver switches it through NVML only while the GPU holds no vGPU (after SR-IOV enabling, before the
 * first type write), so the first start on an empty GPU switches it, and a start that asks for it on a
 * GPU already running equal-size vGPUs is refused before anything is written. */

#include <errno.h>
#include <inttypes.h>

#include "log.h"
#include "nvml.h"
#include "alloc-host.h"
#include "ops-internal.h"

/* Does an auto definition of a parent on core ask for mixed-size mode? */
static bool core_definitions_ask(Ops *ops, const char *core)
{
        g_autoptr(GPtrArray) defs = inventory_list_definitions(ops->inv);

        for (guint i = 0; i < defs->len; i++) {
                InvDefinition *d = defs->pdata[i];
                InvParent *p;

                if (!d->def->autostart || !d->def->mixed_size)
                        continue;
                p = inventory_get_parent(ops->inv, d->parent);
                if (p && g_strcmp0(p->core, core) == 0)
                        return true;
        }
        return false;
}

/* Read every parent of core again, with the vGPUs on it. */
static void reread_core(Ops *ops, const char *core)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(ops->inv);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                if (g_strcmp0(p->core, core) == 0)
                        g_ptr_array_add(names, g_strdup(p->name)); /* the update may replace p */
        }
        g_ptr_array_add(names, NULL);
        inventory_update(ops->inv, (char **)names->pdata, NULL);
}

/* Why the mode cannot be had, as the start's error (r: -EXDEV or -EBUSY from the model, or the driver's
 * -EBUSY); a warning too, naming the GPU and the definition. */
static int refuse(Ops *ops, Job *j, const InvParent *p, const VgpuType *model, int r, char **ret_message)
{
        g_autoptr(AllocHost) h = alloc_host_new(ops->inv);
        g_autofree char *running = alloc_host_core_running(ops->inv, alloc_host_core_of(h, p->name));

        if (r == -EXDEV)
                r = ops_fail(ret_message, -EXDEV,
                             "GPU %s runs %" PRIu64
                             " MiB vGPUs in equal-size mode (%s) and cannot switch to "
                             "mixed-size mode while they run (the driver answers In use); %s on %s asks for "
                             "mixed-size mode and needs %" PRIu64 " MiB",
                             p->core, p->cap.size_class_mib, running, j->uuid, p->name,
                             model ? vgpu_type_size_class(model) : 0);
        else
                r = ops_fail(
                        ret_message, -EBUSY,
                        "GPU %s runs vGPUs in equal-size mode (%s): the driver switches mixed-size mode "
                        "only on a GPU without vGPUs (NVML: In use), so %s on %s cannot start as "
                        "asked (mixed_size); stop them first, or start it without mixed_size",
                        p->core, running, j->uuid, p->name);
        log_warning("Mixed-size mode cannot be set on GPU %s: %s", p->core, *ret_message);
        return r;
}

/* Switch the empty GPU pf to mixed-size mode: 0, or an error when asked (else a warning and 0: the
 * start goes ahead in equal-size mode). */
static int switch_on(Ops *ops, Job *j, const InvParent *p, bool asked, char **ret_message)
{
        const char *pf = p->core;
        int r = nvml_get_mixed_size(pf);

        if (r == 1) {
                inventory_set_core_mixed(ops->inv, pf, true);
                return 0;
        }
        if (r >= 0 || r == -EOPNOTSUPP)
                r = nvml_mixed_size_capable(pf);
        if (r == 1)
                r = nvml_set_mixed_size(pf, true);
        else if (r == 0)
                r = -EOPNOTSUPP;
        if (r == 0) {
                log_info("Mixed-size vGPU mode switched on for GPU %s (before %s on %s)", pf, j->uuid,
                         p->name);
                inventory_set_core_mixed(ops->inv, pf, true);
                return 0;
        }
        if (!asked) {
                log_warning("Mixed-size mode could not be set on GPU %s before %s: %s; it stays in "
                            "equal-size mode",
                            pf, j->uuid,
                            r == -ENOENT ? "NVML (libnvidia-ml.so.1) cannot be loaded" : g_strerror(-r));
                return 0;
        }
        if (r == -ENOENT)
                return ops_fail(ret_message, -ELIBACC,
                                "Mixed-size mode needs NVML: libnvidia-ml.so.1 cannot be loaded, so GPU %s "
                                "cannot be switched for %s on %s (nothing was changed)",
                                pf, j->uuid, p->name);
        if (r == -EOPNOTSUPP)
                return ops_fail(ret_message, -EOPNOTSUPP,
                                "GPU %s does not support mixed-size mode (NVML: no heterogeneous time-slice "
                                "sizes); %s on %s asks for it (nothing was changed)",
                                pf, j->uuid, p->name);
        if (r == -EBUSY)
                return -EBUSY; /* the caller reads the GPU again and says why */
        return ops_fail(ret_message, -EIO, "NVML cannot switch GPU %s to mixed-size mode for %s: %s", pf,
                        j->uuid, g_strerror(-r));
}

void ops_mixed_size_learn(Ops *ops)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(ops->inv);
        /* copies: recording a GPU recomputes the inventory */
        g_autoptr(GHashTable) asked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) defs = inventory_list_definitions(ops->inv);

        for (guint i = 0; i < defs->len; i++) {
                InvDefinition *d = defs->pdata[i];
                InvParent *p = d->def->mixed_size ? inventory_get_parent(ops->inv, d->parent) : NULL;
                if (p && p->core)
                        g_hash_table_add(asked, g_strdup(p->core));
        }
        for (guint i = 0; i < parents->len; i++) {
                InvParent *p = parents->pdata[i];
                g_autofree char *core = g_strdup(p->core);

                if (!p->sys->physfn || !p->sys->backend->class->own_store || !core ||
                    g_hash_table_contains(done, core) || inventory_core_mixed(ops->inv, core) ||
                    !(g_hash_table_contains(asked, core) || inventory_mixed_size_wanted(ops->inv, core)))
                        continue;
                g_hash_table_add(done, g_strdup(core)); /* NVML is asked once per GPU */
                if (nvml_get_mixed_size(core) == 1) {
                        log_info("GPU %s is in mixed-size mode", core);
                        inventory_set_core_mixed(ops->inv, core, true);
                }
        }
}

int ops_mixed_size_prepare(Ops *ops, Job *j, const InvParent *p, const CoreCapacity *cap,
                           const VgpuType *model, char **ret_message)
{
        bool asked = j->def && j->def->mixed_size;
        bool wanted;
        int r;

        if (!p->sys->physfn || !p->sys->backend->class->own_store || !p->core)
                return 0; /* not a VF vGPU: mdev parents have no such step */
        wanted = asked || inventory_mixed_size_wanted(ops->inv, p->core) ||
                 core_definitions_ask(ops, p->core);
        r = core_mixed_size_step(cap, model, asked, wanted);
        if (r == CORE_MIXED_GO)
                return 0;
        if (r == CORE_MIXED_SWITCH) {
                r = switch_on(ops, j, p, asked, ret_message);
                if (r != -EBUSY)
                        return r < 0 ? r : 1;
                /* In use: a vGPU the inventory has not seen (another tool made it) */
                reread_core(ops, p->core);
                p = inventory_get_parent(ops->inv, j->parent);
                if (!p)
                        return ops_fail(ret_message, -ENOENT, "%s went away", j->parent);
                r = core_mixed_size_step(&p->cap, model, true, true);
                return refuse(ops, j, p, model, r == -EXDEV ? -EXDEV : -EBUSY, ret_message);
        }
        /* the model sees equal-size vGPUs; the driver may know better (a full mixed GPU lists nothing) */
        if (nvml_get_mixed_size(p->core) == 1) {
                inventory_set_core_mixed(ops->inv, p->core, true);
                return 1;
        }
        return refuse(ops, j, p, model, r, ret_message);
}
