/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stderr logging with journal priorities; events with journal fields (log_event). */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <systemd/sd-journal.h>

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

/* Is stderr the journal? systemd sets JOURNAL_STREAM to the "device:inode" of the stream it connected
 * to stderr; a stderr redirected elsewhere since (a test, a pipe) does not match. Checked once. */
static bool stderr_is_journal(void)
{
        static int journal = -1;

        if (journal < 0) {
                const char *e = getenv("JOURNAL_STREAM");
                unsigned long long dev, ino;
                struct stat st;

                journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                          (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
        }
        return journal;
}

void log_internal(int level, const char *format, ...)
{
        static const char *const names[] = {
                [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",     [LOG_CRIT] = "critical",
                [LOG_ERR] = "error",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
        };
        int saved_errno = errno;
        char prefix[32];
        char *message = NULL;
        va_list ap;

        if (stderr_is_journal())
                snprintf(prefix, sizeof(prefix), "<%d>", level);
        else if (level != LOG_INFO && level != LOG_NOTICE)
                snprintf(prefix, sizeof(prefix), "vgpud: %s: ", names[level & 7]);
        else
                snprintf(prefix, sizeof(prefix), "vgpud: ");

        errno = saved_errno; /* so %m works */
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        /* one fprintf, one write(2) to the unbuffered stderr: one line the journal's stream reads at
         * once (three writes woke journald three times per line, on a request's way to its reply) */
        fprintf(stderr, "%s%s\n", prefix, message ? message : format);
        free(message);
        errno = saved_errno;
}

/* Append "NAME=value" to iov when value is set. */
static void add_field(struct iovec *iov, size_t *n, char **owned, const char *name, const char *value)
{
        if (!value || !*value)
                return;
        owned[*n] = g_strconcat(name, "=", value, NULL);
        iov[*n] = (struct iovec){.iov_base = owned[*n], .iov_len = strlen(owned[*n])};
        (*n)++;
}

void log_event_internal(int level, const char *message_id, const LogFields *f, const char *format, ...)
{
        int saved_errno = errno;
        g_autofree char *message = NULL;
        char *owned[12] = {};
        struct iovec iov[12];
        char priority[16];
        size_t n = 0;
        va_list ap;
        int r;

        va_start(ap, format);
        message = g_strdup_vprintf(format, ap);
        va_end(ap);
        if (!stderr_is_journal()) {
                log_internal(level, "%s", message);
                errno = saved_errno;
                return;
        }
        snprintf(priority, sizeof(priority), "%d", level & 7);
        add_field(iov, &n, owned, "MESSAGE", message);
        add_field(iov, &n, owned, "PRIORITY", priority);
        add_field(iov, &n, owned, "MESSAGE_ID", message_id);
        add_field(iov, &n, owned, "SYSLOG_IDENTIFIER", "vgpud");
        if (f) {
                add_field(iov, &n, owned, "VGPUD_UUID", f->uuid);
                add_field(iov, &n, owned, "VGPUD_PARENT", f->parent);
                add_field(iov, &n, owned, "VGPUD_TYPE", f->type);
                add_field(iov, &n, owned, "VGPUD_OWNER", f->owner);
                add_field(iov, &n, owned, "VGPUD_REQUEST", f->request);
                add_field(iov, &n, owned, "VGPUD_ERROR", f->error);
        }
        r = sd_journal_sendv(iov, (int)n);
        for (size_t i = 0; i < n; i++)
                g_free(owned[i]);
        if (r < 0) /* the journal's socket is gone: the stream still takes the line */
                log_internal(level, "%s", message);
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
