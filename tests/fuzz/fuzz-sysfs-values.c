/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the values vgpud takes from sysfs and uevents besides types: device and parent names
 * (the name rule, PCI addresses, UUIDs in every form mdevctl takes) and link targets resolved against
 * a directory (daemon/sysfs-mdev.c). The input is "dir\0target" or a single value. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "name.h"
#include "sysfs-mdev.h"
#include "uuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autofree char *s = g_malloc(size + 1);
        g_autofree char *resolved = NULL, *q = NULL, *shown = NULL;
        char uuid[VGPU_UUID_STRING_MAX];
        const char *second;

        memcpy(s, data, size);
        s[size] = '\0';
        (void)sysfs_is_pci_address(s);
        (void)name_is_valid(s);
        q = name_quote(s);
        if (strlen(q) > NAME_QUOTE_MAX * 4 + 5)
                __builtin_trap(); /* bounded, whatever the input */
        shown = name_shown(s);
        if (!name_is_valid(shown) || (name_is_valid(s) && strcmp(shown, s) != 0))
                __builtin_trap(); /* one field of one line, and a valid name shown as it is */
        if (vgpu_uuid_parse(s, uuid) >= 0 && !vgpu_uuid_is_canonical(uuid))
                __builtin_trap();
        second = strlen(s) < size ? s + strlen(s) + 1 : NULL;
        if (second)
                resolved = sysfs_path_resolve(s, second);
        return 0;
}
