/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one durable, atomic file writer of vgpud (definitions, leases, anything it says it wrote). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Replace name in the directory dirfd with exactly len bytes of data: a temporary file ".<name>.XXXXXX"
 * in the same directory (a dot name, so readers that skip dot files never take a leftover of a crash
 * for the real file), fsync, rename over name, fsync the directory. mode is open()'s (the umask
 * applies). When it returns 0 a power cut keeps the new contents; when it fails name is untouched and
 * the temporary file removed. A negative errno on failure. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Is entry a temporary file write_file_atomic_at() makes for name (".<name>.XXXXXX")? */
bool is_temp_file_of(const char *entry, const char *name);
