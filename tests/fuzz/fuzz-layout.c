/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: vgpu-device-manager's YAML layout files (daemon/model/layout.c). */

#include <stdint.h>
#include <glib.h>

#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        LayoutFile *f = NULL;
        g_autofree char *why = NULL;

        if (layout_parse((const char *)data, size, &f, &why) >= 0)
                layout_file_free(f);
        return 0;
}
