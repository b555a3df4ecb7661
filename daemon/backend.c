/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What both backends share: the structs they fill and paths under the sysfs root. */

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "backend.h"

void sysfs_type_free(SysfsType *t)
{
        if (!t)
                return;
        g_free(t->id);
        g_free(t->name);
        g_free(t->description);
        g_free(t->device_api);
        g_free(t);
}

void sysfs_parent_free(SysfsParent *p)
{
        if (!p)
                return;
        g_free(p->name);
        g_free(p->syspath);
        g_free(p->subsystem);
        g_free(p->driver);
        g_free(p->physfn);
        g_strfreev(p->pci_path);
        if (p->types)
                g_ptr_array_unref(p->types);
        g_free(p);
}

void sysfs_device_free(SysfsDevice *d)
{
        g_free(d);
}

SysfsDevice *sysfs_device_new(Backend *b, const char *uuid, const char *parent, const char *type_id)
{
        SysfsDevice *d = g_new0(SysfsDevice, 1);

        g_strlcpy(d->uuid, uuid, sizeof(d->uuid));
        d->backend = b;
        d->parent = g_intern_string(parent);
        d->type_id = type_id ? g_intern_string(type_id) : NULL;
        d->gpu_instance_id = -1;
        return d;
}

void backend_free(Backend *b)
{
        if (!b)
                return;
        if (b->class->free)
                b->class->free(b);
        g_free(b->root);
        g_free(b);
}

char *backend_path(const Backend *b, const char *first, ...)
{
        g_autoptr(GString) s = g_string_new(b->root);
        va_list ap;

        va_start(ap, first);
        for (const char *part = first; part; part = va_arg(ap, const char *)) {
                if (s->len == 0 || s->str[s->len - 1] != '/')
                        g_string_append_c(s, '/');
                g_string_append(s, part[0] == '/' ? part + 1 : part);
        }
        va_end(ap);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

const char *backend_refusal_message(int error)
{
        switch (error) {
        case -ELIBACC:
                return "a MIG-backed type needs NVML (libnvidia-ml.so.1) to create its GPU instance, and "
                       "NVML "
                       "cannot be loaded";
        case -EMEDIUMTYPE:
                return "MIG mode is off on the GPU (vgpud does not switch it: that needs a GPU reset; "
                       "nvidia-smi -i <gpu> -mig 1)";
        case -ENOSR:
                return "the driver found no free GPU instance for it (EIO, \"NVRM: Failed to add vgpu "
                       "create "
                       "request: 0x38\")";
        default: return NULL;
        }
}
