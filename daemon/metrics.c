/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vgpud's metrics: counters kept here, gauges read from the inventory at render time, the text in
 * Prometheus' exposition format, and the rate-limited textfile writer (metrics.h). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "errors.h"
#include "fileio.h"
#include "layout-watch.h"
#include "leases.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

#define USEC_PER_SEC        1000000ULL
#define WRITE_INTERVAL_USEC USEC_PER_SEC /* at most one file write per second */
#define SECONDS(usec)       ((double)(usec) / USEC_PER_SEC)

/* Upper bounds of the latency buckets in microseconds: a definition written in a millisecond up to a
 * start that waits seconds for a slow driver. */
static const uint64_t bucket_usec[] = {1000,   5000,   10000,   25000,   50000,   100000,
                                       250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BUCKETS ELEMENTSOF(bucket_usec)

typedef struct RequestStats {
        char *request, *result;
        uint64_t count, sum_usec;
        uint64_t buckets[N_BUCKETS]; /* cumulative, as exposed */
} RequestStats;

struct Metrics {
        Inventory *inv;
        struct Leases *leases;
        struct LayoutWatch *layout; /* borrowed; NULL: none */
        char *layout_config;
        GHashTable *requests; /* "request result" -> RequestStats* */
        GHashTable *uevents;  /* subsystem -> count (GUINT_TO_POINTER is too small: uint64_t*) */
        /* the textfile */
        sd_event *event;
        char *dir, *name;
        sd_event_source *timer;
        uint64_t last_write_usec;
        bool dir_missing_logged;
};

static void request_stats_free(RequestStats *s)
{
        g_free(s->request);
        g_free(s->result);
        g_free(s);
}

Metrics *metrics_new(Inventory *inv)
{
        Metrics *m = g_new0(Metrics, 1);

        m->inv = inv;
        m->requests =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)request_stats_free);
        m->uevents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return m;
}

void metrics_free(Metrics *m)
{
        if (!m)
                return;
        sd_event_source_disable_unref(m->timer);
        sd_event_unref(m->event);
        g_hash_table_unref(m->requests);
        g_hash_table_unref(m->uevents);
        g_free(m->dir);
        g_free(m->name);
        g_free(m->layout_config);
        g_free(m);
}

void metrics_set_layout(Metrics *m, struct LayoutWatch *w, const char *config)
{
        m->layout = w;
        g_free(m->layout_config);
        m->layout_config = g_strdup(config);
}

void metrics_set_leases(Metrics *m, struct Leases *leases)
{
        m->leases = leases;
}

/* "ok", or the error's last name component: "NotFound", "AccessDenied". */
static const char *result_name(int r)
{
        const char *name, *dot;

        if (r >= 0)
                return "ok";
        name = vgpud_error_name_from_errno(r);
        dot = strrchr(name, '.');
        return dot ? dot + 1 : name;
}

void metrics_request_done(Metrics *m, const char *action, int r, uint64_t usec)
{
        const char *result = result_name(r);
        g_autofree char *key = g_strconcat(action, " ", result, NULL);
        RequestStats *s = g_hash_table_lookup(m->requests, key);

        if (!s) {
                s = g_new0(RequestStats, 1);
                s->request = g_strdup(action);
                s->result = g_strdup(result);
                g_hash_table_insert(m->requests, g_steal_pointer(&key), s);
        }
        s->count++;
        s->sum_usec += usec;
        for (size_t i = 0; i < N_BUCKETS; i++)
                if (usec <= bucket_usec[i])
                        s->buckets[i]++;
        metrics_changed(m);
}

void metrics_uevent(Metrics *m, const char *subsystem)
{
        const char *key = subsystem ? subsystem : "unknown";
        uint64_t *n = g_hash_table_lookup(m->uevents, key);

        if (!n) {
                n = g_new0(uint64_t, 1);
                g_hash_table_insert(m->uevents, g_strdup(key), n);
        }
        (*n)++;
        metrics_changed(m);
}

/* ---- the text ---- */

/* A label value, escaped as the exposition format wants (backslash, double quote, newline). */
static void append_value(GString *out, const char *v)
{
        for (const char *c = v ? v : ""; *c; c++) {
                if (*c == '\\' || *c == '"')
                        g_string_append_c(out, '\\');
                if (*c == '\n')
                        g_string_append(out, "\\n");
                else
                        g_string_append_c(out, *c);
        }
}

static void append_header(GString *out, const char *name, const char *type, const char *help)
{
        g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct CoreStats {
        const char *core;
        uint32_t used, capacity;
        uint64_t size_class_mib;
        bool mixed;
} CoreStats;

static gint compare_cores(gconstpointer a, gconstpointer b)
{
        return strcmp((*(CoreStats *const *)a)->core, (*(CoreStats *const *)b)->core);
}

/* The parents grouped by GPU core as `vgpuctl status` groups them: a parent without a core is its own. */
static GPtrArray *core_stats(GPtrArray *parents)
{
        g_autoptr(GHashTable) by_core = g_hash_table_new(g_str_hash, g_str_equal);
        GPtrArray *cores = g_ptr_array_new_with_free_func(g_free);

        for (guint i = 0; i < parents->len; i++) {
                const InvParent *p = parents->pdata[i];
                const char *core = p->core && *p->core ? p->core : p->name;
                CoreStats *c = g_hash_table_lookup(by_core, core);

                if (!c) {
                        c = g_new0(CoreStats, 1);
                        c->core = core;
                        g_hash_table_insert(by_core, (gpointer)core, c);
                        g_ptr_array_add(cores, c);
                }
                c->used = MAX(c->used, p->cap.used);
                c->capacity = MAX(c->capacity, p->cap.capacity);
                if (p->cap.size_class_mib)
                        c->size_class_mib = p->cap.size_class_mib;
                c->mixed = c->mixed || p->cap.mixed_size;
        }
        g_ptr_array_sort(cores, compare_cores);
        return cores;
}

static void render_cores(GString *out, GPtrArray *parents)
{
        g_autoptr(GPtrArray) cores = core_stats(parents);
        static const struct {
                const char *name, *help;
        } gauges[] = {
                {"vgpud_core_vgpus_capacity",
                 "vGPUs the GPU core can hold in its current state (0: unknown)."},
                {"vgpud_core_vgpus_used", "vGPUs running on the GPU core."},
                {"vgpud_core_size_class_mib",
                 "Framebuffer size class of the vGPUs on the core in MiB (0: none or several)."},
                {"vgpud_core_mixed_size", "1 when vGPUs of different sizes may run on the core."},
        };

        for (size_t g = 0; g < ELEMENTSOF(gauges); g++) {
                append_header(out, gauges[g].name, "gauge", gauges[g].help);
                for (guint i = 0; i < cores->len; i++) {
                        const CoreStats *c = cores->pdata[i];
                        uint64_t v = g == 0   ? c->capacity
                                     : g == 1 ? c->used
                                     : g == 2 ? c->size_class_mib
                                              : c->mixed;

                        g_string_append_printf(out, "%s{core=\"", gauges[g].name);
                        append_value(out, c->core);
                        g_string_append_printf(out, "\"} %" G_GUINT64_FORMAT "\n", v);
                }
        }
}

static void render_types(GString *out, GPtrArray *parents)
{
        append_header(out, "vgpud_type_available_instances", "gauge",
                      "Instances of the type the parent can still create (its available_instances).");
        for (guint i = 0; i < parents->len; i++) {
                const InvParent *p = parents->pdata[i];

                for (guint t = 0; p->sys->types && t < p->sys->types->len; t++) {
                        const SysfsType *type = p->sys->types->pdata[t];

                        if (type->available_instances < 0)
                                continue;
                        g_string_append(out, "vgpud_type_available_instances{parent=\"");
                        append_value(out, p->name);
                        g_string_append(out, "\",type=\"");
                        append_value(out, type->id);
                        g_string_append(out, "\",name=\"");
                        append_value(out, type->name);
                        g_string_append_printf(out, "\"} %d\n", type->available_instances);
                }
        }
}

static void render_counts(Metrics *m, GString *out)
{
        g_autoptr(GPtrArray) devices = inventory_list_devices(m->inv);
        g_autoptr(GPtrArray) definitions = inventory_list_definitions(m->inv);
        g_autoptr(GPtrArray) idle = inventory_idle(m->inv);

        append_header(out, "vgpud_devices", "gauge", "Running mediated devices.");
        g_string_append_printf(out, "vgpud_devices %u\n", devices->len);
        append_header(out, "vgpud_definitions", "gauge", "Persistent definitions.");
        g_string_append_printf(out, "vgpud_definitions %u\n", definitions->len);
        append_header(out, "vgpud_leases", "gauge", "vGPUs an owner holds (leases).");
        g_string_append_printf(out, "vgpud_leases %u\n", m->leases ? leases_count(m->leases) : 0);
        append_header(out, "vgpud_idle_devices", "gauge",
                      "Running devices nobody uses: no lease, no definition, no process holding them.");
        g_string_append_printf(out, "vgpud_idle_devices %u\n", idle->len);
        append_header(out, "vgpud_orphan_devices", "gauge", "The old name of vgpud_idle_devices.");
        g_string_append_printf(out, "vgpud_orphan_devices %u\n", idle->len);
}

static gint compare_request_stats(gconstpointer a, gconstpointer b)
{
        const RequestStats *x = *(RequestStats *const *)a, *y = *(RequestStats *const *)b;
        int c = strcmp(x->request, y->request);
        return c ? c : strcmp(x->result, y->result);
}

static void append_request_labels(GString *out, const RequestStats *s)
{
        g_string_append(out, "request=\"");
        append_value(out, s->request);
        g_string_append(out, "\",result=\"");
        append_value(out, s->result);
        g_string_append_c(out, '"');
}

static void render_requests(Metrics *m, GString *out)
{
        g_autoptr(GPtrArray) stats = g_ptr_array_new();
        const char *h = "vgpud_request_duration_seconds";
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->requests);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(stats, v);

        g_ptr_array_sort(stats, compare_request_stats);
        append_header(out, "vgpud_requests_total", "counter",
                      "Requests that ended, by kind and result (ok or the error name).");
        for (guint i = 0; i < stats->len; i++) {
                const RequestStats *s = stats->pdata[i];
                g_string_append(out, "vgpud_requests_total{");
                append_request_labels(out, s);
                g_string_append_printf(out, "} %" G_GUINT64_FORMAT "\n", s->count);
        }
        append_header(out, h, "histogram",
                      "Time from a request's submission to its reply, by kind and result.");
        for (guint i = 0; i < stats->len; i++) {
                const RequestStats *s = stats->pdata[i];

                for (size_t b = 0; b <= N_BUCKETS; b++) {
                        g_string_append_printf(out, "%s_bucket{", h);
                        append_request_labels(out, s);
                        if (b < N_BUCKETS)
                                g_string_append_printf(out, ",le=\"%g\"} %" G_GUINT64_FORMAT "\n",
                                                       SECONDS(bucket_usec[b]), s->buckets[b]);
                        else
                                g_string_append_printf(out, ",le=\"+Inf\"} %" G_GUINT64_FORMAT "\n",
                                                       s->count);
                }
                g_string_append_printf(out, "%s_sum{", h);
                append_request_labels(out, s);
                g_string_append_printf(out, "} %.6f\n%s_count{", SECONDS(s->sum_usec), h);
                append_request_labels(out, s);
                g_string_append_printf(out, "} %" G_GUINT64_FORMAT "\n", s->count);
        }
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void render_uevents(Metrics *m, GString *out)
{
        g_autoptr(GPtrArray) keys = g_ptr_array_new();
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, m->uevents);
        while (g_hash_table_iter_next(&it, &k, NULL))
                g_ptr_array_add(keys, k);
        g_ptr_array_sort(keys, compare_strings);
        append_header(out, "vgpud_uevents_total", "counter", "Uevents vgpud received, by subsystem.");
        for (guint i = 0; i < keys->len; i++) {
                const uint64_t *n = g_hash_table_lookup(m->uevents, keys->pdata[i]);
                g_string_append(out, "vgpud_uevents_total{subsystem=\"");
                append_value(out, keys->pdata[i]);
                g_string_append_printf(out, "\"} %" G_GUINT64_FORMAT "\n", *n);
        }
}

static void render_layout(Metrics *m, GString *out)
{
        static const LayoutState states[] = {LAYOUT_STATE_PENDING, LAYOUT_STATE_APPLIED,
                                             LAYOUT_STATE_FAILED};
        LayoutState now = layout_watch_state(m->layout);

        if (!m->layout || now == LAYOUT_STATE_NONE)
                return;
        append_header(out, "vgpud_layout_state", "gauge",
                      "The configured layout (vgpud.conf [Layout]): 1 for its current state.");
        for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
                g_string_append(out, "vgpud_layout_state{config=\"");
                append_value(out, m->layout_config);
                g_string_append_printf(out, "\",state=\"%s\"} %d\n", layout_state_to_string(states[i]),
                                       states[i] == now);
        }
        append_header(out, "vgpud_layout_vgpus", "gauge",
                      "vGPUs of the configured layout's owner after its last successful apply.");
        g_string_append(out, "vgpud_layout_vgpus{config=\"");
        append_value(out, m->layout_config);
        g_string_append_printf(out, "\"} %u\n", layout_watch_vgpus(m->layout));
}

char *metrics_render(Metrics *m)
{
        g_autoptr(GPtrArray) parents = inventory_list_parents(m->inv);
        GString *out = g_string_new(NULL);

        render_cores(out, parents);
        render_types(out, parents);
        render_counts(m, out);
        render_requests(m, out);
        render_uevents(m, out);
        render_layout(m, out);
        return g_string_free(out, FALSE);
}

/* ---- the textfile ---- */

static uint64_t now_usec(void)
{
        return g_get_monotonic_time();
}

/* Write the file now. A missing directory is said once and not an error (node_exporter absent). */
static int write_file(Metrics *m)
{
        g_autofree char *text = metrics_render(m);
        _cleanup_close_ int dirfd = -1;
        int r;

        m->last_write_usec = now_usec();
        dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                if (errno == ENOENT && !m->dir_missing_logged)
                        log_info("Metrics not written: %s does not exist", m->dir);
                m->dir_missing_logged = errno == ENOENT;
                return errno == ENOENT ? 0 : log_warning_errno(-errno, "Cannot open %s: %m", m->dir);
        }
        m->dir_missing_logged = false;
        r = write_file_atomic_full_at(dirfd, m->name, text, strlen(text), 0644, WRITE_ATOMIC_NO_SYNC);
        if (r < 0)
                return log_warning_errno(r, "Cannot write the metrics to %s/%s: %m", m->dir, m->name);
        return 0;
}

static int on_write_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)write_file(userdata);
        return 0;
}

void metrics_changed(Metrics *m)
{
        uint64_t due;

        if (!m->timer)
                return;
        if (sd_event_source_get_enabled(m->timer, NULL) > 0)
                return; /* a write is due already: it will show this change too */
        due = m->last_write_usec + WRITE_INTERVAL_USEC;
        (void)sd_event_source_set_time(m->timer, MAX(due, now_usec()));
        (void)sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

int metrics_set_file(Metrics *m, sd_event *event, const char *path)
{
        int r;

        if (!g_path_is_absolute(path) || g_str_has_suffix(path, "/"))
                return log_error_errno(-EINVAL, "--metrics-file takes an absolute file name, not '%s'",
                                       path);
        m->dir = g_path_get_dirname(path);
        m->name = g_path_get_basename(path);
        m->event = sd_event_ref(event);
        r = sd_event_add_time(event, &m->timer, CLOCK_MONOTONIC, 0, 0, on_write_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the metrics timer: %m");
        (void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        (void)sd_event_source_set_description(m->timer, "metrics-file");
        return write_file(m);
}
