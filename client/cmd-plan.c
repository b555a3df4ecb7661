/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl plan [PROFILE] [placement options] [--json]`: Manager.Plan, read over the private socket
 * when there is one. Prints what the host can still take per framebuffer size class and per GPU core,
 * and where the next vGPU of PROFILE would go; when it does not fit, the reason as "Error: ..." and
 * exit 1. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "alloc-client.h"
#include "bus-client.h"
#include "cli-positional.h"
#include "cli.h"
#include "json-writer.h"
#include "lifecycle-client.h"
#include "macro.h"

enum {
        OPT_PARENT,
        OPT_BOARD,
        OPT_NUMA_NODE,
        OPT_POLICY,
        OPT_JSON,
};

static const VcOption plan_options[] = {
        {OPT_BOARD, "board", 0, "BOARD", VC_VALUE_STRING},
        {OPT_JSON, "json", 0, NULL, VC_VALUE_STRING},
        {OPT_NUMA_NODE, "numa-node", 0, "NODE", VC_VALUE_U32},
        {OPT_PARENT, "parent", 'p', "PARENT", VC_VALUE_STRING},
        {OPT_POLICY, "policy", 0, "POLICY", VC_VALUE_STRING},
        VC_OPTION_END,
};

static int check_plan(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args)
{
        return vc_check_placement(ctx, cmd, args, OPT_POLICY, OPT_NUMA_NODE);
}

typedef struct PlanClass {
        uint64_t size_mib;
        uint32_t at_size, in_all;
} PlanClass;

typedef struct PlanType {
        const char *id, *name;
        uint64_t framebuffer_mib;
        uint32_t fits;
} PlanType;

typedef struct PlanCore {
        const char *core, *board, *board_model;
        int32_t numa_node;
        uint64_t size_class;
        bool mixed;
        uint32_t used, capacity;
        GArray *types; /* PlanType */
} PlanCore;

typedef struct Plan {
        GArray *classes;  /* PlanClass */
        GPtrArray *cores; /* PlanCore* */
        bool fits;
        const char *parent, *type_id, *type_name, *core, *error_name, *error_message;
} Plan;

static void plan_core_free(PlanCore *c)
{
        if (!c)
                return;
        g_array_unref(c->types);
        g_free(c);
}

static void plan_clear(Plan *p)
{
        g_clear_pointer(&p->classes, g_array_unref);
        g_clear_pointer(&p->cores, g_ptr_array_unref);
}

/* Parse the reply; strings point into it. */
static int plan_read(sd_bus_message *reply, Plan *p)
{
        int r, fits;

        p->classes = g_array_new(false, true, sizeof(PlanClass));
        p->cores = g_ptr_array_new_with_free_func((GDestroyNotify)plan_core_free);

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(tuu)");
        while (r >= 0) {
                PlanClass c;
                r = sd_bus_message_read(reply, "(tuu)", &c.size_mib, &c.at_size, &c.in_all);
                if (r <= 0)
                        break;
                g_array_append_val(p->classes, c);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(sssitbuua(sstu))");
        while (r >= 0) {
                g_autoptr(GArray) types = NULL;
                PlanCore c = {};
                int mixed;

                r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_STRUCT, "sssitbuua(sstu)");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "sssitbuu", &c.core, &c.board, &c.board_model, &c.numa_node,
                                        &c.size_class, &mixed, &c.used, &c.capacity);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(sstu)");
                types = g_array_new(false, true, sizeof(PlanType));
                while (r >= 0) {
                        PlanType t;
                        r = sd_bus_message_read(reply, "(sstu)", &t.id, &t.name, &t.framebuffer_mib,
                                                &t.fits);
                        if (r <= 0)
                                break;
                        g_array_append_val(types, t);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                c.mixed = mixed;
                c.types = g_steal_pointer(&types);
                g_ptr_array_add(p->cores, g_memdup2(&c, sizeof c));
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "(bssssss)", &fits, &p->parent, &p->type_id, &p->type_name,
                                        &p->core, &p->error_name, &p->error_message);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to Plan");
        p->fits = fits;
        return 0;
}

static char *format_mib(uint64_t mib)
{
        if (mib % 1024 == 0)
                return g_strdup_printf("%" PRIu64 "G", mib / 1024);
        return g_strdup_printf("%" PRIu64 "M", mib);
}

/* What still fits on a core: "6x2G" per framebuffer size (the most of any type of that size), and
 * "id:N" for types without a size; "full" when nothing does. */
static char *core_fits(const PlanCore *c)
{
        g_autoptr(GString) s = g_string_new(NULL);
        g_autoptr(GArray) sizes = g_array_new(false, true, sizeof(uint64_t));
        g_autoptr(GArray) best = g_array_new(false, true, sizeof(uint32_t));

        for (guint i = 0; i < c->types->len; i++) {
                const PlanType *t = &g_array_index(c->types, PlanType, i);
                guint j;

                if (t->framebuffer_mib == 0 || t->fits == 0)
                        continue;
                for (j = 0; j < sizes->len; j++)
                        if (g_array_index(sizes, uint64_t, j) == t->framebuffer_mib)
                                break;
                if (j == sizes->len) {
                        uint32_t zero = 0;
                        /* keep sizes ascending */
                        for (j = 0; j < sizes->len && g_array_index(sizes, uint64_t, j) < t->framebuffer_mib;
                             j++)
                                ;
                        g_array_insert_val(sizes, j, t->framebuffer_mib);
                        g_array_insert_val(best, j, zero);
                }
                g_array_index(best, uint32_t, j) = MAX(g_array_index(best, uint32_t, j), t->fits);
        }
        for (guint j = 0; j < sizes->len; j++) {
                g_autofree char *size = format_mib(g_array_index(sizes, uint64_t, j));
                g_string_append_printf(s, "%s%ux%s", s->len ? " " : "", g_array_index(best, uint32_t, j),
                                       size);
        }
        for (guint i = 0; i < c->types->len; i++) {
                const PlanType *t = &g_array_index(c->types, PlanType, i);
                if (t->framebuffer_mib == 0 && t->fits > 0)
                        g_string_append_printf(s, "%s%s:%u", s->len ? " " : "", t->id, t->fits);
        }
        if (s->len == 0)
                g_string_append(s, "full");
        return g_string_free(g_steal_pointer(&s), false);
}

static void format_text(const Plan *p, const char *profile, GString *out)
{
        g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
        static const char *const class_headers[] = {"SIZE", "FITS AT SIZE", "FITS IN ALL"};
        static const char *const core_headers[] = {"CORE",  "BOARD", "NUMA",    "SIZE",
                                                   "MIXED", "VGPUS", "FITS NOW"};

        if (p->classes->len > 0) {
                for (size_t i = 0; i < ELEMENTSOF(class_headers); i++)
                        g_ptr_array_add(cells, g_strdup(class_headers[i]));
                for (guint i = 0; i < p->classes->len; i++) {
                        const PlanClass *c = &g_array_index(p->classes, PlanClass, i);
                        g_ptr_array_add(cells, format_mib(c->size_mib));
                        g_ptr_array_add(cells, g_strdup_printf("%u", c->at_size));
                        g_ptr_array_add(cells, g_strdup_printf("%u", c->in_all));
                }
                vc_append_table(out, cells, ELEMENTSOF(class_headers));
                g_string_append_c(out, '\n');
                g_ptr_array_set_size(cells, 0);
        }

        for (size_t i = 0; i < ELEMENTSOF(core_headers); i++)
                g_ptr_array_add(cells, g_strdup(core_headers[i]));
        for (guint i = 0; i < p->cores->len; i++) {
                const PlanCore *c = p->cores->pdata[i];
                const char *board = *c->board ? c->board : "-";

                g_ptr_array_add(cells, g_strdup(c->core));
                g_ptr_array_add(cells, *c->board_model ? g_strdup_printf("%s (%s)", board, c->board_model)
                                                       : g_strdup(board));
                g_ptr_array_add(cells,
                                c->numa_node >= 0 ? g_strdup_printf("%d", c->numa_node) : g_strdup("-"));
                g_ptr_array_add(cells, c->size_class ? format_mib(c->size_class) : g_strdup("-"));
                g_ptr_array_add(cells, g_strdup(c->mixed ? "yes" : "no"));
                g_ptr_array_add(cells, c->capacity ? g_strdup_printf("%u/%u", c->used, c->capacity)
                                                   : g_strdup_printf("%u/?", c->used));
                g_ptr_array_add(cells, core_fits(c));
        }
        vc_append_table(out, cells, ELEMENTSOF(core_headers));

        if (profile && p->fits)
                g_string_append_printf(out, "\nNext %s: parent %s, type %s (%s), core %s\n", profile,
                                       p->parent, p->type_id, p->type_name, p->core);
}

static void json_str(JsonWriter *w, const char *key, const char *value)
{
        json_writer_key(w, key);
        json_writer_string(w, value);
}

static void json_uint(JsonWriter *w, const char *key, uint64_t value)
{
        json_writer_key(w, key);
        json_writer_uint(w, value);
}

static void format_json(const Plan *p, const char *profile, GString *out)
{
        JsonWriter w;

        json_writer_init(&w, out, true);
        json_writer_begin_object(&w);
        json_writer_key(&w, "classes");
        json_writer_begin_array(&w);
        for (guint i = 0; i < p->classes->len; i++) {
                const PlanClass *c = &g_array_index(p->classes, PlanClass, i);
                json_writer_begin_object(&w);
                json_uint(&w, "size_mib", c->size_mib);
                json_uint(&w, "fits_at_size", c->at_size);
                json_uint(&w, "fits_in_all", c->in_all);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        json_writer_key(&w, "cores");
        json_writer_begin_array(&w);
        for (guint i = 0; i < p->cores->len; i++) {
                const PlanCore *c = p->cores->pdata[i];
                json_writer_begin_object(&w);
                json_str(&w, "core", c->core);
                json_str(&w, "board", c->board);
                json_str(&w, "board_model", c->board_model);
                json_writer_key(&w, "numa_node");
                json_writer_int(&w, c->numa_node);
                json_uint(&w, "size_class_mib", c->size_class);
                json_writer_key(&w, "mixed_size");
                json_writer_bool(&w, c->mixed);
                json_uint(&w, "used", c->used);
                json_uint(&w, "capacity", c->capacity);
                json_writer_key(&w, "types");
                json_writer_begin_array(&w);
                for (guint j = 0; j < c->types->len; j++) {
                        const PlanType *t = &g_array_index(c->types, PlanType, j);
                        json_writer_begin_object(&w);
                        json_str(&w, "id", t->id);
                        json_str(&w, "name", t->name);
                        json_uint(&w, "framebuffer_mib", t->framebuffer_mib);
                        json_uint(&w, "fits", t->fits);
                        json_writer_end_object(&w);
                }
                json_writer_end_array(&w);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        json_writer_key(&w, "next");
        if (!profile)
                json_writer_null(&w);
        else {
                json_writer_begin_object(&w);
                json_str(&w, "profile", profile);
                json_writer_key(&w, "fits");
                json_writer_bool(&w, p->fits);
                json_str(&w, "parent", p->parent);
                json_str(&w, "type", p->type_id);
                json_str(&w, "type_name", p->type_name);
                json_str(&w, "core", p->core);
                json_str(&w, "error", p->error_name);
                json_str(&w, "message", p->error_message);
                json_writer_end_object(&w);
        }
        json_writer_end_object(&w);
        g_string_append_c(out, '\n');
}

static int run_plan(const VcContext *ctx, const VcArgs *args, GPtrArray *positional)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(plan_clear) Plan plan = {};
        g_autoptr(GString) out = g_string_new(NULL);
        const char *profile = positional->len > 0 ? positional->pdata[0] : NULL;
        VcPlacement place = {
                .parent = args->value[OPT_PARENT],
                .board = args->value[OPT_BOARD],
                .policy = args->value[OPT_POLICY],
                .has_numa_node = args->set[OPT_NUMA_NODE],
        };
        int r;

        if (profile && !*profile)
                return vc_error("The profile is empty");
        if (place.has_numa_node)
                place.numa_node = (int32_t)vc_arg_u32(args, OPT_NUMA_NODE);

        r = vc_bus_open_read(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                           "Plan");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", profile ? profile : "");
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0)
                r = vc_placement_append(m, &place);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the Plan call");
        r = vc_bus_call_message(bus, m, 60ULL * 1000ULL * 1000ULL, VGPUD_MANAGER_IFACE ".Plan", &reply);
        if (r < 0)
                return r;
        r = plan_read(reply, &plan);
        if (r < 0)
                return r;

        if (args->set[OPT_JSON])
                format_json(&plan, profile, out);
        else
                format_text(&plan, profile, out);
        r = vc_write_stdout(out->str, out->len);
        if (r < 0)
                return r;
        if (profile && !plan.fits)
                return vc_error("%s", *plan.error_message ? plan.error_message : plan.error_name);
        return 0;
}

static int main_plan(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv)
{
        static const char *const names[] = {"PROFILE"};

        return vc_run_with_positional(ctx, cmd, argc, argv, 0, 1, names, run_plan);
}

#define PLAN_USAGE "{bin} plan [OPTIONS] [PROFILE]"

const VcCommand vc_command_plan = {
        .name = "plan",
        .about = "Show what still fits, and where the next vGPU would go",
        .usage = PLAN_USAGE,
        .vgpuctl_only = true,
        .options = plan_options,
        .check = check_plan,
        .main = main_plan,
        .help_short = "vgpuctl-plan \n"
                      "Show what still fits, and where the next vGPU would go\n"
                      "\n"
                      "USAGE:\n"
                      "    " PLAN_USAGE "\n"
                      "\n"
                      "ARGS:\n"
                      "    <PROFILE>    Where the next vGPU of this profile would go\n"
                      "\n"
                      "OPTIONS:\n"
                      "        --board <BOARD>       Only cores of this board\n"
                      "    -h, --help                Print help information\n"
                      "        --json                Output in JSON format\n"
                      "        --numa-node <NODE>    Only parents on this NUMA node\n"
                      "    -p, --parent <PARENT>     Only this parent, or the parents of this core\n"
                      "        --policy <POLICY>     pack (default) or spread\n",
        .help_long = "vgpuctl-plan \n"
                     "Show what still fits, and where the next vGPU would go\n"
                     "\n"
                     "The first table has one row per framebuffer size: how many more vGPUs of that\n"
                     "size fit on the cores already running it (FITS AT SIZE) and in all, empty cores\n"
                     "included (FITS IN ALL). The second has one row per GPU core: the size in use,\n"
                     "whether sizes may mix there, vGPUs used/possible and what still fits (6x2G: six\n"
                     "more 2G vGPUs). With PROFILE, the parent and type acquire would choose; when\n"
                     "nothing fits, the reason, and the exit status is 1.\n"
                     "\n"
                     "USAGE:\n"
                     "    " PLAN_USAGE "\n"
                     "\n"
                     "ARGS:\n"
                     "    <PROFILE>\n"
                     "            Type id, name, short name (A16-2Q) or size and series (2Q)\n"
                     "\n"
                     "OPTIONS:\n"
                     "        --board <BOARD>\n"
                     "            Only cores of this board\n"
                     "\n"
                     "    -h, --help\n"
                     "            Print help information\n"
                     "\n"
                     "        --json\n"
                     "            Output in JSON format\n"
                     "\n"
                     "        --numa-node <NODE>\n"
                     "            Only parents on this NUMA node\n"
                     "\n"
                     "    -p, --parent <PARENT>\n"
                     "            Only this parent, or the parents of this GPU core\n"
                     "\n"
                     "        --policy <POLICY>\n"
                     "            pack (default) or spread\n",
};
