/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake libnvidia-ml.so.1 for the simulated hosts: built in tests, never installed. It answers
 * the NVML calls vgpud makes, with NVML's signatures and return codes (nvml.h), from the
 * simulated state: every call asks the emulator (tests/sim/emulator_vf.py) over
 * $UMOCKDEV_DIR/simvf.sock ("nvml <request>"; reply: NVML return code, then data lines).
 * Without UMOCKDEV_DIR or the socket nvmlInit fails with NVML_ERROR_DRIVER_NOT_LOADED, as on a
 * host without the NVIDIA driver.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------------------ nvml.h facts */
typedef enum nvmlReturn_enum {
        NVML_SUCCESS = 0,
        NVML_ERROR_UNINITIALIZED = 1,
        NVML_ERROR_INVALID_ARGUMENT = 2,
        NVML_ERROR_NOT_SUPPORTED = 3,
        NVML_ERROR_NO_PERMISSION = 4,
        NVML_ERROR_ALREADY_INITIALIZED = 5,
        NVML_ERROR_NOT_FOUND = 6,
        NVML_ERROR_INSUFFICIENT_SIZE = 7,
        NVML_ERROR_DRIVER_NOT_LOADED = 9,
        NVML_ERROR_IN_USE = 19,
        NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
        NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
        NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

typedef unsigned int nvmlVgpuTypeId_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;

typedef struct nvmlGpuInstancePlacement_st {
        unsigned int start;
        unsigned int size;
} nvmlGpuInstancePlacement_t;

typedef struct nvmlGpuInstanceProfileInfo_st {
        unsigned int id;
        unsigned int isP2pSupported;
        unsigned int sliceCount;
        unsigned int instanceCount;
        unsigned int multiprocessorCount;
        unsigned int copyEngineCount;
        unsigned int decoderCount;
        unsigned int encoderCount;
        unsigned int jpegCount;
        unsigned int ofaCount;
        unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct nvmlGpuInstanceInfo_st {
        nvmlDevice_t device;
        unsigned int id;
        unsigned int profileId;
        nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct nvmlVgpuHeterogeneousMode_v1_st {
        unsigned int version;
        unsigned int mode;
} nvmlVgpuHeterogeneousMode_v1_t;
typedef nvmlVgpuHeterogeneousMode_v1_t nvmlVgpuHeterogeneousMode_t;
#define NVML_STRUCT_VERSION(data, ver) (unsigned int)(sizeof(nvml##data##_v##ver##_t) | (ver << 24U))
#define nvmlVgpuHeterogeneousMode_v1   NVML_STRUCT_VERSION(VgpuHeterogeneousMode, 1)

typedef struct nvmlPciInfo_st {
        char busIdLegacy[16];
        unsigned int domain;
        unsigned int bus;
        unsigned int device;
        unsigned int pciDeviceId;
        unsigned int pciSubSystemId;
        char busId[32];
} nvmlPciInfo_t;

#define EXPORT __attribute__((visibility("default")))

/* What this fake exports: NVML's declarations for these functions */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlInit(void);
nvmlReturn_t nvmlInitWithFlags(unsigned int flags);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t result);
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci);
nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device,
                                                nvmlVgpuHeterogeneousMode_t *pHeterogeneousMode);
nvmlReturn_t nvmlDeviceSetVgpuHeterogeneousMode(nvmlDevice_t device,
                                                const nvmlVgpuHeterogeneousMode_t *pHeterogeneousMode);
nvmlReturn_t nvmlDeviceGetVgpuCapabilities(nvmlDevice_t device, unsigned int capability,
                                           unsigned int *capResult);
nvmlReturn_t nvmlDeviceGetSupportedVgpus(nvmlDevice_t device, unsigned int *vgpuCount,
                                         nvmlVgpuTypeId_t *vgpuTypeIds);
nvmlReturn_t nvmlDeviceGetCreatableVgpus(nvmlDevice_t device, unsigned int *vgpuCount,
                                         nvmlVgpuTypeId_t *vgpuTypeIds);
nvmlReturn_t nvmlVgpuTypeGetName(nvmlVgpuTypeId_t vgpuTypeId, char *vgpuTypeName, unsigned int *size);
nvmlReturn_t nvmlVgpuTypeGetFramebufferSize(nvmlVgpuTypeId_t vgpuTypeId, unsigned long long *fbSize);
nvmlReturn_t nvmlVgpuTypeGetGpuInstanceProfileId(nvmlVgpuTypeId_t vgpuTypeId,
                                                 unsigned int *gpuInstanceProfileId);
nvmlReturn_t nvmlVgpuTypeGetMaxInstances(nvmlDevice_t device, nvmlVgpuTypeId_t vgpuTypeId,
                                         unsigned int *vgpuInstanceCount);
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode);
nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t *info);
nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
                                                       unsigned int *count);
nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId,
                                         nvmlGpuInstance_t *gpuInstance);
nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
                                       nvmlGpuInstance_t *gpuInstances, unsigned int *count);
nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id,
                                          nvmlGpuInstance_t *gpuInstance);
nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info);
nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance);

/* ------------------------------------------------------------------ state */
#define MAX_DEVICES 64
struct nvmlDevice_st {
        char bus[32]; /* 0000:41:00.0 */
        char name[96];
};

static struct nvmlDevice_st devices[MAX_DEVICES];
static unsigned n_devices;
static int init_count;

/* Ask the emulator. Returns the NVML code of the reply; *ret_data (malloc'd, may be NULL) gets
 * the lines after the first. */
static nvmlReturn_t ask(char **ret_data, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static nvmlReturn_t ask(char **ret_data, const char *fmt, ...)
{
        const char *dir = getenv("UMOCKDEV_DIR");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char req[256] = "nvml ";
        va_list ap;
        int s;

        if (ret_data)
                *ret_data = NULL;
        if (dir == NULL ||
            (size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/simvf.sock", dir) >= sizeof sa.sun_path)
                return NVML_ERROR_DRIVER_NOT_LOADED;
        va_start(ap, fmt);
        vsnprintf(req + 5, sizeof req - 6, fmt, ap);
        va_end(ap);
        strcat(req, "\n");
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return NVML_ERROR_UNKNOWN;
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
                close(s);
                return NVML_ERROR_DRIVER_NOT_LOADED;
        }
        if (write(s, req, strlen(req)) != (ssize_t)strlen(req)) {
                close(s);
                return NVML_ERROR_UNKNOWN;
        }
        size_t size = 4096, got = 0;
        char *buf = malloc(size);
        for (;;) {
                if (buf == NULL) {
                        close(s);
                        return NVML_ERROR_UNKNOWN;
                }
                ssize_t r = read(s, buf + got, size - got - 1);
                if (r <= 0)
                        break;
                got += (size_t)r;
                if (got + 1 == size)
                        buf = realloc(buf, size *= 2);
        }
        close(s);
        buf[got] = '\0';
        char *nl = strchr(buf, '\n');
        if (got == 0 || nl == NULL) {
                free(buf);
                return NVML_ERROR_UNKNOWN;
        }
        nvmlReturn_t rc = (nvmlReturn_t)atoi(buf);
        if (ret_data != NULL)
                *ret_data = strdup(nl + 1);
        free(buf);
        return rc;
}

static nvmlReturn_t load_devices(void)
{
        char *data, *line, *save = NULL;
        nvmlReturn_t rc = ask(&data, "devices");
        if (rc != NVML_SUCCESS)
                return rc;
        n_devices = 0;
        for (line = strtok_r(data, "\n", &save); line && n_devices < MAX_DEVICES;
             line = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(line, '\t');
                if (tab == NULL)
                        continue;
                *tab = '\0';
                snprintf(devices[n_devices].bus, sizeof devices[n_devices].bus, "%s", line);
                snprintf(devices[n_devices].name, sizeof devices[n_devices].name, "%s", tab + 1);
                n_devices++;
        }
        free(data);
        return NVML_SUCCESS;
}

static bool valid(nvmlDevice_t d)
{
        return d != NULL && d >= devices && d < devices + n_devices;
}

/* Copy a string out as NVML does: NVML_ERROR_INSUFFICIENT_SIZE when it does not fit. */
static nvmlReturn_t copy_out(const char *s, char *buf, unsigned int length)
{
        if (buf == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (strlen(s) + 1 > length)
                return NVML_ERROR_INSUFFICIENT_SIZE;
        memcpy(buf, s, strlen(s) + 1);
        return NVML_SUCCESS;
}

/* ------------------------------------------------------------------ init */
EXPORT nvmlReturn_t nvmlInit_v2(void)
{
        nvmlReturn_t rc = ask(NULL, "init");
        if (rc != NVML_SUCCESS)
                return rc;
        rc = load_devices();
        if (rc == NVML_SUCCESS)
                init_count++;
        return rc;
}

EXPORT nvmlReturn_t nvmlInit(void)
{
        return nvmlInit_v2();
}

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
        (void)flags;
        return nvmlInit_v2();
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        init_count--;
        return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
        switch (result) {
        case NVML_SUCCESS: return "Success";
        case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
        case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
        case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
        case NVML_ERROR_NOT_FOUND: return "Not Found";
        case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
        case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
        case NVML_ERROR_IN_USE: return "In use by another client";
        case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient resources";
        case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
        default: return "Unknown Error";
        }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        nvmlReturn_t rc = ask(&data, "driver");
        if (rc == NVML_SUCCESS) {
                data[strcspn(data, "\n")] = '\0';
                rc = copy_out(data, version, length);
        }
        free(data);
        return rc;
}

/* ------------------------------------------------------------------ devices */
EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (deviceCount == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        *deviceCount = n_devices;
        return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (device == NULL || index >= n_devices)
                return NVML_ERROR_INVALID_ARGUMENT;
        *device = &devices[index];
        return NVML_SUCCESS;
}

/* "0000:41:00.0", "00000000:41:00.0" (NVML's own form) or "41:00.0"; hex, any case. */
static bool parse_bus_id(const char *s, unsigned *dom, unsigned *bus, unsigned *dev, unsigned *fn)
{
        int n = 0;
        if (sscanf(s, "%x:%x:%x.%x%n", dom, bus, dev, fn, &n) == 4 && s[n] == '\0')
                return true;
        *dom = 0;
        n = 0;
        return sscanf(s, "%x:%x.%x%n", bus, dev, fn, &n) == 3 && s[n] == '\0';
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
        unsigned d1, b1, s1, f1, d2, b2, s2, f2;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (pciBusId == NULL || device == NULL || !parse_bus_id(pciBusId, &d1, &b1, &s1, &f1))
                return NVML_ERROR_INVALID_ARGUMENT;
        load_devices();
        for (unsigned i = 0; i < n_devices; i++)
                if (parse_bus_id(devices[i].bus, &d2, &b2, &s2, &f2) && d1 == d2 && b1 == b2 && s1 == s2 &&
                    f1 == f2) {
                        *device = &devices[i];
                        return NVML_SUCCESS;
                }
        return NVML_ERROR_NOT_FOUND;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device))
                return NVML_ERROR_INVALID_ARGUMENT;
        return copy_out(device->name, name, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
        unsigned dom, bus, dev, fn;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || pci == NULL || !parse_bus_id(device->bus, &dom, &bus, &dev, &fn))
                return NVML_ERROR_INVALID_ARGUMENT;
        memset(pci, 0, sizeof *pci);
        pci->domain = dom;
        pci->bus = bus;
        pci->device = dev;
        snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.%X", dom, bus, dev, fn);
        snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.%X", dom, bus, dev, fn);
        return NVML_SUCCESS;
}

/* ------------------------------------------------------------------ vGPU */
EXPORT nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device,
                                                       nvmlVgpuHeterogeneousMode_t *pHeterogeneousMode)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || pHeterogeneousMode == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (pHeterogeneousMode->version != nvmlVgpuHeterogeneousMode_v1)
                return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        nvmlReturn_t rc = ask(&data, "hetero-get %s", device->bus);
        if (rc == NVML_SUCCESS)
                pHeterogeneousMode->mode = (unsigned)atoi(data);
        free(data);
        return rc;
}

EXPORT nvmlReturn_t nvmlDeviceSetVgpuHeterogeneousMode(nvmlDevice_t device,
                                                       const nvmlVgpuHeterogeneousMode_t *pHeterogeneousMode)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || pHeterogeneousMode == NULL || pHeterogeneousMode->mode > 1)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (pHeterogeneousMode->version != nvmlVgpuHeterogeneousMode_v1)
                return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        return ask(NULL, "hetero-set %s %u", device->bus, pHeterogeneousMode->mode);
}

/* nvmlDeviceVgpuCapability_t (an enum in nvml.h; unsigned here): the emulator answers "cap <bus> <n>". */
EXPORT nvmlReturn_t nvmlDeviceGetVgpuCapabilities(nvmlDevice_t device, unsigned int capability,
                                                  unsigned int *capResult)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || capResult == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "cap %s %u", device->bus, capability);
        if (rc == NVML_SUCCESS)
                *capResult = (unsigned)atoi(data);
        free(data);
        return rc;
}

/* The Get{Supported,Creatable}Vgpus contract: *vgpuCount in = room, out = how many there are;
 * NVML_ERROR_INSUFFICIENT_SIZE when the room is too small (ids may then be NULL). */
static nvmlReturn_t type_list(const char *what, nvmlDevice_t device, unsigned int *vgpuCount,
                              nvmlVgpuTypeId_t *ids)
{
        char *data, *line, *save = NULL;
        unsigned n = 0, room;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || vgpuCount == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        room = *vgpuCount;
        nvmlReturn_t rc = ask(&data, "%s %s", what, device->bus);
        if (rc != NVML_SUCCESS) {
                free(data);
                return rc;
        }
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (ids != NULL && n < room)
                        ids[n] = (nvmlVgpuTypeId_t)strtoul(line, NULL, 10);
                n++;
        }
        free(data);
        *vgpuCount = n;
        if (n > room || (n > 0 && ids == NULL))
                return NVML_ERROR_INSUFFICIENT_SIZE;
        return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedVgpus(nvmlDevice_t device, unsigned int *vgpuCount,
                                                nvmlVgpuTypeId_t *vgpuTypeIds)
{
        return type_list("supported", device, vgpuCount, vgpuTypeIds);
}

EXPORT nvmlReturn_t nvmlDeviceGetCreatableVgpus(nvmlDevice_t device, unsigned int *vgpuCount,
                                                nvmlVgpuTypeId_t *vgpuTypeIds)
{
        return type_list("creatable", device, vgpuCount, vgpuTypeIds);
}

/* Line `field` (0: name, 1: framebuffer bytes, 2: max instances, 3: GPU instance profile id). */
static nvmlReturn_t type_field(nvmlVgpuTypeId_t id, int field, char **ret)
{
        char *data, *line, *save = NULL;
        *ret = NULL;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        nvmlReturn_t rc = ask(&data, "type %u", id);
        if (rc != NVML_SUCCESS) {
                free(data);
                return rc;
        }
        line = strtok_r(data, "\n", &save);
        for (int i = 0; line && i < field; i++)
                line = strtok_r(NULL, "\n", &save);
        if (line != NULL)
                *ret = strdup(line);
        free(data);
        return *ret ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetName(nvmlVgpuTypeId_t vgpuTypeId, char *vgpuTypeName, unsigned int *size)
{
        char *name;
        if (size == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = type_field(vgpuTypeId, 0, &name);
        if (rc != NVML_SUCCESS)
                return rc;
        if (vgpuTypeName == NULL || strlen(name) + 1 > *size) {
                *size = (unsigned)strlen(name) + 1;
                free(name);
                return NVML_ERROR_INSUFFICIENT_SIZE;
        }
        memcpy(vgpuTypeName, name, strlen(name) + 1);
        *size = (unsigned)strlen(name) + 1;
        free(name);
        return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetFramebufferSize(nvmlVgpuTypeId_t vgpuTypeId, unsigned long long *fbSize)
{
        char *v;
        if (fbSize == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = type_field(vgpuTypeId, 1, &v);
        if (rc == NVML_SUCCESS)
                *fbSize = strtoull(v, NULL, 10);
        free(v);
        return rc;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetGpuInstanceProfileId(nvmlVgpuTypeId_t vgpuTypeId,
                                                        unsigned int *gpuInstanceProfileId)
{
        char *v;
        if (gpuInstanceProfileId == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = type_field(vgpuTypeId, 3, &v);
        if (rc == NVML_SUCCESS)
                *gpuInstanceProfileId = (unsigned)strtoul(v, NULL, 10);
        free(v);
        return rc;
}

EXPORT nvmlReturn_t nvmlVgpuTypeGetMaxInstances(nvmlDevice_t device, nvmlVgpuTypeId_t vgpuTypeId,
                                                unsigned int *vgpuInstanceCount)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || vgpuInstanceCount == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "max-instances %s %u", device->bus, vgpuTypeId);
        if (rc == NVML_SUCCESS)
                *vgpuInstanceCount = (unsigned)atoi(data);
        free(data);
        return rc;
}

/* ------------------------------------------------------------------ MIG */
/* GPU instance handles: one slot per (device, GPU instance id) this process was handed. */
#define MAX_GPU_INSTANCES 256
struct nvmlGpuInstance_st {
        nvmlDevice_t device;
        unsigned int id;
};
static struct nvmlGpuInstance_st gpu_instances[MAX_GPU_INSTANCES];
static unsigned n_gpu_instances;

static nvmlGpuInstance_t gi_handle(nvmlDevice_t device, unsigned int id)
{
        for (unsigned i = 0; i < n_gpu_instances; i++)
                if (gpu_instances[i].device == device && gpu_instances[i].id == id)
                        return &gpu_instances[i];
        if (n_gpu_instances == MAX_GPU_INSTANCES)
                return NULL;
        gpu_instances[n_gpu_instances] = (struct nvmlGpuInstance_st){device, id};
        return &gpu_instances[n_gpu_instances++];
}

static bool gi_valid(nvmlGpuInstance_t g)
{
        return g != NULL && g >= gpu_instances && g < gpu_instances + n_gpu_instances && valid(g->device);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                         unsigned int *pendingMode)
{
        char *data;
        unsigned cur = 0, pending = 0;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || currentMode == NULL || pendingMode == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "mig-mode %s", device->bus);
        if (rc == NVML_SUCCESS && sscanf(data, "%u %u", &cur, &pending) != 2)
                rc = NVML_ERROR_UNKNOWN;
        if (rc == NVML_SUCCESS) {
                *currentMode = cur;
                *pendingMode = pending;
        }
        free(data);
        return rc;
}

/* profile: an NVML_GPU_INSTANCE_PROFILE_* index (not a profile id) */
EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                        nvmlGpuInstanceProfileInfo_t *info)
{
        char *data;
        unsigned id, slices, count;
        unsigned long long mib;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || info == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "gi-profile %s %u", device->bus, profile);
        if (rc == NVML_SUCCESS && sscanf(data, "%u %u %u %llu", &id, &slices, &count, &mib) != 4)
                rc = NVML_ERROR_UNKNOWN;
        if (rc == NVML_SUCCESS) {
                memset(info, 0, sizeof *info);
                info->id = id;
                info->sliceCount = slices;
                info->instanceCount = count;
                info->memorySizeMB = mib;
        }
        free(data);
        return rc;
}

static nvmlReturn_t ask_uint(unsigned int *ret, const char *what, nvmlDevice_t device, unsigned int arg)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || ret == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "%s %s %u", what, device->bus, arg);
        if (rc == NVML_SUCCESS)
                *ret = (unsigned)strtoul(data, NULL, 10);
        free(data);
        return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
                                                              unsigned int *count)
{
        return ask_uint(count, "gi-remaining", device, profileId);
}

EXPORT nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId,
                                                nvmlGpuInstance_t *gpuInstance)
{
        unsigned int id;
        if (gpuInstance == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask_uint(&id, "gi-create", device, profileId);
        if (rc != NVML_SUCCESS)
                return rc;
        *gpuInstance = gi_handle(device, id);
        return *gpuInstance ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

/* The contract: gpuInstances must have room for the profile's instanceCount; count is only output. */
EXPORT nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
                                              nvmlGpuInstance_t *gpuInstances, unsigned int *count)
{
        char *data, *line, *save = NULL;
        unsigned n = 0;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || gpuInstances == NULL || count == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "gi-list %s %u", device->bus, profileId);
        if (rc != NVML_SUCCESS) {
                free(data);
                return rc;
        }
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                nvmlGpuInstance_t g = gi_handle(device, (unsigned)strtoul(line, NULL, 10));
                if (g == NULL) {
                        free(data);
                        return NVML_ERROR_UNKNOWN;
                }
                gpuInstances[n++] = g;
        }
        free(data);
        *count = n;
        return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id,
                                                 nvmlGpuInstance_t *gpuInstance)
{
        char *data;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!valid(device) || gpuInstance == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "gi-info %s %u", device->bus, id);
        free(data);
        if (rc == NVML_SUCCESS)
                *gpuInstance = gi_handle(device, id);
        return rc == NVML_SUCCESS && *gpuInstance == NULL ? NVML_ERROR_UNKNOWN : rc;
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)
{
        char *data;
        unsigned id, profile, start, size;
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!gi_valid(gpuInstance) || info == NULL)
                return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = ask(&data, "gi-info %s %u", gpuInstance->device->bus, gpuInstance->id);
        if (rc == NVML_SUCCESS && sscanf(data, "%u %u %u %u", &id, &profile, &start, &size) != 4)
                rc = NVML_ERROR_UNKNOWN;
        if (rc == NVML_SUCCESS) {
                info->device = gpuInstance->device;
                info->id = id;
                info->profileId = profile;
                info->placement.start = start;
                info->placement.size = size;
        }
        free(data);
        return rc;
}

EXPORT nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance)
{
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        if (!gi_valid(gpuInstance))
                return NVML_ERROR_INVALID_ARGUMENT;
        return ask(NULL, "gi-destroy %s %u", gpuInstance->device->bus, gpuInstance->id);
}
