"""Where a benchmark ran, for the records in docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_description() -> str:
    """CPU model and core count, e.g. 'AMD EPYC, 2 cores'."""
    return f"{cpu_name()}, {os.cpu_count()} cores"
