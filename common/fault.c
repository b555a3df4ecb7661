/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only crash points (fault.h). */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

void fault_point(const char *point)
{
        static const char *at = (const char *)-1;

        if (at == (const char *)-1)
                at = getenv("VGPUD_TEST_CRASH_AT");
        if (at && strcmp(at, point) == 0)
                (void)raise(SIGKILL);
}

int fault_errno(const char *point)
{
        static const char *at = (const char *)-1;
        static const struct {
                const char *name;
                int error;
        } errors[] = {
                {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EBUSY", EBUSY}, {"ENODEV", ENODEV},
        };
        size_t n = strlen(point);

        if (at == (const char *)-1)
                at = getenv("VGPUD_TEST_FAIL_AT");
        if (!at || strncmp(at, point, n) != 0 || at[n] != ':')
                return 0;
        for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
                if (strcmp(at + n + 1, errors[i].name) == 0)
                        return -errors[i].error;
        return -EIO;
}
