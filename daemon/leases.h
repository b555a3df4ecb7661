/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leases: which owner holds which vGPU, in which slot. Kept in memory and in one key file,
 * <state dir>/leases, rewritten atomically (temp file, fsync, rename, fsync of the directory) after
 * every change, so that a crash leaves the old file or the new one. One group per lease, named by
 * the device's UUID:
 *
 *     [6f4b6b63-0f0e-4b8e-9a43-7d39c1a3b1e0]
 *     Owner=libvirt:web1
 *     Slot=0
 *     Parent=0000:41:00.4
 *     Type=nvidia-558
 *     Acquired=1795000000000000
 *     Defined=false
 *
 * No D-Bus, no sysfs: the allocation engine (ops-acquire.c) decides, this only remembers. */

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "fileio.h"

#include "uuid.h"

#define LEASES_FILE "leases"

typedef struct Lease {
        char uuid[VGPU_UUID_STRING_MAX];
        char *owner;
        uint32_t slot;
        char *parent;
        char *type;
        uint64_t acquired_usec; /* CLOCK_REALTIME */
        bool defined;           /* Acquire stored a definition for it (Release removes it) */
} Lease;

typedef struct Leases Leases;

/* Read <dir>/leases (missing: no leases). Never fails on content: a file that cannot be parsed, or
 * groups that are not valid leases, are reported in *ret_warning (NULL when none) and the file is
 * copied aside first, as leases.corrupt-<realtime usec>, so nothing is lost when the valid part is
 * written back. Returns 0 or a negative errno when the directory cannot be used (-ENOENT is not an
 * error: it is created on the first write). */
int leases_load(const char *dir, Leases **ret, char **ret_warning);
void leases_free(Leases *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Leases, leases_free)

/* Write the file now (atomically; the directory is created when missing). 0 or a negative errno; on
 * failure the old file is untouched. */
int leases_save(Leases *l);
/* The same in steps, for a batch (fileio.h, flusher.h): the file as the leases are now, written to a
 * temporary file, made durable and renamed by the commit (a later save in the same batch supersedes
 * it: it holds the leases as they are then, and its result is this one's). */
int leases_save_begin(Leases *l, FileChange **ret);
const char *leases_path(Leases *l);

/* Delete the temporary files an interrupted leases_save() left in dir (".leases.XXXXXX"); for startup,
 * when no write can be in progress. Returns how many went. */
unsigned leases_remove_temp_files(const char *dir);

/* What a lease is worth, given whether its device runs and whether its definition (parent/uuid in the
 * definitions directory) exists. A lease promises a running device, or with Defined=true one that
 * comes back from its definition; a promise that cannot be kept is not kept silently. */
typedef enum LeaseVerdict {
        LEASE_KEEP,     /* its device runs, or is defined and comes back */
        LEASE_UNDEFINE, /* its device runs but the definition Acquire stored is gone: Defined=false */
        LEASE_DROP,     /* neither device nor (for Defined=true) definition: it holds nothing */
} LeaseVerdict;
LeaseVerdict lease_verdict(const Lease *l, bool running, bool definition_exists);

/* Lookups (borrowed; NULL when none). */
Lease *leases_get(Leases *l, const char *uuid);
Lease *leases_get_slot(Leases *l, const char *owner, uint32_t slot);
bool leases_has_owner(Leases *l, const char *owner);
/* Every lease (Lease*, borrowed), sorted by owner then slot; only owner's when owner is not NULL. */
GPtrArray *leases_list(Leases *l, const char *owner);
unsigned leases_count(Leases *l);

/* Add a lease (a copy is kept) or replace the one with its UUID. -EINVAL for an invalid UUID or
 * owner; -EEXIST when owner's slot is held by another UUID. Not written until leases_save(). */
int leases_put(Leases *l, const Lease *lease);
/* Drop the lease of uuid: 0, or -ENOENT. Not written until leases_save(). */
int leases_remove(Leases *l, const char *uuid);
