/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only crash points (fault.h). */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
                {"EIO", EIO},     {"ENOSPC", ENOSPC}, {"EROFS", EROFS},
                {"EBUSY", EBUSY}, {"ENODEV", ENODEV}, {"ENOBUFS", ENOBUFS},
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

void fault_delay(const char *point)
{
        static const char *at = (const char *)-1;
        size_t n = strlen(point);
        char *end = NULL;
        long ms;

        if (at == (const char *)-1)
                at = getenv("VGPUD_TEST_SLOW_AT");
        if (!at || strncmp(at, point, n) != 0 || at[n] != ':')
                return;
        ms = strtol(at + n + 1, &end, 10);
        if (end == at + n + 1 || *end || ms <= 0 || ms > 10000)
                return;
        (void)nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
}
