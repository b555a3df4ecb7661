/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MIG-backed vGPU types on NVIDIA VF hosts: GPU instances through NVML (see nvidia-mig.h). */

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/stat.h>

#include "macro.h"
#include "log.h"
#include "nvml.h"
#include "sysfs-util.h"
#include "sysfs-nvidia-vf.h"
#include "vgpu-type.h"
#include "nvidia-mig.h"

#define CREATED_FILE    "nvidia-vf-gpu-instances.conf"
#define VFS_KEY         "vfs" /* [<PF>] vfs=<vfs_identity()>: the VFs its GIs were made under */
#define TYPE_PREFIX     "nvidia-"
#define PROFILE_UNKNOWN G_MAXUINT /* MIG-backed by its name, NVML cannot say more */

/* One VF of a GPU as its nvidia/ files read now. */
typedef struct {
        char *addr;
        int type;  /* current_vgpu_type, 0 none */
        int gi_id; /* gpu_instance_id, -1 none */
} MigVf;

/* What was read about one GPU (PF), valid while its VFs' vGPUs stay as they were (signature). */
typedef struct {
        int mode;         /* 1 on, 0 off; -ENOENT without NVML */
        char *signature;  /* the VFs' "<type>/<gi>" the room was counted from */
        GHashTable *room; /* type id "nvidia-1561" -> GINT_TO_POINTER(room + 1) */
        GPtrArray *empty; /* addresses of the empty VFs, in address order */
} MigGpu;

struct NvidiaMig {
        char *state_dir;
        GKeyFile *created;   /* [<PF>] <GI id>=<profile id>: the GIs vgpud made */
        GHashTable *gpus;    /* PF -> MigGpu */
        GHashTable *models;  /* "<model key> <type id>" -> GINT_TO_POINTER(profile id + 1); 0: time-sliced;
                                -1: MIG-backed by its name, NVML could not say (until the next full scan) */
        GHashTable *mig_ids; /* type ids ("nvidia-1561") seen MIG-backed */
};

static void mig_vf_clear(gpointer p)
{
        g_free(((MigVf *)p)->addr);
}

static void mig_gpu_free(MigGpu *g)
{
        g_free(g->signature);
        g_hash_table_unref(g->room);
        g_ptr_array_unref(g->empty);
        g_free(g);
}

NvidiaMig *nvidia_mig_new(const char *state_dir)
{
        NvidiaMig *m = g_new0(NvidiaMig, 1);

        m->state_dir = g_strdup(state_dir);
        m->created = nvidia_vf_state_load(state_dir, CREATED_FILE);
        m->gpus = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)mig_gpu_free);
        m->models = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        m->mig_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        return m;
}

void nvidia_mig_free(NvidiaMig *m)
{
        if (!m)
                return;
        g_free(m->state_dir);
        g_key_file_unref(m->created);
        g_hash_table_unref(m->gpus);
        g_hash_table_unref(m->models);
        g_hash_table_unref(m->mig_ids);
        g_free(m);
}

static gboolean nvml_could_not_say(gpointer key, gpointer value, gpointer user_data)
{
        return GPOINTER_TO_INT(value) < 0;
}

void nvidia_mig_forget(NvidiaMig *m, const char *pf)
{
        if (pf)
                g_hash_table_remove(m->gpus, pf);
        else {
                g_hash_table_remove_all(m->gpus);
                g_hash_table_foreach_remove(m->models, nvml_could_not_say, NULL);
        }
}

/* Which VFs the PF has now: the inode and change time of its first VF's directory, which a rebind (the
 * VFs removed and added again, wiping every GI) makes anew; NULL without VFs. */
static char *vfs_identity(Backend *b, const char *pf)
{
        g_autofree char *vf0 = backend_path(b, "bus/pci/devices", pf, "virtfn0", NULL);
        struct stat st;

        if (stat(vf0, &st) < 0)
                return NULL;
        return g_strdup_printf("%ju.%jd.%ld", (uintmax_t)st.st_ino, (intmax_t)st.st_ctim.tv_sec,
                               st.st_ctim.tv_nsec);
}

/* Whether the record of pf's GIs is from the VFs it has now; a stale one (a rebind since, or no VFs)
 * is forgotten: its GIs are gone, a GI of the same id now is not vgpud's. */
static bool records_current(NvidiaMig *m, Backend *b, const char *pf)
{
        g_autofree char *now = NULL, *then = NULL;

        if (!g_key_file_has_group(m->created, pf))
                return true;
        now = vfs_identity(b, pf);
        then = g_key_file_get_string(m->created, pf, VFS_KEY, NULL);
        if (now && g_strcmp0(now, then) == 0)
                return true;
        log_info("%s: its VFs were enabled again since vgpud made its GPU instances: none of them is left",
                 pf);
        g_key_file_remove_group(m->created, pf, NULL);
        (void)nvidia_vf_state_save(m->state_dir, CREATED_FILE, m->created, false);
        return false;
}

/* Record (profile >= 0, with the VFs it is made under) or forget GI gi_id of pf. */
static void created_set(NvidiaMig *m, Backend *b, const char *pf, int gi_id, int profile)
{
        char key[16];

        g_snprintf(key, sizeof(key), "%d", gi_id);
        if (profile >= 0) {
                g_autofree char *vfs = vfs_identity(b, pf);
                if (!records_current(m, b, pf) || !g_key_file_has_group(m->created, pf))
                        g_key_file_set_string(m->created, pf, VFS_KEY, vfs ? vfs : "");
                g_key_file_set_integer(m->created, pf, key, profile);
        } else if (!g_key_file_remove_key(m->created, pf, key, NULL))
                return;
        (void)nvidia_vf_state_save(m->state_dir, CREATED_FILE, m->created, false);
}

static gint compare_vf_addr(gconstpointer a, gconstpointer b)
{
        return strcmp(((const MigVf *)a)->addr, ((const MigVf *)b)->addr);
}

/* The PF's VFs (virtfnN links) with their vGPUs, sorted by address. */
static GArray *read_vfs(const char *pf_dir)
{
        GArray *vfs = g_array_new(FALSE, TRUE, sizeof(MigVf));
        _cleanup_closedir_ DIR *d = opendir(pf_dir);
        struct dirent *de;

        g_array_set_clear_func(vfs, mig_vf_clear);
        while (d && (de = readdir(d))) {
                g_autofree char *addr = NULL, *nvidia = NULL;
                MigVf vf;

                if (!g_str_has_prefix(de->d_name, "virtfn") ||
                    !(addr = sysfs_link_basename(pf_dir, de->d_name)))
                        continue;
                nvidia = g_build_filename(pf_dir, de->d_name, "nvidia", NULL);
                vf.type = sysfs_read_int(nvidia, "current_vgpu_type", 0);
                vf.gi_id = vf.type > 0 ? sysfs_read_int(nvidia, "gpu_instance_id", -1) : -1;
                vf.addr = g_steal_pointer(&addr);
                g_array_append_val(vfs, vf);
        }
        g_array_sort(vfs, compare_vf_addr);
        return vfs;
}

/* The GIs vgpud made on pf that no vGPU sits on: left by a crash between making one and its vGPU. */
static void destroy_leftovers(NvidiaMig *m, Backend *b, const char *pf)
{
        g_autofree char *pf_dir = backend_path(b, "bus/pci/devices", pf, NULL);
        g_autoptr(GArray) vfs = read_vfs(pf_dir);
        g_auto(GStrv) ids = g_key_file_get_keys(m->created, pf, NULL, NULL);

        for (char **id = ids; id && *id; id++) {
                long gi;
                bool used = false;

                if (!sysfs_parse_long(*id, 10, &gi) || gi < 0 || gi > G_MAXINT)
                        continue;
                for (guint k = 0; k < vfs->len; k++)
                        used |= g_array_index(vfs, MigVf, k).gi_id == gi;
                if (!used) {
                        log_info("GPU instance %ld of %s, made by vgpud, holds no vGPU", gi, pf);
                        nvidia_mig_undo(m, pf, (int)gi);
                }
        }
}

void nvidia_mig_prune(NvidiaMig *m, Backend *b)
{
        g_auto(GStrv) pfs = g_key_file_get_groups(m->created, NULL);
        bool changed = false;

        for (char **pf = pfs; pf && *pf; pf++) {
                g_autofree char *vf0 = backend_path(b, "bus/pci/devices", *pf, "virtfn0", NULL);
                if (access(vf0, F_OK) == 0) {
                        if (records_current(m, b, *pf))
                                destroy_leftovers(m, b, *pf);
                        continue;
                }
                /* no VFs: a reboot or SR-IOV disabled; the rebind that brings them back wipes the GIs */
                changed |= g_key_file_remove_group(m->created, *pf, NULL);
        }
        if (changed)
                (void)nvidia_vf_state_save(m->state_dir, CREATED_FILE, m->created, false);
}

/* The profile of a type of a model: >= 0 MIG-backed (NVML's id), -ENODATA time-sliced, -ENOENT
 * MIG-backed by its name but NVML cannot say more. Asked once per model and type. */
static int type_profile(NvidiaMig *m, const char *pf, const char *model_key, const SysfsType *t)
{
        g_autofree char *key = g_strdup_printf("%s %s", model_key, t->id);
        g_autoptr(VgpuType) v = NULL;
        gpointer known;
        long id;
        int r;

        /* every refresh of every VF asks: the answer per model and type is kept (once the type has a name)
         */
        if (g_hash_table_lookup_extended(m->models, key, NULL, &known))
                return GPOINTER_TO_INT(known) > 0    ? GPOINTER_TO_INT(known) - 1
                       : GPOINTER_TO_INT(known) == 0 ? -ENODATA
                                                     : -ENOENT;
        v = vgpu_type_new(t->id, t->name, NULL);
        if (v->mig_slices == 0) {
                /* NVIDIA's MIG-backed names carry the slices: "DC-1-24Q", "H100-1-10C" */
                if (t->name)
                        g_hash_table_insert(m->models, g_steal_pointer(&key), GINT_TO_POINTER(0));
                return -ENODATA;
        }
        if (!sysfs_parse_long(t->id + strlen(TYPE_PREFIX), 10, &id) || id <= 0 || id > G_MAXINT)
                return -ENODATA;
        r = nvml_type_gpu_instance_profile(pf, (int)id);
        /* NVML cannot tell (-1): asked again after the next full scan */
        g_hash_table_insert(m->models, g_steal_pointer(&key),
                            GINT_TO_POINTER(r >= 0          ? r + 1
                                            : r == -ENODATA ? 0
                                                            : -1));
        return r == -ENODATA ? -ENODATA : r >= 0 ? r : -ENOENT;
}

static uint64_t type_size_mib(const SysfsType *t)
{
        g_autoptr(VgpuType) v = vgpu_type_new(t->id, t->name, NULL);
        return v->framebuffer_mib;
}

/* The framebuffer size of a type id (number) among the VF's types (the catalogue's names); 0 unknown. */
static uint64_t size_of_id(const SysfsParent *p, int id)
{
        g_autofree char *want = g_strdup_printf(TYPE_PREFIX "%d", id);

        for (guint i = 0; i < p->types->len; i++) {
                const SysfsType *t = p->types->pdata[i];
                if (g_str_equal(t->id, want))
                        return type_size_mib(t);
        }
        return 0;
}

/* What NVML says about one GPU instance profile of a GPU now: read once per profile per look. */
typedef struct {
        NvmlGpuInstanceProfile info;
        GArray *ids;   /* its GPU instances (unsigned int) */
        int remaining; /* how many more NVML can create */
} ProfileNow;

static void profile_now_free(ProfileNow *pn)
{
        if (!pn)
                return;
        g_array_unref(pn->ids);
        g_free(pn);
}

/* The profile's entry in looked (profile id -> ProfileNow), read from NVML the first time; NULL when
 * NVML cannot tell. */
static const ProfileNow *profile_now(GHashTable *looked, const char *pf, unsigned int profile)
{
        ProfileNow *pn = g_hash_table_lookup(looked, GUINT_TO_POINTER(profile));

        if (pn || g_hash_table_contains(looked, GUINT_TO_POINTER(profile)))
                return pn;
        pn = g_new0(ProfileNow, 1);
        pn->ids = g_array_new(FALSE, FALSE, sizeof(unsigned int));
        if (nvml_gpu_instance_profile(pf, profile, &pn->info) < 0 ||
            nvml_gpu_instances(pf, profile, pn->ids) < 0) {
                profile_now_free(pn);
                pn = NULL;
        } else
                pn->remaining = MAX(nvml_gpu_instance_remaining(pf, profile), 0);
        g_hash_table_insert(looked, GUINT_TO_POINTER(profile), pn);
        return pn;
}

/* How many more vGPUs of type t (profile, size) the GPU can take: room in its GIs of the profile that
 * hold only t's size, plus a GI's worth per GI NVML can still create. */
static int room_for(const ProfileNow *pn, const SysfsParent *p, const SysfsType *t, GArray *vfs)
{
        uint64_t size = type_size_mib(t);
        int per_gi, room = 0;

        if (!pn)
                return 0;
        /* a 1g.24gb GI has 23.62 GiB: two 12 GB vGPUs, one of 24 GB (inference: the nominal size counts) */
        per_gi = size > 0 ? (int)MAX(1, MIN((pn->info.memory_mib + size / 2) / size, 64)) : 1;
        for (guint i = 0; i < pn->ids->len; i++) {
                int gi = (int)g_array_index(pn->ids, unsigned int, i), on = 0;
                bool other = false;

                for (guint k = 0; k < vfs->len; k++) {
                        const MigVf *vf = &g_array_index(vfs, MigVf, k);
                        if (vf->gi_id != gi)
                                continue;
                        on++;
                        other |= size_of_id(p, vf->type) != size; /* a GI holds one framebuffer size */
                }
                if (!other && on < per_gi)
                        room += per_gi - on;
        }
        return room + pn->remaining * per_gi;
}

/* Read MIG mode and the room of every MIG-backed type of p's GPU. */
static MigGpu *mig_gpu_read(const char *pf, const SysfsParent *p, GArray *vfs, char *signature)
{
        g_autoptr(GHashTable) looked =
                g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)profile_now_free);
        MigGpu *g = g_new0(MigGpu, 1);

        g->signature = signature;
        g->room = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g->empty = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; k < vfs->len; k++)
                if (g_array_index(vfs, MigVf, k).type <= 0)
                        g_ptr_array_add(g->empty, g_strdup(g_array_index(vfs, MigVf, k).addr));
        g->mode = nvml_get_mig_mode(pf);
        if (g->mode == -EOPNOTSUPP)
                g->mode = 0;
        for (guint i = 0; g->mode == 1 && i < p->types->len; i++) {
                const SysfsType *t = p->types->pdata[i];
                if (t->mig_backed && t->gpu_instance_profile != PROFILE_UNKNOWN) {
                        const ProfileNow *pn = profile_now(looked, pf, t->gpu_instance_profile);
                        g_hash_table_insert(g->room, g_strdup(t->id),
                                            GINT_TO_POINTER(room_for(pn, p, t, vfs) + 1));
                }
        }
        log_debug("%s: MIG mode %d, %u empty VFs", pf, g->mode, g->empty->len);
        return g;
}

static char *vfs_signature(GArray *vfs)
{
        GString *s = g_string_new(NULL);

        for (guint k = 0; k < vfs->len; k++) {
                const MigVf *vf = &g_array_index(vfs, MigVf, k);
                g_string_append_printf(s, "%s=%d/%d;", vf->addr, vf->type, vf->gi_id);
        }
        return g_string_free(s, FALSE);
}

/* Mark the MIG-backed types of p; true when it has any. */
static bool mark_types(NvidiaMig *m, const SysfsParent *p, const char *model_key)
{
        bool any = false;

        for (guint i = 0; i < p->types->len; i++) {
                SysfsType *t = p->types->pdata[i];
                int profile = type_profile(m, p->physfn, model_key, t);

                if (profile == -ENODATA)
                        continue;
                any = true;
                t->mig_backed = true;
                t->gpu_instance_profile = profile >= 0 ? (unsigned int)profile : PROFILE_UNKNOWN;
                g_hash_table_add(m->mig_ids, g_strdup(t->id));
        }
        return any;
}

void nvidia_mig_adjust_types(NvidiaMig *m, Backend *b, const SysfsParent *p, const char *model_key)
{
        g_autofree char *pf_dir = NULL;
        g_autoptr(GArray) vfs = NULL;
        g_autofree char *signature = NULL;
        MigGpu *g;
        int index = -1;

        if (!p->physfn || !mark_types(m, p, model_key))
                return;
        pf_dir = g_build_filename(p->syspath, "physfn", NULL);
        vfs = read_vfs(pf_dir);
        signature = vfs_signature(vfs);
        g = g_hash_table_lookup(m->gpus, p->physfn);
        if (!g || !g_str_equal(g->signature, signature)) {
                g = mig_gpu_read(p->physfn, p, vfs, g_steal_pointer(&signature));
                g_hash_table_insert(m->gpus, g_strdup(p->physfn), g);
        }
        for (guint k = 0; k < g->empty->len; k++)
                if (g_str_equal(g->empty->pdata[k], p->name))
                        index = (int)k;
        for (guint i = 0; i < p->types->len; i++) {
                SysfsType *t = p->types->pdata[i];
                int room = GPOINTER_TO_INT(g_hash_table_lookup(g->room, t->id)) - 1;

                if (!t->mig_backed)
                        continue;
                if (g->mode == -ENOENT || t->gpu_instance_profile == PROFILE_UNKNOWN) {
                        /* without NVML: what the driver lists (a GPU instance with room exists) */
                        if (t->available_instances <= 0)
                                t->refusal = -ELIBACC;
                } else if (g->mode != 1) {
                        t->refusal = -EMEDIUMTYPE;
                        t->available_instances = 0;
                } else /* the room goes to the first empty VFs: their counts add up to the GPU's */
                        t->available_instances = index >= 0 && index < room ? 1 : 0;
        }
}

bool nvidia_mig_type_is_mig(NvidiaMig *m, const char *type_id)
{
        return type_id && g_hash_table_contains(m->mig_ids, type_id);
}

/* Does the driver list type t on VF p now, i.e. does a GI with room for it exist? */
static bool listed_now(const SysfsParent *p, const SysfsType *t)
{
        g_autofree char *nvidia = g_build_filename(p->syspath, "nvidia", NULL);
        g_autofree char *text = sysfs_read_attr(nvidia, "creatable_vgpu_types");
        g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

        nvidia_vf_parse_creatable(text, ids, names);
        for (guint i = 0; i < ids->len; i++) {
                g_autofree char *id = g_strdup_printf(TYPE_PREFIX "%d", g_array_index(ids, int, i));
                if (g_str_equal(id, t->id))
                        return true;
        }
        return false;
}

int nvidia_mig_prepare(NvidiaMig *m, Backend *b, const SysfsParent *p, const SysfsType *t, int *ret_created)
{
        int mode, gi;

        *ret_created = -1;
        if (!t->mig_backed)
                return 0;
        mode = p->physfn ? nvml_get_mig_mode(p->physfn) : -ENODEV;
        if (mode == 0 || mode == -EOPNOTSUPP)
                return -EMEDIUMTYPE;
        if (mode < 0 && mode != -ENOENT)
                return mode;
        if (listed_now(p, t))
                return 0; /* the driver has a GI with room: it places the vGPU there */
        if (mode == -ENOENT || t->gpu_instance_profile == PROFILE_UNKNOWN)
                return -ELIBACC; /* a GI would have to be made, and only NVML makes them */
        gi = nvml_create_gpu_instance(p->physfn, t->gpu_instance_profile);
        if (gi == -EOPNOTSUPP)
                return -EMEDIUMTYPE;
        if (gi < 0)
                return gi;
        log_info("Created GPU instance %d (profile %u) on %s for %s", gi, t->gpu_instance_profile, p->physfn,
                 t->name ? t->name : t->id);
        created_set(m, b, p->physfn, gi, (int)t->gpu_instance_profile);
        nvidia_mig_forget(m, p->physfn);
        *ret_created = gi;
        return 0;
}

void nvidia_mig_undo(NvidiaMig *m, const char *pf, int created)
{
        int r;

        if (created < 0)
                return;
        r = nvml_destroy_gpu_instance(pf, (unsigned int)created);
        if (r < 0 && r != -ENOENT) {
                log_warning_errno(r, "Cannot destroy GPU instance %d of %s again: %m", created, pf);
                return;
        }
        log_info("Destroyed GPU instance %d of %s (vgpud made it)", created, pf);
        created_set(m, NULL, pf, created, -1);
        nvidia_mig_forget(m, pf);
}

void nvidia_mig_vgpu_gone(NvidiaMig *m, Backend *b, const char *pf, int gi_id)
{
        g_autofree char *pf_dir = NULL;
        g_autoptr(GArray) vfs = NULL;
        char key[16];

        nvidia_mig_forget(m, pf);
        g_snprintf(key, sizeof(key), "%d", gi_id);
        if (gi_id < 0 || !records_current(m, b, pf) || !g_key_file_has_key(m->created, pf, key, NULL))
                return; /* not vgpud's: someone else's GI stays */
        pf_dir = backend_path(b, "bus/pci/devices", pf, NULL);
        vfs = read_vfs(pf_dir);
        for (guint k = 0; k < vfs->len; k++)
                if (g_array_index(vfs, MigVf, k).gi_id == gi_id)
                        return; /* still holds a vGPU */
        nvidia_mig_undo(m, pf, gi_id);
}
