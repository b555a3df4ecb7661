/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `vgpuctl release --idle [--older-than DURATION] [--dry-run]`: Manager.ReleaseIdle over the system bus
 * (vgpuctl-full only: the front hands this command to it). */

#include <errno.h>
#include <string.h>

#include "alloc-call.h"
#include "bus-client.h"
#include "change-bus.h"
#include "lifecycle-client.h"
#include "macro.h"

/* "90", "90s", "15m", "2h", "7d" (also "1h30m"): microseconds in *ret; -EINVAL otherwise. */
static int parse_duration(const char *s, uint64_t *ret)
{
        uint64_t total = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                uint64_t n = 0, unit;

                if (!g_ascii_isdigit(*s))
                        return -EINVAL;
                for (; g_ascii_isdigit(*s); s++) {
                        n = n * 10 + (uint64_t)(*s - '0');
                        if (n > UINT32_MAX)
                                return -EINVAL;
                }
                switch (*s) {
                case '\0':
                case 's': unit = 1; break;
                case 'm': unit = 60; break;
                case 'h': unit = 3600; break;
                case 'd': unit = 86400; break;
                default: return -EINVAL;
                }
                if (*s)
                        s++;
                total += n * unit;
        }
        *ret = total * 1000000ULL;
        return 0;
}

int vc_release_idle(const VcContext *ctx, bool other_selection, const char *older_than, bool dry_run,
                    bool force, const uint32_t *timeout_ms)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(GStrv) released = NULL;
        uint64_t older = 0;
        int r;

        if (other_selection) {
                vc_usage_error(ctx, VC_RELEASE_USAGE,
                               "The argument '--idle' cannot be used with '<UUID>', '--owner' or '--slot'");
                return 2;
        }
        if (older_than && parse_duration(older_than, &older) < 0) {
                vc_usage_error(ctx, VC_RELEASE_USAGE,
                               "'--older-than' takes a duration such as 90s, 15m, 2h or 7d");
                return 2;
        }
        r = vc_bus_open(&bus);
        if (r < 0)
                return r;
        r = vc_change_new(bus, "ReleaseIdle", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && older > 0)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_OLDER_THAN_USEC, "t", older);
        if (r >= 0 && dry_run)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_DRY_RUN, "b", 1);
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_FORCE, "b", 1);
        if (r >= 0 && timeout_ms)
                r = sd_bus_message_append(m, "{sv}", VGPUD_OPT_TIMEOUT_MS, "u", *timeout_ms);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "building the ReleaseIdle call");
        r = sd_bus_call(bus, m, VC_CHANGE_TIMEOUT_USEC * 10, &error, &reply);
        if (r < 0)
                return vc_bus_log_error(&error, r, "org.vgpud1.Manager.ReleaseIdle");
        r = sd_bus_message_read_strv(reply, &released);
        if (r < 0)
                return vc_bus_log_error(NULL, r, "reading the answer to ReleaseIdle");
        return vc_print_released(released);
}
