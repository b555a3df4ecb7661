/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NVIDIA VF backend: SR-IOV VFs with an nvidia/ directory; one vGPU per VF, made by writing a type ID
 * to current_vgpu_type and destroyed by writing 0. The driver sends no uevent for either (the VF stays
 * bound to nvidia, its vfio-dev child exists before and after), so create and remove read the file back
 * and are done when they return. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "fileio.h"
#include "log.h"
#include "nvml.h"
#include "nvidia-mig.h"
#include "uuid.h"
#include "sysfs-util.h"
#include "sysfs-nvidia-vf.h"

#define PCI_DEVICES "bus/pci/devices"
#define TYPES_FILE  "nvidia-vf-types.conf"
#define UUIDS_FILE  "nvidia-vf-uuids.conf"
#define UUIDS_GROUP "vgpus"
#define TYPE_PREFIX "nvidia-"

typedef struct VfBackend {
        Backend base; /* first: a Backend* is a VfBackend* */
        char *state_dir;
        GKeyFile *catalog;      /* [<model key>] <type id number>=<name> */
        GHashTable *uuids;      /* VF -> UUID of the vGPU vgpud made there */
        GHashTable *by_uuid;    /* UUID -> VF, every vGPU seen (made or derived) */
        GHashTable *nvml_asked; /* model keys NVML was asked about in this run */
        GHashTable *model_keys; /* PF -> its model key: read once per PF between full scans */
        NvidiaMig *mig;         /* MIG-backed types: GPU instances through NVML */
} VfBackend;

static VfBackend *VF(Backend *b)
{
        return (VfBackend *)b;
}

void nvidia_vf_parse_creatable(const char *text, GArray *ids, GPtrArray *names)
{
        g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);

        for (char **l = lines; *l; l++) {
                char *colon = strchr(*l, ':');
                g_autofree char *id_text = NULL;
                long id;

                if (!colon)
                        continue;
                id_text = g_strndup(*l, colon - *l);
                /* the header "ID    : vGPU Name" is no number */
                if (!sysfs_parse_long(id_text, 10, &id) || id <= 0 || id > G_MAXINT)
                        continue;
                int v = (int)id;
                g_array_append_val(ids, v);
                g_ptr_array_add(names, g_strstrip(g_strdup(colon + 1)));
        }
}

void nvidia_vf_derive_uuid(const char *vf, char ret[static 37])
{
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA1);
        g_autofree char *name = g_strconcat("nvidia-vf:", vf, NULL);
        guint8 d[20];
        gsize len = sizeof(d);

        g_checksum_update(sum, (const guchar *)name, -1);
        g_checksum_get_digest(sum, d, &len);
        d[6] = (d[6] & 0x0f) | 0x50;
        d[8] = (d[8] & 0x3f) | 0x80;
        g_snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0],
                   d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
                   d[15]);
}

int nvidia_vf_state_save(const char *state_dir, const char *file, GKeyFile *kf, bool durable)
{
        g_autofree char *data = NULL;
        _cleanup_close_ int dirfd = -1;
        gsize len;
        int r;

        if (!state_dir)
                return 0;
        data = g_key_file_to_data(kf, &len, NULL);
        dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = dirfd < 0 ? negative_errno()
                      : write_file_atomic_full_at(dirfd, file, data, len, 0644,
                                                  durable ? WRITE_ATOMIC_DURABLE : WRITE_ATOMIC_NO_SYNC);
        if (r < 0)
                log_warning_errno(r, "Cannot write %s/%s: %m", state_dir, file);
        return r;
}

GKeyFile *nvidia_vf_state_load(const char *state_dir, const char *file)
{
        GKeyFile *kf = g_key_file_new();
        g_autofree char *path = NULL;
        g_autoptr(GError) error = NULL;

        if (!state_dir)
                return kf;
        path = g_build_filename(state_dir, file, NULL);
        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error) &&
            !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                log_warning("Ignoring %s: %s", path, error->message);
        return kf;
}

static int save_key_file(VfBackend *v, const char *file, GKeyFile *kf, bool durable)
{
        return nvidia_vf_state_save(v->state_dir, file, kf, durable);
}

static GKeyFile *load_key_file(VfBackend *v, const char *file)
{
        return nvidia_vf_state_load(v->state_dir, file);
}

static int save_uuids(VfBackend *v)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        GHashTableIter it;
        gpointer k, val;

        g_hash_table_iter_init(&it, v->uuids);
        while (g_hash_table_iter_next(&it, &k, &val))
                g_key_file_set_string(kf, UUIDS_GROUP, k, val);
        return save_key_file(v, UUIDS_FILE, kf, false); /* the running vGPUs' */
}

int nvidia_vf_set_uuid(Backend *b, const char *vf, const char *uuid)
{
        VfBackend *v = VF(b);

        if (uuid) {
                g_hash_table_insert(v->uuids, g_strdup(vf), g_strdup(uuid));
                g_hash_table_insert(v->by_uuid, g_strdup(uuid), g_strdup(vf));
        } else if (!g_hash_table_remove(v->uuids, vf))
                return 0;
        return save_uuids(v);
}

static char *vf_dir(Backend *b, const char *vf)
{
        return backend_path(b, PCI_DEVICES, vf, NULL);
}

char *nvidia_vf_vfio_group(Backend *b, const char *vf)
{
        g_autofree char *dir = vf_dir(b, vf);
        return sysfs_link_basename(dir, "iommu_group");
}

char *nvidia_vf_model_key(Backend *b, const SysfsParent *p)
{
        VfBackend *v = VF(b);
        g_autofree char *pf = g_build_filename(p->syspath, "physfn", NULL);
        g_autofree char *module = NULL, *version = NULL;
        const char *known = p->physfn ? g_hash_table_lookup(v->model_keys, p->physfn) : NULL;
        char *key;

        /* every refresh of every VF needs it: the PF's identity and the driver's version change only
         * with a rebind (the VFs go and come) or a module reload, and a full scan reads them again */
        if (known)
                return g_strdup(known);
        module = backend_path(b, "module/nvidia", NULL);
        version = sysfs_read_attr(module, "version");
        key = g_strdup_printf("%04x:%04x %s", sysfs_read_hex16(pf, "vendor"), sysfs_read_hex16(pf, "device"),
                              version && *version ? g_strstrip(version) : "unknown");
        if (p->physfn)
                g_hash_table_insert(v->model_keys, g_strdup(p->physfn), g_strdup(key));
        return key;
}

GHashTable *nvidia_vf_catalog(Backend *b, const char *model_key)
{
        VfBackend *v = VF(b);
        g_auto(GStrv) keys = g_key_file_get_keys(v->catalog, model_key, NULL, NULL);
        GHashTable *out;

        if (!keys)
                return NULL;
        out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        for (char **k = keys; *k; k++)
                g_hash_table_insert(out, g_strconcat(TYPE_PREFIX, *k, NULL),
                                    g_key_file_get_string(v->catalog, model_key, *k, NULL));
        return out;
}

/* Remember id=name for the model; true when that is new. */
static bool catalog_learn(VfBackend *v, const char *model_key, int id, const char *name)
{
        char key[16];
        g_autofree char *old = NULL;

        g_snprintf(key, sizeof(key), "%d", id);
        old = g_key_file_get_string(v->catalog, model_key, key, NULL);
        if (!name || !*name || g_strcmp0(old, name) == 0)
                return false;
        g_key_file_set_string(v->catalog, model_key, key, name);
        return true;
}

static int compare_type_ids(gconstpointer a, gconstpointer b)
{
        return strcmp((*(SysfsType *const *)a)->id, (*(SysfsType *const *)b)->id);
}

static SysfsType *type_new(const char *id, const char *name, int available)
{
        SysfsType *t = g_new0(SysfsType, 1);

        t->id = g_strdup(id);
        t->name = g_strdup(name);
        t->device_api = g_strdup("vfio-pci");
        t->available_instances = available;
        return t;
}

/* Types of a VF: what it lists now (available 1), what its GPU model showed before (0), and the type
 * running on it when no list named it yet (name unknown). */
static int vf_refresh_types(Backend *b, SysfsParent *p)
{
        VfBackend *v = VF(b);
        g_autofree char *nvidia = g_build_filename(p->syspath, "nvidia", NULL);
        g_autofree char *text = sysfs_read_attr(nvidia, "creatable_vgpu_types");
        g_autofree char *key = nvidia_vf_model_key(b, p);
        g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) known = NULL;
        g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func((GDestroyNotify)sysfs_type_free);
        bool learnt = false;
        guint listed;
        int current = sysfs_read_int(nvidia, "current_vgpu_type", 0);
        GHashTableIter it;
        gpointer k, val;

        if (!text && access(nvidia, F_OK) < 0)
                return -ENOENT;
        nvidia_vf_parse_creatable(text, ids, names);
        listed = ids->len;
        if (p->physfn && !g_hash_table_contains(v->nvml_asked, key)) {
                /* what the GPU offers at all, also what is not creatable now (once per model and run) */
                g_hash_table_add(v->nvml_asked, g_strdup(key));
                (void)nvml_supported_types(p->physfn, ids, names);
        }
        for (guint i = 0; i < ids->len; i++) {
                int id = g_array_index(ids, int, i);
                learnt |= catalog_learn(v, key, id, names->pdata[i]);
                if (i < listed)
                        g_hash_table_add(now, g_strdup_printf(TYPE_PREFIX "%d", id));
        }
        if (learnt)
                (void)save_key_file(v, TYPES_FILE, v->catalog, true);

        known = nvidia_vf_catalog(b, key);
        if (!known)
                known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        if (current > 0) {
                char *id = g_strdup_printf(TYPE_PREFIX "%d", current);
                if (!g_hash_table_contains(known, id))
                        g_hash_table_insert(known, id, NULL);
                else
                        g_free(id);
        }
        g_hash_table_iter_init(&it, known);
        while (g_hash_table_iter_next(&it, &k, &val))
                g_ptr_array_add(types, type_new(k, val, g_hash_table_contains(now, k) ? 1 : 0));
        g_ptr_array_sort(types, compare_type_ids);
        if (p->types)
                g_ptr_array_unref(p->types);
        p->types = g_steal_pointer(&types);
        nvidia_mig_adjust_types(v->mig, b, p, key);
        return 0;
}

static bool vf_parent_exists(Backend *b, const char *name)
{
        g_autofree char *path = NULL;

        if (!name || !sysfs_is_pci_address(name))
                return false;
        path = backend_path(b, PCI_DEVICES, name, "nvidia", NULL);
        return access(path, F_OK) == 0;
}

static int vf_read_parent(Backend *b, const char *name, SysfsParent **ret)
{
        g_autoptr(SysfsParent) p = NULL;
        g_autofree char *devices = backend_path(b, PCI_DEVICES, NULL);
        int r;

        if (!vf_parent_exists(b, name))
                return -ENOENT;
        p = g_new0(SysfsParent, 1);
        p->backend = b;
        p->name = g_strdup(name);
        if (sysfs_resolve_link(devices, name, &p->syspath) < 0)
                p->syspath = g_build_filename(devices, name, NULL);
        p->subsystem = sysfs_link_basename(p->syspath, "subsystem");
        p->driver = sysfs_link_basename(p->syspath, "driver");
        p->is_pci = true;
        p->vendor_id = sysfs_read_hex16(p->syspath, "vendor");
        p->device_id = sysfs_read_hex16(p->syspath, "device");
        p->subsystem_vendor_id = sysfs_read_hex16(p->syspath, "subsystem_vendor");
        p->subsystem_device_id = sysfs_read_hex16(p->syspath, "subsystem_device");
        p->numa_node = sysfs_read_int(p->syspath, "numa_node", -1);
        p->physfn = sysfs_link_basename(p->syspath, "physfn");
        p->pci_path = sysfs_pci_path_from_syspath(p->syspath);
        r = vf_refresh_types(b, p);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&p);
        return 0;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int vf_list_parents(Backend *b, char ***ret)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *devices = backend_path(b, PCI_DEVICES, NULL);
        _cleanup_closedir_ DIR *d = opendir(devices);
        struct dirent *de;

        g_hash_table_remove_all(VF(b)->model_keys); /* a full scan reads the PFs again */
        nvidia_mig_forget(VF(b)->mig, NULL);
        nvidia_mig_prune(VF(b)->mig, b);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d)))
                if (vf_parent_exists(b, de->d_name))
                        g_ptr_array_add(names, g_strdup(de->d_name));
        g_ptr_array_sort(names, compare_strings);
        g_ptr_array_set_free_func(names, NULL);
        g_ptr_array_add(names, NULL);
        *ret = (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
        return 0;
}

/* The vGPU on a VF: its type from current_vgpu_type, its UUID from what vgpud recorded or derived. */
static int read_vf_device(Backend *b, const char *vf, SysfsDevice **ret)
{
        VfBackend *v = VF(b);
        g_autofree char *nvidia = backend_path(b, PCI_DEVICES, vf, "nvidia", NULL);
        g_autofree char *type_id = NULL;
        int current = sysfs_read_int(nvidia, "current_vgpu_type", 0);
        const char *uuid;
        char derived[VGPU_UUID_STRING_MAX];

        if (current <= 0)
                return -ENOENT;
        uuid = g_hash_table_lookup(v->uuids, vf);
        if (!uuid) {
                nvidia_vf_derive_uuid(vf, derived);
                uuid = derived;
        }
        g_hash_table_insert(v->by_uuid, g_strdup(uuid), g_strdup(vf));
        type_id = g_strdup_printf(TYPE_PREFIX "%d", current);
        *ret = sysfs_device_new(b, uuid, vf, type_id);
        if (nvidia_mig_type_is_mig(v->mig, type_id)) /* the driver's choice of GPU instance, read back */
                (*ret)->gpu_instance_id = sysfs_read_int(nvidia, "gpu_instance_id", -1);
        return 0;
}

static int vf_read_parent_device(Backend *b, const SysfsParent *p, SysfsDevice **ret)
{
        return read_vf_device(b, p->name, ret);
}

static int vf_list_devices(Backend *b, GPtrArray *parents, GPtrArray *out)
{
        for (guint i = 0; i < parents->len; i++) {
                SysfsDevice *d;
                if (read_vf_device(b, ((SysfsParent *)parents->pdata[i])->name, &d) >= 0)
                        g_ptr_array_add(out, d);
        }
        return 0;
}

static int vf_read_device(Backend *b, const char *uuid, SysfsDevice **ret)
{
        g_autofree char *vf = g_strdup(g_hash_table_lookup(VF(b)->by_uuid, uuid));
        g_autoptr(SysfsDevice) d = NULL;

        if (!vf || read_vf_device(b, vf, &d) < 0 || !g_str_equal(d->uuid, uuid))
                return -ENOENT;
        *ret = g_steal_pointer(&d);
        return 0;
}

static char *vf_device_syspath(Backend *b, const SysfsDevice *d, const SysfsParent *p)
{
        return p ? g_strdup(p->syspath) : vf_dir(b, d->parent);
}

static int read_current(Backend *b, const char *vf)
{
        g_autofree char *nvidia = backend_path(b, PCI_DEVICES, vf, "nvidia", NULL);
        return sysfs_read_int(nvidia, "current_vgpu_type", -1);
}

static const SysfsType *find_type(const SysfsParent *p, const char *type_id)
{
        for (guint i = 0; p->types && i < p->types->len; i++)
                if (g_str_equal(((SysfsType *)p->types->pdata[i])->id, type_id))
                        return p->types->pdata[i];
        return NULL;
}

/* What create_end needs of create_begin's work: one allocation (g_free). */
typedef struct VfCreate {
        long id;         /* the type's number, what the write writes */
        int created;     /* the GPU instance create_begin made (nvidia_mig_prepare()), or -1 */
        bool mig_backed; /* the type is */
        bool had_old;    /* the VF had a UUID recorded before: old */
        char vf[64], physfn[64];
        char old[VGPU_UUID_STRING_MAX];
} VfCreate;

/* Before the write: a MIG-backed type's GPU instance with room (made now when none has room), and the
 * UUID recorded (a crash right after the write must not lose it). */
static int vf_create_begin(Backend *b, const SysfsParent *p, const char *type_id, const char *uuid,
                           char **ret_path, char **ret_value, void **ret_state)
{
        VfBackend *v = VF(b);
        const SysfsType *t = find_type(p, type_id);
        g_autofree VfCreate *c = g_new0(VfCreate, 1);
        const char *old = g_hash_table_lookup(v->uuids, p->name);
        int r;

        if (!g_str_has_prefix(type_id, TYPE_PREFIX) ||
            !sysfs_parse_long(type_id + strlen(TYPE_PREFIX), 10, &c->id) || c->id <= 0 ||
            strlen(p->name) >= sizeof(c->vf) || (p->physfn && strlen(p->physfn) >= sizeof(c->physfn)))
                return -EINVAL;
        g_strlcpy(c->vf, p->name, sizeof(c->vf));
        g_strlcpy(c->physfn, p->physfn ? p->physfn : "", sizeof(c->physfn));
        c->had_old = old != NULL;
        g_strlcpy(c->old, old ? old : "", sizeof(c->old));
        c->mig_backed = t && t->mig_backed;
        c->created = -1;
        r = t ? nvidia_mig_prepare(v->mig, b, p, t, &c->created) : 0;
        if (r < 0)
                return r;
        r = nvidia_vf_set_uuid(b, p->name, uuid);
        if (r < 0) {
                nvidia_mig_undo(v->mig, p->physfn, c->created);
                return r;
        }
        *ret_path = backend_path(b, PCI_DEVICES, p->name, "nvidia", "current_vgpu_type", NULL);
        *ret_value = g_strdup_printf("%ld", c->id);
        *ret_state = g_steal_pointer(&c);
        return 0;
}

/* After the write (written: its result): read back; undone when it failed, nothing half done. */
static int vf_create_end(Backend *b, void *state, int written)
{
        g_autofree VfCreate *c = state;
        VfBackend *v = VF(b);
        int r = written;

        if (r < 0)
                (void)nvidia_vf_set_uuid(b, c->vf, c->had_old ? c->old : NULL);
        else if (read_current(b, c->vf) != c->id) {
                log_warning("%s reads back %d after writing %ld to current_vgpu_type", c->vf,
                            read_current(b, c->vf), c->id);
                r = -EIO;
        }
        if (r < 0) {
                nvidia_mig_undo(v->mig, c->physfn[0] ? c->physfn : NULL, c->created);
                /* the driver's EIO for a MIG-backed type: no free GPU instance (cubecos #312) */
                return r == -EIO && c->mig_backed ? -ENOSR : r;
        }
        if (c->mig_backed && c->physfn[0])
                nvidia_mig_forget(v->mig, c->physfn);
        return 0;
}

static int vf_create(Backend *b, const SysfsParent *p, const char *type_id, const char *uuid)
{
        g_autofree char *path = NULL, *value = NULL;
        void *state = NULL;
        int r = vf_create_begin(b, p, type_id, uuid, &path, &value, &state);

        return r < 0 ? r : vf_create_end(b, state, sysfs_write(path, value, 0));
}

/* What remove_end needs of remove_begin's work: one allocation (g_free). */
typedef struct VfRemove {
        char vf[64], physfn[64];
        int gi; /* the GPU instance a MIG-backed vGPU sits on, or -1 */
} VfRemove;

static int vf_remove_begin(Backend *b, const SysfsDevice *d, char **ret_path, char **ret_value,
                           void **ret_state)
{
        g_autofree char *nvidia = backend_path(b, PCI_DEVICES, d->parent, "nvidia", NULL);
        g_autofree char *vf = vf_dir(b, d->parent);
        g_autofree char *pf = sysfs_link_basename(vf, "physfn");
        g_autofree VfRemove *c = g_new0(VfRemove, 1);

        if (strlen(d->parent) >= sizeof(c->vf) || (pf && strlen(pf) >= sizeof(c->physfn)))
                return -EINVAL;
        g_strlcpy(c->vf, d->parent, sizeof(c->vf));
        g_strlcpy(c->physfn, pf ? pf : "", sizeof(c->physfn));
        c->gi = nvidia_mig_type_is_mig(VF(b)->mig, d->type_id)
                        ? sysfs_read_int(nvidia, "gpu_instance_id", -1)
                        : -1;
        *ret_path = backend_path(b, PCI_DEVICES, d->parent, "nvidia", "current_vgpu_type", NULL);
        *ret_value = g_strdup("0");
        *ret_state = g_steal_pointer(&c);
        return 0;
}

static int vf_remove_end(Backend *b, void *state, int written)
{
        g_autofree VfRemove *c = state;
        int r = written;

        if (r == -EPERM && read_current(b, c->vf) == 0)
                r = 0; /* the driver's answer for an empty VF: someone removed it first */
        if (r < 0)
                return r;
        if (read_current(b, c->vf) != 0)
                return -EIO;
        (void)nvidia_vf_set_uuid(b, c->vf, NULL);
        /* the GPU instance it sat on, when vgpud made it and it is empty now */
        if (c->physfn[0] && c->gi >= 0)
                nvidia_mig_vgpu_gone(VF(b)->mig, b, c->physfn, c->gi);
        return 0;
}

static int vf_remove(Backend *b, const SysfsDevice *d)
{
        g_autofree char *path = NULL, *value = NULL;
        void *state = NULL;
        int r = vf_remove_begin(b, d, &path, &value, &state);

        return r < 0 ? r : vf_remove_end(b, state, sysfs_write(path, value, 0));
}

static int vf_write_attr(Backend *b, const SysfsDevice *d, const char *name, const char *value)
{
        return -EOPNOTSUPP;
}

static BackendEvent vf_uevent(Backend *b, const char *subsystem, const char *sysname, char **ret_name)
{
        if (!subsystem || !g_str_equal(subsystem, "pci") || !vf_parent_exists(b, sysname))
                return BACKEND_EVENT_NONE;
        *ret_name = g_strdup(sysname);
        return BACKEND_EVENT_PARENT;
}

static void vf_free(Backend *b)
{
        VfBackend *v = VF(b);

        g_free(v->state_dir);
        g_key_file_unref(v->catalog);
        g_hash_table_unref(v->uuids);
        g_hash_table_unref(v->by_uuid);
        g_hash_table_unref(v->nvml_asked);
        g_hash_table_unref(v->model_keys);
        nvidia_mig_free(v->mig);
}

static const BackendClass vf_class = {
        .name = "nvidia-vf",
        .own_store = true,
        .free = vf_free,
        .list_parents = vf_list_parents,
        .parent_exists = vf_parent_exists,
        .read_parent = vf_read_parent,
        .refresh_types = vf_refresh_types,
        .list_devices = vf_list_devices,
        .read_device = vf_read_device,
        .read_parent_device = vf_read_parent_device,
        .device_syspath = vf_device_syspath,
        .create = vf_create,
        .create_begin = vf_create_begin,
        .create_end = vf_create_end,
        .remove = vf_remove,
        .remove_begin = vf_remove_begin,
        .remove_end = vf_remove_end,
        .write_attr = vf_write_attr,
        .uevent = vf_uevent,
};

Backend *backend_nvidia_vf_new(const char *root, const char *state_dir)
{
        VfBackend *v = g_new0(VfBackend, 1);
        g_autoptr(GKeyFile) uuids = NULL;
        g_auto(GStrv) keys = NULL;

        v->base.class = &vf_class;
        v->base.root = g_strdup(root ? root : "/sys");
        v->state_dir = g_strdup(state_dir);
        v->catalog = load_key_file(v, TYPES_FILE);
        v->uuids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        v->by_uuid = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        v->nvml_asked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        v->model_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        v->mig = nvidia_mig_new(state_dir);
        uuids = load_key_file(v, UUIDS_FILE);
        keys = g_key_file_get_keys(uuids, UUIDS_GROUP, NULL, NULL);
        for (char **k = keys; k && *k; k++) {
                g_autofree char *u = g_key_file_get_string(uuids, UUIDS_GROUP, *k, NULL);
                if (sysfs_is_pci_address(*k) && vgpu_uuid_is_canonical(u)) {
                        g_hash_table_insert(v->by_uuid, g_strdup(u), g_strdup(*k));
                        g_hash_table_insert(v->uuids, g_strdup(*k), g_steal_pointer(&u));
                }
        }
        return &v->base;
}
