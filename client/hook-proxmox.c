/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading a Proxmox VE VM config for the hookscript (see hook-proxmox.h). */

#include <errno.h>
#include <string.h>

#include "hook-proxmox.h"
#include "macro.h"

void vc_pve_config_free(VcPveConfig *c)
{
        if (!c)
                return;
        g_ptr_array_unref(c->vgpus);
        g_clear_pointer(&c->hostpci, g_ptr_array_unref);
        g_free(c->args);
        g_free(c);
}

/* Proxmox stores the description's lines percent-encoded where needed; undo %XX. */
static char *decode_percent(const char *s)
{
        GString *out = g_string_new(NULL);

        for (const char *p = s; *p; p++) {
                if (p[0] == '%' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2])) {
                        g_string_append_c(
                                out, (char)(g_ascii_xdigit_value(p[1]) * 16 + g_ascii_xdigit_value(p[2])));
                        p += 2;
                } else
                        g_string_append_c(out, *p);
        }
        return g_string_free(out, false);
}

/* "profile=A16-2Q,slot=1,..." (a first item without '=' is the profile). */
static int parse_vgpud_line(const char *spec, unsigned line, VcVgpuRequest **ret, char **ret_error)
{
        g_autoptr(VcVgpuRequest) r = g_new0(VcVgpuRequest, 1);
        g_auto(GStrv) items = g_strsplit(spec, ",", -1);

        for (size_t i = 0; items[i]; i++) {
                g_autofree char *why = NULL;
                char *item = g_strstrip(items[i]);
                char *eq = strchr(item, '=');

                if (!*item) {
                        *ret_error = g_strdup_printf("line %u: an empty item in '#vgpud: %s'", line, spec);
                        return -EINVAL;
                }
                if (!eq && i == 0)
                        eq = NULL;
                else if (!eq) {
                        *ret_error = g_strdup_printf("line %u: '%s' is not key=value", line, item);
                        return -EINVAL;
                }
                if (eq) {
                        *eq = '\0';
                        g_strstrip(item);
                }
                if (vc_vgpu_request_set(r, eq ? item : "profile", eq ? g_strstrip(eq + 1) : item, false,
                                        &why) < 0) {
                        *ret_error = g_strdup_printf("line %u: %s", line, why);
                        return -EINVAL;
                }
        }
        *ret = g_steal_pointer(&r);
        return 0;
}

/* "hostpciN: value" / "numaN: value": N (at most max), or -1 when line is not one of name. */
static int numbered_key(const char *line, const char *name, unsigned max, const char **ret_value)
{
        const char *p = line + strlen(name);
        unsigned n = 0;

        if (!g_str_has_prefix(line, name) || !g_ascii_isdigit(*p))
                return -1;
        for (; g_ascii_isdigit(*p); p++) {
                n = n * 10 + (unsigned)(*p - '0');
                if (n > max)
                        return -1;
        }
        if (*p != ':')
                return -1;
        *ret_value = p + 1;
        return (int)n;
}

/* Proxmox's lines of the main section: hostpciN (into c->hostpci) and numaN (into numa). */
static int parse_option_line(VcPveConfig *c, const char *line, unsigned number, GPtrArray *numa,
                             char **ret_error)
{
        const char *value;
        int n;

        n = numbered_key(line, "hostpci", VC_PVE_MAX_HOSTPCI - 1, &value);
        if (n >= 0) {
                g_autofree char *v = g_strstrip(g_strdup(value));
                VcPveHostpci *h = NULL;

                if (vc_pve_hostpci_parse(v, (unsigned)n, number, &h, ret_error) < 0)
                        return -EINVAL;
                g_ptr_array_add(c->hostpci, h);
                return 0;
        }
        n = numbered_key(line, "numa", 7, &value);
        if (n >= 0)
                g_ptr_array_add(numa, g_strstrip(g_strdup(value)));
        return 0;
}

static gint compare_hostpci(gconstpointer a, gconstpointer b)
{
        const VcPveHostpci *x = *(VcPveHostpci *const *)a, *y = *(VcPveHostpci *const *)b;
        return (gint)x->index - (gint)y->index;
}

/* No two hostpci lines of one index (Proxmox keeps one), no vgpud line in an mdev line's slot. */
static int check_slots(VcPveConfig *c, const unsigned *lines, char **ret_error)
{
        g_ptr_array_sort(c->hostpci, compare_hostpci);
        for (guint i = 0; i < c->hostpci->len; i++) {
                const VcPveHostpci *h = c->hostpci->pdata[i];

                if (i > 0 && ((const VcPveHostpci *)c->hostpci->pdata[i - 1])->index == h->index) {
                        *ret_error = g_strdup_printf("line %u: hostpci%u is set twice", h->line, h->index);
                        return -EINVAL;
                }
                for (guint k = 0; h->mdev && k < c->vgpus->len; k++) {
                        const VcVgpuRequest *v = c->vgpus->pdata[k];
                        if (v->slot == h->index) {
                                *ret_error = g_strdup_printf(
                                        "line %u and line %u (hostpci%u, mdev=%s) both use slot %u: give "
                                        "the #vgpud: line another slot=",
                                        lines[k], h->line, h->index, h->mdev, h->index);
                                return -EINVAL;
                        }
                }
        }
        return 0;
}

int vc_pve_config_parse(const char *text, VcPveConfig **ret, char **ret_error)
{
        g_autoptr(GPtrArray) numa = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(VcPveConfig) c = g_new0(VcPveConfig, 1);
        g_autoptr(GArray) lines = g_array_new(false, true, sizeof(unsigned));
        g_auto(GStrv) split = g_strsplit(text, "\n", -1);
        g_autofree char *why = NULL;

        c->vgpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_vgpu_request_free);
        c->hostpci = g_ptr_array_new_with_free_func((GDestroyNotify)vc_pve_hostpci_free);
        for (unsigned n = 0; split[n]; n++) {
                const char *line = split[n];
                unsigned number = n + 1;
                size_t len = strlen(line);

                if (len > 0 && line[len - 1] == '\r')
                        split[n][len - 1] = '\0';
                if (line[0] == '[')
                        break; /* a snapshot or [PENDING] section: not the VM as it starts */
                if (line[0] == '#') {
                        g_autofree char *decoded = decode_percent(line + 1);
                        const char *s = decoded;
                        VcVgpuRequest *r = NULL;

                        while (*s == ' ' || *s == '\t')
                                s++;
                        if (!g_str_has_prefix(s, "vgpud:"))
                                continue;
                        s += strlen("vgpud:");
                        if (parse_vgpud_line(s, number, &r, ret_error) < 0)
                                return -EINVAL;
                        g_ptr_array_add(c->vgpus, r);
                        g_array_append_val(lines, number);
                        continue;
                }
                if (g_str_has_prefix(line, "args:")) {
                        g_free(c->args);
                        c->args = g_strstrip(g_strdup(line + strlen("args:")));
                } else if (parse_option_line(c, line, number, numa, ret_error) < 0)
                        return -EINVAL;
        }
        if (vc_vgpu_requests_finish(c->vgpus, "line", (const unsigned *)(void *)lines->data, &why) < 0) {
                *ret_error = g_steal_pointer(&why);
                return -EINVAL;
        }
        if (check_slots(c, (const unsigned *)(void *)lines->data, ret_error) < 0)
                return -EINVAL;
        g_ptr_array_add(numa, NULL);
        c->numa_node = vc_pve_config_numa_node((const char *const *)numa->pdata);
        *ret = g_steal_pointer(&c);
        return 0;
}

int vc_pve_parse_vmid(const char *s, uint32_t *ret)
{
        uint64_t v = 0;

        if (!*s || strlen(s) > 9)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (!g_ascii_isdigit(*p))
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v < 100 || s[0] == '0')
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

char *vc_pve_mdev_uuid(uint32_t slot, uint32_t vmid)
{
        return g_strdup_printf("%08u-0000-0000-0000-%012u", slot, vmid);
}
