/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of daemon/model/topology.c: cores and boards of A16 (SR-IOV, 4 cores behind a switch),
 * M10 (4 cores, no SR-IOV), single cards behind a shared switch, non-PCI parents, bad input, and the
 * board model names. */

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "topology.h"

#define NV 0x10de

/* One parent with its path kept alive for the test. */
typedef struct {
        char *name, *physfn;
        char **path; /* NULL-terminated */
} OwnedParent;

static void owned_parent_clear(OwnedParent *p)
{
        g_free(p->name);
        g_free(p->physfn);
        g_strfreev(p->path);
}

static TopologyParent parent_of(const OwnedParent *o, uint16_t dev, uint16_t sdev)
{
        return (TopologyParent){
                .name = o->name,
                .physfn = o->physfn,
                .pci_path = (const char *const *)o->path,
                .pci_path_len = o->path ? g_strv_length(o->path) : 0,
                .vendor_id = NV,
                .device_id = dev,
                .subsystem_vendor_id = NV,
                .subsystem_device_id = sdev,
        };
}

static void places_clear(TopologyPlace *places, size_t n)
{
        for (size_t i = 0; i < n; i++)
                topology_place_clear(&places[i]);
}

/* An A16: root port 0000:00:03.0, its switch's upstream port 0000:03:00.0, four downstream ports
 * 0000:04:0{8,9,a,b}.0 with one GA107 core each (0000:0{5,6,7,8}:00.0), 16 VFs per core at functions
 * .4 .. 2.3 of the same bus, as sriov-manage makes them. The mdev parents are the VFs only. */
static void test_a16(void)
{
        enum { CORES = 4, VFS = 16, N = CORES * VFS };
        OwnedParent owned[N];
        TopologyParent parents[N];
        TopologyPlace places[N];

        for (int c = 0; c < CORES; c++)
                for (int v = 0; v < VFS; v++) {
                        OwnedParent *o = &owned[c * VFS + v];
                        int fn = 4 + v; /* VFs from function 4 of device 0 onwards */
                        g_autofree char *down = g_strdup_printf("0000:04:%02x.0", 8 + c);

                        o->name = g_strdup_printf("0000:%02x:%02x.%d", 5 + c, fn / 8, fn % 8);
                        o->physfn = g_strdup_printf("0000:%02x:00.0", 5 + c);
                        o->path = g_new0(char *, 5);
                        o->path[0] = g_strdup("0000:00:03.0");
                        o->path[1] = g_strdup("0000:03:00.0");
                        o->path[2] = g_strdup(down);
                        o->path[3] = g_strdup(o->name);
                        parents[c * VFS + v] = parent_of(o, 0x25b6, 0x14a9);
                }

        g_assert_cmpint(topology_resolve(parents, N, places), ==, 0);
        for (int c = 0; c < CORES; c++)
                for (int v = 0; v < VFS; v++) {
                        g_autofree char *core = g_strdup_printf("0000:%02x:00.0", 5 + c);

                        g_assert_cmpstr(places[c * VFS + v].core, ==, core);
                        g_assert_cmpstr(places[c * VFS + v].board, ==, "0000:03:00.0");
                }
        g_assert_cmpstr(parents[17].name, ==, "0000:06:00.5");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, NV, 0x14a9, 4), ==, "A16");
        places_clear(places, N);

        /* only one core of the board is an mdev parent: it is its own board */
        g_assert_cmpint(topology_resolve(parents + VFS, VFS, places), ==, 0);
        for (int v = 0; v < VFS; v++) {
                g_assert_cmpstr(places[v].core, ==, "0000:06:00.0");
                g_assert_cmpstr(places[v].board, ==, "0000:06:00.0");
        }
        places_clear(places, VFS);

        /* the A16 subsystem id missing (0:0): unknown ids follow the switch rule */
        for (int i = 0; i < N; i++)
                parents[i].subsystem_vendor_id = parents[i].subsystem_device_id = 0;
        g_assert_cmpint(topology_resolve(parents, N, places), ==, 0);
        g_assert_cmpstr(places[N - 1].board, ==, "0000:03:00.0");
        places_clear(places, N);

        /* the same ids as an A2 (one core per card): never grouped */
        for (int i = 0; i < N; i++) {
                parents[i].subsystem_vendor_id = NV;
                parents[i].subsystem_device_id = 0x157e;
        }
        g_assert_cmpint(topology_resolve(parents, N, places), ==, 0);
        g_assert_cmpstr(places[0].board, ==, "0000:05:00.0");
        g_assert_cmpstr(places[N - 1].board, ==, "0000:08:00.0");
        places_clear(places, N);

        for (int i = 0; i < N; i++)
                owned_parent_clear(&owned[i]);
}

/* Two Tesla M10 boards (no SR-IOV: each core is its own mdev parent), as in the Nova docs' host with
 * parents 0000:84:00.0 .. 0000:87:00.0, plus a second board. */
static void test_m10(void)
{
        const char *const b1c0[] = {"0000:80:02.0", "0000:82:00.0", "0000:83:08.0", "0000:84:00.0"};
        const char *const b1c1[] = {"0000:80:02.0", "0000:82:00.0", "0000:83:09.0", "0000:85:00.0"};
        const char *const b1c2[] = {"0000:80:02.0", "0000:82:00.0", "0000:83:10.0", "0000:86:00.0"};
        const char *const b1c3[] = {"0000:80:02.0", "0000:82:00.0", "0000:83:11.0", "0000:87:00.0"};
        const char *const b2c0[] = {"0000:00:03.0", "0000:03:00.0", "0000:04:08.0", "0000:05:00.0"};
        const char *const b2c1[] = {"0000:00:03.0", "0000:03:00.0", "0000:04:09.0", "0000:06:00.0"};
#define M10(p)                                                                                        \
        {                                                                                             \
                .name = p[3], .pci_path = p, .pci_path_len = 4, .vendor_id = NV, .device_id = 0x13bd, \
                .subsystem_vendor_id = NV, .subsystem_device_id = 0x1160                              \
        }
        const TopologyParent parents[] = {M10(b1c0), M10(b1c1), M10(b2c0), M10(b1c2), M10(b1c3), M10(b2c1)};
#undef M10
        TopologyPlace places[G_N_ELEMENTS(parents)];
        const char *const boards[] = {"0000:82:00.0", "0000:82:00.0", "0000:03:00.0",
                                      "0000:82:00.0", "0000:82:00.0", "0000:03:00.0"};

        g_assert_cmpint(topology_resolve(parents, G_N_ELEMENTS(parents), places), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(parents); i++) {
                g_assert_cmpstr(places[i].core, ==, parents[i].name);
                g_assert_cmpstr(places[i].board, ==, boards[i]);
        }
        places_clear(places, G_N_ELEMENTS(parents));
        g_assert_cmpstr(topology_board_model(NV, 0x13bd, NV, 0x1160, 4), ==, "Tesla M10");
}

/* Single-core cards: directly below a root port, behind a bridge, and two T4s behind one motherboard
 * switch (known single-core: kept apart); two cards of unknown ids behind one switch are grouped, two
 * of different ids are not, nor two behind bridges of one root port (no switch). */
static void test_single_cards(void)
{
        const char *const t4a[] = {"0000:00:01.0", "0000:01:00.0"};
        const char *const t4b[] = {"0000:00:02.0", "0000:02:00.0", "0000:03:00.0"};
        const char *const sw_t4a[] = {"0000:40:01.0", "0000:41:00.0", "0000:42:00.0", "0000:43:00.0"};
        const char *const sw_t4b[] = {"0000:40:01.0", "0000:41:00.0", "0000:42:01.0", "0000:44:00.0"};
        const char *const sw_xa[] = {"0000:50:01.0", "0000:51:00.0", "0000:52:00.0", "0000:53:00.0"};
        const char *const sw_xb[] = {"0000:50:01.0", "0000:51:00.0", "0000:52:01.0", "0000:54:00.0"};
        const char *const sw_ya[] = {"0000:60:01.0", "0000:61:00.0", "0000:62:00.0", "0000:63:00.0"};
        const char *const sw_yb[] = {"0000:60:01.0", "0000:61:00.0", "0000:62:01.0", "0000:64:00.0"};
        const char *const br_za[] = {"0000:70:01.0", "0000:71:00.0", "0000:72:00.0"};
        const char *const br_zb[] = {"0000:70:01.0", "0000:73:00.0", "0000:74:00.0"};
#define P(p, n, dev, sdev)                                                                             \
        {                                                                                              \
                .name = p[n - 1], .pci_path = p, .pci_path_len = n, .vendor_id = NV, .device_id = dev, \
                .subsystem_vendor_id = NV, .subsystem_device_id = sdev                                 \
        }
        const TopologyParent parents[] = {
                P(t4a, 2, 0x1eb8, 0x12a2),    P(t4b, 3, 0x1eb8, 0x12a2),   P(sw_t4a, 4, 0x1eb8, 0x12a2),
                P(sw_t4b, 4, 0x1eb8, 0x12a2), P(sw_xa, 4, 0x1234, 0x0001), P(sw_xb, 4, 0x1234, 0x0001),
                P(sw_ya, 4, 0x1234, 0x0001),  P(sw_yb, 4, 0x1234, 0x0002), P(br_za, 3, 0x1234, 0x0001),
                P(br_zb, 3, 0x1234, 0x0001),
        };
#undef P
        const char *const boards[] = {"0000:01:00.0", "0000:03:00.0", "0000:43:00.0", "0000:44:00.0",
                                      "0000:51:00.0", "0000:51:00.0", "0000:63:00.0", "0000:64:00.0",
                                      "0000:72:00.0", "0000:74:00.0"};
        TopologyPlace places[G_N_ELEMENTS(parents)];

        g_assert_cmpint(topology_resolve(parents, G_N_ELEMENTS(parents), places), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(parents); i++) {
                g_test_message("parent %s", parents[i].name);
                g_assert_cmpstr(places[i].core, ==, parents[i].name);
                g_assert_cmpstr(places[i].board, ==, boards[i]);
        }
        places_clear(places, G_N_ELEMENTS(parents));
}

/* An A40 with SR-IOV, its PF not an mdev parent, then with the PF listed too; a non-PCI parent. */
static void test_vfs_and_non_pci(void)
{
        const char *const vf0[] = {"0000:00:03.0", "0000:3e:00.4"};
        const char *const vf1[] = {"0000:00:03.0", "0000:3e:00.5"};
        const char *const pf[] = {"0000:00:03.0", "0000:3e:00.0"};
        const TopologyParent parents[] = {
                {.name = "0000:3e:00.4",
                 .physfn = "0000:3e:00.0",
                 .pci_path = vf0,
                 .pci_path_len = 2,
                 .vendor_id = NV,
                 .device_id = 0x2235},
                {.name = "mtty"},
                {.name = "0000:3e:00.5",
                 .physfn = "0000:3e:00.0",
                 .pci_path = vf1,
                 .pci_path_len = 2,
                 .vendor_id = NV,
                 .device_id = 0x2235},
                {.name = "0000:3e:00.0",
                 .pci_path = pf,
                 .pci_path_len = 2,
                 .vendor_id = NV,
                 .device_id = 0x2235},
                {.name = "0000:3f:00.4", .physfn = "0000:3f:00.0"}, /* a VF with no path given */
        };
        TopologyPlace places[G_N_ELEMENTS(parents)];

        g_assert_cmpint(topology_resolve(parents, G_N_ELEMENTS(parents), places), ==, 0);
        g_assert_cmpstr(places[0].core, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[0].board, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[1].core, ==, "mtty");
        g_assert_cmpstr(places[1].board, ==, "mtty");
        g_assert_cmpstr(places[2].core, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[2].board, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[3].core, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[3].board, ==, "0000:3e:00.0");
        g_assert_cmpstr(places[4].core, ==, "0000:3f:00.0");
        g_assert_cmpstr(places[4].board, ==, "0000:3f:00.0");
        places_clear(places, G_N_ELEMENTS(parents));

        /* clearing twice and NULL are fine */
        topology_place_clear(&places[0]);
        topology_place_clear(NULL);
        g_assert_null(places[0].core);
        g_assert_null(places[0].board);

        g_assert_cmpint(topology_resolve(NULL, 0, NULL), ==, 0);
}

static void assert_einval(const TopologyParent *parents, size_t n)
{
        TopologyPlace places[4];

        memset(places, 0xaa, sizeof(places)); /* garbage: must be cleared, not freed */
        g_assert_cmpint(topology_resolve(parents, n, places), ==, -EINVAL);
        for (size_t i = 0; i < n; i++) {
                g_assert_null(places[i].core);
                g_assert_null(places[i].board);
        }
}

static void test_bad_input(void)
{
        const char *const good[] = {"0000:00:03.0", "0000:3e:00.0"};
        const char *const not_last[] = {"0000:00:03.0", "0000:3e:00.1"};
        const char *const bad_elem[] = {"0000:00:03.0", "00:3e:00.0", "0000:3e:00.0"};
        const char *const null_elem[] = {"0000:00:03.0", NULL, "0000:3e:00.0"};
        const char *const vmd[] = {"10000:e0:01.0", "10000:E1:00.0"};
        const char *const bad_fn[] = {"0000:00:03.8"};
        TopologyPlace places[2];

        assert_einval((TopologyParent[]){{.name = NULL}}, 1);
        assert_einval((TopologyParent[]){{.name = ""}}, 1);
        assert_einval((TopologyParent[]){{.name = "mtty"}, {.name = "mtty"}}, 2);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.4", .physfn = "3e:00.0"}}, 1);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.4", .physfn = ""}}, 1);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.0", .pci_path_len = 2}}, 1);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.0", .pci_path = not_last, .pci_path_len = 2}},
                      1);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.0", .pci_path = bad_elem, .pci_path_len = 3}},
                      1);
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.0", .pci_path = null_elem, .pci_path_len = 3}},
                      1);
        assert_einval((TopologyParent[]){{.name = "0000:00:03.8", .pci_path = bad_fn, .pci_path_len = 1}},
                      1);
        /* an error in a later parent leaves nothing allocated for the earlier ones */
        assert_einval((TopologyParent[]){{.name = "0000:3e:00.0", .pci_path = good, .pci_path_len = 2},
                                         {.name = NULL}},
                      2);
        g_assert_cmpint(topology_resolve(NULL, 1, places), ==, -EINVAL);
        g_assert_cmpint(topology_resolve((TopologyParent[]){{.name = "mtty"}}, 1, NULL), ==, -EINVAL);

        /* a 5-digit VMD domain and upper-case hex are PCI addresses */
        g_assert_cmpint(
                topology_resolve(
                        (TopologyParent[]){{.name = "10000:E1:00.0", .pci_path = vmd, .pci_path_len = 2}}, 1,
                        places),
                ==, 0);
        g_assert_cmpstr(places[0].core, ==, "10000:E1:00.0");
        topology_place_clear(&places[0]);
}

static void test_board_model(void)
{
        g_assert_cmpstr(topology_board_model(NV, 0x13bd, NV, 0x1160, 4), ==, "Tesla M10");
        g_assert_cmpstr(topology_board_model(NV, 0x13bd, 0, 0, 0), ==, "Tesla M10");
        g_assert_cmpstr(topology_board_model(NV, 0x13f2, NV, 0x113a, 2), ==, "Tesla M60");
        g_assert_cmpstr(topology_board_model(NV, 0x1eb8, NV, 0x12a2, 1), ==, "Tesla T4");
        g_assert_cmpstr(topology_board_model(NV, 0x2235, NV, 0x145a, 1), ==, "A40");
        g_assert_cmpstr(topology_board_model(NV, 0x20f1, NV, 0x145f, 1), ==, "A100 PCIe 40GB");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, NV, 0x14a9, 4), ==, "A16");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, NV, 0x14a9, 1), ==, "A16");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, NV, 0x157e, 1), ==, "A2");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, 0x1028, 0x1234, 4), ==, "A16");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, 0x1028, 0x1234, 1), ==, "A2 / A16");
        g_assert_cmpstr(topology_board_model(NV, 0x25b6, 0, 0, 0), ==, "A2 / A16");
        g_assert_null(topology_board_model(NV, 0xffff, 0, 0, 4));
        g_assert_null(topology_board_model(0x8086, 0x13bd, 0, 0, 4));
        g_assert_null(topology_board_model(0, 0, 0, 0, 0));

        g_assert_cmpuint(topology_board_cores(NV, 0x13bd, 0, 0), ==, 4);
        g_assert_cmpuint(topology_board_cores(NV, 0x13f2, 0, 0), ==, 2);
        g_assert_cmpuint(topology_board_cores(NV, 0x25b6, NV, 0x14a9), ==, 4);
        g_assert_cmpuint(topology_board_cores(NV, 0x25b6, NV, 0x157e), ==, 1);
        g_assert_cmpuint(topology_board_cores(NV, 0x25b6, 0, 0), ==, 0);
        g_assert_cmpuint(topology_board_cores(NV, 0x1eb8, 0, 0), ==, 1);
        g_assert_cmpuint(topology_board_cores(0x8086, 0x3e92, 0, 0), ==, 0);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/topology/a16", test_a16);
        g_test_add_func("/topology/m10", test_m10);
        g_test_add_func("/topology/single-cards", test_single_cards);
        g_test_add_func("/topology/vfs-and-non-pci", test_vfs_and_non_pci);
        g_test_add_func("/topology/bad-input", test_bad_input);
        g_test_add_func("/topology/board-model", test_board_model);

        return g_test_run();
}
