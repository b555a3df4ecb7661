/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Positional arguments for vgpuctl's own commands (acquire PROFILE, release UUID, plan [PROFILE]):
 * the arguments are split into options (with their values, as cli.c would take them) and positional
 * ones, the options go through vc_parse_command() and the command's check, and the positional ones
 * are handed back in order. mdevctl's commands have none and keep using cli.c alone. */

#include <glib.h>

#include "cli.h"

/* Parse argv for cmd. min/max: how many positional arguments it takes (the names in `names`, e.g.
 * {"PROFILE"}, used in the error for a missing one). Returns VC_PARSE_RUN with args and *ret_positional
 * (char*, borrowed from argv) filled, VC_PARSE_DONE (help printed) or -EINVAL after printing a clap-style
 * error (exit 2). */
int vc_parse_with_positional(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, size_t min,
                             size_t max, const char *const *names, VcArgs *args, GPtrArray **ret_positional);

/* The exit status for a command's main(): run(ctx, args, positional) after parsing. run returns 0, a
 * negative errno after printing "Error: ..." (exit 1), or 2 after printing a usage error (exit 2). */
int vc_run_with_positional(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, size_t min,
                           size_t max, const char *const *names,
                           int (*run)(const VcContext *ctx, const VcArgs *args, GPtrArray *positional));
