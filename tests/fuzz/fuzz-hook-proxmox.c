/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: a Proxmox VM config (client/hook-proxmox.c) and a VM id. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "hook-proxmox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autofree char *text = g_strndup((const char *)data, size);
        g_autoptr(VcPveConfig) c = NULL;
        g_autofree char *why = NULL;
        uint32_t vmid;

        (void)vc_pve_config_parse(text, &c, &why);
        (void)vc_pve_parse_vmid(text, &vmid);
        return 0;
}
