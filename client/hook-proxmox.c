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

int vc_pve_config_parse(const char *text, VcPveConfig **ret, char **ret_error)
{
        g_autoptr(VcPveConfig) c = g_new0(VcPveConfig, 1);
        g_autoptr(GArray) lines = g_array_new(false, true, sizeof(unsigned));
        g_auto(GStrv) split = g_strsplit(text, "\n", -1);
        g_autofree char *why = NULL;

        c->vgpus = g_ptr_array_new_with_free_func((GDestroyNotify)vc_vgpu_request_free);
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
                }
        }
        if (vc_vgpu_requests_finish(c->vgpus, "line", (const unsigned *)(void *)lines->data, &why) < 0) {
                *ret_error = g_steal_pointer(&why);
                return -EINVAL;
        }
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
