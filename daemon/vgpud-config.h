/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpud's own configuration file (daemon/config.c): a GKeyFile, /etc/vgpud/vgpud.conf unless
 * --config=PATH names another. Every group and key vgpud knows is one row of the table in config.c
 * (group, key, type, where it goes, what it means); README.md lists them. What the table does not
 * know is refused: an unknown group or key, or a value of the wrong type, makes config_load() fail
 * with a message naming the file, the group and the key, and vgpud does not start (a typo must not
 * silently turn a setting off). A missing file at the default path means the defaults; a missing
 * file that --config named is an error. */

#include <stdbool.h>
#include <stdint.h>

#define VGPUD_CONFIG_FILE "/etc/vgpud/vgpud.conf"

typedef struct VgpudConfig {
        /* [Layout]: the vgpu-device-manager file and the name of the config in it that vgpud applies
         * at start and whenever the file changes; both NULL: no configured layout */
        char *layout_file;
        char *layout_config;
        char *layout_owner;        /* the lease owner of the layout's vGPUs (default "layout") */
        uint64_t layout_retry_sec; /* a layout that failed is tried again after this long; 0: only when
                                      the file changes (default 30) */

        /* [NvidiaVF]: SR-IOV and mixed-size mode of NVIDIA GPUs (daemon/sriov.c) */
        bool vf_enable_sriov;  /* enable the VFs of PFs that have none (default true) */
        char *vf_sriov_manage; /* sriov-manage's path; NULL: /usr/lib/nvidia/sriov-manage */
        char *vf_pfs;          /* the PFs to enable, space-separated addresses; NULL: every NVIDIA PF */
        char *vf_mixed_size;   /* PFs whose GPU goes to mixed-size mode, space-separated; NULL: none */

        /* [Storage]: durable changes through the intent log (common/intent-log.h; default true) */
        bool storage_intent_log;

        /* [Users]: who uses each vGPU (inventory-owners.c): libvirt's runtime status directory, and
         * how often vgpud looks for processes holding the devices (seconds; 0: only when asked) */
        char *users_libvirt_run_dir;
        uint64_t users_scan_interval_sec;
} VgpudConfig;

#define VGPUD_LAYOUT_OWNER_DEFAULT          "layout"
#define VGPUD_LAYOUT_RETRY_SEC_DEFAULT      30
#define VGPUD_USERS_LIBVIRT_RUN_DIR_DEFAULT "/run/libvirt/qemu"
#define VGPUD_USERS_SCAN_INTERVAL_DEFAULT   30

/* Fill *c from the file at path (NULL: VGPUD_CONFIG_FILE, where a missing file is no error). Keys
 * missing from the file keep their defaults. Returns 0, or a negative errno with *ret_why set to a
 * sentence (file, line or group and key): -ENOENT (an explicit path that does not exist), -EINVAL
 * (syntax, unknown group or key, bad value), another errno when the file cannot be read. */
int config_load(VgpudConfig *c, const char *path, char **ret_why);

/* Parse a configuration from a buffer (the fuzz and unit-test entry point); name is used in
 * messages. Same contract as config_load(). */
int config_load_data(VgpudConfig *c, const char *data, size_t len, const char *name, char **ret_why);

/* Free what *c holds and set every field back to its default (NULL, false, 0). */
void config_done(VgpudConfig *c);
