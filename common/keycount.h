/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counts per string key, for limits on what one client has in flight (requests queued per client,
 * polkit checks per sender): the table is made on first use, and a key goes when its count is back
 * at 0, so the table holds only clients that have something in flight. */
#pragma once

#include <glib.h>

/* The count of key (0 when the table was never made or the key has none). */
static inline unsigned keycount_get(GHashTable *table, const char *key)
{
        return table ? GPOINTER_TO_UINT(g_hash_table_lookup(table, key)) : 0;
}

/* Adds delta to the count of key; returns the new count. */
static inline unsigned keycount_add(GHashTable **table, const char *key, int delta)
{
        unsigned n;

        if (!*table)
                *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        n = keycount_get(*table, key) + (unsigned)delta;
        if (n == 0)
                g_hash_table_remove(*table, key);
        else
                g_hash_table_insert(*table, g_strdup(key), GUINT_TO_POINTER(n));
        return n;
}
