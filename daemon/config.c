/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpud's configuration file: one table of the groups and keys it knows, read with GKeyFile. To add a
 * setting: a field in VgpudConfig (vgpud-config.h), a row in config_keys[], a line in README.md's
 * "Configuration" table, and its default in config_defaults() when it is not NULL/false/0. */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <glib.h>

#include "macro.h"
#include "sysfs-util.h"
#include "vgpud-config.h"

typedef enum {
        CONFIG_STRING, /* char *: any non-empty UTF-8 string without control characters */
        CONFIG_PATH,   /* char *: an absolute path */
        CONFIG_BOOL,   /* bool: true/false (GKeyFile's forms) */
        CONFIG_UINT,   /* uint64_t: a decimal number */
} ConfigType;

typedef struct ConfigKey {
        const char *group;
        const char *key;
        ConfigType type;
        size_t offset; /* of the field in VgpudConfig */
} ConfigKey;

/* Every key vgpud reads. Keep README.md's table in the same order. */
static const ConfigKey config_keys[] = {
        {"Layout", "File", CONFIG_PATH, offsetof(VgpudConfig, layout_file)},
        {"Layout", "Config", CONFIG_STRING, offsetof(VgpudConfig, layout_config)},
        {"Layout", "Owner", CONFIG_STRING, offsetof(VgpudConfig, layout_owner)},
        {"Layout", "RetrySec", CONFIG_UINT, offsetof(VgpudConfig, layout_retry_sec)},
        {"NvidiaVF", "EnableSRIOV", CONFIG_BOOL, offsetof(VgpudConfig, vf_enable_sriov)},
        {"NvidiaVF", "SRIOVManage", CONFIG_PATH, offsetof(VgpudConfig, vf_sriov_manage)},
        {"NvidiaVF", "PFs", CONFIG_STRING, offsetof(VgpudConfig, vf_pfs)},
        {"NvidiaVF", "MixedSize", CONFIG_STRING, offsetof(VgpudConfig, vf_mixed_size)},
        {"Storage", "IntentLog", CONFIG_BOOL, offsetof(VgpudConfig, storage_intent_log)},
        {"Users", "LibvirtRunDirectory", CONFIG_PATH, offsetof(VgpudConfig, users_libvirt_run_dir)},
        {"Users", "ScanIntervalSec", CONFIG_UINT, offsetof(VgpudConfig, users_scan_interval_sec)},
};

/* A space-separated list of PCI addresses ("0000:c1:00.0 0000:c2:00.0"); NULL is an empty one. */
static bool pci_address_list_is_valid(const char *s)
{
        g_auto(GStrv) words = g_strsplit_set(s ? s : "", " \t", -1);

        for (char **w = words; *w; w++)
                if (**w && !sysfs_is_pci_address(*w))
                        return false;
        return true;
}

static const ConfigKey *config_key_find(const char *group, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (g_str_equal(config_keys[i].group, group) &&
                    (!key || g_str_equal(config_keys[i].key, key)))
                        return &config_keys[i];
        return NULL;
}

void config_done(VgpudConfig *c)
{
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                void *field = (char *)c + k->offset;

                if (k->type == CONFIG_STRING || k->type == CONFIG_PATH)
                        g_clear_pointer((char **)field, g_free);
        }
        memset(c, 0, sizeof(*c));
}

static bool string_is_clean(const char *s)
{
        if (!*s || !g_utf8_validate(s, -1, NULL))
                return false;
        for (const char *p = s; *p; p = g_utf8_next_char(p))
                if (g_unichar_iscntrl(g_utf8_get_char(p)))
                        return false;
        return true;
}

/* Read one key into its field; on failure *ret_why says why (without the file's name). */
static int config_key_read(VgpudConfig *c, GKeyFile *kf, const ConfigKey *k, char **ret_why)
{
        g_autoptr(GError) err = NULL;
        void *field = (char *)c + k->offset;

        switch (k->type) {
        case CONFIG_STRING:
        case CONFIG_PATH: {
                g_autofree char *v = g_key_file_get_string(kf, k->group, k->key, &err);

                if (!v || !string_is_clean(v)) {
                        *ret_why = g_strdup("the value is empty or not plain text");
                        return -EINVAL;
                }
                if (k->type == CONFIG_PATH && !g_path_is_absolute(v)) {
                        *ret_why = g_strdup_printf("'%s' is not an absolute path", v);
                        return -EINVAL;
                }
                g_free(*(char **)field);
                *(char **)field = TAKE_PTR(v);
                return 0;
        }
        case CONFIG_BOOL: {
                gboolean b = g_key_file_get_boolean(kf, k->group, k->key, &err);

                if (err) {
                        *ret_why = g_strdup("the value is not true or false");
                        return -EINVAL;
                }
                *(bool *)field = b;
                return 0;
        }
        case CONFIG_UINT: {
                g_autofree char *v = g_key_file_get_value(kf, k->group, k->key, NULL);
                guint64 n = 0;

                if (!v || !g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, &n, NULL)) {
                        *ret_why = g_strdup("the value is not a decimal number");
                        return -EINVAL;
                }
                *(uint64_t *)field = n;
                return 0;
        }
        }
        return -EINVAL;
}

static void config_defaults(VgpudConfig *c)
{
        c->layout_owner = g_strdup(VGPUD_LAYOUT_OWNER_DEFAULT);
        c->layout_retry_sec = VGPUD_LAYOUT_RETRY_SEC_DEFAULT;
        c->vf_enable_sriov = true;
        c->storage_intent_log = true;
        c->users_libvirt_run_dir = g_strdup(VGPUD_USERS_LIBVIRT_RUN_DIR_DEFAULT);
        c->users_scan_interval_sec = VGPUD_USERS_SCAN_INTERVAL_DEFAULT;
}

/* Every group and key of kf must be in the table; then read them all. */
static int config_apply(VgpudConfig *c, GKeyFile *kf, const char *name, char **ret_why)
{
        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

        for (size_t g = 0; groups[g]; g++) {
                g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);

                if (!config_key_find(groups[g], NULL)) {
                        *ret_why = g_strdup_printf("%s: unknown group [%s]", name, groups[g]);
                        return -EINVAL;
                }
                for (size_t i = 0; keys && keys[i]; i++) {
                        const ConfigKey *k = config_key_find(groups[g], keys[i]);
                        g_autofree char *why = NULL;
                        int r;

                        if (!k) {
                                *ret_why = g_strdup_printf("%s: unknown key %s in [%s]", name, keys[i],
                                                           groups[g]);
                                return -EINVAL;
                        }
                        r = config_key_read(c, kf, k, &why);
                        if (r < 0) {
                                *ret_why = g_strdup_printf("%s: [%s] %s: %s", name, groups[g], keys[i], why);
                                return r;
                        }
                }
        }
        if (!pci_address_list_is_valid(c->vf_pfs) || !pci_address_list_is_valid(c->vf_mixed_size)) {
                *ret_why = g_strdup_printf("%s: [NvidiaVF] PFs and MixedSize take PCI addresses "
                                           "(0000:c1:00.0) separated by spaces",
                                           name);
                return -EINVAL;
        }
        if ((c->layout_file != NULL) != (c->layout_config != NULL)) {
                *ret_why = g_strdup_printf("%s: [Layout] needs both File and Config", name);
                return -EINVAL;
        }
        return 0;
}

/* GKeyFile hides localized keys (Key[de]=) from g_key_file_get_keys(): vgpud has none, so any is
 * refused here, from the text, with its line. */
static int config_check_localized(const char *data, size_t len, const char *name, char **ret_why)
{
        g_autofree char *text = g_strndup(data, len);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

        for (size_t i = 0; lines[i]; i++) {
                const char *l = lines[i] + strspn(lines[i], " \t");
                const char *eq = strchr(l, '=');

                if (*l == '#' || *l == '[' || !eq)
                        continue;
                if (memchr(l, '[', (size_t)(eq - l))) {
                        *ret_why = g_strdup_printf("%s:%zu: localized keys are not supported: %.*s", name,
                                                   i + 1, (int)(eq - l), l);
                        return -EINVAL;
                }
        }
        return 0;
}

int config_load_data(VgpudConfig *c, const char *data, size_t len, const char *name, char **ret_why)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) err = NULL;
        int r;

        config_done(c);
        config_defaults(c);
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &err)) {
                *ret_why = g_strdup_printf("%s: %s", name, err->message);
                return -EINVAL;
        }
        r = config_check_localized(data, len, name, ret_why);
        if (r >= 0)
                r = config_apply(c, kf, name, ret_why);
        if (r < 0) {
                config_done(c);
                config_defaults(c);
        }
        return r;
}

int config_load(VgpudConfig *c, const char *path, char **ret_why)
{
        const char *p = path ? path : VGPUD_CONFIG_FILE;
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        gsize len = 0;

        if (!g_file_get_contents(p, &data, &len, &err)) {
                int r = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? -ENOENT : -EIO;

                config_done(c);
                config_defaults(c);
                if (r == -ENOENT && !path)
                        return 0;
                *ret_why = g_strdup_printf("Cannot read %s: %s", p, err->message);
                return r;
        }
        return config_load_data(c, data, len, p, ret_why);
}
