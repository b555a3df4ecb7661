/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpu-device-manager's config v1 (layout.h): libyaml's document API, then a walk over the nodes
 * that knows the schema. The schema has a fixed depth, and every node may be visited only once (an
 * alias is refused), so neither a cyclic nor an exponential document costs more than its size. */

#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "macro.h"
#include "layout.h"

typedef struct {
        yaml_document_t *doc;
        guint8 *seen; /* per node index: visited already */
        size_t n_nodes;
        char *why;
} Walk;

static yaml_node_t *walk_node(Walk *w, int index)
{
        return yaml_document_get_node(w->doc, index);
}

static int walk_fail(Walk *w, const yaml_node_t *n, const char *format, ...) _printf_(3, 4);
static int walk_fail(Walk *w, const yaml_node_t *n, const char *format, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        msg = g_strdup_vprintf(format, ap);
        va_end(ap);
        if (!w->why)
                w->why = g_strdup_printf("%zu:%zu: %s", n ? n->start_mark.line + 1 : 1,
                                         n ? n->start_mark.column + 1 : 1, msg);
        return -EINVAL;
}

/* Mark a node as visited; a second visit means an alias. */
static int walk_visit(Walk *w, const yaml_node_t *n)
{
        size_t i = (size_t)(n - w->doc->nodes.start);

        if (i >= w->n_nodes)
                return walk_fail(w, n, "internal: node out of range");
        if (w->seen[i])
                return walk_fail(w, n, "this node is used twice: anchors and aliases are not supported");
        w->seen[i] = 1;
        return 0;
}

static const char *node_kind(const yaml_node_t *n)
{
        switch (n->type) {
        case YAML_SCALAR_NODE: return "a scalar";
        case YAML_SEQUENCE_NODE: return "a list";
        case YAML_MAPPING_NODE: return "a mapping";
        default: return "nothing";
        }
}

static int walk_expect(Walk *w, yaml_node_t *n, yaml_node_type_t type, const char *what)
{
        int r = walk_visit(w, n);

        if (r < 0)
                return r;
        if (n->type != type)
                return walk_fail(w, n, "%s must be %s, not %s", what,
                                 type == YAML_SCALAR_NODE     ? "a single value"
                                 : type == YAML_SEQUENCE_NODE ? "a list"
                                                              : "a mapping",
                                 node_kind(n));
        return 0;
}

/* The text of a scalar node; NULL when it holds a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
        const char *s = (const char *)n->data.scalar.value;

        return strlen(s) == n->data.scalar.length ? s : NULL;
}

static int walk_string(Walk *w, yaml_node_t *n, const char *what, const char **ret)
{
        int r = walk_expect(w, n, YAML_SCALAR_NODE, what);

        if (r < 0)
                return r;
        *ret = scalar(n);
        if (!*ret || !**ret || !g_utf8_validate(*ret, -1, NULL))
                return walk_fail(w, n, "%s must be a non-empty UTF-8 string", what);
        return 0;
}

/* A plain (unquoted) decimal integer in [min, max]. */
static int walk_uint(Walk *w, yaml_node_t *n, const char *what, guint64 min, guint64 max, guint64 *ret)
{
        const char *s;
        int r = walk_expect(w, n, YAML_SCALAR_NODE, what);

        if (r < 0)
                return r;
        s = scalar(n);
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !s ||
            !g_ascii_string_to_unsigned(s, 10, min, max, ret, NULL))
                return walk_fail(w, n,
                                 "%s must be a number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                                 ", not '%s'",
                                 what, min, max, s ? s : "");
        return 0;
}

/* Call fn for each key/value of a mapping, refusing duplicate keys. */
typedef int (*PairFn)(Walk *w, yaml_node_t *key, const char *k, yaml_node_t *value, void *userdata);

static int walk_mapping(Walk *w, yaml_node_t *n, const char *what, PairFn fn, void *userdata)
{
        g_autoptr(GHashTable) keys = g_hash_table_new(g_str_hash, g_str_equal);
        int r = walk_expect(w, n, YAML_MAPPING_NODE, what);

        if (r < 0)
                return r;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *key = walk_node(w, p->key), *value = walk_node(w, p->value);
                const char *k;

                if (!key || !value)
                        return walk_fail(w, n, "internal: missing node");
                r = walk_string(w, key, "a key", &k);
                if (r < 0)
                        return r;
                if (!g_hash_table_add(keys, (gpointer)k))
                        return walk_fail(w, key, "duplicate key '%s'", k);
                r = fn(w, key, k, value, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layout_device_id_parse(const char *s, LayoutDeviceId *ret)
{
        guint64 a, b = 0;
        const char *colon;
        g_autofree char *first = NULL;

        if (!s)
                return -EINVAL;
        colon = strchr(s, ':');
        first = colon ? g_strndup(s, (size_t)(colon - s)) : g_strdup(s);
        /* exactly "0x" and 8 hex digits on each side */
        if (strlen(first) != 10 || g_ascii_strncasecmp(first, "0x", 2) != 0 ||
            !g_ascii_string_to_unsigned(first + 2, 16, 0, G_MAXUINT32, &a, NULL))
                return -EINVAL;
        if (colon && (strlen(colon + 1) != 10 || g_ascii_strncasecmp(colon + 1, "0x", 2) != 0 ||
                      !g_ascii_string_to_unsigned(colon + 3, 16, 0, G_MAXUINT32, &b, NULL)))
                return -EINVAL;
        *ret = (LayoutDeviceId){
                .device = (uint16_t)(a >> 16),
                .vendor = (uint16_t)a,
                .has_subsystem = colon != NULL,
                .subsystem_device = (uint16_t)(b >> 16),
                .subsystem_vendor = (uint16_t)b,
        };
        return 0;
}

bool layout_device_id_matches(const LayoutDeviceId *f, uint16_t vendor, uint16_t device,
                              uint16_t subsystem_vendor, uint16_t subsystem_device)
{
        if (f->vendor != vendor || f->device != device)
                return false;
        return !f->has_subsystem ||
               (f->subsystem_vendor == subsystem_vendor && f->subsystem_device == subsystem_device);
}

bool layout_entry_selects(const LayoutEntry *e, int index, uint16_t vendor, uint16_t device,
                          uint16_t subsystem_vendor, uint16_t subsystem_device)
{
        bool filtered = false;

        if (e->filters->len > 0) {
                if (index < 0)
                        return false;
                for (guint i = 0; i < e->filters->len && !filtered; i++)
                        filtered =
                                layout_device_id_matches(&g_array_index(e->filters, LayoutDeviceId, i),
                                                         vendor, device, subsystem_vendor, subsystem_device);
                if (!filtered)
                        return false;
        }
        if (e->all_devices)
                return true;
        for (guint i = 0; i < e->indexes->len; i++)
                if (index >= 0 && g_array_index(e->indexes, guint, i) == (guint)index)
                        return true;
        return false;
}

static void layout_entry_free(LayoutEntry *e)
{
        if (!e)
                return;
        g_array_unref(e->indexes);
        g_array_unref(e->filters);
        for (guint i = 0; i < e->vgpus->len; i++)
                g_free(g_array_index(e->vgpus, LayoutVgpu, i).type);
        g_array_unref(e->vgpus);
        g_free(e);
}

static void layout_config_free(LayoutConfig *c)
{
        if (!c)
                return;
        g_free(c->name);
        g_ptr_array_unref(c->entries);
        g_free(c);
}

void layout_file_free(LayoutFile *f)
{
        if (!f)
                return;
        g_ptr_array_unref(f->configs);
        g_free(f);
}

const LayoutConfig *layout_file_find(const LayoutFile *f, const char *name)
{
        for (guint i = 0; f && name && i < f->configs->len; i++) {
                const LayoutConfig *c = f->configs->pdata[i];

                if (g_str_equal(c->name, name))
                        return c;
        }
        return NULL;
}

static int entry_devices(Walk *w, LayoutEntry *e, yaml_node_t *v)
{
        int r;

        if (v->type == YAML_SCALAR_NODE) {
                const char *s;

                r = walk_string(w, v, "devices", &s);
                if (r < 0)
                        return r;
                if (!g_str_equal(s, "all"))
                        return walk_fail(w, v, "devices must be 'all' or a list of GPU indexes, not '%s'",
                                         s);
                e->all_devices = true;
                return 0;
        }
        r = walk_expect(w, v, YAML_SEQUENCE_NODE, "devices ('all' or a list of GPU indexes)");
        if (r < 0)
                return r;
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
                yaml_node_t *n = walk_node(w, *i);
                guint64 index;
                bool dup = false;

                r = walk_uint(w, n, "a GPU index", 0, LAYOUT_MAX_INDEX, &index);
                if (r < 0)
                        return r;
                for (guint j = 0; j < e->indexes->len; j++)
                        dup = dup || g_array_index(e->indexes, guint, j) == index;
                if (!dup)
                        g_array_append_val(e->indexes, (guint){(guint)index});
        }
        return 0;
}

static int entry_filter_one(Walk *w, LayoutEntry *e, yaml_node_t *n)
{
        LayoutDeviceId id;
        const char *s;
        int r = walk_string(w, n, "device-filter", &s);

        if (r < 0)
                return r;
        if (layout_device_id_parse(s, &id) < 0)
                return walk_fail(w, n,
                                 "device-filter '%s' is not a PCI id such as 0x25B610DE or "
                                 "0x25B610DE:0x14A910DE",
                                 s);
        g_array_append_val(e->filters, id);
        return 0;
}

static int entry_filter(Walk *w, LayoutEntry *e, yaml_node_t *v)
{
        int r;

        if (v->type == YAML_SCALAR_NODE)
                return entry_filter_one(w, e, v);
        r = walk_expect(w, v, YAML_SEQUENCE_NODE, "device-filter (a PCI id or a list of them)");
        if (r < 0)
                return r;
        if (v->data.sequence.items.start == v->data.sequence.items.top)
                return walk_fail(w, v, "device-filter must not be an empty list");
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
                r = entry_filter_one(w, e, walk_node(w, *i));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int vgpu_pair(Walk *w, yaml_node_t *key, const char *k, yaml_node_t *value, void *userdata)
{
        LayoutEntry *e = userdata;
        LayoutVgpu v = {.line = (unsigned)key->start_mark.line + 1,
                        .column = (unsigned)key->start_mark.column + 1};
        g_autofree char *what = g_strdup_printf("the count of '%s'", k);
        guint64 count;
        int r = walk_uint(w, value, what, 1, LAYOUT_MAX_COUNT, &count);

        if (r < 0)
                return r;
        v.type = g_strdup(k);
        v.count = (uint32_t)count;
        g_array_append_val(e->vgpus, v);
        return 0;
}

typedef struct {
        LayoutEntry *e;
        bool has_devices, has_vgpus;
} EntryParse;

static int entry_pair(Walk *w, yaml_node_t *key, const char *k, yaml_node_t *value, void *userdata)
{
        EntryParse *p = userdata;

        if (g_str_equal(k, "devices")) {
                p->has_devices = true;
                return entry_devices(w, p->e, value);
        }
        if (g_str_equal(k, "device-filter"))
                return entry_filter(w, p->e, value);
        if (g_str_equal(k, "vgpu-devices")) {
                p->has_vgpus = true;
                return walk_mapping(w, value, "vgpu-devices", vgpu_pair, p->e);
        }
        return walk_fail(w, key, "unknown field '%s' (expected devices, device-filter or vgpu-devices)", k);
}

static int config_entries(Walk *w, LayoutConfig *c, yaml_node_t *v)
{
        int r = walk_expect(w, v, YAML_SEQUENCE_NODE, "a vgpu-config");

        if (r < 0)
                return r;
        if (v->data.sequence.items.start == v->data.sequence.items.top)
                return walk_fail(w, v, "vgpu-config '%s' needs at least one entry", c->name);
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
                yaml_node_t *n = walk_node(w, *i);
                LayoutEntry *e = g_new0(LayoutEntry, 1);
                EntryParse p = {.e = e};

                e->indexes = g_array_new(false, false, sizeof(guint));
                e->filters = g_array_new(false, false, sizeof(LayoutDeviceId));
                e->vgpus = g_array_new(false, false, sizeof(LayoutVgpu));
                e->line = (unsigned)n->start_mark.line + 1;
                e->column = (unsigned)n->start_mark.column + 1;
                g_ptr_array_add(c->entries, e);
                if (n->type == YAML_SCALAR_NODE)
                        return walk_fail(w, n,
                                         "an entry must be a mapping with devices and vgpu-devices, not the "
                                         "string '%s'",
                                         scalar(n) ? scalar(n) : "");
                r = walk_mapping(w, n, "an entry", entry_pair, &p);
                if (r < 0)
                        return r;
                if (!p.has_devices || !p.has_vgpus)
                        return walk_fail(w, n, "missing required field: %s",
                                         !p.has_devices ? "devices" : "vgpu-devices");
        }
        return 0;
}

static int configs_pair(Walk *w, yaml_node_t *key, const char *k, yaml_node_t *value, void *userdata)
{
        LayoutFile *f = userdata;
        LayoutConfig *c = g_new0(LayoutConfig, 1);

        c->name = g_strdup(k);
        c->entries = g_ptr_array_new_with_free_func((GDestroyNotify)layout_entry_free);
        c->line = (unsigned)key->start_mark.line + 1;
        c->column = (unsigned)key->start_mark.column + 1;
        g_ptr_array_add(f->configs, c);
        return config_entries(w, c, value);
}

typedef struct {
        LayoutFile *f;
        bool has_version, has_configs;
} RootParse;

static int root_pair(Walk *w, yaml_node_t *key, const char *k, yaml_node_t *value, void *userdata)
{
        RootParse *p = userdata;
        int r;

        if (g_str_equal(k, "version")) {
                const char *v;

                p->has_version = true;
                r = walk_string(w, value, "version", &v);
                if (r < 0)
                        return r;
                if (!g_str_equal(v, "v1"))
                        return walk_fail(w, value, "unknown version '%s' (vgpud reads v1)", v);
                return 0;
        }
        if (g_str_equal(k, "vgpu-configs")) {
                p->has_configs = true;
                r = walk_mapping(w, value, "vgpu-configs", configs_pair, p->f);
                if (r < 0)
                        return r;
                if (p->f->configs->len == 0)
                        return walk_fail(w, value, "vgpu-configs needs at least one config");
                return 0;
        }
        return walk_fail(w, key, "unknown field '%s' (expected version and vgpu-configs)", k);
}

static int parse_document(Walk *w, LayoutFile *f)
{
        yaml_node_t *root = yaml_document_get_root_node(w->doc);
        RootParse p = {.f = f};
        int r;

        if (!root)
                return walk_fail(w, NULL, "the file is empty");
        r = walk_mapping(w, root, "the file", root_pair, &p);
        if (r < 0)
                return r;
        if (!p.has_version)
                return walk_fail(w, root, "missing required field: version");
        if (!p.has_configs)
                return walk_fail(w, root, "missing required field: vgpu-configs");
        return 0;
}

static void parser_fail(yaml_parser_t *parser, const char *data, char **ret_why)
{
        size_t line = parser->problem_mark.line, column = parser->problem_mark.column;

        /* the reader (bad UTF-8, control characters) says only the byte offset */
        if (parser->error == YAML_READER_ERROR) {
                line = column = 0;
                for (size_t i = 0; i < parser->problem_offset; i++) {
                        column++;
                        if (data[i] == '\n')
                                line++, column = 0;
                }
        }
        *ret_why = g_strdup_printf("%zu:%zu: %s%s%s", line + 1, column + 1,
                                   parser->problem ? parser->problem : "invalid YAML",
                                   parser->context ? " " : "", parser->context ? parser->context : "");
}

int layout_parse(const char *data, size_t len, LayoutFile **ret, char **ret_why)
{
        g_autoptr(LayoutFile) f = g_new0(LayoutFile, 1);
        yaml_parser_t parser;
        yaml_document_t doc, extra;
        Walk w = {.doc = &doc};
        int r;

        f->configs = g_ptr_array_new_with_free_func((GDestroyNotify)layout_config_free);
        if (len > LAYOUT_MAX_BYTES) {
                *ret_why = g_strdup_printf("1:1: the file is larger than %d bytes", LAYOUT_MAX_BYTES);
                return -EFBIG;
        }
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
        if (!yaml_parser_load(&parser, &doc)) {
                parser_fail(&parser, data, ret_why);
                yaml_parser_delete(&parser);
                return -EINVAL;
        }
        w.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
        w.seen = g_new0(guint8, w.n_nodes + 1);
        r = parse_document(&w, f);
        if (r >= 0) {
                /* a second document is refused: which one would count? */
                if (!yaml_parser_load(&parser, &extra)) {
                        parser_fail(&parser, data, &w.why);
                        r = -EINVAL;
                } else {
                        yaml_node_t *n = yaml_document_get_root_node(&extra);

                        if (n)
                                r = walk_fail(&w, n, "only one YAML document is allowed");
                        yaml_document_delete(&extra);
                }
        }
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        g_free(w.seen);
        if (r < 0) {
                *ret_why = TAKE_PTR(w.why);
                return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}
