/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The few NVML calls vgpud makes, through libnvidia-ml.so.1 loaded with dlopen() at run time (never
 * linked, no build dependency; a host without the NVIDIA driver simply has no NVML). Calls used:
 * nvmlInit_v2, nvmlShutdown, nvmlErrorString, nvmlDeviceGetHandleByPciBusId_v2, nvmlDeviceGetName,
 * nvmlDeviceGetSupportedVgpus, nvmlVgpuTypeGetName, nvmlDeviceGetVgpuHeterogeneousMode,
 * nvmlDeviceSetVgpuHeterogeneousMode, nvmlDeviceGetVgpuCapabilities. The library is looked up by the dynamic
 * loader's rules, so a test points LD_LIBRARY_PATH at a fake one. Each call initializes NVML and shuts it
 * down again: vgpud asks rarely (a GPU appearing) and must not keep the driver's NVML state open. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* The vGPU types a GPU (its PF, "0000:c1:00.0") supports: type IDs (int) and names (char*) appended.
 * -ENOENT when NVML cannot be loaded, -EIO (with a log line) when it answers with an error. */
int nvml_supported_types(const char *pf, GArray *ids, GPtrArray *names);
/* The GPU's name, "NVIDIA L40S" (g_free); NULL when NVML cannot tell. */
char *nvml_device_name(const char *pf);
/* Mixed-size ("heterogeneous") vGPU mode of a GPU: read (1 on, 0 off) or set. The driver refuses to
 * switch while any vGPU exists on the GPU (-EBUSY). -ENOENT without NVML, -EOPNOTSUPP when the GPU or
 * driver does not have the mode. */
int nvml_get_mixed_size(const char *pf);
/* Does the GPU have mixed-size mode at all (nvmlDeviceGetVgpuCapabilities,
 * NVML_DEVICE_VGPU_CAP_HETEROGENEOUS_TIMESLICE_SIZES; nvidia-smi -q "Heterogeneous Time-Slice Sizes")?
 * 1 yes, 0 no (also when the driver cannot be asked), -ENOENT without NVML, -EIO on an NVML error. */
int nvml_mixed_size_capable(const char *pf);
int nvml_set_mixed_size(const char *pf, bool on);

/* MIG: GPU instances, which MIG-backed vGPU types sit on. Calls used: nvmlDeviceGetMigMode,
 * nvmlVgpuTypeGetGpuInstanceProfileId, nvmlDeviceGetGpuInstanceProfileInfo,
 * nvmlDeviceGetGpuInstanceRemainingCapacity, nvmlDeviceGetGpuInstances, nvmlGpuInstanceGetInfo,
 * nvmlDeviceCreateGpuInstance, nvmlDeviceGetGpuInstanceById, nvmlGpuInstanceDestroy. Profiles are
 * named by NVML's profile id (nvidia-smi mig -lgip's "ID": 14 = 1g.24gb on an RTX PRO 6000 Blackwell),
 * GPU instances by their id (nvidia-smi's "GI ID", what a VF's gpu_instance_id reads). All: -ENOENT
 * without NVML, -EOPNOTSUPP when the GPU has no MIG or MIG mode is off (NVML's NOT_SUPPORTED), -EIO
 * (with a log line) for another NVML error. */
typedef struct {
        unsigned int id;             /* profile id */
        unsigned int slices;         /* GPU slices it takes */
        unsigned int instance_count; /* how many fit on the empty GPU */
        uint64_t memory_mib;
} NvmlGpuInstanceProfile;

/* 1 when MIG mode is on now (the pending mode needs a GPU reset and is not looked at), 0 off. */
int nvml_get_mig_mode(const char *pf);
/* The GPU instance profile id a vGPU type needs: >= 0 for a MIG-backed type, -ENODATA for a
 * time-sliced one (NVML's INVALID_GPU_INSTANCE_PROFILE_ID). */
int nvml_type_gpu_instance_profile(const char *pf, int type_id);
/* A profile by id (NVML is asked by index, each in turn); -ENOENT when no index has it. */
int nvml_gpu_instance_profile(const char *pf, unsigned int profile_id, NvmlGpuInstanceProfile *ret);
/* How many more GPU instances of the profile can be created now. */
int nvml_gpu_instance_remaining(const char *pf, unsigned int profile_id);
/* The ids of the GPU instances of a profile, appended to ret_ids (unsigned int). */
int nvml_gpu_instances(const char *pf, unsigned int profile_id, GArray *ret_ids);
/* Create one: its id (>= 0); -ENOSPC when the GPU has no room for it (INSUFFICIENT_RESOURCES). */
int nvml_create_gpu_instance(const char *pf, unsigned int profile_id);
/* Destroy one by id: 0; -EBUSY while in use (a vGPU sits on it), -ENOENT when there is none. */
int nvml_destroy_gpu_instance(const char *pf, unsigned int gi_id);
