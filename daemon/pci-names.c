/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpci name lookups. */

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <pci/pci.h>

#include "pci-names.h"

struct PciNames {
        struct pci_access *pacc;
};

/* Without pci_init() (which would probe the PCI access methods, not needed for names) libpci leaves
 * its message handlers unset, so set all three. error() must not return: libpci calls it only when it
 * cannot go on (out of memory). */
static __attribute__((noreturn)) void pci_error_fatal(char *msg, ...)
{
        abort();
}

static void pci_message_quiet(char *msg, ...)
{
}

PciNames *pci_names_new(void)
{
        PciNames *n = g_new0(PciNames, 1);
        return n;
}

static struct pci_access *pacc_get(PciNames *n)
{
        if (!n->pacc) {
                n->pacc = pci_alloc();
                if (!n->pacc)
                        return NULL;
                n->pacc->error = pci_error_fatal;
                n->pacc->warning = pci_message_quiet; /* a missing pci.ids: names stay "" */
                n->pacc->debug = pci_message_quiet;
                n->pacc->numeric_ids = 0;
        }
        return n->pacc;
}

void pci_names_flush(PciNames *n)
{
        if (n && n->pacc) {
                pci_cleanup(n->pacc);
                n->pacc = NULL;
        }
}

void pci_names_free(PciNames *n)
{
        if (!n)
                return;
        pci_names_flush(n);
        g_free(n);
}

/* With PCI_LOOKUP_NO_NUMBERS libpci answers NULL for unknown ids (rather than "Device 1234"); we
 * report "" then. */
static char *lookup(struct pci_access *pacc, int flags, int a, int b, int c, int d)
{
        char buf[256];
        const char *s;

        if (!pacc)
                return g_strdup("");
        s = pci_lookup_name(pacc, buf, sizeof(buf), flags | PCI_LOOKUP_NO_NUMBERS, a, b, c, d);
        return g_strdup(s ? s : "");
}

void pci_names_lookup(PciNames *n, uint16_t vendor_id, uint16_t device_id, uint16_t subsystem_vendor_id,
                      uint16_t subsystem_device_id, char **ret_vendor, char **ret_model,
                      char **ret_subsystem_model)
{
        struct pci_access *pacc = vendor_id ? pacc_get(n) : NULL;

        *ret_vendor = lookup(pacc, PCI_LOOKUP_VENDOR, vendor_id, 0, 0, 0);
        *ret_model = lookup(pacc, PCI_LOOKUP_DEVICE, vendor_id, device_id, 0, 0);
        if (subsystem_vendor_id)
                *ret_subsystem_model = lookup(pacc, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, vendor_id,
                                              device_id, subsystem_vendor_id, subsystem_device_id);
        else
                *ret_subsystem_model = g_strdup("");
}
