/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Persistent definitions in mdevctl's layout: <dir>/<parent>/<uuid>, one JSON file each. A file that
 * cannot be read or parsed is reported as a warning and skipped; it never hides the others and is
 * never modified. */

#include <glib.h>
#include "mdev-def.h"

typedef struct StoredDef {
        char *parent;
        char uuid[37];
        char *path;   /* the file */
        MdevDef *def;
} StoredDef;

void stored_def_free(StoredDef *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoredDef, stored_def_free)

/* Read every definition under dir (a missing dir has none). ret_defs: StoredDef*, sorted by parent
 * then uuid; ret_warnings: human-readable lines (char*), one per skipped file. */
int store_load_all(const char *dir, GPtrArray **ret_defs, GPtrArray **ret_warnings);
/* Read one definition file. -ENOENT when missing, -EBADMSG (with *ret_error) when unparsable. */
int store_load_one(const char *dir, const char *parent, const char *uuid, StoredDef **ret, char **ret_error);
