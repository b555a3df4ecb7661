#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Oracle tier: vgpuctl + vgpud against Debian's mdevctl 1.2.0 on the same simulated trees.
Usage: tests/oracle/run.py [test_module.Class.test ...]   ($VGPUD_BUILDDIR: the build directory)"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import pyrunner  # noqa: E402

sys.exit(pyrunner.main(os.path.dirname(os.path.abspath(__file__))))
