/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NVML through dlopen(): the declarations below are the ABI of nvml.h (types, return codes, the struct
 * version of nvmlVgpuHeterogeneousMode_t), written out so that nothing of NVIDIA's is needed to build. */

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "macro.h"
#include "log.h"
#include "nvml.h"

typedef int nvmlReturn_t; /* NVML_SUCCESS 0 */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef unsigned int nvmlVgpuTypeId_t;
typedef struct {
        unsigned int version;
        unsigned int mode; /* 0 disabled, 1 enabled */
} nvmlVgpuHeterogeneousMode_t;

#define NVML_SUCCESS                    0
#define NVML_ERROR_NOT_SUPPORTED        3
#define NVML_ERROR_INSUFFICIENT_SIZE    7
#define NVML_ERROR_IN_USE               19
#define NVML_VGPU_HETEROGENEOUS_MODE_V1 ((unsigned int)(sizeof(nvmlVgpuHeterogeneousMode_t) | (1U << 24)))
#define NVML_NAME_MAX                   96
/* nvmlDeviceVgpuCapability_t: concurrent time-sliced vGPUs of differing framebuffer sizes */
#define NVML_DEVICE_VGPU_CAP_HETEROGENEOUS_TIMESLICE_SIZES 2

typedef struct Nvml {
        void *lib;
        nvmlReturn_t (*init)(void);
        nvmlReturn_t (*shutdown)(void);
        const char *(*error_string)(nvmlReturn_t);
        nvmlReturn_t (*by_pci)(const char *, nvmlDevice_t *);
        nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
        nvmlReturn_t (*supported)(nvmlDevice_t, unsigned int *, nvmlVgpuTypeId_t *);
        nvmlReturn_t (*type_name)(nvmlVgpuTypeId_t, char *, unsigned int *);
        nvmlReturn_t (*get_hetero)(nvmlDevice_t, nvmlVgpuHeterogeneousMode_t *);
        nvmlReturn_t (*set_hetero)(nvmlDevice_t, const nvmlVgpuHeterogeneousMode_t *);
        nvmlReturn_t (*vgpu_cap)(nvmlDevice_t, unsigned int, unsigned int *);
        nvmlDevice_t dev;
} Nvml;

static void nvml_close(Nvml *n)
{
        if (n->lib) {
                if (n->shutdown)
                        (void)n->shutdown();
                dlclose(n->lib);
        }
        n->lib = NULL;
}

static const char *nvml_error(const Nvml *n, nvmlReturn_t r)
{
        const char *s = n->error_string ? n->error_string(r) : NULL;
        return s ? s : "unknown NVML error";
}

/* Load the library, initialize NVML and find the GPU pf. A symbol the library lacks stays NULL. */
static int nvml_open(Nvml *n, const char *pf)
{
        g_autofree char *bus_id = g_ascii_strup(pf, -1); /* NVML prints "00000000:C1:00.0"; takes any case */
        nvmlReturn_t r;

        memset(n, 0, sizeof(*n));
        n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!n->lib)
                return -ENOENT;
        n->init = (nvmlReturn_t(*)(void))dlsym(n->lib, "nvmlInit_v2");
        n->shutdown = (nvmlReturn_t(*)(void))dlsym(n->lib, "nvmlShutdown");
        n->error_string = (const char *(*)(nvmlReturn_t))dlsym(n->lib, "nvmlErrorString");
        n->by_pci = (nvmlReturn_t(*)(const char *, nvmlDevice_t *))dlsym(n->lib,
                                                                         "nvmlDeviceGetHandleByPciBusId_v2");
        n->name = (nvmlReturn_t(*)(nvmlDevice_t, char *, unsigned int))dlsym(n->lib, "nvmlDeviceGetName");
        n->supported = (nvmlReturn_t(*)(nvmlDevice_t, unsigned int *, nvmlVgpuTypeId_t *))dlsym(
                n->lib, "nvmlDeviceGetSupportedVgpus");
        n->type_name = (nvmlReturn_t(*)(nvmlVgpuTypeId_t, char *, unsigned int *))dlsym(
                n->lib, "nvmlVgpuTypeGetName");
        n->get_hetero = (nvmlReturn_t(*)(nvmlDevice_t, nvmlVgpuHeterogeneousMode_t *))dlsym(
                n->lib, "nvmlDeviceGetVgpuHeterogeneousMode");
        n->set_hetero = (nvmlReturn_t(*)(nvmlDevice_t, const nvmlVgpuHeterogeneousMode_t *))dlsym(
                n->lib, "nvmlDeviceSetVgpuHeterogeneousMode");
        n->vgpu_cap = (nvmlReturn_t(*)(nvmlDevice_t, unsigned int, unsigned int *))dlsym(
                n->lib, "nvmlDeviceGetVgpuCapabilities");
        if (!n->init || !n->by_pci) {
                dlclose(n->lib);
                n->lib = NULL;
                return -ENOENT;
        }
        r = n->init();
        if (r != NVML_SUCCESS) {
                log_debug("NVML does not start: %s", nvml_error(n, r));
                n->shutdown = NULL;
                nvml_close(n);
                return -ENOENT;
        }
        r = n->by_pci(bus_id, &n->dev);
        if (r != NVML_SUCCESS) {
                log_debug("NVML does not know %s: %s", pf, nvml_error(n, r));
                nvml_close(n);
                return -ENODEV;
        }
        return 0;
}

int nvml_supported_types(const char *pf, GArray *ids, GPtrArray *names)
{
        _cleanup_(nvml_close) Nvml n = {};
        unsigned int count = 0;
        g_autofree nvmlVgpuTypeId_t *list = NULL;
        nvmlReturn_t r;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        if (!n.supported || !n.type_name)
                return -EOPNOTSUPP;
        r = n.supported(n.dev, &count, NULL);
        if (r != NVML_SUCCESS && r != NVML_ERROR_INSUFFICIENT_SIZE)
                goto fail;
        list = g_new0(nvmlVgpuTypeId_t, count + 1);
        r = n.supported(n.dev, &count, list);
        if (r != NVML_SUCCESS)
                goto fail;
        for (unsigned int i = 0; i < count; i++) {
                char name[NVML_NAME_MAX] = "";
                unsigned int size = sizeof(name);
                int id = (int)list[i];

                if (n.type_name(list[i], name, &size) != NVML_SUCCESS || !*name)
                        continue;
                g_array_append_val(ids, id);
                g_ptr_array_add(names, g_strndup(name, sizeof(name)));
        }
        return 0;
fail:
        log_warning("NVML cannot list the vGPU types of %s: %s", pf, nvml_error(&n, r));
        return -EIO;
}

char *nvml_device_name(const char *pf)
{
        _cleanup_(nvml_close) Nvml n = {};
        char name[NVML_NAME_MAX] = "";

        if (nvml_open(&n, pf) < 0 || !n.name || n.name(n.dev, name, sizeof(name)) != NVML_SUCCESS || !*name)
                return NULL;
        return g_strndup(name, sizeof(name));
}

int nvml_get_mixed_size(const char *pf)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlVgpuHeterogeneousMode_t mode = {.version = NVML_VGPU_HETEROGENEOUS_MODE_V1};
        nvmlReturn_t r;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        if (!n.get_hetero)
                return -EOPNOTSUPP;
        r = n.get_hetero(n.dev, &mode);
        if (r == NVML_ERROR_NOT_SUPPORTED)
                return -EOPNOTSUPP;
        if (r != NVML_SUCCESS) {
                log_warning("NVML cannot read the mixed-size mode of %s: %s", pf, nvml_error(&n, r));
                return -EIO;
        }
        return mode.mode ? 1 : 0;
}

int nvml_mixed_size_capable(const char *pf)
{
        _cleanup_(nvml_close) Nvml n = {};
        unsigned int result = 0;
        nvmlReturn_t r;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        if (!n.vgpu_cap) /* a driver older than the capability query has no mixed-size mode */
                return 0;
        r = n.vgpu_cap(n.dev, NVML_DEVICE_VGPU_CAP_HETEROGENEOUS_TIMESLICE_SIZES, &result);
        if (r == NVML_ERROR_NOT_SUPPORTED)
                return 0;
        if (r != NVML_SUCCESS) {
                log_warning("NVML cannot tell whether %s has mixed-size mode: %s", pf, nvml_error(&n, r));
                return -EIO;
        }
        return result ? 1 : 0;
}

int nvml_set_mixed_size(const char *pf, bool on)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlVgpuHeterogeneousMode_t mode = {.version = NVML_VGPU_HETEROGENEOUS_MODE_V1, .mode = on ? 1 : 0};
        nvmlReturn_t r;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        if (!n.set_hetero)
                return -EOPNOTSUPP;
        r = n.set_hetero(n.dev, &mode);
        if (r == NVML_ERROR_NOT_SUPPORTED)
                return -EOPNOTSUPP;
        if (r == NVML_ERROR_IN_USE)
                return -EBUSY;
        if (r != NVML_SUCCESS) {
                log_warning("NVML cannot switch the mixed-size mode of %s: %s", pf, nvml_error(&n, r));
                return -EIO;
        }
        return 0;
}

/* ------------------------------------------------------------------ MIG (GPU instances) */
/* nvml.h's MIG declarations (ABI): a GPU instance handle, its info and a profile's info (v1 layout). */
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;
typedef struct {
        unsigned int id, isP2pSupported, sliceCount, instanceCount, multiprocessorCount, copyEngineCount,
                decoderCount, encoderCount, jpegCount, ofaCount;
        unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;
typedef struct {
        nvmlDevice_t device;
        unsigned int id, profileId;
        struct {
                unsigned int start, size;
        } placement;
} nvmlGpuInstanceInfo_t;

#define NVML_ERROR_INVALID_ARGUMENT       2
#define NVML_ERROR_NOT_FOUND              6
#define NVML_ERROR_INSUFFICIENT_RESOURCES 23
#define NVML_GPU_INSTANCE_PROFILE_COUNT   0x12
#define INVALID_GPU_INSTANCE_PROFILE_ID   0xFFFFFFFFU
#define GPU_INSTANCES_MAX                 32 /* at most 8 slices: room for any profile's instanceCount */

/* A symbol of the loaded library, looked up when a call needs it (NULL: this driver lacks it). */
#define NVML_SYM(n, type, name) ((type)dlsym((n)->lib, name))

/* NVML's answer as an errno for the MIG calls: NOT_SUPPORTED means "MIG mode is off" there. */
static int mig_errno(const Nvml *n, nvmlReturn_t r, const char *what, const char *pf)
{
        switch (r) {
        case NVML_SUCCESS: return 0;
        case NVML_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
        case NVML_ERROR_IN_USE: return -EBUSY;
        case NVML_ERROR_INSUFFICIENT_RESOURCES: return -ENOSPC;
        case NVML_ERROR_NOT_FOUND: return -ENOENT;
        default: log_warning("NVML cannot %s on %s: %s", what, pf, nvml_error(n, r)); return -EIO;
        }
}

int nvml_get_mig_mode(const char *pf)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*get)(nvmlDevice_t, unsigned int *, unsigned int *);
        unsigned int current = 0, pending = 0;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        get = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int *, unsigned int *),
                       "nvmlDeviceGetMigMode");
        if (!get)
                return -EOPNOTSUPP;
        e = mig_errno(&n, get(n.dev, &current, &pending), "read the MIG mode", pf);
        return e < 0 ? e : current == 1;
}

int nvml_type_gpu_instance_profile(const char *pf, int type_id)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*get)(nvmlVgpuTypeId_t, unsigned int *);
        unsigned int profile = INVALID_GPU_INSTANCE_PROFILE_ID;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        get = NVML_SYM(&n, nvmlReturn_t(*)(nvmlVgpuTypeId_t, unsigned int *),
                       "nvmlVgpuTypeGetGpuInstanceProfileId");
        if (!get)
                return -EOPNOTSUPP;
        e = mig_errno(&n, get((nvmlVgpuTypeId_t)type_id, &profile), "read a type's GPU instance profile",
                      pf);
        if (e < 0)
                return e;
        return profile == INVALID_GPU_INSTANCE_PROFILE_ID || profile > G_MAXINT ? -ENODATA : (int)profile;
}

int nvml_gpu_instance_profile(const char *pf, unsigned int profile_id, NvmlGpuInstanceProfile *ret)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*get)(nvmlDevice_t, unsigned int, nvmlGpuInstanceProfileInfo_t *);
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        get = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int, nvmlGpuInstanceProfileInfo_t *),
                       "nvmlDeviceGetGpuInstanceProfileInfo");
        if (!get)
                return -EOPNOTSUPP;
        /* NVML looks profiles up by their NVML_GPU_INSTANCE_PROFILE_* index: find the one with this id */
        for (unsigned int i = 0; i < NVML_GPU_INSTANCE_PROFILE_COUNT; i++) {
                nvmlGpuInstanceProfileInfo_t info = {};
                nvmlReturn_t r = get(n.dev, i, &info);

                if (r == NVML_ERROR_INVALID_ARGUMENT)
                        break; /* past the last index this driver knows */
                if (r != NVML_SUCCESS || info.id != profile_id)
                        continue;
                *ret = (NvmlGpuInstanceProfile){.id = info.id,
                                                .slices = info.sliceCount,
                                                .instance_count = info.instanceCount,
                                                .memory_mib = info.memorySizeMB};
                return 0;
        }
        return -ENOENT;
}

int nvml_gpu_instance_remaining(const char *pf, unsigned int profile_id)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*get)(nvmlDevice_t, unsigned int, unsigned int *);
        unsigned int count = 0;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        get = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int, unsigned int *),
                       "nvmlDeviceGetGpuInstanceRemainingCapacity");
        if (!get)
                return -EOPNOTSUPP;
        e = mig_errno(&n, get(n.dev, profile_id, &count), "read the GPU instance capacity", pf);
        return e < 0 ? e : (int)MIN(count, (unsigned int)G_MAXINT);
}

int nvml_gpu_instances(const char *pf, unsigned int profile_id, GArray *ret_ids)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*list)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *, unsigned int *);
        nvmlReturn_t (*info)(nvmlGpuInstance_t, nvmlGpuInstanceInfo_t *);
        nvmlGpuInstance_t gis[GPU_INSTANCES_MAX] = {};
        unsigned int count = 0;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        list = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *, unsigned int *),
                        "nvmlDeviceGetGpuInstances");
        info = NVML_SYM(&n, nvmlReturn_t(*)(nvmlGpuInstance_t, nvmlGpuInstanceInfo_t *),
                        "nvmlGpuInstanceGetInfo");
        if (!list || !info)
                return -EOPNOTSUPP;
        e = mig_errno(&n, list(n.dev, profile_id, gis, &count), "list the GPU instances", pf);
        if (e < 0)
                return e;
        for (unsigned int i = 0; i < MIN(count, (unsigned int)GPU_INSTANCES_MAX); i++) {
                nvmlGpuInstanceInfo_t gi = {};
                if (info(gis[i], &gi) == NVML_SUCCESS)
                        g_array_append_val(ret_ids, gi.id);
        }
        return 0;
}

int nvml_create_gpu_instance(const char *pf, unsigned int profile_id)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*create)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *);
        nvmlReturn_t (*info)(nvmlGpuInstance_t, nvmlGpuInstanceInfo_t *);
        nvmlGpuInstance_t gi = NULL;
        nvmlGpuInstanceInfo_t gi_info = {};
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        create = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *),
                          "nvmlDeviceCreateGpuInstance");
        info = NVML_SYM(&n, nvmlReturn_t(*)(nvmlGpuInstance_t, nvmlGpuInstanceInfo_t *),
                        "nvmlGpuInstanceGetInfo");
        if (!create || !info)
                return -EOPNOTSUPP;
        e = mig_errno(&n, create(n.dev, profile_id, &gi), "create a GPU instance", pf);
        if (e < 0)
                return e;
        e = mig_errno(&n, info(gi, &gi_info), "read the new GPU instance", pf);
        return e < 0 ? e : (int)gi_info.id;
}

int nvml_destroy_gpu_instance(const char *pf, unsigned int gi_id)
{
        _cleanup_(nvml_close) Nvml n = {};
        nvmlReturn_t (*by_id)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *);
        nvmlReturn_t (*destroy)(nvmlGpuInstance_t);
        nvmlGpuInstance_t gi = NULL;
        int e = nvml_open(&n, pf);

        if (e < 0)
                return e;
        by_id = NVML_SYM(&n, nvmlReturn_t(*)(nvmlDevice_t, unsigned int, nvmlGpuInstance_t *),
                         "nvmlDeviceGetGpuInstanceById");
        destroy = NVML_SYM(&n, nvmlReturn_t(*)(nvmlGpuInstance_t), "nvmlGpuInstanceDestroy");
        if (!by_id || !destroy)
                return -EOPNOTSUPP;
        e = mig_errno(&n, by_id(n.dev, gi_id, &gi), "find a GPU instance", pf);
        if (e < 0)
                return e;
        return mig_errno(&n, destroy(gi), "destroy a GPU instance", pf);
}
