/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GPU cores and boards from the PCI topology of the mdev parents, and the names of known NVIDIA
 * vGPU boards by PCI id. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "topology.h"

#define PCI_VENDOR_NVIDIA 0x10de

typedef struct {
        uint16_t device_id;
        uint16_t subsystem_vendor_id, subsystem_device_id; /* 0/0: any subsystem */
        const char *model;
        unsigned cores;
} BoardModel;

/* Device ids and names as in pci.ids; cores per board from NVIDIA's board specifications. */
static const BoardModel board_models[] = {
        {0x13bd, 0, 0, "Tesla M10", 4},
        {0x13f2, 0, 0, "Tesla M60", 2},
        {0x1b38, 0, 0, "Tesla P40", 1},
        {0x1bb3, 0, 0, "Tesla P4", 1},
        {0x1eb8, 0, 0, "Tesla T4", 1},
        {0x1e30, 0, 0, "Quadro RTX 6000/8000", 1},
        {0x20b5, 0, 0, "A100 PCIe 80GB", 1},
        {0x20b7, 0, 0, "A30", 1},
        {0x20f1, 0, 0, "A100 PCIe 40GB", 1},
        {0x2230, 0, 0, "RTX A6000", 1},
        {0x2235, 0, 0, "A40", 1},
        {0x2236, 0, 0, "A10", 1},
        /* GA107GL: one device id for two boards; pci.ids: "A16 - 25B6 10DE 14A9 / A2 - 25B6 10DE 157E" */
        {0x25b6, PCI_VENDOR_NVIDIA, 0x14a9, "A16", 4},
        {0x25b6, PCI_VENDOR_NVIDIA, 0x157e, "A2", 1},
};

static const BoardModel *board_model_find(uint16_t vendor_id, uint16_t device_id,
                                          uint16_t subsystem_vendor_id, uint16_t subsystem_device_id)
{
        if (vendor_id != PCI_VENDOR_NVIDIA)
                return NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(board_models); i++) {
                const BoardModel *m = &board_models[i];

                if (m->device_id != device_id)
                        continue;
                if (m->subsystem_vendor_id == 0 || (m->subsystem_vendor_id == subsystem_vendor_id &&
                                                    m->subsystem_device_id == subsystem_device_id))
                        return m;
        }
        return NULL;
}

const char *topology_board_model(uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                                 uint16_t subsystem_device_id, unsigned n_cores_on_board)
{
        const BoardModel *m =
                board_model_find(vendor_id, device_id, subsystem_vendor_id, subsystem_device_id);

        if (m)
                return m->model;
        if (vendor_id == PCI_VENDOR_NVIDIA && device_id == 0x25b6)
                return n_cores_on_board > 1 ? "A16" : "A2 / A16";
        return NULL;
}

unsigned topology_board_cores(uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                              uint16_t subsystem_device_id)
{
        const BoardModel *m =
                board_model_find(vendor_id, device_id, subsystem_vendor_id, subsystem_device_id);

        return m ? m->cores : 0;
}

static bool is_hex_n(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_isxdigit(s[i]))
                        return false;
        return true;
}

/* "DDDD:BB:DD.F": domain of 4 or more hex digits (VMD domains have 5), bus and device 2 hex digits,
 * function 0-7. */
static bool pci_address_is_valid(const char *s)
{
        const char *colon;
        size_t dom;

        if (!s)
                return false;
        colon = strchr(s, ':');
        if (!colon)
                return false;
        dom = (size_t)(colon - s);
        if (dom < 4 || dom > 8 || !is_hex_n(s, dom))
                return false;
        s = colon + 1;
        return strlen(s) == 7 && is_hex_n(s, 2) && s[2] == ':' && is_hex_n(s + 3, 2) && s[5] == '.' &&
               s[6] >= '0' && s[6] <= '7';
}

void topology_place_clear(TopologyPlace *p)
{
        if (!p)
                return;
        g_clear_pointer(&p->core, g_free);
        g_clear_pointer(&p->board, g_free);
}

static int parent_validate(const TopologyParent *p)
{
        if (!p->name || p->name[0] == '\0')
                return -EINVAL;
        if (p->physfn && !pci_address_is_valid(p->physfn))
                return -EINVAL;
        if (p->pci_path_len > 0) {
                if (!p->pci_path)
                        return -EINVAL;
                for (size_t i = 0; i < p->pci_path_len; i++)
                        if (!pci_address_is_valid(p->pci_path[i]))
                                return -EINVAL;
                if (strcmp(p->pci_path[p->pci_path_len - 1], p->name) != 0)
                        return -EINVAL;
        }
        return 0;
}

static const char *parent_core(const TopologyParent *p)
{
        return p->physfn ? p->physfn : p->name;
}

/* The switch upstream port above the parent, NULL when there is no switch between it and a root port. */
static const char *parent_upstream_port(const TopologyParent *p)
{
        return p->pci_path_len >= 4 ? p->pci_path[p->pci_path_len - 3] : NULL;
}

static bool parents_same_ids(const TopologyParent *a, const TopologyParent *b)
{
        return a->vendor_id == b->vendor_id && a->device_id == b->device_id &&
               a->subsystem_vendor_id == b->subsystem_vendor_id &&
               a->subsystem_device_id == b->subsystem_device_id;
}

int topology_resolve(const TopologyParent *parents, size_t n, TopologyPlace *ret)
{
        g_autofree size_t *first = NULL; /* index of the first parent of each parent's core */
        int r;

        if (n == 0)
                return 0;
        if (!parents || !ret)
                return -EINVAL;
        memset(ret, 0, n * sizeof(*ret));

        first = g_new(size_t, n);
        for (size_t i = 0; i < n; i++) {
                r = parent_validate(&parents[i]);
                if (r < 0)
                        return r;
                first[i] = i;
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(parents[j].name, parents[i].name) == 0)
                                return -EINVAL;
                        if (first[i] == i && strcmp(parent_core(&parents[j]), parent_core(&parents[i])) == 0)
                                first[i] = j;
                }
        }

        for (size_t i = 0; i < n; i++) {
                const TopologyParent *c = &parents[first[i]]; /* the parent that speaks for the core */
                const char *up = parent_upstream_port(c);
                const char *board = NULL;

                if (up && topology_board_cores(c->vendor_id, c->device_id, c->subsystem_vendor_id,
                                               c->subsystem_device_id) != 1) {
                        /* another core with the same upstream port and ids? */
                        for (size_t j = 0; j < n && !board; j++) {
                                const TopologyParent *o = &parents[j];
                                const char *o_up;

                                if (first[j] != j || j == first[i])
                                        continue; /* look at each other core once, by its first parent */
                                o_up = parent_upstream_port(o);
                                if (o_up && strcmp(o_up, up) == 0 && parents_same_ids(o, c))
                                        board = up;
                        }
                }

                ret[i].core = g_strdup(parent_core(&parents[i]));
                ret[i].board = g_strdup(board ? board : ret[i].core);
        }
        return 0;
}
