/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Persistent definitions in mdevctl's layout: <dir>/<parent>/<uuid>, one JSON file each. A file that
 * cannot be read or parsed is reported as a warning and skipped; it never hides the others and is
 * never modified. Writes are atomic (temp file, fsync, rename, fsync of the directory): a reader or a
 * crash sees the old file or the new one, never a part. Temp files are dot files, which readers skip. */

#include <stdbool.h>
#include <glib.h>
#include "fileio.h"
#include "mdev-def.h"

/* The largest definition vgpud writes (mdevctl's bytes): mdevctl's own definitions are a few hundred
 * bytes. Define and Modify refuse a larger one with InvalidArgument. */
#define STORE_DEFINITION_MAX (64 * 1024)
/* The largest file the reader takes: an existing definition above STORE_DEFINITION_MAX (written by
 * another tool, or by an older vgpud) is still read, with a warning, and never rewritten or removed
 * unless asked; only beyond this is it skipped (with a warning, the file left as it is). */
#define STORE_READ_MAX (64 * 1024 * 1024)

typedef struct StoredDef {
        char *parent;
        char uuid[37];
        char *path;  /* the file */
        size_t size; /* of the file */
        MdevDef *def;
} StoredDef;

void stored_def_free(StoredDef *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoredDef, stored_def_free)

/* Read every definition under dir (a missing dir has none). ret_defs: StoredDef*, sorted by parent
 * then uuid; ret_warnings: human-readable lines (char*), one per skipped file. */
int store_load_all(const char *dir, GPtrArray **ret_defs, GPtrArray **ret_warnings);
/* Read one definition file. -ENOENT when missing, -EBADMSG (with *ret_error) when unparsable. */
int store_load_one(const char *dir, const char *parent, const char *uuid, StoredDef **ret, char **ret_error);

/* Can parent be a directory name under dir: a valid name (mdev_name_is_valid()) that the reader does
 * not skip (no leading '.', not "scripts.d")? */
bool store_parent_name_is_valid(const char *parent);

/* The parents under which uuid (canonical) is defined, sorted (strv, empty when none). */
int store_find(const char *dir, const char *uuid, char ***ret_parents);

/* The size of def in mdevctl's bytes, as store_write() would write it. */
size_t store_definition_size(const MdevDef *def);

/* Write def (mdevctl's bytes: mdev_def_to_json(def, true)) to <dir>/<parent>/<uuid>, replacing what is
 * there, atomically; dir and dir/parent are created as needed. Returns 0, -EINVAL for an invalid
 * parent, uuid or type, -EFBIG when it is larger than STORE_DEFINITION_MAX, or the errno of the file system
 * (-EROFS, -EACCES, -ENOSPC, ...); on failure the old file, if any, is untouched and no temp file is left.
 */
int store_write(const char *dir, const char *parent, const char *uuid, const MdevDef *def);

/* Delete <dir>/<parent>/<uuid> (and the parent's directory when that leaves it empty), durably.
 * Returns 0, -ENOENT when it is not there, -EINVAL, or the file system's errno. */
int store_remove(const char *dir, const char *parent, const char *uuid);

/* The same two in steps, for a batch (fileio.h, flusher.h): begin checks and prepares the change
 * (store_write_begin: the directories made, the bytes ready, nothing written yet; the errors of
 * store_write() that come before the file system's); the commit writes the temporary file, makes it
 * durable and gives its result; after a removal committed with 0, store_remove_end() removes the
 * parent's directory when it is empty. The caller calls it only when no change is on its way to a
 * commit (its temporary file, made then in that directory, would find the directory gone). */
int store_write_begin(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                      FileChange **ret);
/* store_write_begin(), and in *ret_stored what store_load_one() will read from the file once the change
 * is committed: the same bytes through the same parser, without reading them back from the disk. */
int store_write_begin_stored(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                             FileChange **ret, StoredDef **ret_stored);
/* store_write_begin_stored() in two steps, so that the parse can run while the change is made durable:
 * store_write_begin_own() writes (and notes the temporary file as vgpud's own, store_own_temp_take())
 * and gives the bytes written in *ret_json; store_parse_written() parses them as store_load_one()
 * parses the file. */
int store_write_begin_own(const char *dir, const char *parent, const char *uuid, const MdevDef *def,
                          FileChange **ret, char **ret_json);
int store_parse_written(const char *dir, const char *parent, const char *uuid, const char *json,
                        StoredDef **ret);
int store_remove_begin(const char *dir, const char *parent, const char *uuid, FileChange **ret);
void store_remove_end(const char *dir, const char *parent);

/* vgpud's own replacements through store_write_begin_stored(), whose job puts what it wrote into the
 * inventory itself: their temporary files, "<parent>/<temp name>", are noted when made, so that
 * store-watch can tell their rename from someone else's change and not read the file again.
 * store_own_temp_take() answers whether name (a temporary file's, in parent's directory) is one, and
 * forgets it; store_own_temps_forget() forgets them all (an inotify overflow: events lost). Loop thread
 * only. */
bool store_own_temp_take(const char *parent, const char *name);
void store_own_temps_forget(void);

/* Delete the temp files an interrupted store_write() left (only names it makes: ".<uuid>.XXXXXX"); for
 * startup, when no write can be in progress. Returns how many went. */
unsigned store_remove_temp_files(const char *dir);
