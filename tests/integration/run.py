#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tier: the real vgpud and vgpuctl on a private system bus over the simulated host."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import pyrunner  # noqa: E402

sys.exit(pyrunner.main(os.path.dirname(os.path.abspath(__file__))))
