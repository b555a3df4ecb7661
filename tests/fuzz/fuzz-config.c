/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: vgpud's own configuration file, vgpud.conf (daemon/config.c). */

#include <stdint.h>
#include <glib.h>

#include "vgpud-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        VgpudConfig c = {};
        g_autofree char *why = NULL;

        (void)config_load_data(&c, (const char *)data, size, "fuzz.conf", &why);
        config_done(&c);
        return 0;
}
