"""Shared fixtures: where the real data lives, and a skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder `../shared/data`; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it is not shipped with locflow)")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread: small tensors on a shared 2-core machine spin-wait."""
    import torch

    from locflow.runtime import set_threads

    before = torch.get_num_threads()
    set_threads(1)
    yield
    set_threads(before)
