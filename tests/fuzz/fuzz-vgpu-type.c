/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: a type's id, name and description as sysfs gives them (daemon/model/vgpu-type.c), and a
 * profile matched against it; the input is the four strings separated by NUL bytes. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "vgpu-type.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autofree char *copy = g_malloc(size + 1);
        const char *part[4] = {"", "", "", ""};
        g_autoptr(VgpuType) t = NULL;
        size_t at = 0;

        memcpy(copy, data, size);
        copy[size] = '\0';
        for (int i = 0; i < 4 && at <= size; i++) {
                part[i] = copy + at;
                at += strlen(copy + at) + 1;
        }
        t = vgpu_type_new(part[0], part[1], part[2]);
        if (t)
                (void)vgpu_type_matches_profile(t, part[3]);
        return 0;
}
