/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Proxmox VE's hostpciN lines and PCI resource mappings (see hook-proxmox-pci.h). */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hook-proxmox-pci.h"

void vc_pve_hostpci_free(VcPveHostpci *h)
{
        if (!h)
                return;
        g_free(h->mdev);
        g_free(h->mapping);
        g_strfreev(h->hosts);
        g_free(h);
}

static int fail(char **ret_error, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **ret_error, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        *ret_error = g_strdup_vprintf(format, ap);
        va_end(ap);
        return -EINVAL;
}

static bool hex_run(const char *s, size_t min, size_t max, size_t *ret_len)
{
        size_t n = 0;

        while (g_ascii_isxdigit(s[n]))
                n++;
        *ret_len = n;
        return n >= min && n <= max;
}

char *vc_pve_pci_id_normalize(const char *id, bool *ret_whole)
{
        g_autofree char *lower = g_ascii_strdown(id, -1);
        const char *s = lower, *domain = "0000";
        g_autofree char *dom = NULL;
        size_t n;

        /* [domain:]bus:slot[.fn]: a domain has 4 or more digits, bus and slot 2, the function 1 */
        if (!hex_run(s, 2, 16, &n))
                return NULL;
        if (n >= 4) {
                if (s[n] != ':')
                        return NULL;
                dom = g_strndup(s, n);
                domain = dom;
                s += n + 1;
                if (!hex_run(s, 2, 2, &n))
                        return NULL;
        } else if (n != 2)
                return NULL;
        if (s[2] != ':' || !hex_run(s + 3, 2, 2, &n))
                return NULL;
        if (s[5] == '\0') {
                *ret_whole = true;
                return g_strdup_printf("%s:%.5s.0", domain, s);
        }
        if (s[5] != '.' || !g_ascii_isxdigit(s[6]) || s[7] != '\0')
                return NULL;
        *ret_whole = false;
        return g_strdup_printf("%s:%s", domain, s);
}

/* "a;b;c" -> normalized ids; NULL with *ret_error for a bad one. */
static char **split_ids(const char *list, const char *what, char **ret_error)
{
        g_auto(GStrv) ids = g_strsplit(list, ";", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

        for (size_t i = 0; ids[i]; i++) {
                bool whole;
                char *n = vc_pve_pci_id_normalize(g_strstrip(ids[i]), &whole);

                if (!n) {
                        fail(ret_error, "%s: '%s' is not a PCI id (like 0000:63:00.4)", what, ids[i]);
                        return NULL;
                }
                g_ptr_array_add(out, n);
        }
        if (out->len == 0) {
                fail(ret_error, "%s: no PCI id", what);
                return NULL;
        }
        g_ptr_array_add(out, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&out), false);
}

static bool mdev_type_valid(const char *t)
{
        return *t && !strpbrk(t, "/.:");
}

int vc_pve_hostpci_parse(const char *value, unsigned index, unsigned line, VcPveHostpci **ret,
                         char **ret_error)
{
        g_autoptr(VcPveHostpci) h = g_new0(VcPveHostpci, 1);
        g_auto(GStrv) items = g_strsplit(value, ",", -1);
        g_autofree char *what = g_strdup_printf("line %u, hostpci%u", line, index);
        const char *host = NULL;

        h->index = index;
        h->line = line;
        for (size_t i = 0; items[i]; i++) {
                char *item = g_strstrip(items[i]), *eq = strchr(item, '=');
                const char *key = item, *val;

                if (!*item)
                        continue;
                if (!eq && i == 0) {
                        key = "host";
                        val = item;
                } else if (!eq)
                        return fail(ret_error, "%s: '%s' is not key=value", what, item);
                else {
                        *eq = '\0';
                        val = eq + 1;
                }
                if (strcmp(key, "host") == 0)
                        host = val;
                else if (strcmp(key, "mapping") == 0) {
                        g_free(h->mapping);
                        h->mapping = g_strdup(val);
                } else if (strcmp(key, "mdev") == 0) {
                        if (!mdev_type_valid(val))
                                return fail(ret_error, "%s: mdev '%s' is not an mdev type", what, val);
                        g_free(h->mdev);
                        h->mdev = g_strdup(val);
                } else if (strcmp(key, "pcie") == 0)
                        h->pcie = strcmp(val, "1") == 0 || g_ascii_strcasecmp(val, "on") == 0 ||
                                  g_ascii_strcasecmp(val, "yes") == 0 ||
                                  g_ascii_strcasecmp(val, "true") == 0;
                /* any other key is qemu-server's business */
        }
        if (host && h->mapping)
                return fail(ret_error, "%s: both host and mapping are set (qemu-server refuses that)", what);
        if (!host && !h->mapping)
                return fail(ret_error, "%s: neither host nor mapping is set", what);
        if (h->mapping && !*h->mapping)
                return fail(ret_error, "%s: mapping is empty", what);
        if (host) {
                h->hosts = split_ids(host, what, ret_error);
                if (!h->hosts)
                        return -EINVAL;
        }
        *ret = g_steal_pointer(&h);
        return 0;
}

/* The value of key in a property string "k=v,k=v" (NULL when not there). */
static char *property(const char *s, const char *key)
{
        g_auto(GStrv) items = g_strsplit(s, ",", -1);

        for (size_t i = 0; items[i]; i++) {
                char *eq = strchr(items[i], '=');
                if (eq && (size_t)(eq - items[i]) == strlen(key) && strncmp(items[i], key, strlen(key)) == 0)
                        return g_strdup(g_strstrip(eq + 1));
        }
        return NULL;
}

int vc_pve_mapping_parse(const char *text, const char *name, const char *node, GPtrArray **ret,
                         char **ret_error)
{
        g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        bool in_section = false, seen = false;

        for (unsigned n = 0; lines[n]; n++) {
                char *line = lines[n];
                g_autofree char *path = NULL, *on = NULL;
                char *value;

                g_strchomp(line);
                if (!*line || line[0] == '#') {
                        if (!*line)
                                in_section = false; /* a blank line ends a section */
                        continue;
                }
                if (!g_ascii_isspace(line[0])) { /* a section header: the mapping's id */
                        in_section = strcmp(g_strstrip(line), name) == 0;
                        seen = seen || in_section;
                        continue;
                }
                line = g_strstrip(line);
                if (!in_section || !g_str_has_prefix(line, "map") || !g_ascii_isspace(line[3]))
                        continue;
                value = g_strstrip(line + 3);
                on = property(value, "node");
                if (!on || strcmp(on, node) != 0)
                        continue;
                path = property(value, "path");
                if (!path) {
                        *ret_error =
                                g_strdup_printf("mapping '%s', line %u: the entry of node '%s' has no path",
                                                name, n + 1, node);
                        return -EINVAL;
                }
                {
                        g_autofree char *what = g_strdup_printf("mapping '%s', line %u", name, n + 1);
                        char **ids = split_ids(path, what, ret_error);
                        if (!ids)
                                return -EINVAL;
                        g_ptr_array_add(found, ids);
                }
        }
        if (!seen) {
                *ret_error = g_strdup_printf("there is no PCI mapping '%s'", name);
                return -ENOENT;
        }
        if (found->len == 0) {
                *ret_error = g_strdup_printf("PCI mapping '%s' has no device on node '%s'", name, node);
                return -ENOENT;
        }
        *ret = g_steal_pointer(&found);
        return 0;
}

int vc_pve_config_numa_node(const char *const *numa_values)
{
        int node = -1;

        for (; numa_values && *numa_values; numa_values++) {
                g_autofree char *nodes = property(*numa_values, "hostnodes");
                char *end = NULL;
                long v;

                if (!nodes || !*nodes || !g_ascii_isdigit(nodes[0]))
                        return -1;
                v = strtol(nodes, &end, 10);
                if (*end || v < 0 || v > 65535 || (node >= 0 && node != (int)v))
                        return -1;
                node = (int)v;
        }
        return node;
}
