# SPDX-License-Identifier: LGPL-2.1-or-later
# The test VM's layout check group "layout" (run.sh puts this file at /tests/groups.d/layout.sh;
# guest-test.sh sources it after guest-lifecycle.sh and guest-acquire.sh, whose helpers it uses:
# need_vgpud, mtty_clean, running, mdev_count, hold_group, unhold).
# On the real mdev core with the mtty sample, through `vgpuctl apply` (vgpu-device-manager's config
# v1): a layout from empty, the same again (nothing changes), a smaller count with a VFIO group held
# open (the held device stays), another type (Busy while held, done with --force), an invalid file
# (its line and column), and the empty layout at the end. mdpy and mbochs offer none of the types:
# "devices: all" passes over them.

LAYOUT_FILE=/tmp/layouts.yaml

layout_write() {
        cat >"$LAYOUT_FILE" <<'YAML'
version: v1
vgpu-configs:
  three:
    - devices: all
      vgpu-devices: {mtty-2: 3}
  one:
    - devices: all
      vgpu-devices: {"Dual port serial": 1}
  single-ports:
    - devices: all
      vgpu-devices: {mtty-1: 2}
  none:
    - devices: all
      vgpu-devices: {}
YAML
        cat >/tmp/bad-layouts.yaml <<'YAML'
version: v1
vgpu-configs:
  bad:
    - devices: all
      vgpu-devices: {mtty-2: 0}
YAML
}

# apply CONFIG [ARGS...]: vgpuctl apply; output in /tmp/apply.out, /tmp/apply.err
apply() {
        local c=$1
        shift
        timeout 60 /usr/bin/vgpuctl apply "$LAYOUT_FILE" --config "$c" "$@" >/tmp/apply.out 2>/tmp/apply.err
}

# layout_uuids: the UUIDs leased to owner "layout", sorted
layout_uuids() {
        busctl --system call org.vgpud1 /org/vgpud1 org.vgpud1.Manager ListLeases 2>/dev/null |
                grep -o '"[0-9a-f-]\{36\}" "layout"' | grep -o '[0-9a-f-]\{36\}' | sort
}

mtty_type_of() { basename "$(readlink -f "$MDEV_DEVICES/$1/mdev_type")"; }

group_layout() {
        local n u held before
        need_vgpud || return
        mtty_clean
        layout_write
        n=$(mdev_count)

        if apply three --dry-run && grep -q '^would create 3 x mtty-2 on mtty$' /tmp/apply.out &&
                [ "$(mdev_count)" = "$n" ]; then
                ok "apply --dry-run: the plan (3 x mtty-2 on mtty), nothing created"
        else
                fail "apply --dry-run three"
                show /tmp/apply.out /tmp/apply.err
        fi
        if apply three && [ "$(layout_uuids | wc -l)" = 3 ] && [ "$(mdev_count)" = $((n + 3)) ]; then
                ok "apply three: 3 mtty-2 made for owner layout"
        else
                fail "apply three: $(layout_uuids | wc -l) leased, $(mdev_count) devices"
                show /tmp/apply.out /tmp/apply.err
                return
        fi
        for u in $(layout_uuids); do
                check "$u runs as mtty-2 and is defined (start auto)" \
                        sh -c "[ \"$(mtty_type_of "$u")\" = mtty-2 ] && grep -q '\"start\": \"auto\"' /etc/mdevctl.d/mtty/$u"
        done
        before=$(layout_uuids)
        if apply three && grep -q '^Applied: 0 removed, 0 created, 3 kept$' /tmp/apply.out &&
                [ "$(layout_uuids)" = "$before" ]; then
                ok "apply three again changes nothing"
        else
                fail "apply three again"
                show /tmp/apply.out /tmp/apply.err
        fi

        # a VM holds the last one: a smaller count keeps it
        held=$(layout_uuids | tail -n 1)
        hold_group "$held"
        if apply one && [ "$(layout_uuids)" = "$held" ] && running "$held"; then
                ok "apply one while $held is held: the held one stays, the two idle ones go"
        else
                fail "apply one while $held is held: $(layout_uuids | tr '\n' ' ')"
                show /tmp/apply.out /tmp/apply.err
        fi
        if ! apply single-ports && grep -q "in use by" /tmp/apply.err && running "$held" &&
                [ "$(layout_uuids)" = "$held" ]; then
                ok "apply single-ports refused while $held is held (Busy), nothing changed"
        else
                fail "apply single-ports while held"
                show /tmp/apply.out /tmp/apply.err
        fi
        if apply single-ports --force && ! running "$held" && [ "$(layout_uuids | wc -l)" = 2 ]; then
                ok "apply single-ports --force: $held removed, 2 mtty-1 made"
        else
                fail "apply single-ports --force"
                show /tmp/apply.out /tmp/apply.err
        fi
        unhold

        if ! LAYOUT_FILE=/tmp/bad-layouts.yaml apply bad &&
                grep -q "Invalid layout file: 5:30: the count of 'mtty-2'" /tmp/apply.err; then
                ok "an invalid file is refused with its line and column"
        else
                fail "apply bad"
                show /tmp/apply.out /tmp/apply.err
        fi
        if apply none && [ -z "$(layout_uuids)" ]; then
                ok "apply none: the layout's vGPUs are gone"
        else
                fail "apply none: $(layout_uuids | tr '\n' ' ')"
                show /tmp/apply.out /tmp/apply.err
        fi
        mtty_clean
}

EXTRA_GROUPS="$EXTRA_GROUPS layout"
