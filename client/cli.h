/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vgpuctl's command line, parsed the way mdevctl 1.2.0 (clap 3) parses it: subcommands with their own
 * option tables, "--opt value", "--opt=value", "-o value", "-ovalue", "-o=value", clustered flags
 * ("-dv"), "--" to end options, -h (short help) and --help (long help), -V/--version where mdevctl has
 * it. A rejected command line prints a clap-style error on stderr and exits 2.
 *
 * Adding a subcommand: write client/cmd-NAME.c with a `const VcCommand vc_command_NAME` (its option
 * table, help texts and run function), declare it below and add it to the table in vgpuctl.c. */

#include <stdbool.h>
#include <glib.h>

#define VC_MAX_OPTIONS 16

typedef enum {
        VC_VALUE_STRING, /* any string, also "" */
        VC_VALUE_UUID,   /* a UUID in any form mdevctl accepts; stored in canonical form */
        VC_VALUE_U32,    /* a number as Rust's u32::from_str takes it ("+7" too); stored as given */
} VcValueKind;

typedef struct VcOption {
        int id;                 /* index into VcArgs (0 .. VC_MAX_OPTIONS-1) */
        const char *long_name;  /* without "--" */
        char short_name;        /* 0 when none */
        const char *value_name; /* "PARENT" for options with a value, NULL for flags */
        VcValueKind kind;
} VcOption;

typedef struct VcArgs {
        bool set[VC_MAX_OPTIONS];
        char *value[VC_MAX_OPTIONS];    /* owned; canonical form for VC_VALUE_UUID */
        unsigned order[VC_MAX_OPTIONS]; /* 1 for the first option given, 2 for the next ...; 0: not set */
        unsigned n_set;
        const struct VcOption *missing_value; /* given without its value: reported after parsing, as clap
                                                 does (a later -h still prints the help) */
} VcArgs;

void vc_args_clear(VcArgs *args);

typedef struct VcContext {
        const char *bin; /* basename of argv[0], used in USAGE lines */
        bool compat;     /* invoked as mdevctl or lsmdev: hide vgpuctl's own commands from the help */
} VcContext;

typedef struct VcCommand {
        const char *name;
        const char *about;        /* the one line in the top-level help */
        const char *help_short;   /* printed for -h; "{bin}" is replaced by the program name */
        const char *help_long;    /* printed for --help and `help NAME`; same replacement */
        const char *usage;        /* e.g. "{bin} list [OPTIONS]", for error messages */
        const char *version;      /* -V/--version prints this (same replacements); NULL: not accepted */
        bool vgpuctl_only;        /* not one of mdevctl's commands: hidden from the help in compat mode */
        const char *help_vgpuctl; /* appended to help_short and help_long unless in compat mode: options
                                     mdevctl does not have */
        const VcOption *options;  /* terminated by an entry with id < 0 */
        /* Optional: the checks clap makes between options (conflicts, requirements), run after parsing;
         * returns -EINVAL after printing the error (exit 2), or 0. */
        int (*check)(const VcContext *ctx, const struct VcCommand *cmd, const VcArgs *args);
        int (*run)(const VcContext *ctx, const VcArgs *args);
        /* Instead of the parser and run: take the raw arguments after the subcommand name and return
         * the exit status (0, 1 or 2). For commands with positional arguments (cli-positional.h). */
        int (*main)(const VcContext *ctx, const struct VcCommand *cmd, int argc, char **argv);
} VcCommand;

#define VC_OPTION_END    \
        {                \
                .id = -1 \
        }

typedef enum {
        VC_PARSE_RUN = 0,  /* args filled: run the command */
        VC_PARSE_DONE = 1, /* help or version printed: exit 0 */
} VcParseResult;

/* Parse argv[0..argc) (the arguments after the subcommand name) for cmd. Returns VC_PARSE_RUN,
 * VC_PARSE_DONE, or -EINVAL after printing the error (exit 2). */
int vc_parse_command(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv, VcArgs *args);

/* Run cmd with the arguments after its name: its own main, or parse, check and run. Returns the exit
 * status (0, 1 or 2). */
int vc_run_command(const VcContext *ctx, const VcCommand *cmd, int argc, char **argv);

/* clap's checks between options, made by a command's check function (clap checks
 * conflicts first, then requirements). Each prints clap's error and returns -EINVAL (exit 2), or 0.
 *
 * vc_check_conflict: a and b both given: "The argument '<first given>' cannot be used with '<other>'".
 * vc_check_missing: clap's "The following required arguments were not provided:" for ids[0..n), all
 * in one message as clap gives them; 0 when n is 0. */
int vc_check_conflict(const VcContext *ctx, const VcCommand *cmd, const VcArgs *args, int a, int b);
int vc_check_missing(const VcContext *ctx, const VcCommand *cmd, const int *ids, size_t n);

/* A VC_VALUE_U32 option's value (already validated by the parser). */
unsigned vc_arg_u32(const VcArgs *args, int id);

/* A copy of text with "{bin}" replaced by the program name and "{version}" by vgpuctl's version. */
char *vc_expand(const VcContext *ctx, const char *text);

/* Print text to stdout with "{bin}" replaced by the program name and "{version}" by vgpuctl's version. */
void vc_print_help(const VcContext *ctx, const char *text);
/* A command's help text, then its help_vgpuctl unless invoked as mdevctl or lsmdev. */
void vc_print_command_help(const VcContext *ctx, const VcCommand *cmd, const char *text);

/* A clap-style usage error: "error: <message>\n\n[USAGE:\n    <usage>\n\n]For more information try
 * --help\n" on stderr. usage may be NULL. Returns -EINVAL. */
int vc_usage_error(const VcContext *ctx, const char *usage, const char *message);

/* Where vgpuctl finds one of vgpud's files (its private socket, its snapshot): $var when set ("" means
 * nowhere: NULL), else nowhere when DBUS_SYSTEM_BUS_ADDRESS is set (a test bus or a demo must never
 * reach the host's vgpud), else fallback. */
const char *vc_vgpud_path(const char *var, const char *fallback);

/* Print "Warning: <line>" to stderr for each warning. */
void vc_print_warnings(char **warnings);

/* Write out to stdout; on failure prints an error and returns a negative errno. */
int vc_write_stdout(const char *data, size_t len);

/* The option of cmd with this long name (name need not be NUL-terminated at len) or short name. */
const VcOption *vc_find_long(const VcCommand *cmd, const char *name, size_t len);
const VcOption *vc_find_short(const VcCommand *cmd, char c);

/* Append rows of cells (n_cols per row) as a table: columns padded to the widest cell plus two, the last
 * column not padded. */
void vc_append_table(GString *out, GPtrArray *cells, int n_cols);

extern const VcCommand vc_command_list;
extern const VcCommand vc_command_lsmdev;
extern const VcCommand vc_command_types;
extern const VcCommand vc_command_status;
extern const VcCommand vc_command_define;
extern const VcCommand vc_command_undefine;
extern const VcCommand vc_command_modify;
extern const VcCommand vc_command_start;
extern const VcCommand vc_command_stop;
extern const VcCommand vc_command_acquire;
extern const VcCommand vc_command_apply;
extern const VcCommand vc_command_release;
extern const VcCommand vc_command_plan;
extern const VcCommand vc_command_metrics;
extern const VcCommand vc_command_hook;
