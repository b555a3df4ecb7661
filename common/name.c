/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The name rule (name.h). */

#include <string.h>
#include <glib.h>

#include "name.h"

static bool name_check(const char *name, bool spaces)
{
        size_t len;

        if (!name)
                return false;
        len = strlen(name);
        if (len == 0 || len > NAME_LEN_MAX || name[0] == '.' || name[0] == '-' ||
            !g_utf8_validate(name, (gssize)len, NULL))
                return false;
        for (const char *p = name; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (c == ' ' && spaces && p != name)
                        continue;
                if (c == '/' || g_unichar_isspace(c) || !g_unichar_isprint(c))
                        return false;
        }
        return true;
}

bool name_is_valid(const char *name)
{
        return name_check(name, false);
}

bool name_is_valid_owner(const char *owner)
{
        return name_check(owner, true);
}

char *name_prefix(const char *s)
{
        size_t len = s ? strlen(s) : 0, cut = len > NAME_QUOTE_MAX ? NAME_QUOTE_MAX : len;
        g_autofree char *prefix = g_strndup(s ? s : "", cut);
        g_autofree char *escaped = g_strescape(prefix, NULL);

        return g_strdup_printf("%s%s", escaped, cut < len ? "..." : "");
}

char *name_quote(const char *s)
{
        g_autofree char *p = name_prefix(s);

        return g_strdup_printf("\"%s\"", p);
}

char *name_shown(const char *s)
{
        g_autofree char *p = NULL;
        GString *out;

        if (name_is_valid(s))
                return g_strdup(s);
        p = name_prefix(s);
        out = g_string_new(NULL);
        for (const char *c = p; *c; c++)
                if (*c == ' ' || *c == '/' || (c == p && (*c == '.' || *c == '-')))
                        g_string_append_printf(out, "\\x%02x", (unsigned)(unsigned char)*c);
                else
                        g_string_append_c(out, *c);
        if (out->len == 0)
                g_string_append(out, "\"\"");
        if (out->len > NAME_LEN_MAX) { /* 64 bytes escaped to 4 characters each, and the "..." */
                g_string_truncate(out, NAME_LEN_MAX - 3);
                g_string_append(out, "...");
        }
        return g_string_free(out, FALSE);
}
