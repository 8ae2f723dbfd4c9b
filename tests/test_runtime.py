"""runtime.keep_freed_memory: a repeated batch-sized allocation pattern stops faulting in pages."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

# One "training step": twelve 9 MiB blocks filled and freed (108 MiB, more than glibc's default
# trim threshold), ten times; prints the share of the step's pages faulted in again per step.
STEPS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from locflow import runtime
    if sys.argv[1] == "keep":
        assert runtime.keep_freed_memory()
    def step():
        for block in [np.empty(9 * 2**20 // 8) for _ in range(12)]:
            block.fill(1.0)
    step()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10 / (108 * 256))
    """
)


def refault_share(mode: str) -> float:
    """Share of a step's 4 KiB pages faulted in anew per repeated step, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="a glibc setting"
)
def test_freed_memory_is_reused_without_new_page_faults() -> None:
    kept = refault_share("keep")
    assert kept < 0.01, f"{kept:.1%} of the pages faulted in again with freed memory kept"


def test_keep_freed_memory_is_harmless_to_call_twice() -> None:
    from locflow import runtime

    assert runtime.keep_freed_memory() == runtime.keep_freed_memory()
