/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr. Under systemd (JOURNAL_STREAM set) lines carry a "<N>" syslog level prefix, which
 * the journal turns into the priority; elsewhere they read "vgpud: warning: ...". */

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);
void log_internal(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define log_full(level, ...)                                \
        do {                                                \
                if ((level) <= log_get_max_level())         \
                        log_internal((level), __VA_ARGS__); \
        } while (0)
#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

/* Log at level and return r (a negative errno), for `return log_error_errno(r, "...: %m")`-style code. */
#define log_full_errno(level, r, ...)         \
        ({                                    \
                int _r_ = (r);                \
                errno = _r_ < 0 ? -_r_ : _r_; \
                log_full(level, __VA_ARGS__); \
                _r_ < 0 ? _r_ : -_r_;         \
        })
#define log_error_errno(r, ...)   log_full_errno(LOG_ERR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)
#define log_debug_errno(r, ...)   log_full_errno(LOG_DEBUG, r, __VA_ARGS__)

/* A log rate limit for errors that a client or the kernel can repeat at will (a failing accept(), a
 * dropped connection): at most burst lines per interval; the lines dropped are counted and the next
 * line that passes says how many. Zero-initialize with RATELIMIT_INIT. */
typedef struct RateLimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin_usec; /* start of the current interval (CLOCK_MONOTONIC) */
        unsigned num;        /* lines logged in it */
        unsigned suppressed; /* lines dropped since the last line logged */
} RateLimit;
#define RATELIMIT_INIT(interval, b)                       \
        {                                                 \
                .interval_usec = (interval), .burst = (b) \
        }

/* True when a line may be logged now; logs "N similar messages suppressed" first when some were. */
bool log_ratelimit_below(RateLimit *rl);

#define log_full_ratelimited(rl, level, ...)                                   \
        do {                                                                   \
                if ((level) <= log_get_max_level() && log_ratelimit_below(rl)) \
                        log_internal((level), __VA_ARGS__);                    \
        } while (0)
