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
