/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: libvirt's domain XML as the hook reads it on stdin (client/hook-libvirt.c). */

#include <stdint.h>
#include <glib.h>

#include "hook-libvirt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autoptr(VcDomain) d = NULL;
        g_autofree char *why = NULL;

        if (vc_domain_parse((const char *)data, (gssize)size, &d, &why) >= 0)
                (void)vc_domain_has_mdev(d, "11111111-2d7b-4b8e-9a55-7f0e2a1d3c41");
        return 0;
}
