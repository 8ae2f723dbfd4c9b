"""What the Nextflow tests do when a tool they need is missing."""

from __future__ import annotations

import os

import pytest


def unavailable(reason: str) -> None:
    """Skip with `reason`; under CI fail instead, since CI must run every Nextflow check."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
