/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr. Under systemd (JOURNAL_STREAM set) lines carry a "<N>" syslog level prefix, which
 * the journal turns into the priority; elsewhere they read "vgpud: warning: ...".
 *
 * Events about one device (log_event) also carry journal fields when stderr is the journal: MESSAGE_ID
 * (one per kind of event, below) and VGPUD_UUID, VGPUD_PARENT, VGPUD_TYPE, VGPUD_OWNER, VGPUD_REQUEST,
 * VGPUD_ERROR where known, so that `journalctl -u vgpud VGPUD_UUID=<uuid>` shows one vGPU's history.
 * Elsewhere they are plain lines like any other. */

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);
void log_internal(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The MESSAGE_IDs of log_event(), one per kind of event (journalctl MESSAGE_ID=...). */
#define LOG_ID_DEVICE_APPEARED "a4fc391a5dff40b5ad94cc0271af7274" /* a mediated device appeared in sysfs */
#define LOG_ID_DEVICE_GONE     "1c290a4b7b944838b5b02e1aba26d1ed" /* a mediated device went */
#define LOG_ID_REQUEST_DONE \
        "fca8da828fc74557b1a6c27a765f517b" /* a request (start, acquire, ...) succeeded */
#define LOG_ID_REQUEST_FAILED \
        "604341d84e6f4468ac65819caf116c10" /* a request failed (VGPUD_ERROR says how) */

/* What an event is about; NULL or "" fields are left out. */
typedef struct LogFields {
        const char *uuid;
        const char *parent;
        const char *type;    /* the mdev type id */
        const char *owner;   /* who holds the device (its lease) */
        const char *request; /* the request kind: "start", "acquire", ... */
        const char *error;   /* the error name (org.vgpud1.Error.*) */
} LogFields;

void log_event_internal(int level, const char *message_id, const LogFields *fields, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
#define log_event(level, message_id, fields, ...)                                         \
        do {                                                                              \
                if ((level) <= log_get_max_level())                                       \
                        log_event_internal((level), (message_id), (fields), __VA_ARGS__); \
        } while (0)

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
