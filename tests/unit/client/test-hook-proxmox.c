/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* client/hook-proxmox.c: reading Proxmox VE VM configs (#vgpud: description lines of the main section,
 * snapshots ignored, bad lines named), VMIDs and Proxmox's mdev UUIDs. */

#include <glib.h>
#include <string.h>

#include "hook-proxmox.h"

/* /etc/pve/qemu-server/101.conf as Proxmox writes it: the description as '#' lines (percent-encoded
 * where needed), then the options, then a snapshot section with an older description. */
static const char config_101[] =
        "#Web front end, owner%3A ops team\n"
        "#vgpud: profile=A16-2Q\n"
        "#\n"
        "# vgpud: profile=NVIDIA A16-4Q,slot=3,board=0000:61:00.0,numa_node=1,policy=spread,persist=1\n"
        "#vgpud%3A profile=A16-1Q,parent=0000:63:00.5\n"
        "args: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000101\n"
        "boot: order=scsi0;net0\n"
        "cores: 4\n"
        "memory: 8192\n"
        "meta: creation-qemu=7.2.0,ctime=1700000000\n"
        "name: web-01\n"
        "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n"
        "scsi0: local-lvm:vm-101-disk-0,size=32G\n"
        "smbios1: uuid=8f4c8e1a-5b2d-4a57-9c1e-1f2e3d4c5b6a\n"
        "vmgenid: 5b7c0e1e-0d3a-4a2b-9f6e-7d8c9b0a1f2e\n"
        "\n"
        "[before-upgrade]\n"
        "#vgpud: profile=A16-16Q\n"
        "#vgpud: bogus line that would fail\n"
        "cores: 2\n"
        "snaptime: 1700000001\n";

static VcPveConfig *parse_ok(const char *text)
{
        VcPveConfig *c = NULL;
        g_autofree char *why = NULL;

        g_assert_cmpint(vc_pve_config_parse(text, &c, &why), ==, 0);
        g_assert_null(why);
        g_assert_nonnull(c);
        return c;
}

static void parse_fails(const char *text, const char *want)
{
        VcPveConfig *c = NULL;
        g_autofree char *why = NULL;

        g_assert_cmpint(vc_pve_config_parse(text, &c, &why), <, 0);
        g_assert_null(c);
        g_assert_nonnull(why);
        if (!strstr(why, want))
                g_error("'%s' does not say '%s'", why, want);
}

static void test_config(void)
{
        g_autoptr(VcPveConfig) c = parse_ok(config_101);
        const VcVgpuRequest *a, *b, *e;

        g_assert_cmpuint(c->vgpus->len, ==, 3); /* the snapshot's lines do not count */
        a = c->vgpus->pdata[0];
        b = c->vgpus->pdata[1];
        e = c->vgpus->pdata[2];
        g_assert_cmpstr(a->profile, ==, "A16-2Q");
        g_assert_cmpuint(a->slot, ==, 0);
        g_assert_false(a->persist);
        g_assert_null(a->uuid);
        g_assert_cmpstr(b->profile, ==, "NVIDIA A16-4Q");
        g_assert_cmpuint(b->slot, ==, 3);
        g_assert_cmpstr(b->board, ==, "0000:61:00.0");
        g_assert_cmpint(b->numa_node, ==, 1);
        g_assert_cmpstr(b->policy, ==, "spread");
        g_assert_true(b->persist);
        g_assert_cmpstr(e->profile, ==, "A16-1Q"); /* "%3A" is ':' */
        g_assert_cmpuint(e->slot, ==, 2);
        g_assert_cmpstr(e->parent, ==, "0000:63:00.5");
        g_assert_cmpstr(
                c->args, ==,
                "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000101");
}

static void test_no_vgpus(void)
{
        g_autoptr(VcPveConfig) c = parse_ok("#just a VM\ncores: 1\nmemory: 512\n");
        g_autoptr(VcPveConfig) empty = parse_ok("");
        g_autoptr(VcPveConfig) crlf = parse_ok("#vgpud: 2Q\r\ncores: 1\r\n");

        g_assert_cmpuint(c->vgpus->len, ==, 0);
        g_assert_null(c->args);
        g_assert_cmpuint(empty->vgpus->len, ==, 0);
        g_assert_cmpuint(crlf->vgpus->len, ==, 1); /* a bare first item is the profile */
        g_assert_cmpstr(((VcVgpuRequest *)crlf->vgpus->pdata[0])->profile, ==, "2Q");
}

static void test_bad_lines(void)
{
        parse_fails("cores: 1\n#vgpud:\n", "line 2: no profile");
        parse_fails("#vgpud: slot=1\n", "line 1: no profile");
        parse_fails("#vgpud: profile=2Q,slot=x\n", "line 1: slot 'x'");
        parse_fails("#vgpud: profile=2Q,,slot=1\n", "line 1: an empty item");
        parse_fails("#vgpud: profile=2Q,spread\n", "line 1: 'spread' is not key=value");
        parse_fails("#vgpud: profile=2Q,uuid=00000000-0000-0000-0000-000000000101\n",
                    "unknown attribute 'uuid'");
        parse_fails("#vgpud: profile=2Q,policy=fast\n", "neither pack nor spread");
        parse_fails("#vgpud: profile=2Q,persist=2\n", "persist '2'");
        parse_fails("#a\n#vgpud: profile=2Q\n#vgpud: profile=4Q,slot=0\n",
                    "line 2 and line 3 both ask for slot 0");
}

static void test_vmid(void)
{
        uint32_t v = 0;

        g_assert_cmpint(vc_pve_parse_vmid("101", &v), ==, 0);
        g_assert_cmpuint(v, ==, 101);
        g_assert_cmpint(vc_pve_parse_vmid("999999999", &v), ==, 0);
        g_assert_cmpuint(v, ==, 999999999);
        g_assert_cmpint(vc_pve_parse_vmid("99", &v), <, 0);
        g_assert_cmpint(vc_pve_parse_vmid("1000000000", &v), <, 0);
        g_assert_cmpint(vc_pve_parse_vmid("0101", &v), <, 0);
        g_assert_cmpint(vc_pve_parse_vmid("10a", &v), <, 0);
        g_assert_cmpint(vc_pve_parse_vmid("", &v), <, 0);
        g_assert_cmpint(vc_pve_parse_vmid("-101", &v), <, 0);
}

static void test_uuid(void)
{
        g_autofree char *a = vc_pve_mdev_uuid(0, 101);
        g_autofree char *b = vc_pve_mdev_uuid(12, 999999999);

        g_assert_cmpstr(a, ==, "00000000-0000-0000-0000-000000000101");
        g_assert_cmpstr(b, ==, "00000012-0000-0000-0000-000999999999");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hook-proxmox/config", test_config);
        g_test_add_func("/hook-proxmox/no-vgpus", test_no_vgpus);
        g_test_add_func("/hook-proxmox/bad-lines", test_bad_lines);
        g_test_add_func("/hook-proxmox/vmid", test_vmid);
        g_test_add_func("/hook-proxmox/uuid", test_uuid);
        return g_test_run();
}
