/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names of org.vgpud1 that vgpud and vgpuctl both spell: the bus name, the object paths, the
 * interfaces and the keys of the a{sv} options (dbus/org.vgpud1.xml is the contract they follow).
 * Nothing else: error names are in errors.h, polkit actions in daemon/polkit.h. */

#define VGPUD_BUS_NAME       "org.vgpud1"
#define VGPUD_PRIVATE_SOCKET "/run/vgpud/private"
/* the published inventory (common/snapshot.h): read commands use it while vgpud holds its lock */
#define VGPUD_SNAPSHOT "/run/vgpud/snapshot"

/* object paths: the manager, and the prefixes of the per-object paths (<prefix>/<escaped name>) */
#define VGPUD_MANAGER_PATH           "/org/vgpud1"
#define VGPUD_GPU_PATH_PREFIX        "/org/vgpud1/gpu"
#define VGPUD_DEVICE_PATH_PREFIX     "/org/vgpud1/device"
#define VGPUD_DEFINITION_PATH_PREFIX "/org/vgpud1/definition"

#define VGPUD_MANAGER_IFACE          "org.vgpud1.Manager"
#define VGPUD_GPU_IFACE              "org.vgpud1.Gpu"
#define VGPUD_DEVICE_IFACE           "org.vgpud1.Device"
#define VGPUD_DEFINITION_IFACE       "org.vgpud1.Definition"

/* options (the last a{sv} of Start, Stop, Define, Undefine, Modify, Acquire, Release, Plan) */
#define VGPUD_OPT_FORCE           "force"           /* b */
#define VGPUD_OPT_TIMEOUT_MS      "timeout_ms"      /* u */
#define VGPUD_OPT_DEFINED         "defined"         /* b, Modify */
#define VGPUD_OPT_LIVE            "live"            /* b, Modify */
#define VGPUD_OPT_PARENT          "parent"          /* s, Acquire and Plan: where to place */
#define VGPUD_OPT_PARENTS         "parents"         /* as: only these (a hypervisor's alternatives) */
#define VGPUD_OPT_BOARD           "board"           /* s */
#define VGPUD_OPT_NUMA_NODE       "numa_node"       /* i */
#define VGPUD_OPT_POLICY          "policy"          /* s: pack or spread */
#define VGPUD_OPT_MIXED_SIZE      "mixed_size"      /* b: a GPU in mixed-size mode, or one to switch */
#define VGPUD_OPT_SLOT            "slot"            /* u, Acquire and Release */
#define VGPUD_OPT_UUID            "uuid"            /* s, Acquire */
#define VGPUD_OPT_VM_UUID         "vm_uuid"         /* s */
#define VGPUD_OPT_PERSIST         "persist"         /* b */
#define VGPUD_OPT_DRY_RUN         "dry_run"         /* b */
#define VGPUD_OPT_OWNER           "owner"           /* s, ApplyLayout: whose vGPUs the layout manages */
#define VGPUD_OPT_OLDER_THAN_USEC "older_than_usec" /* t, ReleaseIdle */

/* Modify's changes (its first a{sv}) */
#define VGPUD_CHANGE_DEFINITION    "definition"       /* s: a whole definition (JSON) */
#define VGPUD_CHANGE_TYPE          "type"             /* s */
#define VGPUD_CHANGE_START         "start"            /* s: auto or manual */
#define VGPUD_CHANGE_DEL_ATTRIBUTE "delete_attribute" /* i */
#define VGPUD_CHANGE_ADD_ATTRIBUTE "add_attribute"    /* (ssi): name, value, index (-1: the end) */
#define VGPUD_CHANGE_MIXED_SIZE    "mixed_size"       /* b: the definition asks for mixed-size mode */
