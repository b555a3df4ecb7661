/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* client/hook-proxmox.c: reading Proxmox VE VM configs (#vgpud: description lines of the main section,
 * snapshots ignored, bad lines named), VMIDs and Proxmox's mdev UUIDs. */

#include <errno.h>
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

/* What the Terraform provider (bpg/proxmox, hostpci blocks with mapping, mdev, pcie, rombar) leaves in
 * /etc/pve/qemu-server/201.conf, with a pinned NUMA node, a whole-device passthrough and a snapshot. */
static const char config_201[] = "agent: 1\n"
                                 "bios: ovmf\n"
                                 "boot: order=scsi0;net0\n"
                                 "cores: 8\n"
                                 "cpu: host\n"
                                 "efidisk0: local-zfs:vm-201-disk-0,efitype=4m,pre-enrolled-keys=1,size=1M\n"
                                 "hostpci0: mapping=RTX-A5000-1,mdev=nvidia-665,pcie=1\n"
                                 "hostpci1: 0000:41:00.0,mdev=nvidia-231,rombar=0\n"
                                 "hostpci3: host=63:00.4;0000:64:00.4,mdev=nvidia-700\n"
                                 "hostpci5: 0000:81:00,pcie=1,x-vga=1\n"
                                 "machine: q35\n"
                                 "memory: 16384\n"
                                 "meta: creation-qemu=9.0.2,ctime=1760000000\n"
                                 "name: render-01\n"
                                 "numa: 1\n"
                                 "numa0: cpus=0-3,hostnodes=1,memory=8192,policy=bind\n"
                                 "numa1: cpus=4-7,hostnodes=1,memory=8192,policy=bind\n"
                                 "scsi0: local-zfs:vm-201-disk-1,iothread=1,size=64G\n"
                                 "smbios1: uuid=2b9b6c0e-5d7a-4f1e-9c3b-8a7d6e5f4c3b\n"
                                 "\n"
                                 "[pre-gpu]\n"
                                 "hostpci0: mapping=OLD,mdev=nvidia-1\n"
                                 "numa0: cpus=0-3,hostnodes=0,memory=8192,policy=bind\n";

static void test_hostpci_lines(void)
{
        g_autoptr(VcPveConfig) c = parse_ok(config_201);
        const VcPveHostpci *h;

        g_assert_cmpuint(c->vgpus->len, ==, 0);
        g_assert_cmpuint(c->hostpci->len, ==, 4); /* the snapshot's line does not count */
        h = c->hostpci->pdata[0];
        g_assert_cmpuint(h->index, ==, 0);
        g_assert_cmpuint(h->line, ==, 7);
        g_assert_cmpstr(h->mapping, ==, "RTX-A5000-1");
        g_assert_cmpstr(h->mdev, ==, "nvidia-665");
        g_assert_null(h->hosts);
        g_assert_true(h->pcie);
        h = c->hostpci->pdata[1];
        g_assert_cmpstr(h->mdev, ==, "nvidia-231");
        g_assert_null(h->mapping);
        g_assert_cmpuint(g_strv_length(h->hosts), ==, 1);
        g_assert_cmpstr(h->hosts[0], ==, "0000:41:00.0");
        g_assert_false(h->pcie);
        h = c->hostpci->pdata[2];
        g_assert_cmpuint(h->index, ==, 3);
        g_assert_cmpuint(g_strv_length(h->hosts), ==, 2);
        g_assert_cmpstr(h->hosts[0], ==, "0000:63:00.4"); /* the domain added */
        g_assert_cmpstr(h->hosts[1], ==, "0000:64:00.4");
        h = c->hostpci->pdata[3];
        g_assert_null(h->mdev); /* a GPU passed through whole: not vgpud's */
        g_assert_cmpstr(h->hosts[0], ==, "0000:81:00.0");
        g_assert_cmpint(c->numa_node, ==, 1);
}

static void test_hostpci_bad(void)
{
        g_autoptr(VcPveConfig) plain = parse_ok("hostpci0: mapping=X,mdev=nvidia-1\nnuma0: cpus=0-1\n");
        g_autoptr(VcPveConfig) split = parse_ok("numa0: hostnodes=0\nnuma1: hostnodes=1\n");
        g_autoptr(VcPveConfig) range = parse_ok("numa0: cpus=0-7,hostnodes=0-1\n");
        g_autoptr(VcPveConfig) beyond = parse_ok("hostpci16: 0000:41:00.0\nhostpcix: 1\n");

        g_assert_cmpint(plain->numa_node, ==, -1); /* numa without hostnodes pins nothing */
        g_assert_cmpint(split->numa_node, ==, -1);
        g_assert_cmpint(range->numa_node, ==, -1);
        g_assert_cmpuint(beyond->hostpci->len, ==, 0); /* not lines qemu-server reads */

        parse_fails("hostpci0: mapping=A,host=0000:41:00.0,mdev=nvidia-1\n",
                    "line 1, hostpci0: both host and mapping");
        parse_fails("cores: 1\nhostpci2: mdev=nvidia-1,pcie=1\n",
                    "line 2, hostpci2: neither host nor mapping");
        parse_fails("hostpci0: 0000:41:00.0;41:00.x,mdev=nvidia-1\n", "'41:00.x' is not a PCI id");
        parse_fails("hostpci0: 0000:41:00.0,mdev=../../x\n", "mdev '../../x' is not an mdev type");
        parse_fails("hostpci0: 0000:41:00.0,mdev=nvidia-1\nhostpci0: 0000:42:00.0\n",
                    "hostpci0 is set twice");
        parse_fails("hostpci0: mapping=,mdev=nvidia-1\n", "mapping is empty");
        parse_fails("#vgpud: profile=A16-2Q\nhostpci0: mapping=M,mdev=nvidia-1\n",
                    "line 1 and line 2 (hostpci0, mdev=nvidia-1) both use slot 0");
        {
                /* a #vgpud: line in another slot and a passthrough in its slot are fine */
                g_autoptr(VcPveConfig) c = parse_ok("#vgpud: profile=A16-2Q,slot=4\nhostpci0: "
                                                    "mapping=M,mdev=nvidia-1\nhostpci4: 0000:81:00.0\n");
                g_assert_cmpuint(c->hostpci->len, ==, 2);
        }
}

static void test_pci_ids(void)
{
        static const struct {
                const char *in, *out;
                bool whole;
        } cases[] = {
                {"0000:63:00.4", "0000:63:00.4", false},
                {"63:00.4", "0000:63:00.4", false},
                {"0000:63:00", "0000:63:00.0", true},
                {"63:00", "0000:63:00.0", true},
                {"0000:C1:00.0", "0000:c1:00.0", false},
                {"10000:01:00.1", "10000:01:00.1", false},
                {"63:0.4", NULL, false},
                {"0000:63:00.", NULL, false},
                {"0000:63:00.4x", NULL, false},
                {"000:63:00.4", NULL, false},
                {"", NULL, false},
                {"0000:63:00.4;", NULL, false},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                bool whole = !cases[i].whole;
                g_autofree char *n = vc_pve_pci_id_normalize(cases[i].in, &whole);

                g_assert_cmpstr(n, ==, cases[i].out);
                if (n)
                        g_assert_true(whole == cases[i].whole);
        }
}

/* /etc/pve/mapping/pci.cfg as the GUI writes it: one section per mapping, `map` lines of several nodes. */
static const char mapping_cfg[] =
        "RTX-A5000-1\n"
        "\tdescription A5000 VFs for render VMs\n"
        "\tmdev 1\n"
        "\tmap id=10de:2231,iommugroup=50,node=pve1,path=0000:41:00.4,subsystem-id=10de:147e\n"
        "\tmap id=10de:2231,iommugroup=51,node=pve1,path=0000:41:00.5,subsystem-id=10de:147e\n"
        "\tmap id=10de:2231,iommugroup=60,node=pve2,path=0000:c1:00.4,subsystem-id=10de:147e\n"
        "\tmap id=10de:2231,node=pve1,path=42:00.4;0000:42:00.5,subsystem-id=10de:147e\n"
        "\n"
        "# the T4s\n"
        "T4\n"
        "\tmap id=10de:1eb8,iommugroup=7,node=pve1,path=0000:3b:00.0\n"
        "\tmap id=10de:1eb8,iommugroup=8,node=pve2,path=0000:3b:00.0\n"
        "\n"
        "broken\n"
        "\tmap id=10de:1eb8,node=pve1\n"
        "\tmap id=10de:1eb8,node=pve3,path=nonsense\n";

static void test_mapping(void)
{
        g_autoptr(GPtrArray) alt = NULL, t4 = NULL, other = NULL;
        g_autofree char *why = NULL;
        char **a;

        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "RTX-A5000-1", "pve1", &alt, &why), ==, 0);
        g_assert_cmpuint(alt->len, ==, 3);
        a = alt->pdata[0];
        g_assert_cmpstr(a[0], ==, "0000:41:00.4");
        g_assert_null(a[1]);
        g_assert_cmpstr(((char **)alt->pdata[1])[0], ==, "0000:41:00.5");
        a = alt->pdata[2];
        g_assert_cmpstr(a[0], ==, "0000:42:00.4");
        g_assert_cmpstr(a[1], ==, "0000:42:00.5");
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "RTX-A5000-1", "pve2", &other, &why), ==, 0);
        g_assert_cmpuint(other->len, ==, 1);
        g_assert_cmpstr(((char **)other->pdata[0])[0], ==, "0000:c1:00.4");
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "T4", "pve1", &t4, &why), ==, 0);
        g_assert_cmpuint(t4->len, ==, 1);

        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "RTX-A5000", "pve1", &alt, &why), ==, -ENOENT);
        g_assert_cmpstr(why, ==, "there is no PCI mapping 'RTX-A5000'");
        g_clear_pointer(&why, g_free);
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "T4", "pve3", &alt, &why), ==, -ENOENT);
        g_assert_cmpstr(why, ==, "PCI mapping 'T4' has no device on node 'pve3'");
        g_clear_pointer(&why, g_free);
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "broken", "pve1", &alt, &why), ==, -EINVAL);
        g_assert_nonnull(strstr(why, "line 15: the entry of node 'pve1' has no path"));
        g_clear_pointer(&why, g_free);
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "broken", "pve3", &alt, &why), ==, -EINVAL);
        g_assert_nonnull(strstr(why, "'nonsense' is not a PCI id"));
        g_clear_pointer(&why, g_free);
        /* "# the T4s" is a comment, not a mapping */
        g_assert_cmpint(vc_pve_mapping_parse(mapping_cfg, "#", "pve1", &alt, &why), ==, -ENOENT);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hook-proxmox/config", test_config);
        g_test_add_func("/hook-proxmox/no-vgpus", test_no_vgpus);
        g_test_add_func("/hook-proxmox/bad-lines", test_bad_lines);
        g_test_add_func("/hook-proxmox/vmid", test_vmid);
        g_test_add_func("/hook-proxmox/uuid", test_uuid);
        g_test_add_func("/hook-proxmox/hostpci-lines", test_hostpci_lines);
        g_test_add_func("/hook-proxmox/hostpci-bad", test_hostpci_bad);
        g_test_add_func("/hook-proxmox/pci-ids", test_pci_ids);
        g_test_add_func("/hook-proxmox/mapping", test_mapping);
        return g_test_run();
}
