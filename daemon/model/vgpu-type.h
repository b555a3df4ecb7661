/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an mdev type is: its vendor, board, short profile, series, framebuffer size, limits, parsed
 * from the strings sysfs gives for it (the type directory name, its `name` and `description` files).
 * Pure parsing: no I/O. Every parser here accepts any input, including NULL, empty and nonsense
 * strings, and answers with zeros/NULLs for what it cannot read. */

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

typedef enum {
        VGPU_VENDOR_UNKNOWN,
        VGPU_VENDOR_NVIDIA,
        VGPU_VENDOR_INTEL,
        VGPU_VENDOR_SAMPLE, /* the kernel's sample drivers: mtty, mdpy, mbochs */
} VgpuVendor;

typedef struct VgpuType {
        char *id;          /* the type directory name as given: "nvidia-222", "i915-GVTg_V5_4", "mtty-2";
                              NULL when none was given */
        char *name;        /* the `name` file, trimmed; NULL when none or empty */
        VgpuVendor vendor; /* id "nvidia-*" or name "GRID <x>"/"NVIDIA <x>" -> NVIDIA; id "i915-*" -> INTEL;
                              id "mtty-*"/"mdpy-*"/"mbochs-*" -> SAMPLE. The id decides when it is known. */

        /* NVIDIA profile, from the name "GRID T4-2Q", "NVIDIA A100-1-5CME"; all NULL/0 unless the name
         * is a well-formed NVIDIA profile: <board>-[<slices>-]<size><series> */
        char *board;         /* "T4", "A40", "RTXA6000", "A100", "M10", "P40" */
        char *profile;       /* the short profile: the name minus its "GRID "/"NVIDIA " prefix: "T4-2Q",
                                "A100-1-5C" */
        char *series;        /* what follows the size: "Q", "B", "A", "C", "B4", "CME", "CGFX" */
        uint32_t mig_slices; /* "A100-1-5C" -> 1, "A100-7-40C" -> 7; 0 = time-sliced (not MIG-backed) */

        /* Size and limits. framebuffer_mib is 0 when unknown. The description's "framebuffer=<n>M" wins
         * over the size in the name (which is in GiB, "0" meaning 512 MiB). mbochs' "virtual display,
         * 16 MB video memory" gives 16. mdpy's "virtual display, 640x480 framebuffer" gives only a
         * resolution (max_resolution "640x480"), no size. Intel GVT-g types have no framebuffer size:
         * their memory is the gvt_* fields below. */
        uint64_t framebuffer_mib;
        uint32_t max_instances; /* "max_instance=" of an NVIDIA description; 0 unknown */
        uint32_t num_heads;     /* "num_heads=" ; 0 unknown */
        uint32_t frl_config;    /* "frl_config=" (frame rate limit); 0 unknown */
        char *max_resolution;   /* "max_resolution=", GVT-g "resolution:", or mdpy's "<w>x<h> framebuffer";
                                   always "<w>x<h>" with both > 0, else NULL */

        /* Intel GVT-g, from "low_gm_size: 128MB high_gm_size: 512MB fence: 4 resolution: 1920x1200
         * weight: 4" (newlines or spaces between the fields); 0 unknown */
        uint32_t gvt_low_gm_mib, gvt_high_gm_mib, gvt_fence, gvt_weight;
} VgpuType;

/* Parse a type. Any argument may be NULL or empty; the result is never NULL (aborts only on OOM, as
 * glib does). */
VgpuType *vgpu_type_new(const char *id, const char *name, const char *description);
void vgpu_type_free(VgpuType *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VgpuType, vgpu_type_free)

/* The size class that NVIDIA's "one vGPU size per GPU core" rule keys on: the framebuffer in MiB of an
 * NVIDIA time-sliced type. 0 (no size rule) for:
 *  - non-NVIDIA types (Intel GVT-g, the samples, unknown);
 *  - NVIDIA types whose framebuffer is unknown;
 *  - MIG-backed types (mig_slices > 0): each runs in its own GPU instance, whose size and count the MIG
 *    partitioning decides, not the time-sliced size rule. Their limit is max_instances and what the
 *    driver reports as available_instances. (A GPU is either in MIG mode or not; the driver shows no
 *    time-sliced types as available in MIG mode and vice versa, so the two never meet on one core.) */
uint64_t vgpu_type_size_class(const VgpuType *t);

/* Does this type answer to a user's profile string? Compared case-insensitively after trimming white
 * space, the string may be: the type id ("nvidia-558"); the full name ("NVIDIA A40-8Q"); the short
 * profile ("A40-8Q"); or, for NVIDIA profiles, the part after the board: size and series ("8Q", "2B4",
 * "0B"), with the slice count for MIG-backed types ("1-5C", not "5C"). NULL/empty never matches. */
bool vgpu_type_matches_profile(const VgpuType *t, const char *profile);

/* "nvidia", "intel", "sample", "unknown" (also for out-of-range values). */
const char *vgpu_vendor_to_string(VgpuVendor v);
