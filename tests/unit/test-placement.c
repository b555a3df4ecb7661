/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/placement.c on simulated hosts: T4 and A40 cores, an A16 board of four
 * cores with 16 VFs each, mixed-size cores, an A100 in MIG mode, mtty and GVT-g. A small simulator plays
 * the driver (available_instances after each vGPU, by NVIDIA's one-size-per-core rule), every choice is
 * applied to it and the model state recomputed with core_capacity_compute(), as the daemon would. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "capacity.h"
#include "placement.h"

/* Type rows: the names and ids of the fixture's catalogue (driver 510.47.03) and their max_instance
 * (vgpu-device-manager), made into descriptions as the fixture says the driver prints them. */
typedef struct {
        const char *id, *name, *description;
} Row;

#define NV(id, name, heads, fb, res, max)                                                                \
        {                                                                                                \
                id, name,                                                                                \
                        "num_heads=" #heads ", frl_config=60, framebuffer=" #fb "M, max_resolution=" res \
                        ", max_instance=" #max                                                           \
        }

static const Row t4_rows[] = {
        NV("nvidia-230", "GRID T4-1Q", 4, 1024, "5120x2880", 16),
        NV("nvidia-231", "GRID T4-2Q", 4, 2048, "7680x4320", 8),
        NV("nvidia-232", "GRID T4-4Q", 4, 4096, "7680x4320", 4),
        NV("nvidia-233", "GRID T4-8Q", 4, 8192, "7680x4320", 2),
        NV("nvidia-234", "GRID T4-16Q", 4, 16384, "7680x4320", 1),
        NV("nvidia-223", "GRID T4-2B", 4, 2048, "5120x2880", 8),
};

static const Row a40_rows[] = {
        NV("nvidia-557", "NVIDIA A40-1Q", 4, 1024, "5120x2880", 32),
        NV("nvidia-558", "NVIDIA A40-2Q", 4, 2048, "7680x4320", 24),
        NV("nvidia-560", "NVIDIA A40-4Q", 4, 4096, "7680x4320", 12),
        NV("nvidia-562", "NVIDIA A40-8Q", 4, 8192, "7680x4320", 6),
        NV("nvidia-564", "NVIDIA A40-16Q", 4, 16384, "7680x4320", 3),
        NV("nvidia-566", "NVIDIA A40-48Q", 4, 49152, "7680x4320", 1),
        NV("nvidia-581", "NVIDIA A40-4C", 1, 4096, "4096x2160", 12),
};

static const Row a16_rows[] = {
        NV("nvidia-711", "NVIDIA A16-1Q", 4, 1024, "5120x2880", 16),
        NV("nvidia-712", "NVIDIA A16-2Q", 4, 2048, "7680x4320", 8),
        NV("nvidia-710", "NVIDIA A16-2B", 4, 2048, "5120x2880", 8),
        NV("nvidia-713", "NVIDIA A16-4Q", 4, 4096, "7680x4320", 4),
        NV("nvidia-714", "NVIDIA A16-8Q", 4, 8192, "7680x4320", 2),
        NV("nvidia-715", "NVIDIA A16-16Q", 4, 16384, "7680x4320", 1),
};

/* A100 PCIe 40GB in MIG mode; the time-sliced 40C shows no instance there. */
static const Row a100_rows[] = {
        {"nvidia-474", "GRID A100-1-5C", "num_heads=1, frl_config=60, framebuffer=5120M, max_instance=7"},
        {"nvidia-475", "GRID A100-2-10C", "num_heads=1, frl_config=60, framebuffer=10240M, max_instance=3"},
        {"nvidia-478", "GRID A100-7-40C", "num_heads=1, frl_config=60, framebuffer=40960M, max_instance=1"},
        {"nvidia-473", "GRID A100-40C", "num_heads=1, frl_config=60, framebuffer=40960M, max_instance=1"},
};

static const Row mtty_rows[] = {
        {"mtty-1", "Single port serial", NULL},
        {"mtty-2", "Dual port serial", NULL},
};

/* The mdevctl README's GVT-g types. */
static const Row gvt_rows[] = {
        {"i915-GVTg_V4_2", NULL,
         "low_gm_size: 256MB high_gm_size: 1024MB fence: 4 resolution: 1920x1200 weight: 8"},
        {"i915-GVTg_V4_4", NULL,
         "low_gm_size: 128MB high_gm_size: 512MB fence: 4 resolution: 1920x1200 weight: 4"},
};

#define MAX_PARENTS 32
#define MAX_TYPES   8
#define MAX_DEVICES 32
#define MAX_CORES   8

/* One simulated core: its parents (the core itself, or its VFs), each with its own type objects (as
 * separate sysfs directories give), the devices running on each, and the driver's counts. */
typedef struct {
        char core[16];
        const char *board;
        int numa;
        uint64_t fb_total;
        bool sriov;
        bool mixed;          /* the driver mixes sizes (then it counts framebuffer) */
        bool mixed_config;   /* what the daemon tells core_capacity_compute() */
        bool hand_counts;    /* the test sets avail itself; the driver simulation leaves it */
        bool no_avail_array; /* the input carries no available array: all unknown */
        const Row *rows;
        size_t n_rows, n_parents;
        char parent_names[MAX_PARENTS][16];
        VgpuType *types[MAX_PARENTS][MAX_TYPES];
        int avail[MAX_PARENTS][MAX_TYPES];
        const VgpuType *devices[MAX_PARENTS][MAX_DEVICES];
        size_t n_devices[MAX_PARENTS];
        PlaceParent place_parents[MAX_PARENTS];
} SimCore;

typedef struct {
        SimCore *cores[MAX_CORES];
        PlaceCore place[MAX_CORES];
        size_t n;
} Host;

static void host_free(Host *h)
{
        for (size_t c = 0; c < h->n; c++) {
                for (size_t p = 0; p < h->cores[c]->n_parents; p++)
                        for (size_t i = 0; i < h->cores[c]->n_rows; i++)
                                vgpu_type_free(h->cores[c]->types[p][i]);
                g_free(h->cores[c]);
        }
        g_free(h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Host, host_free)

/* Add a core "DDDD:BB:00.0"; n_vfs > 0 gives it VF parents at functions 00.4, 00.5, ... as on an
 * A16/A40. fb_total: the core's framebuffer, for mixed-size counting. */
static SimCore *host_add(Host *h, const char *core, const char *board, int numa, const Row *rows,
                         size_t n_rows, size_t n_vfs, uint64_t fb_total)
{
        SimCore *c = g_new0(SimCore, 1);

        g_assert_cmpuint(h->n, <, MAX_CORES);
        g_assert_cmpuint(n_rows, <=, MAX_TYPES);
        g_assert_cmpuint(n_vfs, <=, MAX_PARENTS);
        g_strlcpy(c->core, core, sizeof(c->core));
        c->board = board;
        c->numa = numa;
        c->fb_total = fb_total;
        c->rows = rows;
        c->n_rows = n_rows;
        c->sriov = n_vfs > 0;
        c->n_parents = n_vfs > 0 ? n_vfs : 1;
        for (size_t p = 0; p < c->n_parents; p++) {
                if (c->sriov) {
                        unsigned devfn = 4 + (unsigned)p;

                        /* "0000:89:00.0" -> "0000:89:" + dev.fn */
                        g_snprintf(c->parent_names[p], sizeof(c->parent_names[p]), "%.8s%02x.%x", core,
                                   devfn / 8, devfn % 8);
                } else
                        g_strlcpy(c->parent_names[p], core, sizeof(c->parent_names[p]));
                for (size_t i = 0; i < n_rows; i++)
                        c->types[p][i] = vgpu_type_new(rows[i].id, rows[i].name, rows[i].description);
        }
        h->cores[h->n++] = c;
        return c;
}

static size_t core_used(const SimCore *c)
{
        size_t used = 0;

        for (size_t p = 0; p < c->n_parents; p++)
                used += c->n_devices[p];
        return used;
}

/* The driver: available_instances of every (parent, type) from the running devices. */
static void sim_driver(SimCore *c)
{
        uint64_t size = 0, fb_used = 0;
        size_t used = core_used(c);

        if (c->hand_counts)
                return;
        for (size_t p = 0; p < c->n_parents; p++)
                for (size_t d = 0; d < c->n_devices[p]; d++) {
                        fb_used += c->devices[p][d]->framebuffer_mib;
                        size = vgpu_type_size_class(c->devices[p][d]);
                }
        g_assert_cmpuint(fb_used, <=, c->fb_total);

        for (size_t p = 0; p < c->n_parents; p++)
                for (size_t i = 0; i < c->n_rows; i++) {
                        const VgpuType *t = c->types[p][i];
                        uint64_t st = vgpu_type_size_class(t), fit = (c->fb_total - fb_used) / st;
                        int *a = &c->avail[p][i];

                        g_assert_cmpuint(st, >, 0); /* sizeless types: hand_counts */
                        if (c->sriov) {
                                /* one vGPU per VF; a free VF offers the sizes the core can still take */
                                if (c->n_devices[p] > 0)
                                        *a = 0;
                                else if (c->mixed)
                                        *a = fit > 0;
                                else
                                        *a = used == 0 || (st == size && used < t->max_instances);
                        } else if (c->mixed)
                                *a = (int)MIN(fit, (uint64_t)t->max_instances);
                        else if (used == 0)
                                *a = (int)t->max_instances;
                        else
                                *a = st == size && used < t->max_instances ? (int)(t->max_instances - used)
                                                                           : 0;
                }
}

/* The daemon's side: CoreCapacity from the offers and devices, and the PlaceCore input. */
static void sim_publish(SimCore *c, PlaceCore *out)
{
        CapacityOffer offers[MAX_PARENTS * MAX_TYPES];
        const VgpuType *devices[MAX_PARENTS * MAX_DEVICES];
        size_t n_offers = 0, n_devices = 0;

        for (size_t p = 0; p < c->n_parents; p++) {
                for (size_t i = 0; i < c->n_rows; i++)
                        offers[n_offers++] =
                                (CapacityOffer){c->types[p][i], c->no_avail_array ? -1 : c->avail[p][i]};
                for (size_t d = 0; d < c->n_devices[p]; d++)
                        devices[n_devices++] = c->devices[p][d];
                c->place_parents[p] = (PlaceParent){
                        .name = c->parent_names[p],
                        .types = (const VgpuType *const *)c->types[p],
                        .available = c->no_avail_array ? NULL : c->avail[p],
                        .n_types = c->n_rows,
                };
        }
        *out = (PlaceCore){
                .core = c->core,
                .board = c->board,
                .numa_node = c->numa,
                .parents = c->place_parents,
                .n_parents = c->n_parents,
        };
        core_capacity_compute(offers, n_offers, devices, n_devices, c->mixed_config, &out->cap);
}

static void host_refresh(Host *h)
{
        for (size_t c = 0; c < h->n; c++) {
                sim_driver(h->cores[c]);
                sim_publish(h->cores[c], &h->place[c]);
        }
}

static Host *host_new(void)
{
        return g_new0(Host, 1);
}

/* Start a vGPU of rows[row] on parent p of core c (setting up a scenario). */
static void sim_run(SimCore *c, size_t p, size_t row, size_t count)
{
        for (size_t k = 0; k < count; k++) {
                g_assert_cmpuint(c->n_devices[p], <, MAX_DEVICES);
                c->devices[p][c->n_devices[p]++] = c->types[p][row];
        }
}

static PlaceRequest req_of(const char *profile, PlacePolicy policy)
{
        return (PlaceRequest){.profile = profile, .numa_node = -1, .policy = policy};
}

/* Place req, expect the given parent, type name (or id) and room, then run the vGPU there. */
static void expect_place(Host *h, const PlaceRequest *req, const char *parent, const char *type,
                         uint32_t room)
{
        PlaceChoice ch;
        const PlaceParent *pp;
        const VgpuType *t;
        SimCore *c;
        int r;

        host_refresh(h);
        r = placement_choose(h->place, h->n, req, &ch);
        g_test_message("%s (%s): r=%d core=%zu parent=%zu type=%zu room=%u", req->profile,
                       placement_policy_to_string(req->policy), r, ch.core, ch.parent, ch.type, ch.room);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpuint(ch.core, <, h->n);
        c = h->cores[ch.core];
        g_assert_cmpuint(ch.parent, <, c->n_parents);
        g_assert_cmpuint(ch.type, <, c->n_rows);
        pp = &h->place[ch.core].parents[ch.parent];
        t = pp->types[ch.type];
        g_assert_cmpstr(pp->name, ==, parent);
        g_assert_true(g_strcmp0(t->name, type) == 0 || g_strcmp0(t->id, type) == 0);
        g_assert_cmpuint(ch.room, ==, room);
        if ((!req->parent || strcmp(req->parent, h->place[ch.core].core) == 0) && !req->parents)
                g_assert_cmpuint(ch.room, ==, placement_room(&h->place[ch.core], t));
        g_assert_cmpuint(ch.n_matching, >=, 1);

        sim_run(c, ch.parent, ch.type, 1);
        host_refresh(h);
}

static void expect_error(Host *h, const PlaceRequest *req, int error, size_t n_matching, size_t n_conflict,
                         size_t n_full)
{
        PlaceChoice ch;
        int r;

        host_refresh(h);
        r = placement_choose(h->place, h->n, req, &ch);
        g_test_message("%s: r=%d matching=%zu conflict=%zu full=%zu", req->profile, r, ch.n_matching,
                       ch.n_conflict, ch.n_full);
        g_assert_cmpint(r, ==, error);
        g_assert_cmpuint(ch.n_matching, ==, n_matching);
        g_assert_cmpuint(ch.n_conflict, ==, n_conflict);
        g_assert_cmpuint(ch.n_full, ==, n_full);
}

/* Three T4s, the same requests: pack keeps the third core empty so a 16Q still fits; spread does not. */
static void test_fragmentation_t4(void)
{
        for (int policy = PLACE_PACK; policy <= PLACE_SPREAD; policy++) {
                g_autoptr(Host) h = host_new();
                PlaceRequest q2 = req_of("2Q", policy), q4 = req_of("4Q", policy),
                             q16 = req_of("16Q", policy);

                host_add(h, "0000:86:00.0", NULL, 1, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
                host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
                host_add(h, "0000:5e:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);

                expect_place(h, &q2, "0000:3b:00.0", "GRID T4-2Q", 8); /* ties: the core id */
                expect_place(h, &q4, "0000:5e:00.0", "GRID T4-4Q", 4); /* 3b holds 2048M */
                if (policy == PLACE_PACK) {
                        expect_place(h, &q2, "0000:3b:00.0", "GRID T4-2Q", 7);
                        expect_place(h, &q16, "0000:86:00.0", "GRID T4-16Q", 1);
                        /* no more 16Q: two cores hold another size, the third is full */
                        expect_error(h, &q16, -ENOSPC, 3, 2, 1);
                } else {
                        expect_place(h, &q2, "0000:86:00.0", "GRID T4-2Q", 8); /* fewest used */
                        expect_error(h, &q16, -EXDEV, 3, 3, 0);
                        expect_place(h, &q2, "0000:3b:00.0", "GRID T4-2Q", 7); /* used 1 each: most room */
                        expect_place(h, &q2, "0000:86:00.0", "GRID T4-2Q", 7);
                }
        }
}

/* A T4 and an A40 (32 VFs): pack puts 8Q on the T4 (best fit: least room on an empty core), so the
 * A40 stays free for a 48Q; spread puts it on the A40 and the 48Q has nowhere to go. */
static void test_fragmentation_best_fit(void)
{
        for (int policy = PLACE_PACK; policy <= PLACE_SPREAD; policy++) {
                g_autoptr(Host) h = host_new();
                PlaceRequest q8 = req_of("8Q", policy), q48 = req_of("48Q", policy);

                host_add(h, "0000:41:00.0", NULL, 0, a40_rows, G_N_ELEMENTS(a40_rows), 32, 49152);
                host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);

                if (policy == PLACE_PACK) {
                        expect_place(h, &q8, "0000:3b:00.0", "GRID T4-8Q", 2);
                        expect_place(h, &q8, "0000:3b:00.0", "GRID T4-8Q", 1);
                        expect_place(h, &q48, "0000:41:00.4", "NVIDIA A40-48Q", 1);
                        /* the T4 is full, the A40 holds 48Q */
                        expect_error(h, &q8, -ENOSPC, 2, 1, 1);
                        expect_error(h, &q48, -ENOSPC, 1, 0, 1);
                } else {
                        expect_place(h, &q8, "0000:41:00.4", "NVIDIA A40-8Q", 6);
                        expect_place(h, &q8, "0000:3b:00.0", "GRID T4-8Q", 2);
                        expect_place(h, &q8, "0000:41:00.5", "NVIDIA A40-8Q", 5); /* used 1 each */
                        expect_error(h, &q48, -EXDEV, 1, 1, 0);
                }
        }
}

/* A long mixed sequence over four A40s: with pack, no request fails that could have been served by
 * keeping cores apart; the final state is checked core by core. */
static void test_fragmentation_sequence(void)
{
        static const char *const seq[] = {"2Q", "8Q", "2Q", "4C", "2Q", "8Q", "2Q", "2Q", "8Q", "4Q"};
        g_autoptr(Host) h = host_new();
        const char *cores[] = {"0000:17:00.0", "0000:31:00.0", "0000:b1:00.0", "0000:ca:00.0"};
        size_t count[4][G_N_ELEMENTS(a40_rows)] = {};

        for (size_t i = 0; i < G_N_ELEMENTS(cores); i++)
                host_add(h, cores[i], NULL, i < 2 ? 0 : 1, a40_rows, G_N_ELEMENTS(a40_rows), 32, 49152);

        for (size_t k = 0; k < G_N_ELEMENTS(seq); k++) {
                PlaceRequest req = req_of(seq[k], PLACE_PACK);
                PlaceChoice ch;

                host_refresh(h);
                g_assert_cmpint(placement_choose(h->place, h->n, &req, &ch), ==, 0);
                count[ch.core][ch.type]++;
                sim_run(h->cores[ch.core], ch.parent, ch.type, 1);
        }
        host_refresh(h);

        /* 2Q x5 on the first core; 8Q x3 on the second; 4C then 4Q (both 4096M) on the third; the
         * fourth untouched, so a 48Q still fits */
        g_assert_cmpuint(count[0][1], ==, 5);
        g_assert_cmpuint(count[1][3], ==, 3);
        g_assert_cmpuint(count[2][6], ==, 1);
        g_assert_cmpuint(count[2][2], ==, 1);
        g_assert_cmpuint(h->place[3].cap.used, ==, 0);
        g_assert_cmpuint(h->place[0].cap.size_class_mib, ==, 2048);
        g_assert_cmpuint(h->place[1].cap.size_class_mib, ==, 8192);
        g_assert_cmpuint(h->place[2].cap.size_class_mib, ==, 4096);
        {
                PlaceRequest q48 = req_of("A40-48Q", PLACE_PACK);

                expect_place(h, &q48, "0000:ca:00.4", "NVIDIA A40-48Q", 1);
        }
        /* room per size class, as Plan shows it */
        g_assert_cmpuint(placement_room_for_size(&h->place[0], 2048), ==, 24 - 5);
        g_assert_cmpuint(placement_room_for_size(&h->place[0], 4096), ==, 0);
        g_assert_cmpuint(placement_room_for_size(&h->place[1], 8192), ==, 3);
        g_assert_cmpuint(placement_room_for_size(&h->place[2], 4096), ==, 10);
        g_assert_cmpuint(placement_room_for_size(&h->place[3], 49152), ==, 0); /* full now */
        g_assert_cmpuint(placement_room_for_size(&h->place[3], 1024), ==, 0);
        g_assert_cmpuint(placement_room_for_size(&h->place[0], 0), ==, 0);
        g_assert_cmpuint(placement_room_for_size(NULL, 2048), ==, 0);
}

/* An A16 board: four cores, 16 VFs each, one vGPU per VF; a VF's other sizes drop to 0 once its core
 * holds a size. */
static Host *a16_host(void)
{
        Host *h = host_new();
        const char *cores[] = {"0000:89:00.0", "0000:8a:00.0", "0000:8b:00.0", "0000:8c:00.0"};

        for (size_t i = 0; i < G_N_ELEMENTS(cores); i++)
                host_add(h, cores[i], "0000:87:00.0", 1, a16_rows, G_N_ELEMENTS(a16_rows), 16, 16384);
        return h;
}

static void test_a16_pack(void)
{
        g_autoptr(Host) h = a16_host();
        PlaceRequest q2 = req_of("2Q", PLACE_PACK), q4 = req_of("A16-4Q", PLACE_PACK);
        const char *vfs[] = {"0000:89:00.4", "0000:89:00.5", "0000:89:00.6", "0000:89:00.7",
                             "0000:89:01.0", "0000:89:01.1", "0000:89:01.2", "0000:89:01.3"};

        for (size_t k = 0; k < 8; k++)
                expect_place(h, &q2, vfs[k], "NVIDIA A16-2Q", 8 - (uint32_t)k);

        /* the core is full at 8 (its other VFs show 0 now); the next goes to the next core */
        g_assert_cmpuint(h->place[0].cap.used, ==, 8);
        g_assert_cmpuint(h->place[0].cap.capacity, ==, 8);
        g_assert_cmpint(h->cores[0]->avail[8][1], ==, 0);
        expect_place(h, &q2, "0000:8a:00.4", "NVIDIA A16-2Q", 8);

        /* the driver's rule: a free VF of 8a offers no 4096M type any more */
        g_assert_cmpint(h->cores[1]->avail[1][3], ==, 0);
        g_assert_cmpint(h->cores[1]->avail[1][1], ==, 1);
        g_assert_cmpuint(placement_room(&h->place[1], h->cores[1]->types[0][3]), ==, 0);
        g_assert_cmpuint(placement_room(&h->place[1], h->cores[1]->types[5][1]), ==, 7);

        expect_place(h, &q4, "0000:8b:00.4", "NVIDIA A16-4Q", 4);
        expect_place(h, &q4, "0000:8b:00.5", "NVIDIA A16-4Q", 3);
        /* a 2B shares 2Q's size: it packs onto 8a, next to the 2Q */
        {
                PlaceRequest b2 = req_of("2B", PLACE_PACK);

                expect_place(h, &b2, "0000:8a:00.5", "NVIDIA A16-2B", 7);
        }
        {
                PlaceRequest q16 = req_of("16Q", PLACE_PACK);

                expect_place(h, &q16, "0000:8c:00.4", "NVIDIA A16-16Q", 1);
                /* 89 full, 8a/8b/8c refuse by size or are full */
                expect_error(h, &q16, -ENOSPC, 4, 3, 1);
        }
        /* restricted to the full core's PF: -ENOSPC, counted once */
        {
                PlaceRequest r = req_of("2Q", PLACE_PACK);

                r.parent = "0000:89:00.0";
                expect_error(h, &r, -ENOSPC, 1, 0, 1);
        }
}

static void test_a16_spread(void)
{
        g_autoptr(Host) h = a16_host();
        PlaceRequest q2 = req_of("NVIDIA A16-2Q", PLACE_SPREAD), q4 = req_of("4Q", PLACE_SPREAD);

        expect_place(h, &q2, "0000:89:00.4", "NVIDIA A16-2Q", 8);
        expect_place(h, &q2, "0000:8a:00.4", "NVIDIA A16-2Q", 8);
        expect_place(h, &q2, "0000:8b:00.4", "NVIDIA A16-2Q", 8);
        expect_place(h, &q2, "0000:8c:00.4", "NVIDIA A16-2Q", 8);
        expect_place(h, &q2, "0000:89:00.5", "NVIDIA A16-2Q", 7);
        /* every core holds 2048M: a 4Q is refused by size everywhere */
        expect_error(h, &q4, -EXDEV, 4, 4, 0);
}

/* The VF within a core: the first with available_instances > 0, in the order given. */
static void test_sriov_vf_choice(void)
{
        g_autoptr(Host) h = a16_host();
        SimCore *c = h->cores[0];
        PlaceRequest q2 = req_of("2Q", PLACE_PACK);

        sim_run(c, 0, 1, 1); /* 00.4 and 00.6 busy with 2Q */
        sim_run(c, 2, 1, 1);
        expect_place(h, &q2, "0000:89:00.5", "NVIDIA A16-2Q", 6);
        expect_place(h, &q2, "0000:89:00.7", "NVIDIA A16-2Q", 5);

        /* one VF by name: a busy one is full, a free one is chosen even if others come first */
        q2.parent = "0000:89:00.6";
        expect_error(h, &q2, -ENOSPC, 1, 0, 1);
        q2.parent = "0000:89:02.3";
        expect_place(h, &q2, "0000:89:02.3", "NVIDIA A16-2Q", 1);
        /* the PF of another core selects that core's VFs */
        q2.parent = "0000:8c:00.0";
        expect_place(h, &q2, "0000:8c:00.4", "NVIDIA A16-2Q", 8);

        /* counts unknown on a VF core: the first VF offering the type */
        c = h->cores[3];
        c->no_avail_array = true;
        expect_place(h, &q2, "0000:8c:00.4", "NVIDIA A16-2Q", 7); /* the model alone: 8 - 1 */
}

/* Full hosts and size conflicts: the error and the counts. */
static void test_full_and_conflict(void)
{
        g_autoptr(Host) h = host_new();
        SimCore *a = host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
        SimCore *b = host_add(h, "0000:5e:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
        PlaceRequest q2 = req_of("2Q", PLACE_PACK), q4 = req_of("4Q", PLACE_SPREAD),
                     b2 = req_of("2B", PLACE_PACK);

        sim_run(a, 0, 1, 8);
        sim_run(b, 0, 1, 8);
        expect_error(h, &q2, -ENOSPC, 2, 0, 2);
        expect_error(h, &b2, -ENOSPC, 2, 0, 2);
        expect_error(h, &q4, -EXDEV, 2, 2, 0);

        /* b now holds 4Q and is full: a 2Q meets one full core and one conflict */
        b->n_devices[0] = 0;
        sim_run(b, 0, 2, 4);
        expect_error(h, &q2, -ENOSPC, 2, 1, 1);
        expect_error(h, &q4, -ENOSPC, 2, 1, 1);

        /* one free 4Q slot on b: chosen, while a 2Q is still refused */
        b->n_devices[0] = 3;
        expect_error(h, &q2, -ENOSPC, 2, 1, 1);
        expect_place(h, &q4, "0000:5e:00.0", "GRID T4-4Q", 1);

        /* nothing answers to these */
        {
                PlaceRequest r = req_of("A40-8Q", PLACE_PACK);

                expect_error(h, &r, -ENOENT, 0, 0, 0);
                r.profile = "nvidia-558";
                expect_error(h, &r, -ENOENT, 0, 0, 0);
                r.profile = "5C";
                expect_error(h, &r, -ENOENT, 0, 0, 0);
        }
        {
                PlaceChoice ch;
                PlaceRequest r = req_of("2Q", PLACE_PACK);

                g_assert_cmpint(placement_choose(NULL, 0, &r, &ch), ==, -ENOENT);
                g_assert_cmpuint(ch.n_matching, ==, 0);
        }
}

/* Mixed-size cores: sizes mix, the room comes from available_instances. */
static void test_mixed_size(void)
{
        for (int inferred = 0; inferred <= 1; inferred++) {
                g_autoptr(Host) h = host_new();
                SimCore *m = host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
                PlaceRequest q4 = req_of("4Q", PLACE_PACK), q1 = req_of("1Q", PLACE_PACK),
                             q4s = req_of("4Q", PLACE_SPREAD);

                host_add(h, "0000:5e:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
                g_test_message("mixed-size %s", inferred ? "inferred" : "configured");
                m->mixed = true;
                m->mixed_config = !inferred;
                sim_run(m, 0, 3, 1); /* one 8Q: 8192M left */
                host_refresh(h);
                g_assert_true(h->place[0].cap.mixed_size);
                g_assert_cmpuint(placement_room(&h->place[0], m->types[0][2]), ==, 2);
                g_assert_cmpuint(placement_room(&h->place[0], m->types[0][0]), ==, 8);
                g_assert_cmpuint(placement_room(&h->place[0], m->types[0][4]), ==, 0);

                /* spread: the empty core; pack: the core in use, which takes a 4Q next to its 8Q */
                {
                        PlaceChoice ch;

                        g_assert_cmpint(placement_choose(h->place, h->n, &q4s, &ch), ==, 0);
                        g_assert_cmpuint(ch.core, ==, 1);
                        g_assert_cmpuint(ch.room, ==, 4);
                }
                expect_place(h, &q4, "0000:3b:00.0", "GRID T4-4Q", 2);
                expect_place(h, &q4, "0000:3b:00.0", "GRID T4-4Q", 1);
                /* 16384M used: full whatever the size, so the 1Q goes to the empty core */
                g_assert_cmpuint(h->place[0].cap.used, ==, 3);
                expect_place(h, &q1, "0000:5e:00.0", "GRID T4-1Q", 16);
                {
                        PlaceRequest r = req_of("1Q", PLACE_PACK);

                        r.parent = "0000:3b:00.0";
                        /* configured: the core is mixed, so only full; inferred: with nothing left
                         * available and two sizes running, the model still knows it is mixed */
                        expect_error(h, &r, -ENOSPC, 1, 0, 1);
                }
        }
}

/* The forms a profile may take. */
static void test_profile_forms(void)
{
        static const struct {
                const char *profile, *parent, *type;
        } cases[] = {
                {"8Q", "0000:3b:00.0", "GRID T4-8Q"}, /* both answer; pack: least room */
                {"A40-8Q", "0000:41:00.4", "NVIDIA A40-8Q"},
                {"NVIDIA A40-8Q", "0000:41:00.4", "NVIDIA A40-8Q"},
                {"nvidia-562", "0000:41:00.4", "NVIDIA A40-8Q"},
                {" a40-8q\t", "0000:41:00.4", "NVIDIA A40-8Q"},
                {"GRID T4-8Q", "0000:3b:00.0", "GRID T4-8Q"},
                {"nvidia-233", "0000:3b:00.0", "GRID T4-8Q"},
                {"4C", "0000:41:00.4", "NVIDIA A40-4C"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(Host) h = host_new();
                PlaceRequest r = req_of(cases[i].profile, PLACE_PACK);

                host_add(h, "0000:41:00.0", NULL, 0, a40_rows, G_N_ELEMENTS(a40_rows), 32, 49152);
                host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
                expect_place(h, &r, cases[i].parent, cases[i].type,
                             strstr(cases[i].type, "T4")   ? 2
                             : strstr(cases[i].type, "4C") ? 12
                                                           : 6);
        }
}

/* Restrictions: a parent, a core id, a board, a NUMA node; the counts cover only what passes. */
static void test_restrictions(void)
{
        g_autoptr(Host) h = a16_host();
        PlaceRequest r = req_of("2Q", PLACE_PACK);

        host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
        host_add(h, "0000:86:00.0", NULL, 1, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);

        /* no restriction: every core empty, room 8 each: the core id decides */
        host_refresh(h);
        {
                PlaceChoice ch;

                g_assert_cmpint(placement_choose(h->place, h->n, &r, &ch), ==, 0);
                g_assert_cmpstr(h->place[ch.core].core, ==, "0000:3b:00.0");
                g_assert_cmpuint(ch.n_matching, ==, 6);
        }

        r.numa_node = 1;
        expect_place(h, &r, "0000:86:00.0", "GRID T4-2Q", 8);
        r.numa_node = 0;
        expect_place(h, &r, "0000:3b:00.0", "GRID T4-2Q", 8);
        r.numa_node = 2;
        expect_error(h, &r, -ENOENT, 0, 0, 0);
        r.numa_node = -1;

        r.board = "0000:87:00.0";
        expect_place(h, &r, "0000:89:00.4", "NVIDIA A16-2Q", 8);
        r.board = "0000:86:00.0"; /* a core without a board is its own board */
        expect_place(h, &r, "0000:86:00.0", "GRID T4-2Q", 7);
        r.board = "0000:99:00.0";
        expect_error(h, &r, -ENOENT, 0, 0, 0);
        r.board = "";

        r.parent = "0000:8b:00.0"; /* a PF: its VFs */
        expect_place(h, &r, "0000:8b:00.4", "NVIDIA A16-2Q", 8);
        r.parent = "0000:8a:01.2"; /* one VF */
        expect_place(h, &r, "0000:8a:01.2", "NVIDIA A16-2Q", 1);
        r.parent = "0000:3b:00.0";
        expect_place(h, &r, "0000:3b:00.0", "GRID T4-2Q", 7);
        r.parent = "0000:00:00.0";
        expect_error(h, &r, -ENOENT, 0, 0, 0);

        /* restrictions combine: the board's cores on NUMA node 0 are none */
        r.parent = NULL;
        r.board = "0000:87:00.0";
        r.numa_node = 0;
        expect_error(h, &r, -ENOENT, 0, 0, 0);
        /* a parent restriction with a 4Q: the VF of a core at 2048M refuses by size */
        r = req_of("4Q", PLACE_PACK);
        r.parent = "0000:89:00.5";
        expect_error(h, &r, -EXDEV, 1, 1, 0);
}

/* A set of parents (a Proxmox mapping's alternatives): only those VFs count, on the cores they belong
 * to; a core id in the set takes all its parents. */
static void test_parent_set(void)
{
        g_autoptr(Host) h = a16_host();
        const char *const mapping[] = {"0000:89:00.4", "0000:8a:00.4", "0000:8b:00.4", NULL};
        const char *const with_core[] = {"0000:89:00.4", "0000:8c:00.0", NULL};
        const char *const nothing[] = {"0000:00:00.0", NULL};
        PlaceRequest q4 = req_of("4Q", PLACE_PACK);

        sim_run(h->cores[0], 1, 1, 1); /* a 2Q on 89:00.5: core 89 is at 2048M */
        q4.parents = mapping;
        /* the mapping's first device is on a core at another size: the next one, room 1 (one VF) */
        expect_place(h, &q4, "0000:8a:00.4", "NVIDIA A16-4Q", 1);
        expect_place(h, &q4, "0000:8b:00.4", "NVIDIA A16-4Q", 1);
        /* 89 refuses by size, 8a and 8b have no free VF in the set: full, though their cores are not */
        expect_error(h, &q4, -ENOSPC, 3, 1, 2);
        g_assert_cmpuint(h->place[1].cap.used, ==, 1);

        /* a core id takes every VF of that core */
        q4.parents = with_core;
        expect_place(h, &q4, "0000:8c:00.4", "NVIDIA A16-4Q", 4);
        expect_place(h, &q4, "0000:8c:00.5", "NVIDIA A16-4Q", 3);
        /* with "parent" too, both apply: a VF outside the set is none */
        q4.parent = "0000:8c:00.7";
        expect_place(h, &q4, "0000:8c:00.7", "NVIDIA A16-4Q", 1);
        q4.parent = "0000:8a:00.5";
        expect_error(h, &q4, -ENOENT, 0, 0, 0);
        q4.parent = NULL;

        q4.parents = nothing;
        expect_error(h, &q4, -ENOENT, 0, 0, 0);
}

/* Sizeless types: mtty, GVT-g; the driver's counts and the model's capacity decide. */
static void test_sizeless(void)
{
        g_autoptr(Host) h = host_new();
        SimCore *mtty = host_add(h, "mtty", NULL, -1, mtty_rows, G_N_ELEMENTS(mtty_rows), 0, 0);
        SimCore *gvt = host_add(h, "0000:00:02.0", NULL, 0, gvt_rows, G_N_ELEMENTS(gvt_rows), 0, 0);
        PlaceRequest r = req_of("mtty-2", PLACE_PACK);

        mtty->hand_counts = gvt->hand_counts = true;
        mtty->avail[0][0] = 24;
        mtty->avail[0][1] = 12;
        gvt->avail[0][0] = 1;
        gvt->avail[0][1] = 3;

        expect_place(h, &r, "mtty", "mtty-2", 12);
        mtty->avail[0][0] = 22;
        mtty->avail[0][1] = 11;
        r.profile = "Single port serial";
        expect_place(h, &r, "mtty", "mtty-1", 22);
        /* mtty-1 and mtty-2 mix freely (no size rule) */
        mtty->avail[0][0] = 21;
        mtty->avail[0][1] = 10;
        r.profile = "dual port serial";
        expect_place(h, &r, "mtty", "mtty-2", 10);
        mtty->avail[0][0] = mtty->avail[0][1] = 0;
        expect_error(h, &r, -ENOSPC, 1, 0, 1);

        r.profile = "i915-GVTg_V4_4";
        expect_place(h, &r, "0000:00:02.0", "i915-GVTg_V4_4", 3);
        gvt->avail[0][1] = 2;
        gvt->avail[0][0] = 0;
        r.profile = "i915-GVTg_V4_2";
        expect_error(h, &r, -ENOSPC, 1, 0, 1);

        /* nothing known at all: one can be tried */
        mtty->avail[0][0] = mtty->avail[0][1] = -1;
        mtty->n_devices[0] = 0;
        r.profile = "mtty-1";
        expect_place(h, &r, "mtty", "mtty-1", 1);
}

/* An A100 in MIG mode, four VFs: MIG-backed types are sizeless; the time-sliced 40C shows none. */
static void test_mig(void)
{
        g_autoptr(Host) h = host_new();
        SimCore *c = host_add(h, "0000:41:00.0", NULL, 0, a100_rows, G_N_ELEMENTS(a100_rows), 4, 40960);
        PlaceRequest r = req_of("1-5C", PLACE_PACK);

        c->hand_counts = true;
        sim_run(c, 0, 0, 1); /* 00.4 runs a 1-5C */
        for (size_t p = 1; p < 4; p++) {
                c->avail[p][0] = 1;
                c->avail[p][1] = 1;
                c->avail[p][2] = 0;
                c->avail[p][3] = 0;
        }
        host_refresh(h);
        g_assert_cmpuint(h->place[0].cap.size_class_mib, ==, 0);
        g_assert_cmpuint(h->place[0].cap.capacity, ==, 4); /* 1 + 3 available */

        expect_place(h, &r, "0000:41:00.5", "GRID A100-1-5C", 3);
        for (size_t p = 0; p < 4; p++)
                c->avail[p][0] = c->avail[p][1] = p >= 2;
        r.profile = "A100-2-10C";
        expect_place(h, &r, "0000:41:00.6", "GRID A100-2-10C", 2);
        r.profile = "5C"; /* a MIG profile needs its slices */
        expect_error(h, &r, -ENOENT, 0, 0, 0);
        r.profile = "40C";
        expect_error(h, &r, -ENOSPC, 1, 0, 1);
        r.profile = "7-40C";
        expect_error(h, &r, -ENOSPC, 1, 0, 1);
}

/* Unknown counts: the model's bound alone; with nothing known, one can be tried. */
static void test_unknown_availability(void)
{
        g_autoptr(Host) h = host_new();
        SimCore *a = host_add(h, "0000:3b:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
        SimCore *b = host_add(h, "0000:5e:00.0", NULL, 0, t4_rows, G_N_ELEMENTS(t4_rows), 0, 16384);
        PlaceRequest r = req_of("2Q", PLACE_PACK);

        a->no_avail_array = true;
        sim_run(a, 0, 1, 3);
        expect_place(h, &r, "0000:3b:00.0", "GRID T4-2Q", 5); /* 8 - 3 */
        sim_run(a, 0, 1, 4);
        /* a is full by the model alone; b takes it */
        host_refresh(h);
        g_assert_cmpuint(placement_room(&h->place[0], a->types[0][1]), ==, 0);
        expect_place(h, &r, "0000:5e:00.0", "GRID T4-2Q", 8);
        r.parent = "0000:3b:00.0";
        expect_error(h, &r, -ENOSPC, 1, 0, 1);
        r.parent = NULL;
        g_assert_cmpuint(b->n_devices[0], ==, 1);

        /* -1 in the array as well as no array; a type without a max: the driver's count only */
        {
                g_autoptr(VgpuType) nomax = vgpu_type_new("nvidia-231", "GRID T4-2Q", NULL);
                const VgpuType *types[] = {NULL, nomax};
                const int avail[] = {5, -1};
                PlaceParent p = {.name = "0000:3b:00.0", .types = types, .available = avail, .n_types = 2};
                PlaceCore c = {.core = "0000:3b:00.0", .numa_node = -1, .parents = &p, .n_parents = 1};
                PlaceChoice ch;

                g_assert_cmpuint(placement_room(&c, nomax), ==, 1);
                g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
                g_assert_cmpuint(ch.type, ==, 1);
                g_assert_cmpuint(ch.room, ==, 1);
        }
}

/* Several matching types on one core (two ids for one profile, as across driver releases): the one
 * with the most room; ties: the first offered. */
static void test_several_matching(void)
{
        g_autoptr(VgpuType) old = vgpu_type_new("nvidia-231", "GRID T4-2Q", NULL);
        g_autoptr(VgpuType) new = vgpu_type_new("nvidia-999", "GRID T4-2Q", NULL);
        const VgpuType *types[] = {old, new};
        int avail[] = {3, 5};
        PlaceParent p = {.name = "0000:3b:00.0", .types = types, .available = avail, .n_types = 2};
        PlaceCore c = {.core = "0000:3b:00.0", .numa_node = -1, .parents = &p, .n_parents = 1};
        PlaceRequest r = req_of("T4-2Q", PLACE_PACK);
        PlaceChoice ch;

        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
        g_assert_cmpuint(ch.type, ==, 1);
        g_assert_cmpuint(ch.room, ==, 5);
        g_assert_cmpuint(ch.n_matching, ==, 1);
        avail[1] = 3;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
        g_assert_cmpuint(ch.type, ==, 0);
        avail[0] = 0;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
        g_assert_cmpuint(ch.type, ==, 1);
        g_assert_cmpuint(ch.room, ==, 3);
}

static void test_bad_input(void)
{
        g_autoptr(VgpuType) q2 = vgpu_type_new("nvidia-231", "GRID T4-2Q", NULL);
        const VgpuType *types[] = {q2};
        const int avail[] = {1};
        PlaceParent p = {.name = "0000:3b:00.0", .types = types, .available = avail, .n_types = 1};
        PlaceCore c = {.core = "0000:3b:00.0", .numa_node = -1, .parents = &p, .n_parents = 1};
        PlaceRequest r = req_of("2Q", PLACE_PACK);
        PlaceChoice ch = {.room = 77};
        PlacePolicy pol;

        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
        ch.room = 77;
        g_assert_cmpint(placement_choose(NULL, 1, &r, &ch), ==, -EINVAL);
        g_assert_cmpint(placement_choose(&c, 1, NULL, &ch), ==, -EINVAL);
        g_assert_cmpint(placement_choose(&c, 1, &r, NULL), ==, -EINVAL);
        for (size_t i = 0; i < 3; i++) {
                r.profile = (const char *[]){NULL, "", " \t\n"}[i];
                g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        }
        r = req_of("2Q", 7);
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        r = req_of("2Q", PLACE_SPREAD);
        c.core = NULL;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        c.core = "";
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        c.core = "0000:3b:00.0";
        p.name = NULL;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        p.name = "0000:3b:00.0";
        p.types = NULL;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        p.types = types;
        c.parents = NULL;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -EINVAL);
        g_assert_cmpuint(ch.room, ==, 77); /* untouched */
        c.parents = &p;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, 0);
        g_assert_cmpuint(ch.room, ==, 1);

        /* an empty core or parent is no error, only nothing to offer */
        c.n_parents = 0;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -ENOENT);
        c.n_parents = 1;
        p.n_types = 0;
        g_assert_cmpint(placement_choose(&c, 1, &r, &ch), ==, -ENOENT);

        g_assert_cmpuint(placement_room(NULL, q2), ==, 0);
        g_assert_cmpuint(placement_room(&c, NULL), ==, 0);

        g_assert_cmpint(placement_policy_from_string("pack", &pol), ==, 0);
        g_assert_cmpint(pol, ==, PLACE_PACK);
        g_assert_cmpint(placement_policy_from_string("spread", &pol), ==, 0);
        g_assert_cmpint(pol, ==, PLACE_SPREAD);
        g_assert_cmpint(placement_policy_from_string("Pack", &pol), ==, -EINVAL);
        g_assert_cmpint(placement_policy_from_string("", &pol), ==, -EINVAL);
        g_assert_cmpint(placement_policy_from_string(NULL, &pol), ==, -EINVAL);
        g_assert_cmpint(placement_policy_from_string("pack", NULL), ==, -EINVAL);
        g_assert_cmpint(pol, ==, PLACE_SPREAD);
        g_assert_cmpstr(placement_policy_to_string(PLACE_PACK), ==, "pack");
        g_assert_cmpstr(placement_policy_to_string(PLACE_SPREAD), ==, "spread");
        g_assert_null(placement_policy_to_string((PlacePolicy)42));
}

/* A request that asks for mixed-size mode goes only to a switchable core that is mixed or empty. */
static void test_mixed_size_cores(void)
{
        PlaceCore c = {.core = "0000:c1:00.0", .numa_node = -1, .switchable = true};

        g_assert_true(placement_core_mixed_ok(&c)); /* empty: switched before its first vGPU */
        c.cap.used = 1;
        c.cap.size_class_mib = 4096;
        g_assert_false(placement_core_mixed_ok(&c)); /* equal-size vGPUs: the driver does not switch */
        c.cap.mixed_size = true;
        g_assert_true(placement_core_mixed_ok(&c));
        c.switchable = false; /* an mdev GPU: never through a definition */
        g_assert_false(placement_core_mixed_ok(&c));
        c.cap = (CoreCapacity){};
        g_assert_false(placement_core_mixed_ok(&c));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/placement/fragmentation-t4", test_fragmentation_t4);
        g_test_add_func("/placement/fragmentation-best-fit", test_fragmentation_best_fit);
        g_test_add_func("/placement/fragmentation-sequence", test_fragmentation_sequence);
        g_test_add_func("/placement/a16-pack", test_a16_pack);
        g_test_add_func("/placement/a16-spread", test_a16_spread);
        g_test_add_func("/placement/sriov-vf-choice", test_sriov_vf_choice);
        g_test_add_func("/placement/full-and-conflict", test_full_and_conflict);
        g_test_add_func("/placement/mixed-size", test_mixed_size);
        g_test_add_func("/placement/profile-forms", test_profile_forms);
        g_test_add_func("/placement/restrictions", test_restrictions);
        g_test_add_func("/placement/parent-set", test_parent_set);
        g_test_add_func("/placement/sizeless", test_sizeless);
        g_test_add_func("/placement/mig", test_mig);
        g_test_add_func("/placement/unknown-availability", test_unknown_availability);
        g_test_add_func("/placement/several-matching", test_several_matching);
        g_test_add_func("/placement/bad-input", test_bad_input);
        g_test_add_func("/placement/mixed-size-cores", test_mixed_size_cores);

        return g_test_run();
}
