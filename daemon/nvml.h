/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The few NVML calls vgpud makes, through libnvidia-ml.so.1 loaded with dlopen() at run time (never
 * linked, no build dependency; a host without the NVIDIA driver simply has no NVML). Calls used:
 * nvmlInit_v2, nvmlShutdown, nvmlErrorString, nvmlDeviceGetHandleByPciBusId_v2, nvmlDeviceGetName,
 * nvmlDeviceGetSupportedVgpus, nvmlVgpuTypeGetName, nvmlDeviceGetVgpuHeterogeneousMode,
 * nvmlDeviceSetVgpuHeterogeneousMode. The library is looked up by the dynamic loader's rules, so a test
 * points LD_LIBRARY_PATH at a fake one. Each call initializes NVML and shuts it down again: vgpud asks
 * rarely (a GPU appearing) and must not keep the driver's NVML state open. */

#include <stdbool.h>
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
int nvml_set_mixed_size(const char *pf, bool on);
