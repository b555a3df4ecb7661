/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where vGPUs live in sysfs. Every sysfs read and write of the daemon goes through a backend, so that the
 * inventory, the lifecycle engine and the bus glue do not know which kind of host they run on:
 *  - "mdev" (sysfs-mdev.c): mediated devices; parents under /sys/class/mdev_bus, types in each parent's
 *    mdev_supported_types/, devices under /sys/bus/mdev/devices, made by writing a UUID to a type's
 *    create file and announced by uevents.
 *  - "nvidia-vf" (sysfs-nvidia-vf.c): NVIDIA's vendor-specific VFIO (vGPU 17+): each SR-IOV VF with an
 *    nvidia/ directory is a parent with at most one vGPU, made by writing a type ID to its
 *    current_vgpu_type; the driver sends no uevent for that, so create and remove are done when the write
 *    returns and the value reads back.
 * Every path starts at the backend's sysfs root ("/sys", or a temporary tree in the unit tests). Readers
 * tolerate missing or odd files (a field becomes NULL / -1) and fail only when the object itself is gone
 * (-ENOENT). Nothing here knows D-Bus or the vGPU rules. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct Backend Backend;

typedef struct SysfsType {
        char *id;                /* e.g. "nvidia-222" (mdev: the directory; VF: "nvidia-" + the type ID) */
        char *name;              /* "NVIDIA L40S-8Q"; NULL when unknown */
        char *description;       /* NULL when missing (always on VFs) */
        char *device_api;        /* NULL when missing */
        int available_instances; /* -1 when missing or not a number; VF: 1 listed as creatable now, else 0 */
        /* NVIDIA VF: a MIG-backed type, which sits on a GPU instance of this profile (NVML's profile id;
         * nvidia-mig.c) */
        bool mig_backed;
        unsigned int gpu_instance_profile;
        /* Why the backend knows the type cannot be created on this parent now, whatever its count says
         * (a negative errno with a sentence from backend_refusal_message()), 0 when it knows nothing */
        int refusal;
} SysfsType;

typedef struct SysfsParent {
        Backend *backend;
        char *name;      /* mdev: as under /sys/class/mdev_bus ("0000:41:00.0", "mtty"); VF: its address */
        char *syspath;   /* resolved device directory, "<root>/devices/..." */
        char *subsystem; /* e.g. "pci"; NULL when unknown */
        char *driver;    /* bound driver; NULL when none */
        bool is_pci;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
        int numa_node;    /* -1 when unknown */
        char *physfn;     /* the physical function's address when this is an SR-IOV VF */
        char **pci_path;  /* PCI addresses from the top bridge down to this device; NULL if not PCI */
        GPtrArray *types; /* SysfsType*, sorted by id */
} SysfsParent;

typedef struct SysfsDevice {
        char uuid[37];
        Backend *backend;
        /* Interned (g_intern_string): thousands of devices share a few parent and type names. */
        const char *parent;  /* parent name: mdev, the directory that holds the device; VF, the VF */
        const char *type_id; /* mdev: basename of what mdev_type points to; NULL when unknown */
        int gpu_instance_id; /* NVIDIA VF: the MIG GPU instance the vGPU sits on (the driver's choice, read
                                back from gpu_instance_id); -1 none (time-sliced) or not a VF */
} SysfsDevice;

void sysfs_type_free(SysfsType *t);
void sysfs_parent_free(SysfsParent *p);
void sysfs_device_free(SysfsDevice *d);
SysfsDevice *sysfs_device_new(Backend *b, const char *uuid, const char *parent, const char *type_id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsType, sysfs_type_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsParent, sysfs_parent_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SysfsDevice, sysfs_device_free)

/* What a uevent is about, for one backend. */
typedef enum {
        BACKEND_EVENT_NONE,   /* not ours */
        BACKEND_EVENT_PARENT, /* re-read this parent (ret_name) */
        BACKEND_EVENT_DEVICE, /* re-read this device (ret_name: its canonical UUID) */
} BackendEvent;

typedef struct BackendClass {
        const char *name; /* "mdev", "nvidia-vf": the Backend property of Gpu and Device objects */
        /* Definitions of its devices live in vgpud's own store (the VF backend: mdevctl's directory is no
         * place for them, mdevctl would list and try to start them), not in mdevctl's directory. */
        bool own_store;
        void (*free)(Backend *b);
        /* Names of all parents, sorted (NULL-terminated strv, empty when none). */
        int (*list_parents)(Backend *b, char ***ret);
        bool (*parent_exists)(Backend *b, const char *name);
        /* One parent with identity and types; -ENOENT when it is not one (any more). */
        int (*read_parent)(Backend *b, const char *name, SysfsParent **ret);
        /* Re-read only the parent's types (names, availability), replacing p->types. */
        int (*refresh_types)(Backend *b, SysfsParent *p);
        /* All running devices of these parents (SysfsParent*, this backend's) and any the backend finds
         * elsewhere, appended to out as SysfsDevice*. */
        int (*list_devices)(Backend *b, GPtrArray *parents, GPtrArray *out);
        /* One device by canonical UUID; -ENOENT when it does not exist. */
        int (*read_device)(Backend *b, const char *uuid, SysfsDevice **ret);
        /* VF: the device on this parent, -ENOENT when there is none. NULL for mdev (many per parent). */
        int (*read_parent_device)(Backend *b, const SysfsParent *p, SysfsDevice **ret);
        /* The device's sysfs directory (g_free); p: its parent when known (NULL otherwise). */
        char *(*device_syspath)(Backend *b, const SysfsDevice *d, const SysfsParent *p);
        /* Make a device of type_id with uuid on p. 1: the kernel announces it with a uevent (wait for
         * it); 0: it exists now. A negative errno is the driver's answer. */
        int (*create)(Backend *b, const SysfsParent *p, const char *type_id, const char *uuid);
        /* Remove a device; 1 / 0 / errno as create. */
        int (*remove)(Backend *b, const SysfsDevice *d);
        /* Where create's and remove's write goes when each is that one write (mdev: the type's create
         * file, given the UUID; the device's remove file, given "1"), so that it can be made off the loop
         * (sysfs-writer.h) with create's and remove's result; NULL when they are more (a VF: the write,
         * then its read back and the backend's own records): call create and remove instead. */
        char *(*create_path)(Backend *b, const SysfsParent *p, const char *type_id);
        char *(*remove_path)(Backend *b, const SysfsDevice *d);
        /* A create that is one write and work of the backend's around it (a VF: a MIG GPU instance
         * made and the UUID recorded before; the read back and, on failure, the undo after), so that
         * the write can be made off the loop too: create_begin does what comes before and gives the
         * write (*ret_path, *ret_value: g_free) and what create_end needs (*ret_state); create_end,
         * called exactly once after a create_begin that succeeded, takes the write's result (0 or
         * its errno) and returns what create would have. NULL when create_path serves, or create. */
        int (*create_begin)(Backend *b, const SysfsParent *p, const char *type_id, const char *uuid,
                            char **ret_path, char **ret_value, void **ret_state);
        int (*create_end)(Backend *b, void *state, int written);
        /* The same for remove (a VF: its MIG GPU instance noted before the write of 0; the read back,
         * the UUID forgotten and the GPU instance destroyed after it). */
        int (*remove_begin)(Backend *b, const SysfsDevice *d, char **ret_path, char **ret_value,
                            void **ret_state);
        int (*remove_end)(Backend *b, void *state, int written);
        /* Write an attribute of a running device (mdevctl's "attrs"); -EOPNOTSUPP when it has none. */
        int (*write_attr)(Backend *b, const SysfsDevice *d, const char *name, const char *value);
        BackendEvent (*uevent)(Backend *b, const char *subsystem, const char *sysname, char **ret_name);
} BackendClass;

struct Backend {
        const BackendClass *class;
        char *root; /* "/sys" */
};

/* The backends (sysfs-mdev.c, sysfs-nvidia-vf.c). root NULL: "/sys". state_dir: where the VF backend
 * remembers the types it saw and the UUIDs of the vGPUs it made (NULL: nowhere). */
Backend *backend_mdev_new(const char *root);
Backend *backend_nvidia_vf_new(const char *root, const char *state_dir);
void backend_free(Backend *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Backend, backend_free)

static inline const char *backend_name(const Backend *b)
{
        return b ? b->class->name : "";
}

/* A sentence for the errnos a backend gives deliberately (create's result, SysfsType.refusal):
 * -ELIBACC (NVML is needed and cannot be loaded), -EMEDIUMTYPE (MIG mode is off on the GPU), -ENOSR
 * (the driver found no free GPU instance); NULL for any other errno. */
const char *backend_refusal_message(int error);

/* A path under the backend's root: backend_path(b, "class/mdev_bus", NULL) (g_free). */
char *backend_path(const Backend *b, const char *first, ...) G_GNUC_NULL_TERMINATED;
