/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* GPU cores and boards. A physical GPU core is one PCI function; SR-IOV virtual functions (the mdev
 * parents of Ampere and later) belong to their physical function's core. A board with several cores
 * (Tesla M10 and A16: four; Tesla M60: two) puts them behind one PCIe switch:
 *     <root port>/<switch upstream port>/<switch downstream port>/<core>
 * with the VFs next to their PF under the same downstream port. Pure computation on what the caller
 * read from sysfs: no I/O. */

#include <stddef.h>
#include <stdint.h>

typedef struct {
        const char *name;            /* parent name, e.g. "0000:06:00.4" or "mtty"; required */
        const char *physfn;          /* PF address if the parent is an SR-IOV VF, else NULL */
        const char *const *pci_path; /* PCI addresses from the top bridge (the root port) down to the parent
                                        itself: {"0000:00:03.0","0000:03:00.0","0000:04:09.0",
                                        "0000:06:00.4"}; NULL/0 for non-PCI parents. When given, its last
                                        element must be name. */
        size_t pci_path_len;
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
} TopologyParent;

typedef struct {
        char *core;  /* the physfn address for a VF, else the parent's name */
        char *board; /* the switch upstream port shared by the board's cores, else == core */
} TopologyPlace;

/* Fill ret[i] (n entries, owned by the caller, cleared first) with the core and board of parents[i].
 *
 * Cores: a VF's core is its physfn, whether or not the PF is itself in the list; anything else is its
 * own core.
 * Boards: the board candidate of a core is its switch upstream port, pci_path[len - 3] (for a VF as
 * for a PF: path minus the last element is the downstream port, one more up the upstream port), when
 * the path has a root port above that (len >= 4). Cores with the same candidate AND the same
 * vendor/device/subsystem ids are one board, whose id is that upstream port, when there are at least
 * two such cores and the ids are not those of a card known to carry a single core (T4, A2, A40, A100,
 * ...: see topology_board_model()). That last check keeps two single-core cards behind one motherboard
 * switch apart; two unknown single-core cards of the same model behind one switch are still taken for
 * one board. Anything else (a single core, a non-PCI parent, a device right below a root port) is its
 * own board: board id = core id. A core's candidate and ids are taken from its first parent in the list.
 *
 * Returns 0, or -EINVAL (ret left cleared) on bad input: parents/ret NULL with n > 0, a NULL/empty
 * name, a name listed twice, a physfn or path element that is not a PCI address
 * ("DDDD:BB:DD.F", hex, domain of 4+ digits), pci_path NULL with pci_path_len > 0, or a path whose last
 * element is not name. */
int topology_resolve(const TopologyParent *parents, size_t n, TopologyPlace *ret);

/* Free both strings and set them to NULL. NULL-safe; may be called again. */
void topology_place_clear(TopologyPlace *p);

/* A human name for a known NVIDIA vGPU board or card from its PCI ids, else NULL. Static strings:
 *   10de:13bd "Tesla M10" (4 cores)      10de:13f2 "Tesla M60" (2 cores)   10de:1eb8 "Tesla T4"
 *   10de:2235 "A40"                      10de:20f1 "A100 PCIe 40GB"
 *   10de:25b6 is both A2 (1 core) and A16 (4 cores): subsystem 10de:14a9 "A16", 10de:157e "A2" (pci.ids:
 *   "A16 - 25B6 10DE 14A9 / A2 - 25B6 10DE 157E"); another subsystem: "A16" when n_cores_on_board > 1,
 *   else "A2 / A16". */
const char *topology_board_model(uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                                 uint16_t subsystem_device_id, unsigned n_cores_on_board);

/* Cores per board of a known model, 0 when unknown (same ids as topology_board_model(); 10de:25b6 with
 * an unknown subsystem is unknown). */
unsigned topology_board_cores(uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                              uint16_t subsystem_device_id);
