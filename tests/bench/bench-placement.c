/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark of placement_choose(): the time of one placement decision on a large host, for pack and
 * spread and several profiles, as a table (median and p99 in microseconds). Prints figures, asserts
 * nothing but that each decision gives the same answer every time.
 *
 * The host: 16 A40 cores, each a PF with 32 SR-IOV VFs (512 VF parents: room for 512 vGPUs of the
 * smallest size), every VF offering the A40's 29 types as its own type objects (as separate sysfs
 * directories give them), plus an A16 board of 4 cores x 16 VFs x 15 types: 20 cores, 576 parents,
 * 15,808 offers. Two states:
 *   mixed  mixed size classes: cores full or nearly full at 1Q, 2Q, 4Q, 8Q, 16Q, 2B, 1A, one in
 *          mixed-size mode, two empty; the A16 cores at 2Q (full), 1Q, 4Q and empty;
 *   full   512 vGPUs: all 16 A40 cores full at 1Q (every A40 request fails after scanning all), the
 *          A16 board as in "mixed".
 * Building the PlaceCore input (the daemon's work) is done once, outside the timing.
 *
 * Usage: bench-placement [RUNS]   (default 2000 decisions per row) */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "capacity.h"
#include "placement.h"

#define A40_CORES   16
#define A40_VFS     32
#define A16_CORES   4
#define A16_VFS     16
#define N_CORES     (A40_CORES + A16_CORES)
#define MAX_TYPES   32
#define MAX_VFS     32
#define MAX_DEVICES 32

typedef struct {
        char id[16], name[32], description[128];
} TypeRow;

typedef struct {
        char core[16];
        const char *board;
        size_t n_vfs, n_rows;
        bool mixed; /* the driver mixes sizes (counts framebuffer) and the daemon knows it */
        uint64_t fb_total;
        char vf_names[MAX_VFS][16];
        VgpuType *types[MAX_VFS][MAX_TYPES];
        int avail[MAX_VFS][MAX_TYPES];
        const VgpuType *device[MAX_VFS]; /* one vGPU per VF */
        PlaceParent parents[MAX_VFS];
} BenchCore;

static TypeRow a40_rows[MAX_TYPES], a16_rows[MAX_TYPES];
static size_t n_a40_rows, n_a16_rows;

/* The catalogue of a board as the fixture lists it (driver 510.47.03 ids, vgpu-device-manager's
 * max_instance): sizes in GiB of each series, max_instance = framebuffer / size, at most max_max. */
static size_t catalogue(TypeRow *rows, const char *board, unsigned fb_gib, unsigned max_max,
                        const unsigned *ids, const char *const *series, const unsigned *const *sizes)
{
        size_t n = 0;

        for (size_t s = 0; series[s]; s++)
                for (size_t k = 0; sizes[s][k]; k++) {
                        unsigned size = sizes[s][k], max = MIN(fb_gib / size, max_max);

                        g_assert(n < MAX_TYPES);
                        g_snprintf(rows[n].id, sizeof(rows[n].id), "nvidia-%u", ids[n]);
                        g_snprintf(rows[n].name, sizeof(rows[n].name), "NVIDIA %s-%u%s", board, size,
                                   series[s]);
                        g_snprintf(rows[n].description, sizeof(rows[n].description),
                                   "num_heads=%u, frl_config=60, framebuffer=%uM, max_resolution=%s, "
                                   "max_instance=%u",
                                   series[s][0] == 'Q' || series[s][0] == 'B' ? 4u : 1u, size * 1024,
                                   series[s][0] == 'C' ? "4096x2160" : "7680x4320", max);
                        n++;
                }
        return n;
}

static void catalogues(void)
{
        static const unsigned a40_q[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 48, 0}, a40_b[] = {1, 2, 0},
                              a40_a[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 48, 0},
                              a40_c[] = {4, 6, 8, 12, 16, 24, 48, 0};
        static const unsigned *const a40_sizes[] = {a40_q, a40_b, a40_a, a40_c};
        static const char *const a40_series[] = {"Q", "B", "A", "C", NULL};
        static const unsigned a40_ids[] = {557, 558, 559, 560, 561, 562, 563, 564, 565, 566,
                                           555, 556, 567, 568, 569, 570, 571, 572, 573, 574,
                                           575, 576, 581, 582, 583, 584, 585, 586, 587};
        static const unsigned a16_q[] = {1, 2, 4, 8, 16, 0}, a16_b[] = {1, 2, 0},
                              a16_a[] = {1, 2, 4, 8, 16, 0}, a16_c[] = {4, 8, 16, 0};
        static const unsigned *const a16_sizes[] = {a16_q, a16_b, a16_a, a16_c};
        static const unsigned a16_ids[] = {711, 712, 713, 714, 715, 709, 710, 716,
                                           717, 718, 719, 720, 721, 722, 723};

        n_a40_rows = catalogue(a40_rows, "A40", 48, 32, a40_ids, a40_series, a40_sizes);
        n_a16_rows = catalogue(a16_rows, "A16", 16, 16, a16_ids, a40_series, a16_sizes);
        g_assert(n_a40_rows == G_N_ELEMENTS(a40_ids));
        g_assert(n_a16_rows == G_N_ELEMENTS(a16_ids));
}

static const VgpuType *row_type(BenchCore *c, const char *name)
{
        for (size_t i = 0; i < c->n_rows; i++)
                if (strcmp(c->types[0][i]->name, name) == 0)
                        return c->types[0][i];
        g_error("no type %s", name);
}

/* Run `count` vGPUs named `type` on the first free VFs. */
static void run(BenchCore *c, const char *type, size_t count)
{
        const VgpuType *t = row_type(c, type);

        for (size_t v = 0; v < c->n_vfs && count > 0; v++)
                if (!c->device[v]) {
                        c->device[v] = t;
                        count--;
                }
        g_assert(count == 0);
}

/* The driver's counts and the daemon's CoreCapacity, then the PlaceCore. */
static void publish(BenchCore *c, int numa, PlaceCore *out)
{
        static CapacityOffer offers[MAX_VFS * MAX_TYPES];
        const VgpuType *devices[MAX_VFS];
        uint64_t size = 0, fb_used = 0;
        size_t n_offers = 0, used = 0;

        for (size_t v = 0; v < c->n_vfs; v++)
                if (c->device[v]) {
                        devices[used++] = c->device[v];
                        fb_used += c->device[v]->framebuffer_mib;
                        size = vgpu_type_size_class(c->device[v]);
                }
        g_assert(fb_used <= c->fb_total);

        for (size_t v = 0; v < c->n_vfs; v++) {
                for (size_t i = 0; i < c->n_rows; i++) {
                        const VgpuType *t = c->types[v][i];
                        uint64_t st = vgpu_type_size_class(t);
                        int a;

                        if (c->device[v])
                                a = 0;
                        else if (c->mixed)
                                a = c->fb_total - fb_used >= st;
                        else
                                a = used == 0 || (st == size && used < t->max_instances);
                        c->avail[v][i] = a;
                        offers[n_offers++] = (CapacityOffer){t, a};
                }
                c->parents[v] = (PlaceParent){
                        .name = c->vf_names[v],
                        .types = (const VgpuType *const *)c->types[v],
                        .available = c->avail[v],
                        .n_types = c->n_rows,
                };
        }
        *out = (PlaceCore){.core = c->core,
                           .board = c->board,
                           .numa_node = numa,
                           .parents = c->parents,
                           .n_parents = c->n_vfs};
        core_capacity_compute(offers, n_offers, devices, used, c->mixed, &out->cap);
}

static BenchCore *core_new(unsigned bus, const char *board, const TypeRow *rows, size_t n_rows, size_t n_vfs,
                           uint64_t fb_total)
{
        BenchCore *c = g_new0(BenchCore, 1);

        g_snprintf(c->core, sizeof(c->core), "0000:%02x:00.0", bus);
        c->board = board;
        c->n_rows = n_rows;
        c->n_vfs = n_vfs;
        c->fb_total = fb_total;
        for (size_t v = 0; v < n_vfs; v++) {
                unsigned devfn = 4 + (unsigned)v;

                g_snprintf(c->vf_names[v], sizeof(c->vf_names[v]), "0000:%02x:%02x.%x", bus, devfn / 8,
                           devfn % 8);
                for (size_t i = 0; i < n_rows; i++)
                        c->types[v][i] = vgpu_type_new(rows[i].id, rows[i].name, rows[i].description);
        }
        return c;
}

static void core_free(BenchCore *c)
{
        for (size_t v = 0; v < c->n_vfs; v++)
                for (size_t i = 0; i < c->n_rows; i++)
                        vgpu_type_free(c->types[v][i]);
        g_free(c);
}

typedef struct {
        BenchCore *cores[N_CORES];
        PlaceCore place[N_CORES];
        size_t n_parents, n_offers, n_running;
} BenchHost;

static void host_build(BenchHost *h, bool full)
{
        /* per A40 core: the type its vGPUs run and how many (NULL: empty) */
        static const struct {
                const char *type;
                size_t count;
        } a40_state[A40_CORES] = {
                {"NVIDIA A40-1Q", 32},
                {"NVIDIA A40-1Q", 32},
                {"NVIDIA A40-1Q", 31},
                {"NVIDIA A40-1Q", 30},
                {"NVIDIA A40-2Q", 24},
                {"NVIDIA A40-2Q", 23},
                {"NVIDIA A40-2Q", 20},
                {"NVIDIA A40-4Q", 12},
                {"NVIDIA A40-4Q", 11},
                {"NVIDIA A40-8Q", 5},
                {"NVIDIA A40-16Q", 3},
                {"NVIDIA A40-2B", 22},
                {"NVIDIA A40-1A", 31},
                {NULL, 0}, /* mixed-size, below */
                {NULL, 0},
                {NULL, 0},
        };
        static const unsigned a16_bus[A16_CORES] = {0x89, 0x8a, 0x8b, 0x8c};

        memset(h, 0, sizeof(*h));
        for (size_t i = 0; i < A40_CORES; i++) {
                BenchCore *c = core_new(0x10 + 8 * (unsigned)i, NULL, a40_rows, n_a40_rows, A40_VFS, 49152);

                if (full)
                        run(c, "NVIDIA A40-1Q", 32);
                else if (a40_state[i].type)
                        run(c, a40_state[i].type, a40_state[i].count);
                else if (i == 13) {
                        c->mixed = true;
                        run(c, "NVIDIA A40-8Q", 2);
                        run(c, "NVIDIA A40-4Q", 3);
                        run(c, "NVIDIA A40-2Q", 4);
                }
                h->cores[i] = c;
        }
        for (size_t i = 0; i < A16_CORES; i++) {
                BenchCore *c = core_new(a16_bus[i], "0000:87:00.0", a16_rows, n_a16_rows, A16_VFS, 16384);

                if (i == 0)
                        run(c, "NVIDIA A16-2Q", 8);
                else if (i == 1)
                        run(c, "NVIDIA A16-1Q", 15);
                else if (i == 2)
                        run(c, "NVIDIA A16-4Q", 2);
                h->cores[A40_CORES + i] = c;
        }
        for (size_t i = 0; i < N_CORES; i++) {
                publish(h->cores[i], i < 8 ? 0 : 1, &h->place[i]);
                h->n_parents += h->place[i].n_parents;
                h->n_offers += h->place[i].n_parents * h->cores[i]->n_rows;
                h->n_running += h->place[i].cap.used;
        }
}

static void host_clear(BenchHost *h)
{
        for (size_t i = 0; i < N_CORES; i++)
                core_free(h->cores[i]);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static double now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void bench_row(const BenchHost *h, const char *state, const char *profile, PlacePolicy policy,
                      size_t runs)
{
        g_autofree double *t = g_new(double, runs);
        PlaceRequest req = {.profile = profile, .numa_node = -1, .policy = policy};
        PlaceChoice first, ch;
        char result[48];
        int r0, r;

        r0 = placement_choose(h->place, N_CORES, &req, &first);
        for (size_t k = 0; k < runs; k++) {
                double start = now_us();

                r = placement_choose(h->place, N_CORES, &req, &ch);
                t[k] = now_us() - start;
                if (r != r0 || (r == 0 && (ch.core != first.core || ch.parent != first.parent)))
                        g_error("%s %s: the answer changed between runs", profile,
                                placement_policy_to_string(policy));
        }
        qsort(t, runs, sizeof(double), cmp_double);

        if (r0 == 0)
                g_snprintf(result, sizeof(result), "%s room %u",
                           h->place[first.core].parents[first.parent].name, first.room);
        else
                g_snprintf(result, sizeof(result), "%s (%zu/%zu/%zu)",
                           r0 == -ENOSPC   ? "ENOSPC"
                           : r0 == -EXDEV  ? "EXDEV"
                           : r0 == -ENOENT ? "ENOENT"
                                           : "error",
                           first.n_matching, first.n_conflict, first.n_full);
        printf("%-6s %-15s %-6s %-27s %9.1f %9.1f\n", state, profile, placement_policy_to_string(policy),
               result, t[runs / 2], t[(size_t)((double)runs * 0.99)]);
}

int main(int argc, char *argv[])
{
        static const char *const profiles[] = {"1Q", "2Q", "8Q", "A40-48Q", "nvidia-558", "A16-4Q", "T4-2Q"};
        static BenchHost host;
        size_t runs = 2000;

        if (argc > 1) {
                char *end;

                runs = strtoul(argv[1], &end, 10);
                if (*end || runs < 1) {
                        fprintf(stderr, "usage: %s [RUNS]\n", argv[0]);
                        return 2;
                }
        }
        catalogues();

        printf("placement_choose() on 16 A40 cores x %d VFs x %zu types + an A16 board (4 cores x %d VFs x "
               "%zu types); %zu runs per row\n",
               A40_VFS, n_a40_rows, A16_VFS, n_a16_rows, runs);
        printf("%-6s %-15s %-6s %-27s %9s %9s\n", "state", "profile", "policy",
               "result (matching/conflict/full)", "median_us", "p99_us");
        for (int full = 0; full <= 1; full++) {
                host_build(&host, full);
                fprintf(stderr, "# %s: %d cores, %zu parents, %zu offers, %zu vGPUs running\n",
                        full ? "full" : "mixed", N_CORES, host.n_parents, host.n_offers, host.n_running);
                for (size_t p = 0; p < G_N_ELEMENTS(profiles); p++)
                        for (int policy = PLACE_PACK; policy <= PLACE_SPREAD; policy++)
                                bench_row(&host, full ? "full" : "mixed", profiles[p], policy, runs);
                host_clear(&host);
        }
        return 0;
}
