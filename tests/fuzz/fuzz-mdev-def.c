/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: mdevctl's JSON definitions (common/mdev-def.c), as Define and the store read them; what
 * parses must write back and parse again to the same bytes. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "mdev-def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        g_autoptr(MdevDef) def = NULL, again = NULL;
        g_autofree char *why = NULL, *json = NULL, *json2 = NULL, *why2 = NULL;

        if (mdev_def_parse((const char *)data, size, &def, &why) < 0)
                return 0;
        json = mdev_def_to_json(def, true);
        if (mdev_def_parse(json, strlen(json), &again, &why2) < 0)
                __builtin_trap(); /* what vgpud writes, it must read */
        json2 = mdev_def_to_json(again, true);
        if (strcmp(json, json2) != 0)
                __builtin_trap();
        return 0;
}
