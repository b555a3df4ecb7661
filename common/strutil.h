/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The small string helpers of vgpud and vgpuctl (header only, so that the pure model can use them
 * without linking anything). NULL is a valid argument everywhere. */

#include <stdbool.h>
#include <string.h>

/* NULL or "": "not given", as the D-Bus API spells an absent string. */
static inline bool str_empty(const char *s)
{
        return !s || !*s;
}

/* Equal strings, or both NULL. */
static inline bool str_eq0(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* s, or fallback when s is NULL or "". */
static inline const char *str_or(const char *s, const char *fallback)
{
        return str_empty(s) ? fallback : s;
}
