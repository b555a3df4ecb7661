#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the systemd tier's small initramfs (busybox): loads the modules the root disk needs
# (virtio_pci, virtio_blk, ext4), mounts /dev/vda and hands over to systemd on it.
export PATH=/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/load.order); do
        case $m in
        \?*) insmod "/modules/${m#?}.ko" 2>/dev/null ;;
        *) insmod "/modules/$m.ko" || echo "initrd: insmod $m failed" ;;
        esac
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
        echo "initrd: cannot mount /dev/vda"
        poweroff -f
fi
umount /proc /sys /dev
exec switch_root /newroot /lib/systemd/systemd
