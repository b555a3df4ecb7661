/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.vgpud1.Error.*: the one table that maps named errors to errno, both ways. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "errors.h"

const sd_bus_error_map vgpud_error_map[] = {
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_NO_CAPACITY, ENOSPC),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_SIZE_CONFLICT, EXDEV),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_DRIVER_REFUSED, EREMOTEIO),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_TIMEOUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_CORRUPT, EBADMSG),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_READ_ONLY, EROFS),
        SD_BUS_ERROR_MAP(VGPUD_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

const char *vgpud_error_name_from_errno(int error)
{
        switch (abs(error)) {
        case ENOENT:
        case ENODEV:
        case ENXIO: return VGPUD_ERROR_NOT_FOUND;
        case EINVAL: return VGPUD_ERROR_INVALID_ARGUMENT;
        case EEXIST: return VGPUD_ERROR_EXISTS;
        case ENOSPC: return VGPUD_ERROR_NO_CAPACITY;
        case EXDEV: return VGPUD_ERROR_SIZE_CONFLICT;
        case EREMOTEIO: return VGPUD_ERROR_DRIVER_REFUSED;
        case EBUSY: return VGPUD_ERROR_BUSY;
        case ETIMEDOUT: return VGPUD_ERROR_TIMEOUT;
        case EBADMSG: return VGPUD_ERROR_CORRUPT;
        case EROFS: return VGPUD_ERROR_READ_ONLY;
        case EPERM:
        case EACCES: return SD_BUS_ERROR_ACCESS_DENIED;
        default: return VGPUD_ERROR_FAILED;
        }
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
