/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only crash points (fault.h). */

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
