#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the test VM: mounts the API file systems, loads vfio, vfio_iommu_type1, mdev and the
# sample mdev drivers, runs /tests/guest-test.sh and powers the VM off.
export PATH=/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
hostname -F /etc/hostname
. /tests/guest-lib.sh

ts "init: kernel $(uname -r), loading modules"
for m in $(cat "$MODDIR/load.order"); do
        case $m in
        \?*) insmod "$MODDIR/${m#?}.ko" 2>/dev/null || echo "init: optional module ${m#?} not loaded" ;;
        *) insmod "$MODDIR/$m.ko" 2>&1 || fail "insmod $m" ;;
        esac
done
ts "init: modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

/tests/guest-test.sh
ts "init: powering off"
poweroff -f
