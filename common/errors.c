/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Error.*: the one table that maps named errors to errno, both ways. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "errors.h"

/* Read both ways. Daemon: an errno gets the name of its first entry (anything not listed: Failed).
 * Client (sd_bus_error_add_map): a name gets the errno of its first entry. So each name's first entry
 * is its errno; further entries of a name are errnos that mean the same. To add an error: its name in
 * errors.h and dbus/org.vgpud1.xml, one line here (and the errno's meaning in daemon/ops.h). */
const sd_bus_error_map vgpud_error_map[] = {
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NOT_FOUND, ENODEV),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NOT_FOUND, ENXIO),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NO_CAPACITY, ENOSPC),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_SIZE_CONFLICT, EXDEV),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_DRIVER_REFUSED, EREMOTEIO),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_TIMEOUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_CORRUPT, EBADMSG),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_READ_ONLY, EROFS),
        SD_BUS_ERROR_MAP(SD_BUS_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(SD_BUS_ERROR_ACCESS_DENIED, EPERM),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_IO, EIO),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_MIG_MODE_OFF, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NVML_UNAVAILABLE, ELIBACC),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NO_GPU_INSTANCE, ENOSR),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        /* the client side: Failed is an EIO too (the daemon sends it for anything not listed) */
        SD_BUS_ERROR_MAP(VGPUD_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

const char *vgpud_error_name_from_errno(int error)
{
        for (const sd_bus_error_map *m = vgpud_error_map; m->name; m++)
                if (m->code == abs(error))
                        return m->name;
        return VGPUD_ERROR_FAILED;
}

int vgpud_bus_error_set(sd_bus_error *e, int r, const char *format, ...)
{
        va_list ap;
        char *msg = NULL;

        if (r == 0)
                r = -EIO;
        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        sd_bus_error_set(e, vgpud_error_name_from_errno(r), msg ? msg : strerror(abs(r)));
        free(msg);
        return r < 0 ? r : -r;
}
