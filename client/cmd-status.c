/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl status`: vgpuctl's own overview (mdevctl has no such command). One row per GPU core (mdev
 * parents grouped by their Core property; a non-GPU parent such as mtty is its own core): address,
 * model, board, NUMA node, the framebuffer size class in use, vGPUs used/possible and a usage bar.
 * Under it, when there are any, the leases (who holds which vGPU, Manager.ListLeases) and every running
 * vGPU with who uses it (Device.User: lease, process, Proxmox UUID, definition) and, for idle ones,
 * since when (Device.IdleSince; Manager.ScanUsers first, so that the processes are current) and, when
 * any sits on a MIG GPU instance, which one (Device.GpuInstanceId). `--json`
 * prints the same as a JSON array for scripts, with each core's leases, devices and idle ones in it. */

#include <errno.h>
#include <string.h>

#include "alloc-client.h"
#include "bus-client.h"
#include "cli.h"
#include "inventory-client.h"
#include "json-writer.h"
#include "macro.h"

enum {
        OPT_JSON,
};

static const VcOption status_options[] = {
        {OPT_JSON, "json", 0, NULL, VC_VALUE_STRING},
        VC_OPTION_END,
};

#define BAR_WIDTH 10

typedef struct CoreRow {
        const char *core;
        const VcGpu *first; /* the core's own parent when it is one, else its first parent */
        GPtrArray *parents; /* const VcGpu*, sorted by name */
        uint32_t used, capacity;
        uint64_t size_class; /* MiB, 0 when empty or unknown */
        bool mixed_allowed;  /* the driver lets sizes mix on this core */
        bool mixed_in_use;   /* vGPUs of different sizes run on it now */
        unsigned devices;    /* running devices on the core's parents */
        GPtrArray *leases;   /* const VcLease* whose parent is on this core */
        GPtrArray *running;  /* const VcDevice* on this core */
        GPtrArray *idle;     /* const VcDevice* on this core that are idle */
} CoreRow;

/* Who holds what: NULL arrays when the daemon does not know leases (an older vgpud). */
typedef struct Owners {
        GPtrArray *leases; /* VcLease* */
        char **idle;       /* Manager.Idle (Orphans from a vgpud that has no Idle) */
} Owners;

static void owners_clear(Owners *o)
{
        g_clear_pointer(&o->leases, g_ptr_array_unref);
        g_clear_pointer(&o->idle, g_strfreev);
}

static void core_row_free(CoreRow *row)
{
        if (!row)
                return;
        g_ptr_array_unref(row->parents);
        g_ptr_array_unref(row->leases);
        g_ptr_array_unref(row->running);
        g_ptr_array_unref(row->idle);
        g_free(row);
}

static const char *core_of(const VcGpu *g)
{
        return *g->core ? g->core : g->name;
}

static gint compare_rows(gconstpointer a, gconstpointer b)
{
        const CoreRow *x = *(CoreRow *const *)a, *y = *(CoreRow *const *)b;
        return strcmp(x->core, y->core);
}

/* Group the parents by core and gather the running devices' sizes, leases and idle ones per core. */
static GPtrArray *build_rows(const VcInventory *inv, const Owners *owners)
{
        g_autoptr(GHashTable) by_core = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) by_parent = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) idle = g_hash_table_new(g_str_hash, g_str_equal);
        GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)core_row_free);

        for (char **o = owners->idle; o && *o; o++)
                g_hash_table_add(idle, *o);

        for (guint i = 0; i < inv->gpus->len; i++) {
                const VcGpu *g = inv->gpus->pdata[i];
                CoreRow *row = g_hash_table_lookup(by_core, core_of(g));

                if (!row) {
                        row = g_new0(CoreRow, 1);
                        row->core = core_of(g);
                        row->first = g;
                        row->parents = g_ptr_array_new();
                        row->leases = g_ptr_array_new();
                        row->running = g_ptr_array_new();
                        row->idle = g_ptr_array_new();
                        g_hash_table_insert(by_core, (gpointer)row->core, row);
                        g_ptr_array_add(rows, row);
                }
                if (strcmp(g->name, row->core) == 0)
                        row->first = g;
                g_ptr_array_add(row->parents, (gpointer)g);
                row->used = MAX(row->used, g->core_used);
                row->capacity = MAX(row->capacity, g->core_capacity);
                if (g->size_class)
                        row->size_class = g->size_class;
                row->mixed_allowed = row->mixed_allowed || g->mixed_size;
                g_hash_table_insert(by_parent, (gpointer)g->name, row);
        }

        for (guint i = 0; i < inv->devices->len; i++) {
                const VcDevice *d = inv->devices->pdata[i];
                CoreRow *row = g_hash_table_lookup(by_parent, d->parent);
                uint64_t fb = d->framebuffer_mib;

                if (!row)
                        continue;
                row->devices++;
                g_ptr_array_add(row->running, (gpointer)d);
                if (g_hash_table_contains(idle, d->uuid))
                        g_ptr_array_add(row->idle, (gpointer)d);
                if (fb == 0)
                        continue;
                if (row->size_class == 0)
                        row->size_class = fb;
                else if (row->size_class != fb)
                        row->mixed_in_use = true;
        }
        for (guint i = 0; owners->leases && i < owners->leases->len; i++) {
                const VcLease *l = owners->leases->pdata[i];
                CoreRow *row = g_hash_table_lookup(by_parent, l->parent);
                if (row)
                        g_ptr_array_add(row->leases, (gpointer)l);
        }
        g_ptr_array_sort(rows, compare_rows);
        return rows;
}

static char *format_size(const CoreRow *row)
{
        if (row->used == 0 && row->devices == 0)
                return g_strdup("-");
        if (row->mixed_in_use)
                return g_strdup("mixed");
        if (row->size_class == 0)
                return g_strdup("n/a"); /* types without a framebuffer size (mtty, GVT-g) */
        if (row->size_class % 1024 == 0)
                return g_strdup_printf("%" G_GUINT64_FORMAT "G", row->size_class / 1024);
        return g_strdup_printf("%" G_GUINT64_FORMAT "M", row->size_class);
}

static uint32_t row_used(const CoreRow *row)
{
        return MAX(row->used, row->devices);
}

static char *format_bar(const CoreRow *row)
{
        char bar[BAR_WIDTH + 3];
        uint32_t used = row_used(row);
        unsigned filled;

        if (row->capacity == 0)
                return g_strdup("-");
        filled = (unsigned)(((uint64_t)MIN(used, row->capacity) * BAR_WIDTH + row->capacity / 2) /
                            row->capacity);
        if (used > 0 && filled == 0)
                filled = 1;
        bar[0] = '[';
        for (unsigned i = 0; i < BAR_WIDTH; i++)
                bar[1 + i] = i < filled ? '#' : '-';
        bar[BAR_WIDTH + 1] = ']';
        bar[BAR_WIDTH + 2] = '\0';
        return g_strdup(bar);
}

static const char *row_model(const CoreRow *row)
{
        const VcGpu *g = row->first;
        if (*g->model)
                return g->model;
        if (*g->board_model)
                return g->board_model;
        if (*g->driver)
                return g->driver;
        return "-";
}

static char *row_board(const CoreRow *row)
{
        const VcGpu *g = row->first;
        if (!*g->board)
                return g_strdup("-");
        if (*g->board_model && strcmp(g->board_model, row_model(row)) != 0)
                return g_strdup_printf("%s (%s)", g->board, g->board_model);
        return g_strdup(g->board);
}

enum { COL_CORE, COL_MODEL, COL_BOARD, COL_NUMA, COL_SIZE, COL_VGPUS, COL_USAGE, N_COLS };

static void format_table(GPtrArray *rows, GString *out)
{
        static const char *const headers[N_COLS] = {"CORE", "MODEL", "BOARD", "NUMA",
                                                    "SIZE", "VGPUS", "USAGE"};
        g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
        size_t width[N_COLS];

        for (int c = 0; c < N_COLS; c++) {
                g_ptr_array_add(cells, g_strdup(headers[c]));
                width[c] = strlen(headers[c]);
        }
        for (guint i = 0; i < rows->len; i++) {
                const CoreRow *row = rows->pdata[i];
                char *v[N_COLS];

                v[COL_CORE] = g_strdup(row->core);
                v[COL_MODEL] = g_strdup(row_model(row));
                v[COL_BOARD] = row_board(row);
                v[COL_NUMA] = row->first->numa_node >= 0 ? g_strdup_printf("%d", row->first->numa_node)
                                                         : g_strdup("-");
                v[COL_SIZE] = format_size(row);
                v[COL_VGPUS] = row->capacity ? g_strdup_printf("%u/%u", row_used(row), row->capacity)
                                             : g_strdup_printf("%u/?", row_used(row));
                v[COL_USAGE] = format_bar(row);
                for (int c = 0; c < N_COLS; c++) {
                        width[c] = MAX(width[c], (size_t)g_utf8_strlen(v[c], -1));
                        g_ptr_array_add(cells, v[c]);
                }
        }
        for (guint i = 0; i < cells->len; i++) {
                const char *cell = cells->pdata[i];
                int c = i % N_COLS;

                g_string_append(out, cell);
                if (c == N_COLS - 1) {
                        g_string_append_c(out, '\n');
                        continue;
                }
                for (size_t pad = g_utf8_strlen(cell, -1); pad < width[c] + 2; pad++)
                        g_string_append_c(out, ' ');
        }
}

/* "12s", "5m", "2h05m", "3d04h": how long since usec (CLOCK_REALTIME). */
static char *format_since(uint64_t usec)
{
        uint64_t now = (uint64_t)g_get_real_time();
        uint64_t sec = now > usec ? (now - usec) / 1000000ULL : 0;

        if (sec < 60)
                return g_strdup_printf("%" G_GUINT64_FORMAT "s", sec);
        if (sec < 3600)
                return g_strdup_printf("%" G_GUINT64_FORMAT "m", sec / 60);
        if (sec < 86400)
                return g_strdup_printf("%" G_GUINT64_FORMAT "h%02" G_GUINT64_FORMAT "m", sec / 3600,
                                       sec / 60 % 60);
        return g_strdup_printf("%" G_GUINT64_FORMAT "d%02" G_GUINT64_FORMAT "h", sec / 86400,
                               sec / 3600 % 24);
}

/* The USED BY cell: "lease OWNER", "process VM" ("process pid N (comm)"), "proxmox:VMID (UUID)",
 * "definition", or "nobody". */
static char *format_user(const VcDevice *d)
{
        if (strcmp(d->user_kind, "lease") == 0 || strcmp(d->user_kind, "process") == 0)
                return g_strdup_printf("%s %s", d->user_kind, d->user);
        if (strcmp(d->user_kind, "proxmox") == 0)
                return g_strdup_printf("%s (UUID)", d->user);
        if (*d->user)
                return g_strdup(d->user);
        return g_strdup("nobody");
}

#define COL_VGPU_TYPE 2 /* the TYPE column of the vGPU table, which GPU INSTANCE follows */

/* Does a running vGPU sit on a MIG GPU instance? Only then has the vGPU table a GPU INSTANCE column. */
static bool any_gpu_instance(const VcInventory *inv)
{
        for (guint i = 0; i < inv->devices->len; i++)
                if (((const VcDevice *)inv->devices->pdata[i])->gpu_instance_id >= 0)
                        return true;
        return false;
}

/* Under the core table, after a blank line each: the leases, and every running vGPU with its user,
 * when there are any. */
static void format_owners(const VcInventory *inv, const Owners *owners, GString *out)
{
        g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
        static const char *const lease_headers[] = {"OWNER", "SLOT", "UUID", "TYPE", "PARENT", "RUNNING"};
        static const char *const vgpu_headers[] = {"VGPU", "PARENT", "TYPE", "USED BY", "PID", "IDLE"};
        bool with_gi = any_gpu_instance(inv);

        if (owners->leases && owners->leases->len > 0) {
                for (size_t i = 0; i < ELEMENTSOF(lease_headers); i++)
                        g_ptr_array_add(cells, g_strdup(lease_headers[i]));
                for (guint i = 0; i < owners->leases->len; i++) {
                        const VcLease *l = owners->leases->pdata[i];
                        g_ptr_array_add(cells, g_strdup(l->owner));
                        g_ptr_array_add(cells, g_strdup_printf("%u", l->slot));
                        g_ptr_array_add(cells, g_strdup(l->uuid));
                        g_ptr_array_add(cells, g_strdup(*l->type ? l->type : "-"));
                        g_ptr_array_add(cells, g_strdup(*l->parent ? l->parent : "-"));
                        g_ptr_array_add(cells, g_strdup(l->running ? "yes" : "no"));
                }
                g_string_append_c(out, '\n');
                vc_append_table(out, cells, ELEMENTSOF(lease_headers));
                g_ptr_array_set_size(cells, 0);
        }
        if (owners->leases && inv->devices->len > 0) {
                g_autoptr(GHashTable) idle = g_hash_table_new(g_str_hash, g_str_equal);

                for (char **o = owners->idle; o && *o; o++)
                        g_hash_table_add(idle, *o);
                for (size_t i = 0; i < ELEMENTSOF(vgpu_headers); i++) {
                        g_ptr_array_add(cells, g_strdup(vgpu_headers[i]));
                        if (with_gi && i == COL_VGPU_TYPE)
                                g_ptr_array_add(cells, g_strdup("GPU INSTANCE"));
                }
                for (guint i = 0; i < inv->devices->len; i++) {
                        const VcDevice *d = inv->devices->pdata[i];
                        bool is_idle = g_hash_table_contains(idle, d->uuid);

                        g_ptr_array_add(cells, g_strdup(d->uuid));
                        g_ptr_array_add(cells, g_strdup(*d->parent ? d->parent : "-"));
                        g_ptr_array_add(cells, g_strdup(*d->type_id ? d->type_id : "-"));
                        if (with_gi)
                                g_ptr_array_add(cells, d->gpu_instance_id >= 0
                                                               ? g_strdup_printf("%d", d->gpu_instance_id)
                                                               : g_strdup("-"));
                        g_ptr_array_add(cells, format_user(d));
                        g_ptr_array_add(cells,
                                        d->user_pid ? g_strdup_printf("%u", d->user_pid) : g_strdup("-"));
                        g_ptr_array_add(cells, !is_idle             ? g_strdup("-")
                                               : d->idle_since_usec ? format_since(d->idle_since_usec)
                                                                    : g_strdup("yes"));
                }
                g_string_append_c(out, '\n');
                vc_append_table(out, cells, ELEMENTSOF(vgpu_headers) + with_gi);
        }
}

static void json_string_member(JsonWriter *w, const char *key, const char *value)
{
        json_writer_key(w, key);
        json_writer_string(w, value);
}

static void json_int_member(JsonWriter *w, const char *key, int64_t value)
{
        json_writer_key(w, key);
        json_writer_int(w, value);
}

static void json_device(JsonWriter *w, const VcDevice *d)
{
        json_writer_begin_object(w);
        json_string_member(w, "uuid", d->uuid);
        json_string_member(w, "parent", d->parent);
        json_string_member(w, "type", d->type_id);
        json_string_member(w, "user", d->user);
        json_string_member(w, "user_kind", d->user_kind);
        json_int_member(w, "user_pid", d->user_pid);
        json_writer_key(w, "idle");
        json_writer_bool(w, d->idle);
        json_writer_key(w, "idle_since_usec");
        json_writer_uint(w, d->idle_since_usec);
        if (d->gpu_instance_id >= 0) /* only a MIG-backed vGPU has one */
                json_int_member(w, "gpu_instance_id", d->gpu_instance_id);
        json_writer_end_object(w);
}

static void format_json(GPtrArray *rows, bool with_owners, GString *out)
{
        JsonWriter w;

        json_writer_init(&w, out, true);
        json_writer_begin_array(&w);
        for (guint i = 0; i < rows->len; i++) {
                const CoreRow *row = rows->pdata[i];
                const VcGpu *g = row->first;
                g_autofree char *size = format_size(row);

                json_writer_begin_object(&w);
                json_string_member(&w, "core", row->core);
                json_string_member(&w, "model", g->model);
                json_string_member(&w, "vendor", g->vendor);
                json_string_member(&w, "driver", g->driver);
                json_string_member(&w, "board", g->board);
                json_string_member(&w, "board_model", g->board_model);
                json_int_member(&w, "numa_node", g->numa_node);
                json_string_member(&w, "size", size);
                json_int_member(&w, "size_class_mib", (int64_t)row->size_class);
                json_writer_key(&w, "mixed_size");
                json_writer_bool(&w, row->mixed_allowed);
                json_int_member(&w, "used", row_used(row));
                json_int_member(&w, "capacity", row->capacity);
                json_writer_key(&w, "parents");
                json_writer_begin_array(&w);
                for (guint j = 0; j < row->parents->len; j++) {
                        const VcGpu *p = row->parents->pdata[j];
                        json_writer_string(&w, p->name);
                }
                json_writer_end_array(&w);
                if (with_owners) {
                        json_writer_key(&w, "leases");
                        json_writer_begin_array(&w);
                        for (guint j = 0; j < row->leases->len; j++) {
                                const VcLease *l = row->leases->pdata[j];
                                json_writer_begin_object(&w);
                                json_string_member(&w, "owner", l->owner);
                                json_int_member(&w, "slot", l->slot);
                                json_string_member(&w, "uuid", l->uuid);
                                json_string_member(&w, "type", l->type);
                                json_string_member(&w, "parent", l->parent);
                                json_writer_key(&w, "acquired_usec");
                                json_writer_uint(&w, l->acquired_usec);
                                json_writer_key(&w, "persist");
                                json_writer_bool(&w, l->persist);
                                json_writer_key(&w, "running");
                                json_writer_bool(&w, l->running);
                                json_writer_end_object(&w);
                        }
                        json_writer_end_array(&w);
                        json_writer_key(&w, "devices");
                        json_writer_begin_array(&w);
                        for (guint j = 0; j < row->running->len; j++)
                                json_device(&w, row->running->pdata[j]);
                        json_writer_end_array(&w);
                        /* "orphans": the old name of "idle", kept for existing scripts */
                        for (int k = 0; k < 2; k++) {
                                json_writer_key(&w, k == 0 ? "idle" : "orphans");
                                json_writer_begin_array(&w);
                                for (guint j = 0; j < row->idle->len; j++)
                                        json_writer_string(&w,
                                                           ((const VcDevice *)row->idle->pdata[j])->uuid);
                                json_writer_end_array(&w);
                        }
                }
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        g_string_append_c(out, '\n');
}

/* The leases and the idle devices; a vgpud that does not know them (no ListLeases) leaves owners
 * empty, one without Idle gives Orphans. */
static int load_owners(sd_bus *bus, Owners *owners)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = vc_list_leases(bus, &error, &owners->leases);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD,
                                           SD_BUS_ERROR_UNKNOWN_INTERFACE))
                        return 0;
                return vc_alloc_log_error(&error, r, "org.vgpud1.Manager.ListLeases");
        }
        return vc_get_idle(bus, NULL, &owners->idle);
}

/* "Layout CONFIG (FILE): STATE, MESSAGE" when vgpud has a configured layout (vgpud.conf [Layout]);
 * nothing from a vgpud without the properties. */
static void format_layout(sd_bus *bus, GString *out)
{
        static const char *const names[] = {"LayoutState", "LayoutConfig", "LayoutFile", "LayoutMessage"};
        /* one g_autofree each: on an array it would free only the first element */
        g_autofree char *state = NULL, *config = NULL, *file = NULL, *message = NULL;
        char **v[] = {&state, &config, &file, &message};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (sd_bus_get_property_string(bus, VGPUD_BUS_NAME, VGPUD_MANAGER_PATH, VGPUD_MANAGER_IFACE,
                                               names[i], NULL, v[i]) < 0)
                        return;
        if (g_str_equal(state, "none"))
                return;
        g_string_append_printf(out, "\nLayout %s (%s): %s%s%s\n", config, file, state, *message ? ", " : "",
                               message);
}

static int run_status(const VcContext *ctx, const VcArgs *args)
{
        g_autoptr(VcInventory) inv = NULL;
        g_autoptr(GPtrArray) rows = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        _cleanup_(owners_clear) Owners owners = {};
        sd_bus *bus = NULL;
        int r;

        r = vc_bus_open_read(&bus);
        if (r < 0)
                return r;
        r = vc_scan_users(bus);
        if (r >= 0)
                r = vc_inventory_load(bus, &inv);
        if (r >= 0)
                r = load_owners(bus, &owners);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return r;
        }

        rows = build_rows(inv, &owners);
        if (args->set[OPT_JSON])
                format_json(rows, owners.leases != NULL, out);
        else {
                format_table(rows, out);
                format_owners(inv, &owners, out);
                format_layout(bus, out);
        }
        sd_bus_flush_close_unref(bus);
        return vc_write_stdout(out->str, out->len);
}

#define STATUS_HELP_HEAD             \
        "vgpuctl-status {version}\n" \
        "Show every GPU core: model, board, NUMA node, vGPU size in use, vGPUs used/possible\n"

const VcCommand vc_command_status = {
        .name = "status",
        .about = "Show GPU cores and their vGPU usage",
        .usage = "{bin} status [OPTIONS]",
        .version = NULL,
        .vgpuctl_only = true,
        .options = status_options,
        .run = run_status,
        .help_short = STATUS_HELP_HEAD "\n"
                                       "USAGE:\n"
                                       "    {bin} status [OPTIONS]\n"
                                       "\n"
                                       "OPTIONS:\n"
                                       "    -h, --help    Print help information\n"
                                       "        --json    Output in JSON format\n",
        .help_long = STATUS_HELP_HEAD
        "\n"
        "One row per GPU core (a physical GPU; its SR-IOV virtual functions are counted with it;\n"
        "a non-GPU parent such as mtty is its own core). SIZE is the framebuffer size of the\n"
        "vGPUs running on the core ('-' when none run, 'mixed' when several sizes do, 'n/a'\n"
        "when its types have no framebuffer size), VGPUS how many run and how many fit at that\n"
        "size. Under it, when there are any: the leases (OWNER, SLOT, the device's UUID, TYPE,\n"
        "PARENT, whether it runs) and every running vGPU with who uses it, whoever made it: USED\n"
        "BY is \"lease OWNER\", \"process VM\" (the process holding its VFIO group: a libvirt\n"
        "domain, a Proxmox VM, QEMU's -name, or pid and command), \"proxmox:VMID (UUID)\" (a\n"
        "qemu-server UUID), \"definition\" or \"nobody\"; IDLE says for how long one with no\n"
        "lease, no definition and no process has not been in use (`release --idle` removes\n"
        "those); GPU INSTANCE, only when a MIG-backed vGPU runs, is the MIG GPU instance it sits\n"
        "on. Last, the configured layout (vgpud.conf [Layout]) and its state: pending,\n"
        "applied or failed, and why. With --json each core also lists its \"leases\", \"devices\"\n"
        "and \"idle\" ones, a MIG-backed device its \"gpu_instance_id\" (the layout's state is on\n"
        "the bus: Manager.LayoutState).\n"
        "\n"
        "USAGE:\n"
        "    {bin} status [OPTIONS]\n"
        "\n"
        "OPTIONS:\n"
        "    -h, --help\n"
        "            Print help information\n"
        "\n"
        "        --json\n"
        "            Output in JSON format\n",
};
