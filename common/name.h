/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one rule for names that vgpud puts into paths or output lines: parents (a directory under the
 * definitions directory, a field of `list -d`), types and owners. */

#include <stdbool.h>

/* A file name's limit: a parent is a directory name. */
#define NAME_LEN_MAX 255
/* How much of a rejected input an error message quotes. */
#define NAME_QUOTE_MAX 64

/* 1 to NAME_LEN_MAX bytes of valid UTF-8, every character printable and none a separator (no
 * whitespace, no '/'), not starting with '.' or '-' (a hidden file, an option). */
bool name_is_valid(const char *name);

/* An owner (of a lease: "libvirt:<domain>", "proxmox:<vmid>", a layout's, anyone's): the name rule, except
 * that a plain space (U+0020) may follow the first character. libvirt refuses only '\n' and '/' in a
 * domain's name, so "libvirt:my web vm" is an owner its hook makes; every other whitespace (tab, U+2028)
 * stays refused, so an owner is one field of one line wherever it is printed. */
bool name_is_valid_owner(const char *owner);

/* s for an error message: double-quoted, control characters escaped, at most NAME_QUOTE_MAX bytes of
 * it followed by "..." when longer (a 50 MB argument never becomes a 50 MB reply). g_free() it. */
char *name_quote(const char *s);
/* The same without the quotes, for messages that bring their own (mdevctl's wording). */
char *name_prefix(const char *s);
/* How a name read from a file (a definition's type) is shown in a field of an output line: itself when
 * name_is_valid(), otherwise name_prefix() with spaces, '/' and a leading '.' or '-' escaped too, so
 * that the result passes the rule (one field of one line) and the file keeps the original. g_free() it. */
char *name_shown(const char *s);
