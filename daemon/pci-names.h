/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Human names of PCI devices from the PCI ID database, through libpci. The database is loaded on the
 * first lookup and dropped again by pci_names_flush(), so an idle daemon does not keep it in memory. */

#include <stdint.h>

typedef struct PciNames PciNames;

PciNames *pci_names_new(void);
void pci_names_free(PciNames *n);
/* Fill the names (g_free them); "" for what the database does not know. */
void pci_names_lookup(PciNames *n, uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                      uint16_t subsystem_device_id, char **ret_vendor, char **ret_model,
                      char **ret_subsystem_model);
/* Release the loaded database. */
void pci_names_flush(PciNames *n);
