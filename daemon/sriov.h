/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SR-IOV on NVIDIA GPUs: the VFs that carry vGPUs (vendor-specific VFIO, and the Ampere mdev hosts) are
 * gone after every reboot until something enables them again. At startup and whenever an NVIDIA PF is
 * bound to the nvidia driver, vgpud enables them where needed: a PF (vendor 0x10de, driver "nvidia", no
 * physfn) with sriov_totalvfs > 0 and sriov_numvfs 0, among the configured ones (all by default). It
 * runs NVIDIA's sriov-manage -e <PF> when that is installed (the driver's own way; it can fail
 * transiently with "Cannot obtain unbindLock"), else writes sriov_totalvfs to sriov_numvfs; one PF at a
 * time, retried a few times, and a warning (log and Manager.Warnings) when it does not happen. The VFs
 * then appear through uevents and their definitions start with autostart. Nothing here blocks the loop:
 * sriov-manage runs as a child process watched by sd-event. The rebind that enabling does resets the
 * GPU's mixed-size mode: PFs configured for it get it through NVML (nvml.h) once their VFs are there, as
 * long as no vGPU exists on them (the driver refuses otherwise). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "inventory.h"

#define SRIOV_MANAGE_DEFAULT     "/usr/lib/nvidia/sriov-manage"
#define SRIOV_ATTEMPTS_DEFAULT   5
#define SRIOV_RETRY_USEC_DEFAULT (2ULL * 1000 * 1000)

typedef struct SriovSettings {
        bool enable;         /* false: never enable anything */
        const char *manage;  /* sriov-manage's path (NULL: SRIOV_MANAGE_DEFAULT) */
        char **pfs;          /* PF addresses to enable (NULL: every NVIDIA PF that has VFs to give) */
        unsigned attempts;   /* 0: SRIOV_ATTEMPTS_DEFAULT */
        uint64_t retry_usec; /* 0: SRIOV_RETRY_USEC_DEFAULT */
        char **mixed_size;   /* PFs to put into mixed-size mode through NVML once their VFs are there and
                                before their first vGPU (NULL: none) */
} SriovSettings;

typedef struct Sriov Sriov;

/* root: the sysfs root (NULL: "/sys"). The settings are copied; inv is borrowed (warnings go there). */
int sriov_new(sd_event *event, Inventory *inv, const char *root, const SriovSettings *settings, Sriov **ret);
void sriov_free(Sriov *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Sriov, sriov_free)

/* Enable the VFs of pf (NULL: of every PF) where needed. Queues the work; runs from the loop. */
void sriov_check(Sriov *s, const char *pf);
/* Does the PF at root need its VFs enabled (NVIDIA, bound to nvidia, VFs to give, none enabled)? */
bool sriov_pf_needs_enabling(const char *root, const char *pf);
/* PFs waiting or being enabled (for tests and logs). */
unsigned sriov_pending(Sriov *s);
