/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of common/mdev-def.c: definitions read and written exactly as mdevctl 1.2.0 does, its attribute
 * edits, and refusals of broken files. Expected bytes come from mdevctl 1.2.0 (each table says which
 * command produced them); messages of our own are marked as such. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "json-out.h"
#include "mdev-def.h"

/* The bytes of /etc/mdevctl.d/0000:41:00.0/U that mdevctl 1.2.0 wrote after each command, in order. */
static const struct {
        const char *command;
        const char *file;
} oracle_steps[] = {
        {"mdevctl define -u U -p P -t nvidia-256", "{\n"
                                                   "  \"mdev_type\": \"nvidia-256\",\n"
                                                   "  \"start\": \"manual\",\n"
                                                   "  \"attrs\": []\n"
                                                   "}"},
        {"mdevctl modify -u U --addattr a --value 1", "{\n"
                                                      "  \"mdev_type\": \"nvidia-256\",\n"
                                                      "  \"start\": \"manual\",\n"
                                                      "  \"attrs\": [\n"
                                                      "    {\n"
                                                      "      \"a\": \"1\"\n"
                                                      "    }\n"
                                                      "  ]\n"
                                                      "}"},
        {"mdevctl modify -u U --addattr b --value 2", "{\n"
                                                      "  \"mdev_type\": \"nvidia-256\",\n"
                                                      "  \"start\": \"manual\",\n"
                                                      "  \"attrs\": [\n"
                                                      "    {\n"
                                                      "      \"a\": \"1\"\n"
                                                      "    },\n"
                                                      "    {\n"
                                                      "      \"b\": \"2\"\n"
                                                      "    }\n"
                                                      "  ]\n"
                                                      "}"},
        {"mdevctl modify -u U --addattr c --value 3 --index 0", "{\n"
                                                                "  \"mdev_type\": \"nvidia-256\",\n"
                                                                "  \"start\": \"manual\",\n"
                                                                "  \"attrs\": [\n"
                                                                "    {\n"
                                                                "      \"c\": \"3\"\n"
                                                                "    },\n"
                                                                "    {\n"
                                                                "      \"a\": \"1\"\n"
                                                                "    },\n"
                                                                "    {\n"
                                                                "      \"b\": \"2\"\n"
                                                                "    }\n"
                                                                "  ]\n"
                                                                "}"},
        {"mdevctl modify -u U --addattr d --value 4 --index 3", "{\n"
                                                                "  \"mdev_type\": \"nvidia-256\",\n"
                                                                "  \"start\": \"manual\",\n"
                                                                "  \"attrs\": [\n"
                                                                "    {\n"
                                                                "      \"c\": \"3\"\n"
                                                                "    },\n"
                                                                "    {\n"
                                                                "      \"a\": \"1\"\n"
                                                                "    },\n"
                                                                "    {\n"
                                                                "      \"b\": \"2\"\n"
                                                                "    },\n"
                                                                "    {\n"
                                                                "      \"d\": \"4\"\n"
                                                                "    }\n"
                                                                "  ]\n"
                                                                "}"},
        {"mdevctl modify -u U --addattr a --value dup --index 2", "{\n"
                                                                  "  \"mdev_type\": \"nvidia-256\",\n"
                                                                  "  \"start\": \"manual\",\n"
                                                                  "  \"attrs\": [\n"
                                                                  "    {\n"
                                                                  "      \"c\": \"3\"\n"
                                                                  "    },\n"
                                                                  "    {\n"
                                                                  "      \"a\": \"1\"\n"
                                                                  "    },\n"
                                                                  "    {\n"
                                                                  "      \"a\": \"dup\"\n"
                                                                  "    },\n"
                                                                  "    {\n"
                                                                  "      \"b\": \"2\"\n"
                                                                  "    },\n"
                                                                  "    {\n"
                                                                  "      \"d\": \"4\"\n"
                                                                  "    }\n"
                                                                  "  ]\n"
                                                                  "}"},
        {"mdevctl modify -u U --delattr --index 1", "{\n"
                                                    "  \"mdev_type\": \"nvidia-256\",\n"
                                                    "  \"start\": \"manual\",\n"
                                                    "  \"attrs\": [\n"
                                                    "    {\n"
                                                    "      \"c\": \"3\"\n"
                                                    "    },\n"
                                                    "    {\n"
                                                    "      \"a\": \"dup\"\n"
                                                    "    },\n"
                                                    "    {\n"
                                                    "      \"b\": \"2\"\n"
                                                    "    },\n"
                                                    "    {\n"
                                                    "      \"d\": \"4\"\n"
                                                    "    }\n"
                                                    "  ]\n"
                                                    "}"},
        {"mdevctl modify -u U --delattr", "{\n"
                                          "  \"mdev_type\": \"nvidia-256\",\n"
                                          "  \"start\": \"manual\",\n"
                                          "  \"attrs\": [\n"
                                          "    {\n"
                                          "      \"c\": \"3\"\n"
                                          "    },\n"
                                          "    {\n"
                                          "      \"a\": \"dup\"\n"
                                          "    },\n"
                                          "    {\n"
                                          "      \"b\": \"2\"\n"
                                          "    }\n"
                                          "  ]\n"
                                          "}"},
        {"mdevctl modify -u U --auto", "{\n"
                                       "  \"mdev_type\": \"nvidia-256\",\n"
                                       "  \"start\": \"auto\",\n"
                                       "  \"attrs\": [\n"
                                       "    {\n"
                                       "      \"c\": \"3\"\n"
                                       "    },\n"
                                       "    {\n"
                                       "      \"a\": \"dup\"\n"
                                       "    },\n"
                                       "    {\n"
                                       "      \"b\": \"2\"\n"
                                       "    }\n"
                                       "  ]\n"
                                       "}"},
        {"mdevctl modify -u U --addattr odd\"\\\\key\\t\303\274 --value <every control character, quote, "
         "backslash, DEL, /, \303\251\342\202\254\360\237\230\200>",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"c\": \"3\"\n"
         "    },\n"
         "    {\n"
         "      \"a\": \"dup\"\n"
         "    },\n"
         "    {\n"
         "      \"b\": \"2\"\n"
         "    },\n"
         "    {\n"
         "      \"odd\\\"\\\\key\\t\303\274\": \"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\"
         "b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u001"
         "7\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\\177/\303\251\342\202\254"
         "\360\237\230\200\"\n"
         "    }\n"
         "  ]\n"
         "}"},
        {"mdevctl modify -u U --addattr empty --value \"\"",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"c\": \"3\"\n"
         "    },\n"
         "    {\n"
         "      \"a\": \"dup\"\n"
         "    },\n"
         "    {\n"
         "      \"b\": \"2\"\n"
         "    },\n"
         "    {\n"
         "      \"odd\\\"\\\\key\\t\303\274\": \"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\"
         "b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u001"
         "7\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\\177/\303\251\342\202\254"
         "\360\237\230\200\"\n"
         "    },\n"
         "    {\n"
         "      \"empty\": \"\"\n"
         "    }\n"
         "  ]\n"
         "}"},
};
/* `mdevctl define -u U -p P --jsonfile F` (1.2.0) with F = {"mdev_type":"nvidia-36","start":"auto"}
 * (libvirt's form: compact, no attrs) wrote this file. */
static const char oracle_jsonfile_written[] = "{\n"
                                              "  \"mdev_type\": \"nvidia-36\",\n"
                                              "  \"start\": \"auto\",\n"
                                              "  \"attrs\": []\n"
                                              "}";
/* (file, what mdevctl 1.2.0 did with it). Produced by `mdevctl list -d -u U --dumpjson` with the file as
 * /etc/mdevctl.d/0000:41:00.0/U: "out" is what it printed when it accepted the file (the bare definition
 * object and "\n"), "mdevctl_error" its stderr when it refused or crashed (exit code in "rc"). */
static const struct {
        const char *what;
        const char *file;
        const char *out;
        int rc;
        const char *mdevctl_error;
} oracle_defs[] = {
        {"attrs absent", "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\"}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"attrs null", "{\"mdev_type\":\"nvidia-256\",\"start\":\"manual\",\"attrs\":null}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start is case sensitive", "{\"mdev_type\":\"nvidia-256\",\"start\":\"Auto\",\"attrs\":[]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start \"auto \" is manual", "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto \",\"attrs\":[]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start a number: manual", "{\"mdev_type\":\"nvidia-256\",\"start\":5}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start true: manual", "{\"mdev_type\":\"nvidia-256\",\"start\":true}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start an object: manual", "{\"mdev_type\":\"nvidia-256\",\"start\":{\"x\":1}}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"manual\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"unknown members, any order",
         "{\"extra\":[1,{\"y\":null}],\"start\":\"auto\",\"attrs\":[{\"k\":\"v\"}],\"mdev_type\":\""
         "nvidia-256\",\"more\":\"x\"}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"k\": \"v\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"repeated members: the last counts",
         "{\"mdev_type\":\"a\",\"mdev_type\":\"nvidia-256\",\"start\":\"manual\",\"start\":\"auto\""
         "}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"repeated key inside an attribute",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\",\"a\":\"2\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"a\": \"2\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"repeated attribute names are kept",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\"},{\"a\":\"2\"},{"
         "\"b\":\"\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"a\": \"1\"\n"
         "    },\n"
         "    {\n"
         "      \"a\": \"2\"\n"
         "    },\n"
         "    {\n"
         "      \"b\": \"\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"escapes are normalised",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"k\":\"\\u00e9\\ud83d\\ude0"
         "0\\/\\u001F\\u007f\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"k\": \"\303\251\360\237\230\200/\\u001f\177\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"white space around tokens",
         "\n"
         "  {\"mdev_type\" : \"nvidia-256\" ,\015\n"
         "\"start\":\"auto\"}\n"
         "\n",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"start missing", "{\"mdev_type\":\"nvidia-256\"}", NULL, 1, "Error: invalid json"},
        {"start null", "{\"mdev_type\":\"nvidia-256\",\"start\":null}", NULL, 1, "Error: invalid json"},
        {"mdev_type missing", "{\"start\":\"auto\"}", NULL, 1, "Error: invalid json"},
        {"mdev_type null", "{\"mdev_type\":null,\"start\":\"auto\"}", NULL, 1, "Error: invalid json"},
        {"an array", "[]", NULL, 1, "Error: invalid json"},
        {"a string", "\"nvidia-256\"", NULL, 1, "Error: invalid json"},
        {"null", "null", NULL, 1, "Error: invalid json"},
        {"attrs an object", "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":{}}", NULL, 1,
         "Error: attributes field is not an array"},
        {"attrs a string", "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":\"a=b\"}", NULL, 1,
         "Error: attributes field is not an array"},
        {"attribute not an object",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\"},5]}", NULL, 1,
         "Error: invalid JSON format for attribute: not an object"},
        {"attribute without members", "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{}]}",
         NULL, 1, "Error: invalid JSON format for attribute: too many fields"},
        {"attribute with two members",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\",\"b\":\"2\"}]}", NULL, 1,
         "Error: invalid JSON format for attribute: too many fields"},
        {"mdev_type a number (1.2.0 crashes)", "{\"mdev_type\":5,\"start\":\"auto\"}", NULL, 101,
         "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/mdev.rs:172:52"},
        {"value a number (1.2.0 crashes)",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\"},{\"b\":\"2\"},{"
         "\"foo\":1}]}",
         NULL, 101,
         "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/mdev.rs:145:51"},
        {"value null (1.2.0 crashes)",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":null}]}", NULL, 101,
         "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/mdev.rs:145:51"},
        {"attribute name with a slash (1.2.0 takes it)",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"../../remove\":\"1\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"../../remove\": \"1\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"empty attribute name (1.2.0 takes it)",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"\":\"1\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"\": \"1\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
        {"mdev_type with a slash (1.2.0 takes it)", "{\"mdev_type\":\"../x\",\"start\":\"auto\"}",
         "{\n"
         "  \"mdev_type\": \"../x\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"empty mdev_type (1.2.0 takes it)", "{\"mdev_type\":\"\",\"start\":\"auto\"}",
         "{\n"
         "  \"mdev_type\": \"\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": []\n"
         "}\n",
         0, NULL},
        {"NUL in a value (1.2.0 takes it)",
         "{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":[{\"a\":\"x\\u0000y\"}]}",
         "{\n"
         "  \"mdev_type\": \"nvidia-256\",\n"
         "  \"start\": \"auto\",\n"
         "  \"attrs\": [\n"
         "    {\n"
         "      \"a\": \"x\\u0000y\"\n"
         "    }\n"
         "  ]\n"
         "}\n",
         0, NULL},
};
/* A file mdevctl 1.2.0 wrote (`define -t nvidia-36 --auto`, `modify --addattr x --value 'é"'`), and the
 * error it printed (`list -d -u U --dumpjson`) for the file cut to n bytes, n = 0 .. size - 1. */
static const char trunc_file[] = "{\n"
                                 "  \"mdev_type\": \"nvidia-36\",\n"
                                 "  \"start\": \"auto\",\n"
                                 "  \"attrs\": [\n"
                                 "    {\n"
                                 "      \"x\": \"\303\251\\\"\"\n"
                                 "    }\n"
                                 "  ]\n"
                                 "}";
static const char *const trunc_errors[] = {
        "EOF while parsing a value at line 1 column 0",    "EOF while parsing an object at line 1 column 1",
        "EOF while parsing an object at line 2 column 0",  "EOF while parsing an object at line 2 column 1",
        "EOF while parsing an object at line 2 column 2",  "EOF while parsing a string at line 2 column 3",
        "EOF while parsing a string at line 2 column 4",   "EOF while parsing a string at line 2 column 5",
        "EOF while parsing a string at line 2 column 6",   "EOF while parsing a string at line 2 column 7",
        "EOF while parsing a string at line 2 column 8",   "EOF while parsing a string at line 2 column 9",
        "EOF while parsing a string at line 2 column 10",  "EOF while parsing a string at line 2 column 11",
        "EOF while parsing a string at line 2 column 12",  "EOF while parsing an object at line 2 column 13",
        "EOF while parsing a value at line 2 column 14",   "EOF while parsing a value at line 2 column 15",
        "EOF while parsing a string at line 2 column 16",  "EOF while parsing a string at line 2 column 17",
        "EOF while parsing a string at line 2 column 18",  "EOF while parsing a string at line 2 column 19",
        "EOF while parsing a string at line 2 column 20",  "EOF while parsing a string at line 2 column 21",
        "EOF while parsing a string at line 2 column 22",  "EOF while parsing a string at line 2 column 23",
        "EOF while parsing a string at line 2 column 24",  "EOF while parsing a string at line 2 column 25",
        "EOF while parsing an object at line 2 column 26", "EOF while parsing a value at line 2 column 27",
        "EOF while parsing a value at line 3 column 0",    "EOF while parsing a value at line 3 column 1",
        "EOF while parsing a value at line 3 column 2",    "EOF while parsing a string at line 3 column 3",
        "EOF while parsing a string at line 3 column 4",   "EOF while parsing a string at line 3 column 5",
        "EOF while parsing a string at line 3 column 6",   "EOF while parsing a string at line 3 column 7",
        "EOF while parsing a string at line 3 column 8",   "EOF while parsing an object at line 3 column 9",
        "EOF while parsing a value at line 3 column 10",   "EOF while parsing a value at line 3 column 11",
        "EOF while parsing a string at line 3 column 12",  "EOF while parsing a string at line 3 column 13",
        "EOF while parsing a string at line 3 column 14",  "EOF while parsing a string at line 3 column 15",
        "EOF while parsing a string at line 3 column 16",  "EOF while parsing an object at line 3 column 17",
        "EOF while parsing a value at line 3 column 18",   "EOF while parsing a value at line 4 column 0",
        "EOF while parsing a value at line 4 column 1",    "EOF while parsing a value at line 4 column 2",
        "EOF while parsing a string at line 4 column 3",   "EOF while parsing a string at line 4 column 4",
        "EOF while parsing a string at line 4 column 5",   "EOF while parsing a string at line 4 column 6",
        "EOF while parsing a string at line 4 column 7",   "EOF while parsing a string at line 4 column 8",
        "EOF while parsing an object at line 4 column 9",  "EOF while parsing a value at line 4 column 10",
        "EOF while parsing a value at line 4 column 11",   "EOF while parsing a list at line 4 column 12",
        "EOF while parsing a list at line 5 column 0",     "EOF while parsing a list at line 5 column 1",
        "EOF while parsing a list at line 5 column 2",     "EOF while parsing a list at line 5 column 3",
        "EOF while parsing a list at line 5 column 4",     "EOF while parsing an object at line 5 column 5",
        "EOF while parsing an object at line 6 column 0",  "EOF while parsing an object at line 6 column 1",
        "EOF while parsing an object at line 6 column 2",  "EOF while parsing an object at line 6 column 3",
        "EOF while parsing an object at line 6 column 4",  "EOF while parsing an object at line 6 column 5",
        "EOF while parsing an object at line 6 column 6",  "EOF while parsing a string at line 6 column 7",
        "EOF while parsing a string at line 6 column 8",   "EOF while parsing an object at line 6 column 9",
        "EOF while parsing a value at line 6 column 10",   "EOF while parsing a value at line 6 column 11",
        "EOF while parsing a string at line 6 column 12",  "stream did not contain valid UTF-8",
        "EOF while parsing a string at line 6 column 14",  "EOF while parsing a string at line 6 column 15",
        "EOF while parsing a string at line 6 column 16",  "EOF while parsing an object at line 6 column 17",
        "EOF while parsing an object at line 7 column 0",  "EOF while parsing an object at line 7 column 1",
        "EOF while parsing an object at line 7 column 2",  "EOF while parsing an object at line 7 column 3",
        "EOF while parsing an object at line 7 column 4",  "EOF while parsing a list at line 7 column 5",
        "EOF while parsing a list at line 8 column 0",     "EOF while parsing a list at line 8 column 1",
        "EOF while parsing a list at line 8 column 2",     "EOF while parsing an object at line 8 column 3",
        "EOF while parsing an object at line 9 column 0",
};

/* Our messages where mdevctl's are vague, crash, or where it takes what vgpud refuses (keyed by "what"). */
static const struct {
        const char *what;
        const char *error;
} our_errors[] = {
        {"start missing", "missing start"},
        {"start null", "missing start"},
        {"mdev_type missing", "missing mdev_type"},
        {"mdev_type null", "missing mdev_type"},
        {"an array", "not a JSON object"},
        {"a string", "not a JSON object"},
        {"null", "not a JSON object"},
        {"attrs an object", "attrs is not an array"},
        {"attrs a string", "attrs is not an array"},
        {"attribute not an object", "attrs[1]: not an object"},
        {"attribute without members", "attrs[0]: 0 members, expected exactly one"},
        {"attribute with two members", "attrs[0]: 2 members, expected exactly one"},
        {"mdev_type a number (1.2.0 crashes)", "mdev_type is not a string"},
        {"value a number (1.2.0 crashes)", "attrs[2]: value of \"foo\" is not a string"},
        {"value null (1.2.0 crashes)", "attrs[0]: value of \"a\" is not a string"},
        {"attribute name with a slash (1.2.0 takes it)",
         "attrs[0]: invalid attribute name \"../../remove\""},
        {"empty attribute name (1.2.0 takes it)", "attrs[0]: invalid attribute name \"\""},
        {"mdev_type with a slash (1.2.0 takes it)", "invalid mdev_type \"../x\""},
        {"empty mdev_type (1.2.0 takes it)", "invalid mdev_type \"\""},
        {"NUL in a value (1.2.0 takes it)",
         "unsupported escape \\u0000 (NUL) in a string at line 1 column 63"},
};

static const char *our_error(const char *what)
{
        for (size_t i = 0; i < G_N_ELEMENTS(our_errors); i++)
                if (strcmp(our_errors[i].what, what) == 0)
                        return our_errors[i].error;
        return NULL;
}

static MdevDef *parse_ok(const char *text)
{
        g_autofree char *error = NULL;
        MdevDef *d = NULL;

        g_assert_cmpint(mdev_def_parse(text, strlen(text), &d, &error), ==, 0);
        g_assert_null(error);
        g_assert_nonnull(d);
        return d;
}

/* parse(file bytes) -> to_json gives the same bytes, for every file mdevctl wrote. */
static void test_round_trip_files(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(oracle_steps); i++) {
                g_autoptr(MdevDef) d = parse_ok(oracle_steps[i].file);
                g_autofree char *json = mdev_def_to_json(d, true);

                g_assert_cmpstr(json, ==, oracle_steps[i].file);
        }
}

/* The same edits through our API give the same bytes after every step. */
static void test_modify_steps(void)
{
        g_autoptr(MdevDef) d = mdev_def_new();
        g_autofree char *odd = NULL;
        char buf[40];
        size_t n = 0;

        for (int ch = 1; ch < 32; ch++)
                buf[n++] = (char)ch;
        buf[n] = '\0';
        odd = g_strconcat(buf, "\"\\\177/\303\251\342\202\254\360\237\230\200", NULL);

        d->mdev_type = g_strdup("nvidia-256");
#define STEP(i, expr)                                          \
        do {                                                   \
                g_autofree char *_j = NULL;                    \
                g_assert_cmpint((expr), >=, 0);                \
                _j = mdev_def_to_json(d, true);                \
                g_assert_cmpstr(_j, ==, oracle_steps[i].file); \
        } while (0)
        STEP(0, 0);
        STEP(1, mdev_def_add_attr(d, "a", "1", -1));
        STEP(2, mdev_def_add_attr(d, "b", "2", -1));
        STEP(3, mdev_def_add_attr(d, "c", "3", 0));
        STEP(4, mdev_def_add_attr(d, "d", "4", 3)); /* index == count appends */
        STEP(5, mdev_def_add_attr(d, "a", "dup", 2));
        STEP(6, mdev_def_del_attr(d, 1));
        STEP(7, mdev_def_del_attr(d, -1));
        STEP(8, (d->autostart = true, 0));
        STEP(9, mdev_def_add_attr(d, "odd\"\\key\t\303\274", odd, -1));
        STEP(10, mdev_def_add_attr(d, "empty", "", -1));
#undef STEP
        g_assert_cmpuint(G_N_ELEMENTS(oracle_steps), ==, 11);
}

/* Index rules of `mdevctl modify` (1.2.0): --addattr --index N with N > count: "Attribute index N is
 * invalid", exit 1; --delattr --index N with N > count: the same; N == count: crash (here -ERANGE);
 * --delattr without --index on no attributes: exit 0, nothing done. */
static void test_attr_index_rules(void)
{
        g_autoptr(MdevDef) d = mdev_def_new();

        d->mdev_type = g_strdup("nvidia-36");
        g_assert_cmpint(mdev_def_del_attr(d, -1), ==, 0);
        g_assert_cmpint(mdev_def_del_attr(d, 0), ==, -ERANGE);
        g_assert_cmpint(mdev_def_add_attr(d, "a", "1", 1), ==, -ERANGE);
        g_assert_cmpint(mdev_def_add_attr(d, "a", "1", -2), ==, -ERANGE);
        g_assert_cmpint(mdev_def_add_attr(d, "a", "1", 0), ==, 0);
        g_assert_cmpint(mdev_def_add_attr(d, "b", "2", 1), ==, 0);
        g_assert_cmpint(mdev_def_add_attr(d, "c", "3", 3), ==, -ERANGE);
        g_assert_cmpint(mdev_def_del_attr(d, 2), ==, -ERANGE);
        g_assert_cmpint(mdev_def_del_attr(d, -2), ==, -ERANGE);
        g_assert_cmpint(mdev_def_add_attr(d, "../x", "1", -1), ==, -EINVAL);
        g_assert_cmpint(mdev_def_add_attr(d, "", "1", -1), ==, -EINVAL);
        g_assert_cmpint(mdev_def_add_attr(d, "..", "1", -1), ==, -EINVAL);
        g_assert_cmpint(mdev_def_add_attr(d, NULL, "1", -1), ==, -EINVAL);
        g_assert_cmpint(mdev_def_add_attr(d, "x", NULL, -1), ==, -EINVAL);
        g_assert_cmpuint(d->attrs->len, ==, 2);
        g_assert_cmpint(mdev_def_del_attr(d, 0), ==, 1);
        g_assert_cmpstr(((MdevAttr *)g_ptr_array_index(d->attrs, 0))->name, ==, "b");
        g_assert_cmpint(mdev_def_del_attr(d, -1), ==, 1);
        g_assert_cmpuint(d->attrs->len, ==, 0);
}

/* libvirt's compact --jsonfile input without attrs is written like any definition. */
static void test_jsonfile_input(void)
{
        g_autoptr(MdevDef) d = parse_ok("{\"mdev_type\":\"nvidia-36\",\"start\":\"auto\"}");
        g_autofree char *json = mdev_def_to_json(d, true);

        g_assert_true(d->autostart);
        g_assert_cmpuint(d->attrs->len, ==, 0);
        g_assert_cmpstr(json, ==, oracle_jsonfile_written);
}

static void test_acceptance_oracle(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(oracle_defs); i++) {
                const char *ours = our_error(oracle_defs[i].what);
                g_autofree char *error = NULL;
                g_autoptr(MdevDef) d = NULL;
                int r;

                g_test_message("%s", oracle_defs[i].what);
                r = mdev_def_parse(oracle_defs[i].file, strlen(oracle_defs[i].file), &d, &error);
                if (ours) {
                        g_assert_cmpint(r, ==, -EINVAL);
                        g_assert_cmpstr(error, ==, ours);
                        g_assert_null(d);
                } else {
                        g_autofree char *json = NULL, *printed = NULL;

                        g_assert_cmpint(oracle_defs[i].rc, ==, 0);
                        g_assert_cmpint(r, ==, 0);
                        g_assert_null(error);
                        json = mdev_def_to_json(d, true);
                        printed = g_strconcat(json, "\n", NULL);
                        g_assert_cmpstr(printed, ==, oracle_defs[i].out);
                }
        }
        /* every entry with our own message is in the table */
        for (size_t i = 0; i < G_N_ELEMENTS(our_errors); i++) {
                bool found = false;
                for (size_t j = 0; j < G_N_ELEMENTS(oracle_defs); j++)
                        found = found || strcmp(our_errors[i].what, oracle_defs[j].what) == 0;
                g_assert_true(found);
        }
}

/* Each cut of a real file: -EINVAL with serde_json's message, exactly as mdevctl printed it. */
static void test_truncated(void)
{
        size_t len = strlen(trunc_file);

        g_assert_cmpuint(G_N_ELEMENTS(trunc_errors), ==, len);
        for (size_t n = 0; n < len; n++) {
                g_autofree char *error = NULL;
                MdevDef *d = NULL;

                g_assert_cmpint(mdev_def_parse(trunc_file, n, &d, &error), ==, -EINVAL);
                g_assert_null(d);
                g_assert_cmpstr(error, ==, trunc_errors[n]);
        }
}

static void test_corrupt(void)
{
        static const struct {
                const char *text;
                size_t len;
                const char *error;
        } cases[] = {
                /* mdevctl 1.2.0's messages (list -d -u U --dumpjson with such a file), except for "[]",
                 * where it says "invalid json" */
                {"", 0, "EOF while parsing a value at line 1 column 0"},
                {"[]", 2, "not a JSON object"},
                {"{\"mdev_type\":\"t\",\"start\":\"auto\"}\0garbage", 40,
                 "trailing characters at line 1 column 33"},
                {"{\"mdev_type\":\"t\",\"start\":\"\377\"}", 30, "stream did not contain valid UTF-8"},
                {"/* c */ {\"mdev_type\":\"t\",\"start\":\"auto\"}", 40,
                 "expected value at line 1 column 1"},
                {"{'mdev_type':'t','start':'auto'}", 32, "key must be a string at line 1 column 2"},
                /* two writers interleaved: a whole definition followed by the tail of a longer one */
                {"{\"mdev_type\":\"t\",\"start\":\"auto\"}\n    }\n  ]\n}", 44,
                 "trailing characters at line 2 column 5"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *error = NULL;
                MdevDef *d = NULL;

                g_assert_cmpint(mdev_def_parse(cases[i].text, cases[i].len, &d, &error), ==, -EINVAL);
                g_assert_null(d);
                g_assert_cmpstr(error, ==, cases[i].error);
                g_assert_cmpint(mdev_def_parse(cases[i].text, cases[i].len, &d, NULL), ==, -EINVAL);
        }
}

/* A big definition (100000 attributes, ~3 MB) parses and round-trips; a megabyte of '[' is refused. */
static void test_huge(void)
{
        g_autoptr(MdevDef) d = mdev_def_new();
        g_autoptr(MdevDef) back = NULL;
        g_autofree char *json = NULL, *again = NULL, *deep = NULL, *error = NULL;
        MdevDef *none = NULL;

        d->mdev_type = g_strdup("nvidia-256");
        for (int i = 0; i < 100000; i++) {
                g_autofree char *name = g_strdup_printf("attr%d", i);
                g_autofree char *value = g_strdup_printf("value \"%d\"\n", i);
                g_assert_cmpint(mdev_def_add_attr(d, name, value, -1), ==, 0);
        }
        json = mdev_def_to_json(d, true);
        g_assert_cmpint(mdev_def_parse(json, strlen(json), &back, NULL), ==, 0);
        g_assert_cmpuint(back->attrs->len, ==, 100000);
        again = mdev_def_to_json(back, true);
        g_assert_cmpstr(again, ==, json);

        deep = g_strnfill(1 << 20, '[');
        g_assert_cmpint(mdev_def_parse(deep, strlen(deep), &none, &error), ==, -EINVAL);
        g_assert_cmpstr(error, ==, "recursion limit exceeded at line 1 column 128");
        g_assert_null(none);
}

/* `list --dumpjson` prints "attrs": [] for a definition without attributes (see oracle_defs); the node is
 * what goes inside it; compact is what mdevctl 1.2.0 gives callouts on stdin, e.g. for `define`:
 * {"mdev_type":"nvidia-256","start":"manual","attrs":[]} */
static void test_node_and_compact(void)
{
        g_autoptr(MdevDef) d = parse_ok(oracle_steps[9].file);
        g_autoptr(MdevDef) copy = mdev_def_copy(d);
        g_autoptr(MdevDef) empty = mdev_def_new();
        g_autoptr(JsonNode) node = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        g_autofree char *compact = NULL, *a = NULL, *b = NULL;

        empty->mdev_type = g_strdup("nvidia-256");
        compact = mdev_def_to_json(empty, false);
        g_assert_cmpstr(compact, ==, "{\"mdev_type\":\"nvidia-256\",\"start\":\"manual\",\"attrs\":[]}");

        node = mdev_def_to_node(d);
        g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
        json_out_pretty(out, node);
        g_assert_cmpstr(out->str, ==, oracle_steps[9].file);

        a = mdev_def_to_json(d, false);
        b = mdev_def_to_json(copy, false);
        g_assert_cmpstr(a, ==, b);
        g_assert_true(copy->attrs != d->attrs);
}

static void test_names(void)
{
        g_assert_true(mdev_name_is_valid("nvidia-256"));
        g_assert_true(mdev_name_is_valid("0000:41:00.0"));
        g_assert_true(mdev_name_is_valid("...")); /* a plain file name */
        g_assert_false(mdev_name_is_valid(""));
        g_assert_false(mdev_name_is_valid("."));
        g_assert_false(mdev_name_is_valid(".."));
        g_assert_false(mdev_name_is_valid("a/b"));
        g_assert_false(mdev_name_is_valid("/"));
        g_assert_false(mdev_name_is_valid(NULL));
}

/* vgpud's own member "mixed_size": parsed as true/false, written after "attrs" only when true. */
static void test_mixed_size(void)
{
        static const char with[] = "{\n  \"mdev_type\": \"nvidia-1150\",\n  \"start\": \"auto\",\n"
                                   "  \"attrs\": [],\n  \"mixed_size\": true\n}";
        static const char *const bad[] = {
                "{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"mixed_size\":1}",
                "{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"mixed_size\":\"yes\"}",
                "{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"mixed_size\":[]}",
        };
        g_autoptr(MdevDef) d = parse_ok(with);
        g_autoptr(MdevDef) off =
                parse_ok("{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"mixed_size\":false}");
        g_autoptr(MdevDef) null =
                parse_ok("{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"mixed_size\":null}");
        g_autoptr(MdevDef) copy = NULL;
        g_autofree char *pretty = NULL, *compact = NULL, *plain = NULL;

        g_assert_true(d->mixed_size);
        g_assert_true(d->autostart);
        pretty = mdev_def_to_json(d, true);
        g_assert_cmpstr(pretty, ==, with);
        copy = mdev_def_copy(d);
        g_assert_true(copy->mixed_size);
        compact = mdev_def_to_json(copy, false);
        g_assert_cmpstr(
                compact, ==,
                "{\"mdev_type\":\"nvidia-1150\",\"start\":\"auto\",\"attrs\":[],\"mixed_size\":true}");
        /* false is not written: mdevctl's bytes */
        g_assert_false(off->mixed_size);
        g_assert_false(null->mixed_size);
        plain = mdev_def_to_json(off, false);
        g_assert_cmpstr(plain, ==, "{\"mdev_type\":\"nvidia-1\",\"start\":\"auto\",\"attrs\":[]}");
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(MdevDef) x = NULL;
                g_autofree char *why = NULL;

                g_assert_cmpint(mdev_def_parse(bad[i], strlen(bad[i]), &x, &why), ==, -EINVAL);
                g_assert_null(x);
                g_assert_cmpstr(why, ==, "mixed_size is not true or false");
        }
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/mdev-def/round-trip-files", test_round_trip_files);
        g_test_add_func("/mdev-def/modify-steps", test_modify_steps);
        g_test_add_func("/mdev-def/attr-index-rules", test_attr_index_rules);
        g_test_add_func("/mdev-def/jsonfile-input", test_jsonfile_input);
        g_test_add_func("/mdev-def/acceptance-oracle", test_acceptance_oracle);
        g_test_add_func("/mdev-def/truncated", test_truncated);
        g_test_add_func("/mdev-def/corrupt", test_corrupt);
        g_test_add_func("/mdev-def/huge", test_huge);
        g_test_add_func("/mdev-def/node-and-compact", test_node_and_compact);
        g_test_add_func("/mdev-def/names", test_names);
        g_test_add_func("/mdev-def/mixed-size", test_mixed_size);
        return g_test_run();
}
