/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NVIDIA vgpu-device-manager's configuration file, version v1, read with libyaml. Pure parsing of a
 * buffer: no I/O, no D-Bus, no sysfs (the fuzz and unit-test entry point is layout_parse()).
 *
 *   version: v1
 *   vgpu-configs:
 *     NAME:                          # one or more named layouts
 *       - devices: all | [0, 2]      # required: every GPU, or GPU indexes (see below)
 *         device-filter: "0x25B610DE"          # optional: a PCI id or a list of them
 *         vgpu-devices: {"A16-4Q": 4}          # required: vGPUs per selected GPU ({} = none)
 *
 * GPU indexes are counted as vgpu-device-manager counts them: the NVIDIA PCI functions of class
 * display VGA (0x0300) or 3D (0x0302) that are not SR-IOV virtual functions, ordered by PCI address;
 * each of an A16's four GPUs has its own index. A device-filter is "0xDDDDVVVV" (PCI device id, then
 * vendor id: "0x25B610DE" is both the A16 and the A2) or "0xDDDDVVVV:0xSSSSssss" with the subsystem
 * device and vendor ids ("0x25B610DE:0x14A910DE" is the A16 alone). vgpu-devices keys are vGPU type
 * names as vgpud's profiles take them (a type id "nvidia-558", a full name "NVIDIA A16-4Q", a short
 * name "A16-4Q"); counts are integers >= 1.
 *
 * Refused, with the line and column (1-based) of the offending node: YAML syntax errors, more than
 * one document, a missing or other version, unknown fields at any level, a missing required field,
 * duplicate keys, wrong types (a quoted number, a negative or huge count or index), an empty
 * vgpu-configs or config list, an invalid device-filter, anchors pointing at wrong types. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define LAYOUT_MAX_BYTES (1024 * 1024) /* larger files are refused */
#define LAYOUT_MAX_INDEX 4095          /* the largest GPU index accepted */
#define LAYOUT_MAX_COUNT 4096          /* the largest count of one type on one GPU */

typedef struct {
        uint16_t device, vendor;
        bool has_subsystem;
        uint16_t subsystem_device, subsystem_vendor;
} LayoutDeviceId;

typedef struct {
        char *type; /* as written */
        uint32_t count;
        unsigned line, column;
} LayoutVgpu;

typedef struct {
        bool all_devices;
        GArray *indexes; /* guint, as written (duplicates removed); empty when all_devices */
        GArray *filters; /* LayoutDeviceId; empty: no filter */
        GArray *vgpus;   /* LayoutVgpu, in the file's order; may be empty */
        unsigned line, column;
} LayoutEntry;

typedef struct {
        char *name;
        GPtrArray *entries; /* LayoutEntry*, at least one */
        unsigned line, column;
} LayoutConfig;

typedef struct {
        GPtrArray *configs; /* LayoutConfig*, in the file's order, at least one */
} LayoutFile;

/* Parse data[0..len) (need not be NUL-terminated). Returns 0 with *ret (free with
 * layout_file_free()), or -EINVAL with *ret_why "LINE:COLUMN: what is wrong" (-EFBIG when len >
 * LAYOUT_MAX_BYTES). */
int layout_parse(const char *data, size_t len, LayoutFile **ret, char **ret_why);
void layout_file_free(LayoutFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LayoutFile, layout_file_free)

/* The config of that name, or NULL. */
const LayoutConfig *layout_file_find(const LayoutFile *f, const char *name);

/* Parse "0xDDDDVVVV" or "0xDDDDVVVV:0xSSSSssss" (8 hex digits in any case after each "0x", which is
 * required). Returns 0 or -EINVAL. */
int layout_device_id_parse(const char *s, LayoutDeviceId *ret);

/* Does filter f select a GPU with these ids? Device and vendor must be equal; with a subsystem in f,
 * the subsystem ids too. */
bool layout_device_id_matches(const LayoutDeviceId *f, uint16_t vendor, uint16_t device,
                              uint16_t subsystem_vendor, uint16_t subsystem_device);

/* Does entry e select the GPU with this index (-1: a parent vgpud counts but vgpu-device-manager does
 * not, such as Intel GVT-g or mtty: selected by "devices: all" without a filter only) and ids? */
bool layout_entry_selects(const LayoutEntry *e, int index, uint16_t vendor, uint16_t device,
                          uint16_t subsystem_vendor, uint16_t subsystem_device);
