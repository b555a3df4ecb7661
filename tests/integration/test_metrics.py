# SPDX-License-Identifier: LGPL-2.1-or-later
"""Metrics (daemon/metrics.c): `vgpuctl metrics` and the --metrics-file for node_exporter, read with
prometheus_client's own parser (Debian's python3-prometheus-client), on the simulated default host
(T4, an A16 board of four cores, GVT-g, mtty) with vGPUs running. The numbers must be those `vgpuctl
status --json` shows per core and ListTypes per type; every request counts once by kind and result,
with a histogram whose count matches; uevents are counted."""

import json
import os
import shutil
import time

from prometheus_client.parser import text_string_to_metric_families

import vgpudtest


def parse(text):
    """{metric family name: {(sample name, frozenset(labels)): value}}, and the families' types"""
    families, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        families.setdefault(fam.name, {})
        for s in fam.samples:
            families[fam.name][(s.name, frozenset(s.labels.items()))] = s.value
    return families, types


def value(families, family, sample=None, **labels):
    return families[family][(sample or family, frozenset(labels.items()))]


class TestMetrics(vgpudtest.VgpudTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.metrics_file = os.path.join(self.workdir, 'textfile', 'vgpud.prom')
        os.makedirs(os.path.dirname(self.metrics_file))
        self.start_vgpud()

    def start_vgpud(self, extra_args=()):
        super().start_vgpud(list(extra_args) + ['--metrics-file', self.metrics_file])

    def vgpuctl_ok(self, *args):
        rc, out, err = self.run_vgpuctl(*args)
        self.assertEqual(rc, 0, 'vgpuctl %s: %s' % (' '.join(args), err))
        return out

    def metrics(self):
        return parse(self.vgpuctl_ok('metrics'))

    def test_gauges_match_status_and_types(self):
        self.vgpuctl_ok('acquire', 'A16-2Q', '--owner', 'test:m1')
        self.vgpuctl_ok('acquire', 'A16-2Q', '--owner', 'test:m2')
        self.vgpuctl_ok('start', '-p', 'mtty', '-t', 'mtty-2')
        (families, types) = self.metrics()
        status = json.loads(self.vgpuctl_ok('status', '--json'))
        self.assertGreaterEqual(len(status), 4)
        used_somewhere = 0
        for core in status:
            c = core['core']
            self.assertEqual(value(families, 'vgpud_core_vgpus_used', core=c), core['used'], c)
            self.assertEqual(value(families, 'vgpud_core_vgpus_capacity', core=c), core['capacity'], c)
            self.assertEqual(value(families, 'vgpud_core_mixed_size', core=c), int(core['mixed_size']), c)
            if core['size'] != 'mixed':
                self.assertEqual(value(families, 'vgpud_core_size_class_mib', core=c), core['size_class_mib'], c)
            used_somewhere += core['used']
        self.assertEqual(used_somewhere, 3)
        self.assertEqual(len(families['vgpud_core_vgpus_used']), len(status))
        self.assertEqual(types['vgpud_core_vgpus_used'], 'gauge')

        (parents,) = self.call('/org/vgpud1', 'org.vgpud1.Manager', 'ListTypes')
        n = 0
        for p in parents:
            for t in p[2]:
                if t[4] >= 0:
                    self.assertEqual(value(families, 'vgpud_type_available_instances', parent=p[0], type=t[0],
                                           name=t[1]), t[4], (p[0], t[0]))
                    n += 1
        self.assertEqual(len(families['vgpud_type_available_instances']), n)
        self.assertGreater(n, 10)

        (devices,) = self.call('/org/vgpud1', 'org.vgpud1.Manager', 'ListDevices')
        self.assertEqual(value(families, 'vgpud_devices'), len(devices))
        self.assertEqual(value(families, 'vgpud_leases'), 2)
        self.assertEqual(value(families, 'vgpud_idle_devices'), 1)  # the mtty device: no lease, definition, process
        self.assertEqual(value(families, 'vgpud_orphan_devices'), 1)  # the old name

    def test_requests_by_result_with_latency(self):
        self.vgpuctl_ok('acquire', 'A16-2Q', '--owner', 'test:r')
        self.vgpuctl_ok('release', '--owner', 'test:r')
        rc, _, _ = self.run_vgpuctl('stop', '-u', '0b5f2a36-3c5d-4a7e-8d22-5b5d1f0c0a01')
        self.assertEqual(rc, 1)
        (families, types) = self.metrics()
        # the parser names a counter's family without "_total"
        self.assertEqual(types['vgpud_requests'], 'counter')
        self.assertEqual(types['vgpud_request_duration_seconds'], 'histogram')
        want = {('acquire', 'ok'): 1, ('release', 'ok'): 1, ('stop', 'NotFound'): 1}
        got = {(dict(k[1])['request'], dict(k[1])['result']): v
               for k, v in families['vgpud_requests'].items()}
        self.assertEqual(got, want)
        h = 'vgpud_request_duration_seconds'
        for (request, result), n in want.items():
            labels = dict(request=request, result=result)
            self.assertEqual(value(families, h, h + '_count', **labels), n)
            self.assertEqual(value(families, h, h + '_bucket', le='+Inf', **labels), n)
            self.assertGreater(value(families, h, h + '_sum', **labels), 0)
        # the uevents of the acquire's and the release's devices
        self.assertGreaterEqual(value(families, 'vgpud_uevents', 'vgpud_uevents_total', subsystem='mdev'), 2)

    def test_the_textfile_follows_changes(self):
        def file_families():
            with open(self.metrics_file) as f:
                return parse(f.read())[0]

        self.assertTrue(os.path.exists(self.metrics_file), 'written at startup')
        self.assertEqual(value(file_families(), 'vgpud_devices'), 0)
        self.assertEqual(os.listdir(os.path.dirname(self.metrics_file)), ['vgpud.prom'])
        self.vgpuctl_ok('acquire', 'T4-1Q', '--owner', 'test:f')
        deadline = time.monotonic() + vgpudtest.WAIT_TIMEOUT
        while value(file_families(), 'vgpud_devices') != 1:
            self.assertLess(time.monotonic(), deadline, 'the file did not follow the acquire')
            time.sleep(0.1)
        self.assertEqual(value(file_families(), 'vgpud_leases'), 1)
        self.assertEqual(os.stat(self.metrics_file).st_mode & 0o777, 0o644)

    def test_missing_directory_is_not_an_error(self):
        self.stop_vgpud()
        shutil.rmtree(os.path.dirname(self.metrics_file))
        self.start_vgpud()
        self.vgpuctl_ok('acquire', 'T4-1Q', '--owner', 'test:g')
        self.assertFalse(os.path.exists(os.path.dirname(self.metrics_file)))
        self.assertEqual(value(self.metrics()[0], 'vgpud_devices'), 1)
