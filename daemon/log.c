/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stderr logging with journal priorities. */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_internal(int level, const char *format, ...)
{
        static int journal = -1;
        static const char *const names[] = {
                [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",     [LOG_CRIT] = "critical",
                [LOG_ERR] = "error",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
        };
        int saved_errno = errno;
        va_list ap;

        if (journal < 0)
                journal = getenv("JOURNAL_STREAM") != NULL;
        if (journal)
                fprintf(stderr, "<%d>", level);
        else if (level != LOG_INFO && level != LOG_NOTICE)
                fprintf(stderr, "vgpud: %s: ", names[level & 7]);
        else
                fputs("vgpud: ", stderr);

        errno = saved_errno; /* so %m works */
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        errno = saved_errno;
}

bool log_ratelimit_below(RateLimit *rl)
{
        struct timespec ts;
        uint64_t now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        if (rl->begin_usec == 0 || now - rl->begin_usec >= rl->interval_usec) {
                if (rl->suppressed > 0)
                        log_internal(LOG_WARNING, "%u similar messages suppressed", rl->suppressed);
                rl->begin_usec = now;
                rl->num = 0;
                rl->suppressed = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                return true;
        }
        rl->suppressed++;
        return false;
}
