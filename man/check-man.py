#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keeps the manual pages true: every command vgpuctl's help lists and every long option each
command's --help lists is described in vgpuctl.8.scd, every command the page describes exists, and
every interface, method, signal and property of the D-Bus contract is in the generated
org.vgpud1(5).
Usage: check-man.py VGPUCTL VGPUCTL_SCD CONTRACT_XML ORG_VGPUD1_5"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


def main():
    vgpuctl, scd_path, xml_path, page_path = sys.argv[1:5]
    scd = open(scd_path, encoding='utf-8').read()
    page = open(page_path, encoding='utf-8').read()
    failures = []

    top = run(vgpuctl, 'help')
    commands = re.findall(r'^    ([a-z][a-z-]*)  ', top.split('SUBCOMMANDS:')[1], re.M)
    if len(commands) < 10:
        failures.append(f'vgpuctl help lists only {commands}: cannot check the page against it')
    for cmd in commands:
        if not re.search(r'^\*' + re.escape(cmd) + r'[* ]', scd, re.M):
            failures.append(f'vgpuctl.8: command {cmd} is not described')
            continue
        if cmd == 'help':
            continue
        for opt in sorted(set(re.findall(r'^\s+(?:-\w, )?(--[a-z][a-z-]*)', run(vgpuctl, cmd, '--help'), re.M))):
            if opt not in ('--help', '--version') and f'*{opt}*' not in scd:
                failures.append(f'vgpuctl.8: option {opt} of {cmd} is not described')
    described = re.findall(r'^\*([a-z]+)\*(?: |$)', scd.split('# MDEVCTL-COMPATIBLE COMMANDS')[1].split('# OPTIONS')[0], re.M)
    for cmd in set(described) - set(commands):
        failures.append(f'vgpuctl.8 describes {cmd}, which vgpuctl does not have')

    members = 0
    for iface in ET.parse(xml_path).getroot().iter('interface'):
        if f'INTERFACE {iface.get("name")}' not in page:
            failures.append(f'org.vgpud1.5: interface {iface.get("name")} missing')
        for m in list(iface.iter('method')) + list(iface.iter('signal')) + list(iface.iter('property')):
            members += 1
            if not re.search(r'^\\fB' + re.escape(m.get('name')) + r'\\fR', page, re.M):
                failures.append(f'org.vgpud1.5: {iface.get("name")}.{m.get("name")} missing')
    if members < 20:
        failures.append(f'only {members} members in {xml_path}: cannot check the page against it')

    for f in failures:
        print(f)
    print(f'{len(commands)} commands, {members} D-Bus members checked; {len(failures)} problems')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
