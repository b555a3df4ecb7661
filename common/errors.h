/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public error names of org.vgpud1 and their errno values. Internal code returns negative errno;
 * only D-Bus method handlers turn that into a named error (vgpud_bus_error_set), and clients turn a
 * named error back into an errno through the same table (sd_bus_error_add_map). */

#include <systemd/sd-bus.h>

#define VGPUD_ERROR_NOT_FOUND        "org.vgpud1.Error.NotFound"
#define VGPUD_ERROR_INVALID_ARGUMENT "org.vgpud1.Error.InvalidArgument"
#define VGPUD_ERROR_EXISTS           "org.vgpud1.Error.Exists"
#define VGPUD_ERROR_NO_CAPACITY      "org.vgpud1.Error.NoCapacity"
#define VGPUD_ERROR_SIZE_CONFLICT    "org.vgpud1.Error.SizeConflict"
#define VGPUD_ERROR_DRIVER_REFUSED   "org.vgpud1.Error.DriverRefused"
#define VGPUD_ERROR_BUSY             "org.vgpud1.Error.Busy"
#define VGPUD_ERROR_TIMEOUT          "org.vgpud1.Error.Timeout"
#define VGPUD_ERROR_CORRUPT          "org.vgpud1.Error.Corrupt"
#define VGPUD_ERROR_READ_ONLY        "org.vgpud1.Error.ReadOnly"
#define VGPUD_ERROR_IO               "org.vgpud1.Error.Io"
#define VGPUD_ERROR_MIG_MODE_OFF     "org.vgpud1.Error.MigModeOff"
#define VGPUD_ERROR_NVML_UNAVAILABLE "org.vgpud1.Error.NvmlUnavailable"
#define VGPUD_ERROR_NO_GPU_INSTANCE  "org.vgpud1.Error.NoGpuInstance"
#define VGPUD_ERROR_FAILED           "org.vgpud1.Error.Failed"
#define VGPUD_ERROR_NOT_SUPPORTED    "org.vgpud1.Error.NotSupported"

/* The one table of names and errno values (errors.c), for sd_bus_error_add_map() on the client side. */
extern const sd_bus_error_map vgpud_error_map[];

/* The error name for a (negative or positive) errno: ENOENT -> NotFound, EINVAL -> InvalidArgument,
 * EEXIST -> Exists, ENOSPC -> NoCapacity, EXDEV -> SizeConflict, EREMOTEIO (the kernel or vendor driver
 * refused) -> DriverRefused, EBUSY -> Busy, ETIMEDOUT -> Timeout,
 * EBADMSG -> Corrupt, EROFS -> ReadOnly, EPERM/EACCES -> org.freedesktop.DBus.Error.AccessDenied,
 * EIO -> Io, EMEDIUMTYPE -> MigModeOff, ELIBACC -> NvmlUnavailable, ENOSR -> NoGpuInstance (the
 * MIG-backed types of NVIDIA VF hosts: daemon/nvidia-mig.h; NvmlUnavailable also for mixed-size mode),
 * EOPNOTSUPP -> NotSupported (the GPU or driver lacks what was asked: mixed-size mode on a GPU without
 * the capability), anything else -> Failed.
 * The errno is a meaning, not where it came from: ENOSPC and EXDEV stand for the capacity model's
 * answers only, EACCES/EPERM for the caller's authorization only. A file system or sysfs error is
 * turned into its meaning where it happens (a failed write of vgpud's own files: EIO -> Io, naming
 * the path and the errno; see ops_io_fail() in daemon/), never passed through as is. */
const char *vgpud_error_name_from_errno(int error);

/* Fill *e with the named error for r and a printf-style message; returns r as a negative errno, so a
 * method handler can `return vgpud_bus_error_set(e, r, "...")`. */
int vgpud_bus_error_set(sd_bus_error *e, int r, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
